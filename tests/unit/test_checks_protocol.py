"""The check behind every open exercise: a paired comparison by the book's protocol (checks/_protocol.py)."""

from __future__ import annotations

import numpy as np
import pytest

from mtl_helpers.checks._core import CheckResult
from mtl_helpers.checks._protocol import check_paired_comparison


def _check(answer: object) -> CheckResult:
    return check_paired_comparison(answer, methods=("weighted", "equal"), metric="y2")




def _ex5_values(n: int = 10, shift: float = 0.02, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    equal = 0.08 + 0.02 * rng.random(n)
    return equal + shift + 0.01 * rng.standard_normal(n), equal


def _ex5_records(weighted: np.ndarray, equal: np.ndarray, seeds: list[int] | None = None) -> list[dict]:
    seeds = list(range(len(equal))) if seeds is None else seeds
    records = []
    for seed, w, e in zip(seeds, weighted, equal, strict=True):
        records.append({"method": "equal", "seed": seed, "y1": 0.05, "y2": float(e)})
        records.append({"method": "weighted", "seed": seed, "y1": 0.05, "y2": float(w)})
    return records


def _ex5_answer(weighted: np.ndarray, equal: np.ndarray, **changes: object) -> dict:
    from mtl_helpers import compare_paired

    comparison = compare_paired(weighted, equal, names=("weighted", "equal"))
    answer = {"records": _ex5_records(weighted, equal), "interval": (comparison.low, comparison.high),
              "conclusion": comparison.verdict}
    return answer | changes


@pytest.mark.parametrize("shift", [0.02, 0.0, -0.02])
def test_ex5_right_answer_passes(shift: float) -> None:
    weighted, equal = _ex5_values(shift=shift)
    answer = _ex5_answer(weighted, equal)
    assert answer["conclusion"] == ("weighted better" if shift < 0 else "equal better" if shift > 0 else "no clear difference")
    result = _check(answer)
    assert result.passed, result.message


def test_ex5_accepts_a_results_object_and_shuffled_records() -> None:
    from mtl_helpers import Results

    weighted, equal = _ex5_values()
    answer = _ex5_answer(weighted, equal)
    answer["records"] = Results(answer["records"][::-1])
    assert _check(answer).passed


def _t(values: np.ndarray, q: float) -> tuple[float, float]:
    half = q * values.std(ddof=1) / np.sqrt(values.size)
    return values.mean() - half, values.mean() + half


def _wrong_intervals() -> list[tuple[str, object, str]]:
    from scipy import stats

    weighted, equal = _ex5_values()
    d = weighted - equal
    n = d.size
    t = stats.t.ppf(0.975, n - 1)
    welch = stats.ttest_ind(weighted, equal, equal_var=False).confidence_interval(0.95)
    pooled = stats.ttest_ind(weighted, equal, equal_var=True).confidence_interval(0.95)
    return [
        ("reversed", tuple(-v for v in reversed(_t(d, t))), "equal - weighted"),
        ("welch", (welch.low, welch.high), "pair the runs by seed"),
        ("pooled", (pooled.low, pooled.high), "pair the runs by seed"),
        ("normal", _t(d, 1.959964), "Student's t"),
        ("spread", (d.mean() - d.std(ddof=1), d.mean() + d.std(ddof=1)), "spread of the differences"),
        ("standard error", _t(d, 1.0), "68%"),
        ("percent", _t(100 * d / equal, t), "percent"),
        ("rounded", tuple(round(v, 2) for v in _t(d, t)), "unrounded"),
    ]


@pytest.mark.parametrize(("label", "interval", "words"), _wrong_intervals(), ids=[w[0] for w in _wrong_intervals()])
def test_ex5_wrong_intervals_get_hints(label: str, interval: object, words: str) -> None:
    weighted, equal = _ex5_values()
    result = _check(_ex5_answer(weighted, equal, interval=interval))
    assert not result.passed and result.attempted, label
    assert words in result.message, result.message


def test_ex5_the_spread_rule_is_not_the_books() -> None:
    """The first edition called a difference clear only when |mean| > std of the differences.

    With 10 seeds that rule is stricter than the interval: a difference whose
    interval excludes zero but whose mean is below the spread was "no clear
    difference" there. The check asks for the interval's verdict.
    """
    rng = np.random.default_rng(3)
    for _ in range(200):
        equal = 0.08 + 0.02 * rng.random(10)
        weighted = equal + 0.008 + 0.012 * rng.standard_normal(10)
        d = weighted - equal
        answer = _ex5_answer(weighted, equal)
        if abs(d.mean()) < d.std(ddof=1) and answer["conclusion"] != "no clear difference":
            break
    else:  # pragma: no cover
        pytest.fail("no sample where the two rules disagree")
    result = _check(answer | {"conclusion": "no clear difference"})
    assert not result.passed and "excludes 0" in result.message


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ("few_seeds", "at least 10"),
        ("unpaired_seeds", "not paired"),
        ("duplicate", "appears twice"),
        ("labels", "label the runs"),
        ("same", "same value in every seed"),
        ("clear_wrong", "includes 0"),
        ("direction", "check the direction"),
        ("clear_text", "should be one of"),
        ("missing_key", "missing the keys"),
        ("not_a_dict", "dict"),
        ("not_a_number", "should be a number"),
    ],
)
def test_ex5_protocol_slips_get_hints(change: str, words: str) -> None:
    weighted, equal = _ex5_values()
    answer = _ex5_answer(weighted, equal)
    if change == "few_seeds":
        answer = _ex5_answer(weighted[:5], equal[:5])
    elif change == "unpaired_seeds":  # the weighted runs used other seeds than the equal ones
        answer["records"] = [r | {"seed": r["seed"] + 10} if r["method"] == "weighted" else r for r in answer["records"]]
    elif change == "duplicate":
        answer["records"] = answer["records"] + answer["records"][:1]
    elif change == "labels":
        answer["records"] = [r | {"method": r["method"].upper()} for r in answer["records"]]
    elif change == "same":
        answer = _ex5_answer(equal, equal)
    elif change == "clear_wrong":  # the interval of these values includes 0
        answer = _ex5_answer(*_ex5_values(shift=0.0)) | {"conclusion": "equal better"}
    elif change == "direction":
        answer["conclusion"] = "weighted better"
    elif change == "clear_text":
        answer["conclusion"] = True
    elif change == "missing_key":
        del answer["conclusion"]
    elif change == "not_a_dict":
        answer = (answer["interval"], answer["conclusion"])
    elif change == "not_a_number":
        answer["records"][0] = answer["records"][0] | {"y2": "small"}
    result = _check(answer)
    assert not result.passed and result.attempted, change
    assert words in result.message, result.message


