"""Sphinx directives that report on the machine that built and tested the book.

``{software-versions}``
    A table of the versions of Python and of the book's main packages, read
    from the environment with :mod:`importlib.metadata` when the book is built
    (never typed by hand).

``{execution-report}``
    A table of how long each chapter notebook took to re-execute under nbval,
    read from ``_build/execution-times.json``. The root ``conftest.py`` writes
    that file during ``make test``; until it exists the directive renders a
    note saying so (not a warning, so a first ``make book`` stays clean).

The functions without a Sphinx argument are pure and unit-tested in
``tests/unit/test_book_extensions.py``.
"""

from __future__ import annotations

import json
import platform
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "SOFTWARE",
    "ExecutionRecord",
    "NotebookTime",
    "distribution_version",
    "format_duration",
    "parse_execution_record",
    "read_execution_record",
    "software_versions",
]

#: (label, distribution names to try in order). TensorFlow ships under
#: several distribution names (the CPU-only wheel on Linux, for instance).
SOFTWARE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("TensorFlow", ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tf-nightly")),
    ("Keras", ("keras",)),
    ("NumPy", ("numpy",)),
    ("Matplotlib", ("matplotlib",)),
    ("Jupyter Book", ("jupyter-book",)),
    ("Sphinx", ("sphinx",)),
    ("myst-nb", ("myst-nb",)),
)

NOT_INSTALLED = "not installed"

#: Where the test suite writes the notebooks' run times, relative to the book's source folder.
DEFAULT_TIMES_FILE = "_build/execution-times.json"


# ---------------------------------------------------------------------------
# Pure functions
# ---------------------------------------------------------------------------


def distribution_version(names: Sequence[str], *, version_of: Callable[[str], str] = metadata.version) -> str | None:
    """Version of the first installed distribution among ``names``, or None.

    Parameters
    ----------
    names : sequence of str
        Distribution names to try in order, e.g. ``("tensorflow", "tensorflow-cpu")``.
    version_of : callable, default importlib.metadata.version
        Returns a distribution's version or raises ``PackageNotFoundError``.
    """
    if isinstance(names, str):
        raise TypeError(f"names must be a sequence of distribution names, got the string {names!r}; pass ({names!r},)")
    for name in names:
        try:
            return version_of(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def software_versions(
    *,
    software: Iterable[tuple[str, Sequence[str]]] = SOFTWARE,
    version_of: Callable[[str], str] = metadata.version,
    python_version: str | None = None,
) -> list[tuple[str, str]]:
    """Rows ``(label, version)``: Python first, then each entry of ``software``.

    A package that is not installed is listed as ``"not installed"`` rather
    than left out, so the table always has the same rows.
    """
    rows = [("Python", python_version or platform.python_version())]
    for label, names in software:
        rows.append((label, distribution_version(names, version_of=version_of) or NOT_INSTALLED))
    return rows


@dataclass(frozen=True)
class NotebookTime:
    """One notebook's nbval run: file name, seconds, whether all its cells passed."""

    notebook: str
    seconds: float
    passed: bool

    @property
    def docname(self) -> str:
        """The notebook's Sphinx document name, e.g. ``notebooks/ch1_computation_graphs``."""
        return f"notebooks/{Path(self.notebook).stem}"


@dataclass(frozen=True)
class ExecutionRecord:
    """The content of ``execution-times.json``."""

    machine: str
    measured: str
    notebooks: tuple[NotebookTime, ...]
    workers: int = 1  # notebooks run at the same time (pytest-xdist workers)

    @property
    def total_seconds(self) -> float:
        return sum(entry.seconds for entry in self.notebooks)


def _natural_key(name: str) -> list[Any]:
    """Sort ``ch2_...`` before ``ch10_...``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def parse_execution_record(data: Mapping[str, Any]) -> ExecutionRecord:
    """Validate the decoded JSON written by the root ``conftest.py``.

    Expected: ``{"machine": str, "measured": str, "notebooks": {"ch1_x.ipynb":
    {"seconds": float, "passed": bool}, ...}}``, optionally ``"workers": int``
    (how many notebooks ran at once; 1 if absent). Notebooks come back in
    natural order of their file names.

    Raises
    ------
    ValueError
        If a field is missing or has the wrong type; the message names it.
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"the execution record must be a JSON object, got {type(data).__name__}")
    for key in ("machine", "measured"):
        if not isinstance(data.get(key), str):
            raise ValueError(f"the execution record needs a string {key!r}, got {data.get(key)!r}")
    notebooks = data.get("notebooks")
    if not isinstance(notebooks, Mapping):
        raise ValueError(f"the execution record needs an object 'notebooks', got {notebooks!r}")
    entries = []
    for name in sorted(notebooks, key=_natural_key):
        entry = notebooks[name]
        seconds = entry.get("seconds") if isinstance(entry, Mapping) else None
        passed = entry.get("passed") if isinstance(entry, Mapping) else None
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise ValueError(f"notebook {name!r}: 'seconds' must be a non-negative number, got {seconds!r}")
        if not isinstance(passed, bool):
            raise ValueError(f"notebook {name!r}: 'passed' must be true or false, got {passed!r}")
        entries.append(NotebookTime(notebook=str(name), seconds=float(seconds), passed=passed))
    workers = data.get("workers", 1)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"the execution record's 'workers' must be a whole number >= 1, got {workers!r}")
    return ExecutionRecord(machine=data["machine"], measured=data["measured"], notebooks=tuple(entries), workers=workers)


