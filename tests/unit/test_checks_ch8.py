"""The self-checks of chapter 8: right answers pass, wrong ones get a hint that names the problem."""

from __future__ import annotations

import numpy as np
import pytest
from check_answers import assert_not_attempted, not_implemented, paired_answer

from mtl_helpers import MMoE, OMoE, tf
from mtl_helpers.checks import ch8, evaluate


@pytest.mark.parametrize(
    ("exercise", "answer"),
    [("ch8.ex3", None)] + [(f"ch8.ex{n}", stub) for n in (1, 2) for stub in (None, not_implemented)],
)
def test_stub_and_none_are_not_attempted(exercise: str, answer: object) -> None:
    """A student edition leaves ``answer = None`` or a function whose body raises NotImplementedError."""
    assert_not_attempted(exercise, answer)


# ---------------------------------------------------------------- exercise 1: a gate


def _gate(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> tf.Tensor:
    return tf.nn.softmax(x @ kernel + bias)


def _logits(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    return x.astype(np.float64) @ kernel + bias


def test_ex1_right_answers_pass() -> None:
    assert evaluate("ch8.ex1", _gate).passed

    def in_numpy(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
        scores = np.exp(x @ kernel + bias)
        return scores / scores.sum(axis=1, keepdims=True)

    result = evaluate("ch8.ex1", in_numpy)
    assert result.passed, result.message


def test_ex1_expected_gate_is_the_package_gate() -> None:
    """The check's NumPy softmax is what MMoE.gates computes, on weights with a non-zero bias."""
    net = MMoE(in_dim=10, n_experts=4, expert_units=5, tower_units=8, seed=3)
    weights = net.get_weights()
    rng = np.random.default_rng(0)
    weights["y1_gate_bias"] = rng.standard_normal(4).astype(np.float32)
    net.set_weights(weights)
    x = rng.standard_normal((7, 10)).astype(np.float32)
    expected = ch8._softmax(_logits(x, weights["y1_gate"], weights["y1_gate_bias"]))
    np.testing.assert_allclose(net.gates(x)["y1"].numpy(), expected, rtol=1e-5, atol=1e-6)
    assert evaluate("ch8.ex1", _gate).passed


@pytest.mark.parametrize(
    ("answer_fn", "words"),
    [
        (lambda x, k, b: tf.nn.softmax(x @ k + b, axis=0), "over the examples"),
        (lambda x, k, b: tf.transpose(tf.nn.softmax(x @ k + b)), "(n, n_experts)"),
        (lambda x, k, b: x @ k + b, "logits"),
        (lambda x, k, b: tf.nn.softmax(x @ k), "bias is missing"),
        (lambda x, k, b: tf.sigmoid(x @ k + b), "sigmoid"),
        (lambda x, k, b: tf.one_hot(tf.argmax(x @ k + b, axis=1), k.shape[1]), "hard choice"),
        (
            lambda x, k, b: (lambda s: s / s.sum(axis=1, keepdims=True))(
                _logits(x, k, b) - _logits(x, k, b).min(axis=1, keepdims=True) + 1.0),
            "exponentiate",
        ),
        (lambda x, k, b: tf.nn.softmax(x @ k + b) * 2.0, "constant factor"),
        (lambda x, k, b: "gate", "array"),
    ],
)
def test_ex1_wrong_gates_get_hints(answer_fn: object, words: str) -> None:
    result = evaluate("ch8.ex1", answer_fn)
    assert not result.passed and result.attempted
    assert words in result.message


def test_ex1_wants_the_function_not_its_result() -> None:
    result = evaluate("ch8.ex1", np.full((6, 4), 0.25))
    assert not result.passed and "function" in result.message


# ---------------------------------------------------------------- exercise 2: count the parameters


def _tower(expert_units: int, tower_units: int) -> int:
    return expert_units * tower_units + tower_units + tower_units + 1 if tower_units else expert_units + 1


def _count(in_dim: int, n_experts: int, expert_units: int, tower_units: int, n_tasks: int) -> int:
    experts = n_experts * (in_dim * expert_units + expert_units)
    gate = in_dim * n_experts + n_experts
    return experts + n_tasks * (gate + _tower(expert_units, tower_units))


@pytest.mark.parametrize("sizes", ch8.EX2_CASES)
def test_ex2_expected_counts_are_the_package_counts(sizes: tuple[int, ...]) -> None:
    in_dim, n_experts, expert_units, tower_units, n_tasks = sizes
    tasks = tuple(f"t{k}" for k in range(n_tasks))
    net = MMoE(in_dim, n_experts, expert_units, tower_units, tasks=tasks, seed=0)
    assert ch8.mmoe_parameters(*sizes) == net.parameter_count() == _count(*sizes)


def test_ex2_right_answer_passes() -> None:
    result = evaluate("ch8.ex2", _count)
    assert result.passed, result.message
    assert evaluate("ch8.ex2", lambda *sizes: float(_count(*sizes))).passed  # 602.0 is a count too


def _omoe_count(in_dim: int, n_experts: int, expert_units: int, tower_units: int, n_tasks: int) -> int:
    tasks = tuple(f"t{k}" for k in range(n_tasks))
    return OMoE(in_dim, n_experts, expert_units, tower_units, tasks=tasks).parameter_count()


def _no_biases(in_dim: int, n_experts: int, expert_units: int, tower_units: int, n_tasks: int) -> int:
    tower = expert_units * tower_units + tower_units if tower_units else expert_units
    return n_experts * in_dim * expert_units + n_tasks * (in_dim * n_experts + tower)


def _always_a_hidden_tower(in_dim: int, n_experts: int, expert_units: int, tower_units: int, n_tasks: int) -> int:
    experts = n_experts * (in_dim * expert_units + expert_units)
    tower = expert_units * tower_units + tower_units + tower_units + 1
    return experts + n_tasks * (in_dim * n_experts + n_experts + tower)


def _two_tasks_always(in_dim: int, n_experts: int, expert_units: int, tower_units: int, n_tasks: int) -> int:
    return _count(in_dim, n_experts, expert_units, tower_units, 2)


@pytest.mark.parametrize(
    ("answer_fn", "words"),
    [
        (_omoe_count, "OMoE"),
        (_no_biases, "bias"),
        (lambda d, e, u, t, k: _count(d, e, u, t, k) - k * e, "gates have a bias"),
        (lambda d, e, u, t, k: _count(d, e, u, t, k) + (k - 1) * e * (d * u + u), "experts are shared"),
        (lambda d, e, u, t, k: _count(d, e, u, t, k) + k * (u - d) * e, "reads the input x"),
        (lambda d, e, u, t, k: _count(d, e, u, t, k) - k * _tower(u, t), "towers are missing"),
        (lambda d, e, u, t, k: _count(d, e, u, t, k) - k * ((t or u) + 1) * (t > 0), "one linear output"),
        (_always_a_hidden_tower, "tower_units=0"),
        (_two_tasks_always, "n_tasks=3"),
        (lambda d, e, u, t, k: _count(d, e, u, t, k) + 0.5, "whole number"),
        (lambda d, e, u, t, k: "602", "one number"),
        (lambda d, e, u, t, k: _count(d, e, u, t, k) + 1, "too many"),
    ],
)
def test_ex2_miscounts_get_hints(answer_fn: object, words: str) -> None:
    result = evaluate("ch8.ex2", answer_fn)
    assert not result.passed and result.attempted
    assert words in result.message, result.message


def test_ex2_calling_the_package_is_not_what_the_hints_reward() -> None:
    """The package's own count passes (the exercise asks for it by hand; the solution shows the formula)."""
    def by_package(in_dim: int, n_experts: int, expert_units: int, tower_units: int, n_tasks: int) -> int:
        tasks = tuple(f"t{k}" for k in range(n_tasks))
        return MMoE(in_dim, n_experts, expert_units, tower_units, tasks=tasks).parameter_count()

    assert evaluate("ch8.ex2", by_package).passed


# ---------------------------------------------------------------- exercise 3 (the shared protocol check)


def test_ex3_is_the_shared_paired_comparison_check() -> None:
    """The protocol itself is tested in test_checks_protocol.py; here, only this exercise's labels and metric."""
    answer = paired_answer(("mmoe", "shared bottom"), "mse", -0.004, seeds=12, base=0.035, spread=0.003, noise=0.002)
    assert answer["conclusion"] == "mmoe better"
    assert evaluate("ch8.ex3", answer).passed
    assert not evaluate("ch8.ex3", answer | {"conclusion": "no clear difference"}).passed
    low, high = answer["interval"]
    assert "shared bottom - mmoe" in evaluate("ch8.ex3", answer | {"interval": (-high, -low)}).message
    unpaired = [r | {"seed": r["seed"] + 100} if r["method"] == "shared bottom" else r for r in answer["records"].records]
    assert "not paired" in evaluate("ch8.ex3", answer | {"records": unpaired}).message
