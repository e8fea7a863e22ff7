"""Loss weightings (mtl_helpers.weighting) and target scaling (mtl_helpers.scaling), chapter 5."""

from __future__ import annotations

import numpy as np
import pytest

import mtl_helpers
from mtl_helpers import JointTrainer, tf
from mtl_helpers.scaling import TargetScaler, inverse_variance_weights
from mtl_helpers.trainers.base import batch_indices
from mtl_helpers.weighting import FixedWeights, UncertaintyWeights, Weighting, uncertainty_weighted_loss

NET = {"head_units": 1, "output_activation": "linear", "use_bias": True, "loss": "mean_squared_error"}


def UncertaintyWeightedTrainer(net, make_optimizer=mtl_helpers.article_adam):  # noqa: N802 (reads like a class)
    return JointTrainer(net, weighting=UncertaintyWeights(net.tasks), make_optimizer=make_optimizer)


@pytest.fixture
def data() -> dict[str, np.ndarray]:
    batch = mtl_helpers.RelatedTasks(correlation=0.5).sample(256, seed=0)
    return {**batch, "y1": batch["y1"] * np.float32(100.0)}


def test_inverse_variance_weights(data) -> None:
    weights = inverse_variance_weights(data)
    assert weights["y1"] == pytest.approx(1 / np.var(data["y1"]), rel=1e-6)
    assert weights["y2"] == pytest.approx(1 / np.var(data["y2"]), rel=1e-6)
    assert weights["y2"] / weights["y1"] == pytest.approx(1e4 * np.var(data["y1"] / 100) / np.var(data["y2"]), rel=1e-4)


def test_inverse_variance_weights_errors() -> None:
    with pytest.raises(ValueError, match="constant"):
        inverse_variance_weights({"y1": np.ones((5, 1)), "y2": np.arange(5.0)[:, None]})
    with pytest.raises(ValueError, match="has no 'y2' targets"):
        inverse_variance_weights({"y1": np.arange(5.0)[:, None]})
    with pytest.raises(ValueError, match="must be 2-D"):
        inverse_variance_weights({"y1": np.arange(5.0), "y2": np.arange(5.0)})


def test_target_scaler_uses_training_statistics_for_every_split(data) -> None:
    test = mtl_helpers.RelatedTasks(correlation=0.5).sample(100, seed=1)
    scaler = TargetScaler.fit(data)
    train_scaled, test_scaled = scaler.transform(data), scaler.transform(test)
    for task in ("y1", "y2"):
        assert train_scaled[task].mean() == pytest.approx(0.0, abs=1e-5)
        assert train_scaled[task].std() == pytest.approx(1.0, rel=1e-5)
        expected = (test[task] - data[task].mean()) / data[task].std()
        np.testing.assert_allclose(test_scaled[task], expected, rtol=1e-4, atol=1e-5)
    assert train_scaled["x"] is data["x"]
    roundtrip = scaler.inverse_transform(train_scaled)
    np.testing.assert_allclose(roundtrip["y1"], data["y1"], rtol=1e-5, atol=1e-2)
    assert "y1" in data and data["y1"].std() > 10  # the input was not changed in place


def test_target_scaler_errors() -> None:
    with pytest.raises(ValueError, match="constant column"):
        TargetScaler.fit({"y1": np.ones((4, 1)), "y2": np.arange(4.0)[:, None]})
    with pytest.raises(ValueError, match="no statistics"):
        TargetScaler().transform({"y1": np.ones((2, 1))})
    with pytest.raises(ValueError, match="at least 2 rows"):
        TargetScaler.fit({"y1": np.ones((1, 1))}, tasks=("y1",))
    with pytest.raises(ValueError, match="has no 'y3' targets"):
        TargetScaler.fit({"y1": np.arange(4.0)[:, None]}, tasks=("y3",))
    scaler = TargetScaler.fit({"mass": np.array([[3000.0], [5000.0]])}, tasks=("mass",))  # any task name
    assert scaler.transform({"mass": np.array([[4000.0]])})["mass"].item() == 0.0


def test_uncertainty_loss_formula_and_minimum() -> None:
    losses = {"y1": 3.0, "y2": 0.2}
    s = {"y1": 0.5, "y2": -1.0}
    expected = sum(0.5 * np.exp(-s[t]) * losses[t] + 0.5 * s[t] for t in losses)
    assert uncertainty_weighted_loss(losses, s) == pytest.approx(expected)
    tf_losses = {t: tf.constant(v) for t, v in losses.items()}
    tf_value = uncertainty_weighted_loss(tf_losses, {t: tf.Variable(v) for t, v in s.items()})
    assert float(tf_value) == pytest.approx(expected, rel=1e-6)
    # For a fixed loss L the minimum is at s = log L (weight exp(-s) = 1/L).
    grid = np.linspace(-5, 5, 100_001)
    values = uncertainty_weighted_loss({"y1": 3.0}, {"y1": grid})
    assert grid[np.argmin(values)] == pytest.approx(np.log(3.0), abs=1e-3)
    with pytest.raises(ValueError, match="same task names"):
        uncertainty_weighted_loss({"y1": 1.0}, {"y2": 0.0})


