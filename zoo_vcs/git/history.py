"""Whole-history queries (every version of every file, object sizes, blob streams) and the
ref, index and commit updates of ``migrate``: git run as a process, through
:func:`zoo_vcs.git.scratch.run` (many paths or ids go through stdin, which has no length
limit); failures become ``GitError``.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from zoo_vcs.errors import GitError
from zoo_vcs.git.scratch import run

#: Modes of regular files in a tree (symlinks are 120000, submodules 160000).
FILE_MODES = ("100644", "100755")


@dataclass(frozen=True)
class TreeFile:
    """A regular file of a commit's tree."""

    path: str
    mode: str
    blob: str
    size: int


def _git(root: Path, *args: str, input: bytes | None = None) -> str:
    out = run(root, list(args), what=f"git {args[0]} in {root}", input=input)
    return out.decode("utf-8", "surrogateescape")


def _succeeds(root: Path, *args: str) -> str | None:
    """Standard output of a git query, or None when git says no (a non-zero exit)."""
    try:
        return _git(root, *args).strip()
    except GitError:
        return None


def files_at(root: Path, rev: str = "HEAD") -> list[TreeFile]:
    """Every regular file (not symlinks or submodules) of ``rev``'s tree, with sizes."""
    out = _git(root, "ls-tree", "-r", "-l", "-z", "--full-tree", rev)
    files = []
    for item in out.split("\0"):
        meta, _, path = item.partition("\t")
        if not path:
            continue
        mode, kind, blob, size = meta.split()
        if kind == "blob" and mode in FILE_MODES:
            files.append(TreeFile(path, mode, blob, int(size)))
    return files


def files_in_history(root: Path, refs: Sequence[str]) -> set[tuple[str, str]]:
    """(path, blob) of every regular file that a commit reachable from ``refs`` added or
    changed: every version of every file in that history, each once."""
    if not refs:
        return set()
    # -m: a merge is compared with each parent, so versions a merge alone brings count.
    out = _git(root, "log", "--raw", "--no-renames", "--no-abbrev", "-m", "--root", "-z",
               "--format=", *refs, "--")
    found = set()
    items = iter(out.split("\0"))
    for meta in items:
        meta = meta.strip("\n")
        if not meta.startswith(":"):
            continue
        path = next(items, "")
        _old_mode, new_mode, _old, blob, _status = meta[1:].split()
        if new_mode in FILE_MODES:
            found.add((path, blob))
    return found


def object_sizes(root: Path, blobs: Iterable[str]) -> dict[str, tuple[int, int]]:
    """Size and size on disk (compressed, in packs or loose) of each object."""
    ids = list(dict.fromkeys(blobs))
    if not ids:
        return {}
    out = _git(root, "cat-file", "--batch-check=%(objectname) %(objectsize) %(objectsize:disk)",
               input="".join(f"{b}\n" for b in ids).encode())
    sizes = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3:
            sizes[parts[0]] = (int(parts[1]), int(parts[2]))
    return sizes


@contextlib.contextmanager
def open_blob(root: Path, blob: str) -> Iterator[io.BufferedReader]:
    """A stream of the bytes of ``blob`` (constant memory, whatever its size).

    Raises
    ------
    GitError
        git could not read the object.
    """
    proc = subprocess.Popen(["git", "cat-file", "blob", blob], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout = cast(io.BufferedReader, proc.stdout)  # Popen made both pipes: not None
    stderr = cast(io.BufferedReader, proc.stderr)
    try:
        yield stdout
    except BaseException:
        proc.kill()
        raise
    finally:
        stdout.close()
        err = stderr.read()
        stderr.close()
        code = proc.wait()
    if code != 0:
        reason = err.decode("utf-8", "replace").strip() or f"exit {code}"
        raise GitError(f"git cat-file {blob} failed in {root}: {reason}")


def dirty_paths(root: Path) -> list[str]:
    """Tracked files with staged or unstaged changes (untracked files do not count)."""
    out = _git(root, "status", "--porcelain=v1", "-z", "--untracked-files=no")
    paths = []
    items = iter(out.split("\0"))
    for item in items:
        if len(item) < 4:
            continue
        paths.append(item[3:])
        if item[0] in "RC":
            next(items, None)  # a rename's source path follows
    return paths


def head_branch(root: Path) -> str | None:
    """The ref HEAD names (``refs/heads/main``), or None when HEAD is detached."""
    return _succeeds(root, "symbolic-ref", "-q", "HEAD") or None


def head_commit(root: Path) -> str | None:
    """The commit HEAD points at, or None in a repository without commits."""
    return _succeeds(root, "rev-parse", "-q", "--verify", "HEAD^{commit}") or None


def refs(root: Path, *prefixes: str) -> dict[str, str]:
    """Refs under ``prefixes`` (``refs/heads``...) and the object each points at."""
    out = _git(root, "for-each-ref", "--format=%(refname) %(objectname)", *prefixes)
    return dict(line.split(" ", 1) for line in out.splitlines() if line)


def update_ref(root: Path, ref: str, target: str, *, message: str = "zoo-vcs") -> None:
    """Point ``ref`` at ``target``."""
    _git(root, "update-ref", "-m", message, ref, target)


def delete_ref(root: Path, ref: str) -> None:
    """Remove ``ref``."""
    _git(root, "update-ref", "-d", ref)


def worktree_count(root: Path) -> int:
    """How many work trees share this repository (1 without linked worktrees)."""
    out = _git(root, "worktree", "list", "--porcelain")
    return sum(1 for line in out.splitlines() if line.startswith("worktree "))


def _pathspecs(paths: Iterable[str]) -> bytes:
    # Literal: a file may be called 'w[1].caffemodel'.
    return b"".join(b":(literal)" + p.encode("utf-8", "surrogateescape") + b"\0"
                    for p in paths)


def untrack(root: Path, paths: Iterable[str]) -> None:
    """``git rm --cached``: drop ``paths`` from the index, keeping the files."""
    _git(root, "rm", "--cached", "-q", "--pathspec-from-file=-", "--pathspec-file-nul",
         input=_pathspecs(paths))


def stage(root: Path, paths: Iterable[str]) -> None:
    """``git add`` exactly ``paths`` (even where a ``.gitignore`` rule would skip them)."""
    _git(root, "add", "-f", "--pathspec-from-file=-", "--pathspec-file-nul",
         input=_pathspecs(paths))


def commit(root: Path, message: str) -> str:
    """Commit the index (hooks run, as for any commit); returns the new commit."""
    _git(root, "commit", "-q", "-m", message)
    return _git(root, "rev-parse", "HEAD").strip()


def reset_hard(root: Path) -> None:
    """``git reset --hard``: index and tracked files back to HEAD."""
    _git(root, "reset", "-q", "--hard")
