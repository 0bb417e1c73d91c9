"""Attention layers: ``MultiheadAttention`` and positional encodings.

The attention itself, softmax(Q Kᵀ/√d + mask) V, is the fused Function
`minigrad.ops.attention.scaled_dot_product_attention`.
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
    r"""Multi-head attention (Vaswani et al., 2017), PyTorch's ``nn.MultiheadAttention``.

    $$\mathrm{head}_h = \mathrm{softmax}\Big(\frac{Q_h K_h^\top}{\sqrt{d}} + M\Big) V_h,
    \quad Q_h = \text{query}\, W_{q,h}^\top + b_{q,h} \text{ (same for } K, V)$$

    $$\text{output} = [\mathrm{head}_1, \dots, \mathrm{head}_H]\, W_o^\top + b_o,
    \qquad d = \text{embed\_dim} / \text{num\_heads}$$

    Args:
        embed_dim: E, the feature size of the query and of the output.
        num_heads: H; E must be divisible by H.
        dropout: dropout probability on the attention weights (training only).
        bias: learn ``in_proj_bias`` and ``out_proj.bias``.
        add_bias_kv: not implemented (``NotImplementedError`` if True).
        add_zero_attn: not implemented (``NotImplementedError`` if True).
        kdim: feature size of the key (default E). When ``kdim`` or ``vdim`` differs
            from E the projections are ``q_proj_weight`` (E, E), ``k_proj_weight``
            (E, kdim), ``v_proj_weight`` (E, vdim) instead of ``in_proj_weight``.
        vdim: feature size of the value (default E).
        batch_first: inputs and output are (N, L, E) if True; the default, as in
            PyTorch, is **False**: (L, N, E), sequence first.

    Parameters (PyTorch's names, shapes and inits): ``in_proj_weight`` (3E, E) =
    $[W_q; W_k; W_v]$ (Xavier-uniform), ``in_proj_bias`` (3E) (zeros),
    ``out_proj.weight`` (E, E) (Linear's default) and ``out_proj.bias`` (zeros).

    ``forward(query, key, value, key_padding_mask=None, need_weights=True,
    attn_mask=None, average_attn_weights=True, is_causal=False)`` returns
    ``(output, weights)``. Inputs are (L, N, E) (or (N, L, E) with ``batch_first``)
    or unbatched (L, E). Masks use PyTorch's ``nn.MultiheadAttention`` convention,
    the *opposite* of ``scaled_dot_product_attention``'s: a boolean ``True`` means
    "may NOT attend"; a float mask is added to the scores.

    - ``key_padding_mask`` (N, S) (or (S,) unbatched): True marks padding keys.
    - ``attn_mask`` (L, S) or (N·num_heads, L, S).
    - ``is_causal=True``: query i sees keys j <= i. PyTorch treats it as a hint
      that ``attn_mask`` *is* the causal mask and requires the mask; here it also
      works without one (the causal mask is then built).

    ``weights`` is None unless ``need_weights`` (the default, as PyTorch): the
    attention weights (N, L, S) averaged over heads, or (N, H, L, S) with
    ``average_attn_weights=False``. **Unlike PyTorch** they are a detached copy
    (no gradient flows through them) taken before dropout, and a query with every
    key masked gets weights 0 and output 0 (PyTorch: NaN). Pass
    ``need_weights=False`` when you do not use them: it saves their computation.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device=None, dtype=None):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim {embed_dim} must be divisible by "
                             f"num_heads {num_heads}")
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError("MultiheadAttention: add_bias_kv and add_zero_attn are not "
                                      "implemented in minigrad")
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.head_dim, self.batch_first = embed_dim // num_heads, batch_first
        factory = {"dtype": dtype, "device": device}
        if self._qkv_same_embed_dim:
            self.in_proj_weight = init.xavier_uniform_(
                empty_parameter(3 * embed_dim, embed_dim, **factory))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = init.xavier_uniform_(empty_parameter(embed_dim, embed_dim, **factory))
            self.k_proj_weight = init.xavier_uniform_(empty_parameter(embed_dim, self.kdim, **factory))
            self.v_proj_weight = init.xavier_uniform_(empty_parameter(embed_dim, self.vdim, **factory))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = init.zeros_(empty_parameter(3 * embed_dim, **factory))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, **factory)
        if bias:
            init.zeros_(self.out_proj.bias)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask=None,
                need_weights: bool = True, attn_mask=None, average_attn_weights: bool = True,
                is_causal: bool = False):
        self._check_inputs(query, key, value)
        unbatched = query.ndim == 2
        if unbatched:  # (L, E) -> (1, L, E)
            query, key, value = (t.reshape(1, *t.shape) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = _as_array(key_padding_mask, query._data)
                key_padding_mask = key_padding_mask.reshape(1, *key_padding_mask.shape)
        elif not self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        n, lq, s = query.shape[0], query.shape[1], key.shape[1]
        q, k, v = (self._heads(self._project(t, i)) for i, t in enumerate((query, key, value)))
        p = self.dropout if self.training else 0.0
        if is_causal and attn_mask is None and key_padding_mask is None:
            mask = None  # the causal mask alone: let scaled_dot_product_attention build it
            heads = scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        else:
            mask = self._merge_masks(key_padding_mask, attn_mask, is_causal, n, lq, s, q._data)
            heads = scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        out = self.out_proj(heads.transpose(1, 2).reshape(n, lq, self.embed_dim))
        weights = None
        if need_weights:
            if mask is None and is_causal:
                mask = self._merge_masks(None, None, True, n, lq, s, q._data)
            weights = self._weights(q, k, mask, average_attn_weights)
        if unbatched:
            out = out.reshape(lq, self.embed_dim)
            weights = None if weights is None else Tensor._wrap(weights._data[0])
        elif not self.batch_first:
            out = out.transpose(0, 1)
        return out, weights

    def _check_inputs(self, query, key, value):
        if not (query.ndim == key.ndim == value.ndim) or query.ndim not in (2, 3):
            raise ValueError(f"MultiheadAttention: expected query, key and value all 3-D "
                             f"(batched) or all 2-D (unbatched), got shapes {query.shape}, "
                             f"{key.shape}, {value.shape}")
        for name, t, size in (("query", query, self.embed_dim), ("key", key, self.kdim),
                              ("value", value, self.vdim)):
            if t.shape[-1] != size:
                what = "embed_dim" if name == "query" else ("kdim" if name == "key" else "vdim")
                raise ValueError(f"MultiheadAttention: expected {name} with {what} {size} in "
                                 f"the last dim, got shape {t.shape}")
        batch_axis = 0 if self.batch_first or query.ndim == 2 else 1
        if key.shape[:-1] != value.shape[:-1] or (
                query.ndim == 3 and query.shape[batch_axis] != key.shape[batch_axis]):
            raise ValueError(f"MultiheadAttention: key and value must have the same sequence "
                             f"length and batch size, and the batch size of query, got "
                             f"{query.shape}, {key.shape}, {value.shape} "
                             f"(batch_first={self.batch_first})")

    def _project(self, x: Tensor, which: int) -> Tensor:
        """x W_whichᵀ + b_which for q (0), k (1) or v (2)."""
        rows = slice(which * self.embed_dim, (which + 1) * self.embed_dim)
        bias = None if self.in_proj_bias is None else self.in_proj_bias[rows]
        if self._qkv_same_embed_dim:
            weight = self.in_proj_weight[rows]
        else:
            weight = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)[which]
        return F.linear(x, weight, bias)

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
            m = _as_array(attn_mask, like)
            if m.shape == (lq, s):
                m = m[None, None]
            elif m.shape == (n * self.num_heads, lq, s):
                m = m.reshape(n, self.num_heads, lq, s)
            else:
                raise ValueError(f"MultiheadAttention: attn_mask must have shape {(lq, s)} or "
                                 f"{(n * self.num_heads, lq, s)}, got {m.shape}")
            parts.append(m)
        if key_padding_mask is not None:
            m = _as_array(key_padding_mask, like)
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

    def _weights(self, q: Tensor, k: Tensor, mask, average: bool) -> Tensor:
        """Attention weights (N, L, S) averaged over heads, or (N, H, L, S); detached."""
        xp = get_array_module(q._data)
        scores = (q._data @ k._data.swapaxes(-1, -2)) / math.sqrt(self.head_dim)
        allowed = None
        if mask is not None and mask.dtype == bool:
            allowed = mask
        elif mask is not None:
            scores = scores + mask
        weights = _masked_softmax(scores, allowed)
        return Tensor._wrap(xp.ascontiguousarray(weights.mean(axis=1) if average else weights))

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"dropout={self.dropout}, batch_first={self.batch_first}")


def _as_array(mask, like):
    """A mask (Tensor, array or nested list) as an array on ``like``'s device."""
    xp = get_array_module(like)
    return xp.asarray(mask._data if isinstance(mask, Tensor) else mask)


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
        pe = self.pe._data[: x.shape[1]].astype(x.dtype, copy=False)
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
