"""The bench's data sets, scratch folders and result checks (everything under bench/.work).

Data sets are kept and reused while their size is unchanged: ``data/big.bin`` (the big
file of ``--size-mib``), ``data/many/`` (``--many`` files of 1 MiB, digests in
``data/many.json``). Scenario folders are rebuilt on every run. Results are checked by
``sha1sum`` children, not in this process, which keeps this script's RSS (the RSS floor of
every row, README) low.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness import CHUNK, MIB, WORK, BenchError, child_env, log

# --------------------------------------------------------------------------- folders


def fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def rmtree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    if path.exists():
        raise BenchError(f"could not delete {path}")


def empty_dir_synced(path: Path) -> Callable[[], None]:
    """A ``prepare``: ``path`` deleted, made again empty, dirty pages written out."""
    def fn() -> None:
        rmtree(path)
        path.mkdir(parents=True)
        os.sync()
    return fn


def link_into(src: Path, dest: Path) -> Path:
    """Hard-link ``src`` at ``dest`` (same inode, same page cache)."""
    dest.unlink(missing_ok=True)
    os.link(src, dest)
    return dest


def other_file_system() -> tuple[Path, str | None]:
    """A fresh folder on a file system other than WORK's (tmpfs /dev/shm), and a note
    when there is none (then the folder is under WORK)."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        path = fresh_dir(shm / f"zoo-vcs-bench-{os.getpid()}")
        if path.stat().st_dev != WORK.stat().st_dev:
            return path, None
        rmtree(path)
    return fresh_dir(WORK / "other-fs"), "no /dev/shm on another file system: destination " \
        "under bench/.work, on the same file system"


# --------------------------------------------------------------------------- page cache


def warm(path: Path) -> None:
    """Read ``path`` once so that every peer starts from the page cache."""
    with open(path, "rb", buffering=0) as f:
        while f.read(CHUNK):
            pass


def warm_tree(*folders: Path) -> None:
    """Read every file under ``folders`` once (untimed), so that peers start warm."""
    for folder in folders:
        files = [str(Path(d) / n) for d, _, names in os.walk(folder) for n in names]
        for k in range(0, len(files), 1000):
            subprocess.run(["cat", "--", *files[k:k + 1000]], stdout=subprocess.DEVNULL,
                           check=False)


# --------------------------------------------------------------------------- checks


def sha1_of(path: Path) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def expect_in_stdout(text: str) -> Callable[[str], None]:
    def check(stdout: str) -> None:
        if text not in stdout:
            raise BenchError(f"expected {text!r} in the output, got {stdout.strip()[-300:]!r}")
    return check


def expect_file(path: Path, sha1: str) -> None:
    if not path.is_file():
        raise BenchError(f"{path} was not created")
    if (actual := sha1_of(path)) != sha1:
        raise BenchError(f"{path} has SHA1 {actual}, expected {sha1}")


