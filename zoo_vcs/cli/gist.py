"""``zoo-vcs gist ...`` and the Caffe-named ``upload-gist`` / ``download-gist``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from zoo_vcs import api
from zoo_vcs.cli.output import emit, json_option

if TYPE_CHECKING:
    from zoo_vcs.gist.sync import SyncResult


@click.group("gist")
def gist_group() -> None:
    """Publish model directories as GitHub gists, and fetch them.

    Needs a token for writes: GITHUB_TOKEN, GH_TOKEN, or git's credential helper.
    ZOO_VCS_GITHUB_API points at GitHub Enterprise.

    \b
    Example:
      zoo-vcs gist push models/my_net
      zoo-vcs gist pull someone/034c6ac3865563b69e60 models/flickr_style
    """


#: The original Caffe scripts' names, added to the top-level command by ``cli``.
caffe_aliases = click.Group("caffe-aliases")


def _render_sync(result: SyncResult, as_json: bool, verb: str) -> None:
    def human(r: SyncResult) -> None:
        what = "created" if r.created else verb
        changes = [f"{len(r.added)} added", f"{len(r.modified)} modified",
                   *([f"{len(r.renamed)} renamed"] if r.renamed else []),
                   f"{len(r.deleted)} deleted"]
        click.echo(f"gist {r.gist_id} {what}: {', '.join(changes)}"
                   + ("" if r.revision or verb == "pulled" else " (no new revision)"))
        if r.html_url:
            click.echo(r.html_url)
        for name in r.plan.large:
            click.echo(f"warning: {name} is larger than the gist page shows (1 MiB); "
                       "it is in the gist's git history", err=True)

    emit(result, as_json, human)


def _gist_push_command(group: click.Group, name: str, help_text: str) -> None:
    @group.command(name=name, help=help_text)
    @click.argument("directory", default=".", type=click.Path(file_okay=False, exists=True,
                                                                path_type=Path))
    @click.option("--secret", is_flag=True, help="Create a secret gist (default: public).")
    @click.option("--description", help="Gist description (default: the model's name).")
    @json_option
    def command(directory: Path, secret: bool, description: str | None, as_json: bool) -> None:
        _render_sync(api.gist_push(directory, secret=secret, description=description),
                     as_json, "updated")


def _gist_pull_command(group: click.Group, name: str, help_text: str) -> None:
    @group.command(name=name, help=help_text)
    @click.argument("gist")
    @click.argument("directory", type=click.Path(path_type=Path))
    @click.option("--revision", metavar="SHA", help="A past revision of the gist.")
    @click.option("-f", "--force", is_flag=True, help="Overwrite local edits.")
    @json_option
    def command(gist: str, directory: Path, revision: str | None, force: bool,
                as_json: bool) -> None:
        _render_sync(api.gist_pull(gist, directory, revision=revision, force=force), as_json,
                     "pulled")


_gist_push_command(gist_group, "push", """Create or update DIR's gist from its text files.

On create, gist_id is written into the readme. Binaries, dotfiles and .zoo/ never go;
a subdirectory is an error. A push with nothing changed makes no new revision. The
gist's description is set to the readme's name on every push (--description overrides).

\b
Example:
  zoo-vcs gist push models/my_net --description "My Net, Caffe weights"
""")
_gist_pull_command(gist_group, "pull", """Bring GIST (id, user/id or URL) into DIRECTORY.

\b
Example:
  zoo-vcs gist pull https://gist.github.com/someone/034c6ac3865563b69e60 models/flickr
""")
_gist_push_command(caffe_aliases, "upload-gist", """Publish DIR as a gist (the Caffe script's name).

The same as `zoo-vcs gist push DIR`: the gist's description is the readme's name, on
create and on every update (--description overrides it).

\b
Example:
  zoo-vcs upload-gist models/my_net
""")
@caffe_aliases.command("download-gist")
@click.argument("gist")
@click.argument("dirname", default="models", type=click.Path(file_okay=False, path_type=Path))
@json_option
def download_gist(gist: str, dirname: Path, as_json: bool) -> None:
    """Download GIST into DIRNAME/<GIST with / replaced by -> (Caffe's script).

    DIRNAME defaults to models. An existing folder is refused: nothing is overwritten, and
    a failed download leaves no folder behind. To update a folder, use `zoo-vcs gist pull`.

    \b
    Example:
      zoo-vcs download-gist someone/034c6ac3865563b69e60      # -> models/someone-034c...
      zoo-vcs download-binary models/someone-034c6ac3865563b69e60
    """
    result = api.download_gist(gist, dirname)
    _render_sync(result, as_json, "pulled")
    if not as_json:
        click.echo(f"into {result.folder}")


@gist_group.command("status")
@click.argument("directory", default=".", type=click.Path(file_okay=False, exists=True,
                                                            path_type=Path))
@json_option
def gist_status(directory: Path, as_json: bool) -> None:
    """Show what differs between DIR and its gist: the plan 'gist push' would apply.

    \b
    Example:
      zoo-vcs gist status models/my_net
    """
    result = api.gist_status(directory)

    def human(r: SyncResult) -> None:
        if r.in_sync:
            click.echo(f"in sync with gist {r.gist_id}")
        for label, names in (("new here", r.added), ("modified", r.modified),
                             ("renamed", [f"{a} -> {b}" for a, b in r.renamed]),
                             ("only in gist", r.deleted)):
            for name in names:
                click.echo(f"{label:<13} {name}")

    emit(result, as_json, human)
