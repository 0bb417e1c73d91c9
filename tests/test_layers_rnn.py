"""RNN, LSTM, GRU, their cells and Embedding: loop references of the documented equations, gradchecks."""

import math

import numpy as np
import pytest

import minigrad
import minigrad.nn.functional as F
from minigrad import nn

pytestmark = pytest.mark.lstm


def t64(array, requires_grad=True):
    return minigrad.tensor(np.ascontiguousarray(array, dtype=np.float64),
                           requires_grad=requires_grad)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def params_of(module, suffix):
    names = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    return [getattr(module, name + suffix).numpy() for name in names]


def lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """PyTorch's documented LSTM equations, one gate at a time."""
    z = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
    i, f, g, o = np.split(z, 4, axis=-1)
    i, f, g, o = sigmoid(i), sigmoid(f), np.tanh(g), sigmoid(o)
    c = f * c + i * g
    return o * np.tanh(c), c


def gru_step(x, h, w_ih, w_hh, b_ih, b_hh):
    xr, xz, xn = np.split(x @ w_ih.T + b_ih, 3, axis=-1)
    hr, hz, hn = np.split(h @ w_hh.T + b_hh, 3, axis=-1)
    r, z = sigmoid(xr + hr), sigmoid(xz + hz)
    n = np.tanh(xn + r * hn)
    return (1 - z) * n + z * h


def reference_rnn(module, x, states, step):
    """Loop over layers, directions and time steps. x is (T, N, I); states a list of arrays."""
    d = module.num_directions
    finals = [[] for _ in states]
    for layer in range(module.num_layers):
        outputs = []
        for direction in range(d):
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            state = [s[layer * d + direction] for s in states]
            out = np.zeros((x.shape[0], x.shape[1], module.hidden_size))
            times = range(x.shape[0] - 1, -1, -1) if direction else range(x.shape[0])
            for t in times:
                state = step(x[t], *state, *params_of(module, suffix))
                state = state if isinstance(state, tuple) else (state,)
                out[t] = state[0]
            outputs.append(out)
            for acc, s in zip(finals, state):
                acc.append(s)
        x = np.concatenate(outputs, axis=-1)
    return x, [np.stack(f) for f in finals]


LSTM_CASES = [  # num_layers, bidirectional, batch_first, with initial state
    (1, False, False, False),
    (1, False, True, True),
    (2, False, True, False),
    (2, True, False, True),
    (2, True, True, True),
]


@pytest.mark.parametrize("layers,bidirectional,batch_first,with_state", LSTM_CASES)
def test_lstm_matches_loop_reference(rng, layers, bidirectional, batch_first, with_state):
    lstm = nn.LSTM(3, 4, num_layers=layers, bidirectional=bidirectional,
                   batch_first=batch_first).double()
    d = 2 if bidirectional else 1
    x = rng.standard_normal((5, 2, 3))
    h0 = rng.standard_normal((layers * d, 2, 4)) if with_state else np.zeros((layers * d, 2, 4))
    c0 = rng.standard_normal((layers * d, 2, 4)) if with_state else np.zeros((layers * d, 2, 4))
    x_in = x.transpose(1, 0, 2) if batch_first else x
    hx = (t64(h0, False), t64(c0, False)) if with_state else None
    out, (h_n, c_n) = lstm(t64(x_in, False), hx)
    ref_out, (ref_h, ref_c) = reference_rnn(lstm, x, [h0, c0], lstm_step)
    if batch_first:
        ref_out = ref_out.transpose(1, 0, 2)
    assert out.shape == ref_out.shape and h_n.shape == (layers * d, 2, 4)
    np.testing.assert_allclose(out.numpy(), ref_out, atol=1e-12)
    np.testing.assert_allclose(h_n.numpy(), ref_h, atol=1e-12)
    np.testing.assert_allclose(c_n.numpy(), ref_c, atol=1e-12)


