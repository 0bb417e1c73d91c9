"""Ops that move elements around without changing them.

Their backward moves the gradient back to where each element came from:
a reshape is undone by the inverse reshape, a transpose by the inverse
permutation, a slice by writing into zeros, a concatenation by splitting.
"""

from __future__ import annotations

import builtins

import numpy as np

from minigrad.backend import get_array_module
from minigrad.ops._util import normalize_axes
from minigrad.tensor import Function, Tensor, unbroadcast

# ============================================================================ views


class Reshape(Function):
    """y = x with a new shape (same elements in the same order); dx = g reshaped back."""

    def forward(self, x, shape):
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, g):
        return g.reshape(self.shape)


class Permute(Function):
    """y = x with its axes reordered; dx = g with the inverse order."""

    def forward(self, x, axes):
        self.inverse = tuple(np.argsort(axes))
        return x.transpose(axes)

    def backward(self, g):
        return g.transpose(self.inverse)


class BroadcastTo(Function):
    """y = x repeated along broadcast axes; dx = g summed over the copies (unbroadcast)."""

    def forward(self, x, shape):
        self.shape = x.shape
        return get_array_module(x).broadcast_to(x, shape)

    def backward(self, g):
        return unbroadcast(g, self.shape)


def reshape(x: Tensor, *shape) -> Tensor:
    """The same elements in a new shape; one dimension may be -1 (inferred)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    try:
        target = np.empty(x.shape, dtype=bool).reshape(shape).shape  # checks and infers -1
    except ValueError:
        raise ValueError(
            f"reshape: cannot reshape a tensor of shape {x.shape} ({x.numel()} elements) "
            f"into shape {shape}"
        ) from None
    if target == x.shape:
        return x
    return Reshape.apply(x, shape=target)


view = reshape


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dimensions ``start_dim..end_dim`` (inclusive) into one."""
    if x.ndim == 0:
        return reshape(x, 1)
    start, end = normalize_axes((start_dim, end_dim), x.ndim, "flatten")
    n = 1
    for s in x.shape[start : end + 1]:
        n *= s
    return reshape(x, x.shape[:start] + (n,) + x.shape[end + 1 :])


def permute(x: Tensor, *dims) -> Tensor:
    """Reorder the dimensions: ``permute(x, 2, 0, 1)``."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    axes = normalize_axes(dims, x.ndim, "permute")
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"permute: {dims} is not a permutation of the {x.ndim} dims of {x.shape}")
    return Permute.apply(x, axes=axes)


def transpose(x: Tensor, dim0: int = -2, dim1: int = -1) -> Tensor:
    """Swap two dimensions (the last two by default)."""
    d0, d1 = normalize_axes((dim0, dim1), x.ndim, "transpose")
    axes = list(range(x.ndim))
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return Permute.apply(x, axes=tuple(axes))


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """Insert a dimension of size 1 at ``dim``."""
    if not -x.ndim - 1 <= dim <= x.ndim:
        raise IndexError(f"unsqueeze: dim {dim} out of range for a tensor with {x.ndim} dims")
    dim = dim % (x.ndim + 1)
    return reshape(x, x.shape[:dim] + (1,) + x.shape[dim:])


def squeeze(x: Tensor, dim=None) -> Tensor:
    """Remove dimensions of size 1 (all of them, or only ``dim`` if it has size 1)."""
    if dim is None:
        axes = tuple(i for i, s in enumerate(x.shape) if s == 1)
    else:
        axes = tuple(a for a in normalize_axes((dim,) if isinstance(dim, int) else dim,
                                               x.ndim, "squeeze") if x.shape[a] == 1)
    return reshape(x, tuple(s for i, s in enumerate(x.shape) if i not in axes))


def broadcast_to(x: Tensor, *shape) -> Tensor:
    """Repeat ``x`` along new or size-1 axes to ``shape`` (NumPy's broadcasting rules)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if shape == x.shape:
        return x
    try:
        np.broadcast_shapes(x.shape, shape)
        if len(shape) < x.ndim:
            raise ValueError
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}") from None
    return BroadcastTo.apply(x, shape=shape)


