"""mtl_helpers.trainers and compat_v1: the two eras agree, step for step; one trainer interface."""

from __future__ import annotations

import numpy as np
import pytest

import mtl_helpers
from mtl_helpers import (
    AlternatingTrainer,
    FixedWeights,
    JointTrainer,
    RelatedTasks,
    TwoHeadNet,
    UncertaintyWeights,
    article_adam,
    article_batch,
    article_weights,
    compat_v1,
    tf,
)
from mtl_helpers.trainers.base import batch_indices

STEPS = 60


def _coin_flips(rng: np.random.Generator, steps: int) -> list[str]:
    return ["y1" if flip < 0.5 else "y2" for flip in rng.random(steps)]


@pytest.fixture
def article_run(rng: np.random.Generator) -> dict:
    """The article's setting: rand weights, rand*10 batches, coin flips."""
    return {
        "weights": article_weights(rng),
        "batches": [article_batch(rng) for _ in range(STEPS)],
        "tasks": _coin_flips(rng, STEPS),
    }


def test_default_optimizer_is_tf1_adam() -> None:
    config = article_adam().get_config()
    settings = (config["learning_rate"], config["beta_1"], config["beta_2"], config["epsilon"])
    assert settings == pytest.approx((0.001, 0.9, 0.999, 1e-8), rel=1e-6)
    with pytest.raises(ValueError, match="learning_rate must be a positive number"):
        article_adam(0.0)


def test_alternating_reproduces_the_tf1_session_step_for_step(article_run: dict) -> None:
    trainer = AlternatingTrainer(TwoHeadNet(weights=article_run["weights"]))
    with compat_v1.SessionAlternatingTrainer(compat_v1.ArticleGraph(article_run["weights"])) as session_trainer:
        tf2 = [trainer.step(t, b) for t, b in zip(article_run["tasks"], article_run["batches"], strict=True)]
        tf1 = [session_trainer.step(t, b) for t, b in zip(article_run["tasks"], article_run["batches"], strict=True)]
        final_tf1 = session_trainer.get_weights()
    assert len(set(article_run["tasks"])) == 2
    np.testing.assert_allclose(tf2, tf1, rtol=1e-5)
    for name, value in trainer.net.get_weights().items():
        np.testing.assert_allclose(value, final_tf1[name], rtol=1e-4, atol=1e-5)


def test_joint_reproduces_the_tf1_session_step_for_step(article_run: dict) -> None:
    weights = {"y1": 1.0, "y2": 0.25}
    trainer = JointTrainer(TwoHeadNet(weights=article_run["weights"]), weighting=FixedWeights(weights))
    graph = compat_v1.ArticleGraph(article_run["weights"])
    with compat_v1.SessionJointTrainer(graph, loss_weights=weights) as session_trainer:
        for batch in article_run["batches"]:
            tf2, tf1 = trainer.step(batch), session_trainer.step(batch)
            for key in ("y1", "y2", "total"):
                assert tf2[key] == pytest.approx(tf1[key], rel=1e-5)
            assert tf2["total"] == pytest.approx(tf2["y1"] + 0.25 * tf2["y2"], rel=1e-6)


def test_alternating_step_leaves_the_other_head_bit_for_bit(article_run: dict) -> None:
    net = TwoHeadNet(weights=article_run["weights"])
    trainer = AlternatingTrainer(net)
    before = net.get_weights()
    trainer.step("y1", article_run["batches"][0])
    after = net.get_weights()
    assert np.array_equal(after["y2"], before["y2"])
    assert not np.array_equal(after["y1"], before["y1"])
    assert not np.array_equal(after["shared"], before["shared"])


