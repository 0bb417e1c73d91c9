"""Losses: each a fused Function (one forward, one backward) with its formula.

They sit on the hot path of every training step, so each computes its loss and
its gradient in one pass; the textbook formula is in each docstring, and a speed
trick (cross-entropy's softmax minus one-hot) is named where it is used. Every
loss takes ``reduction="mean" | "sum" | "none"`` as in PyTorch, and is re-exported
by ``minigrad.nn.functional`` (``F.cross_entropy`` ...), which layers and users call.
"""

from __future__ import annotations

import math

import numpy as np

from minigrad import backend
from minigrad.backend import get_array_module
from minigrad.ops.stable import stable_sigmoid, stable_softmax
from minigrad.tensor import Function, Tensor

__all__ = [
    "mse_loss", "l1_loss", "cross_entropy", "nll_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "smooth_l1_loss", "huber_loss", "kl_div",
    "poisson_nll_loss", "gaussian_nll_loss", "margin_ranking_loss", "hinge_embedding_loss",
    "cosine_embedding_loss", "triplet_margin_loss", "ctc_loss", "LossArgumentError",
    "LossTargetTypeError",
]

_REDUCTIONS = ("mean", "sum", "none")


class LossArgumentError(ValueError, RuntimeError):
    """A loss called with arguments of the wrong shape or value; the message names the loss
    and the shapes.

    PyTorch raises ``RuntimeError`` for most such calls (``ValueError`` for a few, such as a
    batch-size mismatch in ``cross_entropy``); this class is both, so code written with
    ``pytest.raises(RuntimeError)`` or ``except ValueError`` catches it.
    """


class LossTargetTypeError(TypeError, RuntimeError):
    """A loss given a target of the wrong dtype (PyTorch: ``RuntimeError``, "expected scalar
    type Long"); also a ``TypeError``."""


# ============================================================================ helpers


def _check_reduction(reduction, loss):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{loss}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(loss_array, reduction, denom=None):
    """The per-element losses reduced: their mean (Σ / denom for a weighted mean), sum, or as is."""
    if reduction == "mean":
        return loss_array.mean() if denom is None else loss_array.sum() / denom
    if reduction == "sum":
        return loss_array.sum()
    return loss_array


def _row_scale(g, reduction, denom):
    """dL/dℓ_n for each row's loss ℓ_n under the reduction of `_reduce` (weighted mean)."""
    if reduction == "mean":
        return g / denom
    if reduction == "sum":
        return g
    return g.reshape(-1)


def _d_reduce(g, shape, reduction, xp):
    """The gradient of the reduction: g spread back to every element's loss."""
    if reduction == "none":
        return g
    n = 1
    for s in shape:
        n *= s
    scale = g / n if reduction == "mean" else g
    return xp.broadcast_to(scale, shape)


def _check_same_shape(input, target, loss):
    if input.shape != target.shape:
        raise LossArgumentError(
            f"{loss}: input {tuple(input.shape)} and target {tuple(target.shape)} have different "
            "shapes; broadcasting them would silently compare every pair (reshape one of them)"
        )


def _as_tensor(value, like: Tensor) -> Tensor:
    if isinstance(value, Tensor):
        return value
    xp = get_array_module(like._data)
    return Tensor._wrap(xp.asarray(value, dtype=like.dtype))


# ============================================================================ regression losses


class MSELoss(Function):
    """ℓ_i = (x_i - y_i)²;  dℓ/dx_i = 2 (x_i - y_i) = -dℓ/dy_i."""

    def forward(self, x, y, reduction):
        self.diff, self.reduction = x - y, reduction
        return _reduce(self.diff * self.diff, reduction)

    def backward(self, g):
        xp = get_array_module(g)
        dx = 2 * self.diff * _d_reduce(g, self.diff.shape, self.reduction, xp)
        return dx, -dx


class L1Loss(Function):
    """ℓ_i = |x_i - y_i|;  dℓ/dx_i = sign(x_i - y_i) = -dℓ/dy_i  (0 at a tie, as PyTorch)."""

    def forward(self, x, y, reduction):
        xp = get_array_module(x)
        diff = x - y
        self.sign, self.reduction = xp.sign(diff), reduction
        return _reduce(abs(diff), reduction)

    def backward(self, g):
        xp = get_array_module(g)
        dx = self.sign * _d_reduce(g, self.sign.shape, self.reduction, xp)
        return dx, -dx


def mse_loss(input: Tensor, target, reduction: str = "mean", weight=None) -> Tensor:
    r"""Measures the element-wise mean squared error.

    $$\ell_i = (x_i - y_i)^2, \qquad \frac{\partial \ell_i}{\partial x_i} = 2 (x_i - y_i)
      = -\frac{\partial \ell_i}{\partial y_i},$$

    then reduced (``"mean"``: $\frac{1}{n}\sum_i \ell_i$, so each gradient is also divided by $n$).

    Args:
        input: Predictions $x$, any shape.
        target: Targets $y$ of the same shape ((N, 1) against (N,) would broadcast to (N, N),
            a silent bug PyTorch only warns about, so it raises).
        reduction: ``"mean"`` | ``"sum"`` | ``"none"``.
        weight: Optional per-element weights $w$ of the input's shape: $w_i \ell_i$, and
            ``"mean"`` is then $\sum_i w_i \ell_i / \sum_i w_i$ (as PyTorch).

    Returns:
        A scalar, or the per-element losses for ``"none"``.
    """
    _check_reduction(reduction, "mse_loss")
    target = _as_tensor(target, input)
    _check_same_shape(input, target, "mse_loss")
    if weight is not None:
        loss = MSELoss.apply(input, target, reduction="none")
        return _weighted_elementwise(loss, weight, input, reduction, "mse_loss")
    return MSELoss.apply(input, target, reduction=reduction)


def l1_loss(input: Tensor, target, reduction: str = "mean", weight=None) -> Tensor:
    r"""Takes the mean element-wise absolute value difference.

    $$\ell_i = |x_i - y_i|, \qquad \frac{\partial \ell_i}{\partial x_i} = \operatorname{sign}(x_i - y_i)
      = -\frac{\partial \ell_i}{\partial y_i}$$

    (0 at a tie, as PyTorch), then reduced (``"mean"``: $\frac{1}{n}\sum_i \ell_i$).

    Args:
        input: Predictions $x$, any shape.
        target: Targets $y$ of the same shape.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"``.
        weight: Optional per-element weights $w$ of the input's shape: $w_i \ell_i$, and
            ``"mean"`` is then $\sum_i w_i \ell_i / \sum_i w_i$ (as PyTorch).

    Returns:
        A scalar, or the per-element losses for ``"none"``.
    """
    _check_reduction(reduction, "l1_loss")
    target = _as_tensor(target, input)
    _check_same_shape(input, target, "l1_loss")
    if weight is not None:
        loss = L1Loss.apply(input, target, reduction="none")
        return _weighted_elementwise(loss, weight, input, reduction, "l1_loss")
    return L1Loss.apply(input, target, reduction=reduction)


def _weighted_elementwise(loss: Tensor, weight, input: Tensor, reduction: str, name: str) -> Tensor:
    r"""``weight`` times the per-element losses, then reduced as PyTorch does: ``"mean"`` is the
    weighted mean $\sum_i w_i \ell_i / \sum_i w_i$."""
    weight = _as_tensor(weight, input)
    if weight.shape != input.shape:
        raise ValueError(f"{name}: weight must have the input's shape {input.shape}, got {weight.shape}")
    loss = loss * weight
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.sum() / weight.sum()


# ============================================================================ classification losses


def _class_targets(input: Tensor, target, loss: str, ignore_index: int):
    """Check integer targets against (N, C, d1, ...) inputs; return the target array."""
    t = target._data if isinstance(target, Tensor) else get_array_module(input._data).asarray(target)
    if t.dtype.kind not in "iu":
        raise LossTargetTypeError(
            f"{loss}: target must hold integer class indices (dtype int64), got dtype {t.dtype} "
            f"and shape {tuple(t.shape)} for input {tuple(input.shape)}; convert with "
            "target.long() (probability targets must have the input's shape)"
        )
    if input.ndim < 1:
        raise LossArgumentError(f"{loss}: input must have a class dimension, got shape {input.shape}")
    expected = input.shape[:1] + input.shape[2:] if input.ndim > 1 else ()
    if tuple(t.shape) != expected:
        if input.ndim >= 2 and t.ndim >= 1 and t.shape[0] != input.shape[0]:
            raise LossArgumentError(
                f"{loss}: input {tuple(input.shape)} and target {tuple(t.shape)} disagree in "
                "batch size"
            )
        raise LossArgumentError(
            f"{loss}: input {tuple(input.shape)} needs target of shape {expected} "
            f"(one class index per sample), got {tuple(t.shape)}"
        )
    n_classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    # one host sync on a GPU, so there only with MINIGRAD_CHECK_VALUES=1 (backend.value_checks)
    if t.size and backend.value_checks(t):
        valid = t != ignore_index
        if (valid & ((t < 0) | (t >= n_classes))).any():
            lo, hi = int(t[valid].min()), int(t[valid].max())
            raise IndexError(
                f"{loss}: target values must be in [0, {n_classes}) (input {tuple(input.shape)} "
                f"has {n_classes} classes), got min {lo}, max {hi}"
            )
    return t


