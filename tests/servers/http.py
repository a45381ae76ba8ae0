"""Loopback (127.0.0.1) HTTP/1.1 file server with injectable faults, for tests and benchmarks."""

from __future__ import annotations

import argparse
import contextlib
import email.utils
import fcntl
import hashlib
import os
import socket
import socketserver
import struct
import sys
import termios
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

if __name__ == "__main__":
    # Run as a script, this file's directory is sys.path[0] and "http.py" would shadow the
    # stdlib ``http`` package imported below.
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]

from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = [
    "Fault",
    "LoopbackHTTPServer",
    "RequestRecord",
    "corrupt",
    "hold_after",
    "html_page",
    "ignore_range",
    "no_content_length",
    "redirect",
    "reset_after",
    "stall_after",
    "status",
    "trickle",
    "truncate_after",
]

HOST = "127.0.0.1"
BUFFER_SIZE = 1 << 20  # 1 MiB read/write buffer for faulted or in-memory bodies
SENDFILE_CHUNK = 8 << 20  # per os.sendfile() call on the fast path
DRAIN_TIMEOUT = 30.0  # how long reset/truncate_after wait for the client to read the n bytes
HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head>\n"
    b"<body><h1>Please sign in</h1><p>You need to sign in to download this file.</p>"
    b'<form method="post" action="/login"><input name="user"><input type="password" name="pw">'
    b"</form></body></html>\n"
)


# --------------------------------------------------------------------------- faults


@dataclass(frozen=True)
class Fault:
    """One misbehaviour applied to one response; build it with the helper functions."""

    kind: str
    n: int = 0  # byte count (reset/truncate/stall/trickle chunk) or offset (corrupt)
    code: int = 0
    retry_after: str | None = None
    body: bytes = b""
    delay: float = 0.0  # trickle sleep between chunks / stall duration
    location: str = ""
    gate: threading.Event | None = field(default=None, compare=False)  # hold_after
    chunk: int = 0  # hold_after: bytes per write before the hold (0: all at once)


def reset_after(n: int) -> Fault:
    """Headers and the first ``n`` body bytes, then (once the client has read them) abort the
    connection with a TCP RST."""
    return Fault("reset_after", n=n)


def truncate_after(n: int) -> Fault:
    """Full Content-Length, but only ``n`` body bytes, then (once the client has read them)
    a clean close (FIN)."""
    return Fault("truncate_after", n=n)


def status(code: int, retry_after: str | None = None, body: bytes = b"error") -> Fault:
    """Answer ``code`` (e.g. 500, 503, 404) with ``body`` and an optional Retry-After header."""
    return Fault("status", code=code, retry_after=retry_after, body=body)


def html_page() -> Fault:
    """200 text/html "please sign in" page instead of the file."""
    return Fault("html_page", code=200, body=HTML_PAGE)


def trickle(bytes_per_chunk: int, delay: float) -> Fault:
    """Send the body ``bytes_per_chunk`` at a time, sleeping ``delay`` seconds between chunks."""
    if bytes_per_chunk <= 0:
        raise ValueError("bytes_per_chunk must be positive")
    return Fault("trickle", n=bytes_per_chunk, delay=delay)


def stall_after(n: int, seconds: float) -> Fault:
    """Send ``n`` body bytes, go silent for ``seconds``, then close the connection (FIN)."""
    return Fault("stall_after", n=n, delay=seconds)


def hold_after(n: int, gate: threading.Event, bytes_per_chunk: int = 0,
               delay: float = 0.0) -> Fault:
    """Send ``n`` body bytes (``bytes_per_chunk`` at a time with ``delay`` between, if given),
    then hold the response until ``gate`` is set (or the server stops), then send the rest:
    the test decides when the transfer may go on, so it can observe a transfer that is
    certainly under way, whatever the machine's load."""
    return Fault("hold_after", n=n, gate=gate, chunk=bytes_per_chunk, delay=delay)


def ignore_range() -> Fault:
    """Answer 200 with the full body even when a Range header is sent."""
    return Fault("ignore_range")


def no_content_length() -> Fault:
    """Omit Content-Length (and ranges); the body ends when the connection is closed."""
    return Fault("no_content_length")


def redirect(location: str, code: int = 302) -> Fault:
    """Redirect to ``location`` (absolute URL or path on this server)."""
    return Fault("redirect", code=code, location=location)


def corrupt(offset: int) -> Fault:
    """Flip (XOR 0xFF) the byte at ``offset`` of the body actually sent."""
    return Fault("corrupt", n=offset)


# --------------------------------------------------------------------------- records


