"""mtl_helpers.stats and mtl_helpers.plots."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from mtl_helpers import (
    AlternatingTrainer,
    RelatedTasks,
    Results,
    TwoHeadNet,
    compare_paired,
    plot_learning_curves,
    plot_seed_spread,
    summarize_seeds,
)


def test_summarize_seeds_gives_the_t_interval_of_the_mean() -> None:
    summary = summarize_seeds([1.0, 2.0, 3.0])
    # t(0.975, 2 degrees of freedom) = 4.303; std 1, n 3: half-width 4.303 / sqrt(3) = 2.484
    assert (summary.mean, summary.std, summary.n) == (2.0, 1.0, 3)
    assert (summary.low, summary.high) == (pytest.approx(2 - 2.4841, abs=1e-4), pytest.approx(2 + 2.4841, abs=1e-4))
    assert str(summary) == "2 [-0.484, 4.48]"


def test_compare_paired_pairs_by_seed_and_counts_wins() -> None:
    # Same spread in both methods, a constant shift seed by seed: pairing removes the spread.
    result = compare_paired([1.0, 2.0, 3.0, 4.0, 5.5], [1.5, 2.5, 3.5, 4.5, 5.5], names=("new", "old"))
    assert result.mean == pytest.approx(-0.4)
    assert result.wins == {"new": 4, "old": 0}  # the tie counts for neither
    assert result.n == 5 and result.differences.tolist() == [-0.5, -0.5, -0.5, -0.5, 0.0]
    half = 2.77644511 * np.std(result.differences, ddof=1) / np.sqrt(5)  # t(0.975, 4) * s / sqrt(n)
    assert (result.low, result.high) == (pytest.approx(-0.4 - half), pytest.approx(-0.4 + half))
    assert result.clear  # the interval stays below zero
    row = result.row()
    assert list(row) == ["new - old", "95% CI low", "95% CI high", "new better", "old better", "clear"]
    assert row["new better"] == "4/5"


def test_compare_paired_not_clear_when_the_interval_straddles_zero() -> None:
    result = compare_paired([1.0, 3.0, 2.0], [2.0, 1.0, 2.5], names=("a", "b"))
    assert not result.clear and "not clear" in str(result)


def test_compare_paired_higher_is_better_and_relative() -> None:
    accuracy = compare_paired([0.9, 0.8], [0.8, 0.85], names=("a", "b"), lower_is_better=False)
    assert accuracy.wins == {"a": 1, "b": 1}
    relative = compare_paired([1.5, 3.0], [1.0, 2.0], names=("a", "b"), relative=True)
    assert relative.differences.tolist() == [50.0, 50.0] and "%" in str(relative)
    with pytest.raises(ValueError, match="divide by b"):
        compare_paired([1.0, 1.0], [0.0, 1.0], names=("a", "b"), relative=True)


@pytest.mark.parametrize(
    ("values", "message"), [([1.0], "at least 2 seeds"), ([1.0, float("nan")], "NaN")]
)
def test_summarize_seeds_rejects_bad_values(values: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        summarize_seeds(values)


def test_compare_paired_needs_equal_lengths_and_two_names() -> None:
    with pytest.raises(ValueError, match="one value per seed"):
        compare_paired([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="two different labels"):
        compare_paired([1.0, 2.0], [1.0, 2.0], names=("a", "a"))


def test_results_pair_by_seed_whatever_the_order_of_records() -> None:
    results = Results([{"method": "a", "seed": 1, "v": 2.0}, {"method": "a", "seed": 0, "v": 1.0}])
    results.add(method="b", seed=0, v=1.5)
    results.add(method="b", seed=1, v=1.0)
    assert results.values("v", method="a").tolist() == [1.0, 2.0]
    comparison = results.compare("v", {"method": "a"}, {"method": "b"})
    assert comparison.names == ("a", "b") and comparison.differences.tolist() == [-0.5, 1.0]
    assert results.frame().shape == (4, 3) and results.unique("method") == ["a", "b"]
    with pytest.raises(ValueError, match="no record matches"):
        results.values("v", method="c")
    results.add(method="b", seed=2, v=1.0)
    with pytest.raises(ValueError, match="same seeds to be paired"):
        results.compare("v", {"method": "a"}, {"method": "b"})


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
