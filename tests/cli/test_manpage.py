"""`git zoo`: the git-zoo console script, and man pages that cannot drift from the CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import git, make_weights, run_zoo, write_readme
from zoo_vcs.cli import manpage

DOCS_MAN = Path(__file__).resolve().parents[2] / "docs" / "man"


@pytest.mark.parametrize("page", sorted(manpage.PAGES))
def test_committed_man_pages_are_what_the_cli_generates(page: str) -> None:
    committed = (DOCS_MAN / f"{page}.1").read_text(encoding="utf-8")
    assert committed == manpage.render(page), \
        f"docs/man/{page}.1 is stale: run python -m zoo_vcs.cli.manpage docs/man"


def test_man_page_lists_every_command() -> None:
    text = manpage.render("git-zoo")
    for command in ("add", "checkout", "push", "pull", "status", "gc", "gist push",
                    "remote add", "install-hooks", "index build"):
        assert f".SS git zoo {command} " in text, command


def _git_zoo_env() -> dict[str, str]:
    assert shutil.which("git-zoo"), "the git-zoo console script is not installed"
    return dict(os.environ)


def test_git_zoo_status_and_pull_from_a_real_clone(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    model = origin / "net"
    model.mkdir(parents=True)
    git("init", "-q", cwd=origin)
    write_readme(model, name="Git Zoo Net", caffemodel="net.caffemodel")
    data = make_weights(model / "net.caffemodel", 30_000)
    assert run_zoo("remote", "add", "store", str(tmp_path / "store"), "-d",
                   cwd=origin).returncode == 0
    assert run_zoo("add", "net/net.caffemodel", cwd=origin).returncode == 0
    assert run_zoo("push", cwd=origin).returncode == 0
    git("add", "-A", cwd=origin)
    git("commit", "-q", "-m", "model", cwd=origin)
    clone = tmp_path / "clone"
    git("clone", "-q", str(origin), str(clone), cwd=tmp_path)
    env = _git_zoo_env()
    status = subprocess.run(["git", "zoo", "status", "--json"], cwd=clone, capture_output=True,
                            text=True, check=False, env=env)
    assert status.returncode == 0, status.stderr
    assert '"state": "missing"' in status.stdout
    pull = subprocess.run(["git", "zoo", "pull"], cwd=clone, capture_output=True, text=True,
                          check=False, env=env)
    assert pull.returncode == 0, pull.stderr
    assert (clone / "net" / "net.caffemodel").read_bytes() == data


def test_git_zoo_help_names_git_zoo(tmp_path: Path) -> None:
    # `git zoo -h` reaches our own help (`--help` is turned into `git help zoo` by git).
    proc = subprocess.run(["git", "zoo", "-h"], cwd=tmp_path, capture_output=True, text=True,
                          check=False, env=_git_zoo_env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Usage: git zoo [OPTIONS] COMMAND")
    proc = subprocess.run(["zoo-vcs", "--help"], cwd=tmp_path, capture_output=True, text=True,
                          check=False)
    assert proc.stdout.startswith("Usage: zoo-vcs [OPTIONS] COMMAND")
