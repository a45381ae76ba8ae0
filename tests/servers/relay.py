"""A TCP relay on loopback in front of a server, to cut a transfer at a chosen byte.

Clients connect to ``Relay.port`` instead of the server's; every connection is copied both
ways to the server, whatever the protocol (SSH, HTTP). ``hold_after(direction, n, event)``
arms it: once ``n`` bytes have gone that way (``"up"``: client to server, a push; ``"down"``:
server to client, a pull), it forwards no more bytes that way and sets ``event``. The
transfer is then frozen mid-way, however fast the machine, for the test to kill the server;
``cut()`` then aborts every open connection with a RST (what the client of a crashed server
sees) and disarms the relay. Connections made while the server is down are reset at once.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

from tests.servers.process import HOST

DIRECTIONS = ("up", "down")
CHUNK = 64 * 1024


def stop_listening(sock: socket.socket, acceptor: threading.Thread,
                   threads: list[threading.Thread]) -> None:
    """Wake ``acceptor`` (blocked in ``sock.accept()``), wait for it and ``threads``, and
    only then close ``sock``. Closed under a thread blocked in accept(), the socket's fd
    number is freed while that thread still waits on it, and (once this process has started
    subprocesses) the thread ends up accepting on whatever socket gets the number next."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (Linux)
    acceptor.join(timeout=30)
    for thread in threads:
        thread.join(timeout=30)
    sock.close()


class _Connection:
    """One client connection and its upstream socket."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self.closed = False


class Relay:
    """``127.0.0.1:<port>`` -> ``127.0.0.1:<upstream_port>``, counting the bytes each way."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        #: Bytes forwarded each way since the relay was made.
        self.forwarded = dict.fromkeys(DIRECTIONS, 0)
        self._cond = threading.Condition()
        self._limit: dict[str, int | None] = dict.fromkeys(DIRECTIONS)
        self._event: threading.Event | None = None
        self._held = dict.fromkeys(DIRECTIONS, False)
        self._connections: list[_Connection] = []
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._sock = socket.socket()
        self._sock.bind((HOST, 0))
        self._sock.listen(64)
        self.port = int(self._sock.getsockname()[1])
        self._acceptor = threading.Thread(target=self._accept, name="relay-accept", daemon=True)
        self._acceptor.start()

    # -- what tests call ---------------------------------------------------------------------

    def hold_after(self, direction: str, nbytes: int, event: threading.Event) -> None:
        """From now on, after ``nbytes`` more bytes in ``direction``, hold that direction
        (every connection) and set ``event``."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction is 'up' or 'down', not {direction!r}")
        with self._cond:
            self._limit[direction] = self.forwarded[direction] + nbytes
            self._event = event

    def cut(self) -> None:
        """Abort every open connection with a RST, and forward freely again."""
        with self._cond:
            connections, self._connections = self._connections, []
            self._limit = dict.fromkeys(DIRECTIONS)
            self._held = dict.fromkeys(DIRECTIONS, False)
            for conn in connections:
                self._abort(conn)
            self._cond.notify_all()

    def close(self) -> None:
        """Cut every connection and stop every thread of the relay, then close its socket."""
        self._stopping = True
        self.cut()
        stop_listening(self._sock, self._acceptor, self._threads)

    def __enter__(self) -> Relay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the copying -------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stopping:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection((HOST, self.upstream_port), timeout=10)
                upstream.settimeout(None)
            except OSError:  # the server is down: the client sees its connection reset
                self._reset(client)
                continue
            conn = _Connection(client, upstream)
            with self._cond:
                if self._stopping:
                    self._abort(conn)
                    return
                self._connections.append(conn)
            for direction, src, dst in (("up", client, upstream), ("down", upstream, client)):
                thread = threading.Thread(target=self._copy, args=(conn, direction, src, dst),
                                          name=f"relay-{direction}", daemon=True)
                self._threads.append(thread)
                thread.start()

    def _copy(self, conn: _Connection, direction: str, src: socket.socket,
              dst: socket.socket) -> None:
        try:
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: conn.closed or not self._held[direction])
                    if conn.closed:
                        return
                data = src.recv(CHUNK)
                if conn.closed:  # cut: woken by the shutdown, nothing to pass on
                    return
                if not data:
                    # One side closed: pass the close on (a half-close, as TCP would).
                    with contextlib.suppress(OSError):
                        dst.shutdown(socket.SHUT_WR)
                    return
                dst.sendall(data)
                self._count(direction, len(data))
        except OSError:
            # One side reset (a crashed server): the other side sees a reset too.
            with self._cond:
                if not conn.closed:
                    self._abort(conn)
                    self._cond.notify_all()

    def _count(self, direction: str, n: int) -> None:
        with self._cond:
            self.forwarded[direction] += n
            limit = self._limit[direction]
            if limit is not None and self.forwarded[direction] >= limit:
                self._held[direction] = True
                self._limit[direction] = None
                if self._event is not None:
                    self._event.set()

    def _abort(self, conn: _Connection) -> None:
        """Reset both sockets of ``conn`` (caller holds the lock)."""
        conn.closed = True
        self._reset(conn.client)
        self._reset(conn.upstream)

    @staticmethod
    def _reset(sock: socket.socket) -> None:
        """Close ``sock`` with a RST. ``SHUT_RD`` first wakes a thread blocked reading it
        (a close alone would not, and the RST would wait for that thread) without the FIN
        that ``SHUT_WR`` would send before the RST."""
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RD)
        sock.close()
