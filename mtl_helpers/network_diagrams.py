"""Pictures of a multi-head network, read from the real model (chapter 2).

Two questions about a hard-parameter-sharing network have answers that can
be drawn:

* *What is shared and what belongs to one task?* :func:`network_spec` reads
  the layer names and sizes from a :class:`~mtl_helpers.TwoHeadNet` or from a
  functional Keras model (by walking its graph from each output back to the
  input), and :func:`draw_network` draws input, shared layers, heads,
  predictions, targets and losses, coloured by part with
  :data:`mtl_helpers.TASK_COLORS`.
* *Which variables does each task's loss reach?* See
  :mod:`mtl_helpers.gradient_maps`.

Everything is drawn with Matplotlib only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.patches import FancyBboxPatch, Patch

from mtl_helpers._keras import producing_layer
from mtl_helpers._tensorflow import tf
from mtl_helpers.models import TwoHeadNet
from mtl_helpers.runtime import PALETTE, TASK_COLORS

__all__ = ["SHARED", "LayerSpec", "NetworkSpec", "draw_network", "network_spec", "part_color"]

SHARED = "shared"


def part_color(part: str, tasks: tuple[str, ...] = ()) -> str:
    """The colour of a network part: grey for ``"shared"``, the task's colour otherwise.

    Tasks without a fixed colour in :data:`mtl_helpers.TASK_COLORS` (say a
    third task ``"y3"``) take the next unused palette colour, in the order of
    ``tasks``.
    """
    if not isinstance(part, str):
        raise TypeError(f"part must be a str such as 'shared' or 'y1', got {type(part).__name__}")
    if part in TASK_COLORS:
        return TASK_COLORS[part]
    spare = [color for color in PALETTE if color not in TASK_COLORS.values()]
    others = [task for task in tasks if task not in TASK_COLORS]
    index = others.index(part) if part in others else 0
    return spare[index % len(spare)]


# ----------------------------------------------------------------------------
# The structure of a network
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerSpec:
    """One dense layer: ``activation(inputs @ W (+ b))``.

    Attributes
    ----------
    name : str
        The layer's (or weight variable's) name.
    in_units, units : int
        Input and output width; the weight matrix has shape (in_units, units).
    activation : str
        ``"relu"`` or ``"linear"`` (any Keras activation name).
    use_bias : bool
    part : str
        ``"shared"`` or the name of the one task whose output it feeds.
    """

    name: str
    in_units: int
    units: int
    activation: str
    use_bias: bool
    part: str

    @property
    def n_params(self) -> int:
        """Number of trainable numbers: ``in_units * units`` (+ ``units`` with a bias)."""
        return self.in_units * self.units + (self.units if self.use_bias else 0)


@dataclass(frozen=True)
class NetworkSpec:
    """A shared trunk of dense layers and one chain of dense layers per task.

    Made by :func:`network_spec` from a real model. Two models with the same
    layer names, sizes, activations and biases have equal specs.

    Attributes
    ----------
    input_name : str
    in_dim : int
    shared : tuple of LayerSpec
        The layers every task's output depends on, input side first (may be
        empty when nothing is shared).
    heads : dict of str to tuple of LayerSpec
        Each task's own layers, in the model's output order.
    """

    input_name: str
    in_dim: int
    shared: tuple[LayerSpec, ...]
    heads: Mapping[str, tuple[LayerSpec, ...]] = field(default_factory=dict)

    @property
    def tasks(self) -> tuple[str, ...]:
        """The task (output) names."""
        return tuple(self.heads)

    def parameter_counts(self) -> dict[str, int]:
        """Trainable numbers per part: ``{"shared": ..., "y1": ..., "y2": ...}``."""
        counts = {SHARED: sum(layer.n_params for layer in self.shared)}
        counts.update({task: sum(layer.n_params for layer in layers) for task, layers in self.heads.items()})
        return counts

    def __str__(self) -> str:
        lines = [f"input {self.input_name!r}: (n, {self.in_dim})"]
        rows = [(SHARED, layer) for layer in self.shared]
        rows += [(task, layer) for task, layers in self.heads.items() for layer in layers]
        for part, layer in rows:
            bias = " + bias" if layer.use_bias else ""
            lines.append(
                f"{part:<8} layer {layer.name!r}: {layer.in_units} -> {layer.units}{bias}, "
                f"{layer.activation}, {layer.n_params} parameters"
            )
        return "\n".join(lines)


def _spec_from_net(net: TwoHeadNet) -> NetworkSpec:
    in_dim, shared_units = (int(size) for size in net.shared.shape)
    shared = LayerSpec(SHARED, in_dim, shared_units, "relu", net.use_bias, SHARED)
    heads = {}
    for task, weights in net.heads.items():
        rows, cols = (int(size) for size in weights.shape)
        heads[task] = (LayerSpec(task, rows, cols, net.output_activation, net.use_bias, task),)
    return NetworkSpec(input_name="x", in_dim=in_dim, shared=(shared,), heads=heads)


def _keras_outputs(model: Any) -> dict[str, Any]:
    output = model.output
    if isinstance(output, Mapping):
        return dict(output)
    tensors = list(model.outputs)
    return dict(zip(model.output_names, tensors, strict=True))


def _chain_to_input(tensor: Any, model_input: Any, task: str) -> list[Any]:
    """The layers between the model's input and ``tensor``, input side first."""
    chain = []
    while tensor is not model_input:
        produced = producing_layer(tensor)
        if produced is None:
            raise ValueError(f"cannot trace output {task!r} back to the model's input")
        layer, inputs = produced
        if len(inputs) != 1:
            raise ValueError(
                f"layer {layer.name!r} on the path of output {task!r} has {len(inputs)} inputs; "
                "only chains of single-input layers can be drawn"
            )
        if any(seen is layer for seen in chain):
            raise ValueError(
                f"layer {layer.name!r} is used twice on the path of output {task!r}; reused layers are not supported"
            )
        chain.append(layer)
        tensor = inputs[0]
    return chain[::-1]


