"""HTTP(S) through fsspec's aiohttp filesystem: ranged streaming that resumes, web-page
and size checks on the first bytes, and aiohttp's exceptions as ``TransferError``."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import re
from typing import Any, BinaryIO

import fsspec
from fsspec.callbacks import Callback

from zoo_vcs.errors import (
    IntegrityError,
    TimeoutTransferError,
    TransferError,
    WebPageError,
    ZooError,
)
from zoo_vcs.formats import urls as urlmod
from zoo_vcs.storage.hashing import StreamHasher

from .common import (
    NET_CHUNK,
    TRANSIENT_STATUS,
    RestartDownload,
    TransferOptions,
    parse_retry_after,
    reason,
    require_network,
    write_chunk,
)

log = logging.getLogger(__name__)


_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


def http_filesystem(url: str, opts: TransferOptions) -> Any:
    """fsspec's HTTP filesystem for ``url``, with ``opts.timeout`` as the no-progress limit.

    Raises
    ------
    OfflineError
        ``opts.offline``.
    """
    import aiohttp

    require_network(url, opts)
    timeout = opts.timeout
    # sock_read is exactly "no progress for `timeout` seconds"; a large read buffer keeps
    # the per-read hand-off between fsspec's event loop and this thread cheap.
    return fsspec.filesystem(
        "https",
        client_kwargs={
            "timeout": aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout),
            "read_bufsize": 1 << 20,
        },
    )


def stream_http(url: str, part: BinaryIO, hasher: StreamHasher, size: int | None,
                 opts: TransferOptions, callback: Callback) -> None:
    """Append the rest of ``url`` (from ``hasher.size`` on, with Range) to ``part``."""
    from fsspec.asyn import sync
    from fsspec.implementations.http import HTTPStreamFile

    offset = hasher.size
    if size is not None and offset >= size:
        return
    fs = http_filesystem(url, opts)
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        session = sync(fs.loop, fs.set_session)
        f = HTTPStreamFile(fs, url, loop=fs.loop, session=session, headers=headers)
    except BaseException as exc:
        if _status_of(exc) == 416 and offset:
            raise RestartDownload from None
        raise translate_http(exc, url, opts.timeout) from None
    try:
        status = f.r.status
        if offset and status == 200:
            log.info("%s ignores Range; downloading again from the start", urlmod.redact(url))
            raise RestartDownload
        if offset and status == 206:
            m = _CONTENT_RANGE.match(f.r.headers.get("Content-Range", ""))
            if not m or int(m.group(1)) != offset:
                raise RestartDownload
        total = declared_size(status, f.r.headers)
        # The server says how big its file is: no retry can make another size the object.
        # (Checked after the first bytes, so that a web page is reported as one.)
        wrong_size = size is not None and total is not None and total != size
        first = True
        while True:
            try:
                chunk = f.read(NET_CHUNK)
            except BaseException as exc:
                raise translate_http(exc, url, opts.timeout) from None
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
            write_chunk(hasher, chunk, size, url, callback)
        if size is not None and hasher.size < size:
            raise TransferError(urlmod.redact(url),
                                f"connection closed after {hasher.size} of {size} bytes",
                                transient=True)
    finally:
        with contextlib.suppress(Exception):  # closing a broken stream must not mask its error
            f.close()


def declared_size(status: int, headers: Any) -> int | None:
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


def translate_http(exc: BaseException, url: str, timeout: float) -> BaseException:
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
        transient = exc.status in TRANSIENT_STATUS
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
        return TransferError(shown, f"connection broken: {reason(exc)}", transient=True)
    if isinstance(exc, aiohttp.ClientError):
        return TransferError(shown, reason(exc), transient=True)
    if isinstance(exc, ValueError | OSError):
        return TransferError(shown, reason(exc))
    return exc
