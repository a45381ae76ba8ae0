"""The ``git-zoo(1)`` and ``zoo-vcs(1)`` man pages, generated from the CLI's own help so that
they cannot drift from it (git answers ``git zoo --help`` with ``man git-zoo``).

``python -m zoo_vcs.cli.manpage DIR`` writes both pages into DIR (``docs/man`` in the
source tree, installed under ``share/man/man1``).
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from zoo_vcs import __version__
from zoo_vcs.cli.app import cli

#: Man page name -> how the command is typed.
PAGES = {"git-zoo": "git zoo", "zoo-vcs": "zoo-vcs"}


def _escape(text: str) -> str:
    """Text safe for roff: backslashes, and lines that would start with a control dot.

    >>> _escape(".zoo/config is read\\\\n")
    '\\\\&.zoo/config is read\\\\en'
    """
    text = text.replace("\\", "\\e")
    return "\n".join("\\&" + line if line.startswith((".", "'")) else line
                     for line in text.split("\n"))


def _help(text: str | None) -> str:
    """A docstring as help: dedented, without click's ``\\b`` no-rewrap markers."""
    lines = inspect.cleandoc(text or "").split("\n")
    return _escape("\n".join(line for line in lines if line.strip() != "\b"))


def _commands(group: click.Group, ctx: click.Context,
              prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command,
                                                              click.Context]]:
    for name in sorted(group.list_commands(ctx)):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        sub = click.Context(command, info_name=name, parent=ctx)
        yield (*prefix, name), command, sub
        if isinstance(command, click.Group):
            yield from _commands(command, sub, (*prefix, name))


def render(page: str = "git-zoo") -> str:
    """The roff source of man page ``page`` (``git-zoo`` or ``zoo-vcs``)."""
    prog = PAGES[page]
    # The group's own settings (-h as well as --help), inherited by every command, as in use.
    root = click.Context(cli, info_name=prog, **cli.context_settings)
    out = [f'.TH {page.upper()} 1 "" "zoo-vcs {__version__}" "zoo-vcs manual"',
           ".SH NAME", f"{page} \\- version control for Caffe Model Zoo model directories",
           ".SH SYNOPSIS", f".B {prog}", "[OPTIONS] COMMAND [ARGS]...",
           ".SH DESCRIPTION", _help(cli.help),
           ".SH OPTIONS"]
    out += _options(cli, root)
    out.append(".SH COMMANDS")
    for names, command, ctx in _commands(cli, root):
        out += [".SS " + _escape(f"{prog} {' '.join(names)} "
                                 + " ".join(command.collect_usage_pieces(ctx))),
                ".nf", _help(command.help or command.short_help), ".fi"]
        out += _options(command, ctx)
    out += [".SH SEE ALSO", "The README of zoo-vcs; \\fBgit\\fR(1)."]
    return "\n".join(out) + "\n"


def _options(command: click.Command, ctx: click.Context) -> list[str]:
    out = []
    for param in command.get_params(ctx):
        if not isinstance(param, click.Option):
            continue  # arguments are in the synopsis line
        record = param.get_help_record(ctx)
        if record is None:
            continue
        names, text = record
        out += [".TP", f"\\fB{_escape(names)}\\fR", _escape(text)]
    return out


def write(folder: Path) -> list[Path]:
    """Write every page into ``folder``; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for page in PAGES:
        path = folder / f"{page}.1"
        path.write_text(render(page), encoding="utf-8")
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/man")):
        click.echo(written)
