r"""Indexing ops: pick elements by index (``gather``, ``index_select``, ``take``) or write them
(``scatter``, ``scatter_add``, ``index_add`` ...), and find them (``nonzero``).

One rule gives every backward here. A *read* $y_j = x_{\text{idx}(j)}$ sends each
$g_j$ back to the position it was read from, adding where one position was read
several times: $\partial L/\partial x = \text{scatter\_add}(0, \text{idx}, g)$. A
*write* $y = x$ with $y_{\text{idx}(j)} = s_j$ is the mirror image: $s_j$ gets the
gradient of the place it landed, $\partial L/\partial s_j = g_{\text{idx}(j)}$ (a
gather), and the overwritten entries of $x$ get none.

Index tensors are int64 (int32 is accepted); errors follow PyTorch's
(``RuntimeError`` for a bad index tensor, ``IndexError`` for a bad ``dim``).
"""

from __future__ import annotations

import builtins

import numpy as np

from minigrad.backend import get_array_module
from minigrad.ops._util import lift, normalize_axes
from minigrad.tensor import Function, Tensor

# ============================================================================ helpers


def _index_array(index, like, op: str):
    """An integer index (Tensor, list or array) as an array on ``like``'s device."""
    xp = get_array_module(like)
    array = index._data if isinstance(index, Tensor) else xp.asarray(index)
    if array.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: expected an int64 index tensor, got dtype {array.dtype}")
    return array


def _dim(x: Tensor, dim: int, op: str) -> int:
    (axis,) = normalize_axes((dim,), x.ndim, op) or (0,)
    return axis


def _along(index, dim: int):
    """The full NumPy index that reads ``x[..., index[i, j, k], ...]`` at every position of
    ``index``: ``index`` itself along ``dim`` and an open grid (``arange``) along the others."""
    grid = list(open_grid(index.shape, get_array_module(index)))
    if not grid:  # a 0-d index into a 0-d tensor
        return ()
    grid[dim] = index
    return tuple(grid)


def open_grid(shape, xp):
    """``arange(n)`` along each dim of ``shape``, shaped to broadcast against the others
    (NumPy's ``indices(shape, sparse=True)``, spelled out so CuPy runs it too)."""
    return tuple(xp.arange(n).reshape((1,) * d + (n,) + (1,) * (len(shape) - d - 1))
                 for d, n in enumerate(shape))


def _check_along(x: Tensor, index, dim: int, op: str, src=None) -> None:
    """PyTorch's rules for gather/scatter: same number of dims, index no larger than the
    input outside ``dim`` (and than ``src`` everywhere), every index inside ``dim``."""
    if index.ndim != builtins.max(x.ndim, 0) and not (x.ndim == 0 and index.ndim <= 1):
        raise RuntimeError(
            f"{op}: index tensor must have the same number of dimensions as the input tensor, "
            f"got index of shape {index.shape} and input of shape {x.shape}"
        )
    for d in range(index.ndim if x.ndim else 0):
        if d != dim and index.shape[d] > x.shape[d]:
            raise RuntimeError(
                f"{op}: size does not match at dimension {d}: expected index {tuple(index.shape)} to "
                f"be no larger than input {x.shape} apart from dimension {dim}"
            )
        if src is not None and index.shape[d] > src.shape[d]:
            raise RuntimeError(
                f"{op}: expected index {tuple(index.shape)} to be no larger than src {src.shape} "
                f"in dimension {d}"
            )
    n = x.shape[dim] if x.ndim else 1
    if index.size and (int(index.min()) < -n or int(index.max()) >= n):
        bad = int(index.max()) if int(index.max()) >= n else int(index.min())
        raise RuntimeError(f"{op}: index {bad} is out of bounds for dimension {dim} with size {n}")


# ============================================================================ gather and scatter


class Gather(Function):
    r"""$y_{ijk} = x_{\text{idx}_{ijk}, j, k}$ (for ``dim=0``; likewise along any dim).

    Backward: $\partial L/\partial x = \text{scatter\_add}(0, \text{idx}, g)$: each
    $g_{ijk}$ goes back to the element it was read from, summed where an element
    was read more than once (``add.at`` is NumPy's unbuffered scatter-add).
    """

    def forward(self, x, where):
        self.where, self.shape = where, x.shape
        return x[where]

    def backward(self, g):
        xp = get_array_module(g)
        dx = xp.zeros(self.shape, dtype=g.dtype)
        xp.add.at(dx, self.where, g)
        return dx


