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
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, Protocol

#: Read size: big enough to amortise thread hand-offs, small enough for a low peak RSS.
CHUNK_SIZE = 4 << 20


class Sink(Protocol):
    """Where a copy of the hashed bytes goes: a binary file, or a writer around one."""

    def write(self, data: bytes | memoryview, /) -> object: ...


@dataclass(frozen=True)
class Digests:
    """Result of hashing a stream."""

    sha1: str
    size: int
    sha256: str | None = None


class _Chunk:
    """One chunk on its way through the stages; ``done`` runs once the last stage is through."""

    __slots__ = ("data", "done", "left", "lock")

    def __init__(self, data: bytes | memoryview, stages: int,
                 done: Callable[[], object] | None) -> None:
        self.data = data
        self.left = stages
        self.done = done
        self.lock = threading.Lock()

    def release(self) -> None:
        with self.lock:
            self.left -= 1
            last = self.left == 0
        if last:
            self.data = b""
            if self.done is not None:
                self.done()


class StreamHasher:
    """Feed byte chunks; each digest and each sink write runs on a thread of its own.

    Every stage (SHA1, SHA256, each sink) takes chunks in order from its own queue, so a
    producer may have several chunks in flight: :meth:`submit` returns at once and calls
    ``done`` when every stage is through with the chunk (an event loop reading the network
    recycles its buffers that way). :meth:`update` is the blocking form: when it returns,
    every chunk passed before this one is done with, so a caller can read into two
    alternating buffers. A chunk must not be changed until it is done with.

    Parameters
    ----------
    sha256
        Also compute SHA256 in the same pass.
    sink
        A binary file that receives every chunk (the cache's temp file, for instance).
    """

    def __init__(self, *, sha256: bool = False, sink: Sink | None = None) -> None:
        self._sha1 = hashlib.sha1()
        self._sha256 = hashlib.sha256() if sha256 else None
        self._sinks: tuple[Sink, ...] = (sink,) if sink is not None else ()
        self._size = 0
        # Threads start only with a second chunk: small files (most of a many-file
        # transfer) are hashed inline, without paying for threads.
        self._queues: list[queue.SimpleQueue[_Chunk | None]] = []
        self._threads: list[threading.Thread] = []
        self._held: bytes | memoryview | None = None
        self._previous: threading.Event | None = None
        self._error: BaseException | None = None

    def _jobs(self) -> list[Callable[[bytes | memoryview], object]]:
        jobs: list[Callable[[bytes | memoryview], object]] = [self._sha1.update]
        if self._sha256 is not None:
            jobs.append(self._sha256.update)
        jobs.extend(sink.write for sink in self._sinks)
        return jobs

    def _stage(self, job: Callable[[bytes | memoryview], object],
               inbox: queue.SimpleQueue[_Chunk | None]) -> None:
        while (chunk := inbox.get()) is not None:
            try:
                if self._error is None:  # after a failure, only let producers go on
                    job(chunk.data)
            except BaseException as exc:  # re-raised in the producer's thread
                self._error = self._error or exc
            try:
                chunk.release()
            except BaseException as exc:  # a producer gone (its loop closed): stay alive
                self._error = self._error or exc

    def _start(self) -> None:
        for i, job in enumerate(self._jobs()):
            inbox: queue.SimpleQueue[_Chunk | None] = queue.SimpleQueue()
            thread = threading.Thread(target=self._stage, args=(job, inbox), daemon=True,
                                      name=f"zoo-hash-{i}")
            thread.start()
            self._queues.append(inbox)
            self._threads.append(thread)

    def _stop(self) -> None:
        for inbox in self._queues:
            inbox.put(None)
        for thread in self._threads:
            thread.join()
        self._queues, self._threads = [], []

    def check(self) -> None:
        """Raise the error a stage met (a sink's ``OSError``: disk full), if any."""
        if self._error is not None:
            raise self._error  # a sink's OSError (disk full), in the caller's thread

    def _flush_held(self) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            for job in self._jobs():
                job(held)

    def set_sinks(self, *sinks: Sink) -> None:
        """From now on, also write every chunk to each of ``sinks``, each on its own thread
        (a download writes the cache's partial file and, for a checkout, the workspace
        copy at once)."""
        self._wait_previous()
        self._flush_held()
        if self._threads:
            self._stop()  # threads for the new set of stages start with the next chunk
        self._sinks = sinks

    def submit(self, chunk: bytes | memoryview, done: Callable[[], object] | None = None) -> None:
        """Queue ``chunk`` to every stage and return at once; ``done()`` is called (from a
        stage's thread) when all of them are through with it."""
        self.check()
        if not chunk:
            if done is not None:
                done()
            return
        self._size += len(chunk)
        if not self._threads:
            self._flush_held()
            self._start()
        item = _Chunk(chunk, len(self._queues), done)
        for inbox in self._queues:
            inbox.put(item)

    def _wait_previous(self) -> None:
        if self._previous is not None:
            self._previous.wait()
            self._previous = None
        self.check()

    def update(self, chunk: bytes | memoryview) -> None:
        """Hash (and write) ``chunk`` in the background; returns once the previous one is done."""
        self._wait_previous()
        if not chunk:
            return
        if not self._threads and self._held is None:
            self._size += len(chunk)
            self._held = chunk
            return
        finished = threading.Event()
        self.submit(chunk, finished.set)
        self._previous = finished

    @property
    def size(self) -> int:
        """Bytes fed so far."""
        return self._size

    def finish(self) -> Digests:
        """Wait for outstanding work and return the digests; the hasher is closed after."""
        try:
            self._stop()
            self.check()
            self._flush_held()
        finally:
            self._stop()
        return Digests(
            sha1=self._sha1.hexdigest(),
            size=self._size,
            sha256=self._sha256.hexdigest() if self._sha256 is not None else None,
        )

    def close(self) -> None:
        """Abandon the hash (on error paths): every chunk fed reaches the sinks (a partial
        download keeps its bytes, to be resumed from), then the sinks are quiet."""
        self._stop()
        with contextlib.suppress(Exception):  # the caller is already handling a failure
            if self._held is not None and self._error is None:
                for sink in self._sinks:
                    sink.write(self._held)
        self._held = None


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

