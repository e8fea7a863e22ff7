"""Uncertainty weighting (Kendall, Gal & Cipolla, CVPR 2018).

The weighted total is ``sum_i 0.5 * exp(-s_i) * L_i + 0.5 * s_i`` with one
trainable log-variance ``s_i`` per task. For a fixed ``L_i`` the minimum is at
``s_i = log L_i``: the weight ``exp(-s_i)`` tends to ``1 / L_i``, so every
weighted loss tends to 1. The paper derives it for losses that are mean
squared errors, so that ``exp(s_i)`` estimates the task's noise variance;
use a network whose ``loss`` is ``"mean_squared_error"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mtl_helpers._tensorflow import tf
from mtl_helpers.data import TASKS
from mtl_helpers.weighting.base import Weighting

__all__ = ["UncertaintyWeights", "uncertainty_weighted_loss"]


def uncertainty_weighted_loss(losses: Mapping[str, Any], log_variances: Mapping[str, Any]) -> Any:
    """Kendall et al.'s total: ``sum_i 0.5 * exp(-s_i) * L_i + 0.5 * s_i``.

    Parameters
    ----------
    losses : dict
        ``{task: L_i}``, floats, arrays or tensors.
    log_variances : dict
        ``{task: s_i}`` with the same keys.

    Returns
    -------
    float, ndarray or tensor
        The total (works with NumPy and TensorFlow values alike).

    Examples
    --------
    >>> float(uncertainty_weighted_loss({"y1": 4.0}, {"y1": 0.0}))
    2.0
    """
    if not isinstance(losses, Mapping) or not isinstance(log_variances, Mapping):
        raise TypeError("losses and log_variances must be dicts keyed by task name")
    if set(losses) != set(log_variances) or not losses:
        raise ValueError(f"losses and log_variances need the same task names, got {sorted(losses)} and {sorted(log_variances)}")
    total = 0.0
    for task, loss in losses.items():
        s = log_variances[task]
        exp = tf.exp if isinstance(s, tf.Tensor | tf.Variable) else np.exp
        total = total + 0.5 * exp(-s) * loss + 0.5 * s
    return total


class UncertaintyWeights(Weighting):
    """Uncertainty weighting (Kendall, Gal & Cipolla, CVPR 2018).

    ``L = sum_i 0.5 * exp(-s_i) * L_i + 0.5 * s_i`` with one trainable
    log-variance ``s_i`` per task, trained by the trainer's optimizer with
    the network; the weight applied to ``L_i`` is reported as ``exp(-s_i)``
    (without the constant 0.5). A task with a large loss gets a large ``s_i``
    and so a small weight; the ``0.5 * s_i`` term stops every weight from
    going to zero.

    Parameters
    ----------
    tasks : sequence of str, default ("y1", "y2")
    initial_log_variance : float, default 0.0
        Starting ``s_i`` for every task (weight 1), as in the paper.

    Examples
    --------
    >>> weighting = UncertaintyWeights()
    >>> total, applied = weighting.combine({"y1": tf.constant(4.0), "y2": tf.constant(2.0)})
    >>> float(total), {task: float(w) for task, w in applied.items()}
    (3.0, {'y1': 1.0, 'y2': 1.0})
    """

    def __init__(self, tasks: Sequence[str] = TASKS, *, initial_log_variance: float = 0.0) -> None:
        super().__init__(tasks)
        if not np.isfinite(initial_log_variance):
            raise ValueError(f"initial_log_variance must be a finite number, got {initial_log_variance!r}")
        self.initial_log_variance = float(initial_log_variance)
        self.log_variances = {
            task: tf.Variable(self.initial_log_variance, dtype=tf.float32, name=f"log_variance_{task}") for task in self.tasks
        }

    @property
    def variables(self) -> list[tf.Variable]:
        """The trainable log-variances ``[s_1, s_2, ...]``."""
        return list(self.log_variances.values())

    @property
    def weights(self) -> dict[str, float]:
        """The current weights ``{task: exp(-s_i)}``."""
        return {task: float(np.exp(-s.numpy())) for task, s in self.log_variances.items()}

    def reset(self) -> None:
        """Set every ``s_i`` back to ``initial_log_variance``."""
        for s in self.log_variances.values():
            s.assign(self.initial_log_variance)

    def combine(
        self, losses: Mapping[str, tf.Tensor], *, jacobian: tf.Tensor | None = None
    ) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        """``(sum_i 0.5 exp(-s_i) L_i + 0.5 s_i, {task: exp(-s_i)})``; ``jacobian`` is not used."""
        self._check_losses(losses)
        total = uncertainty_weighted_loss({task: losses[task] for task in self.tasks}, self.log_variances)
        return total, {task: tf.exp(-s) for task, s in self.log_variances.items()}

    def __repr__(self) -> str:
        return f"UncertaintyWeights(tasks={list(self.tasks)}, initial_log_variance={self.initial_log_variance:g})"
