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


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    r"""During training, randomly zeroes some elements of ``input`` with probability ``p``.

    $$y = \frac{m \odot x}{1 - p}, \quad m_i \sim \mathrm{Bernoulli}(1 - p), \qquad
      \frac{\partial L}{\partial x} = \frac{m \odot g}{1 - p}$$

    (inverted dropout, Srivastava et al., 2014: $\mathbb{E}[y] = x$, so evaluation needs no
    rescaling). The mask comes from minigrad's global generator (``minigrad.manual_seed``).

    Args:
        input: Any shape.
        p: The probability of an element being zeroed, in [0, 1].
        training: The identity when False (or when ``p == 0``).
        inplace: Write the result into ``input`` and return it.

    Returns:
        A tensor of ``input``'s shape (``input`` itself when ``inplace``).
    """
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0:
        return input
    if inplace:
        return input._inplace(dropout, p, training)
    xp = get_array_module(input._data)
    if p == 1:
        return Dropout.apply(input, scaled_mask=xp.zeros(input.shape, dtype=input.dtype))
    keep = backend.random_like(input._data, input.shape) >= p  # drawn on input's device
    mask = keep.astype(input.dtype) * input.dtype.type(1 / (1 - p))
    return Dropout.apply(input, scaled_mask=mask)
