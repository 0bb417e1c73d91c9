"""Tensors made from numbers, not from other tensors: ``eye``, ``linspace``, ``one_hot`` ...

None of these has a gradient (there is no input to differentiate with respect to);
``requires_grad=True`` makes the result a leaf, as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from minigrad import backend
from minigrad.tensor import Tensor, get_default_dtype


def _make(array, dtype, requires_grad, device) -> Tensor:
    """Wrap a NumPy array, cast to ``dtype`` (the default float dtype if None)."""
    dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
    out = Tensor._wrap(array.astype(dtype, copy=False))
    if device is not None and backend.normalize_device(device) != "cpu":
        out = out.to(device)
    if requires_grad:
        out.requires_grad_(True)
    return out


def eye(n: int, m: int | None = None, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    r"""Returns a 2-D tensor with ones on the diagonal and zeros elsewhere (`torch.eye`).

    $I_{ij} = [i = j]$ (1 if $i = j$, else 0) for $0 \le i < n$, $0 \le j < m$. No gradient flows
    into it; `requires_grad=True` makes the result a leaf.

    Args:
        n: the number of rows.
        m: the number of columns; `n` if None.
        dtype: the dtype; the default float dtype if None.
        device: the device (`"cpu"` if None).
        requires_grad: make the result a leaf that requires grad.

    Returns:
        An $n \times m$ Tensor.
    """
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"eye: n and m must be non-negative, got n={n}, m={m}")
    return _make(np.eye(n, n if m is None else m), dtype, requires_grad, device)


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    r"""Creates a 1-D tensor of `steps` values evenly spaced from `start` to `end` (`torch.linspace`).

    $x_i = \text{start} + i\,\frac{\text{end} - \text{start}}{\text{steps} - 1}$ for $0 \le i < \text{steps}$:
    both ends included (just `start` when $\text{steps} = 1$). No gradient flows into it;
    `requires_grad=True` makes the result a leaf.

    Args:
        start: the first value.
        end: the last value.
        steps: the number of values, $\ge 0$.
        dtype: the dtype; the default float dtype if None.
        device: the device (`"cpu"` if None).
        requires_grad: make the result a leaf that requires grad.

    Returns:
        A 1-D Tensor of `steps` elements.
    """
    if steps < 0:
        raise RuntimeError(f"linspace: number of steps must be non-negative, got {steps}")
    return _make(np.linspace(float(start), float(end), steps), dtype, requires_grad, device)


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, device=None,
             requires_grad=False) -> Tensor:
    r"""Creates a 1-D tensor of `steps` values evenly spaced on a log scale (`torch.logspace`).

    $y_i = \text{base}^{x_i}$ for the `linspace(start, end, steps)` points $x_i$: from
    $\text{base}^{\text{start}}$ to $\text{base}^{\text{end}}$. No gradient flows into it;
    `requires_grad=True` makes the result a leaf.

    Args:
        start: the first exponent.
        end: the last exponent.
        steps: the number of values, $\ge 0$.
        base: the base of the powers.
        dtype: the dtype; the default float dtype if None.
        device: the device (`"cpu"` if None).
        requires_grad: make the result a leaf that requires grad.

    Returns:
        A 1-D Tensor of `steps` elements.
    """
    if steps < 0:
        raise RuntimeError(f"logspace: number of steps must be non-negative, got {steps}")
    return _make(np.logspace(float(start), float(end), steps, base=base), dtype, requires_grad, device)


def _triangle_indices(op, row, col, offset, dtype, device):
    if row < 0 or col < 0:
        raise RuntimeError(f"{op}: row and col must be non-negative, got row={row}, col={col}")
    find = np.tril_indices if op == "tril_indices" else np.triu_indices
    rows, cols = find(row, offset, col)
    return _make(np.stack([rows, cols]), np.int64 if dtype is None else dtype, False, device)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None) -> Tensor:
    r"""Returns the indices of the lower triangle of a `row` × `col` matrix (`torch.tril_indices`).

    Every $(i, j)$ with $0 \le i < \text{row}$, $0 \le j < \text{col}$ and $j - i \le \text{offset}$,
    row by row: row 0 of the result holds the $i$, row 1 the $j$. Integer valued, not differentiable.

    Args:
        row: the number of rows.
        col: the number of columns.
        offset: the diagonal bounding the triangle: 0 the main one, $> 0$ above it, $< 0$ below.
        dtype: the dtype; int64 if None.
        device: the device (`"cpu"` if None).

    Returns:
        A Tensor of shape (2, N).
    """
    return _triangle_indices("tril_indices", row, col, offset, dtype, device)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None) -> Tensor:
    r"""Returns the indices of the upper triangle of a `row` × `col` matrix (`torch.triu_indices`).

    Every $(i, j)$ with $0 \le i < \text{row}$, $0 \le j < \text{col}$ and $j - i \ge \text{offset}$,
    row by row: row 0 of the result holds the $i$, row 1 the $j$. Integer valued, not differentiable.

    Args:
        row: the number of rows.
        col: the number of columns.
        offset: the diagonal bounding the triangle: 0 the main one, $> 0$ above it, $< 0$ below.
        dtype: the dtype; int64 if None.
        device: the device (`"cpu"` if None).

    Returns:
        A Tensor of shape (2, N).
    """
    return _triangle_indices("triu_indices", row, col, offset, dtype, device)


def one_hot(input: Tensor, num_classes: int = -1) -> Tensor:  # noqa: A002
    r"""Class indices of shape (...) as int64 one-hot rows of shape (..., num_classes):
    $y_{\dots c} = [x_{\dots} = c]$ (``torch.nn.functional.one_hot``).

    Integer valued, so not differentiable.

    Args:
        input: an integer tensor of class indices, any shape (PyTorch's docs call it
            `tensor`; its keyword is `input`).
        num_classes: the number of classes; -1 means one more than the largest index.

    Returns:
        An int64 Tensor of shape `input.shape + (num_classes,)`.

    Raises:
        RuntimeError: for a non-integer tensor or an index outside ``[0, num_classes)``,
            as PyTorch.
    """
    labels = input._data if isinstance(input, Tensor) else np.asarray(input)
    if labels.dtype.kind not in "iu":
        raise RuntimeError(f"one_hot: is only applicable to index tensors (integers), "
                           f"got dtype {labels.dtype}")
    if num_classes < 0:
        if labels.size == 0:
            raise RuntimeError("one_hot: can not infer the total number of classes from an empty tensor")
        num_classes = int(labels.max()) + 1
    if labels.size and labels.min() < 0:
        raise RuntimeError(f"one_hot: class values must be non-negative, got {int(labels.min())}")
    if labels.size and labels.max() >= num_classes:
        raise RuntimeError(
            f"one_hot: class values must be smaller than num_classes={num_classes}, got {int(labels.max())}"
        )
    xp = backend.get_array_module(labels)
    return Tensor._wrap((labels[..., None] == xp.arange(num_classes)).astype(np.int64))


__all__ = ["eye", "linspace", "logspace", "tril_indices", "triu_indices"]
