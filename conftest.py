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
import platform
import time
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
TIMES_FILE = ROOT / "_build" / "execution-times.json"

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
    import os

    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session):
    session.config._mtl_start = time.perf_counter()


def pytest_sessionfinish(session, exitstatus):
    if not _notebook_seconds:
        return
    TIMES_FILE.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "machine": _machine(),
        "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "notebooks": {
            name: {"seconds": round(seconds, 1), "passed": name not in _notebook_failed}
            for name, seconds in sorted(_notebook_seconds.items())
        },
    }
    TIMES_FILE.write_text(json.dumps(record, indent=2) + "\n")


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
