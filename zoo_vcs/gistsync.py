"""Sync model directories with gists: choose the publishable files, diff, push and pull
through the gist's git remote, and write ``gist_id`` back into the readme.

A gist holds a model directory's text files (readme, prototxts, pointers, scripts) —
never binaries, dotfiles or ``.zoo/`` — and is flat: a subdirectory is an error naming it.
Names coming from a gist are untrusted: anything that is not a plain file name is refused
before a byte is written.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import gist, gitops, modeldir
from . import pointer as ptr
from .errors import GistError, UsageError, ZooError
from .fileio import atomic_write_bytes
from .workspace import Workspace

log = logging.getLogger(__name__)

#: Bytes inspected to tell text from binary (git's own heuristic: a NUL byte).
SNIFF_BYTES = 8000
#: Written by ``gist pull``: which gist a folder came from (a dotfile: never published).
ORIGIN_FILE = ".zoo-gist"


def gist_of_folder(folder: Path) -> str | None:
    """The gist a folder belongs to: its readme's ``gist_id``, else the pull marker."""
    readme = modeldir.find_readme(folder)
    if readme is not None:
        try:
            found = modeldir.load(readme).gist_id
        except ZooError:
            found = None
        if found:
            return found.lower()
    try:
        return (folder / ORIGIN_FILE).read_text(encoding="utf-8").split()[0].lower()
    except (OSError, IndexError):
        return None


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


def safe_gist_name(name: str) -> bool:
    """Whether a file name from a gist may be written into a folder.

    >>> [safe_gist_name(n) for n in ("readme.md", "../x", ".git", "a/b", "/etc/x", "")]
    [True, False, False, False, False, False]
    """
    return bool(name) and name not in (".", "..") and "/" not in name and "\\" not in name \
        and "\0" not in name and not name.lower().startswith(".git") and name == name.strip()


@dataclass
class SyncResult:
    """What a gist push or pull did."""

    gist_id: str
    html_url: str = ""
    created: bool = False
    revision: str | None = None
    added: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    large: list[str] = field(default_factory=list)

    @property
    def in_sync(self) -> bool:
        """True when nothing differs (status) or nothing had to change (push)."""
        return not (self.added or self.modified or self.deleted)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"gist_id": self.gist_id, "html_url": self.html_url, "created": self.created,
                "revision": self.revision, "added": self.added, "modified": self.modified,
                "deleted": self.deleted, "skipped": self.skipped, "large": self.large,
                "in_sync": self.in_sync}


def _list_dir(folder: Path, only: set[str] | None) -> list[LocalFile]:
    out = []
    for entry in os.scandir(folder):
        if only is not None and entry.name not in only and not entry.name.startswith("."):
            out.append(LocalFile(entry.name, "ignored"))
        elif entry.is_symlink():
            out.append(LocalFile(entry.name, "symlink"))
        elif entry.is_dir():
            out.append(LocalFile(entry.name, "dir"))
        elif entry.is_file():
            with open(entry.path, "rb") as f:
                out.append(LocalFile(entry.name, "file", f.read(SNIFF_BYTES)))
        else:
            out.append(LocalFile(entry.name, "other"))
    return out


def local_files(folder: Path) -> tuple[dict[str, bytes], Selection]:
    """The publishable files of a model directory in the working tree, with their bytes.

    In a git repository only files git tracks or would track (not ignored) count.
    """
    only = None
    ws = Workspace.discover(folder)
    if ws.git_dir is not None:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard", "--", "."], cwd=folder, capture_output=True,
                             text=True, check=False).stdout
        only = {p.split("/", 1)[0] for p in out.split("\0") if p}
    sel = select_files(_list_dir(folder, only), str(folder))
    if sel.errors:
        raise GistError("; ".join(sel.errors))
    return {name: (folder / name).read_bytes() for name in sel.publish}, sel


def commit_files(ws: Workspace, rev: str, folder: str) -> tuple[dict[str, bytes], Selection]:
    """The publishable files of a model directory as committed at ``rev``."""
    entries = []
    prefix = f"{folder}/" if folder else ""
    for mode, kind, path in gitops.list_tree(ws.root, rev, folder):
        if prefix and not path.startswith(prefix):
            continue  # the folder's own tree entry
        rel = path[len(prefix):]
        if "/" in rel:
            continue
        if kind == "tree":
            entries.append(LocalFile(rel, "dir"))
        elif mode == "120000":
            entries.append(LocalFile(rel, "symlink"))
        elif kind == "blob":
            entries.append(LocalFile(rel, "file", gitops.read_blob(ws.root, rev, path) or b""))
        else:
            entries.append(LocalFile(rel, "other"))
    sel = select_files(entries, folder or ".")
    if sel.errors:
        raise GistError("; ".join(sel.errors))
    files = {e.name: e.head for e in entries if e.name in sel.publish}
    # head holds only the first bytes: read the whole blobs of what is published.
    return {n: gitops.read_blob(ws.root, rev, prefix + n) or b"" for n in files}, sel


