"""Random numbers and tensor factories.

One global NumPy ``Generator`` drives every random op in minigrad (parameter
init, dropout, ``randn``, data shuffling defaults), so ``minigrad.manual_seed(s)``
makes a whole run repeatable. Random arrays are drawn on the CPU and then moved,
so the same seed gives the same numbers on every device.
"""

from __future__ import annotations

import numpy as np

from minigrad import backend
from minigrad.tensor import Tensor, get_default_dtype

_rng = np.random.default_rng(0)


def manual_seed(seed: int) -> None:
    """Seed minigrad's global random generator."""
    global _rng
    _rng = np.random.default_rng(seed)


def get_rng() -> np.random.Generator:
    """The global generator (for code that needs random numbers beyond these factories)."""
    return _rng


def _shape(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def _make(array, dtype, requires_grad, device) -> Tensor:
    dtype = get_default_dtype() if dtype is None else dtype
    return Tensor(array.astype(dtype, copy=False), requires_grad=requires_grad, device=device)


def tensor(data, requires_grad: bool = False, dtype=None, device=None) -> Tensor:
    """A tensor from a list, number or array, always a copy (as ``torch.tensor``).

    Python floats become float32 (the default dtype), Python ints int64;
    NumPy arrays keep their dtype unless ``dtype`` is given. (``Tensor(array)``
    instead shares the array's memory, like ``torch.from_numpy``.)
    """
    if isinstance(data, Tensor):
        data = data.data
    if hasattr(data, "copy"):
        data = data.copy()  # an optimizer step must never write into the caller's array
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


def zeros(*shape, dtype=None, requires_grad=False, device=None) -> Tensor:
    """A tensor of zeros."""
    return _make(np.zeros(_shape(shape)), dtype, requires_grad, device)


def ones(*shape, dtype=None, requires_grad=False, device=None) -> Tensor:
    """A tensor of ones."""
    return _make(np.ones(_shape(shape)), dtype, requires_grad, device)


def full(shape, fill_value, dtype=None, requires_grad=False, device=None) -> Tensor:
    """A tensor filled with ``fill_value`` (int64 for an int, bool for a bool, as PyTorch)."""
    array = np.full(_shape((shape,)), fill_value)
    if dtype is None and array.dtype.kind in "biu":
        return Tensor(array, device=device)
    return _make(array, dtype, requires_grad, device)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None) -> Tensor:
    """``start, start + step, ...`` up to (not including) ``end``; int64 for integer arguments."""
    array = np.arange(start, end, step) if end is not None else np.arange(start)
    if dtype is None and array.dtype.kind == "f":
        dtype = get_default_dtype()
    return Tensor(array, requires_grad=requires_grad, dtype=dtype, device=device)


def randn(*shape, dtype=None, requires_grad=False, device=None) -> Tensor:
    """Samples from the standard normal distribution N(0, 1)."""
    return _make(_rng.standard_normal(_shape(shape)), dtype, requires_grad, device)


def rand(*shape, dtype=None, requires_grad=False, device=None) -> Tensor:
    """Samples from the uniform distribution on [0, 1)."""
    return _make(_rng.random(_shape(shape)), dtype, requires_grad, device)


def randint(low, high, size, device=None) -> Tensor:
    """Random integers in [low, high) (int64)."""
    return Tensor(_rng.integers(low, high, size=size), device=device)


def zeros_like(t: Tensor, dtype=None, requires_grad=False) -> Tensor:
    """Zeros with the shape, dtype and device of ``t``."""
    xp = backend.get_array_module(t.data)
    return Tensor(xp.zeros(t.shape, dtype=dtype or t.dtype), requires_grad=requires_grad)


def ones_like(t: Tensor, dtype=None, requires_grad=False) -> Tensor:
    """Ones with the shape, dtype and device of ``t``."""
    xp = backend.get_array_module(t.data)
    return Tensor(xp.ones(t.shape, dtype=dtype or t.dtype), requires_grad=requires_grad)


def randn_like(t: Tensor, dtype=None, requires_grad=False) -> Tensor:
    """N(0, 1) samples with the shape and device of ``t``."""
    return randn(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad, device=t.device)
