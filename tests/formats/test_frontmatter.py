"""Tests for zoo_vcs.formats.frontmatter (strict and lenient reading) and
zoo_vcs.formats.frontmatter_edit (minimal rewrites, rendering)."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoo_vcs.errors import FrontmatterError, ZooError
from zoo_vcs.formats import frontmatter, frontmatter_edit
from zoo_vcs.formats.frontmatter import KNOWN_KEYS, MAX_FRONTMATTER_BYTES, Problem, parse
from zoo_vcs.formats.frontmatter_edit import format_scalar, render, set_fields

DATA = Path(__file__).resolve().parents[1] / "data" / "frontmatter"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "zoo-readmes"
SHA_A = "a" * 40
SHA_B = "0123456789abcdef0123456789abcdef01234567"


def fixture(name: str) -> str:
    return (DATA / name).read_bytes().decode("utf-8")


def changes(before: str, after: str) -> tuple[list[str], list[str]]:
    """Lines removed from ``before`` and lines added in ``after`` (ends kept, byte-exact)."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    removed: list[str] = []
    added: list[str] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            removed += old[i1:i2]
            added += new[j1:j2]
    return removed, added


def problems_text(readme: frontmatter.Readme) -> list[str]:
    return [str(p) for p in readme.problems]


# --------------------------------------------------------------------------- fixtures

