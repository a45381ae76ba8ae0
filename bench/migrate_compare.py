#!/usr/bin/env python3
"""Weights committed into git, migrated: ``zoo-vcs migrate`` (at HEAD, and with
``--rewrite-history``) beside ``git lfs migrate import --everything``, on copies of one
repository, with ``git count-objects -vH`` before and after.

The repository: ``--versions`` commits of a ``--size-mib`` MiB ``.caffemodel``
(pseudo-random bytes, so nothing compresses or deltas) and, from the first commit, an
ONNX export a quarter of that size, beside a legacy readme and a prototxt; a tag on the
second commit. Each tool runs on its own ``cp -a`` copy (timed); then everything that
still holds the old objects is dropped -- zoo-vcs's backup refs (git-lfs keeps none),
the reflogs -- and ``git gc --prune=now`` runs (timed). The workspace binaries must be
byte-identical afterwards and no commit of a branch or tag may hold a blob over 1 MiB
(except after a HEAD-only migration, whose old commits still hold the weights).

Where the bytes go: zoo-vcs's object cache and git-lfs's objects both live under
``.git`` (``.git/zoo-vcs/cache``, ``.git/lfs/objects``), outside git's object store,
which is what ``count-objects`` measures; the report shows them beside it.

    python bench/migrate_compare.py                  # 3 versions of 20 MiB
    python bench/migrate_compare.py --size-mib 200 --json bench/.work/migrate.json

zoo-vcs is the ``zoo-vcs`` script next to this Python, else the one on PATH. Scratch data
goes to ``bench/.work/migrate`` (rebuilt on every run). Needs git and git-lfs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
WEIGHTS = "models/net/net.caffemodel"
ONNX = "models/net/net.onnx"
MIB = 1 << 20


def zoo_vcs() -> str:
    here = Path(sys.executable).with_name("zoo-vcs")
    found = str(here) if here.exists() else shutil.which("zoo-vcs")
    if not found:
        sys.exit("zoo-vcs is not installed (pip install -e .)")
    return found


def environment(work: Path) -> dict[str, str]:
    """No user or system git configuration: an identity, and git-lfs's filters only where
    ``git lfs install --local`` puts them."""
    home = work / "home"
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text("[user]\n\tname = Bench\n\temail = bench@example.invalid\n"
                                     "[init]\n\tdefaultBranch = main\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "ZOO_VCS_"))}
    env.update(HOME=str(home), GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=str(home / ".gitconfig"))
    return env


def run(*args: str, cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(args)} failed in {cwd}:\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def timed(*args: str, cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    run(*args, cwd=cwd, env=env)
    return time.perf_counter() - start


def build(root: Path, size: int, versions: int, env: dict[str, str]) -> dict[str, bytes]:
    """The repository; returns the workspace binaries (their last versions)."""
    git = ("git", "-C", str(root))
    root.mkdir(parents=True)
    run(*git, "init", "-q", "-b", "main", cwd=root, env=env)
    (root / "models/net").mkdir(parents=True)
    (root / "models/net/deploy.prototxt").write_text("name: 'Net'\n")
    rng = random.Random(0)
    files = {}
    for i in range(versions):
        files[WEIGHTS] = rng.randbytes(size)
        (root / WEIGHTS).write_bytes(files[WEIGHTS])
        if i == 0:
            files[ONNX] = rng.randbytes(size // 4)
            (root / ONNX).write_bytes(files[ONNX])
        (root / "models/net/readme.md").write_text(
            "---\nname: Net\ncaffemodel: net.caffemodel\n"
            "caffemodel_url: http://dl.example.org/net.caffemodel\n"
            f"sha1: {hashlib.sha1(files[WEIGHTS]).hexdigest()}\n---\n# Net\n")
        run(*git, "add", "-A", cwd=root, env=env)
        run(*git, "commit", "-q", "-m", f"weights v{i + 1}", cwd=root, env=env)
        if i == 1:
            run(*git, "tag", "v2", cwd=root, env=env)
    run(*git, "gc", "-q", cwd=root, env=env)  # packed, as a clone would be
    return files


def count_objects(root: Path, env: dict[str, str]) -> dict[str, str]:
    out = run("git", "count-objects", "-vH", cwd=root, env=env)
    return dict(line.split(": ", 1) for line in out.splitlines())


def du(path: Path) -> int:
    if not path.exists():
        return 0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def largest_blob(root: Path, env: dict[str, str]) -> int:
    """The largest blob in any commit of a branch or tag."""
    largest = 0
    for commit in run("git", "rev-list", "--branches", "--tags", cwd=root, env=env).split():
        for line in run("git", "ls-tree", "-r", "-l", commit, cwd=root, env=env).splitlines():
            size = line.split("\t", 1)[0].split()[3]
            largest = max(largest, int(size) if size.isdigit() else 0)
    return largest


def measure(name: str, template: Path, commands: list[list[str]], work: Path,
            env: dict[str, str], files: dict[str, bytes], *,
            setup: list[list[str]] = ()) -> dict[str, object]:
    """Run ``commands`` (timed, together) on a copy of ``template``, then collect garbage."""
    root = work / name
    shutil.copytree(template, root, symlinks=True)
    for step in setup:
        run(*step, cwd=root, env=env)
    steps = [round(timed(*command, cwd=root, env=env), 2) for command in commands]
    for backup in run("git", "for-each-ref", "--format=%(refname)", "refs/zoo-vcs/backup",
                      cwd=root, env=env).split():
        run("git", "update-ref", "-d", backup, cwd=root, env=env)
    gc_seconds = timed("sh", "-c", "git reflog expire --expire=now --all && "
                       "git gc -q --prune=now", cwd=root, env=env)
    for path, data in files.items():
        if (root / path).read_bytes() != data:
            sys.exit(f"{name}: {path} is not byte-identical after the migration")
    return {"tool": name, "command": " && ".join(" ".join(c) for c in commands),
            "seconds": round(sum(steps), 2), "steps": steps,
            "gc_seconds": round(gc_seconds, 2), "count_objects": count_objects(root, env),
            "git_dir_bytes": du(root / ".git"),
            "side_store_bytes": du(root / ".git/zoo-vcs/cache") + du(root / ".git/lfs/objects"),
            "largest_blob": largest_blob(root, env)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=20)
    parser.add_argument("--versions", type=int, default=3)
    parser.add_argument("--work", type=Path, default=BENCH / ".work" / "migrate")
    parser.add_argument("--json", type=Path, help="also write the results here")
    opts = parser.parse_args()
    shutil.rmtree(opts.work, ignore_errors=True)
    opts.work.mkdir(parents=True)
    env = environment(opts.work)
    template = opts.work / "original"
    files = build(template, opts.size_mib * MIB, opts.versions, env)
    zoo = zoo_vcs()
    lfs = ["git", "lfs", "install", "--local"]
    rows = [
        {"tool": "original", "command": "(git gc)", "seconds": 0.0, "gc_seconds": 0.0,
         "count_objects": count_objects(template, env), "git_dir_bytes": du(template / ".git"),
         "side_store_bytes": 0, "largest_blob": largest_blob(template, env)},
        measure("zoo-vcs-head", template, [[zoo, "migrate"]], opts.work, env, files),
        measure("zoo-vcs-rewrite", template, [[zoo, "migrate", "--rewrite-history"]],
                opts.work, env, files),
        # git-lfs documents that the import may leave pointers in the working tree, to be
        # replaced by `git lfs checkout` (git-lfs PR #4504); 3.3.0 does, so it is timed too.
        measure("git-lfs", template, [["git", "lfs", "migrate", "import", "--everything",
                                       "--include=*.caffemodel,*.onnx"],
                                      ["git", "lfs", "checkout"]],
                opts.work, env, files, setup=[lfs]),
    ]
    versions = run("git", "lfs", "version", cwd=template, env=env).strip()
    print(f"{opts.versions} versions of a {opts.size_mib} MiB .caffemodel + a "
          f"{opts.size_mib / 4:g} MiB .onnx; {versions}; "
          f"{run(zoo, '--version', cwd=template, env=env).strip()}")
    print("| tool | migrate s | reflog expire + gc s | count | size-pack | in-pack | "
          "largest blob | .git total | cache / lfs objects |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        c = r["count_objects"]
        assert isinstance(c, dict)
        steps = r.get("steps") or []
        split = f" ({' + '.join(map(str, steps))})" if len(steps) > 1 else ""  # type: ignore[arg-type]
        print(f"| {r['tool']} | {r['seconds']}{split} | {r['gc_seconds']} | {c['count']} | "
              f"{c['size-pack']} | {c['in-pack']} | {r['largest_blob']:,} | "
              f"{int(r['git_dir_bytes']) / MIB:.1f} MiB | "  # type: ignore[call-overload]
              f"{int(r['side_store_bytes']) / MIB:.1f} MiB |")  # type: ignore[call-overload]
    for r in rows:
        print(f"{r['tool']}: {r['command']}")
    if opts.json:
        opts.json.parent.mkdir(parents=True, exist_ok=True)
        opts.json.write_text(json.dumps({"size_mib": opts.size_mib, "versions": opts.versions,
                                         "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
