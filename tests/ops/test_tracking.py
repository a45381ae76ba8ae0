"""`zoo-vcs add`: pointer, cache object, .gitignore, readme kept in step by minimal edits."""

from __future__ import annotations

import hashlib
import json

from tests.conftest import git, make_weights, run_zoo, write_readme
from zoo_vcs.formats import pointer as ptr


def _repo(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    return repo


def test_add_writes_pointer_cache_object_and_gitignore(tmp_path):
    repo = _repo(tmp_path)
    data = make_weights(repo / "m" / "w.caffemodel", 100_000)
    r = run_zoo("add", "m/w.caffemodel", cwd=repo)
    assert r.returncode == 0, r.output
    p = ptr.decode((repo / "m/w.caffemodel.zoo").read_text())
    assert p.sha1 == hashlib.sha1(data).hexdigest()
    assert p.sha256 is None, "SHA256 is opt-in (--sha256 or core.sha256)"
    assert run_zoo("add", "--sha256", "m/w.caffemodel", cwd=repo).returncode == 0
    p = ptr.decode((repo / "m/w.caffemodel.zoo").read_text())
    assert p.sha256 == hashlib.sha256(data).hexdigest()
    assert p.size == len(data)
    obj = repo / ".git/zoo-vcs/cache/sha1" / p.sha1[:2] / p.sha1[2:]
    assert obj.read_bytes() == data
    assert (repo / "m/.gitignore").read_text() == "/w.caffemodel\n"
    git("add", "-A", cwd=repo)
    assert git("ls-files", cwd=repo).split() == ["m/.gitignore", "m/w.caffemodel.zoo"]
    assert "git add" in r.stdout


def test_add_twice_is_idempotent(tmp_path):
    repo = _repo(tmp_path)
    make_weights(repo / "w.bin", 5000)
    assert run_zoo("add", "w.bin", cwd=repo).returncode == 0
    before = (repo / "w.bin.zoo").read_bytes(), (repo / ".gitignore").read_bytes()
    r = run_zoo("add", "w.bin", cwd=repo)
    assert r.returncode == 0
    assert "(unchanged)" in r.stdout
    assert ((repo / "w.bin.zoo").read_bytes(), (repo / ".gitignore").read_bytes()) == before


def test_add_syncs_readme_by_minimal_edit(tmp_path):
    repo = _repo(tmp_path)
    model = repo / "alexnet"
    model.mkdir()
    readme = model / "readme.md"
    original = ("---\nname: Net  # a comment stays\ncaffemodel: net.caffemodel\n"
                "caffemodel_url: https://www.dropbox.com/s/x/net.caffemodel?dl=0\n"
                f"sha1: {'0' * 40}\nlicense: BSD\n---\n\nBody *text*\n")
    readme.write_text(original)
    data = make_weights(model / "net.caffemodel", 4096)
    sha1 = hashlib.sha1(data).hexdigest()
    r = run_zoo("add", "alexnet/net.caffemodel", cwd=repo)
    assert r.returncode == 0, r.output
    new = readme.read_text()
    assert new == original.replace("0" * 40, sha1)
    # The readme's URL named other bytes (sha1 differed), so it is not adopted as a mirror.
    assert ptr.decode((model / "net.caffemodel.zoo").read_text()).urls == ()


def test_add_adopts_readme_url_when_sha1_matches(tmp_path):
    repo = _repo(tmp_path)
    data = make_weights(repo / "net.caffemodel", 4096)
    url = "http://dl.example.org/net.caffemodel"
    write_readme(repo, name="Net", caffemodel="net.caffemodel", caffemodel_url=url,
                 sha1=hashlib.sha1(data).hexdigest())
    before = (repo / "readme.md").read_bytes()
    assert run_zoo("add", "net.caffemodel", cwd=repo).returncode == 0
    assert ptr.decode((repo / "net.caffemodel.zoo").read_text()).urls == (url,)
    assert (repo / "readme.md").read_bytes() == before, "already in step: not rewritten"


def test_add_fills_init_skeleton(tmp_path):
    repo = tmp_path / "model"
    assert run_zoo("init", repo, "--name", "My Net", cwd=tmp_path).returncode == 0
    data = make_weights(repo / "my.caffemodel", 2048)
    r = run_zoo("add", "my.caffemodel", "--url", "https://example.org/my.caffemodel", cwd=repo)
    assert r.returncode == 0, r.output
    text = (repo / "readme.md").read_text()
    assert "caffemodel: my.caffemodel\n" in text
    assert f"sha1: {hashlib.sha1(data).hexdigest()}\n" in text
    assert "caffemodel_url: https://example.org/my.caffemodel\n" in text
    assert "name: My Net\n" in text


def test_readding_changed_file_drops_stale_urls(tmp_path):
    repo = _repo(tmp_path)
    make_weights(repo / "w.bin", 1000, seed=1)
    assert run_zoo("add", "w.bin", "--url", "http://h/w.bin", cwd=repo).returncode == 0
    make_weights(repo / "w.bin", 1000, seed=2)
    r = run_zoo("add", "w.bin", "--json", cwd=repo)
    assert r.returncode == 0, r.output
    assert json.loads(r.stdout)["added"][0]["changed"] is True
    assert ptr.decode((repo / "w.bin.zoo").read_text()).urls == ()


def test_add_refuses_bad_targets(tmp_path):
    repo = _repo(tmp_path)
    (repo / "d").mkdir()
    (repo / "x.zoo").write_text("zoo-vcs: 1\n")
    (repo / "readme.md").write_text("# hi\n")
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"x")
    (repo / "link.bin").symlink_to(outside)
    for target, message in [("d", "is a directory"), ("x.zoo", "is a pointer file"),
                            ("readme.md", "readme is a text file"), ("nope.bin", "no such file"),
                            (str(outside), "outside the repository"),
                            ("link.bin", "is a symlink"), (".git/config", "inside .git")]:
        r = run_zoo("add", target, cwd=repo)
        assert r.returncode in (1, 2), target
        assert message in r.stderr, (target, r.stderr)
        assert "Traceback" not in r.stderr
    assert not (repo / ".git/zoo-vcs/cache/sha1").exists()


def test_url_with_many_files_is_usage_error(tmp_path):
    repo = _repo(tmp_path)
    make_weights(repo / "a.bin", 10)
    make_weights(repo / "b.bin", 10)
    r = run_zoo("add", "a.bin", "b.bin", "--url", "http://h/x", cwd=repo)
    assert r.returncode == 2
    assert "--url goes with exactly one file" in r.stderr
