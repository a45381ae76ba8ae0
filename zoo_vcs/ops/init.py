"""``init``: make a folder a model directory (readme skeleton, git repository, ``.zoo/``)."""

from __future__ import annotations

from pathlib import Path

from zoo_vcs.repo import modeldir
from zoo_vcs.repo.context import discover
from zoo_vcs.repo.ignore import ensure_lines
from zoo_vcs.storage.fileio import atomic_write_bytes


def init(directory: Path, *, name: str | None = None) -> list[Path]:
    """Make ``directory`` a model directory; returns the files created (none if all existed).

    Creates the folder, a readme skeleton (an existing readme is left alone), ``.zoo/``
    with an empty committed config, a ``.gitignore`` entry for ``.zoo/config.local``, and
    a git repository unless the folder already is in one.

    Raises
    ------
    GitError
        ``git init`` failed.
    """
    directory.mkdir(parents=True, exist_ok=True)
    created: list[Path] = []
    root, git_dir = discover(directory)
    if git_dir is None:
        from zoo_vcs.git import repo as gitrepo  # GitPython loads only when a repo is made

        gitrepo.init_repo(directory)
        created.append(directory / ".git")
        root, _ = discover(directory)
    if modeldir.find_readme(directory) is None:
        readme = directory / "readme.md"
        text = modeldir.skeleton(name or directory.resolve().name)
        atomic_write_bytes(readme, text.encode("utf-8"))
        created.append(readme)
    zoo = root / ".zoo"
    zoo.mkdir(exist_ok=True)
    config = zoo / "config"
    if not config.exists():
        atomic_write_bytes(config, b"# zoo-vcs settings shared through git (no secrets here).\n")
        created.append(config)
    if ensure_lines(zoo / ".gitignore", ["/config.local"]):
        created.append(zoo / ".gitignore")
    return created
