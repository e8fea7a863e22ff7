"""The self-checks of chapter 4: right answers pass, wrong ones get a hint that names the problem."""

from __future__ import annotations

import numpy as np
import pytest
from check_answers import assert_not_attempted, not_implemented, paired_answer

from mtl_helpers import TwoHeadNet, tf
from mtl_helpers.checks import evaluate


@pytest.mark.parametrize(
    ("exercise", "answer"),
    [("ch4.ex3", None), ("ch4.ex5", None)]
    + [(f"ch4.ex{n}", stub) for n in (1, 2, 4) for stub in (None, not_implemented)],
)
def test_stub_and_none_are_not_attempted(exercise: str, answer: object) -> None:
    """A student edition leaves ``answer = None`` or a function whose body raises NotImplementedError."""
    assert_not_attempted(exercise, answer)


# ---------------------------------------------------------------- exercise 1


def _weighted(gradients: dict, weights: dict) -> np.ndarray:
    return sum(weights[task] * gradients[task] for task in gradients)


def test_ex1_right_answer_passes() -> None:
    result = evaluate("ch4.ex1", _weighted)
    assert result.passed, result.message


def test_ex1_accepts_tensors() -> None:
    result = evaluate("ch4.ex1", lambda g, w: tf.add_n([w[t] * tf.constant(g[t]) for t in g]))
    assert result.passed, result.message


@pytest.mark.parametrize(
    ("answer_fn", "words"),
    [
        (lambda g, w: g["y1"] + g["y2"], "ignores the loss weights"),
        (lambda g, w: w["y2"] * g["y1"] + w["y1"] * g["y2"], "other task's weight"),
        (lambda g, w: -_weighted(g, w), "wrong sign"),
        (lambda g, w: _weighted(g, w) / 2, "constant factor"),
        (lambda g, w: _weighted(g, w).T, "transposed"),
        (lambda g, w: "gradient", "array of numbers"),
        (lambda g, w: w["y1"] * g["y1"], "differ"),
    ],
)
def test_ex1_wrong_answers_get_hints(answer_fn: object, words: str) -> None:
    result = evaluate("ch4.ex1", answer_fn)
    assert not result.passed and result.attempted
    assert words in result.message


def test_ex1_wants_the_function_not_its_result() -> None:
    result = evaluate("ch4.ex1", np.zeros((10, 20)))
    assert not result.passed and "function" in result.message


# ---------------------------------------------------------------- exercise 2


def _equalising(losses: dict) -> dict:
    return {task: losses["y1"] / loss for task, loss in losses.items()}


def test_ex2_right_answer_passes() -> None:
    result = evaluate("ch4.ex2", _equalising)
    assert result.passed, result.message


@pytest.mark.parametrize(
    ("answer_fn", "words"),
    [
        (lambda losses: {task: loss / losses["y1"] for task, loss in losses.items()}, "right way round"),
        (lambda losses: {task: 1.0 / loss for task, loss in losses.items()}, "y1's weight should stay 1.0"),
        (lambda losses: {"y1": 1.0, "y2": 0.5}, "not equal"),
        (lambda losses: [1.0, 0.1], "dict"),
        (lambda losses: {"y1": 1.0}, "keys"),
        (lambda losses: {"y1": 1.0, "y2": -losses["y1"] / losses["y2"]}, "> 0"),
        (lambda losses: {"y1": 1.0, "y2": "small"}, "number"),
    ],
)
def test_ex2_wrong_answers_get_hints(answer_fn: object, words: str) -> None:
    result = evaluate("ch4.ex2", answer_fn)
    assert not result.passed and result.attempted
    assert words in result.message


# ---------------------------------------------------------------- exercise 3


def test_ex3_right_answer_passes() -> None:
    assert evaluate("ch4.ex3", {"y1": 16.0, "y2": 1.6}).passed
    assert evaluate("ch4.ex3", {"y2": 1.6, "y1": 16}).passed  # order and int/float do not matter


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ({"y1": 1.0, "y2": 0.1}, "constant factor"),
        ({"y1": 32.0, "y2": 3.2}, "constant factor"),
        ({"y1": 16.0, "y2": 16.0}, "ratio of the two weights"),
        ({"y1": 1.6, "y2": 16.0}, "ratio of the two weights"),
        ([16.0, 1.6], "dict"),
        ({"out1": 16.0, "out2": 1.6}, "output names"),
        ({"y1": "16", "y2": None}, "number"),
    ],
)
def test_ex3_wrong_answers_get_hints(answer: object, words: str) -> None:
    result = evaluate("ch4.ex3", answer)
    assert not result.passed and result.attempted
    assert words in result.message


