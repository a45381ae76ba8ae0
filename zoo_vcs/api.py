"""The Python API: one function per command, each finding the workspace and resolving config.

The CLI is a thin layer over these functions; Python users call them directly::

    import zoo_vcs
    zoo_vcs.add("models/alexnet/bvlc_alexnet.caffemodel")
    zoo_vcs.checkout("models/alexnet")
    weights = zoo_vcs.fetch_model("models/alexnet")
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Config
from .errors import UsageError
from .workspace import Workspace

# Modules load on first use (`zoo-vcs status` must start fast). The package re-exports
# functions named like four of them (checkout, status, verify, gc): `from . import status`
# would return the function, so their functions are imported as `from .status import ...`.
if TYPE_CHECKING:
    from . import checkout as checkoutmod
    from . import fetch as fetchmod
    from . import gc as gcmod
    from . import hooks, remotes, tracking
    from . import push as pushmod
    from . import status as statusmod
    from . import verify as verifymod

PathLike = str | os.PathLike[str]


def _setup(paths: Sequence[PathLike], flags: dict[str, Any] | None,
           cwd: PathLike | None = None) -> tuple[Workspace, list[Path], Config]:
    base = Path(cwd) if cwd is not None else Path.cwd()
    resolved = [p if p.is_absolute() else base / p for p in map(Path, paths)]
    # Like git, the current folder's repository is the workspace; outside one, the
    # first path's (so `download-binary DIR` works on a plain folder anywhere).
    ws = Workspace.discover(base)
    if ws.git_dir is None and resolved:
        ws = Workspace.discover(resolved[0])
    return ws, resolved, ws.config(flags)


def add(*paths: PathLike, urls: Sequence[str] = (), sha256: bool | None = None,
        jobs: int | None = None, cwd: PathLike | None = None) -> tracking.AddResult:
    """Track binaries: hash into the cache, write ``FILE.zoo``, git-ignore, sync the readme.

    ``urls`` (one file only) records where else the bytes can be downloaded; ``sha256``
    also records a SHA256 (default: the ``core.sha256`` setting, off).

    Raises
    ------
    UsageError
        A path is not a regular file in the repository (or is a pointer or readme).
    """
    from . import tracking

    ws, resolved, cfg = _setup(paths, {"jobs": jobs, "sha256": sha256 or None}, cwd)
    return tracking.add(ws, resolved, cfg, urls=urls)


def checkout(*paths: PathLike, force: bool = False, dry_run: bool = False,
             jobs: int | None = None, timeout: float | None = None, link: str | None = None,
             remote: str | None = None, callback: Any = None,
             cwd: PathLike | None = None) -> checkoutmod.CheckoutResult:
    """Restore every tracked binary under ``paths`` (default: the whole repository), verified.

    Raises
    ------
    OperationError
        Some files could not be restored; ``.errors`` says why for each, ``.result``
        holds what was done.
    """
    from .checkout import checkout as run_checkout

    ws, resolved, cfg = _setup(paths, {"jobs": jobs, "timeout": timeout, "link": link}, cwd)
    return run_checkout(ws, resolved, cfg, force=force, dry_run=dry_run, remote=remote,
                        callback=callback)


def push(*paths: PathLike, remote: str | None = None, jobs: int | None = None,
         timeout: float | None = None, callback: Any = None,
         cwd: PathLike | None = None) -> pushmod.PushResult:
    """Upload the objects of tracked binaries to a remote; add their URLs to the pointers.

    Raises
    ------
    ConfigError
        No such remote, or no default remote.
    OperationError
        Some objects could not be uploaded.
    """
    from . import push as pushmod

    ws, resolved, cfg = _setup(paths, {"jobs": jobs, "timeout": timeout}, cwd)
    return pushmod.push(ws, resolved, cfg, remote=remote, callback=callback)


def fetch(*paths: PathLike, remote: str | None = None, jobs: int | None = None,
          timeout: float | None = None, callback: Any = None,
          cwd: PathLike | None = None) -> fetchmod.FetchResult:
    """Download the objects of tracked binaries into the cache (the workspace is untouched).

    Sources: each pointer's URLs, then the remotes (only ``remote`` when given).

    Raises
    ------
    OperationError
        Some objects could not be fetched (each cause in ``errors``).
    """
    from . import fetch as fetchmod
    from .cache import ObjectCache
    from .errors import OperationError

    ws, resolved, cfg = _setup(paths, {"jobs": jobs, "timeout": timeout}, cwd)
    scan = ws.scan(resolved)
    chosen = [cfg.remote(remote)] if remote else fetchmod.ordered_remotes(cfg)
    result = fetchmod.fetch_objects(fetchmod.wants_for(scan.entries, chosen),
                                    ObjectCache(cfg.cache_dir), cfg, callback=callback)
    errors = [*scan.errors, *result.failed.values()]
    if errors:
        raise OperationError(errors, result, action="fetch")
    return result


def pull(*paths: PathLike, remote: str | None = None, force: bool = False,
         jobs: int | None = None, timeout: float | None = None, link: str | None = None,
         callback: Any = None, cwd: PathLike | None = None) -> checkoutmod.CheckoutResult:
    """Fetch, then check out: every tracked binary under ``paths`` restored and verified.

    One pass: checkout fetches what is missing (from ``remote`` only, when given) and
    places each file; a file whose object cannot be had fails alone.
    """
    return checkout(*paths, force=force, jobs=jobs, timeout=timeout, link=link,
                    remote=remote, callback=callback, cwd=cwd)


def remote_add(name: str, url: str, *, default: bool = False, local: bool = False,
               options: dict[str, str] | None = None, force: bool = False,
               cwd: PathLike | None = None) -> None:
    """Configure storage remote ``name`` at ``url`` (``local``: in ``.zoo/config.local``)."""
    from . import remotes

    ws, _, _ = _setup([], None, cwd)
    remotes.add(ws.root, name, url, default=default, local=local, options=options, force=force)


def remote_list(cwd: PathLike | None = None) -> list[remotes.RemoteInfo]:
    """Configured storage remotes."""
    from . import remotes

    ws, _, _ = _setup([], None, cwd)
    return remotes.listing(ws.root)


def remote_remove(name: str, cwd: PathLike | None = None) -> None:
    """Forget storage remote ``name``."""
    from . import remotes

    ws, _, _ = _setup([], None, cwd)
    remotes.remove(ws.root, name)


def remote_modify(name: str, key: str, value: str | None, *, local: bool = False,
                  cwd: PathLike | None = None) -> None:
    """Set (``value=None``: unset) a storage option of remote ``name``."""
    from . import remotes

    ws, _, _ = _setup([], None, cwd)
    remotes.modify(ws.root, name, key, value, local=local)


def gist_push(directory: PathLike = ".", *, secret: bool = False,
              description: str | None = None) -> Any:
    """Create or update the gist of a model directory (writes ``gist_id`` on create).

    Raises
    ------
    GistError
        No token, token rejected, gist not found, rate limited, network down, a
        subdirectory or symlink in the folder.
    """
    from . import gistsync

    return gistsync.push_dir(Path(directory), secret=secret, description=description)


def gist_pull(gist: str, directory: PathLike, *, revision: str | None = None,
              force: bool = False) -> Any:
    """Bring a gist (id, ``user/id`` or URL) into ``directory``; unsafe names are refused."""
    from . import gistsync

    return gistsync.pull(gist, Path(directory), revision=revision, force=force)


def gist_status(directory: PathLike = ".") -> Any:
    """What differs between a model directory and its gist."""
    from . import gistsync

    return gistsync.status_dir(Path(directory))


def install_hooks(*, force: bool = False, dry_run: bool = False,
                  cwd: PathLike | None = None) -> hooks.HookPlan:
    """Install zoo-vcs's git hooks (chaining foreign ones unless ``force``)."""
    from . import gitops, hooks

    ws, _, _ = _setup([], None, cwd)
    if ws.git_dir is None:
        raise UsageError(f"{ws.root}: not in a git repository")
    hooks_dir = gitops.hooks_dir(ws.root)
    if dry_run:
        return hooks.plan_install(hooks_dir, force=force)
    return hooks.install(hooks_dir, force=force)


