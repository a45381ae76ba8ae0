"""Pure: read git's pre-push input and decide what a push publishes.

Objects are uploaded for every pushed commit, whatever the branch. Gists are published
only from the publishing branch, at the tip pushed to it, for the folders its new commits
touched: no other ref in the same push can roll a gist back (SPEC 4, Hooks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from zoo_vcs.errors import HookError

ZERO_SHA = "0" * 40


@dataclass(frozen=True)
class RefUpdate:
    """One line of git's pre-push input."""

    local_ref: str
    local_sha: str
    remote_ref: str
    remote_sha: str

    @property
    def is_delete(self) -> bool:
        """A branch deletion publishes nothing."""
        return set(self.local_sha) == {"0"}


def parse_pre_push(text: str) -> list[RefUpdate]:
    """Parse pre-push standard input (``<local ref> <sha> <remote ref> <sha>`` per line).

    >>> parse_pre_push("refs/heads/main 1111 refs/heads/main 0000\\n")[0].remote_sha
    '0000'
    """
    updates = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 4:
            raise HookError(f"pre-push input line {lineno} is not '<ref> <sha> <ref> <sha>': "
                            f"{line!r}")
        updates.append(RefUpdate(*parts))
    return updates


@dataclass(frozen=True)
class PushPlan:
    """What a pre-push run does: upload objects for ``upload`` (ref updates), and publish
    gists from ``publish`` (the update of the publishing branch), if it is pushed."""

    upload: tuple[RefUpdate, ...]
    publish: RefUpdate | None
    branch: str


def plan_push(updates: Sequence[RefUpdate], branch: str) -> PushPlan:
    """Which updates upload objects and which one (at most) publishes gists.

    >>> main = RefUpdate("refs/heads/main", "a" * 40, "refs/heads/main", "b" * 40)
    >>> feature = RefUpdate("refs/heads/f", "c" * 40, "refs/heads/feature", ZERO_SHA)
    >>> plan = plan_push([main, feature], "main")
    >>> [u.remote_ref for u in plan.upload], plan.publish.remote_ref
    (['refs/heads/main', 'refs/heads/feature'], 'refs/heads/main')
    >>> plan_push([feature], "main").publish is None
    True
    """
    live = tuple(u for u in updates if not u.is_delete)
    target = f"refs/heads/{branch}"
    publish = next((u for u in live if u.remote_ref == target), None)
    return PushPlan(live, publish, branch)


def pre_push_from_env(env: Mapping[str, str]) -> list[RefUpdate]:
    """The pre-commit framework passes the push through variables, not stdin."""
    to_ref = env.get("PRE_COMMIT_TO_REF")
    if not to_ref:
        return []
    return [RefUpdate(env.get("PRE_COMMIT_LOCAL_BRANCH", "HEAD"), to_ref,
                      env.get("PRE_COMMIT_REMOTE_BRANCH", ""),
                      env.get("PRE_COMMIT_FROM_REF") or ZERO_SHA)]
