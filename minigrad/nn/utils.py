"""Training utilities: gradient clipping, as ``torch.nn.utils``.

Both functions change the gradients *in place* (``p.grad`` keeps its array), which
works for parameters of any shape, 0-d included, and returns nothing new to assign.
"""

from __future__ import annotations

import math

from minigrad.backend import get_array_module
from minigrad.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grads(parameters) -> list:
    """The gradient arrays of the parameters that have one."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad._data for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    r"""Rescale the gradients in place so that their joint norm is at most ``max_norm``
    (Pascanu, Mikolov & Bengio, 2013), as ``torch.nn.utils.clip_grad_norm_``.

    With $q$ = ``norm_type``, all gradients taken together as one vector:

    $$\lVert g \rVert = \Big(\sum_p \lVert g_p \rVert_q^q\Big)^{1/q} \quad
      (\max_p \max |g_p| \text{ for } q = \infty), \qquad
      g_p \leftarrow g_p \cdot \min\Big(1, \frac{\text{max\_norm}}{\lVert g \rVert + 10^{-6}}\Big).$$

    The direction of the joint gradient is kept; only its length is capped, which
    keeps an exploding gradient (common in RNNs) from throwing the weights far away.

    Args:
        parameters: a Tensor or an iterable of Tensors; those without a gradient are skipped.
        max_norm: the largest norm allowed.
        norm_type: $q$, e.g. 2.0 or ``float("inf")``.
        error_if_nonfinite: raise if the norm is NaN or infinite (instead of scaling
            every gradient by NaN or 0).
        foreach: accepted for PyTorch compatibility; ignored.

    Returns:
        The total norm *before* clipping, a 0-d Tensor in the gradients' dtype
        (``tensor(0.)`` when no parameter has a gradient).

    Raises:
        RuntimeError: ``error_if_nonfinite=True`` and the norm is not finite.
    """
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return Tensor(0.0)
    xp = get_array_module(*grads)
    # The norm stays an array on the gradients' device: no host round trip per parameter,
    # and none at all unless error_if_nonfinite asks for one (as in PyTorch)
    if math.isinf(norm_type):
        total = xp.max(xp.stack([xp.abs(g).max() if g.size else xp.zeros((), g.dtype) for g in grads]))
    else:
        total = xp.sum(xp.stack([(xp.abs(g) ** norm_type).sum() for g in grads])) ** (1 / norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"clip_grad_norm_: the total {norm_type:g}-norm of the gradients is {float(total)}; "
            "set error_if_nonfinite=False to clip anyway"
        )
    # min(1, max_norm / (norm + 1e-6)) applied to every gradient: a NaN norm makes every
    # gradient NaN, as in PyTorch; a coefficient of 1 leaves them unchanged
    coef = xp.minimum(max_norm / (total + 1e-6), 1.0)
    for g in grads:
        g *= coef.astype(g.dtype)
    return Tensor._wrap(xp.asarray(total, dtype=grads[0].dtype))


def clip_grad_value_(parameters, clip_value: float, foreach: bool | None = None) -> None:
    r"""Clamp every gradient entry to $[-c, c]$ in place, $c$ = ``clip_value``, as
    ``torch.nn.utils.clip_grad_value_``.

    Unlike `clip_grad_norm_` this changes the gradient's direction.

    Args:
        parameters: a Tensor or an iterable of Tensors; those without a gradient are skipped.
        clip_value: $c$, the largest magnitude allowed.
        foreach: accepted for PyTorch compatibility; ignored.
    """
    clip_value = float(clip_value)
    for g in _grads(parameters):
        get_array_module(g).clip(g, -clip_value, clip_value, out=g)
