"""The one adapter over Keras internals (mtl_helpers._keras) still reads what the book needs.

When a Keras upgrade moves an internal, these tests fail here, naming the
function to update, instead of deep inside a chapter.
"""

from __future__ import annotations

import numpy as np
import pytest

from mtl_helpers import TwoHeadNet, article_adam, keras_two_head_model, tf
from mtl_helpers._keras import KerasInternalsError, adam_moments, optimizer_state, producing_layer


def test_adam_moments_are_the_optimizers_slots_after_one_step() -> None:
    net = TwoHeadNet(seed=0)
    optimizer = article_adam()
    optimizer.build([net.shared])
    gradient = tf.ones_like(net.shared)
    optimizer.apply_gradients([(gradient, net.shared)])
    m, v = adam_moments(optimizer, net.shared)
    np.testing.assert_allclose(m.numpy(), 0.1 * np.ones((10, 20)), rtol=1e-6)
    np.testing.assert_allclose(v.numpy(), 0.001 * np.ones((10, 20)), rtol=1e-6)
    with pytest.raises(ValueError, match="does not update"):
        adam_moments(optimizer, net.heads["y1"])


def test_optimizer_state_is_everything_but_the_learning_rate() -> None:
    net = TwoHeadNet(seed=0)
    optimizer = article_adam(0.01)
    optimizer.build(net.all_variables)
    state = optimizer_state(optimizer)
    assert len(state) == len(optimizer.variables) - 1  # step count + (m, v) per variable
    assert optimizer.iterations in state
    assert all(not variable.path.endswith("learning_rate") for variable in state)


def test_producing_layer_walks_a_functional_model_back_to_its_input() -> None:
    model = keras_two_head_model()
    layer, inputs = producing_layer(model.output["y1"])
    assert layer.name == "y1" and len(inputs) == 1
    shared, shared_inputs = producing_layer(inputs[0])
    assert shared.name == "shared" and shared_inputs[0] is model.input
    assert producing_layer(np.zeros(3)) is None  # not a Keras tensor


def test_a_moved_internal_is_reported_by_name() -> None:
    class NotAnAdam:
        def _get_variable_index(self, variable: tf.Variable) -> int:
            return 0

    with pytest.raises(KerasInternalsError, match=r"adam_moments: .* has no NotAnAdam\._momentums"):
        adam_moments(NotAnAdam(), tf.Variable(1.0))
