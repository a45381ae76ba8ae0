"""``diff``: the tracked binaries added, removed or modified between two revisions, or
between a revision and the workspace (what the pointers and readmes say, not the files).

Committed sides are read with git plumbing (one tree listing, one batch of blobs), the
workspace side with the workspace scan; both give entries by repository-relative path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from zoo_vcs.errors import UsageError, ZooError
from zoo_vcs.git import remote as gitremote
from zoo_vcs.repo import tree
from zoo_vcs.repo.context import Repository
from zoo_vcs.repo.scan import Entry, Scan, relative

Status = Literal["added", "removed", "modified"]


@dataclass(frozen=True)
class Change:
    """One tracked binary that differs between the two sides."""

    path: str
    status: Status
    old_sha1: str | None = None
    new_sha1: str | None = None
    old_size: int | None = None
    new_size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"path": self.path, "status": self.status, "old_sha1": self.old_sha1,
                "new_sha1": self.new_sha1, "old_size": self.old_size, "new_size": self.new_size}


@dataclass
class DiffResult:
    """Changes from ``rev_a`` to ``rev_b`` (None: the workspace)."""

    rev_a: str
    rev_b: str | None
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    errors: list[ZooError] = field(default_factory=list)

    def count(self, status: Status) -> int:
        """How many changes are of ``status``."""
        return sum(1 for c in self.changes if c.status == status)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``diff --json``)."""
        return {"a": self.rev_a, "b": self.rev_b or "workspace",
                "changes": [c.to_dict() for c in self.changes], "unchanged": self.unchanged,
                "errors": [str(e) for e in self.errors]}


def compare(old: dict[str, Entry], new: dict[str, Entry]) -> tuple[list[Change], int]:
    """Pure: the changes between two sides (entries by path), sorted by path, and how many
    entries are the same on both.

    >>> compare({}, {})
    ([], 0)
    """
    changes = []
    same = 0
    for path in sorted(old.keys() | new.keys()):
        a, b = old.get(path), new.get(path)
        a_sha, a_size = _identity(a)
        b_sha, b_size = _identity(b)
        if a is None:
            changes.append(Change(path, "added", new_sha1=b_sha, new_size=b_size))
        elif b is None:
            changes.append(Change(path, "removed", old_sha1=a_sha, old_size=a_size))
        elif (a_sha, a.url if a_sha is None else None) != (b_sha, b.url if b_sha is None
                                                            else None):
            changes.append(Change(path, "modified", a_sha, b_sha, a_size, b_size))
        else:
            same += 1
    return changes, same


def _identity(entry: Entry | None) -> tuple[str | None, int | None]:
    if entry is None or entry.pointer is None:
        return None, None
    return entry.pointer.sha1, entry.pointer.size


def _by_path(scan: Scan, root: Path) -> dict[str, Entry]:
    return {relative(root, e.path): e for e in scan.entries}


def committed(repo: Repository, rev: str) -> Scan:
    """The entries of the local repository's commit ``rev``.

    Raises
    ------
    GitError
        No such revision.
    """
    commit = gitremote.resolve(repo.root, rev)
    items = tree.describing(gitremote.ls_tree(repo.root, commit))
    data = gitremote.read_blobs(repo.root, (i.sha for i in items))
    return tree.entries({i.path: data[i.sha] for i in items}, repo.root)


def diff(repo: Repository, rev_a: str | None = None, rev_b: str | None = None) -> DiffResult:
    """Tracked binaries added, removed or modified from ``rev_a`` (default ``HEAD``) to
    ``rev_b`` (default: the workspace).

    Raises
    ------
    UsageError
        Not in a git repository.
    GitError
        A revision does not exist.
    """
    if not repo.in_git:
        raise UsageError(f"{repo.root}: not in a git repository; diff compares revisions")
    old = committed(repo, rev_a or "HEAD")
    new = committed(repo, rev_b) if rev_b else repo.scan()
    result = DiffResult(rev_a or "HEAD", rev_b, errors=[*old.errors, *new.errors])
    result.changes, result.unchanged = compare(_by_path(old, repo.root),
                                               _by_path(new, repo.root))
    return result
