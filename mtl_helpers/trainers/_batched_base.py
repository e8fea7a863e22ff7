"""What the batched trainers share (private): arguments per seed and the common base.

The base holds the S runs' stacked weights and Adam states as variables,
restarts them (``reset``), describes them (``get_weights``,
``optimizer_state``, ``network``) and runs the training loop chunk by chunk
with held-out evaluation in between; the subclasses in
:mod:`mtl_helpers.trainers.batched` write the loops.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from mtl_helpers._tensorflow import tf
from mtl_helpers._validation import flag, non_negative_int, positive_int
from mtl_helpers.models import TwoHeadNet
from mtl_helpers.trainers._stacked import AdamSettings, StackedNet, alpha_in_graph, alpha_table
from mtl_helpers.trainers.base import OptimizerFactory, _chunks, build_optimizer

__all__ = ["BatchedTrainer", "SeedsArgument", "check_seeds", "per_seed", "stack", "stack_task_datasets"]

SeedsArgument = int | Sequence[int]


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
        self._net = StackedNet({} if net_settings is None else net_settings, extra, jit_compile=self.jit_compile)
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

    @staticmethod
    def _flat_rows(rows: Sequence[np.ndarray], n_rows: int) -> np.ndarray:
        """Each run's rows (steps, batch) as rows of the runs' data one after another: (steps, S * batch)."""
        return np.stack([run_rows + run * n_rows for run, run_rows in enumerate(rows)], axis=1).reshape(len(rows[0]), -1)

    def _batch(self, data: tf.Tensor, rows: tf.Tensor) -> tf.Tensor:
        """The mini-batch of every run, (S, batch, columns), from rows (S * batch,) of data (S * n, columns)."""
        n_runs = len(self.seeds)
        return tf.reshape(tf.gather(data, rows), [n_runs, rows.shape[0] // n_runs, data.shape[1]])

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

    def evaluate(self, data: Any) -> dict[str, np.ndarray]:
        """Every run's mean squared error on held-out data: ``{task: (S,)}``.

        ``data`` is one batch ``{"x": (n, d), "y1": (n, k), ...}`` for every
        run, a list of one per run or a function of the seed (as ``fit``'s
        ``eval_data``); run ``s`` gives what ``self.network(s).evaluate``
        gives, to float32 rounding.
        """
        if data is None:
            raise TypeError("evaluate needs held-out data: a dict like {'x': ..., 'y1': ..., 'y2': ...}")
        return self._evaluate(self._eval_arrays(data))

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
