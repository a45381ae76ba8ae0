"""End-to-end checkout through the installed console script: real git, loopback HTTP, faults."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import ZOO_VCS, git, make_weights, run_zoo, temp_leftovers, write_readme
from tests.servers import http as faults
from tests.servers.http import LoopbackHTTPServer

SIZE = 3 * 1024 * 1024 + 17


def _model_repo(tmp_path: Path, server: LoopbackHTTPServer, *, size: int = SIZE,
                name: str = "net.caffemodel") -> tuple[Path, bytes, str]:
    """A committed repository whose model's pointer names the loopback URL; returns
    (repo, weights, url)."""
    repo = tmp_path / "origin-work"
    model = repo / "models" / "net"
    model.mkdir(parents=True)
    git("init", "-q", cwd=repo)
    data = make_weights(model / name, size)
    sha1 = hashlib.sha1(data).hexdigest()
    url = server.add(f"/w/{name}", data)
    write_readme(model, name="Test Net", caffemodel=name, caffemodel_url=url, sha1=sha1,
                 license="unrestricted")
    r = run_zoo("add", f"models/net/{name}", cwd=repo)
    assert r.returncode == 0, r.output
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "model", cwd=repo)
    return repo, data, url


def _clone(repo: Path, tmp_path: Path, name: str = "clone") -> Path:
    dest = tmp_path / name
    git("clone", "-q", str(repo), str(dest), cwd=tmp_path)
    return dest


def test_clone_then_checkout_restores_byte_exact(tmp_path, http_server):
    repo, data, url = _model_repo(tmp_path, http_server)
    pointer = (repo / "models/net/net.caffemodel.zoo").read_text()
    assert url in pointer, "add adopts the readme's URL when its sha1 matches"
    assert "net.caffemodel" not in git("ls-files", cwd=repo).replace(".zoo", "").split()
    clone = _clone(repo, tmp_path)
    assert not (clone / "models/net/net.caffemodel").exists()

    r = run_zoo("checkout", cwd=clone)
    assert r.returncode == 0, r.output
    assert (clone / "models/net/net.caffemodel").read_bytes() == data
    assert "restored models/net/net.caffemodel" in r.stdout
    assert temp_leftovers(clone) == []

    # Second run: nothing to do, no network.
    http_server.reset_log()
    r = run_zoo("checkout", cwd=clone)
    assert r.returncode == 0, r.output
    assert "0 restored, 1 up to date" in r.stdout
    assert http_server.requests == []


def test_legacy_folder_download_binary(tmp_path, http_server):
    """A Model Zoo folder with only frontmatter, no git, no pointer: the Caffe script's job."""
    folder = tmp_path / "bvlc_like"
    folder.mkdir()
    data = os.urandom(200_000)
    url = http_server.add("/dl/legacy.caffemodel", data)
    write_readme(folder, name="Legacy", caffemodel="legacy.caffemodel", caffemodel_url=url,
                 sha1=hashlib.sha1(data).hexdigest())
    r = run_zoo("download-binary", folder, cwd=tmp_path)
    assert r.returncode == 0, r.output
    assert (folder / "legacy.caffemodel").read_bytes() == data
    assert temp_leftovers(folder) == []


def test_wrong_sha1_exits_1_and_leaves_nothing(tmp_path, http_server):
    repo, data, _ = _model_repo(tmp_path, http_server)
    clone = _clone(repo, tmp_path)
    http_server.add("/w/net.caffemodel", data[:-1] + bytes([data[-1] ^ 1]))
    r = run_zoo("checkout", cwd=clone)
    assert r.returncode == 1
    assert "net.caffemodel" in r.stderr
    assert "wrong content" in r.stderr
    assert hashlib.sha1(data).hexdigest() in r.stderr
    assert "Traceback" not in r.output
    assert not (clone / "models/net/net.caffemodel").exists()
    assert temp_leftovers(clone / "models") == []


def test_reset_mid_body_resumes_with_range(tmp_path, http_server):
    repo, data, _ = _model_repo(tmp_path, http_server)
    clone = _clone(repo, tmp_path)
    http_server.reset_log()
    http_server.fail("/w/net.caffemodel", faults.reset_after(1_000_000))
    r = run_zoo("checkout", cwd=clone)
    assert r.returncode == 0, r.output
    assert (clone / "models/net/net.caffemodel").read_bytes() == data
    reqs = http_server.requests_for("/w/net.caffemodel")
    assert len(reqs) == 2
    assert "range" not in reqs[0].headers
    start = int(reqs[1].headers["range"].removeprefix("bytes=").rstrip("-"))
    assert 0 < start <= 1_000_000
    assert reqs[1].status == 206


