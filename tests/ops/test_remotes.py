"""Storage remotes: push, fetch and pull through fsspec — S3 (moto on loopback), a folder, an
HTTP mirror — with failover, refusal of corrupt objects and one-line errors."""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from pathlib import Path

import pytest

from tests.conftest import git, make_weights, run_zoo
from zoo_vcs.formats import pointer as ptr


def _repo(tmp_path: Path, n: int = 2, size: int = 300_000) -> tuple[Path, dict[str, bytes]]:
    repo = tmp_path / "work"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    blobs = {}
    for i in range(n):
        name = f"m/w{i}.caffemodel"
        blobs[name] = make_weights(repo / name, size + i, seed=i)
    assert run_zoo("add", *blobs, cwd=repo).returncode == 0
    return repo, blobs


def _commit_and_clone(repo: Path, tmp_path: Path) -> Path:
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "weights", cwd=repo)
    clone = tmp_path / f"clone-{uuid.uuid4().hex[:6]}"
    git("clone", "-q", str(repo), str(clone), cwd=tmp_path)
    return clone


def _s3_remote(repo: Path, s3_server, bucket: str) -> str:
    s3_server.make_bucket(bucket)
    r = run_zoo("remote", "add", "store", f"s3://{bucket}/zoo", "--default",
                "-o", f"endpoint_url={s3_server.endpoint}", cwd=repo)
    assert r.returncode == 0, r.output
    return f"s3://{bucket}/zoo"


def test_s3_push_then_pull_into_fresh_clone(tmp_path, s3_server, aws_env):
    repo, blobs = _repo(tmp_path)
    bucket = f"zoo-{uuid.uuid4().hex[:8]}"
    base = _s3_remote(repo, s3_server, bucket)
    r = run_zoo("push", "--json", cwd=repo, env=aws_env)
    assert r.returncode == 0, r.output
    out = json.loads(r.stdout)
    assert len(out["uploaded"]) == 2
    assert out["present"] == []
    expected_keys = sorted(f"zoo/sha1/{h[:2]}/{h[2:]}"
                           for h in (hashlib.sha1(d).hexdigest() for d in blobs.values()))
    assert s3_server.keys(bucket) == expected_keys
    for name, data in blobs.items():
        p = ptr.decode((repo / (name + ".zoo")).read_text())
        assert f"{base}/sha1/{p.sha1[:2]}/{p.sha1[2:]}" in p.urls
        assert s3_server.get(bucket, f"zoo/sha1/{p.sha1[:2]}/{p.sha1[2:]}") == data

    # Nothing changed: nothing is sent again.
    r = run_zoo("push", "--json", cwd=repo, env=aws_env)
    assert r.returncode == 0, r.output
    out = json.loads(r.stdout)
    assert out["uploaded"] == []
    assert len(out["present"]) == 2

    clone = _commit_and_clone(repo, tmp_path)
    r = run_zoo("pull", cwd=clone, env=aws_env)
    assert r.returncode == 0, r.output
    for name, data in blobs.items():
        assert (clone / name).read_bytes() == data


def test_corrupt_remote_object_is_refused_and_next_source_used(tmp_path, s3_server, aws_env,
                                                              http_server):
    repo, blobs = _repo(tmp_path, n=1)
    bucket = f"zoo-{uuid.uuid4().hex[:8]}"
    _s3_remote(repo, s3_server, bucket)
    assert run_zoo("push", cwd=repo, env=aws_env).returncode == 0
    (name, data), = blobs.items()
    sha1 = hashlib.sha1(data).hexdigest()
    key = f"zoo/sha1/{sha1[:2]}/{sha1[2:]}"
    s3_server.put(bucket, key, b"X" + data[1:])  # same size, wrong bytes
    # A read-only HTTP mirror as a second remote holds the right bytes.
    http_server.add(f"/mirror/sha1/{sha1[:2]}/{sha1[2:]}", data)
    assert run_zoo("remote", "add", "mirror", http_server.url_for("/mirror"),
                   cwd=repo).returncode == 0
    clone = _commit_and_clone(repo, tmp_path)
    r = run_zoo("pull", cwd=clone, env=aws_env)
    assert r.returncode == 0, r.output
    assert (clone / name).read_bytes() == data
    wrong = hashlib.sha1(b"X" + data[1:]).hexdigest()
    assert wrong in r.stderr, "the bad source is reported with its hash"
    assert sha1 in r.stderr
    assert s3_server.get(bucket, key) == b"X" + data[1:], "the remote is never modified"


