"""Self-checks for chapter 8's exercises (soft sharing: mixtures of experts).

* ``ch8.ex1``: ``answer_fn(x, kernel, bias)`` -> a gate's weights, shape
  (n, n_experts): ``softmax(x @ kernel + bias)`` over the experts, one
  distribution per example (the gate of :class:`~mtl_helpers.MMoE`).
* ``ch8.ex2``: ``answer_fn(in_dim, n_experts, expert_units, tower_units,
  n_tasks)`` -> the number of parameters of an MMoE with those sizes, counted
  by hand (``MMoE(...).parameter_count()``).
* ``ch8.ex3`` (open): a paired multi-seed comparison of MMoE and shared
  bottom on a setting the chapter did not run; the shared check
  :func:`~mtl_helpers.checks._protocol.register_paired_comparison` verifies the
  protocol (pairing, at least ``MIN_SEEDS`` seeds, the interval, the verdict).

Each check computes the expected value itself, with NumPy and plain
arithmetic, and never prints it: nothing an answer cell can change in
``mtl_helpers`` changes a verdict. ``tests/unit/test_checks_ch8.py`` checks
that these expected values are those of the package's ``MMoE``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mtl_helpers.checks._core import CheckResult, compare_arrays, hint, needs_function, passed, register
from mtl_helpers.checks._protocol import register_paired_comparison

__all__: list[str] = []


def _as_array(value: Any) -> np.ndarray | None:
    try:
        return np.asarray(value.numpy() if hasattr(value, "numpy") else value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------- exercise 1


def _softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)


def _ex1_cases() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Inputs (n, d), a gate kernel (d, experts) and a non-zero bias (experts,): two shapes."""
    rng = np.random.default_rng(81)
    cases = []
    for n, d, experts in ((6, 10, 4), (5, 3, 7)):
        x = rng.standard_normal((n, d)).astype(np.float32)
        kernel = (rng.standard_normal((d, experts)) / np.sqrt(d)).astype(np.float32)
        bias = (0.5 * rng.standard_normal(experts)).astype(np.float32)
        cases.append((x, kernel, bias))
    return cases