def test_steps_do_not_retrace(article_run: dict) -> None:
    trainer = AlternatingTrainer(TwoHeadNet())
    joint = JointTrainer(TwoHeadNet())
    for task, batch in zip(article_run["tasks"][:20], article_run["batches"][:20], strict=True):
        trainer.step(task, batch)
        joint.step(batch)
    small = {key: value[:3] for key, value in article_run["batches"][0].items()}  # a new batch size
    trainer.step("y1", small)
    joint.step(small)
    assert trainer.tracing_count == 2  # once per task, at construction
    assert joint.tracing_count == 1


def test_trainers_accept_numpy_or_tensors(rng: np.random.Generator) -> None:
    batch = article_batch(rng)
    tensors = {key: tf.constant(value) for key, value in batch.items()}
    first = AlternatingTrainer(TwoHeadNet(seed=1)).step("y2", batch)
    second = AlternatingTrainer(TwoHeadNet(seed=1)).step("y2", tensors)
    assert first == second


def test_each_task_has_its_own_adam_state(article_run: dict) -> None:
    trainer = AlternatingTrainer(TwoHeadNet(weights=article_run["weights"]))
    for task, batch in zip(article_run["tasks"], article_run["batches"], strict=True):
        trainer.step(task, batch)
    counts = {task: int(opt.iterations.numpy()) for task, opt in trainer.optimizers.items()}
    assert counts == {task: article_run["tasks"].count(task) for task in ("y1", "y2")}


def test_fit_gives_the_same_losses_as_steps() -> None:
    tasks = RelatedTasks(correlation=0.5)
    datasets = tasks.sample_separate({"y1": 40, "y2": 25}, seed=0)
    schedule = _coin_flips(np.random.default_rng(1), 30)
    options = {"head_units": 1, "output_activation": "linear", "use_bias": True, "seed": 2}
    fitted = AlternatingTrainer(TwoHeadNet(**options)).fit(datasets, schedule, batch_size=8, seed=5)
    stepper = AlternatingTrainer(TwoHeadNet(**options))
    task_ids = np.array([0 if task == "y1" else 1 for task in schedule])
    rows = batch_indices([40, 25], task_ids, 8, 5)
    stepped = [
        stepper.step(task, {"x": datasets[task]["x"][row], task: datasets[task][task][row]})
        for task, row in zip(schedule, rows, strict=True)
    ]
    np.testing.assert_array_equal(fitted.loss, np.asarray(stepped, dtype=np.float32))
    assert list(fitted.task) == schedule


def test_joint_fit_gives_the_same_losses_as_steps() -> None:
    data = RelatedTasks(correlation=0.5).sample(50, seed=0)
    options = {"head_units": 1, "output_activation": "linear", "use_bias": True, "seed": 2}
    fitted = JointTrainer(TwoHeadNet(**options)).fit(data, 20, batch_size=8, seed=3)
    stepper = JointTrainer(TwoHeadNet(**options))
    rows = batch_indices([50], np.zeros(20, dtype=int), 8, 3)
    stepped = [stepper.step({key: value[row] for key, value in data.items()})["total"] for row in rows]
    np.testing.assert_array_equal(fitted.loss, np.asarray(stepped, dtype=np.float32))


@pytest.mark.parametrize("trainer_class", [AlternatingTrainer, JointTrainer])
def test_xla_loop_matches_the_plain_loop(trainer_class: type) -> None:
    tasks = RelatedTasks(correlation=0.5)
    options = {"head_units": 1, "output_activation": "linear", "use_bias": True, "seed": 2}
    results = []
    for jit in (False, True):
        trainer = trainer_class(TwoHeadNet(**options), jit_compile=jit)
        if trainer_class is AlternatingTrainer:
            log = trainer.fit(tasks.sample_separate({"y1": 30, "y2": 30}, seed=0), ["y1", "y2"] * 10, batch_size=4)
        else:
            log = trainer.fit(tasks.sample(30, seed=0), 20, batch_size=4)
        results.append(log.loss)
    np.testing.assert_allclose(results[0], results[1], rtol=1e-4)


