"""Storage remotes in ``.zoo/config`` (or ``.zoo/config.local``): add, list, modify, remove."""

from __future__ import annotations

import configparser
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo_vcs.errors import ConfigError, UsageError
from zoo_vcs.repo.config import (
    CONFIG_DIR,
    CONFIG_FILE,
    LOCAL_CONFIG_FILE,
    Remote,
    option_value,
    read_ini,
    read_remotes,
    remote_section,
)
from zoo_vcs.repo.ignore import ensure_lines
from zoo_vcs.storage.fileio import atomic_write_bytes

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_OPTION_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True)
class RemoteInfo:
    """A remote as ``remote list`` shows it."""

    remote: Remote
    default: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (option values are not shown: they may be secrets)."""
        return {"name": self.remote.name, "url": self.remote.url, "default": self.default,
                "options": sorted(self.remote.options)}


def _path(root: Path, local: bool) -> Path:
    return root / CONFIG_DIR / (LOCAL_CONFIG_FILE if local else CONFIG_FILE)


def _load(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise ConfigError(f"{path}: {str(exc).splitlines()[0]}") from None
    return parser


def _save(path: Path, parser: configparser.ConfigParser) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    parser.write(buf)
    atomic_write_bytes(path, buf.getvalue().encode("utf-8"))
    if path.name == LOCAL_CONFIG_FILE:
        # config.local holds per-user settings and secrets: it must never be committed.
        ensure_lines(path.parent / ".gitignore", ["/config.local"])


def add(root: Path, name: str, url: str, *, default: bool = False, local: bool = False,
        options: dict[str, str] | None = None, force: bool = False) -> Remote:
    """Add remote ``name`` at ``url`` (``--local``: in the git-ignored file).

    Raises
    ------
    UsageError
        Bad name or option, or the remote exists (without ``force``).
    """
    if not _NAME_RE.match(name):
        raise UsageError(f"invalid remote name {name!r}: letters, digits, '_', '.', '-'")
    if not url or any(c.isspace() for c in url):
        raise UsageError(f"invalid remote URL {url!r}")
    for key in options or {}:
        if not _OPTION_RE.match(key) or key == "url":
            raise UsageError(f"invalid remote option {key!r}")
    if not force and any(r.name == name for r in read_remotes(read_ini(root))):
        raise UsageError(f"remote {name!r} exists", hint="use --force to replace it")
    path = _path(root, local)
    parser = _load(path)
    section = remote_section(name)
    if parser.has_section(section):
        parser.remove_section(section)
    parser.add_section(section)
    parser.set(section, "url", url)
    for key, value in (options or {}).items():
        parser.set(section, key, value)
    if default:
        if not parser.has_section("core"):
            parser.add_section("core")
        parser.set("core", "remote", name)
    _save(path, parser)
    return Remote(name, url, {k: option_value(k, v) for k, v in (options or {}).items()})


def modify(root: Path, name: str, key: str, value: str | None, *, local: bool = False) -> None:
    """Set (or with ``value=None`` unset) option ``key`` of remote ``name``."""
    if not _OPTION_RE.match(key):
        raise UsageError(f"invalid remote option {key!r}")
    if not any(r.name == name for r in read_remotes(read_ini(root))):
        raise ConfigError(f"no remote named {name!r}")
    path = _path(root, local)
    parser = _load(path)
    section = remote_section(name)
    if value is None:
        if parser.has_section(section):
            parser.remove_option(section, key)
    else:
        if not parser.has_section(section):
            parser.add_section(section)
        parser.set(section, key, value)
    _save(path, parser)


def remove(root: Path, name: str) -> None:
    """Delete remote ``name`` from both config files (and as the default)."""
    found = False
    for local in (False, True):
        path = _path(root, local)
        if not path.exists():
            continue
        parser = _load(path)
        changed = parser.remove_section(remote_section(name))
        if parser.get("core", "remote", fallback=None) == name:
            parser.remove_option("core", "remote")
            changed = True
        if changed:
            _save(path, parser)
            found = True
    if not found:
        raise ConfigError(f"no remote named {name!r}")


def listing(root: Path) -> list[RemoteInfo]:
    """Every configured remote, the default one flagged."""
    ini = read_ini(root)
    default = ini.get("core", "remote", fallback=None)
    remotes = read_remotes(ini)
    if default is None and len(remotes) == 1:
        default = remotes[0].name
    return [RemoteInfo(r, r.name == default) for r in remotes]
