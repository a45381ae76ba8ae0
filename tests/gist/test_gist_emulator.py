"""The gist emulator is faithful: PyGithub and the git CLI work against it as against GitHub."""

from __future__ import annotations

import base64
import gzip
import json
import os
import random
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import github
import pytest
from github import Auth, Github, GithubRetry, InputFileContent

from tests.servers.gist import GistEmulator

TOKEN = "test-token"
OTHER_TOKEN = "other-token"


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[GistEmulator]:
    tokens = {TOKEN: "zoo-tester", OTHER_TOKEN: "someone-else"}
    with GistEmulator(tmp_path / "gists", tokens=tokens) as emulator:
        yield emulator


def client(emu: GistEmulator, token: str | None = TOKEN, **kwargs: object) -> Github:
    """PyGithub against the emulator: no urllib3 retries (GithubRetry would sleep ~61 s on a
    rate limit), a short timeout, and no client-side throttling (0.25 s per request and 1 s
    per write by default)."""
    auth = Auth.Token(token) if token else None
    options: dict = {"retry": None, "timeout": 10, "seconds_between_requests": None,
                     "seconds_between_writes": None, **kwargs}
    return Github(auth=auth, base_url=emu.api_url, **options)


@pytest.fixture
def gh(emu: GistEmulator) -> Iterator[Github]:
    g = client(emu)
    yield g
    g.close()


