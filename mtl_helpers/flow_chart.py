"""A decision guide as data, and the flow chart drawn from it (chapter 11).

A guide is a sequence of :class:`Decision`: a question, and for each of its
answers a :class:`Recommendation`, what to try first and the MyST label of
the section that explains it and links to the evidence. The one data
structure serves four purposes, so the picture, the walk-through and the text
cannot drift apart:

* :func:`draw_flow_chart` draws it with Matplotlib: the questions down a
  spine of arrows, an arrow from each question to the recommendation of each
  answer, and a closing box (what to measure);
* :func:`follow_guide` walks it for one problem's answers;
* :func:`guide_rows` lists it as table rows;
* :func:`missing_sections` checks it against a chapter's markdown: every
  recommendation's section must be a ``(label)=`` target there.

Colours follow the book's figures (:data:`mtl_helpers.PALETTE`) on the white
figure background that both page themes show as a light card.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.patches import FancyBboxPatch

from mtl_helpers.runtime import PALETTE

__all__ = [
    "Decision",
    "Recommendation",
    "draw_flow_chart",
    "follow_guide",
    "guide_rows",
    "missing_sections",
    "section_targets",
]

#: A MyST target: a line ``(label)=`` of its own in a markdown cell.
_TARGET = re.compile(r"^\(([A-Za-z0-9][\w.-]*)\)=\s*$", re.MULTILINE)
_LABEL = re.compile(r"^[A-Za-z0-9][\w.-]*$")
_KEY = re.compile(r"^[A-Za-z_]\w*$")

# The chart's colours: questions as light blue cards with the palette's blue
# edge, recommendations white with a grey edge, the closing box green-edged.
_QUESTION_FILL, _QUESTION_EDGE = "#e8f1fa", PALETTE[0]
_ANSWER_FILL, _ANSWER_EDGE = "white", "#6b6b6b"
_END_FILL, _END_EDGE = "#e6f5ef", PALETTE[2]
_ANSWER_TEXT = "#3d3d3d"


def _text(value: object, *, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__} {value!r}")
    if not value.strip():
        raise ValueError(f"{name} must not be empty; write what the box should say")
    return value.strip()


@dataclass(frozen=True)
class Recommendation:
    """What to try first, and the section of the text that explains it.

    Parameters
    ----------
    text : str
        The recommendation as the chart shows it, e.g. ``"Standardise the targets"``.
    section : str
        The MyST label of the section that explains it and links to its
        evidence, e.g. ``"ch11-scales"`` for a section that starts with the
        line ``(ch11-scales)=``.

    Examples
    --------
    >>> Recommendation("Standardise the targets", "ch11-scales").section
    'ch11-scales'
    """

    text: str
    section: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", _text(self.text, name="text"))
        section = _text(self.section, name="section")
        if not _LABEL.match(section):
            raise ValueError(
                f"section must be a MyST label such as 'ch11-scales' (letters, digits, '-', '_', '.'), got {section!r}"
            )
        object.__setattr__(self, "section", section)


@dataclass(frozen=True, init=False)
class Decision:
    """One question of a guide, with a recommendation for each answer.

    Parameters
    ----------
    key : str
        A short identifier, used by :func:`follow_guide`, e.g. ``"scales"``.
    question : str
        The question as the chart shows it.
    answers : dict of str to Recommendation
        Each answer, in the order the chart draws them, and what it leads to.

    Examples
    --------
    >>> scales = Decision("scales", "Are the losses on one scale?", {
    ...     "yes": Recommendation("Keep the plain sum", "ch11-scales"),
    ...     "no": Recommendation("Standardise the targets", "ch11-scales")})
    >>> list(scales.answers), scales.answers["no"].text
    (['yes', 'no'], 'Standardise the targets')
    """

    key: str
    question: str
    choices: tuple[tuple[str, Recommendation], ...]

    def __init__(self, key: str, question: str, answers: Mapping[str, Recommendation]) -> None:
        key = _text(key, name="key")
        if not _KEY.match(key):
            raise ValueError(f"key must be an identifier such as 'scales', got {key!r}")
        if not isinstance(answers, Mapping) or not answers:
            raise ValueError(f"answers must be a non-empty dict {{answer: Recommendation}}, got {answers!r}")
        choices = []
        for answer, recommendation in answers.items():
            if not isinstance(recommendation, Recommendation):
                raise TypeError(
                    f"answer {answer!r} of {key!r} must lead to a Recommendation(text, section), "
                    f"got {type(recommendation).__name__}"
                )
            choices.append((_text(answer, name=f"an answer of {key!r}"), recommendation))
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "question", _text(question, name="question"))
        object.__setattr__(self, "choices", tuple(choices))

    @property
    def answers(self) -> dict[str, Recommendation]:
        """``{answer: Recommendation}``, in the chart's order."""
        return dict(self.choices)


