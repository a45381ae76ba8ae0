"""OpenSSH's sshd on loopback, serving SFTP to the current user with a generated key.

The fixture generates, in its own folder, a host key, a client key (the only authorized one)
and a second client key that is *not* authorized (for auth-failure tests), writes an
``sshd_config`` and runs ``sshd -D -e -f <config>`` as a child. Clients use sshfs
(``sftp://`` / ``ssh://`` in fsspec), whose options go to ``asyncssh.connect``: ``host``,
``port``, ``username``, ``client_keys`` (list of key files), ``known_hosts`` (None: no host
check), ``password``.
"""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
from pathlib import Path
from typing import Any

from tests.servers.process import (
    HOST,
    ProcessServer,
    free_port,
    require_module,
    require_program,
)

SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")
#: sshd refuses to start as root without its privilege separation folder, which Debian's
#: service unit (not the package) creates at boot.
PRIVSEP_DIR = "/run/sshd"


def _keygen(ssh_keygen: str, path: Path) -> None:
    subprocess.run([ssh_keygen, "-q", "-t", "ed25519", "-N", "", "-C", "zoo-vcs-tests",
                    "-f", str(path)], check=True, capture_output=True)


class LoopbackSFTP(ProcessServer):
    """sshd on ``127.0.0.1:<free port>``; ``data`` is the folder tests write into."""

    name = "sshd"

    def __init__(self, root: Path | None = None, port: int | None = None) -> None:
        super().__init__(root, port)
        #: A second port of the same server whose SFTP is read-only (OpenSSH's
        #: ``internal-sftp -R``): every write is refused with "Permission denied", even for
        #: root, whom file modes do not stop.
        self.read_only_port = free_port()
        self.user = pwd.getpwuid(os.getuid()).pw_name
        self.etc = self.root / "etc"
        self.data = self.root / "data"
        self.host_key = self.etc / "ssh_host_ed25519_key"
        self.client_key = self.etc / "client_ed25519"
        self.wrong_key = self.etc / "unauthorized_ed25519"
        self.config = self.etc / "sshd_config"

    def check_available(self) -> None:
        self._sshd = require_program("sshd", "apt-get install openssh-server", SBIN_DIRS)
        self._keygen = require_program("ssh-keygen", "apt-get install openssh-client",
                                       SBIN_DIRS)
        require_module("sshfs", "pip install 'zoo-vcs[ssh]'")

    def prepare(self) -> None:
        self.etc.mkdir(parents=True, exist_ok=True)
        self.data.mkdir(parents=True, exist_ok=True)
        for key in (self.host_key, self.client_key, self.wrong_key):
            if not key.exists():
                _keygen(self._keygen, key)
        if os.geteuid() == 0 and not os.path.isdir(PRIVSEP_DIR):
            os.makedirs(PRIVSEP_DIR, mode=0o755, exist_ok=True)
        self.config.write_text("\n".join([
            f"ListenAddress {HOST}:{self.port}",
            f"ListenAddress {HOST}:{self.read_only_port}",
            f"HostKey {self.host_key}",
            f"PidFile {self.etc / 'sshd.pid'}",
            f"AuthorizedKeysFile {self.client_key}.pub",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            "StrictModes no",
            "UsePAM no",
            f"AllowUsers {self.user}",
            "Subsystem sftp internal-sftp",
            # The tests open several connections at once (and probes): no throttling.
            "MaxStartups 100",
            "MaxSessions 32",
            "LogLevel INFO",
            f"Match LocalPort {self.read_only_port}",
            "    ForceCommand internal-sftp -R",
            "",
        ]))

    def command(self) -> list[str]:
        return [self._sshd, "-D", "-e", "-f", str(self.config)]

    def ready(self) -> bool:
        """sshd has answered with its version banner (not just accepted the connection)."""
        try:
            with socket.create_connection((HOST, self.port), timeout=2) as sock:
                sock.settimeout(5)
                return sock.recv(256).startswith(b"SSH-")
        except OSError:
            return False

    # -- what a user gives fsspec -------------------------------------------------------------

    def path(self, name: str = "") -> str:
        """Absolute server-side path of ``name`` inside the data folder."""
        return (self.data / name).as_posix() if name else self.data.as_posix()

    def url(self, name: str = "") -> str:
        """``sftp://127.0.0.1:PORT/abs/path`` (sshfs takes host and port from it)."""
        return f"sftp://{HOST}:{self.port}{self.path(name)}"

    def storage_options(self, key: Path | None = None, **extra: Any) -> dict[str, Any]:
        """Options for ``fsspec.open(url, **options)`` / ``fsspec.filesystem('sftp', ...)``."""
        return {"host": HOST, "port": self.port, "username": self.user,
                "client_keys": [str(key or self.client_key)], "known_hosts": None, **extra}