# Each fixture reproduces one quirk family of the real readmes in shared/zoo-readmes.
# Expected: form, gist_id, models as {attribute: value}, and substrings of problems.
EXPECTED: dict[str, tuple[str, str | None, list[dict[str, object]], list[str]]] = {
    "canonical.md": ("frontmatter", None, [dict(
        name="Example Lab PixelNet Model", caffemodel="example_pixelnet.caffemodel",
        caffemodel_url="http://models.example.org/example_pixelnet.caffemodel",
        license="unrestricted", sha1="3f2a9c1e5b7d40a8c6e2f1b3d5a7c9e0f2b4d6a8",
        caffe_commit="0a1b2c3d4e5f60718293a4b5c6d7e8f901234567", extra={}, line=2)], []),
    "canonical_gist_id.md": ("frontmatter", "0f1e2d3c4b5a69788796", [dict(
        name="SegNet-3s on Example-Context", sha1="aa00bb11cc22dd33ee44ff5566778899aabbccdd",
        license=None, caffe_commit=None)], []),
    "info_heading_colon_in_name.md": ("lenient", "1a2b3c4d5e6f7a8b9c0d", [dict(
        name='12-layer net from the workshop paper: "Deeper Is Sometimes Better"',
        caffemodel="DEEP_NET_12_layers", sha1=None,
        license="http://licenses.example.org/by-nc/2.0/ (non-commercial use only)",
        caffe_commit="trained using an in-house Caffe fork",
        extra={"caffe_version": "trained using an in-house Caffe fork"}, line=3)],
        ["line 3: no sha1: the weights cannot be verified"]),
    "extra_mean_keys.md": ("lenient", "99887766554433221100", [dict(
        caffemodel="SMALL_NET", extra={
            "mean_file_mat": "http://www.example.edu/lab/releases/MEAN.mat",
            "mean_file_proto": "http://www.example.edu/lab/releases/MEAN.binaryproto",
            "caffe_version": "trained using an in-house Caffe fork"})], ["no sha1"]),
    "info_heading_dropbox.md": ("lenient", "abcdefabcdefabcdef01", [dict(
        name="Ring Network Example Model", sha1=SHA_B,
        caffemodel_url="https://www.dropbox.com/s/abc123def456gh/ring_example.caffemodel?dl=1",
        caffe_commit="waiting for a pull request to be merged", license="non-commercial")], []),
    "two_models_name_headings.md": ("lenient", "5555aaaa5555aaaa5555", [
        dict(name="Colour Classification Net", caffemodel="colour_net.caffemodel",
             caffemodel_url="https://files.example.com/u/1234/colour_net.caffemodel",
             extra={}, line=4),
        dict(name="Shape Classification Net", caffemodel="shape_net.caffemodel",
             extra={"mean_file_proto": "https://files.example.com/u/1234/mean.binaryproto"},
             line=12)], ["line 4: no sha1", "line 12: no sha1"]),
    "models_named_by_headings.md": ("lenient", "0011223344556677aabb", [
        dict(name=f"Texture Net - {kind}", caffemodel=f"TEX_{kind.lower()}/texture.caffemodel",
             extra={"mean_file_proto":
                    f"https://files.example.com/demo/TEX_{kind.lower()}/mean.binaryproto"},
             line=line)
        for kind, line in (("Gray", 4), ("Edges", 14), ("Colour", 24))],
        ["line 4: no sha1", "line 14: no sha1", "line 24: no sha1"]),
    "bare_keys_top.md": ("lenient", "4242424242abcdefabcd", [dict(
        name="TinyNet fine-tuned on an example leaf dataset", license="non-commercial",
        caffemodel_url="https://s3.amazonaws.com/example-bucket/leaves42.caffemodel",
        line=1)], ["line 1: no sha1"]),
    "delimited_blank_lines.md": ("frontmatter", "feedfacefeedfacefeed", [dict(
        name="LeafNet_cars", sha1=None,
        caffe_commit="1111222233334444555566667777888899990000")], ["line 2: no sha1"]),
    "empty_gist_id.md": ("frontmatter", None, [dict(
        sha1="00112233445566778899aabbccddeeff00112233")], []),
    "body_after_delimiter.md": ("frontmatter", None, [dict(
        caffemodel_url="https://github.com/example-user/PlainCNN/blob/master/ZOO/"
                       "plainCNN.caffemodel?raw=true", license="unrestricted")], []),
    "heading_trailing_space.md": ("lenient", "13579bdf13579bdf1357", [dict(
        name="Example Hash Codes SET10",
        caffemodel_url="https://www.dropbox.com/s/zzz999yyy888/HashNet_SET10_32.caffemodel?d",
        line=3)], ["no sha1"]),
    "gist_32hex_trailing_space.md": ("lenient", "0123456789abcdef0123456789abcdef", [dict(
        license="https://licenses.example.org/MIT",
        caffe_commit="Tested on the master branch of Caffe downloaded on 01/02/2017")],
        ["no sha1"]),
    "spaced_keys_in_prose.md": ("lenient", None, [dict(
        name="Yearly Photos Net", caffemodel=None,
        caffemodel_url="https://www.dropbox.com/s/qqq111www222/photos_cleaned.caffemodel?dl=0",
        caffe_commit="commit 0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f", line=1)],
        ["line 5: key 'caffe version' read as 'caffe_version'",
         "line 7: key 'caffemodel url' read as 'caffemodel_url'"]),
    "empty_sha1.md": ("frontmatter", None, [dict(
        sha1=None, caffemodel_url="https://yadi.sk/d/ExAmPlE123456")],
        ["line 6: no sha1: the weights cannot be verified"]),
    "empty_values.md": ("frontmatter", None, [dict(
        caffemodel=None, caffemodel_url=None, sha1=None, license="unrestricted")],
        ["line 3: caffemodel is empty", "line 4: caffemodel_url is empty", "line 6: no sha1"]),
    "freeform_keys_no_eol.md": ("frontmatter", None, [dict(
        name="Fine-tuning ExampleNet on Example Cars", caffemodel=None, caffemodel_url=None,
        extra={"Inspired by": "~/caffe/examples/some_tutorial/",
               "Used as a template": "https://github.com/example-user/cars-finetune",
               "base caffemodel weights": "models/example_base/example_base.caffemodel"})],
        ["no sha1"]),
    "caffemodel_name_differs_from_url.md": ("frontmatter", None, [dict(
        caffemodel="renamed_copy.caffemodel",
        caffemodel_url="http://models.example.org/ORIGINAL_NAME.caffemodel")], []),
    "no_frontmatter_drive.md": ("none", None, [], [
        "no frontmatter found", "line 7 looks like the weights' location",
        "Google Drive view page, not a direct download"]),
    "strict_invalid_yaml.md": ("lenient", "aaaabbbbccccddddeeee", [dict(
        name='Net from the talk: "Colons Everywhere"', caffemodel="colons.caffemodel",
        sha1="2222333344445555666677778888999900001111", line=2)],
        ["line 2: invalid YAML (mapping values are not allowed", "read as plain 'key: value'"]),
    "strict_tabs.md": ("lenient", None, [dict(
        name="Tabbed Net", caffemodel="tabbed.caffemodel")], ["line 3: invalid YAML"]),
    "strict_numeric_values.md": ("frontmatter", "12345678901234567890", [dict(
        sha1="0123456701234567012345670123456701234567", caffe_commit="2016-04-01",
        license="yes")], []),
    "block_scalar_license.md": ("frontmatter", None, [dict(
        license="Free for research.\n\nAsk before commercial use.\n",
        sha1="5555666677778888999900001111222233334444", line=3)], []),
    "code_fence.md": ("lenient", None, [dict(
        name="Fenced Net", caffemodel="fenced.caffemodel",
        sha1="6666777788889999000011112222333344445555",
        extra={"solver_type": "this snake_case key is prose after the model"})], []),
    "path_escape.md": ("frontmatter", None, [dict(
        caffemodel="../../outside.caffemodel", sha1="not-a-hash")],
        ["line 3: caffemodel '../../outside.caffemodel' escapes the model directory",
         "line 5: sha1 'not-a-hash' is not 40 hex digits"]),
}


# Hostile readmes (SPEC 4, Legacy readmes): errors naming the line, never read leniently.
HOSTILE: dict[str, tuple[int, str]] = {
    "hostile_python_tag.md": (3, "YAML tag '!!python/object/apply:os.system' is not allowed"),
    "hostile_tag_in_invalid_yaml.md": (4, "YAML tag '!!python/object/apply:os.system'"),
    "hostile_alias_bomb.md": (10, "an alias bomb"),
    "hostile_conflict_markers.md": (4, "merge-conflict marker '<<<<<<<'"),
}


