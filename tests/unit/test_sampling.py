"""Task samplers and schedules (mtl_helpers.sampling, chapter 5)."""

from __future__ import annotations

import numpy as np
import pytest

import mtl_helpers
from mtl_helpers.sampling import (
    AnnealedSampler,
    BlockSchedule,
    CoinFlip,
    Interleaved,
    ProportionalSampler,
    Schedule,
    SquareRootSampler,
    TemperatureSampler,
    UniformSampler,
    dataset_sizes,
)

SIZES = {"y1": 2000, "y2": 100}
STEPS = 40_000


def _frequencies(schedule: np.ndarray) -> dict[str, float]:
    return {task: float(np.mean(schedule == task)) for task in ("y1", "y2")}


def _tolerance(p: float, steps: int = STEPS) -> float:
    return 4 * np.sqrt(p * (1 - p) / steps)  # four binomial standard errors


@pytest.mark.parametrize(
    ("sampler", "expected_y2"),
    [
        (ProportionalSampler(SIZES, seed=1), 100 / 2100),
        (UniformSampler(SIZES, seed=1), 0.5),
        (TemperatureSampler(SIZES, 5.0, seed=1), 100 ** 0.2 / (100 ** 0.2 + 2000 ** 0.2)),
        (SquareRootSampler(SIZES, seed=1), 10 / (10 + np.sqrt(2000))),
    ],
    ids=["proportional", "uniform", "temperature", "square-root"],
)
def test_probabilities_follow_the_formula_and_schedules_follow_the_probabilities(sampler, expected_y2) -> None:
    assert sampler.probabilities["y2"] == pytest.approx(expected_y2, rel=1e-12)
    assert sum(sampler.probabilities.values()) == pytest.approx(1.0)
    schedule = sampler.schedule(STEPS)
    assert schedule.shape == (STEPS,)
    assert _frequencies(schedule)["y2"] == pytest.approx(expected_y2, abs=_tolerance(expected_y2))


def test_temperature_one_is_proportional_and_large_temperature_approaches_uniform() -> None:
    assert TemperatureSampler(SIZES, 1.0).probabilities == pytest.approx(ProportionalSampler(SIZES).probabilities)
    assert TemperatureSampler(SIZES, 2.0).probabilities == pytest.approx(SquareRootSampler(SIZES).probabilities)
    assert TemperatureSampler(SIZES, 1e6).probabilities["y2"] == pytest.approx(0.5, abs=1e-5)


def test_huge_sizes_and_small_temperatures_do_not_overflow() -> None:
    probabilities = TemperatureSampler({"y1": 10**9, "y2": 10}, temperature=0.01).probabilities
    assert np.isfinite(list(probabilities.values())).all()
    assert probabilities["y1"] == pytest.approx(1.0)


def test_same_seed_same_schedule_other_seed_other_schedule() -> None:
    first = TemperatureSampler(SIZES, 5.0, seed=3).schedule(500)
    assert np.array_equal(first, TemperatureSampler(SIZES, 5.0, seed=3).schedule(500))
    assert not np.array_equal(first, TemperatureSampler(SIZES, 5.0, seed=4).schedule(500))


def test_annealed_sampler_follows_stickland_and_murray() -> None:
    sampler = AnnealedSampler(SIZES, epochs=5, seed=2)
    assert sampler.alphas == pytest.approx([1.0, 0.8, 0.6, 0.4, 0.2])
    for epoch, alpha in enumerate(sampler.alphas, start=1):
        expected = 100**alpha / (100**alpha + 2000**alpha)
        assert sampler.probabilities_at(epoch)["y2"] == pytest.approx(expected)
    schedule = sampler.schedule(STEPS)
    for epoch, part in enumerate(np.array_split(schedule, 5), start=1):
        p = sampler.probabilities_at(epoch)["y2"]
        assert _frequencies(part)["y2"] == pytest.approx(p, abs=_tolerance(p, part.size))
    assert sampler.probabilities["y2"] == pytest.approx(np.mean([sampler.probabilities_at(e)["y2"] for e in range(1, 6)]))
    assert AnnealedSampler(SIZES, epochs=1).alphas.tolist() == [1.0]


