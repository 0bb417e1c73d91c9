"""Embedding lookup: rows of a weight matrix picked by integer indices, and its gradient."""

from __future__ import annotations

import numpy as np

from minigrad import backend
from minigrad.backend import get_array_module
from minigrad.tensor import Function, Tensor

__all__ = ["embedding"]


def scatter_add_rows(indices, rows, num_rows: int):
    """out[i] = Σ rows[k] over every k with indices[k] == i; out has ``num_rows`` rows.

    A repeated index must add up all its rows (a plain ``out[indices] = rows``
    would keep only the last). NumPy: sort the indices so equal ones are adjacent,
    then ``add.reduceat`` sums each run in one vectorised pass (measured faster than
    ``np.add.at`` and than ``bincount``-based scatters for vocab 5000 x dim 64).
    """
    xp = get_array_module(rows)
    out = xp.zeros((num_rows, rows.shape[1]), dtype=rows.dtype)
    if indices.size == 0:
        return out
    if xp is not np:  # CuPy has no ufunc.reduceat; its add.at is an atomic scatter on the GPU
        xp.add.at(out, indices, rows)
        return out
    order = np.argsort(indices, kind="stable")
    sorted_idx = indices[order]
    run_starts = np.flatnonzero(np.r_[True, sorted_idx[1:] != sorted_idx[:-1]])
    out[sorted_idx[run_starts]] = np.add.reduceat(rows[order], run_starts, axis=0)
    return out


class EmbeddingLookup(Function):
    """y[...] = W[idx[...]];  dW[i] = Σ of g over the positions where idx == i (0 for padding_idx)."""

    def forward(self, weight, indices, padding_idx):
        self.indices, self.padding_idx, self.num_rows = indices, padding_idx, weight.shape[0]
        return weight[indices]

    def backward(self, g):
        flat_idx = self.indices.reshape(-1)
        dw = scatter_add_rows(flat_idx, g.reshape(flat_idx.size, -1), self.num_rows)
        if self.padding_idx is not None:
            dw[self.padding_idx] = 0
        return dw


def embedding(input, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    r"""Generates a simple lookup table that looks up embeddings in a fixed dictionary and size.

    $$y_{\ldots} = W_{\text{idx}_{\ldots}}, \qquad
      \frac{\partial L}{\partial W_i} = \sum_{\ldots:\ \text{idx}_{\ldots} = i} g_{\ldots}$$

    (a scatter-add of the rows of $g$; the row ``padding_idx`` gets 0).

    Args:
        input: Integer indices, any shape (...).
        weight: $W$, of shape (num_embeddings, dim).
        padding_idx: A row that gets no gradient, or None.
        max_norm: If given, each row of $W$ that is looked up and whose ``norm_type``-norm
            exceeds ``max_norm`` is first rescaled, in place, to norm ``max_norm`` (as PyTorch,
            outside autograd).
        norm_type: The $p$ of the $p$-norm for ``max_norm``.
        scale_grad_by_freq: Not supported (``NotImplementedError`` when True).
        sparse: Not supported (``NotImplementedError`` when True): gradients are dense.

    Returns:
        A tensor (..., dim).
    """
    if scale_grad_by_freq:
        raise NotImplementedError("embedding: scale_grad_by_freq=True is not supported by minigrad")
    if sparse:
        raise NotImplementedError("embedding: sparse=True is not supported by minigrad (its gradients "
                                  "are dense); leave sparse=False")
    indices = input._data if isinstance(input, Tensor) else input
    xp = get_array_module(weight._data)
    indices = xp.asarray(indices)
    num = weight.shape[0]
    if indices.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got dtype {indices.dtype} "
                        f"(shape {indices.shape}); convert with .long()")
    # a host sync on a GPU: checked there only with MINIGRAD_CHECK_VALUES=1
    if indices.size and backend.value_checks(indices) and (
            int(indices.min()) < 0 or int(indices.max()) >= num):
        raise IndexError(f"embedding: indices must be in [0, {num}) for a weight of shape "
                         f"{weight.shape}, got values in [{int(indices.min())}, "
                         f"{int(indices.max())}]")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += num
    if max_norm is not None:  # PyTorch's embedding_renorm_: rescale the rows used, in place
        rows = xp.unique(indices)
        w = weight._data[rows]
        norms = (xp.abs(w) ** norm_type).sum(axis=-1, keepdims=True) ** (1.0 / norm_type)
        scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        weight._data[rows] = (w * scale).astype(weight.dtype)
    return EmbeddingLookup.apply(weight, indices=indices, padding_idx=padding_idx)
