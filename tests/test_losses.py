"""The loss catalogue (issue 10): forward values against NumPy references written from
PyTorch's documented formulas, float64 gradchecks of every differentiable input, PyTorch's
error types, and the ``nn`` modules.

The references below are written out from the formulas in PyTorch's documentation, not
from minigrad's code; CTC is checked against a brute-force sum over every alignment.
"""

import itertools
import math

import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad import gradcheck


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def t64(a, requires_grad=True):
    return minigrad.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def reduce_np(loss, reduction):
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]


def log_softmax_np(z, axis):
    m = z.max(axis=axis, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=axis, keepdims=True))


REDUCTIONS = ("mean", "sum", "none")


# ============================================================================ cross-entropy, probability targets


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probability_targets_matches_reference(rng, reduction):
    z, q = rng.standard_normal((4, 5, 3)), rng.dirichlet(np.ones(5), (4, 3)).transpose(0, 2, 1)
    w, eps = rng.uniform(0.5, 2, 5), 0.2
    q_s = (1 - eps) * q + eps / 5  # PyTorch: smoothing mixes the target with the uniform
    expected = reduce_np(-(w[None, :, None] * q_s * log_softmax_np(z, 1)).sum(axis=1), reduction)
    got = F.cross_entropy(t64(z, False), t64(q, False), weight=w, label_smoothing=eps,
                          reduction=reduction)
    assert got.shape == np.shape(expected)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)


def test_cross_entropy_probability_targets_one_hot_equals_class_targets(rng):
    z, y = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    soft = F.cross_entropy(t64(z, False), t64(np.eye(4)[y], False))
    hard = F.cross_entropy(t64(z, False), minigrad.tensor(y))
    np.testing.assert_allclose(soft.numpy(), hard.numpy(), rtol=1e-12)
    single = F.cross_entropy(t64(z[0], False), t64(np.eye(4)[y[0]], False), reduction="none")
    assert single.shape == ()


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probability_targets_gradcheck(rng, reduction):
    z, q = t64(rng.standard_normal((3, 4, 2))), t64(rng.dirichlet(np.ones(4), (3, 2)).transpose(0, 2, 1))
    w = rng.uniform(0.5, 2, 4)
    assert gradcheck(lambda z, q: F.cross_entropy(z, q, weight=w, label_smoothing=0.1,
                                                  reduction=reduction), [z, q])


def test_nn_cross_entropy_loss_takes_probability_targets(rng):
    z, q = rng.standard_normal((3, 4)), rng.dirichlet(np.ones(4), 3)
    got = nn.CrossEntropyLoss(label_smoothing=0.1)(t64(z, False), t64(q, False))
    np.testing.assert_allclose(got.numpy(), F.cross_entropy(t64(z, False), t64(q, False),
                                                            label_smoothing=0.1).numpy())


# ============================================================================ BCE targets get gradients


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_target_gradient(rng, reduction):
    p, y = t64(rng.uniform(0.05, 0.95, (3, 4))), t64(rng.uniform(0, 1, (3, 4)))
    w = rng.uniform(0.5, 2, (3, 4))
    assert gradcheck(lambda p, y: F.binary_cross_entropy(p, y, weight=w, reduction=reduction), [p, y])
    F.binary_cross_entropy(p, y, reduction="sum").backward()
    # PyTorch's formula: d/dy = log(1 - p) - log(p) = -logit(p)
    np.testing.assert_allclose(y.grad.numpy(), -np.log(p.numpy() / (1 - p.numpy())), rtol=1e-12)


@pytest.mark.parametrize("pos_weight", [None, np.array([0.5, 1.0, 2.0, 3.0])])
def test_bce_with_logits_target_gradient(rng, pos_weight):
    x, y = t64(rng.standard_normal((3, 4))), t64(rng.uniform(0, 1, (3, 4)))
    assert gradcheck(lambda x, y: F.binary_cross_entropy_with_logits(x, y, pos_weight=pos_weight), [x, y])
    if pos_weight is None:
        F.binary_cross_entropy_with_logits(x, y, reduction="sum").backward()
        np.testing.assert_allclose(y.grad.numpy(), -x.numpy(), rtol=1e-12)  # d/dy = -x


