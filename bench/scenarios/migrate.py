"""``migrate`` (README, "M"): weights committed into git moved out of it, on copies of one
repository: ``zoo-vcs migrate --rewrite-history`` (and plain ``migrate``, HEAD only) beside
``git lfs migrate import --everything`` (+ the ``git lfs checkout`` it may need)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import peers as cmd
from data import check_tree, fresh_dir, random_file, rmtree
from harness import (
    MEMORY_TARGET,
    MIB,
    WORK,
    BenchError,
    Peer,
    Scenario,
    Target,
    Unavailable,
    log,
    run,
)
from registry import Context, scenario

WEIGHTS, ONNX = "models/net/net.caffemodel", "models/net/net.onnx"
VERSIONS = 3
LFS_MIGRATE = ("git lfs migrate import --everything --include='*.caffemodel,*.onnx' "
               ">/dev/null && git lfs checkout")


def build(repo: Path, size: int) -> list[tuple[str, str, str]]:
    """``VERSIONS`` commits of a ``size``-byte .caffemodel (random bytes: nothing deltas)
    beside a readme and a prototxt, the first with an ONNX export of a quarter of that;
    tag ``v2`` on the second; packed (``git gc``), as a clone is. Returns every version as
    (path, sha1, sha256), the workspace's last."""
    cmd.git_repo(repo)
    (repo / "models/net").mkdir(parents=True)
    (repo / "models/net/deploy.prototxt").write_text("name: 'Net'\n")
    versions: list[tuple[str, str, str]] = []
    for i in range(VERSIONS):
        for path, n in ((ONNX, size // 4),) * (i == 0) + ((WEIGHTS, size),):
            sha1, sha256 = random_file(repo / path, n, "sha1", "sha256")
            versions.append((path, sha1, sha256))
        (repo / "models/net/readme.md").write_text(
            "---\nname: Net\ncaffemodel: net.caffemodel\n"
            f"caffemodel_url: http://dl.example.org/net.caffemodel\nsha1: {sha1}\n---\n# Net\n")
        cmd.commit_all(repo, f"weights v{i + 1}")
        if i == 1:
            run(["git", "tag", "v2"], repo)
    run(["git", "gc", "-q"], repo)
    return versions


def largest_blob(repo: Path, *revs: str) -> int:
    """The largest blob reachable from ``revs`` (rev-list arguments)."""
    objects = "".join(line.split()[0] + "\n"
                      for line in run(["git", "rev-list", "--objects", *revs], repo).splitlines())
    sizes = run(["git", "cat-file", "--batch-check=%(objecttype) %(objectsize)"], repo,
                stdin=objects.encode())
    return max((int(n) for kind, n in (line.split() for line in sizes.splitlines())
                if kind == "blob"), default=0)


@scenario("migrate", lambda a: f"migrate {VERSIONS} versions of {a.migrate_mib} MiB out of git",
          needs={"git-lfs"}, scratch=("migrate",))
def migrate(ctx: Context) -> Scenario:
    if not ctx.tools.lfs:
        raise Unavailable("git-lfs: not available")
    size = ctx.args.migrate_mib * MIB
    base = fresh_dir(WORK / "migrate")
    log(f"writing a repository with {VERSIONS} versions of a {size >> 20} MiB .caffemodel")
    template = base / "original"
    versions = build(template, size)
    last = {path: sha1 for path, sha1, _ in versions}  # the workspace's
    every = {f"sha1/{s[:2]}/{s[2:]}": s for _, s, _ in versions}
    at_head = {f"sha1/{s[:2]}/{s[2:]}": s for s in last.values()}
    lfs_objects = {f"{h[:2]}/{h[2:4]}/{h}": s for _, s, h in versions}

    def copy(repo: Path, *setup: list[str]) -> Callable[[], None]:
        def fn() -> None:
            rmtree(repo)
            shutil.copytree(template, repo, symlinks=True)
            for argv in setup:
                run(argv, repo)
            os.sync()
        return fn

    def check(repo: Path, store: str, objects: dict[str, str],
              revs: tuple[str, ...]) -> Callable[[str], None]:
        """The workspace binaries as they were, every object in the store, and no blob
        over 1 MiB reachable from ``revs``."""
        def fn(_: str) -> None:
            check_tree(repo, last)
            check_tree(repo / ".git" / store, objects, "stored objects")
            if (largest := largest_blob(repo, *revs)) > MIB:
                raise BenchError(f"a {largest:,}-byte blob is still in {' '.join(revs)}")
        return fn

    lfs, rewrite, head = base / "lfs", base / "rewrite", base / "head"
    everything = ("--branches", "--tags")
    peers = [
        Peer("git lfs migrate import", ["sh", "-c", LFS_MIGRATE], lfs, env=cmd.GIT_ID_ENV,
             prepare=copy(lfs, ["git", "lfs", "install", "--local"]),
             check=check(lfs, "lfs/objects", lfs_objects, everything)),
        Peer("zoo-vcs migrate --rewrite", cmd.zoo("migrate", "--rewrite-history"), rewrite,
             env=cmd.GIT_ID_ENV, prepare=copy(rewrite),
             check=check(rewrite, "zoo-vcs/cache", every, everything)),
        Peer("zoo-vcs migrate (HEAD)", cmd.zoo("migrate"), head, env=cmd.GIT_ID_ENV,
             prepare=copy(head), check=check(head, "zoo-vcs/cache", at_head, ("HEAD^{tree}",))),
    ]
    return Scenario(
        "migrate", f"migrate {VERSIONS} versions of a {size >> 20} MiB .caffemodel and a "
        f"{size >> 22} MiB .onnx out of git, on a copy of the repository each run",
        "git lfs migrate import", "zoo-vcs migrate --rewrite", peers,
        [Target("ahead of git lfs migrate import (≤ 1.0x)", 1.0, "git lfs migrate import"),
         MEMORY_TARGET],
        ["git lfs migrate import --everything --include='*.caffemodel,*.onnx' && git lfs "
         "checkout (the import may leave pointers in the workspace, git-lfs PR #4504)",
         "checks: workspace binaries byte-identical, every version in the cache (.git/zoo-vcs/"
         "cache) or .git/lfs/objects, no blob over 1 MiB in any branch or tag (HEAD's tree "
         "for the HEAD-only migrate)"])
