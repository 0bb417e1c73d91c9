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
    r"""y = x with ``y[index] = v`` (v broadcast to the shape of ``x[index]``).

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
    """``x`` with ``x[index]`` replaced by ``value`` (a new tensor; ``x[index] = value`` is
    the in-place form). Indexes mean what they mean in ``x[index]`` (PyTorch's order)."""
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
    """y = c everywhere (the shape and dtype of x);  dy/dx = 0."""

    def forward(self, x, value):
        return get_array_module(x).full_like(x, value)

    def backward(self, g):
        return get_array_module(g).zeros_like(g)


def fill(x: Tensor, value) -> Tensor:
    """A tensor like ``x`` filled with ``value`` (``x.fill_(value)`` is the in-place form)."""
    if isinstance(value, Tensor):
        value = value.item()
    return Fill.apply(x, value=value)


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
    """``src`` in the shape and dtype of ``x`` (``x.copy_(src)`` is the in-place form)."""
    src = src if isinstance(src, Tensor) else lift(src, x)
    if src.device != x.device:
        src = src.to(x.device)
    return CopyFrom.apply(x, src)


def masked_fill(x: Tensor, mask, value) -> Tensor:
    """``x`` with ``value`` where ``mask`` is True: $y = \text{mask} ? v : x$ (``torch.masked_fill``).

    The gradient flows to ``x`` where the mask is False (and to ``value`` where it
    is True, when ``value`` is a tensor), through `where`.
    """
    from minigrad.ops.elementwise import where

    mask = mask._data if isinstance(mask, Tensor) else mask
    if getattr(mask, "dtype", None) is None or mask.dtype.kind != "b":
        raise TypeError(f"masked_fill: mask must be a bool tensor, got {getattr(mask, 'dtype', type(mask))}")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"masked_fill: value must be a 0-d tensor, got shape {value.shape}")
        return where(mask, value.to(x.dtype) if value.dtype != x.dtype else value, x)
    return where(mask, lift(value, x), x)


class Clone(Function):
    """y = x in new memory;  dy/dx = 1."""

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return g


def clone(x: Tensor) -> Tensor:
    """A copy of ``x`` in new memory that stays in the graph (``torch.clone``)."""
    return Clone.apply(x)


__all__ = ["setitem", "fill", "copy_from", "masked_fill", "clone"]
