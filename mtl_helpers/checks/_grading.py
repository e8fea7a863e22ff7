"""A verdict for the autograder that no answer cell can fake (private).

In an nbgrader assignment the student's code runs in the same kernel as the
graded tests, so a one-line answer such as
``mtl_helpers.checks.evaluate = lambda *args: passed()`` would otherwise
score full marks. :func:`fresh_evaluate` executes new copies of the check
modules (and of :mod:`mtl_helpers.stats`, whose ``MIN_SEEDS`` they use) from
their files and judges with those, so nothing an answer cell replaced in the
loaded modules counts. The loaded modules are left as they were. The hidden
test of each graded cell also loads this module afresh (see
``tools/authoring.py``).
"""

from __future__ import annotations

import importlib.util
import pkgutil
import sys
from types import ModuleType
from typing import Any

__all__ = ["fresh_evaluate"]

_PACKAGE = "mtl_helpers.checks"


def _fresh(name: str) -> ModuleType:
    """Execute a new copy of module ``name`` from its file and put it in ``sys.modules``."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot find module {name!r} to load a fresh copy")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def fresh_evaluate(exercise_id: str, answer: Any) -> Any:
    """Check ``answer`` with freshly executed copies of the check modules.

    Parameters
    ----------
    exercise_id : str
        ``"chN.exM"``.
    answer : object
        What the student's answer cell produced.

    Returns
    -------
    CheckResult
        The fresh copy's verdict (its class is the fresh copy's ``CheckResult``).
    """
    spec = importlib.util.find_spec(_PACKAGE)
    chapters = [f"{_PACKAGE}.{m.name}" for m in pkgutil.iter_modules(spec.submodule_search_locations) if m.name.startswith("ch")]
    shared = ["_verdict", "_compare", "_core", "_protocol"]  # in import order
    names = ["mtl_helpers.stats", *(f"{_PACKAGE}.{name}" for name in shared), *chapters]
    loaded = {name: sys.modules.get(name) for name in names}
    try:
        fresh = {name: _fresh(name) for name in names}
        return fresh[f"{_PACKAGE}._core"].evaluate(exercise_id, answer)
    finally:  # the kernel keeps the modules it had
        for name, module in loaded.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
