"""Streaming hashing: same digests as hashlib whatever the chunking, sink gets every byte."""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from zoo_vcs.storage.hashing import CHUNK_SIZE, StreamHasher, hash_file


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE * 2 + 7])
def test_hash_file_matches_hashlib_and_copies(tmp_path, size):
    data = os.urandom(size)
    f = tmp_path / "f"
    f.write_bytes(data)
    sink = io.BytesIO()
    d = hash_file(f, sha256=True, sink=sink)
    assert d.sha1 == hashlib.sha1(data).hexdigest()
    assert d.sha256 == hashlib.sha256(data).hexdigest()
    assert d.size == size
    assert sink.getvalue() == data


def test_uneven_chunks():
    data = os.urandom(300_000)
    h = StreamHasher()
    for i in range(0, len(data), 7919):
        h.update(data[i:i + 7919])
    assert h.finish().sha1 == hashlib.sha1(data).hexdigest()


def test_sink_error_surfaces_in_caller():
    class Full(io.RawIOBase):
        def write(self, b):
            raise OSError(28, "No space left on device")

    def feed(chunks):
        h = StreamHasher(sink=Full())
        try:
            for c in chunks:
                h.update(c)
            h.finish()
        finally:
            h.close()

    for chunks in ([b"a" * 10], [b"a" * 10, b"b" * 10], [b"a" * 10, b"b" * 10, b"c" * 10]):
        with pytest.raises(OSError, match="No space left"):
            feed(chunks)
