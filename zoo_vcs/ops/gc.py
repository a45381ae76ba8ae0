"""Drop cache objects that no pointer (or legacy readme entry) in the workspace references."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo_vcs.errors import OperationError
from zoo_vcs.repo.context import Repository


@dataclass
class GcResult:
    """Objects removed (or that would be, with ``dry_run``) and bytes freed."""

    cache_dir: Path
    removed: list[str] = field(default_factory=list)
    kept: int = 0
    freed: int = 0
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"cache_dir": str(self.cache_dir), "removed": self.removed, "kept": self.kept,
                "freed_bytes": self.freed, "dry_run": self.dry_run}


def gc(repo: Repository, *, dry_run: bool = False) -> GcResult:
    """Remove unreferenced objects from the cache.

    Only this workspace's pointers count: a cache shared through ``ZOO_VCS_CACHE_DIR``
    by several repositories loses the other repositories' objects.

    Raises
    ------
    OperationError
        Some pointer could not be read: nothing is removed, since its object might be
        one of those that look unreferenced.
    """
    cache = repo.cache
    scan = repo.scan(use_stats=False)
    result = GcResult(cache.root, dry_run=dry_run)
    if scan.errors:
        raise OperationError(scan.errors, result, action="gc")
    keep = {e.pointer.sha1 for e in scan.entries if e.pointer is not None}
    for sha1 in list(cache.objects()):
        if sha1 in keep:
            result.kept += 1
            continue
        result.removed.append(sha1)
        if dry_run:
            result.freed += cache.path(sha1).stat().st_size
        else:
            result.freed += cache.remove(sha1)
    return result
