"""Git hook scripts: render, plan, install (chaining a foreign hook) and uninstall them.

Each hook is a short shell script that runs ``zoo-vcs hook NAME "$@"``. A foreign hook
found at install time is kept as ``NAME.zoo-vcs-chained`` and run first (with the same
arguments and standard input); uninstalling puts it back. The scripts in the
repository's top-level ``hooks/`` folder are exactly what :func:`render` produces.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo_vcs.errors import HookError
from zoo_vcs.storage.fileio import atomic_write_bytes

HOOK_NAMES = ("pre-push", "post-checkout", "post-merge", "pre-commit")
MARKER = "# zoo-vcs hook v1"
CHAINED_SUFFIX = ".zoo-vcs-chained"
BACKUP_SUFFIX = ".zoo-vcs-backup"
#: Hooks that must stop git when zoo-vcs fails (or is missing); the others only warn.
BLOCKING = ("pre-push", "pre-commit")

_TEMPLATE = """#!/bin/sh
{marker} ({name}): installed by `zoo-vcs install-hooks`; reinstalling overwrites edits.
# Set ZOO_VCS_SKIP_HOOKS=1 to skip it.
[ "${{ZOO_VCS_SKIP_HOOKS:-}}" = 1 ] && exit 0
input=$(mktemp) || exit {fail}
trap 'rm -f "$input"' EXIT
{stdin}
chained="$0{chained}"
if [ -x "$chained" ]; then
    "$chained" "$@" < "$input" || exit $?
fi
if ! command -v zoo-vcs >/dev/null 2>&1; then
    echo "zoo-vcs {name} hook: the zoo-vcs command is not on PATH; install it" \\
         "(pip install zoo-vcs) or set ZOO_VCS_SKIP_HOOKS=1" >&2
    exit {fail}
fi
zoo-vcs hook {name} "$@" < "$input"{tail}
"""


def render(name: str) -> str:
    """The script installed as hook ``name``."""
    if name not in HOOK_NAMES:
        raise HookError(f"unknown hook {name!r}")
    blocking = name in BLOCKING
    return _TEMPLATE.format(
        marker=MARKER, name=name, chained=CHAINED_SUFFIX,
        # Only pre-push receives data on stdin; the others must not wait for a terminal.
        stdin='cat > "$input"' if name == "pre-push" else ': > "$input"',
        fail=1 if blocking else 0,
        tail="" if blocking else " || true",
    )


def is_ours(path: Path) -> bool:
    """Whether the hook file at ``path`` was written by zoo-vcs."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return MARKER in f.read(4096)
    except OSError:
        return False


@dataclass
class HookPlan:
    """What install/uninstall does to each hook file (``--dry-run`` prints it)."""

    hooks_dir: Path
    actions: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"hooks_dir": str(self.hooks_dir),
                "actions": [{"hook": h, "action": a} for h, a in self.actions]}


def plan_install(hooks_dir: Path, *, force: bool = False) -> HookPlan:
    """Decide per hook: ``install``, ``upgrade`` (ours), ``chain`` or ``replace`` (foreign)."""
    plan = HookPlan(hooks_dir)
    for name in HOOK_NAMES:
        path = hooks_dir / name
        if not path.exists():
            plan.actions.append((name, "install"))
        elif is_ours(path):
            plan.actions.append((name, "upgrade"))
        elif force:
            plan.actions.append((name, "replace"))
        else:
            plan.actions.append((name, "chain"))
    return plan


def install(hooks_dir: Path, *, force: bool = False) -> HookPlan:
    """Install every hook into ``hooks_dir``; idempotent.

    A foreign hook is chained (run before ours), or with ``force`` moved aside to
    ``NAME.zoo-vcs-backup`` and no longer run.
    """
    plan = plan_install(hooks_dir, force=force)
    hooks_dir.mkdir(parents=True, exist_ok=True)
    for name, action in plan.actions:
        path = hooks_dir / name
        if action == "chain":
            chained = path.with_name(name + CHAINED_SUFFIX)
            if chained.exists():
                raise HookError(f"{path}: a foreign hook is here and {chained.name} exists too; "
                                "merge them by hand or use --force")
            os.replace(path, chained)
            _make_executable(chained)
        elif action == "replace":
            os.replace(path, path.with_name(name + BACKUP_SUFFIX))
        atomic_write_bytes(path, render(name).encode("utf-8"))
        _make_executable(path)
    return plan


def uninstall(hooks_dir: Path) -> HookPlan:
    """Remove our hooks; a chained foreign hook goes back to its place."""
    plan = HookPlan(hooks_dir)
    for name in HOOK_NAMES:
        path = hooks_dir / name
        chained = path.with_name(name + CHAINED_SUFFIX)
        if path.exists() and is_ours(path):
            path.unlink()
            if chained.exists():
                os.replace(chained, path)
                plan.actions.append((name, "restore"))
            else:
                plan.actions.append((name, "remove"))
        else:
            plan.actions.append((name, "absent" if not path.exists() else "foreign, kept"))
    return plan


def _make_executable(path: Path) -> None:
    mode = path.stat().st_mode
    path.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
