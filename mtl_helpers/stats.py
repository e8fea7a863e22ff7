"""The book's statistical protocol for results over seeds.

Every comparison in the book follows one protocol (``book/contributing.md``):

* runs are **paired by seed**: both methods see the same data and start from
  the same initial weights in seed ``s``;
* the result is the **mean paired difference** with its **95% confidence
  interval** (Student's t over the seeds) and the number of seeds in which
  each side wins;
* a difference is called **clear** only when the interval excludes zero;
* a conclusion rests on at least :data:`MIN_SEEDS` seeds.

:func:`summarize_seeds` summarises one quantity, :func:`compare_paired`
compares two, and :class:`Results` collects the records of a sweep and
pairs them by seed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from mtl_helpers._validation import non_negative_int

__all__ = ["MIN_SEEDS", "PairedComparison", "Results", "SeedSummary", "check_seeds", "compare_paired", "summarize_seeds"]

#: The fewest seeds a conclusion of the book rests on.
MIN_SEEDS = 10


def _values(values: Sequence[float], name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size < 2:
        raise ValueError(f"{name} needs results from at least 2 seeds to show a spread, got {array.size}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values: {array.tolist()}")
    return array


def _interval(array: np.ndarray) -> tuple[float, float]:
    """The 95% t-interval of the mean of ``array``."""
    mean = float(array.mean())
    half = float(scipy_stats.t.ppf(0.975, array.size - 1) * array.std(ddof=1) / np.sqrt(array.size))
    return mean - half, mean + half


@dataclass(frozen=True)
class SeedSummary:
    """One quantity over seeds: mean, sample standard deviation and 95% interval of the mean.

    ``str()`` gives ``"mean [low, high]"`` with three significant digits.
    """

    mean: float
    std: float
    low: float
    high: float
    n: int

    def __str__(self) -> str:
        return f"{self.mean:.3g} [{self.low:.3g}, {self.high:.3g}]"


def summarize_seeds(values: Sequence[float]) -> SeedSummary:
    """Summarise per-seed results, e.g. the final errors of 10 runs.

    Parameters
    ----------
    values : sequence of float, length n_seeds >= 2

    Returns
    -------
    SeedSummary
        Mean, standard deviation (ddof=1) and the 95% t-interval of the mean.

    Examples
    --------
    >>> str(summarize_seeds([1.0, 2.0, 3.0]))
    '2 [-0.484, 4.48]'
    """
    array = _values(values, "values")
    low, high = _interval(array)
    return SeedSummary(float(array.mean()), float(array.std(ddof=1)), low, high, array.size)


@dataclass(frozen=True)
class PairedComparison:
    """Two methods compared seed by seed (the book's protocol).

    Attributes
    ----------
    names : tuple of two str
        ``(a, b)``; differences are ``a - b``.
    differences : ndarray of shape (n_seeds,)
        Per seed ``a - b`` (in percent of ``b`` when ``relative``).
    mean, low, high : float
        Mean difference and its 95% t-interval.
    wins : dict of str to int
        Seeds in which each method is better (ties count for neither).
    relative : bool
    lower_is_better : bool
    """

    names: tuple[str, str]
    differences: np.ndarray
    mean: float
    low: float
    high: float
    wins: dict[str, int]
    relative: bool = False
    lower_is_better: bool = True

    @property
    def n(self) -> int:
        """The number of seeds."""
        return int(self.differences.size)

    @property
    def clear(self) -> bool:
        """Whether the 95% interval excludes zero."""
        return self.low > 0 or self.high < 0

    @property
    def verdict(self) -> str:
        """``"<a> better"``, ``"<b> better"`` or ``"no clear difference"``, from the interval alone."""
        if not self.clear:
            return "no clear difference"
        a_wins = (self.high < 0) == self.lower_is_better
        return f"{self.names[0] if a_wins else self.names[1]} better"

    def row(self) -> dict[str, Any]:
        """One table row: the difference, its interval, the wins and whether it is clear."""
        a, b = self.names
        unit = " (%)" if self.relative else ""
        return {
            f"{a} - {b}{unit}": self.mean,
            "95% CI low": self.low,
            "95% CI high": self.high,
            f"{a} better": f"{self.wins[a]}/{self.n}",
            f"{b} better": f"{self.wins[b]}/{self.n}",
            "clear": self.clear,
        }

    def __str__(self) -> str:
        a, b = self.names
        unit = "%" if self.relative else ""
        verdict = "clear" if self.clear else "not clear"
        return (
            f"{a} - {b}: {self.mean:+.3g}{unit} [{self.low:+.3g}{unit}, {self.high:+.3g}{unit}] "
            f"({verdict}; {a} better in {self.wins[a]}/{self.n} seeds, {b} in {self.wins[b]}/{self.n})"
        )


def compare_paired(
    a: Sequence[float],
    b: Sequence[float],
    *,
    names: tuple[str, str] = ("a", "b"),
    lower_is_better: bool = True,
    relative: bool = False,
) -> PairedComparison:
    """Compare two methods' per-seed results, paired by seed.

    Parameters
    ----------
    a, b : sequence of float, length n_seeds
        Results of the two methods in the same seeds, in the same order.
    names : tuple of two str, default ("a", "b")
    lower_is_better : bool, default True
        Whether a lower value wins a seed (an error) or a higher one (an accuracy).
    relative : bool, default False
        Report ``100 * (a - b) / b``, the change in percent of ``b``.

    Returns
    -------
    PairedComparison

    Examples
    --------
    >>> result = compare_paired([1.0, 2.0, 3.0, 4.0], [2.0, 2.5, 3.5, 5.0], names=("new", "old"))
    >>> print(result)
    new - old: -0.75 [-1.21, -0.291] (clear; new better in 4/4 seeds, old in 0/4)
    >>> result.verdict
    'new better'
    """
    first, second = _values(a, names[0]), _values(b, names[1])
    if first.shape != second.shape:
        raise ValueError(f"{names[0]} and {names[1]} must hold one value per seed each, got {first.size} and {second.size}")
    if len(names) != 2 or names[0] == names[1]:
        raise ValueError(f"names must be two different labels, got {names!r}")
    if relative and np.any(second == 0):
        raise ValueError(f"relative differences divide by {names[1]}, which is 0 in some seeds; use relative=False")
    differences = 100.0 * (first - second) / second if relative else first - second
    low, high = _interval(differences)
    better = (first < second) if lower_is_better else (first > second)
    worse = (first > second) if lower_is_better else (first < second)
    wins = {names[0]: int(np.sum(better)), names[1]: int(np.sum(worse))}
    return PairedComparison(
        tuple(names), differences, float(differences.mean()), low, high, wins, relative, lower_is_better
    )


def check_seeds(seeds: Iterable[int]) -> list[int]:
    """The seeds of a comparison as a list: at least 2, distinct, each >= 0.

    Raises ``ValueError`` saying what to fix otherwise (e.g. "try range(10)").
    """
    seeds = [non_negative_int(seed, name="each seed") for seed in seeds]
    if len(seeds) < 2:
        raise ValueError(f"give at least 2 seeds so that results have a spread, got {seeds}; try range({MIN_SEEDS})")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds}; try range({MIN_SEEDS})")
    return seeds


class Results:
    """The records of a sweep over seeds and settings, one dict per run.

    Each record holds the settings of a run (``method="uniform"``,
    ``ratio=20``, ...), its ``seed`` and its results (``y1=0.05``, ...).
    :meth:`compare` pairs two selections by seed.

    Examples
    --------
    >>> results = Results()
    >>> for seed in range(3):
    ...     results.add(method="a", seed=seed, error=1.0 + seed)
    ...     results.add(method="b", seed=seed, error=1.5 + seed)
    >>> results.compare("error", {"method": "a"}, {"method": "b"}).mean
    -0.5
    """

    def __init__(self, records: Iterable[Mapping[str, Any]] = ()) -> None:
        self.records: list[dict[str, Any]] = [dict(record) for record in records]

    def add(self, **record: Any) -> None:
        """Append one run's record."""
        self.records.append(record)

    def __len__(self) -> int:
        return len(self.records)

    def select(self, **where: Any) -> list[dict[str, Any]]:
        """The records whose fields equal every ``where`` value, sorted by seed."""
        chosen = [r for r in self.records if all(r.get(key) == value for key, value in where.items())]
        return sorted(chosen, key=lambda record: record.get("seed", 0))

    def values(self, field: str, **where: Any) -> np.ndarray:
        """``field`` of the selected records, in seed order."""
        chosen = self.select(**where)
        if not chosen:
            raise ValueError(f"no record matches {where}; fields seen: {sorted({k for r in self.records for k in r})}")
        missing = [r for r in chosen if field not in r]
        if missing:
            raise ValueError(f"{len(missing)} records matching {where} have no field {field!r}")
        return np.asarray([record[field] for record in chosen], dtype=np.float64)

    def summary(self, field: str, **where: Any) -> SeedSummary:
        """:func:`summarize_seeds` of ``field`` over the selected records."""
        return summarize_seeds(self.values(field, **where))

    def compare(
        self,
        field: str,
        first: Mapping[str, Any],
        second: Mapping[str, Any],
        *,
        names: tuple[str, str] | None = None,
        lower_is_better: bool = True,
        relative: bool = False,
    ) -> PairedComparison:
        """Compare ``field`` between two selections, paired by seed.

        ``first`` and ``second`` are ``where`` dicts; both must cover the same seeds.
        """
        seeds = [[r.get("seed") for r in self.select(**where)] for where in (first, second)]
        if seeds[0] != seeds[1]:
            raise ValueError(f"the two selections must cover the same seeds to be paired, got {seeds[0]} and {seeds[1]}")
        labels = names or (_label(first), _label(second))
        return compare_paired(
            self.values(field, **first),
            self.values(field, **second),
            names=labels,
            lower_is_better=lower_is_better,
            relative=relative,
        )

    def unique(self, field: str) -> list[Any]:
        """The distinct values of ``field``, in the order first seen."""
        return list(dict.fromkeys(record[field] for record in self.records if field in record))

    def frame(self) -> pd.DataFrame:
        """Every record as a row of a DataFrame."""
        return pd.DataFrame.from_records(self.records)


def _label(where: Mapping[str, Any]) -> str:
    return ", ".join(str(value) for value in where.values())
