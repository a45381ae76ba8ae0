"""Shared fixtures: a hermetic environment, real git repositories, the loopback HTTP server,
and a runner for the installed ``zoo-vcs`` console script."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers.gist import GistEmulator
from tests.servers.http import LoopbackHTTPServer
from tests.servers.s3 import AWS_ENV, LoopbackS3

ZOO_VCS = shutil.which("zoo-vcs") or ""
SHARED_READMES = Path(__file__).resolve().parents[2] / "shared" / "zoo-readmes"

_SCRUB = ("GITHUB_TOKEN", "GH_TOKEN", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
          "http_proxy", "https_proxy", "all_proxy", "no_proxy", "ZOO_VCS_CACHE_DIR",
          "ZOO_VCS_TIMEOUT", "ZOO_VCS_JOBS", "ZOO_VCS_LINK", "ZOO_VCS_RETRIES",
          "ZOO_VCS_DEBUG", "XDG_CACHE_HOME", "GIT_DIR", "GIT_WORK_TREE", "AWS_ACCESS_KEY_ID",
          "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL",
          "AWS_ENDPOINT_URL_S3")


@pytest.fixture(autouse=True)
def hermetic_env(tmp_path_factory: pytest.TempPathFactory,
                 monkeypatch: pytest.MonkeyPatch) -> None:
    """No tokens, proxies, user git config or user cache leak into a test."""
    home = tmp_path_factory.mktemp("home")
    for name in _SCRUB:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Zoo Tester\n\temail = tester@example.invalid\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
    )


@dataclass
class Result:
    """A finished ``zoo-vcs`` process."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_zoo(*args: str | os.PathLike[str], cwd: Path, env: dict[str, str] | None = None,
            timeout: float = 120) -> Result:
    """Run the installed console script (a real process), never raising on failure."""
    assert ZOO_VCS, "the zoo-vcs console script is not installed (pip install -e .)"
    proc = subprocess.run([ZOO_VCS, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, check=False)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def git(*args: str, cwd: Path) -> str:
    """Run git, failing the test on error."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"git {' '.join(args)} failed: {proc.stderr}"
    return proc.stdout


@pytest.fixture
def zoo() -> object:
    return run_zoo


@pytest.fixture
def http_server() -> Iterator[LoopbackHTTPServer]:
    with LoopbackHTTPServer() as server:
        yield server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[LoopbackS3]:
    """One moto S3 server for the session; tests use their own buckets."""
    with LoopbackS3() as server:
        yield server


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Test credentials for botocore, in this process and the zoo-vcs processes it starts."""
    for key, value in AWS_ENV.items():
        monkeypatch.setenv(key, value)
    return dict(AWS_ENV)


TOKEN = "ghp_zooTestToken0123456789abcdefABCDEF"


@pytest.fixture
def gist_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GistEmulator]:
    """The loopback gist API + git http-backend; TOKEN belongs to 'zoo-tester'."""
    with GistEmulator(tmp_path_factory.mktemp("gists"), tokens={TOKEN: "zoo-tester"}) as emu:
        yield emu


@pytest.fixture
def gist_env(gist_server: GistEmulator) -> dict[str, str]:
    """Environment pointing zoo-vcs at the emulator with a valid token."""
    return {"ZOO_VCS_GITHUB_API": gist_server.api_url, "GITHUB_TOKEN": TOKEN}


def write_readme(folder: Path, **fields: str | None) -> Path:
    """A canonical readme with the given frontmatter keys."""
    lines = ["---"]
    for key, value in fields.items():
        lines.append(f"{key}: {value}" if value is not None else f"{key}:")
    lines += ["---", "", "# A test model", ""]
    path = folder / "readme.md"
    path.write_text("\n".join(lines))
    return path


def make_weights(path: Path, size: int, seed: int = 0) -> bytes:
    """Deterministic pseudo-random weights of ``size`` bytes."""
    import random

    data = random.Random(seed).randbytes(size)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def temp_leftovers(folder: Path) -> list[str]:
    """Files in ``folder`` (recursively, outside .git) that look like temp or partial files."""
    found = []
    for p in folder.rglob("*"):
        if ".git" in p.parts:
            continue
        if "zoo-tmp" in p.name or p.name.endswith((".part", ".tmp")):
            found.append(str(p))
    return found


PY = sys.executable


# Real storage servers (sshd, WsgiDAV, Azurite, gcp-storage-emulator) for the `backend` tests.
# Imported here, pytest finds the fixtures and the terminal summary hook.
from tests.servers.backends import (  # noqa: E402, F401
    azurite_server,
    gcs_server,
    no_ssh_agent,
    pytest_terminal_summary,
    sftp_server,
    webdav_anon_server,
    webdav_server,
)
