"""The references page lists the works the book cites, and the glossary the terms the book uses.

The references page shows every entry of ``book/references.bib`` (a
``:all:`` bibliography), so an entry no page cites would be listed for no
reason; a glossary term that no page links to is dead weight.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
CITE = re.compile(r"\{(?:foot)?cite(?::[pt])?\}`([^`]+)`")
TERM = re.compile(r"\{term\}`([^`]+)`")


def _pages() -> dict[str, str]:
    """Every page's text: the markdown pages and the notebooks' markdown cells."""
    pages = {path.name: path.read_text() for path in (ROOT / "book").glob("*.md")}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        pages[path.name] = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    return pages


def _bib_keys() -> list[str]:
    return re.findall(r"^@\w+\{([^,]+),", (ROOT / "book" / "references.bib").read_text(), flags=re.MULTILINE)


def _glossary_terms() -> list[str]:
    text = (ROOT / "book" / "glossary.md").read_text()
    block = text.split("```{glossary}", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.splitlines() if line and not line[0].isspace()]


def _term_target(reference: str) -> str:
    """``{term}`text <Target>``` links to Target, ``{term}`Target``` to Target."""
    match = re.search(r"<([^>]+)>\s*$", reference)
    return " ".join((match.group(1) if match else reference).split()).lower()


def test_every_bibliography_entry_is_cited_somewhere() -> None:
    cited = {key.strip() for text in _pages().values() for group in CITE.findall(text) for key in group.split(",")}
    uncited = sorted(set(_bib_keys()) - cited)
    assert not uncited, f"references.bib entries no page cites (cite them or remove them): {uncited}"


def test_every_citation_has_an_entry() -> None:
    keys = set(_bib_keys())
    missing = sorted(
        {key.strip() for text in _pages().values() for group in CITE.findall(text) for key in group.split(",")} - keys
    )
    assert not missing, f"cited but not in references.bib: {missing}"


def test_bibliography_keys_are_unique() -> None:
    keys = _bib_keys()
    assert len(keys) == len(set(keys)), sorted({key for key in keys if keys.count(key) > 1})


@pytest.mark.parametrize("term", _glossary_terms())
def test_every_glossary_term_is_used_outside_the_glossary(term: str) -> None:
    used = {
        _term_target(reference)
        for name, text in _pages().items()
        if name != "glossary.md"
        for reference in TERM.findall(text)
    }
    assert term.lower() in used, f"no page links the glossary term {term!r}; link it with {{term}} where it is used, or drop it"
