"""The Python API as a user calls it: every public function, twice, in varied orders, in one
process (a module attribute rebound by a lazy import once broke the second call)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import zoo_vcs
from tests.conftest import git, make_weights, write_readme


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    repo = tmp_path / "repo"
    model = repo / "net"
    model.mkdir(parents=True)
    git("init", "-q", cwd=repo)
    write_readme(model, name="API Net", caffemodel="net.caffemodel")
    make_weights(model / "net.caffemodel", 50_000)
    monkeypatch.chdir(repo)
    zoo_vcs.api.remote_add("store", str(tmp_path / "store"), default=True)
    return repo


def _sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


CALLS = {
    "add": lambda: zoo_vcs.add("net/net.caffemodel"),
    "status": lambda: zoo_vcs.status(),
    "verify": lambda: zoo_vcs.verify(),
    "push": lambda: zoo_vcs.push(),
    "checkout": lambda: zoo_vcs.checkout("net"),
    "pull": lambda: zoo_vcs.pull(),
    "fetch": lambda: zoo_vcs.fetch(),
    "gc": lambda: zoo_vcs.gc(dry_run=True),
    "fetch_model": lambda: zoo_vcs.fetch_model("net"),
}


@pytest.mark.parametrize("order", [
    ["add", "status", "checkout", "verify", "push", "pull", "fetch", "gc", "fetch_model"],
    ["add", "fetch_model", "gc", "fetch", "pull", "push", "verify", "checkout", "status"],
    ["add", "push", "status", "gc", "checkout", "fetch_model", "verify", "pull", "fetch"],
], ids=["forward", "reverse", "mixed"])
def test_every_public_function_twice_in_one_process(project: Path, order: list[str]) -> None:
    weights = project / "net" / "net.caffemodel"
    expected = _sha1(weights)
    results = {}
    for name in [*order, *order]:
        results[name] = CALLS[name]()
        assert _sha1(weights) == expected, f"{name} changed the weights"
    # Each call did its job, the second time too.
    assert results["status"].clean
    assert results["fetch_model"] == weights
    assert [a.kind for a in results["checkout"].actions] == ["skip"]
    assert results["push"].present  # the second push finds the object already stored
    assert results["add"].added[0].pointer.sha1 == expected
    assert (project / "net" / "net.caffemodel.zoo").is_file()
    # Restoring a deleted file through the API works after all those calls.
    weights.unlink()
    zoo_vcs.checkout()
    assert _sha1(weights) == expected
    # The package's names are still the functions (nothing rebound them).
    for name in CALLS:
        assert callable(getattr(zoo_vcs, name)), name
