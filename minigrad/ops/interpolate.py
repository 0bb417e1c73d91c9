r"""Resizing: ``F.interpolate`` (nearest, linear, bilinear, bicubic, trilinear, area) and pixel shuffle.

Every interpolation mode here is **linear in the input and separable over the
axes**: output position $i$ of a resized axis is a weighted sum of a few input
positions $j$ of the same axis, $y_i = \sum_j M_{ij} x_j$, and a 2-D (3-D) resize
applies the 1-D matrix of each axis in turn (bilinear = linear along H, then
along W). So each mode only has to say how to build the (out, in) matrix $M$ of
one axis, and forward/backward are `minigrad.ops.padding.AxisMaps`:
$y = x \times_H M_H \times_W M_W$, $\partial L/\partial x = g \times_W M_W^\top \times_H M_H^\top$.

Where output position $i$ samples the input (PyTorch's convention, with ``scale`` =
in/out, or 1/``scale_factor`` when one is given):

* ``align_corners=False`` (half-pixel centres): $\text{src} = \text{scale}\,(i + \tfrac12) - \tfrac12$
  (clamped at 0 for linear modes);
* ``align_corners=True`` (corner pixels aligned): $\text{src} = i\,(\text{in} - 1)/(\text{out} - 1)$;
* ``nearest``: $j = \min(\lfloor i \cdot \text{scale} \rfloor, \text{in} - 1)$;
  ``nearest-exact``: $j = \min(\lfloor (i + \tfrac12)\,\text{scale} \rfloor, \text{in} - 1)$.

Linear weights: $j_0 = \lfloor \text{src} \rfloor$, $\lambda = \text{src} - j_0$,
$y_i = (1 - \lambda)\,x_{j_0} + \lambda\,x_{j_0 + 1}$.
Cubic weights (Keys' convolution kernel with $A = -0.75$, as PyTorch) on the four
neighbours $j_0 - 1 \dots j_0 + 2$, indices clamped to the border.
``area`` averages the window $[\lfloor i n/m \rfloor, \lceil (i+1) n/m \rceil)$ of an axis
resized from $n$ to $m$ (adaptive average pooling).
"""

from __future__ import annotations

import math

import numpy as np

from minigrad.ops.padding import AxisMaps, axis_matrix
from minigrad.tensor import Function, Tensor

__all__ = ["interpolate", "upsample", "pixel_shuffle", "pixel_unshuffle", "adaptive_avg_matrix"]

_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
_CUBIC_A = -0.75


def _cubic_weights(t):
    r"""Keys' cubic kernel at distances $1 + t, t, 1 - t, 2 - t$ of the four neighbours."""
    a = _CUBIC_A

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return far(t + 1), near(t), near(1 - t), far(2 - t)


def _source(i, n_in, n_out, scale, align_corners, cubic):
    """Continuous source coordinate of output positions ``i`` (PyTorch's convention)."""
    if align_corners:
        return i * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
    src = scale * (i + 0.5) - 0.5
    return src if cubic else np.maximum(src, 0.0)


def adaptive_avg_matrix(n_in: int, n_out: int) -> np.ndarray:
    r"""(out, in) averaging matrix: row $i$ averages $x[\lfloor i n/m \rfloor : \lceil (i+1) n/m \rceil]$.

    PyTorch's adaptive pooling windows ($n$ in, $m$ out); used by ``area`` and adaptive pooling.
    """
    m = np.zeros((n_out, n_in))
    for i in range(n_out):
        start, end = (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)
        m[i, start:end] = 1.0 / (end - start)
    return m


def _axis_matrix(mode, n_in, n_out, scale, align_corners):
    """The (out, in) matrix of one axis for ``mode`` (``scale`` as in the module docstring)."""
    i = np.arange(n_out, dtype=np.float64)
    m = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    if mode in ("nearest", "nearest-exact"):
        shift = 0.5 if mode == "nearest-exact" else 0.0
        j = np.minimum(np.floor((i + shift) * scale).astype(np.int64), n_in - 1)
        m[rows, j] = 1.0
    elif mode == "area":
        m = adaptive_avg_matrix(n_in, n_out)
    elif mode == "bicubic":
        src = _source(i, n_in, n_out, scale, align_corners, cubic=True)
        j0 = np.floor(src).astype(np.int64)
        for k, w in zip(range(-1, 3), _cubic_weights(src - j0)):
            np.add.at(m, (rows, np.clip(j0 + k, 0, n_in - 1)), w)
    else:  # linear, bilinear, trilinear
        src = _source(i, n_in, n_out, scale, align_corners, cubic=False)
        j0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
        j1 = np.minimum(j0 + 1, n_in - 1)
        lam = src - j0
        np.add.at(m, (rows, j0), 1.0 - lam)
        np.add.at(m, (rows, j1), lam)
    return m


