"""RAdam: Adam whose adaptive step is switched on only once its variance is tractable."""

from __future__ import annotations

import math

from minigrad.backend import get_array_module
from minigrad.optim.optimizer import Optimizer

__all__ = ["RAdam"]


class RAdam(Optimizer):
    r"""RAdam, rectified Adam (Liu et al., 2020, *On the Variance of the Adaptive Learning
    Rate and Beyond*), with PyTorch's update rule (``torch.optim.RAdam``).

    At step $t = 1, 2, \dots$ with $m_0 = v_0 = 0$:

    $$m \leftarrow \beta_1 m + (1 - \beta_1) g, \qquad v \leftarrow \beta_2 v + (1 - \beta_2) g^2,
      \qquad \hat m = \frac{m}{1 - \beta_1^t},$$

    $$\rho_\infty = \frac{2}{1 - \beta_2} - 1, \qquad
      \rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1 - \beta_2^t}.$$

    If $\rho_t > 5$ the adaptive step is used, scaled by the rectification $r_t$:

    $$l_t = \frac{\sqrt{1 - \beta_2^t}}{\sqrt{v} + \varepsilon}, \qquad
      r_t = \sqrt{\frac{(\rho_t - 4)(\rho_t - 2)\,\rho_\infty}{(\rho_\infty - 4)(\rho_\infty - 2)\,\rho_t}},
      \qquad \theta \leftarrow \theta - \eta\, \hat m\, l_t\, r_t,$$

    otherwise plain momentum SGD, $\theta \leftarrow \theta - \eta\, \hat m$. $\rho_t$ is the
    length of the simple moving average that the exponential one approximates; in the
    first steps (about 5 with the default $\beta_2$) $v$ averages too few gradients for
    $1/\sqrt{v}$ to have bounded variance, which is what Adam's warm-up works around.
    ``weight_decay`` $\lambda$ adds $\lambda\theta$ to $g$ first, or with
    ``decoupled_weight_decay=True`` shrinks $\theta \leftarrow \theta(1 - \eta\lambda)$.

    Args:
        params: parameters, or dicts defining parameter groups.
        lr: learning rate $\eta$.
        betas: $(\beta_1, \beta_2)$, in [0, 1).
        eps: $\varepsilon$.
        weight_decay: $\lambda$.
        decoupled_weight_decay: decay the weights directly instead of through $g$.
        foreach: accepted for PyTorch compatibility; ignored.
        maximize: maximize the objective.
        capturable: accepted for PyTorch compatibility; ignored.
        differentiable: must be False.
    """

    _elementwise_state = ("exp_avg", "exp_avg_sq")

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _update(self, param, grad, state, group):
        xp = get_array_module(param)
        if "exp_avg" not in state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(param)
            state["exp_avg_sq"] = xp.zeros_like(param)
        state["step"] += 1
        t, lr, wd = state["step"], group["lr"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        if wd and group["decoupled_weight_decay"]:
            param *= 1 - lr * wd
        elif wd:
            grad = grad + wd * param
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= beta1
        m += (1 - beta1) * grad
        v *= beta2
        v += (1 - beta2) * (grad * grad)
        bias_correction2 = 1 - beta2**t
        m_hat = m / (1 - beta1**t)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * beta2**t / bias_correction2
        if rho_t > 5:
            adaptive = math.sqrt(bias_correction2) / (xp.sqrt(v) + group["eps"])  # l_t
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                             / ((rho_inf - 4) * (rho_inf - 2) * rho_t))  # r_t
            param -= m_hat * lr * adaptive * rect
        else:
            param -= m_hat * lr
