"""Student editions of the chapters: stubbed solutions, leak detection, and how a run is judged.

The book's exercises mark their solutions as nbgrader does: a region of a
code cell between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, or a
whole code cell (or markdown cell) tagged ``solution``. This module turns a
chapter (the *instructor* notebook) into its student edition
(:func:`student_notebook`), finds solution text that would leak into it
(:func:`find_leaks`), and says what went wrong when an edition ran
(:func:`student_run_problems`, :func:`student_cell_problems`). It never
starts a kernel: ``tools/authoring.py`` runs editions from the command line,
``tools/student_cells.py`` in ``make test``.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Sequence

from nbformat import NotebookNode

__all__ = [
    "BEGIN_SOLUTION",
    "CHECK_CALL",
    "END_SOLUTION",
    "SOLUTION_TAG",
    "STUB_LINES",
    "SolutionMarkerError",
    "cell_tags",
    "check_call_ids",
    "find_leaks",
    "has_regions",
    "is_answer_cell",
    "is_solution_prose",
    "solution_lines",
    "stub_solutions",
    "student_cell_problems",
    "student_notebook",
    "student_run_problems",
]

#: nbgrader's default solution delimiters (``comment_mark`` "#" + "## BEGIN SOLUTION").
BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
#: nbgrader's default Python code stub, line by line.
STUB_LINES: tuple[str, str] = ("# YOUR CODE HERE", "raise NotImplementedError()")
#: The cell tag of answer cells and of solution prose (markdown) cells.
SOLUTION_TAG = "solution"
#: Tags that hide a cell's input in the rendered book; a student must see the stub.
_HIDING_TAGS = ("hide-input", "remove-input", "hide-cell", "remove-cell")
#: A self-check call, ``mtl_helpers.check("chN.exM", answer)``: the exercise id and the answer.
CHECK_CALL = re.compile(r"mtl_helpers\.check\(\s*[\"'](ch\d+\.ex\d+)[\"']\s*,\s*(.+?)\s*\)\s*$", re.DOTALL)
_CHECK_IDS = re.compile(r"(?<![\w.])(?:mtl_helpers\.)?check\(\s*[\"'](ch\d+\.ex\d+)[\"']")
_MIN_FINGERPRINT_CHARS = 8


class SolutionMarkerError(ValueError):
    """A cell's ``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers do not pair up."""



# --------------------------------------------------------------------------- solution regions


def _split_regions(source: str) -> tuple[list[str], list[list[str]], list[str]]:
    """Split ``source`` into (lines outside regions, each region's inner lines, each region's indent).

    Raises :class:`SolutionMarkerError` for nested, unclosed or unopened
    regions, and for lines that mention a marker without being exactly it
    (nbgrader would silently keep such a region, and the solution would leak).
    """
    outside: list[str] = []
    regions: list[list[str]] = []
    indents: list[str] = []
    current: list[str] | None = None
    for number, line in enumerate(source.split("\n"), start=1):
        stripped = line.strip()
        if stripped == BEGIN_SOLUTION:
            if current is not None:
                raise SolutionMarkerError(f"line {number}: {BEGIN_SOLUTION!r} inside another solution region")
            current = []
            indents.append(line[: line.find(BEGIN_SOLUTION)])
        elif stripped == END_SOLUTION:
            if current is None:
                raise SolutionMarkerError(f"line {number}: {END_SOLUTION!r} without a {BEGIN_SOLUTION!r} before it")
            regions.append(current)
            current = None
        elif stripped.startswith("#") and ("BEGIN SOLUTION" in stripped or "END SOLUTION" in stripped):
            raise SolutionMarkerError(
                f"line {number}: {stripped!r} looks like a solution marker but is not exactly "
                f"{BEGIN_SOLUTION!r} or {END_SOLUTION!r} on a line of its own"
            )
        elif current is not None:
            current.append(line)
        else:
            outside.append(line)
    if current is not None:
        raise SolutionMarkerError(f"a {BEGIN_SOLUTION!r} region is never closed with {END_SOLUTION!r}")
    return outside, regions, indents


