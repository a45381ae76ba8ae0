"""S3 through botocore's own client, for what a many-object transfer does per object: one
ranged GET, one PUT, one listing, one HEAD.

s3fs routes every call from the engine's worker threads through its event loop (aiobotocore
on aiohttp): per object that costs a third more CPU than botocore's thread-safe client
called from the same threads, and importing it 17 MiB more memory (the E1/E2 benchmark).
The remote's options are the same fsspec (s3fs) options; where one is used that is not
mapped here, where a URL names a version, or for uploads too large for one PUT, the caller
uses s3fs instead (``target`` returns None). Errors are botocore's, for
``store.translate_store``.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import threading
from dataclasses import dataclass
from typing import Any, BinaryIO

#: s3fs options that mean the same here: credentials, endpoint, and botocore's
#: create_client/Config arguments. Any other option (s3_additional_kwargs, requester_pays,
#: version_aware...) leaves the URL to s3fs.
OPTIONS = frozenset({"endpoint_url", "key", "secret", "token", "username", "password",
                     "profile", "client_kwargs", "config_kwargs", "anon", "use_ssl"})

#: Uploads below this are one PUT, as s3fs makes them (under twice its 50 MiB part);
#: larger ones are s3fs's multipart uploads.
SINGLE_PUT = 100 << 20

#: HTTP connections kept per client: one per worker thread for any usual ``--jobs``.
POOL_CONNECTIONS = 32


@dataclass(frozen=True)
class Target:
    """An S3 object (or prefix) and the shared client that reaches it."""

    client: Any
    bucket: str
    key: str


def target(url: str, options: dict[str, Any]) -> Target | None:
    """The client, bucket and key for an ``s3://`` or ``s3a://`` ``url``; None where s3fs is
    to be used (an option not mapped here, a version id, s3fs not installed: its import
    error is then the one the user sees)."""
    if not set(options) <= OPTIONS or "?" in url or not _installed():
        return None
    bucket, _, key = url.split("://", 1)[1].partition("/")
    if not bucket:
        return None
    return Target(_client(json.dumps(options, sort_keys=True, default=repr), options),
                  bucket, key)


@functools.cache  # asked per object; what is installed does not change
def _installed() -> bool:
    """Whether the ``[s3]`` extra is installed (s3fs, and with it botocore), not imported."""
    return importlib.util.find_spec("s3fs") is not None


_CLIENTS: dict[str, Any] = {}
_CLIENTS_LOCK = threading.Lock()


def _client(key: str, options: dict[str, Any]) -> Any:
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(key)
        if client is None:
            client = _CLIENTS[key] = _make_client(options)
        return client


def _make_client(options: dict[str, Any]) -> Any:
    """A botocore S3 client set up as s3fs sets up its own from the same options."""
    import botocore
    import botocore.session
    from botocore.config import Config

    client_kwargs = dict(options.get("client_kwargs") or {})
    config = dict(options.get("config_kwargs") or {})
    config.setdefault("max_pool_connections", POOL_CONNECTIONS)
    given = {"aws_access_key_id": options.get("key") or options.get("username"),
             "aws_secret_access_key": options.get("secret") or options.get("password"),
             "aws_session_token": options.get("token"),
             "endpoint_url": options.get("endpoint_url")}
    kwargs = {k: v for k, v in given.items() if v is not None}
    if "use_ssl" not in client_kwargs:
        kwargs["use_ssl"] = bool(options.get("use_ssl", True))
    if options.get("anon"):
        secrets = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")
        kwargs = {k: v for k, v in kwargs.items() if k not in secrets}
        client_kwargs = {k: v for k, v in client_kwargs.items() if k not in secrets}
        config["signature_version"] = botocore.UNSIGNED
    session = botocore.session.Session(profile=options.get("profile"))
    return session.create_client("s3", config=Config(**config), **{**kwargs, **client_kwargs})


def read_range(t: Target, end: int) -> bytes:
    """Bytes 0 to ``end`` (exclusive) of the object, fewer if it is shorter: one GET."""
    from botocore.exceptions import ClientError

    try:
        body = t.client.get_object(Bucket=t.bucket, Key=t.key, Range=f"bytes=0-{end - 1}")["Body"]
    except ClientError as exc:
        if status(exc) == 416:  # an empty object has no byte 0
            return b""
        raise
    try:
        data: bytes = body.read()
        return data
    finally:
        body.close()


def stream(t: Target, offset: int, chunk_size: int) -> Any:
    """The object's bytes from ``offset`` on, as an iterator of chunks: one GET."""
    kwargs = {"Range": f"bytes={offset}-"} if offset else {}
    body = t.client.get_object(Bucket=t.bucket, Key=t.key, **kwargs)["Body"]
    try:
        while chunk := body.read(chunk_size):
            yield chunk
    finally:
        body.close()


def put(t: Target, src: BinaryIO) -> None:
    """Store the open file ``src`` as the object: one PUT (botocore streams it from the file
    and sends its checksum, which S3 verifies)."""
    t.client.put_object(Bucket=t.bucket, Key=t.key, Body=src)


def size(t: Target) -> int | None:
    """The object's size, None when there is none (a 404); a missing bucket raises.

    A HEAD has no body to say which is missing: a 404 is followed by a one-key listing,
    which raises NoSuchBucket (as s3fs does). A key that is a "folder" counts as absent.
    """
    from botocore.exceptions import ClientError

    try:
        return int(t.client.head_object(Bucket=t.bucket, Key=t.key)["ContentLength"])
    except ClientError as exc:
        if status(exc) != 404:
            raise
    t.client.list_objects_v2(Bucket=t.bucket, Prefix=t.key, MaxKeys=1)
    return None


def list_sizes(t: Target) -> dict[str, int]:
    """Sizes of every object under the prefix ``t.key``, keyed by the rest of their key
    (one request per 1,000 objects)."""
    prefix = t.key.rstrip("/") + "/"
    out = {}
    for page in t.client.get_paginator("list_objects_v2").paginate(Bucket=t.bucket,
                                                                   Prefix=prefix):
        for obj in page.get("Contents", ()):
            name = obj["Key"][len(prefix):]
            if name and not name.endswith("/"):
                out[name] = int(obj["Size"])
    return out


def status(exc: BaseException) -> int | None:
    """The HTTP status of a botocore ``ClientError`` (None for anything else)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    value = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    return value if isinstance(value, int) else None


def error_code(exc: BaseException) -> str:
    """The S3 error code of a botocore ``ClientError`` (``NoSuchBucket``...), or ''."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    return str((response.get("Error") or {}).get("Code") or "")
