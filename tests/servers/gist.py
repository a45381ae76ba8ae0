"""Loopback (127.0.0.1) GitHub Gist REST API emulator; each gist is a bare git repo over HTTP."""

from __future__ import annotations

import base64
import binascii
import json
import mimetypes
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.servers.githttp import (
    LoopbackHandler,
    ThreadedServer,
    backend_path,
    read_body,
    run_backend,
)

__all__ = ["GistEmulator"]

HOST = "127.0.0.1"
API_PREFIX = "/api/v3"
BRANCH = "master"
ZERO_SHA = "0" * 40
MAX_CONTENT = 1 << 20  # the API returns at most 1 MiB of each file's content
MAX_FILES = 300  # the API lists at most 300 files of a gist
CHUNK = 64 << 10
BODY_TIMEOUT = 60.0  # how long a git response waits for the rest of its request body
DOCS = "https://docs.github.com/rest"
GIST_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
SHA = re.compile(r"[0-9a-f]{4,40}")
LANGUAGES = {
    ".md": "Markdown", ".markdown": "Markdown", ".py": "Python", ".txt": "Text",
    ".json": "JSON", ".yml": "YAML", ".yaml": "YAML", ".sh": "Shell", ".c": "C",
    ".cpp": "C++", ".h": "C", ".js": "JavaScript", ".html": "HTML", ".toml": "TOML",
    ".prototxt": "Protocol Buffer Text Format", ".m": "MATLAB", ".lua": "Lua",
}
PRE_RECEIVE = f"""#!/bin/sh
# Installed by tests/servers/gist.py: refuse what GitHub gists refuse.
status=0
while read -r old new ref; do
    if [ "$ref" != "refs/heads/{BRANCH}" ]; then
        echo "Gist does not support pushing $ref: only refs/heads/{BRANCH} is allowed." >&2
        status=1
        continue
    fi
    if [ "$new" = "{ZERO_SHA}" ]; then
        echo "Gist does not support deleting its {BRANCH} branch." >&2
        status=1
        continue
    fi
    if [ -n "$(git ls-tree "$new" | awk '$2 != "blob"')" ]; then
        echo "Gist does not support directories." >&2
        echo "These are the directories that are causing problems:" >&2
        git ls-tree --name-only -d "$new" >&2
        status=1
    fi
done
exit $status
"""


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _as_bytes(data: bytes | str) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


def _user_id(login: str) -> int:
    return zlib.crc32(login.encode()) % 90_000_000 + 1_000_000