def stub_solutions(source: str) -> str:
    """Replace each solution region of a code cell's ``source`` by nbgrader's stub.

    The stub keeps the indentation of the ``### BEGIN SOLUTION`` line, so a
    region inside a function body stays inside it; lines before and after a
    region (such as ``answer = None``) are kept.

    Examples
    --------
    >>> print(stub_solutions("answer = None\\n### BEGIN SOLUTION\\nanswer = 42\\n### END SOLUTION"))
    answer = None
    # YOUR CODE HERE
    raise NotImplementedError()
    """
    _split_regions(source)  # validate first: raise before producing anything
    result: list[str] = []
    inside = False
    for line in source.split("\n"):
        stripped = line.strip()
        if stripped == BEGIN_SOLUTION:
            indent = line[: line.find(BEGIN_SOLUTION)]
            result.extend(indent + stub for stub in STUB_LINES)
            inside = True
        elif stripped == END_SOLUTION:
            inside = False
        elif not inside:
            result.append(line)
    return "\n".join(result)


def cell_tags(cell: NotebookNode) -> list[str]:
    """A cell's tags (``[]`` when it has none)."""
    return list(cell.get("metadata", {}).get("tags", []))


def has_regions(cell: NotebookNode) -> bool:
    """Whether a code cell holds ``### BEGIN SOLUTION`` regions."""
    return cell.cell_type == "code" and any(line.strip() == BEGIN_SOLUTION for line in cell.source.split("\n"))


def is_solution_prose(cell: NotebookNode) -> bool:
    """Whether a markdown (or raw) cell explains a solution: tagged ``solution``, left out of the student edition."""
    return cell.cell_type != "code" and SOLUTION_TAG in cell_tags(cell)


def _is_whole_solution_code(cell: NotebookNode) -> bool:
    """A code cell tagged ``solution`` without markers: all of it is the solution (nbgrader's rule)."""
    return cell.cell_type == "code" and SOLUTION_TAG in cell_tags(cell) and not has_regions(cell)


def student_notebook(notebook: NotebookNode) -> NotebookNode:
    """Return the student edition of an instructor notebook (the input is not changed).

    * each ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region becomes
      ``# YOUR CODE HERE`` and ``raise NotImplementedError()`` at the marker's
      indentation; a code cell tagged ``solution`` without markers becomes the
      stub as a whole, as nbgrader does;
    * markdown (and raw) cells tagged ``solution`` are removed;
    * every output, execution count and execution record is cleared;
    * answer cells lose the tags that hide their input in the book
      (``hide-input`` ...), so a student sees the stub;
    * everything else (prose, chapter code, self-check cells) is kept.
    """
    student = copy.deepcopy(notebook)
    cells = []
    for index, cell in enumerate(student.cells):
        if is_solution_prose(cell):
            continue
        if cell.cell_type == "code":
            answer_cell = has_regions(cell) or _is_whole_solution_code(cell)
            try:
                if _is_whole_solution_code(cell):
                    cell.source = "\n".join(STUB_LINES)
                else:  # also validates cells without regions: a mistyped marker must not leak a solution
                    cell.source = stub_solutions(cell.source)
            except SolutionMarkerError as error:
                raise SolutionMarkerError(f"cell {index}: {error}") from None
            if answer_cell and "tags" in cell.metadata:
                cell.metadata["tags"] = [tag for tag in cell_tags(cell) if tag not in _HIDING_TAGS]
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
        cells.append(cell)
    student.cells = cells
    student.metadata.pop("widgets", None)
    student.metadata["mtl_book"] = {"edition": "student"}
    return student


# --------------------------------------------------------------------------- leak detection


def _public_text(notebook: NotebookNode) -> str:
    """The instructor notebook's text that a student may see: sources without solutions."""
    parts = []
    for cell in notebook.cells:
        if is_solution_prose(cell) or _is_whole_solution_code(cell):
            continue
        if cell.cell_type == "code" and has_regions(cell):
            parts.append("\n".join(_split_regions(cell.source)[0]))
        else:
            parts.append(cell.source)
    parts.extend(STUB_LINES)
    return "\n".join(parts)


def _is_distinctive(line: str) -> bool:
    text = line.strip()
    return len(text) >= _MIN_FINGERPRINT_CHARS and any(character.isalnum() for character in text)


