"""Real-world readmes (SPEC 4, "Legacy readmes and real-world quirks"): entries without
sha1 (--allow-unverified), registering a URL, readmes without keys, and Caffe's own
download_model_binary.py working on a folder after ``zoo-vcs add``, for every
single-model readme style."""

from __future__ import annotations

import hashlib
import json
import re
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.conftest import SHARED_READMES, git, make_weights, run_zoo, write_readme
from tests.servers.http import LoopbackHTTPServer
from zoo_vcs.formats.frontmatter import parse

STYLES = Path(__file__).resolve().parents[1] / "data" / "frontmatter"
#: Own fixtures that are not one usable model: names escaping the folder, a YAML tag
#: (an error in its own right), several models.
NOT_ONE_MODEL = {"path_escape.md", "strict_python_tag.md", "models_named_by_headings.md",
                 "two_models_name_headings.md"}
#: Styles Caffe's script cannot read whatever zoo-vcs does: it strips every line, so the
#: indented lines of a multi-line YAML value (a block scalar license) no longer parse.
CAFFE_UNREADABLE = {"block_scalar_license.md"}
_URL_LINE = re.compile(r"(?im)^(.*caffemodel[ _]url\s*:[ \t]*)(\S*)(.*)$")


def caffe_download_model_binary(dirname: Path) -> str:
    """BVLC Caffe's scripts/download_model_binary.py, reimplemented as it behaves (Python 3,
    yaml.safe_load for the PyYAML 6 it breaks on): strip every line, frontmatter from the
    first '---' to the next, the three keys, download, SHA1 check. Returns what it prints."""
    with open(dirname / "readme.md") as f:
        lines = [line.strip() for line in f.readlines()]
    top = lines.index("---")
    bottom = lines.index("---", top + 1)
    frontmatter = yaml.safe_load("\n".join(lines[top + 1:bottom]))
    assert all(key in frontmatter for key in ("caffemodel", "caffemodel_url", "sha1"))
    model_filename = dirname / frontmatter["caffemodel"]

    def model_checks_out() -> bool:
        with open(model_filename, "rb") as f:
            return hashlib.sha1(f.read()).hexdigest() == frontmatter["sha1"]

    if model_filename.exists() and model_checks_out():
        return "Model already exists."
    urllib.request.urlretrieve(frontmatter["caffemodel_url"], model_filename)
    if not model_checks_out():
        return "ERROR: model did not download correctly! Run this again."
    return "downloaded"


def _styles() -> list[tuple[str, str]]:
    """(id, readme text) of every single-model readme style: our fixtures, and the real
    readmes of shared/zoo-readmes when that folder exists (their 3-line header dropped)."""
    # hostile_*: readmes that must be refused, not read (tests/faults/test_hostile.py).
    out = [(p.name, p.read_text()) for p in sorted(STYLES.glob("*.md"))
           if p.name not in NOT_ONE_MODEL and not p.name.startswith("hostile_")]
    if SHARED_READMES.is_dir():
        for p in sorted(SHARED_READMES.glob("[0-9]*.yaml")):
            text = "".join(p.read_text().splitlines(keepends=True)[3:])
            if len(parse(text).models) <= 1:
                out.append((p.stem, text))
    return out


