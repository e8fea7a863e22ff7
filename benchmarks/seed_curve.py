"""The seed curve: S seeds in one compiled call against S runs one after another (issue 12).

Every chapter's conclusion rests on runs over seeds. This measures what
:class:`mtl_helpers.BatchedAlternatingTrainer` buys: it trains the article's
model (10 -> 20 -> 2 x 20, batches of 10) for S seeds at once, each seed with
its own coin-flip schedule, mini-batches and optimizers, and reports
**seed-steps per second** (S times the steps per second of the loop). The
baseline is the helpers' compiled loop for one seed
(:meth:`mtl_helpers.AlternatingTrainer.fit`) with the same XLA setting: S
runs of it one after another, each as long as the batched run, train S
seeds at its steps per second, so the ratio is batched seed-steps per
second over sequential steps per second.

The machine is shared, so the two are timed in turns (sequential, batched,
sequential, ...) and each ratio compares medians measured in the same
minutes; the 1-minute load average is recorded with every point.

Both sides run on one thread (:data:`THREADS`, :func:`use_threads`), in a
process of their own (``python -m benchmarks.seed_curve``, which ``make
benchmark`` starts after its table of methods, also on one thread). With
TensorFlow's default pool of two threads per process, a step of a few
microseconds is handed between threads, and the same trainer ran at one
speed or at about half of it from one run of the benchmark to the next:
at S = 10 the ratio with XLA came out anywhere from 2.3x to 3.5x in five
runs of one afternoon. On one thread each side's time equals its CPU time,
and repeated runs agree.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

import mtl_helpers
from mtl_helpers._tensorflow import tf
from mtl_helpers.data import TASKS
from mtl_helpers.models import TwoHeadNet
from mtl_helpers.sampling import CoinFlip
from mtl_helpers.speed import make_workload
from mtl_helpers.trainers import AlternatingTrainer, BatchedAlternatingTrainer

#: The numbers of seeds of the curve (issue 12).
SEED_COUNTS = (1, 2, 5, 10, 20, 50)

#: Threads of TensorFlow's pools (intra- and inter-op) in the curve's process.
THREADS = 1

#: The goals of issue 12: at S = 10, at least 5x (floor 3x) the sequential
#: seed-steps per second; at S = 1, at least 0.9x.
GOALS = {10: (5.0, 3.0), 1: (0.9, 0.9)}


@dataclass(frozen=True)
class SeedPoint:
    """One point of the curve.

    Attributes
    ----------
    seeds : int
    seed_steps_per_s : float
        S times the batched loop's steps per second (median of the timed repeats).
    sequential_steps_per_s : float
        The one-seed compiled loop's steps per second, timed in turns with it.
    ratio_to_sequential : float
    steps : int
        Steps per timed run of the batched loop.
    load_1min : float
        The machine's 1-minute load average after the point was measured.
    """

    seeds: int
    seed_steps_per_s: float
    sequential_steps_per_s: float
    ratio_to_sequential: float
    steps: int
    load_1min: float

    def as_json(self) -> dict[str, float | int]:
        """The point's fields for the benchmark's JSON (without ``seeds``, its key)."""
        values = asdict(self)
        values.pop("seeds")
        return {key: round(value, 4) if isinstance(value, float) else value for key, value in values.items()}


def _steps(n_seeds: int, scale: float, jit_compile: bool) -> int:
    """Steps per timed run: about 0.1-0.5 s of work at every S (XLA's loops run about three times faster)."""
    return max(20, int(min(5000, max(500, 20_000 // n_seeds)) * scale * (3 if jit_compile else 1)))


def _alternating_data(pool_steps: int = 200) -> dict[str, dict[str, np.ndarray]]:
    """The article's random batches, pooled per task (``fit`` draws its batches from the pools)."""
    workload = make_workload("alternating", pool_steps, batch_size=10, seed=0)
    return {task: {"x": workload.stacked("x"), task: workload.stacked(task)} for task in TASKS}


def _in_turns(runs: Sequence[Callable[[], object]], repeats: int) -> list[list[float]]:
    """Seconds of each run, timed in turns after one untimed call each (tracing, compiling)."""
    for run in runs:
        run()
    seconds: list[list[float]] = [[] for _ in runs]
    for _ in range(repeats):
        for run, times in zip(runs, seconds, strict=True):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
    return seconds


def measure_curve(
    counts: Sequence[int] = SEED_COUNTS,
    *,
    jit_compile: bool,
    scale: float = 1.0,
    repeats: int = 3,
    log: Callable[[str], None] = print,
) -> list[SeedPoint]:
    """For each number of seeds S in ``counts``: S seeds in one loop against the one-seed loop, in turns.

    The one-seed trainer is built (and traced or compiled) once and
    restarted for each run. Its runs are as long as the batched runs of the
    point, so that both sides pay the same fixed cost per ``fit`` (restart,
    staging the data: about 2-3 ms, a tenth of a 6,000-step run with XLA).
    """
    datasets = _alternating_data()
    single = AlternatingTrainer(TwoHeadNet(seed=0), jit_compile=jit_compile)
    points = []
    for n_seeds in counts:
        steps = _steps(n_seeds, scale, jit_compile)
        batched = BatchedAlternatingTrainer(n_seeds, jit_compile=jit_compile)
        schedules = [CoinFlip(seed=seed).schedule(steps) for seed in batched.seeds]

        def run_single(schedule: list = schedules[0]) -> None:
            single.reset(0)
            single.fit(datasets, schedule, batch_size=10, seed=0)

        def run_batched(batched: BatchedAlternatingTrainer = batched, schedules: list = schedules) -> None:
            batched.reset(batched.seeds)
            batched.fit(datasets, schedules, batch_size=10)

        seconds = _in_turns([run_single, run_batched], repeats)
        sequential = steps / statistics.median(seconds[0])
        together = n_seeds * steps / statistics.median(seconds[1])
        points.append(SeedPoint(n_seeds, together, sequential, together / sequential, steps, os.getloadavg()[0]))
        log(f"  seeds={n_seeds:<3} xla={jit_compile!s:<5} {together:>10,.0f} seed-steps/s "
            f"{together / sequential:6.2f}x sequential (load {points[-1].load_1min:.1f})")
    return points


def report(curves: dict[str, list[SeedPoint]]) -> str:
    """The curve as a text table, with the goals of issue 12 met or missed."""
    lines = ["", "Seeds in one compiled call (alternating training; ratio to S sequential runs of the one-seed loop):",
             f"{'seeds':>7} " + " ".join(f"{name:>30}" for name in curves)]
    for number, n_seeds in enumerate(point.seeds for point in next(iter(curves.values()))):
        cells = []
        for points in curves.values():
            point = points[number]
            cells.append(f"{point.seed_steps_per_s:>13,.0f}/s {point.ratio_to_sequential:6.2f}x (load {point.load_1min:4.1f})")
        lines.append(f"{n_seeds:>7} " + " ".join(f"{cell:>30}" for cell in cells))
    lines += ["", "Goals (issue 12):"]
    for name, points in curves.items():
        by_seeds = {point.seeds: point for point in points}
        for n_seeds, (goal, floor) in GOALS.items():
            if n_seeds in by_seeds:
                ratio = by_seeds[n_seeds].ratio_to_sequential
                verdict = "met" if ratio >= goal else ("above the floor" if ratio >= floor else "MISSED")
                lines.append(f"  {name:<24} S={n_seeds:<3} {ratio:6.2f}x  (goal >= {goal:g}x)  {verdict}")
    return "\n".join(lines)


def use_threads(threads: int = THREADS) -> None:
    """Give TensorFlow's pools (intra- and inter-op, ``Session`` included) ``threads`` threads; call before any op runs."""
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def points_from_json(values: dict[str, dict[str, float | int]]) -> list[SeedPoint]:
    """The points of one curve from the JSON that :func:`main` writes (``{"<S>": SeedPoint.as_json()}``)."""
    return [SeedPoint(seeds=int(seeds), **fields) for seeds, fields in values.items()]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m benchmarks.seed_curve --json PATH [--quick]``: both curves, on :data:`THREADS` thread(s).

    Writes ``{"seeds": {"<S>": point}, "seeds_xla": {...}}`` and logs each
    point to standard error as it is measured.
    """
    parser = argparse.ArgumentParser(description="the seed curve, in a process of its own")
    parser.add_argument("--json", type=Path, required=True, metavar="PATH", help="where to write the two curves")
    parser.add_argument("--quick", action="store_true", help="a tenth of the steps and 3 repeats (for a smoke test)")
    args = parser.parse_args(argv)
    use_threads()
    mtl_helpers.setup(seed=0)
    scale, repeats = (0.1, 3) if args.quick else (1.0, 5)
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    curves = {key: measure_curve(jit_compile=jit_compile, scale=scale, repeats=repeats, log=log)
              for key, jit_compile in (("seeds", False), ("seeds_xla", True))}
    output = {key: {str(point.seeds): point.as_json() for point in points} for key, points in curves.items()}
    args.json.write_text(json.dumps(output, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
