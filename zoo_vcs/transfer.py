"""The only fsspec user: stream a URL into a partial file while hashing, resume, retry, time out.

Every protocol goes through fsspec (``http(s)://`` through its aiohttp filesystem,
``file://`` and plain paths, ``s3://`` and the rest through ``url_to_fs``). fsspec's own
``get_file`` writes in place and cannot resume, so this module streams through an
fsspec file object itself, appending to a partial file owned by the cache and hashing
every byte on the way. Backend exceptions are translated into ``TransferError`` here
and nowhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import errno
import json
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import fsspec
from fsspec.callbacks import DEFAULT_CALLBACK, Callback

from . import urls as urlmod
from .errors import (
    ConfigError,
    IntegrityError,
    TimeoutTransferError,
    TransferError,
    WebPageError,
    ZooError,
)
from .fileio import place
from .hashing import CHUNK_SIZE, Digests, StreamHasher

log = logging.getLogger(__name__)

_TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
#: Never wait longer than this for a server's Retry-After.
MAX_RETRY_AFTER = 120.0
#: The do-nothing progress callback (what callers pass when nobody watches).
NO_PROGRESS: Callback = DEFAULT_CALLBACK
#: Exception names (from aiohttp/botocore, not imported here) that mean a broken stream.
_BROKEN_STREAM = frozenset({"ClientPayloadError", "ServerDisconnectedError", "ClientOSError",
                            "ReadTimeoutError", "ResponseStreamingError",
                            "IncompleteReadError"})
#: Objects up to this size are fetched from object stores in one request, into memory.
SMALL_OBJECT = 8 << 20
#: Network read size: reads return what has arrived (up to this), so larger buys nothing
#: but a higher peak memory.
NET_CHUNK = 1 << 20


@dataclass(frozen=True)
class TransferOptions:
    """How hard to try: per-transfer no-progress timeout, retries and the (injectable) clock."""

    timeout: float = 60.0
    retries: int = 4
    backoff: float = 0.5
    sleep: Callable[[float], None] = time.sleep
    #: fsspec storage options for a URL (a remote's endpoint_url, profile...).
    options_for: Callable[[str], dict[str, Any]] = field(default=lambda url: {})


class ForwardingCallback(Callback):  # type: ignore[misc]
    """Forwards byte counts to an aggregate callback but not per-file sizes.

    fsspec's ``put_file`` sets the size of whatever callback it is given; one bar for a
    whole multi-file transfer needs that call swallowed.
    """

    def __init__(self, target: Any) -> None:
        super().__init__()
        self._target = target

    def set_size(self, size: int | None) -> None:
        """Ignored: the aggregate's total is set once by the caller."""

    def relative_update(self, inc: int = 1) -> None:
        """Count ``inc`` bytes."""
        self.value += inc
        self._target.relative_update(inc)

    def absolute_update(self, value: int) -> None:
        """Count up to ``value`` bytes."""
        self.relative_update(value - self.value)


class _Restart(Exception):
    """The partial data cannot be resumed from; start again at byte 0."""


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date).

    >>> parse_retry_after("3")
    3.0
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0)
    10.0
    >>> parse_retry_after("soon") is None
    True
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def download(url: str, part: BinaryIO, *, sha1: str, size: int | None,
             opts: TransferOptions, callback: Callback = DEFAULT_CALLBACK,
             path_for_errors: str | None = None, sha256: str | None = None) -> Digests:
    """Complete ``part`` (an append-mode file, possibly holding a prefix) from ``url``.

    Bytes already in ``part`` are kept and the rest is requested with HTTP Range (or a
    seek); transient failures are retried with backoff, resuming where they stopped.

    Returns
    -------
    Digests
        Of the whole file, which has been checked against ``sha1`` and ``size``.

    Raises
    ------
    TransferError
        The source failed (with a reason; ``WebPageError`` for an HTML page,
        ``TimeoutTransferError`` for no progress).
    IntegrityError
        The source's bytes are not the object.
    """
    name = path_for_errors or url
    source = urlmod.normalize(url)
    restarted = False
    restarts = 0
    while True:
        hasher = StreamHasher(sha256=sha256 is not None)
        try:
            offset = _rehash_prefix(part, hasher, size)
            resumed_from = offset
            _stream_with_retries(source, part, hasher, offset, size, opts, callback)
            digests = hasher.finish()
        except _Restart:
            hasher.close()
            _truncate(part)
            restarts += 1
            if restarts > 2:  # a server that cannot resume at all must not loop us forever
                raise TransferError(urlmod.redact(url), "the download cannot be resumed (the "
                                    "server answers Range requests inconsistently)") from None
            continue
        except BaseException:
            hasher.close()
            raise
        if digests.sha1 == sha1 and (size is None or digests.size == size) \
                and (sha256 is None or digests.sha256 == sha256):
            return digests
        _truncate(part)
        if resumed_from and not restarted:
            # The kept prefix may come from another source: try once more from byte 0.
            restarted = True
            continue
        if size is not None and digests.size != size:
            raise IntegrityError(name, expected=f"{size} bytes", actual=f"{digests.size} bytes",
                                 url=urlmod.redact(url), algorithm="size")
        if digests.sha1 == sha1 and sha256 is not None:
            raise IntegrityError(name, expected=sha256, actual=digests.sha256 or "?",
                                 url=urlmod.redact(url), size=digests.size, algorithm="sha256")
        raise IntegrityError(name, expected=sha1, actual=digests.sha1, url=urlmod.redact(url),
                             size=digests.size)


