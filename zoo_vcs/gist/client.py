"""The only PyGithub user: find the token, create gists and read their metadata.

File content never goes through the REST API beyond the first revision: it travels over
the gist's own git remote (``git_push_url``/``git_pull_url`` from the API response), so
the gist's history is real git history. PyGithub's exceptions become ``GistError`` here.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import github
from github import Auth, Github, InputFileContent

from zoo_vcs.errors import GistError, UsageError

log = logging.getLogger(__name__)

DEFAULT_API = "https://api.github.com"
_ID_RE = re.compile(r"^[0-9a-fA-F]{20,40}$")


@dataclass(frozen=True)
class GistInfo:
    """What zoo-vcs needs to know about a gist."""

    id: str
    html_url: str
    git_pull_url: str
    git_push_url: str
    owner: str | None
    description: str
    public: bool
    files: Mapping[str, int]
    revisions: tuple[str, ...]
    truncated: bool


def api_url(environ: Mapping[str, str] | None = None) -> str:
    """The REST base URL: ``ZOO_VCS_GITHUB_API`` or api.github.com."""
    env = os.environ if environ is None else environ
    return (env.get("ZOO_VCS_GITHUB_API") or DEFAULT_API).rstrip("/")


def find_token(api: str, environ: Mapping[str, str] | None = None) -> str | None:
    """``GITHUB_TOKEN``, then ``GH_TOKEN``, then ``git credential fill`` for the API's host."""
    env = os.environ if environ is None else environ
    for name in ("GITHUB_TOKEN", "GH_TOKEN"):
        if env.get(name):
            return env[name].strip()
    from zoo_vcs.git.scratch import credential_token

    return credential_token(api, env)


def parse_gist_ref(ref: str) -> str:
    """A gist id from an id, ``user/id`` or a gist URL.

    >>> parse_gist_ref("https://gist.github.com/someone/034c6ac3865563b69e60")
    '034c6ac3865563b69e60'
    >>> parse_gist_ref("someone/034c6ac3865563b69e60.git")
    '034c6ac3865563b69e60'
    """
    text = ref.strip().rstrip("/")
    if "://" in text:
        text = urlsplit(text).path.strip("/")
    last = text.rsplit("/", 1)[-1].removesuffix(".git")
    if not _ID_RE.match(last):
        raise UsageError(f"{ref!r} is not a gist id, user/id or gist URL")
    return last.lower()


def client(token: str | None, api: str, timeout: float = 30.0) -> Github:
    """A PyGithub client for ``api``; no retries on rate limits (we report them instead)."""
    auth = Auth.Token(token) if token else None
    return Github(auth=auth, base_url=api, timeout=int(max(1, timeout)), retry=0,
                  seconds_between_requests=None, seconds_between_writes=None)


def _translate(exc: BaseException, what: str) -> GistError:
    if isinstance(exc, github.BadCredentialsException):
        return GistError(f"{what}: the GitHub token was rejected (HTTP 401)",
                         hint="check GITHUB_TOKEN (it needs the 'gist' scope)")
    if isinstance(exc, github.RateLimitExceededException):
        reset = (exc.headers or {}).get("x-ratelimit-reset")
        when = ""
        if reset and str(reset).isdigit():
            when = " until " + dt.datetime.fromtimestamp(int(reset), dt.timezone.utc).strftime(
                "%H:%M:%S UTC")
        return GistError(f"{what}: GitHub rate limit exceeded{when}",
                         hint="wait, or use a token (GITHUB_TOKEN) for a higher limit")
    if isinstance(exc, github.UnknownObjectException):
        return GistError(f"{what}: gist not found (HTTP 404)")
    if isinstance(exc, github.GithubException):
        message = exc.data.get("message") if isinstance(exc.data, dict) else None
        if exc.status == 401:
            return GistError(f"{what}: authentication required (HTTP 401)",
                             hint="set GITHUB_TOKEN to a token with the 'gist' scope")
        return GistError(f"{what}: GitHub answered HTTP {exc.status}: {message or exc.data}")
    if isinstance(exc, OSError) or type(exc).__module__.startswith(("requests", "urllib3")):
        return GistError(f"{what}: cannot reach the GitHub API ({type(exc).__name__})",
                         hint="check the network, or ZOO_VCS_GITHUB_API")
    return GistError(f"{what}: {type(exc).__name__}: {exc}")


