"""Every storage backend end to end through the CLI, against real servers on loopback:
SFTP (sshd), WebDAV (WsgiDAV), Azure (Azurite), GCS (gcp-storage-emulator).

One suite, parametrised over the four: ``remote add`` with the options a user types (secrets
with ``--local``), ``push``, a fresh clone's ``pull``, ``status --remote``, a corrupted remote
object refused (sha1 mismatch naming the URL) and the next source used, a stopped server
(exit 1, one line, nothing at the target) then the rerun, and one-line errors for wrong
credentials and a missing bucket. A server that cannot start skips its tests with the reason.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import git, make_weights, run_zoo, temp_leftovers
from tests.servers.backends import WEBDAV_PASSWORD, WEBDAV_USER, Backend, make_backend
from zoo_vcs.formats import pointer as ptr
from zoo_vcs.formats.urls import redact

pytestmark = [pytest.mark.backend, pytest.mark.usefixtures("no_ssh_agent")]

BACKENDS = ["sftp", "webdav", "azure", "gcs"]
#: Our retries off: a failure case shows after the backend's own retries, once.
ONCE = {"ZOO_VCS_RETRIES": "0"}


@dataclass
class Store:
    """A bucket on one backend, as a zoo-vcs user configures it."""

    backend: Backend
    bucket: str
    url: str
    #: ``remote add`` options for .zoo/config, and the secret ones for config.local.
    options: list[str]
    secrets: dict[str, str] = field(default_factory=dict)

    def add(self, repo: Path, name: str = "store", *, default: bool = True,
            secrets: dict[str, str] | None = None) -> None:
        r = run_zoo("remote", "add", name, self.url, *(["--default"] if default else []),
                    *self.options, cwd=repo)
        assert r.returncode == 0, r.output
        for key, value in (self.secrets if secrets is None else secrets).items():
            r = run_zoo("remote", "modify", name, key, value, "--local", cwd=repo)
            assert r.returncode == 0, r.output

    def object_path(self, sha1: str) -> str:
        """The object's path for :meth:`Backend.fs`."""
        return self.backend.path(self.bucket, f"zoo/sha1/{sha1[:2]}/{sha1[2:]}")

    def object_url(self, sha1: str) -> str:
        return f"{self.url}/sha1/{sha1[:2]}/{sha1[2:]}"


def new_store(backend: Backend, port: int | None = None) -> Store:
    """A new bucket on ``backend``, reached on ``port`` (a relay in front of the server;
    by default the server's own)."""
    bucket = f"zoo-{uuid.uuid4().hex[:16]}"
    server: Any = backend.server
    port = port or server.port
    if backend.name == "sftp":
        backend.fs().makedirs(backend.path(bucket), exist_ok=True)
        opts = backend.options
        return Store(backend, bucket,
                     f"sftp://{opts['username']}@{opts['host']}:{port}"
                     f"{backend.path(bucket)}/zoo",
                     ["-o", f"client_keys={json.dumps(opts['client_keys'])}",
                      "-o", "known_hosts=null"])
    if backend.name == "webdav":
        return Store(backend, bucket, f"webdav://127.0.0.1:{port}/{bucket}/zoo",
                     ["-o", f"username={WEBDAV_USER}"], {"password": WEBDAV_PASSWORD})
    if backend.name == "azure":
        backend.make_bucket(backend.fs(), bucket)
        return Store(backend, bucket, f"az://{bucket}/zoo", [],
                     {"connection_string": server.connection_string(port=port)})
    assert backend.name == "gcs"
    backend.make_bucket(backend.fs(), bucket)
    return Store(backend, bucket, f"gs://{bucket}/zoo",
                 ["-o", f"endpoint_url=http://127.0.0.1:{port}", "-o", "token=anon",
                  "-o", f"project={backend.options['project']}"])


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Store:
    return new_store(make_backend(request.param, request))


def tracked_repo(tmp_path: Path, sizes: list[int]) -> tuple[Path, dict[str, bytes]]:
    repo = tmp_path / "work"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    blobs = {f"m/w{i}.caffemodel": make_weights(repo / f"m/w{i}.caffemodel", size, seed=i)
             for i, size in enumerate(sizes)}
    r = run_zoo("add", *blobs, cwd=repo)
    assert r.returncode == 0, r.output
    return repo, blobs


