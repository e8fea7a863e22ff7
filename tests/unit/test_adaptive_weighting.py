"""Adaptive loss weightings: Dynamic Weight Average and GradNorm (mtl_helpers.weighting)."""

from __future__ import annotations

import numpy as np
import pytest

from mtl_helpers._tensorflow import tf
from mtl_helpers.weighting.base import Weighting
from mtl_helpers.weighting.dwa import DynamicWeightAverage
from mtl_helpers.weighting.gradnorm import GradNorm

TASKS3 = ("a", "b", "c")

# Six steps of three tasks' losses: "a" halves every period, "b" stays, "c" grows.
DWA_LOSSES = np.array(
    [
        [4.0, 2.0, 1.0],
        [4.0, 2.0, 1.0],  # period 0: means (4, 2, 1)
        [2.0, 2.0, 1.0],
        [2.0, 2.0, 3.0],  # period 1: means (2, 2, 2)
        [1.0, 2.0, 4.0],
        [1.0, 2.0, 4.0],  # period 2: means (1, 2, 4)
        [1.0, 1.0, 1.0],
    ],
    dtype=np.float32,
)


def dwa_weights_numpy(losses: np.ndarray, *, period: int, temperature: float) -> np.ndarray:
    """The weights applied at each step, straight from the paper's formula."""
    n_steps, n_tasks = losses.shape
    means = [losses[k * period : (k + 1) * period].mean(axis=0) for k in range(n_steps // period)]
    applied = []
    for step in range(n_steps):
        done = step // period  # complete periods before this step
        if done < 2:
            applied.append(np.ones(n_tasks))
            continue
        ratios = means[done - 1] / means[done - 2]
        exps = np.exp(ratios / temperature)
        applied.append(n_tasks * exps / exps.sum())
    return np.array(applied)


def as_dict(values: np.ndarray, tasks: tuple[str, ...]) -> dict[str, tf.Tensor]:
    return {task: tf.constant(values[number]) for number, task in enumerate(tasks)}


def run_dwa(dwa: DynamicWeightAverage, losses: np.ndarray, combine=None) -> tuple[np.ndarray, np.ndarray]:
    combine = combine or dwa.combine
    totals, applied = [], []
    for row in losses:
        total, weights = combine(as_dict(row, dwa.tasks))
        totals.append(float(total))
        applied.append([float(weights[task]) for task in dwa.tasks])
    return np.array(totals), np.array(applied)


def test_dwa_weights_on_a_hand_made_sequence() -> None:
    dwa = DynamicWeightAverage(TASKS3, temperature=2.0, period=2)
    assert isinstance(dwa, Weighting) and not dwa.needs_gradients and dwa.variables == []
    totals, applied = run_dwa(dwa, DWA_LOSSES)
    # By hand, step 5: ratios (2/4, 2/2, 2/1) = (0.5, 1, 2); w = 3 * softmax(ratios / 2).
    exps = np.exp(np.array([0.25, 0.5, 1.0]))
    np.testing.assert_allclose(applied[4], 3 * exps / exps.sum(), rtol=1e-6)
    np.testing.assert_allclose(applied[:4], 1.0)
    np.testing.assert_allclose(applied, dwa_weights_numpy(DWA_LOSSES, period=2, temperature=2.0), rtol=1e-6)
    np.testing.assert_allclose(applied.sum(axis=1), 3.0, rtol=1e-6)
    np.testing.assert_allclose(totals, np.sum(applied * DWA_LOSSES, axis=1), rtol=1e-6)
    assert applied[4, 2] > applied[4, 1] > applied[4, 0], "the task whose loss rose gets the largest weight"
    # Step 7 uses periods 2 and 1: ratios (0.5, 1, 2) again.
    np.testing.assert_allclose(applied[6], applied[4], rtol=1e-6)
    assert dwa.weights == pytest.approx(dict(zip(TASKS3, applied[6], strict=True)), rel=1e-6)


@pytest.mark.parametrize("temperature", [0.5, 100.0])
def test_dwa_temperature(temperature: float) -> None:
    dwa = DynamicWeightAverage(TASKS3, temperature=temperature, period=2)
    _, applied = run_dwa(dwa, DWA_LOSSES)
    np.testing.assert_allclose(applied, dwa_weights_numpy(DWA_LOSSES, period=2, temperature=temperature), rtol=1e-5)
    if temperature == 100.0:
        np.testing.assert_allclose(applied, 1.0, atol=0.02)


def test_dwa_total_is_differentiable_in_the_losses_only() -> None:
    dwa = DynamicWeightAverage(TASKS3, period=1)
    run_dwa(dwa, DWA_LOSSES[:3])
    losses = {task: tf.Variable(2.0) for task in TASKS3}
    with tf.GradientTape() as tape:
        total, weights = dwa.combine(losses)
    gradients = tape.gradient(total, [losses[task] for task in TASKS3])
    np.testing.assert_allclose([float(g) for g in gradients], [float(weights[task]) for task in TASKS3], rtol=1e-6)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_dwa_inside_tf_function_and_reset(jit_compile: bool) -> None:
    dwa = DynamicWeightAverage(TASKS3, temperature=2.0, period=2)
    combine = tf.function(dwa.combine, jit_compile=jit_compile)
    totals, applied = run_dwa(dwa, DWA_LOSSES, combine)
    np.testing.assert_allclose(applied, dwa_weights_numpy(DWA_LOSSES, period=2, temperature=2.0), rtol=1e-5)
    assert combine.experimental_get_tracing_count() == 1
    dwa.reset()
    assert dwa.weights == {"a": 1.0, "b": 1.0, "c": 1.0}
    again_totals, again = run_dwa(dwa, DWA_LOSSES, combine)
    np.testing.assert_array_equal(again, applied)
    np.testing.assert_array_equal(again_totals, totals)


def test_dwa_zero_mean_period_gives_ratio_one() -> None:
    dwa = DynamicWeightAverage(("a", "b"), period=1)
    _, applied = run_dwa(dwa, np.array([[0.0, 1.0], [5.0, 1.0], [1.0, 1.0]], np.float32))
    np.testing.assert_allclose(applied[2], [1.0, 1.0])


def test_dwa_bad_options_and_losses() -> None:
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        DynamicWeightAverage(temperature=0.0)
    with pytest.raises(ValueError, match="period must be >= 1, got 0"):
        DynamicWeightAverage(period=0)
    with pytest.raises(ValueError, match=r"the losses lack \['y2'\]"):
        DynamicWeightAverage().combine({"y1": tf.constant(1.0)})
    assert repr(DynamicWeightAverage(period=5)) == "DynamicWeightAverage(tasks=['y1', 'y2'], temperature=2, period=5)"


# ---------------------------------------------------------------------------
# GradNorm
# ---------------------------------------------------------------------------

GN_LOSSES = np.array([[2.0, 1.0, 4.0], [1.0, 0.9, 3.0], [0.5, 0.9, 1.0], [0.4, 0.8, 1.0]], np.float32)


def gn_jacobian(step: int) -> np.ndarray:
    rng = np.random.default_rng(step)
    return (rng.normal(size=(3, 6)) * np.array([[1.0], [3.0], [0.5]])).astype(np.float32)


def gradnorm_numpy(
    losses: np.ndarray, jacobians: list[np.ndarray], *, alpha: float, learning_rate: float, min_weight: float
) -> tuple[np.ndarray, np.ndarray]:
    """Weights applied at each step and the totals, from the paper's update (float64)."""
    n_tasks = losses.shape[1]
    w = np.ones(n_tasks)
    applied, totals = [], []
    for step, (loss, jacobian) in enumerate(zip(losses.astype(np.float64), jacobians, strict=True)):
        applied.append(w.copy())
        totals.append(w @ loss)
        if step == 0:
            initial = loss.copy()
        ratio = loss / initial
        r = ratio / ratio.mean()
        norms_g = np.linalg.norm(jacobian.astype(np.float64), axis=1)
        big_g = w * norms_g
        target = big_g.mean() * r**alpha
        # d/dw_i sum_j |G_j - target_j| with the targets constant:
        w = np.maximum(w - learning_rate * np.sign(big_g - target) * norms_g, min_weight)
        w = n_tasks * w / w.sum()
    return np.array(applied), np.array(totals)


def run_gradnorm(gradnorm: GradNorm, combine=None) -> tuple[np.ndarray, np.ndarray]:
    combine = combine or gradnorm.combine
    applied, totals = [], []
    for step, row in enumerate(GN_LOSSES):
        total, weights = combine(as_dict(row, gradnorm.tasks), jacobian=tf.constant(gn_jacobian(step)))
        totals.append(float(total))
        applied.append([float(weights[task]) for task in gradnorm.tasks])
    return np.array(applied), np.array(totals)


@pytest.mark.parametrize("alpha", [0.0, 1.5])
def test_gradnorm_update_matches_numpy(alpha: float) -> None:
    gradnorm = GradNorm(TASKS3, alpha=alpha, learning_rate=0.05)
    assert gradnorm.needs_gradients and gradnorm.variables == []
    applied, totals = run_gradnorm(gradnorm)
    expected, expected_totals = gradnorm_numpy(
        GN_LOSSES, [gn_jacobian(s) for s in range(len(GN_LOSSES))], alpha=alpha, learning_rate=0.05, min_weight=1e-3
    )
    np.testing.assert_allclose(applied, expected, rtol=1e-5)
    np.testing.assert_allclose(totals, expected_totals, rtol=1e-5)
    np.testing.assert_allclose(applied.sum(axis=1), 3.0, rtol=1e-6)
    np.testing.assert_allclose(gradnorm.initial_losses.numpy(), GN_LOSSES[0])
    assert not np.allclose(applied[-1], 1.0), "the weights should have moved"


def test_gradnorm_first_step_by_hand() -> None:
    # |g| = (3, 1): G = (3, 1), mean 2, r = (1, 1), targets (2, 2); w - 0.1 * sign(G - 2) * |g| = (0.7, 1.1).
    gradnorm = GradNorm(learning_rate=0.1)
    total, weights = gradnorm.combine(
        {"y1": tf.constant(1.0), "y2": tf.constant(1.0)}, jacobian=tf.constant([[3.0, 0.0], [0.0, 1.0]])
    )
    assert float(total) == 2.0 and {task: float(w) for task, w in weights.items()} == {"y1": 1.0, "y2": 1.0}
    assert gradnorm.weights == pytest.approx({"y1": 2 * 0.7 / 1.8, "y2": 2 * 1.1 / 1.8}, rel=1e-6)


def test_gradnorm_floor_keeps_weights_positive() -> None:
    gradnorm = GradNorm(learning_rate=10.0, min_weight=0.01)
    gradnorm.combine({"y1": tf.constant(1.0), "y2": tf.constant(1.0)}, jacobian=tf.constant([[3.0, 0.0], [0.0, 1.0]]))
    # (1 - 30, 1 + 10) -> floored (0.01, 11), rescaled to sum 2.
    assert gradnorm.weights == pytest.approx({"y1": 2 * 0.01 / 11.01, "y2": 2 * 11 / 11.01}, rel=1e-6)


def test_gradnorm_zero_jacobian_keeps_the_weights() -> None:
    gradnorm = GradNorm()
    gradnorm.combine({"y1": tf.constant(1.0), "y2": tf.constant(2.0)}, jacobian=tf.zeros([2, 5]))
    assert gradnorm.weights == {"y1": 1.0, "y2": 1.0}


@pytest.mark.parametrize("jit_compile", [False, True])
def test_gradnorm_inside_tf_function_and_reset(jit_compile: bool) -> None:
    eager = GradNorm(TASKS3, learning_rate=0.05)
    expected, expected_totals = run_gradnorm(eager)
    gradnorm = GradNorm(TASKS3, learning_rate=0.05)
    combine = tf.function(gradnorm.combine, jit_compile=jit_compile)
    applied, totals = run_gradnorm(gradnorm, combine)
    np.testing.assert_allclose(applied, expected, rtol=1e-5)
    np.testing.assert_allclose(totals, expected_totals, rtol=1e-5)
    assert combine.experimental_get_tracing_count() == 1
    gradnorm.reset()
    assert gradnorm.weights == {"a": 1.0, "b": 1.0, "c": 1.0} and int(gradnorm.step.numpy()) == 0
    again, _ = run_gradnorm(gradnorm, combine)
    np.testing.assert_array_equal(again, applied)


def test_gradnorm_total_uses_constant_weights() -> None:
    gradnorm = GradNorm(learning_rate=0.1)
    losses = {"y1": tf.Variable(1.0), "y2": tf.Variable(1.0)}
    jacobian = tf.constant([[3.0, 0.0], [0.0, 1.0]])
    gradnorm.combine(losses, jacobian=jacobian)
    with tf.GradientTape() as tape:
        total, weights = gradnorm.combine(losses, jacobian=jacobian)
    gradients = tape.gradient(total, [losses["y1"], losses["y2"]])
    np.testing.assert_allclose([float(g) for g in gradients], [float(weights["y1"]), float(weights["y2"])], rtol=1e-6)
    assert float(weights["y1"]) != pytest.approx(1.0)


def test_gradnorm_bad_input() -> None:
    gradnorm = GradNorm()
    losses = {"y1": tf.constant(1.0), "y2": tf.constant(1.0)}
    with pytest.raises(ValueError, match="GradNorm needs the per-task gradients: pass jacobian="):
        gradnorm.combine(losses)
    with pytest.raises(ValueError, match=r"shape \(2, n_shared_parameters\).*got shape \(3, 4\)"):
        gradnorm.combine(losses, jacobian=tf.ones([3, 4]))
    with pytest.raises(ValueError, match=r"the losses lack \['y2'\]"):
        gradnorm.combine({"y1": tf.constant(1.0)}, jacobian=tf.ones([2, 4]))
    with pytest.raises(ValueError, match="alpha must be a finite number >= 0"):
        GradNorm(alpha=-1.0)
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        GradNorm(learning_rate=0.0)
    with pytest.raises(TypeError, match="alpha must be a number"):
        GradNorm(alpha="1.5")
    assert repr(GradNorm()) == "GradNorm(tasks=['y1', 'y2'], alpha=1.5, learning_rate=0.025, min_weight=0.001)"
