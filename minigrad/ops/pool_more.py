r"""More pooling: 1-D/3-D max and average pooling, adaptive pooling of any output size,
power-average pooling and max-unpooling.

Every pooling window here is a box: along each spatial axis $a$, output $i$ reads the
input positions $T_a[i, 0], \dots, T_a[i, K_a - 1]$ of that axis (a *window table*,
$-1$ where the window leaves the input). The tables say everything about the
geometry:

* max / average pooling: $T[i, k] = i\,s + k\,d - p$ (stride $s$, dilation $d$, padding $p$),
  positions outside $[0, n)$ are padding; with ``ceil_mode`` a last partial window is kept
  if it starts inside the input or the left padding (PyTorch's rule);
* adaptive pooling to $m$ outputs: window $i$ is $[\lfloor i n / m \rfloor, \lceil (i+1) n / m \rceil)$.

**Max** (`MaxPoolNd`): $y_\mathbf{i} = \max_{\mathbf{k}} x_{T(\mathbf{i}, \mathbf{k})}$; the
gradient goes to the (first) maximum of each window, summed where windows overlap:
$\partial L/\partial x_j = \sum_{\mathbf{i}: \text{argmax}(\mathbf{i}) = j} g_\mathbf{i}$.
The argmax, as a flat index
into each (n, c) plane of the input, is PyTorch's ``return_indices``.

**Average** is separable: the mean over a box is the mean along each axis in turn, so it
is `minigrad.ops.padding.AxisMaps` with one (out, in) matrix per axis,
$M_{ij} = 1/\text{count}_i$ for $j$ in window $i$, and backward $g \times_a M_a^\top$.
``count_include_pad=True`` counts the padding (but not what ``ceil_mode`` adds past it).
"""

from __future__ import annotations

import math

import numpy as np

from minigrad.backend import get_array_module
from minigrad.ops.conv3d import ntuple
from minigrad.ops.interpolate import adaptive_avg_matrix
from minigrad.ops.padding import AxisMaps, axis_matrix
from minigrad.tensor import Function, Tensor

__all__ = [
    "avg_pool1d", "avg_pool3d", "max_pool1d", "max_pool3d", "max_pool2d_with_indices",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "lp_pool1d", "lp_pool2d", "max_unpool1d", "max_unpool2d",
]


# ============================================================================ window tables


def pool_output_size(n, kernel, stride, padding, dilation, ceil_mode) -> int:
    r"""PyTorch's pooling size: $\lfloor\text{or}\lceil (n + 2p - d(k-1) - 1)/s \rceil + 1$, minus 1
    if ``ceil_mode``'s last window would start past the input and its left padding."""
    span = n + 2 * padding - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= n + padding:
        out -= 1
    return out


def sliding_table(n, kernel, stride, padding, dilation, out):
    """(out, kernel) input positions of each window (-1 outside the input)."""
    pos = np.arange(out)[:, None] * stride + np.arange(kernel)[None, :] * dilation - padding
    return np.where((pos >= 0) & (pos < n), pos, -1)


