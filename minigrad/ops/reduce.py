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


def sum(  # noqa: A001
    input: Tensor, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=False,  # noqa: A002
) -> Tensor:
    r"""Returns the sum of the elements of ``input`` over the given dimension(s) ``dim``.

    $$y = \sum_{i \in \text{dim}} x_i, \qquad \frac{\partial L}{\partial x_i} = g$$

    (every element contributes with weight 1, so backward broadcasts $g$ back over ``dim``).

    Args:
        input: The input tensor.
        dim: An int, a tuple of ints, or None to reduce every element (``axis`` is an alias).
        keepdim: Keep the reduced dims as size 1 (``keepdims`` is an alias).
        dtype: Cast ``input`` to this dtype first (as PyTorch).

    Returns:
        The sums, a tensor of ``input``'s dtype (or ``dtype``).
    """
    x = input if dtype is None else input.to(dtype)
    return Sum.apply(x, axes=_axes(x, dim, axis, "sum"), keepdim=resolve_keepdim(keepdim, keepdims))


def mean(
    input: Tensor, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=False,  # noqa: A002
) -> Tensor:
    r"""Returns the mean value of the elements of ``input`` over the given dimension(s) ``dim``.

    $$y = \frac{1}{n} \sum_{i \in \text{dim}} x_i, \qquad \frac{\partial L}{\partial x_i} = \frac{g}{n},$$

    with $n$ the number of elements reduced into each output.

    Args:
        input: A floating point tensor.
        dim: An int, a tuple of ints, or None to reduce every element (``axis`` is an alias).
        keepdim: Keep the reduced dims as size 1 (``keepdims`` is an alias).
        dtype: Cast ``input`` to this dtype first (as PyTorch: ``mean(dtype=float32)`` of integers).

    Returns:
        The means.

    Raises:
        TypeError: When ``input`` (after the cast) is not floating point.
    """
    x = input if dtype is None else input.to(dtype)
    if x.dtype.kind not in "fc":
        raise TypeError(f"mean: needs a floating point tensor, got dtype {x.dtype}")
    axes = _axes(x, dim, axis, "mean")
    return Mean.apply(x, axes=axes, keepdim=resolve_keepdim(keepdim, keepdims))


def var(
    input: Tensor, dim=None, keepdim=False, *, unbiased=None, correction=None, axis=None,
    keepdims=False,
) -> Tensor:
    r"""Calculates the variance over the dimensions specified by ``dim``.

    $$v = \frac{1}{\max(n - c,\, 0)} \sum_i (x_i - \bar x)^2, \qquad
      \frac{\partial L}{\partial x_i} = g\, \frac{2 (x_i - \bar x)}{n - c}$$

    (the backwards of its ``mean``, ``sub``, ``mul``, ``sum``; the $\bar x$ term's share cancels).

    Args:
        input: The input tensor.
        dim: An int, a tuple of ints, or None for every element (``axis`` is an alias).
        keepdim: Keep the reduced dims as size 1 (``keepdims`` is an alias).
        unbiased: ``False`` is ``correction=0``.
        correction: $c$: 1 (Bessel's correction, default) or 0 (the population variance).

    Returns:
        The variances; nan or inf where $n \le c$, as PyTorch.
    """
    if unbiased is not None and correction is not None:
        raise TypeError("var: pass either unbiased= or correction=, not both")
    if correction is None:
        correction = 0 if unbiased is False else 1
    axes = _axes(input, dim, axis, "var")
    n = 1
    for a in axes:
        n *= input.shape[a]
    d = input - mean(input, dim=axes, keepdim=True)
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


def std(input: Tensor, dim=None, keepdim=False, *, unbiased=None, correction=None, axis=None,
        keepdims=False) -> Tensor:
    r"""Standard deviation $\sqrt{\mathrm{var}(x)}$ (same arguments as `var`); its
    gradient at zero variance is 0, as in PyTorch."""
    v = var(input, dim, keepdim, unbiased=unbiased, correction=correction, axis=axis, keepdims=keepdims)
    return StdFromVar.apply(v)


def _extremum(x, dim, keepdim, axis, keepdims, largest, op):
    if x._data.size == 0 and (dim is None and axis is None):
        raise RuntimeError(f"{op}: empty tensor of shape {x.shape} has no {op}; "
                           "pass dim= to reduce a non-empty dimension")
    axes = _axes(x, dim, axis, op)
    _check_reduced_dims_nonempty(x, axes, op)
    return Extremum.apply(x, axes=axes, keepdim=resolve_keepdim(keepdim, keepdims), largest=largest)


def _check_reduced_dims_nonempty(x, axes, op):
    """A max/min over an empty dim has no value: PyTorch's IndexError, naming the op."""
    for a in axes if axes is not None else range(x.ndim):
        if x.shape[a] == 0:
            raise IndexError(f"{op}: expected reduction dim {a} to have non-zero size, got a "
                             f"tensor of shape {x.shape}")


