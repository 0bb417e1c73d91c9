"""Device tests: on the CuPy stand-in by default, on a real GPU with ``MINIGRAD_TEST_DEVICE=cuda``.

Fixtures: ``xp`` (the CuPy module in use), ``standin`` (the stand-in module; skips on a
real GPU, for tests that count transfers), ``kernels_on_device`` (Triton kernels for
device arrays: compiled on a GPU, run by Triton's interpreter on the stand-in).
"""

from __future__ import annotations

import os
import sys
import warnings

import pytest

from minigrad import backend

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import _cupy_standin  # noqa: E402

ON_GPU = os.environ.get("MINIGRAD_TEST_DEVICE", "").strip().lower() == "cuda"


def check_gpu_requested(on_gpu: bool) -> None:
    """With ``MINIGRAD_TEST_DEVICE=cuda`` a missing GPU is an error, not a silent skip."""
    if on_gpu and backend.cupy is None:
        raise pytest.UsageError("MINIGRAD_TEST_DEVICE=cuda but CuPy sees no GPU: install "
                                "cupy-cuda12x (or cupy-cuda13x) on a machine with an NVIDIA GPU")


def pytest_collection_modifyitems(config, items):
    check_gpu_requested(ON_GPU)


@pytest.fixture(autouse=True)
def _device():
    """Install the stand-in (unless on a real GPU) for the duration of each test."""
    if ON_GPU:
        yield backend.cupy
        return
    undo = _cupy_standin.install()
    try:
        with warnings.catch_warnings():
            # the stand-in runs with TRITON_INTERPRET=1, so "auto" mode says once that it keeps
            # device arrays on CuPy; test_issue11_defects.py checks that warning itself
            warnings.filterwarnings("ignore", message="minigrad: Triton kernels are off")
            yield _cupy_standin
    finally:
        undo()


@pytest.fixture
def xp(_device):
    return _device


@pytest.fixture
def standin(_device):
    if ON_GPU:
        pytest.skip("counts host-device transfers: stand-in only")
    return _cupy_standin


@pytest.fixture
def kernels_on_device(_device):
    """Let the engine send device arrays to the Triton kernels.

    On a GPU that is the default. On the stand-in, Triton's interpreter runs the
    kernels on the host buffers behind the stand-in arrays (the real launch layer
    refuses device arrays in interpreter mode: defect 2 of issue 11).
    """
    kernels = pytest.importorskip("minigrad.kernels")
    if ON_GPU:
        yield kernels
        return
    undo = _cupy_standin.route_kernels_through_interpreter()
    try:
        yield kernels
    finally:
        undo()
