"""What each git hook does when git runs it.

- ``pre-push``: for the commits being pushed, upload every object their pointers name to
  the default remote; from the publishing branch only, publish each changed model
  directory that has a ``gist_id`` to its gist, as committed (never the working tree).
  Any failure stops the push, and so does a pointer whose object is in no local cache,
  not on the remote and not at any URL of the pointer (a clone could not get it).
- ``post-checkout`` / ``post-merge``: restore binaries; failures are warnings.
- ``pre-commit``: refuse to commit a binary that a pointer tracks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from zoo_vcs.errors import HookError, ObjectNotFoundError, PointerError, UsageError, ZooError
from zoo_vcs.formats import pointer as ptr
from zoo_vcs.hooks.prepush import RefUpdate, parse_pre_push, plan_push, pre_push_from_env
from zoo_vcs.hooks.scripts import HOOK_NAMES
from zoo_vcs.repo import modeldir
from zoo_vcs.repo.context import Repository
from zoo_vcs.repo.scan import Entry

if TYPE_CHECKING:
    from zoo_vcs.gist.sync import SyncResult

log = logging.getLogger(__name__)

#: Publishes one model directory of one commit to its gist; injected so that this module
#: needs no GitHub client (``zoo_vcs.gist.sync.publish_commit`` in production).
GistPublisher = Callable[[Repository, str, str, str], "SyncResult"]


@dataclass
class PrePushReport:
    """What a pre-push run published."""

    commits: int = 0
    uploaded: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    gists: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for git's output."""
        parts = [f"{len(self.uploaded)} binaries uploaded, {len(self.present)} already "
                 f"on the remote", f"{len(self.gists)} gists published", *self.notes]
        return "zoo-vcs pre-push: " + "; ".join(parts)


def run(repo: Repository, name: str, args: Sequence[str], stdin: str,
        env: Mapping[str, str]) -> str:
    """Hook ``name`` with git's arguments and input; returns a summary for git's output.

    Raises
    ------
    HookError
        For pre-push and pre-commit: the git operation must stop.
    UsageError
        Not a hook zoo-vcs knows.
    """
    if env.get("ZOO_VCS_SKIP_HOOKS") == "1":
        return ""
    if name == "pre-push":
        from zoo_vcs.gist.sync import publish_commit  # PyGithub loads only for a push

        updates = parse_pre_push(stdin) or pre_push_from_env(env)
        remote_name = args[0] if args else env.get("PRE_COMMIT_REMOTE_NAME", "")
        return pre_push(repo, remote_name, updates, publish_gist=publish_commit).summary()
    if name == "pre-commit":
        pre_commit(repo)
        return ""
    if name == "post-checkout":
        flag = args[2] if len(args) > 2 else env.get("PRE_COMMIT_CHECKOUT_TYPE", "1")
        if flag != "1":
            return ""  # a file checkout: binaries are not involved
        return restore_after(repo, name)
    if name == "post-merge":
        return restore_after(repo, name)
    raise UsageError(f"unknown hook {name!r}; known: {', '.join(HOOK_NAMES)}")


def pointers_in_commits(repo: Repository, commits: Sequence[str]) -> list[Entry]:
    """One entry per pointer file added or changed by ``commits``, as it was in that commit."""
    from zoo_vcs.git import repo as gitrepo

    entries: dict[str, Entry] = {}
    for commit in commits:
        for path in sorted(gitrepo.changed_paths(repo.root, [commit])):
            if not path.endswith(ptr.SUFFIX):
                continue
            blob = gitrepo.read_blob(repo.root, commit, path)
            if blob is None:
                continue
            try:
                p = ptr.decode(blob, f"{path} (commit {commit[:10]})")
            except PointerError as exc:
                raise HookError(f"push refused: {exc}") from None
            binary = repo.root / ptr.binary_path_for(path)
            entries.setdefault(p.sha1, Entry(binary, p))
    return list(entries.values())


def model_dirs_in_commits(repo: Repository, commits: Sequence[str]) -> set[str]:
    """Folders (repository-relative) touched by ``commits``: candidates for gist publishing."""
    from zoo_vcs.git import repo as gitrepo

    touched = gitrepo.changed_paths(repo.root, commits) | gitrepo.deleted_paths(repo.root,
                                                                                commits)
    return {str(PurePosixPath(p).parent) if "/" in p else "" for p in touched}


def _new_commits(repo: Repository, update: RefUpdate, remote_name: str) -> list[str]:
    from zoo_vcs.git import repo as gitrepo

    return gitrepo.commits_to_push(repo.root, update.local_sha, update.remote_sha, remote_name)


def pre_push(repo: Repository, remote_name: str, updates: Sequence[RefUpdate], *,
             publish_gist: GistPublisher | None = None) -> PrePushReport:
    """Publish what this push sends. Raises :class:`HookError` to stop the push."""
    from zoo_vcs.git import repo as gitrepo

    branch = repo.config.gist_branch or gitrepo.publishing_branch(repo.root, remote_name)
    plan = plan_push(updates, branch)
    report = PrePushReport()
    commits: list[str] = []
    for update in plan.upload:
        for commit in _new_commits(repo, update, remote_name):
            if commit not in commits:
                commits.append(commit)
    report.commits = len(commits)
    if not commits:
        return report
    entries = pointers_in_commits(repo, commits)
    if entries:
        _publish_objects(repo, entries, report)
    if plan.publish is None:
        if any(u.remote_ref.startswith("refs/heads/") for u in plan.upload):
            report.notes.append(f"gists are published from '{branch}' only")
    elif publish_gist is not None:
        tip = plan.publish.local_sha
        published = _new_commits(repo, plan.publish, remote_name)
        for folder in sorted(model_dirs_in_commits(repo, published)):
            gist_id = _gist_id_at(repo, tip, folder)
            if gist_id:
                try:
                    publish_gist(repo, tip, folder, gist_id)
                except ZooError as exc:
                    raise HookError(f"push refused: gist of {folder or '.'}: {exc}") from None
                report.gists.append(gist_id)
    return report


