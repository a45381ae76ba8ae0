"""Resolve settings once into a frozen ``Config``: flags, ``ZOO_VCS_*``, then ``.zoo/config``.

``.zoo/config`` is committed and holds no secrets; ``.zoo/config.local`` is git-ignored
and overrides it. Both are INI files in git's style::

    [core]
    jobs = 8
    timeout = 60
    link = copy
    remote = store
    binaries = *.caffemodel, *.onnx, weights/*.npy
    [cache]
    dir = /mnt/fast/zoo-cache
    shared = group
    ["remote \"store\""]
    url = s3://my-zoo/objects
    endpoint_url = https://s3.example.org
    [fetch]
    include = models/alexnet/**, models/vgg16/*
    exclude = **/*_snapshot_*.caffemodel

Nothing here runs at import time: :func:`resolve` reads the environment when called.
"""

from __future__ import annotations

import configparser
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from zoo_vcs.errors import ConfigError
from zoo_vcs.formats.urls import object_url
from zoo_vcs.repo.select import ALL, Selection, parse_list

CONFIG_DIR = ".zoo"
CONFIG_FILE = "config"
LOCAL_CONFIG_FILE = "config.local"
LINK_TYPES = ("copy", "reflink", "hardlink", "symlink")
_REMOTE_SECTION = re.compile(r'^remote "(?P<name>[^"]+)"$')
#: Boolean remote options that also take git's words (yes/no/on/off), besides JSON's.
_BOOL_OPTIONS = {"anon", "use_ssl", "requester_pays", "version_aware"}
#: Remote options that are always strings, never JSON-parsed: secrets and names, where a
#: password ``12345`` must stay the string it is.
_STRING_OPTIONS = {"username", "user", "password", "passphrase", "account_name",
                   "account_key", "connection_string", "sas_token", "key", "secret",
                   "client_id", "client_secret", "tenant_id", "project", "host"}
_YES = ("1", "true", "yes", "on")
_NO = ("0", "false", "no", "off", "")
_SHARED_VALUES = ("", "group", "false", "no", "off", "0")
#: Files ``migrate`` treats as binaries when ``[core] binaries`` names none (SPEC 4).
DEFAULT_BINARIES = ("*.caffemodel", "*.caffemodel.h5", "*.solverstate", "*.pt", "*.pth",
                    "*.onnx", "*.safetensors", "*.bin", "*.h5")
#: Binaries whatever ``[core] binaries`` says: the Model Zoo's weights (SPEC 4).
ALWAYS_BINARIES = ("*.caffemodel",)


@dataclass(frozen=True)
class Remote:
    """A storage remote: objects live at ``<url>/sha1/<2 hex>/<38 hex>``.

    ``options`` are fsspec storage options (``endpoint_url``, ``profile``, ``anon``...).
    """

    name: str
    url: str
    options: dict[str, Any] = field(default_factory=dict)

    def object_url(self, sha1: str) -> str:
        """Where object ``sha1`` lives on this remote."""
        return object_url(self.url, sha1)


