"""Joint versus alternating training on the same data (chapter 4).

Chapter 4 compares the article's two ways of training the two-task network
when every input is labelled for both tasks:

* **joint**: ``steps`` updates of :class:`~mtl_helpers.JointTrainer`, each on
  one mini-batch of ``batch_size`` rows and the sum of both task losses;
* **alternating**: ``2 * steps`` updates of
  :class:`~mtl_helpers.AlternatingTrainer`, ``steps`` for each task, each on
  one mini-batch of ``batch_size`` rows of the *same* data set labelled for
  that task only.

So both methods see the same rows, the same number of examples per task and
the same number of gradient evaluations per task; each head gets ``steps``
updates either way. What differs is what the methods are: alternating training
updates the shared layer twice as often (once per task step, with one Adam
optimizer per task), joint training once per pair of task gradients.

:func:`compare_alternating_joint` runs that comparison over several seeds and
returns the per-seed held-out errors, ready for
:func:`mtl_helpers.plot_seed_spread`; :func:`describe_paired_difference` turns
two such lists into the sentence the chapter prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from mtl_helpers._validation import positive_int
from mtl_helpers.data import RelatedTasks
from mtl_helpers.models import STRUCTURED_NET, TwoHeadNet
from mtl_helpers.runtime import progress
from mtl_helpers.stats import check_seeds, paired_difference
from mtl_helpers.training import AlternatingTrainer, JointTrainer, article_adam

__all__ = ["alternating_schedule", "compare_alternating_joint", "describe_paired_difference"]

ScheduleKind = Literal["balanced", "coin"]


def alternating_schedule(
    steps_per_task: int, *, seed: int, kind: ScheduleKind = "balanced", tasks: Sequence[str] = ("y1", "y2")
) -> np.ndarray:
    """The task of each step of an alternating run over ``tasks``.

    Parameters
    ----------
    steps_per_task : int
        ``S``; the schedule has ``S * len(tasks)`` steps.
    seed : int
        Seeds the random order.
    kind : {"balanced", "coin"}, default "balanced"
        ``"balanced"``: a random order with exactly ``S`` steps of each task
        (a coin flip forced to come out even). ``"coin"``: every step draws
        its task uniformly at random, like the article's
        ``np.random.rand() < 0.5``, so the counts are only equal on average.
    tasks : sequence of str, default ("y1", "y2")

    Returns
    -------
    ndarray of shape (S * len(tasks),) of str
        Task names, for :meth:`mtl_helpers.AlternatingTrainer.fit`.

    Examples
    --------
    >>> schedule = alternating_schedule(3, seed=0)
    >>> sorted(schedule.tolist())
    ['y1', 'y1', 'y1', 'y2', 'y2', 'y2']
    """
    steps_per_task = positive_int(steps_per_task, name="steps_per_task")
    seed = positive_int(seed, name="seed", minimum=0)
    tasks = np.asarray(list(tasks))
    if tasks.size < 1 or len(set(tasks.tolist())) != tasks.size:
        raise ValueError(f"tasks must be distinct task names such as ('y1', 'y2'), got {tasks.tolist()}")
    rng = np.random.default_rng(seed)
    if kind == "balanced":
        return rng.permutation(np.repeat(tasks, steps_per_task))
    if kind == "coin":
        return tasks[rng.integers(tasks.size, size=steps_per_task * tasks.size)]
    raise ValueError(f"kind must be 'balanced' or 'coin', got {kind!r}")


def compare_alternating_joint(
    tasks: RelatedTasks,
    *,
    n_train: int,
    steps: int,
    seeds: Sequence[int] = range(5),
    batch_size: int = 32,
    learning_rate: float = 0.001,
    shared_units: int = 20,
    n_test: int = 2000,
    test_seed: int = 10_000,
    schedule: ScheduleKind = "balanced",
) -> dict[str, dict[str, list[float]]]:
    """Final held-out MSE of alternating and joint training, seed by seed.

    For each seed: draw ``n_train`` rows labelled for both tasks
    (``tasks.sample(n_train, seed=seed)``), build two identical networks
    (``TwoHeadNet(..., head_units=1, output_activation="linear",
    use_bias=True, seed=seed)``), then train one jointly for ``steps`` steps
    and the other alternately for ``steps`` steps of each task (see the
    module docstring for why this is a fair match). Mini-batches of
    ``batch_size`` rows are drawn with replacement, seeded by ``seed``. Both
    networks are scored on one held-out set shared by all seeds.

    Parameters
    ----------
    tasks : RelatedTasks
    n_train : int
        Training rows per seed.
    steps : int
        Gradient steps per task: joint training makes ``steps`` updates,
        alternating training ``2 * steps`` (``steps`` for each task).
    seeds : sequence of int, default range(5)
        At least 2 distinct seeds; each seeds the data, the initial weights
        and the mini-batches.
    batch_size : int, default 32
    learning_rate : float, default 0.001
        Of every Adam optimizer (:func:`mtl_helpers.article_adam`).
    shared_units : int, default 20
    n_test : int, default 2000
        Size of the held-out set.
    test_seed : int, default 10000
        Seed of the held-out set; must not be one of ``seeds``.
    schedule : {"balanced", "coin"}, default "balanced"
        Order of the alternating steps, see :func:`alternating_schedule`.
        ``"coin"`` gives each task ``steps`` steps only on average.

    Returns
    -------
    dict
        ``{"alternating": {"y1": [mse per seed], "y2": [...]},
        "joint": {"y1": [...], "y2": [...]}}``, lists in the order of
        ``seeds``; ready for :func:`mtl_helpers.plot_seed_spread` and
        :func:`mtl_helpers.paired_difference`.

    Examples
    --------
    >>> results = compare_alternating_joint(RelatedTasks(0.5), n_train=64, steps=20, seeds=[0, 1])
    >>> {method: {task: len(v) for task, v in r.items()} for method, r in results.items()}
    {'alternating': {'y1': 2, 'y2': 2}, 'joint': {'y1': 2, 'y2': 2}}
    """
    if not isinstance(tasks, RelatedTasks):
        raise TypeError(f"tasks must be a mtl_helpers.RelatedTasks, got {type(tasks).__name__}")
    n_train = positive_int(n_train, name="n_train")
    steps = positive_int(steps, name="steps")
    seeds = check_seeds(seeds)
    batch_size = positive_int(batch_size, name="batch_size")
    shared_units = positive_int(shared_units, name="shared_units")
    test_seed = positive_int(test_seed, name="test_seed", minimum=0)
    if test_seed in seeds:
        raise ValueError(f"test_seed {test_seed} is also a training seed; pick a test_seed outside {seeds}")
    article_adam(learning_rate)  # checks the learning rate once, before any training

    def make_optimizer() -> object:
        return article_adam(learning_rate)

    def make_net(seed: int) -> TwoHeadNet:
        return TwoHeadNet(tasks.in_dim, shared_units, seed=seed, **STRUCTURED_NET)

    test = tasks.sample(positive_int(n_test, name="n_test"), seed=test_seed)
    results: dict[str, dict[str, list[float]]] = {
        method: {task: [] for task in tasks.tasks} for method in ("alternating", "joint")
    }
    for seed in progress(seeds, description="seeds"):
        data = tasks.sample(n_train, seed=seed)
        per_task = {task: {"x": data["x"], task: data[task]} for task in tasks.tasks}
        order = alternating_schedule(steps, seed=seed, kind=schedule, tasks=tasks.tasks)
        logs = {
            "alternating": AlternatingTrainer(make_net(seed), make_optimizer).fit(
                per_task, list(order), batch_size=batch_size, seed=seed, eval_data=test
            ),
            "joint": JointTrainer(make_net(seed), make_optimizer=make_optimizer).fit(
                data, steps, batch_size=batch_size, seed=seed, eval_data=test
            ),
        }
        for method, log in logs.items():
            for task, mse in log.final_mse().items():
                results[method][task].append(mse)
    return results


def describe_paired_difference(
    first: Sequence[float], second: Sequence[float], *, names: tuple[str, str] = ("joint", "alternating")
) -> str:
    """One sentence on ``first - second`` over seeds, and whether it beats the spread.

    The difference counts as larger than the spread when the absolute mean
    of the per-seed differences exceeds their standard deviation.

    Parameters
    ----------
    first, second : sequence of float, length n_seeds >= 2
        Per-seed results of two methods, same seeds in the same order (for
        example held-out MSEs; lower is better).
    names : tuple of str, default ("joint", "alternating")

    Returns
    -------
    str

    Examples
    --------
    >>> describe_paired_difference([1.0, 1.1, 0.9], [2.0, 2.2, 2.1])
    'joint minus alternating: -1.1 ± 0.1 (n=3); joint is lower in 3 of 3 seeds; the mean difference is larger than its spread'
    """
    if not (isinstance(names, tuple) and len(names) == 2 and all(isinstance(name, str) for name in names)):
        raise TypeError(f"names must be a tuple of two strings, got {names!r}")
    difference = paired_difference(first, second)
    lower = int(np.sum(np.asarray(first, dtype=float) < np.asarray(second, dtype=float)))
    larger = abs(difference.mean) > difference.std
    verdict = "larger than its spread" if larger else "smaller than its spread: no clear difference"
    return (
        f"{names[0]} minus {names[1]}: {difference}; {names[0]} is lower in {lower} of {difference.n} seeds; "
        f"the mean difference is {verdict}"
    )

