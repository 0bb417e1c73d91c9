"""PyTorch's nn.Transformer family: loop references in float64, gradchecks, masks, names."""

import math

import numpy as np
import pytest

import minigrad
import minigrad.nn.functional as F
from minigrad import nn

pytestmark = pytest.mark.transformer

# PyTorch 2.x's state_dict keys (written down from torch.nn.TransformerEncoderLayer(8, 2, 16),
# TransformerDecoderLayer(8, 2, 16) and Transformer(8, 2, 1, 1, 16))
TORCH_ENCODER_LAYER_KEYS = [
    "self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
    "self_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight",
    "linear2.bias", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"]
TORCH_DECODER_LAYER_KEYS = [
    "self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
    "self_attn.out_proj.bias", "multihead_attn.in_proj_weight", "multihead_attn.in_proj_bias",
    "multihead_attn.out_proj.weight", "multihead_attn.out_proj.bias", "linear1.weight",
    "linear1.bias", "linear2.weight", "linear2.bias", "norm1.weight", "norm1.bias",
    "norm2.weight", "norm2.bias", "norm3.weight", "norm3.bias"]
TORCH_ENCODER_LAYER_NO_BIAS_KEYS = [
    "self_attn.in_proj_weight", "self_attn.out_proj.weight", "linear1.weight", "linear2.weight",
    "norm1.weight", "norm2.weight"]
TORCH_TRANSFORMER_KEYS = (
    ["encoder.layers.0." + k for k in TORCH_ENCODER_LAYER_KEYS]
    + ["encoder.norm.weight", "encoder.norm.bias"]
    + ["decoder.layers.0." + k for k in TORCH_DECODER_LAYER_KEYS]
    + ["decoder.norm.weight", "decoder.norm.bias"])


def t64(array, requires_grad=False):
    return minigrad.tensor(np.ascontiguousarray(array, dtype=np.float64),
                           requires_grad=requires_grad)


def randomize(module, rng):
    """Every parameter to N(0, 0.5²) (LayerNorm weights and biases too), in float64."""
    module.double()
    for p in module.parameters():
        p._data[...] = rng.normal(0, 0.5, p.shape)
    return module


# ----------------------------------------------------------------------------- NumPy reference


def ref_layer_norm(x, w, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + (0 if b is None else b)


def ref_mha(mha, q, k, v, forbidden=None):
    """PyTorch's MHA equations, batch first (N, L, E), one head and one query at a time.

    ``forbidden`` broadcasts to (N, L, S): True = may not attend.
    """
    e, h = mha.embed_dim, mha.num_heads
    d = e // h
    w = mha.in_proj_weight.numpy()
    b = np.zeros(3 * e) if mha.in_proj_bias is None else mha.in_proj_bias.numpy()
    qp, kp, vp = (x @ w[i * e:(i + 1) * e].T + b[i * e:(i + 1) * e] for i, x in enumerate((q, k, v)))
    n, lq, s = q.shape[0], q.shape[1], k.shape[1]
    forbidden = np.broadcast_to(np.zeros((n, lq, s), bool) if forbidden is None else forbidden,
                                (n, lq, s))
    out = np.zeros((n, lq, e))
    for i in range(n):
        for head in range(h):
            cols = slice(head * d, (head + 1) * d)
            for t in range(lq):
                scores = kp[i, :, cols] @ qp[i, t, cols] / math.sqrt(d)
                scores = np.where(forbidden[i, t], -np.inf, scores)
                p = np.exp(scores - scores.max())
                out[i, t, cols] = (p / p.sum()) @ vp[i, :, cols]
    bo = 0 if mha.out_proj.bias is None else mha.out_proj.bias.numpy()
    return out @ mha.out_proj.weight.numpy().T + bo


def ref_linear(layer, x):
    return x @ layer.weight.numpy().T + (0 if layer.bias is None else layer.bias.numpy())


def ref_norm(norm, x):
    return ref_layer_norm(x, norm.weight.numpy(), None if norm.bias is None else norm.bias.numpy(),
                          norm.eps)


def ref_ff(layer, x, act):
    return ref_linear(layer.linear2, act(ref_linear(layer.linear1, x)))


def ref_encoder_layer(layer, x, forbidden=None, act=lambda h: np.maximum(h, 0)):
    """PyTorch's documented TransformerEncoderLayer (dropout off), batch first."""
    def sa(y):
        return ref_mha(layer.self_attn, y, y, y, forbidden)

    if layer.norm_first:
        x = x + sa(ref_norm(layer.norm1, x))
        return x + ref_ff(layer, ref_norm(layer.norm2, x), act)
    x = ref_norm(layer.norm1, x + sa(x))
    return ref_norm(layer.norm2, x + ref_ff(layer, x, act))


def ref_decoder_layer(layer, x, mem, tgt_forbidden=None, mem_forbidden=None):
    """PyTorch's documented TransformerDecoderLayer (dropout off, ReLU), batch first."""
    def sa(y):
        return ref_mha(layer.self_attn, y, y, y, tgt_forbidden)

    def ca(y):
        return ref_mha(layer.multihead_attn, y, mem, mem, mem_forbidden)

    def relu(h):
        return np.maximum(h, 0)

    if layer.norm_first:
        x = x + sa(ref_norm(layer.norm1, x))
        x = x + ca(ref_norm(layer.norm2, x))
        return x + ref_ff(layer, ref_norm(layer.norm3, x), relu)
    x = ref_norm(layer.norm1, x + sa(x))
    x = ref_norm(layer.norm2, x + ca(x))
    return ref_norm(layer.norm3, x + ref_ff(layer, x, relu))


# ----------------------------------------------------------------------------- names and defaults


def test_parameter_names_match_pytorch():
    assert list(nn.TransformerEncoderLayer(8, 2, 16).state_dict()) == TORCH_ENCODER_LAYER_KEYS
    assert list(nn.TransformerDecoderLayer(8, 2, 16).state_dict()) == TORCH_DECODER_LAYER_KEYS
    assert (list(nn.TransformerEncoderLayer(8, 2, 16, bias=False).state_dict())
            == TORCH_ENCODER_LAYER_NO_BIAS_KEYS)
    assert list(nn.Transformer(8, 2, 1, 1, 16).state_dict()) == TORCH_TRANSFORMER_KEYS
    layer = nn.TransformerEncoderLayer(8, 2)
    assert layer.linear1.weight.shape == (2048, 8)  # dim_feedforward=2048
    assert layer.dropout.p == 0.1 and layer.dropout1.p == 0.1 and layer.dropout2.p == 0.1
    assert layer.self_attn.batch_first is False and layer.norm1.eps == 1e-5
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 3, norm=nn.LayerNorm(8))
    assert [k for k in enc.state_dict() if k.endswith("linear1.bias")] == [
        f"layers.{i}.linear1.bias" for i in range(3)]
    assert list(enc.state_dict())[-2:] == ["norm.weight", "norm.bias"]


def test_encoder_clones_are_independent_copies_and_transformer_reinitialises():
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    enc = nn.TransformerEncoder(layer, 2)
    a, b = enc.layers[0].linear1.weight, enc.layers[1].linear1.weight
    assert a is not b and a is not layer.linear1.weight
    np.testing.assert_array_equal(a.numpy(), b.numpy())  # deep copies, as PyTorch
    model = nn.Transformer(8, 2, 2, 2, 16)
    w0, w1 = (model.encoder.layers[i].linear1.weight.numpy() for i in range(2))
    assert not np.array_equal(w0, w1)  # re-initialised, each on its own
    bound = math.sqrt(6 / (16 + 8))  # xavier_uniform_ on every 2-D parameter
    assert np.abs(w0).max() <= bound
    np.testing.assert_array_equal(model.decoder.norm.weight.numpy(), 1)


def test_generate_square_subsequent_mask():
    mask = nn.Transformer.generate_square_subsequent_mask(3)
    expected = np.array([[0, -np.inf, -np.inf], [0, 0, -np.inf], [0, 0, 0]])
    np.testing.assert_array_equal(mask.numpy(), expected)
    assert mask.dtype == np.float32
    assert nn.Transformer.generate_square_subsequent_mask(2, dtype=minigrad.float64).dtype == np.float64
    assert isinstance(nn.Transformer.__dict__["generate_square_subsequent_mask"], staticmethod)


# ----------------------------------------------------------------------------- values


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_matches_reference_with_masks(rng, norm_first):
    layer = randomize(nn.TransformerEncoderLayer(4, 2, 6, norm_first=norm_first), rng).eval()
    x = rng.standard_normal((3, 2, 4))  # (S, N, E), sequence first by default
    xb = x.transpose(1, 0, 2)
    padding = np.array([[False, False, True], [False, False, False]])
    attn = rng.random((3, 3)) > 0.6
    np.fill_diagonal(attn, False)
    cases = [({}, None),
             ({"src_key_padding_mask": padding}, padding[:, None, :]),
             ({"src_mask": attn}, attn),
             ({"src_mask": np.where(attn, -np.inf, 0.0)}, attn),
             ({"src_mask": attn, "src_key_padding_mask": padding}, attn | padding[:, None, :]),
             ({"is_causal": True}, np.triu(np.ones((3, 3), bool), 1))]
    for kwargs, forbidden in cases:
        out = layer(t64(x), **kwargs).numpy()
        expected = ref_encoder_layer(layer, xb, forbidden).transpose(1, 0, 2)
        np.testing.assert_allclose(out, expected, atol=1e-11, err_msg=str(list(kwargs)))


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_reference_with_masks(rng, norm_first):
    layer = randomize(nn.TransformerDecoderLayer(4, 2, 6, norm_first=norm_first,
                                                 batch_first=True), rng).eval()
    tgt, mem = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4))
    causal = nn.Transformer.generate_square_subsequent_mask(3, dtype=minigrad.float64)
    mem_pad = np.array([[False] * 5, [False, False, False, True, True]])
    tgt_pad = np.array([[False, False, True], [False, False, False]])
    out = layer(t64(tgt), t64(mem), tgt_mask=causal, memory_key_padding_mask=mem_pad,
                tgt_key_padding_mask=tgt_pad).numpy()
    tgt_forbidden = np.triu(np.ones((3, 3), bool), 1) | tgt_pad[:, None, :]
    expected = ref_decoder_layer(layer, tgt, mem, tgt_forbidden, mem_pad[:, None, :])
    np.testing.assert_allclose(out, expected, atol=1e-11)
    memory_mask = rng.random((3, 5)) > 0.5
    memory_mask[:, 0] = False
    out = layer(t64(tgt), t64(mem), memory_mask=memory_mask, tgt_is_causal=True).numpy()
    expected = ref_decoder_layer(layer, tgt, mem, np.triu(np.ones((3, 3), bool), 1), memory_mask)
    np.testing.assert_allclose(out, expected, atol=1e-11)


