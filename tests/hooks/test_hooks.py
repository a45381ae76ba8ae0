"""Git hooks with real git: install/upgrade/chain/uninstall, and what each hook does when
git fires it (pre-push uploads, post-checkout/post-merge restore, pre-commit refuses)."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import git, make_weights, run_zoo
from tests.servers import http as faults
from zoo_vcs.hooks import scripts as hooks

REPO_HOOKS = Path(__file__).resolve().parents[2] / "hooks"


def git_may_fail(*args: str, cwd: Path, env: dict[str, str] | None = None):
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def project(tmp_path):
    """A repository with a tracked binary, a folder remote, a bare origin and hooks."""
    origin = tmp_path / "origin.git"
    git("init", "-q", "--bare", str(origin), cwd=tmp_path)
    repo = tmp_path / "work"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    git("remote", "add", "origin", str(origin), cwd=repo)
    store = tmp_path / "store"
    assert run_zoo("remote", "add", "store", str(store), "--default", cwd=repo).returncode == 0
    data = make_weights(repo / "m" / "net.caffemodel", 50_000, seed=1)
    assert run_zoo("add", "m/net.caffemodel", cwd=repo).returncode == 0
    r = run_zoo("install-hooks", cwd=repo)
    assert r.returncode == 0, r.output
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "v1", cwd=repo)
    return repo, origin, store, data


def _obj(store: Path, data: bytes) -> Path:
    sha1 = hashlib.sha1(data).hexdigest()
    return store / "sha1" / sha1[:2] / sha1[2:]


def test_shipped_hook_scripts_match_what_install_writes():
    for name in hooks.HOOK_NAMES:
        assert (REPO_HOOKS / name).read_text() == hooks.render(name)
        assert os.access(REPO_HOOKS / name, os.X_OK)


def test_pre_push_uploads_objects_of_pushed_commits(project):
    repo, _origin, store, data = project
    assert not _obj(store, data).exists()
    (repo / "m" / "net.caffemodel").write_bytes(b"uncommitted edit, not pushed")
    r = git_may_fail("push", "-q", "origin", "main", cwd=repo)
    assert r.returncode == 0, r.stderr
    assert _obj(store, data).read_bytes() == data
    assert "1 binaries uploaded" in r.stderr


def test_pre_push_refuses_when_object_is_nowhere(project, tmp_path):
    repo, origin, _store, _data = project
    cache = repo / ".git" / "zoo-vcs" / "cache"
    for p in cache.rglob("*"):
        if p.is_file():
            p.chmod(0o644)
            p.unlink()
    (repo / "m" / "net.caffemodel").unlink()
    r = git_may_fail("push", "origin", "main", cwd=repo)
    assert r.returncode != 0
    assert "push refused" in r.stderr
    assert "net.caffemodel" in r.stderr
    assert git("ls-remote", str(origin), cwd=tmp_path).strip() == "", "remote ref unchanged"
    r = git_may_fail("push", "origin", "main", cwd=repo, env={"ZOO_VCS_SKIP_HOOKS": "1"})
    assert r.returncode == 0


def _drop_from_cache(repo: Path, data: bytes) -> None:
    obj = _obj(repo / ".git" / "zoo-vcs" / "cache", data)
    obj.chmod(0o644)
    obj.unlink()


def test_pre_push_refuses_an_earlier_commit_whose_object_is_nowhere(project):
    """Pushing v1..v3 where v2's bytes are in no cache, not in the workspace (which holds
    v3) and not on the remote: refused, naming the file; the remote ref is not updated."""
    repo, origin, store, data = project
    weights = repo / "m" / "net.caffemodel"
    data2 = make_weights(weights, 60_000, seed=2)
    assert run_zoo("add", "m/net.caffemodel", cwd=repo).returncode == 0
    git("commit", "-q", "-am", "v2", cwd=repo)
    data3 = make_weights(weights, 70_000, seed=3)
    assert run_zoo("add", "m/net.caffemodel", cwd=repo).returncode == 0
    git("commit", "-q", "-am", "v3", cwd=repo)
    _drop_from_cache(repo, data2)
    r = git_may_fail("push", "origin", "main", cwd=repo)
    assert r.returncode != 0
    assert "push refused" in r.stderr
    assert "m/net.caffemodel" in r.stderr
    assert hashlib.sha1(data2).hexdigest()[:12] in r.stderr
    assert "not on remote 'store'" in r.stderr
    assert git("ls-remote", str(origin), cwd=repo).strip() == "", "remote ref unchanged"
    assert not _obj(store, data2).exists()

    # Its bytes back in the workspace, the same push goes through and uploads them.
    weights.write_bytes(data2)
    r = git_may_fail("push", "origin", "main", cwd=repo)
    assert r.returncode == 0, r.stderr
    for d in (data, data2, data3):
        assert _obj(store, d).read_bytes() == d
    assert git("rev-parse", "main", cwd=repo).strip() in git("ls-remote", str(origin), cwd=repo)


def test_pre_push_accepts_an_object_the_remote_already_holds(project, tmp_path):
    """A clone that never fetched the weights renames their pointer and pushes: the object
    is on the remote, so nothing needs uploading (this used to fail: not in the cache)."""
    repo, origin, store, data = project
    git("push", "-q", "origin", "main", cwd=repo)
    assert _obj(store, data).exists()
    clone = tmp_path / "clone"
    git("clone", "-q", str(origin), str(clone), cwd=tmp_path)
    assert run_zoo("install-hooks", cwd=clone).returncode == 0
    assert not (clone / "m" / "net.caffemodel").exists()
    git("mv", "m/net.caffemodel.zoo", "m/renamed.caffemodel.zoo", cwd=clone)
    git("commit", "-q", "-m", "rename", cwd=clone)
    r = git_may_fail("push", "origin", "main", cwd=clone)
    assert r.returncode == 0, r.stderr
    assert "0 binaries uploaded, 1 already on the remote" in r.stderr
    assert git("rev-parse", "main", cwd=clone).strip() in git("ls-remote", str(origin), cwd=clone)


def test_pre_push_accepts_an_object_held_at_its_pointer_url(tmp_path, http_server):
    """No storage remote, bytes in no cache, but the pointer's URL serves them (a size
    check, no download): a clone can get them, so the push goes through."""
    origin = tmp_path / "origin.git"
    git("init", "-q", "--bare", str(origin), cwd=tmp_path)
    repo = tmp_path / "work"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    data = make_weights(repo / "w.caffemodel", 30_000, seed=4)
    url = http_server.add("/w.caffemodel", data)
    assert run_zoo("add", "--url", url, "w.caffemodel", cwd=repo).returncode == 0
    assert run_zoo("install-hooks", cwd=repo).returncode == 0
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "v1", cwd=repo)
    _drop_from_cache(repo, data)
    (repo / "w.caffemodel").unlink()
    r = git_may_fail("push", str(origin), "main", cwd=repo)
    assert r.returncode == 0, r.stderr
    assert "1 binaries are not on the remote but at their pointers' URLs" in r.stderr
    assert http_server.bytes_sent("/w.caffemodel") <= 512
    http_server.always("/w.caffemodel", faults.status(404))  # the URL is gone now
    git("mv", "w.caffemodel.zoo", "v.caffemodel.zoo", cwd=repo)
    git("commit", "-q", "-m", "rename", cwd=repo)
    r = git_may_fail("push", str(origin), "main", cwd=repo)
    assert r.returncode != 0
    assert "push refused" in r.stderr
    assert "no storage remote" in r.stderr


def test_deleting_a_branch_publishes_nothing(project):
    repo, _origin, _store, _data = project
    git("push", "-q", "origin", "main", cwd=repo)
    git("push", "-q", "origin", "main:other", cwd=repo)
    r = git_may_fail("push", "origin", ":other", cwd=repo)
    assert r.returncode == 0, r.stderr


def test_post_checkout_and_post_merge_restore_binaries(project, tmp_path):
    repo, origin, _store, data = project
    git("push", "-q", "origin", "main", cwd=repo)
    git("checkout", "-q", "-b", "v2", cwd=repo)
    data2 = make_weights(repo / "m" / "net.caffemodel", 60_000, seed=2)
    assert run_zoo("add", "m/net.caffemodel", cwd=repo).returncode == 0
    git("commit", "-q", "-am", "v2", cwd=repo)
    git("push", "-q", "origin", "v2", cwd=repo)
    weights = repo / "m" / "net.caffemodel"
    git("checkout", "-q", "main", cwd=repo)
    assert weights.read_bytes() == data, "post-checkout restored v1"
    git("checkout", "-q", "v2", cwd=repo)
    assert weights.read_bytes() == data2

    # A fresh clone with hooks: a branch checkout and a pull restore from the remote.
    clone = tmp_path / "clone"
    git("clone", "-q", str(origin), str(clone), cwd=tmp_path)
    assert run_zoo("install-hooks", cwd=clone).returncode == 0
    git("checkout", "-q", "v2", cwd=clone)
    assert (clone / "m" / "net.caffemodel").read_bytes() == data2
    git("checkout", "-q", "main", cwd=clone)
    assert (clone / "m" / "net.caffemodel").read_bytes() == data
    # New weights on main upstream: git pull (post-merge) brings them.
    git("checkout", "-q", "main", cwd=repo)
    data3 = make_weights(repo / "m" / "net.caffemodel", 70_000, seed=3)
    assert run_zoo("add", "m/net.caffemodel", cwd=repo).returncode == 0
    git("commit", "-q", "-am", "v3", cwd=repo)
    git("push", "-q", "origin", "main", cwd=repo)
    git("pull", "-q", "--ff-only", cwd=clone)
    assert (clone / "m" / "net.caffemodel").read_bytes() == data3


def test_post_checkout_failure_warns_and_never_breaks_git(project, tmp_path):
    repo, origin, _store, _data = project
    git("push", "-q", "--no-verify", "origin", "main", cwd=repo)  # no upload: object nowhere
    clone = tmp_path / "clone"
    git("clone", "-q", str(origin), str(clone), cwd=tmp_path)
    assert run_zoo("install-hooks", cwd=clone).returncode == 0
    git("checkout", "-q", "-b", "feature", cwd=clone)
    r = git_may_fail("checkout", "main", cwd=clone)
    assert r.returncode == 0
    assert "not restored" in r.stderr


def test_pre_commit_refuses_tracked_binary(project):
    repo, *_ = project
    git("add", "-f", "m/net.caffemodel", cwd=repo)
    r = git_may_fail("commit", "-m", "oops", cwd=repo)
    assert r.returncode != 0
    assert "m/net.caffemodel is tracked by zoo-vcs" in r.stderr
    assert "git rm --cached m/net.caffemodel" in r.stderr


def test_install_is_idempotent_and_chains_foreign_hook(tmp_path):
    repo = tmp_path / "r"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    hooks_dir = repo / ".git" / "hooks"
    foreign = "#!/bin/sh\necho foreign-ran >> \"$(git rev-parse --git-dir)/foreign.log\"\n"
    (hooks_dir / "pre-push").write_text(foreign)
    (hooks_dir / "pre-push").chmod(0o755)
    r = run_zoo("install-hooks", cwd=repo)
    assert "chain" in r.stdout
    first = {n: (hooks_dir / n).read_text() for n in hooks.HOOK_NAMES}
    r = run_zoo("install-hooks", cwd=repo)
    assert r.returncode == 0
    assert "upgrade" in r.stdout
    assert {n: (hooks_dir / n).read_text() for n in hooks.HOOK_NAMES} == first
    assert (hooks_dir / "pre-push.zoo-vcs-chained").read_text() == foreign

    # The chained hook still runs on a real push.
    origin = tmp_path / "o.git"
    git("init", "-q", "--bare", str(origin), cwd=tmp_path)
    (repo / "f.txt").write_text("x")
    git("add", "f.txt", cwd=repo)
    git("commit", "-q", "-m", "x", cwd=repo)
    r = git_may_fail("push", str(origin), "main", cwd=repo)
    assert r.returncode == 0, r.stderr
    assert (repo / ".git" / "foreign.log").read_text() == "foreign-ran\n"

    r = run_zoo("uninstall-hooks", cwd=repo)
    assert r.returncode == 0
    assert (hooks_dir / "pre-push").read_text() == foreign
    assert not (hooks_dir / "pre-push.zoo-vcs-chained").exists()
    assert not (hooks_dir / "post-checkout").exists()


def test_failing_foreign_hook_still_stops_the_push(tmp_path):
    repo = tmp_path / "r"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    (repo / ".git/hooks/pre-push").write_text("#!/bin/sh\necho no >&2\nexit 3\n")
    (repo / ".git/hooks/pre-push").chmod(0o755)
    assert run_zoo("install-hooks", cwd=repo).returncode == 0
    (repo / "f").write_text("x")
    git("add", "f", cwd=repo)
    git("commit", "-q", "-m", "x", cwd=repo)
    git("init", "-q", "--bare", str(tmp_path / "o.git"), cwd=tmp_path)
    assert git_may_fail("push", str(tmp_path / "o.git"), "main", cwd=repo).returncode != 0


def test_force_replaces_foreign_hook_keeping_a_backup(tmp_path):
    repo = tmp_path / "r"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    (repo / ".git/hooks/pre-commit").write_text("#!/bin/sh\nexit 0\n")
    r = run_zoo("install-hooks", "--force", cwd=repo)
    assert r.returncode == 0
    assert hooks.is_ours(repo / ".git/hooks/pre-commit")
    assert (repo / ".git/hooks/pre-commit.zoo-vcs-backup").read_text() == "#!/bin/sh\nexit 0\n"


def test_install_honours_core_hooks_path_and_worktrees(tmp_path):
    repo = tmp_path / "r"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    git("config", "core.hooksPath", "githooks", cwd=repo)
    assert run_zoo("install-hooks", cwd=repo).returncode == 0
    assert hooks.is_ours(repo / "githooks" / "pre-push")
    assert not (repo / ".git/hooks/pre-push").exists()

    repo2 = tmp_path / "r2"
    repo2.mkdir()
    git("init", "-q", cwd=repo2)
    (repo2 / "f").write_text("x")
    git("add", "f", cwd=repo2)
    git("commit", "-q", "-m", "x", cwd=repo2)
    wt = tmp_path / "wt"
    git("worktree", "add", "-q", str(wt), cwd=repo2)
    assert run_zoo("install-hooks", cwd=wt).returncode == 0
    assert hooks.is_ours(repo2 / ".git" / "hooks" / "pre-push")


def test_install_outside_git_is_usage_error(tmp_path):
    r = run_zoo("install-hooks", cwd=tmp_path)
    assert r.returncode == 2
    assert "not in a git repository" in r.stderr
