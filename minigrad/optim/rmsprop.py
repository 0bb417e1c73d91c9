"""RMSprop: divide the gradient by a running average of its recent magnitude."""

from __future__ import annotations

from minigrad.backend import get_array_module
from minigrad.optim.optimizer import Optimizer

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop (Hinton, Srivastava & Swersky, Neural Networks for Machine Learning,
    lecture 6e, 2012), PyTorch's update rule:

        g  <- g + λ θ                                (weight_decay λ)
        v  <- α v + (1 - α) g ⊙ g                    (v starts at 0)
        centered=True (Graves, 2013):  m <- α m + (1 - α) g,   d = √(v - m ⊙ m) + ε
        otherwise:                                              d = √v + ε
        momentum μ > 0:   b <- μ b + g / d,   θ <- θ - lr · b
        otherwise:        θ <- θ - lr · g / d

    ε is added *outside* the square root, as in PyTorch (TensorFlow puts it inside).
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False):
        if not 0 <= alpha <= 1:
            raise ValueError(f"RMSprop: alpha must be in [0, 1], got {alpha}")
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered)
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group):
        xp = get_array_module(p.data)
        if "square_avg" not in state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(p.data)
            if group["momentum"] > 0:
                state["momentum_buffer"] = xp.zeros_like(p.data)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(p.data)
        state["step"] += 1
        alpha, wd, mu = group["alpha"], group["weight_decay"], group["momentum"]
        g = grad + wd * p.data if wd else grad
        v = state["square_avg"]
        v *= alpha
        v += (1 - alpha) * (g * g)
        if group["centered"]:
            m = state["grad_avg"]
            m *= alpha
            m += (1 - alpha) * g
            denom = v - m * m
            xp.sqrt(denom, out=denom)
        else:
            denom = xp.sqrt(v)
        denom += group["eps"]
        xp.divide(g, denom, out=denom)  # denom now holds g / d
        if mu > 0:
            buf = state["momentum_buffer"]
            buf *= mu
            buf += denom
            p.data -= group["lr"] * buf
        else:
            denom *= group["lr"]
            p.data -= denom
