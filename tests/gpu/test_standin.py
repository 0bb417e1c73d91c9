"""The CuPy stand-in refuses what CuPy refuses (else the device tests prove nothing)."""

from __future__ import annotations

import numpy as np
import pytest


def test_no_implicit_conversion_to_numpy(standin):
    a = standin.asarray(np.arange(3.0))
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
        np.asarray(a)
    assert isinstance(a.get(), np.ndarray) and isinstance(standin.asnumpy(a), np.ndarray)


def test_no_mixing_with_numpy_arrays_or_lists(standin):
    a = standin.asarray(np.arange(3.0))
    for bad in (np.ones(3), np.array(1.0), [1.0, 2.0, 3.0]):
        with pytest.raises(TypeError, match="Unsupported type"):
            a + bad
        with pytest.raises(TypeError, match="Unsupported type"):
            standin.maximum(a, bad)
    with pytest.raises(TypeError, match="Unsupported type"):
        np.ones(3) * a  # NumPy hands the ufunc to the device array, which refuses
    assert isinstance(a * np.float32(2) + 1, standin.ndarray)  # scalars are fine


def test_cupy_signatures(standin):
    a = standin.asarray(np.arange(6.0).reshape(2, 3))
    with pytest.raises(TypeError):
        a.min(initial=0.0)
    with pytest.raises(TypeError):
        a.max(initial=1.0)
    with pytest.raises(TypeError):
        standin.lib.stride_tricks.as_strided(a, shape=(2, 2), strides=(8, 8), writeable=False)


def test_element_access_and_reductions_give_0d_device_arrays(standin):
    a = standin.asarray(np.arange(6.0).reshape(2, 3))
    for value in (a[1, 2], a.sum(), a.max()):
        assert isinstance(value, standin.ndarray) and value.ndim == 0


def test_transfers_are_counted_by_call_site(standin):
    a = standin.asarray(np.arange(3.0))
    with standin.counting() as rec:
        float(a.sum())
        if (a > 1).any():
            a.get()
        standin.asarray(np.ones(2))
    assert rec.total("d2h") == 3 and rec.total("h2d") == 1
    assert all(site.startswith("gpu/test_standin.py:") for site in rec.sites())


def test_cuda_namespace_and_random(standin):
    with standin.cuda.Device(0):
        start, stop = standin.cuda.Event(), standin.cuda.Event()
        start.record()
        stop.record()
        stop.synchronize()
        assert standin.cuda.get_elapsed_time(start, stop) >= 0
    assert standin.cuda.runtime.getDeviceCount() == 1
    r1 = standin.random.default_rng(5).random((3,), dtype=np.float32)
    r2 = standin.random.default_rng(5).random((3,), dtype=np.float32)
    assert isinstance(r1, standin.ndarray) and (r1 == r2).all()


def test_backend_sees_the_standin_as_cuda(standin):
    import minigrad

    assert minigrad.backend.gpu_available()
    t = minigrad.ones(2, device="cuda")
    assert t.device == "cuda" and isinstance(t._data, standin.ndarray)
