"""Self-checks for chapter 3's exercises (alternating training).

* ``ch3.ex1``: the names (keys of ``net.get_weights()``) of the variables
  that one ``"y2"`` step of alternating training changes, for the chapter's
  network with biases.
* ``ch3.ex2``: ``{"y1": count, "y2": count}``, each optimizer's step count
  after training on ``CoinFlip(seed=EX2_SEED).schedule(EX2_STEPS)``.
* ``ch3.ex3``: the smallest expected ``tf.nn.l2_loss`` any predictor can
  reach on one of the article's batches of random targets, exactly (a float
  from the formula or a ``fractions.Fraction``; an estimate by sampling does
  not pass).
* ``ch3.ex4``: ``answer_fn(gradient, learning_rate, epsilon)``, the change
  made by the first step of a fresh Adam optimizer, computed without one;
  called on the check's own gradients (tiny ones too, where epsilon matters)
  and on the gradient of exercise 4's y1 step.
* ``ch3.ex5``: an open paired comparison (alternating training against task
  y1 alone at p = 0.5); the check verifies the protocol: one value per seed
  and method, at least ``MIN_SEEDS`` distinct seeds, the 95% t-interval of the
  paired differences and a conclusion that the interval supports.

Each check computes the expected value itself, from nothing the student's
code can change, and never prints it.
"""

from __future__ import annotations

import inspect
import math
from fractions import Fraction
from typing import Any

import numpy as np

from mtl_helpers._tensorflow import tf
from mtl_helpers.checks._core import (
    CheckResult,
    compare_arrays,
    compare_mapping,
    compare_names,
    compare_number,
    hint,
    needs_function,
    passed,
    register,
)
from mtl_helpers.checks._protocol import register_paired_comparison
from mtl_helpers.data import TASKS, RelatedTasks, article_batch, article_weights
from mtl_helpers.models import STRUCTURED_NET, TwoHeadNet
from mtl_helpers.sampling import CoinFlip
from mtl_helpers.trainers import AlternatingTrainer

__all__: list[str] = []

#: The schedule that exercise 2 states: ``CoinFlip(seed=EX2_SEED).schedule(EX2_STEPS)``.
EX2_STEPS: int = 50
EX2_SEED: int = 7
#: Exercise 4's data: ``article_weights(default_rng(EX4_WEIGHTS_SEED))`` and
#: ``article_batch(default_rng(EX4_BATCH_SEED))``.
EX4_WEIGHTS_SEED: int = 0
EX4_BATCH_SEED: int = 5


# ---------------------------------------------------------------- exercise 1


def _ex1_expected() -> tuple[list[str], list[str]]:
    net = TwoHeadNet(**STRUCTURED_NET, seed=0)
    trainer = AlternatingTrainer(net)
    batch = RelatedTasks(correlation=0.9, seed=0).sample(32, seed=1)
    before = net.get_weights()
    trainer.step("y2", batch)
    after = net.get_weights()
    changed = [name for name in before if not np.array_equal(before[name], after[name])]
    return changed, list(before)


@register("ch3.ex1")
def _check_ex1(answer: Any) -> CheckResult:
    expected, known = _ex1_expected()
    result = compare_names(answer, expected, name="your list of changed variables", known=known)
    if result.passed:
        return passed("correct: a y2 step moves the shared layer and head y2, biases too.")
    return result


# ---------------------------------------------------------------- exercise 2


@register("ch3.ex2")
def _check_ex2(answer: Any) -> CheckResult:
    schedule = CoinFlip(seed=EX2_SEED).schedule(EX2_STEPS)
    expected = {task: int(np.sum(schedule == task)) for task in TASKS}
    if isinstance(answer, dict) and set(answer) == set(TASKS):
        try:
            counts = {task: float(np.asarray(answer[task])) for task in TASKS}
        except (TypeError, ValueError):
            counts = None
        if counts is not None:
            if counts == {"y1": expected["y2"], "y2": expected["y1"]} and expected["y1"] != expected["y2"]:
                return hint("the two counts are swapped: which task does a draw below 0.5 train?")
            if all(value.is_integer() for value in counts.values()) and sum(counts.values()) != len(schedule):
                return hint(f"the counts add up to {sum(counts.values()):g}, but every one of the {len(schedule)} steps "
                            "runs exactly one optimizer once")
    result = compare_mapping(answer, expected, name="your step counts", compare=compare_number, integer=True)
    if result.passed:
        return passed("correct: each optimizer counts only its own task's steps.")
    return result


