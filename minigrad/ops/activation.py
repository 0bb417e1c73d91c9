r"""Activation functions beyond the classic four (sigmoid, tanh, ReLU, GELU are in ``elementwise.py``).

Each is a Function with its forward and its derivative side by side; the layers with
PyTorch's names (``nn.SiLU``, ``nn.ELU`` ...) are in ``minigrad/nn/activation.py``. The
piecewise ones follow PyTorch's choice of derivative at the kinks (noted in each class).

Functions that PyTorch gives an ``inplace=`` flag take it too: the result is then
written into the input (through the engine's in-place mechanism, so autograd stays correct).
"""

from __future__ import annotations

from minigrad.backend import get_array_module
from minigrad.ops._util import as_float
from minigrad.ops.elementwise import stable_sigmoid
from minigrad.tensor import Function, Tensor


def _apply(x: Tensor, op, inplace: bool, **params) -> Tensor:
    """``op(x)``, or written into ``x`` when ``inplace`` (``x`` must then be a float tensor)."""
    if inplace:
        return x._inplace(op, **params)
    return op(x, **params)


def _softplus_array(z):
    r"""$\log(1 + e^z)$ without overflow: $\max(z, 0) + \log(1 + e^{-|z|})$."""
    xp = get_array_module(z)
    return xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))


# ============================================================================ smooth


class SiLU(Function):
    r"""SiLU / swish, $y = x\,\sigma(x)$;  $y' = \sigma(x)\,\big(1 + x\,(1 - \sigma(x))\big)$."""

    def forward(self, x):
        self.x, self.s = x, stable_sigmoid(x)
        return x * self.s

    def backward(self, g):
        return g * self.s * (1 + self.x * (1 - self.s))


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    r"""$x\,\sigma(x)$ (Elfwing et al., 2018; Ramachandran et al.'s *swish*, 2017)."""
    return _apply(as_float(input), _silu, inplace)


def _silu(x):
    return SiLU.apply(x)


_silu.__name__ = "silu"


class ELU(Function):
    r"""The ELU family in one Function (PyTorch's formulation, with three coefficients):

    $$y = \begin{cases} s\,x & x > 0 \\ s\,\alpha\,(e^{c x} - 1) & x \le 0 \end{cases}, \qquad
      y' = \begin{cases} s & x > 0 \\ s\,\alpha\,c\,e^{c x} & x \le 0 \end{cases}$$

    ELU: $s = 1, c = 1$; SELU: $s = 1.0507\ldots,\ \alpha = 1.6733\ldots,\ c = 1$;
    CELU: $s = 1,\ c = 1/\alpha$. At $x = 0$ the left derivative is used, as PyTorch.
    """

    def forward(self, x, alpha, scale, input_scale):
        xp = get_array_module(x)
        self.x, self.coefs = x, (alpha, scale, input_scale)
        self.neg_exp = xp.exp(xp.minimum(x, 0) * input_scale)  # e^{cx} only where x <= 0 matters
        return xp.where(x > 0, scale * x, scale * alpha * (self.neg_exp - 1)).astype(x.dtype)

    def backward(self, g):
        xp = get_array_module(g)
        alpha, scale, input_scale = self.coefs
        return g * xp.where(self.x > 0, scale, scale * alpha * input_scale * self.neg_exp)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _elu(x, alpha=1.0, scale=1.0, input_scale=1.0):
    return ELU.apply(x, alpha=alpha, scale=scale, input_scale=input_scale)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    r"""$x$ for $x > 0$, else $\alpha(e^x - 1)$ (Clevert et al., 2016)."""
    return _apply(as_float(input), _elu, inplace, alpha=alpha)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    r"""$\lambda\,\operatorname{elu}_\alpha(x)$ with $\lambda \approx 1.0507$, $\alpha \approx 1.6733$:
    self-normalizing (Klambauer et al., 2017)."""
    return _apply(as_float(input), _elu, inplace, alpha=_SELU_ALPHA, scale=_SELU_SCALE)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    r"""$\max(0, x) + \min(0, \alpha(e^{x/\alpha} - 1))$ (Barron, 2017): ELU, continuously
    differentiable for every $\alpha$."""
    if alpha == 0:
        raise RuntimeError("celu: ZeroDivisionError, alpha cannot be 0")
    return _apply(as_float(input), _elu, inplace, alpha=alpha, input_scale=1 / alpha)


