"""The array backend: NumPy on the CPU, CuPy on an NVIDIA GPU.

Every op is written once against an *array module* ``xp`` (``numpy`` or ``cupy``),
chosen from the arrays it receives, as in Chainer's ``get_array_module``::

    xp = get_array_module(x)
    y = xp.exp(x)          # runs on whichever device x lives on

CuPy is optional: on a machine without it (a student's laptop, CI) everything
runs on NumPy and ``gpu_available()`` is False.
"""

from __future__ import annotations

import numpy as np

try:  # CuPy needs a CUDA driver; importing it can fail in many ways on a CPU-only machine.
    import cupy as _cupy

    _cupy.cuda.runtime.getDeviceCount()
except Exception:  # noqa: BLE001 - any failure means "no usable GPU"
    _cupy = None

__all__ = ["get_array_module", "gpu_available", "device_of", "to_device", "cupy"]

cupy = _cupy


def gpu_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    return cupy is not None


def get_array_module(*arrays):
    """Return ``cupy`` if any argument is a CuPy array, else ``numpy``."""
    if cupy is not None:
        for a in arrays:
            if isinstance(a, cupy.ndarray):
                return cupy
    return np


def device_of(array) -> str:
    """``"cuda"`` for a CuPy array, ``"cpu"`` otherwise."""
    return "cuda" if cupy is not None and isinstance(array, cupy.ndarray) else "cpu"


def normalize_device(device) -> str:
    """Accept ``"cpu"``, ``"cuda"`` and ``"cuda:0"``; return ``"cpu"`` or ``"cuda"``."""
    name = str(device).split(":")[0].lower()
    if name not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {device!r}: expected 'cpu' or 'cuda'")
    return name


def to_device(array, device: str):
    """Copy ``array`` to ``device`` (no copy when it is already there)."""
    device = normalize_device(device)
    if device == "cpu":
        return cupy.asnumpy(array) if device_of(array) == "cuda" else np.asarray(array)
    if cupy is None:
        raise RuntimeError(
            "device 'cuda' requested but no GPU is usable here: install CuPy "
            "(pip install 'minigrad-edu[gpu]') on a machine with an NVIDIA GPU"
        )
    return cupy.asarray(array)
