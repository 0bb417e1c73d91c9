"""Reductions and the softmax family.

Reductions take ``dim`` (an int, a tuple of ints, or None for all) and
``keepdim``; NumPy's ``axis`` / ``keepdims`` are accepted as aliases. Their
backward broadcasts the gradient back over the reduced axes: every input
element contributed to its output element with some weight, and backward hands
each element ``g`` times that weight.
"""

from __future__ import annotations

import builtins
from collections import namedtuple

import numpy as np

from minigrad import dispatch
from minigrad.backend import get_array_module
from minigrad.ops._util import as_float, normalize_axes, resolve_dim, resolve_keepdim
from minigrad.tensor import Function, Tensor


def _expand_back(g, axes, keepdim):
    """Re-insert reduced axes (as size 1) so ``g`` broadcasts against the input."""
    if keepdim:
        return g
    xp = get_array_module(g)
    return xp.expand_dims(g, axes) if axes else g


class Sum(Function):
    """y = Σ x over ``axes``;  dy/dx = 1, so every input element gets g."""

    def forward(self, x, axes, keepdim):
        self.shape, self.axes, self.keepdim = x.shape, axes, keepdim
        return x.sum(axis=axes, keepdims=keepdim)

    def backward(self, g):
        xp = get_array_module(g)
        return xp.broadcast_to(_expand_back(g, self.axes, self.keepdim), self.shape)


class Mean(Function):
    """y = (1/n) Σ x over ``axes``;  dy/dx = 1/n."""

    def forward(self, x, axes, keepdim):
        self.shape, self.axes, self.keepdim = x.shape, axes, keepdim
        self.n = 1
        for a in axes:
            self.n *= x.shape[a]
        return x.mean(axis=axes, keepdims=keepdim)

    def backward(self, g):
        xp = get_array_module(g)
        return xp.broadcast_to(_expand_back(g / self.n, self.axes, self.keepdim), self.shape)


class Extremum(Function):
    """y = max (or min) over ``axes``;  dy/dx = 1/k at each of the k tied winners, else 0.

    Splitting evenly between ties keeps the gradient a true (sub)gradient and
    matches the finite-difference slope of the symmetric max.
    """

    def forward(self, x, axes, keepdim, largest):
        y = x.max(axis=axes, keepdims=True) if largest else x.min(axis=axes, keepdims=True)
        winners = x == y
        self.weights = winners / winners.sum(axis=axes, keepdims=True)
        self.axes, self.keepdim = axes, keepdim
        return y if keepdim else y.squeeze(axis=axes)

    def backward(self, g):
        return _expand_back(g, self.axes, self.keepdim) * self.weights


class LogSumExp(Function):
    """y = log Σ exp(x) = m + log Σ exp(x - m) with m = max x (so exp never overflows).

    dy/dx = exp(x - y) = softmax(x).
    """

    def forward(self, x, axes, keepdim):
        xp = get_array_module(x)
        if x.size == 0:  # log of an empty sum: -inf, as PyTorch (CuPy's max has no initial=)
            shape = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
            self.x, self.y, self.axes, self.keepdim = x, xp.full(shape, -xp.inf, x.dtype), axes, keepdim
            return self.y if keepdim else self.y.squeeze(axis=axes)
        m = x.max(axis=axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)  # all -inf row: keep exp() finite
        y = m + xp.log(xp.exp(x - m).sum(axis=axes, keepdims=True))
        self.x, self.y, self.axes, self.keepdim = x, y, axes, keepdim
        return y if keepdim else y.squeeze(axis=axes)

    def backward(self, g):
        xp = get_array_module(g)
        return _expand_back(g, self.axes, self.keepdim) * xp.exp(self.x - self.y)


class Softmax(Function):
    """y_i = exp(x_i - m) / Σ_j exp(x_j - m), m = max_j x_j (shift-invariant, never overflows).

    Backward (the Jacobian is diag(y) - y yᵀ):  dx = y ⊙ (g - Σ_j g_j y_j).
    Both run as fused Triton kernels on a GPU (``minigrad/dispatch.py``).
    """

    def forward(self, x, dim):
        if x.size == 0:  # nothing to normalise: an empty result of the same shape
            self.y, self.dim = x.copy(), dim
            return self.y
        self.y, self.dim = dispatch.softmax(x, dim), dim
        return self.y

    def backward(self, g):
        return dispatch.softmax_backward(self.y, g, self.dim)


class LogSoftmax(Function):
    """y_i = x_i - logsumexp(x) = (x_i - m) - log Σ_j exp(x_j - m), computed stably.

    Backward:  dx = g - softmax(x) Σ_j g_j = g - exp(y) Σ_j g_j.
    """

    def forward(self, x, dim):
        if x.size == 0:
            self.y, self.dim = x.copy(), dim
            return self.y
        self.y, self.dim = dispatch.softmax(x, dim, log=True), dim
        return self.y

    def backward(self, g):
        return dispatch.softmax_backward(self.y, g, self.dim, log=True)


# ============================================================================ functional forms


