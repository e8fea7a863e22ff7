"""Many seeds in one compiled call: the batched trainers (issue 12).

Every conclusion of the book rests on runs over seeds, and the book's
networks are so small that one run leaves the CPU mostly idle. The trainers
here train S independent seeds of :class:`~mtl_helpers.TwoHeadNet` at once:
the S networks' weights are stacked along a leading seed axis (the shared
layer becomes a tensor of shape (S, in_dim, shared_units)), one batched
matrix product runs a layer of every seed, and one compiled loop steps all S
networks together.

Each seed's run is **the same run** it would be alone: the initial weights
of ``TwoHeadNet(**net_settings, seed=s)``, the mini-batches that
:meth:`AlternatingTrainer.fit` / :meth:`JointTrainer.fit` draw with that
seed, the seed's own task schedule and its own Adam state. In alternating
training each seed keeps one Adam state (moments *and* step count) per task,
and on a step where seed ``s`` trains y1, seed ``s``'s y2 head and y2
optimizer state stay untouched bit for bit (an Adam step with a zero
gradient would still move a weight).

How close: with one seed the losses are those of the step-by-step trainers
bit for bit. With several, TensorFlow's batched matrix product sums in
another order than its single one (and, without XLA, ``exp`` on a vector
differs from ``exp`` on a scalar in the last bit), so the losses agree to
about 1e-6 relative; ``tests/unit/test_batched.py`` checks 1e-5.

Not supported: gradient aggregators (PCGrad ...) and weightings other than
:class:`~mtl_helpers.FixedWeights` and :class:`~mtl_helpers.UncertaintyWeights`;
train those with :class:`JointTrainer` seed by seed. The optimizer is a
plain Keras ``Adam`` (its settings are read from ``make_optimizer()``),
re-implemented on the stacked weights.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mtl_helpers._tensorflow import tf
from mtl_helpers._validation import known_task, positive_int
from mtl_helpers.models import TwoHeadNet
from mtl_helpers.trainers._batched_base import (
    BatchedTrainer,
    SeedsArgument,
    check_seeds,
    per_seed,
    stack,
    stack_task_datasets,
)
from mtl_helpers.trainers._stacked import adam_update
from mtl_helpers.trainers.base import OptimizerFactory, TrainingLog, article_adam, batch_indices
from mtl_helpers.weighting import FixedWeights, UncertaintyWeights, Weighting, uncertainty_weighted_loss

__all__ = ["BatchedAlternatingTrainer", "BatchedJointTrainer"]


def _is_mapping(value: Any) -> bool:
    return isinstance(value, Mapping)


def _is_one_schedule(value: Any) -> bool:
    if isinstance(value, np.ndarray):
        return value.ndim == 1 and value.dtype.kind in "US"
    if isinstance(value, str) or not isinstance(value, Sequence):
        return False
    return len(value) > 0 and all(isinstance(task, str) for task in value)


class BatchedAlternatingTrainer(BatchedTrainer):
    """Alternating training of S seeds at once, each with one Adam per task.

    Run ``s`` is the run of ``AlternatingTrainer(TwoHeadNet(**net_settings,
    seed=s), make_optimizer).fit(datasets_s, schedule_s, seed=s)``: the same
    initial weights, mini-batches, schedule and optimizer states.

    Parameters
    ----------
    seeds : int or sequence of int
        The runs' seeds (``10`` means ``range(10)``). Each seed sets its
        network's initial weights and, unless ``fit`` gets other ``seeds``,
        its mini-batch draws.
    net_settings : dict, optional
        Keyword arguments of :class:`TwoHeadNet` (e.g. :data:`STRUCTURED_NET`),
        without ``seed`` or ``weights``.
    make_optimizer : callable, default :func:`article_adam`
        Must return a plain ``keras.optimizers.Adam``; its learning rate,
        betas and epsilon serve every seed and task.
    jit_compile : bool, default False
        Compile the loop with XLA (which compiles again for every new
        combination of shapes: steps per chunk, batch size, data sizes).
        Without XLA the loop is traced once per batch size.

    Attributes
    ----------
    seeds : tuple of int
    tasks : tuple of str

    Examples
    --------
    >>> tasks = RelatedTasks(correlation=0.5, seed=0)
    >>> trainer = BatchedAlternatingTrainer(3, net_settings=STRUCTURED_NET)
    >>> logs = trainer.fit(
    ...     lambda seed: tasks.sample_separate({"y1": 64, "y2": 64}, seed=seed),
    ...     lambda seed: CoinFlip(seed=seed).schedule(20),
    ...     eval_data=tasks.sample(100, seed=99),
    ... )
    >>> len(logs), logs[0].loss.shape, sorted(logs[2].final_metric())
    (3, (20,), ['y1', 'y2'])
    """

    def __init__(
        self,
        seeds: SeedsArgument,
        *,
        net_settings: Mapping[str, Any] | None = None,
        make_optimizer: OptimizerFactory = article_adam,
        jit_compile: bool = False,
    ) -> None:
        super().__init__(seeds, net_settings, make_optimizer, jit_compile)
        n_seeds = len(self.seeds)
        # The loop's working copy of the heads: row n_tasks * run + task is that head of that run.
        self._heads = tf.Variable(tf.zeros([n_seeds * len(self.tasks), self._net.own_size]), name="stacked_heads")

    def _loop_signature(self, batch_size: int) -> list[tf.TensorSpec]:
        n_seeds, template = len(self.seeds), self._net.template
        return [
            tf.TensorSpec([None, n_seeds], tf.int32),  # each step's task per run
            tf.TensorSpec([None, n_seeds * batch_size], tf.int32),  # each step's rows, run after run
            tf.TensorSpec([None, template.in_dim], tf.float32),  # inputs: run after run, task after task
            tf.TensorSpec([None, template.head_units], tf.float32),  # their targets
            tf.TensorSpec([None], tf.float32),  # Adam's step size by step count (without XLA)
        ]

    def _optimizer_names(self) -> list[str]:
        return list(self.tasks)

    def _state_names(self, slot: int) -> list[str]:
        return [*self._net.shared_names, *self._net.own_names[self.tasks[slot]]]

    def _loop(self, task_ids: tf.Tensor, rows: tf.Tensor, x_all: tf.Tensor, y_all: tf.Tensor, table: tf.Tensor) -> tf.Tensor:
        """Steps on ``rows`` (steps, S * batch) of the stacked data; returns each run's loss (steps, S).

        A step trains, for each run, the shared block and its task's head:
        ``own`` (S, shared_size + own_size), which is also the layout of the
        rows of that task's optimizer. Row ``n_tasks * run + task`` of the
        heads (variable ``_heads``) and of the Adam state (``_m``, ``_v``,
        ``_iterations``) belongs to run ``run`` and task ``task``; a step
        reads the rows of the runs' current tasks and writes them back in
        place, so the other heads and optimizers are not touched at all.
        """
        steps, n_tasks, n_runs = tf.shape(rows)[0], len(self.tasks), len(self.seeds)
        shared_size, first_row = self._net.shared_size, tf.constant(np.arange(n_runs, dtype=np.int32) * n_tasks)

        def body(t: tf.Tensor, shared: tf.Tensor, losses: Any) -> tuple:
            task = task_ids[t]  # (S,)
            x, y = self._batch(x_all, rows[t]), self._batch(y_all, rows[t])
            in_use = first_row + task  # (S,): each run's head and optimizer of its task
            own = tf.concat([shared, tf.gather(self._heads, in_use)], axis=1)
            with tf.GradientTape() as tape:
                tape.watch(own)
                loss = self._net.task_loss(y, self._net.forward_own_task(own, x))
            gradient = tape.gradient(loss, own)
            count = tf.gather(self._iterations, in_use) + 1
            step, m, v = adam_update(self.adam, tf.gather(self._m, in_use), tf.gather(self._v, in_use), gradient,
                                     self._alpha(count, table))
            own = own - step
            for variable, value in ((self._heads, own[:, shared_size:]), (self._m, m), (self._v, v), (self._iterations, count)):
                variable.scatter_update(tf.IndexedSlices(value, in_use))
            return t + 1, own[:, :shared_size], losses.write(t, loss)

        theta = self._theta.read_value()
        self._heads.assign(tf.reshape(theta[:, shared_size:], self._heads.shape))
        state = (tf.constant(0), theta[:, :shared_size], tf.TensorArray(tf.float32, size=steps))
        _, shared, losses = tf.while_loop(lambda t, *_: t < steps, body, state)
        self._theta.assign(tf.concat([shared, tf.reshape(self._heads, [n_runs, -1])], axis=1))
        return losses.stack()

    def fit(
        self,
        datasets: Any,
        schedules: Any,
        *,
        batch_size: int = 32,
        seeds: Sequence[int] | None = None,
        eval_data: Any = None,
        eval_every: int | None = None,
    ) -> list[TrainingLog]:
        """Train every run in compiled loops; one :class:`TrainingLog` per run.

        Each argument given per seed may be one value for every seed, a list
        of one value per seed (in :attr:`seeds` order) or a function of the
        seed, e.g. ``lambda seed: tasks.sample_separate(sizes, seed=seed)``.

        Parameters
        ----------
        datasets : dict, list of dict or callable
            Each seed's data sets, as for :meth:`AlternatingTrainer.fit`:
            ``{"y1": {"x": (n1, d), "y1": (n1, k)}, "y2": {...}}``. A task's
            data sets must have the same number of rows for every seed.
        schedules : sequence of str, list of them or callable
            Each seed's task per step, all of the same length (the steps),
            e.g. ``lambda seed: CoinFlip(seed=seed).schedule(500)``.
        batch_size : int, default 32
        seeds : sequence of int, optional
            The seed of each run's mini-batch draws; default :attr:`seeds`
            (``[0] * n`` draws like ``AlternatingTrainer.fit``'s default).
        eval_data : dict, list of dict or callable, optional
            Held-out batches (of the same size for every seed), evaluated
            with the mean squared error per task before training and after
            every ``eval_every`` steps.
        eval_every : int, optional
            Default: evaluate only at the end.

        Returns
        -------
        list of TrainingLog
            One per run, in :attr:`seeds` order, as ``AlternatingTrainer.fit`` returns.
        """
        schedules = per_seed(schedules, self.seeds, name="schedules", is_single=_is_one_schedule,
                             example="a sequence of task names such as ['y1', 'y2', ...]")
        schedules = [np.asarray(schedule, dtype=str) for schedule in schedules]
        lengths = {seed: len(schedule) for seed, schedule in zip(self.seeds, schedules, strict=True)}
        if len(set(lengths.values())) > 1 or not schedules[0].size or any(schedule.ndim != 1 for schedule in schedules):
            raise ValueError(f"every seed's schedule must be a list of task names of the same length (at least 1), got {lengths}")
        task_ids = np.full((len(schedules), schedules[0].size), -1, dtype=np.int32)
        for number, task in enumerate(self.tasks):
            task_ids[np.stack(schedules) == task] = number
        if np.any(task_ids < 0):
            known_task(str(np.stack(schedules)[task_ids < 0][0]), self.tasks)  # raises, naming the task
        batch_size = positive_int(batch_size, name="batch_size")
        datasets = per_seed(datasets, self.seeds, name="datasets", is_single=_is_mapping,
                            example="a dict of one data set per task")
        trained = [{self.tasks[k] for k in np.unique(ids)} for ids in task_ids]
        x_all, y_all, sizes, offsets = stack_task_datasets(self._net.template, self.seeds, datasets, trained)
        first_rows = np.asarray(offsets, dtype=np.int32)
        rows = self._flat_rows([
            batch_indices(sizes, ids, batch_size, seed) + first_rows[ids][:, None]
            for ids, seed in zip(task_ids, self._batch_seeds(seeds), strict=True)
        ], x_all.shape[1])
        task_ids, steps = np.ascontiguousarray(task_ids.T), task_ids.shape[1]
        x_all, y_all = tf.constant(x_all.reshape(-1, x_all.shape[2])), tf.constant(y_all.reshape(-1, y_all.shape[2]))
        table = self._alpha_input(steps)
        loop = self._loop_for(batch_size)

        def run(start: int, stop: int) -> np.ndarray:
            return loop(tf.constant(task_ids[start:stop]), tf.constant(rows[start:stop]), x_all, y_all, table).numpy()

        losses, eval_step, eval_metric = self._run_chunks(steps, eval_data, eval_every, run)
        return [
            TrainingLog(loss=losses[:, index], task=np.asarray(schedule), eval_step=eval_step,
                        eval_metric={task: values[:, index] for task, values in eval_metric.items()})
            for index, schedule in enumerate(schedules)
        ]


def _check_weighting(weighting: Any, tasks: tuple[str, ...], n_seeds: int) -> Weighting | list[FixedWeights]:
    """None (the article's sum), one FixedWeights or UncertaintyWeights, or one FixedWeights per seed."""
    if weighting is None:
        return FixedWeights(tasks=tasks)
    if isinstance(weighting, Sequence) and not isinstance(weighting, str):
        if len(weighting) != n_seeds or not all(isinstance(w, FixedWeights) for w in weighting):
            raise TypeError(
                f"weighting may be a list of one FixedWeights per seed ({n_seeds}), "
                f"got a list of {len(weighting)}: {[type(w).__name__ for w in weighting]}"
            )
        parts = list(weighting)
    elif isinstance(weighting, FixedWeights | UncertaintyWeights):
        parts = [weighting]
    else:
        raise TypeError(
            "the batched joint trainer supports FixedWeights and UncertaintyWeights (and a list of one FixedWeights "
            f"per seed), got {type(weighting).__name__}; train other weightings with JointTrainer seed by seed"
        )
    for part in parts:
        if tuple(part.tasks) != tuple(tasks):
            raise ValueError(f"the weighting's tasks {list(part.tasks)} must be the network's tasks {list(tasks)}")
    return parts if isinstance(weighting, Sequence) else weighting


class BatchedJointTrainer(BatchedTrainer):
    """Joint training of S seeds at once, each with its own Adam.

    Seed ``s``'s run is the run of ``JointTrainer(TwoHeadNet(**net_settings,
    seed=s), weighting=..., make_optimizer=...).fit(data_s, steps, seed=s)``.

    Parameters
    ----------
    seeds : int or sequence of int
        As for :class:`BatchedAlternatingTrainer`.
    net_settings : dict, optional
        Keyword arguments of :class:`TwoHeadNet`.
    weighting : FixedWeights, UncertaintyWeights or list of FixedWeights, optional
        Default: every weight 1.0 (the article's sum). One
        :class:`~mtl_helpers.FixedWeights` weights every seed alike (its
        current weights are read at each :meth:`fit`); a list gives one per
        seed. :class:`~mtl_helpers.UncertaintyWeights` (Kendall, Gal &
        Cipolla, CVPR 2018) gives each seed its own trainable log-variances,
        starting at ``initial_log_variance`` and kept by this trainer (see
        :attr:`log_variances`), not by the weighting object. Other weightings
        and gradient aggregators are not supported: use :class:`JointTrainer`.
    make_optimizer : callable, default :func:`article_adam`
        Must return a plain ``keras.optimizers.Adam``.
    jit_compile : bool, default False

    Examples
    --------
    >>> tasks = RelatedTasks(correlation=0.5, seed=0)
    >>> trainer = BatchedJointTrainer(
    ...     [0, 1], net_settings={**STRUCTURED_NET, "loss": "mean_squared_error"}, weighting=UncertaintyWeights()
    ... )
    >>> logs = trainer.fit(lambda seed: tasks.sample(64, seed=seed), 20)
    >>> logs[1].loss.shape, sorted(logs[1].weights)
    ((20,), ['y1', 'y2'])
    """

    def __init__(
        self,
        seeds: SeedsArgument,
        *,
        net_settings: Mapping[str, Any] | None = None,
        weighting: Weighting | Sequence[FixedWeights] | None = None,
        make_optimizer: OptimizerFactory = article_adam,
        jit_compile: bool = False,
    ) -> None:
        tasks = TwoHeadNet.tasks
        self.weighting = _check_weighting(weighting, tasks, len(check_seeds(seeds)))
        self._uncertainty = isinstance(self.weighting, UncertaintyWeights)
        extra = [f"log_variance_{task}" for task in tasks] if self._uncertainty else []
        super().__init__(seeds, net_settings, make_optimizer, jit_compile, extra)

    def _loop_signature(self, batch_size: int) -> list[tf.TensorSpec]:
        n_seeds, template = len(self.seeds), self._net.template
        return [
            tf.TensorSpec([None, n_seeds * batch_size], tf.int32),  # each step's rows, run after run
            tf.TensorSpec([n_seeds, len(self.tasks)], tf.float32),  # fixed loss weights per run
            tf.TensorSpec([None], tf.float32),  # Adam's step size by step count (without XLA)
            tf.TensorSpec([None, template.in_dim], tf.float32),  # inputs, run after run
            *[tf.TensorSpec([None, template.head_units], tf.float32) for _ in self.tasks],
        ]

    def _optimizer_names(self) -> list[str]:
        return ["joint"]

    def _state_names(self, slot: int) -> list[str]:
        return list(self._net.names)

    def _initial_extra(self) -> list[float]:
        if self._uncertainty:
            return [self.weighting.initial_log_variance] * len(self.tasks)
        return []

    @property
    def log_variances(self) -> dict[str, np.ndarray]:
        """Uncertainty weighting's current log-variances ``{task: (S,)}``, one per seed."""
        if not self._uncertainty:
            raise ValueError(f"this trainer has no log-variances: its weighting is {self.weighting!r}, not UncertaintyWeights")
        arrays = self._net.arrays(self._theta.numpy())
        return {task: np.array([row[f"log_variance_{task}"] for row in arrays]) for task in self.tasks}

    def _fixed_weights(self) -> np.ndarray:
        """(S, n_tasks): each seed's fixed loss weights (ones for uncertainty weighting, unused)."""
        parts = self.weighting if isinstance(self.weighting, list) else [self.weighting] * len(self.seeds)
        if self._uncertainty:
            return np.ones((len(self.seeds), len(self.tasks)), np.float32)
        return np.array([[part.weights[task] for task in self.tasks] for part in parts], np.float32)

    def _combine(self, losses: dict[str, tf.Tensor], params: dict[str, tf.Tensor], fixed: tf.Tensor) -> tuple:
        """Each seed's total (S,) and weights [(S,) per task], as the weighting's ``combine``."""
        if self._uncertainty:
            log_variances = {task: params[f"log_variance_{task}"] for task in self.tasks}
            total = uncertainty_weighted_loss(losses, log_variances)
            return total, [tf.exp(-log_variances[task]) for task in self.tasks]
        weights = [fixed[:, number] for number in range(len(self.tasks))]
        return tf.add_n([weight * losses[task] for weight, task in zip(weights, self.tasks, strict=True)]), weights

    def _loop(self, rows: tf.Tensor, fixed: tf.Tensor, table: tf.Tensor, x_all: tf.Tensor, *targets_all: tf.Tensor) -> tf.Tensor:
        """Steps on ``rows`` (steps, S * batch); records (steps, S, 1 + n_tasks): total, weights."""
        steps = tf.shape(rows)[0]

        def body(t: tf.Tensor, theta: tf.Tensor, m: tf.Tensor, v: tf.Tensor, iterations: tf.Tensor, records: Any) -> tuple:
            row = rows[t]
            x = self._batch(x_all, row)
            with tf.GradientTape() as tape:
                tape.watch(theta)
                params = self._net.unflatten(theta)
                predictions = self._net.forward(params, x)
                losses = {
                    task: self._net.task_loss(self._batch(y_all, row), predictions[task])
                    for task, y_all in zip(self.tasks, targets_all, strict=True)
                }
                total, weights = self._combine(losses, params, fixed)
            gradient = tape.gradient(total, theta)
            iterations = iterations + 1
            step, m, v = adam_update(self.adam, m, v, gradient, self._alpha(iterations, table))
            theta = theta - step
            return t + 1, theta, m, v, iterations, records.write(t, tf.stack([total, *weights], axis=1))

        state = (tf.constant(0), self._theta.read_value(), self._m.read_value(), self._v.read_value(),
                 self._iterations.read_value(), tf.TensorArray(tf.float32, size=steps))
        _, theta, m, v, iterations, records = tf.while_loop(lambda t, *_: t < steps, body, state)
        for variable, value in zip((self._theta, self._m, self._v, self._iterations), (theta, m, v, iterations), strict=True):
            variable.assign(value)
        return records.stack()

    def fit(
        self,
        data: Any,
        steps: int,
        *,
        batch_size: int = 32,
        seeds: Sequence[int] | None = None,
        eval_data: Any = None,
        eval_every: int | None = None,
    ) -> list[TrainingLog]:
        """Train every seed for ``steps`` steps in compiled loops; one :class:`TrainingLog` per seed.

        Parameters
        ----------
        data : dict, list of dict or callable
            Each seed's training data ``{"x": (n, d), "y1": (n, k), "y2": (n, k)}``
            (every row labelled for every task), the same ``n`` for every seed:
            one dict for every seed, a list of one per seed or a function of
            the seed such as ``lambda seed: tasks.sample(200, seed=seed)``.
        steps : int
        batch_size, seeds, eval_data, eval_every
            As for :meth:`BatchedAlternatingTrainer.fit`.

        Returns
        -------
        list of TrainingLog
            One per seed: ``loss`` is the total of each step, ``weights`` the
            weights applied, as ``JointTrainer.fit`` returns.
        """
        steps = positive_int(steps, name="steps")
        batch_size = positive_int(batch_size, name="batch_size")
        batches = per_seed(data, self.seeds, name="data", is_single=_is_mapping,
                           example="a dict {'x': ..., 'y1': ..., 'y2': ...}")
        if not all(isinstance(batch, Mapping) for batch in batches):
            raise TypeError("each seed's data must be a dict like {'x': ..., 'y1': ..., 'y2': ...}")
        arrays = [self._net.template.check_batch(batch, self.tasks) for batch in batches]
        n_rows = stack([a["x"] for a in arrays], what="training data", seeds=self.seeds).shape[1]
        tensors = [tf.constant(np.concatenate([a[key] for a in arrays])) for key in ("x", *self.tasks)]
        rows = self._flat_rows([
            batch_indices([n_rows], np.zeros(steps, dtype=np.int64), batch_size, seed) for seed in self._batch_seeds(seeds)
        ], n_rows)
        fixed, table, loop = tf.constant(self._fixed_weights()), self._alpha_input(steps), self._loop_for(batch_size)

        def run(start: int, stop: int) -> np.ndarray:
            return loop(tf.constant(rows[start:stop]), fixed, table, *tensors).numpy()

        records, eval_step, eval_metric = self._run_chunks(steps, eval_data, eval_every, run)
        return [
            TrainingLog(
                loss=records[:, index, 0],
                task=np.full(steps, "joint"),
                weights={task: records[:, index, 1 + number] for number, task in enumerate(self.tasks)},
                eval_step=eval_step,
                eval_metric={task: values[:, index] for task, values in eval_metric.items()},
            )
            for index in range(len(self.seeds))
        ]
