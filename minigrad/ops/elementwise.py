"""Elementwise ops: arithmetic, math functions and activations.

Each op is a forward and a backward side by side. ``g`` is the gradient of the
loss with respect to the op's output, dL/dy; backward returns dL/dx = g * dy/dx.
Binary ops broadcast their inputs (``broadcasts = True``); the engine sums their
gradients back to each input's shape with ``unbroadcast``.
"""

from __future__ import annotations

import math

import numpy as np

from minigrad import backend
from minigrad.backend import get_array_module
from minigrad.ops._util import as_float, lift, lift_pair
from minigrad.ops.special import erf_fast, normal_cdf
from minigrad.ops.stable import stable_sigmoid  # the one stable sigmoid (re-exported for callers)
from minigrad.tensor import Function, Tensor, get_default_dtype
from minigrad.threads import blockwise

# ============================================================================ arithmetic


class Add(Function):
    """y = a + b;  dy/da = 1, dy/db = 1."""

    broadcasts = True

    def forward(self, a, b):
        return a + b

    def backward(self, g):
        return g, g


class Sub(Function):
    """y = a - b;  dy/da = 1, dy/db = -1."""

    broadcasts = True

    def forward(self, a, b):
        return a - b

    def backward(self, g):
        return g, -g


class Mul(Function):
    """y = a * b;  dy/da = b, dy/db = a."""

    broadcasts = True

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        return g * self.b, g * self.a


class Div(Function):
    """y = a / b;  dy/da = 1/b, dy/db = -a/b^2."""

    broadcasts = True

    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        gb = g / self.b
        return gb, -gb * self.a / self.b


class Neg(Function):
    """y = -x;  dy/dx = -1."""

    def forward(self, x):
        return -x

    def backward(self, g):
        return -g


class PowScalar(Function):
    """y = x^p for a constant p;  dy/dx = p x^(p-1)."""

    def forward(self, x, p):
        self.x, self.p = x, p
        return x**p

    def backward(self, g):
        if self.p == 0:  # x^0 = 1 everywhere: zero slope (p x^(p-1) would be 0·∞ at x = 0)
            return g * 0
        return g * self.p * self.x ** (self.p - 1)


class Pow(Function):
    """y = a^b for tensors;  dy/da = b a^(b-1)  (taken as 0 where b = 0),
    dy/db = a^b ln a  (taken as 0 where a <= 0)."""

    broadcasts = True

    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = a**b
        return self.y

    def backward(self, g):
        xp = get_array_module(g)
        a, b = self.a, self.b
        with np.errstate(divide="ignore", invalid="ignore"):  # 0^(-1) in the discarded branch
            ga = xp.where(b == 0, 0, g * b * a ** (b - 1))  # a^0 = 1: slope 0, also at a = 0
        positive = a > 0
        log_a = xp.log(xp.where(positive, a, 1))
        gb = g * xp.where(positive, self.y * log_a, 0)
        return ga, gb


def add(input, other, *, alpha=1) -> Tensor:
    r"""Adds `other`, scaled by `alpha`, to `input` elementwise, broadcasting (`torch.add`, `input + other`).

    $y_i = a_i + \alpha b_i$.
    Gradient: $\partial L/\partial a_i = g_i$, $\partial L/\partial b_i = \alpha g_i$
    (each summed back to its input's shape over the broadcast dims).

    Args:
        input: A tensor or a number.
        other: A tensor or a number (at least one of `input`, `other` is a tensor).
        alpha: The multiplier $\alpha$ of `other`.

    Returns:
        The sum, of the broadcast shape and the promoted dtype.
    """
    return Add.apply(*lift_pair(input, other if alpha == 1 else mul(other, alpha)))


def sub(input, other, *, alpha=1) -> Tensor:
    r"""Subtracts `other`, scaled by `alpha`, from `input`, broadcasting (`torch.sub`, `input - other`).

    $y_i = a_i - \alpha b_i$.
    Gradient: $\partial L/\partial a_i = g_i$, $\partial L/\partial b_i = -\alpha g_i$
    (each summed back to its input's shape over the broadcast dims).

    Args:
        input: A tensor or a number.
        other: A tensor or a number (at least one of `input`, `other` is a tensor).
        alpha: The multiplier $\alpha$ of `other`.

    Returns:
        The difference, of the broadcast shape and the promoted dtype.
    """
    return Sub.apply(*lift_pair(input, other if alpha == 1 else mul(other, alpha)))


def mul(input, other) -> Tensor:
    r"""Multiplies `input` by `other` elementwise, with broadcasting (`torch.mul`, `input * other`).

    $y_i = a_i b_i$.
    Gradient: $\partial L/\partial a_i = g_i b_i$, $\partial L/\partial b_i = g_i a_i$
    (each summed back to its input's shape over the broadcast dims).

    Args:
        input: A tensor or a Python number.
        other: A tensor or a Python number (at least one of `input`, `other` is a tensor).

    Returns:
        The product, of the broadcast shape and the promoted dtype.
    """
    return Mul.apply(*lift_pair(input, other))


def div(input, other, *, rounding_mode=None) -> Tensor:
    r"""Divides `input` by `other` elementwise, with broadcasting (`torch.div`, `input / other`).

    `rounding_mode=None`: $y_i = a_i / b_i$, always floating point (int / int gives a float).
    Gradient: $\partial L/\partial a_i = g_i / b_i$, $\partial L/\partial b_i = -g_i a_i / b_i^2$.
    `"trunc"`: $y_i = \operatorname{trunc}(a_i / b_i)$; `"floor"`: $y_i = \lfloor a_i / b_i \rfloor$, as `//`.
    These step functions keep integer dtypes; their result is detached (no gradient; PyTorch's is 0).

    Args:
        input: The dividend, a tensor or a number.
        other: The divisor, a tensor or a number.
        rounding_mode: `None`, `"trunc"` (toward zero) or `"floor"` (down); else a `ValueError`.

    Returns:
        The quotient, of the broadcast shape.
    """
    input, other = lift_pair(input, other)
    if rounding_mode is None:
        return Div.apply(as_float(input), as_float(other))  # int / int is a float, as in PyTorch
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")
    xp = backend.get_array_module(input._data)
    if input.dtype.kind in "biu" and other.dtype.kind in "biu":
        q = xp.floor_divide(input._data, other._data)
        if rounding_mode == "trunc":  # floor and trunc differ where the signs differ
            q = q + ((q < 0) & (q * other._data != input._data))
        return Tensor._wrap(q)
    q = input._data / other._data
    return Tensor._wrap(xp.trunc(q) if rounding_mode == "trunc" else xp.floor(q))


def neg(input: Tensor) -> Tensor:
    r"""Returns the negative of the elements of `input` (`torch.neg`, `-input`).

    $y_i = -x_i$.
    Gradient: $\partial L/\partial x_i = -g_i$.

    Args:
        input: The input tensor.

    Returns:
        A tensor of the shape and dtype of `input`.
    """
    return Neg.apply(input)


def pow(input, exponent) -> Tensor:  # noqa: A001 - the PyTorch name
    r"""Takes the power of each element of `input` with exponent `exponent`, with broadcasting (`torch.pow`).

    $y_i = a_i^{\,b_i}$. Gradient: $\partial L/\partial a_i = g_i\, b_i a_i^{\,b_i - 1}$, taken as 0 where
    $b_i = 0$ (even at $a_i = 0$); $\partial L/\partial b_i = g_i\, y_i \ln a_i$ where $a_i > 0$, else 0.

    Args:
        input: The base, a tensor or a number.
        exponent: The exponent, a tensor or a number (an int keeps an integer `input` integer).

    Returns:
        The power, of the broadcast shape.

    Raises:
        RuntimeError: An integer tensor raised to a negative integer power.
    """
    if isinstance(input, Tensor) and not isinstance(exponent, Tensor) and np.ndim(exponent) == 0:
        # a NumPy scalar must not widen input
        p = exponent.item() if isinstance(exponent, np.generic) else exponent
        if input.dtype.kind in "iu" and isinstance(p, int) and p < 0:
            raise RuntimeError(f"pow: integers to negative integer powers are not allowed "
                               f"(tensor of dtype {input.dtype}, exponent {p})")
        return PowScalar.apply(as_float(input) if isinstance(p, float) else input, p=p)
    input, exponent = lift_pair(input, exponent)
    if (input.dtype.kind in "iu" and exponent.dtype.kind in "iu" and exponent._data.size
            and bool((exponent._data < 0).any())):
        raise RuntimeError(f"pow: integers to negative integer powers are not allowed "
                           f"(shapes {input.shape} ** {exponent.shape}, "
                           f"dtype {input.dtype} ** {exponent.dtype})")
    return Pow.apply(input, exponent)


# ============================================================================ math functions


class Exp(Function):
    """y = e^x;  dy/dx = e^x = y."""

    def forward(self, x):
        self.y = get_array_module(x).exp(x)
        return self.y

    def backward(self, g):
        return g * self.y


class Log(Function):
    """y = ln x;  dy/dx = 1/x."""

    def forward(self, x):
        self.x = x
        return get_array_module(x).log(x)

    def backward(self, g):
        return g / self.x


class Sqrt(Function):
    """y = sqrt(x);  dy/dx = 1 / (2 sqrt(x)) = 1 / (2y)."""

    def forward(self, x):
        self.y = get_array_module(x).sqrt(x)
        return self.y

    def backward(self, g):
        return g / (2 * self.y)


class Abs(Function):
    """y = |x|;  dy/dx = sign(x)  (0 at x = 0, the subgradient PyTorch picks)."""

    def forward(self, x):
        self.x = x
        return get_array_module(x).abs(x)

    def backward(self, g):
        return g * get_array_module(g).sign(self.x)


class Clip(Function):
    """y = min(max(x, lo), hi);  dy/dx = 1 where lo <= x <= hi, else 0."""

    def forward(self, x, lo, hi):
        xp = get_array_module(x)
        self.inside = xp.ones(x.shape, dtype=bool)
        if lo is not None:
            self.inside &= x >= lo
        if hi is not None:
            self.inside &= x <= hi
        return xp.clip(x, lo, hi)

    def backward(self, g):
        return g * self.inside


def exp(input: Tensor) -> Tensor:
    r"""Returns the exponential of the elements of `input` (`torch.exp`).

    $y_i = e^{x_i}$.
    Gradient: $\partial L/\partial x_i = g_i e^{x_i} = g_i y_i$.

    Args:
        input: The input tensor (integers become the default float dtype).

    Returns:
        A float tensor of the shape of `input`.
    """
    return Exp.apply(as_float(input))


