"""``status``: a no-op status over ``--files`` tracked files of 1 KiB (README, scenario 3)."""

from __future__ import annotations

import peers as cmd
from data import expect_in_stdout
from harness import WORK, Peer, Scenario, Target, log
from registry import Context, scenario
from tools import DVC_ENV


@scenario("status", lambda a: f"no-op status over {a.files} tracked files", needs={"dvc"},
          warmup=True)
def status(ctx: Context) -> Scenario:
    count = ctx.args.files
    base = WORK / "status"
    log(f"creating {count} files tracked by zoo-vcs in {base / 'zoo'}")
    repo, _ = cmd.zoo_tracked_tree(base / "zoo", count, 1024)
    peers = [
        Peer("git status", ["git", "status"], repo,
             check=expect_in_stdout("nothing to commit, working tree clean")),
        Peer("zoo-vcs status", cmd.zoo("status"), repo,
             check=expect_in_stdout(f"{count} tracked binaries: {count} ok")),
    ]
    notes = []
    if (dvc := ctx.tools.dvc) is not None:
        log(f"creating {count} files tracked by dvc (one directory) in {base / 'dvc'}")
        dvc_repo = cmd.dvc_tracked_repo(base / "dvc", repo / "data", dvc, DVC_ENV)
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
