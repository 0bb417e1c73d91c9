r"""Padding modes (``F.pad``) as linear maps applied one axis at a time.

Every padding mode, and negative padding (cropping), builds each output position
$i$ of a padded axis from **one** input position $s(i)$ of the same axis (or from
none: a constant). So padding along one axis is a matrix $M$ of shape
(out, in) with $M_{i, s(i)} = 1$, applied along that axis; the padded tensor is
$M_1, M_2, \dots$ applied one axis after the other. Backward is the transposes in
reverse order: $\partial L / \partial x = g \times_1 M_1^\top \times_2 M_2^\top \cdots$,
i.e. each output's gradient is added back to the input element it was copied from
(the reflected and replicated borders receive the gradient of their copies).

For an axis of size $n$ padded by (lo, hi), output $i \in [0, n + lo + hi)$ reads
$j = i - lo$ mapped into $[0, n)$ by the mode:

* ``reflect``:   $j \mapsto$ the mirror image without repeating the edge (period $2n - 2$);
* ``replicate``: $j \mapsto \min(\max(j, 0), n - 1)$;
* ``circular``:  $j \mapsto j \bmod n$;
* ``constant``:  $j$ if $0 \le j < n$, else no input (the fill ``value``).

A negative lo or hi starts or ends the range inside the input: cropping.
`minigrad.ops.interpolate` reuses `AxisMaps` for resizing.
"""

from __future__ import annotations

import numpy as np

from minigrad.backend import get_array_module
from minigrad.tensor import Function, Tensor

__all__ = ["pad", "AxisMaps", "source_index"]

_MODES = ("constant", "reflect", "replicate", "circular")


def _along(x, matrix, axis):
    r"""``matrix`` (out, in) applied along ``axis`` of ``x``: $y_{..i..} = \sum_j M_{ij} x_{..j..}$."""
    xp = get_array_module(x)
    y = xp.tensordot(x, matrix, axes=([axis], [1]))  # the new axis is last
    return xp.moveaxis(y, -1, axis)


class AxisMaps(Function):
    r"""$y = x \times_{a_1} M_1 \times_{a_2} M_2 \cdots$ (each $M_k$ applied along axis $a_k$);
    $\partial L/\partial x = g \times_{a_k} M_k^\top \cdots \times_{a_1} M_1^\top$ (reverse order).

    Padding, cropping, resizing and adaptive average pooling are all of this form:
    linear in $x$ and separable over the axes. ``maps`` is a tuple of (axis, matrix)
    with matrices already on ``x``'s device in ``x``'s dtype (see `axis_matrix`).
    """

    def forward(self, x, maps):
        self.maps = maps
        for axis, matrix in maps:
            x = _along(x, matrix, axis)
        return x

    def backward(self, g):
        for axis, matrix in reversed(self.maps):
            g = _along(g, matrix.T, axis)
        return g


def axis_matrix(x, rows, dtype=None):
    """A NumPy float64 matrix (out, in) as an array on ``x``'s device, in ``x``'s dtype."""
    xp = get_array_module(x)
    return xp.asarray(rows, dtype=dtype or x.dtype)


def source_index(j, n: int, mode: str):
    """Where output position ``j`` (input coordinates, may be out of [0, n)) reads from; -1: the fill."""
    j = np.asarray(j)
    if mode == "replicate":
        return np.clip(j, 0, n - 1)
    if mode == "circular":
        return j % n
    if mode == "reflect":
        if n == 1:
            return np.zeros_like(j)
        period = 2 * n - 2
        j = j % period
        return np.where(j >= n, period - j, j)
    return np.where((j >= 0) & (j < n), j, -1)  # constant


def _one_hot_rows(src, n):
    """(out, n) matrix with a 1 at (i, src[i]); a row of zeros where src[i] == -1."""
    m = np.zeros((len(src), n))
    valid = src >= 0
    m[np.nonzero(valid)[0], src[valid]] = 1.0
    return m


class PadFill(Function):
    """y = x copied into the padded shape, then the positions no input reached set to ``value``.

    Backward: the fill is a constant, so dL/dx comes from `AxisMaps` alone.
    """

    def forward(self, x, maps, fill_mask, value):
        self.maps = maps
        y = AxisMaps.forward(self, x, maps)
        if fill_mask is not None:
            y = get_array_module(y).where(fill_mask, y.dtype.type(value), y)
        return y

    def backward(self, g):
        return AxisMaps.backward(self, g)