def _dense_spec(layer: Any, part: str) -> LayerSpec:
    if not isinstance(layer, tf.keras.layers.Dense):
        raise ValueError(
            f"layer {layer.name!r} is a {type(layer).__name__}; network_spec reads Dense layers only"
        )
    activation = getattr(layer.activation, "__name__", str(layer.activation))
    return LayerSpec(layer.name, int(layer.kernel.shape[0]), int(layer.units), activation, bool(layer.use_bias), part)


def _spec_from_keras(model: Any) -> NetworkSpec:
    inputs = getattr(model, "inputs", None)
    if not inputs:
        raise TypeError(
            f"{type(model).__name__} has no graph to read; pass a functional keras.Model "
            "(keras.Model(inputs=..., outputs={...})) or a TwoHeadNet"
        )
    if len(inputs) != 1:
        raise ValueError(f"the model has {len(inputs)} inputs; network_spec draws single-input models only")
    model_input = inputs[0]
    chains = {task: _chain_to_input(tensor, model_input, task) for task, tensor in _keras_outputs(model).items()}
    tasks = list(chains)
    # The shared trunk is the common prefix of every output's chain.
    n_shared = 0
    while all(len(chain) > n_shared for chain in chains.values()) and all(
        chain[n_shared] is chains[tasks[0]][n_shared] for chain in chains.values()
    ):
        n_shared += 1
    if len(tasks) < 2:
        n_shared = 0
    heads = {}
    for task, chain in chains.items():
        own = chain[n_shared:]
        if not own:
            raise ValueError(f"output {task!r} has no layer of its own; every output needs a head")
        for layer in own:
            users = [other for other in tasks if any(item is layer for item in chains[other])]
            if len(users) > 1:
                raise ValueError(
                    f"layer {layer.name!r} feeds outputs {users} but not all of {tasks}; "
                    "only one shared trunk with one head per output can be drawn"
                )
        heads[task] = tuple(_dense_spec(layer, task) for layer in own)
    shared = tuple(_dense_spec(layer, SHARED) for layer in chains[tasks[0]][:n_shared])
    return NetworkSpec(
        input_name=str(model_input.name), in_dim=int(model_input.shape[-1]), shared=shared, heads=heads
    )


def network_spec(model: Any) -> NetworkSpec:
    """Read a multi-head network's structure from the model itself.

    Parameters
    ----------
    model : TwoHeadNet or keras.Model or NetworkSpec
        A :class:`~mtl_helpers.TwoHeadNet` (sizes are read from its weight
        variables) or a functional Keras model with one input and one output
        per task, built from ``Dense`` layers (the graph is walked back from
        each output; the layers every output depends on form the shared trunk).
        A ``NetworkSpec`` is returned unchanged.

    Returns
    -------
    NetworkSpec

    Examples
    --------
    >>> network_spec(TwoHeadNet()).parameter_counts()
    {'shared': 200, 'y1': 400, 'y2': 400}
    """
    if isinstance(model, NetworkSpec):
        return model
    if isinstance(model, TwoHeadNet):
        return _spec_from_net(model)
    if isinstance(model, tf.keras.Model):
        return _spec_from_keras(model)
    raise TypeError(f"model must be a TwoHeadNet or a functional keras.Model, got {type(model).__name__}")


# ----------------------------------------------------------------------------
# Drawing the network
# ----------------------------------------------------------------------------

_BOX_W, _BOX_H, _COL, _ROW = 1.7, 0.95, 2.25, 1.35
_DATA_FILL = "#f2f2f2"


def _box(ax: Axes, x: float, y: float, text: str, *, face: str, edge: str, text_color: str, dashed: bool = False) -> None:
    patch = FancyBboxPatch(
        (x - _BOX_W / 2, y - _BOX_H / 2), _BOX_W, _BOX_H, boxstyle="round,pad=0.02,rounding_size=0.12",
        facecolor=face, edgecolor=edge, linewidth=1.6, linestyle="--" if dashed else "-",
    )
    ax.add_patch(patch)
    weight = "bold" if text_color == "white" else "normal"
    ax.text(x, y, text, ha="center", va="center", fontsize=8.5, color=text_color, fontweight=weight)


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float], color: str = "#444444") -> None:
    ax.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "-|>", "color": color, "lw": 1.2,
                                                      "shrinkA": 0, "shrinkB": 0})


