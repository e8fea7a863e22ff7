"""Student editions (``make student``): stubs, no leaks, and instructor solutions that pass.

Fast checks on the stored notebooks; ``tools/student_cells.py`` runs the
student editions in ``make test``'s notebooks step (tested in
``test_student_cells.py``).
"""

from __future__ import annotations

import copy
import doctest
import importlib
import importlib.util
import json
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_output

from tools import authoring
from tools.authoring import graded_test, nbgrader_notebook
from tools.student_edition import (
    BEGIN_SOLUTION,
    END_SOLUTION,
    SolutionMarkerError,
    check_call_ids,
    find_leaks,
    is_answer_cell,
    solution_lines,
    stub_solutions,
    student_notebook,
    student_run_problems,
)

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"


def _load_example():
    spec = importlib.util.spec_from_file_location("example_chapter", Path(__file__).parent / "data" / "example_chapter.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


example_chapter = _load_example()


@pytest.fixture
def example() -> nbformat.NotebookNode:
    return example_chapter.build()


def _tags(cell) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


# --------------------------------------------------------------------------- stubbing a cell


def test_stub_keeps_answer_none_and_the_lines_around_the_region() -> None:
    source = "answer = None\n### BEGIN SOLUTION\nanswer = x @ w\n### END SOLUTION\nprint(answer)"
    assert stub_solutions(source) == f"answer = None\n{STUB}\nprint(answer)"


def test_stub_keeps_the_marker_indentation() -> None:
    source = "def answer_fn(x):\n    \"\"\"Doc.\"\"\"\n    ### BEGIN SOLUTION\n    y = x * 2\n    return y\n    ### END SOLUTION"
    stubbed = stub_solutions(source)
    assert stubbed == 'def answer_fn(x):\n    """Doc."""\n    # YOUR CODE HERE\n    raise NotImplementedError()'
    compile(stubbed, "<stub>", "exec")


def test_stub_replaces_every_region_and_tolerates_trailing_spaces() -> None:
    source = "a = None\n### BEGIN SOLUTION  \na = 1\n### END SOLUTION\nb = None\n  ### BEGIN SOLUTION\nb = 2\n  ### END SOLUTION"
    assert stub_solutions(source) == f"a = None\n{STUB}\nb = None\n  # YOUR CODE HERE\n  raise NotImplementedError()"


def test_cells_without_regions_are_unchanged() -> None:
    assert stub_solutions("x = 1\n# a comment\n") == "x = 1\n# a comment\n"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (f"{BEGIN_SOLUTION}\n{BEGIN_SOLUTION}\n{END_SOLUTION}\n{END_SOLUTION}", "inside another"),
        (f"{BEGIN_SOLUTION}\nx = 1", "never closed"),
        (f"x = 1\n{END_SOLUTION}", "without"),
        ("## BEGIN SOLUTION\nx = 1\n## END SOLUTION", "not exactly"),
        (f"{BEGIN_SOLUTION}: the answer\nx = 1\n{END_SOLUTION}", "not exactly"),
    ],
    ids=["nested", "unclosed", "unopened", "two-hashes", "trailing-text"],
)
def test_bad_markers_are_errors_not_leaks(source: str, message: str) -> None:
    with pytest.raises(SolutionMarkerError, match=message):
        stub_solutions(source)


# --------------------------------------------------------------------------- the example chapter


def test_student_edition_of_the_example(example: nbformat.NotebookNode) -> None:
    original = json.dumps(example, sort_keys=True)
    student = student_notebook(example)
    assert json.dumps(example, sort_keys=True) == original, "the instructor notebook must not change"
    kept = [cell for cell in example.cells if "solution" not in _tags(cell) or cell.cell_type == "code"]
    assert len(student.cells) == len(example.cells) - 1  # the one solution explanation is gone
    for before, after in zip(kept, student.cells, strict=True):
        if after.cell_type == "code":
            assert after.outputs == [] and after.execution_count is None
        if is_answer_cell(before):
            assert "hide-input" not in _tags(after) and "solution" in _tags(after)
        else:
            assert after.source == before.source and _tags(after) == _tags(before)
    answers = [cell.source for cell in student.cells if "solution" in _tags(cell)]
    assert answers[0] == f"answer = None\n{STUB}"
    assert answers[1].endswith('"""\n    # YOUR CODE HERE\n    raise NotImplementedError()')
    assert "Solution explained" not in json.dumps(student)
    nbformat.validate(student)


