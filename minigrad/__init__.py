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
    Generator,
    arange,
    empty,
    empty_like,
    from_numpy,
    full,
    full_like,
    get_rng,
    manual_seed,
    multinomial,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from minigrad.tensor import (
    Function,
    Tensor,
    enable_grad,
    get_default_dtype,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_default_dtype,
    set_grad_enabled,
    unbroadcast,
)
from minigrad.threads import get_num_threads, set_num_threads

__version__ = "0.1.0"

# dtypes, with PyTorch's names and aliases (``minigrad.float`` is float32, as ``torch.float``)
float16 = half = _np.float16
float32 = float = _np.float32  # noqa: A001 - PyTorch's name
float64 = double = _np.float64
uint8 = _np.uint8
int8 = _np.int8
int16 = short = _np.int16
int32 = int = _np.int32  # noqa: A001
int64 = long = _np.int64
bool_ = bool = _np.bool_  # noqa: A001


def __getattr__(name):
    # bfloat16 comes from the ml_dtypes package (NumPy has none); loaded on first use
    if name == "bfloat16":
        try:
            import ml_dtypes
        except ImportError:
            raise AttributeError(
                "minigrad.bfloat16 needs the ml_dtypes package (pip install ml_dtypes): NumPy has no "
                "bfloat16. Tensors can be stored and cast in it; use float32 for CPU math."
            ) from None
        return _np.dtype(ml_dtypes.bfloat16)
    raise AttributeError(f"module 'minigrad' has no attribute {name!r}")


class Size(tuple):
    """A shape (``torch.Size``): a tuple, so ``x.shape == minigrad.Size([2, 3])`` holds."""


def numel(input: Tensor) -> int:
    """The number of elements of ``input`` (``torch.numel``)."""
    return input.numel()


def cuda_is_available() -> bool:
    """True when CuPy sees an NVIDIA GPU (``minigrad.backend.gpu_available``)."""
    return backend.gpu_available()


# nn and optim import the core above, so they come last (no import cycle)
from minigrad import autograd, cuda, nn, optim, utils  # noqa: E402
from minigrad.backend import device  # noqa: E402
from minigrad.models import load_model, save_model  # noqa: E402
from minigrad.ops.conv3d import conv3d  # noqa: E402
from minigrad.ops.conv_transpose import conv_transpose1d, conv_transpose2d, conv_transpose3d  # noqa: E402
from minigrad.ops.interpolate import pixel_shuffle, pixel_unshuffle  # noqa: E402
from minigrad.ops.loss import ctc_loss, kl_div  # noqa: E402
from minigrad.ops.pool_more import (  # noqa: E402
    adaptive_avg_pool1d,
    adaptive_max_pool1d,
    avg_pool1d,
    max_pool1d,
    max_pool3d,
)
from minigrad.serialization import CheckpointError, load, save  # noqa: E402
