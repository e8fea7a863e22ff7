"""The self-checks of chapter 3: right answers pass, wrong ones get a hint that names the problem."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from check_answers import paired_answer

from mtl_helpers import AlternatingTrainer, CoinFlip, TwoHeadNet, article_batch, article_weights, tf
from mtl_helpers.checks import evaluate
from mtl_helpers.checks.ch3 import EX2_SEED, EX2_STEPS, EX4_BATCH_SEED, EX4_WEIGHTS_SEED


class _Stub:
    """Stands for an answer computed by a student's stub that raises NotImplementedError."""

    def __iter__(self) -> object:
        raise NotImplementedError()


@pytest.mark.parametrize("exercise", ["ch3.ex1", "ch3.ex2", "ch3.ex3", "ch3.ex4", "ch3.ex5"])
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
    schedule = CoinFlip(seed=EX2_SEED).schedule(EX2_STEPS)
    return {task: int(np.sum(schedule == task)) for task in ("y1", "y2")}


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


def test_ex3_exact_answers_pass() -> None:
    assert evaluate("ch3.ex3", EX3_RIGHT).passed
    assert evaluate("ch3.ex3", Fraction(1, 2) * 10 * 20 * Fraction(10**2, 12)).passed
    assert evaluate("ch3.ex3", np.float32(0.5) * np.float32(200) * np.float32(100 / 12)).passed  # float32 rounding
    assert evaluate("ch3.ex3", tf.constant(EX3_RIGHT)).passed
    assert evaluate("ch3.ex3", np.float64(EX3_RIGHT)).passed


def _monte_carlo(batches: int, seed: int = 0, *, own_mean: bool = False) -> float:
    """A sampling estimate of the expected l2_loss of the best constant (or of each batch's own mean)."""
    targets = np.random.default_rng(seed).random((batches, 10, 20)) * 10
    prediction = targets.mean(axis=1, keepdims=True) if own_mean else 5.0
    return float(np.mean(0.5 * np.sum((targets - prediction) ** 2, axis=(1, 2))))


@pytest.mark.parametrize("batches", [1_000, 100_000])
def test_ex3_a_monte_carlo_estimate_does_not_pass(batches: int) -> None:
    estimate = _monte_carlo(batches)
    assert abs(estimate / EX3_RIGHT - 1) < 0.01, "the estimate should be close, or the test proves nothing"
    result = evaluate("ch3.ex3", estimate)
    assert not result.passed and result.attempted
    assert "not exact" in result.message and "sampling" in result.message
    assert "833" not in result.message


def test_ex3_rounded_and_wrong_fractions_do_not_pass() -> None:
    for answer in (833.3, 833.33, Fraction(833)):
        result = evaluate("ch3.ex3", answer)
        assert not result.passed and "not exact" in result.message, answer


def test_ex3_each_batch_s_own_mean_is_diagnosed_as_such() -> None:
    """The loss of predicting each batch's own means is 9/10 of the answer: a cause, not a scale slip."""
    for answer in (0.9 * EX3_RIGHT, _monte_carlo(20_000, own_mean=True)):
        result = evaluate("ch3.ex3", answer)
        assert not result.passed and "own column means" in result.message, result.message
        assert "scale" not in result.message


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
        (True, "truth value"),
    ],
)
def test_ex3_wrong_answers_get_hints(answer: object, words: str) -> None:
    result = evaluate("ch3.ex3", answer)
    assert not result.passed and result.attempted
    assert words in result.message, result.message
    assert "833" not in result.message


# ---------------------------------------------------------------- exercise 4: Adam's first step


def _ex4_setup() -> tuple[TwoHeadNet, dict[str, np.ndarray]]:
    return (TwoHeadNet(weights=article_weights(np.random.default_rng(EX4_WEIGHTS_SEED))),
            article_batch(np.random.default_rng(EX4_BATCH_SEED)))


def right(gradient, learning_rate, epsilon):
    m, v = 0.1 * gradient, 0.001 * gradient**2
    return -learning_rate * (m / 0.1) / (np.sqrt(v / 0.001) + epsilon)


