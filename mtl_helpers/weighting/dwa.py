"""Dynamic Weight Average (Liu, Johns & Davison, CVPR 2019).

A task whose loss has stopped falling gets a larger weight. With ``L_i(k)``
the mean loss of task ``i`` over period ``k`` (the paper's period is an
epoch)::

    r_i = L_i(k - 1) / L_i(k - 2),    w_i = n_tasks * exp(r_i / T) / sum_j exp(r_j / T)

so the weights sum to ``n_tasks``; a high temperature ``T`` makes them
equal. During the first two periods, before two means exist, every weight
is 1. The method needs no gradients and adds no trainable variables: its
state (the running sums and the last two means) lives in ``tf.Variable``\\ s
updated inside the training step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from mtl_helpers._tensorflow import tf
from mtl_helpers._validation import positive_int
from mtl_helpers.data import TASKS
from mtl_helpers.weighting.base import StatefulWeighting

__all__ = ["DynamicWeightAverage"]


class DynamicWeightAverage(StatefulWeighting):
    """Dynamic Weight Average, DWA (Liu, Johns & Davison, CVPR 2019).

    ``L = sum_i w_i * L_i`` with ``w_i = n * softmax(r / T)_i``, where ``r_i``
    is task ``i``'s mean loss over the last complete period divided by its
    mean loss over the period before (see the module docstring). Each call
    of :meth:`combine` is one step: it returns the total with the current
    weights, then adds the step's losses to the running period; at the end
    of a period the weights for the next one are computed.

    Reference: S. Liu, E. Johns and A. J. Davison, "End-to-End Multi-Task
    Learning with Attention", CVPR 2019.

    Parameters
    ----------
    tasks : sequence of str, default ("y1", "y2")
    temperature : float, default 2.0
        ``T`` (the paper uses 2); > 0.
    period : int, default 1
        Steps per period. The paper averages over an epoch: pass the number
        of steps per epoch to follow it. With 1, ``r_i`` is the ratio of
        the last two steps' losses (noisier with small batches).

    Notes
    -----
    A period whose mean loss is 0 gives ``r_i = 1`` for the next ratio
    (instead of dividing by zero). Losses should be positive.

    Examples
    --------
    >>> dwa = DynamicWeightAverage(temperature=2.0, period=1)
    >>> for y1, y2 in [(4.0, 4.0), (2.0, 4.0), (1.0, 4.0)]:  # y1 improves, y2 does not
    ...     total, weights = dwa.combine({"y1": tf.constant(y1), "y2": tf.constant(y2)})
    ...     print({task: round(float(w), 3) for task, w in weights.items()})
    {'y1': 1.0, 'y2': 1.0}
    {'y1': 1.0, 'y2': 1.0}
    {'y1': 0.876, 'y2': 1.124}
    """

    def __init__(self, tasks: Sequence[str] = TASKS, *, temperature: float = 2.0, period: int = 1) -> None:
        super().__init__(tasks, prefix="dwa")
        if isinstance(temperature, bool) or not isinstance(temperature, int | float | np.floating):
            raise TypeError(f"temperature must be a number, got {type(temperature).__name__} {temperature!r}")
        if not np.isfinite(temperature) or temperature <= 0:
            raise ValueError(f"temperature must be a finite number > 0 (the paper uses 2.0), got {temperature!r}")
        self.temperature = float(temperature)
        self.period = positive_int(period, name="period")
        n_tasks = len(self.tasks)
        self.step = self._state(0, dtype=tf.int64, name="dwa_step")
        self.completed_periods = self._state(0, dtype=tf.int64, name="dwa_completed_periods")
        self.running_sum = self._state(tf.zeros([n_tasks]), name="dwa_running_sum")
        self.last_mean = self._state(tf.zeros([n_tasks]), name="dwa_last_mean")
        self.earlier_mean = self._state(tf.zeros([n_tasks]), name="dwa_earlier_mean")

    def _update(self, values: tf.Tensor) -> None:
        """Add this step's losses; at the end of a period, move the means along and reweight.

        Written without ``tf.cond``: every variable is assigned on every step
        (its old value where the period goes on), which keeps the update legal
        inside a ``tf.distribute`` replica and cheap under XLA.
        """
        running = self.running_sum.assign_add(tf.stop_gradient(values))
        step = self.step.assign_add(1)
        ends = tf.equal(step % self.period, 0)
        mean = running / float(self.period)
        earlier = self.earlier_mean.assign(tf.where(ends, self.last_mean, self.earlier_mean))
        last = self.last_mean.assign(tf.where(ends, mean, self.last_mean))
        self.running_sum.assign(tf.where(ends, tf.zeros_like(running), running))
        completed = self.completed_periods.assign_add(tf.cast(ends, tf.int64))
        ratios = tf.where(earlier > 0, tf.math.divide_no_nan(last, earlier), 1.0)
        new_weights = float(len(self.tasks)) * tf.nn.softmax(ratios / self.temperature)
        new_weights = tf.where(completed >= 2, new_weights, tf.ones_like(new_weights))
        self.current_weights.assign(tf.where(ends, new_weights, self.current_weights))

    def combine(
        self, losses: Mapping[str, tf.Tensor], *, jacobian: tf.Tensor | None = None
    ) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        """``(sum_i w_i * L_i, {task: w_i})`` with this step's weights; ``jacobian`` is not used.

        Parameters
        ----------
        losses : dict of str to scalar tensor
            This step's loss of every task in ``tasks``.

        Returns
        -------
        total : scalar tensor
            Differentiable in the losses; the weights are constants.
        weights : dict of str to scalar tensor
            The weights applied (before this step's losses update them).
        """
        self._check_losses(losses)
        values = tf.stack([tf.cast(losses[task], tf.float32) for task in self.tasks])
        weights = tf.identity(self.current_weights)
        total = tf.reduce_sum(tf.stop_gradient(weights) * values)
        self._update(values)
        return total, {task: weights[number] for number, task in enumerate(self.tasks)}

    def __repr__(self) -> str:
        return f"DynamicWeightAverage(tasks={list(self.tasks)}, temperature={self.temperature:g}, period={self.period})"
