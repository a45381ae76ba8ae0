"""C scenarios, ``--many`` files of 1 MiB (README, "C"): ``c1`` add, ``c2`` push to a folder
on another file system (tmpfs), ``c3`` pull from it after deleting files and cache."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import peers as cmd
from data import (
    ManyData,
    check_tree,
    empty_dir_synced,
    expect_in_stdout,
    fresh_dir,
    other_file_system,
    rmtree,
    warm_tree,
)
from harness import MEMORY_TARGET, MIB, WORK, BenchError, Peer, Scenario, Target, log, run
from registry import Context, resource, scenario
from tools import DVC_ENV

from scenarios.tracked import Tracked, tracked_repos

C_NEEDS = {"dvc", "git-lfs"}


@resource("other_fs")
def other_fs(ctx: Context) -> Iterator[tuple[Path, str | None]]:
    """A folder on another file system (/dev/shm) and a note when there is none."""
    path, note = other_file_system()
    try:
        yield path, note
    finally:
        rmtree(path)


@resource("folder_repos")
def folder_repos(ctx: Context) -> Iterator[Tracked]:
    """The data set committed with each tool under WORK/folder (C2 and C3 push from it)."""
    try:
        yield tracked_repos(WORK / "folder", ctx.get("many"), ctx.tools.dvc, ctx.tools.lfs)
    finally:
        rmtree(WORK / "folder")  # ~3 GiB, rebuilt on every run


def shared(ctx: Context) -> tuple[ManyData, Tracked, Path, list[str]]:
    """What C2 and C3 start from: data, repositories, the other file system, notes."""
    data = ctx.get("many")
    other, note = ctx.get("other_fs")
    t = ctx.get("folder_repos")
    return data, t, other, [*ctx.tools.missing("dvc", "git-lfs"), *t.notes,
                            *([note] if note else [])]


@scenario("c1", lambda a: f"C1 add {a.many} x 1 MiB", needs=C_NEEDS, uses=("many",),
          scratch=("c1",))
def c1(ctx: Context) -> Scenario:
    data: ManyData = ctx.get("many")
    dvc, lfs, notes = ctx.tools.dvc, ctx.tools.lfs, ctx.tools.missing("dvc", "git-lfs")
    base = fresh_dir(WORK / "c1")
    count = len(data.names)
    names = [f"data/{n}" for n in data.names]

    def check_sha1sum(stdout: str) -> None:
        got = {line.split()[1]: line.split()[0] for line in stdout.splitlines() if line}
        if got != {n: data.sha1[n] for n in data.names}:
            raise BenchError("sha1sum did not print the right SHA1 of every file")

    peers = [Peer("sha1sum (every file)", cmd.sha1sum(*data.names), data.folder,
                  prepare=os.sync, check=check_sha1sum)]

    zoo, cache = cmd.git_repo(base / "zoo"), base / "zoo-cache"
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

    peers.append(Peer("zoo-vcs add", cmd.zoo("add", *names), zoo,
                      env={"ZOO_VCS_CACHE_DIR": str(cache)}, prepare=prepare_zoo,
                      check=check_zoo))
    warm_dirs = [data.folder, zoo / "data"]

    if dvc is not None:
        dvc_repo, site = cmd.git_repo(base / "dvc"), base / "dvc-site"
        env = {**DVC_ENV, "DVC_SITE_CACHE_DIR": str(site)}
        shutil.copytree(data.folder, dvc_repo / "data")
        try:
            cmd.dvc_init(dvc_repo, dvc, env)
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
        lfs_repo = cmd.git_repo(base / "lfs")
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

        peers.append(Peer("git lfs track + git add", cmd.git_lfs_track_add("data/*.bin", "data"),
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


@scenario("c2", lambda a: f"C2 push {a.many} x 1 MiB to a folder", needs=C_NEEDS,
          uses=("many", "other_fs", "folder_repos"))
def c2(ctx: Context) -> Scenario:
    data, t, other, notes = shared(ctx)
    dvc = ctx.tools.dvc
    dest = fresh_dir(other / "c2")
    count = len(data.names)
    cp_out = dest / "cp"
    peers = [Peer("cp -r", cmd.cp_r(data.folder, cp_out / "data"), WORK,
                  prepare=empty_dir_synced(cp_out),
                  check=lambda _: check_tree(cp_out / "data", data.expect(lambda n: n)),
                  after=lambda: rmtree(cp_out))]

    zoo_remote = dest / "zoo"
    run(cmd.zoo("remote", "add", "store", str(zoo_remote), "--default", "--force"), t.zoo)

    def prepare_zoo() -> None:
        run(["git", "checkout", "--", "data"], t.zoo)  # pointers without the remote URL
        empty_dir_synced(zoo_remote)()

    def check_zoo(stdout: str) -> None:
        expect_in_stdout(f"{count} uploaded, 0 already there")(stdout)
        check_tree(zoo_remote, data.expect(data.zoo_object), "remote objects")

    peers.append(Peer("zoo-vcs push", cmd.zoo("push"), t.zoo,
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
        cmd.set_git_remote(lfs, bare)

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
        "c2", f"C2 push {count} x 1 MiB to a folder on another file system ({other})",
        "cp -r", "zoo-vcs push", peers,
        [Target("≤ 2x cp -r (team, BENCHMARKS.md)", 2.0, "cp -r"), MEMORY_TARGET],
        [*notes, "every run starts from an empty destination folder; zoo-vcs pushes from "
                 "its cache to `remote add store DIR --default`"])


@scenario("c3", lambda a: f"C3 pull {a.many} x 1 MiB from a folder", needs=C_NEEDS,
          uses=("many", "other_fs", "folder_repos"), scratch=("c3",))
def c3(ctx: Context) -> Scenario:
    """Pull from folders on the other file system, filled (untimed) here. Runs after C2:
    it deletes the dvc and git-lfs caches of the repositories (zoo-vcs pulls into a cache
    of its own)."""
    data, t, other, notes = shared(ctx)
    dvc = ctx.tools.dvc
    src = fresh_dir(other / "c3")
    out = fresh_dir(WORK / "c3")
    log(f"filling the C3 sources in {src}")
    shutil.copytree(data.folder, src / "cp" / "data")
    peers = [Peer("cp -r", cmd.cp_r(src / "cp" / "data", out / "cp" / "data"),
                  WORK, prepare=empty_dir_synced(out / "cp"),
                  check=lambda _: check_tree(out / "cp" / "data", data.expect(lambda n: n)))]

    zoo_remote = fresh_dir(src / "zoo")
    run(cmd.zoo("remote", "add", "store", str(zoo_remote), "--default", "--force"), t.zoo)
    run(["git", "checkout", "--", "data"], t.zoo)
    run(cmd.zoo("-q", "push"), t.zoo, {"ZOO_VCS_CACHE_DIR": str(t.zoo_cache)})
    pushed = {f"data/{n}.zoo": (t.zoo / "data" / f"{n}.zoo").read_bytes() for n in data.names}
    if not all(str(zoo_remote).encode() in text for text in pushed.values()):
        raise BenchError("zoo-vcs push did not add the remote's URL to every pointer")
    run(["git", "checkout", "--", "data"], t.zoo)
    cache = out / "zoo-cache"
    peers.append(cmd.zoo_pull_peer("zoo-vcs pull", data, t.zoo, cache))
    peers.append(cmd.zoo_pull_peer("zoo-vcs pull (pointer URLs)", data, t.zoo, cache, pushed))

    if t.dvc is not None and dvc is not None:
        dvc_remote = fresh_dir(src / "dvc")
        run([dvc, "remote", "add", "-d", "-f", "store", str(dvc_remote)], t.dvc, t.dvc_env)
        run([dvc, "push", "-q"], t.dvc, t.dvc_env)
        peers.append(cmd.dvc_pull_peer(data, dvc, t.dvc, t.dvc_env))

    if t.lfs is not None:
        lfs, bare = t.lfs, src / "lfs.git"
        run(["git", "init", "-q", "--bare", str(bare)], WORK)
        cmd.set_git_remote(lfs, bare)
        run(["git", "lfs", "push", "origin", t.lfs_branch], lfs)

        def prepare_lfs() -> None:
            for n in data.names:
                (lfs / "data" / n).unlink(missing_ok=True)
            rmtree(lfs / ".git" / "lfs")
            os.sync()

        peers.append(Peer("git lfs pull", ["git", "lfs", "pull"], lfs, prepare=prepare_lfs,
                          check=lambda _: check_tree(lfs / "data", data.expect(lambda n: n))))
    return Scenario(
        "c3", f"C3 pull {len(data.names)} x 1 MiB from a folder on another file system "
        f"({other}), files and cache deleted",
        "cp -r", "zoo-vcs pull", peers,
        [Target("≤ 3x cp -r (team, BENCHMARKS.md)", 3.0, "cp -r"), MEMORY_TARGET],
        [*notes, "zoo-vcs pull: committed pointers (no URL), objects found through the "
                 "default remote; (pointer URLs): pointers as push left them, naming each "
                 "object's path in the remote folder"])
