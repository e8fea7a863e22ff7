"""Plots shared by the chapters: learning curves and results over seeds.

Colours are fixed per task (:data:`mtl_helpers.TASK_COLORS`) so a task looks
the same in every figure. Each function draws on a Matplotlib ``Axes`` and
returns it, so chapters can combine panels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from mtl_helpers._validation import known_task
from mtl_helpers.data import TASKS
from mtl_helpers.inspection import steps_of_task
from mtl_helpers.runtime import PALETTE, TASK_COLORS
from mtl_helpers.trainers import TrainingLog

__all__ = ["plot_learning_curves", "plot_seed_spread", "plot_task_curves"]


def _axes(ax: Axes | None) -> Axes:
    if ax is None:
        _, ax = plt.subplots()
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    return ax


def plot_learning_curves(
    log: TrainingLog, *, ax: Axes | None = None, label: str = "", linestyle: str = "-", log_scale: bool = True
) -> Axes:
    """Held-out MSE of each task against training steps.

    Parameters
    ----------
    log : TrainingLog
        From ``fit(..., eval_data=..., eval_every=...)``.
    ax : matplotlib Axes, optional
    label : str, optional
        Prefix for the legend entries, e.g. the method's name.
    linestyle : str, default "-"
    log_scale : bool, default True
        Logarithmic error axis.
    """
    if not isinstance(log, TrainingLog):
        raise TypeError(f"log must be a TrainingLog from fit(), got {type(log).__name__}")
    if not log.eval_metric:
        raise ValueError("log has no held-out errors; call fit(..., eval_data=..., eval_every=...)")
    ax = _axes(ax)
    for task, values in log.eval_metric.items():
        name = f"{label} {task}".strip()
        ax.plot(log.eval_step, values, linestyle=linestyle, color=TASK_COLORS.get(task), label=name)
    ax.set_xlabel("training step")
    ax.set_ylabel("held-out MSE")
    if log_scale:
        ax.set_yscale("log")
    ax.legend()
    return ax


def plot_seed_spread(
    results: Mapping[str, Mapping[str, Sequence[float]]],
    *,
    ax: Axes | None = None,
    ylabel: str = "held-out MSE",
) -> Axes:
    """Per-seed results of several methods, as dots with mean and ±1 std.

    Parameters
    ----------
    results : dict
        ``{method: {task: [value per seed, ...]}}``, e.g.
        ``{"alternating": {"y1": [...], "y2": [...]}, "joint": {...}}``.
    ax : matplotlib Axes, optional
    ylabel : str, default "held-out MSE"
    """
    if not results:
        raise ValueError("results is empty; pass {method: {task: [values per seed]}}")
    ax = _axes(ax)
    methods = list(results)
    tasks = list(dict.fromkeys(task for per_task in results.values() for task in per_task))
    width = 0.8 / max(len(tasks), 1)
    for t, task in enumerate(tasks):
        color = TASK_COLORS.get(task, PALETTE[t % len(PALETTE)])
        for m, method in enumerate(methods):
            if task not in results[method]:
                continue
            values = np.asarray(results[method][task], dtype=float)
            x = m + (t - (len(tasks) - 1) / 2) * width
            jitter = np.linspace(-width / 4, width / 4, values.size)
            ax.scatter(x + jitter, values, s=14, color=color, alpha=0.6, label=task if m == 0 else None)
            ax.errorbar(x, values.mean(), yerr=values.std(ddof=1) if values.size > 1 else 0, fmt="_",
                        color="black", markersize=16, capsize=4, linewidth=1.2)
    ax.set_xticks(range(len(methods)), methods)
    ax.set_ylabel(ylabel)
    ax.legend(title="task")
    return ax


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
        ax.plot(steps_of_task(alternating, task), alternating.eval_metric[task], color=color, label="alternating")
        ax.plot(steps_of_task(single[task], task), single[task].eval_metric[task], color=color, linestyle="--",
                label=f"{task} alone")
        ax.set_yscale("log")
        ax.set_xlabel(f"steps of task {task}")
        ax.set_title(f"task {task}")
        ax.legend()
    axes[0].set_ylabel("held-out MSE")
    return axes
