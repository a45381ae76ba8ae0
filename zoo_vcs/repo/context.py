"""The repository context: built once per command (root, git dir, config, caches, remotes)
and passed down, so that no operation rebuilds a cache or reads the config again."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from zoo_vcs.repo import config as configmod
from zoo_vcs.repo import scan as scanmod
from zoo_vcs.repo.config import Config, Remote
from zoo_vcs.repo.select import ALL, Selection
from zoo_vcs.storage.cache import ObjectCache
from zoo_vcs.storage.statcache import StatCache

if TYPE_CHECKING:
    from zoo_vcs.transfer.common import TransferOptions


@dataclass
class Repository:
    """One command's view of a repository (or of a plain folder outside one).

    ``cache`` is built here and nowhere else; ``stats`` opens the stat cache on first
    use. Operations take a ``Repository`` and never resolve settings themselves.
    """

    root: Path
    git_dir: Path | None
    config: Config
    cache: ObjectCache
    _stats: StatCache | None = field(default=None, repr=False)

    @classmethod
    def open(cls, start: str | os.PathLike[str] | None = None,
             flags: Mapping[str, object] | None = None,
             environ: Mapping[str, str] | None = None) -> Repository:
        """The repository containing ``start`` (default: the current folder), configured.

        ``flags`` are command-line values (None: not given), which take precedence over
        ``ZOO_VCS_*`` variables and ``.zoo/config``.

        Raises
        ------
        ConfigError
            A setting is malformed.
        """
        root, git_dir = discover(Path(start) if start is not None else None)
        cfg = configmod.resolve(root, configmod.default_cache_root(git_dir, environ),
                                flags=flags, environ=environ)
        cache = ObjectCache(cfg.cache_dir, shared=cfg.cache_shared, owner=git_dir)
        if git_dir is not None and os.path.isdir(cfg.cache_dir):
            # A repository may only read a cache that others fill (a shared one): gc there
            # must count it too. A cache not made yet registers on its first write.
            cache.register()
        return cls(root, git_dir, cfg, cache)

    @property
    def in_git(self) -> bool:
        """True inside a git repository (hooks, history and gists need one)."""
        return self.git_dir is not None

    @property
    def state_dir(self) -> Path:
        """Where per-repository state (stat cache, locks) lives."""
        return self.git_dir / "zoo-vcs" if self.git_dir is not None else self.config.cache_dir

    @property
    def stats(self) -> StatCache:
        """The stat cache (inode, size, mtime -> SHA1), opened once."""
        if self._stats is None:
            self._stats = StatCache(self.state_dir / "stat.db")
        return self._stats

    def save(self) -> None:
        """Persist what the stat cache learnt during this command."""
        if self._stats is not None:
            self._stats.save()

    def relpath(self, path: Path) -> str:
        """``path`` relative to the root when inside it, for messages."""
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def scan(self, paths: Sequence[Path] = (), *, select: Selection = ALL,
             use_stats: bool = True) -> scanmod.Scan:
        """Every tracked entry under ``paths`` (default: the whole repository), plus those
        ``select``'s patterns name, less those it excludes (see ``scan.scan_selected``)."""
        return scanmod.scan_selected(self.root, paths, select,
                                     self.stats if use_stats else None)

    def remote(self, name: str | None = None) -> Remote:
        """Remote ``name``, or the default one (see :meth:`Config.remote`)."""
        return self.config.remote(name)

    def remotes(self, name: str | None = None) -> list[Remote]:
        """Remotes to try as sources: only ``name`` when given, else all, the default first."""
        if name:
            return [self.config.remote(name)]
        return sorted(self.config.remotes, key=lambda r: r.name != self.config.default_remote)

    def transfer_options(self) -> TransferOptions:
        """Timeout, retries and per-store options for the transfer engine."""
        from zoo_vcs.transfer.common import TransferOptions  # fsspec loads only to transfer

        cfg = self.config
        return TransferOptions(timeout=cfg.timeout, retries=cfg.retries,
                               options_for=cfg.options_for, offline=cfg.offline)


def discover(start: Path | None = None) -> tuple[Path, Path | None]:
    """(root, git common dir) of the repository holding ``start``; (folder, None) outside one.

    Linked worktrees share the main repository's git dir, and so its object cache.
    """
    here = Path(os.path.abspath(start or Path.cwd()))
    if not here.is_dir():
        here = here.parent
    for folder in (here, *here.parents):
        dotgit = folder / ".git"
        if dotgit.is_dir():
            return folder, _common_dir(dotgit)
        if dotgit.is_file():
            return folder, _common_dir(_gitdir_from_file(dotgit))
    return here, None


def _gitdir_from_file(dotgit: Path) -> Path:
    text = dotgit.read_text(encoding="utf-8", errors="replace").strip()
    if not text.startswith("gitdir:"):
        return dotgit
    gitdir = Path(text[len("gitdir:"):].strip())
    return gitdir if gitdir.is_absolute() else (dotgit.parent / gitdir).resolve()


def _common_dir(gitdir: Path) -> Path:
    # Linked worktrees keep a 'commondir' file: the cache belongs to the main repository.
    commondir = gitdir / "commondir"
    if commondir.is_file():
        rel = commondir.read_text(encoding="utf-8").strip()
        return (gitdir / rel).resolve()
    return gitdir
