"""The article's two-task network, in TensorFlow 2 and in Keras.

Introduced in chapter 2. The network is a "shared bottom": one shared layer
feeds one layer per task (a "head")::

    x (n, in_dim) -> relu(x @ W_shared) (n, shared_units)
                  -> relu(h @ W_y1)     (n, head_units)   task "y1"
                  -> relu(h @ W_y2)     (n, head_units)   task "y2"

Like the article there are no biases and every layer has a ReLU. The chapters
on structured data pass ``output_activation="linear"`` (their targets can be
negative) and ``use_bias=True``: without biases a ReLU network can only
represent functions with ``f(t * x) = t * f(x)`` for ``t > 0``, which rules out
most targets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from mtl_helpers._tensorflow import tf
from mtl_helpers._validation import as_float_matrix, batch_arrays, known_task, non_negative_int, positive_int
from mtl_helpers.data import TASKS

__all__ = ["STRUCTURED_NET", "TwoHeadNet", "keras_two_head_model"]

OutputActivation = Literal["relu", "linear"]
TaskLoss = Literal["l2_loss", "mean_squared_error"]

#: The network settings of the chapters on structured data (chapters 3-5):
#: one output per head, linear (the targets can be negative), with biases.
#: Use as ``TwoHeadNet(**STRUCTURED_NET, seed=seed)``.
STRUCTURED_NET: dict[str, Any] = {"head_units": 1, "output_activation": "linear", "use_bias": True}


def _he_normal(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    return (rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)).astype(np.float32)


def _activation(name: str) -> str:
    if name not in ("relu", "linear"):
        raise ValueError(f"output_activation must be 'relu' or 'linear', got {name!r}")
    return name


def _task_loss(name: str) -> str:
    if name not in ("l2_loss", "mean_squared_error"):
        raise ValueError(f"loss must be 'l2_loss' or 'mean_squared_error', got {name!r}")
    return name


class TwoHeadNet(tf.Module):
    """The article's network: a shared ReLU layer and one ReLU layer per task.

    Parameters
    ----------
    in_dim : int, default 10
    shared_units : int, default 20
    head_units : int, default 20
        Output size of each task's head.
    weights : dict, optional
        Initial arrays ``{"shared": (in_dim, shared_units), "y1": (shared_units,
        head_units), "y2": (shared_units, head_units)}``, for example from
        :func:`mtl_helpers.article_weights`. Default: He-normal arrays drawn
        with ``seed``.
    seed : int, default 0
        Seed of the default initialisation (ignored when ``weights`` is given).
    output_activation : {"relu", "linear"}, default "relu"
        The article puts a ReLU on the heads too; "linear" lets a head
        predict negative numbers.
    use_bias : bool, default False
        Add a bias vector (initialised to zero) to every layer. The article
        has none. Biases are named ``"shared_bias"``, ``"y1_bias"`` and
        ``"y2_bias"`` in :meth:`get_weights`.
    loss : {"l2_loss", "mean_squared_error"}, default "l2_loss"
        Each task's training loss (:meth:`losses`): the article's
        ``tf.nn.l2_loss`` (half the *sum* of squares over the batch, which
        grows with the batch) or the mean squared error over the batch.

    Notes
    -----
    This class is the book's reference *network*: every network the
    trainers accept has the same members (``tasks``, ``__call__``,
    ``losses``, ``evaluate``, ``trainable_for``, ``shared_variables``,
    ``all_variables``, ``get_weights``, ``set_weights``, ``initialize``,
    ``input_spec``, ``batch_spec``, ``check_batch``).

    Examples
    --------
    >>> net = TwoHeadNet(seed=0)
    >>> {task: tuple(out.shape) for task, out in net(np.ones((4, 10), "float32")).items()}
    {'y1': (4, 20), 'y2': (4, 20)}
    """

    tasks: tuple[str, ...] = TASKS

    def __init__(
        self,
        in_dim: int = 10,
        shared_units: int = 20,
        head_units: int = 20,
        weights: Mapping[str, Any] | None = None,
        seed: int = 0,
        *,
        output_activation: OutputActivation = "relu",
        use_bias: bool = False,
        loss: TaskLoss = "l2_loss",
    ) -> None:
        super().__init__(name="two_head_net")
        self.in_dim = positive_int(in_dim, name="in_dim")
        self.shared_units = positive_int(shared_units, name="shared_units")
        self.head_units = positive_int(head_units, name="head_units")
        self.output_activation = _activation(output_activation)
        self.loss = _task_loss(loss)
        shapes = {"shared": (self.in_dim, self.shared_units)}
        shapes.update({task: (self.shared_units, self.head_units) for task in self.tasks})
        if weights is None:
            arrays = self._initial_arrays(non_negative_int(seed, name="seed"))
        else:
            arrays = self._check_weights(weights, shapes)
        self.shared = tf.Variable(arrays["shared"], name="shared")
        self.heads = {task: tf.Variable(arrays[task], name=task) for task in self.tasks}
        if not isinstance(use_bias, bool):
            raise TypeError(f"use_bias must be True or False, got {use_bias!r}")
        self.use_bias = use_bias
        self.biases = {}
        if use_bias:
            self.biases = {"shared": tf.Variable(tf.zeros([self.shared_units]), name="shared_bias")}
            self.biases.update({task: tf.Variable(tf.zeros([self.head_units]), name=f"{task}_bias") for task in self.tasks})

    def _initial_arrays(self, seed: int) -> dict[str, np.ndarray]:
        """He-normal weight matrices drawn from ``seed`` (biases start at zero)."""
        rng = np.random.default_rng(seed)
        shapes = {"shared": (self.in_dim, self.shared_units)}
        shapes.update({task: (self.shared_units, self.head_units) for task in self.tasks})
        return {name: _he_normal(rng, *shape) for name, shape in shapes.items()}

    def initialize(self, seed: int) -> None:
        """Assign the weights a new network built with ``seed`` starts from (bit for bit)."""
        arrays = self._initial_arrays(non_negative_int(seed, name="seed"))
        arrays.update({f"{name}_bias": np.zeros(bias.shape, np.float32) for name, bias in self.biases.items()})
        self.set_weights(arrays)

    @property
    def input_spec(self) -> tf.TensorSpec:
        """The spec of a batch's inputs: float32, shape (None, in_dim)."""
        return tf.TensorSpec([None, self.in_dim], tf.float32)

    def batch_spec(self, task: str) -> tf.TensorSpec:
        """The spec of one task's targets: float32, shape (None, head_units)."""
        known_task(task, self.tasks)
        return tf.TensorSpec([None, self.head_units], tf.float32)

    def check_batch(self, batch: Any, tasks: Any) -> dict[str, np.ndarray]:
        """Validated float32 arrays ``{"x": (n, in_dim), task: (n, head_units), ...}``.

        Only the tasks named in ``tasks`` must be present; other keys are
        ignored. Raises ``ValueError`` or ``TypeError`` saying what to fix.
        """
        return batch_arrays(batch, tasks=tasks, in_dim=self.in_dim, out_dim=self.head_units)

    @staticmethod
    def _check_weights(weights: Mapping[str, Any], shapes: dict[str, tuple[int, int]]) -> dict[str, np.ndarray]:
        if not isinstance(weights, Mapping):
            raise TypeError(f"weights must be a dict keyed {sorted(shapes)}, got {type(weights).__name__}")
        if set(weights) != set(shapes):
            raise ValueError(f"weights must have exactly the keys {sorted(shapes)}, got {sorted(weights)}")
        arrays = {}
        for name, (rows, cols) in shapes.items():
            arrays[name] = as_float_matrix(weights[name], name=f"weights[{name!r}]", rows=rows, cols=cols)
        return arrays

    def shared_features(self, x: tf.Tensor) -> tf.Tensor:
        """The shared layer's output, shape (n, shared_units)."""
        pre_activation = tf.matmul(x, self.shared)
        if self.use_bias:
            pre_activation += self.biases["shared"]
        return tf.nn.relu(pre_activation)

    def __call__(self, x: Any) -> dict[str, tf.Tensor]:
        """Each task's prediction: ``{"y1": (n, head_units), "y2": (n, head_units)}``."""
        if not isinstance(x, tf.Tensor):
            x = as_float_matrix(x, name="x", cols=self.in_dim)
        hidden = self.shared_features(x)
        outputs = {}
        for task, head in self.heads.items():
            logits = tf.matmul(hidden, head)
            if self.use_bias:
                logits += self.biases[task]
            outputs[task] = tf.nn.relu(logits) if self.output_activation == "relu" else logits
        return outputs

    def losses(self, batch: Mapping[str, Any]) -> dict[str, tf.Tensor]:
        """Each task's training loss: ``tf.nn.l2_loss(target - prediction)`` or the MSE (see ``loss``).

        ``batch`` needs ``"x"`` (n, in_dim) and, for each task it holds,
        targets (n, head_units); tasks missing from the batch are skipped, so
        a single-task batch gives a single loss.
        """
        present = [task for task in self.tasks if task in batch]
        if not present:
            raise ValueError(f"the batch holds no task targets; expected some of {list(self.tasks)}, got {sorted(batch)}")
        if not all(isinstance(batch[key], tf.Tensor) for key in ["x", *present]):
            batch = self.check_batch(batch, present)
        predictions = self(batch["x"])
        if self.loss == "mean_squared_error":
            return {task: tf.reduce_mean(tf.square(batch[task] - predictions[task])) for task in present}
        return {task: tf.nn.l2_loss(batch[task] - predictions[task]) for task in present}

    def loss_terms(self, batch: Mapping[str, Any]) -> dict[str, tuple[tf.Tensor, tf.Tensor | None]]:
        """Each present task's loss as ``(sum over rows, number of rows or None)``.

        ``"l2_loss"`` is a sum (``None``: nothing to divide by); the mean
        squared error is the sum of the rows' mean squares divided by the
        number of rows. Trainers running under ``tf.distribute`` divide each
        replica's sum by the row count all-reduced over replicas.
        """
        present = [task for task in self.tasks if task in batch]
        if not all(isinstance(batch[key], tf.Tensor) for key in ["x", *present]):
            batch = self.check_batch(batch, present)
        predictions = self(batch["x"])
        terms = {}
        for task in present:
            squares = tf.square(batch[task] - predictions[task])
            if self.loss == "mean_squared_error":
                rows = tf.cast(tf.shape(squares)[0], tf.float32)
                terms[task] = (tf.reduce_sum(tf.reduce_mean(squares, axis=1)), rows)
            else:
                terms[task] = (0.5 * tf.reduce_sum(squares), None)
        return terms

    def evaluate(self, batch: Mapping[str, Any]) -> dict[str, float]:
        """Mean squared error of each task present in ``batch`` (per target value).

        Unlike :meth:`losses` with the article's ``l2_loss`` (a sum, which
        grows with the batch), this is comparable across data sets of
        different sizes. Lower is better.
        """
        tasks = [task for task in self.tasks if task in batch]
        arrays = self.check_batch(batch, tasks)
        predictions = self(arrays["x"])
        return {task: float(tf.reduce_mean(tf.square(arrays[task] - predictions[task]))) for task in tasks}

    def trainable_for(self, task: str) -> list[tf.Variable]:
        """The variables task ``task``'s loss depends on: the shared layer and its head.

        ``[shared, head]``, followed by ``[shared_bias, head_bias]`` when
        ``use_bias=True``.
        """
        known_task(task, self.tasks)
        variables = [self.shared, self.heads[task]]
        if self.use_bias:
            variables += [self.biases["shared"], self.biases[task]]
        return variables

    @property
    def shared_variables(self) -> list[tf.Variable]:
        """The variables every task's loss depends on: the shared layer (and its bias)."""
        return [self.shared, self.biases["shared"]] if self.use_bias else [self.shared]

    @property
    def all_variables(self) -> list[tf.Variable]:
        """Every weight (and bias) of the network, shared layer first."""
        variables = [self.shared, *self.heads.values()]
        return variables + list(self.biases.values())

    def _named_variables(self) -> dict[str, tf.Variable]:
        variables = {"shared": self.shared, **self.heads}
        variables.update({f"{name}_bias": bias for name, bias in self.biases.items()})
        return variables

    def set_weights(self, weights: Mapping[str, Any]) -> None:
        """Assign every weight (and bias) from arrays keyed like :meth:`get_weights`.

        Used to restart an experiment without building (and tracing) new
        trainers; the variables keep their identity.
        """
        variables = self._named_variables()
        if not isinstance(weights, Mapping) or set(weights) != set(variables):
            got = sorted(weights) if isinstance(weights, Mapping) else type(weights).__name__
            raise ValueError(f"weights must have exactly the keys {sorted(variables)}, got {got}")
        arrays = {}
        for name, variable in variables.items():
            shape = tuple(variable.shape)
            array = np.asarray(weights[name], dtype=np.float32)
            if array.shape != shape or not np.all(np.isfinite(array)):
                raise ValueError(f"weights[{name!r}] must be finite with shape {shape}, got shape {array.shape}")
            arrays[name] = array
        for name, variable in variables.items():
            variable.assign(arrays[name])

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies of the current weights, keyed like the ``weights`` argument."""
        return {name: variable.numpy().copy() for name, variable in self._named_variables().items()}


def keras_two_head_model(
    in_dim: int = 10,
    shared_units: int = 20,
    head_units: int = 20,
    *,
    weights: Mapping[str, Any] | None = None,
    output_activation: OutputActivation = "relu",
    use_bias: bool = False,
    seed: int = 0,
) -> tf.keras.Model:
    """The same network with the Keras functional API: one input, named outputs.

    Layers are named ``"shared"``, ``"y1"`` and ``"y2"`` and so are the outputs,
    so losses and loss weights can be keyed by task name in ``compile``.

    Parameters
    ----------
    weights : dict, optional
        As for :class:`TwoHeadNet`; default is a He-normal initialisation
        seeded with ``seed``.

    Returns
    -------
    keras.Model
        Maps (n, in_dim) to ``{"y1": (n, head_units), "y2": (n, head_units)}``.
    """
    reference = TwoHeadNet(
        in_dim, shared_units, head_units, weights=weights, seed=seed, output_activation=output_activation, use_bias=use_bias
    )
    keras = tf.keras
    inputs = keras.Input(shape=(reference.in_dim,), name="x")
    shared = keras.layers.Dense(reference.shared_units, activation="relu", use_bias=use_bias, name="shared")
    hidden = shared(inputs)
    head_activation = None if output_activation == "linear" else "relu"
    heads = {
        task: keras.layers.Dense(reference.head_units, activation=head_activation, use_bias=use_bias, name=task)
        for task in TASKS
    }
    outputs = {task: layer(hidden) for task, layer in heads.items()}
    model = keras.Model(inputs=inputs, outputs=outputs, name="two_head_model")
    arrays = reference.get_weights()
    for name, layer in {"shared": shared, **heads}.items():
        layer.set_weights([arrays[name], arrays[f"{name}_bias"]] if use_bias else [arrays[name]])
    return model
