"""A verdict for the autograder that no answer cell can fake (private).

In an nbgrader assignment the student's code runs in the same kernel as the
graded tests, so a one-line answer such as
``mtl_helpers.checks.evaluate = lambda *args: passed()`` would otherwise
score full marks. :func:`fresh_evaluate` re-runs the check modules' code
(``importlib.reload`` executes them again, with a new registry) before it
judges, so whatever an answer cell replaced in ``mtl_helpers.checks`` is
overwritten. The hidden test of each graded cell reloads this module first
(see ``tools/authoring.py``).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from mtl_helpers.checks._core import CheckResult

__all__ = ["fresh_evaluate"]


def fresh_evaluate(exercise_id: str, answer: Any) -> CheckResult:
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
        From a registry that every chapter's checks have joined again.
    """
    package = importlib.import_module("mtl_helpers.checks")
    core = importlib.reload(importlib.import_module("mtl_helpers.checks._core"))
    importlib.reload(importlib.import_module("mtl_helpers.checks._protocol"))
    for module in pkgutil.iter_modules(package.__path__):
        if module.name.startswith("ch"):
            importlib.reload(importlib.import_module(f"mtl_helpers.checks.{module.name}"))
    return core.evaluate(exercise_id, answer)