def test_fit_evaluates_held_out_data_and_learns() -> None:
    tasks = RelatedTasks(correlation=0.9)
    net = TwoHeadNet(head_units=1, output_activation="linear", use_bias=True)
    trainer = AlternatingTrainer(net, make_optimizer=lambda: article_adam(0.01))
    test = tasks.sample(200, seed=9)
    log = trainer.fit(tasks.sample_separate({"y1": 200, "y2": 200}, seed=0), ["y1", "y2"] * 150, eval_data=test, eval_every=100)
    assert list(log.eval_step) == [0, 100, 200, 300]
    assert all(values[-1] < 0.5 * values[0] for values in log.eval_metric.values())
    assert log.final_metric() == pytest.approx(net.evaluate(test))


def test_evaluate_is_a_per_value_mean_squared_error(rng: np.random.Generator) -> None:
    net = TwoHeadNet()
    batch = article_batch(rng)
    outputs = net(batch["x"])
    mse = net.evaluate(batch)
    assert mse["y1"] == pytest.approx(float(np.mean((batch["y1"] - outputs["y1"].numpy()) ** 2)), rel=1e-5)


def test_trainers_reject_bad_inputs(rng: np.random.Generator) -> None:
    net = TwoHeadNet()
    trainer = AlternatingTrainer(net)
    batch = article_batch(rng)
    with pytest.raises(ValueError, match="unknown task 'y3'"):
        trainer.step("y3", batch)
    with pytest.raises(ValueError, match="no 'y2' targets"):
        trainer.step("y2", {"x": batch["x"], "y1": batch["y1"]})
    with pytest.raises(ValueError, match="must have 20 columns"):
        trainer.step("y1", {"x": batch["x"], "y1": batch["y1"][:, :3]})
    with pytest.raises(TypeError, match="a batch must be a dict"):
        trainer.step("y1", [batch["x"], batch["y1"]])
    with pytest.raises(TypeError, match=r"net must be a network such as mtl_helpers\.TwoHeadNet"):
        AlternatingTrainer("net")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="make_optimizer must be a function"):
        AlternatingTrainer(net, make_optimizer=article_adam())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"weighting must be a mtl_helpers\.Weighting"):
        JointTrainer(net, weighting={"y1": 1.0, "y2": 1.0})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must be the network's tasks"):
        JointTrainer(net, weighting=FixedWeights(tasks=("y1",)))
    with pytest.raises(TypeError, match="aggregator must be"):
        JointTrainer(net, aggregator="pcgrad")
    with pytest.raises(TypeError, match="jit_compile must be True or False"):
        JointTrainer(net, jit_compile="yes")  # type: ignore[arg-type]


def test_fit_rejects_bad_schedules_and_data() -> None:
    tasks = RelatedTasks(correlation=0.5)
    trainer = AlternatingTrainer(TwoHeadNet(head_units=1))
    datasets = tasks.sample_separate({"y1": 10}, seed=0)
    with pytest.raises(ValueError, match="schedule is empty"):
        trainer.fit(datasets, [])
    with pytest.raises(ValueError, match="unknown task 'y7'"):
        trainer.fit(datasets, ["y7"])
    with pytest.raises(ValueError, match="has no 'y2' data set"):
        trainer.fit(datasets, ["y1", "y2"])
    with pytest.raises(ValueError, match="eval_every needs eval_data"):
        trainer.fit(datasets, ["y1"], eval_every=1)
    with pytest.raises(ValueError, match="no held-out data"):
        trainer.fit(datasets, ["y1"]).final_metric()


def test_compat_v1_graph_is_private_and_defaults_match_two_head_net() -> None:
    graph = compat_v1.ArticleGraph(seed=7)
    assert graph.graph is not tf.compat.v1.get_default_graph()
    with compat_v1.SessionAlternatingTrainer(graph) as trainer:
        weights = trainer.get_weights()
    reference = TwoHeadNet(seed=7).get_weights()
    assert all(np.array_equal(weights[name], reference[name]) for name in reference)
    assert sorted(graph.placeholders) == ["x", "y1", "y2"]
    with pytest.raises(ValueError, match="learning_rate must be a positive number"):
        compat_v1.SessionAlternatingTrainer(graph, learning_rate=-1.0)
    with pytest.raises(TypeError, match=r"compat_v1\.ArticleGraph"):
        compat_v1.SessionJointTrainer(TwoHeadNet())  # type: ignore[arg-type]


