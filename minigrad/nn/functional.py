"""``minigrad.nn.functional`` (import as ``F``): losses, activations and other stateless ops.

This file only gathers and re-exports: every function's Function (forward and
backward, the formula in its docstring) lives in ``minigrad/ops/`` (losses in
``ops/loss.py``, ``linear`` in ``ops/linalg.py``, ``dropout`` in ``ops/dropout.py``,
convolution, pooling, normalization and attention in their own files), and the
layers in ``minigrad.nn`` call these functions. Names and arguments are
``torch.nn.functional``'s.
"""

from __future__ import annotations

from minigrad.ops import gelu, leaky_relu, log_softmax, relu, sigmoid, softmax, tanh
from minigrad.ops.creation import one_hot
from minigrad.ops.dropout import dropout
from minigrad.ops.linalg import linear
from minigrad.ops.loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    l1_loss,
    mse_loss,
    nll_loss,
)
from minigrad.tensor import Tensor

__all__ = [
    "linear", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softmax", "log_softmax",
    "dropout", "one_hot", "mse_loss", "l1_loss", "cross_entropy", "nll_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits",
]

# ======================================================================= CNN, LSTM, Transformer layers
# (their Functions live in minigrad/ops/{conv,pool,norm,attention}.py and nn/embedding.py)

from minigrad.ops.attention import scaled_dot_product_attention  # noqa: E402
from minigrad.ops.conv import conv1d, conv2d  # noqa: E402
from minigrad.ops.embedding import embedding  # noqa: E402
from minigrad.ops.norm import batch_norm, layer_norm  # noqa: E402
from minigrad.ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d  # noqa: E402

__all__ += [
    "conv1d", "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "batch_norm",
    "layer_norm", "embedding", "scaled_dot_product_attention",
]

from minigrad.nn.dropout import dropout1d, dropout2d  # noqa: E402

__all__ += ["dropout1d", "dropout2d"]

# ======================================================================= the activation catalogue
# (their Functions live in minigrad/ops/activation.py)
from minigrad.ops.activation import (  # noqa: E402
    celu,
    elu,
    glu,
    hardshrink,
    hardsigmoid,
    hardswish,
    hardtanh,
    logsigmoid,
    mish,
    normalize,
    prelu,
    relu6,
    rrelu,
    selu,
    silu,
    softmin,
    softplus,
    softshrink,
    softsign,
    tanhshrink,
    threshold,
)

__all__ += [
    "celu", "elu", "glu", "hardshrink", "hardsigmoid", "hardswish", "hardtanh", "logsigmoid", "mish",
    "normalize", "prelu", "relu6", "rrelu", "selu", "silu", "softmin", "softplus", "softshrink",
    "softsign", "tanhshrink", "threshold",
]


def pad(input: Tensor, pad, mode: str = "constant", value=None) -> Tensor:
    """Pad ``input`` as ``torch.nn.functional.pad``: ``pad = (left, right, top, bottom, ...)``
    lists pairs from the **last** dimension. Only ``mode="constant"`` is implemented
    (the padding's value is ``value``, 0 by default)."""
    if mode != "constant":
        raise NotImplementedError(f"pad: mode={mode!r} is not implemented; only 'constant'")
    from minigrad.ops.shape import pad as _pad

    return _pad(input, pad, 0.0 if value is None else value)


__all__ += ["pad"]
