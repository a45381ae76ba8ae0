#!/usr/bin/env python3
"""Benchmark zoo-vcs against its peers on one machine, in one run (see bench/README.md).

Scenarios: ``add`` (hash + store a big file), ``checkout`` (download + verify it over
loopback HTTP), ``status`` (no-op status over many tracked files), and over ``--many``
files of 1 MiB: ``c1`` (add), ``c2`` (push to a folder on tmpfs), ``c3`` (pull from it),
``e1`` (pull from S3, moto on loopback) and ``e2`` (push to S3). Every peer runs
``--runs`` times, interleaved run by run; each run is one child process whose wall time
(``time.perf_counter``) and peak RSS (``os.wait4``) are recorded, and whose result is
checked (a run that produced a wrong result is an error, not a figure).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import functools
import hashlib
import json
import os
import platform
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORK = BENCH / ".work"
RESULTS = BENCH / "results" / "latest.json"
HTTP_SERVER = ROOT / "tests" / "servers" / "http.py"
S3_PEER = BENCH / "s3_peer.py"
PYTHON = sys.executable
SCENARIOS = ["add", "checkout", "status", "c1", "c2", "c3", "e1", "e2"]


def _zoo_command() -> str:
    """The zoo-vcs console script of this interpreter, not a pyenv/asdf shim in front of it
    (a shim is a shell script that costs ~0.1-0.2 s per start-up; dvc runs from its venv)."""
    here = Path(sys.executable).parent / "zoo-vcs"
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    return shutil.which("zoo-vcs") or "zoo-vcs"


ZOO = _zoo_command()
MIB = 1 << 20
CHUNK = MIB  # small reads keep this process's RSS high-water mark (the RSS floor) low
GIT_ID = ["-c", "user.name=zoo-vcs bench", "-c", "user.email=bench@127.0.0.1",
          "-c", "commit.gpgsign=false"]
# dvc must not phone home: analytics off, update check pointed at a closed loopback port.
DVC_ENV = {"DVC_NO_ANALYTICS": "1", "DVC_UPDATER_ENDPOINT": "http://127.0.0.1:9/",
           "DVC_SITE_CACHE_DIR": str(WORK / "dvc-site-cache")}
# moto's credentials; inherited AWS_* variables are never passed on (child_env), and the
# config/credentials files are an empty file, so no real profile or endpoint can be used.
AWS_EMPTY = WORK / "aws-empty-config"
S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
          "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1",
          "AWS_CONFIG_FILE": str(AWS_EMPTY), "AWS_SHARED_CREDENTIALS_FILE": str(AWS_EMPTY),
          "AWS_EC2_METADATA_DISABLED": "true"}
BUCKET = "bench"

# What Caffe's scripts/download_model_binary.py does (minus its progress hook):
# urlretrieve the file, then read it whole into memory and SHA1 it.
CAFFE_HASH = ("import hashlib, sys\n"
              "print(hashlib.sha1(open(sys.argv[1], 'rb').read()).hexdigest())")
CAFFE_DOWNLOAD = ("import hashlib, sys, urllib.request\n"
                  "urllib.request.urlretrieve(sys.argv[1], sys.argv[2])\n"
                  "print(hashlib.sha1(open(sys.argv[2], 'rb').read()).hexdigest())")
POOCH_RETRIEVE = ("import sys, pooch\n"
                  "print(pooch.retrieve(sys.argv[1], known_hash=sys.argv[2], path=sys.argv[3],"
                  " fname=sys.argv[4], progressbar=False))")


class BenchError(Exception):
    """A command failed or produced a wrong result."""


# --------------------------------------------------------------------------- model


@dataclass
class Peer:
    """One command to time; ``prepare`` runs untimed before each run, ``check`` after it."""

    name: str
    argv: list[str]
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)
    prepare: Callable[[], None] | None = None
    check: Callable[[str], None] | None = None
    after: Callable[[], None] | None = None  # untimed clean-up after each run (and check)
    times: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)
    error: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times and not self.error else None


@dataclass(frozen=True)
class Target:
    """A limit on the subject row: a time ratio to peer ``versus`` or a peak RSS in MiB."""

    label: str
    limit: float
    versus: str | None = None  # peer name for a ratio target; None: peak RSS target
    # (limit, peer): the target is also met when subject / that peer <= limit ("either")
    alternative: tuple[float, str] | None = None


@dataclass
class Scenario:
    key: str
    title: str
    baseline: str
    subject: str
    peers: list[Peer]
    targets: list[Target]
    notes: list[str] = field(default_factory=list)
    rss_floor_mib: float = 0.0  # what `true` reports: no child can report less (README)


# --------------------------------------------------------------------------- helpers


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment of every child: ours without ZOO_VCS_* settings, AWS_* settings and
    PYTHONDONTWRITEBYTECODE (with it, every Python start-up would compile the modules
    that have no .pyc: users' installs have them), plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ZOO_VCS_", "AWS_")) and k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, **extra}


def run(argv: Sequence[str | Path], cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run an untimed setup command; raise BenchError with its stderr when it fails."""
    proc = subprocess.run([str(a) for a in argv], cwd=cwd, env=child_env(env or {}),
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BenchError(f"{shlex.join(map(str, argv))}: exit {proc.returncode}: "
                         f"{proc.stderr.strip()[-500:]}")
    return proc.stdout


def measure(peer: Peer) -> tuple[float, float, str]:
    """Run ``peer`` once: (wall seconds, peak RSS MiB of the child and its waited-for
    descendants, stdout). Raises BenchError when it exits non-zero."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(peer.argv, cwd=peer.cwd, env=child_env(peer.env),
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise BenchError(f"exit {proc.returncode}: {(stderr or stdout).strip()[-500:]}")
    return seconds, usage.ru_maxrss / 1024, stdout  # ru_maxrss is KiB on Linux


def run_peers(scenario: Scenario, runs: int, warmup: bool) -> None:
    """Run every peer ``runs`` times, interleaved (A1 B1 C1 A2 B2 ...), after an optional
    untimed warm-up run of each. A peer whose run fails is dropped with its error."""
    for i in range(-1 if warmup else 0, runs):
        for peer in scenario.peers:
            if peer.error:
                continue
            try:
                if peer.prepare:
                    peer.prepare()
                seconds, rss, stdout = measure(peer)
                if peer.check:
                    peer.check(stdout)
            except (BenchError, OSError) as exc:
                peer.error = str(exc)
                log(f"  {peer.name}: FAILED: {exc}")
                continue
            finally:
                if peer.after:
                    try:
                        peer.after()
                    except (BenchError, OSError) as exc:
                        log(f"  {peer.name}: clean-up after the run failed: {exc}")
            label = "warm-up" if i < 0 else f"run {i + 1}/{runs}"
            log(f"  {label:<8} {peer.name:<28} {seconds:8.3f} s {rss:8.1f} MiB")
            if i >= 0:
                peer.times.append(seconds)
                peer.rss_mib.append(rss)
    scenario.rss_floor_mib = measure(Peer("true", ["true"], WORK))[1]


def sha1_of(path: Path) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def warm(path: Path) -> None:
    """Read ``path`` once so that every peer starts from the page cache."""
    with open(path, "rb", buffering=0) as f:
        while f.read(CHUNK):
            pass


def fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def git_repo(path: Path) -> Path:
    fresh_dir(path)
    run(["git", "init", "-q", "."], path)
    return path


def expect_in_stdout(text: str) -> Callable[[str], None]:
    def check(stdout: str) -> None:
        if text not in stdout:
            raise BenchError(f"expected {text!r} in the output, got {stdout.strip()[-300:]!r}")
    return check


def expect_file(path: Path, sha1: str) -> None:
    if not path.is_file():
        raise BenchError(f"{path} was not created")
    if (actual := sha1_of(path)) != sha1:
        raise BenchError(f"{path} has SHA1 {actual}, expected {sha1}")


def big_file(size: int) -> tuple[Path, str]:
    """WORK/data/big.bin of ``size`` random bytes and its SHA1 (reused when it matches)."""
    path, stamp = WORK / "data" / "big.bin", WORK / "data" / "big.bin.sha1"
    if path.is_file() and path.stat().st_size == size and stamp.is_file():
        return path, stamp.read_text().strip()
    log(f"writing {path} ({size // MIB} MiB)")
    path.parent.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha1()
    with open(path, "wb") as f:
        for left in range(size, 0, -CHUNK):
            block = os.urandom(min(CHUNK, left))
            h.update(block)
            f.write(block)
    stamp.write_text(h.hexdigest() + "\n")
    return path, h.hexdigest()


def link_into(src: Path, dest: Path) -> Path:
    """Hard-link ``src`` at ``dest`` (same inode, same page cache)."""
    dest.unlink(missing_ok=True)
    os.link(src, dest)
    return dest


def importable(python: str | Path, module: str) -> bool:
    probe = [str(python), "-c", f"import {module}"]
    try:
        return subprocess.run(probe, capture_output=True, env=child_env({}),
                              check=False).returncode == 0
    except OSError:
        return False


def ensure_venv(name: str, module: str, *packages: str) -> Path | None:
    """bin/ of WORK/<name>-venv where ``module`` imports, pip-installing ``packages``
    (default: ``module``) if needed, or None when it cannot be installed."""
    venv = WORK / f"{name}-venv"
    python = venv / "bin" / "python"
    if python.exists() and importable(python, module):
        return venv / "bin"
    log(f"installing {' '.join(packages or (module,))} into {venv} "
        f"(log: {WORK / f'{name}-install.log'})")
    with open(WORK / f"{name}-install.log", "w") as out:
        for argv in ([PYTHON, "-m", "venv", "--clear", str(venv)],
                     [str(python), "-m", "pip", "install", *(packages or (module,))]):
            if subprocess.run(argv, stdout=out, stderr=out, env=child_env({}),
                              check=False).returncode != 0:
                return None
    return venv / "bin" if importable(python, module) else None


def ensure_in_venv(bin_dir: Path, module: str, package: str, logname: str) -> bool:
    """pip-install ``package`` into an existing venv unless ``module`` already imports."""
    python = bin_dir / "python"
    if importable(python, module):
        return True
    log(f"installing {package} into {bin_dir.parent} (log: {WORK / logname})")
    with open(WORK / logname, "w") as out:
        subprocess.run([str(python), "-m", "pip", "install", package], stdout=out,
                       stderr=out, env=child_env({}), check=False)
    return importable(python, module)


def ensure_git_lfs() -> bool:
    """Whether ``git lfs`` works, installing the git-lfs package with apt-get if needed
    (and possible: root with apt-get)."""
    def works() -> bool:
        return subprocess.run(["git", "lfs", "version"], capture_output=True,
                              check=False).returncode == 0
    if works():
        return True
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return False
    log(f"installing git-lfs with apt-get (log: {WORK / 'git-lfs-install.log'})")
    env = child_env({"DEBIAN_FRONTEND": "noninteractive"})
    with open(WORK / "git-lfs-install.log", "w") as out:
        install = ["apt-get", "install", "-y", "git-lfs"]
        if subprocess.run(install, stdout=out, stderr=out, env=env, check=False).returncode:
            subprocess.run(["apt-get", "update"], stdout=out, stderr=out, env=env, check=False)
            subprocess.run(install, stdout=out, stderr=out, env=env, check=False)
    return works()


def ensure_moto() -> str | None:
    """A Python that can run ``python -m moto.server`` and boto3 (this one, or a venv)."""
    if importable(PYTHON, "moto.server, flask, flask_cors, boto3"):
        return PYTHON
    bin_dir = ensure_venv("moto", "moto.server, flask, flask_cors, boto3", "moto[server]")
    return str(bin_dir / "python") if bin_dir else None


@contextlib.contextmanager
def http_server(root: Path) -> Iterator[str]:
    """The loopback file server of tests/servers/http.py serving ``root``; yields its URL."""
    proc = subprocess.Popen([PYTHON, str(HTTP_SERVER), "--root", str(root)],
                            stdout=subprocess.PIPE, text=True, env=child_env({}))
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise BenchError(f"loopback server did not start (said {url!r})")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --------------------------------------------------------------------------- scenarios


def add_scenario(big: Path, sha1: str) -> Scenario:
    repo = git_repo(WORK / "add" / "repo")
    file = link_into(big, repo / "big.bin")
    cache = WORK / "add" / "cache"

    def prepare_zoo() -> None:
        fresh_dir(cache)
        for name in ("big.bin.zoo", ".gitignore"):
            (repo / name).unlink(missing_ok=True)
        os.sync()  # flush the previous run's writes so they don't land in this one

    def check_zoo(_: str) -> None:
        pointer = (repo / "big.bin.zoo").read_text()
        if f"sha1: {sha1}" not in pointer:
            raise BenchError(f"big.bin.zoo does not name sha1 {sha1}:\n{pointer}")
        stored = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file())
        if stored < big.stat().st_size or not file.is_file():
            raise BenchError("the object was not stored in the cache, or big.bin vanished")

    def sync() -> None:
        os.sync()

    hashed = expect_in_stdout(sha1)
    peers = [
        Peer("sha1sum", ["sha1sum", "big.bin"], repo, prepare=sync, check=hashed),
        Peer("zoo-vcs add", [ZOO, "add", "big.bin"], repo,
             env={"ZOO_VCS_CACHE_DIR": str(cache)}, prepare=prepare_zoo, check=check_zoo),
        Peer("Caffe (read whole file)", [PYTHON, "-c", CAFFE_HASH, "big.bin"], repo,
             prepare=sync, check=hashed),
        Peer("openssl dgst -sha1", ["openssl", "dgst", "-sha1", "big.bin"], repo,
             prepare=sync, check=hashed),
    ]
    size_mib = big.stat().st_size // MIB
    return Scenario(
        "add", f"add {size_mib} MiB: hash + store one file (warm page cache)",
        "sha1sum", "zoo-vcs add", peers,
        [Target("≤ 1.2x sha1sum (issue)", 1.2, "sha1sum"),
         Target("≤ 0.6x sha1sum (team, BENCHMARKS.md)", 0.6, "sha1sum"),
         Target("peak RSS ≤ 100 MiB (issue)", 100.0),
         Target("peak RSS ≤ 64 MiB (team, BENCHMARKS.md)", 64.0)],
        ["zoo-vcs add runs in a fresh git repo with a fresh empty cache dir each run"])


def checkout_scenario(big: Path, sha1: str, url: str, pooch_bin: Path | None) -> Scenario:
    base = WORK / "checkout"
    size = big.stat().st_size
    file_url = f"{url}/big.bin"
    repo = git_repo(base / "zoo")
    cache = base / "zoo-cache"
    (repo / "big.bin.zoo").write_text(
        f"zoo-vcs: 1\nsha1: {sha1}\nsize: {size}\nurls:\n- {file_url}\n")
    dirs = {name: fresh_dir(base / name) for name in ("curl", "caffe", "pooch")}

    def prepare(out: Path, empty: Path | None = None) -> Callable[[], None]:
        def fn() -> None:
            out.unlink(missing_ok=True)
            if empty is not None:
                fresh_dir(empty)
            os.sync()
        return fn

    def check(out: Path, stdout_sha1: bool) -> Callable[[str], None]:
        def fn(stdout: str) -> None:
            expect_file(out, sha1)
            if stdout_sha1:
                expect_in_stdout(sha1)(stdout)
        return fn

    peers = [
        Peer("curl + sha1sum", ["sh", "-c", f"curl -s -o big.bin {file_url} && sha1sum big.bin"],
             dirs["curl"], prepare=prepare(dirs["curl"] / "big.bin"),
             check=check(dirs["curl"] / "big.bin", True)),
        Peer("zoo-vcs checkout", [ZOO, "checkout"], repo,
             env={"ZOO_VCS_CACHE_DIR": str(cache)}, prepare=prepare(repo / "big.bin", cache),
             check=check(repo / "big.bin", False)),
        Peer("Caffe (urlretrieve + sha1)", [PYTHON, "-c", CAFFE_DOWNLOAD, file_url, "big.bin"],
             dirs["caffe"], prepare=prepare(dirs["caffe"] / "big.bin"),
             check=check(dirs["caffe"] / "big.bin", True)),
    ]
    notes = []
    if pooch_bin is not None:
        target = dirs["pooch"] / "store"
        peers.append(Peer(
            "pooch.retrieve",
            [str(pooch_bin / "python"), "-c", POOCH_RETRIEVE, file_url, f"sha1:{sha1}",
             str(target), "big.bin"],
            dirs["pooch"], prepare=prepare(target / "big.bin", target),
            check=check(target / "big.bin", False)))
    else:
        notes.append("pooch: not available")
    return Scenario(
        "checkout", f"checkout {size // MIB} MiB over loopback HTTP: download + verify "
        "(empty cache, missing file)",
        "curl + sha1sum", "zoo-vcs checkout", peers,
        [Target("≤ 1.0x curl + sha1sum (issue)", 1.0, "curl + sha1sum"),
         Target("≤ 0.6x curl + sha1sum (team, BENCHMARKS.md)", 0.6, "curl + sha1sum"),
         Target("peak RSS ≤ 100 MiB (issue)", 100.0),
         Target("peak RSS ≤ 64 MiB (team, BENCHMARKS.md)", 64.0)],
        notes)


def write_tree(root: Path, count: int, size: int) -> list[str]:
    """``count`` files of ``size`` random bytes in folders of 100 under ``root``, their mtimes
    set a minute back (older than the stat cache's 2 s racy window). Returns relative paths."""
    names = [f"data/d{i // 100:03d}/f{i % 100:03d}.bin" for i in range(count)]
    past = time.time() - 60
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))
        os.utime(path, (past, past))
    return names