def gather(input: Tensor, dim: int, index, *, sparse_grad: bool = False) -> Tensor:
    r"""Gathers values of `input` along the axis `dim` at the positions `index` (`torch.gather`).

    For a 3-D tensor and `dim=1`: $y_{ijk} = x_{i,\,\text{idx}_{ijk},\,k}$. Gradient: each $g_{ijk}$
    goes back to the element it was read from, adding up where an element was read more than
    once: $\partial L/\partial x_{imk} = \sum_{j:\, \text{idx}_{ijk} = m} g_{ijk}$ (a scatter-add).

    Args:
        input: the tensor to read.
        dim: the dimension `index` indexes.
        index: int64 positions, with as many dims as `input` and no larger a size outside `dim`.
        sparse_grad: accepted for PyTorch's signature and ignored.

    Returns:
        A Tensor of the shape of `index`.
    """
    axis = _dim(input, dim, "gather")
    index = _index_array(index, input._data, "gather")
    _check_along(input, index, axis, "gather")
    if input.ndim == 0:  # a 0-d tensor is read as the 1-element vector it holds
        return Gather.apply(input.reshape(1), where=(index.reshape(-1),)).reshape(index.shape)
    return Gather.apply(input, where=_along(index, axis))


class Scatter(Function):
    r"""$y = x$, then $y_{\text{idx}_{ijk}, j, k} = s_{ijk}$ (``dim=0``; a write).

    Backward (PyTorch's formulas): $\partial L/\partial x = g$ with zeros at the
    written positions; $\partial L/\partial s_{ijk} = g_{\text{idx}_{ijk}, j, k}$ (a
    gather), and 0 for the parts of ``src`` outside ``index``'s shape. With
    repeated indices the element written last wins the forward; every copy still
    receives the gradient of its target, as in PyTorch.
    """

    def forward(self, x, src, where, index_shape):
        self.where, self.src_shape = where, src.shape
        self.part = tuple(slice(0, n) for n in index_shape)
        y = x.copy()
        y[where] = src[self.part]
        return y

    def backward(self, g):
        dx = ds = None
        if self.needs_input_grad[0]:
            dx = g.copy()
            dx[self.where] = 0
        if self.needs_input_grad[1]:
            ds = get_array_module(g).zeros(self.src_shape, dtype=g.dtype)
            ds[self.part] = g[self.where]
        return dx, ds


class ScatterAdd(Function):
    r"""$y = x$, then $y_{\text{idx}_{ijk}, j, k} \mathrel{+}= s_{ijk}$ (``dim=0``).

    Backward: $\partial L/\partial x = g$ (every entry of $x$ is in $y$ once) and
    $\partial L/\partial s_{ijk} = g_{\text{idx}_{ijk}, j, k}$ (a gather).
    """

    def forward(self, x, src, where, index_shape):
        self.where, self.src_shape = where, src.shape
        self.part = tuple(slice(0, n) for n in index_shape)
        y = x.copy()
        get_array_module(x).add.at(y, where, src[self.part])
        return y

    def backward(self, g):
        ds = None
        if self.needs_input_grad[1]:
            ds = get_array_module(g).zeros(self.src_shape, dtype=g.dtype)
            ds[self.part] = g[self.where]
        return g, ds


def _scatter_args(input, dim, index, src, op):
    axis = _dim(input, dim, op)
    index = _index_array(index, input._data, op)
    if not isinstance(src, Tensor):
        src = lift(src, input)
    if src.ndim == 0:  # a scalar value fills every indexed position
        src = Tensor._wrap(get_array_module(src._data).broadcast_to(src._data, index.shape)) \
            if not src.requires_grad else src.expand(*index.shape)
    if src.dtype != input.dtype:
        src = src.to(input.dtype)
    _check_along(input, index, axis, op, src)
    return axis, index, src