def _ex1_slip(got: np.ndarray, x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> CheckResult | None:
    """A hint for a plausible wrong gate, or None."""
    logits = x.astype(np.float64) @ kernel + bias

    def near(candidate: np.ndarray) -> bool:
        return got.shape == candidate.shape and bool(np.allclose(got, candidate, rtol=1e-4, atol=1e-6))

    if near(_softmax(logits, axis=0)):
        return hint("the softmax runs over the examples (axis 0): a gate gives each example "
                    "its own weights over the experts, so take the softmax over the last axis")
    if near(_softmax(logits).T) or near(_softmax(logits, axis=0).T):
        return hint(f"the result has shape {got.shape}: one row per example, one column per expert, "
                    "i.e. (n, n_experts)")
    if near(logits):
        return hint("these are the gate's logits x @ kernel + bias: turn them into weights with a softmax")
    if near(_softmax(x.astype(np.float64) @ kernel)):
        return hint("the bias is missing: the gate's logits are x @ kernel + bias")
    if near(1.0 / (1.0 + np.exp(-logits))):
        return hint("a sigmoid scores each expert on its own; a gate's weights over the experts "
                    "must sum to 1 for every example: use a softmax")
    if near(np.eye(logits.shape[1])[np.argmax(logits, axis=1)]):
        return hint("this gate picks one expert (a hard choice); MMoE's gate is soft: the softmax "
                    "weights every expert")
    return None


@register("ch8.ex1")
def _check_ex1(answer_fn: Callable[..., Any]) -> CheckResult:
    problem = needs_function(answer_fn)
    if problem:
        return problem
    for x, kernel, bias in _ex1_cases():
        got = _as_array(answer_fn(x.copy(), kernel.copy(), bias.copy()))
        if got is None:
            return hint("answer_fn should return an array or tensor of numbers of shape (n, n_experts)")
        expected = _softmax(x.astype(np.float64) @ kernel + bias)
        if got.shape != expected.shape or not np.allclose(got, expected, rtol=1e-4, atol=1e-6):
            slip = _ex1_slip(got, x, kernel, bias)
            if slip is not None:
                return slip
            if got.shape == expected.shape and np.allclose(got.sum(axis=1), 1.0, atol=1e-4):
                return hint("every row sums to 1, but the weights differ from softmax(x @ kernel + bias): "
                            "exponentiate the logits before normalising")
            result = compare_arrays(got, expected, name="answer_fn's gate", rtol=1e-4, atol=1e-6)
            if not result.passed:
                return result
    return passed("correct: one softmax over the experts for each example, as in MMoE.")


# ---------------------------------------------------------------- exercise 2

#: The sizes exercise 2 is checked on: (in_dim, n_experts, expert_units, tower_units, n_tasks).
EX2_CASES: tuple[tuple[int, int, int, int, int], ...] = ((10, 4, 5, 8, 2), (7, 3, 6, 0, 2), (12, 5, 4, 3, 3))


def _dense(fan_in: int, units: int, *, bias: bool = True) -> int:
    return fan_in * units + (units if bias else 0)


def _tower(expert_units: int, tower_units: int, *, bias: bool = True) -> int:
    if tower_units:
        return _dense(expert_units, tower_units, bias=bias) + _dense(tower_units, 1, bias=bias)
    return _dense(expert_units, 1, bias=bias)


def mmoe_parameters(in_dim: int, n_experts: int, expert_units: int, tower_units: int, n_tasks: int) -> int:
    """The parameters of ``MMoE(in_dim, n_experts, expert_units, tower_units)`` with ``n_tasks`` tasks.

    Shared: ``n_experts`` experts, each a ReLU layer (in_dim, expert_units)
    with its bias. Each task: a gate (in_dim, n_experts) with its bias and a
    tower (a ReLU layer of ``tower_units``, then one linear output; without
    the hidden layer when ``tower_units`` is 0).
    """
    experts = n_experts * _dense(in_dim, expert_units)
    return experts + n_tasks * (_dense(in_dim, n_experts) + _tower(expert_units, tower_units))


def _ex2_slips(in_dim: int, n_experts: int, expert_units: int, tower_units: int, n_tasks: int) -> list[tuple[int, str]]:
    """(count, hint) for the plausible miscounts, in the order they are tried."""
    experts = n_experts * _dense(in_dim, expert_units)
    gate, tower = _dense(in_dim, n_experts), _tower(expert_units, tower_units)
    no_bias = n_experts * _dense(in_dim, expert_units, bias=False) + n_tasks * (
        _dense(in_dim, n_experts, bias=False) + _tower(expert_units, tower_units, bias=False))
    hidden_only = _dense(expert_units, tower_units) if tower_units else 0
    return [
        (experts + gate + n_tasks * tower, "that is OMoE's count: in MMoE every task has its own gate"),
        (no_bias, "every layer here has a bias too: add one per unit (and one per expert in each gate)"),
        (experts + n_tasks * (_dense(in_dim, n_experts, bias=False) + tower),
         "the package's gates have a bias as well: x @ kernel + bias, one bias per expert"),
        (n_tasks * experts + n_tasks * (gate + tower), "the experts are shared: count them once, not once per task"),
        (experts + n_tasks * (_dense(expert_units, n_experts) + tower),
         "a gate reads the input x (in_dim features), not the experts' outputs"),
        (experts + n_tasks * (gate + hidden_only), "each tower ends in one linear output unit with its bias"),
        (experts + n_tasks * gate, "the towers are missing: each task has one on top of its mixture"),
        (experts + n_tasks * (gate + _dense(tower_units or expert_units, 1)),
         "a tower's hidden layer reads the mixture of expert_units values: count its kernel and bias"),
    ]


@register("ch8.ex2")
def _check_ex2(answer_fn: Callable[..., Any]) -> CheckResult:
    problem = needs_function(answer_fn)
    if problem:
        return problem
    for sizes in EX2_CASES:
        got = answer_fn(*sizes)
        if hasattr(got, "numpy"):
            got = got.numpy()
        if isinstance(got, bool) or not isinstance(got, int | float | np.integer | np.floating):
            return hint(f"answer_fn should return one number (a count), got {type(got).__name__}")
        if not float(got).is_integer():
            return hint(f"a number of parameters is a whole number, got {got!r}")
        expected = mmoe_parameters(*sizes)
        if int(got) == expected:
            continue
        where = ""
        if sizes[3] == 0:
            where = " (tower_units=0: a tower without a hidden layer)"
        elif sizes[4] != 2:
            where = f" (n_tasks={sizes[4]})"
        for count, message in _ex2_slips(*sizes):
            if int(got) == count:
                return hint(message + where)
        direction = "too many" if got > expected else "too few"
        return hint(f"{direction} parameters{where}: per layer count a kernel (inputs x units) and a bias (units); "
                    "the shared experts once, a gate and a tower for each task")
    return passed("correct: the experts once, then a gate and a tower per task.")


# ---------------------------------------------------------------- exercise 3

#: Exercise 3's method labels and the field compared (the mean of the two tasks' test MSE);
#: the interval is that of the mean of ``mmoe - shared bottom`` over the seeds.
EX3_METHODS: tuple[str, str] = ("mmoe", "shared bottom")
EX3_METRIC: str = "mse"


register_paired_comparison("ch8.ex3", methods=EX3_METHODS, metric=EX3_METRIC)
