"""Self-checks for chapter 1's exercises (computation graphs).

Every expected value is computed here, at check time, by TensorFlow itself:
a ``Session.run`` of the article's graph (ex1), the pruning rule applied to
the two-task graph (ex2), real calls of a ``tf.function`` (ex3, ex4).

Exercise 1 asks for NumPy only, so its check also reads the names the
answer's code refers to (:func:`names_used`) and refuses TensorFlow: a
function that runs the article's graph or calls ``tf`` gets the right numbers
by the method the exercise rules out.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import numpy as np

from mtl_helpers._tensorflow import tf
from mtl_helpers.checks._code import TENSORFLOW_NAMES, forbidden_names
from mtl_helpers.checks._core import CheckResult, compare_arrays, hint, needs_function, passed, register

__all__ = ["PRUNING_FETCHES", "TRACING_CALLS", "count_tracings"]

v1 = tf.compat.v1

#: Exercise 2: operations of ``compat_v1.ArticleGraph`` to fetch, in this order.
PRUNING_FETCHES: tuple[str, ...] = ("shared_layer", "y1_layer", "y1_loss", "y2_loss", "y2_W/Assign")

#: Exercise 3: the calls of ``scale_sum``, in order, as Python source.
TRACING_CALLS: tuple[str, ...] = (
    "scale_sum(tf.ones([3]), 2.0)",
    "scale_sum(tf.ones([3]), 2.0)",
    "scale_sum(tf.zeros([3]), 2.0)",
    "scale_sum(tf.ones([4]), 2.0)",
    "scale_sum(tf.ones([3]), 3.0)",
    "scale_sum(tf.ones([3]), tf.constant(3.0))",
    "scale_sum(tf.ones([3]), tf.constant(5.0))",
    "scale_sum(tf.ones([4]), 2.0)",
)


def _article_loss(x: np.ndarray, w: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The article's ``Loss`` tensor evaluated by a TF1 session."""
    graph = tf.Graph()
    with graph.as_default():
        x_in = v1.placeholder("float", [10, 10], name="X")
        y_in = v1.placeholder("float", [10, 1], name="Y")
        weights = v1.Variable(w, name="W", dtype="float32")
        loss = tf.pow(tf.add(y_in, -tf.matmul(x_in, weights)), 2, name="Loss")
        init = v1.global_variables_initializer()
    with v1.Session(graph=graph) as session:
        session.run(init)
        return session.run(loss, {x_in: x, y_in: y})


@register("ch1.ex1")
def check_article_loss(answer_fn: Any) -> CheckResult:
    """``answer_fn(x, w, y)`` returns the article's element-wise loss with NumPy."""
    if problem := needs_function(answer_fn):
        return problem
    if used := forbidden_names(answer_fn, TENSORFLOW_NAMES):
        return hint(
            f"compute the loss with NumPy only: your function uses {used}; "
            "write the formula of the Loss line with NumPy arrays and operators"
        )
    rng = np.random.default_rng(2016)
    for _ in range(2):
        x = rng.random((10, 10)).astype(np.float32)
        w = rng.standard_normal((10, 1)).astype(np.float32)
        y = rng.random((10, 1)).astype(np.float32)
        try:
            got = answer_fn(x.copy(), w.copy(), y.copy())
        except NotImplementedError:
            raise
        except Exception as error:  # a student's bug: report it as a hint
            return hint(f"answer_fn(x, w, y) raised {type(error).__name__}: {error}")
        result = compare_arrays(got, _article_loss(x, w, y), name="answer_fn(x, w, y)", rtol=1e-4, atol=1e-4)
        if not result.passed:
            return result
    return passed("correct: your NumPy loss matches the session's Loss for random inputs.")


def _needed_placeholders() -> dict[str, set[str]]:
    from mtl_helpers.compat_v1 import ArticleGraph
    from mtl_helpers.graph_diagrams import required_operations

    article = ArticleGraph(seed=0)
    placeholders = {op.name for op in article.graph.get_operations() if op.type == "Placeholder"}
    return {
        fetch: required_operations(article.graph.get_operation_by_name(fetch)) & placeholders
        for fetch in PRUNING_FETCHES
    }


