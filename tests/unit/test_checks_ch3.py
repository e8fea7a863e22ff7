"""The self-checks of chapter 3: right answers pass, wrong ones get a hint that names the problem."""

from __future__ import annotations

import numpy as np
import pytest

from mtl_helpers import TwoHeadNet, article_batch, article_weights, tf
from mtl_helpers.alternating import coin_flip_schedule
from mtl_helpers.checks import evaluate
from mtl_helpers.checks.ch3 import EX2_SEED, EX2_STEPS, EX4_BATCH_SEED, EX4_WEIGHTS_SEED


class _Stub:
    """Stands for an answer computed by a student's stub that raises NotImplementedError."""

    def __iter__(self) -> object:
        raise NotImplementedError()


@pytest.mark.parametrize("exercise", ["ch3.ex1", "ch3.ex2", "ch3.ex3", "ch3.ex4"])
def test_none_is_not_attempted(exercise: str) -> None:
    result = evaluate(exercise, None)
    assert not result.passed and not result.attempted
    assert "not attempted" in result.message


def test_a_stub_that_raises_is_not_attempted() -> None:
    result = evaluate("ch3.ex1", _Stub())
    assert not result.passed and not result.attempted


# ---------------------------------------------------------------- exercise 1: variables a y2 step changes


def test_ex1_right_answer_passes_in_any_order_and_as_variables() -> None:
    assert evaluate("ch3.ex1", ["shared", "y2", "shared_bias", "y2_bias"]).passed
    assert evaluate("ch3.ex1", {"y2_bias", "shared_bias", "y2", "shared"}).passed
    net = TwoHeadNet(head_units=1, output_activation="linear", use_bias=True)
    assert evaluate("ch3.ex1", net.trainable_for("y2")).passed


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (["shared", "y2"], "misses 2 names"),
        (["shared", "y1", "y2", "shared_bias", "y2_bias"], "includes 'y1', which should not be there"),
        (["y2", "y2_bias"], "misses"),
        (["shared", "y2", "shared_bias", "y2_bias", "y2"], "more than once"),
        (["shared", "head_y2"], "not one of"),
        ("shared", "not one string"),
        (3, "list or set of names"),
    ],
)
def test_ex1_wrong_answers_get_hints(answer: object, words: str) -> None:
    result = evaluate("ch3.ex1", answer)
    assert not result.passed and result.attempted
    assert words in result.message


# ---------------------------------------------------------------- exercise 2: steps per optimizer


def _ex2_counts() -> dict[str, int]:
    schedule = coin_flip_schedule(EX2_STEPS, seed=EX2_SEED)
    return {task: schedule.count(task) for task in ("y1", "y2")}


def test_ex2_right_answer_passes() -> None:
    counts = _ex2_counts()
    assert evaluate("ch3.ex2", counts).passed
    assert evaluate("ch3.ex2", {task: np.int64(count) for task, count in counts.items()}).passed
    assert evaluate("ch3.ex2", {task: tf.constant(count, tf.int64) for task, count in counts.items()}).passed


def test_ex2_wrong_answers_get_hints() -> None:
    counts = _ex2_counts()
    assert counts["y1"] != counts["y2"], "the exercise's schedule should not split evenly"
    cases = [
        ({"y1": counts["y2"], "y2": counts["y1"]}, "swapped"),
        ({"y1": counts["y1"] + 1, "y2": counts["y2"]}, "add up to"),
        ({"y1": counts["y1"] + 1, "y2": counts["y2"] - 1}, "off by one"),
        ({"y1": 2 * counts["y1"], "y2": 2 * counts["y2"]}, "add up to"),
        ({"y1": counts["y1"] + 0.5, "y2": counts["y2"] - 0.5}, "whole number"),
        ({"y1": counts["y1"]}, "missing the key 'y2'"),
        ([counts["y1"], counts["y2"]], "should be a dict"),
    ]
    for answer, words in cases:
        result = evaluate("ch3.ex2", answer)
        assert not result.passed and result.attempted, answer
        assert words in result.message, (answer, result.message)


