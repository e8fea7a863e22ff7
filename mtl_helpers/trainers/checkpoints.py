"""Training to checkpoints and scoring several held-out sets there: early stopping.

Early stopping needs two held-out sets at every checkpoint: validation data
to choose the checkpoint, test data to report it. A trainer's ``fit``
evaluates one held-out set; :func:`fit_checkpoints` trains from checkpoint to
checkpoint and scores every named set at each one, for the step-by-step
trainers (one run) and the batched-seeds trainers (S runs at once) alike.
:class:`CheckpointScores` holds the scores and picks each run's checkpoint.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mtl_helpers._validation import non_negative_int, positive_int
from mtl_helpers.trainers._batched_base import check_seeds, per_seed
from mtl_helpers.trainers.base import TrainingLog
from mtl_helpers.trainers.batched import _is_one_schedule

__all__ = ["CHUNK_SEED_STRIDE", "CheckpointScores", "fit_checkpoints"]

#: The chunk from step ``start`` of the run with seed ``s`` draws its mini-batches with seed
#: ``CHUNK_SEED_STRIDE * s + start``: every chunk of every run draws differently.
CHUNK_SEED_STRIDE = 10_000


@dataclass(frozen=True)
class CheckpointScores:
    """Held-out scores of S runs at every checkpoint.

    Attributes
    ----------
    steps : ndarray of shape (C,)
        Steps of the schedule (or joint steps) at each checkpoint; 0 first
        (the scores before training).
    scores : dict of str to dict of str to ndarray of shape (C, S)
        ``scores[split][task][c, s]``: run ``s``'s mean squared error (the
        network's ``evaluate``) on held-out set ``split`` at checkpoint ``c``.
    loss : ndarray of shape (steps, S)
        Each run's training loss of every step (as ``TrainingLog.loss``).
    task : ndarray of shape (steps, S) of str
        The task each step of each run trained (``"joint"`` for joint training).
    """

    steps: np.ndarray
    scores: dict[str, dict[str, np.ndarray]]
    loss: np.ndarray
    task: np.ndarray

    def _values(self, split: str, task: str) -> np.ndarray:
        if split not in self.scores:
            raise ValueError(f"no held-out set named {split!r}; the sets are {sorted(self.scores)}")
        if task not in self.scores[split]:
            raise ValueError(f"held-out set {split!r} scores tasks {sorted(self.scores[split])}, not {task!r}")
        return self.scores[split][task]

    def best_checkpoint(self, task: str, *, select: str = "validation", skip_start: bool = False) -> np.ndarray:
        """(S,) int: each run's checkpoint index with the lowest ``select`` error of ``task`` (first if tied).

        ``skip_start=True`` leaves out checkpoint 0, the untrained network.
        """
        values = self._values(select, task)[1 if skip_start else 0:]
        return np.argmin(values, axis=0) + (1 if skip_start else 0)

    def stopped(self, task: str, *, select: str = "validation", report: str = "test", skip_start: bool = False) -> np.ndarray:
        """(S,): each run's ``report`` error of ``task`` at the checkpoint chosen on ``select`` (early stopping).

        Examples
        --------
        >>> scores = CheckpointScores(
        ...     steps=np.array([0, 10, 20]),
        ...     scores={"validation": {"y1": np.array([[3.0], [1.0], [2.0]])},
        ...             "test": {"y1": np.array([[3.5], [1.5], [1.2]])}},
        ...     loss=np.zeros((20, 1)), task=np.full((20, 1), "y1"))
        >>> scores.stopped("y1"), scores.final("test", "y1")
        (array([1.5]), array([1.2]))
        """
        best = self.best_checkpoint(task, select=select, skip_start=skip_start)
        return self._values(report, task)[best, np.arange(best.size)]

    def final(self, split: str, task: str) -> np.ndarray:
        """(S,): each run's ``split`` error of ``task`` at the last checkpoint."""
        return self._values(split, task)[-1]

    def log(self, split: str, run: int = 0) -> TrainingLog:
        """Run ``run``'s :class:`TrainingLog` with ``split`` as its held-out data (for the plotting helpers)."""
        run = non_negative_int(run, name="run")
        if run >= self.loss.shape[1]:
            raise ValueError(f"run must be below the number of runs {self.loss.shape[1]}, got {run}")
        if split not in self.scores:
            raise ValueError(f"no held-out set named {split!r}; the sets are {sorted(self.scores)}")
        metric = {task: values[:, run] for task, values in self.scores[split].items()}
        return TrainingLog(loss=self.loss[:, run], task=self.task[:, run], eval_step=self.steps, eval_metric=metric)


def _checkpoints(checkpoints: int | Sequence[int], total: int) -> list[int]:
    if isinstance(checkpoints, (int, np.integer)):
        every = positive_int(checkpoints, name="checkpoints")
        points = [*range(every, total, every), total]
    else:
        points = [positive_int(point, name="each checkpoint") for point in checkpoints]
        if points != sorted(set(points)) or not points or points[-1] > total:
            raise ValueError(
                f"checkpoints must be increasing steps between 1 and the {total} steps of training, got {list(checkpoints)}"
            )
    return [0, *points]


