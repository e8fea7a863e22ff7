"""Helpers shared by the chapters of "Multi-Task Learning with TensorFlow".

Importing this package imports TensorFlow quietly (see
:mod:`mtl_helpers._tensorflow`). The book's machinery comes in five
concepts, one interface each:

* **networks** (:mod:`~mtl_helpers.models`): :class:`TwoHeadNet`, the
  article's shared layer with one head per task, and
  :func:`keras_two_head_model`, the same in Keras; soft sharing in
  :mod:`~mtl_helpers.architectures` (:class:`SharedBottom`, :class:`OMoE`,
  :class:`MMoE`, :class:`CGC`, :func:`matched_sizes`);
* **trainers** (:mod:`~mtl_helpers.trainers`): :class:`AlternatingTrainer`
  and :class:`JointTrainer`, each with ``reset(seed)``, ``step`` and
  ``fit`` returning a :class:`TrainingLog`;
* **schedules** (:mod:`~mtl_helpers.sampling`): which task each
  alternating step trains (:class:`CoinFlip`, :class:`TemperatureSampler` ...);
* **weightings** (:mod:`~mtl_helpers.weighting`): how joint training
  combines the task losses (:class:`FixedWeights`, :class:`UncertaintyWeights`,
  :class:`DynamicWeightAverage`, :class:`GradNorm`);
* **aggregators** (:mod:`~mtl_helpers.aggregation`): how joint training
  combines the tasks' gradients on the shared variables (:class:`PCGrad`,
  :class:`MGDA`, :class:`CAGrad`, :class:`IMTLG`);
* **statistics** (:mod:`~mtl_helpers.stats`): the book's protocol for
  results over seeds (:func:`compare_paired`, :class:`Results`).

Around them: data (:mod:`~mtl_helpers.data`, :mod:`~mtl_helpers.scaling`,
real data sets in :mod:`~mtl_helpers.real_data`), a network with
classification and regression heads and missing labels
(:mod:`~mtl_helpers.multi_head`, :mod:`~mtl_helpers.heads`),
the article's TensorFlow 1 graph (:mod:`~mtl_helpers.compat_v1`), diagrams
(:mod:`~mtl_helpers.graph_diagrams`, :mod:`~mtl_helpers.network_diagrams`,
the decision guide's flow chart in :mod:`~mtl_helpers.flow_chart`),
speed measurements (:mod:`~mtl_helpers.speed`), looking inside a run
(:mod:`~mtl_helpers.inspection`), plots (:mod:`~mtl_helpers.plots`),
interactive figures for the book and live controls in Jupyter
(:mod:`~mtl_helpers.interactive`, :mod:`~mtl_helpers.live`) and the
exercise self-checks (:mod:`~mtl_helpers.checks`).
"""

