"""The ``zoo-vcs`` command: the group, ``main()``, and the commands on tracked binaries.

Each command parses options, calls one API function and renders the result. Command
groups live beside this module (``remote``, ``gist``, ``index``, ``hooks``), shared options
and output in ``output``. ``main()`` is the only place that maps a
``ZooError`` to a message and an exit code, installs logging handlers, or prints a traceback
(``--debug`` / ``ZOO_VCS_DEBUG=1``).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, cast

import click

from zoo_vcs import __version__, api
from zoo_vcs.cli import browse as cli_browse
from zoo_vcs.cli import gist as cli_gist
from zoo_vcs.cli import hooks as cli_hooks
from zoo_vcs.cli import index as cli_index
from zoo_vcs.cli import migrate as cli_migrate
from zoo_vcs.cli import remote as cli_remote
from zoo_vcs.cli import transfer as cli_transfer
from zoo_vcs.cli.output import (
    LIST_LIMIT,
    State,
    count,
    emit,
    exclude_option,
    jobs_option,
    json_option,
    offline_option,
    paths_argument,
    quiet_option,
    rel,
)
from zoo_vcs.errors import OperationError, ZooError

if TYPE_CHECKING:
    from zoo_vcs.ops.add import AddResult
    from zoo_vcs.ops.gc import GcResult
    from zoo_vcs.ops.status import StatusReport
    from zoo_vcs.ops.verify import VerifyResult

log = logging.getLogger("zoo_vcs")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__)
@click.option("-q", "--quiet", is_flag=True, help="No progress bars, only errors.")
@click.option("-v", "--verbose", count=True, help="More detail (-vv: debug log).")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.option("-C", "directory", type=click.Path(file_okay=False, path_type=Path),
              help="Run as if started in this folder.")
def cli(quiet: bool, verbose: int, debug: bool, directory: Path | None) -> None:
    """Version control for Caffe Model Zoo model directories.

    Binaries (.caffemodel weights) are tracked by small pointer files committed to git,
    restored and SHA1-verified by `zoo-vcs checkout`.
    """
    State.quiet = quiet
    State.debug = debug or os.environ.get("ZOO_VCS_DEBUG") == "1"
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[
        min(verbose, 2)]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("zoo-vcs: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    root = logging.getLogger()
    if not State.debug and not root.handlers:
        # Storage backends log their own failures (gcsfs: logger.exception, with a
        # traceback, through logging's last-resort handler); the one-line error is ours.
        root.addHandler(logging.NullHandler())
    if directory is not None:
        os.chdir(directory)


@cli.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", help="Model name for the readme skeleton (default: the folder name).")
def init(directory: Path, name: str | None) -> None:
    """Make DIRECTORY a model directory: readme skeleton, git repository, .zoo/.

    \b
    Example:
      zoo-vcs init models/my_net --name "My Net"
    """
    created = api.init(directory, name=name)
    for path in created:
        click.echo(f"created {path}")
    if not created:
        click.echo(f"{directory} is already a model directory")


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--url", "urls", multiple=True, metavar="URL",
              help="Where the bytes can also be downloaded (repeatable; one FILE only). "
                   "A FILE not here yet is downloaded once from the first URL.")
@click.option("--sha256", is_flag=True,
              help="Also record SHA256 (verified on every download; default: core.sha256).")
@jobs_option
@offline_option
@quiet_option
@json_option
def add(files: Sequence[Path], urls: Sequence[str], sha256: bool, jobs: int | None,
        offline: bool | None, as_json: bool) -> None:
    """Track binary FILES: hash into the cache, write FILE.zoo, git-ignore FILE.

    Also keeps the readme's caffemodel, caffemodel_url and sha1 in step; a readme without
    '---' delimiters gets its keys moved into a '---' block, so that Caffe's own
    download_model_binary.py reads it.

    \b
    Example:
      zoo-vcs add models/alexnet/bvlc_alexnet.caffemodel \\
          --url http://dl.caffe.berkeleyvision.org/bvlc_alexnet.caffemodel
      git add models/alexnet && git commit -m "Track AlexNet weights"
    """
    result = api.add(*files, urls=urls, sha256=sha256, jobs=jobs, offline=offline)

    def human(r: AddResult) -> None:
        many = len(r.added) > LIST_LIMIT
        for a in [] if many else r.added:
            size = f"{a.pointer.size:,} bytes"
            note = "" if a.changed else " (unchanged)"
            click.echo(f"added {rel(a.path)}  sha1 {a.pointer.sha1[:12]}  {size}{note}")
        if many:
            changed = sum(1 for a in r.added if a.changed)
            total = sum(a.pointer.size or 0 for a in r.added)
            click.echo(f"added {len(r.added)} files ({total:,} bytes), {changed} new or changed")
        # Folders rather than hundreds of paths when many files were added.
        paths = r.to_commit if len(r.to_commit) <= LIST_LIMIT else sorted(
            {p.parent for p in r.to_commit})
        if paths:
            click.echo("To record it in git:  git add " + " ".join(rel(p) for p in paths))

    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    emit(result, as_json, human)


@cli.command()
@paths_argument
@exclude_option
@json_option
@click.option("-a", "--all", "show_all", is_flag=True, help="List files that are ok, too.")
@click.option("--remote", "check_remote", is_flag=True,
              help="Also check that the remote holds each binary's object (exit 1 if not).")
@click.option("-r", "remote", default=None, metavar="NAME",
              help="The remote --remote checks (default: the default remote).")
def status(paths: Sequence[Path], exclude: Sequence[str], as_json: bool, show_all: bool,
           check_remote: bool, remote: str | None) -> None:
    """Show each tracked binary: ok, missing, modified or unverified.

    PATHs may be gitignore-style patterns, matched against the paths of tracked binaries.
    With --remote, also whether the storage remote holds its object (one listing, no
    download); exit 1 when any is missing, so CI can refuse weights a clone could not get.

    \b
    Example:
      zoo-vcs status
      zoo-vcs status --json models/alexnet
      zoo-vcs status 'models/vgg*' --exclude '**/*_snapshot_*'
      zoo-vcs status --remote -r store
    """
    report = api.status(*paths, exclude=exclude, remote=remote or check_remote)

    def human(r: StatusReport) -> None:
        counts: dict[str, int] = {}
        on_remote: dict[str, int] = {}
        for f in r.files:
            counts[f.state] = counts.get(f.state, 0) + 1
            if f.remote is not None:
                on_remote[f.remote] = on_remote.get(f.remote, 0) + 1
            if show_all or f.state != "ok" or f.remote == "missing":
                extra = "" if f.cached or f.state == "ok" else "  (not in cache)"
                where = f"  remote: {f.remote}" if f.remote is not None else ""
                click.echo(f"{f.state:<11} {rel(f.entry.path)}{extra}{where}")
        for w in r.warnings:
            click.echo(f"warning: {w}", err=True)
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        if r.remote is not None:
            summary += f"; remote {r.remote!r}: " + ", ".join(
                f"{on_remote.get(s, 0)} {s}" for s in ("present", "missing"))
        click.echo(count(len(r.files), "tracked binary", "tracked binaries")
                   + (f": {summary}" if summary else ""))

    emit(report, as_json, human)
    failures = report.failures()
    if failures:
        raise OperationError(failures, report, action="status")


@cli.command()
@paths_argument
@exclude_option
@jobs_option
@json_option
def verify(paths: Sequence[Path], exclude: Sequence[str], jobs: int | None,
           as_json: bool) -> None:
    """Re-hash tracked files and their cache objects; exit 1 on any mismatch.

    \b
    Example:
      zoo-vcs verify
    """
    try:
        result = api.verify(*paths, exclude=exclude, jobs=jobs)
    except OperationError as exc:
        if exc.result is not None and as_json:
            emit(cast("VerifyResult", exc.result), True, lambda r: None)
        raise

    def human(r: VerifyResult) -> None:
        click.echo(f"{len(r.files)} files and {len(r.objects_ok)} cache objects verified")

    emit(result, as_json, human)


@cli.command()
@click.option("-n", "--dry-run", is_flag=True, help="Only list what would be removed.")
@click.option("-w", "--workspace-only", is_flag=True,
              help="Keep only the workspace's objects; remove another only when the default "
                   "remote or one of its pointer's URLs holds it.")
@json_option
def gc(dry_run: bool, workspace_only: bool, as_json: bool) -> None:
    """Remove cache objects that nothing needs.

    Kept: every object a pointer or readme names in the workspace, the index, or a commit
    reachable from a branch, a tag, HEAD or the stash -- of every repository that shares
    the cache. With --workspace-only, other objects go once another copy is confirmed.

    \b
    Example:
      zoo-vcs gc --dry-run
      zoo-vcs gc --workspace-only
    """
    result = api.gc(dry_run=dry_run, workspace_only=workspace_only)

    def human(r: GcResult) -> None:
        for w in r.warnings[:LIST_LIMIT]:
            click.echo(f"warning: {w}", err=True)
        verb = "would remove" if r.dry_run else "removed"
        click.echo(f"{verb} {len(r.removed)} objects ({r.freed:,} bytes), kept {r.kept}")
        if r.held_nowhere:
            click.echo(f"kept {len(r.held_nowhere)} objects held nowhere else:")
            for sha1, why in list(r.held_nowhere.items())[:LIST_LIMIT]:
                name = r.names.get(sha1)
                click.echo(f"  {sha1[:12]}  {name + ': ' if name else ''}{why}")

    emit(result, as_json, human)


for _group in (cli_remote.remote, cli_gist.gist_group, cli_index.index_group,
               cli_browse.ls, cli_browse.get, cli_browse.diff,
               cli_hooks.install_hooks, cli_hooks.uninstall_hooks, cli_hooks.hook,
               *cli_gist.caffe_aliases.commands.values()):
    cli.add_command(_group)
cli.add_command(cli_migrate.migrate)
for _command in cli_transfer.commands.commands.values():
    cli.add_command(_command)


def git_main(argv: Sequence[str] | None = None) -> NoReturn:
    """Entry point of the ``git-zoo`` console script: ``git zoo COMMAND`` (git runs it)."""
    main(argv, prog_name="git zoo")


def main(argv: Sequence[str] | None = None, prog_name: str = "zoo-vcs") -> NoReturn:
    """Entry point of the ``zoo-vcs`` console script; ``prog_name`` is shown in help."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name=prog_name,
                 standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("zoo-vcs: interrupted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("zoo-vcs: interrupted", err=True)
        sys.exit(130)
    except ZooError as exc:
        _report(exc)
        sys.exit(exc.exit_code)
    except Exception as exc:
        if State.debug:
            raise
        click.echo(f"zoo-vcs: internal error: {type(exc).__name__}: {exc}", err=True)
        click.echo("hint: run again with --debug for a traceback, and report it", err=True)
        sys.exit(3)
    sys.exit(0)


def _report(exc: ZooError) -> None:
    if State.debug:
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    errors = exc.errors if isinstance(exc, OperationError) else [exc]
    shown = errors if len(errors) <= LIST_LIMIT else errors[:LIST_LIMIT]
    hints: dict[str, None] = {}
    for err in shown:
        click.echo(f"zoo-vcs: error: {err}", err=True)
        if err.hint:
            hints[err.hint] = None
    if len(errors) > len(shown):
        click.echo(f"zoo-vcs: ... and {len(errors) - len(shown)} more errors "
                   "(--json lists them all)", err=True)
    for hint in hints:  # once each, not once per failed file
        click.echo(f"hint: {hint}", err=True)
    if isinstance(exc, OperationError) and len(errors) > 1:
        click.echo(f"zoo-vcs: {exc.action} failed: {len(errors)} errors", err=True)
