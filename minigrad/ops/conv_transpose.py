r"""Transposed convolution (``conv_transpose1d/2d``): the adjoint of convolution.

A convolution with stride $s$ *reads* input position $s\,i + d\,k$ for output $i$ and
kernel offset $k$. Its transpose *writes*: every input element $x_{n,c,\mathbf{i}}$
adds $x_{n,c,\mathbf{i}}\, w_{c,o,\mathbf{k}}$ to output position
$\mathbf{s}\odot\mathbf{i} + \mathbf{d}\odot\mathbf{k}$, and ``padding`` then crops $p$ positions
from both ends of each axis:

$$y^\text{full}_{n,o,\,\mathbf{s}\odot\mathbf{i} + \mathbf{d}\odot\mathbf{k}} \mathrel{+}=
  \sum_{c \in \text{group}(o)} x_{n,c,\mathbf{i}}\; w_{c,\,o',\,\mathbf{k}},
\qquad y = b + y^\text{full}[\,p : p + L_\text{out}\,],$$

$$L_\text{out} = (L - 1)\,s - 2p + d\,(k - 1) + \text{output\_padding} + 1 .$$

The weight is laid out (C_in, C_out/groups, *K) as in PyTorch: the layout of the
convolution it transposes (that conv maps C_out to C_in channels). ``output_padding``
adds positions at the end only (to pick among the input sizes a strided conv maps to
the same output size). Backward reads instead of writes: with $g^\text{full}$ = $g$
zero-padded by $p$,

$$\frac{\partial L}{\partial x_{n,c,\mathbf{i}}} = \sum_{o,\mathbf{k}}
  g^\text{full}_{n,o,\,\mathbf{s}\odot\mathbf{i}+\mathbf{d}\odot\mathbf{k}}\; w_{c,o',\mathbf{k}}
\quad(\text{a plain convolution of } g),\qquad
\frac{\partial L}{\partial w_{c,o',\mathbf{k}}} = \sum_{n,\mathbf{i}} x_{n,c,\mathbf{i}}\;
  g^\text{full}_{n,o,\,\mathbf{s}\odot\mathbf{i}+\mathbf{d}\odot\mathbf{k}} .$$

Zeiler et al., *Deconvolutional Networks* (2010); Dumoulin & Visin, *A guide to convolution
arithmetic for deep learning* (2016).
"""

from __future__ import annotations

from minigrad.backend import get_array_module
from minigrad.ops.conv3d import contract_space, grouped, ntuple, offset_slices
from minigrad.tensor import Function, Tensor

