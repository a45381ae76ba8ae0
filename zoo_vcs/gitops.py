"""The only GitPython user: create repositories and ask git what it knows.

Imported lazily: commands that only read pointers never pay for loading GitPython.
"""

from __future__ import annotations

from pathlib import Path

import git

from .errors import GitError


def init_repo(path: Path) -> None:
    """``git init`` at ``path`` (which must exist)."""
    try:
        git.Repo.init(path)
    except (git.GitError, OSError) as exc:
        raise GitError(f"{path}: git init failed: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    stderr = getattr(exc, "stderr", None)
    text = (stderr or str(exc)).strip()
    return text.splitlines()[-1] if text else type(exc).__name__