def test_fixed_weights_combine_and_assign() -> None:
    weighting = FixedWeights({"y1": 2.0, "y2": 0.5})
    total, applied = weighting.combine({"y1": tf.constant(3.0), "y2": tf.constant(4.0)})
    assert float(total) == pytest.approx(8.0)
    assert {t: float(w) for t, w in applied.items()} == {"y1": 2.0, "y2": 0.5}
    weighting.assign({"y1": 1.0, "y2": 1.0})
    assert weighting.weights == {"y1": 1.0, "y2": 1.0}
    assert weighting.variables == []
    with pytest.raises(ValueError, match="missing tasks"):
        weighting.assign({"y1": 1.0})
    with pytest.raises(ValueError, match=">= 0"):
        FixedWeights({"y1": -1.0, "y2": 1.0})


def test_uncertainty_weights_start_at_one_and_reset() -> None:
    weighting = UncertaintyWeights()
    assert weighting.weights == {"y1": 1.0, "y2": 1.0}
    weighting.log_variances["y1"].assign(np.log(4.0))
    total, applied = weighting.combine({"y1": tf.constant(8.0), "y2": tf.constant(2.0)})
    assert float(applied["y1"]) == pytest.approx(0.25)
    assert float(total) == pytest.approx(0.5 * 0.25 * 8 + 0.5 * np.log(4.0) + 0.5 * 2.0)
    weighting.reset()
    assert weighting.weights == {"y1": 1.0, "y2": 1.0}
    with pytest.raises(ValueError, match="finite"):
        UncertaintyWeights(initial_log_variance=float("nan"))


def test_weighted_step_returns_losses_total_and_weights(data) -> None:
    net = mtl_helpers.TwoHeadNet(seed=0, **NET)
    predictions = net(data["x"][:32])
    mse = {t: float(np.mean((data[t][:32] - predictions[t].numpy()) ** 2)) for t in ("y1", "y2")}
    trainer = JointTrainer(net, weighting=FixedWeights({"y1": 1e-4, "y2": 1.0}))
    result = trainer.step({key: value[:32] for key, value in data.items()})
    assert result["y1"] == pytest.approx(mse["y1"], rel=1e-5)
    assert result["total"] == pytest.approx(1e-4 * mse["y1"] + mse["y2"], rel=1e-5)
    assert result["weight_y1"] == pytest.approx(1e-4)


def test_compiled_fit_matches_python_steps(data) -> None:
    steps, batch_size, seed = 12, 16, 3
    log = UncertaintyWeightedTrainer(mtl_helpers.TwoHeadNet(seed=0, **NET)).fit(data, steps, batch_size=batch_size, seed=seed)
    trainer = UncertaintyWeightedTrainer(mtl_helpers.TwoHeadNet(seed=0, **NET))
    indices = batch_indices([len(data["x"])], np.zeros(steps, dtype=np.int64), batch_size, seed)
    by_step = [trainer.step({key: value[rows] for key, value in data.items()}) for rows in indices]
    np.testing.assert_allclose(log.loss, [r["total"] for r in by_step], rtol=1e-4)
    np.testing.assert_allclose(log.weights["y1"], [r["weight_y1"] for r in by_step], rtol=1e-5)


def test_uncertainty_weighting_shrinks_the_weight_of_the_large_task(data) -> None:
    net = mtl_helpers.TwoHeadNet(seed=0, **NET)
    trainer = UncertaintyWeightedTrainer(net, make_optimizer=lambda: mtl_helpers.article_adam(0.05))
    log = trainer.fit(data, 300, eval_data=data, eval_every=100)
    assert log.weights["y1"].shape == (300,) and log.weights["y1"][0] == pytest.approx(1.0)
    assert log.weights["y1"][-1] < 0.25 * log.weights["y2"][-1]
    assert log.eval_step.tolist() == [0, 100, 200, 300]


def test_assigning_fixed_weights_does_not_retrace(data) -> None:
    trainer = JointTrainer(mtl_helpers.TwoHeadNet(seed=0, **NET), weighting=FixedWeights())
    trainer.fit(data, 5)
    trainer.weighting.assign({"y1": 1e-4, "y2": 1.0})
    log = trainer.fit(data, 5)
    assert trainer.tracing_count == 1
    assert log.weights["y1"] == pytest.approx(np.full(5, 1e-4))


def test_jit_compiled_fit_agrees(data) -> None:
    plain = JointTrainer(mtl_helpers.TwoHeadNet(seed=0, **NET), weighting=FixedWeights()).fit(data, 10)
    xla = JointTrainer(mtl_helpers.TwoHeadNet(seed=0, **NET), weighting=FixedWeights(), jit_compile=True).fit(data, 10)
    np.testing.assert_allclose(plain.loss, xla.loss, rtol=1e-4)


def test_weighting_interface_errors() -> None:
    with pytest.raises(NotImplementedError, match="must define combine"):
        Weighting().combine({"y1": tf.constant(1.0), "y2": tf.constant(1.0)})
    with pytest.raises(ValueError, match="the losses lack"):
        FixedWeights().combine({"y1": tf.constant(1.0)})
    with pytest.raises(ValueError, match="distinct"):
        FixedWeights(tasks=("y1", "y1"))
    with pytest.raises(TypeError, match="sequence of task names"):
        UncertaintyWeights(tasks="y1")
