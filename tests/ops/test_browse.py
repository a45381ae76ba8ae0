"""``ls``, ``get`` (and ``fetch_model("git+URL#PATH@REV")``) against a bare repository served
over ``file://`` and over HTTP (git http-backend), and ``diff`` between revisions."""

from __future__ import annotations

import hashlib
import json
import os
import random
from pathlib import Path

import pytest

from tests.conftest import git, make_weights, run_zoo, write_readme
from tests.servers.githttp import GitHTTPServer
from tests.servers.http import LoopbackHTTPServer


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


class Zoo:
    """A repository of two models, tagged v1, then alexnet retrained (HEAD); served bare."""

    def __init__(self, tmp: Path, http: LoopbackHTTPServer) -> None:
        self.work = tmp / "work"
        self.work.mkdir()
        git("init", "-q", cwd=self.work)
        # alexnet: its pointer names a URL; vgg16: no URL, only the committed remote has it.
        alexnet = self.work / "models/alexnet"
        self.alex_v1 = make_weights(alexnet / "alexnet.caffemodel", 40_000, seed=1)
        self.alex_url = http.add("/dl/alexnet-v1.caffemodel", self.alex_v1)
        write_readme(alexnet, name="AlexNet", caffemodel="alexnet.caffemodel",
                     caffemodel_url=self.alex_url, sha1=_sha1(self.alex_v1), license="BSD")
        (alexnet / "deploy.prototxt").write_text("name: 'AlexNet'\n")
        vgg = self.work / "models/vgg16"
        self.vgg = make_weights(vgg / "vgg16.caffemodel", 50_000, seed=2)
        (vgg / "readme.md").write_text("# VGG16\n\nSixteen layers; add writes its keys.\n")
        # Another model's large text history the mirror must not download.
        docs = self.work / "docs"
        docs.mkdir()
        noise = random.Random(3)
        (docs / "notes.txt").write_text("".join(f"{noise.random()}\n" for _ in range(120_000)))
        sha = _sha1(self.vgg)
        http.add(f"/store/sha1/{sha[:2]}/{sha[2:]}", self.vgg)
        self.store_url = http.url_for("/store")
        r = run_zoo("remote", "add", "store", self.store_url, "--default", cwd=self.work)
        assert r.returncode == 0, r.output
        r = run_zoo("add", "models/alexnet/alexnet.caffemodel", "models/vgg16/vgg16.caffemodel",
                    cwd=self.work)
        assert r.returncode == 0, r.output
        git("add", "-A", cwd=self.work)
        git("commit", "-q", "-m", "v1", cwd=self.work)
        git("tag", "v1", cwd=self.work)
        self.alex_v2 = make_weights(alexnet / "alexnet.caffemodel", 41_000, seed=4)
        url2 = http.add("/dl/alexnet-v2.caffemodel", self.alex_v2)
        r = run_zoo("add", "--url", url2, "models/alexnet/alexnet.caffemodel", cwd=self.work)
        assert r.returncode == 0, r.output
        git("commit", "-q", "-am", "v2: alexnet retrained", cwd=self.work)
        self.served = tmp / "served"
        self.served.mkdir()
        self.bare = self.served / "zoo.git"
        git("clone", "-q", "--bare", str(self.work), str(self.bare), cwd=tmp)
        # What a git host configures for partial clones (GitHub does).
        git("config", "uploadpack.allowFilter", "true", cwd=self.bare)


@pytest.fixture
def zoo(tmp_path: Path, http_server: LoopbackHTTPServer) -> Zoo:
    return Zoo(tmp_path, http_server)


@pytest.fixture
def git_http(zoo: Zoo):
    with GitHTTPServer(zoo.served) as server:
        yield server


@pytest.fixture(params=["file", "http"])
def repo_url(request, zoo: Zoo) -> str:
    if request.param == "file":
        return zoo.bare.as_uri()
    return request.getfixturevalue("git_http").url_for("zoo.git")


def _no_git_inside(folder: Path) -> None:
    assert not [p for p in folder.rglob("*") if p.name == ".git"]


