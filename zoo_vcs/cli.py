"""The ``zoo-vcs`` command: parse options, call one API function, render the result.

``main()`` is the only place that maps a ``ZooError`` to a message and an exit code,
installs logging handlers, or prints a traceback (``--debug`` / ``ZOO_VCS_DEBUG=1``).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from . import __version__, api
from .errors import OperationError, ZooError

log = logging.getLogger("zoo_vcs")

_jobs = click.option("-j", "--jobs", type=click.IntRange(1, 256), default=None,
                     help="Parallel transfers/hashes (default 8).")
_timeout = click.option("--timeout", type=click.FloatRange(min=0.1), default=None,
                        help="Fail a transfer that makes no progress for this many seconds "
                             "(default 60, or ZOO_VCS_TIMEOUT).")
_json = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


def _set_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        _State.quiet = True
        logging.getLogger("zoo_vcs").setLevel(logging.ERROR)


# Also accepted after the command name (`zoo-vcs pull -q`), as users expect.
_quiet = click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_set_quiet,
                      help="No progress bars, only errors.")
_paths = click.argument("paths", nargs=-1, type=click.Path(path_type=Path))


#: Past this many files, human output summarises instead of listing each one.
_LIST_LIMIT = 20


class _State:
    quiet = False
    debug = False


def _emit(result: Any, as_json: bool, human: Callable[[Any], None]) -> None:
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        human(result)


def _run_transfer(label: str, call: Callable[[Any], Any], as_json: bool,
                  human: Callable[[Any], None]) -> None:
    """Run a transfer with a progress bar; show what was done even when some files failed."""
    bar = _progress(label)
    try:
        result = call(bar)
    except OperationError as exc:
        if exc.result is not None:
            _emit(exc.result, as_json, human)
        raise
    finally:
        if bar is not None:
            bar.close()
    _emit(result, as_json, human)


def _progress(description: str) -> Any:
    from .progress import bar_or_none

    return bar_or_none(description, quiet=_State.quiet)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zoo-vcs")
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
    _State.quiet = quiet
    _State.debug = debug or os.environ.get("ZOO_VCS_DEBUG") == "1"
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[
        min(verbose, 2)]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("zoo-vcs: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)
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
              help="Where the bytes can also be downloaded (repeatable; one FILE only).")
@click.option("--sha256", is_flag=True,
              help="Also record SHA256 (verified on every download; default: core.sha256).")
@_jobs
@_quiet
@_json
def add(files: Sequence[Path], urls: Sequence[str], sha256: bool, jobs: int | None,
        as_json: bool) -> None:
    """Track binary FILES: hash into the cache, write FILE.zoo, git-ignore FILE.

    Also keeps the readme's caffemodel, caffemodel_url and sha1 in step.

    \b
    Example:
      zoo-vcs add models/alexnet/bvlc_alexnet.caffemodel \\
          --url http://dl.caffe.berkeleyvision.org/bvlc_alexnet.caffemodel
      git add models/alexnet && git commit -m "Track AlexNet weights"
    """
    result = api.add(*files, urls=urls, sha256=sha256, jobs=jobs)

    def human(r: Any) -> None:
        many = len(r.added) > _LIST_LIMIT
        for a in [] if many else r.added:
            size = f"{a.pointer.size:,} bytes"
            note = "" if a.changed else " (unchanged)"
            click.echo(f"added {_rel(a.path)}  sha1 {a.pointer.sha1[:12]}  {size}{note}")
        if many:
            changed = sum(1 for a in r.added if a.changed)
            total = sum(a.pointer.size or 0 for a in r.added)
            click.echo(f"added {len(r.added)} files ({total:,} bytes), {changed} new or changed")
        # Folders rather than hundreds of paths when many files were added.
        paths = r.to_commit if len(r.to_commit) <= _LIST_LIMIT else sorted(
            {p.parent for p in r.to_commit})
        if paths:
            click.echo("To record it in git:  git add " + " ".join(_rel(p) for p in paths))

    _emit(result, as_json, human)


@cli.command()
@_paths
@_json
@click.option("-a", "--all", "show_all", is_flag=True, help="List files that are ok, too.")
def status(paths: Sequence[Path], as_json: bool, show_all: bool) -> None:
    """Show each tracked binary: ok, missing, modified or unverified.

    \b
    Example:
      zoo-vcs status
      zoo-vcs status --json models/alexnet
    """
    report = api.status(*paths)

    def human(r: Any) -> None:
        counts: dict[str, int] = {}
        for f in r.files:
            counts[f.state] = counts.get(f.state, 0) + 1
            if show_all or f.state != "ok":
                extra = "" if f.cached or f.state == "ok" else "  (not in cache)"
                click.echo(f"{f.state:<11} {_rel(f.entry.path)}{extra}")
        for w in r.warnings:
            click.echo(f"warning: {w}", err=True)
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        click.echo(f"{len(r.files)} tracked binaries" + (f": {summary}" if summary else ""))

    _emit(report, as_json, human)
    if report.errors:
        raise OperationError(report.errors, report, action="status")


def _checkout_command(name: str, help_text: str) -> Callable[..., None]:
    @cli.command(name=name, help=help_text)
    @_paths
    @click.option("-f", "--force", is_flag=True,
                  help="Overwrite files modified locally even when their bytes are in no cache.")
    @click.option("--link", type=click.Choice(["copy", "reflink", "hardlink", "symlink"]),
                  default=None, help="How files are placed from the cache (default copy).")
    @click.option("-n", "--dry-run", is_flag=True, help="Show what would be done.")
    @_jobs
    @_timeout
    @_quiet
    @_json
    def command(paths: Sequence[Path], force: bool, link: str | None, dry_run: bool,
                jobs: int | None, timeout: float | None, as_json: bool) -> None:
        _run_transfer("download", lambda bar: api.checkout(
            *paths, force=force, dry_run=dry_run, jobs=jobs, timeout=timeout, link=link,
            callback=bar), as_json, _checkout_human)

    return command


def _checkout_human(r: Any) -> None:
    verb = "would restore" if r.dry_run else "restored"
    done = set(r.done)  # a set: thousands of files are checked against it
    listed = [a for a in r.actions
              if a.kind in ("create", "replace") and (r.dry_run or a.path in done)]
    for a in listed if len(listed) <= _LIST_LIMIT else []:
        click.echo(f"{verb} {_rel(a.path)}")
    click.echo(f"{len(r.done) if not r.dry_run else r.count('create') + r.count('replace')}"
               f" {verb}, {r.count('skip')} up to date")


_checkout_command("checkout", """Restore every binary named by pointers or readme frontmatter.

