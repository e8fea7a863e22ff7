"""The check behind every chapter's open exercise: a paired comparison done by the book's protocol.

Each chapter ends with one open exercise: design a paired multi-seed
comparison for a question the chapter leaves open, run it, and state the
conclusion its interval supports. The answer always has the same form::

    answer = {
        "records": results,            # a mtl_helpers.Results (or its list of dicts):
                                       # one record per run with "method", "seed" and the metric
        "interval": (low, high),       # 95% t-interval of the mean of a - b over the seeds
        "conclusion": "a better",      # "<a> better", "<b> better" or "no clear difference"
    }

:func:`check_paired_comparison` verifies the protocol, not the numbers a
student's runs produced: one run per method and seed, the same seeds for
both methods, at least ``MIN_SEEDS`` of them, the paired interval (recomputed
here with SciPy, so patching ``mtl_helpers.stats`` changes nothing) and the
verdict that follows from it. Each plausible slip gets its own hint.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

from mtl_helpers.checks._core import CheckResult, hint, passed, register
from mtl_helpers.stats import MIN_SEEDS

__all__ = ["KEYS", "check_paired_comparison", "conclusions", "register_paired_comparison"]

#: The keys of an open exercise's answer.
KEYS: tuple[str, ...] = ("records", "interval", "conclusion")

_SEEDS_NEEDED = MIN_SEEDS  # bound at import: an answer cell cannot lower it


def conclusions(methods: tuple[str, str]) -> tuple[str, str, str]:
    """The three conclusions an answer may state for ``methods = (a, b)``."""
    return f"{methods[0]} better", f"{methods[1]} better", "no clear difference"


def _per_seed(records: Any, methods: tuple[str, str], metric: str) -> dict[str, dict[int, float]] | CheckResult:
    """``{method: {seed: value}}`` from the answer's records, or a hint."""
    records = getattr(records, "records", records)  # a Results object or its list of dicts
    if isinstance(records, str | bytes | Mapping) or not hasattr(records, "__iter__"):
        return hint("answer['records'] should be a list of dicts, one per run, such as results.records")
    per_seed: dict[str, dict[int, float]] = {method: {} for method in methods}
    for record in records:
        if not isinstance(record, Mapping) or not {"method", "seed", metric} <= set(record):
            return hint(f"every record should be a dict with the keys 'method', 'seed' and {metric!r}")
        method, seed = record["method"], record["seed"]
        if method not in per_seed:
            continue  # runs of other methods may sit in the same Results
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            return hint(f"a record's seed is {seed!r}: seeds should be ints >= 0")
        if int(seed) in per_seed[method]:
            return hint(f"seed {int(seed)} appears twice for {method!r}: one run per method and seed")
        try:
            value = float(record[metric])
        except (TypeError, ValueError):
            return hint(f"record[{metric!r}] should be a number, got {type(record[metric]).__name__}")
        if not math.isfinite(value):
            return hint(f"record[{metric!r}] should be a finite number, got {value!r}")
        per_seed[method][int(seed)] = value
    empty = [method for method, values in per_seed.items() if not values]
    if empty:
        return hint(f"no record has method {empty[0]!r}; label the runs {methods[0]!r} and {methods[1]!r}")
    return per_seed


def _t_interval(values: np.ndarray, quantile: float | None = None) -> tuple[float, float]:
    n = values.size
    q = float(scipy_stats.t.ppf(0.975, n - 1)) if quantile is None else quantile
    half = q * float(values.std(ddof=1)) / math.sqrt(n)
    return float(values.mean()) - half, float(values.mean()) + half


def _unpaired_intervals(first: np.ndarray, second: np.ndarray) -> list[tuple[float, float]]:
    """Welch's and the pooled-variance interval of mean(first) - mean(second): no pairing."""
    n = first.size
    mean = float(first.mean() - second.mean())
    v1, v2 = first.var(ddof=1) / n, second.var(ddof=1) / n
    welch_df = (v1 + v2) ** 2 / (v1**2 / (n - 1) + v2**2 / (n - 1)) if v1 + v2 > 0 else 2 * n - 2
    welch = float(scipy_stats.t.ppf(0.975, welch_df)) * math.sqrt(v1 + v2)
    pooled = float(scipy_stats.t.ppf(0.975, 2 * n - 2)) * math.sqrt((first.var(ddof=1) + second.var(ddof=1)) / n)
    return [(mean - welch, mean + welch), (mean - pooled, mean + pooled)]


