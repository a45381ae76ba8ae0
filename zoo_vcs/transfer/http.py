"""HTTP(S) through fsspec's aiohttp filesystem: ranged streaming that resumes, web-page
and size checks on the first bytes, and aiohttp's exceptions as ``TransferError``."""

from __future__ import annotations

import asyncio
import errno
import logging
import mmap
import re
import time
from collections.abc import Callable
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
from zoo_vcs.storage.directio import aligned_buffer
from zoo_vcs.storage.hashing import StreamHasher

from .common import (
    NET_BUFFERS,
    NET_CHUNK,
    TRANSIENT_STATUS,
    RestartDownload,
    TransferOptions,
    parse_retry_after,
    reason,
    require_network,
    too_many_bytes,
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
    # sock_read is exactly "no progress for `timeout` seconds". The body is drained into
    # our own buffers as it arrives, so aiohttp's buffer only has to absorb a burst: a
    # small one keeps the peak RSS down.
    return fsspec.filesystem(
        "https",
        client_kwargs={
            "timeout": aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout),
            "read_bufsize": 1 << 18,
        },
    )


def stream_http(url: str, part: BinaryIO, hasher: StreamHasher, size: int | None,
                opts: TransferOptions, callback: Callback) -> None:
    """Append the rest of ``url`` (from ``hasher.size`` on, with Range) to ``part``.

    The response is read on fsspec's event loop into a few reused buffers, each handed to
    the hasher's threads (SHA1, the cache write, the workspace write) as soon as it is
    full: the network, the digests and the writes overlap, and this thread only waits.
    """
    from fsspec.asyn import sync

    offset = hasher.size
    if size is not None and offset >= size:
        return
    fs = http_filesystem(url, opts)
    try:
        last = sync(fs.loop, _pump, fs, url, offset, size, hasher, callback)
    except RestartDownload:
        raise
    except BaseException as exc:
        hasher.check()  # a failed write is the disk's error, not the network's
        if _status_of(exc) == 416 and offset:
            raise RestartDownload from None
        raise translate_http(exc, url, opts.timeout) from None
    hasher.update(last)  # a one-buffer file is hashed right here, without threads
    if size is not None and hasher.size < size:
        raise TransferError(urlmod.redact(url),
                            f"connection closed after {hasher.size} of {size} bytes",
                            transient=True)


#: A slow download's bytes reach the partial file at least this often (seconds), so that
#: an interrupted one resumes from there.
FLUSH_AFTER = 0.25


class _Buffers:
    """At most ``NET_BUFFERS`` page-aligned buffers (so that the cache copy can be written
    from them around the page cache), made on demand and recycled: a stage thread hands
    one back (thread-safely) once the hasher is through with it."""

    def __init__(self, size: int) -> None:
        self._loop = asyncio.get_running_loop()
        self._free: asyncio.Queue[mmap.mmap] = asyncio.Queue()
        self._size = size
        self._made = 0

    async def get(self) -> mmap.mmap:
        if self._free.empty() and self._made < NET_BUFFERS:
            self._made += 1
            return aligned_buffer(self._size)
        return await self._free.get()

    def recycle(self, buffer: mmap.mmap) -> Callable[[], object]:
        return lambda: self._loop.call_soon_threadsafe(self._free.put_nowait, buffer)


async def _pump(fs: Any, url: str, offset: int, size: int | None, hasher: StreamHasher,
                callback: Callback) -> memoryview:
    """Read the response into buffers and submit each full one to ``hasher``; returns the
    last, partly filled buffer (for the caller to feed: so a file of one buffer is hashed
    without starting threads)."""
    session = await fs.set_session()
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    r = await session.get(fs.encode_url(url), headers=headers)
    try:
        if r.status == 404:
            raise FileNotFoundError(url)
        r.raise_for_status()
        if offset and r.status == 200:
            log.info("%s ignores Range; downloading again from the start", urlmod.redact(url))
            raise RestartDownload
        if offset and r.status == 206:
            m = _CONTENT_RANGE.match(r.headers.get("Content-Range", ""))
            if not m or int(m.group(1)) != offset:
                raise RestartDownload
        total = declared_size(r.status, r.headers)
        # The server says how big its file is: no retry can make another size the object.
        # (Checked after the first bytes, so that a web page is reported as one.)
        wrong_size = size is not None and total is not None and total != size
        buffers = _Buffers(NET_CHUNK if size is None else max(1, min(NET_CHUNK, size - offset)))
        buffer = memoryview(await buffers.get())
        filled, sent, started = 0, offset, 0.0
        checked = bool(offset)
        while True:
            try:
                chunk = await r.content.readany()
            except BaseException:
                if checked and filled:  # what did arrive is kept, to resume from
                    hasher.submit(buffer[:filled])
                raise
            if size is not None and sent + filled + len(chunk) > size and not wrong_size:
                raise too_many_bytes(url, size)
            view = memoryview(chunk)
            while view:
                if not filled:
                    started = time.monotonic()
                n = min(len(view), len(buffer) - filled)
                buffer[filled:filled + n] = view[:n]
                view, filled = view[n:], filled + n
                if not checked and (filled >= 512 or filled == len(buffer)):
                    _check_start(url, buffer[:filled], r.headers, wrong_size, size, total)
                    checked = True
                full = filled == len(buffer) and (size is None or sent + filled < size)
                if checked and (full or (not view and time.monotonic() - started > FLUSH_AFTER)):
                    hasher.submit(buffer[:filled], buffers.recycle(buffer.obj))  # type: ignore[arg-type]
                    callback.relative_update(filled)
                    sent += filled
                    buffer, filled = memoryview(await buffers.get()), 0
            if not chunk:
                break
        if not checked:
            _check_start(url, buffer[:filled], r.headers, wrong_size, size, total)
        callback.relative_update(filled)
        return buffer[:filled]
    finally:
        r.release()


def _check_start(url: str, start: memoryview, headers: Any, wrong_size: bool,
                 size: int | None, total: int | None) -> None:
    if start and urlmod.looks_like_html(bytes(start[:512]), headers.get("Content-Type")):
        raise WebPageError(urlmod.redact(url))
    if wrong_size:
        raise IntegrityError(urlmod.redact(url), expected=f"{size} bytes",
                             actual=f"{total} bytes", url=urlmod.redact(url), algorithm="size")


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
