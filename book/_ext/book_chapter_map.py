"""Sphinx directives for the instructor guide, read from the chapter notebooks at build time.

``{chapter-map}``
    The chapters' dependency figure: one box per chapter, an arrow from each
    prerequisite to the chapter that needs it. The edges come from the
    "Prerequisites" links in each chapter's title cell; the figure is drawn
    with Matplotlib when the book is built and inlined as SVG (its boxes link
    to the chapters). Option ``:caption:``.

``{chapter-guide}``
    For every chapter: a section with its title, article step, time,
    prerequisites, objectives, exercises (id, difficulty, task) and a
    suggested assignment.

``{exercise-table}``
    Every chapter's exercises in one table; with an argument (``ch3`` or
    ``3``) only that chapter's.

The chapters are the documents ``notebooks/chN_*`` of the book's table of
contents, so the guide never disagrees with them. Before any chapter exists
each directive renders a short note, never a warning. The functions without
a Sphinx argument are pure and unit-tested in ``tests/unit/test_chapter_map.py``. Reading the
chapters is ``book_chapters.py``'s job.
"""

from __future__ import annotations

import html
import io
import re
import textwrap
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from book_chapters import CHAPTER_STEM, LINK, Chapter, Exercise, read_chapter  # book/_ext, on the path with this file

__all__ = [
    "chapter_guide_markdown",
    "dependency_levels",
    "chapter_map_figure",
    "draw_chapter_map",
    "exercise_table_markdown",
    "skip_lanes",
    "suggested_assignment",
]

#: Colours of the book's palette (mtl_helpers.runtime.PALETTE; not imported, to keep TensorFlow out of the build).
BLUE, GREY, LIGHT = "#0072B2", "#6b6b6b", "#e8f1fa"


# --------------------------------------------------------------------------- the map


def dependency_levels(chapters: Sequence[Chapter]) -> dict[str, int]:
    """Each chapter's level: 0 without (known) prerequisites, else one more than its deepest prerequisite.

    Prerequisites that are not among ``chapters`` are ignored; a cycle is
    broken where it is found rather than looping.
    """
    known = {chapter.stem: chapter for chapter in chapters}
    levels: dict[str, int] = {}

    def level(stem: str, visiting: frozenset[str]) -> int:
        if stem in levels:
            return levels[stem]
        parents = [p for p in known[stem].prerequisites if p in known and p not in visiting]
        value = 1 + max((level(p, visiting | {stem}) for p in parents), default=-1)
        levels[stem] = value
        return value

    for chapter in chapters:
        level(chapter.stem, frozenset())
    return levels


def _layout(chapters: Sequence[Chapter]) -> tuple[dict[str, tuple[float, float]], int, int]:
    levels = dependency_levels(chapters)
    rows: dict[int, list[Chapter]] = {}
    for chapter in sorted(chapters, key=lambda c: (c.number, c.stem)):
        rows.setdefault(levels[chapter.stem], []).append(chapter)
    width = max(len(row) for row in rows.values())
    positions = {}
    for level, row in rows.items():
        offset = (width - len(row)) / 2
        for column, chapter in enumerate(row):
            positions[chapter.stem] = (offset + column, -float(level))
    return positions, width, len(rows)


def _edges(chapters: Sequence[Chapter]) -> list[tuple[str, str]]:
    known = {chapter.stem for chapter in chapters}
    return [(p, chapter.stem) for chapter in chapters for p in chapter.prerequisites if p in known]


def map_description(chapters: Sequence[Chapter]) -> str:
    """The map in words, for screen readers: "Chapter 2 (The two-head graph) needs chapter 1. ..."."""
    numbers = {chapter.stem: chapter.number for chapter in chapters}
    sentences = []
    for chapter in sorted(chapters, key=lambda c: c.number):
        needs = [numbers[p] for p in chapter.prerequisites if p in numbers]
        if needs:
            listed = " and ".join(f"chapter {n}" for n in needs)
            sentences.append(f"Chapter {chapter.number} ({chapter.title}) needs {listed}.")
        else:
            sentences.append(f"Chapter {chapter.number} ({chapter.title}) needs no other chapter.")
    return " ".join(sentences)


_MAP_STYLE = {
    "svg.fonttype": "none",  # real text: searchable, scalable, read by screen readers
    "svg.hashsalt": "chapter-map",  # deterministic ids
    "font.family": "DejaVu Sans",
    "font.size": 10,
}


