"""The decision guide's data structure and flow chart (mtl_helpers.flow_chart), and chapter 11's guide against its text.

The chapter defines its guide once, in code cells, and draws the flow chart
from it. These tests read that guide out of the notebook and check it against
the chapter's markdown: every recommendation names a section of the page, the
sections come in the order of the questions, no guide section is left without
a box, and every cross-reference of the chapter points at a target that
exists somewhere in the book.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import nbformat
import pytest

from mtl_helpers.flow_chart import (
    Decision,
    Recommendation,
    draw_flow_chart,
    follow_guide,
    guide_rows,
    missing_sections,
    section_targets,
)

ROOT = Path(__file__).resolve().parents[2]
CHAPTER = ROOT / "notebooks" / "ch11_choosing_a_recipe.ipynb"
GUIDE_CELLS = ("c11-guide-data", "c11-guide-tasks", "c11-guide-run", "c11-guide-assembled")

R = Recommendation
SMALL = (
    Decision("scales", "Are the losses on one scale?", {
        "yes": R("Keep the plain sum", "sec-scales"),
        "no, the units differ": R("Standardise the targets", "sec-scales")}),
    Decision("compute", "What compute is at hand?", {
        "one CPU": R("Compiled loops", "sec-compute"),
        "one GPU": R("Bigger batches", "sec-compute"),
        "several devices": R("MirroredStrategy", "sec-compute")}),
)
END = R("Measure over paired seeds", "sec-measure")


# ---------------------------------------------------------------- the data structure


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda: R("", "sec-a"), ValueError, "must not be empty"),
        (lambda: R("text", "not a label!"), ValueError, "MyST label"),
        (lambda: R(3, "sec-a"), TypeError, "must be a str"),
        (lambda: Decision("two words", "Q?", {"a": R("t", "s")}), ValueError, "identifier"),
        (lambda: Decision("key", "Q?", {}), ValueError, "non-empty dict"),
        (lambda: Decision("key", "Q?", {"a": "text"}), TypeError, "Recommendation(text, section)"),
    ],
)
def test_bad_parts_are_refused_with_a_reason(make: object, error: type, words: str) -> None:
    with pytest.raises(error, match=re.escape(words)):
        make()


def test_decisions_keep_their_answers_in_order() -> None:
    assert list(SMALL[1].answers) == ["one CPU", "one GPU", "several devices"]
    assert SMALL[0].answers["yes"] == R("Keep the plain sum", "sec-scales")


def test_follow_guide_by_full_answers_and_unique_starts() -> None:
    rows = follow_guide(SMALL, {"scales": "no", "compute": "several devices"})
    assert [row["recommendation"] for row in rows] == ["Standardise the targets", "MirroredStrategy"]
    assert rows[0] == {"key": "scales", "question": "Are the losses on one scale?", "answer": "no, the units differ",
                       "recommendation": "Standardise the targets", "section": "sec-scales"}
    assert follow_guide(SMALL, {"compute": "one CPU"})[0]["answer"] == "one CPU"  # exact beats a start
    assert follow_guide(SMALL, {}) == []


@pytest.mark.parametrize(
    ("answers", "words"),
    [
        ({"compute": "one"}, "fits several answers"),
        ({"compute": "a TPU"}, "is not an answer"),
        ({"budget": "small"}, "no decisions ['budget']"),
        ({"scales": 1}, "must be a str"),
    ],
)
def test_follow_guide_refuses_unclear_answers(answers: dict, words: str) -> None:
    with pytest.raises((ValueError, TypeError), match=re.escape(words)):
        follow_guide(SMALL, answers)


def test_a_guide_needs_unique_keys() -> None:
    with pytest.raises(ValueError, match="own key"):
        guide_rows((SMALL[0], SMALL[0]))


def test_guide_rows_list_every_answer_and_the_end() -> None:
    rows = guide_rows(SMALL, end=END)
    assert len(rows) == 2 + 3 + 1
    assert rows[-1] == {"key": "", "question": "", "answer": "", "recommendation": END.text, "section": END.section}


def test_section_targets_and_missing_sections() -> None:
    markdown = ["(sec-scales)=\n## Scales\n", "text\n(sec-compute)=\n## Compute", "see (sec-measure)= inline"]
    assert section_targets(markdown) == {"sec-scales", "sec-compute"}
    assert missing_sections(SMALL, markdown) == []
    assert missing_sections(SMALL, markdown, end=END) == ["sec-measure"]


# ---------------------------------------------------------------- the drawing


def test_draw_flow_chart_draws_a_box_per_question_and_answer() -> None:
    ax = draw_flow_chart(SMALL, end=END)
    try:
        assert len(ax.patches) == 2 + 5 + 1
        texts = [text.get_text() for text in ax.texts]
        assert any(text.startswith("1. Are the losses") for text in texts)
        assert any(text.startswith("2. What compute") for text in texts)
        assert any("if several devices" in text for text in texts)
        arrows = [child for child in ax.get_children() if isinstance(child, matplotlib.text.Annotation)]
        assert len(arrows) == 5 + 1 + 1  # one per answer, the spine, the way to the end box
        assert ax.figure.get_size_inches()[0] == pytest.approx(8.0)
        assert ax.figure.get_facecolor()[:3] == (1.0, 1.0, 1.0)  # a light card in both page themes
    finally:
        plt.close(ax.figure)


def test_longer_texts_make_a_taller_chart() -> None:
    short = draw_flow_chart(SMALL[:1])
    wordy = Decision("scales", "Are the losses on one scale, or are some targets in other units than others?", {
        "yes": R("Keep the plain sum of the task losses, unweighted, as the article does, and train", "sec-scales"),
        "no, the units differ": R("Standardise the targets with the mean and the standard deviation of the "
                                  "training data, and map the predictions back", "sec-scales")})
    tall = draw_flow_chart((wordy,))
    try:
        assert tall.figure.get_size_inches()[1] > short.figure.get_size_inches()[1]
    finally:
        plt.close(short.figure)
        plt.close(tall.figure)


def test_draw_flow_chart_in_given_axes_and_without_numbers() -> None:
    figure, ax = plt.subplots(figsize=(8, 4))
    try:
        assert draw_flow_chart(SMALL, ax=ax, numbered=False) is ax
        assert any(text.get_text().startswith("Are the losses") for text in ax.texts)
    finally:
        plt.close(figure)


@pytest.mark.parametrize(
    ("options", "error"),
    [({"width": 2.0}, ValueError), ({"font_size": 30}, ValueError), ({"end": "measure"}, TypeError),
     ({"ax": "axes"}, TypeError), ({"numbered": "yes"}, TypeError)],
)
def test_draw_flow_chart_refuses_bad_options(options: dict, error: type) -> None:
    with pytest.raises(error):
        draw_flow_chart(SMALL, **options)
    plt.close("all")


# ---------------------------------------------------------------- chapter 11: the chart against the text


def _chapter() -> list:
    return nbformat.read(CHAPTER, as_version=4).cells


def _markdown(cells: list) -> list[str]:
    return [cell.source for cell in cells if cell.cell_type == "markdown"]


@pytest.fixture(scope="module")
def chapter_guide() -> tuple[tuple[Decision, ...], Recommendation]:
    """The guide as the chapter defines it: its code cells, run on their own."""
    cells = {cell.get("id"): cell for cell in _chapter()}
    namespace = {"Decision": Decision, "Recommendation": Recommendation, "guide_rows": guide_rows, "textwrap": textwrap,
                 "print": lambda *args, **kwargs: None}
    for cell_id in GUIDE_CELLS:
        assert cell_id in cells, f"chapter 11 has no cell {cell_id!r}; update GUIDE_CELLS"
        exec(cells[cell_id].source, namespace)  # the book's own notebook
    return namespace["GUIDE"], namespace["MEASURE"]


def test_every_recommendation_has_its_section_in_the_chapter(chapter_guide: tuple) -> None:
    guide, end = chapter_guide
    assert missing_sections(guide, _markdown(_chapter()), end=end) == []


def test_every_guide_section_of_the_chapter_has_a_box(chapter_guide: tuple) -> None:
    guide, end = chapter_guide
    named = {row["section"] for row in guide_rows(guide, end=end)}
    sections = {label for label in section_targets(_markdown(_chapter())) if label.startswith("ch11-")}
    assert sections <= named, f"sections without a box in the chart: {sorted(sections - named)}"


def test_sections_come_in_the_order_of_the_questions(chapter_guide: tuple) -> None:
    guide, end = chapter_guide
    order = list(dict.fromkeys(row["section"] for row in guide_rows(guide, end=end)))
    targets = [match.group(1) for text in _markdown(_chapter())
               for match in re.finditer(r"^\(([\w.-]+)\)=\s*$", text, re.MULTILINE)]
    assert [label for label in targets if label in order] == order
    headings = [re.search(r"^## (\d+)\. ", text, re.MULTILINE) for text in _markdown(_chapter())]
    numbers = [int(match.group(1)) for match in headings if match]
    assert numbers == list(range(1, len(order) + 1)), "the guide's sections are numbered 1, 2, ... in order"


def test_the_chart_is_a_numbered_figure_with_a_stored_image() -> None:
    cells = {cell.get("id"): cell for cell in _chapter()}
    chart = cells["c11-chart"]
    assert chart.metadata["mystnb"]["figure"]["name"] == "fig-ch11-guide"
    assert "draw_flow_chart(GUIDE, end=MEASURE)" in chart.source
    assert any("image/png" in output.get("data", {}) for output in chart.outputs), "run the chapter to store the chart"


def _book_targets() -> set[str]:
    """Every MyST target and numbered figure of the book's chapters and pages."""
    targets, figures = set(), set()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        targets |= section_targets(_markdown(cells))
        figures |= {cell.metadata["mystnb"]["figure"]["name"] for cell in cells
                    if "figure" in cell.get("metadata", {}).get("mystnb", {})}
    for path in sorted((ROOT / "book").glob("*.md")):
        targets |= section_targets(path.read_text(encoding="utf-8"))
    return targets | figures


def test_every_cross_reference_of_the_chapter_exists() -> None:
    text = "\n".join(_markdown(_chapter()))
    named = {match.group(2) for match in re.finditer(r"\{(ref|numref)\}`(?:[^`<]*<)?([\w.-]+)>?`", text)}
    missing = sorted(named - _book_targets())
    assert not missing, f"chapter 11 refers to targets that no page defines: {missing}"
