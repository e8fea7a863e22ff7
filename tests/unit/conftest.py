from __future__ import annotations

import numpy as np
import pytest

import mtl_helpers


@pytest.fixture(autouse=True)
def _reproducible() -> None:
    mtl_helpers.setup(seed=0)

@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
