"""Transformers: PyTorch's ``nn.Transformer`` family, and a tiny GPT-style language model.

PyTorch's layers, with their arguments, parameter names and masks (a PyTorch
``state_dict`` loads into them key for key):

- `TransformerEncoderLayer`: self-attention, then a feed-forward network.
- `TransformerDecoderLayer`: masked self-attention, attention over the
  encoder's output (the *memory*), then a feed-forward network.
- `TransformerEncoder` / `TransformerDecoder`: N copies of a layer
  and an optional final LayerNorm.
- `Transformer`: the encoder-decoder model of Vaswani et al. (2017).

Masks follow `MultiheadAttention` (a boolean ``True`` = may
NOT attend; a float mask is added to the scores). Inputs are (S, N, E) by
default, (N, S, E) with ``batch_first=True``, or unbatched (S, E).

minigrad's own `TransformerBlock` (pre-LayerNorm, GELU, GPT-2 style) and
`TransformerLM` stay as the readable model of chapter 8.
"""

from __future__ import annotations

import copy

import numpy as np

from minigrad import backend
from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.attention import LearnedPositionalEmbedding, MultiheadAttention
from minigrad.nn.embedding import Embedding
from minigrad.nn.layers import Dropout, Linear
from minigrad.nn.module import Module, ModuleList
from minigrad.nn.normalization import LayerNorm
from minigrad.random import get_rng
from minigrad.tensor import Tensor, get_default_dtype, no_grad

__all__ = [
    "Transformer", "TransformerEncoder", "TransformerDecoder", "TransformerEncoderLayer",
    "TransformerDecoderLayer", "TransformerBlock", "TransformerLM",
]


# ============================================================================ PyTorch's layers


def _activation(activation):
    """``"relu"``, ``"gelu"`` or a callable (a function or a Module), as PyTorch accepts."""
    if isinstance(activation, str):
        if activation == "relu":
            return F.relu
        if activation == "gelu":
            return F.gelu
        raise RuntimeError(f"activation should be relu/gelu, not {activation}")
    if not callable(activation):
        raise TypeError(f"activation should be 'relu', 'gelu' or a callable, "
                        f"got {type(activation).__name__}")
    return activation


def _layer_norm(d_model: int, eps: float, bias: bool) -> LayerNorm:
    return LayerNorm(d_model, eps=eps, bias=bias)


def _to(module: Module, device, dtype) -> Module:
    """Apply PyTorch's ``device=`` / ``dtype=`` factory arguments after construction."""
    if dtype is not None:
        module.to(dtype)
    if device is not None:
        module.to(device)
    return module