def status_scenario(count: int, dvc_bin: Path | None, no_dvc: str) -> Scenario:
    base = WORK / "status"
    repo = git_repo(base / "zoo")
    log(f"creating {count} files tracked by zoo-vcs in {repo}")
    names = write_tree(repo, count, 1024)
    for i in range(0, len(names), 2000):
        run([ZOO, "-q", "add", *names[i:i + 2000]], repo)
    run(["git", "add", "-A"], repo)
    run(["git", *GIT_ID, "commit", "-q", "-m", "track data with zoo-vcs"], repo)
    peers = [
        Peer("git status", ["git", "status"], repo,
             check=expect_in_stdout("nothing to commit, working tree clean")),
        Peer("zoo-vcs status", [ZOO, "status"], repo,
             check=expect_in_stdout(f"{count} tracked binaries: {count} ok")),
    ]
    notes = []
    if dvc_bin is not None:
        dvc_repo = git_repo(base / "dvc")
        log(f"creating {count} files tracked by dvc (one directory) in {dvc_repo}")
        shutil.copytree(repo / "data", dvc_repo / "data",
                        ignore=shutil.ignore_patterns("*.zoo", ".gitignore"))
        dvc = str(dvc_bin / "dvc")
        run([dvc, "init", "-q"], dvc_repo, DVC_ENV)
        run([dvc, "config", "core.analytics", "false"], dvc_repo, DVC_ENV)
        run([dvc, "config", "core.check_update", "false"], dvc_repo, DVC_ENV)
        run([dvc, "add", "-q", "data"], dvc_repo, DVC_ENV)
        run(["git", "add", "-A"], dvc_repo)
        run(["git", *GIT_ID, "commit", "-q", "-m", "track data with dvc"], dvc_repo)
        peers.append(Peer("dvc status (dir)", [dvc, "status"], dvc_repo, env=DVC_ENV,
                          check=expect_in_stdout("Data and pipelines are up to date")))
    else:
        notes.append(no_dvc)
    return Scenario(
        "status", f"no-op status over {count} tracked files of 1 KiB (after one warm-up run)",
        "git status", "zoo-vcs status", peers,
        [Target("≤ 0.5x dvc status (issue)", 0.5, "dvc status (dir)"),
         Target("≤ 30x git status (team, BENCHMARKS.md)", 30.0, "git status")],
        notes)


