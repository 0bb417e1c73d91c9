"""Stochastic gradient descent, with momentum and Nesterov momentum."""

from __future__ import annotations

from minigrad.optim.optimizer import Optimizer, new_state_array

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent with PyTorch's update rule (``torch.optim.SGD``).

    For each parameter $\theta$ with gradient $g$ (weight decay $\lambda$, momentum
    $\mu$, dampening $\tau$, learning rate $\eta$):

    $$g \leftarrow g + \lambda\theta, \qquad
      b \leftarrow \begin{cases} g & \text{first step} \\ \mu b + (1 - \tau) g & \text{after} \end{cases}$$

    then $\theta \leftarrow \theta - \eta\, b$ (Polyak's heavy ball, 1964), or with
    ``nesterov=True`` $\theta \leftarrow \theta - \eta\,(g + \mu b)$ (Nesterov momentum
    in the form of Sutskever et al., 2013). With $\mu = 0$ it is plain gradient
    descent, $\theta \leftarrow \theta - \eta g$.

    Note $\eta$ multiplies the velocity $b$, not the gradient inside it (unlike some
    papers' $b \leftarrow \mu b + \eta g$); the two agree while $\eta$ is constant.

    Args:
        params: parameters, or dicts defining parameter groups.
        lr: learning rate $\eta$.
        momentum: momentum factor $\mu$.
        dampening: dampening $\tau$ of the momentum.
        weight_decay: L2 penalty $\lambda$.
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening = 0).
        maximize: maximize the objective (step along $+g$).
        foreach: accepted for PyTorch compatibility; ignored (one code path).
        differentiable: must be False (autograd through the step is not supported).
        fused: accepted for PyTorch compatibility; ignored.
    """

    _elementwise_state = ("momentum_buffer",)

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False,
                 fused: bool | None = None):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def _validate_group(self, group, where):
        super()._validate_group(group, where)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"SGD: nesterov=True needs momentum > 0 and dampening = 0 ({where})")

    def _update(self, param, grad, state, group):
        lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
        if wd:
            grad = grad + wd * param
        if mu:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = new_state_array(grad, param)
            else:
                buf *= mu
                buf += (1 - group["dampening"]) * grad
            grad = grad + mu * buf if group["nesterov"] else buf
        param -= lr * grad
