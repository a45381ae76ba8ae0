"""The Model Zoo page and fetch_model: every readme quirk listed, JSON round trip,
--check against a loopback server, Caffe-named commands, fetch_model from a gist."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from tests.conftest import make_weights, run_zoo, write_readme
from zoo_vcs.ops import index

FIXTURES = Path(__file__).parents[1] / "data" / "frontmatter"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _zoo(tmp_path: Path) -> Path:
    """A zoo folder: every quirk fixture as its own model directory's readme.md."""
    zoo = tmp_path / "zoo"
    for fixture in sorted(FIXTURES.glob("*.md")):
        folder = zoo / fixture.stem
        folder.mkdir(parents=True)
        shutil.copy(fixture, folder / "readme.md")
    return zoo


def _build_json(tmp_path: Path, *sources: str | Path, env=None) -> list[dict]:
    r = run_zoo("index", "build", *sources, "--json", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.output
    return json.loads(r.stdout)["models"]


def test_page_lists_every_model_with_the_right_fields(tmp_path):
    zoo = _zoo(tmp_path)
    rows = _build_json(tmp_path, zoo)
    by_name = {r["name"]: r for r in rows}
    canonical = by_name["Example Lab PixelNet Model"]
    assert canonical["license"] == "unrestricted"
    assert canonical["sha1"] == "3f2a9c1e5b7d40a8c6e2f1b3d5a7c9e0f2b4d6a8"
    assert canonical["weights_url"] == "http://models.example.org/example_pixelnet.caffemodel"
    assert canonical["caffe_version"] == "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"
    # Two models in one readme, a shared gist_id, no sha1 said plainly.
    colour = by_name["Colour Classification Net"]
    shape = by_name["Shape Classification Net"]
    assert colour["gist_id"] == shape["gist_id"] == "5555aaaa5555aaaa5555"
    assert colour["status"] == "no sha1"
    assert "no license" in colour["missing"]
    # No frontmatter at all: still a row, said to have no Model Zoo keys, with the reason.
    scenes = by_name["Example Scenes Net"]
    assert scenes["status"] == "no Model Zoo keys"
    assert "drive.google.com" in scenes["missing"][0] or "frontmatter" in scenes["missing"][0]
    # Each fixture folder appears at least once.
    sources = {Path(r["source"]).parent.name for r in rows}
    assert sources == {f.stem for f in FIXTURES.glob("*.md")}

    page = run_zoo("index", "build", zoo, cwd=tmp_path).stdout
    assert page.startswith("# Model Zoo")
    assert "| Example Lab PixelNet Model | unrestricted | 0a1b2c3 |" in page
    assert "`3f2a9c1e5b`" in page
    assert page.count("\n| ") == len(rows) + 1  # header + one row per model


def test_json_round_trips(tmp_path):
    zoo = _zoo(tmp_path)
    r = run_zoo("index", "build", zoo, "--json", cwd=tmp_path)
    rows = index.rows_from_json(r.stdout)
    assert index.rows_to_json(rows) + "\n" == r.stdout
    md = run_zoo("index", "build", zoo, cwd=tmp_path).stdout
    assert index.render_markdown(rows) == md


def test_check_marks_dead_and_wrong_size_urls(tmp_path, http_server):
    zoo = tmp_path / "zoo"
    good = make_weights(tmp_path / "g.bin", 4096, seed=1)
    cases = {
        "good": (http_server.add("/good.caffemodel", good), len(good)),
        "dead": (http_server.url_for("/nothing-here.caffemodel"), 10),
        "short": (http_server.add("/short.caffemodel", good[:100]), len(good)),
        "html": (http_server.add("/page.caffemodel", b"<!DOCTYPE html><html>x</html>",
                                 content_type="text/html"), 10),
    }
    for name, (url, size) in cases.items():
        folder = zoo / name
        folder.mkdir(parents=True)
        write_readme(folder, name=name, caffemodel=f"{name}.caffemodel", caffemodel_url=url,
                     sha1=hashlib.sha1(good).hexdigest())
        (folder / f"{name}.caffemodel.zoo").write_text(
            f"zoo-vcs: 1\nsha1: {hashlib.sha1(good).hexdigest()}\nsize: {size}\nurls:\n- {url}\n")
    rows = {r["name"]: r for r in _build_json(tmp_path, zoo, "--check")}
    assert rows["good"]["status"] == "reachable"
    assert rows["dead"]["status"].startswith("unreachable weights")
    assert "404" in rows["dead"]["status"]
    assert rows["short"]["status"] == f"wrong size: 100 bytes, expected {len(good)}"
    assert rows["html"]["status"] == "web page, not the weights"
    assert {q.headers.get("range") for q in http_server.requests} == {"bytes=0-511"}


def test_committed_example_page_is_current(tmp_path):
    r = run_zoo("index", "build", EXAMPLES, cwd=EXAMPLES.parent)
    assert r.returncode == 0, r.output
    assert (EXAMPLES / "MODEL_ZOO.md").read_text() == r.stdout, \
        "regenerate it: zoo-vcs index build examples -o examples/MODEL_ZOO.md"


def test_caffe_named_commands_match_their_counterparts(tmp_path, gist_server, gist_env,
                                                      http_server):
    data = make_weights(tmp_path / "src.bin", 5000)
    url = http_server.add("/w.caffemodel", data)
    model = tmp_path / "model"
    model.mkdir()
    write_readme(model, name="Caffe Named", caffemodel="w.caffemodel", caffemodel_url=url,
                 sha1=hashlib.sha1(data).hexdigest())
    (model / "deploy.prototxt").write_text("name: 'x'\n")
    r = run_zoo("upload-gist", model, "--json", cwd=tmp_path, env=gist_env)
    assert r.returncode == 0, r.output
    gist_id = json.loads(r.stdout)["gist_id"]
    assert sorted(gist_server.files(gist_id)) == ["deploy.prototxt", "readme.md"]
    r = run_zoo("download-gist", gist_id, cwd=tmp_path, env=gist_env)  # DIRNAME: models
    dest = tmp_path / "models" / gist_id
    assert r.returncode == 0, r.output
    assert (dest / "deploy.prototxt").read_text() == "name: 'x'\n"
    r = run_zoo("download-binary", dest, cwd=tmp_path)
    assert r.returncode == 0, r.output
    assert (dest / "w.caffemodel").read_bytes() == data


def test_fetch_model_from_gist_then_no_network(tmp_path, gist_server, gist_env, http_server,
                                               monkeypatch):
    import zoo_vcs

    data = make_weights(tmp_path / "src.bin", 70_000, seed=7)
    sha1 = hashlib.sha1(data).hexdigest()
    url = http_server.add("/fm.caffemodel", data)
    gist_id = gist_server.create({
        "readme.md": f"---\nname: Fetchable\ncaffemodel: fm.caffemodel\ncaffemodel_url: {url}\n"
                     f"sha1: {sha1}\n---\n",
        "fm.caffemodel.zoo": f"zoo-vcs: 1\nsha1: {sha1}\nsize: {len(data)}\nurls:\n- {url}\n",
    })
    for key, value in gist_env.items():
        monkeypatch.setenv(key, value)
    path = zoo_vcs.fetch_model(f"zoo-tester/{gist_id}")
    assert path.read_bytes() == data
    assert path.name == "fm.caffemodel"
    assert str(path).startswith(str(Path.home()))  # the user cache, HOME is the test's
    gist_server.requests.clear()
    http_server.reset_log()
    again = zoo_vcs.fetch_model(gist_id)
    assert again == path
    assert gist_server.requests == []
    assert http_server.requests == []
