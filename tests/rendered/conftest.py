"""Fixtures for the rendered book: one strict build per test session."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class BuiltBook:
    """Result of ``jupyter-book build . -n -W --keep-going``."""

    returncode: int
    log: str
    html: Path


@pytest.fixture(scope="session")
def built_book() -> BuiltBook:
    """Build the book once, strictly: nitpicky, warnings are errors, keep going to list them all."""
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    command = [str(jupyter_book), "build", str(ROOT), "--nitpick", "--warningiserror", "--keep-going", "--all"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    return BuiltBook(result.returncode, result.stdout + result.stderr, ROOT / "_build" / "html")
