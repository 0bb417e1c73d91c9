r"""Special functions on arrays: the error function $\operatorname{erf}$ and the normal CDF $\Phi$.

These are array functions (no autograd): the differentiable ops ``erf``, ``erfc`` and
``gelu`` in `minigrad.ops.elementwise` call them in their forward passes.

**Reference formula.** $\operatorname{erf} x = \frac{2}{\sqrt\pi}\int_0^x e^{-t^2}\,dt$ and
$\Phi(x) = \tfrac12\left(1 + \operatorname{erf}(x/\sqrt2)\right)$. The reference values are
Python's ``math.erf`` (correctly rounded to about one unit in the last place of a float64).
NumPy has no ``erf``; float64 arrays get the reference values (`erf_exact`).

**Fast path for float32** (`erf_fast`), the hot path of the exact GELU in a
Transformer. It writes erf through ``tanh``, which NumPy evaluates with SIMD:

$$\operatorname{erf} x \approx \tanh\big(x\,P(x^2)\big), \qquad
P(u) = \sum_{k=0}^{9} c_k u^k, \qquad |x| \text{ clamped to } 4.25.$$

Why this form: $\operatorname{artanh}(\operatorname{erf} x)/x$ is smooth and even, so a short
polynomial in $u = x^2$ fits it on $[0, 4.25]$; the product $x P(x^2)$ keeps the relative
accuracy near $x = 0$ (where $1 - \operatorname{erfc}$ forms cancel); and ``tanh`` saturates
to exactly $\pm 1$ (NumPy's float32 ``tanh`` from $|y| = 10$, reached at $|x| = 4.2$) where
float32 erf is $\pm 1$ ($|x| \ge 3.92$), so the clamp costs nothing.
An error $\delta$ in $P$ moves erf by $x(1 - \operatorname{erf}^2)\,\delta$, so the fit is
weighted by $x(1 - \operatorname{erf}^2)/\operatorname{erf}$ (the relative error of erf) and made
near-minimax by reweighting (`fit_erf_tanh`). Model error $\le 1.1 \cdot 10^{-8}$ relative;
evaluated in float32 the result is within 3 float32 ulps of the exact value (max relative
error $2.5 \cdot 10^{-7}$, most of it NumPy's float32 ``tanh``; the Numerical-Recipes fit it
replaces had $1.2 \cdot 10^{-7}$ absolute error, hence a relative error of $1.6 \cdot 10^{-3}$
at $x = 10^{-4}$ and 10% at $x = 10^{-6}$).
Cost: a clamp, 20 in-place multiply-adds and one ``tanh``, about 2.5x faster than the
exp-based fit (whose ``where`` alone cost as much as all of this).
"""

from __future__ import annotations

import math

import numpy as np

from minigrad.backend import get_array_module

#: ``scipy.special`` once looked up (imported on first use: it adds ~0.2 s to ``import
#: minigrad``), or None without SciPy; an optional accelerator, SciPy is not a dependency.
_scipy_special = False

__all__ = ["erf", "erf_exact", "erf_fast", "normal_cdf", "fit_erf_tanh"]

#: c_0..c_9 of P(u): erf x ≈ tanh(x P(x²)) for |x| <= 4.25, from ``fit_erf_tanh(9)``.
ERF_TANH_COEFFS = (
    1.128379178800563, 0.1027721506401447, -0.00020657442280273743,
    -0.0005954616790543357, 6.94589629469503e-05, 1.261956679638185e-06,
    -1.2723966292135085e-06, 1.5382968455830555e-07, -8.302892395473686e-09,
    1.7407318692592883e-10,
)
_CLAMP = 4.25  # float32 erf is ±1 beyond ±3.92; NumPy's float32 tanh is ±1 from |y| = 10 = 4.2 P(4.2²)

#: The same polynomial for Φ(x) = (1 + tanh(x Q(x²)))/2 with x/√2 folded in: d_k = c_k / (√2 · 2^k).
_CDF_TANH_COEFFS = tuple(c / (math.sqrt(2) * 2**k) for k, c in enumerate(ERF_TANH_COEFFS))
_CDF_CLAMP = _CLAMP * math.sqrt(2)


def erf(x):
    """erf on an array of any float dtype, NumPy or CuPy; the result has ``x``'s dtype.

    float64: the exact values (`erf_exact`; on a GPU ``cupyx.scipy.special.erf``);
    float32 and float16: the fast ``tanh`` fit (`erf_fast`), on either device.
    """
    xp = get_array_module(x)
    if xp is np:
        x = np.asarray(x)
    if x.dtype == np.float64 or x.dtype.kind != "f":
        return erf_exact(x) if xp is np else _device_erf_exact(x, xp)
    return erf_fast(x)


def _device_erf_exact(x, xp):
    """Exact erf of a device array: CuPy's ``cupyx.scipy.special.erf``; an array library
    without it (the test suite's CuPy stand-in) computes on the host and copies back."""
    try:
        import cupyx.scipy.special as cupy_special
    except ImportError:
        return xp.asarray(erf_exact(x.get()))
    return cupy_special.erf(x)


