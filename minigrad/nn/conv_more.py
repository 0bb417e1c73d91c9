"""More convolution-family layers: transposed and 3-D convolution, resizing, padding.

The math (forward and backward) lives in `minigrad.ops.conv_transpose`, `minigrad.ops.conv3d`,
`minigrad.ops.interpolate` and `minigrad.ops.padding`; these modules hold parameters and arguments.
"""

from __future__ import annotations

import math

from minigrad.nn.conv import uniform_parameter
from minigrad.nn.module import Module
from minigrad.ops.conv3d import convnd, ntuple
from minigrad.ops.conv_transpose import conv_transpose_nd
from minigrad.ops.interpolate import interpolate, pixel_shuffle, pixel_unshuffle
from minigrad.ops.padding import pad
from minigrad.tensor import Tensor

__all__ = [
    "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
    "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "PixelShuffle", "PixelUnshuffle",
    "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
    "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
    "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d",
    "CircularPad1d", "CircularPad2d", "CircularPad3d",
]


class Conv3d(Module):
    """3-D convolution layer, x (N, C_in, D, H, W) -> (N, C_out, D', H', W'), as ``nn.Conv3d``.

    ``weight`` (C_out, C_in/groups, KD, KH, KW) and ``bias`` (C_out,) are drawn from
    U(-1/√fan_in, 1/√fan_in), fan_in = C_in/groups · KD·KH·KW (PyTorch's default).
    ``padding_mode`` other than ``"zeros"`` pads with `minigrad.ops.padding.pad` first.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros"):
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv3d: groups={groups} must divide in_channels={in_channels} "
                             f"and out_channels={out_channels}")
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(f"Conv3d: unknown padding_mode {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = ntuple(kernel_size, 3, "kernel_size", "Conv3d")
        self.stride = ntuple(stride, 3, "stride", "Conv3d")
        self.padding = padding if isinstance(padding, str) else ntuple(padding, 3, "padding",
                                                                       "Conv3d")
        self.dilation = ntuple(dilation, 3, "dilation", "Conv3d")
        self.padding_mode = padding_mode
        bound = 1 / math.sqrt(in_channels // groups * math.prod(self.kernel_size))
        self.weight = uniform_parameter((out_channels, in_channels // groups) + self.kernel_size,
                                        bound)
        if bias:
            self.bias = uniform_parameter((out_channels,), bound)
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        padding = self.padding
        if self.padding_mode != "zeros" and not isinstance(padding, str):
            widths = [p for p in reversed(padding) for _ in range(2)]
            x, padding = pad(x, widths, mode=self.padding_mode), 0
        return convnd(x, self.weight, self.bias, self.stride, padding, self.dilation,
                      self.groups, op="Conv3d")

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
                f"groups={self.groups}, bias={self.bias is not None}")


class _ConvTransposeNd(Module):
    """Shared body of ConvTranspose1d/2d/3d (``k`` spatial dims)."""

    k = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros"):
        super().__init__()
        name, k = type(self).__name__, self.k
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: groups={groups} must divide in_channels={in_channels} "
                             f"and out_channels={out_channels}")
        if padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported (as PyTorch), "
                             f"got {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = ntuple(kernel_size, k, "kernel_size", name)
        self.stride = ntuple(stride, k, "stride", name)
        self.padding = ntuple(padding, k, "padding", name)
        self.output_padding = ntuple(output_padding, k, "output_padding", name)
        self.dilation = ntuple(dilation, k, "dilation", name)
        # PyTorch's fan_in for this layout: weight.size(1) · receptive field
        bound = 1 / math.sqrt(out_channels // groups * math.prod(self.kernel_size))
        self.weight = uniform_parameter((in_channels, out_channels // groups) + self.kernel_size,
                                        bound)
        if bias:
            self.bias = uniform_parameter((out_channels,), bound)
        else:
            self.register_parameter("bias", None)

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        """``output_size`` (the spatial size, or the full shape) picks ``output_padding``."""
        output_padding = self.output_padding
        if output_size is not None:
            want = tuple(output_size)[-self.k:]
            smallest = [(input.shape[2 + a] - 1) * self.stride[a] - 2 * self.padding[a]
                        + self.dilation[a] * (self.kernel_size[a] - 1) + 1 for a in range(self.k)]
            output_padding = tuple(w - s for w, s in zip(want, smallest))
            if any(not 0 <= p < max(s, d) for p, s, d in zip(output_padding, self.stride,
                                                            self.dilation)):
                raise ValueError(f"{type(self).__name__}: requested output size {want} is not "
                                 f"reachable from input {input.shape} (smallest {smallest})")
        return conv_transpose_nd(input, self.weight, self.bias, self.stride, self.padding,
                                 output_padding, self.groups, self.dilation,
                                 op=type(self).__name__)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, "
                f"output_padding={self.output_padding}, groups={self.groups}, "
                f"dilation={self.dilation}, bias={self.bias is not None}")


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution, (N, C_in, L) -> (N, C_out, L_out), as ``nn.ConvTranspose1d``.

    L_out = (L - 1)·stride - 2·padding + dilation·(K - 1) + output_padding + 1;
    ``weight`` is (C_in, C_out/groups, K) (PyTorch's layout).
    """

    k = 1


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution, (N, C_in, H, W) -> (N, C_out, H', W'), as ``nn.ConvTranspose2d``.

    Each side (S - 1)·stride - 2·padding + dilation·(K - 1) + output_padding + 1;
    ``weight`` is (C_in, C_out/groups, KH, KW) (PyTorch's layout).
    """

    k = 2


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution, as ``nn.ConvTranspose3d``; ``weight`` (C_in, C_out/groups, KD, KH, KW)."""

    k = 3


class Upsample(Module):
    """Resize with `minigrad.ops.interpolate.interpolate`, as ``nn.Upsample``."""

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:
        return interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                           self.recompute_scale_factor)

    def extra_repr(self) -> str:
        what = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{what}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``nn.UpsamplingNearest2d``: `Upsample` with ``mode="nearest"``."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``nn.UpsamplingBilinear2d``: `Upsample` with ``mode="bilinear", align_corners=True``."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class PixelShuffle(Module):
    """(*, C·r², H, W) -> (*, C, H·r, W·r), as ``nn.PixelShuffle``."""

    def __init__(self, upscale_factor: int):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H·r, W·r) -> (*, C·r², H, W), as ``nn.PixelUnshuffle``."""

    def __init__(self, downscale_factor: int):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


class _PadNd(Module):
    """``F.pad(x, padding, mode, value)`` with the padding fixed at construction."""

    k, mode = 1, "constant"

    def __init__(self, padding, value: float | None = None):
        super().__init__()
        if isinstance(padding, int):
            padding = (padding,) * (2 * self.k)
        padding = tuple(padding)
        if len(padding) != 2 * self.k:
            raise ValueError(f"{type(self).__name__}: padding must be an int or {2 * self.k} "
                             f"ints, got {padding!r}")
        self.padding, self.value = padding, value

    def forward(self, input: Tensor) -> Tensor:
        return pad(input, self.padding, self.mode, self.value)

    def extra_repr(self) -> str:
        return f"{self.padding}" + ("" if self.value is None else f", value={self.value}")


def _pad_class(name, k, mode, constant=False):
    """One of PyTorch's padding modules: ``name(padding)`` (``name(padding, value)`` if constant)."""
    if constant:
        def __init__(self, padding, value: float):
            _PadNd.__init__(self, padding, value)
    else:
        def __init__(self, padding):
            _PadNd.__init__(self, padding, 0.0 if mode == "zeros" else None)
    doc = (f"``nn.{name}``: pad the last {k} dim(s) with mode {mode!r}; ``padding`` is an int "
           f"or {2 * k} ints (left, right{', top, bottom' if k > 1 else ''}"
           f"{', front, back' if k > 2 else ''}).")
    return type(name, (_PadNd,), {"k": k, "mode": "constant" if mode == "zeros" else mode,
                                  "__init__": __init__, "__doc__": doc,
                                  "__module__": __name__})


