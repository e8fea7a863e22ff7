"""mtl_helpers.inspection: weight snapshots, Adam's state, steps per task, block drift, shared readout."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from mtl_helpers import (
    STRUCTURED_NET,
    AlternatingTrainer,
    BlockSchedule,
    CoinFlip,
    RelatedTasks,
    TrainingLog,
    TwoHeadNet,
    article_adam,
    tf,
)
from mtl_helpers.inspection import (
    adam_slots,
    final_block_drift,
    shared_readout_r2,
    steps_of_task,
    weight_changes,
)
from mtl_helpers.plots import plot_task_curves


def _data(n: int = 40, seed: int = 0) -> tuple[dict, dict]:
    tasks = RelatedTasks(correlation=0.9, seed=seed)
    return tasks.sample_separate({"y1": n, "y2": n}, seed=seed), tasks.sample(200, seed=seed + 10_000)


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


# ---------------------------------------------------------------- steps_of_task, curves, drift, readout


def test_steps_of_task_counts_up_to_each_evaluation() -> None:
    log = TrainingLog(loss=np.zeros(6), task=np.array(["y1", "y2", "y1", "y1", "y2", "y2"]),
                      eval_step=np.array([0, 2, 4, 6]), eval_metric={"y1": np.ones(4)})
    np.testing.assert_array_equal(steps_of_task(log, "y1"), [0, 1, 3, 3])
    np.testing.assert_array_equal(steps_of_task(log, "y2"), [0, 1, 1, 3])
    with pytest.raises(TypeError):
        steps_of_task({"loss": []}, "y1")


def test_plot_task_curves_draws_one_panel_per_task() -> None:
    datasets, held_out = _data()
    schedule = CoinFlip(seed=0).schedule(40)
    log = AlternatingTrainer(TwoHeadNet(**STRUCTURED_NET)).fit(datasets, schedule, eval_data=held_out, eval_every=10)
    single = {task: AlternatingTrainer(TwoHeadNet(**STRUCTURED_NET)).fit(
        datasets, [task] * 10, eval_data=held_out, eval_every=5) for task in ("y1", "y2")}
    axes = plot_task_curves(log, single)
    assert [ax.get_xlabel() for ax in axes] == ["steps of task y1", "steps of task y2"]
    assert len(axes[0].get_lines()) == 2
    with pytest.raises(ValueError, match="one Axes per task"):
        plot_task_curves(log, single, axes=[axes[0]])
    plt.close("all")


def test_final_block_drift() -> None:
    schedule = BlockSchedule(4, last="y1").schedule(12)
    log = TrainingLog(
        loss=np.zeros(12), task=schedule, eval_step=np.array([0, 4, 8, 12]),
        eval_metric={"y1": np.array([1.0, 0.8, 0.9, 0.5]), "y2": np.array([1.0, 1.1, 0.6, 0.9])},
    )
    drift = final_block_drift(log, 4)
    assert drift == {"task": "y2", "change": pytest.approx(0.3), "ratio": pytest.approx(1.5)}
    with pytest.raises(ValueError, match="pass the schedule's block length"):
        final_block_drift(log, 8)
    with pytest.raises(ValueError, match="no evaluation at step 9"):
        final_block_drift(log, 3)


def test_shared_readout_r2() -> None:
    test_data = RelatedTasks(correlation=0.5, seed=0).sample(200, seed=99)
    net = TwoHeadNet(seed=0, **STRUCTURED_NET)
    scores = shared_readout_r2(net, test_data)
    assert set(scores) == {"y1", "y2"}
    assert all(score <= 1.0 for score in scores.values())
    # Targets that are an exact linear function of the features are read out perfectly.
    features = net.shared_features(test_data["x"]).numpy()
    exact = {**test_data, "y1": features @ np.arange(20.0)[:, None] + 3.0}
    assert shared_readout_r2(net, exact, ridge=0.0)["y1"] == pytest.approx(1.0, abs=1e-4)
    with pytest.raises(ValueError, match="at least 4 rows"):
        shared_readout_r2(net, {key: value[:3] for key, value in test_data.items()})