@pytest.mark.parametrize("layers,bidirectional,batch_first,with_state", LSTM_CASES)
def test_lstm_gradcheck_inputs_and_states(rng, layers, bidirectional, batch_first, with_state):
    lstm = nn.LSTM(2, 3, num_layers=layers, bidirectional=bidirectional,
                   batch_first=batch_first).double()
    d = 2 if bidirectional else 1
    x = t64(rng.standard_normal((2, 4, 2) if batch_first else (4, 2, 2)))
    h0, c0 = t64(rng.standard_normal((layers * d, 2, 3))), t64(rng.standard_normal((layers * d, 2, 3)))

    def run(x, h0, c0):
        out, (h_n, c_n) = lstm(x, (h0, c0) if with_state else None)
        # mix all three outputs so each one's gradient is checked
        return out.sum(dim=1) + h_n.sum() * 0.5 + (c_n * c_n).sum()

    assert minigrad.gradcheck(run, [x, h0, c0])


def test_lstm_gradcheck_parameters(rng):
    lstm = nn.LSTM(2, 3, num_layers=2, bidirectional=True).double()
    x = t64(rng.standard_normal((3, 2, 2)), False)
    params = list(lstm.parameters())
    assert minigrad.gradcheck(lambda *ps: lstm(x)[0], params)


def test_lstm_parameter_names_shapes_init():
    lstm = nn.LSTM(5, 7, num_layers=2, bidirectional=True)
    names = [name for name, _ in lstm.named_parameters()]
    assert names[:8] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                         "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse",
                         "bias_hh_l0_reverse"]
    assert lstm.weight_ih_l0.shape == (28, 5) and lstm.weight_ih_l1.shape == (28, 14)
    assert lstm.weight_hh_l1_reverse.shape == (28, 7) and lstm.bias_hh_l1.shape == (28,)
    bound = 1 / math.sqrt(7)
    assert all(np.abs(p.numpy()).max() <= bound for p in lstm.parameters())
    assert len(list(nn.LSTM(5, 7, bias=False).parameters())) == 2


def test_lstm_unbatched_input(rng):
    lstm = nn.LSTM(3, 4).double()
    x = rng.standard_normal((5, 3))
    out, (h, c) = lstm(t64(x, False))
    batched, (hb, cb) = lstm(t64(x[:, None], False))
    assert out.shape == (5, 4) and h.shape == (1, 4)
    np.testing.assert_allclose(out.numpy(), batched.numpy()[:, 0])


def test_lstm_dropout_between_layers_only_in_training(rng):
    lstm = nn.LSTM(3, 4, num_layers=2, dropout=0.5).double()
    x = t64(rng.standard_normal((5, 2, 3)), False)
    lstm.eval()
    a, b = lstm(x)[0].numpy(), lstm(x)[0].numpy()
    np.testing.assert_array_equal(a, b)
    lstm.train()
    assert not np.allclose(lstm(x)[0].numpy(), a)


def test_lstm_cell_matches_equations_and_gradcheck(rng):
    cell = nn.LSTMCell(3, 4).double()
    x, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    h1, c1 = cell(t64(x, False), (t64(h, False), t64(c, False)))
    ref_h, ref_c = lstm_step(x, h, c, cell.weight_ih.numpy(), cell.weight_hh.numpy(),
                             cell.bias_ih.numpy(), cell.bias_hh.numpy())
    np.testing.assert_allclose(h1.numpy(), ref_h, atol=1e-12)
    np.testing.assert_allclose(c1.numpy(), ref_c, atol=1e-12)
    xs, hs, cs = t64(x), t64(h), t64(c)
    assert minigrad.gradcheck(lambda x, h, c: cell(x, (h, c))[0] * cell(x, (h, c))[1],
                              [xs, hs, cs])
    assert minigrad.gradcheck(lambda *ps: cell(xs)[1], list(cell.parameters()))
    assert cell(minigrad.randn(3, dtype=minigrad.float64))[0].shape == (4,)


