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
from minigrad.tensor import Function, Tensor

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
    """y = a^b for tensors;  dy/da = b a^(b-1),  dy/db = a^b ln a  (taken as 0 where a <= 0)."""

    broadcasts = True

    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = a**b
        return self.y

    def backward(self, g):
        xp = get_array_module(g)
        a, b = self.a, self.b
        ga = g * b * a ** (b - 1)
        positive = a > 0
        log_a = xp.log(xp.where(positive, a, 1))
        gb = g * xp.where(positive, self.y * log_a, 0)
        return ga, gb


def add(a, b, *, alpha=1) -> Tensor:
    r"""Elementwise $a + \alpha b$ with broadcasting."""
    return Add.apply(*lift_pair(a, b if alpha == 1 else mul(b, alpha)))


def sub(a, b, *, alpha=1) -> Tensor:
    r"""Elementwise $a - \alpha b$ with broadcasting."""
    return Sub.apply(*lift_pair(a, b if alpha == 1 else mul(b, alpha)))


def mul(a, b) -> Tensor:
    """Elementwise ``a * b`` with broadcasting."""
    return Mul.apply(*lift_pair(a, b))


def div(a, b, *, rounding_mode=None) -> Tensor:
    """Elementwise ``a / b`` with broadcasting.

    ``rounding_mode="trunc"`` rounds toward zero, ``"floor"`` down (Python's ``//``);
    both keep integer dtypes and, being step functions, pass no gradient (as PyTorch).
    """
    a, b = lift_pair(a, b)
    if rounding_mode is None:
        return Div.apply(as_float(a), as_float(b))  # int / int is a float, as in PyTorch
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")
    xp = backend.get_array_module(a._data)
    if a.dtype.kind in "biu" and b.dtype.kind in "biu":
        q = xp.floor_divide(a._data, b._data)
        if rounding_mode == "trunc":  # floor and trunc differ where the signs differ
            q = q + ((q < 0) & (q * b._data != a._data))
        return Tensor._wrap(q)
    q = a._data / b._data
    return Tensor._wrap(xp.trunc(q) if rounding_mode == "trunc" else xp.floor(q))


def neg(x: Tensor) -> Tensor:
    """``-x``."""
    return Neg.apply(x)


def pow(a, b) -> Tensor:  # noqa: A001 - the PyTorch name
    """Elementwise ``a ** b``. A constant exponent uses the cheaper x^p rule."""
    if isinstance(a, Tensor) and not isinstance(b, Tensor) and np.ndim(b) == 0:
        p = b.item() if isinstance(b, np.generic) else b  # a NumPy scalar must not widen a
        return PowScalar.apply(as_float(a) if isinstance(p, float) else a, p=p)
    return Pow.apply(*lift_pair(a, b))


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


def exp(x: Tensor) -> Tensor:
    """Elementwise e^x."""
    return Exp.apply(as_float(x))


def log(x: Tensor) -> Tensor:
    """Elementwise natural logarithm ln x."""
    return Log.apply(as_float(x))


def sqrt(x: Tensor) -> Tensor:
    """Elementwise square root."""
    return Sqrt.apply(as_float(x))


def abs(x: Tensor) -> Tensor:  # noqa: A001 - the PyTorch name
    """Elementwise |x|."""
    return Abs.apply(x)


def clip(x: Tensor, min=None, max=None) -> Tensor:  # noqa: A002 - PyTorch's argument names
    """Clamp to [min, max] (either bound may be None). Alias: ``clamp``."""
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    return Clip.apply(x, lo=min, hi=max)


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
        xp = get_array_module(x)
        e = xp.exp(-xp.abs(x))
        self.y = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
        return self.y

    def backward(self, g):
        return g * self.y * (1 - self.y)


class ReLU(Function):
    """y = max(x, 0);  dy/dx = 1 for x > 0, else 0."""

    def forward(self, x):
        self.positive = x > 0
        return get_array_module(x).maximum(x, 0)  # several times faster than x * mask

    def backward(self, g):
        return g * self.positive


