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


# ----------------------------------------------------------------------------- gradcheck catches subtle errors
# Each test plants one plausible bug in a backward and requires gradcheck to report it at
# its default tolerances, naming the right input (a gradcheck that only looks at input 0,
# or whose rtol is 10x too loose, fails one of these).


class ScaledBackward(Function):
    """y = a * b with a backward that is off by ``factor`` on input ``wrong`` (optionally in
    one element only)."""

    wrong, factor, element = 1, 1.01, None

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        grads = [g * self.b, g * self.a]
        bad = grads[self.wrong].copy()
        if self.element is None:
            bad *= self.factor
        else:
            bad[self.element] *= self.factor
        grads[self.wrong] = bad
        return tuple(grads)


def planted(wrong, factor=1.01, element=None):
    bug = type("Planted", (ScaledBackward,), {"wrong": wrong, "factor": factor, "element": element})
    return bug.apply


def inputs(n=4, seed=0):
    rng = np.random.default_rng(seed)
    return [mg.tensor(rng.uniform(0.5, 1.5, n), requires_grad=True) for _ in range(2)]


@pytest.mark.parametrize("wrong", [0, 1])
def test_a_wrong_gradient_on_any_input_is_reported_with_its_position(wrong):
    with pytest.raises(mg.GradcheckError, match=f"input {wrong} "):
        mg.gradcheck(planted(wrong, factor=1.5), inputs())


def test_a_one_percent_error_fails_at_the_default_tolerances():
    with pytest.raises(mg.GradcheckError):
        mg.gradcheck(planted(1, factor=1.01), inputs())
    assert mg.gradcheck(planted(1, factor=1.0), inputs())  # the same function, right, passes


def test_an_error_in_a_single_element_is_found():
    with pytest.raises(mg.GradcheckError, match=r"at element \(2,\).*1 of 4 elements"):
        mg.gradcheck(planted(0, factor=1.05, element=2), inputs())


def test_a_third_input_in_the_middle_of_non_tensors_is_checked():
    a, b = inputs()

    def fn(scale, a, label, b):
        return planted(1, factor=1.2)(a * scale, b)

    with pytest.raises(mg.GradcheckError, match="input 3 "):
        mg.gradcheck(fn, [2.0, a, "label", b])


def test_a_wrong_gradient_on_a_non_contiguous_input_is_found():
    base = np.random.default_rng(3).uniform(0.5, 1.5, (4, 3))
    a = mg.Tensor(base.T, requires_grad=True)  # a transposed view
    b = mg.tensor(np.ones((3, 4)), requires_grad=True)
    with pytest.raises(mg.GradcheckError, match="input 0 "):
        mg.gradcheck(planted(0, factor=1.02), [a, b])


def test_a_kink_is_reported_so_tests_must_avoid_kinks():
    # relu at exactly 0: the central difference sees slope 1/2, relu's subgradient is 0
    # (PyTorch's choice). gradcheck cannot tell a kink from a bug, which is why the op
    # tests keep inputs away from kinks and check kink values exactly instead.
    x = mg.tensor(np.array([0.0, 1.0]), requires_grad=True)
    with pytest.raises(mg.GradcheckError, match=r"element \(0,\)"):
        mg.gradcheck(lambda x: x.relu(), [x])


def test_float32_inputs_are_refused_not_silently_upcast():
    x = mg.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    with pytest.raises(TypeError, match="input 0 has dtype float32"):
        mg.gradcheck(lambda x: x * 2, [mg.tensor(np.ones(2), requires_grad=True), x][1:])


@pytest.mark.parametrize("poison", [np.nan, np.inf])
def test_a_nan_or_inf_gradient_is_refused(poison):
    """A comparison with NaN is False: 'err > tolerance' let a NaN gradient pass."""

    class Poisoned(Function):
        def forward(self, x):
            return x * 2.0

        def backward(self, g):
            return g * 2.0 + poison

    x = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    with pytest.raises(mg.GradcheckError, match="input 0"):
        mg.gradcheck(lambda x: Poisoned.apply(x), [x])