class Git:
    """The git CLI with a private HOME/config; credentials only via -c http.extraHeader."""

    def __init__(self, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        (home / ".gitconfig").write_text("")
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("GIT_") and k not in ("SSH_ASKPASS", "GIT_ASKPASS")}
        self.env.update(HOME=str(home), GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
                        GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0")

    def __call__(self, *args: str, cwd: Path, token: str | None = None,
                 check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = ["git", "-c", "user.name=Zoo Tester", "-c", "user.email=tester@example.invalid",
               "-c", "credential.helper=", "-c", "init.defaultBranch=main"]
        if token is not None:
            basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
            cmd += ["-c", f"http.extraHeader=Authorization: Basic {basic}"]
        proc = subprocess.run([*cmd, *args], cwd=cwd, capture_output=True, text=True,
                              env=self.env, timeout=60, check=False)
        if check:
            assert proc.returncode == 0, f"git {' '.join(args)} failed:\n{proc.stderr}"
        return proc


@pytest.fixture
def git(tmp_path: Path) -> Git:
    return Git(tmp_path / "git-home")


def clone(git: Git, url: str, dest: Path) -> Path:
    git("clone", "-q", url, str(dest), cwd=dest.parent)
    return dest


def fetch_json(url: str, token: str | None = None) -> tuple[int, dict, object]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        with err:
            return err.code, dict(err.headers), json.loads(err.read() or b"null")


# ---------------------------------------------------------------------- REST via PyGithub


def test_create_gist_is_parsed_by_pygithub(emu: GistEmulator, gh: Github) -> None:
    gist = gh.get_user().create_gist(
        True, {"readme.md": InputFileContent("# hi\n"), "b.txt": InputFileContent("bee")},
        "a model")
    base = f"http://127.0.0.1:{emu.port}"
    assert len(gist.id) == 32
    assert gist.url == f"{emu.api_url}/gists/{gist.id}"
    assert gist.git_pull_url == gist.git_push_url == f"{base}/git/{gist.id}.git"
    assert gist.html_url == f"{base}/zoo-tester/{gist.id}"
    assert gist.commits_url == f"{emu.api_url}/gists/{gist.id}/commits"
    assert gist.public is True
    assert gist.description == "a model"
    assert gist.owner.login == "zoo-tester"
    assert isinstance(gist.created_at, datetime)
    assert gist.created_at.tzinfo is not None
    assert gist.truncated is False
    readme = gist.files["readme.md"]
    assert (readme.filename, readme.content, readme.size) == ("readme.md", "# hi\n", 5)
    assert readme.language == "Markdown"
    assert [h.version for h in gist.history] == emu.revisions(gist.id)
    assert gist.history[0].change_status.additions == 2
    assert gist.history[0].user.login == "zoo-tester"
    assert emu.files(gist.id) == {"readme.md": b"# hi\n", "b.txt": b"bee"}
    with urllib.request.urlopen(readme.raw_url, timeout=10) as response:
        assert response.read() == b"# hi\n"
    post = next(r for r in emu.requests if r["method"] == "POST")
    assert post["path"] == "/api/v3/gists"
    assert post["headers"]["authorization"] == f"token {TOKEN}"
    assert json.loads(post["body"])["files"]["b.txt"] == {"content": "bee"}


def test_get_and_edit_add_history(emu: GistEmulator, gh: Github) -> None:
    gist_id = emu.create({"a.txt": "one", "gone.txt": "bye", "old.txt": "keep"},
                         description="before")
    gist = gh.get_gist(gist_id)
    assert set(gist.files) == {"a.txt", "gone.txt", "old.txt"}
    assert len(gist.history) == 1
    gist.edit(description="after", files={"a.txt": InputFileContent("two"), "gone.txt": None,
                                          "old.txt": InputFileContent("kept", new_name="new.txt")})
    assert gist.description == "after"
    assert len(gist.history) == 2
    assert gist.history[0].version == emu.revisions(gist_id)[0]
    assert emu.files(gist_id) == {"a.txt": b"two", "new.txt": b"kept"}
    again = gh.get_gist(gist_id)
    assert {name: f.content for name, f in again.files.items()} == {"a.txt": "two",
                                                                    "new.txt": "kept"}
    again.edit(description="only the description")  # no new revision for a description
    assert len(gh.get_gist(gist_id).history) == 2
    assert gh.get_gist(gist_id).description == "only the description"
    again.edit(files={"new.txt": InputFileContent("", new_name="renamed.txt")})
    assert set(emu.files(gist_id)) == {"a.txt", "renamed.txt"}


def test_gist_at_revision_and_commits(emu: GistEmulator, gh: Github) -> None:
    gist_id = emu.create({"w.txt": "v1"})
    first = emu.revisions(gist_id)[0]
    second = emu.commit(gist_id, {"w.txt": "v2", "extra.txt": "x"})
    assert emu.revisions(gist_id) == [second, first]
    assert emu.files(gist_id, first) == {"w.txt": b"v1"}
    old = gh.get_gist(f"{gist_id}/{first}")
    assert {n: f.content for n, f in old.files.items()} == {"w.txt": "v1"}
    assert [h.version for h in old.history] == [first]
    gist = gh.get_gist(gist_id)
    assert gist.history[-1].files["w.txt"].content == "v1"  # history entries complete lazily
    assert gist.files["w.txt"].content == "v2"
    status, _, commits = fetch_json(f"{emu.api_url}/gists/{gist_id}/commits")
    assert status == 200
    assert [c["version"] for c in commits] == [second, first]
    assert commits[0]["change_status"] == {"total": 3, "additions": 2, "deletions": 1}
    status, headers, page = fetch_json(f"{emu.api_url}/gists/{gist_id}/commits?per_page=1")
    assert [c["version"] for c in page] == [second]
    assert 'rel="next"' in headers["Link"]
    with pytest.raises(github.UnknownObjectException):
        gh.get_gist(f"{gist_id}/{'0' * 40}")


def test_errors_map_to_pygithub_exceptions(emu: GistEmulator, gh: Github) -> None:
    with pytest.raises(github.UnknownObjectException) as missing:
        gh.get_gist("0123456789abcdef0123456789abcdef")
    assert missing.value.status == 404
    bad = client(emu, token="not-a-token")
    with pytest.raises(github.BadCredentialsException):
        _ = bad.get_user().login
    public = emu.create({"a": "b"})
    with pytest.raises(github.BadCredentialsException):  # even where no token is needed
        bad.get_gist(public)
    user = gh.get_user()
    for files in ({}, {"empty.txt": InputFileContent("")},
                  {"dir/x.txt": InputFileContent("x")}):
        with pytest.raises(github.GithubException) as invalid:
            user.create_gist(True, files)
        assert invalid.value.status == 422
        assert invalid.value.data["message"] == "Validation Failed"
    assert list(emu.root.iterdir()) == [emu.repo_path(public)]  # nothing was created
    assert user.create_gist(True, {"n.txt": InputFileContent("n")}).description is None


def test_ownership_and_anonymous_access(emu: GistEmulator, gh: Github) -> None:
    theirs = emu.create({"t.txt": "theirs"}, owner="someone-else")
    gist = gh.get_gist(theirs)  # reading another user's public gist is fine
    with pytest.raises(github.UnknownObjectException):
        gist.edit(files={"t.txt": InputFileContent("mine now")})
    with pytest.raises(github.UnknownObjectException):
        gist.delete()
    anonymous = client(emu, token=None)
    assert anonymous.get_gist(theirs).files["t.txt"].content == "theirs"
    with pytest.raises(github.GithubException) as unauthenticated:
        anonymous.get_gist(theirs).edit(description="x")
    assert unauthenticated.value.status == 401
    assert emu.files(theirs) == {"t.txt": b"theirs"}
    mine = gh.get_user().create_gist(False, {"m.txt": InputFileContent("m")})
    assert mine.public is False
    mine.delete()
    assert not emu.repo_path(mine.id).exists()
    with pytest.raises(github.UnknownObjectException):
        gh.get_gist(mine.id)


def test_rate_limited(emu: GistEmulator, gh: Github) -> None:
    gist_id = emu.create({"a": "b"})
    emu.rate_limited = True
    started = time.monotonic()
    with pytest.raises(github.RateLimitExceededException) as limited:
        gh.get_gist(gist_id)
    assert limited.value.status == 403
    assert limited.value.headers["x-ratelimit-remaining"] == "0"
    assert int(limited.value.headers["x-ratelimit-reset"]) > time.time() + 30
    # PyGithub's default GithubRetry would sleep until X-RateLimit-Reset (~61 s) and retry;
    # a capped GithubRetry raises at once instead.
    capped = client(emu, retry=GithubRetry(max_rate_limit_wait=5))
    with pytest.raises(github.RateLimitExceededException):
        capped.get_gist(gist_id)
    gets = [r for r in emu.requests if r["path"] == f"/api/v3/gists/{gist_id}"]
    assert len(gets) == 2  # one each: no retry
    assert time.monotonic() - started < 30  # far below the ~61 s a retry would wait
    emu.rate_limited = False
    assert gh.get_gist(gist_id).id == gist_id


def test_truncation(emu: GistEmulator, gh: Github) -> None:
    big = b"x" * ((1 << 20) + 5)
    gist_id = emu.create({"big.txt": big, "small.txt": "s"})
    gist = gh.get_gist(gist_id)
    assert gist.files["big.txt"].size == len(big)
    assert len(gist.files["big.txt"].content) == 1 << 20
    assert gist.raw_data["files"]["big.txt"]["truncated"] is True
    assert gist.raw_data["files"]["small.txt"]["truncated"] is False
    with urllib.request.urlopen(gist.files["big.txt"].raw_url, timeout=10) as response:
        assert response.read() == big
    many = emu.create({f"f{i:03}.txt": str(i) for i in range(301)})
    crowded = gh.get_gist(many)
    assert crowded.truncated is True
    assert len(crowded.files) == 300
    assert len(emu.files(many)) == 301


def test_api_files_override(emu: GistEmulator, gh: Github) -> None:
    gist_id = emu.create({"honest.txt": "ok"})
    emu.set_api_files_override(gist_id, {"../x": {"content": "evil"},
                                         ".git/config": {"content": "[core]"}})
    gist = gh.get_gist(gist_id)
    assert set(gist.files) == {"../x", ".git/config"}
    assert gist.files["../x"].filename == "../x"
    assert gist.files["../x"].content == "evil"
    assert emu.files(gist_id) == {"honest.txt": b"ok"}
    emu.set_api_files_override(gist_id, None)
    assert set(gh.get_gist(gist_id).files) == {"honest.txt"}


def test_hostile_tree_names_are_possible(emu: GistEmulator, gh: Github) -> None:
    gist_id = emu.create({"../x": "up", "a/b.txt": "nested"})
    assert emu.files(gist_id) == {"../x": b"up", "a/b.txt": b"nested"}
    assert set(gh.get_gist(gist_id).files) == {"../x", "a/b.txt"}


# ---------------------------------------------------------------------- git smart HTTP


def test_clone_push_roundtrip(emu: GistEmulator, gh: Github, git: Git, tmp_path: Path) -> None:
    gist = gh.get_user().create_gist(True, {"readme.md": InputFileContent("v1\n")})
    work = clone(git, gist.git_pull_url, tmp_path / "work")
    assert (work / "readme.md").read_text() == "v1\n"
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=work).stdout.strip() == "master"
    (work / "readme.md").write_text("v2\n")
    (work / "weights.md").write_text("w\n")
    git("add", "-A", cwd=work)
    git("commit", "-qm", "update", cwd=work)
    git("push", "-q", "origin", "HEAD:master", cwd=work, token=TOKEN)
    head = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    fresh = gh.get_gist(gist.id)
    assert len(fresh.history) == 2
    assert fresh.history[0].version == head == emu.revisions(gist.id)[0]
    assert {n: f.content for n, f in fresh.files.items()} == {"readme.md": "v2\n",
                                                              "weights.md": "w\n"}
    pushes = [r for r in emu.requests if r["path"].endswith("/git-receive-pack")]
    assert pushes
    assert pushes[-1]["status"] == 200
    assert all("authorization" not in r["headers"] for r in emu.requests
               if r["path"].endswith("git-upload-pack"))  # clone sent no credentials


def test_push_requires_owner_token(emu: GistEmulator, git: Git, tmp_path: Path) -> None:
    gist_id = emu.create({"a.txt": "a"})
    before = emu.revisions(gist_id)
    work = clone(git, f"http://127.0.0.1:{emu.port}/git/{gist_id}.git", tmp_path / "work")
    (work / "a.txt").write_text("changed")
    git("commit", "-qam", "change", cwd=work)
    anonymous = git("push", "origin", "HEAD:master", cwd=work, check=False)
    assert anonymous.returncode != 0
    assert "could not read Username" in anonymous.stderr
    wrong = git("push", "origin", "HEAD:master", cwd=work, token="bogus", check=False)
    assert wrong.returncode != 0
    assert "could not read Username" in wrong.stderr or "401" in wrong.stderr
    other = git("push", "origin", "HEAD:master", cwd=work, token=OTHER_TOKEN, check=False)
    assert other.returncode != 0
    assert "403" in other.stderr
    assert emu.revisions(gist_id) == before
    git("push", "-q", "origin", "HEAD:master", cwd=work, token=TOKEN)
    assert emu.files(gist_id) == {"a.txt": b"changed"}


def test_push_with_directory_or_branch_is_rejected(emu: GistEmulator, git: Git,
                                                   tmp_path: Path) -> None:
    gist_id = emu.create({"a.txt": "a"})
    before = emu.revisions(gist_id)
    work = clone(git, f"http://127.0.0.1:{emu.port}/git/{gist_id}.git", tmp_path / "work")
    (work / "sub").mkdir()
    (work / "sub" / "b.txt").write_text("b")
    git("add", "-A", cwd=work)
    git("commit", "-qm", "dir", cwd=work)
    pushed = git("push", "origin", "HEAD:master", cwd=work, token=TOKEN, check=False)
    assert pushed.returncode != 0
    assert "Gist does not support directories" in pushed.stderr
    assert "pre-receive hook declined" in pushed.stderr
    branch = git("push", "origin", "HEAD~1:refs/heads/other", cwd=work, token=TOKEN,
                 check=False)
    assert branch.returncode != 0
    assert emu.revisions(gist_id) == before
    assert emu.files(gist_id) == {"a.txt": b"a"}
    refs = git("--git-dir", str(emu.repo_path(gist_id)), "for-each-ref",
               "--format=%(refname)", cwd=tmp_path).stdout.split()
    assert refs == ["refs/heads/master"]


def test_large_push_and_gzipped_fetch(emu: GistEmulator, gh: Github, git: Git,
                                      tmp_path: Path) -> None:
    gist_id = emu.create({"a.txt": "a"})
    url = f"http://127.0.0.1:{emu.port}/git/{gist_id}.git"
    work = clone(git, url, tmp_path / "work")
    blob = random.Random(0).randbytes(3 << 19)  # incompressible: > http.postBuffer -> chunked
    (work / "big.bin").write_bytes(blob)
    git("add", "big.bin", cwd=work)
    git("commit", "-qm", "big", cwd=work)
    git("push", "-q", "origin", "HEAD:master", cwd=work, token=TOKEN)
    assert emu.files(gist_id)["big.bin"] == blob
    assert any(r["headers"].get("transfer-encoding") == "chunked" for r in emu.requests)
    assert gh.get_gist(gist_id).raw_data["files"]["big.bin"]["truncated"] is True
    emu.commit(gist_id, {"new.txt": "remote change"})
    git("fetch", "-q", "origin", cwd=work)
    assert git("show", "origin/master:new.txt", cwd=work).stdout == "remote change"
    # git gzips upload-pack requests over 1 KiB (long negotiations): send one directly
    want = emu.revisions(gist_id)[0]
    body = gzip.compress(b"0032want %s\n0000" % want.encode() + b"0009done\n")
    request = urllib.request.Request(
        f"{url}/git-upload-pack", data=body, method="POST",
        headers={"Content-Type": "application/x-git-upload-pack-request",
                 "Accept": "application/x-git-upload-pack-result", "Content-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        answer = response.read()
    assert answer.startswith(b"0008NAK\nPACK")


def test_unknown_repo_and_request_log(emu: GistEmulator, git: Git, tmp_path: Path) -> None:
    missing = git("clone", f"http://127.0.0.1:{emu.port}/git/{'f' * 32}.git", "x",
                  cwd=tmp_path, check=False)
    assert missing.returncode != 0
    assert "not found" in missing.stderr
    status, _, body = fetch_json(f"{emu.api_url}/user", token=TOKEN)
    assert (status, body["login"], body["type"]) == (200, "zoo-tester", "User")
    status, _, body = fetch_json(f"{emu.api_url}/user")
    assert status == 401
    entry = emu.requests[-2]
    assert (entry["method"], entry["path"], entry["query"]) == ("GET", "/api/v3/user", "")
    assert entry["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert entry["body"] == b""
