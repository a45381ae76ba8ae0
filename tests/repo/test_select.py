"""Selecting what to transfer (glob PATHs, --exclude, [fetch] include/exclude) and --offline,
end to end: three models served by the loopback HTTP server, real git, a clone."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest

from tests.conftest import git, make_weights, run_zoo
from tests.servers.http import LoopbackHTTPServer
from zoo_vcs.repo.select import Selection, choose, relative_pattern

MODELS = ("alexnet", "vgg16", "vgg19")


@pytest.fixture
def zoo_clone(tmp_path: Path, http_server: LoopbackHTTPServer) -> tuple[Path, Path, dict]:
    """A repository of three models whose pointers name the loopback server, committed and
    cloned; returns (origin work tree, clone, {model: (weights bytes, url path)})."""
    origin = tmp_path / "origin"
    origin.mkdir()
    git("init", "-q", cwd=origin)
    models = {}
    for i, name in enumerate(MODELS):
        weights = origin / "models" / name / f"{name}.caffemodel"
        data = make_weights(weights, 30_000 + i, seed=i)
        url_path = f"/w/{name}.caffemodel"
        url = http_server.add(url_path, data)
        r = run_zoo("add", "--url", url, f"models/{name}/{name}.caffemodel", cwd=origin)
        assert r.returncode == 0, r.output
        models[name] = (data, url_path)
    git("add", "-A", cwd=origin)
    git("commit", "-q", "-m", "three models", cwd=origin)
    clone = tmp_path / "clone"
    git("clone", "-q", str(origin), str(clone), cwd=tmp_path)
    http_server.reset_log()
    return origin, clone, models


def _present(clone: Path) -> set[str]:
    return {name for name in MODELS
            if (clone / "models" / name / f"{name}.caffemodel").exists()}


def _requested(server: LoopbackHTTPServer) -> set[str]:
    return {r.path for r in server.requests}


def test_pull_glob_restores_only_matching_models(zoo_clone, http_server):
    _origin, clone, models = zoo_clone
    r = run_zoo("pull", "models/vgg*", cwd=clone)
    assert r.returncode == 0, r.output
    assert _present(clone) == {"vgg16", "vgg19"}
    for name in ("vgg16", "vgg19"):
        assert (clone / f"models/{name}/{name}.caffemodel").read_bytes() == models[name][0]
    assert _requested(http_server) == {models["vgg16"][1], models["vgg19"][1]}
    assert "2 restored" in r.stdout


def test_exclude_removes_matches(zoo_clone, http_server):
    _origin, clone, models = zoo_clone
    r = run_zoo("pull", "models/vgg*", "--exclude", "**/vgg19.caffemodel", cwd=clone)
    assert r.returncode == 0, r.output
    assert _present(clone) == {"vgg16"}
    assert _requested(http_server) == {models["vgg16"][1]}
    # Without PATH: everything but the excluded folder.
    r = run_zoo("checkout", "--exclude", "models/alexnet", cwd=clone)
    assert r.returncode == 0, r.output
    assert _present(clone) == {"vgg16", "vgg19"}


def test_pattern_relative_to_the_current_folder(zoo_clone, http_server):
    _origin, clone, models = zoo_clone
    r = run_zoo("fetch", "vgg1?", cwd=clone / "models")
    assert r.returncode == 0, r.output
    assert _requested(http_server) == {models["vgg16"][1], models["vgg19"][1]}
    assert _present(clone) == set(), "fetch leaves the workspace alone"


def test_status_and_verify_take_patterns(zoo_clone):
    _origin, clone, _models = zoo_clone
    r = run_zoo("status", "--json", "**/vgg*.caffemodel", cwd=clone)
    assert r.returncode == 0, r.output
    paths = sorted(f["path"] for f in json.loads(r.stdout)["files"])
    assert paths == ["models/vgg16/vgg16.caffemodel", "models/vgg19/vgg19.caffemodel"]
    r = run_zoo("status", "models/alexnet/*", cwd=clone)
    assert "1 tracked binary: 1 missing" in r.stdout
    assert run_zoo("pull", "models/alexnet", cwd=clone).returncode == 0
    r = run_zoo("verify", "models/*", "--exclude", "models/vgg*", cwd=clone)
    assert r.returncode == 0, r.output
    assert "1 files" in r.stdout


def test_pattern_matching_nothing_is_a_usage_error(zoo_clone, http_server):
    _origin, clone, _models = zoo_clone
    r = run_zoo("pull", "models/resnet*", cwd=clone)
    assert r.returncode == 2
    assert "no tracked binary matches 'models/resnet*'" in r.stderr
    assert http_server.requests == []


def test_push_takes_patterns(zoo_clone, tmp_path):
    origin, _clone, models = zoo_clone
    store = tmp_path / "store"
    assert run_zoo("remote", "add", "store", str(store), "--default", cwd=origin).returncode == 0
    r = run_zoo("push", "models/vgg*", "--exclude", "models/vgg19/*", cwd=origin)
    assert r.returncode == 0, r.output
    sha1s = {hashlib.sha1(models[n][0]).hexdigest() for n in ("vgg16",)}
    stored = {p.parent.name + p.name for p in store.rglob("*") if p.is_file()}
    assert stored == sha1s


def _commit_fetch_defaults(origin: Path, include: str, exclude: str = "") -> None:
    config = origin / ".zoo" / "config"
    config.parent.mkdir(exist_ok=True)
    text = config.read_text() if config.exists() else ""
    config.write_text(text + f"[fetch]\ninclude = {include}\n"
                      + (f"exclude = {exclude}\n" if exclude else ""))
    git("add", ".zoo/config", cwd=origin)
    git("commit", "-q", "-m", "fetch defaults", cwd=origin)


def test_fetch_include_defaults_pull_hooks_and_explicit_override(zoo_clone, http_server,
                                                                 tmp_path):
    origin, _clone, models = zoo_clone
    _commit_fetch_defaults(origin, "models/alexnet/**, models/vgg1*",
                           "models/vgg19/*.caffemodel")
    clone = tmp_path / "clone2"
    git("clone", "-q", str(origin), str(clone), cwd=tmp_path)

    r = run_zoo("pull", cwd=clone)
    assert r.returncode == 0, r.output
    assert _present(clone) == {"alexnet", "vgg16"}
    assert _requested(http_server) == {models["alexnet"][1], models["vgg16"][1]}

    # The restoring hook honours the same defaults.
    for name in ("alexnet", "vgg16"):
        (clone / f"models/{name}/{name}.caffemodel").unlink()
    assert run_zoo("install-hooks", cwd=clone).returncode == 0
    git("checkout", "-q", "-b", "feature", cwd=clone)
    assert _present(clone) == {"alexnet", "vgg16"}

    # An explicit PATH overrides the defaults (include and exclude).
    http_server.reset_log()
    r = run_zoo("pull", "models/vgg19", cwd=clone)
    assert r.returncode == 0, r.output
    assert _present(clone) == set(MODELS)
    assert _requested(http_server) == {models["vgg19"][1]}


def test_offline_fails_at_once_without_a_request(zoo_clone, http_server):
    _origin, clone, _models = zoo_clone
    start = time.monotonic()
    r = run_zoo("pull", "models/vgg16", cwd=clone, env={"ZOO_VCS_OFFLINE": "1"})
    elapsed = time.monotonic() - start
    assert r.returncode == 1
    assert "offline" in r.stderr
    assert "--offline" in r.stderr
    assert "hint:" in r.stderr
    assert http_server.requests == []
    assert elapsed < 5, "no network attempt, no retry, no timeout"
    assert not (clone / "models/vgg16/vgg16.caffemodel").exists()


def test_offline_fetch_time_is_python_start_up_only(zoo_clone, http_server, monkeypatch):
    """The failure itself takes no time: measured in-process, without the interpreter's
    start-up that the CLI test above includes."""
    from zoo_vcs import api
    from zoo_vcs.errors import OperationError

    _origin, clone, _models = zoo_clone
    monkeypatch.chdir(clone)
    start = time.monotonic()
    with pytest.raises(OperationError, match="offline"):
        api.fetch("models/vgg16", offline=True, cwd=clone)
    assert time.monotonic() - start < 1.0
    assert http_server.requests == []


def test_offline_pull_served_from_the_cache_succeeds(zoo_clone, http_server):
    _origin, clone, models = zoo_clone
    assert run_zoo("fetch", "models/vgg16", cwd=clone).returncode == 0
    http_server.reset_log()
    r = run_zoo("pull", "--offline", "models/vgg16", cwd=clone)
    assert r.returncode == 0, r.output
    assert (clone / "models/vgg16/vgg16.caffemodel").read_bytes() == models["vgg16"][0]
    assert http_server.requests == []


def test_offline_local_folder_remote_is_a_source(zoo_clone, http_server, tmp_path):
    origin, _clone, _models = zoo_clone
    store = tmp_path / "store"
    assert run_zoo("remote", "add", "store", str(store), "--default", cwd=origin).returncode == 0
    assert run_zoo("push", cwd=origin).returncode == 0
    git("commit", "-q", "-am", "remote", cwd=origin)
    clone = tmp_path / "clone3"
    git("clone", "-q", str(origin), str(clone), cwd=tmp_path)
    http_server.reset_log()
    r = run_zoo("pull", cwd=clone, env={"ZOO_VCS_OFFLINE": "1"})
    assert r.returncode == 0, r.output
    assert _present(clone) == set(MODELS)
    assert http_server.requests == []


# -- the pure rule ---------------------------------------------------------------------


def test_selection_rule():
    s = Selection(("models/vgg*",), ("**/*_snapshot_*.caffemodel",))
    assert s.matches("models/vgg16/w.caffemodel")
    assert not s.matches("models/vgg16/w_snapshot_1.caffemodel")
    assert not s.matches("models/alexnet/w.caffemodel")
    assert Selection(("*.caffemodel",)).matches("deep/er/w.caffemodel")
    assert not Selection(("/w.caffemodel",)).matches("deep/w.caffemodel")
    assert relative_pattern("./x/*", "") == "x/*"
    defaults = Selection(("a/**",), ("b",))
    assert choose([], [], defaults, paths_given=False) == Selection(("a/**",), ("b",))
    assert choose([], [], defaults, paths_given=True) == Selection()
    assert choose(["c/*"], ["d"], None, paths_given=True) == Selection(("c/*",), ("d",), True)


def test_api_takes_patterns(zoo_clone, monkeypatch):
    from zoo_vcs import api

    _origin, clone, _models = zoo_clone
    monkeypatch.chdir(clone)
    report = api.status("models/vgg1[6]", cwd=clone)
    assert [os.path.basename(f.entry.path) for f in report.files] == ["vgg16.caffemodel"]
