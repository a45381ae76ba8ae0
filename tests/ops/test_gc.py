"""``zoo-vcs gc`` with real git: it never removes the only copy of bytes that a commit (on any
branch or tag, the index, the stash, another worktree, another repository sharing the
cache) needs; ``--workspace-only`` removes other objects only once a remote holds them."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import git, make_weights, run_zoo, write_readme
from zoo_vcs.formats import pointer as ptr

# A long history for the gc timing test, written by git fast-import in seconds (it was
# bench/gc_history.py's; the benchmark's own is bench/history.py).
_PER_FOLDER = 20


def _text_sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def _history_pointer(sha1: str, folder: int, name: str) -> bytes:
    url = f"https://models.example.org/m{folder:03d}/{name}"
    return ptr.encode(ptr.Pointer(sha1=sha1, size=1, urls=(url,))).encode()


def _history_readme(folder: int, version: int) -> bytes:
    return (f"---\nname: Model {folder} v{version}\ncaffemodel: w00.caffemodel\n"
            f"caffemodel_url: https://models.example.org/m{folder:03d}/w00.caffemodel\n"
            f"sha1: {_text_sha1(f'readme-{folder}-{version}')}\n---\n\n# Model {folder}\n").encode()


def _build_history(repo: Path, *, commits: int, pointers: int,
                   orphans: int) -> tuple[set[str], set[str]]:
    """Create the repository at ``repo`` (its cache included); returns (the SHA1s its
    history names, the SHA1s of unnamed objects put in its cache)."""
    repo.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    named: set[str] = set()
    stream: list[bytes] = []

    def blob(data: bytes) -> bytes:
        return b"data %d\n%s\n" % (len(data), data)

    def entry(path: str, data: bytes) -> bytes:
        return f"M 100644 inline {path}\n".encode() + blob(data)

    version = [0] * pointers
    for c in range(commits):
        lines = [f"commit refs/heads/main\ncommitter Bench <b@example.org> {1_600_000_000 + c} "
                 f"+0000\n".encode(), blob(f"commit {c}".encode())]
        if c == 0:
            changed = range(pointers)
            for folder in range(pointers // _PER_FOLDER):
                named.add(_text_sha1(f"readme-{folder}-0"))
                lines.append(entry(f"m{folder:03d}/readme.md", _history_readme(folder, 0)))
        else:
            changed = [(2 * c) % pointers, (2 * c + 1) % pointers]
            if c % 10 == 0:
                folder = (c // 10) % (pointers // _PER_FOLDER)
                named.add(_text_sha1(f"readme-{folder}-{c}"))
                lines.append(entry(f"m{folder:03d}/readme.md", _history_readme(folder, c)))
        for i in changed:
            version[i] = c
            sha1 = _text_sha1(f"object-{i}-{c}")
            named.add(sha1)
            folder, name = i // _PER_FOLDER, f"w{i % _PER_FOLDER:02d}.caffemodel"
            pointer = _history_pointer(sha1, folder, name)
            lines.append(entry(f"m{folder:03d}/{name}.zoo", pointer))
        stream.append(b"".join(lines) + b"\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=b"".join(stream),
                   check=True)
    subprocess.run(["git", "reset", "-q", "--hard", "main"], cwd=repo, check=True)
    unnamed = {_text_sha1(f"orphan-{i}") for i in range(orphans)}
    cache = repo / ".git" / "zoo-vcs" / "cache" / "sha1"
    for sha1 in named | unnamed:
        (cache / sha1[:2]).mkdir(parents=True, exist_ok=True)
        (cache / sha1[:2] / sha1[2:]).write_bytes(b"x")
    return named, unnamed


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def _repo(tmp_path: Path, name: str = "repo") -> Path:
    repo = tmp_path / name
    repo.mkdir()
    git("init", "-q", "-b", "master", cwd=repo)
    return repo


def _add(repo: Path, seed: int, name: str = "w.caffemodel", size: int = 3000) -> str:
    data = make_weights(repo / name, size + seed, seed=seed)
    r = run_zoo("add", name, cwd=repo)
    assert r.returncode == 0, r.output
    return _sha1(data)


def _commit(repo: Path, message: str) -> None:
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", message, cwd=repo)


def _objects(cache: Path) -> set[str]:
    base = cache / "sha1"
    return {p.parent.name + p.name for p in base.glob("*/*")} if base.is_dir() else set()


def _cache(repo: Path) -> Path:
    return repo / ".git" / "zoo-vcs" / "cache"


def _gc(repo: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, object]:
    r = run_zoo("gc", *args, "--json", cwd=repo, env=env)
    assert r.returncode == 0, r.output
    result: dict[str, object] = json.loads(r.stdout)
    return result


def test_gc_keeps_weights_committed_on_another_branch(tmp_path):
    """Issue #12: gc on branch exp removed master's weights for good."""
    repo = _repo(tmp_path)
    v1 = _add(repo, 1)
    _commit(repo, "v1")
    git("checkout", "-q", "-b", "exp", cwd=repo)
    v2 = _add(repo, 2)
    _commit(repo, "v2")
    v3 = _add(repo, 3)  # re-added before any commit: nothing names v3 any more
    v4 = _add(repo, 4)
    result = _gc(repo)
    assert result["removed"] == [v3]
    assert _objects(_cache(repo)) == {v1, v2, v4}
    git("checkout", "-q", "--", ".", cwd=repo)
    git("checkout", "-q", "master", cwd=repo)
    r = run_zoo("checkout", cwd=repo)
    assert r.returncode == 0, r.output
    assert _sha1((repo / "w.caffemodel").read_bytes()) == v1, "version 1 is still there"


