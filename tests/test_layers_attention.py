"""Attention, MultiheadAttention, positional encodings, TransformerBlock and TransformerLM."""

import math

import numpy as np
import pytest

import minigrad
import minigrad.nn.functional as F
from minigrad import nn

pytestmark = pytest.mark.transformer


def t64(array, requires_grad=True):
    return minigrad.tensor(np.ascontiguousarray(array, dtype=np.float64),
                           requires_grad=requires_grad)


def naive_attention(q, k, v, allowed=None, additive=None, scale=None):
    """softmax(q kᵀ scale + mask) v, one query row at a time; all-masked rows give 0."""
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = np.einsum("...le,...se->...ls", q, k) * scale
    if additive is not None:
        s = s + additive
    if allowed is not None:
        s = np.where(allowed, s, -np.inf)
    batch = np.broadcast_shapes(s.shape[:-2], v.shape[:-2])
    s = np.broadcast_to(s, batch + s.shape[-2:])
    v = np.broadcast_to(v, batch + v.shape[-2:])
    out = np.zeros(s.shape[:-1] + (v.shape[-1],))
    for index in np.ndindex(s.shape[:-1]):
        row = s[index]
        if np.isneginf(row).all():
            continue
        p = np.exp(row - row.max())
        out[index] = (p / p.sum()) @ v[index[:-1]]
    return out


@pytest.fixture
def qkv(rng):
    return (rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 3, 6, 5)),
            rng.standard_normal((2, 3, 6, 2)))


# ----------------------------------------------------------------------------- scaled_dot_product_attention


def test_sdpa_matches_naive_without_and_with_masks(rng, qkv):
    q, k, v = qkv
    bool_mask = rng.random((2, 1, 4, 6)) > 0.3
    float_mask = rng.standard_normal((4, 6))
    causal = np.tril(np.ones((4, 6), dtype=bool))
    cases = [({}, {}), ({"attn_mask": bool_mask}, {"allowed": bool_mask}),
             ({"attn_mask": float_mask}, {"additive": float_mask}),
             ({"is_causal": True}, {"allowed": causal}), ({"scale": 0.3}, {"scale": 0.3})]
    for kwargs, ref_kwargs in cases:
        out = F.scaled_dot_product_attention(t64(q, False), t64(k, False), t64(v, False), **kwargs)
        np.testing.assert_allclose(out.numpy(), naive_attention(q, k, v, **ref_kwargs),
                                   atol=1e-12, err_msg=str(kwargs))


@pytest.mark.parametrize("mask_kind", ["none", "bool", "float", "causal"])
def test_sdpa_gradcheck(rng, qkv, mask_kind):
    q, k, v = (t64(a) for a in qkv)
    kwargs = {"none": {}, "causal": {"is_causal": True},
              "bool": {"attn_mask": rng.random((4, 6)) > 0.3},
              "float": {"attn_mask": rng.standard_normal((2, 1, 4, 6))}}[mask_kind]
    assert minigrad.gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kwargs),
                              [q, k, v])


def test_sdpa_broadcast_batch_dims_gradcheck(rng):
    q = t64(rng.standard_normal((2, 3, 4, 5)))
    k, v = t64(rng.standard_normal((1, 3, 6, 5))), t64(rng.standard_normal((3, 6, 2)))
    assert minigrad.gradcheck(F.scaled_dot_product_attention, [q, k, v])


def test_sdpa_fully_masked_row_gives_zero_output_and_zero_gradient(rng, qkv):
    q, k, v = (t64(a) for a in qkv)
    for mask in (np.ones((4, 6), dtype=bool), np.zeros((4, 6))):
        if mask.dtype == bool:
            mask[2] = False  # query 2 may attend to nothing
        else:
            mask[2] = -np.inf
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        assert np.isfinite(out.numpy()).all()
        np.testing.assert_array_equal(out.numpy()[:, :, 2], 0)
        out.sum().backward()
        np.testing.assert_array_equal(q.grad.numpy()[:, :, 2], 0)
        assert np.isfinite(k.grad.numpy()).all() and np.isfinite(v.grad.numpy()).all()
        q.grad = k.grad = v.grad = None
        assert minigrad.gradcheck(
            lambda q, k, v, mask=mask: F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
            [q, k, v])


