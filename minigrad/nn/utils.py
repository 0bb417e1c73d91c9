"""Training utilities: gradient clipping."""

from __future__ import annotations

import math

from minigrad.backend import get_array_module
from minigrad.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _with_grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Rescale gradients in place so their joint norm is at most ``max_norm``
    (Pascanu et al., 2013), as ``torch.nn.utils.clip_grad_norm_``:

        total = (Σ_p ||g_p||_q^q)^(1/q)   (q = norm_type; max_p max|g_p| for q = inf)
        g_p <- g_p · min(1, max_norm / (total + 1e-6))

    Returns ``total``, the norm *before* clipping, as a 0-d tensor.
    """
    params = _with_grads(parameters)
    norm_type = float(norm_type)
    if not params:
        return Tensor(0.0)
    grads = [p.grad.data for p in params]
    xp = get_array_module(*grads)
    if math.isinf(norm_type):
        total = max(float(abs(g).max()) for g in grads)
    else:
        total = float(sum(float((abs(g) ** norm_type).sum()) for g in grads)) ** (1 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total {norm_type:g}-norm of the gradients is {total}; "
            "set error_if_nonfinite=False to clip anyway"
        )
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for g in grads:
            g *= g.dtype.type(coef)
    return Tensor(xp.asarray(total, dtype=grads[0].dtype))


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient element to [-clip_value, clip_value], in place."""
    for p in _with_grads(parameters):
        xp = get_array_module(p.grad.data)
        xp.clip(p.grad.data, -clip_value, clip_value, out=p.grad.data)
