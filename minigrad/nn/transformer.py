"""A pre-LayerNorm Transformer block and a tiny decoder-only (GPT-style) language model."""

from __future__ import annotations

import numpy as np

from minigrad import backend
from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.attention import LearnedPositionalEmbedding, MultiheadAttention
from minigrad.nn.embedding import Embedding
from minigrad.nn.layers import Linear
from minigrad.nn.module import Module, ModuleList
from minigrad.nn.normalization import LayerNorm
from minigrad.random import get_rng
from minigrad.tensor import Tensor, no_grad

__all__ = ["TransformerBlock", "TransformerLM"]


class TransformerBlock(Module):
    """Pre-LayerNorm Transformer block (Vaswani et al., 2017; pre-LN as GPT-2, Xiong et al., 2020):

        x = x + dropout(attn(LN₁(x)))
        x = x + dropout(W₂ GELU(W₁ LN₂(x) + b₁) + b₂)

    GELU is the tanh approximation, x/2 (1 + tanh(√(2/π)(x + 0.044715 x³))), as in
    GPT-2 (PyTorch: ``gelu(x, approximate="tanh")``).

    Input (N, L, d_model). ``causal=True`` lets position i attend only to j <= i.
    Sub-modules: ``ln1``, ``attn`` (:class:`MultiheadAttention`), ``ln2``, ``fc1``
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
        a, _ = self.attn(h, h, h, key_padding_mask=key_padding_mask, is_causal=self.causal)
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
        indices = idx.data if isinstance(idx, Tensor) else np.asarray(idx)
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
        tokens = np.asarray(idx.data if isinstance(idx, Tensor) else idx, dtype=np.int64)
        device = self.head.weight.device
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                for _ in range(max_new_tokens):
                    window = Tensor(tokens[:, -self.max_len:], device=device)
                    logits = backend.to_device(self(window).data[:, -1, :], "cpu")
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