# ============================================================================ smooth L1 and Huber


def smooth_l1_np(x, y, beta):
    d = np.abs(x - y)
    return np.abs(x - y) if beta == 0 else np.where(d < beta, 0.5 * d**2 / beta, d - 0.5 * beta)


def huber_np(x, y, delta):
    d = np.abs(x - y)
    return np.where(d < delta, 0.5 * d**2, delta * (d - 0.5 * delta))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0])
def test_smooth_l1_loss(rng, reduction, beta):
    x, y = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    got = F.smooth_l1_loss(t64(x, False), t64(y, False), reduction=reduction, beta=beta)
    np.testing.assert_allclose(got.numpy(), reduce_np(smooth_l1_np(x, y, beta), reduction), rtol=1e-12)
    if beta:  # (beta = 0 is L1, whose kink gradcheck cannot cross safely)
        assert gradcheck(lambda a, b: F.smooth_l1_loss(a, b, reduction=reduction, beta=beta),
                         [t64(x), t64(y)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("delta", [0.5, 2.0])
def test_huber_loss(rng, reduction, delta):
    x, y = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    got = F.huber_loss(t64(x, False), t64(y, False), reduction=reduction, delta=delta)
    np.testing.assert_allclose(got.numpy(), reduce_np(huber_np(x, y, delta), reduction), rtol=1e-12)
    assert gradcheck(lambda a, b: F.huber_loss(a, b, reduction=reduction, delta=delta), [t64(x), t64(y)])
    np.testing.assert_allclose(got.numpy(), delta * F.smooth_l1_loss(
        t64(x, False), t64(y, False), reduction=reduction, beta=delta).numpy(), rtol=1e-12)


# ============================================================================ KL divergence


@pytest.mark.parametrize("reduction", ("mean", "batchmean", "sum", "none"))
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(rng, reduction, log_target):
    x = log_softmax_np(rng.standard_normal((3, 4)), 1)
    y = rng.dirichlet(np.ones(4), 3)
    target = np.log(y) if log_target else y
    pointwise = y * (np.log(y) - x)  # the documented formula
    expected = pointwise.sum() / 3 if reduction == "batchmean" else reduce_np(pointwise, reduction)
    got = F.kl_div(t64(x, False), t64(target, False), reduction=reduction, log_target=log_target)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)
    assert gradcheck(lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target),
                     [t64(x), t64(target)])


def test_kl_div_zero_target_contributes_zero():
    x, y = t64([-1.0, -2.0]), t64([0.0, 1.0])
    got = F.kl_div(x, y, reduction="sum")
    assert got.item() == pytest.approx(0.0 + 1.0 * (math.log(1.0) - -2.0))  # 0 log 0 = 0
    got.backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, -1.0])  # -y
    np.testing.assert_allclose(y.grad.numpy(), [0.0, math.log(1.0) + 1 + 2.0])  # 0 where y = 0


# ============================================================================ Poisson and Gaussian NLL


@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [False, True])
def test_poisson_nll_loss(rng, log_input, full):
    x = rng.standard_normal((3, 4)) if log_input else rng.uniform(0.2, 3, (3, 4))
    y = rng.integers(0, 5, (3, 4)).astype(np.float64) + 0.25  # some <= 1, some > 1
    eps = 1e-8
    loss = np.exp(x) - y * x if log_input else x - y * np.log(x + eps)
    if full:
        loss = loss + np.where(y > 1, y * np.log(y) - y + 0.5 * np.log(2 * np.pi * y), 0)
    for reduction in REDUCTIONS:
        got = F.poisson_nll_loss(t64(x, False), t64(y, False), log_input=log_input, full=full,
                                 reduction=reduction)
        np.testing.assert_allclose(got.numpy(), reduce_np(loss, reduction), rtol=1e-12)
    assert gradcheck(lambda a, b: F.poisson_nll_loss(a, b, log_input=log_input, full=full),
                     [t64(x), t64(y)])