# ---------------------------------------------------------------- exercise 3


def _ex3_parts() -> tuple[int, int, float]:
    """Rows of one article batch, target values in it (per task), and the width of their uniform range."""
    targets = article_batch(np.random.default_rng(0))["y1"]
    scale = float(inspect.signature(article_batch).parameters["scale"].default)
    return int(targets.shape[0]), int(targets.size), scale


def _number_and_tolerance(answer: Any) -> tuple[float, float] | None:
    """A real-number answer as (value, relative tolerance of an exact result), or None.

    An exact result computed in float64 is good to about 1e-15, one computed
    in float32 to about 1e-7; a sampling estimate is off by far more.
    """
    if isinstance(answer, Fraction):
        return float(answer), 0.0
    if isinstance(answer, bool | np.bool_ | str | bytes):
        return None
    try:
        array = np.asarray(answer.numpy() if callable(getattr(answer, "numpy", None)) else answer)
    except (TypeError, ValueError):
        return None
    if array.size != 1 or array.dtype.kind not in "fiu":
        return None
    value = float(array.astype(np.float64).reshape(()))
    if not math.isfinite(value):
        return None
    return value, (1e-6 if array.dtype.itemsize <= 4 else 1e-9)


@register("ch3.ex3")
def _check_ex3(answer: Any) -> CheckResult:
    rows, values, scale = _ex3_parts()
    exact = Fraction(values, 2) * Fraction(scale) ** 2 / 12  # half the sum of squares, variance width**2 / 12
    expected = float(exact)
    number = _number_and_tolerance(answer)
    if number is None:  # not one real number: the generic hints say what it is
        return compare_number(answer, expected, name="your loss", rtol=1e-9)
    value, tolerance = number
    if (isinstance(answer, Fraction) and answer == exact) or (
        not isinstance(answer, Fraction) and math.isclose(value, expected, rel_tol=tolerance)
    ):
        return passed("correct: no network can beat the best constant, the mean, on pure noise.")
    if math.isclose(value, 0.0, abs_tol=1e-9):
        return hint("zero loss would mean predicting the noise itself; the targets do not depend on the inputs")
    ratio = value / expected
    if math.isclose(ratio, (rows - 1) / rows, rel_tol=0.01):
        return hint(
            "that looks like the loss of predicting each batch's own column means: they are computed from the "
            "very targets being predicted, which no predictor can see; use the mean of the distribution"
        )
    if abs(ratio - 1.0) < 0.05:
        return hint(
            "close, but not exact: an estimate by sampling, or a rounded number? Derive the value from the "
            "variance of the uniform distribution (compute it with the formula, or as a fractions.Fraction)"
        )
    variance = scale**2 / 12.0
    close = lambda target: math.isclose(value, target, rel_tol=2e-3)  # noqa: E731
    if close(0.5 * values * scale**2 / 3.0):
        return hint("that is the loss of always predicting 0; which constant makes the squared error smallest?")
    if close(variance) or close(0.5 * variance):
        return hint("that is the error of one target value; l2_loss adds up the errors of the whole batch")
    return compare_number(value, expected, name="your loss", rtol=1e-9)


# ---------------------------------------------------------------- exercise 4


def _adam_first_step(gradient: np.ndarray, learning_rate: float, epsilon: float) -> np.ndarray:
    """Equation (eq-ch3-adam) at t = 1: m_hat = g and v_hat = g**2."""
    return -learning_rate * gradient / (np.abs(gradient) + epsilon)


def _ex4_cases() -> list[tuple[np.ndarray, float, float]]:
    """The check's own gradients and hyperparameters: tiny gradients (where epsilon matters), zeros, others."""
    rng = np.random.default_rng(2014)
    mixed = rng.standard_normal((3, 4)) * 10.0 ** rng.integers(-10, 3, size=(3, 4))
    mixed.flat[[0, 5, 7]] = [0.0, 1e-8, -3e-9]
    moderate = rng.standard_normal(6) * 1e-3
    return [(mixed, 0.001, 1e-8), (moderate, 0.01, 1e-3)]


def _ex4_setup() -> tuple[TwoHeadNet, dict[str, np.ndarray]]:
    net = TwoHeadNet(weights=article_weights(np.random.default_rng(EX4_WEIGHTS_SEED)))
    return net, article_batch(np.random.default_rng(EX4_BATCH_SEED))


