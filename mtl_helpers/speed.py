"""How fast each way of running the article's training step is (chapter 1).

Introduced in chapter 1 ("Why graphs matter") and reused by the benchmark
script. Every method trains the article's two-task model (10 -> 20 -> two
heads of 20, batches of 10 from :func:`mtl_helpers.article_batch`) for a
given number of steps and reports **steps per second**:

``"session"``
    TensorFlow 1 style: :class:`mtl_helpers.compat_v1.SessionAlternatingTrainer` /
    :class:`~mtl_helpers.compat_v1.SessionJointTrainer`, one ``Session.run`` with a
    feed dict per step.
``"eager"``
    TensorFlow 2 without ``tf.function``: a Python loop of
    ``GradientTape`` + ``optimizer.apply_gradients``, one op at a time.
``"tf_function"``
    :meth:`mtl_helpers.AlternatingTrainer.step` /
    :meth:`mtl_helpers.JointTrainer.step`: one call of a traced graph per step.
``"keras_fit"``
    :func:`mtl_helpers.keras_two_head_model` compiled with one loss per output
    name and trained with ``fit(..., steps_per_execution=k)``. ``fit``
    minimises one sum of losses, so it exists for ``mode="joint"`` only.
``"compiled_loop"``
    :meth:`mtl_helpers.AlternatingTrainer.fit` /
    :meth:`mtl_helpers.JointTrainer.fit`: the whole loop in one ``tf.function``.
``"compiled_loop_xla"``
    The same loop compiled with XLA (``jit_compile=True``).

Batches and the alternating schedule (a fair coin per step, as in the
article) are generated before the clock starts. The first ``warmup`` runs
(tracing, building optimizer slots) are not timed; the result is the median
over ``repeats`` timed runs.

Adding a method (say an XLA-compiled loop) means writing a context manager
``factory(workload) -> run`` and adding it to :data:`METHODS` (and its modes
to :data:`SUPPORTED_MODES`); :func:`measure_speed` does the rest.

To time any other training code (chapter 1 times its own linear model this
way), write a function that runs a fixed number of steps and pass it to
:func:`time_run`: it applies the same warm-up and median rule.

Examples
--------
>>> result = measure_speed("tf_function", "alternating", steps=20, repeats=2)
>>> result.method, result.mode, result.steps_per_second > 0
('tf_function', 'alternating', True)
"""

from __future__ import annotations

import contextlib
import functools
import statistics
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from matplotlib.axes import Axes

from mtl_helpers._tensorflow import tf
from mtl_helpers._validation import non_negative_int, positive_int
from mtl_helpers.compat_v1 import ArticleGraph, SessionAlternatingTrainer, SessionJointTrainer
from mtl_helpers.data import TASKS, article_batch
from mtl_helpers.models import TwoHeadNet, keras_two_head_model
from mtl_helpers.runtime import PALETTE
from mtl_helpers.trainers import AlternatingTrainer, JointTrainer, article_adam

__all__ = [
    "METHODS",
    "MODES",
    "SUPPORTED_MODES",
    "SpeedResult",
    "Workload",
    "make_workload",
    "measure_speed",
    "plot_speeds",
    "time_run",
]

Mode = Literal["alternating", "joint"]

#: The two training modes of the article (chapters 3 and 4).
MODES: tuple[str, str] = ("alternating", "joint")

#: The model size of the article: 10 inputs, a shared layer of 20, heads of 20.
IN_DIM, SHARED_UNITS, HEAD_UNITS = 10, 20, 20


@dataclass(frozen=True)
class Workload:
    """Everything a method needs, generated before timing starts.

    Attributes
    ----------
    mode : {"alternating", "joint"}
    batches : tuple of dict
        One :func:`article_batch` per step: ``{"x": (batch_size, 10),
        "y1": (batch_size, 20), "y2": (batch_size, 20)}``, float32.
    schedule : tuple of str
        The task each step trains (``"y1"`` or ``"y2"``; ``"joint"`` in
        joint mode).
    seed : int
        Seeds the model's initial weights.
    steps_per_execution : int
        Steps per compiled call for ``"keras_fit"``.
    """

    mode: str
    batches: tuple[dict[str, np.ndarray], ...]
    schedule: tuple[str, ...]
    seed: int
    steps_per_execution: int = 10

    @property
    def steps(self) -> int:
        """Number of training steps in one run."""
        return len(self.batches)

    @property
    def batch_size(self) -> int:
        """Rows per batch."""
        return int(self.batches[0]["x"].shape[0])

    def stacked(self, key: str) -> np.ndarray:
        """All batches' ``key`` arrays, one after another: (steps * batch_size, cols)."""
        return np.concatenate([batch[key] for batch in self.batches])


