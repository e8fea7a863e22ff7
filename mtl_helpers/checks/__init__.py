"""Self-checks for the exercises: ``mtl_helpers.check("ch3.ex2", answer)``.

A check prints one line: a pass, a hint that names what is wrong (shape,
sign, scale, a variable that should not have changed), or "not attempted
yet". It never prints the expected answer. Each chapter's checks live in
their own module (``ch1.py`` ...) and register themselves with
:func:`register`; :func:`evaluate` returns the verdict without printing, for
tests and graders.
"""

from __future__ import annotations

from mtl_helpers.checks import ch1, ch2, ch3, ch4, ch5, ch6, ch7, ch8, ch9, ch10, ch11  # noqa: F401  (register the checks)
from mtl_helpers.checks._core import CheckResult, check, evaluate, exercise_ids, register

__all__ = ["CheckResult", "check", "evaluate", "exercise_ids", "register"]
