"""Alternating training: one optimizer per task, one task per step (chapter 3).

The article's step 4. Each step picks a task ``t`` and lets ``t``'s own
optimizer update ``net.trainable_for(t)``: the shared variables and ``t``'s
head. The other heads are untouched, bit for bit, and each optimizer keeps
its own Adam moments, also for the shared variables.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from mtl_helpers._tensorflow import tf
from mtl_helpers._validation import flag, known_task, non_negative_int, positive_int
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

__all__ = ["AlternatingTrainer"]

def _gather_and_step(
    step: Callable[[tf.Tensor, tf.Tensor], tf.Tensor], x_all: tf.Tensor, y_all: tf.Tensor, row: tf.Tensor
) -> tf.Tensor:
    """One in-graph step on the rows ``row`` of a task's data."""
    return step(tf.gather(x_all, row), tf.gather(y_all, row))

class AlternatingTrainer(Trainer):
    """Alternating training: one optimizer per task, one task per step.

    Parameters
    ----------
    net : network
        A :class:`~mtl_helpers.TwoHeadNet` or any network with the same interface.
    make_optimizer : callable, default :func:`article_adam`
        Called once per task to create that task's optimizer.
    jit_compile : bool, default False
        Compile :meth:`fit`'s loop with XLA. Several times faster per step on
        a CPU, but XLA compiles again (a second or more) for every new
        combination of input shapes: steps per chunk, batch size and each
        data set's number of rows. It pays off for long runs on fixed shapes.
    strategy : tf.distribute.Strategy, optional
        Train data-parallel: each step's batch is split over the strategy's
        replicas and every task's optimizer is created in its scope, so each
        keeps its own step count. Build ``net`` inside ``strategy.scope()``.
        Every replica trains the same task at the same step: the schedule is
        one list for all of them.

    Attributes
    ----------
    optimizers : dict of str to keras.optimizers.Optimizer
        One per task, keyed by task name.

    Examples
    --------
    >>> net = TwoHeadNet(seed=0)
    >>> trainer = AlternatingTrainer(net)
    >>> loss = trainer.step("y1", article_batch(np.random.default_rng(0)))
    >>> trainer.reset(seed=0)  # as new, without tracing again
    """

    def __init__(
        self,
        net: Any,
        make_optimizer: OptimizerFactory = article_adam,
        *,
        jit_compile: bool = False,
        strategy: tf.distribute.Strategy | None = None,
    ) -> None:
        self.net = check_network(net)
        self.strategy = check_strategy(strategy, net, jit_compile=jit_compile)
        with strategy_scope(self.strategy):
            self.optimizers = {task: build_optimizer(make_optimizer) for task in net.tasks}
            for task, optimizer in self.optimizers.items():
                optimizer.build(net.trainable_for(task))
        spec_x = net.input_spec
        self._step_fns = {
            task: tf.function(self._make_step(task), input_signature=[spec_x, net.batch_spec(task)])
            for task in net.tasks
        }
        # Calling the concrete function skips tf.function's argument binding,
        # which costs more than this small model's whole update.
        self._concrete_steps = {task: fn.get_concrete_function() for task, fn in self._step_fns.items()}
        spec_data = [spec for task in net.tasks for spec in (spec_x, net.batch_spec(task))]
        self._loop_fn = tf.function(
            self._loop,
            input_signature=[tf.TensorSpec([None], tf.int32), tf.TensorSpec([None, None], tf.int32), *spec_data],
            jit_compile=flag(jit_compile, name="jit_compile"),
        )

    def _make_step(self, task: str) -> Callable[[tf.Tensor, tf.Tensor], tf.Tensor]:
        variables = self.net.trainable_for(task)
        optimizer = self.optimizers[task]

        def step(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
            with tf.GradientTape() as tape:
                loss = self.net.losses({"x": x, task: y})[task]
            gradients = tape.gradient(loss, variables)
            optimizer.apply_gradients(zip(gradients, variables, strict=True))
            return loss

        def replica_step(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
            x, y = replica_shard(x, y)
            with tf.GradientTape() as tape:
                loss = replica_losses(self.net, {"x": x, task: y})[task]
            gradients = tape.gradient(loss, variables)
            optimizer.apply_gradients(zip(gradients, variables, strict=True))  # Keras sums over replicas
            return loss

        def distributed_step(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
            shares = self.strategy.run(replica_step, args=(x, y))
            return self.strategy.reduce(tf.distribute.ReduceOp.SUM, shares, axis=None)

        chosen = step if self.strategy is None else distributed_step
        chosen.__name__ = f"alternating_step_{task}"
        return chosen

    def step(self, task: str, batch: Mapping[str, Any]) -> float:
        """One update of the shared variables and ``task``'s head.

        Parameters
        ----------
        task : str
            A task name of the network, e.g. ``"y1"``.
        batch : dict
            ``{"x": (n, in_dim), task: (n, head_units)}``; NumPy arrays or tensors.

        Returns
        -------
        float
            ``task``'s loss on ``batch`` before the update.
        """
        known_task(task, self.net.tasks)
        arrays = self.net.check_batch(batch, [task])
        check_divisible(int(arrays["x"].shape[0]), self.strategy)
        return float(self._concrete_steps[task](tf.constant(arrays["x"]), tf.constant(arrays[task])).numpy())

    @property
    def tracing_count(self) -> int:
        """How many times the step functions (once per task) and the training loop have been traced."""
        steps = sum(fn.experimental_get_tracing_count() for fn in self._step_fns.values())
        return steps + self._loop_fn.experimental_get_tracing_count()

    def _loop(self, task_ids: tf.Tensor, indices: tf.Tensor, *data: tf.Tensor) -> tf.Tensor:
        """Steps ``task_ids`` (steps,) on rows ``indices`` (steps, batch) of each task's data, in-graph."""
        steps = tf.shape(task_ids)[0]
        losses = tf.TensorArray(tf.float32, size=steps)
        step_functions = [self._step_fns[task].python_function for task in self.net.tasks]
        for t in tf.range(steps):
            row = indices[t]
            branches = [
                functools.partial(_gather_and_step, step, data[2 * number], data[2 * number + 1], row)
                for number, step in enumerate(step_functions)
            ]
            losses = losses.write(t, tf.switch_case(task_ids[t], branches))
        return losses.stack()

    def _task_data(self, datasets: Any, needed: Sequence[str]) -> tuple[list[tf.Tensor], list[int]]:
        """Each task's ``x`` and targets as tensors, in the network's task order, and their sizes."""
        tasks = self.net.tasks
        if not isinstance(datasets, Mapping):
            raise TypeError(f"datasets must be a dict keyed by task name, got {type(datasets).__name__}")
        unknown = sorted(set(datasets) - set(tasks))
        if unknown:
            raise ValueError(f"datasets has unknown task names {unknown}; expected some of {list(tasks)}")
        data, sizes = [], []
        for task in tasks:
            if task in datasets:
                arrays = self.net.check_batch(datasets[task], [task])
                data += [tf.constant(arrays["x"]), tf.constant(arrays[task])]
                sizes.append(int(arrays["x"].shape[0]))
            elif task in needed:
                raise ValueError(f"the schedule trains {task!r} but datasets has no {task!r} data set")
            else:  # a placeholder the schedule never reads
                spec_x, spec_y = self.net.input_spec, self.net.batch_spec(task)
                data += [tf.zeros([1, *spec_x.shape[1:]], spec_x.dtype), tf.zeros([1, *spec_y.shape[1:]], spec_y.dtype)]
                sizes.append(1)
        return data, sizes

    def fit(
        self,
        datasets: Mapping[str, Mapping[str, Any]],
        schedule: Sequence[str],
        *,
        batch_size: int = 32,
        seed: int = 0,
        eval_data: Mapping[str, Any] | None = None,
        eval_every: int | None = None,
    ) -> TrainingLog:
        """Train for ``len(schedule)`` steps inside compiled TensorFlow loops.

        Parameters
        ----------
        datasets : dict
            One data set per task: ``{"y1": {"x": (n1, d), "y1": (n1, k)},
            "y2": {"x": (n2, d), "y2": (n2, k)}}`` (see
            :meth:`RelatedTasks.sample_separate`). A task that the schedule
            never picks may be left out.
        schedule : sequence of str, length steps
            The task of each step, e.g. from a schedule of
            :mod:`mtl_helpers.sampling`.
        batch_size : int, default 32
            Rows per step, drawn with replacement from that task's data set.
        seed : int, default 0
            Seeds the mini-batch draws.
        eval_data : dict, optional
            A held-out batch labelled for every task, evaluated with
            ``net.evaluate`` before training and after every ``eval_every`` steps.
        eval_every : int, optional
            Default: evaluate only at the end.

        Returns
        -------
        TrainingLog
        """
        tasks = self.net.tasks
        schedule = [known_task(task, tasks) for task in schedule]
        if not schedule:
            raise ValueError("schedule is empty; give at least one task name")
        batch_size = positive_int(batch_size, name="batch_size")
        check_divisible(batch_size, self.strategy)
        data, sizes = self._task_data(datasets, sorted(set(schedule)))
        task_ids = np.array([tasks.index(task) for task in schedule], dtype=np.int32)
        indices = batch_indices(sizes, task_ids, batch_size, non_negative_int(seed, name="seed"))

        def run(start: int, stop: int) -> np.ndarray:
            return self._loop_fn(tf.constant(task_ids[start:stop]), tf.constant(indices[start:stop]), *data).numpy()

        loss, eval_step, eval_metric = self._run_chunks(len(schedule), eval_data, eval_every, run)
        return TrainingLog(loss=loss, task=np.asarray(schedule), eval_step=eval_step, eval_metric=eval_metric)
