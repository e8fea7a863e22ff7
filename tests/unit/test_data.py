"""mtl_helpers.data: the article's feed and the related-tasks generator."""

from __future__ import annotations

import numpy as np
import pytest

from mtl_helpers import RelatedTasks, article_batch, article_weights


def test_article_batch_shapes_dtype_and_scale(rng: np.random.Generator) -> None:
    batch = article_batch(rng)
    assert {key: value.shape for key, value in batch.items()} == {"x": (10, 10), "y1": (10, 20), "y2": (10, 20)}
    assert all(value.dtype == np.float32 for value in batch.values())
    assert all(value.min() >= 0 and value.max() < 10 for value in batch.values())


def test_article_batch_is_reproducible() -> None:
    first = article_batch(np.random.default_rng(3))
    second = article_batch(np.random.default_rng(3))
    assert all(np.array_equal(first[key], second[key]) for key in first)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 0}, "batch_size must be >= 1"),
        ({"batch_size": 2.5}, "batch_size must be an int"),
        ({"scale": -1.0}, "scale must be a positive number"),
    ],
)
def test_article_batch_rejects_bad_arguments(rng: np.random.Generator, kwargs: dict, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        article_batch(rng, **kwargs)


def test_article_batch_needs_a_generator() -> None:
    with pytest.raises(TypeError, match=r"np\.random\.default_rng"):
        article_batch(0)  # type: ignore[arg-type]


def test_article_weights_are_positive_uniform(rng: np.random.Generator) -> None:
    weights = article_weights(rng)
    assert {key: value.shape for key, value in weights.items()} == {"shared": (10, 20), "y1": (20, 20), "y2": (20, 20)}
    assert all(value.min() >= 0 and value.max() < 1 for value in weights.values())


def test_related_tasks_vectors_have_the_requested_cosine() -> None:
    for p in (0.0, 0.5, 0.9):
        tasks = RelatedTasks(correlation=p, seed=1)
        w1, w2 = tasks.task_vectors["y1"], tasks.task_vectors["y2"]
        cosine = w1 @ w2 / np.linalg.norm(w1) / np.linalg.norm(w2)
        assert cosine == pytest.approx(p, abs=1e-9)


def test_label_correlation_rises_with_relatedness() -> None:
    correlations = []
    for p in (0.0, 0.25, 0.5, 0.75, 0.9, 1.0):
        batch = RelatedTasks(correlation=p, seed=0).sample(20_000, seed=1)
        correlations.append(np.corrcoef(batch["y1"][:, 0], batch["y2"][:, 0])[0, 1])
    assert np.all(np.diff(correlations) > 0), correlations
    assert abs(correlations[0]) < 0.05 and correlations[-1] > 0.99
    # The constants are chosen so that the correlation tracks p (the paper's
    # alpha_i = 1..10 would keep it near zero until p is almost 1).
    assert correlations[2] == pytest.approx(0.5, abs=0.1)


def test_sample_shapes_and_single_task() -> None:
    tasks = RelatedTasks(correlation=0.5)
    assert {k: v.shape for k, v in tasks.sample(7, seed=0).items()} == {"x": (7, 10), "y1": (7, 1), "y2": (7, 1)}
    assert sorted(tasks.sample(7, seed=0, tasks=("y2",))) == ["x", "y2"]


def test_sample_separate_gives_each_task_its_own_size_and_inputs() -> None:
    datasets = RelatedTasks(correlation=0.5).sample_separate({"y1": 50, "y2": 5}, seed=2)
    assert datasets["y1"]["x"].shape == (50, 10) and datasets["y2"]["y2"].shape == (5, 1)
    assert sorted(datasets["y1"]) == ["x", "y1"]
    assert not np.array_equal(datasets["y1"]["x"][:5], datasets["y2"]["x"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"correlation": 1.5}, r"correlation must be in \[-1, 1\]"),
        ({"correlation": 0.5, "in_dim": 1}, "in_dim must be >= 2"),
        ({"correlation": 0.5, "noise_std": -1.0}, "noise_std must be >= 0"),
        ({"correlation": float("nan")}, "correlation must be in"),
    ],
)
def test_related_tasks_rejects_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RelatedTasks(**kwargs)


def test_related_tasks_rejects_unknown_tasks_and_empty_sets() -> None:
    tasks = RelatedTasks(correlation=0.5)
    with pytest.raises(ValueError, match="unknown task 'y3'"):
        tasks.sample(5, seed=0, tasks=("y3",))
    with pytest.raises(ValueError, match="unknown task 'y9'"):
        tasks.sample_separate({"y9": 5}, seed=0)
    with pytest.raises(ValueError, match="n_samples must be >= 1"):
        tasks.sample_separate({"y1": 0}, seed=0)
    with pytest.raises(ValueError, match="non-empty dict"):
        tasks.sample_separate({}, seed=0)