def fit_checkpoints(
    trainer: Any,
    data: Any,
    plan: Any,
    *,
    checkpoints: int | Sequence[int],
    held_out: Mapping[str, Any],
    seeds: int | Sequence[int] | None = None,
    batch_size: int = 32,
) -> CheckpointScores:
    """Train ``trainer`` from its current state to each checkpoint and score every held-out set there.

    The trainer is not reset: call ``trainer.reset(seed)`` (or ``reset(seeds)``)
    first. Between two checkpoints it runs one ``fit``; the chunk that starts
    at step ``start`` of a run with seed ``s`` draws its mini-batches with
    seed ``CHUNK_SEED_STRIDE * s + start``.

    Parameters
    ----------
    trainer : AlternatingTrainer, JointTrainer, BatchedAlternatingTrainer or BatchedJointTrainer
        A step-by-step trainer trains one run (S = 1); a batched trainer its S runs.
    data : dict, list of dict or callable
        The training data sets (alternating) or data (joint), as the
        trainer's ``fit`` takes them (per run, for a batched trainer).
    plan : sequence of str, list of them, callable, or int
        Alternating training: the schedule (per run, for a batched trainer,
        as its ``fit`` takes it); joint training: the number of steps.
    checkpoints : int or sequence of int
        Every ``n`` steps (and at the end), or the steps themselves.
    held_out : dict of str to held-out data
        Named held-out sets, e.g. ``{"validation": ..., "test": ...}``: each
        a batch ``{"x": (n, d), "y1": (n, k), ...}``, or for a batched
        trainer anything its ``fit`` takes as ``eval_data``.
    seeds : int or sequence of int, optional
        The runs' seeds for the mini-batch draws: one int for a step-by-step
        trainer (default 0), one per run for a batched trainer (default
        its ``seeds``).
    batch_size : int, default 32

    Returns
    -------
    CheckpointScores

    Examples
    --------
    >>> from mtl_helpers import STRUCTURED_NET, AlternatingTrainer, CoinFlip, RelatedTasks, TwoHeadNet
    >>> tasks = RelatedTasks(correlation=0.5, seed=0)
    >>> trainer = AlternatingTrainer(TwoHeadNet(**STRUCTURED_NET, seed=0))
    >>> held_out = {"validation": tasks.sample(100, seed=1), "test": tasks.sample(100, seed=2)}
    >>> scores = fit_checkpoints(trainer, tasks.sample_separate({"y1": 50, "y2": 50}, seed=0),
    ...                          CoinFlip(seed=0).schedule(30), checkpoints=10, held_out=held_out)
    >>> scores.steps.tolist(), scores.scores["test"]["y1"].shape, scores.stopped("y2").shape
    ([0, 10, 20, 30], (4, 1), (1,))
    """
    if not isinstance(held_out, Mapping) or not held_out:
        raise TypeError(
            f"held_out must name one or more held-out sets, e.g. {{'validation': ..., 'test': ...}}, got {held_out!r}"
        )
    batched = hasattr(trainer, "seeds")
    joint = isinstance(plan, int | np.integer) and not isinstance(plan, bool)
    if batched:
        run_seeds = list(trainer.seeds if seeds is None else check_seeds(seeds))
        if len(run_seeds) != len(trainer.seeds):
            raise ValueError(f"seeds must give one seed per run, {len(trainer.seeds)}; got {len(run_seeds)}")
        data = per_seed(data, trainer.seeds, name="data", is_single=lambda v: isinstance(v, Mapping),
                        example="a dict of training data")
        if not joint:
            plan = [np.asarray(p, dtype=str) for p in per_seed(
                plan, trainer.seeds, name="plan", is_single=_is_one_schedule,
                example="a schedule such as ['y1', 'y2', ...]")]

        def evaluate(batch: Any) -> dict[str, np.ndarray]:
            return trainer.evaluate(batch)

        def fit(part: Any, draws: list[int]) -> list[TrainingLog]:
            return trainer.fit(data, part, batch_size=batch_size, seeds=draws)
    else:
        run_seeds = [0 if seeds is None else non_negative_int(seeds, name="seeds (one seed for one run)")]
        if not joint:
            plan = [np.asarray(plan, dtype=str)]

        def evaluate(batch: Any) -> dict[str, np.ndarray]:
            return {task: np.array([value]) for task, value in trainer.net.evaluate(batch).items()}

        def fit(part: Any, draws: list[int]) -> list[TrainingLog]:
            return [trainer.fit(data, part if joint else part[0], batch_size=batch_size, seed=draws[0])]

    total = positive_int(plan, name="plan (the number of joint steps)") if joint else len(plan[0])
    points = _checkpoints(checkpoints, total)
    history = [{split: evaluate(batch) for split, batch in held_out.items()}]
    losses, tasks = [], []
    for start, stop in itertools.pairwise(points):
        part = stop - start if joint else [p[start:stop] for p in plan]
        logs = fit(part, [CHUNK_SEED_STRIDE * seed + start for seed in run_seeds])
        losses.append(np.stack([log.loss for log in logs], axis=1))
        tasks.append(np.stack([log.task for log in logs], axis=1))
        history.append({split: evaluate(batch) for split, batch in held_out.items()})
    scores = {split: {task: np.stack([h[split][task] for h in history]) for task in history[0][split]} for split in held_out}
    return CheckpointScores(steps=np.asarray(points), scores=scores, loss=np.concatenate(losses), task=np.concatenate(tasks))
