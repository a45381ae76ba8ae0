"""The commands that move binaries: ``checkout`` (and Caffe's ``download-binary``),
``pull``, ``push`` and ``fetch``; registered on the ``zoo-vcs`` group by ``cli.app``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from zoo_vcs import api
from zoo_vcs.cli.output import (
    LIST_LIMIT,
    allow_unverified_option,
    exclude_option,
    jobs_option,
    json_option,
    offline_option,
    paths_argument,
    quiet_option,
    rel,
    remote_transfer_options,
    run_transfer,
    timeout_option,
)

if TYPE_CHECKING:
    from zoo_vcs.ops.checkout import CheckoutResult
    from zoo_vcs.ops.fetch import FetchResult
    from zoo_vcs.ops.push import PushResult


#: These commands, added to the top-level group by ``cli.app``.
commands = click.Group("transfer")


def _checkout_command(name: str, help_text: str) -> Callable[..., None]:
    @commands.command(name=name, help=help_text)
    @paths_argument
    @exclude_option
    @click.option("-f", "--force", is_flag=True,
                  help="Overwrite files modified locally even when their bytes are in no cache.")
    @click.option("--link", type=click.Choice(["copy", "reflink", "hardlink", "symlink"]),
                  default=None, help="How files are placed from the cache (default copy).")
    @click.option("-n", "--dry-run", is_flag=True, help="Show what would be done.")
    @allow_unverified_option
    @jobs_option
    @timeout_option
    @offline_option
    @quiet_option
    @json_option
    def command(paths: Sequence[Path], exclude: Sequence[str], force: bool, link: str | None,
                dry_run: bool, allow_unverified: bool, jobs: int | None, timeout: float | None,
                offline: bool | None, as_json: bool) -> None:
        run_transfer("download", lambda bar: api.checkout(
            *paths, exclude=exclude, force=force, dry_run=dry_run,
            allow_unverified=allow_unverified, jobs=jobs, timeout=timeout, link=link,
            offline=offline, progress=bar), as_json, _checkout_human)

    return command


def _checkout_human(r: CheckoutResult) -> None:
    for path, sha1 in r.unverified:
        # On stderr even with --json: a file nobody could verify must not pass unnoticed.
        click.echo(f"warning: {rel(path)}: downloaded without verification (no sha1 in the "
                   f"readme); its SHA1 is {sha1}. Record it with: zoo-vcs add {rel(path)}",
                   err=True)
    verb = "would restore" if r.dry_run else "restored"
    done = set(r.done)  # a set: thousands of files are checked against it
    listed = [a for a in r.actions
              if a.kind in ("create", "replace") and (r.dry_run or a.path in done)]
    for a in listed if len(listed) <= LIST_LIMIT else []:
        click.echo(f"{verb} {rel(a.path)}")
    click.echo(f"{len(r.done) if not r.dry_run else r.count('create') + r.count('replace')}"
               f" {verb}, {r.count('skip')} up to date")


_checkout_command("checkout", """Restore every binary named by pointers or readme frontmatter.

Each file comes from the workspace if already right, else the cache, else each URL of
its pointer, and lands under its name only after its SHA1 matched. A file modified
locally whose bytes are in no cache is kept unless --force.

PATHs may be gitignore-style patterns ('models/vgg*', '**/*.caffemodel') matched against
the paths of tracked binaries, present or not. Without PATH, the [fetch] include and
exclude of .zoo/config apply.

\b
Example:
  git clone https://example.org/models.git && cd models && zoo-vcs checkout
  zoo-vcs checkout 'models/vgg*' --exclude '**/*_snapshot_*.caffemodel'
""")
_checkout_command("download-binary", """Download and verify DIR's weights (the Caffe script's job).

The same as `zoo-vcs checkout DIR`: works in a plain folder holding a Model Zoo readme.

\b
Example:
  zoo-vcs download-binary models/bvlc_alexnet
""")


@commands.command()
@remote_transfer_options
def push(paths: Sequence[Path], exclude: Sequence[str], remote: str | None, jobs: int | None,
         timeout: float | None, offline: bool | None, as_json: bool) -> None:
    """Upload tracked binaries' objects to a storage remote; add their URLs to the pointers.

    Objects the remote already has are not sent again.

    \b
    Example:
      zoo-vcs remote add store s3://my-bucket/zoo --default
      zoo-vcs push && git commit -am "Weights on S3"
    """
    def human(r: PushResult) -> None:
        click.echo(f"pushed to {r.remote}: {len(r.uploaded)} uploaded, "
                   f"{len(r.present)} already there")
        if r.pointers_updated:
            shown = r.pointers_updated if len(r.pointers_updated) <= LIST_LIMIT else sorted(
                {p.parent for p in r.pointers_updated})
            click.echo(f"{len(r.pointers_updated)} pointers gained the remote's URL; commit "
                       "them: git add " + " ".join(rel(p) for p in shown))

    run_transfer("upload", lambda bar: api.push(*paths, exclude=exclude, remote=remote,
                                                 jobs=jobs, timeout=timeout, offline=offline,
                                                 progress=bar),
                  as_json, human)


@commands.command()
@remote_transfer_options
def fetch(paths: Sequence[Path], exclude: Sequence[str], remote: str | None, jobs: int | None,
          timeout: float | None, offline: bool | None, as_json: bool) -> None:
    """Download tracked binaries' objects into the cache, leaving the workspace alone.

    PATHs may be patterns; without PATH, the [fetch] include/exclude of .zoo/config apply.

    \b
    Example:
      zoo-vcs fetch -r store
      zoo-vcs fetch 'models/vgg*'
    """
    def human(r: FetchResult) -> None:
        click.echo(f"{len(r.fetched)} fetched, {len(r.present)} already in the cache")

    run_transfer("download", lambda bar: api.fetch(*paths, exclude=exclude, remote=remote,
                                                    jobs=jobs, timeout=timeout,
                                                    offline=offline, progress=bar),
                  as_json, human)


@commands.command()
@remote_transfer_options
@click.option("-f", "--force", is_flag=True, help="Overwrite files modified locally.")
@allow_unverified_option
def pull(paths: Sequence[Path], exclude: Sequence[str], remote: str | None, force: bool,
         allow_unverified: bool, jobs: int | None, timeout: float | None,
         offline: bool | None, as_json: bool) -> None:
    """Fetch, then check out: restore every tracked binary, verified.

    PATHs may be patterns; without PATH, the [fetch] include/exclude of .zoo/config apply.

    \b
    Example:
      git clone https://example.org/models.git && cd models && zoo-vcs pull
      zoo-vcs pull 'models/vgg*' --exclude '**/*_snapshot_*.caffemodel'
    """
    run_transfer("download", lambda bar: api.pull(
        *paths, exclude=exclude, remote=remote, force=force,
        allow_unverified=allow_unverified, jobs=jobs, timeout=timeout, offline=offline,
        progress=bar), as_json, _checkout_human)
