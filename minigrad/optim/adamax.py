"""Adamax: Adam with the infinity norm in place of the root mean square."""

from __future__ import annotations

from minigrad.backend import get_array_module
from minigrad.optim.optimizer import Optimizer

__all__ = ["Adamax"]


class Adamax(Optimizer):
    r"""Adamax (Kingma & Ba, 2015, section 7.1), with PyTorch's update rule
    (``torch.optim.Adamax``).

    At step $t = 1, 2, \dots$ with $m_0 = u_0 = 0$ and weight decay $\lambda$:

    $$g \leftarrow g + \lambda\theta, \qquad m \leftarrow \beta_1 m + (1 - \beta_1) g, \qquad
      u \leftarrow \max\big(\beta_2 u,\ |g| + \varepsilon\big),$$

    $$\theta \leftarrow \theta - \frac{\eta}{1 - \beta_1^t}\, \frac{m}{u}.$$

    Adam's $\sqrt{v}$ is an $L^2$ average of past gradients; letting the exponent go
    to infinity gives this exponentially weighted maximum $u$, which needs no bias
    correction (it does not start biased towards 0 the way an average does).
    $\varepsilon$ is added inside the maximum, as in PyTorch, so $u > 0$.

    Args:
        params: parameters, or dicts defining parameter groups.
        lr: learning rate $\eta$ (default 2e-3, the paper's).
        betas: $(\beta_1, \beta_2)$, in [0, 1).
        eps: $\varepsilon$.
        weight_decay: L2 penalty $\lambda$.
        foreach: accepted for PyTorch compatibility; ignored.
        maximize: maximize the objective.
        differentiable: must be False.
        capturable: accepted for PyTorch compatibility; ignored.
    """

    _elementwise_state = ("exp_avg", "exp_inf")

    def __init__(self, params, lr: float = 2e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def _update(self, param, grad, state, group):
        xp = get_array_module(param)
        if "exp_avg" not in state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(param)
            state["exp_inf"] = xp.zeros_like(param)
        state["step"] += 1
        beta1, beta2 = group["betas"]
        wd = group["weight_decay"]
        if wd:
            grad = grad + wd * param
        m, u = state["exp_avg"], state["exp_inf"]
        m *= beta1
        m += (1 - beta1) * grad
        u *= beta2
        xp.maximum(u, xp.abs(grad) + group["eps"], out=u)
        param -= (group["lr"] / (1 - beta1 ** state["step"])) * (m / u)
