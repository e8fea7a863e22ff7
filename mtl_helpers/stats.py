"""Summaries of results repeated over seeds (chapters 3-5).

A comparison in this book is always run over several seeds and reported with
its spread. These helpers turn a list of per-seed numbers into the summary
the prose quotes and the tables print.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from mtl_helpers._validation import positive_int

__all__ = ["SeedSummary", "summarize_seeds", "paired_difference", "check_seeds"]


@dataclass(frozen=True)
class SeedSummary:
    """Mean, sample standard deviation and range of one quantity over seeds."""

    mean: float
    std: float
    low: float
    high: float
    n: int

    def __str__(self) -> str:
        return f"{self.mean:.3g} ± {self.std:.2g} (n={self.n})"


def _values(values: Sequence[float], name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size < 2:
        raise ValueError(f"{name} needs results from at least 2 seeds to show a spread, got {array.size}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values: {array.tolist()}")
    return array


def summarize_seeds(values: Sequence[float]) -> SeedSummary:
    """Summarise per-seed results, e.g. final errors of 5 runs.

    Parameters
    ----------
    values : sequence of float, length n_seeds >= 2

    Returns
    -------
    SeedSummary
        ``str()`` gives ``"mean ± std (n=...)"`` with 3 and 2 significant digits.

    Examples
    --------
    >>> str(summarize_seeds([1.0, 2.0, 3.0]))
    '2 ± 1 (n=3)'
    """
    array = _values(values, "values")
    return SeedSummary(float(array.mean()), float(array.std(ddof=1)), float(array.min()), float(array.max()), array.size)


def paired_difference(first: Sequence[float], second: Sequence[float]) -> SeedSummary:
    """Summary of ``first - second`` seed by seed (same seeds, same order).

    Pairing by seed removes the part of the spread that both methods share
    (the data and initial weights each seed draws).
    """
    a, b = _values(first, "first"), _values(second, "second")
    if a.shape != b.shape:
        raise ValueError(f"first and second must hold one value per seed each, got {a.size} and {b.size}")
    return summarize_seeds(a - b)


def check_seeds(seeds: Iterable[int]) -> list[int]:
    """The seeds of a comparison as a list: at least 2, distinct, each >= 0.

    Raises ``ValueError`` saying what to fix otherwise (e.g. "try range(5)").
    """
    seeds = [positive_int(seed, name="each seed", minimum=0) for seed in seeds]
    if len(seeds) < 2:
        raise ValueError(f"give at least 2 seeds so that results have a spread, got {seeds}; try range(5)")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds}; try range(5)")
    return seeds
