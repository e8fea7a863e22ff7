"""mtl_helpers.setup and the quiet TensorFlow import."""

from __future__ import annotations

import subprocess
import sys

import matplotlib as mpl
import numpy as np
import pytest

import mtl_helpers
from mtl_helpers import tf


def test_setup_seeds_numpy_and_tensorflow() -> None:
    mtl_helpers.setup(seed=1)
    first = (np.random.rand(3), tf.random.uniform([3]).numpy())
    mtl_helpers.setup(seed=1)
    second = (np.random.rand(3), tf.random.uniform([3]).numpy())
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])


def test_setup_is_safe_to_call_twice_and_sets_the_style() -> None:
    mtl_helpers.setup(seed=0)
    mtl_helpers.setup(seed=0)
    assert mpl.rcParams["figure.facecolor"] == "white"
    assert mpl.rcParams["savefig.facecolor"] == "white"


@pytest.mark.parametrize(("seed", "error"), [(-1, ValueError), (1.5, TypeError), ("0", TypeError), (True, TypeError)])
def test_setup_rejects_bad_seeds(seed: object, error: type) -> None:
    with pytest.raises(error, match="seed"):
        mtl_helpers.setup(seed=seed)  # type: ignore[arg-type]


def test_importing_the_helpers_writes_nothing_to_stderr() -> None:
    """TensorFlow's absl lines go to file descriptor 2; the import must swallow them."""
    code = "import mtl_helpers; mtl_helpers.setup(0); mtl_helpers.tf.constant(1.0) + 1; print('ok')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    assert result.stderr == "", f"stderr should be empty, got: {result.stderr[:500]!r}"


def test_op_determinism_is_on() -> None:
    from tensorflow.python.framework import config  # the public API has no getter

    mtl_helpers.setup(seed=0)
    assert config.is_op_determinism_enabled()


def test_progress_yields_every_item_with_or_without_a_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(mtl_helpers.runtime.HIDE_PROGRESS_ENV, "1")
    assert list(mtl_helpers.progress(range(3), description="hidden")) == [0, 1, 2]
    monkeypatch.delenv(mtl_helpers.runtime.HIDE_PROGRESS_ENV)
    assert list(mtl_helpers.progress(iter("ab"), total=2)) == ["a", "b"]
