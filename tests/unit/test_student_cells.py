"""The student editions' run (``tools/student_cells.py``, a pytest plugin) and ``authoring student --verify``.

The plugin runs in ``make test``'s notebooks step on every chapter. Here it
runs on the toy chapter of ``data/example_chapter.py`` in a pytest of its
own (``pytester``), once as it is and once broken in the ways it must catch.
"""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_output

from tools.authoring import execute_student_edition
from tools.student_cells import RESTORE_CODE, SAVE_CODE, first_difference
from tools.student_edition import student_notebook, student_run_problems

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = Path(__file__).parent / "data" / "example_chapter.py"


@pytest.fixture(scope="module")
def example() -> nbformat.NotebookNode:
    spec = importlib.util.spec_from_file_location("example_chapter", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build()


def _code(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def test_first_difference_is_the_first_stubbed_code_cell(example: nbformat.NotebookNode) -> None:
    chapter, edition = _code(example), _code(student_notebook(example))
    assert first_difference(chapter, edition) == 3  # setup, raises-exception, print, then exercise 1
    assert first_difference(chapter, chapter) is None
    with pytest.raises(ValueError, match="the student edition has 3 code cells, the chapter 7"):
        first_difference(chapter, edition[:3])


def test_restore_deletes_new_names_and_rebinds_old_ones() -> None:
    kept, changed = [1, 2], {"a": 1}
    names = {"kept": kept, "changed": changed}
    exec(SAVE_CODE, names)
    exec("changed = 'rebound'\nsolution_only = 3\nkept.append(3)", names)
    exec(RESTORE_CODE, names)
    names.pop("__builtins__")
    assert names == {"kept": [1, 2, 3], "changed": {"a": 1}}  # an object changed in place stays changed
    assert names["changed"] is changed


def _run(pytester: pytest.Pytester, notebook: nbformat.NotebookNode) -> pytest.RunResult:
    """nbval (lax: the toy's stored outputs are not a real run's) and the plugin, in a pytest of their own."""
    nbformat.write(notebook, pytester.path / "ch99_doubling.ipynb")
    pytester.makeini("[pytest]\naddopts =\n")
    return pytester.runpytest_subprocess(
        "--nbval-lax", "--nbval-current-env", "-p", "tools.student_cells", "-p", "no:cacheprovider", "-rf"
    )


@pytest.fixture
def kit(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # tools/ for the plugin, the tmp folder for nothing else
    return pytester


def test_plugin_runs_the_student_cells_after_the_chapter(kit: pytest.Pytester, example: nbformat.NotebookNode) -> None:
    result = _run(kit, example)
    # 7 nbval cells, the save and restore items, 4 student cells (exercise 1, its check, exercise 2, its check)
    result.assert_outcomes(passed=13)
    names = [line for line in result.outlines if "student edition:" in line]
    assert not names  # quiet on success


def test_plugin_catches_what_a_student_run_would(kit: pytest.Pytester, example: nbformat.NotebookNode) -> None:
    broken = copy.deepcopy(example)
    exercise_1 = next(cell for cell in broken.cells if "BEGIN SOLUTION" in cell.source)
    exercise_1.source = exercise_1.source.replace("### END SOLUTION", "helper = 3\n### END SOLUTION")
    # chapter code that leans on a solution, and a self-check whose stub passes
    after = broken.cells.index(exercise_1) + 2
    broken.cells.insert(after, new_code_cell("print(helper)", execution_count=8, outputs=[new_output(
        "stream", name="stdout", text="3\n")]))
    check_2 = next(cell for cell in broken.cells if 'check("ch99.ex2"' in cell.source)
    check_2.source = 'mtl_helpers.check("ch99.ex2", lambda x: 2 * x)'
    result = _run(kit, broken)
    result.assert_outcomes(passed=13, failed=2)  # 8 nbval cells, save, restore, 5 student cells
    output = result.stdout.str()
    assert "student edition: Cell 5: NameError: name 'helper' is not defined" in output
    assert "student edition: Cell 7: the self-check of ch99.ex2 printed '[PASS] ch99.ex2: correct.', not [TODO]" in output


def test_verify_runs_a_whole_edition_in_a_kernel(example: nbformat.NotebookNode, tmp_path: Path) -> None:
    """``authoring student --verify`` runs the edition top to bottom (no nbval around it)."""
    executed = execute_student_edition(student_notebook(example), cwd=tmp_path)
    assert student_run_problems(example, executed) == []
