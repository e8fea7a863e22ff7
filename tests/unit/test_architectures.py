"""mtl_helpers.architectures: shared bottom, OMoE, MMoE and CGC networks."""

from __future__ import annotations

import numpy as np
import pytest

from mtl_helpers._tensorflow import tf
from mtl_helpers.architecture_sizes import matched_sizes
from mtl_helpers.architectures import CGC, MMoE, OMoE, SharedBottom
from mtl_helpers.models import STRUCTURED_NET, TwoHeadNet

SMALL = {
    "SharedBottom": lambda **kw: SharedBottom(in_dim=5, bottom_units=6, tower_units=3, **kw),
    "OMoE": lambda **kw: OMoE(in_dim=5, n_experts=3, expert_units=4, tower_units=3, **kw),
    "MMoE": lambda **kw: MMoE(in_dim=5, n_experts=3, expert_units=4, tower_units=3, **kw),
    "CGC": lambda **kw: CGC(in_dim=5, shared_experts=2, task_experts=1, expert_units=4, tower_units=3, **kw),
}
GATED = ["OMoE", "MMoE", "CGC"]


@pytest.fixture
def batch(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {key: rng.standard_normal((16, cols)).astype("float32") for key, cols in [("x", 5), ("y1", 1), ("y2", 1)]}


@pytest.mark.parametrize("name", SMALL)
def test_outputs_losses_and_metric_have_the_interfaces_shapes(name: str, batch: dict[str, np.ndarray]) -> None:
    net = SMALL[name]()
    outputs = net(batch["x"])
    assert {task: tuple(out.shape) for task, out in outputs.items()} == {"y1": (16, 1), "y2": (16, 1)}
    losses, metric = net.losses(batch), net.evaluate(batch)
    for task in net.tasks:
        errors = batch[task] - outputs[task].numpy()
        assert float(losses[task]) == pytest.approx(0.5 * np.sum(errors**2), rel=1e-5)
        assert metric[task] == pytest.approx(np.mean(errors**2), rel=1e-5)
    assert list(net.losses({"x": batch["x"], "y2": batch["y2"]})) == ["y2"]
    mse = SMALL[name](loss="mean_squared_error").losses(batch)
    assert float(mse["y1"]) == pytest.approx(metric["y1"], rel=1e-5)


@pytest.mark.parametrize("name", SMALL)
def test_specs_work_in_a_compiled_function(name: str, batch: dict[str, np.ndarray]) -> None:
    net = SMALL[name]()
    assert net.input_spec.shape.as_list() == [None, 5] and net.batch_spec("y1").shape.as_list() == [None, 1]
    signature = [net.input_spec, net.batch_spec("y1")]
    compiled = tf.function(lambda x, y: net.losses({"x": x, "y1": y})["y1"], input_signature=signature)
    assert float(compiled(batch["x"], batch["y1"])) == pytest.approx(float(net.losses(batch)["y1"]), rel=1e-6)


@pytest.mark.parametrize("name", SMALL)
def test_forward_runs_stacked_seeds_at_once(name: str, batch: dict[str, np.ndarray]) -> None:
    nets = [SMALL[name](seed=seed) for seed in range(3)]
    stacked = {key: tf.constant(np.stack([net.get_weights()[key] for net in nets])) for key in nets[0].get_weights()}
    outputs = nets[0].forward(stacked, tf.constant(np.stack([batch["x"]] * 3)))
    for seed, net in enumerate(nets):
        for task, prediction in net(batch["x"]).items():
            np.testing.assert_allclose(outputs[task][seed].numpy(), prediction.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", GATED)
def test_gates_are_softmax_rows_over_the_experts(name: str, batch: dict[str, np.ndarray]) -> None:
    net = SMALL[name]()
    gates = {task: gate.numpy() for task, gate in net.gates(batch["x"]).items()}
    assert {task: gate.shape for task, gate in gates.items()} == {"y1": (16, 3), "y2": (16, 3)}
    for gate in gates.values():
        assert np.all(gate >= 0) and np.allclose(gate.sum(axis=1), 1.0, atol=1e-6)
        assert not np.allclose(gate, gate[0])  # depends on the example
    assert np.array_equal(gates["y1"], gates["y2"]) == (name == "OMoE")


def test_shared_bottom_has_no_gates() -> None:
    assert not hasattr(SharedBottom(), "gates")


@pytest.mark.parametrize(
    ("name", "breakdown"),
    [
        # bottom 5*6+6 | tower 6*3+3, output 3+1
        ("SharedBottom", {"shared": 36, "y1": 25, "y2": 25}),
        # experts 3*(5*4+4), gate 5*3+3 | tower 4*3+3, output 3+1
        ("OMoE", {"shared": 90, "y1": 19, "y2": 19}),
        # experts 3*(5*4+4) | gate 5*3+3, tower 4*3+3, output 3+1
        ("MMoE", {"shared": 72, "y1": 37, "y2": 37}),
        # shared experts 2*(5*4+4) | own expert 5*4+4, gate 5*3+3, tower 4*3+3, output 3+1
        ("CGC", {"shared": 48, "y1": 61, "y2": 61}),
    ],
)
def test_parameter_counts_by_hand(name: str, breakdown: dict[str, int]) -> None:
    net = SMALL[name]()
    assert net.parameter_breakdown() == breakdown
    assert net.parameter_count() == sum(breakdown.values()) == sum(array.size for array in net.get_weights().values())
    assert sum(int(np.prod(v.shape)) for v in net.shared_variables) == breakdown["shared"]
    assert sum(int(np.prod(v.shape)) for v in net.own_variables("y1")) == breakdown["y1"]
    assert str(net.parameter_count()) in repr(net)


def test_variables_are_listed_once_shared_first() -> None:
    for name, make in SMALL.items():
        net = make()
        all_ids = [id(v) for v in net.all_variables]
        assert len(set(all_ids)) == len(all_ids) == len(net.trainable_variables), name
        shared = [id(v) for v in net.shared_variables]
        assert all_ids[: len(shared)] == shared
        assert [id(v) for v in net.trainable_for("y2")] == shared + [id(v) for v in net.own_variables("y2")]


def test_owners_of_each_architecture() -> None:
    names = {name: [v.name.split(":")[0] for v in make().own_variables("y1")] for name, make in SMALL.items()}
    assert names["OMoE"] == ["y1_tower", "y1_tower_bias", "y1_output", "y1_output_bias"]
    assert names["MMoE"][:2] == ["y1_gate", "y1_gate_bias"]
    assert names["CGC"][:4] == ["y1_experts", "y1_experts_bias", "y1_gate", "y1_gate_bias"]
    assert [v.name.split(":")[0] for v in OMoE().shared_variables] == ["experts", "experts_bias", "gate", "gate_bias"]


def test_matched_sizes_are_within_the_tolerance() -> None:
    for target in (600, 2000, 5000):
        sizes = matched_sizes(target, in_dim=10, n_experts=4, tower_units=8, tolerance=0.05)
        assert list(sizes) == ["SharedBottom", "OMoE", "MMoE", "CGC"]
        for matched in sizes.values():
            net = matched.build(seed=1)
            assert net.parameter_count() == matched.parameters
            assert abs(matched.parameters / target - 1) <= 0.05
            assert set(matched.row()) == {"model", "sizes", "parameters", "difference (%)"}
    assert sizes["CGC"].kwargs["shared_experts"] == 2 and sizes["CGC"].kwargs["task_experts"] == 1


def test_matched_sizes_refuses_what_it_cannot_match() -> None:
    with pytest.raises(ValueError, match="cannot get within 5% of 200 parameters"):
        matched_sizes(200, in_dim=10, n_experts=4, tower_units=8)
    with pytest.raises(ValueError, match="at least one shared expert"):
        matched_sizes(2000, n_experts=2, task_experts=1)


@pytest.mark.parametrize("name", SMALL)
def test_initialize_gives_a_new_network_bit_for_bit(name: str, batch: dict[str, np.ndarray]) -> None:
    net = SMALL[name](seed=3)
    net.set_weights({key: value + 1.0 for key, value in net.get_weights().items()})
    net.initialize(7)
    fresh = SMALL[name](seed=7).get_weights()
    assert all(np.array_equal(net.get_weights()[key], fresh[key]) for key in fresh)
    assert not np.array_equal(SMALL[name](seed=8).get_weights()[next(iter(fresh))], next(iter(fresh.values())))


def test_shared_bottom_without_tower_is_two_head_net(batch: dict[str, np.ndarray]) -> None:
    ours = SharedBottom(in_dim=5, bottom_units=6, tower_units=0, seed=4)
    reference = TwoHeadNet(in_dim=5, shared_units=6, **STRUCTURED_NET, seed=4)
    ours_out, reference_out = ours(batch["x"]), reference(batch["x"])
    assert all(np.array_equal(ours_out[task].numpy(), reference_out[task].numpy()) for task in ours.tasks)


@pytest.mark.parametrize("name", SMALL)
def test_alternating_step_leaves_the_other_tasks_variables_untouched(name: str, batch: dict[str, np.ndarray]) -> None:
    net = SMALL[name]()
    before = {id(v): v.numpy().copy() for v in net.all_variables}
    variables = net.trainable_for("y1")
    optimizer = tf.keras.optimizers.Adam(learning_rate=0.01)
    for _ in range(3):
        with tf.GradientTape() as tape:
            loss = net.losses({"x": batch["x"], "y1": batch["y1"]})["y1"]
        gradients = tape.gradient(loss, variables + net.own_variables("y2"))
        assert all(gradient is None for gradient in gradients[len(variables):])  # y1's loss ignores y2's own
        optimizer.apply_gradients(zip(gradients[: len(variables)], variables, strict=True))
    assert all(np.array_equal(v.numpy(), before[id(v)]) for v in net.own_variables("y2"))
    assert all(not np.array_equal(v.numpy(), before[id(v)]) for v in net.trainable_for("y1"))


def test_three_tasks(rng: np.random.Generator) -> None:
    net = MMoE(in_dim=4, n_experts=2, expert_units=3, tower_units=0, tasks=("a", "b", "c"))
    assert list(net(rng.standard_normal((2, 4)))) == ["a", "b", "c"]
    assert net.parameter_breakdown() == {"shared": 2 * (4 * 3 + 3), "a": 4 * 2 + 2 + 3 + 1, "b": 14, "c": 14}


def test_get_and_set_weights_round_trip(batch: dict[str, np.ndarray]) -> None:
    source, target = MMoE(in_dim=5, seed=1), MMoE(in_dim=5, seed=2)
    target.set_weights(source.get_weights())
    assert np.array_equal(source(batch["x"])["y2"].numpy(), target(batch["x"])["y2"].numpy())
    with pytest.raises(ValueError, match="exactly the keys"):
        target.set_weights({"experts": np.zeros((5, 4, 8))})
    weights = source.get_weights()
    weights["y1_gate"] = np.zeros((4, 5))
    with pytest.raises(ValueError, match=r"weights\['y1_gate'\] must be finite with shape \(5, 4\)"):
        target.set_weights(weights)


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: MMoE(n_experts=0), ValueError, "n_experts must be >= 1"),
        (lambda: OMoE(expert_units=2.5), TypeError, "expert_units must be an int"),
        (lambda: SharedBottom(tower_units=-1), ValueError, "tower_units must be >= 0"),
        (lambda: CGC(task_experts=0), ValueError, "task_experts must be >= 1"),
        (lambda: MMoE(seed=-1), ValueError, "seed must be >= 0"),
        (lambda: MMoE(tasks=("y1", "x")), ValueError, "'x' is the batch's input key"),
        (lambda: MMoE(tasks="y1"), TypeError, "tasks must be a sequence"),
        (lambda: MMoE(tasks=("y1", "y1")), ValueError, "distinct"),
        (lambda: MMoE(loss="huber"), ValueError, "'l2_loss' or 'mean_squared_error'"),
    ],
)
def test_bad_settings_are_refused(make, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        make()


def test_bad_inputs_are_refused(batch: dict[str, np.ndarray]) -> None:
    net = MMoE(in_dim=5)
    with pytest.raises(ValueError, match=r"x must have 5 columns, got shape \(16, 4\)"):
        net(batch["x"][:, :4])
    with pytest.raises(ValueError, match=r"pass x\[:, None\]"):
        net.gates(batch["x"][:, 0])
    with pytest.raises(ValueError, match=r"x must have shape \(n, 5\)"):
        net(tf.zeros((3, 7)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        net(np.full((2, 5), np.nan))
    with pytest.raises(ValueError, match=r"batch\['y1'\] must be 2-D"):
        net.losses({"x": batch["x"], "y1": batch["y1"][:, 0]})
    with pytest.raises(ValueError, match="no task targets"):
        net.losses({"x": batch["x"], "z": batch["y1"]})
    with pytest.raises(ValueError, match="unknown task 'y3'"):
        net.trainable_for("y3")
    with pytest.raises(ValueError, match="unknown task 'y3'"):
        net.check_batch(batch, ["y3"])