def scatter(input: Tensor, dim: int, index, src=None, *, value=None, reduce=None) -> Tensor:
    r"""Writes the values of `src` into `input` at the positions `index` along `dim` (`torch.scatter`).

    For `dim=0`: $y = x$, then $y_{\text{idx}_{ijk}, j, k} = s_{ijk}$. Gradient:
    $\partial L/\partial x = g$ with zeros at the written positions, and
    $\partial L/\partial s_{ijk} = g_{\text{idx}_{ijk}, j, k}$ (a gather; with a repeated index one
    write wins the forward, and every copy still gets the gradient of its target, as in PyTorch).

    Args:
        input: the tensor to write into.
        dim: the dimension `index` indexes.
        index: int64 positions, with as many dims as `input`; no larger than `src` anywhere.
        src: the values, a Tensor or a number (`value=` is PyTorch's other spelling).
        reduce: `"add"` or `"multiply"` combine with the existing value (PyTorch's older
            interface to `scatter_reduce`).

    Returns:
        A new Tensor of the shape of `input` (`scatter_` is the in-place form).
    """
    if src is None:
        if value is None:
            raise TypeError("scatter: pass src (a tensor or number) or value=")
        src = value
    if reduce is not None:
        names = {"add": "sum", "multiply": "prod"}
        if reduce not in names:
            raise RuntimeError(f"scatter: reduce argument must be either 'add' or 'multiply', got {reduce!r}")
        return scatter_reduce(input, dim, index, src, names[reduce])
    axis, index, src = _scatter_args(input, dim, index, src, "scatter")
    if input.ndim == 0:
        return scatter(input.reshape(1), 0, index.reshape(-1), src.reshape(-1)).reshape(())
    return Scatter.apply(input, src, where=_along(index, axis), index_shape=index.shape)


def scatter_add(input: Tensor, dim: int, index, src) -> Tensor:
    r"""Adds the values of `src` into `input` at the positions `index` along `dim` (`torch.scatter_add`).

    For `dim=0`: $y = x$, then $y_{\text{idx}_{ijk}, j, k} \mathrel{+}= s_{ijk}$, repeated indices adding
    up. Gradient: $\partial L/\partial x = g$ and $\partial L/\partial s_{ijk} = g_{\text{idx}_{ijk}, j, k}$
    (a gather).

    Args:
        input: the tensor to add into.
        dim: the dimension `index` indexes.
        index: int64 positions, with as many dims as `input`; no larger than `src` anywhere.
        src: the values to add, a Tensor or a number.

    Returns:
        A new Tensor of the shape of `input` (`scatter_add_` is the in-place form).
    """
    axis, index, src = _scatter_args(input, dim, index, src, "scatter_add")
    if input.ndim == 0:
        return scatter_add(input.reshape(1), 0, index.reshape(-1), src.reshape(-1)).reshape(())
    return ScatterAdd.apply(input, src, where=_along(index, axis), index_shape=index.shape)