def test_a_code_cell_tagged_solution_without_markers_is_stubbed_whole(example: nbformat.NotebookNode) -> None:
    example.cells.append(nbformat.v4.new_code_cell("answer = secret_formula(3)", metadata={"tags": ["solution"]}))
    student = student_notebook(example)
    assert student.cells[-1].source == STUB
    assert find_leaks(example, json.dumps(student)) == []


def test_solution_lines_are_the_distinctive_ones(example: nbformat.NotebookNode) -> None:
    lines = solution_lines(example)
    assert "answer = np.arange(4.0) * 2" in lines
    assert "doubled_input = np.add(x, x)" in lines and "return doubled_input" in lines
    assert "Multiplying by two scales every entry of the range elementwise." in lines
    assert "answer = None" not in lines  # kept in the student edition on purpose
    assert "```" not in lines  # trivial


def test_leaks_are_found(example: nbformat.NotebookNode) -> None:
    assert find_leaks(example, json.dumps(student_notebook(example), ensure_ascii=False)) == []
    leaky = student_notebook(example)
    leaky.cells[-1].source += "\nNote: doubled_input = np.add(x, x) is the trick."
    assert find_leaks(example, json.dumps(leaky)) == ["doubled_input = np.add(x, x)"]
    leaky.metadata["notes"] = 'answer = np.arange(4.0) * 2 and "quotes"'
    assert "answer = np.arange(4.0) * 2" in find_leaks(example, json.dumps(leaky))


