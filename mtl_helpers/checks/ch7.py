"""Self-checks for chapter 7's exercises (when sharing pays).

* ``ch7.ex1``: the effective data multiplier read by hand off a piece of
  learning curve (100 rows: MSE 0.50, 200 rows: 0.20; the shared network with
  100 rows: 0.30), interpolating in log size and log error.
* ``ch7.ex2``: ``answer_fn(net, datasets)`` -> the cosine between y1's and
  y2's gradients of their losses, each on its own rows, with respect to all
  of ``net.shared_variables``.
* ``ch7.ex3``: ``answer_fn(x, y)`` -> ``(r, low, high)``, Pearson's r and its
  95% interval by Fisher's z transformation.
* ``ch7.ex4`` (open): a paired multi-seed comparison of y2's test error with a
  data-rich (``"rich"``) and a data-poor (``"poor"``) partner, checked by the
  shared protocol check :func:`~mtl_helpers.checks._protocol.register_paired_comparison`.

Each check computes the expected value itself, with its own constants (the
normal quantile is written out, not looked up in SciPy), and never prints it;
the wrong methods a student is likely to use get hints of their own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from mtl_helpers._tensorflow import tf
from mtl_helpers.checks._core import CheckResult, compare_number, hint, needs_function, passed, register
from mtl_helpers.checks._protocol import register_paired_comparison
from mtl_helpers.data import TASKS, RelatedTasks
from mtl_helpers.models import STRUCTURED_NET, TwoHeadNet

__all__: list[str] = []

# ---------------------------------------------------------------- exercise 1

#: The piece of learning curve of exercise 1: rows -> test MSE of y2 alone.
EX1_CURVE: dict[int, float] = {100: 0.50, 200: 0.20}
#: The shared network's rows of y2 and its test MSE.
EX1_ROWS: int = 100
EX1_SHARED_ERROR: float = 0.30


def _ex1_candidates() -> dict[str, float]:
    """The right multiplier and the multipliers of plausible wrong methods."""
    (n0, e0), (n1, e1) = sorted(EX1_CURVE.items())
    target, rows = EX1_SHARED_ERROR, EX1_ROWS
    log_fraction = math.log(e0 / target) / math.log(e0 / e1)  # of the way in log error
    linear_fraction = (e0 - target) / (e0 - e1)  # of the way in error
    right = n0 * (n1 / n0) ** log_fraction / rows
    return {
        "right": right,
        "linear": (n0 + (n1 - n0) * linear_fraction) / rows,
        "log size, linear error": n0 * (n1 / n0) ** linear_fraction / rows,
        "linear size, log error": (n0 + (n1 - n0) * log_fraction) / rows,
        "from the other end": n0 * (n1 / n0) ** (1 - log_fraction) / rows,
        "rows, not multiplier": right * rows,
        "inverted": 1 / right,
    }


@register("ch7.ex1")
def _check_ex1(answer: Any) -> CheckResult:
    if isinstance(answer, bool) or not isinstance(answer, int | float | np.integer | np.floating):
        return hint(f"answer should be one number (a float), got {type(answer).__name__}")
    value = float(answer)
    if not math.isfinite(value) or value <= 0:
        return hint(f"a multiplier is a positive number, got {value!r}")
    candidates = _ex1_candidates()

    def near(name: str) -> bool:
        return math.isclose(value, candidates[name], rel_tol=2e-3)

    if near("right"):
        return passed("correct: log-log interpolation, divided by the shared network's rows.")
    if near("rows, not multiplier"):
        return hint("this is n_eff, the rows y2 alone would need; the multiplier divides it by the shared network's rows")
    if near("inverted"):
        return hint("this is n / n_eff: the multiplier is n_eff / n, above 1 when sharing helped")
    if near("linear"):
        return hint(
            "this interpolates on linear axes; the chapter draws the straight line on log-log axes (log size against log error)"
        )
    if near("log size, linear error"):
        return hint("log size is right, but interpolate in log error too: the line is straight on log-log axes")
    if near("linear size, log error"):
        return hint("log error is right, but interpolate in log size too: n_eff = 100 * 2**fraction, not 100 + 100 * fraction")
    if near("from the other end"):
        return hint("the fraction is measured from the wrong end: start at 100 rows (MSE 0.50) and move towards 200 rows")
    if value in (1.0, 2.0):
        return hint("that is a measured size divided by 100: interpolate between the two sizes instead of taking the nearest")
    return compare_number(value, candidates["right"], name="the multiplier", rtol=2e-3)


# ---------------------------------------------------------------- exercise 2


def _ex2_case(seed: int) -> tuple[dict[str, np.ndarray], dict[str, dict[str, np.ndarray]]]:
    """Weights (heads partly aligned, a non-zero shared bias) and each task's own rows."""
    rng = np.random.default_rng(seed)
    net = TwoHeadNet(**STRUCTURED_NET, seed=seed)
    weights = net.get_weights()
    weights["y2"] = (0.8 * weights["y1"] + 0.4 * rng.standard_normal(weights["y1"].shape)).astype(np.float32)
    weights["shared_bias"] = (0.3 * rng.standard_normal(weights["shared_bias"].shape)).astype(np.float32)
    datasets = RelatedTasks(correlation=0.9, seed=seed).sample_separate({"y1": 64, "y2": 48}, seed=seed + 1)
    return weights, datasets


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _ex2_candidates(weights: Mapping[str, np.ndarray], datasets: Mapping[str, Any]) -> dict[str, float]:
    """The right cosine and those of plausible wrong methods, on a network of its own."""
    net = TwoHeadNet(**STRUCTURED_NET)
    net.set_weights(dict(weights))
    grads: dict[str, dict[str, np.ndarray]] = {}
    for task in TASKS:
        with tf.GradientTape() as tape:
            loss = net.losses(datasets[task])[task]
        variables = {"kernel": net.shared, "bias": net.biases["shared"], "head": net.heads[task], "head_bias": net.biases[task]}
        grads[task] = {name: g.numpy().ravel() for name, g in tape.gradient(loss, variables).items()}

    def flat(task: str, names: tuple[str, ...]) -> np.ndarray:
        return np.concatenate([grads[task][name] for name in names])

    shared = ("kernel", "bias")
    right = _cosine(flat("y1", shared), flat("y2", shared))
    return {
        "right": right,
        "kernel only": _cosine(grads["y1"]["kernel"], grads["y2"]["kernel"]),
        "with heads": _cosine(flat("y1", (*shared, "head", "head_bias")), flat("y2", (*shared, "head", "head_bias"))),
        "dot product": float(flat("y1", shared) @ flat("y2", shared)),
        "angle": math.acos(max(-1.0, min(1.0, right))),
        "distance": 1.0 - right,
    }


