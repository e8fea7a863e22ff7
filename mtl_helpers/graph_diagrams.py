"""List and draw the operations of a TensorFlow graph (chapter 1).

Works for a ``tf.compat.v1`` graph (a ``tf.Graph``), for the graph a
``tf.function`` traced (pass its ``ConcreteFunction`` or its ``.graph``) and
for a ``tf.function`` with an ``input_signature``. Drawing uses Matplotlib
only (no Graphviz): operations are placed in rows, top to bottom, by their
depth (the longest chain of inputs leading to them), with arrows from inputs
to the operations that use them.

* :func:`graph_operations` lists ``(name, type, inputs)`` per operation;
* :func:`required_operations` gives the operations a fetch needs: what
  ``Session.run`` actually executes (TensorFlow "prunes" the rest);
* :func:`draw_graph` draws the graph, optionally highlighting some operations;
* :func:`concise_errors` shortens the errors ``Session.run`` raises to
  TensorFlow's own explanation.

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

import contextlib
import textwrap
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.patches import Patch

from mtl_helpers._tensorflow import tf
from mtl_helpers.runtime import PALETTE

__all__ = ["OpInfo", "as_graph", "concise_errors", "draw_graph", "graph_operations", "required_operations"]

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
        try:
            op = fetches.op
        except AttributeError as error:  # eager tensors and variables have no op
            raise TypeError(
                "fetches must be graph tensors or operations, got an eager value; "
                "build the graph inside `with graph.as_default():` or trace a tf.function"
            ) from error
        return [op]
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


def _drop_stack_listing(message: str) -> str:
    """Remove the "defined at (most recent call last):" block of Python frames."""
    kept = []
    in_listing = False
    for line in message.splitlines():
        if line.startswith("Detected at node") and "defined at" in line:
            in_listing = True
            continue
        if in_listing and line.strip().startswith("File "):
            continue
        in_listing = False
        kept.append(line)
    return "\n".join(kept).strip()


class concise_errors(contextlib.AbstractContextManager):  # noqa: N801 - used like a function
    """Re-raise TensorFlow graph errors with TensorFlow's explanation only.

    A failed ``Session.run`` reports the Python call stack at the moment the
    offending operation was *created*, twice; in a notebook that is a page
    of kernel internals. Inside ``with concise_errors():`` such an error (any
    ``tf.errors.OpError``) is raised again with the same type and error
    code, and its message without those listings. Other exceptions pass
    through untouched.

    Examples
    --------
    >>> with concise_errors():  # doctest: +SKIP
    ...     session.run(loss, feed_dict={X: x})  # forgot to feed Y
    Traceback (most recent call last):
    InvalidArgumentError: Graph execution error:
    <BLANKLINE>
    Node: 'Y'
    You must feed a value for placeholder tensor 'Y' with dtype float and shape [10,1]
    """

    def __exit__(self, exc_type: type[BaseException] | None, error: BaseException | None, traceback: Any) -> None:
        if isinstance(error, tf.errors.OpError):
            raise type(error)(error.node_def, None, _drop_stack_listing(error.message)) from None


def _kind(op: tf.Operation) -> str:
    if op.type in _INPUT_TYPES:
        # In a traced function a captured variable arrives as a resource placeholder.
        return "variable" if op.outputs and op.outputs[0].dtype == tf.resource else "input"
    if op.type in _VARIABLE_TYPES:
        return "variable"
    if op.type == "Const":
        return "constant"
    return "compute"


def _parents(operations: list[OpInfo]) -> dict[str, list[str]]:
    names = {op.name for op in operations}
    return {op.name: [name.lstrip("^") for name in op.inputs if name.lstrip("^") in names] for op in operations}


def _depths(operations: list[OpInfo]) -> dict[str, int]:
    """Row of each operation: the longest chain of inputs leading to it.

    Operations without inputs (placeholders, constants, variables) move down
    to just above the first operation that uses them, so that a constant
    needed only at the end does not sit at the top with a long arrow.
    """
    parents = _parents(operations)
    depth: dict[str, int] = {}
    visiting: set[str] = set()

    def visit(name: str) -> int:
        if name in depth:
            return depth[name]
        if name in visiting:  # the back edge of a TF1 while loop
            return -1
        visiting.add(name)
        depth[name] = 1 + max((visit(parent) for parent in parents[name]), default=-1)
        visiting.discard(name)
        return depth[name]

    for op in operations:
        visit(op.name)
    for op in operations:
        users = [depth[other] for other, names in parents.items() if op.name in names]
        if not parents[op.name] and users:
            depth[op.name] = max(min(users) - 1, 0)
    return depth


def _layout(operations: list[OpInfo]) -> dict[str, tuple[float, float]]:
    """(x, row) per operation: rows by depth, order within a row chosen to limit crossings."""
    depth = _depths(operations)
    rows: dict[int, list[str]] = {}
    for op in operations:
        rows.setdefault(depth[op.name], []).append(op.name)
    parents = _parents(operations)
    children: dict[str, list[str]] = {op.name: [] for op in operations}
    for name, names in parents.items():
        for parent in names:
            children[parent].append(name)
    place = {name: float(index) for names in rows.values() for index, name in enumerate(names)}

    def sweep(order: list[int], neighbours: dict[str, list[str]]) -> None:
        for row in order:
            def key(name: str) -> float:
                linked = [place[other] for other in neighbours[name]]
                return sum(linked) / len(linked) if linked else place[name]

            rows[row].sort(key=key)
            for index, name in enumerate(rows[row]):
                place[name] = index - (len(rows[row]) - 1) / 2

    ordered = sorted(rows)
    for _ in range(4):  # barycentre heuristic: a few sweeps down and up
        sweep(ordered[1:], parents)
        sweep(ordered[-2::-1], children)
    return {name: (place[name], float(row)) for row, names in rows.items() for name in names}


def _label(op: OpInfo, width: int = 15) -> str:
    name = "/\n".join(
        "\n".join(textwrap.wrap(part, width, break_on_hyphens=False, break_long_words=False))
        for part in op.name.split("/")
    )
    return f"{name}\n[{op.type}]"


def draw_graph(
    graph_or_function: Any,
    *,
    highlight: Iterable[str] | None = None,
    ax: Axes | None = None,
    highlight_label: str = "highlighted",
    faded_label: str = "other operations",
    title: str | None = None,
) -> Axes:
    """Draw a graph's operations in rows by depth, with arrows for the data flow.

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
    faded_label : str, default "other operations"
        Legend entry for the others.
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
            raise ValueError(
                f"highlight names operations not in the graph: {unknown[:5]}; "
                "list the graph's names with graph_operations(graph)"
            )
    graph = as_graph(graph_or_function)
    positions = _layout(operations)
    n_rows = 1 + max(int(row) for _, row in positions.values())
    widest = max(sum(1 for _, row in positions.values() if int(row) == number) for number in range(n_rows))
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, 1.45 * widest + 0.4), max(2.0, 0.85 * n_rows + 0.9)))
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    boxes = {}
    kinds_seen = []
    for op in operations:
        x, row = positions[op.name]
        kind = _kind(graph.get_operation_by_name(op.name))
        faded = marked is not None and op.name not in marked
        if kind not in kinds_seen:
            kinds_seen.append(kind)
        boxes[op.name] = ax.text(
            x,
            -row,
            _label(op),
            ha="center",
            va="center",
            fontsize=7.5,
            color="#9a9a9a" if faded else "black",
            bbox={
                "boxstyle": "round,pad=0.3",
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
                xy=(0.5, 1.0),
                xycoords=boxes[op.name],
                xytext=(0.5, 0.0),
                textcoords=boxes[parent],
                arrowprops={
                    "arrowstyle": "-|>",
                    "color": "black" if on else "#c8c8c8",
                    "linewidth": 1.0,
                    "linestyle": "--" if control else "-",
                    "shrinkA": 1,
                    "shrinkB": 1,
                },
                zorder=2,
            )
    ax.set_xlim(-widest / 2 - 0.05, widest / 2 + 0.05)
    ax.set_ylim(-(n_rows - 1) - 0.55, 0.55)
    ax.set_axis_off()
    handles = [
        Patch(facecolor=KIND_COLORS[kind], edgecolor="black", alpha=0.9, label=_KIND_LABELS[kind]) for kind in kinds_seen
    ]
    if marked is not None:
        handles.append(Patch(facecolor="white", edgecolor="black", linewidth=2.0, label=highlight_label))
        handles.append(Patch(facecolor="#f2f2f2", edgecolor="#bdbdbd", label=faded_label))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(len(handles), 4), fontsize=8)
    if title:
        ax.set_title(title)
    return ax
