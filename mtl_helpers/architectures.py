"""Soft parameter sharing: shared bottom, OMoE, MMoE and CGC networks.

Introduced in the chapter on soft sharing. Each network has the members of
the book's reference network :class:`~mtl_helpers.TwoHeadNet` and its
structured-data settings (one linear output per task, biases, ``l2_loss``
per task), so it is a drop-in replacement in the book's trainers::

    SharedBottom  x -> bottom (relu) ------------------------> tower_k -> y_k
    OMoE          x -> experts (relu) -> one gate's mixture --> tower_k -> y_k
    MMoE          x -> experts (relu) -> gate_k's mixture ----> tower_k -> y_k
    CGC           x -> shared + task k's own experts -> gate_k's mixture -> tower_k -> y_k

An expert is one ReLU layer; a tower is a ReLU layer of ``tower_units``
and a linear output (``tower_units=0``: no hidden layer); a gate is
``softmax(x @ W + b)``, one weight per expert and example.
:func:`~mtl_helpers.architecture_sizes.matched_sizes` gives every architecture about the same number of
parameters, for fair comparisons.

References: Ma, Zhao, Yi, Chen, Hong and Chi, "Modeling task relationships in
multi-task learning with multi-gate mixture-of-experts", KDD 2018 (shared
bottom, OMoE, MMoE); Tang, Liu, Zhao and Gong, "Progressive layered
extraction (PLE)", RecSys 2020 (CGC, PLE's single level).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from mtl_helpers._tensorflow import tf
from mtl_helpers._validation import as_float_matrix, batch_arrays, known_task, non_negative_int, positive_int, task_names
from mtl_helpers.data import TASKS
from mtl_helpers.models import TaskLoss, _task_loss

__all__ = ["CGC", "MMoE", "OMoE", "SharedBottom"]

# One variable: (name, shape, owner, init); owner None for shared variables, else the task.
_Entry = tuple[str, tuple[int, ...], str | None, str]


def _layer(name: str, fan_in: int, units: int | tuple[int, ...], owner: str | None, init: str = "he") -> list[_Entry]:
    """A kernel (fan_in, *units) and its bias (*units), initialised with zeros."""
    units = units if isinstance(units, tuple) else (units,)
    return [(name, (fan_in, *units), owner, init), (f"{name}_bias", units, owner, "zeros")]


def _tower_layout(task: str, in_units: int, tower_units: int) -> list[_Entry]:
    hidden = _layer(f"{task}_tower", in_units, tower_units, task) if tower_units else []
    return hidden + _layer(f"{task}_output", tower_units or in_units, 1, task)


def _draw(rng: np.random.Generator, shape: tuple[int, ...], init: str) -> np.ndarray:
    if init == "zeros":
        return np.zeros(shape, np.float32)
    variance = (2.0 if init == "he" else 1.0) / shape[0]  # He-normal (ReLU layers), LeCun-normal (gates)
    return (rng.standard_normal(shape) * np.sqrt(variance)).astype(np.float32)


def _dense(params: Mapping[str, tf.Tensor], name: str, inputs: tf.Tensor) -> tf.Tensor:
    """``inputs @ params[name] + params[name + "_bias"]``: (..., n, k) -> (..., n, units)."""
    return tf.matmul(inputs, params[name]) + params[f"{name}_bias"][..., None, :]


class _MultiTaskNet(tf.Module):
    """Variables, weights, losses and checks shared by the networks of this module.

    ``sizes`` (validated by the subclass) become attributes; the subclass
    lists its variables in ``_layout_for(**sizes, tasks=...)``, shared first.
    """

    out_dim: ClassVar[int] = 1

    def __init__(self, sizes: dict[str, int], *, tasks: Sequence[str], seed: int, loss: TaskLoss) -> None:
        super().__init__(name=type(self).__name__.lower())
        self.sizes = sizes
        for key, value in sizes.items():
            setattr(self, key, value)
        self.tasks = task_names(tasks)
        if "x" in self.tasks:
            raise ValueError(f"'x' is the batch's input key and cannot name a task; got tasks {list(self.tasks)}")
        self.loss = _task_loss(loss)
        self._owners = {name: owner for name, _, owner, _ in self._layout()}
        self._variables = {name: tf.Variable(array, name=name) for name, array in self._initial_arrays(seed).items()}

    @classmethod
    def _layout_for(cls, **sizes: Any) -> list[_Entry]:
        raise NotImplementedError

    def _layout(self) -> list[_Entry]:
        return self._layout_for(**self.sizes, tasks=self.tasks)

    # -- weights ------------------------------------------------------------
    def _initial_arrays(self, seed: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(non_negative_int(seed, name="seed"))
        return {name: _draw(rng, shape, init) for name, shape, _, init in self._layout()}

    def initialize(self, seed: int) -> None:
        """Assign the weights a new network built with ``seed`` starts from (bit for bit)."""
        for name, array in self._initial_arrays(seed).items():
            self._variables[name].assign(array)

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies of every weight and bias, keyed by name, shared ones first."""
        return {name: variable.numpy().copy() for name, variable in self._variables.items()}

    def set_weights(self, weights: Mapping[str, Any]) -> None:
        """Assign every weight and bias from arrays keyed like :meth:`get_weights`."""
        if not isinstance(weights, Mapping) or set(weights) != set(self._variables):
            got = sorted(weights) if isinstance(weights, Mapping) else type(weights).__name__
            raise ValueError(f"weights must have exactly the keys {sorted(self._variables)}, got {got}; use get_weights()")
        arrays = {name: np.asarray(weights[name], dtype=np.float32) for name in self._variables}
        for name, variable in self._variables.items():
            if arrays[name].shape != tuple(variable.shape) or not np.all(np.isfinite(arrays[name])):
                shape = tuple(variable.shape)
                raise ValueError(f"weights[{name!r}] must be finite with shape {shape}, got shape {arrays[name].shape}")
        for name, variable in self._variables.items():
            variable.assign(arrays[name])

    @property
    def shared_variables(self) -> list[tf.Variable]:
        """The variables every task's loss depends on."""
        return [variable for name, variable in self._variables.items() if self._owners[name] is None]

    def own_variables(self, task: str) -> list[tf.Variable]:
        """The variables only task ``task``'s loss depends on (its tower; its gate and experts if any)."""
        known_task(task, self.tasks)
        return [variable for name, variable in self._variables.items() if self._owners[name] == task]

    def trainable_for(self, task: str) -> list[tf.Variable]:
        """The variables task ``task``'s loss depends on: the shared ones, then its own."""
        return self.shared_variables + self.own_variables(task)

    @property
    def all_variables(self) -> list[tf.Variable]:
        """Every variable, shared ones first, then each task's in ``tasks`` order."""
        return self.shared_variables + [v for task in self.tasks for v in self.own_variables(task)]

    def parameter_breakdown(self) -> dict[str, int]:
        """Number of parameters that are shared and that each task owns: ``{"shared": ..., "y1": ...}``."""
        counts = {"shared": 0, **{task: 0 for task in self.tasks}}
        for _, shape, owner, _ in self._layout():
            counts[owner or "shared"] += int(np.prod(shape))
        return counts

    def parameter_count(self) -> int:
        """Total number of trainable parameters (weights and biases)."""
        return sum(self.parameter_breakdown().values())

    def __repr__(self) -> str:
        sizes = ", ".join(f"{key}={value}" for key, value in self.sizes.items())
        return f"{type(self).__name__}({sizes}, tasks={self.tasks}) with {self.parameter_count()} parameters"

    # -- data and predictions -----------------------------------------------
    @property
    def input_spec(self) -> tf.TensorSpec:
        """The spec of a batch's inputs: float32, shape (None, in_dim)."""
        return tf.TensorSpec([None, self.in_dim], tf.float32)

    def batch_spec(self, task: str) -> tf.TensorSpec:
        """The spec of one task's targets: float32, shape (None, 1)."""
        known_task(task, self.tasks)
        return tf.TensorSpec([None, self.out_dim], tf.float32)

    def check_batch(self, batch: Any, tasks: Sequence[str]) -> dict[str, np.ndarray]:
        """Validated float32 arrays ``{"x": (n, in_dim), task: (n, 1), ...}`` for ``tasks`` (others ignored)."""
        for task in tasks:
            known_task(task, self.tasks)
        return batch_arrays(batch, tasks=tasks, in_dim=self.in_dim, out_dim=self.out_dim)

    def _input(self, x: Any) -> tf.Tensor:
        if not isinstance(x, tf.Tensor):
            return tf.constant(as_float_matrix(x, name="x", cols=self.in_dim))
        if x.shape.rank is not None and (x.shape.rank != 2 or x.shape[-1] not in (None, self.in_dim)):
            raise ValueError(f"x must have shape (n, {self.in_dim}), got {tuple(x.shape)}")
        return x

    def __call__(self, x: Any) -> dict[str, tf.Tensor]:
        """Each task's prediction, ``{task: (n, 1)}``, from inputs ``x`` of shape (n, in_dim)."""
        return self.forward(self._variables, self._input(x))

    def forward(self, params: Mapping[str, tf.Tensor], x: tf.Tensor) -> dict[str, tf.Tensor]:
        """The network as a function of its weights: ``{task: (..., n, 1)}``.

        ``params`` is keyed like :meth:`get_weights`; every entry, and ``x``
        (n, in_dim), may carry the same leading axes, e.g. S seeds' weights
        stacked to (S, *shape) with inputs (S, n, in_dim): then one call runs
        the S networks. ``net(x)`` is ``net.forward(current weights, x)``.
        """
        raise NotImplementedError

    @staticmethod
    def _tower(params: Mapping[str, tf.Tensor], task: str, features: tf.Tensor) -> tf.Tensor:
        if f"{task}_tower" in params:
            features = tf.nn.relu(_dense(params, f"{task}_tower", features))
        return _dense(params, f"{task}_output", features)

    def losses(self, batch: Mapping[str, Any]) -> dict[str, tf.Tensor]:
        """Each task's training loss, ``tf.nn.l2_loss(target - prediction)`` or the MSE (see ``loss``).

        ``batch`` holds ``"x"`` (n, in_dim) and targets (n, 1) for some tasks;
        tasks missing from the batch are skipped.
        """
        if not isinstance(batch, Mapping):
            raise TypeError(f"a batch must be a dict like {{'x': ..., 'y1': ...}}, got {type(batch).__name__}")
        present = [task for task in self.tasks if task in batch]
        if not present:
            raise ValueError(f"the batch holds no task targets; expected some of {list(self.tasks)}, got {sorted(batch)}")
        if not all(isinstance(batch[key], tf.Tensor) for key in ["x", *present]):
            batch = {key: tf.constant(value) for key, value in self.check_batch(batch, present).items()}
        predictions = self(batch["x"])
        if self.loss == "mean_squared_error":
            return {task: tf.reduce_mean(tf.square(batch[task] - predictions[task])) for task in present}
        return {task: tf.nn.l2_loss(batch[task] - predictions[task]) for task in present}

    def evaluate(self, batch: Mapping[str, Any]) -> dict[str, float]:
        """Mean squared error per target value of each task present in ``batch`` (lower is better)."""
        present = [task for task in self.tasks if isinstance(batch, Mapping) and task in batch]
        arrays = self.check_batch(batch, present)
        predictions = self(arrays["x"])
        return {task: float(tf.reduce_mean(tf.square(arrays[task] - predictions[task]))) for task in present}


