"""Small helpers shared by the ops: argument normalisation, not math."""

from __future__ import annotations

import numbers

import numpy as np

from minigrad import backend
from minigrad.tensor import Tensor, get_default_dtype


def lift(value, like: Tensor) -> Tensor:
    r"""Make `value` (a Python number, array or Tensor) a Tensor to combine with `like`.

    Not an op: a Tensor is returned as it is; a number $c$ becomes a 0-d constant holding $c$
    (it never requires grad, so no $\partial L/\partial c$ is computed), with the dtype NumPy
    would give it next to `like` (`float32_tensor * 2.0` stays float32; an integer tensor with a
    float number gives the default float dtype); an array is copied to the device of `like`.

    Args:
        value: a Python or NumPy number, an array, or a Tensor.
        like: the Tensor it will be combined with.

    Returns:
        A Tensor.
    """
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.generic):
        value = value.item()  # np.float64(2) must not widen a float32 tensor (NumPy 2 would)
    if isinstance(value, numbers.Number):
        dtype = np.result_type(like.dtype, value)
        if dtype.kind == "f" and like.dtype.kind != "f":
            dtype = get_default_dtype()  # int tensor * 0.5 -> float32, as in PyTorch
        xp = backend.get_array_module(like._data)
        return Tensor._wrap(xp.asarray(value, dtype=dtype))
    return Tensor(value, device=like.device)


def lift_pair(a, b):
    """Both operands of a binary op as Tensors (at least one already is).

    An integer or bool tensor meeting a float tensor takes the float dtype, as in
    PyTorch (``x * mask`` stays float32; NumPy alone would give float64).
    """
    if not isinstance(a, Tensor):
        a = lift(a, b)
    elif not isinstance(b, Tensor):
        b = lift(b, a)
    if a.dtype.kind != b.dtype.kind:
        if a.dtype.kind == "f" and b.dtype.kind in "biu":
            b = Tensor._wrap(b._data.astype(a.dtype))
        elif b.dtype.kind == "f" and a.dtype.kind in "biu":
            a = Tensor._wrap(a._data.astype(b.dtype))
    elif a.dtype != b.dtype and (a.ndim == 0) != (b.ndim == 0):
        # a 0-d tensor counts like a Python number next to an n-d one of the same kind:
        # float32 (n-d) with float64 (0-d) stays float32, as in PyTorch
        if a.ndim == 0:
            a = a.to(b.dtype)
        else:
            b = b.to(a.dtype)
    return a, b


def as_float(x: Tensor) -> Tensor:
    """An integer or bool tensor as the default float dtype (``exp``, ``/`` ... of ints are
    floats, float32 as in PyTorch); a float tensor unchanged."""
    if x.dtype.kind in "biu":
        return Tensor._wrap(x._data.astype(get_default_dtype()))
    return x


def resolve_dim(dim, axis, op: str):
    """Accept PyTorch's ``dim`` and NumPy's ``axis`` (not both); return a tuple of axes or None."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{op}: pass either dim= or axis=, not both")
        dim = axis
    if dim is None:
        return None
    return tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)


def resolve_keepdim(keepdim, keepdims) -> bool:
    return bool(keepdim or keepdims)


def normalize_axes(axes, ndim: int, op: str):
    """Turn negative axes positive and check they exist; None means every axis."""
    if axes is None:
        return tuple(range(ndim))
    out = []
    for a in axes:
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise IndexError(f"{op}: dim {a} is out of range for a tensor with {ndim} dims")
        if ndim:  # a 0-d tensor accepts dim 0 / -1, as in PyTorch, and has nothing to reduce
            out.append(a % ndim)
    return tuple(out)
