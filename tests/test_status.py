"""`zoo-vcs status` and `verify`: states, JSON, and the stat cache that skips re-hashing."""

from __future__ import annotations

import json
import os
import time

from tests.conftest import git, make_weights, run_zoo


def _tracked(tmp_path, n=3):
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    old = time.time() - 100
    names = []
    for i in range(n):
        f = repo / f"w{i}.bin"
        make_weights(f, 1000 + i, seed=i)
        os.utime(f, (old, old))  # older than the stat cache's racy-timestamp window
        names.append(f.name)
    assert run_zoo("add", *names, cwd=repo).returncode == 0
    return repo


def test_states_and_json(tmp_path):
    repo = _tracked(tmp_path)
    (repo / "w0.bin").unlink()
    (repo / "w1.bin").write_bytes(b"edited")
    r = run_zoo("status", "--json", cwd=repo)
    assert r.returncode == 0, r.output
    files = {f["path"]: f for f in json.loads(r.stdout)["files"]}
    assert files["w0.bin"]["state"] == "missing"
    assert files["w1.bin"]["state"] == "modified"
    assert files["w2.bin"]["state"] == "ok"
    assert files["w2.bin"]["cached"] is True
    human = run_zoo("status", cwd=repo).stdout
    assert "missing     w0.bin" in human
    assert "modified    w1.bin" in human
    assert "w2.bin" not in human
    assert "3 tracked binaries: 1 missing, 1 modified, 1 ok" in human


def test_stat_cache_skips_rehash_but_verify_does_not(tmp_path):
    repo = _tracked(tmp_path, n=1)
    f = repo / "w0.bin"
    st = f.stat()
    # Same size, same inode, same mtime: only a re-hash can see this change.
    data = bytearray(f.read_bytes())
    data[0] ^= 0xFF
    with open(f, "r+b") as fh:
        fh.write(bytes(data))
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert "1 ok" in run_zoo("status", cwd=repo).stdout, "status trusted the stat cache"
    r = run_zoo("verify", cwd=repo)
    assert r.returncode == 1
    assert "w0.bin: sha1 mismatch" in r.stderr
    os.utime(f, None)  # touched: the stat cache no longer vouches for it
    assert "1 modified" in run_zoo("status", cwd=repo).stdout


def test_verify_detects_corrupt_cache_object(tmp_path):
    repo = _tracked(tmp_path, n=1)
    assert run_zoo("verify", cwd=repo).returncode == 0
    cache = repo / ".git/zoo-vcs/cache/sha1"
    obj = next(p for p in cache.rglob("*") if p.is_file())
    obj.chmod(0o644)
    obj.write_bytes(b"rotten")
    r = run_zoo("verify", cwd=repo)
    assert r.returncode == 1
    assert str(obj) in r.stderr


def test_status_reports_malformed_pointer(tmp_path):
    repo = _tracked(tmp_path, n=1)
    (repo / "bad.bin.zoo").write_text("zoo-vcs: 1\nsha1: xyz\n")
    r = run_zoo("status", cwd=repo)
    assert r.returncode == 1
    assert "bad.bin.zoo: sha1 must be 40 lower-case hex digits" in r.stderr
    assert "Traceback" not in r.stderr


def test_gc_drops_unreferenced_objects(tmp_path):
    repo = _tracked(tmp_path, n=2)
    (repo / "w1.bin.zoo").unlink()
    r = run_zoo("gc", "--dry-run", cwd=repo)
    assert "would remove 1 objects" in r.stdout
    cache = repo / ".git/zoo-vcs/cache/sha1"
    assert sum(1 for p in cache.rglob("*") if p.is_file()) == 2
    r = run_zoo("gc", "--json", cwd=repo)
    assert json.loads(r.stdout)["kept"] == 1
    assert sum(1 for p in cache.rglob("*") if p.is_file()) == 1
    assert run_zoo("verify", cwd=repo).returncode == 0


def test_edited_pointer_is_read_again_not_taken_from_the_stat_cache(tmp_path):
    repo = _tracked(tmp_path, n=1)
    pointer = repo / "w0.bin.zoo"
    old = time.time() - 100
    os.utime(pointer, (old, old))  # old enough for its parse to be remembered
    assert "1 ok" in run_zoo("status", cwd=repo).stdout
    assert "1 ok" in run_zoo("status", cwd=repo).stdout
    text = pointer.read_text()
    sha1 = text.split("sha1: ")[1][:40]
    pointer.write_text(text.replace(sha1, "f" * 40))  # same size, new content and mtime
    assert "1 modified" in run_zoo("status", cwd=repo).stdout
