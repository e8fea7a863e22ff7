"""mtl_helpers.trainers.batched: S seeds in one compiled loop are S separate runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from mtl_helpers import (
    STRUCTURED_NET,
    AlternatingTrainer,
    CoinFlip,
    FixedWeights,
    JointTrainer,
    RelatedTasks,
    TwoHeadNet,
    UncertaintyWeights,
    article_adam,
    tf,
)
from mtl_helpers._tensorflow import optimization_barrier
from mtl_helpers.trainers import BatchedAlternatingTrainer, BatchedJointTrainer, TrainingLog
from mtl_helpers.trainers._stacked import batched_matmul

SEEDS = (0, 3, 5)
STEPS = 40
TASKS = RelatedTasks(correlation=0.5, seed=0)
MSE_NET = {**STRUCTURED_NET, "loss": "mean_squared_error"}
RTOL = 1e-5  # the bound where the arithmetic differs (batched matrix products)


def adam() -> tf.keras.optimizers.Adam:
    return article_adam(0.01)


def separate(seed: int) -> dict:
    return TASKS.sample_separate({"y1": 48, "y2": 24}, seed=seed)


def schedule(seed: int) -> np.ndarray:
    """A different schedule for every seed: different coins, different biases."""
    return CoinFlip(p=0.2 + 0.1 * seed, seed=seed).schedule(STEPS)


def joint_data(seed: int) -> dict:
    return TASKS.sample(48, seed=seed)


def held_out(seed: int) -> dict:
    return TASKS.sample(40, seed=1000 + seed)


def assert_same_run(batched: TrainingLog, single: TrainingLog, *, exact: bool) -> None:
    """Losses, weights and held-out metrics of one seed's two runs agree (bit for bit if ``exact``)."""
    check = np.testing.assert_array_equal if exact else lambda a, b: np.testing.assert_allclose(a, b, rtol=RTOL)
    check(batched.loss, single.loss)
    np.testing.assert_array_equal(batched.task, single.task)
    assert sorted(batched.weights) == sorted(single.weights)
    for task, weights in single.weights.items():
        check(batched.weights[task], weights)
    np.testing.assert_array_equal(batched.eval_step, single.eval_step)
    for task, values in single.eval_metric.items():
        check(batched.eval_metric[task], values)


# --------------------------------------------------------------------------- the same runs


@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
def test_alternating_runs_are_the_separate_runs(jit_compile: bool) -> None:
    """Three seeds with three different schedules; and one seed alone, which is exact."""
    batched = BatchedAlternatingTrainer(SEEDS, net_settings=STRUCTURED_NET, make_optimizer=adam, jit_compile=jit_compile)
    logs = batched.fit(separate, schedule, batch_size=8, eval_data=held_out, eval_every=20)
    alone = BatchedAlternatingTrainer(SEEDS[:1], net_settings=STRUCTURED_NET, make_optimizer=adam, jit_compile=jit_compile)
    [log_alone] = alone.fit([separate(SEEDS[0])], [schedule(SEEDS[0])], batch_size=8, eval_data=[held_out(SEEDS[0])],
                            eval_every=20)
    single = AlternatingTrainer(TwoHeadNet(**STRUCTURED_NET), adam, jit_compile=jit_compile)
    for index, seed in enumerate(SEEDS):
        single.reset(seed)
        log = single.fit(separate(seed), schedule(seed), batch_size=8, seed=seed, eval_data=held_out(seed), eval_every=20)
        assert_same_run(logs[index], log, exact=False)
        for name, value in single.net.get_weights().items():
            np.testing.assert_allclose(batched.get_weights()[index][name], value, rtol=1e-4, atol=1e-6)
        if index == 0:  # S = 1: the same matrix products, the same Adam arithmetic
            assert_same_run(log_alone, log, exact=True)
            for name, value in single.net.get_weights().items():
                np.testing.assert_array_equal(alone.get_weights()[0][name], value)
    assert len({tuple(schedule(seed)) for seed in SEEDS}) == len(SEEDS)
    assert batched.tracing_count == 2  # the loop and the prediction function, once each


