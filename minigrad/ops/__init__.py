"""Every differentiable op, as a Function (forward + backward) and a functional form.

``minigrad.ops.exp(x)`` and ``x.exp()`` are the same thing: the method form of each op
named below is written out in ``minigrad/tensor_methods.py`` (a test checks both lists).
"""

from minigrad.ops.activation import *  # noqa: F403
from minigrad.ops.activation import __all__ as _activation
from minigrad.ops.assign import *  # noqa: F403
from minigrad.ops.assign import __all__ as _assign
from minigrad.ops.creation import *  # noqa: F403
from minigrad.ops.creation import __all__ as _creation
from minigrad.ops.elementwise import *  # noqa: F403
from minigrad.ops.elementwise import __all__ as _elementwise
from minigrad.ops.index import *  # noqa: F403
from minigrad.ops.index import __all__ as _index
from minigrad.ops.linalg import *  # noqa: F403
from minigrad.ops.linalg import __all__ as _linalg
from minigrad.ops.reduce import *  # noqa: F403
from minigrad.ops.reduce import __all__ as _reduce
from minigrad.ops.scan import *  # noqa: F403
from minigrad.ops.scan import __all__ as _scan
from minigrad.ops.shape import *  # noqa: F403
from minigrad.ops.shape import __all__ as _shape
from minigrad.ops.shape import unfold
from minigrad.ops.sort import *  # noqa: F403
from minigrad.ops.sort import __all__ as _sort

__all__ = (_activation + _assign + _creation + _elementwise + _index + _linalg + _reduce + _scan + _shape
           + _sort)

# x.exp(), x.sum(dim=1), x.reshape(2, 3), ... : the method form of each op
_METHODS = [
    "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "clip", "clamp", "sum", "mean", "var",
    "std", "max", "min", "amax", "amin", "argmax", "argmin", "logsumexp", "softmax",
    "log_softmax", "reshape", "view", "flatten", "permute", "transpose", "unsqueeze", "squeeze",
    "broadcast_to", "expand", "split", "chunk", "matmul", "maximum", "minimum", "pow",
    "add", "sub", "mul", "div", "neg", "masked_fill", "clone",
    # elementwise math
    "sin", "cos", "tan", "asin", "acos", "atan", "arcsin", "arccos", "arctan", "sinh", "cosh",
    "asinh", "acosh", "atanh", "arcsinh", "arccosh", "arctanh", "log2", "log10", "log1p", "exp2",
    "expm1", "rsqrt", "reciprocal", "square", "erf", "erfc", "erfinv", "atan2", "arctan2",
    "logaddexp", "logaddexp2", "hypot", "lerp", "remainder", "fmod", "floor_divide", "floor", "ceil",
    "round", "trunc", "fix", "sign", "sgn", "frac", "positive", "fmax", "fmin", "nan_to_num",
    # comparison and logic (bool results)
    "isnan", "isinf", "isposinf", "isneginf", "isfinite", "isclose", "allclose", "equal", "any",
    "all", "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and", "bitwise_or",
    "bitwise_xor", "bitwise_not", "bitwise_left_shift", "bitwise_right_shift",
    # indexing
    "gather", "scatter", "scatter_add", "scatter_reduce", "take", "take_along_dim", "index_select",
    "index_add", "index_copy", "index_fill", "masked_select", "masked_scatter", "nonzero", "argwhere",
    "count_nonzero",
    # shape
    "flip", "fliplr", "flipud", "roll", "rot90", "movedim", "moveaxis", "swapaxes", "swapdims",
    "unflatten", "repeat", "tile", "repeat_interleave", "tril", "triu", "diagonal", "diag_embed",
    "diag", "trace", "unfold",
    # scans, products, order statistics
    "cumsum", "cumprod", "cummax", "cummin", "logcumsumexp", "prod", "nansum", "nanmean", "sort",
    "argsort", "msort",
    "topk", "kthvalue", "median", "nanmedian", "mode", "unique",
    # linear algebra
    "dot", "vdot", "inner", "outer", "ger", "mv", "kron", "cross", "addmm", "addmv", "baddbmm",
    "addbmm", "norm", "prelu", "hardshrink",
]

# x.tril_(), x.scatter_(1, idx, src), ... : in place, through Tensor._inplace (autograd-aware)
_INPLACE_METHODS = [
    "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "log2",
    "log10", "log1p", "exp2", "expm1", "rsqrt", "reciprocal", "square", "erf", "erfc", "erfinv",
    "atan2", "lerp", "remainder", "fmod", "floor_divide", "floor", "ceil", "round", "trunc", "sign",
    "frac", "hypot", "nan_to_num", "logical_not", "bitwise_not", "bitwise_and", "bitwise_or", "bitwise_xor",
    "gather", "scatter", "scatter_add", "scatter_reduce", "index_add", "index_copy", "index_fill",
    "masked_scatter", "tril", "triu", "cumsum", "cumprod", "silu", "elu", "selu", "celu",
    "hardtanh", "relu6", "hardsigmoid", "hardswish", "mish",
]
