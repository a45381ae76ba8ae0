"""Crash safety: ``zoo-vcs checkout`` and ``zoo-vcs add`` killed with SIGKILL at random points
(seeded, bounded), many times. After every kill the workspace holds only correct files or
none, every cache object hashes to its name, and a rerun completes and cleans up."""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import re
import resource
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import ZOO_VCS, git, make_weights, run_zoo, temp_leftovers, write_readme
from tests.servers import http as faults
from tests.servers.http import LoopbackHTTPServer
from zoo_vcs.formats import frontmatter
from zoo_vcs.formats import pointer as ptr

KILLS = 10
#: Temp files of zoo-vcs in a model folder: ``.<name>.zoo-tmp-<pid>-<8 hex>``.
TEMP_RE = re.compile(r"^\..+\.zoo-tmp-(\d+)-[0-9a-f]{8}$")


def cache_root(repo: Path) -> Path:
    return repo / ".git" / "zoo-vcs" / "cache"


def assert_cache_consistent(repo: Path) -> int:
    """Every object under ``sha1/`` hashes to its name; returns how many there are."""
    n = 0
    base = cache_root(repo) / "sha1"
    for obj in base.glob("*/*") if base.is_dir() else []:
        name = obj.parent.name + obj.name
        assert len(name) == 40, obj
        assert hashlib.sha1(obj.read_bytes()).hexdigest() == name, f"corrupt object {obj}"
        n += 1
    return n


def assert_only_dead_temps(folder: Path) -> None:
    """Temp files a killed process may leave: only ours, only of dead processes."""
    for path in temp_leftovers(folder):
        m = TEMP_RE.match(Path(path).name)
        assert m, f"unexpected leftover {path}"
        assert not Path(f"/proc/{m.group(1)}").exists(), f"{path}: its process still runs"