def adaptive_table(n, out):
    """(out, max window) positions of the adaptive windows [floor(i n/m), ceil((i+1) n/m))."""
    starts = [(i * n) // out for i in range(out)]
    ends = [-((-(i + 1) * n) // out) for i in range(out)]
    width = max(e - s for s, e in zip(starts, ends))
    pos = np.array(starts)[:, None] + np.arange(width)[None, :]
    return np.where(pos < np.array(ends)[:, None], pos, -1)


# ===================================================================================== max


class MaxPoolNd(Function):
    r"""$y_\mathbf{i} = \max_\mathbf{k} x_{T(\mathbf{i},\mathbf{k})}$;
    $\partial L/\partial x$ = $g$ added at each window's argmax.

    ``x`` is (B, *S) (the batch and channel dims flattened into B); ``tables`` holds
    one (m_a, K_a) window table per spatial axis; ``keep["indices"]`` receives the argmax.
    Forward gathers every window into a (B, M, K) array (M outputs, K window positions),
    with -inf where the window leaves the input, and takes the first maximum
    (NumPy's argmax; a NaN wins, as in PyTorch).
    """

    def forward(self, x, tables, keep):
        xp = get_array_module(x)
        k, out = len(tables), tuple(t.shape[0] for t in tables)
        flat, valid = 0, True  # become (m_1, ..., m_k, K_1, ..., K_k) by broadcasting
        for a, (size, table) in enumerate(zip(x.shape[1:], tables)):
            shape = [1] * (2 * k)
            shape[a], shape[k + a] = table.shape
            flat = flat * size + np.maximum(table, 0).reshape(shape)  # C-order flat index
            valid = valid & (table >= 0).reshape(shape)
        flat = flat.reshape(math.prod(out), -1)  # (M, K)
        valid = valid.reshape(flat.shape)
        flat_x = xp.asarray(flat)
        windows = x.reshape(x.shape[0], -1)[:, flat_x]  # (B, M, K)
        low = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        windows = xp.where(xp.asarray(valid), windows, xp.asarray(low, dtype=x.dtype))
        best = xp.argmax(windows, axis=-1)  # (B, M), the first maximum
        self.indices = flat_x[xp.arange(flat.shape[0])[None, :], best]  # (B, M)
        self.x_shape = x.shape
        keep["indices"] = self.indices
        y = xp.take_along_axis(windows, best[..., None], axis=-1)[..., 0]
        return y.reshape((x.shape[0],) + out)

    def backward(self, g):
        xp = get_array_module(g)
        b = g.shape[0]
        dx = xp.zeros((b, math.prod(self.x_shape[1:])), dtype=g.dtype)
        xp.add.at(dx, (xp.arange(b)[:, None], self.indices), g.reshape(b, -1))
        return dx.reshape(self.x_shape)


def _spatial(input: Tensor, k: int, op: str):
    """Check an (N, C, *S) or unbatched (C, *S) input; return the leading shape."""
    if input.ndim not in (k + 1, k + 2):
        raise ValueError(f"{op}: expected a {k + 1}-D (C, *spatial) or {k + 2}-D (N, C, *spatial) "
                         f"input, got shape {input.shape}")
    return input.shape[:-k]


def _max_pool(input, tables, k, op, return_indices):
    lead = _spatial(input, k, op)
    x = input.reshape(math.prod(lead), *input.shape[-k:])
    keep = {}
    y = MaxPoolNd.apply(x, tables=tuple(tables), keep=keep)
    values = y.reshape(*lead, *y.shape[1:])
    if not return_indices:
        return values
    return values, Tensor._wrap(keep["indices"].reshape(values.shape).astype(np.int64))


def _pool_geometry(input, k, kernel_size, stride, padding, dilation, ceil_mode, op):
    kernel = ntuple(kernel_size, k, "kernel_size", op)
    stride = kernel if stride is None or stride == [] else ntuple(stride, k, "stride", op)
    padding = ntuple(padding, k, "padding", op)
    dilation = ntuple(dilation, k, "dilation", op)
    if min(kernel) < 1 or min(stride) < 1 or min(dilation) < 1:
        raise ValueError(f"{op}: kernel_size, stride and dilation must be >= 1, got {kernel}, "
                         f"{stride} and {dilation}")
    if any(p < 0 or p > (d * (kk - 1) + 1) // 2 for p, kk, d in zip(padding, kernel, dilation)):
        raise ValueError(f"{op}: padding {padding} must be >= 0 and at most half the "
                         f"(dilated) kernel {kernel}")
    sizes = input.shape[-k:]
    out = tuple(pool_output_size(sizes[a], kernel[a], stride[a], padding[a], dilation[a],
                                 ceil_mode) for a in range(k))
    if min(out) < 1:
        raise ValueError(f"{op}: input of shape {input.shape} is too small for the kernel "
                         f"{kernel} (padding {padding}, dilation {dilation}); output {out}")
    return kernel, stride, padding, dilation, out


def _max_pool_nd(input, k, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                 op):
    _spatial(input, k, op)
    kernel, stride, padding, dilation, out = _pool_geometry(
        input, k, kernel_size, stride, padding, dilation, ceil_mode, op)
    tables = [sliding_table(input.shape[-k + a], kernel[a], stride[a], padding[a], dilation[a],
                            out[a]) for a in range(k)]
    return _max_pool(input, tables, k, op, return_indices)


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    r"""1-D max pooling, as ``torch.nn.functional.max_pool1d``:
    $y_{n,c,i} = \max_{0 \le k < K} x_{n,c,\, i s + k d - p}$ (padding never wins).

    Args:
        input: (N, C, L) or (C, L).
        kernel_size: the window length.
        stride: the step (default: ``kernel_size``).
        padding: implicit -inf padding on both ends.
        dilation: the spacing between a window's elements.
        ceil_mode: round the output size up (keep a last partial window).
        return_indices: also return each maximum's index along L.

    Returns:
        The pooled tensor, or (values, indices) with ``return_indices``.
    """
    return _max_pool_nd(input, 1, kernel_size, stride, padding, dilation, ceil_mode,
                        return_indices, "max_pool1d")


def max_pool2d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = True):
    r"""2-D max pooling with ``dilation``, ``ceil_mode`` and indices (flat, into each H·W plane),
    as ``torch.nn.functional.max_pool2d_with_indices``: the input of `max_unpool2d`.

    $y_{n,c,i,j} = \max_{p,q} x_{n,c,\, i s_1 + p d_1 - p_1,\, j s_2 + q d_2 - p_2}$.
    """
    return _max_pool_nd(input, 2, kernel_size, stride, padding, dilation, ceil_mode,
                        return_indices, "max_pool2d")


def max_pool3d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    r"""3-D max pooling, as ``torch.nn.functional.max_pool3d``:
    $y_{n,c,\mathbf{i}} = \max_{\mathbf{k}} x_{n,c,\,\mathbf{j}}$ with
    $\mathbf{j} = \mathbf{s}\odot\mathbf{i}+\mathbf{d}\odot\mathbf{k}-\mathbf{p}$
    over the KD·KH·KW window; indices are flat into each D·H·W volume."""
    return _max_pool_nd(input, 3, kernel_size, stride, padding, dilation, ceil_mode,
                        return_indices, "max_pool3d")


def _output_size(input, output_size, k, op):
    """An adaptive pool's output size: an int or k entries, ``None`` keeping the input's size."""
    _spatial(input, k, op)
    out = (output_size,) * k if isinstance(output_size, int) or output_size is None \
        else tuple(output_size)
    if len(out) != k:
        raise ValueError(f"{op}: output_size must be an int or {k} ints, got {output_size!r}")
    out = tuple(input.shape[-k + a] if o is None else int(o) for a, o in enumerate(out))
    if min(out) < 1:
        raise ValueError(f"{op}: output_size {out} must be positive")
    return out


def _adaptive_max(input, output_size, k, return_indices, op):
    out = _output_size(input, output_size, k, op)
    tables = [adaptive_table(input.shape[-k + a], out[a]) for a in range(k)]
    return _max_pool(input, tables, k, op, return_indices)


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    r"""Max over the adaptive windows $[\lfloor iL/m \rfloor, \lceil (i+1)L/m \rceil)$, any output size $m$
    (``torch.nn.functional.adaptive_max_pool1d``)."""
    return _adaptive_max(input, output_size, 1, return_indices, "adaptive_max_pool1d")


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    r"""Applies a 2D adaptive max pooling over an input signal composed of several input planes.

    $$y_{n,c,i,j} = \max_{h \in I_i,\ w \in J_j} x_{n,c,h,w}, \qquad
      I_i = \big[\lfloor iH/m \rfloor, \lceil (i+1)H/m \rceil\big)$$

    (and $J_j$ likewise over $W$), for any output size $(m, m')$; backward adds $g_{n,c,i,j}$
    at each box's argmax (the first maximum; boxes may overlap, so gradients add up).

    Args:
        input: (N, C, H, W) or (C, H, W).
        output_size: An int or an (m, m') pair; ``None`` in it keeps that input size.
        return_indices: Also return the flat H·W index of each maximum.

    Returns:
        The pooled tensor, or ``(values, indices)``.
    """
    return _adaptive_max(input, output_size, 2, return_indices, "adaptive_max_pool2d")


# ================================================================================= average


def avg_matrix(n, kernel, stride, padding, out, count_include_pad, divisor_override):
    """(out, n) averaging matrix of one axis: 1/count on each window's positions inside the input."""
    m = np.zeros((out, n))
    for i in range(out):
        start = i * stride - padding
        end = min(start + kernel, n + padding)  # past the padding (ceil_mode) is never counted
        lo, hi = max(start, 0), min(end, n)
        count = (end - start) if count_include_pad else (hi - lo)
        m[i, lo:hi] = 1.0 / count
    return m


def _avg_pool_nd(input, k, kernel_size, stride, padding, ceil_mode, count_include_pad,
                 divisor_override, op):
    _spatial(input, k, op)
    kernel, stride, padding, _, out = _pool_geometry(input, k, kernel_size, stride, padding, 1,
                                                     ceil_mode, op)
    mats = [avg_matrix(input.shape[-k + a], kernel[a], stride[a], padding[a], out[a],
                       count_include_pad, None) for a in range(k)]
    if divisor_override:
        if divisor_override < 0:
            raise ValueError(f"{op}: divisor_override must be positive, got {divisor_override}")
        mats = [(m > 0).astype(np.float64) for m in mats]
        mats[0] = mats[0] / divisor_override
    maps = tuple((input.ndim - k + a, axis_matrix(input._data, mats[a])) for a in range(k))
    return AxisMaps.apply(input, maps=maps)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    r"""1-D average pooling, as ``torch.nn.functional.avg_pool1d``:
    $y_{n,c,i} = \frac{1}{\text{count}_i}\sum_{k} x_{n,c,\, i s + k - p}$, the sum over the window's
    positions inside the input; $\text{count}_i = K$ (padding included) or the number of those
    positions (``count_include_pad=False``). $\partial L/\partial x_j = \sum_{i \ni j} g_i/\text{count}_i$.
    """
    return _avg_pool_nd(input, 1, kernel_size, stride, padding, ceil_mode, count_include_pad,
                        None, "avg_pool1d")


def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    r"""3-D average pooling, as ``torch.nn.functional.avg_pool3d``: the mean over each
    KD·KH·KW box ($\text{count}$ as in `avg_pool1d`, per axis, multiplied), or the sum
    divided by ``divisor_override``."""
    return _avg_pool_nd(input, 3, kernel_size, stride, padding, ceil_mode, count_include_pad,
                        divisor_override, "avg_pool3d")


def _adaptive_avg(input, output_size, k, op):
    out = _output_size(input, output_size, k, op)
    maps = tuple((input.ndim - k + a,
                  axis_matrix(input._data, adaptive_avg_matrix(input.shape[-k + a], out[a])))
                 for a in range(k))
    return AxisMaps.apply(input, maps=maps)


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    r"""Mean over the adaptive windows $[\lfloor iL/m \rfloor, \lceil (i+1)L/m \rceil)$, any output size
    $m$ (``torch.nn.functional.adaptive_avg_pool1d``)."""
    return _adaptive_avg(input, output_size, 1, "adaptive_avg_pool1d")


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    r"""Mean over the adaptive boxes, **any** output size (the windows may overlap), as
    ``torch.nn.functional.adaptive_avg_pool2d``; separable: the adaptive mean along H, then W."""
    return _adaptive_avg(input, output_size, 2, "adaptive_avg_pool2d")


# =========================================================================== power average


def _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, k, op):
    kernel = ntuple(kernel_size, k, "kernel_size", op)
    avg = _avg_pool_nd(input ** float(norm_type), k, kernel, stride, 0, ceil_mode, True, None, op)
    return (avg * float(math.prod(kernel))) ** (1.0 / float(norm_type))


def lp_pool1d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    r"""Power-average pooling, as ``torch.nn.functional.lp_pool1d``:
    $y_i = \big(\sum_{k} x_{i s + k}^{\,p}\big)^{1/p}$ ($p$ = ``norm_type``; $p = \infty$ is max pooling,
    $p = 1$ sum pooling). Composed of differentiable ops (power, average pooling, power), so
    the gradient is the chain rule: $\partial y_i / \partial x_j = x_j^{p-1} y_i^{1-p}$ in the window."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1, "lp_pool1d")


def lp_pool2d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    r"""2-D power-average pooling, as ``torch.nn.functional.lp_pool2d``:
    $y_{i,j} = \big(\sum_{p,q} x_{i s_1 + p,\, j s_2 + q}^{\,P}\big)^{1/P}$ with $P$ = ``norm_type``
    (see `lp_pool1d` for the gradient)."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2, "lp_pool2d")


# ============================================================================ max-unpooling


class MaxUnpool(Function):
    r"""$y_{b, \text{idx}_{b,i}} = x_{b,i}$, zeros elsewhere (the inverse of max pooling's selection);
    $\partial L/\partial x_{b,i} = g_{b, \text{idx}_{b,i}}$ (a gather).

    Where two inputs share an index (overlapping windows that found the same maximum) the
    last one is written, as NumPy's assignment does, and only it receives the gradient.
    """

    def forward(self, x, indices, out_spatial):
        xp = get_array_module(x)
        b = x.shape[0]
        self.rows, self.indices = xp.arange(b)[:, None], indices.reshape(b, -1)
        self.x_shape = x.shape
        y = xp.zeros((b, math.prod(out_spatial)), dtype=x.dtype)
        y[self.rows, self.indices] = x.reshape(b, -1)
        # a repeated index (overlapping pooling windows) keeps one value: only it gets gradient
        order = xp.arange(self.indices.shape[1])
        writer = xp.full(y.shape, -1, dtype=np.int64)
        writer[self.rows, self.indices] = order  # the same assignment, recording who wrote
        self.kept = writer[self.rows, self.indices] == order
        return y.reshape((b,) + tuple(out_spatial))

    def backward(self, g):
        dx = g.reshape(g.shape[0], -1)[self.rows, self.indices] * self.kept
        return dx.reshape(self.x_shape)


def _max_unpool(input, indices, kernel_size, stride, padding, output_size, k, op):
    lead = _spatial(input, k, op)
    kernel = ntuple(kernel_size, k, "kernel_size", op)
    stride = kernel if stride is None else ntuple(stride, k, "stride", op)
    padding = ntuple(padding, k, "padding", op)
    if tuple(indices.shape) != tuple(input.shape):
        raise ValueError(f"{op}: indices of shape {indices.shape} must match the input's "
                         f"{input.shape}")
    if output_size is None:
        out = tuple((input.shape[-k + a] - 1) * stride[a] - 2 * padding[a] + kernel[a]
                    for a in range(k))
    else:
        out = tuple(int(s) for s in tuple(output_size)[-k:])
    idx = indices._data if isinstance(indices, Tensor) else get_array_module(input._data).asarray(
        indices)
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= math.prod(out)):
        raise RuntimeError(f"{op}: found an index outside the output size {out} "
                           f"(indices in [{int(idx.min())}, {int(idx.max())}])")
    x = input.reshape(math.prod(lead), *input.shape[-k:])
    y = MaxUnpool.apply(x, indices=idx.astype(np.int64), out_spatial=out)
    return y.reshape(*lead, *out)


def max_unpool1d(input: Tensor, indices, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    r"""Computes a partial inverse of `max_pool1d`: each value goes back to its index, zeros elsewhere.

    $$y_{n,c,\,\text{idx}_{n,c,i}} = x_{n,c,i}, \qquad
      \frac{\partial L}{\partial x_{n,c,i}} = g_{n,c,\,\text{idx}_{n,c,i}}$$

    (a gather; where two inputs share an index only the last one written gets the gradient).

    Args:
        input: The pooled values, (N, C, L) or (C, L).
        indices: The indices that `max_pool1d` returned with ``return_indices=True``.
        kernel_size: The pooling window $K$.
        stride: The pooling stride $s$ (default ``kernel_size``).
        padding: The pooling padding $p$.
        output_size: The length to restore; default $(L - 1) s - 2p + K$.
    """
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1,
                       "max_unpool1d")


def max_unpool2d(input: Tensor, indices, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    r"""The partial inverse of 2-D max pooling, as ``torch.nn.functional.max_unpool2d``:
    $y_{n,c,\,\text{idx}} = x_{n,c,i,j}$ with idx the flat H·W index from
    `max_pool2d_with_indices`, zeros elsewhere; default size (H - 1)·s - 2p + K per axis
    (``output_size`` picks another)."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2,
                       "max_unpool2d")
