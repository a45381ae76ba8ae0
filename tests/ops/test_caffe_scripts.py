"""The Caffe scripts' commands keep the scripts' arguments and behaviour (SPEC 4, Caffe
compatibility): ``download-gist GIST [DIRNAME]`` and ``upload-gist DIR``'s description."""

from __future__ import annotations

import json

from tests.conftest import run_zoo, write_readme


def test_download_gist_lands_in_dirname_slash_gist(tmp_path, gist_server, gist_env):
    gist_id = gist_server.create({"readme.md": "---\nname: Flickr Style\n---\n",
                                  "deploy.prototxt": "name: 'x'\n"})
    r = run_zoo("download-gist", f"zoo-tester/{gist_id}", cwd=tmp_path, env=gist_env)
    assert r.returncode == 0, r.output
    target = tmp_path / "models" / f"zoo-tester-{gist_id}"
    assert (target / "deploy.prototxt").read_text() == "name: 'x'\n"
    assert str(target.relative_to(tmp_path)) in r.stdout

    r = run_zoo("download-gist", gist_id, "zoo", "--json", cwd=tmp_path, env=gist_env)
    assert r.returncode == 0, r.output
    assert json.loads(r.stdout)["folder"] == f"zoo/{gist_id}"


def test_download_gist_refuses_an_existing_folder(tmp_path, gist_server, gist_env):
    gist_id = gist_server.create({"readme.md": "new\n"})
    target = tmp_path / "models" / gist_id
    target.mkdir(parents=True)
    (target / "readme.md").write_text("my edits\n")
    r = run_zoo("download-gist", gist_id, cwd=tmp_path, env=gist_env)
    assert r.returncode == 1
    assert "already exists" in r.stderr
    assert (target / "readme.md").read_text() == "my edits\n"
    assert sorted(p.name for p in target.parent.iterdir()) == [gist_id]


def test_download_gist_failure_leaves_no_folder(tmp_path, gist_server, gist_env):
    r = run_zoo("download-gist", "0123456789abcdef0123", cwd=tmp_path, env=gist_env)
    assert r.returncode == 1
    assert "not found" in r.stderr
    models = tmp_path / "models"
    assert not models.exists() or list(models.iterdir()) == []


def test_upload_gist_description_is_the_readme_name(tmp_path, gist_server, gist_env):
    model = tmp_path / "net"
    model.mkdir()
    readme = write_readme(model, name="Leaf Net", caffemodel="w.caffemodel")
    r = run_zoo("upload-gist", model, "--json", cwd=tmp_path, env=gist_env)
    assert r.returncode == 0, r.output
    gist_id = json.loads(r.stdout)["gist_id"]
    assert gist_server.gist_json(gist_id)["description"] == "Leaf Net"

    # Renamed: the next update carries the new name, even with no file to publish but it.
    readme.write_text(readme.read_text().replace("Leaf Net", "Leaf Net v2"))
    r = run_zoo("upload-gist", model, cwd=tmp_path, env=gist_env)
    assert r.returncode == 0, r.output
    assert gist_server.gist_json(gist_id)["description"] == "Leaf Net v2"
    revisions = len(gist_server.revisions(gist_id))

    # --description overrides; a description alone makes no new revision.
    r = run_zoo("gist", "push", model, "--description", "Leaves, 12 classes", cwd=tmp_path,
                env=gist_env)
    assert r.returncode == 0, r.output
    assert gist_server.gist_json(gist_id)["description"] == "Leaves, 12 classes"
    assert len(gist_server.revisions(gist_id)) == revisions
    r = run_zoo("upload-gist", model, cwd=tmp_path, env=gist_env)
    assert gist_server.gist_json(gist_id)["description"] == "Leaf Net v2"
