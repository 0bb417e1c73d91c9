"""The array backend: NumPy on the CPU, CuPy on an NVIDIA GPU.

Every op is written once against an *array module* ``xp`` (``numpy`` or ``cupy``),
chosen from the arrays it receives, as in Chainer's ``get_array_module``::

    xp = get_array_module(x)
    y = xp.exp(x)          # runs on whichever device x lives on

CuPy is optional: on a machine without it (a student's laptop, CI) everything
runs on NumPy and ``gpu_available()`` is False.

The module global ``cupy`` below is the one place the engine learns about CuPy
(every op asks ``get_array_module``/``device_of``/``to_device``); the test suite
puts a CPU stand-in there (``tests/_cupy_standin.py``) to check CuPy's rules
without a GPU.

On a GPU every ``float(x)``, ``int(x)`` or ``if x.any():`` on a device array waits for
the GPU and copies to the host (a *sync*). So value checks that would need one
(class indices in range, probabilities in [0, 1], embedding indices) are opt-in
there: ``MINIGRAD_CHECK_VALUES=1`` (see `value_checks`). On the CPU they always run.
"""

from __future__ import annotations

import ctypes
import os
import sys

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


class device(str):  # noqa: N801 - PyTorch's name
    """A device name, as ``torch.device``: ``minigrad.device("cuda")``, ``.type``, ``.index``.

    It is a ``str`` ("cpu" or "cuda"), so ``x.device == "cpu"`` and ``x.to(device)`` work too.
    """

    def __new__(cls, type: str, index: int | None = None):  # noqa: A002 - PyTorch's names
        name, _, number = str(type).partition(":")
        self = super().__new__(cls, normalize_device(name))
        self.index = int(number) if number else index
        return self

    @property
    def type(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"


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


def value_checks(array) -> bool:
    """Should an op check the *values* of ``array`` (range checks, NaN checks)?

    Always on the CPU. On a GPU each check costs a host sync, so only with
    ``MINIGRAD_CHECK_VALUES=1`` (PyTorch checks with asynchronous device asserts,
    which CuPy cannot express); without it an out-of-range index gives garbage,
    not an error, as on many GPU libraries.
    """
    if device_of(array) != "cuda":
        return True
    return os.environ.get("MINIGRAD_CHECK_VALUES", "0").strip().lower() in ("1", "true", "on", "yes")


_DEVICE_RNG = None  # (host generator it was seeded from, cupy Generator)


def random_like(like, shape, dtype=np.float32):
    """Uniform [0, 1) numbers of ``shape`` on ``like``'s device, from minigrad's seed.

    On the CPU: minigrad's global generator (``minigrad.manual_seed``). On a GPU: a
    CuPy generator drawn on the device (no host copy per call), itself seeded once
    from the global generator after each ``manual_seed``, so GPU runs repeat too
    (with numbers different from the CPU's).
    """
    from minigrad.random import get_rng

    host = get_rng()
    if device_of(like) != "cuda":
        return host.random(shape, dtype=dtype)
    global _DEVICE_RNG
    if _DEVICE_RNG is None or _DEVICE_RNG[0] is not host or _DEVICE_RNG[2] is not cupy:
        seed = int(host.integers(0, 2**63 - 1))
        _DEVICE_RNG = (host, cupy.random.default_rng(seed), cupy)
    return _DEVICE_RNG[1].random(shape, dtype=dtype)


# ----------------------------------------------------------------------------- host memory

#: glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: Freed blocks below this size stay with the process for reuse (glibc's largest allowed value).
KEEP_BLOCKS_BELOW = 32 << 20
#: Free memory at the top of the heap beyond this goes back to the operating system.
KEEP_AT_MOST = 512 << 20


def keep_freed_memory() -> bool:
    """Make glibc keep the big blocks minigrad frees, for reuse; True if it was set.

    A training step allocates and frees the same multi-megabyte arrays again and again
    (activations, gradients, temporaries). By default glibc hands every block above
    ~128 KB-32 MB back to the operating system when it is freed, and the next array of
    that size is new memory: each of its 4 KiB pages traps into the kernel on first
    write (a page fault, which also zero-fills the page). With ``mallopt`` blocks below
    `KEEP_BLOCKS_BELOW` come from the heap and freed ones are reused; up to
    `KEEP_AT_MOST` of free heap is kept. Measured on the 2-core benchmark machine: the
    Transformer step from PyTorch's default layers +20% samples/s, the LSTM +10%, the
    MLP unchanged.

    Called once at ``import minigrad`` on Linux with glibc (elsewhere nothing happens).
    It is process-wide: the process keeps up to `KEEP_AT_MOST` of freed memory instead of
    returning it. ``MINIGRAD_KEEP_FREED_MEMORY=0`` in the environment turns it off.
    """
    if os.environ.get("MINIGRAD_KEEP_FREED_MEMORY", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, ...)
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    kept = mallopt(_M_MMAP_THRESHOLD, KEEP_BLOCKS_BELOW)
    return bool(kept) and bool(mallopt(_M_TRIM_THRESHOLD, KEEP_AT_MOST))


keep_freed_memory()
