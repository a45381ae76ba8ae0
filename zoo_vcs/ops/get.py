"""``ls`` and ``get``: what another git repository tracks at a revision, and a copy of one
binary or one model folder from it, without a clone.

The repository is read through a cached shallow, blob-filtered mirror
(:class:`zoo_vcs.git.remote.Mirror`): only the pointers and readmes of PATH (and, for a
folder, its text files) are fetched. Binaries then come through the transfer engine,
SHA1-verified, from their pointers' URLs and the remotes of the repository's committed
``.zoo/config``, into the object cache and from there to OUT. OUT never holds ``.git``.
"""

from __future__ import annotations

import logging
import os
import posixpath
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from zoo_vcs.errors import ExistsError, OperationError, UsageError, ZooError
from zoo_vcs.git import remote as gitremote
from zoo_vcs.repo import config as configmod
from zoo_vcs.repo import select, tree
from zoo_vcs.repo.context import Repository
from zoo_vcs.repo.paths import check_name, confine
from zoo_vcs.repo.scan import Entry, Scan, relative
from zoo_vcs.storage.fileio import atomic_write_bytes, place
from zoo_vcs.transfer.progress import Progress

log = logging.getLogger(__name__)

Kind = Literal["binary", "file", "folder", "glob"]
#: Entries read from a tree are anchored here: their paths are repository-relative.
_TOP = Path(".")