def _rows(x):
    """(N, C, d1, ...) -> (N·d1·..., C): the class dim last, one row per prediction."""
    if x.ndim == 1:
        return x[None, :]
    if x.ndim == 2:
        return x
    return get_array_module(x).moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def _unrows(rows, shape):
    """Inverse of ``_rows``: back to (N, C, d1, ...)."""
    if len(shape) == 1:
        return rows[0]
    if len(shape) == 2:
        return rows
    moved = rows.reshape((shape[0],) + tuple(shape[2:]) + (shape[1],))
    return get_array_module(rows).moveaxis(moved, -1, 1)


def _class_weights(weight, n_classes, like, loss):
    if weight is None:
        return None
    w = weight._data if isinstance(weight, Tensor) else get_array_module(like).asarray(weight)
    if w.shape != (n_classes,):
        raise LossArgumentError(f"{loss}: weight must have shape ({n_classes},), got {tuple(w.shape)}")
    return w.astype(like.dtype, copy=False)


class CrossEntropy(Function):
    """Softmax cross-entropy on logits z (rows n, classes c), fused and stable.

    log p_{n,c} = z_{n,c} - max_c z - log Σ_c exp(z_{n,c} - max_c z)   (never overflows)

    With class weights w (all 1 by default) and label smoothing ε the loss of row n is
    PyTorch's:

        ℓ_n = Σ_c q_{n,c} (-log p_{n,c}),   q_{n,c} = (1 - ε) w_{y_n} [c = y_n] + (ε/C) w_c

    (0 for rows whose target is ``ignore_index``); ``mean`` divides Σ_n ℓ_n by
    Σ_n w_{y_n} over the rows not ignored. Since ∂(-log p_c)/∂z_k = p_k - [c = k],

        ∂ℓ_n/∂z_{n,k} = p_{n,k} Σ_c q_{n,c} - q_{n,k}

    which without weights or smoothing is the familiar (softmax - onehot) / N.
    """

    def forward(self, z, target, weight, ignore_index, reduction, smoothing):
        xp = get_array_module(z)
        self.shape, self.reduction = z.shape, reduction
        rows, t = _rows(z), target.reshape(-1)
        n, n_classes = rows.shape
        logp = stable_softmax(rows, axis=1, log=True)  # log p_{n,c}, never overflows
        self.p = xp.exp(logp)  # kept for backward's (p - onehot) fast path
        keep = t != ignore_index
        safe_t = xp.where(keep, t, 0)
        idx = xp.arange(n)
        picked = logp[idx, safe_t]  # log p_{n, y_n}
        w_y = keep.astype(z.dtype) if weight is None else weight[safe_t] * keep
        loss = -(1 - smoothing) * w_y * picked
        if smoothing:
            w = 1 if weight is None else weight
            loss -= (smoothing / n_classes) * (logp * w).sum(axis=1) * keep
        self.idx, self.safe_t, self.keep, self.w_y = idx, safe_t, keep, w_y
        self.weight, self.smoothing, self.n_classes = weight, smoothing, n_classes
        self.denom = w_y.sum()
        return _reduce(loss.reshape(target.shape), reduction, self.denom)

    def backward(self, g):
        xp = get_array_module(g)
        eps, n_classes = self.smoothing, self.n_classes
        q_target = (1 - eps) * self.w_y  # q_{n, y_n} from the first term
        if eps:
            w = xp.ones(n_classes, dtype=self.p.dtype) if self.weight is None else self.weight
            q_smooth = (eps / n_classes) * w[None, :] * self.keep[:, None]
            total_q = q_target + q_smooth.sum(axis=1)
            grad = self.p * total_q[:, None] - q_smooth
        else:
            grad = self.p * q_target[:, None]
        # fast path of the formula above: (p - onehot) without building the one-hot matrix,
        # by subtracting q at each row's target column
        grad[self.idx, self.safe_t] -= q_target
        grad *= _row_scale(g, self.reduction, self.denom)[..., None]
        return _unrows(grad, self.shape)


class CrossEntropyProbs(Function):
    r"""Softmax cross-entropy against class **probabilities** $q$ (a target of the input's shape).

    With $\log p_n = \operatorname{log\,softmax}(z_n)$, class weights $w$ (all 1 by default)
    and label smoothing $\varepsilon$ (which mixes $q$ with the uniform distribution,
    $\tilde q_{n,c} = (1 - \varepsilon)\, q_{n,c} + \varepsilon / C$), the loss of row $n$ is

    $$\ell_n = -\sum_c w_c\, \tilde q_{n,c} \log p_{n,c},$$

    and ``mean`` divides $\sum_n \ell_n$ by the number of rows $N$ (not by a sum of weights,
    as PyTorch). Since $\partial(-\log p_{n,c})/\partial z_{n,k} = p_{n,k} - [c = k]$:

    $$\frac{\partial \ell_n}{\partial z_{n,k}} = p_{n,k} \sum_c w_c \tilde q_{n,c} - w_k \tilde q_{n,k},
      \qquad \frac{\partial \ell_n}{\partial q_{n,c}} = -(1 - \varepsilon)\, w_c \log p_{n,c}.$$

    The target gets its gradient, as in PyTorch (e.g. for distillation against a learned teacher).
    """

    def forward(self, z, q, weight, reduction, smoothing):
        self.shape, self.reduction = z.shape, reduction
        rows = _rows(z)
        n_classes = rows.shape[1]
        self.logp = stable_softmax(rows, axis=1, log=True)
        wq = (1 - smoothing) * _rows(q) + smoothing / n_classes  # q̃
        if weight is not None:
            wq = wq * weight
        self.wq, self.weight, self.smoothing = wq, weight, smoothing
        self.out_shape = (z.shape[0],) + tuple(z.shape[2:]) if z.ndim > 1 else ()
        loss = -(wq * self.logp).sum(axis=1)
        return _reduce(loss.reshape(self.out_shape), reduction)

    def backward(self, g):
        xp = get_array_module(g)
        scale = _d_reduce(g, self.out_shape, self.reduction, xp).reshape(-1)[:, None]  # dL/dℓ_n
        p = xp.exp(self.logp)
        dz = (p * self.wq.sum(axis=1, keepdims=True) - self.wq) * scale
        dq = None
        if self.needs_input_grad[1]:
            w = 1 if self.weight is None else self.weight
            dq = _unrows(-(1 - self.smoothing) * w * self.logp * scale, self.shape)
        return _unrows(dz, self.shape), dq


def _is_probability_target(input: Tensor, target) -> bool:
    """PyTorch's rule: a floating-point target of the input's shape holds class probabilities."""
    if not hasattr(target, "dtype"):  # a list or a Python number
        target = np.asarray(target)
    return np.dtype(target.dtype).kind == "f" and tuple(target.shape) == tuple(input.shape)


