"""Shared test set-up: every test starts from the same random state.

``MINIGRAD_TEST_DEVICE`` chooses what the device tests (``tests/gpu/``) run on:

* unset or ``cupy-standin`` (CI, laptops): a CPU stand-in for CuPy
  (``tests/_cupy_standin.py``) that enforces CuPy's boundary rules and counts
  host-device transfers; Triton kernels run in Triton's interpreter
  (``TRITON_INTERPRET=1``, set here before anything imports triton);
* ``cuda``: the real GPU through CuPy, with Triton *compiling* kernels, so
  ``TRITON_INTERPRET`` is left unset and the interpreter-only tests skip.

``MINIGRAD_TEST_DEVICE=cupy-standin`` set explicitly also installs the stand-in for
the whole session, so every test that checks ``minigrad.gpu_available()`` runs its
GPU branch on it.
"""

import os
import sys


def configure_test_device(environ) -> str:
    """Validate ``MINIGRAD_TEST_DEVICE`` and set ``TRITON_INTERPRET`` to match; return the device.

    Triton fixes interpreter-or-compiler when it is first imported (kernels/_launch.py),
    so this runs before any test module imports triton.
    """
    device = environ.get("MINIGRAD_TEST_DEVICE", "").strip().lower() or "default"
    if device not in ("default", "cupy-standin", "cuda"):
        raise RuntimeError(f"MINIGRAD_TEST_DEVICE={device!r}: expected 'cupy-standin' or 'cuda'")
    if device == "cuda":
        if environ.get("TRITON_INTERPRET", "0") not in ("", "0"):
            raise RuntimeError("MINIGRAD_TEST_DEVICE=cuda needs TRITON_INTERPRET unset (kernels are "
                               "compiled for the GPU), got TRITON_INTERPRET="
                               f"{environ['TRITON_INTERPRET']}")
    else:
        environ.setdefault("TRITON_INTERPRET", "1")
    return device


TEST_DEVICE = configure_test_device(os.environ)

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import minigrad  # noqa: E402

if TEST_DEVICE == "cupy-standin":
    sys.path.insert(0, os.path.dirname(__file__))
    import _cupy_standin  # noqa: E402

    _cupy_standin.install()


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


@pytest.fixture
def on_device():
    """CuPy for the duration of a test: the CPU stand-in (tests/_cupy_standin.py, which refuses
    to mix NumPy and device arrays, as CuPy does), or the real GPU under MINIGRAD_TEST_DEVICE=cuda."""
    if os.environ.get("MINIGRAD_TEST_DEVICE", "").strip().lower() == "cuda":
        yield
        return
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)
    import _cupy_standin

    undo = _cupy_standin.install()
    try:
        yield
    finally:
        undo()