def check_tree(root: Path, expected: dict[str, str], what: str = "files") -> None:
    """Every ``root/<relative path>`` of ``expected`` exists with that SHA1. Hashed by two
    ``sha1sum`` children (both cores; this process's RSS, the RSS floor, stays low)."""
    rels = list(expected)
    missing = [rel for rel in rels if not (root / rel).is_file()]
    if missing:
        raise BenchError(f"{len(missing)} of {len(rels)} {what} missing under {root}: "
                         + ", ".join(missing[:3]))
    procs = [subprocess.Popen(["sha1sum", "--", *rels[k::2]], cwd=root, env=child_env({}),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k in range(2)]
    actual: dict[str, str] = {}
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise BenchError(f"sha1sum under {root}: {err.strip()[-300:]}")
        for line in out.splitlines():
            digest, rel = line.split(None, 1)
            actual[rel.lstrip("*")] = digest
    wrong = [f"{rel} has SHA1 {actual.get(rel)}, expected {sha1}"
             for rel, sha1 in expected.items() if actual.get(rel) != sha1]
    if wrong:
        raise BenchError(f"{len(wrong)} of {len(rels)} {what} wrong under {root}: "
                         + "; ".join(wrong[:3]))


# --------------------------------------------------------------------------- data sets


def random_file(path: Path, size: int, *algorithms: str) -> list[str]:
    """Write ``size`` random bytes to ``path`` a chunk at a time (this process's RSS stays
    low); their digests, one per algorithm (default: SHA1)."""
    hashes = [hashlib.new(a) for a in algorithms or ("sha1",)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        for left in range(size, 0, -CHUNK):
            block = os.urandom(min(CHUNK, left))
            for h in hashes:
                h.update(block)
            f.write(block)
    return [h.hexdigest() for h in hashes]


def big_file(size: int) -> tuple[Path, str]:
    """WORK/data/big.bin of ``size`` random bytes and its SHA1 (reused when it matches)."""
    path, stamp = WORK / "data" / "big.bin", WORK / "data" / "big.bin.sha1"
    if path.is_file() and path.stat().st_size == size and stamp.is_file():
        return path, stamp.read_text().strip()
    log(f"writing {path} ({size // MIB} MiB)")
    stamp.unlink(missing_ok=True)
    [sha1] = random_file(path, size)
    stamp.write_text(sha1 + "\n")
    return path, sha1


def write_tree(root: Path, count: int, size: int) -> list[str]:
    """``count`` files of ``size`` random bytes in folders of 100 under ``root``, their mtimes
    set a minute back (older than the stat cache's 2 s racy window). Returns relative paths."""
    names = [f"data/d{i // 100:03d}/f{i % 100:03d}.bin" for i in range(count)]
    past = time.time() - 60
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))
        os.utime(path, (past, past))
    return names


@dataclass
class ManyData:
    """``--many`` files of 1 MiB (WORK/data/many/f00000.bin ...) and their digests."""

    folder: Path
    names: list[str]
    sha1: dict[str, str]
    md5: dict[str, str]
    sha256: dict[str, str]

    def expect(self, where: Callable[[str], str]) -> dict[str, str]:
        """{where(name): sha1 of that file}: what check_tree expects of some layout."""
        return {where(n): self.sha1[n] for n in self.names}

    def zoo_object(self, name: str) -> str:
        """Where zoo-vcs keeps ``name``'s object, in its cache and on a remote."""
        return f"sha1/{self.sha1[name][:2]}/{self.sha1[name][2:]}"

    def dvc_object(self, name: str) -> str:
        """The same for dvc (3.x), under <cache or remote>/files/md5/."""
        return f"{self.md5[name][:2]}/{self.md5[name][2:]}"

    def lfs_object(self, name: str) -> str:
        """The same for git-lfs, under .git/lfs/objects/ or <bare repo>/lfs/objects/."""
        return f"{self.sha256[name][:2]}/{self.sha256[name][2:4]}/{self.sha256[name]}"


def many_data(count: int) -> ManyData:
    """WORK/data/many/ holding ``count`` files of 1 MiB of random bytes (kept and reused
    while ``count`` is unchanged) and their SHA1, MD5 and SHA256 (WORK/data/many.json)."""
    folder, manifest = WORK / "data" / "many", WORK / "data" / "many.json"
    names = [f"f{i:05d}.bin" for i in range(count)]
    if manifest.is_file() and folder.is_dir():
        m = json.loads(manifest.read_text())
        if m.get("names") == names and sorted(os.listdir(folder)) == names and all(
                (folder / n).stat().st_size == MIB for n in names):
            return ManyData(folder, names, m["sha1"], m["md5"], m["sha256"])
    log(f"writing {count} files of 1 MiB to {folder}")
    manifest.unlink(missing_ok=True)
    fresh_dir(folder)
    digests: dict[str, dict[str, str]] = {"sha1": {}, "md5": {}, "sha256": {}}
    for n in names:
        block = os.urandom(MIB)
        (folder / n).write_bytes(block)
        for algo, table in digests.items():
            table[n] = hashlib.new(algo, block).hexdigest()
    manifest.write_text(json.dumps({"names": names, **digests}))
    return ManyData(folder, names, digests["sha1"], digests["md5"], digests["sha256"])
