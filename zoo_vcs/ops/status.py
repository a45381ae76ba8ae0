"""Workspace state of tracked binaries (``ok``, ``missing``, ``modified``, ``unverified``),
and, on request, whether a storage remote holds each one's object.

Uses the stat cache so that files unchanged since they were last hashed cost one
``stat`` call; ``rehash=True`` (``verify``) hashes everything regardless. The remote is
asked through the transfer engine's presence check: one listing for many objects, a
size request each for a few, never a download.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from zoo_vcs.errors import PathError, ZooError
from zoo_vcs.repo.context import Repository
from zoo_vcs.repo.scan import Entry
from zoo_vcs.repo.select import ALL, Selection
from zoo_vcs.storage.cache import ObjectCache
from zoo_vcs.storage.hashing import hash_file
from zoo_vcs.storage.statcache import StatCache

State = Literal["ok", "missing", "modified", "unverified"]
RemoteState = Literal["present", "missing"]


@dataclass(frozen=True)
class FileState:
    """One entry's workspace state; ``actual`` is the SHA1 found on disk (None if not read)."""

    entry: Entry
    state: State
    actual: str | None = None
    cached: bool = False
    #: Why a file was judged without being read (not a regular file).
    note: str | None = None
    #: Whether the remote checked holds the object (None: not checked, or no answer).
    remote: RemoteState | None = None


@dataclass
class StatusReport:
    """What ``status`` found: one :class:`FileState` per tracked binary, plus scan problems."""

    root: Path
    files: list[FileState] = field(default_factory=list)
    errors: list[ZooError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: The remote whose objects were checked (``status --remote``), by name.
    remote: str | None = None

    @property
    def clean(self) -> bool:
        """True when every binary is present and correct and nothing failed."""
        return not self.errors and all(f.state == "ok" for f in self.files)

    def failures(self) -> list[ZooError]:
        """What makes ``status`` fail: the errors met, and each binary whose object the
        checked remote lacks (a clone could not get it from there)."""
        missing = [ZooError(f"{_rel(f.entry.path, self.root)}: "
                            + (f"object {f.entry.pointer.sha1[:12]} is not on remote "
                               f"{self.remote!r}" if f.entry.pointer else
                               f"no sha1, so remote {self.remote!r} cannot hold it"),
                            hint=f"upload it with 'zoo-vcs push -r {self.remote}'")
                   for f in self.files if f.remote == "missing"]
        return [*self.errors, *missing]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``status --json``)."""
        return {
            "root": str(self.root),
            "files": [
                {
                    "path": _rel(f.entry.path, self.root),
                    "state": f.state,
                    "sha1": f.entry.pointer.sha1 if f.entry.pointer else None,
                    "actual_sha1": f.actual,
                    "size": f.entry.pointer.size if f.entry.pointer else None,
                    "cached": f.cached,
                    "source": "readme" if f.entry.legacy else "pointer",
                    **({"problem": f.entry.problem} if f.entry.problem else {}),
                    **({"remote": f.remote} if self.remote is not None else {}),
                }
                for f in self.files
            ],
            **({"remote_name": self.remote} if self.remote is not None else {}),
            "errors": [str(e) for e in self.errors],
            "warnings": list(self.warnings),
        }


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def inspect(entries: Sequence[Entry], stats: StatCache, cache: ObjectCache, *,
            rehash: bool = False, jobs: int = 4) -> list[FileState]:
    """Decide each entry's state, hashing only files whose stat changed (all with ``rehash``)."""
    results: list[FileState | None] = [None] * len(entries)
    to_hash: list[tuple[int, os.stat_result]] = []
    if len(entries) > 64:
        # One listing of the cache instead of a stat per file.
        cache = _KnownObjects(cache)
    for i, entry in enumerate(entries):
        try:
            st = os.stat(entry.path)
        except (FileNotFoundError, NotADirectoryError):
            results[i] = _state(entry, "missing", None, cache)
            continue
        if not stat.S_ISREG(st.st_mode):
            # A directory or a device (a symlink to /dev/zero would hash forever): never
            # read, and reported, since a repository can carry such a symlink.
            kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
            results[i] = FileState(entry, "modified", None, False, note=f"is {kind}")
            continue
        known = None if rehash else stats.get(str(entry.path), st)
        if known is None:
            to_hash.append((i, st))
        else:
            results[i] = _judge(entry, known, cache)
    if to_hash:
        def digest(item: tuple[int, os.stat_result]) -> tuple[str, bool]:
            # Where a pointer records a SHA256 (verify re-hashes), it must match too.
            p = entries[item[0]].pointer
            want256 = p.sha256 if rehash and p is not None else None
            d = hash_file(entries[item[0]].path, sha256=want256 is not None)
            return d.sha1, want256 is None or d.sha256 == want256

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            for (i, st), (sha1, ok256) in zip(to_hash, pool.map(digest, to_hash), strict=True):
                stats.put(str(entries[i].path), st, sha1)
                results[i] = _judge(entries[i], sha1 if ok256 else "sha256-mismatch", cache)
    return [r for r in results if r is not None]


