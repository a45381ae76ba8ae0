"""The wheel users install holds every module of the package (an editable install, which
the other tests use, would hide a missing subpackage)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_contains_every_module(tmp_path: Path) -> None:
    # Built from a fresh copy: setuptools reuses an in-tree build/ folder, which could
    # still hold modules that the package configuration no longer ships.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "zoo_vcs", src / "zoo_vcs",
                    ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "dist"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                        "-q", "-w", str(out), str(src)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    (wheel,) = out.glob("zoo_vcs-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "zoo_vcs").rglob("*.py")}
    assert modules - names == set()
    assert "zoo_vcs/py.typed" in names
