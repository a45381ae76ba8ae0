"""One run of ``zoo-vcs get`` of one model from a repository whose history holds ~200 MB of
other text and pointers, beside ``dvc get`` of the same weights from a DVC repository with
the same history: wall time and the bytes each served over loopback (git through
``git http-backend``, the weights through the loopback HTTP server).

    python bench/get_remote.py [--history-mib 200] [--weights-mib 64] [--dvc PATH/TO/dvc]

Scratch data goes to ``bench/.work/get/`` (git-ignored). Both repositories are bare and
allow partial clones (``uploadpack.allowFilter``), as GitHub does.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.servers.githttp import GitHTTPServer  # noqa: E402
from tests.servers.http import LoopbackHTTPServer  # noqa: E402

WORK = ROOT / "bench" / ".work" / "get"
GIT_ENV = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "Bench",
           "GIT_AUTHOR_EMAIL": "bench@example.invalid", "GIT_COMMITTER_NAME": "Bench",
           "GIT_COMMITTER_EMAIL": "bench@example.invalid"}
DVC_ENV = {"DVC_NO_ANALYTICS": "1", "DVC_UPDATER_ENDPOINT": "http://127.0.0.1:9/"}


def git(*args: str, cwd: Path, data: bytes | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, input=data, capture_output=True,
                          env=GIT_ENV, check=False)
    if proc.returncode:
        raise SystemExit(f"git {' '.join(args)}: {proc.stderr.decode()}")
    return proc.stdout.decode()


def history_stream(mib: int) -> bytes:
    """A fast-import stream: 100 commits, each rewriting one of ten text files with
    mib/100 MiB of fresh (barely compressible) text and adding 50 other models' pointers."""
    out = bytearray()
    per_commit = mib * (1 << 20) // 100
    for i in range(100):
        text = base64.encodebytes(os.urandom(per_commit * 3 // 4))
        body = [b"M 100644 inline docs/history/part-%d.txt\ndata %d\n%s\n"
                % (i % 10, len(text), text)]
        for j in range(50):
            sha1 = hashlib.sha1(b"%d-%d" % (i, j)).hexdigest()
            pointer = (f"zoo-vcs: 1\nsha1: {sha1}\nsize: {1 << 27}\nurls:\n"
                       f"- https://weights.example.org/m{i}-{j}.caffemodel\n").encode()
            body.append(b"M 100644 inline other/m%d-%d/w.caffemodel.zoo\ndata %d\n%s\n"
                        % (i, j, len(pointer), pointer))
        msg = b"history %d" % i
        out += (b"commit refs/heads/main\ncommitter Bench <b@b> %d +0000\ndata %d\n%s\n"
                % (1_700_000_000 + i, len(msg), msg))
        out += b"".join(body) + b"\n"
    return bytes(out)


def make_source(folder: Path, stream: bytes) -> None:
    folder.mkdir(parents=True)
    git("init", "-q", "-b", "main", cwd=folder)
    git("fast-import", "--quiet", cwd=folder, data=stream)
    git("checkout", "-q", "main", cwd=folder)


def serve_bare(source: Path, served: Path, name: str) -> None:
    git("clone", "-q", "--bare", str(source), str(served / name), cwd=served)
    git("config", "uploadpack.allowFilter", "true", cwd=served / name)


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)}: {proc.stderr.decode()[-2000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history-mib", type=int, default=200)
    parser.add_argument("--weights-mib", type=int, default=64)
    parser.add_argument("--dvc", default=shutil.which("dvc") or "/work/venv-dvc/bin/dvc")
    args = parser.parse_args()
    zoo = shutil.which("zoo-vcs")
    if zoo is None:
        raise SystemExit("zoo-vcs is not on PATH")
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    weights = os.urandom(args.weights_mib << 20)
    sha1, md5 = hashlib.sha1(weights).hexdigest(), hashlib.md5(weights).hexdigest()
    print(f"generating {args.history_mib} MiB of history ...", file=sys.stderr)
    stream = history_stream(args.history_mib)
    served = WORK / "served"
    served.mkdir()
    with LoopbackHTTPServer() as http, GitHTTPServer(served) as githttp:
        url = http.add("/dl/target.caffemodel", weights)
        http.add(f"/dvcstore/files/md5/{md5[:2]}/{md5[2:]}", weights)
        readme = ("---\nname: Target Net\ncaffemodel: w.caffemodel\n"
                  f"caffemodel_url: {url}\nsha1: {sha1}\n---\n\nThe model we want.\n")
        # zoo-vcs repository: the history, then the model (readme, prototxt, pointer).
        src = WORK / "zoo-src"
        make_source(src, stream)
        model = src / "models/target"
        model.mkdir(parents=True)
        (model / "readme.md").write_text(readme)
        (model / "deploy.prototxt").write_text("name: 'Target'\n")
        (model / "w.caffemodel.zoo").write_text(
            f"zoo-vcs: 1\nsha1: {sha1}\nsize: {len(weights)}\nurls:\n- {url}\n")
        git("add", "-A", cwd=src)
        git("commit", "-q", "-m", "target model", cwd=src)
        serve_bare(src, served, "zoo.git")
        # dvc repository: the same history, the same model tracked by dvc.
        dsrc = WORK / "dvc-src"
        make_source(dsrc, stream)
        dvc_ok = Path(args.dvc).exists()
        if dvc_ok:
            env = {**os.environ, **DVC_ENV}
            subprocess.run([args.dvc, "init", "-q"], cwd=dsrc, env=env, check=True)
            dmodel = dsrc / "models/target"
            dmodel.mkdir(parents=True)
            (dmodel / "readme.md").write_text(readme)
            (dmodel / "deploy.prototxt").write_text("name: 'Target'\n")
            (dmodel / "w.caffemodel.dvc").write_text(
                f"outs:\n- md5: {md5}\n  size: {len(weights)}\n  hash: md5\n"
                "  path: w.caffemodel\n")
            (dsrc / ".dvc/config").write_text(
                "[core]\n    remote = store\n    analytics = false\n    check_update = false\n"
                f"['remote \"store\"']\n    url = {http.url_for('/dvcstore')}\n")
            git("add", "-A", cwd=dsrc)
            git("commit", "-q", "-m", "target model", cwd=dsrc)
            serve_bare(dsrc, served, "dvc.git")
        pack = sum(p.stat().st_size for p in (served / "zoo.git").rglob("*.pack"))
        print(f"repository: {pack / 2**20:.0f} MiB of packed history; weights "
              f"{len(weights) / 2**20:.0f} MiB", file=sys.stderr)

        rows = []

        def measure(label: str, cmd: list[str], env: dict[str, str], out: Path) -> None:
            home = WORK / f"home-{len(rows)}"  # an empty user cache: no mirror, no object
            home.mkdir()
            # The object cache too: bench/.work is inside a git repository, whose own cache
            # zoo-vcs would otherwise use (and find the weights in, the second time).
            run_env = {**env, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
                       "ZOO_VCS_CACHE_DIR": str(home / "objects")}
            http.reset_log()
            githttp.reset_log()
            seconds = timed(cmd, WORK, run_env)
            target = out / "w.caffemodel" if out.is_dir() else out
            assert target.read_bytes() == weights, f"{label}: wrong bytes"
            assert not list(out.rglob(".git")) if out.is_dir() else True
            weights_bytes = sum(r.bytes_sent for r in http.requests)
            rows.append((label, seconds, githttp.bytes_sent, weights_bytes,
                         " ".join(c if " " not in c else repr(c) for c in cmd)))

        zoo_url, dvc_url = githttp.url_for("zoo.git"), githttp.url_for("dvc.git")
        measure("zoo-vcs get (one binary)", [zoo, "get", zoo_url,
                "models/target/w.caffemodel", "-o", "zoo-one.caffemodel"], dict(os.environ),
                WORK / "zoo-one.caffemodel")
        measure("zoo-vcs get (model folder)", [zoo, "get", zoo_url, "models/target", "-o",
                "zoo-folder"], dict(os.environ), WORK / "zoo-folder")
        if dvc_ok:
            denv = {**os.environ, **DVC_ENV}
            measure("dvc get (one binary)", [args.dvc, "get", dvc_url,
                    "models/target/w.caffemodel", "-o", "dvc-one.caffemodel"], denv,
                    WORK / "dvc-one.caffemodel")
            measure("dvc get (model folder)", [args.dvc, "get", dvc_url, "models/target",
                    "-o", "dvc-folder"], denv, WORK / "dvc-folder")
        measure("git clone + zoo-vcs pull (reference)", ["sh", "-c",
                f"git clone -q {zoo_url} clone && cd clone && {zoo} pull -q models/target "
                "&& cp models/target/w.caffemodel ../clone-one.caffemodel"],
                dict(os.environ), WORK / "clone-one.caffemodel")

    print("\n| command | wall s | git bytes | weights bytes |\n|---|---|---|---|")
    for label, seconds, git_bytes, weights_bytes, _cmd in rows:
        print(f"| {label} | {seconds:.2f} | {git_bytes:,} | {weights_bytes:,} |")
    print("\ncommands (run in bench/.work/get, each with an empty user cache):")
    for label, *_rest, cmd in rows:
        print(f"  {label}: {cmd}")
    if not dvc_ok:
        print(f"\ndvc: not available at {args.dvc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
