"""Sync model directories with gists: read the files on each side, plan (``gist.plan``),
apply the plan through the gist's git remote, and write ``gist_id`` back into the readme.

Names coming from a gist are untrusted: anything that is not a plain file name is refused
before a byte is written.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from zoo_vcs.errors import ExistsError, GistError, UsageError, ZooError
from zoo_vcs.gist import client as gist
from zoo_vcs.gist.plan import SNIFF_BYTES, GistPlan, LocalFile, Selection, plan_sync, select_files
from zoo_vcs.git import scratch
from zoo_vcs.repo import modeldir
from zoo_vcs.repo.context import Repository
from zoo_vcs.repo.paths import confine, is_plain_name
from zoo_vcs.storage.fileio import atomic_write_bytes

log = logging.getLogger(__name__)

#: Written by ``gist pull``: which gist a folder came from (a dotfile: never published).
ORIGIN_FILE = ".zoo-gist"


@dataclass
class SyncResult:
    """What a gist push, pull or status found or did."""

    gist_id: str
    html_url: str = ""
    created: bool = False
    revision: str | None = None
    plan: GistPlan = field(default_factory=GistPlan)
    skipped: dict[str, str] = field(default_factory=dict)
    #: The local folder, when the command chose it (``download-gist``).
    folder: Path | None = None

    @property
    def added(self) -> list[str]:
        """Files new in the gist (or, for status, only here)."""
        return list(self.plan.add)

    @property
    def modified(self) -> list[str]:
        """Files whose content changed."""
        return list(self.plan.modify)

    @property
    def renamed(self) -> list[tuple[str, str]]:
        """(old, new) names of files renamed with the same content."""
        return list(self.plan.rename)

    @property
    def deleted(self) -> list[str]:
        """Files gone from the gist (or, for status, only in the gist)."""
        return list(self.plan.delete)

    @property
    def in_sync(self) -> bool:
        """True when nothing differs (status) or nothing had to change (push)."""
        return self.plan.in_sync

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"gist_id": self.gist_id, "html_url": self.html_url, "created": self.created,
                "revision": self.revision, "added": self.added, "modified": self.modified,
                "renamed": [{"from": a, "to": b} for a, b in self.renamed],
                "deleted": self.deleted, "skipped": self.skipped,
                "large": list(self.plan.large), "in_sync": self.in_sync,
                **({"folder": str(self.folder)} if self.folder is not None else {})}


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


# -- each side's files ---------------------------------------------------------------------

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


def _checked(sel: Selection) -> Selection:
    if sel.errors:
        raise GistError("; ".join(sel.errors))
    return sel


def local_files(folder: Path) -> tuple[dict[str, bytes], Selection]:
    """The publishable files of a model directory in the working tree, with their bytes.

    In a git repository only files git tracks or would track (not ignored) count.
    """
    sel = _checked(select_files(_list_dir(folder, scratch.publishable_names(folder)),
                                str(folder)))
    return {name: (folder / name).read_bytes() for name in sel.publish}, sel


def commit_files(repo: Repository, rev: str, folder: str) -> tuple[dict[str, bytes], Selection]:
    """The publishable files of a model directory as committed at ``rev``."""
    from zoo_vcs.git import repo as gitrepo

    entries = []
    prefix = f"{folder}/" if folder else ""
    for mode, kind, path in gitrepo.list_tree(repo.root, rev, folder):
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
            entries.append(LocalFile(rel, "file",
                                     gitrepo.read_blob(repo.root, rev, path) or b""))
        else:
            entries.append(LocalFile(rel, "other"))
    sel = _checked(select_files(entries, folder or "."))
    # LocalFile.head holds only the first bytes: read the whole blobs of what is published.
    return {n: gitrepo.read_blob(repo.root, rev, prefix + n) or b"" for n in sel.publish}, sel


@contextmanager
def _clone(info: gist.GistInfo, token: str | None) -> Iterator[Path]:
    """A scratch clone of the gist (removed afterwards)."""
    tmp = Path(tempfile.mkdtemp(prefix="zoo-vcs-gist-"))
    try:
        repo = tmp / "gist"
        scratch.clone(info.git_pull_url, repo, token=token, what=f"gist {info.id}")
        yield repo
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _gist_files(clone: Path, rev: str) -> dict[str, bytes]:
    """The plain files of a scratch clone at ``rev`` (a gist is flat)."""
    return {n: scratch.blob_at(clone, rev, n) for m, k, n in scratch.tree_entries(clone, rev)
            if k == "blob" and m in ("100644", "100755") and is_plain_name(n)}


# -- push: plan, then apply ------------------------------------------------------------------

def apply_plan(clone: Path, plan: GistPlan, files: Mapping[str, bytes]) -> None:
    """Make a scratch clone's work tree match ``plan`` (``files``: the local side)."""
    for old, new in plan.rename:
        os.replace(clone / old, clone / new)
    for name in plan.delete:
        (clone / name).unlink()
    for name in (*plan.add, *plan.modify):
        (clone / name).write_bytes(files[name])