def cross_entropy(
    input: Tensor, target, weight=None, ignore_index: int = -100, reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    r"""Computes the cross entropy loss between input logits and target.

    $$\ell = \frac{1}{N} \sum_n \big(\operatorname{logsumexp}(z_n) - z_{n,y_n}\big), \qquad
      \frac{\partial \ell}{\partial z_n} = \frac{\operatorname{softmax}(z_n) - \text{onehot}(y_n)}{N}$$

    without options; `CrossEntropy` (class targets) and `CrossEntropyProbs` (probability
    targets, which get a gradient) give the weighted and smoothed forms.

    Args:
        input: Logits $z$ (N, C) or (N, C, d1, ...), or (C,) for one sample.
        target: Class indices (N) or (N, d1, ...), int64, or class probabilities of ``input``'s shape.
        weight: Optional (C,) rescaling of each class; ``"mean"`` divides by $\sum_n w_{y_n}$.
        ignore_index: Class-index targets equal to it contribute nothing.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"``.
        label_smoothing: $\varepsilon$ in [0, 1], mixing the target with the uniform distribution.

    Returns:
        A scalar, or the per-sample losses for ``"none"``.
    """
    _check_reduction(reduction, "cross_entropy")
    if not 0 <= label_smoothing <= 1:
        raise LossArgumentError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    n_classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    if _is_probability_target(input, target):
        target = _as_tensor(target, input)
        if target.dtype != input.dtype:
            target = target.to(input.dtype)
        w = _class_weights(weight, n_classes, input._data, "cross_entropy")
        return CrossEntropyProbs.apply(input, target, weight=w, reduction=reduction,
                                       smoothing=float(label_smoothing))
    t = _class_targets(input, target, "cross_entropy", ignore_index)
    n_classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    w = _class_weights(weight, n_classes, input._data, "cross_entropy")
    if input.ndim == 1:
        t = t.reshape(1)
    out = CrossEntropy.apply(
        input, target=t, weight=w, ignore_index=ignore_index, reduction=reduction,
        smoothing=float(label_smoothing),
    )
    return out.reshape(()) if input.ndim == 1 and reduction == "none" else out


class NLLLoss(Function):
    """Negative log-likelihood of log-probabilities x:  ℓ_n = -w_{y_n} x_{n,y_n}.

    ``mean`` divides by Σ_n w_{y_n} (rows not ignored). ∂ℓ_n/∂x_{n,k} = -w_{y_n} [k = y_n].
    """

    def forward(self, x, target, weight, ignore_index, reduction):
        xp = get_array_module(x)
        self.shape, self.reduction = x.shape, reduction
        rows, t = _rows(x), target.reshape(-1)
        keep = t != ignore_index
        self.safe_t = xp.where(keep, t, 0)
        self.idx = xp.arange(rows.shape[0])
        self.w_y = keep.astype(x.dtype) if weight is None else weight[self.safe_t] * keep
        loss = -self.w_y * rows[self.idx, self.safe_t]
        self.denom = self.w_y.sum()
        return _reduce(loss.reshape(target.shape), reduction, self.denom)

    def backward(self, g):
        xp = get_array_module(g)
        n, c = self.idx.shape[0], (self.shape[1] if len(self.shape) > 1 else self.shape[0])
        grad = xp.zeros((n, c), dtype=self.w_y.dtype)
        grad[self.idx, self.safe_t] = -self.w_y * _row_scale(g, self.reduction, self.denom)
        return _unrows(grad, self.shape)


def nll_loss(
    input: Tensor, target, weight=None, ignore_index: int = -100, reduction: str = "mean",
) -> Tensor:
    r"""Computes the negative log likelihood loss of log-probabilities.

    $$\ell_n = -w_{y_n}\, x_{n,y_n}, \qquad \frac{\partial \ell_n}{\partial x_{n,k}} = -w_{y_n} [k = y_n],$$

    ``"mean"`` divides $\sum_n \ell_n$ by $\sum_n w_{y_n}$ over the rows not ignored
    ($w = 1$ by default). ``cross_entropy(z, y) == nll_loss(log_softmax(z, dim=1), y)``.

    Args:
        input: Log-probabilities $x$ (N, C) or (N, C, d1, ...), or (C,) for one sample.
        target: Class indices (N) or (N, d1, ...), int64.
        weight: Optional (C,) rescaling of each class.
        ignore_index: Targets equal to it contribute nothing.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"``.

    Returns:
        A scalar, or the per-sample losses for ``"none"``.
    """
    _check_reduction(reduction, "nll_loss")
    t = _class_targets(input, target, "nll_loss", ignore_index)
    n_classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    w = _class_weights(weight, n_classes, input._data, "nll_loss")
    if input.ndim == 1:
        t = t.reshape(1)
    out = NLLLoss.apply(input, target=t, weight=w, ignore_index=ignore_index, reduction=reduction)
    return out.reshape(()) if input.ndim == 1 and reduction == "none" else out


# ============================================================================ binary losses


def _weighted(loss, weight):
    return loss if weight is None else loss * weight


class BinaryCrossEntropy(Function):
    r"""$\ell_i = -w_i [y_i \log p_i + (1 - y_i) \log(1 - p_i)]$, each log clamped to $\ge -100$.

    The clamp (PyTorch's) keeps $\ell$ finite when $p$ is exactly 0 or 1. Gradients:

    $$\frac{\partial \ell_i}{\partial p_i} = w_i \frac{p_i - y_i}{p_i (1 - p_i)}, \qquad
      \frac{\partial \ell_i}{\partial y_i} = w_i \big(\log(1 - p_i) - \log p_i\big)
      = -w_i \operatorname{logit}(p_i),$$

    with $p(1 - p)$ floored at $10^{-12}$ as PyTorch does, and the target's gradient
    taken from the clamped logs (PyTorch: the unclamped logit, the same inside
    $(e^{-100}, 1 - e^{-100})$).
    """

    def forward(self, p, y, weight, reduction):
        xp = get_array_module(p)
        self.p, self.y, self.weight, self.reduction = p, y, weight, reduction
        with np.errstate(divide="ignore"):
            log_p = xp.maximum(xp.log(p), -100)
            log_1mp = xp.maximum(xp.log(1 - p), -100)
        self.log_p, self.log_1mp = log_p, log_1mp
        return _reduce(_weighted(-(y * log_p + (1 - y) * log_1mp), weight), reduction)

    def backward(self, g):
        xp = get_array_module(g)
        p, y = self.p, self.y
        scale = _weighted(_d_reduce(g, p.shape, self.reduction, xp), self.weight)
        dp = (p - y) / xp.maximum(p * (1 - p), 1e-12) * scale
        dy = (self.log_1mp - self.log_p) * scale if self.needs_input_grad[1] else None
        return dp, dy


class BCEWithLogits(Function):
    """ℓ_i = w_i [π y_i softplus(-x_i) + (1 - y_i) softplus(x_i)]  on logits x,
    with π = pos_weight (1 if absent) and softplus(x) = log(1 + e^x) = max(x, 0) + log(1 + e^-|x|),
    which never overflows. With π = 1 this is max(x, 0) - x y + log(1 + e^-|x|).

    ∂ℓ/∂x = w [π y (σ(x) - 1) + (1 - y) σ(x)]   (= w (σ(x) - y) when π = 1).
    ∂ℓ/∂y = w [π softplus(-x) - softplus(x)]      (= -w x when π = 1), as PyTorch.
    """

    def forward(self, x, y, weight, pos_weight, reduction):
        xp = get_array_module(x)
        log1p_e = xp.log1p(xp.exp(-abs(x)))
        softplus_pos = xp.maximum(x, 0) + log1p_e  # -log(1 - σ(x))
        softplus_neg = xp.maximum(-x, 0) + log1p_e  # -log σ(x)
        self.sigma = stable_sigmoid(x)
        self.y, self.weight, self.pos_weight, self.reduction = y, weight, pos_weight, reduction
        self.softplus_pos, self.softplus_neg = softplus_pos, softplus_neg
        pos = y * softplus_neg if pos_weight is None else pos_weight * y * softplus_neg
        loss = _weighted(pos + (1 - y) * softplus_pos, weight)
        self.shape = x.shape
        return _reduce(loss, reduction)

    def backward(self, g):
        xp = get_array_module(g)
        s, y = self.sigma, self.y
        scale = _weighted(_d_reduce(g, self.shape, self.reduction, xp), self.weight)
        if self.pos_weight is None:
            dx = s - y
        else:
            dx = self.pos_weight * y * (s - 1) + (1 - y) * s
        dy = None
        if self.needs_input_grad[1]:
            pw = 1 if self.pos_weight is None else self.pos_weight
            dy = xp.broadcast_to((pw * self.softplus_neg - self.softplus_pos) * scale, self.shape)
        return xp.broadcast_to(dx * scale, self.shape), dy


def _broadcasts_to(shape, target_shape) -> bool:
    try:
        return np.broadcast_shapes(shape, target_shape) == tuple(target_shape)
    except ValueError:
        return False


def _binary_args(input, target, weight, loss):
    if not isinstance(target, Tensor):
        target = _as_tensor(target, input)
    if target.dtype != input.dtype:  # differentiable cast: the target gets its gradient
        target = target.to(input.dtype)
    _check_same_shape(input, target, loss)
    w = None
    if weight is not None:
        w = (weight._data if isinstance(weight, Tensor)
             else get_array_module(input._data).asarray(weight, dtype=input.dtype))
        if not _broadcasts_to(w.shape, input.shape):
            raise LossArgumentError(
                f"{loss}: weight of shape {tuple(w.shape)} does not broadcast to input "
                f"{tuple(input.shape)}"
            )
    return target, w


def binary_cross_entropy(input: Tensor, target, weight=None, reduction: str = "mean") -> Tensor:
    r"""Computes binary cross entropy between the target and input probabilities.

    $$\ell_i = -w_i \big[y_i \log p_i + (1 - y_i) \log(1 - p_i)\big], \qquad
      \frac{\partial \ell_i}{\partial p_i} = w_i \frac{p_i - y_i}{p_i (1 - p_i)},$$

    logs clamped to $\ge -100$ and $p(1 - p)$ floored at $10^{-12}$, as PyTorch; the target gets
    its gradient too (see `BinaryCrossEntropy`). Prefer `binary_cross_entropy_with_logits`.

    Args:
        input: Probabilities $p$ in [0, 1].
        target: Targets $y$ in [0, 1], of the same shape.
        weight: Optional weights $w$ that broadcast to ``input``.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"``.

    Returns:
        A scalar, or the per-element losses for ``"none"``.
    """
    _check_reduction(reduction, "binary_cross_entropy")
    target, w = _binary_args(input, target, weight, "binary_cross_entropy")
    p = input._data
    # not min(initial=...): CuPy has no `initial`; one host sync on a GPU, so opt-in there
    if p.size and backend.value_checks(p) and not ((p >= 0) & (p <= 1)).all():
        lo, hi = float(p.min()), float(p.max())
        raise LossArgumentError(
            f"binary_cross_entropy: input must be probabilities in [0, 1], got values in "
            f"[{lo:g}, {hi:g}] (pass logits to binary_cross_entropy_with_logits instead)"
        )
    return BinaryCrossEntropy.apply(input, target, weight=w, reduction=reduction)


def binary_cross_entropy_with_logits(
    input: Tensor, target, weight=None, reduction: str = "mean", pos_weight=None,
) -> Tensor:
    r"""Computes binary cross entropy between target and input logits (a sigmoid fused in, stably).

    $$\ell_i = w_i \big[\pi\, y_i\, \mathrm{sp}(-x_i) + (1 - y_i)\, \mathrm{sp}(x_i)\big], \qquad
      \frac{\partial \ell_i}{\partial x_i} = w_i [\pi y_i (\sigma(x_i) - 1) + (1 - y_i) \sigma(x_i)],$$

    with the softplus $\mathrm{sp}(x) = \max(x, 0) + \log(1 + e^{-|x|})$, which never overflows;
    with $\pi = 1$ the gradient is $w_i(\sigma(x_i) - y_i)$. The target gets its gradient (`BCEWithLogits`).

    Args:
        input: Logits $x$.
        target: Targets $y$ in [0, 1], of the same shape.
        weight: Optional weights $w$ that broadcast to ``input``.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"``.
        pos_weight: $\pi$, weights of the positive term (one per class, along the last dim).

    Returns:
        A scalar, or the per-element losses for ``"none"``.
    """
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    target, w = _binary_args(input, target, weight, "binary_cross_entropy_with_logits")
    pw = None
    if pos_weight is not None:
        pw = (pos_weight._data if isinstance(pos_weight, Tensor)
              else get_array_module(input._data).asarray(pos_weight))
        pw = pw.astype(input.dtype, copy=False)
        if not _broadcasts_to(pw.shape, input.shape):
            raise LossArgumentError(
                f"binary_cross_entropy_with_logits: pos_weight of shape {tuple(pw.shape)} does "
                f"not broadcast to input {tuple(input.shape)}"
            )
    return BCEWithLogits.apply(input, target, weight=w, pos_weight=pw, reduction=reduction)


# ============================================================================ robust regression losses


def _check_broadcast(shapes, names, loss):
    """The broadcast shape of the arguments, or a LossArgumentError naming them and their shapes."""
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        listed = ", ".join(f"{n} {tuple(s)}" for n, s in zip(names, shapes))
        raise LossArgumentError(f"{loss}: the shapes of {listed} do not broadcast") from None


class SmoothL1Loss(Function):
    r"""Smooth L1 (Girshick, *Fast R-CNN*, 2015): quadratic near 0, linear beyond $\beta$.

    With $d_i = x_i - y_i$:

    $$\ell_i = \begin{cases} \tfrac{1}{2} d_i^2 / \beta & |d_i| < \beta \\
      |d_i| - \tfrac{1}{2}\beta & \text{otherwise} \end{cases}, \qquad
      \frac{\partial \ell_i}{\partial x_i} = \begin{cases} d_i / \beta & |d_i| < \beta \\
      \operatorname{sign}(d_i) & \text{otherwise} \end{cases} = -\frac{\partial \ell_i}{\partial y_i}.$$

    $\beta = 0$ is the L1 loss.
    """

    def forward(self, x, y, reduction, beta):
        xp = get_array_module(x)
        d = x - y
        ad = abs(d)
        if beta == 0:
            loss, self.dl = ad, xp.sign(d)
        else:
            small = ad < beta
            loss = xp.where(small, 0.5 * d * d / beta, ad - 0.5 * beta)
            self.dl = xp.where(small, d / beta, xp.sign(d))
        self.reduction = reduction
        return _reduce(loss, reduction)

    def backward(self, g):
        dx = self.dl * _d_reduce(g, self.dl.shape, self.reduction, get_array_module(g))
        return dx, -dx


def smooth_l1_loss(input: Tensor, target, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    r"""Computes the Smooth L1 loss (Girshick, 2015): quadratic near 0, linear beyond $\beta$.

    $$\ell_i = \begin{cases} \tfrac{1}{2} d_i^2 / \beta & |d_i| < \beta \\
      |d_i| - \tfrac{1}{2}\beta & \text{otherwise} \end{cases}, \qquad
      \frac{\partial \ell_i}{\partial x_i} = \begin{cases} d_i / \beta & |d_i| < \beta \\
      \operatorname{sign}(d_i) & \text{otherwise} \end{cases}$$

    with $d_i = x_i - y_i$ (and $\partial \ell_i / \partial y_i = -\partial \ell_i / \partial x_i$).

    Args:
        input: Predictions $x$, any shape.
        target: Targets $y$ of the same shape (a Tensor, array or number).
        reduction: ``"mean"`` | ``"sum"`` | ``"none"``.
        beta: Where the loss turns from quadratic to linear; ``>= 0`` (0 is the L1 loss).
    """
    _check_reduction(reduction, "smooth_l1_loss")
    if beta < 0:
        raise LossArgumentError(f"smooth_l1_loss: does not support negative values for beta, got {beta}")
    target = _as_tensor(target, input)
    _check_same_shape(input, target, "smooth_l1_loss")
    return SmoothL1Loss.apply(input, target, reduction=reduction, beta=float(beta))


class HuberLoss(Function):
    r"""Huber loss (Huber, 1964): quadratic near 0, linear with slope $\delta$ beyond it.

    With $d_i = x_i - y_i$:

    $$\ell_i = \begin{cases} \tfrac{1}{2} d_i^2 & |d_i| < \delta \\
      \delta\,(|d_i| - \tfrac{1}{2}\delta) & \text{otherwise} \end{cases}, \qquad
      \frac{\partial \ell_i}{\partial x_i} = \begin{cases} d_i & |d_i| < \delta \\
      \delta\operatorname{sign}(d_i) & \text{otherwise} \end{cases} = -\frac{\partial \ell_i}{\partial y_i}.$$

    ``huber_loss(x, y, delta=b) == b * smooth_l1_loss(x, y, beta=b)``.
    """

    def forward(self, x, y, reduction, delta):
        xp = get_array_module(x)
        d = x - y
        ad = abs(d)
        small = ad < delta
        self.dl, self.reduction = xp.where(small, d, delta * xp.sign(d)), reduction
        return _reduce(xp.where(small, 0.5 * d * d, delta * (ad - 0.5 * delta)), reduction)

    def backward(self, g):
        dx = self.dl * _d_reduce(g, self.dl.shape, self.reduction, get_array_module(g))
        return dx, -dx


def huber_loss(input: Tensor, target, reduction: str = "mean", delta: float = 1.0,
               weight=None) -> Tensor:
    """Huber loss, as ``torch.nn.functional.huber_loss`` (formula in `HuberLoss`).

    Args:
        input: predictions, any shape.
        target: same shape as ``input``.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"``.
        delta: where the loss turns from quadratic to linear; ``> 0``.
        weight: optional per-element weights of the input's shape: the loss is
            $w_i \\ell_i$, then reduced (``"mean"`` is the plain mean, as PyTorch).
    """
    _check_reduction(reduction, "huber_loss")
    if delta <= 0:
        raise LossArgumentError(f"huber_loss: does not support non-positive values for delta, got {delta}")
    target = _as_tensor(target, input)
    _check_same_shape(input, target, "huber_loss")
    if weight is None:
        return HuberLoss.apply(input, target, reduction=reduction, delta=float(delta))
    weight = _as_tensor(weight, input)
    if weight.shape != input.shape:
        raise ValueError(f"huber_loss: weights and input must have the same size, got weight "
                         f"{tuple(weight.shape)} and input {tuple(input.shape)}")
    weighted = HuberLoss.apply(input, target, reduction="none", delta=float(delta)) * weight
    return {"mean": weighted.mean, "sum": weighted.sum}[reduction]() if reduction != "none" else weighted


# ============================================================================ likelihood losses


def _reduce_kl(loss, reduction, batch):
    return loss.sum() / batch if reduction == "batchmean" else _reduce(loss, reduction)


class KLDiv(Function):
    r"""Kullback-Leibler divergence $\mathrm{KL}(y \,\|\, p)$ of log-probabilities $x = \log p$.

    $$\ell_i = y_i (\log y_i - x_i) \quad (0 \text{ where } y_i = 0), \qquad
      \frac{\partial \ell_i}{\partial x_i} = -y_i, \qquad
      \frac{\partial \ell_i}{\partial y_i} = \log y_i + 1 - x_i .$$

    With ``log_target=True`` the target is $t = \log y$ too:
    $\ell_i = e^{t_i}(t_i - x_i)$, $\partial \ell_i/\partial x_i = -e^{t_i}$,
    $\partial \ell_i/\partial t_i = e^{t_i}(t_i - x_i + 1)$.

    ``batchmean`` divides the sum by the batch size (``input.shape[0]``): the true KL
    divergence per sample; ``mean`` divides by the number of elements. Where $y_i = 0$
    the target's gradient is 0 here (PyTorch gives NaN, from $0/0$ in ``xlogy``).
    """

    broadcasts = True

    def forward(self, x, t, reduction, log_target):
        xp = get_array_module(x)
        self.x, self.t, self.reduction, self.log_target = x, t, reduction, log_target
        self.batch = x.shape[0] if x.ndim else 1
        if log_target:
            self.et = xp.exp(t)
            loss = self.et * (t - x)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                self.log_t = xp.log(xp.where(t > 0, t, 1))  # log y, 0 where y = 0 (y log y -> 0)
            self.log_t = xp.where(t < 0, xp.nan, self.log_t)  # negative "probabilities": NaN, as xlogy
            loss = t * self.log_t - t * x
        self.shape = loss.shape
        return _reduce_kl(loss, reduction, self.batch)

    def backward(self, g):
        xp = get_array_module(g)
        if self.reduction == "batchmean":
            scale = xp.broadcast_to(g / self.batch, self.shape)
        else:
            scale = _d_reduce(g, self.shape, self.reduction, xp)
        x, t = self.x, self.t
        if self.log_target:
            dx = -self.et * scale
            dt = self.et * (t - x + 1) * scale if self.needs_input_grad[1] else None
        else:
            dx = -t * scale
            dt = xp.where(t != 0, self.log_t + 1 - x, 0) * scale if self.needs_input_grad[1] else None
        return dx, dt


def kl_div(input: Tensor, target, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """KL divergence loss, as ``torch.nn.functional.kl_div`` (formula in `KLDiv`).

    Args:
        input: log-probabilities $\\log p$ (e.g. ``log_softmax`` output).
        target: probabilities $y$ (or $\\log y$ with ``log_target=True``); broadcasts with input.
        reduction: ``"mean"`` | ``"batchmean"`` | ``"sum"`` | ``"none"``; ``"batchmean"`` is
            the KL divergence's definition (``"mean"`` is PyTorch's default, kept for compatibility).
        log_target: the target is given in log space.
    """
    if reduction not in _REDUCTIONS + ("batchmean",):
        raise ValueError(f"kl_div: reduction must be 'mean', 'batchmean', 'sum' or 'none', "
                         f"got {reduction!r}")
    target = _as_tensor(target, input)
    _check_broadcast((input.shape, target.shape), ("input", "target"), "kl_div")
    return KLDiv.apply(input, target, reduction=reduction, log_target=bool(log_target))


class PoissonNLLLoss(Function):
    r"""Negative log-likelihood of a Poisson target $y$ with rate $\lambda$ (constant $\log y!$ dropped).

    With ``log_input=True`` the input is $x = \log\lambda$:
    $\ell_i = e^{x_i} - y_i x_i$, $\partial\ell_i/\partial x_i = e^{x_i} - y_i$,
    $\partial\ell_i/\partial y_i = -x_i$.
    Otherwise $x = \lambda$:
    $\ell_i = x_i - y_i \log(x_i + \epsilon)$, $\partial\ell_i/\partial x_i = 1 - y_i/(x_i + \epsilon)$,
    $\partial\ell_i/\partial y_i = -\log(x_i + \epsilon)$.

    ``full=True`` adds Stirling's approximation of $\log y!$ where $y_i > 1$:
    $y_i \log y_i - y_i + \tfrac{1}{2}\log(2\pi y_i)$, whose derivative is $\log y_i + 1/(2 y_i)$.
    """

    broadcasts = True

    def forward(self, x, y, reduction, log_input, full, eps):
        xp = get_array_module(x)
        self.reduction = reduction
        if log_input:
            ex = xp.exp(x)
            loss = ex - y * x
            self.dx, self.dy = ex - y, -x
        else:
            log_x = xp.log(x + eps)
            loss = x - y * log_x
            self.dx, self.dy = 1 - y / (x + eps), -log_x
        if full:
            big = y > 1
            y_safe = xp.where(big, y, 1)
            log_y = xp.log(y_safe)
            loss = loss + xp.where(big, y_safe * log_y - y_safe + 0.5 * xp.log(2 * np.pi * y_safe), 0)
            self.dy = self.dy + xp.where(big, log_y + 0.5 / y_safe, 0)
        self.shape = loss.shape
        return _reduce(loss, reduction)

    def backward(self, g):
        scale = _d_reduce(g, self.shape, self.reduction, get_array_module(g))
        return self.dx * scale, (self.dy * scale if self.needs_input_grad[1] else None)


def poisson_nll_loss(input: Tensor, target, log_input: bool = True, full: bool = False,
                     eps: float = 1e-8, reduction: str = "mean") -> Tensor:
    """Poisson negative log-likelihood, as ``torch.nn.functional.poisson_nll_loss``
    (formula in `PoissonNLLLoss`).

    Args:
        input: the log-rate $\\log\\lambda$ (``log_input=True``) or the rate $\\lambda$.
        target: counts $y \\ge 0$; broadcasts with input.
        log_input: the input is the log of the rate.
        full: add the Stirling term for $\\log y!$ (where $y > 1$).
        eps: added to the rate before its log when ``log_input=False``.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"``.
    """
    _check_reduction(reduction, "poisson_nll_loss")
    target = _as_tensor(target, input)
    _check_broadcast((input.shape, target.shape), ("input", "target"), "poisson_nll_loss")
    return PoissonNLLLoss.apply(input, target, reduction=reduction, log_input=bool(log_input),
                                full=bool(full), eps=float(eps))


class GaussianNLLLoss(Function):
    r"""Negative log-likelihood of a Gaussian target $y$ with mean $x$ and variance $v$
    (Nix & Weigend, 1994):

    $$\ell_i = \tfrac{1}{2}\Big(\log v_i + \frac{(x_i - y_i)^2}{v_i}\Big)
      \;\big[+ \tfrac{1}{2}\log 2\pi \text{ if full}\big],$$

    $$\frac{\partial \ell_i}{\partial x_i} = \frac{x_i - y_i}{v_i} = -\frac{\partial \ell_i}{\partial y_i},
      \qquad \frac{\partial \ell_i}{\partial v_i}
      = \frac{1}{2}\Big(\frac{1}{v_i} - \frac{(x_i - y_i)^2}{v_i^2}\Big).$$

    $v$ is clamped to $\ge \epsilon$ for stability; as in PyTorch the clamp is not
    differentiated (the gradient above, at the clamped $v$, flows to $v$ unchanged).
    """

    broadcasts = True

    def forward(self, x, y, v, reduction, full, eps):
        xp = get_array_module(x)
        v = xp.maximum(v, eps)
        d = x - y
        loss = 0.5 * (xp.log(v) + d * d / v)
        if full:
            loss = loss + 0.5 * math.log(2 * math.pi)
        self.dx, self.dv = d / v, 0.5 * (1 / v - d * d / (v * v))
        self.shape, self.reduction = loss.shape, reduction
        return _reduce(loss, reduction)

    def backward(self, g):
        scale = _d_reduce(g, self.shape, self.reduction, get_array_module(g))
        dx = self.dx * scale
        return dx, -dx, self.dv * scale


def gaussian_nll_loss(input: Tensor, target, var, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """Gaussian negative log-likelihood, as ``torch.nn.functional.gaussian_nll_loss``
    (formula in `GaussianNLLLoss`).

    Args:
        input: the predicted means, (N, *).
        target: the observations, broadcasting with ``input``.
        var: the predicted variances: the input's shape, or one dim short of it
            (one variance per sample), or with last dim 1 (homoscedastic); or a float.
        full: add the constant $\\tfrac{1}{2}\\log 2\\pi$.
        eps: the variance is clamped to at least ``eps``.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"``.

    Raises:
        ValueError: ``var`` of a shape that does not fit, or with a negative entry (as PyTorch).
    """
    _check_reduction(reduction, "gaussian_nll_loss")
    target = _as_tensor(target, input)
    if not isinstance(var, Tensor):
        var = Tensor._wrap(get_array_module(input._data).full(input.shape, var, dtype=input.dtype))
    if var.shape != input.shape:
        if var.shape == input.shape[:-1]:
            var = var.reshape(var.shape + (1,))  # one variance per sample, shared by the last dim
        elif not (var.shape[:-1] == input.shape[:-1] and var.shape[-1:] == (1,)):
            raise ValueError(f"gaussian_nll_loss: var is of incorrect size: {tuple(var.shape)} "
                             f"for input {tuple(input.shape)}")
    if var._data.size and backend.value_checks(var._data) and bool((var._data < 0).any()):
        raise ValueError("gaussian_nll_loss: var has negative entry/entries")
    _check_broadcast((input.shape, target.shape, var.shape), ("input", "target", "var"),
                     "gaussian_nll_loss")
    return GaussianNLLLoss.apply(input, target, var, reduction=reduction, full=bool(full),
                                 eps=float(eps))


# ============================================================================ margin (embedding) losses


class MarginRankingLoss(Function):
    r"""$\ell_i = \max(0, -y_i (x_{1,i} - x_{2,i}) + m)$ for labels $y_i = \pm 1$ (which input ranks higher).

    Where the hinge is active ($-y_i(x_{1,i} - x_{2,i}) + m \ge 0$, PyTorch's convention at 0):
    $\partial\ell_i/\partial x_{1,i} = -y_i$, $\partial\ell_i/\partial x_{2,i} = y_i$,
    $\partial\ell_i/\partial y_i = -(x_{1,i} - x_{2,i})$; elsewhere all are 0.
    """

    broadcasts = True

    def forward(self, x1, x2, y, margin, reduction):
        xp = get_array_module(x1)
        diff = x1 - x2
        z = -y * diff + margin
        active = (z >= 0).astype(z.dtype)
        self.dx1, self.dy = -y * active, -diff * active
        self.shape, self.reduction = z.shape, reduction
        return _reduce(xp.maximum(z, 0), reduction)

    def backward(self, g):
        scale = _d_reduce(g, self.shape, self.reduction, get_array_module(g))
        dx1 = self.dx1 * scale
        return dx1, -dx1, (self.dy * scale if self.needs_input_grad[2] else None)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target, margin: float = 0.0,
                        reduction: str = "mean") -> Tensor:
    """Margin ranking loss, as ``torch.nn.functional.margin_ranking_loss``
    (formula in `MarginRankingLoss`).

    Args:
        input1: scores, (N) or ().
        input2: scores of the same number of dims.
        target: $\\pm 1$: 1 if ``input1`` should rank higher, -1 if ``input2``.
        margin: the margin $m$.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"``.
    """
    _check_reduction(reduction, "margin_ranking_loss")
    target = _as_tensor(target, input1)
    if input1.ndim != input2.ndim or input1.ndim != target.ndim:
        raise LossArgumentError(
            f"margin_ranking_loss: all input tensors should have the same number of dims, got "
            f"input1 {tuple(input1.shape)}, input2 {tuple(input2.shape)}, target {tuple(target.shape)}")
    _check_broadcast((input1.shape, input2.shape, target.shape), ("input1", "input2", "target"),
                     "margin_ranking_loss")
    if target.dtype != input1.dtype:
        target = target.to(input1.dtype)
    return MarginRankingLoss.apply(input1, input2, target, margin=float(margin), reduction=reduction)


class HingeEmbeddingLoss(Function):
    r"""For labels $y_i = \pm 1$ (similar / dissimilar pairs, $x_i$ e.g. a distance):

    $$\ell_i = \begin{cases} x_i & y_i = 1 \\ \max(0, m - x_i) & y_i = -1 \end{cases}, \qquad
      \frac{\partial \ell_i}{\partial x_i}
      = \begin{cases} 1 & y_i = 1 \\ -[m - x_i \ge 0] & y_i = -1. \end{cases}$$

    As PyTorch, a label that is neither 1 nor -1 counts in both terms. The labels get no gradient.
    """

    broadcasts = True

    def forward(self, x, y, margin, reduction):
        xp = get_array_module(x)
        z = margin - x
        not_pos, not_neg = y != 1, y != -1
        loss = xp.where(not_pos, xp.maximum(z, 0), 0) + xp.where(not_neg, x, 0)
        self.dx = not_neg.astype(x.dtype) - (not_pos & (z >= 0)).astype(x.dtype)
        self.shape, self.reduction = loss.shape, reduction
        return _reduce(loss, reduction)

    def backward(self, g):
        scale = _d_reduce(g, self.shape, self.reduction, get_array_module(g))
        return self.dx * scale, None


def hinge_embedding_loss(input: Tensor, target, margin: float = 1.0,
                         reduction: str = "mean") -> Tensor:
    """Hinge embedding loss, as ``torch.nn.functional.hinge_embedding_loss``
    (formula in `HingeEmbeddingLoss`).

    Args:
        input: any shape (e.g. pairwise distances).
        target: labels $\\pm 1$, broadcasting with ``input``.
        margin: the margin $m$.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"``.
    """
    _check_reduction(reduction, "hinge_embedding_loss")
    target = _as_tensor(target, input)
    _check_broadcast((input.shape, target.shape), ("input", "target"), "hinge_embedding_loss")
    return HingeEmbeddingLoss.apply(input, target, margin=float(margin), reduction=reduction)


_COSINE_EPS = 1e-12  # PyTorch's EPSILON in cosine_embedding_loss


class CosineEmbeddingLoss(Function):
    r"""For pairs $(a_n, b_n)$ and labels $y_n = \pm 1$, with
    $\cos_n = a_n\!\cdot b_n / \sqrt{(\|a_n\|^2 + \epsilon)(\|b_n\|^2 + \epsilon)}$, $\epsilon = 10^{-12}$:

    $$\ell_n = \begin{cases} 1 - \cos_n & y_n = 1 \\ \max(0, \cos_n - m) & y_n = -1 \end{cases}$$

    (0 for any other label). With $D = \sqrt{(\|a\|^2+\epsilon)(\|b\|^2+\epsilon)}$:
    $\partial \cos/\partial a = b / D - \cos\, a / (\|a\|^2 + \epsilon)$ (and symmetrically for $b$),
    times $\partial\ell/\partial\cos = -1$ ($y = 1$) or $[\cos - m \ge 0]$ ($y = -1$).
    """

    def forward(self, a, b, y, margin, reduction):
        xp = get_array_module(a)
        dot = (a * b).sum(axis=-1)
        ma = (a * a).sum(axis=-1) + _COSINE_EPS
        mb = (b * b).sum(axis=-1) + _COSINE_EPS
        denom = xp.sqrt(ma * mb)
        cos = dot / denom
        pos, neg = y == 1, y == -1
        loss = xp.where(pos, 1 - cos, 0) + xp.where(neg, xp.maximum(cos - margin, 0), 0)
        self.dcos = -pos.astype(a.dtype) + (neg & (cos - margin >= 0)).astype(a.dtype)
        self.a, self.b, self.cos, self.ma, self.mb, self.denom = a, b, cos, ma, mb, denom
        self.shape, self.reduction = loss.shape, reduction
        return _reduce(loss, reduction)

    def backward(self, g):
        s = (self.dcos * _d_reduce(g, self.shape, self.reduction, get_array_module(g)))[..., None]
        cos, denom = self.cos[..., None], self.denom[..., None]
        da = s * (self.b / denom - cos * self.a / self.ma[..., None])
        db = s * (self.a / denom - cos * self.b / self.mb[..., None])
        return da, db, None


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target, margin: float = 0.0,
                          reduction: str = "mean") -> Tensor:
    """Cosine embedding loss, as ``torch.nn.functional.cosine_embedding_loss``
    (formula in `CosineEmbeddingLoss`).

    Args:
        input1: embeddings (N, D), or (D) for one pair.
        input2: embeddings of the same shape.
        target: labels $\\pm 1$, (N) or ().
        margin: the margin $m$ for dissimilar pairs (PyTorch suggests 0 to 0.5).
        reduction: ``"mean"`` | ``"sum"`` | ``"none"``.
    """
    name = "cosine_embedding_loss"
    _check_reduction(reduction, name)
    target = _as_tensor(target, input1)
    if target.ndim not in (0, 1):
        raise LossArgumentError(f"{name}: 0-d or 1-d target expected (multi-target not supported), "
                                f"got target {tuple(target.shape)}")
    want = target.ndim + 1
    if input1.ndim != want or input2.ndim != want:
        raise LossArgumentError(
            f"{name}: a {target.ndim}-d target expects {want}-d inputs, got input1 "
            f"{tuple(input1.shape)} and input2 {tuple(input2.shape)}")
    if input1.shape != input2.shape or input1.shape[:-1] != target.shape:
        raise LossArgumentError(
            f"{name}: input1 {tuple(input1.shape)}, input2 {tuple(input2.shape)} and target "
            f"{tuple(target.shape)} do not match (expected (N, D), (N, D), (N))")
    return CosineEmbeddingLoss.apply(input1, input2, target, margin=float(margin), reduction=reduction)


def _pnorm(v, p):
    """$\\|v\\|_p$ over the last axis and its derivative $\\operatorname{sign}(v)|v|^{p-1} / \\|v\\|_p^{p-1}$
    (0 where the norm is 0, as PyTorch)."""
    xp = get_array_module(v)
    av = abs(v)
    norm = (av ** p).sum(axis=-1) ** (1 / p)
    safe = xp.where(norm > 0, norm, 1)[..., None]
    grad = xp.sign(v) * (av / safe) ** (p - 1)
    return norm, xp.where(norm[..., None] > 0, grad, 0)


class TripletMarginLoss(Function):
    r"""Triplet loss (Schroff et al., *FaceNet*, 2015; Balntas et al., 2016 for ``swap``):

    $$\ell_n = \max\big(0,\ m + d(a_n, p_n) - d(a_n, q_n)\big), \qquad
      d(u, v) = \|u - v + \epsilon\|_p = \Big(\sum_j |u_j - v_j + \epsilon|^p\Big)^{1/p}$$

    for anchors $a$, positives $p$ and negatives $q$ (the $\epsilon$ is added to the
    difference, as PyTorch's ``pairwise_distance``). With ``swap``, $d(a, q)$ is replaced by
    $\min(d(a, q), d(p, q))$. With $\nabla\|w\|_p = \operatorname{sign}(w)|w|^{p-1}/\|w\|_p^{p-1}$,
    where the hinge is active: $\partial\ell/\partial a = \nabla d(a,p) - \nabla d(a,q)$,
    $\partial\ell/\partial p = -\nabla d(a,p)$, $\partial\ell/\partial q = \nabla d(a,q)$
    (each $\nabla$ taken at $w = u - v + \epsilon$; the swapped distance routes its share to $p, q$).
    """

    def forward(self, a, pos, neg, margin, p, eps, swap, reduction):
        xp = get_array_module(a)
        d_pos, self.g_pos = _pnorm(a - pos + eps, p)
        d_neg, self.g_neg = _pnorm(a - neg + eps, p)
        self.use_swap = None
        if swap:
            d_swap, self.g_swap = _pnorm(pos - neg + eps, p)
            self.use_swap = d_swap < d_neg
            d_neg = xp.where(self.use_swap, d_swap, d_neg)
        z = margin + d_pos - d_neg
        self.active = (z >= 0).astype(a.dtype)
        self.shape, self.reduction = z.shape, reduction
        return _reduce(xp.maximum(z, 0), reduction)

    def backward(self, g):
        xp = get_array_module(g)
        s = (self.active * _d_reduce(g, self.shape, self.reduction, xp))[..., None]
        d_ap, d_aq = s * self.g_pos, s * self.g_neg  # the hinge's gradient through d(a,p), d(a,q)
        if self.use_swap is None:
            return d_ap - d_aq, -d_ap, d_aq
        swapped = self.use_swap[..., None]  # these rows used d(p, q) instead of d(a, q)
        d_aq = xp.where(swapped, 0, d_aq)
        d_pq = xp.where(swapped, s * self.g_swap, 0)
        return d_ap - d_aq, -d_ap - d_pq, d_aq + d_pq


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0,
                        p: float = 2, eps: float = 1e-6, swap: bool = False,
                        reduction: str = "mean") -> Tensor:
    """Triplet margin loss, as ``torch.nn.functional.triplet_margin_loss``
    (formula in `TripletMarginLoss`).

    Args:
        anchor: embeddings (N, D), or (D) for one triplet.
        positive: embeddings of the same class, same shape.
        negative: embeddings of another class, same shape.
        margin: the margin $m$.
        p: the norm's degree (> 0, finite).
        eps: added to each difference before its norm.
        swap: use the distance swap (Balntas et al., 2016).
        reduction: ``"mean"`` | ``"sum"`` | ``"none"``.
    """
    name = "triplet_margin_loss"
    _check_reduction(reduction, name)
    if not (anchor.ndim == positive.ndim == negative.ndim):
        raise LossArgumentError(
            f"{name}: the anchor, positive, and negative tensors are expected to have the same "
            f"number of dimensions, but got: anchor {anchor.ndim}D {tuple(anchor.shape)}, positive "
            f"{positive.ndim}D {tuple(positive.shape)}, and negative {negative.ndim}D "
            f"{tuple(negative.shape)} inputs")
    if anchor.ndim not in (1, 2) or not (anchor.shape == positive.shape == negative.shape):
        raise LossArgumentError(
            f"{name}: expected anchor, positive and negative of one shape (N, D) or (D), got "
            f"{tuple(anchor.shape)}, {tuple(positive.shape)}, {tuple(negative.shape)}")
    if not (0 < p < math.inf):
        raise NotImplementedError(f"{name}: p must be a finite positive number, got {p}")
    return TripletMarginLoss.apply(anchor, positive, negative, margin=float(margin), p=float(p),
                                   eps=float(eps), swap=bool(swap), reduction=reduction)


# ============================================================================ CTC


def _logsumexp3(a, b, c):
    """log(e^a + e^b + e^c) elementwise, exact for -inf entries (no warnings)."""
    m = np.maximum(np.maximum(a, b), c)
    m_safe = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):
        return m_safe + np.log(np.exp(a - m_safe) + np.exp(b - m_safe) + np.exp(c - m_safe))