@register("ch7.ex2")
def _check_ex2(answer_fn: Callable[..., Any]) -> CheckResult:
    problem = needs_function(answer_fn)
    if problem:
        return problem
    for seed in (7, 12):
        weights, datasets = _ex2_case(seed)
        candidates = _ex2_candidates(weights, datasets)  # before the student's code runs
        net = TwoHeadNet(**STRUCTURED_NET)
        net.set_weights(dict(weights))
        got = answer_fn(net, {task: dict(rows) for task, rows in datasets.items()})
        after = net.get_weights()
        if any(not np.array_equal(after[name], weights[name]) for name in weights):
            return hint("answer_fn changed the network's weights: compute the gradients, apply no update")
        try:
            value = float(np.asarray(got.numpy() if hasattr(got, "numpy") else got, dtype=np.float64).reshape(()))
        except (TypeError, ValueError):
            return hint(f"answer_fn should return one number (the cosine), got {type(got).__name__}")
        if not math.isfinite(value):
            return hint("answer_fn returned NaN or an infinite number: is a gradient zero, or None?")

        def near(name: str, value: float = value, candidates: dict[str, float] = candidates) -> bool:
            return math.isclose(value, candidates[name], rel_tol=1e-4, abs_tol=1e-6)

        if near("right"):
            continue
        if near("kernel only"):
            return hint("only the shared kernel: net.shared_variables holds the shared layer's bias too; join both")
        if near("with heads"):
            return hint("the heads are in: use net.shared_variables only; each head belongs to one task")
        if near("dot product"):
            return hint("this is the dot product: divide it by the two gradients' norms")
        if near("angle"):
            return hint("this is the angle (arccos of the cosine); return the cosine itself")
        if near("distance"):
            return hint("this is 1 - cosine (a distance); return the cosine itself")
        if math.isclose(value, -candidates["right"], rel_tol=1e-4, abs_tol=1e-6):
            return hint("the cosine has the wrong sign: are both gradients of the losses (not of minus a loss)?")
        if abs(value) > 1 + 1e-6:
            return hint("a cosine lies between -1 and 1: divide the dot product by the norms")
        return hint("not the cosine of the two tasks' gradients on the shared variables, each task's loss on its own rows")
    return passed("correct: the cosine of the tasks' gradients on the shared layer.")


