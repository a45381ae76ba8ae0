"""Secrets never leak: with a known GitHub token and recognisable fake AWS keys in the
environment, run every command and hook path (gist push/pull/status, the Caffe-named
aliases, S3 push/pull, a real ``git push`` through the pre-push hook, --debug and -v -v,
failing paths) and search every output and every file zoo-vcs or git could have written
(the repositories including ``.git/``, the cache, HOME, the temp folder, the gist server's
repositories, the S3 bucket) for the secrets, in plain and encoded forms."""

from __future__ import annotations

import base64
import os
import subprocess
import urllib.parse
import uuid
from pathlib import Path

from tests.conftest import TOKEN, Result, git, make_weights, run_zoo, write_readme

AWS_SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIAZOOFAKEKEYID7Q3X",
    "AWS_SECRET_ACCESS_KEY": "zooFakeSecret/Key+9f8e7d6c5b4a3928170654",
    "AWS_SESSION_TOKEN": "zooFakeSessionToken0123456789abcdefXYZ",
}


def _forms(secret: str) -> list[bytes]:
    """A secret as it could appear on disk or in output: plain, URL-quoted, base64 (alone
    and in git's extraHeader form)."""
    forms = {secret, urllib.parse.quote(secret, safe=""),
             base64.b64encode(secret.encode()).decode(),
             base64.b64encode(f"x-access-token:{secret}".encode()).decode()}
    return [f.encode() for f in forms]


NEEDLES = {name: _forms(value) for name, value in
           {"GITHUB_TOKEN": TOKEN, **AWS_SECRETS}.items()}


def _leaks(blob: bytes) -> list[str]:
    return [name for name, forms in NEEDLES.items() if any(f in blob for f in forms)]


def _scan_tree(root: Path) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                leaked = _leaks(path.read_bytes())
            except OSError:
                continue
            if leaked:
                found.append(f"{path}: {leaked}")
    return found


def _scan_git_objects(git_dir: Path) -> list[str]:
    """Every object of a repository, decompressed (a plain byte search of ``.git`` cannot see
    inside zlib-compressed objects and packs)."""
    proc = subprocess.run(["git", "--git-dir", str(git_dir), "cat-file", "--batch-all-objects",
                           "--batch"], capture_output=True, check=True)
    leaked = _leaks(proc.stdout)
    return [f"{git_dir} (git objects): {leaked}"] if leaked else []


