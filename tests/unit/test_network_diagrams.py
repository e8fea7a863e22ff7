"""mtl_helpers.network_diagrams: structure read from the model, drawings, gradient maps."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.patches import FancyBboxPatch, Rectangle

from mtl_helpers import TASK_COLORS, TwoHeadNet, article_batch, article_weights, compat_v1, keras_two_head_model, tf
from mtl_helpers.gradient_maps import GradientMap, gradient_map, plot_gradient_map
from mtl_helpers.network_diagrams import LayerSpec, NetworkSpec, draw_network, network_spec, part_color

keras = tf.keras


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _shared_three_heads() -> keras.Model:
    inputs = keras.Input(shape=(10,), name="x")
    hidden = keras.layers.Dense(16, activation="relu", use_bias=False, name="shared")(inputs)
    outputs = {t: keras.layers.Dense(5, activation="relu", use_bias=False, name=t)(hidden) for t in ("y1", "y2", "y3")}
    return keras.Model(inputs, outputs)


# --- network_spec ---------------------------------------------------------------------------------------------


def test_spec_from_twoheadnet_reads_the_variable_shapes() -> None:
    spec = network_spec(TwoHeadNet(in_dim=7, shared_units=5, head_units=3, use_bias=True, output_activation="linear"))
    assert spec.in_dim == 7 and spec.tasks == ("y1", "y2")
    assert spec.shared == (LayerSpec("shared", 7, 5, "relu", True, "shared"),)
    assert spec.heads["y2"] == (LayerSpec("y2", 5, 3, "linear", True, "y2"),)
    assert spec.parameter_counts() == {"shared": 7 * 5 + 5, "y1": 5 * 3 + 3, "y2": 5 * 3 + 3}


@pytest.mark.parametrize("use_bias", [False, True])
def test_keras_model_and_twoheadnet_have_equal_specs(use_bias: bool) -> None:
    net = TwoHeadNet(4, 6, 2, use_bias=use_bias)
    model = keras_two_head_model(4, 6, 2, use_bias=use_bias)
    assert network_spec(model) == network_spec(net)
    assert sum(network_spec(model).parameter_counts().values()) == model.count_params()


def test_spec_walks_a_deeper_keras_graph() -> None:
    inputs = keras.Input(shape=(3,), name="features")
    hidden = keras.layers.Dense(8, activation="relu", name="trunk_a")(inputs)
    hidden = keras.layers.Dense(6, activation="relu", name="trunk_b")(hidden)
    outputs = {
        "left": keras.layers.Dense(2, name="left_out")(keras.layers.Dense(4, activation="relu", name="left_a")(hidden)),
        "right": keras.layers.Dense(1, name="right_out")(hidden),
    }
    spec = network_spec(keras.Model(inputs, outputs))
    assert spec.input_name == "features" and spec.in_dim == 3
    assert [layer.name for layer in spec.shared] == ["trunk_a", "trunk_b"]
    assert [layer.name for layer in spec.heads["left"]] == ["left_a", "left_out"]
    assert [layer.part for layer in spec.heads["right"]] == ["right"]
    assert spec.heads["right"][0].activation == "linear"
    assert "trunk_b" in str(spec) and "parameters" in str(spec)


def test_spec_of_unshared_model_has_empty_trunk() -> None:
    inputs = keras.Input(shape=(10,), name="x")
    outputs = {t: keras.layers.Dense(2, name=t)(keras.layers.Dense(4, name=f"{t}_own")(inputs)) for t in ("y1", "y2")}
    spec = network_spec(keras.Model(inputs, outputs))
    assert spec.shared == () and spec.parameter_counts()["shared"] == 0


def test_spec_accepts_list_outputs() -> None:
    inputs = keras.Input(shape=(10,), name="x")
    hidden = keras.layers.Dense(4, name="shared")(inputs)
    model = keras.Model(inputs, [keras.layers.Dense(1, name="a")(hidden), keras.layers.Dense(1, name="b")(hidden)])
    assert network_spec(model).tasks == ("a", "b")


@pytest.mark.parametrize("bad", [None, "model", np.ones((10, 20)), 3])
def test_spec_rejects_things_that_are_not_models(bad: object) -> None:
    with pytest.raises(TypeError, match=r"TwoHeadNet or a functional keras\.Model"):
        network_spec(bad)


def test_spec_rejects_subclassed_keras_model() -> None:
    class Subclassed(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(TypeError, match="no graph to read"):
        network_spec(Subclassed())


def test_spec_rejects_non_dense_layers_and_merges() -> None:
    inputs = keras.Input(shape=(10,), name="x")
    hidden = keras.layers.Dropout(0.5, name="drop")(keras.layers.Dense(4, name="shared")(inputs))
    model = keras.Model(inputs, {"y1": keras.layers.Dense(1, name="y1")(hidden), "y2": keras.layers.Dense(1, name="y2")(hidden)})
    with pytest.raises(ValueError, match="Dropout"):
        network_spec(model)
    first, second = keras.Input(shape=(2,), name="a"), keras.Input(shape=(2,), name="b")
    with pytest.raises(ValueError, match="2 inputs"):
        network_spec(keras.Model([first, second], {"y": keras.layers.Dense(1)(keras.layers.Concatenate()([first, second]))}))
    inputs = keras.Input(shape=(2,), name="x")
    merged = keras.layers.Add(name="add")([keras.layers.Dense(2)(inputs), keras.layers.Dense(2)(inputs)])
    with pytest.raises(ValueError, match="has 2 inputs"):
        network_spec(keras.Model(inputs, {"y1": keras.layers.Dense(1)(merged), "y2": keras.layers.Dense(1)(merged)}))


def test_spec_rejects_partly_shared_layers_and_headless_outputs() -> None:
    inputs = keras.Input(shape=(10,), name="x")
    trunk = keras.layers.Dense(4, name="trunk")(inputs)
    pair = keras.layers.Dense(3, name="pair")(trunk)
    model = keras.Model(inputs, {
        "y1": keras.layers.Dense(1, name="y1")(pair),
        "y2": keras.layers.Dense(1, name="y2")(pair),
        "y3": keras.layers.Dense(1, name="y3")(trunk),
    })
    with pytest.raises(ValueError, match="'pair' feeds outputs"):
        network_spec(model)
    inputs = keras.Input(shape=(10,), name="x")
    hidden = keras.layers.Dense(4, name="shared")(inputs)
    with pytest.raises(ValueError, match="no layer of its own"):
        network_spec(keras.Model(inputs, {"y1": hidden, "y2": keras.layers.Dense(1, name="y2")(hidden)}))


# --- draw_network ---------------------------------------------------------------------------------------------


def _box_colors(ax) -> list[str]:
    return [to_hex(p.get_facecolor()) for p in ax.patches if isinstance(p, FancyBboxPatch)]


def test_draw_network_colours_shared_and_task_parts() -> None:
    ax = draw_network(TwoHeadNet())
    texts = " ".join(text.get_text() for text in ax.texts)
    for expected in ("input x", "shared", "10→20, relu", "200 params", "prediction y1", "loss y2", "l2_loss", "target y1"):
        assert expected in texts
    colors = _box_colors(ax)
    assert colors.count(to_hex(TASK_COLORS["shared"])) == 1
    assert colors.count(to_hex(TASK_COLORS["y1"])) == 1 and colors.count(to_hex(TASK_COLORS["y2"])) == 1
    assert len(colors) == 1 + 1 + 2 * 4  # input, shared, and per task: head, prediction, loss, target
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels[0].startswith("shared") and "task y1 only" in labels and "task y2 only" in labels


def test_draw_network_from_keras_three_heads_without_targets() -> None:
    _, ax = plt.subplots()
    returned = draw_network(_shared_three_heads(), ax=ax, show_targets=False, loss_name="mse", title="three")
    assert returned is ax and ax.get_title() == "three"
    colors = _box_colors(ax)
    assert len(colors) == 1 + 1 + 3 * 3
    assert to_hex(part_color("y3", ("y1", "y2", "y3"))) in colors
    assert len(set(colors) - {"#ffffff", "#f2f2f2"}) == 4  # shared + three distinct task colours
    assert not any("target" in text.get_text() for text in ax.texts)
    assert sum("mse" in text.get_text() for text in ax.texts) == 3


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"ax": "axes"}, TypeError), ({"loss_name": 3}, TypeError), ({"loss_name": ""}, TypeError)],
)
def test_draw_network_rejects_bad_arguments(kwargs: dict, error: type) -> None:
    with pytest.raises(error):
        draw_network(TwoHeadNet(), **kwargs)


def test_draw_network_rejects_a_bad_model() -> None:
    with pytest.raises(TypeError):
        draw_network([1, 2, 3])


def test_part_color() -> None:
    assert part_color("shared") == TASK_COLORS["shared"] and part_color("y2") == TASK_COLORS["y2"]
    tasks = ("y1", "y2", "y3", "y4")
    assert part_color("y3", tasks) != part_color("y4", tasks)
    assert part_color("y3", tasks) not in TASK_COLORS.values()
    with pytest.raises(TypeError):
        part_color(3)


# --- gradient maps --------------------------------------------------------------------------------------------


def test_gradient_map_of_twoheadnet(rng: np.random.Generator) -> None:
    net = TwoHeadNet(weights=article_weights(rng))
    batch = article_batch(rng)
    gmap = gradient_map(net, batch)
    assert gmap.losses == ("y1", "y2") and gmap.variables == ("shared", "y1", "y2")
    assert gmap.parts == ("shared", "y1", "y2")
    assert gmap.touched("y1") == ["shared", "y1"] and gmap.touched("y2") == ["shared", "y2"]
    assert np.isnan(gmap.norms[0, 2]) and np.isnan(gmap.norms[1, 1])
    with tf.GradientTape() as tape:
        loss = net.losses(batch)["y1"]
    expected = np.linalg.norm(tape.gradient(loss, net.shared).numpy())
    assert gmap.norms[0, 0] == pytest.approx(expected, rel=1e-5)
    assert "None" in str(gmap) and "shared" in str(gmap)


def test_gradient_map_with_biases_and_one_task(rng: np.random.Generator) -> None:
    batch = article_batch(rng)
    gmap = gradient_map(TwoHeadNet(use_bias=True), {"x": batch["x"], "y2": batch["y2"]})
    assert gmap.losses == ("y2",)
    assert gmap.touched("y2") == ["shared", "y2", "shared_bias", "y2_bias"]
    assert gmap.parts[3:] == ("shared", "y1", "y2")


def test_keras_gradient_map_matches_twoheadnet(rng: np.random.Generator) -> None:
    weights = article_weights(rng)
    batch = article_batch(rng)
    from_net = gradient_map(TwoHeadNet(weights=weights), batch)
    from_keras = gradient_map(keras_two_head_model(weights=weights), batch)
    assert from_keras.variables == ("shared/kernel", "y1/kernel", "y2/kernel")
    np.testing.assert_array_equal(from_keras.has_gradient, from_net.has_gradient)
    np.testing.assert_allclose(from_keras.norms, from_net.norms, rtol=1e-5)


def test_from_gradients_matches_the_compat_v1_graph(rng: np.random.Generator) -> None:
    weights = article_weights(rng)
    batch = article_batch(rng)
    article = compat_v1.ArticleGraph(weights)
    names = list(article.variables)
    rows = {}
    with tf.compat.v1.Session(graph=article.graph) as session:
        session.run(tf.compat.v1.variables_initializer(list(article.variables.values())))
        for task, loss in article.losses.items():
            with article.graph.as_default():
                grads = tf.gradients(loss, list(article.variables.values()))
            values = session.run([g for g in grads if g is not None], article.feed(batch, article.tasks))
            it = iter(values)
            rows[task] = {name: (None if g is None else next(it)) for name, g in zip(names, grads, strict=True)}
    gmap = GradientMap.from_gradients(rows)
    assert gmap.parts == ("shared", "y1", "y2")
    eager = gradient_map(TwoHeadNet(weights=weights), batch)
    np.testing.assert_array_equal(gmap.has_gradient, eager.has_gradient)
    np.testing.assert_allclose(gmap.norms, eager.norms, rtol=1e-4)


@pytest.mark.parametrize(
    ("model", "batch", "error", "match"),
    [
        ("net", None, TypeError, "dict"),
        ("net", {"x": np.ones((3, 10))}, ValueError, "no targets"),
        ("net", {"x": np.ones((3, 9)), "y1": np.ones((3, 20))}, ValueError, "10 columns"),
        ("net", {"x": np.ones((3, 10)), "y1": np.ones((3, 2))}, ValueError, "20 columns"),
        ("net", {"y1": np.ones((3, 20))}, ValueError, "no 'x'"),
        ([1], {"x": np.ones((3, 10)), "y1": np.ones((3, 20))}, TypeError, "TwoHeadNet"),
    ],
)
def test_gradient_map_rejects_bad_inputs(model: object, batch: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        gradient_map(TwoHeadNet() if model == "net" else model, batch)


def test_from_gradients_rejects_bad_inputs() -> None:
    with pytest.raises(TypeError):
        GradientMap.from_gradients({})
    with pytest.raises(TypeError):
        GradientMap.from_gradients({"y1": [1.0]})
    with pytest.raises(ValueError, match="same variables"):
        GradientMap.from_gradients({"y1": {"a": 1.0}, "y2": {"b": 1.0}})
    with pytest.raises(ValueError, match="no entry"):
        GradientMap.from_gradients({"y1": {"a": 1.0}}, parts={})


def test_gradient_map_validates_its_fields() -> None:
    with pytest.raises(ValueError, match="shape"):
        GradientMap(("y1",), ("a", "b"), ("shared", "y1"), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="one part per variable"):
        GradientMap(("y1",), ("a", "b"), ("shared",), np.zeros((1, 2)))
    with pytest.raises(ValueError, match=">= 0"):
        GradientMap(("y1",), ("a",), ("shared",), np.array([[-1.0]]))
    with pytest.raises(ValueError, match="unknown loss"):
        GradientMap(("y1",), ("a",), ("shared",), np.array([[1.0]])).touched("y2")


def test_plot_gradient_map_marks_missing_gradients(rng: np.random.Generator) -> None:
    gmap = GradientMap.from_gradients({"y1": {"shared_W": np.ones(4), "y1_W": np.ones(1), "y2_W": None},
                                       "y2": {"shared_W": np.ones(4), "y1_W": None, "y2_W": np.zeros(2)}})
    ax = plot_gradient_map(gmap, title="map")
    cells = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(cells) == 6
    labels = [text.get_text() for text in ax.texts]
    assert labels == ["2", "1", "None", "2", "None", "0"]
    assert to_hex(cells[1].get_facecolor()) == to_hex(TASK_COLORS["y1"])
    assert to_hex(cells[2].get_facecolor()) == "#ffffff"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["loss y1", "loss y2"]
    assert ax.get_title() == "map"


def test_plot_gradient_map_rejects_bad_inputs() -> None:
    with pytest.raises(TypeError, match="GradientMap"):
        plot_gradient_map({"y1": {"a": 1}})
    gmap = GradientMap(("y1",), ("a",), ("shared",), np.array([[1.0]]))
    with pytest.raises(TypeError, match="Axes"):
        plot_gradient_map(gmap, ax="axes")


def test_network_spec_passes_a_spec_through() -> None:
    spec = NetworkSpec("x", 2, (), {"y1": (LayerSpec("y1", 2, 1, "linear", False, "y1"),)})
    assert network_spec(spec) is spec
    assert draw_network(spec).get_title() == "A network with 1 head, read from the model"