Each file comes from the workspace if already right, else the cache, else each URL of
its pointer, and lands under its name only after its SHA1 matched. A file modified
locally whose bytes are in no cache is kept unless --force.

\b
Example:
  git clone https://example.org/models.git && cd models && zoo-vcs checkout
""")
_checkout_command("download-binary", """Download and verify DIR's weights (the Caffe script's job).

The same as `zoo-vcs checkout DIR`: works in a plain folder holding a Model Zoo readme.

\b
Example:
  zoo-vcs download-binary models/bvlc_alexnet
""")


_remote_opt = click.option("-r", "--remote", default=None, metavar="NAME",
                           help="Storage remote to use (default: the default remote).")


def _remote_transfer(f: Callable[..., None]) -> Callable[..., None]:
    """The options push, fetch and pull share: paths, remote, jobs, timeout, -q, --json."""
    for option in (_json, _quiet, _timeout, _jobs, _remote_opt, _paths):
        f = option(f)
    return f


@cli.command()
@_remote_transfer
def push(paths: Sequence[Path], remote: str | None, jobs: int | None, timeout: float | None,
         as_json: bool) -> None:
    """Upload tracked binaries' objects to a storage remote; add their URLs to the pointers.

    Objects the remote already has are not sent again.

    \b
    Example:
      zoo-vcs remote add store s3://my-bucket/zoo --default
      zoo-vcs push && git commit -am "Weights on S3"
    """
    def human(r: Any) -> None:
        click.echo(f"pushed to {r.remote}: {len(r.uploaded)} uploaded, "
                   f"{len(r.present)} already there")
        if r.pointers_updated:
            shown = r.pointers_updated if len(r.pointers_updated) <= _LIST_LIMIT else sorted(
                {p.parent for p in r.pointers_updated})
            click.echo(f"{len(r.pointers_updated)} pointers gained the remote's URL; commit "
                       "them: git add " + " ".join(_rel(p) for p in shown))

    _run_transfer("upload", lambda bar: api.push(*paths, remote=remote, jobs=jobs,
                                                 timeout=timeout, callback=bar),
                  as_json, human)


@cli.command()
@_remote_transfer
def fetch(paths: Sequence[Path], remote: str | None, jobs: int | None, timeout: float | None,
          as_json: bool) -> None:
    """Download tracked binaries' objects into the cache, leaving the workspace alone.

    \b
    Example:
      zoo-vcs fetch -r store
    """
    def human(r: Any) -> None:
        click.echo(f"{len(r.fetched)} fetched, {len(r.present)} already in the cache")

    _run_transfer("download", lambda bar: api.fetch(*paths, remote=remote, jobs=jobs,
                                                    timeout=timeout, callback=bar),
                  as_json, human)


@cli.command()
@_remote_transfer
@click.option("-f", "--force", is_flag=True, help="Overwrite files modified locally.")
def pull(paths: Sequence[Path], remote: str | None, force: bool, jobs: int | None,
         timeout: float | None, as_json: bool) -> None:
    """Fetch, then check out: restore every tracked binary, verified.

    \b
    Example:
      git clone https://example.org/models.git && cd models && zoo-vcs pull
    """
    _run_transfer("download", lambda bar: api.pull(
        *paths, remote=remote, force=force, jobs=jobs, timeout=timeout, callback=bar),
        as_json, _checkout_human)


@cli.group()
def remote() -> None:
    """Storage remotes: where pushed objects go and pulls look.

    \b
    Example:
      zoo-vcs remote add store s3://my-bucket/zoo --default -o endpoint_url=https://s3.example.org
      zoo-vcs remote modify store profile research --local
      zoo-vcs remote list
    """


def _parse_options(pairs: Sequence[str]) -> dict[str, str]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="-o")
        options[key.strip()] = value.strip()
    return options


@remote.command("add")
@click.argument("name")
@click.argument("url")
@click.option("-d", "--default", "make_default", is_flag=True, help="Make it the default remote.")
@click.option("--local", is_flag=True,
              help="Write to .zoo/config.local (git-ignored: per-user settings, secrets).")
@click.option("-o", "--option", "options", multiple=True, metavar="KEY=VALUE",
              help="fsspec storage option (endpoint_url, profile, anon, ...); repeatable.")
@click.option("-f", "--force", is_flag=True, help="Replace an existing remote of that name.")
def remote_add(name: str, url: str, make_default: bool, local: bool, options: Sequence[str],
               force: bool) -> None:
    """Add storage remote NAME at URL (any fsspec URL or a folder).

    \b
    Example:
      zoo-vcs remote add store s3://my-bucket/zoo --default
      zoo-vcs remote add share /mnt/lab/zoo-objects
    """
    api.remote_add(name, url, default=make_default, local=local,
                   options=_parse_options(options), force=force)
    click.echo(f"remote {name} -> {url}" + (" (default)" if make_default else ""))


@remote.command("list")
@_json
def remote_list(as_json: bool) -> None:
    """List storage remotes (option values are not shown: they may be secrets).

    \b
    Example:
      zoo-vcs remote list --json
    """
    infos = api.remote_list()
    if as_json:
        click.echo(json.dumps([i.to_dict() for i in infos], indent=2))
        return
    for info in infos:
        mark = "*" if info.default else " "
        opts = f"  ({', '.join(sorted(info.remote.options))})" if info.remote.options else ""
        click.echo(f"{mark} {info.remote.name}\t{info.remote.url}{opts}")


@remote.command("remove")
@click.argument("name")
def remote_remove(name: str) -> None:
    """Forget storage remote NAME (the objects on it are not touched).

    \b
    Example:
      zoo-vcs remote remove store
    """
    api.remote_remove(name)


@remote.command("modify")
@click.argument("name")
@click.argument("key")
@click.argument("value", required=False)
@click.option("--unset", is_flag=True, help="Remove the option.")
@click.option("--local", is_flag=True, help="Write to .zoo/config.local (git-ignored).")
def remote_modify(name: str, key: str, value: str | None, unset: bool, local: bool) -> None:
    """Set storage option KEY of remote NAME to VALUE (or --unset it).

    \b
    Example:
      zoo-vcs remote modify store endpoint_url http://127.0.0.1:9000
      zoo-vcs remote modify store secret ... --local
    """
    if value is None and not unset:
        raise click.UsageError("give a VALUE or --unset")
    api.remote_modify(name, key, None if unset else value, local=local)


@cli.group("gist")
def gist_group() -> None:
    """Publish model directories as GitHub gists, and fetch them.

    Needs a token for writes: GITHUB_TOKEN, GH_TOKEN, or git's credential helper.
    ZOO_VCS_GITHUB_API points at GitHub Enterprise.

    \b
    Example:
      zoo-vcs gist push models/my_net
      zoo-vcs gist pull someone/034c6ac3865563b69e60 models/flickr_style
    """


def _render_sync(result: Any, as_json: bool, verb: str) -> None:
    def human(r: Any) -> None:
        what = "created" if r.created else verb
        changes = [f"{len(r.added)} added", f"{len(r.modified)} modified",
                   f"{len(r.deleted)} deleted"]
        click.echo(f"gist {r.gist_id} {what}: {', '.join(changes)}"
                   + ("" if r.revision or verb == "pulled" else " (no new revision)"))
        if r.html_url:
            click.echo(r.html_url)
        for name in r.large:
            click.echo(f"warning: {name} is larger than the gist page shows (1 MiB); "
                       "it is in the gist's git history", err=True)

    _emit(result, as_json, human)


def _gist_push_command(group: click.Group, name: str, help_text: str) -> None:
    @group.command(name=name, help=help_text)
    @click.argument("directory", default=".", type=click.Path(file_okay=False, exists=True,
                                                                path_type=Path))
    @click.option("--secret", is_flag=True, help="Create a secret gist (default: public).")
    @click.option("--description", help="Gist description (default: the model's name).")
    @_json
    def command(directory: Path, secret: bool, description: str | None, as_json: bool) -> None:
        _render_sync(api.gist_push(directory, secret=secret, description=description),
                     as_json, "updated")


def _gist_pull_command(group: click.Group, name: str, help_text: str) -> None:
    @group.command(name=name, help=help_text)
    @click.argument("gist")
    @click.argument("directory", type=click.Path(path_type=Path))
    @click.option("--revision", metavar="SHA", help="A past revision of the gist.")
    @click.option("-f", "--force", is_flag=True, help="Overwrite local edits.")
    @_json
    def command(gist: str, directory: Path, revision: str | None, force: bool,
                as_json: bool) -> None:
        _render_sync(api.gist_pull(gist, directory, revision=revision, force=force), as_json,
                     "pulled")


_gist_push_command(gist_group, "push", """Create or update DIR's gist from its text files.