def test_activation_gelu_and_callable(rng):
    x = rng.standard_normal((2, 3, 4))
    def exact_gelu(h):
        return 0.5 * h * (1 + np.vectorize(math.erf)(h / math.sqrt(2)))

    def tanh_gelu(h):
        return 0.5 * h * (1 + np.tanh(math.sqrt(2 / math.pi) * (h + 0.044715 * h**3)))

    # minigrad's erf is a Chebyshev fit with |error| < 1.2e-7, hence the tolerance of "gelu"
    for activation, act, atol in [("gelu", exact_gelu, 1e-6),
                                  (nn.GELU(approximate="tanh"), tanh_gelu, 1e-11),
                                  (F.tanh, np.tanh, 1e-11)]:
        layer = randomize(nn.TransformerEncoderLayer(4, 2, 5, activation=activation,
                                                     batch_first=True), rng).eval()
        np.testing.assert_allclose(layer(t64(x)).numpy(), ref_encoder_layer(layer, x, act=act),
                                   atol=atol, err_msg=str(activation))
    layer = nn.TransformerEncoderLayer(4, 2, 5, activation=nn.ReLU())
    assert "activation" in dict(layer.named_children())  # a Module activation is a child
    assert list(layer.state_dict()) == TORCH_ENCODER_LAYER_KEYS
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not swish"):
        nn.TransformerEncoderLayer(4, 2, activation="swish")