def test_server_ignoring_range_still_gives_exact_file(tmp_path, http_server):
    repo, data, _ = _model_repo(tmp_path, http_server)
    clone = _clone(repo, tmp_path)
    http_server.fail("/w/net.caffemodel", faults.reset_after(500_000), faults.ignore_range())
    r = run_zoo("checkout", cwd=clone)
    assert r.returncode == 0, r.output
    assert (clone / "models/net/net.caffemodel").read_bytes() == data


def test_html_page_is_reported_as_web_page(tmp_path, http_server):
    repo, _, _ = _model_repo(tmp_path, http_server)
    clone = _clone(repo, tmp_path)
    http_server.always("/w/net.caffemodel", faults.html_page())
    r = run_zoo("checkout", cwd=clone)
    assert r.returncode == 1
    assert "this looks like a web page, not the file" in r.stderr
    assert not (clone / "models/net/net.caffemodel").exists()


def test_503_with_retry_after_then_success(tmp_path, http_server):
    repo, data, _ = _model_repo(tmp_path, http_server)
    clone = _clone(repo, tmp_path)
    http_server.fail("/w/net.caffemodel", faults.status(503, retry_after="1"))
    t0 = time.monotonic()
    r = run_zoo("checkout", cwd=clone)
    assert r.returncode == 0, r.output
    assert time.monotonic() - t0 >= 1.0, "Retry-After: 1 was honoured"
    assert (clone / "models/net/net.caffemodel").read_bytes() == data


def test_404_then_second_url_is_used(tmp_path, http_server):
    repo, data, url = _model_repo(tmp_path, http_server)
    mirror = http_server.add("/mirror/net.caffemodel", data)
    pointer = repo / "models/net/net.caffemodel.zoo"
    dead = http_server.url_for("/gone/net.caffemodel")
    pointer.write_text(pointer.read_text().replace(f"- {url}", f"- {dead}\n- {mirror}"))
    git("commit", "-q", "-am", "mirrors", cwd=repo)
    clone = _clone(repo, tmp_path)
    r = run_zoo("checkout", cwd=clone)
    assert r.returncode == 0, r.output
    assert (clone / "models/net/net.caffemodel").read_bytes() == data
    paths = [q.path for q in http_server.requests]
    assert paths.index("/gone/net.caffemodel") < paths.index("/mirror/net.caffemodel")


def test_no_progress_times_out_with_message(tmp_path, http_server):
    repo, _, _ = _model_repo(tmp_path, http_server)
    clone = _clone(repo, tmp_path)
    # The stall outlasts any run (the server's stop ends it): only zoo-vcs's own no-progress
    # timeout can end this download, and the bound below is generous for a loaded machine.
    http_server.always("/w/net.caffemodel", faults.stall_after(1000, 600))
    t0 = time.monotonic()
    r = run_zoo("checkout", "--timeout", "1", cwd=clone, env={"ZOO_VCS_RETRIES": "0"},
                timeout=90)
    assert r.returncode == 1
    assert time.monotonic() - t0 < 60
    assert "no progress for 1 seconds" in r.stderr
    assert not (clone / "models/net/net.caffemodel").exists()


def test_modified_weights_are_not_overwritten(tmp_path, http_server):
    repo, data, _ = _model_repo(tmp_path, http_server)
    weights = repo / "models/net/net.caffemodel"
    weights.write_bytes(b"my retrained weights")
    r = run_zoo("checkout", cwd=repo)
    assert r.returncode == 1
    assert "modified locally" in r.stderr
    assert "--force" in r.stderr
    assert weights.read_bytes() == b"my retrained weights"
    r = run_zoo("checkout", "--force", cwd=repo)
    assert r.returncode == 0, r.output
    assert weights.read_bytes() == data


def test_older_cached_version_is_replaced_without_force(tmp_path, http_server):
    repo, data, _ = _model_repo(tmp_path, http_server)
    weights = repo / "models/net/net.caffemodel"
    pointer = weights.with_name("net.caffemodel.zoo")
    old_pointer = pointer.read_text()
    weights.write_bytes(b"version two")
    assert run_zoo("add", weights, cwd=repo).returncode == 0
    pointer.write_text(old_pointer)  # e.g. git checkout of an older commit
    r = run_zoo("checkout", cwd=repo)
    assert r.returncode == 0, r.output
    assert weights.read_bytes() == data