def test_gc_keeps_what_tags_and_a_detached_head_name(tmp_path):
    repo = _repo(tmp_path)
    v1 = _add(repo, 1)
    _commit(repo, "v1")
    v2 = _add(repo, 2)
    _commit(repo, "v2")
    git("tag", "t2", cwd=repo)
    v3 = _add(repo, 3)
    _commit(repo, "v3")
    git("reset", "-q", "--hard", "HEAD~2", cwd=repo)  # v3: named by no ref any more
    git("checkout", "-q", "--detach", cwd=repo)
    v4 = _add(repo, 4)
    _commit(repo, "v4 on a detached HEAD")
    v5 = _add(repo, 5)
    assert _gc(repo)["removed"] == [v3]
    assert _objects(_cache(repo)) == {v1, v2, v4, v5}


def test_gc_keeps_objects_of_the_index_and_every_stash_entry(tmp_path):
    repo = _repo(tmp_path)
    v1 = _add(repo, 1)
    _commit(repo, "v1")
    v2 = _add(repo, 2)
    git("add", "w.caffemodel.zoo", cwd=repo)
    git("stash", "-q", cwd=repo)  # stash@{1} below: a staged pointer
    x1 = _add(repo, 5, name="x.bin")
    git("stash", "-q", "-u", cwd=repo)  # stash@{0}: an untracked pointer
    assert not (repo / "x.bin.zoo").exists()
    v3 = _add(repo, 3)
    git("add", "w.caffemodel.zoo", cwd=repo)  # in the index only
    v4 = _add(repo, 4)  # in the workspace only
    assert _gc(repo)["removed"] == []
    assert _objects(_cache(repo)) == {v1, v2, x1, v3, v4}
    git("stash", "drop", "-q", "stash@{1}", cwd=repo)
    assert _gc(repo)["removed"] == [v2]
    git("stash", "drop", "-q", cwd=repo)
    assert _gc(repo)["removed"] == [x1]
    assert _objects(_cache(repo)) == {v1, v3, v4}


def test_gc_keeps_objects_named_by_readme_frontmatter_in_history(tmp_path):
    """Legacy readme entries count like pointers: a sha1 in an old readme keeps its object."""
    repo = _repo(tmp_path)
    write_readme(repo, name="Legacy Net", caffemodel="w.caffemodel", sha1=None)
    old = _add(repo, 1)
    (repo / "w.caffemodel.zoo").unlink()  # the readme alone names the weights
    _commit(repo, "legacy v1")
    assert old in (repo / "readme.md").read_text()
    new = _add(repo, 2)
    (repo / "w.caffemodel.zoo").unlink()
    _commit(repo, "legacy v2")
    assert old not in (repo / "readme.md").read_text()
    assert _gc(repo)["removed"] == []
    assert _objects(_cache(repo)) == {old, new}


def test_gc_keeps_what_a_damaged_pointer_in_history_names(tmp_path):
    repo = _repo(tmp_path)
    v1 = _add(repo, 1)
    pointer = repo / "w.caffemodel.zoo"
    pointer.write_text(pointer.read_text().replace("size:", "size: lots #"))
    _commit(repo, "a broken pointer")
    v2 = _add(repo, 2)
    _commit(repo, "fixed")
    r = run_zoo("gc", cwd=repo)
    assert r.returncode == 0, r.output
    assert "warning: blob" in r.stderr
    assert "40-hex" in r.stderr
    assert _objects(_cache(repo)) == {v1, v2}