class TransformerEncoderLayer(Module):
    r"""One encoder layer of Vaswani et al. (2017), PyTorch's ``nn.TransformerEncoderLayer``.

    With $\mathrm{SA}(x) = \mathrm{dropout_1}(\mathrm{MHA}(x, x, x))$ and
    $\mathrm{FF}(x) = \mathrm{dropout_2}(W_2\, \mathrm{dropout}(\mathrm{act}(W_1 x + b_1)) + b_2)$:

    - post-norm (``norm_first=False``, the paper and the default):
      $x \leftarrow \mathrm{LN_1}(x + \mathrm{SA}(x))$, then $x \leftarrow \mathrm{LN_2}(x + \mathrm{FF}(x))$;
    - pre-norm (``norm_first=True``, Xiong et al., 2020):
      $x \leftarrow x + \mathrm{SA}(\mathrm{LN_1}(x))$, then $x \leftarrow x + \mathrm{FF}(\mathrm{LN_2}(x))$.

    Args:
        d_model: E, the feature size.
        nhead: number of attention heads.
        dim_feedforward: hidden size of the feed-forward network (2048).
        dropout: dropout probability, everywhere (0.1).
        activation: ``"relu"`` (default), ``"gelu"`` (exact), or any callable,
            e.g. ``nn.GELU(approximate="tanh")``.
        layer_norm_eps: ε of both LayerNorms (1e-5).
        batch_first: (N, S, E) inputs if True; (S, N, E) by default, as PyTorch.
        norm_first: pre-norm if True.
        bias: biases in the Linear layers, the attention and the LayerNorms.

    Sub-modules, PyTorch's names: ``self_attn``, ``linear1``, ``dropout``,
    ``linear2``, ``norm1``, ``norm2``, ``dropout1``, ``dropout2``.

    ``forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False)``:
    ``src_mask`` (S, S) or (N·nhead, S, S), ``src_key_padding_mask`` (N, S), both
    boolean (True = may not attend) or float (added); ``is_causal=True`` is
    PyTorch's hint that ``src_mask`` is the causal mask (here it also builds the
    causal mask when ``src_mask`` is None).
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation="relu", layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 device=None, dtype=None):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias)
        self.norm_first = norm_first
        self.norm1 = _layer_norm(d_model, layer_norm_eps, bias)
        self.norm2 = _layer_norm(d_model, layer_norm_eps, bias)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _activation(activation)
        _to(self, device, dtype)

    def forward(self, src: Tensor, src_mask=None, src_key_padding_mask=None,
                is_causal: bool = False) -> Tensor:
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=bool(is_causal))[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout2(x)

    def extra_repr(self) -> str:
        return f"norm_first={self.norm_first}"


class TransformerDecoderLayer(Module):
    r"""One decoder layer of Vaswani et al. (2017), PyTorch's ``nn.TransformerDecoderLayer``.

    Three blocks, each with a residual connection and a LayerNorm (after it, or
    before it with ``norm_first=True``, as `TransformerEncoderLayer`):

    1. self-attention over the target, $\mathrm{dropout_1}(\mathrm{MHA_{self}}(x, x, x))$;
    2. attention over the encoder's output $m$,
       $\mathrm{dropout_2}(\mathrm{MHA_{cross}}(x, m, m))$;
    3. the feed-forward network,
       $\mathrm{dropout_3}(W_2\, \mathrm{dropout}(\mathrm{act}(W_1 x + b_1)) + b_2)$.

    Arguments as `TransformerEncoderLayer`. Sub-modules, PyTorch's names:
    ``self_attn``, ``multihead_attn``, ``linear1``, ``dropout``, ``linear2``,
    ``norm1``, ``norm2``, ``norm3``, ``dropout1``, ``dropout2``, ``dropout3``.

    ``forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False)``:
    ``tgt_mask`` (T, T), ``memory_mask`` (T, S), ``tgt_key_padding_mask`` (N, T),
    ``memory_key_padding_mask`` (N, S).
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation="relu", layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 device=None, dtype=None):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                 batch_first=batch_first)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias)
        self.norm_first = norm_first
        self.norm1 = _layer_norm(d_model, layer_norm_eps, bias)
        self.norm2 = _layer_norm(d_model, layer_norm_eps, bias)
        self.norm3 = _layer_norm(d_model, layer_norm_eps, bias)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _activation(activation)
        _to(self, device, dtype)

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask=None, memory_mask=None,
                tgt_key_padding_mask=None, memory_key_padding_mask=None,
                tgt_is_causal: bool = False, memory_is_causal: bool = False) -> Tensor:
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask,
                                    memory_key_padding_mask, memory_is_causal)
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask,
                                               memory_is_causal))
            x = self.norm3(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=bool(is_causal))[0]
        return self.dropout1(x)

    def _mha_block(self, x, memory, attn_mask, key_padding_mask, is_causal):
        x = self.multihead_attn(x, memory, memory, attn_mask=attn_mask,
                                key_padding_mask=key_padding_mask, need_weights=False,
                                is_causal=bool(is_causal))[0]
        return self.dropout2(x)

    def _ff_block(self, x):
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout3(x)

    def extra_repr(self) -> str:
        return f"norm_first={self.norm_first}"


def _clones(layer: Module, num_layers: int) -> ModuleList:
    """``num_layers`` independent deep copies of ``layer`` (same initial weights), as PyTorch."""
    return ModuleList(copy.deepcopy(layer) for _ in range(num_layers))


class TransformerEncoder(Module):
    """A stack of ``num_layers`` encoder layers, PyTorch's ``nn.TransformerEncoder``.

    ``layers`` holds deep copies of ``encoder_layer`` (so every layer starts from
    the same weights, as in PyTorch; ``nn.Transformer`` re-initialises them).
    ``norm`` (optional, e.g. a ``LayerNorm``) is applied to the last layer's output.
    ``enable_nested_tensor`` and ``mask_check`` are accepted and ignored (PyTorch's
    nested-tensor fast path, which outputs 0 at padded positions in inference, is
    not reproduced: here padded positions hold the computed values).

    ``forward(src, mask=None, src_key_padding_mask=None, is_causal=None)``: the
    masks as `TransformerEncoderLayer`'s, passed to every layer.
    """

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int, norm=None,
                 enable_nested_tensor: bool = True, mask_check: bool = True):
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src: Tensor, mask=None, src_key_padding_mask=None,
                is_causal: bool | None = None) -> Tensor:
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                           is_causal=bool(is_causal))
        if self.norm is not None:
            output = self.norm(output)
        return output


