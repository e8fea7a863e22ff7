"""Repository tools for authors, instructors and the test suite (not part of the installed package).

Run them from anywhere as scripts (``python tools/authoring.py ...``) or, from
the book's root, as modules (``python -m tools.authoring ...``).
"""
