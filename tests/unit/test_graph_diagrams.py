"""mtl_helpers.graph_diagrams: listing, pruning sets, drawing, short errors."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.text import Annotation

from mtl_helpers import tf
from mtl_helpers.graph_diagrams import (
    OpInfo,
    _depths,
    as_graph,
    concise_errors,
    draw_graph,
    graph_operations,
    required_operations,
)

v1 = tf.compat.v1


@pytest.fixture
def linear():
    """The article's linear example: X, Y, W and the element-wise Loss."""
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder("float", [10, 10], name="X")
        y = v1.placeholder("float", [10, 1], name="Y")
        w = v1.Variable(np.zeros((10, 1)), name="W", dtype="float32")
        prediction = tf.matmul(x, w, name="prediction")
        loss = tf.pow(tf.add(y, -prediction), 2, name="Loss")
        init = v1.global_variables_initializer()
    return {"graph": graph, "X": x, "Y": y, "W": w, "prediction": prediction, "Loss": loss, "init": init}


def _box_labels(ax) -> list[str]:
    return [text.get_text() for text in ax.texts if not isinstance(text, Annotation)]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_graph_operations_lists_names_types_and_inputs(linear) -> None:
    ops = graph_operations(linear["graph"])
    assert all(isinstance(op, OpInfo) for op in ops)
    by_name = {op.name: op for op in ops}
    assert by_name["X"] == OpInfo("X", "Placeholder", ())
    assert by_name["prediction"].type == "MatMul" and by_name["prediction"].inputs[0] == "X"
    assert by_name["Loss"].type == "Pow"
    assert by_name["init"].inputs == ("^W/Assign",)  # a control dependency
    assert [op.name for op in ops] == [op.name for op in linear["graph"].get_operations()]


def test_empty_graph_has_no_operations() -> None:
    assert graph_operations(tf.Graph()) == []


def test_traced_function_graph() -> None:
    weights = tf.Variable(tf.zeros([3, 1]))

    @tf.function
    def error(x):
        return tf.reduce_sum(tf.matmul(x, weights))

    concrete = error.get_concrete_function(tf.TensorSpec([None, 3], tf.float32))
    types = {op.type for op in graph_operations(concrete)}
    assert {"Placeholder", "ReadVariableOp", "MatMul", "Sum"} <= types
    assert graph_operations(concrete.graph) == graph_operations(concrete)


def test_tf_function_needs_a_signature() -> None:
    @tf.function(input_signature=[tf.TensorSpec([2], tf.float32)])
    def with_signature(x):
        return x * 2.0

    @tf.function
    def without(x):
        return x * 2.0

    assert isinstance(as_graph(with_signature), tf.Graph)
    with pytest.raises(TypeError, match="get_concrete_function"):
        as_graph(without)


@pytest.mark.parametrize("bad", [None, 3, "graph", [1, 2], tf.constant(1.0)])
def test_bad_graph_arguments(bad) -> None:
    with pytest.raises(TypeError, match=r"expected a tf\.Graph"):
        graph_operations(bad)


def test_required_operations_prune_like_a_session(linear) -> None:
    needed = required_operations(linear["prediction"])
    assert {"X", "W", "prediction"} <= needed
    assert "Y" not in needed and "Loss" not in needed and "W/Assign" not in needed
    assert {"X", "Y", "W", "Loss"} <= required_operations(linear["Loss"])
    assert required_operations(linear["init"]) == {"init", "W/Assign", "W", "W/Initializer/initial_value"}
    both = required_operations([linear["prediction"], linear["init"]])
    assert both == required_operations(linear["prediction"]) | required_operations(linear["init"])
    assert required_operations({"a": linear["Loss"]}) == required_operations(linear["Loss"])
    # what required_operations says is exactly what a session can run without feeding Y
    with v1.Session(graph=linear["graph"]) as session:
        session.run(linear["init"])
        value = session.run(linear["prediction"], {linear["X"]: np.ones((10, 10))})
    assert value.shape == (10, 1)


