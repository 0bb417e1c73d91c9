"""minigrad.gradcheck itself: it passes correct gradients and catches wrong ones (chapter 10)."""

import numpy as np
import pytest

import minigrad as mg
from minigrad.tensor import Function

pytestmark = pytest.mark.gradcheck


class WrongSin(Function):
    """sin with a deliberately wrong derivative (+sin instead of cos)."""

    def forward(self, x):
        self.x = x
        return np.sin(x)

    def backward(self, g):
        return g * np.sin(self.x)


def test_passes_a_correct_gradient():
    x = mg.randn(3, 4, dtype=mg.float64, requires_grad=True)
    assert mg.gradcheck(lambda x: (x * x.sigmoid()).sum(dim=1), [x])


def test_reports_input_element_values_and_worst_error():
    x = mg.tensor([0.3, 1.2], dtype=mg.float64, requires_grad=True)
    y = mg.tensor([1.0], dtype=mg.float64, requires_grad=True)
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(lambda x, y: WrongSin.apply(x) * y, [x, y])
    message = str(info.value)
    assert "input 0 (shape (2,))" in message
    assert "numerical" in message and "analytic" in message
    assert "worst relative error" in message


def test_refuses_float32_inputs():
    x = mg.randn(3, requires_grad=True)
    with pytest.raises(TypeError, match="float64"):
        mg.gradcheck(lambda x: x * 2, [x])


def test_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="no input has requires_grad"):
        mg.gradcheck(lambda x: x * 2, [mg.randn(3, dtype=mg.float64)])


def test_non_tensor_arguments_are_passed_through():
    x = mg.randn(2, 3, dtype=mg.float64, requires_grad=True)
    assert mg.gradcheck(lambda x, dim: x.softmax(dim=dim), [x, 0])


def test_inputs_are_restored_after_perturbation():
    x = mg.randn(4, dtype=mg.float64, requires_grad=True)
    before = x.numpy().copy()
    mg.gradcheck(lambda x: x.exp(), [x])
    np.testing.assert_array_equal(x.numpy(), before)


def test_works_on_non_contiguous_inputs():
    """A transposed input: perturbing a flattened copy would give zero numerical gradients."""
    x = mg.Tensor(np.random.default_rng(0).standard_normal((3, 4)).T, requires_grad=True)  # a view
    assert not x.numpy().flags["C_CONTIGUOUS"]
    assert mg.gradcheck(lambda x: (x * x).sum(), [x])


def test_element_index_is_printed_as_plain_ints():
    x = mg.tensor([[0.3, 1.2]], dtype=mg.float64, requires_grad=True)
    with pytest.raises(mg.GradcheckError, match=r"at element \(0, \d\)"):
        mg.gradcheck(lambda x: WrongSin.apply(x), [x])
