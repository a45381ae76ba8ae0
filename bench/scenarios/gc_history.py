"""``gc`` on a long history (README, "G"): a repository of ``--many`` commits over
``--many`` models (history.py) whose cache holds every version any commit names plus
``--many``/2 objects nothing names, collected by ``zoo-vcs gc`` beside ``dvc gc -a -T``
on the same history tracked by dvc."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

import peers as cmd
from data import fresh_dir, rmtree
from harness import MEMORY_TARGET, WORK, BenchError, Peer, Scenario, Target, log
from history import model_history
from registry import Context, scenario
from tools import DVC_ENV


def fill_cache(folder: Path, digests: Iterable[str]) -> None:
    """One small object per digest, at ``folder/<2 hex>/<the rest>`` (their bytes do not
    matter: neither tool reads them)."""
    for digest in digests:
        (folder / digest[:2]).mkdir(parents=True, exist_ok=True)
        (folder / digest[:2] / digest[2:]).write_text(digest)


def objects_in(folder: Path) -> set[str]:
    return {d.name + f.name for d in folder.iterdir() if d.is_dir() for f in d.iterdir()} \
        if folder.is_dir() else set()


def restore(template: Path, cache: Path) -> Callable[[], None]:
    """A ``prepare``: the cache as ``template`` (hard links: fast, and gc only unlinks)."""
    def fn() -> None:
        rmtree(cache)
        shutil.copytree(template, cache, copy_function=os.link)
        os.sync()
    return fn


def expect_objects(folder: Path, kept: set[str], what: str) -> Callable[[str], None]:
    def check(_: str) -> None:
        left = objects_in(folder)
        if left != kept:
            raise BenchError(f"{what}: {len(kept - left)} objects that must stay were removed, "
                             f"{len(left - kept)} that must go are still there "
                             f"({len(left)} left, {len(kept)} expected)")
    return check


@scenario("gc", lambda a: f"gc on a {a.many}-commit repository", needs={"dvc"},
          scratch=("gc",))
def gc(ctx: Context) -> Scenario:
    count = ctx.args.many
    orphans = max(count // 2, 1)
    base = fresh_dir(WORK / "gc")
    log(f"writing {count} commits of {count} models with zoo-vcs pointers")
    repo = fresh_dir(base / "zoo")
    h = model_history(repo, "zoo", commits=count, models=count)
    named = set(h.sha1)
    unnamed = {hashlib.sha1(f"orphan-{i}".encode()).hexdigest() for i in range(orphans)}
    template = base / "zoo-objects"
    fill_cache(template, named | unnamed)
    cache = repo / ".git" / "zoo-vcs" / "cache" / "sha1"

    def check_log(stdout: str) -> None:
        if missing := named - set(re.findall(r"\b[0-9a-f]{40}\b", stdout)):
            raise BenchError(f"{len(missing)} pointer versions missing from git log")

    peers = [Peer("git log --all -p", ["git", "log", "--all", "-p", "--format=%H"], repo,
                  check=check_log),
             Peer("zoo-vcs gc", cmd.zoo("gc"), repo,
                  prepare=restore(template, cache),
                  check=expect_objects(cache, named, "zoo-vcs gc"))]
    notes = ctx.tools.missing("dvc")
    if (dvc := ctx.tools.dvc) is not None:
        log("the same history tracked by dvc")
        dvc_repo = fresh_dir(base / "dvc")
        dh = model_history(dvc_repo, "dvc", commits=count, models=count)
        dvc_unnamed = {hashlib.md5(f"orphan-{i}".encode()).hexdigest() for i in range(orphans)}
        dvc_template = base / "dvc-objects"
        fill_cache(dvc_template, set(dh.md5) | dvc_unnamed)
        dvc_cache = dvc_repo / ".dvc" / "cache" / "files" / "md5"
        env = {**DVC_ENV, "DVC_SITE_CACHE_DIR": str(base / "dvc-site")}
        peers.append(Peer("dvc gc -a -T", [dvc, "gc", "-a", "-T", "-f"], dvc_repo, env=env,
                          prepare=restore(dvc_template, dvc_cache),
                          check=expect_objects(dvc_cache, dh.tip_md5(), "dvc gc -a -T")))
    return Scenario(
        "gc", f"gc on a repository of {count} commits over {count} models: "
        f"{len(named)} objects named by its history, {orphans} by nothing",
        peers[0].name, "zoo-vcs gc", peers,
        [Target("ahead of dvc gc -a -T (≤ 1.0x)", 1.0, "dvc gc -a -T"), MEMORY_TARGET],
        [*notes, "zoo-vcs gc keeps what any commit of a branch or tag names (check: exactly "
                 "the unnamed objects go); dvc gc -a -T keeps only what the tips of the "
                 "branches and tags name (check: exactly those stay), reading the pointers "
                 "of one commit where zoo-vcs reads every commit's"])
