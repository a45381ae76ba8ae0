"""Upload cache objects to a storage remote and record their remote URLs in the pointers.

Objects land at ``<remote>/sha1/<2 hex>/<38 hex>``; those already there (same size)
are not sent again. An object found on the remote with the wrong size is reported and
left alone: zoo-vcs never deletes from or overwrites a remote on a failed check.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo_vcs.errors import IntegrityError, ObjectNotFoundError, OperationError, ZooError
from zoo_vcs.formats import pointer as ptr
from zoo_vcs.repo.config import Remote
from zoo_vcs.repo.context import Repository
from zoo_vcs.repo.scan import Entry
from zoo_vcs.repo.select import ALL, Selection
from zoo_vcs.storage.cache import ObjectCache
from zoo_vcs.storage.fileio import atomic_write_bytes
from zoo_vcs.storage.hashing import hash_file
from zoo_vcs.transfer.progress import Progress

log = logging.getLogger(__name__)


@dataclass
class PushResult:
    """What a push sent, what the remote already had, and which pointers gained a URL."""

    remote: str
    uploaded: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    pointers_updated: list[Path] = field(default_factory=list)
    errors: list[ZooError] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"remote": self.remote, "uploaded": self.uploaded, "present": self.present,
                "pointers_updated": [str(p) for p in self.pointers_updated],
                "errors": [str(e) for e in self.errors]}


def push(repo: Repository, paths: Sequence[Path], *, select: Selection = ALL,
         remote: str | None = None, progress: Progress | None = None) -> PushResult:
    """Upload the objects of every tracked binary under ``paths`` (and named by ``select``)
    to a remote.

    Raises
    ------
    ConfigError
        No such remote (or no default).
    OperationError
        Some objects could not be uploaded (each cause in ``errors``); the rest were.
    """
    target = repo.remote(remote)
    scan = repo.scan(paths, select=select)
    entries = [e for e in scan.entries if e.pointer is not None]
    rewrites: dict[str, list[tuple[Path, bytes]]] = {}
    for e in entries:
        assert e.pointer is not None
        url = target.object_url(e.pointer.sha1)
        if e.pointer_path is not None and url not in e.pointer.urls:
            text = ptr.encode(e.pointer.with_url(url)).encode("utf-8")
            rewrites.setdefault(e.pointer.sha1, []).append((e.pointer_path, text))
    updated: list[Path] = []
    failed: list[ZooError] = []

    def record_url(sha1: str) -> None:
        # On the worker that stored the object: thousands of small atomic writes overlap
        # with the other uploads instead of following them.
        for path, text in rewrites.get(sha1, ()):
            try:
                atomic_write_bytes(path, text)
            except OSError as exc:
                failed.append(ZooError(f"{path}: cannot record the remote URL: {exc.strerror}"))
            else:
                updated.append(path)

    result = upload_entries(repo, entries, target, progress=progress, on_stored=record_url)
    result.errors[:0] = scan.errors
    result.errors.extend(failed)
    order = {e.pointer_path: i for i, e in enumerate(entries)}
    result.pointers_updated.extend(sorted(updated, key=order.__getitem__))
    if result.errors:
        raise OperationError(result.errors, result, action="push")
    return result


def upload_entries(repo: Repository, entries: Sequence[Entry], target: Remote, *,
                   progress: Progress | None = None,
                   on_stored: Callable[[str], None] | None = None) -> PushResult:
    """Make sure ``target`` holds the object of every entry (from the cache, or from the
    workspace file when it alone has the bytes); failures are collected in ``errors``.

    ``on_stored`` is called with each SHA1 the remote is known to hold (already there,
    or uploaded and checked), possibly on a worker thread; it must not raise.
    """
    from zoo_vcs.transfer.engine import Engine  # fsspec loads only when something moves

    result = PushResult(target.name)
    objects: dict[str, Entry] = {}
    for e in entries:
        assert e.pointer is not None
        if e.pointer.sha1 in objects:
            continue
        try:
            _ensure_cached(e, repo.cache)
        except ZooError as exc:
            result.errors.append(exc)
            continue
        objects[e.pointer.sha1] = e
    engine = Engine(repo.cache, repo.transfer_options(), jobs=repo.config.jobs,
                    progress=progress)
    sent = engine.send(list(objects), target.url, on_stored=on_stored)
    result.uploaded, result.present = sent.done, sent.present
    result.errors.extend(sent.failed.values())
    return result


def _ensure_cached(e: Entry, cache: ObjectCache) -> None:
    """Put the object in the cache from the workspace if it is only there."""
    assert e.pointer is not None
    if cache.has(e.pointer.sha1):
        return
    try:
        actual = hash_file(e.path).sha1
    except FileNotFoundError:
        raise ObjectNotFoundError(str(e.path), e.pointer.sha1,
                                  ["not in the cache and not in the workspace; "
                                   "run 'zoo-vcs fetch' first"]) from None
    if actual != e.pointer.sha1:
        raise IntegrityError(str(e.path), expected=e.pointer.sha1, actual=actual)
    digests = cache.add_file(e.path, sha256=False)
    if digests.sha1 != e.pointer.sha1:  # changed while we were reading it
        raise IntegrityError(str(e.path), expected=e.pointer.sha1, actual=digests.sha1)