def test_gru_matches_loop_reference_and_gradcheck(rng):
    gru = nn.GRU(3, 4, num_layers=2, bidirectional=True, batch_first=True).double()
    x = rng.standard_normal((5, 2, 3))
    h0 = rng.standard_normal((4, 2, 4))
    out, h_n = gru(t64(x.transpose(1, 0, 2), False), t64(h0, False))
    ref_out, (ref_h,) = reference_rnn(gru, x, [h0], gru_step)
    np.testing.assert_allclose(out.numpy(), ref_out.transpose(1, 0, 2), atol=1e-12)
    np.testing.assert_allclose(h_n.numpy(), ref_h, atol=1e-12)
    small = nn.GRU(2, 3, num_layers=2, bidirectional=True).double()
    xs, hs = t64(rng.standard_normal((3, 2, 2))), t64(rng.standard_normal((4, 2, 3)))
    assert minigrad.gradcheck(lambda x, h: small(x, h)[0].sum(dim=0) + small(x, h)[1].sum(),
                              [xs, hs])
    assert minigrad.gradcheck(lambda *ps: small(xs)[1], list(small.parameters()))


def test_rnn_errors():
    lstm = nn.LSTM(3, 4, num_layers=2)
    with pytest.raises(ValueError, match=r"LSTM: expected input \(seq, batch, 3\).*got shape \(5, 2, 4\)"):
        lstm(minigrad.randn(5, 2, 4))
    with pytest.raises(ValueError, match=r"LSTM: expected h_0 of shape \(2, 2, 4\), got \(1, 2, 4\)"):
        lstm(minigrad.randn(5, 2, 3), (minigrad.zeros(1, 2, 4), minigrad.zeros(2, 2, 4)))
    with pytest.raises(ValueError, match=r"LSTMCell: expected input \(N, 3\)"):
        nn.LSTMCell(3, 4)(minigrad.randn(2, 5))


# ----------------------------------------------------------------------------- RNN, RNNCell, GRUCell

# PyTorch's keys, written down from torch.nn.RNN(3, 4, 2, bidirectional=True).state_dict()
TORCH_RNN_KEYS = [
    "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l0_reverse",
    "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse", "weight_ih_l1",
    "weight_hh_l1", "bias_ih_l1", "bias_hh_l1", "weight_ih_l1_reverse", "weight_hh_l1_reverse",
    "bias_ih_l1_reverse", "bias_hh_l1_reverse"]
TORCH_CELL_KEYS = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]


def rnn_step(nonlinearity):
    """PyTorch's documented Elman step h' = φ(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)."""
    def step(x, h, w_ih, w_hh, b_ih, b_hh):
        a = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
        return np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0)
    return step


RNN_CASES = [  # nonlinearity, num_layers, bidirectional, batch_first, with initial state
    ("tanh", 1, False, False, False),
    ("relu", 1, False, True, True),
    ("tanh", 2, True, False, True),
    ("relu", 2, True, True, False),
]


@pytest.mark.parametrize("nonlinearity,layers,bidirectional,batch_first,with_state", RNN_CASES)
def test_rnn_matches_loop_reference(rng, nonlinearity, layers, bidirectional, batch_first,
                                    with_state):
    rnn = nn.RNN(3, 4, layers, nonlinearity, batch_first=batch_first,
                 bidirectional=bidirectional).double()
    d = 2 if bidirectional else 1
    x = rng.standard_normal((5, 2, 3))
    h0 = rng.standard_normal((layers * d, 2, 4)) if with_state else np.zeros((layers * d, 2, 4))
    out, h_n = rnn(t64(x.transpose(1, 0, 2) if batch_first else x, False),
                   t64(h0, False) if with_state else None)
    ref_out, (ref_h,) = reference_rnn(rnn, x, [h0], rnn_step(nonlinearity))
    np.testing.assert_allclose(out.numpy(), ref_out.transpose(1, 0, 2) if batch_first else ref_out,
                               atol=1e-12)
    np.testing.assert_allclose(h_n.numpy(), ref_h, atol=1e-12)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_gradcheck_inputs_states_and_parameters(rng, nonlinearity):
    rnn = nn.RNN(2, 3, num_layers=2, nonlinearity=nonlinearity, bidirectional=True).double()
    x, h0 = t64(rng.standard_normal((4, 2, 2))), t64(rng.standard_normal((4, 2, 3)))
    assert minigrad.gradcheck(lambda x, h: rnn(x, h)[0].sum(dim=0) + rnn(x, h)[1].sum() * 0.5,
                              [x, h0])
    xs = t64(rng.standard_normal((3, 2, 2)), False)
    assert minigrad.gradcheck(lambda *ps: rnn(xs)[0], list(rnn.parameters()))


