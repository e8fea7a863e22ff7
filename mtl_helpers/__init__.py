"""Helpers shared by the chapters of "Multi-Task Learning with TensorFlow".

Importing this package imports TensorFlow quietly (see
:mod:`mtl_helpers._tensorflow`). The public names, by module:

* :mod:`~mtl_helpers.runtime`: :func:`setup`, the figure palette;
* :mod:`~mtl_helpers.data`: :func:`article_batch`, :func:`article_weights`,
  :class:`RelatedTasks`;
* :mod:`~mtl_helpers.models`: :class:`TwoHeadNet`, :func:`keras_two_head_model`;
* :mod:`~mtl_helpers.training`: :class:`AlternatingTrainer`,
  :class:`JointTrainer`, :func:`article_adam`, :func:`mean_squared_errors`;
* :mod:`~mtl_helpers.compat_v1`: the article's TensorFlow 1 graph and trainers;
* :mod:`~mtl_helpers.stats` and :mod:`~mtl_helpers.plots`: results over
  seeds, learning curves;
* :mod:`~mtl_helpers.checks`: :func:`check` for exercise self-checks.
"""

from mtl_helpers import compat_v1
from mtl_helpers._tensorflow import tf
from mtl_helpers.checks import check
from mtl_helpers.data import TASKS, RelatedTasks, article_batch, article_weights
from mtl_helpers.models import TwoHeadNet, keras_two_head_model
from mtl_helpers.plots import plot_learning_curves, plot_seed_spread
from mtl_helpers.runtime import PALETTE, TASK_COLORS, setup
from mtl_helpers.stats import SeedSummary, paired_difference, summarize_seeds
from mtl_helpers.training import (
    AlternatingTrainer,
    JointTrainer,
    TrainingLog,
    article_adam,
    mean_squared_errors,
)

__version__ = "0.1.0"

__all__ = [
    "AlternatingTrainer",
    "JointTrainer",
    "PALETTE",
    "RelatedTasks",
    "SeedSummary",
    "TASKS",
    "TASK_COLORS",
    "TrainingLog",
    "TwoHeadNet",
    "article_adam",
    "article_batch",
    "article_weights",
    "check",
    "compat_v1",
    "keras_two_head_model",
    "mean_squared_errors",
    "paired_difference",
    "plot_learning_curves",
    "plot_seed_spread",
    "summarize_seeds",
    "setup",
    "tf",
]