def push_files(info: gist.GistInfo, files: Mapping[str, bytes], *, token: str | None,
               message: str) -> SyncResult:
    """Make the gist hold exactly ``files``: one new revision when something changed."""
    result = SyncResult(info.id, info.html_url)
    with _clone(info, token) as clone:
        branch = scratch.current_branch(clone)
        scratch.checkout_rev(clone, "HEAD", f"gist {info.id}")
        result.plan = plan_sync(files, _gist_files(clone, "HEAD"))
        if result.plan.in_sync:
            return result
        apply_plan(clone, result.plan, files)
        result.revision = scratch.commit_all(clone, message)
        if result.revision is not None:
            scratch.push_head(clone, info.git_push_url, branch, token=token,
                              what=f"pushing to gist {info.id}")
    return result


def push_dir(folder: Path, *, secret: bool = False, description: str | None = None,
             environ: Mapping[str, str] | None = None) -> SyncResult:
    """Create or update the gist of model directory ``folder``.

    On create, ``gist_id`` is written into the readme (a minimal edit) and the readme is
    pushed again, so the gist carries its own id. The gist's description is
    ``description``, else the model's name (else the folder's), on create and on every
    update, as Caffe's ``upload_model_to_gist.sh`` did.

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
    session = gist.Session.from_env(environ, write=True)
    parsed = modeldir.load(readme)
    files, sel = local_files(folder)
    created = False
    name = parsed.models[0].name if parsed.models and parsed.models[0].name else folder.name
    wanted = description or name.strip()
    if parsed.gist_id:
        info = session.get(parsed.gist_id)
        if info.description != wanted:
            info = session.edit_description(info.id, wanted)
    else:
        info = session.create({readme.name: readme.read_text(encoding="utf-8") or name},
                              description=wanted, public=not secret)
        modeldir.update(readme, {"gist_id": info.id})
        files, sel = local_files(folder)
        created = True
    result = push_files(info, files, token=session.token, message=f"zoo-vcs: {folder.name}")
    result.created = created
    result.skipped = sel.skipped
    return result


def publish_commit(repo: Repository, rev: str, folder: str, gist_id: str) -> SyncResult:
    """pre-push: publish ``folder`` exactly as committed at ``rev`` to gist ``gist_id``."""
    session = gist.Session.from_env(write=True)
    files, _ = commit_files(repo, rev, folder)
    info = session.get(gist_id)
    return push_files(info, files, token=session.token,
                      message=f"zoo-vcs: {folder or repo.root.name} at {rev[:10]}")


def status_dir(folder: Path, environ: Mapping[str, str] | None = None) -> SyncResult:
    """The plan a ``gist push`` of ``folder`` would apply (nothing is changed)."""
    readme = modeldir.find_readme(folder)
    parsed = modeldir.load(readme) if readme else None
    if parsed is None or not parsed.gist_id:
        raise UsageError(f"{folder}: no gist_id in its readme", hint=f"zoo-vcs gist push {folder}")
    session = gist.Session.from_env(environ)
    info = session.get(parsed.gist_id)
    files, sel = local_files(folder)
    result = SyncResult(info.id, info.html_url, skipped=sel.skipped)
    with _clone(info, session.token) as clone:
        result.revision = scratch.checkout_rev(clone, "HEAD", f"gist {info.id}")
        result.plan = plan_sync(files, _gist_files(clone, "HEAD"))
    return result


# -- pull ------------------------------------------------------------------------------------

def read_gist(ref: str, environ: Mapping[str, str] | None = None
              ) -> tuple[gist.GistInfo, dict[str, bytes]]:
    """A gist's metadata and the files of its latest revision (unsafe names refused)."""
    session = gist.Session.from_env(environ)
    info = session.get(gist.parse_gist_ref(ref))
    with _clone(info, session.token) as clone:
        return info, _gist_files(clone, "HEAD")


