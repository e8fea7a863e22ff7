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

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

from mtl_helpers._tensorflow import tf
from mtl_helpers.checks._core import CheckResult, compare_arrays, hint, needs_function, passed, register
from mtl_helpers.data import TASKS, RelatedTasks
from mtl_helpers.models import TwoHeadNet
from mtl_helpers.stats import MIN_SEEDS

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
        weights = answer_fn(dict(losses))
        if not isinstance(weights, Mapping):
            return hint(f"answer_fn should return a dict such as {{'y1': ..., 'y2': ...}}, got {type(weights).__name__}")
        if set(weights) != set(losses):
            return hint(f"the dict's keys should be the task names {sorted(losses)}, got {sorted(weights)}")
        try:
            values = {task: float(weights[task]) for task in losses}
        except (TypeError, ValueError):
            return hint("every weight should be a number")
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
_EX5_KEYS = ("records", "interval", "clear")


def _ex5_per_seed(records: Any) -> dict[str, dict[int, float]] | CheckResult:
    """``{method: {seed: metric}}`` from the answer's records, or a hint."""
    records = getattr(records, "records", records)  # a Results object or its list of dicts
    if isinstance(records, str | bytes | Mapping) or not hasattr(records, "__iter__"):
        return hint("answer['records'] should be a list of dicts, one per run, such as results.records")
    per_seed: dict[str, dict[int, float]] = {method: {} for method in EX5_METHODS}
    for record in records:
        if not isinstance(record, Mapping) or not {"method", "seed", EX5_METRIC} <= set(record):
            return hint(f"every record should be a dict with the keys 'method', 'seed' and {EX5_METRIC!r}")
        method, seed = record["method"], record["seed"]
        if method not in per_seed:
            return hint(f"a record has method {method!r}; label the runs {EX5_METHODS[0]!r} and {EX5_METHODS[1]!r}")
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            return hint(f"a record's seed is {seed!r}: seeds should be ints >= 0")
        if int(seed) in per_seed[method]:
            return hint(f"seed {int(seed)} appears twice for {method!r}: one run per method and seed")
        try:
            value = float(record[EX5_METRIC])
        except (TypeError, ValueError):
            return hint(f"record[{EX5_METRIC!r}] should be a number (the test MSE), got {type(record[EX5_METRIC]).__name__}")
        if not math.isfinite(value) or value <= 0:
            return hint(f"record[{EX5_METRIC!r}] should be a test MSE, a finite number > 0, got {value!r}")
        per_seed[method][int(seed)] = value
    return per_seed


def _t_interval(values: np.ndarray, quantile: float | None = None) -> tuple[float, float]:
    n = values.size
    q = scipy_stats.t.ppf(0.975, n - 1) if quantile is None else quantile
    half = q * values.std(ddof=1) / math.sqrt(n)
    return float(values.mean() - half), float(values.mean() + half)


def _unpaired_intervals(first: np.ndarray, second: np.ndarray) -> list[tuple[float, float]]:
    """Welch's and the pooled-variance interval of mean(first) - mean(second): no pairing."""
    n = first.size
    mean = float(first.mean() - second.mean())
    v1, v2 = first.var(ddof=1) / n, second.var(ddof=1) / n
    welch_df = (v1 + v2) ** 2 / (v1**2 / (n - 1) + v2**2 / (n - 1)) if v1 + v2 > 0 else 2 * n - 2
    welch = scipy_stats.t.ppf(0.975, welch_df) * math.sqrt(v1 + v2)
    pooled = scipy_stats.t.ppf(0.975, 2 * n - 2) * math.sqrt((first.var(ddof=1) + second.var(ddof=1)) / n)
    return [(mean - welch, mean + welch), (mean - pooled, mean + pooled)]


