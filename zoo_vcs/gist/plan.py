"""Pure: which files of a model directory a gist holds, and what a sync must change.

:func:`select_files` decides what is publishable (text files tracked in the folder:
readme, prototxts, pointers, scripts; never binaries, dotfiles or ``.zoo/``; gists are
flat, so a subdirectory is an error naming it). :func:`plan_sync` compares the files with
the gist's and returns a :class:`GistPlan` (add, modify, rename, delete): ``gist status``
prints it, ``gist push`` and the pre-push hook apply it. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from zoo_vcs.formats import pointer as ptr

#: Bytes inspected to tell text from binary (git's own heuristic: a NUL byte).
SNIFF_BYTES = 8000
#: What the REST API shows of one file; larger files are still pushed whole over git.
API_FILE_LIMIT = 1 << 20


@dataclass(frozen=True)
class LocalFile:
    """A directory entry as the selection sees it: name, kind and the first bytes."""

    name: str
    kind: str  # "file", "dir", "symlink", "ignored" (by git), "other"
    head: bytes = b""


@dataclass
class Selection:
    """Files to publish, files left out (with why), and errors that forbid publishing."""

    publish: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def select_files(entries: list[LocalFile], folder: str = ".") -> Selection:
    """Pure: which entries of a model directory go to its gist.

    >>> select_files([LocalFile("readme.md", "file", b"---"), LocalFile("w.bin", "file"),
    ...               LocalFile("w.bin.zoo", "file", b"zoo-vcs: 1")]).publish
    ['readme.md', 'w.bin.zoo']
    """
    sel = Selection()
    names = {e.name for e in entries}
    for e in sorted(entries, key=lambda e: e.name):
        if e.name.startswith("."):
            sel.skipped[e.name] = "dotfile"
        elif ptr.pointer_path_for(e.name) in names:
            sel.skipped[e.name] = "tracked binary (its pointer is published)"
        elif e.kind == "ignored":
            sel.skipped[e.name] = "ignored by git"
        elif e.kind == "dir":
            sel.errors.append(f"{folder}/{e.name}: subdirectory; gists are flat (move its files "
                              "up or into another model directory)")
        elif e.kind == "symlink":
            sel.errors.append(f"{folder}/{e.name}: symlink; gists hold plain files, links are "
                              "never followed")
        elif e.kind != "file":
            sel.skipped[e.name] = "not a regular file"
        elif b"\0" in e.head[:SNIFF_BYTES]:
            sel.skipped[e.name] = "binary (track it with 'zoo-vcs add')"
        else:
            sel.publish.append(e.name)
    return sel


@dataclass(frozen=True)
class GistPlan:
    """What a sync changes in a gist so that it holds exactly the local files."""

    add: tuple[str, ...] = ()
    modify: tuple[str, ...] = ()
    rename: tuple[tuple[str, str], ...] = ()
    delete: tuple[str, ...] = ()
    #: Files over the API's display limit (published whole over git all the same).
    large: tuple[str, ...] = ()

    @property
    def in_sync(self) -> bool:
        """True when the gist already holds exactly the local files."""
        return not (self.add or self.modify or self.rename or self.delete)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"add": list(self.add), "modify": list(self.modify),
                "rename": [{"from": a, "to": b} for a, b in self.rename],
                "delete": list(self.delete), "large": list(self.large),
                "in_sync": self.in_sync}


def plan_sync(local: Mapping[str, bytes], remote: Mapping[str, bytes]) -> GistPlan:
    """Compare local files with the gist's; a file gone here whose bytes reappear under a
    new name is a rename.

    >>> p = plan_sync({"readme.md": b"new", "b.prototxt": b"B", "c.txt": b"C"},
    ...               {"readme.md": b"old", "a.prototxt": b"B", "gone.txt": b"x"})
    >>> p.add, p.modify, p.rename, p.delete
    (('c.txt',), ('readme.md',), (('a.prototxt', 'b.prototxt'),), ('gone.txt',))
    >>> plan_sync({"r.md": b"x"}, {"r.md": b"x"}).in_sync
    True
    """
    only_here = sorted(set(local) - set(remote))
    only_there = sorted(set(remote) - set(local))
    renames: list[tuple[str, str]] = []
    for old in only_there:
        new = next((n for n in only_here if local[n] == remote[old]), None)
        if new is not None:
            renames.append((old, new))
            only_here.remove(new)
    renamed_from = {old for old, _new in renames}
    return GistPlan(
        add=tuple(only_here),
        modify=tuple(n for n in sorted(set(local) & set(remote)) if local[n] != remote[n]),
        rename=tuple(renames),
        delete=tuple(n for n in only_there if n not in renamed_from),
        large=tuple(sorted(n for n, data in local.items() if len(data) > API_FILE_LIMIT)),
    )
