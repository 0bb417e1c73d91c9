"""2-D max and average pooling, one strided slice per kernel offset.

For output pixel (i, j) the window is x_pad[n, c, i·s_h + p, j·s_w + q] for the
kernel offsets 0 <= p < KH, 0 <= q < KW. Gathering offset (p, q) for *every*
output pixel at once is one strided slice, x_pad[:, :, p::s_h, q::s_w] (cropped
to OH×OW), so both directions loop over the KH·KW offsets (4 for a 2×2 pool),
each step a whole-tensor NumPy operation, never over pixels.

max:      y = max over the window;  the gradient goes to the element that was the
          maximum (the first one on ties, as PyTorch), summed where windows overlap.
average:  y = (1/(KH·KW)) Σ window  (zero padding counted, PyTorch's default
          ``count_include_pad=True``);  each element gets g/(KH·KW) from every
          window that contains it.

These are the fast paths, and they take PyTorch's options: ``dilation`` (offset p·d,
max only), ``ceil_mode`` (extra padding after the edge for the last window),
``count_include_pad=False`` and ``divisor_override`` (a divisor per window). The public
functions route the rest to the general N-d pooling of `minigrad.ops.pool_more`:
``return_indices`` (its argmax), adaptive sizes that do not divide the input, and
unbatched input to ``adaptive_avg_pool2d``.
"""

from __future__ import annotations

import numpy as np

from minigrad.backend import get_array_module
from minigrad.ops.conv import pair
from minigrad.ops.pool_more import adaptive_avg_pool2d as _adaptive_avg_general
from minigrad.ops.pool_more import max_pool2d_with_indices, pool_output_size
from minigrad.tensor import Function, Tensor
from minigrad.threads import blockwise

__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"]


def _offset_slices(kernel, stride, out_hw, dilation=(1, 1)):
    """For each kernel offset (p, q): the index of x_pad[:, :, p·d + s·i, q·d + s·j] over all (i, j)."""
    (kh, kw), (s_h, s_w), (oh, ow), (d_h, d_w) = kernel, stride, out_hw, dilation
    for p in range(kh):
        rows = slice(p * d_h, p * d_h + s_h * (oh - 1) + 1, s_h)
        for q in range(kw):
            yield (slice(None), slice(None), rows,
                   slice(q * d_w, q * d_w + s_w * (ow - 1) + 1, s_w))


def _pad(x, padding, value, extra=(0, 0)):
    """Pad H and W by ``padding`` on both sides, plus ``extra`` after (``ceil_mode``'s last window)."""
    (ph, pw), (eh, ew) = padding, extra
    if ph == pw == eh == ew == 0:
        return x
    xp = get_array_module(x)
    if x.dtype.kind in "iub" and value == -np.inf:  # -inf is no int: the smallest int never wins
        value = np.iinfo(x.dtype).min if x.dtype.kind != "b" else False
    return xp.pad(x, ((0, 0), (0, 0), (ph, ph + eh), (pw, pw + ew)), constant_values=value)


def _like(g, y):
    """``g`` in the memory layout of ``y``: the slice loops below run ~3x faster when the
    gradient is laid out like the input (channels-last after a conv) than when it is not."""
    if g.strides == y.strides:
        return g
    out = get_array_module(g).empty_like(y, dtype=g.dtype)
    out[...] = g
    return out


def _unpad(x_pad, padding, extra=(0, 0)):
    (ph, pw), (eh, ew), (hp, wp) = padding, extra, x_pad.shape[2:]
    return x_pad[:, :, ph : hp - ph - eh, pw : wp - pw - ew]


