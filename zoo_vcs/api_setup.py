"""The Python API for a repository's setup and publishing: storage remotes, gists, git
hooks and the Model Zoo page (exported by :mod:`zoo_vcs.api` too)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from zoo_vcs.errors import UsageError
from zoo_vcs.repo.arguments import PathLike
from zoo_vcs.repo.arguments import open_repo as _open
from zoo_vcs.repo.context import Repository

if TYPE_CHECKING:
    from zoo_vcs.gist.sync import SyncResult
    from zoo_vcs.hooks.scripts import HookPlan
    from zoo_vcs.ops.index import Row
    from zoo_vcs.repo.remotes import RemoteInfo


def _git_repo(cwd: PathLike | None) -> Repository:
    repo, _ = _open(cwd=cwd)
    if not repo.in_git:
        raise UsageError(f"{repo.root}: not in a git repository")
    return repo


def remote_add(name: str, url: str, *, default: bool = False, local: bool = False,
               options: dict[str, str] | None = None, force: bool = False,
               cwd: PathLike | None = None) -> None:
    """Configure storage remote ``name`` at ``url`` (``local``: in ``.zoo/config.local``)."""
    from zoo_vcs.repo import remotes

    repo, _ = _open(cwd=cwd)
    remotes.add(repo.root, name, url, default=default, local=local, options=options,
                force=force)


def remote_list(cwd: PathLike | None = None) -> list[RemoteInfo]:
    """Configured storage remotes."""
    from zoo_vcs.repo import remotes

    repo, _ = _open(cwd=cwd)
    return remotes.listing(repo.root)


def remote_remove(name: str, cwd: PathLike | None = None) -> None:
    """Forget storage remote ``name``."""
    from zoo_vcs.repo import remotes

    repo, _ = _open(cwd=cwd)
    remotes.remove(repo.root, name)


def remote_modify(name: str, key: str, value: str | None, *, local: bool = False,
                  cwd: PathLike | None = None) -> None:
    """Set (``value=None``: unset) a storage option of remote ``name``."""
    from zoo_vcs.repo import remotes

    repo, _ = _open(cwd=cwd)
    remotes.modify(repo.root, name, key, value, local=local)


def gist_push(directory: PathLike = ".", *, secret: bool = False,
              description: str | None = None) -> SyncResult:
    """Create or update the gist of a model directory (writes ``gist_id`` on create).

    Raises
    ------
    GistError
        No token, token rejected, gist not found, rate limited, network down, a
        subdirectory or symlink in the folder.
    """
    from zoo_vcs.gist import sync

    return sync.push_dir(Path(directory), secret=secret, description=description)


def gist_pull(gist: str, directory: PathLike, *, revision: str | None = None,
              force: bool = False) -> SyncResult:
    """Bring a gist (id, ``user/id`` or URL) into ``directory``; unsafe names are refused."""
    from zoo_vcs.gist import sync

    return sync.pull(gist, Path(directory), revision=revision, force=force)


def download_gist(gist: str, dirname: PathLike = "models") -> SyncResult:
    """Caffe's ``download_model_from_gist.sh``: gist GIST into a new folder
    ``DIRNAME/<GIST with '/' replaced by '-'>`` (``result.folder``).

    Raises
    ------
    ExistsError
        That folder exists already (nothing is written).
    GistError
        The gist cannot be read, or holds unsafe names (nothing is left behind).
    """
    from zoo_vcs.gist import sync

    return sync.download_new(gist, Path(dirname))


def gist_status(directory: PathLike = ".") -> SyncResult:
    """The plan a ``gist push`` would apply: what differs between a folder and its gist."""
    from zoo_vcs.gist import sync

    return sync.status_dir(Path(directory))


def install_hooks(*, force: bool = False, dry_run: bool = False,
                  cwd: PathLike | None = None) -> HookPlan:
    """Install zoo-vcs's git hooks (chaining foreign ones unless ``force``)."""
    from zoo_vcs.git import repo as gitrepo
    from zoo_vcs.hooks import scripts

    hooks_dir = gitrepo.hooks_dir(_git_repo(cwd).root)
    if dry_run:
        return scripts.plan_install(hooks_dir, force=force)
    return scripts.install(hooks_dir, force=force)


def uninstall_hooks(cwd: PathLike | None = None) -> HookPlan:
    """Remove zoo-vcs's git hooks, putting chained foreign hooks back."""
    from zoo_vcs.git import repo as gitrepo
    from zoo_vcs.hooks import scripts

    return scripts.uninstall(gitrepo.hooks_dir(_git_repo(cwd).root))


def run_hook(name: str, args: Sequence[str], stdin: str = "",
             environ: Mapping[str, str] | None = None) -> str:
    """What git hook ``name`` does (called by the installed scripts); returns a summary.

    Raises
    ------
    HookError
        For pre-push and pre-commit: the git operation must stop.
    """
    from zoo_vcs.hooks import run

    env = os.environ if environ is None else environ
    if env.get("ZOO_VCS_SKIP_HOOKS") == "1":
        return ""
    repo, _ = _open()
    return run.run(repo, name, args, stdin, env)


def index_build(*sources: PathLike, check: bool = False, verify_local: bool = False,
                jobs: int | None = None, timeout: float | None = None) -> list[Row]:
    """Rows of the Model Zoo page for model directories, folders of them, and gists.

    ``check`` probes every weights URL; ``verify_local`` hashes weights found beside
    their readme (status ``verified``).
    """
    from zoo_vcs.ops import index

    repo, _ = _open(flags={"jobs": jobs, "timeout": timeout})
    return index.collect([str(s) for s in sources], repo, check=check,
                         verify_local=verify_local)
