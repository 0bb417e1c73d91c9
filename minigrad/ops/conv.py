"""Convolution as one matrix product: im2col forward, col2im backward.

A 2-D convolution (strictly, a cross-correlation, as in every DL library)

    y[n, o, i, j] = b[o] + Σ_{c, p, q} w[o, c, p, q] · x_pad[n, c, i·s_h + p·d_h, j·s_w + q·d_w]

reads, for every output pixel (n, i, j), one patch of C·KH·KW input values.
*im2col* lays those patches out as the rows of a matrix ``cols`` of shape
(N·OH·OW, C·KH·KW); the convolution is then a single BLAS matrix product
``cols @ W.reshape(O, -1).T``. The patches are read through a strided *view* of
the padded input (``as_strided``: no Python loop over pixels or images), and
one reshape copies them into the matrix.

Backward is the same product read the other way round:

    dW   = gᵀ · cols                  (O, C·KH·KW)
    dcol = g · W                      (N·OH·OW, C·KH·KW)
    dx   = col2im(dcol)               every patch entry is added back where it was read

col2im loops over the KH·KW kernel offsets (9 for a 3x3 kernel): each offset is
one strided slice of the input, so each iteration adds a whole (N, OH, OW, C)
block at once. Overlapping patches (stride < kernel) accumulate naturally.
Backward computes ``dcol`` and ``col2im`` together, one kernel offset at a time
(`input_grad`, the fast path), so the large ``dcol`` matrix never exists.

This im2col path is the fast path for the default arguments (``groups=1``, zero
padding given as numbers). `conv2d` routes ``groups > 1`` (depthwise included) and an
uneven ``padding="same"`` to the general N-d convolution, `minigrad.ops.conv3d.convnd`.
"""

from __future__ import annotations

import numpy as np

from minigrad import dispatch
from minigrad.backend import get_array_module
from minigrad.ops.conv3d import convnd
from minigrad.tensor import Function, Tensor
from minigrad.threads import blockwise

__all__ = ["conv2d", "conv1d"]


def pair(value, name: str = "argument", op: str = "conv2d") -> tuple[int, int]:
    """``3`` -> ``(3, 3)``; ``(3, 5)`` stays. Refuses anything that is not 1 or 2 ints."""
    if isinstance(value, int):
        return (value, value)
    value = tuple(value)
    if len(value) != 2 or not all(isinstance(v, int) for v in value):
        raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    return value


