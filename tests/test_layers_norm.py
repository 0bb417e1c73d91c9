"""BatchNorm1d/2d and LayerNorm: values against NumPy, running statistics, gradchecks, errors."""

import numpy as np
import pytest

import minigrad
import minigrad.nn.functional as F
from minigrad import nn

pytestmark = pytest.mark.cnn


def t64(array, requires_grad=True):
    return minigrad.tensor(np.ascontiguousarray(array, dtype=np.float64),
                           requires_grad=requires_grad)


def reference_normalize(x, axes, eps=1e-5):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


# ----------------------------------------------------------------------------- BatchNorm


def test_batchnorm2d_training_forward_and_running_stats(rng):
    bn = nn.BatchNorm2d(3).double()
    bn.weight.data[:] = [1.0, 2.0, -1.0]
    bn.bias.data[:] = [0.0, 0.5, 1.0]
    x1 = rng.standard_normal((4, 3, 5, 5)) * 2 + 3
    x2 = rng.standard_normal((4, 3, 5, 5)) - 1
    y = bn(t64(x1, False))
    expected = reference_normalize(x1, (0, 2, 3)) * bn.weight.numpy()[None, :, None, None] \
        + bn.bias.numpy()[None, :, None, None]
    np.testing.assert_allclose(y.numpy(), expected, atol=1e-10)
    bn(t64(x2, False))
    # PyTorch's update: momentum 0.1, unbiased batch variance
    mean, var = np.zeros(3), np.ones(3)
    for x in (x1, x2):
        m = x.size // 3
        mean = 0.9 * mean + 0.1 * x.mean(axis=(0, 2, 3))
        var = 0.9 * var + 0.1 * x.var(axis=(0, 2, 3)) * m / (m - 1)
    np.testing.assert_allclose(bn.running_mean.numpy(), mean, atol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), var, atol=1e-12)
    assert int(bn.num_batches_tracked.item()) == 2


def test_batchnorm_eval_uses_running_stats(rng):
    bn = nn.BatchNorm1d(4).double()
    bn.running_mean.data[:] = rng.standard_normal(4)
    bn.running_var.data[:] = rng.random(4) + 0.5
    bn.eval()
    x = rng.standard_normal((3, 4))
    y = bn(t64(x, False))
    expected = (x - bn.running_mean.numpy()) / np.sqrt(bn.running_var.numpy() + 1e-5)
    np.testing.assert_allclose(y.numpy(), expected, atol=1e-12)
    before = bn.running_mean.numpy().copy()
    bn(t64(x, False))
    np.testing.assert_array_equal(bn.running_mean.numpy(), before)  # eval never updates


def test_batchnorm_momentum_none_is_cumulative_average(rng):
    bn = nn.BatchNorm1d(2, momentum=None).double()
    xs = [rng.standard_normal((5, 2)) + k for k in range(3)]
    for x in xs:
        bn(t64(x, False))
    np.testing.assert_allclose(bn.running_mean.numpy(),
                               np.mean([x.mean(axis=0) for x in xs], axis=0), atol=1e-12)


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 2), (3, 3, 2, 2)])
def test_batch_norm_training_gradcheck(rng, shape):
    x, w, b = t64(rng.standard_normal(shape)), t64(rng.standard_normal(3)), t64(rng.standard_normal(3))
    assert minigrad.gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                              [x, w, b])
    assert minigrad.gradcheck(lambda x: F.batch_norm(x, None, None, training=True), [x])


def test_batch_norm_eval_gradcheck(rng):
    x, w, b = t64(rng.standard_normal((4, 3, 2))), t64(rng.standard_normal(3)), t64(rng.standard_normal(3))
    rm, rv = t64(rng.standard_normal(3), False), t64(rng.random(3) + 0.5, False)
    assert minigrad.gradcheck(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=False),
                              [x, w, b])


def test_batchnorm_layer_gradcheck_in_training(rng):
    bn = nn.BatchNorm2d(2).double()
    x = t64(rng.standard_normal((3, 2, 2, 3)))
    assert minigrad.gradcheck(lambda x, w, b: bn(x), [x, bn.weight, bn.bias])