On create, gist_id is written into the readme. Binaries, dotfiles and .zoo/ never go;
a subdirectory is an error. A push with nothing changed makes no new revision.

\b
Example:
  zoo-vcs gist push models/my_net --description "My Net, Caffe weights"
""")
_gist_pull_command(gist_group, "pull", """Bring GIST (id, user/id or URL) into DIRECTORY.

\b
Example:
  zoo-vcs gist pull https://gist.github.com/someone/034c6ac3865563b69e60 models/flickr
""")
_gist_push_command(cli, "upload-gist", """Publish DIR as a gist (the Caffe script's name).

The same as `zoo-vcs gist push DIR`.

\b
Example:
  zoo-vcs upload-gist models/my_net
""")
_gist_pull_command(cli, "download-gist", """Download GIST into DIRECTORY (the Caffe script).

The same as `zoo-vcs gist pull GIST DIRECTORY`.

\b
Example:
  zoo-vcs download-gist 034c6ac3865563b69e60 models/flickr_style
""")


@gist_group.command("status")
@click.argument("directory", default=".", type=click.Path(file_okay=False, exists=True,
                                                            path_type=Path))
@_json
def gist_status(directory: Path, as_json: bool) -> None:
    """Show what differs between DIR and its gist.

    \b
    Example:
      zoo-vcs gist status models/my_net
    """
    result = api.gist_status(directory)

    def human(r: Any) -> None:
        if r.in_sync:
            click.echo(f"in sync with gist {r.gist_id}")
        for label, names in (("new here", r.added), ("modified", r.modified),
                             ("only in gist", r.deleted)):
            for name in names:
                click.echo(f"{label:<13} {name}")

    _emit(result, as_json, human)


@cli.group("index")
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
@_jobs
@_timeout
@_json
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
    from . import index

    rows = api.index_build(*sources, check=check, verify_local=verify_local, jobs=jobs,
                           timeout=timeout)
    text = index.rows_to_json(rows) + "\n" if as_json else index.render_markdown(rows, title)
    if output is None:
        click.echo(text, nl=False)
    else:
        from .fileio import atomic_write_bytes

        atomic_write_bytes(output, text.encode("utf-8"))
        click.echo(f"wrote {output}: {len(rows)} models", err=True)


@cli.command("install-hooks")
@click.option("-f", "--force", is_flag=True,
              help="Replace foreign hooks (kept as NAME.zoo-vcs-backup) instead of chaining.")
@click.option("-n", "--dry-run", is_flag=True, help="Only show what would be done.")
@_json
def install_hooks(force: bool, dry_run: bool, as_json: bool) -> None:
    """Install the pre-push, post-checkout, post-merge and pre-commit hooks.

    Honours core.hooksPath and linked worktrees; running it again upgrades the hooks.
    An existing foreign hook keeps running (chained) unless --force.

    \b
    Example:
      zoo-vcs install-hooks && git push   # now also uploads binaries and updates gists
    """
    plan = api.install_hooks(force=force, dry_run=dry_run)

    def human(p: Any) -> None:
        for name, action in p.actions:
            click.echo(f"{'would ' if dry_run else ''}{action:<8} {p.hooks_dir / name}")

    _emit(plan, as_json, human)


@cli.command("uninstall-hooks")
@_json
def uninstall_hooks(as_json: bool) -> None:
    """Remove zoo-vcs's hooks; chained foreign hooks are put back.

    \b
    Example:
      zoo-vcs uninstall-hooks
    """
    plan = api.uninstall_hooks()

    def human(p: Any) -> None:
        for name, action in p.actions:
            click.echo(f"{action:<8} {p.hooks_dir / name}")

    _emit(plan, as_json, human)


@cli.command(hidden=True, context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def hook(name: str, args: Sequence[str]) -> None:
    """Run hook NAME as git does (used by the installed hook scripts).

    \b
    Example:
      echo "refs/heads/main $(git rev-parse HEAD) refs/heads/main $(printf 0%.0s {1..40})" \\
          | zoo-vcs hook pre-push origin https://example.org/repo.git
    """
    stdin = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    summary = api.run_hook(name, args, stdin)
    if summary:
        click.echo(summary, err=True)


@cli.command()
@_paths
@_jobs
@_json
def verify(paths: Sequence[Path], jobs: int | None, as_json: bool) -> None:
    """Re-hash tracked files and their cache objects; exit 1 on any mismatch.

    \b
    Example:
      zoo-vcs verify
    """
    try:
        result = api.verify(*paths, jobs=jobs)
    except OperationError as exc:
        if exc.result is not None and as_json:
            _emit(exc.result, True, lambda r: None)
        raise

    def human(r: Any) -> None:
        click.echo(f"{len(r.files)} files and {len(r.objects_ok)} cache objects verified")

    _emit(result, as_json, human)


@cli.command()
@click.option("-n", "--dry-run", is_flag=True, help="Only list what would be removed.")
@_json
def gc(dry_run: bool, as_json: bool) -> None:
    """Remove cache objects that no pointer in this repository references.

    \b
    Example:
      zoo-vcs gc --dry-run
    """
    result = api.gc(dry_run=dry_run)

    def human(r: Any) -> None:
        verb = "would remove" if r.dry_run else "removed"
        click.echo(f"{verb} {len(r.removed)} objects ({r.freed:,} bytes), kept {r.kept}")

    _emit(result, as_json, human)


def _rel(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Entry point of the ``zoo-vcs`` console script."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="zoo-vcs",
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
        if _State.debug:
            raise
        click.echo(f"zoo-vcs: internal error: {type(exc).__name__}: {exc}", err=True)
        click.echo("hint: run again with --debug for a traceback, and report it", err=True)
        sys.exit(3)
    sys.exit(0)


def _report(exc: ZooError) -> None:
    if _State.debug:
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    errors = exc.errors if isinstance(exc, OperationError) else [exc]
    shown = errors if len(errors) <= _LIST_LIMIT else errors[:_LIST_LIMIT]
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