def test_sdpa_dropout_is_seeded_and_identity_at_zero(rng, qkv):
    q, k, v = (t64(a, False) for a in qkv)
    minigrad.manual_seed(3)
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy()
    minigrad.manual_seed(3)
    b = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, F.scaled_dot_product_attention(q, k, v).numpy())


def test_sdpa_dropout_zeroes_weights_and_rescales_the_rest(rng, qkv):
    # with V = the identity (S x S) the output *is* the weight matrix after dropout, so every
    # entry must be 0 (dropped) or softmax(Q Kᵀ/√d) / (1 - p) (kept), and the kept entries are
    # exactly what multiplies V: a different V gives (dropped weights) @ V
    q, k, _ = qkv
    p = 0.4
    weights = naive_attention(q, k, np.broadcast_to(np.eye(6), (2, 3, 6, 6)))
    minigrad.manual_seed(7)
    dropped = F.scaled_dot_product_attention(t64(q, False), t64(k, False),
                                             t64(np.broadcast_to(np.eye(6), (2, 3, 6, 6)), False),
                                             dropout_p=p).numpy()
    kept = dropped != 0
    assert 0.4 < kept.mean() < 0.8  # about 1 - p kept
    np.testing.assert_allclose(dropped[kept], weights[kept] / (1 - p), rtol=1e-12)
    v = rng.standard_normal((2, 3, 6, 2))
    minigrad.manual_seed(7)  # the same mask again
    out = F.scaled_dot_product_attention(t64(q, False), t64(k, False), t64(v, False),
                                         dropout_p=p).numpy()
    np.testing.assert_allclose(out, dropped @ v, atol=1e-12)
    # MultiheadAttention(dropout=p) in training mode: the same rule on its attention weights
    mha = nn.MultiheadAttention(4, 1, dropout=p, batch_first=True, bias=False).double()
    mha.in_proj_weight._data[:] = np.vstack([np.eye(4), np.eye(4), np.eye(4)])
    mha.out_proj.weight._data[:] = np.eye(4)
    x = rng.standard_normal((1, 4, 4))
    scores = x[0] @ x[0].T / 2  # Q = K = V = x, d = 4
    plain = np.exp(scores - scores.max(axis=-1, keepdims=True))
    plain /= plain.sum(axis=-1, keepdims=True)
    mha.train()
    for seed in range(3):
        minigrad.manual_seed(seed)
        out, _ = mha(t64(x, False), t64(x, False), t64(x, False))
        # out = (dropped weights) @ x; solve for the dropped weights (x is invertible)
        w = np.linalg.solve(x[0].T, out.numpy()[0].T).T
        kept = ~np.isclose(w, 0, atol=1e-9)
        np.testing.assert_allclose(w[kept], plain[kept] / (1 - p), rtol=1e-9)
    mha.eval()
    np.testing.assert_allclose(mha(t64(x, False), t64(x, False), t64(x, False))[0].numpy()[0],
                               plain @ x[0], atol=1e-12)


def test_sdpa_errors(qkv):
    q, k, v = (t64(a, False) for a in qkv)
    with pytest.raises(ValueError, match=r"attn_mask of shape \(5, 6\) does not broadcast .*\(2, 3, 4, 6\)"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((5, 6), dtype=bool))
    with pytest.raises(ValueError, match="expected query"):
        F.scaled_dot_product_attention(q, v, v)
    with pytest.raises(ValueError, match="not both"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((4, 6), bool), is_causal=True)


# ----------------------------------------------------------------------------- MultiheadAttention