class MaxPool2d(Function):
    """y = max of each window; dx = g routed to each window's (first) maximum.

    Kernel offset (p, q) reads x_pad[:, :, p·d_h + s_h·i, q·d_w + s_w·j]; ``extra``
    pads -inf after the bottom/right edge for ``ceil_mode``'s last, partial window.
    Backward finds the winner of each window again by comparing every offset's
    slice with y, in offset order, so the first maximum on ties takes the gradient.
    (Whole-array ``maximum`` and ``==`` are several times faster than tracking an
    argmax with ``where`` in the forward pass.)
    """

    def forward(self, x, kernel, stride, padding, out_hw, dilation=(1, 1), extra=(0, 0)):
        xp = get_array_module(x)
        x_pad = _pad(x, padding, -np.inf, extra)
        offsets = list(_offset_slices(kernel, stride, out_hw, dilation))
        y = xp.empty_like(x_pad[offsets[0]])  # the input's memory layout (channels-last after a conv)
        blockwise(_max_pool_samples, x_pad, y, shared=(offsets,))  # blocks of samples on threads
        self.x_pad, self.offsets, self.y = x_pad, offsets, y
        self.padding, self.extra = padding, extra
        self.overlapping = any(s < d * (k - 1) + 1 for s, k, d in zip(stride, kernel, dilation))
        # every input pixel in exactly one window (e.g. 2x2, stride 2, even sizes)
        self.tiles = tuple(stride) == tuple(kernel) and tuple(dilation) == (1, 1) and all(
            x_pad.shape[2 + a] == out_hw[a] * kernel[a] for a in range(2))
        return y

    def backward(self, g):
        xp = get_array_module(g)
        g = _like(g, self.y)
        # when the windows tile the input, the writes below cover dx: no zero-fill pass
        dx = (xp.empty_like if self.tiles else xp.zeros_like)(self.x_pad, dtype=g.dtype)
        blockwise(_max_pool_backward_samples, self.x_pad, self.y, g, dx,
                  shared=(self.offsets, self.overlapping))
        return _unpad(dx, self.padding, self.extra)


def _max_pool_samples(x_pad, y, offsets):
    """Max-pool forward for a block of samples: y = the max over the kernel offsets' slices."""
    xp = get_array_module(x_pad)
    y[...] = x_pad[offsets[0]]
    for index in offsets[1:]:
        xp.maximum(y, x_pad[index], out=y)


def _max_pool_backward_samples(x_pad, y, g, dx, offsets, overlapping):
    """Max-pool backward for a block of samples: each window's first maximum (in offset
    order) gets the window's gradient; dx must be zero where no write lands."""
    xp = get_array_module(g)
    free = None  # windows whose maximum has not received the gradient yet
    last = len(offsets) - 1
    for k, index in enumerate(offsets):
        wins = x_pad[index] == y
        if free is not None:
            wins &= free
        if overlapping:
            dx[index] += g * wins
        else:  # each input pixel is in one window at most: write straight into dx
            xp.multiply(g, wins, out=dx[index])
        if k < last:  # the winners are served (wins is within free, so ^ removes them)
            free = ~wins if free is None else xp.logical_xor(free, wins, out=free)


class AvgPool2d(Function):
    """y = (sum of each window) / D, padding counted as zeros; dx = g/D into every window.

    D = KH·KW (the mean) unless ``divisor`` is given: a number (``divisor_override``, or
    every window's count when they are equal) or an (OH, OW) array of per-window counts
    (`_avg_divisors`). ``extra`` zero-pads after the bottom/right edge (``ceil_mode``).
    """

    def forward(self, x, kernel, stride, padding, out_hw, divisor=None, extra=(0, 0)):
        xp = get_array_module(x)
        x_pad = _pad(x, padding, 0, extra)
        self.offsets = list(_offset_slices(kernel, stride, out_hw))
        self.padding, self.extra = padding, extra
        self.x_pad = x_pad  # for its shape and memory layout (it is the input unless padded)
        total = x_pad[self.offsets[0]].copy(order="K")
        for index in self.offsets[1:]:
            total += x_pad[index]
        divisor = len(self.offsets) if divisor is None else divisor
        if np.ndim(divisor):  # per-window counts, broadcast over (N, C)
            self.divisor = xp.asarray(divisor, dtype=total.dtype)
            return total / self.divisor
        self.divisor = total.dtype.type(divisor)
        return total / self.divisor

    def backward(self, g):
        xp = get_array_module(g)
        dx = xp.zeros_like(self.x_pad, dtype=g.dtype)
        share = g / self.divisor.astype(g.dtype)
        for index in self.offsets:
            dx[index] += share
        return _unpad(dx, self.padding, self.extra)