def _git_env() -> dict[str, str]:
    """A git environment that ignores the caller's git variables and user/system config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, GIT_TERMINAL_PROMPT="0",
               LC_ALL="C")
    return env


class ApiError(Exception):
    """An error answer of the REST API."""

    def __init__(self, status: int, message: str, *, errors: list[dict] | None = None,
                 headers: dict[str, str] | None = None, doc: str = DOCS) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"message": message}
        if errors is not None:
            self.body["errors"] = errors
        self.body.update(documentation_url=doc, status=str(status))
        self.headers = headers or {}


class GistEmulator(ThreadedServer):
    """GitHub Gist REST API + git smart HTTP on 127.0.0.1; every gist is ``root/<id>.git``."""

    name = "gist-emulator"

    def __init__(self, root: Path, tokens: dict[str, str] | None = None) -> None:
        super().__init__()
        self.root = Path(root)
        self.tokens = dict(tokens) if tokens is not None else {"test-token": "zoo-tester"}
        self.requests: list[dict] = []
        self.rate_limited = False
        self.cgi_errors: list[str] = []  # stderr of git http-backend, for debugging
        self._overrides: dict[str, dict[str, dict]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._backend = backend_path()

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def api_url(self) -> str:
        return self.base_url + API_PREFIX

    def start(self) -> GistEmulator:
        self.root.mkdir(parents=True, exist_ok=True)
        return super().start()  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ git plumbing

    def _git(self, *args: str, repo: Path | None = None, input: bytes | None = None,
             env: dict[str, str] | None = None, check: bool = True) -> bytes:
        cmd = ["git"] + (["--git-dir", str(repo)] if repo is not None else []) + list(args)
        proc = subprocess.run(cmd, input=input, capture_output=True,
                              env={**_git_env(), **(env or {})}, check=False)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.decode(errors='replace')}")
        return proc.stdout

    def repo_path(self, gist_id: str) -> Path:
        if not GIST_ID.fullmatch(gist_id):
            raise KeyError(gist_id)
        return self.root / f"{gist_id}.git"

    def _exists(self, gist_id: str) -> bool:
        return (GIST_ID.fullmatch(gist_id) is not None
                and (self.repo_path(gist_id) / "HEAD").is_file())

    def _lock(self, gist_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(gist_id, threading.Lock())

    def _meta(self, gist_id: str) -> dict[str, str]:
        out = self._git("config", "-z", "--get-regexp", r"^gist\.", repo=self.repo_path(gist_id),
                        check=False)
        meta = {}
        for item in out.decode("utf-8", "replace").split("\0"):
            if item:
                key, _, value = item.partition("\n")
                meta[key.removeprefix("gist.")] = value
        return meta

    def _set_meta(self, gist_id: str, key: str, value: str) -> None:
        self._git("config", f"gist.{key}", value, repo=self.repo_path(gist_id))

    def _head(self, gist_id: str) -> str | None:
        out = self._git("rev-parse", "-q", "--verify", f"refs/heads/{BRANCH}^{{commit}}",
                        repo=self.repo_path(gist_id), check=False)
        return out.decode().strip() or None

    def _resolve(self, gist_id: str, revision: str) -> str | None:
        """Full sha of ``revision`` if it is a commit in the gist's history."""
        if not SHA.fullmatch(revision):
            return None
        out = self._git("rev-parse", "-q", "--verify", f"{revision}^{{commit}}",
                        repo=self.repo_path(gist_id), check=False).decode().strip()
        if not out or out not in self.revisions(gist_id):
            return None
        return out

    def _tree(self, gist_id: str, commit: str) -> list[tuple[str, str, str, int]]:
        """(path, mode, blob sha, size) of every blob in ``commit``, recursively, in git order."""
        out = self._git("ls-tree", "-r", "-z", "-l", "--full-tree", commit,
                        repo=self.repo_path(gist_id))
        entries = []
        for item in out.split(b"\0"):
            if not item:
                continue
            info, _, path = item.partition(b"\t")
            mode, kind, sha, size = info.decode().split()
            if kind == "blob":
                entries.append((path.decode("utf-8", "surrogateescape"), mode, sha, int(size)))
        return entries

    def _blobs(self, gist_id: str, shas: list[str]) -> dict[str, bytes]:
        if not shas:
            return {}
        out = self._git("cat-file", "--batch", repo=self.repo_path(gist_id),
                        input="".join(s + "\n" for s in shas).encode())
        blobs, pos = {}, 0
        while pos < len(out):
            nl = out.index(b"\n", pos)
            sha, _kind, size = out[pos:nl].decode().split()
            start = nl + 1
            blobs[sha] = out[start:start + int(size)]
            pos = start + int(size) + 1
        return blobs

    def _log(self, gist_id: str, tip: str) -> list[dict[str, Any]]:
        """History of ``tip``, newest first: sha, committed_at epoch, additions, deletions."""
        out = self._git("-c", "core.quotePath=true", "log", "--root", "--no-renames", "--numstat",
                        "--format=\x01%H %ct", tip, repo=self.repo_path(gist_id))
        entries: list[dict[str, Any]] = []
        for line in out.decode("utf-8", "replace").splitlines():
            if line.startswith("\x01"):
                sha, ct = line[1:].split()
                entries.append({"sha": sha, "time": int(ct), "additions": 0, "deletions": 0})
            elif entries and (m := re.match(r"(\d+|-)\t(\d+|-)\t", line)):
                entries[-1]["additions"] += int(m[1]) if m[1] != "-" else 0
                entries[-1]["deletions"] += int(m[2]) if m[2] != "-" else 0
        return entries

    def _write_tree(self, gist_id: str, files: dict[str, tuple[str, str]]) -> str:
        """Build (nested) trees from {path: (mode, blob sha)}; returns the root tree sha."""
        repo = self.repo_path(gist_id)
        root: dict[str, Any] = {}
        for path, entry in files.items():
            parts = path.split("/")
            if any(p == "" for p in parts):
                raise ValueError(f"empty path component in {path!r}")
            node = root
            for part in parts[:-1]:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise ValueError(f"{path!r} conflicts with a file")
            if isinstance(node.get(parts[-1]), dict):
                raise ValueError(f"{path!r} conflicts with a directory")
            node[parts[-1]] = entry

        def build(node: dict[str, Any]) -> str:
            lines = []
            for name, value in node.items():
                if isinstance(value, dict):
                    lines.append(f"040000 tree {build(value)}\t{name}")
                else:
                    lines.append(f"{value[0]} blob {value[1]}\t{name}")
            data = "".join(line + "\n" for line in lines).encode("utf-8", "surrogateescape")
            return self._git("mktree", repo=repo, input=data).decode().strip()

        return build(root)

    def _hash_blobs(self, gist_id: str, contents: list[bytes]) -> list[str]:
        if not contents:
            return []
        with tempfile.TemporaryDirectory(prefix="gist-blobs-") as tmp:
            paths = []
            for i, data in enumerate(contents):
                p = Path(tmp) / str(i)
                p.write_bytes(data)
                paths.append(str(p))
            out = self._git("hash-object", "-w", "-t", "blob", "--no-filters", "--stdin-paths",
                            repo=self.repo_path(gist_id), input="\n".join(paths).encode() + b"\n")
        return out.decode().split()

    def _commit_changes(self, gist_id: str, changes: dict[str, bytes | None], message: str,
                        login: str, renames: dict[str, str] | None = None) -> str | None:
        """Apply changes on top of HEAD as a new commit on master; None if nothing changed."""
        repo = self.repo_path(gist_id)
        head = self._head(gist_id)
        tree = self._tree(gist_id, head) if head else []
        current = {p: (mode, sha) for p, mode, sha, _size in tree}
        files = dict(current)
        for old, new in (renames or {}).items():
            files[new] = files.pop(old)
        written = [(p, d) for p, d in changes.items() if d is not None]
        shas = self._hash_blobs(gist_id, [d for _p, d in written])
        for path, data in changes.items():
            if data is None:
                files.pop(path, None)
        for (path, _data), sha in zip(written, shas, strict=True):
            files[path] = (files.get(path, ("100644", ""))[0], sha)
        if head and files == current:
            return None
        tree = self._write_tree(gist_id, files)
        email = f"{login}@users.noreply.github.com"
        env = {"GIT_AUTHOR_NAME": login, "GIT_AUTHOR_EMAIL": email,
               "GIT_COMMITTER_NAME": login, "GIT_COMMITTER_EMAIL": email}
        parents = ["-p", head] if head else []
        commit = self._git("commit-tree", tree, *parents, repo=repo, env=env,
                           input=message.encode()).decode().strip()
        self._git("update-ref", f"refs/heads/{BRANCH}", commit, head or ZERO_SHA, repo=repo)
        return commit

    def _init_repo(self, gist_id: str, owner: str, public: bool,
                   description: str | None) -> Path:
        repo = self.repo_path(gist_id)
        if repo.exists():
            raise FileExistsError(f"gist {gist_id} already exists")
        self.root.mkdir(parents=True, exist_ok=True)
        self._git("init", "-q", "--bare", f"--initial-branch={BRANCH}", str(repo))
        hook = repo / "hooks" / "pre-receive"
        hook.write_text(PRE_RECEIVE)
        hook.chmod(0o755)
        self._set_meta(gist_id, "owner", owner)
        self._set_meta(gist_id, "public", "true" if public else "false")
        if description is not None:  # an absent description is null in the API
            self._set_meta(gist_id, "description", description)
        return repo

    # ------------------------------------------------------------------ test helpers

    def create(self, files: dict[str, bytes | str], *, owner: str = "zoo-tester",
               public: bool = True, description: str = "", gist_id: str | None = None) -> str:
        """Make a gist directly (one real commit); any path git trees allow, even '../x'."""
        gist_id = gist_id or secrets.token_hex(16)
        self._init_repo(gist_id, owner, public, description)
        try:
            self._commit_changes(gist_id, {p: _as_bytes(d) for p, d in files.items()}, "", owner)
        except BaseException:
            shutil.rmtree(self.repo_path(gist_id), ignore_errors=True)
            raise
        return gist_id

    def commit(self, gist_id: str, files: dict[str, bytes | str | None],
               message: str = "update") -> str:
        """Add/replace/delete (None) files as a new revision; returns the commit sha."""
        owner = self._meta(gist_id).get("owner", "zoo-tester")
        changes = {p: None if d is None else _as_bytes(d) for p, d in files.items()}
        with self._lock(gist_id):
            sha = self._commit_changes(gist_id, changes, message, owner)
        return sha or self.revisions(gist_id)[0]

    def files(self, gist_id: str, revision: str | None = None) -> dict[str, bytes]:
        """Content of every file (recursive paths) at HEAD or at ``revision``."""
        commit = revision or self._head(gist_id)
        if commit is None:
            return {}
        entries = self._tree(gist_id, commit)
        blobs = self._blobs(gist_id, [sha for _p, _m, sha, _s in entries])
        return {path: blobs[sha] for path, _m, sha, _s in entries}

    def revisions(self, gist_id: str) -> list[str]:
        """Commit shas of the gist's master branch, newest first."""
        if self._head(gist_id) is None:
            return []
        return self._git("rev-list", f"refs/heads/{BRANCH}",
                         repo=self.repo_path(gist_id)).decode().split()

    def set_api_files_override(self, gist_id: str, files: dict[str, dict] | None) -> None:
        """Make the REST answers list exactly these file entries, whatever the repo holds."""
        if files is None:
            self._overrides.pop(gist_id, None)
        else:
            self._overrides[gist_id] = {name: dict(entry) for name, entry in files.items()}

    # ------------------------------------------------------------------ JSON objects

    def user_json(self, login: str, *, full: bool = False) -> dict[str, Any]:
        uid = _user_id(login)
        api = self.api_url
        user: dict[str, Any] = {
            "login": login, "id": uid,
            "node_id": base64.b64encode(f"04:User{uid}".encode()).decode(),
            "avatar_url": f"{self.base_url}/avatars/{login}", "gravatar_id": "",
            "url": f"{api}/users/{login}", "html_url": f"{self.base_url}/{login}",
            "followers_url": f"{api}/users/{login}/followers",
            "following_url": f"{api}/users/{login}/following{{/other_user}}",
            "gists_url": f"{api}/users/{login}/gists{{/gist_id}}",
            "starred_url": f"{api}/users/{login}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/users/{login}/subscriptions",
            "organizations_url": f"{api}/users/{login}/orgs",
            "repos_url": f"{api}/users/{login}/repos",
            "events_url": f"{api}/users/{login}/events{{/privacy}}",
            "received_events_url": f"{api}/users/{login}/received_events",
            "type": "User", "user_view_type": "public", "site_admin": False,
        }
        if full:
            user.update(name=login, company=None, blog="", location=None, email=None,
                        hireable=None, bio=None, twitter_username=None,
                        public_repos=0, public_gists=0, followers=0, following=0,
                        created_at="2020-01-01T00:00:00Z", updated_at="2020-01-01T00:00:00Z")
        return user

    def _file_entry(self, owner: str, gist_id: str, commit: str, path: str, size: int,
                    data: bytes | None) -> dict[str, Any]:
        ext = os.path.splitext(path)[1].lower()
        entry: dict[str, Any] = {
            "filename": path,
            "type": mimetypes.guess_type(path)[0] or "text/plain",
            "language": LANGUAGES.get(ext),
            "raw_url": (f"{self.base_url}/{owner}/{gist_id}/raw/{commit}/"
                        + urllib.parse.quote(path)),
            "size": size,
        }
        if data is not None:
            entry["truncated"] = size > MAX_CONTENT
            entry["content"] = data[:MAX_CONTENT].decode("utf-8", "replace")
            entry["encoding"] = "utf-8"
        return entry

    def gist_json(self, gist_id: str, revision: str | None = None, *,
                  full: bool = True) -> dict[str, Any]:
        """The gist object at HEAD (or ``revision``), computed from the bare repo."""
        meta = self._meta(gist_id)
        owner = meta.get("owner", "zoo-tester")
        tip = revision or self._head(gist_id)
        log = self._log(gist_id, tip) if tip else []
        entries = self._tree(gist_id, tip) if tip else []
        listed = entries[:MAX_FILES]
        blobs = self._blobs(gist_id, [sha for _p, _m, sha, _s in listed]) if full else {}
        files = {path: self._file_entry(owner, gist_id, tip or ZERO_SHA, path, size,
                                        blobs.get(sha) if full else None)
                 for path, _mode, sha, size in listed}
        if gist_id in self._overrides:
            files = {}
            for name, given in self._overrides[gist_id].items():
                content = given.get("content")
                raw = content.encode() if isinstance(content, str) else None
                entry = self._file_entry(owner, gist_id, tip or ZERO_SHA, str(name),
                                         len(raw or b""), raw if full else None)
                entry.update(given)
                files[name] = entry
        api, base = self.api_url, self.base_url
        created = log[-1]["time"] if log else 0
        updated = max([log[0]["time"] if log else 0, int(meta.get("updated", "0") or 0)])
        gist: dict[str, Any] = {
            "url": f"{api}/gists/{gist_id}",
            "forks_url": f"{api}/gists/{gist_id}/forks",
            "commits_url": f"{api}/gists/{gist_id}/commits",
            "id": gist_id,
            "node_id": base64.b64encode(f"04:Gist{gist_id}".encode()).decode(),
            "git_pull_url": f"{base}/git/{gist_id}.git",
            "git_push_url": f"{base}/git/{gist_id}.git",
            "html_url": f"{base}/{owner}/{gist_id}",
            "files": files,
            "public": meta.get("public", "true") == "true",
            "created_at": _iso(created),
            "updated_at": _iso(updated),
            "description": meta.get("description"),
            "comments": 0,
            "comments_enabled": True,
            "user": None,
            "comments_url": f"{api}/gists/{gist_id}/comments",
            "owner": self.user_json(owner),
            "truncated": len(entries) > MAX_FILES,
        }
        if full:
            gist["forks"] = []
            gist["history"] = [self._history_entry(gist_id, owner, e) for e in log]
        return gist

    def _history_entry(self, gist_id: str, owner: str, e: dict[str, Any]) -> dict[str, Any]:
        return {
            "user": self.user_json(owner),
            "version": e["sha"],
            "committed_at": _iso(e["time"]),
            "change_status": {"total": e["additions"] + e["deletions"],
                              "additions": e["additions"], "deletions": e["deletions"]},
            "url": f"{self.api_url}/gists/{gist_id}/{e['sha']}",
        }

    def _all_gists(self) -> list[str]:
        if not self.root.is_dir():
            return []
        ids = [p.name[:-4] for p in self.root.iterdir() if p.name.endswith(".git")]
        return [i for i in ids if self._exists(i)]

    # ------------------------------------------------------------------ REST API

    def login_for(self, authorization: str | None) -> tuple[bool, str | None]:
        """(credentials given, login) from an Authorization header (token, Bearer or Basic)."""
        if not authorization:
            return False, None
        scheme, _, value = authorization.strip().partition(" ")
        value = value.strip()
        if scheme.lower() in ("token", "bearer"):
            return True, self.tokens.get(value)
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return True, None
            return True, self.tokens.get(password) or self.tokens.get(user)
        return True, None

    def rate_headers(self, remaining: int) -> dict[str, str]:
        return {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Used": str(5000 - remaining), "X-RateLimit-Resource": "core",
                "X-RateLimit-Reset": str(int(time.time()) + 60)}

    def api(self, method: str, path: str, query: dict[str, list[str]], body: bytes,
            authorization: str | None) -> tuple[int, Any, dict[str, str]]:
        """Answer one REST call: (status, JSON body or None, extra headers)."""
        given, login = self.login_for(authorization)
        if self.rate_limited:
            uid = _user_id(login) if login else 1
            raise ApiError(403, f"API rate limit exceeded for user ID {uid}.",
                           headers=self.rate_headers(0),
                           doc="https://docs.github.com/rest/overview/rate-limits-for-the-rest-api")
        if given and login is None:
            raise ApiError(401, "Bad credentials")
        parts = [urllib.parse.unquote(p) for p in path.split("/") if p]
        data = self._json_body(body) if method in ("POST", "PATCH", "PUT") else None
        match (method, parts):
            case ("GET", ["user"]):
                return 200, self.user_json(self._need(login), full=True), {}
            case ("GET", ["users", name]) if name in self._known_users():
                return 200, self.user_json(name, full=True), {}
            case ("GET", ["gists"]):
                ids = [i for i in self._all_gists()
                       if (self._meta(i).get("owner") == login if login
                           else self._meta(i).get("public") == "true")]
                return self._page([self.gist_json(i, full=False) for i in ids], path, query)
            case ("GET", ["users", name, "gists"]):
                ids = [i for i in self._all_gists() if self._meta(i).get("owner") == name
                       and (login == name or self._meta(i).get("public") == "true")]
                return self._page([self.gist_json(i, full=False) for i in ids], path, query)
            case ("POST", ["gists"]):
                return 201, self._create_from_api(self._need(login), data), {}
            case ("GET", ["gists", gist_id]):
                return 200, self.gist_json(self._found(gist_id)), {}
            case ("PATCH", ["gists", gist_id]):
                return 200, self._edit_from_api(self._owned(gist_id, login), data, login), {}
            case ("DELETE", ["gists", gist_id]):
                gist_id = self._owned(gist_id, login)
                with self._lock(gist_id):
                    shutil.rmtree(self.repo_path(gist_id))
                self._overrides.pop(gist_id, None)
                return 204, None, {}
            case ("GET", ["gists", gist_id, "commits"]):
                gist_id = self._found(gist_id)
                head = self._head(gist_id)
                owner = self._meta(gist_id).get("owner", "")
                items = [self._history_entry(gist_id, owner, e)
                         for e in (self._log(gist_id, head) if head else [])]
                return self._page(items, path, query)
            case ("GET", ["gists", gist_id, "comments" | "forks"]):
                self._found(gist_id)
                return 200, [], {}
            case ("GET", ["gists", gist_id, revision]):
                gist_id = self._found(gist_id)
                sha = self._resolve(gist_id, revision)
                if sha is None:
                    raise ApiError(404, "Not Found")
                return 200, self.gist_json(gist_id, sha), {}
        raise ApiError(404, "Not Found")

    def _known_users(self) -> set[str]:
        owners = {self._meta(i).get("owner", "") for i in self._all_gists()}
        return set(self.tokens.values()) | owners

    @staticmethod
    def _json_body(body: bytes) -> Any:
        if not body:
            return {}
        try:
            return json.loads(body)
        except ValueError:
            raise ApiError(400, "Problems parsing JSON") from None

    @staticmethod
    def _need(login: str | None) -> str:
        if login is None:
            raise ApiError(401, "Requires authentication")
        return login

    def _found(self, gist_id: str) -> str:
        if not self._exists(gist_id):
            raise ApiError(404, "Not Found")
        return gist_id

    def _owned(self, gist_id: str, login: str | None) -> str:
        self._need(login)
        self._found(gist_id)
        if self._meta(gist_id).get("owner") != login:
            raise ApiError(404, "Not Found")
        return gist_id

    def _page(self, items: list, path: str, query: dict[str, list[str]]
              ) -> tuple[int, Any, dict[str, str]]:
        try:
            per_page = max(1, min(100, int(query.get("per_page", ["30"])[0])))
            page = max(1, int(query.get("page", ["1"])[0]))
        except ValueError:
            per_page, page = 30, 1
        last = max(1, -(-len(items) // per_page))
        links = []
        for rel, number in (("prev", page - 1), ("next", page + 1), ("last", last), ("first", 1)):
            if (rel in ("prev", "first") and page > 1) or (rel in ("next", "last") and page < last):
                q = {**{k: v[0] for k, v in query.items()}, "per_page": per_page, "page": number}
                links.append(f'<{self.api_url}{path}?{urllib.parse.urlencode(q)}>; rel="{rel}"')
        headers = {"Link": ", ".join(links)} if links else {}
        return 200, items[(page - 1) * per_page: page * per_page], headers

    @staticmethod
    def _invalid(field: str, code: str, message: str | None = None) -> ApiError:
        error = {"resource": "Gist", "field": field, "code": code}
        if message:
            error["message"] = message
        return ApiError(422, "Validation Failed", errors=[error],
                        doc="https://docs.github.com/rest/gists/gists")

    def _check_name(self, name: Any) -> str:
        if not isinstance(name, str) or not name.strip():
            raise self._invalid("files", "missing_field")
        if "/" in name:
            raise self._invalid("files", "invalid", "Filename can't contain a slash (/)")
        return name

    def _create_from_api(self, login: str, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise ApiError(400, "Problems parsing JSON")
        files = data.get("files")
        if not isinstance(files, dict) or not files:
            raise self._invalid("files", "missing_field")
        contents: dict[str, bytes] = {}
        for name, spec in files.items():
            self._check_name(name)
            content = spec.get("content") if isinstance(spec, dict) else None
            if not isinstance(content, str) or content == "":
                raise self._invalid("files", "missing_field", f"Contents of {name} can't be blank")
            contents[name] = content.encode("utf-8")
        description = data.get("description")
        public = data.get("public", False)
        if isinstance(public, str):
            public = public.lower() == "true"
        gist_id = secrets.token_hex(16)
        self._init_repo(gist_id, login, bool(public),
                        None if description is None else str(description))
        self._commit_changes(gist_id, contents, "", login)
        return self.gist_json(gist_id)

    def _edit_from_api(self, gist_id: str, data: Any, login: str | None) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise ApiError(400, "Problems parsing JSON")
        files = data.get("files") or {}
        if not isinstance(files, dict):
            raise self._invalid("files", "invalid")
        with self._lock(gist_id):
            head = self._head(gist_id)
            current = {p for p, *_ in self._tree(gist_id, head)} if head else set()
            changes: dict[str, bytes | None] = {}
            renames: dict[str, str] = {}
            for name, spec in files.items():
                self._check_name(name)
                if spec is None or (isinstance(spec, dict) and spec.get("content") == ""
                                    and "filename" not in spec):
                    if name not in current:
                        raise self._invalid("files", "missing_field", f"{name} does not exist")
                    changes[name] = None
                    continue
                if not isinstance(spec, dict):
                    raise self._invalid("files", "invalid")
                target = name
                if spec.get("filename") not in (None, name):
                    target = self._check_name(spec["filename"])
                    if name not in current:
                        raise self._invalid("files", "missing_field", f"{name} does not exist")
                    if target in current or target in renames.values():
                        raise self._invalid("files", "already_exists", f"{target} already exists")
                    renames[name] = target
                content = spec.get("content")
                if content == "" and target != name:
                    content = None  # PyGithub renames with InputFileContent("", new_name=...)
                if content is not None:
                    if not isinstance(content, str) or content == "":
                        raise self._invalid("files", "missing_field",
                                            f"Contents of {name} can't be blank")
                    changes[target] = content.encode("utf-8")
                elif target == name and name not in current:
                    raise self._invalid("files", "missing_field", f"{name} does not exist")
            remaining = (current - set(renames)) | set(renames.values())
            remaining = (remaining | {p for p, d in changes.items() if d is not None}) - {
                p for p, d in changes.items() if d is None}
            if not remaining:
                raise self._invalid("files", "missing_field", "A gist needs at least one file")
            if "description" in data:
                self._set_meta(gist_id, "description", str(data["description"] or ""))
                self._set_meta(gist_id, "updated", str(int(time.time())))
            if changes or renames:
                self._commit_changes(gist_id, changes, "", login or "", renames=renames)
        return self.gist_json(gist_id)

    # ------------------------------------------------------------------ raw + git routing

    def raw(self, parts: list[str]) -> bytes | None:
        """Bytes for ``/{owner}/{id}/raw/[{sha}/]{filename}``, or None when unknown."""
        if len(parts) < 4 or parts[2] != "raw" or not self._exists(parts[1]):
            return None
        gist_id = parts[1]
        rest = parts[3:]
        commit = self._resolve(gist_id, rest[0]) if len(rest) > 1 else None
        if commit is not None:
            rest = rest[1:]
        else:
            commit = self._head(gist_id)
        name = "/".join(rest)
        override = self._overrides.get(gist_id, {}).get(name)
        if override is not None and isinstance(override.get("content"), str):
            return override["content"].encode()
        for path, _mode, sha, _size in self._tree(gist_id, commit) if commit else []:
            if path == name:
                return self._blobs(gist_id, [sha])[sha]
        return None

    def cgi_env(self, gist_id: str, rest: str, method: str, query: str,
                headers: dict[str, str], remote_addr: str, login: str | None) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C",
            "HOME": str(self.root), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_PROJECT_ROOT": str(self.root), "GIT_HTTP_EXPORT_ALL": "1",
            "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1",
            "SERVER_SOFTWARE": "gist-emulator", "SERVER_NAME": HOST, "SERVER_PORT": str(self.port),
            "SCRIPT_NAME": "/git", "PATH_INFO": f"/{gist_id}.git{rest}",
            "QUERY_STRING": query, "REQUEST_METHOD": method, "REMOTE_ADDR": remote_addr,
        }
        if "content-type" in headers:
            env["CONTENT_TYPE"] = headers["content-type"]
        if "content-length" in headers:
            env["CONTENT_LENGTH"] = headers["content-length"]
        if login:
            env["REMOTE_USER"] = login
            env["AUTH_TYPE"] = "Basic"
        for name, value in headers.items():
            if name not in ("authorization", "proxy-authorization", "content-type",
                            "content-length"):
                env["HTTP_" + name.upper().replace("-", "_")] = value
        return env


class _Handler(LoopbackHandler):
    server_version = "GitHub.com"
    sys_version = ""

    @property
    def emu(self) -> GistEmulator:
        return self.server.owner  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = do_GET

    # ------------------------------------------------------------------ plumbing

    def _record(self, body: bytes) -> dict[str, Any]:
        split = urllib.parse.urlsplit(self.path)
        entry = {"method": self.command, "path": split.path, "query": split.query,
                 "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
        self.emu.requests.append(entry)
        self._entry = entry
        return entry

    def _body_chunks(self) -> Iterator[bytes]:
        """The request body (Content-Length or chunked), as it arrives."""
        return read_body(self.rfile, self.headers)

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        if self._entry is not None:
            # Recorded before the answer leaves: a client that has it may look at once.
            self._entry["status"] = status
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304):
            self.wfile.write(body)

    def _dispatch(self) -> None:
        split = urllib.parse.urlsplit(self.path)
        path = split.path
        self._entry = None
        try:
            if path.startswith("/git/"):
                self._git(path, split.query)
                return
            body = b"".join(self._body_chunks())
            entry = self._record(body)
            if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
                status = self._api(path, split.query, body)
            else:
                status = self._web(path)
            entry["status"] = status
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def _api(self, path: str, query: str, body: bytes) -> int:
        emu = self.emu
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "X-GitHub-Media-Type": "github.v3; format=json",
                   "X-GitHub-Api-Version-Selected": "2022-11-28"}
        auth = self.headers.get("Authorization")
        try:
            status, data, extra = emu.api(self.command, path[len(API_PREFIX):] or "/",
                                          urllib.parse.parse_qs(query), body, auth)
            headers.update(emu.rate_headers(4999))
            if emu.login_for(auth)[1]:
                headers["X-OAuth-Scopes"] = "gist"
            headers.update(extra)
        except ApiError as err:
            status, data = err.status, err.body
            headers.update(emu.rate_headers(4999))
            headers.update(err.headers)
        except Exception as exc:  # an emulator bug: answer 500 so the test sees it
            status, data = 500, {"message": f"emulator error: {exc!r}"}
        out = b"" if data is None else json.dumps(data, indent=1).encode()
        self._send(status, out, headers)
        return status

    def _web(self, path: str) -> int:
        parts = [urllib.parse.unquote(p) for p in path.split("/") if p]
        data = self.emu.raw(parts) if self.command in ("GET", "HEAD") else None
        if data is None:
            self._send(404, b"404: Not Found", {"Content-Type": "text/plain; charset=utf-8"})
            return 404
        self._send(200, data, {"Content-Type": "text/plain; charset=utf-8",
                               "X-Content-Type-Options": "nosniff"})
        return 200

    # ------------------------------------------------------------------ git smart HTTP

    def _git(self, path: str, query: str) -> None:
        emu = self.emu
        entry = self._record(b"")
        m = re.fullmatch(r"/git/([^/]+)\.git(/.*)?", path)
        gist_id, rest = (m[1], m[2] or "/") if m else ("", "")
        if not m or not emu._exists(gist_id):
            list(self._body_chunks())
            self._send(404, b"Repository not found.\n", {"Content-Type": "text/plain"})
            return
        push = rest.endswith("/git-receive-pack") or "service=git-receive-pack" in query
        _given, login = emu.login_for(self.headers.get("Authorization"))
        if push:
            if login is None:
                list(self._body_chunks())
                self._send(401, b"Authentication failed\n",
                           {"WWW-Authenticate": 'Basic realm="GitHub"',
                            "Content-Type": "text/plain"})
                return
            owner = emu._meta(gist_id).get("owner")
            if login != owner:
                list(self._body_chunks())
                self._send(403, f"Permission to {gist_id}.git denied to {login}.\n".encode(),
                           {"Content-Type": "text/plain"})
                return
        env = emu.cgi_env(gist_id, rest, self.command, query, self.cgi_request_headers(),
                          self.client_address[0], login if push else None)
        status, body, _sent, stderr = run_backend(self, emu._backend, env, self._body_chunks())
        entry["status"] = status
        entry["body"] = body
        if stderr:
            emu.cgi_errors.append(stderr)


GistEmulator.handler = _Handler