ZeroPad1d = _pad_class("ZeroPad1d", 1, "zeros")
ZeroPad2d = _pad_class("ZeroPad2d", 2, "zeros")
ZeroPad3d = _pad_class("ZeroPad3d", 3, "zeros")
ConstantPad1d = _pad_class("ConstantPad1d", 1, "constant", constant=True)
ConstantPad2d = _pad_class("ConstantPad2d", 2, "constant", constant=True)
ConstantPad3d = _pad_class("ConstantPad3d", 3, "constant", constant=True)
ReflectionPad1d = _pad_class("ReflectionPad1d", 1, "reflect")
ReflectionPad2d = _pad_class("ReflectionPad2d", 2, "reflect")
ReflectionPad3d = _pad_class("ReflectionPad3d", 3, "reflect")
ReplicationPad1d = _pad_class("ReplicationPad1d", 1, "replicate")
ReplicationPad2d = _pad_class("ReplicationPad2d", 2, "replicate")
ReplicationPad3d = _pad_class("ReplicationPad3d", 3, "replicate")
CircularPad1d = _pad_class("CircularPad1d", 1, "circular")
CircularPad2d = _pad_class("CircularPad2d", 2, "circular")
CircularPad3d = _pad_class("CircularPad3d", 3, "circular")


# ================================================================ pooling (minigrad/ops/pool_more.py)
from minigrad.ops import pool_more as _pool  # noqa: E402