def test_ex4_right_answers_pass() -> None:
    assert evaluate("ch3.ex4", right).passed
    as_tensor = lambda g, lr, eps: tf.constant(right(g, lr, eps), tf.float32)  # noqa: E731
    assert evaluate("ch3.ex4", as_tensor).passed
    simplified = lambda g, lr, eps: -lr * g / (np.abs(g) + eps)  # noqa: E731
    assert evaluate("ch3.ex4", simplified).passed


def test_ex4_the_formula_matches_a_real_step() -> None:
    """The check's reference formula is what AlternatingTrainer's first y1 step does to the shared layer."""
    net, batch = _ex4_setup()
    with tf.GradientTape() as tape:
        loss = net.losses({"x": batch["x"], "y1": batch["y1"]})["y1"]
    gradient = tape.gradient(loss, net.shared).numpy().astype(np.float64)
    before = net.shared.numpy().copy()
    AlternatingTrainer(net).step("y1", batch)
    np.testing.assert_allclose(net.shared.numpy() - before, right(gradient, 0.001, 1e-8), rtol=1e-4)


def calls_step(gradient, learning_rate, epsilon):
    """Wrong: the change of a real trainer step, whatever the gradient asked about."""
    net, batch = _ex4_setup()
    before = net.shared.numpy().copy()
    AlternatingTrainer(net).step("y1", batch)
    return net.shared.numpy() - before


def applies_adam(gradient, learning_rate, epsilon):
    """Wrong: a Keras optimizer's apply_gradients on a variable with that gradient."""
    variable = tf.Variable(np.zeros(gradient.shape, np.float32))
    optimizer = tf.keras.optimizers.Adam(learning_rate, beta_1=0.9, beta_2=0.999, epsilon=epsilon)
    optimizer.apply_gradients([(tf.constant(gradient, tf.float32), variable)])
    return variable.numpy()


@pytest.mark.parametrize(
    ("answer_fn", "words"),
    [
        (calls_step, "ignore gradient"),
        (lambda g, lr, eps: -lr * np.sign(g), "where is epsilon"),
        (applies_adam, "Keras Adam optimizer"),
        (lambda g, lr, eps: -lr * g, "plain gradient-descent step"),
        (lambda g, lr, eps: -lr * 0.1 * g / (np.sqrt(0.001 * g**2) + eps), "bias correction"),
        (lambda g, lr, eps: -lr * g / np.abs(g), "NaN where the gradient is 0"),
        (lambda g, lr, eps: -0.001 * g / (np.abs(g) + 1e-8), "ignores its learning_rate or epsilon"),
        (lambda g, lr, eps: -right(g, lr, eps), "wrong sign"),
        (lambda g, lr, eps: 2 * right(g, lr, eps), "factor of 2"),
        (lambda g, lr, eps: right(g, lr, eps)[:1], "shaped like gradient"),
        (lambda g, lr, eps: 1 / 0, "raised ZeroDivisionError"),
        (right(np.ones((10, 20)), 0.001, 1e-8), "pass the function itself"),
    ],
)
def test_ex4_wrong_methods_get_hints(answer_fn: object, words: str) -> None:
    result = evaluate("ch3.ex4", answer_fn)
    assert not result.passed and result.attempted, words
    assert words in result.message, (words, result.message)


def test_ex4_the_real_step_is_checked_too() -> None:
    """A formula right on the check's own gradients but wrong on the chapter's is caught by the real step."""
    def wrong_for_large(g, lr, eps):
        out = right(g, lr, eps)
        return np.where(np.abs(g) > 1e3, 0.5 * out, out)

    result = evaluate("ch3.ex4", wrong_for_large)
    assert not result.passed and "y1 loss" in result.message


# ---------------------------------------------------------------- exercise 5: the open paired comparison


def test_ex5_is_the_shared_paired_comparison_check() -> None:
    """The protocol itself is tested in test_checks_protocol.py; here, only this exercise's labels."""
    answer = paired_answer(("alternating", "alone"), "y1", -0.1, base=0.55, spread=0.03, noise=0.02)
    assert answer["conclusion"] == "alternating better"
    assert evaluate("ch3.ex5", answer).passed
    assert not evaluate("ch3.ex5", answer | {"conclusion": "alone better"}).passed
