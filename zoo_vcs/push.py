"""Upload cache objects to a storage remote and record their remote URLs in the pointers.

Objects land at ``<remote>/sha1/<2 hex>/<38 hex>``; those already there (same size)
are not sent again. An object found on the remote with the wrong size is reported and
left alone: zoo-vcs never deletes from or overwrites a remote on a failed check.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import pointer as ptr
from . import urls as urlmod
from .cache import ObjectCache
from .config import Config, Remote
from .errors import IntegrityError, ObjectNotFoundError, OperationError, ZooError
from .fetch import transfer_options, worker_count
from .fileio import atomic_write_bytes
from .hashing import hash_file
from .workspace import Entry, Workspace

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


def push(ws: Workspace, paths: Sequence[Path], cfg: Config, *, remote: str | None = None,
         callback: Any = None) -> PushResult:
    """Upload the objects of every tracked binary under ``paths`` to a remote.

    Raises
    ------
    ConfigError
        No such remote (or no default).
    OperationError
        Some objects could not be uploaded (each cause in ``errors``); the rest were.
    """
    target = cfg.remote(remote)
    scan = ws.scan(paths)
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

    result = upload_objects(entries, target, cfg, callback=callback, on_stored=record_url)
    result.errors[:0] = scan.errors
    result.errors.extend(failed)
    order = {e.pointer_path: i for i, e in enumerate(entries)}
    result.pointers_updated.extend(sorted(updated, key=order.__getitem__))
    if result.errors:
        raise OperationError(result.errors, result, action="push")
    return result


def upload_objects(entries: Sequence[Entry], target: Remote, cfg: Config, *,
                   callback: Any = None,
                   on_stored: Callable[[str], None] | None = None) -> PushResult:
    """Make sure ``target`` holds the object of every entry (from the cache, or from the
    workspace file when it alone has the bytes); failures are collected in ``errors``.

    ``on_stored`` is called with each SHA1 the remote is known to hold (already there,
    or uploaded and checked), possibly on a worker thread; it must not raise.
    """
    cache = ObjectCache(cfg.cache_dir)
    result = PushResult(target.name)
    objects: dict[str, Entry] = {}
    for e in entries:
        assert e.pointer is not None
        if e.pointer.sha1 in objects:
            continue
        try:
            _ensure_cached(e, cache)
        except ZooError as exc:
            result.errors.append(exc)
            continue
        objects[e.pointer.sha1] = e
    _upload_all(objects, cache, target, cfg, result, callback, on_stored or _ignore)
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


def _ignore(sha1: str) -> None:
    """The default ``on_stored``: nothing to do."""


def _upload_all(objects: dict[str, Entry], cache: ObjectCache, target: Remote, cfg: Config,
                result: PushResult, callback: Any, on_stored: Callable[[str], None]) -> None:
    from . import transfer

    opts = transfer_options(cfg)
    sizes = {sha1: cache.path(sha1).stat().st_size for sha1 in objects}
    base = f"{target.url.rstrip('/')}/sha1"
    # Many objects: one listing of the remote instead of a request per object.
    listing = transfer.list_sizes(base, opts) if len(objects) > _LIST_THRESHOLD else None

    def check(sha1: str) -> int | ZooError | None:
        if listing is not None:
            return listing.get(f"{sha1[:2]}/{sha1[2:]}")
        try:
            return transfer.remote_size(target.object_url(sha1), opts)
        except ZooError as exc:
            return exc

    todo: list[str] = []
    workers = worker_count(cfg.jobs, len(objects), local=not urlmod.is_remote(target.url))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for sha1, found in zip(objects, pool.map(check, objects), strict=True):
            url = target.object_url(sha1)
            if isinstance(found, ZooError):
                result.errors.append(found)
            elif found is None:
                todo.append(sha1)
            elif found == sizes[sha1]:
                result.present.append(sha1)
            else:
                result.errors.append(ZooError(
                    f"{url}: the remote holds {found} bytes for {sha1[:12]}, expected "
                    f"{sizes[sha1]}; left untouched",
                    hint="check the remote; remove that object by hand to upload it again"))
        if callback is not None:
            callback.set_size(sum(sizes[s] for s in todo))
            if hasattr(callback, "set_files"):
                callback.set_files(len(todo))
        present = pool.map(on_stored, result.present)
        # Each upload is checked as it completes where that costs nothing extra (a folder:
        # a stat; S3: the store verifies the checksum sent with the body); elsewhere one
        # listing afterwards checks them all.
        check_each = len(todo) <= _LIST_THRESHOLD or transfer.checked_on_upload(
            target.url, opts)

        def send(sha1: str) -> ZooError | None:
            cb = transfer.ForwardingCallback(callback) if callback is not None \
                else transfer.NO_PROGRESS
            try:
                transfer.upload(str(cache.path(sha1)), target.object_url(sha1),
                                size=sizes[sha1], opts=opts, callback=cb, check=check_each)
            except ZooError as exc:
                return exc
            finally:
                if hasattr(callback, "file_done"):
                    callback.file_done()
            if check_each:
                on_stored(sha1)
            return None

        sent = []
        for sha1, error in zip(todo, pool.map(send, todo), strict=True):
            if error is None:
                sent.append(sha1)
            else:
                result.errors.append(error)
        for _ in present:
            pass
    if sent and not check_each:
        stored = transfer.list_sizes(base, opts) or {}
        for sha1 in sent:
            got = stored.get(f"{sha1[:2]}/{sha1[2:]}")
            if got != sizes[sha1]:
                result.errors.append(ZooError(
                    f"{target.object_url(sha1)}: upload check failed: the remote holds "
                    f"{got} bytes, expected {sizes[sha1]}"))
            else:
                result.uploaded.append(sha1)
                on_stored(sha1)
    else:
        result.uploaded.extend(sent)


#: Past this many objects, the remote is listed once rather than asked per object.
_LIST_THRESHOLD = 16
