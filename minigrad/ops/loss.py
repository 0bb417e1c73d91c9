"""Losses: each a fused Function (one forward, one backward) with its formula.

They sit on the hot path of every training step, so each computes its loss and
its gradient in one pass; the textbook formula is in each docstring, and a speed
trick (cross-entropy's softmax minus one-hot) is named where it is used. Every
loss takes ``reduction="mean" | "sum" | "none"`` as in PyTorch, and is re-exported
by ``minigrad.nn.functional`` (``F.cross_entropy`` ...), which layers and users call.
"""

from __future__ import annotations

import numpy as np

from minigrad import backend
from minigrad.backend import get_array_module
from minigrad.ops.stable import stable_softmax
from minigrad.tensor import Function, Tensor

__all__ = [
    "mse_loss", "l1_loss", "cross_entropy", "nll_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
]

_REDUCTIONS = ("mean", "sum", "none")


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
    """dL/dℓ_n for each row's loss ℓ_n under the reduction of :func:`_reduce` (weighted mean)."""
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
        raise ValueError(
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


def mse_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean squared error, ℓ = (1/n) Σ_i (x_i - y_i)² (``reduction="mean"``).

    ``input`` and ``target`` must have the same shape: (N, 1) against (N,) would
    broadcast to (N, N), a silent bug PyTorch only warns about.
    """
    _check_reduction(reduction, "mse_loss")
    target = _as_tensor(target, input)
    _check_same_shape(input, target, "mse_loss")
    return MSELoss.apply(input, target, reduction=reduction)


def l1_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean absolute error, ℓ = (1/n) Σ_i |x_i - y_i| (``reduction="mean"``)."""
    _check_reduction(reduction, "l1_loss")
    target = _as_tensor(target, input)
    _check_same_shape(input, target, "l1_loss")
    return L1Loss.apply(input, target, reduction=reduction)


# ============================================================================ classification losses


def _class_targets(input: Tensor, target, loss: str, ignore_index: int):
    """Check integer targets against (N, C, d1, ...) inputs; return the target array."""
    t = target._data if isinstance(target, Tensor) else get_array_module(input._data).asarray(target)
    if t.dtype.kind not in "iu":
        raise TypeError(
            f"{loss}: target must hold integer class indices (dtype int64), got dtype {t.dtype}; "
            "convert with target.long() (probability targets are not supported)"
        )
    if input.ndim < 1:
        raise ValueError(f"{loss}: input must have a class dimension, got shape {input.shape}")
    expected = input.shape[:1] + input.shape[2:] if input.ndim > 1 else ()
    if tuple(t.shape) != expected:
        if input.ndim >= 2 and t.ndim >= 1 and t.shape[0] != input.shape[0]:
            raise ValueError(
                f"{loss}: input {tuple(input.shape)} and target {tuple(t.shape)} disagree in "
                "batch size"
            )
        raise ValueError(
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
        raise ValueError(f"{loss}: weight must have shape ({n_classes},), got {tuple(w.shape)}")
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


def cross_entropy(
    input: Tensor, target, weight=None, ignore_index: int = -100, reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy between softmax(input) and integer class targets, as ``torch.nn.functional``.

    ``input``: logits (N, C) or (N, C, d1, ...) (or (C,) for one sample);
    ``target``: class indices (N) or (N, d1, ...), int64. ``weight`` (C,) rescales
    each class; targets equal to ``ignore_index`` contribute nothing;
    ``label_smoothing`` ε mixes the one-hot target with the uniform distribution
    (Szegedy et al., 2016). With no options, for N rows:

        ℓ = (1/N) Σ_n -log softmax(z_n)_{y_n} = (1/N) Σ_n (logsumexp(z_n) - z_{n,y_n})

    See :class:`CrossEntropy` for the weighted / smoothed formula and its gradient.
    """
    _check_reduction(reduction, "cross_entropy")
    if not 0 <= label_smoothing <= 1:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
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
    """Negative log-likelihood ℓ = (1/N) Σ_n -x_{n,y_n} of log-probabilities ``input``
    (e.g. the output of ``log_softmax``); shapes and options as :func:`cross_entropy`.
    ``cross_entropy(z, y) == nll_loss(log_softmax(z, dim=1), y)``.
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
    """ℓ_i = -w_i [y_i log p_i + (1 - y_i) log(1 - p_i)], each log clamped to >= -100.

    The clamp (PyTorch's) keeps ℓ finite when p is exactly 0 or 1.
    ∂ℓ/∂p = w (p - y) / (p (1 - p)), with p (1 - p) floored at 1e-12 as PyTorch does.
    """

    def forward(self, p, y, weight, reduction):
        xp = get_array_module(p)
        self.p, self.y, self.weight, self.reduction = p, y, weight, reduction
        with np.errstate(divide="ignore"):
            log_p = xp.maximum(xp.log(p), -100)
            log_1mp = xp.maximum(xp.log(1 - p), -100)
        return _reduce(_weighted(-(y * log_p + (1 - y) * log_1mp), weight), reduction)

    def backward(self, g):
        xp = get_array_module(g)
        p, y = self.p, self.y
        dp = (p - y) / xp.maximum(p * (1 - p), 1e-12)
        return _weighted(dp, self.weight) * _d_reduce(g, p.shape, self.reduction, xp)


class BCEWithLogits(Function):
    """ℓ_i = w_i [π y_i softplus(-x_i) + (1 - y_i) softplus(x_i)]  on logits x,
    with π = pos_weight (1 if absent) and softplus(x) = log(1 + e^x) = max(x, 0) + log(1 + e^-|x|),
    which never overflows. With π = 1 this is max(x, 0) - x y + log(1 + e^-|x|).

    ∂ℓ/∂x = w [π y (σ(x) - 1) + (1 - y) σ(x)]   (= w (σ(x) - y) when π = 1).
    """

    def forward(self, x, y, weight, pos_weight, reduction):
        xp = get_array_module(x)
        log1p_e = xp.log1p(xp.exp(-abs(x)))
        softplus_pos = xp.maximum(x, 0) + log1p_e  # -log(1 - σ(x))
        softplus_neg = xp.maximum(-x, 0) + log1p_e  # -log σ(x)
        e = xp.exp(-abs(x))
        self.sigma = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
        self.y, self.weight, self.pos_weight, self.reduction = y, weight, pos_weight, reduction
        pos = y * softplus_neg if pos_weight is None else pos_weight * y * softplus_neg
        loss = _weighted(pos + (1 - y) * softplus_pos, weight)
        self.shape = x.shape
        return _reduce(loss, reduction)

    def backward(self, g):
        xp = get_array_module(g)
        s, y = self.sigma, self.y
        if self.pos_weight is None:
            dx = s - y
        else:
            dx = self.pos_weight * y * (s - 1) + (1 - y) * s
        dx = _weighted(dx, self.weight) * _d_reduce(g, self.shape, self.reduction, xp)
        return xp.broadcast_to(dx, self.shape)


def _broadcasts_to(shape, target_shape) -> bool:
    try:
        return np.broadcast_shapes(shape, target_shape) == tuple(target_shape)
    except ValueError:
        return False


def _binary_args(input, target, weight, loss):
    if not isinstance(target, Tensor):
        target = _as_tensor(target, input)
    if target.dtype.kind not in "fc":
        target = Tensor._wrap(target._data.astype(input.dtype))
    _check_same_shape(input, target, loss)
    w = None
    if weight is not None:
        w = (weight._data if isinstance(weight, Tensor)
             else get_array_module(input._data).asarray(weight, dtype=input.dtype))
        if not _broadcasts_to(w.shape, input.shape):
            raise ValueError(
                f"{loss}: weight of shape {tuple(w.shape)} does not broadcast to input "
                f"{tuple(input.shape)}"
            )
    return target, w


def binary_cross_entropy(input: Tensor, target, weight=None, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities p = ``input`` in [0, 1] and targets y in [0, 1]:

        ℓ = (1/n) Σ_i -w_i [y_i log p_i + (1 - y_i) log(1 - p_i)]   (logs clamped to >= -100)

    Prefer :func:`binary_cross_entropy_with_logits` on logits: it is exact where
    sigmoid followed by log would round p to 0 or 1. The target gets no gradient.
    """
    _check_reduction(reduction, "binary_cross_entropy")
    target, w = _binary_args(input, target, weight, "binary_cross_entropy")
    p = input._data
    # not min(initial=...): CuPy has no `initial`; one host sync on a GPU, so opt-in there
    if p.size and backend.value_checks(p) and not ((p >= 0) & (p <= 1)).all():
        lo, hi = float(p.min()), float(p.max())
        raise ValueError(
            f"binary_cross_entropy: input must be probabilities in [0, 1], got values in "
            f"[{lo:g}, {hi:g}] (pass logits to binary_cross_entropy_with_logits instead)"
        )
    return BinaryCrossEntropy.apply(input, y=target._data, weight=w, reduction=reduction)


def binary_cross_entropy_with_logits(
    input: Tensor, target, weight=None, reduction: str = "mean", pos_weight=None,
) -> Tensor:
    """Sigmoid + binary cross-entropy on logits x, in the stable form

        ℓ = (1/n) Σ_i w_i [max(x_i, 0) - x_i y_i + log(1 + e^-|x_i|)]

    ``pos_weight`` π (broadcast along the last dim, one per class) multiplies the
    positive term: ℓ_i = w_i [π y_i softplus(-x_i) + (1 - y_i) softplus(x_i)], to
    trade recall against precision on imbalanced data. The target gets no gradient.
    """
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    target, w = _binary_args(input, target, weight, "binary_cross_entropy_with_logits")
    pw = None
    if pos_weight is not None:
        pw = (pos_weight._data if isinstance(pos_weight, Tensor)
              else get_array_module(input._data).asarray(pos_weight))
        pw = pw.astype(input.dtype, copy=False)
        if not _broadcasts_to(pw.shape, input.shape):
            raise ValueError(
                f"binary_cross_entropy_with_logits: pos_weight of shape {tuple(pw.shape)} does "
                f"not broadcast to input {tuple(input.shape)}"
            )
    return BCEWithLogits.apply(
        input, y=target._data, weight=w, pos_weight=pw, reduction=reduction,
    )
