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
    r"""$\operatorname{vec}(y) = \operatorname{vec}(x)$ in a new shape (the same elements in row-major
    order); $\partial L/\partial x = \operatorname{reshape}(g, x.\text{shape})$."""

    def forward(self, x, shape):
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, g):
        return g.reshape(self.shape)


class Permute(Function):
    r"""$y_{i_0 \dots i_{k-1}} = x_j$ with $j_{\sigma(d)} = i_d$ (dim $d$ of $y$ is dim $\sigma(d)$ of $x$);
    $\partial L/\partial x = \operatorname{permute}(g, \sigma^{-1})$."""

    def forward(self, x, axes):
        self.inverse = tuple(np.argsort(axes))
        return x.transpose(axes)

    def backward(self, g):
        return g.transpose(self.inverse)


class BroadcastTo(Function):
    r"""$y_i = x_{i'}$ with $i'_d = 0$ along the size-1 dims of $x$ (new leading dims dropped);
    $\partial L/\partial x$ = $g$ summed over the broadcast dims (`unbroadcast`)."""

    def forward(self, x, shape):
        self.shape = x.shape
        return get_array_module(x).broadcast_to(x, shape)

    def backward(self, g):
        return unbroadcast(g, self.shape)


def reshape(input: Tensor, *shape) -> Tensor:
    r"""Returns a tensor with the same data and number of elements as `input`, in the shape `shape`.

    $\operatorname{vec}(y) = \operatorname{vec}(x)$: the $n$ elements of $x$, read in row-major
    order, fill the new shape in row-major order. Gradient:
    $\partial L/\partial x = \operatorname{reshape}(g, x.\text{shape})$. `view` is the same function.

    Args:
        input: the input tensor.
        *shape: the new shape, as ints or one tuple; one entry may be -1 (inferred).

    Returns:
        A Tensor of shape `shape` (`input` itself when the shape does not change).

    Raises:
        ValueError: when `shape` does not hold $n$ elements.
    """
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    try:
        target = np.empty(input.shape, dtype=bool).reshape(shape).shape  # checks and infers -1
    except ValueError:
        raise ValueError(
            f"reshape: cannot reshape a tensor of shape {input.shape} ({input.numel()} elements) "
            f"into shape {shape}"
        ) from None
    if target == input.shape:
        return input
    return Reshape.apply(input, shape=target)


view = reshape


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    r"""Flattens `input` by merging dims `start_dim` to `end_dim` (inclusive) into one (`torch.flatten`).

    A `reshape`: shape $(\dots, n_s, \dots, n_e, \dots) \to (\dots, \prod_{d=s}^{e} n_d, \dots)$ with the
    elements in the same row-major order; $\partial L/\partial x = \operatorname{reshape}(g, x.\text{shape})$.
    A 0-d tensor becomes shape (1,).

    Args:
        input: the input tensor.
        start_dim: the first dim to flatten.
        end_dim: the last dim to flatten.

    Returns:
        A Tensor with dims `start_dim` to `end_dim` merged into one.
    """
    if input.ndim == 0:
        return reshape(input, 1)
    start, end = normalize_axes((start_dim, end_dim), input.ndim, "flatten")
    if start > end:
        raise RuntimeError(f"flatten: start_dim {start_dim} cannot come after end_dim {end_dim} "
                           f"(tensor of shape {input.shape})")
    n = 1
    for s in input.shape[start : end + 1]:
        n *= s
    return reshape(input, input.shape[:start] + (n,) + input.shape[end + 1 :])


def permute(input: Tensor, *dims) -> Tensor:
    r"""Returns `input` with its dimensions permuted (`torch.permute`): `permute(input, 2, 0, 1)`.

    Dim $d$ of $y$ is dim $\sigma(d)$ of $x$, $\sigma$ = `dims`: $y_{i_0 \dots i_{k-1}} = x_j$
    with $j_{\sigma(d)} = i_d$. Gradient: the inverse permutation,
    $\partial L/\partial x = \operatorname{permute}(g, \sigma^{-1})$.

    Args:
        input: the input tensor.
        *dims: a permutation of $0, \dots, k-1$, as ints or one tuple (negative dims count from the end).

    Returns:
        A Tensor of shape $(n_{\sigma(0)}, \dots, n_{\sigma(k-1)})$.
    """
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    axes = normalize_axes(dims, input.ndim, "permute")
    if sorted(axes) != list(range(input.ndim)):
        raise ValueError(f"permute: {dims} is not a permutation of the {input.ndim} dims of {input.shape}")
    return Permute.apply(input, axes=axes)


def transpose(input: Tensor, dim0: int = -2, dim1: int = -1) -> Tensor:
    r"""Returns `input` with the dimensions `dim0` and `dim1` swapped (`torch.transpose`).

    $y_{\dots j \dots i \dots} = x_{\dots i \dots j \dots}$, with $i$ at position `dim0` and $j$ at
    `dim1` (the last two dims by default). Gradient: the same swap,
    $\partial L/\partial x = \operatorname{transpose}(g, \text{dim0}, \text{dim1})$.

    Args:
        input: the input tensor.
        dim0: the first dim to swap.
        dim1: the second dim to swap.

    Returns:
        A Tensor with the sizes of `dim0` and `dim1` exchanged.
    """
    d0, d1 = normalize_axes((dim0, dim1), input.ndim, "transpose")
    axes = list(range(input.ndim))
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return Permute.apply(input, axes=tuple(axes))


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    r"""Returns a new tensor with a dimension of size one inserted at position `dim` (`torch.unsqueeze`).

    A `reshape`: $y_{\dots, 0, \dots} = x$ with the new index at `dim`, so
    $\partial L/\partial x = \operatorname{reshape}(g, x.\text{shape})$.

    Args:
        input: the input tensor.
        dim: where the new dim goes, in $[-k-1, k]$ for a $k$-dim `input`.

    Returns:
        A Tensor with one more dim.
    """
    if not -input.ndim - 1 <= dim <= input.ndim:
        raise IndexError(f"unsqueeze: dim {dim} out of range for a tensor with {input.ndim} dims")
    dim = dim % (input.ndim + 1)
    return reshape(input, input.shape[:dim] + (1,) + input.shape[dim:])


