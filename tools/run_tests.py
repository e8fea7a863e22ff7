"""``make test`` after the browser check: the test suite in three pytest runs, then one summary.

1. ``unit``: the helper unit tests (``tests/unit``), on two workers;
2. ``notebooks``: nbval in strict mode over every notebook, on two workers,
   each chapter followed by its student edition's exercise cells in the same
   kernel (``tools/student_cells.py``); a notebook's cells all run on one
   worker, in one kernel, in order (see the root ``conftest.py``);
3. ``rendered``: the strict book build, then the pages in headless Chromium
   (one process: one build, one browser for every page).

``unit`` and ``rendered`` run at the same time (:data:`STAGES`): the browser
step leaves much of the two cores idle (it waits on page loads), and the
unit tests fill it; ``unit`` prints as it goes, ``rendered`` when it ends.
``notebooks`` runs alone, so that its execution-time table measures the
notebooks, not a neighbour. A failing step does not stop the next ones. At the end come each step's time
and result, and each notebook's execution time (``_build/execution-times.json``,
written by step 2); the exit status is 1 when a step failed.

Usage: ``python tools/run_tests.py [STEP ...]`` (default: all three steps, in order).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["STAGES", "STEPS", "WORKERS", "Step", "main", "notebook_table"]

ROOT = Path(__file__).resolve().parents[1]
TIMES_FILE = ROOT / "_build" / "execution-times.json"
#: The reference machine has two cores; one worker per core.
WORKERS = 2


@dataclass(frozen=True)
class Step:
    name: str
    title: str
    arguments: tuple[str, ...]


STEPS = (
    Step("unit", "helper unit tests", ("tests/unit", "-n", str(WORKERS))),
    Step(
        "notebooks",
        "notebooks: nbval and student editions",
        ("notebooks", "-n", str(WORKERS), "--dist", "loadgroup", "--no-loadscope-reorder"),
    ),
    Step("rendered", "book build and browser tests", ("tests/rendered",)),
)

#: The steps run together, stage after stage.
STAGES = (("unit", "rendered"), ("notebooks",))


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{seconds:.1f} s"


def notebook_table(record: dict) -> list[str]:
    """The lines of the execution-time table of a record of ``_build/execution-times.json``."""
    notebooks = record.get("notebooks", {})
    workers = record.get("workers", 1)
    where = f"{workers} workers in parallel" if workers > 1 else "one at a time"
    lines = [f"notebook execution times ({where}, {record.get('measured', '?')})",
             f"  {'':<40} {'nbval':>9}  {'student edition':>15}"]
    for name, entry in sorted(notebooks.items()):
        status = "ok" if entry.get("passed") else "FAILED"
        earlier = "" if entry.get("measured") == record.get("measured") else f"  (measured {entry.get('measured')})"
        student = f"{entry['student_seconds']:7.1f} s" if "student_seconds" in entry else ""
        lines.append(f"  {name:<40} {entry.get('seconds', 0):7.1f} s  {student:>15}  {status}{earlier}")
    total = sum(e.get("seconds", 0) for e in notebooks.values())
    student_total = sum(e.get("student_seconds", 0) for e in notebooks.values())
    lines.append(f"  {'all notebooks':<40} {total:7.1f} s  {student_total:13.1f} s")
    lines.append(f"  machine: {record.get('machine', '?')}")
    return lines


def _run_stage(steps: list[Step]) -> list[tuple[Step, int, float]]:
    """Run ``steps`` at the same time: the first prints as it goes, the others when they end."""
    results = []
    with contextlib.ExitStack() as stack:
        started = []
        for index, step in enumerate(steps):
            together = "" if index == 0 else " (at the same time; its output follows when it ends)"
            print(f"\n=== make test, step {step.name}: {' '.join(['pytest', *step.arguments])}{together}", flush=True)
            log = None if index == 0 else stack.enter_context(tempfile.TemporaryFile(mode="w+", encoding="utf-8"))
            command = [sys.executable, "-m", "pytest", *step.arguments]
            process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT if log else None)
            started.append((step, process, log, time.perf_counter()))
        for step, process, log, step_start in started:
            returncode = process.wait()
            results.append((step, returncode, time.perf_counter() - step_start))
            if log is not None:
                log.seek(0)
                print(f"\n=== make test, output of step {step.name}:\n{log.read()}", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/run_tests.py", description=__doc__.splitlines()[0])
    parser.add_argument("steps", nargs="*", metavar="STEP", help="unit, notebooks or rendered (default: all, in this order)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.steps) - {step.name for step in STEPS})
    if unknown:
        parser.error(f"unknown step(s) {unknown}; choose from {[step.name for step in STEPS]}")
    chosen = {step.name: step for step in STEPS if not args.steps or step.name in args.steps}
    start = time.perf_counter()
    results = []
    for stage in STAGES:
        results += _run_stage([chosen[name] for name in stage if name in chosen])
    print("\n=== make test: summary")
    for step, returncode, seconds in results:
        print(f"  {step.title:<42} {_duration(seconds):>12}  {'passed' if returncode == 0 else f'FAILED (exit {returncode})'}")
    print(f"  {'all steps':<42} {_duration(time.perf_counter() - start):>12}")
    together = [name for stage in STAGES if len([n for n in stage if n in chosen]) > 1 for name in stage]
    if together:
        print(f"  (steps {' and '.join(together)} ran at the same time)")
    if "notebooks" in chosen and TIMES_FILE.is_file():
        print("\n" + "\n".join(notebook_table(json.loads(TIMES_FILE.read_text(encoding="utf-8")))))
    return 1 if any(returncode != 0 for _, returncode, _ in results) else 0


if __name__ == "__main__":
    sys.exit(main())
