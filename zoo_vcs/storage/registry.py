"""Which repositories use a cache: one small file per repository in ``<cache>/repos/``.

A cache shared through ``ZOO_VCS_CACHE_DIR`` (or ``[cache] dir``) holds the objects of
several repositories, and ``gc`` may remove an object only when none of them needs it
(SPEC 4, Safety of stored data). Each repository registers itself when a command opens
the cache: a file named by the SHA1 of its git dir's path, holding that path. Writing it
once costs a ``stat`` on every later command.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from zoo_vcs.storage.fileio import SHARED_FILE_MODE, atomic_write_bytes, make_dirs, share

log = logging.getLogger(__name__)

REPOS_DIR = "repos"


@dataclass(frozen=True)
class Registration:
    """One registered repository: its file in ``repos/`` and the git dir it names.

    ``git_dir`` is None when the file cannot be read; ``problem`` then says why.
    """

    file: Path
    git_dir: Path | None
    problem: str | None = None


def entry_name(git_dir: Path) -> str:
    """The registration file's name for ``git_dir`` (already made absolute and real).

    >>> entry_name(Path("/srv/models/.git"))
    'd4409101e569baa421ff504d149dc7f2d9bc4cb1'
    """
    return hashlib.sha1(os.fsencode(git_dir)).hexdigest()


def register(cache_root: Path, git_dir: Path, *, shared: bool = False) -> None:
    """Record that the repository whose (common) git dir is ``git_dir`` uses the cache.

    Never fails a command: a cache the user cannot write to (someone else's, read-only)
    is only reported in the debug log.
    """
    real = Path(os.path.realpath(git_dir))
    entry = cache_root / REPOS_DIR / entry_name(real)
    if os.path.exists(entry):
        return
    try:
        make_dirs(entry.parent, shared=shared)
        atomic_write_bytes(entry, os.fsencode(real) + b"\n")
        if shared:  # every member's gc reads it, whatever this user's umask
            share(entry, SHARED_FILE_MODE)
    except OSError as exc:
        log.debug("cannot register %s in %s: %s", real, cache_root, exc.strerror)


def registered(cache_root: Path) -> list[Registration]:
    """Every repository registered in the cache at ``cache_root``, in file name order."""
    folder = cache_root / REPOS_DIR
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return []
    except OSError as exc:
        return [Registration(folder, None, f"cannot list {folder}: {exc.strerror}")]
    found = []
    for name in names:
        path = folder / name
        if name.startswith("."):
            continue  # an atomic write in progress
        try:
            text = path.read_bytes().rstrip(b"\n")
        except OSError as exc:
            found.append(Registration(path, None, f"cannot read {path}: {exc.strerror}"))
            continue
        if not text or b"\n" in text:
            found.append(Registration(path, None, f"{path} does not name one git dir"))
            continue
        found.append(Registration(path, Path(os.fsdecode(text))))
    return found


def forget(registration: Registration) -> None:
    """Remove a registration (of a repository that no longer exists)."""
    with contextlib.suppress(FileNotFoundError):
        registration.file.unlink()
