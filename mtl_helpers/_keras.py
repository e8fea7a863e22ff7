"""The one place where the book reads Keras internals (private).

Keras 3 has no public API for three things the book needs: an Adam
optimizer's moment estimates of one variable (chapter 3 shows them), which
of an optimizer's variables are its *state* (to restart an experiment
without building and tracing new trainers) and the layer that produced a
symbolic tensor of a functional model (to draw its graph, chapter 2). Each
is read here by one small function; ``tests/unit/test_keras_adapter.py``
fails with a message naming the function when a Keras upgrade breaks it.
"""

from __future__ import annotations

from typing import Any

from mtl_helpers._tensorflow import tf

__all__ = ["adam_moments", "optimizer_state", "producing_layer"]


class KerasInternalsError(RuntimeError):
    """Raised when a Keras internal that the book relies on has moved."""


def _internal(owner: Any, attribute: str, reader: str) -> Any:
    try:
        return getattr(owner, attribute)
    except AttributeError:
        raise KerasInternalsError(
            f"{reader}: Keras {tf.keras.__version__} has no {type(owner).__name__}.{attribute}; "
            "update mtl_helpers/_keras.py for this Keras version"
        ) from None


def adam_moments(optimizer: tf.keras.optimizers.Adam, variable: tf.Variable) -> tuple[tf.Variable, tf.Variable]:
    """Adam's first and second moment estimates ``(m, v)`` of ``variable``.

    Keras 3 keeps them in the lists ``_momentums`` and ``_velocities``, in the
    order of the variables the optimizer was built with.
    """
    try:
        index = _internal(optimizer, "_get_variable_index", "adam_moments")(variable)
    except KeyError:
        raise ValueError(f"the optimizer does not update variable {variable.name!r}") from None
    momentums = _internal(optimizer, "_momentums", "adam_moments")
    velocities = _internal(optimizer, "_velocities", "adam_moments")
    return momentums[index], velocities[index]


def optimizer_state(optimizer: tf.keras.optimizers.Optimizer) -> list[tf.Variable]:
    """The variables that hold an optimizer's state: its step count and slots.

    Everything in ``optimizer.variables`` except the learning rate, which is a
    setting. Zeroing these restarts the optimizer exactly as a new one.
    """
    state = []
    for variable in optimizer.variables:
        path = _internal(variable, "path", "optimizer_state")
        if not path.endswith("learning_rate"):
            state.append(variable)
    return state


def producing_layer(tensor: Any) -> tuple[Any, list[Any]] | None:
    """The layer that produced a symbolic Keras tensor, and that call's inputs.

    Returns ``None`` for a tensor no layer produced (a model input).
    """
    history = getattr(tensor, "_keras_history", None)
    if history is None:
        return None
    layer = history.operation
    nodes = _internal(layer, "_inbound_nodes", "producing_layer")
    return layer, list(nodes[history.node_index].input_tensors)
