"""Batch and layer normalization as fused Functions.

Both normalize x over a set of axes A (M elements per statistic) and apply an
optional per-feature affine map:

    μ = mean_A(x),   σ² = mean_A((x - μ)²)   (biased),   x̂ = (x - μ) / √(σ² + ε)
    y = γ ⊙ x̂ + β

Written as separate ops this is a dozen graph nodes, each storing an array; the
fused backward needs only x̂ and 1/√(σ² + ε). With ĝ = g ⊙ γ (the gradient that
reaches x̂), differentiating through μ and σ² gives (Ioffe & Szegedy, 2015):

    dx = (1/√(σ² + ε)) · (ĝ - mean_A(ĝ) - x̂ ⊙ mean_A(ĝ ⊙ x̂))
    dγ = Σ g ⊙ x̂,   dβ = Σ g      (summed over every axis γ is broadcast along)

When the statistics are *constants* (batch norm in eval mode, with running
statistics) the normalization is affine in x and dx = ĝ / √(σ² + ε).
"""

from __future__ import annotations

from minigrad.backend import get_array_module
from minigrad.tensor import Function, Tensor

__all__ = ["batch_norm", "layer_norm"]


def _normalized_grad(g_hat, x_hat, inv_std, axes):
    """dx of x̂ = (x - μ)/σ when μ and σ are the statistics of x over ``axes``."""
    mean_g = g_hat.mean(axis=axes, keepdims=True)
    mean_gx = (g_hat * x_hat).mean(axis=axes, keepdims=True)
    dx = g_hat - mean_g
    dx -= x_hat * mean_gx
    dx *= inv_std
    return dx


class BatchNorm(Function):
    """Batch normalization over every axis but the channel axis 1 (Ioffe & Szegedy, 2015).

    ``mean`` and ``var`` are computed by `batch_norm` (from the batch in
    training, the running estimates in eval); ``batch_stats`` says whether they
    depend on x, which decides the backward formula.
    """

    def forward(self, x, *affine, mean, var, eps, batch_stats):
        xp = get_array_module(x)
        shape = (1, -1) + (1,) * (x.ndim - 2)  # broadcast per-channel values over N, H, W
        self.axes = (0,) + tuple(range(2, x.ndim))
        self.inv_std = (1 / xp.sqrt(var + eps)).reshape(shape).astype(x.dtype, copy=False)
        self.x_hat = (x - mean.reshape(shape)) * self.inv_std
        self.batch_stats = batch_stats
        if not affine:
            self.gamma = None
            return self.x_hat
        gamma, beta = affine
        self.gamma = gamma.reshape(shape)
        return self.x_hat * self.gamma + beta.reshape(shape)

    def backward(self, g):
        g_hat = g if self.gamma is None else g * self.gamma
        if self.batch_stats:
            dx = _normalized_grad(g_hat, self.x_hat, self.inv_std, self.axes)
        else:
            dx = g_hat * self.inv_std
        if self.gamma is None:
            return dx
        return dx, (g * self.x_hat).sum(axis=self.axes), g.sum(axis=self.axes)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    r"""Applies Batch Normalization for each channel across a batch of data (Ioffe & Szegedy, 2015).

    $$y = \gamma\, \hat x + \beta, \quad \hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}, \qquad
      \frac{\partial L}{\partial x} = \frac{\hat g - \operatorname{mean}(\hat g)
      - \hat x \operatorname{mean}(\hat g \hat x)}{\sqrt{\sigma^2 + \epsilon}}$$

    with $\hat g = \gamma g$ and means over (N, ...) per channel; in eval, with constant running
    statistics, $\partial L/\partial x = \hat g / \sqrt{\sigma^2 + \epsilon}$.

    Args:
        input: (N, C, ...).
        running_mean: (C,) estimate of $\mu$, updated in place in training (or None).
        running_var: (C,) estimate of $\sigma^2$, updated with the unbiased batch variance.
        weight: $\gamma$ (C,) or None.
        bias: $\beta$ (C,) or None.
        training: Normalise with the batch's statistics (and update the running ones).
        momentum: running $\leftarrow$ (1 - momentum) running + momentum batch; ``eps`` is $\epsilon$.
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of shape (N, C, ...), got {input.shape}")
    c = input.shape[1]
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if t is not None and t.shape != (c,):
            raise ValueError(f"batch_norm: {name} must have shape ({c},) for an input with {c} "
                             f"channels, got {name} of shape {t.shape} and input {input.shape}")
    if (weight is None) != (bias is None):
        raise ValueError("batch_norm: pass both weight and bias, or neither")
    if training:
        mean, var = _batch_statistics(input, running_mean, running_var, momentum)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: eval mode (training=False) needs running_mean and "
                             "running_var")
        mean, var = running_mean._data, running_var._data
    affine = () if weight is None else (weight, bias)
    return BatchNorm.apply(input, *affine, mean=mean, var=var, eps=eps, batch_stats=training)


def _batch_statistics(x: Tensor, running_mean, running_var, momentum):
    axes = (0,) + tuple(range(2, x.ndim))
    m = x.numel() // x.shape[1]
    if m < 2:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                         f"got input of shape {x.shape}")
    mean = x._data.mean(axis=axes)
    var = x._data.var(axis=axes)
    if running_mean is not None:
        running_mean._data *= 1 - momentum
        running_mean._data += momentum * mean.astype(running_mean.dtype, copy=False)
    if running_var is not None:
        running_var._data *= 1 - momentum
        running_var._data += momentum * (var * (m / (m - 1))).astype(running_var.dtype, copy=False)
    return mean, var


class LayerNorm(Function):
    """Layer normalization over the last ``k`` axes (Ba, Kiros & Hinton, 2016)."""

    def forward(self, x, *affine, k, eps):
        xp = get_array_module(x)
        self.axes = tuple(range(x.ndim - k, x.ndim))
        mean = x.mean(axis=self.axes, keepdims=True)
        centered = x - mean
        var = (centered * centered).mean(axis=self.axes, keepdims=True)
        self.inv_std = 1 / xp.sqrt(var + eps)
        centered *= self.inv_std
        self.x_hat = centered
        if not affine:
            self.gamma = None
            return self.x_hat
        self.gamma, beta = affine
        return self.x_hat * self.gamma + beta

    def backward(self, g):
        g_hat = g if self.gamma is None else g * self.gamma
        dx = _normalized_grad(g_hat, self.x_hat, self.inv_std, self.axes)
        if self.gamma is None:
            return dx
        lead = tuple(range(g.ndim - len(self.axes)))
        return dx, (g * self.x_hat).sum(axis=lead), g.sum(axis=lead)


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalize over the trailing ``normalized_shape`` axes, as ``torch.nn.functional.layer_norm``.

    y = (x - μ) / √(σ² + ε) · weight + bias, with μ, σ² (biased) computed per
    sample over the last len(normalized_shape) axes; weight and bias have shape
    ``normalized_shape``.
    """
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if input.shape[input.ndim - k:] != shape or input.ndim < k:
        raise ValueError(f"layer_norm: expected input with trailing shape {shape}, "
                         f"got input of shape {input.shape}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.shape != shape:
            raise ValueError(f"layer_norm: {name} must have shape {shape}, got {t.shape}")
    if weight is not None and bias is None:  # LayerNorm(bias=False): scale only
        return LayerNorm.apply(input, k=k, eps=eps) * weight
    if weight is None and bias is not None:
        return LayerNorm.apply(input, k=k, eps=eps) + bias
    affine = () if weight is None else (weight, bias)
    return LayerNorm.apply(input, *affine, k=k, eps=eps)
