"""The arithmetic of the batched trainers (private): stacked networks and Adam.

S copies of :class:`~mtl_helpers.TwoHeadNet` are held as one float32 matrix
``theta`` of shape (S, n_parameters): row ``s`` is seed ``s``'s weights,
flattened (see :class:`StackedNet` for the order). The forward pass splits
the rows back into the network's matrices with a leading seed axis
(``shared``: (S, in_dim, shared_units) ...) and runs every seed at once with
batched matrix products (:func:`batched_matmul` under XLA). Adam is written
out (:func:`adam_update`): Keras keeps one step count per optimizer, while
seeds that train different tasks need one per seed and task. Its arithmetic
is Keras 3's ``update_step``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mtl_helpers._tensorflow import optimization_barrier, tf
from mtl_helpers.models import TwoHeadNet

__all__ = ["AdamSettings", "StackedNet", "adam_update", "alpha_in_graph", "alpha_table", "batched_matmul"]


# --------------------------------------------------------------------------- products under XLA


def _transposed(a: tf.Tensor) -> tf.Tensor:
    """``a`` (S, m, n) transposed to (S, n, m) and written out, which XLA would otherwise fold into the product."""
    return optimization_barrier(tf.transpose(a, [0, 2, 1]))


@tf.custom_gradient
def batched_matmul(a: tf.Tensor, b: tf.Tensor) -> tuple[tf.Tensor, Any]:
    """``tf.matmul(a, b)`` for (S, n, k) @ (S, k, m), with a gradient that XLA's CPU backend runs fast.

    XLA on CPU runs a batched product as one small product per seed.
    TensorFlow's gradient of ``b`` is ``matmul(a, g, transpose_a=True)``,
    and with its left operand transposed each of those products costs
    about three times an ordinary one (at S = 10 with the benchmark's
    network: 7.5 against 2.2 microseconds for the first layer's product;
    the two weight gradients took about 30% of a step). Here the transpose
    of ``a`` is written out first, behind an optimization barrier so that
    XLA cannot fold it back into the product, which becomes an ordinary
    one. It is the same sum, but XLA may add its terms in another order:
    for the book's layers (k <= 20 and m = 20) the bits were the same in
    our checks (TensorFlow 2.21), for other shapes they may differ in the
    last place. A gradient ``g`` of one column (a head of one unit) keeps
    TensorFlow's product: XLA computes it as a matrix-vector product, about
    as fast either way, and there the transpose did change the last bits.
    The gradient of ``a`` stays TensorFlow's ``matmul(g, b,
    transpose_b=True)``, which is cheap. Only for loops compiled with XLA
    (without XLA the barrier is an operation of its own, and a slow one).
    """

    def gradient(g: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        one_column = g.shape[-1] == 1
        gradient_b = tf.matmul(a, g, transpose_a=True) if one_column else tf.matmul(_transposed(a), g)
        return tf.matmul(g, b, transpose_b=True), gradient_b

    return tf.matmul(a, b), gradient


# --------------------------------------------------------------------------- the stacked network


class StackedNet:
    """S networks of one architecture as the rows of a parameter matrix.

    A row holds the shared parameters first (``shared``, ``shared_bias``),
    then each task's own (``y1``, ``y1_bias``, ``y2`` ...), then the extra
    scalars: the parameters one task trains are the shared block and one
    head block, each contiguous.

    Parameters
    ----------
    settings : dict
        Keyword arguments of :class:`TwoHeadNet` (not ``weights`` or ``seed``).
    extra : sequence of str
        Names of scalar parameters appended to each row (the uncertainty
        weighting's log-variances), one column each.
    jit_compile : bool
        Whether the loops using it are compiled with XLA: then the products
        are :func:`batched_matmul`, else ``tf.matmul``.
    """

    def __init__(self, settings: Any, extra: Sequence[str] = (), *, jit_compile: bool = False) -> None:
        if not isinstance(settings, Mapping):
            raise TypeError(
                f"net_settings must be a dict of TwoHeadNet arguments such as STRUCTURED_NET, got {type(settings).__name__}"
            )
        for key, hint in (("seed", "pass the seeds to the trainer"), ("weights", "every seed starts from TwoHeadNet(seed=s)")):
            if key in settings:
                raise ValueError(f"net_settings may not contain {key!r}: {hint}")
        self.settings = dict(settings)
        try:
            self.template = net = TwoHeadNet(**settings)
        except TypeError as error:
            raise TypeError(f"net_settings must hold TwoHeadNet arguments: {error}") from None
        self.tasks: tuple[str, ...] = net.tasks
        self.shapes = {name: tuple(array.shape) for name, array in net.get_weights().items()}
        by_id = {id(net.shared): "shared", **{id(head): task for task, head in net.heads.items()}}
        by_id.update({id(bias): f"{name}_bias" for name, bias in net.biases.items()})
        self.shared_names = [by_id[id(variable)] for variable in net.shared_variables]
        #: Each task's own parameters (``trainable_for(task)`` without the shared ones), same shapes for every task.
        self.own_names = {
            task: [by_id[id(v)] for v in net.trainable_for(task) if by_id[id(v)] not in self.shared_names] for task in self.tasks
        }
        self.names = [*self.shared_names, *[name for task in self.tasks for name in self.own_names[task]], *extra]
        self.sizes = {name: int(np.prod(self.shapes.get(name, ()))) for name in self.names}
        self.n_parameters = sum(self.sizes.values())
        self.shared_size = sum(self.sizes[name] for name in self.shared_names)
        self.own_size = sum(self.sizes[name] for name in self.own_names[self.tasks[0]])
        self.matmul = batched_matmul if jit_compile else tf.matmul

    def initial_row(self, seed: int) -> np.ndarray:
        """Seed ``seed``'s initial network weights, flattened (the extra parameters excluded)."""
        self.template.initialize(seed)
        arrays = self.template.get_weights()
        return np.concatenate([arrays[name].reshape(-1) for name in self.names if name in arrays])

    def unflatten(self, theta: tf.Tensor, names: Sequence[str] | None = None) -> dict[str, tf.Tensor]:
        """The parameters ``names`` (default all) laid out in ``theta`` (S, their sizes), with a leading seed axis.

        ``{"shared": (S, in_dim, units), "shared_bias": (S, 1, units), ...,
        extra: (S,)}``: a bias gets a middle axis, ready to add to (S, n, units).
        """
        names = self.names if names is None else names
        params = {}
        for name, piece in zip(names, tf.split(theta, [self.sizes[name] for name in names], axis=1), strict=True):
            shape = self.shapes.get(name, ())
            params[name] = tf.reshape(piece, [-1, *shape] if len(shape) != 1 else [-1, 1, *shape])
        return params

    def arrays(self, rows: np.ndarray, names: Sequence[str] | None = None) -> list[dict[str, np.ndarray]]:
        """Per row of ``rows`` (S, sizes of ``names``), the parameters keyed by name with their shapes."""
        names = self.names if names is None else names
        ends = np.cumsum([self.sizes[name] for name in names])[:-1]
        return [
            {name: piece.reshape(self.shapes.get(name, ())) for name, piece in zip(names, np.split(row, ends), strict=True)}
            for row in rows
        ]

    def hidden(self, params: Mapping[str, tf.Tensor], x: tf.Tensor) -> tf.Tensor:
        """Every seed's shared layer (S, n, shared_units) for inputs ``x`` (S, n, in_dim)."""
        pre_activation = self.matmul(x, params["shared"])
        if self.template.use_bias:
            pre_activation += params["shared_bias"]
        return tf.nn.relu(pre_activation)

    def head(self, hidden: tf.Tensor, weights: tf.Tensor, bias: tf.Tensor | None) -> tf.Tensor:
        """A head of every seed: (S, n, head_units) from ``hidden`` and weights (S, shared_units, head_units)."""
        logits = self.matmul(hidden, weights)
        if bias is not None:
            logits += bias
        return tf.nn.relu(logits) if self.template.output_activation == "relu" else logits

    def forward(self, params: Mapping[str, tf.Tensor], x: tf.Tensor) -> dict[str, tf.Tensor]:
        """Every seed's predictions ``{task: (S, n, head_units)}`` for inputs ``x`` (S, n, in_dim).

        The operations of ``TwoHeadNet.__call__``, with batched matrix products.
        """
        hidden = self.hidden(params, x)
        bias = self.template.use_bias
        return {task: self.head(hidden, params[task], params[f"{task}_bias"] if bias else None) for task in self.tasks}

    def forward_own_task(self, own: tf.Tensor, x: tf.Tensor) -> tf.Tensor:
        """Each seed's prediction (S, n, head_units) for its own task.

        ``own`` (S, shared_size + own_size) holds each seed's shared
        parameters and those of its task's head, laid out like
        ``shared_names + own_names[task]`` (the same for every task).
        """
        first = self.tasks[0]
        params = self.unflatten(own, [*self.shared_names, *self.own_names[first]])
        bias = params[f"{first}_bias"] if self.template.use_bias else None
        return self.head(self.hidden(params, x), params[first], bias)

    def task_loss(self, targets: tf.Tensor, predictions: tf.Tensor) -> tf.Tensor:
        """Each seed's training loss (S,), as ``TwoHeadNet.losses``.

        ``l2_loss`` is half the sum of squares: ``0.5 * sum`` equals the
        kernel's ``sum(0.5 * square)`` exactly (halving is exact in binary).
        """
        squares = tf.square(targets - predictions)
        if self.template.loss == "mean_squared_error":
            return tf.reduce_mean(squares, axis=[1, 2])
        return tf.reduce_sum(squares, axis=[1, 2]) * 0.5


# --------------------------------------------------------------------------- Adam


@dataclass(frozen=True)
class AdamSettings:
    """A Keras ``Adam``'s settings, as the float32 numbers its update uses."""

    learning_rate: np.float32
    beta_1: np.float32
    beta_2: np.float32
    one_minus_beta_1: np.float32
    one_minus_beta_2: np.float32
    epsilon: np.float32

    @classmethod
    def from_optimizer(cls, optimizer: Any) -> AdamSettings:
        """Read a plain ``keras.optimizers.Adam``; refuse what the batched update does not reproduce."""
        if type(optimizer) is not tf.keras.optimizers.Adam:
            raise TypeError(
                "the batched trainers implement Adam on stacked seeds; make_optimizer must return a "
                f"keras.optimizers.Adam (e.g. mtl_helpers.article_adam(0.01)), got {type(optimizer).__name__}"
            )
        config = optimizer.get_config()
        options = ("amsgrad", "weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "use_ema",
                   "loss_scale_factor", "gradient_accumulation_steps")
        unsupported = {key: config.get(key) for key in options if config.get(key) not in (None, False)}
        if unsupported:
            raise ValueError(f"the batched trainers support plain Adam only; this one sets {unsupported}")
        numbers = {key: config[key] for key in ("learning_rate", "beta_1", "beta_2", "epsilon")}
        bad = {key: value for key, value in numbers.items() if not isinstance(value, int | float | np.floating)}
        if bad:
            raise ValueError(f"the batched trainers need constant Adam settings (no schedules or callables), got {bad}")
        beta_1, beta_2 = float(numbers["beta_1"]), float(numbers["beta_2"])
        return cls(
            learning_rate=np.float32(optimizer.learning_rate.numpy()),  # a float32 variable in Keras
            beta_1=np.float32(beta_1),
            beta_2=np.float32(beta_2),
            one_minus_beta_1=np.float32(1 - beta_1),  # Keras computes these in Python, then casts
            one_minus_beta_2=np.float32(1 - beta_2),
            epsilon=np.float32(numbers["epsilon"]),
        )


_ALPHA_TABLES: dict[tuple[AdamSettings, int], np.ndarray] = {}


@tf.function(jit_compile=True, reduce_retracing=True)
def _xla_power(base: tf.Tensor, exponents: tf.Tensor) -> tf.Tensor:
    return tf.pow(base, exponents)


def alpha_table(settings: AdamSettings, length: int) -> np.ndarray:
    """Adam's step size ``lr * sqrt(1 - beta_2**k) / (1 - beta_1**k)`` for k = 1 .. at least ``length``.

    Keras raises a scalar to a scalar power. TensorFlow's CPU ``pow`` gives
    another last bit for some k when it runs on a vector (its vectorised
    path), so the loop without XLA looks the step size up here. XLA's
    ``pow`` agrees with the scalar kernel (checked for k up to 20,000), and
    float32 arithmetic in NumPy is IEEE's, so these are the numbers Keras
    computes. Lengths are rounded up to a power of two; tables are cached.
    """
    length = 1 << max(10, int(length - 1).bit_length())
    key = (settings, length)
    if key not in _ALPHA_TABLES:
        exponents = tf.constant(np.arange(1, length + 1, dtype=np.float32))
        beta_1_power = _xla_power(tf.constant(settings.beta_1), exponents).numpy()
        beta_2_power = _xla_power(tf.constant(settings.beta_2), exponents).numpy()
        one = np.float32(1)
        _ALPHA_TABLES[key] = settings.learning_rate * np.sqrt(one - beta_2_power) / (one - beta_1_power)
    return _ALPHA_TABLES[key]


def alpha_in_graph(settings: AdamSettings, step: tf.Tensor) -> tf.Tensor:
    """:func:`alpha_table`'s numbers computed in the graph, for XLA; ``step`` (S,) float32."""
    beta_1_power, beta_2_power = tf.pow(settings.beta_1, step), tf.pow(settings.beta_2, step)
    return settings.learning_rate * tf.sqrt(1 - beta_2_power) / (1 - beta_1_power)


def adam_update(
    settings: AdamSettings, m: tf.Tensor, v: tf.Tensor, gradient: tf.Tensor, alpha: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """One Adam update of every row, Keras 3's ``Adam.update_step`` operation for operation.

    ``m``, ``v`` and ``gradient`` have shape (S, n); ``alpha`` (S,) is each
    row's step size at its own step count. Returns ``(step, m, v)``: the
    new moments and the step that Keras subtracts from the weights.
    """
    m = m + (gradient - m) * settings.one_minus_beta_1
    v = v + (tf.square(gradient) - v) * settings.one_minus_beta_2
    return (m * alpha[:, None]) / (tf.sqrt(v) + settings.epsilon), m, v