def make_workload(
    mode: str, steps: int, *, batch_size: int = 10, seed: int = 0, steps_per_execution: int = 10
) -> Workload:
    """The batches and task schedule of ``steps`` training steps.

    Parameters
    ----------
    mode : {"alternating", "joint"}
    steps : int
    batch_size : int, default 10
        The article's batch size.
    seed : int, default 0
        Seeds the batches, the coin flips of the schedule and the weights.
    steps_per_execution : int, default 10
        Only used by ``"keras_fit"``.

    Returns
    -------
    Workload
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {list(MODES)}, got {mode!r}")
    steps = positive_int(steps, name="steps")
    batch_size = positive_int(batch_size, name="batch_size")
    seed = non_negative_int(seed, name="seed")
    steps_per_execution = positive_int(steps_per_execution, name="steps_per_execution")
    rng = np.random.default_rng(seed)
    batches = tuple(article_batch(rng, batch_size) for _ in range(steps))
    if mode == "alternating":
        coins = rng.random(steps)
        schedule = tuple(TASKS[0] if coin < 0.5 else TASKS[1] for coin in coins)
    else:
        schedule = ("joint",) * steps
    return Workload(mode, batches, schedule, seed, steps_per_execution)


Runner = Callable[[], None]
StepTrainer = AlternatingTrainer | JointTrainer | SessionAlternatingTrainer | SessionJointTrainer
MethodFactory = Callable[[Workload], contextlib.AbstractContextManager[Runner]]


def _step_by_step(workload: Workload, trainer: StepTrainer) -> Runner:
    """A runner that feeds the workload's batches to ``trainer.step`` one at a time."""
    if workload.mode == "alternating":

        def run() -> None:
            for task, batch in zip(workload.schedule, workload.batches, strict=True):
                trainer.step(task, batch)
    else:

        def run() -> None:
            for batch in workload.batches:
                trainer.step(batch)

    return run


@contextlib.contextmanager
def _session(workload: Workload) -> Iterator[Runner]:
    graph = ArticleGraph(seed=workload.seed)
    session_trainer = SessionAlternatingTrainer if workload.mode == "alternating" else SessionJointTrainer
    trainer = session_trainer(graph)
    try:
        yield _step_by_step(workload, trainer)
    finally:
        trainer.close()


@contextlib.contextmanager
def _eager(workload: Workload) -> Iterator[Runner]:
    net = TwoHeadNet(IN_DIM, SHARED_UNITS, HEAD_UNITS, seed=workload.seed)
    batches = [{key: tf.constant(value) for key, value in batch.items()} for batch in workload.batches]
    if workload.mode == "alternating":
        optimizers = {task: article_adam() for task in TASKS}

        def run() -> None:
            for task, batch in zip(workload.schedule, batches, strict=True):
                variables = net.trainable_for(task)
                with tf.GradientTape() as tape:
                    loss = net.losses({"x": batch["x"], task: batch[task]})[task]
                gradients = tape.gradient(loss, variables)
                optimizers[task].apply_gradients(zip(gradients, variables, strict=True))
    else:
        optimizer = article_adam()

        def run() -> None:
            for batch in batches:
                with tf.GradientTape() as tape:
                    loss = tf.add_n(list(net.losses(batch).values()))
                gradients = tape.gradient(loss, net.all_variables)
                optimizer.apply_gradients(zip(gradients, net.all_variables, strict=True))

    yield run


@contextlib.contextmanager
def _tf_function(workload: Workload) -> Iterator[Runner]:
    net = TwoHeadNet(IN_DIM, SHARED_UNITS, HEAD_UNITS, seed=workload.seed)
    trainer = AlternatingTrainer(net) if workload.mode == "alternating" else JointTrainer(net)
    yield _step_by_step(workload, trainer)


@contextlib.contextmanager
def _keras_fit(workload: Workload) -> Iterator[Runner]:
    model = keras_two_head_model(IN_DIM, SHARED_UNITS, HEAD_UNITS, seed=workload.seed)
    model.compile(
        optimizer=article_adam(),
        loss={task: "mse" for task in TASKS},
        steps_per_execution=workload.steps_per_execution,
        jit_compile=False,
    )
    x = workload.stacked("x")
    targets = {task: workload.stacked(task) for task in TASKS}

    def run() -> None:
        model.fit(x, targets, batch_size=workload.batch_size, epochs=1, shuffle=False, verbose=0)

    yield run


