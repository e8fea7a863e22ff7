"""The chapters as the instructor guide reads them: title cell fields and exercises (book/_ext).

A chapter notebook's title cell lists its article step, time,
prerequisites and objectives; its exercise headings and self-check calls
(``mtl_helpers.check("chN.exM", ...)``) name its exercises. :func:`read_chapter`
turns a notebook file into a :class:`Chapter`; ``book_chapter_map`` draws
and tabulates them. Pure functions, unit-tested in
``tests/unit/test_chapter_map.py``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CHAPTER_STEM", "DIFFICULTY", "LINK", "Chapter", "Exercise", "parse_exercises", "parse_title_cell", "read_chapter"]

DIFFICULTY = {1: "easy", 2: "medium", 3: "harder"}
#: A chapter's file stem, ``chN_name``.
CHAPTER_STEM = re.compile(r"\bch(\d+)_[\w-]+")
_FIELD = re.compile(r"\*\*\s*(Article(?: step)?|Time|Prerequisites|Objectives)\s*:?\s*\*\*\s*:?", re.IGNORECASE)
_CITATION = re.compile(r"\s*\{(?:foot)?cite(?::\w+)?\}`[^`]*`")
#: A markdown link ``[text](target)``.
LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_CHECK_ID = re.compile(r"(?<![\w.])(?:mtl_helpers\.)?check\(\s*[\"'](ch\d+\.ex\d+)[\"']")
_EXERCISE = re.compile(r"Exercise\s+\d+(?:\.\d+)?")
_DIFFICULTY_WORDS = re.compile(r"^(?:easy|medium|hard|harder|difficult|advanced|challenge)$", re.IGNORECASE)


@dataclass(frozen=True)
class Exercise:
    """One exercise of a chapter: its check id, difficulty (0 to 3 stars) and a short title."""

    id: str
    stars: int
    title: str

    @property
    def difficulty(self) -> str:
        """Stars and a word, e.g. "★★ medium"; an em dash when the chapter gives none."""
        if not self.stars:
            return "—"
        return "★" * self.stars + (f" {DIFFICULTY[self.stars]}" if self.stars in DIFFICULTY else "")


@dataclass(frozen=True)
class Chapter:
    """What the instructor guide needs from one chapter notebook."""

    stem: str
    number: int
    title: str
    article_step: str = ""
    time: str = ""
    prerequisites: tuple[str, ...] = ()
    prerequisites_text: str = ""
    objectives: tuple[str, ...] = ()
    exercises: tuple[Exercise, ...] = field(default_factory=tuple)

    @property
    def docname(self) -> str:
        return f"notebooks/{self.stem}"

    @property
    def minutes(self) -> int | None:
        """The reading time in minutes, when the time says "about N minutes"."""
        match = re.search(r"(\d+)\s*(?:min|minutes)\b", self.time)
        return int(match.group(1)) if match else None


# --------------------------------------------------------------------------- reading chapters


def _sources(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _tags(cell: dict[str, Any]) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _one_line(text: str) -> str:
    text = re.sub(r"\s*\|\s*$", "", text.strip())  # a table row's closing pipe
    return re.sub(r"\s+", " ", text.strip(" |\n")).strip()


def _fields(source: str) -> dict[str, str]:
    """The labelled values of a title cell: ``**Time:** about ...`` -> {"time": "about ..."}."""
    matches = list(_FIELD.finditer(source))
    values = {}
    for match, following in zip(matches, [*matches[1:], None], strict=False):
        end = following.start() if following else len(source)
        label = match.group(1).lower().split()[0]  # "article step" -> "article"
        values[label] = source[match.end() : end].rstrip().rstrip("-|").rstrip()
    return values


def _objectives(text: str) -> tuple[str, ...]:
    """Numbered (or bulleted) items; continuation lines join their item."""
    items: list[str] = []
    current: list[str] | None = None
    for line in text.splitlines():
        item = re.match(r"^\s*(?:\d+[.)]|[-*+])\s+(.*)$", line)
        if item:
            if current is not None:
                items.append(" ".join(current))
            current = [item.group(1).strip()]
        elif current is not None and line.strip():
            current.append(line.strip())
    if current is not None:
        items.append(" ".join(current))
    if not items:  # a table cell or one sentence: split "1. a 2. b" in one line
        parts = re.split(r"(?:^|\s|<br\s*/?>)\d+[.)]\s+", _one_line(text))
        items = [part for part in parts[1:] if part.strip()] or ([_one_line(text)] if text.strip() else [])
    return tuple(re.sub(r"[;,.]\s*(?:and)?\s*$", "", item.strip()).strip() for item in items)


def parse_title_cell(source: str, stem: str) -> Chapter:
    """Read a chapter's title cell: "# N. Title", then the Article step, Time, Prerequisites and Objectives.

    The labels may be list items (``- **Time:** ...``) or table rows
    (``| **Time** | ... |``). Missing fields are left empty; prerequisites
    are the chapter stems (``ch1_computation_graphs``) of the links in the
    Prerequisites field.
    """
    heading = next((line for line in source.splitlines() if line.startswith("# ")), "")
    title_match = re.match(r"#\s+(?:(\d+)\s*[.:]\s*)?(.*\S)", heading)
    stem_number = re.match(r"ch(\d+)_", stem)
    number = int(title_match.group(1)) if title_match and title_match.group(1) else None
    if number is None:
        number = int(stem_number.group(1)) if stem_number else 0
    title = title_match.group(2).strip() if title_match else stem
    fields = _fields(source)
    prerequisites_text = _one_line(fields.get("prerequisites", ""))
    found = []
    for match in CHAPTER_STEM.finditer(fields.get("prerequisites", "")):
        if match.group(0) != stem and match.group(0) not in found:
            found.append(match.group(0))
    objectives_text = fields.get("objectives", "")
    return Chapter(
        stem=stem,
        number=number,
        title=title,
        article_step=_CITATION.sub("", _one_line(fields.get("article", ""))).rstrip("."),
        time=_one_line(fields.get("time", "")).rstrip("."),
        prerequisites=tuple(found),
        prerequisites_text=prerequisites_text.rstrip("."),
        objectives=_objectives(objectives_text),
    )


def _exercise_title(head: str, body: str) -> str:
    """A short title from an exercise's heading (``**Exercise 2 ★ (the title).**``) or its first sentence."""
    rest = _EXERCISE.sub("", head, count=1)
    rest = re.sub(r"[★☆]", "", rest)
    title = None
    for paren in re.finditer(r"\(([^()]*(?:\([^()]*\)[^()]*)*)\)", rest):
        inside = paren.group(1).strip()
        if not inside or _DIFFICULTY_WORDS.match(inside):  # "(★★)" or "(medium)": not a title
            rest = rest.replace(paren.group(0), " ", 1)
        elif title is None:
            title = inside
    title = rest if title is None else title
    title = re.sub(r"^[\s*#:.—–-]+|[\s*:.—–-]+$", "", title).strip()
    title = title[:1].upper() + title[1:]
    if not title:
        sentence = re.split(r"(?<=[.!?])\s", _one_line(body), maxsplit=1)[0]
        title = sentence if len(sentence) <= 80 else sentence[:77].rsplit(" ", 1)[0] + " …"
    return title[:1].upper() + title[1:]


