"""Sphinx hooks that keep the book's HTML pages clean: valid scripts, accessible citations.

sphinx-thebe 0.3.1 registers its inline configuration script after the HTML
builder has started, so Sphinx 7 puts that script on every page twice; the
second copy re-declares ``const THEBE_JS_URL`` and the browser logs
"Identifier 'THEBE_JS_URL' has already been declared". This extension drops
repeated scripts from each page's context before the page is written.

Docutils writes the bibliography as ``<div role="list">`` whose entries have
``role="doc-biblioentry"``, a role that is not a list item (and is deprecated
in DPUB-ARIA 1.1); axe-core reports the list as a critical violation
(aria-required-children) and screen readers announce an empty list.
:func:`accessible_citations` gives the entries ``role="listitem"``.

The functions are pure and unit-tested in ``tests/unit/test_book_extensions.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["accessible_citations", "unique_scripts"]

_BIBLIOENTRY = re.compile(r'(<div class="citation[^"]*"[^>]*?) role="doc-biblioentry"')


def _script_key(script: Any) -> tuple[str, tuple[tuple[str, str], ...]]:
    filename = getattr(script, "filename", script) or ""  # an inline script's may be None or ""
    attributes = getattr(script, "attributes", {}) or {}
    return str(filename), tuple(sorted((str(k), str(v)) for k, v in attributes.items()))


def unique_scripts(scripts: Iterable[Any]) -> list[Any]:
    """``scripts`` without repeats, first occurrence kept, order unchanged.

    Two scripts are the same when they have the same file name and the same
    attributes (an inline script has no file name, None or "", and its code in
    the ``body`` attribute). Plain strings (older Sphinx) compare as file names.
    """
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    kept = []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            kept.append(script)
    return kept


def accessible_citations(html: str) -> str:
    """``html`` with each bibliography entry's ``role="doc-biblioentry"`` replaced by ``role="listitem"``."""
    return _BIBLIOENTRY.sub(r'\1 role="listitem"', html)


def _clean_page(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    if "script_files" in context:
        context["script_files"] = unique_scripts(context["script_files"])
    if isinstance(context.get("body"), str):
        context["body"] = accessible_citations(context["body"])


def setup(app: Any) -> dict[str, Any]:
    """Register the hooks with Sphinx."""
    app.connect("html-page-context", _clean_page, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
