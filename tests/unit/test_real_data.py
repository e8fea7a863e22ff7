"""mtl_helpers.real_data, .heads and .multi_head: real data sets, mixed heads, missing labels."""

from __future__ import annotations

import numpy as np
import pytest

from mtl_helpers._tensorflow import tf
from mtl_helpers.heads import Classification, Regression
from mtl_helpers.multi_head import MultiHeadNet, keras_losses, keras_multi_head_model, keras_targets
from mtl_helpers.real_data import (
    PENGUIN_FEATURES,
    SPLIT_FRACTIONS,
    multi_digits,
    penguins,
    stratified_split,
)

SIZES = {"train": 300, "validation": 100, "test": 100}
HEADS = {"species": Classification(3), "sex": Classification(2), "body_mass": Regression(1)}


@pytest.fixture(scope="module")
def digits_source() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    return (digits.images / 16.0).astype(np.float32), digits.target


@pytest.fixture(scope="module")
def birds() -> dict[str, dict[str, np.ndarray]]:
    return penguins(seed=0)


def mixed_batch(rng: np.random.Generator, n: int = 12) -> dict[str, np.ndarray]:
    """A penguin-shaped batch with some labels of each task missing."""
    batch = {
        "x": rng.standard_normal((n, 6)).astype(np.float32),
        "species": rng.integers(0, 3, n).astype(np.int32),
        "sex": rng.integers(0, 2, n).astype(np.int32),
        "body_mass": rng.standard_normal((n, 1)).astype(np.float32),
    }
    batch["sex"][[1, 4, 5]] = -1
    batch["species"][[2]] = -1
    batch["body_mass"][[0, 4]] = np.nan
    return batch


def gradients(net: MultiHeadNet, batch: dict, task: str) -> list[np.ndarray]:
    with tf.GradientTape() as tape:
        loss = net.losses(batch)[task]
    return [g.numpy() for g in tape.gradient(loss, net.trainable_for(task))]


# --- stratified_split ------------------------------------------------------------------


def test_stratified_split_is_disjoint_complete_stratified_and_seeded() -> None:
    labels = np.repeat([0, 1, 2], [50, 30, 17])
    splits = stratified_split(labels, seed=4)
    rows = np.concatenate(list(splits.values()))
    assert sorted(rows.tolist()) == list(range(len(labels)))
    for name, fraction in SPLIT_FRACTIONS.items():
        counts = np.bincount(labels[splits[name]], minlength=3)
        assert np.all(np.abs(counts - fraction * np.array([50, 30, 17])) < 1)
    again, other = stratified_split(labels, seed=4), stratified_split(labels, seed=5)
    assert all(np.array_equal(splits[name], again[name]) for name in splits)
    assert not np.array_equal(splits["train"], other["train"])
    assert not np.all(np.diff(labels[splits["train"]]) >= 0), "a split's rows should come shuffled"