def _truncate(part: BinaryIO) -> None:
    part.flush()
    part.truncate(0)
    part.seek(0)


def _rehash_prefix(part: BinaryIO, hasher: StreamHasher, size: int | None) -> int:
    """Feed the bytes already downloaded (by an earlier attempt or process) to ``hasher``."""
    part.flush()
    have = os.fstat(part.fileno()).st_size
    if size is not None and have > size:
        _truncate(part)
        return 0
    if not have:
        return 0
    with open(part.fileno(), "rb", closefd=False) as f:
        f.seek(0)
        remaining = have
        while remaining:
            chunk = f.read(min(CHUNK_SIZE, remaining))
            if not chunk:
                break
            hasher.update(chunk)
            remaining -= len(chunk)
    part.seek(0, os.SEEK_END)
    return have


def _stream_with_retries(url: str, part: BinaryIO, hasher: StreamHasher, offset: int,
                         size: int | None, opts: TransferOptions, callback: Callback) -> None:
    attempt = 0
    while True:
        try:
            if urlmod.is_http(url):
                _stream_http(url, part, hasher, size, opts, callback)
            else:
                _stream_fsspec(url, part, hasher, opts, callback, size)
            return
        except TransferError as exc:
            if not exc.transient or attempt >= opts.retries:
                raise
            delay = exc.retry_after
            if delay is None:
                delay = opts.backoff * (2 ** attempt) * (0.5 + random.random())
            if delay > MAX_RETRY_AFTER:
                raise
            attempt += 1
            log.info("%s: %s; retry %d/%d in %.1fs", urlmod.redact(url), exc, attempt,
                     opts.retries, delay)
            opts.sleep(delay)


def _write(part: BinaryIO, hasher: StreamHasher, chunk: bytes | memoryview, size: int | None,
           url: str, callback: Callback) -> None:
    if size is not None and hasher.size + len(chunk) > size:
        raise IntegrityError(url, expected=f"{size} bytes", actual="more bytes",
                             url=urlmod.redact(url), algorithm="size")
    hasher.update(chunk)  # hashes in the background while we write and read on
    part.write(chunk)
    callback.relative_update(len(chunk))


# -- HTTP ------------------------------------------------------------------------------

def _http_fs(timeout: float) -> Any:
    import aiohttp

    # sock_read is exactly "no progress for `timeout` seconds"; a large read buffer keeps
    # the per-read hand-off between fsspec's event loop and this thread cheap.
    return fsspec.filesystem(
        "https",
        client_kwargs={
            "timeout": aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout),
            "read_bufsize": 1 << 20,
        },
    )


def _stream_http(url: str, part: BinaryIO, hasher: StreamHasher, size: int | None,
                 opts: TransferOptions, callback: Callback) -> None:
    from fsspec.asyn import sync
    from fsspec.implementations.http import HTTPStreamFile

    offset = hasher.size
    if size is not None and offset >= size:
        return
    fs = _http_fs(opts.timeout)
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        session = sync(fs.loop, fs.set_session)
        f = HTTPStreamFile(fs, url, loop=fs.loop, session=session, headers=headers)
    except BaseException as exc:
        if _status_of(exc) == 416 and offset:
            raise _Restart from None
        raise _translate(exc, url, opts.timeout) from None
    try:
        status = f.r.status
        if offset and status == 200:
            log.info("%s ignores Range; downloading again from the start", urlmod.redact(url))
            raise _Restart
        if offset and status == 206:
            m = _CONTENT_RANGE.match(f.r.headers.get("Content-Range", ""))
            if not m or int(m.group(1)) != offset:
                raise _Restart
        total = _declared_size(status, f.r.headers)
        # The server says how big its file is: no retry can make another size the object.
        # (Checked after the first bytes, so that a web page is reported as one.)
        wrong_size = size is not None and total is not None and total != size
        first = True
        while True:
            try:
                chunk = f.read(NET_CHUNK)
            except BaseException as exc:
                raise _translate(exc, url, opts.timeout) from None
            if first:
                if offset == 0 and chunk and urlmod.looks_like_html(
                        chunk, f.r.headers.get("Content-Type")):
                    raise WebPageError(urlmod.redact(url))
                if wrong_size:
                    raise IntegrityError(urlmod.redact(url), expected=f"{size} bytes",
                                         actual=f"{total} bytes", url=urlmod.redact(url),
                                         algorithm="size")
                first = False
            if not chunk:
                break
            _write(part, hasher, chunk, size, url, callback)
        if size is not None and hasher.size < size:
            raise TransferError(urlmod.redact(url),
                                f"connection closed after {hasher.size} of {size} bytes",
                                transient=True)
    finally:
        with contextlib.suppress(Exception):  # closing a broken stream must not mask its error
            f.close()