# --------------------------------------------------------------------------- many files


@dataclass
class ManyData:
    """``--many`` files of 1 MiB (WORK/data/many/f00000.bin ...) and their digests."""

    folder: Path
    names: list[str]
    sha1: dict[str, str]
    md5: dict[str, str]
    sha256: dict[str, str]

    def expect(self, where: Callable[[str], str]) -> dict[str, str]:
        """{where(name): sha1 of that file}: what check_tree expects of some layout."""
        return {where(n): self.sha1[n] for n in self.names}

    def zoo_object(self, name: str) -> str:
        """Where zoo-vcs keeps ``name``'s object, in its cache and on a remote."""
        return f"sha1/{self.sha1[name][:2]}/{self.sha1[name][2:]}"

    def dvc_object(self, name: str) -> str:
        """The same for dvc (3.x), under <cache or remote>/files/md5/."""
        return f"{self.md5[name][:2]}/{self.md5[name][2:]}"

    def lfs_object(self, name: str) -> str:
        """The same for git-lfs, under .git/lfs/objects/ or <bare repo>/lfs/objects/."""
        return f"{self.sha256[name][:2]}/{self.sha256[name][2:4]}/{self.sha256[name]}"


def many_data(count: int) -> ManyData:
    """WORK/data/many/ holding ``count`` files of 1 MiB of random bytes (kept and reused
    while ``count`` is unchanged) and their SHA1, MD5 and SHA256 (WORK/data/many.json)."""
    folder, manifest = WORK / "data" / "many", WORK / "data" / "many.json"
    names = [f"f{i:05d}.bin" for i in range(count)]
    if manifest.is_file() and folder.is_dir():
        m = json.loads(manifest.read_text())
        if m.get("names") == names and sorted(os.listdir(folder)) == names and all(
                (folder / n).stat().st_size == MIB for n in names):
            return ManyData(folder, names, m["sha1"], m["md5"], m["sha256"])
    log(f"writing {count} files of 1 MiB to {folder}")
    manifest.unlink(missing_ok=True)
    fresh_dir(folder)
    digests: dict[str, dict[str, str]] = {"sha1": {}, "md5": {}, "sha256": {}}
    for n in names:
        block = os.urandom(MIB)
        (folder / n).write_bytes(block)
        for algo, table in digests.items():
            table[n] = hashlib.new(algo, block).hexdigest()
    manifest.write_text(json.dumps({"names": names, **digests}))
    return ManyData(folder, names, digests["sha1"], digests["md5"], digests["sha256"])


