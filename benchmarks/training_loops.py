"""Training-loop benchmark: the article's ``Session`` against TensorFlow 2.

Run with ``make benchmark`` (or ``python -m benchmarks.training_loops``).
Trains the article's model (10 -> 20 -> 2 x 20, batches of 10) with every
method of :mod:`mtl_helpers.speed`, for alternating and joint training, and
prints steps per second (median of several timed repeats after warm-up)
side by side, with each method's ratio to the ``Session`` baseline.

Keras ``fit`` is measured at several ``steps_per_execution`` and reported at
its best. It trains one summed loss, so it has no alternating variant.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections.abc import Sequence

import mtl_helpers
from mtl_helpers.speed import MODES, SUPPORTED_MODES, SpeedResult, measure_speed

#: Steps per timed run: enough for each run to last a good fraction of a second.
#: Keras ``fit`` goes last: its input pipeline leaves background threads
#: running that halve the speed of whatever is measured after it on 2 cores.
STEPS = {
    "session": 1_000,
    "eager": 50,
    "tf_function": 1_000,
    "compiled_loop": 10_000,
    "compiled_loop_xla": 20_000,
    "keras_fit": 5_000,
}
KERAS_STEPS_PER_EXECUTION = (1, 10, 100, 1000)

#: The goals of the book's speed issue, as ratios to the Session baseline.
GOALS = {"compiled_loop_xla": 15.0, "compiled_loop": 5.0, "tf_function": 0.6}


def _measure(method: str, mode: str, *, scale: float, repeats: int) -> SpeedResult:
    steps = max(10, int(STEPS[method] * scale))
    if method != "keras_fit":
        return measure_speed(method, mode, steps=steps, repeats=repeats, warmup=1)
    candidates = [
        measure_speed(method, mode, steps=steps, repeats=repeats, warmup=1, steps_per_execution=spe)
        for spe in KERAS_STEPS_PER_EXECUTION
        if spe <= steps
    ]
    best = max(candidates, key=lambda result: result.steps_per_second)
    best_spe = KERAS_STEPS_PER_EXECUTION[candidates.index(best)]
    return SpeedResult(f"keras_fit (steps_per_execution={best_spe})", mode, best.steps_per_second, best.repeats, best.steps)


def run(scale: float = 1.0, repeats: int = 5) -> dict[str, dict[str, SpeedResult]]:
    """Measure every method in every mode it supports: ``{mode: {method: result}}``."""
    results: dict[str, dict[str, SpeedResult]] = {}
    for mode in MODES:
        results[mode] = {}
        for method in STEPS:
            if mode in SUPPORTED_MODES[method]:
                results[mode][method] = _measure(method, mode, scale=scale, repeats=repeats)
                print(f"  measured {results[mode][method]}", file=sys.stderr, flush=True)
    return results


def report(results: dict[str, dict[str, SpeedResult]]) -> str:
    """The side-by-side table, ratios to the Session, and the goals met or missed."""
    lines = [
        f"Machine: {platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, "
        f"Python {platform.python_version()}, TensorFlow {mtl_helpers.tf.__version__}",
        "",
        f"{'method':<42} {'alternating':>22} {'joint':>22}",
    ]
    methods = list(dict.fromkeys(name for per_mode in results.values() for name in per_mode))
    for method in methods:
        cells = []
        label = method
        for mode in MODES:
            result = results[mode].get(method)
            if result is None:
                cells.append(f"{'n/a':>22}")
                continue
            label = result.method if method == "keras_fit" else method
            ratio = result.steps_per_second / results[mode]["session"].steps_per_second
            cells.append(f"{result.steps_per_second:>10,.0f}/s {ratio:>7.2f}x")
        lines.append(f"{label:<42} {cells[0]} {cells[1]}")
    lines += ["", "Goals (ratio to the Session):"]
    for mode in MODES:
        session = results[mode]["session"].steps_per_second
        for method, goal in GOALS.items():
            ratio = results[mode][method].steps_per_second / session
            verdict = "met" if ratio >= goal else "MISSED"
            lines.append(f"  {mode:<12} {method:<18} {ratio:6.2f}x  (goal >= {goal:g}x)  {verdict}")
        if "keras_fit" in results[mode]:
            ratio = results[mode]["compiled_loop_xla"].steps_per_second / results[mode]["keras_fit"].steps_per_second
            verdict = "met" if ratio >= 3 else "MISSED"
            lines.append(f"  {mode:<12} {'XLA loop / best fit':<18} {ratio:6.2f}x  (goal >= 3x)  {verdict}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: ``python -m benchmarks.training_loops [--quick]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the steps and 3 repeats (for a smoke test)")
    args = parser.parse_args(argv)
    mtl_helpers.setup(seed=0)
    results = run(scale=0.1 if args.quick else 1.0, repeats=3 if args.quick else 5)
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