def squeeze(input: Tensor, dim=None) -> Tensor:
    r"""Returns `input` with the specified dimensions of size 1 removed (`torch.squeeze`).

    A `reshape` dropping size-1 dims ($y = x$ element for element), so
    $\partial L/\partial x = \operatorname{reshape}(g, x.\text{shape})$.

    Args:
        input: the input tensor.
        dim: an int or tuple of dims to remove if they have size 1 (others are kept); None
            removes every size-1 dim.

    Returns:
        A Tensor with the same elements.
    """
    if dim is None:
        axes = tuple(i for i, s in enumerate(input.shape) if s == 1)
    else:
        axes = tuple(a for a in normalize_axes((dim,) if isinstance(dim, int) else dim,
                                               input.ndim, "squeeze") if input.shape[a] == 1)
    return reshape(input, tuple(s for i, s in enumerate(input.shape) if i not in axes))


def broadcast_to(input: Tensor, *shape) -> Tensor:
    r"""Broadcasts `input` to the shape `shape` (`torch.broadcast_to`, NumPy's broadcasting rules).

    $y_i = x_{i'}$, where $i'$ drops the new leading dims of $i$ and is 0 along the size-1 dims of
    $x$. Every element of $x$ is copied, so its gradient is the sum over its copies:
    $\partial L/\partial x$ = $g$ summed over the broadcast dims (`unbroadcast`).

    Args:
        input: the input tensor.
        *shape: the target shape, as ints or one tuple.

    Returns:
        A Tensor of shape `shape` (`input` itself when the shape does not change).
    """
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if shape == input.shape:
        return input
    try:
        np.broadcast_shapes(input.shape, shape)
        if len(shape) < input.ndim:
            raise ValueError
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast shape {input.shape} to {shape}") from None
    return BroadcastTo.apply(input, shape=shape)


