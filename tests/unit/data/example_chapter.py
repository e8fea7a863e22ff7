"""A tiny chapter notebook that follows the exercise conventions, for testing the instructor kit.

It is built in code (an ``.ipynb`` file under ``tests/`` would be collected by
nbval). ``build()`` returns the *instructor* notebook with stored outputs, as
``make execute`` would leave them: each self-check cell shows its [PASS]
line. It registers its own exercises (``ch99.ex1``, ``ch99.ex2``) when run, so
it needs no check module.
"""

from __future__ import annotations

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

TITLE = """# 9. Doubling arrays

A toy chapter for the instructor kit's tests.

- **Article step**: none (a test fixture)
- **Time**: about 5 minutes to read, about 10 seconds to run
- **Prerequisites**: [Chapter 1](ch1_computation_graphs.ipynb) and [Chapter 2](ch2_two_head_graph.ipynb)
- **Objectives**:
  1. You will be able to double an array with `numpy`.
  2. You will be able to write a function that doubles its input.
  3. You will be able to read a self-check's hint."""

SETUP = """import numpy as np

import mtl_helpers
from mtl_helpers.checks._core import compare_arrays, register

mtl_helpers.setup(seed=0)


@register("ch99.ex1")
def _check_doubled(answer):
    return compare_arrays(answer, np.arange(4.0) * 2, name="answer")


@register("ch99.ex2")
def _check_double_fn(answer_fn):
    x = np.linspace(0.0, 1.0, 5)
    return compare_arrays(answer_fn(x), 2 * x, name="answer_fn(x)")"""

EXERCISE_1 = """answer = None
### BEGIN SOLUTION
answer = np.arange(4.0) * 2
### END SOLUTION"""

EXERCISE_2 = """def answer_fn(x):
    \"\"\"Return x doubled, same shape.\"\"\"
    ### BEGIN SOLUTION
    doubled_input = np.add(x, x)
    return doubled_input
    ### END SOLUTION"""

EXPLANATION = """```{dropdown} Solution explained
Multiplying by two scales every entry of the range elementwise.
```"""


def _stream(text: str) -> NotebookNode:
    return new_output("stream", name="stdout", text=text)


def build() -> NotebookNode:
    """The instructor notebook of the toy chapter 9, with stored outputs."""
    cells = [
        new_markdown_cell(TITLE),
        new_markdown_cell("## Setup"),
        new_code_cell(SETUP, execution_count=1),
        new_markdown_cell("Arrays of different lengths cannot be multiplied as vectors:"),
        new_code_cell("np.ones(3) @ np.ones(4)", execution_count=2, metadata={"tags": ["raises-exception"]}),
        new_markdown_cell("The error says the inner dimensions differ."),
        new_code_cell("print(np.arange(4.0).shape)", execution_count=3, outputs=[_stream("(4,)\n")]),
        new_markdown_cell("## Exercises"),
        new_markdown_cell("### Exercise 1 ★ — Double a range\n\nSet `answer` to `np.arange(4.0)` doubled, shape (4,)."),
        new_code_cell(EXERCISE_1, execution_count=4, metadata={"tags": ["hide-input", "solution"]}),
        new_code_cell('mtl_helpers.check("ch99.ex1", answer)', execution_count=5,
                      outputs=[_stream("[PASS] ch99.ex1: correct.\n")]),
        new_markdown_cell(EXPLANATION, metadata={"tags": ["solution"]}),
        new_markdown_cell("### Exercise 2 (★★★): write a doubling function\n\nDefine `answer_fn(x)`."),
        new_code_cell(EXERCISE_2, execution_count=6, metadata={"tags": ["hide-input", "solution"]}),
        new_code_cell('mtl_helpers.check("ch99.ex2", answer_fn)', execution_count=7,
                      outputs=[_stream("[PASS] ch99.ex2: correct.\n")]),
        new_markdown_cell("## Summary\n\n- Doubling is elementwise."),
        new_markdown_cell("## References\n\nNone."),
    ]
    cells[4].outputs = [new_output("error", ename="ValueError", evalue="matmul: mismatch", traceback=[])]
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.validate(notebook)
    return notebook