def _decisions(decisions: Iterable[Decision]) -> tuple[Decision, ...]:
    found = tuple(decisions) if not isinstance(decisions, Decision) else (decisions,)
    if not found:
        raise ValueError("the guide has no decisions; pass a sequence of Decision(key, question, answers)")
    for decision in found:
        if not isinstance(decision, Decision):
            raise TypeError(f"every item of the guide must be a Decision, got {type(decision).__name__}")
    keys = [decision.key for decision in found]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise ValueError(f"every decision needs its own key; {repeated} appear more than once")
    return found


def follow_guide(decisions: Sequence[Decision], answers: Mapping[str, str]) -> list[dict[str, str]]:
    """Walk a guide for one problem: the recommendation of each answered question.

    Parameters
    ----------
    decisions : sequence of Decision
    answers : dict of str to str
        ``{decision key: answer}``. An answer may be given by its start, as
        long as that start fits one answer only (``"no"`` for ``"no, the
        units differ"``). Questions left out are skipped.

    Returns
    -------
    list of dict
        One row per answered question, in the guide's order, with the keys
        ``"key"``, ``"question"``, ``"answer"`` (in full), ``"recommendation"``
        and ``"section"``.

    Examples
    --------
    >>> guide = [Decision("scales", "Are the losses on one scale?", {
    ...     "yes": Recommendation("Keep the plain sum", "ch11-scales"),
    ...     "no, the units differ": Recommendation("Standardise the targets", "ch11-scales")})]
    >>> [row["recommendation"] for row in follow_guide(guide, {"scales": "no"})]
    ['Standardise the targets']
    """
    guide = _decisions(decisions)
    if not isinstance(answers, Mapping):
        raise TypeError(f"answers must be a dict {{decision key: answer}}, got {type(answers).__name__}")
    keys = [decision.key for decision in guide]
    unknown = sorted(set(answers) - set(keys))
    if unknown:
        raise ValueError(f"the guide has no decisions {unknown}; its keys are {keys}")
    rows = []
    for decision in guide:
        if decision.key not in answers:
            continue
        given = answers[decision.key]
        if not isinstance(given, str):
            raise TypeError(f"the answer to {decision.key!r} must be a str, got {type(given).__name__}")
        options = decision.answers
        matches = [answer for answer in options if answer == given]
        matches = matches or [answer for answer in options if answer.lower().startswith(given.strip().lower())]
        if len(matches) != 1:
            problem = "fits several answers" if matches else "is not an answer"
            raise ValueError(f"{given!r} {problem} of {decision.key!r}; its answers are {list(options)}")
        chosen = options[matches[0]]
        rows.append({"key": decision.key, "question": decision.question, "answer": matches[0],
                     "recommendation": chosen.text, "section": chosen.section})
    return rows


def guide_rows(decisions: Sequence[Decision], *, end: Recommendation | None = None) -> list[dict[str, str]]:
    """Every question and answer of a guide as table rows (and the closing box, if any).

    Returns
    -------
    list of dict
        One row per answer, with the keys ``"key"``, ``"question"``,
        ``"answer"``, ``"recommendation"`` and ``"section"``; the closing box
        has empty ``key``, ``question`` and ``answer``.

    Examples
    --------
    >>> guide = [Decision("scales", "One scale?", {"yes": Recommendation("Plain sum", "ch11-scales")})]
    >>> guide_rows(guide)[0]["recommendation"]
    'Plain sum'
    """
    rows = [
        {"key": decision.key, "question": decision.question, "answer": answer,
         "recommendation": recommendation.text, "section": recommendation.section}
        for decision in _decisions(decisions)
        for answer, recommendation in decision.choices
    ]
    if end is not None:
        if not isinstance(end, Recommendation):
            raise TypeError(f"end must be a Recommendation or None, got {type(end).__name__}")
        rows.append({"key": "", "question": "", "answer": "", "recommendation": end.text, "section": end.section})
    return rows


