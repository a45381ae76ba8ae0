"""The transfer engine: every copy of objects between stores goes through here.

Sources to the cache (:meth:`Engine.fetch`), the cache to a remote (:meth:`Engine.send`)
and what a remote holds (:meth:`Engine.presence`) share one bounded thread pool, one retry
and timeout policy (``TransferOptions``), one size rule (``common.size_mismatch``) and one
typed progress protocol (``progress.Progress``). Operations (fetch, checkout, push, the
hooks, ``status --remote``, gc) describe *what* to move; this module moves it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, BinaryIO, TypeVar

from zoo_vcs.errors import (
    OFFLINE_HINT,
    ConfigError,
    IntegrityError,
    ObjectNotFoundError,
    OfflineError,
    TransferError,
    ZooError,
)
from zoo_vcs.formats import urls as urlmod
from zoo_vcs.storage.cache import ObjectCache
from zoo_vcs.storage.hashing import Digests, sha1_of_bytes

from . import download as dl
from . import store
from .common import ForwardingCallback, TransferOptions, size_mismatch
from .progress import NO_PROGRESS, Progress

log = logging.getLogger(__name__)

#: Past this many objects, a remote is listed once rather than asked per object.
LIST_THRESHOLD = 16

T = TypeVar("T")


@dataclass(frozen=True)
class ObjectRequest:
    """An object to bring into the cache: its identity, where to try (in order), and the
    file it is for (named in messages)."""

    sha1: str
    size: int | None
    sources: tuple[str, ...]
    display: str
    sha256: str | None = None


@dataclass
class BatchResult:
    """Objects moved, objects that needed nothing, and per-object failures (by SHA1)."""

    done: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    failed: dict[str, ZooError] = field(default_factory=dict)


def worker_count(jobs: int, count: int, *, local: bool) -> int:
    """Threads for ``count`` transfers: ``jobs`` for network stores, which are
    latency-bound; at most one per core for local folders, where more threads only
    contend for the folders' locks and the GIL.

    >>> worker_count(8, 1000, local=False), worker_count(8, 3, local=False)
    (8, 3)
    >>> worker_count(8, 1000, local=True) <= (os.cpu_count() or 1)
    True
    >>> worker_count(8, 0, local=False)
    1
    """
    if local:
        jobs = min(jobs, os.cpu_count() or 1)
    return max(1, min(jobs, count))


class Engine:
    """Moves objects for one command: its cache, transfer options, job count and progress."""

    def __init__(self, cache: ObjectCache, opts: TransferOptions, *, jobs: int = 8,
                 progress: Progress | None = None) -> None:
        self.cache = cache
        self.opts = opts
        self.jobs = jobs
        self.progress = progress if progress is not None else NO_PROGRESS

    def _map(self, fn: Callable[[T], ZooError | None], items: Sequence[T], *, local: bool,
             first: Callable[[], Any] | None = None) -> list[ZooError | None]:
        """``fn`` over ``items`` on one bounded pool (``first`` runs on it too, alongside)."""
        with ThreadPoolExecutor(max_workers=worker_count(self.jobs, len(items) + 1,
                                                         local=local)) as pool:
            head = pool.submit(first) if first is not None else None
            out = list(pool.map(fn, items))
            if head is not None:
                head.result()
        return out

    # -- sources -> cache --------------------------------------------------------------

    def fetch(self, requests: Iterable[ObjectRequest], *,
              on_ready: Callable[[str], None] | None = None,
              tee: Callable[[str], BinaryIO | None] | None = None) -> BatchResult:
        """Bring every requested object not yet cached into the cache, verified.

        Duplicates (same SHA1) are fetched once. ``on_ready`` is called with each SHA1
        once its object is in the cache (fetched now or already there), on the worker
        that got it: a checkout places files there, so writing them overlaps the other
        downloads. It must not raise. ``tee(sha1)`` may return a file that is to hold a
        copy of the object, written alongside the cache's (a checkout's workspace temp
        file); it holds the verified bytes when ``on_ready`` runs, unless another
        process fetched the object meanwhile (then it is empty).
        """
        by_sha: dict[str, ObjectRequest] = {}
        for req in requests:
            by_sha.setdefault(req.sha1, req)
        result = BatchResult()
        todo = []
        for sha1, req in by_sha.items():
            if self.cache.has(sha1):
                result.present.append(sha1)
            else:
                todo.append(req)
        if not todo and on_ready is None:
            return result
        sizes = [r.size for r in todo]
        if all(s is not None for s in sizes):
            self.progress.set_size(sum(s for s in sizes if s is not None))
        self.progress.set_files(len(todo))

        def one(req: ObjectRequest) -> ZooError | None:
            try:
                self._fetch_one(req, tee(req.sha1) if tee is not None else None)
            except ZooError as exc:
                return exc
            finally:
                self.progress.file_done()
            if on_ready is not None:
                on_ready(req.sha1)
            return None

        def hand_over_present() -> None:
            # Objects already cached are handed over on the same pool, so their files are
            # written while the missing ones download.
            if on_ready is not None:
                for sha1 in result.present:
                    on_ready(sha1)

        # Local or remote by each object's first source.
        local = all(not urlmod.is_remote(r.sources[0] if r.sources else "") for r in todo)
        for req, error in zip(todo, self._map(one, todo, local=local, first=hand_over_present),
                              strict=True):
            if error is None:
                result.done.append(req.sha1)
            else:
                result.failed[req.sha1] = error
        return result

    def _fetch_one(self, req: ObjectRequest, tee: BinaryIO | None) -> None:
        reasons: list[str] = []
        offline = False
        callback = ForwardingCallback(self.progress)
        with self.cache.partial(req.sha1) as part:
            if part is None:
                return  # another process fetched it while we waited for the lock
            for url in req.sources:
                try:
                    digests = dl.download(url, part, sha1=req.sha1, size=req.size,
                                          opts=self.opts, callback=callback,
                                          path_for_errors=req.display, sha256=req.sha256,
                                          tee=tee)
                    self.cache.commit_partial(part, digests, req.sha1, url=url)
                    # Sources that failed before this one are worth knowing about (a dead
                    # mirror); when all fail, the error lists them instead, once.
                    for failed in reasons:
                        log.warning("%s: %s", req.display, failed)
                    return
                except OfflineError as exc:
                    offline = True
                    reasons.append(str(exc))
                    continue
                except IntegrityError as exc:
                    reasons.append(f"{exc.url or url}: wrong content ({exc.algorithm} "
                                   f"{exc.actual}, expected {exc.expected})")
                    # Wrong bytes must not be resumed from by the next source.
                    part.truncate(0)
                    part.seek(0)
                except ConfigError:
                    raise
                except TransferError as exc:
                    # The bytes so far are kept: the next source, or the next run, resumes
                    # from them (a wrong prefix is caught by the hash and fetched again).
                    reasons.append(str(exc))
                except OSError as exc:  # the cache side: disk full, permissions
                    raise ZooError(f"{req.display}: cannot write to the cache "
                                   f"{self.cache.root}: {exc.strerror}") from None
                log.info("%s: %s", req.display, reasons[-1])
        raise ObjectNotFoundError(req.display, req.sha1, reasons or ["no URL in its pointer"],
                                  hint=OFFLINE_HINT if offline else None)

    def fetch_unverified(self, url: str, display: str) -> Digests:
        """Download ``url`` into the cache with no hash to check it against (a legacy entry
        without sha1, or ``add --url`` of a file not yet here); returns what it hashed to.

        The partial download is keyed by the URL, so an interrupted one resumes.

        Raises
        ------
        TransferError
            The source failed (``OfflineError`` when it needs the network and there is none).
        """
        key = "url-" + sha1_of_bytes(url.encode("utf-8"))
        callback = ForwardingCallback(self.progress)
        self.progress.set_files(1)
        try:
            with self.cache.partial(key) as part:
                assert part is not None  # no object is ever named by a URL key
                digests = dl.download(url, part, sha1=None, size=None, opts=self.opts,
                                      callback=callback, path_for_errors=display)
                self.cache.commit_partial(part, digests, digests.sha1, url=url, key=key)
        except OSError as exc:
            raise ZooError(f"{display}: cannot write to the cache {self.cache.root}: "
                           f"{exc.strerror}") from None
        finally:
            self.progress.file_done()
        return digests

    # -- what a remote holds -----------------------------------------------------------

    def presence(self, remote_url: str, sha1s: Sequence[str]) -> dict[str, int | ZooError | None]:
        """Size of each object on the remote (None: absent), without downloading anything.

        Many objects: one listing of the remote; few (or a store that cannot list, such
        as an HTTP mirror): a size request per object.
        """
        listing = None
        if len(sha1s) > LIST_THRESHOLD:
            listing = store.list_sizes(f"{remote_url.rstrip('/')}/sha1", self.opts)
        if listing is not None:
            return {s: listing.get(f"{s[:2]}/{s[2:]}") for s in sha1s}

        def ask(sha1: str) -> int | ZooError | None:
            try:
                return store.remote_size(urlmod.object_url(remote_url, sha1), self.opts)
            except ZooError as exc:
                return exc

        return self._each(ask, sha1s, local=not urlmod.is_remote(remote_url))

    def probe(self, urls: Sequence[str]) -> dict[str, tuple[int | None, bool] | ZooError]:
        """For each URL, (its size if known, whether it serves a web page): one small
        request each (an HTTP Range of 512 bytes, elsewhere a size request), never a
        download."""
        def ask(url: str) -> tuple[int | None, bool] | ZooError:
            try:
                return dl.probe(url, self.opts)
            except ZooError as exc:
                return exc

        return self._each(ask, urls, local=all(not urlmod.is_remote(u) for u in urls))

    def locate(self, objects: Mapping[str, tuple[int | None, Sequence[str]]],
               remote_url: str | None) -> dict[str, str | ZooError | None]:
        """Where else each object is held: ``objects`` maps a SHA1 to (its size, the URLs
        its pointers name).

        The remote is asked first (one listing for many objects), then, for objects it
        lacks, each of their URLs. A holder counts only with the object's size (when that
        is known), and never when it serves a web page. Returns, per SHA1, the holder's
        URL, None when every check answered "not here", or the last error when some
        check could not answer.
        """
        def right(size: int | None, want: int | None) -> bool:
            return size is not None and (want is None or size == want)

        found: dict[str, str | ZooError | None] = dict.fromkeys(objects)
        if remote_url is not None and objects:
            for sha1, size in self.presence(remote_url, list(objects)).items():
                if isinstance(size, ZooError):
                    found[sha1] = size
                elif right(size, objects[sha1][0]):
                    found[sha1] = urlmod.object_url(remote_url, sha1)
        todo = {sha1: urls for sha1, (_size, urls) in objects.items()
                if not isinstance(found[sha1], str) and urls}
        answers = self.probe(sorted({u for urls in todo.values() for u in urls}))
        for sha1, urls in todo.items():
            for url in urls:
                answer = answers[url]
                if isinstance(answer, ZooError):
                    found[sha1] = answer
                elif not answer[1] and right(answer[0], objects[sha1][0]):
                    found[sha1] = url
                    break
        return found

    def _each(self, fn: Callable[[str], T], items: Sequence[str], *,
              local: bool) -> dict[str, T]:
        """``fn`` of each item on a bounded pool, keyed by item."""
        if not items:
            return {}
        with ThreadPoolExecutor(max_workers=worker_count(self.jobs, len(items),
                                                         local=local)) as pool:
            return dict(zip(items, pool.map(fn, items), strict=True))

    # -- cache -> remote ---------------------------------------------------------------

    def send(self, sha1s: Sequence[str], remote_url: str, *,
             on_stored: Callable[[str], None] | None = None) -> BatchResult:
        """Make the remote hold every object (all in the cache); never overwrites one.

        An object already there with the right size is ``present``; with another size
        it fails (the size rule) and is left untouched. ``on_stored`` is called with each
        SHA1 the remote is known to hold, possibly on a worker thread; it must not raise.
        """
        stored = on_stored if on_stored is not None else _ignore
        result = BatchResult()
        sizes = {sha1: self.cache.path(sha1).stat().st_size for sha1 in sha1s}
        todo: list[str] = []
        for sha1, found in self.presence(remote_url, sha1s).items():
            if isinstance(found, ZooError):
                result.failed[sha1] = found
            elif found is None:
                todo.append(sha1)
            elif found == sizes[sha1]:
                result.present.append(sha1)
            else:
                result.failed[sha1] = size_mismatch(urlmod.object_url(remote_url, sha1),
                                                    expected=sizes[sha1], found=found, sha1=sha1)
        self.progress.set_size(sum(sizes[s] for s in todo))
        self.progress.set_files(len(todo))
        # Each upload is checked as it completes where that costs nothing extra (a folder:
        # a stat; S3: the store verifies the checksum sent with the body); elsewhere one
        # listing afterwards checks them all.
        check_each = len(todo) <= LIST_THRESHOLD or store.checked_on_upload(remote_url,
                                                                             self.opts)

        def put(sha1: str) -> ZooError | None:
            try:
                store.upload(str(self.cache.path(sha1)), urlmod.object_url(remote_url, sha1),
                             size=sizes[sha1], opts=self.opts,
                             callback=ForwardingCallback(self.progress), check=check_each)
            except ZooError as exc:
                return exc
            finally:
                self.progress.file_done()
            if check_each:
                stored(sha1)
            return None

        def hand_over_present() -> None:
            for sha1 in result.present:
                stored(sha1)

        sent = []
        local = not urlmod.is_remote(remote_url)
        for sha1, error in zip(todo, self._map(put, todo, local=local, first=hand_over_present),
                               strict=True):
            if error is None:
                sent.append(sha1)
            else:
                result.failed[sha1] = error
        if sent and not check_each:
            after = self.presence(remote_url, sent)
            for sha1 in sent:
                got = after.get(sha1)
                if got != sizes[sha1]:
                    result.failed[sha1] = size_mismatch(
                        urlmod.object_url(remote_url, sha1), expected=sizes[sha1],
                        found=got if isinstance(got, int) else None, sha1=sha1, uploaded=True)
                else:
                    result.done.append(sha1)
                    stored(sha1)
        else:
            result.done.extend(sent)
        return result


def _ignore(sha1: str) -> None:
    """The default ``on_stored``: nothing to do."""