def test_every_fixture_has_expectations() -> None:
    assert sorted(p.name for p in DATA.glob("*.md")) == sorted([*EXPECTED, *HOSTILE])


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_fixture_is_an_error_naming_the_line(name: str) -> None:
    line, fragment = HOSTILE[name]
    with pytest.raises(FrontmatterError) as info:
        parse(fixture(name), path=name)
    assert info.value.line == line
    assert str(info.value).startswith(f"{name}:{line}: ")
    assert fragment in str(info.value)
    assert "nothing was read" in str(info.value)


@pytest.mark.parametrize("text", [
    "## Information\nname: Net\n<<<<<<< HEAD\nsha1: " + SHA_A + "\n=======\nsha1: " + SHA_B
    + "\n>>>>>>> other\n",
    "# Net\n\nname: Net\nsha1: " + SHA_A + "\n>>>>>>>\n",
    "---\nname: Net\nsha1: " + SHA_A + "\n=======\n---\n",
    "---\nname: Net\nlicense: &x [*x]\n---\n",
    "## Information\nname: !!python/name:os.system ''\n",
    "---\nname: Net\nlicense: !local thing\n---\n",
], ids=["lenient-conflict", "closing-marker-only", "separator-in-block", "recursive-alias",
        "lenient-tag", "local-tag"])
def test_more_hostile_readmes_are_errors(text: str) -> None:
    with pytest.raises(FrontmatterError, match="nothing was read"):
        parse(text)


def test_setext_heading_and_shared_values_are_not_hostile() -> None:
    # '=======' under a markdown heading is no conflict marker, a few aliases no bomb.
    readme = parse(f"---\nname: Net\nsha1: {SHA_A}\nsizes: &s [1, 2]\nagain: *s\n---\n\n"
                   "Usage\n=======\n\nRun it.\n")
    assert readme.models[0].sha1 == SHA_A
    assert readme.fields["again"] == [1, 2]
    # Tags the resolver itself gives plain scalars: a merge key, a lone '=' (still a quirk).
    merged = parse(f"---\nname: Net\nbase: &b {{license: x}}\nm:\n  <<: *b\n  sha1: {SHA_A}\n---\n")
    assert merged.fields["m"] == {"license": "x", "sha1": SHA_A}
    quirk = parse(f"---\nname: Net\nsha1: {SHA_A}\nlicense: =\n---\n")
    assert quirk.form == "lenient"
    assert "invalid YAML" in str(quirk.problems[0])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture(name: str) -> None:
    form, gist_id, models, wanted = EXPECTED[name]
    readme = parse(fixture(name), path=name)
    assert readme.form == form
    assert readme.gist_id == gist_id
    assert len(readme.models) == len(models)
    for model, expected in zip(readme.models, models, strict=True):
        for attribute, value in expected.items():
            assert getattr(model, attribute) == value, attribute
    text = problems_text(readme)
    for fragment in wanted:
        assert any(fragment in p for p in text), (fragment, text)
    if not wanted:
        assert text == []


def test_strict_fields_keep_source_order_and_unknown_keys() -> None:
    readme = parse(fixture("freeform_keys_no_eol.md"))
    assert list(readme.fields) == ["name", "Inspired by", "Used as a template",
                                   "base caffemodel weights"]


def test_strict_non_string_scalars_are_the_text_written() -> None:
    readme = parse(fixture("strict_numeric_values.md"))
    # YAML reads these as an (octal) int, a date, an int and a bool: str() would be wrong.
    assert readme.fields["sha1"] == "0123456701234567012345670123456701234567"
    assert readme.fields["caffe_commit"] == "2016-04-01"
    assert readme.fields["gist_id"] == "12345678901234567890"
    assert yaml.safe_load("sha1: 0123456701234567012345670123456701234567")["sha1"] != int(
        "123456701234567012345670123456701234567")  # really octal: the quirk is real


def test_strict_unknown_values_stay_as_loaded() -> None:
    readme = parse("---\nname: N\nsha1: " + SHA_A + "\nepochs: 12\nsizes: [1, 2]\n---\n")
    assert readme.fields["epochs"] == 12
    assert readme.models[0].extra == {"epochs": 12, "sizes": [1, 2]}


def test_lenient_fields_of_one_model_read_like_a_frontmatter() -> None:
    readme = parse(fixture("info_heading_dropbox.md"))
    assert readme.fields == {
        "name": "Ring Network Example Model", "caffemodel": "ring_example.caffemodel",
        "caffemodel_url": "https://www.dropbox.com/s/abc123def456gh/ring_example.caffemodel?dl=1",
        "license": "non-commercial", "sha1": SHA_B,
        "caffe_commit": "waiting for a pull request to be merged",
        "gist_id": "abcdefabcdefabcdef01"}


def test_multi_model_fields_are_document_level_only() -> None:
    assert parse(fixture("two_models_name_headings.md")).fields == {
        "gist_id": "5555aaaa5555aaaa5555"}


def test_code_fence_keys_are_ignored() -> None:
    readme = parse(fixture("code_fence.md"))
    assert [m.name for m in readme.models] == ["Fenced Net"]
    assert "ignored.caffemodel" not in repr(readme)


def test_sha1_is_lowercased_and_stripped() -> None:
    model = parse("---\nsha1: '  " + SHA_B.upper() + " '\n---\n").models[0]
    assert model.sha1 == SHA_B


