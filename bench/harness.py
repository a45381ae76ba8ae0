"""The measuring core of the bench: what a scenario is, and how its peers are timed.

A :class:`Scenario` is a list of :class:`Peer` commands (one of them the baseline, one the
subject, i.e. zoo-vcs) and the :class:`Target` limits the subject is judged by.
:func:`run_peers` runs every peer ``--runs`` times, interleaved run by run (A1 B1 C1 A2 B2
...); each run is one child process (:func:`measure`) whose wall time
(``time.perf_counter``) and peak RSS (``os.wait4``) are recorded, and whose result is then
checked (a wrong result is an error, not a figure). Medians are taken in
:attr:`Peer.median`; tables and ratios are made by ``report.py``.
"""

from __future__ import annotations

import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORK = BENCH / ".work"
PYTHON = sys.executable
MIB = 1 << 20
CHUNK = MIB  # small reads keep this process's RSS high-water mark (the RSS floor) low


class BenchError(Exception):
    """A command failed or produced a wrong result."""


class Unavailable(BenchError):
    """A tool or server a scenario needs is missing: the scenario is skipped with this
    message as its reason (other set-up errors read "setup failed: ...")."""


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
    extra: dict[str, Any] = field(default_factory=dict)  # more keys for the results JSON


MEMORY_TARGET = Target("peak RSS ≤ 64 MiB (team, BENCHMARKS.md memory row)", 64.0)


# --------------------------------------------------------------------------- children


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment of every child: ours without ZOO_VCS_* settings, AWS_* settings and
    PYTHONDONTWRITEBYTECODE (with it, every Python start-up would compile the modules
    that have no .pyc: users' installs have them), plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ZOO_VCS_", "AWS_")) and k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, **extra}


def run(argv: Sequence[str | Path], cwd: Path, env: dict[str, str] | None = None,
        stdin: bytes | None = None) -> str:
    """Run an untimed setup command (``stdin``: its input); raise BenchError with its
    stderr when it fails."""
    proc = subprocess.run([str(a) for a in argv], cwd=cwd, env=child_env(env or {}),
                          input=stdin, capture_output=True, check=False)
    if proc.returncode != 0:
        raise BenchError(f"{shlex.join(map(str, argv))}: exit {proc.returncode}: "
                         f"{proc.stderr.decode(errors='replace').strip()[-500:]}")
    return proc.stdout.decode(errors="replace")


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