def _tuple(value, k, name):
    if isinstance(value, (tuple, list)):
        if len(value) != k:
            raise ValueError(f"interpolate: {name} must have {k} entries for a {k}-D resize, "
                             f"got {value!r}")
        return tuple(value)
    return (value,) * k


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners=None, recompute_scale_factor=None, antialias: bool = False) -> Tensor:
    r"""Resize the spatial dims of ``input`` (N, C, *spatial) as ``torch.nn.functional.interpolate``.

    Output size per axis: ``size``, or $\lfloor \text{in} \cdot \text{scale\_factor} \rfloor$.
    Each mode is a separable linear map (module docstring): $y = x \times_d M_d$ for
    every spatial axis $d$, and $\partial L/\partial x = g \times_d M_d^\top$.

    Args:
        input: a 3-D (N, C, L), 4-D (N, C, H, W) or 5-D (N, C, D, H, W) tensor.
        size: the output spatial size (an int or one per spatial dim).
        scale_factor: the multiplier of the spatial size (a float or one per dim).
        mode: ``"nearest"``, ``"nearest-exact"``, ``"area"`` (3-D to 5-D inputs),
            ``"linear"`` (3-D), ``"bilinear"``/``"bicubic"`` (4-D), ``"trilinear"`` (5-D).
        align_corners: for the linear and cubic modes, map the corner pixels' centres
            onto each other (False by default); must be None for the other modes.
        recompute_scale_factor: if True, the sampling scale is in/out computed from the
            output size instead of 1/``scale_factor``.
        antialias: not implemented (must be False).

    Returns:
        A tensor (N, C, *output_size) of the input's dtype.

    Raises:
        ValueError: neither or both of ``size`` and ``scale_factor``, an unknown mode,
            or ``align_corners`` set for a mode without it.
        NotImplementedError: a mode and input dimension PyTorch does not pair, or ``antialias``.
    """
    modes = ("nearest", "nearest-exact", "area", *_DIMS)
    if mode not in modes:
        raise ValueError(f"interpolate: unknown mode {mode!r}; expected one of {modes}")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not implemented")
    if input.ndim not in (3, 4, 5):
        raise NotImplementedError(f"interpolate: input must be 3-D, 4-D or 5-D (N, C, *spatial), "
                                  f"got shape {input.shape}")
    k = input.ndim - 2
    if mode in _DIMS and _DIMS[mode] != k:
        raise NotImplementedError(f"interpolate: got {input.ndim}D input, but {mode} mode needs "
                                  f"{_DIMS[mode] + 2}D input (shape {input.shape})")
    if mode not in _DIMS and align_corners is not None:
        raise ValueError("interpolate: align_corners can only be set with the interpolating modes "
                         f"linear | bilinear | bicubic | trilinear, not {mode!r}")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: exactly one of size or scale_factor should be defined")
    n_in = input.shape[2:]
    if size is not None:
        n_out = tuple(int(s) for s in _tuple(size, k, "size"))
        scales = [a / b for a, b in zip(n_in, n_out)]
    else:
        factors = tuple(float(f) for f in _tuple(scale_factor, k, "scale_factor"))
        n_out = tuple(math.floor(a * f) for a, f in zip(n_in, factors))
        if recompute_scale_factor:
            scales = [a / b for a, b in zip(n_in, n_out)]
        else:
            scales = [1.0 / f for f in factors]
    if min(n_out) < 1:
        raise ValueError(f"interpolate: output size {n_out} must be positive (input {input.shape})")
    maps = tuple(
        (2 + d, axis_matrix(input._data, _axis_matrix(mode, n_in[d], n_out[d], scales[d],
                                                      bool(align_corners))))
        for d in range(k))
    return AxisMaps.apply(input, maps=maps)


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
             align_corners=None) -> Tensor:
    r"""Upsamples the input to the given ``size`` or ``scale_factor`` (deprecated in PyTorch: `interpolate`).

    $$y = x \times_d M_d \ \text{for each spatial axis } d, \qquad
      \frac{\partial L}{\partial x} = g \times_d M_d^\top,$$

    with $M_d$ the (out, in) interpolation matrix of ``mode`` along axis $d$ (see `interpolate`).

    Args:
        input: (N, C, L), (N, C, H, W) or (N, C, D, H, W).
        size: The output spatial size (an int or one per spatial dim).
        scale_factor: The multiplier of the spatial size.
        mode: ``"nearest"``, ``"linear"``, ``"bilinear"``, ``"bicubic"``, ``"trilinear"``, ...
        align_corners: For the linear and cubic modes, map the corner pixels' centres together.
    """
    return interpolate(input, size, scale_factor, mode, align_corners)