class LeakyReLU(Function):
    """y = x for x > 0, else slope * x;  dy/dx = 1 or slope."""

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


def erf(x):
    """The error function on arrays, to about 1.2e-7 (below float32 resolution).

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
        if approximate == "tanh":
            # x*x*x, not x**3 (NumPy's float32 power is ~30x slower); the in-place
            # updates save a full-size temporary each: this is a Transformer's hot path
            self.x2 = x * x
            u = self.x2 * x
            u *= 0.044715
            u += x
            u *= _SQRT_2_OVER_PI
            self.t = xp.tanh(u, out=u)
            y = self.t + 1
            y *= x
            y *= 0.5
            return y
        self.cdf = 0.5 * (1 + erf(x / math.sqrt(2)))
        return x * self.cdf

    def backward(self, g):
        xp = get_array_module(g)
        x = self.x
        if self.approximate == "tanh":
            t = self.t
            du = self.x2 * (3 * 0.044715)  # du/dx / √(2/π)
            du += 1
            du *= _SQRT_2_OVER_PI
            slope = 1 - t * t  # dy/dx = (1 + t)/2 + x/2 (1 - t²) du/dx
            slope *= x
            slope *= du
            slope += t
            slope += 1
            slope *= 0.5
            return slope * g
        pdf = _INV_SQRT_2PI * xp.exp(-0.5 * x * x)
        return g * (self.cdf + x * pdf)


def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent, tanh x = (e^x - e^-x) / (e^x + e^-x); dy/dx = 1 - tanh² x."""
    return Tanh.apply(as_float(x))


def sigmoid(x: Tensor) -> Tensor:
    """Logistic sigmoid σ(x) = 1 / (1 + e^-x), stable for any |x|; dσ/dx = σ(1 - σ)."""
    return Sigmoid.apply(as_float(x))


def relu(x: Tensor) -> Tensor:
    """Rectified linear unit max(x, 0) (Nair & Hinton, 2010); gradient 1 for x > 0, else 0."""
    return ReLU.apply(x)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """max(x, 0) + negative_slope * min(x, 0) (Maas et al., 2013)."""
    return LeakyReLU.apply(x, slope=negative_slope)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """GELU, x Φ(x); ``approximate="tanh"`` uses the tanh form (as GPT-2 does)."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
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


def maximum(a, b) -> Tensor:
    """Elementwise maximum with broadcasting; ties share the gradient equally."""
    return Maximum.apply(*lift_pair(a, b))


def minimum(a, b) -> Tensor:
    """Elementwise minimum with broadcasting; ties share the gradient equally."""
    return Minimum.apply(*lift_pair(a, b))


def where(condition, a, b) -> Tensor:
    """``a`` where ``condition`` is true, else ``b`` (all three broadcast together)."""
    a, b = lift_pair(a, b)
    cond = condition._data if isinstance(condition, Tensor) else condition
    xp = backend.get_array_module(a._data)
    cond = xp.asarray(cond, dtype=bool)
    # the gradient of each input must have the full broadcast shape before unbroadcast
    shape = np.broadcast_shapes(cond.shape, a.shape, b.shape)
    if cond.shape != shape:
        cond = xp.broadcast_to(cond, shape)
    return Where.apply(a, b, cond=cond)


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
    """``x`` converted to ``dtype`` (differentiable between float dtypes)."""
    dtype = np.dtype(dtype)
    if dtype == x.dtype:
        return x
    if dtype.kind != "f" and x.requires_grad:
        return Tensor._wrap(x._data.astype(dtype))  # integer results carry no gradient
    return Cast.apply(x, dtype=dtype)


def to_device(x: Tensor, device: str) -> Tensor:
    """``x`` on ``"cpu"`` or ``"cuda"`` (differentiable)."""
    if backend.normalize_device(device) == x.device:
        return x
    return ToDevice.apply(x, device=device)


__all__ = [
    "add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sqrt", "abs", "clip", "clamp",
    "tanh", "sigmoid", "relu", "leaky_relu", "gelu", "erf", "maximum", "minimum", "where",
    "cast", "to_device", "lift",
]