class Softplus(Function):
    r"""$y = \frac{1}{\beta}\log(1 + e^{\beta x})$, and $y = x$ where $\beta x >$ ``threshold``;
    $y' = \sigma(\beta x)$ (1 in the linear part)."""

    def forward(self, x, beta, threshold):
        xp = get_array_module(x)
        z = x * beta
        self.linear, self.z = z > threshold, z
        return xp.where(self.linear, x, _softplus_array(z) / beta).astype(x.dtype)

    def backward(self, g):
        xp = get_array_module(g)
        return g * xp.where(self.linear, 1, stable_sigmoid(self.z))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    r"""$\frac{1}{\beta}\log(1 + e^{\beta x})$, a smooth ReLU; linear above ``threshold``
    (Dugas et al., 2001)."""
    return Softplus.apply(as_float(input), beta=beta, threshold=threshold)


class Mish(Function):
    r"""$y = x \tanh(\operatorname{softplus}(x))$;  with $t = \tanh(\operatorname{softplus}(x))$,
    $y' = t + x\,(1 - t^2)\,\sigma(x)$ (since $\operatorname{softplus}' = \sigma$)."""

    def forward(self, x):
        xp = get_array_module(x)
        self.x, self.t = x, xp.tanh(_softplus_array(x))
        return x * self.t

    def backward(self, g):
        t = self.t
        return g * (t + self.x * (1 - t * t) * stable_sigmoid(self.x))


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    r"""$x \tanh(\log(1 + e^x))$ (Misra, 2019)."""
    return _apply(as_float(input), _mish, inplace)


def _mish(x):
    return Mish.apply(x)


_mish.__name__ = "mish"


class Softsign(Function):
    r"""$y = x / (1 + |x|)$;  $y' = 1 / (1 + |x|)^2$."""

    def forward(self, x):
        self.d = 1 + get_array_module(x).abs(x)
        return x / self.d

    def backward(self, g):
        return g / (self.d * self.d)


def softsign(input: Tensor) -> Tensor:
    r"""$x / (1 + |x|)$."""
    return Softsign.apply(as_float(input))


class LogSigmoid(Function):
    r"""$y = \log \sigma(x) = -\operatorname{softplus}(-x) = \min(x, 0) - \log(1 + e^{-|x|})$;
    $y' = 1 - \sigma(x) = \sigma(-x)$."""

    def forward(self, x):
        self.x = x
        return -_softplus_array(-x)

    def backward(self, g):
        return g * stable_sigmoid(-self.x)


def logsigmoid(input: Tensor) -> Tensor:
    r"""$\log \sigma(x)$, computed without overflow or $\log 0$."""
    return LogSigmoid.apply(as_float(input))


# ============================================================================ piecewise linear


class Hardtanh(Function):
    r"""$y = \min(\max(x, a), b)$;  $y' = 1$ for $a < x < b$, else 0 (0 at the bounds, as PyTorch)."""

    def forward(self, x, min_val, max_val):
        self.inside = (x > min_val) & (x < max_val)
        return get_array_module(x).clip(x, min_val, max_val)

    def backward(self, g):
        return g * self.inside


