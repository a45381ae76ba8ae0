"""Atomic writes into the workspace: unique temp names, rename into place, reflink/copy/link;
lock files; and the modes of a cache shared by a Unix group.

A file under its final name is always complete. Temp files are named
``.<name>.zoo-tmp-<pid>-<random>`` in the target's own folder (same file system, so the
rename is atomic); one left by a killed process is removed by the next write to that
folder once its pid is gone.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

_TMP_RE = re.compile(r"^\.(?P<name>.+)\.zoo-tmp-(?P<pid>\d+)-[0-9a-f]{8}$")
_FICLONE = 0x40049409  # Linux ioctl: share extents (btrfs, xfs, bcachefs)
#: ``[cache] shared = group``: folders group-writable and setgid (new files take the
#: folder's group), lock and partial files group-writable.
SHARED_DIR_MODE = 0o2775
SHARED_FILE_MODE = 0o664


def temp_path_for(target: Path) -> Path:
    """A process-unique temp name beside ``target``."""
    return target.with_name(f".{target.name}.zoo-tmp-{os.getpid()}-{os.urandom(4).hex()}")


def kind_temp_path(folder: Path, kind: str) -> Path:
    """A process-unique temp name ``<kind>-<pid>-<id>`` in a cache's temp folder (its pid
    lets a later run tell a dead process's leftover from a live one's file)."""
    return folder / f"{kind}-{os.getpid()}-{os.urandom(8).hex()}"


def make_dirs(path: str | os.PathLike[str], *, shared: bool = False) -> None:
    """``os.makedirs(path, exist_ok=True)``; with ``shared``, every folder it creates is
    made group-writable and setgid.

    The mode is set after creation because the umask (typically 022) takes the group's
    write bit away from ``mkdir``'s mode; folders that already exist are left alone (they
    may belong to another member of the group, who set their mode).
    """
    if not shared:
        os.makedirs(path, exist_ok=True)
        return
    missing = []
    folder = os.path.abspath(path)
    while not os.path.isdir(folder):
        missing.append(folder)
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    os.makedirs(path, exist_ok=True)
    for created in reversed(missing):
        share(created, SHARED_DIR_MODE)


def share(path: str | os.PathLike[str], mode: int, fd: int | None = None) -> None:
    """Give ``path`` (or open file ``fd``) ``mode`` if this user owns it and it differs.

    Another member's file is left as it is: only its owner may change its mode, and
    whoever created it in a shared cache already did.
    """
    st = os.fstat(fd) if fd is not None else os.stat(path)
    if st.st_uid != os.geteuid() or st.st_mode & 0o7777 == mode:
        return
    with contextlib.suppress(PermissionError):
        if fd is not None:
            os.fchmod(fd, mode)
        else:
            os.chmod(path, mode)


def open_lock_file(path: str | os.PathLike[str], *, shared: bool = False) -> BinaryIO:
    """Open (creating) a lock or partial file for appending and reading; with ``shared``,
    one this call creates is made group-writable so that every member of the group can
    take it over.

    Only its creator sets the mode: a file opened as it was being committed (made a
    read-only object and renamed) must not be made writable again through this handle.
    """
    flags = os.O_RDWR | os.O_APPEND
    while True:
        try:
            fd, created = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o666), True
            break
        except FileExistsError:
            pass
        try:
            fd, created = os.open(path, flags), False
            break
        except FileNotFoundError:
            continue  # committed (renamed away) in between: create it afresh
    try:
        if shared and created:
            share(path, SHARED_FILE_MODE, fd)
        return open(fd, "a+b")
    except BaseException:
        os.close(fd)
        raise


def clean_stale_temps(folder: Path) -> list[Path]:
    """Remove temp files in ``folder`` whose writing process is gone; returns what was removed."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _TMP_RE.match(entry.name)
        if m and not pid_alive(int(m.group("pid"))):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (this process counts as alive)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def locked(lock_file: Path, *, shared: bool = False) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_file`` (created if needed) for the block.

    The kernel drops the lock when its holder dies, so a killed process never leaves a
    stale lock behind. With ``shared``, the file and any folder created for it are
    usable by the whole group (see :func:`make_dirs`).
    """
    make_dirs(lock_file.parent, shared=shared)
    with open_lock_file(lock_file, shared=shared) as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def atomic_write_bytes(target: Path, data: bytes) -> None:
    """Replace ``target`` with ``data`` atomically, keeping its permission bits."""
    tmp = temp_path_for(target)
    try:
        mode: int | None = os.stat(target).st_mode & 0o7777
    except FileNotFoundError:
        mode = None  # a new file: the umask decides, as for open()
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        with open(os.open(tmp, flags, 0o666 if mode is None else mode), "wb") as f:
            f.write(data)
            # Created with the target's mode less the umask; a chmod is needed only where
            # the umask took bits away (most rewrites skip it, and its journal write).
            if mode is not None and os.fstat(f.fileno()).st_mode & 0o7777 != mode:
                os.fchmod(f.fileno(), mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class TempFiles:
    """Temp files that become workspace files once their content is known to be right: a
    download writes the cache object and its workspace copy at once (thread-safe).

    They live in ``folder`` (the cache's temp folder: a killed run leaves nothing in the
    model directory) and are renamed into place, so ``folder`` should be on the file
    system of the targets; where it is not, :meth:`commit` says so and the caller copies.
    """

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._open: dict[str, tuple[Path, BinaryIO]] = {}
        self._lock = threading.Lock()

    def open(self, key: str) -> BinaryIO:
        """A new temp file known as ``key``."""
        tmp = kind_temp_path(self._folder, "tee")
        f = open(tmp, "xb")  # noqa: SIM115 - closed by commit() or discard()
        with self._lock:
            self._open[key] = (tmp, f)
        return f

    def commit(self, key: str, target: Path, same_as: Path) -> bool:
        """Rename temp ``key`` to ``target`` if it holds as many bytes as ``same_as`` (the
        verified object it was written alongside); False (and no temp left) otherwise."""
        with self._lock:
            entry = self._open.pop(key, None)
        if entry is None:
            return False
        tmp, f = entry
        renamed = False
        try:
            f.close()
            if os.stat(tmp).st_size == os.stat(same_as).st_size:
                if not os.path.isdir(target.parent):
                    target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, target)
                renamed = True
        except OSError as exc:
            if exc.errno != errno.EXDEV:  # another file system: the caller copies instead
                raise
        finally:
            if not renamed:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        return renamed  # False: another process fetched the object, nothing written here

    def discard(self) -> None:
        """Close and remove every temp file not committed (its download failed)."""
        with self._lock:
            left, self._open = list(self._open.values()), {}
        for tmp, f in left:
            with contextlib.suppress(OSError):
                f.close()
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def place(source: Path, target: Path, link: str = "copy", *, mode: int | None = None) -> str:
    """Put cache object ``source`` at ``target`` atomically; returns the link type used.

    ``copy`` tries a reflink first (free on copy-on-write file systems) and falls back
    to a kernel copy; ``reflink`` requires one; ``hardlink`` and ``symlink`` share the
    cache object, which is read-only so an edit cannot corrupt it. ``mode`` sets a
    copy's permission bits before it appears under its name.
    """
    if not os.path.isdir(target.parent):  # a stat, not a mkdir: mkdir locks the folder
        target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(target)
    try:
        if link == "symlink":
            os.symlink(os.path.abspath(source), tmp)
            used = "symlink"
        elif link == "hardlink":
            try:
                os.link(source, tmp)
                used = "hardlink"
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                    raise
                used = _copy(source, tmp, allow_plain=True)
        else:
            used = _copy(source, tmp, allow_plain=link == "copy")
        if mode is not None and used in ("copy", "reflink"):
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return used


def _copy(source: Path, tmp: Path, *, allow_plain: bool) -> str:
    with open(source, "rb") as src, open(tmp, "xb") as dst:
        try:
            fcntl.ioctl(dst.fileno(), _FICLONE, src.fileno())
            used = "reflink"
        except OSError:
            if not allow_plain:
                raise
            if not _kernel_copy(src.fileno(), dst.fileno()):
                shutil.copyfileobj(src, dst, 1 << 20)
            used = "copy"
    # The temp file was created with the umask's mode: a writable user file, unlike the
    # read-only cache object it came from.
    return used


def _kernel_copy(src: int, dst: int) -> bool:
    """Copy file ``src`` to ``dst`` inside the kernel; False if it refuses both ways.

    copy_file_range first (it can share blocks, or copy on the server for NFS); across
    file systems of different types it fails with EXDEV, and sendfile, which never
    shares blocks but copies between any two files, does the copy.
    """
    size = os.fstat(src).st_size
    calls: tuple[Callable[[int], int], ...] = (
        lambda left: os.copy_file_range(src, dst, left),
        lambda left: os.sendfile(dst, src, None, left),
    )
    for call in calls:
        done = 0
        try:
            while done < size and (n := call(size - done)):
                done += n
            if done < size:  # the source shrank while we copied: never a short file
                raise OSError(errno.EIO, f"copied {done} of {size} bytes: the source changed")
            return True
        except OSError as exc:
            if done or exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL,
                                         errno.EOPNOTSUPP):
                raise
    return False
