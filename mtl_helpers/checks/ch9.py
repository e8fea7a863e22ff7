"""Self-checks for chapter 9's exercises (real data, missing labels).

* ``ch9.ex1``: the masked cross-entropy, a mean over the rows that have a
  label (``-1`` marks a missing one), and 0 for a batch without any label.
* ``ch9.ex2``: the sample weights that make Keras' default reduction
  (``"sum_over_batch_size"``) give the masked mean on one batch.
* ``ch9.ex3``: the step early stopping keeps and the test error reported at
  it (selection on validation data, never on the test set).
* ``ch9.ex4`` (open): a paired multi-seed comparison of masking the missing
  sex labels against training on the complete rows only, checked by the
  book's shared protocol check (:mod:`mtl_helpers.checks._protocol`): the
  pairing, the number of seeds, the interval and the conclusion, not the
  training itself.

Each check computes the expected value itself, in NumPy, and never prints
it, so an answer cell that changes ``mtl_helpers`` cannot change a verdict.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from mtl_helpers.checks._core import CheckResult, compare_arrays, hint, needs_function, passed, register
from mtl_helpers.checks._protocol import register_paired_comparison

__all__: list[str] = []


def _call(function: Callable[..., Any], *args: Any) -> tuple[Any, CheckResult | None]:
    try:
        return function(*args), None
    except NotImplementedError:
        raise
    except Exception as error:  # the student's code: report it as a hint
        return None, hint(f"calling answer_fn raised {type(error).__name__}: {error}")


def _as_array(value: Any) -> np.ndarray | None:
    if isinstance(value, str | bytes | Mapping) or value is None:
        return None
    try:
        return np.asarray(value.numpy() if hasattr(value, "numpy") else value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------- exercise 1


def _cross_entropy(labels: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """Each row's cross-entropy from logits (float64); rows with label -1 use class 0."""
    logits = logits.astype(np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_softmax[np.arange(len(labels)), np.maximum(labels, 0)]


def _ex1_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(91)
    cases = []
    for n, k, missing in ((12, 3, [1, 4, 5, 9]), (8, 2, []), (10, 4, [0, 7]), (5, 3, [0, 1, 2, 3, 4])):
        labels = rng.integers(0, k, n).astype(np.int32)
        labels[missing] = -1
        cases.append((labels, (2.0 * rng.standard_normal((n, k))).astype(np.float32)))
    return cases


def _ex1_slip(got: float, labels: np.ndarray, logits: np.ndarray) -> CheckResult | None:
    """Name the usual wrong methods of a masked mean, or None."""
    mask = labels >= 0
    rows = _cross_entropy(labels, logits)
    candidates = [
        (rows[mask].sum() / len(labels), "this divides by the batch size; divide by the number of rows that have a label"),
        (rows.mean(), "the rows without a label still count (as class 0): multiply each row's loss by its mask first"),
        (rows[mask].sum(), "this is a sum over the labelled rows; the loss is their mean"),
        (rows.sum(), "this sums every row, labelled or not; average over the labelled rows only"),
    ]
    for value, message in candidates:
        if math.isclose(got, float(value), rel_tol=1e-4, abs_tol=1e-6):
            return hint(message)
    return None


@register("ch9.ex1")
def _check_ex1(answer_fn: Callable[..., Any]) -> CheckResult:
    if problem := needs_function(answer_fn):
        return problem
    for labels, logits in _ex1_cases():
        result, problem = _call(answer_fn, labels.copy(), logits.copy())
        if problem is not None:
            return problem
        got = _as_array(result)
        if got is None or got.size != 1:
            shape = "nothing" if got is None else f"shape {got.shape}"
            return hint(f"answer_fn should return one number (a float or a scalar tensor), got {shape}")
        value = float(got.reshape(()))
        mask = labels >= 0
        if not math.isfinite(value):
            if not mask.any():
                return hint(
                    "a batch without any label gave NaN: 0/0; return 0.0 there (tf.math.divide_no_nan does), "
                    "or NaN spreads into every weight at the next update"
                )
            return hint("answer_fn returned NaN or an infinite value for a batch that has labels")
        expected = float(_cross_entropy(labels, logits)[mask].mean()) if mask.any() else 0.0
        if math.isclose(value, expected, rel_tol=1e-4, abs_tol=1e-6):
            continue
        if not mask.any():
            return hint("a batch without any label should give a loss of 0.0: no row has anything to teach")
        slip = _ex1_slip(value, labels, logits)
        if slip is not None and not mask.all():
            return slip
        if mask.all() and math.isclose(value, float(_cross_entropy(labels, logits).sum()), rel_tol=1e-4):
            return hint("this is a sum over the rows; the loss is their mean")
        return hint(
            "not the cross-entropy of the labelled rows, averaged: check that you pass logits (not "
            "probabilities) and the labels of the same rows"
        )
    return passed("right: a row without a label adds nothing; an empty batch gives 0.")


# ---------------------------------------------------------------- exercise 2


def _ex2_batches() -> list[np.ndarray]:
    rng = np.random.default_rng(92)
    batches = []
    for n, missing in ((16, [3, 7, 8, 15]), (10, []), (7, [0, 1, 2, 3, 4, 5]), (6, list(range(6)))):
        labels = rng.integers(0, 2, n).astype(np.int32)
        labels[missing] = -1
        batches.append(labels)
    return batches


@register("ch9.ex2")
def _check_ex2(answer_fn: Callable[..., Any]) -> CheckResult:
    if problem := needs_function(answer_fn):
        return problem
    for labels in _ex2_batches():
        result, problem = _call(answer_fn, labels.copy())
        if problem is not None:
            return problem
        got = _as_array(result)
        if got is None:
            return hint(f"answer_fn should return an array of weights, one per row, got {type(result).__name__}")
        mask = (labels >= 0).astype(np.float64)
        n, labelled = len(labels), mask.sum()
        if got.shape != labels.shape:
            return compare_arrays(got, mask, name="the sample weights")
        if not np.all(np.isfinite(got)):
            if labelled == 0:
                return hint("a batch without any label gave NaN or infinite weights (0/0); give every row weight 0 there")
            return hint("the sample weights contain NaN or infinite values")
        expected = mask * n / labelled if labelled else mask
        if np.allclose(got, expected, rtol=1e-5, atol=1e-7):
            continue
        if np.any(np.abs(got[mask == 0]) > 1e-7):
            return hint("a row without a label must get weight 0: its loss is computed on a made-up class")
        if labelled and np.allclose(got, mask, rtol=1e-5, atol=1e-7):
            return hint(
                "these are the 0/1 masks: Keras' default divides the weighted sum by the batch size, so the "
                "labelled rows need a larger weight"
            )
        if labelled and np.allclose(got, mask / labelled, rtol=1e-5, atol=1e-7):
            return hint("off by a factor of the batch size: Keras divides the weighted sum by n after weighting")
        return compare_arrays(got, expected, name="the sample weights", rtol=1e-5, atol=1e-7)
    return passed("right: n / (labelled rows) on each label, 0 elsewhere, batch by batch.")


# ---------------------------------------------------------------- exercise 3

#: The logs of exercise 3: steps, validation errors, test errors. In the
#: second, validation ties at positions 2 and 5 and the test error is lower at 5.
_EX3_LOGS: tuple[dict[str, list[float]], ...] = (
    {
        "step": [150, 300, 450, 600, 750, 900, 1050, 1200],
        "validation": [0.41, 0.30, 0.26, 0.21, 0.23, 0.25, 0.24, 0.27],
        "test": [0.43, 0.33, 0.27, 0.24, 0.22, 0.23, 0.19, 0.26],
    },
    {
        "step": [100, 200, 300, 400, 500, 600],
        "validation": [0.52, 0.38, 0.31, 0.35, 0.33, 0.31],
        "test": [0.50, 0.40, 0.36, 0.33, 0.34, 0.30],
    },
)


def _pair(result: Any) -> tuple[float, float] | None:
    if isinstance(result, str | bytes | Mapping) or not hasattr(result, "__len__") or len(result) != 2:
        return None
    try:
        step, error = (float(np.asarray(value).item()) for value in result)
    except (TypeError, ValueError):
        return None
    return step, error


@register("ch9.ex3")
def _check_ex3(answer_fn: Callable[..., Any]) -> CheckResult:
    if problem := needs_function(answer_fn):
        return problem
    for log in _EX3_LOGS:
        result, problem = _call(answer_fn, {key: list(values) for key, values in log.items()})
        if problem is not None:
            return problem
        got = _pair(result)
        if got is None:
            return hint(f"answer_fn should return a pair (step, test_error), got {type(result).__name__}")
        step, error = got
        validation, test, steps = (np.asarray(log[key]) for key in ("validation", "test", "step"))
        best = int(np.argmin(validation))  # the first of ties
        if math.isclose(step, steps[best]) and math.isclose(error, test[best]):
            continue
        ties = np.flatnonzero(validation == validation.min())
        if len(ties) > 1 and math.isclose(step, steps[ties[-1]]):
            return hint("several steps tie for the lowest validation error; keep the earliest")
        if math.isclose(error, test.min()) or math.isclose(step, steps[int(np.argmin(test))]):
            return hint(
                "that step is chosen by the test error: choose it on the validation errors, "
                "then read the test error there"
            )
        if math.isclose(step, best) or math.isclose(step, best + 1):
            return hint("return the step number log['step'][i], not the position i in the lists")
        if math.isclose(step, steps[-1]):
            return hint("that is the last step; early stopping keeps the step with the lowest validation error")
        if math.isclose(step, steps[best]) and math.isclose(error, validation[best]):
            return hint("the step is right; report the test error at that step, not the validation error")
        return hint("not yet: find the position of the lowest validation error, then return the step and the test error there")
    return passed("right: choose the step on validation, then read the test error there.")


# ---------------------------------------------------------------- exercise 4

#: Exercise 4's method labels and the field they compare (test sex accuracy,
#: higher is better); the interval is that of the mean of ``masked - complete rows``.
EX4_METHODS: tuple[str, str] = ("masked", "complete rows")
EX4_METRIC: str = "sex"


register_paired_comparison("ch9.ex4", methods=EX4_METHODS, metric=EX4_METRIC, lower_is_better=False)
