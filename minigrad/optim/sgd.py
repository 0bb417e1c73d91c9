"""Stochastic gradient descent, with momentum and Nesterov momentum."""

from __future__ import annotations

from minigrad.optim.optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, PyTorch's update rule. For each parameter θ with gradient g:

        g <- g + λ θ                                   (weight_decay λ, an L2 penalty)
        momentum μ = 0:    θ <- θ - lr · g             (plain gradient descent)
        momentum μ > 0:    b <- g  on the first step,  b <- μ b + (1 - τ) g  after (dampening τ)
                           θ <- θ - lr · b             (Polyak's heavy ball, 1964)
        nesterov=True:     θ <- θ - lr · (g + μ b)     (Nesterov momentum in the form of
                                                        Sutskever et al., 2013)

    Note lr multiplies the velocity b, not the gradient inside it (unlike some papers'
    b <- μ b + lr g); the two agree while lr is constant.
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 nesterov: bool = False, weight_decay: float = 0):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov=True needs momentum > 0 and dampening = 0")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
                        weight_decay=weight_decay)
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group):
        lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
        g = grad + wd * p.data if wd else grad
        if mu:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()
            else:
                buf *= mu
                buf += (1 - group["dampening"]) * g if group["dampening"] else g
            g = g + mu * buf if group["nesterov"] else buf
        p.data -= lr * g
