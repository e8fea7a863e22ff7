"""mtl_helpers.joint: the alternating-versus-joint comparison of chapter 4."""

from __future__ import annotations

import numpy as np
import pytest

from mtl_helpers import AlternatingTrainer, JointTrainer, RelatedTasks, TwoHeadNet, article_adam
from mtl_helpers.joint import alternating_schedule, compare_alternating_joint, describe_paired_difference


def test_balanced_schedule_gives_each_task_exactly_its_steps() -> None:
    schedule = alternating_schedule(50, seed=3)
    assert schedule.shape == (100,)
    assert {task: int(np.sum(schedule == task)) for task in ("y1", "y2")} == {"y1": 50, "y2": 50}
    assert schedule[:10].tolist() != ["y1"] * 5 + ["y2"] * 5  # shuffled, not in blocks
    np.testing.assert_array_equal(schedule, alternating_schedule(50, seed=3))
    assert not np.array_equal(schedule, alternating_schedule(50, seed=4))


def test_coin_schedule_is_balanced_only_on_average() -> None:
    schedule = alternating_schedule(2000, seed=0, kind="coin")
    assert schedule.shape == (4000,)
    share = np.mean(schedule == "y1")
    assert 0.45 < share < 0.55 and share != 0.5


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"steps_per_task": 0, "seed": 0}, ValueError, "steps_per_task"),
        ({"steps_per_task": 5, "seed": -1}, ValueError, "seed"),
        ({"steps_per_task": 5, "seed": 0, "kind": "random"}, ValueError, "'balanced' or 'coin'"),
        ({"steps_per_task": 5, "seed": 0, "tasks": ("y1", "y1")}, ValueError, "distinct"),
    ],
)
def test_schedule_rejects_bad_arguments(kwargs: dict, error: type, words: str) -> None:
    with pytest.raises(error, match=words):
        alternating_schedule(**kwargs)


@pytest.fixture(scope="module")
def small_comparison() -> dict:
    tasks = RelatedTasks(correlation=0.5, seed=0)
    return compare_alternating_joint(tasks, n_train=64, steps=30, seeds=[0, 1], learning_rate=0.01, n_test=200)


def test_comparison_returns_one_error_per_seed_task_and_method(small_comparison: dict) -> None:
    assert list(small_comparison) == ["alternating", "joint"]
    for per_task in small_comparison.values():
        assert list(per_task) == ["y1", "y2"]
        for values in per_task.values():
            assert len(values) == 2
            assert all(np.isfinite(v) and v > 0 for v in values)


def test_comparison_is_the_documented_recipe(small_comparison: dict) -> None:
    """Seed 1 rebuilt by hand: same data, initial weights, schedule and mini-batches."""
    tasks = RelatedTasks(correlation=0.5, seed=0)
    data, test = tasks.sample(64, seed=1), tasks.sample(200, seed=10_000)

    def net() -> TwoHeadNet:
        return TwoHeadNet(10, 20, 1, seed=1, output_activation="linear", use_bias=True)

    def adam() -> object:
        return article_adam(0.01)

    joint = JointTrainer(net(), make_optimizer=adam).fit(data, 30, batch_size=32, seed=1, eval_data=test)
    per_task = {task: {"x": data["x"], task: data[task]} for task in ("y1", "y2")}
    schedule = list(alternating_schedule(30, seed=1))
    alternating = AlternatingTrainer(net(), adam).fit(per_task, schedule, batch_size=32, seed=1, eval_data=test)
    for task in ("y1", "y2"):
        assert small_comparison["joint"][task][1] == pytest.approx(joint.final_mse()[task], rel=1e-6)
        assert small_comparison["alternating"][task][1] == pytest.approx(alternating.final_mse()[task], rel=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"seeds": [0]}, ValueError, "at least 2 seeds"),
        ({"seeds": [0, 0]}, ValueError, "distinct"),
        ({"seeds": [0, 1], "test_seed": 1}, ValueError, "test_seed"),
        ({"seeds": [0, 1], "learning_rate": 0.0}, ValueError, "learning_rate"),
        ({"seeds": [0, 1], "schedule": "blocks"}, ValueError, "'balanced' or 'coin'"),
    ],
)
def test_comparison_rejects_bad_arguments(kwargs: dict, error: type, words: str) -> None:
    with pytest.raises(error, match=words):
        compare_alternating_joint(RelatedTasks(0.5), n_train=16, steps=2, **kwargs)


def test_comparison_needs_related_tasks() -> None:
    with pytest.raises(TypeError, match="RelatedTasks"):
        compare_alternating_joint({"x": np.zeros((4, 10))}, n_train=16, steps=2)


def test_description_of_a_clear_difference() -> None:
    text = describe_paired_difference([1.0, 1.1, 0.9], [2.0, 2.2, 2.1])
    assert text.startswith("joint minus alternating: -1.1 ± 0.1 (n=3)")
    assert "lower in 3 of 3 seeds" in text and "larger than its spread" in text


def test_description_of_no_difference() -> None:
    text = describe_paired_difference([1.0, 2.0, 1.5, 1.2], [1.1, 1.8, 1.6, 1.1], names=("A", "B"))
    assert text.startswith("A minus B:")
    assert "A is lower in 2 of 4 seeds" in text and "no clear difference" in text


def test_description_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="one value per seed"):
        describe_paired_difference([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="two strings"):
        describe_paired_difference([1.0, 2.0], [1.0, 2.0], names=["a", "b"])
