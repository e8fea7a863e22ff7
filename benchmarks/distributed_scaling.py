"""Scaling of data-parallel training (chapter 10): steps and rows per second on 1, 2, 4 ... replicas.

Not run by the book's tests: on the two cores of the machine the book is
tested on, logical devices share the same cores and prove correctness, not
speed. Where more devices are at hand, run::

    python -m benchmarks.distributed_scaling                    # CPU: one logical device per core
    python -m benchmarks.distributed_scaling --device gpu       # every visible GPU
    python -m benchmarks.distributed_scaling --global-batch 256 # strong scaling: fixed global batch

For each number of replicas (1, 2, 4 ... up to every device) the script
trains :class:`~mtl_helpers.JointTrainer` on the book's two related
regression tasks under ``tf.distribute.MirroredStrategy`` over that many
devices, after a warm-up run that traces the compiled loop, and prints the
median steps per second and rows per second of several timed runs, with the
speed-up and the efficiency (speed-up / replicas) against one replica. A
first row measures the trainer without any strategy.

By default the batch of each replica is fixed (``--per-replica-batch``, weak
scaling: the global batch grows with the replicas); ``--global-batch`` keeps
the global batch fixed instead (strong scaling). ``--shared-units`` makes the
network wider, so that each step has enough work to share.

``--multi-worker`` measures ``MultiWorkerMirroredStrategy`` instead: start the
script on every machine of a cluster, each with its own ``TF_CONFIG``
(see :func:`mtl_helpers.distributed.tf_config`); every worker prints its own
measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from mtl_helpers.distributed import split_cpu


@dataclass
class Measurement:
    """One configuration's speed."""

    setting: str
    replicas: int
    global_batch: int
    steps_per_second: float
    rows_per_second: float


def _replica_counts(available: int) -> list[int]:
    counts, count = [], 1
    while count <= available:
        counts.append(count)
        count *= 2
    return counts if counts[-1] == available else [*counts, available]


def _measure(strategy: Any, replicas: int, global_batch: int, args: argparse.Namespace, setting: str) -> Measurement:
    import contextlib

    from mtl_helpers import JointTrainer, RelatedTasks, TwoHeadNet, article_adam

    data = RelatedTasks(correlation=0.5, seed=0).sample(args.rows, seed=1)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        net = TwoHeadNet(10, args.shared_units, 1, output_activation="linear", use_bias=True, seed=1)
    trainer = JointTrainer(net, make_optimizer=lambda: article_adam(0.001), strategy=strategy)
    trainer.fit(data, max(2, args.steps // 10), batch_size=global_batch, seed=0)  # warm-up: traces the loop
    speeds = []
    for repeat in range(args.repeats):
        start = time.perf_counter()
        trainer.fit(data, args.steps, batch_size=global_batch, seed=repeat + 1)
        speeds.append(args.steps / (time.perf_counter() - start))
    steps_per_second = statistics.median(speeds)
    return Measurement(setting, replicas, global_batch, steps_per_second, steps_per_second * global_batch)


def run(args: argparse.Namespace) -> list[Measurement]:
    """Measure every configuration the arguments ask for."""
    from mtl_helpers import tf

    if args.multi_worker:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        replicas = strategy.num_replicas_in_sync
        global_batch = args.global_batch or args.per_replica_batch * replicas
        return [_measure(strategy, replicas, global_batch, args, "MultiWorkerMirroredStrategy")]
    if args.device == "gpu":
        devices = [device.name for device in tf.config.list_logical_devices("GPU")]
        if not devices:
            raise SystemExit("no GPU is visible to TensorFlow; use --device cpu")
    else:
        devices = [device.name for device in tf.config.list_logical_devices("CPU")]
    devices = devices[: args.max_replicas] if args.max_replicas else devices
    results = [_measure(None, 1, args.global_batch or args.per_replica_batch, args, "no strategy")]
    for replicas in _replica_counts(len(devices)):
        global_batch = args.global_batch or args.per_replica_batch * replicas
        if global_batch % replicas:
            print(f"skipping {replicas} replicas: the global batch {global_batch} does not split evenly", file=sys.stderr)
            continue
        strategy = tf.distribute.MirroredStrategy(devices[:replicas])
        results.append(_measure(strategy, replicas, global_batch, args, "MirroredStrategy"))
        print(f"  measured {results[-1]}", file=sys.stderr, flush=True)
    return results


def report(results: Sequence[Measurement]) -> str:
    """A table with each configuration's speed, speed-up and efficiency against one replica."""
    from mtl_helpers import tf

    base = next((r for r in results if r.setting != "no strategy" and r.replicas == 1), results[0])
    lines = [
        f"Machine: {platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, "
        f"Python {platform.python_version()}, TensorFlow {tf.__version__}",
        "",
        f"{'setting':<30} {'replicas':>8} {'global batch':>12} {'steps/s':>10} {'rows/s':>12} {'speed-up':>9} {'efficiency':>10}",
    ]
    for r in results:
        speedup = r.rows_per_second / base.rows_per_second
        lines.append(
            f"{r.setting:<30} {r.replicas:>8} {r.global_batch:>12} {r.steps_per_second:>10,.0f} "
            f"{r.rows_per_second:>12,.0f} {speedup:>8.2f}x {speedup / r.replicas:>10.0%}"
        )
    lines += ["", "Speed-up: rows per second against MirroredStrategy on one replica."]
    return "\n".join(lines)


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu", help="devices to replicate over")
    parser.add_argument("--max-replicas", type=int, default=None, help="at most this many devices (CPU: logical devices)")
    batch = parser.add_mutually_exclusive_group()
    batch.add_argument("--per-replica-batch", type=int, default=64, help="rows per replica and step (weak scaling)")
    batch.add_argument("--global-batch", type=int, default=None, help="rows per step over all replicas (strong scaling)")
    parser.add_argument("--shared-units", type=int, default=512, help="width of the shared layer")
    parser.add_argument("--rows", type=int, default=20_000, help="rows of training data")
    parser.add_argument("--steps", type=int, default=300, help="steps per timed run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per configuration (median)")
    parser.add_argument("--multi-worker", action="store_true", help="MultiWorkerMirroredStrategy from TF_CONFIG")
    parser.add_argument("--json", action="store_true", help="print the measurements as JSON instead of a table")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if args.device == "cpu" and not args.multi_worker:
        split_cpu(args.max_replicas or os.cpu_count() or 1)  # before TensorFlow starts
    results = run(args)
    print(json.dumps([asdict(r) for r in results], indent=2) if args.json else report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