def test_rnn_names_defaults_dropout_and_errors(rng):
    rnn = nn.RNN(3, 4, 2, bidirectional=True)
    assert list(rnn.state_dict()) == TORCH_RNN_KEYS
    assert rnn.weight_ih_l1.shape == (4, 8) and rnn.nonlinearity == "tanh"
    assert rnn.batch_first is False and rnn.dropout == 0.0
    assert all(np.abs(p.numpy()).max() <= 1 / math.sqrt(4) for p in rnn.parameters())
    assert list(nn.RNN(3, 4, bias=False).state_dict()) == ["weight_ih_l0", "weight_hh_l0"]
    x = rng.standard_normal((5, 3))
    out, h = nn.RNN(3, 4).double()(t64(x, False))  # unbatched (T, input_size)
    assert out.shape == (5, 4) and h.shape == (1, 4)
    deep = nn.RNN(3, 4, num_layers=2, dropout=0.5).double()
    xb = t64(rng.standard_normal((5, 2, 3)), False)
    assert not np.allclose(deep(xb)[0].numpy(), deep(xb)[0].numpy())
    deep.eval()
    np.testing.assert_array_equal(deep(xb)[0].numpy(), deep(xb)[0].numpy())
    with pytest.raises(ValueError, match="Unknown nonlinearity 'gelu'. Select from 'tanh' or 'relu'"):
        nn.RNN(3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError, match=r"RNN: expected h_0 of shape \(1, 2, 4\)"):
        nn.RNN(3, 4)(minigrad.randn(5, 2, 3), minigrad.zeros(2, 2, 4))


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_cell_matches_equation_and_gradcheck(rng, nonlinearity):
    cell = nn.RNNCell(3, 4, nonlinearity=nonlinearity).double()
    assert list(cell.state_dict()) == TORCH_CELL_KEYS
    x, h = rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    expected = rnn_step(nonlinearity)(x, h, *params_of(cell, ""))
    np.testing.assert_allclose(cell(t64(x, False), t64(h, False)).numpy(), expected, atol=1e-12)
    np.testing.assert_allclose(cell(t64(x[0], False)).numpy(),
                               rnn_step(nonlinearity)(x[0], np.zeros(4), *params_of(cell, "")),
                               atol=1e-12)
    xs, hs = t64(x), t64(h)
    assert minigrad.gradcheck(lambda x, h: cell(x, h), [xs, hs])
    assert minigrad.gradcheck(lambda *ps: cell(xs, hs), list(cell.parameters()))


def test_gru_cell_matches_equations_gradcheck_and_agrees_with_gru(rng):
    cell = nn.GRUCell(3, 4).double()
    assert list(cell.state_dict()) == TORCH_CELL_KEYS and cell.weight_ih.shape == (12, 3)
    x, h = rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    np.testing.assert_allclose(cell(t64(x, False), t64(h, False)).numpy(),
                               gru_step(x, h, *params_of(cell, "")), atol=1e-12)
    xs, hs = t64(x), t64(h)
    assert minigrad.gradcheck(lambda x, h: cell(x, h), [xs, hs])
    assert minigrad.gradcheck(lambda *ps: cell(xs, hs), list(cell.parameters()))
    gru = nn.GRU(3, 4).double()  # the one-layer GRU is the cell applied over time
    gru.load_state_dict({k + "_l0": v for k, v in cell.state_dict().items()})
    seq = rng.standard_normal((5, 2, 3))
    state = t64(h, False)
    for t in range(5):
        state = cell(t64(seq[t], False), state)
    np.testing.assert_allclose(gru(t64(seq, False), t64(h[None], False))[1].numpy()[0],
                               state.numpy(), atol=1e-12)
    assert cell(t64(x[0], False)).shape == (4,)
    assert list(nn.GRUCell(3, 4, bias=False).state_dict()) == ["weight_ih", "weight_hh"]
    with pytest.raises(ValueError, match=r"GRUCell: expected input \(N, 3\)"):
        cell(minigrad.randn(2, 5))


