"""Numerical gradient checking: is an op's backward the derivative of its forward?

For a function ``f`` and inputs ``x``, pick a fixed random "upstream gradient"
``r`` of the output's shape and compare, for every input element x_i,

    analytic:   ∂/∂x_i Σ r ⊙ f(x)       (one call to backward with grad=r)
    numerical:  (Σ r ⊙ f(x + ε e_i) - Σ r ⊙ f(x - ε e_i)) / 2ε     (central difference)

The central difference has error O(ε²), so in float64 with ε = 1e-6 the two
agree to about 1e-9 for smooth functions; float32 would drown it in rounding
error, which is why every input must be float64.

An instructor's test file needs three lines::

    import minigrad
    x = minigrad.randn(3, 4, dtype=minigrad.float64, requires_grad=True)
    assert minigrad.gradcheck(lambda x: (x * x.sigmoid()).sum(dim=1), [x])
"""

from __future__ import annotations

import numpy as np

from minigrad import autograd
from minigrad.tensor import Tensor, no_grad

__all__ = ["gradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """The analytic gradient disagrees with the numerical one (the message says where)."""


def _as_inputs(inputs):
    if isinstance(inputs, Tensor):
        inputs = [inputs]
    inputs = list(inputs)
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad and t.dtype != np.float64:
            raise TypeError(
                f"gradcheck: input {i} has dtype {t.dtype}; use float64 inputs "
                "(dtype=minigrad.float64), float32 is too coarse for finite differences"
            )
    if not any(isinstance(t, Tensor) and t.requires_grad for t in inputs):
        raise ValueError("gradcheck: no input has requires_grad=True, nothing to check")
    return inputs


def _weighted_sum(fn, inputs, r) -> float:
    out = fn(*inputs)
    return float((np.asarray(out, dtype=np.float64) * r).sum())


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              seed: int = 0) -> bool:
    """Check ``fn``'s analytic gradients against central differences, in float64.

    Args:
        fn: takes the ``inputs`` as positional arguments and returns a Tensor.
        inputs: Tensors (float64 where ``requires_grad=True``) and other arguments.
        eps: the finite-difference step ε.
        atol: absolute tolerance: an element passes when
            |analytic - numerical| <= atol + rtol |numerical|.
        rtol: relative tolerance (see ``atol``).
        seed: seeds the random upstream gradient r.

    Returns True, or raises `GradcheckError` naming the input, the element,
    both values, and the worst relative error over that input.
    """
    inputs = _as_inputs(inputs)
    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    if not out.requires_grad:
        raise GradcheckError("gradcheck: the output does not require grad (is the graph cut?)")
    r = np.random.default_rng(seed).standard_normal(out.shape)

    # the analytic gradients, returned rather than added into .grad (as torch's gradcheck)
    checked = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    grads = autograd.grad(out, checked, grad_outputs=Tensor._wrap(r.astype(out.dtype)), allow_unused=True)
    analytic_of = {id(t): g for t, g in zip(checked, grads)}

    for i, t in enumerate(inputs):
        if not (isinstance(t, Tensor) and t.requires_grad):
            continue
        g = analytic_of[id(t)]
        analytic = np.zeros(t.shape) if g is None else np.asarray(g, np.float64)
        numerical = _numerical_grad(fn, inputs, t, r, eps)
        _compare(i, t.shape, analytic, numerical, atol, rtol)
    return True


def _numerical_grad(fn, inputs, t: Tensor, r, eps: float):
    """Central differences, one element of ``t`` at a time (perturbed in place, then restored).

    Indexing ``t._data`` element by element works for any memory layout (a
    flattened view would silently be a copy for a transposed input).
    """
    grad = np.zeros(t.shape)
    with no_grad():
        for index in np.ndindex(*t.shape):
            original = t._data[index].item()
            t._data[index] = original + eps
            plus = _weighted_sum(fn, inputs, r)
            t._data[index] = original - eps
            minus = _weighted_sum(fn, inputs, r)
            t._data[index] = original
            grad[index] = (plus - minus) / (2 * eps)
    return grad


def _compare(i: int, shape, analytic, numerical, atol: float, rtol: float) -> None:
    err = np.abs(analytic - numerical)
    bad = ~(err <= atol + rtol * np.abs(numerical))  # NaN is never close (as torch.allclose)
    if not bad.any():
        return
    rel = err / np.maximum(np.abs(numerical), atol)
    worst = tuple(int(k) for k in np.unravel_index(np.argmax(np.where(bad, rel, -1)), shape))
    raise GradcheckError(
        f"gradcheck: input {i} (shape {tuple(shape)}): gradient mismatch at element {worst}: "
        f"numerical {numerical[worst]:.6g}, analytic {analytic[worst]:.6g}; "
        f"{int(bad.sum())} of {bad.size} elements out of tolerance "
        f"(atol={atol}, rtol={rtol}), worst relative error {rel.max():.3g}"
    )
