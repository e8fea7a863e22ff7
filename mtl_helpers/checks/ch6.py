"""Self-checks for chapter 6's exercises (balancing tasks).

* ``ch6.ex1``: ``answer_fn(jacobian, order)`` -> PCGrad's direction for any
  number of tasks: each task's gradient projected, in the given order, off
  every *original* gradient it conflicts with, then summed.
* ``ch6.ex2``: ``answer_fn(norm_ratio, cosine)`` -> the two-task MGDA weight
  of task 1 from ``r = |g1| / |g2|`` and ``cos(g1, g2)`` alone.
* ``ch6.ex3``: ``answer_fn(log)`` -> the fixed weight ``w`` (of the sweep's
  ``(w, 1 - w)``) that a GradNorm run settles near: the mean of
  ``w_y1 / (w_y1 + w_y2)`` over the last :data:`EX3_TAIL` steps of its log.
* ``ch6.ex4`` (open): a paired multi-seed comparison of PCGrad and the plain
  sum on tasks with correlation -0.9, checked by the book's protocol
  (:func:`mtl_helpers.checks._protocol.register_paired_comparison`).

Each check computes the expected value itself, in NumPy, and never prints
it; nothing here reads :mod:`mtl_helpers.aggregation` or
:mod:`mtl_helpers.weighting`, so an answer cell that replaces a class there
cannot change a verdict.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from mtl_helpers.checks._core import CheckResult, compare_arrays, hint, needs_function, passed, register
from mtl_helpers.checks._protocol import register_paired_comparison
from mtl_helpers.trainers.base import TrainingLog

__all__: list[str] = []


def _as_array(value: Any) -> np.ndarray | None:
    try:
        return np.asarray(value.numpy() if hasattr(value, "numpy") else value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool | str | bytes):
        return None
    array = _as_array(value)
    if array is None or array.size != 1:
        return None
    number = float(array.reshape(()))
    return number if math.isfinite(number) else None


def _call(function: Callable[..., Any], *args: Any) -> tuple[Any, CheckResult | None]:
    """``function(*args)``, or a hint naming the error it raised (``NotImplementedError`` passes through)."""
    try:
        return function(*args), None
    except NotImplementedError:
        raise
    except Exception as error:  # the student's code: one line, not a traceback
        return None, hint(f"calling answer_fn raised {type(error).__name__}: {error}"[:200])


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-4, atol=1e-6))


# ---------------------------------------------------------------- exercise 1: PCGrad's projection


def _pcgrad(
    jacobian: np.ndarray,
    order: Sequence[int],
    *,
    onto_projected: bool = False,
    original_test: bool = False,
    always: bool = False,
) -> np.ndarray:
    """Reference PCGrad direction (float64); the keyword flags give the usual slips, for hints.

    ``onto_projected``: project onto the other tasks' already projected
    gradients; ``original_test``: decide a conflict with task ``i``'s original
    gradient instead of its current one; ``always``: project whether or not
    the gradients conflict.
    """
    jacobian = np.asarray(jacobian, dtype=np.float64)
    projected = jacobian.copy()
    for i in range(len(jacobian)):
        for j in order:
            if j == i:
                continue
            other = projected[j] if onto_projected else jacobian[j]
            squared = float(other @ other)
            if squared == 0.0:
                continue
            test = jacobian[i] if original_test else projected[i]
            dot = float(projected[i] @ other)
            if always or float(test @ other) < 0:
                projected[i] = projected[i] - dot / squared * other
    return projected.sum(axis=0)


def _ex1_cases() -> list[tuple[np.ndarray, list[int]]]:
    """Jacobians with conflicts whose answers tell the slips apart (tests/unit/test_checks_ch6.py checks it)."""
    two = np.array([[2.0, 0.5, -1.0], [-1.0, 1.5, 0.5]])
    three = np.array([[1.0, 0.0, 0.3], [-0.8, 1.0, 0.0], [-0.6, -0.7, 0.4]])
    four = np.random.default_rng(6).standard_normal((4, 5))
    return [(two, [1, 0]), (three, [2, 0, 1]), (three, [1, 2, 0]), (four, [3, 1, 0, 2])]


@register("ch6.ex1")
def _check_ex1(answer_fn: Any) -> CheckResult:
    if problem := needs_function(answer_fn):
        return problem
    for jacobian, order in _ex1_cases():
        result, problem = _call(answer_fn, jacobian.copy(), list(order))
        if problem is not None:
            return problem
        got = _as_array(result)
        if got is None:
            return hint(f"answer_fn should return an array of numbers, got {type(result).__name__}")
        n_tasks, n_params = jacobian.shape
        expected = _pcgrad(jacobian, order)
        if got.shape == (n_tasks, n_params):
            return hint("answer_fn returned one row per task: PCGrad's direction is the sum of the projected gradients")
        if got.shape != expected.shape:
            return compare_arrays(got, expected, name="answer_fn's direction")
        if _close(got, expected):
            continue
        if _close(got, jacobian.sum(axis=0)):
            return hint("that is the plain sum: project a gradient when its dot product with another is negative")
        if _close(got, expected / n_tasks):
            return hint("that is the mean of the projected gradients; PCGrad returns their sum")
        if _close(got, _pcgrad(jacobian, order, always=True)):
            return hint("project only when the two gradients conflict (negative dot product), not always")
        if _close(got, _pcgrad(jacobian, order, onto_projected=True)):
            return hint("project onto the other tasks' original gradients g_j, not onto their projected versions")
        if _close(got, _pcgrad(jacobian, order, original_test=True)):
            return hint("test each conflict with task i's current (already projected) gradient, not its original one")
        if _close(got, _pcgrad(jacobian, list(range(n_tasks)))):
            return hint("go through the other tasks in the order given by `order`, not in their natural order")
        return compare_arrays(got, expected, name="answer_fn's direction")
    return passed("correct: projected off each conflicting original gradient, then summed.")


# ---------------------------------------------------------------- exercise 2: the two-task MGDA weight


def _mgda_weight(norm_ratio: float, cosine: float, *, clip: bool = True, sign: float = 1.0) -> float:
    """Task 1's MGDA weight from r = |g1| / |g2| and cos(g1, g2); 1/2 for identical gradients."""
    r, c = norm_ratio, sign * cosine
    denominator = 1.0 - 2.0 * r * c + r * r  # |g1 - g2|^2 / |g2|^2
    if denominator <= 1e-12:
        return 0.5
    alpha = (1.0 - r * c) / denominator
    return min(max(alpha, 0.0), 1.0) if clip else alpha


