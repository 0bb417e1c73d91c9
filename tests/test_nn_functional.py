"""Losses and functional ops: closed-form values, stability, gradchecks, errors."""

import numpy as np
import pytest

import minigrad
import minigrad.nn.functional as F

pytestmark = pytest.mark.mlp

F64 = minigrad.float64


def t64(array, requires_grad=True):
    return minigrad.tensor(np.asarray(array, dtype=np.float64), requires_grad=requires_grad)


def log_softmax_np(z, axis=-1):
    m = z.max(axis=axis, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=axis, keepdims=True))


def reduce_np(loss, reduction, denom=None):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / (loss.size if denom is None else denom)


# ============================================================================ cross-entropy


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_matches_closed_form(rng, reduction):
    z = rng.standard_normal((6, 4))
    y = np.array([0, 3, 1, 1, 2, 0])
    loss = F.cross_entropy(t64(z, False), minigrad.tensor(y), reduction=reduction)
    expected = np.log(np.exp(z).sum(axis=1)) - z[np.arange(6), y]  # logsumexp(z) - z_y
    np.testing.assert_allclose(loss.numpy(), reduce_np(expected, reduction), rtol=1e-12)


def test_cross_entropy_weights_ignore_index_and_smoothing_match_closed_form(rng):
    z = rng.standard_normal((5, 3))
    y = np.array([2, -100, 0, 1, 2])
    w = np.array([0.5, 2.0, 1.5])
    eps = 0.2
    loss = F.cross_entropy(t64(z, False), minigrad.tensor(y), weight=w, label_smoothing=eps)
    logp = log_softmax_np(z)
    keep = y != -100
    ys = np.where(keep, y, 0)
    per_row = (1 - eps) * w[ys] * -logp[np.arange(5), ys] + eps / 3 * (w * -logp).sum(axis=1)
    expected = (per_row * keep).sum() / w[ys][keep].sum()
    assert loss.item() == pytest.approx(expected, rel=1e-12)


def test_cross_entropy_spatial_targets_match_per_pixel_loss(rng):
    z = rng.standard_normal((2, 3, 4, 5))  # (N, C, H, W)
    y = rng.integers(0, 3, size=(2, 4, 5))
    loss = F.cross_entropy(t64(z, False), minigrad.tensor(y), reduction="none")
    logp = log_softmax_np(z, axis=1)
    expected = -np.take_along_axis(logp, y[:, None], axis=1)[:, 0]
    assert loss.shape == (2, 4, 5)
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-12)


def test_cross_entropy_is_stable_for_huge_logits():
    z = t64([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]])
    loss = F.cross_entropy(z, minigrad.tensor([0, 0]), reduction="none")
    np.testing.assert_allclose(loss.numpy(), [0.0, 2e4 + np.log(2)], rtol=1e-12)
    loss.sum().backward()
    # softmax(z) - onehot(y), exact even at ±1e4: row 0 softmax (1, 0, 0), row 1 (0, ½, ½)
    np.testing.assert_allclose(z.grad.numpy(), [[0.0, 0.0, 0.0], [-1.0, 0.5, 0.5]], atol=1e-15)
    np.testing.assert_allclose(z.grad.numpy(), [[0, 0, 0], [-1, 0.5, 0.5]], atol=1e-12)


def test_cross_entropy_gradient_is_softmax_minus_onehot_over_n(rng):
    z = t64(rng.standard_normal((4, 3)))
    y = np.array([0, 2, 1, 1])
    F.cross_entropy(z, minigrad.tensor(y)).backward()
    p = np.exp(log_softmax_np(z.numpy()))
    np.testing.assert_allclose(z.grad.numpy(), (p - np.eye(3)[y]) / 4, rtol=1e-12)


def test_cross_entropy_float32_stays_float32(rng):
    z = minigrad.tensor(rng.standard_normal((8, 10)).astype(np.float32), requires_grad=True)
    loss = F.cross_entropy(z, minigrad.randint(0, 10, (8,)))
    loss.backward()
    assert loss.dtype == np.float32 and z.grad.dtype == np.float32


@pytest.mark.gradcheck
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", [
    {}, {"ignore_index": 1}, {"label_smoothing": 0.3}, {"weight": [0.3, 1.0, 2.0, 0.7]},
    {"weight": [0.3, 1.0, 2.0, 0.7], "label_smoothing": 0.1, "ignore_index": 3},
])
def test_cross_entropy_gradcheck(rng, reduction, options):
    z = t64(rng.standard_normal((5, 4)))
    y = minigrad.tensor([0, 1, 3, 2, 1])
    assert minigrad.gradcheck(lambda z: F.cross_entropy(z, y, reduction=reduction, **options), [z])


