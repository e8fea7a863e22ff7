"""The article's two-task graph in TensorFlow 1 style, run for real.

Introduced in chapter 2 and used in chapters 3 and 4 to run the article's
code side by side with the TensorFlow 2 trainers. The graph is the article's
(placeholders, variables, ``tf.nn.l2_loss``, ``AdamOptimizer().minimize``),
with its defects fixed (see the book's errata), built with ``tf.compat.v1``
inside its own ``tf.Graph`` so that it never touches TensorFlow 2's eager
state.

Both trainers here have the same ``step`` methods as
:class:`mtl_helpers.AlternatingTrainer` and :class:`mtl_helpers.JointTrainer`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mtl_helpers._tensorflow import tf
from mtl_helpers._validation import batch_arrays, known_task, task_weights
from mtl_helpers.data import TASKS
from mtl_helpers.models import TwoHeadNet

__all__ = ["ArticleGraph", "SessionAlternatingTrainer", "SessionJointTrainer"]

v1 = tf.compat.v1


class ArticleGraph:
    """The article's two-task graph, its defects fixed, in a private ``tf.Graph``.

    Parameters
    ----------
    weights : dict, optional
        Initial arrays ``{"shared": (in_dim, shared_units), "y1": (shared_units,
        head_units), "y2": (...)}``. Default: the same He-normal arrays that
        ``TwoHeadNet(seed=seed)`` starts from.
    in_dim, shared_units, head_units, seed, output_activation
        As for :class:`mtl_helpers.TwoHeadNet`.

    Attributes
    ----------
    graph : tf.Graph
    placeholders : dict
        ``{"x": X, "y1": Y1, "y2": Y2}``, each with a free batch dimension.
    outputs, losses : dict
        Each task's output tensor and ``tf.nn.l2_loss`` tensor.
    variables : dict
        ``{"shared": ..., "y1": ..., "y2": ...}`` weight variables.
    """

    def __init__(
        self,
        weights: Mapping[str, Any] | None = None,
        *,
        in_dim: int = 10,
        shared_units: int = 20,
        head_units: int = 20,
        seed: int = 0,
        output_activation: str = "relu",
    ) -> None:
        # TwoHeadNet checks the arguments and makes the default initial arrays.
        reference = TwoHeadNet(in_dim, shared_units, head_units, weights=weights, seed=seed, output_activation=output_activation)
        initial = reference.get_weights()
        self.in_dim, self.head_units = reference.in_dim, reference.head_units
        self.tasks: tuple[str, ...] = TASKS
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.placeholders = {"x": v1.placeholder(tf.float32, [None, in_dim], name="X")}
            for task in self.tasks:
                self.placeholders[task] = v1.placeholder(tf.float32, [None, head_units], name=task.upper())
            self.variables = {
                name: v1.Variable(array, name=f"{name}_W", dtype=tf.float32) for name, array in initial.items()
            }
            shared_layer = tf.nn.relu(tf.matmul(self.placeholders["x"], self.variables["shared"]), name="shared_layer")
            self.outputs, self.losses = {}, {}
            for task in self.tasks:
                logits = tf.matmul(shared_layer, self.variables[task])
                output = tf.nn.relu(logits) if output_activation == "relu" else logits
                self.outputs[task] = tf.identity(output, name=f"{task}_layer")
                self.losses[task] = tf.nn.l2_loss(self.placeholders[task] - self.outputs[task], name=f"{task}_loss")

    def feed(self, batch: Mapping[str, Any], tasks: tuple[str, ...]) -> dict:
        """The feed dict ``{placeholder: array}`` for ``x`` and ``tasks``."""
        arrays = batch_arrays(batch, tasks=tasks, in_dim=self.in_dim, out_dim=self.head_units)
        return {self.placeholders[key]: value for key, value in arrays.items()}


def _check_learning_rate(learning_rate: float) -> None:
    if not np.isfinite(learning_rate) or learning_rate <= 0:
        raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}")


class _SessionTrainer:
    """Owns a ``Session`` on an :class:`ArticleGraph`; closes it on ``close``."""

    def __init__(self, graph: ArticleGraph) -> None:
        if not isinstance(graph, ArticleGraph):
            raise TypeError(f"graph must be a compat_v1.ArticleGraph, got {type(graph).__name__}")
        self.article = graph
        self.session = v1.Session(graph=graph.graph)

    def _initialise(self) -> None:
        with self.article.graph.as_default():
            # The article calls the long-deprecated initialize_all_variables().
            self.session.run(v1.global_variables_initializer())

    def get_weights(self) -> dict[str, np.ndarray]:
        """Current values of ``{"shared", "y1", "y2"}`` as arrays."""
        return self.session.run(self.article.variables)

    def close(self) -> None:
        """Release the session."""
        self.session.close()

    def __enter__(self) -> _SessionTrainer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class SessionAlternatingTrainer(_SessionTrainer):
    """The article's alternating training: ``AdamOptimizer().minimize`` per task.

    Parameters
    ----------
    graph : ArticleGraph
    learning_rate : float, default 0.001
        The article uses ``AdamOptimizer()``'s defaults (epsilon 1e-8).

    Examples
    --------
    >>> with SessionAlternatingTrainer(ArticleGraph()) as trainer:
    ...     loss = trainer.step("y1", article_batch(np.random.default_rng(0)))
    """

    def __init__(self, graph: ArticleGraph, learning_rate: float = 0.001) -> None:
        super().__init__(graph)
        _check_learning_rate(learning_rate)
        with graph.graph.as_default():
            self.train_ops = {
                task: v1.train.AdamOptimizer(learning_rate, name=f"Adam_{task}").minimize(graph.losses[task])
                for task in graph.tasks
            }
        self._initialise()

    def step(self, task: str, batch: Mapping[str, Any]) -> float:
        """Run ``task``'s optimizer once; return ``task``'s loss before the update."""
        known_task(task, self.article.tasks)
        _, loss = self.session.run(
            [self.train_ops[task], self.article.losses[task]], self.article.feed(batch, (task,))
        )
        return float(loss)


class SessionJointTrainer(_SessionTrainer):
    """The article's joint training, fixed: one Adam on the (weighted) summed loss.

    Parameters
    ----------
    graph : ArticleGraph
    loss_weights : dict, optional
        ``{"y1": w1, "y2": w2}``, default 1.0 each (the article's plain sum).
    learning_rate : float, default 0.001
    """

    def __init__(
        self, graph: ArticleGraph, loss_weights: Mapping[str, float] | None = None, learning_rate: float = 0.001
    ) -> None:
        super().__init__(graph)
        _check_learning_rate(learning_rate)
        self.loss_weights = task_weights(loss_weights, graph.tasks)
        with graph.graph.as_default():
            self.total_loss = tf.add_n(
                [self.loss_weights[task] * graph.losses[task] for task in graph.tasks], name="Joint_Loss"
            )
            self.train_op = v1.train.AdamOptimizer(learning_rate, name="Adam_joint").minimize(self.total_loss)
        self._initialise()

    def step(self, batch: Mapping[str, Any]) -> dict[str, float]:
        """One joint update; returns ``{"y1", "y2", "total"}`` losses before it."""
        fetches = {"train": self.train_op, "total": self.total_loss, **self.article.losses}
        values = self.session.run(fetches, self.article.feed(batch, self.article.tasks))
        return {key: float(values[key]) for key in (*self.article.tasks, "total")}

