"""The registry of exercise checks and the tools to write them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["CheckResult", "check", "evaluate", "exercise_ids", "register", "compare_arrays", "NOT_ATTEMPTED"]

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


def evaluate(exercise_id: str, answer: Any) -> CheckResult:
    """Check ``answer`` for ``exercise_id`` without printing.

    ``None`` and answers whose evaluation raises ``NotImplementedError`` count
    as not attempted.
    """
    if exercise_id not in _REGISTRY:
        raise ValueError(f"no exercise {exercise_id!r}; known exercises: {', '.join(exercise_ids())}")
    if answer is None or answer is Ellipsis:
        return CheckResult(False, NOT_ATTEMPTED, attempted=False)
    try:
        return _REGISTRY[exercise_id](answer)
    except NotImplementedError:
        return CheckResult(False, NOT_ATTEMPTED, attempted=False)


def check(exercise_id: str, answer: Any) -> None:
    """Check an exercise answer and print one line: pass, hint, or not attempted.

    Examples
    --------
    >>> check("ch1.ex1", None)
    [TODO] ch1.ex1: not attempted yet: replace the stub with your answer, run that cell, then this one
    """
    print(evaluate(exercise_id, answer).line(exercise_id))


def passed(message: str = "correct.") -> CheckResult:
    """A passing verdict."""
    return CheckResult(True, message)


def hint(message: str) -> CheckResult:
    """A failing verdict with a hint (which must not reveal the answer)."""
    return CheckResult(False, message)


def compare_arrays(answer: Any, expected: Any, *, name: str = "your answer", rtol: float = 1e-4, atol: float = 1e-6) -> CheckResult:
    """Compare a numeric answer with the expected one and explain any mismatch.

    Hints, in order: not a number; wrong shape (received vs expected, and a
    transpose or flattening if that would fix it); NaN; the right values with
    the wrong sign; off by a constant factor (names the factor); otherwise how
    many entries differ. The expected values are never printed.
    """
    try:
        got = np.asarray(answer.numpy() if hasattr(answer, "numpy") else answer, dtype=np.float64)
    except (TypeError, ValueError):
        return hint(f"{name} should be numbers (an array or a float), got {type(answer).__name__}")
    want = np.asarray(expected, dtype=np.float64)
    if got.shape != want.shape:
        fix = ""
        if got.T.shape == want.shape and got.ndim == 2:
            fix = "; is it transposed?"
        elif got.size == want.size:
            fix = "; the number of entries is right, check the reshape"
        return hint(f"{name} has shape {got.shape}, expected {want.shape}{fix}")
    if not np.all(np.isfinite(got)):
        return hint(f"{name} contains NaN or infinite values")
    if np.allclose(got, want, rtol=rtol, atol=atol):
        return passed()
    if np.allclose(got, -want, rtol=rtol, atol=atol):
        return hint(f"{name} has the right size but the wrong sign")
    flat_got, flat_want = got.ravel(), want.ravel()
    if np.any(flat_want != 0) and np.any(flat_got != 0):
        factor = float(flat_got @ flat_want / (flat_want @ flat_want))
        if np.allclose(got, factor * want, rtol=rtol, atol=atol):
            return hint(f"{name} is off by a constant factor of {factor:.4g}; check for a missing or extra scale (1/2, a mean instead of a sum)")
    wrong = int(np.sum(~np.isclose(got, want, rtol=rtol, atol=atol)))
    return hint(f"{name} has the right shape but {wrong} of {got.size} values differ")
