"""Elementwise math, integer/bitwise ops, comparisons and the activation catalogue.

Each op: forward values against NumPy (or the formula written with NumPy), and a float64
``minigrad.gradcheck`` where it is differentiable.
"""

import math

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn

pytestmark = pytest.mark.autograd


def leaf(data):
    return mg.tensor(np.asarray(data, dtype=np.float64), requires_grad=True)


def values(rng, shape=(3, 4), low=-2.0, high=2.0, avoid=()):
    """Random float64 values, kept 0.05 away from each kink in ``avoid``."""
    x = rng.uniform(low, high, size=shape)
    for k in avoid:
        x = np.where(np.abs(x - k) < 0.05, k + 0.1, x)
    return x


# ----------------------------------------------------------------------------- unary math

_erf = np.vectorize(math.erf)
_erfc = np.vectorize(math.erfc)

# name: (minigrad op, NumPy reference, domain (low, high))
UNARY = {
    "sin": (mg.sin, np.sin, (-3, 3)),
    "cos": (mg.cos, np.cos, (-3, 3)),
    "tan": (mg.tan, np.tan, (-1.2, 1.2)),
    "asin": (mg.asin, np.arcsin, (-0.9, 0.9)),
    "acos": (mg.acos, np.arccos, (-0.9, 0.9)),
    "atan": (mg.atan, np.arctan, (-3, 3)),
    "sinh": (mg.sinh, np.sinh, (-2, 2)),
    "cosh": (mg.cosh, np.cosh, (-2, 2)),
    "asinh": (mg.asinh, np.arcsinh, (-3, 3)),
    "acosh": (mg.acosh, np.arccosh, (1.2, 4)),
    "atanh": (mg.atanh, np.arctanh, (-0.9, 0.9)),
    "log2": (mg.log2, np.log2, (0.2, 4)),
    "log10": (mg.log10, np.log10, (0.2, 4)),
    "log1p": (mg.log1p, np.log1p, (-0.8, 3)),
    "exp2": (mg.exp2, np.exp2, (-3, 3)),
    "expm1": (mg.expm1, np.expm1, (-2, 2)),
    "rsqrt": (mg.rsqrt, lambda x: 1 / np.sqrt(x), (0.2, 4)),
    "reciprocal": (mg.reciprocal, np.reciprocal, (0.3, 3)),
    "square": (mg.square, np.square, (-3, 3)),
    "erf": (mg.erf, _erf, (-2.5, 2.5)),
    "erfc": (mg.erfc, _erfc, (-2.5, 2.5)),
    "erfinv": (mg.erfinv, None, (-0.95, 0.95)),
    "frac": (mg.frac, lambda x: x - np.trunc(x), (-3, 3)),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_math_values_and_gradient(name, rng):
    op, ref, (low, high) = UNARY[name]
    x = values(rng, low=low, high=high, avoid=(-2, -1, 0, 1, 2) if name == "frac" else ())
    t = leaf(x)
    if ref is not None:
        np.testing.assert_allclose(op(t).numpy(), ref(x), rtol=1e-12, atol=1e-12)
    assert mg.gradcheck(op, [t])
    method = getattr(t, name)  # the Tensor method is the same op
    np.testing.assert_array_equal(method().numpy(), op(t).numpy())


def test_erfinv_inverts_erf_and_has_infinite_ends(rng):
    x = rng.uniform(-0.999, 0.999, size=50)
    np.testing.assert_allclose(_erf(mg.erfinv(mg.tensor(x)).numpy()), x, rtol=1e-12, atol=1e-14)
    end = mg.erfinv(mg.tensor([-1.0, 1.0, 0.0]))
    assert end.tolist() == [-np.inf, np.inf, 0.0]


def test_float32_erf_is_close_to_the_exact_one(rng):
    x = rng.uniform(-3, 3, size=100).astype(np.float32)
    y = mg.erf(mg.tensor(x))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), _erf(x.astype(np.float64)), atol=3e-7)


