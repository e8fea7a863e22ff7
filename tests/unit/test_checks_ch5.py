"""Self-checks of chapter 5's exercises: right answers pass, wrong ones get a hint naming the problem."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import mtl_helpers
from mtl_helpers import Results, compare_paired
from mtl_helpers.checks import evaluate
from mtl_helpers.checks.ch5 import EX1_SIZES, EX1_TEMPERATURE, EX5_METHODS, EX5_METRIC


def _stub(*args, **kwargs):
    raise NotImplementedError()


@pytest.mark.parametrize("exercise", ["ch5.ex1", "ch5.ex2", "ch5.ex3", "ch5.ex4", "ch5.ex5"])
def test_unattempted(exercise) -> None:
    for answer in (None,) if exercise in ("ch5.ex1", "ch5.ex5") else (None, _stub):
        result = evaluate(exercise, answer)
        assert not result.passed and not result.attempted


# Exercise 1: temperature sampling's share for y2 -------------------------------------------------------------


def _share(exponent: float) -> float:
    powered = {task: size**exponent for task, size in EX1_SIZES.items()}
    return powered["y2"] / sum(powered.values())


def test_ex1_right_answer_passes() -> None:
    assert evaluate("ch5.ex1", _share(1 / EX1_TEMPERATURE)).passed
    assert evaluate("ch5.ex1", np.float32(_share(1 / EX1_TEMPERATURE))).passed


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (_share(1.0), "proportional"),
        (_share(EX1_TEMPERATURE), "1/T, not T"),
        (1 - _share(1 / EX1_TEMPERATURE), "y1's share"),
        (0.5, "uniform"),
        (2 * _share(1 / EX1_TEMPERATURE) + 0.01, "not yet"),
        (-_share(1 / EX1_TEMPERATURE), "between 0 and 1"),
        (100 * _share(1 / EX1_TEMPERATURE), "between 0 and 1"),
        ("0.3", "one number"),
        ([0.3, 0.7], "one number"),
    ],
)
def test_ex1_wrong_answers_get_hints(answer, words) -> None:
    result = evaluate("ch5.ex1", answer)
    assert not result.passed and result.attempted
    assert words in result.message


# Exercise 2: the idle task's rise per block ------------------------------------------------------------------


def _rises(log, block, *, sign=1.0, trained=False, neighbours=False, swap_keys=False):
    positions = {int(step): i for i, step in enumerate(log.eval_step)}
    rises = {"y1": [], "y2": []}
    for start in range(0, len(log.task), block):
        measured = log.task[start] if trained else ("y2" if log.task[start] == "y1" else "y1")
        end = positions[start] + 1 if neighbours else positions[start + block]
        rises[measured].append(log.eval_metric[measured][end] - log.eval_metric[measured][positions[start]])
    result = {task: sign * float(np.mean(values)) for task, values in rises.items()}
    return {"y1": result["y2"], "y2": result["y1"]} if swap_keys else result


def test_ex2_right_answer_passes() -> None:
    assert evaluate("ch5.ex2", _rises).passed


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (lambda log, block: _rises(log, block, sign=-1.0), "signs are flipped"),
        (lambda log, block: _rises(log, block, trained=True), "NOT trained"),
        (lambda log, block: _rises(log, block, swap_keys=True), "keys are swapped"),
        (lambda log, block: _rises(log, block, neighbours=True), "neighbouring evaluations"),
        (lambda log, block: {k: 2 * v for k, v in _rises(log, block).items()}, "not yet"),
        (lambda log, block: [0.1, 0.2], "dict with keys"),
        (lambda log, block: {"y1": float("nan"), "y2": 0.0}, "finite number"),
        (lambda log, block: 1 / 0, "ZeroDivisionError"),
        (0.3, "pass the function itself"),
    ],
)
def test_ex2_wrong_answers_get_hints(answer, words) -> None:
    result = evaluate("ch5.ex2", answer)
    assert not result.passed and result.attempted
    assert words in result.message


# Exercise 3: standardising targets ----------------------------------------------------------------------------


def _standardise(train, test, *, stats_from=None, ddof=0, power=1.0, centre=True, touch_x=False, in_place=False):
    def scale(data, source):
        out = data if in_place else dict(data)
        for task in ("y1", "y2"):
            mean = source[task].mean(axis=0) if centre else 0.0
            out[task] = (data[task] - mean) / source[task].std(axis=0, ddof=ddof) ** power
        if touch_x:
            out["x"] = (data["x"] - data["x"].mean(axis=0)) / data["x"].std(axis=0)
        return out

    return scale(train, train), scale(test, train if stats_from is None else test)


def test_ex3_right_answers_pass() -> None:
    assert evaluate("ch5.ex3", _standardise).passed
    assert evaluate("ch5.ex3", lambda train, test: _standardise(train, test, ddof=1)).passed  # sample std is fine too


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (lambda train, test: _standardise(train, test, stats_from="test"), "its own statistics"),
        (lambda train, test: _standardise(train, test, power=2.0), "variance"),
        (lambda train, test: _standardise(train, test, centre=False), "not centred"),
        (lambda train, test: _standardise(train, test, touch_x=True), "leave the inputs 'x' unchanged"),
        (lambda train, test: _standardise(train, test, in_place=True), "changed its input dicts"),
        (lambda train, test: _standardise(train, test)[0], "pair"),
        (lambda train, test: ({"x": train["x"]}, test), "keys"),
        (lambda train, test: ({**train, "y1": train["y1"] / 100}, test), "not standardised"),
    ],
)
def test_ex3_wrong_answers_get_hints(answer, words) -> None:
    result = evaluate("ch5.ex3", answer)
    assert not result.passed and result.attempted
    assert words in result.message


# Exercise 4: the weights uncertainty weighting settles at ----------------------------------------------------


def test_ex4_right_answer_passes() -> None:
    assert evaluate("ch5.ex4", lambda losses: {task: 1.0 / loss for task, loss in losses.items()}).passed


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (lambda losses: {t: float(np.log(v)) for t, v in losses.items()}, "log-variances"),
        (lambda losses: dict(losses), "smaller weight"),
        (lambda losses: {t: 0.5 / v for t, v in losses.items()}, "factor of 0.5"),
        (lambda losses: {t: 2.0 / v for t, v in losses.items()}, "factor of 2"),
        (lambda losses: {t: 1.0 / v**2 for t, v in losses.items()}, "not yet"),
        (lambda losses: 1.0, "dict with keys"),
        (lambda losses: {"y1": 1.0}, "dict with keys"),
    ],
)
def test_ex4_wrong_answers_get_hints(answer, words) -> None:
    result = evaluate("ch5.ex4", answer)
    assert not result.passed and result.attempted
    assert words in result.message


@pytest.mark.parametrize("exercise", ["ch5.ex1", "ch5.ex2", "ch5.ex3", "ch5.ex4"])
def test_hints_never_print_the_expected_numbers(exercise) -> None:
    expected = f"{_share(1 / EX1_TEMPERATURE):.3g}"
    for answer in (0.5, lambda *args: {"y1": 0.0, "y2": 0.0}):
        assert expected not in evaluate(exercise, answer).message


# Exercise 5 (open): the protocol of a paired comparison ------------------------------------------------------
# (tests/unit/test_protocol*.py, if present, test every slip of the shared check; here: ch5's labels and metric)


def _ex5_runs(n_seeds=10, *, seed=0):
    """Made-up per-seed errors of both methods: uncertainty clearly worse than plain, paired by seed."""
    rng = np.random.default_rng(seed)
    plain = rng.uniform(0.01, 0.03, size=n_seeds)
    uncertainty = plain * rng.uniform(1.1, 1.4, size=n_seeds)
    return uncertainty, plain


def _ex5_answer(uncertainty, plain, *, interval=None, conclusion=None, methods=EX5_METHODS):
    results = Results()
    for seed, (u, p) in enumerate(zip(uncertainty, plain, strict=True)):
        results.add(method=methods[0], seed=seed, **{EX5_METRIC: float(u)})
        results.add(method=methods[1], seed=seed, **{EX5_METRIC: float(p)})
    comparison = compare_paired(uncertainty, plain, names=EX5_METHODS)
    verdict = "no clear difference" if not comparison.clear else "uncertainty better" if comparison.mean < 0 else "plain better"
    return {
        "records": results,
        "interval": (comparison.low, comparison.high) if interval is None else interval,
        "conclusion": verdict if conclusion is None else conclusion,
    }


def test_ex5_right_answers_pass() -> None:
    uncertainty, plain = _ex5_runs()
    assert compare_paired(uncertainty, plain).clear
    assert evaluate("ch5.ex5", _ex5_answer(uncertainty, plain)).passed
    same = plain * np.array([1.01, 0.99] * 5)  # no clear difference
    assert not compare_paired(same, plain).clear
    assert evaluate("ch5.ex5", _ex5_answer(same, plain)).passed


def _interval(values, quantile):
    half = quantile * values.std(ddof=1) / np.sqrt(values.size)
    return values.mean() - half, values.mean() + half


def _wrong_intervals():
    uncertainty, plain = _ex5_runs()
    d = uncertainty - plain
    t = stats.t.ppf(0.975, d.size - 1)
    welch = stats.ttest_ind(uncertainty, plain, equal_var=False).confidence_interval(0.95)
    return {
        "flipped": ((-_interval(d, t)[1], -_interval(d, t)[0]), "interval of plain - uncertainty"),
        "unpaired": ((welch.low, welch.high), "independent samples"),
        "normal": (_interval(d, stats.norm.ppf(0.975)), "Student's t"),
        "spread": ((d.mean() - d.std(ddof=1), d.mean() + d.std(ddof=1)), "spread of the differences"),
        "one SE": (_interval(d, 1.0), "68%"),
        "percent": (_interval(100 * d / plain, t), "percent"),
        "made up": ((-1.0, 1.0), "not the 95% t-interval"),
    }


@pytest.mark.parametrize("slip", list(_wrong_intervals()))
def test_ex5_wrong_intervals_get_hints(slip) -> None:
    interval, words = _wrong_intervals()[slip]
    result = evaluate("ch5.ex5", _ex5_answer(*_ex5_runs(), interval=interval))
    assert not result.passed and result.attempted
    assert words in result.message


def test_ex5_protocol_slips_get_hints() -> None:
    uncertainty, plain = _ex5_runs()
    same = plain * np.array([1.01, 0.99] * 5)
    cases = {
        "paired seeds": _ex5_answer(*_ex5_runs(5)),
        "same value in every seed": _ex5_answer(plain, plain),
        "the difference is clear": _ex5_answer(uncertainty, plain, conclusion="no clear difference"),
        "the interval includes 0": _ex5_answer(same, plain, conclusion="plain better"),
        "check the direction": _ex5_answer(uncertainty, plain, conclusion="uncertainty better"),
        "should be one of": _ex5_answer(uncertainty, plain, conclusion="clear"),
        "label the runs": _ex5_answer(uncertainty, plain, methods=("weighted", "plain")),
        "two numbers": _ex5_answer(uncertainty, plain, interval=0.1),
        "missing the keys": {"records": []},
    }
    for words, answer in cases.items():
        result = evaluate("ch5.ex5", answer)
        assert not result.passed and words in result.message, (words, result.message)


def test_ex5_unpaired_or_repeated_runs_get_hints() -> None:
    answer = _ex5_answer(*_ex5_runs())
    records = answer["records"].records
    only_one = [r for r in records if not (r["method"] == "plain" and r["seed"] == 3)]
    assert "not paired" in evaluate("ch5.ex5", {**answer, "records": only_one}).message
    twice = [*records, records[0]]
    assert "appears twice" in evaluate("ch5.ex5", {**answer, "records": twice}).message


def test_checks_do_not_trust_what_an_answer_cell_can_change(monkeypatch) -> None:
    """Replacing the package's helpers in a notebook does not change a verdict."""
    monkeypatch.setattr(mtl_helpers.stats, "MIN_SEEDS", 2)
    monkeypatch.setattr(mtl_helpers, "MIN_SEEDS", 2)
    monkeypatch.setattr(mtl_helpers.sampling.TemperatureSampler, "probabilities", property(lambda self: {"y1": 0.5, "y2": 0.5}))
    monkeypatch.setattr(mtl_helpers.scaling.TargetScaler, "transform", lambda self, data: dict(data))
    monkeypatch.setattr(mtl_helpers.weighting.uncertainty, "uncertainty_weighted_loss", lambda losses, s: 0.0)
    assert "paired seeds" in evaluate("ch5.ex5", _ex5_answer(*_ex5_runs(5))).message
    assert not evaluate("ch5.ex1", 0.5).passed and evaluate("ch5.ex1", _share(1 / EX1_TEMPERATURE)).passed
    assert not evaluate("ch5.ex3", lambda train, test: (dict(train), dict(test))).passed
    assert evaluate("ch5.ex3", _standardise).passed
    assert evaluate("ch5.ex4", lambda losses: {task: 1.0 / loss for task, loss in losses.items()}).passed
