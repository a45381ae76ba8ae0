"""A command's arguments: the repository it acts on, its PATHs made absolute, and its
glob PATHs and ``--exclude`` patterns turned into one :class:`~zoo_vcs.repo.select.Selection`
(relative to the repository root, as git does with pathspecs)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from zoo_vcs.errors import UsageError
from zoo_vcs.repo import select
from zoo_vcs.repo.context import Repository

PathLike = str | os.PathLike[str]


def open_repo(paths: Sequence[PathLike] = (), flags: Mapping[str, object] | None = None,
          cwd: PathLike | None = None) -> tuple[Repository, list[Path]]:
    """The repository context for a command, and its PATH arguments made absolute."""
    base = Path(cwd) if cwd is not None else Path.cwd()
    resolved = [p if p.is_absolute() else base / p for p in map(Path, paths)]
    # Like git, the current folder's repository is the one acted on; outside one, the
    # first path's (so `download-binary DIR` works on a plain folder anywhere).
    repo = Repository.open(base, flags)
    if not repo.in_git and resolved:
        repo = Repository.open(resolved[0], flags)
    return repo, resolved


def open_selected(paths: Sequence[PathLike], exclude: Sequence[str],
                   flags: Mapping[str, object] | None, cwd: PathLike | None, *,
                   defaults: bool = False) -> tuple[Repository, list[Path], select.Selection]:
    """Like :func:`open_repo`, with PATH arguments split into plain paths and glob patterns
    (a PATH naming an existing file is a path even if its name has glob characters).

    ``defaults``: the command honours the ``[fetch]`` include/exclude of the configuration
    when no PATH is given (checkout, fetch, pull).
    """
    base = Path(cwd) if cwd is not None else Path.cwd()
    plain: list[PathLike] = []
    patterns: list[str] = []
    for p in paths:
        text = os.fspath(p)
        if select.is_glob(text) and not (base / text).exists():
            patterns.append(text)
        else:
            plain.append(p)
    repo, resolved = open_repo(plain, flags, cwd)
    here = os.path.relpath(base, repo.root).replace(os.sep, "/")

    def rooted(pattern: str) -> str:
        if os.path.isabs(pattern):  # an absolute path with globs: anchor it at the root
            return "/" + os.path.relpath(pattern, repo.root).replace(os.sep, "/")
        if here.startswith(".."):
            raise UsageError(f"{pattern!r}: a pattern is matched inside the repository "
                             f"{repo.root}, and the current folder is outside it")
        return select.relative_pattern(pattern, here)

    chosen = select.choose([rooted(p) for p in patterns], [rooted(x) for x in exclude],
                           repo.config.fetch if defaults else None, paths_given=bool(paths))
    return repo, resolved, chosen
