r"""Scans (running totals along one dim) and the product, whose gradient is two scans.

A scan $y_i = x_0 \circ x_1 \circ \dots \circ x_i$ lets $x_j$ influence every
$y_i$ with $i \ge j$, so its backward is a scan the other way: for ``cumsum``,
$\partial L/\partial x_j = \sum_{i \ge j} g_i$, a *reverse* cumulative sum.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from minigrad.backend import get_array_module
from minigrad.ops._util import as_float, normalize_axes
from minigrad.tensor import Function, Tensor

cummax_result = namedtuple("cummax", ["values", "indices"])  # torch.return_types.cummax
cummin_result = namedtuple("cummin", ["values", "indices"])


def _reverse_cumsum(g, axis):
    r"""$r_j = \sum_{i \ge j} g_i$ along ``axis``."""
    xp = get_array_module(g)
    return xp.flip(xp.cumsum(xp.flip(g, axis), axis=axis), axis)


def _dim(x: Tensor, dim, op: str) -> int:
    if dim is None:
        raise TypeError(f"{op}: missing the required argument dim")
    (axis,) = normalize_axes((dim,), x.ndim, op) or (0,)
    return axis


def _scan_input(x: Tensor, dtype, op: str) -> Tensor:
    """PyTorch's dtype rule for cumsum/cumprod: integers and bools accumulate in int64."""
    if dtype is not None:
        return x.to(dtype)
    if x.dtype.kind in "biu":
        return Tensor._wrap(x._data.astype(np.int64))
    return x


def _as_1d(x: Tensor) -> Tensor:
    return x.reshape(1) if x.ndim == 0 else x


class Cumsum(Function):
    r"""$y_i = \sum_{j \le i} x_j$ along ``dim``;  $\partial L/\partial x_j = \sum_{i \ge j} g_i$."""

    def forward(self, x, axis):
        self.axis = axis
        return get_array_module(x).cumsum(x, axis=axis)

    def backward(self, g):
        return _reverse_cumsum(g, self.axis)


def cumsum(input: Tensor, dim=None, *, dtype=None) -> Tensor:
    r"""Returns the cumulative sum of the elements of `input` along `dim` (`torch.cumsum`).

    $y_i = \sum_{j \le i} x_j = x_0 + \dots + x_i$ along `dim`. Each $x_j$ enters every $y_i$ with
    $i \ge j$, so the gradient is a reverse cumulative sum: $\partial L/\partial x_j = \sum_{i \ge j} g_i$.

    Args:
        input: the input tensor.
        dim: the dimension to sum along (required).
        dtype: cast `input` to this dtype first; by default integers and bools accumulate in int64.

    Returns:
        A Tensor of the shape of `input`.
    """
    axis = _dim(input, dim, "cumsum")
    input = _scan_input(input, dtype, "cumsum")
    return Cumsum.apply(_as_1d(input), axis=axis).reshape(input.shape)


class Cumprod(Function):
    r"""$y_i = \prod_{j \le i} x_j$ along ``dim``.

    $\partial y_i/\partial x_j = \prod_{k \le i,\, k \ne j} x_k$ for $j \le i$, so
    $\partial L/\partial x_j = \sum_{i \ge j} g_i\, y_i / x_j$ when $x_j \ne 0$. Zeros need
    care (PyTorch's cumprod backward handles them too): with $z$ the first zero of the slice,

    * $j < z$: the formula above ($y_i = 0$ for $i \ge z$ drops those terms);
    * $j = z$: $\sum_{i \ge z} g_i\, \tilde y_i$, where $\tilde y$ is the running product
      with $x_z$ replaced by 1 (the product of every other factor);
    * $j > z$: 0, since every $y_i$ with $i \ge j$ still contains the factor $x_z = 0$.
    """

    def forward(self, x, axis):
        self.x, self.axis = x, axis
        self.y = get_array_module(x).cumprod(x, axis=axis)
        return self.y

    def backward(self, g):
        xp = get_array_module(g)
        x, y, axis = self.x, self.y, self.axis
        zeros_so_far = xp.cumsum(x == 0, axis=axis)
        before = zeros_so_far == 0  # j < z
        first_zero = (x == 0) & (zeros_so_far == 1)  # j = z
        safe_x = xp.where(x == 0, 1, x)
        dx_before = _reverse_cumsum(g * y, axis) / safe_x
        y_without_zero = xp.cumprod(xp.where(first_zero, 1, x), axis=axis)
        dx_at_zero = _reverse_cumsum(g * y_without_zero, axis)
        return xp.where(before, dx_before, xp.where(first_zero, dx_at_zero, 0))


