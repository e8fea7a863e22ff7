"""The self-check machinery: right answers pass, wrong ones get a hint that names the problem.

The hints must never reveal the expected value: several tests below search
every hint for the expected numbers.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import mtl_helpers
from mtl_helpers import tf
from mtl_helpers.checks import _core
from mtl_helpers.checks._core import (
    NOT_ATTEMPTED,
    CheckResult,
    check,
    compare_arrays,
    compare_changes,
    compare_choice,
    compare_mapping,
    compare_names,
    compare_number,
    evaluate,
    first_failure,
    hint,
    passed,
    register,
)

EXPECTED = np.array([[1.23457, -2.71828], [3.14159, 0.57721], [4.66920, -1.41421]])


def _numbers_in(message: str) -> set[str]:
    return set(re.findall(r"-?\d+\.\d+", message))


def assert_reveals_nothing(message: str, expected: np.ndarray) -> None:
    """No expected value appears in the hint, at 3 or more significant digits."""
    for value in np.ravel(expected):
        for digits in (3, 4, 5, 6):
            text = f"{value:.{digits}g}"
            if len(text.strip("-0.")) >= 3:
                assert text not in message, f"the hint reveals {text}: {message}"


# --------------------------------------------------------------------------- the registry


@pytest.fixture
def exercise(monkeypatch: pytest.MonkeyPatch) -> str:
    """A temporary exercise 'ch99.ex1' whose answer is a function of one array."""
    monkeypatch.setattr(_core, "_REGISTRY", dict(_core._REGISTRY))

    @register("ch99.ex1")
    def _check(answer_fn):
        x = np.arange(6.0).reshape(3, 2)
        return compare_arrays(answer_fn(x), 2 * x, name="answer_fn(x)")

    return "ch99.ex1"


def test_right_answer_passes(exercise: str, capsys: pytest.CaptureFixture[str]) -> None:
    check(exercise, lambda x: x * 2)
    assert capsys.readouterr().out == f"[PASS] {exercise}: correct.\n"


@pytest.mark.parametrize("stub", [None, Ellipsis], ids=["None", "Ellipsis"])
def test_stub_value_is_not_attempted(exercise: str, stub: object, capsys: pytest.CaptureFixture[str]) -> None:
    result = evaluate(exercise, stub)
    assert (result.passed, result.attempted, result.message) == (False, False, NOT_ATTEMPTED)
    check(exercise, stub)
    assert capsys.readouterr().out == f"[TODO] {exercise}: {NOT_ATTEMPTED}\n"


def test_stub_function_is_not_attempted(exercise: str) -> None:
    def answer_fn(x):
        # YOUR CODE HERE
        raise NotImplementedError()

    assert evaluate(exercise, answer_fn) == CheckResult(False, NOT_ATTEMPTED, attempted=False)


def test_a_function_that_raises_gets_a_hint_not_a_traceback(exercise: str, capsys: pytest.CaptureFixture[str]) -> None:
    def answer_fn(x):
        return x @ np.ones((3, 3))

    check(exercise, answer_fn)
    line = capsys.readouterr().out
    assert line.startswith(f"[HINT] {exercise}: checking your answer raised ValueError")
    assert line.count("\n") == 1


def test_a_function_that_returns_nothing(exercise: str) -> None:
    result = evaluate(exercise, lambda x: None)
    assert not result.passed and result.attempted
    assert "None" in result.message and "return" in result.message


def test_wrong_answer_gets_a_hint_line(exercise: str, capsys: pytest.CaptureFixture[str]) -> None:
    check(exercise, lambda x: -2 * x)
    assert capsys.readouterr().out == f"[HINT] {exercise}: answer_fn(x) has the right size but the wrong sign\n"


def test_registry_rejects_bad_ids_duplicates_and_unknown_exercises(exercise: str) -> None:
    with pytest.raises(ValueError, match=r"look like 'ch3\.ex2'"):
        register("exercise1")
    with pytest.raises(ValueError, match="already registered"):
        register(exercise)(lambda answer: passed())
    with pytest.raises(ValueError, match=r"no exercise 'ch99\.ex7'"):
        evaluate("ch99.ex7", 1)


def test_a_check_must_return_a_check_result(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_core, "_REGISTRY", dict(_core._REGISTRY))
    register("ch99.ex2")(lambda answer: True)
    with pytest.raises(TypeError, match="returned bool"):
        evaluate("ch99.ex2", 1)


def test_result_lines_and_first_failure() -> None:
    assert passed().line("ch1.ex1") == "[PASS] ch1.ex1: correct."
    assert hint("y2 is off").line("ch1.ex1") == "[HINT] ch1.ex1: y2 is off"
    assert first_failure(passed(), hint("first"), hint("second")).message == "first"
    assert first_failure(passed(), passed()).passed


def test_check_is_exported_by_the_package() -> None:
    assert mtl_helpers.check is check


# --------------------------------------------------------------------------- compare_arrays


@pytest.mark.parametrize(
    "answer",
    [EXPECTED, EXPECTED.tolist(), EXPECTED.astype(np.float32), tf.constant(EXPECTED), tf.Variable(EXPECTED)],
    ids=["ndarray", "list", "float32", "tensor", "variable"],
)
def test_arrays_right_answer_in_any_container(answer: object) -> None:
    assert compare_arrays(answer, EXPECTED).passed


@pytest.mark.parametrize(
    ("answer", "expected", "words"),
    [
        (EXPECTED.T, EXPECTED, ["shape (2, 3), expected (3, 2)", "transposed"]),
        (EXPECTED[None], EXPECTED, ["shape (1, 3, 2)", "extra axis of length 1"]),
        (np.ones(3), np.ones((3, 1)), ["shape (3,), expected (3, 1)", "missing an axis", "[:, None]"]),
        (np.ones((3, 3)), np.ones((3, 1)), ["broadcast", "(n, 1)"]),
        (np.ones(6), EXPECTED, ["number of entries is right", "reshape"]),
        (EXPECTED, 5.0, ["single number", "reduce"]),
        (np.array([[2.0]]), 2.0, ["single number", ".item()"]),
        (3.0, np.ones(4), ["reduce it too early"]),
        (np.ones((5, 2)), EXPECTED, ["number of rows differs"]),
        (np.ones((2, 5)), EXPECTED, ["shape (2, 5), expected (3, 2)"]),
    ],
    ids=["transposed", "extra-axis", "missing-axis", "broadcast", "reshape", "not-reduced", "size-1", "reduced",
         "rows", "other"],
)
def test_arrays_wrong_shape_names_the_cause(answer: object, expected: object, words: list[str]) -> None:
    result = compare_arrays(answer, expected)
    assert not result.passed and result.attempted
    for word in words:
        assert word in result.message


@pytest.mark.parametrize(
    ("transform", "words"),
    [
        (lambda e: -e, ["wrong sign"]),
        (lambda e: 0.5 * e, ["constant factor of 0.5", "1/2 in l2_loss"]),
        (lambda e: 2 * e, ["constant factor of 2"]),
        (lambda e: e / 6, ["constant factor of 0.1667"]),  # a mean over the 6 entries instead of a sum
        (lambda e: -10 * e, ["factor of 10 and the wrong sign"]),
        (lambda e: 1.379 * e, ["off by a constant factor (every value is scaled the same way)"]),
        (lambda e: e + 0.731, ["same amount everywhere", "bias"]),
        (lambda e: e[::-1], ["right values in the wrong places"]),
        (lambda e: np.where(np.arange(6).reshape(3, 2) == 4, 0.0, e), ["1 of 6 values differ"]),
        (lambda e: np.where(e > 1, np.nan, e), ["NaN"]),
    ],
    ids=["sign", "half", "double", "mean-vs-sum", "ten-and-sign", "odd-factor", "shift", "order", "one-entry", "nan"],
)
def test_arrays_wrong_values_name_the_problem(transform, words: list[str]) -> None:
    result = compare_arrays(transform(EXPECTED), EXPECTED, name="the loss")
    assert not result.passed
    assert result.message.startswith("the loss ")
    for word in words:
        assert word in result.message
    assert_reveals_nothing(result.message, EXPECTED)


def test_arrays_transposed_square_matrix() -> None:
    square = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert "transposed" in compare_arrays(square.T, square).message


def test_arrays_odd_factor_is_not_named() -> None:
    message = compare_arrays(1.379 * EXPECTED, EXPECTED).message
    assert "1.379" not in message and not _numbers_in(message)


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (None, ["is None", "return"]),
        ("0.5", ["should be numbers", "text"]),
        ({"y1": 1.0}, ["dict", "'y1'"]),
        (lambda: 1.0, ["is a function", "call it"]),
        (True, ["truth value"]),
        (np.array([1 + 2j]), ["complex"]),
        ([np.ones(2), np.ones(3)], ["different shapes"]),
        (object(), ["got object"]),
    ],
    ids=["None", "str", "dict", "function", "bool", "complex", "ragged", "object"],
)
def test_arrays_not_numbers(answer: object, words: list[str]) -> None:
    result = compare_arrays(answer, np.ones(2), name="w")
    assert not result.passed and result.message.startswith("w ")
    for word in words:
        assert word in result.message


def test_arrays_scalar_mismatch_reveals_nothing() -> None:
    for got in (2.0, 7.5, -3.14, 100.0, 0.0):
        result = compare_arrays(got, 3.14159)
        assert not result.passed
        assert_reveals_nothing(result.message, np.array([3.14159]))
    assert "factor of 2" in compare_arrays(6.28318, 3.14159).message  # a recognisable slip is named
    assert "factor" not in compare_arrays(7.5, 3.14159).message  # an arbitrary ratio is not


# --------------------------------------------------------------------------- compare_number


@pytest.mark.parametrize("answer", [3.14159, np.float32(3.14159), tf.constant(3.14159), np.array([3.14159])],
                         ids=["float", "np.float32", "tensor", "size-1"])
def test_number_right(answer: object) -> None:
    assert compare_number(answer, 3.14159).passed


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (-3.14159, ["wrong sign"]),
        (6.28318, ["factor of 2"]),
        (0.314159, ["factor of 0.1"]),
        (4.2, ["not the expected value"]),
        (np.ones(3), ["single number", "shape (3,)"]),
        ("3.14", ["text"]),
        (float("nan"), ["NaN"]),
        (False, ["truth value"]),
    ],
    ids=["sign", "double", "tenth", "other", "array", "str", "nan", "bool"],
)
def test_number_wrong(answer: object, words: list[str]) -> None:
    result = compare_number(answer, 3.14159, name="the loss")
    assert not result.passed and result.message.startswith("the loss")
    for word in words:
        assert word in result.message
    assert "3.14" not in result.message.replace("'3.14'", "")


@pytest.mark.parametrize(
    ("answer", "passes", "words"),
    [
        (620, True, []),
        (np.int64(620), True, []),
        (620.0, True, []),
        (619, False, ["off by one"]),
        (621, False, ["off by one"]),
        (1240, False, ["factor of 2", "twice"]),
        (-620, False, ["wrong sign"]),
        (620.5, False, ["whole number"]),
        (400, False, ["not the right count"]),
    ],
)
def test_number_integer_counts(answer: object, passes: bool, words: list[str]) -> None:
    result = compare_number(answer, 620, integer=True, name="the number of weights")
    assert result.passed is passes
    for word in words:
        assert word in result.message
    assert "620" not in result.message.replace("620.5", "")


# --------------------------------------------------------------------------- compare_choice


def test_choice() -> None:
    choices = ["alternating", "joint"]
    assert compare_choice("  Joint. ", "joint", choices=choices).passed
    assert "not the right one" in compare_choice("alternating", "joint", choices=choices).message
    wrong = compare_choice("both", "joint", choices=choices).message
    assert "one of 'alternating', 'joint'" in wrong and "'both'" in wrong
    assert "should be text" in compare_choice(2, "joint", choices=choices).message
    free = compare_choice("sessions", "graphs")
    assert not free.passed and "graphs" not in free.message


# --------------------------------------------------------------------------- compare_names


SHARED_AND_Y1 = ["shared", "y1"]


@pytest.mark.parametrize("answer", [["y1", "shared"], {"shared", "y1"}, ("shared", "y1")], ids=["list", "set", "tuple"])
def test_names_right_in_any_order(answer: object) -> None:
    assert compare_names(answer, SHARED_AND_Y1).passed


def test_names_from_variables() -> None:
    variables = [tf.Variable(1.0, name="shared"), tf.Variable(2.0, name="y1")]
    assert compare_names(variables, SHARED_AND_Y1).passed


@pytest.mark.parametrize(
    ("answer", "words", "hidden"),
    [
        (["shared", "y1", "y2"], ["includes 'y2', which should not be there"], []),
        (["shared"], ["misses 1 name"], ["y1"]),
        (["shared", "y2"], ["includes 'y2'", "misses 1 name"], ["y1"]),
        ([], ["misses 2 names"], ["shared", "y1"]),
        (["y1", "y1", "shared"], ["'y1' more than once"], []),
        ("shared", ["not one string", "['shared']"], []),
        ({"shared": 1, "y1": 2}, ["got a dict", "list(your_dict)"], []),
        (3, ["got int"], []),
        ([1, 2], ["holds a int"], []),
    ],
    ids=["extra", "missing", "both", "empty", "duplicate", "string", "dict", "int", "not-names"],
)
def test_names_wrong(answer: object, words: list[str], hidden: list[str]) -> None:
    result = compare_names(answer, SHARED_AND_Y1, name="the updated variables")
    assert not result.passed
    for word in words:
        assert word in result.message
    for secret in hidden:
        assert f"'{secret}'" not in result.message


def test_names_unknown_and_order() -> None:
    known = ["shared", "y1", "y2"]
    assert "'head', which is not one of 'shared', 'y1', 'y2'" in compare_names(["head"], ["y1"], known=known).message
    assert "wrong order" in compare_names(["y1", "shared"], SHARED_AND_Y1, ordered=True).message
    assert compare_names(["shared", "y1"], SHARED_AND_Y1, ordered=True).passed


# --------------------------------------------------------------------------- compare_mapping


def test_mapping() -> None:
    expected = {"y1": np.ones((2, 1)), "y2": np.zeros((2, 1))}
    assert compare_mapping({"y2": np.zeros((2, 1)), "y1": np.ones((2, 1))}, expected).passed
    assert "missing the key 'y2'" in compare_mapping({"y1": np.ones((2, 1))}, expected).message
    assert "unexpected key 'y3'" in compare_mapping({**expected, "y3": 1.0}, expected).message
    assert "should be a dict with keys 'y1', 'y2'" in compare_mapping([1.0, 2.0], expected).message
    wrong = compare_mapping({"y1": -np.ones((2, 1)), "y2": np.zeros((2, 1))}, expected, name="losses")
    assert wrong.message == "losses['y1'] has the right size but the wrong sign"
    counts = compare_mapping({"y1": 3, "y2": 5}, {"y1": 3, "y2": 4}, compare=compare_number, integer=True)
    assert "['y2'] is off by one" in counts.message


# --------------------------------------------------------------------------- compare_changes


def test_changes_names_a_variable_that_should_not_have_changed() -> None:
    net = mtl_helpers.TwoHeadNet(seed=0)
    trainer = mtl_helpers.AlternatingTrainer(net)
    batch = mtl_helpers.article_batch(np.random.default_rng(0))
    before = net.get_weights()
    trainer.step("y1", batch)
    after = net.get_weights()
    assert compare_changes(before, after, should_change=["shared", "y1"]).passed
    wrong = compare_changes(before, after, should_change=["shared", "y2"], name="a task-2 step")
    assert wrong.message == "'y1' changed, but a task-2 step should not touch it"
    untouched = compare_changes(before, after, should_change=["shared", "y1", "y2"])
    assert untouched.message == "'y2' did not change, but the step should update it"


def test_changes_rejects_mismatched_snapshots() -> None:
    with pytest.raises(ValueError, match="same keys"):
        compare_changes({"a": 1.0}, {"b": 1.0}, should_change=["a"])
    with pytest.raises(ValueError, match="not among"):
        compare_changes({"a": 1.0}, {"a": 2.0}, should_change=["z"])
    assert compare_changes({"a": 1.0}, {"a": 1.0 + 1e-9}, should_change=[], atol=1e-6).passed


def test_needs_function_names_what_arrived_instead() -> None:
    from mtl_helpers.checks._core import needs_function

    assert needs_function(len) is None
    problem = needs_function(np.zeros(3))
    assert problem is not None and not problem.passed
    assert "pass the function itself" in problem.message and "ndarray" in problem.message
