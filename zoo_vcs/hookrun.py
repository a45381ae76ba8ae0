"""What each git hook does when git runs it.

- ``pre-push``: for the commits being pushed, upload every object their pointers name to
  the default remote and publish each changed model directory that has a ``gist_id`` to
  its gist, as committed (never the working tree). Any failure stops the push.
- ``post-checkout`` / ``post-merge``: restore binaries; failures are warnings.
- ``pre-commit``: refuse to commit a binary that a pointer tracks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from . import pointer as ptr
from .config import Config
from .errors import HookError, PointerError, ZooError
from .hooks import RefUpdate
from .workspace import Entry, Workspace

log = logging.getLogger(__name__)

#: Publishes one model directory of one commit to its gist; injected so that this module
#: needs no GitHub client (``gistsync.publish_commit`` in production).
GistPublisher = Callable[[Workspace, str, str, str], Any]


@dataclass
class PrePushReport:
    """What a pre-push run published."""

    commits: int = 0
    uploaded: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    gists: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def pointers_in_commits(ws: Workspace, commits: Sequence[str]) -> list[Entry]:
    """One entry per pointer file added or changed by ``commits``, as it was in that commit."""
    from . import gitops

    entries: dict[str, Entry] = {}
    for commit in commits:
        for path in sorted(gitops.changed_paths(ws.root, [commit])):
            if not path.endswith(ptr.SUFFIX):
                continue
            blob = gitops.read_blob(ws.root, commit, path)
            if blob is None:
                continue
            try:
                p = ptr.decode(blob, f"{path} (commit {commit[:10]})")
            except PointerError as exc:
                raise HookError(f"push refused: {exc}") from None
            binary = ws.root / ptr.binary_path_for(path)
            entries.setdefault(p.sha1, Entry(binary, p))
    return list(entries.values())


def model_dirs_in_commits(ws: Workspace, commits: Sequence[str]) -> set[str]:
    """Folders (repository-relative) touched by ``commits``: candidates for gist publishing."""
    from . import gitops

    touched = gitops.changed_paths(ws.root, commits) | gitops.deleted_paths(ws.root, commits)
    return {str(PurePosixPath(p).parent) if "/" in p else "" for p in touched}


def pre_push(ws: Workspace, cfg: Config, remote_name: str, updates: Sequence[RefUpdate], *,
             publish_gist: GistPublisher | None = None) -> PrePushReport:
    """Publish what this push sends. Raises :class:`HookError` to stop the push."""
    from . import gitops
    from .push import upload_objects

    report = PrePushReport()
    tips: list[str] = []
    commits: list[str] = []
    for update in updates:
        if update.is_delete:
            continue
        tips.append(update.local_sha)
        for commit in gitops.commits_to_push(ws.root, update.local_sha, update.remote_sha,
                                             remote_name):
            if commit not in commits:
                commits.append(commit)
    report.commits = len(commits)
    if not commits:
        return report
    entries = pointers_in_commits(ws, commits)
    if entries:
        if not cfg.remotes:
            report.notes.append(f"{len(entries)} binaries not uploaded: no storage remote "
                                "(zoo-vcs remote add NAME URL --default)")
        else:
            result = upload_objects(entries, cfg.remote(), cfg)
            if result.errors:
                raise HookError("push refused: " + "; ".join(str(e) for e in result.errors),
                                hint="run 'zoo-vcs push' to see each failure, or "
                                     "ZOO_VCS_SKIP_HOOKS=1 git push to skip zoo-vcs")
            report.uploaded, report.present = result.uploaded, result.present
    if publish_gist is not None:
        for tip in tips:
            for folder in sorted(model_dirs_in_commits(ws, commits)):
                gist_id = _gist_id_at(ws, tip, folder)
                if gist_id:
                    try:
                        publish_gist(ws, tip, folder, gist_id)
                    except ZooError as exc:
                        raise HookError(f"push refused: gist of {folder or '.'}: {exc}") from None
                    report.gists.append(gist_id)
    return report


def _gist_id_at(ws: Workspace, rev: str, folder: str) -> str | None:
    """The ``gist_id`` of the readme in ``folder`` as committed at ``rev``."""
    from . import frontmatter, gitops

    for mode, kind, path in gitops.list_tree(ws.root, rev, folder):
        name = PurePosixPath(path).name
        if kind == "blob" and str(PurePosixPath(path).parent) in (folder or ".", folder) \
                and name.lower() == "readme.md" and mode != "120000":
            blob = gitops.read_blob(ws.root, rev, path) or b""
            try:
                return frontmatter.parse(blob.decode("utf-8", "replace"), path=path).gist_id
            except ZooError:
                return None
    return None


def pre_commit(ws: Workspace) -> list[str]:
    """Staged files that are tracked binaries; raises :class:`HookError` if there are any."""
    from . import gitops

    offenders = []
    for path in gitops.staged_paths(ws.root):
        pointer = path + ptr.SUFFIX
        if (ws.root / pointer).is_file() or gitops.is_in_index(ws.root, pointer):
            offenders.append(path)
    if offenders:
        shown = ", ".join(offenders)
        raise HookError(
            f"commit refused: {shown} is tracked by zoo-vcs through its .zoo pointer; "
            "commit the pointer, not the binary",
            hint="git rm --cached " + " ".join(offenders) + "   (and zoo-vcs add FILE after edits)",
        )
    return offenders


def restore_after(ws: Workspace, cfg: Config, hook: str) -> str:
    """post-checkout / post-merge: restore binaries, turning every failure into a warning."""
    from .checkout import checkout

    try:
        result = checkout(ws, [], cfg)
    except ZooError as exc:
        errors = getattr(exc, "errors", [exc])
        for err in errors:
            log.warning("%s: %s", hook, err)
        return f"zoo-vcs {hook}: {len(errors)} binaries not restored (see above); " \
               "run 'zoo-vcs checkout' to retry"
    return f"zoo-vcs {hook}: {len(result.done)} restored"
