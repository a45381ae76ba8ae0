"""Every example in a docstring of the package runs and gives what it shows."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import zoo_vcs

MODULES = sorted(m.name for m in pkgutil.walk_packages(zoo_vcs.__path__, "zoo_vcs."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_examples_exist() -> None:
    """The parametrised test is not vacuous: the pure modules carry examples."""
    attempted = sum(doctest.testmod(importlib.import_module(name), report=False).attempted
                    for name in MODULES)
    assert attempted >= 10
