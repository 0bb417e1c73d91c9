"""Normalization layers: ``BatchNorm1d``, ``BatchNorm2d`` and ``LayerNorm``.

The math (and the fused backward) is in `minigrad.ops.norm`.
"""

from __future__ import annotations

import numpy as np

from minigrad.nn.module import Module, Parameter
from minigrad.ops.norm import batch_norm, layer_norm
from minigrad.tensor import Tensor, get_default_dtype

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm"]


def _filled(shape, value) -> np.ndarray:
    return np.full(shape, value, dtype=get_default_dtype())


class _BatchNorm(Module):
    """Shared code of BatchNorm1d/2d (Ioffe & Szegedy, 2015).

    y = (x - μ) / √(σ² + ε) · weight + bias, per channel (axis 1).

    - training: μ, σ² are the batch's statistics over every axis but the channel
      axis; the running estimates are updated as
      running = (1 - momentum) · running + momentum · batch statistic, with the
      unbiased batch variance, as PyTorch (``momentum=None``: a cumulative average).
    - eval (``model.eval()``): μ, σ² are the running estimates.

    Parameters and buffers have PyTorch's names: ``weight`` (ones), ``bias``
    (zeros), buffers ``running_mean`` (zeros), ``running_var`` (ones) and
    ``num_batches_tracked`` (an int64 counter).
    """

    expected_dims: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, *, bias: bool = True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats, self.use_bias = affine, track_running_stats, bias
        if affine:
            self.weight = Parameter(_filled(num_features, 1.0))
            if bias:
                self.bias = Parameter(_filled(num_features, 0.0))
            else:  # y = γ x̂ (PyTorch's bias=False): β stays 0 and is no parameter
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(_filled(num_features, 0.0)))
            self.register_buffer("running_var", Tensor(_filled(num_features, 1.0)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def forward(self, x: Tensor) -> Tensor:
        name = type(self).__name__
        if x.ndim not in self.expected_dims or x.shape[1] != self.num_features:
            dims = " or ".join(f"{d}-D" for d in self.expected_dims)
            raise ValueError(f"{name}: expected a {dims} input with {self.num_features} channels "
                             f"in dim 1, got shape {x.shape}")
        use_batch_stats = self.training or not self.track_running_stats
        momentum = 0.0 if self.momentum is None else self.momentum
        counting = self.training and self.track_running_stats
        if counting and self.momentum is None:  # cumulative average over the batches seen
            momentum = 1.0 / (int(self.num_batches_tracked._data) + 1)
        bias = self.bias
        if self.weight is not None and bias is None:  # bias=False: a constant β = 0
            bias = Tensor._wrap(self.weight._data * 0)
        out = batch_norm(x, self.running_mean, self.running_var, self.weight, bias,
                         training=use_batch_stats, momentum=momentum, eps=self.eps)
        if counting:  # only once batch_norm accepted the batch
            self.num_batches_tracked._data += 1
        return out

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, " + ("" if self.use_bias else "bias=False, ")
                + f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) inputs, per channel C (Ioffe & Szegedy, 2015).

    y = (x - μ) / √(σ² + ε) · weight + bias; μ, σ² from the batch in training
    (running estimates updated with ``momentum``, unbiased variance) and the running
    estimates in eval, as PyTorch's ``nn.BatchNorm1d``. Init: weight 1, bias 0.
    """
    expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) inputs, per channel C (Ioffe & Szegedy, 2015).

    y = (x - μ) / √(σ² + ε) · weight + bias; μ, σ² over (N, H, W) from the batch in
    training (running estimates updated with ``momentum``, unbiased variance) and the
    running estimates in eval, as PyTorch's ``nn.BatchNorm2d``. Init: weight 1, bias 0.
    """
    expected_dims = (4,)


class LayerNorm(Module):
    """Layer normalization (Ba, Kiros & Hinton, 2016) over the trailing ``normalized_shape`` axes.

    y = (x - μ) / √(σ² + ε) · weight + bias, with μ, σ² (biased) per sample over
    those axes; the same in training and eval. ``weight`` (ones) and ``bias``
    (zeros) have shape ``normalized_shape``, as PyTorch's ``nn.LayerNorm``;
    ``bias=False`` keeps the scale only (no ``bias`` entry in the state dict).
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(_filled(self.normalized_shape, 1.0))
            if bias:
                self.bias = Parameter(_filled(self.normalized_shape, 0.0))
            else:
                self.register_parameter("bias", None)
            if dtype is not None or device is not None:
                self.to(*[a for a in (device, dtype) if a is not None])
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        k = len(self.normalized_shape)
        if x.shape[max(x.ndim - k, 0):] != self.normalized_shape or x.ndim < k:
            raise ValueError(f"LayerNorm: expected input with trailing shape "
                             f"{self.normalized_shape}, got shape {x.shape}")
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")