from mtl_helpers import compat_v1
from mtl_helpers._tensorflow import tf
from mtl_helpers.aggregation import IMTLG, MGDA, Aggregator, CAGrad, PCGrad
from mtl_helpers.architecture_sizes import MatchedSize, matched_sizes
from mtl_helpers.architectures import CGC, MMoE, OMoE, SharedBottom
from mtl_helpers.checks import check
from mtl_helpers.data import TASKS, RelatedTasks, article_batch, article_weights
from mtl_helpers.flow_chart import Decision, Recommendation, draw_flow_chart, follow_guide, guide_rows
from mtl_helpers.gradient_maps import GradientMap, gradient_map, plot_gradient_map
from mtl_helpers.graph_diagrams import draw_graph, graph_operations, required_operations
from mtl_helpers.heads import Classification, Regression, masked_mean
from mtl_helpers.inspection import adam_slots, final_block_drift, shared_readout_r2, steps_of_task, weight_changes
from mtl_helpers.interactive import InteractiveFigure, seed_summaries
from mtl_helpers.live import live_controls
from mtl_helpers.models import STRUCTURED_NET, TwoHeadNet, keras_two_head_model
from mtl_helpers.multi_head import MultiHeadNet, keras_losses, keras_multi_head_model, keras_targets
from mtl_helpers.network_diagrams import NetworkSpec, draw_network, network_spec
from mtl_helpers.plots import plot_learning_curves, plot_seed_spread, plot_task_curves
from mtl_helpers.real_data import (
    DIGIT_TASKS,
    PENGUIN_FEATURES,
    PENGUIN_ISLANDS,
    PENGUIN_SEXES,
    PENGUIN_SPECIES,
    PENGUIN_TASKS,
    SPLIT_FRACTIONS,
    multi_digits,
    penguins,
    stratified_split,
)
from mtl_helpers.runtime import PALETTE, TASK_COLORS, progress, setup
from mtl_helpers.sampling import (
    AnnealedSampler,
    BlockSchedule,
    CoinFlip,
    Interleaved,
    ProportionalSampler,
    Schedule,
    SquareRootSampler,
    TemperatureSampler,
    UniformSampler,
    dataset_sizes,
)
from mtl_helpers.scaling import TargetScaler, inverse_variance_weights
from mtl_helpers.speed import SpeedResult, measure_speed, plot_speeds
from mtl_helpers.stats import (
    MIN_SEEDS,
    PairedComparison,
    Results,
    SeedSummary,
    compare_paired,
    summarize_seeds,
)
from mtl_helpers.trainers import (
    AlternatingTrainer,
    BatchedAlternatingTrainer,
    BatchedJointTrainer,
    CheckpointScores,
    JointTrainer,
    Trainer,
    TrainingLog,
    article_adam,
    fit_checkpoints,
)
from mtl_helpers.weighting import (
    DynamicWeightAverage,
    FixedWeights,
    GradNorm,
    UncertaintyWeights,
    Weighting,
    uncertainty_weighted_loss,
)

__version__ = "0.2.0"

__all__ = [
    "CGC",
    "DIGIT_TASKS",
    "MMoE",
    "MatchedSize",
    "OMoE",
    "SharedBottom",
    "matched_sizes",
    "IMTLG",
    "InteractiveFigure",
    "MGDA",
    "MIN_SEEDS",
    "PENGUIN_FEATURES",
    "PENGUIN_ISLANDS",
    "PENGUIN_SEXES",
    "PENGUIN_SPECIES",
    "PENGUIN_TASKS",
    "SPLIT_FRACTIONS",
    "Aggregator",
    "CAGrad",
    "Classification",
    "Decision",
    "DynamicWeightAverage",
    "GradNorm",
    "MultiHeadNet",
    "PCGrad",
    "Regression",
    "keras_losses",
    "keras_multi_head_model",
    "keras_targets",
    "masked_mean",
    "multi_digits",
    "penguins",
    "stratified_split",
    "PALETTE",
    "STRUCTURED_NET",
    "TASKS",
    "TASK_COLORS",
    "AlternatingTrainer",
    "AnnealedSampler",
    "BatchedAlternatingTrainer",
    "BatchedJointTrainer",
    "BlockSchedule",
    "CheckpointScores",
    "CoinFlip",
    "FixedWeights",
    "GradientMap",
    "Interleaved",
    "JointTrainer",
    "NetworkSpec",
    "PairedComparison",
    "ProportionalSampler",
    "Recommendation",
    "RelatedTasks",
    "Results",
    "Schedule",
    "SeedSummary",
    "SpeedResult",
    "SquareRootSampler",
    "TargetScaler",
    "TemperatureSampler",
    "Trainer",
    "TrainingLog",
    "TwoHeadNet",
    "UncertaintyWeights",
    "UniformSampler",
    "Weighting",
    "adam_slots",
    "article_adam",
    "article_batch",
    "article_weights",
    "check",
    "compare_paired",
    "compat_v1",
    "dataset_sizes",
    "draw_graph",
    "draw_network",
    "draw_flow_chart",
    "final_block_drift",
    "follow_guide",
    "fit_checkpoints",
    "gradient_map",
    "guide_rows",
    "graph_operations",
    "inverse_variance_weights",
    "keras_two_head_model",
    "live_controls",
    "measure_speed",
    "network_spec",
    "plot_gradient_map",
    "plot_learning_curves",
    "plot_seed_spread",
    "plot_speeds",
    "plot_task_curves",
    "progress",
    "required_operations",
    "seed_summaries",
    "setup",
    "shared_readout_r2",
    "steps_of_task",
    "summarize_seeds",
    "tf",
    "uncertainty_weighted_loss",
    "weight_changes",
]
