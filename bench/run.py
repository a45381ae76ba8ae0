#!/usr/bin/env python3
"""Benchmark zoo-vcs against its peers on one machine, in one run (see bench/README.md).

Scenarios: ``add`` (hash + store a big file), ``checkout`` (download + verify it over
loopback HTTP, served by nginx), ``status`` (no-op status over many tracked files), and
over ``--many`` files of 1 MiB: ``c1`` (add), ``c2`` (push to a folder on tmpfs), ``c3``
(pull from it), ``e1`` (pull from S3, moto on loopback) and ``e2`` (push to S3); then
``status-remote`` (``--many`` objects on S3), ``get`` and ``ls`` (a repository of ``--many``
models served over HTTP), ``gc`` (``--many`` commits) and ``migrate`` (weights committed
into git, ``--migrate-mib``), each beside dvc or git-lfs doing the same. Every
peer runs ``--runs`` times, interleaved run by run; each run is one child process whose
wall time (``time.perf_counter``) and peak RSS (``os.wait4``) are recorded, and whose
result is checked (a run that produced a wrong result is an error, not a figure).

This file is the entry point only: the command line, the tools, the run, the report.
harness.py times the children, scenarios/ defines the scenarios (registry.py),
peers.py their commands, servers.py the loopback servers, data.py the data sets and
checks, tools.py finds or installs the peers, report.py prints and writes the results.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import scenarios  # noqa: F401  (importing it registers every scenario)
from harness import BENCH, PYTHON, ROOT, WORK, child_env, log
from peers import AWS_EMPTY
from registry import REGISTRY, Context, needs_of, run_selected, selected
from report import print_header, print_table, write_results
from tools import ZOO, find_tools, version

SCENARIOS = list(REGISTRY)
RESULTS = BENCH / "results" / "latest.json"
QUICK_RESULTS = WORK / "results-quick.json"
# Sizes of a full run, and of a --quick smoke run (every scenario, tiny data, one run).
FULL = {"size_mib": 1024, "files": 10000, "many": 1000, "migrate_mib": 64, "runs": 3}
QUICK = {"size_mib": 16, "files": 200, "many": 20, "migrate_mib": 4, "runs": 1}


def scenario_list(text: str) -> list[str]:
    names = [name for name in text.split(",") if name]
    if bad := [name for name in names if name not in SCENARIOS]:
        raise argparse.ArgumentTypeError(f"unknown scenario {bad[0]!r} (choose from "
                                         f"{', '.join(SCENARIOS)})")
    return names


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    assert __doc__ is not None
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int,
                        help=f"big file size (add, checkout; default {FULL['size_mib']})")
    parser.add_argument("--files", type=int,
                        help=f"tracked files (status; default {FULL['files']})")
    parser.add_argument("--many", type=int,
                        help="files of 1 MiB (c1, c2, c3, e1, e2), objects (status-remote), "
                        "models and commits (get, ls, gc) "f"(default {FULL['many']})")
    parser.add_argument("--migrate-mib", type=int,
                        help=f"weights size (migrate; default {FULL['migrate_mib']})")
    parser.add_argument("--runs", type=int,
                        help=f"timed runs per peer (median; default {FULL['runs']})")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: defaults " + " ".join(
                            f"--{k.replace('_', '-')} {v}" for k, v in QUICK.items())
                        + f", results to {QUICK_RESULTS.relative_to(ROOT)}")
    parser.add_argument("--skip-dvc", action="store_true", help="leave dvc out")
    parser.add_argument("--http-server", choices=["nginx", "python"], default="nginx",
                        help="server of the checkout scenario (default nginx; python: "
                        "tests/servers/http.py, also the fallback when nginx is missing)")
    parser.add_argument("--results", type=Path,
                        help=f"results JSON (default {RESULTS.relative_to(ROOT)})")
    parser.add_argument("--only", nargs="+", type=scenario_list, default=[SCENARIOS],
                        metavar="SCENARIO",
                        help=f"scenarios to run, space- or comma-separated: {' '.join(SCENARIOS)}")
    args = parser.parse_args(argv)
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.results is None:
        args.results = QUICK_RESULTS if args.quick else RESULTS
    args.only = selected(name for group in args.only for name in group)
    if not Path(ZOO).is_file() and shutil.which(ZOO) is None:
        parser.error("zoo-vcs is not on PATH (pip install -e . first)")
    if min(args.size_mib, args.files, args.many, args.migrate_mib, args.runs) < 1:
        parser.error("--size-mib, --files, --many, --migrate-mib and --runs must be at least 1")
    return args


def zoo_vcs_code() -> str:
    """The folder of the zoo_vcs package that ``zoo-vcs`` runs; warns when it is not
    this checkout's (e.g. an editable install of another worktree)."""
    python = PYTHON
    with contextlib.suppress(OSError, UnicodeDecodeError, IndexError), open(ZOO, "rb") as f:
        first = f.readline()  # the console script's interpreter, if it is a Python
        shebang = first[2:].decode().split()[0] if first.startswith(b"#!") else ""
        if "python" in shebang.rsplit("/", 1)[-1]:
            python = shebang
    where = subprocess.run(
        [python, "-c", "import os, zoo_vcs; print(os.path.dirname(zoo_vcs.__file__))"],
        cwd=WORK, capture_output=True, text=True, env=child_env({}), check=False)
    code = where.stdout.strip() or "?"
    if code != str(ROOT / "zoo_vcs"):
        log(f"WARNING: {ZOO} runs the zoo_vcs package in {code}, not this checkout's "
            f"({ROOT / 'zoo_vcs'})")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    AWS_EMPTY.write_text("")
    commit = version(["git", "-C", str(ROOT), "describe", "--always", "--dirty"])
    # .pyc files for zoo_vcs, as an install has them (children run without
    # PYTHONDONTWRITEBYTECODE and would otherwise write them during the first timed run).
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(ROOT / "zoo_vcs")],
                   capture_output=True, env=child_env({}), check=False)
    tools = find_tools(needs_of(args.only), args.skip_dvc, args.http_server == "nginx")
    ctx = Context(args, tools)
    ctx.info["zoo_vcs_code"] = zoo_vcs_code()

    summaries = run_selected(args.only, ctx, args.runs)

    print_header(commit, args.runs)
    for summary in summaries:
        print_table(summary)
    return write_results(args.results, {**vars(args), "results": str(args.results)}, tools,
                         commit, ctx.info, summaries)


if __name__ == "__main__":
    sys.exit(main())
