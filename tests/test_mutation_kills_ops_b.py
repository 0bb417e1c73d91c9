"""Tests written to kill the survivors of the seed-5 sample of minigrad/ops/ (part b: shape, index,
sort, scan, attention, rnn, reduce, linalg, conv3d, pool_more, conv, pool).

See docs/concepts/mutation-testing.md. Each test checks values against NumPy or hand-worked
numbers (cross-checked against PyTorch), or whole error messages; each docstring names the
mutants it kills.
"""

import math

import numpy as np
import pytest
from test_mutation_kills import _exactly  # one helper for the kill tests (on_device: conftest.py)

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.ops.linalg import vector_norm

# ---- shape.py


def test_roll_error_messages_name_the_shifts_and_dims():
    """Kills shape.x_roll__mutmut_4, _22 and _31 (messages replaced by None, op name dropped)."""
    x = mg.arange(6.0).reshape(2, 3)
    with pytest.raises(RuntimeError, match=_exactly("roll: shifts (1, 2) needs dims (one shift per dim)")):
        mg.roll(x, (1, 2))
    with pytest.raises(RuntimeError,
                       match=_exactly("roll: shifts (1, 2) and dims (0,) must have the same length")):
        mg.roll(x, (1, 2), (0,))
    with pytest.raises(IndexError, match=_exactly("roll: dim 5 is out of range for a tensor with 2 dims")):
        mg.roll(x, 1, 5)


def test_squeeze_out_of_range_dim_names_squeeze():
    """Kills shape.x_squeeze__mutmut_17 (op name "XXsqueezeXX")."""
    with pytest.raises(IndexError, match=_exactly("squeeze: dim 5 is out of range for a tensor with 2 dims")):
        mg.squeeze(mg.ones(2, 3), 5)


def test_broadcast_to_with_one_int_size():
    """Kills shape.x_broadcast_to__mutmut_1 (`len(shape) == 1 or isinstance(...)`: tuple(3) fails)."""
    y = mg.broadcast_to(mg.tensor([2.0]), 3)
    assert y.shape == (3,)
    np.testing.assert_array_equal(y.numpy(), [2.0, 2.0, 2.0])


def test_getitem_backward_keeps_float32():
    """Kills shape.xǁGetItemǁbackward__mutmut_5 (`zeros(shape, dtype=None)`: a float64 gradient)."""
    x = mg.tensor([1.0, 2.0, 3.0], dtype=mg.float32, requires_grad=True)
    x[1:].sum().backward()
    assert x.grad.dtype == mg.float32
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 1.0])


# ---- index.py


def test_index_select_with_a_0d_index_keeps_the_dim():
    """Kills index.x_index_select__mutmut_53 (`idx.reshape(None)` keeps a 0-d index 0-d, which drops
    the dim); torch.index_select(x, 1, tensor(2)) has shape (2, 1)."""
    x = mg.tensor(np.arange(6.0).reshape(2, 3))
    y = mg.index_select(x, 1, mg.tensor(2))
    assert y.shape == (2, 1)
    np.testing.assert_array_equal(y.numpy(), [[2.0], [5.0]])


def test_index_select_of_a_0d_input_checks_the_range():
    """Kills index.x_index_select__mutmut_26 (a 0-d input counted as 2 long: index 1 accepted)."""
    with pytest.raises(IndexError, match=_exactly(
            "index_select: index out of range in self (dim 0 of shape ())")):
        mg.index_select(mg.tensor(5.0), 0, mg.tensor([1]))
    np.testing.assert_array_equal(mg.index_select(mg.tensor(5.0), 0, mg.tensor([0])).numpy(), [5.0])


def test_scatter_error_names_scatter():
    """Kills index.x_scatter__mutmut_41 (op name "SCATTER")."""
    with pytest.raises(IndexError, match=_exactly("scatter: dim 5 is out of range for a tensor with 2 dims")):
        mg.scatter(mg.ones(2, 3), 5, mg.tensor([[0]]), mg.tensor([[1.0]]))


def test_scatter_casts_the_source_to_the_input_dtype():
    """Kills index.x__scatter_args__mutmut_33 (`==`: a source of another dtype kept, so the result
    is promoted)."""
    x = mg.zeros(2, dtype=mg.float32)
    y = mg.scatter(x, 0, mg.tensor([1]), mg.tensor([2.5], dtype=mg.float64))
    assert y.dtype == mg.float32
    np.testing.assert_array_equal(y.numpy(), [0.0, 2.5])


