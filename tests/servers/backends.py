"""Pytest fixtures for the real storage servers, and one :class:`Backend` view of each.

``tests/conftest.py`` imports the fixtures and the ``pytest_terminal_summary`` hook from here.
Server fixtures are session-scoped (azurite takes about a second to start, the others a
fraction): tests use their own bucket/folder names, and a test that stops or kills a server
starts it again before it ends. Each server keeps its keys, config and data in a temp folder
of its own, not under pytest's ``tmp_path_factory``: a pytest run deletes all but the newest
three ``/tmp/pytest-of-USER/pytest-N`` folders, including those of *another* run still going
on the same machine, which would pull sshd's host key or WsgiDAV's folder from under it.
A server whose program or client package is missing skips the tests that need it, with the
reason.

A :class:`Backend` is what a zoo-vcs user has for one server: an fsspec protocol, the storage
options they would write in ``.zoo/config`` (``-o KEY=VALUE``), and how a bucket is made and
named. Tests record the exception each backend raised for each failure case in
:data:`OBSERVED`, and the terminal summary prints them, for the product's error translation.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

from tests.servers.azure import WRONG_KEY, LoopbackAzurite
from tests.servers.gcs import LoopbackGCS
from tests.servers.process import ProcessServer, ServerUnavailable
from tests.servers.sftp import LoopbackSFTP
from tests.servers.webdav import LoopbackWebDAV

WEBDAV_USER = "zoo"
WEBDAV_PASSWORD = "webdav-test-password"  # a loopback test server's, not a secret

#: ``{backend: {case: "module.ExceptionType: message"}}``, filled by the backend tests.
OBSERVED: dict[str, dict[str, str]] = {}


def observe(backend: str, case: str, what: BaseException | str) -> None:
    """Record what ``backend`` did in failure ``case`` (an exception, or a sentence)."""
    if isinstance(what, BaseException):
        kind = type(what)
        message = " ".join(str(what).split())
        if len(message) > 160:
            message = message[:157] + "..."
        what = f"{kind.__module__}.{kind.__qualname__}: {message}"
    OBSERVED.setdefault(backend, {})[case] = what


@dataclass
class Backend:
    """One server as a user sees it through fsspec."""

    name: str
    protocol: str
    server: ProcessServer
    #: The storage options a user gives (endpoint, credentials...).
    options: dict[str, Any]
    #: Options that authenticate wrongly (None: the server checks no credentials).
    bad_auth_options: dict[str, Any] | None = None
    #: Bucket name -> the fsspec path of the bucket's root.
    root: Callable[[str], str] = field(default=lambda bucket: bucket)
    #: Whether the bucket is made with ``mkdir`` (a bucket/container) or ``makedirs`` (a folder).
    bucket_is_folder: bool = False

    def fs(self, **overrides: Any) -> Any:
        """A new filesystem instance (never fsspec's cached one: it may hold a dead
        connection to a server that was restarted)."""
        import fsspec

        return fsspec.filesystem(self.protocol, skip_instance_cache=True,
                                 **{**self.options, **overrides})

    def path(self, bucket: str, key: str = "") -> str:
        root = self.root(bucket)
        return f"{root}/{key}" if key else root

    def url(self, bucket: str, key: str) -> str:
        """The URL fsspec itself takes (with :attr:`options`) for ``fsspec.open``."""
        if self.protocol == "sftp":
            return f"sftp://{self.options['host']}:{self.options['port']}{self.path(bucket, key)}"
        return f"{self.protocol}://{self.path(bucket, key)}"

    def make_bucket(self, fs: Any, bucket: str) -> str:
        if self.bucket_is_folder:
            fs.makedirs(self.root(bucket), exist_ok=True)
        else:
            # A bucket/container: mkdir creates it (gcsfs' makedirs does nothing).
            fs.mkdir(self.root(bucket))
        return self.root(bucket)


S = TypeVar("S", bound=ProcessServer)


def _started(server: S) -> Iterator[S]:
    try:
        server.start()
    except ServerUnavailable as exc:
        server.close()
        pytest.skip(exc.reason)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def sftp_server() -> Iterator[LoopbackSFTP]:
    """OpenSSH sshd with a generated host key and client key, for the current user."""
    yield from _started(LoopbackSFTP())


@pytest.fixture(scope="session")
def webdav_server() -> Iterator[LoopbackWebDAV]:
    """WsgiDAV requiring basic auth (WEBDAV_USER / WEBDAV_PASSWORD)."""
    server = LoopbackWebDAV(user=WEBDAV_USER, password=WEBDAV_PASSWORD)
    yield from _started(server)


@pytest.fixture(scope="session")
def webdav_anon_server() -> Iterator[LoopbackWebDAV]:
    """WsgiDAV open to anyone (no auth)."""
    yield from _started(LoopbackWebDAV())


@pytest.fixture(scope="session")
def azurite_server() -> Iterator[LoopbackAzurite]:
    """Azurite's blob service (account devstoreaccount1)."""
    yield from _started(LoopbackAzurite())