__all__ += [
    "MaxPool1d", "MaxPool3d", "AvgPool1d", "AvgPool3d", "AdaptiveAvgPool1d", "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d", "LPPool1d", "LPPool2d", "MaxUnpool1d", "MaxUnpool2d",
]


class _MaxPoolNd(Module):
    """``max_pool{k}d`` with its arguments fixed at construction."""

    fn = None

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode

    def forward(self, input: Tensor):
        return type(self).fn(input, self.kernel_size, self.stride, self.padding, self.dilation,
                             self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """``nn.MaxPool1d``: y[n, c, i] = max of x[n, c, i·s + k·d - p] over the K window offsets."""

    fn = staticmethod(_pool.max_pool1d)


class MaxPool3d(_MaxPoolNd):
    """``nn.MaxPool3d``: the max over each KD×KH×KW window."""

    fn = staticmethod(_pool.max_pool3d)


class AvgPool1d(Module):
    """``nn.AvgPool1d``: the mean over each window (see ``minigrad.ops.pool_more.avg_pool1d``)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return _pool.avg_pool1d(input, self.kernel_size, self.stride, self.padding,
                                self.ceil_mode, self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool3d(Module):
    """``nn.AvgPool3d``: the mean over each KD×KH×KW box (or the sum / ``divisor_override``)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override=None):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return _pool.avg_pool3d(input, self.kernel_size, self.stride, self.padding,
                                self.ceil_mode, self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool1d(Module):
    """``nn.AdaptiveAvgPool1d``: the mean over [floor(iL/m), ceil((i+1)L/m)), any output size m."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return _pool.adaptive_avg_pool1d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class _AdaptiveMaxPoolNd(Module):
    fn = None

    def __init__(self, output_size, return_indices: bool = False):
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input: Tensor):
        return type(self).fn(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """``nn.AdaptiveMaxPool1d``: the max over [floor(iL/m), ceil((i+1)L/m)), any output size m."""

    fn = staticmethod(_pool.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """``nn.AdaptiveMaxPool2d``: the max over PyTorch's adaptive boxes, any output size."""

    fn = staticmethod(_pool.adaptive_max_pool2d)


class _LPPoolNd(Module):
    fn = None

    def __init__(self, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False):
        super().__init__()
        self.norm_type, self.kernel_size = norm_type, kernel_size
        self.stride, self.ceil_mode = stride, ceil_mode

    def forward(self, input: Tensor) -> Tensor:
        return type(self).fn(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self) -> str:
        return f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}"


class LPPool1d(_LPPoolNd):
    """``nn.LPPool1d``: y = (Σ_window x^p)^(1/p)."""

    fn = staticmethod(_pool.lp_pool1d)


class LPPool2d(_LPPoolNd):
    """``nn.LPPool2d``: y = (Σ_window x^p)^(1/p) over KH×KW windows."""

    fn = staticmethod(_pool.lp_pool2d)


class _MaxUnpoolNd(Module):
    fn = None

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, input: Tensor, indices: Tensor, output_size=None) -> Tensor:
        return type(self).fn(input, indices, self.kernel_size, self.stride, self.padding,
                             output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """``nn.MaxUnpool1d``: each value back at its max-pooling index, zeros elsewhere."""

    fn = staticmethod(_pool.max_unpool1d)


class MaxUnpool2d(_MaxUnpoolNd):
    """``nn.MaxUnpool2d``: each value back at its (flat H·W) max-pooling index, zeros elsewhere."""

    fn = staticmethod(_pool.max_unpool2d)