def test_command_line_writes_student_editions(tmp_path: Path, example: nbformat.NotebookNode,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "notebooks" / "ch99_doubling.ipynb"
    source.parent.mkdir()
    nbformat.write(example, source)
    out = tmp_path / "student"
    assert authoring.main(["student", "--out", str(out), str(source)]) == 0
    assert "2 answer cells stubbed" in capsys.readouterr().out
    written = out / "ch99_doubling.ipynb"
    assert find_leaks(example, written.read_text()) == []
    assert nbformat.read(written, as_version=4).metadata["mtl_book"] == {"edition": "student"}
    with pytest.raises(ValueError, match="overwrite"):
        authoring.write_student_edition(source, source.parent)


def test_command_line_names_chapters_and_tolerates_no_matches(
    tmp_path: Path, example: nbformat.NotebookNode, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notebooks").mkdir()
    assert authoring.main(["student", "--out", "out", "notebooks/*.ipynb"]) == 0
    assert "no notebooks matched" in capsys.readouterr().out
    nbformat.write(example, tmp_path / "notebooks" / "ch99_doubling.ipynb")
    assert authoring.resolve_notebooks(["ch99", "notebooks/*.ipynb"], notebooks_dir=Path("notebooks")) == [
        Path("notebooks/ch99_doubling.ipynb")
    ]
    with pytest.raises(FileNotFoundError, match="no chapter 'ch77'"):
        authoring.resolve_notebooks(["ch77"])
    with pytest.raises(SystemExit):
        authoring.main(["student", "--out", "out", "missing.ipynb"])


@pytest.mark.skipif(not NOTEBOOKS, reason="no chapter yet")
def test_chapter_names_mean_the_books_chapters_from_any_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`ch2` names the book's chapter wherever the command runs (issue 11: it used to work only from the root)."""
    monkeypatch.chdir(tmp_path)
    chapter = NOTEBOOKS[0]
    short = chapter.name.split("_")[0]
    assert authoring.resolve_notebooks([short]) == [chapter]
    assert authoring.main(["nbgrader", "--out", "source", short]) == 0
    assert (tmp_path / "source" / chapter.name).is_file()


def test_student_keep_existing_leaves_a_students_work_alone(
    tmp_path: Path, example: nbformat.NotebookNode, capsys: pytest.CaptureFixture[str]
) -> None:
    """`make lab` writes the editions with --keep-existing: running it again must not erase answers."""
    source = tmp_path / "notebooks" / "ch99_doubling.ipynb"
    source.parent.mkdir()
    nbformat.write(example, source)
    out = tmp_path / "student"
    assert authoring.main(["student", "--keep-existing", "--out", str(out), str(source)]) == 0
    worked = out / "ch99_doubling.ipynb"
    worked.write_text(worked.read_text().replace("raise NotImplementedError()", "answer = 42"))
    assert authoring.main(["student", "--keep-existing", "--out", str(out), str(source)]) == 0
    assert "kept (already there)" in capsys.readouterr().out
    assert "answer = 42" in worked.read_text()


def test_docstring_examples() -> None:
    result = doctest.testmod(authoring, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0


def test_nbgrader_source_marks_answer_and_test_cells(example: nbformat.NotebookNode) -> None:
    source = nbgrader_notebook(example, points=2)
    marked = {cell.metadata["nbgrader"]["grade_id"]: cell for cell in source.cells if "nbgrader" in cell.metadata}
    assert sorted(marked) == ["ch99-ex1-answer", "ch99-ex1-check", "ch99-ex2-answer", "ch99-ex2-check"]
    assert all(re.fullmatch(r"[\w-]+", grade_id) for grade_id in marked)
    assert marked["ch99-ex1-answer"].metadata["nbgrader"]["solution"] is True
    test_cell = marked["ch99-ex2-check"]
    assert test_cell.metadata["nbgrader"]["grade"] is True and test_cell.metadata["nbgrader"]["points"] == 2
    assert test_cell.metadata["nbgrader"]["locked"] is True
    assert test_cell.source.endswith(graded_test("ch99.ex2", "answer_fn"))
    assert "### BEGIN HIDDEN TESTS" in test_cell.source and "see the line above" not in test_cell.source
    compile(test_cell.source, "<test cell>", "exec")
    assert "Solution explained" not in json.dumps(source)  # nbgrader would release it otherwise
    nbformat.validate(source)


def _run_graded_test(exercise: str, answer: object) -> None:
    """Run the graded test cell's code as nbgrader autograde would (hidden tests restored)."""
    import mtl_helpers

    namespace = {"mtl_helpers": mtl_helpers, "answer": answer}
    exec(graded_test(exercise, "answer"), namespace)


def test_graded_test_passes_a_right_answer_and_says_why_a_wrong_one_fails() -> None:
    _run_graded_test("ch5.ex1", 200 ** (1 / 3) / (5000 ** (1 / 3) + 200 ** (1 / 3)))
    with pytest.raises(AssertionError, match=r"\[HINT\] ch5\.ex1: |\[TODO\] ch5\.ex1"):
        _run_graded_test("ch5.ex1", 0.5)
    with pytest.raises(AssertionError, match="not attempted"):
        _run_graded_test("ch5.ex1", None)  # what nbgrader validate shows on an unanswered release


def test_a_one_line_cheat_scores_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """An answer cell that replaces the checks' verdicts must not pass the hidden test."""
    import mtl_helpers
    import mtl_helpers.stats
    from mtl_helpers.checks import _core

    always = lambda exercise_id, answer: _core.passed("cheat")  # noqa: E731
    monkeypatch.setattr(mtl_helpers.checks, "evaluate", always)
    monkeypatch.setattr(_core, "evaluate", always)
    monkeypatch.setitem(_core._REGISTRY, "ch5.ex1", lambda answer: _core.passed("cheat"))
    monkeypatch.setattr(mtl_helpers.stats, "MIN_SEEDS", 2)
    with pytest.raises(AssertionError, match=r"ch5\.ex1"):
        _run_graded_test("ch5.ex1", 0.5)  # the visible test is fooled; the hidden one is not


def test_grading_leaves_the_kernels_modules_as_they_were() -> None:
    import sys

    from mtl_helpers.checks import _core

    before = {name: module for name, module in sys.modules.items() if name.startswith("mtl_helpers")}
    _run_graded_test("ch5.ex1", 200 ** (1 / 3) / (5000 ** (1 / 3) + 200 ** (1 / 3)))
    after = {name: module for name, module in sys.modules.items() if name.startswith("mtl_helpers")}
    assert after == before and _core.CheckResult is sys.modules["mtl_helpers.checks._core"].CheckResult


def _as_if_run(student: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The example's student edition with the outputs a real run gives (see test_student_cells.py)."""
    from mtl_helpers.checks._core import NOT_ATTEMPTED

    run = copy.deepcopy(student)
    for cell in run.cells:
        if cell.cell_type != "code":
            continue
        if cell.source.startswith("answer = None"):
            cell.outputs = [new_output("error", ename="NotImplementedError", evalue="", traceback=[])]
        elif "raises-exception" in _tags(cell):
            cell.outputs = [new_output("error", ename="ValueError", evalue="mismatch", traceback=[])]
        for exercise in check_call_ids(cell.source):
            cell.outputs = [new_output("stream", name="stdout", text=f"[TODO] {exercise}: {NOT_ATTEMPTED}\n")]
    return run


def test_run_inspection_accepts_a_good_run_and_names_each_problem(example: nbformat.NotebookNode) -> None:
    good = _as_if_run(student_notebook(example))
    assert student_run_problems(example, good) == []
    index = {cell.source: number for number, cell in enumerate(good.cells)}
    check_1, answer_1 = index['mtl_helpers.check("ch99.ex1", answer)'], index[f"answer = None\n{STUB}"]
    cases = {
        check_1: ([new_output("stream", name="stdout", text="[PASS] ch99.ex1: correct.\n")], "not [TODO]"),
        answer_1: ([new_output("error", ename="NameError", evalue="np", traceback=[])], "NameError, not NotImplementedError"),
        4: ([], "raised nothing"),
        6: ([new_output("error", ename="NameError", evalue="name 'answer' is not defined", traceback=[])], "NameError"),
    }
    for cell_index, (outputs, words) in cases.items():
        bad = copy.deepcopy(good)
        bad.cells[cell_index].outputs = outputs
        problems = student_run_problems(example, bad)
        assert len(problems) == 1 and words in problems[0] and f"cell {cell_index} " in problems[0], problems
    assert "cells, expected" in student_run_problems(example, example)[0]


def test_command_line_verify_reports_problems(
    tmp_path: Path, example: nbformat.NotebookNode, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "ch99_doubling.ipynb"
    nbformat.write(example, source)
    runs = []

    def fake_run(student: nbformat.NotebookNode, *, cwd: Path) -> nbformat.NotebookNode:  # no kernel in unit tests
        runs.append(cwd)
        run = _as_if_run(student)
        if len(runs) == 2:
            run.cells[6].outputs = [new_output("error", ename="KeyError", evalue="'x'", traceback=[])]
        return run

    monkeypatch.setattr(authoring, "execute_student_edition", fake_run)
    arguments = ["student", "--verify", "--out", str(tmp_path / "out"), str(source)]
    assert authoring.main(arguments) == 0
    assert "ok" in capsys.readouterr().out
    assert authoring.main(arguments) == 1
    assert "cell 6 ('print(np.arange(4.0).shape)'): KeyError: 'x'" in capsys.readouterr().out
    assert runs == [tmp_path, tmp_path]  # run where the chapter lives


# --------------------------------------------------------------------------- every chapter


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_student_edition_is_stubbed_and_clean(path: Path) -> None:
    instructor = nbformat.read(path, as_version=4)
    student = student_notebook(instructor)
    text = json.dumps(student)
    assert BEGIN_SOLUTION not in text and END_SOLUTION not in text
    assert all(cell.outputs == [] for cell in student.cells if cell.cell_type == "code"), "outputs must be cleared"
    assert not [cell for cell in student.cells if cell.cell_type != "code" and "solution" in _tags(cell)]
    answers = [cell for cell in instructor.cells if is_answer_cell(cell)]
    assert len(answers) >= 3, "a chapter has three or more exercises"
    stubs = sum(cell.source.count("raise NotImplementedError()") for cell in student.cells)
    assert stubs >= sum(max(1, cell.source.count(BEGIN_SOLUTION)) for cell in answers)
    for cell in answers:
        lines = cell.source.split("\n")
        if BEGIN_SOLUTION in lines:  # a top-level region: `answer` must exist even in the student edition
            assert "answer = None" in lines[: lines.index(BEGIN_SOLUTION)], (
                f"put `answer = None` before the region of {lines[0]!r}..."
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_solution_leaks_into_the_student_edition(path: Path, tmp_path: Path) -> None:
    instructor = nbformat.read(path, as_version=4)
    written = authoring.write_student_edition(path, tmp_path)
    assert solution_lines(instructor), "the chapter's solutions have no distinctive line to search for"
    assert find_leaks(instructor, written.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_exercise_has_a_self_check_after_its_answer(path: Path) -> None:
    cells = nbformat.read(path, as_version=4).cells
    pending = None
    for index, cell in enumerate(cells):
        if is_answer_cell(cell):
            assert pending is None, f"the answer cell {pending} has no self-check cell after it"
            pending = index
        elif cell.cell_type == "code" and check_call_ids(cell.source):
            pending = None
    assert pending is None, f"the answer cell {pending} has no self-check cell after it"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_answer_keys_are_behind_toggles_in_the_book(path: Path) -> None:
    """The book keeps the answers, collapsed: answer cells hide their input, explanations sit in a dropdown."""
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        if is_answer_cell(cell):
            assert "hide-input" in _tags(cell), f"answer cell {index} is not tagged hide-input"
            hidden = {"hide-output", "hide-cell", "remove-output", "remove-cell"} & set(_tags(cell))
            assert hidden or not cell.get("outputs"), (
                f"answer cell {index} shows its output, which gives the answer away: print nothing, or tag it hide-output"
            )
        elif cell.cell_type == "markdown" and "solution" in _tags(cell):
            assert re.match(r"\s*(```+|:::+)\{dropdown\}", cell.source), f"solution cell {index} is not a {{dropdown}}"


@pytest.mark.parametrize("path", [*NOTEBOOKS, "example"], ids=lambda p: getattr(p, "name", p))
def test_instructor_solutions_pass_their_self_checks(path: Path | str) -> None:
    """Each self-check cell stores its [PASS] line, and nbval compares it (so re-running must pass too)."""
    notebook = example_chapter.build() if path == "example" else nbformat.read(path, as_version=4)
    if notebook.metadata.get("nbval", {}).get("ignore_output"):
        pytest.fail("the notebook's metadata tells nbval to ignore outputs")
    found = 0
    for index, cell in enumerate(notebook.cells):
        exercises = check_call_ids(cell.source) if cell.cell_type == "code" else []
        if not exercises:
            continue
        found += len(exercises)
        tags = _tags(cell)
        assert not tags & {"nbval-ignore-output", "nbval-skip", "raises-exception", "solution", "remove-cell"}, (
            f"cell {index} checks {exercises} but is tagged {sorted(tags)}: its output would not be compared or shown"
        )
        assert not re.search(r"#\s*NBVAL_(IGNORE_OUTPUT|SKIP|RAISES_EXCEPTION)", cell.source), f"cell {index} is nbval-ignored"
        stdout = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")
        for exercise in exercises:
            assert any(line.startswith(f"[PASS] {exercise}:") for line in stdout.splitlines()), (
                f"cell {index}: the stored output of the {exercise} self-check is {stdout.strip()[:200]!r}, not [PASS]"
            )
    assert found >= (2 if path == "example" else 3)