@dataclass(frozen=True)
class Config:
    """Every setting a command needs, resolved once."""

    cache_dir: Path
    jobs: int = 8
    timeout: float = 60.0
    retries: int = 4
    link: str = "copy"
    #: Also record SHA256 when adding files (same pass, ~1.5x the CPU). SHA1 alone already
    #: stops any third party from substituting bytes (that needs a second preimage).
    sha256: bool = False
    remotes: tuple[Remote, ...] = ()
    default_remote: str | None = None
    #: The branch whose pushes publish gists (``[gist] branch``); None: the remote's HEAD
    #: branch, else ``main``, else ``master``.
    gist_branch: str | None = None
    #: ``[cache] shared = group``: the cache is usable by every member of the folder's
    #: Unix group (group-writable, setgid folders; SPEC 4, Safety of stored data).
    cache_shared: bool = False
    #: Globs naming binary files (``[core] binaries``): a glob without ``/`` matches a file
    #: name in any folder, one with ``/`` the path from the repository root.
    binaries: tuple[str, ...] = DEFAULT_BINARIES

    def is_binary(self, path: str) -> bool:
        """Whether the file at ``path`` (relative to the root, ``/``-separated) is a binary.

        >>> cfg = Config(Path("/c"), binaries=("*.caffemodel", "data/*.npy"))
        >>> [cfg.is_binary(p) for p in ("m/w.caffemodel", "data/x.npy", "m/data/x.npy")]
        [True, True, False]
        """
        name = path.rsplit("/", 1)[-1]
        return any(fnmatchcase(path, g.lstrip("/")) if "/" in g else fnmatchcase(name, g)
                   for g in self.binaries)
    #: ``[fetch] include`` / ``exclude``: what checkout, fetch, pull and the restoring hooks
    #: act on when given no PATH.
    fetch: Selection = ALL
    #: No network at all (``--offline``, ``ZOO_VCS_OFFLINE=1``): only the workspace, the
    #: cache and local folders are sources.
    offline: bool = False
    #: Where ``ls``/``get`` keep their shallow mirrors of other repositories (one per URL):
    #: the user's cache, shared by every repository and command.
    mirror_dir: Path = field(default_factory=lambda: default_cache_root(None) / "git")

    def remote(self, name: str | None = None) -> Remote:
        """The remote called ``name``, or the default one.

        Raises
        ------
        ConfigError
            No such remote, or no default when ``name`` is None.
        """
        wanted = name or self.default_remote
        if wanted is None:
            if len(self.remotes) == 1:
                return self.remotes[0]
            raise ConfigError("no default remote", hint="zoo-vcs remote add NAME URL --default, "
                              "or name one with -r NAME")
        for r in self.remotes:
            if r.name == wanted:
                return r
        raise ConfigError(f"no remote named {wanted!r}",
                          hint="see 'zoo-vcs remote list'")

    def options_for(self, url: str) -> dict[str, Any]:
        """Storage options for ``url``: those of the remote whose URL is its longest prefix."""
        best: Remote | None = None
        for r in self.remotes:
            base = r.url.rstrip("/") + "/"
            if url.startswith(base) and (best is None or len(r.url) > len(best.url)):
                best = r
        return dict(best.options) if best is not None else {}


def read_ini(root: Path | None) -> configparser.ConfigParser:
    """The merged ``.zoo/config`` and ``.zoo/config.local`` of the repository at ``root``."""
    parser = configparser.ConfigParser(interpolation=None)
    if root is None:
        return parser
    for name in (CONFIG_FILE, LOCAL_CONFIG_FILE):
        path = root / CONFIG_DIR / name
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}".splitlines()[0]) from None
    return parser


def _number(value: object, name: str, kind: type[int] | type[float], minimum: float) -> float:
    try:
        number = kind(str(value))
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if number < minimum:
        raise ConfigError(f"{name} must be at least {minimum:g}, got {value!r}")
    return number


def resolve(root: Path | None, default_cache: Path, *,
            flags: Mapping[str, object] | None = None,
            environ: Mapping[str, str] | None = None) -> Config:
    """Build the :class:`Config` for a repository.

    Parameters
    ----------
    root
        Repository (or folder) root holding ``.zoo/``; None outside one.
    default_cache
        Cache folder used when nothing else names one.
    flags
        Command-line values; None entries are "not given".
    environ
        Environment to read (defaults to ``os.environ``).

    Raises
    ------
    ConfigError
        A value is malformed.
    """
    env = os.environ if environ is None else environ
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    ini = read_ini(root)

    def pick(flag: str, env_name: str, section: str, option: str) -> object:
        if flag in flags:
            return flags[flag]
        if env.get(env_name):
            return env[env_name]
        return ini.get(section, option, fallback=None)

    cache = pick("cache_dir", "ZOO_VCS_CACHE_DIR", "cache", "dir")
    cache_dir = Path(str(cache)).expanduser() if cache else default_cache
    if root is not None and not cache_dir.is_absolute():
        cache_dir = root / cache_dir
    jobs = pick("jobs", "ZOO_VCS_JOBS", "core", "jobs")
    timeout = pick("timeout", "ZOO_VCS_TIMEOUT", "core", "timeout")
    retries = pick("retries", "ZOO_VCS_RETRIES", "core", "retries")
    link = str(pick("link", "ZOO_VCS_LINK", "core", "link") or "copy")
    sha256 = _truthy(pick("sha256", "ZOO_VCS_SHA256", "core", "sha256"))
    offline = _truthy(pick("offline", "ZOO_VCS_OFFLINE", "core", "offline"))
    if link not in LINK_TYPES:
        raise ConfigError(f"link must be one of {', '.join(LINK_TYPES)}, got {link!r}")
    shared = ini.get("cache", "shared", fallback="").strip().lower()
    if shared not in _SHARED_VALUES:
        raise ConfigError(f"[cache] shared must be 'group' (or 'false'), got {shared!r}")
    remotes = read_remotes(ini)
    default_remote = str(flags.get("remote") or ini.get("core", "remote", fallback="") or "")
    return Config(
        remotes=remotes,
        default_remote=default_remote or None,
        cache_dir=cache_dir,
        jobs=int(_number(jobs, "jobs", int, 1)) if jobs is not None else 8,
        timeout=float(_number(timeout, "timeout", float, 0.1)) if timeout is not None else 60.0,
        retries=int(_number(retries, "retries", int, 0)) if retries is not None else 4,
        link=link,
        sha256=sha256,
        gist_branch=ini.get("gist", "branch", fallback="").strip() or None,
        cache_shared=shared == "group",
        binaries=_binaries(ini.get("core", "binaries", fallback=None)),
        fetch=Selection(parse_list(ini.get("fetch", "include", fallback=None)),
                        parse_list(ini.get("fetch", "exclude", fallback=None))),
        offline=offline,
        mirror_dir=default_cache_root(None, env) / "git",
    )