def cumprod(input: Tensor, dim=None, *, dtype=None) -> Tensor:
    r"""Returns the cumulative product of the elements of `input` along `dim` (`torch.cumprod`).

    $y_i = \prod_{j \le i} x_j = x_0 x_1 \cdots x_i$. Gradient:
    $\partial L/\partial x_j = \frac{1}{x_j}\sum_{i \ge j} g_i\, y_i$ for $x_j \ne 0$, exact at zeros: at
    the first zero $x_z$ of a slice the sum uses the running product with $x_z$ replaced by 1, and
    every $x_j$ after it gets 0.

    Args:
        input: the input tensor.
        dim: the dimension to multiply along (required).
        dtype: cast `input` to this dtype first; by default integers and bools accumulate in int64.

    Returns:
        A Tensor of the shape of `input`.
    """
    axis = _dim(input, dim, "cumprod")
    input = _scan_input(input, dtype, "cumprod")
    return Cumprod.apply(_as_1d(input), axis=axis).reshape(input.shape)


def _cumulative_extremum(x: Tensor, dim, largest: bool, op: str):
    from minigrad.ops.index import gather

    axis = _dim(x, dim, op)
    flat = _as_1d(x)
    data = flat._data
    xp = get_array_module(data)
    values = _accumulate(xp.maximum if largest else xp.minimum, data, axis)
    # the index moves to j whenever x_j reaches the running extremum (ties: the latest, as
    # PyTorch), and to a NaN, which the running extremum then keeps
    reached = data == values
    if data.dtype.kind == "f":
        reached |= xp.isnan(data)
    shape = [1] * data.ndim
    shape[axis] = data.shape[axis]
    positions = xp.arange(data.shape[axis]).reshape(shape)
    indices = _accumulate(xp.maximum, xp.where(reached, positions, 0), axis).astype(np.int64)
    result = gather(flat, axis, indices).reshape(x.shape)
    return result, Tensor._wrap(indices.reshape(x.shape))


def cummax(input: Tensor, dim: int):
    r"""Returns the cumulative maximum of `input` along `dim` and where it was reached (`torch.cummax`).

    $y_i = \max_{j \le i} x_j$, and $\text{indices}_i$ the latest $j \le i$ with $x_j = y_i$ (ties
    point to the latest position; a NaN, once met, is the maximum). `values` is read with `gather`,
    so $\partial L/\partial x_j = \sum_{i:\, \text{indices}_i = j} g_i$, as in PyTorch.

    Args:
        input: the input tensor.
        dim: the dimension to scan along.

    Returns:
        The named tuple `(values, indices)`, both of the shape of `input`; `indices` is int64.
    """
    return cummax_result(*_cumulative_extremum(input, dim, True, "cummax"))


def cummin(input: Tensor, dim: int):
    r"""Returns the cumulative minimum of `input` along `dim` and where it was reached (`torch.cummin`).

    $y_i = \min_{j \le i} x_j$, and $\text{indices}_i$ the latest $j \le i$ with $x_j = y_i$ (ties
    point to the latest position; a NaN, once met, is the minimum). The gradient is `gather`'s:
    $\partial L/\partial x_j = \sum_{i:\, \text{indices}_i = j} g_i$.

    Args:
        input: the input tensor.
        dim: the dimension to scan along.

    Returns:
        The named tuple `(values, indices)`, both of the shape of `input`; `indices` is int64.
    """
    return cummin_result(*_cumulative_extremum(input, dim, False, "cummin"))


def _accumulate(ufunc, x, axis):
    """The inclusive scan ``ufunc.accumulate(x, axis)``. NumPy has it; for CuPy, whose ufuncs
    lack ``accumulate``, the same result in log2(n) vectorized steps (Hillis & Steele, 1986):
    after the step with shift s, every entry combines the 2s entries ending at it."""
    xp = get_array_module(x)
    if xp is np:
        return ufunc.accumulate(x, axis=axis)
    y = xp.moveaxis(x, axis, 0)
    shift = 1
    while shift < y.shape[0]:
        y = xp.concatenate([y[:shift], ufunc(y[shift:], y[:-shift])], axis=0)
        shift *= 2
    return xp.moveaxis(y, 0, axis)


def _logcumsumexp_array(x, axis):
    """log Σ_{j<=i} exp(x_j) along ``axis``: a scan of the stable ``logaddexp``."""
    return _accumulate(get_array_module(x).logaddexp, x, axis)


