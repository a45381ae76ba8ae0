"""``zoo-vcs index build``: the Model Zoo page."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from zoo_vcs import api
from zoo_vcs.cli.output import jobs_option, json_option, timeout_option


@click.group("index")
def index_group() -> None:
    """The Model Zoo page: a table of every model found.

    \b
    Example:
      zoo-vcs index build models/ -o MODEL_ZOO.md
    """


@index_group.command("build")
@click.argument("sources", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the page to this file (default: standard output).")
@click.option("--check", is_flag=True,
              help="Probe every weights URL (small Range requests, in parallel).")
@click.option("--verify-local", is_flag=True,
              help="Hash weights present beside their readme (status: verified).")
@click.option("--title", default="Model Zoo", help="Page title.")
@jobs_option
@timeout_option
@json_option
def index_build(sources: Sequence[str], output: Path | None, check: bool, verify_local: bool,
                title: str, jobs: int | None, timeout: float | None, as_json: bool) -> None:
    """Build the Model Zoo page from SOURCES: model directories, folders of them, gists.

    One row per model: name, license, Caffe version, weights link, SHA1, size, gist and a
    status (verified, no sha1, unreachable weights with --check...). Readmes that are only
    partly understood still appear, with what is missing said plainly.

    \b
    Example:
      zoo-vcs index build examples -o examples/MODEL_ZOO.md
      zoo-vcs index build models someone/034c6ac3865563b69e60 --check --json
    """
    from zoo_vcs.ops import index

    rows = api.index_build(*sources, check=check, verify_local=verify_local, jobs=jobs,
                           timeout=timeout)
    text = index.rows_to_json(rows) + "\n" if as_json else index.render_markdown(rows, title)
    if output is None:
        click.echo(text, nl=False)
    else:
        from zoo_vcs.storage.fileio import atomic_write_bytes

        atomic_write_bytes(output, text.encode("utf-8"))
        click.echo(f"wrote {output}: {len(rows)} models", err=True)