def skip_lanes(spans: Sequence[tuple[int, int]]) -> list[int]:
    """A lane (0, 1, ...) for each arrow that skips levels, so that no two arrows in one lane overlap.

    ``spans`` are (parent level, child level) pairs. Arrows that only touch
    at a level (one ends where the other starts) may share a lane. Shorter
    arrows get the inner lanes.

    Examples
    --------
    >>> skip_lanes([(0, 2), (1, 3), (2, 4)])
    [0, 1, 0]
    """
    lanes: list[int] = [0] * len(spans)
    taken: dict[int, list[tuple[int, int]]] = {}
    for index in sorted(range(len(spans)), key=lambda i: (spans[i][1] - spans[i][0], spans[i])):
        top, bottom = spans[index]
        lane = 0
        while any(max(top, other_top) < min(bottom, other_bottom) for other_top, other_bottom in taken.get(lane, [])):
            lane += 1
        taken.setdefault(lane, []).append((top, bottom))
        lanes[index] = lane
    return lanes


def chapter_map_figure(chapters: Sequence[Chapter], *, link: Callable[[Chapter], str] | None = None) -> Any:
    """Draw the chapter dependency map on a new Matplotlib ``Figure`` (no pyplot state) and return it.

    Levels run top to bottom (a chapter sits below everything it needs);
    arrows point from a prerequisite to the chapter that needs it. An arrow
    that skips a level between two chapters of one column runs in a lane to
    the right of the boxes (see :func:`skip_lanes`). Each box shows the
    chapter's number, title, reading time and number of exercises; with
    ``link``, each box links to ``link(chapter)`` (in SVG output).
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    from matplotlib.path import Path as MplPath

    if not chapters:
        raise ValueError("no chapters to draw")
    positions, width, height = _layout(chapters)
    box_w, box_h, dx, dy, inches = 2.5, 0.78, 3.0, 1.1, 0.95  # data units; inches per data unit
    lane_gap, port = 0.28, 0.17  # lane spacing; how far from a box's middle an arrow leaves or enters its side
    centre = {stem: (x * dx, y * dy) for stem, (x, y) in positions.items()}
    level = {stem: -round(y) for stem, (_, y) in positions.items()}
    edges = _edges(chapters)
    routed = [(p, c) for p, c in edges if level[c] - level[p] > 1 and positions[p][0] == positions[c][0]]
    lanes = dict(zip(routed, skip_lanes([(level[p], level[c]) for p, c in routed]), strict=True))
    margin = (0.25 + lane_gap * (max(lanes.values()) + 1)) if lanes else 0.0
    x_min, x_max = -box_w / 2 - 0.1, (width - 1) * dx + box_w / 2 + max(0.1, margin + 0.1)
    y_min, y_max = -(height - 1) * dy - dy / 2 + 0.1, dy / 2 - 0.1
    figure = Figure(figsize=((x_max - x_min) * inches, (y_max - y_min) * inches), facecolor="white")
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(x_min, x_max)
    axes.set_ylim(y_min, y_max)
    axes.axis("off")
    for chapter in chapters:
        x, y = centre[chapter.stem]
        box = FancyBboxPatch(
            (x - box_w / 2, y - box_h / 2), box_w, box_h, boxstyle="round,pad=0.02,rounding_size=0.12",
            facecolor=LIGHT, edgecolor=BLUE, linewidth=1.4,
        )
        if link is not None and link(chapter):
            box.set_url(link(chapter))
        axes.add_patch(box)
        title = textwrap.shorten(f"{chapter.number}. {chapter.title}", width=48, placeholder=" …")
        lines = textwrap.wrap(title, width=26)[:2]
        axes.text(x, y + 0.12, "\n".join(lines), ha="center", va="center", fontsize=9.5, fontweight="bold",
                  color="#1a1a1a", linespacing=1.15)
        details = []
        if chapter.minutes is not None:
            details.append(f"{chapter.minutes} min")
        if chapter.exercises:
            details.append(f"{len(chapter.exercises)} exercise{'s' if len(chapter.exercises) > 1 else ''}")
        axes.text(x, y - box_h / 2 + 0.13, " · ".join(details), ha="center", va="center", fontsize=8, color=GREY)
    arrow = {"arrowstyle": "-|>", "mutation_scale": 12, "color": GREY, "linewidth": 1.2}
    for parent, child in edges:
        (x0, y0), (x1, y1) = centre[parent], centre[child]
        if (parent, child) in lanes:  # out of the parent's right side, down its lane, into the child's side
            side = x0 + box_w / 2 + 0.02
            lane_x = side + 0.25 + lane_gap * lanes[(parent, child)]
            path = MplPath([(side, y0 - port), (lane_x, y0 - port), (lane_x, y1 + port), (side + 0.01, y1 + port)])
            axes.add_patch(FancyArrowPatch(path=path, **arrow))
        else:
            axes.add_patch(FancyArrowPatch((x0, y0 - box_h / 2), (x1, y1 + box_h / 2), shrinkA=2, shrinkB=2, **arrow))
    return figure


def draw_chapter_map(chapters: Sequence[Chapter], *, link: Callable[[Chapter], str] | None = None) -> str:
    """The chapter map (:func:`chapter_map_figure`) as SVG markup, without the XML prologue."""
    import matplotlib

    with matplotlib.rc_context(_MAP_STYLE):
        figure = chapter_map_figure(chapters, link=link)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def accessible_svg(svg: str, *, title: str, description: str, element_id: str = "chapter-map") -> str:
    """Give an inline SVG a title and description for screen readers, and let it shrink to the page width."""
    opening_end = svg.index(">", svg.index("<svg")) + 1
    opening = svg[:opening_end]
    opening = re.sub(r'\swidth="[^"]*"', "", opening, count=1)
    opening = re.sub(r'\sheight="[^"]*"', "", opening, count=1)
    view_box = re.search(r'viewBox="[\d.\s]+"', opening)
    natural_width = float(view_box.group(0).split()[2]) if view_box else 300.0
    opening = opening.replace(
        "<svg",
        f'<svg aria-labelledby="{element_id}-title {element_id}-desc" '
        f'style="width:100%;max-width:{natural_width * 1.25:.0f}pt;height:auto"',
        1,
    )
    labels = (
        f'<title id="{element_id}-title">{html.escape(title)}</title>'
        f'<desc id="{element_id}-desc">{html.escape(description)}</desc>'
    )
    return opening + labels + svg[opening_end:]


# --------------------------------------------------------------------------- the guide's text (MyST markdown)


def _stem_number(stem: str) -> int:
    match = CHAPTER_STEM.match(stem)
    return int(match.group(1)) if match else 0


def _escape_cell(text: str) -> str:
    return text.replace("|", "\\|")


def _relink(text: str, known: Iterable[str]) -> str:
    """Point chapter links at the chapters' documents; unknown chapters become plain text."""
    known = set(known)

    def replace(match: re.Match[str]) -> str:
        label, target = match.group(1), match.group(2)
        stem = CHAPTER_STEM.search(target)
        if stem is None or "://" in target:
            return match.group(0)
        name = stem.group(0)
        return f"[{label}](/notebooks/{name}.ipynb)" if name in known else label

    return LINK.sub(replace, text)


