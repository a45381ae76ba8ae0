"""What a repository needs from the object cache: the objects named by pointers and legacy
readme entries in its workspaces, its indexes, and every commit reachable from a local
branch, a tag, a worktree's HEAD or the stash (SPEC 4, Safety of stored data).

The history is read with one ``git log --raw`` and one ``git cat-file --batch`` whatever
its length (see :mod:`zoo_vcs.git.repo`), each distinct pointer or readme blob once. A
blob that does not parse still protects every 40-hex-digit word it contains: an object a
commit may name is never judged unreferenced because its pointer was damaged.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from zoo_vcs.errors import GitError, OperationError, ZooError
from zoo_vcs.formats import pointer as ptr
from zoo_vcs.git import repo as gitrepo  # only gc imports this module: GitPython is needed
from zoo_vcs.repo import modeldir
from zoo_vcs.repo import scan as scanmod

_HEX40 = re.compile(rb"(?<![0-9a-fA-F])[0-9a-fA-F]{40}(?![0-9a-fA-F])")


@dataclass
class Needs:
    """The objects a repository (or several) needs, and where else each can be had.

    Attributes
    ----------
    workspace : set of str
        Objects named by the files in the workspaces (pointers and readmes on disk).
    everything : set of str
        ``workspace`` plus the indexes, the history and the stash.
    urls : dict
        SHA1 -> URLs that its pointers (or readme entries) name, wherever they were found.
    names : dict
        SHA1 -> the path of a pointer (or readme) that names it, for messages.
    repositories : list of str
        The repositories counted (git dirs, or the folder outside git).
    folders : list of str
        The workspaces scanned (every worktree of each repository).
    warnings : list of str
        History blobs that did not parse (their 40-hex words were kept).
    """

    workspace: set[str] = field(default_factory=set)
    everything: set[str] = field(default_factory=set)
    urls: dict[str, set[str]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    repositories: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add(self, sha1: str, urls: Iterable[str] = (), *, name: str = "",
            workspace: bool = False) -> None:
        """Record that ``sha1`` is needed (by the workspace, if so), with its URLs."""
        self.everything.add(sha1)
        if workspace:
            self.workspace.add(sha1)
        self.urls.setdefault(sha1, set()).update(urls)
        if name:
            self.names.setdefault(sha1, name)

    def merge(self, other: Needs) -> None:
        """Count ``other``'s repositories too."""
        self.workspace |= other.workspace
        self.everything |= other.everything
        for sha1, urls in other.urls.items():
            self.urls.setdefault(sha1, set()).update(urls)
        for sha1, name in other.names.items():
            self.names.setdefault(sha1, name)
        self.repositories += other.repositories
        self.folders += other.folders
        self.warnings += other.warnings


def tracked_path(path: str) -> bool:
    """Whether a blob at repository path ``path`` can name objects (a pointer or a readme).

    >>> tracked_path("m/w.caffemodel.zoo"), tracked_path("m/README.md"), tracked_path(".zoo")
    (True, True, False)
    """
    name = path.rsplit("/", 1)[-1]
    return (name.endswith(ptr.SUFFIX) and len(name) > len(ptr.SUFFIX)) or modeldir.is_readme(name)


def objects_in_blob(path: str, data: bytes) -> tuple[list[tuple[str, tuple[str, ...]]], str | None]:
    """Pure: the (SHA1, URLs) that a pointer or readme blob names, and a warning when it
    does not parse (then every 40-hex-digit word in it counts, without URLs).

    >>> objects_in_blob("w.zoo", b"zoo-vcs: 1\\nsha1: " + b"a" * 40 + b"\\n")
    ([('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', ())], None)
    >>> objects_in_blob("w.zoo", b"sha1: " + b"B" * 40)[0]
    [('bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', ())]
    """
    try:
        if path.endswith(ptr.SUFFIX):
            p = ptr.decode(data, path)
            return [(p.sha1, p.urls)], None
        from zoo_vcs.formats import frontmatter  # YAML loads only when a readme is read

        readme = frontmatter.parse(data.decode("utf-8"), path=path)
        return [(m.sha1, (m.caffemodel_url,) if m.caffemodel_url else ())
                for m in readme.models
                if m.sha1 is not None and ptr.SHA1_RE.match(m.sha1)], None
    except (ZooError, UnicodeDecodeError) as exc:
        words = sorted({w.decode("ascii").lower() for w in _HEX40.findall(data)})
        return [(w, ()) for w in words], f"{exc}; kept the objects its 40-hex words name"


def of_repository(git_dir: Path | None, root: Path | None,
                  current: scanmod.Scan | None = None) -> Needs:
    """Everything the repository with (common) git dir ``git_dir`` needs from the cache.

    Parameters
    ----------
    git_dir
        The repository's common git dir; None for a folder outside git (then only the
        workspace at ``root`` counts).
    root
        The worktree the command runs in; ``current`` is its scan, when already made.
        Every other worktree is scanned here.

    Raises
    ------
    GitError
        git cannot read the repository, or a blob its history names is missing.
    OperationError
        A pointer or readme in a workspace cannot be read: its object could be any.
    """
    needs = Needs(repositories=[str(git_dir or root)])
    folders: list[Path] = []
    blobs: dict[str, str] = {}
    if git_dir is None:
        folders = [root] if root is not None else []
    else:
        trees = gitrepo.worktrees(git_dir)
        revs = ["--branches", "--tags", *sorted({w.head for w in trees if w.head}),
                *gitrepo.stash_commits(git_dir)]
        blobs = gitrepo.history_blobs(git_dir, revs, tracked_path)
        for tree in trees:
            if tree.bare or not tree.path.is_dir():
                continue  # a worktree whose folder is gone: its HEAD still counts
            folders.append(tree.path)
            for blob, path in gitrepo.index_blobs(tree.path, tracked_path).items():
                blobs.setdefault(blob, path)
    for folder in folders:
        same = root is not None and os.path.realpath(folder) == os.path.realpath(root)
        scan = current if same and current is not None else scanmod.scan(folder)
        needs.folders.append(str(folder))
        if scan.errors:
            raise OperationError(scan.errors, action="gc")
        for e in scan.entries:
            if e.pointer is not None:
                needs.add(e.pointer.sha1, e.pointer.urls, name=str(e.path), workspace=True)
    if blobs:
        _read_history(git_dir, blobs, needs)
    return needs


def _read_history(git_dir: Path | None, blobs: dict[str, str], needs: Needs) -> None:
    assert git_dir is not None  # blobs come from git
    for blob in gitrepo.read_blobs(git_dir, blobs, limit=modeldir.MAX_README_BYTES):
        path = blobs[blob.id]
        if blob.size is None:
            raise GitError(f"{git_dir}: {path} (blob {blob.id[:10]}) is not in the repository "
                           "(a partial clone?): the objects it names cannot be known",
                           hint="fetch the missing blobs (git fetch --refetch) and run gc again")
        if blob.data is None:
            needs.warnings.append(f"{path} (blob {blob.id[:10]}): {blob.size} bytes, too large "
                                  "for a pointer or readme; not read")
            continue
        found, problem = objects_in_blob(path, blob.data)
        if problem is not None:
            needs.warnings.append(f"blob {blob.id[:10]}: {problem}")
        for sha1, urls in found:
            needs.add(sha1, urls, name=f"{path} (history)")

