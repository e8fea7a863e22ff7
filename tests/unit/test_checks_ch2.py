"""Chapter 2's exercise checks: the right answers pass, typical wrong ones get a named hint."""

from __future__ import annotations

import numpy as np
import pytest

from mtl_helpers import TwoHeadNet, article_batch, tf
from mtl_helpers.checks import evaluate
from mtl_helpers.checks._core import NOT_ATTEMPTED

keras = tf.keras


def _stub(*_args: object) -> None:
    raise NotImplementedError()


@pytest.mark.parametrize("exercise", ["ch2.ex1", "ch2.ex2", "ch2.ex3", "ch2.ex4", "ch2.ex5"])
def test_none_and_stubs_are_not_attempted(exercise: str) -> None:
    for answer in (None, ...):
        result = evaluate(exercise, answer)
        assert not result.passed and not result.attempted and result.message == NOT_ATTEMPTED
    if exercise == "ch2.ex5":
        result = evaluate(exercise, _stub)
        assert not result.passed and not result.attempted


# --- ex1: parameters per part ---------------------------------------------------------------------------------


def test_ex1_right_answer_passes() -> None:
    assert evaluate("ch2.ex1", {"shared": 10 * 20 + 20, "y1": 20 * 20 + 20, "y2": 20 * 20 + 20}).passed
    assert evaluate("ch2.ex1", {"shared": np.int64(220), "y1": 420, "y2": 420}).passed


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        ([220, 420, 420], "should be a dict"),
        ({"shared": 220, "y1": 420}, "exactly the keys"),
        ({"shared": 220.0, "y1": 420, "y2": 420}, "whole number"),
        ({"shared": True, "y1": 420, "y2": 420}, "whole number"),
        ({"shared": 200, "y1": 420, "y2": 420}, "weight matrix only"),
        ({"shared": 220, "y1": 400, "y2": 400}, "weight matrix only"),
        ({"shared": 230, "y1": 420, "y2": 420}, "'shared'] is off"),
        ({"shared": 220, "y1": 420, "y2": 440}, "'y2'] is off"),
    ],
)
def test_ex1_wrong_answers_get_hints(answer: object, fragment: str) -> None:
    result = evaluate("ch2.ex1", answer)
    assert not result.passed and result.attempted and fragment in result.message
    if not isinstance(answer, dict) or all(type(value) is int for value in answer.values()):
        assert "220" not in result.message and "420" not in result.message


# --- ex2: variables reached by task y2's loss -----------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        ["shared", "y2", "shared_bias", "y2_bias"],
        ("y2_bias", "shared_bias", "y2", "shared"),
        ["shared:0", "y2:0", "shared_bias:0", "y2_bias:0"],
    ],
)
def test_ex2_right_answers_pass(answer: object) -> None:
    assert evaluate("ch2.ex2", answer).passed


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        ("shared y2", "list of variable names"),
        ([1, 2], "list of variable names"),
        (["shared", "shared", "y2", "shared_bias", "y2_bias"], "twice"),
        (["shared", "W_y2"], "unknown names"),
        (["shared", "y1", "y2", "shared_bias", "y2_bias"], "head y1"),
        (["shared", "y2", "shared_bias", "y2_bias", "y1_bias"], "head y1"),
        (["y2", "y2_bias"], "shared layer"),
        (["shared", "y2", "y2_bias"], "shared layer"),
        (["shared", "shared_bias", "y2"], "head y2 itself"),
    ],
)
def test_ex2_wrong_answers_get_hints(answer: object, fragment: str) -> None:
    result = evaluate("ch2.ex2", answer)
    assert not result.passed and result.attempted and fragment in result.message


# --- ex3: l2_loss by NumPy ------------------------------------------------------------------------------------


def _ex3_error(task: str = "y1") -> np.ndarray:
    net = TwoHeadNet(seed=0)
    batch = article_batch(np.random.default_rng(2))
    return batch[task] - net(batch["x"])[task].numpy()


def test_ex3_right_answer_passes() -> None:
    error = _ex3_error()
    assert evaluate("ch2.ex3", 0.5 * np.sum(error**2)).passed
    assert evaluate("ch2.ex3", float(np.sum(error.astype(np.float64) ** 2) / 2)).passed


@pytest.mark.parametrize(
    ("make_answer", "fragment"),
    [
        (lambda e: np.sum(e**2), "constant factor of 2"),
        (lambda e: np.mean(e**2), "constant factor of 0.01"),
        (lambda e: -0.5 * np.sum(e**2), "wrong sign"),
        (lambda e: np.sqrt(np.sum(e**2)), "square root"),
        (lambda e: np.sqrt(0.5 * np.sum(e**2)), "square root"),
        (lambda e: 0.5 * np.sum(e**2) + 1.0, "not the expected value"),
        (lambda e: 0.5 * e**2, "forget to reduce"),
        (lambda e: np.array([0.5 * np.sum(e**2)]), "single number"),
        (lambda e: "12.5", "text"),
        (lambda e: {"y1": 1.0}, "dict"),
        (lambda e: tf.constant(0.5 * np.sum(e**2)), "TensorFlow tensor"),
    ],
)
def test_ex3_wrong_answers_get_hints(make_answer, fragment: str) -> None:
    result = evaluate("ch2.ex3", make_answer(_ex3_error()))
    assert not result.passed and result.attempted and fragment in result.message


