"""Atomic writes and placement: permission bits, umask, no temp files left, copies across
file systems."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from zoo_vcs.storage.fileio import atomic_write_bytes, place


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.parametrize("mode", [0o644, 0o755, 0o666, 0o600, 0o444])
def test_rewrite_keeps_the_targets_permission_bits(tmp_path: Path, umask_022, mode: int):
    target = tmp_path / "w.bin.zoo"
    target.write_bytes(b"old\n")
    target.chmod(mode)
    atomic_write_bytes(target, b"new\n")
    assert target.read_bytes() == b"new\n"
    assert target.stat().st_mode & 0o7777 == mode
    assert os.listdir(tmp_path) == ["w.bin.zoo"]


def test_new_file_gets_the_umask(tmp_path: Path, umask_022):
    target = tmp_path / "fresh.zoo"
    atomic_write_bytes(target, b"x")
    assert target.stat().st_mode & 0o7777 == 0o644


def test_failed_write_leaves_the_target_and_no_temp(tmp_path: Path):
    target = tmp_path / "w.zoo"
    target.write_bytes(b"keep")
    with pytest.raises(TypeError):
        atomic_write_bytes(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"keep"
    assert os.listdir(tmp_path) == ["w.zoo"]


def test_place_copy_sets_mode_and_makes_folders(tmp_path: Path):
    source = tmp_path / "obj"
    source.write_bytes(os.urandom(3 << 20))
    target = tmp_path / "a" / "b" / "file"
    used = place(source, target, "copy", mode=0o444)
    assert used in ("copy", "reflink")
    assert target.read_bytes() == source.read_bytes()
    assert target.stat().st_mode & 0o777 == 0o444
    assert os.listdir(target.parent) == ["file"]


def test_place_copies_to_another_file_system(tmp_path: Path):
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no /dev/shm on another file system")
    source = tmp_path / "obj"
    source.write_bytes(os.urandom((5 << 20) + 7))
    target = shm / f"zoo-vcs-test-{os.getpid()}" / "file"
    try:
        assert place(source, target, "copy") == "copy"
        assert target.read_bytes() == source.read_bytes()
    finally:
        target.unlink(missing_ok=True)
        target.parent.rmdir()