class ScatterReduce(Function):
    r"""$y_p = \text{reduce}\big(\{x_p\} \cup \{s_j : \text{idx}(j) = p\}\big)$ where some $s_j$ land
    on $p$ (without $x_p$ when ``include_self=False``); $y_p = x_p$ elsewhere.

    Backward, for each position $p$ and each value $v$ that was reduced into it:

    * sum: $\partial y_p / \partial v = 1$;  mean: $1/n_p$ ($n_p$ values were averaged);
    * prod: $\partial y_p/\partial v = \prod_{u \ne v} u$, computed as $y_p / v$ when $v \ne 0$
      and as the product of the others when $v$ is the only zero (0 when there are more);
    * amax / amin: $1/k$ to each of the $k$ values equal to $y_p$ (ties share, as PyTorch).
    """

    def forward(self, x, src, where, index_shape, reduce, include_self):
        xp = get_array_module(x)
        s = src[tuple(slice(0, n) for n in index_shape)]
        self.where, self.src_shape, self.index_shape = where, src.shape, index_shape
        self.reduce, self.include_self = reduce, include_self
        hit = xp.zeros(x.shape, dtype=bool)
        hit[where] = True
        replaced = hit if not include_self else xp.zeros_like(hit)  # x's value left out here
        count = xp.zeros(x.shape, dtype=x.dtype)
        xp.add.at(count, where, 1)
        if include_self:
            count = count + hit
        if reduce in ("sum", "mean"):
            y = xp.where(replaced, 0, x).astype(x.dtype)
            xp.add.at(y, where, s)
            if reduce == "mean":
                y = xp.where(hit, y / xp.maximum(count, 1), y)
                if x.dtype.kind in "iu":
                    y = xp.floor(y).astype(x.dtype)
        elif reduce == "prod":
            y = xp.where(replaced, 1, x).astype(x.dtype)
            xp.multiply.at(y, where, s)
        else:
            ufunc = xp.maximum if reduce == "amax" else xp.minimum
            start = xp.asarray(-np.inf if reduce == "amax" else np.inf)
            if x.dtype.kind in "iu":
                info = np.iinfo(x.dtype)
                start = info.min if reduce == "amax" else info.max
            y = xp.where(replaced, start, x).astype(x.dtype)
            ufunc.at(y, where, s)
        self.x, self.s, self.y, self.hit, self.count, self.replaced = x, s, y, hit, count, replaced
        return y

    def backward(self, g):
        xp = get_array_module(g)
        x, s, y, hit, where = self.x, self.s, self.y, self.hit, self.where
        if self.reduce == "sum":
            gx, gs = g, g[where]
        elif self.reduce == "mean":
            scaled = g / xp.maximum(self.count, 1)
            gx, gs = xp.where(hit, scaled, g), scaled[where]
        elif self.reduce == "prod":
            gx, gs = self._prod_backward(g)
        else:
            # ties share: every value equal to the result gets g / (number of such values)
            winners = xp.zeros(y.shape, dtype=g.dtype)
            xp.add.at(winners, where, (s == y[where]).astype(g.dtype))
            self_wins = (x == y) & ~self.replaced
            winners = winners + self_wins
            share = g / xp.maximum(winners, 1)
            gx = xp.where(self_wins, share, 0)
            gs = xp.where(s == y[where], share[where], 0)
        gx = xp.where(self.replaced, 0, gx)
        ds = xp.zeros(self.src_shape, dtype=g.dtype)
        ds[tuple(slice(0, n) for n in self.index_shape)] = gs
        return gx, ds

    def _prod_backward(self, g):
        xp = get_array_module(g)
        x, s, y, hit, where = self.x, self.s, self.y, self.hit, self.where
        # how many zeros went into each product, and the product of the non-zero values
        zeros = xp.zeros(y.shape, dtype=np.int64)
        xp.add.at(zeros, where, (s == 0).astype(np.int64))
        nonzero_prod = xp.where(self.replaced, 1, xp.where(x == 0, 1, x)).astype(g.dtype)
        xp.multiply.at(nonzero_prod, where, xp.where(s == 0, 1, s))
        if self.include_self:
            zeros = zeros + ((x == 0) & hit)

        def d_prod(v, z, p):  # d y / d v for a value v reduced into a product with z zeros
            safe_v = xp.where(v == 0, 1, v)
            return xp.where(v != 0, xp.where(z == 0, p / safe_v, 0), xp.where(z == 1, p, 0))

        gs = g[where] * d_prod(s, zeros[where], nonzero_prod[where])
        gx = xp.where(hit, g * d_prod(x, zeros, nonzero_prod), g)
        return gx, gs


def scatter_reduce(input: Tensor, dim: int, index, src, reduce: str, *, include_self: bool = True) -> Tensor:
    r"""Reduces all values of `src` into `input` at the indices `index` along `dim` (`torch.scatter_reduce`).

    For `dim=0`, $s_{ijk}$ goes to $p = (\text{idx}_{ijk}, j, k)$ and
    $y_p = \text{reduce}(\{x_p\} \cup \{s_q : q \text{ lands on } p\})$ where something lands
    ($x_p$ left out with `include_self=False`), $y_p = x_p$ elsewhere. Gradient of each value $v$
    reduced into $y_p$: sum $g_p$; mean $g_p / n_p$ ($n_p$ values averaged); prod
    $g_p \prod_{u \ne v} u$ (exact with zeros); amax/amin $g_p / k$ for each of the $k$ values
    equal to $y_p$ (ties share), 0 for the others.

    Args:
        input: the tensor to reduce into; `index` and `src` have as many dims.
        dim: the dimension `index` indexes.
        index: int64 positions along `dim`; no larger than `input` and `src` elsewhere.
        src: the values (a Tensor or a number).
        reduce: `"sum"`, `"prod"`, `"mean"`, `"amax"` or `"amin"`.
        include_self: whether $x_p$ takes part where something lands.

    Returns:
        A Tensor of the shape of `input`.
    """
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise RuntimeError(f"scatter_reduce: reduce must be sum, prod, mean, amax or amin, got {reduce!r}")
    axis, index, src = _scatter_args(input, dim, index, src, "scatter_reduce")
    if input.ndim == 0:
        return scatter_reduce(input.reshape(1), 0, index.reshape(-1), src.reshape(-1), reduce,
                              include_self=include_self).reshape(())
    return ScatterReduce.apply(input, src, where=_along(index, axis), index_shape=index.shape, reduce=reduce,
                               include_self=bool(include_self))


