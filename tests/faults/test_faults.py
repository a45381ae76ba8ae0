"""Fault matrix: every way a download source can misbehave, through the installed console
script, over the loopback HTTP server (and a smaller set over moto S3).

For every fault the outcome is either success (a byte-exact file, reached by retry, resume
or failover) or exit 1 with one stderr line naming the file, the URL (or host) and the
cause. In every case no wrong file stands at the target path, no temp file is left in the
model folder, and every object in the cache hashes to its name.
"""

from __future__ import annotations

import hashlib
import random
import re
import selectors
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import git, run_zoo, temp_leftovers
from tests.servers import http as faults
from tests.servers.http import LoopbackHTTPServer
from tests.servers.relay import stop_listening
from zoo_vcs.formats import pointer as ptr

SIZE = 1_200_007
NAME = "net.caffemodel"
PATH = f"/w/{NAME}"
#: Fast failure: one retry, short backoff is built in (0.5 s * jitter).
FAST = {"ZOO_VCS_RETRIES": "1"}


# --------------------------------------------------------------------------- helpers


def _data(size: int = SIZE, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


def _repo(tmp_path: Path, urls: list[str], data: bytes, *, size: int | None = None) -> Path:
    """A git repository whose only pointer names ``urls``; returns the model folder."""
    repo = tmp_path / "repo"
    model = repo / "models" / "net"
    model.mkdir(parents=True)
    git("init", "-q", cwd=repo)
    p = ptr.Pointer(hashlib.sha1(data).hexdigest(), size=len(data) if size is None else size,
                    urls=tuple(urls))
    (model / f"{NAME}.zoo").write_text(ptr.encode(p))
    return model


def _closed_port() -> int:
    """A loopback port nothing listens on (bound then closed: the kernel refuses connects)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return int(port)


def cache_objects(cache_root: Path) -> dict[str, Path]:
    """Every object file under ``<cache>/sha1/`` by the name it claims."""
    out = {}
    base = cache_root / "sha1"
    if base.is_dir():
        for prefix in base.iterdir():
            for obj in prefix.iterdir():
                out[prefix.name + obj.name] = obj
    return out


def assert_cache_consistent(cache_root: Path) -> None:
    for name, obj in cache_objects(cache_root).items():
        assert hashlib.sha1(obj.read_bytes()).hexdigest() == name, f"corrupt cache object {obj}"


def assert_no_damage(model: Path, data: bytes) -> None:
    """The invariants of every case, success or failure."""
    target = model / NAME
    assert not target.exists() or target.read_bytes() == data, "a wrong file at the target"
    assert temp_leftovers(model.parents[1]) == []
    left = sorted(p.name for p in model.iterdir())
    assert left in ([f"{NAME}.zoo"], [NAME, f"{NAME}.zoo"]), left
    assert_cache_consistent(model.parents[1] / ".git" / "zoo-vcs" / "cache")


def assert_error_line(stderr: str, root: Path, *needles: str) -> None:
    """Some stderr line names the file and contains every needle (URL/host, cause); the
    test's own folder is cut out first so that its name cannot match a needle."""
    lines = [ln for ln in (line.replace(str(root), "<root>") for line in stderr.splitlines())
             if NAME in ln and all(n in ln for n in needles)]
    assert lines, f"no stderr line with {NAME!r} and {needles!r}:\n{stderr}"


# --------------------------------------------------------------------------- HTTP matrix


@dataclass(frozen=True)
class Case:
    """One fault: how to arm the server, and what must come out."""

    arm: Callable[[LoopbackHTTPServer, bytes], list[str]]  # returns the pointer's URLs
    cause: str | None = None  # None: success expected; else a substring of the error
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    check: Callable[[LoopbackHTTPServer, float], None] | None = None
    timeout: float = 60.0
    bug: str | None = None  # a known product bug: the case is xfail(strict)


def _serve(server: LoopbackHTTPServer, data: bytes, *queued: faults.Fault,
           always: faults.Fault | None = None) -> list[str]:
    url = server.add(PATH, data)
    if queued:
        server.fail(PATH, *queued)
    if always is not None:
        server.always(PATH, always)
    return [url]


def _resumed(min_start: int) -> Callable[[LoopbackHTTPServer, float], None]:
    """The last request asked for the rest with Range, from at least ``min_start``."""

    def check(server: LoopbackHTTPServer, _elapsed: float) -> None:
        reqs = server.requests_for(PATH)
        assert len(reqs) >= 2
        rng = reqs[-1].headers.get("range", "")
        assert rng.startswith("bytes="), [r.headers for r in reqs]
        assert int(rng.removeprefix("bytes=").split("-")[0]) >= min_start
        assert reqs[-1].status == 206
        assert server.bytes_sent(PATH) < 2 * SIZE

    return check


def _requests(n: int, min_elapsed: float = 0.0,
              max_elapsed: float = 60.0) -> Callable[[LoopbackHTTPServer, float], None]:
    def check(server: LoopbackHTTPServer, elapsed: float) -> None:
        assert len(server.requests_for(PATH)) == n, [r.status for r in server.requests_for(PATH)]
        assert min_elapsed <= elapsed <= max_elapsed, elapsed

    return check


def _mirror(server: LoopbackHTTPServer, data: bytes, first: str) -> list[str]:
    return [first, server.add("/mirror/" + NAME, data)]


def _redirect_loop(server: LoopbackHTTPServer, data: bytes) -> list[str]:
    url = server.add(PATH, data)
    server.always(PATH, faults.redirect(PATH))
    return [url]


def _redirect_ok(server: LoopbackHTTPServer, data: bytes) -> list[str]:
    url = server.add(PATH, data)
    server.add("/elsewhere/" + NAME, data)
    server.fail(PATH, faults.redirect("/elsewhere/" + NAME, code=301))
    return [url]


def _corrupt_then_mirror(server: LoopbackHTTPServer, data: bytes) -> list[str]:
    url = server.add(PATH, data)
    server.always(PATH, faults.corrupt(SIZE // 2))
    return _mirror(server, data, url)


def _dead(server: LoopbackHTTPServer, data: bytes) -> list[str]:
    return [f"http://127.0.0.1:{_closed_port()}{PATH}"]


def _dead_then_mirror(server: LoopbackHTTPServer, data: bytes) -> list[str]:
    return _mirror(server, data, f"http://127.0.0.1:{_closed_port()}{PATH}")


def _html_then_mirror(server: LoopbackHTTPServer, data: bytes) -> list[str]:
    url = server.add(PATH, data)
    server.always(PATH, faults.html_page())
    return _mirror(server, data, url)


def _shorter(server: LoopbackHTTPServer, data: bytes) -> list[str]:
    """The server's file is shorter than the pointer says (a complete, honest response)."""
    return [server.add(PATH, data[:-10])]


def _longer(server: LoopbackHTTPServer, data: bytes) -> list[str]:
    return [server.add(PATH, data + b"trailing junk")]


CASES: dict[str, Case] = {
    # connection resets: retried, resumed with Range
    "reset-at-0": Case(lambda s, d: _serve(s, d, faults.reset_after(0)), check=_requests(2)),
    "reset-mid-body": Case(lambda s, d: _serve(s, d, faults.reset_after(SIZE // 2)),
                           check=_resumed(1)),
    "reset-one-byte-before-end": Case(lambda s, d: _serve(s, d, faults.reset_after(SIZE - 1)),
                                      check=_resumed(1)),
    "reset-twice": Case(lambda s, d: _serve(s, d, faults.reset_after(100_000),
                                            faults.reset_after(100_000)),
                        env={"ZOO_VCS_RETRIES": "2"}, check=_resumed(1)),
    "truncated-body-with-content-length": Case(
        lambda s, d: _serve(s, d, faults.truncate_after(SIZE // 3)), check=_resumed(1)),
    # aiohttp drops bytes it had buffered when the connection breaks, so at the very end of
    # a body the retry may start again from byte 0: one retry, either way.
    "truncated-one-byte-short": Case(
        lambda s, d: _serve(s, d, faults.truncate_after(SIZE - 1)), check=_requests(2)),
    "ignores-range-after-reset": Case(
        lambda s, d: _serve(s, d, faults.reset_after(SIZE // 2), faults.ignore_range())),
    "no-content-length-persistent": Case(
        lambda s, d: _serve(s, d, always=faults.no_content_length())),
    # transient statuses: retried (honouring Retry-After), then success
    "500-then-ok": Case(lambda s, d: _serve(s, d, faults.status(500)), check=_requests(2)),
    "500-retry-after-then-ok": Case(lambda s, d: _serve(s, d, faults.status(500, "1")),
                                    check=_requests(2, min_elapsed=1.0)),
    "503-then-ok": Case(lambda s, d: _serve(s, d, faults.status(503)), check=_requests(2)),
    "503-retry-after-then-ok": Case(lambda s, d: _serve(s, d, faults.status(503, "1")),
                                    check=_requests(2, min_elapsed=1.0)),
    "redirect-then-ok": Case(_redirect_ok),
    "slow-but-progressing": Case(
        lambda s, d: _serve(s, d, faults.trickle(256 * 1024, 0.3)), args=("--timeout", "1"),
        env={"ZOO_VCS_RETRIES": "0"}, check=_requests(1)),
    # failover to the next URL
    "corrupt-then-mirror": Case(_corrupt_then_mirror),
    "dead-host-then-mirror": Case(_dead_then_mirror),
    "html-page-then-mirror": Case(_html_then_mirror),
    # failures: exit 1, a line naming file, URL and cause
    "corrupted-bytes": Case(lambda s, d: _serve(s, d, always=faults.corrupt(12345)),
                            cause="wrong content"),
    "persistent-503": Case(lambda s, d: _serve(s, d, always=faults.status(503)),
                           cause="HTTP 503", env=FAST, check=_requests(2)),
    "503-retry-after-too-long": Case(
        lambda s, d: _serve(s, d, always=faults.status(503, "3600")), cause="HTTP 503",
        check=_requests(1, max_elapsed=20)),
    "404": Case(lambda s, d: _serve(s, d, always=faults.status(404)), cause="404",
                check=_requests(1)),
    "html-page-200": Case(lambda s, d: _serve(s, d, always=faults.html_page()),
                          cause="this looks like a web page"),
    "slow-trickle-past-timeout": Case(
        lambda s, d: _serve(s, d, always=faults.trickle(1000, 3.0)), cause="no progress for 1",
        args=("--timeout", "1"), env={"ZOO_VCS_RETRIES": "0"},
        check=_requests(1, max_elapsed=20)),
    "redirect-loop": Case(_redirect_loop, cause="redirect"),
    "dead-host": Case(_dead, cause="connect"),
    # Once looped forever (416 on the Range request restarted from byte 0 without bound).
    "server-file-shorter-than-pointer": Case(_shorter, cause="bytes", env=FAST, timeout=10),
    "server-file-longer-than-pointer": Case(_longer, cause="bytes", env=FAST),
}


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=f"BUG: {c.bug}")) if c.bug else n
    for n, c in CASES.items()])
def test_http_fault(tmp_path, http_server, name):
    case = CASES[name]
    data = _data()
    urls = case.arm(http_server, data)
    model = _repo(tmp_path, urls, data)
    t0 = time.monotonic()
    r = run_zoo("checkout", *case.args, cwd=model.parents[1], env=case.env,
                timeout=case.timeout)
    elapsed = time.monotonic() - t0
    assert "Traceback" not in r.output
    assert_no_damage(model, data)
    if case.cause is None:
        assert r.returncode == 0, r.output
        assert (model / NAME).read_bytes() == data
    else:
        assert r.returncode == 1, r.output
        assert not (model / NAME).exists()
        host = urls[0].split("/")[2]  # 127.0.0.1:port
        assert_error_line(r.stderr, tmp_path, host, case.cause)
        assert_error_line(r.stderr, tmp_path, urls[0], case.cause)
    if case.check is not None:
        case.check(http_server, elapsed)


def test_failed_source_bytes_are_never_resumed_from_by_the_next(tmp_path, http_server):
    """A mirror that resets half way is followed by one that serves other bytes of the same
    length; the third URL is right. The partial data of the first two must not be mixed."""
    data = _data()
    other = _data(seed=99)
    a = http_server.add("/a/" + NAME, data)
    b = http_server.add("/b/" + NAME, other)
    c = http_server.add("/c/" + NAME, data)
    http_server.always("/a/" + NAME, faults.reset_after(SIZE // 2))
    model = _repo(tmp_path, [a, b, c], data)
    r = run_zoo("checkout", cwd=model.parents[1], env={"ZOO_VCS_RETRIES": "1"})
    assert r.returncode == 0, r.output
    assert (model / NAME).read_bytes() == data
    assert hashlib.sha1(other).hexdigest() in r.stderr, "the wrong mirror is reported"
    assert_no_damage(model, data)


def test_partial_left_by_a_failed_run_is_resumed_by_the_next(tmp_path, http_server):
    """Run 1 gives up after a reset (no retries); run 2 asks only for the rest."""
    data = _data()
    url = http_server.add(PATH, data)
    http_server.fail(PATH, faults.reset_after(SIZE // 2))
    model = _repo(tmp_path, [url], data)
    r = run_zoo("checkout", cwd=model.parents[1], env={"ZOO_VCS_RETRIES": "0"})
    assert r.returncode == 1
    assert_error_line(r.stderr, tmp_path, url, "connection")
    assert_no_damage(model, data)
    assert not (model / NAME).exists()
    http_server.reset_log()
    r = run_zoo("checkout", cwd=model.parents[1])
    assert r.returncode == 0, r.output
    assert (model / NAME).read_bytes() == data
    (req,) = http_server.requests_for(PATH)
    assert req.headers.get("range", "").startswith("bytes=")
    start = int(req.headers["range"].removeprefix("bytes=").split("-")[0])
    assert 0 < start <= SIZE // 2, "the kept prefix is used (bytes in flight may be lost)"
    assert http_server.bytes_sent(PATH) == SIZE - start
    assert_no_damage(model, data)


# --------------------------------------------------------------------------- S3 (moto)


class FaultProxy:
    """TCP proxy to an upstream on 127.0.0.1 that damages the response to the first ``n`` GETs
    whose request line contains ``needle``: after ``after`` bytes of that response the
    connection is aborted with a RST (``mode="reset"``) or goes silent (``mode="stall"``)."""

    def __init__(self, upstream: str, needle: bytes, after: int, *, n: int = 1,
                 mode: str = "reset") -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.needle, self.after, self.left, self.mode = needle, after, n, mode
        self.hits = 0
        #: Request lines ("GET /bucket/key HTTP/1.1") in the order the client sent them,
        #: and each request's header block (lower-cased).
        self.requests: list[str] = []
        self.headers: list[str] = []
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.endpoint = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def close(self) -> None:
        """Stop every thread of the proxy, then close its socket. Closed under a thread
        blocked in accept(), the socket's fd number is freed while that thread still waits on
        it, and (once this process has started subprocesses) the thread ends up accepting on
        whatever socket gets the number next: a later test's gist emulator lost connections
        to it (reset, empty reply) and could hang in its own accept()."""
        self._stop.set()
        stop_listening(self._sock, self._acceptor, self._threads)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            pump = threading.Thread(target=self._pump, args=(client,), daemon=True)
            self._threads.append(pump)
            pump.start()

    def _arm(self, data: bytes) -> bool:
        line = data.split(b"\r\n", 1)[0]
        if re.match(rb"(GET|HEAD|PUT|POST|DELETE) /", line):
            with self._lock:
                self.requests.append(line.decode("latin-1"))
                self.headers.append(data.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower())
        if not (data.startswith(b"GET ") and self.needle in line):
            return False
        with self._lock:
            if self.left <= 0:
                return False
            self.left -= 1
            self.hits += 1
            return True

    def _pump(self, client: socket.socket) -> None:
        """One thread per connection, select()-driven, so a RST really is sent at once."""
        try:
            up = socket.create_connection(self.upstream)
        except OSError:
            client.close()
            return
        armed, sent = False, 0
        sel = selectors.DefaultSelector()
        sel.register(client, selectors.EVENT_READ)
        sel.register(up, selectors.EVENT_READ)
        try:
            while not self._stop.is_set():
                for key, _ in sel.select(timeout=0.1):
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    if key.fileobj is client:
                        armed = armed or self._arm(data)
                        up.sendall(data)
                        continue
                    if armed and sent + len(data) >= self.after:
                        client.sendall(data[: self.after - sent])
                        if self.mode == "stall":
                            self._stop.wait(60)
                            return
                        time.sleep(0.05)  # let the client read what was sent
                        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                          struct.pack("ii", 1, 0))
                        return
                    sent += len(data) if armed else 0
                    client.sendall(data)
        except OSError:
            pass
        finally:
            sel.close()
            client.close()
            up.close()


def _s3_repo(tmp_path: Path, endpoint: str, bucket: str, data: bytes,
             extra_urls: tuple[str, ...] = ()) -> tuple[Path, str]:
    url = f"s3://{bucket}/zoo/{NAME}"
    model = _repo(tmp_path, [url, *extra_urls], data)
    repo = model.parents[1]
    (repo / ".zoo").mkdir()
    (repo / ".zoo" / "config").write_text(
        f'[remote "store"]\nurl = s3://{bucket}/zoo\nendpoint_url = {endpoint}\n')
    return model, url


S3_ENV = {"AWS_MAX_ATTEMPTS": "1", "ZOO_VCS_RETRIES": "0"}


@pytest.mark.parametrize("name", ["missing-key", "missing-bucket", "truncated-object",
                                  "corrupt-object", "corrupt-then-http-mirror",
                                  "dead-endpoint", "reset-mid-body"])
def test_s3_fault(tmp_path, s3_server, aws_env, http_server, name):
    data = _data(600_013, seed=3)
    bucket = f"zoo-{uuid.uuid4().hex[:8]}"
    key = f"zoo/{NAME}"
    endpoint = s3_server.endpoint
    proxy = None
    extra: tuple[str, ...] = ()
    if name != "missing-bucket":
        s3_server.make_bucket(bucket)
    if name in ("dead-endpoint", "reset-mid-body"):
        s3_server.put(bucket, key, data)
    elif name == "truncated-object":
        s3_server.put(bucket, key, data[: len(data) // 2])
    elif name in ("corrupt-object", "corrupt-then-http-mirror"):
        s3_server.put(bucket, key, data[:100] + bytes([data[100] ^ 1]) + data[101:])
    if name == "corrupt-then-http-mirror":
        extra = (http_server.add(PATH, data),)
    if name == "dead-endpoint":
        endpoint = f"http://127.0.0.1:{_closed_port()}"
    if name == "reset-mid-body":
        proxy = FaultProxy(s3_server.endpoint, key.encode(), after=len(data) // 2)
        endpoint = proxy.endpoint
    model, url = _s3_repo(tmp_path, endpoint, bucket, data, extra)
    # A reset is survived by zoo-vcs's own retry (resuming where the bytes stopped), so that
    # case keeps one retry; the others must fail at once.
    env = {**aws_env, **S3_ENV, **({"ZOO_VCS_RETRIES": "1"} if name == "reset-mid-body" else {})}
    try:
        r = run_zoo("checkout", "--timeout", "5", cwd=model.parents[1], env=env, timeout=60)
    finally:
        if proxy is not None:
            proxy.close()
    assert "Traceback" not in r.output
    assert not (model / NAME).exists() or (model / NAME).read_bytes() == data
    causes = {"missing-key": "not found", "missing-bucket": "bucket does not exist",
              "truncated-object": "wrong content", "corrupt-object": "wrong content",
              "dead-endpoint": "endpoint unreachable"}
    if name in causes:
        assert r.returncode == 1, r.output
        assert_error_line(r.stderr, tmp_path, url, causes[name])
        assert not (model / NAME).exists()
    else:
        assert r.returncode == 0, r.output
        assert (model / NAME).read_bytes() == data
    if proxy is not None:
        assert proxy.hits == 1, "the fault was injected"
    assert temp_leftovers(model.parents[1]) == []
    assert_cache_consistent(model.parents[1] / ".git" / "zoo-vcs" / "cache")


def test_s3_object_is_fetched_with_one_get_and_no_head(tmp_path, s3_server, aws_env):
    """A many-file pull costs one request per object: s3fs's cat_file without a range
    HEADs every object first (it doubled E1's time), a regression this test catches."""
    data = _data(600_013, seed=5)
    bucket = s3_server.make_bucket(f"zoo-{uuid.uuid4().hex[:8]}")
    key = f"zoo/{NAME}"
    s3_server.put(bucket, key, data)
    proxy = FaultProxy(s3_server.endpoint, b"no fault", after=0, n=0)
    model, _ = _s3_repo(tmp_path, proxy.endpoint, bucket, data)
    try:
        r = run_zoo("checkout", cwd=model.parents[1], env={**aws_env, **S3_ENV}, timeout=60)
    finally:
        proxy.close()
    assert r.returncode == 0, r.output
    assert (model / NAME).read_bytes() == data
    assert [line.split(" ")[0] for line in proxy.requests if key in line] == ["GET"], \
        proxy.requests


@pytest.mark.parametrize("checksums", ["when_supported", "when_required"])
def test_s3_push_checks_uploads_once(tmp_path, s3_server, aws_env, checksums):
    """With botocore's request checksums (the default) every PUT carries a CRC32 that S3
    verifies on receipt, and push lists nothing afterwards; without them, one listing
    after the uploads checks their sizes. Either way every object lands intact."""
    repo = tmp_path / "work"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    blobs = {f"m/w{i}.bin": _data(1000 + i, seed=i) for i in range(20)}
    for name, data in blobs.items():
        (repo / name).parent.mkdir(exist_ok=True)
        (repo / name).write_bytes(data)
    assert run_zoo("add", *blobs, cwd=repo).returncode == 0
    bucket = s3_server.make_bucket(f"zoo-{uuid.uuid4().hex[:8]}")
    proxy = FaultProxy(s3_server.endpoint, b"no fault", after=0, n=0)
    (repo / ".zoo").mkdir(exist_ok=True)
    (repo / ".zoo" / "config").write_text(
        f'[remote "store"]\nurl = s3://{bucket}/zoo\nendpoint_url = {proxy.endpoint}\n')
    env = {**aws_env, "AWS_REQUEST_CHECKSUM_CALCULATION": checksums}
    try:
        r = run_zoo("push", "-r", "store", cwd=repo, env=env, timeout=60)
    finally:
        proxy.close()
    assert r.returncode == 0, r.output
    assert "20 uploaded" in r.stdout
    puts = [i for i, line in enumerate(proxy.requests) if line.startswith("PUT ")]
    assert len(puts) == 20
    lists_after = [line for line in proxy.requests[puts[-1]:] if "list-type=2" in line]
    if checksums == "when_supported":
        assert all("x-amz-checksum-" in proxy.headers[i] for i in puts)
        assert lists_after == []
    else:
        assert len(lists_after) == 1
    for data in blobs.values():
        sha1 = hashlib.sha1(data).hexdigest()
        assert s3_server.get(bucket, f"zoo/sha1/{sha1[:2]}/{sha1[2:]}") == data


def test_s3_object_longer_than_its_pointer_is_refused(tmp_path, s3_server, aws_env):
    """The ranged GET asks for one byte more than the pointer's size, so a longer object
    (here: the right bytes plus a tail) is caught by its size, not taken as a prefix."""
    data = _data(600_013, seed=6)
    bucket = s3_server.make_bucket(f"zoo-{uuid.uuid4().hex[:8]}")
    s3_server.put(bucket, f"zoo/{NAME}", data + b"tail")
    model, url = _s3_repo(tmp_path, s3_server.endpoint, bucket, data)
    r = run_zoo("checkout", cwd=model.parents[1], env={**aws_env, **S3_ENV}, timeout=60)
    assert r.returncode == 1, r.output
    assert_error_line(r.stderr, tmp_path, url, "wrong content")
    assert "bytes" in r.stderr
    assert not (model / NAME).exists()
    assert temp_leftovers(model.parents[1]) == []


def test_s3_stall_times_out_within_the_no_progress_limit(tmp_path, s3_server, aws_env):
    """--timeout applies to every protocol: a stalled S3 read fails, it does not hang."""
    data = _data(600_013, seed=4)
    bucket = s3_server.make_bucket(f"zoo-{uuid.uuid4().hex[:8]}")
    s3_server.put(bucket, f"zoo/{NAME}", data)
    proxy = FaultProxy(s3_server.endpoint, f"zoo/{NAME}".encode(), after=100_000, n=1000,
                       mode="stall")
    model, url = _s3_repo(tmp_path, proxy.endpoint, bucket, data)
    t0 = time.monotonic()
    try:
        # The proxy stalls for 60 s: only the no-progress timeout ends the run well before.
        r = run_zoo("checkout", "--timeout", "1", cwd=model.parents[1],
                    env={**aws_env, "AWS_MAX_ATTEMPTS": "1", "ZOO_VCS_RETRIES": "0"}, timeout=90)
    finally:
        proxy.close()
    assert time.monotonic() - t0 < 40
    assert r.returncode == 1, r.output
    assert_error_line(r.stderr, tmp_path, url)
    assert "no progress" in r.stderr or "timed out" in r.stderr
    assert not (model / NAME).exists()
    assert temp_leftovers(model.parents[1]) == []


_S3_ROUND_TRIP = """
import sys
from zoo_vcs.transfer import store
from zoo_vcs.transfer.common import TransferOptions
endpoint, bucket, src, extra = sys.argv[1:]
options = {"endpoint_url": endpoint, **({"s3_additional_kwargs": {}} if extra == "1" else {})}
opts = TransferOptions(options_for=lambda url: dict(options), retries=0)
url = f"s3://{bucket}/zoo/sha1/ab/cd"
assert store.remote_size(url, opts) is None
store.upload(src, url, size=5, opts=opts, check=True)
assert store.remote_size(url, opts) == 5
assert store.list_sizes(f"s3://{bucket}/zoo/sha1", opts) == {"ab/cd": 5}
print(sorted(m for m in ("s3fs", "aiohttp", "aiobotocore") if m in sys.modules))
"""


@pytest.mark.parametrize(("extra", "loaded"), [("0", "[]"),
                                               ("1", "['aiobotocore', 'aiohttp', 's3fs']")])
def test_s3_objects_go_through_botocore_unless_an_option_needs_s3fs(
        tmp_path, s3_server, aws_env, extra, loaded):
    """Per-object S3 requests use botocore's client from the worker threads: no s3fs,
    aiohttp or aiobotocore is loaded (a third less CPU per object, 17 MiB less memory). An
    option only s3fs knows leaves the URL to s3fs, with the same results."""
    bucket = s3_server.make_bucket(f"zoo-{uuid.uuid4().hex[:8]}")
    src = tmp_path / "obj"
    src.write_bytes(b"hello")
    r = subprocess.run([sys.executable, "-c", _S3_ROUND_TRIP, s3_server.endpoint, bucket,
                        str(src), extra], capture_output=True, text=True, timeout=60,
                       check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == loaded
    assert s3_server.get(bucket, "zoo/sha1/ab/cd") == b"hello"


@pytest.mark.parametrize(("options", "cause"), [
    ({"endpoint_url": "notaurl"}, "unsupported URL or option: Invalid endpoint"),
    ({"profile": "no-such-profile"}, "ProfileNotFound"),
    ({"config_kwargs": {"bogus": 1}}, "unsupported URL or option")])
def test_s3_options_botocore_refuses_are_one_line_errors(aws_env, options, cause):
    """The S3 client is made from the remote's options on first use: options it refuses
    are a TransferError naming the URL, not a traceback."""
    from zoo_vcs.errors import TransferError
    from zoo_vcs.transfer import store
    from zoo_vcs.transfer.common import TransferOptions

    opts = TransferOptions(options_for=lambda url: dict(options), retries=0)
    for call in (lambda: store.remote_size("s3://b/zoo/sha1/ab/cd", opts),
                 lambda: store.upload(__file__, "s3://b/zoo/sha1/ab/cd", size=1, opts=opts)):
        with pytest.raises(TransferError, match=cause) as info:
            call()
        assert str(info.value).startswith("s3://b/zoo/sha1/ab/cd: ")
