"""Data for the book: the article's random feed and related regression tasks.

Batches are always dicts keyed ``"x"`` and the task names, for example
``{"x": (n, 10), "y1": (n, 1), "y2": (n, 1)}``.

* :func:`article_batch` and :func:`article_weights` reproduce the article's
  ``np.random.rand(...) * 10`` feed and its initial weights (chapters 2-4).
* :class:`RelatedTasks` generates two regression tasks whose relatedness is
  set by one number, adapted from Ma et al. (2018) (chapters 3-8).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mtl_helpers._validation import int_at_least, non_negative_int, positive_int

__all__ = ["TASKS", "article_batch", "article_weights", "RelatedTasks"]

#: The two task names used throughout the book.
TASKS: tuple[str, str] = ("y1", "y2")


def _check_rng(rng: np.random.Generator) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy Generator, got {type(rng).__name__}; "
            "create one with np.random.default_rng(seed)"
        )
    return rng


def article_batch(
    rng: np.random.Generator, batch_size: int = 10, *, in_dim: int = 10, out_dim: int = 20, scale: float = 10.0
) -> dict[str, np.ndarray]:
    """One batch of the article's feed: uniform noise in [0, scale).

    The article feeds ``np.random.rand(10, 10) * 10`` as ``X`` and
    ``np.random.rand(10, 20) * 10`` as each target. The targets are pure noise,
    so there is nothing for a network to learn; use this only to reproduce the
    article.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness, e.g. ``np.random.default_rng(0)``.
    batch_size : int, default 10
    in_dim, out_dim : int, default 10 and 20
    scale : float, default 10.0

    Returns
    -------
    dict
        ``{"x": (batch_size, in_dim), "y1": (batch_size, out_dim),
        "y2": (batch_size, out_dim)}``, float32.

    Examples
    --------
    >>> batch = article_batch(np.random.default_rng(0))
    >>> {key: value.shape for key, value in batch.items()}
    {'x': (10, 10), 'y1': (10, 20), 'y2': (10, 20)}
    """
    _check_rng(rng)
    batch_size = positive_int(batch_size, name="batch_size")
    in_dim = positive_int(in_dim, name="in_dim")
    out_dim = positive_int(out_dim, name="out_dim")
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    batch = {"x": rng.random((batch_size, in_dim)) * scale}
    for task in TASKS:
        batch[task] = rng.random((batch_size, out_dim)) * scale
    return {key: value.astype(np.float32) for key, value in batch.items()}


def article_weights(
    rng: np.random.Generator, *, in_dim: int = 10, shared_units: int = 20, head_units: int = 20
) -> dict[str, np.ndarray]:
    """The article's initial weights: ``np.random.rand`` (all in [0, 1)).

    Returns
    -------
    dict
        ``{"shared": (in_dim, shared_units), "y1": (shared_units, head_units),
        "y2": (shared_units, head_units)}``, float32, ready for
        ``TwoHeadNet(weights=...)`` or ``compat_v1`` trainers.
    """
    _check_rng(rng)
    in_dim = positive_int(in_dim, name="in_dim")
    shared_units = positive_int(shared_units, name="shared_units")
    head_units = positive_int(head_units, name="head_units")
    weights = {"shared": rng.random((in_dim, shared_units))}
    for task in TASKS:
        weights[task] = rng.random((shared_units, head_units))
    return {key: value.astype(np.float32) for key, value in weights.items()}


@dataclass(frozen=True)
class RelatedTasks:
    """Two synthetic regression tasks whose relatedness is one number.

    Adapted from the synthetic benchmark of Ma et al. (KDD 2018, section
    3.2), with this book's constants. Draw
    orthogonal unit vectors ``u1, u2`` in R^d and set::

        w1 = c * u1
        w2 = c * (p * u1 + sqrt(1 - p**2) * u2)
        y_k = w_k . x + sum_i sin(alpha_i * (w_k . x) + beta_i) + noise,  x ~ N(0, I)

    Ma et al. do not give their ``alpha_i`` and ``beta_i``; large frequencies
    scramble the sine terms so much that the label correlation stays near 0
    until p is almost 1. The constants here, ``alpha = (0.5, 1.0, 1.5)`` and ``beta = (0.0, 0.5, 1.0)`` with
    ``c = 1``, keep a clear non-linearity (the sine terms carry about as much
    variance as the linear term) while the Pearson correlation of ``y1`` and
    ``y2`` tracks ``p``: about 0.22, 0.45, 0.71, 0.88 and 1.0 (noise-free)
    for p = 0.25, 0.5, 0.75, 0.9 and 1.

    Parameters
    ----------
    correlation : float
        The knob ``p`` in [-1, 1]: the cosine between ``w1`` and ``w2``.
    in_dim : int, default 10
        Input dimension ``d`` (at least 2).
    noise_std : float, default 0.1
        Standard deviation of the Gaussian label noise.
    scale : float, default 1.0
        The constant ``c``.
    seed : int, default 0
        Seeds the directions ``u1, u2``; sampling takes its own seed.

    Examples
    --------
    >>> tasks = RelatedTasks(correlation=0.8, seed=0)
    >>> batch = tasks.sample(256, seed=1)
    >>> {key: value.shape for key, value in batch.items()}
    {'x': (256, 10), 'y1': (256, 1), 'y2': (256, 1)}
    """

    correlation: float
    in_dim: int = 10
    noise_std: float = 0.1
    scale: float = 1.0
    seed: int = 0
    alphas: tuple[float, ...] = (0.5, 1.0, 1.5)
    betas: tuple[float, ...] = (0.0, 0.5, 1.0)
    task_vectors: dict[str, np.ndarray] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not np.isfinite(self.correlation) or not -1.0 <= self.correlation <= 1.0:
            raise ValueError(f"correlation must be in [-1, 1], got {self.correlation!r}")
        int_at_least(self.in_dim, 2, name="in_dim")
        non_negative_int(self.seed, name="seed")
        if not np.isfinite(self.noise_std) or self.noise_std < 0:
            raise ValueError(f"noise_std must be >= 0, got {self.noise_std!r}")
        if not np.isfinite(self.scale) or self.scale <= 0:
            raise ValueError(f"scale must be > 0, got {self.scale!r}")
        if len(self.alphas) != len(self.betas):
            raise ValueError(f"alphas and betas must have the same length, got {len(self.alphas)} and {len(self.betas)}")
        rng = np.random.default_rng(self.seed)
        basis, _ = np.linalg.qr(rng.standard_normal((self.in_dim, 2)))
        u1, u2 = basis[:, 0], basis[:, 1]
        p = float(self.correlation)
        vectors = {"y1": self.scale * u1, "y2": self.scale * (p * u1 + np.sqrt(1.0 - p * p) * u2)}
        object.__setattr__(self, "task_vectors", vectors)

    @property
    def tasks(self) -> tuple[str, ...]:
        """The task names, ``("y1", "y2")``."""
        return TASKS

    def _labels(self, task: str, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        projection = x @ self.task_vectors[task]  # (n,)
        waves = np.sin(np.outer(projection, self.alphas) + np.asarray(self.betas)).sum(axis=1)
        noise = self.noise_std * rng.standard_normal(projection.shape)
        return (projection + waves + noise)[:, None]

    def sample(self, n_samples: int, *, seed: int, tasks: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
        """Draw ``n_samples`` inputs labelled for every task (or ``tasks``).

        Parameters
        ----------
        n_samples : int
        seed : int
            Seeds the inputs and the label noise.
        tasks : tuple of str, optional
            Which labels to include, default both. ``("y1",)`` gives a
            single-task data set, as in alternating training.

        Returns
        -------
        dict
            ``{"x": (n_samples, in_dim), task: (n_samples, 1), ...}``, float32.
        """
        n_samples = positive_int(n_samples, name="n_samples")
        non_negative_int(seed, name="seed")
        tasks = self.tasks if tasks is None else tuple(tasks)
        for task in tasks:
            if task not in self.tasks:
                raise ValueError(f"unknown task {task!r}; expected some of {list(self.tasks)}")
        rng = np.random.default_rng([self.seed, seed])
        x = rng.standard_normal((n_samples, self.in_dim))
        batch = {"x": x}
        for task in tasks:
            batch[task] = self._labels(task, x, rng)
        return {key: value.astype(np.float32) for key, value in batch.items()}

    def sample_separate(self, sizes: dict[str, int], *, seed: int) -> dict[str, dict[str, np.ndarray]]:
        """One data set per task, each with its own inputs and size.

        This is the setting of alternating training: ``sizes={"y1": 2000,
        "y2": 100}`` gives ``{"y1": {"x": (2000, d), "y1": (2000, 1)},
        "y2": {"x": (100, d), "y2": (100, 1)}}``.
        """
        if not isinstance(sizes, dict) or not sizes:
            raise ValueError(f"sizes must be a non-empty dict such as {{'y1': 1000, 'y2': 50}}, got {sizes!r}")
        datasets = {}
        for offset, (task, size) in enumerate(sizes.items()):
            if task not in self.tasks:
                raise ValueError(f"unknown task {task!r} in sizes; expected some of {list(self.tasks)}")
            datasets[task] = self.sample(size, seed=seed * 1000 + offset, tasks=(task,))
        return datasets