def test_gc_refuses_while_a_workspace_pointer_is_unreadable(tmp_path):
    repo = _repo(tmp_path)
    _add(repo, 1)
    _add(repo, 2)
    (repo / "bad.bin.zoo").write_text("zoo-vcs: 1\nsha1: nope\n")
    before = _objects(_cache(repo))
    r = run_zoo("gc", cwd=repo)
    assert r.returncode == 1
    assert "bad.bin.zoo" in r.stderr
    assert _objects(_cache(repo)) == before


def test_gc_counts_every_worktree(tmp_path):
    repo = _repo(tmp_path)
    v1 = _add(repo, 1)
    _commit(repo, "v1")
    other = tmp_path / "other"
    git("worktree", "add", "-q", "--detach", str(other), cwd=repo)
    r = run_zoo("checkout", cwd=other)
    assert r.returncode == 0, r.output
    v2 = _add(other, 2)  # only in the other worktree's files
    git("commit", "-q", "-am", "v2 on a detached HEAD", cwd=other)
    v3 = _add(other, 3)
    v4 = _add(repo, 4)
    for where in (repo, other):
        assert _gc(where)["removed"] == [], where
    assert _objects(_cache(repo)) == {v1, v2, v3, v4}


@pytest.mark.parametrize("store", ["folder", "s3"])
def test_workspace_only_removes_an_object_once_a_remote_holds_it(tmp_path, store, request):
    repo = _repo(tmp_path)
    env: dict[str, str] = {}
    if store == "folder":
        url = str(tmp_path / "store")
        options: list[str] = []
    else:
        s3 = request.getfixturevalue("s3_server")
        env = request.getfixturevalue("aws_env")
        bucket = s3.make_bucket(f"zoo-{uuid.uuid4().hex[:8]}")
        url, options = f"s3://{bucket}/zoo", ["-o", f"endpoint_url={s3.endpoint}"]
    assert run_zoo("remote", "add", "store", url, "-d", *options, cwd=repo).returncode == 0
    v1 = _add(repo, 1)
    _commit(repo, "v1")
    git("checkout", "-q", "-b", "exp", cwd=repo)
    v2 = _add(repo, 2)
    _commit(repo, "v2")

    # v1 is named only by master and is on no remote: kept, and listed.
    r = run_zoo("gc", "--workspace-only", cwd=repo, env=env)
    assert r.returncode == 0, r.output
    assert "kept 1 objects held nowhere else" in r.stdout
    assert v1[:12] in r.stdout
    assert "not on remote 'store'" in r.stdout
    result = _gc(repo, "--workspace-only", env=env)
    assert result["removed"] == []
    assert result["held_nowhere"] == [{"sha1": v1, "path": "w.caffemodel.zoo (history)",
                                       "reason": "held nowhere else: not on remote 'store', "
                                                 "no URL elsewhere"}]
    assert _objects(_cache(repo)) == {v1, v2}

    # Pushed from master, v1 goes; v2 (the workspace's) stays although it is not pushed.
    git("checkout", "-q", "master", cwd=repo)
    r = run_zoo("push", cwd=repo, env=env)
    assert r.returncode == 0, r.output
    git("checkout", "-q", "--", ".", cwd=repo)
    git("checkout", "-q", "exp", cwd=repo)
    result = _gc(repo, "--workspace-only", "--dry-run", env=env)
    assert result["removed"] == [v1]
    assert _objects(_cache(repo)) == {v1, v2}, "a dry run removes nothing"
    assert _gc(repo, "--workspace-only", env=env)["removed"] == [v1]
    assert _objects(_cache(repo)) == {v2}

    # The remote gives it back.
    git("checkout", "-q", "master", cwd=repo)
    r = run_zoo("checkout", cwd=repo, env=env)
    assert r.returncode == 0, r.output
    assert _sha1((repo / "w.caffemodel").read_bytes()) == v1


def test_workspace_only_accepts_a_pointer_url_as_the_other_copy(tmp_path, http_server):
    repo = _repo(tmp_path)
    data = make_weights(repo / "w.caffemodel", 4000, seed=9)
    url = http_server.add("/w.caffemodel", data)
    r = run_zoo("add", "--url", url, "w.caffemodel", cwd=repo)
    assert r.returncode == 0, r.output
    _commit(repo, "v1 from the web")
    v2 = _add(repo, 2)
    http_server.reset_log()
    result = _gc(repo, "--workspace-only")
    assert result["removed"] == [_sha1(data)]
    assert _objects(_cache(repo)) == {v2}
    assert [q.path for q in http_server.requests] == ["/w.caffemodel"]
    assert http_server.bytes_sent("/w.caffemodel") <= 512, "a size check, not a download"


