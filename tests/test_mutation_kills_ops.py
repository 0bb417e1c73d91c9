"""Tests written to kill the mutants of minigrad/ops/ that survived `scripts/mutation.sh`.

The ops/ module is scored on a seeded random sample of its mutants
(`MUTATION_SAMPLE=... scripts/mutation.sh ops`, see docs/concepts/mutation-testing.md).
Each test names the code it pins down and checks values (against NumPy or against
numbers worked out by hand) or whole error messages that the mutant would change.
"""

import math

import numpy as np
import pytest
from test_mutation_kills import _exactly  # one helper for the kill tests (on_device: conftest.py)

import minigrad as mg

# ============================================================================ elementwise.py


def test_div_integer_rounding_modes_match_python():
    # trunc rounds toward zero, floor down; integer inputs keep an integer dtype
    a = np.array([7, -7, 7, -7, 6, -6], dtype=np.int64)
    b = np.array([2, 2, -2, -2, 3, 3], dtype=np.int64)
    trunc = mg.div(mg.tensor(a), mg.tensor(b), rounding_mode="trunc")
    floor = mg.div(mg.tensor(a), mg.tensor(b), rounding_mode="floor")
    assert trunc.dtype == mg.int64 and floor.dtype == mg.int64
    assert trunc.tolist() == [3, -3, -3, 3, 2, -2]
    assert floor.tolist() == [3, -4, -4, 3, 2, -2]
    with pytest.raises(ValueError, match=_exactly(
            "div: rounding_mode must be None, 'trunc' or 'floor', got 'round'")):
        mg.div(mg.tensor(a), mg.tensor(b), rounding_mode="round")


def test_erf_fast_without_complement_is_erf():
    # the documented erf path of the array helper: odd, and within 1.2e-7 of math.erf
    from minigrad.ops.elementwise import _erf_fast

    x = np.array([-3.0, -0.7, -1e-3, 0.0, 0.25, 1.5, 4.0])
    want = np.array([math.erf(v) for v in x])
    got = _erf_fast(x.copy())
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-7)
    np.testing.assert_allclose(_erf_fast(x.copy(), complement=True), 1 - want, rtol=0, atol=2e-7)


def test_bitwise_errors_name_the_op():
    with pytest.raises(RuntimeError, match=_exactly(
            "bitwise_left_shift: not implemented for dtype float32 (integer and bool tensors only)")):
        mg.bitwise_left_shift(mg.tensor([1.0], dtype=mg.float32), mg.tensor([1]))
    with pytest.raises(RuntimeError, match=_exactly(
            "bitwise_not: not implemented for dtype float32 (integer and bool tensors only)")):
        mg.bitwise_not(mg.tensor([1.0], dtype=mg.float32))


def test_logical_and_of_truth_values():
    out = mg.logical_and(mg.tensor([1, 0, 2, 3]), mg.tensor([True, True, False, True]))
    assert out.dtype == mg.bool and out.tolist() == [True, False, False, True]


# ============================================================================ activation.py


def test_normalize_default_eps_only_guards_zero_norms():
    import minigrad.nn.functional as F

    # a norm below 1 is divided by, not clamped to 1: [0.3, 0.4] has norm 0.5
    x = mg.tensor([[0.3, 0.4], [3e-13, 4e-13], [0.0, 0.0]], dtype=mg.float64)
    out = F.normalize(x).numpy()
    np.testing.assert_allclose(out[0], [0.6, 0.8], rtol=1e-15)
    np.testing.assert_allclose(out[1], [0.3, 0.4], rtol=1e-12)  # norm 5e-13 < eps = 1e-12
    assert out[2].tolist() == [0.0, 0.0]


def test_elu_family_keeps_low_precision_dtypes():
    import minigrad.nn.functional as F

    x = np.array([-2.0, -0.5, 0.0, 1.5], dtype=np.float32)
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    cases = [(F.elu, lambda v: np.where(v > 0, v, np.expm1(v))),
             (F.selu, lambda v: scale * np.where(v > 0, v, alpha * np.expm1(v))),
             (F.celu, lambda v: np.where(v > 0, v, np.expm1(v)))]
    for f, ref in cases:
        for dtype in (mg.float32, mg.float16):
            out = f(mg.tensor(x, dtype=dtype))
            assert out.dtype == dtype, f
            np.testing.assert_allclose(out.numpy().astype(np.float64), ref(x.astype(np.float64)),
                                       rtol=2e-3, atol=1e-3)


# ============================================================================ creation.py


def test_triangle_indices_bounds_and_messages():
    for op in (mg.tril_indices, mg.triu_indices):
        assert op(0, 3).shape == (2, 0) and op(3, 0).shape == (2, 0)
        assert op(0, 3).dtype == mg.int64
        name = op.__name__
        for row, col in ((-1, 3), (3, -1)):
            with pytest.raises(RuntimeError, match=_exactly(
                    f"{name}: row and col must be non-negative, got row={row}, col={col}")):
                op(row, col)


# ============================================================================ index.py


def test_index_ops_on_zero_dim_inputs():
    empty = mg.tensor([], dtype=mg.int64)
    assert mg.index_fill(mg.tensor(2.0), 0, empty, 7.0).item() == 2.0  # nothing selected
    assert mg.index_fill(mg.tensor(2.0), 0, mg.tensor([0]), 7.0).item() == 7.0
    out = mg.index_copy(mg.tensor(2.0), 0, mg.tensor([0]), mg.tensor(7.0))
    assert out.shape == () and out.item() == 7.0
    out = mg.index_add(mg.tensor(2.0), 0, mg.tensor([0]), mg.tensor(7.0))
    assert out.shape == () and out.item() == 9.0


def test_masked_scatter_broadcasts_input_to_the_mask():
    x = mg.tensor([1.0, 2.0], dtype=mg.float32)
    mask = mg.tensor([[True, False], [False, True]])
    out = mg.masked_scatter(x, mask, mg.tensor([10.0, 20.0, 30.0], dtype=mg.float32))
    assert out.dtype == mg.float32 and out.shape == (2, 2)
    assert out.tolist() == [[10.0, 2.0], [1.0, 20.0]]


def test_scatter_reduce_prod_gradient_through_a_zero_of_self():
    # y0 = x0 * s0 with x0 = 0: dy0/dx0 = s0 = 3, dy0/ds0 = x0 = 0; y1 = x1 untouched
    x = mg.tensor([0.0, 2.0], dtype=mg.float64, requires_grad=True)
    s = mg.tensor([3.0], dtype=mg.float64, requires_grad=True)
    y = mg.scatter_reduce(x, 0, mg.tensor([0]), s, "prod")
    assert y.tolist() == [0.0, 2.0]
    y.backward(mg.tensor([1.0, 5.0], dtype=mg.float64))
    assert x.grad.tolist() == [3.0, 5.0]
    assert s.grad.tolist() == [0.0]


# ============================================================================ loss.py


def test_nll_loss_messages_and_ignored_targets_with_one_class():
    import minigrad.nn.functional as F

    with pytest.raises(IndexError, match=_exactly(
            "nll_loss: target values must be in [0, 2) (input (1, 2) has 2 classes), got min 5, max 5")):
        F.nll_loss(mg.tensor([[0.1, 0.2]]), mg.tensor([5]))
    # one class: the ignored row must not be looked up at any class index
    x = mg.tensor([[-0.5], [-2.0]], dtype=mg.float64)
    assert F.nll_loss(x, mg.tensor([0, -100])).item() == 0.5
    assert F.nll_loss(x, mg.tensor([0, -100]), reduction="none").tolist() == [0.5, 0.0]


# ============================================================================ reduce.py


def test_argmax_argmin_keepdim():
    x = mg.tensor([[1, 5, 3], [7, 2, 9]])
    assert mg.argmax(x, dim=1, keepdim=True).tolist() == [[1], [2]]
    assert mg.argmin(x, dim=0, keepdim=True).tolist() == [[0, 1, 0]]
    assert mg.argmin(x, dim=1).tolist() == [0, 1]
    assert mg.argmax(x).item() == 5


# ============================================================================ shape.py


def test_flipud_narrow_unfold_edges():
    assert mg.flipud(mg.tensor([1, 2, 3])).tolist() == [3, 2, 1]
    with pytest.raises(RuntimeError, match=_exactly("flipud: input must be >= 1-d, got shape ()")):
        mg.flipud(mg.tensor(1.0))
    assert mg.narrow(mg.arange(5), 0, 0, 2).tolist() == [0, 1]
    assert mg.narrow(mg.arange(5), 0, -2, 2).tolist() == [3, 4]
    x = mg.arange(4)
    assert x.unfold(0, 4, 1).tolist() == [[0, 1, 2, 3]]  # size == length: one window
    assert x.unfold(0, 2, 1).tolist() == [[0, 1], [1, 2], [2, 3]]
    assert x.unfold(0, 0, 3).shape == (2, 0)


# ============================================================================ sort.py


def test_unique_inverse_and_counts_are_int64():
    values, inverse, counts = mg.unique(mg.tensor([3, 1, 3, 2]), return_inverse=True, return_counts=True)
    assert values.tolist() == [1, 2, 3]
    assert inverse.dtype == mg.int64 and inverse.tolist() == [2, 0, 2, 1]
    assert counts.dtype == mg.int64 and counts.tolist() == [1, 1, 2]


# ============================================================================ error messages
# The messages are part of the interface: each names the op, the argument and the shapes.


def test_messages_name_the_op_and_the_argument():
    import minigrad.nn.functional as F

    x4 = mg.ones(1, 1, 2, 2)
    cases = [
        (ValueError, "interpolate: size must have 2 entries for a 2-D resize, got (3, 3, 3)",
         lambda: F.interpolate(x4, size=(3, 3, 3))),
        (NotImplementedError, "interpolate: antialias=True is not implemented",
         lambda: F.interpolate(x4, scale_factor=2, antialias=True)),
        (RuntimeError, "pixel_unshuffle: expected an input (*, C, H·r, W·r) with r = 2, got shape (1, 1, 3, 3)",
         lambda: F.pixel_unshuffle(mg.ones(1, 1, 3, 3), 2)),
        (IndexError, "cross: dim 5 is out of range for a tensor with 2 dims",
         lambda: mg.cross(mg.ones(2, 3), mg.ones(2, 3), dim=5)),
        (RuntimeError, "outer: vec2 must be a 1-D tensor, got shape (2, 2)",
         lambda: mg.outer(mg.ones(3), mg.ones(2, 2))),
        (RuntimeError, "outer: input must be a 1-D tensor, got shape (2, 2)",
         lambda: mg.outer(mg.ones(2, 2), mg.ones(3))),
        (IndexError, "tensordot: dim 4 is out of range for a tensor with 2 dims",
         lambda: mg.tensordot(mg.ones(2, 3), mg.ones(3, 2), dims=([4], [0]))),
        (IndexError, "tensordot: dim 4 is out of range for a tensor with 2 dims",
         lambda: mg.tensordot(mg.ones(2, 3), mg.ones(3, 2), dims=([1], [4]))),
        (ValueError, "cosine_embedding_loss: input1 (2, 3), input2 (3, 3) and target (2,) do not match "
                     "(expected (N, D), (N, D), (N))",
         lambda: F.cosine_embedding_loss(mg.ones(2, 3), mg.ones(3, 3), mg.ones(2))),
        (ValueError, "l1_loss: reduction must be 'mean', 'sum' or 'none', got 'avg'",
         lambda: F.l1_loss(mg.ones(2), mg.ones(2), reduction="avg")),
        (ValueError, "smooth_l1_loss: reduction must be 'mean', 'sum' or 'none', got 'avg'",
         lambda: F.smooth_l1_loss(mg.ones(2), mg.ones(2), reduction="avg")),
        (ValueError, "lp_pool2d: kernel_size must be an int or 2 ints, got (2, 2, 2)",
         lambda: F.lp_pool2d(mg.ones(1, 1, 4, 4), 2, (2, 2, 2))),
        (ValueError, "lp_pool1d: kernel_size must be an int or 1 ints, got (2, 2)",
         lambda: F.lp_pool1d(mg.ones(1, 1, 4), 2, (2, 2))),
    ]
    for error, message, call in cases:
        with pytest.raises(error, match=_exactly(message)):
            call()


# ============================================================================ loss.py values


def test_losses_accept_plain_sequences_as_targets():
    import minigrad.nn.functional as F

    x = mg.tensor([0.2, 0.7], dtype=mg.float64)
    # BCE: mean(-log(1 - 0.2), -log(0.7)); Poisson (log input): mean(e^x - y x)
    assert F.binary_cross_entropy(x, [0.0, 1.0]).item() == pytest.approx(
        (-math.log(0.8) - math.log(0.7)) / 2, rel=1e-14)
    assert F.poisson_nll_loss(x, [0.0, 1.0]).item() == pytest.approx(
        (math.exp(0.2) + math.exp(0.7) - 0.7) / 2, rel=1e-14)
    assert F.l1_loss(x, [0.0, 1.0]).item() == pytest.approx(0.25, rel=1e-14)  # default: mean