def _axes(x, dim, axis, op):
    return normalize_axes(resolve_dim(dim, axis, op), x.ndim, op)


def sum(x: Tensor, dim=None, keepdim=False, *, axis=None, keepdims=False) -> Tensor:  # noqa: A001
    """Σ x over ``dim`` (int, tuple, or None for every element)."""
    return Sum.apply(x, axes=_axes(x, dim, axis, "sum"), keepdim=resolve_keepdim(keepdim, keepdims))


def mean(x: Tensor, dim=None, keepdim=False, *, axis=None, keepdims=False) -> Tensor:
    """Arithmetic mean (1/n) Σ x over ``dim``."""
    if x.dtype.kind not in "fc":
        raise TypeError(f"mean: needs a floating point tensor, got dtype {x.dtype}")
    axes = _axes(x, dim, axis, "mean")
    return Mean.apply(x, axes=axes, keepdim=resolve_keepdim(keepdim, keepdims))


def var(
    x: Tensor, dim=None, keepdim=False, *, unbiased=None, correction=None, axis=None,
    keepdims=False,
) -> Tensor:
    """Variance Σ (x - mean)² / (n - correction).

    ``correction=1`` (the default, Bessel's correction, as ``torch.var``) gives the
    unbiased sample variance; ``correction=0`` (or ``unbiased=False``) the
    population variance that normalisation layers use.
    """
    if unbiased is not None and correction is not None:
        raise TypeError("var: pass either unbiased= or correction=, not both")
    if correction is None:
        correction = 0 if unbiased is False else 1
    axes = _axes(x, dim, axis, "var")
    n = 1
    for a in axes:
        n *= x.shape[a]
    d = x - mean(x, dim=axes, keepdim=True)
    squares = sum(d * d, dim=axes, keepdim=resolve_keepdim(keepdim, keepdims))
    # n <= correction leaves no degrees of freedom: PyTorch divides by max(n - c, 0) and
    # returns nan (0/0) or inf, not an error
    with np.errstate(divide="ignore", invalid="ignore"):
        return squares / builtins.max(n - correction, 0)


class StdFromVar(Function):
    r"""$\sigma = \sqrt{v}$ with $d\sigma/dv = 1 / (2\sigma)$, and 0 where $\sigma = 0$.

    At zero variance the true slope is infinite, but $dv/dx = 2(x - \bar x)/(n - c)$
    is exactly 0 there, so the chain rule's $\infty \cdot 0$ is taken as 0 (PyTorch's
    choice) rather than the nan a plain ``v ** 0.5`` would give.
    """

    def forward(self, v):
        self.sigma = get_array_module(v).sqrt(v)
        return self.sigma

    def backward(self, g):
        xp = get_array_module(g)
        safe = xp.where(self.sigma > 0, self.sigma, 1)
        return xp.where(self.sigma > 0, g / (2 * safe), 0)


def std(x: Tensor, dim=None, keepdim=False, *, unbiased=None, correction=None, axis=None,
        keepdims=False) -> Tensor:
    r"""Standard deviation $\sqrt{\mathrm{var}(x)}$ (same arguments as `var`); its
    gradient at zero variance is 0, as in PyTorch."""
    v = var(x, dim, keepdim, unbiased=unbiased, correction=correction, axis=axis, keepdims=keepdims)
    return StdFromVar.apply(v)


def _extremum(x, dim, keepdim, axis, keepdims, largest, op):
    if x._data.size == 0 and (dim is None and axis is None):
        raise RuntimeError(f"{op}: empty tensor of shape {x.shape} has no {op}; "
                           "pass dim= to reduce a non-empty dimension")
    axes = _axes(x, dim, axis, op)
    return Extremum.apply(x, axes=axes, keepdim=resolve_keepdim(keepdim, keepdims), largest=largest)


def amax(x: Tensor, dim=None, keepdim=False, *, axis=None, keepdims=False) -> Tensor:
    """Largest value over ``dim`` (int, tuple or None, as ``torch.amax``); ties share the
    gradient evenly."""
    return _extremum(x, dim, keepdim, axis, keepdims, True, "amax")


def amin(x: Tensor, dim=None, keepdim=False, *, axis=None, keepdims=False) -> Tensor:
    """Smallest value over ``dim`` (as ``torch.amin``); ties share the gradient evenly."""
    return _extremum(x, dim, keepdim, axis, keepdims, False, "amin")


class return_types:  # noqa: N801 - PyTorch's module name, torch.return_types
    """Named tuples returned by ops with two results, as ``torch.return_types``."""

    max = namedtuple("max", ["values", "indices"])
    min = namedtuple("min", ["values", "indices"])
    sort = namedtuple("sort", ["values", "indices"])
    topk = namedtuple("topk", ["values", "indices"])