def test_ex5_verdict_does_not_trust_a_patched_stats_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """An answer cell that lowers MIN_SEEDS or replaces compare_paired changes nothing the check decides."""
    import mtl_helpers
    import mtl_helpers.stats

    weighted, equal = _ex5_values(n=5)
    answer = _ex5_answer(weighted, equal)
    monkeypatch.setattr(mtl_helpers.stats, "MIN_SEEDS", 2)
    monkeypatch.setattr(mtl_helpers, "MIN_SEEDS", 2)
    monkeypatch.setattr(mtl_helpers.stats, "compare_paired", lambda *a, **k: None)
    assert not _check(answer).passed


def test_higher_is_better_flips_the_verdict() -> None:
    weighted, equal = _ex5_values()
    answer = _ex5_answer(weighted, equal)  # weighted has the higher values
    assert answer["conclusion"] == "equal better"
    accuracy = check_paired_comparison(answer | {"conclusion": "weighted better"}, methods=("weighted", "equal"),
                                       metric="y2", lower_is_better=False)
    assert accuracy.passed, accuracy.message


def test_records_of_other_methods_are_ignored() -> None:
    weighted, equal = _ex5_values()
    answer = _ex5_answer(weighted, equal)
    answer["records"] = answer["records"] + [{"method": "third", "seed": 0, "y2": 1.0}]
    assert _check(answer).passed


def test_method_labels_with_capitals() -> None:
    from mtl_helpers import compare_paired

    weighted, equal = _ex5_values()
    comparison = compare_paired(weighted, equal, names=("MMoE", "Shared bottom"))
    records = [{"method": m, "seed": s, "y2": float(v)} for m, values in (("MMoE", weighted), ("Shared bottom", equal))
               for s, v in enumerate(values)]
    answer = {"records": records, "interval": (comparison.low, comparison.high), "conclusion": comparison.verdict}
    result = check_paired_comparison(answer, methods=("MMoE", "Shared bottom"), metric="y2")
    assert result.passed, result.message
    assert check_paired_comparison(answer | {"conclusion": "shared bottom better"}, methods=("MMoE", "Shared bottom"),
                                   metric="y2").passed
