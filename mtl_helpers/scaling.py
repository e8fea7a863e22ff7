"""Putting the tasks' targets on one scale (chapter 5, pitfall 3).

When one task's targets are in larger units its loss dominates a summed
objective. Two remedies act on the data rather than on the optimiser:

* :class:`TargetScaler`: standardise every task's targets with statistics of
  the training data, train, then map predictions back to the original units;
* :func:`inverse_variance_weights`: fixed loss weights ``1 / Var(y_i)`` for
  :class:`mtl_helpers.FixedWeights`, the same correction applied to the losses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mtl_helpers._validation import task_names
from mtl_helpers.data import TASKS

__all__ = ["TargetScaler", "inverse_variance_weights"]


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
    for task in task_names(tasks):
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
        for task in task_names(tasks):
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
