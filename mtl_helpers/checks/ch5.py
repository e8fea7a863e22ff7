"""Self-checks for chapter 5's exercises (the bias pitfalls).

* ``ch5.ex1``: the share of steps temperature sampling gives the small task.
* ``ch5.ex2``: the mean rise of the idle task's error during the blocks of a
  block schedule (a function of a training log).
* ``ch5.ex3``: standardising targets with the training data's statistics.
* ``ch5.ex4``: the weights uncertainty weighting settles at for fixed losses.
* ``ch5.ex5`` (open): a paired multi-seed comparison of uncertainty weighting
  with the plain sum on targets in the same units, checked for the book's
  protocol by :func:`mtl_helpers.checks._protocol.register_paired_comparison`
  (the pairing, at least ``MIN_SEEDS`` seeds, the paired 95% t-interval and the
  conclusion it supports), not for the training itself.

Every expected value is computed here, with NumPy (and SciPy in the protocol
check), from the exercise's own data; none is typed in. The checks call no
helper that an answer cell could replace, so changing ``mtl_helpers`` in a
notebook cannot change a verdict.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from mtl_helpers.checks._core import CheckResult, hint, needs_function, passed, register
from mtl_helpers.checks._protocol import register_paired_comparison
from mtl_helpers.data import TASKS
from mtl_helpers.trainers import TrainingLog

__all__: list[str] = []

#: Exercise 1: data-set sizes and temperature.
EX1_SIZES = {"y1": 5000, "y2": 200}
EX1_TEMPERATURE = 3.0


def _as_float(answer: Any) -> float | None:
    if isinstance(answer, bool | str | bytes):
        return None
    try:
        value = float(np.asarray(answer.numpy() if hasattr(answer, "numpy") else answer).item())
    except (TypeError, ValueError, AttributeError):
        return None
    return value if np.isfinite(value) else None


def _close(a: float, b: float, rtol: float = 1e-3) -> bool:
    return bool(np.isclose(a, b, rtol=rtol, atol=1e-9))


def _share_of_y2(exponent: float) -> float:
    """``N_y2 ** exponent / sum_i N_i ** exponent`` for exercise 1's sizes."""
    powered = {task: float(size) ** exponent for task, size in EX1_SIZES.items()}
    return powered["y2"] / sum(powered.values())


@register("ch5.ex1")
def _temperature_share(answer: Any) -> CheckResult:
    value = _as_float(answer)
    if value is None:
        return hint(f"answer should be one number (a float), got {type(answer).__name__}")
    expected = _share_of_y2(1.0 / EX1_TEMPERATURE)
    if _close(value, expected):
        return passed("right: temperature sampling gives the small task more steps.")
    if not 0.0 < value < 1.0:
        return hint("a share of steps is a probability, strictly between 0 and 1")
    if _close(value, 1.0 - expected):
        return hint("that is y1's share; the question asks for y2's")
    if _close(value, _share_of_y2(1.0)):
        return hint("that is proportional sampling (T = 1); raise each size to the power 1/T before normalising")
    if _close(value, _share_of_y2(EX1_TEMPERATURE)):
        return hint("the exponent is 1/T, not T")
    if _close(value, 0.5):
        return hint("that is uniform sampling (T → ∞); use T = 3")
    return hint("not yet: compute N_i ** (1 / T) for each task, then divide y2's value by their sum")


# ----------------------------------------------------------------------------
# Exercise 2: rises of the idle task's error, block by block
# ----------------------------------------------------------------------------


def _block_rises(log: TrainingLog, block: int, *, neighbours: bool = False, trained: bool = False) -> dict[str, float]:
    """Reference: mean (end - start) of the idle task's error over the complete blocks.

    Two common mistakes, for hints: ``neighbours=True`` takes the change
    between consecutive evaluations instead of the block's ends;
    ``trained=True`` measures the task that the block trained.
    """
    steps = len(log.task)
    positions = {int(step): i for i, step in enumerate(log.eval_step)}
    rises: dict[str, list[float]] = {task: [] for task in TASKS}
    for start in range(0, steps - block + 1, block):
        this_block = str(log.task[start])
        idle = this_block if trained else next(task for task in TASKS if task != this_block)
        stop = start + block
        first = positions[start]
        last = first + 1 if neighbours else positions[stop]
        rises[idle].append(float(log.eval_metric[idle][last] - log.eval_metric[idle][first]))
    return {task: float(np.mean(values)) for task, values in rises.items()}


