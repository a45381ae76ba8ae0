"""Loopback (127.0.0.1) git smart-HTTP server: ``git http-backend`` run as a CGI over a folder
of bare repositories, with a request log and the bytes each answer carried.

The CGI plumbing (request body in, CGI headers and body out) is shared with the gist
emulator, which serves its gists' git remotes through :func:`run_backend`.
"""

from __future__ import annotations

import contextlib
import os
import socket
import socketserver
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO

__all__ = ["GitHTTPServer", "LoopbackHandler", "ThreadedServer", "backend_path", "read_body",
           "run_backend"]

HOST = "127.0.0.1"
CHUNK = 64 << 10


def backend_path() -> str:
    """Where this machine's ``git-http-backend`` is."""
    exec_path = subprocess.run(["git", "--exec-path"], capture_output=True, text=True,
                               check=True).stdout.strip()
    return str(Path(exec_path) / "git-http-backend")


def read_body(rfile: BinaryIO, headers: Any) -> Iterator[bytes]:
    """A request body as it arrives: chunked (what git sends for large requests) or sized."""
    def exactly(remaining: int, what: str) -> Iterator[bytes]:
        while remaining:
            data = rfile.read(min(remaining, CHUNK))
            if not data:
                raise ConnectionError(f"client closed mid-{what}")
            remaining -= len(data)
            yield data

    if headers.get("Transfer-Encoding", "").lower() == "chunked":
        while True:
            size = int(rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return
            yield from exactly(size, "chunk")
            rfile.readline()
    else:
        yield from exactly(int(headers.get("Content-Length") or 0), "body")


def _cgi_headers(stdout: Any) -> tuple[int, list[tuple[str, str]]]:
    status, headers = 200, []
    while True:
        line = stdout.readline()
        if not line or line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode("latin-1").partition(":")
        value = value.strip()
        if name.lower() == "status":
            status = int(value.split()[0])
        elif name.lower() not in ("content-length", "transfer-encoding", "connection"):
            headers.append((name.strip(), value))
    return status, headers


def run_backend(handler: BaseHTTPRequestHandler, backend: str, env: dict[str, str],
                body: Iterator[bytes]) -> tuple[int, bytes, int, str]:
    """Answer ``handler``'s request with ``git http-backend`` (CGI ``env``), streaming the
    request ``body`` in and its answer out, chunked.

    Returns (status, request body, answer bytes sent, backend's stderr).
    """
    proc = subprocess.Popen([backend], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    received = bytearray()
    errors: list[bytes] = []

    def feed() -> None:
        try:
            for chunk in body:
                received.extend(chunk)
                with contextlib.suppress(BrokenPipeError):
                    proc.stdin.write(chunk)  # type: ignore[union-attr]
        except (OSError, ValueError):
            pass
        finally:
            with contextlib.suppress(OSError):
                proc.stdin.close()  # type: ignore[union-attr]

    writer = threading.Thread(target=feed, daemon=True)
    reader = threading.Thread(target=lambda: errors.append(proc.stderr.read()),  # type: ignore[union-attr]
                              daemon=True)
    writer.start()
    reader.start()
    status, sent = 0, 0
    try:
        status, cgi_headers = _cgi_headers(proc.stdout)
        handler.send_response(status)
        for name, value in cgi_headers:
            handler.send_header(name, value)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        while data := proc.stdout.read1(CHUNK):  # type: ignore[union-attr]
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            sent += len(data)
        handler.wfile.write(b"0\r\n\r\n")
    except OSError:
        handler.close_connection = True
        # A body that never comes: shut the socket down, so that the thread reading it
        # cannot outlive the connection.
        with contextlib.suppress(OSError):
            handler.connection.shutdown(socket.SHUT_RDWR)
        proc.kill()
    finally:
        writer.join(timeout=30)  # the whole request body is consumed before the next request
        proc.wait()
        reader.join(timeout=5)
    return status, bytes(received), sent, (errors[0] if errors else b"").decode("utf-8",
                                                                             "replace")


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # socketserver's default listen backlog is 5: PyGithub, git and several zoo-vcs workers
    # connecting at once on a loaded machine must not find the accept queue full.
    request_queue_size = 128

    def server_bind(self) -> None:
        # Skip HTTPServer.server_bind's socket.getfqdn(): no name lookups at all.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # a client that went away (git closes keep-alive connections so)
        super().handle_error(request, client_address)


class ThreadedServer:
    """A threaded HTTP server on 127.0.0.1:<ephemeral port>, started and stopped with the
    object (a context manager); its request handler finds the object as ``server.owner``."""

    handler: type[BaseHTTPRequestHandler]
    name = "loopback"

    def __init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def start(self) -> Any:
        server = _QuietServer((HOST, 0), self.handler)
        server.owner = self  # type: ignore[attr-defined]
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, name=self.name,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self.connections_lock:
            idle = list(self.connections)
        for conn in idle:  # idle keep-alive connections: their threads end now
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class GitHTTPServer(ThreadedServer):
    """``http://127.0.0.1:PORT/<name>`` serves the bare repository ``root/<name>``.

    ``requests`` logs each request (method, path, query, status, bytes sent), so that a
    test can say what a client fetched and how much.
    """

    name = "git-http"

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = Path(root)
        self.requests: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self._backend = backend_path()

    def url_for(self, name: str) -> str:
        """The clone URL of ``root/<name>``."""
        return f"http://{HOST}:{self.port}/{urllib.parse.quote(name)}"

    @property
    def bytes_sent(self) -> int:
        """Bytes of every answer body so far."""
        return sum(r["bytes_sent"] for r in self.requests)

    def reset_log(self) -> None:
        self.requests.clear()

    def environ(self, path: str, method: str, query: str, headers: dict[str, str],
                remote_addr: str) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C",
            "HOME": str(self.root), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_PROJECT_ROOT": str(self.root), "GIT_HTTP_EXPORT_ALL": "1",
            "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1",
            "SERVER_SOFTWARE": "git-http-loopback", "SERVER_NAME": HOST,
            "SERVER_PORT": str(self.port), "SCRIPT_NAME": "", "PATH_INFO": path,
            "QUERY_STRING": query, "REQUEST_METHOD": method, "REMOTE_ADDR": remote_addr,
        }
        for name, value in headers.items():
            if name == "content-type":
                env["CONTENT_TYPE"] = value
            elif name == "content-length":
                env["CONTENT_LENGTH"] = value
            elif name not in ("authorization", "proxy-authorization"):
                env["HTTP_" + name.upper().replace("-", "_")] = value
        return env


class LoopbackHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, no Nagle delay, no log lines."""

    protocol_version = "HTTP/1.1"
    # Idle keep-alive connections are closed after this long; generous, so that a client
    # reusing a pooled connection on a slow machine does not race the server's close.
    timeout = 300

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without this, Nagle + delayed ACK
        # stall every keep-alive request by 40-200 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        owner = self.server.owner  # type: ignore[attr-defined]
        with owner.connections_lock:
            owner.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            owner = self.server.owner  # type: ignore[attr-defined]
            with owner.connections_lock:
                owner.connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def cgi_request_headers(self) -> dict[str, str]:
        """The request's headers (lower-case names) as a CGI passes them on: the body
        reaches the CGI de-chunked, so a chunked request has no length to announce."""
        headers = {k.lower(): v for k, v in self.headers.items()}
        if headers.get("transfer-encoding", "").lower() == "chunked":
            headers.pop("content-length", None)
        headers.pop("transfer-encoding", None)
        return headers


class _Handler(LoopbackHandler):
    def do_GET(self) -> None:
        owner: GitHTTPServer = self.server.owner  # type: ignore[attr-defined]
        split = urllib.parse.urlsplit(self.path)
        entry: dict[str, Any] = {"method": self.command, "path": split.path,
                                 "query": split.query, "status": 0, "bytes_sent": 0}
        owner.requests.append(entry)
        env = owner.environ(urllib.parse.unquote(split.path), self.command, split.query,
                            self.cgi_request_headers(), self.client_address[0])
        try:
            status, _body, sent, stderr = run_backend(self, owner._backend, env,
                                                      read_body(self.rfile, self.headers))
        except (ConnectionError, TimeoutError):
            self.close_connection = True
            return
        entry.update(status=status, bytes_sent=sent)
        if stderr:
            owner.errors.append(stderr)

    do_POST = do_GET


GitHTTPServer.handler = _Handler
