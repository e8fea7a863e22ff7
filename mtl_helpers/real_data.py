"""Real data that ships inside pip packages: two digits at once, and penguins.

Introduced in the chapter on real data. Both builders run offline: the
images come with scikit-learn, the penguins with ``palmerpenguins``.

* :func:`multi_digits`: a small MultiMNIST from scikit-learn's 8x8 digits,
  tasks ``"left"`` and ``"right"`` (ten classes each);
* :func:`penguins`: the Palmer penguins, tasks ``"species"`` (3 classes),
  ``"sex"`` (2 classes, missing for some birds) and ``"body_mass"`` (grams);
* :func:`stratified_split`: the train / validation / test split both use,
  fixed by a seed and stratified by class.

Every split is a dict keyed ``"x"`` and the task names, like every batch of
the book. **A missing label is written in the label itself**: ``-1`` for a
class label, ``NaN`` for a regression target. The mask travels with the
label, so shuffling, batching or picking rows never separates the two;
:meth:`mtl_helpers.multi_head.MultiHeadNet.label_masks` turns the labels into
0/1 masks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mtl_helpers._validation import non_negative_int, positive_int

__all__ = [
    "DIGIT_TASKS",
    "PENGUIN_FEATURES",
    "PENGUIN_ISLANDS",
    "PENGUIN_SEXES",
    "PENGUIN_SPECIES",
    "PENGUIN_TASKS",
    "SPLIT_FRACTIONS",
    "multi_digits",
    "penguins",
    "stratified_split",
]

#: Train / validation / test fractions used by both data sets.
SPLIT_FRACTIONS: dict[str, float] = {"train": 0.6, "validation": 0.2, "test": 0.2}

#: The tasks of :func:`multi_digits`: the class (0-9) of the left and the right digit.
DIGIT_TASKS: tuple[str, str] = ("left", "right")

#: The tasks of :func:`penguins`.
PENGUIN_TASKS: tuple[str, str, str] = ("species", "sex", "body_mass")
#: Class names, in the order of the integer labels.
PENGUIN_SPECIES: tuple[str, str, str] = ("Adelie", "Chinstrap", "Gentoo")
PENGUIN_SEXES: tuple[str, str] = ("female", "male")
PENGUIN_ISLANDS: tuple[str, str, str] = ("Biscoe", "Dream", "Torgersen")
#: The columns of a penguin split's ``"x"``: three standardised lengths (mm), then the island one-hot.
PENGUIN_FEATURES: tuple[str, ...] = (
    "bill_length",
    "bill_depth",
    "flipper_length",
    *(f"island_{island}" for island in PENGUIN_ISLANDS),
)

_MEASUREMENTS = ("bill_length_mm", "bill_depth_mm", "flipper_length_mm")
_DIGIT_SIZE = 8


def _check_fractions(fractions: Any) -> dict[str, float]:
    if not isinstance(fractions, Mapping) or not fractions:
        raise TypeError(
            f"fractions must be a dict such as {SPLIT_FRACTIONS}, got {type(fractions).__name__} {fractions!r}"
        )
    checked = {}
    for name, value in fractions.items():
        if not isinstance(name, str):
            raise TypeError(f"split names must be strings, got {name!r} in {fractions!r}")
        if not isinstance(value, int | float | np.number) or not np.isfinite(value) or value <= 0:
            raise ValueError(f"fractions[{name!r}] must be a number > 0, got {value!r}")
        checked[name] = float(value)
    if abs(sum(checked.values()) - 1.0) > 1e-9:
        raise ValueError(f"fractions must add up to 1, got {fractions!r} (sum {sum(checked.values()):.6g})")
    return checked


def _class_counts(size: int, fractions: dict[str, float], rng: np.random.Generator) -> dict[str, int]:
    """Split ``size`` items by ``fractions``: largest remainders first, ties broken at random."""
    exact = {name: size * fraction for name, fraction in fractions.items()}
    counts = {name: int(np.floor(value)) for name, value in exact.items()}
    tie_break = dict(zip(fractions, rng.permutation(len(fractions)), strict=True))
    by_remainder = sorted(fractions, key=lambda name: (-round(exact[name] - counts[name], 9), tie_break[name]))
    for name in by_remainder[: size - sum(counts.values())]:
        counts[name] += 1
    return counts


def stratified_split(labels: Any, *, seed: int, fractions: Mapping[str, float] = SPLIT_FRACTIONS) -> dict[str, np.ndarray]:
    """Row indices of each split, fixed by ``seed`` and stratified by class.

    Each class is shuffled and cut by ``fractions`` (the splits with the
    largest remainders get the leftover rows; ties are broken at random), so
    every split holds each class in about the same proportion as the whole.
    The indices of a split come in shuffled order: its first rows are a
    random, not a class-sorted, sample.

    Parameters
    ----------
    labels : array-like of shape (n,)
        Class of each row (any values that ``np.unique`` can sort).
    seed : int
    fractions : dict of str to float, default ``SPLIT_FRACTIONS``
        ``{split name: fraction}``, fractions > 0 adding up to 1.

    Returns
    -------
    dict of str to ndarray of shape (n_split,)
        Disjoint int64 indices into ``labels`` that together cover every row.

    Examples
    --------
    >>> splits = stratified_split(np.repeat([0, 1], 10), seed=0)
    >>> {name: len(rows) for name, rows in splits.items()}
    {'train': 12, 'validation': 4, 'test': 4}
    """
    seed = non_negative_int(seed, name="seed")
    fractions = _check_fractions(fractions)
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"labels must be a non-empty 1-D array, got shape {labels.shape}")
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in fractions}
    for value in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == value))
        start = 0
        for name, count in _class_counts(len(rows), fractions, rng).items():
            parts[name].append(rows[start : start + count])
            start += count
    return {name: rng.permutation(np.concatenate(chunks)).astype(np.int64) for name, chunks in parts.items()}


def _check_sizes(n_samples: Any, splits: tuple[str, ...]) -> dict[str, int]:
    if not isinstance(n_samples, Mapping) or set(n_samples) != set(splits):
        raise ValueError(
            f"n_samples must be a dict with one count per split, keys {list(splits)}, "
            f"e.g. {{'train': 3000, 'validation': 1000, 'test': 1000}}; got {n_samples!r}"
        )
    return {name: positive_int(n_samples[name], name=f"n_samples[{name!r}]") for name in splits}


def multi_digits(
    n_samples: Mapping[str, int],
    *,
    seed: int,
    shift: int = 2,
    canvas: tuple[int, int] | None = None,
    fractions: Mapping[str, float] = SPLIT_FRACTIONS,
) -> dict[str, dict[str, np.ndarray]]:
    """A small MultiMNIST: two 8x8 digits on one canvas, one task per digit.

    MultiMNIST (Sabour, Frosst and Hinton, "Dynamic routing between
    capsules", NeurIPS 2017) lays one MNIST digit over another; Sener and
    Koltun ("Multi-task learning as multi-objective optimization", NeurIPS
    2018) made it a two-task benchmark: classify the left digit and the right
    digit. This version uses the 1,797 8x8 digits that ship with scikit-learn
    (the test set of Alpaydin and Kaynak's "Optical Recognition of
    Handwritten Digits", UCI Machine Learning Repository, 1998,
    doi:10.24432/C50P49, licence CC BY 4.0), so it builds offline in well
    under a second.

    Each canvas holds two digits drawn from two *different* source images:
    the left digit moved ``shift`` pixels left of the canvas centre and the
    right one ``shift`` pixels right of it, so they overlap on ``8 - 2 *
    shift`` columns; where they overlap a pixel is the brighter of the two
    (pixel-wise maximum). The two classes are drawn independently (unlike
    Sabour et al., the same class may appear twice).

    No source image is shared between splits: the 1,797 images are split
    first, by ``seed`` and stratified by class
    (``stratified_split(load_digits().target, seed=seed,
    fractions=fractions)``), and each split's canvases combine images of its
    own part only. The sklearn copy carries no writer ids, so a writer can
    appear in more than one split.

    Parameters
    ----------
    n_samples : dict of str to int
        Number of canvases per split, keys those of ``fractions``, e.g.
        ``{"train": 3000, "validation": 1000, "test": 1000}``. Each split
        draws from its own random stream: changing the size of one split
        leaves the others unchanged.
    seed : int
        Fixes the split of the source images and the canvases.
    shift : int, default 2
        Pixels each digit moves away from the centre, 0 (on top of each
        other) to 4 (side by side).
    canvas : (int, int), optional
        Canvas (height, width); default ``(8, 8 + 2 * shift)``. A larger
        canvas adds an empty margin around the centred pair.
    fractions : dict of str to float, default ``SPLIT_FRACTIONS``
        How the source images are split (60 / 20 / 20 per cent).

    Returns
    -------
    dict of str to dict
        ``{split: {"x": (n, height * width) float32 in [0, 1], "left": (n,)
        int32, "right": (n,) int32}}``. ``x[i].reshape(height, width)`` is
        the canvas.

    Examples
    --------
    >>> data = multi_digits({"train": 100, "validation": 20, "test": 20}, seed=0)
    >>> {key: value.shape for key, value in data["train"].items()}
    {'x': (100, 96), 'left': (100,), 'right': (100,)}
    """
    from sklearn.datasets import load_digits  # imported here: scikit-learn takes a second to import

    seed = non_negative_int(seed, name="seed")
    fractions = _check_fractions(fractions)
    sizes = _check_sizes(n_samples, tuple(fractions))
    shift = non_negative_int(shift, name="shift")
    if shift > _DIGIT_SIZE // 2:
        raise ValueError(f"shift must be between 0 and {_DIGIT_SIZE // 2} pixels, got {shift}")
    height, width = _check_canvas(canvas, shift)

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)  # (1797, 8, 8), pixels 0..16 -> [0, 1]
    labels = digits.target.astype(np.int32)
    top = (height - _DIGIT_SIZE) // 2
    left_column = (width - _DIGIT_SIZE) // 2 - shift
    sources = stratified_split(labels, seed=seed, fractions=fractions)
    data = {}
    for index, (name, pool) in enumerate(sources.items()):
        rng = np.random.default_rng([seed, index + 1])
        first = rng.integers(len(pool), size=sizes[name])
        # a different image for the right digit: skip `first` by 1..len(pool)-1 places
        second = (first + 1 + rng.integers(len(pool) - 1, size=sizes[name])) % len(pool)
        left, right = pool[first], pool[second]
        canvases = np.zeros((sizes[name], height, width), np.float32)
        rows = slice(top, top + _DIGIT_SIZE)
        canvases[:, rows, left_column : left_column + _DIGIT_SIZE] = images[left]
        right_columns = slice(left_column + 2 * shift, left_column + 2 * shift + _DIGIT_SIZE)
        canvases[:, rows, right_columns] = np.maximum(canvases[:, rows, right_columns], images[right])
        data[name] = {"x": canvases.reshape(sizes[name], -1), "left": labels[left], "right": labels[right]}
    return data


def _check_canvas(canvas: Any, shift: int) -> tuple[int, int]:
    smallest = (_DIGIT_SIZE, _DIGIT_SIZE + 2 * shift)
    if canvas is None:
        return smallest
    if not isinstance(canvas, tuple | list) or len(canvas) != 2:
        raise TypeError(f"canvas must be a (height, width) pair such as {smallest}, got {canvas!r}")
    height, width = (positive_int(size, name="canvas size") for size in canvas)
    if height < smallest[0] or width < smallest[1]:
        raise ValueError(
            f"canvas {tuple(canvas)} is too small for two 8x8 digits with shift={shift}; "
            f"use at least {smallest} (height, 8 + 2 * shift)"
        )
    return height, width


def penguins(*, seed: int, fractions: Mapping[str, float] = SPLIT_FRACTIONS) -> dict[str, dict[str, np.ndarray]]:
    """The Palmer penguins: species, sex and body mass from bills, flippers and island.

    344 penguins of three species measured on three islands of the Palmer
    Archipelago, Antarctica, 2007-2009 (Gorman, Williams and Fraser,
    "Ecological sexual dimorphism and environmental variability within a
    community of Antarctic penguins (genus *Pygoscelis*)", PLoS ONE 9(3):
    e90081, 2014, doi:10.1371/journal.pone.0090081), as packaged by Horst,
    Hill and Gorman (palmerpenguins, R package version 0.1.0, 2020,
    doi:10.5281/zenodo.3960218) and read from the CSV inside the Python
    ``palmerpenguins`` package (no download). The data are public domain
    (CC0), following the Palmer Station LTER data policy.

    Two birds have no measurements at all; they are dropped, leaving 342.
    Nine of the 342 have no recorded sex: their ``"sex"`` label is ``-1``
    (missing), while species and body mass are known for every bird.

    Parameters
    ----------
    seed : int
        Fixes the split, stratified by species.
    fractions : dict of str to float, default ``SPLIT_FRACTIONS``
        Must include ``"train"``. By default 60 / 20 / 20 per cent of the
        342 birds, each split stratified by species (about 205 / 68 / 68
        birds; the exact counts depend on the rounding within each species).

    Returns
    -------
    dict of str to dict
        ``{split: {"x": (n, 6) float32, "species": (n,) int32, "sex": (n,)
        int32, "body_mass": (n, 1) float32}}``:

        * ``x``: bill length, bill depth and flipper length, standardised
          with the mean and standard deviation of the *training* split only
          (so no statistic of the held-out birds leaks into training), then
          the island one-hot (``PENGUIN_FEATURES``);
        * ``species``: 0, 1, 2 for ``PENGUIN_SPECIES``;
        * ``sex``: 0 female, 1 male, **-1 missing**;
        * ``body_mass``: in **grams** (2,700 to 6,300), not standardised: a
          loss in grams squared dwarfs the cross-entropies, which is the
          point the chapter makes before it standardises the target with
          :class:`mtl_helpers.TargetScaler` (fit on the training split).

    Notes
    -----
    The island almost gives the species away (Gentoo live only on Biscoe,
    Chinstrap only on Dream in these data); the measurements are needed for
    the Adelie penguins, found on all three islands, and for sex and mass.

    Examples
    --------
    >>> data = penguins(seed=0)
    >>> {name: len(split["x"]) for name, split in data.items()}
    {'train': 206, 'validation': 68, 'test': 68}
    >>> int((data["train"]["sex"] == -1).sum() + (data["validation"]["sex"] == -1).sum()
    ...     + (data["test"]["sex"] == -1).sum())
    9
    """
    from palmerpenguins import load_penguins  # imported here: pandas is slow to import

    seed = non_negative_int(seed, name="seed")
    fractions = _check_fractions(fractions)
    if "train" not in fractions:
        raise ValueError(f"fractions needs a 'train' split (its statistics standardise the features), got {list(fractions)}")
    table = load_penguins()
    table = table[table[list(_MEASUREMENTS)].notna().all(axis=1) & table["body_mass_g"].notna()]
    species = _codes(table["species"], PENGUIN_SPECIES, name="species")
    sex = _codes(table["sex"], PENGUIN_SEXES, name="sex", missing=True)
    islands = _codes(table["island"], PENGUIN_ISLANDS, name="island")
    lengths = table[list(_MEASUREMENTS)].to_numpy(np.float64)
    mass = table["body_mass_g"].to_numpy(np.float64)[:, None]

    splits = stratified_split(species, seed=seed, fractions=fractions)
    train = lengths[splits["train"]]
    mean, std = train.mean(axis=0), train.std(axis=0)  # training statistics only
    one_hot = np.eye(len(PENGUIN_ISLANDS))[islands]
    data = {}
    for name, rows in splits.items():
        data[name] = {
            "x": np.concatenate([(lengths[rows] - mean) / std, one_hot[rows]], axis=1).astype(np.float32),
            "species": species[rows],
            "sex": sex[rows],
            "body_mass": mass[rows].astype(np.float32),
        }
    return data


def _codes(column: Any, names: tuple[str, ...], *, name: str, missing: bool = False) -> np.ndarray:
    """Integer codes of a text column in the order of ``names``; NaN -> -1 when ``missing``."""
    values = column.to_numpy(dtype=object)
    empty = np.array([not isinstance(value, str) for value in values])
    unknown = sorted({value for value in values[~empty]} - set(names))
    if unknown or (empty.any() and not missing):
        raise ValueError(f"unexpected {name} values {unknown or ['<missing>']} in the palmerpenguins data")
    lookup = {value: code for code, value in enumerate(names)}
    return np.array([-1 if blank else lookup[value] for value, blank in zip(values, empty, strict=True)], np.int32)
