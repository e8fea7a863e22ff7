"""mtl_helpers.models: TwoHeadNet and its Keras twin."""

from __future__ import annotations

import numpy as np
import pytest

from mtl_helpers import TwoHeadNet, article_batch, article_weights, keras_two_head_model, tf


def test_outputs_and_losses_have_the_articles_shapes(rng: np.random.Generator) -> None:
    net = TwoHeadNet()
    batch = article_batch(rng)
    outputs = net(batch["x"])
    assert {task: tuple(out.shape) for task, out in outputs.items()} == {"y1": (10, 20), "y2": (10, 20)}
    losses = net.losses(batch)
    expected = {task: 0.5 * np.sum((batch[task] - outputs[task].numpy()) ** 2) for task in ("y1", "y2")}
    for task in losses:
        assert float(losses[task]) == pytest.approx(expected[task], rel=1e-5)


def test_relu_outputs_are_non_negative_unless_linear(rng: np.random.Generator) -> None:
    x = rng.standard_normal((32, 10)).astype("float32")
    assert all(np.all(out.numpy() >= 0) for out in TwoHeadNet()(x).values())
    linear = TwoHeadNet(output_activation="linear")(x)
    assert any(np.any(out.numpy() < 0) for out in linear.values())


def test_given_weights_are_used(rng: np.random.Generator) -> None:
    weights = article_weights(rng)
    net = TwoHeadNet(weights=weights)
    assert all(np.array_equal(net.get_weights()[name], weights[name]) for name in weights)


def test_trainable_for_names_the_shared_layer_and_own_head() -> None:
    net = TwoHeadNet(use_bias=True)
    names = [v.name for v in net.trainable_for("y2")]
    assert names == ["shared:0", "y2:0", "shared_bias:0", "y2_bias:0"]


def test_single_task_batch_gives_single_loss(rng: np.random.Generator) -> None:
    batch = article_batch(rng)
    assert list(TwoHeadNet().losses({"x": batch["x"], "y2": batch["y2"]})) == ["y2"]


def test_seeded_default_initialisation_is_reproducible() -> None:
    first, second, other = TwoHeadNet(seed=4), TwoHeadNet(seed=4), TwoHeadNet(seed=5)
    assert np.array_equal(first.shared.numpy(), second.shared.numpy())
    assert not np.array_equal(first.shared.numpy(), other.shared.numpy())


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"in_dim": 0}, ValueError, "in_dim must be >= 1"),
        ({"output_activation": "tanh"}, ValueError, "'relu' or 'linear'"),
        ({"weights": {"shared": np.zeros((10, 20))}}, ValueError, "exactly the keys"),
        ({"weights": {"shared": np.zeros((20, 10)), "y1": np.zeros((20, 20)), "y2": np.zeros((20, 20))}},
         ValueError, r"weights\['shared'\] must have 10 rows"),
        ({"weights": [1, 2]}, TypeError, "weights must be a dict"),
        ({"use_bias": "yes"}, TypeError, "use_bias must be True or False"),
    ],
)
def test_rejects_bad_arguments(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        TwoHeadNet(**kwargs)


def test_rejects_bad_inputs(rng: np.random.Generator) -> None:
    net = TwoHeadNet()
    with pytest.raises(ValueError, match="must have 10 columns"):
        net(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"pass x\[:, None\]"):
        net(np.zeros(10))
    bad = article_batch(rng)
    bad["y1"][0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        net.losses(bad)
    with pytest.raises(ValueError, match="unknown task 'y3'"):
        net.trainable_for("y3")
    with pytest.raises(ValueError, match="holds no task targets"):
        net.losses({"x": bad["x"]})


@pytest.mark.parametrize("use_bias", [False, True])
def test_keras_model_matches_two_head_net(rng: np.random.Generator, use_bias: bool) -> None:
    kwargs = {"seed": 3, "use_bias": use_bias, "output_activation": "linear"}
    model = keras_two_head_model(**kwargs)
    net = TwoHeadNet(**kwargs)
    x = rng.standard_normal((5, 10)).astype("float32")
    keras_out = model(x)
    assert sorted(model.output_names) == ["y1", "y2"]
    for task, out in net(x).items():
        np.testing.assert_allclose(keras_out[task].numpy(), out.numpy(), rtol=1e-6)
    assert [layer.name for layer in model.layers] == ["x", "shared", "y1", "y2"]


def test_tensor_batches_are_accepted(rng: np.random.Generator) -> None:
    batch = {key: tf.constant(value) for key, value in article_batch(rng).items()}
    assert sorted(TwoHeadNet().losses(batch)) == ["y1", "y2"]


def test_set_weights_round_trips_and_checks_its_input() -> None:
    source, target = TwoHeadNet(seed=1, use_bias=True), TwoHeadNet(seed=2, use_bias=True)
    target.set_weights(source.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(source.get_weights().values(), target.get_weights().values(), strict=True))
    with pytest.raises(ValueError, match="exactly the keys"):
        target.set_weights({"shared": np.zeros((10, 20))})
    bad = source.get_weights()
    bad["y1"] = np.zeros((3, 3))
    with pytest.raises(ValueError, match=r"weights\['y1'\] must be finite with shape \(20, 20\)"):
        target.set_weights(bad)