def check_tree(root: Path, expected: dict[str, str], what: str = "files") -> None:
    """Every ``root/<relative path>`` of ``expected`` exists with that SHA1. Hashed by two
    ``sha1sum`` children (both cores; this process's RSS, the RSS floor, stays low)."""
    rels = list(expected)
    missing = [rel for rel in rels if not (root / rel).is_file()]
    if missing:
        raise BenchError(f"{len(missing)} of {len(rels)} {what} missing under {root}: "
                         + ", ".join(missing[:3]))
    procs = [subprocess.Popen(["sha1sum", "--", *rels[k::2]], cwd=root, env=child_env({}),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k in range(2)]
    actual: dict[str, str] = {}
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise BenchError(f"sha1sum under {root}: {err.strip()[-300:]}")
        for line in out.splitlines():
            digest, rel = line.split(None, 1)
            actual[rel.lstrip("*")] = digest
    wrong = [f"{rel} has SHA1 {actual.get(rel)}, expected {sha1}"
             for rel, sha1 in expected.items() if actual.get(rel) != sha1]
    if wrong:
        raise BenchError(f"{len(wrong)} of {len(rels)} {what} wrong under {root}: "
                         + "; ".join(wrong[:3]))


def warm_tree(*folders: Path) -> None:
    """Read every file under ``folders`` once (untimed), so that peers start warm."""
    for folder in folders:
        files = [str(Path(d) / n) for d, _, names in os.walk(folder) for n in names]
        for k in range(0, len(files), 1000):
            subprocess.run(["cat", "--", *files[k:k + 1000]], stdout=subprocess.DEVNULL,
                           check=False)


def rmtree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    if path.exists():
        raise BenchError(f"could not delete {path}")


def empty_dir_synced(path: Path) -> Callable[[], None]:
    def fn() -> None:
        rmtree(path)
        path.mkdir(parents=True)
        os.sync()
    return fn


def commit_all(repo: Path, message: str) -> None:
    run(["git", "add", "-A"], repo)
    run(["git", *GIT_ID, "commit", "-q", "-m", message], repo)


def dvc_init(repo: Path, dvc: str, env: dict[str, str]) -> None:
    run([dvc, "init", "-q"], repo, env)
    run([dvc, "config", "core.analytics", "false"], repo, env)
    run([dvc, "config", "core.check_update", "false"], repo, env)


def set_git_remote(repo: Path, url: Path) -> None:
    subprocess.run(["git", "remote", "remove", "origin"], cwd=repo, capture_output=True,
                   env=child_env({}), check=False)
    run(["git", "remote", "add", "origin", str(url)], repo)


@dataclass
class Tracked:
    """The ``--many`` files committed in up to three repositories, each with its cache
    filled as ``add`` left it: zoo-vcs (pointers; cache ``zoo_cache``), dvc (the folder as
    one ``data.dvc``; .dvc/cache) and git-lfs (.git/lfs/objects). Data files in ``data/``."""

    zoo: Path
    zoo_cache: Path
    dvc: Path | None
    dvc_env: dict[str, str]
    lfs: Path | None
    lfs_branch: str = ""
    notes: list[str] = field(default_factory=list)  # a peer whose setup failed


def tracked_repos(base: Path, data: ManyData, dvc: str | None, lfs: bool) -> Tracked:
    fresh_dir(base)
    names = [f"data/{n}" for n in data.names]
    zoo, zoo_cache = git_repo(base / "zoo"), base / "zoo-cache"
    log(f"tracking {len(names)} files with zoo-vcs in {zoo}")
    shutil.copytree(data.folder, zoo / "data")
    run([ZOO, "-q", "add", *names], zoo, {"ZOO_VCS_CACHE_DIR": str(zoo_cache)})
    commit_all(zoo, "track data with zoo-vcs")
    t = Tracked(zoo, zoo_cache, None, {**DVC_ENV, "DVC_SITE_CACHE_DIR": str(base / "dvc-site")},
                None)
    if dvc is not None:
        repo = git_repo(base / "dvc")
        log(f"tracking them with dvc (one directory) in {repo}")
        try:
            shutil.copytree(data.folder, repo / "data")
            dvc_init(repo, dvc, t.dvc_env)
            run([dvc, "add", "-q", "data"], repo, t.dvc_env)
            commit_all(repo, "track data with dvc")
            t.dvc = repo
        except BenchError as exc:
            log(f"dvc: setup failed: {exc}")
            t.notes.append(f"dvc: setup failed: {exc}")
    if lfs:
        repo = git_repo(base / "lfs")
        log(f"tracking them with git-lfs in {repo}")
        try:
            run(["git", "lfs", "install", "--local"], repo)
            shutil.copytree(data.folder, repo / "data")
            run(["git", "lfs", "track", "data/*.bin"], repo)
            commit_all(repo, "track data with git-lfs")
            t.lfs_branch = run(["git", "symbolic-ref", "--short", "HEAD"], repo).strip()
            t.lfs = repo
        except BenchError as exc:
            log(f"git-lfs: setup failed: {exc}")
            t.notes.append(f"git-lfs: setup failed: {exc}")
    return t


def zoo_pull_peer(name: str, data: ManyData, repo: Path, cache: Path,
                  pointers: dict[str, bytes] | None = None) -> Peer:
    """``zoo-vcs pull`` after deleting the data files, the cache and the stat cache; the
    pointers are the committed ones (no URL: objects come through the remote), or
    ``pointers`` (e.g. as ``push`` left them, naming each object's remote URL)."""
    def prepare() -> None:
        rmtree(cache)
        rmtree(repo / ".git" / "zoo-vcs")
        for n in data.names:
            (repo / "data" / n).unlink(missing_ok=True)
        if pointers is None:
            run(["git", "checkout", "--", "data"], repo)
        else:
            for rel, text in pointers.items():
                (repo / rel).write_bytes(text)
        os.sync()

    def check(stdout: str) -> None:
        expect_in_stdout(f"{len(data.names)} restored")(stdout)
        check_tree(repo / "data", data.expect(lambda n: n))

    return Peer(name, [ZOO, "pull"], repo, env={"ZOO_VCS_CACHE_DIR": str(cache)},
                prepare=prepare, check=check)


def dvc_pull_peer(data: ManyData, dvc: str, t: Tracked) -> Peer:
    """``dvc pull`` after deleting data/, .dvc/cache and dvc's site cache (hashes, index)."""
    assert t.dvc is not None
    repo = t.dvc

    def prepare() -> None:
        rmtree(repo / "data")
        rmtree(repo / ".dvc" / "cache")
        rmtree(Path(t.dvc_env["DVC_SITE_CACHE_DIR"]))
        os.sync()

    return Peer("dvc pull (dir)", [dvc, "pull"], repo, env=t.dvc_env, prepare=prepare,
                check=lambda _: check_tree(repo / "data", data.expect(lambda n: n)))


MEMORY_TARGET = Target("peak RSS ≤ 64 MiB (team, BENCHMARKS.md memory row)", 64.0)


def c1_scenario(data: ManyData, dvc: str | None, lfs: bool, notes: list[str]) -> Scenario:
    base = fresh_dir(WORK / "c1")
    count = len(data.names)
    names = [f"data/{n}" for n in data.names]

    def check_sha1sum(stdout: str) -> None:
        got = {line.split()[1]: line.split()[0] for line in stdout.splitlines() if line}
        if got != {n: data.sha1[n] for n in data.names}:
            raise BenchError("sha1sum did not print the right SHA1 of every file")

    peers = [Peer("sha1sum (every file)", ["sha1sum", *data.names], data.folder,
                  prepare=os.sync, check=check_sha1sum)]

    zoo, cache = git_repo(base / "zoo"), base / "zoo-cache"
    shutil.copytree(data.folder, zoo / "data")

    def prepare_zoo() -> None:
        fresh_dir(cache)
        rmtree(zoo / ".git" / "zoo-vcs")
        for n in data.names:
            (zoo / "data" / f"{n}.zoo").unlink(missing_ok=True)
        (zoo / "data" / ".gitignore").unlink(missing_ok=True)
        os.sync()

    def check_zoo(_: str) -> None:
        for n in data.names:
            try:
                text = (zoo / "data" / f"{n}.zoo").read_text()
            except FileNotFoundError:
                raise BenchError(f"data/{n}.zoo was not written") from None
            if f"sha1: {data.sha1[n]}\n" not in text:
                raise BenchError(f"data/{n}.zoo does not name sha1 {data.sha1[n]}:\n{text}")
        check_tree(cache, data.expect(data.zoo_object), "cache objects")

    peers.append(Peer("zoo-vcs add", [ZOO, "add", *names], zoo,
                      env={"ZOO_VCS_CACHE_DIR": str(cache)}, prepare=prepare_zoo,
                      check=check_zoo))
    warm_dirs = [data.folder, zoo / "data"]

    if dvc is not None:
        dvc_repo, site = git_repo(base / "dvc"), base / "dvc-site"
        env = {**DVC_ENV, "DVC_SITE_CACHE_DIR": str(site)}
        shutil.copytree(data.folder, dvc_repo / "data")
        try:
            dvc_init(dvc_repo, dvc, env)
        except BenchError as exc:
            notes.append(f"dvc: setup failed: {exc}")
            dvc = None
    if dvc is not None:

        def prepare_dvc() -> None:
            for name in ("data.dvc", ".gitignore"):
                (dvc_repo / name).unlink(missing_ok=True)
            rmtree(dvc_repo / ".dvc" / "cache")
            rmtree(site)  # its hash cache would let a second `dvc add` skip hashing
            os.sync()

        def check_dvc(_: str) -> None:
            try:
                text = (dvc_repo / "data.dvc").read_text()
            except FileNotFoundError:
                raise BenchError("data.dvc was not written") from None
            if f"nfiles: {count}\n" not in text:
                raise BenchError(f"data.dvc does not list {count} files:\n{text}")
            check_tree(dvc_repo / ".dvc" / "cache" / "files" / "md5", data.expect(data.dvc_object),
                       "cache objects")
            if any((dvc_repo / name).stat().st_size != MIB for name in names):
                raise BenchError("a workspace file changed size")

        peers.append(Peer("dvc add (dir)", [dvc, "add", "data"], dvc_repo, env=env,
                          prepare=prepare_dvc, check=check_dvc))
        warm_dirs.append(dvc_repo / "data")

    if lfs:
        lfs_repo = git_repo(base / "lfs")
        shutil.copytree(data.folder, lfs_repo / "data")
        try:
            run(["git", "lfs", "install", "--local"], lfs_repo)
        except BenchError as exc:
            notes.append(f"git-lfs: setup failed: {exc}")
            lfs = False
    if lfs:

        def prepare_lfs() -> None:
            for name in (".git/index", ".gitattributes"):
                (lfs_repo / name).unlink(missing_ok=True)
            rmtree(lfs_repo / ".git" / "lfs")
            os.sync()

        def check_lfs(_: str) -> None:
            listed = set(run(["git", "lfs", "ls-files", "-l"], lfs_repo).splitlines())
            want = {f"{data.sha256[n]} * data/{n}" for n in data.names}
            if listed != want:
                raise BenchError(f"git lfs ls-files lists {len(listed)} files, "
                                 f"{len(want - listed)} of {count} missing or wrong")
            check_tree(lfs_repo / ".git" / "lfs" / "objects", data.expect(data.lfs_object),
                       "LFS objects")

        peers.append(Peer(
            "git lfs track + git add",
            ["sh", "-c", "git lfs track 'data/*.bin' >/dev/null && git add .gitattributes data"],
            lfs_repo, prepare=prepare_lfs, check=check_lfs))
        warm_dirs.append(lfs_repo / "data")
    warm_tree(*warm_dirs)
    return Scenario(
        "c1", f"C1 add {count} x 1 MiB: hash + store every file (warm page cache)",
        "sha1sum (every file)", "zoo-vcs add", peers,
        [Target("≤ 1.5x sha1sum (team, BENCHMARKS.md)", 1.5, "sha1sum (every file)"),
         MEMORY_TARGET],
        [*notes, "zoo-vcs add: one command naming every file; fresh cache, no pointers, "
                 "each run"])


def c2_scenario(data: ManyData, t: Tracked, other_fs: Path, dvc: str | None,
                notes: list[str]) -> Scenario:
    dest = fresh_dir(other_fs / "c2")
    count = len(data.names)
    cp_out = dest / "cp"
    peers = [Peer("cp -r", ["cp", "-r", str(data.folder), str(cp_out / "data")], WORK,
                  prepare=empty_dir_synced(cp_out),
                  check=lambda _: check_tree(cp_out / "data", data.expect(lambda n: n)),
                  after=lambda: rmtree(cp_out))]

    zoo_remote = dest / "zoo"
    run([ZOO, "remote", "add", "store", str(zoo_remote), "--default", "--force"], t.zoo)

    def prepare_zoo() -> None:
        run(["git", "checkout", "--", "data"], t.zoo)  # pointers without the remote URL
        empty_dir_synced(zoo_remote)()

    def check_zoo(stdout: str) -> None:
        expect_in_stdout(f"{count} uploaded, 0 already there")(stdout)
        check_tree(zoo_remote, data.expect(data.zoo_object), "remote objects")

    peers.append(Peer("zoo-vcs push", [ZOO, "push"], t.zoo,
                      env={"ZOO_VCS_CACHE_DIR": str(t.zoo_cache)}, prepare=prepare_zoo,
                      check=check_zoo, after=lambda: rmtree(zoo_remote)))
    warm_dirs = [data.folder, t.zoo_cache]

    if t.dvc is not None and dvc is not None:
        dvc_remote = dest / "dvc"
        run([dvc, "remote", "add", "-d", "-f", "store", str(dvc_remote)], t.dvc, t.dvc_env)
        peers.append(Peer(
            "dvc push (dir)", [dvc, "push"], t.dvc, env=t.dvc_env,
            prepare=empty_dir_synced(dvc_remote),
            check=lambda _: check_tree(dvc_remote / "files" / "md5",
                                       data.expect(data.dvc_object), "remote objects"),
            after=lambda: rmtree(dvc_remote)))
        warm_dirs.append(t.dvc / ".dvc" / "cache")

    if t.lfs is not None:
        lfs, bare = t.lfs, dest / "lfs.git"
        set_git_remote(lfs, bare)

        def prepare_lfs() -> None:
            rmtree(bare)
            run(["git", "init", "-q", "--bare", str(bare)], WORK)
            os.sync()

        peers.append(Peer(
            "git lfs push", ["git", "lfs", "push", "origin", t.lfs_branch], lfs,
            prepare=prepare_lfs,
            check=lambda _: check_tree(bare / "lfs" / "objects", data.expect(data.lfs_object),
                                       "remote objects"),
            after=lambda: rmtree(bare)))
        warm_dirs.append(lfs / ".git" / "lfs" / "objects")
    warm_tree(*warm_dirs)
    return Scenario(
        "c2", f"C2 push {count} x 1 MiB to a folder on another file system ({other_fs})",
        "cp -r", "zoo-vcs push", peers,
        [Target("≤ 2x cp -r (team, BENCHMARKS.md)", 2.0, "cp -r"), MEMORY_TARGET],
        [*notes, "every run starts from an empty destination folder; zoo-vcs pushes from "
                 "its cache to `remote add store DIR --default`"])


def c3_scenario(data: ManyData, t: Tracked, other_fs: Path, dvc: str | None,
                notes: list[str]) -> Scenario:
    """Pull from folders on ``other_fs``, filled (untimed) here. Runs after C2: it deletes
    the dvc and git-lfs caches of ``t`` (zoo-vcs pulls into a cache of its own)."""
    src = fresh_dir(other_fs / "c3")
    out = fresh_dir(WORK / "c3")
    count = len(data.names)
    log(f"filling the C3 sources in {src}")
    shutil.copytree(data.folder, src / "cp" / "data")
    peers = [Peer("cp -r", ["cp", "-r", str(src / "cp" / "data"), str(out / "cp" / "data")],
                  WORK, prepare=empty_dir_synced(out / "cp"),
                  check=lambda _: check_tree(out / "cp" / "data", data.expect(lambda n: n)))]

    zoo_remote = fresh_dir(src / "zoo")
    run([ZOO, "remote", "add", "store", str(zoo_remote), "--default", "--force"], t.zoo)
    run(["git", "checkout", "--", "data"], t.zoo)
    run([ZOO, "-q", "push"], t.zoo, {"ZOO_VCS_CACHE_DIR": str(t.zoo_cache)})
    pushed = {f"data/{n}.zoo": (t.zoo / "data" / f"{n}.zoo").read_bytes() for n in data.names}
    if not all(str(zoo_remote).encode() in text for text in pushed.values()):
        raise BenchError("zoo-vcs push did not add the remote's URL to every pointer")
    run(["git", "checkout", "--", "data"], t.zoo)
    cache = out / "zoo-cache"
    peers.append(zoo_pull_peer("zoo-vcs pull", data, t.zoo, cache))
    peers.append(zoo_pull_peer("zoo-vcs pull (pointer URLs)", data, t.zoo, cache, pushed))

    if t.dvc is not None and dvc is not None:
        dvc_remote = fresh_dir(src / "dvc")
        run([dvc, "remote", "add", "-d", "-f", "store", str(dvc_remote)], t.dvc, t.dvc_env)
        run([dvc, "push", "-q"], t.dvc, t.dvc_env)
        peers.append(dvc_pull_peer(data, dvc, t))

    if t.lfs is not None:
        lfs, bare = t.lfs, src / "lfs.git"
        run(["git", "init", "-q", "--bare", str(bare)], WORK)
        set_git_remote(lfs, bare)
        run(["git", "lfs", "push", "origin", t.lfs_branch], lfs)

        def prepare_lfs() -> None:
            for n in data.names:
                (lfs / "data" / n).unlink(missing_ok=True)
            rmtree(lfs / ".git" / "lfs")
            os.sync()

        peers.append(Peer("git lfs pull", ["git", "lfs", "pull"], lfs, prepare=prepare_lfs,
                          check=lambda _: check_tree(lfs / "data", data.expect(lambda n: n))))
    return Scenario(
        "c3", f"C3 pull {count} x 1 MiB from a folder on another file system ({other_fs}), "
        "files and cache deleted",
        "cp -r", "zoo-vcs pull", peers,
        [Target("≤ 3x cp -r (team, BENCHMARKS.md)", 3.0, "cp -r"), MEMORY_TARGET],
        [*notes, "zoo-vcs pull: committed pointers (no URL), objects found through the "
                 "default remote; (pointer URLs): pointers as push left them, naming each "
                 "object's path in the remote folder"])


@contextlib.contextmanager
def moto_server(python: str) -> Iterator[str]:
    """``python -m moto.server`` on a free loopback port, in its own process (it would
    share the GIL with this script otherwise); yields its endpoint URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with open(WORK / "moto.log", "w") as out:
        proc = subprocess.Popen([python, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                env=child_env({}))
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise BenchError(f"the moto server exited (see {WORK / 'moto.log'})")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise BenchError("the moto server did not start in 60 s") from None
                    time.sleep(0.2)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@dataclass
class S3:
    """The moto endpoint and the Python that runs bench/s3_peer.py against it."""

    python: str
    endpoint: str

    def argv(self, command: str, *args: str | Path) -> list[str]:
        return [self.python, str(S3_PEER), command, self.endpoint, BUCKET, *map(str, args)]

    def __call__(self, command: str, *args: str | Path) -> str:
        return run(self.argv(command, *args), WORK, S3_ENV)

    def verifier(self, prefix: str, expected: dict[str, list[Any]]) -> Callable[[str], None]:
        """A check that every key of ``expected`` ({key: [size, md5, sha1]}) is there."""
        path = WORK / "s3" / f"expect-{prefix}.json"
        path.write_text(json.dumps(expected))

        def check(_: str) -> None:
            self("verify", prefix, path)
        return check


def e2_scenario(data: ManyData, t: Tracked, s3: S3, dvc: str | None,
                notes: list[str]) -> Scenario:
    count = len(data.names)

    def expected(key: Callable[[str], str]) -> dict[str, list[Any]]:
        return {key(n): [MIB, data.md5[n], data.sha1[n]] for n in data.names}

    def prepare(prefix: str, then: Callable[[], None] | None = None) -> Callable[[], None]:
        def fn() -> None:
            s3("clear", prefix)
            if then is not None:
                then()
            os.sync()
        return fn

    def clear(prefix: str) -> Callable[[], None]:
        def fn() -> None:  # frees moto's memory between runs
            s3("clear", prefix)
        return fn

    def restore_pointers() -> None:  # as committed: without the remote URL push adds
        run(["git", "checkout", "--", "data"], t.zoo)

    base_name = "botocore PUT, 8 threads"
    peers = [Peer(base_name, s3.argv("put", "base", data.folder), WORK, env=S3_ENV,
                  prepare=prepare("base"),
                  check=s3.verifier("base", expected(lambda n: f"base/{n}")),
                  after=clear("base"))]

    run([ZOO, "remote", "add", "store", f"s3://{BUCKET}/zoo", "-o",
         f"endpoint_url={s3.endpoint}", "--default", "--force"], t.zoo)
    verify_zoo = s3.verifier("zoo", expected(lambda n: f"zoo/{data.zoo_object(n)}"))

    def check_zoo(stdout: str) -> None:
        expect_in_stdout(f"{count} uploaded, 0 already there")(stdout)
        verify_zoo(stdout)

    peers.append(Peer(
        "zoo-vcs push", [ZOO, "push"], t.zoo,
        env={**S3_ENV, "ZOO_VCS_CACHE_DIR": str(t.zoo_cache)},
        prepare=prepare("zoo", restore_pointers), check=check_zoo, after=clear("zoo")))
    warm_dirs = [data.folder, t.zoo_cache]

    if t.dvc is not None and dvc is not None:
        run([dvc, "remote", "add", "-d", "-f", "store", f"s3://{BUCKET}/dvc"], t.dvc, t.dvc_env)
        run([dvc, "remote", "modify", "store", "endpointurl", s3.endpoint], t.dvc, t.dvc_env)
        peers.append(Peer(
            "dvc push (dir)", [dvc, "push"], t.dvc, env={**t.dvc_env, **S3_ENV},
            prepare=prepare("dvc"),
            check=s3.verifier("dvc", expected(lambda n: f"dvc/files/md5/{data.dvc_object(n)}")),
            after=clear("dvc")))
        warm_dirs.append(t.dvc / ".dvc" / "cache")
    warm_tree(*warm_dirs)
    return Scenario(
        "e2", f"E2 push {count} x 1 MiB to S3 (moto server on loopback)",
        base_name, "zoo-vcs push", peers, s3_targets(base_name, "dvc push (dir)"),
        [*notes, "every run starts from an empty bucket prefix; the moto server is one "
                 "process, on the same 2 cores"])


def e1_scenario(data: ManyData, t: Tracked, s3: S3, dvc: str | None,
                notes: list[str]) -> Scenario:
    count = len(data.names)
    out = fresh_dir(WORK / "s3" / "get")
    for prefix in ("base", "zoo", "dvc"):
        s3("clear", prefix)
    log("pushing the objects to the moto server for E1")
    run([ZOO, "remote", "add", "store", f"s3://{BUCKET}/zoo", "-o",
         f"endpoint_url={s3.endpoint}", "--default", "--force"], t.zoo)
    run(["git", "checkout", "--", "data"], t.zoo)
    run([ZOO, "-q", "push"], t.zoo, {**S3_ENV, "ZOO_VCS_CACHE_DIR": str(t.zoo_cache)})
    run(["git", "checkout", "--", "data"], t.zoo)  # pull through the remote, not pointer URLs
    keylist = WORK / "s3" / "keys.txt"
    keylist.write_text("".join(f"zoo/{data.zoo_object(n)}\t{n}\n" for n in data.names))
    base_name = "botocore GET, 8 threads"
    peers = [Peer(base_name, s3.argv("get", keylist, out / "data"), WORK, env=S3_ENV,
                  prepare=empty_dir_synced(out / "data"),
                  check=lambda _: check_tree(out / "data", data.expect(lambda n: n)))]
    zoo_peer = zoo_pull_peer("zoo-vcs pull", data, t.zoo, WORK / "s3" / "zoo-pull-cache")
    zoo_peer.env.update(S3_ENV)
    peers.append(zoo_peer)
    if t.dvc is not None and dvc is not None:
        run([dvc, "remote", "add", "-d", "-f", "store", f"s3://{BUCKET}/dvc"], t.dvc, t.dvc_env)
        run([dvc, "remote", "modify", "store", "endpointurl", s3.endpoint], t.dvc, t.dvc_env)
        run([dvc, "push", "-q"], t.dvc, {**t.dvc_env, **S3_ENV})
        dvc_peer = dvc_pull_peer(data, dvc, t)
        dvc_peer.env.update(S3_ENV)
        peers.append(dvc_peer)
    return Scenario(
        "e1", f"E1 pull {count} x 1 MiB from S3 (moto server on loopback), files and cache "
        "deleted", base_name, "zoo-vcs pull", peers, s3_targets(base_name, "dvc pull (dir)"),
        [*notes, "zoo-vcs pull: committed pointers (no URL), objects found through the "
                 "default remote s3://bench/zoo (endpoint_url option)"])


def s3_targets(base_name: str, dvc_name: str) -> list[Target]:
    return [
        Target(f"≤ 0.5x {dvc_name} (issue)", 0.5, dvc_name),
        Target(f"≤ 1.15x {base_name.split(',')[0]} (floor, BENCHMARKS.md)", 1.15, base_name),
        Target("either (the floor where 0.5x dvc is below it)", 1.15, base_name,
               alternative=(0.5, dvc_name)),
        MEMORY_TARGET]



# --------------------------------------------------------------------------- report


def summarize(s: Scenario) -> dict[str, Any]:
    by_name = {p.name: p for p in s.peers}
    base = by_name[s.baseline].median
    subject = by_name[s.subject]
    rows = [{
        "peer": p.name,
        "baseline": p.name == s.baseline,
        "command": shlex.join(p.argv),
        "median_s": p.median,
        "ratio": p.median / base if p.median is not None and base else None,
        "peak_rss_mib": max(p.rss_mib) if p.rss_mib and not p.error else None,
        "times_s": p.times,
        "rss_mib": p.rss_mib,
        "error": p.error,
    } for p in s.peers]
    def ratio(versus: str) -> float | None:
        other = by_name[versus].median if versus in by_name else None
        return subject.median / other if subject.median is not None and other else None

    targets = []
    for t in s.targets:
        alt_value = None
        if t.versus is None:
            value = max(subject.rss_mib) if subject.rss_mib and not subject.error else None
        else:
            value = ratio(t.versus)
        passed = None if value is None else value <= t.limit
        if t.alternative is not None:  # met when either ratio is within its limit
            alt_value = ratio(t.alternative[1])
            if alt_value is not None:
                passed = bool(passed) or alt_value <= t.alternative[0]
        targets.append({"target": t.label, "limit": t.limit, "versus": t.versus,
                        "unit": "MiB" if t.versus is None else "ratio", "value": value,
                        "alternative": t.alternative, "alternative_value": alt_value,
                        "pass": passed})
    return {"key": s.key, "title": s.title, "baseline": s.baseline, "subject": s.subject,
            "peers": rows, "targets": targets, "notes": s.notes,
            "rss_floor_mib": s.rss_floor_mib}


def skipped(key: str, title: str, reason: str) -> dict[str, Any]:
    """The summary of a scenario that could not run at all."""
    log(f"# {title}: skipped: {reason}")
    return {"key": key, "title": title, "skipped": reason, "peers": [], "targets": [],
            "notes": []}


def print_table(summary: dict[str, Any]) -> None:
    print(f"\n## {summary['title']}")
    if summary.get("skipped"):
        print(f"  skipped: {summary['skipped']}")
        return
    print(f"{'peer':<28} {'median s':>9} {'x base':>7} {'peak RSS MiB':>13}")
    for row in summary["peers"]:
        name = row["peer"] + (" *" if row["baseline"] else "")
        if row["error"]:
            print(f"{name:<28} FAILED: {row['error'][:200]}")
            continue
        print(f"{name:<28} {row['median_s']:>9.3f} {row['ratio']:>7.2f} "
              f"{row['peak_rss_mib']:>13.1f}")
    print(f"targets for {summary['subject']}:")
    for t in summary["targets"]:
        if t["pass"] is None:
            value, verdict = "n/a", "n/a"
        elif t["value"] is None:
            value, verdict = "-", "PASS" if t["pass"] else "FAIL"
        else:
            value = f"{t['value']:.1f} MiB" if t["unit"] == "MiB" else f"{t['value']:.2f}x"
            verdict = "PASS" if t["pass"] else "FAIL"
        print(f"  {t['target']:<50} {value:>10}  {verdict}")
    for note in summary["notes"]:
        print(f"  note: {note}")
    print(f"  note: peak RSS floor {summary['rss_floor_mib']:.1f} MiB (`true`); "
          "rows at the floor used less (README)")


def version(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, env=child_env(DVC_ENV),
                             check=False)
    except OSError:
        return "not available"
    return (out.stdout or out.stderr).strip().splitlines()[0] if out.returncode == 0 else "?"


# --------------------------------------------------------------------------- main


def scenario_list(text: str) -> list[str]:
    names = [name for name in text.split(",") if name]
    if bad := [name for name in names if name not in SCENARIOS]:
        raise argparse.ArgumentTypeError(f"unknown scenario {bad[0]!r} (choose from "
                                         f"{', '.join(SCENARIOS)})")
    return names


def other_file_system() -> tuple[Path, str | None]:
    """A fresh folder on a file system other than WORK's (tmpfs /dev/shm), and a note
    when there is none (then the folder is under WORK)."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        path = fresh_dir(shm / f"zoo-vcs-bench-{os.getpid()}")
        if path.stat().st_dev != WORK.stat().st_dev:
            return path, None
        rmtree(path)
    return fresh_dir(WORK / "other-fs"), "no /dev/shm on another file system: destination " \
        "under bench/.work, on the same file system"


def run_scenario(scenario: Scenario, runs: int, warmup: bool = False) -> dict[str, Any]:
    log(f"# {scenario.title}")
    run_peers(scenario, runs, warmup=warmup)
    return summarize(scenario)


def build_and_run(key: str, title: str, build: Callable[[], Scenario],
                  runs: int) -> dict[str, Any]:
    """Set a scenario up and run it; a failed setup (e.g. an untimed zoo-vcs push the
    scenario needs) is reported as a skipped scenario, and the run goes on."""
    try:
        scenario = build()
    except (BenchError, OSError) as exc:
        return skipped(key, title, f"setup failed: {exc}")
    return run_scenario(scenario, runs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="big file size (add, checkout)")
    parser.add_argument("--files", type=int, default=10000, help="tracked files (status)")
    parser.add_argument("--many", type=int, default=1000,
                        help="files of 1 MiB (c1, c2, c3, e1, e2)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per peer (median)")
    parser.add_argument("--skip-dvc", action="store_true", help="leave dvc out")
    parser.add_argument("--only", nargs="+", type=scenario_list, default=[SCENARIOS],
                        metavar="SCENARIO",
                        help=f"scenarios to run, space- or comma-separated: {' '.join(SCENARIOS)}")
    args = parser.parse_args(argv)
    only = {name for group in args.only for name in group}
    args.only = [name for name in SCENARIOS if name in only]
    if not Path(ZOO).is_file() and shutil.which(ZOO) is None:
        parser.error("zoo-vcs is not on PATH (pip install -e . first)")
    if args.many < 1 or args.runs < 1:
        parser.error("--many and --runs must be at least 1")
    WORK.mkdir(parents=True, exist_ok=True)
    AWS_EMPTY.write_text("")
    commit = version(["git", "-C", str(ROOT), "describe", "--always", "--dirty"])
    # .pyc files for zoo_vcs, as an install has them (children run without
    # PYTHONDONTWRITEBYTECODE and would otherwise write them during the first timed run).
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(ROOT / "zoo_vcs")],
                   capture_output=True, env=child_env({}), check=False)

    many = {"c1", "c2", "c3", "e1", "e2"} & only
    c_family, e_family = {"c1", "c2", "c3"} & only, {"e1", "e2"} & only
    pooch_bin = ensure_venv("pooch", "pooch") if "checkout" in only else None
    dvc_bin, no_dvc = None, "dvc: skipped (--skip-dvc)"
    if ("status" in only or many) and not args.skip_dvc:
        dvc_bin, no_dvc = ensure_venv("dvc", "dvc"), "dvc: not available"
        if dvc_bin is None:
            log(no_dvc)
    dvc = str(dvc_bin / "dvc") if dvc_bin else None
    lfs = ensure_git_lfs() if c_family else False
    if c_family and not lfs:
        log("git-lfs: not available")
    moto_python = ensure_moto() if e_family else None
    dvc_s3, no_dvc_s3 = dvc, no_dvc
    if e_family and dvc_bin is not None and not ensure_in_venv(
            dvc_bin, "dvc_s3", "dvc-s3", "dvc-s3-install.log"):
        dvc_s3, no_dvc_s3 = None, "dvc-s3: not available"
        log(no_dvc_s3)

    summaries: list[dict[str, Any]] = []
    if {"add", "checkout"} & only:
        big, sha1 = big_file(args.size_mib * MIB)
        warm(big)
        if "add" in only:
            summaries.append(run_scenario(add_scenario(big, sha1), args.runs))
        if "checkout" in only:
            root = fresh_dir(WORK / "checkout" / "http")
            link_into(big, root / "big.bin")
            with http_server(root) as url:
                scenario = checkout_scenario(big, sha1, url, pooch_bin)
                warm(big)
                summaries.append(run_scenario(scenario, args.runs))
    if "status" in only:
        scenario = status_scenario(args.files, dvc_bin, no_dvc)
        summaries.append(run_scenario(scenario, args.runs, warmup=True))

    data = many_data(args.many) if many else None
    n = args.many
    titles = {"c1": f"C1 add {n} x 1 MiB", "c2": f"C2 push {n} x 1 MiB to a folder",
              "c3": f"C3 pull {n} x 1 MiB from a folder", "e1": f"E1 pull {n} x 1 MiB from S3",
              "e2": f"E2 push {n} x 1 MiB to S3"}
    missing = [] if dvc else [no_dvc]
    if data is not None and c_family:
        if not lfs:
            missing.append("git-lfs: not available")
        if "c1" in only:
            summaries.append(build_and_run(
                "c1", titles["c1"], lambda: c1_scenario(data, dvc, lfs, list(missing)),
                args.runs))
            rmtree(WORK / "c1")  # 3 GiB, rebuilt on every run
        if {"c2", "c3"} & only:
            other_fs, note = other_file_system()
            try:
                tracked = tracked_repos(WORK / "folder", data, dvc, lfs)
                notes = [*missing, *tracked.notes, *([note] if note else [])]
                for key, build in (("c2", c2_scenario), ("c3", c3_scenario)):
                    if key in only:  # C3 after C2: it deletes the dvc and git-lfs caches
                        summaries.append(build_and_run(
                            key, titles[key],
                            functools.partial(build, data, tracked, other_fs, dvc, list(notes)),
                            args.runs))
            except BenchError as exc:  # the zoo-vcs repository could not be set up
                summaries += [skipped(k, titles[k], f"setup failed: {exc}")
                              for k in sorted({"c2", "c3"} & only)]
            finally:
                rmtree(other_fs)
                for name in ("folder", "c3"):  # ~8 GiB, rebuilt on every run
                    rmtree(WORK / name)
    if data is not None and e_family:
        if moto_python is None:
            summaries += [skipped(k, titles[k], "moto server: not available")
                          for k in sorted(e_family)]
        else:
            done: set[str] = set()
            try:
                tracked = tracked_repos(WORK / "s3", data, dvc_s3, False)
                notes = [*([] if dvc_s3 else [no_dvc_s3]), *tracked.notes]
                with moto_server(moto_python) as endpoint:
                    s3 = S3(moto_python, endpoint)
                    s3("mkbucket")
                    # E2 first: E1's set-up then fills the bucket for its pulls
                    for key, build_s3 in (("e2", e2_scenario), ("e1", e1_scenario)):
                        if key in only:
                            summaries.append(build_and_run(
                                key, titles[key],
                                functools.partial(build_s3, data, tracked, s3, dvc_s3,
                                                  list(notes)),
                                args.runs))
                            done.add(key)
            except BenchError as exc:
                summaries += [skipped(k, titles[k], f"setup failed: {exc}")
                              for k in sorted(e_family - done)]
            finally:
                rmtree(WORK / "s3")  # ~6 GiB, rebuilt on every run
    summaries.sort(key=lambda s: SCENARIOS.index(s["key"]))

    print(f"zoo-vcs benchmark ({commit}, {os.cpu_count()} CPUs): median of {args.runs} runs, "
          "peers interleaved run by run;\nx base = ratio to the baseline (*); "
          "peak RSS = max over runs")
    for summary in summaries:
        print_table(summary)

    def module_version(python: str | Path | None, dist: str) -> str:
        if python is None:
            return "not available"
        return version([str(python), "-c",
                        f"import importlib.metadata as m; print(m.version({dist!r}))"])

    report: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "args": vars(args),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "python": platform.python_version()},
        "versions": {
            "zoo-vcs": version([ZOO, "--version"]),
            "zoo-vcs commit": commit,
            "git": version(["git", "--version"]),
            "git-lfs": version(["git", "lfs", "version"]) if lfs else "not available",
            "sha1sum": version(["sha1sum", "--version"]),
            "openssl": version(["openssl", "version"]),
            "curl": version(["curl", "--version"]),
            "pooch": module_version(pooch_bin and pooch_bin / "python", "pooch"),
            "dvc": version([dvc, "--version"]) if dvc else "not available",
            "dvc-s3": module_version(dvc_bin / "python", "dvc-s3")
            if dvc_bin and dvc_s3 else "not available",
            "moto": module_version(moto_python, "moto"),
            "boto3": module_version(moto_python, "boto3"),
            "s3fs (zoo-vcs)": module_version(PYTHON, "s3fs"),
        },
        "scenarios": summaries,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    shown = ["zoo-vcs", "dvc", "dvc-s3", "git-lfs", "moto", "boto3", "s3fs (zoo-vcs)", "pooch"]
    print("\nversions: " + "; ".join(f"{k}: {report['versions'][k]}" for k in shown))
    print(f"results written to {RESULTS.relative_to(ROOT)}")
    failed = [f"{s['key']}: {row['peer']}" for s in summaries for row in s["peers"]
              if row["error"]]
    failed += [f"{s['key']}: skipped" for s in summaries if s.get("skipped")]
    if failed:
        print(f"runs failed (see above): {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
