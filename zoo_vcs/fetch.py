"""Bring objects into the cache from their sources, in order, in parallel, verified.

Sources for one object, first success wins: each URL of its pointer (normalised:
Dropbox ``dl=1``, GitHub raw...), then each configured remote. A source that yields
wrong bytes is reported and the next one is tried. Each object is fetched once even
when several files (or several processes) need it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import urls as urlmod
from .cache import ObjectCache
from .config import Config, Remote
from .errors import ConfigError, IntegrityError, ObjectNotFoundError, TransferError, ZooError
from .pointer import Pointer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Want:
    """An object to fetch, the file it is for (for messages), and where relative URLs start."""

    pointer: Pointer
    display: str
    base_dir: Path
    remotes: Sequence[str] = ()


@dataclass
class FetchResult:
    """Objects fetched and per-object failures (keyed by SHA1)."""

    fetched: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    failed: dict[str, ZooError] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"fetched": self.fetched, "present": self.present,
                "failed": {sha1: str(err) for sha1, err in self.failed.items()}}


def sources_for(want: Want) -> list[str]:
    """Every URL to try for ``want``, in order, with local paths made absolute."""
    out: list[str] = []
    for url in (*want.pointer.urls, *want.remotes):
        if "://" not in url:
            url = os.path.normpath(os.path.join(want.base_dir, os.path.expanduser(url)))
        if url not in out:
            out.append(url)
    return out


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


def transfer_options(cfg: Config) -> Any:
    """:class:`zoo_vcs.transfer.TransferOptions` for a configuration."""
    from . import transfer  # fsspec/aiohttp load only when something must be transferred

    return transfer.TransferOptions(timeout=cfg.timeout, retries=cfg.retries,
                                    options_for=cfg.options_for)


def fetch_objects(wants: Iterable[Want], cache: ObjectCache, cfg: Config, *,
                  callback: Any = None,
                  on_ready: Callable[[str], None] | None = None) -> FetchResult:
    """Fetch every wanted object not yet in the cache.

    Parameters
    ----------
    wants
        Objects to get; duplicates (same SHA1) are fetched once.
    cache
        Destination cache.
    cfg
        Jobs, timeout, retries and the remotes' storage options.
    callback
        fsspec-style progress callback (``set_size``, ``relative_update``).
    on_ready
        Called with each SHA1 once its object is in the cache (fetched now or already
        there), on the worker thread that got it: a checkout places files there, so
        that writing them overlaps the other downloads. It must not raise.
    """
    from . import transfer

    opts = transfer_options(cfg)
    jobs = cfg.jobs
    by_sha: dict[str, Want] = {}
    for want in wants:
        by_sha.setdefault(want.pointer.sha1, want)
    result = FetchResult()
    todo = []
    for sha, want in by_sha.items():
        if cache.has(sha):
            result.present.append(sha)
        else:
            todo.append(want)
    if not todo and on_ready is None:
        return result
    cb = callback if callback is not None else transfer.NO_PROGRESS
    sizes = [w.pointer.size for w in todo]
    if all(s is not None for s in sizes):
        cb.set_size(sum(s for s in sizes if s is not None))
    # Optional part of the progress protocol: a file count beside the bytes.
    file_done = getattr(cb, "file_done", None)
    if hasattr(cb, "set_files"):
        cb.set_files(len(todo))

    def one(want: Want) -> tuple[str, ZooError | None]:
        sha1 = want.pointer.sha1
        try:
            _fetch_one(want, cache, opts, cb, transfer)
        except ZooError as exc:
            return sha1, exc
        finally:
            if file_done is not None:
                file_done()
        if on_ready is not None:
            on_ready(sha1)
        return sha1, None

    present = result.present if on_ready is not None else []
    local = all(not urlmod.is_remote(next(iter((*w.pointer.urls, *w.remotes)), ""))
                for w in todo)  # by each object's first source
    workers = worker_count(jobs, len(todo) + len(present), local=local)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        # Objects already cached are handed over first, on the same pool, so their files
        # are written while the missing ones download.
        ready = pool.map(on_ready, present) if on_ready is not None else iter(())
        for sha1, error in pool.map(one, todo):
            if error is None:
                result.fetched.append(sha1)
            else:
                result.failed[sha1] = error
        for _ in ready:
            pass
    return result


def _fetch_one(want: Want, cache: ObjectCache, opts: Any, cb: Any, transfer: Any) -> None:
    p = want.pointer
    reasons: list[str] = []
    sources = sources_for(want)
    with cache.partial(p.sha1) as part:
        if part is None:
            return  # another process fetched it while we waited for the lock
        for url in sources:
            try:
                digests = transfer.download(url, part, sha1=p.sha1, size=p.size, opts=opts,
                                            callback=cb, path_for_errors=want.display,
                                            sha256=p.sha256)
                cache.commit_partial(part, digests, p.sha1, url=url)
                return
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
                raise ZooError(f"{want.display}: cannot write to the cache "
                               f"{cache.root}: {exc.strerror}") from None
            log.warning("%s: %s", want.display, reasons[-1])
    raise ObjectNotFoundError(want.display, p.sha1, reasons or ["no URL in its pointer"])


def wants_for(entries: Iterable[Any], remotes: Sequence[Remote] = ()) -> list[Want]:
    """:class:`Want` records for workspace entries that have a pointer.

    Remotes are tried after the pointer's own URLs, the default remote first.
    """
    out = []
    for e in entries:
        if e.pointer is None:
            continue
        out.append(Want(e.pointer, str(e.path), e.path.parent,
                        tuple(r.object_url(e.pointer.sha1) for r in remotes)))
    return out


def ordered_remotes(cfg: Config) -> list[Remote]:
    """Configured remotes, the default first."""
    return sorted(cfg.remotes, key=lambda r: r.name != cfg.default_remote)
