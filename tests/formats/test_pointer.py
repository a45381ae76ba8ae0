"""Pointer format: canonical encoding, tolerant decoding, and refusals that name the file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from zoo_vcs.errors import PointerError
from zoo_vcs.formats import pointer as ptr

SHA1 = "9116a64c0fbe4459d18f4bb6b56d647b63920377"
SHA256 = "a" * 64


def test_spec_example_round_trips_byte_identically():
    spec = (Path(__file__).parents[2] / "docs" / "pointer-spec.md").read_text()
    example = re.search(r"```yaml\n(.*?)```", spec, re.S).group(1)
    p = ptr.decode(example, "spec")
    assert p.sha1 == SHA1
    assert p.size == 243862418
    assert len(p.urls) == 2
    assert ptr.encode(p) == example


def test_encode_order_and_unknown_keys_preserved():
    p = ptr.Pointer(SHA1, size=5, sha256=SHA256, urls=("http://h/x",),
                    extra={"zz": [1, 2], "note": "kept"})
    text = ptr.encode(p)
    keys = [line.split(":")[0] for line in text.splitlines() if not line.startswith(("-", " "))]
    assert keys == ["zoo-vcs", "sha1", "sha256", "size", "urls", "note", "zz"]
    back = ptr.decode(text)
    assert back == p
    assert ptr.encode(back) == text


def test_non_canonical_yaml_is_accepted():
    text = f"# a comment\nurls: [http://a/b]\nsize: 3\nsha1: '{SHA1.upper()}'\nzoo-vcs: 1\n"
    p = ptr.decode(text)
    assert p.sha1 == SHA1
    assert p.urls == ("http://a/b",)


def test_url_needing_quotes_round_trips():
    odd = ("http://h/a#b:c", "'quoted'", "*star", "&anchor", "[x]", "-dash")
    p = ptr.Pointer(SHA1, urls=odd)
    assert ptr.decode(ptr.encode(p)).urls == odd


@pytest.mark.parametrize(("text", "message"), [
    ("sha1: " + SHA1 + "\n", "no 'zoo-vcs:' version key"),
    ("zoo-vcs: 2\nsha1: " + SHA1 + "\n", "version 2 is not supported"),
    ("zoo-vcs: 1\n", "no sha1"),
    ("zoo-vcs: 1\nsha1: 1234\n", "sha1 must be 40 lower-case hex digits"),
    ("zoo-vcs: 1\nsha1: " + SHA1 + "\nsize: -1\n", "size must be a whole number"),
    ("zoo-vcs: 1\nsha1: " + SHA1 + "\nsize: 99999999999999999999\n", "size must be"),
    ("zoo-vcs: 1\nsha1: " + SHA1 + "\nsize: true\n", "size must be"),
    ("zoo-vcs: 1\nsha1: " + SHA1 + "\nsha256: xyz\n", "sha256 must be 64"),
    ("zoo-vcs: 1\nsha1: " + SHA1 + "\nurls: 5\n", "urls must be a list"),
    ("zoo-vcs: 1\nsha1: " + SHA1 + "\nurls: [a b]\n", "without spaces"),
    ("zoo-vcs: 1\nsha1: [unclosed\n", "invalid YAML"),
    ("- just\n- a list\n", "expected a YAML mapping"),
    ("zoo-vcs: 1\nsha1: " + SHA1 + "\nBad Key: 1\n", "invalid key"),
    ("!!python/object/apply:os.system ['echo hi']\n", "invalid YAML"),
    # Deep nesting segfaults libyaml: it must be an ordinary, reported error.
    ("zoo-vcs: 1\nsha1: " + "[" * 40000 + "\n", "invalid YAML"),
    ("zoo-vcs: 1\nx: " + "{a: " * 15000 + "\n", "invalid YAML"),
])
def test_malformed_pointers_name_the_file_and_the_problem(text, message):
    with pytest.raises(PointerError) as info:
        ptr.decode(text, "models/x.caffemodel.zoo")
    assert str(info.value).startswith("models/x.caffemodel.zoo")
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


def test_oversized_and_binary_input_refused():
    with pytest.raises(PointerError, match="larger than 65536 bytes"):
        ptr.decode(b"x" * (ptr.MAX_POINTER_BYTES + 1), "big.zoo")
    with pytest.raises(PointerError, match="not UTF-8"):
        ptr.decode(b"zoo-vcs: 1\n\xff\xfe", "bin.zoo")


def test_invalid_yaml_reports_line():
    with pytest.raises(PointerError) as info:
        ptr.decode(f"zoo-vcs: 1\nsha1: {SHA1}\nurls:\n- a\n  - : [\n", "p.zoo")
    assert info.value.line is not None


def test_with_url_appends_once():
    p = ptr.Pointer(SHA1, urls=("a",))
    assert p.with_url("b").with_url("b").urls == ("a", "b")


def test_names():
    assert ptr.pointer_path_for("w.caffemodel") == "w.caffemodel.zoo"
    assert ptr.binary_path_for("w.caffemodel.zoo") == "w.caffemodel"
