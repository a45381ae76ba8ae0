"""The wheel users install holds every module of the package (an editable install, which
the other tests use, would hide a missing subpackage), both console scripts and the man
pages, so that `git zoo --help` works from a plain install."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Built from a fresh copy: setuptools reuses an in-tree build/ folder, which could
    # still hold modules that the package configuration no longer ships.
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "zoo_vcs", src / "zoo_vcs",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "docs" / "man", src / "docs" / "man")
    out = tmp_path_factory.mktemp("dist")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                        "-q", "-w", str(out), str(src)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    (built,) = out.glob("zoo_vcs-*.whl")
    return built


def test_git_zoo_help_is_the_man_page_after_a_plain_install(wheel: Path, tmp_path: Path) -> None:
    if not shutil.which("man"):
        pytest.skip("no man command on this machine (apt-get install man-db)")
    env_dir = tmp_path / "venv"
    # The dependencies come from this interpreter's site-packages: nothing is downloaded.
    venv.create(env_dir, system_site_packages=True, with_pip=False)
    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(env_dir / "bin" / "python"),
                        "install", "-q", "--no-deps", str(wheel)], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert (env_dir / "bin" / "git-zoo").is_file()
    env = {**os.environ, "PATH": f"{env_dir / 'bin'}:{os.environ['PATH']}", "MANPAGER": "cat",
           "PAGER": "cat", "GIT_PAGER": "cat", "MANWIDTH": "80"}
    env.pop("MANPATH", None)
    proc = subprocess.run(["git", "zoo", "--help"], cwd=tmp_path, capture_output=True,
                          text=True, env=env, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "git-zoo - version control for Caffe Model Zoo model directories" in proc.stdout
    assert "git zoo checkout" in proc.stdout


def test_wheel_contains_every_module(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "zoo_vcs-0.1.0.data/data/share/man/man1/git-zoo.1" in names
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "zoo_vcs").rglob("*.py")}
    assert modules - names == set()
    assert "zoo_vcs/py.typed" in names
