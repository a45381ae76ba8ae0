"""``migrate --rewrite-history``: every commit of the local branches and tags gets pointers in
place of its binaries, through git-filter-repo (:mod:`zoo_vcs.git.rewrite`).

Each rewritten commit is what ``zoo-vcs add`` would have made of it: each binary's
pointer (``sha1``, ``size``, and the readme's URL where the readme vouches for these
bytes), the readme's ``sha1``/``caffemodel`` in step, and a ``.gitignore`` line per binary.
Every version's bytes go into the object cache before any ref moves, so ``zoo-vcs checkout``
restores any old commit. Each ref first gets a backup ref (``refs/zoo-vcs/backup/heads/main``
for ``refs/heads/main``); a failure puts the refs and the work tree back as they were.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from zoo_vcs.errors import FrontmatterError, PathError, UsageError, ZooError
from zoo_vcs.formats import pointer as ptr
from zoo_vcs.git import history as githistory
from zoo_vcs.git import repo as gitrepo
from zoo_vcs.git.rewrite import Change
from zoo_vcs.git.rewrite import rewrite as rewrite_refs
from zoo_vcs.ops.migrate import MigrateResult, Version
from zoo_vcs.ops.readme_sync import Readmes
from zoo_vcs.repo import modeldir
from zoo_vcs.repo.context import Repository
from zoo_vcs.repo.ignore import line_for, with_lines
from zoo_vcs.repo.paths import confine
from zoo_vcs.storage.hashing import Digests

if TYPE_CHECKING:
    from zoo_vcs.formats.frontmatter import Readme

log = logging.getLogger(__name__)

#: Where the refs as they were before a rewrite are kept.
BACKUP_PREFIX = "refs/zoo-vcs/backup/"


def backup_ref(ref: str) -> str:
    """The backup of ``ref``: git's layout under :data:`BACKUP_PREFIX` (branches and tags
    may share a name).

    >>> backup_ref("refs/heads/main")
    'refs/zoo-vcs/backup/heads/main'
    """
    return BACKUP_PREFIX + ref.removeprefix("refs/")


def rewrite(repo: Repository, planned: MigrateResult, select: Callable[[str], bool]
            ) -> MigrateResult:
    """Rewrite the history of every local branch and tag (``planned``: see
    :func:`zoo_vcs.ops.migrate.plan`); the workspace binaries stay as they are.

    Raises
    ------
    UsageError
        HEAD is detached, other worktrees share the repository, or backups of an earlier
        migration are still there.
    GitError
        git or git-filter-repo failed (refs and work tree are then put back).
    """
    root = repo.root
    if not planned.versions:
        return planned
    refs = githistory.refs(root, "refs/heads", "refs/tags")
    backups = {ref: backup_ref(ref) for ref in sorted(refs)}
    _refuse(root, backups)
    # Every version is in the cache before any ref moves: a failure here changes nothing.
    digests = _store_all(repo, sorted({v.blob for v in planned.versions}))
    try:
        for ref, backup in backups.items():
            githistory.update_ref(root, backup, refs[ref], message="zoo-vcs migrate: backup")
        # The rewrite ends with `git reset --hard`, which would delete the binaries that
        # leave HEAD's tree: out of the index first, they stay (untracked, then ignored).
        if planned.files:
            githistory.untrack(root, [repo.relpath(v.path) for v in planned.files])
        with gitrepo.CommitReader(root) as reader:
            editor = _Editor(repo, reader, select, digests)
            rewrite_refs(root, sorted(refs), editor.edit)
    except BaseException:
        _restore(root, refs, backups)
        raise
    for v in planned.files:
        repo.stats.put(str(v.path), v.path.stat(), digests[v.blob].sha1)
    repo.save()
    planned.files = [_stored(v, digests) for v in planned.files]
    planned.versions = [_stored(v, digests) for v in planned.versions]
    planned.backups, planned.commits = backups, editor.commits
    return planned


def _stored(v: Version, digests: Mapping[str, Digests]) -> Version:
    return Version(v.path, v.blob, v.size, digests[v.blob].sha1)


def _refuse(root: Path, backups: Mapping[str, str]) -> None:
    if githistory.head_branch(root) is None:
        raise UsageError("HEAD is detached; check out a branch before rewriting history")
    if githistory.worktree_count(root) > 1:
        raise UsageError("other worktrees share this repository; rewriting history would "
                         "leave them on the old commits", hint="git worktree list; "
                         "git worktree remove PATH")
    left = sorted(set(githistory.refs(root, BACKUP_PREFIX.rstrip("/"))) & set(backups.values()))
    if left:
        raise UsageError(f"{left[0]}: a backup of an earlier migration is still there",
                         hint=f"once you no longer need it: git update-ref -d {left[0]}")


def _store_all(repo: Repository, blobs: Sequence[str]) -> dict[str, Digests]:
    """Every version's bytes streamed from git into the object cache, in parallel."""
    repo.cache.clean_tmp()
    with ThreadPoolExecutor(max_workers=max(1, min(repo.config.jobs, len(blobs)))) as pool:
        return dict(zip(blobs, pool.map(lambda b: _store(repo, b), blobs), strict=True))


