"""The package's layers, enforced: a module imports only from its own layer or those below
(docs/architecture.md), lazy imports inside functions included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "zoo_vcs"
#: Top to bottom. `errors` is at the bottom, everyone's.
LAYERS = ["cli", "api", "hooks", "ops", "gist", "repo", "transfer", "git", "storage",
          "formats", "errors"]
#: The only importer of each external library.
ADAPTERS = {"fsspec": "transfer", "botocore": "transfer", "github": "gist/client.py",
            "git": "git/repo.py",
            "git_filter_repo": "git/rewrite.py", "tqdm": "cli/progress.py", "click": "cli"}


#: Top-level modules that belong to a layer (the API facade is split in two).
ALIASES = {"api_browse": "api", "api_setup": "api"}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "zoo_vcs" or len(parts) < 2:
        return None
    return ALIASES.get(parts[1], parts[1])


def _imports(path: Path) -> list[tuple[str, int]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "zoo_vcs":  # `from zoo_vcs import api`: the names are modules
                out.extend((f"zoo_vcs.{alias.name}", node.lineno) for alias in node.names)
            else:
                out.append((node.module, node.lineno))
        elif isinstance(node, ast.Import):
            out.extend((alias.name, node.lineno) for alias in node.names)
    return out


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"
                  or p.parent != PACKAGE)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down_the_layers(path: Path) -> None:
    rel = path.relative_to(PACKAGE)
    own = rel.parts[0].removesuffix(".py")
    own = ALIASES.get(own, own)
    if own not in LAYERS:
        pytest.skip(f"{rel} is outside the layers (__main__)")
    for module, line in _imports(path):
        target = _layer(module)
        if target is None or target == own or target not in LAYERS:
            continue  # not ours, the same layer, or a package attribute (__version__)
        assert LAYERS.index(target) > LAYERS.index(own), \
            f"{rel}:{line} imports {module}: {own} may not depend on {target}"


@pytest.mark.parametrize("library", sorted(ADAPTERS))
def test_each_external_library_has_one_adapter(library: str) -> None:
    home = ADAPTERS[library]
    users = []
    for path in PACKAGE.rglob("*.py"):
        rel = str(path.relative_to(PACKAGE))
        if any(m == library or m.startswith(library + ".") for m, _ in _imports(path)):
            users.append(rel)
    assert users, f"nothing imports {library}"
    assert all(u == home or u.startswith(home + "/") for u in users), \
        f"{library} imported outside {home}: {sorted(users)}"