def test_package_exports_the_contract() -> None:
    for name in ("setup", "article_batch", "TwoHeadNet", "AlternatingTrainer", "JointTrainer", "compat_v1", "check"):
        assert name in mtl_helpers.__all__ and hasattr(mtl_helpers, name)


def _joint_uncertainty(net: TwoHeadNet) -> JointTrainer:
    return JointTrainer(net, weighting=UncertaintyWeights(), make_optimizer=lambda: article_adam(0.05))


class _SumOfRows:
    """The simplest aggregator: the sum of the task gradients (what the total's gradient is)."""

    def __call__(self, jacobian: tf.Tensor) -> tf.Tensor:
        return tf.reduce_sum(jacobian, axis=0)

    def reset(self) -> None:
        pass


TRAINERS = {
    "alternating": AlternatingTrainer,
    "joint": JointTrainer,
    "joint, fixed weights": lambda net: JointTrainer(net, weighting=FixedWeights({"y1": 0.3, "y2": 2.0})),
    "joint, uncertainty": _joint_uncertainty,
    "joint, aggregator": lambda net: JointTrainer(net, aggregator=_SumOfRows()),
}


@pytest.mark.parametrize("kind", TRAINERS)
@pytest.mark.parametrize("loss", ["l2_loss", "mean_squared_error"])
def test_reset_reproduces_a_new_trainer_bit_for_bit(kind: str, loss: str) -> None:
    tasks = RelatedTasks(correlation=0.5)
    options = {**mtl_helpers.STRUCTURED_NET, "loss": loss}
    make = TRAINERS[kind]

    def train(trainer: AlternatingTrainer | JointTrainer) -> np.ndarray:
        if isinstance(trainer, AlternatingTrainer):
            return trainer.fit(tasks.sample_separate({"y1": 30, "y2": 30}, seed=0), ["y1", "y2"] * 10, batch_size=4).loss
        return trainer.fit(tasks.sample(30, seed=0), 20, batch_size=4).loss

    reused = make(TwoHeadNet(seed=1, **options))
    train(reused)  # leaves trained weights, Adam state and learned loss weights behind
    reused.reset(2)
    assert all(int(optimizer.iterations.numpy()) == 0 for optimizer in reused.optimizers.values())
    fresh = make(TwoHeadNet(seed=2, **options))
    np.testing.assert_array_equal(train(reused), train(fresh))
    for name, value in fresh.net.get_weights().items():
        np.testing.assert_array_equal(reused.net.get_weights()[name], value)
    assert reused.tracing_count == fresh.tracing_count  # restarting traced nothing new


def test_initialize_gives_a_new_networks_weights() -> None:
    net = TwoHeadNet(seed=5, **mtl_helpers.STRUCTURED_NET)
    net.set_weights({name: value + 1.0 for name, value in net.get_weights().items()})
    net.initialize(3)
    reference = TwoHeadNet(seed=3, **mtl_helpers.STRUCTURED_NET).get_weights()
    for name, value in net.get_weights().items():
        np.testing.assert_array_equal(value, reference[name])


def _hand_written_weighted_step(net: TwoHeadNet, optimizer, weights: dict, batch: dict) -> float:
    """The weighted joint step written out: the reference for the weighting hook."""
    variables = net.all_variables
    with tf.GradientTape() as tape:
        losses = net.losses(batch)
        total = weights["y1"] * losses["y1"] + weights["y2"] * losses["y2"]
    optimizer.apply_gradients(zip(tape.gradient(total, variables), variables, strict=True))
    return float(total)


