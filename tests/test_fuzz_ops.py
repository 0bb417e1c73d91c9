"""Fuzz tests: forward values, shapes and dtypes of elementwise, reduction and shape ops vs NumPy.

Inputs are drawn by hypothesis (bounded, derandomized: the same examples on every run) and
include NaN, +-inf, -0.0, zero-size arrays and 0-d arrays. The reference is NumPy, written
to follow PyTorch wherever the two differ (PyTorch is the specification): e.g. ``squeeze(d)``
of a dimension whose size is not 1 is a no-op, reductions accept ``dim=0`` on a 0-d tensor,
and a reduction over an empty dimension without identity (max, argmax...) is an error.

Divergences from PyTorch found by this fuzzing have their own tests at the end (each
names what PyTorch does); they were written as strict ``xfail`` first, then fixed.
"""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg

pytestmark = [pytest.mark.autograd, pytest.mark.filterwarnings("ignore::RuntimeWarning")]

SPECIAL = [np.nan, np.inf, -np.inf, -0.0, 0.0]
FUZZ = settings(max_examples=40, deadline=None, derandomize=True)
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
DTYPES = st.sampled_from([np.float32, np.float64])


def _elements(dtype, wide=False):
    bits = np.dtype(dtype).itemsize * 8
    finite = (st.floats(width=bits, allow_nan=False, allow_infinity=False) if wide
              else st.floats(-50, 50, width=bits))
    return st.one_of(finite, st.sampled_from(SPECIAL))


@st.composite
def arrays(draw, shape=SHAPES, wide=False, dtype=None):
    dtype = dtype or draw(DTYPES)
    return draw(hnp.arrays(dtype, shape, elements=_elements(dtype, wide)))


def check(got, expected):
    """Same shape, same dtype, same values (NaN where NaN, inf signs included)."""
    assert isinstance(got, mg.Tensor), type(got)
    expected = np.asarray(expected)
    value = got.numpy()
    assert value.shape == expected.shape, (value.shape, expected.shape)
    assert value.dtype == expected.dtype, (value.dtype, expected.dtype)
    if expected.dtype.kind == "f":
        tiny = np.finfo(expected.dtype).tiny
        rtol = 1e-5 if expected.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(value, expected, rtol=rtol, atol=tiny, equal_nan=True)
    else:
        np.testing.assert_array_equal(value, expected)


# ----------------------------------------------------------------------------- elementwise

UNARY = {
    "neg": np.negative, "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "abs": np.abs,
    "tanh": np.tanh, "relu": lambda x: np.where(np.isnan(x), x, np.maximum(x, 0)),
    "sigmoid": lambda x: (1 / (1 + np.exp(-x.astype(np.float64)))).astype(x.dtype),
}


@FUZZ
@given(x=arrays(wide=True), name=st.sampled_from(sorted(UNARY)))
def test_unary_ops_match_numpy(x, name):
    with np.errstate(all="ignore"):
        check(getattr(mg, name)(mg.tensor(x)), UNARY[name](x))
        if name != "relu":
            check(getattr(mg.tensor(x), name)(), UNARY[name](x))


BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
    "maximum": np.maximum, "minimum": np.minimum, "pow": np.power,
}


@FUZZ
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=3,
                                                 min_side=0, max_side=3),
       dtypes=st.tuples(DTYPES, DTYPES), name=st.sampled_from(sorted(BINARY)), data=st.data())
def test_binary_ops_broadcast_and_promote_like_numpy(shapes, dtypes, name, data):
    a = data.draw(arrays(st.just(shapes.input_shapes[0]), dtype=dtypes[0]))
    b = data.draw(arrays(st.just(shapes.input_shapes[1]), dtype=dtypes[1]))
    with np.errstate(all="ignore"):
        expected = BINARY[name](a, b)
        check(getattr(mg, name)(mg.tensor(a), mg.tensor(b)), expected)


@FUZZ
@given(x=arrays(), scalar=st.one_of(st.sampled_from([0.0, -0.0, 2.0, np.inf, np.nan]),
                                    st.floats(-10, 10)),
       name=st.sampled_from(["add", "sub", "mul", "div", "pow"]))
def test_tensor_with_a_python_number_keeps_the_tensor_dtype(x, scalar, name):
    ops = {"add": lambda t, s: t + s, "sub": lambda t, s: t - s, "mul": lambda t, s: t * s,
           "div": lambda t, s: t / s, "pow": lambda t, s: t ** s}
    with np.errstate(all="ignore"):
        expected = BINARY[name](x, np.asarray(scalar, dtype=x.dtype))
        check(ops[name](mg.tensor(x), scalar), expected)


