"""Shared pytest set-up: quiet TensorFlow, locate ../shared/data, keep tests offline."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Test folders mirror the package; shared helpers live in tests/helpers.py.
sys.path.insert(0, str(Path(__file__).resolve().parent))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Tests never download: TFDS reads only what is already prepared.
os.environ.setdefault("KERASCNN_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the clone (real MNIST/Omniglot/MR files); skip if absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not beside this checkout")
    return SHARED_DATA
