"""Progress display: an fsspec-style callback drawing one tqdm bar, used only by the CLI.

The library takes any object with ``set_size(n)`` and ``relative_update(n)`` (fsspec's
``Callback`` protocol) and defaults to doing nothing; tqdm is imported only here, only
when a bar is really shown.
"""

from __future__ import annotations

import sys
import threading
from typing import Any


class BarCallback:
    """A thread-safe byte counter drawn as one tqdm bar on stderr."""

    def __init__(self, description: str) -> None:
        from tqdm import tqdm

        self._lock = threading.Lock()
        self._files_total = 0
        self._files_done = 0
        self._bar: Any = tqdm(desc=description, unit="B", unit_scale=True, unit_divisor=1024,
                              file=sys.stderr, leave=False, dynamic_ncols=True)

    def set_size(self, size: int | None) -> None:
        """Total bytes expected (None when unknown)."""
        with self._lock:
            self._bar.total = size
            self._bar.refresh()

    def relative_update(self, inc: int = 1) -> None:
        """Count ``inc`` more bytes."""
        with self._lock:
            self._bar.update(inc)

    def set_files(self, total: int) -> None:
        """How many files the transfer moves (shown beside the bytes)."""
        with self._lock:
            self._files_total = total
            self._files_done = 0
            self._bar.set_postfix_str(f"0/{total} files")

    def file_done(self) -> None:
        """One more file finished."""
        with self._lock:
            self._files_done += 1
            self._bar.set_postfix_str(f"{self._files_done}/{self._files_total} files")

    def close(self) -> None:
        """Remove the bar."""
        with self._lock:
            self._bar.close()


def bar_or_none(description: str, *, quiet: bool) -> BarCallback | None:
    """A bar when stderr is a terminal and not ``quiet``; None (no progress) otherwise."""
    if quiet or not sys.stderr.isatty():
        return None
    return BarCallback(description)
