"""Task samplers and schedules for alternating training (chapter 5).

Alternating training needs, for every step, the name of the task to train.
Each class here turns a rule into such a list: call ``schedule(steps)`` and
pass the result to :meth:`mtl_helpers.AlternatingTrainer.fit`. Random
samplers draw each step's task independently with fixed probabilities
(``probabilities``); deterministic schedules cycle through the tasks in
blocks.

================================  ==========================================
class                             rule
================================  ==========================================
:class:`CoinFlip`                 the article's coin flip, ``p`` for the first task
:class:`ProportionalSampler`      ``p_i ∝ N_i`` (one pass over each data set)
:class:`UniformSampler`           ``p_i = 1 / n_tasks``
:class:`TemperatureSampler`       ``p_i ∝ N_i ** (1 / T)`` (Arivazhagan et al., 2019)
:class:`SquareRootSampler`        ``p_i ∝ sqrt(N_i)`` (temperature 2)
:class:`AnnealedSampler`          ``p_i ∝ N_i ** alpha_e``, ``alpha_e`` falling from 1
                                  to 0.2 over the epochs (Stickland & Murray, 2019)
:class:`BlockSchedule`            ``block`` steps of one task, then of the next
:class:`Interleaved`              one step of each task in turn
================================  ==========================================

``N_i`` is the size of task ``i``'s data set. Every class takes a ``seed``;
the same seed always gives the same schedule.

Examples
--------
>>> sampler = TemperatureSampler({"y1": 2000, "y2": 100}, temperature=5.0, seed=0)
>>> {task: round(p, 3) for task, p in sampler.probabilities.items()}
{'y1': 0.645, 'y2': 0.355}
>>> sampler.schedule(6).tolist()
['y1', 'y1', 'y1', 'y1', 'y2', 'y2']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mtl_helpers._validation import non_negative_int, positive_int, task_names
from mtl_helpers.data import TASKS

__all__ = [
    "AnnealedSampler",
    "BlockSchedule",
    "CoinFlip",
    "Interleaved",
    "ProportionalSampler",
    "Schedule",
    "SquareRootSampler",
    "TemperatureSampler",
    "UniformSampler",
    "dataset_sizes",
]


def _check_sizes(sizes: Any) -> dict[str, int]:
    """Validate ``{task: N_i}`` and return it with plain ints."""
    if not isinstance(sizes, Mapping) or not sizes:
        raise ValueError(f"sizes must be a non-empty dict of data-set sizes such as {{'y1': 2000, 'y2': 100}}, got {sizes!r}")
    task_names(list(sizes))
    result = {}
    for task, size in sizes.items():
        if isinstance(size, bool) or not isinstance(size, int | np.integer):
            raise TypeError(f"sizes[{task!r}] must be an int (a number of examples), got {type(size).__name__} {size!r}")
        if size < 0:
            raise ValueError(f"sizes[{task!r}] is {size}: a data set cannot have a negative number of examples")
        if size == 0:
            raise ValueError(f"sizes[{task!r}] is 0: an empty data set cannot be sampled; give that task data or leave it out")
        result[task] = int(size)
    return result


def dataset_sizes(datasets: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    """Number of examples in each task's data set.

    Parameters
    ----------
    datasets : dict
        ``{"y1": {"x": (n1, d), "y1": (n1, 1)}, "y2": {...}}`` as from
        :meth:`mtl_helpers.RelatedTasks.sample_separate`.

    Returns
    -------
    dict
        ``{"y1": n1, "y2": n2}``, ready for the samplers.

    Examples
    --------
    >>> dataset_sizes({"y1": {"x": np.zeros((5, 10))}, "y2": {"x": np.zeros((2, 10))}})
    {'y1': 5, 'y2': 2}
    """
    if not isinstance(datasets, Mapping) or not datasets:
        raise ValueError("datasets must be a non-empty dict {task: {'x': ..., task: ...}}")
    sizes = {}
    for task, data in datasets.items():
        if not isinstance(data, Mapping) or "x" not in data:
            raise ValueError(f"datasets[{task!r}] must be a dict with an 'x' array, got {type(data).__name__}")
        sizes[task] = int(np.shape(data["x"])[0])
    return _check_sizes(sizes)


def _power_probabilities(sizes: Mapping[str, int], exponent: float) -> dict[str, float]:
    """``p_i ∝ N_i ** exponent``, computed in log space so large sizes do not overflow."""
    counts = np.asarray(list(sizes.values()), dtype=np.float64)
    with np.errstate(over="ignore"):
        weights = counts**exponent
    if not np.all(np.isfinite(weights)):
        logs = exponent * np.log(counts)
        weights = np.exp(logs - logs.max())
    return dict(zip(sizes, (weights / weights.sum()).tolist(), strict=True))


def _draw(probabilities: Mapping[str, float], steps: int, rng: np.random.Generator) -> np.ndarray:
    tasks = np.asarray(list(probabilities))
    return tasks[rng.choice(len(tasks), size=steps, p=np.asarray(list(probabilities.values())))]


class Schedule:
    """The interface of every schedule: which task each step of alternating training trains.

    Attributes
    ----------
    tasks : tuple of str
    seed : int
        The same seed always gives the same schedule.
    """

    tasks: tuple[str, ...]
    seed: int

    @property
    def probabilities(self) -> dict[str, float]:
        """Long-run share of the steps of each task, ``{task: p}``, summing to 1."""
        raise NotImplementedError(f"{type(self).__name__} must define probabilities")

    def schedule(self, steps: int) -> np.ndarray:
        """The task of each of ``steps`` steps: ndarray of shape (steps,) of str."""
        raise NotImplementedError(f"{type(self).__name__} must define schedule(steps)")


class CoinFlip(Schedule):
    """The article's coin flip: each step trains ``tasks[0]`` with probability ``p``.

    The article trains task 1 when ``np.random.rand() < 0.5`` and task 2
    otherwise. This draws the same flips from ``np.random.default_rng(seed)``,
    so a schedule can be repeated exactly.

    Parameters
    ----------
    p : float, default 0.5
        Probability that a step trains the first task.
    tasks : sequence of two str, default ("y1", "y2")
    seed : int, default 0

    Examples
    --------
    >>> CoinFlip(seed=0).schedule(4).tolist()
    ['y2', 'y1', 'y1', 'y1']
    """

    def __init__(self, p: float = 0.5, *, tasks: Sequence[str] = TASKS, seed: int = 0) -> None:
        if isinstance(p, bool) or not isinstance(p, int | float) or not np.isfinite(p) or not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
        self.p = float(p)
        self.tasks = task_names(tasks)
        if len(self.tasks) != 2:
            raise ValueError(f"a coin flip chooses between two tasks, got {list(self.tasks)}")
        self.seed = non_negative_int(seed, name="seed")

    @property
    def probabilities(self) -> dict[str, float]:
        """``{first task: p, second task: 1 - p}``."""
        return {self.tasks[0]: self.p, self.tasks[1]: 1.0 - self.p}

    def schedule(self, steps: int) -> np.ndarray:
        """One flip per step: ndarray of shape (steps,) of str."""
        draws = np.random.default_rng(self.seed).random(positive_int(steps, name="steps"))
        return np.where(draws < self.p, self.tasks[0], self.tasks[1])

    def __repr__(self) -> str:
        return f"CoinFlip(p={self.p:g}, tasks={list(self.tasks)}, seed={self.seed})"


class _RandomSampler(Schedule):
    """Draws each step's task independently with fixed ``probabilities`` from data-set sizes."""

    def __init__(self, sizes: Mapping[str, int], *, seed: int = 0) -> None:
        self.sizes = _check_sizes(sizes)
        self.tasks = tuple(self.sizes)
        self.seed = non_negative_int(seed, name="seed")

    @property
    def probabilities(self) -> dict[str, float]:
        """Probability of each task at every step, ``{task: p}``, summing to 1."""
        raise NotImplementedError

    @classmethod
    def from_datasets(cls, datasets: Mapping[str, Mapping[str, Any]], **kwargs: Any) -> _RandomSampler:
        """Build the sampler from the data sets themselves (their sizes)."""
        return cls(dataset_sizes(datasets), **kwargs)

    def schedule(self, steps: int) -> np.ndarray:
        """The task of each of ``steps`` steps, drawn independently.

        Parameters
        ----------
        steps : int

        Returns
        -------
        ndarray of shape (steps,) of str
            Task names, for :meth:`AlternatingTrainer.fit`. The same seed
            gives the same schedule on every call.
        """
        steps = positive_int(steps, name="steps")
        return _draw(self.probabilities, steps, np.random.default_rng(self.seed))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.sizes}, seed={self.seed})"


