"""Activation layers with PyTorch's names (``nn.SiLU``, ``nn.ELU``, ``nn.Hardswish`` ...).

Each layer holds its hyper-parameters and calls the op in ``minigrad/ops/activation.py``,
where the formula and its derivative are written out. (``ReLU``, ``LeakyReLU``, ``Tanh``,
``Sigmoid``, ``GELU``, ``Softmax`` and ``LogSoftmax`` are in ``layers.py``.)
"""

from __future__ import annotations

import numpy as np

from minigrad.nn.module import Module, Parameter
from minigrad.ops import activation as A
from minigrad.tensor import get_default_dtype

__all__ = [
    "SiLU", "ELU", "SELU", "CELU", "ReLU6", "Hardtanh", "Hardsigmoid", "Hardswish", "Mish",
    "Softplus", "Softsign", "LogSigmoid", "Softmin", "GLU", "PReLU", "RReLU", "Hardshrink",
    "Softshrink", "Tanhshrink", "Threshold",
]


class _Inplace(Module):
    """An activation with PyTorch's ``inplace`` flag (write the result into the input)."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class SiLU(_Inplace):
    r"""$y = x\,\sigma(x)$ (also called swish)."""

    def forward(self, x):
        return A.silu(x, self.inplace)


class Mish(_Inplace):
    r"""$y = x \tanh(\operatorname{softplus}(x))$."""

    def forward(self, x):
        return A.mish(x, self.inplace)


class ELU(_Inplace):
    r"""$y = x$ for $x > 0$, else $\alpha (e^x - 1)$."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__(inplace)
        self.alpha = alpha

    def forward(self, x):
        return A.elu(x, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class SELU(_Inplace):
    r"""$y = \lambda\,\operatorname{elu}_\alpha(x)$, $\lambda \approx 1.0507$, $\alpha \approx 1.6733$."""

    def forward(self, x):
        return A.selu(x, self.inplace)


class CELU(_Inplace):
    r"""$y = \max(0, x) + \min(0, \alpha (e^{x/\alpha} - 1))$."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__(inplace)
        self.alpha = alpha

    def forward(self, x):
        return A.celu(x, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Hardtanh(_Inplace):
    r"""$y = \min(\max(x, \text{min\_val}), \text{max\_val})$."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        super().__init__(inplace)
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val {min_val} cannot be greater than max_val {max_val}")
        self.min_val, self.max_val = min_val, max_val

    def forward(self, x):
        return A.hardtanh(x, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}" + (", inplace=True" if self.inplace else "")


class ReLU6(_Inplace):
    r"""$y = \min(\max(x, 0), 6)$."""

    def forward(self, x):
        return A.relu6(x, self.inplace)


class Hardsigmoid(_Inplace):
    r"""$y = \operatorname{relu6}(x + 3) / 6$."""

    def forward(self, x):
        return A.hardsigmoid(x, self.inplace)


class Hardswish(_Inplace):
    r"""$y = x \operatorname{relu6}(x + 3) / 6$."""

    def forward(self, x):
        return A.hardswish(x, self.inplace)


class Softplus(Module):
    r"""$y = \frac{1}{\beta} \log(1 + e^{\beta x})$, linear where $\beta x >$ ``threshold``."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return A.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softsign(Module):
    r"""$y = x / (1 + |x|)$."""

    def forward(self, x):
        return A.softsign(x)


class LogSigmoid(Module):
    r"""$y = \log \sigma(x)$."""

    def forward(self, x):
        return A.logsigmoid(x)


class Tanhshrink(Module):
    r"""$y = x - \tanh x$."""

    def forward(self, x):
        return A.tanhshrink(x)


class Hardshrink(Module):
    r"""$y = x$ where $|x| > \lambda$, else 0."""

    def __init__(self, lambd: float = 0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, x):
        return A.hardshrink(x, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    r"""$y = \operatorname{sign}(x) \max(|x| - \lambda, 0)$."""

    def forward(self, x):
        return A.softshrink(x, self.lambd)


class Threshold(_Inplace):
    """$y = x$ where $x >$ ``threshold``, else ``value``."""

    def __init__(self, threshold: float, value: float, inplace: bool = False):
        super().__init__(inplace)
        self.threshold, self.value = threshold, value

    def forward(self, x):
        return A.threshold(x, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}" + (", inplace=True" if self.inplace else "")


class Softmin(Module):
    r"""$y_i = e^{-x_i} / \sum_j e^{-x_j}$ along ``dim``."""

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return A.softmin(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class GLU(Module):
    r"""$y = a \odot \sigma(b)$ for the two halves $a, b$ of the input along ``dim``."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return A.glu(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class PReLU(Module):
    r"""$y = \max(0, x) + a \min(0, x)$ with a learned slope $a$: one for all channels
    (``num_parameters=1``) or one per channel (dim 1 of the input), initialised to ``init``."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters = num_parameters
        self.weight = Parameter(np.full(num_parameters, init, dtype=dtype or get_default_dtype()),
                                device=device)

    def forward(self, x):
        return A.prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class RReLU(_Inplace):
    r"""Randomized leaky ReLU: slopes drawn from $U(\text{lower}, \text{upper})$ in training,
    $(\text{lower} + \text{upper})/2$ in evaluation."""

    def __init__(self, lower: float = 1 / 8, upper: float = 1 / 3, inplace: bool = False):
        super().__init__(inplace)
        self.lower, self.upper = lower, upper

    def forward(self, x):
        return A.rrelu(x, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}" + (", inplace=True" if self.inplace else "")
