"""What every trainer shares: the log, the optimizer factory, restarts, held-out evaluation.

A *trainer* owns a network, its optimizers and compiled TensorFlow steps.
Every trainer of the book has the same members:

* ``reset(seed)``: restart as a new trainer on a new network of that seed
  would start (initial weights, fresh optimizer state, step counts zero),
  without tracing its compiled functions again;
* ``step(...)``: one update, for teaching; returns the losses before it;
* ``fit(...)``: many updates in compiled loops, returns a :class:`TrainingLog`;
* ``optimizers``: the optimizers it owns, keyed by what they train;
* ``tracing_count``: how often its functions were traced (a retrace is a bug).

Every trainer also accepts a ``tf.distribute.Strategy`` (chapter 10). The
network (and any weighting) must then be created inside ``strategy.scope()``;
the trainer creates its optimizers there too. Each step's global batch is
split evenly over the replicas; each replica's task losses are divided by
the *global* number of rows (or of labelled rows) that the loss averages
over, so that the gradients Keras' optimizers sum over the replicas are the
gradients of the global batch's loss. Without a strategy nothing changes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mtl_helpers._keras import optimizer_state
from mtl_helpers._tensorflow import tf
from mtl_helpers._validation import non_negative_int, positive_int

__all__ = ["OptimizerFactory", "Trainer", "TrainingLog", "article_adam"]

OptimizerFactory = Callable[[], tf.keras.optimizers.Optimizer]


def article_adam(learning_rate: float = 0.001) -> tf.keras.optimizers.Adam:
    """Adam with the article's (TF1's) defaults.

    ``tf.compat.v1.train.AdamOptimizer()`` uses learning rate 0.001, beta1 0.9,
    beta2 0.999 and **epsilon 1e-8**; Keras' ``Adam`` defaults to epsilon 1e-7,
    which changes results in the fifth significant digit.

    Examples
    --------
    >>> float(article_adam(0.01).epsilon)
    1e-08
    """
    if not np.isfinite(learning_rate) or learning_rate <= 0:
        raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}")
    return tf.keras.optimizers.Adam(learning_rate=learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8)


def build_optimizer(factory: OptimizerFactory) -> tf.keras.optimizers.Optimizer:
    """Call ``factory`` and check that it returned a new Keras optimizer."""
    if not callable(factory):
        raise TypeError(
            "make_optimizer must be a function that returns a new optimizer, e.g. "
            f"lambda: mtl_helpers.article_adam(0.01); got {type(factory).__name__}"
        )
    optimizer = factory()
    if not isinstance(optimizer, tf.keras.optimizers.Optimizer):
        raise TypeError(f"make_optimizer() must return a Keras optimizer, got {type(optimizer).__name__}")
    return optimizer


_NETWORK_MEMBERS = ("tasks", "losses", "evaluate", "trainable_for", "all_variables", "initialize", "check_batch")


def check_network(net: Any) -> Any:
    """Check that ``net`` has the members of the book's network interface."""
    missing = [name for name in _NETWORK_MEMBERS if not hasattr(net, name)]
    if missing:
        raise TypeError(
            f"net must be a network such as mtl_helpers.TwoHeadNet; a {type(net).__name__} has no {missing}"
        )
    return net


def check_strategy(strategy: Any, net: Any, *, jit_compile: bool) -> tf.distribute.Strategy | None:
    """Check a trainer's ``strategy`` argument: ``None`` or a strategy the network was built under."""
    if strategy is None:
        return None
    if not isinstance(strategy, tf.distribute.Strategy):
        raise TypeError(f"strategy must be a tf.distribute.Strategy or None, got {type(strategy).__name__}")
    if jit_compile:
        raise ValueError("jit_compile=True cannot be combined with a tf.distribute strategy; pass jit_compile=False")
    outside = [v.name for v in net.all_variables if not strategy.extended.variable_created_in_scope(v)]
    if outside:
        raise ValueError(
            f"the network's variables {outside[:3]} were created outside the strategy's scope; "
            "build the network (and any weighting) inside `with strategy.scope():`"
        )
    return strategy


@contextlib.contextmanager
def strategy_scope(strategy: tf.distribute.Strategy | None) -> Iterator[None]:
    """``strategy.scope()``, or nothing without a strategy."""
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        yield


def replica_shard(*tensors: tf.Tensor) -> list[tf.Tensor]:
    """This replica's equal share of the rows of each global-batch tensor (in a replica context)."""
    context = tf.distribute.get_replica_context()
    replicas, replica = context.num_replicas_in_sync, context.replica_id_in_sync_group
    size = tf.shape(tensors[0])[0] // replicas
    return [tensor[replica * size : (replica + 1) * size] for tensor in tensors]


