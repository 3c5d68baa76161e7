"""Fixtures shared by the training tests."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 8)).astype("float32")
    y = (x @ rng.normal(size=(8, 3))).argmax(axis=1)
    return x, y