class LogCumSumExp(Function):
    r"""$y_i = \log \sum_{j \le i} e^{x_j}$ along ``dim``.

    $\partial y_i/\partial x_j = e^{x_j - y_i}$ for $j \le i$, so
    $\partial L/\partial x_j = \sum_{i \ge j} g_i\, e^{x_j - y_i}$. That sum is a reverse
    log-cumsum-exp, done separately for the positive and negative parts of $g$ so that
    nothing overflows: $e^{x_j + \operatorname{rlcse}(\log g^{+} - y)_j} -
    e^{x_j + \operatorname{rlcse}(\log g^{-} - y)_j}$.
    """

    def forward(self, x, axis):
        self.x, self.axis = x, axis
        self.y = _logcumsumexp_array(x, axis)
        return self.y

    def backward(self, g):
        xp = get_array_module(g)
        axis = self.axis

        def reverse_lcse(a):
            return xp.flip(_logcumsumexp_array(xp.flip(a, axis), axis), axis)

        with np.errstate(divide="ignore"):
            log_pos = xp.log(xp.where(g > 0, g, 0)) - self.y
            log_neg = xp.log(xp.where(g < 0, -g, 0)) - self.y
        return xp.exp(self.x + reverse_lcse(log_pos)) - xp.exp(self.x + reverse_lcse(log_neg))


def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    r"""The log of the cumulative sum of the exponentials of `input` along `dim` (`torch.logcumsumexp`).

    $y_i = \log \sum_{j \le i} e^{x_j}$, computed stably (a scan of `logaddexp`). Since
    $\partial y_i/\partial x_j = e^{x_j - y_i}$ for $j \le i$,
    $\partial L/\partial x_j = \sum_{i \ge j} g_i\, e^{x_j - y_i}$, itself computed as a reverse
    log-cumsum-exp so that nothing overflows.

    Args:
        input: the input tensor (integers are converted to the default float dtype).
        dim: the dimension to scan along.

    Returns:
        A floating-point Tensor of the shape of `input`.
    """
    axis = _dim(input, dim, "logcumsumexp")
    return LogCumSumExp.apply(_as_1d(as_float(input)), axis=axis).reshape(input.shape)


# ============================================================================ product


def _exclusive_cumprod(x, axis):
    r"""$e_i = \prod_{j < i} x_j$ along ``axis`` (1 for the first element)."""
    xp = get_array_module(x)
    head = (slice(None),) * axis
    ones = xp.ones_like(x[head + (slice(0, 1),)])
    return xp.cumprod(xp.concatenate([ones, x[head + (slice(0, -1),)]], axis), axis)


class Prod(Function):
    r"""$y = \prod_i x_i$ along ``dim``.

    $\partial y/\partial x_i = \prod_{j \ne i} x_j$: the product of everything left of $i$
    times everything right of it, i.e. an exclusive cumulative product from each end. No
    division, so it is exact when some $x_j$ are 0 (dividing $y / x_i$ would give 0/0).
    """

    def forward(self, x, axis, keepdim):
        xp = get_array_module(x)
        self.x, self.axis, self.keepdim = x, axis, keepdim
        return xp.prod(x, axis=axis, keepdims=keepdim)

    def backward(self, g):
        xp = get_array_module(g)
        x, axis = self.x, self.axis
        if x.shape[axis] == 0:
            return xp.zeros_like(x)
        left = _exclusive_cumprod(x, axis)
        right = xp.flip(_exclusive_cumprod(xp.flip(x, axis), axis), axis)
        if not self.keepdim:
            g = xp.expand_dims(g, axis)
        return g * left * right


def prod(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    r"""Returns the product of the elements of `input`, over `dim` or over every element (`torch.prod`).

    $y = \prod_i x_i$. Gradient: $\partial L/\partial x_i = g \prod_{j \ne i} x_j$, computed as the
    product of an exclusive cumulative product from each end: no division, so it is exact when
    some $x_j$ are 0.

    Args:
        input: the input tensor.
        dim: an int, or None for every element.
        keepdim: keep `dim` with size 1.
        dtype: cast `input` to this dtype first; by default integers and bools multiply in int64.

    Returns:
        A Tensor (0-d when `dim` is None).
    """
    if dtype is not None:
        input = input.to(dtype)
    elif input.dtype.kind in "biu":
        input = Tensor._wrap(input._data.astype(np.int64))
    if dim is None:
        return Prod.apply(input.reshape(-1), axis=0, keepdim=False)
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"prod: dim must be an int, got {dim}")
    axis = _dim(input, dim, "prod")
    if input.ndim == 0:
        return Prod.apply(input.reshape(1), axis=0, keepdim=False).reshape(())
    return Prod.apply(input, axis=axis, keepdim=keepdim)


# ============================================================================ other reductions
# (composites of the reductions in reduce.py; their gradients come from those ops)


def _reduce_ops():
    from minigrad.ops import reduce

    return reduce


