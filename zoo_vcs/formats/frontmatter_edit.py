"""Pure: rewrite a readme's YAML frontmatter by minimal edits, and render a canonical block.

Kept apart from :mod:`zoo_vcs.formats.frontmatter` (reading) because reading is all most
callers need (``status``, ``checkout``, ``index``, the hooks), while writing serves only
``add``, ``init`` and the gist commands, and its line surgery is a subject of its own. It
edits the lines the parser's analysis (:func:`~zoo_vcs.formats.frontmatter.analyse`) points
at, then analyses the result again, so that what is written is what
:func:`~zoo_vcs.formats.frontmatter.parse` reads back.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping

import yaml

from zoo_vcs.errors import FrontmatterError
from zoo_vcs.formats.frontmatter import (
    KEY_LINE,
    KNOWN_KEYS,
    accept_key,
    analyse,
    line_body,
    line_end,
)
from zoo_vcs.formats.readme_records import Analysis, Block
from zoo_vcs.formats.yamlsafe import loader_for

__all__ = ["format_scalar", "render", "set_fields", "to_block"]

_SETTABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_BREAKS = ("\n", "\r", "\x85", "\u2028", "\u2029")
# YAML's printable set (PyYAML reader); anything else needs a double-quoted escape.
_UNPRINTABLE = re.compile("[^\x09\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _comment(rest: str) -> str:
    """The trailing ``  # comment`` after the value text ``rest`` of a YAML line, or ''."""
    value = rest.lstrip(" \t")
    if value.startswith("#"):
        return rest
    if value[:1] in ("'", '"'):
        quote, k = value[0], 1
        while k < len(value):
            if (value[k] == "\\" and quote == '"') or value[k:k + 2] == "''" == quote * 2:
                k += 2  # an escape, or a doubled single quote
            elif value[k] == quote:
                break
            else:
                k += 1
        tail = value[k + 1:]
        return tail if re.fullmatch(r"[ \t]+#.*", tail) else ""
    m = re.search(r"[ \t]+#", value)
    return value[m.start():] if m else ""


def _edit_strict(a: Analysis, key: str, fv: str) -> list[str]:
    lines = list(a.lines)
    opening, close = a.block or (0, 0)
    k = re.escape(key)
    pat = re.compile(rf"(?:{k}|'{k}'|\"{k}\")[ \t]*:(?=[ \t]|$)")
    hits = [i for i in range(opening + 1, close) if pat.match(line_body(lines[i]))]
    if not hits:
        eol = line_end(lines[opening]) or "\n"
        new = [f"{key}: {fv}".rstrip(" ") + eol]
        if close - 1 > opening and not lines[close - 1].strip():
            new.append(eol)  # blank-separated keys (googlenet_cars style): keep the rhythm
        lines[close:close] = new
        return lines
    i = hits[-1]  # YAML reads the last duplicate, so that is the one to change
    s = line_body(lines[i])
    colon = pat.match(s).end()  # type: ignore[union-attr]
    end = j = i + 1
    while j < close:  # continuation lines of a block scalar, list or folded plain value
        t = line_body(lines[j])
        j += 1
        if (t[:1] in (" ", "\t") and t.strip()) or t == "-" or t.startswith(("- ", "-\t")):
            end = j
        elif t.strip():
            break
    lines[i:end] = [s[:colon] + (" " + fv if fv else "") + _comment(s[colon:]) + line_end(lines[i])]
    return lines


def _edit_lenient(a: Analysis, key: str, fv: str, model: int, path: str) -> list[str]:
    lines = list(a.lines)
    want = accept_key(key)
    if want is None:
        raise FrontmatterError(path, f"cannot add {key!r} to a readme without a '---' block: "
                               "only Model Zoo keys and snake_case keys are read back there")
    if want == "gist_id":
        idx = a.gist_line
        anchors = sorted(i for b in a.blocks for _, _, i in b.entries)
    else:
        if model >= len(a.blocks):  # an earlier update merged this model into another
            raise FrontmatterError(path, f"no model {model} after the edit; readme left unchanged")
        block = a.blocks[model]
        idx = next((i for k, _, i in reversed(block.entries) if k == want), None)
        anchors = sorted(i for _, _, i in block.entries)
    new = f"{key}: {fv}".rstrip(" ")
    if idx is not None:
        s = line_body(lines[idx])
        colon = KEY_LINE.fullmatch(s).end("colon")  # type: ignore[union-attr]
        lines[idx] = s[:colon] + (" " + fv if fv else "") + line_end(lines[idx])
        return lines
    blank = (any(q - p > 1 for p, q in itertools.pairwise(anchors))
             or (len(anchors) == 1 and anchors[0] + 1 < len(lines)
                 and not lines[anchors[0] + 1].strip()))
    eol = next((line_end(ln) for ln in lines if line_end(ln)), "\n")
    if want == "name" and "caffemodel" in block.keyset():
        # After a caffemodel line, 'name' starts the next model: put it before the block.
        lines[anchors[0]:anchors[0]] = [new + eol] + [eol] * blank
        return lines
    after = anchors[-1]
    if not line_end(lines[after]):  # last line of the file: keep "no newline at end of file"
        lines[after] += eol
        lines[after + 1:after + 1] = [eol] * blank + [new]
    else:
        lines[after + 1:after + 1] = [eol] * blank + [new + eol]
    return lines


