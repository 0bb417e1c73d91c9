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
"""

from __future__ import annotations

from minigrad.backend import get_array_module
from minigrad.ops.conv import conv_output_size, pair
from minigrad.tensor import Function, Tensor

__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"]


def _offset_slices(kernel, stride, out_hw):
    """For each kernel offset (p, q): the index of x_pad[:, :, p + s·i, q + s·j] over all (i, j)."""
    (kh, kw), (s_h, s_w), (oh, ow) = kernel, stride, out_hw
    for p in range(kh):
        rows = slice(p, p + s_h * (oh - 1) + 1, s_h)
        for q in range(kw):
            yield (slice(None), slice(None), rows, slice(q, q + s_w * (ow - 1) + 1, s_w))


def _pad(x, padding, value):
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    xp = get_array_module(x)
    return xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def _like(g, y):
    """``g`` in the memory layout of ``y``: the slice loops below run ~3x faster when the
    gradient is laid out like the input (channels-last after a conv) than when it is not."""
    if g.strides == y.strides:
        return g
    out = get_array_module(g).empty_like(y, dtype=g.dtype)
    out[...] = g
    return out


def _unpad(x_pad, padding):
    (ph, pw), (hp, wp) = padding, x_pad.shape[2:]
    return x_pad[:, :, ph : hp - ph, pw : wp - pw]


class MaxPool2d(Function):
    """y = max of each window; dx = g routed to each window's (first) maximum.

    Backward finds the winner of each window again by comparing every offset's
    slice with y, in offset order, so the first maximum on ties takes the gradient.
    (Whole-array ``maximum`` and ``==`` are several times faster than tracking an
    argmax with ``where`` in the forward pass.)
    """

    def forward(self, x, kernel, stride, padding, out_hw):
        xp = get_array_module(x)
        x_pad = _pad(x, padding, -xp.inf)
        offsets = list(_offset_slices(kernel, stride, out_hw))
        y = x_pad[offsets[0]].copy(order="K")  # keep the input's memory layout (channels-last after a conv)
        for index in offsets[1:]:
            xp.maximum(y, x_pad[index], out=y)
        self.x_pad, self.offsets, self.y, self.padding = x_pad, offsets, y, padding
        self.overlapping = any(s < k for s, k in zip(stride, kernel))
        # every input pixel in exactly one window (e.g. 2x2, stride 2, even sizes)
        self.tiles = tuple(stride) == tuple(kernel) and all(
            x_pad.shape[2 + a] == out_hw[a] * kernel[a] for a in range(2))
        return y

    def backward(self, g):
        xp = get_array_module(g)
        g = _like(g, self.y)
        # when the windows tile the input, the writes below cover dx: no zero-fill pass
        dx = (xp.empty_like if self.tiles else xp.zeros_like)(self.x_pad, dtype=g.dtype)
        free = None  # windows whose maximum has not received the gradient yet
        last = len(self.offsets) - 1
        for k, index in enumerate(self.offsets):
            wins = self.x_pad[index] == self.y
            if free is not None:
                wins &= free
            if self.overlapping:
                dx[index] += g * wins
            else:  # each input pixel is in one window at most: write straight into dx
                xp.multiply(g, wins, out=dx[index])
            if k < last:  # the winners are served (wins is within free, so ^ removes them)
                free = ~wins if free is None else xp.logical_xor(free, wins, out=free)
        return _unpad(dx, self.padding)


class AvgPool2d(Function):
    """y = mean of each window (padding counted as zeros); dx = g/(KH·KW) into every window."""

    def forward(self, x, kernel, stride, padding, out_hw):
        x_pad = _pad(x, padding, 0)
        self.offsets, self.padding = list(_offset_slices(kernel, stride, out_hw)), padding
        self.x_pad = x_pad  # for its shape and memory layout (it is the input unless padded)
        total = x_pad[self.offsets[0]].copy(order="K")
        for index in self.offsets[1:]:
            total += x_pad[index]
        return total / total.dtype.type(len(self.offsets))

    def backward(self, g):
        xp = get_array_module(g)
        dx = xp.zeros_like(self.x_pad, dtype=g.dtype)
        share = g / g.dtype.type(len(self.offsets))
        for index in self.offsets:
            dx[index] += share
        return _unpad(dx, self.padding)


def _pool_geometry(x: Tensor, kernel_size, stride, padding, op):
    kernel = pair(kernel_size, "kernel_size", op)
    stride = kernel if stride is None else pair(stride, "stride", op)
    padding = pair(padding, "padding", op)
    if x.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W), got shape {x.shape}")
    if min(kernel) < 1 or min(stride) < 1:
        raise ValueError(f"{op}: kernel_size and stride must be >= 1, got {kernel} and {stride}")
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel {kernel}")
    out = tuple(conv_output_size(x.shape[2 + a], kernel[a], stride[a], padding[a], 1)
                for a in range(2))
    if min(out) < 1:
        raise ValueError(f"{op}: input of shape {x.shape} is smaller than the kernel {kernel} "
                         f"(padding {padding})")
    return kernel, stride, padding, out


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    """Max over KH×KW windows moved by ``stride`` (default: the kernel size), like
    ``torch.nn.functional.max_pool2d``. Padding is with -inf, so it never wins."""
    kernel, stride, padding, out = _pool_geometry(input, kernel_size, stride, padding,
                                                  "max_pool2d")
    return MaxPool2d.apply(input, kernel=kernel, stride=stride, padding=padding, out_hw=out)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    """Mean over KH×KW windows moved by ``stride`` (default: the kernel size), like
    ``torch.nn.functional.avg_pool2d`` with ``count_include_pad=True``."""
    kernel, stride, padding, out = _pool_geometry(input, kernel_size, stride, padding,
                                                  "avg_pool2d")
    return AvgPool2d.apply(input, kernel=kernel, stride=stride, padding=padding, out_hw=out)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed output size (OH, OW).

    Supported when OH divides H and OW divides W (the windows then tile the input
    exactly: kernel = stride = H/OH); (1, 1) is global average pooling.
    """
    if input.ndim != 4:
        raise ValueError(f"adaptive_avg_pool2d: expected a 4-D input (N, C, H, W), "
                         f"got shape {input.shape}")
    out = pair(output_size, "output_size", "adaptive_avg_pool2d")
    h, w = input.shape[2:]
    if h % out[0] or w % out[1]:
        raise ValueError(f"adaptive_avg_pool2d: output size {out} must divide the input size "
                         f"{(h, w)} (input shape {input.shape}); other sizes are not supported")
    if out == (1, 1):
        return input.mean(dim=(2, 3), keepdim=True)
    kernel = (h // out[0], w // out[1])
    return avg_pool2d(input, kernel, kernel)
