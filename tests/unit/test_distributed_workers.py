"""Worker processes for MultiWorkerMirroredStrategy (chapter 10): ports, TF_CONFIG, start, stop, results.

Every test ends with no worker process left running, whatever happened in it
(the autouse fixture looks for them in /proc).
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from mtl_helpers import STRUCTURED_NET, JointTrainer, RelatedTasks, TwoHeadNet, article_adam, tf
from mtl_helpers.distributed import RESULT_MARKER, WorkerError, free_ports, run_workers, tf_config

PROC = Path("/proc")
pytestmark = pytest.mark.skipif(not PROC.is_dir(), reason="the process checks read /proc (Linux)")


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting to be reaped counts as stopped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _parent(pid: int) -> int | None:
    try:
        return int((PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _worker_pids() -> list[int]:
    """This test process's children that run a worker program of run_workers.

    Only its own: under pytest-xdist another test process may be running workers
    of its own at the same time.
    """
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit() and _parent(int(entry.name)) == os.getpid():
            try:
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if RESULT_MARKER.encode() in command and _alive(int(entry.name)):
                found.append(int(entry.name))
    return found


@pytest.fixture(autouse=True)
def no_worker_left() -> Iterator[None]:
    yield
    deadline = time.monotonic() + 5
    while _worker_pids() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _worker_pids() == [], "a worker process is still running"


# ------------------------------------------------------------------ ports and TF_CONFIG


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = free_ports(3)
    assert len(set(ports)) == 3
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_tensorflow_reads_every_workers_tf_config(monkeypatch: pytest.MonkeyPatch) -> None:
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    for index in range(2):
        monkeypatch.setenv("TF_CONFIG", json.dumps(tf_config(workers, index)))
        resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
        assert resolver.cluster_spec().as_dict() == {"worker": workers}
        assert (resolver.task_type, resolver.task_id) == ("worker", index)


@pytest.mark.parametrize(
    ("workers", "index", "error", "words"),
    [
        ("127.0.0.1:1,127.0.0.1:2", 0, TypeError, "list of 'host:port'"),
        (["127.0.0.1"], 0, TypeError, "host:port"),
        (["127.0.0.1:1", "127.0.0.1:2"], 2, ValueError, "use 0 to 1"),
        (["127.0.0.1:1"], -1, ValueError, "index"),
    ],
)
def test_tf_config_refuses_what_tensorflow_cannot_use(workers: object, index: int, error: type, words: str) -> None:
    with pytest.raises(error, match=words):
        tf_config(workers, index)


# ------------------------------------------------------------------ running workers (no TensorFlow: fast)


def whoami(offset: int = 0) -> dict:
    import json
    import os

    config = json.loads(os.environ["TF_CONFIG"])
    return {"index": config["task"]["index"] + offset, "cluster": config["cluster"]["worker"]}


def test_each_worker_gets_its_tf_config_and_the_kwargs() -> None:
    reports = run_workers(whoami, 3, kwargs={"offset": 10}, timeout=60)
    assert [report["index"] for report in reports] == [10, 11, 12]
    assert reports[0]["cluster"] == reports[2]["cluster"] and len(set(reports[0]["cluster"])) == 3
    assert all(address.startswith("127.0.0.1:") for address in reports[0]["cluster"])


def one_fails(pid_file: str) -> None:
    import json
    import os
    import time
    from pathlib import Path

    index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    if index == 1:
        raise ValueError("worker one is broken")
    Path(pid_file).write_text(str(os.getpid()))
    time.sleep(120)  # waits for its partner, like a worker in an all-reduce


def test_a_failing_worker_is_reported_and_the_others_are_stopped(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    start = time.monotonic()
    with pytest.raises(WorkerError, match=r"worker 1 exited with status 1(.|\n)*worker one is broken"):
        run_workers(one_fails, 2, kwargs={"pid_file": str(pid_file)}, timeout=60)
    assert time.monotonic() - start < 30, "run_workers waited for the deadline instead of stopping at the failure"
    if pid_file.exists():
        assert not _alive(int(pid_file.read_text()))


def sleeps_with_a_child(pid_dir: str) -> None:
    import json
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    Path(pid_dir, f"{index}").write_text(f"{os.getpid()} {child.pid}")
    time.sleep(120)


def test_the_timeout_stops_every_worker_and_its_children(tmp_path: Path) -> None:
    start = time.monotonic()
    with pytest.raises(TimeoutError, match="did not finish within 5 s"):
        run_workers(sleeps_with_a_child, 2, kwargs={"pid_dir": str(tmp_path)}, timeout=5)
    assert time.monotonic() - start < 20
    pids = [int(pid) for path in tmp_path.iterdir() for pid in path.read_text().split()]
    assert len(pids) == 4, "both workers should have started a child before the timeout"
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in pids if _alive(pid)]


def test_functions_a_worker_cannot_run_are_refused() -> None:
    offset = 1

    def closure() -> int:
        return offset

    with pytest.raises(TypeError, match="enclosing function"):
        run_workers(closure, 2)
    with pytest.raises(TypeError, match="defined with def"):
        run_workers(lambda: 1, 2)
    with pytest.raises(ValueError, match="positive number of seconds"):
        run_workers(whoami, 2, timeout=0)


# ------------------------------------------------------------------ MultiWorkerMirroredStrategy


def train_joint(steps: int) -> list[float]:
    import mtl_helpers
    from mtl_helpers import STRUCTURED_NET, JointTrainer, RelatedTasks, TwoHeadNet, article_adam, tf

    mtl_helpers.setup(seed=0)
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=60)
    strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    data = RelatedTasks(correlation=0.5, seed=0).sample(256, seed=1)
    with strategy.scope():
        net = TwoHeadNet(**STRUCTURED_NET, loss="mean_squared_error", seed=1)
    trainer = JointTrainer(net, make_optimizer=lambda: article_adam(0.01), strategy=strategy)
    return trainer.fit(data, steps, batch_size=16, seed=2).loss.tolist()


def test_two_worker_processes_train_like_one_device() -> None:
    """MultiWorkerMirroredStrategy over two processes gives the one-device losses (issue 16)."""
    steps = 50
    data = RelatedTasks(correlation=0.5, seed=0).sample(256, seed=1)
    net = TwoHeadNet(**STRUCTURED_NET, loss="mean_squared_error", seed=1)
    single = JointTrainer(net, make_optimizer=lambda: article_adam(0.01)).fit(data, steps, batch_size=16, seed=2).loss
    for losses in run_workers(train_joint, 2, kwargs={"steps": steps}, timeout=300):
        assert len(losses) == steps
        assert np.max(np.abs(np.asarray(losses) - single) / np.abs(single)) <= 1e-5


def leaves_a_child(pid_dir: str) -> int:
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    Path(pid_dir, f"{index}").write_text(str(child.pid))
    return index  # returns at once, leaving its child running


def test_children_of_workers_that_finished_are_stopped_too(tmp_path: Path) -> None:
    assert run_workers(leaves_a_child, 2, kwargs={"pid_dir": str(tmp_path)}, timeout=60) == [0, 1]
    pids = [int(path.read_text()) for path in tmp_path.iterdir()]
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in pids if _alive(pid)]