def _avg_divisors(sizes, kernel, stride, padding, out, count_include_pad):
    """The (OH, OW) divisors of PyTorch's average pooling, or one number when they are equal.

    Along each axis window i spans [i·s - p, min(i·s - p + k, n + p)) (a ``ceil_mode``
    window is cut at the end of the padding); ``count_include_pad`` counts that whole
    span, otherwise only its part inside the input. The 2-D count is the product.
    """
    counts = []
    for n, k, s, p, m in zip(sizes, kernel, stride, padding, out):
        start = np.arange(m) * s - p
        end = np.minimum(start + k, n + p)
        counts.append(end - start if count_include_pad
                      else np.minimum(end, n) - np.maximum(start, 0))
    table = counts[0][:, None] * counts[1][None, :]
    return int(table.flat[0]) if (table == table.flat[0]).all() else table


def _pool_geometry(x: Tensor, kernel_size, stride, padding, op, dilation=1, ceil_mode=False):
    """Checked (kernel, stride, padding, dilation, out_hw, extra) of a 2-D pool.

    ``out_hw`` follows PyTorch's size rule (`minigrad.ops.pool_more.pool_output_size`);
    ``extra`` is the padding the last (``ceil_mode``) window needs after the right/bottom edge.
    """
    kernel = pair(kernel_size, "kernel_size", op)
    stride = kernel if stride is None else pair(stride, "stride", op)
    padding = pair(padding, "padding", op)
    dilation = pair(dilation, "dilation", op)
    if x.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W), got shape {x.shape}")
    if min(kernel) < 1 or min(stride) < 1 or min(dilation) < 1:
        raise ValueError(f"{op}: kernel_size, stride and dilation must be >= 1, got {kernel}, "
                         f"{stride} and {dilation}")
    spans = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(p < 0 or 2 * p > span for p, span in zip(padding, spans)):
        raise ValueError(f"{op}: padding {padding} must be >= 0 and at most half the kernel "
                         f"{kernel} (dilation {dilation})")
    out = tuple(pool_output_size(x.shape[2 + a], kernel[a], stride[a], padding[a], dilation[a],
                                 bool(ceil_mode)) for a in range(2))
    if min(out) < 1:
        raise ValueError(f"{op}: input of shape {x.shape} is smaller than the kernel {kernel} "
                         f"(padding {padding}, dilation {dilation})")
    extra = tuple(max(0, (out[a] - 1) * stride[a] + spans[a] - x.shape[2 + a] - 2 * padding[a])
                  for a in range(2))
    return kernel, stride, padding, dilation, out, extra


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    r"""Max over KH×KW windows moved by ``stride`` (default: the kernel size), as
    ``torch.nn.functional.max_pool2d``:

    $$y_{n,c,i,j} = \max_{p,q}\; x^\text{pad}_{n,c,\, s_1 i + d_1 p,\, s_2 j + d_2 q}$$

    padding is with $-\infty$ (the smallest integer for an int tensor), so it never wins;
    the gradient goes to each window's first maximum. Each output side is
    $\lfloor (H + 2\,\text{pad} - d\,(k-1) - 1)/s \rfloor + 1$ (``ceil_mode``: rounded up,
    without a last window that starts in the right padding).

    The fast path (`MaxPool2d`, one strided slice per kernel offset) serves every option
    but ``return_indices`` (``ceil_mode``'s last partial window reads extra $-\infty$
    padding after the edge); ``return_indices`` takes the general path,
    `minigrad.ops.pool_more.max_pool2d_with_indices`, which computes the argmax.

    Returns:
        The pooled tensor, or ``(values, indices)`` with ``return_indices`` (int64 indices,
        flat into each H·W plane: the input of `minigrad.ops.pool_more.max_unpool2d`).
    """
    kernel, stride, padding, dilation, out, extra = _pool_geometry(
        input, kernel_size, stride, padding, "max_pool2d", dilation, ceil_mode)
    if return_indices:
        return max_pool2d_with_indices(input, kernel, stride, padding, dilation, ceil_mode, True)
    return MaxPool2d.apply(input, kernel=kernel, stride=stride, padding=padding, out_hw=out,
                           dilation=dilation, extra=extra)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    r"""Mean over KH×KW windows moved by ``stride`` (default: the kernel size), as
    ``torch.nn.functional.avg_pool2d``:

    $$y_{n,c,i,j} = \frac{1}{D_{ij}} \sum_{p,q} x^\text{pad}_{n,c,\, s_1 i + p,\, s_2 j + q}$$

    with zero padding and the divisor $D_{ij}$ = KH·KW (``count_include_pad=True``, the
    default), the number of window positions inside the input (``count_include_pad=False``),
    or ``divisor_override``. $\partial L/\partial x$ = $g_{ij}/D_{ij}$ added to every
    position of window $(i, j)$.

    Every option takes the fast path (`AvgPool2d`, one strided slice per kernel offset),
    with an (OH, OW) array of divisors where they differ (`_avg_divisors`); the general
    N-d version is `minigrad.ops.pool_more`'s ``_avg_pool_nd`` (separable averaging matrices).
    """
    if divisor_override is not None and (isinstance(divisor_override, bool)
                                         or int(divisor_override) != divisor_override
                                         or divisor_override <= 0):
        raise ValueError(f"avg_pool2d: divisor_override must be a positive int, "
                         f"got {divisor_override!r}")
    kernel, stride, padding, _, out, extra = _pool_geometry(
        input, kernel_size, stride, padding, "avg_pool2d", 1, ceil_mode)
    divisor = divisor_override or _avg_divisors(input.shape[2:], kernel, stride, padding, out,
                                                count_include_pad)
    return AvgPool2d.apply(input, kernel=kernel, stride=stride, padding=padding, out_hw=out,
                           divisor=divisor, extra=extra)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    r"""Average pooling to a fixed output size (OH, OW), any size, as
    ``torch.nn.functional.adaptive_avg_pool2d``.

    Output $(i, j)$ averages rows $[\lfloor iH/OH \rfloor, \lceil (i+1)H/OH \rceil)$ and
    columns $[\lfloor jW/OW \rfloor, \lceil (j+1)W/OW \rceil)$ (PyTorch's start/end formula;
    the windows may overlap). ``output_size`` is an int or a pair; ``None`` keeps that side.

    Fast paths: (1, 1) is a mean over H and W (global average pooling); when OH divides H
    and OW divides W the windows tile the input and this is `avg_pool2d` with
    kernel = stride = (H/OH, W/OW). Other sizes and unbatched (C, H, W) input take the
    general path, `minigrad.ops.pool_more.adaptive_avg_pool2d`.
    """
    if input.ndim != 4:
        if input.ndim == 3:
            return _adaptive_avg_general(input, output_size)
        raise ValueError(f"adaptive_avg_pool2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) "
                         f"input, got shape {input.shape}")
    h, w = input.shape[2:]
    if isinstance(output_size, (tuple, list)) and len(output_size) == 2:
        output_size = tuple(s if o is None else o for o, s in zip(output_size, (h, w)))
    out = pair(output_size, "output_size", "adaptive_avg_pool2d")
    if min(out) < 1:
        raise ValueError(f"adaptive_avg_pool2d: output_size {out} must be positive")
    if out == (1, 1):
        return input.mean(dim=(2, 3), keepdim=True)
    if h % out[0] or w % out[1]:
        return _adaptive_avg_general(input, out)
    kernel = (h // out[0], w // out[1])
    return avg_pool2d(input, kernel, kernel)
