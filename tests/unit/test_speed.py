"""mtl_helpers.speed: every method runs at a tiny size and reports positive speeds; bad arguments are refused."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from mtl_helpers import speed
from mtl_helpers.speed import (
    METHODS,
    MODES,
    SUPPORTED_MODES,
    SpeedResult,
    make_workload,
    measure_speed,
    plot_speeds,
    time_run,
)

CASES = [(method, mode) for method in METHODS for mode in SUPPORTED_MODES[method]]


@pytest.mark.parametrize(("method", "mode"), CASES, ids=[f"{m}-{mode}" for m, mode in CASES])
def test_each_method_runs_and_reports_positive_speed(method: str, mode: str) -> None:
    result = measure_speed(method, mode, steps=4, repeats=2, warmup=1, steps_per_execution=2)
    assert isinstance(result, SpeedResult)
    assert (result.method, result.mode, result.steps) == (method, mode, 4)
    assert len(result.repeats) == 2 and all(rate > 0 and np.isfinite(rate) for rate in result.repeats)
    assert min(result.repeats) <= result.steps_per_second <= max(result.repeats)
    assert method in str(result) and "steps/s" in str(result)
    assert len(result.warmup_seconds) == 1 and result.warmup_seconds[0] > 0


def test_warmup_may_be_zero() -> None:
    assert measure_speed("session", steps=2, repeats=1, warmup=0).steps_per_second > 0


def test_every_method_lists_its_modes() -> None:
    assert set(SUPPORTED_MODES) == set(METHODS)
    assert all(set(modes) <= set(MODES) for modes in SUPPORTED_MODES.values())


def test_workload_is_pre_generated_and_seeded() -> None:
    workload = make_workload("alternating", 6, batch_size=10, seed=3)
    assert workload.steps == 6 and workload.batch_size == 10
    assert workload.batches[0]["x"].shape == (10, 10) and workload.batches[0]["y1"].shape == (10, 20)
    assert set(workload.schedule) <= {"y1", "y2"}
    assert workload.stacked("x").shape == (60, 10)
    again = make_workload("alternating", 6, batch_size=10, seed=3)
    assert again.schedule == workload.schedule
    np.testing.assert_array_equal(again.stacked("y2"), workload.stacked("y2"))
    assert make_workload("joint", 3).schedule == ("joint",) * 3


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"method": "graph"}, ValueError, "unknown method"),
        ({"method": "eager", "mode": "both"}, ValueError, "mode must be one of"),
        ({"method": "keras_fit", "mode": "alternating"}, ValueError, "does not support mode"),
        ({"method": "eager", "steps": 0}, ValueError, "steps must be >= 1"),
        ({"method": "eager", "steps": 2.5}, TypeError, "steps must be an int"),
        ({"method": "eager", "repeats": 0}, ValueError, "repeats must be >= 1"),
        ({"method": "eager", "warmup": -1}, ValueError, "warmup must be >= 0"),
        ({"method": "eager", "batch_size": 0}, ValueError, "batch_size must be >= 1"),
        ({"method": "eager", "seed": -1}, ValueError, "seed must be >= 0"),
        ({"method": "keras_fit", "mode": "joint", "steps_per_execution": 0}, ValueError, "steps_per_execution"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict, error: type, fragment: str) -> None:
    with pytest.raises(error, match=fragment):
        measure_speed(**{"steps": 2, "repeats": 1, **kwargs})


def test_methods_can_be_added(monkeypatch: pytest.MonkeyPatch) -> None:
    import contextlib

    calls = []

    @contextlib.contextmanager
    def fake(workload):
        yield lambda: calls.append(workload.steps)

    monkeypatch.setitem(speed.METHODS, "fake", fake)
    result = measure_speed("fake", "joint", steps=3, repeats=2, warmup=1)
    assert calls == [3, 3, 3] and result.method == "fake"


def test_plot_speeds() -> None:
    results = [
        SpeedResult("eager", "alternating", 100.0, (90.0, 100.0, 110.0), 10),
        SpeedResult("session", "alternating", 2000.0, (1900.0, 2000.0, 2100.0), 10),
        SpeedResult("session", "joint", 1500.0, (1500.0,), 10),
    ]
    ax = plot_speeds(results)
    assert ax.get_yscale() == "log"
    assert [label.get_text() for label in ax.get_xticklabels()] == ["eager", "session"]
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["alternating", "joint"]
    assert len(ax.patches) == 3
    plt.close("all")
    with pytest.raises(TypeError, match="SpeedResult"):
        plot_speeds([])
    with pytest.raises(TypeError, match="SpeedResult"):
        plot_speeds([{"method": "eager"}])
    with pytest.raises(TypeError, match="Axes"):
        plot_speeds(results, ax="axes")


def test_time_run_times_any_function() -> None:
    calls = []
    result = time_run(lambda: calls.append(1), steps=5, method="append", repeats=3, warmup=2)
    assert len(calls) == 5  # 2 warm-up calls, then 3 timed ones
    assert (result.method, result.mode, result.steps) == ("append", "", 5)
    assert len(result.repeats) == 3 and len(result.warmup_seconds) == 2
    assert min(result.repeats) <= result.steps_per_second <= max(result.repeats)
    assert str(result).startswith("append: ")  # no empty "()" for a missing mode
    labelled = time_run(lambda: None, steps=1, method="noop", mode="linear", repeats=1, warmup=0)
    assert str(labelled).startswith("noop (linear): ") and labelled.warmup_seconds == ()


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"run": "not callable"}, TypeError, "run must be a function"),
        ({"steps": 0}, ValueError, "steps must be >= 1"),
        ({"repeats": 0}, ValueError, "repeats must be >= 1"),
        ({"warmup": -1}, ValueError, "warmup must be >= 0"),
        ({"method": 3}, TypeError, "method and mode must be str"),
    ],
)
def test_time_run_refuses_bad_arguments(kwargs: dict, error: type, fragment: str) -> None:
    with pytest.raises(error, match=fragment):
        time_run(**{"run": lambda: None, "steps": 2, "method": "noop", **kwargs})


def test_plot_speeds_with_any_mode_label() -> None:
    results = [
        SpeedResult("eager", "", 100.0, (100.0,), 10),
        SpeedResult("compiled loop", "", 5000.0, (5000.0,), 10),
    ]
    ax = plot_speeds(results)
    assert [label.get_text() for label in ax.get_xticklabels()] == ["eager", "compiled\nloop"]
    assert ax.get_legend() is None and len(ax.patches) == 2
    mixed = [*results, SpeedResult("eager", "joint", 80.0, (80.0,), 10)]
    ax = plot_speeds(mixed)
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["joint"]  # "" has no entry
    assert len(ax.patches) == 3
    plt.close("all")