def _hardtanh(x, min_val=-1.0, max_val=1.0):
    return Hardtanh.apply(x, min_val=min_val, max_val=max_val)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    r"""$\min(\max(x, \text{min\_val}), \text{max\_val})$, a piecewise-linear tanh."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val {min_val} cannot be greater than max_val {max_val}")
    return _apply(input, _hardtanh, inplace, min_val=min_val, max_val=max_val)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    r"""$\min(\max(x, 0), 6)$ (Krizhevsky, 2010; MobileNets): ``hardtanh(x, 0, 6)``."""
    return _apply(input, _hardtanh, inplace, min_val=0.0, max_val=6.0)


class Hardsigmoid(Function):
    r"""$y = \min(\max(x/6 + 1/2, 0), 1)$;  $y' = 1/6$ for $-3 < x < 3$, else 0."""

    def forward(self, x):
        xp = get_array_module(x)
        self.inside = (x > -3) & (x < 3)
        return xp.clip(x / 6 + 0.5, 0, 1).astype(x.dtype)

    def backward(self, g):
        return g * self.inside / 6


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    r"""Piecewise-linear sigmoid $\operatorname{relu6}(x + 3)/6$ (MobileNetV3, Howard et al., 2019)."""
    return _apply(as_float(input), _hardsigmoid, inplace)


def _hardsigmoid(x):
    return Hardsigmoid.apply(x)


_hardsigmoid.__name__ = "hardsigmoid"


class Hardswish(Function):
    r"""$y = x\,\operatorname{relu6}(x + 3)/6$: 0 for $x \le -3$, $x$ for $x \ge 3$, $x(x+3)/6$ between.

    $y' = 0$ for $x < -3$, $x/3 + 1/2$ for $-3 \le x \le 3$, 1 above (PyTorch's choice at the kinks).
    """

    def forward(self, x):
        xp = get_array_module(x)
        self.x = x
        return (x * xp.clip(x + 3, 0, 6) / 6).astype(x.dtype)

    def backward(self, g):
        xp = get_array_module(g)
        x = self.x
        return g * xp.where(x < -3, 0, xp.where(x <= 3, x / 3 + 0.5, 1))


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    r"""$x\,\operatorname{relu6}(x + 3)/6$ (MobileNetV3, Howard et al., 2019)."""
    return _apply(as_float(input), _hardswish, inplace)


def _hardswish(x):
    return Hardswish.apply(x)


_hardswish.__name__ = "hardswish"


class Hardshrink(Function):
    r"""$y = x$ where $|x| > \lambda$, else 0;  $y' = [\,|x| > \lambda\,]$."""

    def forward(self, x, lambd):
        self.keep = get_array_module(x).abs(x) > lambd
        return x * self.keep

    def backward(self, g):
        return g * self.keep


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    r"""$x$ where $|x| > \lambda$, else 0."""
    return Hardshrink.apply(input, lambd=lambd)


class Softshrink(Function):
    r"""$y = x - \lambda$ for $x > \lambda$, $x + \lambda$ for $x < -\lambda$, else 0;
    $y' = [\,|x| > \lambda\,]$."""

    def forward(self, x, lambd):
        xp = get_array_module(x)
        self.keep = xp.abs(x) > lambd
        return (xp.sign(x) * xp.maximum(xp.abs(x) - lambd, 0)).astype(x.dtype)

    def backward(self, g):
        return g * self.keep


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    r"""Soft thresholding, $\operatorname{sign}(x)\max(|x| - \lambda, 0)$."""
    if lambd < 0:
        raise RuntimeError(f"softshrink: lambda must be >= 0, got {lambd}")
    return Softshrink.apply(input, lambd=lambd)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:  # noqa: A002
    r"""$x$ where $x >$ ``threshold``, else ``value`` (``F.threshold``); the gradient is
    $[x > \text{threshold}]$ (through ``where``)."""
    from minigrad.ops.elementwise import where

    def _threshold(x):
        return where(x._data > threshold, x, value)

    _threshold.__name__ = "threshold"
    return _apply(input, _threshold, inplace)