def test_ex3_other_tasks_loss_is_named() -> None:
    result = evaluate("ch2.ex3", 0.5 * np.sum(_ex3_error("y2") ** 2))
    assert not result.passed and "task y2" in result.message


# --- ex4: a three-head Keras model ----------------------------------------------------------------------------


def _model(*, units: int = 5, shared_units: int = 16, names=("y1", "y2", "y3"), bias: bool = False,
           activation: str = "relu", share: bool = True, input_name: str = "x", two_trunk_layers: bool = False,
           as_list: bool = False) -> keras.Model:
    inputs = keras.Input(shape=(10,), name=input_name)
    trunk = keras.layers.Dense(shared_units, activation="relu", use_bias=False, name="shared")(inputs)
    if two_trunk_layers:
        trunk = keras.layers.Dense(shared_units, activation="relu", use_bias=False, name="shared_2")(trunk)
    outputs = {}
    for name in names:
        base = trunk if share else keras.layers.Dense(shared_units, activation="relu", use_bias=False, name=f"own_{name}")(inputs)
        outputs[name] = keras.layers.Dense(units, activation=activation, use_bias=bias, name=name)(base)
    return keras.Model(inputs, list(outputs.values()) if as_list else outputs)


def test_ex4_right_answers_pass() -> None:
    assert evaluate("ch2.ex4", _model()).passed
    assert evaluate("ch2.ex4", _model(as_list=True)).passed


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"names": ("y1", "y2")}, "should be named"),
        ({"names": ("a", "b", "c")}, "should be named"),
        ({"input_name": "features"}, "named 'x'"),
        ({"share": False}, "no layer feeds every output"),
        ({"shared_units": 8}, "shared trunk"),
        ({"two_trunk_layers": True}, "shared trunk"),
        ({"units": 4}, "head 'y1'"),
        ({"bias": True}, "no bias"),
        ({"activation": "linear"}, "activation"),
    ],
)
def test_ex4_wrong_models_get_hints(kwargs: dict, fragment: str) -> None:
    result = evaluate("ch2.ex4", _model(**kwargs))
    assert not result.passed and result.attempted and fragment in result.message


def test_ex4_non_models_and_unreadable_graphs_get_hints() -> None:
    result = evaluate("ch2.ex4", {"y1": 1})
    assert not result.passed and "keras.Model" in result.message
    inputs = keras.Input(shape=(10,), name="x")
    hidden = keras.layers.Dropout(0.1)(keras.layers.Dense(16, name="shared")(inputs))
    model = keras.Model(inputs, {t: keras.layers.Dense(5, name=t)(hidden) for t in ("y1", "y2", "y3")})
    result = evaluate("ch2.ex4", model)
    assert not result.passed and "cannot be read" in result.message


# --- ex5: the shared gradient by hand -------------------------------------------------------------------------


def _gradient(net: TwoHeadNet, batch: dict, *, task: str = "y1", masks: bool = True, scale: float = 1.0) -> np.ndarray:
    w = net.get_weights()
    pre_shared = batch["x"] @ w["shared"]
    pre_head = np.maximum(pre_shared, 0) @ w[task]
    back = (np.maximum(pre_head, 0) - batch[task]) * ((pre_head > 0) if masks else 1)
    back = (back @ w[task].T) * ((pre_shared > 0) if masks else 1)
    return scale * batch["x"].T @ back


def test_ex5_right_answer_passes() -> None:
    assert evaluate("ch2.ex5", _gradient).passed


@pytest.mark.parametrize(
    ("answer_fn", "fragment"),
    [
        (lambda net, batch: -_gradient(net, batch), "wrong sign"),
        (lambda net, batch: _gradient(net, batch, scale=2.0), "constant factor of 2"),
        (lambda net, batch: _gradient(net, batch, task="y2"), "task y2"),
        (lambda net, batch: _gradient(net, batch, masks=False), "ReLU derivatives"),
        (lambda net, batch: _gradient(net, batch).T, "transposed"),
        (lambda net, batch: _gradient(net, batch) + 1.0, "same amount everywhere"),
        (lambda net, batch: _gradient(net, batch) * (1 + np.eye(*_gradient(net, batch).shape)), "values differ"),
        (lambda net, batch: tf.constant(_gradient(net, batch)), "TensorFlow tensor"),
        (lambda net, batch: "gradient", "NumPy array"),
        (lambda net, batch: net.nothing, "raised AttributeError"),
    ],
)
def test_ex5_wrong_functions_get_hints(answer_fn, fragment: str) -> None:
    result = evaluate("ch2.ex5", answer_fn)
    assert not result.passed and result.attempted and fragment in result.message


def test_ex5_result_instead_of_function_gets_a_hint() -> None:
    result = evaluate("ch2.ex5", np.zeros((10, 20)))
    assert not result.passed and "pass the function itself" in result.message