def _cpu_seconds(pid: int) -> float:
    """CPU time used so far by process ``pid`` and the children it has reaped."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # [cu]time, [cs]time


def _kill_at_cpu(args: list[str], cwd: Path, seconds: float) -> int | None:
    """Start zoo-vcs, SIGKILL it once it has used ``seconds`` of CPU time; its exit code if it
    finished first. CPU time measures the work done, so the kill points do not drift with
    how much of the machine the process gets."""
    proc = subprocess.Popen([ZOO_VCS, *args], cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while proc.poll() is None:
        with contextlib.suppress(OSError):  # it has just ended: poll() tells
            if _cpu_seconds(proc.pid) >= seconds:
                break
        assert time.monotonic() < deadline, "zoo-vcs neither ended nor used its CPU time"
        time.sleep(0.002)
    if proc.poll() is not None:
        return proc.returncode
    proc.kill()
    proc.wait()
    return None


def _kill_after_start(args: list[str], cwd: Path, started: Callable[[], bool],
                      delay: float) -> int | None:
    """Start zoo-vcs, SIGKILL it ``delay`` seconds after ``started()`` first holds (its work
    under way), so that how long it takes to start on a loaded machine does not move the
    kill points; its exit code if it finished first."""
    proc = subprocess.Popen([ZOO_VCS, *args], cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while proc.poll() is None and not started():
        assert time.monotonic() < deadline, "zoo-vcs never got under way"
        time.sleep(0.005)
    try:
        proc.wait(timeout=delay)
        return proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


# --------------------------------------------------------------------------- checkout


def test_checkout_killed_at_random_points(tmp_path, http_server: LoopbackHTTPServer):
    rng = random.Random(20240611)
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    files: dict[Path, bytes] = {}
    for i in range(3):
        data = random.Random(i).randbytes(900_000 + 1000 * i)
        name = f"w{i}.caffemodel"
        url = http_server.add(f"/w/{name}", data)
        http_server.always(f"/w/{name}", faults.trickle(32 * 1024, 0.03))
        target = repo / "models" / f"m{i}" / name
        target.parent.mkdir(parents=True)
        p = ptr.Pointer(hashlib.sha1(data).hexdigest(), size=len(data), urls=(url,))
        target.with_name(name + ".zoo").write_text(ptr.encode(p))
        files[target] = data

    paths = [f"/w/{t.name}" for t in files]
    killed = 0
    for _ in range(KILLS):
        # Killed at a random time after the server started sending this run's bytes (the
        # trickle takes >= 0.8 s per object however fast the machine is).
        http_server.wait_idle()  # the last run's responses have ended
        sent = sum(map(http_server.bytes_sent, paths))
        code = _kill_after_start(
            ["checkout"], repo, lambda sent=sent: sum(map(http_server.bytes_sent, paths)) > sent,
            rng.uniform(0.0, 0.9))
        killed += code is None
        assert code in (None, 0)
        for target, data in files.items():
            assert not target.exists() or target.read_bytes() == data, f"wrong {target}"
        assert_only_dead_temps(repo / "models")
        assert_cache_consistent(repo)
        if all(t.exists() for t in files):
            # Done before the kill: start over so that later kills hit a download again.
            for target in files:
                target.unlink()
            for obj in (cache_root(repo) / "sha1").glob("*/*"):
                obj.unlink()
    assert killed >= KILLS // 2, "most runs were really interrupted"
    ranged = [q for q in http_server.requests if q.headers.get("range", "bytes=0-") != "bytes=0-"]
    assert ranged, "a download interrupted by SIGKILL was resumed by the next run"

    r = run_zoo("checkout", cwd=repo)
    assert r.returncode == 0, r.output
    for target, data in files.items():
        assert target.read_bytes() == data
    assert temp_leftovers(repo / "models") == []
    assert assert_cache_consistent(repo) == len(files)
    r = run_zoo("verify", cwd=repo)
    assert r.returncode == 0, r.output


# --------------------------------------------------------------------------- add


def test_add_of_a_large_file_killed_at_random_points(tmp_path):
    rng = random.Random(77)
    repo = tmp_path / "repo"
    model = repo / "models" / "big"
    model.mkdir(parents=True)
    git("init", "-q", cwd=repo)
    weights = model / "big.caffemodel"
    data = make_weights(weights, 64 << 20, seed=5)
    sha1 = hashlib.sha1(data).hexdigest()
    del data
    readme = write_readme(model, name="Big Net", caffemodel="big.caffemodel", license="MIT")
    readme_before = readme.read_text()
    pointer_file = model / "big.caffemodel.zoo"

    def reset() -> None:
        pointer_file.unlink(missing_ok=True)
        (model / ".gitignore").unlink(missing_ok=True)
        readme.write_text(readme_before)
        for obj in (cache_root(repo) / "sha1").glob("*/*"):
            obj.unlink()

    # How much CPU time an uninterrupted add takes: the kills are spread over that work
    # (CPU time, unlike the wall clock, does not stretch when the machine is busy; page
    # allocation costs do vary from run to run, so the cheaper of two runs is the measure).
    works = []
    for _ in range(2):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        assert run_zoo("add", "models/big/big.caffemodel", cwd=repo).returncode == 0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        works.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        reset()
    work = min(works)

    killed = 0
    for _ in range(KILLS):
        code = _kill_at_cpu(["add", "models/big/big.caffemodel"], repo,
                            rng.uniform(0.02, 0.95 * work))
        killed += code is None
        assert code in (None, 0)
        st = os.stat(weights)
        assert st.st_size == 64 << 20, "add never touches the file it tracks"
        if pointer_file.exists():
            p = ptr.decode(pointer_file.read_bytes(), str(pointer_file))
            assert (p.sha1, p.size) == (sha1, 64 << 20)
        text = readme.read_text()
        assert text == readme_before or frontmatter.parse(text).models[0].sha1 == sha1
        if (model / ".gitignore").exists():
            assert (model / ".gitignore").read_text() == "/big.caffemodel\n"
        assert_only_dead_temps(model)
        assert_cache_consistent(repo)
        if code == 0:
            reset()
    assert killed >= KILLS // 2, "most runs were really interrupted"

    r = run_zoo("add", "models/big/big.caffemodel", cwd=repo)
    assert r.returncode == 0, r.output
    p = ptr.decode(pointer_file.read_bytes())
    assert (p.sha1, p.size) == (sha1, 64 << 20)
    assert frontmatter.parse(readme.read_text()).models[0].sha1 == sha1
    assert assert_cache_consistent(repo) == 1
    assert hashlib.sha1(weights.read_bytes()).hexdigest() == sha1
    # The cache's own scratch files of killed runs are gone too.
    tmp = cache_root(repo) / "tmp"
    assert not [e for e in tmp.iterdir()] if tmp.is_dir() else True
    r = run_zoo("verify", cwd=repo)
    assert r.returncode == 0, r.output


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_temp_file_of_a_killed_add_is_removed_by_the_next_add(tmp_path):
    """A temp file beside the pointer, left by a process that no longer exists, is cleaned
    up by the next write into that folder (fileio's promise), so a crash leaves no trace."""
    repo = tmp_path / "repo"
    model = repo / "m"
    model.mkdir(parents=True)
    git("init", "-q", cwd=repo)
    make_weights(model / "w.bin", 10_000)
    stale = model / f".w.bin.zoo.zoo-tmp-{_dead_pid()}-0123abcd"
    stale.write_text("zoo-vcs: 1\nsha1: half-writ")
    r = run_zoo("add", "m/w.bin", cwd=repo)
    assert r.returncode == 0, r.output
    assert temp_leftovers(model) == []


def test_temp_file_of_a_killed_checkout_is_removed_by_the_next_checkout(tmp_path):
    repo = tmp_path / "repo"
    model = repo / "m"
    model.mkdir(parents=True)
    git("init", "-q", cwd=repo)
    data = make_weights(model / "w.bin", 10_000)
    assert run_zoo("add", "m/w.bin", cwd=repo).returncode == 0
    (model / "w.bin").unlink()
    stale = model / f".w.bin.zoo-tmp-{_dead_pid()}-0123abcd"
    stale.write_bytes(data[:5000])
    r = run_zoo("checkout", cwd=repo)
    assert r.returncode == 0, r.output
    assert (model / "w.bin").read_bytes() == data
    assert temp_leftovers(model) == []
