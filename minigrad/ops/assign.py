"""Writing values: ``x[index] = v``, ``fill_``, ``copy_``, ``clone``.

These are the differentiable *out-of-place* forms of assignment. The in-place
methods (``x[i] = v``, ``x.fill_(0)``, ``x.copy_(y)``, ``x.add_(y)``, ...) are one
mechanism in `Tensor._inplace`: it runs the out-of-place op below, writes
the result into ``x``'s memory and makes ``x`` the op's output in the graph, as
PyTorch records in-place ops.
"""

from __future__ import annotations

from minigrad.backend import get_array_module
from minigrad.ops._util import lift
from minigrad.ops.shape import _index_arrays, _split_integers
from minigrad.tensor import Function, Tensor


class SetItem(Function):
    r"""$y = x$ with $y[\text{index}] = v$ ($v$ broadcast to the shape of `x[index]`).

    Backward: the overwritten positions of ``x`` no longer influence ``y``, so
    $\partial L/\partial x = g$ with zeros at ``index``; each element of ``v``
    lands at its positions, so $\partial L/\partial v = g[\text{index}]$, summed
    over the copies broadcasting made (the engine's ``unbroadcast``).

    ``path`` is the index as a chain ``a[i1][i2]...``: one step, or two when an integer
    sits next to an index array (PyTorch applies the integers first; see ``getitem``).
    """

    broadcasts = True  # v's gradient arrives in the shape of x[index]

    def forward(self, x, v, path):
        self.path = path
        y = x.copy()
        _parent(y, path)[path[-1]] = v
        return y

    def backward(self, g):
        dx = None
        if self.needs_input_grad[0]:
            dx = g.copy()
            _parent(dx, self.path)[self.path[-1]] = 0
        dv = _parent(g, self.path)[self.path[-1]] if self.needs_input_grad[1] else None
        return dx, dv


def _parent(array, path):
    """``array[i1][i2]...`` up to the last step: a view (the earlier steps are basic indexes)."""
    for index in path[:-1]:
        array = array[index]
    return array


def setitem(x: Tensor, index, value) -> Tensor:
    r"""Returns a copy of `x` with `x[index]` set to `value` (`x[index] = value` is the in-place form).

    $y = x$ except $y[\text{index}] = v$, with $v$ broadcast to the shape of `x[index]` and cast
    to the dtype of `x`. Gradient: $\partial L/\partial x = g$ with zeros at `index` (those
    entries were overwritten), and $\partial L/\partial v = g[\text{index}]$, summed over the
    copies broadcasting made.

    Args:
        x: the tensor to write into.
        index: anything `x[index]` accepts, with the same meaning (PyTorch's order).
        value: a number, array or Tensor broadcastable to the shape of `x[index]`.

    Returns:
        A new Tensor of the shape and dtype of `x`.
    """
    index = _index_arrays(index, x._data)
    split = _split_integers(index, x.ndim)
    path = (index,) if split is None else tuple(split)
    value = lift(value, x)
    if value.dtype != x.dtype:
        value = value.to(x.dtype) if value.dtype.kind == "f" else Tensor._wrap(value._data.astype(x.dtype))
    try:
        return SetItem.apply(x, value, path=path)
    except (IndexError, ValueError) as e:
        raise type(e)(
            f"setitem: cannot assign a value of shape {value.shape} to index {index!r} of a tensor "
            f"of shape {x.shape}: {e}"
        ) from None


class Fill(Function):
    r"""$y_i = c$ everywhere (the shape and dtype of $x$); $\partial L/\partial x = 0$."""

    def forward(self, x, value):
        return get_array_module(x).full_like(x, value)

    def backward(self, g):
        return get_array_module(g).zeros_like(g)


def fill(input: Tensor, value) -> Tensor:
    r"""Returns a tensor like `input` filled with `value` (`input.fill_(value)` is the in-place form).

    $y_i = c$ for every $i$, so $\partial L/\partial x = 0$. A 0-d Tensor `value` is read as a
    number, so it gets no gradient (PyTorch's `fill_` would give it $\sum_i g_i$).

    Args:
        input: the tensor whose shape and dtype to take.
        value: the number $c$ (or a 0-d Tensor holding it).

    Returns:
        A new Tensor of the shape and dtype of `input`.
    """
    if isinstance(value, Tensor):
        value = value.item()
    return Fill.apply(input, value=value)


class CopyFrom(Function):
    """y = src broadcast to the shape of x and cast to its dtype.

    Backward: $\\partial L/\\partial x = 0$ (every value was replaced) and
    $\\partial L/\\partial \\text{src} = g$, summed over broadcast copies.
    """

    broadcasts = True

    def forward(self, x, src):
        xp = get_array_module(x)
        return xp.broadcast_to(src, x.shape).astype(x.dtype, copy=True)

    def backward(self, g):
        return get_array_module(g).zeros_like(g), g


def copy_from(x: Tensor, src) -> Tensor:
    r"""Returns `src` in the shape and dtype of `x` (`x.copy_(src)` is the in-place form).

    $y = \text{src}$ broadcast to the shape of $x$ and cast to its dtype. Gradient:
    $\partial L/\partial x = 0$ (every value was replaced) and $\partial L/\partial\,\text{src} = g$,
    summed over the copies broadcasting made.

    Args:
        x: the tensor whose shape, dtype and device to take.
        src: a Tensor, array or number broadcastable to the shape of `x`.

    Returns:
        A new Tensor of the shape and dtype of `x`.
    """
    src = src if isinstance(src, Tensor) else lift(src, x)
    if src.device != x.device:
        src = src.to(x.device)
    return CopyFrom.apply(x, src)


def masked_fill(input: Tensor, mask, value) -> Tensor:
    r"""Fills the elements of `input` with `value` where `mask` is True (`torch.masked_fill`).

    $y_i = v$ where $\text{mask}_i$ is True and $y_i = x_i$ elsewhere (`mask` broadcast with `input`),
    a `where`. Gradient: $\partial L/\partial x_i = g_i$ where the mask is False, 0 where it is
    True; a 0-d Tensor $v$ gets $\partial L/\partial v = \sum_{\text{mask}_i} g_i$.

    Args:
        input: the input tensor.
        mask: a bool tensor broadcastable with `input`.
        value: a number or a 0-d Tensor.

    Returns:
        A new Tensor (`masked_fill_` is the in-place form).
    """
    from minigrad.ops.elementwise import where

    mask = mask._data if isinstance(mask, Tensor) else mask
    if getattr(mask, "dtype", None) is None or mask.dtype.kind != "b":
        raise TypeError(f"masked_fill: mask must be a bool tensor, got {getattr(mask, 'dtype', type(mask))}")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"masked_fill: value must be a 0-d tensor, got shape {value.shape}")
        return where(mask, value.to(input.dtype) if value.dtype != input.dtype else value, input)
    return where(mask, lift(value, input), input)


class Clone(Function):
    r"""$y = x$ in new memory; $\partial L/\partial x = g$."""

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return g


def clone(input: Tensor) -> Tensor:
    r"""Returns a copy of `input` (`torch.clone`), in new memory and in the graph.

    $y = x$, so $\partial L/\partial x = g$: the gradient passes through unchanged.

    Args:
        input: the tensor to copy.

    Returns:
        A new Tensor with the values, shape and dtype of `input`.
    """
    return Clone.apply(input)


__all__ = ["setitem", "fill", "copy_from", "masked_fill", "clone"]
