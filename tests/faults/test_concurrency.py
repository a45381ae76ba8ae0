"""Concurrency: several zoo-vcs processes on one repository and one cache at once.

The cache's per-object lock makes processes that want the same object wait for the one
downloading it (the server sees each object about once), while downloads of different
objects run in parallel."""

from __future__ import annotations

import hashlib
import random
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import ZOO_VCS, git, run_zoo, temp_leftovers
from tests.servers import http as faults
from tests.servers.http import LoopbackHTTPServer
from zoo_vcs.formats import pointer as ptr

SIZE = 700_001
#: ~0.9 s per object: long enough for every process to start while the first downloads.
TRICKLE = faults.trickle(32 * 1024, 0.04)
#: Bytes of each object served before the parallel tests' gate holds the response.
HELD = 100_000


def _repo(tmp_path: Path, server: LoopbackHTTPServer, n: int) -> tuple[Path, dict[Path, bytes]]:
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    files = {}
    for i in range(n):
        data = random.Random(100 + i).randbytes(SIZE + i)
        name = f"w{i}.caffemodel"
        url = server.add(f"/w/{name}", data)
        server.always(f"/w/{name}", TRICKLE)
        target = repo / f"m{i}" / name
        target.parent.mkdir()
        p = ptr.Pointer(hashlib.sha1(data).hexdigest(), size=len(data), urls=(url,))
        target.with_name(name + ".zoo").write_text(ptr.encode(p))
        files[target] = data
    return repo, files


def _start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([ZOO_VCS, *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _finish(procs: list[subprocess.Popen[str]], timeout: float = 60) -> None:
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, out + err
        assert "Traceback" not in err


def _assert_cache_consistent(repo: Path, expected: int) -> None:
    objs = list((repo / ".git" / "zoo-vcs" / "cache" / "sha1").glob("*/*"))
    assert len(objs) == expected
    for obj in objs:
        assert hashlib.sha1(obj.read_bytes()).hexdigest() == obj.parent.name + obj.name


@pytest.mark.parametrize("command", ["checkout", "pull"])
def test_four_processes_share_one_download_per_object(tmp_path, http_server, command):
    repo, files = _repo(tmp_path, http_server, n=2)
    procs = [_start([command], repo) for _ in range(4)]
    _finish(procs)
    http_server.wait_idle()  # the server thread counts the last bytes after the client has them
    for target, data in files.items():
        assert target.read_bytes() == data
        path = f"/w/{target.name}"
        gets = [q for q in http_server.requests_for(path) if q.method == "GET"]
        # The per-object lock: one process downloads, the other three wait and reuse it.
        assert len(gets) == 1, f"{path} was downloaded {len(gets)} times"
        assert http_server.bytes_sent(path) == len(data)
    assert temp_leftovers(repo) == []
    _assert_cache_consistent(repo, len(files))
    r = run_zoo("verify", cwd=repo)
    assert r.returncode == 0, r.output


def test_mixed_checkout_and_pull_of_the_same_objects(tmp_path, http_server):
    repo, files = _repo(tmp_path, http_server, n=1)
    procs = [_start([cmd], repo) for cmd in ("checkout", "pull", "checkout", "pull")]
    _finish(procs)
    ((target, data),) = files.items()
    assert target.read_bytes() == data
    assert len(http_server.requests_for(f"/w/{target.name}")) == 1
    assert temp_leftovers(repo) == []
    _assert_cache_consistent(repo, 1)


def _wait_all_held(server: LoopbackHTTPServer, paths: list[str],
                   procs: list[subprocess.Popen[str]], timeout: float = 30) -> bool:
    """Whether every path's response reaches the gate (HELD bytes sent, the rest held back)
    while the processes run. No response can finish before the gate opens, so all of them
    in flight at once is a state to wait for, not a moment to catch."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and all(p.poll() is None for p in procs):
        if all(server.bytes_sent(p) >= HELD for p in paths):
            return True
        time.sleep(0.02)
    return False


def test_different_objects_download_in_parallel(tmp_path, http_server):
    """Two processes, one object each: both transfers are under way at the same moment,
    neither waits for the other's lock."""
    repo, files = _repo(tmp_path, http_server, n=2)
    paths = [f"/w/{t.name}" for t in files]
    gate = threading.Event()
    for path in paths:
        http_server.always(path, faults.hold_after(HELD, gate))
    procs = [_start(["checkout", f"m{i}"], repo) for i in range(2)]
    try:
        overlap = _wait_all_held(http_server, paths, procs)
    finally:
        gate.set()
    _finish(procs)
    assert overlap, "the second download waited for the first"
    for target, data in files.items():
        assert target.read_bytes() == data
    _assert_cache_consistent(repo, 2)


def test_one_process_downloads_many_objects_in_parallel(tmp_path, http_server):
    """--jobs: within one process, several objects are in flight at once."""
    repo, files = _repo(tmp_path, http_server, n=3)
    paths = [f"/w/{t.name}" for t in files]
    gate = threading.Event()
    for path in paths:
        http_server.always(path, faults.hold_after(HELD, gate))
    proc = _start(["checkout", "--jobs", "3"], repo)
    try:
        all_three = _wait_all_held(http_server, paths, [proc])
    finally:
        gate.set()
    _finish([proc])
    assert all_three, "the 3 objects were not in flight at once"
    for target, data in files.items():
        assert target.read_bytes() == data



def test_add_waits_for_another_add_before_touching_pointers_and_gitignore(tmp_path):
    """add rewrites .gitignore and readmes (read, change, write): it holds the repository's
    add lock for that, so a second add cannot interleave and lose a line."""
    import fcntl
    import os
    import subprocess
    import time

    from tests.conftest import ZOO_VCS

    repo = tmp_path / "repo"
    (repo / "m").mkdir(parents=True)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    (repo / "m" / "a.bin").write_bytes(os.urandom(2048))
    lock = repo / ".git" / "zoo-vcs" / "add.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+b") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # another add is in its critical section
        proc = subprocess.Popen([ZOO_VCS, "add", "m/a.bin"], cwd=repo,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # Wait (bounded) until the kernel shows add blocked on this lock, however slowly it
        # starts: a fixed sleep would only prove it had not got there yet.
        waiter, inode = f" {proc.pid} ", f":{os.stat(lock).st_ino} "
        blocked, deadline = False, time.monotonic() + 60
        while not blocked and proc.poll() is None and time.monotonic() < deadline:
            blocked = any("->" in ln and waiter in ln and inode in ln
                          for ln in Path("/proc/locks").read_text().splitlines())
            time.sleep(0.02)
        assert proc.poll() is None, "add did not wait for the lock"
        assert blocked, "add is not blocked on the add lock"
        assert not (repo / "m" / "a.bin.zoo").exists()
        assert not (repo / "m" / ".gitignore").exists()
        fcntl.flock(held.fileno(), fcntl.LOCK_UN)
    assert proc.wait(timeout=30) == 0
    assert (repo / "m" / ".gitignore").read_text() == "/a.bin\n"
    assert (repo / "m" / "a.bin.zoo").is_file()
