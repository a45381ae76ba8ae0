"""Content-addressed local object cache: ``<root>/sha1/<2 hex>/<38 hex>``, atomic inserts, locks.

Objects are read-only once inserted and only ever appear under their final name after
their SHA1 was checked. Downloads in progress live in ``partial/<sha1>``, each guarded by
an ``flock`` so that concurrent processes share one download and a killed process's
lock disappears with it (no stale-lock files to recover from). A partial left by a
killed process is resumed by the next one.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from zoo_vcs.errors import IntegrityError, ZooError
from zoo_vcs.storage.fileio import pid_alive
from zoo_vcs.storage.hashing import Digests, hash_file

log = logging.getLogger(__name__)

OBJECT_MODE = 0o444


class ObjectCache:
    """A folder of objects named by their SHA1.

    Parameters
    ----------
    root
        Cache folder; created on first write.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._objects = os.fspath(self.root / "sha1")
        self._partials = os.fspath(self.root / "partial")
        self._partial_ready = False  # partial/ exists (made once, not per download)

    def path(self, sha1: str) -> Path:
        """Where object ``sha1`` lives (whether or not it is there)."""
        return Path(self._object_path(sha1))

    def _object_path(self, sha1: str) -> str:
        # Plain strings: asked several times per object, thousands of times per pull.
        return f"{self._objects}/{sha1[:2]}/{sha1[2:]}"

    def has(self, sha1: str) -> bool:
        """Whether the cache holds ``sha1`` (by name; :meth:`verify` checks content)."""
        return os.path.isfile(self._object_path(sha1))

    def objects(self) -> Iterator[str]:
        """Every object id in the cache."""
        base = self.root / "sha1"
        if not base.is_dir():
            return
        for prefix in sorted(os.listdir(base)):
            sub = base / prefix
            if len(prefix) != 2 or not sub.is_dir():
                continue
            for rest in sorted(os.listdir(sub)):
                if len(rest) == 38:
                    yield prefix + rest

    def _tmpdir(self) -> Path:
        d = self.root / "tmp"
        d.mkdir(parents=True, exist_ok=True)
        return d

    def commit(self, tmp: str | os.PathLike[str], digests: Digests, expected: str | None = None,
               *, url: str | None = None) -> Path:
        """Move a fully written temp file into place under its SHA1, after checking it.

        Raises
        ------
        IntegrityError
            ``expected`` is given and differs from ``digests.sha1``.
        """
        if expected is not None and digests.sha1 != expected:
            raise IntegrityError(str(tmp), expected=expected, actual=digests.sha1, url=url,
                                 size=digests.size)
        dest = self._object_path(digests.sha1)
        os.chmod(tmp, OBJECT_MODE)
        try:
            os.replace(tmp, dest)
        except FileNotFoundError:
            # The first object under this prefix. Not made up front: a mkdir per object
            # locks the prefix folder, which serialises many-object fetches.
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            os.replace(tmp, dest)
        return Path(dest)

    def add_file(self, src: str | os.PathLike[str], *, sha256: bool = False) -> Digests:
        """Hash ``src`` while copying it into the cache, in one pass; returns its digests."""
        tmp = self._tmpdir() / f"add-{os.getpid()}-{uuid.uuid4().hex}"
        try:
            with open(tmp, "wb") as sink:
                digests = hash_file(src, sha256=sha256, sink=sink)
            if self.has(digests.sha1):
                tmp.unlink()
            else:
                self.commit(tmp, digests)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        return digests

    @contextlib.contextmanager
    def partial(self, sha1: str, *, poll: float = 0.2) -> Iterator[BinaryIO | None]:
        """Lock the partial download of ``sha1``; yields its file, or None once the object exists.

        Blocks while another live process holds the lock (it is downloading the same
        object); a dead holder's lock is released by the kernel.
        """
        path = self._partial_path(sha1)
        if not self._partial_ready:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            self._partial_ready = True
        while True:
            if self.has(sha1):
                yield None
                return
            f = open(path, "a+b")  # noqa: SIM115 - closed in the finally below
            try:
                if not _try_lock(f):
                    f.close()
                    time.sleep(poll)
                    continue
                if self.has(sha1) or os.fstat(f.fileno()).st_nlink == 0:
                    # Another process finished (and renamed this inode) while we waited.
                    f.close()
                    continue
                f.seek(0, os.SEEK_END)
                yield f
                return
            finally:
                f.close()

    def commit_partial(self, f: BinaryIO, digests: Digests, expected: str,
                       *, url: str | None = None, key: str | None = None) -> Path:
        """Insert a locked, completely downloaded partial file as object ``expected``.

        ``key``: the name :meth:`partial` was given, when it is not the object's SHA1 (a
        download whose hash is known only at the end).
        """
        f.flush()
        return self.commit(self._partial_path(key or expected), digests, expected, url=url)

    def _partial_path(self, sha1: str) -> str:
        return f"{self._partials}/{sha1}"

    def verify(self, sha1: str) -> Digests:
        """Re-hash object ``sha1``; raises :class:`IntegrityError` when its bytes are wrong."""
        path = self.path(sha1)
        digests = hash_file(path)
        if digests.sha1 != sha1:
            raise IntegrityError(str(path), expected=sha1, actual=digests.sha1)
        return digests

    def remove(self, sha1: str) -> int:
        """Delete object ``sha1``; returns the bytes freed."""
        path = self.path(sha1)
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return 0
        return size

    def clean_tmp(self, older_than: float = 3600.0) -> None:
        """Drop abandoned temp files of ``add`` (a killed process leaves them)."""
        d = self.root / "tmp"
        if not d.is_dir():
            return
        now = time.time()
        for entry in os.scandir(d):
            with contextlib.suppress(OSError):
                pid = int(entry.name.split("-")[1])
                if not pid_alive(pid) or now - entry.stat().st_mtime > older_than:
                    os.unlink(entry.path)


def _try_lock(f: BinaryIO) -> bool:
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return False
        raise ZooError(f"cannot lock {f.name}: {exc.strerror}") from None
    return True