def _store(repo: Repository, blob: str) -> Digests:
    with githistory.open_blob(repo.root, blob) as stream:
        return repo.cache.add_stream(stream, sha256=repo.config.sha256)


def _restore(root: Path, refs: Mapping[str, str], backups: Mapping[str, str]) -> None:
    """Put the refs, the index and the work tree back as they were before the rewrite."""
    try:
        for ref, target in refs.items():
            githistory.update_ref(root, ref, target, message="zoo-vcs migrate: rolled back")
        githistory.reset_hard(root)  # the tree was clean: nothing of the user's is lost
        for backup in backups.values():
            githistory.delete_ref(root, backup)
    except ZooError as exc:
        log.error("could not put the repository back (%s); the old history is in %s",
                  exc, BACKUP_PREFIX)


class _Editor:
    """What each commit's changes become (the callback of the rewrite)."""

    def __init__(self, repo: Repository, reader: gitrepo.CommitReader,
                 select: Callable[[str], bool], digests: dict[str, Digests]) -> None:
        self.repo = repo
        self.reader = reader
        self.select = select
        self.digests = digests
        self.commits = 0

    def edit(self, commit: str, changes: list[Change]) -> list[Change]:
        self.commits += 1
        out: dict[str, Change] = {}
        binaries: dict[str, str] = {}
        folders: set[str] = set()
        readmes: list[str] = []
        for c in changes:
            folder, _, name = c.path.rpartition("/")
            if self.select(c.path) and (c.deleted or c.mode in githistory.FILE_MODES):
                folders.add(folder)
                if c.blob is not None:
                    binaries[c.path] = c.blob
                    continue
                out[c.path + ptr.SUFFIX] = Change(c.path + ptr.SUFFIX)
            out[c.path] = c
            if name == ".gitignore":
                folders.add(folder)
            elif modeldir.is_readme(name) and not c.deleted:
                readmes.append(c.path)
        # A readme edited in this commit may vouch for other bytes: its binaries' pointers
        # (and its sha1) are worked out again.
        for readme in readmes:
            for path, blob in self._named_by(commit, readme):
                binaries.setdefault(path, blob)
        if binaries:
            out.update(self._pointers(commit, binaries))
        for folder in sorted(folders):
            gitignore = self._gitignore(commit, folder)
            out[gitignore.path] = gitignore
        return list(out.values())

    def _pointers(self, commit: str, binaries: Mapping[str, str]
                  ) -> Iterator[tuple[str, Change]]:
        """The pointer of each binary, and the readmes it edits, as ``zoo-vcs add`` would."""
        source = _CommitReadmes(self.repo.root, self.reader, commit)
        readmes = Readmes(self.repo.root, source)
        for path, blob in sorted(binaries.items()):
            if blob not in self.digests:  # not in the plan: stored now (never seen so far)
                self.digests[blob] = _store(self.repo, blob)
            d = self.digests[blob]
            pointer = ptr.Pointer(sha1=d.sha1, size=d.size, sha256=d.sha256)
            synced = readmes.sync(self.repo.root / path, d.sha1, pointer)
            if synced is not None:
                pointer = synced[1]
            yield path + ptr.SUFFIX, Change(path + ptr.SUFFIX,
                                            data=ptr.encode(pointer).encode("utf-8"))
        for rel, (text, mode) in source.edited.items():
            yield rel, Change(rel, mode=mode, data=text.encode("utf-8"))

    def _named_by(self, commit: str, readme: str) -> Iterator[tuple[str, str]]:
        """(path, blob) of the binaries at ``commit`` that ``readme`` names."""
        folder = readme.rpartition("/")[0]
        try:
            parsed = modeldir.parse(modeldir.decode_text(
                self.reader.read(commit, readme) or b"", readme), readme)
        except ZooError:
            return  # reported when the readme is synced, if a binary of it changes
        for model in parsed.models:
            if not model.caffemodel:
                continue
            try:
                full = confine(self.repo.root / folder, model.caffemodel, what="caffemodel")
            except PathError:
                continue
            path = full.relative_to(self.repo.root).as_posix()
            if not self.select(path):
                continue
            for f in self.reader.files(commit, path.rpartition("/")[0]):
                if f.path == path:
                    yield path, f.blob

    def _gitignore(self, commit: str, folder: str) -> Change:
        """The folder's ``.gitignore`` at ``commit`` with a line for each of its binaries."""
        path = f"{folder}/.gitignore" if folder else ".gitignore"
        files = self.reader.files(commit, folder)
        current = next((f for f in files if f.path == path), None)
        lines = [line_for(f.path.rpartition("/")[2]) for f in files if self.select(f.path)]
        if not lines:
            return Change(path, current.blob, current.mode) if current else Change(path)
        text = (self.reader.read(commit, path) or b"").decode("utf-8", "surrogateescape")
        return Change(path, mode=current.mode if current else "100644",
                      data=with_lines(text, lines).encode("utf-8", "surrogateescape"))