class TemperatureSampler(_RandomSampler):
    """Temperature sampling: ``p_i ∝ N_i ** (1 / T)``.

    From Arivazhagan et al., "Massively Multilingual Neural Machine
    Translation in the Wild" (arXiv 2019). ``T = 1`` is proportional
    sampling, ``T = 2`` square-root sampling, and ``T → ∞`` approaches
    uniform sampling; the paper found ``T`` around 5 a good compromise.

    Parameters
    ----------
    sizes : dict
        ``{task: N_i}``, each a positive int (see :func:`dataset_sizes`).
    temperature : float, default 5.0
        ``T > 0``. Values below 1 favour large data sets even more than
        proportional sampling.
    seed : int, default 0
        Seeds :meth:`schedule`.

    Examples
    --------
    >>> sampler = TemperatureSampler({"y1": 400, "y2": 100}, temperature=2.0)
    >>> {task: round(p, 4) for task, p in sampler.probabilities.items()}
    {'y1': 0.6667, 'y2': 0.3333}
    """

    def __init__(self, sizes: Mapping[str, int], temperature: float = 5.0, *, seed: int = 0) -> None:
        super().__init__(sizes, seed=seed)
        if isinstance(temperature, bool) or not isinstance(temperature, int | float | np.integer | np.floating):
            raise TypeError(f"temperature must be a number, got {type(temperature).__name__} {temperature!r}")
        if not np.isfinite(temperature) or temperature <= 0:
            raise ValueError(
                f"temperature must be a finite number > 0, got {temperature!r}; "
                "use 1 for proportional sampling, larger values (such as 5) to move towards uniform"
            )
        self.temperature = float(temperature)

    @property
    def probabilities(self) -> dict[str, float]:
        """``{task: N_i ** (1/T) / sum_j N_j ** (1/T)}``."""
        return _power_probabilities(self.sizes, 1.0 / self.temperature)

    def __repr__(self) -> str:
        if type(self) is not TemperatureSampler:  # the subclasses fix the temperature
            return super().__repr__()
        return f"{type(self).__name__}({self.sizes}, temperature={self.temperature:g}, seed={self.seed})"


