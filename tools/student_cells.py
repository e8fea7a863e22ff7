"""A pytest plugin: each chapter's student edition, run in nbval's kernel after the chapter.

A student edition (``tools/authoring.py student``, made by
``tools/student_edition.py``) is the chapter with its
answer cells stubbed. Its code cells are the chapter's, one for one, and
they are identical up to the first answer cell, which comes after the
chapter's experiments. Running the whole edition again would repeat every
experiment nbval has just run. This plugin runs the part that differs,
in the kernel nbval used for the chapter:

1. before the first code cell that differs, an item saves the kernel's
   global names (``student edition: save state``);
2. nbval runs the rest of the chapter, solutions included, as usual;
3. an item puts the saved names back (``student edition: restore state``):
   names the solutions bound are deleted, names they rebound get their old
   objects again. A student cell that leans on a solution therefore fails
   as it would for a student;
4. each remaining cell of the student edition runs as an item
   (``student edition: Cell N``, N counted as nbval counts code cells) and
   is judged by :func:`tools.student_edition.student_cell_problems`: a stub fails
   only with ``NotImplementedError``, a self-check prints ``[TODO]``, any
   other cell succeeds.

What this cannot see: a solution that changed an object in place (appended
to a list the chapter made, trained a model further) leaves it changed.
The items are children of the notebook's node, so ``--dist loadgroup`` keeps
them on the notebook's worker, after its cells; each carries the user
property ``("student edition", True)``, by which the root ``conftest.py``
times them apart from nbval's cells. The plugin is active with
``--nbval`` or ``--nbval-lax`` (the root ``conftest.py`` loads it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import nbformat
import pytest
from nbformat import NotebookNode

from tools.authoring import CELL_TIMEOUT_SECONDS
from tools.student_edition import student_cell_problems, student_notebook

__all__ = ["RESTORE_CODE", "SAVE_CODE", "StudentCell", "first_difference"]

#: Every item's name starts with this.
PREFIX = "student edition: "
_SAVED = "_mtl_student_edition_names"

#: Kernel code of step 1: the global names and their objects, as they are.
SAVE_CODE = f"{_SAVED} = dict(globals())"

#: Kernel code of step 3: delete the names bound since, rebind the others to their saved objects.
RESTORE_CODE = f"""\
def _mtl_restore(saved, names):
    for name in [name for name in names if name not in saved]:
        del names[name]
    names.update(saved)
_mtl_restore({_SAVED}, globals())"""


def first_difference(instructor: Sequence[NotebookNode], student: Sequence[NotebookNode]) -> int | None:
    """The index of the first code cell whose student source differs; None when none does.

    ``instructor`` and ``student`` are the code cells of a chapter and of its
    student edition; they must pair up one for one.
    """
    if len(instructor) != len(student):
        raise ValueError(f"the student edition has {len(student)} code cells, the chapter {len(instructor)}")
    return next((index for index, (a, b) in enumerate(zip(instructor, student, strict=True)) if a.source != b.source), None)


class _KernelItem(pytest.Item):
    """An item that runs code in the kernel of its notebook (its parent, nbval's ``IPyNbFile``)."""

    def __init__(self, *, code: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.code = code
        #: Tells the root conftest's timings these items from nbval's cells.
        self.user_properties.append(("student edition", True))

    def execute(self) -> list[NotebookNode]:
        """Run :attr:`code` in the notebook's kernel; its outputs as notebook outputs."""
        if getattr(self.parent, "timed_out", False):
            pytest.skip("the notebook timed out")
        outputs: list[NotebookNode] = []

        def keep(message: dict) -> None:
            if message["msg_type"] in {"stream", "display_data", "execute_result", "error"}:
                outputs.append(nbformat.v4.output_from_msg(message))

        self.parent.kernel.kc.execute_interactive(
            self.code, timeout=CELL_TIMEOUT_SECONDS, output_hook=keep, allow_stdin=False
        )
        return outputs

    def runtest(self) -> None:
        errors = [output for output in self.execute() if output.output_type == "error"]
        if errors:
            raise StudentEditionError(f"{self.name}: {errors[0].ename}: {errors[0].evalue}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, StudentEditionError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Any, int, str]:
        return self.path, 0, f"{self.parent.name}::{self.name}"


class StudentEditionError(AssertionError):
    """A student-edition cell did not behave as a student's first run should."""


class StudentCell(_KernelItem):
    """One code cell of the student edition, judged against the chapter's cell."""

    def __init__(self, *, original: NotebookNode, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.original = original

    def runtest(self) -> None:
        problems = student_cell_problems(self.original, self.execute(), where=self.name)
        if problems:
            raise StudentEditionError("\n".join(problems))


def _student_items(notebook_node: pytest.Collector, cells: list[pytest.Item]) -> tuple[int, list[pytest.Item]] | None:
    """Where the save item goes (an index into ``cells``) and the items that follow the chapter."""
    notebook = notebook_node.nb
    chapter = [cell for cell in notebook.cells if cell.cell_type == "code"]
    edition = [cell for cell in student_notebook(notebook).cells if cell.cell_type == "code"]
    start = first_difference(chapter, edition)
    if start is None or len(cells) != len(chapter):
        return None
    after = [
        _KernelItem.from_parent(notebook_node, name=f"{PREFIX}restore state", code=RESTORE_CODE),
        *[
            StudentCell.from_parent(notebook_node, name=f"{PREFIX}Cell {index}", code=cell.source, original=chapter[index])
            for index, cell in enumerate(edition)
            if index >= start
        ],
    ]
    return start, [_KernelItem.from_parent(notebook_node, name=f"{PREFIX}save state", code=SAVE_CODE), *after]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Add each notebook's student-edition items: one before its first differing cell, the others after its last."""
    if not (getattr(config.option, "nbval", False) or getattr(config.option, "nbval_lax", False)):
        return
    from nbval.plugin import IPyNbFile

    by_notebook: dict[pytest.Collector, list[pytest.Item]] = {}
    for item in items:
        if isinstance(item.parent, IPyNbFile):
            by_notebook.setdefault(item.parent, []).append(item)
    for notebook_node, cells in by_notebook.items():
        planned = _student_items(notebook_node, cells)
        if planned is None:
            continue
        start, (save, *after) = planned
        items.insert(items.index(cells[start]), save)
        end = items.index(cells[-1]) + 1
        items[end:end] = after
