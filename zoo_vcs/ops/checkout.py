"""Restore tracked binaries: plan what each file needs, fetch missing objects, place them.

``plan`` is pure: given each file's state and what the cache holds, it decides
``skip``, ``create``, ``replace`` or ``conflict`` (a modified file whose bytes are in no
cache object is a user's work and is kept unless ``force``), or ``unverified`` for a
legacy entry without sha1 that the user allowed to download unchecked. ``apply`` then
fetches what is missing and places every file atomically from the cache.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from zoo_vcs.errors import ConflictError, OperationError, ZooError
from zoo_vcs.ops.fetch import fetch_entries, fetch_unverified
from zoo_vcs.ops.status import FileState, inspect
from zoo_vcs.repo.config import Remote
from zoo_vcs.repo.context import Repository
from zoo_vcs.repo.select import ALL, Selection
from zoo_vcs.storage.fileio import TempFiles, clean_stale_temps, place
from zoo_vcs.transfer.progress import Progress

log = logging.getLogger(__name__)

Kind = Literal["skip", "create", "replace", "conflict", "error", "unverified"]

#: The hint of a legacy entry refused for want of a sha1 (SPEC 4, legacy readmes).
UNVERIFIED_HINT = ("download it anyway with --allow-unverified (the SHA1 it gets is printed; "
                   "then record it with 'zoo-vcs add FILE')")


@dataclass(frozen=True)
class Action:
    """What checkout will do to one file, and why."""

    state: FileState
    kind: Kind
    reason: str = ""

    @property
    def path(self) -> Path:
        """The workspace file."""
        return self.state.entry.path


@dataclass
class CheckoutResult:
    """What a checkout did: files written, files already correct, and failures."""

    root: Path
    actions: list[Action] = field(default_factory=list)
    done: list[Path] = field(default_factory=list)
    errors: list[ZooError] = field(default_factory=list)
    dry_run: bool = False
    #: Files downloaded without verification (``allow_unverified``) and the SHA1 they got.
    unverified: list[tuple[Path, str]] = field(default_factory=list)

    def count(self, kind: Kind) -> int:
        """How many planned actions are of ``kind``."""
        return sum(1 for a in self.actions if a.kind == kind)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "root": str(self.root),
            "dry_run": self.dry_run,
            "actions": [{"path": str(a.path), "action": a.kind, "reason": a.reason}
                        for a in self.actions],
            "written": [str(p) for p in self.done],
            "unverified": [{"path": str(p), "sha1": sha1} for p, sha1 in self.unverified],
            "errors": [str(e) for e in self.errors],
        }


def plan(states: Sequence[FileState], cached: Callable[[str], bool], *,
         force: bool = False, allow_unverified: bool = False) -> list[Action]:
    """Decide, without touching disk, what to do with each file.

    ``allow_unverified``: a legacy entry with a URL but no sha1 is downloaded unchecked
    when missing (or with ``force``), else left as it is.

    >>> plan([], lambda sha1: False)
    []
    """
    actions = []
    for st in states:
        entry = st.entry
        if entry.pointer is None:
            if not (allow_unverified and entry.url):
                actions.append(Action(st, "error", entry.problem or "no sha1 to verify against"))
            elif st.state == "missing" or force:
                actions.append(Action(st, "unverified", "no sha1; --allow-unverified"))
            else:
                actions.append(Action(st, "skip", "present; no sha1 to verify it against"))
        elif st.state == "ok":
            actions.append(Action(st, "skip", "up to date"))
        elif st.state == "missing":
            actions.append(Action(st, "create", "missing"))
        elif force:
            actions.append(Action(st, "replace", "modified; --force"))
        elif st.actual is not None and cached(st.actual):
            actions.append(Action(st, "replace", "an older version, kept in the cache"))
        else:
            actions.append(Action(st, "conflict", "modified locally and not in the cache"))
    return actions


def checkout(repo: Repository, paths: Sequence[Path], *, select: Selection = ALL,
             force: bool = False, dry_run: bool = False, allow_unverified: bool = False,
             remote: str | None = None, progress: Progress | None = None) -> CheckoutResult:
    """Make every tracked binary under ``paths`` (and named by ``select``) match its pointer.

    Missing objects come from each pointer's URLs, then the remotes (only ``remote``
    when given).

    Raises
    ------
    UsageError
        A strict ``select`` pattern matches no tracked binary.
    OperationError
        Some files could not be restored (each cause in ``errors``); the rest were.
    """
    scan = repo.scan(paths, select=select)
    for warning in scan.notes(repo.root):
        log.warning("%s", warning)
    states = inspect(scan.entries, repo.stats, repo.cache, jobs=repo.config.jobs)
    result = CheckoutResult(repo.root, plan(states, repo.cache.has, force=force,
                                            allow_unverified=allow_unverified),
                            dry_run=dry_run)
    result.errors.extend(scan.errors)
    for a in result.actions:
        if a.kind == "error":
            result.errors.append(ZooError(a.reason, hint=UNVERIFIED_HINT
                                          if a.state.entry.url else None))
    for legacy in (False, True):
        conflicts = [repo.relpath(a.path) for a in result.actions
                     if a.kind == "conflict" and a.state.entry.legacy == legacy]
        if conflicts:
            result.errors.append(ConflictError(conflicts, readme=legacy))
    if not dry_run:
        _apply(repo, result, repo.remotes(remote), progress)
        _apply_unverified(repo, result, progress)
    repo.save()
    if result.errors:
        raise OperationError(result.errors, result, action="checkout")
    return result


def _apply(repo: Repository, result: CheckoutResult, remotes: Sequence[Remote],
           progress: Progress | None) -> None:
    todo = [a for a in result.actions if a.kind in ("create", "replace")]
    if not todo:
        return
    by_sha: dict[str, list[Action]] = {}
    for a in todo:
        assert a.state.entry.pointer is not None  # plan() turns pointer-less entries into errors
        by_sha.setdefault(a.state.entry.pointer.sha1, []).append(a)
    # Temp files of a killed run go, once per folder (not per file: folders can be large).
    for folder in {a.path.parent for a in todo}:
        clean_stale_temps(folder)
    outcome: dict[Path, os.stat_result | ZooError] = {}
    cache, link = repo.cache, repo.config.link
    tees = _tee_files(repo) if link == "copy" else None

    def place_object(sha1: str) -> None:
        # Runs on the fetch worker that got the object, so that writing files overlaps
        # the other downloads; each path is written by exactly one worker.
        for i, action in enumerate(by_sha[sha1]):
            path = action.path
            try:
                source = cache.path(sha1)
                if not (i == 0 and tees is not None and tees.commit(sha1, path, source)):
                    place(source, path, link)
                outcome[path] = os.stat(path)
            except OSError as exc:
                outcome[path] = ZooError(f"{path}: cannot write: {exc.strerror}")

    try:
        fetched = fetch_entries(
            repo, [a.state.entry for a in todo], remotes, progress=progress,
            on_ready=place_object,
            tee=(lambda sha1: tees.open(sha1) if _worth_a_tee(by_sha[sha1]) else None)
            if tees is not None else None)
    finally:
        if tees is not None:
            tees.discard()
    for action in todo:
        entry = action.state.entry
        assert entry.pointer is not None
        done = outcome.get(action.path) or fetched.failed.get(entry.pointer.sha1)
        if isinstance(done, os.stat_result):
            result.done.append(action.path)
            repo.stats.put(str(action.path), done, entry.pointer.sha1)
        elif done is not None:
            result.errors.append(done)


#: Below this size a kernel copy after the download costs less than a second file written
#: alongside it (measured: 1,000 objects of 1 MiB from S3 pull 7-10% faster without).
TEE_MIN_BYTES = 8 << 20


def _worth_a_tee(actions: Sequence[Action]) -> bool:
    pointer = actions[0].state.entry.pointer
    return pointer is not None and (pointer.size is None or pointer.size >= TEE_MIN_BYTES)


def _tee_files(repo: Repository) -> TempFiles | None:
    """Where a plain copy of each downloaded object is written alongside the cache's, so
    that no copy follows the download: the cache's temp folder, when it is on the
    repository's file system (a rename then puts the file in place)."""
    repo.cache.clean_tmp()
    tmp = repo.cache.temp_dir()
    return TempFiles(tmp) if os.stat(tmp).st_dev == os.stat(repo.root).st_dev else None


def _apply_unverified(repo: Repository, result: CheckoutResult,
                      progress: Progress | None) -> None:
    """Download the allowed legacy entries that have no sha1, and place them."""
    for action in [a for a in result.actions if a.kind == "unverified"]:
        entry = action.state.entry
        assert entry.url is not None  # plan() only allows entries with a URL
        try:
            sha1 = fetch_unverified(repo, entry.url, repo.relpath(action.path),
                                    base_dir=action.path.parent, progress=progress)
            clean_stale_temps(action.path.parent)
            place(repo.cache.path(sha1), action.path, repo.config.link)
        except ZooError as exc:
            result.errors.append(exc)
            continue
        except OSError as exc:
            result.errors.append(ZooError(f"{action.path}: cannot write: {exc.strerror}"))
            continue
        result.done.append(action.path)
        result.unverified.append((action.path, sha1))
        repo.stats.put(str(action.path), os.stat(action.path), sha1)
