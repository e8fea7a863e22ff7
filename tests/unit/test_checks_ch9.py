"""The self-checks of chapter 9: right answers pass, wrong methods get a hint that names the problem."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import numpy as np
import pytest
from check_answers import assert_not_attempted, not_implemented
from scipy import stats as scipy_stats

from mtl_helpers import Classification, Results, tf
from mtl_helpers.checks import evaluate
from mtl_helpers.heads import masked_mean


@contextlib.contextmanager
def _no_warnings() -> Iterator[None]:
    """Silence NumPy's RuntimeWarning for the mean of an empty slice (a wrong answer's NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


@pytest.mark.parametrize(
    ("exercise", "answer"),
    [("ch9.ex4", None)] + [(f"ch9.ex{n}", stub) for n in (1, 2, 3) for stub in (None, not_implemented)],
)
def test_stub_and_none_are_not_attempted(exercise: str, answer: object) -> None:
    """A student edition leaves ``answer = None`` or a function whose body raises NotImplementedError."""
    assert_not_attempted(exercise, answer)


@pytest.mark.parametrize("exercise", ["ch9.ex1", "ch9.ex2", "ch9.ex3"])
def test_a_result_instead_of_the_function_gets_a_hint(exercise: str) -> None:
    result = evaluate(exercise, 0.5)
    assert not result.passed and result.attempted
    assert "pass the function itself" in result.message


# ---------------------------------------------------------------- exercise 1: the masked cross-entropy


def _row_losses(labels: np.ndarray, logits: np.ndarray) -> tf.Tensor:
    safe = tf.maximum(tf.constant(labels, tf.int32), 0)
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=safe, logits=tf.constant(logits, tf.float32))


def _mask(labels: np.ndarray) -> tf.Tensor:
    return tf.cast(tf.constant(labels) >= 0, tf.float32)


def _masked_tf(labels: np.ndarray, logits: np.ndarray) -> tf.Tensor:
    mask = _mask(labels)
    return tf.math.divide_no_nan(tf.reduce_sum(mask * _row_losses(labels, logits)), tf.reduce_sum(mask))


def _masked_numpy(labels: np.ndarray, logits: np.ndarray) -> float:
    labelled = labels >= 0
    if not labelled.any():
        return 0.0
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_softmax[labelled, labels[labelled]].mean())


@pytest.mark.parametrize(
    "answer_fn",
    [
        _masked_tf,
        _masked_numpy,
        lambda labels, logits: masked_mean(_row_losses(labels, logits), _mask(labels)),  # the package's helper
        lambda labels, logits: (  # the head's per-row losses, averaged in NumPy
            Classification(logits.shape[1]).row_losses(labels, logits).numpy()[labels >= 0].mean()
            if (labels >= 0).any()
            else 0.0
        ),
    ],
)
def test_ex1_right_answers_pass(answer_fn: object) -> None:
    result = evaluate("ch9.ex1", answer_fn)
    assert result.passed, result.message


@pytest.mark.parametrize(
    ("answer_fn", "words"),
    [
        # mean over the batch: the labelled rows' sum divided by the batch size
        (lambda y, z: tf.reduce_sum(_mask(y) * _row_losses(y, z)) / len(y), "divides by the batch size"),
        # missing labels treated as class 0
        (lambda y, z: tf.reduce_mean(_row_losses(y, z)), "still count"),
        # a sum, not a mean
        (lambda y, z: tf.reduce_sum(_mask(y) * _row_losses(y, z)), "a sum over the labelled rows"),
        # 0/0 in a batch without labels
        (lambda y, z: tf.reduce_sum(_mask(y) * _row_losses(y, z)) / tf.reduce_sum(_mask(y)), "NaN"),
        # NumPy's mean of an empty selection is NaN too
        (lambda y, z: float(np.mean(_row_losses(y, z).numpy()[y >= 0])), "NaN"),
        # probabilities instead of logits
        (lambda y, z: _masked_tf(y, tf.nn.softmax(z).numpy()), "logits"),
        # per-row losses instead of their mean
        (lambda y, z: (_mask(y) * _row_losses(y, z)).numpy(), "one number"),
        # the labels of -1 passed straight to TensorFlow
        (
            lambda y, z: tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.constant(y), logits=tf.constant(z))
            ),
            "raised",
        ),
    ],
)
def test_ex1_wrong_methods_get_hints(answer_fn: object, words: str) -> None:
    with _no_warnings():
        result = evaluate("ch9.ex1", answer_fn)
    assert not result.passed and result.attempted
    assert words in result.message, result.message