def test_integer_inputs_become_float32_like_pytorch():
    assert mg.sin(mg.tensor([1, 2])).dtype == np.float32
    assert mg.reciprocal(mg.tensor([2])).tolist() == [0.5]
    assert mg.square(mg.tensor([3])).dtype == np.int64  # square keeps integers, as torch


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc", "sign"])
def test_step_functions_have_zero_gradient(name, rng):
    x = values(rng, avoid=(-1.5, -0.5, 0, 0.5, 1.5))
    t = leaf(x)
    y = getattr(mg, name)(t)
    np.testing.assert_array_equal(y.numpy(), getattr(np, name if name != "round" else "round")(x))
    assert y.requires_grad  # as PyTorch: a zero gradient, not a cut graph
    y.sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), np.zeros_like(x))


def test_round_half_to_even_and_decimals():
    assert mg.round(mg.tensor([0.5, 1.5, 2.5, -0.5])).tolist() == [0.0, 2.0, 2.0, -0.0]
    np.testing.assert_allclose(mg.round(mg.tensor([1.2345], dtype=mg.float64), decimals=2).numpy(), [1.23])
    assert mg.sgn is mg.sign and mg.fix is mg.trunc


# ----------------------------------------------------------------------------- binary math

BINARY = {
    "atan2": (mg.atan2, np.arctan2),
    "logaddexp": (mg.logaddexp, np.logaddexp),
    "logaddexp2": (mg.logaddexp2, np.logaddexp2),
    "hypot": (mg.hypot, np.hypot),
    "remainder": (mg.remainder, np.remainder),
    "fmod": (mg.fmod, np.fmod),
    "fmax": (mg.fmax, np.fmax),
    "fmin": (mg.fmin, np.fmin),
}


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 1), (4,))], ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_math_values_and_gradient(name, shapes, rng):
    op, ref = BINARY[name]
    a = values(rng, shapes[0], -3, 3)
    b = values(rng, shapes[1], 0.4, 2) * rng.choice([-1, 1], size=shapes[1])
    if name in ("remainder", "fmod"):  # keep a/b away from the integer jumps
        q = a / b
        a = np.where(np.abs(q - np.round(q)) < 0.05, a + 0.2 * np.abs(b), a)
    np.testing.assert_allclose(op(mg.tensor(a), mg.tensor(b)).numpy(), ref(a, b), rtol=1e-12)
    assert mg.gradcheck(op, [leaf(a), leaf(b)])


def test_lerp(rng):
    s, e, w = values(rng), values(rng), values(rng, low=0, high=1)
    np.testing.assert_allclose(mg.lerp(mg.tensor(s), mg.tensor(e), mg.tensor(w)).numpy(), s + w * (e - s))
    assert mg.gradcheck(mg.lerp, [leaf(s), leaf(e), leaf(w)])
    assert mg.gradcheck(lambda s, e: mg.lerp(s, e, 0.3), [leaf(s), leaf(e)])


