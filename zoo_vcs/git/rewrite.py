"""History rewriting through git-filter-repo, its only importer: every commit of some refs
passes through a callback that says what its file changes become.

git-filter-repo (https://github.com/newren/git-filter-repo) is used as a library. Its
authors promise no stable library API, so everything zoo-vcs needs of it lives here:
``FilteringOptions.parse_args``, ``RepoFilter(commit_callback=...)``, ``RepoFilter.insert``,
``Blob`` and ``FileChange``. fast-export runs with ``--no-data`` (no blob callback), so
file changes name blobs by their original ids and the binaries never pass through Python.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo_vcs.errors import ConfigError, GitError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    """One file change of a commit, against its first parent (as fast-export states it).

    ``blob`` is a blob id of the original repository, ``data`` new content; neither means
    the file is deleted.
    """

    path: str
    blob: str | None = None
    mode: str = "100644"
    data: bytes | None = None

    @property
    def deleted(self) -> bool:
        """True for a deletion."""
        return self.blob is None and self.data is None


#: ``edit(original_commit_id, changes) -> changes``: what a commit's changes become.
Edit = Callable[[str, list[Change]], list[Change]]


def _load() -> Any:
    try:
        import git_filter_repo
    except ImportError:
        raise ConfigError("rewriting history needs git-filter-repo",
                          hint="pip install git-filter-repo") from None
    return git_filter_repo


def rewrite(root: Path, refs: Sequence[str], edit: Edit) -> None:
    """Rewrite every commit reachable from ``refs``; the refs then name the new commits and
    the work tree is reset (``git reset --hard``) to the new HEAD.

    Commits are kept one for one (none pruned, even if a change leaves one empty), so the
    new history has the shape of the old. Other refs (remote-tracking branches, the
    stash, backups) are left alone.

    Parameters
    ----------
    root
        The repository's work tree.
    refs
        Full ref names (``refs/heads/main``, ``refs/tags/v1``).
    edit
        Called once per commit, in topological order; it must not raise (an exception is
        re-raised after the run, which then has left the remaining commits unchanged).

    Raises
    ------
    GitError
        git-filter-repo, fast-export or fast-import failed.
    ConfigError
        git-filter-repo is not installed.
    """
    fr = _load()
    args = fr.FilteringOptions.parse_args(
        ["--force", "--quiet", "--prune-empty", "never", "--prune-degenerate", "never",
         "--source", str(root), "--target", str(root), "--refs", *refs])
    failed: list[BaseException] = []
    inserted: dict[bytes, int] = {}

    def blob_for(data: bytes) -> int:
        # A pointer that comes back (a reverted version) is one blob, inserted once.
        if data not in inserted:
            blob = fr.Blob(data)
            repo_filter.insert(blob)
            inserted[data] = blob.id
        return inserted[data]

    def on_commit(commit: Any, _metadata: Any) -> None:
        if failed:
            return
        try:
            before = [_change(c) for c in commit.file_changes]
            after = edit(commit.original_id.decode("ascii"), before)
        except BaseException as exc:  # re-raised after the run; see the docstring
            failed.append(exc)
            return
        commit.file_changes = [_file_change(fr, c, blob_for) for c in after]

    repo_filter = fr.RepoFilter(args, commit_callback=on_commit)
    _forget_previous_run(repo_filter.results_tmp_dir(create_if_missing=False))
    chatter = io.StringIO()
    try:
        # filter-repo prints progress and timings on stdout: not ours to show (--json).
        with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter):
            repo_filter.run()
    except SystemExit as exc:
        said = (chatter.getvalue().strip().splitlines() or [""])[-1]
        raise GitError(f"git filter-repo failed in {root}: {exc.code or said}") from None
    finally:
        log.debug("git filter-repo: %s", chatter.getvalue().strip())
    if failed:
        raise failed[0]


def _forget_previous_run(results: bytes) -> None:
    # A filter-repo run more than a day old makes the next one ask on stdin whether to
    # continue it; a migration is a run of its own.
    with contextlib.suppress(OSError):
        os.unlink(os.path.join(results, b"already_ran"))


def _change(c: Any) -> Change:
    path = os.fsdecode(c.filename)
    if c.type == b"D":
        return Change(path)
    return Change(path, c.blob_id.decode("ascii"), c.mode.decode("ascii"))


def _file_change(fr: Any, c: Change, blob_for: Callable[[bytes], int]) -> Any:
    path = os.fsencode(c.path)
    if c.data is not None:
        return fr.FileChange(b"M", path, blob_for(c.data), c.mode.encode("ascii"))
    if c.blob is not None:
        return fr.FileChange(b"M", path, c.blob.encode("ascii"), c.mode.encode("ascii"))
    return fr.FileChange(b"D", path)
