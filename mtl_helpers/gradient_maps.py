"""Which variables does each task's loss reach? (chapter 2).

:func:`gradient_map` differentiates each task's ``tf.nn.l2_loss`` with
respect to every variable of a :class:`~mtl_helpers.TwoHeadNet` or a
functional Keras model, and :func:`plot_gradient_map` shows the result as a
small matrix (rows: losses, columns: variables; a blank "None" cell means no
path from the variable to that loss). :meth:`GradientMap.from_gradients`
builds the same matrix from gradients computed elsewhere, e.g. by
``tf.gradients`` in a ``tf.compat.v1`` graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle

from mtl_helpers._tensorflow import tf
from mtl_helpers._validation import batch_arrays
from mtl_helpers.models import TwoHeadNet
from mtl_helpers.network_diagrams import SHARED, network_spec, part_color

__all__ = ["GradientMap", "gradient_map", "plot_gradient_map"]


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