@pytest.mark.parametrize(
    ("fractions", "error", "message"),
    [
        ({"train": 0.5, "test": 0.4}, ValueError, "add up to 1"),
        ({"train": 1.2, "test": -0.2}, ValueError, r"fractions\['test'\] must be a number > 0"),
        ([0.6, 0.4], TypeError, "fractions must be a dict"),
    ],
)
def test_stratified_split_rejects_bad_fractions(fractions: object, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        stratified_split(np.zeros(10), seed=0, fractions=fractions)


# --- multi_digits ----------------------------------------------------------------------


def test_multi_digits_shapes_range_and_balance() -> None:
    data = multi_digits({"train": 3000, "validation": 200, "test": 200}, seed=0)
    assert list(data) == ["train", "validation", "test"]
    train = data["train"]
    assert {key: (value.shape, value.dtype.name) for key, value in train.items()} == {
        "x": ((3000, 96), "float32"),
        "left": ((3000,), "int32"),
        "right": ((3000,), "int32"),
    }
    assert train["x"].min() == 0.0 and train["x"].max() == 1.0
    for task in ("left", "right"):
        counts = np.bincount(train[task], minlength=10)
        assert counts.min() > 220 and counts.max() < 380, counts  # 300 expected, sd 16
    assert np.mean(train["left"] == train["right"]) < 0.15  # drawn independently: about 0.1
    wide = multi_digits({"train": 5, "validation": 5, "test": 5}, seed=0, shift=1, canvas=(12, 14))
    assert wide["train"]["x"].shape == (5, 12 * 14)


def test_multi_digits_is_fixed_by_seed_and_splits_are_independent() -> None:
    first = multi_digits(SIZES, seed=1)
    again = multi_digits(SIZES, seed=1)
    other = multi_digits(SIZES, seed=2)
    bigger = multi_digits({**SIZES, "train": 500}, seed=1)
    for name in SIZES:
        assert all(np.array_equal(first[name][key], again[name][key]) for key in first[name])
        assert not np.array_equal(first[name]["x"], other[name]["x"])
    for name in ("validation", "test"):
        assert all(np.array_equal(first[name][key], bigger[name][key]) for key in first[name])


def test_no_source_image_is_shared_between_splits(digits_source: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = digits_source
    pools = stratified_split(labels, seed=3)
    assert sum(len(pool) for pool in pools.values()) == len(set(np.concatenate(list(pools.values())))) == 1797
    data = multi_digits(SIZES, seed=3)
    for name, split in data.items():
        pool = pools[name]
        own = images[pool]
        left_only = own[:, :, :4].reshape(len(pool), -1)  # canvas columns 0-3 show the left digit alone
        right_only = own[:, :, 4:].reshape(len(pool), -1)  # canvas columns 8-11 show the right digit alone
        for canvas, left, right in zip(split["x"].reshape(-1, 8, 12), split["left"], split["right"], strict=True):
            found = False
            for i in np.flatnonzero((left_only == canvas[:, :4].ravel()).all(axis=1)):
                for j in np.flatnonzero((right_only == canvas[:, 8:].ravel()).all(axis=1)):
                    rebuilt = np.zeros((8, 12), np.float32)
                    rebuilt[:, :8] = own[i]
                    rebuilt[:, 4:] = np.maximum(rebuilt[:, 4:], own[j])
                    if i != j and np.array_equal(rebuilt, canvas):
                        found = found or (labels[pool[i]] == left and labels[pool[j]] == right)
            assert found, f"a {name} canvas is not made of two images of the {name} pool"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_samples": {"train": 10}}, "one count per split"),
        ({"n_samples": {**SIZES, "test": 0}}, r"n_samples\['test'\] must be >= 1"),
        ({"shift": 5}, "shift must be between 0 and 4"),
        ({"canvas": (8, 10)}, "too small"),
    ],
)
def test_multi_digits_rejects_bad_arguments(kwargs: dict, message: str) -> None:
    arguments = {"n_samples": SIZES, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=message):
        multi_digits(**arguments)


# --- penguins --------------------------------------------------------------------------


def test_penguins_shapes_counts_and_missing_sex(birds: dict) -> None:
    assert list(birds) == ["train", "validation", "test"]
    for split in birds.values():
        n = len(split["x"])
        assert {key: (value.shape, value.dtype.name) for key, value in split.items()} == {
            "x": ((n, len(PENGUIN_FEATURES)), "float32"),
            "species": ((n,), "int32"),
            "sex": ((n,), "int32"),
            "body_mass": ((n, 1), "float32"),
        }
        assert np.all(np.isfinite(split["x"])) and np.all(np.isfinite(split["body_mass"]))
        assert np.array_equal(split["x"][:, 3:].sum(axis=1), np.ones(n))  # island one-hot
        assert set(np.unique(split["sex"])) <= {-1, 0, 1}
        assert split["body_mass"].min() >= 2700 and split["body_mass"].max() <= 6300  # grams
    species = np.concatenate([split["species"] for split in birds.values()])
    sex = np.concatenate([split["sex"] for split in birds.values()])
    assert len(species) == 342  # 344 birds, 2 without any measurement dropped
    assert np.bincount(species).tolist() == [151, 68, 123]
    assert int((sex == -1).sum()) == 9