def log(input: Tensor) -> Tensor:
    r"""Returns the natural logarithm of the elements of `input` (`torch.log`).

    $y_i = \ln x_i$ ($-\infty$ at 0, NaN for $x_i < 0$).
    Gradient: $\partial L/\partial x_i = g_i / x_i$.

    Args:
        input: The input tensor (integers become the default float dtype).

    Returns:
        A float tensor of the shape of `input`.
    """
    return Log.apply(as_float(input))


def sqrt(input: Tensor) -> Tensor:
    r"""Returns the square root of the elements of `input` (`torch.sqrt`).

    $y_i = \sqrt{x_i}$ (NaN for $x_i < 0$).
    Gradient: $\partial L/\partial x_i = g_i / (2\sqrt{x_i}) = g_i / (2 y_i)$ (infinite slope at $x_i = 0$).

    Args:
        input: The input tensor (integers become the default float dtype).

    Returns:
        A float tensor of the shape of `input`.
    """
    return Sqrt.apply(as_float(input))


def abs(input: Tensor) -> Tensor:  # noqa: A001 - the PyTorch name
    r"""Computes the absolute value of each element of `input` (`torch.abs`).

    $y_i = |x_i|$.
    Gradient: $\partial L/\partial x_i = g_i \operatorname{sign}(x_i)$, which is 0 at $x_i = 0$
    (the subgradient PyTorch picks).

    Args:
        input: The input tensor (integers stay integers).

    Returns:
        A tensor of the shape and dtype of `input`.
    """
    return Abs.apply(input)


def clip(input: Tensor, min=None, max=None) -> Tensor:  # noqa: A002 - PyTorch's argument names
    r"""Clamps all elements of `input` into the range [`min`, `max`] (`torch.clamp`; `clip` is the same).

    $y_i = \min(\max(x_i, \text{min}), \text{max})$; a bound that is `None` is not applied. Gradient:
    $\partial L/\partial x_i = g_i$ where $\text{min} \le x_i \le \text{max}$ (both ends included), else 0.
    Tensor bounds broadcast and receive $g_i$ where they supply $y_i$ ($x_i < \text{min}_i$ or
    $x_i > \text{max}_i$). Where $\text{min} > \text{max}$, $y_i = \text{max}$, as in PyTorch.

    Args:
        input: The input tensor.
        min: The lower bound (a number or a tensor), or `None`.
        max: The upper bound (a number or a tensor), or `None` (both `None` is a `ValueError`).

    Returns:
        The clamped tensor, of the broadcast shape of `input` and the bounds.
    """
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return _clamp_tensor(input, min, max)
    return Clip.apply(input, lo=min, hi=max)


clamp = clip


# ============================================================================ activations


class Tanh(Function):
    """y = tanh x;  dy/dx = 1 - y^2."""

    def forward(self, x):
        self.y = get_array_module(x).tanh(x)
        return self.y

    def backward(self, g):
        return g * (1 - self.y * self.y)


class Sigmoid(Function):
    """y = 1 / (1 + e^-x);  dy/dx = y (1 - y).

    Computed from e^-|x|, which never overflows: for x >= 0, y = 1 / (1 + e^-x);
    for x < 0, y = e^x / (1 + e^x). Both only exponentiate a non-positive number.
    """

    def forward(self, x):
        self.y = stable_sigmoid(x)
        return self.y

    def backward(self, g):
        return g * self.y * (1 - self.y)




class ReLU(Function):
    """y = max(x, 0);  dy/dx = 1 for x > 0, else 0."""

    def forward(self, x):
        xp = get_array_module(x)
        self.positive, y = xp.empty_like(x, dtype=bool), xp.empty_like(x)  # x's memory layout
        blockwise(_relu_rows, x, self.positive, y)  # blocks of rows on threads
        return y

    def backward(self, g):
        dx = get_array_module(g).empty_like(g)
        blockwise(_relu_backward_rows, g, self.positive, dx)
        return dx


def _relu_rows(x, positive, y):
    """ReLU on a block: positive = [x > 0], y = max(x, 0) (several times faster than x · mask)."""
    xp = get_array_module(x)
    xp.greater(x, 0, out=positive)
    xp.maximum(x, 0, out=y)


def _relu_backward_rows(g, positive, dx):
    get_array_module(g).multiply(g, positive, out=dx)


class LeakyReLU(Function):
    """y = x for x > 0, else slope * x;  dy/dx = 1 for x > 0, else slope (slope at x = 0)."""

    def forward(self, x, slope):
        xp = get_array_module(x)
        self.scale = xp.where(x > 0, 1, slope).astype(x.dtype)
        return x * self.scale

    def backward(self, g):
        return g * self.scale


_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


_ERFC_COEFFS = (  # P(t), highest power first (Numerical Recipes' erfcc)
    0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807,
    -0.18628806, 0.09678418, 0.37409196, 1.00002368, -1.26551223,
)


def _erf_fast(x, complement: bool = False):
    """The error function on arrays, to about 1.2e-7 (below float32 resolution); with
    ``complement=True`` erfc = 1 - erf, to about 1.2e-7 *relative* error.

    NumPy has no ``erf``; this is the Chebyshev fit of Numerical Recipes (``erfcc``,
    Press et al., 2007, sec. 6.2.2): erfc(z) = t exp(-z² + P(t)), t = 1 / (1 + z/2),
    z = |x|. P is evaluated by Horner's rule in place: one temporary array, not twenty.
    """
    xp = get_array_module(x)
    z = xp.abs(x)
    t = 1 / (1 + 0.5 * z)
    poly = xp.full_like(t, _ERFC_COEFFS[0])
    for c in _ERFC_COEFFS[1:]:
        poly *= t
        poly += c
    poly -= z * z
    erfc = xp.exp(poly, out=poly)
    erfc *= t
    if complement:
        return xp.where(x >= 0, erfc, 2 - erfc)
    return xp.where(x >= 0, 1 - erfc, erfc - 1)


class GELU(Function):
    """Gaussian Error Linear Unit (Hendrycks & Gimpel, 2016), y = x Φ(x).

    exact:  Φ(x) = (1 + erf(x / √2)) / 2,  dy/dx = Φ(x) + x φ(x),  φ(x) = e^(-x²/2) / √(2π)
    tanh:   y = x/2 (1 + tanh u),  u = √(2/π) (x + 0.044715 x³)   (GPT-2's approximation)
            dy/dx = (1 + tanh u)/2 + x/2 (1 - tanh² u) √(2/π) (1 + 3·0.044715 x²)
    """

    def forward(self, x, approximate):
        xp = get_array_module(x)
        self.x, self.approximate = x, approximate
        if approximate == "tanh":  # in place, in blocks on several threads
            self.x2, self.t, y = (xp.empty(x.shape, x.dtype) for _ in range(3))
            blockwise(_gelu_tanh_forward, *_flat(x, self.x2, self.t, y))
            return y
        if xp is np and x.dtype == np.float32:  # fast path: in place, blocks on several threads
            self.cdf, y = np.empty_like(x, order="C"), np.empty_like(x, order="C")
            blockwise(_gelu_exact_forward, *_flat(x, self.cdf, y))
            return y
        # Φ(x) = (1 + erf(x/√2))/2; float32: the fast tanh fit with 1/√2 folded in (ops/special.py)
        self.cdf = normal_cdf(x)
        return x * self.cdf

    def backward(self, g):
        xp = get_array_module(g)
        x = self.x
        if self.approximate == "tanh":
            dx = xp.empty(self.t.shape, self.t.dtype)
            blockwise(_gelu_tanh_backward, *_flat(x, self.x2, self.t, g, dx))
            return dx
        if xp is np and g.dtype == np.float32 and self.cdf.dtype == np.float32:  # fast path
            dx = np.empty_like(self.cdf)
            blockwise(_gelu_exact_backward, *_flat(x, self.cdf, g, dx))
            return dx
        pdf = _INV_SQRT_2PI * xp.exp(-0.5 * x * x)
        return g * (self.cdf + x * pdf)


def _flat(*arrays):
    """Flat C-order views (copies where an array is not C-contiguous) for `blockwise`."""
    return [get_array_module(a).ascontiguousarray(a).reshape(-1) for a in arrays]


def _gelu_tanh_forward(x, x2, t, y):
    """GPT-2's tanh GELU on one block, in place: x2 = x², t = tanh u with
    u = √(2/π) (x + 0.044715 x³), y = x (1 + t) / 2. (x·x·x, not x**3: NumPy's float32
    power is ~30x slower.)"""
    xp = get_array_module(x)
    xp.multiply(x, x, out=x2)
    xp.multiply(x2, x, out=t)
    t *= 0.044715
    t += x
    t *= _SQRT_2_OVER_PI
    xp.tanh(t, out=t)
    xp.add(t, 1, out=y)
    y *= x
    y *= 0.5


def _gelu_tanh_backward(x, x2, t, g, dx):
    """Its backward on one block, into dx (one temporary):
    dx = g [(1 + t)/2 + x/2 (1 - t²) √(2/π) (1 + 3·0.044715 x²)]."""
    xp = get_array_module(x)
    du = x2 * (3 * 0.044715)  # du/dx / √(2/π)
    du += 1
    du *= _SQRT_2_OVER_PI
    xp.multiply(t, t, out=dx)
    xp.subtract(1, dx, out=dx)
    dx *= x
    dx *= du
    dx += t
    dx += 1
    dx *= 0.5
    dx *= g


def _gelu_exact_forward(x, cdf, y):
    """The exact GELU's forward on one block, in place: cdf = Φ(x), y = x Φ(x)."""
    normal_cdf(x, out=cdf)
    np.multiply(x, cdf, out=y)


def _gelu_exact_backward(x, cdf, g, dx):
    """The exact GELU's backward on one block, in place (no temporary):
    dx = g (Φ(x) + x φ(x)), φ(x) = e^(-x²/2) / √(2π)."""
    np.multiply(x, x, out=dx)
    dx *= np.float32(-0.5)
    np.exp(dx, out=dx)
    dx *= x
    dx *= np.float32(_INV_SQRT_2PI)
    dx += cdf
    dx *= g


