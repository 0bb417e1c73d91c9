r"""N-dimensional grouped convolution, one kernel offset at a time; ``conv3d`` is its 3-D case.

With $G$ groups, input channels are split into $G$ blocks of $C/G$ and output
channels into $G$ blocks of $O/G$; output block $g$ only reads input block $g$:

$$y_{n,o,\mathbf{i}} = b_o + \sum_{c=0}^{C/G-1} \sum_{\mathbf{k}} w_{o,c,\mathbf{k}}\;
  x^\text{pad}_{n,\; g(o)\,C/G + c,\; \mathbf{s}\odot\mathbf{i} + \mathbf{d}\odot\mathbf{k}}$$

($\mathbf{i}, \mathbf{k}, \mathbf{s}, \mathbf{d}$ are vectors over the spatial axes). For one kernel offset
$\mathbf{k}$ the input positions $\mathbf{s}\odot\mathbf{i} + \mathbf{d}\odot\mathbf{k}$ over all outputs
form one strided slice of $x^\text{pad}$, so forward is a sum over the kernel offsets
of a channel contraction (``einsum``) of that slice with $w_{\cdot,\cdot,\mathbf{k}}$. Backward:

$$\frac{\partial L}{\partial w_{o,c,\mathbf{k}}} = \sum_{n,\mathbf{i}} g_{n,o,\mathbf{i}}\,
  x^\text{pad}_{n,c',\,\mathbf{s}\odot\mathbf{i}+\mathbf{d}\odot\mathbf{k}},\qquad
  \frac{\partial L}{\partial x^\text{pad}}[\text{slice}_\mathbf{k}] \mathrel{+}=
  \sum_o g_{n,o,\mathbf{i}}\, w_{o,c,\mathbf{k}},\qquad
  \frac{\partial L}{\partial b_o} = \sum_{n,\mathbf{i}} g_{n,o,\mathbf{i}}$$

and $\partial L/\partial x$ is the middle of $\partial L/\partial x^\text{pad}$ (the padding had no input).
The 2-D im2col path in `minigrad.ops.conv` is the fast one for images; this one is the
plain formula for any number of spatial dims.
"""

from __future__ import annotations

import itertools

from minigrad.backend import get_array_module
from minigrad.tensor import Function, Tensor

__all__ = ["conv3d", "convnd", "ntuple", "contract_space"]


def ntuple(value, k: int, name: str, op: str) -> tuple[int, ...]:
    """``3`` -> ``(3,) * k``; a sequence of ``k`` ints stays. Anything else: ValueError naming ``op``."""
    if isinstance(value, int):
        return (value,) * k
    value = tuple(value)
    if len(value) != k or not all(isinstance(v, int) for v in value):
        raise ValueError(f"{op}: {name} must be an int or {k} ints, got {value!r}")
    return value


def offset_slices(kernel, stride, dilation, out_size):
    """For each kernel offset k: (k, the slice of the padded spatial axes it reads for every output)."""
    for k in itertools.product(*(range(n) for n in kernel)):
        yield k, tuple(slice(kk * d, kk * d + s * (o - 1) + 1, s)
                       for kk, s, d, o in zip(k, stride, dilation, out_size))


