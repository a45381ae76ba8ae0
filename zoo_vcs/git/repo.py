"""The repository's own git, through GitPython: create repositories and ask git what it
knows (hooks dir, pushed commits, publishing branch, staged files, blobs, trees at any
commit, worktrees, and the blobs that the history, the indexes and the stash hold); git's
errors become ``GitError`` here. History-wide queries and the ref and commit updates of
``migrate`` are in :mod:`zoo_vcs.git.history`.

Imported lazily: commands that only read pointers never pay for loading GitPython.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import git

from zoo_vcs.errors import GitError
from zoo_vcs.git.history import FILE_MODES, TreeFile

ZERO_SHA = "0" * 40


def _repo(root: Path) -> git.Repo:
    try:
        return git.Repo(root)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise GitError(f"{root}: not a git repository") from None


def _reason(exc: BaseException) -> str:
    stderr = getattr(exc, "stderr", None)
    text = (stderr or str(exc)).strip()
    return text.splitlines()[-1].strip() if text else type(exc).__name__


def _run(root: Path, *args: str) -> str:
    try:
        return str(_repo(root).git.execute(["git", *args], strip_newline_in_stdout=False))
    except git.GitCommandError as exc:
        raise GitError(f"git {args[0]} failed in {root}: {_reason(exc)}") from None


def init_repo(path: Path) -> None:
    """``git init`` at ``path`` (which must exist)."""
    try:
        git.Repo.init(path)
    except (git.GitError, OSError) as exc:
        raise GitError(f"{path}: git init failed: {_reason(exc)}") from None


def hooks_dir(root: Path) -> Path:
    """Where git runs hooks from: honours ``core.hooksPath`` and linked worktrees."""
    out = _run(root, "rev-parse", "--git-path", "hooks").strip()
    path = Path(out)
    return path if path.is_absolute() else (root / path).resolve()


def commits_to_push(root: Path, local_sha: str, remote_sha: str, remote_name: str) -> list[str]:
    """Commits reachable from ``local_sha`` that the remote does not have yet."""
    if remote_sha != ZERO_SHA and _has_object(root, remote_sha):
        exclude = [f"^{remote_sha}"]
    else:
        # A new branch: everything not already on any branch of that remote.
        exclude = ["--not", f"--remotes={remote_name}"] if remote_name else []
    out = _run(root, "rev-list", local_sha, *exclude)
    return out.split()


def publishing_branch(root: Path, remote_name: str) -> str:
    """The branch whose pushes publish gists: the one the remote's HEAD names (as last
    fetched), else ``main`` if it exists here, else ``master``, else ``main``."""
    if remote_name:
        try:
            ref = _repo(root).git.execute(["git", "symbolic-ref", "-q", "--short",
                                           f"refs/remotes/{remote_name}/HEAD"])
            head = str(ref).strip()
            if head.startswith(f"{remote_name}/"):
                return head[len(remote_name) + 1:]
        except git.GitCommandError:
            pass
    for name in ("main", "master"):
        if _has_ref(root, f"refs/heads/{name}"):
            return name
    return "main"


def _has_ref(root: Path, ref: str) -> bool:
    try:
        _repo(root).git.execute(["git", "show-ref", "--verify", "--quiet", ref])
    except git.GitCommandError:
        return False
    return True


def _has_object(root: Path, sha: str) -> bool:
    try:
        _repo(root).git.execute(["git", "cat-file", "-e", f"{sha}^{{commit}}"])
    except git.GitCommandError:
        return False
    return True


def _paths_touched(root: Path, commits: Iterable[str], diff_filter: str) -> set[str]:
    paths: set[str] = set()
    for commit in commits:
        out = _run(root, "diff-tree", "--no-commit-id", "-r", "--root", "-m", "--name-only",
                   f"--diff-filter={diff_filter}", "-z", commit)
        paths.update(p for p in out.split("\0") if p)
    return paths


def changed_paths(root: Path, commits: Iterable[str]) -> set[str]:
    """Paths added, modified or renamed by any of ``commits`` (repository-relative, '/')."""
    return _paths_touched(root, commits, "ACMRT")


def deleted_paths(root: Path, commits: Iterable[str]) -> set[str]:
    """Paths deleted by any of ``commits``."""
    return _paths_touched(root, commits, "D")


def read_blob(root: Path, rev: str, path: str) -> bytes | None:
    """The bytes of ``path`` at ``rev``, or None when it is not there."""
    try:
        # Bytes exactly as stored: GitPython strips a final newline unless told not to.
        return bytes(_repo(root).git.execute(["git", "cat-file", "blob", f"{rev}:{path}"],
                                             stdout_as_string=False,
                                             strip_newline_in_stdout=False))
    except git.GitCommandError:
        return None


def list_tree(root: Path, rev: str, folder: str = "") -> list[tuple[str, str, str]]:
    """(mode, type, path) of every entry under ``folder`` at ``rev``, recursively."""
    spec = [folder] if folder else []
    out = _run(root, "ls-tree", "-r", "-t", "-z", rev, "--", *spec)
    entries = []
    for item in out.split("\0"):
        if not item:
            continue
        meta, _, path = item.partition("\t")
        mode, kind, _sha = meta.split()
        entries.append((mode, kind, path))
    return entries


def staged_paths(root: Path) -> list[str]:
    """Paths added or modified in the index (what the next commit adds)."""
    out = _run(root, "diff", "--cached", "--name-only", "--diff-filter=ACMR", "-z")
    return [p for p in out.split("\0") if p]


def is_in_index(root: Path, path: str) -> bool:
    """Whether ``path`` is tracked by git (in the index)."""
    return bool(_run(root, "ls-files", "-z", "--", path).strip("\0"))


# -- what the history holds (gc) ---------------------------------------------------------

#: Decides, from a repository-relative path, whether a blob there is of interest.
PathFilter = Callable[[str], bool]
_GITLINK = b"160000"
_SYMLINK = b"120000"


@dataclass(frozen=True)
class Worktree:
    """A worktree of a repository: its folder and the commit its HEAD names (None: unborn)."""

    path: Path
    head: str | None
    bare: bool = False


def worktrees(git_dir: Path) -> list[Worktree]:
    """Every worktree of the repository whose (common) git dir is ``git_dir``, main first.

    Linked worktrees share the main repository's object cache, so each one's HEAD, index
    and files count when that cache is collected.
    """
    out = _run(git_dir, "worktree", "list", "--porcelain")
    found: list[Worktree] = []
    path: Path | None = None
    head: str | None = None
    bare = False
    for line in [*out.splitlines(), ""]:
        if line.startswith("worktree "):
            path = Path(line[len("worktree "):])
        elif line.startswith("HEAD "):
            head = line[len("HEAD "):].strip()
            head = None if head == ZERO_SHA else head
        elif line == "bare":
            bare = True
        elif not line and path is not None:
            found.append(Worktree(path, head, bare))
            path, head, bare = None, None, False
    return found


def stash_commits(git_dir: Path) -> list[str]:
    """Every stash entry (``stash@{0}``, ``stash@{1}``...): the stash's reflog."""
    if not _has_ref(git_dir, "refs/stash"):
        return []
    return _run(git_dir, "log", "-g", "--no-show-signature", "--format=%H", "refs/stash",
                "--").split()