def test_integer_remainder_floor_divide_and_operators():
    a, b = mg.tensor([7, -7, 7, -7]), mg.tensor([3, 3, -3, -3])
    assert (a % b).tolist() == [1, 2, -2, -1]  # the sign of the divisor, as Python and torch
    assert mg.fmod(a, b).tolist() == [1, -1, 1, -1]  # the sign of the dividend
    assert (a // b).tolist() == [2, -3, -3, 2]
    assert (a % 3).dtype == np.int64 and (7 % b).tolist() == [1, 1, -2, -2]
    assert (mg.tensor([5.5]) // 2).tolist() == [2.0]
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        a % mg.tensor([0, 1, 1, 1])


def test_bitwise_and_logical_ops():
    a, b = mg.tensor([0b1100, 0b1010]), mg.tensor([0b1010, 0b0110])
    assert (a & b).tolist() == [0b1000, 0b0010]
    assert (a | b).tolist() == [0b1110, 0b1110]
    assert (a ^ b).tolist() == [0b0110, 0b1100]
    assert (~a).tolist() == [~0b1100, ~0b1010]
    assert (a << 1).tolist() == [24, 20] and (a >> 2).tolist() == [3, 2]
    m, n = mg.tensor([True, True, False]), mg.tensor([True, False, False])
    assert (m & n).tolist() == [True, False, False] and (~m).tolist() == [False, False, True]
    assert (m | n).dtype == np.bool_
    assert mg.logical_xor(mg.tensor([1.0, 0.0]), mg.tensor([1.0, 1.0])).tolist() == [False, True]
    assert mg.logical_not(mg.tensor([0, 2])).tolist() == [True, False]
    with pytest.raises(RuntimeError, match="bitwise_and.*float32"):
        mg.tensor([1.0]) & mg.tensor([1.0])


def test_in_place_operators():
    a = mg.tensor([7, 8])
    a %= 3
    assert a.tolist() == [1, 2]
    x = mg.tensor([1.5, -2.5])
    x.floor_()
    assert x.tolist() == [1.0, -3.0]


# ----------------------------------------------------------------------------- comparison and logic


def test_isnan_isinf_isfinite():
    x = mg.tensor([1.0, np.nan, np.inf, -np.inf])
    assert mg.isnan(x).tolist() == [False, True, False, False]
    assert x.isinf().tolist() == [False, False, True, True]
    assert mg.isfinite(x).tolist() == [True, False, False, False]
    assert mg.isposinf(x).tolist() == [False, False, True, False]
    assert mg.isneginf(x).tolist() == [False, False, False, True]


def test_isclose_allclose_equal():
    a = mg.tensor([1.0, 2.0, np.nan])
    b = mg.tensor([1.0 + 1e-9, 2.1, np.nan])
    assert mg.isclose(a, b).tolist() == [True, False, False]
    assert mg.isclose(a, b, equal_nan=True).tolist() == [True, False, True]
    assert mg.allclose(a[:1], b[:1]) is True and mg.allclose(a, b) is False
    assert mg.equal(mg.tensor([1, 2]), mg.tensor([1, 2])) is True
    assert mg.equal(mg.tensor([1, 2]), mg.tensor([[1, 2]])) is False


def test_any_all_with_dim():
    x = mg.tensor([[0, 1, 0], [0, 0, 0]])
    assert mg.any(x).item() is True and not x.all().item()
    assert x.any(dim=1).tolist() == [True, False]
    assert x.all(0, keepdim=True).tolist() == [[False, False, False]]
    assert x.any(dim=(0, 1)).item() is True
    assert mg.tensor(np.ones((2, 2))).all(dim=-1).dtype == np.bool_


def test_clamp_with_tensor_bounds(rng):
    x = values(rng, avoid=(-0.5, 0.5))
    lo = values(rng, (4,), -1, -0.2)
    hi = values(rng, (3, 1), 0.2, 1)
    out = mg.clamp(mg.tensor(x), min=mg.tensor(lo), max=mg.tensor(hi))
    np.testing.assert_allclose(out.numpy(), np.minimum(np.maximum(x, lo), hi))
    assert mg.gradcheck(lambda x, lo, hi: x.clamp(lo, hi), [leaf(x), leaf(lo), leaf(hi)])
    # min > max: every element is max, as torch
    assert mg.clamp(mg.tensor([0.0, 5.0]), min=mg.tensor(3.0), max=mg.tensor(1.0)).tolist() == [1.0, 1.0]


# ----------------------------------------------------------------------------- activations

SELU_A, SELU_S = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _sig(x):
    return 1 / (1 + np.exp(-x))


def _softplus(x, beta=1.0, threshold=20.0):
    return np.where(beta * x > threshold, x, np.log1p(np.exp(beta * x)) / beta)


# name: (op, NumPy reference, kinks to avoid in the gradcheck)
ACTIVATIONS = {
    "silu": (mg.silu, lambda x: x * _sig(x), ()),
    "elu": (mg.elu, lambda x: np.where(x > 0, x, np.expm1(x)), (0,)),
    "elu_alpha": (lambda x: mg.elu(x, alpha=0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(x)), (0,)),
    "selu": (mg.selu, lambda x: SELU_S * np.where(x > 0, x, SELU_A * np.expm1(x)), (0,)),
    "celu": (lambda x: mg.celu(x, 2.0), lambda x: np.maximum(x, 0) + np.minimum(0, 2 * np.expm1(x / 2)), (0,)),
    "relu6": (mg.relu6, lambda x: np.clip(x, 0, 6), (0, 6)),
    "hardtanh": (lambda x: mg.hardtanh(x, -0.5, 1.5), lambda x: np.clip(x, -0.5, 1.5), (-0.5, 1.5)),
    "hardsigmoid": (mg.hardsigmoid, lambda x: np.clip(x / 6 + 0.5, 0, 1), (-3, 3)),
    "hardswish": (mg.hardswish, lambda x: x * np.clip(x + 3, 0, 6) / 6, (-3, 3)),
    "mish": (mg.mish, lambda x: x * np.tanh(np.log1p(np.exp(x))), ()),
    "softplus": (mg.softplus, _softplus, ()),
    "softplus_beta": (lambda x: mg.softplus(x, beta=2.0, threshold=3.0), lambda x: _softplus(x, 2.0, 3.0), (1.5,)),
    "softsign": (mg.softsign, lambda x: x / (1 + np.abs(x)), ()),
    "logsigmoid": (mg.logsigmoid, lambda x: np.log(_sig(x)), ()),
    "hardshrink": (mg.hardshrink, lambda x: np.where(np.abs(x) > 0.5, x, 0), (-0.5, 0.5)),
    "softshrink": (mg.softshrink, lambda x: np.sign(x) * np.maximum(np.abs(x) - 0.5, 0), (-0.5, 0.5)),
    "threshold": (lambda x: mg.threshold(x, 0.3, -2.0), lambda x: np.where(x > 0.3, x, -2.0), (0.3,)),
    "rrelu_eval": (mg.rrelu, lambda x: np.where(x >= 0, x, x * (1 / 8 + 1 / 3) / 2), (0,)),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_values_and_gradient(name, rng):
    op, ref, kinks = ACTIVATIONS[name]
    x = values(rng, (3, 5), -5, 7, avoid=kinks)
    np.testing.assert_allclose(op(mg.tensor(x)).numpy(), ref(x), rtol=1e-12, atol=1e-15)
    assert mg.gradcheck(op, [leaf(x)])


@pytest.mark.parametrize("op", [mg.silu, mg.mish, mg.softplus, mg.logsigmoid, mg.selu, mg.elu])
def test_activations_do_not_overflow(op):
    x = mg.tensor([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = op(x)
    assert np.isfinite(y.numpy()).all()
    np.testing.assert_allclose(mg.logsigmoid(mg.tensor([-1000.0])).numpy(), [-1000.0])


def test_kink_derivatives_follow_pytorch():
    x = leaf([-3.0, 0.0, 3.0, 6.0])
    mg.relu6(x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0, 0.0]  # 0 at both bounds (hardtanh's rule)
    x = leaf([-3.0, 3.0, -4.0, 4.0])
    mg.hardswish(x).sum().backward()
    assert x.grad.tolist() == [-0.5, 1.5, 0.0, 1.0]
    x = leaf([-3.0, 3.0])
    mg.hardsigmoid(x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]
    x = leaf([0.0])
    mg.elu(x, alpha=2.0).sum().backward()
    assert x.grad.tolist() == [2.0]  # left derivative alpha * e^0 at 0


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmin_and_glu(dim, rng):
    x = values(rng, (4, 6))
    e = np.exp(-x - (-x).max(axis=dim, keepdims=True))
    np.testing.assert_allclose(mg.softmin(mg.tensor(x), dim).numpy(), e / e.sum(axis=dim, keepdims=True))
    assert mg.gradcheck(lambda x: mg.softmin(x, dim), [leaf(x)])
    a, b = np.split(x, 2, axis=dim)
    np.testing.assert_allclose(mg.glu(mg.tensor(x), dim).numpy(), a * _sig(b))
    assert mg.gradcheck(lambda x: mg.glu(x, dim), [leaf(x)])


def test_glu_odd_size_raises():
    with pytest.raises(RuntimeError, match="halving dimension must be even.*size 5"):
        mg.glu(mg.randn(2, 5))


@pytest.mark.parametrize("channels", [1, 3])
def test_prelu_gradient_reaches_the_slope(channels, rng):
    x = values(rng, (2, 3, 4), avoid=(0,))
    w = rng.uniform(0.1, 0.5, size=channels)
    shape = (1, channels, 1) if channels > 1 else ()
    np.testing.assert_allclose(mg.prelu(mg.tensor(x), mg.tensor(w)).numpy(),
                               np.where(x > 0, x, w.reshape(shape) * x))
    assert mg.gradcheck(mg.prelu, [leaf(x), leaf(w)])


# name: (module, the op it must equal)
MODULES = {
    "SiLU": (nn.SiLU(), mg.silu),
    "ELU": (nn.ELU(alpha=0.7), lambda x: mg.elu(x, 0.7)),
    "SELU": (nn.SELU(), mg.selu),
    "CELU": (nn.CELU(1.5), lambda x: mg.celu(x, 1.5)),
    "ReLU6": (nn.ReLU6(), mg.relu6),
    "Hardtanh": (nn.Hardtanh(-2, 2), lambda x: mg.hardtanh(x, -2, 2)),
    "Hardsigmoid": (nn.Hardsigmoid(), mg.hardsigmoid),
    "Hardswish": (nn.Hardswish(), mg.hardswish),
    "Mish": (nn.Mish(), mg.mish),
    "Softplus": (nn.Softplus(beta=2), lambda x: mg.softplus(x, 2)),
    "Softsign": (nn.Softsign(), mg.softsign),
    "LogSigmoid": (nn.LogSigmoid(), mg.logsigmoid),
    "Softmin": (nn.Softmin(dim=1), lambda x: mg.softmin(x, 1)),
    "GLU": (nn.GLU(), mg.glu),
    "Hardshrink": (nn.Hardshrink(0.3), lambda x: mg.hardshrink(x, 0.3)),
    "Softshrink": (nn.Softshrink(), mg.softshrink),
    "Tanhshrink": (nn.Tanhshrink(), lambda x: x - mg.tanh(x)),
    "Threshold": (nn.Threshold(0.1, 20.0), lambda x: mg.threshold(x, 0.1, 20.0)),
    "RReLU": (nn.RReLU().eval(), mg.rrelu),
}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_activation_modules(name, rng):
    module, op = MODULES[name]
    x = mg.tensor(values(rng, (2, 4)))
    np.testing.assert_array_equal(module(x).numpy(), op(x).numpy())
    assert type(module).__name__ in repr(module)


def test_prelu_module_learns_one_slope_per_channel():
    layer = nn.PReLU(num_parameters=3, init=0.1)
    assert [n for n, _ in layer.named_parameters()] == ["weight"] and layer.weight.shape == (3,)
    x = mg.tensor(-np.ones((2, 3, 4)))
    layer(x).sum().backward()
    np.testing.assert_allclose(layer.weight.grad.numpy(), [-8.0, -8.0, -8.0])


def test_inplace_activations_write_into_the_input():
    x = mg.tensor([-1.0, 2.0, 7.0])
    y = nn.ReLU6(inplace=True)(x)
    assert y is x and x.tolist() == [0.0, 2.0, 6.0]
    w = leaf([-1.0, 1.0])
    h = w * 1.0
    mg.silu(h, inplace=True).sum().backward()  # recorded: the gradient is silu's
    s = _sig(np.array([-1.0, 1.0]))
    np.testing.assert_allclose(w.grad.numpy(), s * (1 + np.array([-1.0, 1.0]) * (1 - s)))


def test_rrelu_training_draws_slopes_in_range():
    x = mg.tensor(-np.ones(1000))
    slopes = -mg.rrelu(x, 0.1, 0.3, training=True).numpy()
    assert 0.1 <= slopes.min() and slopes.max() <= 0.3 and slopes.std() > 0.03


def test_float32_erfc_keeps_relative_accuracy_in_the_tail():
    x = np.array([2.0, 3.0, 4.0], dtype=np.float32)
    np.testing.assert_allclose(mg.erfc(mg.tensor(x)).numpy(), _erfc(x.astype(np.float64)), rtol=1e-5)


def test_nan_to_num(rng):
    x = np.array([1.5, np.nan, np.inf, -np.inf, -2.0])
    np.testing.assert_array_equal(mg.nan_to_num(mg.tensor(x)).numpy(), np.nan_to_num(x))
    assert mg.tensor(x).nan_to_num(nan=1.0, posinf=2.0, neginf=-3.0).tolist() == [1.5, 1.0, 2.0, -3.0, -2.0]
    t = leaf(x)
    mg.nan_to_num(t).sum().backward()
    assert t.grad.tolist() == [1.0, 0.0, 0.0, 0.0, 1.0]
    assert mg.gradcheck(mg.nan_to_num, [leaf(rng.standard_normal(4))])
