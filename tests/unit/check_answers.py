"""What the tests of the exercise self-checks share: a student's stub and the assertions on a verdict."""

from __future__ import annotations

from mtl_helpers.checks import evaluate


def not_implemented(*args: object) -> object:
    """A student edition's stub: a function whose body raises NotImplementedError."""
    raise NotImplementedError()


def assert_not_attempted(exercise: str, answer: object) -> None:
    """``answer`` (None, or a stub) counts as not attempted: neither a pass nor a hint."""
    result = evaluate(exercise, answer)
    assert not result.passed and not result.attempted, result.message
    assert "not attempted" in result.message, result.message


def fails_with(exercise: str, answer: object, words: str) -> None:
    """``answer`` gets a hint (not a pass, not "not attempted") that contains ``words``."""
    result = evaluate(exercise, answer)
    assert not result.passed and result.attempted, result.message
    assert words in result.message, result.message