def tanh(input: Tensor) -> Tensor:  # noqa: A002
    r"""Returns the hyperbolic tangent of the elements of `input` (`torch.tanh`).

    $y_i = \tanh x_i = (e^{x_i} - e^{-x_i}) / (e^{x_i} + e^{-x_i})$.
    Gradient: $\partial L/\partial x_i = g_i (1 - \tanh^2 x_i) = g_i (1 - y_i^2)$.

    Args:
        input: The input tensor (integers become the default float dtype).

    Returns:
        A float tensor of the shape of `input`, with values in $[-1, 1]$.
    """
    return Tanh.apply(as_float(input))


def sigmoid(input: Tensor) -> Tensor:  # noqa: A002
    r"""Computes the logistic sigmoid of the elements of `input` (`torch.sigmoid`).

    $y_i = \sigma(x_i) = 1 / (1 + e^{-x_i})$, computed from $e^{-|x_i|}$ so that nothing overflows.
    Gradient: $\partial L/\partial x_i = g_i\, \sigma(x_i)(1 - \sigma(x_i)) = g_i y_i (1 - y_i)$.

    Args:
        input: The input tensor (integers become the default float dtype).

    Returns:
        A float tensor of the shape of `input`, with values in $[0, 1]$.
    """
    return Sigmoid.apply(as_float(input))


def relu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    r"""Applies the rectified linear unit elementwise (Nair & Hinton, 2010; `torch.relu`).

    $y_i = \max(x_i, 0)$.
    Gradient: $\partial L/\partial x_i = g_i$ where $x_i > 0$, else 0 (0 at the kink $x_i = 0$, as PyTorch).

    Args:
        input: The input tensor (integers stay integers).
        inplace: Write the result into `input` and return it (`F.relu(h, inplace=True)`, `x.relu_()`).

    Returns:
        A tensor of the shape and dtype of `input` (`input` itself when `inplace`).
    """
    if inplace:
        return input._inplace(relu)
    return ReLU.apply(input)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:  # noqa: A002
    r"""Applies the leaky ReLU elementwise (Maas et al., 2013; `torch.nn.functional.leaky_relu`).

    $y_i = x_i$ for $x_i > 0$, else $\alpha x_i$, with $\alpha$ = `negative_slope`
    (that is $\max(x_i, 0) + \alpha \min(x_i, 0)$).
    Gradient: $\partial L/\partial x_i = g_i$ for $x_i > 0$, else $\alpha g_i$ (slope $\alpha$ at $x_i = 0$).

    Args:
        input: The input tensor.
        negative_slope: The slope $\alpha$ for negative inputs.
        inplace: Write the result into `input` and return it.

    Returns:
        A tensor of the shape and dtype of `input` (`input` itself when `inplace`).
    """
    if inplace:
        return input._inplace(leaky_relu, negative_slope)
    return LeakyReLU.apply(input, slope=negative_slope)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:  # noqa: A002
    r"""Applies the Gaussian Error Linear Unit elementwise (`torch.nn.functional.gelu`).

    `approximate="none"`: $y_i = x_i \Phi(x_i)$, with $\Phi(x) = \tfrac12(1 + \operatorname{erf}(x/\sqrt2))$
    the standard normal CDF and $\varphi(x) = e^{-x^2/2}/\sqrt{2\pi}$ its density;
    gradient $\partial L/\partial x_i = g_i (\Phi(x_i) + x_i \varphi(x_i))$.
    `"tanh"` (GPT-2's): $y_i = \tfrac12 x_i (1 + t_i)$, $t_i = \tanh(\sqrt{2/\pi}\,(x_i + 0.044715\,x_i^3))$;
    gradient $g_i (\tfrac12(1 + t_i) + \tfrac12 x_i (1 - t_i^2) \sqrt{2/\pi}\,(1 + 3 \cdot 0.044715\,x_i^2))$.

    Args:
        input: The input tensor (integers become the default float dtype).
        approximate: `"none"` (exact, with erf) or `"tanh"`; anything else is a `ValueError`.

    Returns:
        A float tensor of the shape of `input`.
    """
    x = input
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    if x.ndim == 0:  # the in-place tanh chain needs an array, not a NumPy scalar
        return GELU.apply(as_float(x).reshape(1), approximate=approximate).reshape(())
    return GELU.apply(as_float(x), approximate=approximate)


# ============================================================================ selection


class Maximum(Function):
    """y = max(a, b);  the gradient goes to the larger input, split evenly on ties."""

    broadcasts = True

    def forward(self, a, b):
        self.a, self.b = a, b
        return get_array_module(a).maximum(a, b)

    def backward(self, g):
        a_wins = (self.a > self.b) + 0.5 * (self.a == self.b)
        return g * a_wins, g * (1 - a_wins)


class Minimum(Function):
    """y = min(a, b);  the gradient goes to the smaller input, split evenly on ties."""

    broadcasts = True

    def forward(self, a, b):
        self.a, self.b = a, b
        return get_array_module(a).minimum(a, b)

    def backward(self, g):
        a_wins = (self.a < self.b) + 0.5 * (self.a == self.b)
        return g * a_wins, g * (1 - a_wins)


class Where(Function):
    """y = a where cond else b;  dy/da = cond, dy/db = not cond (cond gets no gradient)."""

    broadcasts = True

    def forward(self, a, b, cond):
        self.cond = cond
        return get_array_module(a).where(cond, a, b)

    def backward(self, g):
        zero = g.dtype.type(0)
        xp = get_array_module(g)
        return xp.where(self.cond, g, zero), xp.where(self.cond, zero, g)


def maximum(input, other) -> Tensor:
    r"""Computes the elementwise maximum of `input` and `other`, with broadcasting (`torch.maximum`).

    $y_i = \max(a_i, b_i)$ (NaN if either is NaN).
    Gradient: $g_i$ goes to the larger input; on a tie $a_i = b_i$ each gets $g_i / 2$ (as PyTorch).
    Each gradient is summed back to its input's shape.

    Args:
        input: A tensor or a number.
        other: A tensor or a number.

    Returns:
        A tensor of the broadcast shape.
    """
    return Maximum.apply(*lift_pair(input, other))


def minimum(input, other) -> Tensor:
    r"""Computes the elementwise minimum of `input` and `other`, with broadcasting (`torch.minimum`).

    $y_i = \min(a_i, b_i)$ (NaN if either is NaN).
    Gradient: $g_i$ goes to the smaller input; on a tie $a_i = b_i$ each gets $g_i / 2$ (as PyTorch).
    Each gradient is summed back to its input's shape.

    Args:
        input: A tensor or a number.
        other: A tensor or a number.

    Returns:
        A tensor of the broadcast shape.
    """
    return Minimum.apply(*lift_pair(input, other))


def _scalar_tensor(value, like) -> Tensor:
    """A Python number as a 0-d tensor with PyTorch's dtype (int64, bool, or the default float)."""
    xp = backend.get_array_module(like)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return Tensor._wrap(xp.asarray(value))
    if isinstance(value, int):
        return Tensor._wrap(xp.asarray(value, dtype=np.int64))
    return Tensor._wrap(xp.asarray(value, dtype=get_default_dtype()))


def where(condition, input=None, other=None):
    r"""Selects elements from `input` where `condition` is true, else from `other` (`torch.where`).

    $y_i = a_i$ if $c_i$ else $b_i$ ($c$ = `condition`; all three broadcast together).
    Gradient: $\partial L/\partial a_i = g_i$ where $c_i$, else 0;
    $\partial L/\partial b_i = g_i$ where not $c_i$, else 0; `condition` gets none.
    `where(condition)` alone is `nonzero(condition, as_tuple=True)`.

    Args:
        condition: A bool tensor or array (non-zero counts as true).
        input: The values where `condition` is true (a tensor or a number).
        other: The values where it is false; give both `input` and `other` or neither (else a `TypeError`).

    Returns:
        A tensor of the broadcast shape, or for `where(condition)` a tuple of index tensors.
    """
    if input is None and other is None:
        from minigrad.ops.index import nonzero

        return nonzero(condition, as_tuple=True)
    if input is None or other is None:
        raise TypeError("where: pass both a and b, or neither (where(condition) gives indices)")
    cond = condition._data if isinstance(condition, Tensor) else condition
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):  # where(cond, 4, 2)
        input = _scalar_tensor(input, cond)
    input, other = lift_pair(input, other)
    xp = backend.get_array_module(input._data)
    cond = xp.asarray(cond, dtype=bool)
    # the gradient of each input must have the full broadcast shape before unbroadcast
    shape = np.broadcast_shapes(cond.shape, input.shape, other.shape)
    if cond.shape != shape:
        cond = xp.broadcast_to(cond, shape)
    return Where.apply(input, other, cond=cond)


# ============================================================================ dtype and device


class Cast(Function):
    """y = x as another dtype; the gradient is cast back."""

    def forward(self, x, dtype):
        self.dtype = x.dtype
        return x.astype(dtype)

    def backward(self, g):
        return g.astype(self.dtype)


class ToDevice(Function):
    """Copy between CPU (NumPy) and GPU (CuPy); the gradient is copied back."""

    def forward(self, x, device):
        self.device = backend.device_of(x)
        return backend.to_device(x, device)

    def backward(self, g):
        return backend.to_device(g, self.device)


def cast(x: Tensor, dtype) -> Tensor:
    r"""Converts `x` to `dtype` (PyTorch's `Tensor.to(dtype)`).

    $y_i = x_i$ in the new dtype (rounded to a narrower float; float to int truncates toward zero).
    Gradient (float to float): $\partial L/\partial x_i = g_i$, cast back to the dtype of `x`.
    Casting to a non-float dtype gives a result with no gradient; the same dtype returns `x` itself.

    Args:
        x: The input tensor.
        dtype: The target dtype (anything `numpy.dtype` accepts).

    Returns:
        A tensor of the shape of `x` and dtype `dtype`.
    """
    dtype = np.dtype(dtype)
    if dtype == x.dtype:
        return x
    if dtype.kind != "f" and x.requires_grad:
        return Tensor._wrap(x._data.astype(dtype))  # integer results carry no gradient
    return Cast.apply(x, dtype=dtype)


def to_device(x: Tensor, device: str) -> Tensor:
    r"""Copies `x` to `device` (PyTorch's `Tensor.to(device)`).

    $y_i = x_i$, stored on the other device (NumPy on the CPU, CuPy on the GPU).
    Gradient: $\partial L/\partial x_i = g_i$, copied back to the device of `x`.

    Args:
        x: The input tensor.
        device: `"cpu"` or `"cuda"` (`"cuda:0"` is accepted; another name is a `ValueError`).

    Returns:
        A tensor with the values of `x` on `device` (`x` itself if it is already there).

    Raises:
        RuntimeError: `"cuda"` without a usable GPU.
    """
    if backend.normalize_device(device) == x.device:
        return x
    return ToDevice.apply(x, device=device)


