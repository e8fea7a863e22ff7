"""Test-suite wiring: notebook timing table (a root conftest, so its hooks see the notebooks).

``make test`` runs, in this order (see ``testpaths`` in pyproject.toml):
the helper unit tests (``tests/unit``), nbval over every notebook
(``notebooks/``) and the rendered-book tests (``tests/rendered``), which build
the book once and drive it in a real browser.

While nbval runs, each notebook's cell durations are summed; the table is
printed at the end of the run and written to ``_build/execution-times.json``,
which the book's execution-report page renders.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
TIMES_FILE = ROOT / "_build" / "execution-times.json"

# Notebooks executed by the tests draw no progress bars (see mtl_helpers.progress).
os.environ["MTL_BOOK_HIDE_PROGRESS"] = "1"

_notebook_seconds: dict[str, float] = defaultdict(float)
_notebook_failed: set[str] = set()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    start = time.perf_counter()
    yield
    path = Path(str(item.fspath))
    if path.suffix == ".ipynb":
        _notebook_seconds[path.name] += time.perf_counter() - start


def pytest_runtest_logreport(report):
    if report.failed and report.nodeid.split("::")[0].endswith(".ipynb"):
        _notebook_failed.add(Path(report.nodeid.split("::")[0]).name)


def _machine() -> str:
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session):
    session.config._mtl_start = time.perf_counter()


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
    TIMES_FILE.parent.mkdir(parents=True, exist_ok=True)
    record = {"machine": _machine(), "measured": now, "notebooks": dict(sorted(notebooks.items()))}
    TIMES_FILE.write_text(json.dumps(record, indent=2) + "\n")


def pytest_sessionfinish(session, exitstatus):
    write_execution_times()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _notebook_seconds:
        return
    write = terminalreporter.write_line
    terminalreporter.section("notebook execution times (nbval, this machine)")
    total = 0.0
    for name, seconds in sorted(_notebook_seconds.items()):
        status = "FAILED" if name in _notebook_failed else "ok"
        write(f"{name:<42} {seconds:7.1f} s  {status}")
        total += seconds
    write(f"{'all notebooks':<42} {total:7.1f} s")
    start = getattr(config, "_mtl_start", None)
    if start is not None:
        write(f"{'whole test run (after collection)':<42} {time.perf_counter() - start:7.1f} s")
    write(f"machine: {_machine()}")
