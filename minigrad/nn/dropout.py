r"""Channel dropout: ``nn.Dropout1d`` and ``nn.Dropout2d`` (and their functions).

``nn.Dropout`` drops single numbers. After a convolution, neighbouring values of
a feature map are strongly correlated, so dropping single values barely
regularises; Tompson et al. (2015) drop whole *channels* instead:

$$y_{n,c} = \frac{m_{n,c}}{1 - p}\, x_{n,c}, \qquad m_{n,c} \sim \mathrm{Bernoulli}(1 - p),$$

one draw per (sample n, channel c), shared by every position of that channel's
map. The gradient is the same mask: $\partial L/\partial x_{n,c} = \frac{m_{n,c}}{1-p}\,
\partial L/\partial y_{n,c}$ (the product's backward, through the engine's ``mul``).
In evaluation mode, or with p = 0, the layer is the identity.
"""

from __future__ import annotations

import warnings

from minigrad import backend
from minigrad.backend import get_array_module
from minigrad.nn.module import Module
from minigrad.tensor import Tensor

__all__ = ["Dropout1d", "Dropout2d", "dropout1d", "dropout2d", "feature_dropout"]


def feature_dropout(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    r"""Zeroes each channel ``x[n, c, ...]`` with probability ``p``, scales the others by $1/(1 - p)$.

    $$y_{n,c} = \frac{m_{n,c}}{1 - p}\, x_{n,c}, \quad m_{n,c} \sim \mathrm{Bernoulli}(1 - p), \qquad
      \frac{\partial L}{\partial x_{n,c}} = \frac{m_{n,c}}{1 - p}\, g_{n,c}$$

    ``input`` is (N, C, *spatial); the mask has shape (N, C, 1, ..., 1) and is drawn
    from minigrad's global generator (``minigrad.manual_seed`` repeats it).
    """
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    xp = get_array_module(input._data)
    shape = input.shape[:2] + (1,) * (input.ndim - 2)
    if p == 1:
        mask = xp.zeros(shape, dtype=input.dtype)
    else:
        keep = backend.random_like(input._data, shape) >= p  # drawn on the input's device
        mask = keep.astype(input.dtype) * input.dtype.type(1 / (1 - p))
    return input * Tensor._wrap(mask)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    r"""Randomly zeroes out entire channels of a (N, C, L) or unbatched (C, L) input.

    $$y_{n,c,:} = \frac{m_{n,c}}{1 - p}\, x_{n,c,:}, \quad m_{n,c} \sim \mathrm{Bernoulli}(1 - p), \qquad
      \frac{\partial L}{\partial x_{n,c,:}} = \frac{m_{n,c}}{1 - p}\, g_{n,c,:}$$

    (Tompson et al., 2015: one draw per channel, shared by its whole map).

    Args:
        input: (N, C, L) or (C, L).
        p: The probability of a channel being zeroed.
        training: The identity when False.
        inplace: Write the result into ``input`` and return it.
    """
    if inplace and training and p != 0:
        return input._inplace(dropout1d, p, training)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D "
                           f"input of shape {input.shape}: (N, C, L) or (C, L) expected")
    if input.ndim == 2:
        return feature_dropout(input.unsqueeze(0), p, training).squeeze(0)
    return feature_dropout(input, p, training)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    r"""Randomly zeroes out entire channels (2D feature maps) of a (N, C, H, W) input.

    $$y_{n,c,:,:} = \frac{m_{n,c}}{1 - p}\, x_{n,c,:,:}, \quad m_{n,c} \sim \mathrm{Bernoulli}(1 - p),
      \qquad \frac{\partial L}{\partial x_{n,c,:,:}} = \frac{m_{n,c}}{1 - p}\, g_{n,c,:,:}$$

    As in PyTorch, a 3-D input is read as (N, C, L) (1-D channel dropout, with a
    warning), and other ranks are dropped per (dim 0, dim 1) pair with a warning.

    Args:
        input: (N, C, H, W).
        p: The probability of a channel being zeroed.
        training: The identity when False.
        inplace: Write the result into ``input`` and return it.
    """
    if inplace and training and p != 0:
        return input._inplace(dropout2d, p, training)
    if input.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is "
                      f"deprecated (in PyTorch too); use dropout for it", stacklevel=2)
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
                      "1D dropout behavior is desired - input is interpreted as shape (N, C, L), "
                      "as PyTorch does; use dropout1d for it", stacklevel=2)
    return feature_dropout(input, p, training)


class _ChannelDropout(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(_ChannelDropout):
    """Zero whole channels of (N, C, L) or (C, L) inputs with probability p (module docstring).

    ``inplace=True`` writes the result into the input, as PyTorch.
    """

    def forward(self, input: Tensor) -> Tensor:
        return dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(_ChannelDropout):
    """Zero whole channels of (N, C, H, W) inputs with probability p (module docstring).

    A 3-D input is read as (N, C, L) with a warning, as PyTorch does. ``inplace=True``
    writes the result into the input, as PyTorch.
    """

    def forward(self, input: Tensor) -> Tensor:
        return dropout2d(input, self.p, self.training, self.inplace)