def test_required_operations_bad_arguments(linear) -> None:
    with pytest.raises(TypeError, match="eager"):
        required_operations(tf.constant(1.0))
    with pytest.raises(TypeError, match="graph tensor"):
        required_operations("Loss")
    with pytest.raises(ValueError, match="empty"):
        required_operations([])
    other = tf.Graph()
    with other.as_default():
        z = tf.constant(1.0, name="z")
    with pytest.raises(ValueError, match="different graphs"):
        required_operations([linear["Loss"], z])


def test_draw_graph_draws_every_operation(linear) -> None:
    ax = draw_graph(linear["graph"], title="linear")
    labels = _box_labels(ax)
    assert len(labels) == len(graph_operations(linear["graph"]))
    assert any(label.startswith("Loss\n") and "[Pow]" in label for label in labels)
    arrows = [text for text in ax.texts if isinstance(text, Annotation)]
    inputs = sum(len(op.inputs) for op in graph_operations(linear["graph"]))
    assert len(arrows) == inputs  # one arrow per input, control dependencies included
    assert ax.get_title() == "linear"


def test_draw_graph_highlight_fades_the_rest(linear) -> None:
    needed = required_operations(linear["prediction"])
    ax = draw_graph(linear["graph"], highlight=needed, highlight_label="needed", faded_label="not run")
    colors = {text.get_text().split("\n")[0]: text.get_color() for text in ax.texts if text.get_text()}
    assert colors["X"] == "black" and colors["Y"] != "black"
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert "needed" in legend and "not run" in legend


def test_draw_graph_on_given_axes(linear) -> None:
    _, ax = plt.subplots()
    assert draw_graph(linear["graph"], ax=ax) is ax


def test_draw_graph_bad_arguments(linear) -> None:
    with pytest.raises(ValueError, match="no operations"):
        draw_graph(tf.Graph())
    with pytest.raises(ValueError, match="not in the graph"):
        draw_graph(linear["graph"], highlight={"X", "nope"})
    with pytest.raises(TypeError, match="not one string"):
        draw_graph(linear["graph"], highlight="X")
    with pytest.raises(TypeError, match="Axes"):
        draw_graph(linear["graph"], ax="axes")


def test_draw_graph_handles_while_loops() -> None:
    graph = tf.Graph()
    with graph.as_default():
        i = tf.constant(0, name="i")
        tf.while_loop(lambda i: i < 3, lambda i: i + 1, [i])
    ax = draw_graph(graph)
    assert len(_box_labels(ax)) == len(graph_operations(graph))


def test_layout_survives_a_cycle() -> None:
    # TF1 while loops have a back edge (NextIteration -> Merge); depths must still be finite.
    ops = [OpInfo("enter", "Enter", ()), OpInfo("merge", "Merge", ("enter", "next")), OpInfo("next", "NextIteration", ("merge",))]
    depths = _depths(ops)
    assert set(depths) == {"enter", "merge", "next"}
    assert all(isinstance(depth, int) and 0 <= depth < len(ops) for depth in depths.values())
    assert depths["merge"] > depths["enter"]


def test_layout_puts_sources_next_to_their_users(linear) -> None:
    depths = _depths(graph_operations(linear["graph"]))
    assert depths["Y"] == depths["Add"] - 1  # not at the top
    assert depths["Loss/y"] == depths["Loss"] - 1


def test_concise_errors_keep_type_and_drop_the_stack(linear) -> None:
    with v1.Session(graph=linear["graph"]) as session:
        session.run(linear["init"])
        with pytest.raises(tf.errors.InvalidArgumentError) as caught, concise_errors():
            session.run(linear["Loss"], {linear["X"]: np.ones((10, 10))})
    message = str(caught.value)
    assert "You must feed a value for placeholder tensor 'Y'" in message
    assert "File " not in message and "Original stack trace" not in message
    with pytest.raises(KeyError), concise_errors():  # other errors pass through
        raise KeyError("x")
    with concise_errors():  # and no error is no error
        pass
