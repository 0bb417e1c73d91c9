"""The op catalogue: indexing, shape, scans, order statistics, einsum and products, creation,
and regression tests for bugs found against PyTorch.

Each op: forward values against NumPy, a float64 ``minigrad.gradcheck`` where differentiable,
and the Tensor method where PyTorch has one.
"""

import numpy as np
import pytest

import minigrad as mg

pytestmark = pytest.mark.autograd


def leaf(data):
    return mg.tensor(np.asarray(data, dtype=np.float64), requires_grad=True)


def distinct(rng, shape):
    """Distinct float64 values (no ties, so sort/max-like ops are differentiable)."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.37 - n * 0.15 + 0.05).reshape(shape)


# ----------------------------------------------------------------------------- gather / scatter


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gather_values_and_gradient_with_repeats(dim, rng):
    x = rng.standard_normal((3, 4))
    shape = (5, 4) if dim == 0 else (3, 6)
    index = rng.integers(0, x.shape[dim], size=shape)  # repeats: gradient adds up
    np.testing.assert_array_equal(mg.gather(mg.tensor(x), dim, mg.tensor(index)).numpy(),
                                  np.take_along_axis(x, index, axis=dim))
    assert mg.gradcheck(lambda x: x.gather(dim, mg.tensor(index)), [leaf(x)])


def test_gather_index_smaller_than_input_and_errors():
    x = mg.tensor(np.arange(12.0).reshape(3, 4))
    assert mg.gather(x, 1, mg.tensor([[3, 0]])).tolist() == [[3.0, 0.0]]  # 1 row of 3
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        mg.gather(x, 1, mg.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="out of bounds"):
        mg.gather(x, 1, mg.tensor([[4]]))
    with pytest.raises(RuntimeError, match="int64"):
        mg.gather(x, 1, mg.tensor([[1.0]]))


@pytest.mark.parametrize("dim", [0, 1])
def test_scatter_and_scatter_add(dim, rng):
    x = rng.standard_normal((4, 5))
    src = rng.standard_normal((4, 5))
    # unique target per column (dim 0) or row (dim 1): a permutation's first entries
    if dim == 0:
        index = np.stack([rng.permutation(4)[:3] for _ in range(5)], axis=1)  # (3, 5)
    else:
        index = np.stack([rng.permutation(5)[:2] for _ in range(4)])  # (4, 2)
    expected = x.copy()
    np.put_along_axis(expected, index, src[: index.shape[0], : index.shape[1]], axis=dim)
    got = mg.scatter(mg.tensor(x), dim, mg.tensor(index), mg.tensor(src))
    np.testing.assert_array_equal(got.numpy(), expected)
    assert mg.gradcheck(lambda x, s: x.scatter(dim, mg.tensor(index), s), [leaf(x), leaf(src)])
    # scatter_add with repeated indices: the values add up
    rep = rng.integers(0, x.shape[dim], size=index.shape)
    expected = x.copy()
    np.add.at(expected, tuple(rep if d == dim else np.indices(rep.shape)[d] for d in range(2)),
              src[: rep.shape[0], : rep.shape[1]])
    got = mg.scatter_add(mg.tensor(x), dim, mg.tensor(rep), mg.tensor(src))
    np.testing.assert_allclose(got.numpy(), expected)
    assert mg.gradcheck(lambda x, s: x.scatter_add(dim, mg.tensor(rep), s), [leaf(x), leaf(src)])


def test_scatter_a_value_and_the_in_place_form():
    x = mg.zeros(2, 4)
    y = x.scatter(1, mg.tensor([[1], [3]]), 5.0)
    assert y.tolist() == [[0, 5, 0, 0], [0, 0, 0, 5]]
    x.scatter_(1, mg.tensor([[0], [0]]), value=1.0)
    assert x.tolist() == [[1, 0, 0, 0], [1, 0, 0, 0]]
    assert mg.scatter(mg.zeros(3), 0, mg.tensor([0, 2]), mg.tensor([1.0, 2.0]), reduce="add").tolist() == [1, 0, 2]


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
def test_scatter_reduce(reduce, include_self, rng):
    x = distinct(rng, (5,)) + 0.05
    src = distinct(rng, (6,)) * 0.9 + 0.011
    index = np.array([0, 1, 0, 3, 1, 0])
    out = mg.scatter_reduce(mg.tensor(x), 0, mg.tensor(index), mg.tensor(src), reduce,
                            include_self=include_self).numpy()
    for p in range(5):
        vals = list(src[index == p]) + ([x[p]] if include_self or p not in index else [])
        if p not in index:
            assert out[p] == x[p]
            continue
        ref = {"sum": np.sum, "prod": np.prod, "mean": np.mean, "amax": np.max, "amin": np.min}[reduce](vals)
        np.testing.assert_allclose(out[p], ref)
    assert mg.gradcheck(lambda x, s: mg.scatter_reduce(x, 0, mg.tensor(index), s, reduce,
                                                        include_self=include_self), [leaf(x), leaf(src)])


def test_scatter_reduce_prod_gradient_with_zeros_and_amax_ties():
    x = leaf([2.0, 3.0])
    s = leaf([0.0, 5.0, 0.0])
    y = mg.scatter_reduce(x, 0, mg.tensor([0, 0, 1]), s, "prod")  # [2*0*5, 3*0]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]
    assert s.grad.tolist() == [10.0, 0.0, 3.0]  # one zero: the product of the others
    x = leaf([1.0])
    s = leaf([1.0, 0.5])
    mg.scatter_reduce(x, 0, mg.tensor([0, 0]), s, "amax").backward()
    assert x.grad.tolist() == [0.5] and s.grad.tolist() == [0.5, 0.0]  # ties share, as torch


@pytest.mark.parametrize("dim", [0, 1, 2])
def test_index_select(dim, rng):
    x = rng.standard_normal((3, 4, 2))
    index = np.array([1, 0, 1, 1])[: x.shape[dim] + 1]
    np.testing.assert_array_equal(mg.index_select(mg.tensor(x), dim, mg.tensor(index)).numpy(),
                                  np.take(x, index, axis=dim))
    assert mg.gradcheck(lambda x: x.index_select(dim, mg.tensor(index)), [leaf(x)])
    with pytest.raises(IndexError):
        mg.index_select(mg.tensor(x), dim, mg.tensor([x.shape[dim]]))


def test_index_add_copy_fill(rng):
    x, src = rng.standard_normal((4, 3)), rng.standard_normal((3, 3))
    index = np.array([2, 0, 2])
    expected = x.copy()
    np.add.at(expected, index, 2 * src)
    np.testing.assert_allclose(mg.index_add(mg.tensor(x), 0, mg.tensor(index), mg.tensor(src), alpha=2).numpy(),
                               expected)
    assert mg.gradcheck(lambda x, s: x.index_add(0, mg.tensor(index), s, alpha=2), [leaf(x), leaf(src)])
    unique = np.array([3, 0, 1])
    expected = x.copy()
    expected[unique] = src
    np.testing.assert_array_equal(mg.index_copy(mg.tensor(x), 0, mg.tensor(unique), mg.tensor(src)).numpy(),
                                  expected)
    assert mg.gradcheck(lambda x, s: x.index_copy(0, mg.tensor(unique), s), [leaf(x), leaf(src)])
    filled = mg.index_fill(mg.tensor(x), 1, mg.tensor([0, 2]), -1.0).numpy()
    assert (filled[:, [0, 2]] == -1).all() and (filled[:, 1] == x[:, 1]).all()
    assert mg.gradcheck(lambda x: x.index_fill(1, mg.tensor([0, 2]), -1.0), [leaf(x)])


def test_take_take_along_dim_masked_select_masked_scatter(rng):
    x = rng.standard_normal((3, 4))
    idx = np.array([[0, 11], [5, 5]])
    np.testing.assert_array_equal(mg.take(mg.tensor(x), mg.tensor(idx)).numpy(), np.take(x, idx))
    assert mg.gradcheck(lambda x: x.take(mg.tensor(idx)), [leaf(x)])
    order = np.argsort(x, axis=1)
    np.testing.assert_array_equal(mg.take_along_dim(mg.tensor(x), mg.tensor(order), 1).numpy(), np.sort(x, 1))
    assert mg.gradcheck(lambda x: mg.take_along_dim(x, mg.tensor(order[:, :1]), 1), [leaf(x)])
    mask = x > 0
    np.testing.assert_array_equal(mg.masked_select(mg.tensor(x), mg.tensor(mask)).numpy(), x[mask])
    assert mg.gradcheck(lambda x: x.masked_select(mg.tensor(mask)), [leaf(x)])
    src = rng.standard_normal(12)
    expected = x.copy()
    expected[mask] = src[: mask.sum()]
    np.testing.assert_array_equal(mg.masked_scatter(mg.tensor(x), mg.tensor(mask), mg.tensor(src)).numpy(), expected)
    assert mg.gradcheck(lambda x, s: x.masked_scatter(mg.tensor(mask), s), [leaf(x), leaf(src)])


def test_nonzero_argwhere_and_where_with_one_argument():
    x = mg.tensor([[0, 3], [2, 0]])
    assert mg.nonzero(x).tolist() == [[0, 1], [1, 0]] and mg.nonzero(x).dtype == np.int64
    rows, cols = mg.where(x > 0)
    assert rows.tolist() == [0, 1] and cols.tolist() == [1, 0]
    assert [t.tolist() for t in x.nonzero(as_tuple=True)] == [[0, 1], [1, 0]]
    assert mg.argwhere(x).shape == (2, 2) and mg.count_nonzero(x, dim=0).tolist() == [1, 1]
    assert mg.nonzero(mg.tensor(5)).shape == (1, 0)


# ----------------------------------------------------------------------------- shape ops

SHAPE_OPS = {  # name: (minigrad form, NumPy reference)
    "tril": (lambda x: x.tril(), lambda a: np.tril(a)),
    "tril_k": (lambda x: mg.tril(x, -1), lambda a: np.tril(a, -1)),
    "triu": (lambda x: x.triu(1), lambda a: np.triu(a, 1)),
    "flip": (lambda x: x.flip(0, 2), lambda a: np.flip(a, (0, 2))),
    "fliplr": (mg.fliplr, np.fliplr),
    "flipud": (mg.flipud, np.flipud),
    "roll": (lambda x: x.roll(1, 2), lambda a: np.roll(a, 1, 2)),
    "roll_multi": (lambda x: mg.roll(x, (2, -1), (0, 1)), lambda a: np.roll(a, (2, -1), (0, 1))),
    "roll_flat": (lambda x: mg.roll(x, 5), lambda a: np.roll(a, 5)),
    "rot90": (lambda x: mg.rot90(x), lambda a: np.rot90(a)),
    "rot90_k3": (lambda x: x.rot90(3, (1, 2)), lambda a: np.rot90(a, 3, (1, 2))),
    "rot90_k2": (lambda x: mg.rot90(x, -2), lambda a: np.rot90(a, -2)),
    "movedim": (lambda x: x.movedim(0, -1), lambda a: np.moveaxis(a, 0, -1)),
    "movedim_multi": (lambda x: mg.movedim(x, (0, 1), (2, 0)), lambda a: np.moveaxis(a, (0, 1), (2, 0))),
    "swapaxes": (lambda x: x.swapaxes(0, 2), lambda a: np.swapaxes(a, 0, 2)),
    "unflatten": (lambda x: x.unflatten(2, (2, -1)), lambda a: a.reshape(3, 4, 2, 3)),
    "repeat": (lambda x: x.repeat(2, 1, 1, 2), lambda a: np.tile(a, (2, 1, 1, 2))),
    "tile": (lambda x: x.tile((2,)), lambda a: np.tile(a, 2)),
    "repeat_interleave": (lambda x: x.repeat_interleave(2, dim=1), lambda a: np.repeat(a, 2, 1)),
    "repeat_interleave_flat": (lambda x: mg.repeat_interleave(x, 2), lambda a: np.repeat(a, 2)),
    "repeat_interleave_counts": (lambda x: x.repeat_interleave(mg.tensor([0, 2, 1]), 0),
                                 lambda a: np.repeat(a, [0, 2, 1], 0)),
    "diagonal": (lambda x: x.diagonal(), lambda a: np.diagonal(a)),
    "diagonal_offset": (lambda x: mg.diagonal(x, 1, 1, 2), lambda a: np.diagonal(a, 1, 1, 2)),
    "diagonal_negative": (lambda x: mg.diagonal(x, -1, 2, 0), lambda a: np.diagonal(a, -1, 2, 0)),
    "narrow": (lambda x: mg.narrow(x, 1, 1, 2), lambda a: a[:, 1:3]),
    "unfold": (lambda x: x.unfold(2, 3, 2), lambda a: np.lib.stride_tricks.sliding_window_view(a, 3, 2)[..., ::2, :]),
}


@pytest.mark.parametrize("name", sorted(SHAPE_OPS))
def test_shape_ops_values_and_gradient(name, rng):
    op, ref = SHAPE_OPS[name]
    x = rng.standard_normal((3, 4, 6))
    np.testing.assert_array_equal(op(mg.tensor(x)).numpy(), ref(x))
    assert mg.gradcheck(op, [leaf(x)])


@pytest.mark.parametrize("offset", [0, 1, -2])
def test_diag_diag_embed_trace(offset, rng):
    v, m = rng.standard_normal(3), rng.standard_normal((3, 4))
    np.testing.assert_array_equal(mg.diag(mg.tensor(v), offset).numpy(), np.diag(v, offset))
    np.testing.assert_array_equal(mg.tensor(m).diag(offset).numpy(), np.diag(m, offset))
    assert mg.gradcheck(lambda v: mg.diag(v, offset), [leaf(v)])
    assert mg.gradcheck(lambda m: mg.diag(m, offset), [leaf(m)])
    b = rng.standard_normal((2, 3))
    emb = mg.diag_embed(mg.tensor(b), offset)
    assert emb.shape == (2, 3 + abs(offset), 3 + abs(offset))
    np.testing.assert_array_equal(emb.numpy()[1], np.diag(b[1], offset))
    assert mg.gradcheck(lambda b: mg.diag_embed(b, offset, 0, 2), [leaf(b)])
    np.testing.assert_allclose(mg.trace(mg.tensor(m)).item(), np.trace(m))
    assert mg.gradcheck(mg.trace, [leaf(m)])


def test_combining_helpers(rng):
    a, b = rng.standard_normal(3), rng.standard_normal(2)
    gx, gy = mg.meshgrid(mg.tensor(a), mg.tensor(b), indexing="ij")
    rx, ry = np.meshgrid(a, b, indexing="ij")
    np.testing.assert_array_equal(gx.numpy(), rx) and np.testing.assert_array_equal(gy.numpy(), ry)
    gx, gy = mg.meshgrid(mg.tensor(a), mg.tensor(b), indexing="xy")
    assert gx.shape == (2, 3) and np.array_equal(gx.numpy(), np.meshgrid(a, b)[0])
    assert mg.gradcheck(lambda a, b: mg.meshgrid(a, b)[0] * mg.meshgrid(a, b)[1], [leaf(a), leaf(b)])
    p, q = mg.broadcast_tensors(mg.tensor(a.reshape(3, 1)), mg.tensor(b))
    assert p.shape == q.shape == (3, 2)
    assert mg.atleast_1d(mg.tensor(1.0)).shape == (1,)
    assert mg.atleast_2d(mg.tensor(a)).shape == (1, 3)
    assert [t.shape for t in mg.atleast_3d(mg.tensor(a), mg.tensor(rx))] == [(1, 3, 1), (3, 2, 1)]
    m = rng.standard_normal((2, 3))
    for name in ("hstack", "vstack", "dstack", "column_stack"):
        ref = getattr(np, name)([m, m])
        np.testing.assert_array_equal(getattr(mg, name)([mg.tensor(m), mg.tensor(m)]).numpy(), ref)
    assert mg.hstack([mg.tensor(a), mg.tensor(b)]).shape == (5,)
    assert mg.gradcheck(lambda x, y: mg.vstack([x, y]), [leaf(a), leaf(a)])


def test_shape_errors_are_runtime_errors_like_pytorch():
    x = mg.zeros(2, 3)
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        mg.tril(mg.zeros(3))
    with pytest.raises(RuntimeError, match="can not be smaller"):
        x.repeat(2)
    with pytest.raises(RuntimeError, match="unflatten"):
        x.unflatten(1, (2, 2))
    with pytest.raises(RuntimeError, match="trace: expected a matrix"):
        mg.trace(mg.zeros(2, 2, 2))


# ----------------------------------------------------------------------------- scans and prod


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumsum_cumprod_logcumsumexp(dim, rng):
    x = rng.uniform(0.5, 1.5, (3, 4)) * rng.choice([-1, 1], (3, 4))
    np.testing.assert_allclose(mg.cumsum(mg.tensor(x), dim).numpy(), np.cumsum(x, dim))
    np.testing.assert_allclose(mg.tensor(x).cumprod(dim).numpy(), np.cumprod(x, dim))
    ref = np.log(np.cumsum(np.exp(x), dim))
    np.testing.assert_allclose(mg.logcumsumexp(mg.tensor(x), dim).numpy(), ref)
    for op in (mg.cumsum, mg.cumprod, mg.logcumsumexp):
        assert mg.gradcheck(lambda x, op=op: op(x, dim), [leaf(x)])


@pytest.mark.parametrize("zeros", [[1], [0, 2], [3], [1, 1]], ids=str)
def test_cumprod_and_prod_gradient_is_exact_with_zeros(zeros, rng):
    x = rng.uniform(0.5, 2, 5)
    for z in zeros:
        x[z] = 0.0
    assert mg.gradcheck(lambda x: mg.cumprod(x, 0), [leaf(x)])
    assert mg.gradcheck(mg.prod, [leaf(x)])
    assert mg.gradcheck(lambda x: x.reshape(1, 5).prod(1, keepdim=True), [leaf(x)])


def test_prod_values_and_dtypes(rng):
    x = rng.standard_normal((3, 4))
    np.testing.assert_allclose(mg.prod(mg.tensor(x)).item(), np.prod(x))
    np.testing.assert_allclose(mg.tensor(x).prod(0).numpy(), np.prod(x, 0))
    assert mg.gradcheck(lambda x: x.prod(dim=-1), [leaf(x)])
    assert mg.prod(mg.tensor([2, 3])).dtype == np.int64 and mg.cumsum(mg.tensor([True, True]), 0).tolist() == [1, 2]


def test_logcumsumexp_is_stable():
    x = mg.tensor([1000.0, 1000.0, -1000.0])
    np.testing.assert_allclose(mg.logcumsumexp(x, 0).numpy(), [1000.0, 1000.0 + np.log(2), 1000 + np.log(2)])


@pytest.mark.parametrize("largest", [True, False])
def test_cummax_cummin_values_indices_and_gradient(largest, rng):
    x = distinct(rng, (3, 5))
    op = mg.cummax if largest else mg.cummin
    values, indices = op(mg.tensor(x), 1)
    acc = np.maximum.accumulate if largest else np.minimum.accumulate
    np.testing.assert_array_equal(values.numpy(), acc(x, 1))
    np.testing.assert_array_equal(np.take_along_axis(x, indices.numpy(), 1), acc(x, 1))
    assert mg.gradcheck(lambda x: op(x, 1).values, [leaf(x)])
    # ties: the index moves to the latest equal element, and so does the gradient (as torch)
    t = leaf([1.0, 3.0, 3.0, 2.0] if largest else [3.0, 1.0, 1.0, 2.0])
    out = t.cummax(0) if largest else t.cummin(0)
    assert out.indices.tolist() == [0, 1, 2, 2]
    out.values.sum().backward()
    assert t.grad.tolist() == [1.0, 1.0, 2.0, 0.0]


# ----------------------------------------------------------------------------- order statistics


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dim", [0, -1])
def test_sort_argsort(dim, descending, rng):
    x = distinct(rng, (3, 4))
    values, indices = mg.sort(mg.tensor(x), dim, descending)
    ref = np.sort(x, dim)
    ref = np.flip(ref, dim) if descending else ref
    np.testing.assert_array_equal(values.numpy(), ref)
    np.testing.assert_array_equal(mg.tensor(x).argsort(dim, descending).numpy(), indices.numpy())
    assert mg.gradcheck(lambda x: x.sort(dim, descending).values, [leaf(x)])


def test_sort_is_stable_both_ways_and_puts_nan_last():
    x = mg.tensor([2.0, 1.0, 2.0, 1.0])
    assert mg.sort(x).indices.tolist() == [1, 3, 0, 2]
    assert mg.sort(x, descending=True).indices.tolist() == [0, 2, 1, 3]
    assert mg.sort(mg.tensor([np.nan, 1.0, 0.0])).indices.tolist() == [2, 1, 0]


@pytest.mark.parametrize("largest", [True, False])
def test_topk(largest, rng):
    x = distinct(rng, (3, 6))
    values, indices = mg.topk(mg.tensor(x), 2, dim=1, largest=largest)
    ref = np.sort(x, 1)[:, ::-1][:, :2] if largest else np.sort(x, 1)[:, :2]
    np.testing.assert_array_equal(values.numpy(), ref)
    np.testing.assert_array_equal(np.take_along_axis(x, indices.numpy(), 1), ref)
    assert mg.gradcheck(lambda x: x.topk(2, 0, largest).values, [leaf(x)])
    with pytest.raises(RuntimeError, match="out of range"):
        mg.topk(mg.tensor(x), 7)


def test_kthvalue_median_mode(rng):
    x = distinct(rng, (3, 5))
    v, i = mg.kthvalue(mg.tensor(x), 2, dim=1)
    np.testing.assert_array_equal(v.numpy(), np.sort(x, 1)[:, 1])
    np.testing.assert_array_equal(x[np.arange(3), i.numpy()], v.numpy())
    assert mg.gradcheck(lambda x: x.kthvalue(3, 0).values, [leaf(x)])
    even = distinct(rng, (4, 4))
    v, i = mg.median(mg.tensor(even), 0)
    np.testing.assert_array_equal(v.numpy(), np.sort(even, 0)[1])  # the lower median, as torch
    assert mg.median(mg.tensor(x)).item() == np.median(x)
    assert mg.gradcheck(lambda x: x.median(), [leaf(x)])
    assert mg.gradcheck(lambda x: x.median(1, keepdim=True).values, [leaf(x)])
    assert np.isnan(mg.median(mg.tensor([1.0, np.nan, 3.0])).item())
    assert mg.nanmedian(mg.tensor([1.0, np.nan, 3.0, 2.0])).item() == 2.0
    m = mg.tensor([[1, 2, 2, 3, 3], [5, 4, 4, 5, 0]])
    values, indices = mg.mode(m, 1)
    assert values.tolist() == [2, 4] and indices.tolist() == [2, 2]  # smallest mode, last index


def test_unique():
    x = mg.tensor([[3, 1], [3, 2]])
    values, inverse, counts = mg.unique(x, return_inverse=True, return_counts=True)
    assert values.tolist() == [1, 2, 3] and counts.tolist() == [1, 1, 2]
    assert inverse.tolist() == [[2, 0], [2, 1]]
    assert mg.unique(mg.tensor([[1, 2], [1, 2], [0, 1]]), dim=0).tolist() == [[0, 1], [1, 2]]


# ----------------------------------------------------------------------------- einsum and products

EINSUM = [
    ("ij,jk->ik", [(3, 4), (4, 2)]),
    ("ij,jk", [(3, 4), (4, 2)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 2)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("bii->b", [(2, 3, 3)]),
    ("ij->", [(3, 4)]),
    ("ij->ji", [(3, 4)]),
    ("i,j->ij", [(3,), (4,)]),
    ("i,i->", [(3,), (3,)]),
    ("ij,ij->i", [(3, 4), (3, 4)]),
    ("ijk,k->ij", [(2, 3, 4), (4,)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]),
    ("...ij,...jk", [(2, 1, 3, 4), (3, 4, 2)]),
    ("...i,...i->...", [(2, 3), (3,)]),
    ("i...->...", [(3, 2, 2)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("ijk->j", [(2, 3, 4)]),
    ("ij , j k -> ik", [(2, 3), (3, 2)]),
    ("ij,kj->ik", [(3, 1), (2, 4)]),  # a size-1 named dim broadcasts
]


@pytest.mark.parametrize("equation,shapes", EINSUM, ids=[e for e, _ in EINSUM])
def test_einsum(equation, shapes, rng):
    arrays = [rng.standard_normal(s) for s in shapes]
    if equation == "ij,kj->ik":  # NumPy does not broadcast a named size-1 dim; PyTorch does
        ref = np.einsum(equation, np.broadcast_to(arrays[0], (3, 4)), arrays[1])
    else:
        ref = np.einsum(equation.replace(" ", ""), *arrays)
    np.testing.assert_allclose(mg.einsum(equation, *[mg.tensor(a) for a in arrays]).numpy(), ref, rtol=1e-12)
    assert mg.gradcheck(lambda *xs: mg.einsum(equation, *xs), [leaf(a) for a in arrays])


def test_einsum_operand_list_and_errors():
    a = mg.ones(2, 3)
    assert mg.einsum("ij->j", [a]).tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(RuntimeError, match="subscript 'j' has size"):
        mg.einsum("ij,jk->ik", a, a)
    with pytest.raises(RuntimeError, match="operands"):
        mg.einsum("ij,jk->ik", a)
    with pytest.raises(RuntimeError, match="does not appear"):
        mg.einsum("ij->iz", a)


def test_tensordot_outer_kron_cross_dot(rng):
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 4, 5))
    np.testing.assert_allclose(mg.tensordot(mg.tensor(a), mg.tensor(b), 2).numpy(), np.tensordot(a, b, 2))
    np.testing.assert_allclose(mg.tensordot(mg.tensor(a), mg.tensor(b), ([1], [0])).numpy(),
                               np.tensordot(a, b, ([1], [0])))
    assert mg.gradcheck(lambda a, b: mg.tensordot(a, b, ([2, 1], [1, 0])), [leaf(a), leaf(b)])
    u, v = rng.standard_normal(3), rng.standard_normal(4)
    np.testing.assert_allclose(mg.outer(mg.tensor(u), mg.tensor(v)).numpy(), np.outer(u, v))
    assert mg.gradcheck(mg.outer, [leaf(u), leaf(v)])
    p, q = rng.standard_normal((2, 3)), rng.standard_normal((3, 2))
    np.testing.assert_allclose(mg.kron(mg.tensor(p), mg.tensor(q)).numpy(), np.kron(p, q))
    np.testing.assert_allclose(mg.kron(mg.tensor(u), mg.tensor(p)).numpy(), np.kron(u, p))
    assert mg.gradcheck(mg.kron, [leaf(p), leaf(q)])
    c, d = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    np.testing.assert_allclose(mg.cross(mg.tensor(c), mg.tensor(d), dim=1).numpy(), np.cross(c, d))
    np.testing.assert_allclose(mg.tensor(c).cross(mg.tensor(d)).numpy(), np.cross(c, d))  # first dim of size 3
    assert mg.gradcheck(lambda c, d: mg.cross(c, d, -1), [leaf(c), leaf(d)])
    np.testing.assert_allclose(mg.dot(mg.tensor(u), mg.tensor(u)).item(), u @ u)
    np.testing.assert_allclose(mg.inner(mg.tensor(c), mg.tensor(d)).numpy(), np.inner(c, d))


def test_addmm_baddbmm(rng):
    i, m1, m2 = rng.standard_normal((3, 1)), rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    np.testing.assert_allclose(mg.addmm(mg.tensor(i), mg.tensor(m1), mg.tensor(m2), beta=0.5, alpha=2).numpy(),
                               0.5 * i + 2 * m1 @ m2)
    assert mg.gradcheck(lambda i, a, b: mg.addmm(i, a, b, beta=0.5, alpha=2), [leaf(i), leaf(m1), leaf(m2)])
    b1, b2 = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 2))
    np.testing.assert_allclose(mg.baddbmm(mg.tensor(i), mg.tensor(b1), mg.tensor(b2)).numpy(), i + b1 @ b2)
    assert mg.gradcheck(lambda i, a, b: i.baddbmm(a, b, alpha=3), [leaf(i), leaf(b1), leaf(b2)])
    nan = mg.tensor(np.full((3, 2), np.nan))
    assert np.isfinite(mg.addmm(nan, mg.tensor(m1), mg.tensor(m2), beta=0).numpy()).all()  # beta=0 ignores input


@pytest.mark.parametrize("p", [2, 1, 3, 0.5, float("inf"), float("-inf"), "fro"])
@pytest.mark.parametrize("dim", [None, 1, (0, 1)], ids=str)
def test_norm(p, dim, rng):
    x = distinct(rng, (3, 4)) + 0.01
    order = 2 if p == "fro" else p
    ref = (np.abs(x) ** order).sum(axis=dim) ** (1 / order) if np.isfinite(order) else \
        (np.abs(x).max(axis=dim) if order > 0 else np.abs(x).min(axis=dim))
    np.testing.assert_allclose(mg.norm(mg.tensor(x), p, dim).numpy(), ref)
    assert mg.gradcheck(lambda x: x.norm(p, dim), [leaf(x)])


def test_norm_gradient_at_zero_is_zero_and_inf_ties_share():
    x = leaf([0.0, 0.0])
    mg.norm(x).backward()
    assert x.grad.tolist() == [0.0, 0.0]  # not nan, as torch
    x = leaf([3.0, -3.0, 1.0])
    mg.norm(x, float("inf")).backward()
    assert x.grad.tolist() == [0.5, -0.5, 0.0]
    assert mg.norm(mg.tensor([1.0, 0.0, 2.0]), 0).item() == 2.0


def test_cdist(rng):
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4))
    ref = np.sqrt(((a[:, :, None] - b[:, None]) ** 2).sum(-1))
    np.testing.assert_allclose(mg.cdist(mg.tensor(a), mg.tensor(b)).numpy(), ref)
    assert mg.gradcheck(mg.cdist, [leaf(a), leaf(b)])
    assert mg.gradcheck(lambda a, b: mg.cdist(a, b, p=1.0), [leaf(a + 0.013), leaf(b)])
    same = leaf(a[0])
    mg.cdist(same, same).sum().backward()  # zero distances on the diagonal: finite gradient
    assert np.isfinite(same.grad.numpy()).all()


# ----------------------------------------------------------------------------- creation


def test_creation_functions():
    np.testing.assert_array_equal(mg.eye(3).numpy(), np.eye(3))
    assert mg.eye(2, 3).shape == (2, 3) and mg.eye(2).dtype == np.float32
    assert mg.eye(2, dtype=mg.int64).dtype == np.int64
    np.testing.assert_allclose(mg.linspace(0, 1, 5).numpy(), [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(mg.logspace(0, 2, 3).numpy(), [1, 10, 100])
    np.testing.assert_array_equal(mg.tril_indices(3, 3).numpy(), np.stack(np.tril_indices(3)))
    np.testing.assert_array_equal(mg.triu_indices(3, 4, 1).numpy(), np.stack(np.triu_indices(3, 1, 4)))
    assert mg.linspace(0, 1, 3, requires_grad=True).requires_grad


def test_one_hot():
    from minigrad.ops.creation import one_hot

    assert one_hot(mg.tensor([0, 2])).tolist() == [[1, 0, 0], [0, 0, 1]]
    assert one_hot(mg.tensor([[1]]), 3).shape == (1, 1, 3) and one_hot(mg.tensor([1])).dtype == np.int64
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        one_hot(mg.tensor([3]), 3)
    with pytest.raises(RuntimeError, match="non-negative"):
        one_hot(mg.tensor([-1]), 3)


# ----------------------------------------------------------------------------- regressions


def test_where_with_two_python_scalars():
    cond = mg.tensor([True, False])
    out = mg.where(cond, 4, 2)
    assert out.tolist() == [4, 2] and out.dtype == np.int64
    assert mg.where(cond, 1.5, 0.0).dtype == np.float32


def test_cat_of_0d_tensors_raises_like_pytorch():
    with pytest.raises(RuntimeError, match="zero-dimensional tensor"):
        mg.cat([mg.tensor(1.0), mg.tensor(2.0)])


def test_flatten_with_start_after_end_raises():
    with pytest.raises(RuntimeError, match="cannot come after"):
        mg.zeros(2, 3, 4).flatten(1, 0)
    assert mg.zeros(2, 3, 4).flatten(1, 1).shape == (2, 3, 4)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_of_a_0d_tensor(approximate):
    x = mg.tensor(1.0, dtype=mg.float64, requires_grad=True)
    y = mg.gelu(x, approximate)
    assert y.shape == () and abs(y.item() - 0.8413) < 1e-3
    assert mg.gradcheck(lambda x: mg.gelu(x, approximate), [x])


def test_pow_with_tensor_exponent_has_zero_slope_at_0_to_the_0():
    x, y = leaf([0.0, 2.0]), leaf([0.0, 3.0])
    (x**y).sum().backward()
    assert x.grad.tolist() == [0.0, 12.0]


def test_integer_tensor_to_a_negative_integer_power_raises():
    with pytest.raises(RuntimeError, match="negative integer powers"):
        mg.tensor([2, 3]) ** mg.tensor([1, -1])
    with pytest.raises(RuntimeError, match="negative integer powers"):
        mg.tensor([2, 3]) ** -1
    assert (mg.tensor([2, 3]) ** mg.tensor([2, 0])).tolist() == [4, 1]


def test_methods_are_the_ops():
    x = mg.tensor([[3.0, 1.0], [2.0, 4.0]])
    assert x.cumsum(0).tolist() == mg.cumsum(x, 0).tolist()
    assert x.flip(1).tolist() == [[1.0, 3.0], [4.0, 2.0]]
    assert x.tril().tolist() == [[3.0, 0.0], [2.0, 4.0]]
    x.triu_()
    assert x.tolist() == [[3.0, 1.0], [0.0, 4.0]]


def test_var_mean_std_mean_nansum_nanmean(rng):
    x = rng.standard_normal((3, 4))
    v, m = mg.var_mean(mg.tensor(x), 1)
    np.testing.assert_allclose(v.numpy(), x.var(1, ddof=1)) and np.testing.assert_allclose(m.numpy(), x.mean(1))
    s, m = mg.std_mean(mg.tensor(x), 0, correction=0, keepdim=True)
    np.testing.assert_allclose(s.numpy(), x.std(0, keepdims=True))
    x[0, 1] = x[2, 3] = np.nan
    np.testing.assert_allclose(mg.nansum(mg.tensor(x), 1).numpy(), np.nansum(x, 1))
    np.testing.assert_allclose(mg.tensor(x).nanmean(0).numpy(), np.nanmean(x, 0))
    assert mg.gradcheck(lambda x: mg.nanmean(x, 1), [leaf(x)])
    assert mg.gradcheck(lambda x: mg.std_mean(x, 1)[0] + mg.var_mean(x, 1)[1], [leaf(np.nan_to_num(x))])


def test_normalize(rng):
    from minigrad.ops.activation import normalize

    x = rng.standard_normal((3, 4))
    np.testing.assert_allclose(normalize(mg.tensor(x)).numpy(), x / np.linalg.norm(x, axis=1, keepdims=True))
    np.testing.assert_allclose(normalize(mg.tensor(x), p=1, dim=0).numpy(), x / np.abs(x).sum(0))
    assert mg.gradcheck(lambda x: normalize(x, dim=-1), [leaf(x)])
    assert normalize(mg.zeros(2, 3)).tolist() == [[0.0] * 3] * 2  # eps keeps 0/0 away


def test_flip_returns_a_copy_like_pytorch():
    x = mg.tensor([1.0, 2.0, 3.0])
    y = x.flip(0)
    y[0] = 9.0
    assert x.tolist() == [1.0, 2.0, 3.0] and y.tolist() == [9.0, 2.0, 1.0]


SELECT_FIRST = [  # (index, what PyTorch computes: the integers select first)
    ((0, slice(None), [1, 3]), lambda a: a[0][:, [1, 3]]),
    ((slice(None), 1, [0, 3]), lambda a: a[:, 1][:, [0, 3]]),
    ((Ellipsis, 1, [0, 2]), lambda a: a[:, 1][:, [0, 2]]),
    (([1, 0], 2), lambda a: a[:, 2][[1, 0]]),
    ((1, None, slice(None), [2]), lambda a: a[1][None, :, [2]]),
    ((0, np.array([True, False, True])), lambda a: a[0][np.array([True, False, True])]),
]


@pytest.mark.parametrize("index,expected", SELECT_FIRST, ids=[str(i) for i, _ in SELECT_FIRST])
def test_integers_with_index_arrays_select_first_like_pytorch(index, expected, rng):
    x = rng.standard_normal((2, 3, 4))
    # NumPy would move the idx dim of x[0, :, idx] to the front: (2, 3) instead of (3, 2)
    np.testing.assert_array_equal(mg.tensor(x)[index].numpy(), expected(x))
    assert mg.gradcheck(lambda t: t[index], [leaf(x)])


def test_the_scan_used_on_cupy_matches_numpy_accumulate(monkeypatch, rng):
    """CuPy's ufuncs have no ``accumulate``; scan.py then runs a log-step scan. Run that path here
    by handing it an array module that is NumPy under another name."""
    import minigrad.ops.scan as scan

    class NotNumpy:
        def __getattr__(self, name):
            return getattr(np, name)

    monkeypatch.setattr(scan, "get_array_module", lambda *a: NotNumpy())
    for shape, axis in [((7,), 0), ((3, 9), 1), ((5, 4, 3), 0), ((1,), 0)]:
        x = rng.standard_normal(shape)
        for ufunc in (np.maximum, np.minimum, np.logaddexp):
            np.testing.assert_allclose(scan._accumulate(ufunc, x, axis), ufunc.accumulate(x, axis=axis))


@pytest.mark.parametrize("op", ["amax", "amin", "argmax", "argmin"])
def test_reducing_an_empty_dim_is_an_index_error_naming_the_op(op):
    """As PyTorch (IndexError): the message named an internal op ("extremum") or NumPy's."""
    with pytest.raises(IndexError, match=f"^{op}: expected reduction dim 1 to have non-zero size, "
                                         r"got a tensor of shape \(2, 0\)$"):
        getattr(mg, op)(mg.ones(2, 0), 1)
    assert getattr(mg, op)(mg.ones(0, 3), 1).shape == (0,)  # other dims may be empty
