"""Tests that kill mutants of minigrad/ops/ that survived the seed-5 sample (part a).

Sample: `MUTATION_SAMPLE=800 MUTATION_SEED=5 scripts/mutation.sh ops` (mutmut 3.8), survivors in
loss, elementwise, special, embedding, creation, assign, dropout, activation, norm and
conv_transpose. Each test checks values (against NumPy, math or numbers worked out by hand,
cross-checked against PyTorch) or whole error messages, and names in its docstring the
mutants it kills. See docs/concepts/mutation-testing.md.
"""

import math
import warnings

import numpy as np
import pytest
from test_mutation_kills import _exactly  # one helper for the kill tests (on_device: conftest.py)

import minigrad as mg
import minigrad.nn.functional as F

# ============================================================================ activation.py


def test_softplus_default_threshold_is_20():
    """Above beta*x = 20 softplus is x itself, gradient exactly 1 (torch: softplus(20.5) == 20.5).

    Kills activation.x_softplus__mutmut_2 (default threshold 21: log1p(exp(20.5)) = 20.5 + 1.3e-9).
    """
    x = mg.tensor([20.5], dtype=mg.float64, requires_grad=True)
    y = F.softplus(x)
    assert y.item() == 20.5
    y.sum().backward()
    assert x.grad.item() == 1.0
    # below the threshold the formula runs: log(1 + e^19.5)
    assert F.softplus(mg.tensor([19.5], dtype=mg.float64)).item() == pytest.approx(
        math.log1p(math.exp(19.5)), rel=1e-15)


# ============================================================================ assign.py


def test_setitem_with_an_integer_and_an_index_array_writes_where_torch_does():
    """``x[1, :, [0, 2]] = v`` writes row 1 only (the integer selects first, then the array).

    Kills assign.x__parent__mutmut_2 (path[:-2] skips the integer step and writes every row).
    """
    x = mg.tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    idx = np.array([0, 2])
    y = mg.setitem(x, (1, slice(None), idx), -1.0)
    want = np.arange(24.0).reshape(2, 3, 4)
    want[1, :, [0, 2]] = -1.0
    np.testing.assert_array_equal(y.numpy(), want)
    y.sum().backward()
    grad = np.ones((2, 3, 4))
    grad[1, :, [0, 2]] = 0.0  # overwritten entries get no gradient
    np.testing.assert_array_equal(x.grad.numpy(), grad)


def test_masked_fill_with_a_tensor_value_of_another_dtype_keeps_the_input_dtype():
    """torch: float32 input, float64 0-d value -> float32; int64 input, float 0-d value 2.5 -> int64
    filled with 2 (the value is cast to the input's dtype first).

    Kills assign.x_masked_fill__mutmut_37 (value.to(None): ``where`` promotes int64 with a float
    value to a float result holding 2.5).
    """
    mask = mg.tensor([True, False, True])
    x = mg.tensor([1.0, 2.0, 3.0], dtype=mg.float32)
    y = mg.masked_fill(x, mask, mg.tensor(0.25, dtype=mg.float64))
    assert y.dtype == mg.float32
    assert y.tolist() == [0.25, 2.0, 0.25]
    y = mg.masked_fill(mg.tensor([1, 2, 3]), mask, mg.tensor(2.5))
    assert y.dtype == mg.int64
    assert y.tolist() == [2, 2, 2]


# ============================================================================ conv_transpose.py


def test_conv_transpose3d_uses_its_dilation():
    """A 1-voxel input and a (1, 1, 2) kernel [1, 2] with dilation 2 give [1, 0, 2] along the last dim
    (output size (1 - 1) + 2 * (2 - 1) + 1 = 3; torch gives the same).

    Kills conv_transpose.x_conv_transpose3d__mutmut_28 (dilation dropped: [1, 2]).
    """
    x = mg.ones((1, 1, 1, 1, 1), dtype=mg.float64)
    w = mg.tensor(np.array([1.0, 2.0]).reshape(1, 1, 1, 1, 2))
    y = F.conv_transpose3d(x, w, dilation=2)
    assert y.shape == (1, 1, 1, 1, 3)
    assert y.numpy().reshape(-1).tolist() == [1.0, 0.0, 2.0]