def uninstall_hooks(cwd: PathLike | None = None) -> hooks.HookPlan:
    """Remove zoo-vcs's git hooks, putting chained foreign hooks back."""
    from . import gitops, hooks

    ws, _, _ = _setup([], None, cwd)
    if ws.git_dir is None:
        raise UsageError(f"{ws.root}: not in a git repository")
    return hooks.uninstall(gitops.hooks_dir(ws.root))


def run_hook(name: str, args: Sequence[str], stdin: str = "",
             environ: dict[str, str] | None = None) -> str:
    """What git hook ``name`` does (called by the installed scripts); returns a summary.

    Raises
    ------
    HookError
        For pre-push and pre-commit: the git operation must stop.
    """
    from . import hookrun, hooks

    env = dict(os.environ if environ is None else environ)
    if env.get("ZOO_VCS_SKIP_HOOKS") == "1":
        return ""
    ws, _, cfg = _setup([], None)
    if name == "pre-push":
        from .gistsync import publish_commit

        updates = hooks.parse_pre_push(stdin) or hooks.pre_push_from_env(env)
        remote_name = args[0] if args else env.get("PRE_COMMIT_REMOTE_NAME", "")
        report = hookrun.pre_push(ws, cfg, remote_name, updates, publish_gist=publish_commit)
        parts = [f"{len(report.uploaded)} binaries uploaded, {len(report.present)} already "
                 f"on the remote", f"{len(report.gists)} gists published", *report.notes]
        return "zoo-vcs pre-push: " + "; ".join(parts)
    if name == "pre-commit":
        hookrun.pre_commit(ws)
        return ""
    if name == "post-checkout":
        flag = args[2] if len(args) > 2 else env.get("PRE_COMMIT_CHECKOUT_TYPE", "1")
        if flag != "1":
            return ""  # a file checkout: binaries are not involved
        return hookrun.restore_after(ws, cfg, name)
    if name == "post-merge":
        return hookrun.restore_after(ws, cfg, name)
    raise UsageError(f"unknown hook {name!r}; known: {', '.join(hooks.HOOK_NAMES)}")