class SharedBottom(_MultiTaskNet):
    """Hard parameter sharing: one shared ReLU layer, then one tower per task.

    The MMoE paper's baseline (Ma et al., KDD 2018). With ``tower_units=0``
    it is ``TwoHeadNet(in_dim, bottom_units, **STRUCTURED_NET, seed=seed)``,
    bit for bit.

    Parameters
    ----------
    in_dim : int, default 10
    bottom_units : int, default 16
        Width of the shared layer, kernel (in_dim, bottom_units).
    tower_units : int, default 8
        Width of each task's hidden tower layer; 0 for none.
    tasks : tuple of str, default ("y1", "y2")
    seed : int, default 0
        He-normal kernels drawn with ``np.random.default_rng(seed)``; zero biases.
    loss : {"l2_loss", "mean_squared_error"}, default "l2_loss"
        Each task's training loss, as for :class:`~mtl_helpers.TwoHeadNet`.

    Examples
    --------
    >>> net = SharedBottom(in_dim=10, bottom_units=16, tower_units=8, seed=0)
    >>> {task: tuple(out.shape) for task, out in net(np.ones((4, 10), "float32")).items()}
    {'y1': (4, 1), 'y2': (4, 1)}
    >>> net.parameter_count()  # 10*16+16 + 2 * (16*8+8 + 8+1)
    466
    """

    def __init__(self, in_dim: int = 10, bottom_units: int = 16, tower_units: int = 8, *, tasks: Sequence[str] = TASKS,
                 seed: int = 0, loss: TaskLoss = "l2_loss") -> None:
        sizes = {"in_dim": positive_int(in_dim, name="in_dim"), "bottom_units": positive_int(bottom_units, name="bottom_units"),
                 "tower_units": non_negative_int(tower_units, name="tower_units")}
        super().__init__(sizes, tasks=tasks, seed=seed, loss=loss)

    @classmethod
    def _layout_for(cls, *, in_dim: int, bottom_units: int, tower_units: int, tasks: tuple[str, ...]) -> list[_Entry]:
        towers = [entry for task in tasks for entry in _tower_layout(task, bottom_units, tower_units)]
        return _layer("bottom", in_dim, bottom_units, None) + towers

    def forward(self, params: Mapping[str, tf.Tensor], x: tf.Tensor) -> dict[str, tf.Tensor]:
        bottom = tf.nn.relu(_dense(params, "bottom", x))
        return {task: self._tower(params, task, bottom) for task in self.tasks}


