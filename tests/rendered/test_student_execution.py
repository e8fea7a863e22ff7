"""Every chapter's student edition runs top to bottom as a student first sees it.

Each student edition (``make student``) is executed in ``notebooks/`` with
errors allowed, then every cell is inspected: chapter code succeeds (cells
tagged ``raises-exception`` fail as in the chapter), answer cells fail only
with the stub's ``NotImplementedError``, and every self-check cell prints
``[TODO] ... not attempted yet``. One test per chapter, about as long as the
chapter's nbval run, so ``make test`` runs this file in its notebooks step,
beside nbval on two workers (``tools/run_tests.py``), not with the browser
tests. The toy chapter of ``tests/unit/data/example_chapter.py`` runs too, so
the machinery is proven before any chapter exists.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import nbformat
import pytest

from tools.authoring import execute_student_edition, student_notebook, student_run_problems

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXAMPLE = ROOT / "tests" / "unit" / "data" / "example_chapter.py"


def _instructor(path: Path) -> nbformat.NotebookNode:
    if path == EXAMPLE:
        spec = importlib.util.spec_from_file_location("example_chapter", EXAMPLE)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.build()
    return nbformat.read(path, as_version=4)


@pytest.mark.parametrize("path", [*NOTEBOOKS, EXAMPLE], ids=lambda p: p.stem if p != EXAMPLE else "example-chapter")
def test_student_edition_runs_with_only_stubs_failing(path: Path, record_property) -> None:
    instructor = _instructor(path)
    start = time.perf_counter()
    executed = execute_student_edition(student_notebook(instructor), cwd=NOTEBOOK_DIR)
    record_property("seconds", round(time.perf_counter() - start, 1))
    problems = student_run_problems(instructor, executed)
    assert not problems, f"{path.name}'s student edition:\n" + "\n".join(problems)
