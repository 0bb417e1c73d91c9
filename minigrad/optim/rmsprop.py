"""RMSprop: divide the gradient by a running average of its recent magnitude."""

from __future__ import annotations

from minigrad.backend import get_array_module
from minigrad.optim.optimizer import Optimizer

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop (Hinton, Srivastava & Swersky, *Neural Networks for Machine Learning*,
    lecture 6e, 2012) with PyTorch's update rule (``torch.optim.RMSprop``).

    With $v$ starting at 0 and weight decay $\lambda$:

    $$g \leftarrow g + \lambda\theta, \qquad v \leftarrow \alpha v + (1 - \alpha) g^2, \qquad
      d = \sqrt{v} + \varepsilon \quad \Big(\text{centered: } m \leftarrow \alpha m + (1-\alpha) g,\
      d = \sqrt{v - m^2} + \varepsilon\Big),$$

    then $\theta \leftarrow \theta - \eta\, g / d$, or with momentum $\mu > 0$:
    $b \leftarrow \mu b + g / d$, $\theta \leftarrow \theta - \eta\, b$. ``centered`` is
    Graves (2013). $\varepsilon$ is added *outside* the square root, as in PyTorch
    (TensorFlow puts it inside).

    Args:
        params: parameters, or dicts defining parameter groups.
        lr: learning rate $\eta$.
        alpha: smoothing constant $\alpha$ of the average of squares, in [0, 1].
        eps: $\varepsilon$.
        weight_decay: L2 penalty $\lambda$.
        momentum: momentum factor $\mu$.
        centered: normalise by the estimated variance instead of the second moment.
        capturable: accepted for PyTorch compatibility; ignored.
        foreach: accepted for PyTorch compatibility; ignored.
        maximize: maximize the objective.
        differentiable: must be False.
    """

    _elementwise_state = ("square_avg", "momentum_buffer", "grad_avg")

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False):
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _validate_group(self, group, where):
        super()._validate_group(group, where)
        alpha = group["alpha"]
        if not 0 <= alpha <= 1:
            raise ValueError(f"RMSprop: alpha must be in [0, 1], got {alpha!r} ({where})")

    def _update(self, param, grad, state, group):
        xp = get_array_module(param)
        if "square_avg" not in state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(param)
            if group["momentum"] > 0:
                state["momentum_buffer"] = xp.zeros_like(param)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(param)
        state["step"] += 1
        alpha, wd, mu = group["alpha"], group["weight_decay"], group["momentum"]
        if wd:
            grad = grad + wd * param
        v = state["square_avg"]
        v *= alpha
        v += (1 - alpha) * (grad * grad)
        if group["centered"]:
            m = state.setdefault("grad_avg", xp.zeros_like(param))  # centered turned on later
            m *= alpha
            m += (1 - alpha) * grad
            denom = xp.sqrt(v - m * m) + group["eps"]
        else:
            denom = xp.sqrt(v) + group["eps"]
        if mu > 0:
            buf = state.setdefault("momentum_buffer", xp.zeros_like(param))
            buf *= mu
            buf += grad / denom
            param -= group["lr"] * buf
        else:
            param -= group["lr"] * (grad / denom)
