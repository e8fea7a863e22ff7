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

from mtl_helpers.runtime import PALETTE, TASK_COLORS
from mtl_helpers.training import TrainingLog

__all__ = ["plot_learning_curves", "plot_seed_spread"]


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
    if not log.eval_mse:
        raise ValueError("log has no held-out errors; call fit(..., eval_data=..., eval_every=...)")
    ax = _axes(ax)
    for task, values in log.eval_mse.items():
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
