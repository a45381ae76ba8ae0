"""Reading a remote repository without cloning it (README, "R"): ``get`` one model
(readme, prototxt and the big file's weights) and ``ls`` every tracked binary, from a
repository of ``--many`` models and ``--many`` commits served over smart HTTP, beside
``dvc get`` and ``dvc list`` on the same history tracked by dvc."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import peers as cmd
from data import expect_file, expect_in_stdout, fresh_dir, link_into, rmtree
from harness import MEMORY_TARGET, WORK, BenchError, Peer, Scenario, Target, log, run
from history import History, dvc_file, model_history, zoo_pointer
from registry import Context, resource, scenario
from servers import git_http_server
from tools import DVC_ENV

R_USES = ("big", "http", "model_repos")
TEXT_BYTES = 16 << 10  # notes text each commit rewrites: what a full clone fetches beside
TARGET = "models/target"
PROTOTXT = "name: 'Target'\ninput: 'data'\n"


@dataclass
class ModelRepos:
    """The served repositories: clone URLs, what the tip's ``models/target`` holds, and
    the histories (the other models' tip versions)."""

    zoo_url: str
    dvc_url: str | None
    file_url: str  # the big file, where the zoo-vcs pointer and the baseline find it
    sha1: str
    readme: str
    zoo: History
    notes: list[str]


def md5_of(path: Path) -> str:
    """MD5 by an ``md5sum`` child (this process's RSS, the RSS floor, stays low)."""
    return run(["md5sum", path.name], path.parent).split()[0]


def add_target(repo: Path, text: str, name: str, tracking: str) -> None:
    """Commit ``models/target`` (readme, prototxt, ``name`` holding ``tracking``)."""
    folder = repo / TARGET
    folder.mkdir(parents=True)
    (folder / "readme.md").write_text(text)
    (folder / "deploy.prototxt").write_text(PROTOTXT)
    (folder / name).write_text(tracking)
    cmd.commit_all(repo, "target model")


def serve(src: Path, served: Path, name: str) -> None:
    """A bare clone of ``src`` as ``served/name``, allowing partial clones (as GitHub)."""
    run(["git", "clone", "-q", "--bare", str(src), str(served / name)], WORK)
    run(["git", "config", "uploadpack.allowFilter", "true"], served / name)


@resource("model_repos")
def model_repos(ctx: Context) -> Iterator[ModelRepos]:
    """WORK/repos: the zoo-vcs and dvc repositories (bare, served by git http-backend);
    the dvc remote (an HTTP one: the big file as its only object) in WORK/data/dvc-store,
    served by the ``http`` server."""
    big, sha1 = ctx.get("big")
    server = ctx.get("http")
    base = fresh_dir(WORK / "repos")
    served = fresh_dir(base / "served")
    store = WORK / "data" / "dvc-store"
    count = ctx.args.many
    file_url = f"{server.url}/{big.name}"
    text = (f"---\nname: Target Net\ncaffemodel: w.caffemodel\ncaffemodel_url: {file_url}\n"
            f"sha1: {sha1}\n---\n\nThe model we want.\n")
    size = big.stat().st_size
    try:
        log(f"writing {count} commits of {count} models with zoo-vcs pointers")
        zoo = model_history(fresh_dir(base / "zoo"), "zoo", commits=count, models=count,
                            text_bytes=TEXT_BYTES)
        add_target(base / "zoo", text, "w.caffemodel.zoo", zoo_pointer(sha1, size, file_url))
        serve(base / "zoo", served, "zoo.git")
        notes, dvc_served = [*ctx.tools.missing("dvc")], False
        if ctx.tools.dvc is not None:
            log("the same history tracked by dvc")
            md5 = md5_of(big)
            fresh_dir(store / "files" / "md5" / md5[:2])
            link_into(big, store / "files" / "md5" / md5[:2] / md5[2:])
            config = (f"[core]\n    remote = store\n    analytics = false\n"
                      f"    check_update = false\n['remote \"store\"']\n"
                      f"    url = {server.url}/{store.name}\n")
            model_history(fresh_dir(base / "dvc"), "dvc", commits=count, models=count,
                          text_bytes=TEXT_BYTES, dvc_config=config)
            add_target(base / "dvc", text, "w.caffemodel.dvc", dvc_file(md5, size, "w.caffemodel"))
            serve(base / "dvc", served, "dvc.git")
            dvc_served = True
        with git_http_server(served) as url:
            yield ModelRepos(f"{url}/zoo.git", f"{url}/dvc.git" if dvc_served else None,
                             file_url, sha1, text, zoo, notes)
    finally:
        rmtree(base)
        rmtree(store)


def fresh_home(folder: Path) -> tuple[dict[str, str], Callable[[], None]]:
    """An environment whose user caches (zoo-vcs's mirrors and objects, dvc's site cache)
    are under ``folder``, and a ``prepare`` that empties it: every run starts cold."""
    env = {"HOME": str(folder), "XDG_CACHE_HOME": str(folder / ".cache"),
           "ZOO_VCS_CACHE_DIR": str(folder / "objects"),
           "DVC_SITE_CACHE_DIR": str(folder / "dvc-site")}

    def prepare() -> None:
        fresh_dir(folder)
        os.sync()
    return env, prepare


def then(first: Callable[[], None], second: Callable[[], None]) -> Callable[[], None]:
    def fn() -> None:
        first()
        second()
    return fn


def shared(ctx: Context, key: str) -> tuple[ModelRepos, Path]:
    return ctx.get("model_repos"), fresh_dir(WORK / key)


@scenario("get", lambda a: f"get one model ({a.size_mib} MiB) from a repository of "
          f"{a.many} models", needs={"dvc", "nginx"}, uses=R_USES, scratch=("get",))
def get(ctx: Context) -> Scenario:
    r, base = shared(ctx, "get")
    big, _ = ctx.get("big")

    def check_model(out: Path) -> Callable[[str], None]:
        def fn(_: str) -> None:
            expect_file(out / "w.caffemodel", r.sha1)
            if (out / "readme.md").read_text() != r.readme or \
                    (out / "deploy.prototxt").read_text() != PROTOTXT:
                raise BenchError(f"{out}: readme.md or deploy.prototxt differ from the commit")
            if (out / ".git").exists():
                raise BenchError(f"{out} holds a .git")
        return fn

    def gone(*paths: Path) -> Callable[[], None]:
        def fn() -> None:
            for path in paths:
                if path.is_dir():
                    rmtree(path)
                else:
                    path.unlink(missing_ok=True)
            os.sync()
        return fn

    clone, file = base / "clone", base / "w.caffemodel"

    def check_clone(stdout: str) -> None:
        expect_in_stdout(r.sha1)(stdout)
        expect_file(file, r.sha1)
        if not (clone / TARGET / "w.caffemodel.zoo").is_file():
            raise BenchError(f"the clone has no {TARGET}/w.caffemodel.zoo")

    peers = [Peer("git clone --depth 1 + curl",
                  cmd.clone_curl_sha1sum(r.zoo_url, clone.name, r.file_url, file.name), base,
                  prepare=gone(clone, file), check=check_clone)]
    env, prepare = fresh_home(base / "zoo-home")
    peers.append(Peer("zoo-vcs get (model folder)",
                      cmd.zoo("get", r.zoo_url, TARGET, "-o", "zoo-out"), base, env=env,
                      prepare=then(prepare, gone(base / "zoo-out")),
                      check=check_model(base / "zoo-out")))
    if r.dvc_url is not None and (dvc := ctx.tools.dvc) is not None:
        env, prepare = fresh_home(base / "dvc-home")
        peers.append(Peer("dvc get (model folder)",
                          [dvc, "get", r.dvc_url, TARGET, "-o", "dvc-out"], base,
                          env={**DVC_ENV, **env}, prepare=then(prepare, gone(base / "dvc-out")),
                          check=check_model(base / "dvc-out")))
    size = big.stat().st_size >> 20
    return Scenario(
        "get", f"get {TARGET} (readme, prototxt, {size} MiB of weights over loopback HTTP) "
        f"from a repository of {ctx.args.many} models and {ctx.args.many + 1} commits "
        "(smart HTTP)", peers[0].name, "zoo-vcs get (model folder)", peers,
        [Target("ahead of dvc get (≤ 1.0x)", 1.0, "dvc get (model folder)"), MEMORY_TARGET],
        [*r.notes, "every run starts with empty user caches (no mirror, no object); the "
                   "weights come from the big file's URL (nginx), dvc's from its HTTP remote "
                   "on the same server"])


@scenario("ls", lambda a: f"ls a repository of {a.many} models", needs={"dvc", "nginx"},
          uses=R_USES, scratch=("ls",))
def ls(ctx: Context) -> Scenario:
    r, base = shared(ctx, "ls")
    expected = {**{folder: r.zoo.sha1[i] for folder, i in r.zoo.tip.items()}, TARGET: r.sha1}
    paths = {f"{folder}/w.caffemodel" for folder in expected}

    def check_zoo(stdout: str) -> None:
        try:
            got = {e["path"].removesuffix("/w.caffemodel"): e["sha1"]
                   for e in json.loads(stdout)["binaries"]}
        except (ValueError, KeyError, TypeError) as exc:
            raise BenchError(f"zoo-vcs ls --json: unexpected output ({exc}): "
                             f"{stdout[:300]!r}") from None
        if got != expected:
            wrong = sorted(k for k in expected.keys() | got.keys() if got.get(k) != expected.get(k))
            raise BenchError(f"zoo-vcs ls: {len(wrong)} of {len(expected)} binaries missing or "
                             f"wrong: {wrong[:3]}")

    def check_dvc(stdout: str) -> None:
        got = {line.strip() for line in stdout.splitlines() if line.strip()}
        if got != paths:
            raise BenchError(f"dvc list: {len(paths - got)} of {len(paths)} binaries missing, "
                             f"{len(got - paths)} others: {sorted(got ^ paths)[:3]}")

    def check_clone(_: str) -> None:
        if missing := [p for p in paths if not (base / "clone" / f"{p}.zoo").is_file()]:
            raise BenchError(f"{len(missing)} pointers missing from the clone: {missing[:3]}")

    def no_clone() -> None:
        rmtree(base / "clone")
        os.sync()

    peers = [Peer("git clone --depth 1", cmd.shallow_clone(r.zoo_url, "clone"), base,
                  prepare=no_clone, check=check_clone)]
    env, prepare = fresh_home(base / "zoo-home")
    peers.append(Peer("zoo-vcs ls", cmd.zoo("ls", r.zoo_url, "--json"), base, env=env,
                      prepare=prepare, check=check_zoo))
    if r.dvc_url is not None and (dvc := ctx.tools.dvc) is not None:
        env, prepare = fresh_home(base / "dvc-home")
        peers.append(Peer("dvc list -R --dvc-only", [dvc, "list", "-R", "--dvc-only",
                                                      r.dvc_url], base,
                          env={**DVC_ENV, **env}, prepare=prepare, check=check_dvc))
    return Scenario(
        "ls", f"ls: list the {len(expected)} tracked binaries (path, SHA1) of a repository "
        f"of {ctx.args.many + 1} commits (smart HTTP)", peers[0].name, "zoo-vcs ls", peers,
        [Target("ahead of dvc list (≤ 1.0x)", 1.0, "dvc list -R --dvc-only"), MEMORY_TARGET],
        [*r.notes, "every run starts with empty user caches (no mirror)"])