def test_block_schedule_ends_with_the_last_task_in_complete_blocks() -> None:
    schedule = BlockSchedule(3, last="y1").schedule(10)
    assert schedule.tolist() == ["y2", "y1", "y1", "y1", "y2", "y2", "y2", "y1", "y1", "y1"]
    assert schedule[-3:].tolist() == ["y1"] * 3
    assert schedule[-6:-3].tolist() == ["y2"] * 3
    assert schedule[:1].tolist() == ["y2"]  # the partial first block
    assert BlockSchedule(2, last="y2").schedule(8).tolist() == ["y1", "y1", "y2", "y2"] * 2
    assert BlockSchedule(4).probabilities == {"y1": 0.5, "y2": 0.5}


def test_block_schedule_without_last_draws_it_from_the_seed() -> None:
    lasts = {BlockSchedule(5, seed=seed).last for seed in range(20)}
    assert lasts == {"y1", "y2"}
    assert BlockSchedule(5, seed=7).last == BlockSchedule(5, seed=7).last


def test_interleaved_alternates_every_step() -> None:
    assert Interleaved(last="y1").schedule(5).tolist() == ["y1", "y2", "y1", "y2", "y1"]
    assert Interleaved(last="y2").schedule(4).tolist() == ["y1", "y2", "y1", "y2"]


def test_dataset_sizes_and_from_datasets() -> None:
    datasets = mtl_helpers.RelatedTasks(correlation=0.5).sample_separate({"y1": 30, "y2": 7}, seed=0)
    assert dataset_sizes(datasets) == {"y1": 30, "y2": 7}
    sampler = ProportionalSampler.from_datasets(datasets, seed=0)
    assert sampler.probabilities["y2"] == pytest.approx(7 / 37)


def test_schedules_train_with_alternating_trainer() -> None:
    tasks = mtl_helpers.RelatedTasks(correlation=0.5)
    datasets = tasks.sample_separate({"y1": 64, "y2": 16}, seed=0)
    net = mtl_helpers.TwoHeadNet(head_units=1, output_activation="linear", use_bias=True)
    trainer = mtl_helpers.AlternatingTrainer(net)
    schedule = TemperatureSampler(dataset_sizes(datasets), 5.0, seed=0).schedule(20)
    log = trainer.fit(datasets, schedule, batch_size=8)
    assert log.task.tolist() == schedule.tolist()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: TemperatureSampler(SIZES, 0.0), "temperature must be a finite number > 0"),
        (lambda: TemperatureSampler(SIZES, -2.0), "temperature must be a finite number > 0"),
        (lambda: TemperatureSampler(SIZES, float("inf")), "temperature must be a finite number > 0"),
        (lambda: ProportionalSampler({"y1": -5, "y2": 10}), "cannot have a negative number of examples"),
        (lambda: ProportionalSampler({"y1": 0, "y2": 10}), "an empty data set cannot be sampled"),
        (lambda: SquareRootSampler({}), "non-empty dict"),
        (lambda: AnnealedSampler(SIZES, epochs=0), "epochs must be >= 1"),
        (lambda: AnnealedSampler(SIZES, epochs=10).schedule(5), "steps \\(5\\) must be at least epochs \\(10\\)"),
        (lambda: AnnealedSampler(SIZES, epochs=3).probabilities_at(4), "epoch must be an int from 1 to 3"),
        (lambda: BlockSchedule(0), "block must be >= 1"),
        (lambda: BlockSchedule(-3), "block must be >= 1"),
        (lambda: BlockSchedule(2, last="y3"), "last must be one of"),
        (lambda: BlockSchedule(2, tasks=("y1", "y1")), "must be distinct"),
        (lambda: BlockSchedule(2, tasks=()), "tasks is empty"),
        (lambda: UniformSampler(SIZES).schedule(0), "steps must be >= 1"),
        (lambda: UniformSampler(SIZES, seed=-1), "seed must be >= 0"),
        (lambda: dataset_sizes({"y1": {"y1": np.zeros((3, 1))}}), "must be a dict with an 'x' array"),
        (lambda: dataset_sizes({"y1": {"x": np.zeros((0, 10))}}), "an empty data set cannot be sampled"),
    ],
)
def test_bad_arguments_raise_value_errors_that_say_what_to_fix(make, message) -> None:
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(
    "make",
    [
        lambda: ProportionalSampler({"y1": 2.5, "y2": 10}),
        lambda: TemperatureSampler(SIZES, "5"),
        lambda: BlockSchedule(2.0),
        lambda: UniformSampler(SIZES).schedule(10.0),
        lambda: BlockSchedule(2, tasks="y1"),
    ],
)
def test_wrong_types_raise_type_errors(make) -> None:
    with pytest.raises(TypeError):
        make()


