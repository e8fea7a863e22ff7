"""The self-checks of chapter 10: right answers pass, wrong methods get a hint that names the slip."""

from __future__ import annotations

import json

import numpy as np
import pytest
from check_answers import assert_not_attempted, fails_with, not_implemented, paired_answer

from mtl_helpers.checks import evaluate


@pytest.mark.parametrize(
    ("exercise", "answer"),
    [("ch10.ex4", None)] + [(f"ch10.ex{n}", stub) for n in (1, 2, 3) for stub in (None, not_implemented)],
)
def test_stub_and_none_are_not_attempted(exercise: str, answer: object) -> None:
    assert_not_attempted(exercise, answer)


# ---------------------------------------------------------------- exercise 1: a replica's share of a masked loss


def _shards(values: np.ndarray, replicas: int) -> list[np.ndarray]:
    return np.split(np.asarray(values, dtype=float), replicas)


def _right_shares(losses: np.ndarray, labelled: np.ndarray, replicas: int) -> np.ndarray:
    labelled = np.asarray(labelled)
    return np.array([shard.sum() for shard in _shards(np.asarray(losses) * labelled, replicas)]) / labelled.sum()


def test_ex1_right_answer_passes() -> None:
    assert evaluate("ch10.ex1", _right_shares).passed


def test_ex1_a_tensorflow_answer_passes() -> None:
    import tensorflow as tf

    def with_tensors(losses: np.ndarray, labelled: np.ndarray, replicas: int) -> object:
        sums = tf.reduce_sum(tf.reshape(tf.constant(losses * labelled), [replicas, -1]), axis=1)
        return sums / tf.reduce_sum(labelled)

    assert evaluate("ch10.ex1", with_tensors).passed


