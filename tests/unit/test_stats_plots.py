"""mtl_helpers.stats and mtl_helpers.plots."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from mtl_helpers import (
    AlternatingTrainer,
    RelatedTasks,
    TwoHeadNet,
    paired_difference,
    plot_learning_curves,
    plot_seed_spread,
    summarize_seeds,
)


def test_summarize_seeds() -> None:
    summary = summarize_seeds([1.0, 2.0, 3.0])
    assert (summary.mean, summary.std, summary.low, summary.high, summary.n) == (2.0, 1.0, 1.0, 3.0, 3)
    assert str(summary) == "2 ± 1 (n=3)"


def test_paired_difference_pairs_by_seed() -> None:
    summary = paired_difference([1.0, 2.0, 3.0], [0.5, 1.5, 2.5])
    assert summary.mean == pytest.approx(0.5) and summary.std == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("values", "message"), [([1.0], "at least 2 seeds"), ([1.0, float("nan")], "NaN")]
)
def test_summarize_seeds_rejects_bad_values(values: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        summarize_seeds(values)


def test_paired_difference_needs_equal_lengths() -> None:
    with pytest.raises(ValueError, match="one value per seed"):
        paired_difference([1.0, 2.0], [1.0, 2.0, 3.0])


def test_plot_learning_curves_draws_one_line_per_task() -> None:
    tasks = RelatedTasks(correlation=0.5)
    trainer = AlternatingTrainer(TwoHeadNet(head_units=1, output_activation="linear", use_bias=True))
    log = trainer.fit(tasks.sample_separate({"y1": 20, "y2": 20}, seed=0), ["y1", "y2"] * 5,
                      eval_data=tasks.sample(20, seed=1), eval_every=5)
    ax = plot_learning_curves(log, label="alternating")
    assert [line.get_label() for line in ax.get_lines()] == ["alternating y1", "alternating y2"]
    assert ax.get_xlabel() == "training step" and ax.get_ylabel() == "held-out MSE"
    plt.close("all")
    with pytest.raises(ValueError, match="no held-out errors"):
        plot_learning_curves(trainer.fit(tasks.sample_separate({"y1": 5}, seed=0), ["y1"]))
    with pytest.raises(TypeError, match="TrainingLog"):
        plot_learning_curves({"y1": [1, 2]})  # type: ignore[arg-type]


def test_plot_seed_spread() -> None:
    results = {"alternating": {"y1": [1.0, 1.2], "y2": [2.0, 2.1]}, "joint": {"y1": [0.9, 1.0], "y2": [1.9, 2.2]}}
    ax = plot_seed_spread(results)
    assert [tick.get_text() for tick in ax.get_xticklabels()] == ["alternating", "joint"]
    plt.close("all")
    with pytest.raises(ValueError, match="results is empty"):
        plot_seed_spread({})
    with pytest.raises(TypeError, match="matplotlib Axes"):
        plot_seed_spread(results, ax="axes")  # type: ignore[arg-type]
    assert np.isfinite(ax.get_ylim()).all()


def test_check_seeds() -> None:
    from mtl_helpers.stats import check_seeds

    assert check_seeds(range(3)) == [0, 1, 2]
    with pytest.raises(ValueError, match="at least 2 seeds"):
        check_seeds([0])
    with pytest.raises(ValueError, match="distinct"):
        check_seeds([1, 1])
    with pytest.raises(ValueError, match="each seed must be >= 0"):
        check_seeds([0, -1])
