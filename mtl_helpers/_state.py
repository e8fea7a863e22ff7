"""Variables that hold a method's state, usable with and without ``tf.distribute`` (private).

Weightings and aggregators keep state between steps (a step count, running
means, the current weights). Under a ``tf.distribute`` strategy every replica
computes the same update from the same all-reduced values, and a variable
updated in a replica's context needs an aggregation rule:
``ONLY_FIRST_REPLICA`` keeps the first replica's (identical) value. Without a
strategy the rule changes nothing.
"""

from __future__ import annotations

from typing import Any

from mtl_helpers._tensorflow import tf

__all__ = ["state_variable"]


def state_variable(initial: Any, *, name: str, dtype: tf.DType = tf.float32) -> tf.Variable:
    """A non-trainable ``tf.Variable`` for a method's state, safe to update on every replica."""
    return tf.Variable(
        initial, dtype=dtype, trainable=False, name=name, aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA
    )
