"""The typed progress protocol every transfer reports through, and its no-op default.

Bytes are counted with ``set_size``/``relative_update`` (fsspec's ``Callback`` protocol,
so an fsspec callback fits); files with ``set_files``/``file_done``. The library never
draws anything: the CLI passes a tqdm-backed implementation.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """What a transfer tells about its progress (all methods may be called from workers)."""

    def set_size(self, size: int | None) -> None:
        """Total bytes expected (None when unknown)."""

    def relative_update(self, inc: int = 1) -> None:
        """``inc`` more bytes moved."""

    def set_files(self, count: int) -> None:
        """How many files (objects) the transfer moves."""

    def file_done(self) -> None:
        """One more file finished (moved, or failed)."""


class NoProgress:
    """The default: report nothing."""

    def set_size(self, size: int | None) -> None:
        """Ignored."""

    def relative_update(self, inc: int = 1) -> None:
        """Ignored."""

    def set_files(self, count: int) -> None:
        """Ignored."""

    def file_done(self) -> None:
        """Ignored."""


NO_PROGRESS: Progress = NoProgress()