def _publish_objects(repo: Repository, entries: Sequence[Entry], report: PrePushReport) -> None:
    """Upload the objects the pushed pointers name to the default remote, and refuse the
    push when one is held nowhere a clone could get it from: not in a local cache, not on
    the remote and not at any URL of its pointer (git-lfs refuses such pushes too)."""
    from zoo_vcs.ops.push import local_objects, upload_entries

    refuse = ("run 'zoo-vcs push' to see each failure, or ZOO_VCS_SKIP_HOOKS=1 git push to "
              "skip zoo-vcs")
    if repo.config.remotes:
        result = upload_entries(repo, entries, repo.remote())
        if result.errors:
            raise HookError("push refused: " + "; ".join(str(e) for e in result.errors),
                            hint=refuse)
        report.uploaded, report.present = result.uploaded, result.present
        missing = result.missing
    else:
        local, absent, errors = local_objects(repo.cache, entries)
        if errors:
            raise HookError("push refused: " + "; ".join(str(e) for e in errors), hint=refuse)
        missing = {sha1: ObjectNotFoundError(str(e.path), sha1, [f"{why}, and no storage remote"])
                   for sha1, (e, why) in absent.items()}
        if local:
            report.notes.append(f"{len(local)} binaries not uploaded: no storage remote "
                                "(zoo-vcs remote add NAME URL --default)")
    if not missing:
        return
    by_sha1 = {e.pointer.sha1: e for e in entries if e.pointer is not None}
    nowhere = _held_nowhere(repo, {s: by_sha1[s] for s in missing})
    if nowhere:
        raise HookError("push refused: " + "; ".join(str(missing[s]) for s in nowhere),
                        hint="the pushed commits name binaries that a clone could not get: "
                             "restore them into the workspace (or 'zoo-vcs fetch' them) and "
                             "push again")
    report.notes.append(f"{len(missing)} binaries are not on the remote but at their "
                        "pointers' URLs")


def _held_nowhere(repo: Repository, entries: dict[str, Entry]) -> list[str]:
    """The objects among ``entries`` that none of their pointers' URLs holds (size check)."""
    from zoo_vcs.repo.paths import names_another_copy
    from zoo_vcs.transfer.engine import Engine

    objects = {sha1: (e.pointer.size, tuple(u for u in e.pointer.urls
                                            if names_another_copy(u, [repo.root])))
               for sha1, e in entries.items() if e.pointer is not None}
    engine = Engine(repo.cache, repo.transfer_options(), jobs=repo.config.jobs)
    found = engine.locate(objects, None)
    return [sha1 for sha1 in entries if not isinstance(found.get(sha1), str)]


def _gist_id_at(repo: Repository, rev: str, folder: str) -> str | None:
    """The ``gist_id`` of the readme in ``folder`` as committed at ``rev``."""
    from zoo_vcs.formats import frontmatter
    from zoo_vcs.git import repo as gitrepo

    for mode, kind, path in gitrepo.list_tree(repo.root, rev, folder):
        pure = PurePosixPath(path)
        if kind == "blob" and str(pure.parent) in (folder or ".", folder) \
                and modeldir.is_readme(pure.name) and mode != "120000":
            blob = gitrepo.read_blob(repo.root, rev, path) or b""
            try:
                return frontmatter.parse(blob.decode("utf-8", "replace"), path=path).gist_id
            except ZooError:
                return None
    return None


def pre_commit(repo: Repository) -> list[str]:
    """Staged files that are tracked binaries; raises :class:`HookError` if there are any."""
    from zoo_vcs.git import repo as gitrepo

    offenders = []
    for path in gitrepo.staged_paths(repo.root):
        pointer = path + ptr.SUFFIX
        if (repo.root / pointer).is_file() or gitrepo.is_in_index(repo.root, pointer):
            offenders.append(path)
    if offenders:
        shown = ", ".join(offenders)
        raise HookError(
            f"commit refused: {shown} is tracked by zoo-vcs through its .zoo pointer; "
            "commit the pointer, not the binary",
            hint="git rm --cached " + " ".join(offenders) + "   (and zoo-vcs add FILE after edits)",
        )
    return offenders


def restore_after(repo: Repository, hook: str) -> str:
    """post-checkout / post-merge: restore binaries (those the ``[fetch]`` include/exclude
    of ``.zoo/config`` select), turning every failure into a warning."""
    from zoo_vcs.ops.checkout import checkout

    try:
        result = checkout(repo, [], select=repo.config.fetch)
    except ZooError as exc:
        errors = getattr(exc, "errors", [exc])
        for err in errors:
            log.warning("%s: %s", hook, err)
        return f"zoo-vcs {hook}: {len(errors)} binaries not restored (see above); " \
               "run 'zoo-vcs checkout' to retry"
    return f"zoo-vcs {hook}: {len(result.done)} restored"