def expand(x: Tensor, *sizes) -> Tensor:
    """PyTorch's ``expand``: like ``broadcast_to``, with -1 meaning "keep this size"."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    lead = len(sizes) - x.ndim
    if any(s == -1 for s in sizes[:lead]):
        raise ValueError(f"expand: -1 is not allowed for the new leading dims in {sizes} "
                         f"(tensor of shape {x.shape})")
    shape = tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    return broadcast_to(x, shape)


# ============================================================================ indexing


def _is_basic(index) -> bool:
    """Basic indexing (ints, slices, None, ...) never repeats an element."""
    items = index if isinstance(index, tuple) else (index,)
    return builtins.all(
        i is None or i is Ellipsis or isinstance(i, (int, np.integer, slice)) for i in items
    )


class GetItem(Function):
    """y = x[index];  dx = zeros with g added at ``index``.

    With integer-array indices an element can be picked several times; its
    gradient is then the sum of all its copies' gradients, which ``add.at``
    (an unbuffered scatter-add) computes. Plain slices can write directly.
    """

    def forward(self, x, index):
        self.shape, self.dtype, self.index = x.shape, x.dtype, index
        return x[index]

    def backward(self, g):
        xp = get_array_module(g)
        dx = xp.zeros(self.shape, dtype=g.dtype)
        if _is_basic(self.index):
            dx[self.index] = g
        else:
            xp.add.at(dx, self.index, g)
        return dx


def _index_arrays(index, like):
    """Tensors and lists inside an index become arrays on the right device."""
    xp = get_array_module(like)
    items = index if isinstance(index, tuple) else (index,)
    out = []
    for i in items:
        if isinstance(i, Tensor):
            i = i._data
        elif isinstance(i, list):
            i = xp.asarray(i)
        out.append(i)
    return tuple(out) if isinstance(index, tuple) else out[0]


def getitem(x: Tensor, index) -> Tensor:
    """``x[index]``: slices, integers, integer arrays and boolean masks, as in NumPy."""
    index = _index_arrays(index, x._data)
    try:
        return GetItem.apply(x, index=index)
    except IndexError as e:
        raise IndexError(f"getitem: index {index!r} on a tensor of shape {x.shape}: {e}") from None


# ============================================================================ joining and splitting


class Cat(Function):
    """y = [x1, x2, ...] joined along ``dim``; each dxi is its own slice of g."""

    def forward(self, *xs, dim):
        self.dim = dim
        self.bounds = np.cumsum([x.shape[dim] for x in xs])[:-1].tolist()
        return get_array_module(*xs).concatenate(xs, axis=dim)

    def backward(self, g):
        return tuple(get_array_module(g).split(g, self.bounds, axis=self.dim))


class Stack(Function):
    """y = [x1, x2, ...] stacked along a new axis ``dim``; dxi = g[..., i, ...]."""

    def forward(self, *xs, dim):
        self.dim = dim
        return get_array_module(*xs).stack(xs, axis=dim)

    def backward(self, g):
        xp = get_array_module(g)
        return tuple(xp.take(g, i, axis=self.dim) for i in range(g.shape[self.dim]))


def _check_same_shapes(tensors, dim, op):
    first = tensors[0].shape
    for t in tensors[1:]:
        mismatch = t.ndim != len(first) or builtins.any(
            a != b for i, (a, b) in enumerate(zip(t.shape, first)) if i != dim
        )
        if mismatch:
            shapes = ", ".join(str(u.shape) for u in tensors)
            raise ValueError(f"{op}: shapes must match except in dim {dim}, got {shapes}")


def cat(tensors, dim: int = 0, *, axis=None) -> Tensor:
    """Join tensors along an existing dimension. Alias: ``concatenate``."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expects a non-empty list of tensors")
    dim = dim if axis is None else axis
    (dim,) = normalize_axes((dim,), tensors[0].ndim, "cat")
    _check_same_shapes(tensors, dim, "cat")
    return Cat.apply(*tensors, dim=dim)


concatenate = cat


def stack(tensors, dim: int = 0, *, axis=None) -> Tensor:
    """Join same-shaped tensors along a new dimension ``dim``."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expects a non-empty list of tensors")
    dim = dim if axis is None else axis
    (dim,) = normalize_axes((dim,), tensors[0].ndim + 1, "stack")
    _check_same_shapes(tensors, -1, "stack")
    return Stack.apply(*tensors, dim=dim)


def split(x: Tensor, split_size_or_sections, dim: int = 0) -> list[Tensor]:
    """Split into pieces along ``dim``: of size ``n`` each (the last may be smaller),
    or of the sizes in a list (as ``torch.split``)."""
    (dim,) = normalize_axes((dim,), x.ndim, "split")
    n = x.shape[dim]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise ValueError(f"split: split size must be positive, got {step}")
        sizes = [builtins.min(step, n - i) for i in range(0, n, step)]
    else:
        sizes = list(split_size_or_sections)
        if builtins.sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} do not add up to {n} (dim {dim} of {x.shape})")
    pieces, start = [], 0
    for size in sizes:
        index = (slice(None),) * dim + (slice(start, start + size),)
        pieces.append(getitem(x, index))
        start += size
    return pieces


def chunk(x: Tensor, chunks: int, dim: int = 0) -> list[Tensor]:
    """Split into ``chunks`` nearly equal pieces along ``dim``."""
    n = x.shape[dim]
    return split(x, -(-n // chunks), dim)


class Pad(Function):
    """y = x surrounded by a constant; dx = the middle of g (the padding got no input)."""

    def forward(self, x, widths, value):
        self.middle = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
        return get_array_module(x).pad(x, widths, mode="constant", constant_values=value)

    def backward(self, g):
        return g[self.middle]


def pad(x: Tensor, pad, value: float = 0.0) -> Tensor:
    """Pad with a constant, PyTorch style: ``pad = (left, right, top, bottom, ...)``
    lists pairs starting from the **last** dimension, e.g. ``pad(img, (1, 1, 2, 2))``
    adds 1 column each side and 2 rows top and bottom."""
    pad = tuple(pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: needs pairs for at most {x.ndim} dims, got {pad} for {x.shape}")
    if builtins.any(p < 0 for p in pad):
        raise ValueError(f"pad: negative padding {pad} is not supported")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return Pad.apply(x, widths=tuple(widths), value=value)


__all__ = [
    "reshape", "view", "flatten", "permute", "transpose", "unsqueeze", "squeeze",
    "broadcast_to", "expand", "getitem", "cat", "concatenate", "stack", "split", "chunk", "pad",
]
