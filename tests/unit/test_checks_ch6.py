"""Self-checks of chapter 6's exercises: right answers pass, the plausible wrong methods get a hint naming the slip."""

from __future__ import annotations

import numpy as np
import pytest

from mtl_helpers import PCGrad, TrainingLog, compare_paired, tf
from mtl_helpers.checks import evaluate
from mtl_helpers.checks.ch6 import EX2_CASES, EX3_TAIL, EX4_METHODS, _ex1_cases, _pcgrad


def _stub(*args, **kwargs):
    raise NotImplementedError()


@pytest.mark.parametrize("exercise", ["ch6.ex1", "ch6.ex2", "ch6.ex3", "ch6.ex4"])
@pytest.mark.parametrize("answer", [None, _stub])
def test_unattempted(exercise: str, answer: object) -> None:
    if exercise == "ch6.ex4" and answer is _stub:
        answer = None  # the open exercise's answer is a dict, left as None in the student edition
    result = evaluate(exercise, answer)
    assert not result.passed and not result.attempted


# ---------------------------------------------------------------- exercise 1: PCGrad for any number of tasks


def _pcgrad_answer(jacobian, order, *, onto_projected=False, original_test=False, always=False, natural=False):
    jacobian = np.asarray(jacobian, dtype=np.float64)
    projected = jacobian.copy()
    order = list(range(len(jacobian))) if natural else order
    for i in range(len(jacobian)):
        for j in order:
            if j == i:
                continue
            other = projected[j] if onto_projected else jacobian[j]
            test = jacobian[i] if original_test else projected[i]
            if always or test @ other < 0:
                projected[i] = projected[i] - (projected[i] @ other) / (other @ other) * other
    return projected.sum(axis=0)


def test_ex1_reference_is_the_package_pcgrad() -> None:
    """The check's reference, given PCGrad's own order, is mtl_helpers.PCGrad."""
    for jacobian, _ in _ex1_cases():
        pcgrad = PCGrad(seed=3)
        order = [int(task) for task in pcgrad.order(len(jacobian), 0).numpy()]
        direction = pcgrad(tf.constant(jacobian, tf.float32)).numpy()
        np.testing.assert_allclose(_pcgrad(jacobian, order), direction, rtol=1e-5, atol=1e-6)


def test_ex1_right_answers_pass() -> None:
    assert evaluate("ch6.ex1", _pcgrad_answer).passed
    assert evaluate("ch6.ex1", lambda j, o: tf.constant(_pcgrad_answer(j, o))).passed  # a tensor is fine


@pytest.mark.parametrize(
    ("answer_fn", "words"),
    [
        (lambda j, o: np.asarray(j).sum(axis=0), "plain sum"),
        (lambda j, o: _pcgrad_answer(j, o) / len(j), "mean"),
        (lambda j, o: _pcgrad_answer(j, o, always=True), "not always"),
        (lambda j, o: _pcgrad_answer(j, o, onto_projected=True), "original gradients"),
        (lambda j, o: _pcgrad_answer(j, o, original_test=True), "current (already projected)"),
        (lambda j, o: _pcgrad_answer(j, o, natural=True), "order given"),
        (lambda j, o: np.tile(_pcgrad_answer(j, o), (len(j), 1)) / len(j), "one row per task"),
        (lambda j, o: -_pcgrad_answer(j, o), "wrong sign"),
        (lambda j, o: "direction", "array of numbers"),
        (lambda j, o: 1 / 0, "ZeroDivisionError"),
        (np.zeros(3), "function itself"),
    ],
)
def test_ex1_wrong_methods_get_hints(answer_fn, words: str) -> None:
    result = evaluate("ch6.ex1", answer_fn)
    assert not result.passed and result.attempted
    assert words in result.message, result.message


def test_ex1_cases_tell_every_slip_apart() -> None:
    """Each slip gives a different direction from the right one in at least one case."""
    slips = [{"onto_projected": True}, {"original_test": True}, {"always": True}, {"natural": True}]
    for slip in slips:
        assert any(
            not np.allclose(_pcgrad_answer(j, o, **slip), _pcgrad(j, o), rtol=1e-4, atol=1e-6) for j, o in _ex1_cases()
        ), slip


# ---------------------------------------------------------------- exercise 2: the two-task MGDA weight


def _alpha(r: float, c: float, *, clip: bool = True) -> float:
    denominator = 1 - 2 * r * c + r * r
    if denominator == 0:
        return 0.5
    value = (1 - r * c) / denominator
    return float(np.clip(value, 0.0, 1.0)) if clip else float(value)


def _alpha_from_vectors(r: float, c: float) -> float:
    """The page's route: build two gradients with that ratio and cosine, take MGDA's dot-product formula."""
    g2 = np.array([1.0, 0.0])
    g1 = r * np.array([c, np.sqrt(1 - c * c)])
    return float(np.clip((g2 - g1) @ g2 / ((g1 - g2) @ (g1 - g2)), 0.0, 1.0))