def _ex5_interval_hint(got: tuple[float, float], weighted: np.ndarray, equal: np.ndarray) -> CheckResult:
    """Name the slip behind an interval that is not the paired 95% t-interval."""
    differences = weighted - equal
    n, mean, spread = differences.size, float(differences.mean()), float(differences.std(ddof=1))

    def near(candidate: tuple[float, float]) -> bool:
        return bool(np.allclose(got, candidate, rtol=1e-5, atol=1e-9))

    if near(tuple(-v for v in reversed(_t_interval(differences)))):
        return hint("this is the interval of equal - weighted; the exercise asks for weighted - equal")
    if any(near(interval) for interval in _unpaired_intervals(weighted, equal)):
        return hint(
            "this interval treats the two methods as independent samples; pair the runs by seed: "
            "take the per-seed differences weighted - equal, then the t-interval of their mean"
        )
    if near(_t_interval(differences, quantile=float(scipy_stats.norm.ppf(0.975)))):
        return hint(f"with {n} seeds use Student's t quantile with n - 1 degrees of freedom, not the normal 1.96")
    t = float(scipy_stats.t.ppf(0.975, n - 1))
    for half in (spread, t * spread, 2 * spread):
        if near((mean - half, mean + half)):
            return hint("this is the spread of the differences, not an interval for their mean: divide by sqrt(n)")
    if near((mean - spread / math.sqrt(n), mean + spread / math.sqrt(n))):
        return hint("mean ± one standard error covers about 68%, not 95%: multiply by the t quantile")
    relative = 100.0 * differences / equal
    if near(_t_interval(relative)):
        return hint("this interval is in percent of the equal-weights error; give it in MSE units (relative=False)")
    return hint(
        f"the interval is not the 95% t-interval of the per-seed differences weighted - equal in {EX5_METRIC}'s "
        "test MSE: pass it unrounded, e.g. (comparison.low, comparison.high)"
    )


@register("ch4.ex5")
def _check_ex5(answer: Any) -> CheckResult:
    if not isinstance(answer, Mapping):
        return hint(f"answer should be a dict with the keys {list(_EX5_KEYS)}, got {type(answer).__name__}")
    missing = [key for key in _EX5_KEYS if key not in answer]
    if missing:
        return hint(f"answer is missing the keys {missing}; it needs {list(_EX5_KEYS)}")
    per_seed = _ex5_per_seed(answer["records"])
    if isinstance(per_seed, CheckResult):
        return per_seed
    seeds = {method: set(values) for method, values in per_seed.items()}
    if seeds[EX5_METHODS[0]] != seeds[EX5_METHODS[1]]:
        only = sorted(seeds[EX5_METHODS[0]] ^ seeds[EX5_METHODS[1]])
        return hint(f"the runs are not paired: every seed needs one run of each method, and seeds {only} have only one")
    common = sorted(seeds[EX5_METHODS[0]])
    if len(common) < MIN_SEEDS:
        return hint(f"{len(common)} seeds: the book draws a conclusion only from at least {MIN_SEEDS} paired seeds")
    weighted = np.array([per_seed["weighted"][seed] for seed in common])
    equal = np.array([per_seed["equal"][seed] for seed in common])
    if np.all(weighted == equal):
        return hint("both methods gave the same error in every seed: did the weighted runs really use the weights 1.0 and 0.1?")
    interval = answer["interval"]
    try:
        low, high = (float(value) for value in interval)
    except (TypeError, ValueError):
        return hint("answer['interval'] should be two numbers (low, high)")
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        return hint(f"answer['interval'] should be two finite numbers with low <= high, got {interval!r}")
    expected = _t_interval(weighted - equal)
    if not np.allclose((low, high), expected, rtol=1e-5, atol=1e-9):
        return _ex5_interval_hint((low, high), weighted, equal)
    clear = answer["clear"]
    if not isinstance(clear, bool | np.bool_):
        return hint(f"answer['clear'] should be True or False, got {type(clear).__name__}")
    excludes_zero = expected[0] > 0 or expected[1] < 0
    if bool(clear) != excludes_zero:
        if clear:
            return hint("a difference is clear only when its 95% interval excludes zero; this one does not")
        return hint("this interval excludes zero, so the difference is clear (whatever its size)")
    return passed(f"correct: {len(common)} paired seeds, the paired 95% interval, its verdict.")
