"""scaled_dot_product_attention (issue 10): the float attn_mask gets its gradient (the
gradient of the scores), grouped-query attention (``enable_gqa=True``), and PyTorch's
error types. Forward values against a NumPy reference of PyTorch's documented formula
``softmax(Q Kᵀ / √E + M) V``; gradients by float64 gradcheck."""

import math

import numpy as np
import pytest

import minigrad
import minigrad.nn.functional as F
from minigrad import gradcheck


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def t64(a, requires_grad=True):
    return minigrad.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def sdpa_np(q, k, v, mask=None, scale=None, causal=False):
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ np.swapaxes(k, -1, -2) * scale
    if causal:
        s = np.where(np.tril(np.ones(s.shape[-2:], dtype=bool)), s, -np.inf)
    if mask is not None:
        s = s + mask
    p = np.exp(s - s.max(-1, keepdims=True))
    return (p / p.sum(-1, keepdims=True)) @ v


# ============================================================================ float mask gradient


@pytest.mark.parametrize("mask_shape", [(3, 4), (2, 1, 3, 4), (2, 2, 3, 4)])
def test_float_mask_gets_its_gradient(rng, mask_shape):
    q, k, v = rng.standard_normal((2, 2, 3, 5)), rng.standard_normal((2, 2, 4, 5)), rng.standard_normal((2, 2, 4, 6))
    m = rng.standard_normal(mask_shape)
    got = F.scaled_dot_product_attention(t64(q, False), t64(k, False), t64(v, False), attn_mask=t64(m, False))
    np.testing.assert_allclose(got.numpy(), sdpa_np(q, k, v, m), rtol=1e-12)
    mask = t64(m)
    assert gradcheck(lambda a, b, c, d: F.scaled_dot_product_attention(a, b, c, attn_mask=d),
                     [t64(q), t64(k), t64(v), mask])
    F.scaled_dot_product_attention(t64(q), t64(k), t64(v), attn_mask=mask).sum().backward()
    assert mask.grad.shape == mask_shape


def test_float_mask_gradient_is_the_score_gradient(rng):
    """dL/dM = dL/dS: the mask and a bias added to Q Kᵀ outside the op get the same gradient."""
    q, k, v = t64(rng.standard_normal((3, 4))), t64(rng.standard_normal((5, 4))), t64(rng.standard_normal((5, 2)))
    m = t64(rng.standard_normal((3, 5)))
    F.scaled_dot_product_attention(q, k, v, attn_mask=m, scale=0.5).sum().backward()
    b = t64(m.numpy())
    out = ((q @ k.transpose(0, 1)) * 0.5 + b).softmax(-1) @ v
    out.sum().backward()
    np.testing.assert_allclose(m.grad.numpy(), b.grad.numpy(), rtol=1e-10)


def test_float_mask_with_minus_inf_has_zero_gradient_there(rng):
    q, k, v = (t64(rng.standard_normal((3, 4))) for _ in range(3))
    m = np.zeros((3, 3))
    m[0, 1] = -np.inf
    mask = t64(m)
    F.scaled_dot_product_attention(q, k, v, attn_mask=mask).sum().backward()
    g = mask.grad.numpy()
    assert np.isfinite(g).all() and g[0, 1] == 0.0


def test_float32_mask_gets_a_gradient_with_float64_queries(rng):
    q, k, v = (t64(rng.standard_normal((2, 3, 4))) for _ in range(3))
    mask = minigrad.tensor(rng.standard_normal((3, 3)).astype(np.float32), requires_grad=True)
    F.scaled_dot_product_attention(q, k, v, attn_mask=mask).sum().backward()
    assert mask.grad is not None and mask.grad.shape == (3, 3)


