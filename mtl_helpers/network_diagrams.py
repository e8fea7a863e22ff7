"""Pictures of a multi-head network, read from the real model (chapter 2).

Two questions about a hard-parameter-sharing network have answers that can
be drawn:

* *What is shared and what belongs to one task?* :func:`network_spec` reads
  the layer names and sizes from a :class:`~mtl_helpers.TwoHeadNet` or from a
  functional Keras model (by walking its graph from each output back to the
  input), and :func:`draw_network` draws input, shared layers, heads,
  predictions, targets and losses, coloured by part with
  :data:`mtl_helpers.TASK_COLORS`.
* *Which variables does each task's loss reach?* :func:`gradient_map`
  differentiates each task's ``tf.nn.l2_loss`` with respect to every variable
  and :func:`plot_gradient_map` shows the result as a small matrix (rows:
  losses, columns: variables; a blank "None" cell means no path from the
  variable to that loss). :meth:`GradientMap.from_gradients` builds the same
  matrix from gradients computed elsewhere, e.g. by ``tf.gradients`` in a
  ``tf.compat.v1`` graph.

Everything is drawn with Matplotlib only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import FancyBboxPatch, Patch, Rectangle

from mtl_helpers._keras import producing_layer
from mtl_helpers._tensorflow import tf
from mtl_helpers._validation import batch_arrays
from mtl_helpers.models import TwoHeadNet
from mtl_helpers.runtime import PALETTE, TASK_COLORS

__all__ = [
    "GradientMap",
    "LayerSpec",
    "NetworkSpec",
    "draw_network",
    "gradient_map",
    "network_spec",
    "part_color",
    "plot_gradient_map",
]

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


# ----------------------------------------------------------------------------
# Which variables each loss reaches
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GradientMap:
    """Gradient norms of each loss with respect to each variable.

    Attributes
    ----------
    losses : tuple of str
        Row labels (task names).
    variables : tuple of str
        Column labels (variable names).
    parts : tuple of str
        The part each variable belongs to: ``"shared"`` or a task name.
    norms : ndarray of shape (n_losses, n_variables)
        Euclidean norm of each gradient; ``NaN`` where the gradient is
        ``None`` (the loss does not depend on the variable at all). A zero
        means "depends on it, but the gradient happens to vanish here".
    """

    losses: tuple[str, ...]
    variables: tuple[str, ...]
    parts: tuple[str, ...]
    norms: np.ndarray

    def __post_init__(self) -> None:
        norms = np.asarray(self.norms, dtype=np.float64)
        expected = (len(self.losses), len(self.variables))
        if norms.shape != expected:
            raise ValueError(f"norms must have shape (n_losses, n_variables) = {expected}, got {norms.shape}")
        if len(self.parts) != len(self.variables):
            raise ValueError(f"give one part per variable: {len(self.variables)} variables, {len(self.parts)} parts")
        if np.any(norms[~np.isnan(norms)] < 0):
            raise ValueError("norms must be >= 0 (NaN marks a missing gradient)")
        object.__setattr__(self, "norms", norms)

    @property
    def has_gradient(self) -> np.ndarray:
        """Boolean array (n_losses, n_variables): True where the gradient is not None."""
        return ~np.isnan(self.norms)

    def touched(self, loss: str) -> list[str]:
        """The variables that ``loss`` sends a gradient to (not None)."""
        if loss not in self.losses:
            raise ValueError(f"unknown loss {loss!r}; expected one of {list(self.losses)}")
        row = self.losses.index(loss)
        return [name for name, has in zip(self.variables, self.has_gradient[row], strict=True) if has]

    def __str__(self) -> str:
        width = max(10, *(len(name) + 2 for name in self.variables))
        lines = ["loss \\ variable".ljust(16) + "".join(name.rjust(width) for name in self.variables)]
        for loss, row in zip(self.losses, self.norms, strict=True):
            cells = ["None" if np.isnan(value) else f"{value:.4g}" for value in row]
            lines.append(loss.ljust(16) + "".join(cell.rjust(width) for cell in cells))
        return "\n".join(lines)

    @classmethod
    def from_gradients(
        cls, gradients: Mapping[str, Mapping[str, Any]], parts: Mapping[str, str] | None = None
    ) -> GradientMap:
        """Build the map from gradient values computed elsewhere.

        Parameters
        ----------
        gradients : dict
            ``{loss: {variable: gradient array or None}}``; every loss must
            list the same variables. For a ``tf.compat.v1`` graph, pair
            ``tf.gradients(loss, variables)`` with the variable names and
            evaluate the non-None entries in a session.
        parts : dict, optional
            ``{variable: part}``. Default: a variable whose name starts with
            a loss name (``"y1_W"``) belongs to that task, any other to
            ``"shared"``.
        """
        if not isinstance(gradients, Mapping) or not gradients:
            raise TypeError("gradients must be a non-empty dict {loss: {variable: gradient or None}}")
        losses = tuple(gradients)
        rows = list(gradients.values())
        if not all(isinstance(row, Mapping) for row in rows):
            raise TypeError("each gradients[loss] must be a dict {variable: gradient or None}")
        variables = tuple(rows[0])
        for loss, row in gradients.items():
            if tuple(row) != variables:
                raise ValueError(
                    f"every loss must list the same variables in the same order; {losses[0]!r} has "
                    f"{list(variables)}, {loss!r} has {list(row)}"
                )
        if parts is None:
            parts = {name: next((loss for loss in losses if name.startswith(loss)), SHARED) for name in variables}
        missing = [name for name in variables if name not in parts]
        if missing:
            raise ValueError(f"parts has no entry for variables {missing}")
        norms = np.array(
            [[np.nan if row[name] is None else float(np.linalg.norm(np.asarray(row[name], dtype=np.float64)))
              for name in variables] for row in rows]
        ).reshape(len(losses), len(variables))
        return cls(losses, variables, tuple(parts[name] for name in variables), norms)


def _named_variables(model: Any) -> tuple[list[tuple[str, Any]], dict[str, str]]:
    """``[(label, variable)]`` and ``{label: part}`` for a TwoHeadNet or Keras model."""
    if isinstance(model, TwoHeadNet):
        named = [(SHARED, model.shared), *model.heads.items()]
        named += [(f"{name}_bias", bias) for name, bias in model.biases.items()]
        parts = {label: (label[: -len("_bias")] if label.endswith("_bias") else label) for label, _ in named}
        return named, parts
    spec = network_spec(model)
    layer_parts = {layer.name: SHARED for layer in spec.shared}
    layer_parts.update({layer.name: task for task, layers in spec.heads.items() for layer in layers})
    named, parts = [], {}
    for layer_name, part in layer_parts.items():
        for variable in model.get_layer(layer_name).trainable_weights:
            named.append((variable.path, variable))
            parts[variable.path] = part
    return named, parts


def gradient_map(model: Any, batch: Mapping[str, Any]) -> GradientMap:
    """Differentiate each task's ``tf.nn.l2_loss`` with respect to every variable.

    Parameters
    ----------
    model : TwoHeadNet or keras.Model
        For a Keras model, the output names are the task names and the
        columns are its variables' paths (``"shared/kernel"``).
    batch : dict
        ``{"x": (n, in_dim), task: (n, head_units), ...}``; one row per task
        present.

    Returns
    -------
    GradientMap
        ``NaN`` where ``tf.GradientTape.gradient`` returned ``None``.

    Examples
    --------
    >>> gmap = gradient_map(TwoHeadNet(), article_batch(np.random.default_rng(0)))
    >>> gmap.touched("y1")
    ['shared', 'y1']
    """
    if not isinstance(model, TwoHeadNet | tf.keras.Model):
        raise TypeError(f"model must be a TwoHeadNet or a functional keras.Model, got {type(model).__name__}")
    spec = network_spec(model)
    if not isinstance(batch, Mapping):
        raise TypeError(f"batch must be a dict like {{'x': ..., 'y1': ...}}, got {type(batch).__name__}")
    tasks = [task for task in spec.tasks if task in batch]
    if not tasks:
        raise ValueError(f"the batch holds no targets; expected some of {list(spec.tasks)}, got keys {sorted(batch)}")
    arrays = {}
    for task in tasks:
        arrays.update(batch_arrays(batch, tasks=[task], in_dim=spec.in_dim, out_dim=spec.heads[task][-1].units))
    named, parts = _named_variables(model)
    variables = [variable for _, variable in named]
    rows = {}
    for task in tasks:
        with tf.GradientTape() as tape:
            predictions = model(arrays["x"])
            if not isinstance(predictions, Mapping):
                predictions = dict(zip(spec.tasks, predictions, strict=True))
            loss = tf.nn.l2_loss(arrays[task] - predictions[task])
        gradients = tape.gradient(loss, variables)
        rows[task] = {label: (None if grad is None else grad.numpy()) for (label, _), grad in zip(named, gradients, strict=True)}
    return GradientMap.from_gradients(rows, parts)


def plot_gradient_map(gmap: GradientMap, *, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Draw a :class:`GradientMap` as a matrix of coloured cells.

    A cell is filled with the colour of the variable's part and shows the
    gradient norm when the loss reaches the variable; it is white, hatched and
    labelled "None" when the gradient is ``None``.

    Parameters
    ----------
    gmap : GradientMap
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib Axes
    """
    if not isinstance(gmap, GradientMap):
        raise TypeError(f"gmap must be a GradientMap from gradient_map(), got {type(gmap).__name__}")
    n_losses, n_variables = gmap.norms.shape
    if ax is None:
        _, ax = plt.subplots(figsize=(1.5 * n_variables + 1.6, 0.75 * n_losses + 1.5))
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    tasks = tuple(part for part in dict.fromkeys(gmap.parts) if part != SHARED)
    for row in range(n_losses):
        for col in range(n_variables):
            value = gmap.norms[row, col]
            if np.isnan(value):
                cell = Rectangle((col, row), 1, 1, facecolor="white", edgecolor="#9a9a9a", hatch="///", linewidth=1)
                label, color = "None", "#555555"
            else:
                face = part_color(gmap.parts[col], tasks)
                cell = Rectangle((col, row), 1, 1, facecolor=face, edgecolor="white", linewidth=2)
                label, color = f"{value:.3g}", "white"
            ax.add_patch(cell)
            ax.text(col + 0.5, row + 0.5, label, ha="center", va="center", fontsize=9, color=color,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 1} if label == "None" else None)
    ax.set_xlim(0, n_variables)
    ax.set_ylim(n_losses, 0)
    ax.set_xticks(np.arange(n_variables) + 0.5, gmap.variables)
    ax.set_yticks(np.arange(n_losses) + 0.5, [f"loss {loss}" for loss in gmap.losses])
    for tick, part in zip(ax.get_xticklabels(), gmap.parts, strict=True):
        tick.set_color(part_color(part, tasks))
    ax.grid(False)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xlabel("variable (coloured by the part it belongs to)")
    ax.set_ylabel("loss differentiated")
    ax.set_title(title if title is not None else "Gradient norm of each loss per variable (None: no path)")
    return ax
