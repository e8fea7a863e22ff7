"""The instructor guide's Sphinx extension (book/_ext/book_chapter_map.py, book_chapters.py)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXT = ROOT / "book" / "_ext"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


chapter_files = _load("book_chapters", EXT / "book_chapters.py")  # before the map, which imports it
cmap = _load("book_chapter_map", EXT / "book_chapter_map.py")
example_chapter = _load("example_chapter", Path(__file__).parent / "data" / "example_chapter.py")
Chapter, Exercise = chapter_files.Chapter, chapter_files.Exercise

LIST_TITLE = """# 2. The two-head graph

This chapter builds the network.

- **Article step:** step 3, "the two-task graph" {footcite:p}`godwin2016mtl`.
- **Time:** about 25 minutes to read, under a minute to run.
- **Prerequisites:** [Chapter 1](ch1_computation_graphs.ipynb) (graphs,
  placeholders) and [the setup](ch0_setup.ipynb#install).
- **Objectives:** you will be able to
  1. read the article's listing and say what each
     defective line really does;
  2. build the same network with `TwoHeadNet`;
  3. prove with gradients which variables each loss reaches."""

TABLE_TITLE = """# 4. Joint training

| | |
|---|---|
| **Article** | step 6, joint training |
| **Time** | about 15 minutes |
| **Prerequisites** | [Chapter 3](ch3_alternating_training.ipynb), [Chapter 2](./ch2_two_head_graph.ipynb) |
| **Objectives** | 1. add the losses 2. train jointly 3. compare |"""


# --------------------------------------------------------------------------- the title cell


def test_title_cell_as_a_list() -> None:
    chapter = chapter_files.parse_title_cell(LIST_TITLE, "ch2_two_head_graph")
    assert (chapter.number, chapter.title) == (2, "The two-head graph")
    assert chapter.article_step == 'step 3, "the two-task graph"'  # the citation is dropped
    assert chapter.time == "about 25 minutes to read, under a minute to run"
    assert chapter.minutes == 25
    assert chapter.prerequisites == ("ch1_computation_graphs", "ch0_setup")
    assert chapter.objectives == (
        "read the article's listing and say what each defective line really does",
        "build the same network with `TwoHeadNet`",
        "prove with gradients which variables each loss reaches",
    )


def test_title_cell_as_a_table() -> None:
    chapter = chapter_files.parse_title_cell(TABLE_TITLE, "ch4_joint_training")
    assert (chapter.number, chapter.title, chapter.time) == (4, "Joint training", "about 15 minutes")
    assert chapter.article_step == "step 6, joint training"
    assert chapter.prerequisites == ("ch3_alternating_training", "ch2_two_head_graph")
    assert chapter.objectives == ("add the losses", "train jointly", "compare")


def test_title_cell_with_fields_missing() -> None:
    chapter = chapter_files.parse_title_cell("# Errata\n\nNo labels here.", "ch7_errata")
    assert (chapter.number, chapter.title, chapter.time, chapter.prerequisites, chapter.objectives) == (
        7, "Errata", "", (), ())
    assert chapter.minutes is None
    itself = chapter_files.parse_title_cell("# 3. Self\n\n- **Prerequisites:** [this](ch3_self.ipynb)", "ch3_self")
    assert itself.prerequisites == ()


# --------------------------------------------------------------------------- exercises


def _markdown(text: str, tags: list[str] | None = None) -> dict:
    return nbformat.v4.new_markdown_cell(text, metadata={"tags": tags} if tags else {})


def _code(text: str, tags: list[str] | None = None) -> dict:
    return nbformat.v4.new_code_cell(text, metadata={"tags": tags} if tags else {})


ANSWER = "answer = None\n### BEGIN SOLUTION\nanswer = 1\n### END SOLUTION"


def test_exercises_in_the_formats_authors_use() -> None:
    cells = [
        _markdown("## Exercises\n\nEach exercise ends with a self-check.\n\n**Exercise 1 ★ (parameters per part).** "
                  "`TwoHeadNet` has 10 inputs."),
        _code(ANSWER, ["hide-input", "solution"]),
        _code('mtl_helpers.check("ch2.ex1", answer)'),
        _markdown("```{dropdown} Solution explained\nExercise 9 is elsewhere.\n```", ["solution"]),
        _markdown("### Exercise 2 ★★ — Predict a shape\n\nSet `answer` to a tuple."),
        _markdown("```{dropdown} Hint\nLook at the shapes.\n```"),
        _code(ANSWER, ["hide-input", "solution"]),
        _code('mtl_helpers.check("ch2.ex2", answer)'),
        _markdown("**Exercise 3 (★★★).** Write `answer_fn(net, batch)` that returns the gradient. It is long."),
        _code("def answer_fn(net, batch):\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION", ["solution"]),
        _code('mtl_helpers.check("ch2.ex3", answer_fn)'),
        _markdown("### Exercise 4 (medium): the | pipe"),
        _code(ANSWER, ["solution"]),
        _code("check('ch2.ex4', answer)"),
        _code(ANSWER, ["solution"]),  # no statement naming an exercise after ex4's; no check at all -> skipped
    ]
    exercises = chapter_files.parse_exercises(cells)
    assert exercises == (
        Exercise("ch2.ex1", 1, "Parameters per part"),
        Exercise("ch2.ex2", 2, "Predict a shape"),
        Exercise("ch2.ex3", 3, "Write `answer_fn(net, batch)` that returns the gradient."),
        Exercise("ch2.ex4", 2, "The | pipe"),
    )
    assert [exercise.difficulty for exercise in exercises] == ["★ easy", "★★ medium", "★★★ harder", "★★ medium"]
    assert Exercise("x", 0, "t").difficulty == "—"


def test_read_chapter_of_the_example(tmp_path: Path) -> None:
    path = tmp_path / "ch99_doubling.ipynb"
    nbformat.write(example_chapter.build(), path)
    chapter = chapter_files.read_chapter(path)
    assert (chapter.number, chapter.title, chapter.minutes) == (9, "Doubling arrays", 5)
    assert chapter.prerequisites == ("ch1_computation_graphs", "ch2_two_head_graph")
    assert len(chapter.objectives) == 3
    assert chapter.exercises == (
        Exercise("ch99.ex1", 1, "Double a range"),
        Exercise("ch99.ex2", 3, "Write a doubling function"),
    )


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("ch*.ipynb")), ids=lambda p: p.name)
def test_every_chapter_gives_the_guide_what_it_needs(path: Path) -> None:
    chapter = chapter_files.read_chapter(path)
    assert chapter.title and chapter.number > 0
    assert chapter.time, "the title cell's **Time:** field is missing"
    assert 3 <= len(chapter.objectives) <= 5, f"3-5 numbered objectives, found {chapter.objectives}"
    assert len(chapter.exercises) >= 3
    assert all(1 <= exercise.stars <= 3 for exercise in chapter.exercises), "each exercise says ★, ★★ or ★★★"
    ids = [exercise.id for exercise in chapter.exercises]
    assert all(exercise_id.startswith(f"ch{chapter.number}.") for exercise_id in ids), ids


# --------------------------------------------------------------------------- the map


def chapters(*specs: tuple[int, tuple[int, ...]]) -> list:
    return [
        Chapter(f"ch{n}_c{n}", n, f"Chapter title {n}", time=f"about {10 * n} minutes",
                prerequisites=tuple(f"ch{p}_c{p}" for p in needs), exercises=(Exercise(f"ch{n}.ex1", 1, "t"),))
        for n, needs in specs
    ]


def test_levels_of_a_chain_a_diamond_unknown_prerequisites_and_a_cycle() -> None:
    assert cmap.dependency_levels(chapters((1, ()), (2, (1,)), (3, (2,)))) == {"ch1_c1": 0, "ch2_c2": 1, "ch3_c3": 2}
    diamond = cmap.dependency_levels(chapters((1, ()), (2, (1,)), (3, (1,)), (4, (2, 3))))
    assert diamond == {"ch1_c1": 0, "ch2_c2": 1, "ch3_c3": 1, "ch4_c4": 2}
    assert cmap.dependency_levels(chapters((2, (1,)), (3, (2,)))) == {"ch2_c2": 0, "ch3_c3": 1}
    cycle = cmap.dependency_levels(chapters((1, (2,)), (2, (1,))))
    assert sorted(cycle.values()) == [0, 1]


def test_skip_lanes_never_overlap() -> None:
    assert cmap.skip_lanes([]) == []
    assert cmap.skip_lanes([(0, 2), (1, 3), (2, 4)]) == [0, 1, 0]  # touching at level 2 is fine
    assert cmap.skip_lanes([(0, 4), (1, 3), (1, 3)]) == [2, 0, 1]  # the shortest inside
    spans = [(0, 2), (0, 3), (1, 4), (2, 5), (0, 5), (3, 5)]
    lanes = cmap.skip_lanes(spans)
    for i, (a, b) in enumerate(spans):
        for j, (c, d) in enumerate(spans[:i]):
            assert lanes[i] != lanes[j] or max(a, c) >= min(b, d)


def test_map_is_svg_with_real_text_links_and_no_timestamp() -> None:
    book = chapters((1, ()), (2, (1,)), (3, (2,)), (4, (3,)), (5, (3, 2)))
    svg = cmap.draw_chapter_map(book, link=lambda chapter: f"../{chapter.docname}.html")
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    for chapter in book:
        assert f"{chapter.number}. {chapter.title}" in svg
        assert f'href="../notebooks/{chapter.stem}.html"' in svg
    assert "50 min" in svg and "1 exercise" in svg
    assert "<dc:date>" not in svg
    assert svg == cmap.draw_chapter_map(book, link=lambda chapter: f"../{chapter.docname}.html")  # deterministic
    figure = cmap.chapter_map_figure(book)
    assert len(figure.axes[0].patches) == 5 + 5  # boxes + arrows (1-2, 2-3, 3-4, 3-5, 2-5)
    with pytest.raises(ValueError, match="no chapters"):
        cmap.draw_chapter_map([])


def test_map_description_and_accessible_svg() -> None:
    book = chapters((1, ()), (2, (1,)), (3, (1, 2)))
    description = cmap.map_description(book)
    assert description.startswith("Chapter 1 (Chapter title 1) needs no other chapter.")
    assert "Chapter 3 (Chapter title 3) needs chapter 1 and chapter 2." in description
    svg = cmap.accessible_svg(cmap.draw_chapter_map(book), title="Map <of> chapters", description=description)
    opening = svg[: svg.index(">") + 1]
    assert 'aria-labelledby="chapter-map-title chapter-map-desc"' in opening
    assert " width=" not in opening and "max-width" in opening
    assert '<title id="chapter-map-title">Map &lt;of&gt; chapters</title>' in svg


# --------------------------------------------------------------------------- the guide's markdown


def test_exercise_table_and_suggested_assignment() -> None:
    chapter = Chapter("ch3_x", 3, "X", time="about 20 minutes", exercises=(
        Exercise("ch3.ex1", 1, "One"), Exercise("ch3.ex2", 2, "Two | three"), Exercise("ch3.ex3", 3, "Hard")))
    table = cmap.exercise_table_markdown([chapter])
    assert table.splitlines()[0] == "| Chapter | Exercise | Difficulty | Task |"
    assert "| {doc}`3 </notebooks/ch3_x>` | `ch3.ex2` | ★★ medium | Two \\| three |" in table
    assert cmap.exercise_table_markdown([Chapter("ch3_x", 3, "X")]) == "No exercises yet."
    text = cmap.suggested_assignment(chapter)
    assert "(about 20 minutes)" in text
    assert "Set `ch3.ex1` (★), `ch3.ex2` (★★) as homework" in text
    assert "Offer `ch3.ex3` (★★★) as a challenge" in text
    only_hard = Chapter("ch3_x", 3, "X", exercises=(Exercise("ch3.ex1", 3, "Hard"),))
    assert "challenge" not in cmap.suggested_assignment(only_hard)


def test_chapter_guide_links_known_chapters_only() -> None:
    book = chapters((2, (1,)), (3, (2,)))
    book[1] = Chapter(**{**book[1].__dict__, "objectives": ("reuse [the graph](ch2_c2.ipynb) and [that](ch1_c1.ipynb)",)})
    guide = cmap.chapter_guide_markdown(book)
    assert "### 2. Chapter title 2" in guide and "### 3. Chapter title 3" in guide
    assert "**Prerequisites:** chapter 1" in guide  # chapter 1 is not in the book: plain text
    assert "**Prerequisites:** {doc}`chapter 2 </notebooks/ch2_c2>`" in guide
    assert "1. reuse [the graph](/notebooks/ch2_c2.ipynb) and that" in guide


# --------------------------------------------------------------------------- the directives in a real Sphinx build


@pytest.mark.parametrize("with_chapter", [False, True], ids=["no-chapters", "one-chapter"])
def test_directives_build_without_warnings(tmp_path: Path, with_chapter: bool) -> None:
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace, patch_docutils

    source = tmp_path / "src"
    (source / "notebooks").mkdir(parents=True)
    (source / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(EXT)!r})\n"
        "extensions = ['myst_nb', 'sphinx_design', 'book_chapter_map']\nnb_execution_mode = 'off'\n"
        "suppress_warnings = ['mystnb.unknown_mime_type']\n"
    )
    toctree = "notebooks/ch99_doubling\n" if with_chapter else ""
    (source / "index.md").write_text(
        f"# Guide\n\n```{{toctree}}\n{toctree}```\n\n## Map\n\n```{{chapter-map}}\n:caption: The chapters.\n```\n\n"
        "## Chapters\n\n```{chapter-guide}\n```\n\n## All exercises\n\n```{exercise-table}\n```\n\n"
        "```{exercise-table} ch99\n```\n"
    )
    if with_chapter:
        notebook = example_chapter.build()
        title = notebook.cells[0].source
        notebook.cells[0].source = re.sub(r"\[(Chapter \d)\]\(ch\d_\w+\.ipynb\)", r"\1", title)  # chapters not in this mini-book
        nbformat.write(notebook, source / "notebooks" / "ch99_doubling.ipynb")
    warnings = tmp_path / "warnings.txt"
    with warnings.open("w") as stream, patch_docutils(str(source)), docutils_namespace():
        app = Sphinx(str(source), str(source), str(tmp_path / "html"), str(tmp_path / "doctrees"), "html",
                     status=None, warning=stream, freshenv=True)
        app.build()
    log = warnings.read_text()
    assert "WARNING" not in log and "ERROR" not in log, log
    page = (tmp_path / "html" / "index.html").read_text()
    if with_chapter:
        assert "<svg" in page and 'href="notebooks/ch99_doubling.html"' in page
        assert "Double a range" in page and "★★★ harder" in page
        assert 'id="doubling-arrays"' in page or "9. Doubling arrays" in page
    else:
        assert page.count(cmap.NO_CHAPTERS) == 4