@pytest.fixture(scope="session")
def gcs_server() -> Iterator[LoopbackGCS]:
    """gcp-storage-emulator (no auth)."""
    yield from _started(LoopbackGCS())


def make_backend(name: str, request: pytest.FixtureRequest) -> Backend:
    """The :class:`Backend` for ``name``, starting (or skipping) its server."""
    if name == "sftp":
        sftp: LoopbackSFTP = request.getfixturevalue("sftp_server")
        return Backend(name, "sftp", sftp, sftp.storage_options(),
                       bad_auth_options=sftp.storage_options(key=sftp.wrong_key),
                       root=sftp.path, bucket_is_folder=True)
    if name == "webdav":
        dav: LoopbackWebDAV = request.getfixturevalue("webdav_server")
        return Backend(name, "webdav", dav, dav.storage_options(),
                       bad_auth_options=dav.storage_options(password="not-the-password"),
                       bucket_is_folder=True)
    if name == "webdav-anon":
        anon: LoopbackWebDAV = request.getfixturevalue("webdav_anon_server")
        return Backend(name, "webdav", anon, anon.storage_options(), bucket_is_folder=True)
    if name == "azure":
        azurite: LoopbackAzurite = request.getfixturevalue("azurite_server")
        return Backend(name, "az", azurite, azurite.storage_options(),
                       bad_auth_options=azurite.storage_options(key=WRONG_KEY))
    if name == "gcs":
        gcs: LoopbackGCS = request.getfixturevalue("gcs_server")
        # The emulator checks no credentials: no auth-failure case.
        return Backend(name, "gs", gcs, gcs.storage_options())
    raise ValueError(f"unknown backend {name!r}")


@pytest.fixture
def no_ssh_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    """asyncssh would also offer an ssh-agent's keys: only the given key files count."""
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """``backend tests: N passed, M skipped`` (CI's record of how many really ran), and what
    each backend raised in each failure case."""
    stats = terminalreporter.stats
    counts: dict[str, set[str]] = {}
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in stats.get(outcome, []):
            if "backend" in getattr(report, "keywords", {}):
                counts.setdefault(outcome, set()).add(report.nodeid)
    if not counts:
        return
    # A test that failed in teardown also passed its call: count it once, as failed.
    failed = counts.get("failed", set()) | counts.get("error", set())
    passed = counts.get("passed", set()) - failed
    skipped = counts.get("skipped", set()) - failed - passed
    terminalreporter.write_sep("-", "storage backends")
    if OBSERVED and os.environ.get("ZOO_VCS_BACKEND_REPORT", "1") != "0":
        for backend, cases in sorted(OBSERVED.items()):
            for case, what in sorted(cases.items()):
                terminalreporter.write_line(f"{backend:12} {case:28} {what}")
    line = f"backend tests: {len(passed)} passed, {len(skipped)} skipped"
    if failed:
        line += f", {len(failed)} failed"
    terminalreporter.write_line(line)