# ----------------------------------------------------------------------------- Embedding


def test_embedding_forward_and_repeated_indices_accumulate(rng):
    emb = nn.Embedding(6, 3).double()
    idx = np.array([[1, 4, 1], [1, 0, 5]])
    out = emb(minigrad.tensor(idx))
    np.testing.assert_array_equal(out.numpy(), emb.weight.numpy()[idx])
    g = rng.standard_normal((2, 3, 3))
    out.backward(g)
    expected = np.zeros((6, 3))
    np.add.at(expected, idx.ravel(), g.reshape(-1, 3))
    np.testing.assert_allclose(emb.weight.grad.numpy(), expected, atol=1e-12)
    assert np.allclose(emb.weight.grad.numpy()[1], g[0, 0] + g[0, 2] + g[1, 0])


def test_embedding_padding_idx_gets_no_gradient_and_starts_at_zero():
    emb = nn.Embedding(5, 4, padding_idx=2)
    np.testing.assert_array_equal(emb.weight.numpy()[2], 0)
    assert np.abs(emb.weight.numpy()[[0, 1, 3, 4]]).min() > 0  # N(0, 1) elsewhere
    emb(minigrad.tensor([[2, 2, 1]])).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.numpy()[2], 0)
    np.testing.assert_array_equal(emb.weight.grad.numpy()[1], 1)
    assert nn.Embedding(5, 4, padding_idx=-1).padding_idx == 4


def test_embedding_gradcheck(rng):
    w = t64(rng.standard_normal((5, 3)))
    idx = np.array([[0, 3, 3], [4, 0, 1]])
    assert minigrad.gradcheck(lambda w: F.embedding(idx, w) ** 2, [w])


def test_embedding_errors():
    emb = nn.Embedding(5, 3)
    with pytest.raises(TypeError, match=r"Embedding: expected integer indices, got dtype float32 with shape \(2,\)"):
        emb(minigrad.tensor([1.0, 2.0]))
    with pytest.raises(IndexError, match=r"indices must be in \[0, 5\) .*got values in \[0, 7\]"):
        emb(minigrad.tensor([0, 7]))


def test_embedding_lstm_classifier_trains():
    emb, lstm, fc = nn.Embedding(10, 8), nn.LSTM(8, 16, batch_first=True), nn.Linear(16, 2)
    idx = minigrad.randint(0, 10, (16, 6))
    y = (idx.numpy()[:, 0] < 5).astype(np.int64)  # label = the first token's half
    params = list(emb.parameters()) + list(lstm.parameters()) + list(fc.parameters())
    opt = minigrad.optim.Adam(params, lr=0.03)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        _, (h, _) = lstm(emb(idx))
        loss = F.cross_entropy(fc(h[-1]), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]


# ============================================================================ the fast LSTM time loop


def _lstm_loop_reference(proj, h0, c0, w_hh, grad, reverse):
    """The per-step reference: lstm_gates / lstm_gates_backward (ops/rnn.py) in a plain loop.

    Returns (h_t for all t, c_T, dproj, dh0, dc0, dW_hh) for the upstream gradient ``grad``
    of shape (T + 1, N, H) (the h_t's, then c_T), as LSTMRecurrence defines it.
    """
    from minigrad.ops.rnn import lstm_gates, lstm_gates_backward

    steps = proj.shape[0]
    order = list(range(steps - 1, -1, -1) if reverse else range(steps))
    h, c = h0, c0
    saved, hs = {}, np.zeros((steps,) + h0.shape, dtype=proj.dtype)
    for t in order:
        act, c_new, tanh_c, h_new = lstm_gates(proj[t] + h @ w_hh.T, c)
        saved[t] = (act, c, tanh_c, h)
        h, c = h_new, c_new
        hs[t] = h
    d_proj = np.zeros_like(proj)
    dh, dc, dw = np.zeros_like(h0), grad[steps], np.zeros_like(w_hh)
    for t in reversed(order):
        act, c_prev, tanh_c, h_prev = saved[t]
        d_proj[t], dc = lstm_gates_backward(act, c_prev, tanh_c, grad[t] + dh, dc)
        dh = d_proj[t] @ w_hh
        dw += d_proj[t].T @ h_prev
    return hs, c, d_proj, dh, dc, dw


