"""Self-checks for chapter 11's exercises (choosing a recipe).

* ``ch11.ex1``: ``answer_fn(a, b)`` -> ``"a better"``, ``"b better"`` or
  ``"no clear difference"`` for two methods' per-seed errors (lower is
  better), by the book's rule: the 95% Student t-interval of the mean of the
  per-seed differences ``a - b``, clear only when it excludes zero.
* ``ch11.ex2``: ``answer_fn(y1, y2)`` -> Pearson's correlation of two tasks'
  labels over the rows that have both (``NaN`` marks a missing label).
* ``ch11.ex3``: ``answer_fn(sizes, steps)`` -> ``{task: expected number of
  steps}`` of a schedule of ``steps`` steps drawn by square-root sampling,
  ``p_i`` proportional to the square root of task ``i``'s data-set size.
* ``ch11.ex4`` (open): a paired comparison of the shared penguin network and
  the sex-only network on 50 training birds, checked for the book's protocol
  by :func:`mtl_helpers.checks._protocol.register_paired_comparison`.

Every expected value is computed here (with NumPy and SciPy) from the
exercise's own cases; none is typed in, and none is printed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

from mtl_helpers.checks._core import CheckResult, hint, needs_function, passed, register, task_numbers
from mtl_helpers.checks._protocol import register_paired_comparison

__all__: list[str] = []

# ---------------------------------------------------------------- exercise 1: the verdict

#: The three verdicts of exercise 1.
EX1_VERDICTS: tuple[str, str, str] = ("a better", "b better", "no clear difference")


def _ex1_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    """Pairs (a, b) of per-seed errors, each built so that one slip gives another verdict than the rule."""
    rng = np.random.default_rng(11)
    base = rng.normal(1.0, 0.4, size=10) + 2.0  # seeds differ a lot; the methods differ little

    def centred(values: np.ndarray) -> np.ndarray:
        return (values - values.mean()) / values.std(ddof=1)

    wiggle = centred(rng.normal(size=10))
    lopsided = centred(np.array([-1.8, -0.9, -0.7, -0.2, 0.0, 0.1, 0.3, 0.6, 1.1, 1.5]))
    small = centred(rng.normal(size=12))
    return [
        # clear when paired (a lower in every seed), not clear when the seeds are treated as independent
        (base - 0.1 + 0.02 * wiggle, base),
        # a wins 8 of 10 seeds, b has the lower mean, and the interval includes zero
        (base + np.r_[np.full(8, -0.05), 0.35, 0.36], base),
        # mean / standard error 2.1: clear with the normal 1.96, not with t(9)'s quantile
        (base + 0.1 * (2.1 / math.sqrt(10) + lopsided), base),
        # b far lower in every seed: "b better", paired or not
        (base + 1.5 + 0.03 * wiggle, base),
        # clear with the standard error, not with the standard deviation; 12 seeds
        (np.r_[base, base[:2]] - 0.08 + 0.1 * small, np.r_[base, base[:2]]),
    ]


def _ex1_rule(a: np.ndarray, b: np.ndarray, *, quantile: float | None = None, scale: str = "sem") -> str:
    differences = a - b
    n = differences.size
    q = float(scipy_stats.t.ppf(0.975, n - 1)) if quantile is None else quantile
    spread = differences.std(ddof=1) / (math.sqrt(n) if scale == "sem" else 1.0)
    low, high = differences.mean() - q * spread, differences.mean() + q * spread
    if low > 0:
        return "b better"
    if high < 0:
        return "a better"
    return "no clear difference"


def _ex1_welch(a: np.ndarray, b: np.ndarray) -> str:
    result = scipy_stats.ttest_ind(a, b, equal_var=False)
    low, high = result.confidence_interval(0.95)
    return "b better" if low > 0 else "a better" if high < 0 else "no clear difference"


def _ex1_slips() -> list[tuple[Callable[[np.ndarray, np.ndarray], str], str]]:
    """Plausible wrong rules and the hint that names each."""
    flip = {"a better": "b better", "b better": "a better", "no clear difference": "no clear difference"}
    return [
        (lambda a, b: "a better" if np.mean(a - b) < 0 else "b better",
         "a verdict needs more than the sign of the mean: say 'no clear difference' when the 95% interval includes 0"),
        (lambda a, b: "a better" if np.sum(a < b) > np.sum(a > b) else "b better" if np.sum(a > b) > np.sum(a < b)
         else "no clear difference",
         "the wins say how often, not whether the difference is clear: decide from the 95% interval of the mean"),
        (_ex1_welch,
         "this treats the two methods as independent samples; pair the runs by seed: take the per-seed differences "
         "a - b, then the t-interval of their mean"),
        (lambda a, b: _ex1_rule(a, b, quantile=float(scipy_stats.norm.ppf(0.975))),
         "with few seeds use Student's t quantile with n - 1 degrees of freedom, not the normal 1.96"),
        (lambda a, b: _ex1_rule(a, b, scale="sd"),
         "the interval of a mean uses the standard error, the standard deviation divided by sqrt(n)"),
        (lambda a, b: flip[_ex1_rule(a, b)],
         "check the direction: the errors are lower-is-better, and the differences are a - b"),
    ]


def _verdict_text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip().lower().rstrip(".")
    return text if text in EX1_VERDICTS else None


@register("ch11.ex1")
def _check_ex1(answer_fn: Callable[..., Any]) -> CheckResult:
    problem = needs_function(answer_fn)
    if problem:
        return problem
    cases = _ex1_cases()
    got = []
    for a, b in cases:
        verdict = _verdict_text(answer_fn(a.copy(), b.copy()))
        if verdict is None:
            return hint(f"answer_fn should return one of {list(EX1_VERDICTS)}")
        got.append(verdict)
    expected = [_ex1_rule(a, b) for a, b in cases]
    if got == expected:
        return passed("correct: the paired t-interval decides, not the mean or the wins.")
    for slip, message in _ex1_slips():
        if got == [slip(a, b) for a, b in cases]:
            return hint(message)
    return hint("a verdict differs from the book's rule: take the per-seed differences a - b, their mean and the "
                "95% t-interval (t quantile with n - 1 degrees of freedom times the standard error); "
                "clear only if it excludes 0")


# ---------------------------------------------------------------- exercise 2: label correlation with missing labels


def _ex2_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    """Two tasks' labels with NaN where a label is missing (different rows for each task)."""
    rng = np.random.default_rng(12)
    cases = []
    for n, rho, shape in ((200, 0.6, (200,)), (150, -0.45, (150, 1)), (300, 0.2, (300,))):
        z = rng.normal(size=(2, n))
        y1 = 3.0 + 2.0 * z[0]
        y2 = -1.0 + 0.5 * (rho * z[0] + math.sqrt(1 - rho**2) * z[1])
        y1[rng.random(n) < 0.25] = np.nan
        y2[rng.random(n) < 0.2] = np.nan
        cases.append((y1.reshape(shape), y2.reshape(shape)))
    return cases


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.corrcoef(x, y)[0, 1])