def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """floor((size + 2·padding - dilation·(kernel - 1) - 1) / stride) + 1 (PyTorch's formula)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def channels_last(x, padding):
    """(N, C, H, W) -> a C-contiguous, zero-padded (N, Hp, Wp, C) array.

    In this layout every row of the im2col matrix is KH·KW runs of C contiguous
    values, which copy far faster than runs of KW values; and a convolution's
    own output (see `Conv2d`) is already laid out so, so a conv that
    follows a conv, a ReLU or a pooling layer needs no transposing copy.
    """
    xp = get_array_module(x)
    x = x.transpose(0, 2, 3, 1)
    ph, pw = padding
    if ph or pw:
        return xp.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    return xp.ascontiguousarray(x)


def windows(x_pad, kernel, stride, dilation, out_hw):
    """A strided view (N, OH, OW, KH, KW, C) of every patch of ``x_pad`` (N, Hp, Wp, C).

    Nothing is copied: element [n, i, j, p, q, c] *is* x_pad[n, i·s + p·d, j·s + q·d, c].
    """
    xp = get_array_module(x_pad)
    sn, sh, sw, sc = x_pad.strides
    (kh, kw), (s_h, s_w), (d_h, d_w), (oh, ow) = kernel, stride, dilation, out_hw
    n, c = x_pad.shape[0], x_pad.shape[3]
    # read-only on NumPy (entries alias each other); CuPy's as_strided has no `writeable`
    readonly = {"writeable": False} if xp is np else {}
    return xp.lib.stride_tricks.as_strided(
        x_pad,
        shape=(n, oh, ow, kh, kw, c),
        strides=(sn, sh * s_h, sw * s_w, sh * d_h, sw * d_w, sc),
        **readonly,
    )


def col2im(dwin, x_pad_shape, kernel, stride, dilation, out_hw):
    """The adjoint of `windows`: add every patch entry of ``dwin`` back to its pixel.

    ``dwin`` has the layout (N, OH, OW, KH, KW, C); returns an (N, Hp, Wp, C) array.
    Each kernel offset (p, q) adds one (N, OH, OW, C) block into a strided slice.
    """
    xp = get_array_module(dwin)
    (kh, kw), (s_h, s_w), (d_h, d_w), (oh, ow) = kernel, stride, dilation, out_hw
    dx = xp.zeros(x_pad_shape, dtype=dwin.dtype)
    for p in range(kh):
        rows = slice(p * d_h, p * d_h + s_h * (oh - 1) + 1, s_h)
        for q in range(kw):
            cols = slice(q * d_w, q * d_w + s_w * (ow - 1) + 1, s_w)
            dx[:, rows, cols, :] += dwin[:, :, :, p, q, :]
    return dx


def input_grad(g_mat, w_mat, x_pad_shape, kernel, stride, dilation, out_hw):
    """dx_pad = col2im(g_mat @ w_mat), computed one kernel offset at a time (the fast path).

    The reference is ``col2im((g_mat @ w_mat).reshape(N, OH, OW, KH, KW, C), ...)``.
    Its columns for kernel offset (p, q) are g_mat @ W_pq with W_pq = w[:, :, p, q]
    (O, C), so the product splits into KH·KW GEMMs whose (N·OH·OW, C) results are
    added into their strided slice of dx while still in cache: the (N·OH·OW, KH·KW·C)
    ``dcol`` matrix is never written and read back (9 MB for the benchmark CNN's
    second conv; this is ~25% faster there). Same sums, another order: equal to rounding.
    """
    xp = get_array_module(g_mat)
    (kh, kw), (oh, ow) = kernel, out_hw
    n, c, o = x_pad_shape[0], x_pad_shape[3], w_mat.shape[0]
    dtype = xp.result_type(g_mat, w_mat)
    w_offsets = xp.ascontiguousarray(w_mat.reshape(o, kh, kw, c).transpose(1, 2, 0, 3))
    dx = xp.zeros(x_pad_shape, dtype=dtype)
    # each sample's rows of g_mat feed only that sample's dx: blocks of the batch on threads
    blockwise(_input_grad_samples, g_mat.reshape(n, oh * ow, o), dx,
              shared=(w_offsets, stride, dilation, out_hw))
    return dx


def _conv_samples(x_pad, cols, y, w_mat, bias, geometry):
    """The forward for a block of samples: cols = im2col(x_pad) (n, OH·OW, KH·KW·C),
    y = cols W_matᵀ + b (n, OH·OW, O)."""
    xp = get_array_module(x_pad)
    patches = windows(x_pad, *geometry)  # a strided view (n, OH, OW, KH, KW, C): no copy yet
    cols.reshape(patches.shape)[...] = patches  # the one copy, straight into cols
    xp.matmul(cols, w_mat.T, out=y)
    if bias is not None:
        y += bias


def _input_grad_samples(g_rows, dx, w_offsets, stride, dilation, out_hw):
    """`input_grad` for a block of samples: g_rows (n, OH·OW, O) into dx (n, Hp, Wp, C)."""
    xp = get_array_module(g_rows)
    kh, kw, _, c = w_offsets.shape
    (s_h, s_w), (d_h, d_w), (oh, ow) = stride, dilation, out_hw
    n = g_rows.shape[0]
    g_mat = g_rows.reshape(n * oh * ow, -1)
    block = xp.empty((n * oh * ow, c), dtype=dx.dtype)  # one offset's columns, reused
    for p in range(kh):
        rows = slice(p * d_h, p * d_h + s_h * (oh - 1) + 1, s_h)
        for q in range(kw):
            cols = slice(q * d_w, q * d_w + s_w * (ow - 1) + 1, s_w)
            xp.matmul(g_mat, w_offsets[p, q], out=block)
            dx[:, rows, cols, :] += block.reshape(n, oh, ow, c)


class Conv2d(Function):
    """y = conv2d(x, w) + b via im2col (see the module docstring for the formulas).

    Internally channels-last: patch rows are ordered (KH, KW, C) and the weight
    matrix is w transposed to (O, KH, KW, C). The output is the (N·OH·OW, O)
    product *viewed* as (N, O, OH, OW): channels-last in memory, which the next
    conv reads without a copy, and so does this backward's ``g.transpose(0, 2, 3, 1)``.
    """

    def forward(self, x, w, *bias, stride, padding, dilation):
        n, c, h, wd = x.shape
        o, _, kh, kw = w.shape
        oh = conv_output_size(h, kh, stride[0], padding[0], dilation[0])
        ow = conv_output_size(wd, kw, stride[1], padding[1], dilation[1])
        x_pad = channels_last(x, padding)
        self.geometry = ((kh, kw), stride, dilation, (oh, ow))
        self.x_pad_shape, self.padding, self.w_shape = x_pad.shape, padding, w.shape
        self.w_mat = w.transpose(0, 2, 3, 1).reshape(o, kh * kw * c)
        xp = get_array_module(x)
        dtype = xp.result_type(x, w)
        cols = xp.empty((n, oh * ow, kh * kw * c), dtype=x_pad.dtype)  # im2col, kept for dW
        y = xp.empty((n, oh * ow, o), dtype=dtype)
        # each sample's patches and outputs are its own: blocks of samples on threads
        blockwise(_conv_samples, x_pad, cols, y, shared=(self.w_mat, bias[0] if bias else None,
                                                         self.geometry))
        self.cols = cols.reshape(n * oh * ow, kh * kw * c)
        return y.reshape(n, oh, ow, o).transpose(0, 3, 1, 2)

    def backward(self, g):
        n, o, oh, ow = g.shape
        c, kh, kw = self.w_shape[1:]
        g_mat = g.transpose(0, 2, 3, 1).reshape(n * oh * ow, o)
        dx = dw = None
        if self.needs_input_grad[0]:  # e.g. not for the input images
            dx_pad = input_grad(g_mat, self.w_mat, self.x_pad_shape, *self.geometry)
            (ph, pw), (hp, wp) = self.padding, self.x_pad_shape[1:3]
            dx = dx_pad[:, ph : hp - ph, pw : wp - pw, :].transpose(0, 3, 1, 2)
        if self.needs_input_grad[1]:
            dw = dispatch.matmul(g_mat.T, self.cols).reshape(o, kh, kw, c).transpose(0, 3, 1, 2)
        if len(self.inputs) == 3:
            # Σ over rows as a GEMV: ~10x faster than sum(axis=0) on a tall, narrow matrix
            ones = get_array_module(g).ones(g_mat.shape[0], dtype=g.dtype)
            return dx, dw, ones @ g_mat
        return dx, dw


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    r"""2-D convolution (cross-correlation) of ``input`` (N, C, H, W) with ``weight`` (O, C/groups, KH, KW),
    as ``torch.nn.functional.conv2d``.

    $$y_{n,o,i,j} = b_o + \sum_{c,p,q} w_{o,c,p,q}\, x^\text{pad}_{n,\,c',\, s_1 i + d_1 p,\, s_2 j + d_2 q}$$
    with $c'$ the $c$-th input channel of output channel $o$'s group (with ``groups=1``,
    $c' = c$); each output side is $\lfloor (H + 2\,\text{pad} - d\,(k - 1) - 1)/s \rfloor + 1$.

    Two code paths compute this:

    - **fast path** (`Conv2d`, channels-last im2col, one GEMM): ``groups=1`` with numeric
      padding, ``"valid"``, or ``"same"`` when every axis pads evenly (odd kernels);
    - **general path** (`minigrad.ops.conv3d.convnd`, one einsum per kernel offset): any
      ``groups`` (``groups=C`` is a depthwise convolution), and ``"same"`` with an odd total
      padding, where PyTorch pads ``total // 2`` before and the rest after.

    Args:
        input: (N, C, H, W).
        weight: (O, C/groups, KH, KW).
        bias: (O,) or None.
        stride: an int or an (h, w) pair.
        padding: an int, an (h, w) pair, ``"valid"`` (no padding) or ``"same"`` (output size
            = input size; stride 1 only). Padding is with zeros (other modes: ``nn.Conv2d``'s
            ``padding_mode``, or `minigrad.ops.padding.pad` first).
        dilation: an int or an (h, w) pair.
        groups: split the channels into this many independent convolutions.

    Raises:
        ValueError: shapes, groups or geometry that do not fit (the message names them).
    """
    if isinstance(padding, str):
        padding = _padding_string(padding, weight, stride, dilation, 2, "conv2d")
    if groups == 1 and not isinstance(padding, str):  # the fast path
        stride, padding = pair(stride, "stride"), pair(padding, "padding")
        dilation = pair(dilation, "dilation")
        _check_conv_args(input, weight, bias, stride, padding, dilation)
        inputs = (input, weight) if bias is None else (input, weight, bias)
        return Conv2d.apply(*inputs, stride=stride, padding=padding, dilation=dilation)
    # the general path: groups, uneven "same"
    if input.ndim != 4 or weight.ndim != 4:
        raise ValueError(f"conv2d: expected a 4-D input (N, C, H, W) and a 4-D weight "
                         f"(O, C/groups, KH, KW), got shapes {input.shape} and {weight.shape}")
    if not isinstance(groups, int) or isinstance(groups, bool):
        raise TypeError(f"conv2d: groups must be an int, got {groups!r}")
    return convnd(input, weight, bias, stride, padding, dilation, groups, op="conv2d")


def _padding_string(padding: str, weight, stride, dilation, k: int, op: str):
    """``"valid"`` -> 0; ``"same"`` -> the per-axis padding when every total is even, else
    ``"same"`` itself (the general path pads unevenly). Errors as PyTorch (ValueError)."""
    if padding not in ("valid", "same"):
        raise ValueError(f"{op}: invalid padding string {padding!r}, should be one of "
                         f"{{'valid', 'same'}}")
    if padding == "valid":
        return 0
    stride = (stride,) * k if isinstance(stride, int) else tuple(stride)
    if any(s != 1 for s in stride):
        raise ValueError(f"{op}: padding='same' is not supported for strided convolutions "
                         f"(stride {stride})")
    dilation = (dilation,) * k if isinstance(dilation, int) else tuple(dilation)
    totals = [d * (kk - 1) for d, kk in zip(dilation, weight.shape[2:])]
    if len(totals) != k or any(t % 2 for t in totals):
        return "same"
    return tuple(t // 2 for t in totals)


def _check_conv_args(x, w, b, stride, padding, dilation, op="conv2d"):
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W) and a 4-D weight "
                         f"(O, C, KH, KW), got shapes {x.shape} and {w.shape}")
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"{op}: weight of shape {w.shape} expects {w.shape[1]} input channels, "
                         f"got input of shape {x.shape}")
    if b is not None and b.shape != (w.shape[0],):
        raise ValueError(f"{op}: bias must have shape ({w.shape[0]},), got {b.shape}")
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise ValueError(f"{op}: stride and dilation must be >= 1 and padding >= 0, got "
                         f"stride={stride}, padding={padding}, dilation={dilation}")
    for axis, size in enumerate(x.shape[2:]):
        span = dilation[axis] * (w.shape[2 + axis] - 1) + 1
        if size + 2 * padding[axis] < span:
            raise ValueError(f"{op}: input of shape {x.shape} (padded by {padding}) is smaller "
                             f"than the kernel of shape {w.shape[2:]} with dilation {dilation}")


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    r"""1-D convolution of ``input`` (N, C, L) with ``weight`` (O, C/groups, K), as
    ``torch.nn.functional.conv1d``: `conv2d` on a height-1 image (same paths, same options).

    $$y_{n,o,i} = b_o + \sum_{c,k} w_{o,c,k}\, x^\text{pad}_{n,\,c',\, i s + k d}$$

    ``padding`` is an int, ``"valid"`` or ``"same"``; ``groups`` as in `conv2d`.
    """
    if input.ndim != 3 or weight.ndim != 3:
        raise ValueError(f"conv1d: expected a 3-D input (N, C, L) and a 3-D weight (O, C/groups, K), "
                         f"got shapes {input.shape} and {weight.shape}")
    n, c, length = input.shape
    o, ci, k = weight.shape
    padding = padding if isinstance(padding, str) else (0, _single(padding))
    y = conv2d(input.reshape(n, c, 1, length), weight.reshape(o, ci, 1, k), bias,
               stride=(1, _single(stride)), padding=padding,
               dilation=(1, _single(dilation)), groups=groups)
    return y.reshape(y.shape[0], y.shape[1], y.shape[3])


def _single(value) -> int:
    if isinstance(value, (tuple, list)):
        (value,) = value
    return int(value)