class PReLU(Function):
    r"""$y = x$ for $x > 0$, else $a\,x$, with a learned slope $a$ (one, or one per channel, dim 1).

    $\partial y/\partial x = 1$ or $a$;  $\partial L/\partial a = \sum g\,x\,[x \le 0]$ over the
    positions that share $a$ (the engine's ``unbroadcast`` does the sum).
    """

    broadcasts = True

    def forward(self, x, a):
        xp = get_array_module(x)
        self.x, self.a = x, a
        return xp.where(x > 0, x, a * x).astype(x.dtype)

    def backward(self, g):
        xp = get_array_module(g)
        negative = self.x <= 0
        dx = g * xp.where(negative, self.a, 1)
        da = g * self.x * negative if self.needs_input_grad[1] else None
        return dx, da


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    r"""Parametric ReLU (He et al., 2015): $\max(0, x) + a \min(0, x)$; ``weight`` has 1 element
    or one per channel (dim 1 of ``input``)."""
    n = weight.numel()
    if n != 1 and (input.ndim < 2 or input.shape[1] != n):
        raise RuntimeError(f"prelu: weight of {n} elements must be a single number or one per channel "
                           f"(dim 1 of input {input.shape})")
    w = weight.reshape(()) if n == 1 else weight.reshape((n,) + (1,) * (input.ndim - 2))
    return PReLU.apply(input, w)


def rrelu(input: Tensor, lower: float = 1 / 8, upper: float = 1 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    r"""Randomized leaky ReLU (Xu et al., 2015). In evaluation (``training=False``, the default) it
    is the leaky ReLU with slope $(\text{lower} + \text{upper})/2$; in training each negative
    element draws its slope from $U(\text{lower}, \text{upper})$."""
    from minigrad.ops.elementwise import LeakyReLU

    if not training:
        def _rrelu(x):
            return LeakyReLU.apply(x, slope=(lower + upper) / 2)
    else:
        from minigrad.random import get_rng

        def _rrelu(x):
            slopes = get_rng().uniform(lower, upper, size=x.shape).astype(x.dtype)
            xp = get_array_module(x._data)
            return PReLU.apply(x, Tensor._wrap(xp.asarray(slopes)))

    _rrelu.__name__ = "rrelu"
    return _apply(as_float(input), _rrelu, inplace)


# ============================================================================ along a dim


def softmin(input: Tensor, dim=None, *, dtype=None) -> Tensor:
    r"""$\operatorname{softmax}(-x)$ along ``dim`` (default the last, as minigrad's softmax):
    $y_i = e^{-x_i} / \sum_j e^{-x_j}$. The gradient flows through ``neg`` and ``softmax``."""
    from minigrad.ops.reduce import softmax

    if dtype is not None:
        input = input.to(dtype)
    return softmax(-as_float(input), dim=dim)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    r"""Gated linear unit (Dauphin et al., 2017): split ``input`` in halves $a, b$ along ``dim``,
    $y = a \odot \sigma(b)$; the gradient flows through ``chunk``, ``sigmoid`` and ``mul``."""
    from minigrad.ops.elementwise import sigmoid
    from minigrad.ops.shape import chunk

    if input.ndim == 0:
        raise RuntimeError("glu: does not support scalars because halving size must be even")
    size = input.shape[dim]
    if size % 2:
        raise RuntimeError(f"glu: halving dimension must be even, but dimension {dim} is size {size} "
                           f"(input {input.shape})")
    a, b = chunk(input, 2, dim)
    return a * sigmoid(b)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    r"""$x / \max(\lVert x \rVert_p, \epsilon)$ along ``dim`` (``F.normalize``); the gradient flows
    through ``norm``, ``clamp`` and ``div``."""
    from minigrad.ops.linalg import norm

    return input / norm(input, p, dim=dim, keepdim=True).clamp(min=eps)


def tanhshrink(input: Tensor) -> Tensor:
    r"""$x - \tanh x$; through ``sub`` and ``tanh``."""
    from minigrad.ops.elementwise import tanh

    return input - tanh(input)


__all__ = [
    "silu", "elu", "selu", "celu", "softplus", "mish", "softsign", "logsigmoid", "hardtanh",
    "relu6", "hardsigmoid", "hardswish", "hardshrink", "softshrink", "threshold", "prelu", "rrelu",
    "softmin", "glu",
]