def test_batchnorm_state_dict_names_and_affine_false():
    bn = nn.BatchNorm2d(3)
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                     "num_batches_tracked"]
    assert [name for name, _ in bn.named_parameters()] == ["weight", "bias"]
    plain = nn.BatchNorm1d(3, affine=False, track_running_stats=False)
    assert list(plain.state_dict()) == []
    plain.eval()  # without running statistics eval still uses the batch's
    x = minigrad.randn(8, 3) * 5 + 2
    y = plain(x).numpy()
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-5)
    # the batch's biased variance (1/N, as PyTorch normalises), eps 1e-5: unit variance
    np.testing.assert_allclose(y.var(axis=0), 1, rtol=1e-4)
    np.testing.assert_allclose(y, reference_normalize(x.numpy().astype(np.float64), (0,)),
                               rtol=1e-5, atol=1e-5)


def test_batchnorm_errors():
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected a 4-D input with 3 channels .* got shape \(2, 4, 5, 5\)"):
        nn.BatchNorm2d(3)(minigrad.randn(2, 4, 5, 5))
    with pytest.raises(ValueError, match=r"BatchNorm1d: .*got shape \(2, 3, 4, 4\)"):
        nn.BatchNorm1d(3)(minigrad.randn(2, 3, 4, 4))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(minigrad.randn(1, 3))
    with pytest.raises(ValueError, match=r"batch_norm: weight must have shape \(3,\)"):
        F.batch_norm(minigrad.randn(2, 3), None, None, minigrad.ones(4), minigrad.zeros(4),
                     training=True)


# ----------------------------------------------------------------------------- LayerNorm


def test_layer_norm_forward_matches_numpy(rng):
    ln = nn.LayerNorm((3, 4)).double()
    ln.weight.data[:] = rng.standard_normal((3, 4))
    ln.bias.data[:] = rng.standard_normal((3, 4))
    x = rng.standard_normal((2, 5, 3, 4)) * 3 + 1
    expected = reference_normalize(x, (2, 3)) * ln.weight.numpy() + ln.bias.numpy()
    np.testing.assert_allclose(ln(t64(x, False)).numpy(), expected, atol=1e-10)
    ln.eval()  # same in eval
    np.testing.assert_allclose(ln(t64(x, False)).numpy(), expected, atol=1e-10)


@pytest.mark.parametrize("normalized_shape,shape", [(4, (3, 4)), ((2, 3), (2, 2, 3)), (5, (5,))])
def test_layer_norm_gradcheck(rng, normalized_shape, shape):
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
    x, w, b = t64(rng.standard_normal(shape)), t64(rng.standard_normal(ns)), t64(rng.standard_normal(ns))
    assert minigrad.gradcheck(lambda x, w, b: F.layer_norm(x, normalized_shape, w, b), [x, w, b])
    assert minigrad.gradcheck(lambda x: F.layer_norm(x, normalized_shape), [x])


def test_layer_norm_layer_names_and_errors():
    ln = nn.LayerNorm(8)
    assert list(ln.state_dict()) == ["weight", "bias"]
    np.testing.assert_array_equal(ln.weight.numpy(), 1)
    assert nn.LayerNorm(8, elementwise_affine=False).weight is None
    with pytest.raises(ValueError, match=r"LayerNorm: expected input with trailing shape \(8,\), got shape \(2, 7\)"):
        ln(minigrad.randn(2, 7))


def test_layernorm_bias_false_has_scale_only_like_pytorch():
    # torch.nn.LayerNorm(4, bias=False): state_dict keys ['weight'] and y = norm(x) * weight
    ln = nn.LayerNorm(4, bias=False)
    assert list(ln.state_dict()) == ["weight"]
    ln.weight.data.copy_(minigrad.tensor([1.0, 2.0, 3.0, 4.0]))
    x = minigrad.tensor(np.arange(8.0).reshape(2, 4))
    xn = (x.numpy() - x.numpy().mean(-1, keepdims=True)) / np.sqrt(x.numpy().var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(ln(x).detach().numpy(), xn * [1, 2, 3, 4], rtol=1e-6)
    w = minigrad.tensor(np.ones(4), requires_grad=True)
    assert minigrad.gradcheck(lambda x, w: F.layer_norm(x, (4,), w, None), [x.double().requires_grad_(), w])
