"""Small helpers shared by the device tests."""

from __future__ import annotations

import numpy as np

from minigrad import backend


def host(x):
    """A Tensor or device array as a NumPy array (an explicit copy)."""
    data = getattr(x, "_data", x)
    return np.asarray(backend.to_device(data, "cpu"))


def assert_same(device_value, cpu_value, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(host(device_value), host(cpu_value), rtol=rtol, atol=atol)


def on_device(t):
    """Assert that a Tensor (or array) lives on the GPU (a CuPy array)."""
    data = getattr(t, "_data", t)
    assert backend.device_of(data) == "cuda", type(data)
    return t
