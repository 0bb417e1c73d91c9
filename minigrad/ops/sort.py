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


def sort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False):
    r"""Sorts the elements of `input` along `dim` in ascending order by value (`torch.sort`).

    $y = x_{\pi}$ along `dim`: $y_i = x_{\pi(i)}$ with $\pi$ the sorting permutation of each slice,
    $x_{\pi(0)} \le x_{\pi(1)} \le \dots$ (reversed with `descending=True`). Always stable (equal
    values keep their order) and NaN counts as the largest value. $\pi$ is piecewise constant,
    so the gradient is gather's: $\partial L/\partial x_{\pi(i)} = g_i$, every element gets the
    gradient of the place it was sorted to (tied elements each their own).

    Args:
        input: the input tensor.
        dim: the dimension to sort along.
        descending: sort from the largest down.
        stable: accepted for PyTorch's signature; the sort is always stable.

    Returns:
        The named tuple `(values, indices)`: the sorted tensor and the int64 $\pi(i)$ (not differentiable).
    """
    if input.ndim == 0:
        zero = Tensor._wrap(get_array_module(input._data).zeros((), np.int64))
        return return_types.sort(input.clone(), zero)
    axis = _dim(input, dim, "sort")
    idx = _argsort(input._data, axis, descending).astype(np.int64)
    return return_types.sort(gather(input, axis, idx), Tensor._wrap(idx))


def argsort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Tensor:
    r"""Returns the indices that sort `input` along `dim` in ascending order by value (`torch.argsort`).

    The sorting permutation $\pi$ of each slice, $x_{\pi(0)} \le x_{\pi(1)} \le \dots$ (stable; NaN
    last, reversed with `descending=True`): `sort(input, dim, descending).indices`. Integer valued,
    so not differentiable.

    Args:
        input: the input tensor.
        dim: the dimension to sort along.
        descending: order from the largest down.
        stable: accepted for PyTorch's signature; the order is always stable.

    Returns:
        An int64 Tensor of the shape of `input`.
    """
    return sort(input, dim, descending, stable=stable).indices


def msort(input: Tensor) -> Tensor:
    r"""Sorts the elements of `input` along its first dimension in ascending order by value (`torch.msort`).

    $y_{i\dots} = x_{\pi(i)\dots}$ with $\pi$ the stable sorting permutation of each column, as
    `sort(input, 0).values`; the gradient goes back through the same permutation,
    $\partial L/\partial x_{\pi(i)\dots} = g_{i\dots}$.

    Args:
        input: the input tensor.

    Returns:
        A Tensor of the shape of `input`.
    """
    return sort(input, 0).values


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002
    r"""Returns the `k` largest elements of `input` along `dim` (`torch.topk`).

    $y_i = x_{\pi(i)}$ for $i < k$, with $\pi$ the stable descending sort permutation
    (ascending with `largest=False`): of equal values, the one at the lower index comes first.
    The gradient goes to the selected elements only: $\partial L/\partial x_{\pi(i)} = g_i$ for
    $i < k$ and 0 for the rest, including unselected copies of a tied value.

    Args:
        input: the input tensor.
        k: how many elements to keep, $0 \le k \le$ the size of `dim`.
        dim: the dimension to select along.
        largest: the largest values if True, else the smallest.
        sorted: accepted for PyTorch's signature; the result is always sorted.

    Returns:
        The named tuple `(values, indices)`, both of size `k` along `dim`; `indices` is int64.
    """
    n = input.shape[_dim(input, dim, "topk")] if input.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"topk: selected index k={k} out of range for dim {dim} of size {n} "
                           f"(shape {input.shape})")
    if input.ndim == 0:
        return return_types.topk(*sort(input))
    axis = _dim(input, dim, "topk")
    idx = _argsort(input._data, axis, largest).astype(np.int64)
    idx = idx[(slice(None),) * axis + (slice(0, k),)]
    return return_types.topk(gather(input, axis, idx), Tensor._wrap(idx))


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


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    r"""Returns the `k`-th smallest element of each slice of `input` along `dim` (`torch.kthvalue`).

    $y = x_{\pi(k-1)}$ with $\pi$ the stable ascending sort permutation, so among equal values the
    one at the lower index ranks first. The gradient goes to that one element:
    $\partial L/\partial x_{\pi(k-1)} = g$, and 0 everywhere else (its tied copies included).

    Args:
        input: the input tensor.
        k: the rank, counted from 1.
        dim: the dimension to search along.
        keepdim: keep `dim` with size 1.

    Returns:
        The named tuple `(values, indices)`; `indices` (int64) is $\pi(k-1)$.
    """
    if input.ndim == 0:
        if k != 1:
            raise RuntimeError(f"kthvalue: k={k} out of range for a 0-d tensor")
        return kthvalue_result(input.clone(), Tensor._wrap(get_array_module(input._data).zeros((), np.int64)))
    axis = _dim(input, dim, "kthvalue")
    if not 1 <= k <= input.shape[axis]:
        raise RuntimeError(f"kthvalue: k={k} out of range for dim {dim} of size {input.shape[axis]}")
    return _pick(input, axis, k - 1, keepdim, kthvalue_result)