def pull(ref: str, folder: Path, *, revision: str | None = None, force: bool = False,
         environ: Mapping[str, str] | None = None) -> SyncResult:
    """Bring gist ``ref`` (id, ``user/id`` or URL) into ``folder``.

    Refuses, before writing anything: file names that would escape the folder or touch
    ``.git``; a non-empty folder that is another gist's; local edits to files the gist
    would overwrite (unless ``force``).
    """
    gist_id = gist.parse_gist_ref(ref)
    session = gist.Session.from_env(environ)
    info = session.get(gist_id)
    bad = [n for n in info.files if not is_plain_name(n)]
    if bad:
        raise GistError(f"gist {gist_id} has unsafe file names {bad!r}: refused, nothing written")
    _check_target(folder, gist_id, force)
    result = SyncResult(gist_id, info.html_url)
    with _clone(info, session.token) as clone:
        result.revision = scratch.checkout_rev(clone, revision or "HEAD", f"gist {gist_id}")
        entries = scratch.tree_entries(clone, result.revision)
        unsafe = [n for m, k, n in entries
                  if k != "blob" or m not in ("100644", "100755") or not is_plain_name(n)]
        if unsafe:
            raise GistError(f"gist {gist_id} holds entries that are not plain, safe file "
                            f"names {unsafe!r}: refused, nothing written")
        incoming = {n: scratch.blob_at(clone, result.revision, n) for _m, _k, n in entries}
        conflicts = []
        for name, data in incoming.items():
            target = folder / name
            if target.is_symlink() or (target.exists() and not target.is_file()):
                conflicts.append(name)
            elif target.exists():
                local = target.read_bytes()
                if local != data and not scratch.has_blob(clone, local):
                    conflicts.append(name)
        if conflicts and not force:
            raise GistError(f"{folder}: local changes to {', '.join(sorted(conflicts))} would be "
                            "overwritten", hint="commit or move them, or use --force")
    folder.mkdir(parents=True, exist_ok=True)
    added: list[str] = []
    modified: list[str] = []
    for name, data in sorted(incoming.items()):
        target = confine(folder, name, what="gist file")
        if target.is_symlink():
            target.unlink()
        if target.exists() and target.read_bytes() == data:
            continue
        (modified if target.exists() else added).append(name)
        atomic_write_bytes(target, data)
    result.plan = GistPlan(add=tuple(added), modify=tuple(modified))
    atomic_write_bytes(folder / ORIGIN_FILE, f"{gist_id} {result.revision}\n".encode())
    return result


def folder_name(ref: str) -> str:
    """The folder ``download-gist`` makes for GIST: GIST with '/' replaced by '-' (a URL's
    path, ``user/id``, stands for the URL), as ``download_model_from_gist.sh`` did.

    >>> folder_name("someone/034c6ac3865563b69e60"), folder_name("034c6ac3865563b69e60")
    ('someone-034c6ac3865563b69e60', '034c6ac3865563b69e60')
    >>> folder_name("https://gist.github.com/someone/034c6ac3865563b69e60/")
    'someone-034c6ac3865563b69e60'
    """
    text = ref.strip().rstrip("/")
    if "://" in text:
        text = urlsplit(text).path.strip("/")
    name = text.replace("/", "-")
    if not is_plain_name(name):
        raise UsageError(f"{ref!r}: not a gist id, user/id or gist URL")
    return name


def download_new(ref: str, dirname: Path, *, environ: Mapping[str, str] | None = None
                 ) -> SyncResult:
    """``download-gist GIST [DIRNAME]``: gist ``ref`` into a new folder
    ``DIRNAME/<GIST with '/' replaced by '-'>`` (:func:`folder_name`), which appears whole
    or not at all.

    Raises
    ------
    ExistsError
        The folder exists (nothing is written).
    GistError
        As :func:`pull`.
    """
    target = dirname / folder_name(ref)
    if target.exists() or target.is_symlink():
        raise ExistsError(str(target), "already exists; make sure you are not overwriting "
                          "anything important", hint=f"remove it, or zoo-vcs gist pull {ref} "
                          f"{target} to update it")
    dirname.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=dirname))
    try:
        result = pull(ref, stage, environ=environ)
        os.rename(stage, target)  # the folder appears complete, or not at all
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    result.folder = target
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