@register("ch1.ex2")
def check_needed_placeholders(answer: Any) -> CheckResult:
    """``answer`` maps each fetch of PRUNING_FETCHES to the set of placeholder names it needs."""
    if not isinstance(answer, Mapping):
        return hint(f"answer should be a dict {{fetch name: set of placeholder names}}, got {type(answer).__name__}")
    expected = _needed_placeholders()
    missing = [fetch for fetch in PRUNING_FETCHES if fetch not in answer]
    if missing:
        return hint(f"answer has no entry for {missing}; give one set per fetch in {list(PRUNING_FETCHES)}")
    all_names = set().union(*expected.values())
    for fetch in PRUNING_FETCHES:
        value = answer[fetch]
        if isinstance(value, str) or not isinstance(value, set | frozenset | list | tuple):
            return hint(f"answer[{fetch!r}] should be a set of names like {{'X'}} (or set() for none), got {value!r}")
        names = set(value)
        strange = sorted(name for name in names if name not in all_names)
        if strange:
            return hint(
                f"answer[{fetch!r}] contains {strange}, which is not a placeholder of the graph; "
                "names are case-sensitive, list them with graph_operations(article.graph)"
            )
        if names - expected[fetch]:
            return hint(f"answer[{fetch!r}] lists a placeholder that this fetch does not depend on")
        if expected[fetch] - names:
            return hint(f"answer[{fetch!r}] misses a placeholder that this fetch depends on")
    return passed("correct: exactly the placeholders each Session.run needs fed.")


def count_tracings(calls: tuple[str, ...] = TRACING_CALLS) -> list[int]:
    """Run ``calls`` on a fresh ``scale_sum`` and return its tracing count after each."""

    @tf.function
    def scale_sum(x: tf.Tensor, factor: Any) -> tf.Tensor:
        return factor * tf.reduce_sum(x)

    namespace = {"tf": tf, "scale_sum": scale_sum}
    counts = []
    for call in calls:
        eval(call, namespace)  # our own constant strings, see TRACING_CALLS
        counts.append(int(scale_sum.experimental_get_tracing_count()))
    return counts


@register("ch1.ex3")
def check_tracing_counts(answer: Any) -> CheckResult:
    """``answer`` is the tracing count after each call of TRACING_CALLS."""
    if isinstance(answer, int | np.integer):
        return hint(f"give the count after each of the {len(TRACING_CALLS)} calls as a list, not one number")
    try:
        counts = [int(value) for value in answer]
    except (TypeError, ValueError):
        return hint(f"answer should be a list of {len(TRACING_CALLS)} ints, got {type(answer).__name__}")
    if len(counts) != len(TRACING_CALLS):
        return hint(f"answer has {len(counts)} counts; give one per call, {len(TRACING_CALLS)} in all")
    expected = count_tracings()
    if any(later < earlier for earlier, later in itertools.pairwise(counts)):
        return hint("the tracing count never goes down: each entry is the total number of traces so far")
    for number, (got, want) in enumerate(zip(counts, expected, strict=True), start=1):
        if got != want:
            return hint(
                f"the count after call {number} ({TRACING_CALLS[number - 1]}) is not right; "
                "ask whether that call's input signature (shapes, dtypes, Python values) was seen before"
            )
    return passed("correct: you can predict when tf.function traces.")


@register("ch1.ex4")
def check_trace_once(answer: Any) -> CheckResult:
    """``answer`` is a tf.function ``weighted_mse(prediction, target, weight)`` that traces once."""
    if not hasattr(answer, "experimental_get_tracing_count"):
        return hint(f"answer should be a tf.function (decorate your function with @tf.function), got {type(answer).__name__}")
    rng = np.random.default_rng(4)
    before = answer.experimental_get_tracing_count()
    calls = [((3, 2), 0.5), ((5, 2), 2.0), ((8, 1), 1.5), ((4, 3), tf.constant(3.0))]
    for shape, weight in calls:
        prediction = rng.standard_normal(shape).astype(np.float32)
        target = rng.standard_normal(shape).astype(np.float32)
        try:
            got = answer(tf.constant(prediction), tf.constant(target), weight)
        except NotImplementedError:
            raise
        except Exception as error:  # a student's bug: report it as a hint
            return hint(f"calling answer with shape {shape} and weight {float(weight)} raised {type(error).__name__}")
        expected = float(weight) * np.mean((prediction - target) ** 2)
        result = compare_arrays(got, np.float64(expected), name=f"answer(prediction {shape}, target, weight)")
        if not result.passed:
            return result
    traces = answer.experimental_get_tracing_count() - before
    if traces > 1:
        return hint(
            f"the values are right but these {len(calls)} calls traced {traces} new graphs; "
            "make the signature cover any batch size, any number of columns and any float weight"
        )
    return passed("correct: one graph serves every batch shape and every weight.")