@contextmanager
def _scratch() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="zoo-vcs-gist-"))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def push_files(info: gist.GistInfo, files: Mapping[str, bytes], *, token: str | None,
               message: str) -> SyncResult:
    """Make the gist hold exactly ``files``: one new revision when something changed."""
    result = SyncResult(info.id, info.html_url)
    with _scratch() as tmp:
        repo = tmp / "gist"
        gitops.clone(info.git_pull_url, repo, token=token, what=f"gist {info.id}")
        branch = gitops.current_branch(repo)
        gitops.checkout_rev(repo, "HEAD", f"gist {info.id}")
        current = {name for _m, kind, name in gitops.tree_entries(repo) if kind == "blob"}
        for name in sorted(current - set(files)):
            (repo / name).unlink()
            result.deleted.append(name)
        for name, data in sorted(files.items()):
            target = repo / name
            if name not in current:
                result.added.append(name)
            elif target.read_bytes() != data:
                result.modified.append(name)
            else:
                continue
            target.write_bytes(data)
        result.large = [n for n, d in files.items() if len(d) > gist.API_FILE_LIMIT]
        result.revision = gitops.commit_all(repo, message)
        if result.revision is not None:
            gitops.push_head(repo, info.git_push_url, branch, token=token,
                             what=f"pushing to gist {info.id}")
    return result


def push_dir(folder: Path, *, secret: bool = False, description: str | None = None,
             environ: Mapping[str, str] | None = None) -> SyncResult:
    """Create or update the gist of model directory ``folder``.

    On create, ``gist_id`` is written into the readme (a minimal edit) and the readme is
    pushed again, so the gist carries its own id.

    Raises
    ------
    UsageError
        ``folder`` has no readme.
    GistError
        A subdirectory or symlink, no token, a rejected token, a missing gist...
    """
    readme = modeldir.find_readme(folder)
    if readme is None:
        raise UsageError(f"{folder}: no readme.md: not a model directory",
                         hint=f"zoo-vcs init {folder}")
    api = gist.api_url(environ)
    token = gist.find_token(api, environ)
    parsed = modeldir.load(readme)
    files, sel = local_files(folder)
    created = False
    if parsed.gist_id:
        info = gist.get(parsed.gist_id, token=token, api=api)
    else:
        name = parsed.models[0].name if parsed.models and parsed.models[0].name else folder.name
        info = gist.create({readme.name: readme.read_text(encoding="utf-8") or name},
                           description=description or name, public=not secret, token=token,
                           api=api)
        modeldir.update(readme, {"gist_id": info.id})
        files, sel = local_files(folder)
        created = True
    result = push_files(info, files, token=token, message=f"zoo-vcs: {folder.name}")
    result.created = created
    result.skipped = sel.skipped
    return result


def publish_commit(ws: Workspace, rev: str, folder: str, gist_id: str) -> SyncResult:
    """pre-push: publish ``folder`` exactly as committed at ``rev`` to gist ``gist_id``."""
    api = gist.api_url()
    token = gist.find_token(api)
    files, _ = commit_files(ws, rev, folder)
    info = gist.get(gist_id, token=token, api=api)
    return push_files(info, files, token=token,
                      message=f"zoo-vcs: {folder or ws.root.name} at {rev[:10]}")


def status_dir(folder: Path, environ: Mapping[str, str] | None = None) -> SyncResult:
    """What differs between ``folder`` and its gist (added/modified locally, deleted)."""
    readme = modeldir.find_readme(folder)
    parsed = modeldir.load(readme) if readme else None
    if parsed is None or not parsed.gist_id:
        raise UsageError(f"{folder}: no gist_id in its readme", hint=f"zoo-vcs gist push {folder}")
    api = gist.api_url(environ)
    token = gist.find_token(api, environ)
    info = gist.get(parsed.gist_id, token=token, api=api)
    files, sel = local_files(folder)
    result = SyncResult(info.id, info.html_url, skipped=sel.skipped)
    with _scratch() as tmp:
        repo = tmp / "gist"
        gitops.clone(info.git_pull_url, repo, token=token, what=f"gist {info.id}")
        remote = {n for _m, k, n in gitops.tree_entries(repo) if k == "blob"}
        result.revision = gitops.checkout_rev(repo, "HEAD", f"gist {info.id}")
        for name in sorted(set(files) | remote):
            if name not in remote:
                result.added.append(name)
            elif name not in files:
                result.deleted.append(name)
            elif gitops.blob_at(repo, "HEAD", name) != files[name]:
                result.modified.append(name)
    return result


