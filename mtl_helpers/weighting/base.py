"""The weighting interface and fixed weights.

Joint training minimises one number made from the task losses. A
*weighting* is the small object that makes it: ``combine(losses)`` returns
the total to minimise and the weight it applied to each task, so the
trainer can log the weights of every step (after LibMTL's
``LibMTL/weighting``, one class per method).

Every weighting has

* ``tasks``: the task names it weights, in the network's order;
* ``variables``: trainable variables the trainer's optimizer trains with the
  network (uncertainty weighting's log-variances; ``[]`` for most methods);
* ``needs_gradients``: ``True`` when ``combine`` needs the per-task gradients
  on the shared variables (GradNorm); the trainer then passes them as
  ``jacobian``, shape (n_tasks, n_shared_parameters), rows in ``tasks`` order;
* ``reset()``: back to the initial state;
* ``combine(losses, *, jacobian=None) -> (total, {task: weight})``, which runs
  inside compiled TensorFlow functions; any state lives in ``tf.Variable``s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mtl_helpers._state import state_variable
from mtl_helpers._tensorflow import tf
from mtl_helpers._validation import task_names, task_weights
from mtl_helpers.data import TASKS

__all__ = ["FixedWeights", "StatefulWeighting", "Weighting"]


class Weighting:
    """Base class of the loss weightings (see the module docstring for the interface).

    Parameters
    ----------
    tasks : sequence of str, default ("y1", "y2")
    """

    needs_gradients: bool = False

    def __init__(self, tasks: Sequence[str] = TASKS) -> None:
        self.tasks = task_names(tasks)

    @property
    def variables(self) -> list[tf.Variable]:
        """Trainable variables trained with the network: none unless a method adds some."""
        return []

    def reset(self) -> None:
        """Back to the initial state; nothing to do for a stateless weighting."""

    def combine(
        self, losses: Mapping[str, tf.Tensor], *, jacobian: tf.Tensor | None = None
    ) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        """``(total to minimise, {task: weight applied})`` for one step's task losses."""
        raise NotImplementedError(f"{type(self).__name__} must define combine(losses, *, jacobian=None)")

    def _check_losses(self, losses: Mapping[str, tf.Tensor]) -> None:
        missing = [task for task in self.tasks if task not in losses]
        if missing:
            raise ValueError(f"{type(self).__name__} weights tasks {list(self.tasks)}; the losses lack {missing}")


class StatefulWeighting(Weighting):
    """A weighting that keeps its weights in a vector ``current_weights`` and other state between steps.

    Subclasses create every piece of state with :meth:`_state`; :meth:`reset`
    then puts each back to the value it started from, and :attr:`weights`
    reads ``current_weights`` (which starts at 1 for every task).
    """

    def __init__(self, tasks: Sequence[str] = TASKS, *, prefix: str) -> None:
        super().__init__(tasks)
        self._initial: list[tuple[tf.Variable, Any]] = []
        self.current_weights = self._state(tf.ones([len(self.tasks)]), name=f"{prefix}_weights")

    def _state(self, initial: Any, *, name: str, dtype: tf.DType = tf.float32) -> tf.Variable:
        """A state variable that :meth:`reset` sets back to ``initial``."""
        variable = state_variable(initial, name=name, dtype=dtype)
        self._initial.append((variable, tf.constant(initial, dtype=dtype)))
        return variable

    @property
    def weights(self) -> dict[str, float]:
        """The weights the next :meth:`combine` will apply, ``{task: w}``."""
        values = self.current_weights.numpy()
        return {task: float(values[number]) for number, task in enumerate(self.tasks)}

    def reset(self) -> None:
        """Every piece of state back to its initial value (weights 1)."""
        for variable, initial in self._initial:
            variable.assign(initial)


class FixedWeights(Weighting):
    """Fixed loss weights: ``L = sum_i w_i * L_i``.

    The weights live in non-trainable TensorFlow variables, so :meth:`assign`
    changes them without retracing a compiled training loop. With every
    weight 1.0 (the default) this is the article's plain sum.

    Parameters
    ----------
    weights : dict, optional
        ``{"y1": w1, "y2": w2}``, each finite and >= 0; default 1.0 each.
    tasks : sequence of str, default ("y1", "y2")

    Examples
    --------
    >>> weighting = FixedWeights({"y1": 1e-4, "y2": 1.0})
    >>> total, applied = weighting.combine({"y1": tf.constant(2e4), "y2": tf.constant(0.5)})
    >>> round(float(total), 4)
    2.5
    """

    def __init__(self, weights: Mapping[str, float] | None = None, *, tasks: Sequence[str] = TASKS) -> None:
        super().__init__(tasks)
        values = task_weights(weights, self.tasks)
        self._weights = {
            task: state_variable(values[task], name=f"w_{task}") for task in self.tasks
        }

    @property
    def weights(self) -> dict[str, float]:
        """The current weights ``{task: w}``."""
        return {task: float(variable.numpy()) for task, variable in self._weights.items()}

    def assign(self, weights: Mapping[str, float]) -> None:
        """Replace the weights (one per task, finite and >= 0)."""
        for task, value in task_weights(weights, self.tasks).items():
            self._weights[task].assign(value)

    def combine(
        self, losses: Mapping[str, tf.Tensor], *, jacobian: tf.Tensor | None = None
    ) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        """``(sum_i w_i * L_i, {task: w_i})``; ``jacobian`` is not used."""
        self._check_losses(losses)
        weights = {task: tf.identity(self._weights[task]) for task in self.tasks}
        return tf.add_n([weights[task] * losses[task] for task in self.tasks]), weights

    def __repr__(self) -> str:
        return f"FixedWeights({self.weights})"