def take_along_dim(input: Tensor, indices, dim: int | None = None) -> Tensor:
    r"""Selects values from `input` at the positions `indices` along `dim` (`torch.take_along_dim`).

    $y_{\dots i \dots} = x_{\dots\, \text{idx}_{\dots i \dots}\, \dots}$ with `indices` replacing the
    coordinate along `dim`, `input` and `indices` broadcast against each other outside `dim`
    (NumPy's `take_along_axis`); `dim=None` reads the flattened tensor. The gradient is
    `gather`'s, a scatter-add: $\partial L/\partial x_p = \sum_{q \text{ read } p} g_q$.

    Args:
        input: the tensor to read.
        indices: int64 indices with as many dims as `input`.
        dim: the dimension to index along; None reads `input` flattened.

    Returns:
        A Tensor of the broadcast shape; 1-D, one element per index, when `dim` is None.
    """
    idx = _index_array(indices, input._data, "take_along_dim")
    if dim is None:
        return gather(input.reshape(-1), 0, idx.reshape(-1))
    axis = _dim(input, dim, "take_along_dim")
    if idx.ndim != input.ndim:
        raise RuntimeError(f"take_along_dim: input {input.shape} and indices {tuple(idx.shape)} "
                           "should have the same number of dimensions")
    shape_x = list(input.shape)
    shape_i = list(idx.shape)
    for d in range(input.ndim):
        if d != axis:
            shape_x[d] = shape_i[d] = np.broadcast_shapes((input.shape[d],), (idx.shape[d],))[0]
    xp = get_array_module(idx)
    from minigrad.ops.shape import broadcast_to

    return gather(broadcast_to(input, tuple(shape_x)), axis, xp.broadcast_to(idx, tuple(shape_i)))


def take(input: Tensor, index) -> Tensor:
    r"""Returns the elements of `input`, read as a 1-D tensor, at the indices `index` (`torch.take`).

    $y_j = \operatorname{vec}(x)_{\text{idx}_j}$ with $\operatorname{vec}(x)$ the elements in row-major
    order. Gradient: a scatter-add into $\operatorname{vec}(x)$,
    $\partial L/\partial \operatorname{vec}(x)_m = \sum_{j:\, \text{idx}_j = m} g_j$, reshaped to the
    shape of `input`.

    Args:
        input: the tensor to read.
        index: int64 indices into the flattened `input` (negative counts from the end).

    Returns:
        A Tensor of the shape of `index`.
    """
    idx = _index_array(index, input._data, "take")
    flat = input.reshape(-1)
    n = flat.shape[0]
    if idx.size and (int(idx.min()) < -n or int(idx.max()) >= n):
        raise IndexError(f"take: index out of range for a tensor of {n} elements (shape {input.shape})")
    return Gather.apply(flat, where=(idx,))


# ============================================================================ index_* along one dim


def index_select(input: Tensor, dim: int, index) -> Tensor:
    r"""Returns the slices of `input` along `dim` at the entries of `index` (`torch.index_select`).

    $y_{\dots j \dots} = x_{\dots\, \text{idx}_j\, \dots}$, in the order of `index`, repeats allowed.
    Gradient: each slice of $g$ is added back into the slice it came from,
    $\partial L/\partial x_{\dots i \dots} = \sum_{j:\, \text{idx}_j = i} g_{\dots j \dots}$.

    Args:
        input: the tensor to read.
        dim: the dimension to select along.
        index: a 0-d or 1-D int64 tensor of slice positions.

    Returns:
        A Tensor with one slice per index along `dim`.
    """
    axis = _dim(input, dim, "index_select")
    idx = _index_array(index, input._data, "index_select")
    if idx.ndim > 1:
        raise IndexError(f"index_select: index must be 0-d or 1-d, got shape {tuple(idx.shape)}")
    n = input.shape[axis] if input.ndim else 1
    if idx.size and (int(idx.min()) < -n or int(idx.max()) >= n):
        raise IndexError(f"index_select: index out of range in self (dim {axis} of shape {input.shape})")
    if input.ndim == 0:
        return Gather.apply(input.reshape(1), where=(idx.reshape(-1),)).reshape(idx.shape)
    return Gather.apply(input, where=(slice(None),) * axis + (idx.reshape(-1),))


