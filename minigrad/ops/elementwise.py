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
        with np.errstate(divide="ignore", invalid="ignore"):  # 0^(-1) in the discarded branch
            ga = xp.where(b == 0, 0, g * b * a ** (b - 1))  # a^0 = 1: slope 0, also at a = 0
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
    """Elementwise ``a ** b``. A constant exponent uses the cheaper x^p rule.

    As in PyTorch, an integer tensor to a negative integer power is an error
    (``RuntimeError``), and d(a^b)/da is 0 where b = 0 (even at a = 0).
    """
    if isinstance(a, Tensor) and not isinstance(b, Tensor) and np.ndim(b) == 0:
        p = b.item() if isinstance(b, np.generic) else b  # a NumPy scalar must not widen a
        if a.dtype.kind in "iu" and isinstance(p, int) and p < 0:
            raise RuntimeError(f"pow: integers to negative integer powers are not allowed "
                               f"(tensor of dtype {a.dtype}, exponent {p})")
        return PowScalar.apply(as_float(a) if isinstance(p, float) else a, p=p)
    a, b = lift_pair(a, b)
    if a.dtype.kind in "iu" and b.dtype.kind in "iu" and b._data.size and bool((b._data < 0).any()):
        raise RuntimeError(f"pow: integers to negative integer powers are not allowed "
                           f"(shapes {a.shape} ** {b.shape}, dtype {a.dtype} ** {b.dtype})")
    return Pow.apply(a, b)


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
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return _clamp_tensor(x, min, max)
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
        self.y = stable_sigmoid(x)
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
        # Φ(x) = (1 + erf(x/√2))/2; float32: the fast tanh fit with 1/√2 folded in (ops/special.py)
        self.cdf = normal_cdf(x)
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


def maximum(a, b) -> Tensor:
    """Elementwise maximum with broadcasting; ties share the gradient equally."""
    return Maximum.apply(*lift_pair(a, b))


def minimum(a, b) -> Tensor:
    """Elementwise minimum with broadcasting; ties share the gradient equally."""
    return Minimum.apply(*lift_pair(a, b))


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


