"""Shared pieces of the ``zoo-vcs`` command: options, output (human or ``--json``), progress.

Every command module renders through :func:`emit`, so ``--json`` means the same
everywhere, and transfers go through :func:`run_transfer`, which shows what was done
even when some files failed.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

import click

from zoo_vcs.errors import OperationError

if TYPE_CHECKING:
    from zoo_vcs.cli.progress import BarCallback

jobs_option = click.option("-j", "--jobs", type=click.IntRange(1, 256), default=None,
                     help="Parallel transfers/hashes (default 8).")
timeout_option = click.option("--timeout", type=click.FloatRange(min=0.1), default=None,
                        help="Fail a transfer that makes no progress for this many seconds "
                             "(default 60, or ZOO_VCS_TIMEOUT).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


def _set_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        State.quiet = True
        logging.getLogger("zoo_vcs").setLevel(logging.ERROR)


# Also accepted after the command name (`zoo-vcs pull -q`), as users expect.
quiet_option = click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_set_quiet,
                      help="No progress bars, only errors.")
paths_argument = click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
exclude_option = click.option(
    "--exclude", "exclude", multiple=True, metavar="GLOB",
    help="Leave out tracked binaries matching this gitignore-style pattern (repeatable).")
allow_unverified_option = click.option(
    "--allow-unverified", is_flag=True,
    help="Download readme entries that have a URL but no sha1, unchecked; the SHA1 they got "
         "is printed.")
offline_option = click.option(
    "--offline", is_flag=True, default=None,
    help="No network at all: only the workspace, the cache and local folders "
         "(also ZOO_VCS_OFFLINE=1).")


#: Past this many files, human output summarises instead of listing each one.
LIST_LIMIT = 20


class State:
    """Process-wide switches set by the top-level options."""

    quiet = False
    debug = False


class Reportable(Protocol):
    """A command's result: rendered by a human formatter, or as JSON."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""


R = TypeVar("R", bound=Reportable)


def emit(result: R, as_json: bool, human: Callable[[R], None]) -> None:
    """Print ``result`` as JSON or through ``human``."""
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        human(result)


def run_transfer(label: str, call: Callable[[BarCallback | None], R], as_json: bool,
                 human: Callable[[R], None]) -> None:
    """Run a transfer with a progress bar; show what was done even when some files failed."""
    bar = progress_bar(label)
    try:
        result = call(bar)
    except OperationError as exc:
        if exc.result is not None:  # the partial result of the same operation
            emit(cast(R, exc.result), as_json, human)
        raise
    finally:
        if bar is not None:
            bar.close()
    emit(result, as_json, human)


def progress_bar(description: str) -> BarCallback | None:
    """A progress bar on a terminal, unless ``-q``."""
    from zoo_vcs.cli.progress import bar_or_none

    return bar_or_none(description, quiet=State.quiet)


remote_option = click.option("-r", "--remote", default=None, metavar="NAME",
                           help="Storage remote to use (default: the default remote).")


def remote_transfer_options(f: Callable[..., None]) -> Callable[..., None]:
    """The options push, fetch and pull share: paths, --exclude, remote, jobs, timeout,
    --offline, -q, --json."""
    for option in (json_option, quiet_option, offline_option, timeout_option, jobs_option,
                   remote_option, exclude_option, paths_argument):
        f = option(f)
    return f


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and the noun, plural unless ``n`` is 1.

    >>> count(1, "tracked binary", "tracked binaries"), count(2, "file")
    ('1 tracked binary', '2 files')
    """
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def rel(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)
