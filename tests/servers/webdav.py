"""WsgiDAV (on cheroot) on loopback, serving a folder, anonymously or with HTTP basic auth.

Clients use webdav4's fsspec filesystem (``webdav4.fsspec.WebdavFileSystem``, fsspec
protocol ``webdav``; it declares ``dav`` too, but fsspec's registry only knows ``webdav``).
Its options: ``base_url`` (the server, ``http://HOST:PORT``; paths are relative to it) and
``auth`` (an httpx auth: a *tuple* ``(user, password)`` — a list is refused with TypeError);
other keywords go to ``httpx.Client`` (``timeout``, ``verify``, ``headers``...). Credentials
in ``base_url`` (``http://user:pw@host:port``) work too (httpx reads them).
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

from tests.servers.process import HOST, ProcessServer, http_status, require_module

#: The share that serves the data folder read-only.
READONLY_SHARE = "/readonly"


class LoopbackWebDAV(ProcessServer):
    """wsgidav on ``127.0.0.1:<free port>``; ``data`` is the shared folder (share ``/``).

    With ``user``/``password`` the server requires basic auth (no anonymous access);
    without, anyone may read and write. ``/readonly/PATH`` is ``/PATH`` again, read-only: the
    server refuses every write there (403 Forbidden), as to a user with read rights only.
    """

    name = "wsgidav"

    def __init__(self, root: Path | None = None, port: int | None = None, *,
                 user: str | None = None, password: str | None = None) -> None:
        super().__init__(root, port)
        if (user is None) != (password is None):
            raise ValueError("give both user and password, or neither")
        self.user = user
        self.password = password
        self.data = self.root / "data"
        self.config = self.root / "wsgidav.json"

    def check_available(self) -> None:
        require_module("wsgidav", "pip install wsgidav cheroot")
        require_module("cheroot", "pip install cheroot")
        require_module("webdav4", "pip install 'zoo-vcs[webdav]'")

    def prepare(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            users: Any = {"*": {self.user: {"password": self.password}}}
        else:
            users = {"*": True}  # anonymous read/write
        self.config.write_text(json.dumps({
            "host": HOST,
            "port": self.port,
            "server": "cheroot",
            "provider_mapping": {"/": str(self.data),
                                 READONLY_SHARE: {"root": str(self.data), "readonly": True}},
            "http_authenticator": {"domain_controller": None, "accept_basic": True,
                                   "accept_digest": False, "default_to_digest": False},
            "simple_dc": {"user_mapping": users},
            "dir_browser": {"enable": False},
            "verbose": 1,
            "logging": {"enable_loggers": []},
        }, indent=1))

    def command(self) -> list[str]:
        # ``python -m wsgidav.server.server_cli`` == the ``wsgidav`` console script, but with
        # this interpreter (the one that has the packages).
        return [sys.executable, "-m", "wsgidav.server.server_cli", "--config", str(self.config)]

    def ready(self) -> bool:
        headers = {"Depth": "0"}
        if self.user is not None:
            token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        return http_status(self.base_url + "/", headers=headers, method="PROPFIND") == 207

    # -- what a user gives fsspec -------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def url(self, path: str = "") -> str:
        """The product's URL form for this server: ``webdav://127.0.0.1:PORT/PATH``."""
        return f"webdav://{HOST}:{self.port}/{path.lstrip('/')}"

    def storage_options(self, user: str | None = None, password: str | None = None,
                        **extra: Any) -> dict[str, Any]:
        """Options for ``fsspec.filesystem('webdav', **options)``; paths are then relative."""
        user = self.user if user is None else user
        password = self.password if password is None else password
        auth = (user, password) if user is not None else None
        return {"base_url": self.base_url, "auth": auth, **extra}
