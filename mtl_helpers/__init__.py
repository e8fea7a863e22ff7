"""Helpers shared by the chapters of "Multi-Task Learning with TensorFlow".

Importing this package imports TensorFlow quietly (see
:mod:`mtl_helpers._tensorflow`). The public names, by module:

* :mod:`~mtl_helpers.runtime`: :func:`setup`, the figure palette;
* :mod:`~mtl_helpers.data`: :func:`article_batch`, :func:`article_weights`,
  :class:`RelatedTasks`;
* :mod:`~mtl_helpers.models`: :class:`TwoHeadNet`, :func:`keras_two_head_model`;
* :mod:`~mtl_helpers.network_diagrams`: :func:`network_spec`, :func:`draw_network`,
  :func:`gradient_map`, :func:`plot_gradient_map`;
* :mod:`~mtl_helpers.training`: :class:`AlternatingTrainer`,
  :class:`JointTrainer`, :func:`article_adam`, :func:`mean_squared_errors`;
* :mod:`~mtl_helpers.compat_v1`: the article's TensorFlow 1 graph and trainers;
* :mod:`~mtl_helpers.joint`: :func:`compare_alternating_joint`,
  :func:`describe_paired_difference` (alternating versus joint over seeds);
* :mod:`~mtl_helpers.graph_diagrams`: :func:`graph_operations`,
  :func:`required_operations`, :func:`draw_graph` (TensorFlow graphs, chapter 1);
* :mod:`~mtl_helpers.speed`: :func:`measure_speed`, :func:`plot_speeds`
  (steps per second of session, eager, tf.function and compiled loops);
* :mod:`~mtl_helpers.stats` and :mod:`~mtl_helpers.plots`: results over
  seeds, learning curves;
* :mod:`~mtl_helpers.sampling`: task samplers and block schedules for
  alternating training (:class:`TemperatureSampler` ...);
* :mod:`~mtl_helpers.weighting`: :class:`TargetScaler`, fixed and
  uncertainty loss weights, :class:`UncertaintyWeightedTrainer`;
* :mod:`~mtl_helpers.pitfalls`: chapter 5's experiments on the bias pitfalls;
* :mod:`~mtl_helpers.checks`: :func:`check` for exercise self-checks.
"""

from mtl_helpers import compat_v1
from mtl_helpers._tensorflow import tf
from mtl_helpers.checks import check
from mtl_helpers.data import TASKS, RelatedTasks, article_batch, article_weights
from mtl_helpers.graph_diagrams import draw_graph, graph_operations, required_operations
from mtl_helpers.joint import compare_alternating_joint, describe_paired_difference
from mtl_helpers.models import STRUCTURED_NET, TwoHeadNet, keras_two_head_model
from mtl_helpers.network_diagrams import (
    GradientMap,
    NetworkSpec,
    draw_network,
    gradient_map,
    network_spec,
    plot_gradient_map,
)
from mtl_helpers.plots import plot_learning_curves, plot_seed_spread
from mtl_helpers.runtime import PALETTE, TASK_COLORS, progress, setup
from mtl_helpers.sampling import (
    AnnealedSampler,
    BlockSchedule,
    Interleaved,
    ProportionalSampler,
    SquareRootSampler,
    TemperatureSampler,
    UniformSampler,
)
from mtl_helpers.speed import SpeedResult, measure_speed, plot_speeds
from mtl_helpers.stats import SeedSummary, paired_difference, summarize_seeds
from mtl_helpers.training import (
    AlternatingTrainer,
    JointTrainer,
    TrainingLog,
    article_adam,
    mean_squared_errors,
)
from mtl_helpers.weighting import (
    FixedWeights,
    TargetScaler,
    UncertaintyWeightedTrainer,
    UncertaintyWeights,
    WeightedJointTrainer,
)

__version__ = "0.1.0"

__all__ = [
    "AlternatingTrainer",
    "AnnealedSampler",
    "BlockSchedule",
    "FixedWeights",
    "GradientMap",
    "Interleaved",
    "JointTrainer",
    "NetworkSpec",
    "PALETTE",
    "ProportionalSampler",
    "RelatedTasks",
    "STRUCTURED_NET",
    "SeedSummary",
    "SpeedResult",
    "SquareRootSampler",
    "TargetScaler",
    "TASKS",
    "TASK_COLORS",
    "TemperatureSampler",
    "TrainingLog",
    "TwoHeadNet",
    "UncertaintyWeightedTrainer",
    "UncertaintyWeights",
    "UniformSampler",
    "WeightedJointTrainer",
    "article_adam",
    "article_batch",
    "article_weights",
    "check",
    "compare_alternating_joint",
    "compat_v1",
    "describe_paired_difference",
    "draw_graph",
    "draw_network",
    "gradient_map",
    "graph_operations",
    "keras_two_head_model",
    "mean_squared_errors",
    "measure_speed",
    "network_spec",
    "paired_difference",
    "plot_gradient_map",
    "plot_learning_curves",
    "plot_seed_spread",
    "progress",
    "plot_speeds",
    "required_operations",
    "summarize_seeds",
    "setup",
    "tf",
]
