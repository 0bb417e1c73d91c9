"""Adagrad: per-coordinate learning rates from the sum of squared gradients."""

from __future__ import annotations

from minigrad.backend import get_array_module
from minigrad.optim.optimizer import Optimizer

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad (Duchi, Hazan & Singer, 2011), PyTorch's update rule. At step t (from 1):

        g   <- g + λ θ                               (weight_decay λ)
        η_t  = lr / (1 + (t - 1) · lr_decay)
        G   <- G + g ⊙ g                             (G starts at initial_accumulator_value)
        θ   <- θ - η_t · g / (√G + ε)

    Coordinates with large past gradients take small steps; the steps only shrink,
    since G only grows.
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10):
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps)
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group):
        xp = get_array_module(p.data)
        if "sum" not in state:
            state["step"] = 0
            state["sum"] = xp.full(p.shape, group["initial_accumulator_value"], dtype=p.dtype)
        state["step"] += 1
        wd = group["weight_decay"]
        g = grad + wd * p.data if wd else grad
        lr_t = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] += g * g
        denom = xp.sqrt(state["sum"])
        denom += group["eps"]
        xp.divide(g, denom, out=denom)
        denom *= lr_t
        p.data -= denom