class _ExpertNet(_MultiTaskNet):
    """Experts (one ReLU layer each), softmax gates and towers."""

    one_gate: ClassVar[bool] = False
    task_experts: int = 0

    @classmethod
    def _expert_layout(cls, *, in_dim: int, shared_experts: int, task_experts: int, expert_units: int, tower_units: int,
                       tasks: tuple[str, ...]) -> list[_Entry]:
        gated = shared_experts + task_experts
        layout = _layer("experts", in_dim, (shared_experts, expert_units), None)
        if cls.one_gate:
            layout += _layer("gate", in_dim, gated, None, "lecun")
        for task in tasks:
            if task_experts:
                layout += _layer(f"{task}_experts", in_dim, (task_experts, expert_units), task)
            if not cls.one_gate:
                layout += _layer(f"{task}_gate", in_dim, gated, task, "lecun")
            layout += _tower_layout(task, expert_units, tower_units)
        return layout

    @staticmethod
    def _experts(params: Mapping[str, tf.Tensor], prefix: str, x: tf.Tensor) -> tf.Tensor:
        outputs = tf.einsum("...nd,...deh->...neh", x, params[prefix]) + params[f"{prefix}_bias"][..., None, :, :]
        return tf.nn.relu(outputs)  # (..., n, experts, units)

    def _gates(self, params: Mapping[str, tf.Tensor], x: tf.Tensor) -> dict[str, tf.Tensor]:
        if self.one_gate:
            gate = tf.nn.softmax(_dense(params, "gate", x))
            return {task: gate for task in self.tasks}
        return {task: tf.nn.softmax(_dense(params, f"{task}_gate", x)) for task in self.tasks}

    def gates(self, x: Any) -> dict[str, tf.Tensor]:
        """Each task's gate, ``{task: (n, n_gated_experts)}``: expert weights per example, rows sum to 1.

        For CGC the columns are the shared experts, then the task's own.
        """
        return self._gates(self._variables, self._input(x))

    def forward(self, params: Mapping[str, tf.Tensor], x: tf.Tensor) -> dict[str, tf.Tensor]:
        shared = self._experts(params, "experts", x)
        outputs = {}
        for task, gate in self._gates(params, x).items():
            experts = shared
            if self.task_experts:
                experts = tf.concat([shared, self._experts(params, f"{task}_experts", x)], axis=-2)
            outputs[task] = self._tower(params, task, tf.einsum("...ne,...neh->...nh", gate, experts))
        return outputs