class ProportionalSampler(TemperatureSampler):
    """Proportional sampling: ``p_i = N_i / sum_j N_j``.

    This is what "one pass over every data set per epoch, in random order"
    amounts to: a task with 20 times the data gets 20 times the steps.

    Parameters
    ----------
    sizes : dict
        ``{task: N_i}``, each a positive int.
    seed : int, default 0

    Examples
    --------
    >>> {task: round(p, 4) for task, p in ProportionalSampler({"y1": 300, "y2": 100}).probabilities.items()}
    {'y1': 0.75, 'y2': 0.25}
    """

    def __init__(self, sizes: Mapping[str, int], *, seed: int = 0) -> None:
        super().__init__(sizes, temperature=1.0, seed=seed)


class SquareRootSampler(TemperatureSampler):
    """Square-root sampling: ``p_i ∝ sqrt(N_i)``, temperature sampling with ``T = 2``.

    Parameters
    ----------
    sizes : dict
        ``{task: N_i}``, each a positive int.
    seed : int, default 0

    Examples
    --------
    >>> {task: round(p, 4) for task, p in SquareRootSampler({"y1": 900, "y2": 100}).probabilities.items()}
    {'y1': 0.75, 'y2': 0.25}
    """

    def __init__(self, sizes: Mapping[str, int], *, seed: int = 0) -> None:
        super().__init__(sizes, temperature=2.0, seed=seed)


