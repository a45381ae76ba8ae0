"""``.gitignore`` edits, in one place: binaries that pointers track, and ``.zoo/config.local``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from zoo_vcs.storage.fileio import atomic_write_bytes


def ensure_lines(gitignore: Path, lines: Iterable[str]) -> bool:
    """Append the ``lines`` missing from ``gitignore`` (created if absent); True if written."""
    try:
        text = gitignore.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    present = set(text.splitlines())
    missing = [line for line in dict.fromkeys(lines) if line not in present]
    if not missing:
        return False
    if text and not text.endswith("\n"):
        text += "\n"
    atomic_write_bytes(gitignore, (text + "\n".join(missing) + "\n").encode("utf-8"))
    return True


def ignore_files(files: Sequence[Path]) -> list[Path]:
    """Make sure each file is ignored by the ``.gitignore`` of its own folder (one write per
    folder); returns those ``.gitignore`` files."""
    by_folder: dict[Path, list[str]] = {}
    for full in files:
        by_folder.setdefault(full.parent, []).append("/" + escape(full.name))
    for folder, lines in by_folder.items():
        ensure_lines(folder / ".gitignore", lines)
    return [folder / ".gitignore" for folder in by_folder]


def escape(name: str) -> str:
    """A file name as a literal ``.gitignore`` pattern.

    >>> escape("a*b #1.caffemodel ")
    'a\\\\*b \\\\#1.caffemodel\\\\ '
    """
    out = name.replace("\\", "\\\\")
    for ch in "*?[!#":
        out = out.replace(ch, "\\" + ch)
    if out.endswith(" "):
        out = out[:-1] + "\\ "
    return out
