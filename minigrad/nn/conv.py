"""Convolution layers: ``Conv2d`` and ``Conv1d`` (the math is in `minigrad.ops.conv`)."""

from __future__ import annotations

import math

from minigrad.nn import init
from minigrad.nn.layers import empty_parameter
from minigrad.nn.module import Module, Parameter
from minigrad.ops.conv import conv1d, conv2d
from minigrad.ops.conv3d import ntuple
from minigrad.ops.padding import pad
from minigrad.tensor import Tensor

__all__ = ["Conv2d", "Conv1d"]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def uniform_parameter(shape, bound: float) -> Parameter:
    """A Parameter drawn from U(-bound, bound) (``init.uniform_``, minigrad's global generator)."""
    return init.uniform_(empty_parameter(*shape), -bound, bound)


class _ConvNd(Module):
    """The body shared by `Conv1d` and `Conv2d` (``k`` spatial dims): PyTorch's constructor
    checks, parameters, ``padding_mode`` and ``extra_repr``."""

    k = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros"):
        super().__init__()
        name, k = type(self).__name__, self.k
        if not isinstance(groups, int) or groups < 1:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups!r}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels={in_channels} must be divisible by "
                             f"groups={groups}")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels={out_channels} must be divisible by "
                             f"groups={groups}")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {PADDING_MODES}, "
                             f"got {padding_mode!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = ntuple(kernel_size, k, "kernel_size", name)
        self.stride = ntuple(stride, k, "stride", name)
        self.dilation = ntuple(dilation, k, "dilation", name)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: invalid padding string {padding!r}, should be one "
                                 f"of {{'valid', 'same'}}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 f"convolutions (stride {self.stride})")
            self.padding = padding
        else:
            self.padding = ntuple(padding, k, "padding", name)
        self.groups, self.padding_mode = groups, padding_mode
        bound = 1 / math.sqrt(in_channels // groups * math.prod(self.kernel_size))
        self.weight = uniform_parameter((out_channels, in_channels // groups) + self.kernel_size,
                                        bound)
        if bias:
            self.bias = uniform_parameter((out_channels,), bound)
        else:
            self.register_parameter("bias", None)

    def _padded(self, x: Tensor):
        """``x`` and the padding left for the conv: with a ``padding_mode`` other than zeros,
        ``x`` is padded first (`minigrad.ops.padding.pad`, PyTorch's order) and the conv pads 0."""
        if self.padding_mode == "zeros":
            return x, self.padding
        if self.padding == "valid":
            return x, 0
        if self.padding == "same":  # PyTorch: total // 2 before, the rest after
            totals = [d * (kk - 1) for d, kk in zip(self.dilation, self.kernel_size)]
            pairs = [(t // 2, t - t // 2) for t in totals]
        else:
            pairs = [(p, p) for p in self.padding]
        widths = [w for lo_hi in reversed(pairs) for w in lo_hi]
        if not any(widths):
            return x, 0
        return pad(x, widths, mode=self.padding_mode), 0

    def _check_input(self, x: Tensor):
        if x.ndim != self.k + 2 or x.shape[1] != self.in_channels:
            dims = "H, W" if self.k == 2 else "L"
            raise ValueError(f"{type(self).__name__}: expected input (N, {self.in_channels}, "
                             f"{dims}) with {self.in_channels} channels, got shape {x.shape}")

    def extra_repr(self) -> str:
        """PyTorch's: the arguments that differ from their defaults, after the first three."""
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0,) * self.k:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self.k:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class Conv2d(_ConvNd):
    r"""2-D convolution layer, x (N, C_in, H, W) -> (N, C_out, OH, OW), as PyTorch's ``nn.Conv2d``.

    $$y_{n,o,i,j} = b_o + \sum_{c,p,q} w_{o,c,p,q}\, x^\text{pad}_{n,\,c',\, s_1 i + d_1 p,\, s_2 j + d_2 q}$$
    ($c'$: the $c$-th input channel of output channel $o$'s group);
    OH = floor((H + 2·padding - dilation·(KH - 1) - 1) / stride) + 1 (same for W).

    Args:
        in_channels: C_in (divisible by ``groups``).
        out_channels: C_out (divisible by ``groups``).
        kernel_size: an int or an (h, w) pair.
        stride: an int or an (h, w) pair.
        dilation: an int or an (h, w) pair.
        padding: an int, a pair, ``"valid"`` or ``"same"`` (stride 1 only).
        groups: independent channel groups (``groups=in_channels``: depthwise).
        bias: learn ``bias`` (C_out,).
        padding_mode: ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"``.

    ``weight`` (C_out, C_in/groups, KH, KW) and ``bias`` are initialised
    U(-1/√fan_in, 1/√fan_in), fan_in = C_in/groups·KH·KW (PyTorch's default).
    See `minigrad.ops.conv.conv2d` for which arguments take the fast path.
    """

    k = 2

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        x, padding = self._padded(x)
        return conv2d(x, self.weight, self.bias, self.stride, padding, self.dilation,
                      self.groups)


class Conv1d(_ConvNd):
    r"""1-D convolution layer, x (N, C_in, L) -> (N, C_out, L_out), as PyTorch's ``nn.Conv1d``.

    $$y_{n,o,i} = b_o + \sum_{c,k} w_{o,c,k}\, x^\text{pad}_{n,\,c',\, i s + k d}$$

    Arguments as `Conv2d` with single ints (stored as 1-tuples, as PyTorch);
    ``weight`` (C_out, C_in/groups, K), initialised U(-1/√fan_in, 1/√fan_in),
    fan_in = C_in/groups·K.
    """

    k = 1

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        x, padding = self._padded(x)
        return conv1d(x, self.weight, self.bias, self.stride, padding, self.dilation,
                      self.groups)