def where(condition, a=None, b=None):
    """``a`` where ``condition`` is true, else ``b`` (all three broadcast together).

    ``where(condition)`` alone is ``nonzero(condition, as_tuple=True)``: the indices of
    the true entries, one 1-D tensor per dim (``torch.where``'s one-argument form).
    """
    if a is None and b is None:
        from minigrad.ops.index import nonzero

        return nonzero(condition, as_tuple=True)
    if a is None or b is None:
        raise TypeError("where: pass both a and b, or neither (where(condition) gives indices)")
    cond = condition._data if isinstance(condition, Tensor) else condition
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):  # where(cond, 4, 2)
        a = _scalar_tensor(a, cond)
    a, b = lift_pair(a, b)
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
    for _ in range(3):  # Newton: y -= (erf y - x) / erf'(y)
        step = (_erf_array(xp.where(finite, y, 0)) - x64) / (2 / math.sqrt(math.pi) * xp.exp(-y * y))
        y = xp.where(finite, y - step, y)
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
    $\partial y/\partial a = a/y$, $\partial y/\partial b = b/y$."""

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


def sin(x: Tensor) -> Tensor:
    """Elementwise sine."""
    return _unary(Sin, x)


def cos(x: Tensor) -> Tensor:
    """Elementwise cosine."""
    return _unary(Cos, x)


def tan(x: Tensor) -> Tensor:
    """Elementwise tangent."""
    return _unary(Tan, x)


def asin(x: Tensor) -> Tensor:
    """Elementwise arcsine (``arcsin``); NaN outside [-1, 1]."""
    return _unary(Asin, x)


def acos(x: Tensor) -> Tensor:
    """Elementwise arccosine (``arccos``); NaN outside [-1, 1]."""
    return _unary(Acos, x)


def atan(x: Tensor) -> Tensor:
    """Elementwise arctangent (``arctan``)."""
    return _unary(Atan, x)


def sinh(x: Tensor) -> Tensor:
    """Elementwise hyperbolic sine."""
    return _unary(Sinh, x)


def cosh(x: Tensor) -> Tensor:
    """Elementwise hyperbolic cosine."""
    return _unary(Cosh, x)


def asinh(x: Tensor) -> Tensor:
    """Elementwise inverse hyperbolic sine (``arcsinh``)."""
    return _unary(Asinh, x)


def acosh(x: Tensor) -> Tensor:
    """Elementwise inverse hyperbolic cosine (``arccosh``); NaN below 1."""
    return _unary(Acosh, x)


def atanh(x: Tensor) -> Tensor:
    """Elementwise inverse hyperbolic tangent (``arctanh``); ±inf at ±1."""
    return _unary(Atanh, x)


arcsin, arccos, arctan = asin, acos, atan
arcsinh, arccosh, arctanh = asinh, acosh, atanh


def log2(x: Tensor) -> Tensor:
    """Elementwise base-2 logarithm."""
    return LogBase.apply(as_float(x), base=2)


def log10(x: Tensor) -> Tensor:
    """Elementwise base-10 logarithm."""
    return LogBase.apply(as_float(x), base=10)


def log1p(x: Tensor) -> Tensor:
    """ln(1 + x), accurate when |x| is tiny."""
    return _unary(Log1p, x)


def exp2(x: Tensor) -> Tensor:
    """Elementwise 2^x."""
    return _unary(Exp2, x)


def expm1(x: Tensor) -> Tensor:
    """e^x - 1, accurate when |x| is tiny."""
    return _unary(Expm1, x)


def rsqrt(x: Tensor) -> Tensor:
    """Elementwise 1 / sqrt(x)."""
    return _unary(Rsqrt, x)


def reciprocal(x: Tensor) -> Tensor:
    """Elementwise 1 / x (integers give floats, as PyTorch)."""
    return _unary(Reciprocal, x)


def square(x: Tensor) -> Tensor:
    """Elementwise x² (integers stay integers, as PyTorch); dy/dx = 2x."""
    return PowScalar.apply(x, p=2)


def erf(x: Tensor) -> Tensor:
    r"""The error function $\frac{2}{\sqrt\pi}\int_0^x e^{-t^2} dt$ (``torch.erf``; ``torch.special.erf``)."""
    return _unary(Erf, x)


def erfc(x: Tensor) -> Tensor:
    """The complementary error function 1 - erf(x)."""
    return _unary(Erfc, x)


def erfinv(x: Tensor) -> Tensor:
    """The inverse error function on (-1, 1) (±inf at ±1, NaN outside)."""
    return _unary(Erfinv, x)


def _binary_float(a, b):
    a, b = lift_pair(a, b)
    return as_float(a), as_float(b)


def atan2(input, other) -> Tensor:
    """Elementwise angle of the point (other, input) in (-π, π] (``torch.atan2``, alias ``arctan2``)."""
    return Atan2.apply(*_binary_float(input, other))


arctan2 = atan2


def logaddexp(a, b) -> Tensor:
    """log(e^a + e^b), without overflow."""
    return LogAddExp.apply(*_binary_float(a, b), base="e")


def logaddexp2(a, b) -> Tensor:
    """log2(2^a + 2^b), without overflow."""
    return LogAddExp.apply(*_binary_float(a, b), base="2")


def hypot(a, b) -> Tensor:
    """sqrt(a² + b²) elementwise, without overflow."""
    return Hypot.apply(*_binary_float(a, b))


def lerp(start, end, weight) -> Tensor:
    r"""Linear interpolation $\text{start} + w\,(\text{end} - \text{start})$ (``torch.lerp``);
    the gradients ($1 - w$, $w$, $\text{end} - \text{start}$) come from ``add`` and ``mul``."""
    return add(start, mul(weight, sub(end, start)))


def remainder(a, b) -> Tensor:
    """Python's modulus ``a % b``, the sign of ``b`` (``torch.remainder``); integers stay integers."""
    a, b = lift_pair(a, b)
    _check_int_division(a, b, "remainder")
    return Remainder.apply(a, b, truncate=False)


