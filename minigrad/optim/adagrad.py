"""Adagrad: per-coordinate learning rates from the sum of squared gradients."""

from __future__ import annotations

from minigrad.backend import get_array_module
from minigrad.optim.optimizer import Optimizer

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad (Duchi, Hazan & Singer, 2011) with PyTorch's update rule (``torch.optim.Adagrad``).

    At step $t = 1, 2, \dots$, with $G$ starting at ``initial_accumulator_value``:

    $$g \leftarrow g + \lambda\theta, \qquad \eta_t = \frac{\eta}{1 + (t - 1)\,\delta}, \qquad
      G \leftarrow G + g^2, \qquad \theta \leftarrow \theta - \eta_t\, \frac{g}{\sqrt{G} + \varepsilon}.$$

    Coordinates with large past gradients take small steps; the steps only shrink,
    since $G$ only grows.

    Args:
        params: parameters, or dicts defining parameter groups.
        lr: learning rate $\eta$.
        lr_decay: $\delta$.
        weight_decay: L2 penalty $\lambda$.
        initial_accumulator_value: the starting value of $G$ (>= 0).
        eps: $\varepsilon$.
        foreach: accepted for PyTorch compatibility; ignored.
        maximize: maximize the objective.
        differentiable: must be False.
        fused: accepted for PyTorch compatibility; ignored.
    """

    _elementwise_state = ("sum",)

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10,
                 foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None):
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def _update(self, param, grad, state, group):
        xp = get_array_module(param)
        if "sum" not in state:
            state["step"] = 0
            state["sum"] = xp.full(param.shape, group["initial_accumulator_value"], dtype=param.dtype)
        state["step"] += 1
        wd = group["weight_decay"]
        if wd:
            grad = grad + wd * param
        lr_t = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] += grad * grad
        param -= lr_t * (grad / (xp.sqrt(state["sum"]) + group["eps"]))