@dataclass
class RequestRecord:
    """One request as seen by the server; ``status``/``bytes_sent`` are updated while serving,
    and ``finished`` is set once the server is done with it (its counters are final)."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    status: int = 0
    bytes_sent: int = 0
    fault: Fault | None = None
    time: float = field(default_factory=time.time)
    finished: threading.Event = field(default_factory=threading.Event, repr=False,
                                      compare=False)


@dataclass(frozen=True)
class _Resource:
    data: bytes | None
    file: Path | None
    content_type: str
    mtime: float
    etag: str

    @property
    def size(self) -> int:
        if self.data is not None:
            return len(self.data)
        assert self.file is not None
        return self.file.stat().st_size


def _normalize(path: str) -> str:
    path = urllib.parse.urlsplit(path).path if "?" in path or "#" in path else path
    return "/" + path.lstrip("/")


def _parse_range(header: str | None, size: int) -> tuple[int, int] | bool | None:
    """(start, end) inclusive for one satisfiable range; None: ignore it; False: unsatisfiable."""
    if not header:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    first, last = first.strip(), last.strip()
    if not dash or not (first.isdigit() or (not first and last.isdigit())):
        return None
    if not first:  # suffix range: the last N bytes
        n = int(last)
        if n == 0 or size == 0:
            return False
        return max(0, size - n), size - 1
    start = int(first)
    if last:
        if not last.isdigit() or int(last) < start:
            return None
        end = min(int(last), size - 1)
    else:
        end = size - 1
    if start >= size:
        return False
    return start, end


# --------------------------------------------------------------------------- handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "zoo-vcs-loopback/1.0"
    sys_version = ""
    server: _HTTPServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def version_string(self) -> str:
        return self.server_version

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._track(self.connection, add=False)

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    # ---------------------------------------------------------------- plumbing

    def _serve(self, head: bool) -> None:
        owner = self.server.owner
        split = urllib.parse.urlsplit(self.path)
        path = _normalize(urllib.parse.unquote(split.path))
        record = RequestRecord(
            method=self.command,
            path=path,
            query=split.query,
            headers={k.lower(): v for k, v in self.headers.items()},
        )
        record.fault = owner._next_fault(path)
        owner._log(record)
        try:
            self._respond(record, head)
        except (ConnectionError, OSError):
            self.close_connection = True
        finally:
            record.finished.set()

    def _start(self, record: RequestRecord, code: int, headers: dict[str, str | int]) -> None:
        record.status = int(code)
        self.send_response(code)
        for name, value in headers.items():
            self.send_header(name, str(value))
        self.end_headers()

    def _simple(
        self,
        record: RequestRecord,
        head: bool,
        code: int,
        body: bytes,
        content_type: str = "text/plain; charset=utf-8",
        extra: dict[str, str | int] | None = None,
    ) -> None:
        headers: dict[str, str | int] = {"Content-Type": content_type, "Content-Length": len(body)}
        headers.update(extra or {})
        self._start(record, code, headers)
        if not head and body:
            self.wfile.write(body)
            record.bytes_sent += len(body)

    def _respond(self, record: RequestRecord, head: bool) -> None:
        owner = self.server.owner
        fault = record.fault
        kind = fault.kind if fault else ""
        if fault and kind == "status":
            extra: dict[str, str | int] = {}
            if fault.retry_after is not None:
                extra["Retry-After"] = fault.retry_after
            self._simple(record, head, fault.code, fault.body, extra=extra)
            return
        if fault and kind == "html_page":
            self._simple(record, head, 200, fault.body, "text/html; charset=utf-8")
            return
        if fault and kind == "redirect":
            self._simple(
                record, head, fault.code, b"redirect\n", extra={"Location": fault.location}
            )
            return

        resource = owner._lookup(record.path)
        if resource is None:
            self._simple(record, head, 404, b"not found\n")
            return

        size = resource.size
        rng = (
            None
            if kind in ("ignore_range", "no_content_length")
            else _parse_range(self.headers.get("Range"), size)
        )
        common: dict[str, str | int] = {
            "Accept-Ranges": "bytes",
            "ETag": resource.etag,
            "Last-Modified": email.utils.formatdate(resource.mtime, usegmt=True),
        }
        if rng is False:
            self._simple(
                record,
                head,
                HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE,
                b"range not satisfiable\n",
                extra={**common, "Content-Range": f"bytes */{size}"},
            )
            return

        headers: dict[str, str | int] = {"Content-Type": resource.content_type, **common}
        if isinstance(rng, tuple):
            start, end = rng
            code = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        else:
            start, end, code = 0, size - 1, 200
        length = end - start + 1
        if kind == "no_content_length":
            headers["Connection"] = "close"
        else:
            headers["Content-Length"] = length
        self._start(record, code, headers)

        limit = length
        if kind in ("reset_after", "truncate_after", "stall_after"):
            limit = min(max(fault.n, 0), length)  # type: ignore[union-attr]
        if head:
            limit = 0

        if kind == "hold_after" and limit:
            held = min(max(fault.n, 0), limit)  # type: ignore[union-attr]
            pace = trickle(fault.chunk, fault.delay) if fault.chunk > 0 else None  # type: ignore[union-attr]
            self._send_chunks(record, resource, start, held, pace)
            if self.close_connection:
                return
            gate = fault.gate  # type: ignore[union-attr]
            while gate is not None and not gate.wait(0.05):
                if owner._stopping.is_set():
                    self.close_connection = True
                    return
            self._send_chunks(record, resource, start + held, limit - held, None)
        elif fault is None and resource.file is not None and limit:
            self._sendfile(record, resource.file, start, limit)
        else:
            self._send_chunks(record, resource, start, limit, fault)

        # what happens after the body
        if kind == "reset_after":
            self._reset()
        elif kind == "stall_after":
            owner._stopping.wait(fault.delay)  # type: ignore[union-attr]
            self.close_connection = True
        elif kind == "truncate_after":
            # A client library may drop what it buffered but did not hand over when the body
            # ends short (aiohttp does): close once the client has read the n bytes, so that
            # what it got does not depend on how fast it was scheduled.
            self._drain()
            self.close_connection = True
        elif kind == "no_content_length":
            self.close_connection = True

    def _sendfile(self, record: RequestRecord, file: Path, start: int, count: int) -> None:
        stopping = self.server.owner._stopping
        out = self.connection.fileno()
        with open(file, "rb") as f:
            fd = f.fileno()
            offset, end = start, start + count
            while offset < end and not stopping.is_set():
                sent = os.sendfile(out, fd, offset, min(SENDFILE_CHUNK, end - offset))
                if sent == 0:
                    break  # file shrank underneath us
                offset += sent
                record.bytes_sent += sent
        if offset < end:
            self.close_connection = True

    def _send_chunks(
        self,
        record: RequestRecord,
        resource: _Resource,
        start: int,
        count: int,
        fault: Fault | None,
    ) -> None:
        stopping = self.server.owner._stopping
        kind = fault.kind if fault else ""
        chunk = fault.n if fault and kind == "trickle" else BUFFER_SIZE
        flip = fault.n if fault and kind == "corrupt" else -1
        pos = 0
        for piece in _read(resource, start, count, chunk):
            if stopping.is_set():
                self.close_connection = True
                return
            if pos <= flip < pos + len(piece):
                buf = bytearray(piece)
                buf[flip - pos] ^= 0xFF
                piece = buf
            self.wfile.write(piece)
            pos += len(piece)
            record.bytes_sent += len(piece)
            if kind == "trickle" and pos < count and stopping.wait(fault.delay):  # type: ignore[union-attr]
                self.close_connection = True
                return

    def _drain(self) -> None:
        """Wait (at most DRAIN_TIMEOUT) until the client has read everything sent so far."""
        sock = self.connection
        deadline = time.monotonic() + DRAIN_TIMEOUT
        stopping = self.server.owner._stopping
        with contextlib.suppress(OSError):
            # Linux: TIOCOUTQ (SIOCOUTQ) = bytes not yet acknowledged by the peer; then the
            # peer's own socket (same host) must hold no bytes its application has not read.
            # An abortive close discards both, and a short body may make the client drop
            # what it buffered, so wait for both to be empty first.
            while time.monotonic() < deadline and not stopping.is_set():
                pending = struct.unpack(
                    "i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
                )[0]
                if pending == 0 and _unread_by_peer(sock) == 0:
                    break
                time.sleep(0.002)

    def _reset(self) -> None:
        """Abort the connection with RST once the client has read what was sent."""
        sock = self.connection
        self._drain()
        self.close_connection = True
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # rfile holds a reference to the socket (makefile); both must go for the fd to close.
        with contextlib.suppress(OSError):
            self.rfile.close()
        sock.close()


def _unread_by_peer(sock: socket.socket) -> int:
    """Bytes waiting in the receive queue of ``sock``'s peer on this host (Linux
    /proc/net/tcp), unread by its application; 0 when the peer's socket is not found."""
    local, peer = sock.getsockname()[1], sock.getpeername()[1]
    ends = (f":{peer:04X}", f":{local:04X}")  # the peer's socket: local address, remote one
    with open("/proc/net/tcp") as table:
        next(table, None)
        for line in table:
            fields = line.split()
            if len(fields) > 4 and fields[1].endswith(ends[0]) and fields[2].endswith(ends[1]):
                return int(fields[4].partition(":")[2], 16)
    return 0


