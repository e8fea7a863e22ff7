"""Devices and worker processes for data-parallel training (chapter 10).

``tf.distribute.MirroredStrategy`` needs several devices. A CPU-only machine
has one, but TensorFlow can split it into *logical* devices before it starts
using it: :func:`split_cpu` does that, so the book's distributed code runs
(and is tested) on a laptop. It proves correctness, not speed: the logical
devices share the same cores.

``tf.distribute.MultiWorkerMirroredStrategy`` needs several *processes*, each
told by a ``TF_CONFIG`` environment variable where the others listen.
:func:`run_workers` starts a function in fresh Python processes on this
machine (a cluster on ``127.0.0.1`` with free ports chosen at run time,
:func:`free_ports` and :func:`tf_config`), bounds them in time, collects what
the function returns, and stops every process it started, whatever happens.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mtl_helpers._tensorflow import tf
from mtl_helpers._validation import non_negative_int, positive_int

__all__ = ["WorkerError", "free_ports", "run_workers", "split_cpu", "tf_config"]

#: Marks the line on which a worker prints its function's result (JSON).
RESULT_MARKER = "MTL_WORKER_RESULT "
#: Seconds a worker may outlive its deadline before it ends itself (``signal.alarm``),
#: in case the process that started it died without stopping it.
_GRACE = 30


def split_cpu(n_devices: int) -> list[str]:
    """Split the first CPU into ``n_devices`` logical devices and return their names.

    Must run before TensorFlow first uses a device (before any tensor is
    created): in a notebook, in the first cell after the imports. Calling it
    again with the same number is harmless.

    Parameters
    ----------
    n_devices : int
        How many logical CPU devices to make (>= 1).

    Returns
    -------
    list of str
        ``["/device:CPU:0", "/device:CPU:1", ...]``, for ``MirroredStrategy(devices)``.
    """
    n_devices = positive_int(n_devices, name="n_devices")
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is None or len(current) != n_devices:
        try:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n_devices)
        except RuntimeError:
            have = len(tf.config.list_logical_devices("CPU"))
            if have == n_devices:  # already started, with the split asked for
                return [device.name for device in tf.config.list_logical_devices("CPU")]
            raise RuntimeError(
                f"TensorFlow has already started with {have} CPU device(s); split_cpu({n_devices}) must run "
                "before any tensor is created. Restart the kernel and call it first."
            ) from None
    return [device.name for device in tf.config.list_logical_devices("CPU")]


def free_ports(n: int, *, host: str = "127.0.0.1") -> list[int]:
    """``n`` distinct TCP ports that are free on ``host`` right now.

    The operating system picks them (binding to port 0). Another program may
    take one before the workers bind it; on a laptop that is rare.

    Examples
    --------
    >>> ports = free_ports(2)
    >>> len(set(ports)), all(0 < port < 65536 for port in ports)
    (2, True)
    """
    n = positive_int(n, name="n")
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(n)]
    try:
        for sock in sockets:  # all bound at once, so the ports differ
            sock.bind((host, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def tf_config(workers: Sequence[str], index: int) -> dict[str, Any]:
    """The ``TF_CONFIG`` of worker ``index`` in a cluster of ``workers``.

    Parameters
    ----------
    workers : sequence of str
        Every worker's ``"host:port"``, in the same order for every worker.
    index : int
        This worker's position in ``workers``; worker 0 is the chief.

    Returns
    -------
    dict
        ``{"cluster": {"worker": [...]}, "task": {"type": "worker", "index": index}}``;
        put ``json.dumps`` of it in the environment variable ``TF_CONFIG``.

    Examples
    --------
    >>> tf_config(["127.0.0.1:2222", "127.0.0.1:2223"], 1)["task"]
    {'type': 'worker', 'index': 1}
    """
    if isinstance(workers, str) or not all(isinstance(w, str) and ":" in w for w in workers):
        raise TypeError(f"workers must be a list of 'host:port' strings, got {workers!r}")
    index = non_negative_int(index, name="index")
    if index >= len(workers):
        raise ValueError(f"index {index} is not a worker of a {len(workers)}-worker cluster; use 0 to {len(workers) - 1}")
    return {"cluster": {"worker": list(workers)}, "task": {"type": "worker", "index": index}}


class WorkerError(RuntimeError):
    """A worker process failed or returned no result; the message ends with its error output."""


def _program(function: Callable[..., Any]) -> str:
    """The Python program a worker runs: ``function``'s source, a call, the result printed as JSON."""
    if not inspect.isfunction(function) or function.__name__ == "<lambda>":
        raise TypeError(f"run_workers needs a function defined with def, got {function!r}")
    if function.__code__.co_freevars:
        raise TypeError(
            f"{function.__name__} uses variables of an enclosing function {list(function.__code__.co_freevars)}; "
            "a worker runs only the function's own source: define it at top level and pass values as kwargs"
        )
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError) as error:
        raise TypeError(f"the source of {function.__name__} is not available ({error}); define it in a file or cell") from None
    return "\n".join(
        [
            "import json, os, signal, sys, time",
            "if hasattr(signal, 'alarm'):",
            "    signal.alarm(int(sys.argv[2]))  # ends this process even if its parent is gone",
            source,
            f"_result = {function.__name__}(**json.loads(sys.argv[1]))",
            f"print({RESULT_MARKER!r} + json.dumps(_result), flush=True)",
            "sys.stderr.flush()",
            "# Wait for every worker to finish before leaving: a worker done with its last all-reduce may",
            "# still be sending its part to a slower one, which would see a closed socket.",
            "open(os.path.join(sys.argv[3], str(os.getpid())), 'w').close()",
            "while len(os.listdir(sys.argv[3])) < int(sys.argv[4]):",
            "    time.sleep(0.01)",
            "os._exit(0)  # skip the interpreter's teardown: after an aborted collective, TensorFlow's can crash",
        ]
    )


