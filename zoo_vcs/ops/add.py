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
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from zoo_vcs.errors import PathError, PointerError, UsageError, ZooError
from zoo_vcs.formats import pointer as ptr
from zoo_vcs.formats.urls import is_http
from zoo_vcs.repo import modeldir
from zoo_vcs.repo.context import Repository
from zoo_vcs.repo.ignore import ignore_files
from zoo_vcs.repo.paths import check_inside, confine
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
    """
    if not paths:
        raise UsageError("name at least one file to add")
    if urls and len(paths) != 1:
        raise UsageError("--url goes with exactly one file")
    notes: list[str] = []
    files = list(dict.fromkeys(_check_addable(repo, Path(p), urls[0] if urls else None, notes)
                               for p in paths))
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
    with locked(repo.state_dir / "add.lock"):
        readmes = _Readmes(repo.root)
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


def _track(full: Path, d: Digests, urls: Sequence[str], readmes: _Readmes,
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
    readme = _sync_readme(readmes, full, d.sha1, new, notes,
                          old.sha1 if old is not None else None)
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


class _Readmes:
    """Readmes found and parsed once per folder for a whole ``add`` (it may name thousands
    of files in one folder); a readme rewritten by a sync is parsed again."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._found: dict[Path, Path | None] = {}
        self._parsed: dict[Path, Any] = {}

    def candidates(self, full: Path) -> Iterator[Path]:
        for folder in (full.parent, *full.parent.parents):
            if folder not in self._found:
                self._found[folder] = modeldir.find_readme(folder)
            readme = self._found[folder]
            if readme is not None:
                yield readme
            if folder == self.root:
                return

    def load(self, readme: Path) -> Any:
        if readme not in self._parsed:
            try:
                self._parsed[readme] = modeldir.load(readme)
            except ZooError as exc:
                log.warning("%s", exc)
                self._parsed[readme] = None
        return self._parsed[readme]

    def changed(self, readme: Path) -> None:
        self._parsed.pop(readme, None)


def _sync_readme(readmes: _Readmes, full: Path, sha1: str, pointer: ptr.Pointer,
                 notes: list[str], tracked: str | None) -> tuple[Path, ptr.Pointer] | None:
    """Keep the readme naming ``full`` in step; returns it and the pointer (maybe with its URL)."""
    for readme_path in readmes.candidates(full):
        readme = readmes.load(readme_path)
        match = _matching_model(readme_path, readme, full)
        if match is not None:
            readmes.changed(readme_path)
            if readme.form == "lenient" and len(readme.models) == 1:
                notes.append(f"{readme_path}: its Model Zoo keys now form a '---' block at the "
                             "top (Caffe's download_model_binary.py reads only that)")
            return _apply_sync(readme_path, match[0], match[1], full, sha1, pointer, notes,
                               tracked)
    return None


def _matching_model(readme_path: Path, readme: Any, full: Path) -> tuple[int, Any] | None:
    if readme is None:
        return None
    for i, model in enumerate(readme.models):
        if model.caffemodel:
            try:
                if confine(readme_path.parent, model.caffemodel) == full:
                    return i, model
            except PathError:
                continue
    # A readme in the same folder whose only model names no weights yet (init's skeleton).
    if readme_path.parent == full.parent and full.suffix == ".caffemodel":
        empty = [i for i, m in enumerate(readme.models) if not m.caffemodel]
        if len(readme.models) <= 1 and (empty or not readme.models):
            return (empty[0], readme.models[empty[0]]) if empty else (0, None)
    return None


def _apply_sync(readme_path: Path, index: int, model: Any, full: Path, sha1: str,
                pointer: ptr.Pointer, notes: list[str], tracked: str | None
                ) -> tuple[Path, ptr.Pointer]:
    """Update the readme's model ``index`` for ``full`` (now ``sha1``; ``tracked``: the
    SHA1 its pointer named before this add)."""
    updates: dict[str, str | None] = {}
    if model is None or not model.caffemodel:
        updates["caffemodel"] = full.relative_to(readme_path.parent).as_posix()
    old = ((model.sha1 if model is not None else None) or "").lower()
    url = model.caffemodel_url if model is not None else None
    if url and old == sha1:
        # The readme's URL serves these very bytes: it becomes the pointer's first mirror.
        pointer = replace(pointer, urls=(url, *[u for u in pointer.urls if u != url]))
    if old != sha1:
        updates["sha1"] = sha1
    want = next((u for u in pointer.urls if is_http(u)), None)
    if want is None and url and old == tracked and old != sha1:
        # A re-added file whose readme URL served the bytes tracked until now: kept, Caffe's
        # script would download those and fail its check. (On a first add, what the URL
        # serves is not known, and it stays.)
        notes.append(f"{readme_path}: caffemodel_url dropped: {url} served the previous "
                     f"bytes (sha1 {old[:12]}), not these ({sha1[:12]}); name the new "
                     "location with 'zoo-vcs add --url URL FILE'")
    elif want is None:
        want = url
    if want != url:
        updates["caffemodel_url"] = want
    modeldir.update(readme_path, updates, model=index, canonical=True)
    return readme_path, pointer
