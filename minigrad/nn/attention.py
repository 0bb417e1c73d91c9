"""Attention layers: ``MultiheadAttention`` and positional encodings.

The attention itself, softmax(Q Kᵀ/√d + mask) V, is the fused Function
:func:`minigrad.ops.attention.scaled_dot_product_attention`.
"""

from __future__ import annotations

import math

import numpy as np

from minigrad.backend import get_array_module
from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.layers import Linear, empty_parameter
from minigrad.nn.module import Module
from minigrad.ops.attention import _masked_softmax, scaled_dot_product_attention
from minigrad.tensor import Tensor, get_default_dtype

__all__ = ["MultiheadAttention", "PositionalEncoding", "LearnedPositionalEmbedding"]


class MultiheadAttention(Module):
    """Multi-head attention (Vaswani et al., 2017) with PyTorch's ``nn.MultiheadAttention`` parameters.

        head_h = softmax(Q_h K_hᵀ / √d + mask) V_h,   Q_h = query W_q,hᵀ + b_q,h  (same for K, V)
        output = concat(head_1, ..., head_H) W_oᵀ + b_o,   d = embed_dim / num_heads

    Parameters: ``in_proj_weight`` (3E, E) = [W_q; W_k; W_v] (Xavier-uniform),
    ``in_proj_bias`` (3E) (zeros), ``out_proj.weight`` (E, E) (Linear's default) and
    ``out_proj.bias`` (zeros) — PyTorch's names, shapes and inits.

    **Unlike PyTorch, ``batch_first=True`` is the default**: inputs are (N, L, E).

    ``forward(query, key, value, key_padding_mask=None, need_weights=False,
    attn_mask=None, is_causal=False)`` returns ``(output, weights)``. Masks use
    PyTorch's ``nn.MultiheadAttention`` convention, the *opposite* of
    ``scaled_dot_product_attention``'s: a boolean ``True`` means "may NOT attend".

    - ``key_padding_mask`` (N, S): True marks padding keys; or a float mask added to the scores.
    - ``attn_mask`` (L, S) or (N·num_heads, L, S): True forbids; or a float mask added.
    - ``is_causal=True`` (without ``attn_mask``): query i sees keys j <= i.

    A query whose keys are all masked gets a zero output (see
    :mod:`minigrad.ops.attention`). With ``need_weights=True`` the returned
    weights (N, L, S), averaged over heads, are a detached copy (no gradient).
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 batch_first: bool = True):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim {embed_dim} must be divisible by "
                             f"num_heads {num_heads}")
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.head_dim, self.batch_first = embed_dim // num_heads, batch_first
        self.in_proj_weight = init.xavier_uniform_(empty_parameter(3 * embed_dim, embed_dim))
        if bias:
            self.in_proj_bias = init.zeros_(empty_parameter(3 * embed_dim))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias)
        if bias:
            init.zeros_(self.out_proj.bias)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask=None,
                need_weights: bool = False, attn_mask=None, is_causal: bool = False):
        self._check_inputs(query, key, value)
        if not self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        n, lq, s = query.shape[0], query.shape[1], key.shape[1]
        q, k, v = (self._heads(self._project(t, i)) for i, t in enumerate((query, key, value)))
        mask = self._merge_masks(key_padding_mask, attn_mask, is_causal, n, lq, s, q.data)
        p = self.dropout if self.training else 0.0
        heads = scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        out = self.out_proj(heads.transpose(1, 2).reshape(n, lq, self.embed_dim))
        if not self.batch_first:
            out = out.transpose(0, 1)
        weights = self._weights(q, k, mask) if need_weights else None
        return out, weights

    def _check_inputs(self, query, key, value):
        e = self.embed_dim
        if query.ndim != 3 or key.ndim != 3 or value.ndim != 3:
            raise ValueError(f"MultiheadAttention: expected 3-D query, key and value, got shapes "
                             f"{query.shape}, {key.shape}, {value.shape}")
        for name, t in (("query", query), ("key", key), ("value", value)):
            if t.shape[-1] != e:
                raise ValueError(f"MultiheadAttention: expected {name} with embed_dim {e} in "
                                 f"the last dim, got shape {t.shape}")
        batch_axis = 0 if self.batch_first else 1
        if key.shape != value.shape or query.shape[batch_axis] != key.shape[batch_axis]:
            raise ValueError(f"MultiheadAttention: key and value must have the same shape and "
                             f"batch size as query, got {query.shape}, {key.shape}, "
                             f"{value.shape}")

    def _project(self, x: Tensor, which: int) -> Tensor:
        """x W_whichᵀ + b_which with the rows of in_proj for q (0), k (1) or v (2)."""
        rows = slice(which * self.embed_dim, (which + 1) * self.embed_dim)
        bias = None if self.in_proj_bias is None else self.in_proj_bias[rows]
        return F.linear(x, self.in_proj_weight[rows], bias)

    def _heads(self, x: Tensor) -> Tensor:
        """(N, L, E) -> (N, heads, L, head_dim)."""
        n, length = x.shape[:2]
        return x.reshape(n, length, self.num_heads, self.head_dim).transpose(1, 2)

    def _merge_masks(self, key_padding_mask, attn_mask, is_causal, n, lq, s, like):
        """One mask for scaled_dot_product_attention (True = attend, or additive floats)."""
        xp = get_array_module(like)
        parts = []  # each (N or 1, heads or 1, L or 1, S), either bool "forbidden" or float
        if is_causal and attn_mask is None:
            parts.append(~xp.tril(xp.ones((lq, s), dtype=bool))[None, None])
        if attn_mask is not None:
            m = xp.asarray(attn_mask.data if isinstance(attn_mask, Tensor) else attn_mask)
            if m.shape == (lq, s):
                m = m[None, None]
            elif m.shape == (n * self.num_heads, lq, s):
                m = m.reshape(n, self.num_heads, lq, s)
            else:
                raise ValueError(f"MultiheadAttention: attn_mask must have shape {(lq, s)} or "
                                 f"{(n * self.num_heads, lq, s)}, got {m.shape}")
            parts.append(m)
        if key_padding_mask is not None:
            m = xp.asarray(key_padding_mask.data if isinstance(key_padding_mask, Tensor)
                           else key_padding_mask)
            if m.shape != (n, s):
                raise ValueError(f"MultiheadAttention: key_padding_mask must have shape "
                                 f"{(n, s)} (batch, key length), got {m.shape}")
            parts.append(m[:, None, None, :])
        if not parts:
            return None
        if all(m.dtype == bool for m in parts):
            forbidden = parts[0]
            for m in parts[1:]:
                forbidden = forbidden | m
            return ~forbidden
        additive = xp.zeros((1, 1, 1, 1), dtype=like.dtype)
        for m in parts:
            additive = additive + (xp.where(m, -xp.inf, 0) if m.dtype == bool else m)
        return additive.astype(like.dtype, copy=False)

    def _weights(self, q: Tensor, k: Tensor, mask) -> Tensor:
        """Attention weights averaged over heads (N, L, S), detached."""
        xp = get_array_module(q.data)
        scores = (q.data @ k.data.swapaxes(-1, -2)) / math.sqrt(self.head_dim)
        allowed = None
        if mask is not None and mask.dtype == bool:
            allowed = mask
        elif mask is not None:
            scores = scores + mask
        return Tensor._wrap(xp.ascontiguousarray(_masked_softmax(scores, allowed).mean(axis=1)))

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"dropout={self.dropout}, batch_first={self.batch_first}")


def sinusoidal_table(max_len: int, d_model: int) -> np.ndarray:
    """PE[pos, 2i] = sin(pos / 10000^(2i/d)),  PE[pos, 2i+1] = cos(pos / 10000^(2i/d))."""
    pos = np.arange(max_len)[:, None]
    inv_freq = np.exp(-math.log(10000.0) * np.arange(0, d_model, 2) / d_model)
    table = np.zeros((max_len, d_model))
    table[:, 0::2] = np.sin(pos * inv_freq)
    table[:, 1::2] = np.cos(pos * inv_freq[: d_model // 2])
    return table


class PositionalEncoding(Module):
    """Adds the fixed sinusoidal position code of Vaswani et al. (2017): y = dropout(x + PE[:L]).

    PE(pos, 2i) = sin(pos / 10000^(2i/d_model)),  PE(pos, 2i+1) = cos(pos / 10000^(2i/d_model)).
    Input (N, L, d_model), batch first. ``pe`` is a non-persistent buffer (it is a
    formula, so it is not saved in ``state_dict``).
    """

    def __init__(self, d_model: int, max_len: int = 5000, dropout: float = 0.0):
        super().__init__()
        self.d_model, self.max_len, self.dropout = d_model, max_len, dropout
        table = sinusoidal_table(max_len, d_model).astype(get_default_dtype())
        self.register_buffer("pe", Tensor(table), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        _check_positions("PositionalEncoding", x, self.d_model, self.max_len)
        pe = self.pe.data[: x.shape[1]].astype(x.dtype, copy=False)
        return F.dropout(x + Tensor._wrap(pe), self.dropout, self.training)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, max_len={self.max_len}, dropout={self.dropout}"


class LearnedPositionalEmbedding(Module):
    """Adds a learned vector per position (GPT's position embedding): y = x + weight[:L].

    Input (N, L, d_model), batch first; ``weight`` (max_len, d_model) is initialised
    N(0, 1) like ``nn.Embedding``.
    """

    def __init__(self, max_len: int, d_model: int):
        super().__init__()
        self.max_len, self.d_model = max_len, d_model
        self.weight = init.normal_(empty_parameter(max_len, d_model))

    def forward(self, x: Tensor) -> Tensor:
        _check_positions("LearnedPositionalEmbedding", x, self.d_model, self.max_len)
        return x + self.weight[: x.shape[1]]

    def extra_repr(self) -> str:
        return f"max_len={self.max_len}, d_model={self.d_model}"


def _check_positions(layer: str, x: Tensor, d_model: int, max_len: int) -> None:
    if x.ndim != 3 or x.shape[2] != d_model:
        raise ValueError(f"{layer}: expected input (N, L, {d_model}), got shape {x.shape}")
    if x.shape[1] > max_len:
        raise ValueError(f"{layer}: sequence length {x.shape[1]} exceeds max_len {max_len} "
                         f"(input shape {x.shape})")