def _ex4_step() -> tuple[np.ndarray, np.ndarray]:
    """The gradient of exercise 4's y1 loss on ``net.shared``, and the change one real y1 step makes."""
    net, batch = _ex4_setup()
    with tf.GradientTape() as tape:
        loss = net.losses({"x": batch["x"], "y1": batch["y1"]})["y1"]
    gradient = tape.gradient(loss, net.shared).numpy().astype(np.float64)
    before = net.shared.numpy().copy()
    AlternatingTrainer(net).step("y1", batch)
    return gradient, net.shared.numpy().astype(np.float64) - before


def _call(answer_fn: Any, gradient: np.ndarray, learning_rate: float, epsilon: float) -> Any:
    return answer_fn(gradient.copy(), learning_rate, epsilon)


def _ex4_slip(got: Any, gradient: np.ndarray, learning_rate: float, epsilon: float) -> CheckResult | None:
    """A hint naming a known wrong formula that ``got`` matches, or None."""
    try:
        got = np.asarray(got.numpy() if callable(getattr(got, "numpy", None)) else got, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if got.shape != gradient.shape:
        return hint(
            f"answer_fn must return an array shaped like gradient: for a gradient of shape {gradient.shape} it "
            f"returned shape {got.shape}. Does it ignore gradient, e.g. by running a trainer's step?"
        )
    if np.any(~np.isfinite(got)) and np.all(np.isfinite(got[gradient != 0])):
        return hint("answer_fn returns NaN where the gradient is 0: epsilon keeps Adam's division finite")
    bias_free = -learning_rate * (1 - 0.9) * gradient / (np.sqrt(1 - 0.999) * np.abs(gradient) + epsilon)
    slips = [
        (-learning_rate * np.sign(gradient),
         "for gradients not much larger than epsilon Adam's first step is shorter than the learning rate: "
         "where is epsilon in your formula?"),
        (-learning_rate * gradient,
         "that is a plain gradient-descent step; Adam divides by its estimate of the gradient's size"),
        (bias_free, "close: Adam's moments start at zero, so they need the bias correction of step 1"),
        (-learning_rate * gradient / (np.abs(gradient) + epsilon / np.sqrt(1 - 0.999)),
         "that is what a Keras Adam optimizer computes (it adds epsilon before the bias correction); the "
         "exercise asks for the formula with the bias-corrected m-hat and v-hat, without an optimizer"),
    ]
    for values, message in slips:
        if np.all(np.isfinite(got)) and np.allclose(got, values, rtol=1e-4, atol=0.0):
            return hint(message)
    return None


@register("ch3.ex4")
def _check_ex4(answer_fn: Any) -> CheckResult:
    if problem := needs_function(answer_fn):
        return problem
    for number, (gradient, learning_rate, epsilon) in enumerate(_ex4_cases()):
        try:
            got = _call(answer_fn, gradient, learning_rate, epsilon)
        except NotImplementedError:
            raise
        except Exception as error:  # a student's bug: report it as a hint
            return hint(f"answer_fn(gradient, learning_rate, epsilon) raised {type(error).__name__}: {error}")
        expected = _adam_first_step(gradient, learning_rate, epsilon)
        name = f"answer_fn(gradient, {learning_rate:g}, {epsilon:g})"
        result = compare_arrays(got, expected, name=name, rtol=1e-4, atol=0.0)
        if result.passed:
            continue
        if number > 0:
            first = _adam_first_step(gradient, *_ex4_cases()[0][1:])
            try:
                if np.allclose(np.asarray(got, dtype=np.float64), first, rtol=1e-4, atol=0.0):
                    return hint("answer_fn ignores its learning_rate or epsilon: the check calls it with other values")
            except (TypeError, ValueError):
                pass
        return _ex4_slip(got, gradient, learning_rate, epsilon) or result
    gradient, change = _ex4_step()
    result = compare_arrays(_call(answer_fn, gradient, 0.001, 1e-8), change,
                            name="answer_fn(gradient of the y1 loss, 0.001, 1e-08)", rtol=1e-4, atol=1e-8)
    if result.passed:
        return passed("correct, and it matches the trainer's real first step.")
    return result


# ---------------------------------------------------------------- exercise 5

#: Exercise 5's method labels and the task whose test MSE they compare; the
#: interval is that of the mean of ``alternating - alone`` over seeds.
EX5_METHODS: tuple[str, str] = ("alternating", "alone")
EX5_METRIC: str = "y1"


register_paired_comparison("ch3.ex5", methods=EX5_METHODS, metric=EX5_METRIC)
