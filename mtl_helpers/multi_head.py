"""A shared trunk with classification and regression heads, and missing labels.

Introduced in the chapter on real data. :class:`MultiHeadNet` follows the
book's network interface (see :class:`mtl_helpers.TwoHeadNet`), so the
book's trainers train it; each task's head is described by a small object::

    x (n, in_dim) -> relu(dense) ... relu(dense)      shared trunk, shared_units
                  -> [relu(dense), head_units] -> dense   one head per task:
                     Classification(k): k logits, cross-entropy, error rate
                     Regression(k):     k values, squared error, MSE

**Missing labels.** A class label of ``-1`` or a regression target of
``NaN`` means "no label for this task in this row". Each task's loss is the
mean over the rows *that have its label*, not over the batch::

    loss_t = sum_i m_it * l_t(row i) / sum_i m_it        (m_it = 1 if row i has label t)

so a row without the label adds nothing to that task's loss or gradients,
and a batch without any label of task t gives ``loss_t = 0`` with zero
gradients (never ``NaN``).

The Keras way to the same numbers: :func:`keras_multi_head_model` (the same
weights in a functional model with one named output per task),
:func:`keras_losses` and :func:`keras_targets` (per-output ``sample_weight``
masks). Keras' default reduction, ``"sum_over_batch_size"``, divides the
weighted sum by the batch size, not by the number of labelled rows; the
reduction ``"mean_with_sample_weight"`` (added to Keras 3 in 2024, after
keras-team/keras issue 19740) divides by the sum of the weights, which is
the masked mean above, batch by batch.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from mtl_helpers._tensorflow import tf
from mtl_helpers._validation import as_float_matrix, known_task, non_negative_int, positive_int
from mtl_helpers.heads import Classification, Head, Regression, masked_mean

__all__ = ["MultiHeadNet", "keras_losses", "keras_multi_head_model", "keras_targets"]


def _check_heads(heads: Any) -> dict[str, Head]:
    if not isinstance(heads, Mapping) or not heads:
        raise TypeError(
            "heads must be a non-empty dict of task name to head, such as "
            f"{{'species': Classification(3), 'body_mass': Regression(1)}}; got {heads!r}"
        )
    for task, head in heads.items():
        if not isinstance(task, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", task) or task == "x":
            raise ValueError(f"task names must be identifiers other than 'x', such as 'species'; got {task!r}")
        if task.startswith("shared"):
            raise ValueError(f"task names must not start with 'shared' (the trunk's name), got {task!r}")
        if not isinstance(head, Classification | Regression):
            raise TypeError(f"heads[{task!r}] must be Classification(k) or Regression(k), got {head!r}")
    return dict(heads)


def _check_units(shared_units: Any) -> tuple[int, ...]:
    if isinstance(shared_units, int | np.integer) and not isinstance(shared_units, bool):
        shared_units = (shared_units,)
    if not isinstance(shared_units, Sequence) or not shared_units:
        raise TypeError(f"shared_units must be an int or a non-empty list of ints, got {shared_units!r}")
    return tuple(positive_int(units, name="shared_units") for units in shared_units)


class MultiHeadNet(tf.Module):
    """A shared ReLU trunk with one classification or regression head per task.

    Parameters
    ----------
    in_dim : int
        Number of input features.
    shared_units : int or sequence of int
        Width of the shared layer, or of each shared layer in order.
    heads : dict of str to Classification or Regression
        One head per task, e.g. ``{"species": Classification(3), "sex":
        Classification(2), "body_mass": Regression(1)}``; the order of the
        dict is the order of :attr:`tasks`.
    head_units : int, default 0
        Width of a ReLU layer of each head's own before its output; 0 for a
        linear head reading the trunk directly.
    seed : int, default 0
        Seeds the initialisation: He-normal kernels for the ReLU layers,
        LeCun-normal (variance ``1 / fan_in``) for the linear outputs, zero
        biases.

    Notes
    -----
    Variables are named ``shared_0``, ``shared_0_bias``, ... for the trunk,
    ``<task>_hidden``, ``<task>_hidden_bias`` (when ``head_units > 0``) and
    ``<task>``, ``<task>_bias`` for the heads, in :meth:`get_weights` and in
    the Keras twin (:func:`keras_multi_head_model`).

    Examples
    --------
    >>> net = MultiHeadNet(4, 8, {"kind": Classification(3), "size": Regression(1)}, seed=0)
    >>> batch = {"x": np.ones((5, 4), "float32"), "kind": np.array([0, 2, -1, 1, 0]),
    ...          "size": np.array([[1.0], [np.nan], [0.5], [2.0], [0.0]], "float32")}
    >>> {task: float(loss) >= 0 for task, loss in net.losses(batch).items()}
    {'kind': True, 'size': True}
    >>> net.label_masks(batch)["kind"].tolist()
    [1.0, 1.0, 0.0, 1.0, 1.0]
    """

    def __init__(
        self,
        in_dim: int,
        shared_units: int | Sequence[int],
        heads: Mapping[str, Head],
        *,
        head_units: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__(name="multi_head_net")
        self.in_dim = positive_int(in_dim, name="in_dim")
        self.shared_units = _check_units(shared_units)
        self.head_units = non_negative_int(head_units, name="head_units")
        self._heads = _check_heads(heads)
        self._layout = self._make_layout()
        arrays = self._initial_arrays(non_negative_int(seed, name="seed"))
        self._variables = {name: tf.Variable(arrays[name], name=name) for name, _, _, _ in self._layout}

    @property
    def tasks(self) -> tuple[str, ...]:
        """The task names, in the order of ``heads``."""
        return tuple(self._heads)

    @property
    def heads(self) -> dict[str, Head]:
        """Each task's head description (a copy)."""
        return dict(self._heads)

    def _make_layout(self) -> list[tuple[str, tuple[int, ...], str | None, str]]:
        """(name, shape, owning task or None for shared, init) of every variable, shared first."""
        layout: list[tuple[str, tuple[int, ...], str | None, str]] = []
        fan_in = self.in_dim
        for index, units in enumerate(self.shared_units):
            layout += [(f"shared_{index}", (fan_in, units), None, "he"), (f"shared_{index}_bias", (units,), None, "zeros")]
            fan_in = units
        for task, head in self._heads.items():
            head_in = fan_in
            if self.head_units:
                layout += [(f"{task}_hidden", (fan_in, self.head_units), task, "he")]
                layout += [(f"{task}_hidden_bias", (self.head_units,), task, "zeros")]
                head_in = self.head_units
            layout += [(task, (head_in, head.out_dim), task, "lecun"), (f"{task}_bias", (head.out_dim,), task, "zeros")]
        return layout

    def _initial_arrays(self, seed: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(seed)
        arrays = {}
        for name, shape, _, init in self._layout:
            if init == "zeros":
                arrays[name] = np.zeros(shape, np.float32)
            else:
                scale = np.sqrt((2.0 if init == "he" else 1.0) / shape[0])
                arrays[name] = (rng.standard_normal(shape) * scale).astype(np.float32)
        return arrays

    def initialize(self, seed: int) -> None:
        """Assign the weights a new network built with ``seed`` starts from (bit for bit)."""
        self.set_weights(self._initial_arrays(non_negative_int(seed, name="seed")))

    def shared_features(self, x: tf.Tensor) -> tf.Tensor:
        """The trunk's output, shape (n, shared_units[-1])."""
        hidden = x
        for index in range(len(self.shared_units)):
            kernel, bias = self._variables[f"shared_{index}"], self._variables[f"shared_{index}_bias"]
            hidden = tf.nn.relu(tf.matmul(hidden, kernel) + bias)
        return hidden

    def __call__(self, x: Any) -> dict[str, tf.Tensor]:
        """Each task's outputs ``{task: (n, out_dim)}``: logits for a classification head."""
        if not isinstance(x, tf.Tensor):
            x = as_float_matrix(x, name="x", cols=self.in_dim)
        hidden = self.shared_features(x)
        outputs = {}
        for task in self._heads:
            features = hidden
            if self.head_units:
                kernel, bias = self._variables[f"{task}_hidden"], self._variables[f"{task}_hidden_bias"]
                features = tf.nn.relu(tf.matmul(hidden, kernel) + bias)
            outputs[task] = tf.matmul(features, self._variables[task]) + self._variables[f"{task}_bias"]
        return outputs

    def losses(self, batch: Mapping[str, Any]) -> dict[str, tf.Tensor]:
        """Each present task's loss, averaged over the rows that have its label.

        ``batch`` holds ``"x"`` (n, in_dim) and, for each task it includes,
        labels (n,) int (-1 missing) or targets (n, k) float (NaN missing).
        Tasks absent from the batch are skipped. A task without any label in
        the batch gets loss 0 and zero gradients.
        """
        present = [task for task in self._heads if task in batch]
        if not present:
            raise ValueError(f"the batch holds no task labels; expected some of {list(self.tasks)}, got {sorted(batch)}")
        if not all(isinstance(batch[key], tf.Tensor) for key in ["x", *present]):
            batch = self.check_batch(batch, present)
        outputs = self(batch["x"])
        losses = {}
        for task in present:
            head = self._heads[task]
            losses[task] = masked_mean(head.row_losses(batch[task], outputs[task]), head.mask(batch[task]))
        return losses

    def loss_terms(self, batch: Mapping[str, Any]) -> dict[str, tuple[tf.Tensor, tf.Tensor | None]]:
        """Each present task's loss as ``(sum over labelled rows, number of labelled rows)``.

        ``losses`` is their ratio. Trainers running under ``tf.distribute``
        divide each replica's sum by the count all-reduced over replicas, so
        every labelled row of the global batch weighs the same.
        """
        present = [task for task in self._heads if task in batch]
        if not all(isinstance(batch[key], tf.Tensor) for key in ["x", *present]):
            batch = self.check_batch(batch, present)
        outputs = self(batch["x"])
        terms = {}
        for task in present:
            head = self._heads[task]
            mask = head.mask(batch[task])
            terms[task] = (tf.reduce_sum(head.row_losses(batch[task], outputs[task]) * mask), tf.reduce_sum(mask))
        return terms

    def evaluate(self, batch: Mapping[str, Any]) -> dict[str, float]:
        """Held-out error of each present task over its labelled rows; lower is better.

        The error rate (1 - accuracy) for a classification head, the mean
        squared error (in the target's units squared) for a regression head.
        A task whose labels are all missing raises ``ValueError``: its error
        is undefined.
        """
        present = [task for task in self._heads if task in batch]
        arrays = self.check_batch(batch, present)
        outputs = self(arrays["x"])
        errors = {}
        for task in present:
            head = self._heads[task]
            mask = head.mask(arrays[task])
            if float(tf.reduce_sum(mask)) == 0:
                raise ValueError(f"batch[{task!r}] has no labelled row (all missing); its error is undefined")
            errors[task] = float(masked_mean(head.row_errors(arrays[task], outputs[task]), mask))
        return errors

    def accuracy(self, batch: Mapping[str, Any]) -> dict[str, float]:
        """Accuracy of each classification task present in ``batch``, over its labelled rows."""
        classes = {task: self._heads[task] for task in self._heads if task in batch}
        errors = self.evaluate({key: batch[key] for key in ["x", *classes]})
        return {task: 1.0 - error for task, error in errors.items() if isinstance(classes[task], Classification)}

    def label_masks(self, batch: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """``{task: (n,) float32}``: 1.0 where the row has the task's label, for each present task."""
        present = [task for task in self._heads if task in batch]
        arrays = self.check_batch(batch, present)
        return {task: self._heads[task].mask(arrays[task]).numpy() for task in present}

    def trainable_for(self, task: str) -> list[tf.Variable]:
        """The variables task ``task``'s loss depends on: the trunk, then the task's head."""
        known_task(task, self.tasks)
        return self.shared_variables + [self._variables[name] for name, _, owner, _ in self._layout if owner == task]

    @property
    def shared_variables(self) -> list[tf.Variable]:
        """The trunk's variables, which every task's loss depends on."""
        return [self._variables[name] for name, _, owner, _ in self._layout if owner is None]

    @property
    def all_variables(self) -> list[tf.Variable]:
        """Every variable: the trunk first, then each head in task order."""
        return list(self._variables.values())

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies of every variable, keyed by name (see Notes)."""
        return {name: variable.numpy().copy() for name, variable in self._variables.items()}

    def set_weights(self, weights: Mapping[str, Any]) -> None:
        """Assign every variable from arrays keyed like :meth:`get_weights`."""
        if not isinstance(weights, Mapping) or set(weights) != set(self._variables):
            got = sorted(weights) if isinstance(weights, Mapping) else type(weights).__name__
            raise ValueError(f"weights must have exactly the keys {sorted(self._variables)}, got {got}")
        arrays = {}
        for name, variable in self._variables.items():
            array = np.asarray(weights[name], dtype=np.float32)
            if array.shape != tuple(variable.shape) or not np.all(np.isfinite(array)):
                raise ValueError(f"weights[{name!r}] must be finite with shape {tuple(variable.shape)}, got shape {array.shape}")
            arrays[name] = array
        for name, variable in self._variables.items():
            variable.assign(arrays[name])

    @property
    def input_spec(self) -> tf.TensorSpec:
        """The spec of a batch's inputs: float32, shape (None, in_dim)."""
        return tf.TensorSpec([None, self.in_dim], tf.float32)

    def batch_spec(self, task: str) -> tf.TensorSpec:
        """The spec of one task's labels: int32 (None,) or float32 (None, k)."""
        return self._heads[known_task(task, self.tasks)].spec

    def check_batch(self, batch: Any, tasks: Iterable[str]) -> dict[str, np.ndarray]:
        """Validated arrays ``{"x": (n, in_dim) float32, task: labels, ...}`` for ``tasks``.

        Other keys of ``batch`` are ignored. Raises ``ValueError`` or
        ``TypeError`` saying what to fix (for example a class label outside
        ``0 .. k - 1`` other than -1).
        """
        if not isinstance(batch, Mapping):
            raise TypeError(f"a batch must be a dict like {{'x': ..., {self.tasks[0]!r}: ...}}, got {type(batch).__name__}")
        if isinstance(tasks, str):
            raise TypeError(f"tasks must be a list of task names such as [{tasks!r}], got the string {tasks!r}")
        if "x" not in batch:
            raise ValueError(f"the batch has no 'x' entry; its keys are {sorted(batch)}")
        x = as_float_matrix(batch["x"], name="batch['x']", cols=self.in_dim)
        arrays = {"x": x}
        for task in tasks:
            head = self._heads[known_task(task, self.tasks)]
            if task not in batch:
                raise ValueError(f"the batch has no {task!r} labels; its keys are {sorted(batch)}")
            arrays[task] = head.check(batch[task], rows=x.shape[0], name=f"batch[{task!r}]")
        return arrays


def keras_multi_head_model(net: MultiHeadNet) -> tf.keras.Model:
    """The same network as a Keras functional model, with the same weights.

    One input ``"x"`` and one output per task, named by the task (logits
    for a classification head), so ``compile(loss={...}, loss_weights={...})``
    and ``fit(..., sample_weight={...})`` can be keyed by task name. Layers
    carry the variable names of :meth:`MultiHeadNet.get_weights`.

    Examples
    --------
    >>> net = MultiHeadNet(4, 8, {"kind": Classification(3), "size": Regression(1)})
    >>> model = keras_multi_head_model(net)
    >>> sorted(model.output_names)
    ['kind', 'size']
    """
    if not isinstance(net, MultiHeadNet):
        raise TypeError(f"net must be a MultiHeadNet, got {type(net).__name__}")
    keras = tf.keras
    inputs = keras.Input(shape=(net.in_dim,), name="x")
    layers = {}
    hidden = inputs
    for index, units in enumerate(net.shared_units):
        layers[f"shared_{index}"] = keras.layers.Dense(units, activation="relu", name=f"shared_{index}")
        hidden = layers[f"shared_{index}"](hidden)
    outputs = {}
    for task, head in net.heads.items():
        features = hidden
        if net.head_units:
            layers[f"{task}_hidden"] = keras.layers.Dense(net.head_units, activation="relu", name=f"{task}_hidden")
            features = layers[f"{task}_hidden"](hidden)
        layers[task] = keras.layers.Dense(head.out_dim, name=task)
        outputs[task] = layers[task](features)
    model = keras.Model(inputs=inputs, outputs=outputs, name="multi_head_model")
    weights = net.get_weights()
    for name, layer in layers.items():
        layer.set_weights([weights[name], weights[f"{name}_bias"]])
    return model


def keras_losses(net: MultiHeadNet, *, reduction: str = "mean_with_sample_weight") -> dict[str, tf.keras.losses.Loss]:
    """One Keras loss per task, for ``model.compile(loss=...)``.

    With the default reduction and the 0/1 masks of :func:`keras_targets`
    as ``sample_weight``, each task's Keras loss equals
    :meth:`MultiHeadNet.losses` on every batch. Keras' own default,
    ``"sum_over_batch_size"``, divides by the batch size instead, which
    shrinks a task's loss (and its gradient) by the fraction of missing
    labels in each batch.

    Examples
    --------
    >>> net = MultiHeadNet(4, 8, {"kind": Classification(3), "size": Regression(1)})
    >>> {task: type(loss).__name__ for task, loss in keras_losses(net).items()}
    {'kind': 'SparseCategoricalCrossentropy', 'size': 'MeanSquaredError'}
    """
    if not isinstance(net, MultiHeadNet):
        raise TypeError(f"net must be a MultiHeadNet, got {type(net).__name__}")
    return {task: head.keras_loss(reduction) for task, head in net.heads.items()}


def keras_targets(net: MultiHeadNet, batch: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Targets and per-output sample weights for Keras' ``fit`` / ``evaluate``.

    Returns ``(y, sample_weight)`` for the tasks present in ``batch``:
    missing labels replaced by a harmless value (class 0, target 0.0;
    Keras multiplies the loss by the weight, and ``0 * NaN`` is ``NaN``), and
    the 0/1 label masks as weights.

    Examples
    --------
    >>> net = MultiHeadNet(2, 4, {"kind": Classification(3)})
    >>> y, weights = keras_targets(net, {"x": np.zeros((3, 2)), "kind": np.array([2, -1, 0])})
    >>> y["kind"].tolist(), weights["kind"].tolist()
    ([2, 0, 0], [1.0, 0.0, 1.0])
    """
    present = [task for task in net.tasks if task in batch]
    arrays = net.check_batch(batch, present)
    heads = net.heads
    y = {task: heads[task].fill_missing(arrays[task]) for task in present}
    weights = {task: heads[task].mask(arrays[task]).numpy() for task in present}
    return y, weights