@pytest.mark.parametrize("loss", ["l2_loss", "mean_squared_error"])
def test_fixed_weighting_gives_the_hand_written_weighted_step(loss: str) -> None:
    weights = {"y1": 0.5, "y2": 3.0}
    data = RelatedTasks(correlation=0.5).sample(64, seed=0)
    options = {**mtl_helpers.STRUCTURED_NET, "loss": loss, "seed": 4}
    trainer = JointTrainer(TwoHeadNet(**options), weighting=FixedWeights(weights))
    net, optimizer = TwoHeadNet(**options), article_adam()
    optimizer.build(net.all_variables)
    for start in range(0, 64, 16):
        batch = {key: tf.constant(value[start : start + 16]) for key, value in data.items()}
        by_trainer = trainer.step(batch)
        assert by_trainer["total"] == _hand_written_weighted_step(net, optimizer, weights, batch)
        assert (by_trainer["weight_y1"], by_trainer["weight_y2"]) == (0.5, 3.0)
    for name, value in net.get_weights().items():
        np.testing.assert_array_equal(trainer.net.get_weights()[name], value)


def test_an_aggregator_that_sums_rows_is_plain_joint_training() -> None:
    data = RelatedTasks(correlation=0.5).sample(64, seed=0)
    options = {**mtl_helpers.STRUCTURED_NET, "seed": 4}
    plain = JointTrainer(TwoHeadNet(**options), weighting=FixedWeights({"y1": 2.0, "y2": 0.5})).fit(data, 30, batch_size=8)
    summed = JointTrainer(
        TwoHeadNet(**options), weighting=FixedWeights({"y1": 2.0, "y2": 0.5}), aggregator=_SumOfRows()
    ).fit(data, 30, batch_size=8)
    np.testing.assert_allclose(summed.loss, plain.loss, rtol=1e-5)


def test_the_aggregator_sees_one_weighted_row_per_task() -> None:
    size = 10 * 20 + 20  # the shared layer's weights and biases
    seen = tf.Variable(tf.zeros([2, size]))

    class Recorder(_SumOfRows):
        def __call__(self, jacobian: tf.Tensor) -> tf.Tensor:
            seen.assign(jacobian)  # runs inside the compiled step
            return super().__call__(jacobian)

    net = TwoHeadNet(seed=0, **mtl_helpers.STRUCTURED_NET)
    batch = RelatedTasks(correlation=0.5).sample(16, seed=0)
    with tf.GradientTape(persistent=True) as tape:
        losses = net.losses(batch)
    expected = [
        np.concatenate([tf.reshape(g, [-1]).numpy() for g in tape.gradient(losses[task], net.shared_variables)])
        for task in ("y1", "y2")
    ]
    trainer = JointTrainer(net, weighting=FixedWeights({"y1": 1.0, "y2": 4.0}), aggregator=Recorder())
    trainer.step(batch)
    np.testing.assert_allclose(seen.numpy()[0], expected[0], rtol=1e-5)
    np.testing.assert_allclose(seen.numpy()[1], 4.0 * expected[1], rtol=1e-5)


def test_joint_log_reports_the_weights_of_every_step() -> None:
    data = RelatedTasks(correlation=0.5).sample(64, seed=0)
    net = TwoHeadNet(seed=0, **mtl_helpers.STRUCTURED_NET, loss="mean_squared_error")
    log = _joint_uncertainty(net).fit(data, 25, batch_size=8)
    assert set(log.weights) == {"y1", "y2"} and log.weights["y1"].shape == (25,)
    assert log.weights["y1"][0] == 1.0 and log.weights["y1"][-1] != 1.0
    plain = JointTrainer(TwoHeadNet(seed=0, **mtl_helpers.STRUCTURED_NET)).fit(data, 5)
    np.testing.assert_array_equal(plain.weights["y2"], np.ones(5, np.float32))
