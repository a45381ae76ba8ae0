"""Pure: find and parse (strict and lenient) a readme's YAML frontmatter.

Rewriting is in :mod:`zoo_vcs.formats.frontmatter_edit`. An edit must land on the lines this
parser read, so the editor shares the analysis behind :func:`parse`: :func:`analyse`,
:class:`Analysis`, :class:`Block`, :func:`accept_key`, :data:`KEY_LINE`, :func:`line_end`
and :func:`line_body` are an internal API for it, kept out of ``__all__``.
"""

from __future__ import annotations

import re

import yaml

from zoo_vcs.errors import FrontmatterError, UnsafeReadmeError
from zoo_vcs.formats.readme_records import Analysis, Block, Model, Problem, Readme
from zoo_vcs.formats.urls import looks_like_weights
from zoo_vcs.formats.yamlsafe import (
    conflict_marker,
    hostile_node,
    loader_for,
    safe_load,
    text_tag,
)

__all__ = ["KNOWN_KEYS", "MAX_FRONTMATTER_BYTES", "Model", "Problem", "Readme", "parse"]
# The records (Model, Readme, Problem, and the editor's Analysis and Block) live in
# readme_records and are re-exported here, where readers look for them.

# libyaml is much faster; both loaders are the *safe* ones (no Python object construction).

KNOWN_KEYS: tuple[str, ...] = (
    "name", "caffemodel", "caffemodel_url", "sha1", "caffe_commit", "gist_id", "license")
#: A ``---`` block larger than this is refused rather than handed to the YAML parser.
MAX_FRONTMATTER_BYTES = 1 << 20

_MODEL_KEYS = tuple(k for k in KNOWN_KEYS if k != "gist_id")
_MARKERS = ("name", "caffemodel", "caffemodel_url", "sha1")  # a readme needs one of these
_TEXT_KEYS = frozenset((*KNOWN_KEYS, "caffe_version"))
_SHA1 = re.compile(r"[0-9a-f]{40}")
_GIST = re.compile(r"[0-9a-fA-F]+")
_DELIM = re.compile(r"---[ \t]*\r?\n?")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
# A lenient ``key: value`` line (shared with the editor, which rewrites after "colon").
# Words separated by spaces cannot overlap with the separators, so matching stays linear.
KEY_LINE = re.compile(r"[ \t]{0,3}(?:#{1,6}[ \t]*)?(?P<key>[A-Za-z_][\w\-]*(?: +[\w\-]+)*)"
                      r"[ \t]*(?P<colon>:)(?:[ \t]+(?P<value>.*))?")
_HEADING = re.compile(r" {0,3}#{1,6}")
_SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")
_URL = re.compile(r"https?://[^\s<>()\[\]\"'`]+")
# Headings that announce the key lines rather than name a model ('## Information' in 08/11).
_GENERIC_HEADINGS = frozenset(("info", "information", "model", "model info", "model information",
                               "details", "model details", "frontmatter", "metadata"))


def _lines(text: str) -> list[str]:
    # Split on '\n' only, keeping ends: splitlines() would also split on \x0b, \x1c, ... and
    # the line numbers and byte-exact rewrites below would drift from what an editor shows.
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def line_end(line: str) -> str:
    """The line's ending as written: ``"\\r\\n"``, ``"\\n"`` or ``""`` (shared with the editor)."""
    return "\r\n" if line.endswith("\r\n") else "\n" if line.endswith("\n") else ""


def line_body(line: str) -> str:
    """The line without its ending (shared with the editor)."""
    return line[: len(line) - len(line_end(line))]


def _norm(key: str) -> str:
    return re.sub(r"[\s\-]+", "_", key.strip().lower())


def accept_key(raw: str) -> str | None:
    """The key a lenient ``raw: value`` line stands for, or None for prose (editor too)."""
    norm = _norm(raw)
    if norm in _TEXT_KEYS:
        return norm
    return raw.strip() if _SNAKE.fullmatch(raw.strip()) else None


def _clean(raw: str) -> str | None:
    """A lenient value: stripped, surrounding quotes removed (YAML-unescaped when valid)."""
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        try:
            loaded = safe_load(value)
        except Exception:  # not valid YAML quoting: just drop the quotes
            loaded = None
        value = loaded if isinstance(loaded, str) else value[1:-1]
    return value if value.strip() else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _escapes(path: str) -> bool:
    return (path.startswith(("/", "\\", "~")) or re.match(r"[A-Za-z]:", path) is not None
            or ".." in re.split(r"[/\\]", path))


