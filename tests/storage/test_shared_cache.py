"""``[cache] shared = group``: a cache every member of a Unix group can use. Folders are
group-writable and setgid, objects read-only for all, lock and partial files
group-writable, whatever the umask; checked after add, fetch and two concurrent pulls,
and, as root, with two real users of one group fetching through the same cache."""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tests.conftest import PY, ZOO_VCS, git, make_weights, run_zoo
from zoo_vcs.storage.cache import ObjectCache
from zoo_vcs.storage.fileio import locked, open_lock_file

SHARED = "[cache]\nshared = group\n"
SITE = sysconfig.get_paths()["purelib"]


def _modes(cache: Path) -> dict[str, set[str]]:
    """Each kind of entry under ``cache`` -> the modes found (octal strings)."""
    found: dict[str, set[str]] = {}
    for path in [cache, *cache.rglob("*")]:
        st = path.lstat()
        if stat.S_ISDIR(st.st_mode):
            kind = "dir"
        elif path.parent.name == "partial":
            kind = "partial"
        elif path.parent.name == "repos":
            kind = "registration"
        elif path.parent.parent.name == "sha1":
            kind = "object"
        else:
            kind = str(path.relative_to(cache))
        found.setdefault(kind, set()).add(oct(stat.S_IMODE(st.st_mode)))
    return found


def _assert_shared(cache: Path) -> None:
    modes = _modes(cache)
    assert modes["dir"] == {"0o2775"}, modes
    assert modes.get("object", {"0o444"}) == {"0o444"}, modes
    assert modes.get("partial", {"0o664"}) == {"0o664"}, modes
    assert all(int(m, 8) & 0o040 for m in modes.get("registration", set())), modes


def _repo(tmp_path: Path, n: int = 3) -> tuple[Path, dict[str, bytes]]:
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    (repo / ".zoo").mkdir()
    (repo / ".zoo" / "config").write_text(SHARED)
    blobs = {f"m/w{i}.caffemodel": make_weights(repo / f"m/w{i}.caffemodel", 20_000 + i, seed=i)
             for i in range(n)}
    return repo, blobs


def _zoo(*args: str, cwd: Path, umask: int, env: dict[str, str] | None = None,
         command: Sequence[str] = (ZOO_VCS,), **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, umask=umask, check=False,
                          timeout=120, **kw)  # type: ignore[call-overload]


