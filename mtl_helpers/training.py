"""Training the two-task network: alternating and joint (chapters 3 and 4).

Two ways to train one network on two tasks:

* :class:`AlternatingTrainer` keeps one optimizer per task. Each step picks a
  task and updates only the shared layer and that task's head (the article's
  "alternating training").
* :class:`JointTrainer` minimises a weighted sum of the task losses with one
  optimizer (the article's "joint training").

Both offer ``step`` (one update, for teaching) and ``fit`` (many updates in
one compiled TensorFlow call, for experiments). ``fit`` runs the whole loop
inside a ``tf.function`` so Python is not involved between steps; both give
identical losses for the same batches.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mtl_helpers._tensorflow import tf
from mtl_helpers._validation import batch_arrays, known_task, positive_int, task_weights
from mtl_helpers.models import TwoHeadNet

__all__ = [
    "article_adam",
    "AlternatingTrainer",
    "JointTrainer",
    "TrainingLog",
    "mean_squared_errors",
]

OptimizerFactory = Callable[[], tf.keras.optimizers.Optimizer]


def article_adam(learning_rate: float = 0.001) -> tf.keras.optimizers.Adam:
    """Adam with the article's (TF1's) defaults.

    ``tf.compat.v1.train.AdamOptimizer()`` uses learning rate 0.001, beta1 0.9,
    beta2 0.999 and **epsilon 1e-8**; Keras' ``Adam`` defaults to epsilon 1e-7,
    which changes results in the fifth significant digit.
    """
    if not np.isfinite(learning_rate) or learning_rate <= 0:
        raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}")
    return tf.keras.optimizers.Adam(learning_rate=learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8)


def mean_squared_errors(net: TwoHeadNet, batch: Mapping[str, Any]) -> dict[str, float]:
    """Mean squared error of each task present in ``batch`` (per target value).

    Unlike ``net.losses`` (a sum, which grows with the batch), this is
    comparable across data sets of different sizes.
    """
    _check_net(net)
    tasks = [task for task in net.tasks if task in batch]
    arrays = batch_arrays(batch, tasks=tasks, in_dim=net.in_dim, out_dim=net.head_units)
    predictions = net(arrays["x"])
    return {task: float(tf.reduce_mean(tf.square(arrays[task] - predictions[task]))) for task in tasks}


def _check_net(net: Any) -> TwoHeadNet:
    if not isinstance(net, TwoHeadNet):
        raise TypeError(f"net must be a mtl_helpers.TwoHeadNet, got {type(net).__name__}")
    return net


def _make_optimizer(make_optimizer: OptimizerFactory) -> tf.keras.optimizers.Optimizer:
    if not callable(make_optimizer):
        raise TypeError(
            "make_optimizer must be a function that returns a new optimizer, e.g. "
            f"lambda: mtl_helpers.article_adam(0.01); got {type(make_optimizer).__name__}"
        )
    optimizer = make_optimizer()
    if not isinstance(optimizer, tf.keras.optimizers.Optimizer):
        raise TypeError(f"make_optimizer() must return a Keras optimizer, got {type(optimizer).__name__}")
    return optimizer


def _batch_tensors(net: TwoHeadNet, batch: Any, tasks: Sequence[str]) -> dict[str, tf.Tensor]:
    arrays = batch_arrays(batch, tasks=tasks, in_dim=net.in_dim, out_dim=net.head_units)
    return {key: tf.constant(value) for key, value in arrays.items()}


def _check_flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def _gather_and_step(
    step: Callable[[tf.Tensor, tf.Tensor], tf.Tensor], x_all: tf.Tensor, y_all: tf.Tensor, row: tf.Tensor
) -> tf.Tensor:
    """One in-graph step on the rows ``row`` of a task's data."""
    return step(tf.gather(x_all, row), tf.gather(y_all, row))


def _batch_indices(sizes: Sequence[int], task_ids: np.ndarray, batch_size: int, seed: int) -> np.ndarray:
    """Row indices of each step's mini-batch, (steps, batch_size), drawn with replacement."""
    rng = np.random.default_rng(seed)
    upper = np.asarray(sizes)[task_ids]  # each step's data-set size
    return (rng.random((len(task_ids), batch_size)) * upper[:, None]).astype(np.int32)