@pytest.mark.parametrize(
    ("kind", "jit_compile"), [("fixed_per_seed", False), ("uncertainty", False), ("uncertainty", True)]
)
def test_joint_runs_are_the_separate_runs(kind: str, jit_compile: bool) -> None:
    if kind == "fixed_per_seed":  # the article's l2_loss, one pair of weights per seed
        settings, weightings = STRUCTURED_NET, [FixedWeights({"y1": 1.0, "y2": 0.25 * (1 + i)}) for i in range(len(SEEDS))]
        weighting, single = weightings, JointTrainer(TwoHeadNet(**settings), weighting=FixedWeights(), make_optimizer=adam)
    else:  # Kendall et al.'s weighting of mean squared errors, own log-variances per seed
        settings, weighting = MSE_NET, UncertaintyWeights(initial_log_variance=0.5)
        single = JointTrainer(TwoHeadNet(**settings), weighting=UncertaintyWeights(initial_log_variance=0.5),
                              make_optimizer=adam, jit_compile=jit_compile)
    batched = BatchedJointTrainer(SEEDS, net_settings=settings, weighting=weighting, make_optimizer=adam, jit_compile=jit_compile)
    logs = batched.fit(joint_data, STEPS, batch_size=8, eval_data=held_out, eval_every=20)
    for index, seed in enumerate(SEEDS):
        single.reset(seed)
        if kind == "fixed_per_seed":
            single.weighting.assign(weightings[index].weights)
        log = single.fit(joint_data(seed), STEPS, batch_size=8, seed=seed, eval_data=held_out(seed), eval_every=20)
        assert_same_run(logs[index], log, exact=False)
        if kind == "uncertainty":
            for task, s in single.weighting.log_variances.items():
                assert batched.log_variances[task][index] == pytest.approx(float(s.numpy()), rel=1e-4)


def test_one_seed_of_joint_training_is_the_step_by_step_run_bit_for_bit() -> None:
    joint = BatchedJointTrainer([4], net_settings=MSE_NET, weighting=UncertaintyWeights(), make_optimizer=adam)
    single = JointTrainer(TwoHeadNet(**MSE_NET, seed=4), weighting=UncertaintyWeights(), make_optimizer=adam)
    [log] = joint.fit(joint_data, STEPS, batch_size=8, eval_data=held_out)
    assert_same_run(log, single.fit(joint_data(4), STEPS, batch_size=8, seed=4, eval_data=held_out(4)), exact=True)
    assert joint.log_variances["y2"][0] == single.weighting.log_variances["y2"].numpy()


def test_the_idle_head_and_its_optimizer_do_not_change_at_all() -> None:
    """Seed 0 trains y1 while seed 1 trains y2: the other head and optimizer stay bit for bit."""
    trainer = BatchedAlternatingTrainer([0, 1], net_settings=STRUCTURED_NET, make_optimizer=adam)
    trainer.fit(separate, lambda seed: ["y1", "y2"] * 5, batch_size=8)  # every optimizer has moved
    weights, states = trainer.get_weights(), trainer.optimizer_state()
    assert states[0]["y2"]["iterations"] == 5 and np.any(states[0]["y2"]["v"]["y2"] != 0)
    trainer.fit(separate, [["y1"], ["y2"]], batch_size=8)
    after_weights, after_states = trainer.get_weights(), trainer.optimizer_state()
    for run, (trained, idle) in enumerate([("y1", "y2"), ("y2", "y1")]):
        for name in (idle, f"{idle}_bias"):
            np.testing.assert_array_equal(after_weights[run][name], weights[run][name])
        assert after_states[run][idle]["iterations"] == states[run][idle]["iterations"]
        for slot in ("m", "v"):
            for name, value in states[run][idle][slot].items():
                np.testing.assert_array_equal(after_states[run][idle][slot][name], value)
        assert after_states[run][trained]["iterations"] == states[run][trained]["iterations"] + 1
        assert not np.array_equal(after_weights[run][trained], weights[run][trained])
        assert not np.array_equal(after_weights[run]["shared"], weights[run]["shared"])
    assert sorted(after_states[0]["y1"]["m"]) == ["shared", "shared_bias", "y1", "y1_bias"]


