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
mask says which keys a query may attend to (True = attend); a float mask M is
added to S (use -inf to forbid), and gets its gradient, as in PyTorch: since
S = Q Kᵀ · scale + M, dM = dS (summed over the axes along which M was broadcast),
a learned additive bias such as ALiBi or a relative-position table trains through it.
``is_causal`` lets query i see keys j <= i.

**Grouped-query attention** (``enable_gqa=True``; Ainslie et al., 2023): with
Hq query heads and H key/value heads (Hq a multiple of H), each key/value head
serves Hq/H consecutive query heads, as if K and V were repeated along the head
axis (-3) with ``repeat_interleave``. The backward sums the gradients of the
copies back into each key/value head.

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
from minigrad.threads import blockwise

__all__ = ["scaled_dot_product_attention", "AttentionArgumentError"]


class AttentionArgumentError(ValueError, RuntimeError):
    """Attention called with arguments of the wrong shape or value (the message names the op and
    the shapes). PyTorch raises ``RuntimeError``; this is also a ``ValueError``, as minigrad
    raised before."""


def _masked_softmax(scores, allowed):
    """Row softmax of ``scores`` over the last axis, 0 where not ``allowed``; all-forbidden rows -> 0.

    Works in place on ``scores`` (a fresh array, returned) to save full-size temporaries.
    """
    xp = get_array_module(scores)
    if allowed is not None:
        xp.copyto(scores, -xp.inf, where=~allowed)
    return stable_softmax(scores, -1, inplace=True, empty_rows_zero=True)


def _repeat_heads(x, groups):
    """(..., H, S, E) -> (..., H·groups, S, E), each head repeated ``groups`` times in place
    (``repeat_interleave`` along the head axis, -3)."""
    return x if groups == 1 else get_array_module(x).repeat(x, groups, axis=-3)


