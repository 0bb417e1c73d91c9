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

import math

from minigrad.backend import get_array_module
from minigrad.tensor import Function, Tensor
from minigrad.threads import blockwise

__all__ = ["batch_norm", "layer_norm"]


def _normalized_grad(g_hat, x_hat, inv_std, axes, out=None):
    """dx of x̂ = (x - μ)/σ when μ and σ are the statistics of x over ``axes`` (into ``out``)."""
    mean_g = g_hat.mean(axis=axes, keepdims=True)
    mean_gx = (g_hat * x_hat).mean(axis=axes, keepdims=True)
    dx = get_array_module(g_hat).subtract(g_hat, mean_g, out=out)
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
    """Layer normalization over the last ``k`` axes (Ba, Kiros & Hinton, 2016).

    Each sample is a row of the (samples, features) view of x, normalized on its own,
    so forward and backward run on blocks of rows (`_layer_norm_rows`,
    `_layer_norm_rows_backward`), on several threads for big inputs
    (`minigrad.threads.blockwise`): the formulas of the module docstring, row by row.
    """

    def forward(self, x, *affine, k, eps):
        xp = get_array_module(x)
        self.x_shape, self.weight_shape = x.shape, x.shape[x.ndim - k:]
        features = math.prod(self.weight_shape)
        rows = x.reshape(math.prod(x.shape[:x.ndim - k]), features)
        self.x_hat = xp.empty(rows.shape, x.dtype)
        self.inv_std = xp.empty((rows.shape[0], 1), x.dtype)
        self.gamma = affine[0].reshape(-1) if affine else None
        y = xp.empty(rows.shape, x.dtype) if affine else self.x_hat
        shared = (eps,) + tuple(a.reshape(-1) for a in affine)
        blockwise(_layer_norm_rows, rows, self.x_hat, self.inv_std, y, shared=shared)
        return y.reshape(x.shape)

    def backward(self, g):
        xp = get_array_module(g)
        g = g.reshape(self.x_hat.shape)
        dx = xp.empty(self.x_hat.shape, g.dtype)
        shared = () if self.gamma is None else (self.gamma,)
        blockwise(_layer_norm_rows_backward, g, self.x_hat, self.inv_std, dx, shared=shared)
        dx = dx.reshape(self.x_shape)
        if self.gamma is None:
            return dx
        return (dx, (g * self.x_hat).sum(axis=0).reshape(self.weight_shape),
                g.sum(axis=0).reshape(self.weight_shape))


def _layer_norm_rows(x, x_hat, inv_std, y, eps, gamma=None, beta=None):
    """LayerNorm forward on a block of rows, written into x_hat, inv_std and y:
    x̂ = (x - μ)/√(σ² + ε) with μ, σ² (biased) per row, y = γ x̂ + β."""
    xp = get_array_module(x)
    xp.subtract(x, x.mean(axis=1, keepdims=True), out=x_hat)
    var = (x_hat * x_hat).mean(axis=1, keepdims=True)
    xp.divide(1, xp.sqrt(var + eps), out=inv_std)
    x_hat *= inv_std
    if gamma is not None:
        xp.multiply(x_hat, gamma, out=y)
        y += beta


def _layer_norm_rows_backward(g, x_hat, inv_std, dx, gamma=None):
    """LayerNorm's dx on a block of rows, written into dx (``_normalized_grad`` row by row):
    dx = (ĝ - mean(ĝ) - x̂ mean(ĝ x̂)) / √(σ² + ε) with ĝ = γ g."""
    g_hat = g if gamma is None else g * gamma
    _normalized_grad(g_hat, x_hat, inv_std, axes=1, out=dx)


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    r"""Applies Layer Normalization over the trailing ``normalized_shape`` dims (Ba et al., 2016).

    $$y = \gamma\, \hat x + \beta, \quad \hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}, \qquad
      \frac{\partial L}{\partial x} = \frac{\hat g - \operatorname{mean}(\hat g)
      - \hat x \operatorname{mean}(\hat g \hat x)}{\sqrt{\sigma^2 + \epsilon}}$$

    with $\mu$, $\sigma^2$ (biased) and the means taken per sample over the trailing dims, and
    $\hat g = \gamma g$; $\partial L/\partial \gamma = \sum \hat x g$, $\partial L/\partial \beta = \sum g$.

    Args:
        input: (..., *normalized_shape).
        normalized_shape: An int or the tuple of trailing sizes to normalise over.
        weight: $\gamma$ of shape ``normalized_shape``, or None.
        bias: $\beta$ of shape ``normalized_shape``, or None.
        eps: $\epsilon$.
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