#: (norm ratio, cosine) pairs: conflicts, agreements, and both clipped ends.
EX2_CASES: tuple[tuple[float, float], ...] = ((0.5, -0.3), (2.0, -0.3), (1.0, -1.0), (3.0, 0.6), (0.2, 0.9), (1.5, 0.2))


@register("ch6.ex2")
def _check_ex2(answer_fn: Any) -> CheckResult:
    if problem := needs_function(answer_fn):
        return problem
    answers = {}
    for ratio, cosine in EX2_CASES:
        result, problem = _call(answer_fn, ratio, cosine)
        if problem is not None:
            return problem
        value = _as_float(result)
        if value is None:
            return hint(f"answer_fn should return one finite number (task 1's weight), got {result!r:.60}")
        answers[(ratio, cosine)] = value

    def matches(rule: Callable[[float, float], float]) -> bool:
        return all(math.isclose(value, rule(r, c), rel_tol=1e-5, abs_tol=1e-7) for (r, c), value in answers.items())

    if matches(_mgda_weight):
        return passed("correct: MGDA weights the smaller gradient more.")
    if matches(lambda r, c: 1.0 - _mgda_weight(r, c)):
        return hint("that is task 2's weight, 1 - alpha; the exercise asks for the weight of g1")
    if matches(lambda r, c: _mgda_weight(r, c, clip=False)):
        return hint("the weights must stay in [0, 1] (a convex combination): clip alpha to that interval")
    if matches(lambda r, c: _mgda_weight(r, c, sign=-1.0)) or matches(lambda r, c: _mgda_weight(r, c, clip=False, sign=-1.0)):
        return hint("the sign of the cosine term is flipped: expand |g2 + alpha (g1 - g2)|^2 again")
    return hint("not yet: minimise |alpha g1 + (1 - alpha) g2|^2 over alpha, then divide numerator and denominator by |g2|^2")


