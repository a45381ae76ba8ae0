"""URL normalisation (share links to direct downloads) and web-page detection."""

from __future__ import annotations

import pytest

from zoo_vcs.formats import urls


@pytest.mark.parametrize(("given", "expected"), [
    ("https://www.dropbox.com/s/6bbb/yearbook.caffemodel?dl=0",
     "https://www.dropbox.com/s/6bbb/yearbook.caffemodel?dl=1"),
    ("https://www.dropbox.com/s/1om7/k.caffemodel?d", "https://www.dropbox.com/s/1om7/k.caffemodel?dl=1"),
    ("https://www.dropbox.com/s/0cid/nin.caffemodel?dl=1",
     "https://www.dropbox.com/s/0cid/nin.caffemodel?dl=1"),
    ("https://dropbox.com/s/x/y?raw=1", "https://dropbox.com/s/x/y?dl=1"),
    ("https://github.com/ishay/VanillaCNN/blob/master/ZOO/v.caffemodel?raw=true",
     "https://raw.githubusercontent.com/ishay/VanillaCNN/master/ZOO/v.caffemodel"),
    ("https://drive.google.com/file/d/0B_s0NuQ5DMW/view?usp=sharing",
     "https://drive.google.com/uc?export=download&id=0B_s0NuQ5DMW"),
    ("http://dl.caffe.berkeleyvision.org/bvlc_alexnet.caffemodel",
     "http://dl.caffe.berkeleyvision.org/bvlc_alexnet.caffemodel"),
    ("s3://bucket/key?dl=0", "s3://bucket/key?dl=0"),
    ("  /local/path.caffemodel ", "/local/path.caffemodel"),
])
def test_normalize(given, expected):
    assert urls.normalize(given) == expected


@pytest.mark.parametrize(("head", "ctype", "html"), [
    (b"<!DOCTYPE html><html>", None, True),
    (b"\n\n  <html lang=en>", None, True),
    (b"\xef\xbb\xbf<!doctype HTML>", None, True),
    (b"\x08\x01\x12\x07CaffeNet", None, False),
    (b"\x08\x01", "text/html; charset=utf-8", True),
    (b"\x08\x01", "application/octet-stream", False),
])
def test_looks_like_html(head, ctype, html):
    assert urls.looks_like_html(head, ctype) is html


def test_redact_hides_credentials_and_signatures():
    shown = urls.redact("https://user:pw@host/p?X-Amz-Signature=abc&dl=1&token=t0k")
    assert "pw" not in shown
    assert "abc" not in shown
    assert "t0k" not in shown
    assert "dl=1" in shown


def test_is_remote():
    assert urls.is_remote("s3://b/k")
    assert urls.is_remote("https://h/x")
    assert not urls.is_remote("file:///tmp/x")
    assert not urls.is_remote("relative/x")
