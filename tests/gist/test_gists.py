"""Gists through the loopback emulator: PyGithub for metadata, the gist's git remote for
content; create/update/no-op/delete, binaries and subfolders refused, hostile gists refused."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import TOKEN, git, make_weights, run_zoo, write_readme


def _model(tmp_path: Path, name: str = "net") -> Path:
    repo = tmp_path / "repo"
    model = repo / name
    model.mkdir(parents=True)
    git("init", "-q", cwd=repo)
    write_readme(model, name="Gist Net", caffemodel="net.caffemodel", license="BSD")
    (model / "deploy.prototxt").write_text('name: "GistNet"\n')
    make_weights(model / "net.caffemodel", 20_000)
    assert run_zoo("add", f"{name}/net.caffemodel", cwd=repo).returncode == 0
    return model


def _gist_id(model: Path) -> str:
    text = (model / "readme.md").read_text()
    return next(line.split(":", 1)[1].strip() for line in text.splitlines()
                if line.startswith("gist_id:"))


def test_create_writes_gist_id_and_publishes_text_files_only(tmp_path, gist_server, gist_env):
    model = _model(tmp_path)
    (model / "notes.bin").write_bytes(b"\x00\x01binary, untracked")
    (model / ".hidden").write_text("dotfile")
    readme_before = (model / "readme.md").read_text()
    r = run_zoo("gist", "push", model, "--json", cwd=tmp_path, env=gist_env)
    assert r.returncode == 0, r.output
    out = json.loads(r.stdout)
    assert out["created"] is True
    gist_id = _gist_id(model)
    assert out["gist_id"] == gist_id
    # Minimal edit: the readme gained one line, every other line is intact.
    after = (model / "readme.md").read_text().splitlines()
    assert [ln for ln in after if not ln.startswith("gist_id:")] == readme_before.splitlines()
    files = gist_server.files(gist_id)
    assert sorted(files) == ["deploy.prototxt", "net.caffemodel.zoo", "readme.md"]
    assert f"gist_id: {gist_id}".encode() in files["readme.md"], "the gist carries its own id"
    assert "notes.bin" in out["skipped"]
    assert "net.caffemodel" in out["skipped"]


def test_update_adds_one_revision_and_noop_adds_none(tmp_path, gist_server, gist_env):
    model = _model(tmp_path)
    assert run_zoo("gist", "push", model, cwd=tmp_path, env=gist_env).returncode == 0
    gist_id = _gist_id(model)
    before = len(gist_server.revisions(gist_id))
    r = run_zoo("gist", "push", model, cwd=tmp_path, env=gist_env)
    assert r.returncode == 0, r.output
    assert "no new revision" in r.stdout
    assert len(gist_server.revisions(gist_id)) == before

    (model / "deploy.prototxt").write_text('name: "GistNet2"\n')
    (model / "solver.prototxt").write_text("base_lr: 0.01\n")
    r = run_zoo("gist", "push", model, "--json", cwd=tmp_path, env=gist_env)
    assert r.returncode == 0, r.output
    out = json.loads(r.stdout)
    assert out["added"] == ["solver.prototxt"]
    assert out["modified"] == ["deploy.prototxt"]
    assert len(gist_server.revisions(gist_id)) == before + 1
    assert gist_server.files(gist_id)["deploy.prototxt"] == b'name: "GistNet2"\n'

    (model / "solver.prototxt").unlink()
    assert run_zoo("gist", "push", model, cwd=tmp_path, env=gist_env).returncode == 0
    assert "solver.prototxt" not in gist_server.files(gist_id)
    assert len(gist_server.revisions(gist_id)) == before + 2


def test_subdirectory_is_refused_naming_it(tmp_path, gist_server, gist_env):
    model = _model(tmp_path)
    (model / "snapshots").mkdir()
    (model / "snapshots" / "a.txt").write_text("x")
    r = run_zoo("gist", "push", model, cwd=tmp_path, env=gist_env)
    assert r.returncode == 1
    assert "snapshots: subdirectory; gists are flat" in r.stderr
    assert "gist_id:" not in (model / "readme.md").read_text()
    assert gist_server.requests == [] or all(q["method"] == "GET" for q in gist_server.requests)


def test_pull_at_revision_and_status(tmp_path, gist_server, gist_env):
    gist_id = gist_server.create({"readme.md": "---\nname: Pulled\n---\n", "a.prototxt": "v1\n"})
    first = gist_server.revisions(gist_id)[0]
    gist_server.commit(gist_id, {"a.prototxt": "v2\n", "b.prototxt": "new\n"})
    dest = tmp_path / "pulled"
    r = run_zoo("gist", "pull", f"zoo-tester/{gist_id}", dest, "--revision", first,
                cwd=tmp_path, env=gist_env)
    assert r.returncode == 0, r.output
    assert sorted(p.name for p in dest.iterdir()) == [".zoo-gist", "a.prototxt", "readme.md"]
    assert (dest / ".zoo-gist").read_text().split() == [gist_id, first]
    assert (dest / "a.prototxt").read_text() == "v1\n"
    r = run_zoo("download-gist", f"{gist_server.base_url}/zoo-tester/{gist_id}", tmp_path / "p2",
                cwd=tmp_path, env=gist_env)
    assert r.returncode == 0, r.output
    assert (tmp_path / "p2" / f"zoo-tester-{gist_id}" / "b.prototxt").read_text() == "new\n"


def test_pull_refuses_foreign_nonempty_folder_and_local_edits(tmp_path, gist_server, gist_env):
    gist_id = gist_server.create({"readme.md": f"---\nname: X\ngist_id: {'f' * 20}\n---\n"})
    other = tmp_path / "other"
    other.mkdir()
    (other / "mine.txt").write_text("keep me")
    r = run_zoo("gist", "pull", gist_id, other, cwd=tmp_path, env=gist_env)
    assert r.returncode == 1
    assert "not empty" in r.stderr
    assert sorted(p.name for p in other.iterdir()) == ["mine.txt"]


@pytest.mark.parametrize("bad", ["../escape.txt", ".git/config", "/etc/x"])
def test_hostile_gist_names_are_refused(tmp_path, gist_server, gist_env, bad):
    gist_id = gist_server.create({"readme.md": "hi\n"})
    gist_server.set_api_files_override(gist_id, {bad: {"filename": bad, "size": 3,
                                                       "content": "pwn"}})
    dest = tmp_path / "box" / "dest"
    r = run_zoo("gist", "pull", gist_id, dest, cwd=tmp_path, env=gist_env)
    assert r.returncode == 1
    assert "unsafe file names" in r.stderr
    assert not dest.exists()
    assert not (tmp_path / "box" / "escape.txt").exists()


def test_errors_name_the_cause(tmp_path, gist_server, gist_env):
    model = _model(tmp_path)
    no_token = {"ZOO_VCS_GITHUB_API": gist_server.api_url}
    r = run_zoo("gist", "push", model, cwd=tmp_path, env=no_token)
    assert r.returncode == 1
    assert "needs a GitHub token" in r.stderr
    r = run_zoo("gist", "push", model, cwd=tmp_path, env={**no_token, "GITHUB_TOKEN": "nope"})
    assert "token was rejected" in r.stderr
    r = run_zoo("gist", "pull", "0" * 20, tmp_path / "x", cwd=tmp_path, env=gist_env)
    assert "not found" in r.stderr
    gist_server.rate_limited = True
    r = run_zoo("gist", "pull", "0" * 20, tmp_path / "x", cwd=tmp_path, env=gist_env)
    assert "rate limit exceeded until" in r.stderr
    gist_server.rate_limited = False
    dead = {"ZOO_VCS_GITHUB_API": "http://127.0.0.1:9/api/v3", "GITHUB_TOKEN": TOKEN}
    r = run_zoo("gist", "pull", "0" * 20, tmp_path / "x", cwd=tmp_path, env=dead)
    assert "cannot reach the GitHub API" in r.stderr
    for res in (r,):
        assert "Traceback" not in res.stderr


def test_token_is_never_leaked(tmp_path, gist_server, gist_env):
    model = _model(tmp_path)
    outputs = []
    for args in (["gist", "push", model, "--secret"], ["gist", "status", model],
                 ["gist", "push", model], ["--debug", "gist", "status", model],
                 ["gist", "pull", "0" * 20, tmp_path / "x"],
                 ["-v", "-v", "gist", "push", model]):
        r = run_zoo(*args, cwd=tmp_path, env=gist_env)
        outputs.append(r.output)
    gist_id = _gist_id(model)
    r = run_zoo("gist", "pull", gist_id, tmp_path / "copy", cwd=tmp_path, env=gist_env)
    assert r.returncode == 0, r.output
    outputs.append(r.output)
    assert not any(TOKEN in o for o in outputs)
    for root in (tmp_path,):
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                assert TOKEN.encode() not in path.read_bytes(), path
    # The emulator did receive it (so this test would see a leak into git config or logs).
    assert any(TOKEN in json.dumps(q["headers"]) or "authorization" in q["headers"]
               for q in gist_server.requests)


def _published(tmp_path: Path, gist_env: dict[str, str]) -> tuple[Path, str]:
    """A committed model folder with a gist, an origin, a folder store and the hooks."""
    model = _model(tmp_path)
    repo = model.parent
    origin = tmp_path / "origin.git"
    git("init", "-q", "--bare", str(origin), cwd=tmp_path)
    git("remote", "add", "origin", str(origin), cwd=repo)
    assert run_zoo("remote", "add", "store", str(tmp_path / "store"), "-d",
                   cwd=repo).returncode == 0
    assert run_zoo("gist", "push", model, cwd=tmp_path, env=gist_env).returncode == 0
    assert run_zoo("install-hooks", cwd=repo).returncode == 0
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "model", cwd=repo)
    return model, _gist_id(model)


def test_pre_push_publishes_the_pushed_commit_not_the_worktree(tmp_path, gist_server, gist_env):
    model, gist_id = _published(tmp_path, gist_env)
    repo = model.parent
    (model / "deploy.prototxt").write_text('name: "Committed"\n')
    git("commit", "-q", "-am", "new prototxt", cwd=repo)
    (model / "deploy.prototxt").write_text('name: "Uncommitted edit"\n')
    revisions = len(gist_server.revisions(gist_id))
    proc = subprocess.run(["git", "push", "-q", "origin", "main"], cwd=repo, capture_output=True,
                          text=True, check=False, env={**os.environ, **gist_env})
    assert proc.returncode == 0, proc.stderr
    assert "1 gists published" in proc.stderr
    assert gist_server.files(gist_id)["deploy.prototxt"] == b'name: "Committed"\n'
    assert len(gist_server.revisions(gist_id)) == revisions + 1
    assert TOKEN not in proc.stderr


def _push(repo: Path, *refs: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "push", "-q", "origin", *refs], cwd=repo, capture_output=True,
                          text=True, check=False, env={**os.environ, **env})


def test_pushing_another_branch_with_main_never_rolls_the_gist_back(tmp_path, gist_server,
                                                                      gist_env):
    """`git push origin main feature`, where only feature changes the published folder:
    the gist keeps main's content; a later push of main with a change updates it."""
    model, gist_id = _published(tmp_path, gist_env)
    repo = model.parent
    git("checkout", "-q", "-b", "feature", cwd=repo)
    (model / "deploy.prototxt").write_text('name: "Feature work"\n')
    git("commit", "-q", "-am", "feature prototxt", cwd=repo)
    git("checkout", "-q", "main", cwd=repo)
    (model / "deploy.prototxt").write_text('name: "Main v2"\n')
    git("commit", "-q", "-am", "main prototxt", cwd=repo)

    proc = _push(repo, "main", "feature", env=gist_env)
    assert proc.returncode == 0, proc.stderr
    assert gist_server.files(gist_id)["deploy.prototxt"] == b'name: "Main v2"\n'
    revisions = len(gist_server.revisions(gist_id))
    # The feature branch alone: objects may go up, the gist never changes.
    git("checkout", "-q", "feature", cwd=repo)
    (model / "deploy.prototxt").write_text('name: "Feature v2"\n')
    git("commit", "-q", "-am", "more feature work", cwd=repo)
    proc = _push(repo, "feature", env=gist_env)
    assert proc.returncode == 0, proc.stderr
    assert "published from 'main' only" in proc.stderr
    assert gist_server.files(gist_id)["deploy.prototxt"] == b'name: "Main v2"\n'
    assert len(gist_server.revisions(gist_id)) == revisions
    # main again, with a change: the gist follows.
    git("checkout", "-q", "main", cwd=repo)
    (model / "deploy.prototxt").write_text('name: "Main v3"\n')
    git("commit", "-q", "-am", "main v3", cwd=repo)
    proc = _push(repo, "main", env=gist_env)
    assert proc.returncode == 0, proc.stderr
    assert gist_server.files(gist_id)["deploy.prototxt"] == b'name: "Main v3"\n'
    assert len(gist_server.revisions(gist_id)) == revisions + 1