def test_triplet_margin_loss_values_by_hand():
    import minigrad.nn.functional as F

    # 1-D inputs (one triplet) are allowed, as in torch: d(a, p) = 0.5, d(a, n) = 0.7 (+ eps in the norm)
    a = mg.tensor([0.0, 0.0], dtype=mg.float64)
    p = mg.tensor([0.3, 0.4], dtype=mg.float64)
    n = mg.tensor([0.0, 0.7], dtype=mg.float64)
    eps = 1e-6  # torch's pairwise_distance adds eps to the difference
    d_pos = math.hypot(0.3 - eps, 0.4 - eps)
    d_neg = math.hypot(-eps, 0.7 - eps)
    assert F.triplet_margin_loss(a, p, n, margin=1.0).item() == pytest.approx(1.0 + d_pos - d_neg, rel=1e-12)
    assert F.triplet_margin_loss(a, p, n, margin=0.5).item() == pytest.approx(0.5 + d_pos - d_neg, rel=1e-12)
    assert F.triplet_margin_loss(a, p, n, margin=0.1).item() == 0.0  # 0.1 + 0.5 - 0.7 < 0


# ============================================================================ index.py (2)


def test_scatter_multiply_and_zero_dim_scatter_add():
    out = mg.scatter(mg.tensor([1.0, 2.0]), 0, mg.tensor([0, 0]), mg.tensor([3.0, 4.0]), reduce="multiply")
    assert out.tolist() == [12.0, 2.0]
    out = mg.scatter(mg.tensor([1.0, 2.0]), 0, mg.tensor([1, 1]), mg.tensor([3.0, 4.0]), reduce="add")
    assert out.tolist() == [1.0, 9.0]
    out = mg.scatter_add(mg.tensor(1.0), 0, mg.tensor(0), mg.tensor(2.0))
    assert out.shape == () and out.item() == 3.0


# ============================================================================ interpolate.py


def test_pixel_shuffle_with_factor_one_is_the_identity():
    import minigrad.nn.functional as F

    x = mg.arange(12.0).reshape(1, 3, 2, 2)
    assert F.pixel_shuffle(x, 1).tolist() == x.tolist()
    assert F.pixel_unshuffle(x, 1).tolist() == x.tolist()


# ============================================================================ norm.py


def test_batch_norm_default_eps_by_hand():
    import minigrad.nn.functional as F

    # channel values 1 and 3: mean 2, biased variance 1, y = ±1/sqrt(1 + 1e-5)
    x = mg.tensor([[[1.0]], [[3.0]]], dtype=mg.float64)
    y = F.batch_norm(x, None, None, training=True)
    np.testing.assert_allclose(y.numpy().ravel(), [-1 / math.sqrt(1 + 1e-5), 1 / math.sqrt(1 + 1e-5)],
                               rtol=1e-14)
    # eval mode with running statistics mean 1, var 4: (3 - 1) / sqrt(4 + 1e-5)
    y = F.batch_norm(mg.tensor([[3.0]], dtype=mg.float64), mg.tensor([1.0], dtype=mg.float64),
                     mg.tensor([4.0], dtype=mg.float64))
    assert y.item() == pytest.approx(2 / math.sqrt(4 + 1e-5), rel=1e-14)


def test_more_messages_name_the_op():
    cases = [
        (IndexError, "diagonal: dim 4 is out of range for a tensor with 2 dims",
         lambda: mg.diagonal(mg.ones(2, 3), 0, 0, 4)),
        (IndexError, "flip: dim 3 is out of range for a tensor with 2 dims", lambda: mg.flip(mg.ones(2, 3), 3)),
        (RuntimeError, "repeat_interleave: repeats must be an int or have one count per slice (3 along dim 0), "
                       "got shape (2,)",
         lambda: mg.repeat_interleave(mg.tensor([1, 2, 3]), mg.tensor([1, 2]))),
        (RuntimeError, "kthvalue: k=2 out of range for a 0-d tensor", lambda: mg.kthvalue(mg.tensor(2.0), 2)),
    ]
    for error, message, call in cases:
        with pytest.raises(error, match=_exactly(message)):
            call()


# ============================================================================ reduce.py / scan.py


def test_logsumexp_of_empty_slices_is_minus_infinity_with_the_right_shape():
    out = mg.logsumexp(mg.ones(1, 0), dim=1)
    assert out.shape == (1,) and out.tolist() == [-math.inf]
    out = mg.logsumexp(mg.ones(2, 0), dim=1, keepdim=True)
    assert out.shape == (2, 1) and out.tolist() == [[-math.inf], [-math.inf]]


def test_scans_of_zero_dim_tensors():
    for op in (mg.cumsum, mg.cumprod, mg.logcumsumexp):
        x = mg.tensor(2.0, dtype=mg.float64, requires_grad=True)
        out = op(x, 0)
        assert out.shape == () and out.item() == pytest.approx(2.0, rel=1e-15), op
        out.backward()
        assert x.grad.shape == () and x.grad.item() == pytest.approx(1.0, rel=1e-15), op


def test_std_mean_keepdim_keeps_both():
    x = mg.tensor([[1.0, 2.0, 6.0], [2.0, 2.0, 2.0]], dtype=mg.float64)
    std, mean = mg.std_mean(x, 1, keepdim=True)
    assert std.shape == (2, 1) and mean.shape == (2, 1)
    assert mean.tolist() == [[3.0], [2.0]]
    np.testing.assert_allclose(std.numpy(), [[math.sqrt(7.0)], [0.0]], rtol=1e-15)  # (4 + 1 + 9) / 2


# ============================================================================ shape.py (2)


def test_repeat_interleave_of_counts_alone_and_split_by_one():
    out = mg.repeat_interleave(mg.tensor([2, 0, 1]))
    assert out.dtype == mg.int64 and out.tolist() == [0, 0, 2]
    assert [p.tolist() for p in mg.split(mg.arange(3), 1)] == [[0], [1], [2]]


# ============================================================================ sort.py (2)


def test_mode_picks_the_smallest_most_frequent_value_and_its_last_index():
    out = mg.mode(mg.tensor([1, 1, 2]))
    assert (out.values.item(), out.indices.item()) == (1, 1)
    out = mg.mode(mg.tensor([[3, 1, 3, 1, 2], [5, 5, 4, 4, 4]]), 1)
    assert out.values.tolist() == [1, 4] and out.indices.tolist() == [3, 4]


def test_nanmedian_positions_and_zero_dim():
    out = mg.nanmedian(mg.tensor([[math.nan, 5.0, math.nan], [7.0, math.nan, 1.0]]), 1)
    assert out.values.tolist() == [5.0, 1.0] and out.indices.tolist() == [1, 2]
    out = mg.nanmedian(mg.tensor(2.0), 0)
    assert out.values.item() == 2.0 and out.indices.dtype == mg.int64 and out.indices.item() == 0


# ============================================================================ special.py


def test_fit_erf_tanh_keeps_its_lawson_weights_normalised():
    # Lawson's weights are renormalised to mean 1 at every step; many steps must not let them
    # underflow (which would fall back to an unweighted fit with a larger maximum error)
    from minigrad.ops import special

    coeffs, max_rel = special.fit_erf_tanh(9, nodes=500, iterations=80)
    assert max_rel < 1.1e-8
    np.testing.assert_allclose(coeffs, special.ERF_TANH_COEFFS, rtol=2e-4)


def test_index_and_loss_messages_name_the_bad_value():
    import minigrad.nn.functional as F

    cases = [
        (IndexError, "gather: dim 3 is out of range for a tensor with 2 dims",
         lambda: mg.gather(mg.ones(2, 3), 3, mg.tensor([[0]]))),
        (RuntimeError, "gather: index 3 is out of bounds for dimension 1 with size 3",
         lambda: mg.gather(mg.ones(2, 3), 1, mg.tensor([[0, 3]]))),
        (RuntimeError, "gather: index -4 is out of bounds for dimension 1 with size 3",
         lambda: mg.gather(mg.ones(2, 3), 1, mg.tensor([[0, -4]]))),
        (IndexError, "index_select: index out of range in self (dim 1 of shape (2, 3))",
         lambda: mg.index_select(mg.ones(2, 3), 1, mg.tensor([3]))),
        (ValueError, "matmul: shapes (2, 3) and (2, 3) are not aligned",
         lambda: mg.matmul(mg.ones(2, 3), mg.ones(2, 3))),
        (ValueError, "ctc_loss: log_probs must be (T, N, C) or (T, C), got (2, 2, 2, 2)",
         lambda: F.ctc_loss(mg.ones(2, 2, 2, 2), mg.tensor([[1]]), [2], [1])),
        (IndexError, "ctc_loss: target values must be in [0, 3), got min 1, max 3",
         lambda: F.ctc_loss(mg.zeros(3, 1, 3), mg.tensor([[1, 3]]), [3], [2])),
        (ValueError, "pad: padding length must be even and at most 2 * 2 (the input's dims), "
                     "got (1, 2, 3) for an input of shape (2, 3)",
         lambda: F.pad(mg.ones(2, 3), (1, 2, 3))),
        (ValueError, "pad: padding length must be even and at most 2 * 2 (the input's dims), "
                     "got (1, 1, 1, 1, 1, 1) for an input of shape (2, 3)",
         lambda: F.pad(mg.ones(2, 3), (1, 1, 1, 1, 1, 1))),
        (ValueError, "max_pool1d: kernel_size must be an int or 1 ints, got (2, 2)",
         lambda: F.max_pool1d(mg.ones(1, 1, 4), (2, 2))),
        (ValueError, "max_pool3d: kernel_size must be an int or 3 ints, got (2, 2)",
         lambda: F.max_pool3d(mg.ones(1, 1, 4, 4, 4), (2, 2))),
    ]
    for error, message, call in cases:
        with pytest.raises(error, match=_exactly(message)):
            call()


def test_gather_and_index_select_on_zero_dim_inputs():
    assert mg.gather(mg.tensor(5.0), 0, mg.tensor([0, 0])).tolist() == [5.0, 5.0]
    out = mg.gather(mg.tensor(5.0), 0, mg.tensor(0))
    assert out.shape == () and out.item() == 5.0
    assert mg.index_select(mg.tensor(5.0), 0, mg.tensor([0, 0])).tolist() == [5.0, 5.0]


def test_setitem_of_a_float_value_of_another_dtype_keeps_its_gradient():
    x = mg.zeros(3, dtype=mg.float32)
    v = mg.tensor([2.0, 3.0], dtype=mg.float64, requires_grad=True)
    from minigrad.ops.assign import setitem  # what x[0:2] = v does out of place

    y = setitem(x, slice(0, 2), v)
    assert y.dtype == mg.float32 and y.tolist() == [2.0, 3.0, 0.0]
    (y * mg.tensor([5.0, 7.0, 11.0], dtype=mg.float32)).sum().backward()
    assert v.grad is not None and v.grad.dtype == mg.float64 and v.grad.tolist() == [5.0, 7.0]


def test_embedding_negative_padding_idx_gets_no_gradient():
    import minigrad.nn.functional as F

    w = mg.ones(4, 2, requires_grad=True)
    F.embedding(mg.tensor([0, 3, 3, 1]), w, padding_idx=-1).sum().backward()
    assert w.grad.tolist() == [[1.0, 1.0], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0]]


def test_norm_of_order_zero_and_std_of_a_constant_have_zero_gradients():
    x = mg.tensor([0.0, 2.0, -3.0], dtype=mg.float64, requires_grad=True)
    y = mg.norm(x, p=0)
    assert y.item() == 2.0
    y.backward()
    assert x.grad.dtype == mg.float64 and x.grad.tolist() == [0.0, 0.0, 0.0]
    # d std / dx = (x - mean) / ((n - 1) std); a constant row has std 0 and gets 0 (no NaN)
    x = mg.tensor([[2.0, 2.0], [1.0, 3.0]], dtype=mg.float64, requires_grad=True)
    mg.std(x, 1).sum().backward()
    assert x.grad.dtype == mg.float64
    np.testing.assert_allclose(x.grad.numpy(), [[0.0, 0.0], [-1 / math.sqrt(2), 1 / math.sqrt(2)]], rtol=1e-15)


def test_layer_norm_with_bias_only():
    import minigrad.nn.functional as F

    # [1, 3]: mean 2, variance 1, normalized ±1/sqrt(1 + 1e-5)
    out = F.layer_norm(mg.tensor([[1.0, 3.0]], dtype=mg.float64), (2,),
                       bias=mg.tensor([10.0, 20.0], dtype=mg.float64))
    s = 1 / math.sqrt(1 + 1e-5)
    np.testing.assert_allclose(out.numpy(), [[10.0 - s, 20.0 + s]], rtol=1e-15)


def test_reflect_padding_of_a_length_two_dim():
    import minigrad.nn.functional as F

    assert F.pad(mg.tensor([[1.0, 2.0]]), (1, 1), mode="reflect").tolist() == [[2.0, 1.0, 2.0, 1.0]]


