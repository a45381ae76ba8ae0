"""The Python API for other revisions and other repositories: ``ls``, ``get`` and ``diff``
(exported by :mod:`zoo_vcs.api` too; ``get`` also by the package)::

    import zoo_vcs
    zoo_vcs.get("https://example.org/zoo.git", "models/alexnet", rev="v1")
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from zoo_vcs.repo.arguments import PathLike, open_repo

if TYPE_CHECKING:
    from zoo_vcs.ops.diff import DiffResult
    from zoo_vcs.ops.get import GetResult, Listing
    from zoo_vcs.transfer.progress import Progress


def ls(repo: str, path: str = "", *, rev: str | None = None, offline: bool | None = None,
       cwd: PathLike | None = None) -> Listing:
    """The tracked binaries (path, sha1, size, urls) of git repository ``repo`` (a path or
    a ``file://``, ``https://`` or ``ssh://`` URL) under ``path`` at ``rev`` (default
    ``HEAD``), read through a shallow, blob-filtered mirror in the user cache: no clone.

    Raises
    ------
    GitError
        The repository or the revision cannot be reached.
    UsageError
        ``path`` names nothing there.
    """
    from zoo_vcs.ops.get import ls as run

    ctx, _ = open_repo(flags={"offline": offline or None}, cwd=cwd)
    return run(ctx, str(repo), path, rev=rev, cwd=Path(cwd) if cwd is not None else None)


def get(repo: str, path: str, rev: str | None = None, out: PathLike | None = None, *,
        exclude: Sequence[str] = (), force: bool = False, jobs: int | None = None,
        timeout: float | None = None, offline: bool | None = None,
        progress: Progress | None = None, cwd: PathLike | None = None) -> GetResult:
    """Download ``path`` of git repository ``repo`` at ``rev`` into ``out``, SHA1-verified,
    without a clone: one tracked binary, or a whole model folder (its text files and
    binaries). ``out`` defaults to ``path``'s name in the current folder and never holds
    ``.git``. Binaries come from their pointers' URLs and the remotes of the repository's
    committed ``.zoo/config``, through the object cache.

    Raises
    ------
    UsageError
        ``path`` names nothing there.
    ExistsError
        The target exists (and not ``force``).
    GitError
        The repository or the revision cannot be reached.
    OperationError
        A binary could not be had or verified; the target was not created.
    """
    from zoo_vcs.ops.get import get as run

    ctx, _ = open_repo(flags={"jobs": jobs, "timeout": timeout, "offline": offline or None},
                   cwd=cwd)
    return run(ctx, str(repo), path, rev=rev, out=Path(out) if out is not None else None,
               exclude=exclude, force=force, progress=progress,
               cwd=Path(cwd) if cwd is not None else None)


def diff(rev_a: str | None = None, rev_b: str | None = None, *,
         cwd: PathLike | None = None) -> DiffResult:
    """Tracked binaries added, removed or modified from ``rev_a`` (default ``HEAD``) to
    ``rev_b`` (default: the workspace), with sizes and sha1s.

    Raises
    ------
    UsageError
        Not in a git repository.
    GitError
        A revision does not exist.
    """
    from zoo_vcs.ops.diff import diff as run

    repo, _ = open_repo(cwd=cwd)
    return run(repo, rev_a, rev_b)
