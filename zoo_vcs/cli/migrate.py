"""``zoo-vcs migrate``: binaries committed into git become tracked pointers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from zoo_vcs import api
from zoo_vcs.cli.output import (
    LIST_LIMIT,
    emit,
    jobs_option,
    json_option,
    paths_argument,
    quiet_option,
    rel,
)


@click.command()
@paths_argument
@click.option("--rewrite-history", is_flag=True,
              help="Rewrite every commit of the local branches and tags (git-filter-repo), "
                   "keeping backup refs under refs/zoo-vcs/backup/.")
@click.option("-n", "--dry-run", is_flag=True,
              help="List what would change and the bytes the repository would shed.")
@jobs_option
@quiet_option
@json_option
def migrate(paths: Sequence[Path], rewrite_history: bool, dry_run: bool, jobs: int | None,
            as_json: bool) -> None:
    """Turn binaries committed into git into tracked pointers.

    Binaries are *.caffemodel files and whatever a `[core] binaries` glob in .zoo/config
    names. Each goes into the object cache and is replaced in git by its pointer, and is
    git-ignored; the files stay in the workspace as they are. By default this is one new
    commit on HEAD: the old commits still hold the bytes. --rewrite-history rewrites the
    whole history instead, so that the repository can shed them; then push with --force.
    Tracked files must have no uncommitted changes.

    \b
    Example:
      zoo-vcs migrate --dry-run
      zoo-vcs migrate && zoo-vcs push && git push
      zoo-vcs migrate --rewrite-history && zoo-vcs push && git push --force --all
    """
    result = api.migrate(*paths, rewrite_history=rewrite_history, dry_run=dry_run, jobs=jobs)
    emit(result, as_json, _human)


def _human(r: Any) -> None:
    if r.dry_run:
        _dry_run(r)
    elif r.history and not r.versions:
        click.echo("no binaries in any commit of a branch or tag: nothing to migrate")
    elif not r.history and not r.files:
        click.echo("no binaries at HEAD: nothing to migrate (--rewrite-history looks at every "
                   "commit)")
    elif r.history:
        _list(r.versions)
        click.echo(f"rewrote {r.commits} commits of {len(r.backups)} refs: "
                   f"{_count(r.versions, 'version')} are pointers now")
        click.echo("old history kept in " + ", ".join(r.backups.values()))
        click.echo("next: zoo-vcs install-hooks (pre-push uploads every version's object), "
                   "then git push --force --all && git push --force --tags")
        click.echo(f"to shed the old {r.packed_bytes:,} bytes: delete the backup refs "
                   "(git update-ref -d REF), then git reflog expire --expire=now --all && "
                   "git gc --prune=now")
    else:
        _list(r.files)
        click.echo(f"migrated {_count(r.files, 'binary')} ({r.head_bytes:,} bytes) in commit "
                   f"{r.commit[:12]}")
        click.echo("next: zoo-vcs push, then git push")


def _dry_run(r: Any) -> None:
    for path in r.dirty[:LIST_LIMIT]:
        click.echo(f"uncommitted change: {path}", err=True)
    if r.dirty:
        click.echo("migrate will refuse until these are committed or stashed", err=True)
    if r.history:
        _list(r.versions)
        click.echo(f"would rewrite {_count(r.versions, 'version')} "
                   f"({r.history_bytes:,} bytes) into pointers in every commit")
        click.echo(f"the repository would shed {r.packed_bytes:,} bytes of objects once the "
                   "backup refs are deleted and git gc runs")
    else:
        _list(r.files)
        click.echo(f"would migrate {_count(r.files, 'binary')} at HEAD: its tree would shed "
                   f"{r.head_bytes:,} bytes")
        if r.versions:
            click.echo(f"the history still holds {_count(r.versions, 'version')} "
                       f"({r.packed_bytes:,} bytes of objects): --rewrite-history sheds them")


def _list(versions: Sequence[Any]) -> None:
    if len(versions) > LIST_LIMIT:
        return
    for v in versions:
        sha1 = f"  sha1 {v.sha1[:12]}" if v.sha1 else ""
        click.echo(f"  {rel(v.path)}  {v.size:,} bytes{sha1}")


def _count(items: Sequence[Any], noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{len(items)} {noun if len(items) == 1 else plural}"