def _make_model(entries: list[tuple[str, object, int]], start: int, heading: str | None,
                problems: list[Problem]) -> Model:
    """Build a model from (key, value, 1-based line) entries and report what looks wrong."""
    values: dict[str, str | None] = {}
    lines: dict[str, int] = {}
    extra: dict[str, object] = {}
    for key, value, line in entries:
        if key in _MODEL_KEYS and key not in values:
            values[key], lines[key] = _text(value), line
    version = None
    for key, value, line in entries:
        norm = _norm(key)
        if key in _MODEL_KEYS:
            continue
        if norm in _MODEL_KEYS and norm not in values:  # e.g. strict 'Caffemodel URL:'
            values[norm], lines[norm] = _text(value), line
            problems.append(Problem(line, f"key {key!r} read as {norm!r}"))
            continue
        extra[key] = value
        if norm == "caffe_version" and version is None:
            version = _text(value)
    sha1 = values.get("sha1")
    if sha1 is not None:
        sha1 = sha1.strip().lower()
        if not _SHA1.fullmatch(sha1):
            problems.append(Problem(lines["sha1"], f"sha1 {sha1!r} is not 40 hex digits"))
    else:
        problems.append(Problem(lines.get("sha1", start),
                                "no sha1: the weights cannot be verified"))
    for key in ("caffemodel", "caffemodel_url"):
        if key in values and values[key] is None:
            problems.append(Problem(lines[key], f"{key} is empty"))
    caffemodel = values.get("caffemodel")
    if caffemodel is not None and _escapes(caffemodel):
        problems.append(Problem(lines["caffemodel"],
                                f"caffemodel {caffemodel!r} escapes the model directory"))
    return Model(name=values.get("name") or heading, caffemodel=caffemodel,
                 caffemodel_url=values.get("caffemodel_url"), sha1=sha1,
                 caffe_commit=values.get("caffe_commit") or version,
                 license=values.get("license"), extra=extra, line=start)


def _load_strict(block: str, first: int, problems: list[Problem],
                 path: str) -> list[tuple[str, object, int]] | None:
    """Load a '---' block: its (key, value, line) items (known keys as written), or None."""
    # YAML also breaks lines at \r, \x85, \u2028 and \u2029; report lines as split on '\n'.
    starts = [0] + [m.end() for m in re.finditer("\r\n|[\r\n\x85\u2028\u2029]", block)]

    def line_of(mark: yaml.Mark) -> int:
        return block.count("\n", 0, starts[min(mark.line, len(starts) - 1)]) + first

    loader = loader_for(block)(block)
    try:
        # get_single_node + construct_document is exactly what safe_load does; keeping the
        # node gives each key's line and each scalar's text as written.
        node = loader.get_single_node()
        refused = hostile_node(node) if node is not None else None
        if refused is not None:  # an attack, not a quirk: never read leniently instead
            raise UnsafeReadmeError(path, f"{refused[0]}; nothing was read",
                                   line=line_of(refused[1]),
                                   hint="readme values are plain text: remove the tag or alias")
        data = loader.construct_document(node) if node is not None else {}
        raw_keys: dict[object, str] = {}
        where: dict[str, tuple[int, yaml.Node]] = {}
        for knode, vnode in node.value if isinstance(node, yaml.MappingNode) else ():
            if not isinstance(knode, yaml.ScalarNode):
                continue
            if knode.tag != "tag:yaml.org,2002:str":  # `1:`, `null:`: keep the text written
                raw_keys[loader.construct_object(knode)] = knode.value
            line = line_of(knode.start_mark)
            if knode.value in where:  # PyYAML keeps the last duplicate silently
                problems.append(Problem(line, f"duplicate key {knode.value!r} (also on line "
                                              f"{where[knode.value][0]}); the last one is used"))
            where[knode.value] = (line, vnode)
    except UnsafeReadmeError:
        raise
    # PyYAML's constructors leak ValueError/TypeError/AttributeError for bad explicit tags
    # ('!!int abc'), and deep nesting raises RecursionError: all mean "not usable YAML".
    except Exception as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        pos = getattr(exc, "position", None)
        line = (line_of(mark) if mark is not None else
                block[:pos].count("\n") + first if isinstance(pos, int) else first)
        reason = getattr(exc, "problem", None) or getattr(exc, "reason", None) or (
            str(exc).strip().splitlines() or [type(exc).__name__])[0]
        problems.append(Problem(line, f"invalid YAML ({reason}); read as plain 'key: value' lines"))
        return None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        problems.append(Problem(first, f"frontmatter is not a 'key: value' mapping (it is a "
                                       f"{type(data).__name__}); read as plain 'key: value' lines"))
        return None
    items = []
    for key, value in data.items():
        text_key = key if isinstance(key, str) else raw_keys.get(key, str(key))
        line, vnode = where.get(text_key, (first, None))
        if _norm(text_key) in _TEXT_KEYS and value is not None and not isinstance(value, str):
            if isinstance(vnode, yaml.ScalarNode):
                value = vnode.value  # `sha1: 0123...` stays text: str(int) would drop zeros
            else:
                problems.append(Problem(line, f"{text_key!r} should be one value, "
                                              f"not a {type(value).__name__}"))
        items.append((text_key, value, line))
    return items