@pytest.mark.gradcheck
def test_cross_entropy_gradcheck_spatial_and_single_sample(rng):
    z = t64(rng.standard_normal((2, 3, 2, 2)))
    y = minigrad.tensor(rng.integers(0, 3, size=(2, 2, 2)))
    assert minigrad.gradcheck(lambda z: F.cross_entropy(z, y, label_smoothing=0.2), [z])
    v = t64(rng.standard_normal(4))
    assert minigrad.gradcheck(lambda v: F.cross_entropy(v, minigrad.tensor(2)), [v])


# ============================================================================ nll_loss


def test_nll_loss_of_log_softmax_equals_cross_entropy(rng):
    z = t64(rng.standard_normal((6, 5)), False)
    y = minigrad.tensor(rng.integers(0, 5, size=6))
    w = rng.uniform(0.5, 2, size=5)
    a = F.nll_loss(F.log_softmax(z, dim=1), y, weight=w)
    b = F.cross_entropy(z, y, weight=w)
    assert a.item() == pytest.approx(b.item(), rel=1e-12)


@pytest.mark.gradcheck
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_gradcheck(rng, reduction):
    x = t64(rng.standard_normal((4, 3)))
    y = minigrad.tensor([0, 2, -100, 1])
    w = [1.0, 0.5, 2.0]
    assert minigrad.gradcheck(lambda x: F.nll_loss(x, y, weight=w, reduction=reduction), [x])


# ============================================================================ binary losses


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_matches_closed_form(rng, reduction):
    p = rng.uniform(0.05, 0.95, size=(4, 3))
    y = rng.uniform(0, 1, size=(4, 3))
    loss = F.binary_cross_entropy(t64(p, False), t64(y, False), reduction=reduction)
    expected = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    np.testing.assert_allclose(loss.numpy(), reduce_np(expected, reduction), rtol=1e-12)


def test_binary_cross_entropy_clamps_log_at_minus_100():
    p = t64([0.0, 1.0, 0.0, 0.25, 0.25])
    y = t64([1.0, 0.0, 0.0, 1.0, 0.5])
    loss = F.binary_cross_entropy(p, y, reduction="none")
    np.testing.assert_allclose(loss.numpy(), [100.0, 100.0, 0.0, -np.log(0.25),
                                              -0.5 * (np.log(0.25) + np.log(0.75))], rtol=1e-12)
    loss.sum().backward()
    # PyTorch's gradient: (p - y) / max(p (1 - p), 1e-12), so ∓1e12 at the clamped ends and
    # 0 where p = y = 0; inside (0, 1) the exact (p - y) / (p (1 - p)): -0.75/0.1875 = -4
    np.testing.assert_allclose(p.grad.numpy(), [-1e12, 1e12, 0.0, -4.0, (0.25 - 0.5) / 0.1875],
                               rtol=1e-12)
    # the target's gradient from the clamped logs: log(1 - p) - log p
    np.testing.assert_allclose(y.grad.numpy(), [100.0, -100.0, 100.0, np.log(3), np.log(3)],
                               rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits_matches_closed_form(rng, reduction):
    x = rng.standard_normal((3, 4)) * 3
    y = rng.integers(0, 2, size=(3, 4)).astype(float)
    pw = np.array([1.0, 2.0, 0.5, 3.0])
    loss = F.binary_cross_entropy_with_logits(t64(x, False), t64(y, False), reduction=reduction,
                                              pos_weight=pw)
    s = 1 / (1 + np.exp(-x))
    expected = -(pw * y * np.log(s) + (1 - y) * np.log(1 - s))
    np.testing.assert_allclose(loss.numpy(), reduce_np(expected, reduction), rtol=1e-10)


def test_bce_with_logits_is_stable_for_huge_logits():
    x = t64([1e4, -1e4, 1e4, -1e4])
    loss = F.binary_cross_entropy_with_logits(x, t64([0.0, 1.0, 1.0, 0.0], False),
                                              reduction="none")
    np.testing.assert_allclose(loss.numpy(), [1e4, 1e4, 0.0, 0.0])
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, -1.0, 0.0, 0.0])


@pytest.mark.gradcheck
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", [{}, {"pos_weight": [2.0, 0.5, 1.0]},
                                     {"weight": [[1.0, 2.0, 0.5]], "pos_weight": [3.0, 1, 1]}])
def test_bce_with_logits_gradcheck(rng, reduction, options):
    x = t64(rng.standard_normal((4, 3)) * 2)
    y = t64(rng.uniform(0, 1, size=(4, 3)), False)
    assert minigrad.gradcheck(
        lambda x: F.binary_cross_entropy_with_logits(x, y, reduction=reduction, **options), [x])


