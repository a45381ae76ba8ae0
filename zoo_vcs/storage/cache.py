"""Content-addressed local object cache: ``<root>/sha1/<2 hex>/<38 hex>``, atomic inserts, locks.

Objects are read-only once inserted and only ever appear under their final name after
their SHA1 was checked. Downloads in progress live in ``partial/<sha1>``, each guarded by
an ``flock`` so that concurrent processes share one download and a killed process's
lock disappears with it (no stale-lock files to recover from). A partial left by a
killed process is resumed by the next one.

A cache shared by a Unix group (``[cache] shared = group``) has setgid, group-writable
folders and group-writable partial files, so that any member can add, resume and
collect; objects are read-only for everyone, as always.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from zoo_vcs.errors import IntegrityError, ZooError
from zoo_vcs.storage import registry
from zoo_vcs.storage.fileio import kind_temp_path, make_dirs, open_lock_file, pid_alive
from zoo_vcs.storage.hashing import Digests, Reader, hash_file, hash_stream

log = logging.getLogger(__name__)

OBJECT_MODE = 0o444


class ObjectCache:
    """A folder of objects named by their SHA1.

    Parameters
    ----------
    root
        Cache folder; created on first write.
    shared
        Make what is created usable by every member of the folders' group.
    owner
        The git dir of the repository using the cache: registered in it when it first
        writes or finds an object (see :mod:`zoo_vcs.storage.registry`), so that gc on a
        shared cache counts it.
    """

    def __init__(self, root: str | os.PathLike[str], *, shared: bool = False,
                 owner: Path | None = None) -> None:
        self.root = Path(root)
        self.shared = shared
        self.owner = owner
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
        found = os.path.isfile(self._object_path(sha1))
        if found and self.owner is not None:
            self.register()  # it uses what others put here: gc must count it
        return found

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

    def register(self) -> None:
        """Record the owner among the cache's repositories (once per process)."""
        if self.owner is not None:
            registry.register(self.root, self.owner, shared=self.shared)
            self.owner = None

    def temp_path(self, kind: str) -> Path:
        """A new temp file's name in :meth:`temp_dir` (``add``, ``own``...)."""
        return kind_temp_path(self.temp_dir(), kind)

    def temp_dir(self) -> Path:
        """The cache's folder for temp files (named ``<kind>-<pid>-<id>``, cleaned by
        :meth:`clean_tmp` once their process is gone)."""
        self.register()  # every object written comes through tmp/ or partial/
        d = self.root / "tmp"
        make_dirs(d, shared=self.shared)
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
        source = tmp
        try:
            os.chmod(tmp, OBJECT_MODE)
        except PermissionError:
            if not self.shared:
                raise
            # Another member's partial, resumed here: only its owner may change its mode,
            # so a read-only copy of our own goes into place instead.
            source = self._own_copy(tmp)
        try:
            os.replace(source, dest)
        except FileNotFoundError:
            # The first object under this prefix. Not made up front: a mkdir per object
            # locks the prefix folder, which serialises many-object fetches.
            make_dirs(os.path.dirname(dest), shared=self.shared)
            os.replace(source, dest)
        if source != tmp:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        return Path(dest)

    def _own_copy(self, src: str | os.PathLike[str]) -> Path:
        copy = self.temp_path("own")
        try:
            shutil.copyfile(src, copy)  # a kernel copy (sendfile) on Linux
            os.chmod(copy, OBJECT_MODE)
        except BaseException:
            with contextlib.suppress(OSError):
                copy.unlink()
            raise
        return copy

    def add_file(self, src: str | os.PathLike[str], *, sha256: bool = False) -> Digests:
        """Hash ``src`` while copying it into the cache, in one pass; returns its digests."""
        return self._add(lambda sink: hash_file(src, sha256=sha256, sink=sink))

    def add_stream(self, reader: Reader, *, sha256: bool = False) -> Digests:
        """Like :meth:`add_file`, for bytes read from a stream until EOF (a git blob)."""
        return self._add(lambda sink: hash_stream(reader, sha256=sha256, sink=sink))

    def _add(self, copy: Callable[[BinaryIO], Digests]) -> Digests:
        tmp = self.temp_path("add")
        try:
            with open(tmp, "wb") as sink:
                digests = copy(sink)
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
            self.register()
            make_dirs(os.path.dirname(path), shared=self.shared)
            self._partial_ready = True
        while True:
            if self.has(sha1):
                yield None
                return
            f = open_lock_file(path, shared=self.shared)
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
                try:
                    f.close()
                except OSError:  # flushing onto a full disk: the error being raised says so
                    if sys.exc_info()[0] is None:
                        raise

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
        """Drop abandoned temp files of ``add`` and checkout (a killed process leaves them)."""
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

