"""Experiments of chapter 5: the bias pitfalls of alternating training.

The article names two ways alternating training can favour one task, and
chapter 5 adds a third from joint training. The helpers here run each
pitfall over several seeds and measure it:

* :class:`PitfallLab`: one small network and one trainer of each kind,
  restarted from a seed's initial weights for every run, so each compiled
  training loop is traced only once;
* :func:`shared_readout_r2`: how well the shared features linearly predict
  each task (what the shared layer ends up serving);
* :func:`size_ratio_sweep`: pitfall 1, a data-rich task and task samplers;
* :func:`block_sweep` and :func:`final_block_drift`: pitfall 2, block
  schedules and the task trained last;
* :func:`loss_scale_experiment`: pitfall 3, targets in different units in
  joint training, and its remedies;
* :class:`Results`: per-seed records with a small query interface;
* :func:`remedy_effect` and :func:`format_remedy_table`: the chapter's
  closing table;
* :func:`plot_error_vs_ratio`, :func:`plot_block_curves`,
  :func:`plot_loss_scale`: the chapter's figures.

Every run starts from ``TwoHeadNet(seed=seed, **STRUCTURED_NET)`` and fresh Adam
state, so a seed fixes the initial weights, the data and the mini-batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mtl_helpers._tensorflow import tf
from mtl_helpers._validation import positive_int
from mtl_helpers.data import TASKS, RelatedTasks
from mtl_helpers.models import STRUCTURED_NET, TwoHeadNet
from mtl_helpers.plots import plot_seed_spread
from mtl_helpers.runtime import PALETTE, TASK_COLORS, progress
from mtl_helpers.sampling import BlockSchedule, dataset_sizes
from mtl_helpers.stats import SeedSummary, check_seeds, summarize_seeds
from mtl_helpers.training import AlternatingTrainer, JointTrainer, TrainingLog, article_adam
from mtl_helpers.weighting import (
    FixedWeights,
    TargetScaler,
    UncertaintyWeightedTrainer,
    WeightedJointTrainer,
    WeightedTrainingLog,
    inverse_variance_weights,
)

__all__ = [
    "PitfallLab",
    "RemedyEffect",
    "Results",
    "block_sweep",
    "final_block_drift",
    "format_remedy_table",
    "loss_scale_experiment",
    "plot_block_curves",
    "plot_error_vs_ratio",
    "plot_loss_scale",
    "remedy_effect",
    "restart",
    "shared_readout_r2",
    "size_ratio_sweep",
]

#: The network of chapter 5: one linear output per task, with biases.

SamplerFactory = Callable[[Mapping[str, int], int], Any]


# ----------------------------------------------------------------------------
# Running many seeds with few traces
# ----------------------------------------------------------------------------


def restart(net: TwoHeadNet, trainers: Sequence[Any], *, seed: int) -> None:
    """Put ``net`` and its trainers back to a fresh start for ``seed``.

    The network gets the initial weights of ``TwoHeadNet(seed=seed)`` (same
    sizes and options); every optimizer loses its state (step count and Adam
    moments); learned loss weights go back to their initial values. Nothing
    is traced again, and a run afterwards matches a run with new objects.

    Parameters
    ----------
    net : TwoHeadNet
    trainers : sequence
        Trainers built on ``net``: :class:`~mtl_helpers.AlternatingTrainer`,
        :class:`~mtl_helpers.JointTrainer` or
        :class:`~mtl_helpers.weighting.WeightedJointTrainer`.
    seed : int
    """
    fresh = TwoHeadNet(
        net.in_dim, net.shared_units, net.head_units, seed=seed, output_activation=net.output_activation, use_bias=net.use_bias
    ).get_weights()
    net.set_weights(fresh)
    for trainer in trainers:
        if trainer.net is not net:
            raise ValueError("every trainer must be built on the network being restarted")
        trainer.reset_optimizer_state()
        if isinstance(trainer, WeightedJointTrainer):
            trainer.weighting.reset()


class PitfallLab:
    """One small network and its trainers, reused for every run of a chapter.

    A new trainer traces its compiled loop (about a second). The lab builds
    each kind of trainer once, on first use, and restarts the network and
    every optimizer from ``seed`` before each run (:func:`restart`).

    Parameters
    ----------
    learning_rate : float, default 0.01
        Adam's learning rate (:func:`~mtl_helpers.article_adam`) for every
        trainer.
    batch_size : int, default 32
    jit_compile : bool, default False
        Compile the training loops with XLA: several times faster per step,
        but each trainer compiles again (a second or more) for every new
        chunk length, so keep ``steps`` and ``eval_every`` to a few values.

    Examples
    --------
    >>> lab = PitfallLab()
    >>> tasks = RelatedTasks(correlation=0.5)
    >>> log = lab.joint(tasks.sample(200, seed=0), 20, seed=0, eval_data=tasks.sample(100, seed=1))
    >>> sorted(log.final_mse())
    ['y1', 'y2']
    """

    def __init__(self, *, learning_rate: float = 0.01, batch_size: int = 32, jit_compile: bool = False) -> None:
        if not isinstance(jit_compile, bool):
            raise TypeError(f"jit_compile must be True or False, got {jit_compile!r}")
        self.jit_compile = jit_compile
        self.learning_rate = float(learning_rate)
        article_adam(self.learning_rate)  # checks the value
        self.batch_size = positive_int(batch_size, name="batch_size")
        self.net = TwoHeadNet(seed=0, **STRUCTURED_NET)
        self._trainers: dict[str, Any] = {}

    def _make_optimizer(self) -> tf.keras.optimizers.Optimizer:
        return article_adam(self.learning_rate)

    def trainer(self, kind: str) -> Any:
        """The lab's trainer of one kind, built on first use.

        ``kind`` is ``"alternating"``, ``"joint"`` (plain sum),
        ``"fixed-weights"`` (a :class:`WeightedJointTrainer` with
        :class:`FixedWeights`) or ``"uncertainty"``.
        """
        if kind not in self._trainers:
            options = {"make_optimizer": self._make_optimizer, "jit_compile": self.jit_compile}
            builders = {
                "alternating": lambda: AlternatingTrainer(self.net, **options),
                "joint": lambda: JointTrainer(self.net, **options),
                "fixed-weights": lambda: WeightedJointTrainer(self.net, FixedWeights(), **options),
                "uncertainty": lambda: UncertaintyWeightedTrainer(self.net, **options),
            }
            if kind not in builders:
                raise ValueError(f"unknown trainer kind {kind!r}; expected one of {list(builders)}")
            self._trainers[kind] = builders[kind]()
        return self._trainers[kind]

    @property
    def traced(self) -> list[str]:
        """The kinds of trainer built (and traced) so far."""
        return list(self._trainers)

    def restart(self, seed: int) -> None:
        """Fresh weights for ``seed`` and empty optimizer state for every trainer."""
        restart(self.net, list(self._trainers.values()), seed=seed)

    def alternating(
        self,
        datasets: Mapping[str, Mapping[str, Any]],
        schedule: Sequence[str],
        *,
        seed: int,
        eval_data: Mapping[str, Any] | None = None,
        eval_every: int | None = None,
    ) -> TrainingLog:
        """Restart from ``seed``, then alternating training along ``schedule``.

        See :meth:`mtl_helpers.AlternatingTrainer.fit`; ``seed`` also seeds
        the mini-batches.
        """
        trainer = self.trainer("alternating")
        self.restart(seed)
        return trainer.fit(
            datasets, schedule, batch_size=self.batch_size, seed=seed, eval_data=eval_data, eval_every=eval_every
        )

    def joint(
        self,
        data: Mapping[str, Any],
        steps: int,
        *,
        seed: int,
        eval_data: Mapping[str, Any] | None = None,
        eval_every: int | None = None,
        loss_weights: Mapping[str, float] | None = None,
        uncertainty: bool = False,
    ) -> TrainingLog:
        """Restart from ``seed``, then joint training for ``steps`` steps.

        Parameters
        ----------
        data : dict
            ``{"x", "y1", "y2"}``, every row labelled for both tasks.
        steps : int
        seed : int
        eval_data, eval_every
            As for :meth:`mtl_helpers.JointTrainer.fit`.
        loss_weights : dict, optional
            Fixed weights on the tasks' mean squared errors
            (:class:`WeightedJointTrainer`). Default: the plain sum of
            :class:`~mtl_helpers.JointTrainer`.
        uncertainty : bool, default False
            Use :class:`UncertaintyWeightedTrainer` instead.

        Returns
        -------
        TrainingLog or WeightedTrainingLog
        """
        if uncertainty and loss_weights is not None:
            raise ValueError("give loss_weights or uncertainty=True, not both")
        if uncertainty:
            trainer = self.trainer("uncertainty")
        elif loss_weights is not None:
            trainer = self.trainer("fixed-weights")
            trainer.weighting.assign(loss_weights)
        else:
            trainer = self.trainer("joint")
        self.restart(seed)
        return trainer.fit(data, steps, batch_size=self.batch_size, seed=seed, eval_data=eval_data, eval_every=eval_every)


# ----------------------------------------------------------------------------
# Results over seeds
# ----------------------------------------------------------------------------


class Results:
    """Per-seed records of an experiment, queried by field values.

    Each record is a dict such as ``{"method": "uniform", "ratio": 20,
    "seed": 3, "y1": 0.05, "y2": 0.61}``.

    Examples
    --------
    >>> results = Results([{"method": "a", "seed": s, "y2": float(s)} for s in range(3)])
    >>> results.values("y2", method="a").tolist()
    [0.0, 1.0, 2.0]
    >>> str(results.summary("y2", method="a"))
    '1 ± 1 (n=3)'
    """

    def __init__(self, records: Iterable[Mapping[str, Any]] = ()) -> None:
        self.records: list[dict[str, Any]] = [dict(record) for record in records]

    def add(self, **record: Any) -> None:
        """Append one record."""
        self.records.append(record)

    def __len__(self) -> int:
        return len(self.records)

    def select(self, **where: Any) -> list[dict[str, Any]]:
        """The records whose fields equal ``where``, sorted by seed."""
        chosen = [r for r in self.records if all(key in r and r[key] == value for key, value in where.items())]
        return sorted(chosen, key=lambda r: r.get("seed", 0))

    def values(self, field: str, **where: Any) -> np.ndarray:
        """``field`` of the matching records, one per seed, as an array (n_seeds,)."""
        chosen = self.select(**where)
        if not chosen:
            known = sorted({key for record in self.records for key in record})
            raise ValueError(f"no record matches {where}; fields are {known}")
        if any(field not in record for record in chosen):
            raise ValueError(f"some records matching {where} have no field {field!r}")
        return np.asarray([record[field] for record in chosen], dtype=np.float64)

    def summary(self, field: str, **where: Any) -> SeedSummary:
        """Mean ± std over seeds of ``field`` (see :func:`mtl_helpers.summarize_seeds`)."""
        return summarize_seeds(self.values(field, **where))

    def unique(self, field: str) -> list[Any]:
        """The distinct values of ``field``, in first-seen order."""
        return list(dict.fromkeys(record[field] for record in self.records if field in record))


def _progress_if(show: bool, iterable: Iterable[Any], *, total: int, description: str) -> Iterable[Any]:
    return progress(iterable, total=total, description=description) if show else iterable


# ----------------------------------------------------------------------------
# Pitfall 1: a data-rich task
# ----------------------------------------------------------------------------


def shared_readout_r2(
    net: TwoHeadNet, data: Mapping[str, Any], *, tasks: Sequence[str] = TASKS, ridge: float = 1e-3
) -> dict[str, float]:
    """How well the shared layer's features linearly predict each task.

    Fits a ridge regression (with intercept) from ``net.shared_features(x)``
    to each task's targets on the first half of ``data`` and returns the
    coefficient of determination R² on the second half: 1 means the
    features carry everything a linear readout needs for that task, 0 no
    more than the mean.

    Parameters
    ----------
    net : TwoHeadNet
    data : dict
        Held-out data ``{"x": (n, d), "y1": (n, 1), "y2": (n, 1)}``, n >= 4.
    tasks : sequence of str, default ("y1", "y2")
    ridge : float, default 1e-3
        L2 penalty of the readout.

    Returns
    -------
    dict
        ``{task: R²}`` on the second half.
    """
    x = np.asarray(data["x"], dtype=np.float32)
    if x.shape[0] < 4:
        raise ValueError(f"data needs at least 4 rows (half to fit, half to score), got {x.shape[0]}")
    if not np.isfinite(ridge) or ridge < 0:
        raise ValueError(f"ridge must be a finite number >= 0, got {ridge!r}")
    features = net.shared_features(tf.constant(x)).numpy().astype(np.float64)
    design = np.concatenate([features, np.ones((len(features), 1))], axis=1)
    half = len(design) // 2
    gram = design[:half].T @ design[:half] + ridge * np.eye(design.shape[1])
    scores = {}
    for task in tasks:
        y = np.asarray(data[task], dtype=np.float64)
        coefficients = np.linalg.solve(gram, design[:half].T @ y[:half])
        residual = y[half:] - design[half:] @ coefficients
        scores[task] = float(1.0 - np.mean(residual**2) / np.var(y[half:]))
    return scores


def size_ratio_sweep(
    lab: PitfallLab,
    tasks: RelatedTasks,
    test: Mapping[str, Any],
    *,
    samplers: Mapping[str, SamplerFactory],
    ratios: Sequence[int],
    small_size: int = 100,
    steps: int = 1000,
    seeds: Iterable[int] = range(5),
    progress: bool = True,
) -> Results:
    """Pitfall 1: held-out error and shared-layer readout against the size ratio.

    For each ratio ``r`` and seed, ``y1`` gets ``r * small_size`` examples and
    ``y2`` gets ``small_size`` (``tasks.sample_separate``). Each sampler
    builds a schedule of ``steps`` steps from the data-set sizes; the lab
    trains along it. Single-task baselines train one task alone for
    ``steps`` steps on its own data. A schedule identical to one already run
    (e.g. every sampler gives p = 1/2 at ratio 1) is not run again.

    So that every run feeds the compiled loop arrays of one shape (XLA
    compiles once per shape), each data set is repeated whole to a common
    number of rows, the least common multiple of all sizes. Drawing rows
    uniformly from a data set repeated ``m`` times is drawing uniformly from
    the data set itself; the samplers see the true sizes.

    Parameters
    ----------
    lab : PitfallLab
    tasks : RelatedTasks
    test : dict
        Held-out ``{"x", "y1", "y2"}``.
    samplers : dict
        ``{name: factory(sizes, seed) -> sampler}``, e.g.
        ``{"uniform": lambda sizes, seed: UniformSampler(sizes, seed=seed)}``.
    ratios : sequence of int
        ``N1 / N2`` values, each >= 1.
    small_size : int, default 100
    steps : int, default 1000
    seeds : iterable of int, default range(5)
    progress : bool, default True
        Show a progress bar when a person runs the sweep (see
        :func:`mtl_helpers.progress`).

    Returns
    -------
    Results
        Records ``{"method", "ratio", "seed", "y1", "y2", "readout_y1",
        "readout_y2", "share_y2"}`` with held-out MSEs, readout R² and the
        fraction of steps that trained ``y2``; single-task baselines have
        method ``"single-task"`` and only their own task's MSE.
    """
    seeds = check_seeds(seeds)
    ratios = [positive_int(ratio, name="ratio") for ratio in ratios]
    small_size = positive_int(small_size, name="small_size")
    steps = positive_int(steps, name="steps")
    if not samplers:
        raise ValueError("samplers is empty; pass {name: factory(sizes, seed)}")
    rows = int(np.lcm.reduce([small_size, *(ratio * small_size for ratio in ratios)]))
    if rows > 1_000_000:
        raise ValueError(f"the sizes' least common multiple ({rows}) is too large; use ratios that divide each other")
    results = Results()
    total = len(seeds) * len(ratios)
    runs = ((seed, ratio) for seed in seeds for ratio in ratios)
    single_cache: dict[tuple[str, int, int], float] = {}
    for seed, ratio in _progress_if(progress, runs, total=total, description="size ratios"):
        datasets = tasks.sample_separate({"y1": ratio * small_size, "y2": small_size}, seed=seed)
        sizes = dataset_sizes(datasets)
        repeated = {task: {key: np.tile(value, (rows // sizes[task], 1)) for key, value in data.items()}
                    for task, data in datasets.items()}
        done: dict[bytes, dict[str, float]] = {}
        for name, factory in samplers.items():
            schedule = np.asarray(factory(sizes, seed).schedule(steps))
            key = schedule.tobytes()
            if key not in done:
                log = lab.alternating(repeated, schedule, seed=seed, eval_data=test)
                readout = shared_readout_r2(lab.net, test)
                done[key] = {
                    **log.final_mse(),
                    "readout_y1": readout["y1"],
                    "readout_y2": readout["y2"],
                    "share_y2": float(np.mean(schedule == "y2")),
                }
            results.add(method=name, ratio=ratio, seed=seed, **done[key])
        for task in TASKS:
            size = sizes[task]
            if (task, size, seed) not in single_cache:  # y2's data set is the same at every ratio
                log = lab.alternating(repeated, [task] * steps, seed=seed, eval_data=test)
                single_cache[(task, size, seed)] = log.final_mse()[task]
        results.add(
            method="single-task", ratio=ratio, seed=seed, **{task: single_cache[(task, sizes[task], seed)] for task in TASKS}
        )
    return results


# ----------------------------------------------------------------------------
# Pitfall 2: block schedules and the task trained last
# ----------------------------------------------------------------------------


def final_block_drift(log: TrainingLog, block: int) -> dict[str, float]:
    """How much the idle task's held-out error moved during the final block.

    The final ``block`` steps of a block schedule train one task; the other
    task's head is frozen while the shared layer moves under it. Returns
    that idle task's held-out MSE at the end of training minus its MSE
    ``block`` steps earlier, and the ratio of the two.

    Parameters
    ----------
    log : TrainingLog
        From a block schedule, evaluated at least at step ``steps - block``
        and at the end.
    block : int

    Returns
    -------
    dict
        ``{"task": idle task, "change": end - start, "ratio": end / start}``.
    """
    block = positive_int(block, name="block")
    if not isinstance(log, TrainingLog) or not log.eval_mse:
        raise ValueError("log must be a TrainingLog with held-out errors (fit with eval_data=...)")
    steps = len(log.task)
    if block > steps:
        raise ValueError(f"block ({block}) is longer than the run ({steps} steps)")
    last_block = set(np.asarray(log.task)[steps - block :].tolist())
    if len(last_block) != 1:
        raise ValueError(f"the final {block} steps trained {sorted(last_block)}; pass the schedule's block length")
    trained = last_block.pop()
    idle = [task for task in log.eval_mse if task != trained]
    if len(idle) != 1:
        raise ValueError(f"expected exactly one idle task besides {trained!r}, got {idle}")
    positions = {int(step): i for i, step in enumerate(log.eval_step)}
    if steps - block not in positions or steps not in positions:
        raise ValueError(
            f"the log has no evaluation at step {steps - block} (start of the final block); "
            f"fit with eval_every dividing {steps - block}, or eval_every={steps - block}"
        )
    values = log.eval_mse[idle[0]]
    start, end = float(values[positions[steps - block]]), float(values[positions[steps]])
    return {"task": idle[0], "change": end - start, "ratio": end / start}


def block_sweep(
    lab: PitfallLab,
    tasks: RelatedTasks,
    test: Mapping[str, Any],
    *,
    blocks: Sequence[int],
    steps: int = 2000,
    n_examples: int = 1000,
    seeds: Iterable[int] = range(5),
    curve_block: int | None = None,
    curve_every: int | None = None,
    progress: bool = True,
) -> tuple[Results, dict[tuple[str, int], TrainingLog]]:
    """Pitfall 2: block schedules of several lengths, ending with either task.

    For each seed the data are ``tasks.sample(n_examples)``: the same inputs
    with both labels, split into one data set per task for alternating
    training, and used whole for joint training (method ``"joint"``, the
    remedy that needs no schedule).

    Parameters
    ----------
    lab : PitfallLab
    tasks : RelatedTasks
    test : dict
    blocks : sequence of int
        Block lengths ``k``; ``1`` is fine interleaving.
    steps : int, default 2000
        Must be at least twice the longest block.
    n_examples : int, default 1000
    seeds : iterable of int, default range(5)
    curve_block, curve_every : int, optional
        Evaluate the runs with ``block == curve_block`` every
        ``curve_every`` steps (which must divide ``curve_block`` and
        ``steps``) and return their logs for plotting; other runs are
        evaluated only at the start and the end of their final block.
    progress : bool, default True

    Returns
    -------
    results : Results
        Records ``{"method": "blocks", "block", "last", "seed", "y1", "y2",
        "idle", "drift", "drift_ratio"}`` (see :func:`final_block_drift`)
        and ``{"method": "joint", "seed", "y1", "y2"}``.
    curves : dict
        ``{(last, seed): TrainingLog}`` for ``curve_block``.
    """
    seeds = check_seeds(seeds)
    blocks = [positive_int(block, name="block") for block in blocks]
    steps = positive_int(steps, name="steps")
    if steps < 2 * max(blocks):
        raise ValueError(f"steps ({steps}) must be at least twice the longest block ({max(blocks)})")
    if curve_block is not None:
        curve_every = positive_int(curve_every, name="curve_every")
        if curve_block % curve_every or steps % curve_every:
            raise ValueError(f"curve_every ({curve_every}) must divide curve_block ({curve_block}) and steps ({steps})")
    results, curves = Results(), {}
    runs = [(seed, block, last) for seed in seeds for block in blocks for last in TASKS]
    data_by_seed: dict[int, dict[str, np.ndarray]] = {}
    for seed, block, last in _progress_if(progress, runs, total=len(runs), description="block schedules"):
        if seed not in data_by_seed:
            data_by_seed[seed] = tasks.sample(n_examples, seed=seed)
        data = data_by_seed[seed]
        datasets = {task: {"x": data["x"], task: data[task]} for task in TASKS}
        schedule = BlockSchedule(block, last=last).schedule(steps)
        every = curve_every if block == curve_block else steps - block  # the final block's start and end
        log = lab.alternating(datasets, schedule, seed=seed, eval_data=test, eval_every=every)
        drift = final_block_drift(log, block)
        results.add(
            method="blocks", block=block, last=last, seed=seed, **log.final_mse(),
            idle=drift["task"], drift=drift["change"], drift_ratio=drift["ratio"],
        )
        if block == curve_block:
            curves[(last, seed)] = log
    for seed in seeds:
        log = lab.joint(data_by_seed[seed], steps, seed=seed, eval_data=test)
        results.add(method="joint", seed=seed, **log.final_mse())
    return results, curves


# ----------------------------------------------------------------------------
# Pitfall 3: loss scale in joint training
# ----------------------------------------------------------------------------


def loss_scale_experiment(
    lab: PitfallLab,
    tasks: RelatedTasks,
    test: Mapping[str, Any],
    *,
    scale: float = 100.0,
    steps: int = 1500,
    n_examples: int = 1000,
    seeds: Iterable[int] = range(5),
    eval_every: int | None = None,
    progress: bool = True,
) -> tuple[Results, dict[tuple[str, int], TrainingLog]]:
    """Pitfall 3: ``y1`` in units ``scale`` times larger, joint training, remedies.

    Methods (each run on the same data and seed):

    * ``"same units"``: the original targets, plain sum (the reference);
    * ``"plain sum"``: ``y1 * scale``, plain sum of the losses;
    * ``"target normalisation"``: both targets standardised with the
      training data's statistics (:class:`TargetScaler`), plain sum;
    * ``"fixed weights"``: weights ``1 / Var(y_i)`` on the mean squared
      errors (:func:`inverse_variance_weights`);
    * ``"uncertainty"``: learned weights (:class:`UncertaintyWeightedTrainer`).

    Errors are reported as **normalised MSE**: held-out MSE in the task's
    own units divided by the variance of its held-out targets, so 1 is the
    error of predicting the mean and both tasks are on one scale.

    Returns
    -------
    results : Results
        Records ``{"method", "seed", "y1", "y2"}`` (normalised MSE) and, for
        weighted methods, the final weights ``"weight_y1"``, ``"weight_y2"``.
    logs : dict
        ``{(method, seed): TrainingLog}`` with ``eval_mse`` already
        normalised (when ``eval_every`` is given, for learning curves).
    """
    seeds = check_seeds(seeds)
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    methods = ["same units", "plain sum", "target normalisation", "fixed weights", "uncertainty"]
    results, logs = Results(), {}
    scaled_test = {**test, "y1": np.asarray(test["y1"], dtype=np.float32) * np.float32(scale)}
    variance = {task: float(np.var(scaled_test[task])) for task in TASKS}
    variance_same = {task: float(np.var(test[task])) for task in TASKS}
    runs = [(seed, method) for seed in seeds for method in methods]
    for seed, method in _progress_if(progress, runs, total=len(runs), description="loss scale"):
        original = tasks.sample(n_examples, seed=seed)
        scaled_train = {**original, "y1": original["y1"] * np.float32(scale)}
        factor = {task: 1.0 / variance[task] for task in TASKS}  # MSE -> normalised MSE
        if method == "same units":
            factor = {task: 1.0 / variance_same[task] for task in TASKS}
            log = lab.joint(original, steps, seed=seed, eval_data=test, eval_every=eval_every)
        elif method == "plain sum":
            log = lab.joint(scaled_train, steps, seed=seed, eval_data=scaled_test, eval_every=eval_every)
        elif method == "target normalisation":
            scaler = TargetScaler.fit(scaled_train)
            log = lab.joint(
                scaler.transform(scaled_train), steps, seed=seed, eval_data=scaler.transform(scaled_test), eval_every=eval_every
            )
            # MSE of standardised targets * std**2 = MSE in the original units.
            factor = {task: float(scaler.std[task][0]) ** 2 / variance[task] for task in TASKS}
        elif method == "fixed weights":
            weights = inverse_variance_weights(scaled_train)
            log = lab.joint(scaled_train, steps, seed=seed, eval_data=scaled_test, eval_every=eval_every, loss_weights=weights)
        else:
            log = lab.joint(scaled_train, steps, seed=seed, eval_data=scaled_test, eval_every=eval_every, uncertainty=True)
        log.eval_mse = {task: values * factor[task] for task, values in log.eval_mse.items()}
        record = {"method": method, "seed": seed, **log.final_mse()}
        if isinstance(log, WeightedTrainingLog):
            record.update({f"weight_{task}": float(values[-1]) for task, values in log.weights.items()})
        results.add(**record)
        logs[(method, seed)] = log
    return results, logs


# ----------------------------------------------------------------------------
# The closing table
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RemedyEffect:
    """What a remedy did, per seed, relative to the pitfall's setting.

    Changes are percentage changes of held-out error, seed by seed (the
    remedy's run and the pitfall's run share the seed's data and initial
    weights): negative is better.

    Attributes
    ----------
    pitfall, remedy : str
    task : str
        The task the pitfall hurts.
    change : ndarray of shape (n_seeds,)
        That task's change, in percent.
    other : str
        The other task.
    other_change : ndarray of shape (n_seeds,)
        The other task's change, in percent.
    """

    pitfall: str
    remedy: str
    task: str
    change: np.ndarray
    other: str
    other_change: np.ndarray

    @property
    def helped_in(self) -> int:
        """In how many seeds the hurt task's error went down."""
        return int(np.sum(self.change < 0))

    @property
    def cost_in(self) -> int:
        """In how many seeds the other task's error went up."""
        return int(np.sum(self.other_change > 0))

    @property
    def n_seeds(self) -> int:
        return int(self.change.size)