class _KnownObjects(ObjectCache):
    """An :class:`ObjectCache` whose ``has`` answers from one listing of the cache."""

    def __init__(self, cache: ObjectCache) -> None:
        super().__init__(cache.root)
        self._ids = set(cache.objects())

    def has(self, sha1: str) -> bool:
        return sha1 in self._ids


def _state(entry: Entry, state: State, actual: str | None, cache: ObjectCache) -> FileState:
    cached = entry.pointer is not None and cache.has(entry.pointer.sha1)
    return FileState(entry, state, actual, cached)


def _judge(entry: Entry, actual: str, cache: ObjectCache) -> FileState:
    if entry.pointer is None:
        return _state(entry, "unverified", actual, cache)
    return _state(entry, "ok" if actual == entry.pointer.sha1 else "modified", actual, cache)


def status(repo: Repository, paths: Sequence[Path], *, select: Selection = ALL,
           check_remote: bool = False, remote: str | None = None) -> StatusReport:
    """The state of every tracked binary under ``paths`` (default: the whole repository)
    and named by ``select``.

    With ``check_remote``, also whether the remote ``remote`` (default: the default
    remote) holds each binary's object, with the right size.

    Raises
    ------
    ConfigError
        ``check_remote`` and no such remote (or no default).
    """
    scan = repo.scan(paths, select=select)
    report = StatusReport(repo.root, errors=list(scan.errors), warnings=scan.notes(repo.root))
    report.files = inspect(scan.entries, repo.stats, repo.cache, jobs=repo.config.jobs)
    report.errors.extend(PathError(str(f.entry.path), f.note) for f in report.files if f.note)
    repo.save()
    if check_remote or remote:
        _check_remote(repo, report, remote)
    return report


def _check_remote(repo: Repository, report: StatusReport, name: str | None) -> None:
    from zoo_vcs.transfer.engine import Engine  # fsspec loads only to ask a store

    target = repo.remote(name)
    report.remote = target.name
    sha1s = sorted({f.entry.pointer.sha1 for f in report.files if f.entry.pointer is not None})
    engine = Engine(repo.cache, repo.transfer_options(), jobs=repo.config.jobs)
    found = engine.presence(target.url, sha1s) if sha1s else {}
    failed: set[str] = set()
    judged = []
    for f in report.files:
        p = f.entry.pointer
        got = found.get(p.sha1) if p is not None else None
        state: RemoteState | None = "missing"
        if isinstance(got, ZooError):
            state = None  # no answer: reported as an error, once per object
            if p is not None and p.sha1 not in failed:
                failed.add(p.sha1)
                report.errors.append(got)
        elif p is not None and got is not None:
            state = "present" if p.size is None or got == p.size else "missing"
            if state == "missing":
                report.warnings.append(f"{target.object_url(p.sha1)}: the remote holds "
                                       f"{got} bytes, the pointer says {p.size}")
        judged.append(replace(f, remote=state))
    report.files = judged
