"""`zoo-vcs status` and `verify`: states, JSON, and the stat cache that skips re-hashing."""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import git, make_weights, run_zoo
from tests.faults.test_faults import FaultProxy


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


# --------------------------------------------------------------------------- status --remote


def _remote(tmp_path, store, request) -> tuple[str, list[str], dict[str, str], object]:
    """(remote URL, remote options, environment, S3 request log or None) for a store."""
    if store == "folder":
        return str(tmp_path / "store"), [], {}, None
    s3 = request.getfixturevalue("s3_server")
    env = request.getfixturevalue("aws_env")
    bucket = s3.make_bucket(f"zoo-{uuid.uuid4().hex[:8]}")
    proxy = FaultProxy(s3.endpoint, b"no fault", after=0, n=0)  # a request log in front
    request.addfinalizer(proxy.close)
    return f"s3://{bucket}/zoo", ["-o", f"endpoint_url={proxy.endpoint}"], env, proxy


def _delete_from_remote(url: str, sha1s: list[str], request) -> None:
    if "://" not in url:
        for sha1 in sha1s:
            obj = Path(url) / "sha1" / sha1[:2] / sha1[2:]
            obj.chmod(0o644)
            obj.unlink()
        return
    bucket, prefix = url.removeprefix("s3://").split("/", 1)
    client = request.getfixturevalue("s3_server").client()
    for sha1 in sha1s:
        client.delete_object(Bucket=bucket, Key=f"{prefix}/sha1/{sha1[:2]}/{sha1[2:]}")


@pytest.mark.parametrize("store", ["folder", "s3"])
def test_status_remote_reports_exactly_what_the_remote_holds(tmp_path, store, request):
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    names = [f"m{i % 10}/w{i}.bin" for i in range(500)]
    sha1s = {}
    for i, name in enumerate(names):
        (repo / name).parent.mkdir(exist_ok=True)
        data = f"weights {i}".encode()
        (repo / name).write_bytes(data)
        sha1s[name] = hashlib.sha1(data).hexdigest()
    assert run_zoo("add", *names, cwd=repo).returncode == 0
    url, options, env, proxy = _remote(tmp_path, store, request)
    assert run_zoo("remote", "add", "store", url, "-d", *options, cwd=repo).returncode == 0
    r = run_zoo("push", cwd=repo, env=env)
    assert r.returncode == 0, r.output
    gone = sorted(names[::50])
    _delete_from_remote(url, [sha1s[n] for n in gone], request)

    if proxy is not None:
        proxy.requests.clear()
    r = run_zoo("status", "--remote", "--json", cwd=repo, env=env)
    assert r.returncode == 1, r.output
    report = json.loads(r.stdout)
    assert report["remote_name"] == "store"
    states = {f["path"]: f["remote"] for f in report["files"]}
    assert sorted(p for p, s in states.items() if s == "missing") == gone
    assert sorted(p for p, s in states.items() if s == "present") == sorted(set(names) - set(gone))
    assert f"{gone[0]}: object {sha1s[gone[0]][:12]} is not on remote 'store'" in r.stderr
    if proxy is not None:
        # 500 objects: one listing (ListObjectsV2 pages hold 1,000 keys), no GET, no HEAD
        # per object.
        assert len(proxy.requests) == 1, proxy.requests
        assert "list-type=2" in proxy.requests[0]

    human = run_zoo("status", "-r", "store", cwd=repo, env=env)
    assert human.returncode == 1
    assert f"ok          {gone[0]}  remote: missing" in human.stdout
    assert "500 tracked binaries: 500 ok; remote 'store': 490 present, 10 missing" in human.stdout

    assert run_zoo("push", cwd=repo, env=env).returncode == 0
    r = run_zoo("status", "--remote", cwd=repo, env=env)
    assert r.returncode == 0, r.output
    assert "remote 'store': 500 present, 0 missing" in r.stdout


def test_status_remote_asks_a_few_objects_one_by_one(tmp_path, s3_server, aws_env):
    repo = _tracked(tmp_path, n=3)
    bucket = s3_server.make_bucket(f"zoo-{uuid.uuid4().hex[:8]}")
    proxy = FaultProxy(s3_server.endpoint, b"no fault", after=0, n=0)
    try:
        assert run_zoo("remote", "add", "store", f"s3://{bucket}/zoo", "-d", "-o",
                       f"endpoint_url={proxy.endpoint}", cwd=repo).returncode == 0
        assert run_zoo("push", "w0.bin", cwd=repo, env=aws_env).returncode == 0
        proxy.requests.clear()
        r = run_zoo("status", "--remote", "--json", cwd=repo, env=aws_env)
    finally:
        proxy.close()
    assert r.returncode == 1
    states = {f["path"]: f["remote"] for f in json.loads(r.stdout)["files"]}
    assert states == {"w0.bin": "present", "w1.bin": "missing", "w2.bin": "missing"}
    # A size request each (s3fs follows a 404 HEAD with a one-key listing), never a GET of
    # an object's bytes.
    heads = [q for q in proxy.requests if q.startswith("HEAD ")]
    assert len(heads) == 3, proxy.requests
    assert len(proxy.requests) <= 5, proxy.requests
    assert all(q.startswith("HEAD ") or "list-type=2" in q for q in proxy.requests)


def test_status_remote_needs_a_known_remote(tmp_path):
    repo = _tracked(tmp_path, n=1)
    r = run_zoo("status", "--remote", cwd=repo)
    assert r.returncode == 2
    assert "no default remote" in r.stderr
    r = run_zoo("status", "-r", "nope", cwd=repo)
    assert r.returncode == 2
    assert "no remote named 'nope'" in r.stderr
