r"""Order statistics: ``sort``, ``argsort``, ``topk``, ``kthvalue``, ``median``, ``mode``, ``unique``.

Each op finds *indices* (no gradient: a permutation is piecewise constant) and then
reads the values at them with `gather`, so every gradient
here is gather's: $\partial L/\partial x$ = g scattered back to the positions the
values were read from. Sorting is stable, so ties keep their original order.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from minigrad.backend import get_array_module
from minigrad.ops._util import normalize_axes
from minigrad.ops.index import gather, open_grid
from minigrad.ops.reduce import return_types
from minigrad.tensor import Tensor

kthvalue_result = namedtuple("kthvalue", ["values", "indices"])  # torch.return_types.kthvalue
median_result = namedtuple("median", ["values", "indices"])
mode_result = namedtuple("mode", ["values", "indices"])


def _dim(x: Tensor, dim: int, op: str) -> int:
    (axis,) = normalize_axes((dim,), x.ndim, op) or (0,)
    return axis


def _argsort(data, axis: int, descending: bool):
    """Stable argsort along ``axis``; descending keeps ties in their original order too
    (sort the reversed array ascending, then reverse back)."""
    xp = get_array_module(data)
    if not descending:
        return xp.argsort(data, axis=axis, kind="stable")
    n = data.shape[axis]
    backwards = xp.argsort(xp.flip(data, axis), axis=axis, kind="stable")
    return (n - 1 - xp.flip(backwards, axis)).astype(np.int64)


def _squeeze_or_keep(t: Tensor, axis: int, keepdim: bool) -> Tensor:
    return t if keepdim else t.squeeze(axis)


def sort(x: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False):
    """The values along ``dim`` in order, and where each came from: the named tuple
    ``(values, indices)`` (``torch.sort``). Always stable in minigrad; NaN sorts as the largest."""
    if x.ndim == 0:
        return return_types.sort(x.clone(), Tensor._wrap(get_array_module(x._data).zeros((), np.int64)))
    axis = _dim(x, dim, "sort")
    idx = _argsort(x._data, axis, descending).astype(np.int64)
    return return_types.sort(gather(x, axis, idx), Tensor._wrap(idx))


def argsort(x: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Tensor:
    """The indices that sort ``x`` along ``dim`` (``torch.argsort``; int64, stable)."""
    return sort(x, dim, descending, stable=stable).indices


def msort(x: Tensor) -> Tensor:
    """``x`` sorted along dim 0 (``torch.msort``)."""
    return sort(x, 0).values


def topk(x: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002
    """The ``k`` largest (or smallest) values along ``dim`` and their indices: ``(values, indices)``
    (``torch.topk``). Ties keep their original order."""
    n = x.shape[_dim(x, dim, "topk")] if x.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"topk: selected index k={k} out of range for dim {dim} of size {n} "
                           f"(shape {x.shape})")
    if x.ndim == 0:
        return return_types.topk(*sort(x))
    axis = _dim(x, dim, "topk")
    idx = _argsort(x._data, axis, largest).astype(np.int64)
    idx = idx[(slice(None),) * axis + (slice(0, k),)]
    return return_types.topk(gather(x, axis, idx), Tensor._wrap(idx))


def _pick(x: Tensor, axis: int, position, keepdim: bool, result):
    """The value at sorted ``position`` along ``axis`` (an array of positions, one per slice, or
    an int), with its index; the value's gradient goes to that index."""
    xp = get_array_module(x._data)
    order = _argsort(x._data, axis, False)
    if isinstance(position, int):
        idx = order[(slice(None),) * axis + (slice(position, position + 1),)]
    else:
        idx = xp.take_along_axis(order, position, axis=axis)
    idx = idx.astype(np.int64)
    values = gather(x, axis, idx)
    indices = Tensor._wrap(idx if keepdim else idx.squeeze(axis))
    return result(_squeeze_or_keep(values, axis, keepdim), indices)


