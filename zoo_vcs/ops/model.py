"""``fetch_model``: verified weights of a model from a folder, a gist, a readme's URL, or a
git repository at a revision (``git+URL#PATH@REV``).

Gists, readme URLs and git sources are brought into a folder per model under the user
cache; the weights come through the object cache, so a second call finds a folder in
place and makes no request at all (a single binary of a git source asks the repository
what REV names again, and takes the bytes from the cache).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from zoo_vcs.errors import UsageError
from zoo_vcs.formats.urls import parse_git_source
from zoo_vcs.repo import modeldir
from zoo_vcs.repo.config import default_cache_root
from zoo_vcs.storage.fileio import atomic_write_bytes
from zoo_vcs.storage.hashing import sha1_of_bytes

#: Checks out a folder and returns the paths of its tracked weights (the API's checkout).
Restore = Callable[[Path], list[Path]]
#: Whether a folder already holds correct weights, without any network (the API's status).
IsClean = Callable[[Path], bool]
#: Copies PATH of a git repository URL at REV into a folder; returns the binaries written
#: (the API's get).
FromGit = Callable[[str, str, "str | None", Path], list[Path]]


def fetch_model(source: str, dest: Path | None, *, restore: Restore, is_clean: IsClean,
                timeout: float | None = None, from_git: FromGit | None = None) -> Path:
    """The local path of ``source``'s verified weights: :func:`zoo_vcs.fetch_model`, with
    the checkout (``restore``), the no-network check (``is_clean``) and ``git+URL``
    sources (``from_git``) passed in."""
    folder = Path(source)
    if source.startswith("git+") and from_git is not None:
        try:
            url, path, rev = parse_git_source(source)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        target = dest or default_cache_root(None) / "models" / sha1_of_bytes(
            source.encode())[:16]
        if _ready(target, is_clean):
            paths = restore(target)
        else:
            target.mkdir(parents=True, exist_ok=True)
            paths = from_git(url, path, rev, target)
        if not paths:
            raise UsageError(f"{source}: no tracked weights there")
        return paths[0]
    if folder.is_dir():
        target = folder
    elif "://" in source and not looks_like_gist_url(source):
        target = dest or default_cache_root(None) / "models" / sha1_of_bytes(
            source.encode())[:16]
        if not _ready(target, is_clean):
            _download_readme(source, target, timeout)
    else:
        from zoo_vcs.gist import client, sync  # PyGithub loads only for gists

        gist_id = client.parse_gist_ref(source)
        target = dest or default_cache_root(None) / "models" / gist_id
        if not _ready(target, is_clean, gist_id=gist_id, gist_of=sync.gist_of_folder):
            sync.pull(source, target)
    paths = restore(target)
    if not paths:
        raise UsageError(f"{source}: no tracked weights (no pointer and no caffemodel in readme)")
    return paths[0]


def looks_like_gist_url(url: str) -> bool:
    """Whether ``url`` names a gist rather than a readme.

    >>> looks_like_gist_url("https://gist.github.com/u/0123"), looks_like_gist_url("https://x/r.md")
    (True, False)
    """
    host = urlsplit(url).hostname or ""
    return host.startswith("gist.") or "/gists/" in url


def _ready(folder: Path, is_clean: IsClean, *, gist_id: str | None = None,
           gist_of: Callable[[Path], str | None] | None = None) -> bool:
    """True when ``folder`` already holds correct weights (and is that gist's): no network."""
    if not folder.is_dir() or modeldir.find_readme(folder) is None:
        return False
    if gist_id is not None and gist_of is not None and gist_of(folder) != gist_id:
        return False
    return is_clean(folder)


def _download_readme(url: str, folder: Path, timeout: float | None) -> None:
    from zoo_vcs.transfer.common import TransferOptions
    from zoo_vcs.transfer.download import read_small

    data = read_small(url, limit=modeldir.MAX_README_BYTES,
                      opts=TransferOptions(timeout=timeout or 60.0))
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(folder / "readme.md", data)