def _sum_head_groups(dx, groups):
    """The backward of `_repeat_heads`: the gradients of each head's copies summed."""
    if groups == 1:
        return dx
    shape = dx.shape
    return dx.reshape(shape[:-3] + (shape[-3] // groups, groups) + shape[-2:]).sum(axis=-3)


class ScaledDotProductAttention(Function):
    r"""$O = \mathrm{softmax}(Q K^\top s + M) V$ with the fused backward of the module docstring.

    Inputs are Q, K, V and, when the mask is a float tensor, $M$ (whose gradient is
    $dM = dS$, the gradient of the scores). ``groups`` > 1 is grouped-query attention:
    K and V are repeated along the head axis before, and their gradients summed back after.
    """

    broadcasts = True  # batch/head dims of Q, K, V (and the float mask) may broadcast

    def forward(self, q, k, v, *mask, allowed, scale, dropout_p, causal, groups=1):
        additive = mask[0] if mask else None
        self.groups, self.has_mask = groups, bool(mask)
        k, v = _repeat_heads(k, groups), _repeat_heads(v, groups)
        self.q, self.k, self.v, self.scale, self.causal = q, k, v, scale, causal
        only_causal = additive is None and (allowed is None or causal)
        flash = dispatch.flash_attention(q, k, v, causal, scale) if only_causal and not dropout_p else None
        if flash is not None:  # the Triton kernel (on a GPU): P is never stored
            self.o, self.lse = flash
            return self.o
        self.o = None
        # every array broadcast to the full batch shape (views), so that blocks of the batch
        # (axis 0) can run on several threads (minigrad.threads.blockwise)
        xp, lq, s = get_array_module(q), q.shape[-2], k.shape[-2]
        batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
        self.out_shape = batch + (lq, v.shape[-1])
        batch = batch or (1,)  # unbatched (L, E): one block
        self.q, self.k, self.v = (xp.broadcast_to(t, batch + t.shape[-2:]) for t in (q, k, v))
        weights = batch + (lq, s)
        self.keep = None
        if dropout_p > 0:
            keep = backend.random_like(q, weights) >= dropout_p  # drawn on q's device
            self.keep = keep * q.dtype.type(1 / (1 - dropout_p))
        self.p = xp.empty(weights, q.dtype)
        out = xp.empty(batch + (lq, v.shape[-1]), q.dtype)
        blockwise(_attend, self.q, self.k, self.v, self.p, out,
                  *(None if a is None else xp.broadcast_to(a, weights) for a in (additive, allowed)),
                  self.keep, shared=(scale,))
        return out.reshape(self.out_shape)

    def backward(self, g):
        if self.o is not None:
            dq, dk, dv = dispatch.flash_attention_backward(self.q, self.k, self.v, self.o, self.lse,
                                                           g, self.causal, self.scale)
            return dq, _sum_head_groups(dk, self.groups), _sum_head_groups(dv, self.groups)
        xp = get_array_module(g)
        q, k, v, p = self.q, self.k, self.v, self.p
        g = g.reshape(p.shape[:-1] + (v.shape[-1],))
        dq, dk, dv = xp.empty(q.shape, q.dtype), xp.empty(k.shape, k.dtype), xp.empty(v.shape, v.dtype)
        ds = xp.empty(p.shape, p.dtype) if self.has_mask and self.needs_input_grad[3] else None
        blockwise(_attend_backward, p, g, q, k, v, self.keep, dq, dk, dv, ds, shared=(self.scale,))
        grads = (dq, _sum_head_groups(dk, self.groups), _sum_head_groups(dv, self.groups))
        if self.has_mask:
            grads += (ds,)
        return grads


def _attend(q, k, v, p, out, additive, allowed, keep, scale):
    """The forward on a block of the batch, into ``p`` (the weights) and ``out``:
    P = softmax(s Q Kᵀ + M), 0 where not allowed; O = (P ⊙ keep) V (keep: the dropout mask)."""
    xp = get_array_module(q)
    xp.matmul(q, k.swapaxes(-1, -2), out=p)
    p *= p.dtype.type(scale)
    if additive is not None:
        p += additive
    _masked_softmax(p, allowed)
    xp.matmul(p if keep is None else p * keep, v, out=out)


def _attend_backward(p, g, q, k, v, keep, dq, dk, dv, ds_out, scale):
    """The backward on a block of the batch (the module docstring's four products), into
    dq, dk, dv and, for a float mask that needs it, ``ds_out`` = dS."""
    xp = get_array_module(p)
    xp.matmul((p if keep is None else p * keep).swapaxes(-1, -2), g, out=dv)  # dV = Pᵀ G
    dp = g @ v.swapaxes(-1, -2)  # dP = G Vᵀ
    if keep is not None:
        dp *= keep
    dp -= (dp * p).sum(axis=-1, keepdims=True)
    ds = dp
    ds *= p  # dS = P ⊙ (dP - rowsum(dP ⊙ P)), also the float mask's gradient dM
    if ds_out is not None:
        ds_out[...] = ds
    scale = ds.dtype.type(scale)
    xp.matmul(ds, k, out=dq)
    dq *= scale
    xp.matmul(ds.swapaxes(-1, -2), q, out=dk)
    dk *= scale


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask=None,
                                 dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float | None = None, enable_gqa: bool = False) -> Tensor:
    r"""Computes scaled dot product attention on query, key and value tensors.

    $$O = P V, \quad P = \operatorname{softmax}(s\, Q K^\top + M), \qquad
      dS = P \odot \big(dP - \operatorname{rowsum}(dP \odot P)\big)$$

    with $dP = G V^\top$: $dV = P^\top G$, $dQ = s\, dS\, K$, $dK = s\, dS^\top Q$ (and $dM = dS$).

    Args:
        query: (..., Hq, L, E) (or (..., L, E)); leading dims broadcast.
        key: (..., H, S, E).
        value: (..., H, S, Ev).
        attn_mask: None, a boolean mask (True = may attend) or a float mask added to
            the scores; it must broadcast to (..., L, S). A float mask that requires
            grad receives its gradient (the gradient of the scores).
        dropout_p: probability of dropping an attention weight (the rest are scaled
            by 1/(1 - p)); pass 0 in evaluation.
        is_causal: query i attends only to keys j <= i (cannot be combined with attn_mask).
        scale: defaults to 1/√E.
        enable_gqa: grouped-query attention: Hq may be a multiple of H, each key/value
            head then serving Hq/H consecutive query heads.

    Returns:
        A tensor (..., Hq, L, Ev); a row whose keys are all masked is 0, with gradient 0.

    Raises:
        AttentionArgumentError: (a ``RuntimeError`` and ``ValueError``) for shapes that do
            not fit, naming them.
    """
    name = "scaled_dot_product_attention"
    shapes = f"query {tuple(query.shape)}, key {tuple(key.shape)}, value {tuple(value.shape)}"
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise AttentionArgumentError(
            f"{name}: query, key and value need at least 2 dims (..., seq, features), got {shapes}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise AttentionArgumentError(
            f"{name}: expected query (..., L, E), key (..., S, E), value (..., S, Ev), got {shapes}")
    if not 0 <= dropout_p < 1:
        raise AttentionArgumentError(f"{name}: dropout_p must be in [0, 1), got {dropout_p}")
    if is_causal and attn_mask is not None:
        raise AttentionArgumentError(f"{name}: pass either attn_mask or is_causal=True, not both")
    groups = 1
    if enable_gqa and min(query.ndim, key.ndim, value.ndim) >= 3 and query.shape[-3] != key.shape[-3]:
        hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
        if hk != hv or hk == 0 or hq % hk:
            raise AttentionArgumentError(
                f"{name}: with enable_gqa=True the number of query heads ({hq}) must be a multiple "
                f"of the key/value heads (key {hk}, value {hv}); got {shapes}")
        groups = hq // hk
    def batch_dims(t):  # (..., H, S, E) -> (..., H·groups): K and V as seen by the queries
        return t.shape[:-3] + (t.shape[-3] * groups,) if t.ndim >= 3 else t.shape[:-2]

    try:
        batch = np.broadcast_shapes(query.shape[:-2], batch_dims(key), batch_dims(value))
    except ValueError:
        raise AttentionArgumentError(
            f"{name}: the batch and head dims of {shapes} do not broadcast"
            + ("" if enable_gqa else " (for grouped-query attention pass enable_gqa=True)")) from None
    xp = get_array_module(query._data)
    lq, s = query.shape[-2], key.shape[-2]
    allowed, mask = None, ()
    if is_causal:
        allowed = xp.tril(xp.ones((lq, s), dtype=bool))
    elif attn_mask is not None:
        m = attn_mask if isinstance(attn_mask, Tensor) else Tensor._wrap(xp.asarray(attn_mask))
        try:
            np.broadcast_shapes(m.shape, batch + (lq, s))
        except ValueError:
            raise AttentionArgumentError(
                f"{name}: attn_mask of shape {tuple(m.shape)} does not broadcast to the attention "
                f"weights' shape {batch + (lq, s)}") from None
        if m.dtype == bool:
            allowed = m._data
        else:
            mask = (m.to(query.dtype),)  # a differentiable cast: the mask gets its gradient
    scale = 1 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    return ScaledDotProductAttention.apply(query, key, value, *mask, allowed=allowed, scale=scale,
                                           dropout_p=float(dropout_p), causal=is_causal,
                                           groups=groups)