@pytest.mark.parametrize(("style", "text"), _styles(), ids=[s for s, _ in _styles()])
def test_caffe_script_works_after_add(tmp_path, http_server, style, text):
    git("init", "-q", cwd=tmp_path)
    folder = tmp_path / "model"
    folder.mkdir()
    models = parse(text).models
    model = models[0] if models else None
    name = model.caffemodel if model and model.caffemodel else None
    url = model.caffemodel_url if model else None
    if name is None:
        tail = (url or "").split("?")[0].rsplit("/", 1)[-1]
        name = tail if tail.endswith(".caffemodel") else "net.caffemodel"
    data = make_weights(folder / name, 20_000, seed=len(style))
    served = http_server.add(f"/dl/{style}/{Path(name).name}", data)
    readme = folder / "readme.md"
    if url:
        text = _URL_LINE.sub(lambda m: m[1] + served + m[3], text, count=1)
    readme.write_text(text)
    args = ["add", f"model/{name}"] if url else ["add", "--url", served, f"model/{name}"]
    r = run_zoo(*args, cwd=tmp_path)
    assert r.returncode == 0, r.output

    after = readme.read_text()
    if parse(text).form == "lenient":
        assert after.startswith("---\n"), "the keys now form a '---' block at the top"
        assert "'---' block" in r.stderr
    # Prose survives byte for byte: every line that is not a key line is still there.
    for line in text.splitlines():
        if line.strip() and ":" not in line:
            assert line in after.splitlines(), line

    (folder / name).unlink()
    if style not in CAFFE_UNREADABLE:
        assert caffe_download_model_binary(folder) == "downloaded"
    else:
        assert run_zoo("download-binary", folder, cwd=tmp_path).returncode == 0
    assert (folder / name).read_bytes() == data
    r = run_zoo("status", "model", cwd=tmp_path)
    assert r.returncode == 0, r.output
    assert "1 ok" in r.stdout


# -- entries without sha1 ------------------------------------------------------------------


NO_SHA1 = """---
name: LeafNet fine-tuned on garden photos

caffemodel: leafnet.caffemodel

caffemodel_url: {url}

license: non-commercial

gist_id: 0123456789abcdef0123

---

Fine-tuned from the reference CaffeNet for twelve leaf shapes.
"""


