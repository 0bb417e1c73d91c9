"""Shared test set-up: every test starts from the same random state."""

import os

# The Triton interpreter must be chosen before triton compiles anything: kernel tests
# run on NumPy arrays on the CPU (there is no GPU here).
os.environ.setdefault("TRITON_INTERPRET", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import minigrad  # noqa: E402


@pytest.fixture(autouse=True)
def _seed_everything():
    """Seed minigrad's generator and NumPy's legacy one so every test is repeatable."""
    minigrad.manual_seed(0)
    np.random.seed(0)
    yield


@pytest.fixture
def rng():
    """A fresh seeded NumPy generator for test data."""
    return np.random.default_rng(1234)
