"""Command-line tools for authors and instructors (a repository tool, not part of ``mtl_helpers``).

Run it from any folder as ``python tools/authoring.py COMMAND ...`` (from the
book's root also ``python -m tools.authoring COMMAND ...``), with the Python of
the book's environment (``.venv/bin/python``). Notebooks are named by paths
(relative to the working folder, or glob patterns) or by chapter, such as
``ch3``, which always means the book's own ``notebooks/ch3_*.ipynb``.

``python tools/authoring.py execute notebooks/*.ipynb``
    Re-execute each notebook top to bottom (in the notebook's folder, with
    this environment's Python) and store its outputs in place. Use this after
    changing a chapter; ``make test`` then checks the stored outputs with nbval.

``python tools/authoring.py student --out _build/student notebooks/*.ipynb``
    Write the student edition of each chapter: every region between
    ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes ``# YOUR CODE HERE``
    / ``raise NotImplementedError()``, markdown cells tagged ``solution`` are
    dropped and every output is cleared. The markers are nbgrader's.
    ``--keep-existing`` leaves editions already in ``--out`` alone (a student's work).

``python tools/authoring.py nbgrader --out source/ notebooks/*.ipynb``
    Write nbgrader *source* notebooks: the answer cells are marked as
    "autograded answer" cells and the self-check cells as "autograded tests"
    (one point each), so that ``nbgrader generate_assignment`` and
    ``nbgrader autograde`` work on them without any clicking.

``python tools/authoring.py sync-repository notebooks/*.ipynb``
    Rewrite each chapter's Colab install line so that it installs
    ``mtl_helpers`` from ``repository.url`` of ``_config.yml`` at the release
    tag of this version of the package (``v`` + ``mtl_helpers.__version__``):
    run it after pointing the book at a fork and after raising the version
    (``make sync-repository``).
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import re
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat import NotebookNode

from mtl_helpers.runtime import HIDE_PROGRESS_ENV

__all__ = [
    "BEGIN_SOLUTION",
    "END_SOLUTION",
    "STUB_LINES",
    "SolutionMarkerError",
    "check_call_ids",
    "execute_notebook",
    "execute_student_edition",
    "find_leaks",
    "graded_test",
    "install_lines",
    "installed_from",
    "is_answer_cell",
    "main",
    "merge_streams",
    "nbgrader_notebook",
    "release_tag",
    "repository_url",
    "resolve_notebooks",
    "solution_lines",
    "stub_solutions",
    "student_cell_problems",
    "student_notebook",
    "student_run_problems",
    "sync_repository_url",
    "write_nbgrader_source",
    "write_student_edition",
]

#: The book's root folder (this file is tools/authoring.py).
ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = ROOT / "notebooks"
KERNEL_NAME = "python3"
CELL_TIMEOUT_SECONDS = 600

#: nbgrader's default solution delimiters (``comment_mark`` "#" + "## BEGIN SOLUTION").
BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
#: nbgrader's default Python code stub, line by line.
STUB_LINES: tuple[str, str] = ("# YOUR CODE HERE", "raise NotImplementedError()")
#: The cell tag of answer cells and of solution prose (markdown) cells.
SOLUTION_TAG = "solution"
#: Tags that hide a cell's input in the rendered book; a student must see the stub.
_HIDING_TAGS = ("hide-input", "remove-input", "hide-cell", "remove-cell")
_CHECK_CALL = re.compile(r"mtl_helpers\.check\(\s*[\"'](ch\d+\.ex\d+)[\"']\s*,\s*(.+?)\s*\)\s*$", re.DOTALL)
_CHECK_IDS = re.compile(r"(?<![\w.])(?:mtl_helpers\.)?check\(\s*[\"'](ch\d+\.ex\d+)[\"']")
_MIN_FINGERPRINT_CHARS = 8


class SolutionMarkerError(ValueError):
    """A cell's ``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers do not pair up."""


