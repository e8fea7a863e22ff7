"""Input checks shared by the helper modules (private).

Each function raises ``ValueError`` or ``TypeError`` with a message that
quotes what was received and says how to fix it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from mtl_helpers._tensorflow import tf


def as_float_matrix(value: Any, *, name: str, rows: int | None = None, cols: int | None = None) -> np.ndarray:
    """Return ``value`` as a finite float32 array of shape (rows, cols).

    ``None`` for ``rows`` or ``cols`` accepts any size along that axis.
    """
    if isinstance(value, tf.Tensor | tf.Variable):
        value = value.numpy()
    try:
        array = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}") from error
    if array.ndim != 2:
        hint = f"; pass {name}[:, None]" if array.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D (n_rows, n_cols), got shape {array.shape}{hint}")
    if rows is not None and array.shape[0] != rows:
        raise ValueError(f"{name} must have {rows} rows, got shape {array.shape}")
    if cols is not None and array.shape[1] != cols:
        raise ValueError(f"{name} must have {cols} columns, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ValueError(f"{name} contains {bad} NaN or infinite values; clean or re-generate the data")
    return array


def int_at_least(value: Any, minimum: int, *, name: str) -> int:
    """Return ``value`` as an int, checking that it is at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def positive_int(value: Any, *, name: str) -> int:
    """Return ``value`` as an int >= 1 (a count of steps, rows, units ...)."""
    return int_at_least(value, 1, name=name)


def non_negative_int(value: Any, *, name: str) -> int:
    """Return ``value`` as an int >= 0 (a seed, a number of warm-up calls ...)."""
    return int_at_least(value, 0, name=name)


def flag(value: Any, *, name: str) -> bool:
    """Return ``value`` if it is ``True`` or ``False``; anything else is refused."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def task_names(tasks: Any, *, known: Iterable[str] | None = None) -> tuple[str, ...]:
    """Return a non-empty tuple of distinct task names (each one of ``known`` if given)."""
    if isinstance(tasks, str) or not isinstance(tasks, Iterable):
        raise TypeError(f"tasks must be a sequence of task names such as ['y1', 'y2'], got {tasks!r}")
    tasks = tuple(tasks)
    if not tasks:
        raise ValueError("tasks is empty; give task names such as ['y1', 'y2']")
    if not all(isinstance(task, str) for task in tasks):
        raise TypeError(f"task names must be strings, got {list(tasks)}")
    if len(set(tasks)) != len(tasks):
        raise ValueError(f"task names must be distinct, got {list(tasks)}")
    if known is not None:
        for task in tasks:
            known_task(task, known)
    return tasks


def known_task(task: Any, tasks: Iterable[str]) -> str:
    """Check that ``task`` is one of ``tasks`` and return it."""
    tasks = tuple(tasks)
    if task not in tasks:
        raise ValueError(f"unknown task {task!r}; expected one of {list(tasks)}")
    return task


def task_weights(weights: Mapping[str, float] | None, tasks: Iterable[str], *, name: str = "loss_weights") -> dict[str, float]:
    """Return one finite, non-negative float weight per task (default 1.0 each)."""
    tasks = tuple(tasks)
    if weights is None:
        return {task: 1.0 for task in tasks}
    if not isinstance(weights, Mapping):
        raise TypeError(
            f"{name} must be a dict keyed by task name such as {{'y1': 1.0, 'y2': 0.5}}, "
            f"got {type(weights).__name__}"
        )
    unknown = sorted(set(weights) - set(tasks))
    missing = [task for task in tasks if task not in weights]
    if unknown:
        raise ValueError(f"{name} has unknown task names {unknown}; expected keys {list(tasks)}")
    if missing:
        raise ValueError(f"{name} is missing tasks {missing}; give a weight for each of {list(tasks)}")
    result = {}
    for task in tasks:
        weight = float(weights[task])
        if not np.isfinite(weight) or weight < 0:
            raise ValueError(f"{name}[{task!r}] must be a finite number >= 0, got {weights[task]!r}")
        result[task] = weight
    return result


def batch_arrays(batch: Any, *, tasks: Iterable[str], in_dim: int, out_dim: int) -> dict[str, np.ndarray]:
    """Check a batch dict ``{"x": (n, in_dim), task: (n, out_dim), ...}``.

    Only the tasks named in ``tasks`` must be present; other keys are ignored.
    Returns float32 arrays (tensors are converted).
    """
    if not isinstance(batch, Mapping):
        raise TypeError(
            f"a batch must be a dict like {{'x': ..., 'y1': ...}}, got {type(batch).__name__}"
        )
    if "x" not in batch:
        raise ValueError(f"the batch has no 'x' entry; its keys are {sorted(batch)}")
    x = as_float_matrix(batch["x"], name="batch['x']", cols=in_dim)
    arrays = {"x": x}
    for task in tasks:
        if task not in batch:
            raise ValueError(f"the batch has no {task!r} targets; its keys are {sorted(batch)}")
        arrays[task] = as_float_matrix(batch[task], name=f"batch[{task!r}]", rows=x.shape[0], cols=out_dim)
    return arrays
