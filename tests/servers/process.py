"""A real storage server run as a child process on loopback, for the backend tests.

Each server (sshd, wsgidav, azurite, gcp-storage-emulator) is a subclass of
:class:`ProcessServer`: it picks a free ``127.0.0.1`` port once, starts its program as a child
in its own process group with its log in a file, and waits until a probe (a socket or HTTP
request) succeeds, bounded by a deadline, never by a fixed sleep. ``stop()`` ends it (SIGTERM,
then SIGKILL), ``kill()`` crashes it at once (SIGKILL, to cut a transfer mid-way), and
``start()`` again brings it back on the same port with the same data folder.

A program or client package that is not installed raises :class:`ServerUnavailable`, which the
fixtures turn into ``pytest.skip(reason)``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
#: How long a server may take to come up. Generous: azurite on a loaded 2-core machine takes
#: seconds, and the probe returns as soon as it answers.
START_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0
POLL_INTERVAL = 0.05


class ServerUnavailable(Exception):
    """The server program or the fsspec backend that talks to it is not installed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def require_program(name: str, hint: str, extra_dirs: Sequence[str] = ()) -> str:
    """The absolute path of executable ``name``, or :class:`ServerUnavailable`."""
    path = os.pathsep.join([os.environ.get("PATH", ""), *extra_dirs])
    found = shutil.which(name, path=path)
    if not found:
        raise ServerUnavailable(f"{name} not found ({hint})")
    return os.path.abspath(found)


def require_module(name: str, hint: str) -> None:
    """Raise :class:`ServerUnavailable` unless Python module ``name`` can be imported."""
    try:
        found = importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise ServerUnavailable(f"Python package {name!r} not installed ({hint})")


def port_accepts(port: int, host: str = HOST, timeout: float = 1.0) -> bool:
    """Whether a TCP connection to ``host:port`` succeeds now."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def http_status(url: str, timeout: float = 2.0, headers: dict[str, str] | None = None,
                method: str = "GET") -> int | None:
    """The status code of one plain HTTP request, or None if no answer came."""
    import http.client
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or HOST, parts.port, timeout=timeout)
    try:
        conn.request(method, parts.path or "/", headers=headers or {})
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def _die_with_parent() -> None:
    """In the child, before exec: SIGKILL me when my parent dies (Linux ``prctl``), so a test
    process that is killed (a CI timeout, Ctrl-C twice) leaves no server running. The kernel
    ties it to the parent *thread*: start servers from long-lived threads (the main one)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: stop() and close() still end the server


def descendants(pid: int) -> list[int]:
    """Pids of every live descendant of ``pid`` (Linux ``/proc``; empty elsewhere)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie (a reparented zombie is init's to reap)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return fields[0] != "Z"


class ProcessServer:
    """Base class: one program, one port, one data folder, restartable."""

    #: Short name, used for temp folder prefixes and messages.
    name = "server"

    def __init__(self, root: Path | None = None, port: int | None = None) -> None:
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix=f"zoo-{self.name}-")) if root is None \
            else Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.log_path = self.root / f"{self.name}.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._prepared = False
        #: Seconds the last ``start()`` took until the probe succeeded.
        self.startup_seconds = 0.0

    # -- to be provided by subclasses --------------------------------------------------------

    def check_available(self) -> None:
        """Raise :class:`ServerUnavailable` if the program or client is missing."""

    def prepare(self) -> None:
        """Make keys, config files, folders: once, before the first start."""

    def command(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def ready(self) -> bool:
        """One readiness probe: True once the server answers."""
        return port_accepts(self.port)

    def after_start(self) -> None:
        """Called once the server is ready (create a bucket, ...)."""

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> ProcessServer:
        """Start (or restart, same port and data) and wait until the server answers."""
        if self.running:
            return self
        self.check_available()
        if not self._prepared:
            self.prepare()
            self._prepared = True
        began = time.monotonic()
        deadline = began + START_TIMEOUT
        if port_accepts(self.port, timeout=0.2):
            # Not ours (ours is stopped): the probe would talk to the wrong server.
            raise RuntimeError(f"{self.name}: port {self.port} is taken by another program")
        with open(self.log_path, "ab") as log:
            log.write(f"\n=== start {' '.join(self.command())}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=self.root, env=self.env(), start_new_session=True,
                preexec_fn=_die_with_parent)
        self._wait(self.ready, deadline, "to answer")
        self.startup_seconds = time.monotonic() - began
        self.after_start()
        return self

    def _wait(self, probe: Callable[[], bool], deadline: float, what: str) -> None:
        while True:
            if self._proc is not None and self._proc.poll() is not None:
                code = self._proc.returncode
                self._proc = None
                raise RuntimeError(f"{self.name} exited with {code} before it was ready; "
                                   f"log:\n{self.log_tail()}")
            if probe():
                return
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"{self.name} did not come up on port {self.port} within "
                                   f"{START_TIMEOUT:.0f}s; log:\n{self.log_tail()}")
            time.sleep(POLL_INTERVAL)

    def _signal(self, sig: int) -> list[int]:
        """Send ``sig`` to the server, its process group and every descendant.

        Descendants are signalled by pid too: some servers (sshd) run each connection in a
        process of its own session, which a group signal misses and which would otherwise
        keep serving open connections after the server "stopped".
        Returns the descendants' pids, to wait for.
        """
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return []
        family = descendants(proc.pid)
        with contextlib.suppress(ProcessLookupError):
            # Its own session: the group holds only this server and what it started.
            os.killpg(proc.pid, sig)
        for pid in family:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        return family

    def stop(self) -> None:
        """End the server cleanly (SIGTERM, SIGKILL after a deadline) and wait for it."""
        proc = self._proc
        if proc is None:
            return
        family = self._signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            family += self._signal(signal.SIGKILL)
            proc.wait(timeout=STOP_TIMEOUT)
        self._reap(family)
        self._proc = None
        self._wait_port_closed()

    def kill(self) -> None:
        """Crash the server now (SIGKILL): open connections break mid-transfer."""
        proc = self._proc
        if proc is None:
            return
        family = self._signal(signal.SIGKILL)
        proc.wait(timeout=STOP_TIMEOUT)
        self._reap(family)
        self._proc = None
        self._wait_port_closed()

    @staticmethod
    def _reap(pids: list[int]) -> None:
        """Wait (bounded) until the given descendants are gone, SIGKILLing stragglers."""
        deadline = time.monotonic() + STOP_TIMEOUT
        for pid in pids:
            while _alive(pid):
                if time.monotonic() > deadline:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                    deadline = time.monotonic() + STOP_TIMEOUT
                time.sleep(POLL_INTERVAL)

    def _wait_port_closed(self) -> None:
        deadline = time.monotonic() + STOP_TIMEOUT
        while port_accepts(self.port, timeout=0.2) and time.monotonic() < deadline:
            time.sleep(POLL_INTERVAL)

    def close(self) -> None:
        """Stop, and remove the data folder if this object made it (kept, with the server's
        log, when ZOO_VCS_KEEP_SERVER_DIRS=1)."""
        self.stop()
        if self._own_root and os.environ.get("ZOO_VCS_KEEP_SERVER_DIRS") != "1":
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<{type(self).__name__} {HOST}:{self.port} {state} root={self.root}>"