def expand(input: Tensor, *sizes) -> Tensor:
    r"""Returns `input` with singleton dimensions expanded to a larger size (`torch.Tensor.expand`).

    `broadcast_to` with -1 meaning "keep this size": $y_i = x_{i'}$ with $i'$ 0 along the
    expanded dims, and $\partial L/\partial x$ = $g$ summed over the copies (`unbroadcast`).

    Args:
        input: the input tensor.
        *sizes: the new sizes, as ints or one tuple; -1 keeps a dim of `input` (not for new leading
            dims).

    Returns:
        A Tensor of the expanded shape.
    """
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    lead = len(sizes) - input.ndim
    if any(s == -1 for s in sizes[:lead]):
        raise ValueError(f"expand: -1 is not allowed for the new leading dims in {sizes} "
                         f"(tensor of shape {input.shape})")
    shape = tuple(input.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    return broadcast_to(input, shape)


# ============================================================================ indexing


def _is_basic(index) -> bool:
    """Basic indexing (ints, slices, None, ...) never repeats an element."""
    items = index if isinstance(index, tuple) else (index,)
    return builtins.all(
        i is None or i is Ellipsis or isinstance(i, (int, np.integer, slice)) for i in items
    )


class GetItem(Function):
    r"""$y = x[\text{index}]$; $\partial L/\partial x$ = zeros with $g$ added at `index`.

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


def _split_integers(index, ndim):
    """PyTorch's order for an index mixing integers with index arrays: the integers select first
    (as ``x[0]`` would), then the arrays index what is left. NumPy counts an integer as one more
    index array, which moves the indexed dims to the front when a slice separates them
    (``x[0, :, idx]``: NumPy gives shape (len(idx), n), PyTorch (n, len(idx))).

    Returns the two indexes ``(first, then)`` with ``x[index] == x[first][then]`` in PyTorch's
    sense, or None when the index has no integer next to an array (NumPy's answer is PyTorch's).
    """
    if not isinstance(index, tuple) or len(index) < 2:
        return None  # one item cannot mix the two (the common, fast case)
    items = index
    is_int = [isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in items]
    is_array = [hasattr(i, "shape") and getattr(i, "ndim", 0) > 0 for i in items]
    if not (builtins.any(is_int) and builtins.any(is_array)):
        return None
    if builtins.sum(i is Ellipsis for i in items) > 1:
        return None  # NumPy raises the error
    consumed = builtins.sum(i.ndim if getattr(i, "dtype", None) is not None and i.dtype.kind == "b" else 1
                            for i in items if i is not None and i is not Ellipsis)
    expanded = []
    for i in items:  # spell the Ellipsis out as slices
        if i is Ellipsis:
            expanded += [slice(None)] * (ndim - consumed)
        else:
            expanded.append(i)
    first, then = [], []
    for i in expanded:
        if isinstance(i, (int, np.integer)) and not isinstance(i, bool):
            first.append(i)
        elif i is None:
            then.append(None)
        else:
            width = i.ndim if getattr(i, "dtype", None) is not None and i.dtype.kind == "b" else 1
            first += [slice(None)] * width
            then.append(i)
    return tuple(first), tuple(then)


def getitem(x: Tensor, index) -> Tensor:
    r"""Returns `x[index]`: slices, integers, integer arrays and boolean masks, with PyTorch's rules.

    $y_j = x_{\text{index}(j)}$. Gradient: $\partial L/\partial x_p = \sum_{j:\, \text{index}(j) = p} g_j$,
    zeros with $g$ added at `index` (an element picked several times by an index array gets the
    sum). These are NumPy's rules except for one case: integers mixed with index arrays select
    first (`x[0, :, idx]` is `x[0][:, idx]`, as in PyTorch; NumPy would put the `idx` dim in front).

    Args:
        x: the tensor to index.
        index: an int, slice, None, Ellipsis, list, Tensor or array, or a tuple of them.

    Returns:
        A new Tensor.
    """
    index = _index_arrays(index, x._data)
    try:
        split = _split_integers(index, x.ndim)
        if split is not None:
            return GetItem.apply(GetItem.apply(x, index=split[0]), index=split[1])
        return GetItem.apply(x, index=index)
    except IndexError as e:
        raise IndexError(f"getitem: index {index!r} on a tensor of shape {x.shape}: {e}") from None


# ============================================================================ joining and splitting


class Cat(Function):
    r"""$y = [x^{(0)}; \dots; x^{(k-1)}]$ joined along `dim`; $\partial L/\partial x^{(m)}$ is the
    slice of $g$ where $x^{(m)}$ sits."""

    def forward(self, *xs, dim):
        self.dim = dim
        self.bounds = np.cumsum([x.shape[dim] for x in xs])[:-1].tolist()
        return get_array_module(*xs).concatenate(xs, axis=dim)

    def backward(self, g):
        return tuple(get_array_module(g).split(g, self.bounds, axis=self.dim))


class Stack(Function):
    r"""$y_{\dots, m, \dots} = x^{(m)}$ with $m$ at the new axis `dim`;
    $\partial L/\partial x^{(m)} = g_{\dots, m, \dots}$."""

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
    r"""Concatenates the given sequence of tensors along `dim` (`torch.cat`; alias `concatenate`).

    $y = [x^{(0)}; \dots; x^{(k-1)}]$ along `dim`: $y_{\dots,\, o_m + i,\, \dots} = x^{(m)}_{\dots, i, \dots}$
    with the offsets $o_m = \sum_{l < m} n_l$ ($n_l$ the size of $x^{(l)}$ along `dim`). Gradient: each
    input gets its own slice, $\partial L/\partial x^{(m)} = g_{\dots,\, o_m : o_m + n_m,\, \dots}$.

    Args:
        tensors: a non-empty sequence of tensors of at least 1 dim, equal in shape except along `dim`.
        dim: the dimension to join along (`axis` is NumPy's name for it).

    Returns:
        A Tensor of size $\sum_m n_m$ along `dim`.
    """
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expects a non-empty list of tensors")
    dim = dim if axis is None else axis
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise RuntimeError(f"cat: zero-dimensional tensor (at position {i}) cannot be concatenated; "
                               "use stack, or reshape it to (1,)")
    (dim,) = normalize_axes((dim,), tensors[0].ndim, "cat")
    _check_same_shapes(tensors, dim, "cat")
    return Cat.apply(*tensors, dim=dim)


concatenate = cat


def stack(tensors, dim: int = 0, *, axis=None) -> Tensor:
    r"""Concatenates a sequence of tensors along a new dimension `dim` (`torch.stack`).

    $y_{\dots, m, \dots} = x^{(m)}$, with the new index $m$ at position `dim`. Gradient: each
    input gets its slice back, $\partial L/\partial x^{(m)} = g_{\dots, m, \dots}$.

    Args:
        tensors: a non-empty sequence of tensors, all of the same shape.
        dim: where the new dim goes, in $[0, k]$ for $k$-dim inputs (negative counts from the end).

    Returns:
        A Tensor with one more dim, of size `len(tensors)` at `dim`.
    """
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expects a non-empty list of tensors")
    dim = dim if axis is None else axis
    (dim,) = normalize_axes((dim,), tensors[0].ndim + 1, "stack")
    _check_same_shapes(tensors, -1, "stack")
    return Stack.apply(*tensors, dim=dim)


def split(x: Tensor, split_size_or_sections, dim: int = 0) -> tuple[Tensor, ...]:
    r"""Splits `x` into chunks along `dim` (`torch.split`).

    Piece $m$ is the slice $y^{(m)} = x_{\dots,\, o_m : o_m + s_m,\, \dots}$ with $o_m = \sum_{l<m} s_l$.
    Gradient: each piece's $g^{(m)}$ goes back to its slice, $\partial L/\partial x = [g^{(0)}; \dots]$
    along `dim` (zeros for a piece that does not reach the loss).

    Args:
        x: the input tensor.
        split_size_or_sections: an int $s$ (pieces of size $s$, the last one smaller if needed) or
            a list of sizes $s_m$ adding up to the size of `dim`.
        dim: the dimension to split.

    Returns:
        A tuple of Tensors (as PyTorch's).
    """
    (dim,) = normalize_axes((dim,), x.ndim, "split")
    n = x.shape[dim]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise ValueError(f"split: split size must be positive, got {step}")
        sizes = [builtins.min(step, n - i) for i in range(0, n, step)] or [0]  # empty: one piece
    else:
        sizes = list(split_size_or_sections)
        if builtins.sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} do not add up to {n} (dim {dim} of {x.shape})")
    pieces, start = [], 0
    for size in sizes:
        index = (slice(None),) * dim + (slice(start, start + size),)
        pieces.append(getitem(x, index))
        start += size
    return tuple(pieces)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    r"""Attempts to split `input` into `chunks` pieces along `dim` (`torch.chunk`).

    Pieces of size $s = \lceil n / \text{chunks} \rceil$ ($n$ the size of `dim`), the last one smaller,
    as `split(input, s, dim)`: there may be fewer than `chunks` pieces (6 elements in 4 chunks give 3
    of size 2). Gradient: each piece's gradient goes back to its slice of `input`.

    Args:
        input: the input tensor.
        chunks: the number of pieces asked for, positive.
        dim: the dimension to split.

    Returns:
        A tuple of Tensors (as PyTorch's).
    """
    if chunks <= 0:
        raise RuntimeError(f"chunk: chunks must be positive, got {chunks}")
    n = input.shape[dim]
    return split(input, builtins.max(-(-n // chunks), 1), dim)  # an empty dim gives one empty piece


class Pad(Function):
    r"""$y_i = x_{i - b}$ inside ($b$ the padding before), the constant elsewhere;
    $\partial L/\partial x = g$ with the padding cut off."""

    def forward(self, x, widths, value):
        self.middle = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
        return get_array_module(x).pad(x, widths, mode="constant", constant_values=value)

    def backward(self, g):
        return g[self.middle]


def pad(x: Tensor, pad, value: float = 0.0) -> Tensor:
    r"""Pads `x` with a constant (`torch.nn.functional.pad`, constant mode; `F.pad` has the other modes).

    Along a dim padded by $(b, a)$: $y_i = x_{i-b}$ for $b \le i < b + n$ and $y_i = c$ (`value`)
    otherwise. Gradient: $\partial L/\partial x = g$ with the padding cut off (the padding depends on no
    input). `pad = (left, right, top, bottom, ...)` lists pairs starting from the **last** dimension:
    `pad(img, (1, 1, 2, 2))` adds 1 column each side and 2 rows top and bottom.

    Args:
        x: the input tensor.
        pad: an even-length sequence of non-negative ints, at most 2 per dim of `x`.
        value: the constant fill.

    Returns:
        A Tensor whose padded dims grow by $b + a$.
    """
    pad = tuple(pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: needs pairs for at most {x.ndim} dims, got {pad} for {x.shape}")
    if builtins.any(p < 0 for p in pad):
        raise ValueError(f"pad: negative padding {pad} is not supported")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return Pad.apply(x, widths=tuple(widths), value=value)


# ============================================================================ reordering


class Flip(Function):
    r"""$y = x$ reversed along ``dims``: $y_i = x_{n-1-i}$;  $\partial L/\partial x$ = g flipped back."""

    def forward(self, x, dims):
        self.dims = dims
        return get_array_module(x).flip(x, axis=dims).copy()  # a copy, as torch.flip

    def backward(self, g):
        return get_array_module(g).flip(g, axis=self.dims)


def _dims_arg(dims):
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        return tuple(dims[0])
    return tuple(dims)


def flip(input: Tensor, *dims) -> Tensor:
    r"""Reverses the order of the elements of `input` along the dims in `dims` (`torch.flip`; a copy).

    $y_{\dots i \dots} = x_{\dots\, n-1-i\, \dots}$ along each flipped dim of size $n$. Gradient:
    the same flip, $\partial L/\partial x = \operatorname{flip}(g, \text{dims})$.

    Args:
        input: the input tensor.
        *dims: the dims to flip, as ints or one tuple.

    Returns:
        A new Tensor of the shape of `input`.
    """
    axes = normalize_axes(_dims_arg(dims), input.ndim, "flip")
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"flip: dims {dims} has a repeated dim")
    return Flip.apply(input, dims=axes) if axes else input.clone()


def fliplr(input: Tensor) -> Tensor:
    r"""Flips `input` in the left/right direction, returning a new tensor (`torch.fliplr`).

    $y_{i, j, \dots} = x_{i,\, n-1-j,\, \dots}$ (dim 1 reversed, $n$ its size);
    $\partial L/\partial x = \operatorname{fliplr}(g)$.

    Args:
        input: a tensor with at least 2 dims.

    Returns:
        A new Tensor of the shape of `input`.
    """
    if input.ndim < 2:
        raise RuntimeError(f"fliplr: input must be >= 2-d, got shape {input.shape}")
    return flip(input, 1)


def flipud(input: Tensor) -> Tensor:
    r"""Flips `input` in the up/down direction, returning a new tensor (`torch.flipud`).

    $y_{i, \dots} = x_{n-1-i,\, \dots}$ (dim 0 reversed, $n$ its size);
    $\partial L/\partial x = \operatorname{flipud}(g)$.

    Args:
        input: a tensor with at least 1 dim.

    Returns:
        A new Tensor of the shape of `input`.
    """
    if input.ndim < 1:
        raise RuntimeError(f"flipud: input must be >= 1-d, got shape {input.shape}")
    return flip(input, 0)


class Roll(Function):
    r"""$y_i = x_{(i - s) \bmod n}$ along each dim (elements leaving one end come back at the other);
    the gradient is rolled back by $-s$."""

    def forward(self, x, shifts, dims):
        self.shifts, self.dims = shifts, dims
        return get_array_module(x).roll(x, shifts, axis=dims)

    def backward(self, g):
        back = tuple(-s for s in self.shifts) if isinstance(self.shifts, tuple) else -self.shifts
        return get_array_module(g).roll(g, back, axis=self.dims)


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    r"""Rolls `input` along the given dimension(s) (`torch.roll`), wrapping around.

    $y_i = x_{(i - s) \bmod n}$ along each dim of size $n$ with its shift $s$: elements leaving one
    end come back at the other. Gradient: the roll undone,
    $\partial L/\partial x = \operatorname{roll}(g, -s)$.

    Args:
        input: the input tensor.
        shifts: an int, or a tuple of ints with one per entry of `dims`.
        dims: an int or tuple of dims; None rolls `input` as if flattened, then restores its shape.

    Returns:
        A new Tensor of the shape of `input`.
    """
    if dims is None:
        if isinstance(shifts, (tuple, list)):
            if len(shifts) != 1:
                raise RuntimeError(f"roll: shifts {shifts} needs dims (one shift per dim)")
            shifts = shifts[0]
        return Roll.apply(input, shifts=int(shifts), dims=None)
    shifts = tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,)
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    return Roll.apply(input, shifts=shifts, dims=normalize_axes(dims, input.ndim, "roll"))


def rot90(input: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    r"""Rotates `input` by 90 degrees `k` times in the plane of `dims` (`torch.rot90`).

    The rotation goes from the first dim towards the second. For $k = 1$ and a matrix with $n_1$
    columns: $y_{ij} = x_{j,\, n_1 - 1 - i}$ (a flip of dim 1, then a transpose); $k = 2$ flips
    both dims; $k$ counts mod 4. The gradient flows back through
    those flips and transposes: $\partial L/\partial x = \operatorname{rot90}(g, -k, \text{dims})$.

    Args:
        input: a tensor with at least 2 dims.
        k: the number of quarter turns (negative turns the other way).
        dims: the two dims of the plane.

    Returns:
        A new Tensor, the two dims' sizes exchanged when $k$ is odd.
    """
    dims = tuple(dims)
    if len(dims) != 2 or input.ndim < 2:
        raise RuntimeError(f"rot90: expected 2 dims and a tensor with >= 2 dims, got dims {dims}, "
                           f"shape {input.shape}")
    d0, d1 = normalize_axes(dims, input.ndim, "rot90")
    if d0 == d1:
        raise RuntimeError(f"rot90: the rotation dims must differ, got {dims}")
    k %= 4
    if k == 0:
        return input.clone()
    if k == 2:
        return flip(input, d0, d1)
    if k == 1:
        return transpose(flip(input, d1), d0, d1)
    return flip(transpose(input, d0, d1), d1)


def movedim(input: Tensor, source, destination) -> Tensor:
    r"""Moves the dims of `input` at `source` to the positions `destination` (`torch.movedim`, `moveaxis`).

    A `permute` $\sigma$ (the other dims keep their order): $y_{i_0 \dots i_{k-1}} = x_j$ with
    $j_{\sigma(d)} = i_d$, and $\partial L/\partial x = \operatorname{permute}(g, \sigma^{-1})$.

    Args:
        input: the input tensor.
        source: a dim or a tuple of dims to move.
        destination: their new positions, as many as in `source`.

    Returns:
        A Tensor with the same elements, dims reordered.
    """
    src = tuple(source) if isinstance(source, (tuple, list)) else (source,)
    dst = tuple(destination) if isinstance(destination, (tuple, list)) else (destination,)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: source {source} and destination {destination} differ in length")
    src = normalize_axes(src, input.ndim, "movedim")
    dst = normalize_axes(dst, input.ndim, "movedim")
    order = [d for d in range(input.ndim) if d not in src]
    for d, s_ in sorted(zip(dst, src)):
        order.insert(d, s_)
    return permute(input, *order) if input.ndim else input


moveaxis = movedim


def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    r"""Alias for `transpose` (`torch.swapaxes`, `torch.swapdims`): swaps the dims `axis0` and `axis1`.

    $y_{\dots j \dots i \dots} = x_{\dots i \dots j \dots}$ ($i$ at `axis0`, $j$ at `axis1`);
    $\partial L/\partial x = \operatorname{transpose}(g, \text{axis0}, \text{axis1})$.

    Args:
        input: the input tensor.
        axis0: the first dim to swap.
        axis1: the second dim to swap.

    Returns:
        A Tensor with the sizes of the two dims exchanged.
    """
    return transpose(input, axis0, axis1)


swapdims = swapaxes


def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    r"""Expands the dimension `dim` of `input` over multiple dimensions of sizes `sizes` (`torch.unflatten`).

    The inverse of `flatten`, a `reshape`: the size $n$ of `dim` becomes $(s_0, \dots, s_{m-1})$ with
    $\prod_l s_l = n$, elements in the same row-major order;
    $\partial L/\partial x = \operatorname{reshape}(g, x.\text{shape})$.

    Args:
        input: the input tensor.
        dim: the dim to expand.
        sizes: the new sizes; one may be -1 (inferred).

    Returns:
        A Tensor with `len(sizes) - 1` more dims.
    """
    (axis,) = normalize_axes((dim,), input.ndim, "unflatten")
    sizes = tuple(sizes)
    known = 1
    for s_ in sizes:
        known *= s_ if s_ != -1 else 1
    inferred = tuple(input.shape[axis] // known if s_ == -1 and known else s_ for s_ in sizes)
    if builtins.sum(s_ == -1 for s_ in sizes) > 1 or int(np.prod(inferred)) != input.shape[axis]:
        raise RuntimeError(f"unflatten: sizes {sizes} don't multiply up to the size of dim {dim} "
                           f"({input.shape[axis]}) of input {input.shape}")
    return reshape(input, input.shape[:axis] + inferred + input.shape[axis + 1:])


# ============================================================================ repeating


class Repeat(Function):
    r"""$y$ = ``x`` tiled ``reps[d]`` times along each dim d (``x`` is first given leading 1-dims).

    Backward: each element of ``x`` appears once per tile, so $\partial L/\partial x$ is
    the sum of g over the tiles: view g as (r0, n0, r1, n1, ...) and sum the r axes.
    """

    def forward(self, x, reps):
        self.shape = x.shape
        x = x.reshape((1,) * (len(reps) - x.ndim) + x.shape)
        self.inner = x.shape
        return get_array_module(x).tile(x, reps)

    def backward(self, g):
        split = []
        for r, n in zip(g.shape, self.inner):
            split += [r // n if n else 0, n]
        if 0 in self.inner:
            return get_array_module(g).zeros(self.shape, dtype=g.dtype)
        summed = g.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return summed.reshape(self.shape)


def repeat(input: Tensor, *sizes) -> Tensor:
    r"""Repeats `input` along the given dims (`torch.Tensor.repeat`): `repeat(input, 2, 3)` tiles it 2 × 3.

    With `input` given leading 1-dims up to `len(sizes)` dims of sizes $n_d$:
    $y_{i_0 \dots i_{D-1}} = x_{i_0 \bmod n_0,\, \dots,\, i_{D-1} \bmod n_{D-1}}$. Each element is
    copied once per tile, so $\partial L/\partial x_j = \sum_{i:\, i \bmod n = j} g_i$, the sum of $g$
    over the tiles.

    Args:
        input: the input tensor.
        *sizes: the number of copies along each dim, as ints or one tuple, at least `input.ndim` of them.

    Returns:
        A Tensor of shape $(r_0 n_0, \dots, r_{D-1} n_{D-1})$ for `sizes` $= (r_0, \dots, r_{D-1})$.
    """
    sizes = _dims_arg(sizes)
    if len(sizes) < input.ndim:
        raise RuntimeError(f"repeat: number of dimensions of repeat dims {sizes} can not be smaller "
                           f"than number of dimensions of tensor {input.shape}")
    if builtins.any(s_ < 0 for s_ in sizes):
        raise RuntimeError(f"repeat: repeats {sizes} must be non-negative")
    return Repeat.apply(input, reps=sizes)


def tile(input: Tensor, *dims) -> Tensor:
    r"""Constructs a tensor by repeating the elements of `input` (`torch.tile`).

    `repeat` with `dims` padded with 1s in front when it has fewer entries than `input` has dims:
    $y_{i} = x_{i \bmod n}$ dim by dim, and $\partial L/\partial x_j = \sum_{i:\, i \bmod n = j} g_i$
    (the sum of $g$ over the tiles).

    Args:
        input: the input tensor.
        *dims: the number of copies along each dim, as ints or one tuple.

    Returns:
        The tiled Tensor.
    """
    dims = _dims_arg(dims)
    return repeat(input, *((1,) * (input.ndim - len(dims)) + dims))


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None) -> Tensor:
    r"""Repeats the elements of `input` (`torch.repeat_interleave`): `[a, b]` with 2 gives `[a, a, b, b]`.

    Slice $i$ along `dim` is repeated $r_i$ times in place:
    $y_{\dots j \dots} = x_{\dots\, \text{idx}_j\, \dots}$ with $\text{idx} = (0^{r_0}, 1^{r_1}, \dots)$
    ($i$ written $r_i$ times), an `index_select`; its gradient sums the copies,
    $\partial L/\partial x_{\dots i \dots} = \sum_{j:\, \text{idx}_j = i} g_{\dots j \dots}$. Called with
    one tensor, `repeat_interleave(counts)` returns the int64 indices $\text{idx}$ (not differentiable).

    Args:
        input: the input tensor (or the counts, when `repeats` is None).
        repeats: an int or a 1-D tensor with one count $r_i$ per slice.
        dim: the dimension to repeat along; None flattens `input` first.
        output_size: accepted for PyTorch's signature and ignored.

    Returns:
        A Tensor of size $\sum_i r_i$ along `dim`.
    """
    from minigrad.ops.index import index_select

    if repeats is None:  # repeat_interleave(repeats): the indices 0, 1, ... repeated
        counts = input._data if isinstance(input, Tensor) else np.asarray(input)
        xp = get_array_module(counts)
        return Tensor._wrap(xp.repeat(xp.arange(counts.shape[0]), counts).astype(np.int64))
    if dim is None:
        input, dim = reshape(input, -1), 0
    (axis,) = normalize_axes((dim,), input.ndim, "repeat_interleave") or (0,)
    if input.ndim == 0:
        input = reshape(input, 1)
    n = input.shape[axis]
    xp = get_array_module(input._data)
    counts = repeats._data if isinstance(repeats, Tensor) else xp.asarray(repeats)
    if counts.ndim > 1 or (counts.ndim == 1 and counts.shape[0] not in (1, n)):
        raise RuntimeError(f"repeat_interleave: repeats must be an int or have one count per slice "
                           f"({n} along dim {dim}), got shape {tuple(counts.shape)}")
    if counts.size and int(counts.min()) < 0:
        raise RuntimeError("repeat_interleave: repeats can not be negative")
    index = xp.repeat(xp.arange(n), xp.broadcast_to(counts.reshape(-1), (n,)))
    return index_select(input, axis, index)


# ============================================================================ triangles and diagonals


class Triangle(Function):
    r"""$y_{ij} = x_{ij}$ on and below (``tril``) or above (``triu``) the ``diagonal``-th diagonal,
    0 elsewhere; the gradient is masked the same way: $\partial L/\partial x = \text{tri}(g)$."""

    def forward(self, x, diagonal, upper):
        self.diagonal, self.upper = diagonal, upper
        xp = get_array_module(x)
        return xp.triu(x, diagonal) if upper else xp.tril(x, diagonal)

    def backward(self, g):
        xp = get_array_module(g)
        return xp.triu(g, self.diagonal) if self.upper else xp.tril(g, self.diagonal)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    r"""Returns the lower triangle of the last two dims of `input`, the other elements 0 (`torch.tril`).

    $y_{ij} = x_{ij}$ where $j - i \le d$ ($d$ = `diagonal`) and 0 elsewhere. The gradient is masked
    the same way: $\partial L/\partial x = \operatorname{tril}(g, d)$.

    Args:
        input: a tensor with at least 2 dims (a batch of matrices).
        diagonal: $d$: 0 keeps the main diagonal, $> 0$ also that many diagonals above it, $< 0$ fewer.

    Returns:
        A Tensor of the shape of `input`.
    """
    if input.ndim < 2:
        raise RuntimeError(f"tril: input tensor must have at least 2 dimensions, got shape {input.shape}")
    return Triangle.apply(input, diagonal=diagonal, upper=False)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    r"""Returns the upper triangle of the last two dims of `input`, the other elements 0 (`torch.triu`).

    $y_{ij} = x_{ij}$ where $j - i \ge d$ ($d$ = `diagonal`) and 0 elsewhere. The gradient is masked
    the same way: $\partial L/\partial x = \operatorname{triu}(g, d)$.

    Args:
        input: a tensor with at least 2 dims (a batch of matrices).
        diagonal: $d$: 0 keeps the main diagonal, $> 0$ starts that many diagonals above it, $< 0$ below.

    Returns:
        A Tensor of the shape of `input`.
    """
    if input.ndim < 2:
        raise RuntimeError(f"triu: input tensor must have at least 2 dimensions, got shape {input.shape}")
    return Triangle.apply(input, diagonal=diagonal, upper=True)


def _diagonal_index(shape, offset, dim1, dim2):
    """NumPy index of the ``offset`` diagonal of dims (dim1, dim2), with the diagonal as the
    last axis of the result (as ``numpy.diagonal``): a tuple of slices and two arange arrays."""
    n1, n2 = shape[dim1], shape[dim2]
    length = builtins.max(0, builtins.min(n1 - builtins.max(-offset, 0), n2 - builtins.max(offset, 0)))
    rows = np.arange(length) + builtins.max(-offset, 0)
    cols = np.arange(length) + builtins.max(offset, 0)
    return rows, cols


class Diagonal(Function):
    r"""$y_{\dots k} = x_{\dots,\, i_0 + k,\, j_0 + k}$ over dims (dim1, dim2), the diagonal last
    (``offset`` > 0: above the main diagonal). Backward: zeros with g written on that diagonal."""

    def forward(self, x, offset, dim1, dim2):
        self.shape, self.offset, self.dim1, self.dim2 = x.shape, offset, dim1, dim2
        return get_array_module(x).diagonal(x, offset, dim1, dim2).copy()

    def backward(self, g):
        xp = get_array_module(g)
        dx = xp.zeros(self.shape, dtype=g.dtype)
        rows, cols = _diagonal_index(self.shape, self.offset, self.dim1, self.dim2)
        view = xp.moveaxis(dx, (self.dim1, self.dim2), (-2, -1))  # writes go through to dx
        view[..., xp.asarray(rows), xp.asarray(cols)] = g
        return dx


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    r"""Returns the diagonal of `input` with respect to `dim1` and `dim2` as its last dim (`torch.diagonal`).

    With $o$ = `offset` and $(a, b) = (\max(-o, 0), \max(o, 0))$:
    $y_{\dots k} = x_{\dots,\, a + k,\, b + k}$ over (dim1, dim2) ($o > 0$ is above the main
    diagonal). Gradient: zeros with $g$ written on that diagonal. A copy in minigrad, a view in
    PyTorch.

    Args:
        input: a tensor with at least 2 dims.
        offset: which diagonal: 0 the main one, $> 0$ above it, $< 0$ below.
        dim1: the dim of the rows.
        dim2: the dim of the columns.

    Returns:
        A Tensor without dim1 and dim2, and with the diagonal as its last dim.
    """
    d1, d2 = normalize_axes((dim1, dim2), input.ndim, "diagonal")
    if input.ndim < 2 or d1 == d2:
        raise RuntimeError(f"diagonal: dimensions cannot be identical {dim1}, {dim2} "
                           f"(tensor of shape {input.shape})")
    return Diagonal.apply(input, offset=offset, dim1=d1, dim2=d2)


class DiagEmbed(Function):
    r"""$y_{\dots,\, i_0 + k,\, j_0 + k} = x_{\dots k}$: the last dim of ``x`` written on the
    ``offset`` diagonal of two new dims (dim1, dim2), zeros elsewhere. Backward: read that
    diagonal of g (``diagonal``)."""

    def forward(self, x, offset, dim1, dim2):
        xp = get_array_module(x)
        n = x.shape[-1] + builtins.abs(offset)
        self.offset, self.dim1, self.dim2 = offset, dim1, dim2
        out = xp.zeros(x.shape[:-1] + (n, n), dtype=x.dtype)
        rows, cols = _diagonal_index(out.shape, offset, -2, -1)
        out[..., xp.asarray(rows), xp.asarray(cols)] = x
        return xp.moveaxis(out, (-2, -1), (dim1, dim2))

    def backward(self, g):
        return get_array_module(g).diagonal(g, self.offset, self.dim1, self.dim2).copy()


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    r"""A tensor whose diagonals in the planes (dim1, dim2) are filled by `input` (`torch.diag_embed`).

    The last dim of `input` (size $n$) goes on diagonal $o$ = `offset` of two new dims of size $n + |o|$:
    $y_{\dots,\, a + k,\, b + k} = x_{\dots k}$ with $(a, b) = (\max(-o, 0), \max(o, 0))$, zeros
    elsewhere. Gradient: that diagonal of $g$,
    $\partial L/\partial x = \operatorname{diagonal}(g, o, \text{dim1}, \text{dim2})$.

    Args:
        input: the input tensor (a 0-d one is read as shape (1,)).
        offset: which diagonal: 0 the main one, $> 0$ above it, $< 0$ below.
        dim1: the dim of the rows, in the result.
        dim2: the dim of the columns, in the result.

    Returns:
        A Tensor with one more dim than `input`.
    """
    d1, d2 = normalize_axes((dim1, dim2), input.ndim + 1, "diag_embed")
    if d1 == d2:
        raise RuntimeError(f"diag_embed: diagonal dimensions cannot be identical {dim1}, {dim2}")
    if input.ndim == 0:
        input = reshape(input, 1)
    return DiagEmbed.apply(input, offset=offset, dim1=d1, dim2=d2)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    r"""Returns the diagonal matrix of a vector, or the diagonal of a matrix (`torch.diag`).

    With $o$ = `diagonal` and $(a, b) = (\max(-o, 0), \max(o, 0))$: a vector $x$ of $n$ elements gives
    the $(n + |o|) \times (n + |o|)$ matrix $Y_{a+k,\, b+k} = x_k$, zeros elsewhere, with
    $\partial L/\partial x_k = G_{a+k,\, b+k}$; a matrix $X$ gives $y_k = X_{a+k,\, b+k}$, with
    $\partial L/\partial X$ = zeros holding $g$ on that diagonal.

    Args:
        input: a 1-D or 2-D tensor.
        diagonal: which diagonal: 0 the main one, $> 0$ above it, $< 0$ below.

    Returns:
        A 2-D Tensor for a 1-D `input`, a 1-D Tensor for a 2-D `input`.
    """
    if input.ndim == 1:
        return DiagEmbed.apply(input, offset=diagonal, dim1=0, dim2=1)
    if input.ndim == 2:
        return Diagonal.apply(input, offset=diagonal, dim1=0, dim2=1)
    raise RuntimeError(f"diag: expected a 1-D or 2-D tensor, got shape {input.shape}")


def trace(input: Tensor) -> Tensor:
    r"""Returns the sum of the elements of the main diagonal of a matrix (`torch.trace`).

    $y = \operatorname{tr} X = \sum_i X_{ii}$, so $\partial L/\partial X = g\, I$ (ones on the main
    diagonal, zeros elsewhere, rectangular like $X$), through `diagonal` and `sum`.

    Args:
        input: a 2-D tensor.

    Returns:
        A 0-d Tensor.
    """
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, got shape {input.shape}")
    return Diagonal.apply(input, offset=0, dim1=0, dim2=1).sum()


# ============================================================================ combining


def broadcast_tensors(*tensors):
    r"""Broadcasts the given tensors to one common shape (`torch.broadcast_tensors`).

    $y^{(m)} = \operatorname{broadcast\_to}(x^{(m)}, s)$, with $s$ the broadcast of all the shapes.
    Gradient: each $g^{(m)}$ summed over the copies broadcasting made, back to the shape of $x^{(m)}$.

    Args:
        *tensors: the tensors, or one sequence of them.

    Returns:
        A tuple of Tensors, all of shape $s$.
    """
    tensors = _dims_arg(tensors)
    try:
        shape = np.broadcast_shapes(*(t.shape for t in tensors))
    except ValueError:
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise RuntimeError(f"broadcast_tensors: shapes {shapes} cannot be broadcast together") from None
    return tuple(broadcast_to(t, shape) for t in tensors)


def meshgrid(*tensors, indexing: str = "ij"):
    r"""Creates grids of coordinates from the 1-D inputs `tensors` (`torch.meshgrid`).

    With `indexing="ij"`, grid $k$ varies along dim $k$: $Y^{(k)}_{i_0 i_1 \dots} = t^{(k)}_{i_k}$; `"xy"`
    swaps the first two dims (NumPy's and MATLAB's default). Each grid is a broadcast, so
    $\partial L/\partial t^{(k)}_i$ is the sum of $G^{(k)}$ over every position whose index along
    $t^{(k)}$'s dim is $i$.

    Args:
        *tensors: 0-d or 1-D tensors, or one sequence of them.
        indexing: `"ij"` (matrix indexing) or `"xy"` (Cartesian).

    Returns:
        A tuple of Tensors, one per input, all of the same shape.
    """
    tensors = _dims_arg(tensors)
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(f"meshgrid: expects 0-d or 1-d tensors, got shape {t.shape}")
    n = len(tensors)
    order = list(range(n))
    if indexing == "xy" and n >= 2:
        order[0], order[1] = 1, 0
    sizes = [t.numel() for t in tensors]
    shape = tuple(sizes[order[d]] for d in range(n))
    grids = []
    for k, t in enumerate(tensors):
        position = order.index(k)
        view = [1] * n
        view[position] = sizes[k]
        grids.append(broadcast_to(reshape(t, tuple(view)), shape))
    return tuple(grids)


def atleast_1d(*tensors):
    r"""Returns each input with at least 1 dim (`torch.atleast_1d`): a 0-d tensor becomes shape (1,).

    A `reshape` ($y = x$ element for element), so
    $\partial L/\partial x = \operatorname{reshape}(g, x.\text{shape})$; tensors with 1 or more dims are
    returned as they are.

    Args:
        *tensors: the tensors, or one sequence of them.

    Returns:
        A Tensor for one input, else a tuple of Tensors.
    """
    out = tuple(reshape(t, 1) if t.ndim == 0 else t for t in _dims_arg(tensors))
    return out[0] if len(out) == 1 else out


def atleast_2d(*tensors):
    r"""Returns each input with at least 2 dims (`torch.atleast_2d`): () becomes (1, 1), (n,) becomes (1, n).

    A `reshape` ($y = x$ element for element), so
    $\partial L/\partial x = \operatorname{reshape}(g, x.\text{shape})$; tensors with 2 or more dims are
    returned as they are.

    Args:
        *tensors: the tensors, or one sequence of them.

    Returns:
        A Tensor for one input, else a tuple of Tensors.
    """
    out = tuple(reshape(t, (1,) * (2 - t.ndim) + t.shape) if t.ndim < 2 else t for t in _dims_arg(tensors))
    return out[0] if len(out) == 1 else out


def atleast_3d(*tensors):
    r"""Returns each input with at least 3 dims (`torch.atleast_3d`).

    () becomes (1, 1, 1), (n,) becomes (1, n, 1) and (m, n) becomes (m, n, 1): a `reshape`
    ($y = x$ element for element), so $\partial L/\partial x = \operatorname{reshape}(g, x.\text{shape})$;
    tensors with 3 or more dims are returned as they are.

    Args:
        *tensors: the tensors, or one sequence of them.

    Returns:
        A Tensor for one input, else a tuple of Tensors.
    """
    def lift3(t):
        if t.ndim == 0:
            return reshape(t, 1, 1, 1)
        if t.ndim == 1:
            return reshape(t, 1, t.shape[0], 1)
        if t.ndim == 2:
            return reshape(t, t.shape + (1,))
        return t

    out = tuple(lift3(t) for t in _dims_arg(tensors))
    return out[0] if len(out) == 1 else out


def hstack(tensors) -> Tensor:
    r"""Stacks tensors in sequence horizontally, column-wise (`torch.hstack`).

    `cat` along dim 1, or dim 0 for 1-D tensors (0-d ones become shape (1,)):
    $y = [x^{(0)}, \dots, x^{(k-1)}]$; each $\partial L/\partial x^{(m)}$ is the slice of $g$ where
    $x^{(m)}$ sits.

    Args:
        tensors: a non-empty sequence of tensors.

    Returns:
        The joined Tensor.
    """
    tensors = [atleast_1d(t) for t in tensors]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    r"""Stacks tensors in sequence vertically, row-wise (`torch.vstack`; alias `row_stack`).

    Each input made at least 2-D (a vector $(n,)$ becomes the row $(1, n)$), then `cat` along dim 0:
    $y = [x^{(0)}; \dots; x^{(k-1)}]$; each $\partial L/\partial x^{(m)}$ is the slice of $g$ where
    $x^{(m)}$ sits.

    Args:
        tensors: a non-empty sequence of tensors.

    Returns:
        The joined Tensor, at least 2-D.
    """
    return cat([atleast_2d(t) for t in tensors], 0)


row_stack = vstack


def dstack(tensors) -> Tensor:
    r"""Stacks tensors in sequence depth-wise, along the third dim (`torch.dstack`).

    Each input made at least 3-D (as `atleast_3d`), then `cat` along dim 2; each
    $\partial L/\partial x^{(m)}$ is the slice of $g$ where $x^{(m)}$ sits, reshaped back.

    Args:
        tensors: a non-empty sequence of tensors.

    Returns:
        The joined Tensor, at least 3-D.
    """
    return cat([atleast_3d(t) for t in tensors], 2)


def column_stack(tensors) -> Tensor:
    r"""Creates a new tensor by horizontally stacking the tensors in `tensors` (`torch.column_stack`).

    0-d and 1-D inputs become columns $(n, 1)$, then `cat` along dim 1: $Y = [x^{(0)}, \dots, x^{(k-1)}]$;
    each $\partial L/\partial x^{(m)}$ is the slice of $g$ where $x^{(m)}$ sits, reshaped back.

    Args:
        tensors: a non-empty sequence of tensors.

    Returns:
        The joined Tensor, at least 2-D.
    """
    return cat([reshape(t, -1, 1) if t.ndim <= 1 else t for t in tensors], 1)


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    r"""Returns a narrowed `input`: the slice `start : start + length` along `dim` (`torch.narrow`).

    $y_{\dots i \dots} = x_{\dots,\, s + i,\, \dots}$ for $0 \le i < \ell$. Gradient: zeros of the shape of
    `input` with $g$ written into that slice.

    Args:
        input: the input tensor.
        dim: the dimension to narrow.
        start: the first index $s$ (negative counts from the end).
        length: the number of elements $\ell$ to keep.

    Returns:
        A Tensor of size `length` along `dim`.
    """
    (axis,) = normalize_axes((dim,), input.ndim, "narrow")
    if start < 0:
        start += input.shape[axis]
    if not 0 <= start <= start + length <= input.shape[axis]:
        raise IndexError(f"narrow: start {start} + length {length} exceeds dim {dim} of size "
                         f"{input.shape[axis]}")
    return getitem(input, (slice(None),) * axis + (slice(start, start + length),))


class Unfold(Function):
    r"""``Tensor.unfold(dim, size, step)``: every window $x[\dots, i\,\text{step} : i\,\text{step} +
    \text{size}, \dots]$ along ``dim``, the window as a new last dim.

    Backward: windows may overlap, so each element's gradient is the sum over the windows
    that contain it (an ``add.at`` over the window indices).
    """

    def forward(self, x, dim, size, step):
        xp = get_array_module(x)
        n = (x.shape[dim] - size) // step + 1
        self.index = (xp.arange(n)[:, None] * step + xp.arange(size)[None, :])  # (n, size)
        self.shape, self.dim = x.shape, dim
        y = xp.take(x, self.index, axis=dim)  # dims: ..., n, size, ...
        return xp.moveaxis(y, dim + 1, -1)

    def backward(self, g):
        xp = get_array_module(g)
        g = xp.moveaxis(g, -1, self.dim + 1)
        dx = xp.zeros(self.shape, dtype=g.dtype)
        xp.add.at(dx, (slice(None),) * self.dim + (self.index,), g)
        return dx


def unfold(x: Tensor, dimension: int, size: int, step: int) -> Tensor:
    r"""Returns all windows of length `size` along `dimension` as a new last dim (`torch.Tensor.unfold`).

    A window starts every `step`: $y_{\dots, w, \dots, j} = x_{\dots,\, w \cdot \text{step} + j,\, \dots}$
    for $w = 0, \dots, \lfloor (n - \text{size}) / \text{step} \rfloor$. Windows may overlap, so each
    element's gradient is the sum over the windows that contain it:
    $\partial L/\partial x_p = \sum_{(w, j):\, w\,\text{step} + j = p} g_{w j}$.

    Args:
        x: the input tensor.
        dimension: the dim to take windows along.
        size: the window length, at most the size $n$ of `dimension`.
        step: the distance between window starts, positive.

    Returns:
        A Tensor of shape (..., (n - size) // step + 1, ..., size).
    """
    if x.ndim == 0:
        x = reshape(x, 1)
    (axis,) = normalize_axes((dimension,), x.ndim, "unfold")
    if size > x.shape[axis] or size < 0 or step <= 0:
        raise RuntimeError(f"unfold: size {size} must be <= {x.shape[axis]} (dim {dimension} of "
                           f"{x.shape}) and step {step} > 0")
    return Unfold.apply(x, dim=axis, size=size, step=step)


__all__ = [
    "reshape", "view", "flatten", "permute", "transpose", "unsqueeze", "squeeze",
    "broadcast_to", "expand", "getitem", "cat", "concatenate", "stack", "split", "chunk", "pad",
    "flip", "fliplr", "flipud", "roll", "rot90", "movedim", "moveaxis", "swapaxes", "swapdims",
    "unflatten", "repeat", "tile", "repeat_interleave", "tril", "triu", "diagonal", "diag_embed",
    "diag", "trace", "broadcast_tensors", "meshgrid", "atleast_1d", "atleast_2d", "atleast_3d",
    "hstack", "vstack", "row_stack", "dstack", "column_stack", "narrow",
]
