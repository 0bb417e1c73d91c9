"""NAdam: Adam with Nesterov momentum."""

from __future__ import annotations

from minigrad.backend import get_array_module
from minigrad.optim.optimizer import Optimizer

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016, *Incorporating Nesterov Momentum into Adam*), with PyTorch's
    update rule (``torch.optim.NAdam``).

    At step $t = 1, 2, \dots$ with $m_0 = v_0 = 0$, momentum decay $\psi$ and the
    momentum schedule $\mu_t = \beta_1\big(1 - \tfrac12\, 0.96^{t\psi}\big)$:

    $$m \leftarrow \beta_1 m + (1 - \beta_1) g, \qquad v \leftarrow \beta_2 v + (1 - \beta_2) g^2,
      \qquad \hat v = \frac{v}{1 - \beta_2^t},$$

    $$\hat m = \frac{\mu_{t+1}\, m}{1 - \prod_{i=1}^{t+1}\mu_i}
      + \frac{(1 - \mu_t)\, g}{1 - \prod_{i=1}^{t}\mu_i}, \qquad
      \theta \leftarrow \theta - \eta\, \frac{\hat m}{\sqrt{\hat v} + \varepsilon}.$$

    The look-ahead: $\hat m$ uses the *next* step's momentum $\mu_{t+1}$ on $m$, as
    Nesterov momentum evaluates the step after the velocity update. The products
    of $\mu_i$ are the bias correction for the changing momentum;
    ``opt.state[p]["mu_product"]`` holds $\prod_{i \le t} \mu_i$. ``weight_decay``
    $\lambda$ adds $\lambda\theta$ to $g$ first, or with ``decoupled_weight_decay=True``
    shrinks $\theta \leftarrow \theta(1 - \eta\lambda)$ (NAdamW).

    Args:
        params: parameters, or dicts defining parameter groups.
        lr: learning rate $\eta$ (default 2e-3).
        betas: $(\beta_1, \beta_2)$, in [0, 1).
        eps: $\varepsilon$.
        weight_decay: $\lambda$.
        momentum_decay: $\psi$ (default 4e-3).
        decoupled_weight_decay: decay the weights directly instead of through $g$.
        foreach: accepted for PyTorch compatibility; ignored.
        maximize: maximize the objective.
        capturable: accepted for PyTorch compatibility; ignored.
        differentiable: must be False.
    """

    _elementwise_state = ("exp_avg", "exp_avg_sq")

    def __init__(self, params, lr: float = 2e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def _update(self, param, grad, state, group):
        xp = get_array_module(param)
        if "exp_avg" not in state:
            state["step"] = 0
            state["mu_product"] = 1.0
            state["exp_avg"] = xp.zeros_like(param)
            state["exp_avg_sq"] = xp.zeros_like(param)
        state["step"] += 1
        t, lr, wd = state["step"], group["lr"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        psi = group["momentum_decay"]
        if wd and group["decoupled_weight_decay"]:
            param *= 1 - lr * wd
        elif wd:
            grad = grad + wd * param
        mu = beta1 * (1 - 0.5 * 0.96 ** (t * psi))
        mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
        state["mu_product"] *= mu
        mu_product, mu_product_next = state["mu_product"], state["mu_product"] * mu_next
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= beta1
        m += (1 - beta1) * grad
        v *= beta2
        v += (1 - beta2) * (grad * grad)
        denom = xp.sqrt(v / (1 - beta2**t)) + group["eps"]
        param -= (lr * (1 - mu) / (1 - mu_product)) * (grad / denom)
        param -= (lr * mu_next / (1 - mu_product_next)) * (m / denom)