def test_shared_cache_modes_after_add_fetch_and_concurrent_pulls(tmp_path):
    repo, blobs = _repo(tmp_path)
    cache = repo / ".git" / "zoo-vcs" / "cache"
    r = _zoo("add", *blobs, cwd=repo, umask=0o022)
    assert r.returncode == 0, r.stderr
    _assert_shared(cache)
    lock = repo / ".git" / "zoo-vcs" / "add.lock"
    assert stat.S_IMODE(lock.stat().st_mode) == 0o664, "the lock file is the group's too"

    store = tmp_path / "store"
    assert run_zoo("remote", "add", "store", str(store), "-d", cwd=repo).returncode == 0
    assert run_zoo("push", cwd=repo).returncode == 0
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "weights", cwd=repo)

    # fetch into an emptied cache, under a strict umask: the modes do not depend on it
    shutil.rmtree(cache)
    r = _zoo("fetch", cwd=repo, umask=0o077)
    assert r.returncode == 0, r.stderr
    _assert_shared(cache)

    # two clones pull at once through one shared cache
    shared = tmp_path / "shared-cache"
    clones = []
    for name in ("one", "two"):
        clone = tmp_path / name
        git("clone", "-q", str(repo), str(clone), cwd=tmp_path)
        clones.append(clone)
    env = {**os.environ, "ZOO_VCS_CACHE_DIR": str(shared)}
    procs = [subprocess.Popen([ZOO_VCS, "pull"], cwd=c, env=env, umask=mask,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for c, mask in zip(clones, (0o022, 0o077), strict=True)]
    for p in procs:
        _out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    for clone in clones:
        for name, data in blobs.items():
            assert (clone / name).read_bytes() == data
    _assert_shared(shared)
    objects = {p.parent.name + p.name for p in (shared / "sha1").glob("*/*")}
    assert objects == {hashlib.sha1(d).hexdigest() for d in blobs.values()}
    assert len(list((shared / "repos").iterdir())) == 2


def test_partial_and_lock_files_are_group_writable_whatever_the_umask(tmp_path):
    cache = ObjectCache(tmp_path / "cache", shared=True)
    old = os.umask(0o077)
    try:
        with cache.partial("ab" * 20) as part:
            assert part is not None
            assert stat.S_IMODE(os.fstat(part.fileno()).st_mode) == 0o664
        with locked(tmp_path / "locks" / "x.lock", shared=True):
            assert stat.S_IMODE((tmp_path / "locks" / "x.lock").stat().st_mode) == 0o664
    finally:
        os.umask(old)
    _assert_shared(tmp_path / "cache")
    assert stat.S_IMODE((tmp_path / "locks").stat().st_mode) == 0o2775


def test_unshared_cache_keeps_the_umask(tmp_path):
    repo, blobs = _repo(tmp_path, n=1)
    (repo / ".zoo" / "config").write_text("")
    r = _zoo("add", *blobs, cwd=repo, umask=0o022)
    assert r.returncode == 0, r.stderr
    modes = _modes(repo / ".git" / "zoo-vcs" / "cache")
    assert modes["dir"] == {"0o755"}
    assert modes["object"] == {"0o444"}


def test_bad_shared_value_is_a_config_error(tmp_path):
    repo, _ = _repo(tmp_path, n=0)
    (repo / ".zoo" / "config").write_text("[cache]\nshared = everyone\n")
    r = run_zoo("status", cwd=repo)
    assert r.returncode == 2
    assert "[cache] shared must be 'group'" in r.stderr


# --------------------------------------------------------------------------- two users


@pytest.fixture
def group_users() -> Iterator[tuple[str, list[tuple[int, int]]]]:
    """A new group with two new users in it: (group name, [(uid, gid)...])."""
    if os.geteuid() != 0 or not shutil.which("useradd"):
        pytest.skip("creating users needs root and useradd")
    tag = uuid.uuid4().hex[:6]
    group, users = f"zoog{tag}", [f"zooa{tag}", f"zoob{tag}"]
    made: list[list[str]] = []
    try:
        for cmd in (["groupadd", group],
                    *(["useradd", "-M", "-N", "-g", group, "-s", "/bin/sh", u] for u in users)):
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                pytest.skip(f"cannot create users: {' '.join(cmd)}: {proc.stderr.strip()}")
            made.append(cmd)
        gid = grp.getgrnam(group).gr_gid
        yield group, [(pwd.getpwnam(u).pw_uid, gid) for u in users]
    finally:
        for cmd in reversed(made):
            undo = ["groupdel", cmd[1]] if cmd[0] == "groupadd" else ["userdel", cmd[-1]]
            subprocess.run(undo, capture_output=True, check=False)


def _python_for(uid: int, gid: int) -> list[str]:
    """A Python that user ``uid`` can run, with this environment's packages: this one, or
    (when it lives under a private home, as pyenv's under /root) the system's Python of the
    same version with this environment's site-packages added."""
    candidates = [[PY]]
    system = shutil.which(f"python{sys.version_info.major}.{sys.version_info.minor}",
                          path="/usr/bin:/usr/local/bin")
    if system:
        candidates.append([system])
    boot = (f"import site, sys; site.addsitedir({SITE!r}); "
            "sys.argv[0] = 'zoo-vcs'; from zoo_vcs.cli import main; main()")
    for python in candidates:
        try:
            proc = subprocess.run([*python, "-c", boot, "--version"], capture_output=True,
                                  user=uid, group=gid, check=False, timeout=60)
        except PermissionError:
            continue
        if proc.returncode == 0:
            return [*python, "-c", boot]
    pytest.skip("no Python interpreter with zoo-vcs installed is executable by other users")


def test_two_users_of_one_group_fetch_through_one_cache(tmp_path, group_users):
    _group, users = group_users
    gid = users[0][1]
    zoo = _python_for(*users[0])
    # Outside pytest's private temp folder, which other users cannot enter.
    base = Path(tempfile.mkdtemp(prefix="zoo-shared-"))
    try:
        os.chmod(base, 0o2775)
        os.chown(base, 0, gid)
        (base / "o").mkdir()
        origin, blobs = _repo(base / "o")
        store = base / "store"
        assert run_zoo("remote", "add", "store", str(store), "-d", cwd=origin).returncode == 0
        assert run_zoo("add", *blobs, cwd=origin).returncode == 0
        assert run_zoo("push", cwd=origin).returncode == 0
        git("add", "-A", cwd=origin)
        git("commit", "-q", "-m", "weights", cwd=origin)
        cache = base / "cache"
        last_data = list(blobs.values())[-1]
        sha1 = hashlib.sha1(last_data).hexdigest()
        results = []
        for i, (uid, _gid) in enumerate(users):
            home = base / f"home{i}"
            git("clone", "-q", str(origin), str(home / "repo"), cwd=base)
            subprocess.run(["chown", "-R", f"{uid}:{gid}", str(home)], check=True)
            env = {"HOME": str(home), "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
                   "ZOO_VCS_CACHE_DIR": str(cache)}
            as_user = {"user": uid, "group": gid, "extra_groups": [gid], "env": env}
            if i == 0:
                # user 0 fetches one object and leaves half of another as a partial download
                results.append(_zoo("fetch", next(iter(blobs)), cwd=home / "repo",
                                    umask=0o022, command=zoo, **as_user))
                script = (f"import site, sys; site.addsitedir({SITE!r})\n"
                          "from zoo_vcs.storage.cache import ObjectCache\n"
                          "with ObjectCache(sys.argv[1], shared=True).partial(sys.argv[2]) as f:"
                          "\n    f.write(sys.stdin.buffer.read())")
                half = subprocess.run(
                    [zoo[0], "-c", script, str(cache), sha1],
                    input=last_data[: len(last_data) // 2], capture_output=True, umask=0o077,
                    check=False, **as_user)  # type: ignore[call-overload]
                assert half.returncode == 0, half.stderr
                assert (cache / "partial" / sha1).stat().st_uid == uid
            else:
                # user 1 fetches the rest, taking over user 0's partial
                results.append(_zoo("fetch", cwd=home / "repo", umask=0o022, command=zoo,
                                    **as_user))
            assert results[-1].returncode == 0, results[-1].stderr
            r = _zoo("checkout", *([next(iter(blobs))] if i == 0 else []), cwd=home / "repo",
                     umask=0o022, command=zoo, **as_user)
            assert r.returncode == 0, r.stderr
            assert (home / "repo" / next(iter(blobs))).read_bytes() == blobs[next(iter(blobs))]
        assert "1 fetched" in results[0].stdout
        assert f"{len(blobs) - 1} fetched, 1 already in the cache" in results[1].stdout
        for name, data in blobs.items():
            assert (base / "home1" / "repo" / name).read_bytes() == data
        _assert_shared(cache)
        objects = {p.parent.name + p.name: p.stat() for p in (cache / "sha1").glob("*/*")}
        assert {st.st_uid for st in objects.values()} == {uid for uid, _ in users}
        assert objects[sha1].st_uid == users[1][0], "the taker's own read-only copy"
        assert not (cache / "partial" / sha1).exists()
        assert {p.stat().st_gid for p in cache.rglob("*")} == {gid}, "setgid folders"
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_a_partial_opened_while_it_is_committed_stays_read_only(tmp_path):
    """Two pulls of one object: the second opens the partial file just as the first makes
    it a read-only object. Only the file's creator sets its mode, so the object stays
    read-only (the second used to make it group-writable again through its handle)."""
    partial = tmp_path / "partial"
    first = open_lock_file(partial, shared=True)
    assert stat.S_IMODE(partial.stat().st_mode) == 0o664
    os.chmod(partial, 0o444)  # the first commits it: read-only, then renamed
    second = open_lock_file(partial, shared=True)
    obj = tmp_path / "object"
    os.replace(partial, obj)
    first.close()
    second.close()
    assert stat.S_IMODE(obj.stat().st_mode) == 0o444