def solution_lines(notebook: NotebookNode) -> list[str]:
    """The distinctive lines of an instructor notebook's solutions.

    Every non-trivial line (at least 8 characters, not only punctuation) inside
    a solution region, of a code cell tagged ``solution``, or of a markdown
    cell tagged ``solution`` -- except lines that also appear in the
    notebook's public text (the chapter's own code and prose), which are no
    secret.
    """
    secret: list[str] = []
    for cell in notebook.cells:
        if is_solution_prose(cell) or _is_whole_solution_code(cell):
            secret.extend(cell.source.split("\n"))
        elif cell.cell_type == "code" and has_regions(cell):
            for region in _split_regions(cell.source)[1]:
                secret.extend(region)
    public = _public_text(notebook)
    lines: list[str] = []
    for line in secret:
        text = line.strip()
        if _is_distinctive(text) and text not in public and text not in lines:
            lines.append(text)
    return lines


def find_leaks(instructor: NotebookNode, student_json: str) -> list[str]:
    """Return the solution lines of ``instructor`` found in a student notebook's JSON text.

    Each line is searched both as plain text and JSON-escaped, as it is
    stored in the ``.ipynb`` file. An empty list means nothing leaked.
    """
    leaks = []
    for line in solution_lines(instructor):
        escaped = json.dumps(line, ensure_ascii=False)[1:-1]
        escaped_ascii = json.dumps(line)[1:-1]
        if line in student_json or escaped in student_json or escaped_ascii in student_json:
            leaks.append(line)
    return leaks


# --------------------------------------------------------------------------- running a student edition


def check_call_ids(source: str) -> list[str]:
    """The exercise ids of the ``mtl_helpers.check("chN.exM", ...)`` calls in a code cell's source."""
    return _CHECK_IDS.findall(source)


def is_answer_cell(cell: NotebookNode) -> bool:
    """Whether a code cell holds a solution (a marked region, or tagged ``solution`` as a whole)."""
    return cell.cell_type == "code" and (has_regions(cell) or _is_whole_solution_code(cell))


def _output_text(output: NotebookNode) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    return str(output.get("data", {}).get("text/plain", ""))


def student_run_problems(instructor: NotebookNode, executed_student: NotebookNode) -> list[str]:
    """What went wrong when a student edition ran, compared with its instructor notebook.

    Every code cell is judged by :func:`student_cell_problems`. An empty list
    means the edition works.
    """
    kept = [cell for cell in instructor.cells if not is_solution_prose(cell)]
    if len(kept) != len(executed_student.cells):
        return [f"the student edition has {len(executed_student.cells)} cells, expected {len(kept)}"]
    problems = []
    for index, (original, cell) in enumerate(zip(kept, executed_student.cells, strict=True)):
        if cell.cell_type == "code":
            first_line = cell.source.strip().split("\n")[0][:60]
            problems += student_cell_problems(original, cell.outputs, where=f"cell {index} ({first_line!r})")
    return problems


def student_cell_problems(original: NotebookNode, outputs: Sequence[NotebookNode], *, where: str) -> list[str]:
    """What went wrong in one code cell of a student edition, given the outputs it produced.

    Expected: an answer cell either succeeds (a stub inside a function body)
    or fails with the stub's ``NotImplementedError``; a self-check cell
    prints ``[TODO] chN.exM: not attempted yet ...``; any other cell succeeds,
    except a cell tagged ``raises-exception``, which fails as in the
    instructor notebook. ``original`` is the instructor's cell, ``where``
    names the cell in the messages.
    """
    from mtl_helpers.checks._core import NOT_ATTEMPTED  # imports TensorFlow: only when needed

    errors = [output for output in outputs if output.output_type == "error"]
    names = [error.ename for error in errors]
    problems = []
    if is_answer_cell(original):
        problems += [f"{where}: the stub raised {name}, not NotImplementedError" for name in names
                     if name != "NotImplementedError"]
    elif "raises-exception" in cell_tags(original):
        stored = [output.ename for output in original.get("outputs", []) if output.output_type == "error"]
        if not names:
            problems.append(f"{where}: tagged raises-exception but raised nothing")
        elif stored and names != stored:
            problems.append(f"{where}: raised {names}, the instructor notebook raises {stored}")
    else:
        problems += [f"{where}: {error.ename}: {error.evalue}"[:300] for error in errors]
    text = "".join(_output_text(output) for output in outputs)
    for exercise in check_call_ids(original.source):
        if f"[TODO] {exercise}: {NOT_ATTEMPTED}" not in text:
            problems.append(f"{where}: the self-check of {exercise} printed {text.strip()[:200]!r}, not [TODO]")
    return problems
