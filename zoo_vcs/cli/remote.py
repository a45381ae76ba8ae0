"""``zoo-vcs remote``: storage remotes in ``.zoo/config``."""

from __future__ import annotations

import json
from collections.abc import Sequence

import click

from zoo_vcs import api
from zoo_vcs.cli.output import json_option


@click.group()
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
@json_option
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
