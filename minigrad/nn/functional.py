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


# every mode (constant, reflect, replicate, circular) and negative padding: minigrad/ops/padding.py
from minigrad.ops.padding import pad  # noqa: E402

__all__ += ["pad"]

# ======================================================================= the loss catalogue
# (their Functions live in minigrad/ops/loss.py)
from minigrad.ops.loss import (  # noqa: E402
    cosine_embedding_loss,
    ctc_loss,
    gaussian_nll_loss,
    hinge_embedding_loss,
    huber_loss,
    kl_div,
    margin_ranking_loss,
    poisson_nll_loss,
    smooth_l1_loss,
    triplet_margin_loss,
)

__all__ += [
    "cosine_embedding_loss", "ctc_loss", "gaussian_nll_loss", "hinge_embedding_loss", "huber_loss",
    "kl_div", "margin_ranking_loss", "poisson_nll_loss", "smooth_l1_loss", "triplet_margin_loss",
]

# =================================== transposed and 3-D convolution, resizing (minigrad/ops/)
from minigrad.ops.conv3d import conv3d  # noqa: E402
from minigrad.ops.conv_transpose import (  # noqa: E402
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
)
from minigrad.ops.interpolate import (  # noqa: E402
    interpolate,
    pixel_shuffle,
    pixel_unshuffle,
    upsample,
)

__all__ += [
    "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "interpolate",
    "pixel_shuffle", "pixel_unshuffle", "upsample",
]

# ====================================== more pooling (minigrad/ops/pool_more.py)
from minigrad.ops.pool_more import (  # noqa: E402
    adaptive_avg_pool1d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool3d,
    lp_pool1d,
    lp_pool2d,
    max_pool1d,
    max_pool2d_with_indices,
    max_pool3d,
    max_unpool1d,
    max_unpool2d,
)

__all__ += [
    "adaptive_avg_pool1d", "adaptive_max_pool1d", "adaptive_max_pool2d", "avg_pool1d",
    "avg_pool3d", "lp_pool1d", "lp_pool2d", "max_pool1d", "max_pool2d_with_indices", "max_pool3d",
    "max_unpool1d", "max_unpool2d",
]