def read_small(url: str, *, limit: int, opts: TransferOptions) -> bytes:
    """The whole content of a small text file (a readme) at ``url``, at most ``limit`` bytes.

    Raises
    ------
    TransferError
        Unreachable, too large, not UTF-8, or a web page.
    """
    source = urlmod.normalize(url)
    try:
        if urlmod.is_http(source):
            fs, path, kwargs = _http_fs(opts.timeout), source, {"block_size": 0}
        else:
            (fs, path), kwargs = _filesystem(source, opts), {}
        with fs.open(path, "rb", **kwargs) as f:
            data = bytes(f.read(limit + 1))
    except ZooError:
        raise
    except Exception as exc:
        raise (_translate(exc, source, opts.timeout) if urlmod.is_http(source)
               else _translate_fs(exc, source)) from None
    if len(data) > limit:
        raise TransferError(urlmod.redact(url), f"larger than {limit} bytes: not a readme")
    if urlmod.looks_like_html(data[:512]):
        raise WebPageError(urlmod.redact(url))
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise TransferError(urlmod.redact(url), "not a UTF-8 readme") from None
    return data


def probe(url: str, opts: TransferOptions) -> tuple[int | None, bool]:
    """Check that ``url`` serves a file: (its size if known, whether it is a web page).

    HTTP(S) gets one small Range request (HEAD is often refused or lies); other
    protocols an ``info`` call.

    Raises
    ------
    TransferError
        Unreachable, not found, or refused.
    """
    from fsspec.asyn import sync
    from fsspec.implementations.http import HTTPStreamFile

    source = urlmod.normalize(url)
    if not urlmod.is_http(source):
        found = remote_size(source, opts)
        if found is None:
            raise TransferError(urlmod.redact(url), "not found")
        return found, False
    fs = _http_fs(opts.timeout)
    try:
        session = sync(fs.loop, fs.set_session)
        f = HTTPStreamFile(fs, source, loop=fs.loop, session=session,
                           headers={"Range": "bytes=0-511"})
    except BaseException as exc:
        raise _translate(exc, source, opts.timeout) from None
    try:
        headers = f.r.headers
        size = _declared_size(f.r.status, headers)
        try:
            head = f.read(512)
        except BaseException as exc:
            raise _translate(exc, source, opts.timeout) from None
        return size, urlmod.looks_like_html(head, headers.get("Content-Type"))
    finally:
        with contextlib.suppress(Exception):
            f.close()


def _declared_size(status: int, headers: Any) -> int | None:
    """The whole file's size as the response states it (Content-Range or Content-Length)."""
    if status == 206:
        m = _CONTENT_RANGE.match(headers.get("Content-Range", ""))
        return int(m.group(3)) if m and m.group(3) != "*" else None
    length = headers.get("Content-Length", "")
    if status == 200 and length.isdigit() and "Content-Encoding" not in headers:
        return int(length)
    return None


def _status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status", None)
    return status if isinstance(status, int) else None