def test_ex1_a_constant_zero_for_empty_batches_is_not_enough() -> None:
    result = evaluate("ch9.ex1", lambda labels, logits: 0.0)
    assert not result.passed
    assert "not the cross-entropy" in result.message or "sum" in result.message


# ---------------------------------------------------------------- exercise 2: Keras' default reduction


def _weights(labels: np.ndarray) -> np.ndarray:
    mask = (np.asarray(labels) >= 0).astype(np.float32)
    return mask * len(mask) / mask.sum() if mask.sum() else mask


def test_ex2_right_answer_passes() -> None:
    result = evaluate("ch9.ex2", _weights)
    assert result.passed, result.message


def test_ex2_expected_weights_make_keras_default_give_the_masked_mean(rng: np.random.Generator) -> None:
    """The check's formula against Keras itself: sum_over_batch_size with these weights = the masked mean."""
    labels = np.array([1, 0, -1, 1, -1, -1, 0, 1], np.int32)
    logits = rng.standard_normal((8, 2)).astype(np.float32)
    loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum_over_batch_size")
    keras_value = float(loss(np.maximum(labels, 0), logits, sample_weight=_weights(labels)))
    assert keras_value == pytest.approx(_masked_numpy(labels, logits.astype(np.float64)), rel=1e-5)


@pytest.mark.parametrize(
    ("answer_fn", "words"),
    [
        (lambda y: (y >= 0).astype(float), "0/1 masks"),
        (lambda y: (y >= 0) / max((y >= 0).sum(), 1), "factor of the batch size"),
        (lambda y: np.full(len(y), len(y) / max((y >= 0).sum(), 1)), "must get weight 0"),
        (lambda y: (y >= 0) * len(y) / (y >= 0).sum(), "finite"),
        (lambda y: _weights(y)[:-1], "shape"),
        (lambda y: 2 * _weights(y), "constant factor"),
        (lambda y: "weights", "array of weights"),
    ],
)
def test_ex2_wrong_methods_get_hints(answer_fn: object, words: str) -> None:
    with _no_warnings():
        result = evaluate("ch9.ex2", answer_fn)
    assert not result.passed and result.attempted
    assert words in result.message, result.message


# ---------------------------------------------------------------- exercise 3: which test number to report


def _report(log: dict) -> tuple[float, float]:
    best = int(np.argmin(log["validation"]))
    return log["step"][best], log["test"][best]


def test_ex3_right_answer_passes() -> None:
    assert evaluate("ch9.ex3", _report).passed
    as_list = evaluate("ch9.ex3", lambda log: list(_report(log)))
    assert as_list.passed, as_list.message


def _latest_tie(log: dict) -> tuple[float, float]:
    validation = np.asarray(log["validation"])
    best = int(np.flatnonzero(validation == validation.min())[-1])
    return log["step"][best], log["test"][best]


@pytest.mark.parametrize(
    ("answer_fn", "words"),
    [
        (lambda log: (log["step"][int(np.argmin(log["test"]))], min(log["test"])), "chosen by the test error"),
        (lambda log: (_report(log)[0], min(log["test"])), "chosen by the test error"),
        (lambda log: (log["step"][-1], log["test"][-1]), "last step"),
        (lambda log: (_report(log)[0], min(log["validation"])), "not the validation error"),
        (lambda log: (int(np.argmin(log["validation"])), _report(log)[1]), "not the position"),
        (_latest_tie, "keep the earliest"),
        (lambda log: _report(log)[1], "a pair"),
    ],
)
def test_ex3_wrong_methods_get_hints(answer_fn: object, words: str) -> None:
    result = evaluate("ch9.ex3", answer_fn)
    assert not result.passed and result.attempted
    assert words in result.message, result.message


