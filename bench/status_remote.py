"""Time ``zoo-vcs status --remote`` beside ``dvc status -c`` on the same files in S3 (moto).

Starts a moto server on loopback (its own process), tracks N small files with zoo-vcs
(one pointer each) and, when a dvc executable is given, with dvc (the folder as one
``data.dvc``), pushes both to the bucket, then times one run of each status command.

    python bench/status_remote.py [--files 1000] [--dvc /work/venv-dvc/bin/dvc] [DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
          "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1",
          "AWS_EC2_METADATA_DISABLED": "true", "DVC_NO_ANALYTICS": "1",
          "DVC_UPDATER_ENDPOINT": "http://127.0.0.1:9/"}
GIT_ID = ["-c", "user.name=bench", "-c", "user.email=bench@127.0.0.1"]


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - t0, proc.returncode


def moto(port: int, log: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                             str(port)], stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"moto did not start (see {log})") from None
            time.sleep(0.1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", nargs="?", help="where to build (default: a temp folder)")
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--dvc", help="a dvc executable (with dvc-s3) to time beside")
    args = parser.parse_args()
    base = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="zoo-status-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    # An empty config file: no real profile or endpoint can be used (dvc-s3 cannot read
    # /dev/null as one).
    empty = base / "aws-empty-config"
    empty.write_text("")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, **S3_ENV,
           "AWS_CONFIG_FILE": str(empty), "AWS_SHARED_CREDENTIALS_FILE": str(empty)}
    server = moto(port, base / "moto.log")
    try:
        import boto3

        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                     aws_access_key_id="testing",
                     aws_secret_access_key="testing").create_bucket(Bucket="bench")
        zoo_repo = base / "zoo"
        (zoo_repo / "data").mkdir(parents=True)
        run(["git", "init", "-q"], zoo_repo, env)
        names = []
        for i in range(args.files):
            name = f"data/f{i:05d}.bin"
            (zoo_repo / name).write_bytes(os.urandom(1024))
            names.append(name)
        zoo = shutil.which("zoo-vcs") or "zoo-vcs"
        run([zoo, "add", *names], zoo_repo, env)
        run([zoo, "remote", "add", "store", "s3://bench/zoo", "-d", "-o",
             f"endpoint_url={endpoint}"], zoo_repo, env)
        run([zoo, "push"], zoo_repo, env)
        zoo_time, zoo_rc = timed([zoo, "status", "--remote"], zoo_repo, env)
        print(f"zoo-vcs status --remote, {args.files} objects on moto: {zoo_time:.2f} s "
              f"(exit {zoo_rc})")
        if args.dvc:
            dvc_repo = base / "dvc"
            shutil.copytree(zoo_repo / "data", dvc_repo / "data",
                            ignore=shutil.ignore_patterns("*.zoo", ".gitignore"))
            run(["git", "init", "-q"], dvc_repo, env)
            for cmd in (["init", "-q"], ["config", "core.analytics", "false"],
                        ["config", "core.check_update", "false"], ["add", "-q", "data"],
                        ["remote", "add", "-d", "store", "s3://bench/dvc"],
                        ["remote", "modify", "store", "endpointurl", endpoint],
                        ["push", "-q"]):
                run([args.dvc, *cmd], dvc_repo, env)
            dvc_time, dvc_rc = timed([args.dvc, "status", "-c"], dvc_repo, env)
            print(f"dvc status -c, the same {args.files} files on moto: {dvc_time:.2f} s "
                  f"(exit {dvc_rc})")
    finally:
        server.terminate()
        server.wait(timeout=30)
        if not args.dir:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
