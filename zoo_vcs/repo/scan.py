"""Find the tracked files under a folder: pointer files and legacy readme entries.

A *tracked entry* is a binary named by a pointer file (``<file>.zoo``) or, for legacy
Model Zoo folders, by a readme's ``caffemodel``/``sha1``/``caffemodel_url``. Finding
them is a plain directory walk (no git call, no YAML parse for canonical pointers), so
``status`` over thousands of files stays fast.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from zoo_vcs.errors import PathError, PointerError, UsageError, ZooError
from zoo_vcs.formats import pointer as ptr
from zoo_vcs.repo import modeldir
from zoo_vcs.storage.statcache import StatCache

log = logging.getLogger(__name__)

#: Folders never searched for pointers.
SKIP_DIRS = frozenset({".git", ".zoo", ".hg", ".svn", ".dvc", "node_modules", "__pycache__"})


@dataclass(frozen=True)
class Entry:
    """One tracked binary.

    ``pointer`` is None for a legacy readme entry without a usable sha1; ``problem``
    then says why it cannot be verified.
    """

    path: Path
    pointer: ptr.Pointer | None
    pointer_path: Path | None = None
    readme: Path | None = None
    model: int = 0
    problem: str | None = None

    @property
    def legacy(self) -> bool:
        """True when the entry comes from readme frontmatter, not a pointer file."""
        return self.pointer_path is None


@dataclass
class Scan:
    """Entries found under some paths, and the problems met on the way (bad pointers...)."""

    entries: list[Entry] = field(default_factory=list)
    errors: list[ZooError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def scan(root: Path, paths: Sequence[Path] = (), stats: StatCache | None = None) -> Scan:
    """Find every tracked entry under ``paths`` (default: all of ``root``).

    With ``stats``, pointer files unchanged since they were last read (same inode,
    size and mtime) are not read or parsed again.
    """
    found = Scan()
    seen: set[str] = set()
    targets = [Path(os.path.abspath(p)) for p in paths] or [root]
    for target in targets:
        if target.is_dir() and not target.is_symlink():
            for folder, files in _walk(str(target)):
                _scan_folder(folder, files, found, seen, stats)
        else:
            _scan_file(target, found, seen)
    return found


def _walk(top: str) -> Iterable[tuple[str, list[os.DirEntry[str]]]]:
    """Folders under ``top`` (depth first, sorted) with their non-folder entries.

    A hand-rolled scandir walk: directory entries carry their type, so telling files,
    folders and symlinks apart costs no extra system call (``status`` over thousands of
    pointers is dominated by this loop).
    """
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        files = []
        subdirs = []
        for e in entries:
            if e.is_dir(follow_symlinks=False):
                if e.name not in SKIP_DIRS:
                    subdirs.append(e.path)
            else:
                files.append(e)
        yield folder, files
        stack.extend(reversed(subdirs))


def _scan_folder(folder: str, files: list[os.DirEntry[str]], scan: Scan,
                 seen: set[str], stats: StatCache | None = None) -> None:
    pointer_targets: set[str] = set()
    suffix = ptr.SUFFIX
    # One parsed Path per folder; children via '/' and with_name, which skip re-parsing
    # the whole path (Path construction was most of a 10,000-pointer status).
    base = Path(folder)
    for e in files:
        name = e.name
        if name.endswith(suffix) and len(name) > len(suffix):
            binary = e.path[: -len(suffix)]
            pointer_targets.add(binary)
            if binary in seen:
                continue
            seen.add(binary)
            entry = _cached_pointer(e, stats, base) if stats is not None else None
            if entry is None:
                entry = _read_pointer(e.path, scan, symlink=e.is_symlink(), folder=base)
                if entry is not None and stats is not None:
                    _remember_pointer(e, stats, entry)
            if entry is not None:
                scan.entries.append(entry)
    for e in files:
        if modeldir.is_readme(e.name):
            _scan_readme(base / e.name, scan, seen, pointer_targets)


def _scan_file(target: Path, scan: Scan, seen: set[str]) -> None:
    if target.name.endswith(ptr.SUFFIX):
        pointer_file = target
    elif modeldir.is_readme(target.name):
        _scan_readme(target, scan, seen, set())
        return
    else:
        pointer_file = target.with_name(ptr.pointer_path_for(target.name))
    if pointer_file.is_file():
        entry = _read_pointer(str(pointer_file), scan, symlink=pointer_file.is_symlink())
        if entry is not None and str(entry.path) not in seen:
            seen.add(str(entry.path))
            scan.entries.append(entry)
        return
    # Not a pointer: maybe the main weights of a legacy readme beside it.
    readme = modeldir.find_readme(target.parent)
    if readme is not None:
        before = len(scan.entries)
        _scan_readme(readme, scan, seen, set(), only=target)
        if len(scan.entries) > before:
            return
    raise UsageError(f"{target}: not tracked by zoo-vcs (no {pointer_file.name} and no readme "
                     "entry)", hint="track it with 'zoo-vcs add FILE'")


_CACHE_PREFIX = "pointer:"
_FIELD, _URL = "\x1f", "\x1e"  # separators that a validated pointer cannot contain


def _cached_pointer(e: os.DirEntry[str], stats: StatCache, folder: Path) -> Entry | None:
    if e.is_symlink():
        return None  # read (and refused) the slow way
    try:
        value = stats.get(_CACHE_PREFIX + e.path, e.stat())
    except OSError:
        return None
    if value is None:
        return None
    sha1, size, sha256, urls = value.split(_FIELD)
    try:
        p = ptr.Pointer(sha1=sha1, size=int(size) if size else None, sha256=sha256 or None,
                        urls=tuple(urls.split(_URL)) if urls else ())
    except (ValueError, ZooError):
        return None
    pointer_path = folder / e.name
    return Entry(pointer_path.with_name(e.name[: -len(ptr.SUFFIX)]), p,
                 pointer_path=pointer_path)


def _remember_pointer(e: os.DirEntry[str], stats: StatCache, entry: Entry) -> None:
    p = entry.pointer
    if p is None or p.extra:
        return  # unknown keys: always read from the file
    value = _FIELD.join((p.sha1, "" if p.size is None else str(p.size), p.sha256 or "",
                         _URL.join(p.urls)))
    with contextlib.suppress(OSError):
        stats.put(_CACHE_PREFIX + e.path, e.stat(), value)


def _read_pointer(path: str, scan: Scan, *, symlink: bool,
                  folder: Path | None = None) -> Entry | None:
    try:
        if symlink:
            raise PointerError(path, "is a symlink; pointers must be regular files")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        try:
            data = os.read(fd, ptr.MAX_POINTER_BYTES + 1)
        finally:
            os.close(fd)
        p = ptr.decode(data, path)
    except PointerError as exc:
        scan.errors.append(exc)
        return None
    except IsADirectoryError:
        scan.errors.append(PointerError(path, "is a directory, not a pointer file"))
        return None
    except OSError as exc:
        scan.errors.append(PointerError(path, f"cannot read: {exc.strerror}"))
        return None
    binary_name = os.path.basename(path)[: -len(ptr.SUFFIX)]
    if binary_name in (".", "..") or binary_name.lower() == ".git":
        scan.errors.append(PathError(path, f"a pointer for {binary_name!r} would write "
                                           "outside the folder or into git's own files"))
        return None
    pointer_path = folder / os.path.basename(path) if folder is not None else Path(path)
    return Entry(pointer_path.with_name(pointer_path.name[: -len(ptr.SUFFIX)]), p,
                 pointer_path=pointer_path)


def _scan_readme(readme_path: Path, scan: Scan, seen: set[str], pointer_targets: set[str],
                 only: Path | None = None) -> None:
    try:
        readme = modeldir.load(readme_path)
    except ZooError as exc:
        scan.errors.append(exc)
        return
    weights, problems, refused = modeldir.weights_of(readme_path, readme)
    scan.warnings.extend(problems)
    scan.errors.extend(refused)
    for w in weights:
        if only is not None and w.path != only:
            continue
        if str(w.path) in seen or str(w.path) in pointer_targets \
                or w.path.with_name(ptr.pointer_path_for(w.path.name)).exists():
            continue  # a pointer file is authoritative over the frontmatter
        seen.add(str(w.path))
        urls = (w.url,) if w.url else ()
        problem = None
        pointer = None
        if w.sha1 is None:
            problem = f"{readme_path}: no sha1 for {w.path.name}: the weights cannot be verified"
        elif not ptr.SHA1_RE.match(w.sha1):
            problem = f"{readme_path}: sha1 {w.sha1!r} is not 40 hex digits"
        else:
            pointer = ptr.Pointer(sha1=w.sha1, urls=urls)
        scan.entries.append(Entry(w.path, pointer, readme=readme_path, model=w.model,
                                  problem=problem))