def amax(input: Tensor, dim=None, keepdim=False, *, axis=None, keepdims=False) -> Tensor:
    r"""Returns the maximum value of each slice of ``input`` in the given dimension(s) ``dim``.

    $$y = \max_{i \in \text{dim}} x_i, \qquad \frac{\partial L}{\partial x_i} = \frac{g}{k}\,[x_i = y],$$

    with $k$ the number of tied maxima: ties share the gradient evenly (as ``torch.amax``).

    Args:
        input: The input tensor.
        dim: An int, a tuple of ints, or None for every element (``axis`` is an alias).
        keepdim: Keep the reduced dims as size 1 (``keepdims`` is an alias).

    Returns:
        The maxima.
    """
    return _extremum(input, dim, keepdim, axis, keepdims, True, "amax")


def amin(input: Tensor, dim=None, keepdim=False, *, axis=None, keepdims=False) -> Tensor:
    r"""Returns the minimum value of each slice of ``input`` in the given dimension(s) ``dim``.

    $$y = \min_{i \in \text{dim}} x_i, \qquad \frac{\partial L}{\partial x_i} = \frac{g}{k}\,[x_i = y],$$

    with $k$ the number of tied minima: ties share the gradient evenly (as ``torch.amin``).

    Args:
        input: The input tensor.
        dim: An int, a tuple of ints, or None for every element (``axis`` is an alias).
        keepdim: Keep the reduced dims as size 1 (``keepdims`` is an alias).

    Returns:
        The minima.
    """
    return _extremum(input, dim, keepdim, axis, keepdims, False, "amin")


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


def max(input: Tensor, dim=None, keepdim=False, *, other=None) -> Tensor:  # noqa: A001
    r"""Returns the maximum value of all elements in ``input``, or along ``dim`` with its index.

    - ``max(input)``: $y = \max_i x_i$, with $\partial L/\partial x_i = (g/k)\,[x_i = y]$ ($k$ ties
      share the gradient evenly).
    - ``max(input, dim)``: the named tuple ``(values, indices)``, $y_j = x_{\text{idx}_j}$, and the
      gradient goes to the index only: $\partial L/\partial x_i = \sum_j g_j\,[i = \text{idx}_j]$.
    - ``max(a, b)``: the elementwise ``maximum``.

    Args:
        input: The input tensor.
        dim: The dim to reduce (an int), or a tensor for the elementwise form.
        keepdim: Keep ``dim`` as size 1 (only with ``dim``).
        other: The second tensor of the elementwise form.

    Returns:
        A tensor, or ``(values, indices)`` when ``dim`` is given.
    """
    return _max_or_min(input, dim, keepdim, other, True, "max")


def min(input: Tensor, dim=None, keepdim=False, *, other=None) -> Tensor:  # noqa: A001
    r"""Returns the minimum value of all elements in ``input``, or along ``dim`` with its index.

    - ``min(input)``: $y = \min_i x_i$, with $\partial L/\partial x_i = (g/k)\,[x_i = y]$ ($k$ ties
      share the gradient evenly).
    - ``min(input, dim)``: the named tuple ``(values, indices)``, $y_j = x_{\text{idx}_j}$, and the
      gradient goes to the index only: $\partial L/\partial x_i = \sum_j g_j\,[i = \text{idx}_j]$.
    - ``min(a, b)``: the elementwise ``minimum``.

    Args:
        input: The input tensor.
        dim: The dim to reduce (an int), or a tensor for the elementwise form.
        keepdim: Keep ``dim`` as size 1 (only with ``dim``).
        other: The second tensor of the elementwise form.

    Returns:
        A tensor, or ``(values, indices)`` when ``dim`` is given.
    """
    return _max_or_min(input, dim, keepdim, other, False, "min")


def argmax(input: Tensor, dim=None, keepdim=False) -> Tensor:
    r"""Returns the indices of the maximum values of ``input`` along ``dim``.

    $$\text{idx} = \operatorname{arg\,max}_i x_i$$

    (the first one among ties). An integer result: no gradient flows through it.

    Args:
        input: The input tensor.
        dim: The dim to reduce; None for the index into the flattened tensor.
        keepdim: Keep ``dim`` as size 1.

    Returns:
        An int64 tensor of indices.
    """
    if input._data.size == 0 and dim is None:
        raise RuntimeError(f"argmax: expected a dim to reduce for an empty tensor of shape {input.shape}")
    if dim is not None and input.ndim:
        _check_reduced_dims_nonempty(input, (dim % input.ndim,), "argmax")
    out = input._data.argmax(axis=dim)
    if keepdim and dim is not None and input.ndim:
        out = get_array_module(out).expand_dims(out, dim)
    return Tensor._wrap(out)


