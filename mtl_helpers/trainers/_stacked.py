"""The arithmetic of the batched trainers (private): stacked networks and Adam.

S copies of :class:`~mtl_helpers.TwoHeadNet` are held as one float32 matrix
``theta`` of shape (S, n_parameters): row ``s`` is seed ``s``'s weights,
flattened in the order of ``TwoHeadNet.get_weights()``. The forward pass
splits a row back into the network's matrices, now with a leading seed axis
(``shared``: (S, in_dim, shared_units) ...), and runs every seed at once with
batched matrix products.

Adam is written out here rather than taken from Keras: Keras keeps one step
count per optimizer, while S seeds that train different tasks at a step need
one step count (and one set of moments) per seed and per task. The
arithmetic is Keras 3's ``Adam.update_step`` operation for operation, so a
seed's run matches the step-by-step trainers bit for bit where TensorFlow's
kernels allow (see :func:`beta_powers`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mtl_helpers._tensorflow import tf
from mtl_helpers.models import TwoHeadNet

__all__ = ["AdamSettings", "StackedNet", "adam_update", "alpha_in_graph", "alpha_table", "beta_powers", "per_seed"]


# --------------------------------------------------------------------------- arguments per seed


def per_seed(value: Any, seeds: Sequence[int], *, name: str, is_single: Callable[[Any], bool], example: str) -> list[Any]:
    """One value per seed from a value for every seed, a list of one per seed, or a function of the seed."""
    if callable(value) and not is_single(value):
        return [value(seed) for seed in seeds]
    if is_single(value):
        return [value] * len(seeds)
    if isinstance(value, Sequence | np.ndarray) and not isinstance(value, str) and len(value) == len(seeds):
        return list(value)
    got = f"a sequence of {len(value)}" if isinstance(value, Sequence | np.ndarray) else type(value).__name__
    raise ValueError(
        f"{name} must be {example} (the same for every seed), a list of {len(seeds)} of them (one per seed) "
        f"or a function of the seed such as lambda seed: ...; got {got}"
    )


# --------------------------------------------------------------------------- the stacked network


class StackedNet:
    """S networks of one architecture as rows of a parameter matrix.

    Parameters
    ----------
    settings : dict
        Keyword arguments of :class:`TwoHeadNet` (not ``weights`` or ``seed``).
    extra : sequence of str
        Names of scalar parameters appended to each row (the uncertainty
        weighting's log-variances), each a column of its own.
    """

    def __init__(self, settings: Mapping[str, Any], extra: Sequence[str] = ()) -> None:
        if not isinstance(settings, Mapping):
            raise TypeError(
                f"net_settings must be a dict of TwoHeadNet arguments such as STRUCTURED_NET, got {type(settings).__name__}"
            )
        for key, hint in (("seed", "pass the seeds to the trainer"), ("weights", "every seed starts from TwoHeadNet(seed=s)")):
            if key in settings:
                raise ValueError(f"net_settings may not contain {key!r}: {hint}")
        self.settings = dict(settings)
        try:
            self.template = TwoHeadNet(**settings)
        except TypeError as error:
            raise TypeError(f"net_settings must hold TwoHeadNet arguments: {error}") from None
        self.tasks: tuple[str, ...] = self.template.tasks
        self.shapes = {name: tuple(array.shape) for name, array in self.template.get_weights().items()}
        self.names = [*self.shapes, *extra]
        self.sizes = [int(np.prod(shape)) for shape in self.shapes.values()] + [1] * len(extra)
        self.extra = tuple(extra)
        self.n_parameters = sum(self.sizes)

    def initial_row(self, seed: int) -> np.ndarray:
        """Seed ``seed``'s initial network weights, flattened: (n_parameters - len(extra),)."""
        self.template.initialize(seed)
        return np.concatenate([array.reshape(-1) for array in self.template.get_weights().values()])

    def owned(self) -> np.ndarray:
        """(n_tasks, n_parameters) bool: which parameters each task's loss trains (``trainable_for``)."""
        net = self.template
        by_id = {id(net.shared): "shared", **{id(head): task for task, head in net.heads.items()}}
        by_id.update({id(bias): f"{name}_bias" for name, bias in net.biases.items()})
        rows = []
        for task in self.tasks:
            names = {by_id[id(variable)] for variable in net.trainable_for(task)}
            rows.append(np.concatenate([np.full(size, name in names) for name, size in zip(self.names, self.sizes, strict=True)]))
        return np.stack(rows)

    def unflatten(self, theta: tf.Tensor) -> dict[str, tf.Tensor]:
        """Each parameter with a leading seed axis: ``{"shared": (S, in_dim, units), "shared_bias": (S, 1, units), ..., extra: (S,)}``."""
        pieces = tf.split(theta, self.sizes, axis=1)
        params = {}
        for name, piece in zip(self.names, pieces, strict=True):
            shape = self.shapes.get(name, ())
            # a bias (units,) becomes (S, 1, units), ready to add to (S, n, units)
            params[name] = tf.reshape(piece, [-1, *shape] if len(shape) != 1 else [-1, 1, *shape])
        return params

    def arrays(self, theta: np.ndarray) -> list[dict[str, np.ndarray]]:
        """Per seed, the weights keyed like ``TwoHeadNet.get_weights()`` (and the extra scalars)."""
        result = []
        for row in theta:
            pieces = np.split(row, np.cumsum(self.sizes)[:-1])
            result.append({name: piece.reshape(self.shapes.get(name, ())) for name, piece in zip(self.names, pieces, strict=True)})
        return result

    def forward(self, params: Mapping[str, tf.Tensor], x: tf.Tensor) -> dict[str, tf.Tensor]:
        """Every seed's predictions, ``{task: (S, n, head_units)}``, for inputs x of shape (S, n, in_dim).

        The operations of ``TwoHeadNet.__call__``, with batched matrix products.
        """
        net = self.template
        pre_activation = tf.matmul(x, params["shared"])
        if net.use_bias:
            pre_activation += params["shared_bias"]
        hidden = tf.nn.relu(pre_activation)
        outputs = {}
        for task in self.tasks:
            logits = tf.matmul(hidden, params[task])
            if net.use_bias:
                logits += params[f"{task}_bias"]
            outputs[task] = tf.nn.relu(logits) if net.output_activation == "relu" else logits
        return outputs

    def task_loss(self, targets: tf.Tensor, predictions: tf.Tensor) -> tf.Tensor:
        """Each seed's training loss, shape (S,): ``TwoHeadNet.losses`` per seed.

        ``l2_loss`` is half the sum of squares; ``0.5 * sum`` equals the
        kernel's ``sum(0.5 * square)`` exactly (halving is exact in binary).
        """
        squares = tf.square(targets - predictions)
        if self.template.loss == "mean_squared_error":
            return tf.reduce_mean(squares, axis=[1, 2])
        return tf.reduce_sum(squares, axis=[1, 2]) * 0.5

    @staticmethod
    def mean_squared_error(targets: tf.Tensor, predictions: tf.Tensor) -> tf.Tensor:
        """``TwoHeadNet.evaluate`` per seed: (S,)."""
        return tf.reduce_mean(tf.square(targets - predictions), axis=[1, 2])


# --------------------------------------------------------------------------- Adam


@dataclass(frozen=True)
class AdamSettings:
    """The hyper-parameters of a Keras ``Adam``, as the float32 numbers its update uses."""

    learning_rate: np.float32
    beta_1: np.float32
    beta_2: np.float32
    one_minus_beta_1: np.float32
    one_minus_beta_2: np.float32
    epsilon: np.float32

    @classmethod
    def from_optimizer(cls, optimizer: Any) -> AdamSettings:
        """Read a plain ``keras.optimizers.Adam``; refuse anything the batched update does not reproduce."""
        if type(optimizer) is not tf.keras.optimizers.Adam:
            raise TypeError(
                "the batched trainers implement Adam for stacked seeds; make_optimizer must return "
                f"keras.optimizers.Adam (e.g. mtl_helpers.article_adam), got {type(optimizer).__name__}"
            )
        config = optimizer.get_config()
        unsupported = {
            key: config.get(key)
            for key in ("amsgrad", "weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "use_ema",
                        "loss_scale_factor", "gradient_accumulation_steps")
            if config.get(key) not in (None, False)
        }
        if unsupported:
            raise ValueError(f"the batched trainers support plain Adam only; this one sets {unsupported}")
        numbers = {key: config[key] for key in ("learning_rate", "beta_1", "beta_2", "epsilon")}
        bad = {key: value for key, value in numbers.items() if not isinstance(value, int | float | np.floating)}
        if bad:
            raise ValueError(f"the batched trainers need constant Adam settings (no schedules or callables), got {bad}")
        beta_1, beta_2 = float(numbers["beta_1"]), float(numbers["beta_2"])
        return cls(
            # The optimizer's learning rate is a float32 variable, the rest Python floats cast in each op.
            learning_rate=np.float32(optimizer.learning_rate.numpy()),
            beta_1=np.float32(beta_1),
            beta_2=np.float32(beta_2),
            one_minus_beta_1=np.float32(1 - beta_1),
            one_minus_beta_2=np.float32(1 - beta_2),
            epsilon=np.float32(numbers["epsilon"]),
        )


_POWER_TABLES: dict[tuple[float, int], np.ndarray] = {}


@tf.function(jit_compile=True, reduce_retracing=True)
def _xla_power(base: tf.Tensor, exponents: tf.Tensor) -> tf.Tensor:
    return tf.pow(base, exponents)


def beta_powers(beta: np.float32, length: int) -> np.ndarray:
    """``beta ** k`` for k = 1 .. length (float32), as Keras computes it for a step count k.

    Keras raises a scalar to a scalar power. TensorFlow's CPU kernel gives a
    different last bit for some k when the same ``tf.pow`` runs on a vector
    (its vectorised path), so the batched loop without XLA looks the powers
    up in a table instead (:func:`alpha_table`). XLA's ``pow`` agrees with
    the scalar kernel and with itself on vectors, so the table is computed
    with XLA and the XLA loop calls ``tf.pow`` directly. Lengths are rounded up to a power of two
    (each new length compiles once) and tables are cached.
    """
    length = 1 << max(10, int(length - 1).bit_length())
    key = (float(beta), length)
    if key not in _POWER_TABLES:
        exponents = tf.constant(np.arange(1, length + 1, dtype=np.float32))
        _POWER_TABLES[key] = _xla_power(tf.constant(beta, tf.float32), exponents).numpy()
    return _POWER_TABLES[key]


def alpha_table(settings: AdamSettings, length: int) -> np.ndarray:
    """Adam's step size ``lr * sqrt(1 - beta_2**k) / (1 - beta_1**k)`` for k = 1 .. at least ``length``.

    Float32 arithmetic in NumPy is IEEE's, so these are the numbers Keras
    computes in TensorFlow at step ``k`` (given :func:`beta_powers`).
    """
    one = np.float32(1)
    beta_1_power, beta_2_power = beta_powers(settings.beta_1, length), beta_powers(settings.beta_2, length)
    return settings.learning_rate * np.sqrt(one - beta_2_power) / (one - beta_1_power)


def alpha_in_graph(settings: AdamSettings, step: tf.Tensor) -> tf.Tensor:
    """:func:`alpha_table`'s numbers computed in the graph, for XLA (whose ``pow`` matches Keras'), step (S,) float32."""
    beta_1_power, beta_2_power = tf.pow(settings.beta_1, step), tf.pow(settings.beta_2, step)
    return settings.learning_rate * tf.sqrt(1 - beta_2_power) / (1 - beta_1_power)


def adam_update(
    settings: AdamSettings, theta: tf.Tensor, m: tf.Tensor, v: tf.Tensor, gradient: tf.Tensor, alpha: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """One Adam update of every row, Keras 3's ``Adam.update_step`` operation for operation.

    ``theta``, ``m``, ``v`` and ``gradient`` have shape (S, n); ``alpha``
    (S,) is each row's step size at its own step count. Returns the new
    ``(theta, m, v)``; the caller decides which entries to keep.
    """
    m = m + (gradient - m) * settings.one_minus_beta_1
    v = v + (tf.square(gradient) - v) * settings.one_minus_beta_2
    theta = theta - (m * alpha[:, None]) / (tf.sqrt(v) + settings.epsilon)
    return theta, m, v