def _read(resource: _Resource, start: int, count: int, chunk: int) -> Iterator[bytes | memoryview]:
    if count <= 0:
        return
    if resource.data is not None:
        view = memoryview(resource.data)
        for pos in range(start, start + count, chunk):
            yield view[pos : min(pos + chunk, start + count)]
        return
    assert resource.file is not None
    with open(resource.file, "rb", buffering=0) as f:
        f.seek(start)
        left = count
        while left > 0:
            data = f.read(min(chunk, left))
            if not data:
                return
            left -= len(data)
            yield data


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    owner: LoopbackHTTPServer

    def server_bind(self) -> None:
        # Skip HTTPServer.server_bind's socket.getfqdn(): no name lookups at all.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # client went away / connection reset: expected in fault tests
        super().handle_error(request, client_address)


# --------------------------------------------------------------------------- server


class LoopbackHTTPServer:
    """Threaded HTTP/1.1 server on 127.0.0.1:<ephemeral port> serving registered bytes/files."""

    def __init__(self, root: Path | str | None = None, port: int = 0) -> None:
        self.root = Path(root).resolve() if root is not None else None
        self._port = port
        self._lock = threading.Lock()
        self._resources: dict[str, _Resource] = {}
        self._queues: dict[str, deque[Fault]] = {}
        self._always: dict[str, Fault] = {}
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.requests: list[RequestRecord] = []

    # lifecycle ------------------------------------------------------------

    def start(self) -> LoopbackHTTPServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _HTTPServer((HOST, self._port), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"loopback-http-{httpd.server_port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        with self._lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> LoopbackHTTPServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # addresses --------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server is not running; call start() first")
        return int(self._httpd.server_port)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def url_for(self, path: str) -> str:
        return self.url + "/" + urllib.parse.quote(path.lstrip("/"), safe="/?&=%:@+,;~!$'()*")

    # content ----------------------------------------------------------------

    def add(self, path: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        data = bytes(data)
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        resource = _Resource(data, None, content_type, time.time(), etag)
        with self._lock:
            self._resources[_normalize(path)] = resource
        return self.url_for(path) if self._httpd else path

    def add_file(
        self, path: str, file: Path | str, content_type: str = "application/octet-stream"
    ) -> str:
        file = Path(file)
        st = file.stat()
        etag = f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
        resource = _Resource(None, file, content_type, st.st_mtime, etag)
        with self._lock:
            self._resources[_normalize(path)] = resource
        return self.url_for(path) if self._httpd else path

    def _lookup(self, path: str) -> _Resource | None:
        with self._lock:
            resource = self._resources.get(path)
        if resource is not None:
            if resource.file is not None and not resource.file.is_file():
                return None
            return resource
        if self.root is None:
            return None
        try:
            file = (self.root / path.lstrip("/")).resolve()
            file.relative_to(self.root)
            st = file.stat()
        except (OSError, ValueError):
            return None
        if not file.is_file():
            return None
        return _Resource(
            None,
            file,
            "application/octet-stream",
            st.st_mtime,
            f'"{st.st_mtime_ns:x}-{st.st_size:x}"',
        )

    # faults ------------------------------------------------------------------

    def fail(self, path: str, *faults: Fault) -> None:
        """Queue faults: each GET/HEAD of ``path`` consumes one; then it is served normally."""
        with self._lock:
            self._queues.setdefault(_normalize(path), deque()).extend(faults)

    def always(self, path: str, fault: Fault | None) -> None:
        """Apply ``fault`` to every request of ``path`` (after the queue is empty); None clears."""
        with self._lock:
            if fault is None:
                self._always.pop(_normalize(path), None)
            else:
                self._always[_normalize(path)] = fault

    def _next_fault(self, path: str) -> Fault | None:
        with self._lock:
            queue = self._queues.get(path)
            if queue:
                return queue.popleft()
            return self._always.get(path)

    # log -----------------------------------------------------------------------

    def _log(self, record: RequestRecord) -> None:
        with self._lock:
            self.requests.append(record)

    def requests_for(self, path: str) -> list[RequestRecord]:
        path = _normalize(path)
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def bytes_sent(self, path: str) -> int:
        return sum(r.bytes_sent for r in self.requests_for(path))

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait until the server has finished every request logged so far.

        A client can have read a whole response before the server thread has recorded its
        last bytes: call this before asserting ``bytes_sent``/``status`` after a client is
        done. Raises TimeoutError if some request is still being served after ``timeout``.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            pending = list(self.requests)
        for record in pending:
            if not record.finished.wait(max(0.0, deadline - time.monotonic())):
                raise TimeoutError(f"{record.method} {record.path} still being served")

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, required=True, help="directory to serve")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        parser.error(f"--root {args.root} is not a directory")
    server = LoopbackHTTPServer(root=args.root, port=args.port).start()
    sys.stdout.write(server.url + "\n")
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