def execute_notebook(path: Path, *, timeout: int = CELL_TIMEOUT_SECONDS) -> float:
    """Run ``path`` top to bottom, store its outputs in place, return the seconds taken.

    Cells tagged ``raises-exception`` may raise; any other error stops the
    run and leaves the file unchanged.
    """
    path = Path(path)
    if path.suffix != ".ipynb" or not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}; pass paths like notebooks/ch1_computation_graphs.ipynb")
    notebook = nbformat.read(path, as_version=4)
    os.environ[HIDE_PROGRESS_ENV] = "1"  # the kernel inherits it: no progress bars stored
    client = NotebookClient(
        notebook,
        kernel_name=KERNEL_NAME,
        timeout=timeout,
        record_timing=False,  # no timestamps in the stored notebook: diffs show only real changes
        # No ipywidgets state (random model ids, ~40 kB per chapter with live controls): the
        # book renders no widgets, and a reader's Jupyter makes them when the cell runs.
        store_widget_state=False,
        resources={"metadata": {"path": str(path.resolve().parent)}},
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = merge_streams(cell.outputs)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(notebook, path)
    return seconds


def merge_streams(outputs: list[NotebookNode]) -> list[NotebookNode]:
    """``outputs`` with each run of consecutive stream outputs of one stream (stdout, stderr) joined into one.

    The kernel splits printed text into chunks by timing; joined, a re-executed
    notebook differs from the stored one only where the text differs.

    Examples
    --------
    >>> from nbformat.v4 import new_output
    >>> chunks = [new_output("stream", name="stdout", text=text) for text in ("a", "b\\n")]
    >>> [output.text for output in merge_streams(chunks)]
    ['ab\\n']
    """
    merged: list[NotebookNode] = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and output.get("output_type") == "stream"
            and previous.get("output_type") == "stream"
            and output.get("name") == previous.get("name")
        ):
            previous["text"] = previous.get("text", "") + output.get("text", "")
        else:
            merged.append(copy.deepcopy(output))
    return merged


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


