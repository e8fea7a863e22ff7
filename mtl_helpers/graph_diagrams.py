"""List and draw the operations of a TensorFlow graph (chapter 1).

Works for a ``tf.compat.v1`` graph (a ``tf.Graph``), for the graph a
``tf.function`` traced (pass its ``ConcreteFunction`` or its ``.graph``) and
for a ``tf.function`` with an ``input_signature``. Drawing uses Matplotlib
only (no Graphviz): operations are placed in columns by their depth (the
longest chain of inputs leading to them), with arrows from inputs to the
operations that use them.

* :func:`graph_operations` lists ``(name, type, inputs)`` per operation;
* :func:`required_operations` gives the operations a fetch needs: what
  ``Session.run`` actually executes (TensorFlow "prunes" the rest);
* :func:`draw_graph` draws the graph, optionally highlighting some operations.

Examples
--------
>>> graph = tf.Graph()
>>> with graph.as_default():
...     x = tf.compat.v1.placeholder(tf.float32, [2], name="x")
...     y = tf.square(x, name="y")
>>> graph_operations(graph)
[OpInfo(name='x', type='Placeholder', inputs=()), OpInfo(name='y', type='Square', inputs=('x',))]
>>> sorted(required_operations(y))
['x', 'y']
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.patches import Patch

from mtl_helpers._tensorflow import tf
from mtl_helpers.runtime import PALETTE

__all__ = ["OpInfo", "as_graph", "graph_operations", "required_operations", "draw_graph"]

#: Fill colours by kind of operation (Okabe-Ito, lightened by alpha when drawn).
KIND_COLORS: dict[str, str] = {
    "input": PALETTE[5],  # placeholders: data fed in at run time
    "variable": PALETTE[4],  # variables and reads of them
    "constant": "#bdbdbd",
    "compute": "#ffffff",
}
_INPUT_TYPES = {"Placeholder", "PlaceholderWithDefault"}
_VARIABLE_TYPES = {"VarHandleOp", "VariableV2", "Variable", "ReadVariableOp", "VarIsInitializedOp", "AssignVariableOp"}
_KIND_LABELS = {
    "input": "input (placeholder)",
    "variable": "variable",
    "constant": "constant",
    "compute": "computation",
}


class OpInfo(NamedTuple):
    """One operation of a graph.

    Attributes
    ----------
    name : str
        The operation's unique name in its graph, e.g. ``"MatMul"``.
    type : str
        The kind of operation, e.g. ``"MatMul"``, ``"Placeholder"``.
    inputs : tuple of str
        Names of the operations whose outputs it reads, in order; a control
        dependency ("run that first", no data) is written ``"^name"`` as in
        TensorFlow's own ``GraphDef``.
    """

    name: str
    type: str
    inputs: tuple[str, ...]


def as_graph(graph_or_function: Any) -> tf.Graph:
    """The ``tf.Graph`` behind a graph, a ``ConcreteFunction`` or a ``tf.function``.

    Parameters
    ----------
    graph_or_function : tf.Graph, ConcreteFunction or tf.function
        A ``tf.function`` must have an ``input_signature`` (otherwise there
        is no single graph: trace one with ``fn.get_concrete_function(...)``).

    Returns
    -------
    tf.Graph
    """
    if isinstance(graph_or_function, tf.Graph):
        return graph_or_function
    graph = getattr(graph_or_function, "graph", None)
    if isinstance(graph, tf.Graph):  # a ConcreteFunction
        return graph
    if isinstance(graph_or_function, tf.types.experimental.PolymorphicFunction):
        if getattr(graph_or_function, "input_signature", None) is None:
            raise TypeError(
                "this tf.function has no input_signature, so it has no single graph; "
                "pass fn.get_concrete_function(example_args...) instead"
            )
        return graph_or_function.get_concrete_function().graph
    raise TypeError(
        "expected a tf.Graph, a ConcreteFunction (fn.get_concrete_function(...)) or a tf.function "
        f"with an input_signature, got {type(graph_or_function).__name__}"
    )


def graph_operations(graph_or_function: Any) -> list[OpInfo]:
    """Every operation of the graph, in the order they were created.

    Parameters
    ----------
    graph_or_function : tf.Graph, ConcreteFunction or tf.function
        See :func:`as_graph`.

    Returns
    -------
    list of OpInfo
        ``(name, type, inputs)`` per operation.
    """
    graph = as_graph(graph_or_function)
    return [
        OpInfo(
            op.name,
            op.type,
            tuple(tensor.op.name for tensor in op.inputs) + tuple(f"^{control.name}" for control in op.control_inputs),
        )
        for op in graph.get_operations()
    ]


def _fetch_ops(fetches: Any) -> list[tf.Operation]:
    """Flatten fetches like ``Session.run`` accepts them into operations."""
    if isinstance(fetches, tf.Operation):
        return [fetches]
    if isinstance(fetches, tf.Tensor | tf.Variable):
        op = getattr(fetches, "op", None)
        if not isinstance(op, tf.Operation) or tf.executing_eagerly() and not hasattr(fetches, "graph"):
            raise TypeError("fetches must be graph tensors or operations, not eager values")
        try:
            return [fetches.op]
        except AttributeError as error:  # pragma: no cover - eager tensors
            raise TypeError("fetches must be graph tensors or operations, not eager values") from error
    if isinstance(fetches, Mapping):
        fetches = list(fetches.values())
    if isinstance(fetches, list | tuple):
        if not fetches:
            raise ValueError("fetches is empty; pass a tensor, an operation or a list of them")
        return [op for fetch in fetches for op in _fetch_ops(fetch)]
    raise TypeError(
        f"fetches must be a graph tensor, an operation, or a list/dict of them, got {type(fetches).__name__}"
    )


def required_operations(fetches: Any) -> set[str]:
    """Names of the operations needed to compute ``fetches`` (and nothing else).

    This is the part of the graph a ``Session.run(fetches, ...)`` executes:
    the fetched operations and everything they depend on through inputs and
    control dependencies. Placeholders in the set must be fed.

    Parameters
    ----------
    fetches : graph tensor, operation, or list/tuple/dict of them
        What you would pass to ``Session.run``.

    Returns
    -------
    set of str
    """
    stack = _fetch_ops(fetches)
    graphs = {id(op.graph) for op in stack}
    if len(graphs) > 1:
        raise ValueError("fetches come from different graphs; fetch from one graph at a time")
    needed: set[str] = set()
    while stack:
        op = stack.pop()
        if op.name in needed:
            continue
        needed.add(op.name)
        stack.extend(tensor.op for tensor in op.inputs)
        stack.extend(op.control_inputs)
    return needed


def _kind(op_type: str) -> str:
    if op_type in _INPUT_TYPES:
        return "input"
    if op_type in _VARIABLE_TYPES:
        return "variable"
    if op_type == "Const":
        return "constant"
    return "compute"


def _depths(operations: list[OpInfo]) -> dict[str, int]:
    """Longest chain of inputs leading to each operation (sources have depth 0)."""
    inputs = {op.name: [name.lstrip("^") for name in op.inputs] for op in operations}
    depth: dict[str, int] = {}
    visiting: set[str] = set()

    def visit(name: str) -> int:
        if name in depth:
            return depth[name]
        if name in visiting or name not in inputs:  # a loop's back edge, or outside the graph
            return -1
        visiting.add(name)
        depth[name] = 1 + max((visit(parent) for parent in inputs[name]), default=-1)
        visiting.discard(name)
        return depth[name]

    for op in operations:
        visit(op.name)
    return depth


def _layout(operations: list[OpInfo]) -> dict[str, tuple[float, float]]:
    """(column, row) per operation: columns by depth, rows ordered to limit crossings."""
    depth = _depths(operations)
    columns: dict[int, list[str]] = {}
    for op in operations:
        columns.setdefault(depth[op.name], []).append(op.name)
    parents = {op.name: [name.lstrip("^") for name in op.inputs] for op in operations}
    children: dict[str, list[str]] = {op.name: [] for op in operations}
    for name, names in parents.items():
        for parent in names:
            if parent in children:
                children[parent].append(name)
    row = {name: float(index) for names in columns.values() for index, name in enumerate(names)}

    def sweep(order: list[int], neighbours: dict[str, list[str]]) -> None:
        for column in order:
            def key(name: str) -> float:
                linked = [row[other] for other in neighbours[name] if other in row]
                return sum(linked) / len(linked) if linked else row[name]

            columns[column].sort(key=key)
            for index, name in enumerate(columns[column]):
                row[name] = float(index)

    ordered = sorted(columns)
    for _ in range(3):  # barycentre heuristic: a few sweeps forwards and backwards
        sweep(ordered[1:], parents)
        sweep(ordered[-2::-1], children)
    positions = {}
    for column, names in columns.items():
        for index, name in enumerate(names):
            positions[name] = (float(column), (len(names) - 1) / 2 - index)
    return positions


def _label(op: OpInfo, width: int = 16) -> str:
    name = "/\n".join(
        "\n".join(textwrap.wrap(part, width, break_on_hyphens=False)) for part in op.name.split("/")
    )
    return f"{name}\n[{op.type}]"


def draw_graph(
    graph_or_function: Any,
    *,
    highlight: Iterable[str] | None = None,
    ax: Axes | None = None,
    highlight_label: str = "highlighted",
    title: str | None = None,
) -> Axes:
    """Draw a graph's operations in columns by depth, with arrows for the data flow.

    Boxes show each operation's name and, in brackets, its type; their colour
    says its kind (input, variable, constant, computation). Solid arrows carry
    tensors; dashed arrows are control dependencies.

    Parameters
    ----------
    graph_or_function : tf.Graph, ConcreteFunction or tf.function
        See :func:`as_graph`.
    highlight : iterable of str, optional
        Names of operations to emphasise, e.g. ``required_operations(loss)``;
        the others are drawn faded.
    ax : matplotlib Axes, optional
        Default: a new figure sized to the graph.
    highlight_label : str, default "highlighted"
        Legend entry for the highlighted operations.
    title : str, optional

    Returns
    -------
    matplotlib Axes
    """
    operations = graph_operations(graph_or_function)
    if not operations:
        raise ValueError("the graph has no operations to draw; build or trace it first")
    names = {op.name for op in operations}
    marked: set[str] | None = None
    if highlight is not None:
        if isinstance(highlight, str):
            raise TypeError("highlight must be a collection of operation names, e.g. {'Loss', 'X'}, not one string")
        marked = set(highlight)
        unknown = sorted(name for name in marked if not isinstance(name, str) or name not in names)
        if unknown:
            raise ValueError(f"highlight names operations not in the graph: {unknown[:5]}; known names include {sorted(names)[:5]}")
    positions = _layout(operations)
    n_columns = 1 + max(int(x) for x, _ in positions.values())
    tallest = max(sum(1 for x, _ in positions.values() if int(x) == column) for column in range(n_columns))
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, 2.1 * n_columns), max(2.2, 0.95 * tallest + 0.6)))
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    x_step, y_step = 2.0, 1.0
    boxes = {}
    kinds_seen = []
    for op in operations:
        column, row = positions[op.name]
        kind = _kind(op.type)
        faded = marked is not None and op.name not in marked
        if kind not in kinds_seen:
            kinds_seen.append(kind)
        boxes[op.name] = ax.text(
            column * x_step,
            row * y_step,
            _label(op),
            ha="center",
            va="center",
            fontsize=7.5,
            color="#9a9a9a" if faded else "black",
            bbox={
                "boxstyle": "round,pad=0.35",
                "facecolor": "#f2f2f2" if faded else KIND_COLORS[kind],
                "edgecolor": "#bdbdbd" if faded else "black",
                "linewidth": 0.8 if faded or marked is None else 2.0,
                "alpha": 1.0 if faded else 0.9,
            },
            zorder=3,
        )
    for op in operations:
        for source in op.inputs:
            control = source.startswith("^")
            parent = source.lstrip("^")
            if parent not in boxes:
                continue
            on = marked is None or (op.name in marked and parent in marked)
            ax.annotate(
                "",
                xy=(0.0, 0.5),
                xycoords=boxes[op.name],
                xytext=(1.0, 0.5),
                textcoords=boxes[parent],
                arrowprops={
                    "arrowstyle": "-|>",
                    "color": "black" if on else "#c8c8c8",
                    "linewidth": 1.0,
                    "linestyle": "--" if control else "-",
                    "shrinkA": 2,
                    "shrinkB": 2,
                    "connectionstyle": "arc3,rad=0.0",
                },
                zorder=2,
            )
    ax.set_xlim(-0.9 * x_step / 2 - 0.2, (n_columns - 1) * x_step + 0.9 * x_step / 2 + 0.2)
    ax.set_ylim(-(tallest / 2) * y_step - 0.1, (tallest / 2) * y_step + 0.1)
    ax.set_axis_off()
    handles = [
        Patch(facecolor=KIND_COLORS[kind], edgecolor="black", alpha=0.9, label=_KIND_LABELS[kind]) for kind in kinds_seen
    ]
    if marked is not None:
        handles.append(Patch(facecolor="white", edgecolor="black", linewidth=2.0, label=highlight_label))
        handles.append(Patch(facecolor="#f2f2f2", edgecolor="#bdbdbd", label="not needed"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(len(handles), 4), fontsize=8)
    if title:
        ax.set_title(title)
    return ax
