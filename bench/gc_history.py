"""Time ``zoo-vcs gc --dry-run`` on a long history: N commits over P pointers.

Builds (with ``git fast-import``, in seconds) a repository whose first commit adds P
pointer files in P/20 model folders, each with a readme, and whose every later commit
changes two pointers (and, every tenth, a readme); fills its cache with an object for
every SHA1 the history names plus some that nothing names; then times one
``zoo-vcs gc --dry-run --json`` and checks that exactly the unnamed objects would go.

    python bench/gc_history.py [--commits 1000] [--pointers 2000] [--orphans 500] [DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from zoo_vcs.formats import pointer as ptr

PER_FOLDER = 20


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def _pointer(sha1: str, folder: int, name: str) -> bytes:
    url = f"https://models.example.org/m{folder:03d}/{name}"
    return ptr.encode(ptr.Pointer(sha1=sha1, size=1, urls=(url,))).encode()


def _readme(folder: int, version: int) -> bytes:
    return (f"---\nname: Model {folder} v{version}\ncaffemodel: w00.caffemodel\n"
            f"caffemodel_url: https://models.example.org/m{folder:03d}/w00.caffemodel\n"
            f"sha1: {_sha1(f'readme-{folder}-{version}')}\n---\n\n# Model {folder}\n").encode()


def build(repo: Path, *, commits: int, pointers: int, orphans: int) -> tuple[set[str], set[str]]:
    """Create the repository at ``repo`` (its cache included); returns (the SHA1s its
    history names, the SHA1s of unnamed objects put in its cache)."""
    repo.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    named: set[str] = set()
    stream: list[bytes] = []

    def blob(data: bytes) -> bytes:
        return b"data %d\n%s\n" % (len(data), data)

    def entry(path: str, data: bytes) -> bytes:
        return f"M 100644 inline {path}\n".encode() + blob(data)

    version = [0] * pointers
    for c in range(commits):
        lines = [f"commit refs/heads/main\ncommitter Bench <b@example.org> {1_600_000_000 + c} "
                 f"+0000\n".encode(), blob(f"commit {c}".encode())]
        if c == 0:
            changed = range(pointers)
            for folder in range(pointers // PER_FOLDER):
                named.add(_sha1(f"readme-{folder}-0"))
                lines.append(entry(f"m{folder:03d}/readme.md", _readme(folder, 0)))
        else:
            changed = [(2 * c) % pointers, (2 * c + 1) % pointers]
            if c % 10 == 0:
                folder = (c // 10) % (pointers // PER_FOLDER)
                named.add(_sha1(f"readme-{folder}-{c}"))
                lines.append(entry(f"m{folder:03d}/readme.md", _readme(folder, c)))
        for i in changed:
            version[i] = c
            sha1 = _sha1(f"object-{i}-{c}")
            named.add(sha1)
            folder, name = i // PER_FOLDER, f"w{i % PER_FOLDER:02d}.caffemodel"
            lines.append(entry(f"m{folder:03d}/{name}.zoo", _pointer(sha1, folder, name)))
        stream.append(b"".join(lines) + b"\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=b"".join(stream),
                   check=True)
    subprocess.run(["git", "reset", "-q", "--hard", "main"], cwd=repo, check=True)
    unnamed = {_sha1(f"orphan-{i}") for i in range(orphans)}
    cache = repo / ".git" / "zoo-vcs" / "cache" / "sha1"
    for sha1 in named | unnamed:
        (cache / sha1[:2]).mkdir(parents=True, exist_ok=True)
        (cache / sha1[:2] / sha1[2:]).write_bytes(b"x")
    return named, unnamed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", nargs="?", help="where to build (default: a temp folder)")
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--pointers", type=int, default=2000)
    parser.add_argument("--orphans", type=int, default=500)
    args = parser.parse_args()
    base = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="zoo-gc-bench-"))
    repo = base / "repo"
    try:
        t0 = time.perf_counter()
        named, unnamed = build(repo, commits=args.commits, pointers=args.pointers,
                               orphans=args.orphans)
        built = time.perf_counter() - t0
        zoo = shutil.which("zoo-vcs") or "zoo-vcs"
        t0 = time.perf_counter()
        proc = subprocess.run([zoo, "gc", "--dry-run", "--json"], cwd=repo,
                              capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - t0
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 1
        result = json.loads(proc.stdout)
        ok = set(result["removed"]) == unnamed and result["kept"] == len(named)
        print(f"{args.commits} commits, {args.pointers} pointers, {len(named)} named objects, "
              f"{len(unnamed)} unnamed: built in {built:.1f} s; "
              f"zoo-vcs gc --dry-run: {elapsed:.2f} s, "
              f"{'exactly the unnamed objects' if ok else 'WRONG SET'} would be removed")
        return 0 if ok else 1
    finally:
        if not args.dir:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("GIT_CONFIG_NOSYSTEM", "1")
    sys.exit(main())
