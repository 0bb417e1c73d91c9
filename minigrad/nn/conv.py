"""Convolution layers: ``Conv2d`` and ``Conv1d`` (the math is in `minigrad.ops.conv`)."""

from __future__ import annotations

import math

from minigrad.nn import init
from minigrad.nn.layers import empty_parameter
from minigrad.nn.module import Module, Parameter
from minigrad.ops.conv import conv1d, conv2d, pair
from minigrad.tensor import Tensor

__all__ = ["Conv2d", "Conv1d"]


def uniform_parameter(shape, bound: float) -> Parameter:
    """A Parameter drawn from U(-bound, bound) (``init.uniform_``, minigrad's global generator)."""
    return init.uniform_(empty_parameter(*shape), -bound, bound)


class Conv2d(Module):
    """2-D convolution layer: y = conv2d(x, weight) + bias, x (N, C_in, H, W) -> (N, C_out, OH, OW).

    OH = floor((H + 2·padding - dilation·(KH - 1) - 1) / stride) + 1 (same for W).
    Parameters as PyTorch's ``nn.Conv2d`` (no groups): ``weight`` (C_out, C_in, KH, KW)
    and ``bias`` (C_out,), both initialised U(-1/√fan_in, 1/√fan_in) with
    fan_in = C_in·KH·KW (PyTorch's ``kaiming_uniform_(a=√5)`` default).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, bias: bool = True):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = pair(kernel_size, "kernel_size", "Conv2d")
        self.stride = pair(stride, "stride", "Conv2d")
        self.padding = pair(padding, "padding", "Conv2d")
        self.dilation = pair(dilation, "dilation", "Conv2d")
        bound = 1 / math.sqrt(in_channels * self.kernel_size[0] * self.kernel_size[1])
        self.weight = uniform_parameter((out_channels, in_channels) + self.kernel_size, bound)
        if bias:
            self.bias = uniform_parameter((out_channels,), bound)
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"Conv2d: expected input (N, {self.in_channels}, H, W) with "
                             f"{self.in_channels} channels, got shape {x.shape}")
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
                f"bias={self.bias is not None}")


class Conv1d(Module):
    """1-D convolution layer, x (N, C_in, L) -> (N, C_out, L_out), as PyTorch's ``nn.Conv1d``.

    y[n, o, i] = bias[o] + Σ_{c,k} weight[o, c, k] · x_pad[n, c, i·stride + k·dilation];
    weight (C_out, C_in, K) and bias initialised U(-1/√(C_in·K), 1/√(C_in·K)).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, dilation: int = 1, bias: bool = True):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = kernel_size, stride
        self.padding, self.dilation = padding, dilation
        bound = 1 / math.sqrt(in_channels * kernel_size)
        self.weight = uniform_parameter((out_channels, in_channels, kernel_size), bound)
        if bias:
            self.bias = uniform_parameter((out_channels,), bound)
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 3 or x.shape[1] != self.in_channels:
            raise ValueError(f"Conv1d: expected input (N, {self.in_channels}, L) with "
                             f"{self.in_channels} channels, got shape {x.shape}")
        return conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
                f"bias={self.bias is not None}")
