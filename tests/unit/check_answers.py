"""What the tests of the exercise self-checks share: a student's stub, the assertions on a verdict, an open exercise's answer."""

from __future__ import annotations

import numpy as np

from mtl_helpers import Results
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


def paired_answer(
    methods: tuple[str, str],
    metric: str,
    shift: float,
    *,
    seeds: int = 10,
    base: float = 1.0,
    spread: float = 0.1,
    noise: float = 0.01,
    lower_is_better: bool = True,
) -> dict:
    """An answer to an open exercise (the shared paired-comparison check), built as the chapters' solutions build it.

    For each seed, ``methods[1]`` scores ``base`` plus normal noise of
    scale ``spread``, and ``methods[0]`` that score plus ``shift`` plus noise
    of scale ``noise`` (both drawn from one generator seeded 0, seed after
    seed). The records go into :class:`Results`, and the interval and the
    conclusion come from ``Results.compare`` of ``methods[0]`` against
    ``methods[1]``.
    """
    rng = np.random.default_rng(0)
    results = Results()
    for seed in range(seeds):
        score = base + rng.normal(0, spread)
        results.add(method=methods[1], seed=seed, **{metric: score})
        results.add(method=methods[0], seed=seed, **{metric: score + shift + rng.normal(0, noise)})
    comparison = results.compare(metric, {"method": methods[0]}, {"method": methods[1]}, names=methods,
                                 lower_is_better=lower_is_better)
    return {"records": results, "interval": (comparison.low, comparison.high), "conclusion": comparison.verdict}
