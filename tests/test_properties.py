"""Property tests: random broadcastable shapes, every binary op (chapter 1)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg

pytestmark = pytest.mark.autograd

OPS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 1),
}


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
    name=st.sampled_from(sorted(OPS)),
    seed=st.integers(0, 2**16),
)
def test_gradient_of_broadcast_op_has_input_shape_and_is_correct(shapes, name, seed):
    rng = np.random.default_rng(seed)
    a, b = (mg.tensor(rng.standard_normal(s), dtype=mg.float64, requires_grad=True)
            for s in shapes.input_shapes)
    out = OPS[name](a, b)
    assert out.shape == shapes.result_shape
    out.sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
    assert mg.gradcheck(lambda a, b: OPS[name](a, b).sum(), [a, b])


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=4, max_side=4),
    data=st.data(),
)
def test_sum_over_any_axes_spreads_ones(shape, data):
    axes = data.draw(st.lists(st.integers(0, len(shape) - 1), unique=True, max_size=len(shape)))
    x = mg.ones(shape, dtype=mg.float64, requires_grad=True)
    x.sum(dim=tuple(axes) or None).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones(shape))


@settings(max_examples=20, deadline=None, derandomize=True)
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4),
)
def test_unbroadcast_inverts_broadcasting(shapes):
    """Summing a broadcast array of ones back down counts the copies of each element."""
    target = shapes.input_shapes[0]
    full = np.ones(np.broadcast_shapes(target, shapes.result_shape))
    reduced = mg.unbroadcast(full, target)
    assert reduced.shape == target
    assert np.all(reduced == full.size / max(1, int(np.prod(target))))