def test_pooling_defaults_and_a_single_window():
    import minigrad.nn.functional as F

    # max_pool1d: ceil_mode defaults to False, so the last lone element is dropped
    assert F.max_pool1d(mg.arange(5.0).reshape(1, 1, 5), 2).tolist() == [[[1.0, 3.0]]]
    # one window: the mean of all four
    assert F.avg_pool2d(mg.arange(4.0).reshape(1, 1, 2, 2), 2).tolist() == [[[[1.5]]]]


def test_softmax_along_the_numpy_axis_keyword():
    x = mg.tensor([[0.0, 0.0], [math.log(3.0), 0.0]], dtype=mg.float64)
    np.testing.assert_allclose(mg.softmax(x, axis=0).numpy(), [[0.25, 0.5], [0.75, 0.5]], rtol=1e-15)
    np.testing.assert_allclose(mg.log_softmax(x, axis=0).numpy(),
                               np.log([[0.25, 0.5], [0.75, 0.5]]), rtol=1e-15)


def test_erfinv_near_plus_and_minus_one():
    # erfc(erfinv(x)) must give back 1 - x where |x| is close to 1 (Giles' second branch, w >= 5)
    x = np.array([0.997, 0.999, 0.99999, -0.9999999])
    y = mg.erfinv(mg.tensor(x, dtype=mg.float64)).numpy()
    for xi, yi in zip(x, y):
        assert math.erfc(abs(yi)) == pytest.approx(1 - abs(xi), rel=1e-9)
        assert math.copysign(1.0, yi) == math.copysign(1.0, xi)


def test_erf_exact_imports_scipy_on_first_use(monkeypatch):
    from minigrad.ops import special

    monkeypatch.setattr(special, "_scipy_special", False)  # as in a fresh process
    x = np.array([-1.0, 0.0, 0.5, 2.0])
    np.testing.assert_allclose(special.erf_exact(x), [math.erf(v) for v in x], rtol=1e-15, atol=0)
    assert special._scipy_special is not False  # the module, or None without SciPy


# ============================================================================ conv / attention


def test_conv_messages_name_the_argument():
    import minigrad.nn.functional as F

    cases = [
        (ValueError, "conv2d: stride must be an int or a pair of ints, got (1, 2, 3)",
         lambda: F.conv2d(mg.ones(1, 1, 3, 3), mg.ones(1, 1, 2, 2), stride=(1, 2, 3))),
        (ValueError, "conv2d: padding must be an int or a pair of ints, got (1, 2, 3)",
         lambda: F.conv2d(mg.ones(1, 1, 3, 3), mg.ones(1, 1, 2, 2), padding=(1, 2, 3))),
        (ValueError, "conv3d: stride and dilation must be >= 1 and padding >= 0, got stride=(1, 1, 1), "
                     "padding=(-1, -1, -1), dilation=(1, 1, 1)",
         lambda: F.conv3d(mg.ones(1, 1, 3, 3, 3), mg.ones(1, 1, 2, 2, 2), padding=-1)),
        (ValueError, "cross_entropy: label_smoothing must be in [0, 1], got 1.5",
         lambda: F.cross_entropy(mg.ones(2, 3), mg.tensor([0, 1]), label_smoothing=1.5)),
    ]
    for error, message, call in cases:
        with pytest.raises(error, match=_exactly(message)):
            call()


def test_grouped_query_attention_gradients():
    import minigrad.nn.functional as F

    rng = np.random.default_rng(0)
    q, k, v = (mg.tensor(rng.standard_normal(s), dtype=mg.float64, requires_grad=True)
               for s in ((1, 4, 2, 3), (1, 2, 2, 3), (1, 2, 2, 3)))
    assert mg.gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True), [q, k, v])


def test_pool_messages_and_padding_of_bool_and_int_inputs():
    import minigrad.nn.functional as F

    with pytest.raises(ValueError, match=_exactly(
            "max_pool2d: dilation must be an int or a pair of ints, got (1, 2, 3)")):
        F.max_pool2d(mg.ones(1, 1, 4, 4), 2, dilation=(1, 2, 3))
    # the padding never wins: False for bool inputs, the smallest integer for ints
    out = F.max_pool2d(mg.tensor([[[[False, True], [False, False]]]]), 2, stride=1, padding=1)
    assert out.tolist() == [[[[False, True, True], [False, True, True], [False, False, False]]]]
    out = F.max_pool2d(mg.tensor([[[[-5, -7], [-9, -8]]]]), 2, stride=1, padding=1)
    assert out.tolist() == [[[[-5, -5, -7], [-5, -5, -7], [-9, -8, -8]]]]


# ============================================================================ _util.py


def test_numpy_scalars_do_not_widen_tensors():
    # np.float64(2.5) counts as a Python number (NumPy 2 alone would widen float32 to float64)
    out = mg.ones(2, dtype=mg.float32) + np.float64(2.5)
    assert out.dtype == mg.float32 and out.tolist() == [3.5, 3.5]
    out = mg.ones(2, dtype=mg.int64) * np.float64(2.5)
    assert out.dtype == mg.get_default_dtype() and out.tolist() == [2.5, 2.5]


# ============================================================================ stable.py


def test_softmax_shifts_each_row_by_its_own_maximum():
    import minigrad.nn.functional as F

    # rows 1000 apart: a shift by the global maximum would underflow the first row to 0/0
    x = mg.tensor([[0.0, math.log(3.0)], [1000.0, 1000.0 + math.log(3.0)]], dtype=mg.float64)
    # (1000 + log 3 is stored to 1.1e-13: hence rtol 1e-12)
    np.testing.assert_allclose(mg.softmax(x, dim=1).numpy(), [[0.25, 0.75], [0.25, 0.75]], rtol=1e-12)
    np.testing.assert_allclose(mg.log_softmax(x, dim=1).numpy(), np.log([[0.25, 0.75], [0.25, 0.75]]),
                               rtol=1e-12)
    # cross_entropy = -log p of the target class
    loss = F.cross_entropy(x, mg.tensor([1, 0]), reduction="none")
    np.testing.assert_allclose(loss.numpy(), [-math.log(0.75), -math.log(0.25)], rtol=1e-12)
    # attention with scores 1000 apart across query rows (q·k / sqrt(1) with one-dim keys)
    q = mg.tensor([[[0.0], [1000.0]]], dtype=mg.float64)
    k = mg.tensor([[[0.0], [1.0]]], dtype=mg.float64)
    v = mg.tensor([[[1.0], [2.0]]], dtype=mg.float64)
    out = F.scaled_dot_product_attention(q, k, v).numpy().ravel()
    assert out[0] == pytest.approx(1.5, rel=1e-14)  # equal scores 0, 0: the mean of v
    assert out[1] == pytest.approx(2.0, rel=1e-14)  # scores 0, 1000: all on the second key


def test_int_and_float_tensors_promote_to_the_float_dtype_either_way():
    i, f = mg.tensor([1, 2]), mg.tensor([0.5], dtype=mg.float32)
    for out in (i + f, f + i, i * f, f - i):
        assert out.dtype == mg.float32
    assert (i + f).tolist() == [1.5, 2.5] and (f - i).tolist() == [-0.5, -1.5]


def test_conv_transpose_messages():
    import minigrad.nn.functional as F

    with pytest.raises(ValueError, match=_exactly(
            "conv_transpose2d: dilation must be an int or 2 ints, got (1, 2, 3)")):
        F.conv_transpose2d(mg.ones(1, 1, 3, 3), mg.ones(1, 1, 2, 2), dilation=(1, 2, 3))
    with pytest.raises(ValueError, match=_exactly(
            "conv_transpose2d: stride and dilation must be >= 1, padding and output_padding >= 0, got "
            "stride=(1, 1), padding=(-1, -1), output_padding=(0, 0), dilation=(1, 1)")):
        F.conv_transpose2d(mg.ones(1, 1, 3, 3), mg.ones(1, 1, 2, 2), padding=-1)


def test_getitem_integers_with_multi_dim_bool_masks():
    # PyTorch's order: the integer selects first; a 2-D mask spans two dims (also for the Ellipsis)
    a = np.arange(24.0).reshape(2, 3, 4)
    m = np.array([[True, False, True], [False, True, False]])
    assert mg.tensor(a)[mg.tensor(m), 1].tolist() == [1.0, 9.0, 17.0]
    b = np.arange(120.0).reshape(2, 3, 4, 5)
    m2 = np.zeros((4, 5), bool)
    m2[1, 2] = m2[3, 0] = m2[0, 4] = True
    assert mg.tensor(b)[0, ..., mg.tensor(m2)].tolist() == b[0][..., m2].tolist()


def test_cat_and_stack_dims():
    a, b = mg.tensor([[1, 2]]), mg.tensor([[3, 4]])
    assert mg.cat([a, b]).tolist() == [[1, 2], [3, 4]]  # dim 0 by default
    assert mg.stack([a[0], b[0]], axis=1).tolist() == [[1, 3], [2, 4]]
    assert mg.stack([a[0], b[0]]).tolist() == [[1, 2], [3, 4]]


# ============================================================================ on the device


def test_ops_that_create_arrays_create_them_on_the_device(on_device):
    import minigrad.nn.functional as F

    # scatter's gradient for src is a new array: it must be a device array
    src = mg.tensor([5.0, 6.0]).cuda().requires_grad_()
    y = mg.scatter(mg.tensor([1.0, 2.0, 3.0]).cuda(), 0, mg.tensor([0, 2]).cuda(), src)
    y.backward(mg.tensor([1.0, 2.0, 3.0]).cuda())
    assert src.grad.device == "cuda" and src.grad.cpu().tolist() == [1.0, 3.0]
    out = mg.nanmean(mg.tensor([1.0, float("nan"), 3.0]).cuda())
    assert out.device == "cuda" and out.cpu().item() == 2.0
    out = F.cross_entropy(mg.tensor([[0.0, math.log(3.0)]], dtype=mg.float64).cuda(), mg.tensor([1]).cuda())
    assert out.device == "cuda" and out.cpu().item() == pytest.approx(-math.log(0.75), rel=1e-14)
    mg.manual_seed(0)
    lstm = mg.nn.LSTM(2, 3)
    want = lstm(mg.ones(4, 1, 2))[0].numpy()
    got = lstm.cuda()(mg.ones(4, 1, 2).cuda())[0]
    assert got.device == "cuda"
    np.testing.assert_allclose(got.cpu().numpy(), want, rtol=1e-6)


# ============================================================================ second sample (seed 1)


def test_messages_of_the_second_sample():
    import minigrad.nn.functional as F

    cases = [
        (ValueError, "hardtanh: min_val 2.0 cannot be greater than max_val 1.0",
         lambda: F.hardtanh(mg.ones(2), 2.0, 1.0)),
        (RuntimeError, "one_hot: is only applicable to index tensors (integers), got dtype float32",
         lambda: F.one_hot(mg.tensor([0.5], dtype=mg.float32))),
        (RuntimeError, "masked_scatter: expected a bool mask, got dtype int64",
         lambda: mg.masked_scatter(mg.ones(2), mg.tensor([1, 0]), mg.ones(2))),
        (TypeError, "masked_fill: mask must be a bool tensor, got int64",
         lambda: mg.masked_fill(mg.ones(2), mg.tensor([1, 0]), 0.0)),
        (ValueError, "hinge_embedding_loss: the shapes of input (2, 3), target (4,) do not broadcast",
         lambda: F.hinge_embedding_loss(mg.ones(2, 3), mg.ones(4))),
        (ValueError, "hinge_embedding_loss: reduction must be 'mean', 'sum' or 'none', got 'avg'",
         lambda: F.hinge_embedding_loss(mg.ones(2), mg.ones(2), reduction="avg")),
        (ValueError, "nll_loss: reduction must be 'mean', 'sum' or 'none', got 'avg'",
         lambda: F.nll_loss(mg.ones(2, 3), mg.tensor([0, 1]), reduction="avg")),
        (ValueError, "nll_loss: weight must have shape (3,), got (4,)",
         lambda: F.nll_loss(mg.ones(2, 3), mg.tensor([0, 1]), weight=mg.ones(4))),
        (IndexError, "count_nonzero: dim 2 is out of range for a tensor with 2 dims",
         lambda: mg.count_nonzero(mg.ones(2, 3), 2)),
        (RuntimeError, "floor_divide: ZeroDivisionError (integer division by zero, shapes (1,) and (1,))",
         lambda: mg.floor_divide(mg.tensor([1]), mg.tensor([0]))),
        (RuntimeError, "index_add: source of shape (3, 2) does not match the indexed shape (2, 2) "
                       "(input (3, 2), dim 0, 2 indices)",
         lambda: mg.index_add(mg.ones(3, 2), 0, mg.tensor([0, 1]), mg.ones(3, 2))),
        (IndexError, "topk: dim 4 is out of range for a tensor with 2 dims", lambda: mg.topk(mg.ones(2, 3), 1, dim=4)),
        (RuntimeError, "positive: the + operator does not support bool tensors",
         lambda: mg.positive(mg.tensor([True]))),
        (RuntimeError, "mv: expected a matrix and a vector, got shapes (2, 3) and (3, 1)",
         lambda: mg.mv(mg.ones(2, 3), mg.ones(3, 1))),
        (RuntimeError, "pixel_unshuffle: expected an input (*, C, H·r, W·r) with r = 2, got shape (1, 1, 4, 3)",
         lambda: F.pixel_unshuffle(mg.ones(1, 1, 4, 3), 2)),
    ]
    for error, message, call in cases:
        with pytest.raises(error, match=_exactly(message)):
            call()


