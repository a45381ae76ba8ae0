"""The repository's own git, through GitPython: create repositories and ask git what it
knows (hooks dir, pushed commits, publishing branch, staged files, blobs, trees at any
commit); git's errors become ``GitError`` here. History-wide queries and the ref and
commit updates of ``migrate`` are in :mod:`zoo_vcs.git.history`.

Imported lazily: commands that only read pointers never pay for loading GitPython.
"""

from __future__ import annotations

from collections.abc import Iterable
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
