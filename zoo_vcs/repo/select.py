"""Pure: which tracked binaries a command acts on, from glob PATHs, ``--exclude`` and the
``[fetch]`` defaults of ``.zoo/config`` (SPEC 3, "Selecting what to transfer").

The one rule, in one place:

- a pattern is gitignore-style (the ``pathspec`` library) and is matched against the
  repository-relative path of each tracked binary, whether or not the file exists; a
  pattern that matches a folder selects everything under it;
- explicit PATH arguments replace the ``[fetch]`` defaults (include *and* exclude): naming
  a path is a deliberate request;
- ``--exclude`` patterns always apply, on top of whichever includes are in force.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from posixpath import join as posix_join

import pathspec

__all__ = ["ALL", "Selection", "choose", "is_glob", "parse_list", "relative_pattern"]

_GLOB = re.compile(r"[*?\[]")


def is_glob(arg: str) -> bool:
    """Whether a PATH argument is a pattern rather than a plain path.

    >>> is_glob("models/vgg*"), is_glob("models/alexnet"), is_glob("**/*.caffemodel")
    (True, False, True)
    """
    return _GLOB.search(arg) is not None


def parse_list(value: str | None) -> tuple[str, ...]:
    """Patterns of a config value: separated by commas or new lines, blanks dropped.

    >>> parse_list("models/alexnet/**, models/vgg16/*\\n  **/*_snapshot_*.caffemodel")
    ('models/alexnet/**', 'models/vgg16/*', '**/*_snapshot_*.caffemodel')
    """
    if not value:
        return ()
    return tuple(p.strip() for p in re.split(r"[,\n]", value) if p.strip())


def relative_pattern(pattern: str, cwd: str) -> str:
    """A pattern typed in folder ``cwd`` (repository-relative, '' for the root), made
    relative to the repository root, as git does with pathspecs.

    A pattern without a slash matches at any depth below ``cwd``.

    >>> relative_pattern("vgg*", ""), relative_pattern("vgg*", "models")
    ('vgg*', 'models/**/vgg*')
    >>> relative_pattern("vgg16/*.caffemodel", "models"), relative_pattern("/a/b", "m")
    ('models/vgg16/*.caffemodel', 'm/a/b')
    """
    negate = "!" if pattern.startswith("!") else ""
    body = pattern[len(negate):]
    while body.startswith("./"):
        body = body[2:]
    if not cwd or cwd == ".":
        return negate + body
    anchored = "/" in body.rstrip("/")
    body = body.lstrip("/")
    return negate + (posix_join(cwd, body) if anchored else posix_join(cwd, "**", body))


def _literal_root(pattern: str) -> str:
    """The folder below which every match of ``pattern`` lies ('' for the whole tree).

    >>> _literal_root("models/vgg*/x"), _literal_root("*.caffemodel"), _literal_root("/a/b/c")
    ('models', '', 'a/b/c')
    """
    body = pattern.lstrip("/")
    if "/" not in body.rstrip("/") and not pattern.startswith("/"):
        return ""  # matches at any depth
    parts = body.rstrip("/").split("/")
    literal = []
    for part in parts:
        if is_glob(part):
            break
        literal.append(part)
    return "/".join(literal)


@dataclass(frozen=True)
class Selection:
    """Include and exclude patterns; no include pattern means every tracked binary.

    ``strict``: every include pattern must match some binary (explicit command-line
    patterns, like git's "pathspec did not match"); config defaults are not strict.
    """

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    strict: bool = False

    @cached_property
    def _include(self) -> pathspec.GitIgnoreSpec:
        return pathspec.GitIgnoreSpec.from_lines(self.include)

    @cached_property
    def _exclude(self) -> pathspec.GitIgnoreSpec:
        return pathspec.GitIgnoreSpec.from_lines(self.exclude)

    @property
    def everything(self) -> bool:
        """True when nothing is filtered out."""
        return not self.include and not self.exclude

    def included(self, path: str) -> bool:
        """Whether repository-relative ``path`` ('/'-separated) is named by an include.

        >>> Selection(("models/vgg*",)).included("models/vgg16/w.caffemodel")
        True
        >>> Selection().included("anything")
        True
        """
        return not self.include or self._include.match_file(path)

    def excluded(self, path: str) -> bool:
        """Whether ``path`` is removed by an exclude pattern."""
        return bool(self.exclude) and self._exclude.match_file(path)

    def matches(self, path: str) -> bool:
        """Included and not excluded.

        >>> s = Selection(("models/**",), ("**/*_snapshot_*.caffemodel",))
        >>> s.matches("models/a/w.caffemodel"), s.matches("models/a/w_snapshot_1.caffemodel")
        (True, False)
        """
        return self.included(path) and not self.excluded(path)

    def unmatched(self, paths: Iterable[str]) -> list[str]:
        """Include patterns that match none of ``paths``.

        >>> Selection(("a/*", "b/*")).unmatched(["a/x"])
        ['b/*']
        """
        specs = {p: pathspec.GitIgnoreSpec.from_lines([p]) for p in self.include
                 if not p.startswith("!")}
        left = dict(specs)
        for path in paths:
            for p in [p for p, spec in left.items() if spec.match_file(path)]:
                del left[p]
            if not left:
                break
        return list(left)

    def roots(self) -> list[str]:
        """Folders (repository-relative, '' for the root) that hold every possible match
        of the include patterns: what needs walking. Empty when there is no include.

        >>> Selection(("models/vgg*", "models/alexnet/**")).roots()
        ['models']
        >>> Selection(("models/vgg16/*", "*.bin")).roots()
        ['']
        """
        found = sorted({_literal_root(p) for p in self.include if not p.startswith("!")})
        # A folder below another listed one is walked with it.
        return [r for r in found
                if not any(o != r and (o == "" or r.startswith(o + "/")) for o in found)]


ALL = Selection()


def choose(patterns: Sequence[str], exclude: Sequence[str], defaults: Selection | None,
           *, paths_given: bool) -> Selection:
    """The selection a command acts on.

    Parameters
    ----------
    patterns
        Glob PATH arguments, already relative to the repository root.
    exclude
        ``--exclude`` patterns (likewise).
    defaults
        The ``[fetch]`` include/exclude of the configuration, for commands that honour
        them (checkout, fetch, pull, the restoring hooks); None for the others.
    paths_given
        Whether any PATH argument (plain or pattern) was given: those replace the defaults.

    >>> d = Selection(("models/alexnet/**",), ("**/*.solverstate",))
    >>> choose([], ["x/*"], d, paths_given=False)
    Selection(include=('models/alexnet/**',), exclude=('**/*.solverstate', 'x/*'), strict=False)
    >>> choose(["models/vgg*"], [], d, paths_given=True)
    Selection(include=('models/vgg*',), exclude=(), strict=True)
    """
    if paths_given or defaults is None:
        return Selection(tuple(patterns), tuple(exclude), strict=bool(patterns))
    return Selection(defaults.include, (*defaults.exclude, *exclude), strict=False)
