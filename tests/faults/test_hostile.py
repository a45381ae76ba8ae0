"""Hostile input, through the installed console script: readmes and pointers that try to
write outside the model folder or into ``.git``, symlinks leading outside, YAML with Python
tags or alias bombs, oversized readmes, malformed pointers, gists whose files would escape,
and a full disk. Each is refused with a clear error (no traceback) and nothing is written
outside the folder."""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import resource
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import (
    ZOO_VCS,
    Result,
    git,
    make_weights,
    run_zoo,
    temp_leftovers,
    write_readme,
)
from tests.servers.gist import GistEmulator
from tests.servers.http import LoopbackHTTPServer
from zoo_vcs.formats import pointer as ptr


def _data(seed: int = 1, size: int = 4096) -> tuple[bytes, str]:
    data = random.Random(seed).randbytes(size)
    return data, hashlib.sha1(data).hexdigest()


def _repo(tmp_path: Path) -> tuple[Path, Path]:
    """A git repository with an empty model folder ``m``; also a sibling ``outside`` folder."""
    repo = tmp_path / "repo"
    (repo / "m").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    git("init", "-q", cwd=repo)
    return repo, repo / "m"


def _no_crash(r: Result) -> None:
    assert "Traceback" not in r.output, r.output
    assert "internal error" not in r.output, r.output