def _ctc_alpha_beta(lp, label, blank):
    """The log-space forward and backward variables of one sequence.

    ``lp`` is (T, C) log-probabilities, ``label`` the target (S,). The extended label
    $l'$ puts a blank around every symbol (length $2S + 1$). $\\alpha_t(s)$ is the log-probability
    of the prefixes of $l'$ up to $s$ in frames $0..t$, $\\beta_t(s)$ that of the suffixes from
    $s$ in frames $t..T-1$ (both include frame $t$'s own $\\log y_{t, l'_s}$).
    """
    T = lp.shape[0]
    ext = np.full(2 * len(label) + 1, blank, dtype=np.int64)
    ext[1::2] = label
    n = len(ext)
    # the skip s-2 -> s is allowed into a symbol that differs from the symbol two back
    skip = np.zeros(n, dtype=bool)
    skip[2:] = (ext[2:] != blank) & (ext[2:] != ext[:-2])
    neg_inf = np.full(n, -np.inf)
    alpha = np.full((T, n), -np.inf)
    alpha[0, 0] = lp[0, blank]
    if n > 1:
        alpha[0, 1] = lp[0, ext[1]]
    for t in range(1, T):
        prev = alpha[t - 1]
        one = np.concatenate(([-np.inf], prev[:-1]))
        two = np.where(skip, np.concatenate(([-np.inf, -np.inf], prev[:-2]))[:n], neg_inf)  # n = 1: empty
        alpha[t] = lp[t, ext] + _logsumexp3(prev, one, two)
    beta = np.full((T, n), -np.inf)
    beta[T - 1, n - 1] = lp[T - 1, ext[n - 1]]
    if n > 1:
        beta[T - 1, n - 2] = lp[T - 1, ext[n - 2]]
    skip_from = np.zeros(n, dtype=bool)  # s -> s+2 allowed iff the skip into s+2 is
    skip_from[:-2] = skip[2:]
    for t in range(T - 2, -1, -1):
        nxt = beta[t + 1]
        one = np.concatenate((nxt[1:], [-np.inf]))
        two = np.where(skip_from, np.concatenate((nxt[2:], [-np.inf, -np.inf]))[:n], neg_inf)
        beta[t] = lp[t, ext] + _logsumexp3(nxt, one, two)
    log_p = np.logaddexp(alpha[T - 1, n - 1], alpha[T - 1, n - 2] if n > 1 else -np.inf)
    return ext, alpha, beta, log_p