def fmod(a, b) -> Tensor:
    """C's ``fmod``: the remainder of truncated division, the sign of ``a`` (``torch.fmod``)."""
    a, b = lift_pair(a, b)
    _check_int_division(a, b, "fmod")
    return Remainder.apply(a, b, truncate=True)


def floor_divide(a, b) -> Tensor:
    """``a // b``, rounding down (``torch.floor_divide``, ``div(rounding_mode="floor")``)."""
    a, b = lift_pair(a, b)
    _check_int_division(a, b, "floor_divide")
    return div(a, b, rounding_mode="floor")


def _check_int_division(a, b, op):
    if a.dtype.kind in "iu" and b.dtype.kind in "iu" and b._data.size and bool((b._data == 0).any()):
        raise RuntimeError(f"{op}: ZeroDivisionError (integer division by zero, shapes {a.shape} "
                           f"and {b.shape})")


def _step(x: Tensor, fn: str, decimals: int = 0) -> Tensor:
    if x.dtype.kind in "biu" and fn != "sign":
        return x.clone()  # rounding an integer changes nothing (PyTorch returns a copy)
    return StepFunction.apply(x, fn=fn, decimals=decimals)


def floor(x: Tensor) -> Tensor:
    """Round down; gradient 0."""
    return _step(x, "floor")


def ceil(x: Tensor) -> Tensor:
    """Round up; gradient 0."""
    return _step(x, "ceil")