def test_reset_reproduces_a_new_trainer_without_tracing() -> None:
    trainer = BatchedJointTrainer([0, 1], net_settings=MSE_NET, weighting=UncertaintyWeights(), make_optimizer=adam)
    trainer.fit(joint_data, 10, batch_size=8)
    traced = trainer.tracing_count
    trainer.reset([7, 8])
    assert trainer.seeds == (7, 8)
    again = trainer.fit(joint_data, 10, batch_size=8)
    fresh = BatchedJointTrainer([7, 8], net_settings=MSE_NET, weighting=UncertaintyWeights(), make_optimizer=adam)
    for got, expected in zip(again, fresh.fit(joint_data, 10, batch_size=8), strict=True):
        assert_same_run(got, expected, exact=True)
    assert trainer.tracing_count == traced
    np.testing.assert_array_equal(trainer.network(1).get_weights()["y2"], fresh.get_weights()[1]["y2"])


def test_per_seed_arguments_may_be_lists_functions_or_one_value() -> None:
    trainer = BatchedAlternatingTrainer(2, net_settings=STRUCTURED_NET)
    data = separate(0)
    by_list = trainer.fit([data, data], [["y1", "y2"] * 3] * 2, batch_size=4, seeds=[9, 9])
    trainer.reset(2)
    by_value = trainer.fit(data, ["y1", "y2"] * 3, batch_size=4, seeds=[9, 9])
    trainer.reset(2)
    by_function = trainer.fit(lambda seed: data, lambda seed: ["y1", "y2"] * 3, batch_size=4, seeds=[9, 9])
    for a, b, c in zip(by_list, by_value, by_function, strict=True):
        np.testing.assert_array_equal(a.loss, b.loss)
        np.testing.assert_array_equal(a.loss, c.loss)


# --------------------------------------------------------------------------- bad inputs


def _alternating(**kwargs: Any) -> Callable[[], object]:
    return lambda: BatchedAlternatingTrainer(2, **kwargs)


@pytest.mark.parametrize(
    ("build", "error", "words"),
    [
        (lambda: BatchedAlternatingTrainer([]), ValueError, "seeds is empty"),
        (lambda: BatchedAlternatingTrainer(0), ValueError, "seeds"),
        (lambda: BatchedAlternatingTrainer([1, -2]), ValueError, "each seed must be >= 0"),
        (lambda: BatchedAlternatingTrainer("0123"), TypeError, "list of seeds"),
        (_alternating(net_settings={"seed": 3}), ValueError, "pass the seeds to the trainer"),
        (_alternating(net_settings={"hidden": 3}), TypeError, "TwoHeadNet arguments"),
        (_alternating(make_optimizer=lambda: tf.keras.optimizers.SGD()), TypeError, "keras.optimizers.Adam"),
        (_alternating(make_optimizer=lambda: tf.keras.optimizers.Adam(clipnorm=1.0)), ValueError, "clipnorm"),
        (_alternating(jit_compile=1), TypeError, "jit_compile must be True or False"),
        (lambda: BatchedJointTrainer(2, weighting=[FixedWeights()]), TypeError, "one FixedWeights per seed"),
        (lambda: BatchedJointTrainer(2, weighting="uncertainty"), TypeError, "FixedWeights and UncertaintyWeights"),
        (lambda: BatchedJointTrainer(2, weighting=FixedWeights(tasks=("a", "b"))), ValueError, "network's tasks"),
    ],
)
def test_bad_settings_are_refused(build: Callable[[], object], error: type, words: str) -> None:
    with pytest.raises(error, match=words):
        build()


