"""Pure: normalise source URLs (Dropbox, GitHub blob, Google Drive) and recognise web pages."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_DROPBOX_HOSTS = ("www.dropbox.com", "dropbox.com")
_GITHUB_BLOB = re.compile(r"^/([^/]+)/([^/]+)/blob/(.+)$")
_DRIVE_FILE = re.compile(r"^/file/d/([A-Za-z0-9_-]+)")
_HTML_START = (b"<!doctype html", b"<html", b"<head", b"<!--", b"<?xml")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def normalize(url: str) -> str:
    """Turn a share link into a direct download link; other URLs are returned unchanged.

    >>> normalize("https://www.dropbox.com/s/abc/w.caffemodel?dl=0")
    'https://www.dropbox.com/s/abc/w.caffemodel?dl=1'
    >>> normalize("https://github.com/u/r/blob/master/m/w.caffemodel?raw=true")
    'https://raw.githubusercontent.com/u/r/master/m/w.caffemodel'
    >>> normalize("https://drive.google.com/file/d/0B_x/view?usp=sharing")
    'https://drive.google.com/uc?export=download&id=0B_x'
    """
    url = url.strip()
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme in ("http", "https") and host in _DROPBOX_HOSTS:
        # Dropbox serves an HTML preview for dl=0 (and for truncated forms like '?d').
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                 if k not in ("dl", "d", "raw")]
        query.append(("dl", "1"))
        return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
    if parts.scheme in ("http", "https") and host == "github.com":
        m = _GITHUB_BLOB.match(parts.path)
        if m:
            owner, repo, rest = m.groups()
            return f"https://raw.githubusercontent.com/{owner}/{repo}/{rest}"
    if parts.scheme in ("http", "https") and host == "drive.google.com":
        m = _DRIVE_FILE.match(parts.path)
        if m:
            return f"https://drive.google.com/uc?export=download&id={m.group(1)}"
    return url


#: File name endings of model weights (what a link to the weights, not to a page, ends with).
WEIGHTS_SUFFIXES = (".caffemodel", ".pt", ".pth", ".onnx", ".safetensors", ".h5", ".bin",
                    ".ckpt", ".weights", ".npz")


def looks_like_weights(url: str) -> bool:
    """Whether ``url`` names a weights file: a weights-like file name, or a Dropbox or
    Google Drive file link. Pages (a paper, a project site) are not.

    >>> looks_like_weights("http://x.org/m/net.caffemodel"), looks_like_weights("https://x.org/paper")
    (True, False)
    >>> looks_like_weights("https://drive.google.com/file/d/0B_x/view?usp=sharing")
    True
    >>> looks_like_weights("https://www.dropbox.com/s/abc/net.tar?dl=0")
    True
    """
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if parts.path.lower().endswith(WEIGHTS_SUFFIXES):
        return True
    if host.endswith(("dropbox.com", "dropboxusercontent.com")):
        return parts.path.startswith(("/s/", "/scl/fi/", "/u/")) or host.startswith("dl.")
    if host in ("drive.google.com", "docs.google.com"):
        return "/file/d/" in parts.path or "id=" in parts.query
    return False


def parse_git_source(source: str) -> tuple[str, str, str | None]:
    """``git+URL#PATH@REV`` (``fetch_model``'s git form) as (URL, PATH, REV or None).

    >>> parse_git_source("git+https://example.org/zoo.git#models/alexnet@v1")
    ('https://example.org/zoo.git', 'models/alexnet', 'v1')
    >>> parse_git_source("git+file:///srv/zoo.git#models/a/w.caffemodel")
    ('file:///srv/zoo.git', 'models/a/w.caffemodel', None)

    Raises
    ------
    ValueError
        No ``#PATH``.
    """
    body = source.removeprefix("git+")
    url, _, fragment = body.partition("#")
    path, at, rev = fragment.rpartition("@")
    if not at:
        path, rev = fragment, ""
    if not url or not path:
        raise ValueError(f"{source!r}: expected git+URL#PATH[@REV]")
    return url, path, rev or None


def is_remote(url: str) -> bool:
    """True when ``url`` names a network location rather than a local path or ``file://``."""
    m = _SCHEME.match(url)
    return bool(m) and not url.startswith("file://")


def is_http(url: str) -> bool:
    """True for ``http://`` and ``https://`` URLs."""
    return url.startswith(("http://", "https://"))


def looks_like_html(first_bytes: bytes, content_type: str | None = None) -> bool:
    """Whether a response that should be a binary is in fact a web page.

    Decided by the Content-Type and by the first bytes, since many hosts send
    ``text/html`` error pages with status 200.

    >>> looks_like_html(b"  <!DOCTYPE html><html>")
    True
    >>> looks_like_html(b"\\x08\\x01\\x12\\x07CaffeNet")
    False
    """
    if content_type and content_type.split(";")[0].strip().lower() in ("text/html",
                                                                         "application/xhtml+xml"):
        return True
    head = first_bytes[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(_HTML_START)


def redact(url: str) -> str:
    """A URL fit for messages: user info and query secrets (signatures, tokens) removed."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = [(k, "***" if k.lower() in _SECRET_PARAMS else v)
             for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe="*"),
                       parts.fragment))


_SECRET_PARAMS = {"token", "access_token", "x-amz-signature", "x-amz-credential",
                  "x-amz-security-token", "signature", "sig", "key"}


def object_url(remote_url: str, sha1: str) -> str:
    """Where object ``sha1`` lives on a remote: ``<remote>/sha1/<2 hex>/<38 hex>``.

    >>> object_url("s3://zoo/objects/", "9116a64c0fbe4459d18f4bb6b56d647b63920377")
    's3://zoo/objects/sha1/91/16a64c0fbe4459d18f4bb6b56d647b63920377'
    """
    return f"{remote_url.rstrip('/')}/sha1/{sha1[:2]}/{sha1[2:]}"