def test_ex3_expected_weights_make_keras_match_joint_trainer() -> None:
    """The premise of exercise 3, checked with real Keras and JointTrainer losses."""
    import mtl_helpers
    from mtl_helpers.checks import ch4

    tasks = mtl_helpers.RelatedTasks(correlation=0.5, seed=0)
    batch = tasks.sample(ch4.EX3_BATCH_SIZE, seed=7)
    keras_weights = {task: ch4.EX3_BATCH_SIZE / 2 * w for task, w in ch4.EX3_JOINT_WEIGHTS.items()}
    model = mtl_helpers.keras_two_head_model(10, 20, 1, output_activation="linear", use_bias=True, seed=0)
    model.compile(optimizer=mtl_helpers.article_adam(), loss={"y1": "mse", "y2": "mse"}, loss_weights=keras_weights)
    keras_total = model.evaluate(batch["x"], {t: batch[t] for t in ("y1", "y2")}, batch_size=32, verbose=0)[0]
    net = mtl_helpers.TwoHeadNet(10, 20, 1, seed=0, output_activation="linear", use_bias=True)
    losses = net.losses(batch)
    joint_total = sum(ch4.EX3_JOINT_WEIGHTS[t] * float(losses[t]) for t in ("y1", "y2"))
    assert keras_total == pytest.approx(joint_total, rel=1e-5)
    assert evaluate("ch4.ex3", keras_weights).passed


# ---------------------------------------------------------------- exercise 4


def _joint_gradients(net: TwoHeadNet, batch: dict, weights: dict) -> dict:
    variables = {"shared": net.shared, **net.heads}
    with tf.GradientTape(persistent=True) as tape:
        losses = net.losses(batch)
    per_task = {t: tape.gradient(losses[t], variables, unconnected_gradients="zero") for t in ("y1", "y2")}
    return {name: sum(weights[t] * per_task[t][name] for t in ("y1", "y2")) for name in variables}


def test_ex4_right_answer_passes() -> None:
    result = evaluate("ch4.ex4", _joint_gradients)
    assert result.passed, result.message


def _unweighted_heads(net: TwoHeadNet, batch: dict, weights: dict) -> dict:
    answer = _joint_gradients(net, batch, weights)
    answer["y2"] = answer["y2"] / weights["y2"]
    return answer


def _unweighted_shared(net: TwoHeadNet, batch: dict, weights: dict) -> dict:
    return _joint_gradients(net, batch, {"y1": 1.0, "y2": 1.0}) | {
        t: _joint_gradients(net, batch, weights)[t] for t in ("y1", "y2")
    }


def _shared_from_one_task(net: TwoHeadNet, batch: dict, weights: dict) -> dict:
    answer = _joint_gradients(net, batch, weights)
    answer["shared"] = _joint_gradients(net, batch, {"y1": weights["y1"], "y2": 0.0})["shared"]
    return answer


def _none_for_other_head(net: TwoHeadNet, batch: dict, weights: dict) -> dict:
    return _joint_gradients(net, batch, weights) | {"y1": None}


def _applies_an_update(net: TwoHeadNet, batch: dict, weights: dict) -> dict:
    answer = _joint_gradients(net, batch, weights)
    net.shared.assign_sub(0.1 * answer["shared"])
    return answer


def _negated(net: TwoHeadNet, batch: dict, weights: dict) -> dict:
    return {name: -g for name, g in _joint_gradients(net, batch, weights).items()}


@pytest.mark.parametrize(
    ("answer_fn", "words"),
    [
        (_unweighted_heads, "missing its task's loss weight"),
        (_unweighted_shared, "ignores the loss weights"),
        (_shared_from_one_task, "only one task's part"),
        (_none_for_other_head, "None"),
        (_applies_an_update, "changed the network's weights"),
        (_negated, "wrong sign"),
        (lambda net, batch, weights: [1, 2, 3], "dict"),
        (lambda net, batch, weights: {"shared": 0.0}, "keys"),
    ],
)
def test_ex4_wrong_answers_get_hints(answer_fn: object, words: str) -> None:
    result = evaluate("ch4.ex4", answer_fn)
    assert not result.passed and result.attempted
    assert words in result.message


# ---------------------------------------------------------------- exercise 5 (the shared protocol check)


def test_ex5_is_the_shared_paired_comparison_check() -> None:
    """The protocol itself is tested in test_checks_protocol.py; here, only the labels of this exercise."""
    answer = paired_answer(("weighted", "equal"), "y2", 0.02, base=0.09, spread=0.006)
    assert answer["conclusion"] == "equal better"
    assert evaluate("ch4.ex5", answer).passed
    assert not evaluate("ch4.ex5", answer | {"conclusion": "no clear difference"}).passed


def test_ex4_one_tape_over_the_weighted_total_passes() -> None:
    """The exercise allows differentiating the weighted total directly (every variable reaches it)."""

    def total_gradient(net: TwoHeadNet, batch: dict, weights: dict) -> dict:
        variables = {"shared": net.shared, **net.heads}
        with tf.GradientTape() as tape:
            losses = net.losses(batch)
            total = weights["y1"] * losses["y1"] + weights["y2"] * losses["y2"]
        return tape.gradient(total, variables)

    result = evaluate("ch4.ex4", total_gradient)
    assert result.passed, result.message
