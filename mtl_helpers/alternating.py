"""Alternating training, looked at closely (chapter 3).

Chapter 3 takes :class:`mtl_helpers.AlternatingTrainer` apart: which weights a
step moves, what its two Adam optimizers remember, and whether alternating
between two related tasks beats training each task alone. The helpers here:

* :func:`coin_flip_schedule`: the article's coin flip per step, seeded;
* :func:`weight_changes`: the largest change of each weight between two
  snapshots (exactly ``0.0`` when a weight was not touched);
* :func:`adam_slots`: an Adam optimizer's step count and moment estimates for
  one variable;
* :func:`restart`: put a trainer back to a fresh start without building (and
  tracing) a new one;
* :func:`compare_with_single_task`: alternating training against single-task
  baselines over several seeds;
* :func:`steps_of_task` and :func:`plot_task_curves`: learning curves against
  the number of steps each task received.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from mtl_helpers._tensorflow import tf
from mtl_helpers._validation import known_task, positive_int
from mtl_helpers.data import TASKS, RelatedTasks
from mtl_helpers.models import STRUCTURED_NET, TwoHeadNet
from mtl_helpers.runtime import TASK_COLORS, progress
from mtl_helpers.training import AlternatingTrainer, TrainingLog, article_adam

__all__ = [
    "adam_slots",
    "coin_flip_schedule",
    "compare_with_single_task",
    "plot_task_curves",
    "steps_of_task",
    "weight_changes",
]


def coin_flip_schedule(steps: int, *, seed: int, p_y1: float = 0.5) -> list[str]:
    """The article's coin flip, one per step, from a seeded generator.

    The article trains task 1 when ``np.random.rand() < 0.5`` and task 2
    otherwise. This draws the same flips from ``np.random.default_rng(seed)``,
    so a schedule can be repeated exactly.

    Parameters
    ----------
    steps : int
        Length of the schedule.
    seed : int
        Seed of the generator; nothing else draws from it.
    p_y1 : float, default 0.5
        Probability that a step trains ``"y1"``.

    Returns
    -------
    list of str, length steps
        Each entry ``"y1"`` or ``"y2"``.

    Examples
    --------
    >>> coin_flip_schedule(4, seed=0)
    ['y2', 'y1', 'y1', 'y1']
    """
    steps = positive_int(steps, name="steps")
    positive_int(seed, name="seed", minimum=0)
    if not np.isfinite(p_y1) or not 0.0 <= p_y1 <= 1.0:
        raise ValueError(f"p_y1 must be a probability in [0, 1], got {p_y1!r}")
    draws = np.random.default_rng(seed).random(steps)
    return ["y1" if draw < p_y1 else "y2" for draw in draws]


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


def _slot_variables(optimizer: tf.keras.optimizers.Adam, variable: tf.Variable) -> tuple[Any, Any]:
    # Keras 3 keeps Adam's moments in lists indexed like the built variables.
    try:
        index = optimizer._get_variable_index(variable)
    except KeyError:
        raise ValueError(f"the optimizer does not update variable {variable.name!r}") from None
    return optimizer._momentums[index], optimizer._velocities[index]


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
    momentum, velocity = _slot_variables(optimizer, variable)
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


def _single_task_run(
    trainer: AlternatingTrainer,
    weights: Mapping[str, Any],
    datasets: Mapping[str, Mapping[str, Any]],
    schedule: Sequence[str],
    **fit_options: Any,
) -> TrainingLog:
    trainer.net.set_weights(weights)  # a fresh start without tracing a new trainer
    trainer.reset_optimizer_state()
    return trainer.fit(datasets, schedule, **fit_options)


def compare_with_single_task(
    correlation: float,
    *,
    seeds: Sequence[int],
    n_per_task: int = 100,
    steps: int = 2000,
    batch_size: int = 32,
    learning_rate: float = 0.01,
    eval_size: int = 2000,
) -> dict[str, dict[str, list[float]]]:
    """Alternating training against one single-task network per task, over seeds.

    For each seed: draw two related tasks (``RelatedTasks(correlation,
    seed=seed)``), a separate training set of ``n_per_task`` rows per task and
    a held-out set of ``eval_size`` rows; train a fresh network
    (``TwoHeadNet(head_units=1, output_activation="linear", use_bias=True,
    seed=seed)``) for ``steps`` coin-flip steps; then, from the same initial
    weights, train one network per task on that task alone, for exactly the
    number of steps the coin flip gave the task. Report each task's held-out
    mean squared error.

    Parameters
    ----------
    correlation : float
        Relatedness ``p`` of the two tasks, in [-1, 1].
    seeds : sequence of int
        One run per seed (tasks, data, initial weights, coin flips, batches).
    n_per_task : int, default 100
    steps : int, default 2000
        Steps of alternating training (both tasks together).
    batch_size : int, default 32
    learning_rate : float, default 0.01
        Adam's learning rate (TF1's other defaults).
    eval_size : int, default 2000

    Returns
    -------
    dict
        ``{"alternating": {"y1": [mse per seed], "y2": [...]},
        "single task": {"y1": [...], "y2": [...]}}``, ready for
        :func:`mtl_helpers.plot_seed_spread` and
        :func:`mtl_helpers.paired_difference`.
    """
    seeds = [positive_int(seed, name="seed", minimum=0) for seed in seeds]
    if not seeds:
        raise ValueError("seeds is empty; pass e.g. range(5)")
    n_per_task = positive_int(n_per_task, name="n_per_task")
    eval_size = positive_int(eval_size, name="eval_size")
    results: dict[str, dict[str, list[float]]] = {"alternating": {}, "single task": {}}
    trainer = AlternatingTrainer(TwoHeadNet(**STRUCTURED_NET), lambda: article_adam(learning_rate))
    for seed in progress(seeds, description="seeds"):
        tasks = RelatedTasks(correlation=correlation, seed=seed)
        datasets = tasks.sample_separate(dict.fromkeys(TASKS, n_per_task), seed=seed)
        held_out = tasks.sample(eval_size, seed=seed + 10_000)
        initial = TwoHeadNet(**STRUCTURED_NET, seed=seed).get_weights()
        schedule = coin_flip_schedule(steps, seed=seed)
        options = {"batch_size": batch_size, "seed": seed, "eval_data": held_out}
        final = _single_task_run(trainer, initial, datasets, schedule, **options).final_mse()
        for task in TASKS:
            results["alternating"].setdefault(task, []).append(final[task])
            alone = [task] * schedule.count(task)
            single = _single_task_run(trainer, initial, datasets, alone, **options).final_mse()
            results["single task"].setdefault(task, []).append(single[task])
    return results


def plot_task_curves(
    alternating: TrainingLog,
    single: Mapping[str, TrainingLog],
    *,
    axes: Sequence[Axes] | None = None,
) -> list[Axes]:
    """Each task's held-out error against the steps that task received.

    One panel per task: alternating training (solid) and the single-task
    network (dashed). The x axis counts only that task's steps, so both
    curves spend the same number of updates on the task's head.

    Parameters
    ----------
    alternating : TrainingLog
        From ``AlternatingTrainer.fit`` with ``eval_data`` and ``eval_every``.
    single : dict of str to TrainingLog
        ``{"y1": log of a y1-only run, "y2": log of a y2-only run}``.
    axes : sequence of matplotlib Axes, optional
        One per task; default a new figure with one row of panels.

    Returns
    -------
    list of matplotlib Axes
    """
    if not isinstance(single, Mapping) or not single:
        raise ValueError("single must be a dict {task: TrainingLog of that task alone}")
    tasks = [known_task(task, TASKS) for task in single]
    if axes is None:
        _, created = plt.subplots(1, len(tasks), figsize=(3.6 * len(tasks), 3.4), sharey=True, squeeze=False)
        axes = list(created[0])
    axes = list(axes)
    if len(axes) != len(tasks):
        raise ValueError(f"need one Axes per task ({len(tasks)}), got {len(axes)}")
    for ax, task in zip(axes, tasks, strict=True):
        color = TASK_COLORS[task]
        ax.plot(steps_of_task(alternating, task), alternating.eval_mse[task], color=color, label="alternating")
        ax.plot(steps_of_task(single[task], task), single[task].eval_mse[task], color=color, linestyle="--",
                label=f"{task} alone")
        ax.set_yscale("log")
        ax.set_xlabel(f"steps of task {task}")
        ax.set_title(f"task {task}")
        ax.legend()
    axes[0].set_ylabel("held-out MSE")
    return axes