def test_dead_first_url_falls_back_to_next_and_to_remote(tmp_path, http_server):
    repo, blobs = _repo(tmp_path, n=1)
    (name, data), = blobs.items()
    store = tmp_path / "store"
    assert run_zoo("remote", "add", "store", str(store), "--default", cwd=repo).returncode == 0
    assert run_zoo("push", cwd=repo).returncode == 0
    pointer_file = repo / (name + ".zoo")
    p = ptr.decode(pointer_file.read_text())
    dead = ["http://127.0.0.1:9/gone.caffemodel", http_server.url_for("/missing.caffemodel")]
    # Only dead URLs in the pointer: the configured remote must still provide the bytes.
    pointer_file.write_text(ptr.encode(ptr.Pointer(p.sha1, p.size, p.sha256, tuple(dead))))
    clone = _commit_and_clone(repo, tmp_path)
    r = run_zoo("checkout", cwd=clone)
    assert r.returncode == 0, r.output
    assert (clone / name).read_bytes() == data
    assert [q.path for q in http_server.requests] == ["/missing.caffemodel"]


def test_folder_remote_layout_and_read_only_objects(tmp_path):
    repo, blobs = _repo(tmp_path, n=1)
    store = tmp_path / "store"
    assert run_zoo("remote", "add", "share", str(store), "-d", cwd=repo).returncode == 0
    r = run_zoo("push", cwd=repo)
    assert r.returncode == 0, r.output
    assert "1 uploaded" in r.stdout
    (data,) = blobs.values()
    sha1 = hashlib.sha1(data).hexdigest()
    obj = store / "sha1" / sha1[:2] / sha1[2:]
    assert obj.read_bytes() == data
    assert not [p for p in store.rglob("*") if "zoo-tmp" in p.name]
    clone = _commit_and_clone(repo, tmp_path)
    (clone / ".zoo").mkdir(exist_ok=True)
    r = run_zoo("fetch", cwd=clone)
    assert r.returncode == 0, r.output
    assert "1 fetched" in r.stdout
    assert not (clone / "m/w0.caffemodel").exists(), "fetch leaves the workspace alone"
    assert run_zoo("checkout", cwd=clone).returncode == 0
    assert (clone / "m/w0.caffemodel").read_bytes() == data


def test_push_of_object_missing_everywhere_fails_clearly(tmp_path):
    repo, _blobs = _repo(tmp_path, n=1)
    assert run_zoo("remote", "add", "store", str(tmp_path / "s"), "-d", cwd=repo).returncode == 0
    clone = _commit_and_clone(repo, tmp_path)
    r = run_zoo("push", cwd=clone)
    assert r.returncode == 1
    assert "not in the cache and not in the workspace" in r.stderr


def test_push_to_http_mirror_is_refused(tmp_path, http_server):
    repo, _ = _repo(tmp_path, n=1)
    assert run_zoo("remote", "add", "mirror", http_server.url_for("/m"), "-d",
                   cwd=repo).returncode == 0
    r = run_zoo("push", cwd=repo)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert http_server.url_for("/m") in r.stderr


@pytest.mark.parametrize("case", ["no-bucket", "unreachable"])
def test_s3_errors_name_the_cause(tmp_path, s3_server, aws_env, case):
    repo, _ = _repo(tmp_path, n=1)
    endpoint = s3_server.endpoint if case == "no-bucket" else "http://127.0.0.1:9"
    assert run_zoo("remote", "add", "store", "s3://no-such-bucket-here/zoo", "-d",
                   "-o", f"endpoint_url={endpoint}", cwd=repo).returncode == 0
    r = run_zoo("push", "--timeout", "5", cwd=repo,
                env={**aws_env, "ZOO_VCS_RETRIES": "0", "AWS_MAX_ATTEMPTS": "1"})
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    expected = "bucket does not exist" if case == "no-bucket" else "endpoint unreachable"
    assert expected in r.stderr


def test_remote_config_commands(tmp_path):
    repo = tmp_path / "r"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    assert run_zoo("remote", "add", "a", "s3://b/zoo", "-d", "-o", "profile=lab",
                   cwd=repo).returncode == 0
    assert run_zoo("remote", "add", "b", "/srv/zoo", cwd=repo).returncode == 0
    r = run_zoo("remote", "add", "a", "s3://c", cwd=repo)
    assert r.returncode == 2
    assert "exists" in r.stderr
    assert run_zoo("remote", "modify", "a", "secret", "s3cr3t", "--local", cwd=repo).returncode == 0
    shared = (repo / ".zoo/config").read_text()
    assert "s3cr3t" not in shared
    assert "s3cr3t" in (repo / ".zoo/config.local").read_text()
    assert "/config.local" in (repo / ".zoo/.gitignore").read_text()
    listing = json.loads(run_zoo("remote", "list", "--json", cwd=repo).stdout)
    assert [(x["name"], x["default"]) for x in listing] == [("a", True), ("b", False)]
    assert "s3cr3t" not in run_zoo("remote", "list", cwd=repo).stdout
    assert run_zoo("remote", "remove", "a", cwd=repo).returncode == 0
    assert "s3cr3t" not in (repo / ".zoo/config.local").read_text()
    assert [x["name"] for x in json.loads(run_zoo("remote", "list", "--json",
                                                  cwd=repo).stdout)] == ["b"]
    r = run_zoo("push", "-r", "nope", cwd=repo)
    assert r.returncode == 2
    assert "no remote named 'nope'" in r.stderr