def status(*paths: PathLike, cwd: PathLike | None = None) -> statusmod.StatusReport:
    """State of every tracked binary: ``ok``, ``missing``, ``modified`` or ``unverified``."""
    from .cache import ObjectCache
    from .statcache import StatCache
    from .status import status as run_status

    ws, resolved, cfg = _setup(paths, None, cwd)
    return run_status(ws, resolved, ObjectCache(cfg.cache_dir),
                            StatCache(ws.state_dir(cfg) / "stat.db"), jobs=cfg.jobs)


def verify(*paths: PathLike, jobs: int | None = None, cwd: PathLike | None = None
           ) -> verifymod.VerifyResult:
    """Re-hash tracked files and cache objects; raises ``OperationError`` on any mismatch."""
    from .verify import verify as run_verify

    ws, resolved, cfg = _setup(paths, {"jobs": jobs}, cwd)
    return run_verify(ws, resolved, cfg)


def gc(path: PathLike | None = None, *, dry_run: bool = False) -> gcmod.GcResult:
    """Drop cache objects that no pointer in the repository references."""
    from .gc import gc as run_gc

    ws, _, cfg = _setup([path] if path is not None else [], None)
    return run_gc(ws, cfg, dry_run=dry_run)


def init(directory: PathLike = ".", *, name: str | None = None) -> list[Path]:
    """Make ``directory`` a model directory (readme skeleton, git repository, ``.zoo/``)."""
    from . import modeldir

    return modeldir.init(Path(directory), name=name)


def fetch_model(source: PathLike, dest: PathLike | None = None, **kwargs: Any) -> Path:
    """Verified weights of a model, fetched if needed; returns their local path.

    ``source`` is a model directory, a gist (id, ``user/id`` or URL) or the URL of a
    readme. Gists and readme URLs are brought into ``dest`` (default: a folder per model
    under the user cache, ``~/.cache/zoo-vcs/models``). Weights come through the object
    cache, so a second call finds everything in place and does no network at all. For a
    readme describing several models, the first model's weights path is returned (all
    are restored).

    Raises
    ------
    UsageError
        ``source`` names no model with weights.
    GistError, OperationError
        The gist or the weights could not be fetched or verified.
    """
    from . import gist
    from .config import default_cache_root
    from .hashing import sha1_of_bytes

    text = str(source)
    folder = Path(text)
    if folder.is_dir():
        target = folder
    elif "://" in text and not _looks_like_gist_url(text):
        target = Path(dest) if dest else default_cache_root(None) / "models" / \
            sha1_of_bytes(text.encode())[:16]
        if not _has_verified_weights(target):
            _download_readme(text, target, kwargs.get("timeout"))
    else:
        gist_id = gist.parse_gist_ref(text)
        target = Path(dest) if dest else default_cache_root(None) / "models" / gist_id
        if not _has_verified_weights(target, gist_id=gist_id):
            gist_pull(text, target)
    result = checkout(target, **kwargs)
    paths = [a.path for a in result.actions]
    if not paths:
        raise UsageError(f"{source}: no tracked weights (no pointer and no caffemodel in readme)")
    return paths[0]


def _looks_like_gist_url(url: str) -> bool:
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or ""
    return host.startswith("gist.") or "/gists/" in url


def _has_verified_weights(folder: Path, *, gist_id: str | None = None) -> bool:
    """True when ``folder`` already holds correct weights (and is that gist's): no network."""
    from . import modeldir
    from .gistsync import gist_of_folder

    if not folder.is_dir() or modeldir.find_readme(folder) is None:
        return False
    if gist_id is not None and gist_of_folder(folder) != gist_id:
        return False
    report = status(folder)
    return bool(report.files) and report.clean


def _download_readme(url: str, folder: Path, timeout: float | None) -> None:
    from . import modeldir, transfer
    from .fileio import atomic_write_bytes

    data = transfer.read_small(url, limit=modeldir.MAX_README_BYTES,
                               opts=transfer.TransferOptions(timeout=timeout or 60.0))
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(folder / "readme.md", data)


def index_build(*sources: PathLike, check: bool = False, verify_local: bool = False,
                jobs: int | None = None, timeout: float | None = None) -> list[Any]:
    """Rows of the Model Zoo page for model directories, folders of them, and gists.

    ``check`` probes every weights URL; ``verify_local`` hashes weights found beside
    their readme (status ``verified``).
    """
    from . import index

    _ws, _, cfg = _setup([], {"jobs": jobs, "timeout": timeout})
    return index.collect([str(s) for s in sources], cfg, check=check,
                         verify_local=verify_local)
