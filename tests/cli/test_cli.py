"""The console script's contract: help everywhere, exit codes, one-line errors, no tracebacks."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import make_weights, run_zoo, write_readme
from zoo_vcs.cli.app import cli

COMMANDS = ["init", "add", "status", "checkout", "download-binary", "verify", "gc", "push",
            "fetch", "pull", "remote", "remote add", "remote list", "remote modify",
            "remote remove", "gist", "gist push", "gist pull", "gist status", "upload-gist",
            "download-gist", "install-hooks", "uninstall-hooks", "index", "index build", "ls",
            "get", "diff"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command):
    result = CliRunner().invoke(cli, [*command.split(), "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output


def test_every_command_is_documented_in_the_readme():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for command in COMMANDS:
        if command not in ("remote add", "remote list", "remote modify", "remote remove",
                           "gist", "index", "remote"):
            assert f"zoo-vcs {command}" in readme, command


def test_version_and_module_entry_point(tmp_path):
    r = run_zoo("--version", cwd=tmp_path)
    assert r.returncode == 0
    assert "zoo-vcs, version" in r.stdout
    proc = subprocess.run([sys.executable, "-m", "zoo_vcs", "--help"], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0
    assert "checkout" in proc.stdout


def test_bad_usage_exits_2(tmp_path):
    assert run_zoo("add", cwd=tmp_path).returncode == 2
    assert run_zoo("checkout", "--jobs", "0", cwd=tmp_path).returncode == 2
    r = run_zoo("no-such-command", cwd=tmp_path)
    assert r.returncode == 2
    assert "No such command" in r.stderr


def test_bad_config_is_a_clear_error(tmp_path):
    (tmp_path / ".zoo").mkdir()
    (tmp_path / ".zoo" / "config").write_text("[core]\njobs = many\n")
    r = run_zoo("status", cwd=tmp_path)
    assert r.returncode == 2
    assert "jobs must be a number, got 'many'" in r.stderr
    assert "Traceback" not in r.stderr


def test_debug_shows_traceback(tmp_path):
    (tmp_path / "bad.bin.zoo").write_text("nonsense: [\n")
    quiet = run_zoo("status", cwd=tmp_path)
    loud = run_zoo("--debug", "status", cwd=tmp_path)
    assert quiet.returncode == loud.returncode == 1
    assert "Traceback" not in quiet.stderr
    assert "Traceback" in loud.stderr
    assert "bad.bin.zoo" in quiet.stderr


def test_legacy_readme_without_sha1_is_reported_not_guessed(tmp_path):
    write_readme(tmp_path, name="No hash", caffemodel="n.caffemodel",
                 caffemodel_url="http://127.0.0.1:9/n.caffemodel")
    r = run_zoo("download-binary", tmp_path, cwd=tmp_path)
    assert r.returncode == 1
    assert "no sha1 for n.caffemodel" in r.stderr
    assert not (tmp_path / "n.caffemodel").exists()


def test_legacy_readme_with_escaping_caffemodel_is_refused(tmp_path):
    model = tmp_path / "m"
    model.mkdir()
    write_readme(model, name="Evil", caffemodel="../../evil.caffemodel", sha1="a" * 40,
                 caffemodel_url="http://127.0.0.1:9/x")
    r = run_zoo("status", "--json", model, cwd=tmp_path)
    assert "escapes the model directory" in r.stdout + r.stderr
    r = run_zoo("download-binary", model, cwd=tmp_path)
    assert not (tmp_path.parent / "evil.caffemodel").exists()


def test_multi_model_legacy_readme_with_subfolders(tmp_path, http_server):
    """Several models in one readme, no frontmatter delimiters, weights in subfolders."""
    blobs = {}
    lines = ["gist_id: 0123456789abcdef0123", ""]
    for variant in ("rgb", "lbp"):
        data = make_weights(tmp_path / "src" / variant, 5000, seed=len(variant) + ord(variant[0]))
        url = http_server.add(f"/{variant}/net.caffemodel", data)
        blobs[variant] = data
        lines += [f"###Net - {variant}", "", f"caffemodel: {variant}/net.caffemodel", "",
                  f"caffemodel_url: {url}", "", f"sha1: {hashlib.sha1(data).hexdigest()}", ""]
    model = tmp_path / "model"
    model.mkdir()
    (model / "README.md").write_text("\n".join(lines))
    r = run_zoo("download-binary", model, cwd=tmp_path)
    assert r.returncode == 0, r.output
    for variant, data in blobs.items():
        assert (model / variant / "net.caffemodel").read_bytes() == data


def _run_on_terminal(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run the console script with a pseudo-terminal as stdout and stderr."""
    import fcntl
    import os
    import struct
    import termios

    from tests.conftest import ZOO_VCS

    master, slave = os.openpty()
    # A new pty is 0x0: give it a terminal's size, as a real one has.
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen([ZOO_VCS, *args], cwd=cwd, stdin=subprocess.DEVNULL, stdout=slave,
                            stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(), b"".join(chunks).decode("utf-8", "replace")


def test_progress_shows_on_a_terminal_and_not_when_piped_or_quiet(tmp_path, http_server):
    from tests.conftest import git

    repo = tmp_path / "r"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    urls = []
    for i in range(3):
        data = make_weights(tmp_path / "src" / f"w{i}", 300_000, seed=i)
        urls.append(http_server.add(f"/w{i}.bin", data))
        (repo / f"w{i}.bin.zoo").write_text(
            f"zoo-vcs: 1\nsha1: {hashlib.sha1(data).hexdigest()}\nsize: {len(data)}\n"
            f"urls:\n- {urls[-1]}\n")
    env_cache = {"ZOO_VCS_CACHE_DIR": str(tmp_path / "cache")}
    code, out = _run_on_terminal(["checkout"], repo)
    assert code == 0, out
    assert "3/3 files" in out
    assert "download" in out
    # Piped: no bar at all.
    for f in repo.glob("w*.bin"):
        f.unlink()
    r = run_zoo("checkout", cwd=repo, env=env_cache)
    assert r.returncode == 0
    assert "files" not in r.stderr
    # -q on a terminal: no bar either.
    for f in repo.glob("w*.bin"):
        f.unlink()
    import shutil

    shutil.rmtree(repo / ".git" / "zoo-vcs" / "cache")
    code, out = _run_on_terminal(["checkout", "-q"], repo)
    assert code == 0, out
    assert "files" not in out


def test_many_failures_are_summarised_and_json_lists_them_all(tmp_path):
    import json

    from tests.conftest import git

    repo = tmp_path / "r"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    for i in range(25):
        sha1 = hashlib.sha1(str(i).encode()).hexdigest()
        (repo / f"w{i:02d}.bin.zoo").write_text(
            f"zoo-vcs: 1\nsha1: {sha1}\nurls:\n- {tmp_path}/nowhere/{i}\n")
    r = run_zoo("fetch", cwd=repo)
    assert r.returncode == 1
    assert r.stderr.count("zoo-vcs: error:") == 20
    assert "... and 5 more errors" in r.stderr
    r = run_zoo("fetch", "--json", cwd=repo)
    assert r.returncode == 1
    assert len(json.loads(r.stdout)["failed"]) == 25
    r = run_zoo("checkout", "--json", cwd=repo)
    assert len(json.loads(r.stdout)["errors"]) == 25
