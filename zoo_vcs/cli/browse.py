"""``zoo-vcs ls``, ``get`` and ``diff``: look into other revisions and other repositories."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from zoo_vcs import api
from zoo_vcs.cli.output import (
    LIST_LIMIT,
    count,
    emit,
    exclude_option,
    jobs_option,
    json_option,
    offline_option,
    quiet_option,
    rel,
    run_transfer,
    timeout_option,
)

rev_option = click.option("--rev", metavar="REV",
                          help="Branch, tag or full commit id (default: HEAD).")


def _size(size: int | None) -> str:
    return f"{size:,} bytes" if size is not None else "size unknown"


@click.command("ls")
@click.argument("repo")
@click.argument("path", default="")
@rev_option
@offline_option
@json_option
def ls(repo: str, path: str, rev: str | None, offline: bool | None, as_json: bool) -> None:
    """List the tracked binaries of git repository REPO (a path or a file://, https:// or
    ssh:// URL) under PATH at REV, without cloning it.

    Only the pointers and readmes are fetched, into a shallow mirror in the user cache.

    \b
    Example:
      zoo-vcs ls https://example.org/zoo.git models --rev v1
      zoo-vcs ls ../zoo 'models/vgg*' --json
    """
    listing = api.ls(repo, path, rev=rev, offline=offline)

    def human(r: Any) -> None:
        for e in r.entries:
            sha1 = e.pointer.sha1[:12] if e.pointer else "no sha1     "
            size = _size(e.pointer.size if e.pointer else None)
            click.echo(f"{sha1}  {size:>18}  {e.path.as_posix()}")
        for w in r.warnings:
            click.echo(f"warning: {w}", err=True)
        click.echo(count(len(r.entries), "tracked binary", "tracked binaries")
                   + f" at {r.rev} ({r.commit[:10]})", err=True)

    emit(listing, as_json, human)


@click.command("get")
@click.argument("repo")
@click.argument("path")
@click.option("-o", "--out", type=click.Path(path_type=Path),
              help="Where to write (default: PATH's name here; an existing folder: inside it).")
@rev_option
@exclude_option
@click.option("-f", "--force", is_flag=True, help="Write over an existing target.")
@jobs_option
@timeout_option
@offline_option
@quiet_option
@json_option
def get(repo: str, path: str, out: Path | None, rev: str | None, exclude: Sequence[str],
        force: bool, jobs: int | None, timeout: float | None, offline: bool | None,
        as_json: bool) -> None:
    """Download PATH of git repository REPO at REV, SHA1-verified, without cloning it:
    one tracked binary, or a whole model folder (text files and binaries). PATH may be a
    pattern ('models/vgg*'): the binaries it names land under OUT.

    The binaries come from their pointers' URLs and the remotes of the repository's
    committed .zoo/config. OUT holds no .git.

    \b
    Example:
      zoo-vcs get https://example.org/zoo.git models/alexnet --rev v1
      zoo-vcs get ../zoo models/alexnet/bvlc_alexnet.caffemodel -o weights.caffemodel
    """
    def human(r: Any) -> None:
        written = [*r.files, *r.binaries]
        for p in written if len(written) <= LIST_LIMIT else []:
            click.echo(f"wrote {rel(p)}")
        for note in r.skipped:
            click.echo(f"warning: {note}", err=True)
        click.echo(f"{count(len(r.binaries), 'binary', 'binaries')} and "
                   f"{count(len(r.files), 'file')} from {r.repo} at {r.rev} "
                   f"({r.commit[:10]})")

    run_transfer("download", lambda bar: api.get(
        repo, path, rev, out, exclude=exclude, force=force, jobs=jobs, timeout=timeout,
        offline=offline, progress=bar), as_json, human)


@click.command("diff")
@click.argument("rev_a", required=False)
@click.argument("rev_b", required=False)
@json_option
def diff(rev_a: str | None, rev_b: str | None, as_json: bool) -> None:
    """Show the tracked binaries added, removed or modified from REV_A (default HEAD) to
    REV_B (default: the workspace), with sizes and sha1s.

    \b
    Example:
      zoo-vcs diff
      zoo-vcs diff v1 v2 --json
    """
    result = api.diff(rev_a, rev_b)

    def human(r: Any) -> None:
        for c in r.changes:
            if c.status == "added":
                what = f"{c.new_sha1 or 'no sha1'}  {_size(c.new_size)}"
            elif c.status == "removed":
                what = f"{c.old_sha1 or 'no sha1'}  {_size(c.old_size)}"
            else:
                what = (f"{(c.old_sha1 or 'no sha1')[:12]} -> {(c.new_sha1 or 'no sha1')[:12]}"
                        f"  {_size(c.old_size)} -> {_size(c.new_size)}")
            click.echo(f"{c.status:<9} {c.path}  {what}")
        click.echo(f"{r.count('added')} added, {r.count('modified')} modified, "
                   f"{r.count('removed')} removed ({r.rev_a} -> {r.rev_b or 'workspace'})")

    emit(result, as_json, human)
