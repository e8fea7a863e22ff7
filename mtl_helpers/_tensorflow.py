"""Import TensorFlow once, without log noise.

TensorFlow 2.21 prints absl lines (oneDNN notices, CPU feature hints) to the
process's file descriptor 2 while it loads. Environment variables silence most
but not all of them, and inside a Jupyter kernel whatever reaches descriptor 2
ends up in the notebook's stored outputs, which makes nbval comparisons flaky.
This module sets the environment variables *and* points descriptor 2 at
``/dev/null`` for the duration of the import, then restores it.

Every module of :mod:`mtl_helpers` imports TensorFlow from here::

    from mtl_helpers._tensorflow import tf

It is also the one place the package reaches into TensorFlow's non-public
modules (:func:`optimization_barrier`), tested in
``tests/unit/test_batched.py``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator

__all__ = ["optimization_barrier", "silenced_stderr", "tf"]

# Only C++ errors, and the deterministic (non-oneDNN) CPU kernels: oneDNN
# reorders floating-point sums, which changes results in the last digits.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def silenced_stderr() -> Iterator[None]:
    """Send everything written to file descriptor 2 to ``/dev/null``.

    Python's ``sys.stderr`` is flushed first so that nothing already written
    is lost. Works in a terminal, under pytest and inside a Jupyter kernel
    (where descriptor 2 is piped into the notebook).
    """
    try:
        stderr_fd = sys.__stderr__.fileno() if sys.__stderr__ else 2
    except (AttributeError, OSError, ValueError):  # pragma: no cover - exotic hosts
        stderr_fd = 2
    sys.stderr.flush()
    saved_fd = os.dup(stderr_fd)
    devnull_fd = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull_fd, stderr_fd)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved_fd, stderr_fd)
        os.close(saved_fd)
        os.close(devnull_fd)


with silenced_stderr(), warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    tf.autograph.set_verbosity(0)


def optimization_barrier(tensor: tf.Tensor) -> tf.Tensor:
    """``tensor`` unchanged, computed as written: XLA may not fold it into the operations that use it.

    XLA's ``OptimizationBarrier`` has no public TensorFlow API; it lives in
    ``tensorflow.compiler.tf2xla.python.xla``. Only for functions compiled
    with XLA (elsewhere it is an operation of its own, and a slow one).
    """
    from tensorflow.compiler.tf2xla.python import xla

    return xla.optimization_barrier(tensor)[0]