def test_caffe_commit_wins_over_caffe_version() -> None:
    text = "name: N\ncaffe_version: old text\ncaffe_commit: abc123\n"
    assert parse(text).models[0].caffe_commit == "abc123"
    assert parse("---\nname: N\ncaffe version: 1.0.0\n---\n").models[0].caffe_commit == "1.0.0"


def test_strict_duplicate_key_is_reported() -> None:
    readme = parse("---\nname: N\nsha1: " + SHA_A + "\nsha1: " + SHA_B + "\n---\n")
    assert readme.models[0].sha1 == SHA_B
    assert "line 4: duplicate key 'sha1' (also on line 3); the last one is used" in (
        problems_text(readme))


def test_lenient_duplicate_gist_id_is_reported() -> None:
    readme = parse("name: N\ngist_id: aaaa\ncaffemodel: n.caffemodel\ngist_id: bbbb\n")
    assert readme.gist_id == "bbbb"
    assert any(p.startswith("line 4: gist_id appears again (first on line 2)")
               for p in problems_text(readme))


def test_unclosed_delimiter_reads_whole_text_leniently() -> None:
    readme = parse("---\nname: Open Net\nsha1: " + SHA_A + "\n")
    assert readme.form == "lenient"
    assert readme.models[0].name == "Open Net"
    assert "line 1: opening '---' has no closing '---'" in problems_text(readme)[0]


def test_rules_around_prose_fall_back_to_whole_text() -> None:
    text = "---\nJust a banner.\n---\n\nname: Banner Net\ncaffemodel: b.caffemodel\n"
    readme = parse(text)
    assert readme.form == "lenient"
    assert readme.models[0].caffemodel == "b.caffemodel"


def test_empty_block_has_no_model() -> None:
    readme = parse("---\n---\nbody\n")
    assert (readme.form, readme.models, readme.fields) == ("frontmatter", (), {})


def test_bom_is_ignored() -> None:
    readme = parse("\ufeff" + fixture("canonical.md"))
    assert readme.form == "frontmatter"
    assert readme.models[0].line == 2


def test_no_frontmatter_without_urls() -> None:
    readme = parse("# Title\n\nJust prose: nothing else.\n")
    assert readme.form == "none"
    assert readme.problems == (Problem(None, "no frontmatter found (no name, caffemodel, "
                                             "caffemodel_url or sha1 lines); add a '---' block "
                                             "with name, caffemodel, caffemodel_url and sha1"),)


def test_no_frontmatter_prefers_the_caffemodel_url() -> None:
    text = "See https://example.org/paper\n\nWeights: https://example.org/w/net.caffemodel\n"
    [problem] = parse(text).problems
    assert "line 3 may be the weights' location: https://example.org/w/net.caffemodel" in (
        problem.message)


@pytest.mark.parametrize("nested", ["[" * 50_000, "\n" + "- " * 50_000 + "x",
                                    "{a: " * 50_000 + "b" + "}" * 50_000],
                         ids=["flow-sequences", "block-sequences", "flow-mappings"])
def test_deep_nesting_is_invalid_yaml_not_a_crash(nested: str) -> None:
    # libyaml's composer recurses in C: this used to be a segfault, not an exception.
    readme = parse(f"---\nname: Deep Net\nk: {nested}\n---\n")
    assert readme.form == "lenient"
    assert readme.models[0].name == "Deep Net"
    assert any("invalid YAML" in p.message for p in readme.problems)


def test_deep_nesting_in_values_is_not_a_crash() -> None:
    assert format_scalar("[" * 50_000) == "'" + "[" * 50_000 + "'"
    assert parse('name: "x": ' + "[" * 50_000 + ' "\n').models[0].name == (
        'x": ' + "[" * 50_000 + " ")  # not valid YAML quoting: only the quotes are dropped


def test_problem_str() -> None:
    assert str(Problem(3, "invalid YAML (x); read as plain 'key: value' lines")) == (
        "line 3: invalid YAML (x); read as plain 'key: value' lines")
    assert str(Problem(None, "no frontmatter found")) == "no frontmatter found"


def test_oversized_header_raises_naming_the_path() -> None:
    text = "---\nname: big\nnote: " + "x" * MAX_FRONTMATTER_BYTES + "\n---\n"
    with pytest.raises(FrontmatterError) as info:
        parse(text, path="models/big/readme.md")
    assert str(info.value) == (f"models/big/readme.md:1: frontmatter is larger than "
                               f"{MAX_FRONTMATTER_BYTES} bytes")
    assert info.value.path == "models/big/readme.md"
    assert info.value.hint == "is the closing '---' missing?"


