"""The trainers under tf.distribute compute what they compute on one device.

Logical devices must be configured before TensorFlow starts, so the
two-replica comparison runs in its own process
(``tests/unit/scripts/distributed_equality.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mtl_helpers import STRUCTURED_NET, AlternatingTrainer, JointTrainer, RelatedTasks, TwoHeadNet, tf
from mtl_helpers.distributed import split_cpu

SCRIPT = Path(__file__).parent / "scripts" / "distributed_equality.py"


@pytest.fixture(scope="module")
def mirrored_report() -> dict:
    result = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_two_replicas_train_like_one_device(mirrored_report: dict) -> None:
    assert mirrored_report["replicas"] == 2
    for name, case in mirrored_report["cases"].items():
        assert case["steps"] >= 50, name
        assert case["relative_difference"] <= 1e-5, f"{name}: {case['relative_difference']:.2e}"


def test_each_task_optimizer_keeps_its_own_step_count(mirrored_report: dict) -> None:
    single, mirrored = mirrored_report["cases"]["alternating"]["step_counts"]
    assert mirrored == single and sum(single) == 50 and min(single) > 0


def test_the_book_covers_every_trainer_and_method(mirrored_report: dict) -> None:
    cases = set(mirrored_report["cases"])
    expected = {"alternating", "joint, fixed weights", "joint, uncertainty weighting", "joint, PCGrad", "joint, missing labels"}
    assert expected <= cases


def test_a_network_built_outside_the_scope_is_refused() -> None:
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    outside = TwoHeadNet(**STRUCTURED_NET)
    with pytest.raises(ValueError, match=r"inside `with strategy.scope\(\):`"):
        AlternatingTrainer(outside, strategy=strategy)
    with strategy.scope():
        inside = TwoHeadNet(**STRUCTURED_NET)
    with pytest.raises(ValueError, match="jit_compile=True cannot be combined"):
        JointTrainer(inside, strategy=strategy, jit_compile=True)
    with pytest.raises(TypeError, match=r"tf\.distribute\.Strategy"):
        JointTrainer(inside, strategy="mirrored")


def test_one_device_strategy_gives_the_plain_losses() -> None:
    data = RelatedTasks(correlation=0.5).sample(64, seed=0)
    plain = JointTrainer(TwoHeadNet(**STRUCTURED_NET, seed=1)).fit(data, 20, batch_size=8).loss
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        net = TwoHeadNet(**STRUCTURED_NET, seed=1)
    distributed = JointTrainer(net, strategy=strategy).fit(data, 20, batch_size=8).loss
    assert abs(distributed - plain).max() <= 1e-5 * abs(plain).max()


def test_split_cpu_after_start_says_to_restart() -> None:
    tf.constant(1.0)  # TensorFlow has started in this process
    assert split_cpu(len(tf.config.list_logical_devices("CPU")))  # the current split is accepted
    with pytest.raises(RuntimeError, match="Restart the kernel"):
        split_cpu(7)