def _lenient(lines: list[str], lo: int, hi: int, problems: list[Problem], *,
             in_yaml: bool, path: str) -> tuple[list[Block], str | None, int | None]:
    """Read ``key: value`` lines of lines[lo:hi]: the models and the gist_id (value, line)."""
    blocks: list[Block] = []
    cur: Block | None = None
    heading: tuple[str, int] | None = None
    fence: str | None = None
    gist: str | None = None
    gist_line: int | None = None
    for i in range(lo, hi):
        s = line_body(lines[i])
        fm = _FENCE.fullmatch(s)
        if fence is not None:  # inside a fenced code block: examples, not metadata
            if fm and fm[1][0] == fence[0] and len(fm[1]) >= len(fence) and not fm[2].strip():
                fence = None
            continue
        if fm:
            fence = fm[1]
            continue
        if in_yaml and s.lstrip().startswith("#"):  # a YAML comment, not a markdown heading
            continue
        km = KEY_LINE.fullmatch(s) if 0 <= s.find(":") < 200 else None
        key = accept_key(km["key"]) if km else None
        if km is None or key is None:
            if not in_yaml and _HEADING.match(s):
                heading = (_HEADING.sub("", s, count=1).strip().rstrip("#").strip(), i)
            continue
        tag = text_tag(km["value"] or "")
        if tag is not None:  # `name: !!python/...` stays an attack outside valid YAML too
            raise UnsafeReadmeError(path, f"YAML tag {tag!r} is not allowed (a safe loader "
                                   "refuses it); nothing was read", line=i + 1,
                                   hint="readme values are plain text: remove the tag")
        if km["key"].strip() != key:
            problems.append(Problem(i + 1, f"key {km['key'].strip()!r} read as {key!r}"))
        value = _clean(km["value"] or "")
        if key == "gist_id":  # always document-level, wherever it appears
            if gist_line is not None:
                problems.append(Problem(i + 1, f"gist_id appears again (first on line "
                                               f"{gist_line + 1}); the last one is used"))
            gist, gist_line = value, i
            continue
        if cur is None or key in cur.keyset() or (key == "name" and "caffemodel" in cur.keyset()):
            cur = Block(heading=heading)
            heading = None
            blocks.append(cur)
        cur.entries.append((key, value, i))
    kept = []
    for block in blocks:
        if block.keyset() & set(_MARKERS):
            kept.append(block)
        else:
            keys = ", ".join(k for k, _, _ in block.entries)
            problems.append(Problem(block.entries[0][2] + 1, f"{keys}: not part of any model (no "
                                    "name, caffemodel, caffemodel_url or sha1 near it); ignored"))
    return kept, gist, gist_line


def _weights_hint(lines: list[str]) -> str:
    """Point at the line that most looks like where the weights are, for a readme without keys.

    Only links to a weights file are candidates: a link to a page (a paper, a project
    site) is never offered as the weights' location.
    """
    best: tuple[int, int, str] | None = None
    for i, line in enumerate(lines):
        for url in filter(looks_like_weights, _URL.findall(line)):
            low = url.lower()
            score = (2 if ".caffemodel" in low else 0) + any(h in low for h in (
                "drive.google.", "docs.google.", "dropbox", "yadi.sk", "disk.yandex", "amazonaws",
                "1drv.ms", "onedrive", "mega.nz", "box.com"))
            if best is None or score > best[0]:
                best = (score, i, url)
    if best is None:
        return "; add a '---' block with name, caffemodel, caffemodel_url and sha1"
    _, i, url = best
    low = url.lower()
    if "google." in low and ("/view" in low or "open?id=" in low or "usp=sharing" in low):
        what = "a Google Drive view page, not a direct download"
    elif "dropbox" in low and "dl=0" in low:
        what = "a Dropbox preview page (?dl=0), not a direct download"
    elif "yadi.sk" in low or "disk.yandex" in low:
        what = "a Yandex.Disk share page, not a direct download"
    else:
        return f"; line {i + 1} may be the weights' location: {url}"
    return f"; line {i + 1} looks like the weights' location: {url} is {what}"


