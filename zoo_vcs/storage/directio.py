"""Writing the cache's copy of a download around the page cache (Linux ``O_DIRECT``).

A checkout of a large binary writes two copies: the workspace file, which the user is
about to load, and the cache object, which is rarely read again soon. Writing the cache
copy through the page cache costs a core's worth of page allocation and copying per GiB
(more on a virtual machine that hands free memory back to its host) and evicts pages the
user wants. ``O_DIRECT`` hands the buffers to the disk instead.

It is used only where it is known to help: a local disk file system (network and FUSE
file systems turn each write into a synchronous round trip), page-aligned buffers and
offsets, and a disk that keeps up; anything else falls back to ordinary writes, in the
middle of a file if need be (the kernel keeps the two coherent).
"""

from __future__ import annotations

import errno
import fcntl
import functools
import logging
import mmap
import os
import time
from typing import BinaryIO

__all__ = ["ALIGN", "DirectWriter", "aligned_buffer", "direct_writes_help"]

log = logging.getLogger(__name__)

#: Alignment of memory, offsets and lengths: a page covers every logical block size.
ALIGN = mmap.PAGESIZE
_O_DIRECT = getattr(os, "O_DIRECT", 0)
#: Local disk file systems whose direct writes are plain DMA from the buffer.
_LOCAL_DISK_FS = frozenset({"ext4", "ext3", "xfs", "btrfs", "f2fs", "bcachefs"})
#: Below this pace (measured once ``_JUDGE_AFTER`` bytes went), the disk is slower than
#: the page cache would let the download be: write-back does better.
_MIN_RATE = 256 << 20
_JUDGE_AFTER = 16 << 20


def aligned_buffer(size: int) -> mmap.mmap:
    """``size`` bytes of page-aligned private memory (a network buffer that a
    :class:`DirectWriter` can hand to the disk as it is)."""
    return mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)


@functools.lru_cache(maxsize=16)
def _fs_type(device: int) -> str | None:
    wanted = f"{os.major(device)}:{os.minor(device)}"
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                fields = line.split()
                if len(fields) > 2 and fields[2] == wanted and " - " in line:
                    return line.split(" - ", 1)[1].split()[0]
    except OSError:
        pass
    return None


def direct_writes_help(f: BinaryIO) -> bool:
    """Whether writes to ``f`` may bypass the page cache: Linux, a local disk file
    system, and a file whose size (where appends start) is aligned."""
    if not _O_DIRECT:
        return False
    st = os.fstat(f.fileno())
    return st.st_size % ALIGN == 0 and _fs_type(st.st_dev) in _LOCAL_DISK_FS


class DirectWriter:
    """A sink for :class:`~zoo_vcs.storage.hashing.StreamHasher` appending to ``f``
    around the page cache while it can, and through it otherwise.

    Aligned whole pages of page-aligned buffers go straight to the disk; an unaligned
    tail (the end of the file), a refusing file system or a slow disk switch the file
    back to ordinary writes for good. :meth:`close` (not closing ``f``) restores its flags.
    """

    def __init__(self, f: BinaryIO) -> None:
        f.flush()
        self._fd = f.fileno()
        self._flags = fcntl.fcntl(self._fd, fcntl.F_GETFL)
        self._direct = self._set(self._flags | _O_DIRECT)
        self._bytes = 0
        self._seconds = 0.0

    def _set(self, flags: int) -> bool:
        try:
            fcntl.fcntl(self._fd, fcntl.F_SETFL, flags)
        except OSError:  # EINVAL: this file system has no direct I/O
            return False
        return True

    def _stop_direct(self, why: str) -> None:
        log.debug("cache writes through the page cache from now on: %s", why)
        self._direct = False
        self._set(self._flags)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        view = memoryview(data).cast("B")
        size = len(view)
        if self._direct:
            whole = size - size % ALIGN
            if whole:
                view = self._write_direct(view, whole)
            if view:  # the file's unaligned end: the page cache takes it
                self._stop_direct("an unaligned tail")
        while view:
            done = os.write(self._fd, view)
            view = view[done:]
        return size

    def _write_direct(self, view: memoryview, whole: int) -> memoryview:
        start = time.perf_counter()
        head = view[:whole]
        try:
            while head:
                head = head[os.write(self._fd, head):]
        except OSError as exc:
            if exc.errno != errno.EINVAL:  # a full disk is an error either way
                raise
            self._stop_direct("the file system refused an aligned write")
            return view[whole - len(head):]
        self._seconds += time.perf_counter() - start
        self._bytes += whole
        if self._bytes >= _JUDGE_AFTER and self._bytes < _MIN_RATE * self._seconds:
            self._stop_direct(f"the disk writes {self._bytes / self._seconds / 2**20:.0f} MiB/s")
        return view[whole:]

    def close(self) -> None:
        """Give the file its flags back (ordinary writes)."""
        if self._direct:
            self._stop_direct("done")
