"""Task heads for :class:`mtl_helpers.multi_head.MultiHeadNet`: what a task's outputs mean.

Introduced in the chapter on real data. A head describes one task: how many
outputs it has, its loss, its held-out error, how its labels are checked and
how a missing label is written:

* :class:`Classification`: ``k`` logits, cross-entropy from logits, error
  rate; integer labels of shape (n,), ``-1`` for a missing label;
* :class:`Regression`: ``k`` linear outputs, squared error; float targets of
  shape (n, k), a row of ``NaN`` for a missing target.

:func:`masked_mean` averages a task's per-row losses over the rows that have
its label.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from mtl_helpers._tensorflow import tf
from mtl_helpers._validation import positive_int

__all__ = ["Classification", "Head", "Regression", "masked_mean"]


def masked_mean(values: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """``sum(values * mask) / sum(mask)``, and 0 (with zero gradients) when the mask is all 0.

    Parameters
    ----------
    values, mask : tf.Tensor of shape (n,)
        Per-row losses (finite everywhere) and 1.0 / 0.0 label indicators.

    Examples
    --------
    >>> float(masked_mean(tf.constant([1.0, 5.0, 3.0]), tf.constant([1.0, 0.0, 1.0])))
    2.0
    >>> float(masked_mean(tf.constant([1.0, 5.0]), tf.constant([0.0, 0.0])))
    0.0
    """
    return tf.math.divide_no_nan(tf.reduce_sum(values * mask), tf.reduce_sum(mask))


@dataclass(frozen=True)
class Classification:
    """A classification head: ``n_classes`` logits, cross-entropy from logits.

    Labels are integers of shape (n,) in ``0 .. n_classes - 1``; ``-1``
    marks a missing label. :meth:`mtl_helpers.multi_head.MultiHeadNet.evaluate`
    reports the error rate (1 - accuracy) over the labelled rows.

    Examples
    --------
    >>> Classification(3).spec
    TensorSpec(shape=(None,), dtype=tf.int32, name=None)
    """

    n_classes: int
    missing: ClassVar[int] = -1

    def __post_init__(self) -> None:
        if positive_int(self.n_classes, name="n_classes") < 2:
            raise ValueError(f"a classification head needs n_classes >= 2, got {self.n_classes}")

    @property
    def out_dim(self) -> int:
        """Number of outputs (logits)."""
        return self.n_classes

    @property
    def spec(self) -> tf.TensorSpec:
        """The spec of a batch of labels: int32, shape (None,)."""
        return tf.TensorSpec([None], tf.int32)

    def mask(self, labels: tf.Tensor) -> tf.Tensor:
        """1.0 where a row has a label, 0.0 where it is missing; shape (n,)."""
        return tf.cast(labels >= 0, tf.float32)

    def row_losses(self, labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
        """Cross-entropy of each row, shape (n,); finite (and unused) where the label is missing."""
        labels = tf.cast(labels, tf.int32)
        safe = tf.where(labels >= 0, labels, tf.zeros_like(labels))
        return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=safe, logits=logits)

    def row_errors(self, labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
        """1.0 where the most likely class is wrong, shape (n,)."""
        return tf.cast(tf.argmax(logits, axis=1, output_type=tf.int32) != tf.cast(labels, tf.int32), tf.float32)

    def check(self, labels: Any, *, rows: int, name: str) -> np.ndarray:
        """Validated int32 labels of shape (rows,), or ``ValueError``/``TypeError``."""
        array = np.asarray(labels.numpy() if isinstance(labels, tf.Tensor | tf.Variable) else labels)
        if array.dtype.kind not in "iu":
            raise TypeError(
                f"{name} must hold integer class labels, got dtype {array.dtype}; "
                "pass labels.astype('int32') (with -1 for a missing label)"
            )
        if array.ndim != 1:
            hint = f"; pass {name}.ravel()" if array.ndim == 2 and array.shape[1] == 1 else ""
            raise ValueError(f"{name} must be 1-D (n,), got shape {array.shape}{hint}")
        if array.shape[0] != rows:
            raise ValueError(f"{name} must have {rows} rows like batch['x'], got {array.shape[0]}")
        bad = np.unique(array[(array < -1) | (array >= self.n_classes)])
        if bad.size:
            raise ValueError(
                f"{name} has labels {bad[:5].tolist()} outside 0..{self.n_classes - 1}; "
                "use -1 for a missing label"
            )
        return array.astype(np.int32)

    def fill_missing(self, labels: np.ndarray) -> np.ndarray:
        """The labels with -1 replaced by class 0 (for Keras, where the row's weight is 0)."""
        return np.where(labels >= 0, labels, 0).astype(np.int32)

    def keras_loss(self, reduction: str) -> tf.keras.losses.Loss:
        """The same loss in Keras: sparse categorical cross-entropy from logits."""
        return tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=reduction)


