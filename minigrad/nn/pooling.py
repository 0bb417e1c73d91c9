"""Pooling layers: ``MaxPool2d``, ``AvgPool2d``, ``AdaptiveAvgPool2d`` (math in `minigrad.ops.pool`)."""

from __future__ import annotations

from minigrad.nn.module import Module
from minigrad.ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from minigrad.tensor import Tensor

__all__ = ["MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"]


class MaxPool2d(Module):
    r"""Max pooling, as PyTorch's ``nn.MaxPool2d``:
    $y_{n,c,i,j} = \max_{p,q} x^\text{pad}_{n,c,\, s_1 i + d_1 p,\, s_2 j + d_2 q}$ ($-\infty$ padding).

    Args:
        kernel_size: an int or an (h, w) pair.
        stride: the step (default: ``kernel_size``, non-overlapping windows).
        padding: implicit $-\infty$ padding, at most half the kernel.
        dilation: the spacing between a window's elements.
        return_indices: also return each maximum's flat index into its H·W plane
            (for ``nn.MaxUnpool2d``).
        ceil_mode: round the output size up, keeping a last partial window.

    Output size floor((H + 2·padding - dilation·(KH - 1) - 1) / stride) + 1 (rounded up with
    ``ceil_mode``). See `minigrad.ops.pool.max_pool2d` for which arguments take the fast path.
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, x: Tensor):
        return max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                          ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    r"""Average pooling, as PyTorch's ``nn.AvgPool2d``:
    $y_{n,c,i,j} = \frac{1}{D_{ij}}\sum_{p,q} x^\text{pad}_{n,c,\, s_1 i + p,\, s_2 j + q}$ (zero padding).

    Args:
        kernel_size: an int or an (h, w) pair.
        stride: the step (default: ``kernel_size``).
        padding: implicit zero padding, at most half the kernel.
        ceil_mode: round the output size up, keeping a last partial window.
        count_include_pad: $D$ = KH·KW (True, the default), or only the window's positions
            inside the input (False).
        divisor_override: use this $D$ for every window instead.
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, x: Tensor) -> Tensor:
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    r"""Average pooling to a fixed output size (OH, OW), any size, as PyTorch's
    ``nn.AdaptiveAvgPool2d``: output $(i, j)$ averages rows
    $[\lfloor iH/OH \rfloor, \lceil (i+1)H/OH \rceil)$ and the matching columns.

    ``AdaptiveAvgPool2d(1)`` is global average pooling: (N, C, H, W) -> (N, C, 1, 1);
    ``None`` in ``output_size`` keeps that input side.
    """

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
