"""Self-checks for chapter 10's exercises (scaling out with tf.distribute).

* ``ch10.ex1``: ``answer_fn(row_losses, labelled, replicas)`` -> each
  replica's share of a masked mean when the global batch is split into equal
  shards in order: the replica's labelled losses over the labelled rows of
  the *whole* batch, so that the shares add up to the masked mean.
* ``ch10.ex2``: ``answer_fn(addresses, index)`` -> the ``TF_CONFIG`` of worker
  ``index`` in a cluster of workers only, as a dict or its JSON string; the
  check reads every worker's answer with TensorFlow's
  ``TFConfigClusterResolver``.
* ``ch10.ex3``: ``answer_fn(schedule, replicas, peak, steps)`` -> each task's
  learning rate after alternating training ran ``schedule``, for a linear
  warmup keyed on the task's own optimizer count:
  ``peak * min(1, (count + 1) / steps)``.
* ``ch10.ex4`` (open): a paired comparison of the global batch sizes 64 and 16
  at a fixed number of rows seen, checked for the book's protocol by
  :func:`mtl_helpers.checks._protocol.register_paired_comparison`.

Every expected value is computed here with NumPy from the exercise's own
cases; none is typed in, and none is printed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from mtl_helpers._tensorflow import tf
from mtl_helpers.checks._core import CheckResult, compare_arrays, hint, needs_function, passed, register, task_numbers
from mtl_helpers.checks._protocol import register_paired_comparison

__all__: list[str] = []


def _as_vector(value: Any) -> np.ndarray | None:
    try:
        array = np.asarray(value.numpy() if hasattr(value, "numpy") else value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return array


# ---------------------------------------------------------------- exercise 1

def _ex1_cases() -> list[tuple[np.ndarray, np.ndarray, int]]:
    """(row losses, mask, replicas): uneven labels, a shard without labels, three replicas."""
    rng = np.random.default_rng(10)
    uneven = np.r_[np.ones(2), np.zeros(6), np.ones(8)]
    empty = np.r_[np.zeros(6), np.ones(3), np.zeros(1), np.ones(2)]
    third = (rng.random(12) < 0.6).astype(float)
    third[:4] = [1.0, 0.0, 0.0, 0.0]
    return [(rng.random(16) * 3.0, uneven, 2), (rng.random(12) * 2.0, empty, 3), (rng.random(12), third, 3)]


def _ex1_expected(losses: np.ndarray, mask: np.ndarray, replicas: int) -> np.ndarray:
    return np.array([shard.sum() for shard in np.split(losses * mask, replicas)]) / mask.sum()


def _ex1_slips(losses: np.ndarray, mask: np.ndarray, replicas: int) -> list[tuple[np.ndarray, str]]:
    """Plausible wrong shares and the hint that names each slip."""
    shard_sums = np.array([shard.sum() for shard in np.split(losses * mask, replicas)])
    shard_counts = np.array([shard.sum() for shard in np.split(mask, replicas)])
    with np.errstate(divide="ignore", invalid="ignore"):
        replica_means = shard_sums / shard_counts
    plain = np.array([shard.sum() for shard in np.split(losses, replicas)])
    return [
        (replica_means, "each replica divided by its own labelled rows: divide by the labelled rows of the whole batch"),
        (replica_means / replicas, "a replica's masked mean divided by the number of replicas weighs rows equally only "
         "when every replica has as many labels: divide by the labelled rows of the whole batch"),
        (shard_sums / losses.size, "you divided by all rows of the batch; a masked mean divides by the labelled rows only"),
        (shard_sums / (losses.size / replicas), "you divided by the rows of a shard; divide by the labelled rows of the "
         "whole batch"),
        (plain / mask.sum(), "the unlabelled rows' losses are in your sums: multiply by the mask first"),
        (plain / losses.size, "this is the share of a plain mean; the task's loss is a masked mean"),
    ]


@register("ch10.ex1")
def _check_ex1(answer_fn: Callable[..., Any]) -> CheckResult:
    problem = needs_function(answer_fn)
    if problem:
        return problem
    for losses, mask, replicas in _ex1_cases():
        got = _as_vector(answer_fn(losses.copy(), mask.copy(), replicas))
        if got is None:
            return hint("answer_fn should return an array of numbers, one share per replica")
        expected = _ex1_expected(losses, mask, replicas)
        if got.shape == expected.shape:
            if not np.all(np.isfinite(got)):
                return hint("a share is NaN or infinite: a replica without labelled rows still has a share (zero); "
                            "do not divide by its own count")
            if np.allclose(got, expected, rtol=1e-5, atol=1e-9):
                continue
            for wrong, message in _ex1_slips(losses, mask, replicas):
                if np.allclose(got, wrong, rtol=1e-5, atol=1e-9, equal_nan=True):
                    return hint(message)
            if np.isclose(got.sum(), expected.sum(), rtol=1e-5):
                return hint("the shares add up to the masked mean but are split wrongly: replica r gets rows "
                            "r * n / replicas up to (r + 1) * n / replicas")
        result = compare_arrays(got, expected, name="the replicas' shares", rtol=1e-5, atol=1e-9)
        if not result.passed:
            return result
    return passed("correct: every replica divides by the global count of labels.")


# ---------------------------------------------------------------- exercise 2

EX2_ADDRESSES: tuple[str, ...] = ("10.0.0.1:2222", "10.0.0.2:2222", "10.0.0.3:2223")


def _resolve(config: Mapping[str, Any]) -> tuple[dict[str, list[str]], str | None, int | None] | str:
    """What TensorFlow reads from this TF_CONFIG: (cluster, task type, task id), or its error."""
    saved = os.environ.get("TF_CONFIG")
    os.environ["TF_CONFIG"] = json.dumps(config)
    try:
        resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
        return resolver.cluster_spec().as_dict(), resolver.task_type, resolver.task_id
    except Exception as error:  # TensorFlow's own complaint, for the hint
        return f"{type(error).__name__}: {error}"
    finally:
        if saved is None:
            os.environ.pop("TF_CONFIG", None)
        else:
            os.environ["TF_CONFIG"] = saved


def _ex2_config(answer: Any) -> Mapping[str, Any] | CheckResult:
    if isinstance(answer, str | bytes):
        try:
            answer = json.loads(answer)
        except ValueError:
            return hint("the string answer_fn returned is not valid JSON; return a dict or json.dumps(a dict)")
    if not isinstance(answer, Mapping):
        return hint(f"answer_fn should return a dict (or its JSON string), got {type(answer).__name__}")
    missing = [key for key in ("cluster", "task") if key not in answer]
    if missing:
        return hint(f"a TF_CONFIG has the keys 'cluster' and 'task'; {missing} missing")
    try:
        json.dumps(answer)
    except (TypeError, ValueError):
        return hint("the TF_CONFIG must be JSON: use lists, dicts, strings and ints only")
    return answer


@register("ch10.ex2")
def _check_ex2(answer_fn: Callable[..., Any]) -> CheckResult:
    problem = needs_function(answer_fn)
    if problem:
        return problem
    addresses = list(EX2_ADDRESSES)
    clusters = []
    for index in range(len(addresses)):
        config = _ex2_config(answer_fn(list(addresses), index))
        if isinstance(config, CheckResult):
            return config
        task = config["task"]
        if not isinstance(task, Mapping) or set(task) != {"type", "index"}:
            return hint("'task' should be a dict with the keys 'type' and 'index'")
        if task["type"] != "worker":
            return hint(f"worker {index}'s task type is {task['type']!r}: every process here is a 'worker' "
                        "(worker 0 acts as chief without a job of its own)")
        if isinstance(task["index"], bool) or not isinstance(task["index"], int | np.integer):
            return hint(f"the task index should be an int such as {index}, got {type(task['index']).__name__}")
        resolved = _resolve(config)
        if isinstance(resolved, str):
            return hint(f"TensorFlow cannot read worker {index}'s TF_CONFIG: {resolved[:120]}")
        cluster, task_type, task_id = resolved
        if set(cluster) != {"worker"}:
            return hint(f"the cluster should have one job, 'worker', listing every address; it has {sorted(cluster)}")
        if sorted(cluster["worker"]) != sorted(addresses):
            return hint("the cluster's worker list should hold every address exactly once, as given")
        if (task_type, task_id) != ("worker", index):
            return hint(f"TensorFlow reads worker {index}'s TF_CONFIG as {task_type} {task_id}")
        clusters.append(cluster["worker"])
    if any(cluster != clusters[0] for cluster in clusters):
        return hint("every worker must list the cluster in the same order: a worker's position is its identity")
    if clusters[0] != addresses:
        return hint("list the workers in the order given, so that worker i is at addresses[i]")
    return passed("correct: TensorFlow reads one cluster and each worker's own index.")


# ---------------------------------------------------------------- exercise 3

def _ex3_cases() -> list[tuple[list[str], int, float, int]]:
    rng = np.random.default_rng(3)
    first = [str(task) for task in np.where(rng.random(60) < 0.75, "y1", "y2")]
    second = [str(task) for task in np.where(rng.random(40) < 0.3, "y1", "y2")]
    return [(first, 2, 0.01, 30), (second, 4, 0.05, 20), (["y1"] * 5 + ["y2"] * 3, 8, 0.1, 4)]


def _rates(counts: Mapping[str, int], peak: float, steps: int) -> dict[str, float]:
    return {task: peak * min(1.0, (count + 1) / steps) for task, count in counts.items()}


@register("ch10.ex3")
def _check_ex3(answer_fn: Callable[..., Any]) -> CheckResult:
    problem = needs_function(answer_fn)
    if problem:
        return problem
    for schedule, replicas, peak, steps in _ex3_cases():
        tasks = sorted(set(schedule))
        got = task_numbers(answer_fn(list(schedule), replicas, peak, steps), tasks, values="learning rate")
        if isinstance(got, CheckResult):
            return got
        counts = {task: schedule.count(task) for task in tasks}
        expected = _rates(counts, peak, steps)
        if all(np.isclose(got[t], expected[t], rtol=1e-6) for t in tasks):
            continue
        slips = [
            (_rates(dict.fromkeys(tasks, len(schedule)), peak, steps),
             "every task's optimizer counted every step; it counts only the steps of its own task"),
            (_rates({t: c * replicas for t, c in counts.items()}, peak, steps),
             "a step counts once, however many replicas compute it: the count does not grow with the replicas"),
            ({t: peak * min(1.0, c / steps) for t, c in counts.items()},
             "off by one step: the chapter's Warmup uses (count + 1) / steps"),
            (dict(zip(tasks, reversed([expected[t] for t in tasks]), strict=True)),
             "the two tasks' learning rates are swapped"),
        ]
        for wrong, message in slips:
            if all(np.isclose(got[t], wrong[t], rtol=1e-6) for t in tasks):
                return hint(message)
        if any(got[t] > peak * (1 + 1e-9) for t in tasks):
            return hint("a warmup never goes above its peak: the factor min(1, ...) caps it")
        return hint("the learning rates differ: count each task's steps in the schedule, then apply the warmup")
    return passed("correct: each task's optimizer counts only its own steps.")


# ---------------------------------------------------------------- exercise 4

#: Exercise 4's labels and metric: the interval is that of ``batch 64 - batch 16``
#: of the mean of the two tasks' test MSEs.
EX4_METHODS: tuple[str, str] = ("batch 64", "batch 16")
EX4_METRIC: str = "error"


register_paired_comparison("ch10.ex4", methods=EX4_METHODS, metric=EX4_METRIC)
