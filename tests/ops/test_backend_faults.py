"""A storage server killed in the middle of a push or a pull, for every backend (SFTP,
WebDAV, Azure, GCS), and a server that refuses writes.

Every byte goes through a relay in front of the server (``tests/servers/relay.py``), which
freezes the transfer once 6 MiB of a 12 MiB object went through; the server is then
killed (SIGKILL) and the relay resets the connections it held. What a user notices: exit 1
with one line naming the remote's URL and the cause, no traceback; nothing under a final
name (the workspace file absent, no object in the cache, none on the remote under its key,
the pointer not naming the remote); and once the server is back, the same command
completes with byte-identical files. What each store keeps of a cut upload is recorded for
the terminal summary (``OBSERVED``).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Result, run_zoo, temp_leftovers
from tests.ops.test_backends import (
    ONCE,
    Store,
    clone_of,
    new_store,
    one_line_error,
    sha1_of,
    tracked_repo,
)
from tests.servers.backends import make_backend, observe
from tests.servers.relay import Relay
from tests.servers.webdav import READONLY_SHARE
from zoo_vcs.formats import pointer as ptr
from zoo_vcs.formats.urls import redact

pytestmark = [pytest.mark.backend, pytest.mark.usefixtures("no_ssh_agent")]

MiB = 1 << 20
#: Larger than every backend's single-request size (zoo-vcs reads objects up to 8 MiB in
#: one request; gcsfs uploads from 5 MiB on in a resumable session).
SIZE = 12 * MiB
#: Bytes the relay lets through before it freezes the transfer and the server is killed.
CUT = 6 * MiB
#: Bound of every wait for an event (generous: a loaded 2-core machine).
DEADLINE = 120.0
SLOW = os.environ.get("ZOO_VCS_SLOW_TESTS") == "1"
#: gcsfs retries every request 6 times with 1-16 s of backoff (``retry_request(retries=6)``
#: is bound when gcsfs is imported: no storage option changes it), and a failed resumable
#: upload's DELETE again: 35-70 s per failing command, whatever zoo-vcs says.
GCS_SLOW = pytest.mark.skipif(not SLOW, reason="slow: gcsfs retries a dead server for 35-70 s "
                              "on its own (ZOO_VCS_SLOW_TESTS=1 runs it)")
KILLED = ["sftp", "webdav", "azure", pytest.param("gcs", marks=GCS_SLOW)]


@pytest.fixture(params=KILLED)
def relayed(request: pytest.FixtureRequest) -> Iterator[tuple[Store, Relay]]:
    """A new bucket on one backend, which zoo-vcs reaches through a relay."""
    backend = make_backend(request.param, request)
    with Relay(backend.server.port) as relay:
        try:
            yield new_store(backend, port=relay.port), relay
        finally:
            backend.server.start()  # whatever happened, the next test finds it running


def saved(store: Store, *sha1s: str) -> None:
    """Wait until the server keeps the bucket and objects across a crash (Azurite saves
    its databases every 5 s; the other servers write through)."""
    if store.backend.name == "azure":
        keys = [f"zoo/sha1/{sha1[:2]}/{sha1[2:]}" for sha1 in sha1s]
        store.backend.server.wait_saved(store.bucket, *keys)  # type: ignore[attr-defined]


def kill_mid_transfer(store: Store, relay: Relay, direction: str, *args: str, cwd: Path,
                      env: dict[str, str] | None = None) -> Result:
    """Run ``zoo-vcs ARGS``; once CUT bytes went ``direction``, kill the server."""
    tripped = threading.Event()
    relay.hold_after(direction, CUT, tripped)
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(run_zoo, *args, cwd=cwd, env={**ONCE, **(env or {})})
        running.add_done_callback(lambda _: tripped.set())
        assert tripped.wait(DEADLINE), "the transfer never got going"
        if running.done():
            pytest.fail(f"zoo-vcs {' '.join(args)} ended before the server was killed: "
                        f"{running.result().output}")
        store.backend.server.kill()
        relay.cut()
        return running.result(timeout=DEADLINE)


def assert_names_remote(stderr: str, store: Store) -> None:
    """The one line names the remote's URL (redacted) and says what broke."""
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert redact(store.url) in stderr, stderr
    assert any(word in stderr for word in ("connection broken", "endpoint unreachable",
                                           "timed out")), stderr


def remote_leftovers(store: Store) -> dict[str, int]:
    """Every object under the bucket, with its size (a fresh client: the server restarted)."""
    fs = store.backend.fs()
    root = store.backend.path(store.bucket)
    found = fs.find(root, detail=True)
    return {name[len(root):].lstrip("/"): int(info.get("size") or 0)
            for name, info in found.items()}


