"""Chapter 2's exercise checks: the right answers pass, typical wrong ones get a named hint."""

from __future__ import annotations

import numpy as np
import pytest

from mtl_helpers import TwoHeadNet, tf
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
    if exercise in ("ch2.ex1", "ch2.ex3", "ch2.ex5"):  # function answers
        result = evaluate(exercise, _stub)
        assert not result.passed and not result.attempted


# --- ex1: parameters per part ---------------------------------------------------------------------------------


def _counts(in_dim, shared_units, head_units):
    return {
        "shared": in_dim * shared_units + shared_units,
        "y1": shared_units * head_units + head_units,
        "y2": shared_units * head_units + head_units,
    }


def test_ex1_right_answer_passes() -> None:
    assert evaluate("ch2.ex1", _counts).passed
    as_numpy = lambda i, s, h: {k: np.int64(v) for k, v in _counts(i, s, h).items()}  # noqa: E731
    assert evaluate("ch2.ex1", as_numpy).passed


@pytest.mark.parametrize(
    ("answer_fn", "fragment"),
    [
        (lambda i, s, h: list(_counts(i, s, h).values()), "should return a dict"),
        (lambda i, s, h: {"shared": i * s + s, "y1": s * h + h}, "exactly the keys"),
        (lambda i, s, h: {k: float(v) for k, v in _counts(i, s, h).items()}, "whole number"),
        (lambda i, s, h: {**_counts(i, s, h), "shared": True}, "whole number"),
        (lambda i, s, h: {**_counts(i, s, h), "shared": i * s}, "weight matrix only"),
        (lambda i, s, h: {"shared": i * s + s, "y1": s * h, "y2": s * h}, "weight matrix only"),
        # a bias as wide as the shared layer: right only when the widths are equal
        (lambda i, s, h: {"shared": i * s + s, "y1": s * h + s, "y2": s * h + s}, "as many entries as"),
        (lambda i, s, h: {**_counts(i, s, h), "shared": i * s + i}, "'shared'] is off"),
        (lambda i, s, h: {**_counts(i, s, h), "y2": 440}, "'y2'] is off"),
        (lambda i, s, h: i.nothing, "raised AttributeError"),
    ],
)
def test_ex1_wrong_answers_get_hints(answer_fn, fragment: str) -> None:
    result = evaluate("ch2.ex1", answer_fn)
    assert not result.passed and result.attempted and fragment in result.message
    if fragment != "whole number":  # that hint quotes the student's own value
        assert "220" not in result.message and "420" not in result.message


def test_ex1_counting_with_a_model_is_refused() -> None:
    from mtl_helpers import network_spec

    def by_model(in_dim, shared_units, head_units):
        net = TwoHeadNet(in_dim, shared_units, head_units, use_bias=True)
        return network_spec(net).parameter_counts()

    assert evaluate("ch2.ex1", lambda i, s, h: _counts(i, s, h)).passed  # the check itself accepts the values
    result = evaluate("ch2.ex1", by_model)
    assert not result.passed and "arithmetic" in result.message


def test_ex1_result_instead_of_function() -> None:
    result = evaluate("ch2.ex1", {"shared": 220, "y1": 420, "y2": 420})
    assert not result.passed and "pass the function itself" in result.message


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


def _half_sum(target, prediction):
    return 0.5 * np.sum((target - prediction) ** 2)


def test_ex3_right_answers_pass() -> None:
    assert evaluate("ch2.ex3", _half_sum).passed
    assert evaluate("ch2.ex3", lambda t, p: float(np.sum((p.astype(np.float64) - t) ** 2) / 2)).passed
    assert evaluate("ch2.ex3", lambda t, p: np.square(t - p).sum() / 2).passed


@pytest.mark.parametrize(
    ("answer_fn", "fragment"),
    [
        (lambda t, p: np.sum((t - p) ** 2), "constant factor of 2"),
        (lambda t, p: np.mean((t - p) ** 2), "constant factor"),
        (lambda t, p: -_half_sum(t, p), "wrong sign"),
        (lambda t, p: np.sqrt(np.sum((t - p) ** 2)), "square root"),
        (lambda t, p: np.sqrt(_half_sum(t, p)), "square root"),
        (lambda t, p: _half_sum(t, p) + 1.0, "not the expected value"),
        (lambda t, p: 0.5 * (t - p) ** 2, "forget to reduce"),
        (lambda t, p: np.array([_half_sum(t, p)]), "single number"),
        (lambda t, p: 0.5 * np.sum(t**2), "not the expected value"),  # the eager l2_loss(Y1, Y1_layer) slip
        (lambda t, p: "12.5", "text"),
        (lambda t, p: {"y1": 1.0}, "dict"),
        (lambda t, p: t.nothing, "raised AttributeError"),
    ],
)
def test_ex3_wrong_answers_get_hints(answer_fn, fragment: str) -> None:
    result = evaluate("ch2.ex3", answer_fn)
    assert not result.passed and result.attempted and fragment in result.message, result.message


@pytest.mark.parametrize(
    "answer_fn",
    [
        lambda t, p: float(tf.nn.l2_loss(t - p)),  # the right value, by the method ruled out
        lambda t, p: tf.reduce_sum(tf.square(t - p)).numpy() / 2,
    ],
)
def test_ex3_tensorflow_is_refused(answer_fn) -> None:
    result = evaluate("ch2.ex3", answer_fn)
    assert not result.passed and "NumPy only" in result.message


def test_ex3_only_the_function_counts() -> None:
    result = evaluate("ch2.ex3", 12.5)
    assert not result.passed and "pass the function itself" in result.message


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
        (lambda net, batch: tf.constant(_gradient(net, batch)), "by hand"),  # it uses tf
        (lambda net, batch: "gradient", "NumPy array"),
        (lambda net, batch: net.nothing, "raised AttributeError"),
    ],
)
def test_ex5_wrong_functions_get_hints(answer_fn, fragment: str) -> None:
    result = evaluate("ch2.ex5", answer_fn)
    assert not result.passed and result.attempted and fragment in result.message


def _gradient_by_tape(net, batch):
    with tf.GradientTape() as tape:
        loss = net.losses(batch)["y1"]
    return tape.gradient(loss, net.shared).numpy()


def test_ex5_tensorflow_gradients_are_refused() -> None:
    result = evaluate("ch2.ex5", _gradient_by_tape)  # right values, by the method ruled out
    assert not result.passed and "by hand" in result.message and "GradientTape" in result.message
    result = evaluate("ch2.ex5", lambda net, batch: _gradient_by_tape(net, batch))
    assert not result.passed and "by hand" in result.message


def test_ex5_result_instead_of_function_gets_a_hint() -> None:
    result = evaluate("ch2.ex5", np.zeros((10, 20)))
    assert not result.passed and "pass the function itself" in result.message