def test_activation_defaults_dtypes_and_inplace():
    import minigrad.nn.functional as F

    x = mg.tensor([-2.0, 0.5], dtype=mg.float32)
    assert F.leaky_relu(x).tolist() == pytest.approx([-0.02, 0.5], rel=1e-6)  # slope 0.01
    out = F.softplus(x)
    assert out.dtype == mg.float32
    np.testing.assert_allclose(out.numpy(), np.log1p(np.exp([-2.0, 0.5])), rtol=1e-6)
    y = mg.tensor([-3.0, 1.0], dtype=mg.float64)
    out = F.rrelu(y, inplace=True)  # evaluation: slope (1/8 + 1/3) / 2 = 11/48
    assert out is y and y.tolist() == [-3.0 * 11 / 48, 1.0]


def test_gelu_float32_gradient_matches_the_formula():
    import minigrad.nn.functional as F

    # the float32 fast path of the exact GELU's backward: g (Φ(x) + x φ(x))
    xs = np.array([-3.0, -1.0, -0.25, 0.0, 0.5, 2.0])
    x = mg.tensor(xs, dtype=mg.float32, requires_grad=True)
    F.gelu(x).backward(mg.tensor([1.0, 2.0, 1.0, 1.0, 3.0, 1.0], dtype=mg.float32))
    cdf = np.array([(1 + math.erf(v / math.sqrt(2))) / 2 for v in xs])
    pdf = np.exp(-xs * xs / 2) / math.sqrt(2 * math.pi)
    assert x.grad.dtype == mg.float32
    np.testing.assert_allclose(x.grad.numpy(), np.array([1, 2, 1, 1, 3, 1]) * (cdf + xs * pdf), rtol=2e-6,
                               atol=1e-7)


def test_bitwise_ops_with_a_python_number_first():
    assert mg.bitwise_and(3, mg.tensor([1, 2, 4])).tolist() == [1, 2, 0]
    out = mg.bitwise_or(True, mg.tensor([False, True]))
    assert out.dtype == mg.bool and out.tolist() == [True, True]


def test_fill_and_index_add_of_a_number():
    from minigrad.ops.assign import fill

    out = fill(mg.ones(2, 3, dtype=mg.float32), 2.5)
    assert out.dtype == mg.float32 and out.tolist() == [[2.5] * 3] * 2
    x = mg.ones(2, dtype=mg.float64)
    x.fill_(mg.tensor(4.0))
    assert x.tolist() == [4.0, 4.0]
    assert mg.index_add(mg.tensor(2.0), 0, mg.tensor([0]), 5.0).item() == 7.0


def test_masked_scatter_broadcasts_input_to_a_bigger_mask_and_its_gradient():
    x = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    s = mg.tensor([10.0, 20.0, 30.0], dtype=mg.float64, requires_grad=True)
    y = mg.masked_scatter(x, mg.tensor([[True, False], [False, True]]), s)
    assert y.tolist() == [[10.0, 2.0], [1.0, 20.0]]
    y.backward(mg.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=mg.float64))
    assert x.grad.tolist() == [3.0, 2.0]  # the unmasked positions only, summed over the broadcast
    assert s.grad.tolist() == [1.0, 4.0, 0.0]


def test_take_along_dim_broadcasts_the_other_dims():
    a = np.arange(6.0).reshape(2, 3)
    idx = np.array([[2, 0]])
    out = mg.take_along_dim(mg.tensor(a), mg.tensor(idx), 1)
    assert out.tolist() == np.take_along_axis(a, np.broadcast_to(idx, (2, 2)), 1).tolist()


def test_addmv_addbmm_mv_msort_against_numpy():
    rng = np.random.default_rng(3)
    i, m, v = rng.standard_normal(2), rng.standard_normal((2, 3)), rng.standard_normal(3)
    t = lambda a: mg.tensor(a, dtype=mg.float64)  # noqa: E731
    np.testing.assert_allclose(mg.addmv(t(i), t(m), t(v)).numpy(), i + m @ v, rtol=1e-14)
    np.testing.assert_allclose(mg.addmv(t(i), t(m), t(v), beta=0.5, alpha=3).numpy(), 0.5 * i + 3 * (m @ v),
                               rtol=1e-14)
    np.testing.assert_allclose(mg.mv(t(m), t(v)).numpy(), m @ v, rtol=1e-14)
    b1, b2, j = rng.standard_normal((4, 2, 3)), rng.standard_normal((4, 3, 5)), rng.standard_normal((2, 5))
    np.testing.assert_allclose(mg.addbmm(t(j), t(b1), t(b2)).numpy(), j + (b1 @ b2).sum(0), rtol=1e-13)
    np.testing.assert_allclose(mg.addbmm(t(j), t(b1), t(b2), beta=2, alpha=0.5).numpy(),
                               2 * j + 0.5 * (b1 @ b2).sum(0), rtol=1e-13)
    x = np.array([[3.0, 1.0], [1.0, 2.0], [2.0, 0.0]])
    assert mg.msort(t(x)).tolist() == np.sort(x, axis=0).tolist()


def test_prod_shapes_and_gradients():
    x = mg.tensor([[2.0, 3.0, 4.0]], dtype=mg.float64, requires_grad=True)
    assert mg.prod(x, 1).shape == (1,) and mg.prod(x, 1).item() == 24.0  # keepdim False by default
    assert mg.prod(mg.tensor([2.0, 3.0, 4.0]), 0).item() == 24.0
    z = mg.tensor(5.0, dtype=mg.float64, requires_grad=True)
    out = mg.prod(z, 0)
    assert out.shape == () and out.item() == 5.0
    out.backward()
    assert z.grad.item() == 1.0
    mg.prod(x, 0).sum().backward()  # over a length-1 dim: the product of nothing else, 1
    assert x.grad.tolist() == [[1.0, 1.0, 1.0]]
    e = mg.zeros(2, 0, dtype=mg.float64, requires_grad=True)
    out = mg.prod(e, 1)
    assert out.tolist() == [1.0, 1.0]
    out.sum().backward()
    assert e.grad.shape == (2, 0)


def test_column_stack_diag_embed_and_sort_of_zero_dim():
    assert mg.column_stack([mg.tensor([1, 2]), mg.tensor([[3], [4]])]).tolist() == [[1, 3], [2, 4]]
    assert mg.column_stack([mg.tensor([1, 2]), mg.tensor([5, 6])]).tolist() == [[1, 5], [2, 6]]
    out = mg.diag_embed(mg.tensor([1.0, 2.0], dtype=mg.float32), offset=1)
    assert out.dtype == mg.float32
    assert out.tolist() == [[0.0, 1.0, 0.0], [0.0, 0.0, 2.0], [0.0, 0.0, 0.0]]
    assert mg.diag_embed(mg.tensor([1.0, 2.0]), offset=-1).tolist() == [[0, 0, 0], [1, 0, 0], [0, 2, 0]]
    out = mg.sort(mg.tensor(3.0))
    assert out.values.item() == 3.0 and out.indices.dtype == mg.int64 and out.indices.item() == 0


def test_factories_place_on_the_device(on_device):
    for make in (lambda: mg.zeros(2, device="cuda"), lambda: mg.ones(2, device="cuda"),
                 lambda: mg.arange(2, device="cuda")):
        t = make()
        assert t.device == "cuda"
    assert mg.zeros(2, device="cpu").device == "cpu"


def test_more_messages_of_the_second_sample():
    import minigrad.nn.functional as F

    cases = [
        (RuntimeError, "addmm: mat1 and mat2 must be matrices, got (2, 2) and (2,)",
         lambda: mg.addmm(mg.ones(2, 2), mg.ones(2, 2), mg.ones(2))),
        (ValueError, "huber_loss: input (2,) and target (3,) have different shapes; broadcasting them would "
                     "silently compare every pair (reshape one of them)",
         lambda: F.huber_loss(mg.ones(2), mg.ones(3))),
        (ValueError, "poisson_nll_loss: the shapes of input (2, 3), target (4,) do not broadcast",
         lambda: F.poisson_nll_loss(mg.ones(2, 3), mg.ones(4))),
        (IndexError, "logsumexp: dim 3 is out of range for a tensor with 1 dims", lambda: mg.logsumexp(mg.ones(2), 3)),
        (IndexError, "median: dim 3 is out of range for a tensor with 1 dims", lambda: mg.median(mg.ones(2), 3)),
        (IndexError, "kthvalue: dim 3 is out of range for a tensor with 1 dims",
         lambda: mg.kthvalue(mg.ones(2), 1, 3)),
        (ValueError, "pad: negative padding (-1, 0) is not supported", lambda: mg.pad(mg.ones(2), (-1, 0))),
    ]
    for error, message, call in cases:
        with pytest.raises(error, match=_exactly(message)):
            call()


def test_scatter_reduce_zero_dim_mean_of_ints_and_float32():
    out = mg.scatter_reduce(mg.tensor(2.0), 0, mg.tensor([0]), mg.tensor([3.0]), "sum")
    assert out.shape == () and out.item() == 5.0  # include_self=True by default
    out = mg.scatter_reduce(mg.tensor(2.0), 0, mg.tensor([0]), mg.tensor([3.0]), "sum", include_self=False)
    assert out.item() == 3.0
    # integer mean rounds down, as torch: (10 + 3 + 4) / 3 = 5.67 -> 5
    out = mg.scatter_reduce(mg.tensor([1, 10]), 0, mg.tensor([1, 1]), mg.tensor([3, 4]), "mean")
    assert out.dtype == mg.int64 and out.tolist() == [1, 5]
    out = mg.scatter_reduce(mg.tensor([1.0, 10.0], dtype=mg.float32), 0, mg.tensor([1, 1]),
                            mg.tensor([3.0, 5.0], dtype=mg.float32), "mean")
    assert out.dtype == mg.float32 and out.tolist() == [1.0, 6.0]


def test_reductions_keyword_aliases_defaults_and_dtypes():
    import minigrad.nn.functional as F

    assert mg.amin(mg.tensor([[3, 1], [0, 5]]), axis=1).tolist() == [1, 0]
    out = mg.logsumexp(mg.ones(0, dtype=mg.float32), 0)
    assert out.dtype == mg.float32 and out.item() == -math.inf
    std, mean = mg.std_mean(mg.tensor([[1.0, 3.0], [2.0, 2.0]], dtype=mg.float64), 1)  # keepdim False
    assert std.shape == (2,) and mean.shape == (2,) and mean.tolist() == [2.0, 2.0]
    # lp_pool1d with p = 1 is sum pooling; an explicit stride 1 overlaps the windows
    assert F.lp_pool1d(mg.tensor([[[1.0, 2.0, 3.0]]]), 1, 2, stride=1).tolist() == [[[3.0, 5.0]]]
    assert F.lp_pool1d(mg.tensor([[[1.0, 2.0, 3.0, 4.0]]]), 1, 2).tolist() == [[[3.0, 7.0]]]


def test_shape_op_gradients_and_roll_of_a_one_element_tuple():
    assert mg.roll(mg.tensor([1, 2, 3]), (1,)).tolist() == [3, 1, 2]
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=mg.float64, requires_grad=True)
    (mg.diagonal(x) * mg.tensor([5.0, 7.0], dtype=mg.float64)).sum().backward()
    assert x.grad.tolist() == [[5.0, 0.0], [0.0, 7.0]]
    y = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    z = y.repeat(0, 2)
    assert z.shape == (0, 4)
    z.sum().backward()
    assert y.grad.dtype == mg.float64 and y.grad.tolist() == [0.0, 0.0]


def test_median_with_nan_mode_at_index_zero_and_zero_dim_kthvalue():
    out = mg.median(mg.tensor([1.0, math.nan, 3.0]), 0)
    assert math.isnan(out.values.item()) and out.indices.item() == 1  # NaN wins, as in torch
    out = mg.mode(mg.tensor([5, 7, 8]))
    assert (out.values.item(), out.indices.item()) == (5, 0)
    out = mg.kthvalue(mg.tensor(3.0), 1)
    assert out.values.item() == 3.0 and out.indices.dtype == mg.int64 and out.indices.item() == 0


def test_zero_dim_kthvalue_indices_stay_on_the_device(on_device):
    out = mg.kthvalue(mg.tensor(3.0).cuda(), 1)
    assert out.indices.device == "cuda" and out.values.device == "cuda"


