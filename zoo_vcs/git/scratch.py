"""Git run as a process, for what GitPython does not cover: scratch clones of gists (a
token passed to git without touching disk or argv), the credential helper, and the files
git would publish from a folder. One runner; its failures become ``GitError`` here, with
any token scrubbed from git's messages.
"""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from zoo_vcs.errors import GitError


def run(cwd: Path, args: list[str], *, what: str, env: Mapping[str, str] | None = None,
        token: str | None = None, input: bytes | None = None) -> bytes:
    """``git ARGS`` in ``cwd``; its standard output. Raises ``GitError`` naming ``what``."""
    proc = subprocess.run(["git", *args], cwd=cwd, env=None if env is None else dict(env),
                          input=input, capture_output=True, check=False)
    if proc.returncode != 0:
        stderr = _scrub(proc.stderr.decode("utf-8", "replace"), token)
        lines = [ln for ln in stderr.splitlines() if ln.strip()]
        raise GitError(f"{what}: {lines[-1].strip() if lines else f'git exited {proc.returncode}'}")
    return proc.stdout


def _text(cwd: Path, args: list[str], what: str, *, input: bytes | None = None) -> str:
    return run(cwd, args, what=what, input=input).decode("utf-8", "replace")


def _scrub(text: str, token: str | None) -> str:
    return text.replace(token, "***") if token else text


def auth_env(url: str, token: str | None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment that gives git the token for ``url``'s host only, never on disk or argv.

    The header travels in ``GIT_CONFIG_*`` variables (like ``-c`` but invisible in the
    process list), scoped to the URL's scheme and host.
    """
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


def credential_token(url: str, env: Mapping[str, str]) -> str | None:
    """The password ``git credential fill`` knows for ``url``'s host, never prompting."""
    parts = urlsplit(url)
    host = parts.netloc
    if host == "api.github.com":
        host = "github.com"  # credentials are stored for the web host
    request = f"protocol={parts.scheme}\nhost={host}\n\n".encode()
    # Never prompt: a hook or a script has nobody to answer.
    quiet = {**env, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}
    try:
        proc = subprocess.run(["git", "credential", "fill"], input=request, capture_output=True,
                              timeout=10, check=False, env=quiet)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("password="):
            return line[len("password="):] or None
    return None


def publishable_names(folder: Path) -> set[str] | None:
    """Top-level names in ``folder`` that git tracks or would track (not ignored); None
    outside a git repository."""
    try:
        out = run(folder, ["ls-files", "-z", "--cached", "--others", "--exclude-standard",
                           "--", "."], what=f"{folder}: git ls-files")
    except GitError:
        return None
    return {p.split("/", 1)[0] for p in out.decode("utf-8", "replace").split("\0") if p}


def clone(url: str, dest: Path, *, token: str | None, what: str) -> None:
    """Clone ``url`` into ``dest`` (a scratch folder), authenticating with ``token``."""
    run(dest.parent, ["clone", "-q", "--no-checkout", url, str(dest)], what=what,
        env=auth_env(url, token), token=token)


def checkout_rev(repo: Path, rev: str, what: str) -> str:
    """Check out ``rev`` (detached) in a scratch clone; returns its full commit id."""
    sha = _text(repo, ["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
                f"{what}: no revision {rev!r}").strip()
    run(repo, ["-c", "advice.detachedHead=false", "checkout", "-q", "--force", sha], what=what)
    return sha


def current_branch(repo: Path) -> str:
    """The branch a fresh clone is on (a gist's default branch)."""
    try:
        out = _text(repo, ["symbolic-ref", "--short", "-q", "HEAD"], "git symbolic-ref").strip()
    except GitError:
        out = ""
    return out or "master"


def commit_all(repo: Path, message: str) -> str | None:
    """Stage everything and commit; returns the new commit id, or None when nothing changed."""
    run(repo, ["add", "-A"], what="staging gist files")
    if not _text(repo, ["status", "--porcelain"], "git status").strip():
        return None
    identity = []
    try:
        named = _text(repo, ["config", "user.email"], "git config").strip()
    except GitError:
        named = ""
    if not named:
        identity = ["-c", "user.name=zoo-vcs", "-c", "user.email=zoo-vcs@localhost"]
    run(repo, [*identity, "commit", "-q", "-m", message], what="committing gist files")
    return _text(repo, ["rev-parse", "HEAD"], "git rev-parse").strip()


def push_head(repo: Path, url: str, branch: str, *, token: str | None, what: str) -> None:
    """Push HEAD to ``branch`` of ``url``."""
    run(repo, ["push", "-q", url, f"HEAD:refs/heads/{branch}"], what=what,
        env=auth_env(url, token), token=token)


def tree_entries(repo: Path, rev: str = "HEAD") -> list[tuple[str, str, str]]:
    """(mode, type, name) of the top level of ``rev`` in a scratch clone."""
    out = _text(repo, ["ls-tree", "-z", rev], "git ls-tree")
    entries = []
    for item in out.split("\0"):
        if item:
            meta, _, name = item.partition("\t")
            mode, kind, _sha = meta.split()
            entries.append((mode, kind, name))
    return entries


def has_blob(repo: Path, data: bytes) -> bool:
    """Whether ``data`` is a blob anywhere in the history of a scratch clone."""
    sha = _text(repo, ["hash-object", "--stdin"], "git hash-object", input=data).strip()
    known = _text(repo, ["rev-list", "--objects", "--all"], "git rev-list")
    return any(line.split(" ", 1)[0] == sha for line in known.splitlines())


def blob_at(repo: Path, rev: str, name: str) -> bytes:
    """Bytes of ``name`` at ``rev`` in a scratch clone."""
    return run(repo, ["cat-file", "blob", f"{rev}:{name}"],
               what=f"cannot read {name} at {rev[:10]}")
