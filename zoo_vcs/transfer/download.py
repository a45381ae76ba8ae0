"""Download one URL into a partial file: stream while hashing, resume, retry, time out."""

from __future__ import annotations

import contextlib
import logging
import os
import random
from typing import BinaryIO

from fsspec.callbacks import DEFAULT_CALLBACK, Callback

from zoo_vcs.errors import IntegrityError, TransferError, WebPageError, ZooError
from zoo_vcs.formats import urls as urlmod
from zoo_vcs.storage.directio import DirectWriter, direct_writes_help
from zoo_vcs.storage.hashing import CHUNK_SIZE, Digests, StreamHasher

from .common import (
    MAX_RETRY_AFTER,
    RestartDownload,
    TransferOptions,
)
from .http import declared_size, http_filesystem, stream_http, translate_http
from .store import (
    filesystem,
    remote_size,
    stream_store,
    translate_store,
)

__all__ = ["download", "probe", "read_small"]

log = logging.getLogger(__name__)


def download(url: str, part: BinaryIO, *, sha1: str | None, size: int | None,
             opts: TransferOptions, callback: Callback = DEFAULT_CALLBACK,
             path_for_errors: str | None = None, sha256: str | None = None,
             tee: BinaryIO | None = None) -> Digests:
    """Complete ``part`` (an append-mode file, possibly holding a prefix) from ``url``.

    Bytes already in ``part`` are kept and the rest is requested with HTTP Range (or a
    seek); transient failures are retried with backoff, resuming where they stopped.
    ``tee`` (a checkout's temp file in the workspace) ends up holding the same bytes as
    ``part``, written alongside it, so that no copy follows the download.

    ``sha1`` None accepts whatever bytes the source serves (an unverified legacy entry:
    the caller reports the SHA1 it got).

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
        direct: DirectWriter | None = None
        try:
            offset = _rehash_prefix(part, hasher, size, tee)
            resumed_from = offset
            if tee is None:
                hasher.set_sinks(part)
            else:
                # Two copies: the workspace's goes through the page cache (it is about to
                # be loaded), the cache's around it where the disk allows.
                direct = DirectWriter(part) if direct_writes_help(part) else None
                hasher.set_sinks(direct or part, tee)
            _stream_with_retries(source, part, hasher, offset, size, opts, callback)
            digests = hasher.finish()
        except RestartDownload:
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
        finally:  # the stage threads are done (finish or close): the file gets its flags back
            if direct is not None:
                direct.close()
        if (sha1 is None or digests.sha1 == sha1) and (size is None or digests.size == size) \
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
        raise IntegrityError(name, expected=sha1 or "?", actual=digests.sha1,
                             url=urlmod.redact(url), size=digests.size)


def _truncate(part: BinaryIO) -> None:
    part.flush()
    part.truncate(0)
    part.seek(0)


def _rehash_prefix(part: BinaryIO, hasher: StreamHasher, size: int | None,
                   tee: BinaryIO | None) -> int:
    """Feed the bytes already downloaded (by an earlier attempt or process) to ``hasher``,
    and make ``tee`` hold them too."""
    if tee is not None:
        tee.seek(0)
        tee.truncate()
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
            if tee is not None:
                tee.write(chunk)
            remaining -= len(chunk)
    part.seek(0, os.SEEK_END)
    return have


def _stream_with_retries(url: str, part: BinaryIO, hasher: StreamHasher, offset: int,
                         size: int | None, opts: TransferOptions, callback: Callback) -> None:
    attempt = 0
    while True:
        try:
            if urlmod.is_http(url):
                stream_http(url, part, hasher, size, opts, callback)
            else:
                stream_store(url, part, hasher, opts, callback, size)
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
            fs, path, kwargs = http_filesystem(source, opts), source, {"block_size": 0}
        else:
            (fs, path), kwargs = filesystem(source, opts), {}
        with fs.open(path, "rb", **kwargs) as f:
            data = bytes(f.read(limit + 1))
    except ZooError:
        raise
    except Exception as exc:
        raise (translate_http(exc, source, opts.timeout) if urlmod.is_http(source)
               else translate_store(exc, source)) from None
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
    fs = http_filesystem(source, opts)
    try:
        session = sync(fs.loop, fs.set_session)
        f = HTTPStreamFile(fs, source, loop=fs.loop, session=session,
                           headers={"Range": "bytes=0-511"})
    except BaseException as exc:
        raise translate_http(exc, source, opts.timeout) from None
    try:
        headers = f.r.headers
        size = declared_size(f.r.status, headers)
        try:
            head = f.read(512)
        except BaseException as exc:
            raise translate_http(exc, source, opts.timeout) from None
        return size, urlmod.looks_like_html(head, headers.get("Content-Type"))
    finally:
        with contextlib.suppress(Exception):
            f.close()
