"""Tracked entries of a committed tree, read from git blobs instead of the file system:
pointer files and legacy readme entries, for ``ls``, ``get`` and ``diff``.

The rules are the workspace scan's (:mod:`zoo_vcs.repo.scan`): a pointer is authoritative
over the readme naming the same binary, names that would escape are refused, a readme
without any Model Zoo key is reported. Entries are anchored at ``base`` (any folder: the
local repository's root, or where ``get`` writes), so their paths relative to it are
the repository-relative paths.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from zoo_vcs.errors import PointerError, ZooError
from zoo_vcs.formats import pointer as ptr
from zoo_vcs.repo import modeldir
from zoo_vcs.repo.scan import Entry, Scan, keyless_message, readme_entries, refused_name

if TYPE_CHECKING:
    from zoo_vcs.git.remote import TreeItem

__all__ = ["describing", "entries"]


def describing(items: Iterable[TreeItem]) -> list[TreeItem]:
    """The files of a tree listing that say what is tracked: pointers and readmes.

    >>> from zoo_vcs.git.remote import TreeItem
    >>> [i.path for i in describing([TreeItem("100644", "blob", "0" * 40, p) for p in
    ...     ("m/w.caffemodel.zoo", "m/README.md", "m/deploy.prototxt")])]
    ['m/w.caffemodel.zoo', 'm/README.md']
    """
    return [i for i in items if i.is_file and (
        i.path.endswith(ptr.SUFFIX) or modeldir.is_readme(posixpath.basename(i.path)))]


def entries(files: Mapping[str, bytes], base: Path) -> Scan:
    """Entries named by committed pointers and readmes (repository-relative path -> bytes).

    Problems are collected in the result, as a workspace scan does: a malformed pointer or
    readme is an error naming its path, a readme's oddities are warnings.
    """
    found = Scan()
    pointed: set[str] = set()
    for path, data in sorted(files.items()):
        if not path.endswith(ptr.SUFFIX) or modeldir.is_readme(posixpath.basename(path)):
            continue
        try:
            p = ptr.decode(data, path)
        except PointerError as exc:
            found.errors.append(exc)
            continue
        refused = refused_name(path)
        if refused is not None:
            found.errors.append(refused)
            continue
        binary = ptr.binary_path_for(path)
        pointed.add(binary)
        found.entries.append(Entry(base / binary, p, pointer_path=base / path))
    folders_with_pointers = {posixpath.dirname(b) for b in pointed}
    for path, data in sorted(files.items()):
        if not modeldir.is_readme(posixpath.basename(path)):
            continue
        try:
            from zoo_vcs.formats import frontmatter  # YAML loads only when a readme is read

            readme = frontmatter.parse(modeldir.decode_text(data, path), path=path)
        except ZooError as exc:
            found.errors.append(exc)
            continue
        named, problems, refused_names = readme_entries(
            base / path, readme, lambda b: b.relative_to(base).as_posix() in pointed,
            on_disk=False)
        found.entries.extend(named)
        found.warnings.extend(problems)
        found.errors.extend(refused_names)
        if readme.form == "none" and posixpath.dirname(path) not in folders_with_pointers:
            found.keyless[base / path] = keyless_message(base / path, readme)
    return found