def _tags(cell: NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _has_regions(cell: NotebookNode) -> bool:
    return cell.cell_type == "code" and any(line.strip() == BEGIN_SOLUTION for line in cell.source.split("\n"))


def _is_solution_prose(cell: NotebookNode) -> bool:
    return cell.cell_type != "code" and SOLUTION_TAG in _tags(cell)


def _is_whole_solution_code(cell: NotebookNode) -> bool:
    """A code cell tagged ``solution`` without markers: all of it is the solution (nbgrader's rule)."""
    return cell.cell_type == "code" and SOLUTION_TAG in _tags(cell) and not _has_regions(cell)


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
        if _is_solution_prose(cell):
            continue
        if cell.cell_type == "code":
            answer_cell = _has_regions(cell) or _is_whole_solution_code(cell)
            try:
                if _is_whole_solution_code(cell):
                    cell.source = "\n".join(STUB_LINES)
                else:  # also validates cells without regions: a mistyped marker must not leak a solution
                    cell.source = stub_solutions(cell.source)
            except SolutionMarkerError as error:
                raise SolutionMarkerError(f"cell {index}: {error}") from None
            if answer_cell and "tags" in cell.metadata:
                cell.metadata["tags"] = [tag for tag in _tags(cell) if tag not in _HIDING_TAGS]
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
        if _is_solution_prose(cell) or _is_whole_solution_code(cell):
            continue
        if cell.cell_type == "code" and _has_regions(cell):
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
        if _is_solution_prose(cell) or _is_whole_solution_code(cell):
            secret.extend(cell.source.split("\n"))
        elif cell.cell_type == "code" and _has_regions(cell):
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
    return cell.cell_type == "code" and (_has_regions(cell) or _is_whole_solution_code(cell))


def execute_student_edition(
    notebook: NotebookNode, *, cwd: Path, timeout: int = CELL_TIMEOUT_SECONDS
) -> NotebookNode:
    """Execute a student edition top to bottom in ``cwd``, letting cells fail, and return it with outputs."""
    executed = copy.deepcopy(notebook)
    os.environ[HIDE_PROGRESS_ENV] = "1"
    client = NotebookClient(
        executed,
        kernel_name=KERNEL_NAME,
        timeout=timeout,
        allow_errors=True,
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute()
    return executed


def _output_text(output: NotebookNode) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    return str(output.get("data", {}).get("text/plain", ""))


def student_run_problems(instructor: NotebookNode, executed_student: NotebookNode) -> list[str]:
    """What went wrong when a student edition ran, compared with its instructor notebook.

    Every code cell is judged by :func:`student_cell_problems`. An empty list
    means the edition works.
    """
    kept = [cell for cell in instructor.cells if not _is_solution_prose(cell)]
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
    elif "raises-exception" in _tags(original):
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


# --------------------------------------------------------------------------- nbgrader source notebooks


def _grade_id(exercise_id: str, suffix: str) -> str:
    return f"{exercise_id.replace('.', '-')}-{suffix}"


def graded_test(exercise: str, answer: str) -> str:
    """The code nbgrader grades after a self-check: a visible test and a hidden one.

    The visible assertion's message is the check's own line (a pass, a hint or
    "not attempted"), so ``nbgrader validate`` says what to fix. The hidden
    test (kept out of the released notebook, restored by ``nbgrader
    autograde``) judges with freshly executed check modules, so an answer cell
    that replaced ``mtl_helpers.checks.evaluate`` or a check scores nothing.
    """
    return (
        "# The autograder's tests: the check above must pass.\n"
        f'_verdict = mtl_helpers.checks.evaluate("{exercise}", {answer})\n'
        f'assert _verdict.passed, _verdict.line("{exercise}")\n'
        "### BEGIN HIDDEN TESTS\n"
        "import importlib.util as _util\n"
        '_spec = _util.find_spec("mtl_helpers.checks._grading")\n'
        "_grading = _util.module_from_spec(_spec)\n"
        "_spec.loader.exec_module(_grading)  # a fresh copy: nothing an answer cell changed counts\n"
        f'_verdict = _grading.fresh_evaluate("{exercise}", {answer})\n'
        f'assert _verdict.passed, _verdict.line("{exercise}")\n'
        "### END HIDDEN TESTS"
    )


def nbgrader_notebook(notebook: NotebookNode, *, points: int = 1) -> NotebookNode:
    """Return an nbgrader *source* version of an instructor notebook (the input is not changed).

    Answer cells (with solution regions) get nbgrader's "autograded answer"
    metadata; each self-check cell ``mtl_helpers.check("chN.exM", answer)``
    becomes a locked "autograded tests" cell worth ``points`` that also
    asserts the check passed; markdown cells tagged ``solution`` are removed
    (nbgrader would otherwise release them). nbgrader's own
    ``generate_assignment`` then writes the same stubs as :func:`student_notebook`.
    """
    source = copy.deepcopy(notebook)
    cells = []
    last_exercise = None
    for index, cell in enumerate(source.cells):
        if _is_solution_prose(cell):
            continue
        if cell.cell_type == "code" and (_has_regions(cell) or _is_whole_solution_code(cell)):
            exercise = _exercise_after(source.cells, index) or f"cell{index}"
            cell.metadata["nbgrader"] = {
                "grade": False,
                "grade_id": _grade_id(exercise, "answer"),
                "locked": False,
                "schema_version": 3,
                "solution": True,
                "task": False,
            }
        elif cell.cell_type == "code" and (match := _CHECK_CALL.search(cell.source.strip())):
            exercise, answer = match.group(1), match.group(2)
            if exercise != last_exercise:
                cell.source = cell.source.rstrip() + "\n" + graded_test(exercise, answer)
                cell.metadata["nbgrader"] = {
                    "grade": True,
                    "grade_id": _grade_id(exercise, "check"),
                    "locked": True,
                    "points": points,
                    "schema_version": 3,
                    "solution": False,
                    "task": False,
                }
                last_exercise = exercise
        cells.append(cell)
    source.cells = cells
    return source


def _exercise_after(cells: Sequence[NotebookNode], index: int) -> str | None:
    """The exercise id of the first self-check cell after ``cells[index]``."""
    for cell in cells[index + 1 :]:
        if cell.cell_type == "code" and (match := _CHECK_CALL.search(cell.source.strip())):
            return match.group(1)
        if cell.cell_type == "code" and _has_regions(cell):
            return None
    return None


# --------------------------------------------------------------------------- files and the command line


def resolve_notebooks(names: Iterable[str | Path], *, notebooks_dir: Path = NOTEBOOKS_DIR) -> list[Path]:
    """Turn command-line names into notebook paths.

    A name is a path to an ``.ipynb`` file or a glob pattern, both relative to
    the working folder (an unexpanded ``notebooks/*.ipynb`` matches nothing
    when there are no chapters yet), or a chapter such as ``ch3``: the
    notebook ``ch3_*.ipynb`` of ``notebooks_dir`` (the book's ``notebooks/``,
    wherever the command runs).
    """
    paths: list[Path] = []
    for name in names:
        text = str(name)
        path = Path(text)
        if path.is_file():
            found = [path]
        elif re.fullmatch(r"ch\d+", text):
            found = sorted(Path(notebooks_dir).glob(f"{text}_*.ipynb"))
            if not found:
                raise FileNotFoundError(f"no chapter {text!r}: nothing matches {Path(notebooks_dir) / (text + '_*.ipynb')}")
        elif any(character in text for character in "*?["):
            found = sorted(Path().glob(text)) if not path.is_absolute() else sorted(path.parent.glob(path.name))
        else:
            raise FileNotFoundError(f"no notebook at {text}; pass paths like notebooks/ch3_alternating_training.ipynb or ch3")
        for found_path in found:
            if found_path.suffix != ".ipynb":
                raise FileNotFoundError(f"{found_path} is not a notebook (.ipynb)")
            if found_path not in paths:
                paths.append(found_path)
    return paths


def _write(notebook: NotebookNode, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.validate(notebook)
    nbformat.write(notebook, path)


def write_student_edition(path: Path, out_dir: Path) -> Path:
    """Write the student edition of notebook ``path`` into ``out_dir`` (same file name) and return its path.

    Raises :class:`SolutionMarkerError` if the markers do not pair up, and
    ``RuntimeError`` if, after stubbing, a solution line can still be found
    in the written file.
    """
    path, out_dir = Path(path), Path(out_dir)
    if out_dir.resolve() == path.parent.resolve():
        raise ValueError(f"--out {out_dir} is the folder of {path.name}; the student edition would overwrite it")
    instructor = nbformat.read(path, as_version=4)
    target = out_dir / path.name
    _write(student_notebook(instructor), target)
    leaks = find_leaks(instructor, target.read_text(encoding="utf-8"))
    if leaks:
        target.unlink()
        raise RuntimeError(f"{path}: solution text would leak into the student edition: {leaks[:3]}")
    return target


def write_nbgrader_source(path: Path, out_dir: Path, *, points: int = 1) -> Path:
    """Write the nbgrader source version of notebook ``path`` into ``out_dir`` and return its path."""
    path, out_dir = Path(path), Path(out_dir)
    if out_dir.resolve() == path.parent.resolve():
        raise ValueError(f"--out {out_dir} is the folder of {path.name}; the nbgrader version would overwrite it")
    target = out_dir / path.name
    _write(nbgrader_notebook(nbformat.read(path, as_version=4), points=points), target)
    return target


#: The Colab install lines of a chapter's setup cell, as ``sync-repository`` writes them: the address
#: on a line of its own, so that no line is wider than the page (IPython expands ``{REPOSITORY}``).
INSTALL_LINES = re.compile(
    r'^(?P<indent>[ \t]*)REPOSITORY = "(?P<url>[^"\s]+)"\n'
    r'(?P=indent)%pip install --quiet "mtl-helpers @ git\+\{REPOSITORY\}@(?P<ref>[^"\s]+)"[ \t]*$',
    re.MULTILINE,
)
#: The one-line form of earlier editions, which ``sync-repository`` rewrites into :data:`INSTALL_LINES`.
_ONE_INSTALL_LINE = re.compile(
    r'^(?P<indent>[ \t]*)%pip install --quiet "mtl-helpers @ git\+(?P<url>[^"@\s{}]+)@(?P<ref>[^"\s]+)"[ \t]*$',
    re.MULTILINE,
)


def install_lines(url: str, ref: str, *, indent: str = "    ") -> str:
    """The Colab install lines for ``url`` at ``ref``, the first without its indentation.

    Examples
    --------
    >>> print("    " + install_lines("https://github.com/me/book", "v1.0.0"))
        REPOSITORY = "https://github.com/me/book"
        %pip install --quiet "mtl-helpers @ git+{REPOSITORY}@v1.0.0"
    """
    return f'REPOSITORY = "{url}"\n{indent}%pip install --quiet "mtl-helpers @ git+{{REPOSITORY}}@{ref}"'


def installed_from(source: str) -> tuple[str, str] | None:
    """``(repository url, tag)`` of the install lines in a setup cell's ``source``, or None if it has none."""
    match = INSTALL_LINES.search(source)
    return (match["url"], match["ref"]) if match else None


def repository_url(config_path: Path = ROOT / "_config.yml") -> str:
    """The book's repository address: ``repository.url`` of ``_config.yml``."""
    import yaml

    config = yaml.safe_load(Path(config_path).read_text(encoding="utf-8"))
    try:
        return str(config["repository"]["url"]).rstrip("/")
    except (KeyError, TypeError) as error:
        raise ValueError(f"{config_path} has no repository.url; set it to https://github.com/<owner>/<repo>") from error


def release_tag(package_init: Path = ROOT / "mtl_helpers" / "__init__.py") -> str:
    """The git tag of this version of the helpers: ``"v"`` + ``mtl_helpers.__version__``, e.g. ``"v0.2.0"``.

    Read from the package's source without importing it (which would import
    TensorFlow). The tag must exist in the repository: push it when releasing.
    """
    tree = ast.parse(Path(package_init).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(target, "id", None) == "__version__" for target in node.targets):
            return f"v{ast.literal_eval(node.value)}"
    raise ValueError(f"{package_init} defines no __version__ = \"X.Y.Z\"")


def sync_repository_url(path: Path, url: str, *, ref: str | None = None) -> bool:
    """Point the Colab install lines of notebook ``path`` at ``url`` @ ``ref``; return whether it changed.

    ``ref`` defaults to :func:`release_tag`, so Colab installs the helpers the
    chapter was written with, not whatever ``main`` holds later. The one-line
    form of earlier editions becomes the two lines of :func:`install_lines`.
    """
    ref = release_tag() if ref is None else ref
    notebook = nbformat.read(path, as_version=4)
    changed = False
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        updated = cell.source
        for pattern in (INSTALL_LINES, _ONE_INSTALL_LINE):
            updated = pattern.sub(lambda match: match["indent"] + install_lines(url, ref, indent=match["indent"]), updated)
        changed |= updated != cell.source
        cell.source = updated
    if changed:
        _write(notebook, path)
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python tools/authoring.py``."""
    parser = argparse.ArgumentParser(prog="python tools/authoring.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    where = "notebook paths, glob patterns or chapters such as ch3"
    execute = commands.add_parser("execute", help="re-execute notebooks and store their outputs")
    execute.add_argument("notebooks", nargs="+", help=where)
    student = commands.add_parser("student", help="write student editions (solutions stubbed, outputs cleared)")
    student.add_argument("--out", type=Path, required=True, help="folder for the student editions")
    student.add_argument("notebooks", nargs="+", help=where)
    student.add_argument(
        "--verify", action="store_true", help="also run each edition: only the stubs may fail, every self-check says [TODO]"
    )
    student.add_argument(
        "--keep-existing", action="store_true", help="leave editions already in --out as they are (a student's work)"
    )
    grader = commands.add_parser("nbgrader", help="write nbgrader source notebooks (cells marked for autograding)")
    grader.add_argument("--out", type=Path, required=True, help="folder, e.g. source/ch3 of an nbgrader course")
    grader.add_argument("--points", type=int, default=1, help="points per exercise (default 1)")
    grader.add_argument("notebooks", nargs="+", help=where)
    sync = commands.add_parser("sync-repository", help="point the chapters' Colab install line at _config.yml's repository")
    sync.add_argument("notebooks", nargs="+", help=where)
    args = parser.parse_args(argv)
    try:
        paths = resolve_notebooks(args.notebooks)
    except FileNotFoundError as error:
        parser.error(str(error))
    if not paths:
        print("no notebooks matched; nothing done")
        return 0
    if args.command == "sync-repository":
        url, ref = repository_url(), release_tag()
        for path in paths:
            changed = sync_repository_url(path, url, ref=ref)
            print(f"{path}: {'now installs ' + url + '@' + ref if changed else 'already up to date'}")
        return 0
    if args.command == "execute":
        for path in paths:
            seconds = execute_notebook(path)
            print(f"{path}: executed in {seconds:.1f} s")
        return 0
    failed = 0
    for path in paths:
        if args.command == "nbgrader":
            target = write_nbgrader_source(path, args.out, points=args.points)
            print(f"{target}: nbgrader source notebook")
            continue
        if args.keep_existing and (args.out / path.name).exists():
            print(f"{args.out / path.name}: kept (already there)")
            continue
        target = write_student_edition(path, args.out)
        instructor = nbformat.read(path, as_version=4)
        print(f"{target}: student edition ({sum(map(is_answer_cell, instructor.cells))} answer cells stubbed)")
        if args.verify:
            start = time.perf_counter()
            executed = execute_student_edition(nbformat.read(target, as_version=4), cwd=path.parent)
            problems = student_run_problems(instructor, executed)
            failed += bool(problems)
            verdict = "ok" if not problems else f"{len(problems)} problems"
            print(f"  ran it in {time.perf_counter() - start:.0f} s: {verdict}")
            for problem in problems:
                print(f"  - {problem}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
