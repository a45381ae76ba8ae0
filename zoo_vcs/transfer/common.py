"""What every transfer shares: its options, the progress hand-off, writing a chunk while
hashing it, and reading a server's ``Retry-After``."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fsspec.callbacks import Callback

from zoo_vcs.errors import IntegrityError, OfflineError, SizeMismatchError
from zoo_vcs.formats import urls as urlmod
from zoo_vcs.storage.hashing import StreamHasher

from .progress import Progress

TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}


#: Never wait longer than this for a server's Retry-After.
MAX_RETRY_AFTER = 120.0


#: Objects up to this size are fetched from object stores in one request, into memory.
SMALL_OBJECT = 8 << 20


#: Network read size: reads return what has arrived (up to this), so larger buys nothing
#: but a higher peak memory.
NET_CHUNK = 1 << 20
#: Network buffers in flight per download (read, hashed, written): bounds its memory.
NET_BUFFERS = 3


@dataclass(frozen=True)


class TransferOptions:
    """How hard to try: per-transfer no-progress timeout, retries and the (injectable) clock."""

    timeout: float = 60.0
    retries: int = 4
    backoff: float = 0.5
    sleep: Callable[[float], None] = time.sleep
    #: fsspec storage options for a URL (a remote's endpoint_url, profile...).
    options_for: Callable[[str], dict[str, Any]] = field(default=lambda url: {})
    #: No network at all: only local paths and ``file://`` URLs may be read or written.
    offline: bool = False


def require_network(url: str, opts: TransferOptions) -> None:
    """The one offline gate: raise :class:`OfflineError` when ``url`` needs the network and
    ``opts`` says there is none. Every store is opened through a function that calls it.
    """
    if opts.offline and urlmod.is_remote(url):
        raise OfflineError(urlmod.redact(url))


class ForwardingCallback(Callback):  # type: ignore[misc]
    """An fsspec callback forwarding byte counts to a :class:`~.progress.Progress`, but not
    per-file sizes.

    fsspec's ``put_file`` sets the size of whatever callback it is given; one bar for a
    whole multi-file transfer needs that call swallowed.
    """

    def __init__(self, target: Progress) -> None:
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


class RestartDownload(Exception):
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


def write_chunk(hasher: StreamHasher, chunk: bytes | memoryview, size: int | None, url: str,
                callback: Callback) -> None:
    """Hash and write one chunk in the background (the hasher's sinks: the partial file, a
    workspace copy) and count it; more bytes than ``size`` is an error."""
    if size is not None and hasher.size + len(chunk) > size:
        raise too_many_bytes(url, size)
    hasher.update(chunk)  # hashes and writes on worker threads while we read on
    callback.relative_update(len(chunk))


def too_many_bytes(url: str, size: int) -> IntegrityError:
    """A source sent more than the object's ``size`` bytes: not the object."""
    return IntegrityError(urlmod.redact(url), expected=f"{size} bytes", actual="more bytes",
                          url=urlmod.redact(url), algorithm="size")


def size_mismatch(url: str, *, expected: int, found: int | None, sha1: str,
                  uploaded: bool = False) -> SizeMismatchError:
    """The one size rule's error: a store holds ``found`` bytes for an object of ``expected``.

    >>> str(size_mismatch("s3://b/sha1/ab/cd", expected=3, found=2, sha1="ab" * 20))
    's3://b/sha1/ab/cd: the remote holds 2 bytes for abababababab, expected 3 bytes; left untouched'
    """
    return SizeMismatchError(urlmod.redact(url), sha1=sha1, expected=expected, found=found,
                             uploaded=uploaded)


def reason(exc: BaseException) -> str:
    """The first line of an exception's message (its type name when it has none)."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