def grouped(x, groups):
    """(N, C, *S) -> (N, G, C/G, *S): a view."""
    return x.reshape(x.shape[0], groups, x.shape[1] // groups, *x.shape[2:])


def contract_space(xp, spec, a, b):
    """``einsum(spec)`` of two (N, G, C, *S) arrays over N and the flattened spatial axes S."""
    flat = [t.reshape(*t.shape[:3], -1) for t in (a, b)]
    return xp.einsum(spec, *flat)


class ConvNd(Function):
    """y = grouped N-d convolution of x with w (+ b); the formulas are in the module docstring."""

    def forward(self, x, w, *bias, stride, padding, dilation, groups):
        xp = get_array_module(x)
        n, k = x.shape[0], len(stride)
        o, cg = w.shape[:2]
        kernel = w.shape[2:]
        out = tuple((x.shape[2 + a] + 2 * padding[a] - dilation[a] * (kernel[a] - 1) - 1)
                    // stride[a] + 1 for a in range(k))
        x_pad = xp.pad(x, ((0, 0), (0, 0)) + tuple((p, p) for p in padding))
        xg = grouped(x_pad, groups)  # (N, G, C/G, *Sp)
        wg = w.reshape(groups, o // groups, cg, *kernel)  # (G, O/G, C/G, *K)
        y = xp.zeros((n, groups, o // groups) + out, dtype=xp.result_type(x, w))
        self.offsets = list(offset_slices(kernel, stride, dilation, out))
        for kk, sl in self.offsets:
            y += xp.einsum("ngc...,goc->ngo...", xg[(slice(None),) * 3 + sl], wg[(...,) + kk])
        y = y.reshape(n, o, *out)
        if bias:
            y += bias[0].reshape((o,) + (1,) * k)
        self.xg, self.wg, self.padding, self.x_shape = xg, wg, padding, x.shape
        return y

    def backward(self, g):
        xp = get_array_module(g)
        groups, og = self.wg.shape[:2]
        gg = g.reshape(g.shape[0], groups, og, *g.shape[2:])  # (N, G, O/G, *out)
        dx = dw = db = None
        if self.needs_input_grad[0]:
            dx_pad = xp.zeros(self.xg.shape, dtype=g.dtype)
            for kk, sl in self.offsets:
                dx_pad[(slice(None),) * 3 + sl] += xp.einsum("ngo...,goc->ngc...", gg,
                                                             self.wg[(...,) + kk])
            dx_pad = dx_pad.reshape(dx_pad.shape[0], -1, *dx_pad.shape[3:])
            dx = dx_pad[(slice(None), slice(None)) + tuple(
                slice(p, p + s) for p, s in zip(self.padding, self.x_shape[2:]))]
        if self.needs_input_grad[1]:
            dwg = xp.zeros(self.wg.shape, dtype=g.dtype)
            for kk, sl in self.offsets:
                dwg[(...,) + kk] = contract_space(xp, "ngos,ngcs->goc", gg,
                                                  self.xg[(slice(None),) * 3 + sl])
            dw = dwg.reshape(-1, *dwg.shape[2:])
        if len(self.inputs) == 3 and self.needs_input_grad[2]:
            db = g.sum(axis=(0,) + tuple(range(2, g.ndim)))
        return (dx, dw, db) if len(self.inputs) == 3 else (dx, dw)


def convnd(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1, op: str = "convnd") -> Tensor:
    """Grouped convolution over the ``weight.ndim - 2`` trailing axes of ``input`` (module docstring).

    ``input`` (N, C, *S), ``weight`` (O, C/groups, *K), ``bias`` (O,). ``padding`` is an
    int, one int per spatial axis, ``"valid"`` (0) or ``"same"`` (stride 1 only).
    """
    k = weight.ndim - 2
    if input.ndim != k + 2 or k < 1:
        raise ValueError(f"{op}: expected a {k + 2}-D input (N, C, *spatial) for a weight of shape "
                         f"{weight.shape}, got input of shape {input.shape}")
    stride = ntuple(stride, k, "stride", op)
    dilation = ntuple(dilation, k, "dilation", op)
    kernel = weight.shape[2:]
    if padding == "valid":
        padding = 0
    same = padding == "same"
    if same:
        if max(stride) != 1:
            raise ValueError(f"{op}: padding='same' is not supported for strided convolutions "
                             f"(stride {stride})")
        total = [d * (kk - 1) for d, kk in zip(dilation, kernel)]
        padding = tuple((t + 1) // 2 for t in total)
    padding = ntuple(padding, k, "padding", op)
    if groups < 1 or input.shape[1] % groups or weight.shape[0] % groups:
        raise ValueError(f"{op}: groups={groups} must divide the input channels {input.shape[1]} "
                         f"and the output channels {weight.shape[0]}")
    if input.shape[1] != weight.shape[1] * groups:
        raise ValueError(f"{op}: weight of shape {weight.shape} with groups={groups} expects "
                         f"{weight.shape[1] * groups} input channels, got input of shape "
                         f"{input.shape}")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(f"{op}: bias must have shape ({weight.shape[0]},), got {bias.shape}")
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise ValueError(f"{op}: stride and dilation must be >= 1 and padding >= 0, got "
                         f"stride={stride}, padding={padding}, dilation={dilation}")
    for a in range(k):
        if input.shape[2 + a] + 2 * padding[a] < dilation[a] * (kernel[a] - 1) + 1:
            raise ValueError(f"{op}: input of shape {input.shape} (padded by {padding}) is smaller "
                             f"than the kernel {tuple(kernel)} with dilation {dilation}")
    inputs = (input, weight) if bias is None else (input, weight, bias)
    y = ConvNd.apply(*inputs, stride=stride, padding=padding, dilation=dilation, groups=groups)
    if same:  # PyTorch pads an odd total t with t//2 before: drop the extra first output
        extra = tuple(p * 2 - d * (kk - 1) for p, d, kk in zip(padding, dilation, kernel))
        if any(extra):
            y = y[(slice(None), slice(None)) + tuple(slice(e, None) for e in extra)]
    return y


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    r"""3-D convolution of ``input`` (N, C, D, H, W) with ``weight`` (O, C/groups, KD, KH, KW),
    as ``torch.nn.functional.conv3d``.

    $$y_{n,o,i,j,l} = b_o + \sum_{c,p,q,r} w_{o,c,p,q,r}\,
      x^\text{pad}_{n,\,c',\,s_1 i + d_1 p,\, s_2 j + d_2 q,\, s_3 l + d_3 r}$$
    with $c'$ the input channel $c$ of output channel $o$'s group; each output side is
    $\lfloor (S + 2\,\text{pad} - d\,(k - 1) - 1)/s \rfloor + 1$.

    Args:
        input: (N, C, D, H, W).
        weight: (O, C/groups, KD, KH, KW).
        bias: (O,) or None.
        stride: an int or three.
        padding: an int or three, or ``"valid"`` or ``"same"``.
        dilation: an int or three.
        groups: split the channels into this many independent convolutions.

    Raises:
        ValueError: shapes, groups or geometry that do not fit (the message names them).
    """
    if input.ndim != 5 or weight.ndim != 5:
        raise ValueError(f"conv3d: expected a 5-D input (N, C, D, H, W) and a 5-D weight "
                         f"(O, C/groups, KD, KH, KW), got shapes {input.shape} and {weight.shape}")
    return convnd(input, weight, bias, stride, padding, dilation, groups, op="conv3d")
