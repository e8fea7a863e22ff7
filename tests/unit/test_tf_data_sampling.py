"""The tf.data way to sample tasks (chapter 5) draws what the book's samplers draw.

``tf.data.Dataset.sample_from_datasets(weights=sampler.probabilities)`` must give
each task the share of steps that the sampler's probabilities and its
``schedule`` give it (within sampling noise), and
``tf.data.Dataset.choose_from_datasets`` fed with a schedule's task indices must
replay that schedule exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

from mtl_helpers import (
    AnnealedSampler,
    BlockSchedule,
    CoinFlip,
    Interleaved,
    ProportionalSampler,
    SquareRootSampler,
    TemperatureSampler,
    UniformSampler,
    tf,
)

TASKS = ("y1", "y2")
SIZES = {"y1": 2000, "y2": 100}
DRAWS = 20_000
#: How many standard errors a share may stray from its probability: a false
#: alarm at 4.5 standard errors has probability below 1e-5 per comparison.
TOLERANCE = 4.5

SAMPLERS = {
    "proportional": ProportionalSampler(SIZES, seed=0),
    "uniform": UniformSampler(SIZES, seed=0),
    "temperature T=5": TemperatureSampler(SIZES, temperature=5.0, seed=0),
    "square root": SquareRootSampler(SIZES, seed=0),
    "annealed": AnnealedSampler(SIZES, epochs=10, seed=0),
    "coin flip p=0.3": CoinFlip(p=0.3, seed=0),
}


def _per_task() -> list[tf.data.Dataset]:
    """One endless dataset per task that yields the task's name, in TASKS order."""
    return [tf.data.Dataset.from_tensors(task).repeat() for task in TASKS]


def _drawn(dataset: tf.data.Dataset, draws: int) -> np.ndarray:
    names = next(iter(dataset.take(draws).batch(draws))).numpy()
    return np.array([name.decode() for name in names])


def _sample(probabilities: dict[str, float], *, seed: int) -> np.ndarray:
    weights = [probabilities[task] for task in TASKS]
    return _drawn(tf.data.Dataset.sample_from_datasets(_per_task(), weights=weights, seed=seed), DRAWS)


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_sample_from_datasets_draws_the_samplers_proportions(name: str) -> None:
    sampler = SAMPLERS[name]
    p = sampler.probabilities["y2"]
    standard_error = np.sqrt(p * (1 - p) / DRAWS)
    tf_share = np.mean(_sample(sampler.probabilities, seed=1) == "y2")
    book_share = np.mean(sampler.schedule(DRAWS) == "y2")
    assert abs(tf_share - p) < TOLERANCE * standard_error, (tf_share, p)
    assert abs(book_share - p) < TOLERANCE * standard_error, (book_share, p)
    # the two ways agree with each other (the difference of two independent shares)
    assert abs(tf_share - book_share) < TOLERANCE * np.sqrt(2) * standard_error


def test_a_wrong_weighting_would_be_caught() -> None:
    """The tolerance is tight enough to tell proportional from square-root sampling."""
    proportional, square_root = SAMPLERS["proportional"], SAMPLERS["square root"]
    p = proportional.probabilities["y2"]
    share = np.mean(_sample(square_root.probabilities, seed=1) == "y2")
    assert abs(share - p) > TOLERANCE * np.sqrt(p * (1 - p) / DRAWS)


def test_sample_from_datasets_is_reproducible_with_a_seed() -> None:
    probabilities = SAMPLERS["temperature T=5"].probabilities
    first, again = _sample(probabilities, seed=3), _sample(probabilities, seed=3)
    assert np.array_equal(first, again)


@pytest.mark.parametrize(
    "schedule",
    [
        SAMPLERS["temperature T=5"],
        SAMPLERS["annealed"],
        BlockSchedule(250, last="y1"),
        Interleaved(last="y2"),
    ],
    ids=["temperature", "annealed", "blocks", "interleaved"],
)
def test_choose_from_datasets_replays_a_schedule(schedule) -> None:
    tasks = schedule.schedule(2000)
    choices = tf.data.Dataset.from_tensor_slices(np.array([TASKS.index(task) for task in tasks], dtype=np.int64))
    replayed = _drawn(tf.data.Dataset.choose_from_datasets(_per_task(), choices), len(tasks))
    assert np.array_equal(replayed, tasks)