def test_reprs_name_the_settings() -> None:
    assert repr(TemperatureSampler(SIZES, 5.0, seed=2)) == "TemperatureSampler({'y1': 2000, 'y2': 100}, temperature=5, seed=2)"
    assert repr(ProportionalSampler(SIZES)) == "ProportionalSampler({'y1': 2000, 'y2': 100}, seed=0)"
    assert repr(AnnealedSampler(SIZES, epochs=4)) == "AnnealedSampler({'y1': 2000, 'y2': 100}, epochs=4, seed=0)"
    assert repr(BlockSchedule(3, last="y1")) == "BlockSchedule(block=3, tasks=['y1', 'y2'], last='y1')"
    assert repr(Interleaved(last="y2")) == "Interleaved(tasks=['y1', 'y2'], last='y2')"


def test_coin_flip_is_seeded_and_matches_the_article_rule() -> None:
    schedule = CoinFlip(seed=3).schedule(200)
    np.testing.assert_array_equal(schedule, CoinFlip(seed=3).schedule(200))
    assert not np.array_equal(schedule, CoinFlip(seed=4).schedule(200))
    draws = np.random.default_rng(3).random(200)
    assert schedule.tolist() == ["y1" if draw < 0.5 else "y2" for draw in draws]
    assert CoinFlip(0.8).probabilities == {"y1": 0.8, "y2": pytest.approx(0.2)}


def test_coin_flip_probability_and_task_names() -> None:
    assert set(CoinFlip(1.0).schedule(50)) == {"y1"}
    assert set(CoinFlip(0.0).schedule(50)) == {"y2"}
    assert int(np.sum(CoinFlip(0.8).schedule(2000) == "y1")) in range(1500, 1700)
    assert set(CoinFlip(tasks=("left", "right")).schedule(20)) == {"left", "right"}


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda: CoinFlip(1.5), ValueError, "probability in"),
        (lambda: CoinFlip(seed=-1), ValueError, "seed must be >= 0"),
        (lambda: CoinFlip(tasks=("y1", "y2", "y3")), ValueError, "two tasks"),
        (lambda: CoinFlip().schedule(0), ValueError, "steps must be >= 1"),
        (lambda: CoinFlip().schedule(2.5), TypeError, "steps must be an int"),
    ],
)
def test_coin_flip_rejects_bad_arguments(make, error: type, words: str) -> None:
    with pytest.raises(error, match=words):
        make()


def test_every_schedule_is_a_schedule() -> None:
    sizes = {"y1": 100, "y2": 10}
    for schedule in (CoinFlip(), UniformSampler(sizes), ProportionalSampler(sizes), BlockSchedule(3), Interleaved()):
        assert isinstance(schedule, Schedule)
        assert sum(schedule.probabilities.values()) == pytest.approx(1.0)
        assert schedule.schedule(7).shape == (7,)