class _CommitReadmes:
    """The readmes of one commit's tree, as a :class:`~zoo_vcs.ops.readme_sync.ReadmeSource`;
    edits are kept in ``edited`` (path -> text, mode) for the rewritten commit."""

    def __init__(self, root: Path, reader: gitrepo.CommitReader, commit: str) -> None:
        self.root = root
        self.reader = reader
        self.commit = commit
        self.edited: dict[str, tuple[str, str]] = {}
        self._modes: dict[str, str] = {}

    def _rel(self, path: Path) -> str:
        rel = path.relative_to(self.root).as_posix()
        return "" if rel == "." else rel

    def _text(self, rel: str) -> str:
        if rel in self.edited:
            return self.edited[rel][0]
        data = self.reader.read(self.commit, rel)
        if data is None:
            raise FrontmatterError(rel, f"not in commit {self.commit[:12]}")
        return modeldir.decode_text(data, rel)

    def find(self, folder: Path) -> Path | None:
        files = {f.path.rpartition("/")[2]: f for f in
                 self.reader.files(self.commit, self._rel(folder))}
        name = modeldir.pick_readme(files)
        if name is None:
            return None
        self._modes[files[name].path] = files[name].mode
        return folder / name

    def load(self, readme: Path) -> Readme:
        rel = self._rel(readme)
        return modeldir.parse(self._text(rel), f"{self.commit[:12]}:{rel}")

    def update(self, readme: Path, updates: Mapping[str, str | None], model: int,
               canonical: bool) -> None:
        rel = self._rel(readme)
        text = modeldir.edit(self._text(rel), updates, f"{self.commit[:12]}:{rel}",
                             model=model, canonical=canonical)
        self.edited[rel] = (text, self._modes.get(rel, "100644"))
