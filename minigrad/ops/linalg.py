"""Matrix multiplication, ``einsum`` and the products and norms built on them."""

from __future__ import annotations

import builtins
import string

import numpy as np

from minigrad import dispatch
from minigrad.backend import get_array_module
from minigrad.ops._util import lift_pair, normalize_axes
from minigrad.tensor import Function, Tensor, unbroadcast


class MatMul(Function):
    """Y = A B (batched over leading dims, which broadcast).

    dA = G Bᵀ,  dB = Aᵀ G — each the product that has the right shape. A 1-D
    operand is treated as a row (left) or column (right) vector, as in NumPy,
    and the batch dims a broadcast added are summed away with ``unbroadcast``.
    """

    def forward(self, a, b):
        self.a, self.b = a, b
        return dispatch.matmul(a, b)  # a Triton GEMM on the GPU, BLAS on the CPU

    def backward(self, g):
        a, b = self.a, self.b
        # view vectors as matrices so one pair of formulas covers every case
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if b.ndim == 1:  # restore the dropped column axis, then the dropped row axis
            g = g[..., None]
        if a.ndim == 1:
            g = g[..., None, :]
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = unbroadcast(dispatch.matmul(g, b2.swapaxes(-1, -2)), a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            gb = unbroadcast(dispatch.matmul(a2.swapaxes(-1, -2), g), b2.shape).reshape(b.shape)
        return ga, gb


def matmul(input, other) -> Tensor:
    r"""Matrix product of two tensors, ``input @ other``, with NumPy's and PyTorch's rules.

    $$Y = A B, \qquad \frac{\partial L}{\partial A} = G B^\top, \qquad
      \frac{\partial L}{\partial B} = A^\top G$$

    A 1-D ``input`` is a row, a 1-D ``other`` a column (that dim is dropped); batch dims broadcast and
    backward sums $G$ over those a broadcast added. On a GPU the products are a Triton GEMM.

    Args:
        input: (..., n, k) or (k,).
        other: (..., k, m) or (k,).

    Returns:
        The product, (..., n, m) less the vector dims.

    Raises:
        ValueError: When an operand is 0-d or the inner sizes differ.
    """
    input, other = lift_pair(input, other)
    if input.ndim == 0 or other.ndim == 0:
        raise ValueError(f"matmul: both operands need at least 1 dim, got shapes {input.shape} and "
                         f"{other.shape}")
    inner_b = other.shape[0] if other.ndim == 1 else other.shape[-2]
    if input.shape[-1] != inner_b:
        raise ValueError(f"matmul: shapes {input.shape} and {other.shape} are not aligned")
    return MatMul.apply(input, other)


# ============================================================================ einsum


def _parse_einsum(equation: str, shapes):
    """Rewrite ``equation`` with explicit letters only: each ``...`` becomes fresh letters (aligned
    from the right, as broadcasting), and an implicit output (no ``->``) becomes the letters that
    appear once, in alphabetical order, after the ellipsis letters (NumPy's and PyTorch's rule).

    Returns the input letter strings, the output letter string, and the broadcast shape of
    each input (ellipsis dims broadcast against each other).
    """
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise RuntimeError(f"einsum(): {len(terms)} operands in the equation {equation!r} but "
                           f"{len(shapes)} tensors given")
    used = set(c for c in eq if c.isalpha())
    for c in eq:
        if not (c.isalpha() or c in ",.->"):
            raise RuntimeError(f"einsum(): invalid subscript {c!r} in {equation!r} (letters only)")
    fresh = [c for c in string.ascii_letters if c not in used]
    ellipsis_dims = []
    for term, shape in zip(terms, shapes):
        named = len(term.replace("...", ""))
        if "..." in term:
            ellipsis_dims.append(len(shape) - named)
        elif named != len(shape):
            raise RuntimeError(f"einsum(): the operand subscripts {term!r} name {named} dims but the "
                               f"operand has shape {tuple(shape)}")
        else:
            ellipsis_dims.append(0)
        if ellipsis_dims[-1] < 0:
            raise RuntimeError(f"einsum(): {term!r} names more dims than the operand's shape {tuple(shape)}")
    n_ell = builtins.max(ellipsis_dims, default=0)
    ell_letters = "".join(fresh[:n_ell])
    # the broadcast sizes of the ellipsis dims
    ell_shapes = [tuple(shape[term.index("..."):term.index("...") + k]) if "..." in term else ()
                  for term, shape, k in zip(terms, shapes, ellipsis_dims)]
    try:
        ell_size = np.broadcast_shapes(*ell_shapes) if ell_shapes else ()
    except ValueError:
        raise RuntimeError(f"einsum(): the '...' dims {ell_shapes} of {equation!r} cannot be "
                           "broadcast") from None
    inputs, targets = [], []
    for term, shape, k in zip(terms, shapes, ellipsis_dims):
        letters = term.replace("...", ell_letters[n_ell - k:])
        target = list(shape)
        if "..." in term:
            start = term.index("...")
            target[start:start + k] = ell_size[n_ell - k:]
        inputs.append(letters)
        targets.append(tuple(target))
    if arrow:  # '...' left out of an explicit output is summed over
        output = rhs.replace("...", ell_letters)
    else:
        counts = {}
        for letters in inputs:
            for c in letters:
                counts[c] = counts.get(c, 0) + 1
        once = sorted(c for c, n in counts.items() if n == 1 and c not in ell_letters)
        output = ell_letters + "".join(once)
    if len(set(output)) != len(output):
        raise RuntimeError(f"einsum(): output subscript {output!r} appears more than once in {equation!r}")
    known = set("".join(inputs))
    for c in output:
        if c not in known:
            raise RuntimeError(f"einsum(): output subscript {c!r} does not appear in any input of "
                               f"{equation!r}")
    sizes = {}
    for letters, target in zip(inputs, targets):
        for c, n in zip(letters, target):
            if sizes.setdefault(c, n) != n:
                if n == 1 or sizes[c] == 1:  # a named size-1 dim broadcasts (as in PyTorch)
                    sizes[c] = builtins.max(n, sizes[c])
                    continue
                raise RuntimeError(f"einsum(): subscript {c!r} has size {sizes[c]} and {n} in "
                                   f"{equation!r} (operands {[tuple(s) for s in shapes]})")
    targets = [tuple(sizes[c] for c in letters) for letters in inputs]
    return inputs, output, targets, sizes


class Einsum(Function):
    r"""$y_{\text{out}} = \sum_{\text{other letters}} \prod_k x^{(k)}_{\text{letters}_k}$ (Einstein
    summation over the letters that are not in the output).

    Backward: $y$ is linear in each operand, so $\partial L/\partial x^{(k)}$ is the same kind of
    sum with $g$ in the place of $x^{(k)}$: ``einsum("out,others->letters_k", g, others)``.
    Two details: a letter that only $x^{(k)}$ has (summed in the forward) does not appear
    in that product, so its gradient is broadcast along it; and a repeated letter (``"ii"``,
    a diagonal) receives the gradient on its diagonal only.
    """

    def forward(self, *arrays, inputs, output, sizes):
        self.arrays, self.letters, self.output, self.sizes = arrays, inputs, output, sizes
        xp = get_array_module(*arrays)
        spec = ",".join(inputs) + "->" + output
        return xp.einsum(spec, *arrays, optimize=len(arrays) > 2)

    def backward(self, g):
        return tuple(self._grad(k, g) if need else None for k, need in enumerate(self.needs_input_grad))

    def _grad(self, k, g):
        xp = get_array_module(g)
        letters = self.letters[k]
        unique = "".join(dict.fromkeys(letters))  # letters of x_k, each once, in order
        others = [(self.letters[j], a) for j, a in enumerate(self.arrays) if j != k]
        available = set(self.output).union(*[set(s) for s, _ in others])
        kept = "".join(c for c in unique if c in available)
        spec = ",".join([self.output] + [s for s, _ in others]) + "->" + kept
        grad = xp.einsum(spec, g, *[a for _, a in others], optimize=len(others) > 1)
        # letters summed only inside x_k: the gradient is constant along them
        for position, c in enumerate(unique):
            if c not in available:
                grad = xp.expand_dims(grad, position)
        grad = xp.broadcast_to(grad, tuple(self.sizes[c] for c in unique))
        if len(unique) == len(letters):
            return grad.reshape(self.arrays[k].shape)
        # a repeated letter: only the diagonal entries x_{..i..i..} took part
        dx = xp.zeros(self.arrays[k].shape, dtype=g.dtype)
        index = []
        for c in letters:
            position = unique.index(c)
            view = [1] * len(unique)
            view[position] = self.sizes[c]
            index.append(xp.arange(self.sizes[c]).reshape(view))
        dx[tuple(index)] = grad
        return dx


def einsum(equation: str, *operands) -> Tensor:
    r"""Sums the product of the elements of the operands with the Einstein summation convention.

    $$y_{\text{out}} = \sum_{\text{letters not in out}} \prod_k x^{(k)}_{\text{letters}_k}, \qquad
      \frac{\partial L}{\partial x^{(k)}} = \operatorname{einsum}(\text{out}, \text{others} \to
      \text{letters}_k;\ g, \text{others})$$

    ($y$ is linear in each operand; a letter only $x^{(k)}$ has is broadcast back, a repeated
    letter such as ``"ii"`` gets the gradient on its diagonal). ``...`` stands for any number of
    broadcast dims; without ``->`` the output is the letters used once, in alphabetical order.

    Args:
        equation: The subscripts: ``"ij,jk->ik"`` is ``a @ b``, ``"bii->bi"`` batched diagonals.
        *operands: The tensors, one per term (or a single list of them).

    Returns:
        The summed product.
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    operands = [t if isinstance(t, Tensor) else Tensor(t) for t in operands]
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    if builtins.len({t.dtype.kind == "f" for t in operands}) > 1:
        dtype = np.result_type(*[t.dtype for t in operands if t.dtype.kind == "f"])
        operands = [t if t.dtype.kind == "f" else t.to(dtype) for t in operands]
    inputs, output, targets, sizes = _parse_einsum(equation, [t.shape for t in operands])
    from minigrad.ops.shape import broadcast_to

    prepared = []
    for t, target in zip(operands, targets):
        if t.shape != target:  # size-1 dims (in '...' or named) broadcast to the common size
            t = broadcast_to(t, target)
        prepared.append(t)
    return Einsum.apply(*prepared, inputs=tuple(inputs), output=output, sizes=sizes)


def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    r"""Returns a contraction of ``a`` and ``b`` over multiple dimensions.

    $$y_{IJ} = \sum_{K} a_{IK}\, b_{KJ}, \qquad
      \frac{\partial L}{\partial a_{IK}} = \sum_{J} g_{IJ}\, b_{KJ}$$

    ($I$, $J$, $K$: the multi-indices of the dims of ``a`` left, of ``b`` left, and contracted;
    symmetrically for $b$): computed as an ``einsum``, whose backward gives these sums.

    Args:
        a: The left tensor.
        b: The right tensor.
        dims: An int $d$ (the last $d$ dims of ``a`` with the first $d$ of ``b``) or the pairs
            ``([a dims], [b dims])``.

    Returns:
        The dims of ``a`` left, then those of ``b`` left.
    """
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot: expects dims >= 0, got {dims}")
        dims_a, dims_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        dims_a, dims_b = ([d] if isinstance(d, int) else list(d) for d in dims)
    dims_a = normalize_axes(dims_a, a.ndim, "tensordot")
    dims_b = normalize_axes(dims_b, b.ndim, "tensordot")
    if len(dims_a) != len(dims_b):
        raise RuntimeError(f"tensordot: both dim lists should have the same length, got {dims_a}, {dims_b}")
    for da, db in zip(dims_a, dims_b):
        if a.shape[da] != b.shape[db]:
            raise RuntimeError(f"tensordot: contracted dimensions need to match, but first has size "
                               f"{a.shape[da]} in dim {da} and second has size {b.shape[db]} in dim {db}")
    letters = iter(string.ascii_letters)
    la = [next(letters) for _ in range(a.ndim)]
    lb = [next(letters) for _ in range(b.ndim)]
    for da, db in zip(dims_a, dims_b):
        lb[db] = la[da]
    out = [c for i, c in enumerate(la) if i not in dims_a] + [c for i, c in enumerate(lb) if i not in dims_b]
    return einsum("".join(la) + "," + "".join(lb) + "->" + "".join(out), a, b)


# ============================================================================ products


def _vector(t, op, name):
    if t.ndim != 1:
        raise RuntimeError(f"{op}: {name} must be a 1-D tensor, got shape {t.shape}")


def dot(input: Tensor, tensor: Tensor) -> Tensor:
    r"""$\sum_i a_i b_i$ of two 1-D tensors (``torch.dot``)."""
    _vector(input, "dot", "input"), _vector(tensor, "dot", "tensor")
    if input.shape != tensor.shape:
        raise RuntimeError(f"dot: 1-D tensors must have the same size, got {input.shape} and {tensor.shape}")
    return matmul(input, tensor)


vdot = dot  # real tensors: no conjugation


def inner(input: Tensor, other: Tensor) -> Tensor:
    r"""Computes the dot product for 1-D tensors; for more dims, sums the product of elements of
    ``input`` and ``other`` along their last dimension.

    $$y_{i\ldots,\,j\ldots} = \sum_k a_{i\ldots k}\, b_{j\ldots k}, \qquad
      \frac{\partial L}{\partial a_{i\ldots k}} = \sum_{j\ldots} g_{i\ldots j\ldots}\, b_{j\ldots k}$$

    (and symmetrically for $b$; a ``tensordot``). A 0-d operand multiplies: $y = a\,b$.

    Args:
        input: A tensor.
        other: A tensor with the same last size as ``input``.

    Returns:
        The shape ``input.shape[:-1] + other.shape[:-1]``.
    """
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    return tensordot(input, other, ([-1], [-1]))


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    r"""Outer product of two vectors, $Y_{ij} = a_i b_j$ (``torch.outer``, alias ``ger``)."""
    _vector(input, "outer", "input"), _vector(vec2, "outer", "vec2")
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


ger = outer


def mv(input: Tensor, vec: Tensor) -> Tensor:
    r"""Performs a matrix-vector product of the matrix ``input`` and the vector ``vec``.

    $$y_i = \sum_j a_{ij} v_j, \qquad \frac{\partial L}{\partial a} = g\, v^\top, \qquad
      \frac{\partial L}{\partial v} = a^\top g$$

    (a ``matmul``).

    Args:
        input: A matrix (n, m).
        vec: A vector (m,).

    Returns:
        A vector (n,).
    """
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"mv: expected a matrix and a vector, got shapes {input.shape} and {vec.shape}")
    return matmul(input, vec)


def kron(input: Tensor, other: Tensor) -> Tensor:
    r"""Kronecker product (``torch.kron``): for matrices, the block matrix $[a_{ij} B]$; in general
    $y_{(i_0 m_0 + j_0), \dots} = a_{i_0 \dots} b_{j_0 \dots}$. A ``mul`` of interleaved views."""
    from minigrad.ops.shape import reshape

    n = builtins.max(input.ndim, other.ndim)
    input = reshape(input, (1,) * (n - input.ndim) + input.shape)
    other = reshape(other, (1,) * (n - other.ndim) + other.shape)
    a_view = [s for d in input.shape for s in (d, 1)]
    b_view = [s for d in other.shape for s in (1, d)]
    y = reshape(input, a_view) * reshape(other, b_view)
    return reshape(y, tuple(p * q for p, q in zip(input.shape, other.shape)))


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    r"""Cross product of 3-vectors along ``dim`` (``torch.cross``):
    $a \times b = (a_1 b_2 - a_2 b_1,\ a_2 b_0 - a_0 b_2,\ a_0 b_1 - a_1 b_0)$.

    ``dim=None`` takes the first dim of size 3, as PyTorch's default
    (``torch.linalg.cross`` uses -1). Composed of ``mul``, ``sub`` and ``stack``.
    """
    from minigrad.ops.shape import broadcast_to, stack

    shape = np.broadcast_shapes(input.shape, other.shape)
    if dim is None:
        dims = [d for d, s in enumerate(shape) if s == 3]
        if not dims:
            raise RuntimeError(
                f"cross: no dimension of size 3 in input (shapes {input.shape}, {other.shape})")
        dim = dims[0]
    (axis,) = normalize_axes((dim,), len(shape), "cross")
    if shape[axis] != 3:
        raise RuntimeError(f"cross: inputs dimension {dim} must have length 3, got shapes {input.shape}, "
                           f"{other.shape}")
    input, other = broadcast_to(input, shape), broadcast_to(other, shape)

    def part(t, i):
        return t[(slice(None),) * axis + (i,)]

    c = [part(input, 1) * part(other, 2) - part(input, 2) * part(other, 1),
         part(input, 2) * part(other, 0) - part(input, 0) * part(other, 2),
         part(input, 0) * part(other, 1) - part(input, 1) * part(other, 0)]
    return stack(c, axis)


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    r"""$\beta\,\text{input} + \alpha\,(\text{mat1} \cdot \text{mat2})$ for matrices (``torch.addmm``)."""
    if mat1.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"addmm: mat1 and mat2 must be matrices, got {mat1.shape} and {mat2.shape}")
    return _scaled_sum(input, matmul(mat1, mat2), beta, alpha)


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta=1, alpha=1) -> Tensor:
    r"""$\beta\,\text{input} + \alpha\,(\text{mat} \cdot \text{vec})$ (``torch.addmv``)."""
    return _scaled_sum(input, mv(mat, vec), beta, alpha)


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    r"""$\beta\,\text{input} + \alpha\,(\text{batch1} \mathbin{@} \text{batch2})$ for (b, n, m) @ (b, m, p)
    (``torch.baddbmm``)."""
    if batch1.ndim != 3 or batch2.ndim != 3:
        raise RuntimeError(f"baddbmm: batch1 and batch2 must be 3-D, got {batch1.shape} and {batch2.shape}")
    return _scaled_sum(input, matmul(batch1, batch2), beta, alpha)


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    r"""$\beta\,\text{input} + \alpha \sum_b \text{batch1}_b \,\text{batch2}_b$ (``torch.addbmm``)."""
    if batch1.ndim != 3 or batch2.ndim != 3:
        raise RuntimeError(f"addbmm: batch1 and batch2 must be 3-D, got {batch1.shape} and {batch2.shape}")
    return _scaled_sum(input, matmul(batch1, batch2).sum(0), beta, alpha)


def _scaled_sum(input, product, beta, alpha):
    if alpha != 1:
        product = product * alpha
    if beta == 0:  # PyTorch ignores input then (even its nan and inf)
        return product
    return (input * beta if beta != 1 else input) + product


# ============================================================================ norms and distances


class VectorNorm(Function):
    r"""$\lVert x \rVert_p = \big(\sum_i |x_i|^p\big)^{1/p}$ over ``axes``.

    $\partial \lVert x \rVert_p / \partial x_i = \operatorname{sign}(x_i)\,|x_i|^{p-1} /
    \lVert x \rVert_p^{\,p-1}$; for $p = 2$ that is $x_i / \lVert x \rVert$, for $p = 1$
    $\operatorname{sign}(x_i)$. For $p = \pm\infty$ the gradient goes to the entries with
    $|x_i| = \lVert x \rVert$, shared equally between ties; $p = 0$ (a count) has none.
    Where the norm is 0 the gradient is 0 (PyTorch's subgradient), not $0/0$.
    """

    def forward(self, x, p, axes, keepdim):
        xp = get_array_module(x)
        a = xp.abs(x)
        if p == float("inf"):
            y = a.max(axis=axes, keepdims=True)
        elif p == float("-inf"):
            y = a.min(axis=axes, keepdims=True)
        elif p == 0:
            y = (a != 0).sum(axis=axes, keepdims=True).astype(x.dtype)
        elif p == 1:
            y = a.sum(axis=axes, keepdims=True)
        elif p == 2:
            y = xp.sqrt((x * x).sum(axis=axes, keepdims=True))
        else:
            y = ((a**p).sum(axis=axes, keepdims=True)) ** (1 / p)
        self.x, self.y, self.p, self.axes, self.keepdim = x, y, p, axes, keepdim
        return y if keepdim else y.squeeze(axis=axes)

    def backward(self, g):
        xp = get_array_module(g)
        x, y, p = self.x, self.y, self.p
        if not self.keepdim:
            g = xp.expand_dims(g, self.axes)
        if p == 0:
            return xp.zeros_like(x)
        if p in (float("inf"), float("-inf")):
            winners = xp.abs(x) == y
            return g * xp.sign(x) * winners / winners.sum(axis=self.axes, keepdims=True)
        if p == 1:
            return g * xp.sign(x)
        safe_y = xp.where(y == 0, 1, y)
        if p == 2:
            return xp.where(y == 0, 0, g * x / safe_y)
        scale = xp.sign(x) * xp.abs(x) ** (p - 1) / safe_y ** (p - 1)
        return xp.where(y == 0, 0, g * scale)


def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A002
    r"""$\big(\sum_i |x_i|^p\big)^{1/p}$ over ``dim`` (int, tuple, or None for every element), with
    $p$ = ``ord``: any real, ``inf`` (max $|x_i|$), ``-inf`` (min) or 0 (the count of non-zeros)
    (``torch.linalg.vector_norm``)."""
    from minigrad.ops._util import as_float

    if dtype is not None:
        x = x.to(dtype)
    x = as_float(x)
    axes = normalize_axes(None if dim is None else (dim if isinstance(dim, (tuple, list)) else (dim,)),
                          x.ndim, "vector_norm")
    p = float(ord)
    if x.numel() == 0 and p < 0:
        raise RuntimeError(f"vector_norm: cannot compute the {ord}-norm of an empty tensor")
    return VectorNorm.apply(x, p=p, axes=axes, keepdim=keepdim)


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    r"""``torch.norm``: the vector $p$-norm over ``dim`` (every element when None). ``"fro"``
    (the default) is the 2-norm of all entries (over ``dim``, if given). ``"nuc"`` needs an SVD
    and is not supported."""
    if p == "fro" or p is None:
        p = 2
    elif isinstance(p, str):
        raise NotImplementedError(f"norm: p={p!r} is not supported by minigrad (use 'fro' or a number)")
    return vector_norm(input, p, dim, keepdim, dtype=dtype)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode=None) -> Tensor:
    r"""Pairwise distances $D_{ij} = \lVert x1_i - x2_j \rVert_p$ between the rows of (..., P, M) and
    (..., R, M) (``torch.cdist``); the gradient is 0 at zero distance, as PyTorch's."""
    if x1.ndim < 2 or x2.ndim < 2 or x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"cdist: expects (..., P, M) and (..., R, M) with the same M, got {x1.shape} "
                           f"and {x2.shape}")
    from minigrad.ops.shape import unsqueeze

    diff = unsqueeze(x1, -2) - unsqueeze(x2, -3)  # (..., P, R, M)
    return vector_norm(diff, p, dim=-1)


__all__ = [
    "matmul", "einsum", "tensordot", "dot", "vdot", "inner", "outer", "ger", "mv", "kron", "cross",
    "addmm", "addmv", "baddbmm", "addbmm", "norm", "vector_norm", "cdist",
]


# ============================================================================ the affine map of nn.Linear


class Linear(Function):
    """y = x Wᵀ + b for x of shape (..., in), W (out, in), b (out).

    Backward:  dx = g W,  dW = gᵀ x,  db = Σ g over every row
    (leading dims are flattened into rows so one matrix product does each).
    """

    def forward(self, x, weight, bias=None):
        # (N, L, in) -> (N·L, in): one big GEMM, where NumPy would run one per leading index
        self.x2, self.weight, self.has_bias = x.reshape(-1, x.shape[-1]), weight, bias is not None
        self.x_shape = x.shape
        y = dispatch.linear(self.x2, weight, bias)  # on a GPU: one Triton GEMM, bias fused
        return y.reshape(x.shape[:-1] + (weight.shape[0],))

    def backward(self, g):
        g2 = g.reshape(-1, g.shape[-1])
        # the first layer's input is data: skip its gradient, a matmul as big as the forward
        dx = None
        if self.needs_input_grad[0]:
            dx = dispatch.matmul(g2, self.weight).reshape(self.x_shape)
        dw = dispatch.matmul(g2.T, self.x2)
        if not self.has_bias:
            return dx, dw
        return dx, dw, g2.sum(axis=0)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    r"""Applies a linear transformation to the incoming data: $y = x W^\top + b$.

    $$\frac{\partial L}{\partial x} = G W, \qquad \frac{\partial L}{\partial W} = G^\top X, \qquad
      \frac{\partial L}{\partial b} = \sum_{\text{rows}} G$$

    with the leading dims of $x$ flattened into the rows of $X$ (one matrix product each);
    the gradient of $x$ is skipped when $x$ needs none. On a GPU one Triton GEMM, bias fused.

    Args:
        input: $x$, of shape (..., in).
        weight: $W$, of shape (out, in).
        bias: $b$, of shape (out,), or None.

    Returns:
        A tensor (..., out).
    """
    if input.shape[-1:] != weight.shape[1:]:
        raise ValueError(
            f"linear: input of shape {input.shape} has {input.shape[-1] if input.ndim else 0} "
            f"features but weight of shape {weight.shape} expects {weight.shape[1]}"
        )
    if bias is None:
        return Linear.apply(input, weight)
    return Linear.apply(input, weight, bias)