def _truthy(value: object) -> bool:
    """A boolean setting given as a string (INI, environment) or a flag.

    >>> _truthy("Yes"), _truthy("0"), _truthy(None), _truthy(True)
    (True, False, False, True)
    """
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


def parse_committed(text: str, where: str) -> configparser.ConfigParser:
    """A ``.zoo/config`` read from a git blob (``ls``/``get`` of another repository).

    Raises
    ------
    ConfigError
        Not a valid INI file.
    """
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=where)
    except configparser.Error as exc:
        raise ConfigError(f"{where}: {exc}".splitlines()[0]) from None
    return parser


def _binaries(value: str | None) -> tuple[str, ...]:
    """``[core] binaries``: globs separated by commas or new lines; ``*.caffemodel`` always."""
    if value is None:
        return DEFAULT_BINARIES
    globs = [g.strip() for g in value.replace("\n", ",").split(",")]
    return tuple(dict.fromkeys((*ALWAYS_BINARIES, *(g for g in globs if g))))


def read_remotes(ini: configparser.ConfigParser) -> tuple[Remote, ...]:
    """Every ``[remote "NAME"]`` section of a parsed config."""
    remotes = []
    for section in ini.sections():
        m = _REMOTE_SECTION.match(section)
        if not m:
            continue
        values = dict(ini.items(section))
        url = values.pop("url", None)
        if not url:
            raise ConfigError(f"remote {m.group('name')!r} has no url")
        options = {key: option_value(key, value) for key, value in values.items()}
        remotes.append(Remote(m.group("name"), url, options))
    return tuple(remotes)


def option_value(key: str, value: str) -> Any:
    """A remote option's value as the fsspec filesystem gets it (SPEC 2.3): as written,
    or parsed when it parses as JSON (lists, numbers, booleans, objects, null).

    >>> option_value("client_keys", '["/home/me/.ssh/id_ed25519"]')
    ['/home/me/.ssh/id_ed25519']
    >>> option_value("port", "2222"), option_value("anon", "yes"), option_value("token", "anon")
    (2222, True, 'anon')
    >>> option_value("password", "12345")
    '12345'
    """
    if key in _STRING_OPTIONS:
        return value
    if key in _BOOL_OPTIONS and value.strip().lower() in _YES + _NO:
        return value.strip().lower() in _YES
    try:
        return json.loads(value)
    except ValueError:
        return value


def remote_section(name: str) -> str:
    """The INI section name of remote ``name``."""
    return f'remote "{name}"'


def default_cache_root(git_common_dir: Path | None,
                       environ: Mapping[str, str] | None = None) -> Path:
    """The cache used when ``ZOO_VCS_CACHE_DIR`` is unset (SPEC 2.3)."""
    if git_common_dir is not None:
        return git_common_dir / "zoo-vcs" / "cache"
    env = os.environ if environ is None else environ
    xdg = env.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "zoo-vcs"