def test_third_batch_of_messages():
    import minigrad.nn.functional as F

    cases = [
        (ValueError, "ConvTranspose3d: expected a 5-D input (N, C_in, *spatial) for a weight of shape "
                     "(1, 1, 2, 2, 2), got input of shape (1, 1, 3, 3)",
         lambda: mg.nn.ConvTranspose3d(1, 1, 2)(mg.ones(1, 1, 3, 3))),
        (ValueError, "conv_transpose2d: groups=2 must divide the input channels 3",
         lambda: F.conv_transpose2d(mg.ones(1, 3, 5, 5), mg.ones(3, 1, 2, 2), groups=2)),
        (ValueError, "interpolate: align_corners can only be set with the interpolating modes "
                     "linear | bilinear | bicubic | trilinear, not 'nearest'",
         lambda: F.interpolate(mg.ones(1, 1, 2, 2), scale_factor=2, mode="nearest", align_corners=True)),
        (RuntimeError, "einsum(): the '...' dims [(2,), (4,)] of '...i,...i->...' cannot be broadcast",
         lambda: mg.einsum("...i,...i->...", mg.ones(2, 3), mg.ones(4, 3))),
        (RuntimeError, "einsum(): must provide at least one operand", lambda: mg.einsum("i")),
        (ValueError, "ctc_loss: targets (3,) must be (N, S) padded or the concatenation of target_lengths (sum 2)",
         lambda: F.ctc_loss(mg.zeros(3, 1, 3), mg.tensor([1, 2, 1]), [3], [2])),
        (ValueError, "triplet_margin_loss: reduction must be 'mean', 'sum' or 'none', got 'avg'",
         lambda: F.triplet_margin_loss(mg.ones(2, 3), mg.ones(2, 3), mg.ones(2, 3), reduction="avg")),
        (ValueError, "triplet_margin_loss: expected anchor, positive and negative of one shape (N, D) or (D), "
                     "got (2, 3), (2, 3), (3, 3)",
         lambda: F.triplet_margin_loss(mg.ones(2, 3), mg.ones(2, 3), mg.ones(3, 3))),
        (ValueError, "adaptive_max_pool2d: expected a 3-D (C, *spatial) or 4-D (N, C, *spatial) input, "
                     "got shape (4,)",
         lambda: F.adaptive_max_pool2d(mg.ones(4), 2)),
    ]
    for error, message, call in cases:
        with pytest.raises(error, match=_exactly(message)):
            call()


def test_conv_transpose_gradient_for_the_input_alone():
    import minigrad.nn.functional as F

    rng = np.random.default_rng(1)
    x = mg.tensor(rng.standard_normal((1, 2, 3, 3)), dtype=mg.float64, requires_grad=True)
    w = mg.tensor(rng.standard_normal((2, 1, 2, 2)), dtype=mg.float64)  # no gradient wanted
    assert mg.gradcheck(lambda x: F.conv_transpose2d(x, w, stride=2), [x])


def test_pow_cross_outer_and_vector_norm_details():
    from minigrad.ops.linalg import vector_norm

    a = mg.tensor([2.0, 3.0], dtype=mg.float64, requires_grad=True)
    out = mg.pow(a, np.array([2.0, 1.0]))
    assert out.tolist() == [4.0, 3.0]
    out.sum().backward()
    assert a.grad.tolist() == [4.0, 1.0]  # d a^p / da = p a^(p-1)
    # cross broadcasts the smaller operand
    out = mg.cross(mg.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), mg.tensor([0.0, 0.0, 1.0]))
    assert out.tolist() == [[0.0, -1.0, 0.0], [1.0, 0.0, 0.0]]
    assert vector_norm(mg.tensor([3.0, 4.0], dtype=mg.float64)).item() == 5.0  # ord 2 by default
    out = vector_norm(mg.tensor([3.0, 4.0], dtype=mg.float32), dtype=mg.float64)
    assert out.dtype == mg.float64 and out.item() == 5.0


def test_einsum_gradients_through_repeated_and_broadcast_indices():
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=mg.float64, requires_grad=True)
    (mg.einsum("ii->i", x) * mg.tensor([5.0, 7.0], dtype=mg.float64)).sum().backward()
    assert x.grad.tolist() == [[5.0, 0.0], [0.0, 7.0]]
    rng = np.random.default_rng(2)
    a = mg.tensor(rng.standard_normal((1, 2, 3)), dtype=mg.float64, requires_grad=True)
    b = mg.tensor(rng.standard_normal((4, 3, 2)), dtype=mg.float64, requires_grad=True)
    out = mg.einsum("...ij,...jk->...ik", a, b)
    np.testing.assert_allclose(out.numpy(), a.numpy() @ b.numpy(), rtol=1e-14)
    assert mg.gradcheck(lambda a, b: mg.einsum("...ij,...jk->...ik", a, b), [a, b])


def test_ctc_loss_of_an_empty_input():
    import minigrad.nn.functional as F

    # no frames and no labels: probability 1, loss 0 (as torch)
    out = F.ctc_loss(mg.zeros(2, 1, 3, dtype=mg.float64), mg.tensor([[1]]), [0], [0], reduction="none")
    assert out.tolist() == [0.0]


def test_pooling_shapes_defaults_and_dtypes():
    import minigrad.nn.functional as F

    out = F.adaptive_avg_pool2d(mg.arange(8.0).reshape(1, 1, 4, 2), (2, 1))
    assert out.shape == (1, 1, 2, 1) and out.tolist() == [[[[1.5], [5.5]]]]
    assert F.adaptive_avg_pool2d(mg.arange(8.0).reshape(1, 1, 4, 2), 1).tolist() == [[[[3.5]]]]
    # dilation 1 by default: the 2x2x2 window at the origin, max 13
    assert F.max_pool3d(mg.arange(27.0).reshape(1, 1, 3, 3, 3), 2).tolist() == [[[[[13.0]]]]]
    out = F.max_unpool1d(mg.tensor([[[5.0, 7.0]]], dtype=mg.float32), mg.tensor([[[1, 2]]]), 2)
    assert out.dtype == mg.float32 and out.tolist() == [[[0.0, 5.0, 7.0, 0.0]]]


def test_softmax_defaults_to_the_last_dim():
    x = mg.tensor([[0.0, math.log(3.0)], [math.log(3.0), 0.0]], dtype=mg.float64)
    np.testing.assert_allclose(mg.softmax(x).numpy(), [[0.25, 0.75], [0.75, 0.25]], rtol=1e-15)


def test_fourth_batch_of_messages():
    import minigrad.nn.functional as F

    cases = [
        (ValueError, "conv3d: dilation must be an int or 3 ints, got (1, 2)",
         lambda: F.conv3d(mg.ones(1, 1, 3, 3, 3), mg.ones(1, 1, 2, 2, 2), dilation=(1, 2))),
        (ValueError, "conv3d: padding must be an int or 3 ints, got (1, 2)",
         lambda: F.conv3d(mg.ones(1, 1, 3, 3, 3), mg.ones(1, 1, 2, 2, 2), padding=(1, 2))),
        (TypeError, "where: pass both a and b, or neither (where(condition) gives indices)",
         lambda: mg.where(mg.tensor([True]), mg.ones(1))),
        (RuntimeError, "gather: size does not match at dimension 0: expected index (3, 1) to be no larger "
                       "than input (2, 2) apart from dimension 1",
         lambda: mg.gather(mg.ones(2, 2), 1, mg.tensor([[0], [0], [0]]))),
        (RuntimeError, "gather: index 1 is out of bounds for dimension 0 with size 1",
         lambda: mg.gather(mg.tensor(5.0), 0, mg.tensor([1]))),
        (ValueError, "max_pool2d: padding must be an int or a pair of ints, got (1, 2, 3)",
         lambda: F.max_pool2d(mg.ones(1, 1, 4, 4), 2, padding=(1, 2, 3))),
        (ValueError, "max_pool2d: kernel_size must be an int or a pair of ints, got (2, 2, 2)",
         lambda: F.max_pool2d(mg.ones(1, 1, 4, 4), (2, 2, 2))),
        (ValueError, "avg_pool2d: kernel_size must be an int or a pair of ints, got (2, 2, 2)",
         lambda: F.avg_pool2d(mg.ones(1, 1, 4, 4), (2, 2, 2))),
        (ValueError, "max_pool1d: stride must be an int or 1 ints, got (1, 1)",
         lambda: F.max_pool1d(mg.ones(1, 1, 4), 2, stride=(1, 1))),
        (ValueError, "max_pool1d: padding must be an int or 1 ints, got (1, 1)",
         lambda: F.max_pool1d(mg.ones(1, 1, 4), 2, padding=(1, 1))),
        (IndexError, "var: dim 2 is out of range for a tensor with 1 dims", lambda: mg.var(mg.ones(3), 2)),
        (TypeError, "var: pass either unbiased= or correction=, not both",
         lambda: mg.var(mg.tensor([1.0, 2.0]), unbiased=False, correction=1)),
    ]
    for error, message, call in cases:
        with pytest.raises(error, match=_exactly(message)):
            call()


def test_scatter_and_flatten_of_zero_dim_tensors():
    out = mg.scatter(mg.tensor(5.0), 0, mg.tensor(0), mg.tensor(7.0))
    assert out.shape == () and out.item() == 7.0
    out = mg.flatten(mg.tensor(3.0))
    assert out.shape == (1,) and out.tolist() == [3.0]


def test_max_pool_nd_indices():
    import minigrad.nn.functional as F

    values, indices = F.max_pool1d(mg.tensor([[[1.0, 5.0, 2.0, 0.0, 3.0]]]), 2, return_indices=True)
    assert values.tolist() == [[[5.0, 2.0]]] and indices.tolist() == [[[1, 2]]]
    x = np.zeros((1, 1, 2, 4, 4))
    x[0, 0, 1, 2, 3] = 9.0  # flat index 1*16 + 2*4 + 3 = 27, in the second window along W
    values, indices = F.max_pool3d(mg.tensor(x), 2, return_indices=True)
    assert values.tolist() == [[[[[0.0, 0.0], [0.0, 9.0]]]]]
    assert indices[0, 0, 0, 1, 1].item() == 27


def test_var_unbiased_keyword_and_no_warning_without_degrees_of_freedom():
    import warnings

    x = mg.tensor([1.0, 2.0, 4.0], dtype=mg.float64)
    assert mg.var(x, unbiased=False).item() == pytest.approx(14 / 9, rel=1e-15)  # mean 7/3
    assert mg.var(x, unbiased=True).item() == pytest.approx(7 / 3, rel=1e-15)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 0/0 and x/0 give nan and inf silently, as torch
        assert math.isnan(mg.var(mg.tensor([1.0], dtype=mg.float64)).item())
        assert mg.var(mg.tensor([1.0, 3.0], dtype=mg.float64), correction=2).item() == math.inf


def test_gru_runs_on_the_device(on_device):
    mg.manual_seed(0)
    gru = mg.nn.GRU(2, 3)
    want = gru(mg.ones(4, 1, 2))[0].numpy()
    got = gru.cuda()(mg.ones(4, 1, 2).cuda())[0]
    assert got.device == "cuda"
    np.testing.assert_allclose(got.cpu().numpy(), want, rtol=1e-6)


def test_conv2d_negative_padding_and_dropout_of_everything():
    import minigrad.nn.functional as F

    with pytest.raises(ValueError, match=_exactly(
            "conv2d: stride and dilation must be >= 1 and padding >= 0, got stride=(1, 1), padding=(-1, -1), "
            "dilation=(1, 1)")):
        F.conv2d(mg.ones(1, 1, 3, 3), mg.ones(1, 1, 2, 2), padding=-1)
    x = mg.ones(3, dtype=mg.float32, requires_grad=True)
    out = F.dropout(x, p=1.0, training=True)
    assert out.dtype == mg.float32 and out.tolist() == [0.0, 0.0, 0.0]
    out.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_gelu_float32_on_the_device(on_device):
    import minigrad.nn.functional as F

    xs = np.array([-1.0, 0.5, 2.0])
    x = mg.tensor(xs, dtype=mg.float32).cuda().requires_grad_()
    y = F.gelu(x)
    y.backward(mg.ones(3, dtype=mg.float32).cuda())
    cdf = np.array([(1 + math.erf(v / math.sqrt(2))) / 2 for v in xs])
    pdf = np.exp(-xs * xs / 2) / math.sqrt(2 * math.pi)
    assert y.device == "cuda" and x.grad.device == "cuda"
    np.testing.assert_allclose(y.cpu().numpy(), xs * cdf, rtol=2e-6)
    np.testing.assert_allclose(x.grad.cpu().numpy(), cdf + xs * pdf, rtol=2e-6)


def test_attention_checks_and_unbatched_inputs():
    import minigrad.nn.functional as F

    with pytest.raises(ValueError, match=_exactly(
            "scaled_dot_product_attention: query, key and value need at least 2 dims (..., seq, features), "
            "got query (3,), key (2, 3), value (2, 3)")):
        F.scaled_dot_product_attention(mg.ones(3), mg.ones(2, 3), mg.ones(2, 3))
    with pytest.raises(ValueError, match=_exactly(
            "scaled_dot_product_attention: the batch and head dims of query (1, 4, 2, 3), key (1, 2, 2, 3), "
            "value (1, 2, 2, 3) do not broadcast (for grouped-query attention pass enable_gqa=True)")):
        F.scaled_dot_product_attention(mg.ones(1, 4, 2, 3), mg.ones(1, 2, 2, 3), mg.ones(1, 2, 2, 3))
    # unbatched (L, E): scale 1/sqrt(2); row 0 scores (0, 0), row 1 scores (1/sqrt(2), 0)
    q = mg.tensor([[0.0, 0.0], [1.0, 0.0]], dtype=mg.float64)
    k = mg.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=mg.float64)
    v = mg.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=mg.float64)
    p0 = math.exp(1 / math.sqrt(2)) / (math.exp(1 / math.sqrt(2)) + 1)
    want = [[2.0, 3.0], [p0 * 1 + (1 - p0) * 3, p0 * 2 + (1 - p0) * 4]]
    out = F.scaled_dot_product_attention(q, k, v)
    assert out.shape == (2, 2)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-14)