def test_sigkill_mid_download_then_rerun_completes(tmp_path, http_server):
    repo, data, _ = _model_repo(tmp_path, http_server)
    clone = _clone(repo, tmp_path)
    http_server.reset_log()
    # Trickled, then held after 600 000 bytes (the gate never opens): the kill lands
    # mid-download however late this thread sees the count.
    http_server.fail("/w/net.caffemodel",
                     faults.hold_after(600_000, threading.Event(), 64 * 1024, 0.05))
    proc = subprocess.Popen([ZOO_VCS, "checkout"], cwd=clone, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while http_server.bytes_sent("/w/net.caffemodel") < 600_000:
        assert time.monotonic() < deadline
        assert proc.poll() is None
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    target = clone / "models/net/net.caffemodel"
    assert not target.exists()
    assert temp_leftovers(clone / "models") == []

    r = run_zoo("checkout", cwd=clone)
    assert r.returncode == 0, r.output
    assert target.read_bytes() == data
    resumed = http_server.requests_for("/w/net.caffemodel")[-1]
    assert resumed.headers.get("range", "").startswith("bytes=")
    assert resumed.headers["range"] != "bytes=0-"


@pytest.mark.parametrize("link", ["copy", "hardlink", "symlink"])
def test_link_types(tmp_path, http_server, link):
    repo, data, _ = _model_repo(tmp_path, http_server)
    weights = repo / "models/net/net.caffemodel"
    weights.unlink()
    r = run_zoo("checkout", "--link", link, cwd=repo)
    assert r.returncode == 0, r.output
    assert weights.read_bytes() == data
    assert weights.is_symlink() == (link == "symlink")
    if link == "copy":
        assert os.access(weights, os.W_OK)
    else:
        # Shared with the cache, so the cache object is read-only: an edit cannot corrupt it.
        assert (os.stat(weights).st_mode & 0o222) == 0
    r = run_zoo("status", cwd=repo)
    assert "1 tracked binary: 1 ok" in r.stdout


def test_dry_run_changes_nothing(tmp_path, http_server):
    repo, _, _ = _model_repo(tmp_path, http_server)
    clone = _clone(repo, tmp_path)
    http_server.reset_log()
    r = run_zoo("checkout", "--dry-run", "--json", cwd=clone)
    assert r.returncode == 0, r.output
    assert '"action": "create"' in r.stdout
    assert not (clone / "models/net/net.caffemodel").exists()
    assert http_server.requests == []


def test_one_bad_pointer_does_not_stop_the_others(tmp_path, http_server):
    repo, data, _ = _model_repo(tmp_path, http_server)
    (repo / "models/net/other.bin.zoo").write_text("zoo-vcs: 1\nsha1: not-hex\n")
    (repo / "models/net/net.caffemodel").unlink()
    r = run_zoo("checkout", cwd=repo)
    assert r.returncode == 1
    assert "other.bin.zoo" in r.stderr
    assert "sha1 must be 40" in r.stderr
    assert "Traceback" not in r.output
    assert (repo / "models/net/net.caffemodel").read_bytes() == data


def test_sha256_is_verified_when_the_pointer_has_one(tmp_path, http_server):
    repo, data, _ = _model_repo(tmp_path, http_server)
    pointer = repo / "models/net/net.caffemodel.zoo"
    assert run_zoo("add", "--sha256", "models/net/net.caffemodel", cwd=repo).returncode == 0
    good = pointer.read_text()
    assert f"sha256: {hashlib.sha256(data).hexdigest()}" in good
    pointer.write_text(good.replace(hashlib.sha256(data).hexdigest(), "0" * 64))
    git("commit", "-q", "-am", "bad sha256", cwd=repo)
    clone = _clone(repo, tmp_path)
    r = run_zoo("checkout", cwd=clone)
    assert r.returncode == 1
    assert "sha256" in r.stderr
    assert not (clone / "models/net/net.caffemodel").exists()
    # verify catches it in the workspace of the original too (sha1 alone would pass).
    r = run_zoo("verify", cwd=repo)
    assert r.returncode == 1