class Runner:
    """Runs zoo-vcs and git with the secrets in the environment, keeping every output."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.outputs: list[tuple[str, str]] = []

    def zoo(self, *args: str | os.PathLike[str], cwd: Path, ok: bool = True,
            env: dict[str, str] | None = None) -> Result:
        r = run_zoo(*args, cwd=cwd, env={**self.env, **(env or {})})
        self.outputs.append((" ".join(map(str, args)), r.output))
        if ok:
            assert r.returncode == 0, (args, r.output)
        return r

    def git(self, *args: str, cwd: Path, ok: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              check=False, env={**os.environ, **self.env})
        self.outputs.append(("git " + " ".join(args), proc.stdout + proc.stderr))
        if ok:
            assert proc.returncode == 0, (args, proc.stderr)
        return proc


def _gist_id(model: Path) -> str:
    return next(ln.split(":", 1)[1].strip() for ln in (model / "readme.md").read_text()
                .splitlines() if ln.startswith("gist_id:"))


def test_no_command_or_hook_leaks_a_secret(tmp_path, gist_server, gist_env, s3_server):
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {**gist_env, **AWS_SECRETS, "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
           "AWS_MAX_ATTEMPTS": "1", "TMPDIR": str(tmpdir)}
    run = Runner(env)

    origin = tmp_path / "origin.git"
    git("init", "-q", "--bare", str(origin), cwd=tmp_path)
    repo = tmp_path / "work"
    model = repo / "net"
    model.mkdir(parents=True)
    git("init", "-q", cwd=repo)
    git("remote", "add", "origin", str(origin), cwd=repo)
    write_readme(model, name="Secret Net", caffemodel="net.caffemodel", license="BSD")
    (model / "deploy.prototxt").write_text('name: "Secret"\n')
    make_weights(model / "net.caffemodel", 200_000)
    bucket = s3_server.make_bucket(f"zoo-{uuid.uuid4().hex[:8]}")

    run.zoo("add", "net/net.caffemodel", cwd=repo)
    run.zoo("remote", "add", "store", f"s3://{bucket}/zoo", "--default",
            "-o", f"endpoint_url={s3_server.endpoint}", cwd=repo)
    # Gists: create (with -v -v), status (also --debug), update, aliases, pull.
    run.zoo("-v", "-v", "gist", "push", "net", "--secret", cwd=repo)
    gist_id = _gist_id(model)
    run.zoo("gist", "status", "net", cwd=repo)
    run.zoo("--debug", "gist", "status", "net", "--json", cwd=repo)
    (model / "solver.prototxt").write_text("base_lr: 0.01\n")
    run.zoo("-v", "-v", "upload-gist", "net", cwd=repo)
    run.zoo("--debug", "gist", "pull", gist_id, tmp_path / "pulled", cwd=tmp_path)
    run.zoo("-v", "-v", "download-gist", f"zoo-tester/{gist_id}", tmp_path / "pulled2",
            cwd=tmp_path)
    # S3: push (verbose and --debug), then pull and checkout --debug in a fresh clone.
    run.zoo("-v", "-v", "push", cwd=repo)
    run.zoo("--debug", "push", "--json", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "model", cwd=repo)
    run.zoo("install-hooks", cwd=repo)
    # A real git push: the pre-push hook uploads to S3 and publishes the gist.
    (model / "deploy.prototxt").write_text('name: "Secret v2"\n')
    git("commit", "-q", "-am", "v2", cwd=repo)
    proc = run.git("push", "origin", "main", cwd=repo)
    assert "gists published" in proc.stderr
    assert gist_server.files(gist_id)["deploy.prototxt"] == b'name: "Secret v2"\n'
    clone = tmp_path / "clone"
    run.git("clone", "-q", str(origin), str(clone), cwd=tmp_path)
    run.zoo("--debug", "-v", "-v", "pull", cwd=clone)
    (clone / "net" / "net.caffemodel").unlink()
    run.zoo("--debug", "checkout", cwd=clone)
    run.zoo("-v", "-v", "status", "--json", cwd=clone)

    # Failing paths, with --debug tracebacks: a gist that is someone else's (git push 403),
    # a missing gist, an unreachable S3 endpoint.
    foreign = gist_server.create({"readme.md": "---\nname: Theirs\n---\n"}, owner="someone-else")
    other = repo / "theirs"
    other.mkdir()
    write_readme(other, name="Theirs", gist_id=foreign)
    (other / "a.prototxt").write_text("x\n")
    r = run.zoo("--debug", "gist", "push", "theirs", cwd=repo, ok=False)
    assert r.returncode != 0
    assert "Traceback" in r.stderr, "--debug did print the traceback we search"
    r = run.zoo("--debug", "-v", "-v", "gist", "pull", "f" * 32, tmp_path / "none", cwd=tmp_path,
                ok=False)
    assert r.returncode == 1
    run.zoo("remote", "add", "dead", f"s3://{bucket}/dead", "-o",
            "endpoint_url=http://127.0.0.1:9", cwd=repo)
    r = run.zoo("--debug", "push", "-r", "dead", "--timeout", "2", cwd=repo, ok=False,
                env={"ZOO_VCS_RETRIES": "0"})
    assert r.returncode == 1
    # The token also comes from GH_TOKEN, and from a git credential helper that reads it
    # from the environment (so it is in no file to begin with).
    gh_env = {"GITHUB_TOKEN": "", "GH_TOKEN": TOKEN}
    run.zoo("--debug", "gist", "status", "net", cwd=repo, env=gh_env)
    helper = ("!f() { test \"$1\" = get && echo username=zoo-tester && "
              "echo \"password=$ZOO_TEST_SECRET\"; }; f")
    git("config", "credential.helper", helper, cwd=repo)
    (model / "solver.prototxt").write_text("base_lr: 0.02\n")
    run.zoo("-v", "-v", "gist", "push", "net", cwd=repo,
            env={"GITHUB_TOKEN": "", "ZOO_TEST_SECRET": TOKEN})

    # The server did get the token (so a leak would have been there to find).
    assert any("authorization" in q["headers"] for q in gist_server.requests)

    leaks = [f"output of {cmd!r}: {_leaks(out.encode())}" for cmd, out in run.outputs
             if _leaks(out.encode())]
    for root in (repo, clone, origin, tmp_path / "pulled", tmp_path / "pulled2", tmpdir,
                 Path(os.environ["HOME"]), gist_server.root):
        leaks += _scan_tree(root)
    for git_dir in (repo / ".git", clone / ".git", origin, *gist_server.root.glob("*.git")):
        leaks += _scan_git_objects(git_dir)
    for key in s3_server.keys(bucket):
        if _leaks(s3_server.get(bucket, key)):
            leaks.append(f"s3://{bucket}/{key}")
    assert leaks == []
    # Belt and braces on the places a token most often ends up.
    config = (repo / ".git" / "config").read_text()
    assert "extraheader" not in config.lower()
    assert "authorization" not in config.lower()
    assert list(tmpdir.iterdir()) == [], "scratch clones of gists are removed"


def test_remote_option_secrets_stay_in_config_local(tmp_path, s3_server):
    """Credentials given as a remote's storage options (``remote modify --local``) work, and
    are never printed (listing, -v -v, --debug tracebacks of a failing push) nor written
    anywhere but the git-ignored ``.zoo/config.local``."""
    repo = tmp_path / "work"
    (repo / "m").mkdir(parents=True)
    git("init", "-q", cwd=repo)
    make_weights(repo / "m" / "w.caffemodel", 50_000)
    bucket = s3_server.make_bucket(f"zoo-{uuid.uuid4().hex[:8]}")
    # No AWS_* variables at all: the options are the only credentials.
    env = {"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "1", "ZOO_VCS_RETRIES": "0"}
    run = Runner(env)
    run.zoo("add", "m/w.caffemodel", cwd=repo)
    for name, url in (("store", f"s3://{bucket}/zoo"), ("dead", f"s3://{bucket}/dead")):
        endpoint = s3_server.endpoint if name == "store" else "http://127.0.0.1:9"
        run.zoo("remote", "add", name, url, *(["--default"] if name == "store" else []),
                "-o", f"endpoint_url={endpoint}", cwd=repo)
        for option, var in (("key", "AWS_ACCESS_KEY_ID"), ("secret", "AWS_SECRET_ACCESS_KEY"),
                            ("token", "AWS_SESSION_TOKEN")):
            run.zoo("remote", "modify", name, option, AWS_SECRETS[var], "--local", cwd=repo)
    run.zoo("remote", "list", cwd=repo)
    run.zoo("remote", "list", "--json", cwd=repo)
    run.zoo("-v", "-v", "push", cwd=repo)
    assert len(s3_server.keys(bucket)) == 1, "the options' credentials were used"
    run.zoo("--debug", "-v", "-v", "push", cwd=repo)
    r = run.zoo("--debug", "-v", "-v", "push", "-r", "dead", "--timeout", "2", cwd=repo,
                ok=False)
    assert r.returncode == 1
    assert "Traceback" in r.stderr
    run.zoo("--debug", "status", "--json", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "remotes", cwd=repo)

    leaks = [f"output of {cmd!r}: {_leaks(out.encode())}" for cmd, out in run.outputs
             if _leaks(out.encode())]
    local = repo / ".zoo" / "config.local"
    leaks += [f for f in _scan_tree(repo) if not f.startswith(f"{local}:")]
    leaks += _scan_tree(Path(os.environ["HOME"])) + _scan_git_objects(repo / ".git")
    assert leaks == []
    assert _leaks(local.read_bytes()), "the secrets are where the user put them"
    assert ".zoo/config.local" not in git("ls-files", cwd=repo)
