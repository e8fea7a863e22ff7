"""Self-checks for chapter 3's exercises (alternating training).

* ``ch3.ex1``: the names (keys of ``net.get_weights()``) of the variables
  that one ``"y2"`` step of alternating training changes, for the chapter's
  network with biases.
* ``ch3.ex2``: ``{"y1": count, "y2": count}``, each optimizer's step count
  after training on ``coin_flip_schedule(EX2_STEPS, seed=EX2_SEED)``.
* ``ch3.ex3``: the smallest expected ``tf.nn.l2_loss`` any predictor can
  reach on one of the article's batches of random targets.
* ``ch3.ex4``: the change of the shared weights made by the first ``"y1"``
  step of a fresh trainer (Adam's bias-corrected first step).

Each check computes the expected value itself and never prints it.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np

from mtl_helpers._tensorflow import tf
from mtl_helpers.alternating import STRUCTURED_NET, coin_flip_schedule
from mtl_helpers.checks._core import (
    CheckResult,
    compare_arrays,
    compare_mapping,
    compare_names,
    compare_number,
    hint,
    passed,
    register,
)
from mtl_helpers.data import TASKS, RelatedTasks, article_batch, article_weights
from mtl_helpers.models import TwoHeadNet
from mtl_helpers.training import AlternatingTrainer, article_adam

__all__: list[str] = []

#: The schedule that exercise 2 states: ``coin_flip_schedule(EX2_STEPS, seed=EX2_SEED)``.
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
        return passed("correct: a y2 step moves the shared layer and task y2's head, biases included.")
    return result


# ---------------------------------------------------------------- exercise 2


@register("ch3.ex2")
def _check_ex2(answer: Any) -> CheckResult:
    schedule = coin_flip_schedule(EX2_STEPS, seed=EX2_SEED)
    expected = {task: schedule.count(task) for task in TASKS}
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


def _ex3_parts() -> tuple[int, float]:
    """Number of target values in one article batch, and the width of their uniform range."""
    values = article_batch(np.random.default_rng(0))["y1"].size
    scale = float(inspect.signature(article_batch).parameters["scale"].default)
    return values, scale


@register("ch3.ex3")
def _check_ex3(answer: Any) -> CheckResult:
    values, scale = _ex3_parts()
    variance = scale**2 / 12.0  # of a uniform distribution on [0, scale)
    expected = 0.5 * values * variance
    try:
        value = float(np.asarray(answer.numpy() if hasattr(answer, "numpy") else answer, dtype=np.float64))
    except (TypeError, ValueError):
        value = None
    if value is not None and math.isfinite(value):
        if math.isclose(value, 0.0, abs_tol=1e-9):
            return hint("zero loss would mean predicting the noise itself; the targets do not depend on the inputs")
        close = lambda target: math.isclose(value, target, rel_tol=2e-3)  # noqa: E731
        if close(0.5 * values * scale**2 / 3.0):
            return hint("that is the loss of always predicting 0; which constant makes the squared error smallest?")
        if close(variance) or close(0.5 * variance):
            return hint("that is the error of one target value; l2_loss adds up the errors of the whole batch")
    result = compare_number(answer, expected, name="your loss", rtol=2e-3)
    if result.passed:
        return passed("correct: no network can beat the best constant, the mean, on pure noise.")
    return result


# ---------------------------------------------------------------- exercise 4


def _ex4_setup() -> tuple[TwoHeadNet, dict[str, np.ndarray]]:
    net = TwoHeadNet(weights=article_weights(np.random.default_rng(EX4_WEIGHTS_SEED)))
    return net, article_batch(np.random.default_rng(EX4_BATCH_SEED))


def _ex4_expected() -> tuple[np.ndarray, np.ndarray, float]:
    """The change of the shared weights after one y1 step, the gradient, and the learning rate."""
    net, batch = _ex4_setup()
    with tf.GradientTape() as tape:
        loss = net.losses({"x": batch["x"], "y1": batch["y1"]})["y1"]
    gradient = tape.gradient(loss, net.shared).numpy()
    before = net.shared.numpy().copy()
    trainer = AlternatingTrainer(net)
    trainer.step("y1", batch)
    learning_rate = float(article_adam().learning_rate)
    return net.shared.numpy() - before, gradient, learning_rate


@register("ch3.ex4")
def _check_ex4(answer: Any) -> CheckResult:
    expected, gradient, learning_rate = _ex4_expected()
    try:
        got = np.asarray(answer.numpy() if hasattr(answer, "numpy") else answer, dtype=np.float64)
    except (TypeError, ValueError):
        got = None
    if got is not None and got.shape == expected.shape and np.all(np.isfinite(got)):
        if np.allclose(got, -learning_rate * gradient, rtol=1e-3):
            return hint("that is a plain gradient-descent step; Adam divides by its estimate of the gradient's size")
        without_correction = expected * (1 - 0.9) / math.sqrt(1 - 0.999)  # m = 0.1 g, v = 0.001 g**2
        if np.allclose(got, without_correction, rtol=1e-3, atol=1e-7):
            return hint("close: Adam's first moments start at zero, so they need the bias correction of step 1")
    result = compare_arrays(answer, expected, name="your change of the shared weights")
    if result.passed:
        return passed("correct: Adam's first step moves every weight by about the learning rate, whatever the gradient's size.")
    return result
