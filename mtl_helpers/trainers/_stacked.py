"""What the batched trainers share (private): stacked networks, Adam, the common base.

S copies of :class:`~mtl_helpers.TwoHeadNet` are held as one float32 matrix
``theta`` of shape (S, n_parameters): row ``s`` is seed ``s``'s weights,
flattened (see :class:`StackedNet` for the order). The forward pass splits
the rows back into the network's matrices with a leading seed axis
(``shared``: (S, in_dim, shared_units) ...) and runs every seed at once with
batched matrix products. Adam is written out (:func:`adam_update`): Keras
keeps one step count per optimizer, while seeds that train different tasks
need one per seed and task. Its arithmetic is Keras 3's ``update_step``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mtl_helpers._tensorflow import tf
from mtl_helpers._validation import flag, non_negative_int, positive_int
from mtl_helpers.models import TwoHeadNet
from mtl_helpers.trainers.base import OptimizerFactory, _chunks, build_optimizer

__all__ = [
    "AdamSettings",
    "BatchedTrainer",
    "StackedNet",
    "adam_update",
    "alpha_table",
    "check_seeds",
    "per_seed",
    "stack",
    "stack_task_datasets",
]

SeedsArgument = int | Sequence[int]


# --------------------------------------------------------------------------- arguments per seed


def check_seeds(seeds: Any) -> tuple[int, ...]:
    """A number of seeds ``n`` (meaning ``range(n)``) or a sequence of seeds, as a tuple."""
    if isinstance(seeds, int | np.integer) and not isinstance(seeds, bool):
        return tuple(range(positive_int(seeds, name="seeds (a number of seeds)")))
    if isinstance(seeds, str) or not isinstance(seeds, Sequence | range | np.ndarray):
        raise TypeError(f"seeds must be a number of seeds or a list of seeds such as range(10), got {seeds!r}")
    seeds = tuple(non_negative_int(seed, name="each seed") for seed in seeds)
    if not seeds:
        raise ValueError("seeds is empty; give at least one seed, e.g. range(10)")
    return seeds


def per_seed(value: Any, seeds: Sequence[int], *, name: str, is_single: Callable[[Any], bool], example: str) -> list[Any]:
    """One value per seed from a value for every seed, a list of one per seed, or a function of the seed."""
    if callable(value) and not is_single(value):
        return [value(seed) for seed in seeds]
    if is_single(value):
        return [value] * len(seeds)
    if isinstance(value, Sequence | np.ndarray) and not isinstance(value, str) and len(value) == len(seeds):
        return list(value)
    got = f"a sequence of {len(value)}" if isinstance(value, Sequence | np.ndarray) else repr(value)
    raise ValueError(
        f"{name} must be {example} (the same for every seed), a list of {len(seeds)} of them (one per seed) "
        f"or a function of the seed such as lambda seed: ...; got {got}"
    )


def stack(arrays: Sequence[np.ndarray], *, what: str, seeds: Sequence[int]) -> np.ndarray:
    """Stack one array per seed along a new first axis; all must have the same number of rows."""
    rows = {seed: array.shape[0] for seed, array in zip(seeds, arrays, strict=True)}
    if len(set(rows.values())) > 1:
        raise ValueError(
            f"every seed's {what} must have the same number of rows to be stacked, got rows per seed {rows}; "
            "draw each seed's data with the same size"
        )
    return np.stack(arrays)


def stack_task_datasets(
    template: TwoHeadNet, seeds: Sequence[int], datasets: list[Any], trained: list[set[str]]
) -> tuple[np.ndarray, np.ndarray, list[int], list[int]]:
    """Each run's data sets of alternating training, stacked for the batched loop.

    ``trained`` holds the tasks each run's schedule trains. Returns the
    inputs (S, n_rows, in_dim) and targets (S, n_rows, head_units) of every
    trained task, one block of rows after another, and each task's size and
    first row (size 1 for a task no schedule trains, as ``AlternatingTrainer`` does).
    """
    tasks = template.tasks
    for seed, data in zip(seeds, datasets, strict=True):
        if not isinstance(data, Mapping):
            raise TypeError(f"the datasets of seed {seed} must be a dict keyed by task name, got {type(data).__name__}")
        unknown = sorted(set(data) - set(tasks))
        if unknown:
            raise ValueError(f"the datasets of seed {seed} have unknown task names {unknown}; expected some of {list(tasks)}")
    xs, ys, sizes, offsets = [], [], [], []
    for task in tasks:
        trains_task = [task in tasks_of_run for tasks_of_run in trained]
        if not any(trains_task):
            sizes.append(1)  # as AlternatingTrainer: a size no schedule uses
            offsets.append(0)
            continue
        for seed, data, trains in zip(seeds, datasets, trains_task, strict=True):
            if trains and task not in data:
                raise ValueError(f"the schedule of seed {seed} trains {task!r} but its datasets have no {task!r} data set")
        arrays = {index: template.check_batch(data[task], [task]) for index, data in enumerate(datasets) if task in data}
        size = stack([a["x"] for a in arrays.values()], what=f"{task!r} data set", seeds=[seeds[i] for i in arrays]).shape[1]
        # A run that never trains this task and has no data set for it gets zeros (never read).
        zeros = {"x": np.zeros((size, template.in_dim), np.float32), task: np.zeros((size, template.head_units), np.float32)}
        xs.append(np.stack([arrays.get(index, zeros)["x"] for index in range(len(seeds))]))
        ys.append(np.stack([arrays.get(index, zeros)[task] for index in range(len(seeds))]))
        offsets.append(sum(part.shape[1] for part in xs[:-1]))
        sizes.append(size)
    return np.concatenate(xs, axis=1), np.concatenate(ys, axis=1), sizes, offsets


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
    """

    def __init__(self, settings: Any, extra: Sequence[str] = ()) -> None:
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
        pre_activation = tf.matmul(x, params["shared"])
        if self.template.use_bias:
            pre_activation += params["shared_bias"]
        return tf.nn.relu(pre_activation)

    def head(self, hidden: tf.Tensor, weights: tf.Tensor, bias: tf.Tensor | None) -> tf.Tensor:
        """A head of every seed: (S, n, head_units) from ``hidden`` and weights (S, shared_units, head_units)."""
        logits = tf.matmul(hidden, weights)
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