def test_ls_at_tag_and_head(zoo, repo_url, tmp_path):
    r = run_zoo("ls", repo_url, "--json", cwd=tmp_path)
    assert r.returncode == 0, r.output
    head = {b["path"]: b for b in json.loads(r.stdout)["binaries"]}
    assert set(head) == {"models/alexnet/alexnet.caffemodel", "models/vgg16/vgg16.caffemodel"}
    assert head["models/alexnet/alexnet.caffemodel"]["sha1"] == _sha1(zoo.alex_v2)
    assert head["models/alexnet/alexnet.caffemodel"]["size"] == len(zoo.alex_v2)
    assert head["models/vgg16/vgg16.caffemodel"]["source"] == "pointer"

    r = run_zoo("ls", repo_url, "models/alexnet", "--rev", "v1", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.output
    [alex] = json.loads(r.stdout)["binaries"]
    assert alex["sha1"] == _sha1(zoo.alex_v1)
    assert zoo.alex_url in alex["urls"]

    r = run_zoo("ls", repo_url, "models/vgg16", cwd=tmp_path)
    assert _sha1(zoo.vgg)[:12] in r.stdout
    assert "50,000 bytes" in r.stdout

    # A full commit id: fetched once, then known for good (offline too).
    v1 = git("rev-parse", "v1^{commit}", cwd=zoo.bare).strip()
    for extra in ((), ("--offline",)):
        r = run_zoo("ls", repo_url, "models/alexnet", "--rev", v1, "--json", *extra,
                    cwd=tmp_path)
        assert r.returncode == 0, r.output
        assert json.loads(r.stdout)["commit"] == v1
        assert json.loads(r.stdout)["binaries"][0]["sha1"] == _sha1(zoo.alex_v1)


def test_get_binary_and_folder_at_tag_and_head(zoo, repo_url, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    r = run_zoo("get", repo_url, "models/alexnet/alexnet.caffemodel", "--rev", "v1",
                "-o", "alex-v1.caffemodel", cwd=out)
    assert r.returncode == 0, r.output
    assert (out / "alex-v1.caffemodel").read_bytes() == zoo.alex_v1
    r = run_zoo("get", repo_url, "models/alexnet/alexnet.caffemodel", cwd=out)
    assert r.returncode == 0, r.output
    assert (out / "alexnet.caffemodel").read_bytes() == zoo.alex_v2

    # A whole folder: text files as committed, binaries verified, from the committed remote.
    r = run_zoo("get", repo_url, "models/vgg16", "-o", "vgg", cwd=out)
    assert r.returncode == 0, r.output
    assert (out / "vgg/vgg16.caffemodel").read_bytes() == zoo.vgg
    assert (out / "vgg/readme.md").read_bytes() == (zoo.work / "models/vgg16/readme.md"
                                                   ).read_bytes()
    r = run_zoo("get", repo_url, "models/alexnet", "--rev", "v1", cwd=out)
    assert r.returncode == 0, r.output
    assert (out / "alexnet/alexnet.caffemodel").read_bytes() == zoo.alex_v1
    assert (out / "alexnet/deploy.prototxt").read_text() == "name: 'AlexNet'\n"
    assert "sha1: " + _sha1(zoo.alex_v1) in (out / "alexnet/readme.md").read_text()
    _no_git_inside(out)
    # The result is a model folder zoo-vcs knows: everything verified in place.
    r = run_zoo("status", "alexnet", cwd=out)
    assert "1 tracked binary: 1 ok" in r.stdout


def test_get_fetches_only_what_it_needs(zoo, git_http, tmp_path):
    url = git_http.url_for("zoo.git")
    notes_size = (zoo.work / "docs/notes.txt").stat().st_size
    assert notes_size > 2_000_000
    r = run_zoo("get", url, "models/alexnet", cwd=tmp_path)
    assert r.returncode == 0, r.output
    assert git_http.bytes_sent < notes_size / 10, "docs/notes.txt was not downloaded"
    assert not git_http.errors
    # The mirror is shallow: one commit.
    [mirror] = [p for p in (Path(os.environ["HOME"]) / ".cache/zoo-vcs/git").iterdir()
                if p.is_dir()]
    assert git("rev-list", "--all", "--count", cwd=mirror).strip() == "1"


def test_corrupt_mirror_rejected(zoo, http_server, tmp_path):
    http_server.add("/dl/alexnet-v1.caffemodel", zoo.alex_v1[:-1] + b"\0")
    r = run_zoo("get", zoo.bare, "models/alexnet", "--rev", "v1", cwd=tmp_path)
    assert r.returncode == 1
    assert "wrong content" in r.stderr
    assert not (tmp_path / "alexnet").exists(), "no partial folder left"
    assert not list(tmp_path.glob(".alexnet*"))


def test_get_refuses_an_existing_target(zoo, tmp_path):
    (tmp_path / "vgg16.caffemodel").write_bytes(b"mine")
    r = run_zoo("get", zoo.bare, "models/vgg16/vgg16.caffemodel", cwd=tmp_path)
    assert r.returncode == 1
    assert "already exists" in r.stderr
    assert (tmp_path / "vgg16.caffemodel").read_bytes() == b"mine"
    r = run_zoo("get", "--force", zoo.bare, "models/vgg16/vgg16.caffemodel", cwd=tmp_path)
    assert r.returncode == 0, r.output
    assert (tmp_path / "vgg16.caffemodel").read_bytes() == zoo.vgg


def test_get_glob_and_exclude(zoo, tmp_path):
    r = run_zoo("get", zoo.bare, "models/*/*.caffemodel", "--exclude", "models/vgg16/*",
                "-o", "w", cwd=tmp_path)
    assert r.returncode == 0, r.output
    assert sorted(p.relative_to(tmp_path / "w").as_posix()
                  for p in (tmp_path / "w").rglob("*") if p.is_file()) == [
        "alexnet/alexnet.caffemodel"]


def test_unknown_path_and_rev(zoo, tmp_path):
    r = run_zoo("get", zoo.bare, "models/resnet", cwd=tmp_path)
    assert r.returncode == 2
    assert "models/resnet: not in" in r.stderr
    r = run_zoo("ls", zoo.bare, "--rev", "v9", cwd=tmp_path)
    assert r.returncode == 1
    assert "v9" in r.stderr


def test_offline_ls_uses_the_mirror_only(zoo, git_http, tmp_path):
    url = git_http.url_for("zoo.git")
    assert run_zoo("ls", url, "--rev", "v1", cwd=tmp_path).returncode == 0
    git_http.reset_log()
    r = run_zoo("ls", url, "--rev", "v1", "--offline", cwd=tmp_path)
    assert r.returncode == 0, r.output
    assert "models/alexnet/alexnet.caffemodel" in r.stdout
    r = run_zoo("ls", url, "--offline", cwd=tmp_path)  # HEAD was never fetched
    assert r.returncode == 1
    assert "offline" in r.stderr
    assert git_http.requests == []


def test_fetch_model_git_source(zoo, git_http, tmp_path, monkeypatch):
    import zoo_vcs

    monkeypatch.chdir(tmp_path)  # in-process: never the repository this test runs from

    url = git_http.url_for("zoo.git")
    weights = zoo_vcs.fetch_model(f"git+{url}#models/alexnet@v1", tmp_path / "alex")
    assert weights.read_bytes() == zoo.alex_v1
    _no_git_inside(tmp_path / "alex")
    one = zoo_vcs.fetch_model(f"git+{zoo.bare.as_uri()}#models/vgg16/vgg16.caffemodel",
                              tmp_path / "vgg")
    assert one.read_bytes() == zoo.vgg
    # A second call finds the folder in place: no request at all.
    git_http.reset_log()
    assert zoo_vcs.fetch_model(f"git+{url}#models/alexnet@v1", tmp_path / "alex") == weights
    assert git_http.requests == []


def test_api_get(zoo, tmp_path, monkeypatch):
    import zoo_vcs

    monkeypatch.chdir(tmp_path)  # in-process: never the repository this test runs from

    result = zoo_vcs.get(str(zoo.bare), "models/alexnet/alexnet.caffemodel", rev="v1",
                         out=tmp_path / "a.caffemodel")
    assert result.binaries == [tmp_path / "a.caffemodel"]
    assert (tmp_path / "a.caffemodel").read_bytes() == zoo.alex_v1


# -- diff ------------------------------------------------------------------------------------


def test_diff_between_revisions_and_the_workspace(zoo):
    work = zoo.work
    r = run_zoo("diff", "v1", "HEAD", "--json", cwd=work)
    assert r.returncode == 0, r.output
    [change] = json.loads(r.stdout)["changes"]
    assert change == {"path": "models/alexnet/alexnet.caffemodel", "status": "modified",
                      "old_sha1": _sha1(zoo.alex_v1), "new_sha1": _sha1(zoo.alex_v2),
                      "old_size": len(zoo.alex_v1), "new_size": len(zoo.alex_v2)}

    r = run_zoo("diff", cwd=work)
    assert "0 added, 0 modified, 0 removed" in r.stdout
    new = make_weights(work / "models/resnet/resnet.caffemodel", 1234, seed=9)
    assert run_zoo("add", "models/resnet/resnet.caffemodel", cwd=work).returncode == 0
    for name in ("vgg16.caffemodel.zoo", "readme.md"):  # add wrote the keys into the readme
        (work / "models/vgg16" / name).unlink()
    r = run_zoo("diff", "--json", cwd=work)
    changes = {c["path"]: c for c in json.loads(r.stdout)["changes"]}
    assert changes["models/resnet/resnet.caffemodel"]["status"] == "added"
    assert changes["models/resnet/resnet.caffemodel"]["new_sha1"] == _sha1(new)
    assert changes["models/vgg16/vgg16.caffemodel"]["status"] == "removed"
    r = run_zoo("diff", cwd=work)
    assert "1 added, 0 modified, 1 removed (HEAD -> workspace)" in r.stdout
    assert f"added     models/resnet/resnet.caffemodel  {_sha1(new)}  1,234 bytes" in r.stdout


def test_diff_outside_git_is_a_usage_error(tmp_path):
    r = run_zoo("diff", cwd=tmp_path)
    assert r.returncode == 2
    assert "not in a git repository" in r.stderr
