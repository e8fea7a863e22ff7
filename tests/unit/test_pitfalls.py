"""Chapter 5's experiments (mtl_helpers.pitfalls)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

import mtl_helpers
from mtl_helpers import pitfalls
from mtl_helpers.sampling import BlockSchedule, ProportionalSampler, UniformSampler
from mtl_helpers.training import TrainingLog

TASKS = mtl_helpers.RelatedTasks(correlation=0.5, seed=0)


@pytest.fixture(scope="module")
def test_data() -> dict[str, np.ndarray]:
    return TASKS.sample(200, seed=99)


def test_restarted_lab_matches_fresh_objects(test_data) -> None:
    datasets = TASKS.sample_separate({"y1": 100, "y2": 40}, seed=1)
    schedule = ProportionalSampler({"y1": 100, "y2": 40}, seed=1).schedule(30)
    lab = pitfalls.PitfallLab(learning_rate=0.01)
    lab.alternating(datasets, schedule, seed=5, eval_data=test_data)  # leaves optimizer state behind
    again = lab.alternating(datasets, schedule, seed=1, eval_data=test_data)
    fresh = mtl_helpers.AlternatingTrainer(
        mtl_helpers.TwoHeadNet(seed=1, **mtl_helpers.STRUCTURED_NET), make_optimizer=lambda: mtl_helpers.article_adam(0.01)
    ).fit(datasets, schedule, seed=1, eval_data=test_data)
    np.testing.assert_array_equal(again.loss, fresh.loss)
    assert lab.traced == ["alternating"]


def test_restart_resets_learned_loss_weights(test_data) -> None:
    lab = pitfalls.PitfallLab()
    data = TASKS.sample(64, seed=2)
    first = lab.joint(data, 20, seed=0, eval_data=test_data, uncertainty=True)
    second = lab.joint(data, 20, seed=0, eval_data=test_data, uncertainty=True)
    np.testing.assert_array_equal(first.weights["y1"], second.weights["y1"])
    weighted = lab.joint(data, 5, seed=0, loss_weights={"y1": 0.5, "y2": 2.0})
    assert weighted.weights["y2"] == pytest.approx(np.full(5, 2.0))
    with pytest.raises(ValueError, match="not both"):
        lab.joint(data, 5, seed=0, loss_weights={"y1": 1.0, "y2": 1.0}, uncertainty=True)
    with pytest.raises(ValueError, match="unknown trainer kind"):
        lab.trainer("sgd")


def test_shared_readout_r2(test_data) -> None:
    net = mtl_helpers.TwoHeadNet(seed=0, **mtl_helpers.STRUCTURED_NET)
    scores = pitfalls.shared_readout_r2(net, test_data)
    assert set(scores) == {"y1", "y2"}
    assert all(score <= 1.0 for score in scores.values())
    # Targets that are an exact linear function of the features are read out perfectly.
    features = net.shared_features(test_data["x"]).numpy()
    exact = {**test_data, "y1": features @ np.arange(20.0)[:, None] + 3.0}
    assert pitfalls.shared_readout_r2(net, exact, ridge=0.0)["y1"] == pytest.approx(1.0, abs=1e-4)
    with pytest.raises(ValueError, match="at least 4 rows"):
        pitfalls.shared_readout_r2(net, {key: value[:3] for key, value in test_data.items()})


def test_size_ratio_sweep_records_and_reuses_identical_schedules(test_data) -> None:
    samplers = {
        "proportional": lambda sizes, seed: ProportionalSampler(sizes, seed=seed),
        "uniform": lambda sizes, seed: UniformSampler(sizes, seed=seed),
    }
    results = pitfalls.size_ratio_sweep(
        pitfalls.PitfallLab(), TASKS, test_data, samplers=samplers, ratios=[1, 3], small_size=20, steps=30, seeds=[0, 1],
        progress=False,
    )
    assert len(results) == 2 * 2 * 3  # seeds x ratios x (2 samplers + single-task)
    # At ratio 1 both samplers give p = 1/2 and the same schedule: one run, two records.
    np.testing.assert_array_equal(
        results.values("y2", method="proportional", ratio=1), results.values("y2", method="uniform", ratio=1)
    )
    assert results.values("share_y2", method="proportional", ratio=3) == pytest.approx([0.25, 0.25], abs=0.2)
    # y2's data set is the same at every ratio, so is its single-task baseline.
    single = {ratio: results.values("y2", method="single-task", ratio=ratio) for ratio in (1, 3)}
    np.testing.assert_array_equal(single[1], single[3])
    figure = pitfalls.plot_error_vs_ratio(results)
    assert len(figure.axes) == 3
    plt.close(figure)


def test_final_block_drift() -> None:
    schedule = BlockSchedule(4, last="y1").schedule(12)
    log = TrainingLog(
        loss=np.zeros(12), task=schedule, eval_step=np.array([0, 4, 8, 12]),
        eval_mse={"y1": np.array([1.0, 0.8, 0.9, 0.5]), "y2": np.array([1.0, 1.1, 0.6, 0.9])},
    )
    drift = pitfalls.final_block_drift(log, 4)
    assert drift == {"task": "y2", "change": pytest.approx(0.3), "ratio": pytest.approx(1.5)}
    with pytest.raises(ValueError, match="pass the schedule's block length"):
        pitfalls.final_block_drift(log, 8)
    with pytest.raises(ValueError, match="no evaluation at step 9"):
        pitfalls.final_block_drift(log, 3)


def test_block_sweep(test_data) -> None:
    results, curves = pitfalls.block_sweep(
        pitfalls.PitfallLab(), TASKS, test_data, blocks=[1, 10], steps=40, n_examples=64, seeds=[0, 1],
        curve_block=10, curve_every=5, progress=False,
    )
    assert len(results.select(method="blocks")) == 2 * 2 * 2
    assert len(results.select(method="joint")) == 2
    assert set(results.unique("idle")) == {"y1", "y2"}
    assert sorted(curves) == [("y1", 0), ("y1", 1), ("y2", 0), ("y2", 1)]
    assert curves[("y1", 0)].eval_step.tolist() == list(range(0, 41, 5))
    figure = pitfalls.plot_block_curves(curves, block=10)
    plt.close(figure)
    with pytest.raises(ValueError, match="at least twice the longest block"):
        pitfalls.block_sweep(pitfalls.PitfallLab(), TASKS, test_data, blocks=[30], steps=40, seeds=[0, 1])
    with pytest.raises(ValueError, match="must divide"):
        pitfalls.block_sweep(pitfalls.PitfallLab(), TASKS, test_data, blocks=[10], steps=40, seeds=[0, 1], curve_block=10,
                             curve_every=3)


def test_loss_scale_experiment(test_data) -> None:
    results, logs = pitfalls.loss_scale_experiment(
        pitfalls.PitfallLab(), TASKS, test_data, steps=20, n_examples=64, seeds=[0, 1], eval_every=10, progress=False
    )
    assert results.unique("method") == ["same units", "plain sum", "target normalisation", "fixed weights", "uncertainty"]
    assert all(len(results.values("y2", method=method)) == 2 for method in results.unique("method"))
    assert "weight_y1" in results.select(method="uncertainty")[0]
    # Before training, every method predicts the same thing in normalised units for y2.
    starts = {method: logs[(method, 0)].eval_mse["y2"][0] for method in ("same units", "plain sum", "fixed weights")}
    assert len({round(value, 6) for value in starts.values()}) == 1
    figure = pitfalls.plot_loss_scale(results, logs)
    plt.close(figure)


def test_remedy_table() -> None:
    before = {"y1": [1.0, 2.0], "y2": [4.0, 2.0]}
    after = {"y1": [1.5, 2.0], "y2": [2.0, 1.0]}
    effect = pitfalls.remedy_effect("data-rich task", "uniform", task="y2", before=before, after=after)
    assert effect.change.tolist() == [-50.0, -50.0]
    assert (effect.helped_in, effect.cost_in, effect.n_seeds) == (2, 1, 2)
    table = pitfalls.format_remedy_table([effect])
    assert "y2: -50% ± 0" in table and "2/2 seeds" in table and "1/2 seeds" in table
    with pytest.raises(ValueError, match="one value per seed"):
        pitfalls.remedy_effect("p", "r", task="y2", before={"y1": [1.0], "y2": [1.0]}, after={"y1": [1.0], "y2": [1.0]})
    with pytest.raises(ValueError, match="effects is empty"):
        pitfalls.format_remedy_table([])


def test_results_queries() -> None:
    results = pitfalls.Results([{"method": "a", "seed": 1, "v": 2.0}, {"method": "a", "seed": 0, "v": 1.0}])
    assert results.values("v", method="a").tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match="no record matches"):
        results.values("v", method="b")
    with pytest.raises(ValueError, match="at least 2 seeds"):
        pitfalls.size_ratio_sweep(pitfalls.PitfallLab(), TASKS, {}, samplers={"u": None}, ratios=[1], seeds=[0])