class IndexAdd(Function):
    r"""$y = x$, then $y_{\dots \text{idx}_j \dots} \mathrel{+}= \alpha\, s_{\dots j \dots}$ along ``dim``.

    Backward: $\partial L/\partial x = g$;  $\partial L/\partial s_{\dots j \dots} = \alpha\,
    g_{\dots \text{idx}_j \dots}$ (an ``index_select`` of g).
    """

    def forward(self, x, src, where, alpha):
        self.where, self.alpha = where, alpha
        y = x.copy()
        get_array_module(x).add.at(y, where, src * alpha if alpha != 1 else src)
        return y

    def backward(self, g):
        gs = g[self.where]
        return g, gs * self.alpha if self.alpha != 1 else gs


class IndexCopy(Function):
    r"""$y = x$, then $y_{\dots \text{idx}_j \dots} = s_{\dots j \dots}$ along ``dim``.

    Backward: $\partial L/\partial x = g$ with the overwritten slices zeroed;
    $\partial L/\partial s_{\dots j \dots} = g_{\dots \text{idx}_j \dots}$.
    """

    def forward(self, x, src, where):
        self.where = where
        y = x.copy()
        y[where] = src
        return y

    def backward(self, g):
        dx = g.copy()
        dx[self.where] = 0
        return dx, g[self.where]


def _index_args(input, dim, index, source, op):
    axis = _dim(input, dim, op)
    idx = _index_array(index, input._data, op).reshape(-1)
    n = input.shape[axis] if input.ndim else 1
    if idx.size and (int(idx.min()) < -n or int(idx.max()) >= n):
        raise IndexError(f"{op}: index out of range for dim {axis} of a tensor of shape {input.shape}")
    where = (slice(None),) * axis + (idx,)
    if source is None:
        return where, None
    source = source if isinstance(source, Tensor) else lift(source, input)
    if source.dtype != input.dtype:
        source = source.to(input.dtype)
    expected = input.shape[:axis] + (idx.shape[0],) + input.shape[axis + 1:]
    if source.shape != expected and not (source.ndim == 0 and input.ndim == 0):
        raise RuntimeError(f"{op}: source of shape {source.shape} does not match the indexed shape "
                           f"{expected} (input {input.shape}, dim {axis}, {idx.shape[0]} indices)")
    return where, source


def index_add(input: Tensor, dim: int, index, source, *, alpha=1) -> Tensor:
    r"""Adds $\alpha$ times the slices of `source` into `input` at `index` along `dim` (`torch.index_add`).

    $y = x$, then $y_{\dots\, \text{idx}_j\, \dots} \mathrel{+}= \alpha\, s_{\dots j \dots}$, repeats adding
    up. Gradient: $\partial L/\partial x = g$ and
    $\partial L/\partial s_{\dots j \dots} = \alpha\, g_{\dots\, \text{idx}_j\, \dots}$ (an `index_select`
    of $g$).

    Args:
        input: the tensor to add into.
        dim: the dimension `index` indexes.
        index: a 1-D int64 tensor of slice positions.
        source: `input`'s shape with size `len(index)` along `dim`.
        alpha: the scale $\alpha$.

    Returns:
        A new Tensor of the shape of `input` (`index_add_` is the in-place form).
    """
    where, source = _index_args(input, dim, index, source, "index_add")
    if input.ndim == 0:
        return IndexAdd.apply(input.reshape(1), source.reshape(1), where=where, alpha=alpha).reshape(())
    return IndexAdd.apply(input, source, where=where, alpha=alpha)