def test_many_objects_use_one_listing_and_are_verified(tmp_path, s3_server, aws_env):
    """Past 16 objects, push lists the remote instead of asking per object."""
    repo, blobs = _repo(tmp_path, n=20, size=1000)
    bucket = f"zoo-{uuid.uuid4().hex[:8]}"
    _s3_remote(repo, s3_server, bucket)
    r = run_zoo("push", "--json", cwd=repo, env=aws_env)
    assert r.returncode == 0, r.output
    assert len(json.loads(r.stdout)["uploaded"]) == 20
    assert len(s3_server.keys(bucket)) == 20
    r = run_zoo("push", "--json", cwd=repo, env=aws_env)
    assert json.loads(r.stdout)["present"]
    assert not json.loads(r.stdout)["uploaded"]
    # A remote object of the wrong size is reported, and left as it is.
    sha1 = hashlib.sha1(blobs["m/w3.caffemodel"]).hexdigest()
    key = f"zoo/sha1/{sha1[:2]}/{sha1[2:]}"
    s3_server.put(bucket, key, b"short")
    r = run_zoo("push", cwd=repo, env=aws_env)
    assert r.returncode == 1
    assert "holds 5 bytes" in r.stderr
    assert s3_server.get(bucket, key) == b"short"
    clone = _commit_and_clone(repo, tmp_path)
    s3_server.put(bucket, key, blobs["m/w3.caffemodel"])
    r = run_zoo("pull", cwd=clone, env=aws_env)
    assert r.returncode == 0, r.output
    assert all((clone / name).read_bytes() == data for name, data in blobs.items())


def test_pull_restores_files_sharing_objects_and_objects_already_cached(tmp_path):
    """Files are placed as their objects arrive (on the fetch workers): two files with one
    object, an object already in the cache and fetched ones must all end up exact."""
    repo = tmp_path / "work"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    blobs = {f"m/w{i}.caffemodel": make_weights(repo / f"m/w{i}.caffemodel", 70_000 + i, i)
             for i in range(5)}
    blobs["m/copy.caffemodel"] = make_weights(repo / "m/copy.caffemodel", 70_000, 0)
    blobs["n/copy.caffemodel"] = make_weights(repo / "n/copy.caffemodel", 70_001, 1)
    assert run_zoo("add", *blobs, cwd=repo).returncode == 0
    assert run_zoo("remote", "add", "share", str(tmp_path / "store"), "-d",
                   cwd=repo).returncode == 0
    assert run_zoo("push", cwd=repo).returncode == 0
    clone = _commit_and_clone(repo, tmp_path)
    assert run_zoo("fetch", "m/w3.caffemodel", cwd=clone).returncode == 0
    r = run_zoo("pull", "--jobs", "3", cwd=clone)
    assert r.returncode == 0, r.output
    assert f"{len(blobs)} restored" in r.stdout
    for name, data in blobs.items():
        assert (clone / name).read_bytes() == data, name
    r = run_zoo("status", "--json", cwd=clone)
    assert r.returncode == 0, r.output
    assert {f["state"] for f in json.loads(r.stdout)["files"]} == {"ok"}


def test_folder_remote_on_another_file_system(tmp_path):
    """A push to a folder on another file system type (tmpfs) is a kernel copy that the
    kernel refuses with copy_file_range (EXDEV) and does with sendfile instead."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no /dev/shm on another file system")
    store = shm / f"zoo-vcs-test-{uuid.uuid4().hex[:8]}"
    try:
        repo, blobs = _repo(tmp_path, n=2, size=3_000_000)
        assert run_zoo("remote", "add", "share", str(store), "-d", cwd=repo).returncode == 0
        r = run_zoo("push", cwd=repo)
        assert r.returncode == 0, r.output
        for data in blobs.values():
            sha1 = hashlib.sha1(data).hexdigest()
            obj = store / "sha1" / sha1[:2] / sha1[2:]
            assert obj.read_bytes() == data
            assert obj.stat().st_mode & 0o777 == 0o444
        clone = _commit_and_clone(repo, tmp_path)
        r = run_zoo("pull", cwd=clone)
        assert r.returncode == 0, r.output
        for name, data in blobs.items():
            assert (clone / name).read_bytes() == data
    finally:
        shutil.rmtree(store, ignore_errors=True)
