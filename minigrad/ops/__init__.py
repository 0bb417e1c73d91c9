"""Every differentiable op, as a Function (forward + backward) and a functional form.

``minigrad.ops.exp(x)`` and ``x.exp()`` are the same thing; the methods on
:class:`~minigrad.Tensor` are attached at the bottom of this file.
"""

from minigrad.ops.assign import *  # noqa: F403
from minigrad.ops.assign import __all__ as _assign
from minigrad.ops.elementwise import *  # noqa: F403
from minigrad.ops.elementwise import __all__ as _elementwise
from minigrad.ops.linalg import *  # noqa: F403
from minigrad.ops.linalg import __all__ as _linalg
from minigrad.ops.reduce import *  # noqa: F403
from minigrad.ops.reduce import __all__ as _reduce
from minigrad.ops.shape import *  # noqa: F403
from minigrad.ops.shape import __all__ as _shape
from minigrad.tensor import Tensor

__all__ = _assign + _elementwise + _linalg + _reduce + _shape

# x.exp(), x.sum(dim=1), x.reshape(2, 3), ... : the method form of each op
_METHODS = [
    "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "clip", "clamp", "sum", "mean", "var",
    "std", "max", "min", "amax", "amin", "argmax", "argmin", "logsumexp", "softmax",
    "log_softmax", "reshape", "view", "flatten", "permute", "transpose", "unsqueeze", "squeeze",
    "broadcast_to", "expand", "split", "chunk", "matmul", "maximum", "minimum", "pow",
    "add", "sub", "mul", "div", "neg", "masked_fill", "clone",
]
for _name in _METHODS:
    setattr(Tensor, _name, globals()[_name])
del _name