def replica_losses(net: Any, batch: Mapping[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """This replica's share of each task's global loss (their sum over replicas is the global loss).

    A loss that is a sum over rows is summed as it is; a mean is this
    replica's sum divided by the row count all-reduced over the replicas.
    """
    context = tf.distribute.get_replica_context()
    shares = {}
    for task, (total, count) in net.loss_terms(batch).items():
        if count is None:
            shares[task] = total
        else:
            shares[task] = tf.math.divide_no_nan(total, context.all_reduce(tf.distribute.ReduceOp.SUM, count))
    return shares


def check_divisible(batch_size: int, strategy: tf.distribute.Strategy | None) -> None:
    """Under a strategy, the global batch must split evenly over the replicas."""
    if strategy is not None and batch_size % strategy.num_replicas_in_sync:
        replicas = strategy.num_replicas_in_sync
        raise ValueError(f"batch_size {batch_size} does not split evenly over {replicas} replicas; use a multiple of {replicas}")


def batch_indices(sizes: Sequence[int], task_ids: np.ndarray, batch_size: int, seed: int) -> np.ndarray:
    """Row indices of each step's mini-batch, shape (steps, batch_size), drawn with replacement.

    Step ``t`` draws from the data set of task ``task_ids[t]``, of ``sizes[task_ids[t]]`` rows.
    """
    rng = np.random.default_rng(seed)
    upper = np.asarray(sizes)[task_ids]  # each step's data-set size
    return (rng.random((len(task_ids), batch_size)) * upper[:, None]).astype(np.int32)


@dataclass
class TrainingLog:
    """What every trainer's ``fit`` returns.

    Attributes
    ----------
    loss : ndarray of shape (steps,)
        Training loss of each step's mini-batch, before its update (the
        step's task loss for alternating training, the weighted total for
        joint training).
    task : ndarray of shape (steps,) of str
        The task each step trained (``"joint"`` for joint training).
    weights : dict of str to ndarray of shape (steps,)
        The weight applied to each task's loss at each step, before the
        step's update; empty for alternating training.
    eval_step : ndarray of shape (n_evals,)
        Steps after which the held-out data was evaluated (0 = before training).
    eval_metric : dict of str to ndarray of shape (n_evals,)
        Held-out metric of each task at those steps (``net.evaluate``: the
        mean squared error for the book's regression networks; lower is better).
    """

    loss: np.ndarray
    task: np.ndarray
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    eval_step: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    eval_metric: dict[str, np.ndarray] = field(default_factory=dict)

    def final_metric(self) -> dict[str, float]:
        """The last held-out metric of each task."""
        if not self.eval_metric:
            raise ValueError("this run had no held-out data; pass eval_data=... to fit()")
        return {task: float(values[-1]) for task, values in self.eval_metric.items()}


def _chunks(steps: int, eval_every: int | None) -> list[tuple[int, int]]:
    every = steps if eval_every is None else positive_int(eval_every, name="eval_every")
    return [(start, min(start + every, steps)) for start in range(0, steps, every)]


class Trainer:
    """The base of every trainer: restarts and held-out evaluation around compiled chunks.

    Subclasses set ``net`` and ``optimizers`` and may own a ``weighting`` and
    an ``aggregator``; :meth:`reset` restarts them all.
    """

    net: Any
    optimizers: dict[str, tf.keras.optimizers.Optimizer]
    weighting: Any = None
    aggregator: Any = None
    strategy: tf.distribute.Strategy | None = None

    def reset(self, seed: int) -> None:
        """Restart exactly as a new trainer on a new network built with ``seed``.

        Assigns the network the initial weights of ``seed``, zeroes every
        optimizer's state (step count, moments; the learning rate is kept)
        and resets the weighting and the aggregator. Nothing is traced again,
        so a sweep over seeds pays for tracing once.
        """
        self.net.initialize(non_negative_int(seed, name="seed"))
        for optimizer in self.optimizers.values():
            for variable in optimizer_state(optimizer):
                variable.assign(tf.zeros_like(variable))
        for part in (self.weighting, self.aggregator):
            if part is not None:
                part.reset()

    def _evaluate(self, eval_data: Mapping[str, Any] | None, log: dict[str, list[float]]) -> None:
        if eval_data is None:
            return
        for task, value in self.net.evaluate(eval_data).items():
            log.setdefault(task, []).append(value)

    def _run_chunks(
        self,
        steps: int,
        eval_data: Mapping[str, Any] | None,
        eval_every: int | None,
        run: Callable[[int, int], np.ndarray],
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Run steps ``[start, stop)`` chunk by chunk, evaluating before, between and after."""
        if eval_every is not None and eval_data is None:
            raise ValueError("eval_every needs eval_data: pass the held-out batch to evaluate on")
        records, eval_steps, eval_log = [], [0], {}
        self._evaluate(eval_data, eval_log)
        for start, stop in _chunks(steps, eval_every):
            records.append(run(start, stop))
            eval_steps.append(stop)
            self._evaluate(eval_data, eval_log)
        eval_step = np.asarray(eval_steps if eval_data is not None else [], dtype=int)
        return np.concatenate(records), eval_step, {task: np.asarray(v) for task, v in eval_log.items()}
