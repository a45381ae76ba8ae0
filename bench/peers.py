"""The peers' commands: what each row of a table runs, and the helpers that set them up.

Argument lists for the baselines and the other tools (sha1sum, openssl, curl + sha1sum,
Caffe's script, pooch, cp -r, dvc, git-lfs, the botocore floor of bench/s3_peer.py), the
untimed git/dvc set-up commands, and the pull peers the C and E scenarios share. Where the
programs come from (venvs, apt) is tools.py's business.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data import ManyData, check_tree, expect_in_stdout, fresh_dir, rmtree, write_tree
from harness import BENCH, PYTHON, WORK, Peer, child_env, run
from tools import ZOO

GIT_ID = ["-c", "user.name=zoo-vcs bench", "-c", "user.email=bench@127.0.0.1",
          "-c", "commit.gpgsign=false"]
# The same identity for timed commands that commit (zoo-vcs migrate, git lfs migrate).
GIT_ID_ENV = {"GIT_AUTHOR_NAME": "zoo-vcs bench", "GIT_AUTHOR_EMAIL": "bench@127.0.0.1",
              "GIT_COMMITTER_NAME": "zoo-vcs bench", "GIT_COMMITTER_EMAIL": "bench@127.0.0.1"}

# What Caffe's scripts/download_model_binary.py does (minus its progress hook):
# urlretrieve the file, then read it whole into memory and SHA1 it.
CAFFE_HASH = ("import hashlib, sys\n"
              "print(hashlib.sha1(open(sys.argv[1], 'rb').read()).hexdigest())")
CAFFE_DOWNLOAD = ("import hashlib, sys, urllib.request\n"
                  "urllib.request.urlretrieve(sys.argv[1], sys.argv[2])\n"
                  "print(hashlib.sha1(open(sys.argv[2], 'rb').read()).hexdigest())")
POOCH_RETRIEVE = ("import sys, pooch\n"
                  "print(pooch.retrieve(sys.argv[1], known_hash=sys.argv[2], path=sys.argv[3],"
                  " fname=sys.argv[4], progressbar=False))")


# --------------------------------------------------------------------------- commands


def zoo(*args: str) -> list[str]:
    """``zoo-vcs ARGS``, the console script of this interpreter (tools.zoo_command)."""
    return [ZOO, *args]


def sha1sum(*files: str) -> list[str]:
    return ["sha1sum", *files]


def openssl_sha1(file: str) -> list[str]:
    return ["openssl", "dgst", "-sha1", file]


def caffe_hash(file: str) -> list[str]:
    """Caffe's way to check a file: read it whole into memory, SHA1 it."""
    return [PYTHON, "-c", CAFFE_HASH, file]


def caffe_download(url: str, file: str) -> list[str]:
    """Caffe's download_model_binary.py: urlretrieve, then read whole and SHA1."""
    return [PYTHON, "-c", CAFFE_DOWNLOAD, url, file]


def curl_sha1sum(url: str, file: str) -> list[str]:
    """Download with curl, then hash with sha1sum, timed as one command."""
    return ["sh", "-c", f"curl -s -o {file} {url} && sha1sum {file}"]


def pooch_retrieve(pooch_bin: Path, url: str, sha1: str, folder: Path,
                   fname: str) -> list[str]:
    """``pooch.retrieve`` with a known SHA1, from pooch's venv."""
    return [str(pooch_bin / "python"), "-c", POOCH_RETRIEVE, url, f"sha1:{sha1}",
            str(folder), fname]


def cp_r(src: Path, dest: Path) -> list[str]:
    return ["cp", "-r", str(src), str(dest)]


def shallow_clone(url: str, dest: str) -> list[str]:
    return ["git", "clone", "-q", "--depth", "1", url, dest]


def clone_curl_sha1sum(repo_url: str, dest: str, file_url: str, file: str) -> list[str]:
    """By hand: a shallow clone of the repository, then the weights its pointer names
    downloaded with curl and hashed with sha1sum, timed as one command."""
    return ["sh", "-c", f"{shlex.join(shallow_clone(repo_url, dest))} && "
            f"curl -s -o {file} {file_url} && sha1sum {file}"]


def git_lfs_track_add(pattern: str, *paths: str) -> list[str]:
    """``git lfs track PATTERN && git add .gitattributes PATHS``, timed as one command."""
    return ["sh", "-c", f"git lfs track '{pattern}' >/dev/null && "
            f"git add .gitattributes {' '.join(paths)}"]


# --------------------------------------------------------------------------- set-up


def git_repo(path: Path) -> Path:
    """A fresh, empty git repository at ``path``."""
    fresh_dir(path)
    run(["git", "init", "-q", "."], path)
    return path


def commit_all(repo: Path, message: str) -> None:
    run(["git", "add", "-A"], repo)
    run(["git", *GIT_ID, "commit", "-q", "-m", message], repo)


