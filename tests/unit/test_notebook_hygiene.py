"""Every chapter notebook follows the rules of book/contributing.md.

These checks read the stored notebooks (they do not execute them; nbval does).
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
TOC = (ROOT / "_toc.yml").read_text()

# absl/TensorFlow log lines and Python warnings that must never be stored.
NOISE = re.compile(r"^(W|I|E)0000 |absl::InitializeLog|oneDNN custom operations|Warning:|WARNING:", re.MULTILINE)


def _machine_paths() -> re.Pattern[str]:
    """Paths that belong to the machine that runs the notebooks, read from it.

    The repository, the home folder, the Python installation, the kernel's
    temporary files, and any installed package's source.
    """
    places = {str(ROOT), str(Path.home()), sys.prefix, sys.base_prefix, str(Path(tempfile.gettempdir()) / "ipykernel_")}
    places = {place for place in places if len(Path(place).parts) > 1}  # never the root folder "/" itself
    whole = [re.escape(place) + r"(?![\w.-])" for place in sorted(places)]  # "/root" but not "/rooted"
    return re.compile("|".join([*whole, r"site-packages/"]))


MACHINE_PATHS = _machine_paths()


def _cells(path: Path) -> list:
    return nbformat.read(path, as_version=4).cells


def _tags(cell) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def _text(output) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    data = output.get("data", {})
    return str(data.get("text/plain", "")) + str(data.get("text/html", ""))


def test_there_are_chapters() -> None:
    assert NOTEBOOKS, "notebooks/ holds no chapter notebooks"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_listed_in_table_of_contents(path: Path) -> None:
    assert f"notebooks/{path.stem}" in TOC, f"add 'notebooks/{path.stem}' to _toc.yml"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_title_cell_has_objectives_time_prerequisites(path: Path) -> None:
    first = _cells(path)[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), "the first cell is the '# Title' cell"
    for word in ("objectives", "time", "prerequisites", "article"):
        assert word in first.source.lower(), f"the title cell should mention {word!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_sections(path: Path) -> None:
    headings = [line for cell in _cells(path) if cell.cell_type == "markdown" for line in cell.source.splitlines()]
    for section in ("## Setup", "## Exercises", "## Summary", "## References"):
        assert any(line.strip() == section for line in headings), f"missing the {section!r} section"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_code_cell_was_executed(path: Path) -> None:
    for index, cell in enumerate(_cells(path)):
        if cell.cell_type == "code" and cell.source.strip():
            assert cell.execution_count is not None, f"cell {index} has no stored execution: run make execute"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_are_clean(path: Path) -> None:
    for index, cell in enumerate(_cells(path)):
        if cell.cell_type != "code":
            continue
        for output in cell.outputs:
            if output.output_type == "error":
                assert "raises-exception" in _tags(cell), f"cell {index} stores an error but is not tagged raises-exception"
                traceback = "\n".join(output.get("traceback", []))
                assert not MACHINE_PATHS.search(traceback), f"cell {index} stores machine paths: use %xmode Minimal"
            if output.output_type == "stream" and output.name == "stderr":
                pytest.fail(f"cell {index} stores stderr output: {output.text[:200]!r}")
            text = _text(output)
            assert not NOISE.search(text), f"cell {index} stores log or warning noise: {text[:200]!r}"
            assert not MACHINE_PATHS.search(text), f"cell {index} stores a path of the authoring machine"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_ignored_outputs_are_timings_only(path: Path) -> None:
    for index, cell in enumerate(_cells(path)):
        tags = _tags(cell)
        marked = "nbval-ignore-output" in tags or "NBVAL_IGNORE_OUTPUT" in cell.source
        if marked:
            assert "timing" in tags, f"cell {index} ignores its output but is not a timing cell (tag it 'timing')"
        assert "nbval-skip" not in tags and "NBVAL_SKIP" not in cell.source, f"cell {index} is skipped by nbval"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_has_a_figure(path: Path) -> None:
    images = [o for c in _cells(path) if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert images, "a chapter shows at least one figure made by its code"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_exercises_have_solutions_and_self_checks(path: Path) -> None:
    cells = _cells(path)
    solution_cells = [c for c in cells if c.cell_type == "code" and "### BEGIN SOLUTION" in c.source]
    check_calls = re.findall(r"mtl_helpers\.check\(\s*\"(ch\d+\.ex\d+)\"", "\n".join(c.source for c in cells))
    assert len(solution_cells) >= 3, "a chapter has 3 or more exercises with ### BEGIN SOLUTION regions"
    assert len(set(check_calls)) >= 3, "each exercise ends with mtl_helpers.check('chN.exM', answer)"
    for cell in solution_cells:
        assert cell.source.count("### BEGIN SOLUTION") == cell.source.count("### END SOLUTION")
        assert {"hide-input", "solution"} <= _tags(cell), "solution cells are tagged hide-input and solution"


MAX_CODE_LINE = 88  # what fits the book's content column at a 1280 px window (tests/rendered checks the pages)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_lines_fit_the_page(path: Path) -> None:
    """Code cells, and code blocks in the prose, have lines of at most 88 characters (issue 11)."""
    long = []
    for index, cell in enumerate(_cells(path)):
        lines = cell.source.splitlines()
        if cell.cell_type == "markdown":
            fenced, inside = [], False
            for line in lines:
                if line.lstrip().startswith(("```", "~~~")):
                    inside = not inside
                elif inside:
                    fenced.append(line)
            lines = fenced
        long += [f"cell {index}, {len(line)} characters: {line.strip()[:60]}..." for line in lines if len(line) > MAX_CODE_LINE]
    assert not long, f"code lines longer than {MAX_CODE_LINE} characters (wrap them):\n" + "\n".join(long)