def history_blobs(git_dir: Path, revs: Sequence[str], wanted: PathFilter) -> dict[str, str]:
    """Blob id -> a path it has, for every blob at a path ``wanted`` accepts in any commit
    reachable from ``revs`` (rev-list arguments such as ``--branches`` or commit ids).

    One ``git log --raw`` lists what each commit changed, a root commit in full and a
    merge against each parent. Every (path, blob) of every reachable commit is a change of
    some commit, so no tree is read twice and no process runs per commit or per blob.
    """
    if not revs:
        return {}
    try:
        raw = _repo(git_dir).git.execute(
            ["git", "log", "--no-color", "--no-show-signature", "--no-renames", "-m", "--root",
             "--raw", "--no-abbrev", "-z", "--format=", *revs, "--"],
            stdout_as_string=False, strip_newline_in_stdout=False)
    except git.GitCommandError as exc:
        raise GitError(f"git log failed in {git_dir}: {_reason(exc)}") from None
    found: dict[str, str] = {}
    fields = bytes(raw).split(b"\0")
    i = 0
    while i < len(fields) - 1:
        meta = fields[i].lstrip(b"\n")
        if not meta.startswith(b":"):
            i += 1
            continue
        path = os.fsdecode(fields[i + 1])
        i += 2
        # ":<old mode> <new mode> <old blob> <new blob> <status>"
        parts = meta.split()
        if len(parts) < 5 or parts[1] in (_GITLINK, _SYMLINK) or set(parts[3]) == {48}:
            continue  # a submodule, a symlink (never a pointer) or a deletion
        if wanted(path):
            found.setdefault(parts[3].decode("ascii"), path)
    return found


