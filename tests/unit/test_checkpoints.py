"""fit_checkpoints: training to checkpoints and scoring named held-out sets, one run or S runs."""

from __future__ import annotations

import numpy as np
import pytest

from mtl_helpers import (
    STRUCTURED_NET,
    AlternatingTrainer,
    BatchedAlternatingTrainer,
    BatchedJointTrainer,
    CheckpointScores,
    CoinFlip,
    JointTrainer,
    RelatedTasks,
    TwoHeadNet,
    fit_checkpoints,
)
from mtl_helpers.trainers.checkpoints import CHUNK_SEED_STRIDE

TASKS = RelatedTasks(correlation=0.5, seed=0)
HELD_OUT = {"validation": TASKS.sample(100, seed=1), "test": TASKS.sample(100, seed=2)}


def datasets(seed: int) -> dict:
    return TASKS.sample_separate({"y1": 40, "y2": 40}, seed=seed)


def schedule(seed: int) -> np.ndarray:
    return CoinFlip(seed=seed).schedule(45)


def test_one_run_equals_fits_by_hand() -> None:
    trainer = AlternatingTrainer(TwoHeadNet(**STRUCTURED_NET, seed=5))
    trainer.reset(5)
    scores = fit_checkpoints(trainer, datasets(5), schedule(5), checkpoints=20, held_out=HELD_OUT, seeds=5)
    assert scores.steps.tolist() == [0, 20, 40, 45]
    by_hand = AlternatingTrainer(TwoHeadNet(**STRUCTURED_NET, seed=5))
    expected = [by_hand.net.evaluate(HELD_OUT["test"])]
    for start, stop in ((0, 20), (20, 40), (40, 45)):
        by_hand.fit(datasets(5), schedule(5)[start:stop], seed=CHUNK_SEED_STRIDE * 5 + start)
        expected.append(by_hand.net.evaluate(HELD_OUT["test"]))
    np.testing.assert_array_equal(scores.scores["test"]["y2"][:, 0], [e["y2"] for e in expected])
    assert scores.loss.shape == (45, 1) and scores.task[:, 0].tolist() == list(schedule(5))


def test_batched_runs_equal_step_by_step_runs() -> None:
    batched = BatchedAlternatingTrainer([2, 7], net_settings=STRUCTURED_NET)
    together = fit_checkpoints(batched, datasets, schedule, checkpoints=[10, 45], held_out=HELD_OUT)
    for run, seed in enumerate((2, 7)):
        single = AlternatingTrainer(TwoHeadNet(**STRUCTURED_NET, seed=seed))
        alone = fit_checkpoints(single, datasets(seed), schedule(seed), checkpoints=[10, 45], held_out=HELD_OUT, seeds=seed)
        for split in HELD_OUT:
            for task in ("y1", "y2"):
                np.testing.assert_allclose(together.scores[split][task][:, run], alone.scores[split][task][:, 0], rtol=1e-5)


def test_joint_training_takes_a_number_of_steps() -> None:
    batched = BatchedJointTrainer([0, 1, 1], net_settings=STRUCTURED_NET)
    scores = fit_checkpoints(batched, lambda seed: TASKS.sample(64, seed=seed), 30, checkpoints=10, held_out=HELD_OUT)
    assert scores.steps.tolist() == [0, 10, 20, 30]
    assert scores.scores["validation"]["y1"].shape == (4, 3)
    np.testing.assert_array_equal(scores.scores["test"]["y1"][:, 1], scores.scores["test"]["y1"][:, 2])
    single = JointTrainer(TwoHeadNet(**STRUCTURED_NET, seed=1))
    alone = fit_checkpoints(single, TASKS.sample(64, seed=1), 30, checkpoints=10, held_out=HELD_OUT, seeds=1)
    np.testing.assert_allclose(alone.scores["test"]["y2"][:, 0], scores.scores["test"]["y2"][:, 1], rtol=1e-5)
    assert set(scores.task.ravel()) == {"joint"}


def test_early_stopping_reports_the_test_error_at_the_best_validation_checkpoint() -> None:
    scores = CheckpointScores(
        steps=np.array([0, 10, 20]),
        scores={"validation": {"y1": np.array([[0.5, 3.0], [1.0, 1.0], [2.0, 0.9]])},
                "test": {"y1": np.array([[9.0, 9.5], [1.5, 1.6], [1.2, 0.8]])}},
        loss=np.zeros((20, 2)),
        task=np.full((20, 2), "y1"),
    )
    assert scores.best_checkpoint("y1").tolist() == [0, 2]
    assert scores.best_checkpoint("y1", skip_start=True).tolist() == [1, 2]
    np.testing.assert_array_equal(scores.stopped("y1"), [9.0, 0.8])
    np.testing.assert_array_equal(scores.stopped("y1", skip_start=True), [1.5, 0.8])
    np.testing.assert_array_equal(scores.final("test", "y1"), [1.2, 0.8])
    log = scores.log("test", run=1)
    assert log.eval_step.tolist() == [0, 10, 20] and log.eval_metric["y1"].tolist() == [9.5, 1.6, 0.8]


def test_the_batched_trainer_evaluates_like_each_network() -> None:
    batched = BatchedAlternatingTrainer([3, 4], net_settings=STRUCTURED_NET)
    batched.fit(datasets, schedule, seeds=[3, 4])
    errors = batched.evaluate(HELD_OUT["test"])
    for run in range(2):
        expected = batched.network(run).evaluate(HELD_OUT["test"])
        for task in ("y1", "y2"):
            np.testing.assert_allclose(errors[task][run], expected[task], rtol=1e-5)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"held_out": {}}, "held_out must name"),
        ({"checkpoints": [30, 20]}, "checkpoints must be increasing"),
        ({"checkpoints": [10, 99]}, "checkpoints must be increasing"),
        ({"checkpoints": 0}, "checkpoints"),
    ],
)
def test_clear_errors(options: dict, message: str) -> None:
    trainer = AlternatingTrainer(TwoHeadNet(**STRUCTURED_NET, seed=0))
    arguments = {"checkpoints": 10, "held_out": HELD_OUT, **options}
    with pytest.raises((TypeError, ValueError), match=message):
        fit_checkpoints(trainer, datasets(0), schedule(0), **arguments)


def test_unknown_split_or_task_is_named() -> None:
    trainer = AlternatingTrainer(TwoHeadNet(**STRUCTURED_NET, seed=0))
    scores = fit_checkpoints(trainer, datasets(0), schedule(0), checkpoints=45, held_out=HELD_OUT)
    with pytest.raises(ValueError, match="no held-out set named 'valid'"):
        scores.stopped("y1", select="valid")
    with pytest.raises(ValueError, match="not 'y3'"):
        scores.final("test", "y3")