def test_gist_status_prints_the_plan_push_applies(tmp_path, gist_server, gist_env):
    model = _model(tmp_path)
    assert run_zoo("gist", "push", model, cwd=tmp_path, env=gist_env).returncode == 0
    gist_id = _gist_id(model)
    (model / "deploy.prototxt").rename(model / "net.prototxt")  # same bytes: a rename
    (model / "solver.prototxt").write_text("base_lr: 0.01\n")
    r = run_zoo("gist", "status", "--json", model, cwd=tmp_path, env=gist_env)
    assert r.returncode == 0, r.output
    plan = json.loads(r.stdout)
    assert plan["renamed"] == [{"from": "deploy.prototxt", "to": "net.prototxt"}]
    assert plan["added"] == ["solver.prototxt"]
    assert plan["deleted"] == []
    assert not plan["in_sync"]
    r = run_zoo("gist", "push", model, cwd=tmp_path, env=gist_env)
    assert r.returncode == 0, r.output
    assert "1 renamed" in r.stdout
    assert set(gist_server.files(gist_id)) == {"readme.md", "net.prototxt", "solver.prototxt",
                                               "net.caffemodel.zoo"}
    r = run_zoo("gist", "status", model, cwd=tmp_path, env=gist_env)
    assert f"in sync with gist {gist_id}" in r.stdout


@pytest.mark.parametrize("command", ["gist push", "upload-gist"])
@pytest.mark.parametrize("existing", [False, True], ids=["create", "update"])
def test_gist_write_without_any_token_names_every_place_and_sends_nothing(
        tmp_path, gist_server, command, existing):
    """No GITHUB_TOKEN, no GH_TOKEN, no credential helper: the error says where a token was
    looked for, before any request reaches the API or the gist's git remote."""
    model = _model(tmp_path)
    if existing:
        gist_id = gist_server.create({"readme.md": "old\n"})
        readme = model / "readme.md"
        readme.write_text(readme.read_text().replace("---\n", f"---\ngist_id: {gist_id}\n", 1))
    gist_server.requests.clear()
    r = run_zoo(*command.split(), model, cwd=tmp_path,
                env={"ZOO_VCS_GITHUB_API": gist_server.api_url})
    assert r.returncode == 1, r.output
    assert "Traceback" not in r.stderr
    for place in ("GITHUB_TOKEN", "GH_TOKEN", "git credential fill", "credential helper"):
        assert place in r.stderr, place
    host = gist_server.api_url.split("/")[2]
    assert f"knows none for {host}" in r.stderr
    assert gist_server.requests == [], "no request before the token check"
