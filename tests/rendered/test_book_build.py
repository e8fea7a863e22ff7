"""The book builds with Sphinx's nitpicky mode and no warnings."""

from __future__ import annotations


def test_strict_build_has_no_warnings(built_book) -> None:
    assert built_book.returncode == 0, built_book.log[-4000:]
    warnings = [line for line in built_book.log.splitlines() if "WARNING" in line or "ERROR" in line]
    assert not warnings, "the book build warns:\n" + "\n".join(warnings[:40])
    assert (built_book.html / "index.html").is_file()
