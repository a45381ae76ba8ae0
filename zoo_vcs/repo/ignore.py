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
    new = with_lines(text, lines)
    if new == text:
        return False
    atomic_write_bytes(gitignore, new.encode("utf-8"))
    return True


def with_lines(text: str, lines: Iterable[str]) -> str:
    """``.gitignore`` text with the missing ``lines`` appended (pure; a rewritten commit's
    ``.gitignore`` gets the same lines as the workspace's).

    >>> with_lines("*.log", ["/w.caffemodel", "*.log"])
    '*.log\\n/w.caffemodel\\n'
    """
    present = set(text.splitlines())
    missing = [line for line in dict.fromkeys(lines) if line not in present]
    if not missing:
        return text
    if text and not text.endswith("\n"):
        text += "\n"
    return text + "\n".join(missing) + "\n"


def ignore_files(files: Sequence[Path]) -> list[Path]:
    """Make sure each file is ignored by the ``.gitignore`` of its own folder (one write per
    folder); returns those ``.gitignore`` files."""
    by_folder: dict[Path, list[str]] = {}
    for full in files:
        by_folder.setdefault(full.parent, []).append(line_for(full.name))
    for folder, lines in by_folder.items():
        ensure_lines(folder / ".gitignore", lines)
    return [folder / ".gitignore" for folder in by_folder]


def line_for(name: str) -> str:
    """The ``.gitignore`` line that ignores file ``name`` of the same folder, and only it.

    >>> line_for("w*.caffemodel")
    '/w\\\\*.caffemodel'
    """
    return "/" + escape(name)


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
