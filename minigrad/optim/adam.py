"""Adam and AdamW: momentum plus per-coordinate scaling, with bias correction."""

from __future__ import annotations

import math

from minigrad.backend import get_array_module
from minigrad.optim.optimizer import Optimizer

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), PyTorch's update rule. At step t (from 1), β = (β₁, β₂):

        g  <- g + λ θ                                (weight_decay λ: an L2 penalty, coupled)
        m  <- β₁ m + (1 - β₁) g                      (first moment, m₀ = 0)
        v  <- β₂ v + (1 - β₂) g ⊙ g                  (second moment, v₀ = 0)
        m̂  = m / (1 - β₁ᵗ),   v̂ = v / (1 - β₂ᵗ)      (bias correction: m, v start at 0)
        amsgrad=True (Reddi et al., 2018):  v_max <- max(v_max, v), and v̂ = v_max / (1 - β₂ᵗ)
        θ  <- θ - lr · m̂ / (√v̂ + ε)

    Bias correction makes the first step size exactly lr · sign(g) (for |g| >> ε).
    """

    decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False):
        for i, beta in enumerate(betas):
            if not 0 <= beta < 1:
                raise ValueError(f"{type(self).__name__}: betas[{i}] must be in [0, 1), got {beta}")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad)
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group):
        xp = get_array_module(p.data)
        if "exp_avg" not in state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p.data)
            state["exp_avg_sq"] = xp.zeros_like(p.data)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(p.data)
        state["step"] += 1
        t, lr, wd = state["step"], group["lr"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        if wd and self.decoupled:
            p.data *= 1 - lr * wd
            g = grad
        else:
            g = grad + wd * p.data if wd else grad
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * (g * g)
        if group["amsgrad"]:
            xp.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        # √v̂ + ε = √v / √(1 - β₂ᵗ) + ε ;  step = lr / (1 - β₁ᵗ) · m / (√v̂ + ε)
        denom = xp.sqrt(v)
        denom /= math.sqrt(1 - beta2**t)
        denom += group["eps"]
        xp.divide(m, denom, out=denom)
        denom *= lr / (1 - beta1**t)
        p.data -= denom


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter, 2019): Adam with *decoupled* weight decay λ.

        θ <- θ (1 - lr · λ)            (decay the weights directly ...)
        then the Adam step above with λ = 0 inside the gradient (... not through g)

    With Adam's coupled L2 the decay term λθ is divided by √v̂ like the gradient,
    so weights with large gradients are barely regularised; AdamW decays all alike.
    """

    decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad)