@dataclass
class Listing:
    """The tracked binaries of a repository at a revision (``ls``)."""

    repo: str
    rev: str
    commit: str
    path: str
    entries: list[Entry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[ZooError] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``ls --json``)."""
        return {
            "repo": self.repo, "rev": self.rev, "commit": self.commit, "path": self.path,
            "binaries": [{
                "path": e.path.as_posix(),
                "sha1": e.pointer.sha1 if e.pointer else None,
                "size": e.pointer.size if e.pointer else None,
                "urls": list(e.pointer.urls) if e.pointer else [e.url] if e.url else [],
                "source": "readme" if e.legacy else "pointer",
                **({"problem": e.problem} if e.problem else {}),
            } for e in self.entries],
            "warnings": list(self.warnings),
            "errors": [str(e) for e in self.errors],
        }


@dataclass
class GetResult:
    """What ``get`` wrote: text files and verified binaries, under ``out``."""

    repo: str
    rev: str
    commit: str
    out: Path
    files: list[Path] = field(default_factory=list)
    binaries: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"repo": self.repo, "rev": self.rev, "commit": self.commit,
                "out": str(self.out), "files": [str(p) for p in self.files],
                "binaries": [str(p) for p in self.binaries], "skipped": self.skipped}


@dataclass
class _Snapshot:
    """A repository at one commit, read through its mirror."""

    url: str
    rev: str
    mirror: gitremote.Mirror
    commit: str
    #: The repository's own folder when it is a local work tree (relative URLs resolve).
    local: Path | None

    def read(self, items: Sequence[gitremote.TreeItem]) -> dict[str, bytes]:
        data = self.mirror.blobs(i.sha for i in items)
        return {i.path: data[i.sha] for i in items}


def _snapshot(ctx: Repository, source: str, rev: str | None, cwd: Path) -> _Snapshot:
    url = gitremote.normalize_url(source, cwd)
    local = gitremote.is_local(url)
    folder = Path(url.removeprefix("file://"))
    mirror = gitremote.Mirror(url, ctx.config.mirror_dir,
                              offline=ctx.config.offline and not local)
    commit = mirror.commit(rev or "HEAD")
    worktree = folder if local and (folder / ".git").exists() else None
    return _Snapshot(url, rev or "HEAD", mirror, commit, worktree)


def _clean(path: str) -> str:
    """PATH as a repository-relative '/' path ('' for the whole repository)."""
    text = path.replace(os.sep, "/").strip()
    while text.startswith("./"):
        text = text[2:]
    text = text.strip("/")
    if text in ("", "."):
        return ""
    if select.is_glob(text):
        return text
    return check_name("PATH", text, what="path").as_posix()


def _select(snap: _Snapshot, path: str, exclude: Sequence[str]
            ) -> tuple[Kind, list[gitremote.TreeItem], Scan]:
    """What PATH names at the snapshot, the tree items under it, and its tracked entries."""
    if select.is_glob(path):
        chosen = select.Selection((path,), tuple(exclude), strict=True)
        items = [i for root in chosen.roots() for i in snap.mirror.tree(snap.commit, root)]
        scan = tree.entries(snap.read(tree.describing(items)), _TOP)
        scan.entries = [e for e in scan.entries if chosen.matches(relative(_TOP, e.path))]
        if not scan.entries:
            raise UsageError(f"no tracked binary matches {path!r} in {snap.url} at {snap.rev}")
        return "glob", items, scan
    items = snap.mirror.tree(snap.commit, path)
    if path and any(i.path == path and i.is_file for i in items):
        return "file", items, Scan()
    if not path or any(i.path.startswith(path + "/") for i in items):
        scan = tree.entries(snap.read(tree.describing(items)), _TOP)
        leave_out = select.Selection((), tuple(exclude))
        scan.entries = [e for e in scan.entries
                        if (not path or relative(_TOP, e.path).startswith(path + "/"))
                        and not leave_out.excluded(relative(_TOP, e.path))]
        return "folder", items, scan
    # A binary: its pointer, or a readme beside it, sits in its folder.
    items = snap.mirror.tree(snap.commit, posixpath.dirname(path))
    near = [i for i in items if posixpath.dirname(i.path) == posixpath.dirname(path)]
    scan = tree.entries(snap.read(tree.describing(near)), _TOP)
    scan.entries = [e for e in scan.entries if e.path.as_posix() == path]
    if not scan.entries:
        raise UsageError(f"{path}: not in {snap.url} at {snap.rev} (no such file, folder or "
                         "tracked binary)", hint=f"see 'zoo-vcs ls {snap.url}'")
    return "binary", items, scan


def ls(ctx: Repository, source: str, path: str = "", *, rev: str | None = None,
       cwd: Path | None = None) -> Listing:
    """The tracked binaries of repository ``source`` under ``path`` at ``rev``.

    Raises
    ------
    GitError
        The repository or the revision cannot be reached.
    OfflineError
        Offline, and the mirror does not hold ``rev`` yet.
    UsageError
        ``path`` names nothing there.
    """
    snap = _snapshot(ctx, source, rev, cwd or Path.cwd())
    clean = _clean(path)
    listing = Listing(snap.url, snap.rev, snap.commit, clean)
    kind, _items, scan = _select(snap, clean, ())
    listing.entries = scan.entries if kind != "file" else []
    listing.warnings = scan.notes()
    listing.errors = list(scan.errors)
    return listing


def _remotes(snap: _Snapshot, ctx: Repository) -> configmod.Config:
    """The local settings with the remotes of the repository's committed ``.zoo/config``
    (relative remote paths only mean something for a local work tree)."""
    items = [i for i in snap.mirror.tree(snap.commit, ".zoo/config") if i.is_file]
    if not items:
        return replace(ctx.config, remotes=(), default_remote=None)
    text = snap.read(items)[".zoo/config"].decode("utf-8", "replace")
    ini = configmod.parse_committed(text, f"{snap.url}:.zoo/config")
    remotes = []
    for r in configmod.read_remotes(ini):
        if "://" not in r.url and not os.path.isabs(r.url):
            if snap.local is None:
                continue
            r = replace(r, url=os.path.normpath(snap.local / r.url))
        remotes.append(r)
    default = ini.get("core", "remote", fallback="") or None
    return replace(ctx.config, remotes=tuple(remotes), default_remote=default)


def _usable(entry: Entry, snap: _Snapshot) -> Entry:
    """``entry`` anchored where its relative URLs mean something, or without them."""
    assert entry.pointer is not None
    rel = relative(_TOP, entry.path)
    if snap.local is not None:
        return replace(entry, path=snap.local / rel)
    urls = tuple(u for u in entry.pointer.urls if "://" in u or os.path.isabs(u))
    return replace(entry, pointer=replace(entry.pointer, urls=urls))


def _fetch(ctx: Repository, snap: _Snapshot, entries: Sequence[Entry],
           progress: Progress | None) -> None:
    from zoo_vcs.ops.fetch import requests_for
    from zoo_vcs.transfer.common import TransferOptions
    from zoo_vcs.transfer.engine import Engine

    errors: list[ZooError] = [ZooError(e.problem or f"{e.path}: no sha1 to verify against")
                              for e in entries if e.pointer is None]
    cfg = _remotes(snap, ctx)
    remotes = sorted(cfg.remotes, key=lambda r: r.name != cfg.default_remote)
    opts = TransferOptions(timeout=cfg.timeout, retries=cfg.retries,
                           options_for=cfg.options_for, offline=cfg.offline)
    engine = Engine(ctx.cache, opts, jobs=cfg.jobs, progress=progress)
    done = engine.fetch(requests_for([_usable(e, snap) for e in entries if e.pointer],
                                     remotes))
    errors.extend(done.failed.values())
    if errors:
        raise OperationError(errors, action="get")


def _target(out: Path | None, name: str, cwd: Path, *, into_dir: bool) -> Path:
    if out is None:
        return cwd / name
    out = out if out.is_absolute() else cwd / out
    return out / name if into_dir and out.is_dir() else out


def get(ctx: Repository, source: str, path: str, *, rev: str | None = None,
        out: Path | None = None, exclude: Sequence[str] = (), force: bool = False,
        progress: Progress | None = None, cwd: Path | None = None) -> GetResult:
    """Copy ``path`` of repository ``source`` at ``rev`` into ``out``: a tracked binary,
    a committed file, a whole folder (text files and binaries), or the binaries a glob
    pattern names (under ``out``, by their paths below the pattern's fixed folder).

    Raises
    ------
    UsageError
        ``path`` names nothing there.
    ExistsError
        The target exists (without ``force``).
    OperationError
        Some binaries could not be had or verified; nothing was left at the target.
    GitError, OfflineError
        As for :func:`ls`.
    """
    here = cwd or Path.cwd()
    snap = _snapshot(ctx, source, rev, here)
    clean = _clean(path)
    kind, items, scan = _select(snap, clean, exclude)
    if scan.errors:
        raise OperationError(scan.errors, action="get")
    for warning in scan.notes():
        log.warning("%s", warning)
    base = posixpath.basename(clean) or posixpath.basename(
        snap.url.rstrip("/")).removesuffix(".git") or "repository"
    result = GetResult(snap.url, snap.rev, snap.commit, Path())
    if kind in ("binary", "file"):
        result.out = target = _target(out, base, here, into_dir=True)
        if (target.exists() or target.is_symlink()) and not force:
            raise ExistsError(str(target), hint="use --force to replace it, or -o OUT")
        target.parent.mkdir(parents=True, exist_ok=True)
        if kind == "file":
            atomic_write_bytes(target, snap.read([i for i in items if i.path == clean])[clean])
            result.files.append(target)
        else:
            _fetch(ctx, snap, scan.entries, progress)
            result.binaries.append(_place(ctx, scan.entries[0], target))
        return result
    prefix = select.Selection((clean,)).roots()[0] if kind == "glob" else clean
    if kind == "folder":
        target = _target(out, base, here, into_dir=False)
    else:  # the matches keep their paths below the pattern's fixed folder, under OUT
        target = here if out is None else out if out.is_absolute() else here / out
    result.out = target
    if kind == "folder" and target.exists() and not force and (
            not target.is_dir() or any(target.iterdir())):
        raise ExistsError(str(target), hint="use --force to write into it, or -o OUT")
    _fetch(ctx, snap, scan.entries, progress)
    stage = target if kind == "glob" or target.exists() else target.with_name(
        f".{target.name}.zoo-get-{os.getpid()}")
    try:
        if kind == "folder":
            _write_files(snap, items, clean, stage, result)
        for e in scan.entries:
            rel = _below(relative(_TOP, e.path), prefix)
            dest = confine(stage, rel, what="binary")
            if kind == "glob" and dest.exists() and not force:
                raise ExistsError(str(dest), hint="use --force to replace it")
            dest.parent.mkdir(parents=True, exist_ok=True)
            result.binaries.append(_place(ctx, e, dest))
        if stage != target:
            os.rename(stage, target)  # the whole folder appears at once, or not at all
    except BaseException:
        if stage != target:
            shutil.rmtree(stage, ignore_errors=True)
        raise
    if stage != target:
        result.files = [target / p.relative_to(stage) for p in result.files]
        result.binaries = [target / p.relative_to(stage) for p in result.binaries]
    return result


def _below(path: str, prefix: str) -> str:
    """``path`` relative to folder ``prefix`` ('' for the top).

    >>> _below("models/vgg/w.caffemodel", "models"), _below("w.bin", "")
    ('vgg/w.caffemodel', 'w.bin')
    """
    return path[len(prefix) + 1:] if prefix else path


def _write_files(snap: _Snapshot, items: Sequence[gitremote.TreeItem], folder: str,
                 stage: Path, result: GetResult) -> None:
    """The committed files under ``folder``: regular files only (symlinks, submodules
    are left out and said so)."""
    inside = [i for i in items if i.kind == "blob" and (not folder or i.path.startswith(
        folder + "/"))]
    for i in inside:
        if not i.is_file:
            result.skipped.append(f"{i.path}: a symlink or submodule, not copied")
    files = [i for i in inside if i.is_file]
    data = snap.read(files)
    for i in files:
        dest = confine(stage, _below(i.path, folder), what="file")
        dest.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(dest, data[i.path])
        if i.mode == "100755":
            dest.chmod(0o755)
        result.files.append(dest)


def _place(ctx: Repository, entry: Entry, dest: Path) -> Path:
    assert entry.pointer is not None  # entries without sha1 failed in _fetch
    try:
        place(ctx.cache.path(entry.pointer.sha1), dest, ctx.config.link)
    except OSError as exc:
        raise ZooError(f"{dest}: cannot write: {exc.strerror}") from None
    return dest