# ============================================================================ more math functions
#
# One Function per formula. ``as_float`` makes integer inputs float32 first, as PyTorch does.


class Sin(Function):
    r"""$y = \sin x$;  $y' = \cos x$."""

    def forward(self, x):
        self.x = x
        return get_array_module(x).sin(x)

    def backward(self, g):
        return g * get_array_module(g).cos(self.x)


class Cos(Function):
    r"""$y = \cos x$;  $y' = -\sin x$."""

    def forward(self, x):
        self.x = x
        return get_array_module(x).cos(x)

    def backward(self, g):
        return -g * get_array_module(g).sin(self.x)


class Tan(Function):
    r"""$y = \tan x$;  $y' = 1 + \tan^2 x = 1 + y^2$."""

    def forward(self, x):
        self.y = get_array_module(x).tan(x)
        return self.y

    def backward(self, g):
        return g * (1 + self.y * self.y)


class Asin(Function):
    r"""$y = \arcsin x$;  $y' = 1/\sqrt{1 - x^2}$."""

    def forward(self, x):
        self.x = x
        return get_array_module(x).arcsin(x)

    def backward(self, g):
        return g / get_array_module(g).sqrt(1 - self.x * self.x)


class Acos(Function):
    r"""$y = \arccos x$;  $y' = -1/\sqrt{1 - x^2}$."""

    def forward(self, x):
        self.x = x
        return get_array_module(x).arccos(x)

    def backward(self, g):
        return -g / get_array_module(g).sqrt(1 - self.x * self.x)


class Atan(Function):
    r"""$y = \arctan x$;  $y' = 1/(1 + x^2)$."""

    def forward(self, x):
        self.x = x
        return get_array_module(x).arctan(x)

    def backward(self, g):
        return g / (1 + self.x * self.x)


class Sinh(Function):
    r"""$y = \sinh x$;  $y' = \cosh x$."""

    def forward(self, x):
        self.x = x
        return get_array_module(x).sinh(x)

    def backward(self, g):
        return g * get_array_module(g).cosh(self.x)


class Cosh(Function):
    r"""$y = \cosh x$;  $y' = \sinh x$."""

    def forward(self, x):
        self.x = x
        return get_array_module(x).cosh(x)

    def backward(self, g):
        return g * get_array_module(g).sinh(self.x)


class Asinh(Function):
    r"""$y = \operatorname{arsinh} x$;  $y' = 1/\sqrt{x^2 + 1}$."""

    def forward(self, x):
        self.x = x
        return get_array_module(x).arcsinh(x)

    def backward(self, g):
        return g / get_array_module(g).sqrt(self.x * self.x + 1)


class Acosh(Function):
    r"""$y = \operatorname{arcosh} x$ ($x \ge 1$);  $y' = 1/\sqrt{x^2 - 1}$."""

    def forward(self, x):
        self.x = x
        return get_array_module(x).arccosh(x)

    def backward(self, g):
        return g / get_array_module(g).sqrt(self.x * self.x - 1)


class Atanh(Function):
    r"""$y = \operatorname{artanh} x$ ($|x| < 1$);  $y' = 1/(1 - x^2)$."""

    def forward(self, x):
        self.x = x
        return get_array_module(x).arctanh(x)

    def backward(self, g):
        return g / (1 - self.x * self.x)


class LogBase(Function):
    r"""$y = \log_b x = \ln x / \ln b$ (b = 2 or 10);  $y' = 1/(x \ln b)$."""

    def forward(self, x, base):
        xp = get_array_module(x)
        self.x, self.ln_base = x, math.log(base)
        return xp.log2(x) if base == 2 else xp.log10(x)

    def backward(self, g):
        return g / (self.x * self.ln_base)


class Log1p(Function):
    r"""$y = \ln(1 + x)$, accurate for tiny $x$;  $y' = 1/(1 + x)$."""

    def forward(self, x):
        self.x = x
        return get_array_module(x).log1p(x)

    def backward(self, g):
        return g / (1 + self.x)


class Exp2(Function):
    r"""$y = 2^x$;  $y' = 2^x \ln 2 = y \ln 2$."""

    def forward(self, x):
        self.y = get_array_module(x).exp2(x)
        return self.y

    def backward(self, g):
        return g * self.y * math.log(2)


class Expm1(Function):
    r"""$y = e^x - 1$, accurate for tiny $x$;  $y' = e^x = y + 1$."""

    def forward(self, x):
        self.y = get_array_module(x).expm1(x)
        return self.y

    def backward(self, g):
        return g * (self.y + 1)


class Rsqrt(Function):
    r"""$y = 1/\sqrt{x}$;  $y' = -\tfrac12 x^{-3/2} = -\tfrac12 y^3$."""

    def forward(self, x):
        self.y = 1 / get_array_module(x).sqrt(x)
        return self.y

    def backward(self, g):
        return -0.5 * g * self.y * self.y * self.y


class Reciprocal(Function):
    r"""$y = 1/x$;  $y' = -1/x^2 = -y^2$."""

    def forward(self, x):
        self.y = 1 / x
        return self.y

    def backward(self, g):
        return -g * self.y * self.y


class Erf(Function):
    r"""$y = \operatorname{erf} x = \frac{2}{\sqrt\pi}\int_0^x e^{-t^2} dt$;
    $y' = \frac{2}{\sqrt\pi} e^{-x^2}$."""

    def forward(self, x):
        self.x = x
        return _erf_array(x)

    def backward(self, g):
        return g * (2 / math.sqrt(math.pi)) * get_array_module(g).exp(-self.x * self.x)


class Erfc(Function):
    r"""$y = 1 - \operatorname{erf} x$, accurate where erf x is near 1;
    $y' = -\frac{2}{\sqrt\pi} e^{-x^2}$."""

    def forward(self, x):
        self.x = x
        return _erf_array(x, complement=True)

    def backward(self, g):
        return -g * (2 / math.sqrt(math.pi)) * get_array_module(g).exp(-self.x * self.x)


class Erfinv(Function):
    r"""$y = \operatorname{erf}^{-1} x$ ($|x| < 1$);  $y' = \frac{\sqrt\pi}{2} e^{y^2}$
    (the inverse-function rule)."""

    def forward(self, x):
        self.y = _erfinv_array(x)
        return self.y

    def backward(self, g):
        return g * (math.sqrt(math.pi) / 2) * get_array_module(g).exp(self.y * self.y)


def _erf_array(x, complement: bool = False):
    """erf (or erfc) on an array: exact (Python's ``math.erf``) for float64, the fast fit for
    lower precision, CuPy's on a GPU."""
    xp = get_array_module(x)
    if xp is not np:
        import cupyx.scipy.special as special

        return special.erfc(x) if complement else special.erf(x)
    if x.dtype == np.float64:
        f = math.erfc if complement else math.erf
        return np.frompyfunc(f, 1, 1)(x).astype(np.float64).reshape(x.shape)
    # erf: the fast tanh fit (3 float32 ulps); erfc keeps the exp-based fit, which keeps the tail
    return (_erf_fast(x, True) if complement else erf_fast(x)).astype(x.dtype)


def _erfinv_array(x):
    """erf⁻¹ by Newton's method on erf, from Giles' (2010) single-precision start."""
    with np.errstate(divide="ignore", invalid="ignore"):  # ±1 and |x| > 1 give ±inf and nan
        return _erfinv_newton(x)


def _erfinv_newton(x):
    xp = get_array_module(x)
    x64 = x.astype(np.float64)
    w = -xp.log((1 - x64) * (1 + x64))
    small = w < 5
    ws, wb = w - 2.5, xp.sqrt(xp.maximum(w, 5)) - 3
    ps = xp.full_like(w, 2.81022636e-08)
    for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
              -0.00417768164, 0.246640727, 1.50140941):
        ps = ps * ws + c
    pb = xp.full_like(w, -0.000200214257)
    for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
              0.00943887047, 1.00167406, 2.83297682):
        pb = pb * wb + c
    y = xp.where(small, ps, pb) * x64
    finite = xp.abs(x64) < 1
    # Newton on a = |x|: y -= (erf y - a) / erf'(y). Near a = 1, erf y - a loses every digit to
    # cancellation, so for a > 1/2 it runs on log erfc y = log(1 - a) instead (1 - a is exact
    # there, and log erfc is nearly -y², which Newton solves in a few steps from afar):
    # y -= (log erfc y - log(1 - a)) / (d/dy log erfc y),  d/dy log erfc y = -erf'(y) / erfc y
    a, y = xp.abs(x64), xp.abs(y)
    tail = finite & (a > 0.5)
    log_tail = xp.log(xp.where(tail, 1 - a, 1))
    for _ in range(4):
        y_safe = xp.where(finite, y, 0)
        slope = 2 / math.sqrt(math.pi) * xp.exp(-y_safe * y_safe)  # erf'(y)
        erfc = _erf_array(y_safe, complement=True)
        tail_step = -(xp.log(xp.where(tail, erfc, 1)) - log_tail) * erfc / slope
        body_step = (_erf_array(y_safe) - a) / slope
        y = xp.where(finite, y - xp.where(tail, tail_step, body_step), y)
    y = xp.copysign(y, x64)
    y = xp.where(x64 == 1, np.inf, xp.where(x64 == -1, -np.inf, y))
    return y.astype(x.dtype)


class Atan2(Function):
    r"""$y = \operatorname{atan2}(a, b)$, the angle of the point $(b, a)$;
    $\partial y/\partial a = b/(a^2 + b^2)$, $\partial y/\partial b = -a/(a^2 + b^2)$."""

    broadcasts = True

    def forward(self, a, b):
        self.a, self.b = a, b
        return get_array_module(a).arctan2(a, b)

    def backward(self, g):
        r2 = self.a * self.a + self.b * self.b
        return g * self.b / r2, -g * self.a / r2


class LogAddExp(Function):
    r"""$y = \log(e^a + e^b)$, stably;
    $\partial y/\partial a = e^{a - y}$, $\partial y/\partial b = e^{b - y}$
    (a two-way softmax). ``base=2``: $y = \log_2(2^a + 2^b)$, $\partial y/\partial a = 2^{a - y}$."""

    broadcasts = True

    def forward(self, a, b, base):
        xp = get_array_module(a)
        self.a, self.b, self.base = a, b, base
        self.y = xp.logaddexp(a, b) if base == "e" else xp.logaddexp2(a, b)
        return self.y

    def backward(self, g):
        xp = get_array_module(g)
        power = xp.exp if self.base == "e" else xp.exp2
        return g * power(self.a - self.y), g * power(self.b - self.y)