@FUZZ
@given(x=arrays(), bounds=st.tuples(st.floats(-5, 5), st.floats(-5, 5)))
def test_clamp_matches_numpy(x, bounds):
    lo, hi = sorted(bounds)
    expected = np.where(np.isnan(x), x, np.minimum(np.maximum(x, lo), hi)).astype(x.dtype)
    check(mg.clamp(mg.tensor(x), lo, hi), expected)


# ----------------------------------------------------------------------------- reductions


@st.composite
def reduction_case(draw):
    x = draw(arrays())
    choices = [None] + (list(range(-x.ndim, x.ndim)) if x.ndim else [0, -1])
    return x, draw(st.sampled_from(choices)), draw(st.booleans())


def _np_reduce(fn, x, dim, keepdim):
    """NumPy's reduction with PyTorch's rules: dim 0 / -1 allowed on 0-d tensors, and
    ``dim=None, keepdim=True`` keeps every dimension with size 1."""
    if x.ndim == 0:
        return fn(x, axis=None, keepdims=False)
    return fn(x, axis=dim, keepdims=keepdim)


def _logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    shift = np.where(np.isfinite(m), m, 0)
    out = np.log(np.sum(np.exp(x - shift), axis=axis, keepdims=True)) + shift
    return out if keepdims else (np.squeeze(out, axis) if axis is not None else out.reshape(()))


REDUCTIONS = {
    "sum": np.sum, "mean": np.mean,
    "var": lambda x, axis, keepdims: np.var(x, axis=axis, keepdims=keepdims, ddof=1),
    "std": lambda x, axis, keepdims: np.std(x, axis=axis, keepdims=keepdims, ddof=1),
    "amax": np.max, "amin": np.min, "logsumexp": _logsumexp,
}
NO_IDENTITY = {"amax", "amin", "logsumexp"}  # logsumexp of nothing is -inf in PyTorch, see below


@FUZZ
@given(case=reduction_case(), name=st.sampled_from(sorted(REDUCTIONS)))
def test_reductions_match_numpy(case, name):
    x, dim, keepdim = case
    reduced_nothing = x.size == 0 and (dim is None or x.shape[dim] == 0) and x.ndim
    if name in NO_IDENTITY and reduced_nothing:
        if name == "logsumexp":
            assume(False)  # tested on its own below: PyTorch gives -inf, minigrad raises
        with pytest.raises((ValueError, IndexError, RuntimeError)):
            getattr(mg, name)(mg.tensor(x), dim=dim, keepdim=keepdim)
        return
    with np.errstate(all="ignore"):
        expected = np.asarray(_np_reduce(REDUCTIONS[name], x, dim, keepdim), dtype=x.dtype)
    check(getattr(mg, name)(mg.tensor(x), dim=dim, keepdim=keepdim), expected)


@FUZZ
@given(case=reduction_case(), largest=st.booleans())
def test_max_min_with_dim_give_values_and_indices_like_pytorch(case, largest):
    x, dim, keepdim = case
    assume(dim is not None)
    assume(not (x.ndim == 0 and keepdim))  # tested on its own below: keepdim on a 0-d tensor
    op, arg = (mg.max, np.argmax) if largest else (mg.min, np.argmin)
    if x.ndim and x.shape[dim] == 0:
        with pytest.raises((ValueError, IndexError, RuntimeError)):
            op(mg.tensor(x), dim, keepdim)
        return
    values, indices = op(mg.tensor(x), dim, keepdim)
    if x.ndim == 0:
        expected_idx = np.array(0, dtype=np.int64)
    else:
        # PyTorch treats NaN as the extreme; np.argmax/argmin return the first NaN too
        expected_idx = np.asarray(arg(x, axis=dim, keepdims=keepdim), dtype=np.int64)
    check(indices, expected_idx)
    picked = (np.take_along_axis(x, expected_idx if keepdim else np.expand_dims(expected_idx, dim),
                                 axis=dim) if x.ndim else x)
    check(values, picked if keepdim or not x.ndim else np.squeeze(picked, dim))
    arg_op = mg.argmax if largest else mg.argmin
    check(arg_op(mg.tensor(x), dim, keepdim), expected_idx)


# ----------------------------------------------------------------------------- shape ops


