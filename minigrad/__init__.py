"""minigrad: a small, readable reverse-mode autograd engine.

>>> import minigrad
>>> x = minigrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> y = (x * x).sum()
>>> y.backward()
>>> x.grad
tensor([2., 4., 6.])
"""

import numpy as _np

from minigrad import backend
from minigrad.gradcheck import GradcheckError, gradcheck
from minigrad.ops import *  # noqa: F403
from minigrad.random import (
    arange,
    full,
    get_rng,
    manual_seed,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    randn_like,
    tensor,
    zeros,
    zeros_like,
)
from minigrad.tensor import (
    Function,
    Tensor,
    enable_grad,
    get_default_dtype,
    is_grad_enabled,
    no_grad,
    set_default_dtype,
    unbroadcast,
)

__version__ = "0.1.0"

float16 = _np.float16
float32 = _np.float32
float64 = _np.float64
int32 = _np.int32
int64 = _np.int64
bool_ = _np.bool_


def cuda_is_available() -> bool:
    """True when CuPy sees an NVIDIA GPU (``minigrad.backend.gpu_available``)."""
    return backend.gpu_available()


# nn and optim import the core above, so they come last (no import cycle)
from minigrad import nn, optim  # noqa: E402
from minigrad.serialization import load, save  # noqa: E402