def test_ex2_right_answers_pass() -> None:
    assert evaluate("ch6.ex2", _alpha).passed
    assert evaluate("ch6.ex2", _alpha_from_vectors).passed
    assert evaluate("ch6.ex2", lambda r, c: np.float32(_alpha(r, c))).passed


def test_ex2_cases_include_both_clipped_ends_and_a_conflict() -> None:
    raw = [_alpha(r, c, clip=False) for r, c in EX2_CASES]
    assert min(raw) < 0 and max(raw) > 1
    assert any(c < 0 for _, c in EX2_CASES)


@pytest.mark.parametrize(
    ("answer_fn", "words"),
    [
        (lambda r, c: 1 - _alpha(r, c), "task 2's weight"),
        (lambda r, c: _alpha(r, c, clip=False), "clip alpha"),
        (lambda r, c: _alpha(r, -c), "sign of the cosine"),
        (lambda r, c: _alpha(1 / r, c), "task 2's weight"),  # 1/r swaps the tasks
        (lambda r, c: 0.5, "not yet"),
        (lambda r, c: (1 - r * c) / (1 + r * r), "not yet"),
        (lambda r, c: [0.5, 0.5], "one finite number"),
        (lambda r, c: float("nan"), "one finite number"),
        (0.5, "function itself"),
    ],
)
def test_ex2_wrong_answers_get_hints(answer_fn, words: str) -> None:
    result = evaluate("ch6.ex2", answer_fn)
    assert not result.passed and result.attempted
    assert words in result.message, result.message


# ---------------------------------------------------------------- exercise 3: where GradNorm settles


def _share(log: TrainingLog) -> np.ndarray:
    return np.asarray(log.weights["y1"]) / (np.asarray(log.weights["y1"]) + np.asarray(log.weights["y2"]))


def test_ex3_right_answers_pass() -> None:
    assert evaluate("ch6.ex3", lambda log: _share(log)[-EX3_TAIL:].mean()).passed
    assert evaluate("ch6.ex3", lambda log: tf.reduce_mean(tf.constant(_share(log)[-EX3_TAIL:]))).passed


@pytest.mark.parametrize(
    ("answer_fn", "words"),
    [
        (lambda log: _share(log).mean(), "whole run"),
        (lambda log: _share(log)[-1], "last step alone"),
        (lambda log: np.asarray(log.weights["y1"])[-EX3_TAIL:].mean(), "sum to 2"),
        (lambda log: 1 - _share(log)[-EX3_TAIL:].mean(), "y2's share"),
        (lambda log: np.mean(log.weights["y1"][-EX3_TAIL:] / log.weights["y2"][-EX3_TAIL:]), "ratio"),
        (lambda log: np.median(_share(log)[-EX3_TAIL:]), "not yet"),
        (lambda log: _share(log)[-EX3_TAIL:], "one number"),
        (lambda log: log.weights["y3"], "KeyError"),
    ],
)
def test_ex3_wrong_methods_get_hints(answer_fn, words: str) -> None:
    result = evaluate("ch6.ex3", answer_fn)
    assert not result.passed and result.attempted
    assert words in result.message, result.message


# ---------------------------------------------------------------- exercise 4 (open): the protocol


def _ex4_answer(shift: float = 0.0, n: int = 10, **changes: object) -> dict:
    rng = np.random.default_rng(4)
    plain = 0.15 + 0.02 * rng.random(n)
    pcgrad = plain + shift + 0.01 * rng.standard_normal(n)
    records = [{"method": "sum", "seed": seed, "test": float(value)} for seed, value in enumerate(plain)]
    records += [{"method": "pcgrad", "seed": seed, "test": float(value)} for seed, value in enumerate(pcgrad)]
    comparison = compare_paired(pcgrad, plain, names=EX4_METHODS)
    answer = {"records": records, "interval": (comparison.low, comparison.high), "conclusion": comparison.verdict}
    return answer | changes


@pytest.mark.parametrize("shift", [0.0, 0.03, -0.03])
def test_ex4_right_answers_pass(shift: float) -> None:
    result = evaluate("ch6.ex4", _ex4_answer(shift))
    assert result.passed, result.message


def test_ex4_checks_the_protocol() -> None:
    unpaired = _ex4_answer()
    unpaired["records"] = [r for r in unpaired["records"] if not (r["method"] == "sum" and r["seed"] == 0)]
    assert "not paired" in evaluate("ch6.ex4", unpaired).message
    assert "seeds" in evaluate("ch6.ex4", _ex4_answer(n=5)).message
    reversed_interval = _ex4_answer(0.03)
    low, high = reversed_interval["interval"]
    reversed_interval["interval"] = (-high, -low)
    assert not evaluate("ch6.ex4", reversed_interval).passed
    assert not evaluate("ch6.ex4", _ex4_answer(0.03, conclusion="no clear difference")).passed
    assert not evaluate("ch6.ex4", _ex4_answer(0.0, conclusion="pcgrad better")).passed