# ============================================================================ creation.py


def test_one_hot_of_an_empty_tensor_without_num_classes_says_why():
    """Kills creation.x_one_hot__mutmut_14 (the message)."""
    with pytest.raises(RuntimeError, match=_exactly(
            "one_hot: can not infer the total number of classes from an empty tensor")):
        F.one_hot(mg.tensor(np.zeros(0, dtype=np.int64)))


# ============================================================================ dropout.py


def test_dropout_inplace_writes_zeros_and_scaled_values_into_the_input():
    """In place and training: the same tensor comes back, each entry 0 or x/(1-p).

    Kills dropout.x_dropout__mutmut_17 (``_inplace(p, training)`` calls the float p).
    """
    mg.manual_seed(0)
    x = mg.ones(200, dtype=mg.float64)
    y = F.dropout(x, p=0.5, training=True, inplace=True)
    assert y is x
    values = x.numpy()
    assert set(np.unique(values).tolist()) == {0.0, 2.0}


# ============================================================================ elementwise.py


def test_erfinv_outside_its_domain_is_nan_without_warnings():
    """erfinv(±1) = ±inf and erfinv(|x| > 1) = nan, silently (torch warns about neither).

    Kills elementwise.x__erfinv_array__mutmut_2 (errstate(invalid=None) lets the invalid warning out).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = mg.erfinv(mg.tensor([2.0, -1.5, 1.0, -1.0, 0.0], dtype=mg.float64)).numpy()
    assert np.isnan(y[:2]).all()
    assert y[2:].tolist() == [math.inf, -math.inf, 0.0]


def test_allclose_default_rtol_is_1e_5():
    """torch.allclose(1.0, 1.5) is False; 1 + 1e-6 is within rtol 1e-5, 1 + 1e-4 is not.

    Kills elementwise.x_allclose__mutmut_1 (default rtol 1.00001).
    """
    one = mg.tensor([1.0], dtype=mg.float64)
    assert mg.allclose(one, mg.tensor([1.0 + 1e-6], dtype=mg.float64))
    assert not mg.allclose(one, mg.tensor([1.0 + 1e-4], dtype=mg.float64))
    assert not mg.allclose(one, mg.tensor([1.5], dtype=mg.float64))


def test_logical_or_truth_table():
    """Kills elementwise.x_logical_or__mutmut_4 (``_arrays(other)`` drops an operand)."""
    a = mg.tensor([True, True, False, False])
    b = mg.tensor([True, False, True, False])
    assert mg.logical_or(a, b).tolist() == [True, True, True, False]
    assert mg.logical_or(mg.tensor([0, 2, 0]), mg.tensor([0, 0, 3])).tolist() == [False, True, True]


def test_pow_of_an_integer_tensor_by_a_negative_numpy_integer_is_refused():
    """torch refuses integers to negative integer powers, whatever the exponent's Python type.

    Kills elementwise.x_pow__mutmut_8 (a NumPy scalar stays np.int64, so ``isinstance(p, int)``
    is False and the check is skipped).
    """
    with pytest.raises(RuntimeError, match=_exactly(
            "pow: integers to negative integer powers are not allowed "
            "(tensor of dtype int64, exponent -1)")):
        mg.pow(mg.tensor([2, 3], dtype=mg.int64), np.int64(-1))
    assert mg.pow(mg.tensor([2, 3], dtype=mg.int64), np.int64(2)).tolist() == [4, 9]


def test_leaky_relu_keeps_float32():
    """Kills elementwise.xǁLeakyReLUǁforward__mutmut_4 (scale.astype(None) is float64)."""
    x = mg.tensor([-2.0, 0.0, 3.0], dtype=mg.float32)
    y = F.leaky_relu(x, 0.25)
    assert y.dtype == mg.float32
    assert y.tolist() == [-0.5, 0.0, 3.0]


# ============================================================================ embedding.py


def test_embedding_gradient_on_device_sums_repeated_rows(on_device):
    """Kills embedding.x_scatter_add_rows__mutmut_17 (the device branch's add.at without values)."""
    w = mg.tensor(np.arange(8.0).reshape(4, 2), requires_grad=True).to("cuda")
    w.retain_grad()
    F.embedding(mg.tensor([1, 3, 1]).to("cuda"), w).sum().backward()
    assert w.grad.to("cpu").tolist() == [[0.0, 0.0], [2.0, 2.0], [0.0, 0.0], [1.0, 1.0]]


# ============================================================================ special.py


def test_normal_cdf_fast_path_writes_a_float16_out():
    """A float16 input with a float16 ``out``: computed in float32, written into ``out``.

    Kills special.x__tanh_poly__mutmut_24 and _27 (the clamp dropped in the recursive call).
    """
    from minigrad.ops.special import normal_cdf

    x = np.array([-3.0, -1.0, 0.0, 0.5, 2.0, 10.0], dtype=np.float16)
    out = np.empty_like(x)
    y = normal_cdf(x, out=out)
    assert y is out and y.dtype == np.float16
    want = [0.5 * (1 + math.erf(float(v) / math.sqrt(2))) for v in x]
    np.testing.assert_allclose(y.astype(np.float64), want, atol=1e-3)


def test_fit_erf_tanh_stays_finite_over_many_reweighting_iterations():
    """Lawson's reweighting shrinks the weights of non-extremal nodes towards 0; the fit keeps
    them positive, so 300 iterations still give a fit within 2e-8 of erf (relative), with
    c_0 = 2/sqrt(pi) (erf'(0)).

    Kills special.x_fit_erf_tanh__mutmut_86 (``- 1e-300``: a weight that underflows turns negative,
    sqrt gives NaN and every coefficient becomes NaN).
    """
    from minigrad.ops.special import fit_erf_tanh

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        coef, err = fit_erf_tanh(9, 300, 300)
    assert np.isfinite(coef).all() and 0 < err < 2e-8
    assert coef[0] == pytest.approx(2 / math.sqrt(math.pi), rel=1e-7)
    xs = np.linspace(0.01, 4.25, 400)
    fit = np.tanh(xs * np.polyval(coef[::-1], xs * xs))
    exact = np.array([math.erf(v) for v in xs])
    assert np.max(np.abs(fit - exact) / exact) < 2e-8


# ============================================================================ loss.py


def test_weighted_l1_and_mse_losses_reduce_as_torch_does():
    """torch (2.6+): ``l1_loss(x, t, weight=w)`` is sum(w|d|)/sum(w) for "mean", sum(w|d|) for "sum".

    x - t = [1, -2, 3], w = [1, 2, 3]: l1 "sum" 1 + 4 + 9 = 14, "mean" 14/6; mse "sum"
    1 + 8 + 27 = 36, "mean" 6. Kills loss.x__weighted_elementwise__mutmut_13 ("sum" divided by
    sum(w)), loss.x_l1_loss__mutmut_34 (input None) and loss.x_mse_loss__mutmut_39 (an argument dropped).
    """
    x = mg.tensor([1.0, 0.0, 4.0], dtype=mg.float64)
    t = mg.tensor([0.0, 2.0, 1.0], dtype=mg.float64)
    w = mg.tensor([1.0, 2.0, 3.0], dtype=mg.float64)
    assert F.l1_loss(x, t, reduction="sum", weight=w).item() == 14.0
    assert F.l1_loss(x, t, weight=w).item() == pytest.approx(14.0 / 6.0, rel=1e-15)
    assert F.l1_loss(x, t, reduction="none", weight=w).tolist() == [1.0, 4.0, 9.0]
    assert F.mse_loss(x, t, reduction="sum", weight=w).item() == 36.0
    assert F.mse_loss(x, t, weight=w).item() == 6.0
    # a list weight takes the input's dtype
    assert F.mse_loss(x, t, reduction="none", weight=[1.0, 2.0, 3.0]).tolist() == [1.0, 8.0, 27.0]


def test_weighted_l1_loss_names_itself_in_shape_errors():
    """Kills loss.x_l1_loss__mutmut_21 (``L1_LOSS``) and loss.x_l1_loss__mutmut_36 (name None)."""
    x = mg.tensor([1.0, 2.0], dtype=mg.float64)
    with pytest.raises(ValueError, match=_exactly(
            "l1_loss: input (2,) and target (1, 2) have different shapes; broadcasting them "
            "would silently compare every pair (reshape one of them)")):
        F.l1_loss(x, mg.tensor([[1.0, 2.0]], dtype=mg.float64))
    with pytest.raises(ValueError, match=_exactly(
            "l1_loss: weight must have the input's shape (2,), got (3,)")):
        F.l1_loss(x, x, weight=mg.tensor([1.0, 2.0, 3.0], dtype=mg.float64))


def test_mse_loss_with_a_list_target_uses_the_input_dtype():
    """A list target becomes a tensor of the input's dtype: float32 in, float32 out.

    Kills loss.x_mse_loss__mutmut_11 (``_as_tensor(target, None)`` fails on ``None._data``).
    """
    x = mg.tensor([1.0, 3.0], dtype=mg.float32)
    y = F.mse_loss(x, [0.0, 1.0])
    assert y.dtype == mg.float32
    assert y.item() == 2.5


def test_huber_loss_with_weight():
    """d = [0.5, -3], delta 1: losses [0.125, 2.5]; w = [2, 1] gives [0.25, 2.5], sum 2.75, mean 1.375.

    Kills loss.x_huber_loss__mutmut_56 (reduction "NONE" reduces before weighting).
    """
    x = mg.tensor([0.5, -3.0], dtype=mg.float64)
    t = mg.zeros(2, dtype=mg.float64)
    w = mg.tensor([2.0, 1.0], dtype=mg.float64)
    assert F.huber_loss(x, t, reduction="none", weight=w).tolist() == [0.25, 2.5]
    assert F.huber_loss(x, t, reduction="sum", weight=w).item() == 2.75
    assert F.huber_loss(x, t, weight=w).item() == 1.375


def test_cosine_embedding_loss_refuses_a_2d_target_with_its_shape():
    """Kills loss.x_cosine_embedding_loss__mutmut_20 (``tuple(None)`` instead of the shape)."""
    a = mg.ones((2, 3), dtype=mg.float64)
    with pytest.raises(ValueError, match=_exactly(
            "cosine_embedding_loss: 0-d or 1-d target expected (multi-target not supported), "
            "got target (2, 1)")):
        F.cosine_embedding_loss(a, a, mg.ones((2, 1), dtype=mg.float64))


def test_cross_entropy_of_one_unbatched_sample_without_reduction_is_0d():
    """torch: cross_entropy(shape (C,), class index, reduction="none") has shape ().

    Kills loss.x_cross_entropy__mutmut_105 (the reshape to () skipped: shape (1,)).
    """
    logits = mg.tensor([0.0, math.log(3.0)], dtype=mg.float64)
    y = F.cross_entropy(logits, mg.tensor(1), reduction="none")
    assert y.shape == ()
    assert y.item() == pytest.approx(-math.log(3.0 / 4.0), rel=1e-15)


def test_nll_loss_without_reduction_keeps_the_target_shape():
    """(N, C, d) input, (N, d) target: the losses have shape (N, d) (torch).

    Kills loss.xǁNLLLossǁforward__mutmut_38 (``reshape(None)``).
    """
    logp = np.log(np.array([[[0.5, 0.25], [0.5, 0.75]]]))  # N=1, C=2, d=2
    y = F.nll_loss(mg.tensor(logp), mg.tensor([[1, 0]]), reduction="none")
    assert y.shape == (1, 2)
    np.testing.assert_allclose(y.numpy(), [[-math.log(0.5), -math.log(0.25)]], rtol=1e-15)
