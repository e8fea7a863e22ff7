"""The self-checks of chapter 11: right answers pass, wrong methods get a hint that names the slip."""

from __future__ import annotations

import math

import numpy as np
import pytest
from check_answers import assert_not_attempted, fails_with, not_implemented, paired_answer
from scipy import stats

from mtl_helpers import compare_paired
from mtl_helpers.checks import evaluate


@pytest.mark.parametrize(
    ("exercise", "answer"),
    [("ch11.ex4", None)] + [(f"ch11.ex{n}", stub) for n in (1, 2, 3) for stub in (None, not_implemented)],
)
def test_stub_and_none_are_not_attempted(exercise: str, answer: object) -> None:
    assert_not_attempted(exercise, answer)


# ---------------------------------------------------------------- exercise 1: the verdict


def _interval(differences: np.ndarray, quantile: float) -> tuple[float, float]:
    half = quantile * differences.std(ddof=1) / math.sqrt(differences.size)
    return differences.mean() - half, differences.mean() + half


def _verdict(low: float, high: float) -> str:
    return "a better" if high < 0 else "b better" if low > 0 else "no clear difference"


def _right(a: np.ndarray, b: np.ndarray) -> str:
    differences = np.asarray(a) - np.asarray(b)
    return _verdict(*_interval(differences, stats.t.ppf(0.975, differences.size - 1)))


def test_ex1_right_answers_pass() -> None:
    assert evaluate("ch11.ex1", _right).passed
    assert evaluate("ch11.ex1", lambda a, b: compare_paired(a, b, names=("a", "b")).verdict).passed
    assert evaluate("ch11.ex1", lambda a, b: _right(a, b).upper() + ".").passed  # case and a full stop


def _welch(a: np.ndarray, b: np.ndarray) -> str:
    return _verdict(*stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95))


def _normal(a: np.ndarray, b: np.ndarray) -> str:
    return _verdict(*_interval(np.asarray(a) - np.asarray(b), 1.96))


def _standard_deviation(a: np.ndarray, b: np.ndarray) -> str:
    differences = np.asarray(a) - np.asarray(b)
    t = stats.t.ppf(0.975, differences.size - 1)
    return _verdict(differences.mean() - t * differences.std(ddof=1), differences.mean() + t * differences.std(ddof=1))


@pytest.mark.parametrize(
    ("answer_fn", "words"),
    [
        (lambda a, b: "a better" if np.mean(a) < np.mean(b) else "b better", "sign of the mean"),
        (lambda a, b: "a better" if np.sum(a < b) > np.sum(a > b) else "b better", "wins say how often"),
        (_welch, "independent samples"),
        (_normal, "Student's t"),
        (_standard_deviation, "standard error"),
        (lambda a, b: {"a better": "b better", "b better": "a better"}.get(_right(a, b), _right(a, b)), "direction"),
        (lambda a, b: "no clear difference", "differs from the book's rule"),
        (lambda a, b: True, "should return one of"),
    ],
)
def test_ex1_wrong_methods_get_hints(answer_fn: object, words: str) -> None:
    fails_with("ch11.ex1", answer_fn, words)


def test_ex1_hints_never_print_a_verdict() -> None:
    result = evaluate("ch11.ex1", lambda a, b: "no clear difference")
    assert "a better" not in result.message and "b better" not in result.message


def test_ex1_wants_the_function() -> None:
    fails_with("ch11.ex1", "a better", "function")


# ---------------------------------------------------------------- exercise 2: label correlation with missing labels


def _correlation(y1: np.ndarray, y2: np.ndarray) -> float:
    y1, y2 = np.ravel(y1), np.ravel(y2)
    both = ~np.isnan(y1) & ~np.isnan(y2)
    return float(np.corrcoef(y1[both], y2[both])[0, 1])


def _filled(value: str) -> object:
    def answer_fn(y1: np.ndarray, y2: np.ndarray) -> float:
        columns = [np.ravel(y).copy() for y in (y1, y2)]
        for column in columns:
            column[np.isnan(column)] = 0.0 if value == "zero" else np.nanmean(column)
        return float(np.corrcoef(*columns)[0, 1])

    return answer_fn


def test_ex2_right_answers_pass() -> None:
    import pandas as pd

    assert evaluate("ch11.ex2", _correlation).passed
    assert evaluate("ch11.ex2", lambda y1, y2: pd.Series(np.ravel(y1)).corr(pd.Series(np.ravel(y2)))).passed
    assert evaluate("ch11.ex2", lambda y1, y2: np.array(_correlation(y1, y2))).passed


