"""Pure: the ``Pointer`` record and its canonical encoding; the pointer spec's constants live here.

A pointer is the small YAML file ``<file>.zoo`` committed in place of a binary. The
format is stated in ``docs/pointer-spec.md``; this module is its reference reader and
writer. Decoding has a fast path for the canonical form (what :func:`encode` writes),
because ``status`` over ten thousand pointers must not pay a YAML parse for each.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from zoo_vcs.errors import PointerError

#: Key holding the format version; always the first line.
VERSION_KEY = "zoo-vcs"
VERSION = 1
#: Suffix of pointer files: ``weights.caffemodel`` -> ``weights.caffemodel.zoo``.
SUFFIX = ".zoo"
#: Pointers are small; anything larger is not a pointer (and not worth parsing).
MAX_POINTER_BYTES = 64 * 1024
#: Largest object size accepted (1 PiB): a guard against absurd values, not a policy.
MAX_OBJECT_SIZE = 1 << 50
KNOWN_KEYS = (VERSION_KEY, "sha1", "sha256", "size", "urls")
#: Unknown keys must look like this so that the canonical form stays line-oriented.
KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
SHA1_RE = re.compile(r"^[0-9a-f]{40}$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")

_URL_ITEM = re.compile(r"^- (\S+)$")
#: Scalars YAML certainly reads back as the same string, without asking it: an absolute
#: path or a scheme URL (never a number, bool or null), no indicator, space or trailing
#: colon. Push writes thousands of pointers; YAML's round trip is the slow path.
_SAFE_PLAIN = re.compile(r"(?:/|[A-Za-z][A-Za-z0-9+.-]*://)[A-Za-z0-9/._~%+=&?:@-]*(?<!:)")
_SPACE = re.compile(r"\s")
_VERSION_LINE = f"{VERSION_KEY}: {VERSION}"


@dataclass(frozen=True)
class Pointer:
    """What a binary hashes to and where its bytes can be fetched.

    Parameters
    ----------
    sha1
        40 lower-case hex digits; the object's identity.
    size
        Size in bytes, or None for legacy entries that never recorded it.
    sha256
        Optional second hash, verified when present.
    urls
        fsspec URLs in preference order (mirrors).
    extra
        Unknown keys, preserved verbatim through decode/encode.
    """

    sha1: str
    size: int | None = None
    sha256: str | None = None
    urls: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _validate(self, "<pointer>")

    def with_url(self, url: str) -> Pointer:
        """Return a copy that also lists ``url`` (appended, no duplicates)."""
        if url in self.urls:
            return self
        return replace(self, urls=(*self.urls, url))


def _validate(p: Pointer, path: str) -> None:
    if not isinstance(p.sha1, str) or not SHA1_RE.match(p.sha1):
        raise PointerError(path, f"sha1 must be 40 lower-case hex digits, got {p.sha1!r}")
    if p.sha256 is not None and (not isinstance(p.sha256, str) or not SHA256_RE.match(p.sha256)):
        raise PointerError(path, f"sha256 must be 64 lower-case hex digits, got {p.sha256!r}")
    if p.size is not None and (
        isinstance(p.size, bool) or not isinstance(p.size, int)
        or p.size < 0 or p.size > MAX_OBJECT_SIZE
    ):
        raise PointerError(path, f"size must be a whole number of bytes, got {p.size!r}")
    for url in p.urls:
        if not isinstance(url, str) or not url or _SPACE.search(url):
            raise PointerError(path, f"urls must be non-empty strings without spaces, got {url!r}")
    for key in p.extra:
        if key in KNOWN_KEYS or not KEY_RE.match(key):
            raise PointerError(path, f"invalid key {key!r}")


def encode(p: Pointer) -> str:
    """Canonical text of a pointer: UTF-8, LF, version first, known keys, then the rest sorted.

    >>> print(encode(Pointer("9116a64c0fbe4459d18f4bb6b56d647b63920377", size=3)), end="")
    zoo-vcs: 1
    sha1: 9116a64c0fbe4459d18f4bb6b56d647b63920377
    size: 3
    """
    lines = [f"{VERSION_KEY}: {VERSION}", f"sha1: {_hex_scalar(p.sha1)}"]
    if p.sha256 is not None:
        lines.append(f"sha256: {_hex_scalar(p.sha256)}")
    if p.size is not None:
        lines.append(f"size: {p.size}")
    if p.urls:
        lines.append("urls:")
        lines.extend(f"- {_yaml_scalar(u)}" for u in p.urls)
    text = "\n".join(lines) + "\n"
    if p.extra:
        import yaml

        # One dump for all extra keys: anchors for shared values stay unique.
        # ASCII with escapes: line-break characters such as NEL survive the round trip.
        text += yaml.safe_dump(dict(sorted(p.extra.items())), default_flow_style=False,
                               sort_keys=True, allow_unicode=False)
    return text


def _hex_scalar(value: str) -> str:
    # An all-digit hash would read back as a YAML integer: quote it (astronomically rare).
    return f"'{value}'" if value.isdigit() else value


def _yaml_scalar(value: str) -> str:
    """A URL as a YAML scalar: plain when YAML reads it back unchanged, quoted otherwise."""
    if _SAFE_PLAIN.fullmatch(value):
        return value
    if _URL_ITEM.match(f"- {value}") and _plain_ok(value):
        return value
    import yaml

    dumped = yaml.safe_dump(value, default_style="'", width=1 << 16)
    return dumped.strip().removesuffix("...").strip()


def _plain_ok(value: str) -> bool:
    import yaml

    try:
        return bool(yaml.safe_load(value) == value)
    except yaml.YAMLError:
        return False


def decode(text: str | bytes, path: str = "<pointer>") -> Pointer:
    """Parse pointer text; raise :class:`PointerError` naming ``path`` on anything malformed.

    Accepts any YAML mapping with the right keys, not only the canonical form.
    """
    if isinstance(text, bytes):
        if len(text) > MAX_POINTER_BYTES:
            raise PointerError(path, f"larger than {MAX_POINTER_BYTES} bytes: not a pointer")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PointerError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if len(text) > MAX_POINTER_BYTES:
        raise PointerError(path, f"larger than {MAX_POINTER_BYTES} bytes: not a pointer")
    data = _decode_canonical(text)
    if data is not None and "sha1" in data:
        # Canonical: only known keys with checked shapes; the record validates the rest.
        try:
            return Pointer(sha1=data["sha1"], size=data.get("size"),
                           sha256=data.get("sha256"), urls=tuple(data.get("urls", ())))
        except PointerError as exc:
            raise PointerError(path, str(exc).split(": ", 1)[1]) from None
    if data is None:
        data = _decode_yaml(text, path)
    return _from_mapping(data, path)


def _decode_canonical(text: str) -> dict[str, Any] | None:
    """Fast path for the canonical form; None means 'not canonical, use YAML'.

    Accepts only what :func:`encode` writes for the known keys (alphanumeric hashes,
    digit sizes, plain URLs), so its result always equals what YAML would read.
    """
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if not lines or lines[0] != _VERSION_LINE:
        return None
    data: dict[str, Any] = {VERSION_KEY: VERSION}
    urls: list[str] | None = None
    for line in lines[1:]:
        if urls is not None and line.startswith("- "):
            url = line[2:]
            if not url or not _looks_plain(url) or _SPACE.search(url):
                return None
            urls.append(url)
            continue
        if line == "urls:" and "urls" not in data:
            urls = data["urls"] = []
            continue
        key, sep, value = line.partition(": ")
        if not sep or key in data or urls is not None or not value.isalnum():
            return None
        if key == "size":
            if not value.isdigit():
                return None
            data[key] = int(value)
        elif key in ("sha1", "sha256"):
            data[key] = value
        else:
            return None
    return data


def _looks_plain(url: str) -> bool:
    # A plain URL item is safe to take verbatim unless YAML would read it specially.
    return url[0] not in "'\"&*!|>%@`{[" and " #" not in url and ": " not in url


def _decode_yaml(text: str, path: str) -> dict[str, Any]:
    import yaml  # only non-canonical pointers need a YAML parser

    from zoo_vcs.formats.yamlsafe import safe_load

    try:
        data = safe_load(text)
    except RecursionError:
        raise PointerError(path, "invalid YAML: nested too deeply") from None
    except (ValueError, TypeError, IndexError, OverflowError) as exc:
        # PyYAML's constructors raise plain errors on bad explicit tags (!!int 12z).
        raise PointerError(path, f"invalid YAML value: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PointerError(path, f"invalid YAML: {reason}",
                           line=mark.line + 1 if mark is not None else None) from None
    if not isinstance(data, dict):
        raise PointerError(path, "not a pointer: expected a YAML mapping with 'zoo-vcs: 1' first")
    return data


def _from_mapping(data: Mapping[Any, Any], path: str) -> Pointer:
    version = data.get(VERSION_KEY)
    if version is None:
        raise PointerError(path, f"not a pointer: no '{VERSION_KEY}:' version key")
    if version != VERSION:
        raise PointerError(path, f"pointer format version {version!r} is not supported "
                           f"(this zoo-vcs reads {VERSION})")
    sha1 = data.get("sha1")
    if sha1 is None:
        raise PointerError(path, "no sha1")
    urls = data.get("urls") or []
    if isinstance(urls, str):
        urls = [urls]
    if not isinstance(urls, list):
        raise PointerError(path, "urls must be a list of URLs")
    extra = {}
    for key, value in data.items():
        if not isinstance(key, str):
            raise PointerError(path, f"invalid key {key!r}")
        if key not in KNOWN_KEYS:
            extra[key] = value
    try:
        return Pointer(sha1=str(sha1).lower() if isinstance(sha1, str) else sha1,
                       size=data.get("size"), sha256=data.get("sha256"),
                       urls=tuple(urls), extra=extra)
    except PointerError as exc:
        # Re-raise with the file's name instead of the record placeholder.
        raise PointerError(path, str(exc).split(": ", 1)[1]) from None


def pointer_path_for(binary: str) -> str:
    """Name of the pointer file beside ``binary``."""
    return binary + SUFFIX


def binary_path_for(pointer: str) -> str:
    """Name of the binary a pointer file stands for."""
    if not pointer.endswith(SUFFIX):
        raise ValueError(pointer)
    return pointer[: -len(SUFFIX)]