class Hypot(Function):
    r"""$y = \sqrt{a^2 + b^2}$ without overflow;
    $\partial y/\partial a = a/y$, $\partial y/\partial b = b/y$ (taken as 0 where $y = 0$)."""

    broadcasts = True

    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = get_array_module(a).hypot(a, b)
        return self.y

    def backward(self, g):
        xp = get_array_module(g)
        safe = xp.where(self.y == 0, 1, self.y)
        return g * self.a / safe, g * self.b / safe


class Remainder(Function):
    r"""Python's $a \bmod b = a - b\lfloor a/b \rfloor$ (the sign of b); ``fmod``:
    $a - b\,\operatorname{trunc}(a/b)$ (the sign of a).

    $\partial y/\partial a = 1$, $\partial y/\partial b = -\lfloor a/b \rfloor$
    (or $-\operatorname{trunc}(a/b)$ for ``fmod``)."""

    broadcasts = True

    def forward(self, a, b, truncate):
        xp = get_array_module(a)
        self.a, self.b, self.truncate = a, b, truncate
        return xp.fmod(a, b) if truncate else xp.remainder(a, b)

    def backward(self, g):
        xp = get_array_module(g)
        q = self.a / self.b
        return g, -g * (xp.trunc(q) if self.truncate else xp.floor(q))


class StepFunction(Function):
    r"""A piecewise-constant function (floor, ceil, round, trunc, sign): $y' = 0$ almost everywhere,
    so the gradient is 0, as in PyTorch (the output still requires grad)."""

    def forward(self, x, fn, decimals):
        xp = get_array_module(x)
        if fn == "round":
            return xp.round(x, decimals)
        return getattr(xp, fn)(x)

    def backward(self, g):
        return get_array_module(g).zeros_like(g)


def _unary(fn, x):
    return fn.apply(as_float(x))


def sin(input: Tensor) -> Tensor:
    r"""Returns the sine of the elements of `input` (`torch.sin`).

    $y_i = \sin x_i$ ($x_i$ in radians).
    Gradient: $\partial L/\partial x_i = g_i \cos x_i$.

    Args:
        input: The input tensor (integers become the default float dtype).

    Returns:
        A float tensor of the shape of `input`.
    """
    return _unary(Sin, input)


def cos(input: Tensor) -> Tensor:
    r"""Returns the cosine of the elements of `input` (`torch.cos`).

    $y_i = \cos x_i$ ($x_i$ in radians).
    Gradient: $\partial L/\partial x_i = -g_i \sin x_i$.

    Args:
        input: The input tensor (integers become the default float dtype).

    Returns:
        A float tensor of the shape of `input`.
    """
    return _unary(Cos, input)


def tan(input: Tensor) -> Tensor:
    r"""Returns the tangent of the elements of `input` (`torch.tan`).

    $y_i = \tan x_i$ ($x_i$ in radians).
    Gradient: $\partial L/\partial x_i = g_i (1 + \tan^2 x_i) = g_i (1 + y_i^2)$.

    Args:
        input: The input tensor (integers become the default float dtype).

    Returns:
        A float tensor of the shape of `input`.
    """
    return _unary(Tan, input)


def asin(input: Tensor) -> Tensor:
    r"""Returns the arcsine of the elements of `input` (`torch.asin`; alias `arcsin`).

    $y_i = \arcsin x_i \in [-\pi/2, \pi/2]$ (NaN outside $[-1, 1]$).
    Gradient: $\partial L/\partial x_i = g_i / \sqrt{1 - x_i^2}$ (infinite slope at $x_i = \pm 1$).

    Args:
        input: The input tensor (integers become the default float dtype).

    Returns:
        A float tensor of the shape of `input`.
    """
    return _unary(Asin, input)


def acos(input: Tensor) -> Tensor:
    r"""Returns the arccosine of the elements of `input` (`torch.acos`; alias `arccos`).

    $y_i = \arccos x_i \in [0, \pi]$ (NaN outside $[-1, 1]$).
    Gradient: $\partial L/\partial x_i = -g_i / \sqrt{1 - x_i^2}$ (infinite slope at $x_i = \pm 1$).

    Args:
        input: The input tensor (integers become the default float dtype).

    Returns:
        A float tensor of the shape of `input`.
    """
    return _unary(Acos, input)


def atan(input: Tensor) -> Tensor:
    r"""Returns the arctangent of the elements of `input` (`torch.atan`; alias `arctan`).

    $y_i = \arctan x_i \in (-\pi/2, \pi/2)$.
    Gradient: $\partial L/\partial x_i = g_i / (1 + x_i^2)$.

    Args:
        input: The input tensor (integers become the default float dtype).

    Returns:
        A float tensor of the shape of `input`.
    """
    return _unary(Atan, input)


def sinh(input: Tensor) -> Tensor:
    r"""Returns the hyperbolic sine of the elements of `input` (`torch.sinh`).

    $y_i = \sinh x_i = (e^{x_i} - e^{-x_i}) / 2$.
    Gradient: $\partial L/\partial x_i = g_i \cosh x_i$.

    Args:
        input: The input tensor (integers become the default float dtype).

    Returns:
        A float tensor of the shape of `input`.
    """
    return _unary(Sinh, input)


def cosh(input: Tensor) -> Tensor:
    r"""Returns the hyperbolic cosine of the elements of `input` (`torch.cosh`).

    $y_i = \cosh x_i = (e^{x_i} + e^{-x_i}) / 2$.
    Gradient: $\partial L/\partial x_i = g_i \sinh x_i$.

    Args:
        input: The input tensor (integers become the default float dtype).

    Returns:
        A float tensor of the shape of `input`.
    """
    return _unary(Cosh, input)


def asinh(input: Tensor) -> Tensor:
    r"""Returns the inverse hyperbolic sine of the elements of `input` (`torch.asinh`; alias `arcsinh`).

    $y_i = \operatorname{arsinh} x_i = \ln\big(x_i + \sqrt{x_i^2 + 1}\big)$.
    Gradient: $\partial L/\partial x_i = g_i / \sqrt{x_i^2 + 1}$.

    Args:
        input: The input tensor (integers become the default float dtype).

    Returns:
        A float tensor of the shape of `input`.
    """
    return _unary(Asinh, input)


def acosh(input: Tensor) -> Tensor:
    r"""Returns the inverse hyperbolic cosine of the elements of `input` (`torch.acosh`; alias `arccosh`).

    $y_i = \operatorname{arcosh} x_i = \ln\big(x_i + \sqrt{x_i^2 - 1}\big) \ge 0$ (NaN for $x_i < 1$).
    Gradient: $\partial L/\partial x_i = g_i / \sqrt{x_i^2 - 1}$ (infinite slope at $x_i = 1$).

    Args:
        input: The input tensor (integers become the default float dtype).

    Returns:
        A float tensor of the shape of `input`.
    """
    return _unary(Acosh, input)


def atanh(input: Tensor) -> Tensor:
    r"""Returns the inverse hyperbolic tangent of the elements of `input` (`torch.atanh`; alias `arctanh`).

    $y_i = \operatorname{artanh} x_i = \tfrac12 \ln\frac{1 + x_i}{1 - x_i}$
    ($\pm\infty$ at $\pm 1$, NaN for $|x_i| > 1$).
    Gradient: $\partial L/\partial x_i = g_i / (1 - x_i^2)$.

    Args:
        input: The input tensor (integers become the default float dtype).

    Returns:
        A float tensor of the shape of `input`.
    """
    return _unary(Atanh, input)


arcsin, arccos, arctan = asin, acos, atan
arcsinh, arccosh, arctanh = asinh, acosh, atanh


def log2(input: Tensor) -> Tensor:
    r"""Returns the base-2 logarithm of the elements of `input` (`torch.log2`).

    $y_i = \log_2 x_i = \ln x_i / \ln 2$ ($-\infty$ at 0, NaN for $x_i < 0$).
    Gradient: $\partial L/\partial x_i = g_i / (x_i \ln 2)$.

    Args:
        input: The input tensor (integers become the default float dtype).

    Returns:
        A float tensor of the shape of `input`.
    """
    return LogBase.apply(as_float(input), base=2)


def log10(input: Tensor) -> Tensor:
    r"""Returns the base-10 logarithm of the elements of `input` (`torch.log10`).

    $y_i = \log_{10} x_i = \ln x_i / \ln 10$ ($-\infty$ at 0, NaN for $x_i < 0$).
    Gradient: $\partial L/\partial x_i = g_i / (x_i \ln 10)$.

    Args:
        input: The input tensor (integers become the default float dtype).

    Returns:
        A float tensor of the shape of `input`.
    """
    return LogBase.apply(as_float(input), base=10)


def log1p(input: Tensor) -> Tensor:
    r"""Returns the natural logarithm of 1 + `input`, accurate for tiny $|x|$ (`torch.log1p`).

    $y_i = \ln(1 + x_i)$ (NaN for $x_i < -1$).
    Gradient: $\partial L/\partial x_i = g_i / (1 + x_i)$.

    Args:
        input: The input tensor (integers become the default float dtype).

    Returns:
        A float tensor of the shape of `input`.
    """
    return _unary(Log1p, input)


def exp2(input: Tensor) -> Tensor:
    r"""Returns 2 to the power of the elements of `input` (`torch.exp2`).

    $y_i = 2^{x_i}$.
    Gradient: $\partial L/\partial x_i = g_i\, 2^{x_i} \ln 2 = g_i y_i \ln 2$.

    Args:
        input: The input tensor (integers become the default float dtype).

    Returns:
        A float tensor of the shape of `input`.
    """
    return _unary(Exp2, input)


def expm1(input: Tensor) -> Tensor:
    r"""Returns $e^x - 1$ for the elements of `input`, accurate for tiny $|x|$ (`torch.expm1`).

    $y_i = e^{x_i} - 1$.
    Gradient: $\partial L/\partial x_i = g_i e^{x_i} = g_i (y_i + 1)$.

    Args:
        input: The input tensor (integers become the default float dtype).

    Returns:
        A float tensor of the shape of `input`.
    """
    return _unary(Expm1, input)