def pad(input: Tensor, pad, mode: str = "constant", value=None) -> Tensor:
    r"""Pad (or, with negative sizes, crop) ``input`` as ``torch.nn.functional.pad``.

    ``pad = (left, right, top, bottom, front, back, ...)`` lists (before, after) pairs
    starting from the **last** dimension. Output position $i$ of a padded axis of size
    $n$ reads input position $s(i - \text{before})$ (see the module docstring):
    mirrored without repeating the edge (``"reflect"``), clamped to the edge
    (``"replicate"``), wrapped around (``"circular"``), or the constant ``value``
    (``"constant"``, 0 by default). The gradient of each input element is the sum of
    the gradients of the outputs that copy it.

    Args:
        input: the tensor to pad.
        pad: an even-length sequence of ints; negative entries crop.
        mode: ``"constant"``, ``"reflect"``, ``"replicate"`` or ``"circular"``.
        value: the fill for ``"constant"`` (other modes take none, as PyTorch).

    Returns:
        The padded tensor: each padded axis grows by before + after.

    Raises:
        ValueError: an odd-length ``pad``, more pairs than dimensions, or an unknown mode.
        NotImplementedError: a non-constant mode on an input PyTorch refuses
            (it pads the last 1, 2 or 3 dims of a 2-D to 5-D input, with one or two leading dims).
        RuntimeError: reflect padding not smaller than the axis, circular padding larger
            than the axis, or a result with a negative size.
    """
    pad = tuple(int(p) for p in pad)
    if mode not in _MODES:
        raise ValueError(f"pad: unknown padding mode {mode!r}; expected one of {_MODES}")
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: padding length must be even and at most 2 * {input.ndim} "
                         f"(the input's dims), got {pad} for an input of shape {input.shape}")
    k = len(pad) // 2
    if mode != "constant":
        if value is not None and value != 0:
            raise ValueError(f"pad: padding mode {mode!r} doesn't take a value argument")
        if not (1 <= k <= 3 and input.ndim in (k + 1, k + 2)):
            raise NotImplementedError(
                f"pad: mode {mode!r} pads the last 1, 2 or 3 dims of a 2-D to 5-D input with one "
                f"or two leading (batch, channel) dims; got pad {pad} for shape {input.shape}")
    value = 0.0 if value is None else value
    if mode == "constant" and min(pad, default=0) >= 0:
        from minigrad.ops.shape import pad as constant_pad

        return constant_pad(input, pad, value)

    maps, fill = [], None
    fill_shape = list(input.shape)
    for i in range(k):
        axis, (lo, hi) = input.ndim - 1 - i, pad[2 * i : 2 * i + 2]
        n = input.shape[axis]
        out = n + lo + hi
        if out < 0 or (out == 0 and n > 0 and mode != "constant"):
            raise RuntimeError(f"pad: padding {pad} gives dim {axis} of input shape {input.shape} "
                               f"the size {out}; it must be positive")
        if mode == "reflect" and (lo >= n or hi >= n):
            raise RuntimeError(f"pad: reflect padding ({lo}, {hi}) must be smaller than dim "
                               f"{axis} of size {n} (input shape {input.shape})")
        if mode == "circular" and (lo > n or hi > n):
            raise RuntimeError(f"pad: circular padding ({lo}, {hi}) wraps around more than once "
                               f"for dim {axis} of size {n} (input shape {input.shape})")
        src = source_index(np.arange(out) - lo, n, mode)
        maps.append((axis, axis_matrix(input._data, _one_hot_rows(src, n))))
        fill_shape[axis] = out
        if mode == "constant" and (src < 0).any():
            shape = [1] * input.ndim
            shape[axis] = out
            mask = (src < 0).reshape(shape)
            fill = mask if fill is None else (fill | mask)
    fill_mask = None
    if fill is not None:
        xp = get_array_module(input._data)
        fill_mask = xp.asarray(np.broadcast_to(fill, fill_shape))
    return PadFill.apply(input, maps=tuple(maps), fill_mask=fill_mask, value=value)