def test_bias_false_layers(rng):
    layer = randomize(nn.TransformerEncoderLayer(4, 2, 6, bias=False, batch_first=True), rng)
    layer.eval()
    assert layer.norm1.bias is None and layer.linear1.bias is None
    x = rng.standard_normal((2, 3, 4))
    np.testing.assert_allclose(layer(t64(x)).numpy(), ref_encoder_layer(layer, x), atol=1e-11)


def test_encoder_decoder_stacks_and_transformer(rng):
    model = randomize(nn.Transformer(4, 2, 2, 1, 6, dropout=0.0), rng)
    src, tgt = rng.standard_normal((5, 2, 4)), rng.standard_normal((3, 2, 4))  # (S, N, E)
    causal = nn.Transformer.generate_square_subsequent_mask(3, dtype=minigrad.float64)
    src_pad = np.array([[False] * 5, [False, False, False, False, True]])
    out = model(t64(src), t64(tgt), tgt_mask=causal, src_key_padding_mask=src_pad,
                memory_key_padding_mask=src_pad)
    assert out.shape == (3, 2, 4)
    # by hand: each encoder layer, the encoder norm, each decoder layer, the decoder norm
    m = src.transpose(1, 0, 2)
    for layer in model.encoder.layers:
        m = ref_encoder_layer(layer, m, src_pad[:, None, :])
    m = ref_norm(model.encoder.norm, m)
    y = ref_decoder_layer(model.decoder.layers[0], tgt.transpose(1, 0, 2), m,
                          np.triu(np.ones((3, 3), bool), 1), src_pad[:, None, :])
    expected = ref_norm(model.decoder.norm, y).transpose(1, 0, 2)
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-10)
    with pytest.raises(RuntimeError, match="batch number of src and tgt must be equal"):
        model(t64(src), t64(tgt[:, :1]))
    with pytest.raises(RuntimeError, match="feature number of src and tgt must be equal to d_model 4"):
        model(t64(src), t64(rng.standard_normal((3, 2, 5))))