def _stop(process: subprocess.Popen) -> None:
    """Kill ``process`` and everything it started (its process group, which may outlive it), then reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):  # the group is gone already
        if process.poll() is None:
            process.kill()
    process.wait()


def _result(index: int, process: subprocess.Popen, stdout: str, stderr: str) -> Any:
    lines = [line for line in stdout.splitlines() if line.startswith(RESULT_MARKER)]
    if process.returncode == 0 and lines:
        return json.loads(lines[-1][len(RESULT_MARKER) :])
    tail = "\n".join(stderr.strip().splitlines()[-15:])
    raise WorkerError(f"worker {index} exited with status {process.returncode} and no result; its last error output:\n{tail}")


def run_workers(
    function: Callable[..., Any],
    n_workers: int = 2,
    *,
    kwargs: Mapping[str, Any] | None = None,
    timeout: float = 120.0,
    host: str = "127.0.0.1",
) -> list[Any]:
    """Run ``function(**kwargs)`` in ``n_workers`` new Python processes that form a cluster.

    Each process gets its own ``TF_CONFIG`` (:func:`tf_config`, free ports on
    ``host``), so ``tf.distribute.MultiWorkerMirroredStrategy()`` created in
    ``function`` connects them. The processes run in their own process
    groups; when they have all finished, when one fails, or when ``timeout``
    seconds have passed, every process still running is killed with its
    children. Each worker also ends itself shortly after the deadline, in
    case this process dies first.

    Parameters
    ----------
    function : function
        Defined with ``def`` at top level: a worker runs only its source, so it
        must import what it uses itself. Its keyword arguments and its return
        value must be JSON (numbers, strings, lists, dicts).
    n_workers : int, default 2
    kwargs : dict, optional
        Keyword arguments for ``function``, the same for every worker.
    timeout : float, default 120
        Seconds for the whole run, from the start of the first process.
    host : str, default "127.0.0.1"

    Returns
    -------
    list
        ``function``'s return value in each worker, in worker order.

    Raises
    ------
    WorkerError
        A worker exited with an error (the message ends with its error output).
    TimeoutError
        The workers did not all finish within ``timeout`` seconds.

    Examples
    --------
    >>> def whoami():
    ...     import json, os
    ...     return json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    >>> run_workers(whoami, 2, timeout=60)
    [0, 1]
    """
    program = _program(function)
    n_workers = positive_int(n_workers, name="n_workers")
    if isinstance(timeout, bool) or not (isinstance(timeout, int | float) and timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    arguments = json.dumps(dict(kwargs or {}))
    workers = [f"{host}:{port}" for port in free_ports(n_workers, host=host)]
    alarm = str(int(timeout) + _GRACE)
    processes: list[subprocess.Popen] = []
    deadline = time.monotonic() + timeout
    with contextlib.ExitStack() as files:
        outputs = [(files.enter_context(tempfile.TemporaryFile("w+")), files.enter_context(tempfile.TemporaryFile("w+")))
                   for _ in range(n_workers)]  # files, not pipes: no pipe fills up while we wait for another worker
        finished = files.enter_context(tempfile.TemporaryDirectory())  # one file per worker that has its result
        try:
            for index, (out, err) in enumerate(outputs):
                env = {**os.environ, "TF_CONFIG": json.dumps(tf_config(workers, index))}
                command = [sys.executable, "-c", program, arguments, alarm, finished, str(n_workers)]
                processes.append(subprocess.Popen(command, env=env, stdout=out, stderr=err, start_new_session=True))
            while None in (codes := [p.poll() for p in processes]):
                if any(code not in (None, 0) for code in codes):
                    break  # one failed: the others would wait for it until the deadline
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the {n_workers} workers did not finish within {timeout:g} s; all were stopped")
                time.sleep(0.05)
        finally:
            failed_alone = [i for i, p in enumerate(processes) if p.returncode not in (None, 0)]
            for process in processes:
                _stop(process)
        texts = []
        for out, err in outputs:
            out.seek(0), err.seek(0)
            texts.append((out.read(), err.read()))
    for index in failed_alone:  # the worker that failed, not the ones it left waiting
        _result(index, processes[index], *texts[index])
    return [_result(index, process, *texts[index]) for index, process in enumerate(processes)]
