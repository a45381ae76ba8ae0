"""What the C (folder) and E (S3) scenarios share: the ``--many`` data set (resource
``many``) and :func:`tracked_repos`, the files committed with each tool."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import peers as cmd
from data import ManyData, fresh_dir, many_data
from harness import BenchError, log, run
from registry import Context, resource
from tools import DVC_ENV


@resource("many")
def many(ctx: Context) -> Iterator[ManyData]:
    """WORK/data/many: ``--many`` files of 1 MiB, kept between runs."""
    yield many_data(ctx.args.many)


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
    """The repositories of :class:`Tracked` under ``base`` (rebuilt). A failed zoo-vcs
    set-up raises BenchError; a failed dvc or git-lfs one leaves that tool out, noted."""
    fresh_dir(base)
    names = [f"data/{n}" for n in data.names]
    zoo, zoo_cache = cmd.git_repo(base / "zoo"), base / "zoo-cache"
    log(f"tracking {len(names)} files with zoo-vcs in {zoo}")
    shutil.copytree(data.folder, zoo / "data")
    run(cmd.zoo("-q", "add", *names), zoo, {"ZOO_VCS_CACHE_DIR": str(zoo_cache)})
    cmd.commit_all(zoo, "track data with zoo-vcs")
    t = Tracked(zoo, zoo_cache, None, {**DVC_ENV, "DVC_SITE_CACHE_DIR": str(base / "dvc-site")},
                None)
    if dvc is not None:
        log(f"tracking them with dvc (one directory) in {base / 'dvc'}")
        try:
            t.dvc = cmd.dvc_tracked_repo(base / "dvc", data.folder, dvc, t.dvc_env)
        except BenchError as exc:
            log(f"dvc: setup failed: {exc}")
            t.notes.append(f"dvc: setup failed: {exc}")
    if lfs:
        repo = cmd.git_repo(base / "lfs")
        log(f"tracking them with git-lfs in {repo}")
        try:
            run(["git", "lfs", "install", "--local"], repo)
            shutil.copytree(data.folder, repo / "data")
            run(["git", "lfs", "track", "data/*.bin"], repo)
            cmd.commit_all(repo, "track data with git-lfs")
            t.lfs_branch = run(["git", "symbolic-ref", "--short", "HEAD"], repo).strip()
            t.lfs = repo
        except BenchError as exc:
            log(f"git-lfs: setup failed: {exc}")
            t.notes.append(f"git-lfs: setup failed: {exc}")
    return t