def test_boolean_mask_matches_the_causal_reference(rng):
    q, k, v = (t64(rng.standard_normal((3, 4))) for _ in range(3))
    allowed = np.tril(np.ones((3, 3), dtype=bool))
    got = F.scaled_dot_product_attention(q, k, v, attn_mask=minigrad.tensor(allowed))
    np.testing.assert_allclose(got.numpy(), sdpa_np(q.numpy(), k.numpy(), v.numpy(), causal=True),
                               rtol=1e-12)


# ============================================================================ grouped-query attention


@pytest.mark.parametrize("causal", [False, True])
def test_gqa_matches_repeated_heads(rng, causal):
    q = rng.standard_normal((2, 6, 4, 5))
    k, v = rng.standard_normal((2, 2, 4, 5)), rng.standard_normal((2, 2, 4, 3))
    got = F.scaled_dot_product_attention(t64(q, False), t64(k, False), t64(v, False),
                                         is_causal=causal, enable_gqa=True)
    # PyTorch: key/value heads repeated to the query heads with repeat_interleave on dim -3
    expected = sdpa_np(q, np.repeat(k, 3, axis=-3), np.repeat(v, 3, axis=-3), causal=causal)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)
    assert gradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, is_causal=causal,
                                                                    enable_gqa=True),
                     [t64(q), t64(k), t64(v)])


def test_gqa_with_float_mask_and_broadcast_batch(rng):
    q = rng.standard_normal((2, 4, 3, 5))
    k, v = rng.standard_normal((2, 3, 5)), rng.standard_normal((2, 3, 2))  # no batch dim: broadcasts
    m = rng.standard_normal((4, 1, 3))
    got = F.scaled_dot_product_attention(t64(q, False), t64(k, False), t64(v, False),
                                         attn_mask=t64(m, False), enable_gqa=True)
    np.testing.assert_allclose(got.numpy(), sdpa_np(q, np.repeat(k, 2, 0), np.repeat(v, 2, 0), m),
                               rtol=1e-12)
    assert gradcheck(lambda a, b, c, d: F.scaled_dot_product_attention(a, b, c, attn_mask=d,
                                                                       enable_gqa=True),
                     [t64(q), t64(k), t64(v), t64(m)])


def test_gqa_with_equal_heads_is_plain_attention(rng):
    q, k, v = (rng.standard_normal((1, 2, 3, 4)) for _ in range(3))
    plain = F.scaled_dot_product_attention(t64(q, False), t64(k, False), t64(v, False))
    gqa = F.scaled_dot_product_attention(t64(q, False), t64(k, False), t64(v, False), enable_gqa=True)
    np.testing.assert_array_equal(plain.numpy(), gqa.numpy())


# ============================================================================ errors: PyTorch's types


def test_attention_errors_are_runtime_errors():
    q, k = minigrad.randn(1, 4, 3, 8), minigrad.randn(1, 2, 3, 8)
    with pytest.raises(RuntimeError, match=r"scaled_dot_product_attention: .*do not broadcast.*enable_gqa"):
        F.scaled_dot_product_attention(q, k, k)
    with pytest.raises(RuntimeError, match=r"query heads \(4\) must be a multiple.*key 3"):
        F.scaled_dot_product_attention(q, minigrad.randn(1, 3, 3, 8), minigrad.randn(1, 3, 3, 8),
                                       enable_gqa=True)
    with pytest.raises(RuntimeError, match=r"key 2, value 1"):
        F.scaled_dot_product_attention(q, k, minigrad.randn(1, 1, 3, 8), enable_gqa=True)
    with pytest.raises(RuntimeError, match=r"expected query .*query \(1, 4, 3, 8\), key \(1, 4, 3, 7\)"):
        F.scaled_dot_product_attention(q, minigrad.randn(1, 4, 3, 7), q)
    with pytest.raises(RuntimeError, match="not both"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=minigrad.zeros(3, 3), is_causal=True)
    with pytest.raises(RuntimeError, match=r"attn_mask of shape \(2, 3\) does not broadcast"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=minigrad.zeros(2, 3))
