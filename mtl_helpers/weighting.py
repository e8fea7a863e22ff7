"""Loss weighting and target scaling for joint training (chapter 5).

Joint training minimises ``sum_i w_i * L_i``. When one task's targets are in
larger units its loss dominates the sum, and so do its gradients on the
shared layer. Three remedies:

* :class:`TargetScaler`: standardise every task's targets with statistics of
  the training data, train, then map predictions back to the original units.
* :class:`FixedWeights` (e.g. from :func:`inverse_variance_weights`): fixed
  ``w_i``, such as ``1 / Var(y_i)``.
* :class:`UncertaintyWeights`: learned weights (Kendall, Gal & Cipolla,
  CVPR 2018)::

      L = sum_i 0.5 * exp(-s_i) * L_i + 0.5 * s_i

  with one learned ``s_i`` (a log-variance) per task. For a fixed ``L_i`` the
  minimum is at ``s_i = log L_i``: the weight ``exp(-s_i)`` tends to
  ``1 / L_i``.

A weighting is a small object with one job: turn the task losses into a
total and report the weights it applied. :class:`WeightedJointTrainer` trains
a :class:`~mtl_helpers.TwoHeadNet` with any weighting, with a ``step`` and a
compiled ``fit`` like :class:`~mtl_helpers.JointTrainer`'s, and logs the
weights of every step; :class:`UncertaintyWeightedTrainer` is the shortcut
for uncertainty weighting.

Unlike :class:`~mtl_helpers.JointTrainer`, whose task losses are
``tf.nn.l2_loss`` (half the *sum* of squares over the batch), the losses
``L_i`` here are each task's *mean* squared error over the batch, so that
``exp(s_i)`` estimates the task's error variance. For fixed weights the two
differ only by a constant factor, which Adam's updates hardly notice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mtl_helpers._tensorflow import tf
from mtl_helpers._validation import known_task, task_weights
from mtl_helpers.data import TASKS
from mtl_helpers.models import TwoHeadNet
from mtl_helpers.training import (
    JointTrainer,
    OptimizerFactory,
    TrainingLog,
    _check_net,
    article_adam,
)

__all__ = [
    "FixedWeights",
    "TargetScaler",
    "UncertaintyWeightedTrainer",
    "UncertaintyWeights",
    "WeightedJointTrainer",
    "WeightedTrainingLog",
    "inverse_variance_weights",
    "uncertainty_weighted_loss",
]


def _check_task_names(tasks: Sequence[str]) -> tuple[str, ...]:
    if isinstance(tasks, str) or not isinstance(tasks, Sequence):
        raise TypeError(f"tasks must be a sequence of task names such as {list(TASKS)}, got {tasks!r}")
    tasks = tuple(tasks)
    if not tasks:
        raise ValueError(f"tasks is empty; give task names such as {list(TASKS)}")
    for task in tasks:
        known_task(task, TASKS)
    return tasks


# ----------------------------------------------------------------------------
# Target normalisation and fixed weights
# ----------------------------------------------------------------------------


def _target_column(data: Mapping[str, Any], task: str, *, name: str) -> np.ndarray:
    if not isinstance(data, Mapping):
        raise TypeError(f"{name} must be a dict like {{'x': ..., 'y1': ...}}, got {type(data).__name__}")
    if task not in data:
        raise ValueError(f"{name} has no {task!r} targets; its keys are {sorted(data)}")
    values = np.asarray(data[task], dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"{name}[{task!r}] must be 2-D (n, k), got shape {values.shape}; pass y[:, None]")
    if values.shape[0] < 2:
        raise ValueError(f"{name}[{task!r}] needs at least 2 rows to estimate a spread, got {values.shape[0]}")
    return values


def inverse_variance_weights(data: Mapping[str, Any], *, tasks: Sequence[str] = TASKS) -> dict[str, float]:
    """Fixed loss weights ``w_i = 1 / Var(y_i)`` from training targets.

    With these weights every task's weighted loss starts on the same scale
    (the error of predicting the mean is 1 for each task).

    Parameters
    ----------
    data : dict
        Training data ``{"x": (n, d), "y1": (n, k), "y2": (n, k)}``.
    tasks : sequence of str, default ("y1", "y2")

    Returns
    -------
    dict
        ``{task: 1 / variance}`` (variance over all target values).

    Examples
    --------
    >>> data = {"y1": np.array([[0.0], [200.0]]), "y2": np.array([[0.0], [2.0]])}
    >>> inverse_variance_weights(data)
    {'y1': 0.0001, 'y2': 1.0}
    """
    weights = {}
    for task in _check_task_names(tasks):
        variance = float(_target_column(data, task, name="data").var())
        if variance <= 0:
            raise ValueError(f"data[{task!r}] is constant (variance 0); a weight of 1/variance is undefined")
        weights[task] = 1.0 / variance
    return weights


@dataclass(frozen=True)
class TargetScaler:
    """Standardise each task's targets with the training data's mean and std.

    Fit on the **training** data only (:meth:`fit`), then apply the same
    shift and scale to every split (:meth:`transform`), and map predictions
    back with :meth:`inverse_transform`. Inputs ``"x"`` pass through
    unchanged.

    Attributes
    ----------
    mean, std : dict of str to ndarray of shape (k,)
        Per task and target column.

    Examples
    --------
    >>> train = {"x": np.zeros((2, 3)), "y1": np.array([[100.0], [300.0]])}
    >>> scaler = TargetScaler.fit(train, tasks=("y1",))
    >>> scaler.transform(train)["y1"].ravel().tolist()
    [-1.0, 1.0]
    >>> scaler.inverse_transform({"y1": np.array([[0.0]])})["y1"].tolist()
    [[200.0]]
    """

    mean: dict[str, np.ndarray] = field(default_factory=dict)
    std: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def fit(cls, data: Mapping[str, Any], *, tasks: Sequence[str] = TASKS) -> TargetScaler:
        """Estimate each task's mean and standard deviation from ``data``.

        Parameters
        ----------
        data : dict
            Training data ``{"x": (n, d), task: (n, k), ...}``.
        tasks : sequence of str, default ("y1", "y2")
        """
        mean, std = {}, {}
        for task in _check_task_names(tasks):
            values = _target_column(data, task, name="data")
            spread = values.std(axis=0)
            if np.any(spread <= 0):
                raise ValueError(f"data[{task!r}] has a constant column; it cannot be standardised")
            mean[task], std[task] = values.mean(axis=0), spread
        return cls(mean=mean, std=std)

    def transform(self, data: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """A copy of ``data`` with every fitted task's targets standardised (float32)."""
        return self._map(data, lambda y, task: (y - self.mean[task]) / self.std[task])

    def inverse_transform(self, data: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Map standardised targets or predictions back to the original units (float32)."""
        return self._map(data, lambda y, task: y * self.std[task] + self.mean[task])

    def _map(self, data: Mapping[str, Any], function: Any) -> dict[str, np.ndarray]:
        if not isinstance(data, Mapping):
            raise TypeError(f"data must be a dict like {{'x': ..., 'y1': ...}}, got {type(data).__name__}")
        if not self.mean:
            raise ValueError("this scaler has no statistics; create it with TargetScaler.fit(train_data)")
        result = dict(data)
        for task in self.mean:
            if task in data:
                values = np.asarray(data[task], dtype=np.float64)
                result[task] = function(values, task).astype(np.float32)
        return result


class FixedWeights:
    """Fixed loss weights: ``L = sum_i w_i * L_i``.

    The weights live in non-trainable TensorFlow variables, so
    :meth:`assign` changes them without retracing a compiled training loop.

    Parameters
    ----------
    weights : dict, optional
        ``{"y1": w1, "y2": w2}``, each finite and >= 0; default 1.0 each.
    tasks : sequence of str, default ("y1", "y2")

    Examples
    --------
    >>> weighting = FixedWeights({"y1": 1e-4, "y2": 1.0})
    >>> total, applied = weighting.combine({"y1": tf.constant(2e4), "y2": tf.constant(0.5)})
    >>> round(float(total), 4)
    2.5
    """

    def __init__(self, weights: Mapping[str, float] | None = None, *, tasks: Sequence[str] = TASKS) -> None:
        self.tasks = _check_task_names(tasks)
        values = task_weights(weights, self.tasks)
        self._weights = {
            task: tf.Variable(values[task], trainable=False, dtype=tf.float32, name=f"w_{task}") for task in self.tasks
        }

    @property
    def variables(self) -> list[tf.Variable]:
        """Trainable variables of the weighting: none."""
        return []

    @property
    def weights(self) -> dict[str, float]:
        """The current weights ``{task: w}``."""
        return {task: float(variable.numpy()) for task, variable in self._weights.items()}

    def assign(self, weights: Mapping[str, float]) -> None:
        """Replace the weights (one per task, finite and >= 0)."""
        for task, value in task_weights(weights, self.tasks).items():
            self._weights[task].assign(value)

    def reset(self) -> None:
        """Nothing to reset: fixed weights keep their values."""

    def combine(self, losses: Mapping[str, tf.Tensor]) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        """``(sum_i w_i * L_i, {task: w_i})``."""
        weights = {task: tf.identity(self._weights[task]) for task in self.tasks}
        return tf.add_n([weights[task] * losses[task] for task in self.tasks]), weights

    def __repr__(self) -> str:
        return f"FixedWeights({self.weights})"


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


class UncertaintyWeights:
    """Uncertainty weighting (Kendall, Gal & Cipolla, CVPR 2018).

    ``L = sum_i 0.5 * exp(-s_i) * L_i + 0.5 * s_i`` with one trainable
    log-variance ``s_i`` per task; the weight applied to ``L_i`` is
    ``exp(-s_i)`` (reported without the constant 0.5). A task with a large
    loss gets a large ``s_i`` and so a small weight; the ``0.5 * s_i`` term
    stops every weight from going to zero.

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
        self.tasks = _check_task_names(tasks)
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

    def combine(self, losses: Mapping[str, tf.Tensor]) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        """``(sum_i 0.5 exp(-s_i) L_i + 0.5 s_i, {task: exp(-s_i)})``."""
        total = uncertainty_weighted_loss({task: losses[task] for task in self.tasks}, self.log_variances)
        return total, {task: tf.exp(-s) for task, s in self.log_variances.items()}

    def __repr__(self) -> str:
        return f"UncertaintyWeights(tasks={list(self.tasks)}, initial_log_variance={self.initial_log_variance:g})"


# ----------------------------------------------------------------------------
# The trainer
# ----------------------------------------------------------------------------


@dataclass
class WeightedTrainingLog(TrainingLog):
    """A :class:`~mtl_helpers.TrainingLog` plus the loss weights of every step.

    Attributes
    ----------
    weights : dict of str to ndarray of shape (steps,)
        The weight applied to each task's loss at each step (before that
        step's update).
    """

    weights: dict[str, np.ndarray] = field(default_factory=dict)


class WeightedJointTrainer(JointTrainer):
    """Joint training on a weighted sum of the tasks' mean squared errors.

    Parameters
    ----------
    net : TwoHeadNet
    weighting : FixedWeights or UncertaintyWeights
        Turns the task losses into the total and reports the weights. Its
        trainable variables (if any) are trained with the network.
    make_optimizer : callable, default :func:`article_adam`
    jit_compile : bool, default False
        See :class:`mtl_helpers.AlternatingTrainer`.

    ``step`` returns ``{"y1": mse, "y2": mse, "total": weighted total,
    "weight_y1": w1, "weight_y2": w2}`` (before the update); ``fit`` returns a
    :class:`WeightedTrainingLog`.

    Examples
    --------
    >>> net = TwoHeadNet(head_units=1, output_activation="linear", use_bias=True)
    >>> trainer = WeightedJointTrainer(net, FixedWeights({"y1": 1.0, "y2": 0.5}))
    >>> from mtl_helpers import RelatedTasks
    >>> batch = RelatedTasks(correlation=0.5).sample(32, seed=0)
    >>> sorted(trainer.step(batch))
    ['total', 'weight_y1', 'weight_y2', 'y1', 'y2']
    """

    def __init__(
        self,
        net: TwoHeadNet,
        weighting: FixedWeights | UncertaintyWeights,
        make_optimizer: OptimizerFactory = article_adam,
        *,
        jit_compile: bool = False,
    ) -> None:
        self.net = _check_net(net)
        if not isinstance(weighting, FixedWeights | UncertaintyWeights):
            raise TypeError(f"weighting must be FixedWeights(...) or UncertaintyWeights(...), got {type(weighting).__name__}")
        if tuple(weighting.tasks) != tuple(net.tasks):
            raise ValueError(f"the weighting's tasks {list(weighting.tasks)} must be the network's tasks {list(net.tasks)}")
        self.weighting = weighting
        self.loss_weights = None
        self._compile(make_optimizer, jit_compile=jit_compile, extra_variables=weighting.variables)

    def objective(self, batch: Mapping[str, tf.Tensor]) -> tuple[dict[str, tf.Tensor], tf.Tensor, dict[str, tf.Tensor]]:
        """Each task's batch-mean squared error, combined by the weighting; reports the weights."""
        predictions = self.net(batch["x"])
        losses = {task: tf.reduce_mean(tf.square(batch[task] - predictions[task])) for task in self.net.tasks}
        total, weights = self.weighting.combine(losses)
        return losses, total, {f"weight_{task}": weights[task] for task in self.net.tasks}

    def _record(self, result: dict[str, tf.Tensor]) -> tf.Tensor:
        return tf.stack([result["total"], *[result[f"weight_{task}"] for task in self.net.tasks]])

    def _log(self, rows: np.ndarray, eval_step: np.ndarray, eval_mse: dict[str, np.ndarray]) -> WeightedTrainingLog:
        weights = {task: rows[:, 1 + number] for number, task in enumerate(self.net.tasks)}
        return WeightedTrainingLog(
            loss=rows[:, 0], task=np.full(len(rows), "joint"), eval_step=eval_step, eval_mse=eval_mse, weights=weights
        )


class UncertaintyWeightedTrainer(WeightedJointTrainer):
    """Joint training with uncertainty weighting (Kendall, Gal & Cipolla, CVPR 2018).

    A :class:`WeightedJointTrainer` with :class:`UncertaintyWeights`: the
    network and one log-variance ``s_i`` per task are trained together on
    ``sum_i 0.5 * exp(-s_i) * MSE_i + 0.5 * s_i``. The log of
    :meth:`fit` holds the weights ``exp(-s_i)`` of every step.

    Parameters
    ----------
    net : TwoHeadNet
    make_optimizer : callable, default :func:`article_adam`
        One optimizer for the network and the ``s_i``.
    initial_log_variance : float, default 0.0
    jit_compile : bool, default False
        See :class:`WeightedJointTrainer`.

    Examples
    --------
    >>> net = TwoHeadNet(head_units=1, output_activation="linear", use_bias=True)
    >>> trainer = UncertaintyWeightedTrainer(net, make_optimizer=lambda: article_adam(0.01))
    >>> from mtl_helpers import RelatedTasks
    >>> log = trainer.fit(RelatedTasks(correlation=0.5).sample(256, seed=0), 50)
    >>> sorted(log.weights), log.weights["y1"].shape
    (['y1', 'y2'], (50,))
    """

    def __init__(
        self,
        net: TwoHeadNet,
        make_optimizer: OptimizerFactory = article_adam,
        *,
        initial_log_variance: float = 0.0,
        jit_compile: bool = False,
    ) -> None:
        weighting = UncertaintyWeights(_check_net(net).tasks, initial_log_variance=initial_log_variance)
        super().__init__(net, weighting, make_optimizer, jit_compile=jit_compile)