def test_scatter_reduce_amin_without_self_on_integers():
    """Kills index.xǁScatterReduceǁforward__mutmut_119 (start at info.min for amin too: every
    reduced slot would stay at the int64 minimum). Values as torch.scatter_reduce."""
    x = mg.tensor([10, 20, 30])
    y = mg.scatter_reduce(x, 0, mg.tensor([0, 0, 2]), mg.tensor([5, 7, 40]), "amin", include_self=False)
    np.testing.assert_array_equal(y.numpy(), [5, 20, 40])
    y = mg.scatter_reduce(x, 0, mg.tensor([0, 0, 2]), mg.tensor([5, 7, 40]), "amax", include_self=False)
    np.testing.assert_array_equal(y.numpy(), [7, 20, 40])


# ---- sort.py


def test_median_along_a_dim_of_length_one():
    """Kills sort.x__median_along__mutmut_5 (`n == 1` raised the empty-dim error) and
    sort.x__pick__mutmut_40 (`idx.squeeze(None)` dropped the other size-1 dims of the indices)."""
    x = mg.tensor([[4.0], [2.0]])
    r = mg.median(x, 1)
    np.testing.assert_array_equal(r.values.numpy(), [4.0, 2.0])
    np.testing.assert_array_equal(r.indices.numpy(), [0, 0])
    r = mg.median(mg.tensor([[3.0, 1.0, 2.0]]), 1)
    assert r.indices.shape == (1,)
    np.testing.assert_array_equal(r.indices.numpy(), [2])
    with pytest.raises(IndexError, match=_exactly("median: dim 1 of a tensor of shape (2, 0) is empty")):
        mg.median(mg.ones(2, 0), 1)


def test_mode_out_of_range_dim_names_mode():
    """Kills sort.x_mode__mutmut_17 (op name None)."""
    with pytest.raises(IndexError, match=_exactly("mode: dim 5 is out of range for a tensor with 2 dims")):
        mg.mode(mg.ones(2, 3), 5)


# ---- scan.py


def test_cummax_index_moves_to_a_nan():
    """Kills scan.x__cumulative_extremum__mutmut_24 (`kind != "f"`: NaN never reached). torch:
    cummax([1, nan, 2]) = ([1, nan, nan], [0, 1, 1])."""
    r = mg.cummax(mg.tensor([1.0, math.nan, 2.0]), 0)
    np.testing.assert_array_equal(r.values.numpy(), [1.0, math.nan, math.nan])
    np.testing.assert_array_equal(r.indices.numpy(), [0, 1, 1])
    r = mg.cummin(mg.tensor([1.0, math.nan, 0.0]), 0)
    np.testing.assert_array_equal(r.indices.numpy(), [0, 1, 1])


def test_cummin_and_cumprod_errors_name_the_op():
    """Kills scan.x_cummin__mutmut_11 ("CUMMIN") and scan.x_cumprod__mutmut_17 ("XXcumprodXX")."""
    with pytest.raises(IndexError, match=_exactly("cummin: dim 5 is out of range for a tensor with 2 dims")):
        mg.cummin(mg.ones(2, 3), 5)
    with pytest.raises(IndexError, match=_exactly("cumprod: dim 5 is out of range for a tensor with 2 dims")):
        mg.cumprod(mg.ones(2, 3), 5)


def test_prod_with_a_dtype_casts_first():
    """Kills scan.x_prod__mutmut_4 (`input.to(None)`: the dtype argument ignored)."""
    y = mg.prod(mg.tensor([2, 3]), dtype=mg.float32)
    assert y.dtype == mg.float32
    assert y.item() == 6.0
    y = mg.prod(mg.tensor([1.5, 2.0], dtype=mg.float32), dtype=mg.float64)
    assert y.dtype == mg.float64


def test_var_mean_biased():
    """Kills scan.x_var_mean__mutmut_6 (`unbiased=None`: the unbiased flag dropped)."""
    v, m = mg.var_mean(mg.tensor([1.0, 2.0, 3.0, 6.0]), unbiased=False)
    assert v.item() == pytest.approx(3.5)
    assert m.item() == 3.0


def test_nanmean_of_an_all_nan_row_warns_nothing():
    """Kills scan.x_nanmean__mutmut_35 (`errstate(divide="ignore")` only: 0/0 warns "invalid
    value"). torch.nanmean gives nan without a warning."""
    with np.errstate(all="raise"):
        y = mg.nanmean(mg.tensor([[math.nan, math.nan], [1.0, 3.0]]), 1)
    np.testing.assert_array_equal(y.numpy(), [math.nan, 2.0])


