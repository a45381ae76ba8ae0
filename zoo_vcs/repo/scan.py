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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from zoo_vcs.errors import PathError, PointerError, UsageError, ZooError
from zoo_vcs.formats import pointer as ptr
from zoo_vcs.repo import modeldir
from zoo_vcs.repo.select import ALL, Selection
from zoo_vcs.storage.statcache import StatCache

if TYPE_CHECKING:
    from zoo_vcs.formats.frontmatter import Readme

log = logging.getLogger(__name__)

#: Folders never searched for pointers.
SKIP_DIRS = frozenset({".git", ".zoo", ".hg", ".svn", ".dvc", "node_modules", "__pycache__"})


@dataclass(frozen=True)
class Entry:
    """One tracked binary.

    ``pointer`` is None for a legacy readme entry without a usable sha1; ``problem``
    then says why it cannot be verified, and ``url`` is the readme's ``caffemodel_url``
    (downloadable unverified, with ``--allow-unverified``).
    """

    path: Path
    pointer: ptr.Pointer | None
    pointer_path: Path | None = None
    readme: Path | None = None
    model: int = 0
    problem: str | None = None
    url: str | None = None

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
    #: Readmes with no Model Zoo key and no pointer beside them, each with its message.
    keyless: dict[Path, str] = field(default_factory=dict)

    def notes(self, root: Path | None = None) -> list[str]:
        """The warnings, then a line per keyless readme (SPEC 4: never silently zero
        binaries). The root readme of a repository that tracks binaries elsewhere is the
        project's own page, not a model's, and is not reported."""
        return [*self.warnings, *(message for path, message in self.keyless.items()
                                  if not (self.entries and path.parent == root))]


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


def scan_selected(root: Path, paths: Sequence[Path] = (), selection: Selection = ALL,
                  stats: StatCache | None = None) -> Scan:
    """The entries under plain ``paths`` plus those an include pattern of ``selection``
    names, less those it excludes (see :mod:`zoo_vcs.repo.select`).

    Patterns are matched against repository-relative paths, so a binary is selected
    whether or not its file exists. Problems met while walking for patterns (a broken
    pointer, a readme warning) are kept only for what the patterns select.

    Raises
    ------
    UsageError
        A strict selection has an include pattern that matches no tracked binary.
    """
    if not selection.include:
        found = scan(root, paths, stats)
    else:
        found = scan(root, paths, stats) if paths else Scan()
        walked = scan(root, [root / r for r in selection.roots() if (root / r).is_dir()], stats)
        known = {e.path for e in found.entries}
        matched = [e for e in walked.entries if selection.included(relative(root, e.path))]
        if selection.strict:
            missing = selection.unmatched(relative(root, e.path) for e in matched)
            if missing:
                raise UsageError(f"no tracked binary matches {', '.join(map(repr, missing))}",
                                 hint="patterns are matched against repository-relative paths "
                                      "of tracked binaries; see 'zoo-vcs status --all'")
        found.entries.extend(e for e in matched if e.path not in known)
        readmes = tuple(str(e.readme) + ":" for e in matched if e.readme is not None)
        found.errors.extend(err for err in walked.errors if _selected_problem(
            root, selection, getattr(err, "path", None)))
        found.warnings.extend(w for w in walked.warnings if w.startswith(readmes)
                              or _selected_problem(root, selection, w.split(": ", 1)[0]))
        found.keyless.update((p, m) for p, m in walked.keyless.items()
                             if _selected_problem(root, selection, str(p)))
    if selection.exclude:
        found.entries = [e for e in found.entries
                         if not selection.excluded(relative(root, e.path))]
    return found


def relative(root: Path, path: Path) -> str:
    """``path`` relative to ``root``, '/'-separated: what selection patterns match.

    >>> relative(Path("/r"), Path("/r/models/a/w.caffemodel"))
    'models/a/w.caffemodel'
    """
    return os.path.relpath(path, root).replace(os.sep, "/")


def _selected_problem(root: Path, selection: Selection, path: object) -> bool:
    """Whether a problem met at ``path`` (a pointer, a readme) concerns the selection."""
    if not isinstance(path, str):
        return True  # a problem without a file: always shown
    target = Path(path)
    if target.name.endswith(ptr.SUFFIX):
        return selection.included(relative(root, target.with_name(target.name[:-len(ptr.SUFFIX)])))
    # A readme (or another file): its folder is selected.
    return selection.included(relative(root, target.parent) + "/")


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
    refused = refused_name(path)
    if refused is not None:
        scan.errors.append(refused)
        return None
    pointer_path = folder / os.path.basename(path) if folder is not None else Path(path)
    return Entry(pointer_path.with_name(pointer_path.name[: -len(ptr.SUFFIX)]), p,
                 pointer_path=pointer_path)


def refused_name(pointer_path: str) -> PathError | None:
    """Why the binary a pointer file names must not be written, or None."""
    binary_name = os.path.basename(pointer_path)[: -len(ptr.SUFFIX)]
    if binary_name in (".", "..") or binary_name.lower() == ".git":
        return PathError(pointer_path, f"a pointer for {binary_name!r} would write outside "
                                       "the folder or into git's own files")
    return None


def _scan_readme(readme_path: Path, scan: Scan, seen: set[str], pointer_targets: set[str],
                 only: Path | None = None) -> None:
    try:
        readme = modeldir.load(readme_path)
    except ZooError as exc:
        scan.errors.append(exc)
        return
    entries, problems, refused = readme_entries(
        readme_path, readme, lambda p: str(p) in pointer_targets
        or p.with_name(ptr.pointer_path_for(p.name)).exists())
    scan.warnings.extend(problems)
    scan.errors.extend(refused)
    if readme.form == "none" and not pointer_targets:
        scan.keyless[readme_path] = keyless_message(readme_path, readme)
    for e in entries:
        if (only is not None and e.path != only) or str(e.path) in seen:
            continue
        seen.add(str(e.path))
        scan.entries.append(e)


def keyless_message(readme_path: Path, readme: Readme) -> str:
    """What ``status`` says about a readme without any Model Zoo key (and what the parser
    thinks may be the weights' location)."""
    hint = next((p.message for p in readme.problems if p.line is None), "")
    return (f"{readme_path}: no Model Zoo keys (name, caffemodel, caffemodel_url, sha1): no "
            "binary is tracked from it" + (hint[hint.index(";"):] if ";" in hint else ""))


def readme_entries(readme_path: Path, readme: Readme, has_pointer: Callable[[Path], bool], *,
                   on_disk: bool = True) -> tuple[list[Entry], list[str], list[ZooError]]:
    """The legacy entries a parsed readme names, its warnings and its refused names.

    A binary that ``has_pointer`` is left out: its pointer file is authoritative over the
    frontmatter. Shared by the workspace scan and the readers of committed trees
    (``on_disk`` False).
    """
    weights, problems, refused = modeldir.weights_of(readme_path, readme, on_disk=on_disk)
    entries = []
    for w in weights:
        if has_pointer(w.path):
            continue
        problem = None
        pointer = None
        if w.sha1 is None:
            problem = f"{readme_path}: no sha1 for {w.path.name}: the weights cannot be verified"
        elif not ptr.SHA1_RE.match(w.sha1):
            problem = f"{readme_path}: sha1 {w.sha1!r} is not 40 hex digits"
        else:
            pointer = ptr.Pointer(sha1=w.sha1, urls=(w.url,) if w.url else ())
        entries.append(Entry(w.path, pointer, readme=readme_path, model=w.model,
                             problem=problem, url=w.url))
    return entries, problems, list(refused)
