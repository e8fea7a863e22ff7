"""Looking inside a run: weight changes, optimizer state, shared features (chapters 3 and 5).

* :func:`weight_changes`: which weights a step moved, and how far;
* :func:`adam_slots`: what an Adam optimizer remembers about one variable;
* :func:`steps_of_task`: how many steps of a task had run at each evaluation;
* :func:`final_block_drift`: how far the idle task's error moved in the final block;
* :func:`shared_readout_r2`: how well the shared features linearly predict each task.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mtl_helpers._keras import adam_moments
from mtl_helpers._tensorflow import tf
from mtl_helpers._validation import positive_int
from mtl_helpers.data import TASKS
from mtl_helpers.trainers import TrainingLog

__all__ = ["adam_slots", "final_block_drift", "shared_readout_r2", "steps_of_task", "weight_changes"]


def weight_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, float]:
    """The largest absolute change of each weight between two snapshots.

    Parameters
    ----------
    before, after : dict of str to array
        Snapshots with the same keys and shapes, e.g. from
        ``net.get_weights()`` before and after a step.

    Returns
    -------
    dict of str to float
        ``max |after - before|`` per key; exactly ``0.0`` when the weight is
        unchanged bit for bit.

    Examples
    --------
    >>> weight_changes({"w": np.zeros(2)}, {"w": np.array([0.0, 0.5])})
    {'w': 0.5}
    """
    for name, snapshot in (("before", before), ("after", after)):
        if not isinstance(snapshot, Mapping):
            raise TypeError(f"{name} must be a dict of arrays such as net.get_weights(), got {type(snapshot).__name__}")
    if set(before) != set(after):
        raise ValueError(f"before and after must have the same keys, got {sorted(before)} and {sorted(after)}")
    changes = {}
    for key in before:
        old, new = np.asarray(before[key], dtype=np.float64), np.asarray(after[key], dtype=np.float64)
        if old.shape != new.shape:
            raise ValueError(f"{key!r} has shape {old.shape} before and {new.shape} after")
        changes[key] = float(np.max(np.abs(new - old))) if old.size else 0.0
    return changes


def _check_adam(optimizer: Any) -> tf.keras.optimizers.Adam:
    if not isinstance(optimizer, tf.keras.optimizers.Adam):
        raise TypeError(f"optimizer must be a Keras Adam optimizer, got {type(optimizer).__name__}")
    if not optimizer.built:
        raise ValueError("the optimizer has not been built yet; build it with optimizer.build(variables)")
    return optimizer


def adam_slots(optimizer: tf.keras.optimizers.Adam, variable: tf.Variable) -> dict[str, Any]:
    """What an Adam optimizer remembers about one variable.

    Parameters
    ----------
    optimizer : keras.optimizers.Adam
        A built optimizer, e.g. ``trainer.optimizers["y1"]``.
    variable : tf.Variable
        One of the variables it updates, e.g. ``net.shared``.

    Returns
    -------
    dict
        ``{"iterations": int, "m": ndarray, "v": ndarray}``: the number of
        updates this optimizer has applied, and its first-moment (mean of
        gradients) and second-moment (mean of squared gradients) estimates,
        each with the variable's shape.

    Examples
    --------
    >>> trainer = AlternatingTrainer(TwoHeadNet(seed=0))
    >>> adam_slots(trainer.optimizers["y1"], trainer.net.shared)["m"].shape
    (10, 20)
    """
    optimizer = _check_adam(optimizer)
    if not isinstance(variable, tf.Variable):
        raise TypeError(f"variable must be a tf.Variable such as net.shared, got {type(variable).__name__}")
    momentum, velocity = adam_moments(optimizer, variable)
    return {
        "iterations": int(optimizer.iterations.numpy()),
        "m": np.array(momentum.numpy()),
        "v": np.array(velocity.numpy()),
    }


def steps_of_task(log: TrainingLog, task: str) -> np.ndarray:
    """How many steps of ``task`` had run at each evaluation of ``log``.

    Parameters
    ----------
    log : TrainingLog
        From ``fit(..., eval_data=..., eval_every=...)``.
    task : str

    Returns
    -------
    ndarray of int, shape (n_evals,)
        Aligned with ``log.eval_step``.
    """
    if not isinstance(log, TrainingLog):
        raise TypeError(f"log must be a TrainingLog from fit(), got {type(log).__name__}")
    counts = np.concatenate([[0], np.cumsum(np.asarray(log.task) == task)])
    return counts[np.asarray(log.eval_step, dtype=int)]


def final_block_drift(log: TrainingLog, block: int) -> dict[str, float]:
    """How much the idle task's held-out error moved during the final block.

    The final ``block`` steps of a block schedule train one task; the other
    task's head is frozen while the shared layer moves under it. Returns
    that idle task's held-out metric at the end of training minus its MSE
    ``block`` steps earlier, and the ratio of the two.

    Parameters
    ----------
    log : TrainingLog
        From a block schedule, evaluated at least at step ``steps - block``
        and at the end.
    block : int

    Returns
    -------
    dict
        ``{"task": idle task, "change": end - start, "ratio": end / start}``.
    """
    block = positive_int(block, name="block")
    if not isinstance(log, TrainingLog) or not log.eval_metric:
        raise ValueError("log must be a TrainingLog with held-out errors (fit with eval_data=...)")
    steps = len(log.task)
    if block > steps:
        raise ValueError(f"block ({block}) is longer than the run ({steps} steps)")
    last_block = set(np.asarray(log.task)[steps - block :].tolist())
    if len(last_block) != 1:
        raise ValueError(f"the final {block} steps trained {sorted(last_block)}; pass the schedule's block length")
    trained = last_block.pop()
    idle = [task for task in log.eval_metric if task != trained]
    if len(idle) != 1:
        raise ValueError(f"expected exactly one idle task besides {trained!r}, got {idle}")
    positions = {int(step): i for i, step in enumerate(log.eval_step)}
    if steps - block not in positions or steps not in positions:
        raise ValueError(
            f"the log has no evaluation at step {steps - block} (start of the final block); "
            f"fit with eval_every dividing {steps - block}, or eval_every={steps - block}"
        )
    values = log.eval_metric[idle[0]]
    start, end = float(values[positions[steps - block]]), float(values[positions[steps]])
    return {"task": idle[0], "change": end - start, "ratio": end / start}


def shared_readout_r2(
    net: Any, data: Mapping[str, Any], *, tasks: Sequence[str] = TASKS, ridge: float = 1e-3
) -> dict[str, float]:
    """How well the shared layer's features linearly predict each task.

    Fits a ridge regression (with intercept) from ``net.shared_features(x)``
    to each task's targets on the first half of ``data`` and returns the
    coefficient of determination R² on the second half: 1 means the
    features carry everything a linear readout needs for that task, 0 no
    more than the mean.

    Parameters
    ----------
    net : network with ``shared_features(x)``, e.g. a TwoHeadNet
    data : dict
        Held-out data ``{"x": (n, d), "y1": (n, 1), "y2": (n, 1)}``, n >= 4.
    tasks : sequence of str, default ("y1", "y2")
    ridge : float, default 1e-3
        L2 penalty of the readout.

    Returns
    -------
    dict
        ``{task: R²}`` on the second half.
    """
    x = np.asarray(data["x"], dtype=np.float32)
    if x.shape[0] < 4:
        raise ValueError(f"data needs at least 4 rows (half to fit, half to score), got {x.shape[0]}")
    if not np.isfinite(ridge) or ridge < 0:
        raise ValueError(f"ridge must be a finite number >= 0, got {ridge!r}")
    features = net.shared_features(tf.constant(x)).numpy().astype(np.float64)
    design = np.concatenate([features, np.ones((len(features), 1))], axis=1)
    half = len(design) // 2
    gram = design[:half].T @ design[:half] + ridge * np.eye(design.shape[1])
    scores = {}
    for task in tasks:
        y = np.asarray(data[task], dtype=np.float64)
        coefficients = np.linalg.solve(gram, design[:half].T @ y[:half])
        residual = y[half:] - design[half:] @ coefficients
        scores[task] = float(1.0 - np.mean(residual**2) / np.var(y[half:]))
    return scores