def _info(g: Any) -> GistInfo:
    files = {name: int(getattr(f, "size", 0) or 0) for name, f in (g.files or {}).items()}
    owner = g.owner.login if getattr(g, "owner", None) is not None else None
    return GistInfo(
        id=g.id, html_url=g.html_url, git_pull_url=g.git_pull_url, git_push_url=g.git_push_url,
        owner=owner, description=g.description or "", public=bool(g.public), files=files,
        revisions=tuple(h.version for h in (g.history or [])), truncated=bool(g.truncated),
    )


def get(gist_id: str, *, token: str | None, api: str, timeout: float = 30.0) -> GistInfo:
    """Metadata of gist ``gist_id``.

    Raises
    ------
    GistError
        Not found, token rejected, rate limited, network down.
    """
    try:
        return _info(client(token, api, timeout).get_gist(gist_id))
    except Exception as exc:  # every PyGithub/requests failure, translated once
        raise _translate(exc, f"gist {gist_id}") from None


def create(files: Mapping[str, str], *, description: str, public: bool, token: str | None,
           api: str, timeout: float = 30.0) -> GistInfo:
    """Create a gist holding ``files`` (name -> text; none may be empty).

    Raises
    ------
    GistError
        No token, token rejected, validation failed (HTTP 422), network down.
    """
    if not token:
        raise GistError("creating a gist needs a GitHub token",
                        hint="set GITHUB_TOKEN (or GH_TOKEN) to a token with the 'gist' scope")
    try:
        user = client(token, api, timeout).get_user()
        g = user.create_gist(public, {n: InputFileContent(c) for n, c in files.items()},
                             description)
        return _info(g)
    except Exception as exc:
        raise _translate(exc, "creating a gist") from None


def edit_description(gist_id: str, description: str, *, token: str | None, api: str,
                     timeout: float = 30.0) -> GistInfo:
    """Set the description of gist ``gist_id`` (PyGithub's ``Gist.edit``; no new revision).

    Raises
    ------
    GistError
        No token, token rejected, not the owner, gist not found, network down.
    """
    if not token:
        raise GistError("editing a gist needs a GitHub token",
                        hint="set GITHUB_TOKEN (or GH_TOKEN) to a token with the 'gist' scope")
    try:
        g = client(token, api, timeout).get_gist(gist_id)
        g.edit(description=description)
        return _info(g)
    except Exception as exc:
        raise _translate(exc, f"gist {gist_id}") from None


@dataclass(frozen=True)
class Session:
    """The GitHub API base URL and token for one command: the preamble of every gist call."""

    api: str
    token: str | None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *,
                 write: bool = False) -> Session:
        """Resolve the API and the token (``GITHUB_TOKEN``, ``GH_TOKEN``, the credential
        helper). With ``write``, a missing token is an error here, before any request.

        Raises
        ------
        GistError
            ``write`` and no token anywhere (the message says where it was looked for).
        """
        api = api_url(environ)
        token = find_token(api, environ)
        if write and not token:
            host = urlsplit(api).netloc
            host = "github.com" if host == "api.github.com" else host
            raise GistError(
                "writing to a gist needs a GitHub token: none in GITHUB_TOKEN or GH_TOKEN, "
                f"and 'git credential fill' knows none for {host}",
                hint="create a token with the 'gist' scope and export GITHUB_TOKEN=..., or "
                     f"store it for {host} in a git credential helper")
        return cls(api, token)

    def get(self, gist_id: str) -> GistInfo:
        """Metadata of gist ``gist_id`` (see :func:`get`)."""
        return get(gist_id, token=self.token, api=self.api)

    def create(self, files: Mapping[str, str], *, description: str, public: bool) -> GistInfo:
        """Create a gist (see :func:`create`)."""
        return create(files, description=description, public=public, token=self.token,
                      api=self.api)

    def edit_description(self, gist_id: str, description: str) -> GistInfo:
        """Set a gist's description (see :func:`edit_description`)."""
        return edit_description(gist_id, description, token=self.token, api=self.api)