def kthvalue(x: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """The ``k``-th smallest value along ``dim`` (k from 1) and its index: ``(values, indices)``
    (``torch.kthvalue``)."""
    if x.ndim == 0:
        if k != 1:
            raise RuntimeError(f"kthvalue: k={k} out of range for a 0-d tensor")
        return kthvalue_result(x.clone(), Tensor._wrap(get_array_module(x._data).zeros((), np.int64)))
    axis = _dim(x, dim, "kthvalue")
    if not 1 <= k <= x.shape[axis]:
        raise RuntimeError(f"kthvalue: k={k} out of range for dim {dim} of size {x.shape[axis]}")
    return _pick(x, axis, k - 1, keepdim, kthvalue_result)


def median(x: Tensor, dim: int | None = None, keepdim: bool = False):
    """The lower median (of an even count, the smaller of the two middle values), as
    ``torch.median``: a 0-d tensor without ``dim``, else ``(values, indices)`` along ``dim``.
    A slice containing NaN has median NaN (at the first NaN's index). The gradient goes to the
    median's element only."""
    if dim is None:
        flat = x.reshape(-1)
        if flat.shape[0] == 0:
            raise RuntimeError("median: cannot compute the median of an empty tensor without dim")
        return _median_along(flat, 0, False).values
    if x.ndim == 0:
        return median_result(x.clone(), Tensor._wrap(get_array_module(x._data).zeros((), np.int64)))
    return _median_along(x, _dim(x, dim, "median"), keepdim)


def _median_along(x: Tensor, axis: int, keepdim: bool):
    xp = get_array_module(x._data)
    n = x.shape[axis]
    if n == 0:
        raise IndexError(f"median: dim {axis} of a tensor of shape {x.shape} is empty")
    data = x._data
    position = (n - 1) // 2
    if data.dtype.kind != "f" or not xp.isnan(data).any():
        return _pick(x, axis, position, keepdim, median_result)
    # slices with a NaN: NaN sorts last, so its first NaN sits at position n - (number of NaNs)
    nans = xp.isnan(data).sum(axis=axis, keepdims=True)
    positions = xp.where(nans > 0, n - nans, position).astype(np.int64)
    return _pick(x, axis, positions, keepdim, median_result)


def nanmedian(x: Tensor, dim: int | None = None, keepdim: bool = False):
    """``median`` ignoring NaNs (``torch.nanmedian``): the lower median of the non-NaN values
    (NaN only where a slice is all NaN)."""
    if dim is None:
        return nanmedian(x.reshape(-1), 0).values
    if x.ndim == 0:
        return median_result(x.clone(), Tensor._wrap(get_array_module(x._data).zeros((), np.int64)))
    axis = _dim(x, dim, "nanmedian")
    xp = get_array_module(x._data)
    count = x.shape[axis] - (xp.isnan(x._data).sum(axis=axis, keepdims=True) if x.dtype.kind == "f" else 0)
    positions = xp.maximum((count - 1) // 2, 0).astype(np.int64)
    positions = xp.broadcast_to(positions, x.shape[:axis] + (1,) + x.shape[axis + 1:])
    return _pick(x, axis, positions, keepdim, median_result)


def mode(x: Tensor, dim: int = -1, keepdim: bool = False):
    """The most frequent value along ``dim`` (the smallest one among equally frequent values) and
    the index of its last occurrence: ``(values, indices)`` (``torch.mode``)."""
    if x.ndim == 0:
        return mode_result(x.clone(), Tensor._wrap(get_array_module(x._data).zeros((), np.int64)))
    axis = _dim(x, dim, "mode")
    xp = get_array_module(x._data)
    data = xp.moveaxis(x._data, axis, -1)
    order = xp.argsort(data, axis=-1, kind="stable")
    ordered = xp.take_along_axis(data, order, axis=-1)
    # run lengths in the sorted values: a new run starts where the value changes
    first = xp.ones(ordered.shape[:-1] + (1,), bool)
    starts = xp.concatenate([first, ordered[..., 1:] != ordered[..., :-1]], -1)
    run_id = xp.cumsum(starts, axis=-1) - 1
    run_length = xp.zeros(ordered.shape, dtype=np.int64)
    grid = ()
    if ordered.ndim > 1:  # the other dims' coordinates, to index run_length row by row
        grid = tuple(r[..., None] for r in open_grid(ordered.shape[:-1], xp))
    xp.add.at(run_length, grid + (run_id,), 1)
    best_run = xp.argmax(run_length, axis=-1)  # the first longest run: the smallest value
    in_best = run_id == best_run[..., None]
    # the last occurrence: the largest original position inside the best run (stable sort)
    last = xp.where(in_best, order, -1).max(axis=-1)
    idx = xp.expand_dims(last, axis).astype(np.int64) if x.ndim > 1 else last.reshape(1).astype(np.int64)
    values = gather(x, axis, idx)
    indices = Tensor._wrap(idx if keepdim else idx.squeeze(axis))
    return mode_result(_squeeze_or_keep(values, axis, keepdim), indices)


def unique(x: Tensor, sorted: bool = True, return_inverse: bool = False,  # noqa: A002
           return_counts: bool = False, dim: int | None = None):
    """The distinct values (sorted), optionally with ``inverse`` (where each input element went)
    and ``counts`` (``torch.unique``; with ``dim``, distinct slices along it). Not differentiable."""
    data = x._data
    xp = get_array_module(data)
    axis = None if dim is None else _dim(x, dim, "unique")
    values, inverse, counts = xp.unique(data, return_inverse=True, return_counts=True, axis=axis)
    out = [Tensor._wrap(values)]
    if return_inverse:
        inverse = inverse.reshape(data.shape if axis is None else (data.shape[axis],))
        out.append(Tensor._wrap(inverse.astype(np.int64)))
    if return_counts:
        out.append(Tensor._wrap(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


__all__ = ["sort", "argsort", "msort", "topk", "kthvalue", "median", "nanmedian", "mode", "unique"]
