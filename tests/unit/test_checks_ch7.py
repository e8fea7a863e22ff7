"""The self-checks of chapter 7: right answers pass, wrong methods get a hint that names the problem."""

from __future__ import annotations

import math

import numpy as np
import pytest
from check_answers import assert_not_attempted, not_implemented

from mtl_helpers import STRUCTURED_NET, TwoHeadNet, article_adam, tf
from mtl_helpers.checks import evaluate


@pytest.mark.parametrize(
    ("exercise", "answer"),
    [("ch7.ex1", None), ("ch7.ex4", None)] + [(f"ch7.ex{n}", stub) for n in (2, 3) for stub in (None, not_implemented)],
)
def test_stub_and_none_are_not_attempted(exercise: str, answer: object) -> None:
    """A student edition leaves ``answer = None`` or a function whose body raises NotImplementedError."""
    assert_not_attempted(exercise, answer)


# ---------------------------------------------------------------- exercise 1: a multiplier by hand

_FRACTION = math.log(0.50 / 0.30) / math.log(0.50 / 0.20)  # of the way from 0.50 to 0.20 in log error
_RIGHT = 2**_FRACTION  # n_eff = 100 * 2**fraction, divided by the 100 rows


def test_ex1_right_answer_passes() -> None:
    result = evaluate("ch7.ex1", _RIGHT)
    assert result.passed, result.message
    assert evaluate("ch7.ex1", np.float32(_RIGHT)).passed


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (100 * _RIGHT, "n_eff"),  # the rows, not the multiplier
        (1 / _RIGHT, "n / n_eff"),  # inverted
        ((100 + 100 * 0.2 / 0.3) / 100, "linear axes"),  # linear in size and error
        (2 ** (0.2 / 0.3), "log error too"),  # log size, linear error
        (1 + _FRACTION, "log size too"),  # linear size, log error
        (2 ** (1 - _FRACTION), "wrong end"),
        (2.0, "nearest"),
        (1.0, "nearest"),
        (3.7, "not the expected value"),
        (-_RIGHT, "positive"),
        ("1.47", "one number"),
        ([_RIGHT], "one number"),
        (True, "one number"),
    ],
)
def test_ex1_wrong_methods_get_hints(answer: object, words: str) -> None:
    result = evaluate("ch7.ex1", answer)
    assert not result.passed and result.attempted
    assert words in result.message, result.message


def test_ex1_never_reveals_the_answer() -> None:
    for answer in (3.7, 100 * _RIGHT, 1 / _RIGHT):
        message = evaluate("ch7.ex1", answer).message
        assert f"{_RIGHT:.2f}" not in message and f"{_RIGHT:.3g}" not in message


# ---------------------------------------------------------------- exercise 2: a gradient cosine


def _gradients(net: TwoHeadNet, datasets: dict, variables_of) -> list[np.ndarray]:
    flat = []
    for task in ("y1", "y2"):
        with tf.GradientTape() as tape:
            loss = net.losses(datasets[task])[task]
        parts = tape.gradient(loss, variables_of(net, task))
        flat.append(np.concatenate([np.ravel(part) for part in parts]))
    return flat


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _right(net: TwoHeadNet, datasets: dict) -> float:
    return _cosine(*_gradients(net, datasets, lambda n, t: n.shared_variables))


def _mean_losses(net: TwoHeadNet, datasets: dict) -> float:
    """The same cosine from mean (not summed) losses: the scale of a loss does not change a cosine."""
    flat = []
    for task in ("y1", "y2"):
        rows = datasets[task]
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(net(rows["x"])[task] - rows[task]))
        flat.append(np.concatenate([np.ravel(g) for g in tape.gradient(loss, net.shared_variables)]))
    return _cosine(*flat)


def test_ex2_right_answers_pass() -> None:
    for answer_fn in (_right, _mean_losses, lambda net, d: tf.constant(_right(net, d))):
        result = evaluate("ch7.ex2", answer_fn)
        assert result.passed, result.message


def _stepping(net: TwoHeadNet, datasets: dict) -> float:
    value = _right(net, datasets)
    optimizer = article_adam(0.01)
    with tf.GradientTape() as tape:
        loss = net.losses(datasets["y1"])["y1"]
    variables = net.trainable_for("y1")
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
    return value


@pytest.mark.parametrize(
    ("answer_fn", "words"),
    [
        (lambda net, d: _cosine(*_gradients(net, d, lambda n, t: [n.shared])), "bias too"),
        (lambda net, d: _cosine(*_gradients(net, d, lambda n, t: n.trainable_for(t))), "heads are in"),
        (lambda net, d: float(np.dot(*_gradients(net, d, lambda n, t: n.shared_variables))), "dot product"),
        (lambda net, d: math.acos(_right(net, d)), "angle"),
        (lambda net, d: 1 - _right(net, d), "1 - cosine"),
        (lambda net, d: -_right(net, d), "wrong sign"),
        (_stepping, "changed the network's weights"),
        (lambda net, d: 0.5, "not the cosine"),
        (lambda net, d: [0.1, 0.2], "one number"),
        (lambda net, d: float("nan"), "NaN"),
        (lambda net, d: net.losses(d["y1"])["y2"], "KeyError"),  # y2's loss on y1's rows
    ],
)
def test_ex2_wrong_methods_get_hints(answer_fn: object, words: str) -> None:
    result = evaluate("ch7.ex2", answer_fn)
    assert not result.passed and result.attempted
    assert words in result.message, result.message


def test_ex2_wants_the_function() -> None:
    result = evaluate("ch7.ex2", 0.1)
    assert not result.passed and "function" in result.message