# ---------------------------------------------------------------- exercise 3: where GradNorm settles

#: The tail of a run over which exercise 3 averages the weight.
EX3_TAIL = 100


def _settled(log: TrainingLog, *, tail: int | None = EX3_TAIL, task: str = "y1", normalise: bool = True) -> float:
    weights = {name: np.asarray(values, dtype=np.float64) for name, values in log.weights.items()}
    share = weights[task] / (weights["y1"] + weights["y2"]) if normalise else weights[task]
    return float(share[-tail:].mean()) if tail else float(share.mean())


def _synthetic_gradnorm_log(steps: int, settle: float, seed: int) -> TrainingLog:
    """A joint-training log whose weights (summing to 2, as GradNorm's do) drift from 1 to ``2 * settle``."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps)
    share = settle + (0.5 - settle) * np.exp(-t / (steps / 6)) + 0.03 * rng.standard_normal(steps)
    share = np.clip(share, 0.01, 0.99)
    weights = {"y1": 2.0 * share, "y2": 2.0 * (1.0 - share)}
    return TrainingLog(loss=np.ones(steps), task=np.full(steps, "joint"), weights=weights)


EX3_LOGS = ((300, 0.2, 1), (500, 0.7, 2))  # steps, settled share of y1, noise seed


@register("ch6.ex3")
def _check_ex3(answer_fn: Any) -> CheckResult:
    if problem := needs_function(answer_fn):
        return problem
    for steps, settle, seed in EX3_LOGS:
        log = _synthetic_gradnorm_log(steps, settle, seed)
        result, problem = _call(answer_fn, log)
        if problem is not None:
            return problem
        value = _as_float(result)
        if value is None:
            return hint(f"answer_fn should return one number, the weight w of y1, got {result!r:.60}")

        def near(candidate: float, value: float = value) -> bool:
            return math.isclose(value, candidate, rel_tol=1e-6, abs_tol=1e-9)

        if near(_settled(log)):
            continue
        if near(_settled(log, task="y2")):
            return hint("that is y2's share; w is the weight of y1 in (w, 1 - w)")
        if near(_settled(log, normalise=False)) or near(_settled(log, tail=None, normalise=False)):
            return hint("GradNorm's weights sum to 2 (the number of tasks): divide w_y1 by w_y1 + w_y2")
        if near(_settled(log, tail=None)):
            return hint(f"that averages the whole run, start included; average the last {EX3_TAIL} steps only")
        if near(_settled(log, tail=1)):
            return hint(f"that is the last step alone, which is noisy; average the last {EX3_TAIL} steps")
        weights = log.weights
        if near(float(np.mean(np.asarray(weights["y1"][-EX3_TAIL:]) / np.asarray(weights["y2"][-EX3_TAIL:])))):
            return hint("that is the ratio w_y1 / w_y2; the sweep's weight is w_y1 / (w_y1 + w_y2)")
        return hint(f"not yet: take w_y1 / (w_y1 + w_y2) at each step, then its mean over the last {EX3_TAIL} steps")
    return passed("correct: compare it with the weight validation chose.")


# ---------------------------------------------------------------- exercise 4 (open)

#: Exercise 4's method labels and the records' field they compare (the mean of
#: the two tasks' test MSE); the interval is that of ``pcgrad - sum``.
EX4_METHODS: tuple[str, str] = ("pcgrad", "sum")
EX4_METRIC: str = "test"


register_paired_comparison("ch6.ex4", methods=EX4_METHODS, metric=EX4_METRIC)

