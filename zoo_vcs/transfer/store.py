"""Every other fsspec store (folders, ``s3://``, the rest of ``url_to_fs``): one
filesystem per store and options, streaming reads, atomic uploads, listings, and the
backends' exceptions (OS, s3fs, botocore) as ``TransferError``."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

import fsspec
from fsspec.callbacks import DEFAULT_CALLBACK, Callback

from zoo_vcs.errors import ConfigError, TransferError, ZooError
from zoo_vcs.formats import urls as urlmod
from zoo_vcs.storage.fileio import place
from zoo_vcs.storage.hashing import CHUNK_SIZE, StreamHasher

from . import s3
from .common import (
    NET_CHUNK,
    SMALL_OBJECT,
    TransferOptions,
    reason,
    require_network,
    size_mismatch,
    write_chunk,
)

#: Exception names (from aiohttp/botocore, not imported here) that mean a broken stream.
BROKEN_STREAM = frozenset({"ClientPayloadError", "ServerDisconnectedError", "ClientOSError",
                            "ReadTimeoutError", "ResponseStreamingError",
                            "IncompleteReadError"})


#: The package extra that installs each protocol's fsspec backend (SPEC 2.3).
EXTRAS = {"s3": "s3", "s3a": "s3", "sftp": "ssh", "ssh": "ssh", "webdav": "webdav",
          "webdavs": "webdav", "dav": "webdav", "davs": "webdav", "gs": "gcs", "gcs": "gcs",
          "az": "azure", "abfs": "azure", "abfss": "azure", "adl": "azure"}
#: WebDAV URL schemes and the HTTP scheme of the server they name.
WEBDAV = {"webdav": "http", "dav": "http", "webdavs": "https", "davs": "https"}


def filesystem(url: str, opts: TransferOptions) -> tuple[Any, str]:
    """The fsspec filesystem and path for ``url``, with the remote's options and our limits.

    Raises
    ------
    ConfigError
        The backend's package is not installed (the hint names the extra).
    TransferError
        A bad URL or option, or the backend failed while connecting (sshfs connects here).
    OfflineError
        ``url`` needs the network and ``opts.offline``.
    """
    require_network(url, opts)
    options = opts.options_for(url)
    protocol = url.split("://", 1)[0].lower() if "://" in url else "file"
    if protocol in ("s3", "s3a"):
        options = _s3_options(options, opts)
    elif protocol in ("sftp", "ssh"):
        # asyncssh waits 60 s for a TCP connection and 2 min for the login by default.
        options = {"connect_timeout": opts.timeout, "login_timeout": opts.timeout, **options}
    elif protocol in ("az", "abfs", "abfss"):
        options = {"connection_timeout": max(1, int(opts.timeout)),
                   "read_timeout": max(1, int(opts.timeout)), **options}
    try:
        if "::" in url:  # a chained URL (simplecache::s3://...): fsspec works it out
            return _configured(url, options, opts)
        if protocol in WEBDAV:
            return _webdav(url, protocol, options, opts)
        cls = fsspec.get_filesystem_class(protocol)
        # A many-object transfer asks for the same store thousands of times, and fsspec's
        # own instance lookup tokenises every option each time (0.4 ms for S3's).
        key = (protocol, repr(cls._get_kwargs_from_urls(url)),
               json.dumps(options, sort_keys=True, default=repr))
        return _cached(key, lambda: _configured(url, options, opts)[0]), \
            cls._strip_protocol(url)
    except ImportError as exc:
        extra = EXTRAS.get(protocol)
        raise ConfigError(f"{protocol}:// needs a package that is not installed ({exc})",
                          hint=f"pip install 'zoo-vcs[{extra}]'" if extra
                          else "install the fsspec backend for it") from None
    except (ValueError, TypeError) as exc:
        if "Protocol not known" in str(exc):
            # A pointer's URL is data from a repository: one source that fails, not a
            # configuration error that stops every other file.
            raise TransferError(urlmod.redact(url), f"{protocol}:// is not a storage "
                                "protocol fsspec knows (see the README's backends)") from None
        raise TransferError(urlmod.redact(url), f"unsupported URL or option: {exc}") from None
    except ZooError:
        raise
    except Exception as exc:  # sshfs connects (and authenticates) as it is made
        raise translate_store(exc, url) from None


def _s3_options(options: dict[str, Any], opts: TransferOptions) -> dict[str, Any]:
    """A remote's S3 options with our limits in botocore's configuration."""
    # botocore has its own (longer) timeouts and retries: --timeout must bound them too.
    config = dict(options.get("config_kwargs") or {})
    config.setdefault("connect_timeout", opts.timeout)
    config.setdefault("read_timeout", opts.timeout)
    config.setdefault("retries", {"max_attempts": max(1, opts.retries), "mode": "standard"})
    # Every byte downloaded is SHA1-checked here; botocore's CRC32 of each response
    # would check it a second time, on the CPU that the transfer needs. (Uploads keep
    # their checksum: the store verifies it on receipt.)
    if _botocore_has("response_checksum_validation"):
        config.setdefault("response_checksum_validation", "when_required")
    return {**options, "config_kwargs": config}


def _direct(url: str, opts: TransferOptions) -> s3.Target | None:
    """The botocore client for an S3 ``url`` (:mod:`.s3`), or None: not S3, or a case
    left to s3fs through :func:`filesystem`."""
    if not url.startswith(("s3://", "s3a://")):
        return None
    require_network(url, opts)
    try:
        return s3.target(url, _s3_options(opts.options_for(url), opts))
    except (ValueError, TypeError) as exc:  # botocore checks the options as it sets up
        raise TransferError(urlmod.redact(url), f"unsupported URL or option: {exc}") from None
    except Exception as exc:  # a profile that does not exist...
        raise translate_store(exc, url) from None


def _cached(key: tuple[str, str, str], make: Any) -> Any:
    with _FILESYSTEMS_LOCK:
        fs = _FILESYSTEMS.get(key)
        if fs is None:
            fs = _FILESYSTEMS[key] = make()
        return fs


def _webdav(url: str, protocol: str, options: dict[str, Any],
            opts: TransferOptions) -> tuple[Any, str]:
    """``webdav[s]://[USER@]HOST[:PORT]/PATH`` for webdav4, which takes the server as
    ``base_url`` and paths relative to it. (An upload makes the missing folders, walking up
    only as far as the first one that exists: never above a Nextcloud user's folder.)

    ``username``/``password`` options (or a user in the URL) become webdav4's ``auth``.
    """
    webdav_fs = fsspec.get_filesystem_class("webdav")  # webdav4's
    parts = urlsplit(url)
    if not parts.hostname:
        raise ValueError(f"no server in {urlmod.redact(url)!r}: webdav://HOST[:PORT]/PATH")
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
    options = dict(options)
    user = options.pop("username", None) or options.pop("user", None) or \
        (unquote(parts.username) if parts.username else None)
    password = options.pop("password", None)
    if user is not None and "auth" not in options:
        options["auth"] = (str(user), str(password or ""))
    elif isinstance(options.get("auth"), list):
        options["auth"] = tuple(options["auth"])
    options.setdefault("timeout", opts.timeout)
    options["base_url"] = f"{WEBDAV[protocol]}://{netloc}"
    key = ("webdav", "", json.dumps(options, sort_keys=True, default=repr))
    return _cached(key, lambda: webdav_fs(**options)), unquote(parts.path).strip("/")


#: One filesystem per (protocol, URL options, storage options): see ``filesystem``.
_FILESYSTEMS: dict[tuple[str, str, str], Any] = {}
_FILESYSTEMS_LOCK = threading.Lock()


def _configured(url: str, options: dict[str, Any], opts: TransferOptions) -> tuple[Any, str]:
    fs, path = fsspec.core.url_to_fs(url, **options)
    if hasattr(fs, "retries") and url.startswith(("s3://", "s3a://")):
        # s3fs retries reads on its own (5 times, with backoff), outside botocore's
        # limits: our retry policy is the one that applies.
        fs.retries = max(1, opts.retries)
    policy = getattr(getattr(getattr(fs, "service_client", None), "_config", None),
                     "retry_policy", None)
    if policy is not None and hasattr(policy, "total_retries"):
        # adlfs: azure-core's retries (3, backing off 15 s, then 3x: 80 s against a server
        # that is down, before each of ours) give way to ours, the same for every backend.
        for attr in ("total_retries", "connect_retries", "read_retries", "status_retries"):
            setattr(policy, attr, 0)
    return fs, path


def stream_store(url: str, part: BinaryIO, hasher: StreamHasher, opts: TransferOptions,
                   callback: Callback, size: int | None = None) -> None:
    """Append the rest of ``url`` (from ``hasher.size`` on) to ``part``."""
    target = _direct(url, opts)
    fs: Any = None  # the S3 client does it, or s3fs/another fsspec store
    path = ""
    if target is None:
        fs, path = filesystem(url, opts)
    try:
        if size and size <= SMALL_OBJECT and not hasher.size \
                and (target is not None or not is_local(fs)):
            # One ranged GET for a small object. Opening a file, or a cat_file without a
            # range, costs object stores an extra HEAD request (s3fs sizes the object to
            # decide on a parallel download), which doubles a many-file pull. One byte
            # more than expected is asked for, so that a larger object is caught.
            data = memoryview(s3.read_range(target, size + 1) if target is not None
                              else fs.cat_file(path, start=0, end=size + 1))  # no copies
            for i in range(0, len(data), NET_CHUNK):
                write_chunk(hasher, data[i:i + NET_CHUNK], size, url, callback)
            return
        chunks = s3.stream(target, hasher.size, CHUNK_SIZE) if target is not None \
            else _chunks(fs, path, hasher.size)
        for chunk in chunks:
            write_chunk(hasher, chunk, None, url, callback)
    except ZooError:
        raise
    except Exception as exc:
        raise translate_store(exc, url) from None


def _chunks(fs: Any, path: str, offset: int) -> Iterator[bytes]:
    """The file at ``path`` from ``offset`` on, in chunks (a streaming read)."""
    with fs.open(path, "rb", block_size=CHUNK_SIZE) as src:
        if offset:
            src.seek(offset)
        while chunk := src.read(CHUNK_SIZE):
            yield chunk


#: Exception names (httpx, asyncssh, azure-core; not imported here) and what they mean.
UNREACHABLE = frozenset({"EndpointConnectionError", "ConnectTimeoutError", "ClientConnectorError",
                         "ConnectError", "ServiceRequestError", "ConnectionRefusedError"})
BROKEN = BROKEN_STREAM | {"RemoteProtocolError", "ReadError", "WriteError", "SFTPNoConnection",
                          "SFTPConnectionLost", "ConnectionLost", "ServiceResponseError"}
TIMEOUTS = frozenset({"ReadTimeout", "WriteTimeout", "PoolTimeout", "ConnectTimeout"})
#: A write (or read) refused to a user who is logged in (asyncssh: SFTP's "permission
#: denied"; webdav4: a 403 to MKCOL, MOVE or COPY).
DENIED = frozenset({"SFTPPermissionDenied", "ForbiddenOperation"})
#: S3 error codes (a ``ClientError``'s, or s3fs's exception names) for rejected credentials.
_S3_AUTH = ("InvalidAccessKeyId", "SignatureDoesNotMatch")
#: Azure error codes (``HttpResponseError.error_code``).
_AZURE_AUTH = ("AuthenticationFailed", "InvalidAuthenticationInfo", "NoAuthenticationInformation")
_AZURE_MISSING_CONTAINER = ("ContainerNotFound", "The specified container does not exist",
                            "No such container")


def translate_store(exc: BaseException, url: str) -> BaseException:
    """Storage backend errors as one clear ``TransferError`` line, the same words for every
    backend: S3 (s3fs/botocore), SFTP (sshfs/asyncssh), WebDAV (webdav4/httpx), Azure
    (adlfs/azure-core), GCS (gcsfs/aiohttp) and folders (OS errors).

    ``not found``, ``bucket does not exist (...)``, ``no credentials: ...``, ``credentials
    rejected: ...``, ``access denied: ...``, ``endpoint unreachable: ...`` (transient),
    ``connection broken: ...`` (transient), ``timed out: ...`` (transient).
    """
    shown = urlmod.redact(url)
    name = type(exc).__name__
    text = reason(exc)
    status = _status(exc) or s3.status(exc)  # botocore's ClientError: in its response
    code = str(getattr(exc, "error_code", "") or "") or s3.error_code(exc)
    if isinstance(exc, IsADirectoryError):
        return TransferError(shown, "is a directory, not a file")
    if any(word in f"{code} {text}" for word in _AZURE_MISSING_CONTAINER) \
            or "/upload/storage/v1/b/" in text:  # gcsfs: an upload into no bucket
        return TransferError(shown, f"bucket does not exist ({text})")
    if isinstance(exc, FileNotFoundError) or status == 404:
        if "bucket" in text.lower():
            return TransferError(shown, f"bucket does not exist ({text})")
        return TransferError(shown, "not found")
    if name in ("NoCredentialsError", "PartialCredentialsError") \
            or "Unable to locate credentials" in text:
        return TransferError(shown, "no credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                                    "a profile, or the remote's options")
    if name in _S3_AUTH or code in _S3_AUTH or "InvalidAccessKeyId" in text \
            or code in _AZURE_AUTH or status == 401 or "failed to authenticate" in text \
            or (isinstance(exc, PermissionError) and "for user" in text):  # asyncssh login
        return TransferError(shown, f"credentials rejected: {text}")
    if isinstance(exc, PermissionError) or name in DENIED or "AccessDenied" in text \
            or "Forbidden" in text \
            or status == 403 or code.startswith("Authorization"):
        return TransferError(shown, f"access denied: {text}")
    if name in UNREACHABLE or "Could not connect" in text:
        return TransferError(shown, f"endpoint unreachable: {text}", transient=True)
    if name == "ReadTimeoutError":  # botocore's, reading a body: its text names no URL
        return TransferError(shown, "timed out: no data within the read timeout",
                             transient=True)
    if isinstance(exc, ConnectionError) or name in BROKEN:
        # The connection broke mid-transfer: retried, resuming from the bytes received.
        return TransferError(shown, f"connection broken: {text}", transient=True)
    if isinstance(exc, asyncio.TimeoutError | TimeoutError) or name in TIMEOUTS:
        return TransferError(shown, f"timed out: {text}", transient=True)
    if status in (500, 502, 503, 504):  # not 501 (an HTTP mirror refusing a PUT): final
        return TransferError(shown, f"server error {status}: {text}", transient=True)
    if isinstance(exc, OSError):
        return TransferError(shown, text, transient=exc.errno is None)
    if isinstance(exc, Exception):
        return TransferError(shown, f"{name}: {text}")
    return exc


def _status(exc: BaseException) -> int | None:
    """The HTTP status a backend's exception carries (webdav4, azure-core, gcsfs)."""
    for attr in ("status_code", "code", "status"):
        value = getattr(exc, attr, None)
        if isinstance(value, int) and 100 <= value <= 599:
            return value
    return None


def remote_size(url: str, opts: TransferOptions) -> int | None:
    """Size of the object at ``url``, or None when there is none."""
    target = _direct(url, opts)
    if target is not None:
        try:
            return s3.size(target)
        except Exception as exc:
            raise translate_store(exc, url) from None
    fs, path = filesystem(url, opts)
    try:
        info = fs.info(path)
    except FileNotFoundError as exc:
        if "bucket" in reason(exc).lower():
            raise translate_store(exc, url) from None
        return None
    except Exception as exc:
        raise translate_store(exc, url) from None
    size = info.get("size")
    return int(size) if size is not None and info.get("type", "file") == "file" else None


def list_sizes(base: str, opts: TransferOptions) -> dict[str, int] | None:
    """Sizes of every file under ``base``, keyed by path relative to it (one listing).

    None when the store cannot list (an HTTP mirror) or the listing fails: callers then
    ask object by object.
    """
    if urlmod.is_http(base):
        return None
    try:
        target = _direct(base, opts)
        if target is not None:
            return s3.list_sizes(target)
        fs, path = filesystem(base, opts)
        found = fs.find(path, detail=True)
    except (ZooError, Exception):  # any failure: fall back to asking per object
        return None
    prefix = path.rstrip("/") + "/"
    return {name[len(prefix):]: int(info.get("size") or 0) for name, info in found.items()
            if name.startswith(prefix) and info.get("type", "file") == "file"}


def upload(src: str, url: str, *, size: int, opts: TransferOptions,
           callback: Callback = DEFAULT_CALLBACK, check: bool = True) -> None:
    """Copy local file ``src`` to ``url``; the object is complete or absent, never partial.

    Local folders, SFTP and WebDAV get a temp name and a rename; object stores (S3...)
    publish a key only once its upload completed. The size stored is checked afterwards,
    except where the store checks the upload itself (:func:`checked_on_upload`) or
    ``check`` is False (the caller then checks many uploads with :func:`list_sizes`).

    Raises
    ------
    TransferError
        The store refused or failed, or holds a different size afterwards.
    """
    target = _direct(url, opts) if size < s3.SINGLE_PUT else None  # larger: multipart
    fs: Any = None  # the S3 client does it, or s3fs/another fsspec store
    path = ""
    if target is None:
        fs, path = filesystem(url, opts)
    in_place = url.split("://", 1)[0].lower() in WRITTEN_IN_PLACE
    attempt = 0
    while True:
        try:
            if target is not None:
                with open(src, "rb") as f:
                    s3.put(target, f)
                callback.relative_update(size)
            else:
                _put(fs, src, path, callback, in_place=in_place)
            break
        except Exception as exc:
            error = translate_store(exc, url)
            if not isinstance(error, TransferError) or not error.transient \
                    or attempt >= opts.retries:
                raise error from None
            attempt += 1
            opts.sleep(opts.backoff * (2 ** attempt))
    if fs is not None and is_local(fs):
        stored: int | None = os.stat(path).st_size  # our own copy: a stat is the check
    elif not check or checked_on_upload(url, opts):
        return  # the store checked it, or the caller checks many uploads with one listing
    else:
        stored = remote_size(url, opts)
    if stored != size:
        raise size_mismatch(url, expected=size, found=stored, sha1=os.path.basename(src),
                            uploaded=True)


def checked_on_upload(url: str, opts: TransferOptions) -> bool:
    """Whether an upload to ``url`` is checked as it completes, so that no listing is
    needed afterwards: a folder (we copy, then stat) or S3 with botocore's request
    checksums (the store recomputes the CRC32 sent with the body and refuses a mismatch).
    """
    if not urlmod.is_remote(url):
        return True
    if url.startswith(("s3://", "s3a://")) and _botocore_has("request_checksum_calculation"):
        config = opts.options_for(url).get("config_kwargs") or {}
        setting = config.get("request_checksum_calculation") \
            or os.environ.get("AWS_REQUEST_CHECKSUM_CALCULATION", "when_supported")
        return str(setting).lower() == "when_supported"
    return False


@functools.cache  # asked per upload; the installed botocore does not change
def _botocore_has(option: str) -> bool:
    """Whether the installed botocore knows a client option (checksum settings: 1.36+)."""
    try:
        from botocore.config import Config
    except ImportError:
        return False
    return option in getattr(Config, "OPTION_DEFAULTS", {})


#: Stores whose servers write an upload in place as it arrives (sshd, WebDAV servers): a
#: cut upload would leave a partial object under its final name, which every later push
#: then refuses (the size rule). They get a temp name and a rename, as folders do.
WRITTEN_IN_PLACE = frozenset({"sftp", "ssh", *WEBDAV})


def _put(fs: Any, src: str, path: str, callback: Callback, *, in_place: bool) -> None:
    if is_local(fs):
        # A folder remote: a temp name, a kernel copy (a reflink where the file system
        # shares extents) and a rename, so the object is complete or absent; fsspec's
        # put_file would write in place and stat both sides first.
        place(Path(src), Path(path), "copy", mode=0o444)
        callback.relative_update(os.stat(src).st_size)
    elif not in_place:
        fs.put_file(src, path, callback=callback)  # published only once complete
    else:
        temp = f"{path}.zoo-tmp-{uuid.uuid4().hex[:12]}"
        try:
            fs.put_file(src, temp, callback=callback)
            _rename(fs, temp, path)
        except BaseException:
            with contextlib.suppress(Exception):  # a dead server keeps it: harmless
                fs.rm_file(temp)
            raise


def _rename(fs: Any, src: str, dst: str) -> None:
    """Rename on the server, replacing ``dst`` (the same bytes, if a concurrent push of the
    object got there first). webdav4's ``mv`` of a file is a COPY and a DELETE, the object
    sent a second time and not atomic; its client's MOVE is one rename. sshfs' is SFTP's
    posix-rename."""
    move = getattr(getattr(fs, "client", None), "move", None)
    if callable(move):
        move(src, dst, overwrite=True)
    else:
        fs.mv(src, dst)


def is_local(fs: Any) -> bool:
    """Whether ``fs`` is the local file system."""
    protocol = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    return "file" in protocol or "local" in protocol
