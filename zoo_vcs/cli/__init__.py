"""The command line: a thin click layer over :mod:`zoo_vcs.api` (``zoo-vcs`` and ``git zoo``)."""

from __future__ import annotations

from zoo_vcs.cli.app import git_main as git_main
from zoo_vcs.cli.app import main as main

__all__ = ["git_main", "main"]
