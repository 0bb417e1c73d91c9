"""Adam and AdamW: momentum plus per-coordinate scaling, with bias correction."""

from __future__ import annotations

import math

from minigrad.backend import get_array_module
from minigrad.optim.optimizer import Optimizer

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015) with PyTorch's update rule (``torch.optim.Adam``).

    At step $t = 1, 2, \dots$ with $m_0 = v_0 = 0$ and gradient $g$:

    $$m \leftarrow \beta_1 m + (1 - \beta_1) g, \qquad v \leftarrow \beta_2 v + (1 - \beta_2) g^2,$$

    $$\hat m = \frac{m}{1 - \beta_1^t}, \qquad \hat v = \frac{v}{1 - \beta_2^t}, \qquad
      \theta \leftarrow \theta - \eta\, \frac{\hat m}{\sqrt{\hat v} + \varepsilon}.$$

    ``weight_decay`` $\lambda$ first adds $\lambda\theta$ to $g$ (an L2 penalty), or with
    ``decoupled_weight_decay=True`` shrinks $\theta \leftarrow \theta(1 - \eta\lambda)$
    (that is AdamW). ``amsgrad=True`` (Reddi et al., 2018) divides by the largest
    $\hat v$ so far instead. Bias correction makes the first step exactly
    $\eta\,\mathrm{sign}(g)$ (for $|g| \gg \varepsilon$).

    Args:
        params: parameters, or dicts defining parameter groups.
        lr: learning rate $\eta$.
        betas: $(\beta_1, \beta_2)$, decay rates of the two moving averages, in [0, 1).
        eps: $\varepsilon$, added to the denominator.
        weight_decay: $\lambda$.
        amsgrad: use the running maximum of $v$ (AMSGrad).
        foreach: accepted for PyTorch compatibility; ignored.
        maximize: maximize the objective.
        capturable: accepted for PyTorch compatibility (CUDA graphs); ignored.
        differentiable: must be False.
        fused: accepted for PyTorch compatibility; ignored.
        decoupled_weight_decay: decay the weights directly (AdamW) instead of through $g$.
    """

    _elementwise_state = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _update(self, param, grad, state, group):
        xp = get_array_module(param)
        if "exp_avg" not in state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(param)
            state["exp_avg_sq"] = xp.zeros_like(param)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(param)
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
        if group["amsgrad"]:
            xp.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        # √v̂ + ε = √v / √(1 - β₂ᵗ) + ε ;  step = lr / (1 - β₁ᵗ) · m / (√v̂ + ε)
        # (in place on the temporaries, the largest optimizer cost; for a 0-d parameter
        # they are NumPy scalars and ``/=`` simply rebinds them, which is fine for temporaries)
        denom = xp.sqrt(v)
        denom /= math.sqrt(1 - beta2**t)
        denom += group["eps"]
        update = m / denom
        update *= lr / (1 - beta1**t)
        param -= update


class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter, 2019): Adam with *decoupled* weight decay $\lambda$.

    $$\theta \leftarrow \theta\,(1 - \eta\lambda), \quad \text{then the Adam step with } g
      \text{ (no } \lambda\theta \text{ added).}$$

    With Adam's coupled L2 the decay term $\lambda\theta$ is divided by $\sqrt{\hat v}$
    like the gradient, so weights with large gradients are barely regularised;
    AdamW decays all alike. Same arguments as `Adam`, with
    ``weight_decay=1e-2`` by default and ``decoupled_weight_decay`` always True.
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
