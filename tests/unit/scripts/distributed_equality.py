"""Run in its own process by tests/unit/test_distributed.py: logical devices must exist before TensorFlow starts.

Trains each trainer for 50 steps on one device and under MirroredStrategy
over two logical CPU devices, from the same weights and batches, and prints
one JSON line: the largest relative difference of the losses per case.
"""

from __future__ import annotations

import json

import numpy as np

import mtl_helpers
from mtl_helpers import (
    MGDA,
    STRUCTURED_NET,
    AlternatingTrainer,
    Classification,
    CoinFlip,
    DynamicWeightAverage,
    FixedWeights,
    GradNorm,
    JointTrainer,
    MultiHeadNet,
    PCGrad,
    Regression,
    RelatedTasks,
    TwoHeadNet,
    UncertaintyWeights,
    article_adam,
    tf,
)
from mtl_helpers.distributed import split_cpu

devices = split_cpu(2)
mtl_helpers.setup(seed=0)
strategy = tf.distribute.MirroredStrategy(devices)
STEPS, BATCH = 50, 16
tasks = RelatedTasks(correlation=0.5, seed=0)
data = tasks.sample(200, seed=0)
datasets = tasks.sample_separate({"y1": 120, "y2": 80}, seed=0)
schedule = CoinFlip(seed=0).schedule(STEPS)


def adam() -> tf.keras.optimizers.Optimizer:
    return article_adam(0.01)


def alternating(strategy=None, loss="l2_loss"):
    net = TwoHeadNet(**STRUCTURED_NET, loss=loss, seed=1)
    trainer = AlternatingTrainer(net, adam, strategy=strategy)
    log = trainer.fit(datasets, schedule, batch_size=BATCH, seed=2)
    counts = [int(optimizer.iterations.numpy()) for optimizer in trainer.optimizers.values()]
    return log.loss, counts


def joint(strategy=None, loss="l2_loss", weighting=None, aggregator=None):
    net = TwoHeadNet(**STRUCTURED_NET, loss=loss, seed=1)
    made = weighting() if weighting else None
    trainer = JointTrainer(net, weighting=made, aggregator=aggregator() if aggregator else None,
                           make_optimizer=adam, strategy=strategy)
    log = trainer.fit(data, STEPS, batch_size=BATCH, seed=2)
    return log.loss, [int(trainer.optimizer.iterations.numpy())]


def masked(strategy=None):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((96, 4)).astype("float32")
    labels = (x[:, 0] > 0).astype("int32")
    labels[rng.random(96) < 0.4] = -1  # 40% missing, unevenly over the replicas' halves
    target = (x[:, 1:2] * 3.0).astype("float32")
    net = MultiHeadNet(4, 8, {"kind": Classification(2), "size": Regression(1)}, seed=1)
    trainer = JointTrainer(net, make_optimizer=adam, strategy=strategy)
    log = trainer.fit({"x": x, "kind": labels, "size": target}, STEPS, batch_size=BATCH, seed=2)
    return log.loss, [int(trainer.optimizer.iterations.numpy())]


CASES = {
    "alternating": lambda s: alternating(s),
    "joint, fixed weights": lambda s: joint(s, weighting=lambda: FixedWeights({"y1": 0.3, "y2": 2.0})),
    "joint, uncertainty weighting": lambda s: joint(s, "mean_squared_error", weighting=UncertaintyWeights),
    "joint, dynamic weight average": lambda s: joint(
        s, "mean_squared_error", weighting=lambda: DynamicWeightAverage(("y1", "y2"), period=5)),
    "joint, GradNorm": lambda s: joint(s, "mean_squared_error", weighting=lambda: GradNorm(("y1", "y2"))),
    "joint, PCGrad": lambda s: joint(s, aggregator=lambda: PCGrad(seed=0)),
    "joint, MGDA": lambda s: joint(s, "mean_squared_error", aggregator=MGDA),
    "joint, missing labels": lambda s: masked(s),
}

report = {}
for name, run in CASES.items():
    single, single_counts = run(None)
    with strategy.scope():
        mirrored, mirrored_counts = run(strategy)
    difference = np.max(np.abs(mirrored - single) / np.maximum(np.abs(single), 1e-12))
    report[name] = {"relative_difference": float(difference), "steps": len(single),
                    "step_counts": [single_counts, mirrored_counts]}
print(json.dumps({"replicas": strategy.num_replicas_in_sync, "cases": report}))