def _layer_text(layer: LayerSpec) -> str:
    bias = " + b" if layer.use_bias else ""
    return f"{layer.name}\n{layer.in_units}→{layer.units}{bias}, {layer.activation}\n{layer.n_params} params"


def draw_network(
    model: Any,
    *,
    ax: Axes | None = None,
    loss_name: str = "l2_loss",
    show_targets: bool = True,
    title: str | None = None,
) -> Axes:
    """Draw a multi-head network from the model, shared and task parts in their colours.

    Boxes, left to right: the input; the shared layers (grey); each task's
    head layers (the task's colour); each task's prediction; its loss and,
    if ``show_targets``, the target fed into the loss. Each layer box gives
    its name, ``in→out`` size, activation and parameter count, all read from
    ``model``.

    Parameters
    ----------
    model : TwoHeadNet or keras.Model or NetworkSpec
        See :func:`network_spec`.
    ax : matplotlib Axes, optional
        Default: a new figure sized to the network.
    loss_name : str, default "l2_loss"
        The loss written in each loss box.
    show_targets : bool, default True
    title : str, optional
        Default names the number of heads.

    Returns
    -------
    matplotlib Axes
    """
    spec = network_spec(model)
    if not isinstance(loss_name, str) or not loss_name:
        raise TypeError(f"loss_name must be a non-empty str such as 'l2_loss', got {loss_name!r}")
    tasks = spec.tasks
    depth = max(len(layers) for layers in spec.heads.values())
    n_columns = 1 + len(spec.shared) + depth + 2 + int(bool(show_targets))
    if ax is None:
        _, ax = plt.subplots(figsize=(1.55 * n_columns + 0.6, 1.1 * len(tasks) + 1.9))
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    rows = {task: ((len(tasks) - 1) / 2 - index) * _ROW for index, task in enumerate(tasks)}
    colors = {task: part_color(task, tasks) for task in tasks}
    shared_color = part_color(SHARED)

    _box(ax, 0.0, 0.0, f"input {spec.input_name}\n(n, {spec.in_dim})", face=_DATA_FILL, edge="black", text_color="black")
    previous = (0.0, 0.0)
    for column, layer in enumerate(spec.shared, start=1):
        x = column * _COL
        _arrow(ax, (previous[0] + _BOX_W / 2, previous[1]), (x - _BOX_W / 2, 0.0))
        _box(ax, x, 0.0, _layer_text(layer), face=shared_color, edge=shared_color, text_color="white")
        previous = (x, 0.0)
    trunk_end = previous
    first_head = len(spec.shared) + 1
    prediction_column = first_head + depth
    for task in tasks:
        y, color = rows[task], colors[task]
        source = trunk_end
        for offset, layer in enumerate(spec.heads[task]):
            x = (first_head + offset) * _COL
            _arrow(ax, (source[0] + _BOX_W / 2, source[1]), (x - _BOX_W / 2, y))
            _box(ax, x, y, _layer_text(layer), face=color, edge=color, text_color="white")
            source = (x, y)
        units = spec.heads[task][-1].units
        x_pred, x_loss = prediction_column * _COL, (prediction_column + 1) * _COL
        _arrow(ax, (source[0] + _BOX_W / 2, source[1]), (x_pred - _BOX_W / 2, y))
        _box(ax, x_pred, y, f"prediction {task}\n(n, {units})", face="white", edge=color, text_color="black")
        _arrow(ax, (x_pred + _BOX_W / 2, y), (x_loss - _BOX_W / 2, y))
        _box(ax, x_loss, y, f"loss {task}\n{loss_name}", face="white", edge=color, text_color="black")
        if show_targets:
            x_target = (prediction_column + 2) * _COL
            _arrow(ax, (x_target - _BOX_W / 2, y), (x_loss + _BOX_W / 2, y))
            _box(ax, x_target, y, f"target {task}\n(n, {units})", face=_DATA_FILL, edge="black",
                 text_color="black", dashed=True)

    last_column = prediction_column + 1 + int(bool(show_targets))
    half_height = max(abs(y) for y in rows.values()) + _BOX_H / 2 + 0.15
    ax.set_xlim(-_BOX_W / 2 - 0.15, last_column * _COL + _BOX_W / 2 + 0.15)
    ax.set_ylim(-half_height, half_height)
    ax.set_axis_off()
    handles = [Patch(facecolor=shared_color, label="shared: every task's loss trains it")]
    handles += [Patch(facecolor=colors[task], label=f"task {task} only") for task in tasks]
    handles.append(Patch(facecolor=_DATA_FILL, edgecolor="black", label="data fed in (input, targets)"))
    n_legend_columns = len(handles) if len(handles) <= 4 else 3
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=n_legend_columns, fontsize=8.5)
    heads = "1 head" if len(tasks) == 1 else f"{len(tasks)} heads"
    ax.set_title(title if title is not None else f"A network with {heads}, read from the model")
    return ax
