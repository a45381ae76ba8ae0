"""Smoke tests of the storage backends against real servers on loopback.

sshd (sftp, through sshfs), WsgiDAV (webdav, through webdav4; with basic auth and open),
Azurite (az, through adlfs) and gcp-storage-emulator (gs, through gcsfs), each used through
fsspec with the options a user would give. Besides checking a 3 MiB round trip, the tests
pin down what each backend raises when auth fails, a bucket or an object is missing, or the
server is down, which zoo-vcs translates into one-line errors; the terminal summary lists
them (tests/servers/backends.py).
"""

from __future__ import annotations

import contextlib
import os
import random
import time
import uuid
from pathlib import Path
from typing import Any

import fsspec
import pytest

from tests.servers.backends import Backend, make_backend, observe

pytestmark = [pytest.mark.backend, pytest.mark.usefixtures("no_ssh_agent")]

MiB = 1 << 20
SIZE = 3 * MiB
ALL = ["sftp", "webdav", "webdav-anon", "azure", "gcs"]
#: The servers that check credentials (gcp-storage-emulator accepts anything).
AUTHENTICATED = ["sftp", "webdav", "azure"]


def exception_class(dotted: str) -> type[BaseException]:
    import importlib

    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


#: What each backend raises when the credentials are wrong (checked on the first operation;
#: sshfs authenticates while the filesystem is made).
AUTH_ERRORS = {
    "sftp": "builtins.PermissionError",
    "webdav": "webdav4.client.HTTPError",
    "azure": "azure.core.exceptions.HttpResponseError",
}
#: Writing into a bucket/container/folder that does not exist.
PUT_MISSING_BUCKET = {
    "sftp": None,  # sshfs makes the missing folders first
    "webdav": None,  # so does webdav4 (MKCOL)
    "webdav-anon": None,
    "azure": "builtins.FileNotFoundError",
    "gcs": "builtins.FileNotFoundError",
}
#: An operation while the server is down (connection refused), after the client's retries.
SERVER_DOWN = {
    "sftp": "builtins.ConnectionRefusedError",  # raised when the filesystem is made
    "webdav": "httpx.ConnectError",
    "webdav-anon": "httpx.ConnectError",
    "azure": "azure.core.exceptions.ServiceRequestError",
    "gcs": "aiohttp.client_exceptions.ClientConnectorError",
}


@pytest.fixture(params=ALL)
def backend(request: pytest.FixtureRequest) -> Backend:
    return make_backend(request.param, request)


def new_bucket() -> str:
    """A fresh name valid everywhere (Azure: 3-63 lowercase letters, digits, hyphens)."""
    return f"zoo-{uuid.uuid4().hex[:16]}"


def weights(tmp_path: Path, size: int = SIZE, seed: int = 0) -> tuple[Path, bytes]:
    data = random.Random(seed).randbytes(size)
    path = tmp_path / f"weights-{seed}.caffemodel"
    path.write_bytes(data)
    return path, data


def object_key(data: bytes) -> str:
    import hashlib

    sha1 = hashlib.sha1(data).hexdigest()
    return f"sha1/{sha1[:2]}/{sha1[2:]}"


def put(backend: Backend, fs: Any, local: Path, rpath: str) -> None:
    """Upload as zoo-vcs would: folders first where the store has real folders."""
    if backend.bucket_is_folder:
        fs.makedirs(rpath.rsplit("/", 1)[0], exist_ok=True)
    fs.put_file(str(local), rpath)


def test_roundtrip(backend: Backend, tmp_path: Path) -> None:
    """put 3 MiB, ls, info, ranged cat_file, get (by path and by URL), rm."""
    local, data = weights(tmp_path)
    fs = backend.fs()
    bucket = new_bucket()
    backend.make_bucket(fs, bucket)
    key = object_key(data)
    rpath = backend.path(bucket, key)

    began = time.monotonic()
    put(backend, fs, local, rpath)
    listed = fs.ls(backend.path(bucket, key.rsplit("/", 1)[0]), detail=False)
    assert [p.rstrip("/") for p in listed] == [rpath]
    assert fs.info(rpath)["size"] == SIZE
    start = MiB + 7
    ranged = fs.cat_file(rpath, start=start, end=start + 4096)
    tail = fs.cat_file(rpath, start=SIZE - 10)
    if backend.protocol == "sftp" and ranged == data:
        # sshfs (2026.8) drops start/end in _cat_file and returns the whole file; a ranged
        # read needs open + seek, which this checks instead.
        observe(backend.name, "cat_file(start, end)", "range IGNORED: whole file returned")
        with fs.open(rpath, "rb") as remote:
            remote.seek(start)
            ranged = remote.read(4096)
            remote.seek(SIZE - 10)
            tail = remote.read()
    assert ranged == data[start:start + 4096]
    assert tail == data[-10:]

    out = tmp_path / "out.bin"
    fs.get_file(rpath, str(out))
    assert out.read_bytes() == data
    with fsspec.open(backend.url(bucket, key), "rb", **backend.options) as remote:
        assert remote.read() == data

    fs.rm(rpath)
    assert not fs.exists(rpath)
    with pytest.raises(FileNotFoundError):
        fs.info(rpath)
    observe(backend.name, "roundtrip 3 MiB", f"{time.monotonic() - began:.2f} s")