class CTCLoss(Function):
    r"""Connectionist temporal classification (Graves et al., 2006) for one batch.

    For a sequence of $T$ frames with log-probabilities $\log y_{t,k}$ and a target $l$ of
    length $S$, let $l'$ be $l$ with a blank before, between and after its symbols. An
    alignment is a path $\pi$ through $l'$ (stay, step 1, or skip a blank between two
    different symbols), and the loss is $-\log p(l \mid x) = -\log \sum_\pi \prod_t y_{t,\pi_t}$.

    **Forward** (the alpha recursion, in log space):
    $\alpha_0(0) = \log y_{0,b}$, $\alpha_0(1) = \log y_{0,l'_1}$, and
    $$\alpha_t(s) = \log y_{t,l'_s} + \operatorname{logsumexp}\big(\alpha_{t-1}(s), \alpha_{t-1}(s-1),
      \alpha_{t-1}(s-2)\,[l'_s \ne b,\ l'_s \ne l'_{s-2}]\big),$$
    $\log p(l \mid x) = \operatorname{logsumexp}(\alpha_{T-1}(|l'|-1), \alpha_{T-1}(|l'|-2))$.
    $\beta$ is the same recursion run backwards from the last frame.

    **Backward** (the forward-backward formula): every path through $(t, s)$ has
    probability mass $e^{\alpha_t(s) + \beta_t(s)} / y_{t,l'_s}$, so

    $$\frac{\partial \ell}{\partial \log y_{t,k}} = -\frac{1}{p(l \mid x)}
      \sum_{s:\, l'_s = k} \frac{e^{\alpha_t(s) + \beta_t(s)}}{y_{t,k}}$$

    for $t$ below the input length (0 beyond it). This is the gradient with respect to
    the log-probabilities themselves. PyTorch's kernel returns it plus $y_{t,k}$, a term
    that cancels in the backward of the ``log_softmax`` that produces ``log_probs``;
    through ``log_softmax`` the two agree.
    """

    def forward(self, lp, targets, input_lengths, target_lengths, blank, reduction,
                zero_infinity):
        self.device = backend.device_of(lp)
        host = backend.to_device(lp, "cpu")  # the recursion runs on the host
        T, N, C = host.shape
        losses = np.zeros(N, dtype=np.float64)
        grad = np.zeros((T, N, C), dtype=np.float64)
        for n in range(N):
            t_n, label = int(input_lengths[n]), targets[n]
            if t_n == 0:
                losses[n] = 0.0 if len(label) == 0 else np.inf
                continue
            seq = host[:t_n, n].astype(np.float64)
            ext, alpha, beta, log_p = _ctc_alpha_beta(seq, label, blank)
            losses[n] = -log_p
            if not np.isfinite(log_p):
                grad[:t_n, n] = 0.0 if zero_infinity else np.nan
                continue
            log_ab = alpha + beta - seq[:, ext]  # log Σ_paths through (t, s)
            for k in np.unique(ext):
                grad[:t_n, n, k] = -np.exp(np.logaddexp.reduce(log_ab[:, ext == k], axis=1) - log_p)
        if zero_infinity:
            losses = np.where(np.isinf(losses), 0.0, losses)
        if reduction == "mean":  # each loss over its target length, then the batch mean
            weights = 1.0 / (N * np.maximum(np.asarray(target_lengths, dtype=np.float64), 1))
            out = (losses * weights).sum()
        elif reduction == "sum":
            weights, out = np.ones(N), losses.sum()
        else:
            weights, out = np.ones(N), losses
        # dℓ/d log y per sequence, and dL/dℓ_n up to g, kept on the input's device
        self.grad = backend.to_device((grad * weights[None, :, None]).astype(lp.dtype), self.device)
        self.reduction = reduction
        return backend.to_device(np.asarray(out, dtype=lp.dtype), self.device)

    def backward(self, g):
        if self.reduction == "none":
            return self.grad * g[None, :, None]
        return self.grad * g