@dataclass
class TrainingLog:
    """What :meth:`AlternatingTrainer.fit` and :meth:`JointTrainer.fit` return.

    Attributes
    ----------
    loss : ndarray of shape (steps,)
        Training loss of each step's mini-batch, before its update (the
        step's task loss for alternating training, the weighted total for
        joint training).
    task : ndarray of shape (steps,) of str
        The task each step trained (``"joint"`` for joint training).
    eval_step : ndarray of shape (n_evals,)
        Steps after which the held-out data was evaluated (0 = before training).
    eval_mse : dict of str to ndarray of shape (n_evals,)
        Held-out mean squared error of each task at those steps.
    """

    loss: np.ndarray
    task: np.ndarray
    eval_step: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    eval_mse: dict[str, np.ndarray] = field(default_factory=dict)

    def final_mse(self) -> dict[str, float]:
        """The last held-out MSE of each task."""
        if not self.eval_mse:
            raise ValueError("this run had no held-out data; pass eval_data=... to fit()")
        return {task: float(values[-1]) for task, values in self.eval_mse.items()}


def _chunks(steps: int, eval_every: int | None) -> list[tuple[int, int]]:
    every = steps if eval_every is None else positive_int(eval_every, name="eval_every")
    return [(start, min(start + every, steps)) for start in range(0, steps, every)]


