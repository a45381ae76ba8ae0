"""Start or update tracking a binary: hash it into the cache, write its pointer, git-ignore it,
and keep the readme's ``caffemodel``/``caffemodel_url``/``sha1`` in step (SPEC 2.2), so that
Caffe's own ``download_model_binary.py`` keeps working on the folder: a single-model readme
without ``---`` delimiters gets a canonical block, and a ``caffemodel_url`` that served the
previous bytes of a re-added file is dropped.

A file that is not there yet, given with ``--url``, is downloaded once and tracked.
"""

from __future__ import annotations

import logging
import os
import stat as statmod
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from zoo_vcs.errors import PathError, PointerError, UsageError, ZooError
from zoo_vcs.formats import pointer as ptr
from zoo_vcs.ops.readme_sync import Readmes
from zoo_vcs.repo import modeldir
from zoo_vcs.repo.context import Repository
from zoo_vcs.repo.ignore import ignore_files
from zoo_vcs.repo.paths import check_inside
from zoo_vcs.storage.fileio import atomic_write_bytes, clean_stale_temps, locked, place
from zoo_vcs.storage.hashing import Digests

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Added:
    """One file that ``add`` tracked."""

    path: Path
    pointer_path: Path
    pointer: ptr.Pointer
    changed: bool
    readme: Path | None = None


@dataclass
class AddResult:
    """Files added, and the files a user should now commit."""

    root: Path
    added: list[Added] = field(default_factory=list)
    to_commit: list[Path] = field(default_factory=list)
    #: What the user should know: a file downloaded, a readme URL dropped or rewritten.
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "root": str(self.root),
            "added": [{"path": str(a.path), "pointer": str(a.pointer_path), "sha1": a.pointer.sha1,
                       "size": a.pointer.size, "changed": a.changed,
                       "readme": str(a.readme) if a.readme else None} for a in self.added],
            "to_commit": [str(p) for p in self.to_commit],
            "notes": list(self.notes),
        }


def _check_addable(repo: Repository, path: Path, download: str | None = None,
                   notes: list[str] | None = None) -> Path:
    full = check_inside(repo.root, path)
    name = full.name
    if name.endswith(ptr.SUFFIX):
        raise UsageError(f"{path}: is a pointer file; add the binary it stands for")
    if modeldir.is_readme(name):
        raise UsageError(f"{path}: the readme is a text file for git, not a binary to track")
    rel_parts = full.relative_to(repo.root).parts
    if any(part in (".git", ".zoo") for part in rel_parts):
        raise PathError(str(path), "is inside .git or .zoo")
    try:
        st = os.lstat(full)
    except FileNotFoundError:
        if download is None:
            raise UsageError(f"{path}: no such file",
                             hint="to download it once and track it: zoo-vcs add --url URL "
                                  f"{path}") from None
        _download_new(repo, full, download)
        if notes is not None:
            notes.append(f"{repo.relpath(full)}: downloaded from {download}")
        st = os.lstat(full)
    if statmod.S_ISLNK(st.st_mode):
        raise UsageError(f"{path}: is a symlink; add the file it points to")
    if statmod.S_ISDIR(st.st_mode):
        raise UsageError(f"{path}: is a directory; name the files (e.g. {path}/*.caffemodel)")
    if not statmod.S_ISREG(st.st_mode):
        raise UsageError(f"{path}: not a regular file")
    return full