def read_execution_record(path: Path | str) -> ExecutionRecord | None:
    """The record at ``path``, or None if the file does not exist (not measured yet).

    Raises
    ------
    ValueError
        If the file exists but is not a valid record.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error}); delete it and run make test again") from error
    return parse_execution_record(data)


def format_duration(seconds: float) -> str:
    """Seconds as a short human string: ``"4.2 s"``, ``"1 min 05 s"``."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        raise ValueError(f"seconds must be a non-negative number, got {seconds!r}")
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


# ---------------------------------------------------------------------------
# Sphinx glue
# ---------------------------------------------------------------------------


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], *, classes: Sequence[str] = ()) -> Any:
    """A docutils table; a cell is a string or a docutils inline node."""
    from docutils import nodes

    table = nodes.table(classes=["book-report-table", *classes])
    group = nodes.tgroup(cols=len(header))
    table += group
    for _ in header:
        group += nodes.colspec(colwidth=1)
    head = nodes.thead()
    group += head
    head += _row(header, nodes)
    body = nodes.tbody()
    group += body
    for cells in rows:
        body += _row(cells, nodes)
    return table


def _row(cells: Sequence[Any], nodes: Any) -> Any:
    row = nodes.row()
    for cell in cells:
        entry = nodes.entry()
        paragraph = nodes.paragraph()
        paragraph += nodes.Text(cell) if isinstance(cell, str) else cell
        entry += paragraph
        row += entry
    return row


def setup(app: Any) -> dict[str, Any]:
    """Register the directives with Sphinx."""
    from docutils import nodes
    from sphinx import addnodes
    from sphinx.util import logging
    from sphinx.util.docutils import SphinxDirective

    logger = logging.getLogger(__name__)

    class SoftwareVersions(SphinxDirective):
        """``{software-versions}``: the versions this build ran with."""

        has_content = False

        def run(self) -> list[Any]:
            self.env.note_reread()  # the environment may change between builds
            rows = software_versions()
            return [_table(("Software", "Version"), rows, classes=["software-versions"])]

    class ExecutionReport(SphinxDirective):
        """``{execution-report}``: each chapter's nbval run time on the machine that ran ``make test``."""

        has_content = False

        def run(self) -> list[Any]:
            path = Path(self.env.srcdir) / self.config.book_execution_times_file
            self.env.note_dependency(str(path))  # rebuild the page when the times change
            try:
                record = read_execution_record(path)
            except ValueError as error:
                logger.warning("execution report: %s", error, location=self.get_location())
                record = None
            if record is None or not record.notebooks:
                return [self._not_measured()]
            rows = [
                (self._chapter(entry), format_duration(entry.seconds), "passed" if entry.passed else "FAILED")
                for entry in record.notebooks
            ]
            rows.append((nodes.strong(text="All chapters"), nodes.strong(text=format_duration(record.total_seconds)), ""))
            together = (
                f", {record.workers} chapters at a time (so each time includes sharing the machine)"
                if record.workers > 1
                else ""
            )
            intro = nodes.paragraph(
                text=f"Measured on {record.machine}, {record.measured}, by nbval re-executing each chapter{together}."
            )
            return [intro, _table(("Chapter", "Run time (nbval)", "Outputs reproduced"), rows, classes=["execution-report"])]

        def _chapter(self, entry: NotebookTime) -> Any:
            if entry.docname not in self.env.found_docs:
                return nodes.literal(text=entry.notebook)
            reference = addnodes.pending_xref(
                "", refdomain="std", reftype="doc", reftarget="/" + entry.docname, refexplicit=False, refwarn=True
            )
            reference += nodes.inline(text=entry.notebook)
            return reference

        def _not_measured(self) -> Any:
            note = nodes.admonition(classes=["note", "execution-report-missing"])
            note += nodes.title(text="Run times not measured yet")
            paragraph = nodes.paragraph()
            paragraph += nodes.Text("The run times are measured by ")
            paragraph += nodes.literal(text="make test")
            paragraph += nodes.Text(", which re-executes every chapter with nbval and records how long each one took in ")
            paragraph += nodes.literal(text=self.config.book_execution_times_file)
            paragraph += nodes.Text(". This copy of the book was built before that file existed.")
            note += paragraph
            return note

    app.add_config_value("book_execution_times_file", DEFAULT_TIMES_FILE, "env", [str])
    app.add_directive("software-versions", SoftwareVersions)
    app.add_directive("execution-report", ExecutionReport)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
