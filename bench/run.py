#!/usr/bin/env python3
"""Benchmark zoo-vcs against its peers on one machine, in one run (see bench/README.md).

Scenarios: ``add`` (hash + store a big file), ``checkout`` (download + verify it over
loopback HTTP) and ``status`` (no-op status over many tracked files). Every peer runs
``--runs`` times, interleaved run by run; each run is one child process whose wall time
(``time.perf_counter``) and peak RSS (``os.wait4``) are recorded, and whose result is
checked (a run that produced a wrong result is an error, not a figure).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import json
import os
import platform
import shlex
import shutil
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
PYTHON = sys.executable
MIB = 1 << 20
CHUNK = MIB  # small reads keep this process's RSS high-water mark (the RSS floor) low
GIT_ID = ["-c", "user.name=zoo-vcs bench", "-c", "user.email=bench@127.0.0.1",
          "-c", "commit.gpgsign=false"]
# dvc must not phone home: analytics off, update check pointed at a closed loopback port.
DVC_ENV = {"DVC_NO_ANALYTICS": "1", "DVC_UPDATER_ENDPOINT": "http://127.0.0.1:9/",
           "DVC_SITE_CACHE_DIR": str(WORK / "dvc-site-cache")}

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
    """The environment of a timed child: ours without ZOO_VCS_* settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOO_VCS_")}
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


def ensure_venv(name: str, package: str) -> Path | None:
    """bin/ of WORK/<name>-venv with ``package`` installed (installing it if needed),
    or None when it cannot be installed."""
    venv = WORK / f"{name}-venv"
    python = venv / "bin" / "python"
    probe = [str(python), "-c", f"import {package}"]
    if python.exists() and subprocess.run(probe, capture_output=True, check=False).returncode == 0:
        return venv / "bin"
    log(f"installing {package} into {venv} (log: {WORK / f'{name}-install.log'})")
    with open(WORK / f"{name}-install.log", "w") as out:
        for argv in ([PYTHON, "-m", "venv", "--clear", str(venv)],
                     [str(python), "-m", "pip", "install", package], probe):
            if subprocess.run(argv, stdout=out, stderr=out, check=False).returncode != 0:
                return None
    return venv / "bin"


@contextlib.contextmanager
def http_server(root: Path) -> Iterator[str]:
    """The loopback file server of tests/servers/http.py serving ``root``; yields its URL."""
    proc = subprocess.Popen([PYTHON, str(HTTP_SERVER), "--root", str(root)],
                            stdout=subprocess.PIPE, text=True)
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
        Peer("zoo-vcs add", ["zoo-vcs", "add", "big.bin"], repo,
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
        Peer("zoo-vcs checkout", ["zoo-vcs", "checkout"], repo,
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
        run(["zoo-vcs", "-q", "add", *names[i:i + 2000]], repo)
    run(["git", "add", "-A"], repo)
    run(["git", *GIT_ID, "commit", "-q", "-m", "track data with zoo-vcs"], repo)
    peers = [
        Peer("git status", ["git", "status"], repo,
             check=expect_in_stdout("nothing to commit, working tree clean")),
        Peer("zoo-vcs status", ["zoo-vcs", "status"], repo,
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
    targets = []
    for t in s.targets:
        if t.versus is None:
            value = max(subject.rss_mib) if subject.rss_mib and not subject.error else None
        else:
            other = by_name[t.versus].median if t.versus in by_name else None
            value = subject.median / other if subject.median is not None and other else None
        targets.append({"target": t.label, "limit": t.limit,
                        "unit": "MiB" if t.versus is None else "ratio", "value": value,
                        "pass": None if value is None else value <= t.limit})
    return {"key": s.key, "title": s.title, "baseline": s.baseline, "subject": s.subject,
            "peers": rows, "targets": targets, "notes": s.notes,
            "rss_floor_mib": s.rss_floor_mib}


def print_table(summary: dict[str, Any]) -> None:
    print(f"\n## {summary['title']}")
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
        if t["value"] is None:
            value, verdict = "n/a", "n/a"
        else:
            value = f"{t['value']:.1f} MiB" if t["unit"] == "MiB" else f"{t['value']:.2f}x"
            verdict = "PASS" if t["pass"] else "FAIL"
        print(f"  {t['target']:<46} {value:>10}  {verdict}")
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="big file size (add, checkout)")
    parser.add_argument("--files", type=int, default=10000, help="tracked files (status)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per peer (median)")
    parser.add_argument("--skip-dvc", action="store_true", help="leave dvc out of status")
    parser.add_argument("--only", nargs="+", choices=["add", "checkout", "status"],
                        default=["add", "checkout", "status"], help="scenarios to run")
    args = parser.parse_args(argv)
    if shutil.which("zoo-vcs") is None:
        parser.error("zoo-vcs is not on PATH (pip install -e . first)")
    WORK.mkdir(parents=True, exist_ok=True)
    commit = version(["git", "-C", str(ROOT), "describe", "--always", "--dirty"])

    pooch_bin = ensure_venv("pooch", "pooch") if "checkout" in args.only else None
    dvc_bin, no_dvc = None, "dvc: skipped (--skip-dvc)"
    if "status" in args.only and not args.skip_dvc:
        dvc_bin, no_dvc = ensure_venv("dvc", "dvc"), "dvc: not available"
        if dvc_bin is None:
            log(no_dvc)
    summaries = []
    if {"add", "checkout"} & set(args.only):
        big, sha1 = big_file(args.size_mib * MIB)
        warm(big)
        if "add" in args.only:
            scenario = add_scenario(big, sha1)
            log(f"# {scenario.title}")
            run_peers(scenario, args.runs, warmup=False)
            summaries.append(summarize(scenario))
        if "checkout" in args.only:
            root = fresh_dir(WORK / "checkout" / "http")
            link_into(big, root / "big.bin")
            with http_server(root) as url:
                scenario = checkout_scenario(big, sha1, url, pooch_bin)
                log(f"# {scenario.title}")
                warm(big)
                run_peers(scenario, args.runs, warmup=False)
            summaries.append(summarize(scenario))
    if "status" in args.only:
        scenario = status_scenario(args.files, dvc_bin, no_dvc)
        log(f"# {scenario.title}")
        run_peers(scenario, args.runs, warmup=True)
        summaries.append(summarize(scenario))

    print(f"zoo-vcs benchmark ({commit}, {os.cpu_count()} CPUs): median of {args.runs} runs, "
          "peers interleaved run by run;\nx base = ratio to the baseline (*); "
          "peak RSS = max over runs")
    for summary in summaries:
        print_table(summary)
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "args": vars(args),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "python": platform.python_version()},
        "versions": {
            "zoo-vcs": version(["zoo-vcs", "--version"]),
            "zoo-vcs commit": commit,
            "git": version(["git", "--version"]),
            "sha1sum": version(["sha1sum", "--version"]),
            "openssl": version(["openssl", "version"]),
            "curl": version(["curl", "--version"]),
            "pooch": version([str(pooch_bin / "python"), "-c",
                              "import pooch; print(pooch.__version__)"])
            if pooch_bin else "not available",
            "dvc": version([str(dvc_bin / "dvc"), "--version"]) if dvc_bin else "not available",
        },
        "scenarios": summaries,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nresults written to {RESULTS.relative_to(ROOT)}")
    failed = [row["peer"] for s in summaries for row in s["peers"] if row["error"]]
    if failed:
        print(f"runs failed (see above): {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