def test_ex2_hints_do_not_reveal_the_counts() -> None:
    counts = _ex2_counts()
    for answer in ({"y1": counts["y2"], "y2": counts["y1"]}, {"y1": 0, "y2": EX2_STEPS}):
        message = evaluate("ch3.ex2", answer).message
        assert str(counts["y1"]) not in message and str(counts["y2"]) not in message


# ---------------------------------------------------------------- exercise 3: the noise floor


EX3_RIGHT = 0.5 * 10 * 20 * 10.0**2 / 12


def test_ex3_right_answer_passes() -> None:
    assert evaluate("ch3.ex3", EX3_RIGHT).passed
    assert evaluate("ch3.ex3", 833.3).passed  # rounded
    assert evaluate("ch3.ex3", np.float32(EX3_RIGHT)).passed
    assert evaluate("ch3.ex3", tf.constant(EX3_RIGHT)).passed


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (2 * EX3_RIGHT, "factor of 2"),
        (-EX3_RIGHT, "wrong sign"),
        (10.0**2 / 12, "one target value"),
        (0.5 * 10.0**2 / 12, "one target value"),
        (0.5 * 200 * 10.0**2 / 3, "predicting 0"),
        (0.0, "noise"),
        (123.0, "not the expected value"),
        ("a lot", "text"),
        (np.array([EX3_RIGHT, EX3_RIGHT]), "single number"),
    ],
)
def test_ex3_wrong_answers_get_hints(answer: object, words: str) -> None:
    result = evaluate("ch3.ex3", answer)
    assert not result.passed and result.attempted
    assert words in result.message
    assert "833" not in result.message


# ---------------------------------------------------------------- exercise 4: Adam's first step


def _ex4_gradient() -> np.ndarray:
    net = TwoHeadNet(weights=article_weights(np.random.default_rng(EX4_WEIGHTS_SEED)))
    batch = article_batch(np.random.default_rng(EX4_BATCH_SEED))
    with tf.GradientTape() as tape:
        loss = net.losses({"x": batch["x"], "y1": batch["y1"]})["y1"]
    return tape.gradient(loss, net.shared).numpy().astype(np.float64)


def _adam_first_step(gradient: np.ndarray, *, bias_correction: bool = True) -> np.ndarray:
    m, v = 0.1 * gradient, 0.001 * gradient**2
    if bias_correction:
        m, v = m / 0.1, v / 0.001
    return -0.001 * m / (np.sqrt(v) + 1e-8)


def test_ex4_right_answer_passes() -> None:
    gradient = _ex4_gradient()
    assert evaluate("ch3.ex4", _adam_first_step(gradient)).passed
    assert evaluate("ch3.ex4", -0.001 * np.sign(gradient)).passed  # the same, up to epsilon
    assert evaluate("ch3.ex4", tf.constant(_adam_first_step(gradient), tf.float32)).passed


def test_ex4_wrong_answers_get_hints() -> None:
    gradient = _ex4_gradient()
    right = _adam_first_step(gradient)
    cases = [
        (-right, "wrong sign"),
        (-0.001 * gradient, "plain gradient-descent step"),
        (_adam_first_step(gradient, bias_correction=False), "bias correction"),
        (2 * right, "factor of 2"),
        (right.T, "transposed"),
        (right[:5], "shape (5, 20)"),
        (right * np.where(np.arange(200).reshape(10, 20) < 3, 3.0, 1.0), "3 of 200 values differ"),
        ("step", "numbers"),
    ]
    for answer, words in cases:
        result = evaluate("ch3.ex4", answer)
        assert not result.passed and result.attempted, words
        assert words in result.message, (words, result.message)


def test_ex4_hint_does_not_reveal_the_step_size() -> None:
    message = evaluate("ch3.ex4", 2 * _adam_first_step(_ex4_gradient())).message
    assert "0.001" not in message