__all__ = ["conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "conv_transpose_nd"]


class ConvTransposeNd(Function):
    """y = transposed grouped N-d convolution of x with w (+ b): the module docstring's formulas."""

    def forward(self, x, w, *bias, stride, padding, output_padding, dilation, groups):
        xp = get_array_module(x)
        n, k = x.shape[0], len(stride)
        cin, og = w.shape[:2]
        kernel, size = w.shape[2:], x.shape[2:]
        full = tuple((size[a] - 1) * stride[a] + dilation[a] * (kernel[a] - 1) + 1
                     + output_padding[a] for a in range(k))
        xg = grouped(x, groups)  # (N, G, C_in/G, *L)
        wg = w.reshape(groups, cin // groups, og, *kernel)  # (G, C_in/G, C_out/G, *K)
        y_full = xp.zeros((n, groups, og) + full, dtype=xp.result_type(x, w))
        self.offsets = list(offset_slices(kernel, stride, dilation, size))
        for kk, sl in self.offsets:
            y_full[(slice(None),) * 3 + sl] += xp.einsum("ngc...,gco->ngo...", xg,
                                                         wg[(...,) + kk])
        y_full = y_full.reshape(n, groups * og, *full)
        y = y_full[(slice(None),) * 2 + tuple(slice(p, f - p) for p, f in zip(padding, full))]
        if bias:
            y = y + bias[0].reshape((-1,) + (1,) * k)
        self.xg, self.wg, self.padding = xg, wg, padding
        return y

    def backward(self, g):
        xp = get_array_module(g)
        groups, _, og = self.wg.shape[:3]
        g_full = xp.pad(g, ((0, 0), (0, 0)) + tuple((p, p) for p in self.padding))
        gg = grouped(g_full, groups)  # (N, G, C_out/G, *full)
        dx = dw = db = None
        if self.needs_input_grad[0]:
            dxg = xp.zeros(self.xg.shape, dtype=g.dtype)
            for kk, sl in self.offsets:
                dxg += xp.einsum("ngo...,gco->ngc...", gg[(slice(None),) * 3 + sl],
                                 self.wg[(...,) + kk])
            dx = dxg.reshape(dxg.shape[0], -1, *dxg.shape[3:])
        if self.needs_input_grad[1]:
            dwg = xp.zeros(self.wg.shape, dtype=g.dtype)
            for kk, sl in self.offsets:
                dwg[(...,) + kk] = contract_space(xp, "ngcs,ngos->gco", self.xg,
                                                  gg[(slice(None),) * 3 + sl])
            dw = dwg.reshape(-1, *dwg.shape[2:])
        if len(self.inputs) == 3 and self.needs_input_grad[2]:
            db = g.sum(axis=(0,) + tuple(range(2, g.ndim)))
        return (dx, dw, db) if len(self.inputs) == 3 else (dx, dw)


def conv_transpose_nd(input: Tensor, weight: Tensor, bias=None, stride=1, padding=0,
                      output_padding=0, groups: int = 1, dilation=1,
                      op: str = "conv_transpose") -> Tensor:
    """Transposed convolution over the ``weight.ndim - 2`` trailing axes (module docstring).

    ``input`` (N, C_in, *L), ``weight`` (C_in, C_out/groups, *K), ``bias`` (C_out,).
    """
    k = weight.ndim - 2
    if k < 1 or input.ndim != k + 2:
        raise ValueError(f"{op}: expected a {k + 2}-D input (N, C_in, *spatial) for a weight of "
                         f"shape {weight.shape}, got input of shape {input.shape}")
    stride = ntuple(stride, k, "stride", op)
    padding = ntuple(padding, k, "padding", op)
    output_padding = ntuple(output_padding, k, "output_padding", op)
    dilation = ntuple(dilation, k, "dilation", op)
    if groups < 1 or input.shape[1] % groups:
        raise ValueError(f"{op}: groups={groups} must divide the input channels {input.shape[1]}")
    if input.shape[1] != weight.shape[0]:
        raise ValueError(f"{op}: weight of shape {weight.shape} (C_in, C_out/groups, *K) expects "
                         f"{weight.shape[0]} input channels, got input of shape {input.shape}")
    c_out = weight.shape[1] * groups
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise ValueError(f"{op}: bias must have shape ({c_out},), got {bias.shape}")
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0 or min(output_padding) < 0:
        raise ValueError(f"{op}: stride and dilation must be >= 1, padding and output_padding "
                         f">= 0, got stride={stride}, padding={padding}, "
                         f"output_padding={output_padding}, dilation={dilation}")
    if any(op_ >= max(s, d) for op_, s, d in zip(output_padding, stride, dilation)):
        raise ValueError(f"{op}: output padding {output_padding} must be smaller than either "
                         f"stride {stride} or dilation {dilation}")
    out = tuple((input.shape[2 + a] - 1) * stride[a] - 2 * padding[a]
                + dilation[a] * (weight.shape[2 + a] - 1) + output_padding[a] + 1
                for a in range(k))
    if min(out) < 1:
        raise ValueError(f"{op}: input of shape {input.shape} and weight {weight.shape} give the "
                         f"output size {out} with padding {padding}; it must be positive")
    inputs = (input, weight) if bias is None else (input, weight, bias)
    return ConvTransposeNd.apply(*inputs, stride=stride, padding=padding,
                                 output_padding=output_padding, dilation=dilation, groups=groups)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    r"""1-D transposed convolution, as ``torch.nn.functional.conv_transpose1d``.

    $y^\text{full}_{n,o,\,s i + d k} \mathrel{+}= \sum_c x_{n,c,i}\, w_{c,o',k}$, cropped by ``padding``
    at both ends; $L_\text{out} = (L-1)s - 2p + d(K-1) + \text{output\_padding} + 1$.

    Args:
        input: (N, C_in, L).
        weight: (C_in, C_out/groups, K).
        bias: (C_out,) or None.
        stride: an int (or a 1-tuple).
        padding: an int (or a 1-tuple).
        output_padding: an int (or a 1-tuple).
        dilation: an int (or a 1-tuple).
        groups: independent channel groups.
    """
    if input.ndim != 3 or weight.ndim != 3:
        raise ValueError(f"conv_transpose1d: expected a 3-D input and a 3-D weight, got shapes "
                         f"{input.shape} and {weight.shape}")
    return conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups,
                             dilation, op="conv_transpose1d")


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    r"""2-D transposed convolution, as ``torch.nn.functional.conv_transpose2d``.

    $y^\text{full}_{n,o,\,s_1 i + d_1 p,\, s_2 j + d_2 q} \mathrel{+}= \sum_c x_{n,c,i,j}\, w_{c,o',p,q}$,
    cropped by ``padding``; each side $(S-1)s - 2p + d(K-1) + \text{output\_padding} + 1$.
    It is the gradient of ``conv2d`` with respect to its input (the adjoint map).

    Args:
        input: (N, C_in, H, W).
        weight: (C_in, C_out/groups, KH, KW).
        bias: (C_out,) or None.
        stride: an int or an (h, w) pair.
        padding: an int or an (h, w) pair.
        output_padding: an int or an (h, w) pair.
        dilation: an int or an (h, w) pair.
        groups: independent channel groups.
    """
    if input.ndim != 4 or weight.ndim != 4:
        raise ValueError(f"conv_transpose2d: expected a 4-D input and a 4-D weight, got shapes "
                         f"{input.shape} and {weight.shape}")
    return conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups,
                             dilation, op="conv_transpose2d")


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    r"""Applies a 3D transposed convolution ("deconvolution") over an input of several planes.

    $$y^\text{full}_{n,o,\,\mathbf{s}\odot\mathbf{i} + \mathbf{d}\odot\mathbf{k}} \mathrel{+}=
      \sum_{c} x_{n,c,\mathbf{i}}\, w_{c,o',\mathbf{k}}, \qquad
      \frac{\partial L}{\partial x_{n,c,\mathbf{i}}} = \sum_{o,\mathbf{k}}
      g^\text{full}_{n,o,\,\mathbf{s}\odot\mathbf{i}+\mathbf{d}\odot\mathbf{k}}\, w_{c,o',\mathbf{k}}$$

    over three spatial axes, cropped by ``padding`` ($g^\text{full}$: $g$ zero-padded back);
    $\partial L/\partial w$ sums $x \cdot g^\text{full}$ over $n, \mathbf{i}$ (module docstring).

    Args:
        input: (N, C_in, D, H, W).
        weight: (C_in, C_out/groups, KD, KH, KW).
        bias: (C_out,) or None.
        stride: An int or a (d, h, w) triple; ``padding``, ``output_padding``, ``dilation`` too.
        groups: Independent channel groups.
    """
    if input.ndim != 5 or weight.ndim != 5:
        raise ValueError(f"conv_transpose3d: expected a 5-D input and a 5-D weight, got shapes "
                         f"{input.shape} and {weight.shape}")
    return conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups,
                             dilation, op="conv_transpose3d")