def _both(y1: np.ndarray, y2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y1, y2 = np.ravel(y1), np.ravel(y2)
    keep = np.isfinite(y1) & np.isfinite(y2)
    return y1[keep], y2[keep]


def _ex2_slips(y1: np.ndarray, y2: np.ndarray) -> list[tuple[float, str]]:
    a, b = np.ravel(y1), np.ravel(y2)
    kept = _both(y1, y2)
    zeros = np.nan_to_num(a), np.nan_to_num(b)
    means = np.where(np.isfinite(a), a, np.nanmean(a)), np.where(np.isfinite(b), b, np.nanmean(b))
    r = _pearson(*kept)
    return [
        (_pearson(*zeros), "a missing label filled with 0 is a label the data do not have: keep only the rows "
                           "that have both labels"),
        (_pearson(*means), "filling a missing label with the mean invents labels (and shrinks the correlation): "
                           "keep only the rows that have both labels"),
        (r**2, "this is r squared: the correlation keeps its sign"),
        (float(np.cov(*kept)[0, 1]), "this is the covariance: divide it by both standard deviations"),
        (float(scipy_stats.spearmanr(*kept).statistic), "this is Spearman's rank correlation; the exercise asks for "
                                                        "Pearson's"),
    ]


@register("ch11.ex2")
def _check_ex2(answer_fn: Callable[..., Any]) -> CheckResult:
    problem = needs_function(answer_fn)
    if problem:
        return problem
    for y1, y2 in _ex2_cases():
        value = answer_fn(y1.copy(), y2.copy())
        try:
            got = float(np.asarray(value.numpy() if hasattr(value, "numpy") else value, dtype=np.float64))
        except (TypeError, ValueError):
            return hint(f"answer_fn should return one number, the correlation, got {type(value).__name__}")
        if math.isnan(got):
            return hint("the correlation is NaN: a missing label (NaN) entered it; keep only the rows that have both "
                        "labels")
        expected = _pearson(*_both(y1, y2))
        if math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-9):
            continue
        for wrong, message in _ex2_slips(y1, y2):
            if math.isclose(got, wrong, rel_tol=1e-6, abs_tol=1e-9):
                return hint(message)
        if not -1.0 <= got <= 1.0:
            return hint("a correlation lies between -1 and 1: divide the covariance by both standard deviations")
        return hint("the correlation differs: pair the labels row by row, keep the rows where both are present, "
                    "then take Pearson's r of the two columns")
    return passed("correct: only the rows with both labels say how the labels go together.")


