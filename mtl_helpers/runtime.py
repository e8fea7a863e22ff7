"""Reproducible, quiet runs: seeding, determinism and the figure style.

Introduced in chapter 1 ("Setup" section); every chapter starts with
``mtl_helpers.setup(seed=0)``.
"""

from __future__ import annotations

import logging
import os
import random
import warnings
from collections.abc import Iterable, Iterator
from typing import TypeVar

import matplotlib as mpl
import numpy as np

from mtl_helpers._tensorflow import tf

Item = TypeVar("Item")

__all__ = ["setup", "progress", "PALETTE", "TASK_COLORS", "HIDE_PROGRESS_ENV"]

#: When this environment variable is set (the test suite and ``make execute``
#: set it), :func:`progress` draws nothing, so no bar is stored in a notebook.
HIDE_PROGRESS_ENV = "MTL_BOOK_HIDE_PROGRESS"

#: Okabe-Ito colours: distinguishable with colour-blindness and legible on the
#: white figure background used in both the light and the dark page theme.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # green
    "#CC79A7",  # purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#000000",  # black
)

#: Fixed colours so that a task has the same colour in every figure of the book.
TASK_COLORS: dict[str, str] = {"y1": PALETTE[0], "y2": PALETTE[1], "shared": "#6b6b6b"}

_STYLE = {
    # An opaque white canvas: the dark page theme shows the figure as a light
    # card, so black text and the palette stay readable on either theme.
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 100,
    "figure.autolayout": True,
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "axes.grid": True,
    "grid.color": "#d9d9d9",
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": mpl.cycler(color=list(PALETTE)),
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "svg.hashsalt": "mtl-book",
}


def setup(seed: int = 0) -> None:
    """Make a chapter reproducible and its outputs clean.

    Seeds Python's :mod:`random`, NumPy's legacy global generator and
    TensorFlow; turns on TensorFlow op determinism; silences Python warnings
    and TensorFlow's Python logger; sets the book's matplotlib style. Calling
    it again (say with another seed) simply re-seeds: it is safe to call twice.

    Parameters
    ----------
    seed : int, default 0
        Non-negative seed for every random generator.

    Examples
    --------
    >>> import mtl_helpers
    >>> mtl_helpers.setup(seed=0)
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__} {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}; pass a non-negative int such as 0")
    seed = int(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    tf.keras.utils.set_random_seed(seed)  # Python, NumPy and TensorFlow at once
    tf.config.experimental.enable_op_determinism()
    warnings.filterwarnings("ignore")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    mpl.rcParams.update(_STYLE)
    np.set_printoptions(precision=4, suppress=True)


def progress(iterable: Iterable[Item], *, total: int | None = None, description: str = "") -> Iterator[Item]:
    """Iterate with a progress bar when a person runs the notebook.

    A sweep over seeds or settings that takes more than a few seconds shows a
    bar in JupyterLab, Colab or a terminal (``tqdm.auto``). When the test
    suite or ``make execute`` runs the notebook they set
    :data:`HIDE_PROGRESS_ENV`, and the bar is not drawn at all: nothing about
    it is stored in the notebook or compared by nbval.

    Parameters
    ----------
    iterable : iterable
    total : int, optional
        Number of items, when ``len(iterable)`` is not available.
    description : str, optional
        Shown before the bar.
    """
    if os.environ.get(HIDE_PROGRESS_ENV):
        yield from iterable
        return
    from tqdm.auto import tqdm

    yield from tqdm(iterable, total=total, desc=description or None, leave=False)