def rsqrt(input: Tensor) -> Tensor:
    r"""Returns the reciprocal of the square root of the elements of `input` (`torch.rsqrt`).

    $y_i = 1/\sqrt{x_i}$ ($+\infty$ at 0, NaN for $x_i < 0$).
    Gradient: $\partial L/\partial x_i = -\tfrac12 g_i x_i^{-3/2} = -\tfrac12 g_i y_i^3$.

    Args:
        input: The input tensor (integers become the default float dtype).

    Returns:
        A float tensor of the shape of `input`.
    """
    return _unary(Rsqrt, input)


def reciprocal(input: Tensor) -> Tensor:
    r"""Returns the reciprocal of the elements of `input` (`torch.reciprocal`).

    $y_i = 1/x_i$ ($\pm\infty$ at $\pm 0$).
    Gradient: $\partial L/\partial x_i = -g_i / x_i^2 = -g_i y_i^2$.

    Args:
        input: The input tensor (integers become the default float dtype).

    Returns:
        A float tensor of the shape of `input`.
    """
    return _unary(Reciprocal, input)


def square(input: Tensor) -> Tensor:
    r"""Returns the square of the elements of `input` (`torch.square`).

    $y_i = x_i^2$.
    Gradient: $\partial L/\partial x_i = 2 g_i x_i$.

    Args:
        input: The input tensor (integers stay integers, as PyTorch).

    Returns:
        A tensor of the shape and dtype of `input`.
    """
    return PowScalar.apply(input, p=2)


def erf(input: Tensor) -> Tensor:
    r"""Computes the error function of the elements of `input` (`torch.erf`; `torch.special.erf`).

    $y_i = \operatorname{erf} x_i = \frac{2}{\sqrt\pi}\int_0^{x_i} e^{-t^2}\,dt$.
    Gradient: $\partial L/\partial x_i = g_i \frac{2}{\sqrt\pi} e^{-x_i^2}$.

    Args:
        input: The input tensor (integers become the default float dtype).

    Returns:
        A float tensor of the shape of `input`, with values in $[-1, 1]$.
    """
    return _unary(Erf, input)


def erfc(input: Tensor) -> Tensor:
    r"""Computes the complementary error function of the elements of `input` (`torch.erfc`).

    $y_i = 1 - \operatorname{erf} x_i = \frac{2}{\sqrt\pi}\int_{x_i}^\infty e^{-t^2}\,dt$,
    accurate also where $\operatorname{erf} x_i$ is close to 1.
    Gradient: $\partial L/\partial x_i = -g_i \frac{2}{\sqrt\pi} e^{-x_i^2}$.

    Args:
        input: The input tensor (integers become the default float dtype).

    Returns:
        A float tensor of the shape of `input`.
    """
    return _unary(Erfc, input)


def erfinv(input: Tensor) -> Tensor:
    r"""Computes the inverse error function of the elements of `input` (`torch.erfinv`).

    $y_i = \operatorname{erf}^{-1} x_i$, the $y_i$ with $\operatorname{erf} y_i = x_i$
    ($\pm\infty$ at $x_i = \pm 1$, NaN for $|x_i| > 1$).
    Gradient: $\partial L/\partial x_i = g_i \frac{\sqrt\pi}{2} e^{y_i^2}$ (the inverse-function rule).

    Args:
        input: The input tensor (integers become the default float dtype).

    Returns:
        A float tensor of the shape of `input`.
    """
    return _unary(Erfinv, input)


def _binary_float(a, b):
    a, b = lift_pair(a, b)
    return as_float(a), as_float(b)


def atan2(input, other) -> Tensor:
    r"""Arctangent of `input` / `other` in the right quadrant, elementwise (`torch.atan2`; alias `arctan2`).

    With $a$ = `input`, $b$ = `other`: $y_i = \operatorname{atan2}(a_i, b_i) \in [-\pi, \pi]$, the signed
    angle of the point $(b_i, a_i)$ from the positive x-axis.
    Gradient: $\partial L/\partial a_i = g_i b_i / (a_i^2 + b_i^2)$,
    $\partial L/\partial b_i = -g_i a_i / (a_i^2 + b_i^2)$ (NaN at the origin, where PyTorch gives 0).

    Args:
        input: The y-coordinates $a$, a tensor or a number.
        other: The x-coordinates $b$, a tensor or a number.

    Returns:
        A float tensor of the broadcast shape, in radians.
    """
    return Atan2.apply(*_binary_float(input, other))


arctan2 = atan2


def logaddexp(input, other) -> Tensor:
    r"""Logarithm of the sum of exponentials of `input` and `other`, elementwise (`torch.logaddexp`).

    $y_i = \ln(e^{a_i} + e^{b_i})$, computed without overflow.
    Gradient: $\partial L/\partial a_i = g_i e^{a_i - y_i}$, $\partial L/\partial b_i = g_i e^{b_i - y_i}$
    (a two-way softmax: the two weights sum to 1).

    Args:
        input: A tensor or a number.
        other: A tensor or a number.

    Returns:
        A float tensor of the broadcast shape.
    """
    return LogAddExp.apply(*_binary_float(input, other), base="e")


def logaddexp2(input, other) -> Tensor:
    r"""Base-2 logarithm of the sum of powers of 2 of `input` and `other`, elementwise (`torch.logaddexp2`).

    $y_i = \log_2(2^{a_i} + 2^{b_i})$, computed without overflow.
    Gradient: $\partial L/\partial a_i = g_i\, 2^{a_i - y_i}$, $\partial L/\partial b_i = g_i\, 2^{b_i - y_i}$
    (the two weights sum to 1).

    Args:
        input: A tensor or a number.
        other: A tensor or a number.

    Returns:
        A float tensor of the broadcast shape.
    """
    return LogAddExp.apply(*_binary_float(input, other), base="2")


def hypot(input, other) -> Tensor:
    r"""Returns the hypotenuse of a right triangle with legs `input` and `other`, elementwise (`torch.hypot`).

    $y_i = \sqrt{a_i^2 + b_i^2}$, computed without overflow.
    Gradient: $\partial L/\partial a_i = g_i a_i / y_i$, $\partial L/\partial b_i = g_i b_i / y_i$,
    taken as 0 where $y_i = 0$ (PyTorch gives NaN there).

    Args:
        input: A tensor or a number.
        other: A tensor or a number.

    Returns:
        A float tensor of the broadcast shape.
    """
    return Hypot.apply(*_binary_float(input, other))


def lerp(input, end, weight) -> Tensor:
    r"""Linearly interpolates from `input` to `end` by `weight`, elementwise (`torch.lerp`).

    $y_i = s_i + w_i (e_i - s_i)$, with $s$ = `input`, $e$ = `end`, $w$ = `weight`, broadcast together.
    Gradient (through `add`, `mul` and `sub`): $\partial L/\partial s_i = g_i (1 - w_i)$,
    $\partial L/\partial e_i = g_i w_i$, $\partial L/\partial w_i = g_i (e_i - s_i)$.

    Args:
        input: The start points, a tensor or a number.
        end: The end points, a tensor or a number.
        weight: The weights $w$, a tensor or a number (0 gives `input`, 1 gives `end`).

    Returns:
        A tensor of the broadcast shape.
    """
    return add(input, mul(weight, sub(end, input)))


def remainder(input, other) -> Tensor:
    r"""Computes Python's modulus `input % other` elementwise, with the sign of `other` (`torch.remainder`).

    $y_i = a_i - b_i \lfloor a_i / b_i \rfloor$. Gradient: $\partial L/\partial a_i = g_i$,
    $\partial L/\partial b_i = -g_i \lfloor a_i / b_i \rfloor$. Integers give integers (no gradient).

    Args:
        input: The dividend, a tensor or a number.
        other: The divisor, a tensor or a number.

    Returns:
        A tensor of the broadcast shape.

    Raises:
        RuntimeError: Integer division by zero.
    """
    input, other = lift_pair(input, other)
    _check_int_division(input, other, "remainder")
    return Remainder.apply(input, other, truncate=False)


def fmod(input, other) -> Tensor:
    r"""Computes C's `fmod`: the remainder of truncated division, with the sign of `input` (`torch.fmod`).

    $y_i = a_i - b_i \operatorname{trunc}(a_i / b_i)$. Gradient: $\partial L/\partial a_i = g_i$,
    $\partial L/\partial b_i = -g_i \operatorname{trunc}(a_i / b_i)$. Integers give integers (no gradient).

    Args:
        input: The dividend, a tensor or a number.
        other: The divisor, a tensor or a number.

    Returns:
        A tensor of the broadcast shape.

    Raises:
        RuntimeError: Integer division by zero.
    """
    input, other = lift_pair(input, other)
    _check_int_division(input, other, "fmod")
    return Remainder.apply(input, other, truncate=True)


def floor_divide(input, other) -> Tensor:
    r"""Divides `input` by `other` elementwise and floors the result (`torch.floor_divide`, `input // other`).

    $y_i = \lfloor a_i / b_i \rfloor$, as `div(input, other, rounding_mode="floor")`; integers stay integers.
    Not differentiable: a step function (zero slope almost everywhere); the result is detached.

    Args:
        input: The dividend, a tensor or a number.
        other: The divisor, a tensor or a number.

    Returns:
        A tensor of the broadcast shape.

    Raises:
        RuntimeError: Integer division by zero.
    """
    input, other = lift_pair(input, other)
    _check_int_division(input, other, "floor_divide")
    return div(input, other, rounding_mode="floor")


def _check_int_division(a, b, op):
    if a.dtype.kind in "iu" and b.dtype.kind in "iu" and b._data.size and bool((b._data == 0).any()):
        raise RuntimeError(f"{op}: ZeroDivisionError (integer division by zero, shapes {a.shape} "
                           f"and {b.shape})")


def _step(x: Tensor, fn: str, decimals: int = 0) -> Tensor:
    if x.dtype.kind in "biu" and fn != "sign":
        return x.clone()  # rounding an integer changes nothing (PyTorch returns a copy)
    return StepFunction.apply(x, fn=fn, decimals=decimals)


def floor(input: Tensor) -> Tensor:
    r"""Rounds the elements of `input` down to the nearest integer (`torch.floor`).

    $y_i = \lfloor x_i \rfloor$.
    Gradient: 0 (a step function has zero slope almost everywhere); the result still
    requires grad, as in PyTorch.

    Args:
        input: The input tensor (an integer tensor gives a copy of itself).

    Returns:
        A tensor of the shape and dtype of `input`.
    """
    return _step(input, "floor")


