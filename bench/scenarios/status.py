"""``status``: a no-op status over ``--files`` tracked files of 1 KiB (README, scenario 3)."""

from __future__ import annotations

import shutil

import peers as cmd
from data import expect_in_stdout, write_tree
from harness import WORK, Peer, Scenario, Target, log, run
from registry import Context, scenario
from tools import DVC_ENV


@scenario("status", lambda a: f"no-op status over {a.files} tracked files", needs={"dvc"},
          warmup=True)
def status(ctx: Context) -> Scenario:
    count = ctx.args.files
    base = WORK / "status"
    repo = cmd.git_repo(base / "zoo")
    log(f"creating {count} files tracked by zoo-vcs in {repo}")
    names = write_tree(repo, count, 1024)
    for i in range(0, len(names), 2000):
        run(cmd.zoo("-q", "add", *names[i:i + 2000]), repo)
    cmd.commit_all(repo, "track data with zoo-vcs")
    peers = [
        Peer("git status", ["git", "status"], repo,
             check=expect_in_stdout("nothing to commit, working tree clean")),
        Peer("zoo-vcs status", cmd.zoo("status"), repo,
             check=expect_in_stdout(f"{count} tracked binaries: {count} ok")),
    ]
    notes = []
    if (dvc := ctx.tools.dvc) is not None:
        dvc_repo = cmd.git_repo(base / "dvc")
        log(f"creating {count} files tracked by dvc (one directory) in {dvc_repo}")
        shutil.copytree(repo / "data", dvc_repo / "data",
                        ignore=shutil.ignore_patterns("*.zoo", ".gitignore"))
        cmd.dvc_init(dvc_repo, dvc, DVC_ENV)
        run([dvc, "add", "-q", "data"], dvc_repo, DVC_ENV)
        cmd.commit_all(dvc_repo, "track data with dvc")
        peers.append(Peer("dvc status (dir)", [dvc, "status"], dvc_repo, env=DVC_ENV,
                          check=expect_in_stdout("Data and pipelines are up to date")))
    else:
        notes.append(ctx.tools.no_dvc)
    return Scenario(
        "status", f"no-op status over {count} tracked files of 1 KiB (after one warm-up run)",
        "git status", "zoo-vcs status", peers,
        [Target("≤ 0.5x dvc status (issue)", 0.5, "dvc status (dir)"),
         Target("≤ 30x git status (team, BENCHMARKS.md)", 30.0, "git status")],
        notes)