def index_blobs(worktree: Path, wanted: PathFilter) -> dict[str, str]:
    """Blob id -> path for every entry of ``worktree``'s index (all conflict stages) at a
    path ``wanted`` accepts."""
    try:
        raw = _repo(worktree).git.execute(["git", "ls-files", "-s", "-z"],
                                          stdout_as_string=False,
                                          strip_newline_in_stdout=False)
    except git.GitCommandError as exc:
        raise GitError(f"git ls-files failed in {worktree}: {_reason(exc)}") from None
    found: dict[str, str] = {}
    for item in bytes(raw).split(b"\0"):
        meta, _, name = item.partition(b"\t")
        parts = meta.split()
        if len(parts) != 3 or parts[0] in (_GITLINK, _SYMLINK):
            continue
        path = os.fsdecode(name)
        if wanted(path):
            found.setdefault(parts[1].decode("ascii"), path)
    return found


@dataclass(frozen=True)
class Blob:
    """A blob read from git: ``size`` None when the repository lacks it (a partial clone),
    ``data`` None when it is larger than the reader's limit."""

    id: str
    size: int | None
    data: bytes | None


def read_blobs(git_dir: Path, blob_ids: Iterable[str], *, limit: int) -> Iterator[Blob]:
    """Each blob, through one long-lived ``git cat-file --batch`` (GitPython's persistent
    reader), in the order asked."""
    repo = _repo(git_dir)
    try:
        for blob in blob_ids:
            try:
                _sha, kind, size, stream = repo.git.stream_object_data(blob)
            except ValueError:  # "<id> missing": the reader stays in step
                yield Blob(blob, None, None)
                continue
            # GitPython's annotations say str; the reader hands out git's bytes.
            name = str(kind, "ascii") if isinstance(kind, bytes) else kind
            if name != "blob" or size > limit:
                while stream.read(1 << 20):
                    pass  # drained in chunks: the next answer follows on the same pipe
                yield Blob(blob, size, None)
                continue
            yield Blob(blob, size, stream.read())
    except git.GitError as exc:
        raise GitError(f"git cat-file failed in {git_dir}: {_reason(exc)}") from None
    finally:
        repo.git.clear_cache()  # ends the cat-file process
        repo.close()


class CommitReader:
    """Files of any commit's tree, read through one GitPython repository (one long-lived
    ``git cat-file`` process, not one process per read).

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, root: Path) -> None:
        self._repo = _repo(root)

    def __enter__(self) -> CommitReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the ``git cat-file`` processes."""
        self._repo.close()

    def _object(self, rev: str, path: str) -> git.Object | None:
        try:
            tree = self._repo.commit(rev).tree
            return tree / path if path else tree
        except KeyError:
            return None
        except (ValueError, git.GitError) as exc:
            raise GitError(f"cannot read {rev}:{path}: {_reason(exc)}") from None

    def read(self, rev: str, path: str) -> bytes | None:
        """The bytes of file ``path`` at ``rev``, or None when there is no such file."""
        obj = self._object(rev, path)
        if not isinstance(obj, git.Blob):
            return None
        return bytes(obj.data_stream.read())

    def files(self, rev: str, folder: str = "") -> list[TreeFile]:
        """The regular files directly in ``folder`` at ``rev`` (none if it is no folder)."""
        obj = self._object(rev, folder)
        if not isinstance(obj, git.Tree):
            return []
        return [TreeFile(str(b.path), f"{b.mode:o}", b.hexsha, b.size) for b in obj.blobs
                if f"{b.mode:o}" in FILE_MODES]
