"""Gradient clipping (``minigrad.nn.utils``) against hand-computed values, on 0-d, 1-d
and n-d parameters, in place."""

import math

import numpy as np
import pytest

import minigrad
from minigrad import nn
from minigrad.nn.utils import clip_grad_norm_, clip_grad_value_


def params_with_grads(grads, dtype=np.float64):
    """Parameters (zeros) whose .grad holds the given arrays, and those arrays."""
    params = []
    for g in grads:
        p = nn.Parameter(np.zeros(np.shape(g), dtype=dtype))
        p.grad = minigrad.Tensor(np.array(g, dtype=dtype))
        params.append(p)
    return params, [p.grad._data for p in params]


# 0-d, 1-d and 2-d gradients: the joint 2-norm is √(3² + 4² + 0² + 12²) = 13.
GRADS = [np.float64(3.0), np.array([4.0, 0.0]), np.array([[0.0, 12.0], [0.0, 0.0]])]


def test_clip_grad_norm_scales_every_shape_in_place():
    params, arrays = params_with_grads(GRADS)
    total = clip_grad_norm_(params, max_norm=6.5)
    assert isinstance(total, minigrad.Tensor) and total.shape == () and total.item() == pytest.approx(13.0)
    coef = 6.5 / (13.0 + 1e-6)
    for p, array, g in zip(params, arrays, GRADS):
        assert p.grad._data is array  # same array: written in place
        assert isinstance(array, np.ndarray) and array.shape == np.shape(g)
        np.testing.assert_allclose(p.grad.numpy(), np.asarray(g) * coef, rtol=1e-15)
    joint = math.sqrt(sum(float((p.grad.numpy() ** 2).sum()) for p in params))
    assert joint == pytest.approx(6.5, rel=1e-6)


def test_clip_grad_norm_0d_parameter_alone():
    """Issue 12: a 0-d parameter's gradient was left unclipped."""
    p = nn.Parameter(np.float32(2.0))
    (p * 5.0).backward()  # grad 5
    total = clip_grad_norm_([p], max_norm=1.0)
    assert total.item() == pytest.approx(5.0)
    assert p.grad.item() == pytest.approx(1.0 / (5.0 + 1e-6) * 5.0, rel=1e-6)
    assert p.grad.dtype == np.float32 and total.dtype == np.float32


def test_clip_grad_norm_below_the_limit_leaves_gradients_alone():
    params, arrays = params_with_grads(GRADS)
    total = clip_grad_norm_(params, max_norm=100.0)
    assert total.item() == pytest.approx(13.0)
    for array, g in zip(arrays, GRADS):
        np.testing.assert_array_equal(array, g)


@pytest.mark.parametrize("norm_type, expected", [
    (1.0, 3 + 4 + 12), (float("inf"), 12.0), (3, (27 + 64 + 1728) ** (1 / 3)), ("inf", 12.0),
])
def test_clip_grad_norm_other_norms(norm_type, expected):
    params, arrays = params_with_grads(GRADS)
    total = clip_grad_norm_(params, max_norm=1.0, norm_type=norm_type)
    assert total.item() == pytest.approx(expected)
    np.testing.assert_allclose(arrays[1], np.asarray(GRADS[1]) / (expected + 1e-6), rtol=1e-12)


def test_clip_grad_norm_skips_parameters_without_gradients_and_accepts_one_tensor():
    params, arrays = params_with_grads(GRADS)
    without = nn.Parameter(np.ones(3))
    total = clip_grad_norm_(iter(params + [without]), max_norm=13.0 / 2, foreach=True)
    assert total.item() == pytest.approx(13.0) and without.grad is None
    assert clip_grad_norm_([without], 1.0).item() == 0.0  # no gradients at all
    single, (array,) = params_with_grads([np.array([0.0, 2.0])])
    assert clip_grad_norm_(single[0], 1.0).item() == pytest.approx(2.0)
    np.testing.assert_allclose(array, [0.0, 1.0 / (2.0 + 1e-6) * 2.0])


def test_clip_grad_norm_non_finite():
    params, _ = params_with_grads([np.array([1.0, np.inf])])
    with pytest.raises(RuntimeError, match="error_if_nonfinite"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    params, arrays = params_with_grads([np.array([1.0, np.nan])])
    assert math.isnan(clip_grad_norm_(params, 1.0).item())
    assert np.isnan(arrays[0]).all()  # as in PyTorch: a NaN norm makes every gradient NaN


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clip_grad_value_every_shape_in_place(dtype):
    grads = [np.float64(-3.0), np.array([0.5, 7.0]), np.array([[-0.25, 2.0], [-9.0, 1.0]])]
    params, arrays = params_with_grads(grads, dtype)
    assert clip_grad_value_(params, clip_value=1.0) is None
    for p, array, g in zip(params, arrays, grads):
        assert p.grad._data is array and array.dtype == dtype
        np.testing.assert_array_equal(array, np.clip(np.asarray(g, dtype=dtype), -1.0, 1.0))
    np.testing.assert_array_equal(arrays[0], -1.0)
    np.testing.assert_array_equal(arrays[2], [[-0.25, 1.0], [-1.0, 1.0]])


def test_clip_grad_value_0d_parameter_from_backward():
    """Issue 12: clip_grad_value_ raised TypeError on a 0-d parameter's gradient."""
    p = minigrad.tensor(2.0, requires_grad=True)
    (p * p * p).backward()  # 3p² = 12
    clip_grad_value_([p, nn.Parameter(np.ones(2))], clip_value=0.5, foreach=None)
    assert p.grad.item() == 0.5