def clone_of(repo: Path, tmp_path: Path, secrets: Store | None = None) -> Path:
    """A fresh clone (committing the work first); ``secrets``: its config.local again."""
    git("add", "-A", cwd=repo)
    if git("status", "--porcelain", cwd=repo).strip():
        git("commit", "-q", "-m", "weights", cwd=repo)
    clone = tmp_path / f"clone-{uuid.uuid4().hex[:6]}"
    git("clone", "-q", str(repo), str(clone), cwd=tmp_path)
    local = repo / ".zoo" / "config.local"
    if local.exists():
        (clone / ".zoo" / "config.local").write_bytes(local.read_bytes())
    return clone


def one_line_error(r: Any) -> str:
    assert r.returncode == 1, r.output
    assert "Traceback" not in r.output, r.output
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert lines, r.output
    return r.stderr


def sha1_of(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def test_push_pull_status(store: Store, tmp_path: Path) -> None:
    repo, blobs = tracked_repo(tmp_path, [1000, 20_000, 300_001])
    store.add(repo)
    config = (repo / ".zoo" / "config").read_text()
    for secret in store.secrets.values():
        assert secret not in config, "secrets stay in config.local"

    r = run_zoo("status", "--remote", "--json", cwd=repo)
    assert r.returncode == 1, r.output
    assert {f["remote"] for f in json.loads(r.stdout)["files"]} == {"missing"}

    r = run_zoo("push", "--json", cwd=repo)
    assert r.returncode == 0, r.output
    assert len(json.loads(r.stdout)["uploaded"]) == 3
    fs = store.backend.fs()
    for name, data in blobs.items():
        sha1 = sha1_of(data)
        assert fs.cat_file(store.object_path(sha1)) == data
        assert store.object_url(sha1) in ptr.decode((repo / f"{name}.zoo").read_text()).urls

    r = run_zoo("push", "--json", cwd=repo)
    assert r.returncode == 0, r.output
    assert json.loads(r.stdout)["uploaded"] == []

    r = run_zoo("status", "--remote", cwd=repo)
    assert r.returncode == 0, r.output
    assert "remote 'store': 3 present, 0 missing" in r.stdout

    clone = clone_of(repo, tmp_path)
    r = run_zoo("pull", cwd=clone)
    assert r.returncode == 0, r.output
    for name, data in blobs.items():
        assert (clone / name).read_bytes() == data

    # An object gone from the remote: status --remote says which, and exits 1.
    gone = "m/w1.caffemodel"
    fs.rm(store.object_path(sha1_of(blobs[gone])))
    r = run_zoo("status", "--remote", "--json", cwd=repo)
    assert r.returncode == 1, r.output
    states = {f["path"]: f["remote"] for f in json.loads(r.stdout)["files"]}
    assert states == {name: "missing" if name == gone else "present" for name in blobs}


def test_corrupt_object_is_refused_and_the_next_source_used(store: Store,
                                                            tmp_path: Path) -> None:
    repo, blobs = tracked_repo(tmp_path, [50_000])
    (name, data), = blobs.items()
    sha1 = sha1_of(data)
    store.add(repo)
    second = new_store(store.backend)
    second.add(repo, "second", default=False)
    assert run_zoo("push", cwd=repo).returncode == 0
    assert run_zoo("push", "-r", "second", cwd=repo).returncode == 0
    bad = b"X" + data[1:]  # the same size, other bytes
    store.backend.fs().pipe_file(store.object_path(sha1), bad)

    clone = clone_of(repo, tmp_path)
    r = run_zoo("fetch", cwd=clone)
    assert r.returncode == 0, r.output
    assert redact(store.object_url(sha1)) in r.stderr, "the bad source is named"
    assert sha1_of(bad) in r.stderr
    r = run_zoo("checkout", cwd=clone, env={"ZOO_VCS_OFFLINE": "1"})
    assert r.returncode == 0, r.output
    assert (clone / name).read_bytes() == data
    assert store.backend.fs().cat_file(store.object_path(sha1)) == bad, "never modified"


def test_stopped_server_fails_cleanly_then_the_rerun_completes(store: Store,
                                                              tmp_path: Path) -> None:
    repo, blobs = tracked_repo(tmp_path, [2_000_000, 3000])
    store.add(repo)
    server = store.backend.server
    if store.backend.name != "gcs":  # gcsfs retries 6 times (34 s) whatever we say: once
        server.stop()
        try:
            stderr = one_line_error(run_zoo("push", cwd=repo, env=ONCE))
            assert "endpoint unreachable" in stderr, stderr
        finally:
            server.start()
    r = run_zoo("push", cwd=repo)
    assert r.returncode == 0, r.output

    clone = clone_of(repo, tmp_path)
    server.stop()
    try:
        stderr = one_line_error(run_zoo("pull", cwd=clone, env=ONCE))
        assert "endpoint unreachable" in stderr, stderr
        for name in blobs:
            assert not (clone / name).exists(), "nothing at the target"
        assert temp_leftovers(clone) == []
    finally:
        server.start()
    r = run_zoo("pull", cwd=clone)
    assert r.returncode == 0, r.output
    for name, data in blobs.items():
        assert (clone / name).read_bytes() == data



@pytest.mark.parametrize("name", ["sftp", "webdav", "azure"])
def test_wrong_credentials_are_one_line(name: str, request: pytest.FixtureRequest,
                                        tmp_path: Path) -> None:
    backend = make_backend(name, request)
    store = new_store(backend)
    server: Any = backend.server
    repo, _ = tracked_repo(tmp_path, [1000])
    if name == "sftp":
        store.options[1] = f"client_keys={json.dumps([str(server.wrong_key)])}"
        store.add(repo)
    elif name == "webdav":
        store.add(repo, secrets={"password": "not-the-password"})
    else:
        from tests.servers.azure import WRONG_KEY

        store.add(repo, secrets={"connection_string": server.connection_string(WRONG_KEY)})
    stderr = one_line_error(run_zoo("push", cwd=repo, env=ONCE))
    assert "credentials rejected" in stderr, stderr
    for secret in ("not-the-password", "AccountKey"):
        assert secret not in stderr


@pytest.mark.parametrize("name", ["azure", "gcs"])
def test_missing_bucket_is_one_line(name: str, request: pytest.FixtureRequest,
                                    tmp_path: Path) -> None:
    store = new_store(make_backend(name, request))
    store.url = store.url.replace(store.bucket, store.bucket + "-none")
    repo, _ = tracked_repo(tmp_path, [1000])
    store.add(repo)
    stderr = one_line_error(run_zoo("push", cwd=repo, env=ONCE))
    assert "bucket does not exist" in stderr, stderr


def test_missing_backend_package_names_the_extra(tmp_path: Path) -> None:
    """A backend whose package is missing: a ConfigError naming the extra (sshfs hidden)."""
    repo, _ = tracked_repo(tmp_path, [1000])
    assert run_zoo("remote", "add", "store", "sftp://me@127.0.0.1:1/zoo", "-d",
                   cwd=repo).returncode == 0
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sshfs.py").write_text("raise ImportError('No module named sshfs')\n")
    r = run_zoo("push", cwd=repo, env={"PYTHONPATH": str(hide)})
    assert r.returncode != 0, r.output
    assert "Traceback" not in r.output, r.output
    assert "pip install 'zoo-vcs[ssh]'" in r.stderr, r.stderr


def test_webdav_urls_name_their_server() -> None:
    """``webdav[s]://HOST[:PORT]/PATH`` -> webdav4's ``base_url`` and a path relative to it,
    a pointer's object URL as well as a remote's; ``username``/``password`` -> ``auth``."""
    from zoo_vcs.transfer.common import TransferOptions
    from zoo_vcs.transfer.store import filesystem

    opts = TransferOptions(timeout=7, options_for=lambda url: {"username": "me",
                                                               "password": "pw"})
    url = "webdavs://cloud.example.org/remote.php/dav/files/me/zoo/sha1/ab/" + "c" * 38
    fs, path = filesystem(url, opts)
    assert str(fs.client.base_url).rstrip("/") == "https://cloud.example.org"
    assert path == "remote.php/dav/files/me/zoo/sha1/ab/" + "c" * 38
    fs, path = filesystem("webdav://127.0.0.1:8080/dav/zoo", TransferOptions())
    assert str(fs.client.base_url).rstrip("/") == "http://127.0.0.1:8080"
    assert path == "dav/zoo"
