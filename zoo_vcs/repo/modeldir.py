"""Model directories: find, read and minimally rewrite ``readme.md``; the weights it names.

The only module that reads or writes readme files. Names taken from a readme are
untrusted input: they pass :func:`zoo_vcs.repo.paths.confine` before they become paths.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from zoo_vcs.errors import FrontmatterError, PathError
from zoo_vcs.repo.paths import check_name, confine
from zoo_vcs.storage.fileio import atomic_write_bytes

if TYPE_CHECKING:
    from zoo_vcs.formats import frontmatter

README_RE = re.compile(r"^readme\.md$", re.IGNORECASE)
#: Readmes are documents, not data; a larger one is refused rather than read.
MAX_README_BYTES = 4 << 20

SKELETON_BODY = """
# {name}

Describe the model here: what it was trained on, how to use it, and its license.

The weights are tracked by zoo-vcs: run `zoo-vcs checkout` after cloning to get them.
"""


def is_readme(name: str) -> bool:
    """Whether a file name is a model directory's readme (``readme.md``, any letter case).

    >>> is_readme("README.md"), is_readme("readme.txt")
    (True, False)
    """
    return README_RE.match(name) is not None


def find_readme(directory: Path) -> Path | None:
    """The folder's ``readme.md`` (any letter case), or None."""
    try:
        names = os.listdir(directory)
    except OSError:
        return None
    name = pick_readme(n for n in names if is_readme(n) and (directory / n).is_file())
    return directory / name if name is not None else None


def pick_readme(names: Iterable[str]) -> str | None:
    """Which of a folder's file names is its readme (the first in sorted order), or None.

    >>> pick_readme(["w.caffemodel", "readme.md", "README.md"])
    'README.md'
    """
    return next((n for n in sorted(names) if is_readme(n)), None)


def read_text(path: Path) -> str:
    """A readme's text; raises :class:`FrontmatterError` when it is too large or not UTF-8."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_README_BYTES + 1)
    except OSError as exc:
        raise FrontmatterError(str(path), f"cannot read: {exc.strerror}") from None
    return decode_text(data, str(path))


def decode_text(data: bytes, path: str) -> str:
    """A readme's bytes (from a file or a commit) as text; raises :class:`FrontmatterError`
    when they are too large or not UTF-8."""
    if len(data) > MAX_README_BYTES:
        raise FrontmatterError(path, f"larger than {MAX_README_BYTES >> 20} MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FrontmatterError(path, f"not UTF-8 text (byte {exc.start})") from None


def load(path: Path) -> frontmatter.Readme:
    """Parse the readme at ``path`` (tolerantly; problems are reported in the result)."""
    return parse(read_text(path), str(path))


def parse(text: str, path: str) -> frontmatter.Readme:
    """Parse readme text (tolerantly; problems are reported in the result)."""
    from zoo_vcs.formats import (
        frontmatter,  # YAML and the readme grammar load only when a readme is read
    )

    return frontmatter.parse(text, path=path)


def update(path: Path, updates: Mapping[str, str | None], *, model: int = 0,
           canonical: bool = False) -> bool:
    """Rewrite the given frontmatter keys in place by a minimal edit; True if the file changed.

    ``canonical``: see :func:`edit`.
    """
    text = read_text(path)
    new = edit(text, updates, str(path), model=model, canonical=canonical)
    if new == text:
        return False
    atomic_write_bytes(path, new.encode("utf-8"))
    return True


def edit(text: str, updates: Mapping[str, str | None], path: str, *, model: int = 0,
         canonical: bool = False) -> str:
    """Readme text with the given frontmatter keys rewritten by a minimal edit.

    ``canonical``: a single-model readme without ``---`` delimiters gets its key lines moved
    into a canonical block at the top instead (``frontmatter_edit.to_block``), so that
    Caffe's ``download_model_binary.py`` can read it.
    """
    from zoo_vcs.formats import (
        frontmatter_edit,  # like parse(): YAML loads only when a readme is written
    )

    if canonical:
        return frontmatter_edit.to_block(text, updates, path=path)
    return frontmatter_edit.set_fields(text, updates, path=path, model=model)


@dataclass(frozen=True)
class Weights:
    """One model's main weights as a readme describes them (a legacy, pointer-less entry)."""

    readme: Path
    model: int
    name: str | None
    path: Path
    sha1: str | None
    url: str | None


def weights_of(readme_path: Path, readme: frontmatter.Readme, *, on_disk: bool = True
               ) -> tuple[list[Weights], list[str], list[PathError]]:
    """The weights files a parsed readme names, a warning per model it cannot use, and an
    error per file name it refuses (one that would escape the folder).

    ``on_disk`` False: the readme was read from a git tree, not the file system, so names
    get the pure checks only (no symlink on disk can be involved)."""
    base = readme_path.parent
    found: list[Weights] = []
    problems: list[str] = []
    refused: list[PathError] = []
    for i, model in enumerate(readme.models):
        filename = model.caffemodel
        if not filename and model.caffemodel_url:
            # Readmes with only a URL (e.g. 'caffemodel url:' in prose): name it after the URL.
            tail = model.caffemodel_url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
            filename = tail if tail.endswith(".caffemodel") else None
        if not filename:
            if model.caffemodel_url or model.sha1:
                problems.append(f"{readme_path}: model {model.name or i + 1!r} has no caffemodel "
                                "file name")
            continue
        try:
            path = (confine(base, filename, what="caffemodel") if on_disk
                    else base.joinpath(*check_name(str(base), filename,
                                                   what="caffemodel").parts))
        except PathError as exc:
            refused.append(exc)
            continue
        sha1 = (model.sha1 or "").strip().lower() or None
        found.append(Weights(readme_path, i, model.name, path, sha1, model.caffemodel_url))
    return found, problems, refused


def skeleton(name: str) -> str:
    """The readme ``init`` writes: canonical frontmatter and a short body."""
    from zoo_vcs.formats import frontmatter_edit

    return frontmatter_edit.render({"name": name, "caffemodel": None, "caffemodel_url": None,
                                    "sha1": None, "caffe_commit": None, "license": None,
                                    "gist_id": None}) + SKELETON_BODY.format(name=name)
