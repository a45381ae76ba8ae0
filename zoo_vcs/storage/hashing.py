"""Streaming SHA1 (and SHA256) over chunks and files, in constant memory, overlapped with I/O.

Hashing a 1 GiB model file is the inner loop of ``add``, ``checkout`` and ``verify``.
hashlib releases the GIL on large buffers, so each digest (and an optional sink write)
runs in its own worker thread while the caller reads the next chunk: on two cores SHA1
and SHA256 together cost little more than SHA1 alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO, Protocol

#: Read size: big enough to amortise thread hand-offs, small enough for a low peak RSS.
CHUNK_SIZE = 4 << 20


@dataclass(frozen=True)
class Digests:
    """Result of hashing a stream."""

    sha1: str
    size: int
    sha256: str | None = None


class StreamHasher:
    """Feed byte chunks; digests and an optional sink write run on worker threads.

    When :meth:`update` returns, every chunk passed before this one is done with, so a
    caller can read into two alternating buffers (memory stays ``2 * CHUNK_SIZE``). A
    chunk must not be changed until the next :meth:`update` (or :meth:`finish`) returns.

    Parameters
    ----------
    sha256
        Also compute SHA256 in the same pass.
    sink
        A binary file that receives every chunk (the cache's temp file, for instance).
    """

    def __init__(self, *, sha256: bool = False, sink: BinaryIO | None = None) -> None:
        self._sha1 = hashlib.sha1()
        self._sha256 = hashlib.sha256() if sha256 else None
        self._sinks: tuple[BinaryIO, ...] = (sink,) if sink is not None else ()
        self._size = 0
        # Threads start only with a second chunk: small files (most of a many-file
        # transfer) are hashed inline, without paying for a pool.
        self._pool: ThreadPoolExecutor | None = None
        self._held: bytes | memoryview | None = None
        self._pending: list[Future[object]] = []

    def _wait(self) -> None:
        pending, self._pending = self._pending, []
        for fut in pending:
            fut.result()  # re-raises a sink's OSError (disk full) in the caller

    def _jobs(self) -> list[object]:
        jobs: list[object] = [self._sha1.update]
        if self._sha256 is not None:
            jobs.append(self._sha256.update)
        jobs.extend(sink.write for sink in self._sinks)
        return jobs

    def _submit(self, chunk: bytes | memoryview) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=len(self._jobs()),
                                            thread_name_prefix="zoo-hash")
        for job in self._jobs():
            self._pending.append(self._pool.submit(job, chunk))  # type: ignore[arg-type]

    def set_sinks(self, *sinks: BinaryIO) -> None:
        """From now on, also write every chunk to each of ``sinks``, each on its own thread
        (a download writes the cache's partial file and, for a checkout, the workspace
        copy at once)."""
        self._wait()
        if self._held is not None:
            held, self._held = self._held, None
            self._run_inline(held)
        if self._pool is not None and len(sinks) > len(self._sinks):
            self._pool.shutdown(wait=True)
            self._pool = None  # a new pool with a thread per job starts with the next chunk
        self._sinks = sinks

    def update(self, chunk: bytes | memoryview) -> None:
        """Hash (and write) ``chunk`` in the background; returns once the previous one is done."""
        self._wait()
        if not chunk:
            return
        self._size += len(chunk)
        if self._pool is None and self._held is None:
            self._held = chunk
            return
        if self._held is not None:
            held, self._held = self._held, None
            self._run_inline(held)
        self._submit(chunk)

    def _run_inline(self, chunk: bytes | memoryview) -> None:
        for job in self._jobs():
            job(chunk)  # type: ignore[operator]

    @property
    def size(self) -> int:
        """Bytes fed so far."""
        return self._size

    def finish(self) -> Digests:
        """Wait for outstanding work and return the digests; the hasher is closed after."""
        try:
            self._wait()
            if self._held is not None:
                held, self._held = self._held, None
                self._run_inline(held)
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
        return Digests(
            sha1=self._sha1.hexdigest(),
            size=self._size,
            sha256=self._sha256.hexdigest() if self._sha256 is not None else None,
        )

    def close(self) -> None:
        """Abandon the hash (on error paths): every chunk fed reaches the sinks (a partial
        download keeps its bytes, to be resumed from), then the sinks are quiet."""
        with contextlib.suppress(Exception):  # the caller is already handling a failure
            self._wait()
            if self._held is not None:
                held, self._held = self._held, None
                for sink in self._sinks:
                    sink.write(held)
        self._held = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)




def hash_file(path: str | os.PathLike[str], *, sha256: bool = False,
              sink: BinaryIO | None = None,
              progress: Callable[[int], None] | None = None) -> Digests:
    """Hash a file in constant memory (optionally copying it to ``sink`` in the same pass).

    Parameters
    ----------
    path
        File to read.
    sha256
        Also compute SHA256.
    sink
        Optional binary file receiving a copy of the bytes.
    progress
        Called with the size of each chunk read.

    Returns
    -------
    Digests
        SHA1, size and (when asked) SHA256.
    """
    with open(path, "rb", buffering=0) as f:
        _advise_sequential(f)
        # Buffers no larger than the file: add hashes many small files at once.
        size = os.fstat(f.fileno()).st_size
        return hash_stream(f, sha256=sha256, sink=sink, progress=progress,
                           chunk=max(1, min(CHUNK_SIZE, size + 1)))


class Reader(Protocol):
    """What :func:`hash_stream` reads from: a file or a pipe opened in binary mode."""

    def readinto(self, buffer: bytearray, /) -> int | None: ...


def hash_stream(reader: Reader, *, sha256: bool = False, sink: BinaryIO | None = None,
                progress: Callable[[int], None] | None = None,
                chunk: int = CHUNK_SIZE) -> Digests:
    """Hash everything ``reader`` yields until EOF, in constant memory (a file or a pipe,
    such as ``git cat-file blob``); see :func:`hash_file` for the parameters."""
    hasher = StreamHasher(sha256=sha256, sink=sink)
    try:
        # Two reused buffers: a fresh 4 MiB allocation per read costs page faults on
        # every chunk.
        buffers = (bytearray(chunk), bytearray(chunk))
        turn = 0
        while n := reader.readinto(buffers[turn]):
            hasher.update(memoryview(buffers[turn])[:n])
            turn ^= 1
            if progress is not None:
                progress(n)
    except BaseException:
        hasher.close()
        raise
    return hasher.finish()


def _advise_sequential(f: BinaryIO) -> None:
    # Doubles the kernel's read-ahead on a cold cache; a no-op where unsupported.
    if hasattr(os, "posix_fadvise"):
        with contextlib.suppress(OSError):
            os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)


def sha1_of_bytes(data: bytes) -> str:
    """SHA1 hex digest of a small in-memory value."""
    return hashlib.sha1(data).hexdigest()

