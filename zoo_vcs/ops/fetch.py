"""``fetch``: bring the objects of tracked binaries into the cache from their sources.

Sources for one object, first success wins: each URL of its pointer (normalised:
Dropbox ``dl=1``, GitHub raw...), then each configured remote. A source that yields
wrong bytes is reported and the next one is tried (the transfer engine does the moving).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from zoo_vcs.errors import OperationError, ZooError
from zoo_vcs.repo.config import Remote
from zoo_vcs.repo.context import Repository
from zoo_vcs.repo.scan import Entry
from zoo_vcs.repo.select import ALL, Selection
from zoo_vcs.transfer.progress import Progress

if TYPE_CHECKING:
    from zoo_vcs.transfer.engine import ObjectRequest


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


def sources(urls: Iterable[str], base_dir: Path) -> tuple[str, ...]:
    """URLs to try, in order, without repeats; local paths made absolute from ``base_dir``.

    >>> sources(["w.caffemodel", "https://x/w", "https://x/w"], Path("/m"))
    ('/m/w.caffemodel', 'https://x/w')
    """
    out: list[str] = []
    for url in urls:
        if "://" not in url:
            url = os.path.normpath(os.path.join(base_dir, os.path.expanduser(url)))
        if url not in out:
            out.append(url)
    return tuple(out)


def requests_for(entries: Iterable[Entry], remotes: Sequence[Remote] = ()) -> list[ObjectRequest]:
    """Engine requests for entries that have a pointer: their URLs, then the remotes."""
    from zoo_vcs.transfer.engine import ObjectRequest

    out = []
    for e in entries:
        p = e.pointer
        if p is None:
            continue
        urls = (*p.urls, *(r.object_url(p.sha1) for r in remotes))
        out.append(ObjectRequest(p.sha1, p.size, sources(urls, e.path.parent), str(e.path),
                                 p.sha256))
    return out


def fetch_entries(repo: Repository, entries: Iterable[Entry], remotes: Sequence[Remote], *,
                  progress: Progress | None = None,
                  on_ready: Callable[[str], None] | None = None,
                  tee: Callable[[str], BinaryIO | None] | None = None) -> FetchResult:
    """Fetch the objects of ``entries`` not yet cached (see ``Engine.fetch``)."""
    from zoo_vcs.transfer.engine import Engine  # fsspec loads only when something moves

    engine = Engine(repo.cache, repo.transfer_options(), jobs=repo.config.jobs,
                    progress=progress)
    done = engine.fetch(requests_for(entries, remotes), on_ready=on_ready, tee=tee)
    return FetchResult(done.done, done.present, done.failed)


def fetch_unverified(repo: Repository, url: str, display: str, *, base_dir: Path,
                     progress: Progress | None = None) -> str:
    """Download ``url`` into the cache without a hash to check (see
    ``Engine.fetch_unverified``); returns the SHA1 it got. A local path is taken relative
    to ``base_dir``; share links are normalised like any source."""
    from zoo_vcs.transfer.engine import Engine

    engine = Engine(repo.cache, repo.transfer_options(), jobs=1, progress=progress)
    return engine.fetch_unverified(sources([url], base_dir)[0], display).sha1


def fetch(repo: Repository, paths: Sequence[Path], *, select: Selection = ALL,
          remote: str | None = None, progress: Progress | None = None) -> FetchResult:
    """Download the objects of tracked binaries under ``paths`` (and named by ``select``)
    into the cache.

    Raises
    ------
    OperationError
        Some objects could not be fetched (each cause in ``errors``).
    """
    scan = repo.scan(paths, select=select)
    result = fetch_entries(repo, scan.entries, repo.remotes(remote), progress=progress)
    errors = [*scan.errors, *result.failed.values()]
    if errors:
        raise OperationError(errors, result, action="fetch")
    return result