def round(x: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001 - the PyTorch name
    """Round half to even (as PyTorch and NumPy), to ``decimals`` places; gradient 0."""
    return _step(x, "round", decimals)


def trunc(x: Tensor) -> Tensor:
    """Round toward zero (alias ``fix``); gradient 0."""
    return _step(x, "trunc")


fix = trunc


def sign(x: Tensor) -> Tensor:
    """-1, 0 or 1 by the sign of x (alias ``sgn`` for real tensors); gradient 0."""
    if x.dtype.kind == "b":
        return x.clone()
    return StepFunction.apply(x, fn="sign", decimals=0)


sgn = sign


def frac(x: Tensor) -> Tensor:
    """The fractional part x - trunc(x) (sign of x); dy/dx = 1 (through ``sub``)."""
    if x.dtype.kind not in "f":
        raise RuntimeError(f"frac: not implemented for dtype {x.dtype} (floating point only)")
    return sub(x, trunc(x).detach())


def positive(x: Tensor) -> Tensor:
    """``+x``: ``x`` itself (``torch.positive``)."""
    if x.dtype.kind == "b":
        raise RuntimeError("positive: the + operator does not support bool tensors")
    return x


class NanToNum(Function):
    r"""$y = x$ where $x$ is finite; NaN, +inf and -inf replaced by constants.
    $\partial y/\partial x = [x \text{ finite}]$ (the replaced entries are constants)."""

    def forward(self, x, nan, posinf, neginf):
        xp = get_array_module(x)
        self.finite = xp.isfinite(x)
        return xp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    def backward(self, g):
        return g * self.finite


def nan_to_num(x: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    """NaN -> ``nan``, +inf -> ``posinf``, -inf -> ``neginf`` (the dtype's largest and smallest
    finite values by default), as ``torch.nan_to_num``."""
    if x.dtype.kind != "f":
        return x.clone()
    return NanToNum.apply(x, nan=nan, posinf=posinf, neginf=neginf)


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


def isnan(x: Tensor) -> Tensor:
    """True where x is NaN."""
    return Tensor._wrap(backend.get_array_module(x._data).isnan(x._data))


def isinf(x: Tensor) -> Tensor:
    """True where x is +inf or -inf."""
    return Tensor._wrap(backend.get_array_module(x._data).isinf(x._data))


def isposinf(x: Tensor) -> Tensor:
    """True where x is +inf."""
    return Tensor._wrap(backend.get_array_module(x._data).isposinf(x._data))


def isneginf(x: Tensor) -> Tensor:
    """True where x is -inf."""
    return Tensor._wrap(backend.get_array_module(x._data).isneginf(x._data))


def isfinite(x: Tensor) -> Tensor:
    """True where x is neither NaN nor infinite."""
    return Tensor._wrap(backend.get_array_module(x._data).isfinite(x._data))


def isclose(a, b, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    r"""True where $|a - b| \le \text{atol} + \text{rtol}\,|b|$ (``torch.isclose``)."""
    a, b, xp = _arrays(a, b)
    return Tensor._wrap(xp.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(a, b, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """Whether ``isclose`` holds everywhere (a Python bool, as ``torch.allclose``)."""
    return bool(isclose(a, b, rtol, atol, equal_nan)._data.all())


def equal(a: Tensor, b: Tensor) -> bool:
    """True if both have the same shape and the same values (``torch.equal``; NaN ≠ NaN)."""
    a, b, xp = _arrays(a, b)
    return a.shape == b.shape and bool((a == b).all())


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


def any(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001 - the PyTorch name
    """Whether some element is non-zero, over ``dim`` (int, tuple or None for all): a bool tensor."""
    return _logic_reduce(x, dim, keepdim, "any")


def all(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001 - the PyTorch name
    """Whether every element is non-zero, over ``dim`` (int, tuple or None for all): a bool tensor."""
    return _logic_reduce(x, dim, keepdim, "all")


def logical_and(a, b) -> Tensor:
    """Elementwise ``a and b`` of the truth values (non-zero is true); bool."""
    a, b, xp = _arrays(a, b)
    return Tensor._wrap(xp.logical_and(a, b))


def logical_or(a, b) -> Tensor:
    """Elementwise ``a or b`` of the truth values; bool."""
    a, b, xp = _arrays(a, b)
    return Tensor._wrap(xp.logical_or(a, b))


def logical_xor(a, b) -> Tensor:
    """Elementwise exclusive or of the truth values; bool."""
    a, b, xp = _arrays(a, b)
    return Tensor._wrap(xp.logical_xor(a, b))


def logical_not(x: Tensor) -> Tensor:
    """Elementwise ``not x`` (zero is false); bool."""
    return Tensor._wrap(backend.get_array_module(x._data).logical_not(x._data))


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


def bitwise_and(a, b) -> Tensor:
    """Elementwise ``a & b`` of integer or bool tensors."""
    return _bitwise(a, b, "bitwise_and", "bitwise_and")


def bitwise_or(a, b) -> Tensor:
    """Elementwise ``a | b`` of integer or bool tensors."""
    return _bitwise(a, b, "bitwise_or", "bitwise_or")


def bitwise_xor(a, b) -> Tensor:
    """Elementwise ``a ^ b`` of integer or bool tensors."""
    return _bitwise(a, b, "bitwise_xor", "bitwise_xor")


def bitwise_left_shift(a, b) -> Tensor:
    """Elementwise ``a << b`` of integer tensors."""
    return _bitwise(a, b, "left_shift", "bitwise_left_shift")


def bitwise_right_shift(a, b) -> Tensor:
    """Elementwise ``a >> b`` of integer tensors."""
    return _bitwise(a, b, "right_shift", "bitwise_right_shift")


def bitwise_not(x: Tensor) -> Tensor:
    """Elementwise ``~x``: bit inversion of an integer tensor, ``not`` of a bool tensor."""
    if x.dtype.kind not in "biu":
        raise RuntimeError(f"bitwise_not: not implemented for dtype {x.dtype} "
                           "(integer and bool tensors only)")
    return Tensor._wrap(backend.get_array_module(x._data).invert(x._data))


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


def fmax(a, b) -> Tensor:
    """Elementwise maximum that ignores NaN (NaN only where both are NaN) (``torch.fmax``)."""
    a, b = lift_pair(a, b)
    xp = backend.get_array_module(a._data)
    return where(xp.isnan(b._data) | (a._data >= b._data), a, b)


def fmin(a, b) -> Tensor:
    """Elementwise minimum that ignores NaN (``torch.fmin``)."""
    a, b = lift_pair(a, b)
    xp = backend.get_array_module(a._data)
    return where(xp.isnan(b._data) | (a._data <= b._data), a, b)


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
