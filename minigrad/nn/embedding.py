"""``Embedding``: a lookup table of learned vectors (its Function is in ``minigrad/ops/embedding.py``)."""

from __future__ import annotations

import numpy as np

from minigrad.nn.module import Module, Parameter
from minigrad.ops.embedding import embedding
from minigrad.random import get_rng
from minigrad.tensor import Tensor, get_default_dtype

__all__ = ["Embedding", "embedding"]


class Embedding(Module):
    """A table of ``num_embeddings`` learned vectors of size ``embedding_dim``: y = weight[idx].

    Input: integer indices of any shape (...); output (..., embedding_dim).
    ``weight`` is initialised N(0, 1) as in PyTorch, with the ``padding_idx`` row
    zero; that row receives no gradient, so it stays zero while training.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False):
        super().__init__()
        if scale_grad_by_freq or sparse:
            raise NotImplementedError("Embedding: scale_grad_by_freq=True and sparse=True are not "
                                      "supported by minigrad (its gradients are dense)")
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} is out of range for "
                                 f"{num_embeddings} embeddings")
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = padding_idx
        data = get_rng().standard_normal((num_embeddings, embedding_dim))
        if padding_idx is not None:
            data[padding_idx] = 0
        self.weight = Parameter(data.astype(get_default_dtype()))

    def forward(self, input) -> Tensor:
        indices = input._data if isinstance(input, Tensor) else np.asarray(input)
        if indices.dtype.kind not in "iu":
            raise TypeError(f"Embedding: expected integer indices, got dtype {indices.dtype} "
                            f"with shape {indices.shape}")
        return embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type)

    def extra_repr(self) -> str:
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        norm = "" if self.max_norm is None else f", max_norm={self.max_norm}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}{norm}"