def _snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every entry under ``folder`` (symlinks by target) to compare before/after."""
    out: dict[str, bytes | str] = {}
    for p in sorted(folder.rglob("*")):
        key = str(p.relative_to(folder))
        if p.is_symlink():
            out[key] = "-> " + os.readlink(p)
        elif p.is_file():
            out[key] = p.read_bytes()
        else:
            out[key] = "dir"
    return out


# --------------------------------------------------------------------------- readme paths

ESCAPES = {
    "dotdot": "../escaped.caffemodel",
    "absolute": "{outside}/abs.caffemodel",
    "home": "~/home.caffemodel",
    "git-hook": ".git/hooks/post-checkout",
    "git-upper": ".GIT/config",
}


def _hostile_readme(tmp_path: Path, server: LoopbackHTTPServer, key: str) -> tuple[Path, Path]:
    repo, model = _repo(tmp_path)
    data, sha1 = _data()
    url = server.add("/w/evil.caffemodel", data)
    name = ESCAPES[key].format(outside=tmp_path / "outside")
    write_readme(model, name="Evil", caffemodel=name, caffemodel_url=url, sha1=sha1)
    return repo, model


@pytest.mark.parametrize("command", ["checkout", "download-binary"])
@pytest.mark.parametrize("key", list(ESCAPES))
def test_readme_caffemodel_outside_the_folder_is_refused(tmp_path, http_server, key, command):
    repo, model = _hostile_readme(tmp_path, http_server, key)
    git_before = _snapshot(repo / ".git")
    outside_before = _snapshot(tmp_path)
    args = [command] + (["m"] if command == "download-binary" else [])
    r = run_zoo(*args, cwd=repo)
    _no_crash(r)
    assert r.returncode == 1, "an unusable readme entry is an error, not a warning"
    assert http_server.requests == [], "nothing was downloaded"
    assert "readme.md" in r.stderr or str(model) in r.stderr
    assert any(w in r.stderr for w in ("escapes", "absolute", ".git", "outside")), r.stderr
    assert _snapshot(repo / ".git") == git_before
    assert _snapshot(tmp_path) == outside_before
    assert not Path(os.environ["HOME"], "home.caffemodel").exists()


# --------------------------------------------------------------------------- pointer names


@pytest.mark.parametrize("pointer_name", ["m/.git.zoo", "m/.GIT.zoo", ".git.zoo", "m/...zoo",
                                          "m/..zoo"])
def test_pointer_whose_binary_would_be_git_or_dot_is_refused(tmp_path, http_server,
                                                             pointer_name):
    repo, model = _repo(tmp_path)
    data = b"gitdir: ../../outside/evil-gitdir\n"
    url = http_server.add("/w/gitfile", data)
    p = ptr.Pointer(hashlib.sha1(data).hexdigest(), size=len(data), urls=(url,))
    (repo / pointer_name).write_text(ptr.encode(p))
    head = (repo / ".git" / "HEAD").read_bytes()
    r = run_zoo("checkout", cwd=repo)
    _no_crash(r)
    assert r.returncode == 1, r.output
    assert pointer_name.rsplit("/", 1)[-1] in r.stderr
    assert (repo / ".git").is_dir()
    assert (repo / ".git" / "HEAD").read_bytes() == head
    assert not [p.name for p in model.iterdir() if p.name.lower() == ".git"]
    assert git("status", "--porcelain", cwd=repo) is not None  # git still works


# --------------------------------------------------------------------------- symlinks


def test_checkout_never_writes_through_a_symlinked_subfolder(tmp_path, http_server):
    """Legacy readme naming ``sub/w.caffemodel`` where ``sub`` leads outside; and a pointer
    inside a symlinked folder: neither download lands outside the repository."""
    repo, model = _repo(tmp_path)
    outside = tmp_path / "outside"
    data, sha1 = _data(2)
    url = http_server.add("/w/w.caffemodel", data)
    (model / "sub").symlink_to(outside)
    write_readme(model, name="Linked", caffemodel="sub/w.caffemodel", caffemodel_url=url,
                 sha1=sha1)
    # A pointer that is only reachable through a symlinked folder of the repository.
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "x.bin.zoo").write_text(ptr.encode(ptr.Pointer(sha1, size=len(data), urls=(url,))))
    (repo / "linked").symlink_to(other)
    before = _snapshot(tmp_path / "outside"), _snapshot(other)
    for args in (["checkout"], ["download-binary", "m"], ["pull"]):
        r = run_zoo(*args, cwd=repo)
        _no_crash(r)
        assert "symlink" in r.stderr, r.stderr
        assert (_snapshot(tmp_path / "outside"), _snapshot(other)) == before
    assert http_server.requests == []


@pytest.mark.parametrize("force", [False, True])
def test_checkout_replaces_a_symlinked_binary_never_its_target(tmp_path, http_server, force):
    repo, model = _repo(tmp_path)
    victim = tmp_path / "outside" / "victim.txt"
    victim.write_text("precious\n")
    data, sha1 = _data(3)
    url = http_server.add("/w/w.bin", data)
    (model / "w.bin.zoo").write_text(ptr.encode(ptr.Pointer(sha1, size=len(data), urls=(url,))))
    (model / "w.bin").symlink_to(victim)
    r = run_zoo("checkout", *(["--force"] if force else []), cwd=repo)
    _no_crash(r)
    assert victim.read_text() == "precious\n"
    if force:
        assert r.returncode == 0, r.output
        assert not (model / "w.bin").is_symlink()
        assert (model / "w.bin").read_bytes() == data
    else:
        assert r.returncode == 1
        assert "w.bin" in r.stderr
        assert (model / "w.bin").is_symlink()


def test_binary_symlinked_to_a_device_does_not_hang(tmp_path, http_server):
    repo, model = _repo(tmp_path)
    data, sha1 = _data(9)
    url = http_server.add("/w/w.bin", data)
    (model / "w.bin.zoo").write_text(ptr.encode(ptr.Pointer(sha1, size=len(data), urls=(url,))))
    (model / "w.bin").symlink_to("/dev/zero")  # git stores symlinks: a hostile repo can
    # A read of /dev/zero never ends: a generous timeout still tells "does not hang" apart.
    for args in (["status"], ["verify"], ["checkout"]):
        r = run_zoo(*args, cwd=repo, timeout=60)
        _no_crash(r)
        assert r.returncode == 1, (args, r.output)
        assert "w.bin" in r.stderr
    r = run_zoo("checkout", "--force", cwd=repo, timeout=60)
    assert r.returncode == 0, r.output
    assert not (model / "w.bin").is_symlink()
    assert (model / "w.bin").read_bytes() == data


def test_pointer_whose_binary_is_a_directory_is_an_error_not_a_crash(tmp_path, http_server):
    repo, model = _repo(tmp_path)
    data, sha1 = _data(10)
    url = http_server.add("/w/sub", data)
    (model / "sub").mkdir()
    (model / "sub" / "keep.txt").write_text("mine\n")
    (model / "sub.zoo").write_text(ptr.encode(ptr.Pointer(sha1, size=len(data), urls=(url,))))
    for args in (["status"], ["verify"], ["checkout"], ["checkout", "--force"]):
        r = run_zoo(*args, cwd=repo)
        _no_crash(r)
        assert r.returncode == 1, (args, r.output)
        assert "sub" in r.stderr
    assert (model / "sub" / "keep.txt").read_text() == "mine\n"


def _gist_model(tmp_path: Path) -> tuple[Path, Path, Path]:
    repo, model = _repo(tmp_path)
    write_readme(model, name="Gist Net", license="BSD")
    (model / "deploy.prototxt").write_text('name: "Net"\n')
    secret = tmp_path / "outside" / "id_rsa"
    secret.write_text("-----BEGIN TOP SECRET KEY-----\n")
    return repo, model, secret


@pytest.mark.parametrize("link", ["notes.txt", "readme.md", "data"])
def test_gist_push_refuses_symlinks_and_sends_nothing(tmp_path, gist_server, gist_env, link):
    _, model, secret = _gist_model(tmp_path)
    if link == "readme.md":
        (tmp_path / "outside" / "readme.md").write_text("---\nname: SECRET readme\n---\n")
        (model / "readme.md").unlink()
        (model / "readme.md").symlink_to(tmp_path / "outside" / "readme.md")
    elif link == "data":
        (model / "data").symlink_to(secret.parent)
    else:
        (model / link).symlink_to(secret)
    r = run_zoo("gist", "push", model, cwd=tmp_path, env=gist_env)
    _no_crash(r)
    assert r.returncode == 1
    assert f"{link}: symlink" in r.stderr
    sent = b"".join(q["body"] for q in gist_server.requests)
    assert b"SECRET" not in sent
    assert gist_server._all_gists() == []
    assert "gist_id" not in (model / "readme.md").read_text()


def test_pre_push_refuses_a_committed_symlink_in_a_gist_folder(tmp_path, gist_server, gist_env):
    repo, model, secret = _gist_model(tmp_path)
    r = run_zoo("gist", "push", model, cwd=tmp_path, env=gist_env)
    assert r.returncode == 0, r.output
    gist_id = next(ln.split(":", 1)[1].strip() for ln in (model / "readme.md").read_text()
                   .splitlines() if ln.startswith("gist_id:"))
    revisions = gist_server.revisions(gist_id)
    origin = tmp_path / "origin.git"
    git("init", "-q", "--bare", str(origin), cwd=tmp_path)
    git("remote", "add", "origin", str(origin), cwd=repo)
    assert run_zoo("install-hooks", cwd=repo).returncode == 0
    (model / "key.txt").symlink_to(secret)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "a link", cwd=repo)
    proc = subprocess.run(["git", "push", "-q", "origin", "main"], cwd=repo, capture_output=True,
                          text=True, check=False, env={**os.environ, **gist_env})
    assert proc.returncode != 0, "the push is stopped"
    assert "key.txt" in proc.stderr
    assert "symlink" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert gist_server.revisions(gist_id) == revisions
    assert b"SECRET" not in b"".join(q["body"] for q in gist_server.requests)


def test_gist_pull_never_writes_through_a_symlink_in_the_folder(tmp_path, gist_server,
                                                                gist_env):
    gist_id = gist_server.create({"readme.md": "---\nname: G\n---\n", "a.prototxt": "v1\n"})
    dest = tmp_path / "dest"
    r = run_zoo("gist", "pull", gist_id, dest, cwd=tmp_path, env=gist_env)
    assert r.returncode == 0, r.output
    victim = tmp_path / "victim.prototxt"
    victim.write_text("v1\n")  # same content: not a local edit, so the pull goes ahead
    (dest / "a.prototxt").unlink()
    (dest / "a.prototxt").symlink_to(victim)
    gist_server.commit(gist_id, {"a.prototxt": "v2 from the gist\n"})
    r = run_zoo("gist", "pull", gist_id, dest, cwd=tmp_path, env=gist_env)
    _no_crash(r)
    assert victim.read_text() == "v1\n"
    if r.returncode == 0:
        assert not (dest / "a.prototxt").is_symlink()
        assert (dest / "a.prototxt").read_text() == "v2 from the gist\n"


# --------------------------------------------------------------------------- gists


def _commit_raw_tree(emu: GistEmulator, gist_id: str, entries: list[tuple[str, str, bytes]]
                     ) -> None:
    """Commit a tree of (mode, name, content) straight into the gist's bare repository,
    as a hostile server could serve it (symlinks, odd modes)."""
    repo = emu.repo_path(gist_id)
    env = {**os.environ, "GIT_DIR": str(repo)}

    def run(*args: str, data: bytes | None = None) -> str:
        return subprocess.run(["git", *args], input=data, capture_output=True, check=True,
                              env=env).stdout.decode().strip()

    lines = []
    for mode, name, content in entries:
        sha = run("hash-object", "-w", "--stdin", data=content)
        lines.append(f"{mode} blob {sha}\t{name}\n")
    tree = run("mktree", data="".join(lines).encode())
    head = run("rev-parse", "refs/heads/master")
    commit = run("-c", "user.name=x", "-c", "user.email=x@x", "commit-tree", tree, "-p", head,
                 "-m", "hostile", data=b"")
    run("update-ref", "refs/heads/master", commit)


@pytest.mark.parametrize("bad", ["../x", ".git/config", ".gitattributes", ".gitmodules",
                                 "sub/a.txt", "symlink", "gitlink"])
def test_gist_whose_files_would_escape_is_refused(tmp_path, gist_server, gist_env, bad):
    """The git tree holds the hostile entry while the API lists only a harmless readme."""
    if bad == "symlink":
        gist_id = gist_server.create({"readme.md": "hi\n"})
        _commit_raw_tree(gist_server, gist_id, [("100644", "readme.md", b"hi\n"),
                                                ("120000", "a.prototxt", b"/etc/passwd")])
    elif bad == "gitlink":
        gist_id = gist_server.create({"readme.md": "hi\n"})
        _commit_raw_tree(gist_server, gist_id, [("100644", "readme.md", b"hi\n")])
        repo = gist_server.repo_path(gist_id)
        env = {**os.environ, "GIT_DIR": str(repo)}
        head = subprocess.run(["git", "rev-parse", "refs/heads/master"], capture_output=True,
                              text=True, env=env, check=True).stdout.strip()
        blob = subprocess.run(["git", "rev-parse", f"{head}:readme.md"], capture_output=True,
                              text=True, env=env, check=True).stdout.strip()
        tree = subprocess.run(["git", "mktree"], input=f"100644 blob {blob}\treadme.md\n"
                              f"160000 commit {head}\tsub\n", capture_output=True, text=True,
                              env=env, check=True).stdout.strip()
        commit = subprocess.run(["git", "-c", "user.name=x", "-c", "user.email=x@x",
                                 "commit-tree", tree, "-p", head, "-m", "gitlink"],
                                capture_output=True, text=True, env=env, check=True).stdout
        subprocess.run(["git", "update-ref", "refs/heads/master", commit.strip()], env=env,
                       check=True)
    else:
        gist_id = gist_server.create({"readme.md": "hi\n", bad: "[core]\n\tpwned = true\n"})
    gist_server.set_api_files_override(gist_id, {"readme.md": {"filename": "readme.md",
                                                               "size": 3, "content": "hi\n"}})
    # download-gist is the same code path under the Caffe script's name: one case suffices.
    for command in ["gist pull"] + (["download-gist"] if bad == "../x" else []):
        box = tmp_path / command.replace(" ", "-")
        box.mkdir()
        dest = box / "dest"
        r = run_zoo(*command.split(), gist_id, dest, cwd=tmp_path, env=gist_env)
        if command == "download-gist":  # DIRNAME: the folder it would make must not exist
            assert not (dest / gist_id).exists()
            assert not dest.exists() or sorted(p.name for p in dest.iterdir()) == []
        _no_crash(r)
        assert r.returncode == 1, r.output
        assert gist_id in r.stderr
        assert not dest.exists() or _snapshot(dest) == {}
        assert sorted(p.name for p in box.iterdir()) in ([], ["dest"])
        assert not (box / "x").exists()


# --------------------------------------------------------------------------- YAML


PY_TAGS = [
    '!!python/object/apply:os.system ["touch {marker}"]',
    "!!python/object/new:os.system [touch {marker}]",
    '!!python/name:os.system ""',
]


def test_python_tags_in_readme_and_pointers_never_run(tmp_path):
    repo, model = _repo(tmp_path)
    marker = tmp_path / "PWNED"
    tags = [t.format(marker=marker) for t in PY_TAGS]
    data = make_weights(model / "w.caffemodel", 5000)
    (model / "readme.md").write_text(f"---\nname: {tags[0]}\ncaffemodel: w.caffemodel\n"
                                     f"license: {tags[1]}\ncaffe_commit: {tags[2]}\n---\n\n"
                                     "# Tagged\n")
    pointers = []
    for i, tag in enumerate(tags):
        (model / f"v{i}.bin.zoo").write_text(f"zoo-vcs: 1\nsha1: {'a' * 40}\nnote: {tag}\n")
        (model / f"u{i}.bin.zoo").write_text(f"zoo-vcs: 1\nsha1: {'b' * 40}\nurls: {tag}\n")
        pointers += [f"v{i}.bin.zoo", f"u{i}.bin.zoo"]
    for args in (["status"], ["add", "m/w.caffemodel"], ["index", "build", "m"], ["verify"],
                 ["status", "--json"], ["checkout"]):
        r = run_zoo(*args, cwd=repo)
        _no_crash(r)
        assert not marker.exists(), f"{args}: a Python tag was executed"
    assert r.returncode == 1
    for name in pointers:
        assert name in r.stderr
    assert (model / "w.caffemodel").read_bytes() == data


def _bomb(levels: int = 9) -> str:
    """The "billion laughs": 9 levels of 9 aliases, ~387 million strings when expanded."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for name in "bcdefghijklmnop"[: levels - 1]:
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
        prev = name
    return "\n".join(lines) + "\n"


