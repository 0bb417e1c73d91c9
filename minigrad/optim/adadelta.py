"""Adadelta: step sizes from the ratio of two running averages, no learning rate to tune."""

from __future__ import annotations

from minigrad.backend import get_array_module
from minigrad.optim.optimizer import Optimizer

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012, *ADADELTA: An Adaptive Learning Rate Method*), with
    PyTorch's update rule (``torch.optim.Adadelta``).

    With $v_0 = u_0 = 0$, decay $\rho$ and weight decay $\lambda$, at every step:

    $$g \leftarrow g + \lambda\theta, \qquad v \leftarrow \rho v + (1 - \rho) g^2, \qquad
      \Delta = \frac{\sqrt{u + \varepsilon}}{\sqrt{v + \varepsilon}}\, g,$$

    $$u \leftarrow \rho u + (1 - \rho) \Delta^2, \qquad \theta \leftarrow \theta - \eta\, \Delta.$$

    The numerator $\sqrt{u + \varepsilon}$, the RMS of recent *updates*, gives $\Delta$ the
    units of $\theta$ (Zeiler's "correct units" argument), so the paper has no learning
    rate: $\eta = 1$, PyTorch's default, is exactly the paper's method.

    Args:
        params: parameters, or dicts defining parameter groups.
        lr: $\eta$, a factor applied to $\Delta$ (default 1.0, the paper's rule).
        rho: decay $\rho$ of both running averages, in [0, 1].
        eps: $\varepsilon$ inside both square roots; it also sets the size of the first steps.
        weight_decay: L2 penalty $\lambda$.
        foreach: accepted for PyTorch compatibility; ignored.
        capturable: accepted for PyTorch compatibility; ignored.
        maximize: maximize the objective.
        differentiable: must be False.
    """

    _elementwise_state = ("square_avg", "acc_delta")

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False, differentiable: bool = False):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def _update(self, param, grad, state, group):
        xp = get_array_module(param)
        if "square_avg" not in state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(param)
            state["acc_delta"] = xp.zeros_like(param)
        state["step"] += 1
        rho, eps, wd = group["rho"], group["eps"], group["weight_decay"]
        if wd:
            grad = grad + wd * param
        v, u = state["square_avg"], state["acc_delta"]
        v *= rho
        v += (1 - rho) * (grad * grad)
        delta = xp.sqrt(u + eps) / xp.sqrt(v + eps) * grad
        u *= rho
        u += (1 - rho) * (delta * delta)
        param -= group["lr"] * delta
