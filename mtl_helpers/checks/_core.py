"""The registry of exercise checks and the tools to write them.

A check is a function ``check(answer) -> CheckResult`` registered for an
exercise id with :func:`register`. It computes the expected value itself from
the helpers and compares with one of the ``compare_*`` functions (defined in
:mod:`mtl_helpers.checks._compare`, re-exported here), which
turn a mismatch into a hint that names the problem without revealing the
expected value:

* :func:`compare_arrays` -- arrays and tensors: shape, NaN, sign, a constant
  factor or shift, values in the wrong places, a transposed matrix;
* :func:`compare_number` -- one number (``integer=True`` for counts): sign,
  a simple factor, off by one;
* :func:`compare_choice` -- one of a few words or phrases;
* :func:`compare_names` -- a list or set of names (variables, tasks, layers);
* :func:`compare_mapping` -- a dict such as ``{"y1": ..., "y2": ...}``;
* :func:`compare_changes` -- which variables a step changed, naming a
  variable that should not have changed;
* :func:`task_numbers` -- a dict with one number per task, read before
  comparing (a hint when it is not one);
* :func:`first_failure` -- combine several verdicts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mtl_helpers.checks._compare import (
    compare_arrays,
    compare_changes,
    compare_choice,
    compare_mapping,
    compare_names,
    compare_number,
    task_numbers,
)
from mtl_helpers.checks._verdict import NOT_ATTEMPTED, CheckResult, first_failure, hint, needs_function, passed

__all__ = [
    "NOT_ATTEMPTED",
    "CheckResult",
    "check",
    "compare_arrays",
    "compare_changes",
    "compare_choice",
    "compare_mapping",
    "compare_names",
    "compare_number",
    "evaluate",
    "exercise_ids",
    "first_failure",
    "hint",
    "needs_function",
    "passed",
    "register",
    "task_numbers",
]

Checker = Callable[[Any], CheckResult]
_REGISTRY: dict[str, Checker] = {}


def register(exercise_id: str) -> Callable[[Checker], Checker]:
    """Decorator: register ``function(answer) -> CheckResult`` for ``exercise_id``.

    ``exercise_id`` looks like ``"ch3.ex2"``. The function may raise
    ``NotImplementedError`` (from a student's stub); :func:`evaluate` turns
    that into "not attempted yet".
    """
    chapter, _, number = exercise_id.partition(".")
    if not (chapter.startswith("ch") and number.startswith("ex")):
        raise ValueError(f"exercise ids look like 'ch3.ex2', got {exercise_id!r}")

    def decorator(function: Checker) -> Checker:
        if exercise_id in _REGISTRY:
            raise ValueError(f"a check for {exercise_id!r} is already registered")
        _REGISTRY[exercise_id] = function
        return function

    return decorator


def exercise_ids() -> list[str]:
    """Every registered exercise id, sorted."""
    return sorted(_REGISTRY)


def _first_line(text: str, limit: int = 160) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def evaluate(exercise_id: str, answer: Any) -> CheckResult:
    """Check ``answer`` for ``exercise_id`` without printing.

    ``None`` and answers whose evaluation raises ``NotImplementedError`` count
    as not attempted. Any other exception raised while checking (typically by
    a student's function that the check calls) becomes a hint naming it, so a
    self-check cell prints one line rather than a traceback.
    """
    if exercise_id not in _REGISTRY:
        raise ValueError(f"no exercise {exercise_id!r}; known exercises: {', '.join(exercise_ids())}")
    if answer is None or answer is Ellipsis:
        return CheckResult(False, NOT_ATTEMPTED, attempted=False)
    try:
        result = _REGISTRY[exercise_id](answer)
    except NotImplementedError:
        return CheckResult(False, NOT_ATTEMPTED, attempted=False)
    except Exception as error:  # the student sees one line, not a traceback
        detail = _first_line(str(error))
        return hint(f"checking your answer raised {type(error).__name__}" + (f": {detail}" if detail else ""))
    if not isinstance(result, CheckResult):
        raise TypeError(
            f"the check for {exercise_id!r} returned {type(result).__name__}; "
            "return passed(...), hint(...) or a compare_*(...) result"
        )
    return result


def check(exercise_id: str, answer: Any) -> None:
    """Check an exercise answer and print one line: pass, hint, or not attempted.

    Examples
    --------
    >>> check("ch1.ex1", None)
    [TODO] ch1.ex1: not attempted yet: replace the stub with your answer, run that cell, then this one
    """
    print(evaluate(exercise_id, answer).line(exercise_id))
