"""Pure records of what a readme says: :class:`Readme`, its :class:`Model` entries and the
:class:`Problem` found, and the :class:`Analysis` (with lenient :class:`Block` entries) that
:mod:`~zoo_vcs.formats.frontmatter` shares with :mod:`~zoo_vcs.formats.frontmatter_edit`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Problem:
    """Something in a readme that could not be understood or looks wrong."""

    line: int | None
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line is not None else self.message


@dataclass(frozen=True)
class Model:
    """One model described by a readme.

    Attributes
    ----------
    name, caffemodel, caffemodel_url, license : str or None
        The Model Zoo keys; None when absent or empty. ``name`` falls back to the markdown
        heading above a lenient block that has no ``name`` key.
    sha1 : str or None
        As written, stripped and lowercased; whether it is 40 hex digits is in ``problems``.
    caffe_commit : str or None
        ``caffe_commit``, else ``caffe_version`` / ``caffe version`` (free text is fine).
    extra : dict
        Every other key of this model in source order (``mean_file_proto``, ...).
    line : int
        1-based line where the model's block starts.
    """

    name: str | None
    caffemodel: str | None
    caffemodel_url: str | None
    sha1: str | None
    caffe_commit: str | None
    license: str | None
    extra: dict[str, object]
    line: int


@dataclass(frozen=True)
class Readme:
    """What :func:`~zoo_vcs.formats.frontmatter.parse` read from a readme.

    Attributes
    ----------
    form : {"frontmatter", "lenient", "none"}
        A ``---`` block that is a YAML mapping; ``key: value`` lines read without YAML; nothing.
    fields : dict
        Strict form: the whole mapping as loaded (known keys as the text written). Lenient:
        ``gist_id``, plus every key when the readme describes exactly one model.
    models : tuple of Model
    gist_id : str or None
        Document level, wherever it appears; empty means None.
    problems : tuple of Problem
        Everything not understood or that looks wrong, by line.
    """

    form: Literal["frontmatter", "lenient", "none"]
    fields: dict[str, object]
    models: tuple[Model, ...]
    gist_id: str | None
    problems: tuple[Problem, ...]


@dataclass
class Block:
    """A lenient model under construction: (key, value, 0-based line) in source order."""

    entries: list[tuple[str, str | None, int]] = field(default_factory=list)
    heading: tuple[str, int] | None = None

    def keyset(self) -> set[str]:
        return {k for k, _, _ in self.entries}


@dataclass
class Analysis:
    """What :func:`~zoo_vcs.formats.frontmatter.analyse` read and where; shared with the
    editor, which rewrites these lines."""

    readme: Readme
    lines: list[str]
    block: tuple[int, int] | None = None     # opening/closing line of a valid '---' block
    blocks: list[Block] = field(default_factory=list)  # lenient models, aligned with readme.models
    gist_line: int | None = None