class UniformSampler(_RandomSampler):
    """Uniform sampling: every task equally often, whatever its data-set size.

    Parameters
    ----------
    sizes : dict
        ``{task: N_i}``; only the task names matter, but the sizes are
        checked like every sampler's, so samplers are interchangeable.
    seed : int, default 0

    Examples
    --------
    >>> UniformSampler({"y1": 2000, "y2": 100}).probabilities
    {'y1': 0.5, 'y2': 0.5}
    """

    @property
    def probabilities(self) -> dict[str, float]:
        """``{task: 1 / n_tasks}``."""
        return {task: 1.0 / len(self.sizes) for task in self.sizes}


class AnnealedSampler(_RandomSampler):
    """Annealed sampling (Stickland & Murray, ICML 2019).

    Training is split into ``epochs`` equal parts. In epoch ``e = 1..E`` each
    step picks task ``i`` with ``p_i ∝ N_i ** alpha_e``, where::

        alpha_e = 1 - 0.8 * (e - 1) / (E - 1)

    so training starts proportional (``alpha = 1``) and ends close to uniform
    (``alpha = 0.2``). With ``epochs=1``, ``alpha = 1`` throughout.

    Parameters
    ----------
    sizes : dict
        ``{task: N_i}``, each a positive int.
    epochs : int, default 10
        ``E``, the number of parts :meth:`schedule` splits the steps into.
    seed : int, default 0

    Examples
    --------
    >>> sampler = AnnealedSampler({"y1": 2000, "y2": 100}, epochs=5)
    >>> sampler.alphas.tolist()
    [1.0, 0.8, 0.6, 0.4, 0.2]
    >>> round(sampler.probabilities_at(5)["y2"], 3)
    0.355
    """

    def __init__(self, sizes: Mapping[str, int], *, epochs: int = 10, seed: int = 0) -> None:
        super().__init__(sizes, seed=seed)
        if isinstance(epochs, bool) or not isinstance(epochs, int | np.integer):
            raise TypeError(f"epochs must be an int, got {type(epochs).__name__} {epochs!r}")
        if epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {epochs}; the schedule is split into that many parts")
        self.epochs = int(epochs)

    @property
    def alphas(self) -> np.ndarray:
        """The exponent of each epoch, ndarray of shape (epochs,), from 1 down to 0.2."""
        if self.epochs == 1:
            return np.ones(1)
        e = np.arange(1, self.epochs + 1)
        return np.round(1.0 - 0.8 * (e - 1) / (self.epochs - 1), 12)  # rounding: 0.4, not 0.3999...

    def probabilities_at(self, epoch: int) -> dict[str, float]:
        """Task probabilities during epoch ``epoch`` (1-based, 1..epochs)."""
        if isinstance(epoch, bool) or not isinstance(epoch, int | np.integer) or not 1 <= epoch <= self.epochs:
            raise ValueError(f"epoch must be an int from 1 to {self.epochs}, got {epoch!r}")
        return _power_probabilities(self.sizes, float(self.alphas[epoch - 1]))

    @property
    def probabilities(self) -> dict[str, float]:
        """The expected share of steps of each task over the whole run.

        The average of :meth:`probabilities_at` over the epochs (exact when
        the number of steps is a multiple of ``epochs``).
        """
        per_epoch = [self.probabilities_at(e) for e in range(1, self.epochs + 1)]
        return {task: float(np.mean([p[task] for p in per_epoch])) for task in self.sizes}

    def schedule(self, steps: int) -> np.ndarray:
        """The task of each of ``steps`` steps, epoch by epoch.

        The steps are split into ``epochs`` nearly equal parts
        (``np.array_split``); part ``e`` is drawn with
        :meth:`probabilities_at` ``(e)``.

        Returns
        -------
        ndarray of shape (steps,) of str
        """
        steps = positive_int(steps, name="steps")
        if steps < self.epochs:
            raise ValueError(f"steps ({steps}) must be at least epochs ({self.epochs}); ask for more steps or fewer epochs")
        rng = np.random.default_rng(self.seed)
        parts = np.array_split(np.arange(steps), self.epochs)
        return np.concatenate([_draw(self.probabilities_at(e + 1), len(part), rng) for e, part in enumerate(parts)])

    def __repr__(self) -> str:
        return f"AnnealedSampler({self.sizes}, epochs={self.epochs}, seed={self.seed})"