class PixelShuffle(Function):
    r"""$y_{\dots, c,\, h r + i,\, w r + j} = x_{\dots,\, c r^2 + i r + j,\, h,\, w}$: a permutation of
    the elements, so $\partial L/\partial x$ is $g$ permuted back (``pixel_unshuffle`` of $g$).

    ``inverse=True`` is ``pixel_unshuffle`` (the map read the other way).
    """

    def forward(self, x, r, inverse):
        self.r, self.inverse = r, inverse
        return _shuffle(x, r, inverse)

    def backward(self, g):
        return _shuffle(g, self.r, not self.inverse)


def _shuffle(x, r, inverse):
    """(*, C·r², H, W) -> (*, C, H·r, W·r), or back when ``inverse``."""
    lead = x.shape[:-3]
    b = len(lead)
    if not inverse:
        c, h, w = x.shape[-3] // (r * r), x.shape[-2], x.shape[-1]
        y = x.reshape(*lead, c, r, r, h, w)  # (..., c, i, j, h, w)
        y = y.transpose(*range(b), b, b + 3, b + 1, b + 4, b + 2)  # (..., c, h, i, w, j)
        return y.reshape(*lead, c, h * r, w * r)
    c, h, w = x.shape[-3], x.shape[-2] // r, x.shape[-1] // r
    y = x.reshape(*lead, c, h, r, w, r)  # (..., c, h, i, w, j)
    y = y.transpose(*range(b), b, b + 2, b + 4, b + 1, b + 3)  # (..., c, i, j, h, w)
    return y.reshape(*lead, c * r * r, h, w)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    r"""Rearrange (*, C·r², H, W) into (*, C, H·r, W·r), as ``torch.nn.functional.pixel_shuffle``.

    $y_{\dots, c,\, h r + i,\, w r + j} = x_{\dots,\, c r^2 + i r + j,\, h,\, w}$
    (Shi et al., *Real-Time Single Image and Video Super-Resolution Using an Efficient
    Sub-Pixel Convolutional Neural Network*, 2016).

    Raises:
        RuntimeError: fewer than 3 dims, or channels not divisible by r².
    """
    r = int(upscale_factor)
    if input.ndim < 3 or r < 1 or input.shape[-3] % (r * r):
        raise RuntimeError(f"pixel_shuffle: expected an input (*, C·r², H, W) with r = {r}, "
                           f"got shape {input.shape}")
    return PixelShuffle.apply(input, r=r, inverse=False)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    r"""Rearrange (*, C, H·r, W·r) into (*, C·r², H, W): the inverse of `pixel_shuffle`,
    $y_{\dots,\, c r^2 + i r + j,\, h,\, w} = x_{\dots, c,\, h r + i,\, w r + j}$.

    Raises:
        RuntimeError: fewer than 3 dims, or H or W not divisible by r.
    """
    r = int(downscale_factor)
    if input.ndim < 3 or r < 1 or input.shape[-2] % r or input.shape[-1] % r:
        raise RuntimeError(f"pixel_unshuffle: expected an input (*, C, H·r, W·r) with r = {r}, "
                           f"got shape {input.shape}")
    return PixelShuffle.apply(input, r=r, inverse=True)
