"""Training-loop benchmark: the article's ``Session`` against TensorFlow 2, and seeds in one call.

Run with ``make benchmark`` (or ``python -m benchmarks.training_loops``).
Trains the article's model (10 -> 20 -> 2 x 20, batches of 10) with every
method of :mod:`mtl_helpers.speed`, for alternating and joint training, and
prints steps per second (median of several timed repeats after warm-up)
side by side, with each method's ratio to the ``Session`` baseline. Then it
measures the seed curve of :mod:`benchmarks.seed_curve`: S seeds trained in
one compiled loop against S runs one after another, with and without XLA,
in a process of its own. TensorFlow runs on one thread throughout (see
:mod:`benchmarks.seed_curve` for why).

Keras ``fit`` is measured at several ``steps_per_execution`` and reported at
its best. It trains one summed loss, so it has no alternating variant.

``--json PATH`` writes every figure and the machine to a JSON file (keys
``methods.<name>.<alternating|joint>.steps_per_s`` and ``.ratio_to_session``,
``seeds.<S>.seed_steps_per_s`` and ``.ratio_to_sequential``, ``seeds_xla``
likewise, ``threads``, ``machine``); ``--readme README.md`` then rewrites the README's
figures from it (see :mod:`benchmarks.readme`).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import mtl_helpers
from benchmarks import readme, seed_curve
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


def _cpu_model() -> str:
    """The processor's model name (Linux), else the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown processor"


def machine(load_start: float) -> dict[str, Any]:
    """What the figures were measured on (no host name, no paths)."""
    return {
        "system": platform.system(),
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": mtl_helpers.tf.__version__,
        "load_1min_start": round(load_start, 2),
        "load_1min_end": round(os.getloadavg()[0], 2),
    }


def to_json(
    results: dict[str, dict[str, SpeedResult]], curves: dict[str, list[seed_curve.SeedPoint]], *, load_start: float, quick: bool
) -> dict[str, Any]:
    """Every figure of the run, keyed ``methods.<name>.<mode>`` and ``seeds.<S>`` / ``seeds_xla.<S>``."""
    methods: dict[str, dict[str, Any]] = {}
    for mode, per_method in results.items():
        session = per_method["session"].steps_per_second
        for name, result in per_method.items():
            entry = {
                "steps_per_s": round(result.steps_per_second, 1),
                "ratio_to_session": round(result.steps_per_second / session, 4),
                "steps": result.steps,
                "repeats_steps_per_s": [round(rate, 1) for rate in result.repeats],
            }
            if name == "keras_fit":
                entry["steps_per_execution"] = int(result.method.rsplit("=", 1)[1].rstrip(")"))
            methods.setdefault(name, {})[mode] = entry
    output: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d"),
        "machine": machine(load_start),
        "threads": seed_curve.THREADS,
        "quick": quick,
        "model": "article: 10 -> 20 -> 2 x 20, batches of 10",
        "methods": methods,
    }
    for key, points in curves.items():
        output[key] = {str(point.seeds): point.as_json() for point in points}
    return output


def measure_seed_curves(*, quick: bool) -> dict[str, list[seed_curve.SeedPoint]]:
    """The seed curves, measured in a process of their own on one thread (see :mod:`benchmarks.seed_curve`)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "seeds.json"
        command = [sys.executable, "-m", "benchmarks.seed_curve", "--json", str(path), *(["--quick"] if quick else [])]
        subprocess.run(command, check=True, cwd=Path(__file__).resolve().parents[1])
        values = json.loads(path.read_text(encoding="utf-8"))
    return {key: seed_curve.points_from_json(points) for key, points in values.items()}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: ``python -m benchmarks.training_loops [--quick] [--json PATH] [--readme README.md]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the steps and 3 repeats (for a smoke test)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write every figure and the machine to this JSON file")
    parser.add_argument("--readme", type=Path, metavar="README", help="rewrite this README's figures from the run")
    parser.add_argument("--no-seeds", action="store_true", help="skip the seed curve")
    args = parser.parse_args(argv)
    load_start = os.getloadavg()[0]
    # The seed curve first, in its own process, while this one has run nothing: Keras fit's input
    # pipeline, measured last below, leaves threads behind.
    curves = {} if args.no_seeds else measure_seed_curves(quick=args.quick)
    seed_curve.use_threads()  # as the seed curve: steady figures (see benchmarks/seed_curve.py)
    mtl_helpers.setup(seed=0)
    scale, repeats = (0.1, 3) if args.quick else (1.0, 5)
    results = run(scale=scale, repeats=repeats)
    print(report(results))
    if curves:
        print(seed_curve.report({"without XLA": curves["seeds"], "with XLA": curves["seeds_xla"]}))
    output = to_json(results, curves, load_start=load_start, quick=args.quick)
    print(f"\nLoad average (1 minute): {output['machine']['load_1min_start']} at the start, "
          f"{output['machine']['load_1min_end']} at the end; figures from a busy machine are low and noisy.")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(output, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    if args.readme is not None:
        readme.rewrite(args.readme, output)
        print(f"rewrote the figures in {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
