"""Tests for the loopback HTTP test server and each of its fault knobs."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.http import (
    LoopbackHTTPServer,
    corrupt,
    hold_after,
    html_page,
    ignore_range,
    no_content_length,
    redirect,
    reset_after,
    stall_after,
    status,
    trickle,
    truncate_after,
)

REPO = Path(__file__).resolve().parents[2]
DATA = bytes(range(256)) * 64  # 16 KiB, every byte value, position-dependent
# Never consult proxy settings: every request must go straight to 127.0.0.1.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture
def server() -> Iterator[LoopbackHTTPServer]:
    with LoopbackHTTPServer() as srv:
        srv.add("/f.bin", DATA)
        yield srv


def connect(srv: LoopbackHTTPServer, timeout: float = 30.0) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", srv.port, timeout=timeout)


def get(
    srv: LoopbackHTTPServer, path: str = "/f.bin", headers: dict[str, str] | None = None
) -> http.client.HTTPResponse:
    conn = connect(srv)
    conn.request("GET", path, headers=headers or {})
    return conn.getresponse()


def test_full_get_with_keep_alive(server: LoopbackHTTPServer) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    with OPENER.open(server.url_for("f.bin"), timeout=30) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Length"] == str(len(DATA))
        assert resp.headers["Accept-Ranges"] == "bytes"
        assert resp.headers["ETag"]
        assert resp.read() == DATA
    conn = connect(server)  # two requests on one keep-alive connection
    for _ in range(2):
        conn.request("GET", "/f.bin")
        assert conn.getresponse().read() == DATA
    conn.close()
    server.wait_idle()  # the client has every byte; the server may not have counted them yet
    assert [r.status for r in server.requests] == [200, 200, 200]
    assert server.bytes_sent("/f.bin") == 3 * len(DATA)


def test_head_and_unknown_path(server: LoopbackHTTPServer) -> None:
    conn = connect(server)
    conn.request("HEAD", "/f.bin")
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.getheader("Content-Length") == str(len(DATA))
    assert resp.getheader("Accept-Ranges") == "bytes"
    assert resp.getheader("ETag")
    assert resp.getheader("Last-Modified")
    assert resp.read() == b""
    conn.request("GET", "/missing.bin")
    assert conn.getresponse().status == 404
    assert server.bytes_sent("/f.bin") == 0


def test_range_requests(server: LoopbackHTTPServer) -> None:
    resp = get(server, headers={"Range": "bytes=100-199"})
    assert resp.status == 206
    assert resp.getheader("Content-Range") == f"bytes 100-199/{len(DATA)}"
    assert resp.getheader("Content-Length") == "100"
    assert resp.read() == DATA[100:200]
    resp = get(server, headers={"Range": "bytes=16000-"})
    assert resp.status == 206
    assert resp.read() == DATA[16000:]


def test_range_not_satisfiable(server: LoopbackHTTPServer) -> None:
    resp = get(server, headers={"Range": f"bytes={len(DATA)}-"})
    assert resp.status == 416
    assert resp.getheader("Content-Range") == f"bytes */{len(DATA)}"
    resp.read()


def test_reset_after_exactly_n_bytes(server: LoopbackHTTPServer) -> None:
    big = os.urandom(4 << 20)
    server.add("/big.bin", big)
    n = 3 << 20  # more than the socket buffers hold: the server must wait for delivery
    server.fail("/big.bin", reset_after(n))
    resp = get(server, "/big.bin")
    assert resp.getheader("Content-Length") == str(len(big))
    time.sleep(0.2)  # let the server get to the reset before we read anything
    assert resp.read(n) == big[:n]
    with pytest.raises(ConnectionResetError):
        resp.read(1)
    assert server.requests_for("/big.bin")[0].bytes_sent == n


def test_truncate_after_closes_early(server: LoopbackHTTPServer) -> None:
    server.fail("/f.bin", truncate_after(1000))
    resp = get(server)
    assert resp.getheader("Content-Length") == str(len(DATA))
    with pytest.raises(http.client.IncompleteRead) as info:
        resp.read()
    assert info.value.partial == DATA[:1000]


def test_status_with_retry_after(server: LoopbackHTTPServer) -> None:
    server.fail("/f.bin", status(503, retry_after="2"))
    with pytest.raises(urllib.error.HTTPError) as info:
        OPENER.open(server.url_for("/f.bin"), timeout=30)
    assert info.value.code == 503
    assert info.value.headers["Retry-After"] == "2"
    assert info.value.read() == b"error"
    info.value.close()


def test_html_page(server: LoopbackHTTPServer) -> None:
    server.fail("/f.bin", html_page())
    with OPENER.open(server.url_for("/f.bin"), timeout=30) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/html")
        body = resp.read()
    assert body.startswith(b"<!DOCTYPE html>")
    assert b"sign in" in body.lower()


def test_ignore_range(server: LoopbackHTTPServer) -> None:
    server.fail("/f.bin", ignore_range())
    resp = get(server, headers={"Range": "bytes=100-"})
    assert resp.status == 200
    assert resp.getheader("Content-Range") is None
    assert resp.read() == DATA


def test_no_content_length(server: LoopbackHTTPServer) -> None:
    server.fail("/f.bin", no_content_length())
    resp = get(server)
    assert resp.status == 200
    assert resp.getheader("Content-Length") is None
    assert resp.read() == DATA  # delimited by connection close


def test_redirect(server: LoopbackHTTPServer) -> None:
    server.fail("/old.bin", redirect("/f.bin"))
    with OPENER.open(server.url_for("/old.bin"), timeout=30) as resp:
        assert resp.url == server.url_for("/f.bin")
        assert resp.read() == DATA
    assert server.requests_for("/old.bin")[0].status == 302


def test_corrupt_counts_within_sent_range(server: LoopbackHTTPServer) -> None:
    server.fail("/f.bin", corrupt(5))
    body = get(server, headers={"Range": "bytes=100-"}).read()
    expected = bytearray(DATA[100:])
    expected[5] ^= 0xFF
    assert body == bytes(expected)


def test_stall_after(server: LoopbackHTTPServer) -> None:
    # The stall outlasts the test (stop() ends it); only the wait for the byte after the
    # first 1000 gets a short client timeout, so a slow machine cannot time out earlier.
    server.fail("/f.bin", stall_after(1000, 120))
    conn = connect(server, timeout=30)
    conn.request("GET", "/f.bin")
    resp = conn.getresponse()
    assert resp.read(1000) == DATA[:1000]
    assert conn.sock is not None
    conn.sock.settimeout(0.2)
    with pytest.raises(TimeoutError):
        resp.read(1)
    conn.close()


def test_trickle_and_bytes_sent(server: LoopbackHTTPServer) -> None:
    server.fail("/f.bin", trickle(1000, 0.02))  # 17 chunks, 16 pauses
    started = time.monotonic()
    assert get(server).read() == DATA
    assert time.monotonic() - started >= 0.3  # 16 pauses of 0.02 s: holds under any load
    server.wait_idle()  # the server thread has finished recording the response
    assert server.bytes_sent("/f.bin") == len(DATA)


def test_bytes_sent_is_counted_while_sending(server: LoopbackHTTPServer) -> None:
    gate = threading.Event()
    server.fail("/f.bin", hold_after(4000, gate))
    result: list[bytes] = []
    reader = threading.Thread(target=lambda: result.append(get(server).read()))
    reader.start()
    deadline = time.monotonic() + 30
    while server.bytes_sent("/f.bin") < 4000 and time.monotonic() < deadline:
        time.sleep(0.005)
    (record,) = server.requests_for("/f.bin")
    assert record.bytes_sent == 4000  # caught half-way: held there until the gate opens
    assert not record.finished.is_set()
    gate.set()
    reader.join(30)
    assert result == [DATA]
    server.wait_idle()
    assert server.bytes_sent("/f.bin") == len(DATA)


def test_stop_is_prompt_during_trickle() -> None:
    srv = LoopbackHTTPServer().start()
    srv.add("/slow.bin", DATA)
    srv.always("/slow.bin", trickle(10, 60.0))
    errors: list[BaseException] = []

    def download() -> None:
        try:
            get(srv, "/slow.bin").read()
        except (http.client.HTTPException, OSError) as exc:
            errors.append(exc)

    reader = threading.Thread(target=download)
    reader.start()
    deadline = time.monotonic() + 30
    while srv.bytes_sent("/slow.bin") == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert srv.bytes_sent("/slow.bin") == 10  # in the first 60 s pause
    started = time.monotonic()
    srv.stop()
    reader.join(30)
    # Far below the pause it interrupts: a stop that waited for it would take 60 s.
    assert time.monotonic() - started < 30
    assert not reader.is_alive()
    assert errors  # the client saw a short body


def test_fault_queue_then_always(server: LoopbackHTTPServer) -> None:
    server.fail("/f.bin", status(500), truncate_after(10))
    assert get(server).status == 500
    with pytest.raises(http.client.IncompleteRead):
        get(server).read()
    assert get(server).read() == DATA  # queue empty: served normally
    server.always("/f.bin", status(404))
    assert [get(server).status for _ in range(2)] == [404, 404]
    server.always("/f.bin", None)
    assert get(server).status == 200


def test_request_log(server: LoopbackHTTPServer) -> None:
    get(server, "/f.bin?dl=1", headers={"Range": "bytes=10-19"}).read()
    server.wait_idle()
    (record,) = server.requests_for("/f.bin")
    assert (record.method, record.path, record.query) == ("GET", "/f.bin", "dl=1")
    assert record.headers["range"] == "bytes=10-19"
    # The server thread counts the bytes after writing them: the client may read them first.
    deadline = time.monotonic() + 5
    while record.bytes_sent < 10 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert (record.status, record.bytes_sent) == (206, 10)
    server.reset_log()
    assert server.requests == []


def test_add_file_and_root(tmp_path: Path) -> None:
    content = os.urandom((3 << 20) + 7)
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "w.bin").write_bytes(content)
    (tmp_path / "secret.txt").write_bytes(b"secret")
    with LoopbackHTTPServer(root=root) as srv:
        url = srv.add_file("/other.bin", root / "sub" / "w.bin")
        with OPENER.open(url, timeout=30) as resp:
            assert resp.read() == content
        assert get(srv, "/sub/w.bin").read() == content  # served from root
        resp = get(srv, "/sub/w.bin", headers={"Range": "bytes=1000000-"})
        assert (resp.status, resp.read()) == (206, content[1000000:])
        assert get(srv, "/../secret.txt").status == 404
        assert get(srv, "/sub").status == 404


def test_script_mode(tmp_path: Path) -> None:
    (tmp_path / "m.bin").write_bytes(DATA)
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "servers" / "http.py"), "--root", str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        with OPENER.open(url + "/m.bin", timeout=30) as resp:
            assert resp.read() == DATA
    finally:
        proc.kill()
        proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()
