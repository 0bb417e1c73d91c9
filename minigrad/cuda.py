"""``minigrad.cuda``: the few ``torch.cuda`` calls training programs make.

>>> device = "cuda" if minigrad.cuda.is_available() else "cpu"
"""

from __future__ import annotations

from minigrad import backend

__all__ = ["is_available", "device_count", "current_device", "manual_seed", "manual_seed_all", "synchronize"]


def is_available() -> bool:
    """True when CuPy sees an NVIDIA GPU."""
    return backend.gpu_available()


def device_count() -> int:
    """How many GPUs CuPy sees (0 without CuPy)."""
    if not is_available():
        return 0
    return int(backend.cupy.cuda.runtime.getDeviceCount())


def current_device() -> int:
    """The index of the GPU in use (minigrad uses one GPU per process)."""
    if not is_available():
        raise RuntimeError("minigrad.cuda.current_device: no CUDA GPU (CuPy sees none)")
    return int(backend.cupy.cuda.Device().id)


def manual_seed(seed: int) -> None:
    """Seed the random numbers drawn on the GPU (minigrad derives them from the global seed)."""
    from minigrad.random import manual_seed as _seed

    _seed(seed)


manual_seed_all = manual_seed


def synchronize() -> None:
    """Wait for the GPU to finish its queued work (nothing to wait for on the CPU)."""
    if is_available():
        backend.cupy.cuda.Device().synchronize()