def _translate(exc: BaseException, url: str, timeout: float) -> BaseException:
    """Turn an aiohttp/fsspec/OS exception into a ``TransferError`` (KeyboardInterrupt passes)."""
    import aiohttp

    shown = urlmod.redact(url)
    if isinstance(exc, ZooError) or not isinstance(exc, Exception):
        return exc
    if isinstance(exc, FileNotFoundError):
        return TransferError(shown, "not found (HTTP 404)")
    if isinstance(exc, aiohttp.TooManyRedirects):  # a ClientResponseError: test it first
        return TransferError(shown, "too many redirects (a redirect loop?)")
    if isinstance(exc, aiohttp.ClientResponseError):
        headers: Any = exc.headers or {}
        retry_after = parse_retry_after(headers.get("Retry-After"))
        transient = exc.status in _TRANSIENT_STATUS
        return TransferError(shown, f"HTTP {exc.status} {exc.message or ''}".strip(),
                             transient=transient, retry_after=retry_after)
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return TimeoutTransferError(shown, timeout)
    if isinstance(exc, aiohttp.ClientConnectorError):
        # Refused or unresolvable: the host is down or gone, so fail over to the next
        # source at once rather than retrying; other connect failures may pass.
        errno_ = getattr(exc.os_error, "errno", None)
        permanent = errno_ in (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH) \
            or isinstance(exc, getattr(aiohttp, "ClientConnectorDNSError", ()))
        return TransferError(shown, f"cannot connect: {exc.os_error.strerror or exc}",
                             transient=not permanent)
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ServerDisconnectedError
                  | aiohttp.ClientOSError | ConnectionError):
        return TransferError(shown, f"connection broken: {_reason(exc)}", transient=True)
    if isinstance(exc, aiohttp.ClientError):
        return TransferError(shown, _reason(exc), transient=True)
    if isinstance(exc, ValueError | OSError):
        return TransferError(shown, _reason(exc))
    return exc


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


# -- every other fsspec protocol -------------------------------------------------------

def _filesystem(url: str, opts: TransferOptions) -> tuple[Any, str]:
    options = opts.options_for(url)
    if url.startswith(("s3://", "s3a://")):
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
        options = {**options, "config_kwargs": config}
    try:
        if "::" in url:  # a chained URL (simplecache::s3://...): fsspec works it out
            return _configured(url, options, opts)
        protocol = url.split("://", 1)[0] if "://" in url else "file"
        cls = fsspec.get_filesystem_class(protocol)
        # A many-object transfer asks for the same store thousands of times, and fsspec's
        # own instance lookup tokenises every option each time (0.4 ms for S3's).
        key = (protocol, repr(cls._get_kwargs_from_urls(url)),
               json.dumps(options, sort_keys=True, default=repr))
        with _FILESYSTEMS_LOCK:
            fs = _FILESYSTEMS.get(key)
            if fs is None:
                fs = _FILESYSTEMS[key] = _configured(url, options, opts)[0]
        return fs, cls._strip_protocol(url)
    except ImportError as exc:
        protocol = url.split("://", 1)[0]
        raise ConfigError(f"{protocol}:// needs an extra package: {exc}",
                          hint=f"pip install 'zoo-vcs[{protocol}]'") from None
    except (ValueError, TypeError) as exc:
        raise TransferError(urlmod.redact(url), f"unsupported URL or option: {exc}") from None


_FILESYSTEMS: dict[tuple[str, str, str], Any] = {}
_FILESYSTEMS_LOCK = threading.Lock()


def _configured(url: str, options: dict[str, Any], opts: TransferOptions) -> tuple[Any, str]:
    fs, path = fsspec.core.url_to_fs(url, **options)
    if hasattr(fs, "retries") and url.startswith(("s3://", "s3a://")):
        # s3fs retries reads on its own (5 times, with backoff), outside botocore's
        # limits: our retry policy is the one that applies.
        fs.retries = max(1, opts.retries)
    return fs, path


def _stream_fsspec(url: str, part: BinaryIO, hasher: StreamHasher, opts: TransferOptions,
                   callback: Callback, size: int | None = None) -> None:
    fs, path = _filesystem(url, opts)
    try:
        if size and size <= SMALL_OBJECT and not hasher.size and not _is_local(fs):
            # One ranged GET for a small object. Opening a file, or a cat_file without a
            # range, costs object stores an extra HEAD request (s3fs sizes the object to
            # decide on a parallel download), which doubles a many-file pull. One byte
            # more than expected is asked for, so that a larger object is caught.
            data = memoryview(fs.cat_file(path, start=0, end=size + 1))  # views, no copies
            for i in range(0, len(data), NET_CHUNK):
                _write(part, hasher, data[i:i + NET_CHUNK], size, url, callback)
            return
        with fs.open(path, "rb", block_size=CHUNK_SIZE) as src:
            if hasher.size:
                src.seek(hasher.size)
            while chunk := src.read(CHUNK_SIZE):
                _write(part, hasher, chunk, None, url, callback)
    except ZooError:
        raise
    except Exception as exc:
        raise _translate_fs(exc, url) from None