def _replica_mean(losses: np.ndarray, labelled: np.ndarray, replicas: int) -> np.ndarray:
    pairs = zip(_shards(losses, replicas), _shards(labelled, replicas), strict=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.array([(loss * mask).sum() / mask.sum() for loss, mask in pairs])


@pytest.mark.parametrize(
    ("answer_fn", "words"),
    [
        (_replica_mean, "its own labelled rows"),
        (lambda x, m, r: _replica_mean(x, m, r) / r, "as many labels"),
        (lambda x, m, r: np.array([s.sum() for s in _shards(x * m, r)]) / len(x), "all rows of the batch"),
        (lambda x, m, r: np.array([s.sum() for s in _shards(x * m, r)]) / (len(x) / r), "rows of a shard"),
        (lambda x, m, r: np.array([s.sum() for s in _shards(x, r)]) / m.sum(), "multiply by the mask"),
        (lambda x, m, r: np.array([s.sum() for s in _shards(x, r)]) / len(x), "plain mean"),
        (lambda x, m, r: np.full(r, (x * m).sum() / m.sum() / r), "split wrongly"),
        (lambda x, m, r: (x * m).sum() / m.sum(), "shape"),
        (lambda x, m, r: "shares", "array of numbers"),
    ],
)
def test_ex1_wrong_methods_get_hints(answer_fn: object, words: str) -> None:
    fails_with("ch10.ex1", answer_fn, words)


def test_ex1_wants_the_function() -> None:
    fails_with("ch10.ex1", np.zeros(2), "function")


# ---------------------------------------------------------------- exercise 2: TF_CONFIG


def _config(addresses: list[str], index: int) -> dict:
    return {"cluster": {"worker": list(addresses)}, "task": {"type": "worker", "index": index}}


def test_ex2_right_answers_pass() -> None:
    assert evaluate("ch10.ex2", _config).passed
    assert evaluate("ch10.ex2", lambda a, i: json.dumps(_config(a, i))).passed


@pytest.mark.parametrize(
    ("answer_fn", "words"),
    [
        (lambda a, i: {**_config(a, i), "task": {"type": "worker", "index": str(i)}}, "should be an int"),
        (lambda a, i: {**_config(a, i), "task": {"type": "chief" if i == 0 else "worker", "index": i}}, "'worker'"),
        (lambda a, i: {**_config(a, i), "cluster": {"worker": [a[i], *[x for j, x in enumerate(a) if j != i]]}},
         "same order"),
        (lambda a, i: {**_config(a, i), "cluster": {"worker": list(reversed(a))}}, "order given"),
        (lambda a, i: {**_config(a, i), "cluster": {"worker": ",".join(a)}}, "cannot read"),
        (lambda a, i: {**_config(a, i), "cluster": {"worker": a[:-1]}}, "every address"),
        (lambda a, i: {**_config(a, i), "cluster": {"chief": a[:1], "worker": a[1:]}}, "one job"),
        (lambda a, i: {"cluster": {"worker": list(a)}}, "'task'"),
        (lambda a, i: "{cluster: workers}", "not valid JSON"),
        (lambda a, i: [a, i], "dict"),
    ],
)
def test_ex2_wrong_configs_get_hints(answer_fn: object, words: str) -> None:
    fails_with("ch10.ex2", answer_fn, words)


def test_ex2_leaves_tf_config_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setenv("TF_CONFIG", "mine")
    evaluate("ch10.ex2", _config)
    assert os.environ["TF_CONFIG"] == "mine"
    monkeypatch.delenv("TF_CONFIG")
    evaluate("ch10.ex2", _config)
    assert "TF_CONFIG" not in os.environ


# ---------------------------------------------------------------- exercise 3: learning rates after a schedule


def _rates(schedule: list[str], replicas: int, peak: float, steps: int) -> dict:
    return {task: peak * min(1.0, (schedule.count(task) + 1) / steps) for task in set(schedule)}


def _swapped(rates: dict) -> dict:
    tasks = sorted(rates)
    return dict(zip(tasks, [rates[task] for task in reversed(tasks)], strict=True))


def test_ex3_right_answer_passes() -> None:
    assert evaluate("ch10.ex3", _rates).passed


@pytest.mark.parametrize(
    ("answer_fn", "words"),
    [
        (lambda s, r, p, n: {t: p * min(1.0, (len(s) + 1) / n) for t in set(s)}, "its own task"),
        (lambda s, r, p, n: {t: p * min(1.0, (r * s.count(t) + 1) / n) for t in set(s)}, "however many replicas"),
        (lambda s, r, p, n: {t: p * min(1.0, s.count(t) / n) for t in set(s)}, "off by one"),
        (lambda s, r, p, n: {t: p * (s.count(t) + 1) / n for t in set(s)}, "min(1, ...)"),
        (lambda s, r, p, n: _swapped(_rates(s, r, p, n)), "swapped"),
        (lambda s, r, p, n: {"y1": p}, "keys"),
        (lambda s, r, p, n: [p, p], "dict"),
        (lambda s, r, p, n: {t: "warm" for t in set(s)}, "number"),
    ],
)
def test_ex3_wrong_methods_get_hints(answer_fn: object, words: str) -> None:
    fails_with("ch10.ex3", answer_fn, words)


# ---------------------------------------------------------------- exercise 4 (open): the protocol


def _answer(shift: float, *, seeds: int = 10, noise: float = 0.01) -> dict:
    """Test errors (lower is better): batch 64 against batch 16."""
    return paired_answer(("batch 64", "batch 16"), "error", shift, seeds=seeds, spread=0.2, noise=noise)


def test_ex4_right_answers_pass() -> None:
    assert evaluate("ch10.ex4", _answer(0.05)).passed
    assert evaluate("ch10.ex4", _answer(0.0, noise=0.05)).passed


def test_ex4_protocol_slips_get_hints() -> None:
    fails_with("ch10.ex4", _answer(0.05, seeds=5), "at least")
    clear = _answer(0.05)
    fails_with("ch10.ex4", {**clear, "conclusion": "no clear difference"}, "clear")
    fails_with("ch10.ex4", {**clear, "interval": tuple(-v for v in reversed(clear["interval"]))}, "batch 16 - batch 64")
    unpaired = [record for record in clear["records"].records if not (record["method"] == "batch 64" and record["seed"] == 0)]
    fails_with("ch10.ex4", {**clear, "records": unpaired}, "not paired")