def _synthetic_block_log(block: int, blocks: int, last: str, evals_per_block: int, seed: int) -> TrainingLog:
    """A block schedule's log with made-up held-out errors, evaluated inside blocks too."""
    rng = np.random.default_rng(seed)
    steps = block * blocks
    first = last if blocks % 2 else next(task for task in TASKS if task != last)
    order = [first, next(task for task in TASKS if task != first)]
    schedule = np.repeat([order[number % 2] for number in range(blocks)], block)
    eval_step = np.arange(0, steps + 1, block // evals_per_block)
    eval_metric = {task: np.exp(rng.normal(-1.0, 0.5, size=eval_step.size)) for task in TASKS}
    return TrainingLog(loss=np.zeros(steps), task=schedule, eval_step=eval_step, eval_metric=eval_metric)


EX2_LOGS = ((40, 6, "y1", 4, 1), (30, 5, "y2", 3, 2))  # block, blocks, last, evaluations per block, seed


def _call(function: Callable[..., Any], *args: Any) -> tuple[Any, CheckResult | None]:
    try:
        return function(*args), None
    except NotImplementedError:
        raise
    except Exception as error:  # report any error of the student's code as a hint
        return None, hint(f"calling answer_fn raised {type(error).__name__}: {error}")


def _task_floats(result: Any, name: str = "answer_fn's result") -> dict[str, float] | CheckResult:
    if not isinstance(result, Mapping) or set(result) != set(TASKS):
        return hint(f"{name} should be a dict with keys {list(TASKS)}, got {result!r:.80}")
    values = {task: _as_float(result[task]) for task in TASKS}
    bad = [task for task, value in values.items() if value is None]
    if bad:
        return hint(f"{name}[{bad[0]!r}] should be a finite number")
    return values


@register("ch5.ex2")
def _idle_task_rises(answer: Any) -> CheckResult:
    if problem := needs_function(answer):
        return problem
    for block, blocks, last, per_block, seed in EX2_LOGS:
        log = _synthetic_block_log(block, blocks, last, per_block, seed)
        result, problem = _call(answer, log, block)
        if problem is not None:
            return problem
        got = _task_floats(result)
        if isinstance(got, CheckResult):
            return got
        want = _block_rises(log, block)
        if all(_close(got[t], want[t], 1e-6) for t in TASKS):
            continue
        if all(_close(got[t], -want[t], 1e-6) for t in TASKS):
            return hint("the signs are flipped: a rise is the error at the block's end minus at its start")
        if all(_close(got[t], want[o], 1e-6) for t, o in zip(TASKS, TASKS[::-1], strict=True)):
            return hint("the keys are swapped: under 'y1' goes the rise of y1's error while y2 trains")
        trained_rises = _block_rises(log, block, trained=True)
        if all(_close(got[t], trained_rises[t], 1e-6) for t in TASKS):
            return hint("that measures each task while it trains; measure the task that was NOT trained during the block")
        neighbours = _block_rises(log, block, neighbours=True)
        if all(_close(got[t], neighbours[t], 1e-6) for t in TASKS):
            return hint(
                "this log is evaluated inside blocks too: use the evaluations whose eval_step is the block's "
                "first and last step, not neighbouring evaluations"
            )
        return hint(f"not yet: on a log with blocks of {block} steps the values differ; check which blocks each task is idle in")
    return passed("right: apply it to the chapter's curves to measure the sawtooth.")


# ----------------------------------------------------------------------------
# Exercise 3: standardising targets
# ----------------------------------------------------------------------------


def _ex3_data() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    rng = np.random.default_rng(5)

    def draw(n: int, shift: float) -> dict[str, np.ndarray]:
        return {
            "x": rng.normal(size=(n, 3)).astype(np.float32),
            "y1": (100.0 * rng.normal(2.0 + shift, 3.0, size=(n, 1))).astype(np.float32),
            "y2": rng.normal(-1.0 + shift, 0.5, size=(n, 1)).astype(np.float32),
        }

    return draw(400, 0.0), draw(300, 0.7)


def _copy(data: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {key: np.array(value, copy=True) for key, value in data.items()}


def _scaled_split(result: Any, name: str, keys: set[str]) -> dict[str, np.ndarray] | CheckResult:
    if not isinstance(result, Mapping) or set(result) != keys:
        return hint(f"the {name} dict should have the keys {sorted(keys)}, got {type(result).__name__}")
    arrays = {}
    for key, value in result.items():
        try:
            arrays[key] = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            return hint(f"{name}[{key!r}] should be an array of numbers")
    return arrays


def _standardised(
    split: Mapping[str, np.ndarray], mean: Mapping[str, np.ndarray], std: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """``split`` with each task's targets shifted by ``mean`` and divided by ``std``."""
    return {**split, **{task: (np.asarray(split[task], np.float64) - mean[task]) / std[task] for task in TASKS}}


def _matches(got: Mapping[str, np.ndarray], want: Mapping[str, np.ndarray], key: str) -> bool:
    # 5e-3 accepts the sample standard deviation (ddof=1) as well as np.std's default.
    return got[key].shape == want[key].shape and bool(np.allclose(got[key], want[key], rtol=5e-3, atol=5e-3))


@register("ch5.ex3")
def _standardise_targets(answer: Any) -> CheckResult:
    if problem := needs_function(answer):
        return problem
    train, test = _ex3_data()
    train_in, test_in = _copy(train), _copy(test)
    result, problem = _call(answer, train_in, test_in)
    if problem is not None:
        return problem
    if any(not np.array_equal(train_in[k], train[k]) for k in train) or any(
        not np.array_equal(test_in[k], test[k]) for k in test
    ):
        return hint("answer_fn changed its input dicts; build and return new dicts instead")
    if not isinstance(result, tuple | list) or len(result) != 2:
        return hint("answer_fn should return a pair (train_scaled, test_scaled)")
    mean = {task: np.asarray(train[task], np.float64).mean(axis=0) for task in TASKS}
    std = {task: np.asarray(train[task], np.float64).std(axis=0) for task in TASKS}
    expected = tuple(_standardised(split, mean, std) for split in (train, test))
    for name, got_raw, want, original in zip(("train", "test"), result, expected, (train, test), strict=True):
        got = _scaled_split(got_raw, name, set(original))
        if isinstance(got, CheckResult):
            return got
        if not np.allclose(got["x"], original["x"]):
            return hint("leave the inputs 'x' unchanged; only the targets are standardised")
        for task in TASKS:
            if _matches(got, want, task):
                continue
            own = {t: np.asarray(test[t], np.float64).mean(axis=0) for t in TASKS}
            own_std = {t: np.asarray(test[t], np.float64).std(axis=0) for t in TASKS}
            if name == "test" and _matches(got, _standardised(test, own, own_std), task):
                return hint("the test set is scaled with its own statistics; use the training set's mean and std")
            raw = np.asarray(original[task], np.float64)
            same_shape = got[task].shape == raw.shape
            if same_shape and np.allclose(got[task], (raw - mean[task]) / std[task] ** 2, rtol=5e-3):
                return hint(f"{name}[{task!r}] is divided by the variance; divide by the standard deviation")
            if same_shape and np.allclose(got[task], raw / std[task], rtol=5e-3):
                return hint(f"{name}[{task!r}] is not centred; subtract the training mean first")
            return hint(f"{name}[{task!r}] is not standardised with the training statistics yet")
    return passed("right: both splits share the training data's shift and scale.")


# ----------------------------------------------------------------------------
# Exercise 4: where uncertainty weighting settles
# ----------------------------------------------------------------------------

EX4_LOSSES = ({"y1": 1800.0, "y2": 0.09}, {"y1": 2.0, "y2": 0.5})


def _objective(loss: float, s: float) -> float:
    """Kendall et al.'s term for one task: 0.5 exp(-s) L + 0.5 s."""
    return 0.5 * math.exp(-s) * loss + 0.5 * s


def _optimal_weight(loss: float) -> float:
    """exp(-s*) for the s* minimising 0.5 exp(-s) L + 0.5 s, found numerically (ternary search)."""
    low, high = -40.0, 40.0
    for _ in range(200):
        a, b = low + (high - low) / 3, high - (high - low) / 3
        if _objective(loss, a) < _objective(loss, b):
            high = b
        else:
            low = a
    return float(np.exp(-(low + high) / 2))


@register("ch5.ex4")
def _settled_weights(answer: Any) -> CheckResult:
    if not callable(answer):
        return hint("pass the function itself: mtl_helpers.check('ch5.ex4', answer_fn)")
    for losses in EX4_LOSSES:
        result, problem = _call(answer, dict(losses))
        if problem is not None:
            return problem
        got = _task_floats(result)
        if isinstance(got, CheckResult):
            return got
        want = {task: _optimal_weight(loss) for task, loss in losses.items()}
        if all(_close(got[t], want[t], 1e-4) for t in TASKS):
            continue
        if all(_close(got[t], np.log(losses[t]), 1e-4) for t in TASKS):
            return hint("those are the log-variances s_i at the minimum; the weight is exp(-s_i)")
        if all(_close(got[t], losses[t], 1e-4) for t in TASKS):
            return hint("a task with a larger loss should get a smaller weight, not a larger one")
        for factor in (2.0, 0.5):
            if all(_close(got[t], factor * want[t], 1e-4) for t in TASKS):
                return hint(
                    f"off by a factor of {factor:g}: the two 0.5s in the objective cancel when you set the derivative to 0"
                )
        return hint("not yet: set the derivative of 0.5 exp(-s) L + 0.5 s with respect to s to zero and solve for s")
    return passed("right: each weight settles at 1/L_i, so the weighted losses are equal.")


# ----------------------------------------------------------------------------
# Exercise 5 (open): a paired comparison, checked for its protocol
# ----------------------------------------------------------------------------

#: Exercise 5's method labels (the interval is that of ``uncertainty - plain``)
#: and the field each record holds: the mean of the two tasks' normalised test MSEs.
EX5_METHODS: tuple[str, str] = ("uncertainty", "plain")
EX5_METRIC: str = "error"


register_paired_comparison("ch5.ex5", methods=EX5_METHODS, metric=EX5_METRIC)
