"""``migrate``: binaries committed directly into git become tracked pointers (SPEC 4,
Migration), at HEAD in one new commit; ``--rewrite-history`` rewrites every commit instead
(:mod:`zoo_vcs.ops.migrate_history`).

A binary is a regular file whose path a ``[core] binaries`` glob names (``*.caffemodel``
always). Both ways plan first (:func:`plan`: what is committed where, and its size in the
object store), which ``--dry-run`` shows without changing anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo_vcs.errors import UsageError
from zoo_vcs.formats import pointer as ptr
from zoo_vcs.git import history as githistory
from zoo_vcs.ops.add import add
from zoo_vcs.repo.context import Repository
from zoo_vcs.repo.paths import check_inside

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Version:
    """One binary as git holds it: a file at a path with some content (a blob)."""

    path: Path
    blob: str
    size: int
    #: Its SHA1 as zoo-vcs names it, once it is in the object cache.
    sha1: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"path": str(self.path), "blob": self.blob, "size": self.size,
                "sha1": self.sha1}


@dataclass
class MigrateResult:
    """What ``migrate`` found, and (unless a dry run) what it did.

    ``files`` are the binaries at HEAD; ``versions`` every version of a binary in the
    history of the local branches and tags. ``history_bytes`` is their total size and
    ``packed_bytes`` what they take in the object store: what a rewrite lets ``git gc``
    shed once nothing else (a backup ref, a remote-tracking branch, a reflog, the stash)
    holds the old commits.
    """

    root: Path
    history: bool
    dry_run: bool
    files: list[Version] = field(default_factory=list)
    versions: list[Version] = field(default_factory=list)
    packed_bytes: int = 0
    #: Tracked files with uncommitted changes: migrate refuses to run while there are any.
    dirty: list[str] = field(default_factory=list)
    #: The new commit (at HEAD).
    commit: str | None = None
    #: Rewritten refs and the backup ref of each (history).
    backups: dict[str, str] = field(default_factory=dict)
    commits: int = 0

    @property
    def head_bytes(self) -> int:
        """Size of the binaries at HEAD: what HEAD's tree sheds."""
        return sum(v.size for v in self.files)

    @property
    def history_bytes(self) -> int:
        """Size of every distinct binary version in the history."""
        return sum({v.blob: v.size for v in self.versions}.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "root": str(self.root), "history": self.history, "dry_run": self.dry_run,
            "files": [v.to_dict() for v in self.files],
            "versions": [v.to_dict() for v in self.versions],
            "head_bytes": self.head_bytes, "history_bytes": self.history_bytes,
            "packed_bytes": self.packed_bytes, "dirty": self.dirty, "commit": self.commit,
            "backups": self.backups, "commits": self.commits,
        }


def migrate(repo: Repository, paths: Sequence[Path] = (), *, rewrite_history: bool = False,
            dry_run: bool = False) -> MigrateResult:
    """Make the binaries committed under ``paths`` (default: everywhere) tracked pointers.

    At HEAD: each binary is stored in the cache, gets its pointer (and its readme's
    ``sha1`` in step), is git-ignored and leaves the index, all in one new commit; the
    files stay in the workspace as they are. With ``rewrite_history``, every commit of
    the local branches and tags is rewritten that way instead (see
    :func:`zoo_vcs.ops.migrate_history.rewrite`).

    Raises
    ------
    UsageError
        Not in a git repository, no commit yet, or tracked files have uncommitted changes
        (the migration must be a commit of its own).
    GitError
        A git command failed.
    """
    result = plan(repo, paths, history=rewrite_history, versions=rewrite_history or dry_run)
    if dry_run:
        return result
    refuse_dirty(result)
    result.dry_run = False
    if rewrite_history:
        from zoo_vcs.ops.migrate_history import rewrite

        return rewrite(repo, result, selector(repo, paths))
    if not result.files:
        return result
    added = add(repo, [v.path for v in result.files])
    sha1s = {a.path: a.pointer.sha1 for a in added.added}
    result.files = [Version(v.path, v.blob, v.size, sha1s[v.path]) for v in result.files]
    rel = repo.relpath
    githistory.untrack(repo.root, [rel(v.path) for v in result.files])
    githistory.stage(repo.root, [rel(p) for p in added.to_commit])
    result.commit = githistory.commit(repo.root, commit_message(repo, result.files))
    return result


def plan(repo: Repository, paths: Sequence[Path] = (), *, history: bool = False,
         versions: bool = True) -> MigrateResult:
    """The binaries at HEAD and (with ``versions``) every version in the history, with
    their sizes in git.

    Raises
    ------
    UsageError
        Not in a git repository, or no commit yet.
    """
    if not repo.in_git:
        raise UsageError(f"{repo.root}: not in a git repository; migrate moves binaries "
                         "out of git history")
    root = repo.root
    if githistory.head_commit(root) is None:
        raise UsageError(f"{root}: no commit yet; track binaries with 'zoo-vcs add FILE'")
    select = selector(repo, paths)
    result = MigrateResult(root, history, dry_run=True)
    result.files = [Version(root / f.path, f.blob, f.size)
                    for f in githistory.files_at(root) if select(f.path)]
    refs = sorted(githistory.refs(root, "refs/heads", "refs/tags")) if versions else []
    found = sorted(githistory.files_in_history(root, refs))
    sizes = githistory.object_sizes(root, (blob for path, blob in found if select(path)))
    result.versions = [Version(root / path, blob, sizes[blob][0])
                       for path, blob in found if blob in sizes and select(path)]
    result.packed_bytes = sum(size[1] for size in sizes.values())
    result.dirty = githistory.dirty_paths(root)
    return result


def refuse_dirty(result: MigrateResult) -> None:
    """Raise ``UsageError`` when tracked files have uncommitted changes."""
    if result.dirty:
        shown = ", ".join(result.dirty[:5]) + (" ..." if len(result.dirty) > 5 else "")
        raise UsageError(f"uncommitted changes in {shown}; migrate makes commits of its own",
                         hint="commit or stash them first (git stash), then migrate")


def selector(repo: Repository, paths: Sequence[Path] = ()) -> Callable[[str], bool]:
    """Which repository paths (``/``-separated) are binaries to migrate: named by the
    ``[core] binaries`` globs, not pointers, and under one of ``paths`` (default: all)."""
    prefixes = [repo.relpath(check_inside(repo.root, p)).replace("\\", "/") for p in paths]
    prefixes = ["" if p == "." else p for p in prefixes]
    is_binary = repo.config.is_binary

    def select(path: str) -> bool:
        if path.endswith(ptr.SUFFIX) or not is_binary(path):
            return False
        return not prefixes or any(not p or path == p or path.startswith(p + "/")
                                   for p in prefixes)

    return select


def commit_message(repo: Repository, files: Sequence[Version], *, limit: int = 20) -> str:
    """The migration commit's message: a summary line, then the files (up to ``limit``)."""
    total = sum(v.size for v in files)
    lines = [f"zoo-vcs migrate: {len(files)} binaries become pointers ({total:,} bytes)", "",
             "Their bytes are in the zoo-vcs object cache ('zoo-vcs push' uploads them);",
             "'zoo-vcs checkout' restores them in a clone.", ""]
    lines += [f"  {repo.relpath(v.path)}" for v in files[:limit]]
    if len(files) > limit:
        lines.append(f"  ... and {len(files) - limit} more")
    return "\n".join(lines) + "\n"

