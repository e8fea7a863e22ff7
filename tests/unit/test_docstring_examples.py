"""The examples in the helpers' docstrings run and print what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import mtl_helpers

MODULES = sorted(
    name
    for _, name, _ in pkgutil.walk_packages(mtl_helpers.__path__, prefix="mtl_helpers.")
    if name != "mtl_helpers.__main__"
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    globs = {**vars(mtl_helpers), **vars(module), "np": np}
    result = doctest.testmod(module, extraglobs=globs, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples failed in {name}"