@pytest.mark.parametrize("var_shape", [(3, 4), (3, 1), (3,)])
@pytest.mark.parametrize("full", [False, True])
def test_gaussian_nll_loss(rng, var_shape, full):
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    v = rng.uniform(0.3, 2, var_shape)
    v_b = v.reshape(3, -1)
    loss = 0.5 * (np.log(v_b) + (x - y) ** 2 / v_b) + (0.5 * np.log(2 * np.pi) if full else 0)
    for reduction in REDUCTIONS:
        got = F.gaussian_nll_loss(t64(x, False), t64(y, False), t64(v, False), full=full,
                                  reduction=reduction)
        np.testing.assert_allclose(got.numpy(), reduce_np(loss, reduction), rtol=1e-12)
    assert gradcheck(lambda a, b, c: F.gaussian_nll_loss(a, b, c, full=full), [t64(x), t64(y), t64(v)])


def test_gaussian_nll_loss_clamps_var_and_errors():
    x = t64(np.zeros(3), False)
    got = F.gaussian_nll_loss(x, x, t64(np.zeros(3), False), eps=1e-2, reduction="sum")
    assert got.item() == pytest.approx(3 * 0.5 * math.log(1e-2))
    with pytest.raises(ValueError, match="var is of incorrect size"):
        F.gaussian_nll_loss(t64(np.zeros((3, 4))), t64(np.zeros((3, 4))), t64(np.ones((2, 4))))
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(x, x, t64([1.0, -1.0, 1.0]))


