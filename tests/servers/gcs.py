"""gcp-storage-emulator (PyPI) on loopback: Google Cloud Storage's JSON API, no auth.

Run as ``python -m gcp_storage_emulator -d DIR start --host 127.0.0.1 --port PORT --quiet``;
data persists in DIR, so a restart on the same folder sees it. The emulator checks no
credentials at all (any token, or none, is accepted).

Clients use gcsfs (``gcsfs.GCSFileSystem``, fsspec protocols ``gs``/``gcs``, paths
``bucket/key``) with ``endpoint_url="http://127.0.0.1:PORT"`` (no path part) and
``token="anon"`` (no Google credentials looked up). Buckets must exist before objects are
written: :meth:`LoopbackGCS.make_bucket` (or ``fs.mkdir("bucket")``) makes one.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from tests.servers.process import HOST, ProcessServer, http_status, require_module

PROJECT = "zoo-vcs-tests"

#: gcsfs 2026.10 made ``gcsfs.GCSFileSystem`` an ``ExtendedGcsFileSystem`` (its
#: "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", on by default) that first asks Google's Storage
#: Control API, over gRPC/TLS at the same endpoint, what kind of bucket it is. An emulator
#: speaks only the JSON API, so every operation on a bucket waits for that call to time out
#: (60 s, not cached when it fails). The switch is read when gcsfs is *imported*: it is set
#: here, before any test imports gcsfs, and passes on to the zoo-vcs processes tests start.
GCS_ENV = {"GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false"}
for _key, _value in GCS_ENV.items():
    os.environ.setdefault(_key, _value)


class LoopbackGCS(ProcessServer):
    """gcp-storage-emulator on ``127.0.0.1:<free port>``, data in ``root/gcs``."""

    name = "gcs"

    def __init__(self, root: Path | None = None, port: int | None = None) -> None:
        super().__init__(root, port)
        self.data = self.root / "gcs"

    def check_available(self) -> None:
        require_module("gcp_storage_emulator", "pip install gcp-storage-emulator")
        require_module("gcsfs", "pip install 'zoo-vcs[gcs]'")
        gcsfs = sys.modules.get("gcsfs")
        if gcsfs is not None and gcsfs.GCSFileSystem.__name__ == "ExtendedGcsFileSystem":
            raise RuntimeError("gcsfs was imported before tests.servers.gcs set "
                               f"{GCS_ENV}: import tests.servers.gcs first")

    def prepare(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        return [sys.executable, "-m", "gcp_storage_emulator", "--data-dir", str(self.data),
                "start", "--host", HOST, "--port", str(self.port), "--quiet"]

    def ready(self) -> bool:
        return http_status(f"{self.endpoint_url}/storage/v1/b?project={PROJECT}") == 200

    # -- what a user gives fsspec -------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def url(self, path: str = "") -> str:
        """``gs://BUCKET/KEY`` (the endpoint is in the storage options)."""
        return f"gs://{path.lstrip('/')}"

    def storage_options(self, **extra: Any) -> dict[str, Any]:
        """Options for ``fsspec.filesystem('gs', **options)``."""
        return {"endpoint_url": self.endpoint_url, "token": "anon", "project": PROJECT,
                **extra}

    def make_bucket(self, name: str) -> str:
        """Create bucket ``name`` through the JSON API (what ``gsutil mb`` does)."""
        import json
        import urllib.request

        request = urllib.request.Request(
            f"{self.endpoint_url}/storage/v1/b?project={PROJECT}", method="POST",
            data=json.dumps({"name": name}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:  # loopback only
            response.read()
        return name
