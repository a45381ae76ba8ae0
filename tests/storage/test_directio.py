"""The cache copy written around the page cache: same bytes, ordinary writes wherever
direct I/O cannot or should not be used, and the file's flags given back."""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path

import pytest

from zoo_vcs.storage import directio
from zoo_vcs.storage.directio import ALIGN, DirectWriter, aligned_buffer, direct_writes_help
from zoo_vcs.storage.hashing import StreamHasher

MIB = 1 << 20
pytestmark = pytest.mark.skipif(not hasattr(os, "O_DIRECT"), reason="Linux only")


def _flags(f) -> int:
    return fcntl.fcntl(f.fileno(), fcntl.F_GETFL)


def _feed(writer: DirectWriter, data: bytes, piece: int) -> None:
    buf = aligned_buffer(piece)
    for i in range(0, len(data), piece):
        n = len(data[i:i + piece])
        buf[:n] = data[i:i + piece]
        writer.write(memoryview(buf)[:n])


def test_aligned_pieces_go_direct_and_the_tail_through_the_page_cache(tmp_path: Path):
    data = os.urandom(3 * MIB + 123)
    target = tmp_path / "part"
    with open(target, "a+b") as f:
        if not direct_writes_help(f):
            pytest.skip("the test folder is not on a local disk file system")
        w = DirectWriter(f)
        buf = aligned_buffer(MIB)
        buf[:] = data[:MIB]
        w.write(memoryview(buf))
        assert _flags(f) & os.O_DIRECT, "whole aligned pages were written directly"
        _feed(w, data[MIB:], MIB)
        w.close()
        assert not _flags(f) & os.O_DIRECT, "flags given back"
    assert target.read_bytes() == data


def test_a_file_system_without_direct_io_gets_ordinary_writes():
    if not os.path.isdir("/dev/shm"):
        pytest.skip("no tmpfs at /dev/shm")
    path = f"/dev/shm/zoo-directio-{os.getpid()}"
    try:
        with open(path, "a+b") as f:
            assert not direct_writes_help(f), "tmpfs is not a local disk file system"
            w = DirectWriter(f)  # asked anyway: the kernel refuses, writes still land
            data = os.urandom(2 * MIB + 5)
            _feed(w, data, MIB)
            w.close()
        with open(path, "rb") as f:
            assert f.read() == data
    finally:
        os.unlink(path)


def test_a_resumed_file_of_unaligned_size_is_not_written_directly(tmp_path: Path):
    target = tmp_path / "part"
    target.write_bytes(b"x" * (ALIGN + 1))
    with open(target, "a+b") as f:
        assert not direct_writes_help(f)


def test_a_slow_disk_falls_back_to_the_page_cache(tmp_path: Path, monkeypatch):
    # A disk slower than the bar (here: any disk) is judged after the first 16 MiB.
    monkeypatch.setattr(directio, "_MIN_RATE", 1 << 50)
    data = os.urandom(20 * MIB)
    target = tmp_path / "part"
    with open(target, "a+b") as f:
        if not direct_writes_help(f):
            pytest.skip("the test folder is not on a local disk file system")
        w = DirectWriter(f)
        _feed(w, data[:16 * MIB], MIB)
        assert not _flags(f) & os.O_DIRECT
        _feed(w, data[16 * MIB:], MIB)
        w.close()
    assert hashlib.sha1(target.read_bytes()).hexdigest() == hashlib.sha1(data).hexdigest()


def test_hasher_stages_take_submitted_chunks_in_order(tmp_path: Path):
    """Chunks queued without waiting (as the network loop does) reach every stage in
    order, and each one's ``done`` runs once all stages are through with it."""
    chunks = [os.urandom(MIB + i) for i in range(12)]
    target = tmp_path / "copy"
    done: list[int] = []
    with open(target, "wb") as sink:
        h = StreamHasher(sha256=True, sink=sink)
        for i, c in enumerate(chunks):
            h.submit(c, lambda i=i: done.append(i))
        digests = h.finish()
    whole = b"".join(chunks)
    assert target.read_bytes() == whole
    assert digests.sha1 == hashlib.sha1(whole).hexdigest()
    assert digests.sha256 == hashlib.sha256(whole).hexdigest()
    assert sorted(done) == list(range(12))