class OMoE(_ExpertNet):
    """One-gate mixture of experts: one softmax gate, shared by all tasks, mixes the experts.

    The one-gate baseline of Ma et al., "Modeling task relationships in
    multi-task learning with multi-gate mixture-of-experts", KDD 2018.
    Shared: the experts and the gate; each task owns its tower.

    Parameters
    ----------
    in_dim : int, default 10
    n_experts : int, default 4
        Number of experts; each is a ReLU layer (in_dim, expert_units).
    expert_units : int, default 8
    tower_units : int, default 8
        Width of each task's hidden tower layer; 0 for none.
    tasks : tuple of str, default ("y1", "y2")
    seed : int, default 0
        He-normal expert and tower kernels, LeCun-normal gate kernels, zero biases.
    loss : {"l2_loss", "mean_squared_error"}, default "l2_loss"

    Examples
    --------
    >>> net = OMoE(in_dim=10, n_experts=4, expert_units=8, tower_units=8, seed=0)
    >>> gates = net.gates(np.ones((3, 10), "float32"))
    >>> tuple(gates["y1"].shape), np.allclose(gates["y1"].numpy().sum(axis=1), 1.0)
    ((3, 4), True)
    >>> net.parameter_count()  # 4*(10*8+8) + (10*4+4) + 2 * (8*8+8 + 8+1)
    558
    """

    one_gate = True

    def __init__(self, in_dim: int = 10, n_experts: int = 4, expert_units: int = 8, tower_units: int = 8, *,
                 tasks: Sequence[str] = TASKS, seed: int = 0, loss: TaskLoss = "l2_loss") -> None:
        sizes = {"in_dim": positive_int(in_dim, name="in_dim"), "n_experts": positive_int(n_experts, name="n_experts"),
                 "expert_units": positive_int(expert_units, name="expert_units"),
                 "tower_units": non_negative_int(tower_units, name="tower_units")}
        super().__init__(sizes, tasks=tasks, seed=seed, loss=loss)

    @classmethod
    def _layout_for(cls, *, n_experts: int, **sizes: Any) -> list[_Entry]:
        return cls._expert_layout(shared_experts=n_experts, task_experts=0, **sizes)


