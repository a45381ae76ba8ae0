"""Microsoft's Azurite blob emulator (npm package ``azurite``) on loopback.

Run as ``azurite-blob --blobHost 127.0.0.1 --blobPort PORT --location DIR --silent
--skipApiVersionCheck --disableTelemetry`` (without the last flag Azurite reports usage to
Microsoft over the internet). Data persists in DIR, so a restart on the same folder sees it
after ``stop()`` (SIGTERM: Azurite saves its metadata database as it exits). ``kill()`` is a
crash: Azurite saves that database every 5 s, so containers and blobs made in the last
seconds before it may be gone after the restart, as after a real crash.

Clients use adlfs (``adlfs.AzureBlobFileSystem``, fsspec protocols ``az``/``abfs``, paths
``container/key``) with ``connection_string`` built from the emulator's well-known account
``devstoreaccount1`` and its published key (a public constant, not a secret).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests.servers.process import (
    HOST,
    POLL_INTERVAL,
    START_TIMEOUT,
    ProcessServer,
    http_status,
    require_module,
    require_program,
)

ACCOUNT = "devstoreaccount1"
#: Azurite's fixed, documented key for devstoreaccount1.
ACCOUNT_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
               "K1SZFPTOtr/KBHBeksoGMGw==")
#: A well-formed key Azurite does not know: signatures made with it fail (403).
WRONG_KEY = "d3Jvbmcta2V5LWZvci16b28tdmNzLXRlc3RzLXdyb25nLWtleS1mb3Item9vLXZjcw=="


class LoopbackAzurite(ProcessServer):
    """azurite-blob on ``127.0.0.1:<free port>``, data in ``root/azurite``."""

    name = "azurite"

    def __init__(self, root: Path | None = None, port: int | None = None) -> None:
        super().__init__(root, port)
        self.data = self.root / "azurite"

    def check_available(self) -> None:
        self._program = require_program(
            "azurite-blob", "apt-get install nodejs npm && npm install -g azurite")
        require_module("adlfs", "pip install 'zoo-vcs[azure]'")

    def prepare(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        return [self._program, "--blobHost", HOST, "--blobPort", str(self.port),
                "--location", str(self.data), "--silent", "--skipApiVersionCheck",
                "--disableTelemetry"]

    def ready(self) -> bool:
        # Any HTTP answer (an unsigned listing is refused with 403) means it serves requests.
        return http_status(f"{self.endpoint}?comp=list") is not None

    def wait_saved(self, container: str, *blobs: str) -> None:
        """Wait until Azurite's databases on disk hold ``container`` and each of ``blobs``
        (names inside it) with its data extent. Azurite saves them every 5 s, each on its
        own timer, and :meth:`kill` loses what was not saved: a blob without its extent
        record reads as missing after the restart."""
        deadline = time.monotonic() + START_TIMEOUT
        while not self._saved(container, blobs):
            if time.monotonic() > deadline:
                raise RuntimeError(f"azurite did not save {container}/{blobs} within "
                                   f"{START_TIMEOUT:.0f}s")
            time.sleep(POLL_INTERVAL)

    def _saved(self, container: str, blobs: tuple[str, ...]) -> bool:
        try:  # a database being written is not yet valid JSON: not saved yet
            meta = json.loads((self.data / "__azurite_db_blob__.json").read_text())
            extents = json.loads((self.data / "__azurite_db_blob_extent__.json").read_text()) \
                if blobs else {"collections": []}
        except (OSError, ValueError):
            return False
        records = {c["name"]: c["data"] for c in meta["collections"]}
        if not any(c["name"] == container for c in records.get("$CONTAINERS_COLLECTION$", [])):
            return False
        saved = {e["id"] for c in extents["collections"] for e in c["data"]}
        stored = {b["name"]: (b.get("persistency") or {}).get("id")
                  for b in records.get("$BLOBS_COLLECTION$", [])
                  if b.get("containerName") == container}
        return all(stored.get(blob) in saved for blob in blobs)

    # -- what a user gives fsspec -------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}/{ACCOUNT}"

    def connection_string(self, key: str = ACCOUNT_KEY, port: int | None = None) -> str:
        """``port``: the one clients connect to (a relay in front), by default Azurite's."""
        return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={key};"
                f"BlobEndpoint=http://{HOST}:{port or self.port}/{ACCOUNT};")

    def sas_connection_string(self, container: str, permission: str,
                              port: int | None = None) -> str:
        """A connection string with a SAS token for ``container`` instead of the account
        key, granting only ``permission`` (Azure's letters: ``"rl"`` = read and list)."""
        import datetime

        from azure.storage.blob import generate_container_sas

        expiry = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
        sas = generate_container_sas(ACCOUNT, container, account_key=ACCOUNT_KEY,
                                     permission=permission, expiry=expiry)
        return (f"BlobEndpoint=http://{HOST}:{port or self.port}/{ACCOUNT};"
                f"SharedAccessSignature={sas}")

    def url(self, path: str = "") -> str:
        """``az://CONTAINER/KEY`` (the endpoint is in the storage options)."""
        return f"az://{path.lstrip('/')}"

    def storage_options(self, key: str = ACCOUNT_KEY, **extra: Any) -> dict[str, Any]:
        """Options for ``fsspec.filesystem('az', **options)``."""
        return {"connection_string": self.connection_string(key), **extra}
