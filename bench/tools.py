"""Finding, and if need be installing, the programs the peers and servers need.

Python peers get a virtualenv of their own under bench/.work (``pooch-venv``,
``dvc-venv``, ``moto-venv``) so that they cannot disturb zoo-vcs's dependencies; system
programs (git-lfs, nginx) are installed with ``apt-get`` when running as root. A tool
that cannot be had is left out: its rows or scenarios say ``... not available``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from harness import PYTHON, WORK, child_env, log

# dvc must not phone home: analytics off, update check pointed at a closed loopback port.
DVC_ENV = {"DVC_NO_ANALYTICS": "1", "DVC_UPDATER_ENDPOINT": "http://127.0.0.1:9/",
           "DVC_SITE_CACHE_DIR": str(WORK / "dvc-site-cache")}

# What each tool name of a scenario's ``needs`` stands for (registry.py).
TOOLS = ("dvc", "dvc-s3", "git-lfs", "moto", "nginx", "pooch")


def zoo_command() -> str:
    """The zoo-vcs console script of this interpreter, not a pyenv/asdf shim in front of it
    (a shim is a shell script that costs ~0.1-0.2 s per start-up; dvc runs from its venv)."""
    here = Path(sys.executable).parent / "zoo-vcs"
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    return shutil.which("zoo-vcs") or "zoo-vcs"


ZOO = zoo_command()


def version(argv: list[str]) -> str:
    """The first line a ``--version``-like command prints, "?" if it fails."""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, env=child_env(DVC_ENV),
                             check=False)
    except OSError:
        return "not available"
    return (out.stdout or out.stderr).strip().splitlines()[0] if out.returncode == 0 else "?"


def module_version(python: str | Path | None, dist: str) -> str:
    if python is None:
        return "not available"
    return version([str(python), "-c",
                    f"import importlib.metadata as m; print(m.version({dist!r}))"])


# --------------------------------------------------------------------------- installers


def importable(python: str | Path, module: str) -> bool:
    probe = [str(python), "-c", f"import {module}"]
    try:
        return subprocess.run(probe, capture_output=True, env=child_env({}),
                              check=False).returncode == 0
    except OSError:
        return False


def ensure_venv(name: str, module: str, *packages: str) -> Path | None:
    """bin/ of WORK/<name>-venv where ``module`` imports, pip-installing ``packages``
    (default: ``module``) if needed, or None when it cannot be installed."""
    venv = WORK / f"{name}-venv"
    python = venv / "bin" / "python"
    if python.exists() and importable(python, module):
        return venv / "bin"
    log(f"installing {' '.join(packages or (module,))} into {venv} "
        f"(log: {WORK / f'{name}-install.log'})")
    with open(WORK / f"{name}-install.log", "w") as out:
        for argv in ([PYTHON, "-m", "venv", "--clear", str(venv)],
                     [str(python), "-m", "pip", "install", *(packages or (module,))]):
            if subprocess.run(argv, stdout=out, stderr=out, env=child_env({}),
                              check=False).returncode != 0:
                return None
    return venv / "bin" if importable(python, module) else None


def ensure_in_venv(bin_dir: Path, module: str, package: str, logname: str) -> bool:
    """pip-install ``package`` into an existing venv unless ``module`` already imports."""
    python = bin_dir / "python"
    if importable(python, module):
        return True
    log(f"installing {package} into {bin_dir.parent} (log: {WORK / logname})")
    with open(WORK / logname, "w") as out:
        subprocess.run([str(python), "-m", "pip", "install", package], stdout=out,
                       stderr=out, env=child_env({}), check=False)
    return importable(python, module)


def apt_install(packages: Iterable[str], logname: str) -> None:
    """``apt-get install -y`` the first of ``packages`` that installs (after an
    ``apt-get update`` if none does at first); only as root with apt-get. The outcome is
    judged by the caller (does the program work now?)."""
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return
    env = child_env({"DEBIAN_FRONTEND": "noninteractive"})
    with open(WORK / logname, "w") as out:
        for attempt in range(2):
            if attempt:
                subprocess.run(["apt-get", "update"], stdout=out, stderr=out, env=env,
                               check=False)
            for package in packages:
                log(f"installing {package} with apt-get (log: {WORK / logname})")
                if subprocess.run(["apt-get", "install", "-y", package], stdout=out,
                                  stderr=out, env=env, check=False).returncode == 0:
                    return


def ensure_git_lfs() -> bool:
    """Whether ``git lfs`` works, installing the git-lfs package with apt-get if needed
    (and possible: root with apt-get)."""
    def works() -> bool:
        return subprocess.run(["git", "lfs", "version"], capture_output=True,
                              check=False).returncode == 0
    if works():
        return True
    apt_install(["git-lfs"], "git-lfs-install.log")
    return works()


def find_nginx() -> str | None:
    """The nginx binary (Debian puts it in /usr/sbin, which may not be on PATH)."""
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx", "/usr/local/sbin/nginx"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def ensure_nginx() -> str | None:
    """The nginx binary, installing Debian's ``nginx-light`` (or ``nginx``, which is the
    same server without the echo module) with apt-get if needed and possible. A Debian
    install does not start the system's nginx where policy-rc.d forbids it (containers);
    the bench never uses that one: it runs its own on a loopback port (servers.py)."""
    if found := find_nginx():
        return found
    apt_install(["nginx-light", "nginx"], "nginx-install.log")
    return find_nginx()


def ensure_moto() -> str | None:
    """A Python that can run ``python -m moto.server`` and boto3 (this one, or a venv)."""
    if importable(PYTHON, "moto.server, flask, flask_cors, boto3"):
        return PYTHON
    bin_dir = ensure_venv("moto", "moto.server, flask, flask_cors, boto3", "moto[server]")
    return str(bin_dir / "python") if bin_dir else None


# --------------------------------------------------------------------------- all of them


@dataclass
class Tools:
    """What was found for the selected scenarios; ``None`` / False: not available (the
    matching ``no_*`` text is the note its tables show)."""

    pooch_bin: Path | None = None
    dvc_bin: Path | None = None
    no_dvc: str = "dvc: skipped (--skip-dvc)"
    dvc_s3: str | None = None  # the dvc command, when dvc-s3 is installed too
    no_dvc_s3: str = "dvc: skipped (--skip-dvc)"
    lfs: bool = False
    moto_python: str | None = None
    nginx: str | None = None
    no_nginx: str = "--http-server python"

    @property
    def dvc(self) -> str | None:
        return str(self.dvc_bin / "dvc") if self.dvc_bin else None

    def missing(self, *names: str) -> list[str]:
        """Notes for the tools of ``names`` ("dvc", "dvc-s3", "git-lfs") that are missing."""
        notes = {"dvc": None if self.dvc else self.no_dvc,
                 "dvc-s3": None if self.dvc_s3 else self.no_dvc_s3,
                 "git-lfs": None if self.lfs else "git-lfs: not available"}
        return [note for name in names if (note := notes[name])]


def find_tools(needs: set[str], skip_dvc: bool, want_nginx: bool) -> Tools:
    """Find or install every tool of ``needs`` (names of TOOLS), logging what is missing."""
    t = Tools()
    if "pooch" in needs:
        t.pooch_bin = ensure_venv("pooch", "pooch")
    if {"dvc", "dvc-s3"} & needs and not skip_dvc:
        t.dvc_bin, t.no_dvc = ensure_venv("dvc", "dvc"), "dvc: not available"
        if t.dvc_bin is None:
            log(t.no_dvc)
    t.dvc_s3, t.no_dvc_s3 = t.dvc, t.no_dvc
    if "dvc-s3" in needs and t.dvc_bin is not None and not ensure_in_venv(
            t.dvc_bin, "dvc_s3", "dvc-s3", "dvc-s3-install.log"):
        t.dvc_s3, t.no_dvc_s3 = None, "dvc-s3: not available"
        log(t.no_dvc_s3)
    if "git-lfs" in needs:
        t.lfs = ensure_git_lfs()
        if not t.lfs:
            log("git-lfs: not available")
    if "moto" in needs:
        t.moto_python = ensure_moto()
    if "nginx" in needs and want_nginx:
        t.nginx = ensure_nginx()
        if t.nginx is None:
            t.no_nginx = "nginx: not available (apt-get install nginx-light failed or " \
                "not root; log: bench/.work/nginx-install.log)"
    return t
