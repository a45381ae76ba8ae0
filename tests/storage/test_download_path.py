"""The download path's work, counted rather than timed: every byte is hashed once, the cache
object and the workspace file are each written once (side by side, no copy afterwards),
and memory does not grow with the file's size."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import zoo_vcs
from tests.conftest import ZOO_VCS, git
from tests.servers.http import LoopbackHTTPServer
from zoo_vcs.storage import hashing

MIB = 1 << 20


def _pointer_repo(tmp_path: Path, server: LoopbackHTTPServer, size: int,
                  name: str = "big.bin") -> tuple[Path, Path, str]:
    """A repository with one pointer to ``size`` pseudo-random bytes served over HTTP."""
    data = os.urandom(size)
    url = server.add(f"/w/{name}", data)
    repo = tmp_path / f"repo-{size}"
    (repo / "m").mkdir(parents=True)
    git("init", "-q", cwd=repo)
    sha1 = hashlib.sha1(data).hexdigest()
    (repo / "m" / f"{name}.zoo").write_text(
        f"zoo-vcs: 1\nsha1: {sha1}\nsize: {size}\nurls:\n- {url}\n")
    return repo, repo / "m" / name, sha1


class _CountingSha1:
    """The real SHA1, counting what it is fed (an observer, not a stand-in)."""

    fed = 0

    def __init__(self) -> None:
        self._h = hashlib.sha1()

    def update(self, data: Any) -> None:
        _CountingSha1.fed += memoryview(data).nbytes
        self._h.update(data)

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def _io() -> dict[str, int]:
    with open("/proc/self/io") as f:
        return {k: int(v) for k, v in (line.split(": ") for line in f)}


def test_each_byte_is_hashed_once_and_written_once_per_copy(tmp_path, http_server,
                                                            monkeypatch: pytest.MonkeyPatch):
    size = 48 * MIB
    repo, target, sha1 = _pointer_repo(tmp_path, http_server, size)
    monkeypatch.setattr(hashing, "hashlib",
                        SimpleNamespace(sha1=_CountingSha1, sha256=hashlib.sha256))
    _CountingSha1.fed = 0
    before = _io()
    zoo_vcs.checkout(cwd=repo)
    # The loopback server runs in this process, but its send() calls are not counted.
    after = _io()
    written = after["wchar"] - before["wchar"]
    assert _CountingSha1.fed == size, "every byte hashed exactly once"
    cached = repo / ".git" / "zoo-vcs" / "cache" / "sha1" / sha1[:2] / sha1[2:]
    assert cached.stat().st_size == size
    assert hashlib.sha1(target.read_bytes()).hexdigest() == sha1
    assert target.stat().st_ino != cached.stat().st_ino
    # One write of the cache object and one of the workspace file, side by side; nothing
    # is written twice, and nothing is read back: a copy from the cache after the download
    # (even the kernel's copy_file_range) would count its bytes as read.
    read = after["rchar"] - before["rchar"]
    assert 2 * size <= written < 2 * size + 4 * MIB, written
    assert read < 4 * MIB, f"{read} bytes read back from disk"


#: Runs a command and prints its peak RSS. A small launcher, because a child forked
#: straight from pytest (which holds the served bytes) would count pytest's pages in its
#: high-water mark, and that mark survives exec.
_LAUNCHER = ("import os, subprocess, sys\n"
             "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
             "_, status, usage = os.wait4(p.pid, 0)\n"
             "print(usage.ru_maxrss)\n"
             "sys.exit(os.waitstatus_to_exitcode(status))\n")


def _peak_rss_kib(repo: Path) -> int:
    proc = subprocess.run([sys.executable, "-c", _LAUNCHER, ZOO_VCS, "checkout", "-q"],
                          cwd=repo, capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout.split()[-1])


def test_memory_does_not_grow_with_the_file(tmp_path, http_server):
    small, _, _ = _pointer_repo(tmp_path, http_server, 8 * MIB, "small.bin")
    big, target, sha1 = _pointer_repo(tmp_path, http_server, 160 * MIB, "big.bin")
    rss_small = _peak_rss_kib(small)
    rss_big = _peak_rss_kib(big)
    assert hashlib.sha1(target.read_bytes()).hexdigest() == sha1
    # Buffers are bounded (NET_BUFFERS network buffers in flight), not sized by the file.
    assert rss_big - rss_small < 12 * 1024, (rss_small, rss_big)
    # Most of it is the interpreter and its imports (aiohttp, fsspec: about 35 MiB).
    assert rss_big < 52 * 1024, f"peak RSS {rss_big} KiB"