def reference_mha(mha, query, key, value, forbidden):
    e, h = mha.embed_dim, mha.num_heads
    w, b = mha.in_proj_weight.numpy(), mha.in_proj_bias.numpy()
    n = query.shape[0]

    def heads(x, i):
        y = x @ w[i * e : (i + 1) * e].T + b[i * e : (i + 1) * e]
        return y.reshape(n, x.shape[1], h, e // h).transpose(0, 2, 1, 3)

    allowed = None if forbidden is None else ~forbidden
    out = naive_attention(heads(query, 0), heads(key, 1), heads(value, 2), allowed=allowed)
    out = out.transpose(0, 2, 1, 3).reshape(n, query.shape[1], e)
    return out @ mha.out_proj.weight.numpy().T + mha.out_proj.bias.numpy()


def reference_weights(mha, query, key, forbidden):
    """softmax(Q_h K_hᵀ/√d) with -inf where forbidden, averaged over the heads (N, L, S)."""
    e, h = mha.embed_dim, mha.num_heads
    w, b = mha.in_proj_weight.numpy(), mha.in_proj_bias.numpy()
    q = (query @ w[:e].T + b[:e]).reshape(*query.shape[:2], h, e // h).transpose(0, 2, 1, 3)
    k = (key @ w[e:2 * e].T + b[e:2 * e]).reshape(*key.shape[:2], h, e // h).transpose(0, 2, 1, 3)
    scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(e // h)
    if forbidden is not None:
        scores = np.where(forbidden, -np.inf, scores)
    p = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return (p / p.sum(axis=-1, keepdims=True)).mean(axis=1)


def test_mha_parameters_follow_pytorch():
    mha = nn.MultiheadAttention(8, 2)
    assert list(mha.state_dict()) == ["in_proj_weight", "in_proj_bias", "out_proj.weight",
                                      "out_proj.bias"]
    assert mha.in_proj_weight.shape == (24, 8) and mha.out_proj.weight.shape == (8, 8)
    np.testing.assert_array_equal(mha.in_proj_bias.numpy(), 0)
    np.testing.assert_array_equal(mha.out_proj.bias.numpy(), 0)
    bound = math.sqrt(6 / (24 + 8))  # xavier_uniform_ on (3E, E)
    assert np.abs(mha.in_proj_weight.numpy()).max() <= bound


def test_mha_masks_follow_pytorch_conventions(rng):
    mha = nn.MultiheadAttention(8, 2, batch_first=True).double()
    mha.in_proj_bias._data[:] = rng.standard_normal(24)
    x, kv = rng.standard_normal((2, 4, 8)), rng.standard_normal((2, 5, 8))
    padding = np.array([[False] * 5, [False, False, True, True, True]])
    attn_mask = rng.random((4, 5)) > 0.7  # True = may NOT attend (PyTorch MHA)
    attn_mask[:, 0] = False
    cases = [({}, None),
             ({"key_padding_mask": padding}, padding[:, None, None, :]),
             ({"attn_mask": attn_mask}, attn_mask),
             ({"attn_mask": attn_mask, "key_padding_mask": padding},
              attn_mask | padding[:, None, None, :]),
             ({"attn_mask": np.where(attn_mask, -np.inf, 0.0)}, attn_mask)]
    for kwargs, forbidden in cases:
        out, weights = mha(t64(x, False), t64(kv, False), t64(kv, False), **kwargs)
        np.testing.assert_allclose(out.numpy(), reference_mha(mha, x, kv, kv, forbidden),
                                   atol=1e-12, err_msg=str(list(kwargs)))
        np.testing.assert_allclose(weights.numpy(), reference_weights(mha, x, kv, forbidden),
                                   atol=1e-12, err_msg=str(list(kwargs)))
        assert mha(t64(x, False), t64(kv, False), t64(kv, False), need_weights=False,
                   **kwargs)[1] is None
    out, _ = mha(t64(x, False), t64(x, False), t64(x, False), is_causal=True)
    causal = np.triu(np.ones((4, 4), dtype=bool), 1)
    np.testing.assert_allclose(out.numpy(), reference_mha(mha, x, x, x, causal), atol=1e-12)


def test_mha_default_is_sequence_first_as_pytorch(rng):
    # PyTorch: batch_first=False, so a 3-D input is (L, N, E) and the output too
    mha = nn.MultiheadAttention(6, 3).double()
    assert mha.batch_first is False
    mha.in_proj_bias._data[:] = rng.standard_normal(18)
    x, kv = rng.standard_normal((4, 2, 6)), rng.standard_normal((5, 2, 6))  # (L, N, E), (S, N, E)
    out, weights = mha(t64(x, False), t64(kv, False), t64(kv, False))
    assert out.shape == (4, 2, 6) and weights.shape == (2, 4, 5)  # need_weights=True default
    expected = reference_mha(mha, x.transpose(1, 0, 2), kv.transpose(1, 0, 2),
                             kv.transpose(1, 0, 2), None).transpose(1, 0, 2)
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-12)
    np.testing.assert_allclose(weights.numpy().sum(axis=-1), 1, atol=1e-12)
    # the weights themselves: softmax(Q_h K_hᵀ/√d) averaged over heads, computed by hand
    np.testing.assert_allclose(
        weights.numpy(), reference_weights(mha, x.transpose(1, 0, 2), kv.transpose(1, 0, 2), None),
        atol=1e-12)
    mha.batch_first = True
    np.testing.assert_allclose(
        out.numpy().transpose(1, 0, 2),
        mha(t64(x.transpose(1, 0, 2), False), *(t64(kv.transpose(1, 0, 2), False),) * 2)[0]
        .numpy(), atol=1e-12)


def test_mha_weights_per_head_and_unbatched_input(rng):
    mha = nn.MultiheadAttention(4, 2).double()
    x = rng.standard_normal((3, 1, 4))  # (L, N=1, E)
    padding = np.array([[False, False, True]])
    out, w = mha(t64(x, False), t64(x, False), t64(x, False), key_padding_mask=padding,
                 average_attn_weights=False)
    assert w.shape == (1, 2, 3, 3)
    np.testing.assert_array_equal(w.numpy()[..., 2], 0)  # the padded key gets no weight
    # an unbatched (L, E) input gives the batch-of-one result without the batch dim
    out1, w1 = mha(t64(x[:, 0], False), t64(x[:, 0], False), t64(x[:, 0], False),
                   key_padding_mask=padding[0])
    assert out1.shape == (3, 4) and w1.shape == (3, 3)
    np.testing.assert_allclose(out1.numpy(), out.numpy()[:, 0], atol=1e-12)
    np.testing.assert_allclose(w1.numpy(), w.numpy()[0].mean(axis=0), atol=1e-12)
    assert mha(t64(x, False), t64(x, False), t64(x, False), need_weights=False)[1] is None


def test_mha_kdim_vdim_use_separate_projections(rng):
    mha = nn.MultiheadAttention(4, 2, kdim=3, vdim=5, batch_first=True).double()
    assert list(mha.state_dict()) == ["q_proj_weight", "k_proj_weight", "v_proj_weight",
                                      "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    assert mha.in_proj_weight is None and mha.k_proj_weight.shape == (4, 3)
    q, k, v = (t64(rng.standard_normal((2, n, e))) for n, e in ((3, 4), (5, 3), (5, 5)))
    out = mha(q, k, v)[0].numpy()
    b = mha.in_proj_bias.numpy()

    def heads(x, w, rows):
        return (x.numpy() @ w.numpy().T + b[rows]).reshape(2, -1, 2, 2).transpose(0, 2, 1, 3)

    o = naive_attention(heads(q, mha.q_proj_weight, slice(0, 4)),
                        heads(k, mha.k_proj_weight, slice(4, 8)),
                        heads(v, mha.v_proj_weight, slice(8, 12)))
    expected = o.transpose(0, 2, 1, 3).reshape(2, 3, 4) @ mha.out_proj.weight.numpy().T
    np.testing.assert_allclose(out, expected + mha.out_proj.bias.numpy(), atol=1e-12)
    assert minigrad.gradcheck(lambda q, k, v: mha(q, k, v, need_weights=False)[0], [q, k, v])
    with pytest.raises(NotImplementedError, match="add_bias_kv"):
        nn.MultiheadAttention(4, 2, add_bias_kv=True)


def test_mha_gradcheck_inputs_and_parameters(rng):
    mha = nn.MultiheadAttention(4, 2, batch_first=True).double()
    x = t64(rng.standard_normal((2, 3, 4)))
    kv = t64(rng.standard_normal((2, 4, 4)))
    padding = np.array([[False, False, False, True], [False, True, False, False]])
    assert minigrad.gradcheck(lambda x, kv: mha(x, kv, kv, key_padding_mask=padding)[0],
                              [x, kv])
    assert minigrad.gradcheck(lambda *ps: mha(x, x, x, is_causal=True)[0],
                              list(mha.parameters()))


def test_mha_3d_attn_mask_is_per_batch_then_head(rng):
    # PyTorch: a 3-D attn_mask (N·num_heads, L, S) holds the mask of batch b, head h at row
    # b·num_heads + h; checked against a loop over (b, h) for boolean and float masks
    n, h, lq, s, e = 2, 3, 4, 5, 6
    mha = nn.MultiheadAttention(e, h, batch_first=True).double()
    mha.in_proj_bias._data[:] = rng.standard_normal(3 * e)
    x, kv = rng.standard_normal((n, lq, e)), rng.standard_normal((n, s, e))
    forbidden = rng.random((n * h, lq, s)) > 0.6
    forbidden[:, :, 0] = False  # every query sees at least one key
    additive = rng.standard_normal((n * h, lq, s))
    w, b, d = mha.in_proj_weight.numpy(), mha.in_proj_bias.numpy(), e // h
    for mask in (forbidden, additive):
        heads, weights = np.zeros((n, lq, e)), np.zeros((n, h, lq, s))
        for bi in range(n):
            for hi in range(h):
                rows = [slice(j * e + hi * d, j * e + (hi + 1) * d) for j in range(3)]
                q_bh = x[bi] @ w[rows[0]].T + b[rows[0]]
                k_bh = kv[bi] @ w[rows[1]].T + b[rows[1]]
                v_bh = kv[bi] @ w[rows[2]].T + b[rows[2]]
                scores = q_bh @ k_bh.T / math.sqrt(d)
                m = mask[bi * h + hi]
                scores = np.where(m, -np.inf, scores) if m.dtype == bool else scores + m
                p = np.exp(scores - scores.max(axis=-1, keepdims=True))
                p /= p.sum(axis=-1, keepdims=True)
                weights[bi, hi] = p
                heads[bi, :, hi * d:(hi + 1) * d] = p @ v_bh
        expected = heads @ mha.out_proj.weight.numpy().T + mha.out_proj.bias.numpy()
        out, got = mha(t64(x, False), t64(kv, False), t64(kv, False), attn_mask=mask,
                       average_attn_weights=False)
        np.testing.assert_allclose(out.numpy(), expected, atol=1e-12, err_msg=str(mask.dtype))
        np.testing.assert_allclose(got.numpy(), weights, atol=1e-12, err_msg=str(mask.dtype))


def test_mha_errors():
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    x = minigrad.randn(2, 4, 8)
    with pytest.raises(ValueError, match=r"MultiheadAttention: expected query with embed_dim 8 .*got shape \(2, 4, 6\)"):
        mha(minigrad.randn(2, 4, 6), x, x)
    with pytest.raises(ValueError, match=r"attn_mask must have shape \(4, 4\) or \(4, 4, 4\), got \(3, 4\)"):
        mha(x, x, x, attn_mask=np.zeros((3, 4), bool))
    with pytest.raises(ValueError, match=r"key_padding_mask must have shape \(2, 4\)"):
        mha(x, x, x, key_padding_mask=np.zeros((4, 2), bool))
    with pytest.raises(ValueError, match="divisible"):
        nn.MultiheadAttention(8, 3)


# ----------------------------------------------------------------------------- positions, blocks, LM


def test_positional_encoding_values():
    pe = nn.PositionalEncoding(6, max_len=10)
    x = minigrad.zeros(1, 4, 6)
    table = pe(x).numpy()[0]
    pos, i = 3, 1  # PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(...)
    assert table[pos, 2 * i] == pytest.approx(math.sin(pos / 10000 ** (2 * i / 6)), abs=1e-6)
    assert table[pos, 2 * i + 1] == pytest.approx(math.cos(pos / 10000 ** (2 * i / 6)), abs=1e-6)
    assert list(pe.state_dict()) == []
    with pytest.raises(ValueError, match="exceeds max_len 10"):
        pe(minigrad.zeros(1, 11, 6))


def test_learned_positional_embedding_gradcheck(rng):
    pos = nn.LearnedPositionalEmbedding(5, 3).double()
    x = t64(rng.standard_normal((2, 4, 3)))
    assert minigrad.gradcheck(lambda x, w: pos(x) * pos(x), [x, pos.weight])
    assert pos.weight.shape == (5, 3)


def test_transformer_block_gradcheck_and_causality(rng):
    block = nn.TransformerBlock(4, 2, 8, dropout=0.0, causal=True).double()
    x = rng.standard_normal((2, 3, 4))
    xs = t64(x)
    assert minigrad.gradcheck(block, [xs])
    assert minigrad.gradcheck(lambda *ps: block(t64(x, False)), list(block.parameters())[:6])
    changed = x.copy()
    changed[:, 2] += 1.0  # a future position must not change earlier outputs
    np.testing.assert_allclose(block(t64(changed, False)).numpy()[:, :2],
                               block(t64(x, False)).numpy()[:, :2], atol=1e-12)


def test_block_mlp_is_tanh_gelu_between_two_linears(rng):
    block = nn.TransformerBlock(8, 2, 16).double()
    x = rng.standard_normal((2, 3, 8))
    h = x @ block.fc1.weight.numpy().T + block.fc1.bias.numpy()
    gelu = 0.5 * h * (1 + np.tanh(np.sqrt(2 / np.pi) * (h + 0.044715 * h**3)))  # GPT-2's GELU
    expected = gelu @ block.fc2.weight.numpy().T + block.fc2.bias.numpy()
    np.testing.assert_allclose(block._mlp(t64(x, False)).numpy(), expected, atol=1e-12)


def test_transformer_lm_forward_causality_and_names(rng):
    lm = nn.TransformerLM(11, d_model=8, n_heads=2, n_layers=2, d_ff=16, max_len=6)
    idx = rng.integers(0, 11, (2, 6))
    logits = lm(minigrad.tensor(idx))
    assert logits.shape == (2, 6, 11)
    other = idx.copy()
    other[:, 4:] = (other[:, 4:] + 1) % 11
    np.testing.assert_allclose(lm(minigrad.tensor(other)).numpy()[:, :4], logits.numpy()[:, :4],
                               atol=1e-5)
    names = set(lm.state_dict())
    assert {"tok_emb.weight", "pos_emb.weight", "blocks.0.attn.in_proj_weight",
            "blocks.1.fc2.bias", "ln_f.weight", "head.weight"} <= names
    with pytest.raises(ValueError, match="sequence length 7 exceeds max_len 6"):
        lm(minigrad.tensor(rng.integers(0, 11, (1, 7))))


def test_transformer_lm_gradcheck_embeddings(rng):
    lm = nn.TransformerLM(7, d_model=4, n_heads=2, n_layers=1, d_ff=8, max_len=4).double()
    idx = rng.integers(0, 7, (2, 4))
    assert minigrad.gradcheck(lambda a, b: lm(idx), [lm.tok_emb.weight, lm.pos_emb.weight])


def test_transformer_lm_generate(rng):
    lm = nn.TransformerLM(11, d_model=8, n_heads=2, n_layers=1, d_ff=16, max_len=5)
    prompt = minigrad.tensor(rng.integers(0, 11, (2, 3)))
    out = lm.generate(prompt, max_new_tokens=6, temperature=0.8, top_k=3)
    assert out.shape == (2, 9)
    np.testing.assert_array_equal(out.numpy()[:, :3], prompt.numpy())
    assert out.numpy().min() >= 0 and out.numpy().max() < 11
    greedy = lm.generate(prompt, 4, temperature=0)
    np.testing.assert_array_equal(lm.generate(prompt, 4, top_k=1).numpy(), greedy.numpy())
    first = lm(prompt).numpy()[:, -1].argmax(axis=-1)
    np.testing.assert_array_equal(greedy.numpy()[:, 3], first)
    assert lm.training  # generate restores the mode


def test_tiny_lm_learns_a_repeating_sequence():
    lm = nn.TransformerLM(5, d_model=16, n_heads=2, n_layers=1, d_ff=32, max_len=8)
    seq = np.tile(np.arange(5), 4)[None, :9]
    x, y = minigrad.tensor(seq[:, :-1]), seq[:, 1:]
    opt = minigrad.optim.AdamW(lm.parameters(), lr=0.01)
    for _ in range(60):
        opt.zero_grad()
        loss = F.cross_entropy(lm(x).reshape(-1, 5), y.reshape(-1))
        loss.backward()
        opt.step()
    assert loss.item() < 0.1
    out = lm.generate(minigrad.tensor([[0, 1]]), 5, temperature=0)
    np.testing.assert_array_equal(out.numpy()[0], [0, 1, 2, 3, 4, 0, 1])
