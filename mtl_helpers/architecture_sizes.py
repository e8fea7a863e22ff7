"""Sizes that give every soft-sharing architecture about the same number of parameters.

A fair comparison of architectures (the chapter on soft sharing, after Ma et
al., KDD 2018) holds the parameter count fixed: :func:`matched_sizes` chooses
each architecture's free width, :class:`MatchedSize` records the choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mtl_helpers._validation import non_negative_int, positive_int, task_names
from mtl_helpers.architectures import CGC, MMoE, OMoE, SharedBottom
from mtl_helpers.data import TASKS

__all__ = ["MatchedSize", "matched_sizes"]


@dataclass(frozen=True)
class MatchedSize:
    """One architecture's sizes chosen by :func:`matched_sizes`: its class, constructor
    arguments (without ``seed``), parameter count and the target count."""

    architecture: type
    kwargs: dict[str, Any] = field(repr=False)
    parameters: int
    target: int

    @property
    def difference(self) -> float:
        """Relative difference to the target, ``parameters / target - 1``."""
        return self.parameters / self.target - 1.0

    def build(self, *, seed: int = 0) -> Any:
        """A new network with these sizes, initialised with ``seed``."""
        return self.architecture(**self.kwargs, seed=seed)

    def row(self) -> dict[str, Any]:
        """One row for a table: model, sizes, parameters and difference to the target (%)."""
        sizes = ", ".join(f"{key}={value}" for key, value in self.kwargs.items() if key not in ("in_dim", "tasks"))
        return {"model": self.architecture.__name__, "sizes": sizes, "parameters": self.parameters,
                "difference (%)": round(100 * self.difference, 1)}


def matched_sizes(target_parameters: int, *, in_dim: int = 10, n_experts: int = 4, tower_units: int = 8,
                  task_experts: int = 1, tasks: Sequence[str] = TASKS, tolerance: float = 0.05) -> dict[str, MatchedSize]:
    """Sizes that give each architecture about ``target_parameters`` parameters.

    One width is free: the shared layer's ``bottom_units`` for
    :class:`SharedBottom`, ``expert_units`` for the others; the closest count
    wins. OMoE and MMoE get ``n_experts`` experts; CGC gets ``task_experts``
    per task and the rest of the ``n_experts`` shared, so that every
    architecture has ``n_experts`` experts in all. Each step of
    ``expert_units`` adds about ``n_experts * (in_dim + 1)`` parameters, so
    small targets cannot be matched closely.

    Parameters
    ----------
    target_parameters : int
        For example ``MMoE(n_experts=4, expert_units=8).parameter_count()``.
    in_dim, n_experts, tower_units, task_experts : int
    tasks : tuple of str, default ("y1", "y2")
    tolerance : float, default 0.05
        Largest accepted relative difference; a ValueError names the
        architecture that misses it.

    Returns
    -------
    dict
        ``{"SharedBottom": MatchedSize, "OMoE": ..., "MMoE": ..., "CGC": ...}``;
        ``sizes["MMoE"].build(seed=0)`` makes a network, ``.row()`` a table row.

    Examples
    --------
    >>> sizes = matched_sizes(1000, in_dim=10, n_experts=4, tower_units=8)
    >>> {name: matched.parameters for name, matched in sizes.items()}
    {'SharedBottom': 1006, 'OMoE': 978, 'MMoE': 1022, 'CGC': 1000}
    >>> sizes["MMoE"].row()
    {'model': 'MMoE', 'sizes': 'n_experts=4, expert_units=15, tower_units=8', 'parameters': 1022, 'difference (%)': 2.2}
    >>> sizes["MMoE"].build(seed=0).parameter_count()
    1022
    """
    target = positive_int(target_parameters, name="target_parameters")
    tasks = task_names(tasks)
    n_experts, task_experts = positive_int(n_experts, name="n_experts"), positive_int(task_experts, name="task_experts")
    shared_experts = n_experts - len(tasks) * task_experts
    if shared_experts < 1:
        raise ValueError(
            f"CGC needs at least one shared expert, but n_experts={n_experts} minus {len(tasks)} tasks x "
            f"task_experts={task_experts} leaves {shared_experts}; raise n_experts or lower task_experts"
        )
    if not 0 < tolerance < 1:
        raise ValueError(f"tolerance must be between 0 and 1, e.g. 0.05 for 5%, got {tolerance!r}")
    in_dim, tower_units = positive_int(in_dim, name="in_dim"), non_negative_int(tower_units, name="tower_units")
    families = {
        SharedBottom: ("bottom_units", {}),
        OMoE: ("expert_units", {"n_experts": n_experts}),
        MMoE: ("expert_units", {"n_experts": n_experts}),
        CGC: ("expert_units", {"shared_experts": shared_experts, "task_experts": task_experts}),
    }
    result = {}
    for architecture, (free, fixed) in families.items():
        best = None
        for width in range(1, 1_000_000):
            kwargs = {"in_dim": in_dim, **fixed, free: width, "tower_units": tower_units, "tasks": tasks}
            count = sum(int(np.prod(shape)) for _, shape, _, _ in architecture._layout_for(**kwargs))
            candidate = MatchedSize(architecture, kwargs, count, target)
            if best is None or abs(candidate.difference) < abs(best.difference):
                best = candidate
            if count > target:
                break
        if abs(best.difference) > tolerance:
            raise ValueError(
                f"{architecture.__name__} cannot get within {tolerance:.0%} of {target} parameters (closest: "
                f"{best.parameters} with {free}={best.kwargs[free]}); raise target_parameters or the tolerance"
            )
        result[architecture.__name__] = best
    return result
