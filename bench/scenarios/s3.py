"""E scenarios, ``--many`` files of 1 MiB to and from S3, a moto server on loopback
(README, "E"): ``e1`` pull after deleting files and cache, ``e2`` push (runs first: E1's
set-up then fills the bucket for its pulls). Baselines: bench/s3_peer.py (botocore)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import peers as cmd
from data import (
    ManyData,
    check_tree,
    empty_dir_synced,
    expect_in_stdout,
    fresh_dir,
    rmtree,
    warm_tree,
)
from harness import MEMORY_TARGET, MIB, WORK, Peer, Scenario, Target, Unavailable, log, run
from peers import BUCKET, S3, S3_ENV
from registry import Context, resource, scenario
from servers import moto_server

from scenarios.tracked import Tracked, tracked_repos

E_NEEDS = {"dvc", "dvc-s3", "moto"}
E_USES = ("many", "moto", "s3_repos")


@resource("moto")
def moto(ctx: Context) -> Iterator[S3]:
    """The moto server (its own process) with an empty bucket ``bench``."""
    python = ctx.tools.moto_python
    if python is None:
        raise Unavailable("moto server: not available")
    with moto_server(python) as endpoint:
        s3 = S3(python, endpoint)
        s3("mkbucket")
        yield s3


@resource("s3_repos")
def s3_repos(ctx: Context) -> Iterator[Tracked]:
    """The data set committed with zoo-vcs and dvc under WORK/s3 (no git-lfs here)."""
    try:
        yield tracked_repos(WORK / "s3", ctx.get("many"), ctx.tools.dvc_s3, False)
    finally:
        rmtree(WORK / "s3")  # ~6 GiB, rebuilt on every run


def shared(ctx: Context) -> tuple[ManyData, Tracked, S3, list[str]]:
    s3 = ctx.get("moto")  # first: without moto, the scenario is skipped before any set-up
    data = ctx.get("many")
    t = ctx.get("s3_repos")
    return data, t, s3, [*ctx.tools.missing("dvc-s3"), *t.notes]


def s3_targets(base_name: str, dvc_name: str) -> list[Target]:
    return [
        Target(f"≤ 0.5x {dvc_name} (issue)", 0.5, dvc_name),
        Target(f"≤ 1.15x {base_name.split(',')[0]} (floor, BENCHMARKS.md)", 1.15, base_name),
        Target("either (the floor where 0.5x dvc is below it)", 1.15, base_name,
               alternative=(0.5, dvc_name)),
        MEMORY_TARGET]


def zoo_remote(repo: Path, s3: S3, prefix: str = "zoo") -> None:
    """The default remote ``store`` of zoo-vcs repository ``repo``: s3://bench/PREFIX."""
    run(cmd.zoo("remote", "add", "store", f"s3://{BUCKET}/{prefix}", "-o",
                f"endpoint_url={s3.endpoint}", "--default", "--force"), repo)


def dvc_remote(repo: Path, env: dict[str, str], s3: S3, dvc: str, prefix: str = "dvc") -> None:
    """The default remote ``store`` of dvc repository ``repo``: s3://bench/PREFIX."""
    run([dvc, "remote", "add", "-d", "-f", "store", f"s3://{BUCKET}/{prefix}"], repo, env)
    run([dvc, "remote", "modify", "store", "endpointurl", s3.endpoint], repo, env)


@scenario("e1", lambda a: f"E1 pull {a.many} x 1 MiB from S3", needs=E_NEEDS, uses=E_USES)
def e1(ctx: Context) -> Scenario:
    data, t, s3, notes = shared(ctx)
    dvc = ctx.tools.dvc_s3
    count = len(data.names)
    out = fresh_dir(WORK / "s3" / "get")
    for prefix in ("base", "zoo", "dvc"):
        s3("clear", prefix)
    log("pushing the objects to the moto server for E1")
    zoo_remote(t.zoo, s3)
    run(["git", "checkout", "--", "data"], t.zoo)
    run(cmd.zoo("-q", "push"), t.zoo, {**S3_ENV, "ZOO_VCS_CACHE_DIR": str(t.zoo_cache)})
    run(["git", "checkout", "--", "data"], t.zoo)  # pull through the remote, not pointer URLs
    keylist = WORK / "s3" / "keys.txt"
    keylist.write_text("".join(f"zoo/{data.zoo_object(n)}\t{n}\n" for n in data.names))
    base_name = "botocore GET, 8 threads"
    peers = [Peer(base_name, s3.argv("get", keylist, out / "data"), WORK, env=S3_ENV,
                  prepare=empty_dir_synced(out / "data"),
                  check=lambda _: check_tree(out / "data", data.expect(lambda n: n)))]
    zoo_peer = cmd.zoo_pull_peer("zoo-vcs pull", data, t.zoo, WORK / "s3" / "zoo-pull-cache")
    zoo_peer.env.update(S3_ENV)
    peers.append(zoo_peer)
    if t.dvc is not None and dvc is not None:
        dvc_remote(t.dvc, t.dvc_env, s3, dvc)
        run([dvc, "push", "-q"], t.dvc, {**t.dvc_env, **S3_ENV})
        dvc_peer = cmd.dvc_pull_peer(data, dvc, t.dvc, t.dvc_env)
        dvc_peer.env.update(S3_ENV)
        peers.append(dvc_peer)
    return Scenario(
        "e1", f"E1 pull {count} x 1 MiB from S3 (moto server on loopback), files and cache "
        "deleted", base_name, "zoo-vcs pull", peers, s3_targets(base_name, "dvc pull (dir)"),
        [*notes, "zoo-vcs pull: committed pointers (no URL), objects found through the "
                 "default remote s3://bench/zoo (endpoint_url option)"])


@scenario("e2", lambda a: f"E2 push {a.many} x 1 MiB to S3", needs=E_NEEDS, uses=E_USES,
          before="e1")
def e2(ctx: Context) -> Scenario:
    data, t, s3, notes = shared(ctx)
    dvc = ctx.tools.dvc_s3
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

    zoo_remote(t.zoo, s3)
    verify_zoo = s3.verifier("zoo", expected(lambda n: f"zoo/{data.zoo_object(n)}"))

    def check_zoo(stdout: str) -> None:
        expect_in_stdout(f"{count} uploaded, 0 already there")(stdout)
        verify_zoo(stdout)

    peers.append(Peer(
        "zoo-vcs push", cmd.zoo("push"), t.zoo,
        env={**S3_ENV, "ZOO_VCS_CACHE_DIR": str(t.zoo_cache)},
        prepare=prepare("zoo", restore_pointers), check=check_zoo, after=clear("zoo")))
    warm_dirs = [data.folder, t.zoo_cache]

    if t.dvc is not None and dvc is not None:
        dvc_remote(t.dvc, t.dvc_env, s3, dvc)
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
