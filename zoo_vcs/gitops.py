"""The only GitPython user: create repositories and ask git what it knows (hooks dir, pushed
commits, staged files, blobs); git's errors become ``GitError`` here.

Imported lazily: commands that only read pointers never pay for loading GitPython.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

import git

from .errors import GitError

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



# -- scratch clones of gists (content goes through the gist's git remote) ------------------

def auth_env(url: str, token: str | None, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment that gives git the token for ``url``'s host only, never on disk or argv.

    The header travels in ``GIT_CONFIG_*`` variables (like ``-c`` but invisible in the
    process list), scoped to the URL's scheme and host.
    """
    import base64
    from urllib.parse import urlsplit

    env = dict(os.environ if base is None else base)
    env["GIT_TERMINAL_PROMPT"] = "0"
    if not token:
        return env
    parts = urlsplit(url)
    count = int(env.get("GIT_CONFIG_COUNT", "0") or 0)
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    env[f"GIT_CONFIG_KEY_{count}"] = f"http.{parts.scheme}://{parts.netloc}/.extraHeader"
    env[f"GIT_CONFIG_VALUE_{count}"] = f"Authorization: Basic {basic}"
    env["GIT_CONFIG_COUNT"] = str(count + 1)
    return env


def _scrub(text: str, token: str | None) -> str:
    return text.replace(token, "***") if token else text


def _git_in(cwd: Path, args: list[str], env: dict[str, str] | None, token: str | None,
            what: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        lines = [ln for ln in _scrub(proc.stderr, token).splitlines() if ln.strip()]
        raise GitError(f"{what}: {lines[-1].strip() if lines else f'git exited {proc.returncode}'}")
    return proc.stdout


def clone(url: str, dest: Path, *, token: str | None, what: str) -> None:
    """Clone ``url`` into ``dest`` (a scratch folder), authenticating with ``token``."""
    _git_in(dest.parent, ["clone", "-q", "--no-checkout", url, str(dest)],
            auth_env(url, token), token, what)


def checkout_rev(repo: Path, rev: str, what: str) -> str:
    """Check out ``rev`` (detached) in a scratch clone; returns its full commit id."""
    sha = _git_in(repo, ["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], None, None,
                  f"{what}: no revision {rev!r}").strip()
    _git_in(repo, ["-c", "advice.detachedHead=false", "checkout", "-q", "--force", sha], None,
            None, what)
    return sha


def current_branch(repo: Path) -> str:
    """The branch a fresh clone is on (a gist's default branch)."""
    out = subprocess.run(["git", "symbolic-ref", "--short", "-q", "HEAD"], cwd=repo,
                         capture_output=True, text=True, check=False).stdout.strip()
    return out or "master"


def commit_all(repo: Path, message: str) -> str | None:
    """Stage everything and commit; returns the new commit id, or None when nothing changed."""
    _git_in(repo, ["add", "-A"], None, None, "staging gist files")
    if not _git_in(repo, ["status", "--porcelain"], None, None, "git status").strip():
        return None
    identity = []
    if not subprocess.run(["git", "config", "user.email"], cwd=repo, capture_output=True,
                          check=False).stdout.strip():
        identity = ["-c", "user.name=zoo-vcs", "-c", "user.email=zoo-vcs@localhost"]
    _git_in(repo, [*identity, "commit", "-q", "-m", message], None, None, "committing gist files")
    return _git_in(repo, ["rev-parse", "HEAD"], None, None, "git rev-parse").strip()


def push_head(repo: Path, url: str, branch: str, *, token: str | None, what: str) -> None:
    """Push HEAD to ``branch`` of ``url``."""
    _git_in(repo, ["push", "-q", url, f"HEAD:refs/heads/{branch}"], auth_env(url, token), token,
            what)


def tree_entries(repo: Path, rev: str = "HEAD") -> list[tuple[str, str, str]]:
    """(mode, type, name) of the top level of ``rev`` in a scratch clone."""
    out = _git_in(repo, ["ls-tree", "-z", rev], None, None, "git ls-tree")
    entries = []
    for item in out.split("\0"):
        if item:
            meta, _, name = item.partition("\t")
            mode, kind, _sha = meta.split()
            entries.append((mode, kind, name))
    return entries


def has_blob(repo: Path, data: bytes) -> bool:
    """Whether ``data`` is a blob anywhere in the history of a scratch clone."""
    sha = subprocess.run(["git", "hash-object", "--stdin"], cwd=repo, input=data,
                         capture_output=True, check=False).stdout.decode().strip()
    known = subprocess.run(["git", "rev-list", "--objects", "--all"], cwd=repo,
                           capture_output=True, text=True, check=False).stdout
    return any(line.split(" ", 1)[0] == sha for line in known.splitlines())


def blob_at(repo: Path, rev: str, name: str) -> bytes:
    """Bytes of ``name`` at ``rev`` in a scratch clone."""
    proc = subprocess.run(["git", "cat-file", "blob", f"{rev}:{name}"], cwd=repo,
                          capture_output=True, check=False)
    if proc.returncode != 0:
        raise GitError(f"cannot read {name} at {rev[:10]}")
    return proc.stdout