def argmin(input: Tensor, dim=None, keepdim=False) -> Tensor:
    r"""Returns the indices of the minimum values of ``input`` along ``dim``.

    $$\text{idx} = \operatorname{arg\,min}_i x_i$$

    (the first one among ties). An integer result: no gradient flows through it.

    Args:
        input: The input tensor.
        dim: The dim to reduce; None for the index into the flattened tensor.
        keepdim: Keep ``dim`` as size 1.

    Returns:
        An int64 tensor of indices.
    """
    if input._data.size == 0 and dim is None:
        raise RuntimeError(f"argmin: expected a dim to reduce for an empty tensor of shape {input.shape}")
    if dim is not None and input.ndim:
        _check_reduced_dims_nonempty(input, (dim % input.ndim,), "argmin")
    out = input._data.argmin(axis=dim)
    if keepdim and dim is not None and input.ndim:
        out = get_array_module(out).expand_dims(out, dim)
    return Tensor._wrap(out)


def logsumexp(input: Tensor, dim=None, keepdim=False, *, axis=None, keepdims=False) -> Tensor:
    r"""Returns the log of summed exponentials of ``input`` over the given dimension(s) ``dim``.

    $$y = \log \sum_i e^{x_i} = m + \log \sum_i e^{x_i - m}, \quad m = \max_i x_i, \qquad
      \frac{\partial L}{\partial x_i} = g\, e^{x_i - y} = g\, \operatorname{softmax}(x)_i$$

    (the shift by $m$ keeps ``exp`` from overflowing; an empty sum gives $-\infty$).

    Args:
        input: The input tensor (integers are cast to floating point).
        dim: An int, a tuple of ints, or None for every element (``axis`` is an alias).
        keepdim: Keep the reduced dims as size 1 (``keepdims`` is an alias).

    Returns:
        The log-sum-exps.
    """
    axes = _axes(input, dim, axis, "logsumexp")
    return LogSumExp.apply(as_float(input), axes=axes, keepdim=resolve_keepdim(keepdim, keepdims))


def _one_dim(x, dim, axis, op):
    axes = _axes(x, dim if dim is not None or axis is not None else -1, axis, op)
    if len(axes) != 1:
        raise ValueError(f"{op}: expects a single dim, got {axes}")
    return axes[0]


def softmax(input: Tensor, dim=None, *, dtype=None, axis=None) -> Tensor:  # noqa: A002
    r"""Applies the softmax function along ``dim``.

    $$y_i = \frac{e^{x_i - m}}{\sum_j e^{x_j - m}}, \quad m = \max_j x_j, \qquad
      \frac{\partial L}{\partial x} = y \odot \big(g - \langle g, y \rangle\big)$$

    (the Jacobian is $\operatorname{diag}(y) - y y^\top$; both run as fused Triton kernels on a GPU).

    Args:
        input: The input tensor (integers are cast to floating point).
        dim: The dim the probabilities sum to 1 along; the last when None (``axis`` is an alias).
        dtype: Cast ``input`` to this dtype first (as PyTorch: to compute in float64, say).

    Returns:
        A tensor of ``input``'s shape.
    """
    x = input if dtype is None else input.to(dtype)
    if x.ndim == 0:  # one element: softmax 1 (log_softmax 0) with gradient 0, as PyTorch
        return Softmax.apply(as_float(x).reshape(1), dim=0).reshape(())
    return Softmax.apply(as_float(x), dim=_one_dim(x, dim, axis, "softmax"))


def log_softmax(input: Tensor, dim=None, *, dtype=None, axis=None) -> Tensor:  # noqa: A002
    r"""Applies a softmax followed by a logarithm along ``dim``, computed stably in one pass.

    $$y_i = x_i - \log \sum_j e^{x_j} = (x_i - m) - \log \sum_j e^{x_j - m}, \qquad
      \frac{\partial L}{\partial x} = g - e^{y} \sum_j g_j$$

    ($e^y$ is the softmax; $m = \max_j x_j$ keeps ``exp`` from overflowing).

    Args:
        input: The input tensor (integers are cast to floating point).
        dim: The dim to normalise along; the last when None (``axis`` is an alias).
        dtype: Cast ``input`` to this dtype first (as PyTorch).

    Returns:
        A tensor of ``input``'s shape.
    """
    x = input if dtype is None else input.to(dtype)
    if x.ndim == 0:
        return LogSoftmax.apply(as_float(x).reshape(1), dim=0).reshape(())
    return LogSoftmax.apply(as_float(x), dim=_one_dim(x, dim, axis, "log_softmax"))


__all__ = [
    "sum", "mean", "var", "std", "max", "min", "amax", "amin", "argmax", "argmin", "return_types",
    "logsumexp", "softmax", "log_softmax",
]