def test_ex2_sees_the_networks_own_weights() -> None:
    """The check hands the student a network of its own: its weights are the case's, not a default net's."""
    seen = []
    evaluate("ch7.ex2", lambda net, d: seen.append(net.get_weights()) or _right(net, d))
    default = TwoHeadNet(**STRUCTURED_NET).get_weights()
    assert seen and not np.array_equal(seen[0]["y2"], default["y2"])


# ---------------------------------------------------------------- exercise 3: Fisher's z interval


def _fisher(x: np.ndarray, y: np.ndarray, *, df: int = 3, quantile: float = 1.959963984540054) -> tuple:
    r = float(np.corrcoef(x, y)[0, 1])
    half = quantile / math.sqrt(len(x) - df)
    return r, math.tanh(math.atanh(r) - half), math.tanh(math.atanh(r) + half)


def test_ex3_right_answers_pass() -> None:
    from scipy import stats

    def with_scipy(x: np.ndarray, y: np.ndarray) -> tuple:
        fit = stats.pearsonr(x, y)
        return (fit.statistic, *fit.confidence_interval(0.95))

    for answer_fn in (_fisher, with_scipy, lambda x, y: np.array(_fisher(x, y))):
        result = evaluate("ch7.ex3", answer_fn)
        assert result.passed, result.message


def _in_z(x: np.ndarray, y: np.ndarray) -> tuple:
    r = float(np.corrcoef(x, y)[0, 1])
    half = 1.959963984540054 / math.sqrt(len(x) - 3)
    return r, math.atanh(r) - half, math.atanh(r) + half


def _naive(x: np.ndarray, y: np.ndarray) -> tuple:
    r = float(np.corrcoef(x, y)[0, 1])
    half = 1.959963984540054 * math.sqrt((1 - r**2) / (len(x) - 2))
    return r, r - half, r + half


def _spearman(x: np.ndarray, y: np.ndarray) -> tuple:
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    return _fisher(rx.astype(float), ry.astype(float))


def _t_quantile(x: np.ndarray, y: np.ndarray) -> tuple:
    from scipy import stats

    return _fisher(x, y, quantile=float(stats.t.ppf(0.975, len(x) - 2)))


@pytest.mark.parametrize(
    ("answer_fn", "words"),
    [
        (_in_z, "z units"),
        (lambda x, y: _fisher(x, y, df=0), "sqrt(n - 3), not 1 / sqrt(n)"),
        (lambda x, y: _fisher(x, y, df=1), "sqrt(n - 3)"),
        (_t_quantile, "Student's t"),
        (lambda x, y: _fisher(x, y, quantile=1.6448536269514722), "90%"),
        (_naive, "symmetric in r"),
        (_spearman, "Spearman"),
        (lambda x, y: (_fisher(x, y)[0], _fisher(x, y)[2], _fisher(x, y)[1]), "low is above high"),
        (lambda x, y: _fisher(x, y)[:2], "three numbers"),
        (lambda x, y: {"r": 0.5}, "three numbers"),
        (lambda x, y: (0.1, -0.2, 0.3), "Pearson"),
        (lambda x, y: (_fisher(x, y)[0], -0.5, 0.9), "not Fisher's"),
    ],
)
def test_ex3_wrong_methods_get_hints(answer_fn: object, words: str) -> None:
    result = evaluate("ch7.ex3", answer_fn)
    assert not result.passed and result.attempted
    assert words in result.message, result.message


def test_ex3_inputs_are_copies() -> None:
    """A function that changes its inputs in place cannot change the case the check computes from."""

    def sorting(x: np.ndarray, y: np.ndarray) -> tuple:
        answer = _fisher(x, y)
        x.sort()
        return answer

    assert evaluate("ch7.ex3", sorting).passed


# ---------------------------------------------------------------- exercise 4: the open comparison


def _records(rich: list[float], poor: list[float]) -> list[dict]:
    return [{"method": m, "seed": s, "y2": v} for m, values in (("rich", rich), ("poor", poor)) for s, v in enumerate(values)]


def _answer(records: list[dict], conclusion: str | None = None) -> dict:
    from mtl_helpers import compare_paired

    rich = [r["y2"] for r in records if r["method"] == "rich"]
    poor = [r["y2"] for r in records if r["method"] == "poor"]
    c = compare_paired(rich, poor, names=("rich", "poor"))
    return {"records": records, "interval": (c.low, c.high), "conclusion": conclusion or c.verdict}


_RNG = np.random.default_rng(5)
_POOR = list(0.3 + 0.05 * _RNG.standard_normal(10))
_RICH_BETTER = [v - 0.05 + 0.01 * e for v, e in zip(_POOR, _RNG.standard_normal(10), strict=True)]
_SAME = [v + 0.02 * e for v, e in zip(_POOR, _RNG.standard_normal(10), strict=True)]


def test_ex4_protocol_passes() -> None:
    for rich in (_RICH_BETTER, _SAME):
        result = evaluate("ch7.ex4", _answer(_records(rich, _POOR)))
        assert result.passed, result.message


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (_answer(_records(_RICH_BETTER[:5], _POOR[:5])), "at least 10"),
        (_answer(_records(_RICH_BETTER, _POOR)) | {"records": _records(_RICH_BETTER, _POOR)[:-1]}, "not paired"),
        (_answer(_records(_RICH_BETTER, _POOR), "no clear difference"), "excludes 0"),
        (_answer(_records(_RICH_BETTER, _POOR), "poor better"), "direction"),
        ({"records": _records(_RICH_BETTER, _POOR), "interval": (0.0, 1.0), "conclusion": "rich better"}, "interval"),
        ({"records": _records(_RICH_BETTER, _POOR)}, "missing"),
    ],
)
def test_ex4_protocol_slips_get_hints(answer: dict, words: str) -> None:
    result = evaluate("ch7.ex4", answer)
    assert not result.passed
    assert words in result.message, result.message