def test_cat_shape_mismatch_message():
    with pytest.raises(ValueError, match=_exactly("cat: shapes must match except in dim 0, got (2, 3), (3, 2)")):
        mg.cat([mg.ones(2, 3), mg.ones(3, 2)])


def test_triplet_margin_loss_with_a_zero_distance_and_no_eps():
    import minigrad.nn.functional as F

    # d(a, p) = 0 has gradient 0 (no NaN); d(a, n) = 5 along (3, 4): the gradient is (0.6, 0.8)
    a = mg.tensor([[1.0, 2.0]], dtype=mg.float64, requires_grad=True)
    loss = F.triplet_margin_loss(a, a.detach(), mg.tensor([[4.0, 6.0]], dtype=mg.float64), margin=10.0, eps=0.0)
    assert loss.item() == 5.0
    loss.backward()
    np.testing.assert_allclose(a.grad.numpy(), [[0.6, 0.8]], rtol=1e-15)


def test_masked_scatter_broadcasts_a_smaller_mask_and_repeat_of_an_empty_tensor():
    out = mg.masked_scatter(mg.tensor([[1.0, 2.0], [3.0, 4.0]]), mg.tensor([True, False]),
                            mg.tensor([10.0, 20.0, 30.0]))
    assert out.tolist() == [[10.0, 2.0], [20.0, 4.0]]
    x = mg.zeros(0, 2, dtype=mg.float64, requires_grad=True)
    y = x.repeat(2, 1)
    assert y.shape == (0, 2)
    y.sum().backward()
    assert x.grad.shape == (0, 2) and x.grad.dtype == mg.float64


def test_eye_linspace_logspace_place_on_the_device(on_device):
    for t in (mg.eye(2, device="cuda"), mg.linspace(0, 1, 3, device="cuda"),
              mg.logspace(0, 1, 2, device="cuda"), mg.tril_indices(2, 2, device="cuda")):
        assert t.device == "cuda"
    assert mg.eye(2, device="cuda").cpu().tolist() == [[1.0, 0.0], [0.0, 1.0]]


# ============================================================================ third sample (seed 2)


def test_messages_of_the_third_sample():
    import minigrad.nn.functional as F

    cases = [
        (NotImplementedError, "interpolate: got 3D input, but bilinear mode needs 4D input (shape (1, 1, 2))",
         lambda: F.interpolate(mg.ones(1, 1, 2), size=3, mode="bilinear")),
        (ValueError, "binary_cross_entropy: reduction must be 'mean', 'sum' or 'none', got 'avg'",
         lambda: F.binary_cross_entropy(mg.ones(2) * 0.5, mg.ones(2), reduction="avg")),
        (ValueError, "gaussian_nll_loss: reduction must be 'mean', 'sum' or 'none', got 'avg'",
         lambda: F.gaussian_nll_loss(mg.ones(2), mg.ones(2), mg.ones(2), reduction="avg")),
        (ValueError, "mse_loss: reduction must be 'mean', 'sum' or 'none', got 'avg'",
         lambda: F.mse_loss(mg.ones(2), mg.ones(2), reduction="avg")),
        (ValueError, "margin_ranking_loss: the shapes of input1 (2,), input2 (3,), target (2,) do not broadcast",
         lambda: F.margin_ranking_loss(mg.ones(2), mg.ones(3), mg.ones(2))),
        (ValueError, "batch_norm: eval mode (training=False) needs running_mean and running_var",
         lambda: F.batch_norm(mg.ones(2, 3), None, None)),
        (ValueError, "adaptive_avg_pool1d: expected a 2-D (C, *spatial) or 3-D (N, C, *spatial) input, got shape (4,)",
         lambda: F.adaptive_avg_pool1d(mg.ones(4), 2)),
        (ValueError, "avg_pool1d: expected a 2-D (C, *spatial) or 3-D (N, C, *spatial) input, got shape (4,)",
         lambda: F.avg_pool1d(mg.ones(4), 2)),
        (ValueError, "max_unpool1d: expected a 2-D (C, *spatial) or 3-D (N, C, *spatial) input, got shape (4,)",
         lambda: F.max_unpool1d(mg.ones(4), mg.zeros(4, dtype=mg.int64), 2)),
        (IndexError, "amax: dim 4 is out of range for a tensor with 2 dims", lambda: mg.amax(mg.ones(2, 3), 4)),
        (ValueError, "softmax: expects a single dim, got (0, 1)", lambda: mg.softmax(mg.ones(2, 3), (0, 1))),
        (IndexError, "nanmean: dim 4 is out of range for a tensor with 2 dims", lambda: mg.nanmean(mg.ones(2, 3), 4)),
        (RuntimeError, "broadcast_tensors: shapes (2,), (3,) cannot be broadcast together",
         lambda: mg.broadcast_tensors(mg.ones(2), mg.ones(3))),
        (IndexError, "narrow: start 2 + length 2 exceeds dim 0 of size 3", lambda: mg.narrow(mg.ones(3), 0, 2, 2)),
        (ValueError, "permute: (0, 0) is not a permutation of the 2 dims of (2, 3)",
         lambda: mg.permute(mg.ones(2, 3), (0, 0))),
        (RuntimeError, "rot90: the rotation dims must differ, got (0, 0)", lambda: mg.rot90(mg.ones(2, 3), 1, (0, 0))),
        (RuntimeError, "median: cannot compute the median of an empty tensor without dim",
         lambda: mg.median(mg.ones(0))),
        (RuntimeError, "gather: expected an int64 index tensor, got dtype float32",
         lambda: mg.gather(mg.ones(3), 0, mg.tensor([0.5], dtype=mg.float32))),
        (IndexError, "index_select: dim 2 is out of range for a tensor with 1 dims",
         lambda: mg.index_select(mg.ones(3), 2, mg.tensor([0]))),
        (IndexError, "take_along_dim: dim 3 is out of range for a tensor with 2 dims",
         lambda: mg.take_along_dim(mg.ones(2, 2), mg.tensor([[0]]), 3)),
        (RuntimeError, "masked_scatter: expected source to have at least 2 elements (one per True in the mask), "
                       "got 1",
         lambda: mg.masked_scatter(mg.ones(2), mg.tensor([True, True]), mg.ones(1))),
    ]
    for error, message, call in cases:
        with pytest.raises(error, match=_exactly(message)):
            call()


def test_activation_gradients_at_their_kinks():
    import minigrad.nn.functional as F

    # torch's choices: PReLU takes the slope a at x = 0; softshrink passes no gradient at |x| = lambda
    x = mg.tensor([-1.0, 0.0, 2.0], dtype=mg.float64, requires_grad=True)
    a = mg.tensor([0.25], dtype=mg.float64, requires_grad=True)
    F.prelu(x, a).sum().backward()
    assert x.grad.tolist() == [0.25, 0.25, 1.0] and a.grad.tolist() == [-1.0]
    x = mg.tensor([0.5, -0.5, 1.0, 0.2], dtype=mg.float64, requires_grad=True)
    F.softshrink(x, 0.5).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0, 0.0]


def test_masked_fill_and_masked_select_with_other_masks_and_values():
    out = mg.masked_fill(mg.tensor([1.0, 2.0]), np.array([True, False]), 0.0)
    assert out.tolist() == [0.0, 2.0]
    out = mg.masked_fill(mg.tensor([1.0, 2.0], dtype=mg.float32), mg.tensor([True, False]),
                         mg.tensor(7.0, dtype=mg.float64))
    assert out.dtype == mg.float32 and out.tolist() == [7.0, 2.0]
    assert mg.masked_select(mg.tensor([1.0, 2.0, 3.0]), [True, False, True]).tolist() == [1.0, 3.0]


def test_setitem_of_an_integer_value_of_another_dtype():
    from minigrad.ops.assign import setitem

    out = setitem(mg.zeros(3, dtype=mg.int32), slice(1, 3), mg.tensor([5, 6], dtype=mg.int64))
    assert out.dtype == mg.int32 and out.tolist() == [0, 5, 6]


def test_conv_transpose1d_default_stride_and_message():
    import minigrad.nn.functional as F

    out = F.conv_transpose1d(mg.tensor([[[1.0, 2.0]]]), mg.tensor([[[1.0, 10.0]]]))
    assert out.tolist() == [[[1.0, 12.0, 20.0]]]  # stride 1: the two kernels overlap
    with pytest.raises(ValueError, match=_exactly("conv_transpose1d: groups=2 must divide the input channels 3")):
        F.conv_transpose1d(mg.ones(1, 3, 4), mg.ones(3, 1, 2), groups=2)


def test_reductions_of_the_third_sample():
    x = mg.tensor([[1, 0], [0, 0]], dtype=mg.uint8)
    for op, want in ((mg.all, [False, False]), (mg.any, [True, False])):
        out = op(x, 1)
        assert out.dtype == mg.uint8 and out.tolist() == [int(v) for v in want]
    assert mg.count_nonzero(mg.tensor([[0, 1], [2, 0]])).item() == 2
    out = mg.max(mg.tensor(3.0), 0)
    assert out.values.item() == 3.0 and out.indices.dtype == mg.int64 and out.indices.item() == 0
    out = mg.max(mg.tensor([[1.0, 5.0, 2.0]]), 1)
    assert out.indices.shape == (1,) and out.indices.tolist() == [1]
    assert mg.amax(mg.ones(2, 3), 1).shape == (2,)
    out = mg.nansum(mg.tensor([1.0, math.nan], dtype=mg.float32), dtype=mg.float64)
    assert out.dtype == mg.float64 and out.item() == 1.0
    var, mean = mg.var_mean(mg.tensor([1.0, 3.0], dtype=mg.float64), correction=0)
    assert (var.item(), mean.item()) == (1.0, 2.0)
    assert mg.median(mg.tensor([3.0, 1.0, 2.0])).shape == ()
    out = mg.mode(mg.tensor([[1, 1, 2]]), 1, keepdim=True)
    assert out.values.tolist() == [[1]] and out.indices.tolist() == [[1]]


def test_shape_ops_of_the_third_sample():
    assert mg.atleast_3d(mg.tensor(2.0)).shape == (1, 1, 1)
    assert mg.ones(2).expand(3, 2).shape == (3, 2)
    assert mg.unsqueeze(mg.ones(2), 1).shape == (2, 1)
    assert mg.unsqueeze(mg.ones(2), -2).shape == (1, 2)
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert mg.take_along_dim(x, mg.tensor([[3, 0]])).tolist() == [4.0, 1.0]  # dim None: the flat tensor
    assert mg.vdot(mg.tensor([1.0, 2.0]), mg.tensor([3.0, 4.0])).item() == 11.0
    assert mg.where(mg.tensor([True, False]), np.float32(1.5), 2).tolist() == [1.5, 2.0]


def test_losses_of_the_third_sample():
    import minigrad.nn.functional as F

    # huber (delta 1): 0.5 * 0.5^2 and 3 - 0.5, averaged; targets as a plain list
    assert F.huber_loss(mg.tensor([0.5, 3.0], dtype=mg.float64), [0.0, 0.0]).item() == pytest.approx(
        (0.125 + 2.5) / 2, rel=1e-15)
    # triplet margin 1 by default: 1 + d(a, p) - d(a, n) with eps 1e-6 inside the norms
    a, p, n = (mg.tensor(v, dtype=mg.float64) for v in ([0.0, 0.0], [0.3, 0.4], [0.0, 0.7]))
    want = 1.0 + math.hypot(0.3 - 1e-6, 0.4 - 1e-6) - math.hypot(-1e-6, 0.7 - 1e-6)
    assert F.triplet_margin_loss(a, p, n).item() == pytest.approx(want, rel=1e-12)
    # Poisson with full=True adds Stirling's term only where the target is > 1 (torch): none at y = 1
    assert F.poisson_nll_loss(mg.tensor([0.0], dtype=mg.float64), mg.tensor([1.0], dtype=mg.float64),
                              full=True).item() == 1.0