class BlockSchedule(Schedule):
    """Blocks: ``block`` steps of one task, then ``block`` steps of the next, and so on.

    The schedule is built backwards from its end, so the task named
    ``last`` always trains the final, complete block; the first block is
    shorter when ``steps`` is not a multiple of ``block * n_tasks``.

    Parameters
    ----------
    block : int
        ``k``, the number of consecutive steps of one task (>= 1).
    tasks : sequence of str, default ("y1", "y2")
        The tasks, in the order they take turns.
    last : str, optional
        The task of the final block. Default: drawn with ``seed``.
    seed : int, default 0
        Only used to choose ``last`` when it is not given; the schedule is
        otherwise deterministic.

    Examples
    --------
    >>> BlockSchedule(2, last="y2").schedule(6).tolist()
    ['y2', 'y2', 'y1', 'y1', 'y2', 'y2']
    """

    def __init__(self, block: int, *, tasks: Sequence[str] = TASKS, last: str | None = None, seed: int = 0) -> None:
        if isinstance(block, bool) or not isinstance(block, int | np.integer):
            raise TypeError(f"block must be an int (steps per block), got {type(block).__name__} {block!r}")
        if block < 1:
            raise ValueError(f"block must be >= 1, got {block}; use 1 for fine interleaving")
        self.block = int(block)
        self.tasks = task_names(tasks)
        self.seed = non_negative_int(seed, name="seed")
        if last is None:
            last = self.tasks[int(np.random.default_rng(self.seed).integers(len(self.tasks)))]
        if last not in self.tasks:
            raise ValueError(f"last must be one of {list(self.tasks)}, got {last!r}")
        self.last = last

    @property
    def order(self) -> tuple[str, ...]:
        """The tasks in the order their blocks repeat, ending with ``last``."""
        position = self.tasks.index(self.last)
        return self.tasks[position + 1 :] + self.tasks[: position + 1]

    @property
    def probabilities(self) -> dict[str, float]:
        """Long-run share of steps of each task, ``1 / n_tasks`` each."""
        return {task: 1.0 / len(self.tasks) for task in self.tasks}

    def schedule(self, steps: int) -> np.ndarray:
        """The task of each of ``steps`` steps.

        Returns
        -------
        ndarray of shape (steps,) of str
            The last ``block`` entries are ``last``.
        """
        steps = positive_int(steps, name="steps")
        from_end = np.arange(steps)[::-1]  # 0 for the final step
        blocks_from_end = from_end // self.block
        order = np.asarray(self.order)
        return order[(len(order) - 1 - blocks_from_end) % len(order)]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(block={self.block}, tasks={list(self.tasks)}, last={self.last!r})"


class Interleaved(BlockSchedule):
    """Fine interleaving: one step of each task in turn (blocks of 1).

    Parameters
    ----------
    tasks : sequence of str, default ("y1", "y2")
    last : str, optional
        The task of the final step. Default: drawn with ``seed``.
    seed : int, default 0

    Examples
    --------
    >>> Interleaved(last="y1").schedule(4).tolist()
    ['y2', 'y1', 'y2', 'y1']
    """

    def __init__(self, *, tasks: Sequence[str] = TASKS, last: str | None = None, seed: int = 0) -> None:
        super().__init__(1, tasks=tasks, last=last, seed=seed)

    def __repr__(self) -> str:
        return f"Interleaved(tasks={list(self.tasks)}, last={self.last!r})"
