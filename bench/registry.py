"""The scenario registry: scenario name -> the function that builds it, and the shared
resources (data sets, repositories, servers) scenarios build on.

A scenario module registers its scenarios with :func:`scenario` and the resources it
shares with :func:`resource` (see bench/README.md, "Adding a scenario")::

    @resource("http")                       # made on first use, freed after its last user
    def http(ctx: Context) -> Iterator[HttpServer]:
        with http_server(...) as server:
            yield server

    @scenario("checkout", "checkout over loopback HTTP", needs={"pooch", "nginx"},
              uses=("big", "http"))
    def checkout(ctx: Context) -> Scenario:
        server = ctx.get("http")
        ...
        return Scenario(...)

run.py asks :func:`find_tools` for the union of the selected scenarios' ``needs``, then
:func:`run_selected` builds and runs them one by one, in registration order (``before``
moves one ahead of another), frees each resource once no selected scenario still to run
``uses`` it, and returns one summary per scenario (report.py), in registration order.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from data import rmtree
from harness import WORK, BenchError, Scenario, Unavailable, log, run_peers
from report import skipped, summarize
from tools import TOOLS, Tools

Builder = Callable[["Context"], Scenario]
Factory = Callable[["Context"], Iterator[Any]]


@dataclass(frozen=True)
class Entry:
    key: str  # the name --only takes
    title: Callable[[argparse.Namespace], str]  # short title, shown when it is skipped
    build: Builder  # sets the scenario up (untimed) and returns its peers and targets
    needs: frozenset[str]  # tools (tools.TOOLS) to find or install before the run
    uses: tuple[str, ...]  # resources it (or its resources) get from the Context
    scratch: tuple[str, ...]  # folders under bench/.work deleted once it has run
    warmup: bool  # one untimed run of every peer first
    before: str | None  # run it before this scenario (when both are selected)


REGISTRY: dict[str, Entry] = {}
RESOURCES: dict[str, Factory] = {}


def scenario(key: str, title: str | Callable[[argparse.Namespace], str], *,
             needs: Iterable[str] = (), uses: Iterable[str] = (),
             scratch: Iterable[str] = (), warmup: bool = False,
             before: str | None = None) -> Callable[[Builder], Builder]:
    """Register the decorated ``build(ctx) -> Scenario`` as scenario ``key``."""
    if unknown := set(needs) - set(TOOLS):
        raise ValueError(f"{key}: unknown tools {sorted(unknown)} (known: {TOOLS})")

    def register(build: Builder) -> Builder:
        if key in REGISTRY:
            raise ValueError(f"scenario {key!r} registered twice")
        short = title if callable(title) else (lambda _args: title)
        REGISTRY[key] = Entry(key, short, build, frozenset(needs), tuple(uses),
                              tuple(scratch), warmup, before)
        return build
    return register


def resource(name: str) -> Callable[[Factory], Factory]:
    """Register the decorated generator ``factory(ctx)`` (yield the resource, clean up
    after the yield) as resource ``name``."""
    def register(factory: Factory) -> Factory:
        if name in RESOURCES:
            raise ValueError(f"resource {name!r} registered twice")
        RESOURCES[name] = factory
        return factory
    return register


class Context:
    """What a scenario's build function gets: the command-line arguments, the tools found,
    and the shared resources, each made on first :meth:`get` and kept until released. A
    resource whose set-up failed raises the same error for every scenario that gets it."""

    def __init__(self, args: argparse.Namespace, tools: Tools) -> None:
        self.args = args
        self.tools = tools
        self.info: dict[str, Any] = {}  # facts for the results JSON (e.g. the HTTP server)
        self._open: dict[str, tuple[Any, contextlib.ExitStack]] = {}
        self._failed: dict[str, BenchError] = {}

    def get(self, name: str) -> Any:
        if name in self._failed:
            raise self._failed[name]
        if name not in self._open:
            stack = contextlib.ExitStack()
            try:
                value = stack.enter_context(contextlib.contextmanager(RESOURCES[name])(self))
            except BenchError as exc:
                stack.close()
                self._failed[name] = exc
                raise
            except BaseException:
                stack.close()
                raise
            self._open[name] = (value, stack)
        return self._open[name][0]

    def release(self, keep: set[str]) -> None:
        """Free the open resources not in ``keep``, the newest first."""
        for name in reversed(list(self._open)):
            if name not in keep:
                _, stack = self._open.pop(name)
                try:
                    stack.close()
                except (BenchError, OSError) as exc:
                    log(f"freeing {name} failed: {exc}")


def selected(names: Iterable[str]) -> list[str]:
    """``names`` in registration (display) order."""
    wanted = set(names)
    return [key for key in REGISTRY if key in wanted]


def run_order(keys: list[str]) -> list[str]:
    """``keys`` (in display order) in the order they run: each scenario with a ``before``
    moved just ahead of that one."""
    order = list(keys)
    for key in keys:
        if (before := REGISTRY[key].before) in order:
            order.remove(key)
            order.insert(order.index(before), key)
    return order


def needs_of(keys: Iterable[str]) -> set[str]:
    return {tool for key in keys for tool in REGISTRY[key].needs}


def run_one(entry: Entry, ctx: Context, runs: int) -> dict[str, Any]:
    """Build and run one scenario; a failed set-up makes it a skipped scenario."""
    title = entry.title(ctx.args)
    try:
        built = entry.build(ctx)
    except Unavailable as exc:
        return skipped(entry.key, title, str(exc))
    except (BenchError, OSError) as exc:
        return skipped(entry.key, title, f"setup failed: {exc}")
    log(f"# {built.title}")
    run_peers(built, runs, warmup=entry.warmup)
    return summarize(built)


def run_selected(keys: list[str], ctx: Context, runs: int) -> list[dict[str, Any]]:
    """Run the scenarios ``keys``; their summaries, in display order."""
    order = run_order(keys)
    summaries = []
    try:
        for i, key in enumerate(order):
            entry = REGISTRY[key]
            try:
                summaries.append(run_one(entry, ctx, runs))
            finally:
                for folder in entry.scratch:  # big: rebuilt on every run
                    try:
                        rmtree(WORK / folder)
                    except BenchError as exc:
                        log(str(exc))
                ctx.release({r for k in order[i + 1:] for r in REGISTRY[k].uses})
    finally:
        ctx.release(set())
    return sorted(summaries, key=lambda s: keys.index(s["key"]))