def add(repo: Repository, paths: Sequence[Path], *, urls: Sequence[str] = ()) -> AddResult:
    """Track each file in ``paths``.

    Parameters
    ----------
    urls
        Where the file's bytes can also be downloaded (mirrors), recorded in its pointer;
        only with a single file.

    Raises
    ------
    UsageError
        A path is not a regular file inside the workspace, or is a pointer/readme.
    UnsafeReadmeError
        A readme the files would be recorded in holds a YAML tag, an alias bomb or
        conflict markers: nothing is stored.
    """
    if not paths:
        raise UsageError("name at least one file to add")
    if urls and len(paths) != 1:
        raise UsageError("--url goes with exactly one file")
    notes: list[str] = []
    files = list(dict.fromkeys(_check_addable(repo, Path(p), urls[0] if urls else None, notes)
                               for p in paths))
    Readmes(repo.root, quiet=True).check(files)
    cache, cfg = repo.cache, repo.config
    cache.clean_tmp()
    for folder in {f.parent for f in files}:
        clean_stale_temps(folder)

    def store(f: Path) -> Digests:
        try:
            return cache.add_file(f, sha256=cfg.sha256)
        except OSError as exc:  # disk full, permissions: name the file and the cause
            where = cache.root if exc.filename != str(f) else f
            raise ZooError(f"{repo.relpath(f)}: cannot store in the cache ({where}): "
                           f"{exc.strerror or exc}") from None

    with ThreadPoolExecutor(max_workers=max(1, min(cfg.jobs, len(files)))) as pool:
        digests = list(pool.map(store, files))
    result = AddResult(repo.root, notes=notes)
    touched: dict[Path, None] = {}
    # Pointers, .gitignore files and readmes are read, changed and written back: two adds
    # at once in one repository must not lose each other's lines.
    with locked(repo.state_dir / "add.lock", shared=repo.config.cache_shared):
        readmes = Readmes(repo.root)
        for full, d in zip(files, digests, strict=True):
            added = _track(full, d, urls, readmes, result.notes)
            result.added.append(added)
            repo.stats.put(str(full), full.stat(), d.sha1)
            touched[added.pointer_path] = None
            if added.readme is not None:
                touched[added.readme] = None
        for gitignore in ignore_files(files):
            touched[gitignore] = None
    repo.save()
    result.to_commit = list(touched)
    return result


def _download_new(repo: Repository, full: Path, url: str) -> None:
    """``add --url URL FILE`` for a FILE not here yet: download it once, unverified (there
    is nothing to verify against yet: the SHA1 it gets is what the pointer records)."""
    from zoo_vcs.ops.fetch import fetch_unverified

    full.parent.mkdir(parents=True, exist_ok=True)
    sha1 = fetch_unverified(repo, url, repo.relpath(full), base_dir=full.parent)
    try:
        place(repo.cache.path(sha1), full, repo.config.link)
    except OSError as exc:
        raise ZooError(f"{repo.relpath(full)}: cannot write: {exc.strerror}") from None


def _track(full: Path, d: Digests, urls: Sequence[str], readmes: Readmes,
           notes: list[str]) -> Added:
    pointer_path = full.with_name(ptr.pointer_path_for(full.name))
    old = _read_existing(pointer_path)
    if old is not None and old.sha1 == d.sha1:
        new = replace(old, size=d.size, sha256=d.sha256 or old.sha256)
    else:
        # New content: URLs of the old pointer name old bytes, so they go.
        extra = dict(old.extra) if old is not None else {}
        new = ptr.Pointer(sha1=d.sha1, size=d.size, sha256=d.sha256, extra=extra)
    for url in urls:
        new = new.with_url(url)
    readme = readmes.sync(full, d.sha1, new, tracked=old.sha1 if old is not None else None,
                          notes=notes)
    if readme is not None:
        new = readme[1]
    text = ptr.encode(new)
    changed = old is None or ptr.encode(old) != text
    if changed:
        atomic_write_bytes(pointer_path, text.encode("utf-8"))
    return Added(full, pointer_path, new, changed, readme[0] if readme else None)


def _read_existing(pointer_path: Path) -> ptr.Pointer | None:
    try:
        return ptr.decode(pointer_path.read_bytes(), str(pointer_path))
    except FileNotFoundError:
        return None
    except PointerError as exc:
        log.warning("%s; replacing it", exc)
        return None
