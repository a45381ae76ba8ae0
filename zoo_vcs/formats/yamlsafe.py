"""Safe YAML loading that untrusted text cannot crash, and the refusals that come first:
tags a safe loader refuses, alias bombs, merge-conflict markers.

libyaml's composer recurses in C, and about 30,000 nested levels (fewer on a thread's
smaller stack) kill the process with a segfault that no ``except`` can catch. Each level
needs one of ``[{-?:``, so text with many of them goes to the pure-Python loader, whose
``RecursionError`` is an ordinary exception. Real readmes and pointers have a few dozen.

A readme is read tolerantly, but never past an attack or a broken merge (SPEC 4, Legacy
readmes): :func:`hostile_node` finds, in a composed document, a tag that the safe loader
would refuse (``!!python/object/apply:...``) or aliases that would expand without bound
(the "billion laughs"); :func:`conflict_marker` finds an unresolved merge. These are
errors, never quirks for the lenient reader to work around.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import yaml

#: The fast loader when libyaml is available (it is a safe loader either way).
FAST_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DEPTH_CHARS = "[{-?:"
_MAX_DEPTH_CHARS = 500
#: Nodes that aliases may add to a document when expanded; a readme needs none.
MAX_ALIAS_NODES = 100_000
#: The tags the safe loader constructs, and those its resolver gives plain scalars (``<<``
#: is ``!!merge``, a lone ``=`` is ``!!value``: quirks, never attacks); any other tag is
#: refused, not read as text.
SAFE_TAGS = frozenset(
    {tag for tag in yaml.SafeLoader.yaml_constructors if tag is not None}
    | {tag for resolvers in yaml.SafeLoader.yaml_implicit_resolvers.values()
       for tag, _regexp in resolvers})
_CONFLICT = re.compile(r"(<{7}|>{7}|\|{7})(?:[ \t].*)?|(={7})[ \t]*")
_TEXT_TAG = re.compile(r"!(!?)([^\s,\[\]{}]+)")


def loader_for(text: str) -> type[yaml.SafeLoader]:
    """The safe loader class to use for ``text``."""
    deep = sum(text.count(c) for c in _DEPTH_CHARS) > _MAX_DEPTH_CHARS
    return yaml.SafeLoader if deep else FAST_LOADER


def safe_load(text: str) -> object:
    """``yaml.safe_load`` that cannot segfault; may raise ``yaml.YAMLError`` or
    ``RecursionError`` on hostile input."""
    return yaml.load(text, Loader=loader_for(text))


def hostile_node(root: yaml.Node) -> tuple[str, yaml.Mark] | None:
    """Why a composed document must not be constructed, and where; None when it is fine.

    Refused: a node whose tag the safe loader has no constructor for, an alias that
    contains itself, and aliases adding more than :data:`MAX_ALIAS_NODES` nodes. Each
    distinct node is visited once (iteratively: deep documents do not recurse), so the
    check costs the size of the text, not of its expansion.
    """
    order: list[yaml.Node] = []  # distinct nodes, each after its children
    finished: set[int] = set()
    entered: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            finished.add(key)
            order.append(node)
            continue
        if key in finished:
            continue  # another alias of a node already visited
        if key in entered:
            return "a YAML alias contains itself (a recursive structure)", node.start_mark
        if node.tag not in SAFE_TAGS:
            shown = node.tag.replace("tag:yaml.org,2002:", "!!", 1)  # as it is written
            return (f"YAML tag {shown!r} is not allowed (a safe loader refuses it)",
                    node.start_mark)
        entered.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in finished)
    # Without aliases no node expands to more than the document's distinct nodes.
    limit = len(order) + MAX_ALIAS_NODES
    expanded: dict[int, int] = {}
    for node in order:
        size = 1 + sum(expanded[id(c)] for c in _children(node))
        if size > limit:
            return (f"YAML aliases expand to more than {MAX_ALIAS_NODES:,} extra nodes (an "
                    "alias bomb)", node.start_mark)
        expanded[id(node)] = size
    return None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def text_tag(value: str) -> str | None:
    """The tag a ``key: value`` line's value starts with, when a safe loader would refuse it
    (the lenient reader must not take ``!!python/...`` as a name).

    >>> text_tag('!!python/object/apply:os.system ["id"]'), text_tag("!!str x"), text_tag("Hi!")
    ('!!python/object/apply:os.system', None, None)
    """
    m = _TEXT_TAG.match(value.strip())
    if m is None:
        return None
    full = f"tag:yaml.org,2002:{m[2]}" if m[1] else m[2]
    return None if full in SAFE_TAGS else m[0]


def conflict_marker(lines: Sequence[str], frontmatter: tuple[int, int] | None = None
                    ) -> tuple[int, str] | None:
    """(0-based line, marker) of the first merge-conflict marker in ``lines``, or None.

    ``<<<<<<<``, ``|||||||`` and ``>>>>>>>`` count anywhere; ``=======`` only inside the
    ``---`` block (``frontmatter``: its first and last line), since in markdown it may
    underline a heading.

    >>> conflict_marker(["---", "<<<<<<< HEAD", "name: a", "=======", "name: b",
    ...                  ">>>>>>> theirs", "---"], (0, 6))
    (1, '<<<<<<<')
    >>> conflict_marker(["Title", "=======", "text"]) is None
    True
    """
    for i, line in enumerate(lines):
        m = _CONFLICT.fullmatch(line.rstrip("\r\n"))
        if m is None:
            continue
        if m[1]:
            return i, m[1]
        if frontmatter is not None and frontmatter[0] < i < frontmatter[1]:
            return i, m[2]
    return None