@pytest.mark.parametrize("steps", [1, 2, 11])  # 11: two blocks of _LSTM_BLOCK = 8
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-13), (np.float32, 2e-6)])
def test_lstm_recurrence_fast_path_equals_per_step_reference(rng, steps, reverse, dtype, tol):
    from minigrad.ops.rnn import LSTMRecurrence

    n, hidden = 3, 5
    proj = (rng.standard_normal((steps, n, 4 * hidden)) * 2).astype(dtype)
    h0, c0 = rng.standard_normal((2, n, hidden)).astype(dtype)
    w_hh = (rng.standard_normal((4 * hidden, hidden)) * 0.5).astype(dtype)
    grad = rng.standard_normal((steps + 1, n, hidden)).astype(dtype)
    inputs = [minigrad.tensor(a, requires_grad=True) for a in (proj, h0, c0, w_hh)]
    out = LSTMRecurrence.apply(*inputs, reverse=reverse)
    out.backward(minigrad.tensor(grad))
    hs, c_last, *grads = _lstm_loop_reference(proj, h0, c0, w_hh, grad, reverse)
    assert out.dtype == dtype and all(t.grad.dtype == dtype for t in inputs)  # no float64 detour
    np.testing.assert_allclose(out.numpy()[:steps], hs, rtol=tol, atol=tol)
    np.testing.assert_allclose(out.numpy()[steps], c_last, rtol=tol, atol=tol)
    for t, expected in zip(inputs, grads):
        np.testing.assert_allclose(t.grad.numpy(), expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("reverse", [False, True])
def test_lstm_recurrence_gradcheck_every_input(rng, reverse):
    from minigrad.ops.rnn import LSTMRecurrence

    proj, h0, c0 = t64(rng.standard_normal((4, 2, 12))), t64(rng.standard_normal((2, 3))), \
        t64(rng.standard_normal((2, 3)))
    w_hh = t64(rng.standard_normal((12, 3)) * 0.7)
    assert minigrad.gradcheck(lambda *a: LSTMRecurrence.apply(*a, reverse=reverse),
                              [proj, h0, c0, w_hh])


def test_lstm_recurrence_float32_grad_from_float64_upstream_and_saved_output_guard(rng):
    from minigrad.ops.rnn import LSTMRecurrence

    proj = minigrad.tensor(rng.standard_normal((3, 2, 8)).astype(np.float32), requires_grad=True)
    h0, c0 = (minigrad.tensor(np.zeros((2, 2), np.float32)) for _ in range(2))
    w_hh = minigrad.tensor(rng.standard_normal((8, 2)).astype(np.float32), requires_grad=True)
    out = LSTMRecurrence.apply(proj, h0, c0, w_hh, reverse=False)
    out.backward(minigrad.tensor(np.ones((4, 2, 2))))  # a float64 upstream gradient
    assert proj.grad.dtype == np.float32 and w_hh.grad.dtype == np.float32
    # the output holds the h_t the backward reads: writing into it must be refused
    out = LSTMRecurrence.apply(proj, h0, c0, w_hh, reverse=False)
    with minigrad.no_grad():
        out.mul_(2)
    with pytest.raises(RuntimeError, match="inplace"):
        out.sum().backward()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lstm_recurrence_saturated_gates_without_overflow_warning(rng, dtype):
    # the single-exp gate trick computes e^x for pre-activations of ±100 and ±1e4 (e^x
    # overflows to inf, 1 / (1 + inf) = 0): the gates must still be exact 0 / 1 / ±1, with
    # no RuntimeWarning ("overflow encountered in exp") reaching the user
    import warnings

    from minigrad.ops.rnn import LSTMRecurrence, lstm_gates

    proj = (rng.choice([-1e4, -100.0, -3.0, 0.0, 3.0, 100.0, 1e4], (3, 2, 16))).astype(dtype)
    h0, c0 = np.zeros((2, 2, 4), dtype)
    w_hh = (rng.standard_normal((16, 4)) * 0.5).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = LSTMRecurrence.apply(*(minigrad.tensor(a) for a in (proj, h0, c0, w_hh)),
                                   reverse=False).numpy()
    h, c = h0, c0
    for t in range(3):
        _, c, _, h = lstm_gates(proj[t] + h @ w_hh.T, c)
        np.testing.assert_allclose(out[t], h, rtol=0, atol=1e-6 if dtype == np.float32 else 1e-14)
    assert np.isfinite(out).all()


def test_lstm_recurrence_recycles_its_private_arrays_only_after_the_last_backward(rng):
    # recycled work arrays (ops/rnn.py): after backward frees the graph, the gate values,
    # tanh c and cells of one call are reused by the next call of the same shape; with
    # retain_graph=True they stay with the first call, so a second backward is still right
    from minigrad.ops import rnn

    steps, n, hidden = 5, 3, 4
    arrays = [(rng.standard_normal((steps, n, 4 * hidden)) * 2),
              rng.standard_normal((n, hidden)), rng.standard_normal((n, hidden)),
              rng.standard_normal((4 * hidden, hidden)) * 0.5]
    grad = rng.standard_normal((steps + 1, n, hidden))
    expected = _lstm_loop_reference(*arrays, grad, reverse=False)

    def run(retain_graph=False):
        inputs = [minigrad.tensor(a, requires_grad=True) for a in arrays]
        out = rnn.LSTMRecurrence.apply(*inputs, reverse=False)
        fn = out._ctx
        private = [fn.act, fn.tanh_c, fn.cells]
        out.backward(minigrad.tensor(grad), retain_graph=retain_graph)
        return out, inputs, private

    def check(out, inputs):
        np.testing.assert_allclose(out.numpy()[:steps], expected[0], rtol=1e-12, atol=1e-12)
        for t, want in zip(inputs, expected[2:]):
            np.testing.assert_allclose(t.grad.numpy(), want, rtol=1e-12, atol=1e-12)

    rnn._RECYCLED.free.clear()
    out1, inputs1, private1 = run(retain_graph=True)  # kept: not recycled
    assert not any(a is b for a in rnn._RECYCLED.free for b in private1)
    out2, inputs2, private2 = run()  # fresh arrays (none were free), recycled after backward
    assert all(any(a is b for a in rnn._RECYCLED.free) for b in private2)
    assert not any(a is b for a in private2 for b in private1)
    out3, inputs3, private3 = run()  # reuses the arrays of the second call
    assert all(any(a is b for b in private2) for a in private3)
    check(out2, inputs2)
    check(out3, inputs3)
    # the first graph was retained: its arrays are its own, so a second backward is exact
    for t in inputs1:
        t.grad = None
    out1.backward(minigrad.tensor(grad))
    check(out1, inputs1)
    # a backward already done frees the graph: the engine refuses another one
    with pytest.raises(RuntimeError, match="second time"):
        out3.backward(minigrad.tensor(grad))


# ============================================================================ values behind the smoke tests


def test_lstm_unbatched_input_returns_h_and_c_of_the_reference(rng):
    # the unbatched (L, H_in) input: out, h AND c against the loop reference, with and
    # without an unbatched initial state (h0, c0 of shape (layers·dirs, H))
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True).double()
    x = rng.standard_normal((5, 3))
    h0, c0 = rng.standard_normal((4, 4)), rng.standard_normal((4, 4))
    for state in (None, (h0, c0)):
        hx = None if state is None else (t64(h0, False), t64(c0, False))
        out, (h, c) = lstm(t64(x, False), hx)
        ref0 = [np.zeros((4, 1, 4))] * 2 if state is None else [h0[:, None], c0[:, None]]
        ref_out, (ref_h, ref_c) = reference_rnn(lstm, x[:, None], ref0, lstm_step)
        assert out.shape == (5, 8) and h.shape == (4, 4) and c.shape == (4, 4)
        np.testing.assert_allclose(out.numpy(), ref_out[:, 0], atol=1e-12)
        np.testing.assert_allclose(h.numpy(), ref_h[:, 0], atol=1e-12)
        np.testing.assert_allclose(c.numpy(), ref_c[:, 0], atol=1e-12)
        assert not np.allclose(c.numpy(), h.numpy())  # c is its own state, not a copy of h