def _current(a: Analysis, key: str, model: int) -> object:
    if key == "gist_id":
        return a.readme.gist_id
    if a.readme.form == "frontmatter":
        return a.readme.fields.get(key)
    want = accept_key(key)
    block = a.blocks[model] if model < len(a.blocks) else Block()
    return next((v for k, v, _ in reversed(block.entries) if k == want), None)


def _checked_updates(updates: Mapping[str, str | None], path: str) -> dict[str, str | None]:
    """``updates`` checked for writing: plain keys, one-line string values ('' is None)."""
    clean: dict[str, str | None] = {}
    for key, value in updates.items():
        if not isinstance(key, str) or not _SETTABLE.fullmatch(key) or format_scalar(key) != key:
            raise FrontmatterError(path, f"cannot write key {key!r}: use a plain snake_case key")
        if value is not None and not isinstance(value, str):
            raise FrontmatterError(path, f"value of {key!r} must be a string, not "
                                         f"{type(value).__name__}")
        if value is not None and any(c in value for c in _BREAKS):
            raise FrontmatterError(path, f"value of {key!r} spans several lines; "
                                         "frontmatter values must fit on one line")
        clean[key] = value if value is not None and value.strip() else None
    return clean


def set_fields(text: str, updates: Mapping[str, str | None], *, path: str = "readme.md",
               model: int = 0) -> str:
    """Set frontmatter keys with a minimal edit: every byte not edited stays as it was.

    Parameters
    ----------
    text : str
        The whole readme.
    updates : Mapping[str, str | None]
        Keys to set; None (or an empty string) writes an empty value (``key:``).
    path : str
        Name used in error messages only.
    model : int
        Which model of a lenient multi-model readme to edit (``gist_id`` is document-level).

    Returns
    -------
    str
        The edited readme. A readme without frontmatter gets ``render(updates)`` prepended.

    Raises
    ------
    FrontmatterError
        A key or value cannot be written, ``model`` does not exist, or the edited readme
        would not read back the new values (the caller's text is then left unchanged).
    """
    clean = _checked_updates(updates, path)
    if not clean:
        return text
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    a = analyse(text, path)
    first_form = a.readme.form
    n_models = len(a.readme.models) if a.readme.form == "lenient" else 1
    if not 0 <= model < n_models:
        raise FrontmatterError(path, f"no model {model}: the readme describes {n_models}")
    if a.readme.form == "none":
        eol = line_end(a.lines[0]) if a.lines else "\n"
        head = render(clean).replace("\n", eol or "\n")
        result = bom + head + (eol or "\n") + text[len(bom):]
    else:
        for key, value in clean.items():
            fv = format_scalar(value)
            lines = (_edit_strict(a, key, fv) if a.readme.form == "frontmatter"
                     else _edit_lenient(a, key, fv, model, path))
            result = "".join(lines)
            a = analyse(result, path)
        result = bom + "".join(a.lines)
    check = analyse(result, path)
    if first_form == "frontmatter" and check.readme.form != "frontmatter":
        raise FrontmatterError(path, "the edit would break the YAML of the '---' block; "
                                     "readme left unchanged", hint="edit the readme by hand")
    for key, value in clean.items():
        got = _current(check, key, model)
        if got != value:
            raise FrontmatterError(path, f"setting {key!r} to {value!r} would read back as "
                                         f"{got!r}; readme left unchanged",
                                   hint="edit the readme by hand")
    return result


