"""Chapter 1's exercise checks: the right answers pass, typical wrong ones get a named hint."""

from __future__ import annotations

import numpy as np
import pytest

import mtl_helpers
from mtl_helpers import tf
from mtl_helpers.checks import ch1, evaluate
from mtl_helpers.checks._code import names_used
from mtl_helpers.checks._core import NOT_ATTEMPTED


def _stub(*_args: object) -> None:
    raise NotImplementedError()


@pytest.mark.parametrize("exercise", ["ch1.ex1", "ch1.ex2", "ch1.ex3", "ch1.ex4"])
def test_none_is_not_attempted(exercise: str) -> None:
    result = evaluate(exercise, None)
    assert not result.passed and not result.attempted and result.message == NOT_ATTEMPTED


def test_stub_function_is_not_attempted() -> None:
    result = evaluate("ch1.ex1", _stub)
    assert not result.passed and not result.attempted


# --- ex1: the article's loss in NumPy -------------------------------------------------------------------------


def test_ex1_right_answer_passes() -> None:
    assert evaluate("ch1.ex1", lambda x, w, y: (y - x @ w) ** 2).passed
    assert evaluate("ch1.ex1", lambda x, w, y: np.square(x @ w - y)).passed


@pytest.mark.parametrize(
    ("answer_fn", "fragment"),
    [
        (lambda x, w, y: np.sum((y - x @ w) ** 2), "shape ()"),  # reduced too early
        (lambda x, w, y: ((y - x @ w) ** 2).ravel(), "shape (10,)"),  # flattened
        (lambda x, w, y: 0.5 * (y - x @ w) ** 2, "factor of 0.5"),  # l2_loss's half
        (lambda x, w, y: -((y - x @ w) ** 2), "wrong sign"),
        (lambda x, w, y: y - x @ w, "values differ"),  # forgot the square
        (lambda x, w, y: (y - x.T @ w) ** 2, "values differ"),  # transposed input
        (lambda x, w, y: x.undefined, "raised AttributeError"),  # a bug in the student's code
    ],
)
def test_ex1_wrong_answers_get_named_hints(answer_fn, fragment: str) -> None:
    result = evaluate("ch1.ex1", answer_fn)
    assert not result.passed and result.attempted
    assert fragment in result.message


def _loss_by_tensorflow(x, w, y):
    return tf.square(y - tf.matmul(x, w)).numpy()


def _loss_by_session(x, w, y):
    return mtl_helpers.checks.ch1._article_loss(x, w, y)  # what the check itself computes


def _numpy_helper(x, w, y):
    return (y - x @ w) ** 2


@pytest.mark.parametrize(
    "answer_fn",
    [
        _loss_by_tensorflow,  # the right numbers, by the method the exercise rules out
        lambda x, w, y: np.asarray(tf.pow(tf.add(y, -tf.matmul(x, w)), 2)),
        _loss_by_session,  # mtl_helpers' own graph
        lambda x, w, y: _loss_by_tensorflow(x, w, y),  # hidden in a helper function
    ],
)
def test_ex1_tensorflow_is_refused(answer_fn) -> None:
    ones = np.ones((10, 10), np.float32), np.ones((10, 1), np.float32), np.ones((10, 1), np.float32)
    assert np.allclose(answer_fn(*ones), 81.0)  # the right numbers
    result = evaluate("ch1.ex1", answer_fn)
    assert not result.passed and result.attempted and "NumPy only" in result.message


def test_ex1_numpy_helpers_are_allowed() -> None:
    assert evaluate("ch1.ex1", lambda x, w, y: _numpy_helper(x, w, y)).passed
    assert evaluate("ch1.ex1", lambda x, w, y: np.power(np.add(y, -np.matmul(x, w)), 2)).passed


def test_names_used_reads_nested_code_and_helpers() -> None:
    assert names_used(lambda x: np.sum(x**2)) == {"np", "sum"}
    assert "tf" in names_used(lambda x: [tf.square(v) for v in x])  # inside a comprehension
    assert {"tf", "square", "matmul"} <= names_used(lambda x, w, y: _loss_by_tensorflow(x, w, y))
    assert names_used(len) == set()  # a built-in has no Python code
    assert "reduce_sum" in names_used(tf.function(lambda x: tf.reduce_sum(x)))


def test_ex1_result_instead_of_function() -> None:
    result = evaluate("ch1.ex1", np.zeros((10, 1)))
    assert not result.passed and "pass the function itself" in result.message


# --- ex2: which placeholders a fetch needs --------------------------------------------------------------------

RIGHT_EX2 = {
    "shared_layer": {"X"},
    "y1_layer": {"X"},
    "y1_loss": {"X", "Y1"},
    "y2_loss": {"X", "Y2"},
    "y2_W/Assign": set(),
}