class _Trainer:
    """Shared machinery: held-out evaluation around compiled chunks of steps."""

    net: TwoHeadNet

    @property
    def all_optimizers(self) -> list[tf.keras.optimizers.Optimizer]:
        """Every optimizer this trainer owns."""
        optimizers = getattr(self, "optimizers", None)
        return list(optimizers.values()) if optimizers is not None else [self.optimizer]

    def reset_optimizer_state(self) -> None:
        """Forget every optimizer's state (step count, Adam moments); keep learning rates.

        With :meth:`TwoHeadNet.set_weights` this restarts an experiment
        exactly as new objects would, without tracing the compiled steps
        again (which costs about a second per trainer).
        """
        for optimizer in self.all_optimizers:
            for variable in optimizer.variables:
                if "learning_rate" not in variable.path:
                    variable.assign(tf.zeros_like(variable))

    def _evaluate(self, eval_data: Mapping[str, Any] | None, log: dict[str, list[float]]) -> None:
        if eval_data is None:
            return
        for task, mse in mean_squared_errors(self.net, eval_data).items():
            log.setdefault(task, []).append(mse)

    def _run_chunks(
        self, steps: int, eval_data: Mapping[str, Any] | None, eval_every: int | None, run: Callable[[int, int], np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        if eval_every is not None and eval_data is None:
            raise ValueError("eval_every needs eval_data: pass the held-out batch to evaluate on")
        losses, eval_steps, eval_log = [], [0], {}
        self._evaluate(eval_data, eval_log)
        for start, stop in _chunks(steps, eval_every):
            losses.append(run(start, stop))
            eval_steps.append(stop)
            self._evaluate(eval_data, eval_log)
        eval_step = np.asarray(eval_steps if eval_data is not None else [], dtype=int)
        return np.concatenate(losses), eval_step, {task: np.asarray(v) for task, v in eval_log.items()}


class AlternatingTrainer(_Trainer):
    """Alternating training: one optimizer per task, one task per step.

    A step for task ``t`` computes ``net.losses`` for ``t`` only and lets
    ``t``'s optimizer update ``net.trainable_for(t)``: the shared layer and
    ``t``'s head. The other head is untouched, bit for bit. Each optimizer
    keeps its own Adam moments, also for the shared layer.

    Parameters
    ----------
    net : TwoHeadNet
    make_optimizer : callable, default :func:`article_adam`
        Called once per task to create that task's optimizer.
    jit_compile : bool, default False
        Compile :meth:`fit`'s loop with XLA. About twice as fast per step on
        a CPU, but XLA compiles again (a second or more) for every new
        combination of input shapes: steps per chunk, batch size and each
        data set's number of rows. It pays off for long runs on fixed shapes.

    Examples
    --------
    >>> net = TwoHeadNet(seed=0)
    >>> trainer = AlternatingTrainer(net)
    >>> loss = trainer.step("y1", article_batch(np.random.default_rng(0)))
    """

    def __init__(
        self, net: TwoHeadNet, make_optimizer: OptimizerFactory = article_adam, *, jit_compile: bool = False
    ) -> None:
        self.net = _check_net(net)
        self.optimizers = {task: _make_optimizer(make_optimizer) for task in net.tasks}
        for task, optimizer in self.optimizers.items():
            optimizer.build(net.trainable_for(task))
        spec_x = tf.TensorSpec([None, net.in_dim], tf.float32)
        spec_y = tf.TensorSpec([None, net.head_units], tf.float32)
        self._step_fns = {
            task: tf.function(self._make_step(task), input_signature=[spec_x, spec_y]) for task in net.tasks
        }
        # Calling the concrete function skips tf.function's argument binding,
        # which costs more than this small model's whole update.
        self._concrete_steps = {task: fn.get_concrete_function() for task, fn in self._step_fns.items()}
        spec_data = [spec for _ in net.tasks for spec in (spec_x, spec_y)]
        self._loop_fn = tf.function(
            self._loop,
            input_signature=[tf.TensorSpec([None], tf.int32), tf.TensorSpec([None, None], tf.int32), *spec_data],
            jit_compile=_check_flag(jit_compile, "jit_compile"),
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

        step.__name__ = f"alternating_step_{task}"
        return step

    def step(self, task: str, batch: Mapping[str, Any]) -> float:
        """One update of the shared layer and ``task``'s head.

        Parameters
        ----------
        task : str
            ``"y1"`` or ``"y2"``.
        batch : dict
            ``{"x": (n, in_dim), task: (n, head_units)}``; NumPy arrays or tensors.

        Returns
        -------
        float
            ``task``'s loss on ``batch`` before the update.
        """
        known_task(task, self.net.tasks)
        tensors = _batch_tensors(self.net, batch, [task])
        return float(self._concrete_steps[task](tensors["x"], tensors[task]).numpy())

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
            The task of each step, e.g. from a sampler of
            :mod:`mtl_helpers.sampling`.
        batch_size : int, default 32
            Rows per step, drawn with replacement from that task's data set.
        seed : int, default 0
            Seeds the mini-batch draws.
        eval_data : dict, optional
            A held-out batch ``{"x", "y1", "y2"}`` evaluated (MSE) before
            training and after every ``eval_every`` steps.
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
        if not isinstance(datasets, Mapping):
            raise TypeError(f"datasets must be a dict keyed by task name, got {type(datasets).__name__}")
        unknown = sorted(set(datasets) - set(tasks))
        if unknown:
            raise ValueError(f"datasets has unknown task names {unknown}; expected some of {list(tasks)}")
        needed = sorted(set(schedule))
        data, sizes = [], []
        for task in tasks:
            if task in datasets:
                arrays = _batch_tensors(self.net, datasets[task], [task])
                data += [arrays["x"], arrays[task]]
                sizes.append(int(arrays["x"].shape[0]))
            elif task in needed:
                raise ValueError(f"the schedule trains {task!r} but datasets has no {task!r} data set")
            else:
                data += [tf.zeros([1, self.net.in_dim]), tf.zeros([1, self.net.head_units])]
                sizes.append(1)
        task_ids = np.array([tasks.index(task) for task in schedule], dtype=np.int32)
        indices = _batch_indices(sizes, task_ids, batch_size, positive_int(seed, name="seed", minimum=0))

        def run(start: int, stop: int) -> np.ndarray:
            return self._loop_fn(tf.constant(task_ids[start:stop]), tf.constant(indices[start:stop]), *data).numpy()

        loss, eval_step, eval_mse = self._run_chunks(len(schedule), eval_data, eval_every, run)
        return TrainingLog(loss=loss, task=np.asarray(schedule), eval_step=eval_step, eval_mse=eval_mse)


class JointTrainer(_Trainer):
    """Joint training: one optimizer on the weighted sum of the task losses.

    Parameters
    ----------
    net : TwoHeadNet
    loss_weights : dict, optional
        ``{"y1": w1, "y2": w2}``, each finite and >= 0; default 1.0 each
        (the article's plain sum).
    make_optimizer : callable, default :func:`article_adam`
    jit_compile : bool, default False
        Compile :meth:`fit`'s loop with XLA (see :class:`AlternatingTrainer`).

    Examples
    --------
    >>> trainer = JointTrainer(TwoHeadNet(seed=0), loss_weights={"y1": 1.0, "y2": 0.5})
    >>> sorted(trainer.step(article_batch(np.random.default_rng(0))))
    ['total', 'y1', 'y2']

    Subclasses change the objective by overriding :meth:`objective` (and,
    to log more than the total per step, :meth:`_record` and :meth:`_log`).
    """

    def __init__(
        self,
        net: TwoHeadNet,
        loss_weights: Mapping[str, float] | None = None,
        make_optimizer: OptimizerFactory = article_adam,
        *,
        jit_compile: bool = False,
    ) -> None:
        self.net = _check_net(net)
        self.loss_weights = task_weights(loss_weights, net.tasks)
        self._compile(make_optimizer, jit_compile=jit_compile)

    def _compile(
        self, make_optimizer: OptimizerFactory, *, jit_compile: bool, extra_variables: Sequence[tf.Variable] = ()
    ) -> None:
        """Create the optimizer over the network's (and ``extra_variables``) and the compiled functions."""
        self.optimizer = _make_optimizer(make_optimizer)
        self.variables = [*self.net.all_variables, *extra_variables]
        self.optimizer.build(self.variables)
        spec_x = tf.TensorSpec([None, self.net.in_dim], tf.float32)
        spec_y = tf.TensorSpec([None, self.net.head_units], tf.float32)
        self._step_fn = tf.function(self._step, input_signature=[spec_x, *[spec_y for _ in self.net.tasks]])
        self._concrete_step: Callable[..., dict[str, tf.Tensor]] | None = None  # traced by the first step()
        self._loop_fn = tf.function(
            self._loop,
            input_signature=[tf.TensorSpec([None, None], tf.int32), spec_x, *[spec_y for _ in self.net.tasks]],
            jit_compile=_check_flag(jit_compile, "jit_compile"),
        )

    def objective(self, batch: Mapping[str, tf.Tensor]) -> tuple[dict[str, tf.Tensor], tf.Tensor, dict[str, tf.Tensor]]:
        """The task losses, the total to minimise and extra values to report, for one batch.

        Here: each task's ``tf.nn.l2_loss`` and their weighted sum; no extras.
        """
        losses = self.net.losses(batch)
        total = tf.add_n([self.loss_weights[task] * losses[task] for task in self.net.tasks])
        return losses, total, {}

    def _step(self, x: tf.Tensor, *targets: tf.Tensor) -> dict[str, tf.Tensor]:
        batch = {"x": x, **dict(zip(self.net.tasks, targets, strict=True))}
        with tf.GradientTape() as tape:
            losses, total, extras = self.objective(batch)
        gradients = tape.gradient(total, self.variables)
        self.optimizer.apply_gradients(zip(gradients, self.variables, strict=True))
        return {**losses, "total": total, **extras}

    def step(self, batch: Mapping[str, Any]) -> dict[str, float]:
        """One update of every variable on the weighted sum of the task losses.

        Parameters
        ----------
        batch : dict
            ``{"x": (n, in_dim), "y1": (n, head_units), "y2": (n, head_units)}``.

        Returns
        -------
        dict
            ``{"y1": loss, "y2": loss, "total": weighted sum}``, before the update.
        """
        tensors = _batch_tensors(self.net, batch, self.net.tasks)
        if self._concrete_step is None:
            # Calling the concrete function skips tf.function's argument binding.
            self._concrete_step = self._step_fn.get_concrete_function()
        values = self._concrete_step(tensors["x"], *[tensors[task] for task in self.net.tasks])
        return {key: float(value.numpy()) for key, value in values.items()}

    @property
    def tracing_count(self) -> int:
        """How many times the step and the training loop have been traced (once each at most)."""
        return self._step_fn.experimental_get_tracing_count() + self._loop_fn.experimental_get_tracing_count()

    def _record(self, result: dict[str, tf.Tensor]) -> tf.Tensor:
        """What the compiled loop keeps of each step: a vector, here ``[total]``."""
        return tf.stack([result["total"]])

    def _log(self, rows: np.ndarray, eval_step: np.ndarray, eval_mse: dict[str, np.ndarray]) -> TrainingLog:
        """Turn the loop's records (steps, k) into the log :meth:`fit` returns."""
        return TrainingLog(loss=rows[:, 0], task=np.full(len(rows), "joint"), eval_step=eval_step, eval_mse=eval_mse)

    def _loop(self, indices: tf.Tensor, x_all: tf.Tensor, *targets_all: tf.Tensor) -> tf.Tensor:
        steps = tf.shape(indices)[0]
        records = tf.TensorArray(tf.float32, size=steps)
        for t in tf.range(steps):
            row = indices[t]
            result = self._step(tf.gather(x_all, row), *[tf.gather(y, row) for y in targets_all])
            records = records.write(t, self._record(result))
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
            ``loss`` is the weighted total of each step.
        """
        steps = positive_int(steps, name="steps")
        batch_size = positive_int(batch_size, name="batch_size")
        tensors = _batch_tensors(self.net, data, self.net.tasks)
        n_rows = int(tensors["x"].shape[0])
        seed = positive_int(seed, name="seed", minimum=0)
        indices = _batch_indices([n_rows], np.zeros(steps, dtype=np.int64), batch_size, seed)
        targets = [tensors[task] for task in self.net.tasks]

        def run(start: int, stop: int) -> np.ndarray:
            return self._loop_fn(tf.constant(indices[start:stop]), tensors["x"], *targets).numpy()

        rows, eval_step, eval_mse = self._run_chunks(steps, eval_data, eval_every, run)
        return self._log(rows, eval_step, eval_mse)