def test_tgt_mask_makes_the_decoder_causal(rng):
    model = nn.Transformer(8, 2, 1, 2, 16, dropout=0.0, batch_first=True).double()
    src, tgt = rng.standard_normal((2, 4, 8)), rng.standard_normal((2, 5, 8))
    mask = nn.Transformer.generate_square_subsequent_mask(5, dtype=minigrad.float64)
    changed = tgt.copy()
    changed[:, 3:] += 1.0  # the future must not change positions 0..2
    a = model(t64(src), t64(tgt), tgt_mask=mask).numpy()
    b = model(t64(src), t64(changed), tgt_mask=mask).numpy()
    np.testing.assert_allclose(a[:, :3], b[:, :3], atol=1e-12)
    assert not np.allclose(a[:, 3:], b[:, 3:])
    c = model(t64(src), t64(tgt), tgt_mask=mask, tgt_is_causal=True).numpy()
    np.testing.assert_allclose(c, a, atol=1e-12)  # the hint changes nothing when it is true


def test_batch_first_and_unbatched_inputs_agree(rng):
    layer = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0).double()
    x = rng.standard_normal((3, 2, 4))
    seq_first = layer(t64(x)).numpy()
    layer.self_attn.batch_first = True
    np.testing.assert_allclose(layer(t64(x.transpose(1, 0, 2))).numpy(),
                               seq_first.transpose(1, 0, 2), atol=1e-12)
    np.testing.assert_allclose(layer(t64(x[:, 1])).numpy(), seq_first[:, 1], atol=1e-12)


def test_dropout_only_in_training():
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5)
    x = minigrad.randn(5, 2, 8)
    a = layer(x).numpy()
    assert not np.allclose(a, layer(x).numpy())
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), layer(x).numpy())


# ----------------------------------------------------------------------------- gradients


@pytest.mark.gradcheck
def test_encoder_layer_gradcheck_inputs_and_parameters(rng):
    layer = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, norm_first=True).double()
    x = t64(rng.standard_normal((3, 2, 4)), True)
    padding = np.array([[False, False, True], [False, False, False]])
    assert minigrad.gradcheck(lambda x: layer(x, src_key_padding_mask=padding, is_causal=True), [x])
    post = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0).double()
    xs = t64(rng.standard_normal((3, 2, 4)))
    assert minigrad.gradcheck(lambda *ps: post(xs), list(post.parameters()))


@pytest.mark.gradcheck
def test_decoder_layer_gradcheck_target_memory_and_parameters(rng):
    layer = nn.TransformerDecoderLayer(4, 2, 5, dropout=0.0, batch_first=True).double()
    tgt, mem = t64(rng.standard_normal((2, 3, 4)), True), t64(rng.standard_normal((2, 4, 4)), True)
    mask = nn.Transformer.generate_square_subsequent_mask(3, dtype=minigrad.float64)
    assert minigrad.gradcheck(lambda t, m: layer(t, m, tgt_mask=mask), [tgt, mem])
    params = [layer.multihead_attn.in_proj_weight, layer.norm3.weight, layer.linear1.bias]
    assert minigrad.gradcheck(lambda *ps: layer(tgt, mem, tgt_is_causal=True), params)
