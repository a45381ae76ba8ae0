"""``gc``: remove the cache objects that nothing needs, never the only copy of bytes that a
commit needs (SPEC 4, Safety of stored data).

Plan, then apply: :func:`plan` decides what to remove; :func:`gc` removes it (or, with
``dry_run``, only reports it). By default an object is kept when a pointer or legacy
readme entry names it in a workspace, an index, or a commit reachable from a local
branch, a tag, a HEAD or the stash (:mod:`zoo_vcs.repo.keep`), in this repository or in
any other repository registered in the same cache (:mod:`zoo_vcs.storage.registry`).
``workspace_only`` keeps only the workspaces' objects and removes another object only
once the default remote or one of its pointers' URLs is seen to hold it (a listing or a
size check, never a download); objects held nowhere else are kept and listed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo_vcs.errors import ConfigError, OperationError, ZooError
from zoo_vcs.repo import keep
from zoo_vcs.repo.config import Remote
from zoo_vcs.repo.context import Repository
from zoo_vcs.repo.paths import names_another_copy
from zoo_vcs.storage import registry


@dataclass
class GcResult:
    """What gc removed (or would, with ``dry_run``), what it kept and why.

    ``held_nowhere`` (``workspace_only``) maps each object kept because no other copy was
    confirmed to the reason; ``forgotten`` lists registrations of repositories that no
    longer exist, dropped from a shared cache.
    """

    cache_dir: Path
    removed: list[str] = field(default_factory=list)
    kept: int = 0
    freed: int = 0
    dry_run: bool = False
    workspace_only: bool = False
    held_nowhere: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    repositories: list[str] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"cache_dir": str(self.cache_dir), "removed": self.removed, "kept": self.kept,
                "freed_bytes": self.freed, "dry_run": self.dry_run,
                "workspace_only": self.workspace_only,
                "held_nowhere": [{"sha1": s, "path": self.names.get(s), "reason": why}
                                 for s, why in self.held_nowhere.items()],
                "repositories": self.repositories, "forgotten": self.forgotten,
                "warnings": self.warnings}


def gc(repo: Repository, *, dry_run: bool = False, workspace_only: bool = False) -> GcResult:
    """Remove the cache objects that no counted repository needs.

    Raises
    ------
    OperationError
        A pointer or readme in a workspace cannot be read, or a repository registered in
        a shared cache cannot be read: nothing is removed, since any object could be
        one it needs.
    GitError
        git cannot read this repository's history.
    """
    result = plan(repo, dry_run=dry_run, workspace_only=workspace_only)
    if not dry_run:
        for sha1 in result.removed:
            result.freed += repo.cache.remove(sha1)
        for reg in registry.registered(repo.cache.root):
            if reg.git_dir is not None and str(reg.git_dir) in result.forgotten:
                registry.forget(reg)
    return result


def plan(repo: Repository, *, dry_run: bool = True, workspace_only: bool = False) -> GcResult:
    """What :func:`gc` would remove (``freed`` counts their bytes only with ``dry_run``).

    Raises what :func:`gc` raises.
    """
    cache = repo.cache
    result = GcResult(cache.root, dry_run=dry_run, workspace_only=workspace_only)
    scan = repo.scan(use_stats=False)
    if scan.errors:
        raise OperationError(scan.errors, result, action="gc")
    needs = keep.of_repository(repo.git_dir, repo.root, current=scan)
    _count_others(repo, needs, result)
    result.repositories, result.warnings = needs.repositories, needs.warnings
    keep_set = needs.workspace if workspace_only else needs.everything
    objects = list(cache.objects())
    candidates = [sha1 for sha1 in objects if sha1 not in keep_set]
    result.kept = len(objects) - len(candidates)
    if workspace_only and candidates:
        result.held_nowhere = _unconfirmed(repo, candidates, needs)
        result.names = {s: needs.names[s] for s in result.held_nowhere if s in needs.names}
        candidates = [s for s in candidates if s not in result.held_nowhere]
        result.kept += len(result.held_nowhere)
    result.removed = candidates
    if dry_run:
        result.freed = sum(_size(cache.path(s)) for s in candidates)
    return result


def _count_others(repo: Repository, needs: keep.Needs, result: GcResult) -> None:
    """Add the needs of every other repository registered in the cache; refuse (raise)
    when one that still exists cannot be read."""
    own = os.path.realpath(repo.git_dir) if repo.git_dir is not None else None
    refused: list[ZooError] = []
    for reg in registry.registered(repo.cache.root):
        if reg.git_dir is None:
            refused.append(_refusal(repo, reg.file, str(reg.problem)))
            continue
        try:
            os.stat(reg.git_dir)
        except (FileNotFoundError, NotADirectoryError):
            result.forgotten.append(str(reg.git_dir))  # deleted (or moved) since
            continue
        except OSError as exc:  # PermissionError above all: it exists, unreadable
            refused.append(_refusal(repo, reg.file, f"{reg.git_dir}: {exc.strerror}"))
            continue
        if own is not None and os.path.realpath(reg.git_dir) == own:
            continue
        try:
            needs.merge(keep.of_repository(reg.git_dir, None))
        except ZooError as exc:
            refused.append(_refusal(repo, reg.file, f"{reg.git_dir}: {exc}"))
    if refused:
        raise OperationError(refused, result, action="gc (shared cache)")


def _refusal(repo: Repository, file: Path, cause: str) -> ZooError:
    return ZooError(
        f"{repo.cache.root} is shared with a repository that cannot be read ({cause}); "
        "nothing was removed",
        hint=f"make that repository readable to this user, or, if it no longer uses this "
             f"cache, delete {file}")


def _unconfirmed(repo: Repository, sha1s: Sequence[str], needs: keep.Needs) -> dict[str, str]:
    """The objects of ``sha1s`` that no other store is confirmed to hold, each with why
    (see ``Engine.locate``: a listing or a size check, never a download)."""
    from zoo_vcs.transfer.engine import Engine  # fsspec loads only to ask stores

    try:
        remote: Remote | None = repo.remote()
    except ConfigError:
        remote = None  # no default remote: only the pointers' URLs can confirm
    roots = [str(repo.root), *needs.folders]
    objects = {s: (_size(repo.cache.path(s)),
                   tuple(sorted(u for u in needs.urls.get(s, ()) if names_another_copy(u, roots))))
               for s in sha1s}
    engine = Engine(repo.cache, repo.transfer_options(), jobs=repo.config.jobs)
    found = engine.locate(objects, remote.url if remote is not None else None)
    kept: dict[str, str] = {}
    for sha1, where in found.items():
        if isinstance(where, str):
            continue
        if isinstance(where, ZooError):
            kept[sha1] = f"could not check: {where}"
            continue
        places = [f"not on remote {remote.name!r}" if remote is not None else "no default remote"]
        places.append("nor at its pointers' URLs" if objects[sha1][1] else "no URL elsewhere")
        kept[sha1] = "held nowhere else: " + ", ".join(places)
    return kept


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
