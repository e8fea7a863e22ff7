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

if __package__ in (None, ""):  # run as a script (python tools/authoring.py): make the tools package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tools.student_edition import (
    CHECK_CALL,
    find_leaks,
    has_regions,
    is_answer_cell,
    is_solution_prose,
    student_notebook,
    student_run_problems,
)

__all__ = [
    "execute_notebook",
    "execute_student_edition",
    "graded_test",
    "install_lines",
    "installed_from",
    "main",
    "merge_streams",
    "nbgrader_notebook",
    "release_tag",
    "repository_url",
    "resolve_notebooks",
    "sync_repository_url",
    "write_nbgrader_source",
    "write_student_edition",
]

#: The book's root folder (this file is tools/authoring.py).
ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = ROOT / "notebooks"
KERNEL_NAME = "python3"
CELL_TIMEOUT_SECONDS = 600




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


# --------------------------------------------------------------------------- running a student edition


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
        if is_solution_prose(cell):
            continue
        if is_answer_cell(cell):
            exercise = _exercise_after(source.cells, index) or f"cell{index}"
            cell.metadata["nbgrader"] = {
                "grade": False,
                "grade_id": _grade_id(exercise, "answer"),
                "locked": False,
                "schema_version": 3,
                "solution": True,
                "task": False,
            }
        elif cell.cell_type == "code" and (match := CHECK_CALL.search(cell.source.strip())):
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
        if cell.cell_type == "code" and (match := CHECK_CALL.search(cell.source.strip())):
            return match.group(1)
        if cell.cell_type == "code" and has_regions(cell):
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