class TransformerDecoder(Module):
    """A stack of ``num_layers`` decoder layers, PyTorch's ``nn.TransformerDecoder``.

    ``layers`` holds deep copies of ``decoder_layer``; ``norm`` (optional) is
    applied to the last layer's output. ``forward(tgt, memory, tgt_mask=None,
    memory_mask=None, tgt_key_padding_mask=None, memory_key_padding_mask=None,
    tgt_is_causal=None, memory_is_causal=False)`` passes the masks to every layer.
    """

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int, norm=None):
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask=None, memory_mask=None,
                tgt_key_padding_mask=None, memory_key_padding_mask=None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False) -> Tensor:
        output = tgt
        for layer in self.layers:
            output = layer(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                           tgt_key_padding_mask=tgt_key_padding_mask,
                           memory_key_padding_mask=memory_key_padding_mask,
                           tgt_is_causal=bool(tgt_is_causal), memory_is_causal=memory_is_causal)
        if self.norm is not None:
            output = self.norm(output)
        return output


class Transformer(Module):
    """The encoder-decoder Transformer of Vaswani et al. (2017), PyTorch's ``nn.Transformer``.

        memory = encoder(src);   output = decoder(tgt, memory)

    Args (PyTorch's, in its order): ``d_model=512, nhead=8, num_encoder_layers=6,
    num_decoder_layers=6, dim_feedforward=2048, dropout=0.1, activation="relu",
    custom_encoder=None, custom_decoder=None, layer_norm_eps=1e-5, batch_first=False,
    norm_first=False, bias=True``. The encoder and the decoder each end with a
    LayerNorm (``encoder.norm``, ``decoder.norm``). Every parameter with more than
    one dimension is re-initialised Xavier-uniform, as PyTorch does (biases keep
    their layer's init, LayerNorms 1 and 0).

    There are no embeddings and no output projection: ``src`` (S, N, E) and
    ``tgt`` (T, N, E) are already vectors; the output is (T, N, E) ((N, ·, E) with
    ``batch_first``). ``forward(src, tgt, src_mask=None, tgt_mask=None,
    memory_mask=None, src_key_padding_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
    memory_is_causal=False)``; a decoder that must not look ahead gets
    ``tgt_mask=Transformer.generate_square_subsequent_mask(T)``.
    """

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation="relu", custom_encoder=None, custom_decoder=None,
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None):
        super().__init__()
        layer_args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                      batch_first, norm_first, bias)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(TransformerEncoderLayer(*layer_args),
                                              num_encoder_layers,
                                              _layer_norm(d_model, layer_norm_eps, bias))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(TransformerDecoderLayer(*layer_args),
                                              num_decoder_layers,
                                              _layer_norm(d_model, layer_norm_eps, bias))
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first
        _to(self, device, dtype)

    def forward(self, src: Tensor, tgt: Tensor, src_mask=None, tgt_mask=None, memory_mask=None,
                src_key_padding_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, src_is_causal: bool | None = None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False) -> Tensor:
        batch_axis = 0 if self.batch_first else 1
        if src.ndim == 3 and src.shape[batch_axis] != tgt.shape[batch_axis]:
            raise RuntimeError(f"Transformer: the batch number of src and tgt must be equal, got "
                               f"src {src.shape} and tgt {tgt.shape} "
                               f"(batch_first={self.batch_first})")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError(f"Transformer: the feature number of src and tgt must be equal "
                               f"to d_model {self.d_model}, got src {src.shape} and "
                               f"tgt {tgt.shape}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> Tensor:
        """The causal mask (sz, sz): 0 on and below the diagonal, -inf above it (float).

        Added to the attention scores, it stops position i from attending to j > i.
        """
        dtype = np.dtype(dtype or get_default_dtype())
        mask = np.triu(np.full((sz, sz), -np.inf, dtype=dtype), k=1)
        if device is not None:
            mask = backend.to_device(mask, backend.normalize_device(device))
        return Tensor._wrap(mask)


# ============================================================================ minigrad's GPT-style model


class TransformerBlock(Module):
    """Pre-LayerNorm Transformer block (Vaswani et al., 2017; pre-LN as GPT-2, Xiong et al., 2020):

        x = x + dropout(attn(LN₁(x)))
        x = x + dropout(W₂ GELU(W₁ LN₂(x) + b₁) + b₂)

    GELU is the tanh approximation, x/2 (1 + tanh(√(2/π)(x + 0.044715 x³))), as in
    GPT-2 (PyTorch: ``gelu(x, approximate="tanh")``).

    Input (N, L, d_model). ``causal=True`` lets position i attend only to j <= i.
    Sub-modules: ``ln1``, ``attn`` (`MultiheadAttention`), ``ln2``, ``fc1``
    (d_model -> d_ff), ``fc2`` (d_ff -> d_model).
    """

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float = 0.0,
                 causal: bool = True):
        super().__init__()
        self.causal, self.dropout = causal, dropout
        self.ln1 = LayerNorm(d_model)
        self.attn = MultiheadAttention(d_model, n_heads, dropout=dropout, batch_first=True)
        self.ln2 = LayerNorm(d_model)
        self.fc1 = Linear(d_model, d_ff)
        self.fc2 = Linear(d_ff, d_model)

    def forward(self, x: Tensor, key_padding_mask=None) -> Tensor:
        h = self.ln1(x)
        a, _ = self.attn(h, h, h, key_padding_mask=key_padding_mask, need_weights=False,
                         is_causal=self.causal)
        x = x + F.dropout(a, self.dropout, self.training)
        m = self._mlp(self.ln2(x))
        return x + F.dropout(m, self.dropout, self.training)

    def _mlp(self, rows: Tensor) -> Tensor:
        return self.fc2(F.gelu(self.fc1(rows), approximate="tanh"))

    def extra_repr(self) -> str:
        return f"causal={self.causal}, dropout={self.dropout}"