def test_object_missing(backend: Backend, tmp_path: Path) -> None:
    fs = backend.fs()
    bucket = new_bucket()
    backend.make_bucket(fs, bucket)
    missing = backend.path(bucket, "sha1/00/" + "0" * 38)
    with pytest.raises(FileNotFoundError) as info:
        fs.info(missing)
    observe(backend.name, "object missing: info", info.value)
    with pytest.raises(FileNotFoundError) as cat:
        fs.cat_file(missing)
    observe(backend.name, "object missing: cat_file", cat.value)
    # Never a device or shared file as the target: gcsfs deletes the local path when a
    # download fails, even a file that was there before (as root, /dev/null too).
    target = tmp_path / "existing.bin"
    target.write_bytes(b"was here before")
    with pytest.raises(FileNotFoundError) as get:
        fs.get_file(missing, str(target))
    observe(backend.name, "object missing: get_file", get.value)
    kept = target.exists()
    observe(backend.name, "failed get_file: local file",
            "left as it was" if kept else "DELETED (even though it existed before)")
    assert kept == (backend.protocol != "gs")


def test_bucket_missing(backend: Backend, tmp_path: Path) -> None:
    local, data = weights(tmp_path, size=1024)
    fs = backend.fs()
    bucket = new_bucket()
    rpath = backend.path(bucket, object_key(data))
    with pytest.raises(FileNotFoundError) as cat:
        fs.cat_file(rpath)
    observe(backend.name, "bucket missing: cat_file", cat.value)
    with pytest.raises(FileNotFoundError) as ls:
        fs.ls(backend.path(bucket))
    observe(backend.name, "bucket missing: ls", ls.value)

    expected = PUT_MISSING_BUCKET[backend.name]
    if expected is None:
        fs.put_file(str(local), rpath)  # no folders made first: the backend makes them
        assert fs.cat_file(rpath) == data
        observe(backend.name, "bucket missing: put_file", "succeeds (makes the folders)")
    else:
        with pytest.raises(exception_class(expected)) as put_error:
            fs.put_file(str(local), rpath)
        observe(backend.name, "bucket missing: put_file", put_error.value)