def _exercise_head(text: str) -> tuple[str, str] | None:
    """(heading, body) of the last "Exercise N" in a markdown cell, or None."""
    matches = list(_EXERCISE.finditer(text))
    if not matches:
        return None
    match = matches[-1]
    line_start = text.rfind("\n", 0, match.start()) + 1
    prefix = text[line_start : match.start()]
    if prefix.rstrip().endswith("**"):  # **Exercise 1 ★ (title).** body
        close = text.find("**", match.end())
        close = close if close != -1 else len(text)
        return text[match.start() : close], text[close + 2 :]
    line_end = text.find("\n", match.end())
    line_end = line_end if line_end != -1 else len(text)
    return text[match.start() : line_end], text[line_end:]


def parse_exercises(cells: Sequence[dict[str, Any]]) -> tuple[Exercise, ...]:
    """The exercises of a chapter, in order.

    An exercise is an answer cell (code with ``### BEGIN SOLUTION`` or tagged
    ``solution``); its id is that of the next ``mtl_helpers.check("chN.exM", ...)``
    call; its statement is the nearest markdown cell before it that names
    "Exercise N". Difficulty is the number of ★ in the statement's heading.
    """
    exercises: list[Exercise] = []
    for index, cell in enumerate(cells):
        source = _sources(cell)
        is_answer = cell.get("cell_type") == "code" and (
            "### BEGIN SOLUTION" in source or "solution" in _tags(cell)
        )
        if not is_answer:
            continue
        exercise_id = None
        for later in cells[index + 1 :]:
            found = _CHECK_ID.search(_sources(later)) if later.get("cell_type") == "code" else None
            if found:
                exercise_id = found.group(1)
                break
        if exercise_id is None or any(exercise.id == exercise_id for exercise in exercises):
            continue
        head, body = "", ""
        for earlier in reversed(cells[:index]):
            if earlier.get("cell_type") == "markdown" and "solution" not in _tags(earlier):
                parts = _exercise_head(_sources(earlier))
                if parts:
                    head, body = parts
                    break
        stars = min(head.count("★"), 3)
        if not stars:
            word = re.search(r"\((easy|medium|hard|harder)\)", head, re.IGNORECASE)
            stars = {"easy": 1, "medium": 2}.get(word.group(1).lower(), 3) if word else 0
        exercises.append(Exercise(exercise_id, stars, _exercise_title(head, body) if head else exercise_id))
    return tuple(exercises)


def read_chapter(path: Path | str) -> Chapter:
    """Read a chapter notebook (its JSON, without executing anything)."""
    path = Path(path)
    notebook = json.loads(path.read_text(encoding="utf-8"))
    cells = notebook.get("cells", [])
    first = next((_sources(cell) for cell in cells if cell.get("cell_type") == "markdown"), "")
    chapter = parse_title_cell(first, path.stem)
    return Chapter(**{**chapter.__dict__, "exercises": parse_exercises(cells)})