def test_penguin_splits_are_stratified_standardised_on_train_and_seeded(birds: dict) -> None:
    totals = np.array([151, 68, 123])
    for name, fraction in SPLIT_FRACTIONS.items():
        counts = np.bincount(birds[name]["species"], minlength=3)
        assert np.all(np.abs(counts - fraction * totals) < 1), (name, counts)
    train = birds["train"]["x"][:, :3]
    np.testing.assert_allclose(train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(train.std(axis=0), 1.0, atol=1e-5)
    assert np.abs(birds["validation"]["x"][:, :3].mean(axis=0)).max() > 1e-3  # not its own statistics
    reordered = penguins(seed=0, fractions={"test": 0.25, "train": 0.75})["train"]["x"][:, :3]
    np.testing.assert_allclose(reordered.mean(axis=0), 0.0, atol=1e-5)
    with pytest.raises(ValueError, match="needs a 'train' split"):
        penguins(seed=0, fractions={"fit": 0.8, "test": 0.2})
    again, other = penguins(seed=0), penguins(seed=1)
    assert all(np.array_equal(birds[name][key], again[name][key]) for name in birds for key in birds[name])
    assert not np.array_equal(birds["test"]["body_mass"], other["test"]["body_mass"])


# --- MultiHeadNet: the masked loss --------------------------------------------------------


def test_a_row_without_a_label_adds_nothing_to_that_tasks_loss_or_gradients(rng: np.random.Generator) -> None:
    net = MultiHeadNet(6, 8, HEADS, head_units=4, seed=0)
    batch = mixed_batch(rng)
    for task, missing in (("sex", [1, 4, 5]), ("species", [2]), ("body_mass", [0, 4])):
        kept = np.setdiff1d(np.arange(len(batch["x"])), missing)
        smaller = {"x": batch["x"][kept], task: batch[task][kept]}
        with_row = float(net.losses({"x": batch["x"], task: batch[task]})[task])
        np.testing.assert_allclose(with_row, float(net.losses(smaller)[task]), rtol=1e-6)
        for full, reduced in zip(gradients(net, batch, task), gradients(net, smaller, task), strict=True):
            np.testing.assert_allclose(full, reduced, rtol=1e-5, atol=1e-7)


def test_loss_is_the_mean_over_labelled_rows(rng: np.random.Generator) -> None:
    net = MultiHeadNet(6, 8, HEADS, seed=1)
    batch = mixed_batch(rng)
    outputs = {task: value.numpy().astype(np.float64) for task, value in net(batch["x"]).items()}
    losses = net.losses(batch)
    labelled = batch["sex"] >= 0
    logits = outputs["sex"][labelled]
    log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    expected_sex = -log_softmax[np.arange(labelled.sum()), batch["sex"][labelled]].mean()
    has_mass = ~np.isnan(batch["body_mass"][:, 0])
    expected_mass = np.mean((outputs["body_mass"][has_mass] - batch["body_mass"][has_mass]) ** 2)
    np.testing.assert_allclose(float(losses["sex"]), expected_sex, rtol=1e-5)
    np.testing.assert_allclose(float(losses["body_mass"]), expected_mass, rtol=1e-5)


def test_a_batch_without_any_label_gives_zero_loss_and_zero_gradients(rng: np.random.Generator) -> None:
    net = MultiHeadNet(6, 8, HEADS, seed=0)
    batch = mixed_batch(rng)
    batch["sex"][:] = -1
    batch["body_mass"][:] = np.nan
    losses = net.losses(batch)
    assert float(losses["sex"]) == 0.0 and float(losses["body_mass"]) == 0.0
    assert float(losses["species"]) > 0
    for task in ("sex", "body_mass"):
        assert all(np.array_equal(g, np.zeros_like(g)) for g in gradients(net, batch, task))

    @tf.function(input_signature=[net.input_spec, net.batch_spec("sex"), net.batch_spec("body_mass")], jit_compile=True)
    def compiled(x: tf.Tensor, sex: tf.Tensor, mass: tf.Tensor) -> list[tf.Tensor]:
        with tf.GradientTape() as tape:
            total = tf.add_n(list(net.losses({"x": x, "sex": sex, "body_mass": mass}).values()))
        return [total, *tape.gradient(total, net.all_variables)]

    results = compiled(batch["x"], batch["sex"], batch["body_mass"])
    assert float(results[0]) == 0.0
    assert all(g is None or np.all(g.numpy() == 0) for g in results[1:])  # NaN would fail too


@pytest.mark.parametrize(
    ("task", "labels", "error", "message"),
    [
        ("species", np.array([0, 1, 3, 2]), ValueError, r"labels \[3\] outside 0..2"),
        ("sex", np.array([0, -2, 1, 1]), ValueError, r"labels \[-2\] outside 0..1"),
        ("sex", np.array([0.0, 1.0, 1.0, 0.0]), TypeError, "integer class labels"),
        ("sex", np.array([[0], [1], [1], [0]]), ValueError, r"pass batch\['sex'\].ravel\(\)"),
        ("sex", np.array([0, 1, 1]), ValueError, "must have 4 rows"),
        ("body_mass", np.array([1.0, 2.0, 3.0, 4.0]), ValueError, r"pass batch\['body_mass'\]\[:, None\]"),
        ("body_mass", np.array([[1.0], [np.inf], [3.0], [4.0]]), ValueError, "infinite"),
    ],
)
def test_bad_labels_are_refused(task: str, labels: np.ndarray, error: type, message: str) -> None:
    net = MultiHeadNet(6, 8, HEADS, seed=0)
    batch = {"x": np.zeros((4, 6), np.float32), task: labels}
    with pytest.raises(error, match=message):
        net.losses(batch)
    with pytest.raises(error, match=message):
        net.evaluate(batch)


def test_evaluate_gives_error_rate_and_mse_over_labelled_rows(rng: np.random.Generator) -> None:
    net = MultiHeadNet(6, 8, HEADS, seed=2)
    batch = mixed_batch(rng, n=40)
    outputs = {task: value.numpy() for task, value in net(batch["x"]).items()}
    errors = net.evaluate(batch)
    labelled = batch["sex"] >= 0
    wrong = outputs["sex"].argmax(axis=1)[labelled] != batch["sex"][labelled]
    assert errors["sex"] == pytest.approx(wrong.mean())
    assert net.accuracy(batch) == pytest.approx({"species": 1 - errors["species"], "sex": 1 - errors["sex"]})
    has_mass = ~np.isnan(batch["body_mass"][:, 0])
    assert errors["body_mass"] == pytest.approx(np.mean((outputs["body_mass"] - batch["body_mass"])[has_mass] ** 2), rel=1e-5)
    batch["sex"][:] = -1
    with pytest.raises(ValueError, match="no labelled row"):
        net.evaluate(batch)


# --- MultiHeadNet: the network interface -----------------------------------------------------


def test_interface_members() -> None:
    net = MultiHeadNet(6, (16, 8), HEADS, head_units=4, seed=0)
    assert net.tasks == ("species", "sex", "body_mass")
    assert [v.name for v in net.shared_variables] == ["shared_0:0", "shared_0_bias:0", "shared_1:0", "shared_1_bias:0"]
    assert [v.name for v in net.trainable_for("sex")][4:] == ["sex_hidden:0", "sex_hidden_bias:0", "sex:0", "sex_bias:0"]
    assert len(net.all_variables) == 4 + 3 * 4
    assert net.all_variables[:4] == net.shared_variables
    assert net.input_spec == tf.TensorSpec([None, 6], tf.float32)
    assert net.batch_spec("species") == tf.TensorSpec([None], tf.int32)
    assert net.batch_spec("body_mass") == tf.TensorSpec([None, 1], tf.float32)
    assert {task: tuple(out.shape) for task, out in net(np.zeros((3, 6))).items()} == {
        "species": (3, 3),
        "sex": (3, 2),
        "body_mass": (3, 1),
    }
    with pytest.raises(ValueError, match="unknown task 'mass'"):
        net.trainable_for("mass")
    with pytest.raises(ValueError, match="unknown task 'mass'"):
        net.batch_spec("mass")


def test_initialize_reproduces_a_new_network_bit_for_bit(rng: np.random.Generator) -> None:
    fresh = MultiHeadNet(6, 8, HEADS, head_units=4, seed=3)
    net = MultiHeadNet(6, 8, HEADS, head_units=4, seed=0)
    optimizer = tf.keras.optimizers.Adam(0.1)
    with tf.GradientTape() as tape:
        total = tf.add_n(list(net.losses(mixed_batch(rng)).values()))
    optimizer.apply_gradients(zip(tape.gradient(total, net.all_variables), net.all_variables, strict=True))
    net.initialize(3)
    assert all(np.array_equal(net.get_weights()[name], value) for name, value in fresh.get_weights().items())
    assert not np.array_equal(MultiHeadNet(6, 8, HEADS, seed=4).get_weights()["shared_0"], fresh.get_weights()["shared_0"])


def test_an_alternating_step_for_one_task_leaves_the_other_heads_untouched(rng: np.random.Generator) -> None:
    net = MultiHeadNet(6, 8, HEADS, head_units=4, seed=0)
    before = net.get_weights()
    batch = mixed_batch(rng)
    variables = net.trainable_for("sex")
    optimizer = tf.keras.optimizers.SGD(0.1)
    with tf.GradientTape() as tape:
        loss = net.losses({"x": batch["x"], "sex": batch["sex"]})["sex"]
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
    after = net.get_weights()
    for name in before:
        if name.startswith(("species", "body_mass")):
            assert np.array_equal(before[name], after[name]), f"{name} changed in a step for 'sex'"
    for name in ("shared_0", "sex_hidden", "sex"):
        assert not np.array_equal(before[name], after[name]), f"{name} did not change"


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ((6, 8, {}), TypeError, "heads must be a non-empty dict"),
        ((6, 8, {"x": Classification(2)}), ValueError, "identifiers other than 'x'"),
        ((6, 8, {"shared_y": Regression()}), ValueError, "must not start with 'shared'"),
        ((6, 8, {"y": "mse"}), TypeError, "Classification"),
        ((6, [], HEADS), TypeError, "shared_units must be an int"),
        ((0, 8, HEADS), ValueError, "in_dim must be >= 1"),
    ],
)
def test_network_rejects_bad_arguments(arguments: tuple, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        MultiHeadNet(*arguments)
    with pytest.raises(ValueError, match="n_classes >= 2"):
        Classification(1)


# --- Keras: the same numbers with compile(loss=..., loss_weights=...) and sample_weight ------------------


def test_keras_twin_gives_the_same_outputs_losses_and_training_step(rng: np.random.Generator) -> None:
    net = MultiHeadNet(6, 8, HEADS, head_units=4, seed=5)
    model = keras_multi_head_model(net)
    batch = mixed_batch(rng, n=16)
    for task, value in model(batch["x"]).items():
        np.testing.assert_allclose(value.numpy(), net(batch["x"])[task].numpy(), rtol=1e-6, atol=1e-7)

    loss_weights = {"species": 1.0, "sex": 0.5, "body_mass": 2.0}
    y, sample_weight = keras_targets(net, batch)
    assert sample_weight["sex"].tolist() == (batch["sex"] >= 0).astype(float).tolist()
    model.compile(optimizer=tf.keras.optimizers.SGD(0.05), loss=keras_losses(net), loss_weights=loss_weights)
    reported = model.evaluate(batch["x"], y, sample_weight=sample_weight, batch_size=16, return_dict=True, verbose=0)
    losses = {task: float(value) for task, value in net.losses(batch).items()}
    for task in net.tasks:
        assert reported[f"{task}_loss"] == pytest.approx(losses[task], rel=1e-5)
    assert reported["loss"] == pytest.approx(sum(loss_weights[t] * losses[t] for t in net.tasks), rel=1e-5)

    optimizer = tf.keras.optimizers.SGD(0.05)
    with tf.GradientTape() as tape:
        total = tf.add_n([loss_weights[t] * loss for t, loss in net.losses(batch).items()])
    optimizer.apply_gradients(zip(tape.gradient(total, net.all_variables), net.all_variables, strict=True))
    model.fit(batch["x"], y, sample_weight=sample_weight, batch_size=16, epochs=1, shuffle=False, verbose=0)
    weights = net.get_weights()
    for layer in model.layers[1:]:
        kernel, bias = layer.get_weights()
        np.testing.assert_allclose(kernel, weights[layer.name], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(bias, weights[f"{layer.name}_bias"], rtol=1e-5, atol=1e-6)


def test_keras_default_reduction_divides_by_the_batch_size(rng: np.random.Generator) -> None:
    net = MultiHeadNet(6, 8, HEADS, seed=0)
    batch = mixed_batch(rng)  # sex: 3 of 12 labels missing
    y, sample_weight = keras_targets(net, batch)
    logits = net(batch["x"])["sex"]
    default = keras_losses(net, reduction="sum_over_batch_size")["sex"]
    book = float(net.losses(batch)["sex"])
    labelled = sample_weight["sex"]
    assert float(default(y["sex"], logits, sample_weight=labelled)) == pytest.approx(book * 9 / 12, rel=1e-5)
    normalised = labelled * len(labelled) / labelled.sum()  # agrees on this batch only
    assert float(default(y["sex"], logits, sample_weight=normalised)) == pytest.approx(book, rel=1e-5)
    none_labelled = np.zeros_like(labelled)
    assert float(keras_losses(net)["sex"](y["sex"], logits, sample_weight=none_labelled)) == 0.0
