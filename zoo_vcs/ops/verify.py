"""Re-hash tracked binaries and their cache objects, ignoring the stat cache (``verify``)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo_vcs.errors import IntegrityError, OperationError, PathError, ZooError
from zoo_vcs.ops.status import FileState, inspect
from zoo_vcs.repo.context import Repository
from zoo_vcs.repo.select import ALL, Selection


@dataclass
class VerifyResult:
    """Each file's re-hashed state and each cache object's verdict."""

    root: Path
    files: list[FileState] = field(default_factory=list)
    objects_ok: list[str] = field(default_factory=list)
    errors: list[ZooError] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "root": str(self.root),
            "files": [{"path": str(f.entry.path), "state": f.state, "actual_sha1": f.actual}
                      for f in self.files],
            "objects_ok": self.objects_ok,
            "errors": [str(e) for e in self.errors],
        }


def verify(repo: Repository, paths: Sequence[Path], *, select: Selection = ALL) -> VerifyResult:
    """Hash every tracked file (under ``paths``, named by ``select``) and its cache object again.

    Raises
    ------
    OperationError
        A workspace file or a cache object does not match its SHA1 (each in ``errors``).
    """
    cache, jobs = repo.cache, repo.config.jobs
    scan = repo.scan(paths, select=select, use_stats=False)
    result = VerifyResult(repo.root, errors=list(scan.errors))
    result.files = inspect(scan.entries, repo.stats, cache, rehash=True, jobs=jobs)
    repo.save()
    for f in result.files:
        p = f.entry.pointer
        if f.note:
            result.errors.append(PathError(repo.relpath(f.entry.path), f.note))
        elif f.state == "modified" and p is not None:
            result.errors.append(IntegrityError(repo.relpath(f.entry.path), expected=p.sha1,
                                                actual=f.actual or "?"))
        elif f.state == "unverified":
            result.errors.append(ZooError(f.entry.problem or f"{f.entry.path}: no sha1"))
    cached = sorted({f.entry.pointer.sha1 for f in result.files
                     if f.entry.pointer is not None and f.cached})

    def check(sha1: str) -> ZooError | None:
        try:
            cache.verify(sha1)
        except IntegrityError as exc:
            return exc
        return None

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for sha1, error in zip(cached, pool.map(check, cached), strict=True):
            if error is None:
                result.objects_ok.append(sha1)
            else:
                result.errors.append(error)
    if result.errors:
        raise OperationError(result.errors, result, action="verify")
    return result
