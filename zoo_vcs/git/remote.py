"""Read another git repository's files at a revision without cloning it: a cached, bare,
shallow (``--depth 1``), blob-filtered (``--filter=blob:none``) mirror per URL, which then
fetches only the blobs asked for (pointers, readmes, a folder's text files).

Also the plumbing both sides share, for any repository (the mirror, or the local one for
``diff``): resolve a revision, list a tree, read blobs in one batch. Runs git through
:func:`zoo_vcs.git.scratch.run`; failures are ``GitError``.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from zoo_vcs.errors import GitError, OfflineError
from zoo_vcs.git import scratch
from zoo_vcs.storage.fileio import locked
from zoo_vcs.storage.hashing import sha1_of_bytes

log = logging.getLogger(__name__)

_SHA = re.compile(r"[0-9a-f]{40}")
#: Modes of entries that are plain files (symlinks and submodules are not).
FILE_MODES = ("100644", "100755")
#: What a local upload-pack is told: serve filtered fetches and any object asked for by id
#: (a server we do not run, https:// or ssh://, decides for itself; GitHub allows both).
_LOCAL_UPLOAD_PACK = ("git -c uploadpack.allowFilter=true -c uploadpack.allowAnySHA1InWant=true "
                      "upload-pack")


@dataclass(frozen=True)
class TreeItem:
    """One entry of a recursive tree listing."""

    mode: str
    kind: str
    sha: str
    path: str

    @property
    def is_file(self) -> bool:
        """A regular file (not a symlink, a submodule or a folder)."""
        return self.kind == "blob" and self.mode in FILE_MODES


def resolve(cwd: Path, rev: str) -> str:
    """The commit ``rev`` names in the repository at ``cwd``.

    Raises
    ------
    GitError
        No such revision.
    """
    out = scratch.run(cwd, ["rev-parse", "--verify", "--quiet", "--end-of-options",
                            f"{rev}^{{commit}}"], what=f"no revision {rev!r}")
    return out.decode().strip()


def ls_tree(cwd: Path, commit: str, path: str = "") -> list[TreeItem]:
    """Every entry under ``path`` ('' for all) at ``commit``, recursively (trees included).

    Never needs a blob: safe in a blob-filtered mirror.
    """
    spec = [path] if path else []
    out = scratch.run(cwd, ["ls-tree", "-r", "-t", "-z", "--full-tree", commit, "--", *spec],
                      what=f"listing {commit[:10]}")
    items = []
    for record in out.decode("utf-8", "surrogateescape").split("\0"):
        if record:
            meta, _, name = record.partition("\t")
            mode, kind, sha = meta.split()
            items.append(TreeItem(mode, kind, sha, name))
    return items


def read_blobs(cwd: Path, shas: Iterable[str]) -> dict[str, bytes]:
    """The bytes of each blob, read in one ``cat-file --batch``."""
    wanted = list(dict.fromkeys(shas))
    if not wanted:
        return {}
    out = scratch.run(cwd, ["cat-file", "--batch"], what="reading blobs",
                      input=("\n".join(wanted) + "\n").encode())
    found: dict[str, bytes] = {}
    pos = 0
    for sha in wanted:
        end = out.index(b"\n", pos)
        header = out[pos:end].decode().split()
        pos = end + 1
        if len(header) < 3 or header[1] == "missing":
            raise GitError(f"blob {sha[:10]} is missing")
        size = int(header[2])
        found[sha] = out[pos:pos + size]
        pos += size + 1  # the LF after each object
    return found


def normalize_url(source: str, cwd: Path | None = None) -> str:
    """A repository argument as git takes it: URLs as given (less a ``git+`` prefix),
    local paths made absolute.

    >>> normalize_url("git+https://example.org/zoo.git"), normalize_url("/srv/zoo.git/")
    ('https://example.org/zoo.git', '/srv/zoo.git')
    """
    url = source.removeprefix("git+")
    if "://" in url or re.match(r"^[\w.-]+@[\w.-]+:", url):  # a URL, or scp-like user@host:
        return url
    base = cwd if cwd is not None else Path.cwd()
    return os.path.normpath(os.path.join(base, os.path.expanduser(url)))


def is_local(url: str) -> bool:
    """Whether git reaches ``url`` through a local upload-pack (a path or ``file://``)."""
    return url.startswith("file://") or ("://" not in url and not re.match(r"^[\w.-]+@", url))


class Mirror:
    """The cached mirror of one repository URL, under ``root/<key>`` (keyed by URL).

    Parameters
    ----------
    url
        Repository URL or absolute path (see :func:`normalize_url`).
    root
        Folder holding the mirrors (the user cache).
    offline
        Never contact the repository: only what an earlier call fetched can be read.
    """

    def __init__(self, url: str, root: Path, *, offline: bool = False) -> None:
        self.url = url
        self.offline = offline
        self.path = root / sha1_of_bytes(url.encode("utf-8"))[:24]
        self._env = scratch.auth_env(url, None)  # never prompt for a password

    def _git(self, args: list[str], what: str, input: bytes | None = None) -> bytes:
        return scratch.run(self.path, args, what=what, env=self._env, input=input)

    def _fetch_args(self) -> list[str]:
        base = ["fetch", "--no-tags", "--quiet", "--filter=blob:none"]
        if is_local(self.url):
            base.append(f"--upload-pack={_LOCAL_UPLOAD_PACK}")
        return base

    def _ensure(self) -> None:
        if (self.path / "HEAD").is_file():
            return
        self.path.mkdir(parents=True, exist_ok=True)
        self._git(["init", "--quiet", "--bare"], what=f"creating a mirror of {self.url}")
        # A partial clone: its promisor remote is where the missing blobs are fetched from.
        for key, value in (("core.repositoryformatversion", "1"),
                           ("extensions.partialClone", "origin"),
                           ("remote.origin.url", self.url),
                           ("remote.origin.promisor", "true"),
                           ("remote.origin.partialclonefilter", "blob:none"),
                           ("gc.auto", "0")):
            self._git(["config", key, value], what="configuring the mirror")

    def commit(self, rev: str = "HEAD") -> str:
        """The commit ``rev`` (a branch, a tag, ``HEAD`` or a full commit id) names in the
        repository, fetched shallow and without blobs (only trees) unless already here.

        Raises
        ------
        GitError
            The repository or the revision cannot be reached.
        OfflineError
            Offline, and no earlier call fetched ``rev``.
        """
        ref = "refs/zoo-vcs/revs/" + sha1_of_bytes(rev.encode("utf-8"))
        with locked(self.path.with_name(self.path.name + ".lock")):
            self._ensure()
            # A commit id names the same commit forever: once here, no need to ask again.
            for name in ((rev,) if _SHA.fullmatch(rev) else ()) + ((ref,) if self.offline
                                                                    else ()):
                try:
                    return resolve(self.path, name)
                except GitError:
                    continue
            if self.offline:
                raise OfflineError(f"{self.url} at {rev}")
            self._git([*self._fetch_args(), "--depth", "1", "origin", f"+{rev}:{ref}"],
                      what=f"{self.url}: cannot fetch {rev!r}")
            return resolve(self.path, ref)

    def blobs(self, shas: Iterable[str]) -> dict[str, bytes]:
        """The bytes of each blob, fetching in one request those the mirror lacks.

        Raises
        ------
        GitError
            The repository would not serve them.
        OfflineError
            Offline, and some were never fetched.
        """
        wanted = list(dict.fromkeys(shas))
        with locked(self.path.with_name(self.path.name + ".lock")):
            present = self._present()
            missing = [s for s in wanted if s not in present]
            if missing and self.offline:
                raise OfflineError(f"{self.url}: {len(missing)} files not in the local mirror")
            if missing:
                # What git's own lazy fetch of a partial clone runs, for all of them at once.
                self._git(["-c", "fetch.negotiationAlgorithm=noop", *self._fetch_args(),
                           "--no-write-fetch-head", "--recurse-submodules=no", "origin",
                           "--stdin"], what=f"{self.url}: cannot fetch file contents",
                          input=("\n".join(missing) + "\n").encode())
            return read_blobs(self.path, wanted)

    def _present(self) -> set[str]:
        # Listed, not asked one by one: asking a partial clone for a missing object would
        # make git fetch it, one request each.
        out = self._git(["cat-file", "--batch-check=%(objectname)", "--batch-all-objects"],
                        what="listing the mirror")
        return set(out.decode().split())

    def tree(self, commit: str, path: str = "") -> list[TreeItem]:
        """See :func:`ls_tree`."""
        return ls_tree(self.path, commit, path)