@pytest.fixture(scope="module")
def two_runs() -> BatchedAlternatingTrainer:
    return BatchedAlternatingTrainer(2, net_settings=STRUCTURED_NET)


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda t: t.reset([1, 2, 3]), ValueError, "trains 2 seeds at once, got 3"),
        (lambda t: t.fit(separate, [["y1"], ["y1", "y2"]]), ValueError, "of the same length"),
        (lambda t: t.fit(separate, [["y1"]] * 3), ValueError, "a list of 2 of them"),
        (lambda t: t.fit(separate, ["y3"]), ValueError, "unknown task 'y3'"),
        (lambda t: t.fit(separate, "y1"), ValueError, "sequence of task names"),
        (lambda t: t.fit(lambda s: {"y1": separate(s)["y1"]}, ["y2"]), ValueError, "no 'y2' data set"),
        (lambda t: t.fit([separate(0), TASKS.sample_separate({"y1": 9}, seed=1)], ["y1"]), ValueError, "same number of rows"),
        (lambda t: t.fit([separate(0), [1, 2]], ["y1"]), TypeError, "datasets of seed 1 must be a dict"),
        (lambda t: t.fit(separate, ["y1"], batch_size=0), ValueError, "batch_size must be >= 1"),
        (lambda t: t.fit(separate, ["y1"], seeds=[1]), ValueError, "one seed per run"),
        (lambda t: t.fit(separate, ["y1"], eval_every=5), ValueError, "eval_every needs eval_data"),
        (lambda t: t.fit(separate, ["y1"], eval_data=[held_out(0), TASKS.sample(5, seed=0)]), ValueError, "same number"),
        (lambda t: t.network(2), ValueError, "below the number of seeds 2"),
    ],
)
def test_bad_calls_are_refused(two_runs: BatchedAlternatingTrainer, call: Callable, error: type, words: str) -> None:
    with pytest.raises(error, match=words):
        call(two_runs)


def test_joint_refuses_bad_data_and_explains_log_variances() -> None:
    trainer = BatchedJointTrainer(2)
    with pytest.raises(ValueError, match="no 'y2' targets"):
        trainer.fit({"x": np.ones((4, 10)), "y1": np.ones((4, 20))}, 3)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        trainer.fit(joint_data, 0)
    with pytest.raises(ValueError, match="not UncertaintyWeights"):
        _ = trainer.log_variances


# --------------------------------------------------------------------------- the products under XLA


@pytest.mark.parametrize("columns", [6, 1], ids=["matrix", "one column"])
def test_batched_matmul_has_tensorflows_value_and_gradient_under_xla(columns: int) -> None:
    """``batched_matmul`` (and the optimization barrier of ``mtl_helpers._tensorflow`` in it) changes speed only."""
    rng = np.random.default_rng(0)
    a, b = (tf.constant(rng.normal(size=shape).astype(np.float32)) for shape in ((3, 5, 4), (3, 4, columns)))

    def value_and_gradients(matmul: Callable) -> tuple:
        with tf.GradientTape() as tape:
            tape.watch([a, b])
            product = matmul(a, b)
            loss = tf.reduce_sum(tf.square(product))
        return (product, *tape.gradient(loss, [a, b]))

    ours = tf.function(lambda: value_and_gradients(batched_matmul), jit_compile=True)()
    theirs = tf.function(lambda: value_and_gradients(tf.matmul), jit_compile=True)()
    for mine, reference in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(mine.numpy(), reference.numpy(), rtol=1e-6, atol=1e-6)
    barrier = tf.function(lambda x: optimization_barrier(x * 2.0), jit_compile=True)
    np.testing.assert_array_equal(barrier(a).numpy(), (a * 2.0).numpy())