def test_embedding_lstm_classifier_values_and_gradients(rng):
    # the value check paired with test_embedding_lstm_classifier_trains: the same pipeline in
    # float64 against a numpy reference, and its loss gradient for every parameter (embedding,
    # LSTM, linear) against finite differences
    emb, lstm, fc = nn.Embedding(6, 3).double(), nn.LSTM(3, 4, batch_first=True).double(), \
        nn.Linear(4, 2).double()
    idx = rng.integers(0, 6, (3, 4))
    y = np.array([0, 1, 1])
    vectors = emb.weight.numpy()[idx]  # (N, T, E)
    _, (ref_h, _) = reference_rnn(lstm, vectors.transpose(1, 0, 2), [np.zeros((1, 3, 4))] * 2,
                                  lstm_step)
    logits = ref_h[-1] @ fc.weight.numpy().T + fc.bias.numpy()
    z = logits - logits.max(axis=1, keepdims=True)
    expected_loss = -(z[np.arange(3), y] - np.log(np.exp(z).sum(axis=1))).mean()

    def loss_of(*params):
        _, (h, _) = lstm(emb(minigrad.tensor(idx)))
        return F.cross_entropy(fc(h[-1]), y)

    assert loss_of().item() == pytest.approx(expected_loss, rel=1e-12)
    params = list(emb.parameters()) + list(lstm.parameters()) + list(fc.parameters())
    assert minigrad.gradcheck(loss_of, params)