def _translate_fs(exc: BaseException, url: str) -> BaseException:
    """Storage backend errors (OS, s3fs/botocore) as one clear ``TransferError`` line."""
    shown = urlmod.redact(url)
    name = type(exc).__name__
    text = _reason(exc)
    if isinstance(exc, IsADirectoryError):
        return TransferError(shown, "is a directory, not a file")
    if isinstance(exc, FileNotFoundError):
        if "bucket" in text.lower():
            return TransferError(shown, f"bucket does not exist ({text})")
        return TransferError(shown, "not found")
    if isinstance(exc, PermissionError) or "AccessDenied" in text or "Forbidden" in text:
        return TransferError(shown, f"access denied: {text}")
    if name in ("NoCredentialsError", "PartialCredentialsError") \
            or "Unable to locate credentials" in text:
        return TransferError(shown, "no credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                                    "a profile, or the remote's options")
    if name in ("InvalidAccessKeyId", "SignatureDoesNotMatch") or "InvalidAccessKeyId" in text:
        return TransferError(shown, f"credentials rejected: {text}")
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ClientConnectorError") \
            or "Could not connect" in text:
        return TransferError(shown, f"endpoint unreachable: {text}", transient=True)
    if isinstance(exc, ConnectionError) or name in _BROKEN_STREAM:
        # The connection broke mid-transfer: retried, resuming from the bytes received.
        return TransferError(shown, f"connection broken: {text}", transient=True)
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return TransferError(shown, f"timed out: {text}", transient=True)
    if isinstance(exc, OSError):
        return TransferError(shown, text, transient=exc.errno is None)
    if isinstance(exc, Exception):
        return TransferError(shown, f"{name}: {text}")
    return exc


def remote_size(url: str, opts: TransferOptions) -> int | None:
    """Size of the object at ``url``, or None when there is none."""
    fs, path = _filesystem(url, opts)
    try:
        info = fs.info(path)
    except FileNotFoundError as exc:
        if "bucket" in _reason(exc).lower():
            raise _translate_fs(exc, url) from None
        return None
    except Exception as exc:
        raise _translate_fs(exc, url) from None
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
        fs, path = _filesystem(base, opts)
        found = fs.find(path, detail=True)
    except (ZooError, Exception):  # any failure: fall back to asking per object
        return None
    prefix = path.rstrip("/") + "/"
    return {name[len(prefix):]: int(info.get("size") or 0) for name, info in found.items()
            if name.startswith(prefix) and info.get("type", "file") == "file"}


def upload(src: str, url: str, *, size: int, opts: TransferOptions,
           callback: Callback = DEFAULT_CALLBACK, check: bool = True) -> None:
    """Copy local file ``src`` to ``url``; the object is complete or absent, never partial.

    Local folders get a temp name and a rename; object stores (S3...) publish a key only
    once its upload completed. The size stored is checked afterwards, except where the
    store checks the upload itself (:func:`checked_on_upload`) or ``check`` is False (the
    caller then checks many uploads with :func:`list_sizes`).

    Raises
    ------
    TransferError
        The store refused or failed, or holds a different size afterwards.
    """
    fs, path = _filesystem(url, opts)
    attempt = 0
    while True:
        try:
            _put(fs, src, path, callback)
            break
        except Exception as exc:
            error = _translate_fs(exc, url)
            if not isinstance(error, TransferError) or not error.transient \
                    or attempt >= opts.retries:
                raise error from None
            attempt += 1
            opts.sleep(opts.backoff * (2 ** attempt))
    if _is_local(fs):
        stored: int | None = os.stat(path).st_size  # our own copy: a stat is the check
    elif not check or checked_on_upload(url, opts):
        return  # the store checked it, or the caller checks many uploads with one listing
    else:
        stored = remote_size(url, opts)
    if stored != size:
        raise TransferError(urlmod.redact(url), f"upload check failed: the store holds "
                                                f"{stored} bytes, expected {size}")


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


def _botocore_has(option: str) -> bool:
    """Whether the installed botocore knows a client option (checksum settings: 1.36+)."""
    try:
        from botocore.config import Config
    except ImportError:
        return False
    return option in getattr(Config, "OPTION_DEFAULTS", {})


def _put(fs: Any, src: str, path: str, callback: Callback) -> None:
    if _is_local(fs):
        # A folder remote: a temp name, a kernel copy (a reflink where the file system
        # shares extents) and a rename, so the object is complete or absent; fsspec's
        # put_file would write in place and stat both sides first.
        place(Path(src), Path(path), "copy", mode=0o444)
        callback.relative_update(os.stat(src).st_size)
    else:
        fs.put_file(src, path, callback=callback)


def _is_local(fs: Any) -> bool:
    protocol = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    return "file" in protocol or "local" in protocol