def to_block(text: str, updates: Mapping[str, str | None], *, path: str = "readme.md") -> str:
    """A single-model readme without ``---`` delimiters, its key lines moved into a canonical
    ``---`` block at the top, with ``updates`` applied: what Caffe's own
    ``download_model_binary.py`` (first ``---`` to the next, ``yaml.safe_load``) can read.

    Every other line keeps its bytes; blank lines left doubled where key lines were taken
    out are collapsed. Any other readme gets :func:`set_fields`.

    >>> print(to_block("## Info\\n\\nname: Net: v2\\n\\nsha1: 0123\\n\\nSee the paper.\\n",
    ...                {"caffemodel": "net.caffemodel"}), end="")
    ---
    name: 'Net: v2'
    caffemodel: net.caffemodel
    sha1: '0123'
    ---
    <BLANKLINE>
    ## Info
    <BLANKLINE>
    See the paper.

    Raises
    ------
    FrontmatterError
        What :func:`set_fields` raises; or the block would not read back as the keys.
    """
    a = analyse(text, path)
    if a.readme.form != "lenient" or len(a.blocks) != 1:
        return set_fields(text, updates, path=path)
    clean = _checked_updates(updates, path)
    fields: dict[str, object] = {k: v for k, v, _ in a.blocks[0].entries}
    moved = {i for _, _, i in a.blocks[0].entries}
    if a.gist_line is not None:
        fields["gist_id"] = a.readme.gist_id
        moved.add(a.gist_line)
    fields.update(clean)
    kept: list[str] = []
    gap = False  # a key line was moved out since the last line kept
    for i, line in enumerate(a.lines):
        if i in moved:
            gap = True
        elif line.strip():
            kept.append(line)
            gap = False
        elif not (gap and (not kept or not kept[-1].strip())):
            kept.append(line)  # a blank line, unless it doubles one where keys were
    lines = a.lines
    eol = next((line_end(ln) for ln in lines if line_end(ln)), "\n")
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    result = bom + render(fields).replace("\n", eol) + eol + "".join(kept)
    check = analyse(result, path).readme
    if check.form != "frontmatter" or any(check.fields.get(k) != v for k, v in fields.items()):
        raise FrontmatterError(path, "moving the keys into a '---' block would change what "
                                     "they say; readme left unchanged",
                               hint="edit the readme by hand")
    return result


def _render_item(key: str, value: object) -> str:
    if value is None or isinstance(value, str):
        return f"{format_scalar(key)}: {format_scalar(value)}".rstrip(" ") + "\n"
    try:
        return yaml.dump({key: value}, Dumper=yaml.SafeDumper, default_flow_style=False,
                         sort_keys=False, allow_unicode=True, width=1 << 30)
    except yaml.YAMLError as exc:
        raise FrontmatterError("<frontmatter>", f"cannot write {key!r}: {exc}") from exc


def render(fields: Mapping[str, object]) -> str:
    """Render a canonical frontmatter block: known keys in :data:`KNOWN_KEYS` order, then the rest.

    >>> print(render({"sha1": "0123", "name": "My net", "gist_id": None}), end="")
    ---
    name: My net
    sha1: '0123'
    gist_id:
    ---

    Parameters
    ----------
    fields : Mapping[str, object]
        Keys and values; strings and None are written with :func:`format_scalar`, other
        values (numbers, lists, mappings) as YAML.

    Returns
    -------
    str
        ``"---\\n"``, one ``key: value`` line per key, ``"---\\n"``.

    Raises
    ------
    FrontmatterError
        A value YAML cannot represent.
    """
    keys = [k for k in KNOWN_KEYS if k in fields] + [k for k in fields if k not in KNOWN_KEYS]
    return "---\n" + "".join(_render_item(str(k), fields[k]) for k in keys) + "---\n"


def _is_plain(value: str) -> bool:
    if not value or value != value.strip() or any(c in value for c in _BREAKS):
        return False
    try:  # both parsers: libyaml accepts some plain scalars (tabs) that PyYAML refuses
        return all(yaml.load(text, Loader=loader) == want  # both are safe loaders
                   for loader in {loader_for(value), yaml.SafeLoader}
                   for text, want in ((value, value), ("k: " + value, {"k": value})))
    except Exception:  # anything YAML refuses (or misreads) as a plain scalar gets quoted
        return False


def format_scalar(value: str | None) -> str:
    """Write ``value`` as a one-line YAML scalar that reads back as exactly ``value``.

    Plain when YAML reads it back unchanged, else single-quoted; a value with line breaks or
    characters YAML cannot hold literally is double-quoted with escapes.

    >>> format_scalar("bvlc_alexnet.caffemodel"), format_scalar("0123"), format_scalar(None)
    ('bvlc_alexnet.caffemodel', "'0123'", '')
    >>> format_scalar("paper: It's deep")
    "'paper: It''s deep'"

    Parameters
    ----------
    value : str or None
        The value; None gives the empty string (a YAML null after ``key:``).

    Returns
    -------
    str
        The scalar text.
    """
    if value is None:
        return ""
    if _is_plain(value):
        return value
    if not _UNPRINTABLE.search(value) and not any(c in value for c in _BREAKS):
        return "'" + value.replace("'", "''") + "'"
    dumped = yaml.dump(value, Dumper=yaml.SafeDumper, default_style='"', allow_unicode=True,
                       width=1 << 30)
    return dumped.removesuffix("\n").removesuffix("\n...")