def test_ex2_right_answer_passes() -> None:
    assert evaluate("ch1.ex2", RIGHT_EX2).passed
    as_lists = {fetch: sorted(names) for fetch, names in RIGHT_EX2.items()}
    assert evaluate("ch1.ex2", as_lists).passed


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"y1_layer": {"X", "Y1"}}, "does not depend on"),  # the output needs no target
        ({"y1_loss": {"Y1"}}, "misses a placeholder"),  # forgot the input
        ({"y2_W/Assign": {"X"}}, "does not depend on"),  # initialisation needs no data
        ({"y2_loss": {"x", "Y2"}}, "case-sensitive"),  # wrong name
        ({"shared_layer": "X"}, "should be a set"),  # a string, not a set
    ],
)
def test_ex2_wrong_answers_get_named_hints(change: dict, fragment: str) -> None:
    result = evaluate("ch1.ex2", {**RIGHT_EX2, **change})
    assert not result.passed and fragment in result.message
    for names in RIGHT_EX2.values():  # the hint never lists the expected set
        if names:
            assert str(sorted(names)) not in result.message


def test_ex2_missing_fetch_and_wrong_type() -> None:
    partial = {fetch: names for fetch, names in RIGHT_EX2.items() if fetch != "y1_loss"}
    assert "no entry for ['y1_loss']" in evaluate("ch1.ex2", partial).message
    assert "should be a dict" in evaluate("ch1.ex2", [{"X"}]).message


def test_ex2_expected_sets_follow_the_pruning_rule() -> None:
    # The same rule as Session.run: y1's output needs only X; the losses also need their target.
    assert ch1._needed_placeholders() == RIGHT_EX2


# --- ex3: counting tracings -----------------------------------------------------------------------------------


def test_ex3_right_answer_passes() -> None:
    assert evaluate("ch1.ex3", ch1.count_tracings()).passed
    assert evaluate("ch1.ex3", np.array(ch1.count_tracings())).passed


def test_ex3_count_follows_the_signature_rules() -> None:
    counts = ch1.count_tracings()
    assert len(counts) == len(ch1.TRACING_CALLS)
    assert counts[0] == 1 and counts[1] == counts[2] == 1  # same shape and Python value: no new trace
    assert counts[3] == 2 and counts[4] == 3  # new shape, then a new Python value
    assert counts[6] == counts[5]  # two scalar tensors share a trace


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        (4, "as a list"),
        ([1, 2, 3], "has 3 counts"),
        ([1, 2, 3, 4, 5, 6, 7, 8], "call 2"),  # a new trace for every call
        ([1, 1, 1, 2, 3, 4, 5, 5], "call 7"),  # thinks each tensor value retraces
        ([1, 1, 1, 2, 2, 2, 2, 2], "call 5"),  # thinks Python values do not matter
        ([1, 1, 1, 2, 3, 4, 4, 3], "never goes down"),
        ("eight", "list of 8 ints"),
    ],
)
def test_ex3_wrong_answers_get_named_hints(answer, fragment: str) -> None:
    result = evaluate("ch1.ex3", answer)
    assert not result.passed and fragment in result.message


# --- ex4: a function that traces once ------------------------------------------------------------------------

SIGNATURE = [tf.TensorSpec([None, None], tf.float32), tf.TensorSpec([None, None], tf.float32), tf.TensorSpec([], tf.float32)]


def test_ex4_right_answer_passes_even_when_run_twice() -> None:
    @tf.function(input_signature=SIGNATURE)
    def weighted_mse(prediction, target, weight):
        return weight * tf.reduce_mean(tf.square(prediction - target))

    assert evaluate("ch1.ex4", weighted_mse).passed
    assert evaluate("ch1.ex4", weighted_mse).passed  # already traced: no new trace


def test_ex4_retracing_function_gets_a_hint() -> None:
    @tf.function
    def weighted_mse(prediction, target, weight):
        return weight * tf.reduce_mean(tf.square(prediction - target))

    result = evaluate("ch1.ex4", weighted_mse)
    assert not result.passed and "traced 4 new graphs" in result.message


def test_ex4_wrong_values_get_a_hint() -> None:
    @tf.function(input_signature=SIGNATURE)
    def weighted_sse(prediction, target, weight):
        return weight * tf.reduce_sum(tf.square(prediction - target))

    result = evaluate("ch1.ex4", weighted_sse)
    assert not result.passed and "constant factor" in result.message


def test_ex4_too_narrow_signature_and_plain_function() -> None:
    @tf.function(input_signature=[tf.TensorSpec([None, 2]), tf.TensorSpec([None, 2]), tf.TensorSpec([])])
    def two_columns(prediction, target, weight):
        return weight * tf.reduce_mean(tf.square(prediction - target))

    result = evaluate("ch1.ex4", two_columns)
    assert not result.passed and "raised" in result.message
    result = evaluate("ch1.ex4", lambda p, t, w: w * np.mean((p - t) ** 2))
    assert not result.passed and "should be a tf.function" in result.message