@FUZZ
@given(x=arrays(), data=st.data())
def test_reshape_flatten_squeeze_unsqueeze_match_numpy(x, data):
    t = mg.tensor(x)
    check(t.reshape(-1), x.reshape(-1))
    check(t.reshape(*x.shape[::-1]), x.reshape(x.shape[::-1]))
    check(mg.flatten(t), x.reshape(-1))  # a 0-d tensor flattens to shape (1,)
    check(mg.squeeze(t), np.squeeze(x))
    d = data.draw(st.integers(-x.ndim - 1, x.ndim))
    check(mg.unsqueeze(t, d), np.expand_dims(x, d))
    if x.ndim:
        d = data.draw(st.integers(-x.ndim, x.ndim - 1))
        check(mg.squeeze(t, d), np.squeeze(x, d) if x.shape[d] == 1 else x)  # PyTorch: no-op


@FUZZ
@given(x=arrays(shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=3)),
       data=st.data())
def test_transpose_permute_expand_match_numpy(x, data):
    t = mg.tensor(x)
    perm = data.draw(st.permutations(range(x.ndim)))
    check(t.permute(*perm), np.transpose(x, perm))
    d0, d1 = data.draw(st.tuples(st.integers(-x.ndim, x.ndim - 1),
                                 st.integers(-x.ndim, x.ndim - 1)))
    check(mg.transpose(t, d0, d1), np.swapaxes(x, d0, d1))
    target = (2,) + tuple(s if s != 1 else data.draw(st.integers(0, 3)) for s in x.shape)
    check(t.expand(*target), np.broadcast_to(x, target))
    check(mg.broadcast_to(t, target), np.broadcast_to(x, target))


@FUZZ
@given(x=arrays(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4)),
       data=st.data())
def test_cat_stack_split_match_numpy(x, data):
    t = mg.tensor(x)
    d = data.draw(st.integers(-x.ndim, x.ndim - 1))
    check(mg.cat([t, t * 2], dim=d), np.concatenate([x, x * 2], axis=d))
    s = data.draw(st.integers(-x.ndim - 1, x.ndim))
    check(mg.stack([t, t], dim=s), np.stack([x, x], axis=s))
    size = data.draw(st.integers(1, 3))
    n = x.shape[d]
    assume(n > 0)  # tested on its own below: PyTorch gives one empty piece for an empty dim
    pieces = mg.split(t, size, d)
    starts = range(0, n, size)
    assert len(pieces) == len(starts)
    for piece, start in zip(pieces, starts):
        check(piece, np.take(x, range(start, min(start + size, n)), axis=d))


def _positive_steps(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(not isinstance(p, slice) or p.step is None or p.step > 0 for p in parts)


@FUZZ
@given(x=arrays(), data=st.data())
def test_basic_indexing_matches_numpy(x, data):
    index = data.draw(hnp.basic_indices(x.shape, allow_newaxis=True, allow_ellipsis=True))
    assume(_positive_steps(index))  # PyTorch has no negative steps
    check(mg.tensor(x)[index], np.asarray(x[index]))


# ----------------------------------------------------------------------------- known divergences
# Found by the fuzz tests above and fixed; each checks what PyTorch does.


def test_logsumexp_of_an_empty_dim_is_minus_inf():
    out = mg.logsumexp(mg.tensor(np.zeros((0, 3), np.float32)), dim=0)
    check(out, np.full(3, -np.inf, np.float32))


def test_softmax_of_an_empty_dim_is_empty():
    check(mg.softmax(mg.tensor(np.zeros((0, 3), np.float32)), dim=0),
          np.zeros((0, 3), np.float32))


def test_chunk_of_an_empty_dim_is_one_empty_piece():
    pieces = mg.chunk(mg.tensor(np.zeros(0, np.float32)), 3)
    assert len(pieces) == 1 and pieces[0].shape == (0,)


def test_split_of_an_empty_dim_is_one_empty_piece():
    pieces = mg.split(mg.tensor(np.zeros((2, 0), np.float32)), 2, 1)
    assert len(pieces) == 1 and pieces[0].shape == (2, 0)


def test_keepdim_on_a_0d_tensor_stays_0d():
    assert mg.argmax(mg.tensor(np.float32(3.0)), dim=-1, keepdim=True).shape == ()
    assert mg.max(mg.tensor(np.float32(3.0)), 0, True).values.shape == ()


def test_a_0d_tensor_does_not_promote_a_dimensioned_one():
    out = mg.tensor(np.float64(2.0)) + mg.tensor(np.ones(3, np.float32))
    assert out.dtype == np.float32