@pytest.mark.parametrize(
    ("answer_fn", "words"),
    [
        (lambda y1, y2: float(np.corrcoef(np.ravel(y1), np.ravel(y2))[0, 1]), "NaN"),
        (_filled("zero"), "filled with 0"),
        (_filled("mean"), "with the mean"),
        (lambda y1, y2: _correlation(y1, y2) ** 2, "r squared"),
        (lambda y1, y2: float(np.cov(*(np.ravel(y)[~np.isnan(np.ravel(y1)) & ~np.isnan(np.ravel(y2))]
                                       for y in (y1, y2)))[0, 1]), "covariance"),
        (lambda y1, y2: float(stats.spearmanr(np.ravel(y1), np.ravel(y2), nan_policy="omit").statistic), "Spearman"),
        (lambda y1, y2: -_correlation(y1, y2), "differs"),
        (lambda y1, y2: "r", "one number"),
    ],
)
def test_ex2_wrong_methods_get_hints(answer_fn: object, words: str) -> None:
    fails_with("ch11.ex2", answer_fn, words)


def test_ex2_leaves_the_labels_alone() -> None:
    seen = []

    def answer_fn(y1: np.ndarray, y2: np.ndarray) -> float:
        seen.append(int(np.isnan(y1).sum()))
        return _correlation(y1, y2)

    assert evaluate("ch11.ex2", answer_fn).passed and all(count > 0 for count in seen)


# ---------------------------------------------------------------- exercise 3: square-root sampling


def _expected(sizes: dict, steps: int, power: float = 0.5) -> dict:
    weights = {task: size**power for task, size in sizes.items()}
    return {task: steps * weight / sum(weights.values()) for task, weight in weights.items()}


def _drawn(sizes: dict, steps: int) -> dict:
    from mtl_helpers import SquareRootSampler

    schedule = SquareRootSampler(sizes, seed=0).schedule(steps)
    return {task: float(np.sum(schedule == task)) for task in sizes}


def test_ex3_right_answer_passes() -> None:
    assert evaluate("ch11.ex3", _expected).passed


@pytest.mark.parametrize(
    ("answer_fn", "words"),
    [
        (lambda sizes, steps: _expected(sizes, steps, 1.0), "proportional"),
        (lambda sizes, steps: _expected(sizes, steps, 0.0), "uniform"),
        (lambda sizes, steps: _expected(sizes, steps, 2.0), "squared"),
        (lambda sizes, steps: _expected(sizes, 1, 0.5), "probabilities"),
        (lambda sizes, steps: {t: float(round(v)) for t, v in _expected(sizes, steps).items()}, "round only"),
        (_drawn, "drawn schedule"),
        (lambda sizes, steps: {t: v + 1.0 for t, v in _expected(sizes, steps).items()}, "the numbers differ"),
        (lambda sizes, steps: dict(list(_expected(sizes, steps).items())[:1]), "keys"),
        (lambda sizes, steps: list(_expected(sizes, steps).values()), "dict"),
    ],
)
def test_ex3_wrong_methods_get_hints(answer_fn: object, words: str) -> None:
    fails_with("ch11.ex3", answer_fn, words)


# ---------------------------------------------------------------- exercise 4 (open): the protocol


def _answer(shift: float, *, seeds: int = 10, noise: float = 0.01) -> dict:
    """Accuracies of sex (higher is better): shared against alone."""
    return paired_answer(("shared", "alone"), "sex", shift, seeds=seeds, base=0.8, spread=0.05, noise=noise,
                         lower_is_better=False)


def test_ex4_right_answers_pass() -> None:
    assert evaluate("ch11.ex4", _answer(0.03)).passed  # higher accuracy: shared better
    assert evaluate("ch11.ex4", _answer(-0.03)).passed
    assert evaluate("ch11.ex4", _answer(0.0, noise=0.05)).passed


def test_ex4_protocol_slips_get_hints() -> None:
    clear = _answer(0.03)
    assert clear["conclusion"] == "shared better"
    fails_with("ch11.ex4", {**clear, "conclusion": "alone better"}, "direction")  # read as an error
    fails_with("ch11.ex4", {**clear, "conclusion": "no clear difference"}, "clear")
    fails_with("ch11.ex4", _answer(0.03, seeds=5), "at least")
    fails_with("ch11.ex4", {**clear, "interval": tuple(-v for v in reversed(clear["interval"]))}, "alone - shared")
    unpaired = [record for record in clear["records"].records if not (record["method"] == "shared" and record["seed"] == 0)]
    fails_with("ch11.ex4", {**clear, "records": unpaired}, "not paired")