def median(input: Tensor, dim: int | None = None, keepdim: bool = False):
    r"""Returns the median of the values in `input` (`torch.median`), the lower one for an even count.

    For $n$ values, $y = x_{\pi(m)}$ with $m = \lfloor (n-1)/2 \rfloor$ and $\pi$ the stable
    ascending sort permutation (of an even count, the smaller of the two middle values). A slice
    with a NaN has median NaN, at its first NaN's index. The gradient goes to that one element:
    $\partial L/\partial x_{\pi(m)} = g$, 0 elsewhere (equal values are ranked by index).

    Args:
        input: the input tensor.
        dim: the dimension to reduce; None reduces every element.
        keepdim: keep `dim` with size 1.

    Returns:
        A 0-d Tensor when `dim` is None, else the named tuple `(values, indices)`.
    """
    if dim is None:
        flat = input.reshape(-1)
        if flat.shape[0] == 0:
            raise RuntimeError("median: cannot compute the median of an empty tensor without dim")
        return _median_along(flat, 0, False).values
    if input.ndim == 0:
        return median_result(input.clone(), Tensor._wrap(get_array_module(input._data).zeros((), np.int64)))
    return _median_along(input, _dim(input, dim, "median"), keepdim)


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


def nanmedian(input: Tensor, dim: int | None = None, keepdim: bool = False):
    r"""Returns the median of the values in `input`, ignoring NaN values (`torch.nanmedian`).

    With $c$ non-NaN values in a slice, $y = x_{\pi(m)}$, $m = \lfloor (c-1)/2 \rfloor$, $\pi$ the
    stable ascending sort permutation (NaN last): the lower median of the numbers, NaN only
    where the slice is all NaN. Gradient: $\partial L/\partial x_{\pi(m)} = g$, 0 elsewhere.

    Args:
        input: the input tensor.
        dim: the dimension to reduce; None reduces every element.
        keepdim: keep `dim` with size 1.

    Returns:
        A 0-d Tensor when `dim` is None, else the named tuple `(values, indices)`.
    """
    if dim is None:
        return nanmedian(input.reshape(-1), 0).values
    if input.ndim == 0:
        return median_result(input.clone(), Tensor._wrap(get_array_module(input._data).zeros((), np.int64)))
    axis = _dim(input, dim, "nanmedian")
    xp = get_array_module(input._data)
    nans = xp.isnan(input._data).sum(axis=axis, keepdims=True) if input.dtype.kind == "f" else 0
    count = input.shape[axis] - nans
    positions = xp.maximum((count - 1) // 2, 0).astype(np.int64)
    positions = xp.broadcast_to(positions, input.shape[:axis] + (1,) + input.shape[axis + 1:])
    return _pick(input, axis, positions, keepdim, median_result)


def mode(input: Tensor, dim: int = -1, keepdim: bool = False):
    r"""Returns the mode of each slice of `input` along `dim`: its most frequent value (`torch.mode`).

    $y = \arg\max_v \#\{i : x_i = v\}$, the smallest such $v$ when several are equally frequent;
    its index is the **last** position $p$ with $x_p = y$. The gradient goes to that one element:
    $\partial L/\partial x_p = g$ and 0 for the other copies of $y$.

    Args:
        input: the input tensor.
        dim: the dimension to reduce.
        keepdim: keep `dim` with size 1.

    Returns:
        The named tuple `(values, indices)`; `indices` (int64) is $p$.
    """
    if input.ndim == 0:
        return mode_result(input.clone(), Tensor._wrap(get_array_module(input._data).zeros((), np.int64)))
    axis = _dim(input, dim, "mode")
    xp = get_array_module(input._data)
    data = xp.moveaxis(input._data, axis, -1)
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
    idx = xp.expand_dims(last, axis).astype(np.int64) if input.ndim > 1 else last.reshape(1).astype(np.int64)
    values = gather(input, axis, idx)
    indices = Tensor._wrap(idx if keepdim else idx.squeeze(axis))
    return mode_result(_squeeze_or_keep(values, axis, keepdim), indices)


def unique(x: Tensor, sorted: bool = True, return_inverse: bool = False,  # noqa: A002
           return_counts: bool = False, dim: int | None = None):
    r"""Returns the unique elements of `x`, sorted (`torch.unique`).

    $u$ = the distinct values $u_0 < u_1 < \dots$; `inverse` maps each element to its value,
    $x_i = u_{\text{inverse}_i}$, and $\text{counts}_j = \#\{i : x_i = u_j\}$. With `dim`, the distinct
    slices along `dim` instead. Not differentiable: the result is a new leaf without gradient.

    Args:
        x: the input tensor.
        sorted: accepted for PyTorch's signature; the values are always sorted.
        return_inverse: also return `inverse` (int64, the shape of `x`, or of `dim`).
        return_counts: also return `counts` (int64).
        dim: the dimension whose slices to compare; None flattens `x`.

    Returns:
        The Tensor `u`, or the tuple `(u, inverse)`, `(u, counts)` or `(u, inverse, counts)`.
    """
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
