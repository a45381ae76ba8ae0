"""One big file (``--size-mib``, default 1 GiB): ``add`` hashes and stores it, ``checkout``
downloads and verifies it over loopback HTTP (README, scenarios 1 and 2)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import peers as cmd
from data import big_file, expect_file, expect_in_stdout, fresh_dir, link_into, warm
from harness import MIB, WORK, BenchError, Peer, Scenario, Target
from registry import Context, resource, scenario
from servers import HttpServer, http_server


@resource("big")
def big(ctx: Context) -> Iterator[tuple[Path, str]]:
    """WORK/data/big.bin and its SHA1, read once (untimed) into the page cache."""
    path, sha1 = big_file(ctx.args.size_mib * MIB)
    warm(path)
    yield path, sha1


@resource("http")
def http(ctx: Context) -> Iterator[HttpServer]:
    """The bench's data folder (WORK/data) served on a loopback port: by nginx, or by
    tests/servers/http.py when nginx is not available (servers.py)."""
    (WORK / "data").mkdir(parents=True, exist_ok=True)
    with http_server(WORK / "data", ctx.tools.nginx, ctx.tools.no_nginx,
                     warn=ctx.args.http_server == "nginx") as server:
        ctx.info["http_server"] = server.info()
        yield server


@scenario("add", lambda a: f"add {a.size_mib} MiB", uses=("big",))
def add(ctx: Context) -> Scenario:
    big, sha1 = ctx.get("big")
    repo = cmd.git_repo(WORK / "add" / "repo")
    file = link_into(big, repo / "big.bin")
    cache = WORK / "add" / "cache"

    def prepare_zoo() -> None:
        fresh_dir(cache)
        for name in ("big.bin.zoo", ".gitignore"):
            (repo / name).unlink(missing_ok=True)
        os.sync()  # flush the previous run's writes so they don't land in this one

    def check_zoo(_: str) -> None:
        pointer = (repo / "big.bin.zoo").read_text()
        if f"sha1: {sha1}" not in pointer:
            raise BenchError(f"big.bin.zoo does not name sha1 {sha1}:\n{pointer}")
        stored = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file())
        if stored < big.stat().st_size or not file.is_file():
            raise BenchError("the object was not stored in the cache, or big.bin vanished")

    def sync() -> None:
        os.sync()

    hashed = expect_in_stdout(sha1)
    peers = [
        Peer("sha1sum", cmd.sha1sum("big.bin"), repo, prepare=sync, check=hashed),
        Peer("zoo-vcs add", cmd.zoo("add", "big.bin"), repo,
             env={"ZOO_VCS_CACHE_DIR": str(cache)}, prepare=prepare_zoo, check=check_zoo),
        Peer("Caffe (read whole file)", cmd.caffe_hash("big.bin"), repo,
             prepare=sync, check=hashed),
        Peer("openssl dgst -sha1", cmd.openssl_sha1("big.bin"), repo,
             prepare=sync, check=hashed),
    ]
    size_mib = big.stat().st_size // MIB
    return Scenario(
        "add", f"add {size_mib} MiB: hash + store one file (warm page cache)",
        "sha1sum", "zoo-vcs add", peers,
        [Target("≤ 1.2x sha1sum (issue)", 1.2, "sha1sum"),
         Target("≤ 0.6x sha1sum (team, BENCHMARKS.md)", 0.6, "sha1sum"),
         Target("peak RSS ≤ 100 MiB (issue)", 100.0),
         Target("peak RSS ≤ 64 MiB (team, BENCHMARKS.md)", 64.0)],
        ["zoo-vcs add runs in a fresh git repo with a fresh empty cache dir each run"])


@scenario("checkout", lambda a: f"checkout {a.size_mib} MiB over loopback HTTP",
          needs={"pooch", "nginx"}, uses=("big", "http"))
def checkout(ctx: Context) -> Scenario:
    big, sha1 = ctx.get("big")
    server: HttpServer = ctx.get("http")
    base = WORK / "checkout"
    size = big.stat().st_size
    file_url = f"{server.url}/{big.name}"
    repo = cmd.git_repo(base / "zoo")
    cache = base / "zoo-cache"
    (repo / "big.bin.zoo").write_text(
        f"zoo-vcs: 1\nsha1: {sha1}\nsize: {size}\nurls:\n- {file_url}\n")
    dirs = {name: fresh_dir(base / name) for name in ("curl", "caffe", "pooch")}

    def prepare(out: Path, empty: Path | None = None) -> Callable[[], None]:
        def fn() -> None:
            out.unlink(missing_ok=True)
            if empty is not None:
                fresh_dir(empty)
            os.sync()
        return fn

    def check(out: Path, stdout_sha1: bool) -> Callable[[str], None]:
        def fn(stdout: str) -> None:
            expect_file(out, sha1)
            if stdout_sha1:
                expect_in_stdout(sha1)(stdout)
        return fn

    peers = [
        Peer("curl + sha1sum", cmd.curl_sha1sum(file_url, "big.bin"), dirs["curl"],
             prepare=prepare(dirs["curl"] / "big.bin"),
             check=check(dirs["curl"] / "big.bin", True)),
        Peer("zoo-vcs checkout", cmd.zoo("checkout"), repo,
             env={"ZOO_VCS_CACHE_DIR": str(cache)}, prepare=prepare(repo / "big.bin", cache),
             check=check(repo / "big.bin", False)),
        Peer("Caffe (urlretrieve + sha1)", cmd.caffe_download(file_url, "big.bin"),
             dirs["caffe"], prepare=prepare(dirs["caffe"] / "big.bin"),
             check=check(dirs["caffe"] / "big.bin", True)),
    ]
    notes = []
    if (pooch_bin := ctx.tools.pooch_bin) is not None:
        target = dirs["pooch"] / "store"
        peers.append(Peer(
            "pooch.retrieve", cmd.pooch_retrieve(pooch_bin, file_url, sha1, target, "big.bin"),
            dirs["pooch"], prepare=prepare(target / "big.bin", target),
            check=check(target / "big.bin", False)))
    else:
        notes.append("pooch: not available")
    notes.append(server.note)
    warm(big)
    return Scenario(
        "checkout", f"checkout {size // MIB} MiB over loopback HTTP: download + verify "
        "(empty cache, missing file)",
        "curl + sha1sum", "zoo-vcs checkout", peers,
        [Target("≤ 1.0x curl + sha1sum (issue)", 1.0, "curl + sha1sum"),
         Target("≤ 0.6x curl + sha1sum (team, BENCHMARKS.md)", 0.6, "curl + sha1sum"),
         Target("peak RSS ≤ 100 MiB (issue)", 100.0),
         Target("peak RSS ≤ 64 MiB (team, BENCHMARKS.md)", 64.0)],
        notes, extra={"http_server": server.info()})