@pytest.mark.gradcheck
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_gradcheck(rng, reduction):
    p = t64(rng.uniform(0.1, 0.9, size=(3, 4)))
    y = t64(rng.uniform(0, 1, size=(3, 4)), False)
    w = rng.uniform(0.5, 2, size=(3, 4))
    assert minigrad.gradcheck(
        lambda p: F.binary_cross_entropy(p, y, weight=w, reduction=reduction), [p])


# ============================================================================ regression losses


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_and_l1_match_closed_form(rng, reduction):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    mse = F.mse_loss(t64(a, False), t64(b, False), reduction=reduction)
    l1 = F.l1_loss(t64(a, False), t64(b, False), reduction=reduction)
    np.testing.assert_allclose(mse.numpy(), reduce_np((a - b) ** 2, reduction), rtol=1e-12)
    np.testing.assert_allclose(l1.numpy(), reduce_np(np.abs(a - b), reduction), rtol=1e-12)


@pytest.mark.gradcheck
@pytest.mark.parametrize("loss", [F.mse_loss, F.l1_loss])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_losses_gradcheck_both_inputs(rng, loss, reduction):
    a = t64(rng.standard_normal((3, 2)))
    b = t64(rng.standard_normal((3, 2)))
    assert minigrad.gradcheck(lambda a, b: loss(a, b, reduction=reduction), [a, b])


# ============================================================================ other functions


@pytest.mark.gradcheck
def test_linear_gradcheck(rng):
    x = t64(rng.standard_normal((2, 3, 4)))
    w = t64(rng.standard_normal((5, 4)))
    b = t64(rng.standard_normal(5))
    assert minigrad.gradcheck(F.linear, [x, w, b])
    assert minigrad.gradcheck(lambda x, w: F.linear(x, w), [x, w])
    out = F.linear(x, w, b).numpy()
    np.testing.assert_allclose(out, x.numpy() @ w.numpy().T + b.numpy(), rtol=1e-12)


def test_dropout_functional(rng):
    x = minigrad.ones(1000, 100)
    y = F.dropout(x, 0.3, training=True).numpy()
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.7)}
    assert abs((y == 0).mean() - 0.3) < 0.01
    assert F.dropout(x, 0.3, training=False) is x
    assert (F.dropout(x, 1.0).numpy() == 0).all()
    with pytest.raises(ValueError, match="dropout: p must be in"):
        F.dropout(x, 1.5)


def test_dropout_gradient_uses_the_same_mask():
    x = minigrad.ones(50, 40, requires_grad=True)
    y = F.dropout(x, 0.5)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.numpy())


def test_one_hot():
    out = F.one_hot(minigrad.tensor([2, 0, 1]), num_classes=4)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.numpy(), np.eye(4, dtype=np.int64)[[2, 0, 1]])
    assert F.one_hot(minigrad.tensor([[1], [3]])).shape == (2, 1, 4)
    with pytest.raises(RuntimeError, match="one_hot"):  # PyTorch: RuntimeError (class values too large)
        F.one_hot(minigrad.tensor([5]), num_classes=3)


# ============================================================================ errors


def test_cross_entropy_errors():
    z = minigrad.randn(4, 10)
    with pytest.raises(ValueError, match=r"input \(4, 10\) and target \(5,\) disagree in batch"):
        F.cross_entropy(z, minigrad.tensor([0, 1, 2, 3, 4]))
    with pytest.raises(IndexError, match=r"target values must be in \[0, 10\).*max 10"):
        F.cross_entropy(z, minigrad.tensor([0, 1, 2, 10]))
    with pytest.raises(TypeError, match="integer class indices.*float32"):
        F.cross_entropy(z, minigrad.tensor([0.0, 1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="reduction must be"):
        F.cross_entropy(z, minigrad.tensor([0, 1, 2, 3]), reduction="avg")
    with pytest.raises(ValueError, match=r"weight must have shape \(10,\)"):
        F.cross_entropy(z, minigrad.tensor([0, 1, 2, 3]), weight=np.ones(3))


def test_loss_shape_and_range_errors():
    with pytest.raises(ValueError, match=r"mse_loss: input \(4, 1\) and target \(4,\)"):
        F.mse_loss(minigrad.randn(4, 1), minigrad.randn(4))
    with pytest.raises(ValueError, match="binary_cross_entropy: input must be probabilities"):
        F.binary_cross_entropy(minigrad.tensor([0.5, 1.5]), minigrad.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="pos_weight of shape"):
        F.binary_cross_entropy_with_logits(minigrad.randn(4, 3), minigrad.rand(4, 3),
                                           pos_weight=np.ones(2))