@contextlib.contextmanager
def _compiled_loop(workload: Workload, *, jit_compile: bool = False) -> Iterator[Runner]:
    """``fit``'s compiled loop; ``functools.partial(_compiled_loop, jit_compile=True)`` is its XLA variant."""
    net = TwoHeadNet(IN_DIM, SHARED_UNITS, HEAD_UNITS, seed=workload.seed)
    # fit() draws rows with replacement from these pools: the same amount of
    # work per step as feeding the pre-generated batches one by one.
    if workload.mode == "alternating":
        trainer = AlternatingTrainer(net, jit_compile=jit_compile)
        datasets = {task: {"x": workload.stacked("x"), task: workload.stacked(task)} for task in TASKS}

        def run() -> None:
            trainer.fit(datasets, workload.schedule, batch_size=workload.batch_size, seed=workload.seed)
    else:
        joint = JointTrainer(net, jit_compile=jit_compile)
        data = {key: workload.stacked(key) for key in ("x", *TASKS)}

        def run() -> None:
            joint.fit(data, workload.steps, batch_size=workload.batch_size, seed=workload.seed)

    yield run


#: Method name -> context manager that prepares a :class:`Workload` and yields
#: a function running all its steps once.
METHODS: dict[str, MethodFactory] = {
    "session": _session,
    "eager": _eager,
    "tf_function": _tf_function,
    "keras_fit": _keras_fit,
    "compiled_loop": _compiled_loop,
    "compiled_loop_xla": functools.partial(_compiled_loop, jit_compile=True),
}

#: The modes each method supports (Keras' fit trains one summed loss: joint).
SUPPORTED_MODES: dict[str, tuple[str, ...]] = {
    "session": MODES,
    "eager": MODES,
    "tf_function": MODES,
    "keras_fit": ("joint",),
    "compiled_loop": MODES,
    "compiled_loop_xla": MODES,
}


@dataclass(frozen=True)
class SpeedResult:
    """The speed of one method in one mode.

    Attributes
    ----------
    method : str
        A key of :data:`METHODS`, or the name given to :func:`time_run`.
    mode : str
        ``"alternating"`` or ``"joint"`` for :func:`measure_speed`; any label
        (``""`` for none) for :func:`time_run`.
    steps_per_second : float
        Median over the timed repeats.
    repeats : tuple of float
        Steps per second of each timed repeat, in order.
    steps : int
        Training steps per repeat.
    warmup_seconds : tuple of float, default ()
        Wall-clock seconds of each untimed warm-up run, in order; the first
        includes tracing (and XLA's compilation) when the method has any.
    """

    method: str
    mode: str
    steps_per_second: float
    repeats: tuple[float, ...]
    steps: int
    warmup_seconds: tuple[float, ...] = ()

    def __str__(self) -> str:
        label = f"{self.method} ({self.mode})" if self.mode else self.method
        return f"{label}: {self.steps_per_second:.3g} steps/s"


def time_run(
    run: Callable[[], object],
    *,
    steps: int,
    method: str,
    mode: str = "",
    repeats: int = 3,
    warmup: int = 1,
) -> SpeedResult:
    """Time ``run()``, which trains ``steps`` steps, and return its steps per second.

    The first ``warmup`` calls are timed separately (tracing, compiling,
    building optimizer slots) and reported in ``warmup_seconds``; the result
    is the median over the next ``repeats`` calls.

    Parameters
    ----------
    run : callable
        ``run()`` performs ``steps`` training steps; its return value is
        ignored. Prepare data and models before: only the calls are timed.
    steps : int
        Training steps one call of ``run`` performs.
    method : str
        A name for the way the steps are run, e.g. ``"eager"``.
    mode : str, default ""
        An optional second label (what is trained).
    repeats : int, default 3
        Timed calls; the result is their median.
    warmup : int, default 1
        Untimed calls first; may be 0.

    Returns
    -------
    SpeedResult

    Examples
    --------
    >>> result = time_run(lambda: sum(range(1000)), steps=1000, method="python sum")
    >>> result.method, result.steps, len(result.repeats), len(result.warmup_seconds)
    ('python sum', 1000, 3, 1)
    """
    if not callable(run):
        raise TypeError(f"run must be a function that runs the steps, got {type(run).__name__}")
    steps = positive_int(steps, name="steps")
    repeats = positive_int(repeats, name="repeats")
    warmup = non_negative_int(warmup, name="warmup")
    if not isinstance(method, str) or not isinstance(mode, str):
        raise TypeError(f"method and mode must be str, got {type(method).__name__} and {type(mode).__name__}")
    warmup_seconds, seconds = [], []
    for times, count in ((warmup_seconds, warmup), (seconds, repeats)):
        for _ in range(count):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
    rates = tuple(steps / max(second, 1e-9) for second in seconds)
    return SpeedResult(method, mode, float(statistics.median(rates)), rates, steps, tuple(warmup_seconds))