class TransformerLM(Module):
    """A tiny decoder-only language model in the style of GPT (Radford et al., 2018, 2019).

        h = dropout(tok_emb[idx] + pos_emb[:L]);  h = block_k(h) for k = 1..n_layers
        logits = LN_f(h) W_headᵀ                      (N, L, vocab_size)

    Every block is causal, so the logits at position t depend only on tokens <= t
    and predict token t + 1. Weights are initialised as GPT-2: N(0, 0.02) for the
    embeddings and Linear weights, zero biases, LayerNorm 1 and 0.
    """

    def __init__(self, vocab_size: int, d_model: int = 128, n_heads: int = 4,
                 n_layers: int = 2, d_ff: int = 512, max_len: int = 256, dropout: float = 0.0):
        super().__init__()
        self.vocab_size, self.max_len, self.dropout = vocab_size, max_len, dropout
        self.tok_emb = Embedding(vocab_size, d_model)
        self.pos_emb = LearnedPositionalEmbedding(max_len, d_model)
        self.blocks = ModuleList(TransformerBlock(d_model, n_heads, d_ff, dropout, causal=True)
                                 for _ in range(n_layers))
        self.ln_f = LayerNorm(d_model)
        self.head = Linear(d_model, vocab_size, bias=False)
        self._init_gpt2()

    def _init_gpt2(self) -> None:
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                init.zeros_(p)
            elif "ln" not in name:
                init.normal_(p, 0.0, 0.02)

    def forward(self, idx) -> Tensor:
        indices = idx._data if isinstance(idx, Tensor) else np.asarray(idx)
        if indices.ndim != 2:
            raise ValueError(f"TransformerLM: expected token indices of shape (N, L), "
                             f"got shape {indices.shape}")
        if indices.shape[1] > self.max_len:
            raise ValueError(f"TransformerLM: sequence length {indices.shape[1]} exceeds "
                             f"max_len {self.max_len}")
        h = F.dropout(self.pos_emb(self.tok_emb(idx)), self.dropout, self.training)
        for block in self.blocks:
            h = block(h)
        return self.head(self.ln_f(h))

    def generate(self, idx, max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None) -> Tensor:
        """Extend ``idx`` (N, L) by ``max_new_tokens`` sampled tokens; returns (N, L + new).

        Each step feeds the last ``max_len`` tokens, takes the logits of the last
        position, divides them by ``temperature`` (0 means greedy: always the most
        likely token), keeps the ``top_k`` largest if given, and samples from the
        softmax with minigrad's global generator. Runs in eval mode without a graph.
        """
        if temperature < 0:
            raise ValueError(f"generate: temperature must be >= 0, got {temperature}")
        # sampling runs on the host (one small copy of the last logits per token)
        tokens = (backend.to_device(idx._data, "cpu") if isinstance(idx, Tensor) else np.asarray(idx))
        tokens = tokens.astype(np.int64, copy=False)
        device = self.head.weight.device
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                for _ in range(max_new_tokens):
                    window = Tensor(tokens[:, -self.max_len:], device=device)
                    logits = backend.to_device(self(window)._data[:, -1, :], "cpu")
                    nxt = _sample(logits.astype(np.float64), temperature, top_k)
                    tokens = np.concatenate([tokens, nxt[:, None]], axis=1)
        finally:
            self.train(was_training)
        return Tensor(tokens, device=device)


def _sample(logits: np.ndarray, temperature: float, top_k: int | None) -> np.ndarray:
    """One token per row from softmax(logits / temperature), restricted to the top k."""
    if temperature == 0:
        return logits.argmax(axis=-1)
    logits = logits / temperature
    if top_k is not None:
        k = min(top_k, logits.shape[-1])
        kth = np.sort(logits, axis=-1)[:, -k][:, None]
        logits = np.where(logits < kth, -np.inf, logits)
    p = np.exp(logits - logits.max(axis=-1, keepdims=True))
    cdf = np.cumsum(p / p.sum(axis=-1, keepdims=True), axis=-1)
    u = get_rng().random((logits.shape[0], 1))
    return np.minimum((cdf < u).sum(axis=-1), logits.shape[-1] - 1)