def exercise_table_markdown(chapters: Sequence[Chapter], *, with_chapter: bool = True) -> str:
    """A MyST table of exercises: id, difficulty, task (and the chapter, when ``with_chapter``)."""
    rows = [(chapter, exercise) for chapter in chapters for exercise in chapter.exercises]
    if not rows:
        return "No exercises yet."
    header = ["Chapter"] * with_chapter + ["Exercise", "Difficulty", "Task"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for chapter, exercise in rows:
        cells = [f"{{doc}}`{chapter.number} </{chapter.docname}>`"] * with_chapter
        cells += [f"`{exercise.id}`", exercise.difficulty, _escape_cell(exercise.title)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _ids(exercises: Sequence[Exercise]) -> str:
    return ", ".join(f"`{exercise.id}` ({'★' * exercise.stars or '—'})" for exercise in exercises)


def suggested_assignment(chapter: Chapter) -> str:
    """One paragraph: read before class, core exercises as homework, the harder ones as a challenge.

    Exercises with one or two stars are the core; three-star exercises are a
    challenge, unless the chapter has no other exercises.
    """
    reading = "Before the session, students read the chapter and run its code"
    reading += f" ({chapter.time})." if chapter.time else "."
    core = [exercise for exercise in chapter.exercises if exercise.stars < 3]
    challenge = [exercise for exercise in chapter.exercises if exercise.stars >= 3]
    if not core:
        core, challenge = challenge, []
    parts = [reading]
    if core:
        parts.append(f"Set {_ids(core)} as homework, from the student edition (`make student`).")
    if challenge:
        parts.append(f"Offer {_ids(challenge)} as a challenge for students who finish early.")
    return " ".join(parts)


def chapter_guide_markdown(chapters: Sequence[Chapter], *, heading: str = "###") -> str:
    """The per-chapter part of the instructor guide, as MyST markdown."""
    known = [chapter.stem for chapter in chapters]
    numbers = {chapter.stem: chapter.number for chapter in chapters}
    blocks = []
    for chapter in sorted(chapters, key=lambda c: (c.number, c.stem)):
        lines = [f"{heading} {chapter.number}. {chapter.title}", ""]
        facts = [f"**Chapter:** {{doc}}`{chapter.title} </{chapter.docname}>`"]
        if chapter.article_step:
            facts.append(f"**Article step:** {_relink(chapter.article_step, known)}")
        if chapter.time:
            facts.append(f"**Time:** {chapter.time}")
        needs = [
            f"{{doc}}`chapter {numbers[p]} </notebooks/{p}>`" if p in numbers else f"chapter {_stem_number(p)}"
            for p in chapter.prerequisites
        ]
        facts.append("**Prerequisites:** " + (", ".join(needs) if needs else "none"))
        lines += [f"- {fact}" for fact in facts]
        if chapter.objectives:
            lines += ["", "Students will be able to:", ""]
            lines += [f"{number}. {_relink(objective, known)}" for number, objective in enumerate(chapter.objectives, 1)]
        lines += ["", exercise_table_markdown([chapter], with_chapter=False)]
        lines += ["", f"**Suggested assignment.** {suggested_assignment(chapter)}", ""]
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


# --------------------------------------------------------------------------- Sphinx


def _chapters_of(env: Any) -> list[Chapter]:
    """The chapter notebooks among the book's documents, read from their files."""
    chapters = []
    for docname in sorted(env.found_docs):
        if not re.fullmatch(r"notebooks/ch\d+_[\w-]+", docname):
            continue
        path = Path(env.doc2path(docname))
        if path.suffix != ".ipynb" or not path.is_file():
            continue
        env.note_dependency(str(path))
        chapters.append(read_chapter(path))
    return sorted(chapters, key=lambda chapter: (chapter.number, chapter.stem))


NO_CHAPTERS = "The book has no chapters yet: this part of the guide fills in as chapters are added."


def setup(app: Any) -> dict[str, Any]:
    """Register the directives with Sphinx."""
    from docutils import nodes
    from docutils.parsers.rst import directives
    from docutils.statemachine import StringList
    from sphinx.util.docutils import SphinxDirective

    class _MarkdownDirective(SphinxDirective):
        def _parse(self, markdown: str, *, titles: bool = False) -> list[Any]:
            container = nodes.section() if titles else nodes.container()
            self.state.nested_parse(StringList(markdown.splitlines(), source=self.get_source_info()[0]), 0,
                                    container, match_titles=titles)
            return list(container.children)

    class ChapterMap(SphinxDirective):
        has_content = False
        option_spec: ClassVar[dict[str, Any]] = {"caption": directives.unchanged}

        def run(self) -> list[Any]:
            chapters = _chapters_of(self.env)
            if not chapters:
                return [nodes.paragraph(text=NO_CHAPTERS)]
            builder = self.env.app.builder

            def link(chapter: Chapter) -> str:
                try:
                    return builder.get_relative_uri(self.env.docname, chapter.docname)
                except Exception:  # builders without pages (e.g. linkcheck): no links
                    return ""

            svg = draw_chapter_map(chapters, link=link)
            svg = accessible_svg(svg, title="Chapter map", description=map_description(chapters))
            figure = nodes.figure(classes=["chapter-map"], align="center")
            figure += nodes.raw("", f'<div class="chapter-map-svg">{svg}</div>', format="html")
            caption = self.options.get("caption")
            if caption:
                figure += nodes.caption(caption, caption)
            return [figure]

    class ChapterGuide(_MarkdownDirective):
        has_content = False

        def run(self) -> list[Any]:
            chapters = _chapters_of(self.env)
            if not chapters:
                return [nodes.paragraph(text=NO_CHAPTERS)]
            return self._parse(chapter_guide_markdown(chapters), titles=True)

    class ExerciseTable(_MarkdownDirective):
        has_content = False
        optional_arguments = 1

        def run(self) -> list[Any]:
            chapters = _chapters_of(self.env)
            if self.arguments:
                wanted = self.arguments[0].strip()
                chapters = [c for c in chapters if wanted in (c.stem, str(c.number), f"ch{c.number}")]
            if not chapters:
                return [nodes.paragraph(text=NO_CHAPTERS)]
            return self._parse(exercise_table_markdown(chapters, with_chapter=not self.arguments))

    app.add_directive("chapter-map", ChapterMap)
    app.add_directive("chapter-guide", ChapterGuide)
    app.add_directive("exercise-table", ExerciseTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