# ============================================================================ margin losses


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_ranking_loss(rng, reduction):
    x1, x2 = rng.standard_normal(8), rng.standard_normal(8)
    y = np.where(rng.uniform(size=8) < 0.5, 1.0, -1.0)
    expected = reduce_np(np.maximum(0, -y * (x1 - x2) + 0.3), reduction)
    got = F.margin_ranking_loss(t64(x1, False), t64(x2, False), t64(y, False), margin=0.3,
                                reduction=reduction)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)
    assert gradcheck(lambda a, b, c: F.margin_ranking_loss(a, b, c, margin=0.3, reduction=reduction),
                     [t64(x1), t64(x2), t64(y)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_hinge_embedding_loss(rng, reduction):
    x = rng.uniform(0, 2, (3, 4))
    y = np.where(rng.uniform(size=(3, 4)) < 0.5, 1.0, -1.0)
    expected = reduce_np(np.where(y == 1, x, np.maximum(0, 1.5 - x)), reduction)
    got = F.hinge_embedding_loss(t64(x, False), t64(y, False), margin=1.5, reduction=reduction)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)
    assert gradcheck(lambda a: F.hinge_embedding_loss(a, y, margin=1.5, reduction=reduction), [t64(x)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cosine_embedding_loss(rng, reduction):
    a, b = rng.standard_normal((6, 5)), rng.standard_normal((6, 5))
    y = np.array([1.0, -1, 1, -1, -1, 1])
    cos = (a * b).sum(1) / np.sqrt(((a * a).sum(1) + 1e-12) * ((b * b).sum(1) + 1e-12))
    expected = reduce_np(np.where(y == 1, 1 - cos, np.maximum(0, cos + 0.2)), reduction)
    got = F.cosine_embedding_loss(t64(a, False), t64(b, False), t64(y, False), margin=-0.2,
                                  reduction=reduction)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)
    assert gradcheck(lambda p, q: F.cosine_embedding_loss(p, q, y, margin=-0.2, reduction=reduction),
                     [t64(a), t64(b)])
    one = F.cosine_embedding_loss(t64(a[0], False), t64(b[0], False), t64(1.0, False), reduction="none")
    assert one.shape == () and one.item() == pytest.approx(1 - cos[0])


def pairwise_distance_np(u, v, p, eps):
    return (np.abs(u - v + eps) ** p).sum(-1) ** (1 / p)


@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("p", [1.5, 2.0, 3.0])
def test_triplet_margin_loss(rng, swap, p):
    a, pos, neg = (rng.standard_normal((6, 4)) for _ in range(3))
    d_pos, d_neg = pairwise_distance_np(a, pos, p, 1e-6), pairwise_distance_np(a, neg, p, 1e-6)
    if swap:
        d_neg = np.minimum(d_neg, pairwise_distance_np(pos, neg, p, 1e-6))
    loss = np.maximum(2.0 + d_pos - d_neg, 0)
    for reduction in REDUCTIONS:
        got = F.triplet_margin_loss(t64(a, False), t64(pos, False), t64(neg, False), margin=2.0,
                                    p=p, swap=swap, reduction=reduction)
        np.testing.assert_allclose(got.numpy(), reduce_np(loss, reduction), rtol=1e-12)
    assert gradcheck(lambda x, y, z: F.triplet_margin_loss(x, y, z, margin=2.0, p=p, swap=swap),
                     [t64(a), t64(pos), t64(neg)])


def test_triplet_swap_routes_gradient_to_positive_and_negative():
    a, pos, neg = t64([[0.0, 0.0]]), t64([[3.0, 0.0]]), t64([[3.5, 0.0]])  # d(p,q) < d(a,q)
    F.triplet_margin_loss(a, pos, neg, margin=1.0, swap=True, eps=0.0).backward()
    np.testing.assert_allclose(a.grad.numpy(), [[-1.0, 0.0]])  # only through d(a, p)
    np.testing.assert_allclose(neg.grad.numpy(), [[-1.0, 0.0]])  # through d(p, q): away from p
    np.testing.assert_allclose(pos.grad.numpy(), [[2.0, 0.0]])  # toward a, away from q


# ============================================================================ CTC


def ctc_brute_force(lp, label, blank):
    """-log Σ over every path π in C^T whose collapse (merge repeats, drop blanks) is ``label``."""
    T, C = lp.shape
    total = 0.0
    for path in itertools.product(range(C), repeat=T):
        collapsed = [k for i, k in enumerate(path) if k != blank and (i == 0 or path[i - 1] != k)]
        if collapsed == list(label):
            total += np.exp(sum(lp[t, k] for t, k in enumerate(path)))
    return -np.log(total)


def test_ctc_loss_matches_brute_force_sum_over_alignments(rng):
    T, N, C = 5, 4, 3
    lp = log_softmax_np(rng.standard_normal((T, N, C)), 2)
    targets = np.array([[1, 2, 0], [1, 1, 0], [2, 0, 0], [1, 2, 1]])  # a repeat needs a blank between
    input_lengths, target_lengths = [5, 5, 4, 5], [2, 2, 1, 3]
    expected = np.array([ctc_brute_force(lp[:input_lengths[n], n], targets[n, :target_lengths[n]], 0)
                         for n in range(N)])
    got = F.ctc_loss(t64(lp, False), minigrad.tensor(targets), input_lengths, target_lengths,
                     reduction="none")
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10)
    mean = F.ctc_loss(t64(lp, False), targets, input_lengths, target_lengths)
    assert mean.item() == pytest.approx((expected / np.array(target_lengths)).mean(), rel=1e-10)
    total = F.ctc_loss(t64(lp, False), targets, input_lengths, target_lengths, reduction="sum")
    assert total.item() == pytest.approx(expected.sum(), rel=1e-10)
    # targets concatenated into one 1-d tensor, and a nonzero blank
    flat = np.concatenate([targets[n, :target_lengths[n]] for n in range(N)])
    got_flat = F.ctc_loss(t64(lp, False), flat, input_lengths, target_lengths, reduction="none")
    np.testing.assert_allclose(got_flat.numpy(), expected, rtol=1e-10)
    shifted = (targets + 1) % C  # class 0 -> 1, 1 -> 2, 2 -> 0: blank is now 1
    got_blank = F.ctc_loss(t64(np.roll(lp, 1, axis=2), False), shifted, input_lengths, target_lengths,
                           blank=1, reduction="none")
    np.testing.assert_allclose(got_blank.numpy(), expected, rtol=1e-10)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_ctc_loss_gradcheck(rng, reduction):
    lp = t64(log_softmax_np(rng.standard_normal((5, 2, 4)), 2))
    targets, in_len, tg_len = np.array([[1, 3], [2, 2]]), [5, 4], [2, 2]
    assert gradcheck(lambda x: F.ctc_loss(x, targets, in_len, tg_len, reduction=reduction), [lp])


def test_ctc_loss_through_log_softmax_and_unbatched(rng):
    logits = t64(rng.standard_normal((4, 3)))
    assert gradcheck(lambda z: F.ctc_loss(z.log_softmax(-1), np.array([1, 2]), 4, 2), [logits])
    lp = log_softmax_np(rng.standard_normal((4, 3)), 1)
    got = F.ctc_loss(t64(lp, False), np.array([1, 2]), 4, 2, reduction="none")
    assert got.shape == ()
    assert got.item() == pytest.approx(ctc_brute_force(lp, [1, 2], 0), rel=1e-10)


def test_ctc_loss_impossible_alignment_and_zero_infinity(rng):
    lp = t64(log_softmax_np(rng.standard_normal((2, 1, 3)), 2))  # 2 frames cannot emit "1 1"
    targets = np.array([[1, 1]])
    assert np.isinf(F.ctc_loss(lp, targets, [2], [2], reduction="sum").item())
    loss = F.ctc_loss(lp, targets, [2], [2], reduction="sum", zero_infinity=True)
    assert loss.item() == 0.0
    loss.backward()
    np.testing.assert_array_equal(lp.grad.numpy(), 0.0)


# ============================================================================ errors: PyTorch's types


def test_loss_errors_are_pytorchs_types():
    x = minigrad.randn(3, 4)
    with pytest.raises(RuntimeError, match=r"smooth_l1_loss: .*negative values for beta"):
        F.smooth_l1_loss(x, x, beta=-1.0)
    with pytest.raises(RuntimeError, match=r"huber_loss: .*non-positive values for delta"):
        F.huber_loss(x, x, delta=0.0)
    with pytest.raises(RuntimeError, match=r"mse_loss: input \(3, 4\) and target \(4,\)"):
        F.mse_loss(x, minigrad.randn(4))
    with pytest.raises(RuntimeError, match=r"kl_div: .*input \(3, 4\), target \(2, 4\)"):
        F.kl_div(x, minigrad.randn(2, 4))
    with pytest.raises(RuntimeError, match=r"margin_ranking_loss: .*\(3,\).*\(3, 1\)"):
        F.margin_ranking_loss(minigrad.randn(3), minigrad.randn(3), minigrad.ones(3, 1))
    with pytest.raises(RuntimeError, match=r"cosine_embedding_loss: a 1-d target expects 2-d inputs"):
        F.cosine_embedding_loss(minigrad.randn(3), minigrad.randn(3), minigrad.ones(3))
    with pytest.raises(RuntimeError, match=r"triplet_margin_loss: .*same number of dimensions.*1D"):
        F.triplet_margin_loss(x, x, minigrad.randn(4))
    with pytest.raises(RuntimeError, match=r"binary_cross_entropy: input must be probabilities"):
        F.binary_cross_entropy(minigrad.tensor([0.5, 1.5]), minigrad.tensor([0.0, 1.0]))
    with pytest.raises(RuntimeError, match=r"cross_entropy: input \(3, 4\) needs target"):
        F.cross_entropy(x, minigrad.tensor([[0], [1], [2]]))
    with pytest.raises(RuntimeError, match=r"integer class indices.*float32 and shape \(3,\)"):
        F.cross_entropy(x, minigrad.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(IndexError, match=r"target values must be in \[0, 4\)"):
        F.cross_entropy(x, minigrad.tensor([0, 1, 4]))
    with pytest.raises(ValueError, match="reduction"):  # PyTorch: ValueError here too
        F.kl_div(x, x, reduction="avg")


def test_ctc_loss_errors():
    lp = minigrad.randn(5, 2, 4).log_softmax(-1)
    targets = np.array([[1, 2], [3, 1]])
    with pytest.raises(RuntimeError, match=r"ctc_loss: expected input_lengths to have value at most 5"):
        F.ctc_loss(lp, targets, [6, 5], [2, 2])
    with pytest.raises(RuntimeError, match=r"ctc_loss: input_lengths must be of size batch_size 2"):
        F.ctc_loss(lp, targets, [5], [2, 2])
    with pytest.raises(RuntimeError, match=r"ctc_loss: blank must be in label range \[0, 4\)"):
        F.ctc_loss(lp, targets, [5, 5], [2, 2], blank=4)
    with pytest.raises(RuntimeError, match=r"ctc_loss: targets \(2, 2\) are shorter"):
        F.ctc_loss(lp, targets, [5, 5], [3, 2])
    with pytest.raises(IndexError, match=r"ctc_loss: target values must be in \[0, 4\)"):
        F.ctc_loss(lp, np.array([[1, 7], [3, 1]]), [5, 5], [2, 2])


# ============================================================================ nn modules


def test_loss_modules_match_functions(rng):
    x, y = t64(rng.standard_normal((3, 4)), False), t64(rng.standard_normal((3, 4)), False)
    lab = t64(np.array([1.0, -1.0, 1.0]), False)
    a, p, n = (t64(rng.standard_normal((3, 4)), False) for _ in range(3))
    var = t64(rng.uniform(0.5, 2, (3, 4)), False)
    lp = minigrad.tensor(log_softmax_np(rng.standard_normal((5, 2, 4)), 2))
    cases = [
        (nn.SmoothL1Loss(beta=0.5, reduction="sum")(x, y), F.smooth_l1_loss(x, y, "sum", 0.5)),
        (nn.HuberLoss(delta=2.0)(x, y), F.huber_loss(x, y, delta=2.0)),
        (nn.KLDivLoss(reduction="batchmean", log_target=True)(x, y),
         F.kl_div(x, y, reduction="batchmean", log_target=True)),
        (nn.PoissonNLLLoss(full=True)(x, y.abs()), F.poisson_nll_loss(x, y.abs(), full=True)),
        (nn.GaussianNLLLoss(full=True)(x, y, var), F.gaussian_nll_loss(x, y, var, full=True)),
        (nn.MarginRankingLoss(0.5)(a[:, 0], p[:, 0], lab), F.margin_ranking_loss(a[:, 0], p[:, 0], lab, 0.5)),
        (nn.HingeEmbeddingLoss(2.0)(x, y.sign()), F.hinge_embedding_loss(x, y.sign(), 2.0)),
        (nn.CosineEmbeddingLoss(0.1)(a, p, lab), F.cosine_embedding_loss(a, p, lab, 0.1)),
        (nn.TripletMarginLoss(0.5, p=1.0, swap=True)(a, p, n),
         F.triplet_margin_loss(a, p, n, 0.5, p=1.0, swap=True)),
        (nn.CTCLoss(blank=3)(lp, np.array([[1, 2], [0, 0]]), [5, 5], [2, 2]),
         F.ctc_loss(lp, np.array([[1, 2], [0, 0]]), [5, 5], [2, 2], blank=3)),
    ]
    for module_out, function_out in cases:
        np.testing.assert_allclose(module_out.numpy(), function_out.numpy(), rtol=1e-12)
    assert "reduction='batchmean'" in repr(nn.KLDivLoss(reduction="batchmean"))


def test_huber_loss_weight(rng):
    x, y, w = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.uniform(0, 2, (3, 4))
    for reduction in REDUCTIONS:
        got = F.huber_loss(t64(x, False), t64(y, False), reduction=reduction, delta=0.5, weight=t64(w, False))
        np.testing.assert_allclose(got.numpy(), reduce_np(w * huber_np(x, y, 0.5), reduction), rtol=1e-12)
    assert gradcheck(lambda a, b, c: F.huber_loss(a, b, delta=0.5, weight=c), [t64(x), t64(y), t64(w)])
    with pytest.raises(ValueError, match=r"huber_loss: weights and input must have the same size"):
        F.huber_loss(t64(x), t64(y), weight=t64(w[0]))


def test_ctc_loss_of_an_empty_target_is_all_blanks():
    """Regression: a target of length 0 crashed (a broadcast of the skip transitions); the loss is
    -Σ_t log y_{t,blank}, as PyTorch's (2.9591 for the numbers below)."""
    probs = np.array([[0.7, 0.2, 0.1], [0.5, 0.25, 0.25], [0.8, 0.1, 0.1], [0.3, 0.3, 0.4]])
    lp = minigrad.tensor(np.log(probs)[:, None, :], dtype=minigrad.float64, requires_grad=True)
    empty = minigrad.tensor(np.zeros((1, 0), dtype=np.int64))
    loss = F.ctc_loss(lp, empty, [4], [0], reduction="sum")
    assert loss.item() == pytest.approx(-np.log(probs[:, 0]).sum(), rel=1e-12)
    assert gradcheck(lambda t: F.ctc_loss(t, empty, [4], [0], reduction="sum"), [lp])