def read_gist(ref: str, environ: Mapping[str, str] | None = None
              ) -> tuple[gist.GistInfo, dict[str, bytes]]:
    """A gist's metadata and the files of its latest revision (unsafe names refused)."""
    gist_id = gist.parse_gist_ref(ref)
    api = gist.api_url(environ)
    token = gist.find_token(api, environ)
    info = gist.get(gist_id, token=token, api=api)
    with _scratch() as tmp:
        repo = tmp / "gist"
        gitops.clone(info.git_pull_url, repo, token=token, what=f"gist {gist_id}")
        entries = gitops.tree_entries(repo, "HEAD")
        return info, {n: gitops.blob_at(repo, "HEAD", n) for m, k, n in entries
                      if k == "blob" and m in ("100644", "100755") and safe_gist_name(n)}


def pull(ref: str, folder: Path, *, revision: str | None = None, force: bool = False,
         environ: Mapping[str, str] | None = None) -> SyncResult:
    """Bring gist ``ref`` (id, ``user/id`` or URL) into ``folder``.

    Refuses, before writing anything: file names that would escape the folder or touch
    ``.git``; a non-empty folder that is another gist's; local edits to files the gist
    would overwrite (unless ``force``).
    """
    gist_id = gist.parse_gist_ref(ref)
    api = gist.api_url(environ)
    token = gist.find_token(api, environ)
    info = gist.get(gist_id, token=token, api=api)
    bad = [n for n in info.files if not safe_gist_name(n)]
    if bad:
        raise GistError(f"gist {gist_id} has unsafe file names {bad!r}: refused, nothing written")
    _check_target(folder, gist_id, force)
    result = SyncResult(gist_id, info.html_url)
    with _scratch() as tmp:
        repo = tmp / "gist"
        gitops.clone(info.git_pull_url, repo, token=token, what=f"gist {gist_id}")
        result.revision = gitops.checkout_rev(repo, revision or "HEAD", f"gist {gist_id}")
        entries = gitops.tree_entries(repo, result.revision)
        unsafe = [n for m, k, n in entries
                  if k != "blob" or m not in ("100644", "100755") or not safe_gist_name(n)]
        if unsafe:
            raise GistError(f"gist {gist_id} holds entries that are not plain, safe file "
                            f"names {unsafe!r}: refused, nothing written")
        incoming = {n: gitops.blob_at(repo, result.revision, n) for _m, _k, n in entries}
        conflicts = []
        for name, data in incoming.items():
            target = folder / name
            if target.is_symlink() or (target.exists() and not target.is_file()):
                conflicts.append(name)
            elif target.exists():
                local = target.read_bytes()
                if local != data and not gitops.has_blob(repo, local):
                    conflicts.append(name)
        if conflicts and not force:
            raise GistError(f"{folder}: local changes to {', '.join(sorted(conflicts))} would be "
                            "overwritten", hint="commit or move them, or use --force")
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in sorted(incoming.items()):
            target = modeldir.confine(folder, name, what="gist file")
            if target.is_symlink():
                target.unlink()
            if target.exists() and target.read_bytes() == data:
                continue
            (result.modified if target.exists() else result.added).append(name)
            atomic_write_bytes(target, data)
        atomic_write_bytes(folder / ORIGIN_FILE, f"{gist_id} {result.revision}\n".encode())
    return result


def _check_target(folder: Path, gist_id: str, force: bool) -> None:
    if not folder.exists():
        return
    if not folder.is_dir():
        raise UsageError(f"{folder}: exists and is not a folder")
    if not any(folder.iterdir()):
        return
    mine = gist_of_folder(folder)
    if mine != gist_id and not force:
        raise GistError(f"{folder}: not empty and not gist {gist_id}'s folder "
                        f"(its readme names {'gist ' + mine if mine else 'no gist'}); "
                        "nothing written", hint="pull into an empty or new folder")
