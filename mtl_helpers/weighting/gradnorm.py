"""GradNorm (Chen, Badrinarayanan, Lee & Rabinovich, ICML 2018).

GradNorm tunes the loss weights so that every task's weighted gradient on
the shared variables has a norm proportional to how far that task still has
to go. With ``g_i`` the gradient of the *unweighted* loss ``L_i`` on the
shared variables and ``w_i`` the current weights::

    G_i = w_i * |g_i|                                  (norm of the weighted gradient)
    r_i = (L_i / L_i(0)) / mean_j (L_j / L_j(0))       (relative inverse training rate)
    L_grad = sum_i | G_i - mean_j(G_j) * r_i ** alpha |

``L_i(0)`` is the loss at the first step. Each step, the network trains on
``sum_i w_i * L_i``; the weights take one gradient step on ``L_grad`` with
the targets ``mean(G) * r_i ** alpha`` held constant, then are renormalised
to sum to ``n_tasks``. A task that trains slowly (large ``r_i``) gets a
larger target and so a larger weight; ``alpha`` sets how strongly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from mtl_helpers._tensorflow import tf
from mtl_helpers.data import TASKS
from mtl_helpers.weighting.base import StatefulWeighting

__all__ = ["GradNorm"]


def _positive_number(value: float, *, name: str, hint: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0 ({hint}), got {value!r}")
    return float(value)


class GradNorm(StatefulWeighting):
    """GradNorm loss weights (Chen et al., ICML 2018).

    ``L = sum_i w_i * L_i`` with weights adapted every step by one gradient
    step on GradNorm's loss ``sum_i |w_i |g_i| - mean_j(w_j |g_j|) r_i^alpha|``
    (see the module docstring). Its gradient in ``w_i`` is
    ``sign(G_i - target_i) * |g_i|``; after the step the weights are floored
    at ``min_weight`` (so they stay positive) and rescaled to sum to
    ``n_tasks``.

    The trainer passes the jacobian of the unweighted task losses on the
    shared variables (``needs_gradients`` is True). The weights are not
    trained by the trainer's optimizer (``variables`` is empty): they change
    inside :meth:`combine`, which returns the total with the weights from
    *before* the update, as constants.

    Reference: Z. Chen, V. Badrinarayanan, C.-Y. Lee and A. Rabinovich,
    "GradNorm: Gradient Normalization for Adaptive Loss Balancing in Deep
    Multitask Networks", ICML 2018.

    Parameters
    ----------
    tasks : sequence of str, default ("y1", "y2")
    alpha : float, default 1.5
        Strength of the pull towards equal training rates (the paper uses
        0.12 to 3.0); 0 asks for equal gradient norms.
    learning_rate : float, default 0.025
        Step size of the plain gradient step on the weights. The step of
        ``w_i`` is ``learning_rate * |g_i|``, so it scales with the gradient
        norms: lower it when the gradients are large.
    min_weight : float, default 1e-3
        Floor applied to the weights before renormalising.

    Notes
    -----
    A task whose first loss ``L_i(0)`` is 0 gets ``r_i = 0`` (no division by
    zero); an all-zero jacobian leaves the weights unchanged.

    Examples
    --------
    >>> gradnorm = GradNorm(alpha=1.5, learning_rate=0.1)
    >>> jacobian = tf.constant([[3.0, 0.0], [0.0, 1.0]])  # |g_y1| = 3, |g_y2| = 1
    >>> total, weights = gradnorm.combine({"y1": tf.constant(1.0), "y2": tf.constant(1.0)}, jacobian=jacobian)
    >>> float(total), {task: round(float(w), 3) for task, w in weights.items()}
    (2.0, {'y1': 1.0, 'y2': 1.0})
    >>> {task: round(w, 3) for task, w in gradnorm.weights.items()}  # 1 - 0.1 * 3 and 1 + 0.1 * 1, rescaled
    {'y1': 0.778, 'y2': 1.222}
    """

    needs_gradients = True

    def __init__(
        self,
        tasks: Sequence[str] = TASKS,
        *,
        alpha: float = 1.5,
        learning_rate: float = 0.025,
        min_weight: float = 1e-3,
    ) -> None:
        super().__init__(tasks, prefix="gradnorm")
        self.alpha = _positive_number(alpha, name="alpha", hint="the paper uses 0.12 to 3.0")
        self.learning_rate = _positive_number(learning_rate, name="learning_rate", hint="for example 0.025")
        self.min_weight = _positive_number(min_weight, name="min_weight", hint="a small positive floor such as 1e-3")
        if self.learning_rate == 0 or self.min_weight == 0 or self.min_weight >= 1:
            raise ValueError(
                f"learning_rate must be > 0 and min_weight in (0, 1), got learning_rate={learning_rate!r}, "
                f"min_weight={min_weight!r}"
            )
        self.step = self._state(0, dtype=tf.int64, name="gradnorm_step")
        self.initial_losses = self._state(tf.zeros([len(self.tasks)]), name="gradnorm_initial_losses")

    def _check_jacobian(self, jacobian: tf.Tensor | None) -> tf.Tensor:
        if jacobian is None:
            raise ValueError(
                "GradNorm needs the per-task gradients: pass jacobian= (n_tasks, n_shared_parameters), the gradients "
                "of the unweighted losses on the shared variables (JointTrainer does this when needs_gradients is True)"
            )
        jacobian = tf.cast(tf.convert_to_tensor(jacobian), tf.float32)
        n_tasks = len(self.tasks)
        if jacobian.shape.rank != 2 or jacobian.shape[0] != n_tasks:
            raise ValueError(
                f"GradNorm needs a jacobian of shape ({n_tasks}, n_shared_parameters), one row per task of "
                f"{list(self.tasks)}, got shape {jacobian.shape}"
            )
        return jacobian

    def combine(
        self, losses: Mapping[str, tf.Tensor], *, jacobian: tf.Tensor | None = None
    ) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        """``(sum_i w_i * L_i, {task: w_i})``, then one GradNorm update of the weights.

        Parameters
        ----------
        losses : dict of str to scalar tensor
            This step's unweighted loss of every task in ``tasks``.
        jacobian : tensor of shape (n_tasks, n_shared_parameters)
            Row ``i``: the gradient of ``losses[tasks[i]]`` on the shared
            variables, flattened. Required.

        Returns
        -------
        total : scalar tensor
            Differentiable in the losses; the weights are constants.
        weights : dict of str to scalar tensor
            The weights applied (before this step's update).
        """
        self._check_losses(losses)
        jacobian = self._check_jacobian(jacobian)
        values = tf.stack([tf.cast(losses[task], tf.float32) for task in self.tasks])
        weights = tf.identity(self.current_weights)
        total = tf.reduce_sum(tf.stop_gradient(weights) * values)

        losses_now = tf.stop_gradient(values)
        initial = self.initial_losses.assign(tf.where(self.step == 0, losses_now, self.initial_losses))
        self.step.assign_add(1)
        loss_ratios = tf.math.divide_no_nan(losses_now, initial)  # L_i / L_i(0)
        rates = tf.math.divide_no_nan(loss_ratios, tf.reduce_mean(loss_ratios))  # r_i
        gradient_norms = tf.norm(tf.stop_gradient(jacobian), axis=1)  # |g_i|
        norms = weights * gradient_norms  # G_i
        targets = tf.reduce_mean(norms) * tf.pow(rates, self.alpha)
        updated = tf.maximum(weights - self.learning_rate * tf.sign(norms - targets) * gradient_norms, self.min_weight)
        self.current_weights.assign(float(len(self.tasks)) * updated / tf.reduce_sum(updated))
        return total, {task: weights[number] for number, task in enumerate(self.tasks)}

    def __repr__(self) -> str:
        return (
            f"GradNorm(tasks={list(self.tasks)}, alpha={self.alpha:g}, learning_rate={self.learning_rate:g}, "
            f"min_weight={self.min_weight:g})"
        )
