"""Safe YAML loading that untrusted text cannot crash: libyaml when shallow, PyYAML otherwise.

libyaml's composer recurses in C, and about 30,000 nested levels (fewer on a thread's
smaller stack) kill the process with a segfault that no ``except`` can catch. Each level
needs one of ``[{-?:``, so text with many of them goes to the pure-Python loader, whose
``RecursionError`` is an ordinary exception. Real readmes and pointers have a few dozen.
"""

from __future__ import annotations

import yaml

#: The fast loader when libyaml is available (it is a safe loader either way).
FAST_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DEPTH_CHARS = "[{-?:"
_MAX_DEPTH_CHARS = 500


def loader_for(text: str) -> type[yaml.SafeLoader]:
    """The safe loader class to use for ``text``."""
    deep = sum(text.count(c) for c in _DEPTH_CHARS) > _MAX_DEPTH_CHARS
    return yaml.SafeLoader if deep else FAST_LOADER


def safe_load(text: str) -> object:
    """``yaml.safe_load`` that cannot segfault; may raise ``yaml.YAMLError`` or
    ``RecursionError`` on hostile input."""
    return yaml.load(text, Loader=loader_for(text))
