r"""The one stable softmax and the one stable sigmoid, on arrays, used by every op that needs them.

Softmax is shift-invariant, $\mathrm{softmax}(x) = \mathrm{softmax}(x - m)$, so
subtracting the row maximum $m$ first keeps every $e^{x_i - m} \le 1$: no overflow,
however large $x$. The sigmoid is computed from $e^{-|x|} \le 1$ for the same reason.
``softmax``/``log_softmax`` (``ops/reduce.py``), cross-entropy (``ops/loss.py``),
attention (``ops/attention.py``) and the sigmoid family call these two helpers.
"""

from __future__ import annotations

from minigrad.backend import get_array_module

__all__ = ["stable_softmax", "stable_softmax_backward", "stable_sigmoid"]


def stable_softmax(x, axis: int = -1, *, log: bool = False, inplace: bool = False,
                   empty_rows_zero: bool = False):
    r"""$\mathrm{softmax}(x)_i = e^{x_i - m} / \sum_j e^{x_j - m}$ with $m = \max_j x_j$ along
    ``axis`` (or its log, $x_i - m - \log \sum_j e^{x_j - m}$, with ``log=True``).

    Args:
        x: the array (float).
        axis: the axis to normalise.
        log: return log-softmax instead.
        inplace: overwrite ``x`` (attention's fast path: no full-size temporary).
        empty_rows_zero: a row whose entries are all $-\infty$ (every key masked) gives
            zeros instead of the NaN that $0/0$ would give (attention's convention).
    """
    xp = get_array_module(x)
    m = x.max(axis=axis, keepdims=True)
    if empty_rows_zero:
        m = xp.where(xp.isfinite(m), m, 0)  # exp(-inf - 0) = 0 rather than exp(nan)
    shifted = xp.subtract(x, m, out=x if inplace else None)
    if log:
        return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
    e = xp.exp(shifted, out=shifted)  # shifted is ours: a new array, or x when inplace
    total = e.sum(axis=axis, keepdims=True)
    if empty_rows_zero:
        total = xp.where(total == 0, 1, total)
    e /= total
    return e


def stable_softmax_backward(y, g, axis: int = -1, *, log: bool = False):
    r"""Given $y = \mathrm{softmax}(x)$ and $g = \partial L/\partial y$: the Jacobian is
    $\mathrm{diag}(y) - y y^\top$, so $\partial L/\partial x = y \odot (g - \sum_j g_j y_j)$.
    For $y = \log\mathrm{softmax}(x)$: $\partial L/\partial x = g - e^{y} \sum_j g_j$."""
    if log:
        return g - get_array_module(y).exp(y) * g.sum(axis=axis, keepdims=True)
    return y * (g - (g * y).sum(axis=axis, keepdims=True))


def stable_sigmoid(x):
    r"""$\sigma(x) = 1 / (1 + e^{-x})$ on an array, from $e^{-|x|}$ so that nothing overflows:
    $\sigma(x) = 1/(1 + e^{-|x|})$ for $x \ge 0$ and $e^{-|x|}/(1 + e^{-|x|})$ otherwise."""
    xp = get_array_module(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