def set_git_remote(repo: Path, url: Path) -> None:
    subprocess.run(["git", "remote", "remove", "origin"], cwd=repo, capture_output=True,
                   env=child_env({}), check=False)
    run(["git", "remote", "add", "origin", str(url)], repo)


def dvc_init(repo: Path, dvc: str, env: dict[str, str]) -> None:
    """``dvc init`` with analytics and the update check off (tools.DVC_ENV does the rest)."""
    run([dvc, "init", "-q"], repo, env)
    run([dvc, "config", "core.analytics", "false"], repo, env)
    run([dvc, "config", "core.check_update", "false"], repo, env)


def dvc_tracked_repo(path: Path, data: Path, dvc: str, env: dict[str, str]) -> Path:
    """A fresh git + dvc repository at ``path`` holding a copy of the folder ``data`` as
    ``data/`` (without zoo-vcs's pointers and .gitignore), tracked as one directory
    (``dvc add data``, one ``data.dvc``) and committed."""
    repo = git_repo(path)
    shutil.copytree(data, repo / "data", ignore=shutil.ignore_patterns("*.zoo", ".gitignore"))
    dvc_init(repo, dvc, env)
    run([dvc, "add", "-q", "data"], repo, env)
    commit_all(repo, "track data with dvc")
    return repo


def zoo_tracked_tree(path: Path, count: int, size: int) -> tuple[Path, list[str]]:
    """A fresh git repository at ``path`` with ``count`` random files of ``size`` bytes
    (data.write_tree), each ``zoo-vcs add``ed (in batches of 2,000 paths) and committed."""
    repo = git_repo(path)
    names = write_tree(repo, count, size)
    for i in range(0, len(names), 2000):
        run(zoo("-q", "add", *names[i:i + 2000]), repo)
    commit_all(repo, "track data with zoo-vcs")
    return repo, names


# --------------------------------------------------------------------------- S3

# moto's credentials; inherited AWS_* variables are never passed on (child_env), and the
# config/credentials files are an empty file, so no real profile or endpoint can be used.
AWS_EMPTY = WORK / "aws-empty-config"
S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
          "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1",
          "AWS_CONFIG_FILE": str(AWS_EMPTY), "AWS_SHARED_CREDENTIALS_FILE": str(AWS_EMPTY),
          "AWS_EC2_METADATA_DISABLED": "true"}
BUCKET = "bench"
S3_PEER = BENCH / "s3_peer.py"


@dataclass
class S3:
    """The moto endpoint and the Python that runs bench/s3_peer.py against it: the
    botocore baselines (``argv("put"|"get", ...)``) and the untimed bucket chores."""

    python: str
    endpoint: str

    def argv(self, command: str, *args: str | Path) -> list[str]:
        return [self.python, str(S3_PEER), command, self.endpoint, BUCKET, *map(str, args)]

    def __call__(self, command: str, *args: str | Path) -> str:
        return run(self.argv(command, *args), WORK, S3_ENV)

    def verifier(self, prefix: str, expected: dict[str, list[Any]]) -> Callable[[str], None]:
        """A check that every key of ``expected`` ({key: [size, md5, sha1]}) is there."""
        path = WORK / "s3" / f"expect-{prefix}.json"
        path.write_text(json.dumps(expected))

        def check(_: str) -> None:
            self("verify", prefix, path)
        return check


# --------------------------------------------------------------------------- shared peers


def zoo_pull_peer(name: str, data: ManyData, repo: Path, cache: Path,
                  pointers: dict[str, bytes] | None = None) -> Peer:
    """``zoo-vcs pull`` after deleting the data files, the cache and the stat cache; the
    pointers are the committed ones (no URL: objects come through the remote), or
    ``pointers`` (e.g. as ``push`` left them, naming each object's remote URL)."""
    def prepare() -> None:
        rmtree(cache)
        rmtree(repo / ".git" / "zoo-vcs")
        for n in data.names:
            (repo / "data" / n).unlink(missing_ok=True)
        if pointers is None:
            run(["git", "checkout", "--", "data"], repo)
        else:
            for rel, text in pointers.items():
                (repo / rel).write_bytes(text)
        os.sync()

    def check(stdout: str) -> None:
        expect_in_stdout(f"{len(data.names)} restored")(stdout)
        check_tree(repo / "data", data.expect(lambda n: n))

    return Peer(name, zoo("pull"), repo, env={"ZOO_VCS_CACHE_DIR": str(cache)},
                prepare=prepare, check=check)


def dvc_pull_peer(data: ManyData, dvc: str, repo: Path, env: dict[str, str]) -> Peer:
    """``dvc pull`` after deleting data/, .dvc/cache and dvc's site cache (hashes, index)."""
    def prepare() -> None:
        rmtree(repo / "data")
        rmtree(repo / ".dvc" / "cache")
        rmtree(Path(env["DVC_SITE_CACHE_DIR"]))
        os.sync()

    return Peer("dvc pull (dir)", [dvc, "pull"], repo, env=dict(env), prepare=prepare,
                check=lambda _: check_tree(repo / "data", data.expect(lambda n: n)))
