"""Test-suite wiring (a root conftest, so its hooks see the notebooks): notebook times, parallel runs.

``make test`` runs three pytest sessions (``tools/run_tests.py``): the helper
unit tests, then the notebooks (nbval over ``notebooks/`` and the student
editions, two workers through pytest-xdist), then the rendered book.

Timing. Each notebook's time is the sum of the durations of its cells'
reports (setup, call and teardown, so the kernel's start and stop count),
added up where the reports arrive: in the one process of a plain run, on the
controller of an xdist run (workers only run the cells). The table is printed
at the end of the session and written to ``_build/execution-times.json``,
which the book's execution-report page renders.

Student editions. ``tools/student_cells.py`` (loaded here) adds to each
chapter the items that run its student edition's exercise cells in nbval's
kernel, after the chapter; their time is counted apart from nbval's
(``student_seconds`` in the record).

Parallel runs. Under ``--dist loadgroup`` (with ``--no-loadscope-reorder``),
:func:`pytest_xdist_make_scheduler` makes each notebook one unit of work, so one
worker runs all its cells in one kernel, in order; every other test is a unit
of its own. Workers take the units longest first, by the times of the last
run. (xdist's own grouping renames test ids, which pytest 9 no longer
allows, so the notebooks are grouped by the scheduler instead.)
"""

from __future__ import annotations

import json
import os
import platform
import re
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["tools.student_cells"]

ROOT = Path(__file__).resolve().parent
TIMES_FILE = ROOT / "_build" / "execution-times.json"

# Notebooks executed by the tests draw no progress bars (see mtl_helpers.progress).
os.environ["MTL_BOOK_HIDE_PROGRESS"] = "1"

_notebook_seconds: dict[str, float] = defaultdict(float)
_student_seconds: dict[str, float] = defaultdict(float)
_notebook_failed: set[str] = set()
_workers = 1


def _notebook_of(nodeid: str) -> str | None:
    """``"notebooks/ch1_x.ipynb::Cell 3"`` (or with an ``@group`` suffix) -> ``"ch1_x.ipynb"``; None for other tests."""
    path = nodeid.split("::")[0]
    return Path(path).name if path.endswith(".ipynb") else None


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    name = _notebook_of(report.nodeid)
    if name is None:
        return
    student = ("student edition", True) in report.user_properties  # set by tools/student_cells.py
    (_student_seconds if student else _notebook_seconds)[name] += report.duration
    if report.failed:
        _notebook_failed.add(name)


def _machine() -> str:
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}"


def pytest_configure(config: pytest.Config) -> None:
    global _workers
    workers = getattr(config.option, "numprocesses", None)  # pytest-xdist's -n, an int once xdist has read it
    _workers = workers if isinstance(workers, int) and workers > 1 and not _is_worker(config) else 1


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    session.config._mtl_start = time.perf_counter()


# --------------------------------------------------------------------------- parallel runs


def previous_seconds(path: Path = TIMES_FILE) -> dict[str, float]:
    """Each notebook's seconds in the last recorded run (``{}`` when there is none)."""
    try:
        notebooks = json.loads(path.read_text(encoding="utf-8"))["notebooks"]
        return {name: float(entry["seconds"]) for name, entry in notebooks.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def expected_seconds(nodeid: str, previous: dict[str, float]) -> float:
    """How long a work unit is expected to take: its notebook's last time.

    A notebook cell counts for its notebook; a test parametrized by a chapter
    (``...[ch3_alternating_training]``, a student edition) for that chapter.
    A notebook with no record yet comes first (infinity); any other test last (0).
    """
    name = _notebook_of(nodeid)
    if name is not None:
        return previous.get(name, float("inf"))
    match = re.search(r"\[([^\]]+)\]$", nodeid)
    return previous.get(f"{match[1]}.ipynb", 0.0) if match else 0.0


def work_unit(nodeid: str) -> str:
    """The unit of work of a test under ``--dist loadgroup``: its notebook for a cell, else the test itself."""
    path = nodeid.split("::")[0]
    return path if path.endswith(".ipynb") else nodeid


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under ``--dist loadgroup``: one unit per notebook, one per other test (see :func:`work_unit`)."""
    if config.getoption("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class NotebookScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid) if nodeid.split("::")[0].endswith(".ipynb") else super()._split_scope(nodeid)

    return NotebookScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not getattr(config.option, "loadgroup", False):  # set on xdist's workers under --dist loadgroup
        return
    # Longest first (a stable sort keeps each notebook's cells in order). Every worker reads the same file,
    # so every worker collects the same order, as xdist requires; --no-loadscope-reorder keeps it.
    previous = previous_seconds()
    items.sort(key=lambda item: -expected_seconds(item.nodeid, previous))


# --------------------------------------------------------------------------- the record and the table


def write_execution_times() -> None:
    """Record this run's notebook times in ``_build/execution-times.json``.

    Notebooks that this run did not execute keep their earlier entry (each
    entry says when it was measured), so running one chapter's nbval does not
    erase the others. Does nothing when no notebook ran.
    """
    if not _notebook_seconds:
        return
    now = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    notebooks = {}
    if TIMES_FILE.is_file():
        try:
            notebooks = json.loads(TIMES_FILE.read_text()).get("notebooks", {})
        except (ValueError, AttributeError):
            notebooks = {}
    existing = {path.name for path in (ROOT / "notebooks").glob("*.ipynb")}
    notebooks = {name: entry for name, entry in notebooks.items() if name in existing}
    for name, seconds in _notebook_seconds.items():
        notebooks[name] = {"seconds": round(seconds, 1), "passed": name not in _notebook_failed, "measured": now}
        if name in _student_seconds:
            notebooks[name]["student_seconds"] = round(_student_seconds[name], 1)
    TIMES_FILE.parent.mkdir(parents=True, exist_ok=True)
    record = {"machine": _machine(), "measured": now, "workers": _workers, "notebooks": dict(sorted(notebooks.items()))}
    TIMES_FILE.write_text(json.dumps(record, indent=2) + "\n")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _is_worker(session.config):
        write_execution_times()


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if not _notebook_seconds:
        return
    write = terminalreporter.write_line
    where = f"{_workers} workers in parallel" if _workers > 1 else "one at a time"
    terminalreporter.section(f"notebook execution times (this machine, {where})")
    write(f"{'':<42} {'nbval':>9}  {'student edition':>15}")
    for name, seconds in sorted(_notebook_seconds.items()):
        status = "FAILED" if name in _notebook_failed else "ok"
        student = f"{_student_seconds[name]:7.1f} s" if name in _student_seconds else ""
        write(f"{name:<42} {seconds:7.1f} s  {student:>15}  {status}")
    total, student_total = sum(_notebook_seconds.values()), sum(_student_seconds.values())
    write(f"{'all notebooks':<42} {total:7.1f} s  {student_total:13.1f} s")
    start = getattr(config, "_mtl_start", None)
    if start is not None:
        write(f"{'whole test run (after collection)':<42} {time.perf_counter() - start:7.1f} s")
    write(f"machine: {_machine()}")