def section_targets(markdown: str | Iterable[str]) -> set[str]:
    """The MyST targets defined in markdown: every label of a line ``(label)=``.

    Examples
    --------
    >>> sorted(section_targets(["(ch11-scales)=\\n## Label scales", "text (not-a-target)= here"]))
    ['ch11-scales']
    """
    sources = [markdown] if isinstance(markdown, str) else list(markdown)
    for source in sources:
        if not isinstance(source, str):
            raise TypeError(f"markdown must be a str or strings (cell sources), got {type(source).__name__}")
    return {match.group(1) for source in sources for match in _TARGET.finditer(source)}


def missing_sections(
    decisions: Sequence[Decision], markdown: str | Iterable[str], *, end: Recommendation | None = None
) -> list[str]:
    """The sections a guide names that the markdown does not define, sorted (empty when all are there).

    Examples
    --------
    >>> guide = [Decision("scales", "One scale?", {"yes": Recommendation("Plain sum", "ch11-scales"),
    ...                                            "no": Recommendation("Standardise", "ch11-units")})]
    >>> missing_sections(guide, "(ch11-scales)=\\n## Label scales")
    ['ch11-units']
    """
    named = {row["section"] for row in guide_rows(decisions, end=end)}
    return sorted(named - section_targets(markdown))


# ----------------------------------------------------------------------------
# Drawing
# ----------------------------------------------------------------------------

_LINE = 0.175  # height of a line of text at the chart's font sizes, in inches
_PAD = 0.09  # space between a box's edge and its text, in inches
_GAP = 0.1  # between the answer boxes of one question
_ROW_GAP = 0.26  # between two questions (room for the spine's arrow)
_BOLD, _PLAIN = 0.085, 0.072  # inches per character of bold and of plain text at 9 points


def _wrapped(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width=width, break_on_hyphens=False) or [""]


def _box(ax: Axes, x: float, y: float, width: float, height: float, fill: str, edge: str) -> None:
    """A rounded box with its lower left corner at (x, y)."""
    ax.add_patch(FancyBboxPatch((x, y), width, height, boxstyle="round,pad=0,rounding_size=0.08",
                                facecolor=fill, edgecolor=edge, linewidth=1.2))


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float]) -> None:
    ax.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "-|>", "color": "#4d4d4d", "linewidth": 1.1,
                                                      "shrinkA": 0, "shrinkB": 0, "mutation_scale": 12})


