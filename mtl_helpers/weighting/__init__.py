"""Loss weightings for joint training: one small class per method.

* :class:`Weighting`: the interface (``combine(losses) -> (total, weights)``);
* :class:`FixedWeights`: ``sum_i w_i L_i`` (the article's sum with every ``w_i = 1``);
* :class:`UncertaintyWeights`: learned weights (Kendall, Gal & Cipolla, CVPR 2018);
* :class:`DynamicWeightAverage`: weights from the losses' rates of descent (Liu, Johns & Davison, CVPR 2019);
* :class:`GradNorm`: weights that balance the tasks' gradient norms (Chen et al., ICML 2018).

Pass one to :class:`mtl_helpers.JointTrainer` as ``weighting=``.
"""

from mtl_helpers.weighting.base import FixedWeights, Weighting
from mtl_helpers.weighting.dwa import DynamicWeightAverage
from mtl_helpers.weighting.gradnorm import GradNorm
from mtl_helpers.weighting.uncertainty import UncertaintyWeights, uncertainty_weighted_loss

__all__ = [
    "DynamicWeightAverage",
    "FixedWeights",
    "GradNorm",
    "UncertaintyWeights",
    "Weighting",
    "uncertainty_weighted_loss",
]