# ---------------------------------------------------------------- exercise 4 (open): the protocol
# (the shared check of mtl_helpers.checks._protocol is tested for every slip with chapters 3-5;
# here: chapter 9's labels, its metric, and the direction of an accuracy, where higher is better)


def _records(shift: float = 0.03, seeds: int = 10, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    records = []
    for s in range(seeds):
        base = float(np.clip(rng.normal(0.8, 0.05), 0.5, 0.95))
        records.append({"method": "masked", "seed": s, "sex": base + shift + float(rng.normal(0, 0.02))})
        records.append({"method": "complete rows", "seed": s, "sex": base})
    return records


def _paired(records: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    by = {(r["method"], r["seed"]): r["sex"] for r in records}
    seeds = sorted({r["seed"] for r in records})
    return np.array([by["masked", s] for s in seeds]), np.array([by["complete rows", s] for s in seeds])


def _interval(values: np.ndarray, quantile: float | None = None) -> tuple[float, float]:
    q = scipy_stats.t.ppf(0.975, values.size - 1) if quantile is None else quantile
    half = q * values.std(ddof=1) / np.sqrt(values.size)
    return float(values.mean() - half), float(values.mean() + half)


def _answer(records: list[dict]) -> dict:
    masked, complete = _paired(records)
    low, high = _interval(masked - complete)
    conclusion = "masked better" if low > 0 else "complete rows better" if high < 0 else "no clear difference"
    return {"records": records, "interval": (low, high), "conclusion": conclusion}


@pytest.mark.parametrize(("shift", "conclusion"), [(0.03, "masked better"), (-0.03, "complete rows better"),
                                                   (0.0, "no clear difference")])
def test_ex4_right_answers_pass(shift: float, conclusion: str) -> None:
    answer = _answer(_records(shift))
    assert answer["conclusion"] == conclusion  # the test data cover the three verdicts
    result = evaluate("ch9.ex4", answer)
    assert result.passed, result.message


def test_ex4_the_chapters_own_solution_passes() -> None:
    """The solution's way: Results.compare with lower_is_better=False and PairedComparison.verdict."""
    results = Results(_records())
    comparison = results.compare("sex", {"method": "masked"}, {"method": "complete rows"},
                                 names=("masked", "complete rows"), lower_is_better=False)
    answer = {"records": results, "interval": (comparison.low, comparison.high), "conclusion": comparison.verdict}
    result = evaluate("ch9.ex4", answer)
    assert result.passed, result.message


def test_ex4_a_higher_accuracy_is_better() -> None:
    answer = _answer(_records(0.03))
    answer["conclusion"] = "complete rows better"  # the verdict of an error, where lower is better
    result = evaluate("ch9.ex4", answer)
    assert not result.passed and "direction" in result.message


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ("too few seeds", "at least 10"),
        ("reversed", "complete rows - masked"),
        ("bad label", "label the runs"),
        ("wrong metric", "'sex'"),
        ("no conclusion", "missing the keys"),
    ],
)
def test_ex4_slips_get_hints(change: str, words: str) -> None:
    records = _records()
    answer = _answer(records)
    if change == "too few seeds":
        answer = _answer(_records(seeds=5))
    elif change == "reversed":
        low, high = answer["interval"]
        answer["interval"] = (-high, -low)
    elif change == "bad label":
        answer["records"] = [{**r, "method": "mask"} if r["method"] == "masked" else r for r in records]
    elif change == "wrong metric":
        answer["records"] = [{"accuracy": r["sex"], "method": r["method"], "seed": r["seed"]} for r in records]
    else:
        del answer["conclusion"]
    result = evaluate("ch9.ex4", answer)
    assert not result.passed and result.attempted
    assert words in result.message, result.message


def test_ex4_verdict_does_not_trust_a_patched_stats_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """An answer cell that changes mtl_helpers.stats cannot change the check's verdict."""
    import mtl_helpers.stats

    monkeypatch.setattr(mtl_helpers.stats, "MIN_SEEDS", 2)
    assert not evaluate("ch9.ex4", _answer(_records(seeds=5))).passed
