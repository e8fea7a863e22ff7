"""Many seeds in one compiled call: the batched trainers (issue 12).

Every conclusion of the book rests on runs over seeds, and the book's
networks are so small that one run leaves the CPU mostly idle. The trainers
here train S independent seeds of :class:`~mtl_helpers.TwoHeadNet` at once:
the S networks' weights are stacked along a leading seed axis (the shared
layer becomes a tensor of shape (S, in_dim, shared_units)), one batched
matrix product runs every seed's layer, and one compiled loop steps all S
networks together.

Each seed's run is **the same run** it would be alone: the initial weights
of ``TwoHeadNet(**net_settings, seed=s)``, the mini-batches that
:meth:`AlternatingTrainer.fit` / :meth:`JointTrainer.fit` draw with that
seed, the seed's own task schedule, and its own Adam state. In alternating
training each seed keeps one Adam state (moments *and* step count) per
task, and on a step where seed ``s`` trains y1, seed ``s``'s y2 head and y2
optimizer state are left untouched bit for bit (an Adam step with a zero
gradient would still move a weight). ``tests/unit/test_batched.py`` checks
that the per-seed losses equal separate runs of the step-by-step trainers.

What they do not do: gradient aggregators (PCGrad ...) and weightings other
than :class:`~mtl_helpers.FixedWeights` and
:class:`~mtl_helpers.UncertaintyWeights`; train those with
:class:`JointTrainer` seed by seed. The optimizer is Keras' ``Adam`` (its
settings are read from ``make_optimizer()``), re-implemented on the stacked
weights.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from mtl_helpers._tensorflow import tf
from mtl_helpers._validation import flag, known_task, non_negative_int, positive_int
from mtl_helpers.models import TwoHeadNet
from mtl_helpers.trainers._stacked import AdamSettings, StackedNet, adam_update, alpha_in_graph, alpha_table, per_seed
from mtl_helpers.trainers.base import OptimizerFactory, TrainingLog, _chunks, article_adam, batch_indices, build_optimizer
from mtl_helpers.weighting import FixedWeights, UncertaintyWeights, Weighting, uncertainty_weighted_loss

__all__ = ["BatchedAlternatingTrainer", "BatchedJointTrainer"]

SeedsArgument = int | Sequence[int]


def _check_seeds(seeds: Any) -> tuple[int, ...]:
    if isinstance(seeds, int | np.integer) and not isinstance(seeds, bool):
        return tuple(range(positive_int(seeds, name="seeds (a number of seeds)")))
    if isinstance(seeds, str) or not isinstance(seeds, Sequence | range | np.ndarray):
        raise TypeError(f"seeds must be a number of seeds or a list of seeds such as range(10), got {seeds!r}")
    seeds = tuple(non_negative_int(seed, name="each seed") for seed in seeds)
    if not seeds:
        raise ValueError("seeds is empty; give at least one seed, e.g. range(10)")
    return seeds


def _is_mapping(value: Any) -> bool:
    return isinstance(value, Mapping)


def _stack(arrays: Sequence[np.ndarray], *, what: str, seeds: Sequence[int]) -> np.ndarray:
    """Stack one array per seed along a new first axis; all must have the same number of rows."""
    rows = {seed: array.shape[0] for seed, array in zip(seeds, arrays, strict=True)}
    if len(set(rows.values())) > 1:
        raise ValueError(
            f"every seed's {what} must have the same number of rows to be stacked, got rows per seed {rows}; "
            "draw each seed's data with the same size"
        )
    return np.stack(arrays)


class _BatchedTrainer:
    """What both batched trainers share: seeds, stacked variables, evaluation, chunks."""

    def __init__(
        self,
        seeds: SeedsArgument,
        net_settings: Mapping[str, Any] | None,
        make_optimizer: OptimizerFactory,
        jit_compile: bool,
        extra: Sequence[str] = (),
    ) -> None:
        self.seeds = _check_seeds(seeds)
        self.jit_compile = flag(jit_compile, name="jit_compile")
        self._net = StackedNet({} if net_settings is None else net_settings, extra)
        self.tasks = self._net.tasks
        self.adam = AdamSettings.from_optimizer(build_optimizer(make_optimizer))
        self._owned = self._owned_matrix()
        n_seeds, (n_slots, n_parameters) = len(self.seeds), self._owned.shape
        self._theta = tf.Variable(tf.zeros([n_seeds, n_parameters]), name="stacked_weights")
        self._m = tf.Variable(tf.zeros([n_seeds, n_slots, n_parameters]), name="adam_m")
        self._v = tf.Variable(tf.zeros([n_seeds, n_slots, n_parameters]), name="adam_v")
        self._iterations = tf.Variable(tf.zeros([n_seeds, n_slots], tf.int64), name="adam_iterations")
        spec_x = tf.TensorSpec([n_seeds, None, self._net.template.in_dim], tf.float32)
        self._predict_fn = tf.function(lambda x: self._net.forward(self._net.unflatten(self._theta), x), input_signature=[spec_x])
        self.reset(self.seeds)

    @property
    def net(self) -> TwoHeadNet:
        """A network of the trainer's settings (its weights are not the seeds')."""
        return self._net.template

    def _initial_extra(self) -> list[float]:
        return []

    def reset(self, seeds: SeedsArgument) -> None:
        """Restart every run as new trainers on new networks built with ``seeds`` would start.

        Parameters
        ----------
        seeds : int or sequence of int
            As many seeds as the trainer was built with (a number ``n``
            means ``range(n)``). Nothing is traced or compiled again.
        """
        seeds = _check_seeds(seeds)
        if len(seeds) != len(self.seeds):
            raise ValueError(
                f"this trainer trains {len(self.seeds)} seeds at once, got {len(seeds)} seeds; "
                "build a new trainer for another number of seeds"
            )
        extra = np.asarray(self._initial_extra(), dtype=np.float32)
        rows = [np.concatenate([self._net.initial_row(seed), extra]) for seed in seeds]
        self._theta.assign(np.stack(rows))
        for variable in (self._m, self._v, self._iterations):
            variable.assign(tf.zeros_like(variable))
        self.seeds = seeds

    def get_weights(self) -> list[dict[str, np.ndarray]]:
        """Each seed's current network weights, keyed like ``TwoHeadNet.get_weights()``, in ``seeds`` order."""
        names = self._net.shapes
        return [{name: row[name] for name in names} for row in self._net.arrays(self._theta.numpy())]

    def network(self, index: int) -> TwoHeadNet:
        """A new :class:`TwoHeadNet` holding the current weights of run ``index`` (of seed ``seeds[index]``)."""
        index = non_negative_int(index, name="index")
        if index >= len(self.seeds):
            raise ValueError(f"index must be below the number of seeds {len(self.seeds)}, got {index}")
        net = TwoHeadNet(**self._net.settings)
        net.set_weights(self.get_weights()[index])
        return net

    def optimizer_state(self) -> list[dict[str, dict[str, Any]]]:
        """Each seed's Adam state: ``{optimizer: {"iterations": int, "m": {name: array}, "v": {name: array}}}``.

        The optimizers are keyed like :attr:`AlternatingTrainer.optimizers`
        (one per task) or :attr:`JointTrainer.optimizers` (``"joint"``); each
        holds the moments of the parameters it trains, keyed like
        :meth:`get_weights` (plus ``"log_variance_<task>"`` for uncertainty
        weighting).
        """
        first = np.cumsum([0, *self._net.sizes[:-1]])
        states = []
        for m_seed, v_seed, steps in zip(self._m.numpy(), self._v.numpy(), self._iterations.numpy(), strict=True):
            state = {}
            for slot, name in enumerate(self._slot_names()):
                trained = [key for key, start in zip(self._net.names, first, strict=True) if self._owned[slot, start]]
                m, v = self._net.arrays(m_seed[slot][None])[0], self._net.arrays(v_seed[slot][None])[0]
                state[name] = {"iterations": int(steps[slot]), "m": {k: m[k] for k in trained}, "v": {k: v[k] for k in trained}}
            states.append(state)
        return states

    def _slot_names(self) -> list[str]:
        """The names of each seed's optimizers."""
        raise NotImplementedError

    def _owned_matrix(self) -> np.ndarray:
        """(n_optimizers, n_parameters) bool: the parameters each optimizer trains."""
        raise NotImplementedError

    def _batch_seeds(self, seeds: Any) -> list[int]:
        if seeds is None:
            return list(self.seeds)
        seeds = list(_check_seeds(seeds))
        if len(seeds) != len(self.seeds):
            raise ValueError(f"seeds (of the mini-batch draws) must give one seed per run: {len(self.seeds)}, got {len(seeds)}")
        return seeds

    def _alpha_input(self, steps: int) -> tf.Tensor:
        """Adam's step sizes by step count for the loop without XLA (a placeholder with XLA)."""
        if self.jit_compile:
            return tf.zeros([1])
        return tf.constant(alpha_table(self.adam, int(self._iterations.numpy().max()) + steps + 1))

    def _alpha(self, next_step: tf.Tensor, table: tf.Tensor) -> tf.Tensor:
        """Adam's step size (S,) for each seed's step count ``next_step`` (S,) int64."""
        if self.jit_compile:
            return alpha_in_graph(self.adam, tf.cast(next_step, tf.float32))
        return tf.gather(table, next_step - 1)

    def _eval_stack(self, eval_data: Any) -> tuple[tf.Tensor, dict[str, np.ndarray]] | None:
        if eval_data is None:
            return None
        batches = per_seed(eval_data, self.seeds, name="eval_data", is_single=_is_mapping, example="a dict {'x': ..., 'y1': ...}")
        if not all(isinstance(batch, Mapping) for batch in batches):
            raise TypeError("each seed's eval_data must be a dict like {'x': ..., 'y1': ..., 'y2': ...}")
        present = [task for task in self.tasks if task in batches[0]]
        if any([task for task in self.tasks if task in batch] != present for batch in batches):
            raise ValueError(f"every seed's eval_data must hold the same tasks, got {[sorted(batch) for batch in batches]}")
        arrays = [self._net.template.check_batch(batch, present) for batch in batches]
        x = tf.constant(_stack([a["x"] for a in arrays], what="eval_data", seeds=self.seeds))
        return x, {task: np.stack([a[task] for a in arrays]) for task in present}

    def _evaluate(self, stack: tuple[tf.Tensor, dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        x, targets = stack
        predictions = self._predict_fn(x)
        return {task: self._net.mean_squared_error(y, predictions[task]).numpy() for task, y in targets.items()}

    def _run_chunks(
        self, steps: int, eval_data: Any, eval_every: int | None, run: Callable[[int, int], np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Records of every step (steps, S, ...), evaluation steps and metrics {task: (n_evals, S)}."""
        if eval_every is not None and eval_data is None:
            raise ValueError("eval_every needs eval_data: pass the held-out batch (or one per seed) to evaluate on")
        stack = self._eval_stack(eval_data)
        records, eval_steps, metrics = [], [], []
        if stack is not None:
            eval_steps.append(0)
            metrics.append(self._evaluate(stack))
        for start, stop in _chunks(steps, eval_every):
            records.append(run(start, stop))
            if stack is not None:
                eval_steps.append(stop)
                metrics.append(self._evaluate(stack))
        eval_metric = {task: np.stack([metric[task] for metric in metrics]) for task in (metrics[0] if metrics else {})}
        return np.concatenate(records), np.asarray(eval_steps, dtype=int), eval_metric

    @property
    def tracing_count(self) -> int:
        """How many times the training loop and the prediction function were traced (once each at most)."""
        return self._loop_fn.experimental_get_tracing_count() + self._predict_fn.experimental_get_tracing_count()

    _loop_fn: Any


def _is_one_schedule(value: Any) -> bool:
    if isinstance(value, np.ndarray):
        return value.ndim == 1 and value.dtype.kind in "US"
    return isinstance(value, Sequence) and not isinstance(value, str) and len(value) > 0 and all(isinstance(t, str) for t in value)


class BatchedAlternatingTrainer(_BatchedTrainer):
    """Alternating training of S seeds at once, each with one Adam per task.

    Seed ``s``'s run is the run of ``AlternatingTrainer(TwoHeadNet(**net_settings,
    seed=s), make_optimizer).fit(datasets_s, schedule_s, seed=s)``: same initial
    weights, mini-batches, schedule and optimizer states.

    Parameters
    ----------
    seeds : int or sequence of int
        The seeds of the runs (``10`` means ``range(10)``). Each seed sets
        its network's initial weights and, unless ``fit`` is given other
        ``seeds``, its mini-batch draws.
    net_settings : dict, optional
        Keyword arguments of :class:`TwoHeadNet` (e.g. :data:`STRUCTURED_NET`),
        without ``seed`` or ``weights``.
    make_optimizer : callable, default :func:`article_adam`
        Must return a plain ``keras.optimizers.Adam``; its settings
        (learning rate, betas, epsilon) are used for every seed and task.
    jit_compile : bool, default False
        Compile the loop with XLA (it compiles again for every new
        combination of shapes: steps per chunk, batch size, data sizes).

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
        n_seeds, spec_x = len(self.seeds), self._net.template.in_dim
        self._loop_fn = tf.function(
            self._loop,
            input_signature=[
                tf.TensorSpec([None, n_seeds], tf.int32),  # each step's task id per seed
                tf.TensorSpec([None, n_seeds, None], tf.int32),  # each step's rows per seed
                tf.TensorSpec([n_seeds, None, spec_x], tf.float32),  # every task's inputs, one block per task
                tf.TensorSpec([n_seeds, None, self._net.template.head_units], tf.float32),  # their targets
                tf.TensorSpec([None], tf.float32),  # Adam's step size by step count (without XLA)
            ],
            jit_compile=self.jit_compile,
        )

    def _slot_names(self) -> list[str]:
        return list(self.tasks)

    def _owned_matrix(self) -> np.ndarray:
        return self._net.owned()

    def _loop(self, task_ids: tf.Tensor, rows: tf.Tensor, x_all: tf.Tensor, y_all: tf.Tensor, table: tf.Tensor) -> tf.Tensor:
        """Steps on ``rows`` (steps, S, batch) of the stacked data; returns each seed's loss (steps, S)."""
        steps, n_tasks = tf.shape(rows)[0], len(self.tasks)
        # By the task trained: the parameters that move (n_tasks, n_parameters), the
        # optimizer states that change (n_tasks, n_tasks, n_parameters), the step counts.
        moves = tf.constant(self._owned)
        changes = tf.constant(np.eye(n_tasks, dtype=bool)[:, :, None] & self._owned[None])
        counts = tf.constant(np.eye(n_tasks, dtype=np.int64))

        def body(t: tf.Tensor, theta: tf.Tensor, m: tf.Tensor, v: tf.Tensor, iterations: tf.Tensor, losses: Any) -> tuple:
            task, row = task_ids[t], rows[t]  # (S,), (S, batch)
            x, y = tf.gather(x_all, row, batch_dims=1), tf.gather(y_all, row, batch_dims=1)
            with tf.GradientTape() as tape:
                tape.watch(theta)
                predictions = self._net.forward(self._net.unflatten(theta), x)
                chosen = predictions[self.tasks[-1]]
                for number in range(n_tasks - 2, -1, -1):
                    chosen = tf.where(tf.equal(task, number)[:, None, None], predictions[self.tasks[number]], chosen)
                loss = self._net.task_loss(y, chosen)
            gradient = tape.gradient(loss, theta)
            # Each seed's optimizer of its task: its moments and step count ...
            alpha = self._alpha(tf.gather(iterations, task, batch_dims=1) + 1, table)
            moved, m_new, v_new = adam_update(
                self.adam, theta, tf.gather(m, task, batch_dims=1), tf.gather(v, task, batch_dims=1), gradient, alpha
            )
            # ... and only that task's parameters and that optimizer's state change.
            theta = tf.where(tf.gather(moves, task), moved, theta)
            changed = tf.gather(changes, task)
            m, v = tf.where(changed, m_new[:, None, :], m), tf.where(changed, v_new[:, None, :], v)
            return t + 1, theta, m, v, iterations + tf.gather(counts, task), losses.write(t, loss)

        state = (tf.constant(0), self._theta.read_value(), self._m.read_value(), self._v.read_value(),
                 self._iterations.read_value(), tf.TensorArray(tf.float32, size=steps))
        _, theta, m, v, iterations, losses = tf.while_loop(lambda t, *_: t < steps, body, state)
        for variable, value in zip((self._theta, self._m, self._v, self._iterations), (theta, m, v, iterations), strict=True):
            variable.assign(value)
        return losses.stack()

    def _stack_datasets(
        self, datasets: list[Any], schedules: list[list[str]]
    ) -> tuple[np.ndarray, np.ndarray, list[int], list[int]]:
        """Stacked inputs and targets (S, rows of every trained task, ...), each task's size and first row."""
        tasks, seeds, template = self.tasks, self.seeds, self._net.template
        for seed, data in zip(seeds, datasets, strict=True):
            if not isinstance(data, Mapping):
                raise TypeError(f"the datasets of seed {seed} must be a dict keyed by task name, got {type(data).__name__}")
            unknown = sorted(set(data) - set(tasks))
            if unknown:
                raise ValueError(f"the datasets of seed {seed} have unknown task names {unknown}; expected some of {list(tasks)}")
        xs, ys, sizes, offsets, offset = [], [], [], [], 0
        for task in tasks:
            trained = [task in schedule for schedule in schedules]
            if not any(trained):
                sizes.append(1)  # as AlternatingTrainer: a placeholder size the schedules never use
                offsets.append(0)
                continue
            for seed, data, trains in zip(seeds, datasets, trained, strict=True):
                if trains and task not in data:
                    raise ValueError(f"the schedule of seed {seed} trains {task!r} but its datasets have no {task!r} data set")
            arrays = {index: template.check_batch(data[task], [task]) for index, data in enumerate(datasets) if task in data}
            size = _stack([a["x"] for a in arrays.values()], what=f"{task!r} data set", seeds=[seeds[i] for i in arrays]).shape[1]
            zeros = {"x": np.zeros((size, template.in_dim), np.float32), task: np.zeros((size, template.head_units), np.float32)}
            xs.append(np.stack([arrays.get(index, zeros)["x"] for index in range(len(seeds))]))
            ys.append(np.stack([arrays.get(index, zeros)[task] for index in range(len(seeds))]))
            sizes.append(size)
            offsets.append(offset)
            offset += size
        return np.concatenate(xs, axis=1), np.concatenate(ys, axis=1), sizes, offsets

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
        """Train every seed for ``steps`` steps in compiled loops; one :class:`TrainingLog` per seed.

        Each argument given per seed may be one value for every seed, a list
        with one value per seed (in :attr:`seeds` order) or a function of the
        seed, e.g. ``lambda seed: tasks.sample_separate(sizes, seed=seed)``.

        Parameters
        ----------
        datasets : dict, list of dict or callable
            Each seed's data sets, as for :meth:`AlternatingTrainer.fit`:
            ``{"y1": {"x": (n1, d), "y1": (n1, k)}, "y2": {...}}``. A task's
            data sets must have the same number of rows for every seed.
        schedules : sequence of str, list of them or callable
            Each seed's task per step; every seed trains the same number of
            steps. E.g. ``lambda seed: CoinFlip(seed=seed).schedule(500)``.
        batch_size : int, default 32
        seeds : sequence of int, optional
            The seed of each run's mini-batch draws; default :attr:`seeds`
            (pass ``[0] * n`` to draw like ``AlternatingTrainer.fit``'s default).
        eval_data : dict, list of dict or callable, optional
            Held-out batches (the same size for every seed), evaluated with
            the mean squared error per task before training and after every
            ``eval_every`` steps.
        eval_every : int, optional
            Default: evaluate only at the end.

        Returns
        -------
        list of TrainingLog
            One per seed, in :attr:`seeds` order, as ``AlternatingTrainer.fit`` returns.
        """
        tasks = self.tasks
        schedules = per_seed(schedules, self.seeds, name="schedules", is_single=_is_one_schedule,
                             example="a sequence of task names such as ['y1', 'y2', ...]")
        schedules = [[known_task(task, tasks) for task in schedule] for schedule in schedules]
        lengths = {seed: len(schedule) for seed, schedule in zip(self.seeds, schedules, strict=True)}
        if len(set(lengths.values())) > 1 or not schedules[0]:
            raise ValueError(f"every seed's schedule must have the same number of steps (at least 1), got {lengths}")
        batch_size = positive_int(batch_size, name="batch_size")
        datasets = per_seed(datasets, self.seeds, name="datasets", is_single=_is_mapping,
                            example="a dict of one data set per task")
        x_all, y_all, sizes, offsets = self._stack_datasets(datasets, schedules)
        task_ids = np.array([[tasks.index(task) for task in schedule] for schedule in schedules], dtype=np.int32)
        rows = np.stack([
            batch_indices(sizes, ids, batch_size, seed) + np.asarray(offsets, dtype=np.int32)[ids][:, None]
            for ids, seed in zip(task_ids, self._batch_seeds(seeds), strict=True)
        ], axis=1)  # (steps, S, batch_size)
        task_ids, steps = task_ids.T.copy(), task_ids.shape[1]
        x_all, y_all, table = tf.constant(x_all), tf.constant(y_all), self._alpha_input(steps)

        def run(start: int, stop: int) -> np.ndarray:
            return self._loop_fn(tf.constant(task_ids[start:stop]), tf.constant(rows[start:stop]), x_all, y_all, table).numpy()

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


class BatchedJointTrainer(_BatchedTrainer):
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
        tasks = StackedNet({} if net_settings is None else net_settings).tasks
        self.weighting = _check_weighting(weighting, tasks, len(_check_seeds(seeds)))
        self._uncertainty = isinstance(self.weighting, UncertaintyWeights)
        extra = [f"log_variance_{task}" for task in tasks] if self._uncertainty else []
        super().__init__(seeds, net_settings, make_optimizer, jit_compile, extra)
        n_seeds, template = len(self.seeds), self._net.template
        spec_data = tf.TensorSpec([n_seeds, None, template.in_dim], tf.float32)
        spec_targets = [tf.TensorSpec([n_seeds, None, template.head_units], tf.float32) for _ in self.tasks]
        self._loop_fn = tf.function(
            self._loop,
            input_signature=[
                tf.TensorSpec([None, n_seeds, None], tf.int32),  # each step's rows per seed
                tf.TensorSpec([n_seeds, len(self.tasks)], tf.float32),  # fixed loss weights per seed
                tf.TensorSpec([None], tf.float32),  # Adam's step size by step count (without XLA)
                spec_data,
                *spec_targets,
            ],
            jit_compile=self.jit_compile,
        )

    def _slot_names(self) -> list[str]:
        return ["joint"]

    def _owned_matrix(self) -> np.ndarray:
        return np.ones((1, self._net.n_parameters), dtype=bool)

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
        """Steps on ``rows`` (steps, S, batch); records (steps, S, 1 + n_tasks): total, weights."""
        steps = tf.shape(rows)[0]

        def body(t: tf.Tensor, theta: tf.Tensor, m: tf.Tensor, v: tf.Tensor, iterations: tf.Tensor, records: Any) -> tuple:
            row = rows[t]
            x = tf.gather(x_all, row, batch_dims=1)
            with tf.GradientTape() as tape:
                tape.watch(theta)
                params = self._net.unflatten(theta)
                predictions = self._net.forward(params, x)
                losses = {
                    task: self._net.task_loss(tf.gather(y_all, row, batch_dims=1), predictions[task])
                    for task, y_all in zip(self.tasks, targets_all, strict=True)
                }
                total, weights = self._combine(losses, params, fixed)
            gradient = tape.gradient(total, theta)
            iterations = iterations + 1
            theta, m, v = adam_update(self.adam, theta, m, v, gradient, self._alpha(iterations, table))
            return t + 1, theta, m, v, iterations, records.write(t, tf.stack([total, *weights], axis=1))

        state = (tf.constant(0), self._theta.read_value(), self._m[:, 0],
                 self._v[:, 0], self._iterations[:, 0], tf.TensorArray(tf.float32, size=steps))
        _, theta, m, v, iterations, records = tf.while_loop(lambda t, *_: t < steps, body, state)
        self._theta.assign(theta)
        self._m.assign(m[:, None])
        self._v.assign(v[:, None])
        self._iterations.assign(iterations[:, None])
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
        batches = per_seed(data, self.seeds, name="data", is_single=_is_mapping, example="a dict {'x': ..., 'y1': ..., 'y2': ...}")
        if not all(isinstance(batch, Mapping) for batch in batches):
            raise TypeError("each seed's data must be a dict like {'x': ..., 'y1': ..., 'y2': ...}")
        arrays = [self._net.template.check_batch(batch, self.tasks) for batch in batches]
        x_all = _stack([a["x"] for a in arrays], what="training data", seeds=self.seeds)
        tensors = [tf.constant(x_all), *[tf.constant(np.stack([a[task] for a in arrays])) for task in self.tasks]]
        rows = np.stack([
            batch_indices([x_all.shape[1]], np.zeros(steps, dtype=np.int64), batch_size, seed)
            for seed in self._batch_seeds(seeds)
        ], axis=1)  # (steps, S, batch_size)
        fixed, table = tf.constant(self._fixed_weights()), self._alpha_input(steps)

        def run(start: int, stop: int) -> np.ndarray:
            return self._loop_fn(tf.constant(rows[start:stop]), fixed, table, *tensors).numpy()

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
