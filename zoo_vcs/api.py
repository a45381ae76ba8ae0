"""The Python API: one function per command. Each opens the repository context once and
calls one operation; the CLI is a thin layer over these functions::

    import zoo_vcs
    zoo_vcs.add("models/alexnet/bvlc_alexnet.caffemodel")
    zoo_vcs.checkout("models/alexnet")
    weights = zoo_vcs.fetch_model("models/alexnet")

Operations live in ``zoo_vcs.ops`` (and ``gist``, ``hooks``) and load on first use, so
that ``zoo-vcs status`` starts fast. ``ls``, ``get`` and ``diff`` (other revisions and
other repositories) are in :mod:`zoo_vcs.api_browse`, remotes, gists, hooks and the Model
Zoo page in :mod:`zoo_vcs.api_setup`; both are exported here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from zoo_vcs.api_browse import diff as diff
from zoo_vcs.api_browse import get as get
from zoo_vcs.api_browse import ls as ls
from zoo_vcs.api_setup import download_gist as download_gist
from zoo_vcs.api_setup import gist_pull as gist_pull
from zoo_vcs.api_setup import gist_push as gist_push
from zoo_vcs.api_setup import gist_status as gist_status
from zoo_vcs.api_setup import index_build as index_build
from zoo_vcs.api_setup import install_hooks as install_hooks
from zoo_vcs.api_setup import remote_add as remote_add
from zoo_vcs.api_setup import remote_list as remote_list
from zoo_vcs.api_setup import remote_modify as remote_modify
from zoo_vcs.api_setup import remote_remove as remote_remove
from zoo_vcs.api_setup import run_hook as run_hook
from zoo_vcs.api_setup import uninstall_hooks as uninstall_hooks
from zoo_vcs.repo.arguments import PathLike
from zoo_vcs.repo.arguments import open_repo as _open
from zoo_vcs.repo.arguments import open_selected as _open_selected

if TYPE_CHECKING:
    from zoo_vcs.ops.add import AddResult
    from zoo_vcs.ops.checkout import CheckoutResult
    from zoo_vcs.ops.fetch import FetchResult
    from zoo_vcs.ops.gc import GcResult
    from zoo_vcs.ops.migrate import MigrateResult
    from zoo_vcs.ops.push import PushResult
    from zoo_vcs.ops.status import StatusReport
    from zoo_vcs.ops.verify import VerifyResult
    from zoo_vcs.transfer.progress import Progress

def add(*paths: PathLike, urls: Sequence[str] = (), sha256: bool | None = None,
        jobs: int | None = None, offline: bool | None = None,
        cwd: PathLike | None = None) -> AddResult:
    """Track binaries: hash into the cache, write ``FILE.zoo``, git-ignore, sync the readme.

    ``urls`` (one file only) records where else the bytes can be downloaded; a file not
    there yet is downloaded once from the first URL. ``sha256`` also records a SHA256
    (default: the ``core.sha256`` setting, off).

    Raises
    ------
    UsageError
        A path is not a regular file in the repository (or is a pointer or readme).
    TransferError
        The file had to be downloaded and could not be.
    """
    from zoo_vcs.ops.add import add as run

    repo, resolved = _open(paths, {"jobs": jobs, "sha256": sha256 or None,
                                   "offline": offline or None}, cwd)
    return run(repo, resolved, urls=urls)


def checkout(*paths: PathLike, exclude: Sequence[str] = (), force: bool = False,
             dry_run: bool = False, allow_unverified: bool = False, jobs: int | None = None,
             timeout: float | None = None, link: str | None = None, remote: str | None = None,
             offline: bool | None = None, progress: Progress | None = None,
             cwd: PathLike | None = None) -> CheckoutResult:
    """Restore every tracked binary under ``paths`` (default: the whole repository, or the
    ``[fetch]`` include/exclude of ``.zoo/config``), verified.

    ``paths`` may be gitignore-style patterns (``"models/vgg*"``) matched against the
    repository-relative paths of tracked binaries; ``exclude`` patterns remove matches.
    ``allow_unverified`` downloads legacy entries that have a URL but no sha1 (their SHA1
    is reported in the result); ``offline`` (default: ``ZOO_VCS_OFFLINE``) uses no network.

    Raises
    ------
    UsageError
        A pattern matches no tracked binary.
    OperationError
        Some files could not be restored; ``.errors`` says why for each, ``.result``
        holds what was done.
    """
    from zoo_vcs.ops.checkout import checkout as run

    repo, resolved, chosen = _open_selected(
        paths, exclude, {"jobs": jobs, "timeout": timeout, "link": link,
                         "offline": offline or None}, cwd, defaults=True)
    return run(repo, resolved, select=chosen, force=force, dry_run=dry_run, remote=remote,
               allow_unverified=allow_unverified, progress=progress)


def pull(*paths: PathLike, exclude: Sequence[str] = (), remote: str | None = None,
         force: bool = False, allow_unverified: bool = False, jobs: int | None = None,
         timeout: float | None = None, link: str | None = None, offline: bool | None = None,
         progress: Progress | None = None, cwd: PathLike | None = None) -> CheckoutResult:
    """Fetch, then check out: every tracked binary under ``paths`` restored and verified.

    One pass: checkout fetches what is missing (from ``remote`` only, when given) and
    places each file; a file whose object cannot be had fails alone. Selection as for
    :func:`checkout`.
    """
    return checkout(*paths, exclude=exclude, force=force, allow_unverified=allow_unverified,
                    jobs=jobs, timeout=timeout, link=link, remote=remote, offline=offline,
                    progress=progress, cwd=cwd)


def fetch(*paths: PathLike, exclude: Sequence[str] = (), remote: str | None = None,
          jobs: int | None = None, timeout: float | None = None, offline: bool | None = None,
          progress: Progress | None = None, cwd: PathLike | None = None) -> FetchResult:
    """Download the objects of tracked binaries into the cache (the workspace is untouched).

    Sources: each pointer's URLs, then the remotes (only ``remote`` when given).
    Selection as for :func:`checkout`.

    Raises
    ------
    UsageError
        A pattern matches no tracked binary.
    OperationError
        Some objects could not be fetched (each cause in ``errors``).
    """
    from zoo_vcs.ops.fetch import fetch as run

    repo, resolved, chosen = _open_selected(
        paths, exclude, {"jobs": jobs, "timeout": timeout, "offline": offline or None}, cwd,
        defaults=True)
    return run(repo, resolved, select=chosen, remote=remote, progress=progress)


def push(*paths: PathLike, exclude: Sequence[str] = (), remote: str | None = None,
         jobs: int | None = None, timeout: float | None = None, offline: bool | None = None,
         progress: Progress | None = None, cwd: PathLike | None = None) -> PushResult:
    """Upload the objects of tracked binaries to a remote; add their URLs to the pointers.

    ``paths`` may be patterns and ``exclude`` removes matches (as for :func:`checkout`, but
    the ``[fetch]`` defaults do not apply).

    Raises
    ------
    ConfigError
        No such remote, or no default remote.
    OperationError
        Some objects could not be uploaded.
    """
    from zoo_vcs.ops.push import push as run

    repo, resolved, chosen = _open_selected(
        paths, exclude, {"jobs": jobs, "timeout": timeout, "offline": offline or None}, cwd)
    return run(repo, resolved, select=chosen, remote=remote, progress=progress)


def status(*paths: PathLike, exclude: Sequence[str] = (), remote: bool | str = False,
           cwd: PathLike | None = None) -> StatusReport:
    """State of every tracked binary: ``ok``, ``missing``, ``modified`` or ``unverified``.

    ``paths`` may be patterns and ``exclude`` removes matches (see :func:`checkout`).
    ``remote`` (True: the default remote, or a remote's name) also checks whether that
    remote holds each binary's object (``FileState.remote``: ``present`` or ``missing``),
    by one listing or a size request each, never a download; ``report.failures()`` then
    names each binary the remote lacks.

    Raises
    ------
    ConfigError
        No such remote, or no default remote.
    """
    from zoo_vcs.ops.status import status as run

    repo, resolved, chosen = _open_selected(paths, exclude, None, cwd)
    return run(repo, resolved, select=chosen, check_remote=bool(remote),
               remote=remote if isinstance(remote, str) else None)


def verify(*paths: PathLike, exclude: Sequence[str] = (), jobs: int | None = None,
           cwd: PathLike | None = None) -> VerifyResult:
    """Re-hash tracked files and cache objects; raises ``OperationError`` on any mismatch.

    ``paths`` may be patterns and ``exclude`` removes matches (see :func:`checkout`).
    """
    from zoo_vcs.ops.verify import verify as run

    repo, resolved, chosen = _open_selected(paths, exclude, {"jobs": jobs}, cwd)
    return run(repo, resolved, select=chosen)


def gc(path: PathLike | None = None, *, dry_run: bool = False,
       workspace_only: bool = False) -> GcResult:
    """Drop cache objects that nothing needs: no pointer or readme entry in the workspace,
    the index, any commit reachable from a local branch, a tag, HEAD or the stash, of this
    repository or any other one sharing the cache.

    ``workspace_only`` keeps only the workspace's objects and removes another one only
    when the default remote or one of its pointers' URLs is seen to hold it.

    Raises
    ------
    OperationError
        A pointer or readme cannot be read, or a repository sharing the cache cannot be
        read: nothing is removed.
    """
    from zoo_vcs.ops.gc import gc as run

    repo, _ = _open([path] if path is not None else [])
    return run(repo, dry_run=dry_run, workspace_only=workspace_only)


def migrate(*paths: PathLike, rewrite_history: bool = False, dry_run: bool = False,
            jobs: int | None = None, cwd: PathLike | None = None) -> MigrateResult:
    """Binaries committed into git under ``paths`` become tracked pointers (SPEC 4).

    At HEAD, in one new commit; with ``rewrite_history``, in every commit of the local
    branches and tags (through git-filter-repo, after a backup ref per ref). ``dry_run``
    only reports what would change and the bytes the repository would shed.

    Raises
    ------
    UsageError
        Not in a git repository, uncommitted changes, a detached HEAD or other worktrees
        (for a rewrite).
    GitError
        git or git-filter-repo failed; a failed rewrite puts everything back.
    """
    from zoo_vcs.ops.migrate import migrate as run

    repo, resolved = _open(paths, {"jobs": jobs}, cwd)
    return run(repo, resolved, rewrite_history=rewrite_history, dry_run=dry_run)


def init(directory: PathLike = ".", *, name: str | None = None) -> list[Path]:
    """Make ``directory`` a model directory (readme skeleton, git repository, ``.zoo/``)."""
    from zoo_vcs.ops.init import init as run

    return run(Path(directory), name=name)


def fetch_model(source: PathLike, dest: PathLike | None = None, *, force: bool = False,
                jobs: int | None = None, timeout: float | None = None,
                remote: str | None = None, progress: Progress | None = None) -> Path:
    """Verified weights of a model, fetched if needed; returns their local path.

    ``source`` is a model directory, a gist (id, ``user/id`` or URL), the URL of a
    readme, or a folder or binary of a git repository at a revision,
    ``git+URL#PATH@REV`` (``git+https://example.org/zoo.git#models/alexnet@v1``; REV
    defaults to ``HEAD``). Gists, readme URLs and git sources are brought into ``dest``
    (default: a folder per model under the user cache, ``~/.cache/zoo-vcs/models``).
    Weights come through the object cache, so a second call finds everything in place and
    does no network at all. For a readme describing several models, the first model's
    weights path is returned (all are restored).

    Raises
    ------
    UsageError
        ``source`` names no model with weights.
    GistError, OperationError
        The gist or the weights could not be fetched or verified.
    """
    from zoo_vcs.ops.model import fetch_model as run

    def restore(folder: Path) -> list[Path]:
        result = checkout(folder, force=force, jobs=jobs, timeout=timeout, remote=remote,
                          progress=progress)
        return [a.path for a in result.actions]

    def is_clean(folder: Path) -> bool:
        report = status(folder)
        return bool(report.files) and report.clean

    def from_git(url: str, path: str, rev: str | None, folder: Path) -> list[Path]:
        from zoo_vcs.git.remote import normalize_url

        # Run from the model's folder, so that get and restore share the user cache.
        return get(normalize_url(url), path, rev, folder, force=True, jobs=jobs,
                   timeout=timeout, progress=progress, cwd=folder).binaries

    return run(str(source), Path(dest) if dest is not None else None, restore=restore,
               is_clean=is_clean, timeout=timeout, from_git=from_git)