# ---------------------------------------------------------------- exercise 3

_Z_975 = 1.959963984540054  # the normal distribution's 97.5% quantile
_T_975 = {12: 2.2281388519649385, 50: 2.0106347546964454}  # Student's t, n - 2 degrees of freedom


def _ex3_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(73)
    cases = []
    for n, slope in ((12, 0.8), (50, -0.3)):
        x = rng.standard_normal(n)
        cases.append((x, slope * x + rng.standard_normal(n)))
    return cases


def _fisher(r: float, n: int, quantile: float = _Z_975, df: int = 3) -> tuple[float, float]:
    half = quantile / math.sqrt(n - df)
    return math.tanh(math.atanh(r) - half), math.tanh(math.atanh(r) + half)


def _ex3_slip(r: float, low: float, high: float, x: np.ndarray, y: np.ndarray) -> CheckResult | None:
    """A hint naming the slip behind a wrong interval, or None."""
    n = x.size
    r_true = float(np.corrcoef(x, y)[0, 1])

    def near(candidate: tuple[float, float]) -> bool:
        return bool(np.allclose((low, high), candidate, rtol=1e-4, atol=1e-6))

    z = math.atanh(r_true)
    if near((z - _Z_975 / math.sqrt(n - 3), z + _Z_975 / math.sqrt(n - 3))):
        return hint("the interval is in z units: transform both ends back with tanh")
    if near(_fisher(r_true, n, df=0)):
        return hint("the standard error of z is 1 / sqrt(n - 3), not 1 / sqrt(n)")
    if near(_fisher(r_true, n, df=1)) or near(_fisher(r_true, n, df=2)):
        return hint("the standard error of z is 1 / sqrt(n - 3)")
    if n in _T_975 and near(_fisher(r_true, n, quantile=_T_975[n])):
        return hint("Fisher's z is close to normal: use the normal distribution's 97.5% quantile, not Student's t")
    if near(_fisher(r_true, n, quantile=1.6448536269514722)):
        return hint("this is a 90% interval: use the 97.5% quantile for a 95% interval")
    naive = _Z_975 * math.sqrt((1 - r_true**2) / (n - 2))
    if near((r_true - naive, r_true + naive)):
        return hint("r ± 1.96 standard errors is symmetric in r; transform to z = artanh(r) first")
    return None


@register("ch7.ex3")
def _check_ex3(answer_fn: Callable[..., Any]) -> CheckResult:
    problem = needs_function(answer_fn)
    if problem:
        return problem
    for x, y in _ex3_cases():
        got = answer_fn(x.copy(), y.copy())
        if isinstance(got, Mapping | str) or not hasattr(got, "__len__") or len(got) != 3:
            return hint("answer_fn should return three numbers: (r, low, high)")
        try:
            r, low, high = (float(np.asarray(value, dtype=np.float64).reshape(())) for value in got)
        except (TypeError, ValueError):
            return hint("answer_fn should return three numbers: (r, low, high)")
        n = x.size
        r_true = float(np.corrcoef(x, y)[0, 1])
        if not math.isclose(r, r_true, rel_tol=1e-4, abs_tol=1e-6):
            xr, yr = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
            if math.isclose(r, float(np.corrcoef(xr, yr)[0, 1]), rel_tol=1e-4, abs_tol=1e-6):
                return hint("this r is Spearman's (of the ranks); the exercise asks for Pearson's")
            return hint("r is not Pearson's correlation of x and y (np.corrcoef(x, y)[0, 1])")
        if low > high:
            return hint("low is above high: return (r, low, high)")
        if np.allclose((low, high), _fisher(r_true, n), rtol=1e-4, atol=1e-6):
            continue
        slip = _ex3_slip(r, low, high, x, y)
        return slip or hint("the interval is not Fisher's 95% interval: artanh, ± 1.96 / sqrt(n - 3), tanh")
    return passed("correct: Pearson's r with Fisher's z interval, asymmetric around r.")


# ---------------------------------------------------------------- exercise 4

#: Exercise 4's method labels and the task whose test MSE they compare; the
#: interval is that of the mean of ``rich - poor`` over seeds.
EX4_METHODS: tuple[str, str] = ("rich", "poor")
EX4_METRIC: str = "y2"


register_paired_comparison("ch7.ex4", methods=EX4_METHODS, metric=EX4_METRIC)