@pytest.mark.parametrize("reverse", [False, True])
def test_lstm_recurrence_on_two_threads_equals_one_thread_and_the_reference(rng, monkeypatch,
                                                                           reverse):
    # blocks of batch rows on threads (ops/rnn.py, off by default: switched on here with
    # 4096 gate values per thread, so (16, 4·128) gates per step make 2 blocks): the values
    # and every gradient must be those of one thread and of the reference
    from minigrad import threads
    from minigrad.ops import rnn

    monkeypatch.setattr(rnn, "_LSTM_GATES_PER_THREAD", 4096)

    steps, n, hidden = 3, 16, 128
    proj = rng.standard_normal((steps, n, 4 * hidden)) * 2
    h0, c0 = rng.standard_normal((2, n, hidden))
    w_hh = rng.standard_normal((4 * hidden, hidden)) * 0.1
    grad = rng.standard_normal((steps + 1, n, hidden))
    hs, c_last, *expected = _lstm_loop_reference(proj, h0, c0, w_hh, grad, reverse)
    blocks = []  # (loop, rows of the block) of every block run

    def spy(name):
        original = getattr(rnn, name)

        def run_block(*arrays):
            blocks.append((name, arrays[0].shape[0]))
            return original(*arrays)

        monkeypatch.setattr(rnn, name, run_block)

    spy("_lstm_forward_rows")
    spy("_lstm_backward_rows")

    def run(num_threads):
        threads.set_num_threads(num_threads)
        inputs = [minigrad.tensor(a, requires_grad=True) for a in (proj, h0, c0, w_hh)]
        out = rnn.LSTMRecurrence.apply(*inputs, reverse=reverse)
        out.backward(minigrad.tensor(grad))
        return [out.numpy()] + [t.grad.numpy() for t in inputs]

    saved = threads.get_num_threads()
    try:
        one = run(1)
        assert blocks == [("_lstm_forward_rows", n), ("_lstm_backward_rows", n)]
        blocks.clear()
        two = run(2)
        assert sorted(blocks) == [("_lstm_backward_rows", n // 2)] * 2 + [("_lstm_forward_rows", n // 2)] * 2
    finally:
        threads.set_num_threads(saved)
    for a, b in zip(one, two):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)  # a product may round
    np.testing.assert_allclose(two[0][:steps], hs, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(two[0][steps], c_last, rtol=1e-12, atol=1e-12)
    for got, want in zip(two[1:], expected):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)