# ---- reduce.py


def test_amax_keepdim_and_its_numpy_alias():
    """Kills reduce.x__extremum__mutmut_21 (keepdim=None) and _28 (the `keepdims` alias dropped)."""
    x = mg.tensor([[1.0, 5.0], [4.0, 2.0]])
    np.testing.assert_array_equal(mg.amax(x, 1, keepdim=True).numpy(), [[5.0], [4.0]])
    np.testing.assert_array_equal(mg.amax(x, 1, keepdims=True).numpy(), [[5.0], [4.0]])


def test_max_of_an_empty_dim_message():
    """Kills reduce.x__max_or_min__mutmut_57 (message None)."""
    with pytest.raises(IndexError, match=_exactly("max: dim 1 of a tensor of shape (2, 0) is empty")):
        mg.max(mg.ones(2, 0), 1)


def test_logsumexp_of_large_values_does_not_overflow():
    """Kills reduce.xǁLogSumExpǁforward__mutmut_30 (`where(None, m, 0)`: the shift by the max lost)."""
    y = mg.logsumexp(mg.tensor([1000.0, 1000.0]), 0)
    assert y.item() == pytest.approx(1000.0 + math.log(2.0))


# ---- linalg.py


def test_einsum_repeated_output_subscript_message():
    """Kills linalg.x__parse_einsum__mutmut_135 (message None)."""
    with pytest.raises(RuntimeError, match=_exactly(
            "einsum(): output subscript 'ii' appears more than once in 'ij->ii'")):
        mg.einsum("ij->ii", mg.ones(2, 3))


def test_cdist_refuses_different_feature_sizes():
    """Kills linalg.x_cdist__mutmut_2 (`or ... and`: 2-D inputs of different M accepted)."""
    with pytest.raises(RuntimeError, match=_exactly(
            "cdist: expects (..., P, M) and (..., R, M) with the same M, got (2, 3) and (2, 4)")):
        mg.cdist(mg.ones(2, 3), mg.ones(2, 4))


def test_tensordot_contracts_two_dims_by_default():
    """Kills linalg.x_tensordot__mutmut_1 (default dims=3)."""
    a = np.arange(24.0).reshape(2, 3, 4)
    b = np.arange(60.0).reshape(3, 4, 5)
    np.testing.assert_allclose(mg.tensordot(mg.tensor(a), mg.tensor(b)).numpy(), np.tensordot(a, b))


def test_l1_norm_gradient_at_zero_is_zero():
    """Kills linalg.xǁVectorNormǁbackward__mutmut_34 (`g / sign(x)`: inf or nan where x = 0).
    torch: the gradient of vector_norm(x, 1) is sign(x), 0 at 0."""
    x = mg.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    vector_norm(x, 1).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [-1.0, 0.0, 1.0])


# ---- conv.py, conv3d.py


def test_conv2d_argument_messages():
    """Kills conv.x__check_conv_args__mutmut_18 (bias message None) and conv.x_conv2d__mutmut_68
    (`and`: a 3-D input with a 4-D weight let through)."""
    with pytest.raises(ValueError, match=_exactly("conv2d: bias must have shape (1,), got (2,)")):
        F.conv2d(mg.ones(1, 1, 3, 3), mg.ones(1, 1, 2, 2), mg.ones(2))
    with pytest.raises(ValueError, match=_exactly(
            "conv2d: expected a 4-D input (N, C, H, W) and a 4-D weight (O, C, KH, KW), "
            "got shapes (1, 3, 3) and (1, 1, 2, 2)")):
        F.conv2d(mg.ones(1, 3, 3), mg.ones(1, 1, 2, 2))
    with pytest.raises(ValueError, match=_exactly(
            "conv2d: expected a 4-D input (N, C, H, W) and a 4-D weight (O, C/groups, KH, KW), "
            "got shapes (2, 3, 3) and (2, 1, 2, 2)")):
        F.conv2d(mg.ones(2, 3, 3), mg.ones(2, 1, 2, 2), groups=2)


def test_conv3d_refuses_a_zero_stride_alone():
    """Kills conv3d.x_convnd__mutmut_107 (`stride < 1 and dilation < 1`: stride 0 let through)."""
    with pytest.raises(ValueError, match=_exactly(
            "conv3d: stride and dilation must be >= 1 and padding >= 0, got stride=(0, 0, 0), "
            "padding=(0, 0, 0), dilation=(1, 1, 1)")):
        F.conv3d(mg.ones(1, 1, 3, 3, 3), mg.ones(1, 1, 2, 2, 2), stride=0)


