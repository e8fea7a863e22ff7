"""A check's verdict: pass, hint or not attempted (:class:`CheckResult`), and how to make one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["NOT_ATTEMPTED", "CheckResult", "first_failure", "hint", "needs_function", "passed"]

#: The message a check gives for an answer left as ``None`` or a stub that
#: raises ``NotImplementedError``. Student editions rely on this wording.
NOT_ATTEMPTED = "not attempted yet: replace the stub with your answer, run that cell, then this one"


@dataclass(frozen=True)
class CheckResult:
    """A check's verdict.

    Attributes
    ----------
    passed : bool
    message : str
        One line for the student: what is right, or what to fix.
    attempted : bool
        False when the answer was still the stub.
    """

    passed: bool
    message: str
    attempted: bool = True

    def line(self, exercise_id: str) -> str:
        """The line :func:`check` prints."""
        mark = "PASS" if self.passed else ("TODO" if not self.attempted else "HINT")
        return f"[{mark}] {exercise_id}: {self.message}"


def passed(message: str = "correct.") -> CheckResult:
    """A passing verdict."""
    return CheckResult(True, message)


def hint(message: str) -> CheckResult:
    """A failing verdict with a hint (which must not reveal the answer)."""
    return CheckResult(False, message)


def needs_function(answer: Any) -> CheckResult | None:
    """A hint when an exercise that asks for a function got something else.

    Returns ``None`` when ``answer`` is callable (the check goes on), else a
    hint that names what arrived; the usual slip is passing ``answer_fn(...)``,
    the function's result, instead of ``answer_fn``.
    """
    if callable(answer):
        return None
    return hint(f"pass the function itself, answer_fn, not its result (got {type(answer).__name__})")


def first_failure(*results: CheckResult) -> CheckResult:
    """The first failing verdict among ``results``, or a pass if they all pass.

    Examples
    --------
    >>> first_failure(passed(), hint("y2 has the wrong shape")).message
    'y2 has the wrong shape'
    """
    for result in results:
        if not result.passed:
            return result
    return passed()
