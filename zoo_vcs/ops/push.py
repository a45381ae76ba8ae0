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
    #: Objects held by neither the cache, the workspace nor the remote (by SHA1).
    missing: dict[str, ObjectNotFoundError] = field(default_factory=dict)

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
    result.errors.extend(result.missing.values())  # nothing to upload them from
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

    An object that is neither cached nor in the workspace is fine when the remote already
    holds it (same size); otherwise it goes to ``missing``, for the caller to judge.
    ``on_stored`` is called with each SHA1 the remote is known to hold (already there,
    or uploaded and checked), possibly on a worker thread; it must not raise.
    """
    from zoo_vcs.transfer.engine import Engine  # fsspec loads only when something moves

    result = PushResult(target.name)
    local, absent, result.errors = local_objects(repo.cache, entries)
    engine = Engine(repo.cache, repo.transfer_options(), jobs=repo.config.jobs,
                    progress=progress)
    if absent:
        # One listing (or a size request each, for a few): never a download.
        for sha1, found in engine.presence(target.url, list(absent)).items():
            entry, why = absent[sha1]
            assert entry.pointer is not None
            if isinstance(found, ZooError):
                result.errors.append(found)
            elif found is not None and entry.pointer.size in (None, found):
                result.present.append(sha1)
                if on_stored is not None:
                    on_stored(sha1)
            else:
                result.missing[sha1] = ObjectNotFoundError(
                    str(entry.path), sha1, [f"{why}, and not on remote {target.name!r}"])
    sent = engine.send(local, target.url, on_stored=on_stored)
    result.uploaded = sent.done
    result.present.extend(sent.present)
    result.errors.extend(sent.failed.values())
    return result


def local_objects(cache: ObjectCache, entries: Sequence[Entry]
                  ) -> tuple[list[str], dict[str, tuple[Entry, str]], list[ZooError]]:
    """Split the entries' objects into those in the cache (a workspace file holding an
    object's bytes is added to it) and those held by neither, each with why; the third
    list holds failures to read a workspace file."""
    local: list[str] = []
    absent: dict[str, tuple[Entry, str]] = {}
    errors: list[ZooError] = []
    seen: set[str] = set()
    for e in entries:
        assert e.pointer is not None
        if e.pointer.sha1 in seen:
            continue
        seen.add(e.pointer.sha1)
        try:
            why = _ensure_cached(e, cache)
        except ZooError as exc:
            errors.append(exc)
            continue
        if why is None:
            local.append(e.pointer.sha1)
        else:
            absent[e.pointer.sha1] = (e, why)
    return local, absent, errors


def _ensure_cached(e: Entry, cache: ObjectCache) -> str | None:
    """Put the object in the cache from the workspace if it is only there; returns why it
    is in neither, or None once it is cached."""
    assert e.pointer is not None
    if cache.has(e.pointer.sha1):
        return None
    try:
        actual = hash_file(e.path).sha1
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return "not in the cache and not in the workspace"
    except OSError as exc:
        raise ZooError(f"{e.path}: cannot read: {exc.strerror}") from None
    if actual != e.pointer.sha1:
        return f"not in the cache, and the workspace file holds other bytes (sha1 {actual})"
    digests = cache.add_file(e.path, sha256=False)
    if digests.sha1 != e.pointer.sha1:  # changed while we were reading it
        raise IntegrityError(str(e.path), expected=e.pointer.sha1, actual=digests.sha1)
    return None