@dataclass(frozen=True)
class Regression:
    """A regression head: ``n_outputs`` linear outputs, mean squared error.

    Targets are floats of shape (n, n_outputs); a row of ``NaN`` marks a
    missing target. The loss of a row is its squared error averaged over the
    outputs; :meth:`mtl_helpers.multi_head.MultiHeadNet.evaluate` reports the
    same (the MSE) over the labelled rows.

    Examples
    --------
    >>> Regression().spec
    TensorSpec(shape=(None, 1), dtype=tf.float32, name=None)
    """

    n_outputs: int = 1

    def __post_init__(self) -> None:
        positive_int(self.n_outputs, name="n_outputs")

    @property
    def out_dim(self) -> int:
        """Number of outputs."""
        return self.n_outputs

    @property
    def spec(self) -> tf.TensorSpec:
        """The spec of a batch of targets: float32, shape (None, n_outputs)."""
        return tf.TensorSpec([None, self.n_outputs], tf.float32)

    def mask(self, targets: tf.Tensor) -> tf.Tensor:
        """1.0 where a row has a target, 0.0 where it is ``NaN``; shape (n,)."""
        return tf.cast(tf.logical_not(tf.reduce_any(tf.math.is_nan(targets), axis=1)), tf.float32)

    def row_losses(self, targets: tf.Tensor, predictions: tf.Tensor) -> tf.Tensor:
        """Squared error of each row averaged over the outputs, shape (n,); finite where ``NaN``."""
        safe = tf.where(tf.math.is_nan(targets), tf.zeros_like(targets), targets)
        return tf.reduce_mean(tf.square(predictions - safe), axis=1)

    row_errors = row_losses

    def check(self, targets: Any, *, rows: int, name: str) -> np.ndarray:
        """Validated float32 targets of shape (rows, n_outputs), or ``ValueError``/``TypeError``."""
        array = targets.numpy() if isinstance(targets, tf.Tensor | tf.Variable) else targets
        try:
            array = np.asarray(array, dtype=np.float32)
        except (TypeError, ValueError) as error:
            raise TypeError(f"{name} must be an array of numbers, got {type(targets).__name__}") from error
        if array.ndim != 2:
            hint = f"; pass {name}[:, None]" if array.ndim == 1 else ""
            raise ValueError(f"{name} must be 2-D (n, {self.n_outputs}), got shape {array.shape}{hint}")
        if array.shape != (rows, self.n_outputs):
            raise ValueError(f"{name} must have shape ({rows}, {self.n_outputs}), got {array.shape}")
        if np.isinf(array).any():
            raise ValueError(f"{name} contains infinite values; use NaN for a missing target")
        nan = np.isnan(array)
        if (nan.any(axis=1) & ~nan.all(axis=1)).any():
            raise ValueError(f"{name} has rows with some but not all values NaN; a missing target is a row of NaN")
        return array

    def fill_missing(self, targets: np.ndarray) -> np.ndarray:
        """The targets with ``NaN`` replaced by 0 (for Keras, where the row's weight is 0)."""
        return np.nan_to_num(targets, nan=0.0).astype(np.float32)

    def keras_loss(self, reduction: str) -> tf.keras.losses.Loss:
        """The same loss in Keras: mean squared error."""
        return tf.keras.losses.MeanSquaredError(reduction=reduction)


Head = Classification | Regression