def measure_speed(
    method: str,
    mode: str = "alternating",
    *,
    steps: int = 200,
    repeats: int = 3,
    warmup: int = 1,
    batch_size: int = 10,
    seed: int = 0,
    steps_per_execution: int = 10,
) -> SpeedResult:
    """Train the article's model with ``method`` and return its steps per second.

    Parameters
    ----------
    method : str
        A key of :data:`METHODS`: ``"session"``, ``"eager"``,
        ``"tf_function"``, ``"keras_fit"`` or ``"compiled_loop"``.
    mode : {"alternating", "joint"}, default "alternating"
    steps : int, default 200
        Training steps per run. Use more steps for faster methods so that
        each run lasts at least a few tens of milliseconds.
    repeats : int, default 3
        Timed runs; the result is their median.
    warmup : int, default 1
        Untimed runs first (tracing, optimizer slots, caches); may be 0.
    batch_size : int, default 10
    seed : int, default 0
        Seeds the batches, the schedule and the initial weights.
    steps_per_execution : int, default 10
        Steps per compiled call, for ``"keras_fit"`` only.

    Returns
    -------
    SpeedResult
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {list(METHODS)}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {list(MODES)}, got {mode!r}")
    if mode not in SUPPORTED_MODES.get(method, MODES):
        raise ValueError(
            f"method {method!r} does not support mode {mode!r}; it supports {list(SUPPORTED_MODES[method])}"
        )
    repeats = positive_int(repeats, name="repeats")
    warmup = non_negative_int(warmup, name="warmup")
    workload = make_workload(mode, steps, batch_size=batch_size, seed=seed, steps_per_execution=steps_per_execution)
    with METHODS[method](workload) as run:
        return time_run(run, steps=workload.steps, method=method, mode=mode, repeats=repeats, warmup=warmup)


def plot_speeds(results: Sequence[SpeedResult], *, ax: Axes | None = None) -> Axes:
    """Bar chart of steps per second (log axis), one bar per method and mode.

    Each bar is the median; the dots are the individual timed repeats.

    Parameters
    ----------
    results : sequence of SpeedResult
        From :func:`measure_speed` or :func:`time_run`; methods appear in
        the given order, one colour per mode (a legend when there are
        several).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    results = list(results)
    if not results or not all(isinstance(result, SpeedResult) for result in results):
        raise TypeError("results must be a non-empty list of SpeedResult from measure_speed()")
    if ax is None:
        _, ax = plt.subplots()
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    methods = list(dict.fromkeys(result.method for result in results))
    seen = list(dict.fromkeys(result.mode for result in results))
    modes = [mode for mode in MODES if mode in seen] + [mode for mode in seen if mode not in MODES]
    width = 0.8 / len(modes)
    for number, mode in enumerate(modes):
        color = PALETTE[(2 + number) % len(PALETTE)]
        label = mode
        for result in (r for r in results if r.mode == mode):
            x = methods.index(result.method) + (number - (len(modes) - 1) / 2) * width
            ax.bar(x, result.steps_per_second, width=width * 0.9, color=color, alpha=0.8, label=label)
            label = None  # one legend entry per mode
            ax.scatter(np.full(len(result.repeats), x), result.repeats, s=10, color="black", zorder=3)
    # "compiled_loop_xla" -> "compiled\nloop xla": long names would overlap.
    ax.set_xticks(range(len(methods)), ["\n".join(textwrap.wrap(method.replace("_", " "), 10)) for method in methods])
    ax.set_yscale("log")
    ax.set_axisbelow(True)  # grid lines behind the bars
    ax.set_ylabel("training steps per second")
    ax.set_xlabel("how the step is run")
    if len(modes) > 1:
        ax.legend(title="mode")
    return ax
