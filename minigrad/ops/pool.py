"""2-D max and average pooling over strided windows.

Both read the same patches as convolution (:func:`minigrad.ops.conv.windows`, a
view with no copy): for output pixel (i, j) the window is
x_pad[n, c, i·s_h : i·s_h + KH, j·s_w : j·s_w + KW].

max:      y = max over the window;  the gradient goes to the element that was the
          maximum (the first one on ties, as PyTorch), summed where windows overlap.
average:  y = (1/(KH·KW)) Σ window  (zero padding counted, PyTorch's default
          ``count_include_pad=True``);  each element gets g/(KH·KW) from every
          window that contains it.
"""

from __future__ import annotations

from minigrad.backend import get_array_module
from minigrad.ops.conv import col2im, conv_output_size, pad_hw, pair, unpad_hw, windows
from minigrad.tensor import Function, Tensor

__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"]


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


class MaxPool2d(Function):
    """y = max of each window; dx = g routed to each window's argmax (see module docstring)."""

    def forward(self, x, kernel, stride, padding, out_hw):
        xp = get_array_module(x)
        n, c = x.shape[:2]
        x_pad = pad_hw(x, padding, value=-xp.inf)
        (kh, kw), (oh, ow) = kernel, out_hw
        win = windows(x_pad, kernel, stride, (1, 1), out_hw).reshape(n, oh, ow, c, kh * kw)
        self.argmax = win.argmax(axis=-1)
        self.geometry = (kernel, stride, (1, 1), out_hw)
        self.x_pad_shape, self.padding, self.dtype = x_pad.shape, padding, x.dtype
        y = xp.take_along_axis(win, self.argmax[..., None], axis=-1)[..., 0]
        return y.transpose(0, 3, 1, 2)

    def backward(self, g):
        xp = get_array_module(g)
        kernel, stride, _, (oh, ow) = self.geometry
        n, c = g.shape[:2]
        # one-hot of the argmax inside each window, then the ordinary col2im scatter
        onehot = xp.arange(kernel[0] * kernel[1]) == self.argmax[..., None]
        dwin = (onehot * g.transpose(0, 2, 3, 1)[..., None]).astype(g.dtype, copy=False)
        dwin = dwin.reshape(n, oh, ow, c, kernel[0], kernel[1])
        return unpad_hw(col2im(dwin, self.x_pad_shape, *self.geometry), self.padding)


class AvgPool2d(Function):
    """y = mean of each window (padding counted as zeros); dx = g/(KH·KW) into every window."""

    def forward(self, x, kernel, stride, padding, out_hw):
        x_pad = pad_hw(x, padding)
        self.geometry = (kernel, stride, (1, 1), out_hw)
        self.x_pad_shape, self.padding = x_pad.shape, padding
        win = windows(x_pad, *self.geometry)
        return win.mean(axis=(4, 5)).transpose(0, 3, 1, 2)

    def backward(self, g):
        xp = get_array_module(g)
        (kh, kw), _, _, (oh, ow) = self.geometry
        share = g.transpose(0, 2, 3, 1) / (kh * kw)
        dwin = xp.broadcast_to(share[..., None, None], share.shape + (kh, kw))
        return unpad_hw(col2im(dwin, self.x_pad_shape, *self.geometry), self.padding)


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
