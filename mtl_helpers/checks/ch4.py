"""Self-checks for chapter 4's exercises (joint training).

* ``ch4.ex1``: ``answer_fn(task_gradients, loss_weights)`` -> the shared
  layer's gradient of the weighted sum of the task losses.
* ``ch4.ex2``: ``answer_fn(initial_losses)`` -> loss weights that make every
  weighted loss equal to ``y1``'s (``y1`` keeps weight 1).
* ``ch4.ex3``: a Keras ``loss_weights`` dict whose total loss equals that of
  ``JointTrainer(net, weighting=FixedWeights({"y1": 1.0, "y2": 0.1}))`` on
  batches of 32 rows with one output per head (``tf.nn.l2_loss`` task losses).
* ``ch4.ex4``: ``answer_fn(net, batch, loss_weights)`` -> the gradients of the
  weighted joint loss for the shared layer and both heads.
* ``ch4.ex5`` (open): a paired multi-seed comparison of joint training with
  equal and with down-weighted ``y2`` loss. The check verifies the protocol
  (one run per method and seed, the same seeds for both, at least
  ``MIN_SEEDS`` seeds, the 95% t-interval of the per-seed differences and a
  verdict that follows from it), not the training itself.

Each check computes the expected value itself and never prints it. The
checks use their own copies of what they need (``MIN_SEEDS`` is bound at
import, the interval is computed here with SciPy), so an answer cell that
changes ``mtl_helpers.stats`` cannot change a verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from mtl_helpers._tensorflow import tf
from mtl_helpers.checks._core import CheckResult, compare_arrays, hint, needs_function, passed, register, task_numbers
from mtl_helpers.checks._protocol import register_paired_comparison
from mtl_helpers.data import TASKS, RelatedTasks
from mtl_helpers.models import TwoHeadNet

__all__: list[str] = []

#: The weighting and batch size that exercise 3 states (``JointTrainer`` with
#: ``FixedWeights(EX3_JOINT_WEIGHTS)`` on a network with ``tf.nn.l2_loss`` losses).
EX3_JOINT_WEIGHTS: dict[str, float] = {"y1": 1.0, "y2": 0.1}
EX3_BATCH_SIZE: int = 32


def _as_array(value: Any) -> np.ndarray | None:
    try:
        return np.asarray(value.numpy() if hasattr(value, "numpy") else value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------- exercise 1


def _ex1_cases() -> list[tuple[dict[str, np.ndarray], dict[str, float]]]:
    rng = np.random.default_rng(41)
    cases = []
    for weights in ({"y1": 1.0, "y2": 0.1}, {"y1": 0.25, "y2": 3.0}):
        gradients = {task: rng.standard_normal((10, 20)) for task in TASKS}
        cases.append((gradients, weights))
    return cases


@register("ch4.ex1")
def _check_ex1(answer_fn: Callable[..., Any]) -> CheckResult:
    problem = needs_function(answer_fn)
    if problem:
        return problem
    for gradients, weights in _ex1_cases():
        got = _as_array(answer_fn({t: g.copy() for t, g in gradients.items()}, dict(weights)))
        if got is None:
            return hint("answer_fn should return an array of numbers shaped like one task's gradient")
        expected = sum(weights[task] * gradients[task] for task in TASKS)
        if got.shape == expected.shape:
            if np.allclose(got, gradients["y1"] + gradients["y2"]):
                return hint("your result ignores the loss weights: scale each task's gradient first")
            swapped = weights["y2"] * gradients["y1"] + weights["y1"] * gradients["y2"]
            if np.allclose(got, swapped):
                return hint("each gradient is scaled by the other task's weight; pair every task with its own weight")
        result = compare_arrays(got, expected, name="answer_fn's result")
        if not result.passed:
            return result
    return passed("correct: a weighted sum's gradient is the weighted sum of the gradients.")


# ---------------------------------------------------------------- exercise 2


@register("ch4.ex2")
def _check_ex2(answer_fn: Callable[..., Any]) -> CheckResult:
    problem = needs_function(answer_fn)
    if problem:
        return problem
    for losses in ({"y1": 6.5, "y2": 130.0}, {"y1": 40.0, "y2": 2.5}):
        values = task_numbers(answer_fn(dict(losses)), losses, values="weight")
        if isinstance(values, CheckResult):
            return values
        if not all(np.isfinite(v) and v > 0 for v in values.values()):
            return hint("every weight should be a finite number > 0")
        weighted = {task: values[task] * losses[task] for task in losses}
        equal = np.isclose(weighted["y1"], weighted["y2"], rtol=1e-6)
        if equal and not np.isclose(values["y1"], 1.0):
            return hint("the weighted losses are equal, but y1's weight should stay 1.0")
        if not equal:
            before = abs(np.log(losses["y1"] / losses["y2"]))
            after = abs(np.log(weighted["y1"] / weighted["y2"]))
            if after > before:
                return hint("the weighted losses end up further apart than before: is the ratio the right way round?")
            return hint("the weighted losses are not equal: w_y2 * L_y2 should equal w_y1 * L_y1")
    return passed("correct: both tasks now start with the same weighted loss.")


# ---------------------------------------------------------------- exercise 3


@register("ch4.ex3")
def _check_ex3(answer: Any) -> CheckResult:
    if not isinstance(answer, Mapping):
        return hint(f"answer should be a dict keyed by output name such as {{'y1': ..., 'y2': ...}}, got {type(answer).__name__}")
    if set(answer) != set(TASKS):
        return hint(f"the keys should be the model's output names {list(TASKS)}, got {sorted(answer)}")
    try:
        got = np.array([float(answer[task]) for task in TASKS])
    except (TypeError, ValueError):
        return hint("every loss weight should be a number")
    # tf.nn.l2_loss = sum(e**2) / 2 = (n / 2) * mean(e**2) for one output per head.
    expected = np.array([EX3_BATCH_SIZE / 2 * EX3_JOINT_WEIGHTS[task] for task in TASKS])
    if np.allclose(got, expected, rtol=1e-6):
        return passed("correct: Keras' total now equals JointTrainer's on every batch.")
    if got[0] > 0 and np.isclose(got[1] / got[0], expected[1] / expected[0], rtol=1e-6):
        return hint(
            "the ratio of the weights is right, but the totals differ by a constant factor: "
            "compare Keras' 'mse' (a mean) with tf.nn.l2_loss (half a sum) on a batch of 32 rows"
        )
    return hint("the ratio of the two weights should match JointTrainer's loss_weights; then fix the overall scale")


# ---------------------------------------------------------------- exercise 4


def _ex4_case() -> tuple[TwoHeadNet, dict[str, np.ndarray], dict[str, float]]:
    net = TwoHeadNet(10, 20, 1, seed=3, output_activation="linear", use_bias=True)
    batch = RelatedTasks(correlation=0.5, seed=0).sample(16, seed=2)
    return net, batch, {"y1": 0.3, "y2": 2.0}


def _ex4_expected(net: TwoHeadNet, batch: Mapping[str, Any], weights: Mapping[str, float]) -> dict[str, np.ndarray]:
    variables = {"shared": net.shared, **net.heads}
    with tf.GradientTape(persistent=True) as tape:
        losses = net.losses(batch)
        total = tf.add_n([weights[task] * losses[task] for task in TASKS])
    expected = {name: g.numpy() for name, g in tape.gradient(total, variables).items()}
    for task in TASKS:  # unweighted per-task gradients, to recognise common slips
        expected[f"{task}_unweighted"] = tape.gradient(losses[task], variables[task]).numpy()
        expected[f"shared_{task}"] = tape.gradient(losses[task], net.shared).numpy()
    del tape
    return expected


@register("ch4.ex4")
def _check_ex4(answer_fn: Callable[..., Any]) -> CheckResult:
    problem = needs_function(answer_fn)
    if problem:
        return problem
    net, batch, weights = _ex4_case()
    before = net.get_weights()
    answer = answer_fn(net, batch, dict(weights))
    if any(not np.array_equal(before[name], value) for name, value in net.get_weights().items()):
        return hint("answer_fn changed the network's weights: compute gradients only, apply no update")
    if not isinstance(answer, Mapping):
        return hint(f"answer_fn should return a dict {{'shared': ..., 'y1': ..., 'y2': ...}}, got {type(answer).__name__}")
    if set(answer) != {"shared", *TASKS}:
        return hint(f"the dict's keys should be ['shared', 'y1', 'y2'], got {sorted(answer)}")
    if any(answer[name] is None for name in answer):
        missing = [name for name in answer if answer[name] is None]
        return hint(f"the gradient for {missing} is None: a task's loss does not reach the other head, use zeros there")
    expected = _ex4_expected(net, batch, weights)
    got = {name: _as_array(answer[name]) for name in answer}
    for task in TASKS:
        same_shape = got[task] is not None and got[task].shape == expected[task].shape
        if same_shape and np.allclose(got[task], expected[f"{task}_unweighted"], rtol=1e-4, atol=1e-6):
            return hint(f"the {task} head's gradient is missing its task's loss weight")
    shared = got["shared"]
    if shared is not None and shared.shape == expected["shared"].shape:
        if np.allclose(shared, expected["shared_y1"] + expected["shared_y2"], rtol=1e-4, atol=1e-5):
            return hint("the shared layer's gradient ignores the loss weights")
        for task in TASKS:
            if np.allclose(shared, weights[task] * expected[f"shared_{task}"], rtol=1e-4, atol=1e-5):
                return hint("the shared layer's gradient holds only one task's part: both losses reach it")
    for name in ("shared", *TASKS):
        result = compare_arrays(answer[name], expected[name], name=f"the {name!r} gradient", rtol=1e-4, atol=1e-5)
        if not result.passed:
            return result
    return passed("correct: each head gets its weighted gradient, the shared layer the sum.")


# ---------------------------------------------------------------- exercise 5

#: Exercise 5's method labels and the task whose test MSE they compare; the
#: interval is that of the mean of ``weighted - equal`` over seeds.
EX5_METHODS: tuple[str, str] = ("weighted", "equal")
EX5_METRIC: str = "y2"


register_paired_comparison("ch4.ex5", methods=EX5_METHODS, metric=EX5_METRIC)