class ExtremumAlongDim(Function):
    r"""(values, indices) = max (or min) along one ``dim``; only ``values`` is differentiable.

    As in PyTorch, the gradient goes to the element ``indices`` names (the first
    winner), not split between ties: $\partial y_j / \partial x_{i} = [i = \text{idx}_j]$.
    """

    def forward(self, x, idx, dim, keepdim):
        # idx: the winners' positions, keeping ``dim`` as size 1
        self.idx, self.dim, self.keepdim, self.shape = idx, dim, keepdim, x.shape
        values = get_array_module(x).take_along_axis(x, idx, axis=dim)
        return values if keepdim else values.squeeze(axis=dim)

    def backward(self, g):
        xp = get_array_module(g)
        dx = xp.zeros(self.shape, dtype=g.dtype)
        xp.put_along_axis(dx, self.idx, _expand_back(g, (self.dim,), self.keepdim), axis=self.dim)
        return dx


def _max_or_min(x, dim, keepdim, other, largest, op):
    if isinstance(dim, Tensor) and other is None:  # torch.max(a, b): elementwise
        dim, other = None, dim
    if other is not None:
        from minigrad.ops.elementwise import maximum, minimum

        return (maximum if largest else minimum)(x, other)
    if dim is None:
        if keepdim:
            raise TypeError(f"{op}: keepdim needs dim")
        return _extremum(x, None, False, None, False, largest, op)
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"{op}: dim must be an int (use amax/amin for several dims), got {dim}")
    (axis,) = _axes(x, dim, None, op) or (None,)
    if axis is None:  # a 0-d tensor
        zero = Tensor._wrap(get_array_module(x._data).zeros((), dtype="int64"))
        return getattr(return_types, op)(x, zero)
    if x.shape[axis] == 0:
        raise IndexError(f"{op}: dim {dim} of a tensor of shape {x.shape} is empty")
    idx = x._data.argmax(axis=axis) if largest else x._data.argmin(axis=axis)
    idx = get_array_module(idx).expand_dims(idx, axis)
    values = ExtremumAlongDim.apply(x, idx=idx, dim=axis, keepdim=keepdim)
    indices = Tensor._wrap(idx if keepdim else idx.squeeze(axis=axis))
    return getattr(return_types, op)(values, indices)


def max(x: Tensor, dim=None, keepdim=False, *, other=None) -> Tensor:  # noqa: A001
    """``max(x)``: the largest value (ties share the gradient evenly).
    ``max(x, dim)``: the named tuple ``(values, indices)`` along ``dim`` (gradient to the
    index). ``max(a, b)``: the elementwise maximum. All three as ``torch.max``.
    """
    return _max_or_min(x, dim, keepdim, other, True, "max")


def min(x: Tensor, dim=None, keepdim=False, *, other=None) -> Tensor:  # noqa: A001
    """``min(x)``, ``min(x, dim)`` → ``(values, indices)``, ``min(a, b)``: as ``torch.min``."""
    return _max_or_min(x, dim, keepdim, other, False, "min")


def argmax(x: Tensor, dim=None, keepdim=False) -> Tensor:
    """Index of the largest value along ``dim`` (flattened if None). Not differentiable."""
    out = x._data.argmax(axis=dim)
    if keepdim and dim is not None and x.ndim:
        out = get_array_module(out).expand_dims(out, dim)
    return Tensor._wrap(out)


def argmin(x: Tensor, dim=None, keepdim=False) -> Tensor:
    """Index of the smallest value along ``dim``. Not differentiable."""
    out = x._data.argmin(axis=dim)
    if keepdim and dim is not None and x.ndim:
        out = get_array_module(out).expand_dims(out, dim)
    return Tensor._wrap(out)


def logsumexp(x: Tensor, dim=None, keepdim=False, *, axis=None, keepdims=False) -> Tensor:
    """log Σ exp(x) over ``dim``, stable for large inputs; its gradient is softmax(x)."""
    axes = _axes(x, dim, axis, "logsumexp")
    return LogSumExp.apply(as_float(x), axes=axes, keepdim=resolve_keepdim(keepdim, keepdims))


def _one_dim(x, dim, axis, op):
    axes = _axes(x, dim if dim is not None or axis is not None else -1, axis, op)
    if len(axes) != 1:
        raise ValueError(f"{op}: expects a single dim, got {axes}")
    return axes[0]


def softmax(x: Tensor, dim=None, *, axis=None) -> Tensor:
    """softmax(x)_i = exp(x_i) / Σ_j exp(x_j) along ``dim`` (default the last), stable."""
    if x.ndim == 0:  # one element: softmax 1 (log_softmax 0) with gradient 0, as PyTorch
        return Softmax.apply(as_float(x).reshape(1), dim=0).reshape(())
    return Softmax.apply(as_float(x), dim=_one_dim(x, dim, axis, "softmax"))


def log_softmax(x: Tensor, dim=None, *, axis=None) -> Tensor:
    """log softmax(x)_i = x_i - logsumexp(x) along ``dim`` (default the last), stable."""
    if x.ndim == 0:
        return LogSoftmax.apply(as_float(x).reshape(1), dim=0).reshape(())
    return LogSoftmax.apply(as_float(x), dim=_one_dim(x, dim, axis, "log_softmax"))


__all__ = [
    "sum", "mean", "var", "std", "max", "min", "amax", "amin", "argmax", "argmin", "return_types",
    "logsumexp", "softmax", "log_softmax",
]