class MMoE(OMoE):
    """Multi-gate mixture of experts: each task's own softmax gate mixes the shared experts.

    From Ma, Zhao, Yi, Chen, Hong and Chi, "Modeling task relationships in
    multi-task learning with multi-gate mixture-of-experts", KDD 2018.
    Shared: the experts; each task owns its gate and tower. Parameters as
    for :class:`OMoE`.

    Examples
    --------
    >>> net = MMoE(in_dim=10, n_experts=4, expert_units=8, tower_units=8, seed=0)
    >>> {task: tuple(gate.shape) for task, gate in net.gates(np.ones((3, 10), "float32")).items()}
    {'y1': (3, 4), 'y2': (3, 4)}
    >>> net.parameter_count()  # 4*(10*8+8) + 2 * ((10*4+4) + 8*8+8 + 8+1)
    602
    """

    one_gate = False


class CGC(_ExpertNet):
    """Customized gate control: shared experts plus each task's own, mixed by the task's gate.

    The single-level version of PLE, from Tang, Liu, Zhao and Gong,
    "Progressive layered extraction (PLE): a novel multi-task learning (MTL)
    model for personalized recommendations", RecSys 2020. Task k's gate
    weighs the shared experts and task k's own experts only. Shared: the
    shared experts; each task owns its experts, gate and tower.

    Parameters
    ----------
    in_dim : int, default 10
    shared_experts : int, default 2
    task_experts : int, default 1
        Experts owned by each task (at least 1; with none, CGC is MMoE).
    expert_units, tower_units, tasks, seed, loss
        As for :class:`OMoE`.

    Examples
    --------
    >>> net = CGC(in_dim=10, shared_experts=2, task_experts=1, expert_units=8, tower_units=8, seed=0)
    >>> {task: tuple(gate.shape) for task, gate in net.gates(np.ones((3, 10), "float32")).items()}
    {'y1': (3, 3), 'y2': (3, 3)}
    >>> net.parameter_breakdown()  # shared: 2*(10*8+8); each task: 10*8+8 + 10*3+3 + 8*8+8 + 8+1
    {'shared': 176, 'y1': 202, 'y2': 202}
    """

    def __init__(self, in_dim: int = 10, shared_experts: int = 2, task_experts: int = 1, expert_units: int = 8,
                 tower_units: int = 8, *, tasks: Sequence[str] = TASKS, seed: int = 0, loss: TaskLoss = "l2_loss") -> None:
        sizes = {"in_dim": positive_int(in_dim, name="in_dim"),
                 "shared_experts": positive_int(shared_experts, name="shared_experts"),
                 "task_experts": positive_int(task_experts, name="task_experts"),
                 "expert_units": positive_int(expert_units, name="expert_units"),
                 "tower_units": non_negative_int(tower_units, name="tower_units")}
        super().__init__(sizes, tasks=tasks, seed=seed, loss=loss)

    @classmethod
    def _layout_for(cls, **sizes: Any) -> list[_Entry]:
        return cls._expert_layout(**sizes)