# --------------------------------------------------------------------------- shared cache


def test_shared_cache_counts_every_registered_repository(tmp_path):
    env = {"ZOO_VCS_CACHE_DIR": str(tmp_path / "cache")}
    a, b = _repo(tmp_path, "a"), _repo(tmp_path, "b")

    def add(repo: Path, seed: int) -> str:
        data = make_weights(repo / "w.caffemodel", 3000 + seed, seed=seed)
        assert run_zoo("add", "w.caffemodel", cwd=repo, env=env).returncode == 0
        return _sha1(data)

    a1 = add(a, 1)
    git("add", "-A", cwd=a)
    git("commit", "-q", "-m", "a1", cwd=a)
    b1 = add(b, 11)
    git("add", "-A", cwd=b)
    git("commit", "-q", "-m", "b1", cwd=b)
    git("checkout", "-q", "-b", "exp", cwd=b)
    b2 = add(b, 12)
    git("commit", "-q", "-am", "b2", cwd=b)
    git("checkout", "-q", "-f", "master", cwd=b)
    b3 = add(b, 13)  # b's workspace only
    orphan = add(a, 2)
    a3 = add(a, 3)
    assert len(list((tmp_path / "cache" / "repos").iterdir())) == 2
    everything = {a1, b1, b2, b3, a3}
    for repo in (a, b):
        result = _gc(repo, env=env)
        assert result["removed"] == ([orphan] if repo == a else []), repo
        assert _objects(tmp_path / "cache") == everything
        assert sorted(result["repositories"]) == sorted(  # type: ignore[arg-type]
            [str(a / ".git"), str(b / ".git")])

    # A repository deleted since is no longer counted, and forgotten.
    shutil.rmtree(b)
    result = _gc(a, env=env)
    assert sorted(result["removed"]) == sorted([b1, b2, b3])  # type: ignore[type-var]
    assert result["forgotten"] == [str(b / ".git")]
    assert _objects(tmp_path / "cache") == {a1, a3}
    assert len(list((tmp_path / "cache" / "repos").iterdir())) == 1


def test_shared_cache_gc_refuses_when_a_registered_repository_cannot_be_read(tmp_path):
    env = {"ZOO_VCS_CACHE_DIR": str(tmp_path / "cache")}
    a, b = _repo(tmp_path, "a"), _repo(tmp_path, "b")
    for repo, seed in ((a, 1), (b, 2), (a, 3)):
        make_weights(repo / "w.caffemodel", 1000 + seed, seed=seed)
        assert run_zoo("add", "w.caffemodel", cwd=repo, env=env).returncode == 0
    before = _objects(tmp_path / "cache")
    (b / ".git" / "HEAD").write_text("not a ref\n")  # git can no longer read b
    for args in (["gc"], ["gc", "--dry-run"], ["gc", "--workspace-only"]):
        r = run_zoo(*args, cwd=a, env=env)
        assert r.returncode == 1, r.output
        assert str(b / ".git") in r.stderr
        assert "cannot be read" in r.stderr
        assert "nothing was removed" in r.stderr
        assert "delete " + str(tmp_path / "cache" / "repos") in r.stderr
        assert _objects(tmp_path / "cache") == before
    (tmp_path / "cache" / "repos" / "junk").write_text("")
    (b / ".git" / "HEAD").write_text("ref: refs/heads/master\n")
    r = run_zoo("gc", cwd=a, env=env)
    assert r.returncode == 1
    assert "does not name one git dir" in r.stderr


# --------------------------------------------------------------------------- long history


def test_gc_of_a_long_history_takes_seconds(tmp_path):
    """1,000 commits over 2,000 pointers: one git log and one cat-file process, not one
    process per commit or blob."""
    named, unnamed = _build_history(tmp_path / "repo", commits=1000, pointers=2000,
                                    orphans=100)
    t0 = time.monotonic()
    result = _gc(tmp_path / "repo", "--dry-run")
    elapsed = time.monotonic() - t0
    assert set(result["removed"]) == unnamed  # type: ignore[arg-type]
    assert result["kept"] == len(named)
    assert elapsed < 20, f"gc took {elapsed:.1f} s"