def erf_exact(x):
    """erf on a NumPy array, to float64 precision: ``math.erf`` per element (the reference).

    With SciPy installed, ``scipy.special.erf`` (the same values within 1e-16, several
    times faster) is used instead; both paths are tested against each other.
    """
    x = np.asarray(x, dtype=np.float64)
    scipy_special = _scipy()
    if scipy_special is not None:
        return scipy_special.erf(x)
    return _erf_math(x)


def _scipy():
    """``scipy.special``, imported on first use, or None when SciPy is not installed."""
    global _scipy_special
    if _scipy_special is False:
        try:
            import scipy.special as _scipy_special
        except ImportError:  # depends on the environment
            _scipy_special = None
    return _scipy_special


def _erf_math(x):
    """``math.erf`` on every element (no SciPy): the reference path."""
    return np.frompyfunc(math.erf, 1, 1)(x).astype(np.float64).reshape(x.shape)


def erf_fast(x):
    """erf ≈ tanh(x P(x²)) with |x| clamped to 4.25, in float32 (equations in the module docstring).

    Accepts float32 (computed in place, one temporary besides the result) or float16
    (computed in float32, returned as float16). Within 3 float32 ulps of the exact value;
    NaN stays NaN, ±inf gives ±1.
    """
    return _tanh_poly(x, ERF_TANH_COEFFS, _CLAMP)


def normal_cdf(x, out=None):
    r"""$\Phi(x) = \tfrac12(1 + \operatorname{erf}(x/\sqrt2))$, the standard normal CDF, with ``x``'s dtype.

    ``out``: an array of ``x``'s shape and dtype to write the result into (it is returned).

    float64 (and CuPy): the formula with the exact erf. float32/float16: the fast path
    with $1/\sqrt2$ folded into the coefficients, $\Phi(x) = \tfrac12 + \tfrac12\tanh(x Q(x^2))$;
    its absolute error is below 1e-7 (like the formula's: near $\Phi = 0$ both lose
    relative accuracy to the cancellation in $1 + \operatorname{erf}$, as PyTorch's GELU does).
    """
    if get_array_module(x) is np:
        x = np.asarray(x)
    if x.dtype.kind == "f" and x.dtype != np.float64:
        cdf = _tanh_poly(x, _CDF_TANH_COEFFS, _CDF_CLAMP, out=out)
        cdf *= 0.5
        cdf += 0.5
        return cdf
    cdf = 0.5 * (1 + erf(x / math.sqrt(2)))
    if out is None:
        return cdf
    out[...] = cdf
    return out


def _tanh_poly(x, coeffs, clamp, out=None):
    """tanh(x P(x²)) with x clamped to ±clamp, P by Horner's rule in place (the fast path).

    Computed in float32 (a float16 input is promoted, the result cast back), with the
    array module of ``x``: the same values on NumPy and CuPy. A float32 ``out`` of x's
    shape receives the result (no new array for it).
    """
    xp = get_array_module(x)
    xc = xp.clip(x.astype(xp.float32, copy=False), -clamp, clamp)  # a new array
    u = xc * xc
    if out is not None and out.dtype != xp.float32:
        out[...] = _tanh_poly(x, coeffs, clamp)
        return out
    y = xp.multiply(u, xp.float32(coeffs[-1]), out=out)
    y += coeffs[-2]
    for c in coeffs[-3::-1]:
        y *= u
        y += c
    y *= xc
    xp.tanh(y, out=y)
    return y if x.dtype == xp.float32 else y.astype(x.dtype)


def fit_erf_tanh(degree: int = 9, nodes: int = 6000, iterations: int = 60):
    """Re-derive `ERF_TANH_COEFFS`: (coefficients c_0..c_degree, max relative error of erf).

    Target f(u) = artanh(erf x)/x with u = x², x on ``nodes`` Chebyshev points of [0, 4],
    computed from ``math.erfc`` so it stays accurate where erf x is near 1:
    artanh(erf x) = log((1 + erf x)/erfc x)/2. Weighted least squares with weight
    w = x (1 - erf²)/erf (so that w · |P - f| is erf's relative error), then iteratively
    reweighted by the residual (Lawson's algorithm) towards the minimax fit. The fit runs in
    the scaled variable u/16 (well conditioned) and is scaled back exactly (powers of 2).
    """
    xs = np.sort(_CLAMP / 2 * (1 + np.cos(np.linspace(0.0, math.pi, nodes))))
    f = np.empty_like(xs)
    weight = np.empty_like(xs)
    for i, v in enumerate(xs):
        if v == 0.0:
            f[i], weight[i] = 2 / math.sqrt(math.pi), math.sqrt(math.pi) / 2
            continue
        e = math.erf(v)
        f[i] = 0.5 * math.log((1 + e) / math.erfc(v)) / v
        weight[i] = v * (1 - e) * (1 + e) / e
    basis = np.vander(xs * xs / 16, degree + 1, increasing=True)
    lam = np.ones_like(xs)
    for _ in range(iterations):
        w = weight * np.sqrt(lam)
        q, r = np.linalg.qr(basis * w[:, None])  # least squares by QR
        coef = np.linalg.solve(r, q.T @ (f * w))
        err = np.abs(basis @ coef - f) * weight
        lam = lam * err / err.sum() * len(err) + 1e-300
    return coef / 16.0 ** np.arange(degree + 1), float(err.max())