# --------------------------------------------------------------------------- the common base


class BatchedTrainer:
    """What both batched trainers share: seeds, the stacked variables, restarts, evaluation."""

    _loop: Callable[..., tf.Tensor]

    def __init__(
        self,
        seeds: SeedsArgument,
        net_settings: Mapping[str, Any] | None,
        make_optimizer: OptimizerFactory,
        jit_compile: bool,
        extra: Sequence[str] = (),
    ) -> None:
        self.seeds = check_seeds(seeds)
        self.jit_compile = flag(jit_compile, name="jit_compile")
        self._net = StackedNet({} if net_settings is None else net_settings, extra)
        self.tasks = self._net.tasks
        self.adam = AdamSettings.from_optimizer(build_optimizer(make_optimizer))
        n_seeds, n_slots = len(self.seeds), len(self._optimizer_names())
        width = sum(self._net.sizes[name] for name in self._state_names(0))
        self._theta = tf.Variable(tf.zeros([n_seeds, self._net.n_parameters]), name="stacked_weights")
        # Adam's state: row n_slots * run + slot holds optimizer ``slot`` of run ``run``,
        # the moments of the parameters _state_names(slot), in that order.
        self._m = tf.Variable(tf.zeros([n_seeds * n_slots, width]), name="adam_m")
        self._v = tf.Variable(tf.zeros([n_seeds * n_slots, width]), name="adam_v")
        self._iterations = tf.Variable(tf.zeros([n_seeds * n_slots], tf.int64), name="adam_iterations")
        spec_x = tf.TensorSpec([n_seeds, None, self._net.template.in_dim], tf.float32)
        self._predict_fn = tf.function(self._predict, input_signature=[spec_x])
        self._loop_fns: dict[int, Any] = {}
        self.reset(self.seeds)

    def _loop_signature(self, batch_size: int) -> list[tf.TensorSpec]:
        """The training loop's inputs, for mini-batches of ``batch_size`` rows."""
        raise NotImplementedError

    def _loop_for(self, batch_size: int) -> Any:
        """The compiled training loop for ``batch_size``.

        One per batch size: with the batch size in the signature, TensorFlow
        drops the run-time shape arithmetic of the gradients, which makes a
        step about a third faster; a new batch size traces once more.
        """
        if batch_size not in self._loop_fns:
            self._loop_fns[batch_size] = tf.function(
                self._loop, input_signature=self._loop_signature(batch_size), jit_compile=self.jit_compile
            )
        return self._loop_fns[batch_size]

    def _optimizer_names(self) -> list[str]:
        """The names of each run's optimizers, keyed like the step-by-step trainer's ``optimizers``."""
        raise NotImplementedError

    def _state_names(self, slot: int) -> list[str]:
        """The parameters optimizer ``slot`` trains, in the order of its rows of ``m`` and ``v``."""
        raise NotImplementedError

    def _initial_extra(self) -> list[float]:
        return []

    def reset(self, seeds: SeedsArgument) -> None:
        """Restart every run as a new trainer on a new network built with its seed would start.

        Parameters
        ----------
        seeds : int or sequence of int
            As many seeds as the trainer was built with (a number ``n``
            means ``range(n)``). Nothing is traced or compiled again.
        """
        seeds = check_seeds(seeds)
        if len(seeds) != len(self.seeds):
            raise ValueError(
                f"this trainer trains {len(self.seeds)} seeds at once, got {len(seeds)} seeds; "
                "build a new trainer for another number of seeds"
            )
        extra = np.asarray(self._initial_extra(), dtype=np.float32)
        self._theta.assign(np.stack([np.concatenate([self._net.initial_row(seed), extra]) for seed in seeds]))
        for variable in (self._m, self._v, self._iterations):
            variable.assign(tf.zeros_like(variable))
        self.seeds = seeds

    @property
    def net(self) -> TwoHeadNet:
        """A network with the trainer's settings (not holding any seed's current weights: see :meth:`network`)."""
        return self._net.template

    @property
    def tracing_count(self) -> int:
        """How many times the training loop and the prediction function were traced (once each at most)."""
        loops = sum(function.experimental_get_tracing_count() for function in self._loop_fns.values())
        return loops + self._predict_fn.experimental_get_tracing_count()

    def get_weights(self) -> list[dict[str, np.ndarray]]:
        """Each run's current network weights, keyed like ``TwoHeadNet.get_weights()``, in :attr:`seeds` order."""
        return [{name: row[name] for name in self._net.shapes} for row in self._net.arrays(self._theta.numpy())]

    def network(self, index: int) -> TwoHeadNet:
        """A new :class:`TwoHeadNet` holding the current weights of run ``index`` (seed ``seeds[index]``)."""
        index = non_negative_int(index, name="index")
        if index >= len(self.seeds):
            raise ValueError(f"index must be below the number of seeds {len(self.seeds)}, got {index}")
        net = TwoHeadNet(**self._net.settings)
        net.set_weights(self.get_weights()[index])
        return net

    def optimizer_state(self) -> list[dict[str, dict[str, Any]]]:
        """Each run's Adam states ``{optimizer: {"iterations": int, "m": {name: array}, "v": {name: array}}}``.

        Optimizers are keyed like ``AlternatingTrainer.optimizers`` (one per
        task) or ``JointTrainer.optimizers`` (``"joint"``); each holds the
        moments of the parameters it trains, keyed like :meth:`get_weights`.
        """
        n_slots, states = len(self._optimizer_names()), []
        m_all, v_all, counts = self._m.numpy(), self._v.numpy(), self._iterations.numpy()
        for run in range(len(self.seeds)):
            state = {}
            for slot, name in enumerate(self._optimizer_names()):
                row, names = n_slots * run + slot, self._state_names(slot)
                m, v = self._net.arrays(m_all[row][None], names)[0], self._net.arrays(v_all[row][None], names)[0]
                state[name] = {"iterations": int(counts[row]), "m": m, "v": v}
            states.append(state)
        return states

    def _batch_seeds(self, seeds: Any) -> list[int]:
        if seeds is None:
            return list(self.seeds)
        seeds = list(check_seeds(seeds))
        if len(seeds) != len(self.seeds):
            raise ValueError(f"seeds (of the mini-batch draws) must give one seed per run, {len(self.seeds)}; got {len(seeds)}")
        return seeds

    def _alpha_input(self, steps: int) -> tf.Tensor:
        """Adam's step sizes by step count for the loop without XLA (a placeholder with XLA)."""
        if self.jit_compile:
            return tf.zeros([1])
        return tf.constant(alpha_table(self.adam, int(self._iterations.numpy().max()) + steps + 1))

    def _alpha(self, next_step: tf.Tensor, table: tf.Tensor) -> tf.Tensor:
        """Adam's step size (S,) at each run's step count ``next_step`` (S,) int64."""
        if self.jit_compile:
            return alpha_in_graph(self.adam, tf.cast(next_step, tf.float32))
        return tf.gather(table, next_step - 1)

    def _predict(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
        return self._net.forward(self._net.unflatten(self._theta), x)

    def _eval_arrays(self, eval_data: Any) -> tuple[tf.Tensor, dict[str, tf.Tensor]] | None:
        if eval_data is None:
            return None
        batches = per_seed(eval_data, self.seeds, name="eval_data", is_single=lambda v: isinstance(v, Mapping),
                           example="a dict {'x': ..., 'y1': ..., 'y2': ...}")
        if not all(isinstance(batch, Mapping) for batch in batches):
            raise TypeError("each seed's eval_data must be a dict like {'x': ..., 'y1': ..., 'y2': ...}")
        present = [task for task in self.tasks if task in batches[0]]
        if any([task for task in self.tasks if task in batch] != present for batch in batches):
            raise ValueError(f"every seed's eval_data must hold the same tasks, got {[sorted(batch) for batch in batches]}")
        arrays = [self._net.template.check_batch(batch, present) for batch in batches]
        x = tf.constant(stack([a["x"] for a in arrays], what="eval_data", seeds=self.seeds))
        return x, {task: tf.constant(np.stack([a[task] for a in arrays])) for task in present}

    def _evaluate(self, arrays: tuple[tf.Tensor, dict[str, tf.Tensor]]) -> dict[str, np.ndarray]:
        """``TwoHeadNet.evaluate`` of every run: {task: (S,)}, the mean squared error."""
        x, targets = arrays
        predictions = self._predict_fn(x)
        return {task: tf.reduce_mean(tf.square(y - predictions[task]), axis=[1, 2]).numpy() for task, y in targets.items()}

    def _run_chunks(
        self, steps: int, eval_data: Any, eval_every: int | None, run: Callable[[int, int], np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Records of every step (steps, S, ...), evaluation steps and metrics {task: (n_evals, S)}."""
        if eval_every is not None and eval_data is None:
            raise ValueError("eval_every needs eval_data: pass the held-out batch (or one per seed) to evaluate on")
        arrays = self._eval_arrays(eval_data)
        records, eval_steps, metrics = [], [], []
        if arrays is not None:
            eval_steps.append(0)
            metrics.append(self._evaluate(arrays))
        for start, stop in _chunks(steps, eval_every):
            records.append(run(start, stop))
            if arrays is not None:
                eval_steps.append(stop)
                metrics.append(self._evaluate(arrays))
        eval_metric = {task: np.stack([metric[task] for metric in metrics]) for task in (metrics[0] if metrics else {})}
        return np.concatenate(records), np.asarray(eval_steps, dtype=int), eval_metric
