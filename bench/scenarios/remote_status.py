"""``status --remote`` (README, "S"): are ``--many`` objects of 1 KiB all on the S3 remote
(moto on loopback)? ``zoo-vcs status --remote`` beside ``dvc status -c`` on the same files,
each pushed to a prefix of its own."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import peers as cmd
from data import expect_in_stdout, fresh_dir
from harness import MEMORY_TARGET, WORK, BenchError, Peer, Scenario, Target, child_env, log, run
from peers import S3_ENV
from registry import Context, scenario
from tools import DVC_ENV

from scenarios.s3 import dvc_remote, zoo_remote

ZOO_PREFIX, DVC_PREFIX = "status-zoo", "status-dvc"


def missing_control(repo: Path, s3: cmd.S3, sha1s: list[str]) -> None:
    """Untimed, once: with the objects of one 2-hex folder deleted from the remote,
    ``zoo-vcs status --remote`` must exit 1 and count exactly those as missing; then they
    are pushed again."""
    folder = sha1s[0][:2]
    gone = sum(s.startswith(folder) for s in sha1s)
    s3("clear", f"{ZOO_PREFIX}/sha1/{folder}")
    proc = subprocess.run(cmd.zoo("status", "--remote"), cwd=repo, env=child_env(S3_ENV),
                          capture_output=True, text=True, check=False)
    if proc.returncode != 1 or f"{len(sha1s) - gone} present, {gone} missing" not in proc.stdout:
        raise BenchError(f"zoo-vcs status --remote with {gone} objects deleted: exit "
                         f"{proc.returncode}, {proc.stdout.strip()[-300:]!r}")
    run(cmd.zoo("-q", "push"), repo, S3_ENV)
    run(["git", "checkout", "--", "data"], repo)  # the pointers as committed (no URL)


@scenario("status-remote", lambda a: f"status --remote over {a.many} objects in S3",
          needs={"dvc", "dvc-s3", "moto"}, uses=("moto",), scratch=("status-remote",),
          warmup=True)
def status_remote(ctx: Context) -> Scenario:
    s3 = ctx.get("moto")
    count = ctx.args.many
    base = fresh_dir(WORK / "status-remote")
    for prefix in (ZOO_PREFIX, DVC_PREFIX):
        s3("clear", prefix)
    log(f"creating {count} files of 1 KiB tracked by zoo-vcs, pushed to S3")
    repo, names = cmd.zoo_tracked_tree(base / "zoo", count, 1024)
    zoo_remote(repo, s3, ZOO_PREFIX)
    run(cmd.zoo("-q", "push"), repo, S3_ENV)
    run(["git", "checkout", "--", "data"], repo)
    blobs = [(repo / n).read_bytes() for n in names]  # 1 KiB each
    sha1s = [hashlib.sha1(b).hexdigest() for b in blobs]
    missing_control(repo, s3, sha1s)
    expect = base / "expect.json"  # {key: [size, md5, sha1]}, what s3_peer.py verify checks
    expect.write_text(json.dumps({f"{ZOO_PREFIX}/sha1/{s[:2]}/{s[2:]}": [
        len(b), hashlib.md5(b).hexdigest(), s] for s, b in zip(sha1s, blobs, strict=True)}))

    def check_list(stdout: str) -> None:
        expect_in_stdout(f"{count} objects ok")(stdout)

    peers = [Peer("botocore list + compare", s3.argv("verify", ZOO_PREFIX, expect),
                  WORK, env=S3_ENV, check=check_list),
             Peer("zoo-vcs status --remote", cmd.zoo("status", "--remote"), repo, env=S3_ENV,
                  check=expect_in_stdout(f"{count} tracked binaries: {count} ok; remote "
                                         f"'store': {count} present, 0 missing"))]
    notes = ctx.tools.missing("dvc-s3")
    if (dvc := ctx.tools.dvc_s3) is not None:
        log("the same files tracked by dvc (one directory), pushed to S3")
        env = {**DVC_ENV, **S3_ENV, "DVC_SITE_CACHE_DIR": str(base / "dvc-site")}
        dvc_repo = cmd.dvc_tracked_repo(base / "dvc", repo / "data", dvc, env)
        dvc_remote(dvc_repo, env, s3, dvc, DVC_PREFIX)
        run([dvc, "push", "-q"], dvc_repo, env)
        peers.append(Peer("dvc status -c", [dvc, "status", "-c"], dvc_repo, env=env,
                          check=expect_in_stdout("Cache and remote 'store' are in sync")))
    return Scenario(
        "status-remote", f"status --remote: are {count} objects of 1 KiB on the S3 remote "
        "(moto server on loopback)? (after one warm-up run)",
        peers[0].name, "zoo-vcs status --remote", peers,
        [Target("ahead of dvc status -c (≤ 1.0x)", 1.0, "dvc status -c"), MEMORY_TARGET],
        [*notes, "every object is there (checked before the runs: with one folder's objects "
                 "deleted, zoo-vcs status --remote exits 1 and counts exactly those missing); "
                 "zoo-vcs's pointers as committed, without URLs"])