def index_copy(input: Tensor, dim: int, index, source) -> Tensor:
    r"""Copies the slices of `source` into `input` at the indices `index` along `dim` (`torch.index_copy`).

    $y = x$, then $y_{\dots\, \text{idx}_j\, \dots} = s_{\dots j \dots}$ along `dim`. Gradient:
    $\partial L/\partial x = g$ with the overwritten slices zeroed, and
    $\partial L/\partial s_{\dots j \dots} = g_{\dots\, \text{idx}_j\, \dots}$ (for a repeated index,
    every copy gets the gradient of the slice it targets).

    Args:
        input: the tensor to copy into.
        dim: the dimension `index` indexes.
        index: a 1-D int64 tensor of slice positions.
        source: `input`'s shape with size `len(index)` along `dim`.

    Returns:
        A new Tensor of the shape of `input` (`index_copy_` is the in-place form).
    """
    where, source = _index_args(input, dim, index, source, "index_copy")
    if input.ndim == 0:
        return IndexCopy.apply(input.reshape(1), source.reshape(1), where=where).reshape(())
    return IndexCopy.apply(input, source, where=where)


def index_fill(input: Tensor, dim: int, index, value) -> Tensor:
    r"""Fills the slices `index` of `input` along `dim` with `value` (`torch.index_fill`).

    $y = x$, then $y_{\dots\, \text{idx}_j\, \dots} = v$ along `dim`. Gradient:
    $\partial L/\partial x = g$ with the filled slices zeroed; a 0-d tensor $v$ gets
    $\partial L/\partial v = \sum g$ over the filled entries.

    Args:
        input: the tensor to fill.
        dim: the dimension `index` indexes.
        index: a 1-D int64 tensor of slice positions.
        value: a number or a 0-d Tensor.

    Returns:
        A new Tensor of the shape of `input` (`index_fill_` is the in-place form).
    """
    where, _ = _index_args(input, dim, index, None, "index_fill")
    from minigrad.ops.assign import setitem

    if input.ndim == 0:
        return setitem(input.reshape(1), where, value).reshape(())
    return setitem(input, where, value)


# ============================================================================ masks


def masked_select(input: Tensor, mask) -> Tensor:
    r"""Returns a new 1-D tensor of the entries of `input` where `mask` is True (`torch.masked_select`).

    $y = (x_{p_0}, x_{p_1}, \dots, x_{p_{m-1}})$, where $p_0 < p_1 < \dots$ are the $m$ positions with
    $\text{mask}_p$ True in row-major order (`input` and `mask` broadcast together). Gradient:
    $\partial L/\partial x_{p_r} = g_r$ and 0 off the mask, summed over broadcast copies of `input`.

    Args:
        input: the tensor to read.
        mask: a bool tensor broadcastable with `input`.

    Returns:
        A 1-D Tensor of $m$ elements.
    """
    m = mask._data if isinstance(mask, Tensor) else get_array_module(input._data).asarray(mask)
    if m.dtype.kind != "b":
        raise RuntimeError(f"masked_select: expected a bool mask, got dtype {m.dtype}")
    from minigrad.ops.shape import broadcast_to

    shape = np.broadcast_shapes(input.shape, m.shape)
    x = broadcast_to(input, shape) if input.shape != shape else input
    m = get_array_module(m).broadcast_to(m, shape)
    return Gather.apply(x, where=get_array_module(m).nonzero(m))


class MaskedScatter(Function):
    r"""$y = x$ with the True positions of ``mask``, in row-major order, replaced by the first
    values of ``source`` (flattened).

    Backward: $\partial L/\partial x = g$ zeroed at the mask; $\partial L/\partial s$ = those
    entries of $g$, in the same order (and 0 for the unused rest of ``source``).
    """

    def forward(self, x, source, mask):
        self.where, self.source_shape = get_array_module(mask).nonzero(mask), source.shape
        n = int(mask.sum())
        y = x.copy()
        y[self.where] = source.reshape(-1)[:n]
        self.n = n
        return y

    def backward(self, g):
        xp = get_array_module(g)
        dx = g.copy()
        dx[self.where] = 0
        ds = xp.zeros(int(np.prod(self.source_shape)), dtype=g.dtype)
        ds[: self.n] = g[self.where]
        return dx, ds.reshape(self.source_shape)