# ---------------------------------------------------------------- exercise 3: square-root sampling


def _ex3_cases() -> list[tuple[dict[str, int], int]]:
    return [({"y1": 2000, "y2": 100}, 1000), ({"news": 40_000, "chat": 900, "law": 100}, 5000),
            ({"big": 10_000, "small": 25}, 300)]


def _expected_steps(sizes: Mapping[str, int], steps: int, power: float) -> dict[str, float]:
    weights = {task: size**power for task, size in sizes.items()}
    total = sum(weights.values())
    return {task: steps * weight / total for task, weight in weights.items()}


def _close(got: Mapping[str, float], wanted: Mapping[str, float], *, rel: float = 1e-6, abs_tol: float = 1e-6) -> bool:
    return all(math.isclose(got[task], wanted[task], rel_tol=rel, abs_tol=abs_tol) for task in wanted)


@register("ch11.ex3")
def _check_ex3(answer_fn: Callable[..., Any]) -> CheckResult:
    problem = needs_function(answer_fn)
    if problem:
        return problem
    for sizes, steps in _ex3_cases():
        got = task_numbers(answer_fn(dict(sizes), steps), sizes, values="expected number of steps")
        if isinstance(got, CheckResult):
            return got
        expected = _expected_steps(sizes, steps, 0.5)
        if _close(got, expected):
            continue
        if math.isclose(sum(got.values()), 1.0, rel_tol=1e-6):
            return hint("these are the probabilities; the exercise asks for the expected steps, steps times each")
        slips = [
            (_expected_steps(sizes, steps, 1.0), "this is proportional sampling; square-root sampling uses sqrt(N_i)"),
            (_expected_steps(sizes, steps, 0.0), "this is uniform sampling; square-root sampling uses sqrt(N_i)"),
            (_expected_steps(sizes, steps, 2.0), "you squared the sizes; square-root sampling uses sqrt(N_i)"),
            ({task: float(round(value)) for task, value in expected.items()},
             "round only for display: the expected number of steps need not be a whole number"),
        ]
        for wrong, message in slips:
            if _close(got, wrong):
                return hint(message)
        if _close(got, expected, rel=0.1, abs_tol=3.0) and math.isclose(sum(got.values()), steps, rel_tol=1e-9):
            return hint("these look like the counts of one drawn schedule, which vary from draw to draw: compute the "
                        "expectation, steps times p_i")
        return hint("the numbers differ: p_i = sqrt(N_i) / sum_j sqrt(N_j), and the expected steps are steps * p_i")
    return passed("correct: the small task's step-matched baseline needs as many steps.")


# ---------------------------------------------------------------- exercise 4 (open)

#: Exercise 4's labels and metric: the interval is that of ``shared - alone`` of the sex accuracy (higher is better).
EX4_METHODS: tuple[str, str] = ("shared", "alone")
EX4_METRIC: str = "sex"


register_paired_comparison("ch11.ex4", methods=EX4_METHODS, metric=EX4_METRIC, lower_is_better=False)
