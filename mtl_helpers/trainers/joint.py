"""Joint training: one optimizer on a combination of every task's loss (chapter 4).

The article's step 6 minimises the sum of the task losses. The trainer here
takes the combination as two pluggable parts:

* a *weighting* (:mod:`mtl_helpers.weighting`) turns the task losses into
  the total to minimise, e.g. :class:`~mtl_helpers.FixedWeights` (every
  weight 1.0 is the article's sum) or :class:`~mtl_helpers.UncertaintyWeights`;
* an optional *aggregator* (:mod:`mtl_helpers.aggregation`) replaces the
  gradient of that total on the shared variables: the trainer hands it the
  per-task gradients there (a jacobian, one row per task) and applies the
  direction it returns. Each task's own variables still get their own task's
  gradient.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from mtl_helpers._tensorflow import tf
from mtl_helpers._validation import flag, non_negative_int, positive_int
from mtl_helpers.trainers.base import (
    OptimizerFactory,
    Trainer,
    TrainingLog,
    article_adam,
    batch_indices,
    build_optimizer,
    check_divisible,
    check_network,
    check_strategy,
    replica_losses,
    replica_shard,
    strategy_scope,
)
from mtl_helpers.weighting import FixedWeights, Weighting

__all__ = ["JointTrainer"]


def _flatten(tensors: list[tf.Tensor]) -> tf.Tensor:
    return tf.concat([tf.reshape(tensor, [-1]) for tensor in tensors], axis=0)


def _check_weighting(weighting: Any, tasks: tuple[str, ...]) -> Weighting:
    if weighting is None:
        return FixedWeights(tasks=tasks)
    if not isinstance(weighting, Weighting):
        raise TypeError(
            f"weighting must be a mtl_helpers.Weighting such as FixedWeights({{'y1': 1.0, 'y2': 0.5}}), "
            f"got {type(weighting).__name__}"
        )
    if tuple(weighting.tasks) != tuple(tasks):
        raise ValueError(f"the weighting's tasks {list(weighting.tasks)} must be the network's tasks {list(tasks)}")
    return weighting


def _check_aggregator(aggregator: Any) -> Any:
    if aggregator is not None and not (callable(aggregator) and hasattr(aggregator, "reset")):
        raise TypeError(
            "aggregator must be a mtl_helpers aggregator such as PCGrad() (callable on a jacobian, with reset()), "
            f"got {type(aggregator).__name__}"
        )
    return aggregator


class JointTrainer(Trainer):
    """Joint training: one optimizer on a weighting of the task losses.

    Parameters
    ----------
    net : network
        A :class:`~mtl_helpers.TwoHeadNet` or any network with the same interface.
    weighting : Weighting, optional
        Makes the total from the task losses and reports the weights;
        default :class:`~mtl_helpers.FixedWeights` with every weight 1.0 (the
        article's plain sum). Its trainable variables, if any, are trained
        with the network by the same optimizer.
    aggregator : callable, optional
        A gradient aggregator such as :class:`~mtl_helpers.PCGrad`: maps the
        jacobian of the weighted task losses on ``net.shared_variables``,
        shape (n_tasks, n_shared_parameters), to the update direction of the
        shared variables, shape (n_shared_parameters,). Default: the gradient
        of the total (the rows' sum).
    make_optimizer : callable, default :func:`article_adam`
    jit_compile : bool, default False
        Compile :meth:`fit`'s loop with XLA (see :class:`AlternatingTrainer`).
    strategy : tf.distribute.Strategy, optional
        Train data-parallel (see :mod:`mtl_helpers.trainers.base`). Build
        ``net`` and ``weighting`` inside ``strategy.scope()``. The weighting
        and the aggregator see the global batch's losses and per-task
        gradients (all-reduced), so they decide the same on every replica.

    Attributes
    ----------
    optimizers : dict
        ``{"joint": optimizer}``: the one optimizer.

    Examples
    --------
    >>> net = TwoHeadNet(seed=0)
    >>> trainer = JointTrainer(net, weighting=FixedWeights({"y1": 1.0, "y2": 0.5}))
    >>> sorted(trainer.step(article_batch(np.random.default_rng(0))))
    ['total', 'weight_y1', 'weight_y2', 'y1', 'y2']
    """

    def __init__(
        self,
        net: Any,
        *,
        weighting: Weighting | None = None,
        aggregator: Any = None,
        make_optimizer: OptimizerFactory = article_adam,
        jit_compile: bool = False,
        strategy: tf.distribute.Strategy | None = None,
    ) -> None:
        self.net = check_network(net)
        self.strategy = check_strategy(strategy, net, jit_compile=jit_compile)
        with strategy_scope(self.strategy):
            self.weighting = _check_weighting(weighting, net.tasks)
            self.aggregator = _check_aggregator(aggregator)
            self.optimizers = {"joint": build_optimizer(make_optimizer)}
            self.variables = [*net.all_variables, *self.weighting.variables]
            self.optimizers["joint"].build(self.variables)
        shared_ids = {id(variable) for variable in net.shared_variables}
        self._shared = list(net.shared_variables)
        self._own = [variable for variable in self.variables if id(variable) not in shared_ids]
        specs = [net.input_spec, *[net.batch_spec(task) for task in net.tasks]]
        self._step_fn = tf.function(self._step, input_signature=specs)
        self._concrete_step: Callable[..., dict[str, tf.Tensor]] | None = None  # traced by the first step()
        self._loop_fn = tf.function(
            self._loop,
            input_signature=[tf.TensorSpec([None, None], tf.int32), *specs],
            jit_compile=flag(jit_compile, name="jit_compile"),
        )

    @property
    def optimizer(self) -> tf.keras.optimizers.Optimizer:
        """The one optimizer (``optimizers["joint"]``)."""
        return self.optimizers["joint"]

    def _jacobian(self, tape: tf.GradientTape, losses: dict[str, tf.Tensor]) -> tf.Tensor:
        """Each task's gradient on the shared variables, flattened: (n_tasks, n_shared_parameters)."""
        return tf.stack([_flatten(tape.gradient(losses[task], self._shared)) for task in self.net.tasks])

    def _aggregated_gradients(
        self, tape: tf.GradientTape, losses: dict[str, tf.Tensor], total: tf.Tensor, jacobian: tf.Tensor | None
    ) -> list[tf.Tensor]:
        """The shared variables' update from the aggregator, the others' from the total."""
        if jacobian is None:
            jacobian = self._jacobian(tape, losses)
        # d total / d L_i: the weight each task's gradient carries in the total.
        multipliers = tf.stack(tape.gradient(total, [losses[task] for task in self.net.tasks]))
        direction = self.aggregator(multipliers[:, None] * jacobian)
        sizes = [int(np.prod(variable.shape)) for variable in self._shared]
        pieces = tf.split(direction, sizes)
        shared = {id(v): tf.reshape(piece, v.shape) for v, piece in zip(self._shared, pieces, strict=True)}
        own = dict(zip(map(id, self._own), tape.gradient(total, self._own), strict=True))
        return [shared[id(v)] if id(v) in shared else own[id(v)] for v in self.variables]

    def _step(self, x: tf.Tensor, *targets: tf.Tensor) -> dict[str, tf.Tensor]:
        if self.strategy is not None:
            results = self.strategy.run(self._replica_step, args=(x, *targets))
            # Every replica computed the same global values; keep the first replica's.
            return {key: self.strategy.experimental_local_results(value)[0] for key, value in results.items()}
        batch = {"x": x, **dict(zip(self.net.tasks, targets, strict=True))}
        per_task = self.aggregator is not None or self.weighting.needs_gradients
        with tf.GradientTape(persistent=per_task) as tape:
            losses = self.net.losses(batch)
            jacobian = None
            if self.weighting.needs_gradients:
                with tape.stop_recording():
                    jacobian = self._jacobian(tape, losses)
            total, weights = self.weighting.combine(losses, jacobian=jacobian)
        if self.aggregator is None:
            gradients = tape.gradient(total, self.variables)
        else:
            gradients = self._aggregated_gradients(tape, losses, total, jacobian)
        self.optimizer.apply_gradients(zip(gradients, self.variables, strict=True))
        return {**losses, "total": total, **{f"weight_{task}": weights[task] for task in self.net.tasks}}

    def _replica_step(self, x: tf.Tensor, *targets: tf.Tensor) -> dict[str, tf.Tensor]:
        """One replica's part of a data-parallel step (in a replica context).

        The weighting runs on the global losses ``G_i`` (all-reduced), so its
        weights and state agree on every replica. The network's gradient is
        ``sum_i m_i * grad(L_i,r)`` with ``m_i = d total / d G_i``, summed over
        the replicas ``r`` by the optimizer; the weighting's own variables get
        ``d total / d s`` divided by the number of replicas, for the same reason.
        """
        context = tf.distribute.get_replica_context()
        replicas = float(context.num_replicas_in_sync)
        x, *targets = replica_shard(x, *targets)
        batch = {"x": x, **dict(zip(self.net.tasks, targets, strict=True))}
        tasks = self.net.tasks
        per_task = self.aggregator is not None or self.weighting.needs_gradients
        with tf.GradientTape(persistent=True) as tape:
            shares = replica_losses(self.net, batch)  # this replica's share of each global loss
            jacobian = None
            if per_task:
                with tape.stop_recording():
                    jacobian = context.all_reduce(tf.distribute.ReduceOp.SUM, self._jacobian(tape, shares))
            totals = {task: context.all_reduce(tf.distribute.ReduceOp.SUM, tf.stop_gradient(shares[task])) for task in tasks}
            tape.watch(list(totals.values()))
            total, weights = self.weighting.combine(totals, jacobian=jacobian if self.weighting.needs_gradients else None)
        multipliers = tape.gradient(total, [totals[task] for task in tasks])
        weighting_gradients = [g / replicas for g in tape.gradient(total, self.weighting.variables)]
        net_variables = self.net.all_variables
        if self.aggregator is None:
            net_gradients = tape.gradient([shares[task] for task in tasks], net_variables, output_gradients=multipliers)
        else:
            direction = self.aggregator(tf.stack(multipliers)[:, None] * jacobian) / replicas
            pieces = tf.split(direction, [int(np.prod(v.shape)) for v in self._shared])
            shared = {id(v): tf.reshape(piece, v.shape) for v, piece in zip(self._shared, pieces, strict=True)}
            own = [v for v in net_variables if id(v) not in shared]
            own_gradients = tape.gradient([shares[task] for task in tasks], own, output_gradients=multipliers)
            by_id = {**shared, **dict(zip(map(id, own), own_gradients, strict=True))}
            net_gradients = [by_id[id(v)] for v in net_variables]
        gradients = [*net_gradients, *weighting_gradients]
        self.optimizer.apply_gradients(zip(gradients, self.variables, strict=True))  # Keras sums over replicas
        return {**totals, "total": total, **{f"weight_{task}": weights[task] for task in tasks}}

    def step(self, batch: Mapping[str, Any]) -> dict[str, float]:
        """One update of every variable.

        Parameters
        ----------
        batch : dict
            ``{"x": (n, in_dim), "y1": (n, head_units), "y2": (n, head_units)}``.

        Returns
        -------
        dict
            Each task's loss, ``"total"`` (what was minimised) and
            ``"weight_<task>"`` (the weight applied to each task's loss),
            all before the update.
        """
        arrays = self.net.check_batch(batch, self.net.tasks)
        check_divisible(int(arrays["x"].shape[0]), self.strategy)
        if self._concrete_step is None:
            # Calling the concrete function skips tf.function's argument binding.
            self._concrete_step = self._step_fn.get_concrete_function()
        values = self._concrete_step(tf.constant(arrays["x"]), *[tf.constant(arrays[task]) for task in self.net.tasks])
        return {key: float(value.numpy()) for key, value in values.items()}

    @property
    def tracing_count(self) -> int:
        """How many times the step and the training loop have been traced (once each at most)."""
        return self._step_fn.experimental_get_tracing_count() + self._loop_fn.experimental_get_tracing_count()

    def _loop(self, indices: tf.Tensor, x_all: tf.Tensor, *targets_all: tf.Tensor) -> tf.Tensor:
        """Steps on rows ``indices`` (steps, batch); records (steps, 1 + n_tasks): total, weights."""
        steps = tf.shape(indices)[0]
        records = tf.TensorArray(tf.float32, size=steps)
        for t in tf.range(steps):
            row = indices[t]
            result = self._step(tf.gather(x_all, row), *[tf.gather(y, row) for y in targets_all])
            record = [result["total"], *[result[f"weight_{task}"] for task in self.net.tasks]]
            records = records.write(t, tf.stack(record))
        return records.stack()

    def fit(
        self,
        data: Mapping[str, Any],
        steps: int,
        *,
        batch_size: int = 32,
        seed: int = 0,
        eval_data: Mapping[str, Any] | None = None,
        eval_every: int | None = None,
    ) -> TrainingLog:
        """Train for ``steps`` steps inside compiled TensorFlow loops.

        Parameters
        ----------
        data : dict
            ``{"x": (n, d), "y1": (n, k), "y2": (n, k)}``: every row labelled
            for every task.
        steps : int
        batch_size, seed, eval_data, eval_every
            As for :meth:`AlternatingTrainer.fit`.

        Returns
        -------
        TrainingLog
            ``loss`` is the total of each step, ``weights`` the weights applied.
        """
        steps = positive_int(steps, name="steps")
        batch_size = positive_int(batch_size, name="batch_size")
        check_divisible(batch_size, self.strategy)
        arrays = self.net.check_batch(data, self.net.tasks)
        tensors = [tf.constant(arrays["x"]), *[tf.constant(arrays[task]) for task in self.net.tasks]]
        n_rows = int(arrays["x"].shape[0])
        indices = batch_indices([n_rows], np.zeros(steps, dtype=np.int64), batch_size, non_negative_int(seed, name="seed"))

        def run(start: int, stop: int) -> np.ndarray:
            return self._loop_fn(tf.constant(indices[start:stop]), *tensors).numpy()

        rows, eval_step, eval_metric = self._run_chunks(steps, eval_data, eval_every, run)
        weights = {task: rows[:, 1 + number] for number, task in enumerate(self.net.tasks)}
        return TrainingLog(
            loss=rows[:, 0], task=np.full(len(rows), "joint"), weights=weights, eval_step=eval_step, eval_metric=eval_metric
        )