def var_mean(input: Tensor, dim=None, *, correction=None, unbiased=None, keepdim: bool = False):
    r"""Calculates the variance and mean of `input` over the dimensions `dim` (`torch.var_mean`).

    Over the $n$ elements of each slice: $\bar x = \frac{1}{n}\sum_i x_i$ and
    $v = \frac{1}{n - c}\sum_i (x_i - \bar x)^2$, with the correction $c$ (1 by default).
    The two are `var` and `mean`, so their gradients add:
    $\partial L/\partial x_i = g_v \frac{2 (x_i - \bar x)}{n - c} + \frac{g_{\bar x}}{n}$.

    Args:
        input: the input tensor.
        dim: an int, a tuple of ints, or None for every element.
        correction: $c$; `unbiased=False` means $c = 0$ (pass one of the two).
        keepdim: keep the reduced dims with size 1.

    Returns:
        The tuple `(var, mean)` of Tensors.
    """
    r = _reduce_ops()
    return (r.var(input, dim, keepdim, unbiased=unbiased, correction=correction),
            r.mean(input, dim, keepdim))


def std_mean(input: Tensor, dim=None, *, correction=None, unbiased=None, keepdim: bool = False):
    r"""Calculates the standard deviation and mean of `input` over the dimensions `dim` (`torch.std_mean`).

    $\bar x = \frac{1}{n}\sum_i x_i$ and $\sigma = \sqrt{\frac{1}{n - c}\sum_i (x_i - \bar x)^2}$ over
    the $n$ elements of each slice, $c$ the correction (1 by default). The gradients of `std`
    and `mean` add:
    $\partial L/\partial x_i = g_\sigma \frac{x_i - \bar x}{(n - c)\,\sigma} + \frac{g_{\bar x}}{n}$,
    the first term taken as 0 where $\sigma = 0$ (as PyTorch).

    Args:
        input: the input tensor.
        dim: an int, a tuple of ints, or None for every element.
        correction: $c$; `unbiased=False` means $c = 0$ (pass one of the two).
        keepdim: keep the reduced dims with size 1.

    Returns:
        The tuple `(std, mean)` of Tensors.
    """
    r = _reduce_ops()
    return (r.std(input, dim, keepdim, unbiased=unbiased, correction=correction),
            r.mean(input, dim, keepdim))


def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    r"""Returns the sum of the elements of `input` over `dim`, treating NaN as zero (`torch.nansum`).

    $y = \sum_{i:\, x_i \ne \text{NaN}} x_i$. Gradient: $\partial L/\partial x_i = g$ for the numbers
    and 0 at the NaN entries.

    Args:
        input: the input tensor.
        dim: an int, a tuple of ints, or None for every element.
        keepdim: keep the reduced dims with size 1.
        dtype: cast `input` to this dtype first (as PyTorch).

    Returns:
        A Tensor.
    """
    from minigrad.ops.elementwise import where

    if dtype is not None:
        input = input.to(dtype)

    xp = get_array_module(input._data)
    if input.dtype.kind == "f":
        input = where(xp.isnan(input._data), 0.0, input)
    return _reduce_ops().sum(input, dim, keepdim)


def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    r"""Computes the mean of all non-NaN elements of `input` along `dim` (`torch.nanmean`).

    With $V$ the positions of a slice where $x_i$ is not NaN: $y = \frac{1}{|V|}\sum_{i \in V} x_i$
    (`nansum` over the count; NaN where $V$ is empty). Gradient: $\partial L/\partial x_i = g/|V|$
    for $i \in V$ and 0 at the NaN entries.

    Args:
        input: a floating-point tensor.
        dim: an int, a tuple of ints, or None for every element.
        keepdim: keep the reduced dims with size 1.
        dtype: cast `input` to this dtype first (as PyTorch).

    Returns:
        A Tensor of the dtype of `input` (or `dtype`).

    Raises:
        RuntimeError: for an integer or bool tensor (after the cast).
    """
    if dtype is not None:
        input = input.to(dtype)
    if input.dtype.kind != "f":
        raise RuntimeError(f"nanmean: expected a floating point tensor, got dtype {input.dtype}")
    xp = get_array_module(input._data)
    axes = None if dim is None else normalize_axes(tuple(dim) if isinstance(dim, (tuple, list)) else (dim,),
                                                   input.ndim, "nanmean")
    count = (~xp.isnan(input._data)).sum(axis=axes, keepdims=keepdim)
    with np.errstate(invalid="ignore", divide="ignore"):
        return nansum(input, dim, keepdim) / Tensor._wrap(xp.asarray(count, dtype=input.dtype))


__all__ = [
    "cumsum", "cumprod", "cummax", "cummin", "logcumsumexp", "prod", "var_mean", "std_mean", "nansum",
    "nanmean",
]
