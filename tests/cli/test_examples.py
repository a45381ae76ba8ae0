"""The examples stay true: every example readme parses, and the BVLC facts are right."""

from __future__ import annotations

from pathlib import Path

import pytest

from zoo_vcs.repo import modeldir

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BVLC = {
    "bvlc_reference_caffenet": ("4c8d77deb20ea792f84eb5e6d0a11ca0a8660a46",
                                "709dc15af4a06bebda027c1eb2b3f3e3375d5077"),
    "bvlc_alexnet": ("9116a64c0fbe4459d18f4bb6b56d647b63920377",
                     "709dc15af4a06bebda027c1eb2b3f3e3375d5077"),
    "bvlc_reference_rcnn_ilsvrc13": ("bdd8abb885819cba5e2fe1eb36235f2319477e64",
                                     "a7e397abbda52c0b90323c23ab95bdeabee90a98"),
}


@pytest.mark.parametrize("readme", sorted(EXAMPLES.glob("*/readme.md")),
                         ids=lambda p: p.parent.name)
def test_example_readme_parses_cleanly(readme):
    parsed = modeldir.load(readme)
    assert parsed.form == "frontmatter"
    assert len(parsed.models) == 1
    assert parsed.models[0].caffemodel


@pytest.mark.parametrize(("name", "facts"), sorted(BVLC.items()))
def test_bvlc_facts(name, facts):
    model = modeldir.load(EXAMPLES / name / "readme.md").models[0]
    assert (model.sha1, model.caffe_commit) == facts
    assert model.caffemodel == f"{name}.caffemodel"
    assert model.caffemodel_url == f"http://dl.caffe.berkeleyvision.org/{name}.caffemodel"
    assert model.license == "unrestricted"
    weights, problems, refused = modeldir.weights_of(EXAMPLES / name / "readme.md",
                                            modeldir.load(EXAMPLES / name / "readme.md"))
    assert problems == []
    assert refused == []
    assert weights[0].sha1 == facts[0]