def masked_scatter(input: Tensor, mask, source: Tensor) -> Tensor:
    r"""Copies elements from `source` into `input` where `mask` is True (`torch.masked_scatter`).

    With $p_0 < p_1 < \dots < p_{m-1}$ the True positions of `mask` in row-major order:
    $y_{p_r} = s_r$ ($s$ = `source` flattened) and $y = x$ elsewhere. Gradient:
    $\partial L/\partial x = g$ zeroed on the mask, $\partial L/\partial s_r = g_{p_r}$ for $r < m$
    and 0 for the unused rest of `source`.

    Args:
        input: the tensor to write into (broadcast to the shape of `mask` if needed).
        mask: a bool tensor broadcastable with `input`.
        source: a tensor with at least $m$ elements.

    Returns:
        A new Tensor of the broadcast shape.
    """
    m = mask._data if isinstance(mask, Tensor) else get_array_module(input._data).asarray(mask)
    if m.dtype.kind != "b":
        raise RuntimeError(f"masked_scatter: expected a bool mask, got dtype {m.dtype}")
    shape = np.broadcast_shapes(input.shape, m.shape)
    if shape != input.shape:
        from minigrad.ops.shape import broadcast_to

        input = broadcast_to(input, shape)
    m = get_array_module(m).broadcast_to(m, shape)
    if int(m.sum()) > source.numel():
        raise RuntimeError(f"masked_scatter: expected source to have at least {int(m.sum())} "
                           f"elements (one per True in the mask), got {source.numel()}")
    if source.dtype != input.dtype:
        source = source.to(input.dtype)
    return MaskedScatter.apply(input, source, mask=m)


# ============================================================================ finding indices


def nonzero(input: Tensor, *, as_tuple: bool = False):
    r"""Returns the indices of all non-zero elements of `input` (`torch.nonzero`).

    Row $r$ of the result is the index tuple $p_r$ of the $r$-th position with $x_{p} \ne 0$, in
    row-major order: $\{p_0, \dots, p_{N-1}\} = \{p : x_p \ne 0\}$. Integer valued, so not
    differentiable.

    Args:
        input: the tensor to search.
        as_tuple: return one 1-D tensor per dimension instead (NumPy's `nonzero`).

    Returns:
        An int64 Tensor of shape $(N, \text{ndim})$, or a tuple of ndim int64 Tensors of length $N$.
    """
    data = input._data if isinstance(input, Tensor) else np.asarray(input)
    xp = get_array_module(data)
    if as_tuple:
        found = xp.nonzero(data.reshape(1) if data.ndim == 0 else data)
        return tuple(Tensor._wrap(i.astype(np.int64)) for i in found)
    if data.ndim == 0:
        return Tensor._wrap(xp.zeros((int(data != 0), 0), dtype=np.int64))
    return Tensor._wrap(xp.argwhere(data).astype(np.int64))


def argwhere(input: Tensor) -> Tensor:
    r"""Returns a tensor containing the indices of all non-zero elements of `input` (`torch.argwhere`).

    The same as `nonzero(input)`: row $r$ is the index of the $r$-th $x_p \ne 0$ in row-major
    order. Not differentiable.

    Args:
        input: the tensor to search.

    Returns:
        An int64 Tensor of shape $(N, \text{ndim})$.
    """
    return nonzero(input)


def count_nonzero(input: Tensor, dim=None) -> Tensor:
    r"""Counts the number of non-zero values in `input` along `dim` (`torch.count_nonzero`).

    $y = \#\{i : x_i \ne 0\}$ over each reduced slice. Integer valued, so not differentiable.

    Args:
        input: the tensor to count in.
        dim: an int, a tuple of ints, or None for every element.

    Returns:
        An int64 Tensor, with the reduced dims removed.
    """
    axes = None if dim is None else normalize_axes(dim if isinstance(dim, (tuple, list)) else (dim,),
                                                   input.ndim, "count_nonzero")
    out = (input._data != 0).sum(axis=axes)
    return Tensor._wrap(get_array_module(input._data).asarray(out, dtype=np.int64))


__all__ = [
    "gather", "scatter", "scatter_add", "scatter_reduce", "take", "take_along_dim", "index_select",
    "index_add", "index_copy", "index_fill", "masked_select", "masked_scatter", "nonzero", "argwhere",
    "count_nonzero",
]