def test_more_of_the_third_sample():
    import minigrad.nn.functional as F

    cases = [
        (ValueError, "conv_transpose2d: expected a 4-D input and a 4-D weight, got shapes (1, 3, 3) and (1, 1, 2, 2)",
         lambda: F.conv_transpose2d(mg.ones(1, 3, 3), mg.ones(1, 1, 2, 2))),
        (ValueError, "conv_transpose2d: output_padding must be an int or 2 ints, got (1, 2, 3)",
         lambda: F.conv_transpose2d(mg.ones(1, 1, 2, 2), mg.ones(1, 1, 2, 2), output_padding=(1, 2, 3))),
        (NotImplementedError, "embedding: sparse=True is not supported by minigrad (its gradients are dense); "
                              "leave sparse=False",
         lambda: F.embedding(mg.tensor([0]), mg.ones(2, 2), sparse=True)),
        (ValueError, "max_pool2d: kernel_size, stride and dilation must be >= 1, got (2, 2), (0, 0) and (1, 1)",
         lambda: F.max_pool2d(mg.ones(1, 1, 4, 4), 2, stride=0)),
        (ValueError, "split: split size must be positive, got 0", lambda: mg.split(mg.ones(3), 0)),
        (IndexError, "split: dim 2 is out of range for a tensor with 1 dims", lambda: mg.split(mg.ones(3), 1, 2)),
    ]
    for error, message, call in cases:
        with pytest.raises(error, match=_exactly(message)):
            call()
    # conv_transpose2d: padding 0 by default, so a 1x1 input spreads the whole kernel
    out = F.conv_transpose2d(mg.tensor([[[[1.0]]]]), mg.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]))
    assert out.tolist() == [[[[1.0, 2.0], [3.0, 4.0]]]]
    # max_norm renormalizes only the rows above it: (3, 4) has norm 5 -> (0.6, 0.8) (up to 1e-7)
    out = F.embedding(mg.tensor([0, 1]), mg.tensor([[3.0, 4.0], [0.3, 0.4]], dtype=mg.float64), max_norm=1.0)
    np.testing.assert_allclose(out.numpy(), [[0.6, 0.8], [0.3, 0.4]], rtol=1e-6)
    assert out.numpy()[1].tolist() == [0.3, 0.4]
    assert mg.gather(mg.tensor([1.0, 2.0, 3.0]), 0, mg.tensor([-3])).tolist() == [1.0]  # -n is valid
    assert mg.einsum("i,i->", np.array([1.0, 2.0]), mg.tensor([3.0, 4.0], dtype=mg.float64)).item() == 11.0
    # adaptive pooling: None keeps that dim's size
    out = F.adaptive_avg_pool2d(mg.arange(6.0).reshape(1, 1, 2, 3), (1, None))
    assert out.tolist() == [[[[1.5, 2.5, 3.5]]]]
    out = mg.mean(mg.tensor([1.0, 2.0], dtype=mg.float32), dtype=mg.float64)
    assert out.dtype == mg.float64 and out.item() == 1.5


def test_norm_gradient_at_zero_and_cross_entropy_gradient_with_sum():
    import minigrad.nn.functional as F

    x = mg.zeros(3, dtype=mg.float64, requires_grad=True)
    mg.norm(x).backward()
    assert x.grad.dtype == mg.float64 and x.grad.tolist() == [0.0, 0.0, 0.0]
    # d/dz of -log softmax(z)_t is softmax(z) - onehot(t); "sum" does not divide by N
    z = mg.tensor([[0.0, math.log(3.0)], [0.0, 0.0]], dtype=mg.float64, requires_grad=True)
    F.cross_entropy(z, mg.tensor([1, 0]), reduction="sum").backward()
    np.testing.assert_allclose(z.grad.numpy(), [[0.25, -0.25], [-0.5, 0.5]], rtol=1e-14)
    z.grad = None
    F.cross_entropy(z, mg.tensor([1, 0])).backward()
    np.testing.assert_allclose(z.grad.numpy(), [[0.125, -0.125], [-0.25, 0.25]], rtol=1e-14)
    z.grad = None
    F.nll_loss(z, mg.tensor([1, 0]), reduction="sum").backward()
    assert z.grad.tolist() == [[0.0, -1.0], [-1.0, 0.0]]


def test_rnn_gradients():
    rng = np.random.default_rng(4)
    for nonlinearity in ("tanh", "relu"):
        mg.manual_seed(0)
        rnn = mg.nn.RNN(2, 3, nonlinearity=nonlinearity, dtype=mg.float64)
        x = mg.tensor(rng.standard_normal((3, 1, 2)), dtype=mg.float64, requires_grad=True)
        assert mg.gradcheck(lambda x, rnn=rnn: rnn(x)[0], [x])


def test_layer_norm_and_conv2d_bias_on_the_device(on_device):
    import minigrad.nn.functional as F

    x = mg.tensor([[1.0, 3.0]], dtype=mg.float64)
    out = F.layer_norm(x.cuda(), (2,))
    assert out.device == "cuda"
    np.testing.assert_allclose(out.cpu().numpy(), F.layer_norm(x, (2,)).numpy(), rtol=1e-15)
    b = mg.zeros(1, dtype=mg.float64).cuda().requires_grad_()
    F.conv2d(mg.ones(1, 1, 3, 3, dtype=mg.float64).cuda(), mg.ones(1, 1, 2, 2, dtype=mg.float64).cuda(),
             b).sum().backward()
    assert b.grad.device == "cuda" and b.grad.cpu().tolist() == [4.0]


def test_gelu_float32_of_a_transposed_input():
    import minigrad.nn.functional as F

    # the float32 fast path writes into C-ordered buffers: a transposed (F-ordered) input too
    a = np.array([[-1.0, 0.5, 2.0], [0.25, -3.0, 1.0]])
    x = mg.tensor(a, dtype=mg.float32).t()
    want = np.array([[v * (1 + math.erf(v / math.sqrt(2))) / 2 for v in row] for row in a.T])
    np.testing.assert_allclose(F.gelu(x).numpy(), want, rtol=2e-6, atol=1e-7)


def test_last_of_the_third_sample():
    import minigrad.nn.functional as F

    cases = [
        (ValueError, "scaled_dot_product_attention: dropout_p must be in [0, 1), got 1.0",
         lambda: F.scaled_dot_product_attention(mg.ones(2, 2), mg.ones(2, 2), mg.ones(2, 2), dropout_p=1.0)),
        (ValueError, "conv3d: stride must be an int or 3 ints, got (1, 2)",
         lambda: F.conv3d(mg.ones(1, 1, 3, 3, 3), mg.ones(1, 1, 2, 2, 2), stride=(1, 2))),
        (ValueError, "reshape: cannot reshape a tensor of shape (2, 3) (6 elements) into shape (4, 2)",
         lambda: mg.reshape(mg.ones(2, 3), (4, 2))),
    ]
    for error, message, call in cases:
        with pytest.raises(error, match=_exactly(message)):
            call()
    out = mg.tensor([2, 3]) + mg.tensor([True, False])  # int + bool stays int (no cast to bool)
    assert out.dtype == mg.int64 and out.tolist() == [3, 3]
    assert mg.add(mg.tensor([1.0, 2.0]), mg.tensor([3.0, 4.0]), alpha=2).tolist() == [7.0, 10.0]
    assert mg.sum(mg.tensor([[1.0, 2.0], [3.0, 4.0]]), axis=1).tolist() == [3.0, 7.0]
    mg.manual_seed(0)
    out = mg.nn.LSTM(2, 3)(mg.ones(4, 1, 2, dtype=mg.float32))[0]
    assert out.dtype == mg.float32


def test_attention_gradient_for_a_float_mask():
    import minigrad.nn.functional as F

    rng = np.random.default_rng(5)
    q, k, v = (mg.tensor(rng.standard_normal((1, 2, 3)), dtype=mg.float64) for _ in range(3))
    m = mg.tensor(rng.standard_normal((1, 2, 2)), dtype=mg.float64, requires_grad=True)
    assert mg.gradcheck(lambda m: F.scaled_dot_product_attention(q, k, v, attn_mask=m), [m])


def test_attention_with_a_tensor_mask_on_the_device(on_device):
    import minigrad.nn.functional as F

    q = mg.tensor([[0.0, 0.0], [1.0, 0.0]], dtype=mg.float64)
    mask = mg.tensor([[True, False], [True, True]])
    want = F.scaled_dot_product_attention(q, q, q, attn_mask=mask).numpy()
    out = F.scaled_dot_product_attention(q.cuda(), q.cuda(), q.cuda(), attn_mask=mask.cuda())
    assert out.device == "cuda"
    np.testing.assert_allclose(out.cpu().numpy(), want, rtol=1e-15)


def test_survivors_of_the_third_sample_rerun():
    import minigrad.nn.functional as F
    from minigrad.ops.linalg import vector_norm

    # prelu with one slope per channel of a 2-D (N, C) input
    out = F.prelu(mg.tensor([[-1.0, 2.0], [3.0, -4.0]]), mg.tensor([0.5, 0.25]))
    assert out.tolist() == [[-0.5, 2.0], [3.0, -1.0]]
    x = mg.zeros(3, dtype=mg.float64, requires_grad=True)
    vector_norm(x).backward()  # the 2-norm at 0: gradient 0, not NaN
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    x = mg.zeros(3, dtype=mg.float64, requires_grad=True)
    vector_norm(x, ord=3).backward()  # a general p-norm at 0: gradient 0 (as torch)
    assert x.grad.dtype == mg.float64 and x.grad.tolist() == [0.0, 0.0, 0.0]
    # cross_entropy over (N, C, d): reduction "none" keeps the (N, d) losses and their gradients
    z = mg.zeros(2, 3, 2, dtype=mg.float64, requires_grad=True)
    g = mg.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=mg.float64)
    F.cross_entropy(z, mg.tensor([[0, 1], [2, 0]]), reduction="none").backward(g)
    want = np.full((2, 3, 2), 1 / 3) * g.numpy()[:, None, :]
    for n, d, c in ((0, 0, 0), (0, 1, 1), (1, 0, 2), (1, 1, 0)):
        want[n, c, d] -= g.numpy()[n, d]
    np.testing.assert_allclose(z.grad.numpy(), want, rtol=1e-14)
    out = F.max_unpool1d(mg.tensor([[[5.0, 7.0]]]), mg.tensor([[[1, 2]]]), 2, output_size=[5])
    assert out.tolist() == [[[0.0, 5.0, 7.0, 0.0, 0.0]]]
    out = F.adaptive_max_pool2d(mg.arange(6.0).reshape(1, 1, 2, 3), (1, None))
    assert out.tolist() == [[[[3.0, 4.0, 5.0]]]]


def test_index_add_on_the_device(on_device):
    out = mg.index_add(mg.zeros(3).cuda(), 0, mg.tensor([0, 2, 0]).cuda(), mg.tensor([1.0, 2.0, 3.0]).cuda())
    assert out.device == "cuda" and out.cpu().tolist() == [4.0, 0.0, 2.0]


# ============================================================================ fourth sample (seed 3)


def test_messages_of_the_fourth_sample():
    import minigrad.nn.functional as F
    from minigrad.ops.assign import setitem

    cases = [
        (ValueError, "setitem: cannot assign a value of shape (3,) to index slice(0, 2, None) of a tensor of "
                     "shape (3,): setitem: cannot apply to shapes (3,) and (3,): could not broadcast input array "
                     "from shape (3,) into shape (2,)",
         lambda: setitem(mg.zeros(3), slice(0, 2), mg.ones(3))),
        (ValueError, "conv2d: expected a 4-D input (N, C, H, W) and a 4-D weight (O, C, KH, KW), got shapes "
                     "(3, 3) and (1, 1, 2, 2)",
         lambda: F.conv2d(mg.ones(3, 3), mg.ones(1, 1, 2, 2))),
        (ValueError, "conv3d: input of shape (1, 1, 1, 1, 1) (padded by (0, 0, 0)) is smaller than the kernel "
                     "(2, 2, 2) with dilation (1, 1, 1)",
         lambda: F.conv3d(mg.ones(1, 1, 1, 1, 1), mg.ones(1, 1, 2, 2, 2))),
        (RuntimeError, "index_copy: source of shape (3, 2) does not match the indexed shape (2, 2) "
                       "(input (3, 2), dim 0, 2 indices)",
         lambda: mg.index_copy(mg.ones(3, 2), 0, mg.tensor([0, 1]), mg.ones(3, 2))),
        (RuntimeError, "einsum(): the operand subscripts 'ij' name 2 dims but the operand has shape (2,)",
         lambda: mg.einsum("ij->i", mg.ones(2))),
        (RuntimeError, "baddbmm: batch1 and batch2 must be 3-D, got (2, 2) and (2, 2)",
         lambda: mg.baddbmm(mg.ones(2, 2), mg.ones(2, 2), mg.ones(2, 2))),
        (ValueError, "gaussian_nll_loss: the shapes of input (2,), target (3,), var (2,) do not broadcast",
         lambda: F.gaussian_nll_loss(mg.ones(2), mg.ones(3), mg.ones(2))),
        (ValueError, "batch_norm: bias must have shape (3,) for an input with 3 channels, got bias of shape (2,) "
                     "and input (2, 3)",
         lambda: F.batch_norm(mg.ones(2, 3), mg.zeros(3), mg.ones(3), bias=mg.ones(2))),
        (ValueError, "batch_norm: running_mean must have shape (3,) for an input with 3 channels, got "
                     "running_mean of shape (2,) and input (2, 3)",
         lambda: F.batch_norm(mg.ones(2, 3), mg.zeros(2), mg.ones(3))),
        (ValueError, "layer_norm: expected input with trailing shape (4,), got input of shape (2, 3)",
         lambda: F.layer_norm(mg.ones(2, 3), (4,))),
        (ValueError, "max_pool2d: stride must be an int or a pair of ints, got (1, 2, 3)",
         lambda: F.max_pool2d(mg.ones(1, 1, 4, 4), 2, stride=(1, 2, 3))),
        (ValueError, "max_pool1d: padding (2,) must be >= 0 and at most half the (dilated) kernel (2,)",
         lambda: F.max_pool1d(mg.ones(1, 1, 4), 2, padding=2)),
        (ValueError, "max_pool2d: kernel_size must be an int or 2 ints, got (2, 2, 2)",
         lambda: F.max_pool2d_with_indices(mg.ones(1, 1, 4, 4), (2, 2, 2))),
        (IndexError, "cumsum: dim 2 is out of range for a tensor with 1 dims", lambda: mg.cumsum(mg.ones(3), 2)),
        (IndexError, "prod: dim 2 is out of range for a tensor with 1 dims", lambda: mg.prod(mg.ones(3), 2)),
        (ValueError, "broadcast_to: cannot broadcast shape (2,) to (3,)", lambda: mg.broadcast_to(mg.ones(2), (3,))),
        (IndexError, "narrow: dim 2 is out of range for a tensor with 1 dims", lambda: mg.narrow(mg.ones(3), 2, 0, 1)),
        (RuntimeError, "triu: input tensor must have at least 2 dimensions, got shape (3,)",
         lambda: mg.triu(mg.ones(3))),
        (RuntimeError, "unfold: size 5 must be <= 4 (dim 0 of (4,)) and step 1 > 0",
         lambda: mg.ones(4).unfold(0, 5, 1)),
        (RuntimeError, "kthvalue: k=3 out of range for dim 0 of size 2", lambda: mg.kthvalue(mg.ones(2), 3, 0)),
    ]
    for error, message, call in cases:
        with pytest.raises(error, match=_exactly(message)):
            call()