def test_oversized_body_without_header_is_fine() -> None:
    readme = parse("name: N\n" + ("prose line\n" * (MAX_FRONTMATTER_BYTES // 10)))
    assert readme.models[0].name == "N"


# --------------------------------------------------------------------------- shared readmes

SHARED_EXPECTED: dict[str, tuple[int, str | None, str | None]] = {
    # prefix: (number of models, sha1 of the first model, gist_id)
    "01": (1, "9116a64c0fbe4459d18f4bb6b56d647b63920377", None),
    "02": (1, "405fc5acd08a3bb12de8ee5e23a96bec22f08204", None),
    "03": (1, "4c8d77deb20ea792f84eb5e6d0a11ca0a8660a46", None),
    "04": (1, "bdd8abb885819cba5e2fe1eb36235f2319477e64", None),
    "05": (1, "b61b5cef7d771b53b0c488e78d35ccadc073e9cf", "034c6ac3865563b69e60"),
    "06": (1, "405fc5acd08a3bb12de8ee5e23a96bec22f08204", "866e2aa1fd707b89b913"),
    "07": (1, "443ad95a61fb0b5cd3cee55951bcc1f299186b5e", None),
    "08": (1, None, "211839e770f7b538e2d8"),
    "09": (1, None, "211839e770f7b538e2d8"),
    "10": (1, None, "fd8800eeb36e276cd6f9"),
    "11": (1, "8e89c8fcd46e02780e16c867a5308e7bb7af0803", "d802a5849de39225bcc6"),
    "12": (1, "8e89c8fcd46e02780e16c867a5308e7bb7af0803", "e56253735ef32c3c296d"),
    "13": (2, None, "c9e99062283c719c03de"),
    "14": (5, None, "54aee1b8b0397721aa4b"),
    "15": (1, None, "0179e52305ca768a601f"),
    "16": (1, None, "b90eb88e31cd745525ae"),
    "17": (1, "2c5d7842f25f880eec62fc610b500c5cf2aa351d", "c6bd432f7347548b0187"),
    "18": (1, "99cc76c373dc522fd70f80208b30a43ab2fba2f6", None),
    "19": (1, "97eb7c469c5097f51a0f9a944f4a5731f470eee2", None),
    "20": (1, "b5e34ce75d078025e07452cb47e65d198fe27912", None),
    "21": (1, None, "266d4150a1db5810398e"),
    "22": (1, None, "0585ed9428dc5222981f"),
    "23": (1, None, "509111f8a00a9ece2c3d5dde6a750129"),
    "24": (1, None, None),
    "25": (1, None, None),
    "26": (1, None, None),
    "27": (1, None, None),
    "28": (1, "9363e1f6d65f7dba68c4f27a1e62105cdf6c4e24", None),
    "29": (1, "591e7d8bbc1c55ff151b6984bde85ff5160aee31", "91eece041c19ff8968ee"),
    "30": (0, None, None),
}
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="shared/zoo-readmes not present")


def shared(prefix: str) -> str:
    [path] = SHARED.glob(f"{prefix}_*.yaml")
    text = path.read_bytes().decode("utf-8")
    return "".join(text.splitlines(keepends=True)[3:])  # drop the 3-line comment header


@needs_shared
def test_shared_folder_is_complete() -> None:
    assert sorted(p.name[:2] for p in SHARED.glob("*.yaml")) == sorted(SHARED_EXPECTED)


@needs_shared
@pytest.mark.parametrize("prefix", sorted(SHARED_EXPECTED))
def test_shared_readme(prefix: str) -> None:
    count, sha1, gist_id = SHARED_EXPECTED[prefix]
    readme = parse(shared(prefix))
    assert len(readme.models) == count
    assert readme.gist_id == gist_id
    if count:
        assert readme.models[0].sha1 == sha1
        assert readme.models[0].caffemodel_url or readme.models[0].name


@needs_shared
def test_shared_details() -> None:
    names = [m.name for m in parse(shared("13")).models]
    assert names == ["Age Classification CNN", "Gender Classification CNN"]
    emotion = parse(shared("14")).models
    assert [m.name for m in emotion][:2] == ["Emotion Classification CNN - RGB",
                                             "Emotion Classification CNN - LBP"]
    assert all(m.caffemodel and m.caffemodel.endswith("/EmotiW_VGG_S.caffemodel")
               for m in emotion)
    yearbook = parse(shared("24")).models[0]
    assert yearbook.caffemodel_url == (
        "https://www.dropbox.com/s/6bbbckxwa14ainq/yearbook_cleaned.caffemodel?dl=0")
    assert yearbook.caffe_commit == "commit 68c9e2b4703ce18fd9a7ab541addf701129a8080"
    cars = parse(shared("27"))
    assert cars.form == "frontmatter"
    assert "Based on technics" in cars.fields
    assert "Based on technics" in cars.models[0].extra
    assert cars.models[0].caffemodel is None
    assert cars.models[0].name == "Fine-tuning CaffeNet on Stanford Cars Dataset"
    for prefix in ("08", "22"):
        readme = parse(shared(prefix))
        assert readme.form == "lenient"
        assert ': "' in (readme.models[0].name or "")
    none = parse(shared("30"))
    assert none.form == "none"
    assert "line 3 looks like the weights' location" in none.problems[0].message
    assert "drive.google.com" in none.problems[0].message


# --------------------------------------------------------------------------- set_fields

def test_insert_gist_id_into_canonical_form() -> None:
    before = fixture("canonical.md")
    after = set_fields(before, {"gist_id": "0123456789abcdef0123"})
    assert changes(before, after) == ([], ["gist_id: 0123456789abcdef0123\n"])
    assert after.index("gist_id:") < after.index("---\n", 4)  # inside the block
    assert parse(after).gist_id == "0123456789abcdef0123"


def test_update_sha1() -> None:
    before = fixture("canonical.md")
    after = set_fields(before, {"sha1": SHA_B})
    assert changes(before, after) == (
        ["sha1: 3f2a9c1e5b7d40a8c6e2f1b3d5a7c9e0f2b4d6a8\n"], [f"sha1: {SHA_B}\n"])
    assert parse(after).models[0].sha1 == SHA_B


def test_numeric_values_are_quoted_so_they_stay_text() -> None:
    before = fixture("canonical.md")
    digits = "1234567890" * 4
    after = set_fields(before, {"sha1": digits, "gist_id": "0000111122223333"})
    assert f"sha1: '{digits}'\n" in after
    assert "gist_id: '0000111122223333'\n" in after
    assert yaml.safe_load(after.split("---\n")[1])["sha1"] == digits  # Caffe's own reader too


def test_replace_block_scalar_keeps_comments() -> None:
    before = fixture("block_scalar_license.md")
    after = set_fields(before, {"license": "MIT", "sha1": SHA_A})
    removed, added = changes(before, after)
    assert removed == ["license: |\n", "  Free for research.\n", "\n",
                       "  Ask before commercial use.\n",
                       "sha1: 5555666677778888999900001111222233334444  # checked 2024\n"]
    assert added == ["license: MIT\n", f"sha1: {SHA_A}  # checked 2024\n"]
    assert "# maintained by hand\n" in after
    model = parse(after).models[0]
    assert (model.license, model.sha1) == ("MIT", SHA_A)


def test_fill_and_clear_an_empty_value() -> None:
    before = fixture("empty_gist_id.md")
    after = set_fields(before, {"gist_id": "abcdef0123456789abcd"})
    assert changes(before, after) == (["gist_id:\n"], ["gist_id: abcdef0123456789abcd\n"])
    assert set_fields(after, {"gist_id": None}) == before
    assert set_fields(after, {"gist_id": ""}) == before


def test_insert_keeps_blank_line_rhythm_of_strict_block() -> None:
    before = fixture("delimited_blank_lines.md")
    after = set_fields(before, {"sha1": SHA_A})
    assert after.endswith(f"gist_id: feedfacefeedfacefeed\n\nsha1: {SHA_A}\n\n---\nBody text.\n")
    assert changes(before, after)[0] == []


def test_insert_into_block_without_final_newline() -> None:
    before = fixture("freeform_keys_no_eol.md")
    after = set_fields(before, {"caffemodel": "cars.caffemodel"})
    assert after.endswith("base caffemodel weights: models/example_base/example_base.caffemodel"
                          "\ncaffemodel: cars.caffemodel\n---")
    assert parse(after).models[0].extra == parse(before).models[0].extra


def test_crlf_strict() -> None:
    before = fixture("canonical.md").replace("\n", "\r\n")
    after = set_fields(before, {"gist_id": "abcdabcdabcdabcdabcd", "sha1": SHA_A})
    removed, added = changes(before, after)
    assert removed == ["sha1: 3f2a9c1e5b7d40a8c6e2f1b3d5a7c9e0f2b4d6a8\r\n"]
    assert added == [f"sha1: {SHA_A}\r\n", "gist_id: abcdabcdabcdabcdabcd\r\n"]
    assert "\n" not in after.replace("\r\n", "")
    assert parse(after).gist_id == "abcdabcdabcdabcdabcd"


def test_crlf_lenient() -> None:
    before = fixture("info_heading_colon_in_name.md").replace("\n", "\r\n")
    after = set_fields(before, {"sha1": SHA_A, "gist_id": "feedfeedfeedfeedfeed"})
    assert after == before.replace(
        "Caffe fork\r\n\r\ngist_id: 1a2b3c4d5e6f7a8b9c0d\r\n",
        f"Caffe fork\r\n\r\nsha1: {SHA_A}\r\n\r\ngist_id: feedfeedfeedfeedfeed\r\n")
    assert "\n" not in after.replace("\r\n", "")
    readme = parse(after)
    assert (readme.models[0].sha1, readme.gist_id) == (SHA_A, "feedfeedfeedfeedfeed")


def test_lenient_replace_keeps_heading_marks() -> None:
    before = fixture("two_models_name_headings.md")
    after = set_fields(before, {"name": "Hue Net: v2"}, model=0)
    assert changes(before, after) == (["###name: Colour Classification Net\n"],
                                      ["###name: 'Hue Net: v2'\n"])
    assert [m.name for m in parse(after).models] == ["Hue Net: v2", "Shape Classification Net"]


def test_lenient_insert_into_second_model() -> None:
    before = fixture("two_models_name_headings.md")
    after = set_fields(before, {"sha1": SHA_A}, model=1)
    assert after == before.replace("/mean.binaryproto\n", f"/mean.binaryproto\n\nsha1: {SHA_A}\n")
    models = parse(after).models
    assert [m.sha1 for m in models] == [None, SHA_A]
    assert after.index(f"sha1: {SHA_A}") < after.index("gist_id:")


def test_lenient_insert_name_before_block() -> None:
    before = fixture("models_named_by_headings.md")
    after = set_fields(before, {"name": "Edge Texture Net"}, model=1)
    assert changes(before, after)[0] == []
    assert [m.name for m in parse(after).models] == [
        "Texture Net - Gray", "Edge Texture Net", "Texture Net - Colour"]


def test_lenient_insert_name_after_block_without_caffemodel() -> None:
    before = fixture("spaced_keys_in_prose.md")
    after = set_fields(before, {"name": "Photos Net"})
    assert after == before.replace("?dl=0\n", "?dl=0\n\nname: Photos Net\n")
    assert parse(after).models[0].name == "Photos Net"


def test_error_name_that_would_join_the_previous_model() -> None:
    text = ("caffemodel_url: http://example.org/a\nsha1: " + SHA_A + "\n"
            "caffemodel_url: http://example.org/b\ncaffemodel: b.caffemodel\n")
    assert len(parse(text).models) == 2
    with pytest.raises(FrontmatterError) as info:
        set_fields(text, {"name": "B"}, model=1)
    assert str(info.value) == ("readme.md: setting 'name' to 'B' would read back as None; "
                               "readme left unchanged")


def test_lenient_spaced_key_is_edited_in_place() -> None:
    before = fixture("spaced_keys_in_prose.md")
    after = set_fields(before, {"caffemodel_url": "https://files.example.com/photos.caffemodel"})
    assert changes(before, after) == (
        ["caffemodel url: https://www.dropbox.com/s/qqq111www222/photos_cleaned.caffemodel?dl=0\n"],
        ["caffemodel url: https://files.example.com/photos.caffemodel\n"])


def test_lenient_without_final_newline() -> None:
    before = "name: Tail Net\ncaffemodel: tail.caffemodel"
    after = set_fields(before, {"sha1": SHA_A})
    assert after == f"name: Tail Net\ncaffemodel: tail.caffemodel\nsha1: {SHA_A}"


def test_fixing_invalid_yaml_by_quoting() -> None:
    before = fixture("strict_invalid_yaml.md")
    after = set_fields(before, {"name": 'Net from the talk: "Colons Everywhere"'})
    assert changes(before, after) == (['name: Net from the talk: "Colons Everywhere"\n'],
                                      ["name: 'Net from the talk: \"Colons Everywhere\"'\n"])
    assert parse(after).form == "frontmatter"


def test_no_frontmatter_gets_a_canonical_block() -> None:
    before = fixture("no_frontmatter_drive.md")
    after = set_fields(before, {"sha1": SHA_A, "name": "Scenes", "gist_id": None})
    assert after == f"---\nname: Scenes\nsha1: {SHA_A}\ngist_id:\n---\n\n" + before
    readme = parse(after)
    assert (readme.form, readme.models[0].name, readme.models[0].sha1) == (
        "frontmatter", "Scenes", SHA_A)


def test_no_frontmatter_crlf_and_bom() -> None:
    before = "\ufeffJust prose.\r\nMore prose.\r\n"
    after = set_fields(before, {"name": "X"})
    assert after == "\ufeff---\r\nname: X\r\n---\r\n\r\nJust prose.\r\nMore prose.\r\n"


def test_bom_is_kept_on_edit() -> None:
    before = "\ufeff" + fixture("canonical.md")
    after = set_fields(before, {"license": "MIT"})
    assert after == before.replace("license: unrestricted", "license: MIT")


def test_empty_updates_change_nothing() -> None:
    text = fixture("no_frontmatter_drive.md")
    assert set_fields(text, {}) is text


# --------------------------------------------------------------------------- errors

def test_error_model_out_of_range() -> None:
    with pytest.raises(FrontmatterError) as info:
        set_fields(fixture("two_models_name_headings.md"), {"sha1": SHA_A}, model=2,
                   path="zoo/age/readme.md")
    assert str(info.value) == "zoo/age/readme.md: no model 2: the readme describes 2"
    assert isinstance(info.value, ZooError)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(("updates", "message"), [
    ({"bad key": "x"}, "readme.md: cannot write key 'bad key': use a plain snake_case key"),
    ({"null": "x"}, "readme.md: cannot write key 'null': use a plain snake_case key"),
    ({"name": "two\nlines"}, "readme.md: value of 'name' spans several lines; "
                             "frontmatter values must fit on one line"),
    ({"name": 5}, "readme.md: value of 'name' must be a string, not int"),
])
def test_error_bad_updates(updates: dict[str, object], message: str) -> None:
    with pytest.raises(FrontmatterError) as info:
        set_fields(fixture("canonical.md"), updates)  # type: ignore[arg-type]
    assert str(info.value) == message


def test_error_lenient_unreadable_key() -> None:
    with pytest.raises(FrontmatterError, match="cannot add 'epochs' to a readme without a '---'"):
        set_fields(fixture("bare_keys_top.md"), {"epochs": "3"})


def test_error_edit_that_would_break_yaml() -> None:
    text = "---\n{name: Flow Net,\nsha1: abc}\n---\n"
    assert parse(text).form == "frontmatter"
    with pytest.raises(FrontmatterError) as info:
        set_fields(text, {"sha1": SHA_A})
    assert str(info.value) == ("readme.md: the edit would break the YAML of the '---' block; "
                               "readme left unchanged")


def test_error_edit_that_would_not_read_back(monkeypatch: pytest.MonkeyPatch) -> None:
    # Simulate a formatting bug: the read-back check must refuse to return the broken text.
    real = frontmatter_edit.format_scalar
    monkeypatch.setattr(frontmatter_edit, "format_scalar",
                        lambda value: "0777" if value == SHA_A else real(value))
    with pytest.raises(FrontmatterError) as info:
        set_fields(fixture("canonical.md"), {"sha1": SHA_A})
    assert str(info.value) == (f"readme.md: setting 'sha1' to '{SHA_A}' would read back as "
                               "'0777'; readme left unchanged")
    assert info.value.hint == "edit the readme by hand"


# --------------------------------------------------------------------------- render / format

@pytest.mark.parametrize(("value", "expected"), [
    (None, ""),
    ("bvlc_alexnet.caffemodel", "bvlc_alexnet.caffemodel"),
    ("http://example.org/a.caffemodel?dl=1", "http://example.org/a.caffemodel?dl=1"),
    ("0123", "'0123'"),
    ("yes", "'yes'"),
    ("2016-04-01", "'2016-04-01'"),
    ("", "''"),
    ("paper: It's deep", "'paper: It''s deep'"),
    ("a # b", "'a # b'"),
    (" padded ", "' padded '"),
    ("- item", "'- item'"),
    ("two\nlines", '"two\\nlines"'),
    ("bell\x07", '"bell\\a"'),
])
def test_format_scalar(value: str | None, expected: str) -> None:
    assert format_scalar(value) == expected
    if value is not None:
        assert yaml.safe_load(f"k: {expected}") == {"k": value}


def test_render_orders_known_keys_first() -> None:
    text = render({"zeta": "z", "sha1": SHA_A, "Based on": "x", "name": "N", "gist_id": None,
                   "epochs": 3, "sizes": [1, 2]})
    assert text == (f"---\nname: N\nsha1: {SHA_A}\ngist_id:\nzeta: z\nBased on: x\nepochs: 3\n"
                    "sizes:\n- 1\n- 2\n---\n")
    assert parse(text).fields == {"name": "N", "sha1": SHA_A, "gist_id": None, "zeta": "z",
                                  "Based on": "x", "epochs": 3, "sizes": [1, 2]}


# --------------------------------------------------------------------------- properties

FRAGMENTS = st.sampled_from([
    "---", "--- ", "--", "```", "~~~", "# ", "###", "name", "sha1", "caffemodel", "gist_id",
    "caffemodel url", "caffe version", "mean_file", ": ", ":", " ", "\t", "\r", "'", '"',
    "!!python/object", "!!int", "&a", "*a", "[", "{", "}", "]", "- ", "|", ">", "?", "%",
    "\ufeff", "\x00", "\x85", "\u2028", "https://drive.google.com/file/d/x/view", "0123",
])
LINES = st.lists(st.lists(FRAGMENTS | st.text(max_size=8), max_size=8).map("".join), max_size=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(), LINES.map("\n".join), LINES.map(lambda ls: "---\n" + "\n".join(ls)),
                 LINES.map(lambda ls: "---\n" + "\n".join(ls) + "\n---\n")))
def test_parse_never_raises_anything_else(text: str) -> None:
    try:
        readme = parse(text)
    except FrontmatterError:
        return
    assert readme.form in ("frontmatter", "lenient", "none")
    if readme.form != "frontmatter":
        assert bool(readme.models) == (readme.form == "lenient")
    for problem in readme.problems:
        assert problem.line is None or 1 <= problem.line <= text.count("\n") + 1


SAFE_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
KNOWN_MAPPINGS = st.dictionaries(st.sampled_from(KNOWN_KEYS), SAFE_TEXT | st.none())


@settings(max_examples=300, deadline=None)
@given(KNOWN_MAPPINGS)
def test_render_round_trips(mapping: dict[str, str | None]) -> None:
    readme = parse(render(mapping))
    assert readme.form == "frontmatter"
    assert readme.fields == mapping


ONE_LINE = SAFE_TEXT.filter(lambda s: not any(c in s for c in "\n\r\x85\u2028\u2029"))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["canonical.md", "delimited_blank_lines.md", "info_heading_dropbox.md",
                        "two_models_name_headings.md"]),
       st.sampled_from(["name", "sha1", "caffemodel_url", "license", "gist_id"]), ONE_LINE)
def test_set_fields_round_trips(name: str, key: str, value: str) -> None:
    before = fixture(name)
    after = set_fields(before, {key: value})
    expected = value if value.strip() else None
    readme = parse(after)
    got = readme.gist_id if key == "gist_id" else readme.fields.get(key) if (
        readme.form == "frontmatter") else getattr(readme.models[0], key)
    if key == "sha1" and readme.form == "lenient" and expected is not None:
        expected = expected.strip().lower()
    assert got == expected
    removed, added = changes(before, after)
    assert len(removed) <= 1
    assert all(line.strip() == "" or key in line for line in added)