def ceil(input: Tensor) -> Tensor:
    r"""Rounds the elements of `input` up to the nearest integer (`torch.ceil`).

    $y_i = \lceil x_i \rceil$.
    Gradient: 0 (a step function has zero slope almost everywhere); the result still
    requires grad, as in PyTorch.

    Args:
        input: The input tensor (an integer tensor gives a copy of itself).

    Returns:
        A tensor of the shape and dtype of `input`.
    """
    return _step(input, "ceil")


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001 - the PyTorch name
    r"""Rounds the elements of `input` to the nearest integer, or to `decimals` places (`torch.round`).

    $y_i = \operatorname{round}(10^d x_i) / 10^d$ with $d$ = `decimals`; halves round to even
    (as PyTorch and NumPy: 0.5 and -0.5 give 0, 1.5 and 2.5 give 2).
    Gradient: 0 (a step function has zero slope almost everywhere); the result still
    requires grad, as in PyTorch.

    Args:
        input: The input tensor (an integer tensor gives a copy of itself).
        decimals: The number of decimal places $d$ (negative: tens, hundreds, ...).

    Returns:
        A tensor of the shape and dtype of `input`.
    """
    return _step(input, "round", decimals)


def trunc(input: Tensor) -> Tensor:
    r"""Rounds the elements of `input` toward zero (`torch.trunc`; alias `fix`).

    $y_i = \operatorname{trunc}(x_i) = \operatorname{sign}(x_i) \lfloor |x_i| \rfloor$.
    Gradient: 0 (a step function has zero slope almost everywhere); the result still
    requires grad, as in PyTorch.

    Args:
        input: The input tensor (an integer tensor gives a copy of itself).

    Returns:
        A tensor of the shape and dtype of `input`.
    """
    return _step(input, "trunc")


fix = trunc


def sign(input: Tensor) -> Tensor:
    r"""Returns the signs of the elements of `input` (`torch.sign`; alias `sgn` for real tensors).

    $y_i = \operatorname{sign}(x_i) = -1$, $0$ or $1$ for $x_i < 0$, $x_i = 0$, $x_i > 0$ (NaN stays NaN).
    Gradient: 0 (zero slope everywhere but at 0); the result still requires grad, as in PyTorch.

    Args:
        input: The input tensor (a bool tensor gives a copy of itself).

    Returns:
        A tensor of the shape and dtype of `input`.
    """
    if input.dtype.kind == "b":
        return input.clone()
    return StepFunction.apply(input, fn="sign", decimals=0)


sgn = sign


def frac(input: Tensor) -> Tensor:
    r"""Computes the fractional part of each element of `input`, with the sign of `input` (`torch.frac`).

    $y_i = x_i - \operatorname{trunc}(x_i)$.
    Gradient: $\partial L/\partial x_i = g_i$ (the truncation is constant between its jumps).

    Args:
        input: A floating-point tensor.

    Returns:
        A tensor of the shape and dtype of `input`.

    Raises:
        RuntimeError: `input` is not floating point.
    """
    if input.dtype.kind not in "f":
        raise RuntimeError(f"frac: not implemented for dtype {input.dtype} (floating point only)")
    return sub(input, trunc(input).detach())


def positive(input: Tensor) -> Tensor:
    """Returns `input` itself (`torch.positive`, `+input`).

    $y = x$: the very same tensor, so the gradient is $g$ unchanged.

    Args:
        input: The input tensor.

    Returns:
        `input`.

    Raises:
        RuntimeError: `input` is a bool tensor, as in PyTorch.
    """
    if input.dtype.kind == "b":
        raise RuntimeError("positive: the + operator does not support bool tensors")
    return input


class NanToNum(Function):
    r"""$y = x$ where $x$ is finite; NaN, +inf and -inf replaced by constants.
    $\partial y/\partial x = [x \text{ finite}]$ (the replaced entries are constants)."""

    def forward(self, x, nan, posinf, neginf):
        xp = get_array_module(x)
        self.finite = xp.isfinite(x)
        return xp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    def backward(self, g):
        return g * self.finite


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    r"""Replaces NaN, positive infinity and negative infinity in `input` (`torch.nan_to_num`).

    $y_i = x_i$ where $x_i$ is finite; NaN becomes `nan`, $+\infty$ `posinf`, $-\infty$ `neginf`.
    Gradient: $\partial L/\partial x_i = g_i$ where $x_i$ is finite, else 0 (the replacements are constants).

    Args:
        input: The input tensor (a non-float tensor gives a copy of itself).
        nan: The value for NaN.
        posinf: The value for $+\infty$; `None` is the dtype's largest finite value.
        neginf: The value for $-\infty$; `None` is the dtype's most negative finite value.

    Returns:
        A tensor of the shape and dtype of `input`.
    """
    if input.dtype.kind != "f":
        return input.clone()
    return NanToNum.apply(input, nan=nan, posinf=posinf, neginf=neginf)


# ============================================================================ comparison and logic
#
# Their results are bool tensors (or Python bools): no gradient flows through them.


def _arrays(a, b):
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError("expected at least one Tensor")
    like = a if isinstance(a, Tensor) else b
    xp = backend.get_array_module(like._data)
    return (a._data if isinstance(a, Tensor) else xp.asarray(a),
            b._data if isinstance(b, Tensor) else xp.asarray(b), xp)


def isnan(input: Tensor) -> Tensor:
    r"""Tests whether each element of `input` is NaN (`torch.isnan`).

    $y_i = (x_i \ne x_i)$: true exactly where $x_i$ is NaN, the one value unequal to itself.
    Not differentiable: the result is a bool tensor with no gradient.

    Args:
        input: The input tensor.

    Returns:
        A bool tensor of the shape of `input`.
    """
    return Tensor._wrap(backend.get_array_module(input._data).isnan(input._data))


def isinf(input: Tensor) -> Tensor:
    r"""Tests whether each element of `input` is infinite (`torch.isinf`).

    $y_i = (|x_i| = \infty)$: true where $x_i$ is $+\infty$ or $-\infty$.
    Not differentiable: the result is a bool tensor with no gradient.

    Args:
        input: The input tensor.

    Returns:
        A bool tensor of the shape of `input`.
    """
    return Tensor._wrap(backend.get_array_module(input._data).isinf(input._data))


def isposinf(input: Tensor) -> Tensor:
    r"""Tests whether each element of `input` is positive infinity (`torch.isposinf`).

    $y_i = (x_i = +\infty)$.
    Not differentiable: the result is a bool tensor with no gradient.

    Args:
        input: The input tensor.

    Returns:
        A bool tensor of the shape of `input`.
    """
    return Tensor._wrap(backend.get_array_module(input._data).isposinf(input._data))


def isneginf(input: Tensor) -> Tensor:
    r"""Tests whether each element of `input` is negative infinity (`torch.isneginf`).

    $y_i = (x_i = -\infty)$.
    Not differentiable: the result is a bool tensor with no gradient.

    Args:
        input: The input tensor.

    Returns:
        A bool tensor of the shape of `input`.
    """
    return Tensor._wrap(backend.get_array_module(input._data).isneginf(input._data))


def isfinite(input: Tensor) -> Tensor:
    r"""Tests whether each element of `input` is finite (`torch.isfinite`).

    $y_i = (|x_i| < \infty)$: false for NaN, $+\infty$ and $-\infty$.
    Not differentiable: the result is a bool tensor with no gradient.

    Args:
        input: The input tensor.

    Returns:
        A bool tensor of the shape of `input`.
    """
    return Tensor._wrap(backend.get_array_module(input._data).isfinite(input._data))


def isclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    r"""Tests whether each element of `input` is close to the matching element of `other` (`torch.isclose`).

    $y_i = \big(|a_i - b_i| \le \text{atol} + \text{rtol}\,|b_i|\big)$ (NaN is close to NaN only with
    `equal_nan=True`). Not differentiable: the result is a bool tensor with no gradient.

    Args:
        input: A tensor or a number.
        other: A tensor or a number (the reference: `rtol` scales $|b_i|$).
        rtol: The relative tolerance.
        atol: The absolute tolerance.
        equal_nan: Whether NaN counts as equal to NaN.

    Returns:
        A bool tensor of the broadcast shape.
    """
    input, other, xp = _arrays(input, other)
    return Tensor._wrap(xp.isclose(input, other, rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    r"""Checks whether all elements of `input` and `other` are close (`torch.allclose`).

    $y = \bigwedge_i \big(|a_i - b_i| \le \text{atol} + \text{rtol}\,|b_i|\big)$ over the broadcast shape
    (NaN is close to NaN only with `equal_nan=True`). Not differentiable: returns a Python bool.

    Args:
        input: A tensor or a number.
        other: A tensor or a number (the reference: `rtol` scales $|b_i|$).
        rtol: The relative tolerance.
        atol: The absolute tolerance.
        equal_nan: Whether NaN counts as equal to NaN.

    Returns:
        `True` if every pair is close, else `False`.
    """
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def equal(input: Tensor, other: Tensor) -> bool:
    r"""Checks whether `input` and `other` have the same shape and the same elements (`torch.equal`).

    $y = (\text{shape}(a) = \text{shape}(b)) \land \bigwedge_i (a_i = b_i)$; NaN is never equal to NaN.
    Not differentiable: returns a Python bool.

    Args:
        input: A tensor.
        other: A tensor.

    Returns:
        `True` or `False`.
    """
    input, other, xp = _arrays(input, other)
    return input.shape == other.shape and bool((input == other).all())


def _logic_reduce(x, dim, keepdim, op):
    data = x._data if isinstance(x, Tensor) else np.asarray(x)
    xp = backend.get_array_module(data)
    axes = None
    if dim is not None:
        from minigrad.ops._util import normalize_axes

        axes = normalize_axes(tuple(dim) if isinstance(dim, (tuple, list)) else (dim,), data.ndim, op)
    out = getattr(xp, op)(data != 0 if data.dtype.kind != "b" else data, axis=axes, keepdims=keepdim)
    out = xp.asarray(out)
    if data.dtype == np.uint8:  # PyTorch keeps uint8 for uint8 input
        out = out.astype(np.uint8)
    return Tensor._wrap(out)


def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001 - the PyTorch name
    r"""Tests whether any element of `input` is non-zero, over `dim` (`torch.any`).

    $y = \bigvee_{i} (x_i \ne 0)$ over the reduced dims. Not differentiable: the result has no gradient.

    Args:
        input: The input tensor.
        dim: An int, a tuple of ints, or `None` to reduce over all dims.
        keepdim: Whether the reduced dims stay, with size 1.

    Returns:
        A bool tensor (uint8 for a uint8 input, as PyTorch).
    """
    return _logic_reduce(input, dim, keepdim, "any")


def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001 - the PyTorch name
    r"""Tests whether all elements of `input` are non-zero, over `dim` (`torch.all`).

    $y = \bigwedge_{i} (x_i \ne 0)$ over the reduced dims. Not differentiable: the result has no gradient.

    Args:
        input: The input tensor.
        dim: An int, a tuple of ints, or `None` to reduce over all dims.
        keepdim: Whether the reduced dims stay, with size 1.

    Returns:
        A bool tensor (uint8 for a uint8 input, as PyTorch).
    """
    return _logic_reduce(input, dim, keepdim, "all")


def logical_and(input, other) -> Tensor:
    r"""Computes the elementwise logical AND of `input` and `other`, with broadcasting (`torch.logical_and`).

    $y_i = (a_i \ne 0) \land (b_i \ne 0)$. Non-zero counts as true.
    Not differentiable: the result is a bool tensor with no gradient.

    Args:
        input: A tensor or a number.
        other: A tensor or a number.

    Returns:
        A bool tensor of the broadcast shape.
    """
    input, other, xp = _arrays(input, other)
    return Tensor._wrap(xp.logical_and(input, other))


def logical_or(input, other) -> Tensor:
    r"""Computes the elementwise logical OR of `input` and `other`, with broadcasting (`torch.logical_or`).

    $y_i = (a_i \ne 0) \lor (b_i \ne 0)$. Non-zero counts as true.
    Not differentiable: the result is a bool tensor with no gradient.

    Args:
        input: A tensor or a number.
        other: A tensor or a number.

    Returns:
        A bool tensor of the broadcast shape.
    """
    input, other, xp = _arrays(input, other)
    return Tensor._wrap(xp.logical_or(input, other))


def logical_xor(input, other) -> Tensor:
    r"""Computes the elementwise logical XOR of `input` and `other`, with broadcasting (`torch.logical_xor`).

    $y_i = (a_i \ne 0) \oplus (b_i \ne 0)$: true where exactly one is true. Non-zero counts as true.
    Not differentiable: the result is a bool tensor with no gradient.

    Args:
        input: A tensor or a number.
        other: A tensor or a number.

    Returns:
        A bool tensor of the broadcast shape.
    """
    input, other, xp = _arrays(input, other)
    return Tensor._wrap(xp.logical_xor(input, other))


def logical_not(input: Tensor) -> Tensor:
    r"""Computes the elementwise logical NOT of `input` (`torch.logical_not`).

    $y_i = \lnot(x_i \ne 0) = (x_i = 0)$.
    Not differentiable: the result is a bool tensor with no gradient.

    Args:
        input: The input tensor.

    Returns:
        A bool tensor of the shape of `input`.
    """
    return Tensor._wrap(backend.get_array_module(input._data).logical_not(input._data))


def _bitwise(a, b, ufunc: str, op: str) -> Tensor:
    if not isinstance(a, Tensor):
        a = lift(a, b)
    elif not isinstance(b, Tensor):
        b = lift(b, a)
    for t in (a, b):
        if t.dtype.kind not in "biu":
            raise RuntimeError(f"{op}: not implemented for dtype {t.dtype} (integer and bool tensors only)")
    xp = backend.get_array_module(a._data)
    return Tensor._wrap(getattr(xp, ufunc)(a._data, b._data))


def bitwise_and(input, other) -> Tensor:
    r"""Computes the bitwise AND of `input` and `other`, with broadcasting (`torch.bitwise_and`).

    $y_i = a_i \mathbin{\&} b_i$, bit by bit (`input & other`; logical AND for bools).
    Not differentiable: integer results carry no gradient.

    Args:
        input: An integer or bool tensor, or a number.
        other: An integer or bool tensor, or a number.

    Returns:
        A tensor of the broadcast shape.

    Raises:
        RuntimeError: A float tensor.
    """
    return _bitwise(input, other, "bitwise_and", "bitwise_and")


def bitwise_or(input, other) -> Tensor:
    r"""Computes the bitwise OR of `input` and `other`, with broadcasting (`torch.bitwise_or`).

    $y_i = a_i \mid b_i$, bit by bit (`input | other`; logical OR for bools).
    Not differentiable: integer results carry no gradient.

    Args:
        input: An integer or bool tensor, or a number.
        other: An integer or bool tensor, or a number.

    Returns:
        A tensor of the broadcast shape.

    Raises:
        RuntimeError: A float tensor.
    """
    return _bitwise(input, other, "bitwise_or", "bitwise_or")


def bitwise_xor(input, other) -> Tensor:
    r"""Computes the bitwise XOR of `input` and `other`, with broadcasting (`torch.bitwise_xor`).

    $y_i = a_i \oplus b_i$, bit by bit (`input ^ other`; logical XOR for bools).
    Not differentiable: integer results carry no gradient.

    Args:
        input: An integer or bool tensor, or a number.
        other: An integer or bool tensor, or a number.

    Returns:
        A tensor of the broadcast shape.

    Raises:
        RuntimeError: A float tensor.
    """
    return _bitwise(input, other, "bitwise_xor", "bitwise_xor")


def bitwise_left_shift(input, other) -> Tensor:
    r"""Shifts `input` left by `other` bits, elementwise with broadcasting (`torch.bitwise_left_shift`).

    $y_i = a_i \cdot 2^{b_i}$ (`input << other`), wrapping around in the dtype.
    Not differentiable: integer results carry no gradient.

    Args:
        input: An integer tensor, or a number.
        other: An integer tensor, or a number.

    Returns:
        A tensor of the broadcast shape.

    Raises:
        RuntimeError: A float tensor.
    """
    return _bitwise(input, other, "left_shift", "bitwise_left_shift")


def bitwise_right_shift(input, other) -> Tensor:
    r"""Shifts `input` right by `other` bits, elementwise with broadcasting (`torch.bitwise_right_shift`).

    $y_i = \lfloor a_i / 2^{b_i} \rfloor$ (`input >> other`; the sign bit is kept).
    Not differentiable: integer results carry no gradient.

    Args:
        input: An integer tensor, or a number.
        other: An integer tensor, or a number.

    Returns:
        A tensor of the broadcast shape.

    Raises:
        RuntimeError: A float tensor.
    """
    return _bitwise(input, other, "right_shift", "bitwise_right_shift")


def bitwise_not(input: Tensor) -> Tensor:
    r"""Computes the bitwise NOT of `input` (`torch.bitwise_not`, `~input`).

    $y_i = \lnot x_i$ bit by bit: $-x_i - 1$ for signed integers (two's complement),
    $2^n - 1 - x_i$ for $n$-bit unsigned ones, logical NOT for bools.
    Not differentiable: integer results carry no gradient.

    Args:
        input: An integer or bool tensor.

    Returns:
        A tensor of the shape and dtype of `input`.

    Raises:
        RuntimeError: A float tensor.
    """
    if input.dtype.kind not in "biu":
        raise RuntimeError(f"bitwise_not: not implemented for dtype {input.dtype} "
                           "(integer and bool tensors only)")
    return Tensor._wrap(backend.get_array_module(input._data).invert(input._data))


# ============================================================================ clamp with tensor bounds


def _clamp_tensor(x: Tensor, lo, hi) -> Tensor:
    r"""$\min(\max(x, lo), hi)$ with tensor bounds: each output element comes from exactly one of
    x, lo, hi (hi when lo > hi, as PyTorch), and so does its gradient (through ``where``)."""
    y = x
    if lo is not None:
        lo = lift(lo, x)
        y = where(y._data < lo._data, lo, y)
    if hi is not None:
        hi = lift(hi, x)
        y = where(y._data > hi._data, hi, y)
    return y


def fmax(input, other) -> Tensor:
    r"""Computes the elementwise maximum of `input` and `other`, ignoring NaN (`torch.fmax`).

    $y_i = \max(a_i, b_i)$, except that where one of them is NaN, $y_i$ is the other (NaN only if both are).
    Gradient: $g_i$ goes to the input $y_i$ came from; on a tie $a_i = b_i$ all of it goes to `input`
    (as PyTorch's `fmax`, unlike `maximum`'s even split).

    Args:
        input: A tensor or a number.
        other: A tensor or a number.

    Returns:
        A tensor of the broadcast shape.
    """
    input, other = lift_pair(input, other)
    xp = backend.get_array_module(input._data)
    return where(xp.isnan(other._data) | (input._data >= other._data), input, other)


def fmin(input, other) -> Tensor:
    r"""Computes the elementwise minimum of `input` and `other`, ignoring NaN (`torch.fmin`).

    $y_i = \min(a_i, b_i)$, except that where one of them is NaN, $y_i$ is the other (NaN only if both are).
    Gradient: $g_i$ goes to the input $y_i$ came from; on a tie $a_i = b_i$ all of it goes to `input`
    (as PyTorch's `fmin`, unlike `minimum`'s even split).

    Args:
        input: A tensor or a number.
        other: A tensor or a number.

    Returns:
        A tensor of the broadcast shape.
    """
    input, other = lift_pair(input, other)
    xp = backend.get_array_module(input._data)
    return where(xp.isnan(other._data) | (input._data <= other._data), input, other)


__all__ = [
    "add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sqrt", "abs", "clip", "clamp",
    "tanh", "sigmoid", "relu", "leaky_relu", "gelu", "erf", "maximum", "minimum", "where",
    "cast", "to_device", "lift",
    # more math
    "sin", "cos", "tan", "asin", "acos", "atan", "arcsin", "arccos", "arctan", "sinh", "cosh",
    "asinh", "acosh", "atanh", "arcsinh", "arccosh", "arctanh", "log2", "log10", "log1p", "exp2",
    "expm1", "rsqrt", "reciprocal", "square", "erfc", "erfinv", "atan2", "arctan2", "logaddexp",
    "logaddexp2", "hypot", "lerp", "remainder", "fmod", "floor_divide", "floor", "ceil", "round",
    "trunc", "fix", "sign", "sgn", "frac", "positive", "fmax", "fmin", "nan_to_num",
    # comparison and logic
    "isnan", "isinf", "isposinf", "isneginf", "isfinite", "isclose", "allclose", "equal", "any",
    "all", "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and", "bitwise_or",
    "bitwise_xor", "bitwise_not", "bitwise_left_shift", "bitwise_right_shift",
]
