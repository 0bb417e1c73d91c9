"""Scaled dot-product attention as one fused Function (Vaswani et al., 2017).

    S = Q Kᵀ · scale + M          (..., L, S)   scale = 1/√E by default, M the mask
    P = softmax(S)                 row-wise over the keys
    O = P V                        (..., L, Ev)

Backward, with G = dL/dO (the softmax Jacobian applied row by row, never formed):

    dV = Pᵀ G
    dP = G Vᵀ
    dS = P ⊙ (dP - rowsum(dP ⊙ P))
    dQ = dS K · scale,   dK = dSᵀ Q · scale

One Function keeps P (L×S per head) instead of the four or five intermediate
arrays a composition of matmul/softmax ops would store, and its backward is the
four products above. On the Triton path (a GPU, or ``kernels.use("triton")``)
the flash-attention kernel keeps only O and the row log-sum-exp: O(L·E) memory
instead of O(L·S) (``minigrad/dispatch.py``, ``kernels/attention.py``).

Masks follow ``torch.nn.functional.scaled_dot_product_attention``: a boolean
mask says which keys a query may attend to (True = attend); a float mask is
added to S (use -inf to forbid). ``is_causal`` lets query i see keys j <= i.

**Fully masked rows.** When a query may attend to no key at all (every entry of
its row is forbidden) softmax would divide 0 by 0. Here such a row gets
attention weights 0, so its output is the zero vector and no gradient flows
through it to Q, K or V (PyTorch's math kernel would give NaN).
"""

from __future__ import annotations

import math

import numpy as np

from minigrad import backend, dispatch
from minigrad.backend import get_array_module
from minigrad.ops.stable import stable_softmax
from minigrad.tensor import Function, Tensor

__all__ = ["scaled_dot_product_attention"]


def _masked_softmax(scores, allowed):
    """Row softmax of ``scores`` over the last axis, 0 where not ``allowed``; all-forbidden rows -> 0.

    Works in place on ``scores`` (a fresh array) to save full-size temporaries.
    """
    xp = get_array_module(scores)
    if allowed is not None:
        scores = xp.where(allowed, scores, -xp.inf)
    return stable_softmax(scores, -1, inplace=True, empty_rows_zero=True)


class ScaledDotProductAttention(Function):
    """O = softmax(Q Kᵀ·scale + mask) V with the fused backward of the module docstring."""

    broadcasts = True  # batch/head dims of Q, K, V may broadcast

    def forward(self, q, k, v, allowed, additive, scale, dropout_p, causal):
        self.q, self.k, self.v, self.scale, self.causal = q, k, v, scale, causal
        only_causal = additive is None and (allowed is None or causal)
        flash = dispatch.flash_attention(q, k, v, causal, scale) if only_causal and not dropout_p else None
        if flash is not None:  # the Triton kernel (on a GPU): P is never stored
            self.o, self.lse = flash
            return self.o
        self.o = None
        scores = q @ k.swapaxes(-1, -2)
        scores *= q.dtype.type(scale)
        if additive is not None:
            scores = scores + additive
        self.p = _masked_softmax(scores, allowed)
        self.keep = None
        p_used = self.p
        if dropout_p > 0:
            keep = backend.random_like(q, self.p.shape) >= dropout_p  # drawn on q's device
            self.keep = keep * q.dtype.type(1 / (1 - dropout_p))
            p_used = self.p * self.keep
        self.p_used = p_used
        return p_used @ v

    def backward(self, g):
        if self.o is not None:
            return dispatch.flash_attention_backward(self.q, self.k, self.v, self.o, self.lse, g,
                                                     self.causal, self.scale)
        p = self.p
        dv = self.p_used.swapaxes(-1, -2) @ g
        dp = g @ self.v.swapaxes(-1, -2)
        if self.keep is not None:
            dp *= self.keep
        dp -= (dp * p).sum(axis=-1, keepdims=True)
        ds = dp
        ds *= p
        ds *= ds.dtype.type(self.scale)
        return ds @ self.k, ds.swapaxes(-1, -2) @ self.q, dv


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask=None,
                                 dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float | None = None) -> Tensor:
    """softmax(Q Kᵀ · scale + mask) V, as ``torch.nn.functional.scaled_dot_product_attention``.

    Args:
        query: (..., L, E); key: (..., S, E); value: (..., S, Ev). Leading dims broadcast.
        attn_mask: None, a boolean mask (True = may attend) or a float mask added to
            the scores; it must broadcast to (..., L, S). It receives no gradient.
        dropout_p: probability of dropping an attention weight (the rest are scaled
            by 1/(1 - p)); pass 0 in evaluation.
        is_causal: query i attends only to keys j <= i (cannot be combined with attn_mask).
        scale: defaults to 1/√E.

    Rows in which every key is masked give a zero output and zero gradient (see the
    module docstring). Returns a tensor of shape (..., L, Ev).
    """
    name = "scaled_dot_product_attention"
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise ValueError(f"{name}: query, key and value need at least 2 dims (..., seq, features), "
                         f"got {query.shape}, {key.shape}, {value.shape}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(f"{name}: expected query (..., L, E), key (..., S, E), value (..., S, Ev), "
                         f"got {query.shape}, {key.shape}, {value.shape}")
    if not 0 <= dropout_p < 1:
        raise ValueError(f"{name}: dropout_p must be in [0, 1), got {dropout_p}")
    if is_causal and attn_mask is not None:
        raise ValueError(f"{name}: pass either attn_mask or is_causal=True, not both")
    xp = get_array_module(query._data)
    lq, s = query.shape[-2], key.shape[-2]
    allowed, additive = None, None
    if is_causal:
        allowed = xp.tril(xp.ones((lq, s), dtype=bool))
    elif attn_mask is not None:
        mask = xp.asarray(attn_mask._data if isinstance(attn_mask, Tensor) else attn_mask)
        batch = np.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
        try:
            np.broadcast_shapes(mask.shape, batch + (lq, s))
        except ValueError:
            raise ValueError(f"{name}: attn_mask of shape {mask.shape} does not broadcast to the "
                             f"attention weights' shape {batch + (lq, s)}") from None
        if mask.dtype == bool:
            allowed = mask
        else:
            additive = mask.astype(query.dtype, copy=False)
    scale = 1 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    return ScaledDotProductAttention.apply(query, key, value, allowed=allowed, additive=additive,
                                           scale=scale, dropout_p=float(dropout_p),
                                           causal=is_causal)