def _host_ints(values):
    """A length or target argument (int, list, array or Tensor, on any device) as a NumPy array."""
    if isinstance(values, Tensor):
        values = values._data
    return backend.to_device(np.asarray(values) if isinstance(values, (int, list, tuple)) else values,
                             "cpu")


def ctc_loss(log_probs: Tensor, targets, input_lengths, target_lengths, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    r"""Computes the Connectionist Temporal Classification loss (Graves et al., 2006).

    $$\ell = -\log \sum_{\pi} \prod_t y_{t,\pi_t}, \qquad \frac{\partial \ell}{\partial \log y_{t,k}} =
      -\sum_{s:\, l'_s = k} \frac{e^{\alpha_t(s) + \beta_t(s)}}{p(l \mid x)\, y_{t,k}}$$

    over the alignments $\pi$ of the target with blanks, $l'$, to the frames (the recursions
    $\alpha$, $\beta$ are in `CTCLoss`; a NumPy loop over frames, for teaching, not for speed).

    Args:
        log_probs: (T, N, C) log-probabilities (``log_softmax(x, dim=2)``), or (T, C).
        targets: (N, S) padded, or concatenated (sum of ``target_lengths``), or (S); never ``blank``.
        input_lengths: (N) the number of frames of each sequence (<= T).
        target_lengths: (N) the length of each target.
        blank: The blank class.
        reduction: ``"mean"`` (each loss over its target length, then averaged), ``"sum"``, ``"none"``.
        zero_infinity: Give impossible alignments (infinite loss) loss 0 and gradient 0.
    """
    name = "ctc_loss"
    _check_reduction(reduction, name)
    if log_probs.ndim not in (2, 3):
        raise LossArgumentError(f"{name}: log_probs must be (T, N, C) or (T, C), got "
                                f"{tuple(log_probs.shape)}")
    unbatched = log_probs.ndim == 2
    lp = log_probs.reshape((log_probs.shape[0], 1, log_probs.shape[1])) if unbatched else log_probs
    T, N, C = lp.shape
    if not 0 <= blank < C:
        raise LossArgumentError(f"{name}: blank must be in label range [0, {C}), got {blank}")
    tgt = _host_ints(targets)
    if tgt.size and tgt.dtype.kind not in "iu":
        raise LossTargetTypeError(f"{name}: targets must be integer class indices, got dtype {tgt.dtype}")
    tgt = tgt.astype(np.int64)
    in_len = [int(v) for v in _host_ints(input_lengths).reshape(-1)]
    tg_len = [int(v) for v in _host_ints(target_lengths).reshape(-1)]
    if unbatched:
        tgt = tgt.reshape(1, -1)
    if len(in_len) != N:
        raise LossArgumentError(f"{name}: input_lengths must be of size batch_size {N}, got "
                                f"{len(in_len)} (log_probs {tuple(log_probs.shape)})")
    if len(tg_len) != N:
        raise LossArgumentError(f"{name}: target_lengths must be of size batch_size {N}, got "
                                f"{len(tg_len)} (log_probs {tuple(log_probs.shape)})")
    for t_n, s_n in zip(in_len, tg_len):
        if not 0 <= t_n <= T:
            raise LossArgumentError(f"{name}: expected input_lengths to have value at most {T} "
                                    f"(log_probs {tuple(log_probs.shape)}), but got value {t_n}")
        if s_n < 0:
            raise LossArgumentError(f"{name}: target_lengths must be >= 0, got {s_n}")
    if tgt.ndim == 2:
        if max(tg_len, default=0) > tgt.shape[1]:
            raise LossArgumentError(f"{name}: targets {tuple(tgt.shape)} are shorter than the "
                                    f"longest target length {max(tg_len)}")
        rows = [tgt[n, :s_n] for n, s_n in enumerate(tg_len)]
    elif tgt.ndim == 1 and tgt.shape[0] == sum(tg_len):
        ends = np.cumsum([0] + tg_len)
        rows = [tgt[ends[n]:ends[n + 1]] for n in range(N)]
    else:
        raise LossArgumentError(f"{name}: targets {tuple(tgt.shape)} must be (N, S) padded or the "
                                f"concatenation of target_lengths (sum {sum(tg_len)})")
    for row in rows:
        if row.size and (row.min() < 0 or row.max() >= C):
            raise IndexError(f"{name}: target values must be in [0, {C}), got min {row.min()}, "
                             f"max {row.max()}")
    out = CTCLoss.apply(lp, targets=rows, input_lengths=in_len, target_lengths=tg_len,
                        blank=int(blank), reduction=reduction, zero_infinity=bool(zero_infinity))
    return out.reshape(()) if unbatched and reduction == "none" else out