def _interval_slip(got: tuple[float, float], a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> CheckResult:
    """Name the slip behind an interval that is not the paired 95% t-interval of a - b."""
    differences = a - b
    n, mean, spread = differences.size, float(differences.mean()), float(differences.std(ddof=1))

    def near(candidate: tuple[float, float]) -> bool:
        return bool(np.allclose(got, candidate, rtol=1e-5, atol=1e-9))

    first, second = names
    if near(tuple(-value for value in reversed(_t_interval(differences)))):
        return hint(f"this is the interval of {second} - {first}; the exercise asks for {first} - {second}")
    if any(near(interval) for interval in _unpaired_intervals(a, b)):
        return hint(
            "this interval treats the two methods as independent samples; pair the runs by seed: "
            f"take the per-seed differences {first} - {second}, then the t-interval of their mean"
        )
    if near(_t_interval(differences, quantile=float(scipy_stats.norm.ppf(0.975)))):
        return hint(f"with {n} seeds use Student's t quantile with n - 1 degrees of freedom, not the normal 1.96")
    t = float(scipy_stats.t.ppf(0.975, n - 1))
    for half in (spread, t * spread, 2 * spread):
        if near((mean - half, mean + half)):
            return hint("this is the spread of the differences, not an interval for their mean: divide by sqrt(n)")
    if near((mean - spread / math.sqrt(n), mean + spread / math.sqrt(n))):
        return hint("mean ± one standard error covers about 68%, not 95%: multiply by the t quantile")
    if np.all(b != 0) and near(_t_interval(100.0 * differences / b)):
        return hint(f"this interval is in percent of {second}; give it in the metric's own units (relative=False)")
    return hint(
        f"the interval is not the 95% t-interval of the per-seed differences {first} - {second}: "
        "pass it unrounded, e.g. (comparison.low, comparison.high)"
    )


def check_paired_comparison(
    answer: Any, *, methods: tuple[str, str], metric: str, lower_is_better: bool = True
) -> CheckResult:
    """Check an open exercise's answer (see the module docstring for its form).

    Parameters
    ----------
    answer : dict
        ``{"records": ..., "interval": (low, high), "conclusion": str}``.
    methods : tuple of two str
        ``(a, b)``: the records' method labels; the interval is that of ``a - b``.
    metric : str
        The records' field compared, e.g. ``"y1"`` (a test error).
    lower_is_better : bool, default True
        Whether a lower value of ``metric`` is better (an error) or a higher one (an accuracy).

    Returns
    -------
    CheckResult
    """
    if not isinstance(answer, Mapping):
        return hint(f"answer should be a dict with the keys {list(KEYS)}, got {type(answer).__name__}")
    missing = [key for key in KEYS if key not in answer]
    if missing:
        return hint(f"answer is missing the keys {missing}; it needs {list(KEYS)}")
    per_seed = _per_seed(answer["records"], methods, metric)
    if isinstance(per_seed, CheckResult):
        return per_seed
    first, second = methods
    seeds = {method: set(values) for method, values in per_seed.items()}
    if seeds[first] != seeds[second]:
        only = sorted(seeds[first] ^ seeds[second])
        return hint(f"the runs are not paired: every seed needs one run of each method, and seeds {only} have only one")
    common = sorted(seeds[first])
    if len(common) < _SEEDS_NEEDED:
        return hint(f"{len(common)} seeds: the book draws a conclusion only from at least {_SEEDS_NEEDED} paired seeds")
    a = np.array([per_seed[first][seed] for seed in common])
    b = np.array([per_seed[second][seed] for seed in common])
    if np.array_equal(a, b):
        return hint("both methods gave the same value in every seed: did you compare a method with itself?")
    try:
        low, high = (float(value) for value in answer["interval"])
    except (TypeError, ValueError):
        return hint("answer['interval'] should be two numbers (low, high)")
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        return hint(f"answer['interval'] should be two finite numbers with low <= high, got {answer['interval']!r}")
    expected = _t_interval(a - b)
    if not np.allclose((low, high), expected, rtol=1e-5, atol=1e-9):
        return _interval_slip((low, high), a, b, methods)
    allowed = conclusions(methods)
    conclusion = answer["conclusion"]
    normalized = {text.lower(): text for text in allowed}  # the labels may have capitals ("MMoE better")
    if not isinstance(conclusion, str) or conclusion.strip().lower().rstrip(".") not in normalized:
        return hint(f"answer['conclusion'] should be one of {list(allowed)}")
    conclusion = normalized[conclusion.strip().lower().rstrip(".")]
    clear = expected[0] > 0 or expected[1] < 0
    a_wins = (expected[1] < 0) == lower_is_better  # a's values lower, and lower is better (or the reverse)
    verdict = allowed[2] if not clear else allowed[0] if a_wins else allowed[1]
    if conclusion != verdict:
        if verdict == allowed[2]:
            return hint("the interval includes 0: a difference is clear only when its 95% interval excludes 0, "
                        "whatever the means and the wins")
        if conclusion == allowed[2]:
            return hint("the interval excludes 0, so the difference is clear: say which method it favours")
        better = "lower" if lower_is_better else "higher"
        return hint(f"check the direction: the interval is of {first} - {second}, and a {better} {metric} is better")
    return passed(f"correct: {len(common)} paired seeds, a 95% interval, its verdict.")


def register_paired_comparison(
    exercise_id: str, *, methods: tuple[str, str], metric: str, lower_is_better: bool = True
) -> None:
    """Register :func:`check_paired_comparison` with these settings as the check of an open exercise.

    A chapter's check module calls it once, e.g. ``register_paired_comparison("ch6.ex4",
    methods=("pcgrad", "sum"), metric="test")``: the interval is that of
    ``methods[0] - methods[1]`` of ``metric`` over the paired seeds.
    """

    @register(exercise_id)
    def _check(answer: Any) -> CheckResult:
        return check_paired_comparison(answer, methods=methods, metric=metric, lower_is_better=lower_is_better)