# ---- pool.py, pool_more.py


def _ceil_pool_reference(a, k):
    """2-D k×k pools with stride k and ceil_mode: the last windows hang over the edge (NaN pad)."""
    n, c, h, w = a.shape
    hh, ww = -(-h // k) * k, -(-w // k) * k
    p = np.full((n, c, hh, ww), np.nan)
    p[:, :, :h, :w] = a
    win = p.reshape(n, c, hh // k, k, ww // k, k)
    return np.nanmax(win, axis=(3, 5)), np.nanmean(win, axis=(3, 5))


def test_pool2d_ceil_mode_with_more_channels_than_columns():
    """Kills pool.x__pool_geometry__mutmut_116 (`x.shape[2 - a]`: the channels, not the width,
    sized the ceil_mode padding of the last column)."""
    a = np.arange(8 * 5 * 5, dtype=np.float64).reshape(1, 8, 5, 5) % 7
    mx, av = _ceil_pool_reference(a, 2)
    np.testing.assert_array_equal(F.max_pool2d(mg.tensor(a), 2, 2, ceil_mode=True).numpy(), mx)
    np.testing.assert_allclose(F.avg_pool2d(mg.tensor(a), 2, 2, ceil_mode=True).numpy(), av)


def test_lp_pool1d_floors_by_default():
    """Kills pool_more.x_lp_pool1d__mutmut_1 (default ceil_mode=True: a third, partial window)."""
    y = F.lp_pool1d(mg.tensor([[1.0, 2.0, 3.0, 4.0, 5.0]]), 2, 2)
    np.testing.assert_allclose(y.numpy(), [[math.sqrt(5.0), 5.0]])


# ---- attention.py


def _attention_reference(q, k, v):
    s = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    p = np.exp(s - s.max(axis=-1, keepdims=True))
    return (p / p.sum(axis=-1, keepdims=True)) @ v


def test_grouped_query_attention_unbatched_gradients():
    """Kills attention.x__sum_head_groups__mutmut_13 (`shape[+2:]`: wrong for 3-D (H, S, E)
    gradients). The key/value gradients are those of the repeated heads, summed per group."""
    rng = np.random.default_rng(0)
    q, k, v = rng.normal(size=(4, 3, 2)), rng.normal(size=(2, 5, 2)), rng.normal(size=(2, 5, 3))
    tq, tk, tv = (mg.tensor(a, requires_grad=True) for a in (q, k, v))
    out = F.scaled_dot_product_attention(tq, tk, tv, enable_gqa=True)
    np.testing.assert_allclose(out.numpy(), _attention_reference(q, np.repeat(k, 2, 0), np.repeat(v, 2, 0)))
    out.sum().backward()
    rk, rv = (mg.tensor(np.repeat(a, 2, 0), requires_grad=True) for a in (k, v))
    F.scaled_dot_product_attention(mg.tensor(q), rk, rv).sum().backward()
    np.testing.assert_allclose(tk.grad.numpy(), rk.grad.numpy().reshape(2, 2, 5, 2).sum(1))
    np.testing.assert_allclose(tv.grad.numpy(), rv.grad.numpy().reshape(2, 2, 5, 3).sum(1))


def test_attention_with_2d_key_and_value_broadcasts_over_query_heads():
    """Kills attention.x_scaled_dot_product_attention__mutmut_84 (a 2-D key's batch dims taken as
    `shape[:+2]`, its whole shape)."""
    rng = np.random.default_rng(1)
    q, k, v = rng.normal(size=(2, 4, 3)), rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    out = F.scaled_dot_product_attention(mg.tensor(q), mg.tensor(k), mg.tensor(v))
    np.testing.assert_allclose(out.numpy(), _attention_reference(q, k, v))


def test_attention_value_batch_that_does_not_broadcast_message():
    """Kills attention.x_scaled_dot_product_attention__mutmut_92 (value's batch dims left out of
    the check)."""
    with pytest.raises(RuntimeError, match=_exactly(
            "scaled_dot_product_attention: the batch and head dims of query (2, 4, 3), key (2, 5, 3), "
            "value (3, 5, 2) do not broadcast (for grouped-query attention pass enable_gqa=True)")):
        F.scaled_dot_product_attention(mg.ones(2, 4, 3), mg.ones(2, 5, 3), mg.ones(3, 5, 2))


def test_device_ops_create_their_arrays_on_the_device(on_device):
    """Kills attention.x_scaled_dot_product_attention__mutmut_106, index.xǁMaskedScatterǁbackward__mutmut_2,
    shape.x_repeat_interleave__mutmut_46 and sort.x_nanmedian__mutmut_22 (`get_array_module(None)`:
    NumPy arrays mixed with device ones)."""
    q = mg.tensor([[1.0, 0.0], [0.0, 1.0]]).cuda()
    mask = mg.tensor([[True, False], [False, True]]).cuda()
    out = F.scaled_dot_product_attention(q, q, q, attn_mask=mask)
    assert out.device == "cuda"
    np.testing.assert_allclose(out.cpu().numpy(), [[1.0, 0.0], [0.0, 1.0]])
    x = mg.tensor([1.0, 2.0, 3.0]).cuda().requires_grad_()
    src = mg.tensor([7.0, 8.0]).cuda().requires_grad_()
    y = mg.masked_scatter(x, mg.tensor([True, False, True]).cuda(), src)
    y.backward(mg.tensor([1.0, 2.0, 3.0]).cuda())
    assert x.grad.device == "cuda" and x.grad.cpu().tolist() == [0.0, 2.0, 0.0]
    assert src.grad.device == "cuda" and src.grad.cpu().tolist() == [1.0, 3.0]
    r = mg.repeat_interleave(mg.tensor([1.0, 2.0]).cuda(), mg.tensor([2, 1]).cuda())
    assert r.device == "cuda" and r.cpu().tolist() == [1.0, 1.0, 2.0]
    causal = F.scaled_dot_product_attention(q, q, q, is_causal=True)
    assert causal.device == "cuda"
    np.testing.assert_allclose(causal.cpu().numpy()[0], [1.0, 0.0])
    m = mg.nanmedian(mg.tensor(4.0).cuda(), 0)
    assert m.indices.device == "cuda" and m.values.cpu().item() == 4.0


def test_scatter_add_into_a_0d_tensor_sums_every_index():
    """Kills index.x_scatter_add__mutmut_29 (`index.reshape(+1)`: an index of 2 or 0 elements
    refused). torch: tensor(1.).scatter_add(0, [0, 0], [2., 3.]) = 6; an empty index leaves 1."""
    assert mg.scatter_add(mg.tensor(1.0), 0, mg.tensor([0, 0]), mg.tensor([2.0, 3.0])).item() == 6.0
    y = mg.scatter_add(mg.tensor(1.0), 0, mg.tensor([], dtype=mg.int64), mg.tensor([]))
    assert y.shape == () and y.item() == 1.0


# ---- rnn.py


def _lstm_reference(x, w_ih, w_hh, b_ih, b_hh):
    """torch.nn.LSTM's recurrence, gates [i, f, g, o], h_0 = c_0 = 0; x is (T, N, I)."""
    hidden = w_hh.shape[1]
    h = c = np.zeros((x.shape[1], hidden))
    out = []
    for x_t in x:
        z = x_t @ w_ih.T + b_ih + h @ w_hh.T + b_hh
        i, f, g, o = (z[:, k * hidden:(k + 1) * hidden] for k in range(4))
        sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
        c = sig(f) * c + sig(i) * np.tanh(g)
        h = sig(o) * np.tanh(c)
        out.append(h)
    return np.stack(out)


def test_lstm_without_row_threads(monkeypatch):
    """Kills rnn.x__on_row_blocks__mutmut_3 (`fn(*arrays)`: the shared arguments dropped on the
    single-thread path, taken when `_LSTM_GATES_PER_THREAD` is None)."""
    import minigrad.ops.rnn as rnn

    lstm = mg.nn.LSTM(3, 2)
    for p in lstm.parameters():
        p._data = p._data.astype(np.float64)
    x = np.random.default_rng(2).normal(size=(4, 2, 3))
    w = {n: p.numpy() for n, p in lstm.named_parameters()}
    ref = _lstm_reference(x, w["weight_ih_l0"], w["weight_hh_l0"], w["bias_ih_l0"], w["bias_hh_l0"])
    grads = []
    for setting in (rnn._LSTM_GATES_PER_THREAD, None):
        monkeypatch.setattr(rnn, "_LSTM_GATES_PER_THREAD", setting)
        tx = mg.tensor(x, requires_grad=True)
        out, _ = lstm(tx)
        np.testing.assert_allclose(out.numpy(), ref, rtol=1e-10, atol=1e-12)
        out.sum().backward()
        grads.append(tx.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12, atol=1e-14)
