"""Keep a readme's ``caffemodel``/``caffemodel_url``/``sha1`` in step with a binary's pointer
(SPEC 2.2): the rule ``add`` applies in the workspace and ``migrate`` in rewritten commits.

Where readmes are found, read and rewritten is a :class:`ReadmeSource`: the workspace
(:data:`WORKSPACE`) or, for ``migrate --rewrite-history``, one commit's tree.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from zoo_vcs.errors import PathError, UnsafeReadmeError, ZooError
from zoo_vcs.formats import pointer as ptr
from zoo_vcs.formats.urls import is_http
from zoo_vcs.repo import modeldir
from zoo_vcs.repo.paths import confine

if TYPE_CHECKING:
    from zoo_vcs.formats.frontmatter import Model, Readme

log = logging.getLogger(__name__)


class ReadmeSource(Protocol):
    """Finds, parses and minimally rewrites readmes somewhere (a folder tree, a commit)."""

    def find(self, folder: Path) -> Path | None:
        """The folder's readme, or None."""

    def load(self, readme: Path) -> Readme:
        """The parsed readme; raises ``ZooError`` when it cannot be read."""

    def update(self, readme: Path, updates: Mapping[str, str | None], model: int,
               canonical: bool) -> None:
        """Set frontmatter keys of model ``model`` by a minimal edit (``canonical``: see
        :func:`zoo_vcs.repo.modeldir.edit`)."""


class _Workspace:
    """Readmes on disk, through :mod:`zoo_vcs.repo.modeldir` (their only reader and writer)."""

    def find(self, folder: Path) -> Path | None:
        return modeldir.find_readme(folder)

    def load(self, readme: Path) -> Readme:
        return modeldir.load(readme)

    def update(self, readme: Path, updates: Mapping[str, str | None], model: int,
               canonical: bool) -> None:
        modeldir.update(readme, updates, model=model, canonical=canonical)


WORKSPACE: ReadmeSource = _Workspace()


class Readmes:
    """Readmes found and parsed once per folder for a whole command (``add`` may name
    thousands of files in one folder); a readme rewritten by a sync is parsed again.

    Parameters
    ----------
    root
        The repository root: readmes are looked for from a binary's folder up to here.
    source
        Where the readmes live (default: the workspace).
    quiet
        No warning for a readme that cannot be read.
    """

    def __init__(self, root: Path, source: ReadmeSource = WORKSPACE, *,
                 quiet: bool = False) -> None:
        self.root = root
        self.source = source
        self.quiet = quiet
        self._found: dict[Path, Path | None] = {}
        self._parsed: dict[Path, Readme | None] = {}

    def candidates(self, full: Path) -> Iterator[Path]:
        """Readmes of ``full``'s folder and of each folder above it, up to the root."""
        for folder in (full.parent, *full.parent.parents):
            if folder not in self._found:
                self._found[folder] = self.source.find(folder)
            readme = self._found[folder]
            if readme is not None:
                yield readme
            if folder == self.root:
                return

    def check(self, files: Sequence[Path]) -> None:
        """Raise :class:`UnsafeReadmeError` for a readme the files would sync into that must
        not be read (a tag, an alias bomb, conflict markers), before anything is stored."""
        for f in files:
            for readme in self.candidates(f):
                self.load(readme)

    def load(self, readme: Path) -> Readme | None:
        """The parsed readme; None (and a warning) when it cannot be read.

        Raises
        ------
        UnsafeReadmeError
            The readme is an attack or a broken merge: never read past.
        """
        if readme not in self._parsed:
            try:
                self._parsed[readme] = self.source.load(readme)
            except UnsafeReadmeError:
                raise
            except ZooError as exc:
                if not self.quiet:
                    log.warning("%s", exc)
                self._parsed[readme] = None
        return self._parsed[readme]

    def sync(self, full: Path, sha1: str, pointer: ptr.Pointer, *, tracked: str | None = None,
             notes: list[str] | None = None) -> tuple[Path, ptr.Pointer] | None:
        """Keep the readme naming ``full`` in step with its new content ``sha1``.

        ``tracked`` is the SHA1 its pointer named before; ``notes`` collects what a user
        should be told (a readme rewritten into a ``---`` block, a URL dropped).

        Returns
        -------
        tuple or None
            The readme and the pointer (which gains the readme's URL when that URL serves
            these very bytes); None when no readme names ``full``.
        """
        said = notes if notes is not None else []
        for readme_path in self.candidates(full):
            readme = self.load(readme_path)
            match = _matching_model(readme_path, readme, full)
            if match is not None and readme is not None:
                self._parsed.pop(readme_path, None)
                if readme.form == "lenient" and len(readme.models) == 1:
                    said.append(f"{readme_path}: its Model Zoo keys now form a '---' block at "
                                "the top (Caffe's download_model_binary.py reads only that)")
                return self._apply(readme_path, match[0], match[1], full, sha1, pointer,
                                   said, tracked)
        return None

    def _apply(self, readme_path: Path, index: int, model: Model | None, full: Path, sha1: str,
               pointer: ptr.Pointer, notes: list[str], tracked: str | None
               ) -> tuple[Path, ptr.Pointer]:
        updates: dict[str, str | None] = {}
        if model is None or not model.caffemodel:
            updates["caffemodel"] = full.relative_to(readme_path.parent).as_posix()
        old = ((model.sha1 if model is not None else None) or "").lower()
        url = model.caffemodel_url if model is not None else None
        if url and old == sha1:
            # The readme's URL serves these very bytes: it becomes the pointer's first mirror.
            pointer = replace(pointer, urls=(url, *[u for u in pointer.urls if u != url]))
        if old != sha1:
            updates["sha1"] = sha1
        want = next((u for u in pointer.urls if is_http(u)), None)
        if want is None and url and old == tracked and old != sha1:
            # A re-added file whose readme URL served the bytes tracked until now: kept,
            # Caffe's script would download those and fail its check. (On a first add, what
            # the URL serves is not known, and it stays.)
            notes.append(f"{readme_path}: caffemodel_url dropped: {url} served the previous "
                         f"bytes (sha1 {old[:12]}), not these ({sha1[:12]}); name the new "
                         "location with 'zoo-vcs add --url URL FILE'")
        elif want is None:
            want = url
        if want != url:
            updates["caffemodel_url"] = want
        self.source.update(readme_path, updates, index, True)
        return readme_path, pointer


def _matching_model(readme_path: Path, readme: Readme | None, full: Path
                    ) -> tuple[int, Model | None] | None:
    if readme is None:
        return None
    for i, model in enumerate(readme.models):
        if model.caffemodel:
            try:
                if confine(readme_path.parent, model.caffemodel) == full:
                    return i, model
            except PathError:
                continue
    # A readme in the same folder whose only model names no weights yet (init's skeleton).
    if readme_path.parent == full.parent and full.suffix == ".caffemodel":
        empty = [i for i, m in enumerate(readme.models) if not m.caffemodel]
        if len(readme.models) <= 1 and (empty or not readme.models):
            return (empty[0], readme.models[empty[0]]) if empty else (0, None)
    return None
