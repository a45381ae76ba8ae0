"""Path safety, in one place: every name that comes from a readme, a pointer, a gist or the
command line passes one of these gates before it becomes a path on disk."""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from zoo_vcs.errors import PathError


def confine(base: Path, name: str, *, what: str = "path") -> Path:
    """Resolve ``name`` (from a readme or a pointer) inside ``base``, or raise ``PathError``.

    Refused: empty names, absolute paths, ``..`` components, anything under ``.git``,
    NUL bytes, and names whose existing parent folders are symlinks leading outside.

    >>> confine(Path("/m"), "w.caffemodel")
    PosixPath('/m/w.caffemodel')
    >>> confine(Path("/m"), "../etc/passwd")
    Traceback (most recent call last):
    ...
    zoo_vcs.errors.PathError: /m: path '../etc/passwd': escapes the model directory ('..')
    """
    target = base.joinpath(*check_name(str(base), name, what=what).parts)
    shown = f"{what} {name!r}"
    real_base = os.path.realpath(base)
    real_parent = os.path.realpath(target.parent)
    if os.path.commonpath([real_base, real_parent]) != real_base:
        raise PathError(str(base), f"{shown}: leads outside the model directory through a symlink")
    return target


def check_name(base: str, name: str, *, what: str = "path") -> PurePosixPath:
    """The pure half of :func:`confine`: ``name`` as a relative path that stays inside any
    folder (no '..', not absolute, nothing under ``.git``), for names read from a git tree
    before anything is on disk. ``base`` is named in the error.

    >>> check_name("m", "sub/w.caffemodel")
    PurePosixPath('sub/w.caffemodel')
    """
    shown = f"{what} {name!r}"
    if not name or "\x00" in name or "\\" in name:
        raise PathError(base, f"{shown}: not a valid file name")
    pure = PurePosixPath(name)
    if pure.is_absolute() or name.startswith("~"):
        raise PathError(base, f"{shown}: absolute paths are not allowed")
    if any(part == ".." for part in pure.parts):
        raise PathError(base, f"{shown}: escapes the model directory ('..')")
    if any(part.lower() == ".git" for part in pure.parts):
        raise PathError(base, f"{shown}: names a file inside .git")
    return pure


def check_inside(root: Path, path: Path) -> Path:
    """``path`` made absolute and checked to lie inside ``root`` (a command-line argument)."""
    full = Path(os.path.abspath(path))
    try:
        full.relative_to(root)
    except ValueError:
        raise PathError(str(path), f"outside the repository {root}") from None
    return full


def is_plain_name(name: str) -> bool:
    """Whether ``name`` (from a gist) is a plain file name that may be written into a folder.

    >>> [is_plain_name(n) for n in ("readme.md", "../x", ".git", "a/b", "/etc/x", "")]
    [True, False, False, False, False, False]
    """
    return bool(name) and name not in (".", "..") and "/" not in name and "\\" not in name \
        and "\0" not in name and not name.lower().startswith(".git") and name == name.strip()


def names_another_copy(url: str, workspaces: Sequence[str | os.PathLike[str]]) -> bool:
    """Whether a pointer URL can hold another copy of an object than the workspaces' files:
    a network URL, or an absolute local path outside every workspace. A relative path
    names a file beside the pointer, in the workspace.

    >>> names_another_copy("s3://b/w", ["/r"]), names_another_copy("w.caffemodel", ["/r"])
    (True, False)
    >>> names_another_copy("/r/m/w.caffemodel", ["/r"]), names_another_copy("file:///srv/w", [])
    (False, True)
    """
    from zoo_vcs.formats.urls import is_remote

    if is_remote(url):
        return True
    path = urllib.parse.urlsplit(url).path if url.startswith("file://") else url
    if not os.path.isabs(path):
        return False
    real = os.path.realpath(path)
    for root in map(os.path.realpath, workspaces):
        if os.path.commonpath([root, real]) == root:
            return False
    return True
