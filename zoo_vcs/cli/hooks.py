"""``zoo-vcs install-hooks`` / ``uninstall-hooks`` and the hidden ``hook`` runner."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from zoo_vcs import api
from zoo_vcs.cli.output import emit, json_option

if TYPE_CHECKING:
    from zoo_vcs.hooks.scripts import HookPlan


@click.command("install-hooks")
@click.option("-f", "--force", is_flag=True,
              help="Replace foreign hooks (kept as NAME.zoo-vcs-backup) instead of chaining.")
@click.option("-n", "--dry-run", is_flag=True, help="Only show what would be done.")
@json_option
def install_hooks(force: bool, dry_run: bool, as_json: bool) -> None:
    """Install the pre-push, post-checkout, post-merge and pre-commit hooks.

    Honours core.hooksPath and linked worktrees; running it again upgrades the hooks.
    An existing foreign hook keeps running (chained) unless --force.

    \b
    Example:
      zoo-vcs install-hooks && git push   # now also uploads binaries and updates gists
    """
    plan = api.install_hooks(force=force, dry_run=dry_run)

    def human(p: HookPlan) -> None:
        for name, action in p.actions:
            click.echo(f"{'would ' if dry_run else ''}{action:<8} {p.hooks_dir / name}")

    emit(plan, as_json, human)


@click.command("uninstall-hooks")
@json_option
def uninstall_hooks(as_json: bool) -> None:
    """Remove zoo-vcs's hooks; chained foreign hooks are put back.

    \b
    Example:
      zoo-vcs uninstall-hooks
    """
    plan = api.uninstall_hooks()

    def human(p: HookPlan) -> None:
        for name, action in p.actions:
            click.echo(f"{action:<8} {p.hooks_dir / name}")

    emit(plan, as_json, human)


@click.command(hidden=True, context_settings={"ignore_unknown_options": True})
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