def remedy_effect(
    pitfall: str,
    remedy: str,
    *,
    task: str,
    before: Mapping[str, Sequence[float]],
    after: Mapping[str, Sequence[float]],
) -> RemedyEffect:
    """Percentage change of each task's error from ``before`` to ``after``, seed by seed.

    Parameters
    ----------
    pitfall, remedy : str
        Labels for the table.
    task : str
        The task the pitfall hurts; the other task is the one that may pay.
    before, after : dict
        ``{"y1": [error per seed], "y2": [...]}``, same seeds in the same order.

    Returns
    -------
    RemedyEffect

    Examples
    --------
    >>> effect = remedy_effect("p", "r", task="y2", before={"y1": [1, 1], "y2": [2, 4]}, after={"y1": [1.1, 1], "y2": [1, 2]})
    >>> effect.change.tolist(), effect.cost_in
    ([-50.0, -50.0], 1)
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {list(TASKS)}, got {task!r}")
    other = next(t for t in TASKS if t != task)
    changes = {}
    for name in (task, other):
        b = np.asarray(before[name], dtype=np.float64)
        a = np.asarray(after[name], dtype=np.float64)
        if a.shape != b.shape or a.ndim != 1 or a.size < 2:
            raise ValueError(
                f"before[{name!r}] and after[{name!r}] need one value per seed each (>= 2 seeds), got {b.shape} and {a.shape}"
            )
        changes[name] = 100.0 * (a - b) / b
    return RemedyEffect(pitfall, remedy, task, changes[task], other, changes[other])


def _percent(values: np.ndarray) -> str:
    summary = summarize_seeds(values)
    return f"{summary.mean:+.0f}% ± {summary.std:.0f}"


def format_remedy_table(effects: Sequence[RemedyEffect]) -> str:
    """The chapter's closing table as text: one row per remedy.

    Columns: the pitfall; the remedy; the change of the hurt task's held-out
    error (mean ± std over seeds, percent); in how many seeds it went down;
    the other task's change; in how many seeds that went up.
    """
    if not effects:
        raise ValueError("effects is empty; pass RemedyEffect rows from remedy_effect()")
    header = ("pitfall", "remedy", "hurt task: error change", "better in", "other task: error change", "worse in")
    rows = [
        (
            e.pitfall,
            e.remedy,
            f"{e.task}: {_percent(e.change)}",
            f"{e.helped_in}/{e.n_seeds} seeds",
            f"{e.other}: {_percent(e.other_change)}",
            f"{e.cost_in}/{e.n_seeds} seeds",
        )
        for e in effects
    ]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


# ----------------------------------------------------------------------------
# Figures
# ----------------------------------------------------------------------------


def plot_error_vs_ratio(
    results: Results, *, methods: Sequence[str] | None = None, baseline: str = "single-task"
) -> Figure:
    """Pitfall 1's figure: each task's held-out MSE against the size ratio.

    One panel per task; one line per sampler (mean over seeds, bars ±1
    std); the single-task baseline dashed; the ratio axis logarithmic.
    A third panel shows the readout R² of ``y2`` from the shared features.
    """
    methods = [m for m in (methods or results.unique("method")) if m != baseline]
    ratios = sorted(results.unique("ratio"))
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
    for ax, field, title in zip(
        axes, ["y1", "y2", "readout_y2"], ["y1 (data-rich)", "y2 (data-poor)", "shared features → y2"], strict=True
    ):
        for number, method in enumerate(methods):
            means = [results.values(field, method=method, ratio=r).mean() for r in ratios]
            stds = [results.values(field, method=method, ratio=r).std(ddof=1) for r in ratios]
            offset = 1 + 0.04 * (number - (len(methods) - 1) / 2)  # spread the markers a little
            ax.errorbar(np.asarray(ratios) * offset, means, yerr=stds, marker="o", markersize=4, capsize=3,
                        color=PALETTE[number % len(PALETTE)], label=method)
        if field in TASKS:
            means = [results.values(field, method=baseline, ratio=r).mean() for r in ratios]
            ax.plot(ratios, means, linestyle="--", color="black", label=baseline)
            ax.set_ylabel("held-out MSE")
            ax.set_yscale("log")
            ax.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
            ax.yaxis.set_minor_formatter(ticker.NullFormatter())
        else:
            ax.set_ylabel("readout R² (held out)")
        ax.set_xscale("log")
        ax.set_xticks(ratios, [f"{r}:1" for r in ratios])
        ax.minorticks_off()
        ax.set_xlabel("size ratio N1 : N2")
        ax.set_title(title, color=TASK_COLORS["y1"] if field == "y1" else TASK_COLORS["y2"])
    axes[0].legend(fontsize=8)
    return fig


def _shade_blocks(ax: Axes, schedule: np.ndarray) -> None:
    """Shade the steps that trained ``y1`` in its task colour."""
    is_y1 = np.asarray(schedule) == "y1"
    edges = np.flatnonzero(np.diff(np.r_[0, is_y1.astype(int), 0]))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        ax.axvspan(start, stop, color=TASK_COLORS["y1"], alpha=0.08, linewidth=0)


def plot_block_curves(curves: Mapping[tuple[str, int], TrainingLog], *, block: int) -> Figure:
    """Pitfall 2's figure: held-out MSE during a block schedule, one panel per final task.

    Lines are the median over seeds, bands the range (min to max); shaded
    stretches are the steps that trained ``y1``.
    """
    lasts = [last for last in TASKS if any(key[0] == last for key in curves)]
    fig, axes = plt.subplots(1, len(lasts), figsize=(11, 3.6), sharey=True, squeeze=False)
    for ax, last in zip(axes[0], lasts, strict=True):
        logs = [log for (final, _), log in sorted(curves.items()) if final == last]
        steps = logs[0].eval_step
        _shade_blocks(ax, logs[0].task)
        for task in TASKS:
            values = np.stack([log.eval_mse[task] for log in logs])
            ax.fill_between(steps, values.min(0), values.max(0), color=TASK_COLORS[task], alpha=0.2, linewidth=0)
            ax.plot(steps, np.median(values, axis=0), color=TASK_COLORS[task], label=f"{task} (median of {len(logs)} seeds)")
        ax.set_yscale("log")
        ax.set_xlabel("training step")
        ax.set_title(f"blocks of {block} steps, {last} trained last")
    axes[0, 0].set_ylabel("held-out MSE")
    axes[0, 0].legend(fontsize=8, loc="upper right")
    return fig


def plot_loss_scale(results: Results, logs: Mapping[tuple[str, int], TrainingLog]) -> Figure:
    """Pitfall 3's figure: before/after learning curves and final errors per method.

    Left: normalised held-out MSE during training with the plain sum (dashed)
    and with target normalisation (solid), median over seeds. Right: every
    seed's final normalised MSE per method, with mean ± std.
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [1, 1.4]})
    for method, style in [("plain sum", "--"), ("target normalisation", "-")]:
        method_logs = [log for (name, _), log in sorted(logs.items()) if name == method]
        for task in TASKS:
            values = np.median(np.stack([log.eval_mse[task] for log in method_logs]), axis=0)
            left.plot(method_logs[0].eval_step, values, linestyle=style, color=TASK_COLORS[task], label=f"{task}, {method}")
    left.set_yscale("log")
    left.set_xlabel("training step")
    left.set_ylabel("normalised held-out MSE")
    left.set_title("before (dashed) and after (solid)")
    left.legend(fontsize=8)
    methods = results.unique("method")
    spread = {method.replace(" ", "\n", 1): {task: results.values(task, method=method) for task in TASKS} for method in methods}
    plot_seed_spread(spread, ax=right, ylabel="normalised held-out MSE")
    right.set_yscale("log")
    right.tick_params(axis="x", labelsize=8)
    right.set_title("final error, every seed")
    return fig