def _run_limited(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> Result:
    """zoo-vcs with 1.5 GiB of address space and 30 s: an expansion fails fast, not the host."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))

    proc = subprocess.run([ZOO_VCS, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=30, env={**os.environ, **(env or {})}, preexec_fn=limit,
                          check=False)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def test_alias_bomb_in_readme_and_pointer_is_not_expanded(tmp_path):
    repo, model = _repo(tmp_path)
    data = make_weights(model / "w.caffemodel", 5000)
    sha1 = hashlib.sha1(data).hexdigest()
    (model / "readme.md").write_text(f"---\nname: Bomb\ncaffemodel: w.caffemodel\nsha1: {sha1}\n"
                                     + _bomb() + "---\n\n# boom\n")
    (model / "w.caffemodel.zoo").write_text(
        f"zoo-vcs: 1\nsha1: {sha1}\nsize: {len(data)}\n" + _bomb())
    assert run_zoo("remote", "add", "store", str(tmp_path / "store"), "-d",
                   cwd=repo).returncode == 0
    for args in (["status", "--json"], ["checkout"], ["verify"], ["index", "build", "m", "--json"],
                 ["add", "m/w.caffemodel"], ["push"], ["gc", "--dry-run"]):
        t0 = time.monotonic()
        r = _run_limited(args, repo)
        _no_crash(r)
        assert "MemoryError" not in r.output
        assert time.monotonic() - t0 < 10, args
    assert (model / "w.caffemodel").read_bytes() == data


HOSTILE_READMES = {
    # name: (frontmatter lines after the known keys, the line named, words of the message)
    "python-tag": ("caffe_commit: !!python/object/apply:os.system [\"touch {marker}\"]\n",
                   6, "YAML tag '!!python/object/apply:os.system' is not allowed"),
    "tag-past-a-syntax-error": ("\tbad: indent\nlicense: !!python/name:os.system ''\n", 7,
                                "YAML tag '!!python/name:os.system'"),
    "alias-bomb": (_bomb(), 11, "alias bomb"),
    "conflict-markers": ("<<<<<<< HEAD\nlicense: mine\n=======\nlicense: theirs\n"
                         ">>>>>>> other\n", 6, "merge-conflict marker '<<<<<<<'"),
}


@pytest.mark.parametrize("command", ["checkout", "download-binary", "status", "add"])
@pytest.mark.parametrize("kind", list(HOSTILE_READMES))
def test_hostile_readme_is_an_error_naming_the_line(tmp_path, http_server, kind, command):
    """A tag, an alias bomb or an unresolved merge in a readme: exit 1 with the file and
    line, no request to the weights' URL, nothing written."""
    repo, model = _repo(tmp_path)
    marker = tmp_path / "PWNED"
    data, sha1 = _data(3)
    url = http_server.add("/w/net.caffemodel", data)
    extra, line, words = HOSTILE_READMES[kind]
    (model / "readme.md").write_text(
        f"---\nname: Hostile\ncaffemodel: net.caffemodel\ncaffemodel_url: {url}\n"
        f"sha1: {sha1}\n" + extra.format(marker=marker) + "---\n\n# Hostile\n")
    if command == "add":
        (model / "net.caffemodel").write_bytes(data)
    before = _snapshot(tmp_path)
    args = {"download-binary": ["download-binary", "m"], "add": ["add", "m/net.caffemodel"]}
    r = _run_limited(args.get(command, [command]), repo)
    _no_crash(r)
    assert r.returncode == 1, r.output
    assert f"readme.md:{line}: " in r.stderr, r.stderr
    assert words in r.stderr, r.stderr
    assert http_server.requests == [], "nothing was downloaded"
    assert _snapshot(tmp_path) == before, "no file was written"
    assert not marker.exists()


def test_pointer_with_shared_unknown_values_survives_a_rewrite(tmp_path):
    repo, model = _repo(tmp_path)
    data = make_weights(model / "w.bin", 3000)
    sha1 = hashlib.sha1(data).hexdigest()
    pointer_file = model / "w.bin.zoo"
    pointer_file.write_text(f"zoo-vcs: 1\nsha1: {sha1}\nsize: {len(data)}\n"
                            "base: &b [1, 2]\nleft: [*b, *b]\nright: [*b, *b]\n")
    assert run_zoo("remote", "add", "store", str(tmp_path / "store"), "-d",
                   cwd=repo).returncode == 0
    r = run_zoo("push", cwd=repo)
    assert r.returncode == 0, r.output
    p = ptr.decode(pointer_file.read_text(), str(pointer_file))
    assert p.extra == {"base": [1, 2], "left": [[1, 2], [1, 2]], "right": [[1, 2], [1, 2]]}
    assert run_zoo("status", cwd=repo).returncode == 0


def test_readme_over_4_mib_is_refused(tmp_path, gist_server, gist_env):
    repo, model = _repo(tmp_path)
    make_weights(model / "w.caffemodel", 2000)
    text = (f"---\nname: Huge\ncaffemodel: w.caffemodel\nsha1: {'c' * 40}\n---\n"
            + "All work and no play makes Jack a dull boy.\n" * 100_000)
    assert len(text) > 4 << 20
    (model / "readme.md").write_text(text)
    for args in (["status"], ["checkout"], ["download-binary", "m"]):
        r = run_zoo(*args, cwd=repo)
        _no_crash(r)
        assert r.returncode == 1, (args, r.output)
        assert "readme.md" in r.stderr
        assert "4 MiB" in r.stderr
    r = run_zoo("gist", "push", "m", cwd=repo, env=gist_env)
    _no_crash(r)
    assert r.returncode == 1
    assert "readme.md" in r.stderr
    assert "4 MiB" in r.stderr
    assert gist_server._all_gists() == []
    assert (model / "readme.md").read_text() == text


# --------------------------------------------------------------------------- pointers


def test_malformed_pointers_are_refused_naming_each(tmp_path, http_server):
    repo, model = _repo(tmp_path)
    data, sha1 = _data(5)
    url = http_server.add("/w/x.bin", data)
    cases = {  # pointer name: (content, what the message is about)
        "negative-size": (f"zoo-vcs: 1\nsha1: {sha1}\nsize: -1\nurls:\n- {url}\n", "size"),
        "absurd-size": (f"zoo-vcs: 1\nsha1: {sha1}\nsize: {1 << 70}\nurls:\n- {url}\n", "size"),
        "bool-size": (f"zoo-vcs: 1\nsha1: {sha1}\nsize: yes\nurls:\n- {url}\n", "size"),
        "non-hex-sha1": (f"zoo-vcs: 1\nsha1: {'g' * 40}\nurls:\n- {url}\n", "sha1"),
        "short-sha1": (f"zoo-vcs: 1\nsha1: {sha1[:39]}\nurls:\n- {url}\n", "sha1"),
        "sha1-list": (f"zoo-vcs: 1\nsha1: [{sha1}]\nurls:\n- {url}\n", "sha1"),
        "version-2": (f"zoo-vcs: 2\nsha1: {sha1}\nurls:\n- {url}\n", "version"),
        "not-a-mapping": (f"- zoo-vcs: 1\n- sha1: {sha1}\n", "mapping"),
        "binary-garbage": ("zoo-vcs: 1\nsha1: \xff\xfe\x00", "UTF-8"),
    }
    for name, (text, _) in cases.items():
        (model / f"{name}.bin.zoo").write_bytes(text.encode("latin-1"))
    for args in (["checkout"], ["status"], ["verify"]):
        r = run_zoo(*args, cwd=repo)
        _no_crash(r)
        assert r.returncode == 1, (args, r.output)
        for name, (_, about) in cases.items():
            lines = [ln for ln in r.stderr.splitlines() if f"{name}.bin.zoo" in ln]
            assert any(about.lower() in ln.lower() for ln in lines), (args, name, r.stderr)
    for name in ("negative-size", "binary-garbage"):
        r = run_zoo("checkout", f"m/{name}.bin", cwd=repo)
        _no_crash(r)
        assert r.returncode == 1, r.output
        assert f"{name}.bin.zoo" in r.stderr
    assert sorted(p.name for p in model.iterdir()) == sorted(f"{n}.bin.zoo" for n in cases)
    assert http_server.requests == []


def test_pointer_with_a_bad_explicit_tag_is_refused_naming_it(tmp_path):
    repo, model = _repo(tmp_path)
    (model / "x.bin.zoo").write_text(f"zoo-vcs: 1\nsha1: {'a' * 40}\nsize: !!int 12z\n")
    r = run_zoo("checkout", cwd=repo)
    _no_crash(r)
    assert r.returncode == 1
    assert "x.bin.zoo" in r.stderr


def test_absurd_but_valid_size_fails_the_transfer_cleanly(tmp_path, http_server):
    repo, model = _repo(tmp_path)
    data, sha1 = _data(6)
    url = http_server.add("/w/x.bin", data)
    (model / "x.bin.zoo").write_text(ptr.encode(ptr.Pointer(sha1, size=ptr.MAX_OBJECT_SIZE,
                                                            urls=(url,))))
    r = run_zoo("checkout", cwd=repo, env={"ZOO_VCS_RETRIES": "0"})
    _no_crash(r)
    assert r.returncode == 1
    assert any("x.bin" in ln and url in ln for ln in r.stderr.splitlines()), r.stderr
    assert not (model / "x.bin").exists()
    assert temp_leftovers(repo) == []


@pytest.mark.parametrize("url", ["gopher://127.0.0.1:9/w.bin", "nosuchproto://host/w.bin",
                                 "javascript:alert(1)"])
def test_unknown_protocol_url_is_refused_naming_it(tmp_path, url):
    repo, model = _repo(tmp_path)
    sha1 = _data(7)[1]
    (model / "x.bin.zoo").write_text(ptr.encode(ptr.Pointer(sha1, size=4096, urls=(url,))))
    r = run_zoo("checkout", cwd=repo)
    _no_crash(r)
    assert r.returncode == 1
    assert any("x.bin" in ln and url in ln for ln in r.stderr.splitlines()), r.stderr
    assert not (model / "x.bin").exists()
    assert sorted(p.name for p in model.iterdir()) == ["x.bin.zoo"]


def test_pointer_that_is_a_directory_or_a_symlink(tmp_path, http_server):
    repo, model = _repo(tmp_path)
    data, sha1 = _data(8)
    url = http_server.add("/w/x.bin", data)
    text = ptr.encode(ptr.Pointer(sha1, size=len(data), urls=(url,)))
    (model / "d.bin.zoo").mkdir()
    outside_pointer = tmp_path / "outside" / "l.bin.zoo"
    outside_pointer.write_text(text)
    (model / "l.bin.zoo").symlink_to(outside_pointer)
    r = run_zoo("checkout", cwd=repo)
    _no_crash(r)
    assert r.returncode == 1
    assert "l.bin.zoo" in r.stderr
    assert "symlink" in r.stderr
    for args in (["checkout", "m/d.bin"], ["checkout", "m/l.bin"], ["status", "m/d.bin"]):
        r = run_zoo(*args, cwd=repo)
        _no_crash(r)
        assert r.returncode != 0, (args, r.output)
    assert sorted(p.name for p in model.iterdir()) == ["d.bin.zoo", "l.bin.zoo"]
    assert _snapshot(tmp_path / "outside") == {"l.bin.zoo": text.encode()}
    assert http_server.requests == []


# --------------------------------------------------------------------------- disk full


@contextlib.contextmanager
def _tmpfs(where: Path, size: str = "8m") -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a size-limited tmpfs here: {proc.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


BIG = 20 << 20


def _big_repo(tmp_path: Path, server: LoopbackHTTPServer) -> tuple[Path, Path, bytes]:
    repo, model = _repo(tmp_path)
    data = random.Random(11).randbytes(BIG)
    url = server.add("/w/big.caffemodel", data)
    p = ptr.Pointer(hashlib.sha1(data).hexdigest(), size=BIG, urls=(url,))
    (model / "big.caffemodel.zoo").write_text(ptr.encode(p))
    return repo, model, data


def _objects(cache: Path) -> list[Path]:
    return list((cache / "sha1").glob("*/*")) if (cache / "sha1").is_dir() else []


def test_disk_full_in_the_cache_during_checkout(tmp_path, http_server):
    repo, model, _ = _big_repo(tmp_path, http_server)
    with _tmpfs(tmp_path / "small") as small:
        cache = small / "cache"
        r = run_zoo("checkout", cwd=repo, env={"ZOO_VCS_CACHE_DIR": str(cache),
                                               "ZOO_VCS_RETRIES": "0"})
        _no_crash(r)
        assert r.returncode == 1
        assert any("big.caffemodel" in ln and "No space left" in ln
                   for ln in r.stderr.splitlines()), r.stderr
        assert _objects(cache) == [], "no partial object under a final name"
        assert not (model / "big.caffemodel").exists()
        assert temp_leftovers(repo) == []


def test_disk_full_in_the_model_folder_during_checkout(tmp_path, http_server):
    repo, model, data = _big_repo(tmp_path, http_server)
    pointer_text = (model / "big.caffemodel.zoo").read_bytes()
    (model / "big.caffemodel.zoo").unlink()
    with _tmpfs(model):  # the model folder itself is the small file system
        (model / "big.caffemodel.zoo").write_bytes(pointer_text)
        r = run_zoo("checkout", cwd=repo)
        _no_crash(r)
        assert r.returncode == 1
        assert any("big.caffemodel" in ln and "No space left" in ln
                   for ln in r.stderr.splitlines()), r.stderr
        assert sorted(p.name for p in model.iterdir()) == ["big.caffemodel.zoo"]
        # The object itself made it into the (roomy) cache, verified.
        (obj,) = _objects(repo / ".git" / "zoo-vcs" / "cache")
        assert hashlib.sha1(obj.read_bytes()).hexdigest() == hashlib.sha1(data).hexdigest()


def test_disk_full_in_the_cache_during_add(tmp_path):
    repo, model = _repo(tmp_path)
    make_weights(model / "big.caffemodel", BIG)
    with _tmpfs(tmp_path / "small") as small:
        cache = small / "cache"
        r = run_zoo("add", "m/big.caffemodel", cwd=repo, env={"ZOO_VCS_CACHE_DIR": str(cache)})
        assert not (model / "big.caffemodel.zoo").exists()
        assert _objects(cache) == []
        assert not list((cache / "tmp").iterdir()) if (cache / "tmp").is_dir() else True
        _no_crash(r)
        assert r.returncode == 1
        assert any("big.caffemodel" in ln and "No space left" in ln
                   for ln in r.stderr.splitlines()), r.stderr


def test_disk_full_in_a_folder_remote_during_push(tmp_path):
    repo, model = _repo(tmp_path)
    make_weights(model / "big.caffemodel", BIG)
    assert run_zoo("add", "m/big.caffemodel", cwd=repo).returncode == 0
    pointer = (model / "big.caffemodel.zoo").read_bytes()
    with _tmpfs(tmp_path / "small") as small:
        store = small / "store"
        assert run_zoo("remote", "add", "store", str(store), "-d", cwd=repo).returncode == 0
        r = run_zoo("push", cwd=repo)
        _no_crash(r)
        assert r.returncode == 1
        assert any(str(store) in ln and "No space left" in ln for ln in r.stderr.splitlines())
        assert [p for p in store.rglob("*") if p.is_file()] == [], "no partial object, no temp"
        assert (model / "big.caffemodel.zoo").read_bytes() == pointer, "no URL of a failed push"