def test_values_of_the_fourth_sample():
    import minigrad.nn.functional as F
    from minigrad.ops.assign import setitem

    # a float64 0-d tensor next to a float32 one counts like a number: float32 stays
    out = mg.ones(2, dtype=mg.float32) + mg.tensor(0.5, dtype=mg.float64)
    assert out.dtype == mg.float32 and out.tolist() == [1.5, 1.5]
    x = mg.tensor([-1.0, 2.0], dtype=mg.float64)
    assert F.elu(x, inplace=True) is x and x.tolist() == [math.expm1(-1.0), 2.0]
    assert setitem(mg.zeros(3), mg.tensor([0, 2]), 5.0).tolist() == [5.0, 0.0, 5.0]
    out = mg.index_add(mg.zeros(2, dtype=mg.float32), 0, mg.tensor([1]), mg.tensor([0.5], dtype=mg.float64))
    assert out.dtype == mg.float32 and out.tolist() == [0.0, 0.5]
    assert mg.nonzero(mg.tensor(0.0)).shape == (0, 0) and mg.nonzero(mg.tensor(5.0)).shape == (1, 0)
    (idx,) = mg.nonzero(mg.tensor([0, 3, 4]), as_tuple=True)
    assert idx.dtype == mg.int64 and idx.tolist() == [1, 2]
    a, b = mg.tensor([[1.0, 2.0], [3.0, 4.0]]), mg.tensor([[1.0], [10.0]])
    assert mg.tensordot(a, b, dims=(1, 0)).tolist() == [[21.0], [43.0]]
    assert mg.max(mg.tensor([1.0, 5.0]), mg.tensor([3.0, 2.0])).tolist() == [3.0, 5.0]
    assert mg.mean(mg.tensor([[1.0, 3.0], [5.0, 7.0]]), axis=1).tolist() == [2.0, 6.0]
    assert mg.std(mg.tensor([1.0, 3.0], dtype=mg.float64), unbiased=False).item() == 1.0
    var, mean = mg.var_mean(mg.tensor([[1.0, 3.0]], dtype=mg.float64), 1, keepdim=True)
    assert var.shape == (1, 1) and mean.shape == (1, 1) and var.item() == 2.0
    assert mg.prod(mg.tensor([[2.0, 3.0]]), 1, keepdim=True).tolist() == [[6.0]]
    out = mg.cumsum(mg.tensor([1, 2], dtype=mg.int32), 0)
    assert out.dtype == mg.int64 and out.tolist() == [1, 3]
    assert mg.nanmean(mg.tensor([[1.0, math.nan], [3.0, 5.0]]), (0, 1)).item() == 3.0
    out = mg.nanmedian(mg.tensor([[1.0, math.nan, 3.0], [4.0, 5.0, 6.0]]), 1)
    assert out.values.tolist() == [1.0, 5.0]  # NaNs counted per row: row 0 has 2 values
    for op in (mg.median, mg.mode):
        out = op(mg.tensor(2.0), 0)
        assert out.values.item() == 2.0 and out.indices.dtype == mg.int64 and out.indices.item() == 0


def test_losses_of_the_fourth_sample():
    import minigrad.nn.functional as F

    # nll_loss of one unbatched sample: -input[target]
    assert F.nll_loss(mg.tensor([-0.5, -2.0]), mg.tensor(1)).item() == 2.0
    # cross_entropy with a plain list of class indices
    assert F.cross_entropy(mg.tensor([[0.0, 0.0]], dtype=mg.float64), [1]).item() == pytest.approx(math.log(2))
    # weighted BCE, the weight as a list: mean(1 * log 2, 3 * log 2)
    out = F.binary_cross_entropy(mg.tensor([0.5, 0.5], dtype=mg.float64), mg.tensor([1.0, 0.0], dtype=mg.float64),
                                 weight=[1.0, 3.0])
    assert out.item() == pytest.approx(2 * math.log(2), rel=1e-15)


def test_layers_of_the_fourth_sample():
    import minigrad.nn.functional as F

    # conv3d: padding 0 by default, a 2x2x2 kernel of ones on a 2x2x2 input of ones gives one 8
    assert F.conv3d(mg.ones(1, 1, 2, 2, 2), mg.ones(1, 1, 2, 2, 2)).tolist() == [[[[[8.0]]]]]
    # grouped-query attention with 3-D (H, L, E) inputs and with a single key/value head
    rng = np.random.default_rng(6)
    q = mg.tensor(rng.standard_normal((4, 2, 3)), dtype=mg.float64)
    k, v = (mg.tensor(rng.standard_normal((1, 2, 3)), dtype=mg.float64) for _ in range(2))
    want = F.scaled_dot_product_attention(q, k.expand(4, 2, 3), v.expand(4, 2, 3)).numpy()
    out = F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-14)
    q2, k2 = mg.tensor(rng.standard_normal((2, 3))), mg.tensor(rng.standard_normal((2, 3)))
    assert F.scaled_dot_product_attention(q2, k2, k2, enable_gqa=True).shape == (2, 3)
    # GRU gradients are finite (gradcheck alone does not catch NaN today)
    mg.manual_seed(0)
    gru = mg.nn.GRU(2, 3, dtype=mg.float64)
    x = mg.tensor(rng.standard_normal((3, 1, 2)), dtype=mg.float64, requires_grad=True)
    gru(x)[0].sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
    assert all(np.isfinite(p.grad.numpy()).all() for p in gru.parameters())
    # the exact GELU in float64 matches x Φ(x) to float64 precision
    xs = np.array([-2.0, -0.3, 0.7, 3.0])
    out = F.gelu(mg.tensor(xs, dtype=mg.float64)).numpy()
    np.testing.assert_allclose(out, [v * (1 + math.erf(v / math.sqrt(2))) / 2 for v in xs], rtol=1e-14)


# ============================================================================ fifth sample (seed 4)


def test_messages_of_the_fifth_sample():
    import minigrad.nn.functional as F

    cases = [
        (RuntimeError, "softshrink: lambda must be >= 0, got -1.0", lambda: F.softshrink(mg.ones(2), -1.0)),
        (RuntimeError, "linspace: number of steps must be non-negative, got -1", lambda: mg.linspace(0, 1, -1)),
        (RuntimeError, "bitwise_xor: not implemented for dtype float32 (integer and bool tensors only)",
         lambda: mg.bitwise_xor(mg.tensor([1.0], dtype=mg.float32), mg.tensor([1]))),
        (NotImplementedError, "embedding: scale_grad_by_freq=True is not supported by minigrad",
         lambda: F.embedding(mg.tensor([0]), mg.ones(2, 2), scale_grad_by_freq=True)),
        (ValueError, "adaptive_avg_pool2d: output_size must be an int or a pair of ints, got (1, 2, 3)",
         lambda: F.adaptive_avg_pool2d(mg.ones(1, 1, 4, 4), (1, 2, 3))),
        (ValueError, "adaptive_avg_pool1d: output_size must be an int or 1 ints, got (1, 2)",
         lambda: F.adaptive_avg_pool1d(mg.ones(1, 1, 4), (1, 2))),
        (IndexError, "rot90: dim 3 is out of range for a tensor with 2 dims", lambda: mg.rot90(mg.ones(2, 3), 1, (0, 3))),
        (IndexError, "cumprod: dim 2 is out of range for a tensor with 1 dims", lambda: mg.cumprod(mg.ones(3), 2)),
        (IndexError, "nanmedian: dim 2 is out of range for a tensor with 1 dims", lambda: mg.nanmedian(mg.ones(3), 2)),
        (RuntimeError, "take_along_dim: expected an int64 index tensor, got dtype float32",
         lambda: mg.take_along_dim(mg.ones(3), mg.tensor([0.5], dtype=mg.float32))),
        (ValueError, "log_softmax: expects a single dim, got (0, 1)", lambda: mg.log_softmax(mg.ones(2, 3), (0, 1))),
    ]
    for name in ("cosine_embedding_loss", "huber_loss", "margin_ranking_loss", "poisson_nll_loss"):
        args = (mg.ones(2, 3), mg.ones(2, 3), mg.ones(2)) if name == "cosine_embedding_loss" else (
            (mg.ones(2), mg.ones(2), mg.ones(2)) if name == "margin_ranking_loss" else (mg.ones(2), mg.ones(2)))
        cases.append((ValueError, f"{name}: reduction must be 'mean', 'sum' or 'none', got 'avg'",
                      lambda name=name, args=args: getattr(F, name)(*args, reduction="avg")))
    for error, message, call in cases:
        with pytest.raises(error, match=_exactly(message)):
            call()


def test_values_of_the_fifth_sample():
    import minigrad.nn.functional as F

    assert mg.pow(mg.tensor([2, 3]), 0).tolist() == [1, 1]  # x^0 of integers is allowed
    assert mg.sign(mg.tensor([-2.0, 0.0, 3.0])).tolist() == [-1.0, 0.0, 1.0]
    out = mg.topk(mg.tensor([3.0, 1.0, 2.0]), 3)  # k == n is allowed
    assert out.values.tolist() == [3.0, 2.0, 1.0] and out.indices.tolist() == [0, 2, 1]
    assert F.upsample(mg.tensor([[[1.0, 2.0]]]), scale_factor=2).tolist() == [[[1.0, 1.0, 2.0, 2.0]]]
    out = F.upsample(mg.tensor([[[1.0, 2.0]]]), size=3, mode="linear", align_corners=True)
    assert out.tolist() == [[[1.0, 1.5, 2.0]]]
    assert F.avg_pool1d(mg.tensor([[[1.0, 2.0, 3.0, 4.0]]]), 2).tolist() == [[[1.5, 3.5]]]  # padding 0
    assert F.conv3d(mg.ones(1, 1, 3, 3, 3), mg.ones(1, 1, 2, 2, 2), padding="valid").shape == (1, 1, 2, 2, 2)
    assert mg.unflatten(mg.arange(6), 0, (2, 3)).tolist() == [[0, 1, 2], [3, 4, 5]]
    assert mg.unflatten(mg.arange(6), 0, (-1, 3)).shape == (2, 3)
    out = mg.softmax(mg.tensor(2.0))
    assert out.shape == () and out.item() == 1.0
    assert mg.nansum(mg.tensor([[1.0, math.nan]]), 1, keepdim=True).tolist() == [[1.0]]
    out = mg.cumsum(mg.tensor([1.0, 2.0], dtype=mg.float32), 0, dtype=mg.float64)
    assert out.dtype == mg.float64 and out.tolist() == [1.0, 3.0]
    out = mg.nanmean(mg.tensor([1.0, 3.0], dtype=mg.float32), dtype=mg.float64)
    assert out.dtype == mg.float64 and out.item() == 2.0
    # the gradient of where(): zero where the other branch was taken
    a = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    b = mg.tensor([3.0, 4.0], dtype=mg.float64, requires_grad=True)
    mg.where(mg.tensor([True, False]), a, b).sum().backward()
    assert a.grad.tolist() == [1.0, 0.0] and b.grad.tolist() == [0.0, 1.0]
    # an amax over all dims of an empty tensor is refused; over dims it keeps the rest
    assert mg.amax(mg.tensor([[1.0, 5.0], [7.0, 2.0]]), 1).tolist() == [5.0, 7.0]