@pytest.mark.parametrize("name", AUTHENTICATED)
def test_auth_failure(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    backend = make_backend(name, request)
    fs = backend.fs()
    bucket = new_bucket()
    backend.make_bucket(fs, bucket)
    local, data = weights(tmp_path, size=1024)
    rpath = backend.path(bucket, object_key(data))
    put(backend, fs, local, rpath)
    assert backend.bad_auth_options is not None

    expected = exception_class(AUTH_ERRORS[name])
    with pytest.raises(expected) as read_error:
        backend.fs(**backend.bad_auth_options).cat_file(rpath)
    observe(name, "auth failure: read", read_error.value)
    with pytest.raises(expected) as write_error:
        backend.fs(**backend.bad_auth_options).pipe_file(rpath + ".2", b"x")
    observe(name, "auth failure: write", write_error.value)
    if name == "webdav":
        with pytest.raises(expected) as anonymous:
            backend.fs(auth=None).cat_file(rpath)
        assert anonymous.value.status_code == 401
        observe(name, "auth failure: no credentials", anonymous.value)
    assert fs.cat_file(rpath) == data  # the right credentials still work


def test_server_down(backend: Backend, tmp_path: Path) -> None:
    """A stopped server: connection refused (after the client's own retries, which take
    ~30 s for gcsfs and ~80 s for adlfs); started again, the data is still there."""
    if backend.protocol in ("az", "gs") and os.environ.get("ZOO_VCS_SLOW_TESTS") != "1":
        # The libraries' own retries take 30-80 s here; what zoo-vcs makes of a stopped
        # server (its own retry policy, bounded) is tested end to end in
        # tests/ops/test_backends.py. ZOO_VCS_SLOW_TESTS=1 runs this too.
        pytest.skip("slow: the library's own retries (ZOO_VCS_SLOW_TESTS=1 runs it)")
    local, data = weights(tmp_path, size=4096)
    fs = backend.fs()
    bucket = new_bucket()
    backend.make_bucket(fs, bucket)
    rpath = backend.path(bucket, object_key(data))
    put(backend, fs, local, rpath)
    assert fs.cat_file(rpath) == data

    expected = exception_class(SERVER_DOWN[backend.name])
    backend.server.stop()
    try:
        began = time.monotonic()
        if backend.protocol == "sftp":
            # An open SFTP session dies with its server. Which error depends on who notices
            # first: asyncssh (SFTPNoConnection, ConnectionLost: asyncssh.Error, *not*
            # OSError) or the socket write (BrokenPipeError / ConnectionResetError).
            import asyncssh

            with pytest.raises((asyncssh.Error, OSError)) as broken:
                fs.cat_file(rpath)
            observe(backend.name, "server down: open session", broken.value)
            with pytest.raises(expected) as refused:
                backend.fs().cat_file(rpath)
        else:
            with pytest.raises(expected) as refused:
                fs.cat_file(rpath)
        observe(backend.name, "server down", f"{refused.value} (after "
                f"{time.monotonic() - began:.0f} s) [{type(refused.value).__module__}."
                f"{type(refused.value).__qualname__}]")
    finally:
        backend.server.start()
    assert backend.fs().cat_file(rpath) == data


def test_kill_mid_upload_then_rerun(backend: Backend, tmp_path: Path) -> None:
    """The server crashes (SIGKILL) during an upload and comes back on the same port and
    data: the upload fails or the client's retries finish it, and a rerun completes."""
    size = 8 * MiB
    local, data = weights(tmp_path, size=size, seed=1)
    fs = backend.fs()
    bucket = new_bucket()
    backend.make_bucket(fs, bucket)
    rpath = backend.path(bucket, object_key(data))
    crashed: list[float] = []

    def crash() -> None:
        if not crashed:
            crashed.append(time.monotonic())
            backend.server.kill()
            backend.server.start()

    error: BaseException | None = None
    if backend.protocol == "webdav":
        # webdav4 spools writes to a temp file and uploads on close: crash during put_file,
        # from its progress callback (called as the request body is read).
        class CrashAfter(fsspec.callbacks.Callback):
            def call(self, *args: Any, **kwargs: Any) -> None:
                if self.value >= 2 * MiB:
                    crash()

        try:
            fs.put_file(str(local), rpath, callback=CrashAfter())
        except Exception as exc:
            error = exc
    else:
        # sshfs writes through, adlfs stages 1 MiB blocks, gcsfs sends 1 MiB resumable
        # chunks: crash after 3 MiB were sent. (sshfs' block_size is the size of one SFTP
        # write request, and OpenSSH drops the connection on one over 256 KiB: its default,
        # from the server's limits@openssh.com, is right.)
        if backend.bucket_is_folder:
            fs.makedirs(rpath.rsplit("/", 1)[0], exist_ok=True)
        remote = fs.open(rpath, "wb", **({} if backend.protocol == "sftp" else
                                          {"block_size": MiB}))
        try:
            for offset in range(0, size, MiB):
                remote.write(data[offset:offset + MiB])
                if offset == 3 * MiB:
                    crash()
            remote.close()
        except Exception as exc:
            error = exc
            # Drop the half-written file object: closing it again (as garbage collection
            # would) retries the upload against a session that no longer exists.
            with contextlib.suppress(AttributeError):
                remote.closed = True
            with contextlib.suppress(AttributeError):
                remote._closed = True
    assert crashed, "the upload finished before the crash was triggered"

    fresh = backend.fs()
    if error is None:
        # The client's retries carried the upload over the restart: it must be whole.
        assert fresh.cat_file(rpath) == data
        observe(backend.name, "killed mid-upload", "client retried; upload completed")
        return
    leftover = "none"
    with contextlib.suppress(FileNotFoundError):
        leftover = f"{fresh.info(rpath)['size']} bytes at the final path"
    observe(backend.name, "killed mid-upload", f"{error!r:.120} [{type(error).__module__}."
            f"{type(error).__qualname__}]; leftover: {leftover}")
    # The rerun: the bucket may be gone too (Azurite saves its metadata every 5 s).
    if not backend.bucket_is_folder and not fresh.exists(backend.path(bucket)):
        backend.make_bucket(fresh, bucket)
    put(backend, fresh, local, rpath)
    assert backend.fs().cat_file(rpath) == data