def one_object(store: Store, tmp_path: Path) -> tuple[Path, str, bytes, str]:
    """A repository tracking one SIZE binary, with ``store`` as its default remote:
    the repository, the binary's path in it, its bytes and their SHA1."""
    repo, blobs = tracked_repo(tmp_path, [SIZE])
    (name, data), = blobs.items()
    store.add(repo)
    return repo, name, data, sha1_of(data)


def test_server_killed_mid_push(relayed: tuple[Store, Relay], tmp_path: Path) -> None:
    store, relay = relayed
    repo, name, data, sha1 = one_object(store, tmp_path)
    saved(store)

    r = kill_mid_transfer(store, relay, "up", "push", cwd=repo)
    stderr = one_line_error(r)
    assert_names_remote(stderr, store)
    assert store.object_url(sha1) not in ptr.decode((repo / f"{name}.zoo").read_text()).urls

    store.backend.server.start()
    left = remote_leftovers(store)
    key = store.object_path(sha1)[len(store.backend.path(store.bucket)):].lstrip("/")
    observe(store.backend.name, "killed mid-push leaves",
            ", ".join(f"{k} ({v} B)" for k, v in sorted(left.items())) or "nothing")
    assert key not in left, f"a partial object under its final key: {left}"

    r = run_zoo("push", cwd=repo)
    assert r.returncode == 0, r.output
    assert store.backend.fs().cat_file(store.object_path(sha1)) == data
    assert store.object_url(sha1) in ptr.decode((repo / f"{name}.zoo").read_text()).urls


def test_server_killed_mid_pull(relayed: tuple[Store, Relay], tmp_path: Path) -> None:
    store, relay = relayed
    repo, name, data, sha1 = one_object(store, tmp_path)
    r = run_zoo("push", cwd=repo)
    assert r.returncode == 0, r.output
    saved(store, sha1)

    clone = clone_of(repo, tmp_path)
    cache = tmp_path / "clone-cache"
    env = {"ZOO_VCS_CACHE_DIR": str(cache)}
    r = kill_mid_transfer(store, relay, "down", "pull", cwd=clone, env=env)
    stderr = one_line_error(r)
    assert_names_remote(stderr, store)
    assert name in stderr, stderr
    assert not (clone / name).exists(), "nothing at the target"
    assert temp_leftovers(clone) == []
    assert not (cache / "sha1" / sha1[:2] / sha1[2:]).exists(), "no object in the cache"
    kept = sorted(f"{p.relative_to(cache)} ({p.stat().st_size} B)"
                  for p in cache.rglob("*") if p.is_file() and sha1 in p.as_posix())
    observe(store.backend.name, "killed mid-pull keeps", ", ".join(kept) or "nothing")

    store.backend.server.start()
    r = run_zoo("pull", cwd=clone, env=env)
    assert r.returncode == 0, r.output
    assert (clone / name).read_bytes() == data
    assert (cache / "sha1" / sha1[:2] / sha1[2:]).read_bytes() == data


@pytest.mark.parametrize("name", [
    "sftp", "webdav", "azure",
    pytest.param("gcs", marks=pytest.mark.skip(
        reason="gcp-storage-emulator checks no credentials or permissions: it cannot refuse "
               "a write")),
])
def test_push_without_write_access_is_denied(name: str, request: pytest.FixtureRequest,
                                             tmp_path: Path) -> None:
    """A user who may read the remote but not write it: ``push`` fails with one line,
    "access denied" and the URL, and writes nothing; ``status --remote`` still works.

    SFTP: sshd's read-only SFTP (``internal-sftp -R``; file modes would not stop root);
    WebDAV: a read-only WsgiDAV share; Azure: a SAS token with read and list rights.
    """
    backend = make_backend(name, request)
    server: Any = backend.server
    repo, _ = tracked_repo(tmp_path, [1000, 300_001])
    secrets = None
    if name == "sftp":
        store = new_store(backend, port=server.read_only_port)
    elif name == "webdav":
        store = new_store(backend)
        backend.fs().makedirs(backend.path(store.bucket), exist_ok=True)
        store.url = store.url.replace(f"/{store.bucket}/", f"{READONLY_SHARE}/{store.bucket}/")
    else:
        store = new_store(backend)
        sas = server.sas_connection_string(store.bucket, "rl")
        secrets = {"connection_string": sas}
    store.add(repo, secrets=secrets)

    stderr = one_line_error(run_zoo("push", cwd=repo, env=ONCE))
    observe(name, "push without write access", stderr.splitlines()[0].split(": ", 3)[-1])
    assert "access denied" in stderr, stderr
    assert redact(store.url) in stderr, stderr
    assert "sig=" not in stderr, "the SAS signature is a secret"
    assert backend.fs().find(backend.path(store.bucket)) == [], "nothing written"

    r = run_zoo("status", "--remote", "--json", cwd=repo)
    assert r.returncode == 1, r.output
    assert {f["remote"] for f in json.loads(r.stdout)["files"]} == {"missing"}
