"""``zoo-vcs migrate``: binaries committed into git become pointers, at HEAD in one commit or
in every commit (``--rewrite-history``, git-filter-repo), on real repositories."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.conftest import git, make_weights, run_zoo, write_readme
from zoo_vcs.errors import UsageError
from zoo_vcs.formats import pointer as ptr
from zoo_vcs.ops import migrate_history
from zoo_vcs.ops.migrate import plan, selector
from zoo_vcs.repo.config import DEFAULT_BINARIES, resolve
from zoo_vcs.repo.context import Repository

MB = 1 << 20
NET = "models/net"
WEIGHTS = f"{NET}/net.caffemodel"
ONNX = f"{NET}/net.onnx"
LEGACY_URL = "http://dl.example.org/net.caffemodel"


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def build(root: Path, size: int) -> list[bytes]:
    """A Model Zoo repository whose history holds three versions of the weights (each
    ``size`` bytes) and an ONNX export; a legacy readme names the weights, its ``sha1``
    kept up to date by hand, and an annotated tag marks the second version. Returns the
    weights of each commit, oldest first."""
    root.mkdir()
    git("init", "-q", "-b", "main", cwd=root)
    (root / NET).mkdir(parents=True)
    (root / NET / "deploy.prototxt").write_text("name: 'Net'\n")
    (root / "notes.txt").write_text("notes\n")
    versions = []
    for i in range(3):
        data = make_weights(root / WEIGHTS, size, seed=i)
        versions.append(data)
        write_readme(root / NET, name="Net", caffemodel="net.caffemodel",
                     caffemodel_url=LEGACY_URL, sha1=sha1(data))
        if i == 0:
            make_weights(root / ONNX, max(size // 4, 1), seed=99)
        git("add", "-A", cwd=root)
        git("commit", "-q", "-m", f"weights v{i + 1}", cwd=root)
        if i == 1:
            git("tag", "-a", "v2", "-m", "second weights", cwd=root)
    return versions


def tree(root: Path, rev: str) -> dict[str, tuple[str, int]]:
    """path -> (blob, size) of every file of ``rev``."""
    out = git("ls-tree", "-r", "-l", rev, cwd=root)
    entries = {}
    for line in out.splitlines():
        meta, path = line.split("\t", 1)
        _mode, _kind, blob, size = meta.split()
        entries[path] = (blob, int(size))
    return entries


def state(root: Path) -> tuple[str, str, str, list[tuple[str, int]]]:
    """Refs, index, status and work-tree files: what must not change."""
    files = sorted((str(p.relative_to(root)), p.stat().st_size) for p in root.rglob("*")
                   if p.is_file() and ".git" not in p.relative_to(root).parts)
    return (git("for-each-ref", cwd=root), git("ls-files", "-s", cwd=root),
            git("status", "--porcelain", "--ignored", cwd=root), files)


def packed_kib(root: Path) -> int:
    """Loose plus packed object size (KiB) after dropping everything unreachable."""
    git("reflog", "expire", "--expire=now", "--all", cwd=root)
    git("gc", "-q", "--prune=now", cwd=root)
    counts = dict(line.split(": ") for line in
                  git("count-objects", "-v", cwd=root).splitlines())
    return int(counts["size"]) + int(counts["size-pack"])


@pytest.fixture
def small(tmp_path: Path) -> tuple[Path, list[bytes]]:
    """The repository with 200 kB weights: for what does not depend on the size."""
    root = tmp_path / "zoo"
    return root, build(root, 200_000)


@pytest.fixture
def big(tmp_path: Path) -> tuple[Path, list[bytes]]:
    """The repository with 20 MB weights."""
    root = tmp_path / "zoo"
    return root, build(root, 20 * MB)


# --- at HEAD -------------------------------------------------------------------------------


def test_head_migration_commits_pointers_and_keeps_the_files(big, tmp_path):
    root, versions = big
    onnx = (root / ONNX).read_bytes()
    inode = (root / WEIGHTS).stat().st_ino
    before = git("rev-parse", "HEAD", cwd=root).strip()

    r = run_zoo("migrate", "--json", cwd=root)
    assert r.returncode == 0, r.output
    out = json.loads(r.stdout)
    assert [Path(f["path"]).relative_to(root).as_posix() for f in out["files"]] == [WEIGHTS,
                                                                                    ONNX]
    assert out["head_bytes"] == len(versions[2]) + len(onnx)

    # One new commit on top of the old one: HEAD holds pointers and ignores the binaries.
    assert git("rev-parse", "HEAD~1", cwd=root).strip() == before
    assert out["commit"] == git("rev-parse", "HEAD", cwd=root).strip()
    files = tree(root, "HEAD")
    assert WEIGHTS not in files
    assert ONNX not in files
    assert max(size for _blob, size in files.values()) < 1024
    pointer = ptr.decode(git("show", f"HEAD:{WEIGHTS}.zoo", cwd=root))
    assert (pointer.sha1, pointer.size) == (sha1(versions[2]), len(versions[2]))
    assert git("show", f"HEAD:{NET}/.gitignore", cwd=root).splitlines() == ["/net.caffemodel",
                                                                           "/net.onnx"]
    assert git("status", "--porcelain", cwd=root) == ""

    # The workspace files are untouched, the same inode and bytes.
    assert (root / WEIGHTS).read_bytes() == versions[2]
    assert (root / WEIGHTS).stat().st_ino == inode
    assert (root / ONNX).read_bytes() == onnx
    status = json.loads(run_zoo("status", "--json", cwd=root).stdout)
    assert sorted(f["state"] for f in status["files"]) == ["ok", "ok"]

    # A clone gets the bytes from a folder remote after `zoo-vcs push`.
    store = tmp_path / "store"
    assert run_zoo("remote", "add", "store", str(store), "--default", cwd=root).returncode == 0
    assert run_zoo("push", cwd=root).returncode == 0
    git("add", "-A", cwd=root)
    git("commit", "-q", "-m", "remote", cwd=root)
    clone = tmp_path / "clone"
    git("clone", "-q", str(root), str(clone), cwd=tmp_path)
    assert not (clone / WEIGHTS).exists()
    r = run_zoo("pull", cwd=clone)
    assert r.returncode == 0, r.output
    assert (clone / WEIGHTS).read_bytes() == versions[2]
    assert (clone / ONNX).read_bytes() == onnx


def test_pointer_and_readme_are_what_add_writes(small, tmp_path):
    """The same bytes and readme, tracked by `zoo-vcs add` in a fresh repository, give the
    same pointer and readme as a migration (at HEAD, and in rewritten history)."""
    root, versions = small
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    git("init", "-q", cwd=fresh)
    (fresh / NET).mkdir(parents=True)
    (fresh / WEIGHTS).write_bytes(versions[2])
    (fresh / NET / "readme.md").write_bytes((root / NET / "readme.md").read_bytes())
    assert run_zoo("add", WEIGHTS, cwd=fresh).returncode == 0
    expected = (fresh / f"{WEIGHTS}.zoo").read_bytes()
    assert ptr.decode(expected).urls == (LEGACY_URL,)  # the readme vouches for these bytes

    head = tmp_path / "head"
    git("clone", "-q", str(root), str(head), cwd=tmp_path)
    assert run_zoo("migrate", cwd=head).returncode == 0
    assert (head / f"{WEIGHTS}.zoo").read_bytes() == expected
    assert (head / NET / "readme.md").read_bytes() == (fresh / NET / "readme.md").read_bytes()

    assert run_zoo("migrate", "--rewrite-history", cwd=root).returncode == 0
    assert git("show", f"HEAD:{WEIGHTS}.zoo", cwd=root).encode() == expected


def test_legacy_readme_sha1_is_kept_in_step(tmp_path):
    """The readme's stale sha1 is corrected in the migration commit, which zoo-vcs's own
    pre-commit hook (no binary committed beside its pointer) lets through."""
    root = tmp_path / "zoo"
    root.mkdir()
    git("init", "-q", cwd=root)
    data = make_weights(root / "w.caffemodel", 50_000)
    write_readme(root, name="W", caffemodel="w.caffemodel", sha1="0" * 40)
    git("add", "-A", cwd=root)
    git("commit", "-q", "-m", "stale sha1", cwd=root)
    assert run_zoo("install-hooks", cwd=root).returncode == 0
    r = run_zoo("migrate", cwd=root)
    assert r.returncode == 0, r.output
    committed = git("show", "HEAD:readme.md", cwd=root)
    assert f"sha1: {sha1(data)}" in committed
    assert "readme.md" in git("show", "--name-only", "--format=", "HEAD", cwd=root)


def test_binaries_setting(tmp_path):
    """``[core] binaries``: globs by commas or lines; ``*.caffemodel`` whatever it says."""
    assert resolve(tmp_path, tmp_path / "cache").binaries == DEFAULT_BINARIES
    (tmp_path / ".zoo").mkdir()
    (tmp_path / ".zoo" / "config").write_text("[core]\nbinaries = *.npy,\n  /weights/*.dat\n")
    cfg = resolve(tmp_path, tmp_path / "cache")
    assert cfg.binaries == ("*.caffemodel", "*.npy", "/weights/*.dat")
    assert [cfg.is_binary(p) for p in ("x.caffemodel", "a/b/x.npy", "weights/w.dat",
                                       "m/weights/w.dat", "x.onnx")] == [True, True, True,
                                                                          False, False]


def test_config_globs_and_paths_choose_what_migrates(tmp_path):
    root = tmp_path / "zoo"
    root.mkdir()
    git("init", "-q", cwd=root)
    (root / ".zoo").mkdir()
    (root / ".zoo" / "config").write_text("[core]\nbinaries = *.npy, data/*.dat\n")
    for name in ("a/w.caffemodel", "a/x.npy", "a/y.onnx", "data/z.dat", "b/w.caffemodel",
                 "b/data/z.dat"):
        make_weights(root / name, 1000)
    git("add", "-A", cwd=root)
    git("commit", "-q", "-m", "binaries", cwd=root)

    r = run_zoo("migrate", "--dry-run", "--json", cwd=root)
    chosen = sorted(Path(f["path"]).relative_to(root).as_posix()
                    for f in json.loads(r.stdout)["files"])
    # *.caffemodel always; *.onnx only by default (the config names its own globs).
    assert chosen == ["a/w.caffemodel", "a/x.npy", "b/w.caffemodel", "data/z.dat"]

    r = run_zoo("migrate", "a", cwd=root)
    assert r.returncode == 0, r.output
    files = tree(root, "HEAD")
    assert {"a/w.caffemodel.zoo", "a/x.npy.zoo", "a/y.onnx", "b/w.caffemodel",
            "data/z.dat"} <= set(files)
    assert "a/w.caffemodel" not in files


def test_dry_run_changes_nothing(small):
    root, _ = small
    before = state(root)
    for flags in ([], ["--rewrite-history"]):
        r = run_zoo("migrate", "--dry-run", *flags, cwd=root)
        assert r.returncode == 0, r.output
        assert "would" in r.stdout
        assert state(root) == before
    r = run_zoo("migrate", "--dry-run", "--rewrite-history", "--json", cwd=root)
    out = json.loads(r.stdout)
    assert len(out["versions"]) == 4  # three weights, one ONNX
    assert out["history_bytes"] == 3 * 200_000 + 50_000
    assert out["packed_bytes"] > 0
    assert not (root / ".git" / "zoo-vcs" / "cache" / "sha1").exists()


def test_dirty_tree_is_refused(small):
    root, _ = small
    (root / NET / "deploy.prototxt").write_text("changed\n")
    for flags in ([], ["--rewrite-history"]):
        before = state(root)
        r = run_zoo("migrate", *flags, cwd=root)
        assert r.returncode == 2
        assert "uncommitted changes in models/net/deploy.prototxt" in r.stderr
        assert "hint: commit or stash them first" in r.stderr
        assert state(root) == before
    r = run_zoo("migrate", "--dry-run", cwd=root)
    assert r.returncode == 0
    assert "uncommitted change: models/net/deploy.prototxt" in r.stderr


def test_outside_git_and_empty_repositories_are_refused(tmp_path):
    r = run_zoo("migrate", cwd=tmp_path)
    assert r.returncode == 2
    assert "not in a git repository" in r.stderr
    git("init", "-q", cwd=tmp_path)
    r = run_zoo("migrate", cwd=tmp_path)
    assert r.returncode == 2
    assert "no commit yet" in r.stderr


def test_nothing_to_migrate(tmp_path):
    git("init", "-q", cwd=tmp_path)
    (tmp_path / "a.txt").write_text("text\n")
    git("add", "-A", cwd=tmp_path)
    git("commit", "-q", "-m", "text", cwd=tmp_path)
    head = git("rev-parse", "HEAD", cwd=tmp_path)
    for flags in ([], ["--rewrite-history"]):
        r = run_zoo("migrate", *flags, cwd=tmp_path)
        assert r.returncode == 0, r.output
        assert "nothing to migrate" in r.stdout
    assert git("rev-parse", "HEAD", cwd=tmp_path) == head
    assert "zoo-vcs/backup" not in git("for-each-ref", cwd=tmp_path)


# --- rewriting history ---------------------------------------------------------------------


def test_rewrite_history_of_20_mb_weights(big):
    root, versions = big
    onnx = (root / ONNX).read_bytes()
    old_commits = git("rev-list", "--reverse", "main", cwd=root).split()
    old_tag = git("rev-parse", "v2", cwd=root).strip()
    kib_before = packed_kib(root)

    r = run_zoo("migrate", "--rewrite-history", "--json", cwd=root)
    assert r.returncode == 0, r.output
    out = json.loads(r.stdout)
    assert out["commits"] == 3
    assert sorted(v["sha1"] for v in out["versions"]) == sorted(
        [sha1(v) for v in versions] + [sha1(onnx)])

    # The old history is kept under backup refs, one per rewritten ref.
    assert out["backups"] == {"refs/heads/main": "refs/zoo-vcs/backup/heads/main",
                              "refs/tags/v2": "refs/zoo-vcs/backup/tags/v2"}
    assert git("rev-parse", "refs/zoo-vcs/backup/heads/main", cwd=root).split() == \
        old_commits[-1:]
    assert git("rev-parse", "refs/zoo-vcs/backup/tags/v2", cwd=root).strip() == old_tag

    # No commit of a branch or tag holds a blob over 1 MB; the shape of history is kept.
    commits = git("rev-list", "--reverse", "--branches", "--tags", cwd=root).split()
    assert len(commits) == 3
    assert not set(commits) & set(old_commits)
    for commit in commits:
        assert max(size for _blob, size in tree(root, commit).values()) <= MB
    assert git("rev-parse", "v2^{commit}", cwd=root).strip() == commits[1]
    assert git("cat-file", "-t", "v2", cwd=root).strip() == "tag"

    # The workspace is as it was: binaries in place (now ignored), pointers committed.
    assert (root / WEIGHTS).read_bytes() == versions[2]
    assert (root / ONNX).read_bytes() == onnx
    assert git("status", "--porcelain", cwd=root) == ""
    assert "!! models/net/net.caffemodel" in git("status", "--porcelain", "--ignored", cwd=root)

    # Every old version comes back byte-exact: git checkout, then zoo-vcs checkout.
    for commit, data in zip(commits, versions, strict=True):
        git("checkout", "-q", commit, cwd=root)
        r = run_zoo("checkout", cwd=root)
        assert r.returncode == 0, r.output
        assert (root / WEIGHTS).read_bytes() == data
        assert (root / ONNX).read_bytes() == onnx
        readme = git("show", f"{commit}:{NET}/readme.md", cwd=root)
        assert f"sha1: {sha1(data)}" in readme
        pointer = ptr.decode(git("show", f"{commit}:{WEIGHTS}.zoo", cwd=root))
        assert (pointer.sha1, pointer.size, pointer.urls) == (sha1(data), len(data),
                                                              (LEGACY_URL,))
        assert git("status", "--porcelain", cwd=root) == ""
    git("checkout", "-q", "main", cwd=root)

    # Once the backups go, git sheds the old objects.
    for backup in out["backups"].values():
        git("update-ref", "-d", backup, cwd=root)
    kib_after = packed_kib(root)
    assert kib_before > 60 * 1024
    assert kib_after < 100, (kib_before, kib_after)


def test_rewritten_history_pushed_through_the_hook_restores_in_a_clone(small, tmp_path):
    """The force-push of the rewritten history runs the pre-push hook, which uploads the
    object of every pointer of every pushed commit: a clone restores any old version (the
    old commits predate .zoo/config: the clone names the remote in .zoo/config.local)."""
    root, versions = small
    origin = tmp_path / "origin.git"
    git("init", "-q", "--bare", str(origin), cwd=tmp_path)
    git("remote", "add", "origin", str(origin), cwd=root)
    git("push", "-q", "origin", "main", "--tags", cwd=root)  # the weights were on a server
    store = tmp_path / "store"
    assert run_zoo("remote", "add", "store", str(store), "--default", cwd=root).returncode == 0
    git("add", ".zoo", cwd=root)
    git("commit", "-q", "-m", "storage remote", cwd=root)

    assert run_zoo("migrate", "--rewrite-history", cwd=root).returncode == 0
    assert run_zoo("install-hooks", cwd=root).returncode == 0
    git("push", "-q", "--force", "origin", "main", cwd=root)
    git("push", "-q", "--force", "--tags", "origin", cwd=root)
    stored = {f.parent.name + f.name for f in (store / "sha1").rglob("*") if f.is_file()}
    assert stored == {sha1(v) for v in versions} | {sha1((root / ONNX).read_bytes())}

    clone = tmp_path / "clone"
    git("clone", "-q", str(origin), str(clone), cwd=tmp_path)
    r = run_zoo("remote", "add", "lab", str(store), "--default", "--local", cwd=clone)
    assert r.returncode == 0, r.output
    commits = git("rev-list", "--reverse", "main", cwd=clone).split()[:3]
    for commit, data in zip(commits, versions, strict=True):
        git("checkout", "-q", commit, cwd=clone)
        r = run_zoo("checkout", cwd=clone)
        assert r.returncode == 0, r.output
        assert (clone / WEIGHTS).read_bytes() == data


def test_rewrite_follows_readme_edits_and_deletions(small):
    """A commit that only edits the readme gets the pointer the readme now vouches for; one
    that deletes a binary deletes its pointer and its .gitignore line."""
    root, versions = small
    readme = root / NET / "readme.md"
    readme.write_text(readme.read_text().replace(LEGACY_URL, "http://mirror.example.org/n"))
    git("commit", "-q", "-am", "new mirror", cwd=root)
    git("rm", "-q", ONNX, cwd=root)
    git("commit", "-q", "-m", "no ONNX", cwd=root)
    assert run_zoo("migrate", "--rewrite-history", cwd=root).returncode == 0

    def pointer(rev: str) -> ptr.Pointer:
        return ptr.decode(git("show", f"{rev}:{WEIGHTS}.zoo", cwd=root))

    assert pointer("HEAD~2").urls == (LEGACY_URL,)
    assert pointer("HEAD~1").urls == ("http://mirror.example.org/n",)
    assert pointer("HEAD~1").sha1 == sha1(versions[2])
    assert f"{ONNX}.zoo" in tree(root, "HEAD~1")
    assert f"{ONNX}.zoo" not in tree(root, "HEAD")
    assert ONNX not in tree(root, "HEAD")
    assert git("show", f"HEAD:{NET}/.gitignore", cwd=root).splitlines() == ["/net.caffemodel"]
    assert git("status", "--porcelain", cwd=root) == ""


def test_rewrite_refuses_and_keeps_backups(small):
    root, _ = small
    assert run_zoo("migrate", "--rewrite-history", cwd=root).returncode == 0
    # Back to the old history, whose backups are still there: a second rewrite refuses.
    git("reset", "-q", "--hard", "refs/zoo-vcs/backup/heads/main", cwd=root)
    before = state(root)
    r = run_zoo("migrate", "--rewrite-history", cwd=root)
    assert r.returncode == 2
    assert "refs/zoo-vcs/backup/heads/main: a backup of an earlier migration" in r.stderr
    assert "git update-ref -d refs/zoo-vcs/backup/heads/main" in r.stderr
    assert state(root) == before

    git("checkout", "-q", "--detach", cwd=root)
    r = run_zoo("migrate", "--rewrite-history", cwd=root)
    assert r.returncode == 2
    assert "HEAD is detached" in r.stderr


def test_a_failed_rewrite_puts_everything_back(small):
    """A failure in the middle of the rewrite (here: raised inside git-filter-repo's commit
    callback, once the backups exist and HEAD's binaries left the index) leaves the refs,
    the index and the work tree as they were, and no backup refs."""
    root, versions = small
    before = state(root)
    repo = Repository.open(root)
    planned = plan(repo, history=True)
    select = selector(repo)
    seen: list[str] = []

    def select_then_fail(path: str) -> bool:
        seen.append(path)
        if seen.count(WEIGHTS) >= 2:
            raise UsageError("disk on fire")
        return select(path)

    with pytest.raises(UsageError, match="disk on fire"):
        migrate_history.rewrite(repo, planned, select_then_fail)
    assert state(root) == before
    assert (root / WEIGHTS).read_bytes() == versions[2]
    assert "zoo-vcs/backup" not in git("for-each-ref", cwd=root)


def test_rewrite_with_other_worktrees_is_refused(small, tmp_path):
    root, _ = small
    git("worktree", "add", "-q", str(tmp_path / "other"), "-b", "other", cwd=root)
    r = run_zoo("migrate", "--rewrite-history", cwd=root)
    assert r.returncode == 2
    assert "other worktrees" in r.stderr