def analyse(text: str, path: str) -> Analysis:
    """:func:`parse`, keeping the lines and where each model and ``gist_id`` was read.

    Shared with :mod:`zoo_vcs.formats.frontmatter_edit`, which edits those lines and analyses the
    result again to check that it reads back. Raises what :func:`parse` raises.
    """
    lines = _lines(text.removeprefix("\ufeff"))
    problems: list[Problem] = []
    region = (0, len(lines))
    in_yaml = False
    delimited = bool(lines) and _DELIM.fullmatch(lines[0]) is not None
    close = next((i for i in range(1, len(lines)) if _DELIM.fullmatch(lines[i])),
                 None) if delimited else None
    marker = conflict_marker(lines, (0, close) if close is not None else None)
    if marker is not None:
        raise UnsafeReadmeError(path, f"merge-conflict marker {marker[1]!r}: the readme holds an "
                               "unresolved merge; nothing was read", line=marker[0] + 1,
                               hint="resolve the conflict, then commit the readme")
    if delimited:
        if close is None:
            problems.append(Problem(1, "opening '---' has no closing '---'; "
                                       "read as plain 'key: value' lines"))
        else:
            block = "".join(lines[1:close])
            if len(block.encode("utf-8", "surrogatepass")) > MAX_FRONTMATTER_BYTES:
                raise FrontmatterError(path, f"frontmatter is larger than {MAX_FRONTMATTER_BYTES} "
                                       "bytes", line=1, hint="is the closing '---' missing?")
            loaded = _load_strict(block, 2, problems, path)
            if loaded is not None:
                return _strict_analysis(loaded, lines, close, problems)
            region, in_yaml = (1, close), True
    blocks, gist, gist_line = _lenient(lines, *region, problems, in_yaml=in_yaml, path=path)
    if not blocks and in_yaml:  # the '---' lines were rules around prose: read everything
        blocks, gist, gist_line = _lenient(lines, 0, len(lines), problems, in_yaml=False,
                                           path=path)
    models = []
    for b in blocks:
        # A heading names the model only when it has no name key at all (an empty one counts).
        name = b.heading[0] if b.heading and "name" not in b.keyset() else None
        name = None if name is None or name.lower() in _GENERIC_HEADINGS else name
        start = b.heading[1] + 1 if name and b.heading else b.entries[0][2] + 1
        models.append(_make_model([(k, v, i + 1) for k, v, i in b.entries], start, name, problems))
    found: list[tuple[int, str, object]] = [(i, k, v) for k, v, i in
                                            (blocks[0].entries if len(blocks) == 1 else [])]
    if gist_line is not None:
        found.append((gist_line, "gist_id", gist))
    if not blocks:
        problems.append(Problem(None, "no frontmatter found (no name, caffemodel, caffemodel_url "
                                      "or sha1 lines)" + _weights_hint(lines)))
    elif gist is not None and not _GIST.fullmatch(gist):
        problems.append(Problem(gist_line + 1 if gist_line is not None else None,
                                f"gist_id {gist!r} is not a gist id (hex digits)"))
    readme = Readme(form="lenient" if blocks else "none",
                    fields={k: v for _, k, v in sorted(found, key=lambda t: t[0])},
                    models=tuple(models), gist_id=gist, problems=_sorted(problems))
    return Analysis(readme, lines, None, blocks, gist_line)


def _strict_analysis(items: list[tuple[str, object, int]], lines: list[str], close: int,
                     problems: list[Problem]) -> Analysis:
    fields = {k: v for k, v, _ in items}
    entries = [item for item in items if _norm(item[0]) != "gist_id"]
    gists = [item for item in items if item[0] == "gist_id"] or [
        item for item in items if _norm(item[0]) == "gist_id"]
    gist = _text(gists[0][1]) if gists else None
    if gist is not None and not _GIST.fullmatch(gist):
        problems.append(Problem(gists[0][2], f"gist_id {gist!r} is not a gist id (hex digits)"))
    models = (_make_model(entries, entries[0][2], None, problems),) if entries else ()
    readme = Readme("frontmatter", fields, models, gist, _sorted(problems))
    return Analysis(readme, lines, (0, close))


def _sorted(problems: list[Problem]) -> tuple[Problem, ...]:
    return tuple(sorted(problems, key=lambda p: p.line or 0))


def parse(text: str, *, path: str = "readme.md") -> Readme:
    """Read the models a readme describes, tolerating the Model Zoo's real-world quirks.

    Parameters
    ----------
    text : str
        The whole readme (an optional UTF-8 BOM is ignored).
    path : str
        Name used in error messages only.

    Returns
    -------
    Readme
        ``form`` is "frontmatter" for a ``---`` block that is a YAML mapping, "lenient" for
        ``key: value`` lines read without YAML, "none" when no model keys were found.
        Everything not understood is listed in ``problems`` with its line.

    Raises
    ------
    FrontmatterError
        The ``---`` block is larger than :data:`MAX_FRONTMATTER_BYTES`; a merge-conflict
        marker; a YAML tag that a safe loader refuses; aliases that contain themselves or
        expand past :data:`~zoo_vcs.formats.yamlsafe.MAX_ALIAS_NODES` (an alias bomb). Each
        names its line. Nothing else is raised.
    """
    return analyse(text, path).readme
