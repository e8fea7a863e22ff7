"""The book's trainers: one interface (``reset``, ``step``, ``fit``, ``TrainingLog``).

* :class:`AlternatingTrainer`: one optimizer per task, one task per step (chapter 3);
* :class:`JointTrainer`: one optimizer on a weighting of the task losses, with an
  optional gradient aggregator (chapters 4-6);
* :class:`BatchedAlternatingTrainer`, :class:`BatchedJointTrainer`: S seeds of
  one experiment in one compiled loop, each the run it would be alone;
* :func:`fit_checkpoints`: train to checkpoints, score several held-out sets
  (validation and test) there, and stop early (:class:`CheckpointScores`).
"""

from mtl_helpers.trainers.alternating import AlternatingTrainer
from mtl_helpers.trainers.base import OptimizerFactory, Trainer, TrainingLog, article_adam
from mtl_helpers.trainers.batched import BatchedAlternatingTrainer, BatchedJointTrainer
from mtl_helpers.trainers.checkpoints import CheckpointScores, fit_checkpoints
from mtl_helpers.trainers.joint import JointTrainer

__all__ = [
    "AlternatingTrainer",
    "BatchedAlternatingTrainer",
    "BatchedJointTrainer",
    "CheckpointScores",
    "JointTrainer",
    "OptimizerFactory",
    "Trainer",
    "TrainingLog",
    "article_adam",
    "fit_checkpoints",
]