def test_no_sha1_refused_with_hint_then_allowed(tmp_path, http_server):
    data = make_weights(tmp_path / "w", 12_345, seed=7)
    url = http_server.add("/leafnet.caffemodel", data)
    folder = tmp_path / "leafnet"
    folder.mkdir()
    (folder / "readme.md").write_text(NO_SHA1.format(url=url))

    r = run_zoo("download-binary", folder, cwd=tmp_path)
    assert r.returncode == 1
    assert "no sha1" in r.stderr
    assert "--allow-unverified" in r.stderr
    assert http_server.requests == [], "nothing downloaded without the flag"

    r = run_zoo("download-binary", "--allow-unverified", folder, cwd=tmp_path)
    assert r.returncode == 0, r.output
    sha1 = hashlib.sha1(data).hexdigest()
    assert (folder / "leafnet.caffemodel").read_bytes() == data
    warnings = [ln for ln in r.stderr.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1, r.stderr
    assert sha1 in warnings[0]

    r = run_zoo("status", "--json", folder, cwd=tmp_path)
    [entry] = json.loads(r.stdout)["files"]
    assert entry["state"] == "unverified"
    assert entry["actual_sha1"] == sha1
    # Present and unverifiable: left alone, no download again.
    http_server.reset_log()
    r = run_zoo("checkout", "--allow-unverified", folder, cwd=tmp_path)
    assert r.returncode == 0, r.output
    assert http_server.requests == []


def test_pull_allow_unverified_in_a_repository(tmp_path, http_server):
    git("init", "-q", cwd=tmp_path)
    data = make_weights(tmp_path / "w", 999, seed=8)
    url = http_server.add("/leaf.caffemodel", data)
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "readme.md").write_text(NO_SHA1.format(url=url).replace("leafnet.caffemodel",
                                                                      "leaf.caffemodel"))
    r = run_zoo("pull", cwd=tmp_path)
    assert r.returncode == 1
    assert "--allow-unverified" in r.stderr
    r = run_zoo("pull", "--allow-unverified", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.output
    assert json.loads(r.stdout)["unverified"][0]["sha1"] == hashlib.sha1(data).hexdigest()
    assert (folder / "leaf.caffemodel").read_bytes() == data


def test_add_url_registers_a_file_not_downloaded_yet(tmp_path, http_server):
    git("init", "-q", cwd=tmp_path)
    data = make_weights(tmp_path / "src", 54_321, seed=9)
    url = http_server.add("/remote/net.caffemodel", data)
    r = run_zoo("add", "--url", url, "models/net/net.caffemodel", cwd=tmp_path)
    assert r.returncode == 0, r.output
    target = tmp_path / "models/net/net.caffemodel"
    assert target.read_bytes() == data
    pointer = yaml.safe_load((tmp_path / "models/net/net.caffemodel.zoo").read_text())
    assert pointer["sha1"] == hashlib.sha1(data).hexdigest()
    assert pointer["size"] == len(data)
    assert pointer["urls"] == [url]
    assert len(http_server.requests_for("/remote/net.caffemodel")) == 1
    # Offline, nothing to register from.
    r = run_zoo("add", "--offline", "--url", url, "models/b.caffemodel", cwd=tmp_path)
    assert r.returncode == 1
    assert "offline" in r.stderr
    assert not (tmp_path / "models/b.caffemodel").exists()


def test_add_without_url_names_the_option(tmp_path):
    git("init", "-q", cwd=tmp_path)
    r = run_zoo("add", "nothing.caffemodel", cwd=tmp_path)
    assert r.returncode == 2
    assert "--url" in r.stderr


# -- readmes without keys, and their hints ----------------------------------------------------


PROSE_ONLY = """# Places CNN with deep supervision

Our eleven-layer network trained with companion losses on the scene benchmark.

Paper: https://arxiv.example.org/abs/1505.00001 (see the project page
https://vision.example.edu/places-deep/ for results).

Downloading our 11layer_deep.caffemodel (11 layers in total)

https://drive.google.com/file/d/0B_EXAMPLEexample0ExAmPlE/view?usp=sharing
"""


def test_readme_without_keys_reported_by_status_and_index(tmp_path):
    git("init", "-q", cwd=tmp_path)
    folder = tmp_path / "places"
    folder.mkdir()
    (folder / "readme.md").write_text(PROSE_ONLY)
    r = run_zoo("status", cwd=tmp_path)
    assert r.returncode == 0
    assert "0 tracked binaries" in r.stdout
    assert "places/readme.md: no Model Zoo keys" in r.stderr
    assert "line 10 looks like the weights' location" in r.stderr
    assert "Google Drive view page" in r.stderr
    r = run_zoo("status", "--json", cwd=tmp_path)
    assert any("no Model Zoo keys" in w for w in json.loads(r.stdout)["warnings"])

    r = run_zoo("index", "build", "--json", "places", cwd=tmp_path)
    [row] = json.loads(r.stdout)["models"]
    assert row["status"] == "no Model Zoo keys"
    assert "drive.google.com" in row["missing"][0]
    assert "arxiv" not in row["missing"][0]
    assert "places-deep" not in row["missing"][0]


def test_index_hint_never_offers_a_page(tmp_path):
    git("init", "-q", cwd=tmp_path)
    folder = tmp_path / "texture"
    folder.mkdir()
    (folder / "readme.md").write_text("# Texture net\n\nSee https://vision.example.edu/tex/ "
                                      "and https://arxiv.example.org/abs/1.2345\n")
    r = run_zoo("index", "build", "--json", "texture", cwd=tmp_path)
    [row] = json.loads(r.stdout)["models"]
    assert row["status"] == "no Model Zoo keys"
    assert "http" not in row["missing"][0], "a page is never offered as the weights"


def test_project_readme_at_the_root_is_not_a_model(tmp_path, http_server):
    git("init", "-q", cwd=tmp_path)
    (tmp_path / "README.md").write_text("# Our models\n\nSee each folder.\n")
    make_weights(tmp_path / "m" / "net.caffemodel", 100)
    assert run_zoo("add", "m/net.caffemodel", cwd=tmp_path).returncode == 0
    r = run_zoo("status", cwd=tmp_path)
    assert "no Model Zoo keys" not in r.stderr
    assert "1 tracked binary: 1 ok" in r.stdout


# -- re-adding and leftovers ----------------------------------------------------------------


def test_readd_changed_file_drops_url_of_old_bytes(tmp_path, http_server):
    git("init", "-q", cwd=tmp_path)
    folder = tmp_path / "net"
    data = make_weights(folder / "net.caffemodel", 5000, seed=1)
    url = http_server.add("/net.caffemodel", data)
    write_readme(folder, name="Net", caffemodel="net.caffemodel", caffemodel_url=url,
                 sha1=hashlib.sha1(data).hexdigest(), license="BSD")
    assert run_zoo("add", "net/net.caffemodel", cwd=tmp_path).returncode == 0
    assert url in (folder / "net.caffemodel.zoo").read_text(), "the readme's URL adopted"

    new = make_weights(folder / "net.caffemodel", 6000, seed=2)
    r = run_zoo("add", "net/net.caffemodel", cwd=tmp_path)
    assert r.returncode == 0, r.output
    assert "caffemodel_url dropped" in r.stderr
    assert url in r.stderr
    fields = parse((folder / "readme.md").read_text()).fields
    assert fields["sha1"] == hashlib.sha1(new).hexdigest()
    assert fields["caffemodel_url"] is None
    assert url not in (folder / "net.caffemodel.zoo").read_text()


def test_truncated_leftover_of_caffe_script_offers_force(tmp_path, http_server):
    folder = tmp_path / "alexnet_like"
    data = make_weights(tmp_path / "full", 300_000, seed=3)
    url = http_server.add("/alex.caffemodel", data)
    folder.mkdir()
    write_readme(folder, name="Alex-like",
                 caffemodel="alex.caffemodel", caffemodel_url=url,
                 sha1=hashlib.sha1(data).hexdigest())
    (folder / "alex.caffemodel").write_bytes(data[:100_000])  # the script was interrupted

    r = run_zoo("download-binary", folder, cwd=tmp_path)
    assert r.returncode == 1
    assert "differs from the readme's sha1" in r.stderr
    assert "--force" in r.stderr
    assert "zoo-vcs add" not in r.stderr
    assert (folder / "alex.caffemodel").stat().st_size == 100_000

    r = run_zoo("download-binary", "--force", folder, cwd=tmp_path)
    assert r.returncode == 0, r.output
    assert (folder / "alex.caffemodel").read_bytes() == data


def test_wrong_sha1_reported_once(tmp_path, http_server):
    folder = tmp_path / "m"
    folder.mkdir()
    data = make_weights(tmp_path / "right", 4000, seed=4)
    url = http_server.add("/m.caffemodel", b"x" * 4000)
    write_readme(folder, name="M", caffemodel="m.caffemodel", caffemodel_url=url,
                 sha1=hashlib.sha1(data).hexdigest())
    r = run_zoo("download-binary", folder, cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.count("wrong content") == 1, r.stderr


def test_failed_mirror_before_a_good_one_is_a_warning(tmp_path, http_server: LoopbackHTTPServer):
    git("init", "-q", cwd=tmp_path)
    data = make_weights(tmp_path / "m" / "w.caffemodel", 3000, seed=5)
    bad = http_server.add("/bad/w", b"y" * 3000)
    good = http_server.add("/good/w", data)
    assert run_zoo("add", "--url", bad, "--url", good, "m/w.caffemodel",
                   cwd=tmp_path).returncode == 0
    (tmp_path / "m" / "w.caffemodel").unlink()
    for p in (tmp_path / ".git" / "zoo-vcs" / "cache").rglob("*"):
        if p.is_file():
            p.chmod(0o644)
            p.unlink()
    r = run_zoo("checkout", cwd=tmp_path)
    assert r.returncode == 0, r.output
    assert r.stderr.count("wrong content") == 1
