"""Chapter 3's helpers: coin flips, weight snapshots, Adam's state and the seed comparison."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from mtl_helpers import STRUCTURED_NET, AlternatingTrainer, RelatedTasks, TrainingLog, TwoHeadNet, article_adam, tf
from mtl_helpers.alternating import (
    adam_slots,
    coin_flip_schedule,
    compare_with_single_task,
    plot_task_curves,
    steps_of_task,
    weight_changes,
)


def _data(n: int = 40, seed: int = 0) -> tuple[dict, dict]:
    tasks = RelatedTasks(correlation=0.9, seed=seed)
    return tasks.sample_separate({"y1": n, "y2": n}, seed=seed), tasks.sample(200, seed=seed + 10_000)


# ---------------------------------------------------------------- coin_flip_schedule


def test_coin_flip_is_seeded_and_matches_the_article_rule() -> None:
    schedule = coin_flip_schedule(200, seed=3)
    assert schedule == coin_flip_schedule(200, seed=3)
    assert schedule != coin_flip_schedule(200, seed=4)
    draws = np.random.default_rng(3).random(200)
    assert schedule == ["y1" if draw < 0.5 else "y2" for draw in draws]
    assert set(schedule) == {"y1", "y2"}


def test_coin_flip_probability() -> None:
    assert set(coin_flip_schedule(50, seed=0, p_y1=1.0)) == {"y1"}
    assert set(coin_flip_schedule(50, seed=0, p_y1=0.0)) == {"y2"}
    assert coin_flip_schedule(2000, seed=0, p_y1=0.8).count("y1") in range(1500, 1700)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"steps": 0, "seed": 0}, ValueError), ({"steps": 5, "seed": -1}, ValueError),
     ({"steps": 5, "seed": 0, "p_y1": 1.5}, ValueError), ({"steps": 2.5, "seed": 0}, TypeError)],
)
def test_coin_flip_rejects_bad_arguments(kwargs: dict, error: type) -> None:
    steps = kwargs.pop("steps")
    with pytest.raises(error):
        coin_flip_schedule(steps, **kwargs)


# ---------------------------------------------------------------- weight_changes


def test_weight_changes_is_exactly_zero_for_untouched_weights() -> None:
    net = TwoHeadNet(seed=0)
    trainer = AlternatingTrainer(net)
    before = net.get_weights()
    trainer.step("y1", RelatedTasks(0.5).sample(8, seed=0) | {"y1": np.ones((8, 20), "float32")})
    changes = weight_changes(before, net.get_weights())
    assert changes["y2"] == 0.0
    assert changes["shared"] > 0 and changes["y1"] > 0


def test_weight_changes_checks_its_inputs() -> None:
    with pytest.raises(ValueError, match="same keys"):
        weight_changes({"a": np.zeros(2)}, {"b": np.zeros(2)})
    with pytest.raises(ValueError, match="shape"):
        weight_changes({"a": np.zeros(2)}, {"a": np.zeros(3)})
    with pytest.raises(TypeError, match="dict of arrays"):
        weight_changes([np.zeros(2)], {"a": np.zeros(2)})


# ---------------------------------------------------------------- adam_slots


def test_adam_slots_counts_each_optimizers_own_steps() -> None:
    net = TwoHeadNet(**STRUCTURED_NET, seed=0)
    trainer = AlternatingTrainer(net)
    datasets, _ = _data()
    batch = {"x": datasets["y1"]["x"][:8], "y1": datasets["y1"]["y1"][:8]}
    fresh = adam_slots(trainer.optimizers["y1"], net.shared)
    assert fresh["iterations"] == 0 and not fresh["m"].any() and fresh["m"].shape == (10, 20)
    for _ in range(3):
        trainer.step("y1", batch)
    y1, y2 = adam_slots(trainer.optimizers["y1"], net.shared), adam_slots(trainer.optimizers["y2"], net.shared)
    assert (y1["iterations"], y2["iterations"]) == (3, 0)
    assert y1["m"].any() and np.all(y1["v"] >= 0) and not y2["m"].any()


def test_adam_slots_first_moment_after_one_step() -> None:
    net = TwoHeadNet(seed=0)
    trainer = AlternatingTrainer(net)
    batch = {"x": np.ones((4, 10), "float32"), "y2": np.ones((4, 20), "float32")}
    with tf.GradientTape() as tape:
        loss = net.losses(batch)["y2"]
    gradient = tape.gradient(loss, net.heads["y2"]).numpy()
    trainer.step("y2", batch)
    slots = adam_slots(trainer.optimizers["y2"], net.heads["y2"])
    np.testing.assert_allclose(slots["m"], 0.1 * gradient, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(slots["v"], 0.001 * gradient**2, rtol=1e-4, atol=1e-9)


def test_adam_slots_rejects_what_it_cannot_read() -> None:
    net = TwoHeadNet(seed=0)
    trainer = AlternatingTrainer(net)
    with pytest.raises(ValueError, match="does not update"):
        adam_slots(trainer.optimizers["y1"], net.heads["y2"])
    with pytest.raises(TypeError, match="Adam"):
        adam_slots(tf.keras.optimizers.SGD(), net.shared)
    with pytest.raises(TypeError, match=r"tf\.Variable"):
        adam_slots(trainer.optimizers["y1"], net.shared.numpy())
    with pytest.raises(ValueError, match="built"):
        adam_slots(article_adam(), net.shared)


# ---------------------------------------------------------------- steps_of_task and the comparison


def test_steps_of_task_counts_up_to_each_evaluation() -> None:
    log = TrainingLog(loss=np.zeros(6), task=np.array(["y1", "y2", "y1", "y1", "y2", "y2"]),
                      eval_step=np.array([0, 2, 4, 6]), eval_mse={"y1": np.ones(4)})
    np.testing.assert_array_equal(steps_of_task(log, "y1"), [0, 1, 3, 3])
    np.testing.assert_array_equal(steps_of_task(log, "y2"), [0, 1, 1, 3])
    with pytest.raises(TypeError):
        steps_of_task({"loss": []}, "y1")


def test_compare_with_single_task_reproduces_a_run_by_hand() -> None:
    results = compare_with_single_task(0.9, seeds=[0, 1], n_per_task=30, steps=80, eval_size=100)
    assert set(results) == {"alternating", "single task"}
    assert all(len(values) == 2 for per_task in results.values() for values in per_task.values())
    tasks = RelatedTasks(correlation=0.9, seed=1)
    datasets = tasks.sample_separate({"y1": 30, "y2": 30}, seed=1)
    held_out = tasks.sample(100, seed=10_001)
    schedule = coin_flip_schedule(80, seed=1)

    def adam() -> tf.keras.optimizers.Adam:
        return article_adam(0.01)

    trainer = AlternatingTrainer(TwoHeadNet(**STRUCTURED_NET, seed=1), adam)
    alternating = trainer.fit(datasets, schedule, seed=1, eval_data=held_out).final_mse()
    alone = AlternatingTrainer(TwoHeadNet(**STRUCTURED_NET, seed=1), adam).fit(
        datasets, ["y2"] * schedule.count("y2"), seed=1, eval_data=held_out).final_mse()["y2"]
    np.testing.assert_allclose(results["alternating"]["y1"][1], alternating["y1"], rtol=1e-5)
    np.testing.assert_allclose(results["single task"]["y2"][1], alone, rtol=1e-5)


def test_compare_with_single_task_needs_seeds() -> None:
    with pytest.raises(ValueError, match="seeds is empty"):
        compare_with_single_task(0.5, seeds=[])


def test_plot_task_curves_draws_one_panel_per_task() -> None:
    datasets, held_out = _data()
    schedule = coin_flip_schedule(40, seed=0)
    log = AlternatingTrainer(TwoHeadNet(**STRUCTURED_NET)).fit(datasets, schedule, eval_data=held_out, eval_every=10)
    single = {task: AlternatingTrainer(TwoHeadNet(**STRUCTURED_NET)).fit(
        datasets, [task] * 10, eval_data=held_out, eval_every=5) for task in ("y1", "y2")}
    axes = plot_task_curves(log, single)
    assert [ax.get_xlabel() for ax in axes] == ["steps of task y1", "steps of task y2"]
    assert len(axes[0].get_lines()) == 2
    with pytest.raises(ValueError, match="one Axes per task"):
        plot_task_curves(log, single, axes=[axes[0]])
    plt.close("all")
