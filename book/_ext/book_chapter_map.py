"""Sphinx extension placeholder: book_chapter_map (being written)."""

from __future__ import annotations

from typing import Any


def setup(app: Any) -> dict[str, Any]:
    """Register the extension with Sphinx."""
    return {"parallel_read_safe": True, "parallel_write_safe": True}
