"""The folder zoo-vcs acts on: its root and git dir, its config, and the tracked files under it.

A *tracked entry* is a binary named by a pointer file (``<file>.zoo``) or, for legacy
Model Zoo folders, by a readme's ``caffemodel``/``sha1``/``caffemodel_url``. Finding
them is a plain directory walk (no git call, no YAML parse for canonical pointers), so
``status`` over thousands of files stays fast.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import config as configmod
from . import modeldir
from . import pointer as ptr
from .errors import PathError, PointerError, UsageError, ZooError

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


@dataclass(frozen=True)
class Workspace:
    """A repository root (or a plain folder) with its git dir when there is one."""

    root: Path
    git_dir: Path | None

    @classmethod
    def discover(cls, start: Path | None = None) -> Workspace:
        """The repository containing ``start`` (default: the current folder), or the folder."""
        here = Path(os.path.abspath(start or Path.cwd()))
        if not here.is_dir():
            here = here.parent
        for folder in (here, *here.parents):
            dotgit = folder / ".git"
            if dotgit.is_dir():
                return cls(folder, _common_dir(dotgit))
            if dotgit.is_file():
                return cls(folder, _common_dir(_gitdir_from_file(dotgit)))
        return cls(here, None)

    def config(self, flags: Mapping[str, object] | None = None) -> configmod.Config:
        """This workspace's resolved settings."""
        return configmod.resolve(self.root, configmod.default_cache_root(self.git_dir),
                                 flags=flags)

    def state_dir(self, cfg: configmod.Config) -> Path:
        """Where per-repository state (the stat cache) lives."""
        if self.git_dir is not None:
            return self.git_dir / "zoo-vcs"
        return cfg.cache_dir

    def relpath(self, path: Path) -> str:
        """``path`` relative to the root when inside it, for messages."""
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def scan(self, paths: Sequence[Path] = ()) -> Scan:
        """Find every tracked entry under ``paths`` (default: the whole workspace)."""
        scan = Scan()
        seen: set[Path] = set()
        targets = [Path(os.path.abspath(p)) for p in paths] or [self.root]
        for target in targets:
            if target.is_dir() and not target.is_symlink():
                for folder, files in _walk(target):
                    _scan_folder(folder, files, scan, seen)
            else:
                _scan_file(target, scan, seen)
        return scan


def _gitdir_from_file(dotgit: Path) -> Path:
    text = dotgit.read_text(encoding="utf-8", errors="replace").strip()
    if not text.startswith("gitdir:"):
        return dotgit
    gitdir = Path(text[len("gitdir:"):].strip())
    return gitdir if gitdir.is_absolute() else (dotgit.parent / gitdir).resolve()


def _common_dir(gitdir: Path) -> Path:
    # Linked worktrees keep a 'commondir' file: the cache belongs to the main repository.
    commondir = gitdir / "commondir"
    if commondir.is_file():
        rel = commondir.read_text(encoding="utf-8").strip()
        return (gitdir / rel).resolve()
    return gitdir


def _walk(top: Path) -> Iterable[tuple[Path, list[str]]]:
    for folder, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        yield Path(folder), sorted(files)


def _scan_folder(folder: Path, files: list[str], scan: Scan, seen: set[Path]) -> None:
    pointer_targets = set()
    for name in files:
        if name.endswith(ptr.SUFFIX) and len(name) > len(ptr.SUFFIX):
            path = folder / name
            entry = _read_pointer(path, scan)
            pointer_targets.add(folder / ptr.binary_path_for(name))
            if entry is not None and entry.path not in seen:
                seen.add(entry.path)
                scan.entries.append(entry)
    for name in files:
        if modeldir.README_RE.match(name):
            _scan_readme(folder / name, scan, seen, pointer_targets)


def _scan_file(target: Path, scan: Scan, seen: set[Path]) -> None:
    if target.name.endswith(ptr.SUFFIX):
        pointer_file = target
    elif modeldir.README_RE.match(target.name):
        _scan_readme(target, scan, seen, set())
        return
    else:
        pointer_file = target.with_name(ptr.pointer_path_for(target.name))
    if pointer_file.is_file():
        entry = _read_pointer(pointer_file, scan)
        if entry is not None and entry.path not in seen:
            seen.add(entry.path)
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


def _read_pointer(path: Path, scan: Scan) -> Entry | None:
    try:
        if path.is_symlink():
            raise PointerError(str(path), "is a symlink; pointers must be regular files")
        with open(path, "rb") as f:
            data = f.read(ptr.MAX_POINTER_BYTES + 1)
        p = ptr.decode(data, str(path))
    except PointerError as exc:
        scan.errors.append(exc)
        return None
    except OSError as exc:
        scan.errors.append(PointerError(str(path), f"cannot read: {exc.strerror}"))
        return None
    return Entry(path.with_name(ptr.binary_path_for(path.name)), p, pointer_path=path)


def _scan_readme(readme_path: Path, scan: Scan, seen: set[Path], pointer_targets: set[Path],
                 only: Path | None = None) -> None:
    try:
        readme = modeldir.load(readme_path)
    except ZooError as exc:
        scan.errors.append(exc)
        return
    weights, problems = modeldir.weights_of(readme_path, readme)
    scan.warnings.extend(problems)
    for w in weights:
        if only is not None and w.path != only:
            continue
        if w.path in seen or w.path in pointer_targets \
                or w.path.with_name(ptr.pointer_path_for(w.path.name)).exists():
            continue  # a pointer file is authoritative over the frontmatter
        seen.add(w.path)
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


def check_inside(ws: Workspace, path: Path) -> Path:
    """``path`` made absolute and checked to lie inside the workspace."""
    full = Path(os.path.abspath(path))
    try:
        full.relative_to(ws.root)
    except ValueError:
        raise PathError(str(path), f"outside the repository {ws.root}") from None
    return full
