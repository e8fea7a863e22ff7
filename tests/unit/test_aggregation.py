"""Gradient aggregators (mtl_helpers.aggregation): hand-computed cases and optimality conditions."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from mtl_helpers._tensorflow import tf
from mtl_helpers.aggregation import IMTLG, MGDA, Aggregator, CAGrad, PCGrad
from mtl_helpers.data import RelatedTasks
from mtl_helpers.models import STRUCTURED_NET, TwoHeadNet
from mtl_helpers.trainers import JointTrainer

ORTHOGONAL = [[1.0, 0.0], [0.0, 1.0]]
CONFLICTING = [[1.0, 0.0], [-1.0, 1.0]]
ALIGNED = [[1.0, 0.0], [2.0, 0.0]]
ROOT2 = np.sqrt(2.0)

# Directions worked out by hand (see the comments in each test below).
HAND_CASES = {
    "PCGrad": {"orthogonal": [1.0, 1.0], "conflicting": [0.5, 1.5], "aligned": [3.0, 0.0]},
    "MGDA": {"orthogonal": [0.5, 0.5], "conflicting": [0.2, 0.4], "aligned": [1.0, 0.0]},
    "CAGrad": {"orthogonal": [0.75, 0.75], "conflicting": [0.25, 0.5], "aligned": [2.25, 0.0]},
    "IMTLG": {
        "orthogonal": [0.5, 0.5],
        "conflicting": [(ROOT2 - 1) / (1 + ROOT2), 1 / (1 + ROOT2)],
        "aligned": [4 / 3, 0.0],
    },
}
JACOBIANS = {"orthogonal": ORTHOGONAL, "conflicting": CONFLICTING, "aligned": ALIGNED}


def make(name: str) -> Aggregator:
    return {"PCGrad": PCGrad, "MGDA": MGDA, "CAGrad": CAGrad, "IMTLG": IMTLG}[name]()


def simplex_grid(n_tasks: int, steps: int) -> np.ndarray:
    """All weight vectors on the simplex with entries in multiples of 1 / steps."""
    rows = [c for c in itertools.product(range(steps + 1), repeat=n_tasks - 1) if sum(c) <= steps]
    grid = np.array([[*c, steps - sum(c)] for c in rows], dtype=np.float64)
    return grid / steps


@pytest.fixture(scope="module")
def three_tasks() -> np.ndarray:
    """Three gradients in 5 parameters; task 2 conflicts with the other two."""
    rng = np.random.default_rng(7)
    jacobian = rng.normal(size=(3, 5))
    jacobian[2] -= 1.5 * jacobian[0]
    return jacobian.astype(np.float32)


# ---------------------------------------------------------------------------
# Two tasks, by hand
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(JACOBIANS))
@pytest.mark.parametrize("name", list(HAND_CASES))
def test_two_task_hand_cases(name: str, case: str) -> None:
    # PCGrad, conflicting: g1' = g1 - (-1/2) g2 = (0.5, 0.5), g2' = g2 - (-1/1) g1 = (0, 1).
    # MGDA, conflicting: alpha = (g2 - g1).g2 / |g1 - g2|^2 = 3/5, d = 0.6 g1 + 0.4 g2.
    # CAGrad, conflicting: F(w) is smallest at w = (1, 0): d = g0 + c|g0|/|g1| g1 = (0, .5) + .25 (1, 0).
    # CAGrad, aligned: w = (1, 0) again: d = (1.5, 0) + 0.5 * 1.5 * (1, 0).
    # IMTL-G, two tasks: alpha_1 = |g2| / (|g1| + |g2|); aligned gives 2/3 g1 + 1/3 g2.
    result = make(name)(tf.constant(JACOBIANS[case]))
    assert result.shape == (2,) and result.dtype == tf.float32
    np.testing.assert_allclose(result.numpy(), HAND_CASES[name][case], atol=1e-6)


def test_mgda_two_task_closed_form(rng: np.random.Generator) -> None:
    for _ in range(20):
        g1, g2 = rng.normal(size=(2, 6))
        alpha = np.clip((g2 - g1) @ g2 / np.sum((g1 - g2) ** 2), 0.0, 1.0)
        jacobian = tf.constant(np.stack([g1, g2]), tf.float32)
        np.testing.assert_allclose(MGDA().weights(jacobian).numpy(), [alpha, 1 - alpha], atol=1e-6)
        np.testing.assert_allclose(MGDA()(jacobian).numpy(), alpha * g1 + (1 - alpha) * g2, atol=1e-5)


def test_mgda_two_equal_gradients_splits_evenly() -> None:
    mgda = MGDA()
    np.testing.assert_allclose(mgda.weights(tf.constant([[1.0, 2.0], [1.0, 2.0]])).numpy(), [0.5, 0.5])


def test_pcgrad_two_tasks_leaves_no_conflict(rng: np.random.Generator) -> None:
    pcgrad = PCGrad()
    for _ in range(20):
        g1, g2 = rng.normal(size=(2, 4))
        if g1 @ g2 > 0:
            g2 = -g2
        projected_1 = g1 - (g1 @ g2) / (g2 @ g2) * g2
        projected_2 = g2 - (g1 @ g2) / (g1 @ g1) * g1
        assert abs(projected_1 @ g2) < 1e-9 and abs(projected_2 @ g1) < 1e-9
        result = pcgrad(tf.constant(np.stack([g1, g2]), tf.float32)).numpy()
        np.testing.assert_allclose(result, projected_1 + projected_2, atol=1e-5)
        # No remaining conflict with either task's original gradient.
        assert result @ g1 >= -1e-5 and result @ g2 >= -1e-5


# ---------------------------------------------------------------------------
# Three tasks: optimality conditions against NumPy
# ---------------------------------------------------------------------------


def pcgrad_numpy(jacobian: np.ndarray, order: np.ndarray) -> np.ndarray:
    projected = []
    for i, g in enumerate(jacobian.astype(np.float64)):
        g = g.copy()
        for j in order:
            if j != i and g @ jacobian[j] < 0:
                g -= (g @ jacobian[j]) / (jacobian[j] @ jacobian[j]) * jacobian[j]
        projected.append(g)
    return np.sum(projected, axis=0)


def test_pcgrad_three_tasks_matches_numpy_in_its_random_order(three_tasks: np.ndarray) -> None:
    pcgrad = PCGrad(seed=1)
    results = set()
    for call in range(8):
        order = pcgrad.order(3, tf.constant(call)).numpy()
        assert sorted(order.tolist()) == [0, 1, 2]
        result = pcgrad(tf.constant(three_tasks)).numpy()
        np.testing.assert_allclose(result, pcgrad_numpy(three_tasks, order), atol=1e-5)
        results.add(tuple(np.round(result, 4)))
    assert len(results) > 1, "with three conflicting tasks the order should change the result"


def test_mgda_three_tasks_is_the_min_norm_point_of_the_hull(three_tasks: np.ndarray) -> None:
    mgda = MGDA()
    alpha = mgda.weights(tf.constant(three_tasks)).numpy()
    direction = mgda(tf.constant(three_tasks)).numpy()
    assert np.all(alpha >= 0) and abs(alpha.sum() - 1) < 1e-6
    np.testing.assert_allclose(direction, alpha @ three_tasks, atol=1e-6)
    grid = simplex_grid(3, 300)
    grid_best = np.min(np.sum((grid @ three_tasks.astype(np.float64)) ** 2, axis=1))
    assert direction @ direction <= grid_best + 1e-6
    # Optimality: every gradient has at least |d|^2 along d (equality on the support).
    dots = three_tasks @ direction
    assert np.all(dots >= direction @ direction - 1e-5)


def test_mgda_zero_inside_the_hull_gives_zero() -> None:
    # Three directions 120 degrees apart: the hull contains the origin.
    angles = np.deg2rad([90.0, 210.0, 330.0])
    jacobian = np.stack([np.cos(angles), np.sin(angles)], axis=1) * np.array([[1.0], [2.0], [3.0]])
    direction = MGDA()(tf.constant(jacobian, tf.float32)).numpy()
    assert np.linalg.norm(direction) < 1e-3


def cagrad_objective(weights: np.ndarray, jacobian: np.ndarray, c: float) -> np.ndarray:
    jacobian = jacobian.astype(np.float64)
    g0 = jacobian.mean(axis=0)
    g_w = weights @ jacobian
    return g_w @ g0 + c * np.linalg.norm(g0) * np.linalg.norm(g_w, axis=-1)


@pytest.mark.parametrize("c", [0.2, 0.9])
def test_cagrad_three_tasks_minimises_its_dual(three_tasks: np.ndarray, c: float) -> None:
    cagrad = CAGrad(c=c)
    w = cagrad.inner_weights(tf.constant(three_tasks)).numpy().astype(np.float64)
    assert np.all(w >= 0) and abs(w.sum() - 1) < 1e-6
    grid_best = cagrad_objective(simplex_grid(3, 300), three_tasks, c).min()
    assert cagrad_objective(w, three_tasks, c) <= grid_best + 1e-6
    # The direction: g0 + c |g0| / |g_w| g_w, on the sphere of radius c |g0| around g0.
    g0 = three_tasks.astype(np.float64).mean(axis=0)
    g_w = w @ three_tasks
    expected = g0 + c * np.linalg.norm(g0) / np.linalg.norm(g_w) * g_w
    direction = cagrad(tf.constant(three_tasks)).numpy()
    np.testing.assert_allclose(direction, expected, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(direction - g0), c * np.linalg.norm(g0), rtol=1e-5)
    np.testing.assert_allclose(cagrad.weights(tf.constant(three_tasks)).numpy() @ three_tasks, direction, atol=1e-5)


def test_cagrad_with_c_zero_is_the_mean(three_tasks: np.ndarray) -> None:
    np.testing.assert_allclose(CAGrad(c=0.0)(tf.constant(three_tasks)).numpy(), three_tasks.mean(axis=0), atol=1e-6)


def test_imtlg_three_tasks_equal_projections(three_tasks: np.ndarray) -> None:
    imtlg = IMTLG()
    alpha = imtlg.weights(tf.constant(three_tasks)).numpy()
    direction = imtlg(tf.constant(three_tasks)).numpy()
    assert abs(alpha.sum() - 1) < 1e-6
    units = three_tasks / np.linalg.norm(three_tasks, axis=1, keepdims=True)
    projections = units @ direction
    np.testing.assert_allclose(projections, projections.mean(), rtol=1e-5)
    # The paper's closed form (as written in LibMTL): alpha_2: = g_1 U^T (D U^T)^-1.
    g = three_tasks.astype(np.float64)
    u = units.astype(np.float64)
    d_rows, u_rows = g[0] - g[1:], u[0] - u[1:]
    rest = g[0] @ u_rows.T @ np.linalg.inv(d_rows @ u_rows.T)
    np.testing.assert_allclose(alpha, [1 - rest.sum(), *rest], atol=1e-5)


def test_imtlg_opposite_gradients_give_zero() -> None:
    direction = IMTLG()(tf.constant([[1.0, 2.0], [-2.0, -4.0]]))
    np.testing.assert_allclose(direction.numpy(), [0.0, 0.0], atol=1e-6)


# ---------------------------------------------------------------------------
# Randomness, state, graphs
# ---------------------------------------------------------------------------


def run_calls(pcgrad: PCGrad, jacobian: np.ndarray, calls: int) -> np.ndarray:
    return np.stack([pcgrad(tf.constant(jacobian)).numpy() for _ in range(calls)])


def test_pcgrad_is_deterministic_by_seed_and_reset_restarts(three_tasks: np.ndarray) -> None:
    first = run_calls(PCGrad(seed=5), three_tasks, 6)
    np.testing.assert_array_equal(first, run_calls(PCGrad(seed=5), three_tasks, 6))
    orders = {seed: [PCGrad(seed=seed).order(4, tf.constant(call)).numpy().tolist() for call in range(6)] for seed in (5, 6)}
    assert orders[5] != orders[6]
    pcgrad = PCGrad(seed=5)
    run_calls(pcgrad, three_tasks, 3)
    assert int(pcgrad.calls.numpy()) == 3
    pcgrad.reset()
    assert int(pcgrad.calls.numpy()) == 0
    np.testing.assert_array_equal(run_calls(pcgrad, three_tasks, 6), first)


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize("name", list(HAND_CASES))
def test_inside_tf_function(name: str, jit_compile: bool, three_tasks: np.ndarray) -> None:
    eager, compiled = make(name), make(name)
    function = tf.function(compiled.__call__, jit_compile=jit_compile)
    for _ in range(3):  # PCGrad's stream advances the same way in both
        np.testing.assert_allclose(function(tf.constant(three_tasks)).numpy(), eager(tf.constant(three_tasks)).numpy(), atol=1e-5)
    assert function.experimental_get_tracing_count() == 1


def seconds(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


# A solver that indexed with a run-time index (``aw[best]``) made XLA take the jacobian, and
# through it a trainer's weights and data, for compile-time constants: the program was compiled
# again at every call with new values, without tracing again (tracing counts stayed at 1), each
# call as slow as the first. The compile-once tests compare the later calls' times with the first.
@pytest.mark.parametrize(("name", "n_tasks"), [("CAGrad", 2), ("CAGrad", 3), ("MGDA", 3)])
def test_xla_compiles_the_solvers_once(name: str, n_tasks: int) -> None:
    rng = np.random.default_rng(3)
    jacobians = [tf.constant(rng.normal(size=(n_tasks, 50)), tf.float32) for _ in range(4)]
    eager, compiled = make(name), make(name)
    function = tf.function(compiled.__call__, jit_compile=True)
    first = seconds(function, jacobians[0])
    later = min(seconds(function, jacobian) for jacobian in jacobians[1:])
    assert later < 0.25 * first, f"first call {first:.3f} s, fastest later call {later:.3f} s: XLA compiled again"
    for jacobian in jacobians:
        np.testing.assert_allclose(function(jacobian).numpy(), eager(jacobian).numpy(), rtol=1e-5, atol=1e-6)
    assert function.experimental_get_tracing_count() == 1


def test_joint_trainer_with_cagrad_under_xla_compiles_once_and_matches() -> None:
    net = {**STRUCTURED_NET, "loss": "mean_squared_error"}
    tasks = RelatedTasks(correlation=0.5, seed=0)
    trainers = {xla: JointTrainer(TwoHeadNet(**net), aggregator=CAGrad(c=0.5), jit_compile=xla) for xla in (False, True)}
    times, weights, losses = [], {}, {}
    for seed in range(4):  # a new data set and new initial weights in every fit
        data = tasks.sample(128, seed=seed)
        for xla, trainer in trainers.items():
            trainer.reset(seed)
            start = time.perf_counter()
            losses[xla] = trainer.fit(data, 100, seed=seed).loss
            if xla:
                times.append(time.perf_counter() - start)
            weights[xla] = trainer.net.get_weights()
        np.testing.assert_allclose(losses[True], losses[False], rtol=1e-5)
        for name, value in weights[False].items():
            np.testing.assert_allclose(weights[True][name], value, rtol=1e-5, atol=1e-6, err_msg=name)
    assert trainers[True].tracing_count == 1
    assert min(times[1:]) < 0.25 * times[0], f"fit times {np.round(times, 3)} s: XLA compiled the loop again"


@pytest.mark.parametrize("name", list(HAND_CASES))
def test_zero_gradients(name: str) -> None:
    zeros = make(name)(tf.zeros([3, 4]))
    np.testing.assert_array_equal(zeros.numpy(), np.zeros(4))
    # One task without gradient: finite, and for two tasks the other task's gradient survives in direction.
    result = make(name)(tf.constant([[0.0, 0.0], [3.0, 4.0]])).numpy()
    assert np.all(np.isfinite(result))
    assert result @ np.array([3.0, 4.0]) >= 0


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(HAND_CASES))
def test_bad_jacobians_are_refused(name: str) -> None:
    aggregator = make(name)
    with pytest.raises(ValueError, match=r"shape \(n_tasks, n_params\), got shape \(3,\)"):
        aggregator(tf.ones([3]))
    with pytest.raises(ValueError, match=r"got shape \(2, 2, 2\)"):
        aggregator(tf.ones([2, 2, 2]))
    with pytest.raises(ValueError, match=r"at least 2 tasks, got shape \(1, 3\)"):
        aggregator(tf.ones([1, 3]))
    with pytest.raises(ValueError, match=r"1 NaN or infinite entries \(task rows \[1\]\)"):
        aggregator(tf.constant([[1.0, 0.0], [np.nan, 1.0]]))
    with pytest.raises(ValueError, match=r"2 NaN or infinite entries \(task rows \[0\]\)"):
        aggregator(np.array([[np.inf, -np.inf], [0.0, 1.0]]))
    with pytest.raises(TypeError, match="jacobian of numbers"):
        aggregator(tf.constant([["a", "b"], ["c", "d"]]))
    unknown_tasks = tf.function(aggregator.__call__, input_signature=[tf.TensorSpec([None, 4], tf.float32)])
    with pytest.raises(ValueError, match="statically known number of tasks"):
        unknown_tasks.get_concrete_function()


def test_numpy_and_integer_jacobians_are_accepted() -> None:
    np.testing.assert_allclose(MGDA()(np.array(CONFLICTING)).numpy(), [0.2, 0.4], atol=1e-6)
    assert MGDA()(np.array([[1, 0], [0, 1]])).dtype == tf.float32


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="seed must be >= 0, got -1"):
        PCGrad(seed=-1)
    with pytest.raises(TypeError, match="seed must be an int"):
        PCGrad(seed=1.5)
    with pytest.raises(ValueError, match="c must be a finite number >= 0"):
        CAGrad(c=-0.1)
    with pytest.raises(ValueError, match="max_iterations must be >= 1"):
        MGDA(max_iterations=0)
    with pytest.raises(ValueError, match="tolerance must be a finite number >= 0"):
        CAGrad(tolerance=float("nan"))


def test_reprs() -> None:
    assert repr(PCGrad(seed=3)) == "PCGrad(seed=3)"
    assert repr(CAGrad(c=0.4)) == "CAGrad(c=0.4)"
    assert repr(IMTLG()) == "IMTLG()"
    assert repr(MGDA()).startswith("MGDA(max_iterations=1000")
