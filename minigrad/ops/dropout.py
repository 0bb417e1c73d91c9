"""Dropout (Srivastava et al., 2014): the Function and ``F.dropout``."""

from __future__ import annotations

from minigrad import backend
from minigrad.backend import get_array_module
from minigrad.tensor import Function, Tensor

__all__ = ["dropout"]


class Dropout(Function):
    """y = x ⊙ m / (1 - p) with m_i ~ Bernoulli(1 - p);  dx = g ⊙ m / (1 - p)."""

    def forward(self, x, scaled_mask):
        self.scaled_mask = scaled_mask
        return x * scaled_mask

    def backward(self, g):
        return g * self.scaled_mask


def dropout(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout (Srivastava et al., 2014): zero each element with probability ``p``
    and scale the survivors by 1 / (1 - p), so E[y] = x and evaluation needs no rescaling.

    Identity when ``training`` is False or ``p == 0``. The mask comes from minigrad's
    global generator (``minigrad.manual_seed`` makes it repeatable).
    """
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0:
        return input
    xp = get_array_module(input._data)
    if p == 1:
        return Dropout.apply(input, scaled_mask=xp.zeros(input.shape, dtype=input.dtype))
    keep = backend.random_like(input._data, input.shape) >= p  # drawn on input's device
    mask = keep.astype(input.dtype) * input.dtype.type(1 / (1 - p))
    return Dropout.apply(input, scaled_mask=mask)