def draw_flow_chart(
    decisions: Sequence[Decision],
    *,
    end: Recommendation | None = None,
    ax: Axes | None = None,
    width: float = 8.0,
    font_size: float = 9.0,
    numbered: bool = True,
) -> Axes:
    """Draw a guide as a flow chart: questions down a spine, one arrow per answer to its recommendation.

    Each question is a light blue box on the left; an arrow runs from it to a
    white box per answer, which names the answer (in italics) above the
    recommendation; an arrow leads down to the next question, and from the
    last question to the closing box ``end``, when given.

    Parameters
    ----------
    decisions : sequence of Decision
    end : Recommendation, optional
        A closing box across the chart's width (e.g. what to measure).
    ax : matplotlib Axes, optional
        Default: a new figure of ``width`` inches and the height the chart
        needs, with the Axes filling it. Axes of your own are drawn in
        inches too (set their figure's size to fit).
    width : float, default 8.0
        Width of the chart in inches.
    font_size : float, default 9.0
        Points; the answers' labels are one point smaller.
    numbered : bool, default True
        Number the questions (1, 2, ...), so that a text can name them.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> guide = [Decision("scales", "Are the losses on one scale?", {
    ...     "yes": Recommendation("Keep the plain sum", "ch11-scales"),
    ...     "no": Recommendation("Standardise the targets", "ch11-scales")})]
    >>> ax = draw_flow_chart(guide, end=Recommendation("Measure against baselines", "ch11-measure"))
    >>> len(ax.patches)  # one question, two answers, the closing box
    4
    >>> plt.close(ax.figure)
    """
    guide = _decisions(decisions)
    if end is not None and not isinstance(end, Recommendation):
        raise TypeError(f"end must be a Recommendation or None, got {type(end).__name__}")
    if isinstance(width, bool) or not isinstance(width, int | float) or not 4.0 <= width <= 20.0:
        raise ValueError(f"width must be a number of inches between 4 and 20, got {width!r}")
    if isinstance(font_size, bool) or not isinstance(font_size, int | float) or not 5.0 <= font_size <= 16.0:
        raise ValueError(f"font_size must be between 5 and 16 points, got {font_size!r}")
    scale = font_size / 9.0  # line heights and characters per line follow the font
    line, pad = _LINE * scale, _PAD * scale
    question_width = 0.36 * width
    answer_left = question_width + 0.14 * width
    answer_width = width - answer_left - 0.05
    characters = {"question": int((question_width - 2 * pad) / (_BOLD * scale)),
                  "answer": int((answer_width - 2 * pad) / (_PLAIN * scale))}

    # Layout, top to bottom in inches: each question's band and its boxes.
    if not isinstance(numbered, bool):
        raise TypeError(f"numbered must be True or False, got {numbered!r}")
    layout, y = [], 0.0
    for number, decision in enumerate(guide, start=1):
        question = f"{number}. {decision.question}" if numbered else decision.question
        question_lines = _wrapped(question, characters["question"])
        boxes = []
        for answer, recommendation in decision.choices:
            answer_lines = _wrapped(f"if {answer}", characters["answer"])
            text_lines = _wrapped(recommendation.text, characters["answer"])
            boxes.append((answer_lines, text_lines, (len(answer_lines) + len(text_lines)) * line + 2 * pad))
        question_height = len(question_lines) * line + 2 * pad
        band = max(question_height, sum(box[2] for box in boxes) + _GAP * (len(boxes) - 1))
        layout.append((question_lines, question_height, boxes, y, band))
        y += band + _ROW_GAP
    end_lines = _wrapped(end.text, int((width - 0.1 - 2 * pad) / (_BOLD * scale))) if end is not None else []
    end_height = len(end_lines) * line + 2 * pad if end is not None else 0.0
    height = y + end_height if end is not None else y - _ROW_GAP

    if ax is None:
        figure = plt.figure(figsize=(width, height + 0.1), layout="none")
        ax = figure.add_axes((0.0, 0.0, 1.0, 1.0))
    elif not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    ax.set_xlim(0.0, width)
    ax.set_ylim(height + 0.05, -0.05)  # y grows downwards: the first question on top
    ax.axis("off")

    previous_bottom = None
    for question_lines, question_height, boxes, top, band in layout:
        q_top = top + (band - question_height) / 2
        _box(ax, 0.05, q_top, question_width - 0.05, question_height, _QUESTION_FILL, _QUESTION_EDGE)
        ax.text(0.05 + pad, q_top + pad, "\n".join(question_lines), va="top", ha="left", fontsize=font_size,
                fontweight="bold", linespacing=1.25)
        centre = (question_width, q_top + question_height / 2)
        if previous_bottom is not None:
            _arrow(ax, (question_width / 2, previous_bottom), (question_width / 2, q_top))
        previous_bottom = q_top + question_height
        stack = sum(box[2] for box in boxes) + _GAP * (len(boxes) - 1)
        b_top = top + (band - stack) / 2
        for answer_lines, text_lines, box_height in boxes:
            _box(ax, answer_left, b_top, answer_width, box_height, _ANSWER_FILL, _ANSWER_EDGE)
            ax.text(answer_left + pad, b_top + pad, "\n".join(answer_lines), va="top", ha="left",
                    fontsize=font_size - 1, fontstyle="italic", color=_ANSWER_TEXT, linespacing=1.25)
            ax.text(answer_left + pad, b_top + pad + len(answer_lines) * line, "\n".join(text_lines), va="top",
                    ha="left", fontsize=font_size, linespacing=1.25)
            _arrow(ax, centre, (answer_left, b_top + box_height / 2))
            b_top += box_height + _GAP
    if end is not None:
        end_top = height - end_height
        _box(ax, 0.05, end_top, width - 0.1, end_height, _END_FILL, _END_EDGE)
        ax.text(0.05 + pad, end_top + pad, "\n".join(end_lines), va="top", ha="left", fontsize=font_size,
                fontweight="bold", linespacing=1.25)
        _arrow(ax, (question_width / 2, previous_bottom), (question_width / 2, end_top))
    return ax
