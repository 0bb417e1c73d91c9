"""Tests written to kill the mutants that survived `scripts/mutation.sh`.

Each test names the code it pins down and checks a value that a plausible bug
(the mutant) would change; see docs/concepts/mutation-testing.md.
"""

import re

import numpy as np
import pytest

import minigrad as mg
from minigrad import optim
from minigrad.optim import lr_scheduler
from minigrad.optim.lbfgs import _cubic_minimum, _strong_wolfe
from minigrad.tensor import Function, unbroadcast


def _exactly(message: str) -> str:
    """A ``pytest.raises(match=...)`` pattern that accepts this message and nothing else."""
    return "^" + re.escape(message) + "$"


# ============================================================================ minigrad/gradcheck.py


class _IdentityWrongByX(Function):
    """Forward: the identity. Backward: ``g * (1 + x)``, wrong by a relative error of exactly ``x``."""

    def forward(self, x):
        self.x = x
        return x.copy()

    def backward(self, g):
        return g * (1.0 + self.x)


def test_gradcheck_accepts_a_single_tensor_as_inputs():
    x = mg.randn(3, dtype=mg.float64, requires_grad=True)
    assert mg.gradcheck(lambda x: x * x, x)


def test_gradcheck_error_names_worst_element_with_values_from_the_seeded_upstream_gradient():
    # relative error |analytic - numerical| / |numerical| = x: the worst element is x's largest
    x = mg.tensor([0.1, 0.5, 0.2], dtype=mg.float64, requires_grad=True)
    for seed in (0, 7):
        r = np.random.default_rng(seed).standard_normal(3)  # the upstream gradient gradcheck draws
        kwargs = {} if seed == 0 else {"seed": seed}  # seed 0 is the default
        with pytest.raises(mg.GradcheckError) as info:
            mg.gradcheck(lambda x: _IdentityWrongByX.apply(x), [x], **kwargs)
        assert str(info.value) == (
            f"gradcheck: input 0 (shape (3,)): gradient mismatch at element (1,): "
            f"numerical {r[1]:.6g}, analytic {1.5 * r[1]:.6g}; 3 of 3 elements out of tolerance "
            f"(atol=1e-05, rtol=0.001), worst relative error 0.5")


def test_gradcheck_passes_exact_agreement_at_zero_tolerance():
    # an element passes when |analytic - numerical| <= atol + rtol |numerical| (<=, as torch.allclose)
    x = mg.randn(4, dtype=mg.float64, requires_grad=True)
    assert mg.gradcheck(lambda x: x * 0.0, [x], atol=0.0, rtol=0.0)


def test_gradcheck_rtol_scales_with_the_size_of_the_gradient():
    # the central difference of x**3 is 3x^2 + eps^2 exactly: an error of 1e-4 on a gradient of 300
    x = mg.tensor([10.0], dtype=mg.float64, requires_grad=True)
    assert mg.gradcheck(lambda x: x ** 3, [x], eps=1e-2)  # 1e-4 <= 1e-5 + 1e-3 * 300
    with pytest.raises(mg.GradcheckError):
        mg.gradcheck(lambda x: x ** 3, [x], eps=1e-2, rtol=0.0)  # 1e-4 > 1e-5


def test_gradcheck_unused_input_has_zero_gradient():
    x = mg.randn(3, dtype=mg.float64, requires_grad=True)
    y = mg.randn(2, dtype=mg.float64, requires_grad=True)
    assert mg.gradcheck(lambda x, y: x * 2, [x, y])


def test_gradcheck_catches_an_input_cut_from_the_graph():
    # autograd sees no path to y (detach), so its analytic gradient is 0; the numerical one is x
    x = mg.tensor([0.5, 2.0], dtype=mg.float64, requires_grad=True)
    y = mg.tensor([1.0, 1.0], dtype=mg.float64, requires_grad=True)
    with pytest.raises(mg.GradcheckError, match=r"^gradcheck: input 1 \(shape \(2,\)\).*analytic 0;"):
        mg.gradcheck(lambda x, y: x * y.detach(), [x, y])


def test_gradcheck_error_messages():
    x32 = mg.randn(3, requires_grad=True)
    with pytest.raises(TypeError, match=_exactly(
            "gradcheck: input 0 has dtype float32; use float64 inputs (dtype=minigrad.float64), "
            "float32 is too coarse for finite differences")):
        mg.gradcheck(lambda x: x * 2, [x32])
    with pytest.raises(ValueError, match=_exactly(
            "gradcheck: no input has requires_grad=True, nothing to check")):
        mg.gradcheck(lambda x: x * 2, [mg.randn(3, dtype=mg.float64)])
    x = mg.randn(3, dtype=mg.float64, requires_grad=True)
    with pytest.raises(TypeError, match=_exactly("gradcheck: fn must return a Tensor, got ndarray")):
        mg.gradcheck(lambda x: x.numpy(), [x])
    with pytest.raises(mg.GradcheckError, match=_exactly(
            "gradcheck: the output does not require grad (is the graph cut?)")):
        mg.gradcheck(lambda x: x.detach() * 2, [x])


# ============================================================================ minigrad/tensor.py


class _SavesInATuple(Function):
    """Identity that keeps its input in a tuple (as ops that save several arrays do)."""

    def forward(self, x):
        self.saved = (x,)
        return x * 1.0

    def backward(self, g):
        return g * np.ones_like(self.saved[0])


class _GradForEveryInput(Function):
    """a * b whose backward returns both gradients, needed or not, and None for ``b`` when asked."""

    def forward(self, a, b, none_for_b=False):
        self.a, self.b, self.none_for_b = a, b, none_for_b
        return a * b

    def backward(self, g):
        return g * self.b, (None if self.none_for_b else g * self.a)


def test_grad_is_accumulated_into_a_read_only_grad_by_replacing_it():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    old = np.array([10.0, 20.0], dtype=np.float32)
    old.flags.writeable = False
    x.grad = mg.Tensor._wrap(old)
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [13.0, 23.0])
    np.testing.assert_array_equal(old, [10.0, 20.0])


def test_backward_of_several_roots_one_feeding_the_other():
    # b is computed from a: b's gradient must reach a before a passes its gradient back
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    a = x * 2
    b = a * 3
    mg.autograd.backward([a, b], [mg.ones(2), mg.ones(2)])
    np.testing.assert_array_equal(x.grad.numpy(), [8.0, 8.0])  # 2 + 3 * 2


def test_backward_of_the_same_root_twice_adds_its_gradients():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    mg.autograd.backward([y, y], [mg.ones(2), mg.tensor([2.0, 3.0])])
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 8.0])


def test_second_backward_through_a_freed_graph_message():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=_exactly(
            "backward: trying to backward through the graph a second time (its saved arrays were freed "
            "by the first backward); call backward(retain_graph=True) the first time if you need to "
            "backward twice")):
        y.backward()


def test_a_gradient_for_an_input_that_does_not_require_grad_is_dropped():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0, 4.0])
    _GradForEveryInput.apply(a, b).sum().backward()
    assert b.grad is None
    np.testing.assert_array_equal(a.grad.numpy(), [3.0, 4.0])


def test_a_none_gradient_for_an_input_that_requires_grad_is_skipped():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0, 4.0], requires_grad=True)
    _GradForEveryInput.apply(a, b, none_for_b=True).sum().backward()
    assert b.grad is None
    np.testing.assert_array_equal(a.grad.numpy(), [3.0, 4.0])


def test_inplace_write_to_an_array_saved_in_a_tuple_is_detected():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1.0
    y = _SavesInATuple.apply(h)
    with mg.no_grad():
        h.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_set_default_dtype():
    try:
        mg.set_default_dtype("float64")
        assert mg.get_default_dtype() == np.float64
        assert mg.tensor([1.0]).dtype == np.float64
        mg.set_default_dtype(np.float32)
        assert mg.tensor([1.0]).dtype == np.float32
        with pytest.raises(TypeError, match=_exactly("set_default_dtype: expected a floating dtype, got int32")):
            mg.set_default_dtype(np.int32)
        assert mg.get_default_dtype() == np.float32
    finally:
        mg.set_default_dtype(np.float32)


def test_unbroadcast_sums_the_broadcast_axes():
    out = unbroadcast(np.ones((2, 3, 4)), (2, 1, 4))
    np.testing.assert_array_equal(out, np.full((2, 1, 4), 3.0))
    out = unbroadcast(np.ones((5, 2, 3, 4)), (2, 1, 4))
    np.testing.assert_array_equal(out, np.full((2, 1, 4), 15.0))
    out = unbroadcast(np.ones((5, 1, 2, 3)), (2, 1))
    np.testing.assert_array_equal(out, np.full((2, 1), 15.0))


def test_function_apply_refuses_arrays_with_a_message():
    with pytest.raises(TypeError, match=_exactly(
            "_identitywrongbyx: expected Tensor inputs, got ndarray; wrap arrays with minigrad.tensor(...)")):
        _IdentityWrongByX.apply(np.ones(2))


def test_array_protocol_dtypes_and_copies():
    t32 = mg.tensor([1.5, 2.5])
    assert np.asarray(t32).dtype == np.float32
    assert np.asarray(t32, dtype=np.float64).dtype == np.float64
    t64 = mg.tensor([1.5, 2.5], dtype=mg.float64)
    assert np.asarray(t64, dtype=np.float32).dtype == np.float32
    assert np.shares_memory(t32.__array__(np.float32), t32._data)  # no copy when the dtype matches


def test_array_protocol_and_tolist_bring_device_tensors_home(on_device):
    c = mg.tensor([1.0, 2.0]).cuda()
    out = np.asarray(c)
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, [1.0, 2.0])
    assert c.tolist() == [1.0, 2.0]
    assert repr(c) == "tensor([1., 2.], device='cuda')"
    with pytest.raises(TypeError, match=_exactly("numpy(): the tensor is on 'cuda'; call .cpu() first")):
        c.numpy()


def test_bool_of_a_tensor_message():
    assert bool(mg.tensor([2.0])) and not bool(mg.tensor(0.0))
    with pytest.raises(RuntimeError, match=_exactly(
            "the truth value of a tensor with shape (2,) is ambiguous; use .any() or .all()")):
        bool(mg.tensor([1.0, 2.0]))


def test_python_number_conversions_len_and_iter():
    t = mg.tensor([[1.5, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert float(mg.tensor([2.5])) == 2.5
    assert int(mg.tensor([3.7])) == 3
    assert len(t) == 2 and len(mg.tensor([1.0, 2.0, 3.0])) == 3
    with pytest.raises(TypeError, match=_exactly("len() of a 0-d tensor")):
        len(mg.tensor(1.0))
    rows = list(t)
    assert len(rows) == 2
    np.testing.assert_array_equal(rows[1].numpy(), [4.0, 5.0, 6.0])


def test_format_of_a_tensor_with_dims_is_its_str():
    t = mg.tensor([1.0, 2.0])
    assert f"{t}" == str(t) == "tensor([1., 2.])"
    assert f"{mg.tensor(0.5):.2f}" == "0.50"


def test_reflected_operators_put_the_other_operand_first():
    t = mg.tensor([1.0, 2.0])
    np.testing.assert_array_equal((10.0 + t).numpy(), [11.0, 12.0])
    np.testing.assert_array_equal((10.0 - t).numpy(), [9.0, 8.0])
    np.testing.assert_array_equal((10.0 / t).numpy(), [10.0, 5.0])
    np.testing.assert_array_equal((3.0 ** t).numpy(), [3.0, 9.0])
    m = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal((np.array([[0.0, 1.0], [1.0, 0.0]]) @ m).numpy(), [[3.0, 4.0], [1.0, 2.0]])
    x = mg.tensor([2.0, 3.0])
    x **= 2
    np.testing.assert_array_equal(x.numpy(), [4.0, 9.0])


def test_repr_formats():
    assert repr(mg.tensor([1.23456, 2.0])) == "tensor([1.2346, 2.    ])"
    assert repr(mg.tensor([[1.0, 2.0], [3.0, 4.0]])) == "tensor([[1., 2.],\n        [3., 4.]])"
    assert "..." in repr(mg.arange(201.0)) and "..." not in repr(mg.arange(200.0))
    assert repr(mg.tensor([1.0, 2.0], requires_grad=True)) == "tensor([1., 2.], requires_grad=True)"
    assert repr(mg.tensor([1.0], dtype=mg.float64)) == "tensor([1.], dtype=float64)"


def test_inplace_into_a_constructed_tensor_records_it_as_a_non_leaf():
    x = mg.tensor([1.0, 2.0])  # built by Tensor(...), not by an op
    w = mg.tensor([3.0, 4.0], requires_grad=True)
    x.add_(w)
    x.sum().backward()
    assert x.grad is None and not x.is_leaf
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 1.0])


def test_op_outputs_do_not_keep_their_grad():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.sum().backward()
    assert y.grad is None


def test_tensor_constructor_places_on_the_device(on_device):
    assert mg.Tensor([1.0, 2.0], device="cuda").device == "cuda"


def test_inplace_error_messages_name_the_method():
    leaf = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=_exactly(
            "add_: a leaf Variable that requires grad (shape (2,)) is being used in an in-place "
            "operation; wrap the update in `with minigrad.no_grad():`")):
        leaf.add_(1.0)
    view = (leaf * 1.0)[0:2]  # a view of a non-leaf that requires grad
    with pytest.raises(RuntimeError, match=_exactly(
            "mul_: in-place write into a view (shape (2,)) of a tensor that requires grad is not supported "
            "by minigrad (PyTorch rewrites the base's graph); write into the base with an index instead "
            "(base[index] = value) or use the out-of-place op")):
        view.mul_(2.0)
    x = mg.zeros(3)
    with pytest.raises(RuntimeError, match=_exactly(
            "add_: output with shape [3] doesn't match the broadcast shape [2, 3]")):
        x.add_(mg.ones(2, 3))


def test_inplace_casts_a_wider_result_back_to_the_tensor_dtype():
    x = mg.tensor([1.0, 2.0])  # float32
    x.add_(mg.tensor([0.5, 0.25], dtype=mg.float64))
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x.numpy(), [1.5, 2.25])


def test_backward_seed_has_the_tensor_dtype():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    y.backward(np.array([1.0, 1.0, 1.0]))  # a float64 gradient for a float32 tensor
    assert y.grad.dtype == np.float32
    s = (x * 2).sum()
    s.retain_grad()
    s.backward()
    assert s.grad.dtype == np.float32 and s.grad.item() == 1.0


def test_backward_seed_goes_to_the_device(on_device):
    x = mg.tensor([1.0, 2.0]).cuda().requires_grad_()
    y = x * 2
    y.backward(np.array([1.0, 1.0], dtype=np.float32))
    assert x.grad.device == "cuda"
    s = (x * 3).sum()
    s.backward()
    np.testing.assert_array_equal(np.asarray(x.grad), [5.0, 5.0])


def test_backward_error_messages():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(NotImplementedError, match=_exactly(
            "backward: create_graph=True (higher-order gradients) is not supported by minigrad")):
        (x * 2).sum().backward(create_graph=True)
    with pytest.raises(RuntimeError, match=_exactly(
            "backward: element 0 of tensors does not require grad and does not have a grad_fn "
            "(no input had requires_grad=True, or it was computed under no_grad())")):
        mg.tensor([1.0]).backward()
    with pytest.raises(RuntimeError, match=_exactly(
            "backward: grad can be implicitly created only for scalar outputs, got shape (2,); "
            "pass a gradient (or call .sum() first)")):
        (x * 2).backward()


def test_backward_inputs_given_as_one_tensor():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    w = mg.tensor([3.0, 4.0], requires_grad=True)
    (x * w).sum().backward(inputs=x)
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])
    assert w.grad is None


def test_mm_bmm_and_t_check_their_dims():
    a2, a3 = mg.ones(2, 2), mg.ones(2, 2, 2)
    with pytest.raises(RuntimeError, match=_exactly("mm: expected 2-D tensors, got shapes (2, 2) and (2, 2, 2)")):
        a2.mm(a3)
    with pytest.raises(RuntimeError, match="bmm: expected 3-D tensors"):
        a3.bmm(a2)
    with pytest.raises(RuntimeError, match=_exactly("t: expects a tensor with <= 2 dims, got shape (2, 2, 2)")):
        a3.t()
    v = mg.tensor([1.0, 2.0])
    assert v.t() is v
    np.testing.assert_array_equal(mg.tensor([[1.0, 2.0]]).t().numpy(), [[1.0], [2.0]])


def test_dtype_conversion_methods():
    t = mg.tensor([0.0, 1.5])
    assert t.bool().dtype == np.bool_
    assert t.double().dtype == np.float64
    assert t.half().dtype == np.float16
    assert t.int().dtype == np.int32
    assert t.long().dtype == np.int64
    assert mg.tensor(np.array([1, 2], np.uint16)).type() == "minigrad.uint16Tensor"


def test_device_methods_and_to(on_device):
    t = mg.tensor([1.0, 2.0])
    assert t.to("cpu") is t and t.cpu() is t
    assert t.to("cpu").dtype == np.float32
    c = t.cuda()
    assert c.device == "cuda" and t.to("cuda").device == "cuda" and t.to("cuda:0").device == "cuda"
    back = c.cpu()
    assert back.device == "cpu"
    np.testing.assert_array_equal(back.numpy(), [1.0, 2.0])
    assert c.to("cpu").device == "cpu"


def test_to_copy_makes_a_copy():
    t = mg.tensor([1.0, 2.0])
    c = t.to(copy=True)
    assert c is not t and not np.shares_memory(c._data, t._data)
    np.testing.assert_array_equal(c.numpy(), [1.0, 2.0])
    assert t.to(np.float32) is t


def test_clone_contiguous_and_size():
    t = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    c = t.clone()
    assert not np.shares_memory(c._data, t._data)
    np.testing.assert_array_equal(c.numpy(), t.numpy())
    assert t.contiguous() is t
    assert t.size() == (2, 2) and t.size(1) == 2


def test_inplace_methods_pass_their_arguments():
    x = mg.tensor([-3.0, 1.0, 5.0])
    np.testing.assert_array_equal(x.clone().clamp_(0.0, 2.0).numpy(), [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(x.clone().clamp_(max=2.0).numpy(), [-3.0, 1.0, 2.0])
    np.testing.assert_array_equal(x.clone().abs_().numpy(), [3.0, 1.0, 5.0])
    np.testing.assert_array_equal(x.clone().div_(2.0, rounding_mode="floor").numpy(), [-2.0, 0.0, 2.0])
    np.testing.assert_array_equal(x.clone().sub_(mg.ones(3), alpha=2).numpy(), [-5.0, -1.0, 3.0])
    mask = mg.tensor([True, False, True])
    np.testing.assert_array_equal(x.clone().masked_fill_(mask, 9.0).numpy(), [9.0, 1.0, 9.0])


def test_comparison_methods_are_strict():
    t = mg.tensor([1.0, 2.0])
    assert not t.gt(t).numpy().any() and not t.lt(t).numpy().any()
    assert t.ge(t).numpy().all() and t.le(t).numpy().all()


def test_where_method():
    t = mg.tensor([1.0, 2.0, 3.0])
    out = t.where(mg.tensor([True, False, True]), mg.zeros(3))
    np.testing.assert_array_equal(out.numpy(), [1.0, 0.0, 3.0])


def test_narrow():
    t = mg.arange(5.0)
    np.testing.assert_array_equal(t.narrow(0, 0, 2).numpy(), [0.0, 1.0])
    np.testing.assert_array_equal(t.narrow(-1, 1, 2).numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(t.narrow(0, -2, 2).numpy(), [3.0, 4.0])
    assert t.narrow(0, 1, 0).shape == (0,)
    with pytest.raises(IndexError, match=_exactly("narrow: start 4 + length 2 exceeds dim 0 of size 5")):
        t.narrow(0, 4, 2)


def test_new_factories():
    t = mg.tensor([1.0, 2.0], dtype=mg.float64)
    for made in (t.new_zeros(2), t.new_ones(2), t.new_empty(2), t.new_full(2, 7.0), t.new_tensor([1.0])):
        assert made.requires_grad is False and made.dtype == np.float64
    np.testing.assert_array_equal(t.new_zeros(2, 3).numpy(), np.zeros((2, 3)))
    np.testing.assert_array_equal(t.new_ones((2,)).numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(t.new_full(3, 7.0).numpy(), [7.0, 7.0, 7.0])
    for method in (t.new_zeros, t.new_ones, t.new_empty):
        made = method(2, dtype=np.float32, requires_grad=True)
        assert made.dtype == np.float32 and made.requires_grad is True
    assert t.new_full((2,), 1.0, requires_grad=True).requires_grad is True
    copy = t.new_tensor(t)
    assert not np.shares_memory(copy._data, t._data)
    np.testing.assert_array_equal(copy.numpy(), [1.0, 2.0])
    assert t.new_tensor([1.0], requires_grad=True).requires_grad is True


def test_new_factories_keep_the_device(on_device):
    c = mg.tensor([1.0, 2.0]).cuda()
    assert c.new_full(2, 3.0).device == "cuda"
    assert c.new_tensor([1.0]).device == "cuda"


def test_random_fills_defaults_and_generator():
    x = mg.zeros(20000)
    x.normal_()
    assert abs(x.numpy().mean()) < 0.05 and abs(x.numpy().std() - 1.0) < 0.05
    x.uniform_()
    assert 0.0 <= x.numpy().min() < 0.01 and 0.99 < x.numpy().max() < 1.0
    x.uniform_(-2.0, -1.0)
    assert -2.0 <= x.numpy().min() and x.numpy().max() < -1.0
    a, b = mg.zeros(5), mg.zeros(5)
    a.uniform_(generator=mg.Generator().manual_seed(5))
    mg.manual_seed(123)
    b.uniform_(generator=mg.Generator().manual_seed(5))
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_requires_grad_default_is_true():
    assert mg.tensor([1.0]).requires_grad_().requires_grad is True


def test_grad_mode_decorators():
    @mg.no_grad()
    def f():
        return mg.is_grad_enabled()

    @mg.inference_mode()
    def g():
        return mg.is_grad_enabled()

    @mg.enable_grad()
    def h():
        return mg.is_grad_enabled()

    assert f() is False and g() is False and mg.is_grad_enabled() is True
    with mg.no_grad():
        assert h() is True
    with mg.no_grad():
        with mg.set_grad_enabled(True):
            assert mg.is_grad_enabled() is True
    with pytest.raises(ValueError):
        with mg.set_grad_enabled(False):
            raise ValueError("propagates")
    assert mg.is_grad_enabled() is True


def test_set_grad_enabled_as_a_decorator():
    with mg.no_grad():
        decorator = mg.set_grad_enabled(True)

        @decorator
        def k():
            return mg.is_grad_enabled()

        assert k() is True
    mg.set_grad_enabled(True)


def test_set_grad_enabled_decorator_leaves_grad_mode_alone():
    # as torch.set_grad_enabled: the decorator switches the mode inside each call only
    try:
        @mg.set_grad_enabled(False)
        def f():
            return mg.is_grad_enabled()

        assert mg.is_grad_enabled() is True
        assert f() is False
        assert mg.is_grad_enabled() is True
    finally:
        mg.set_grad_enabled(True)


def test_a_cupy_array_counts_as_an_array():
    from minigrad.tensor import _is_array

    class DeviceArray:  # what identifies a CuPy array: the CUDA array interface
        __cuda_array_interface__ = {}

    assert _is_array(DeviceArray()) and _is_array(np.zeros(2))
    assert not _is_array(np.float32(1.0)) and not _is_array(None)


def test_root_follows_bases_and_accepts_arrays_without_one():
    from minigrad.tensor import _root

    owner = np.zeros(6)
    assert _root(owner[1:][::2]) is owner and _root(owner) is owner

    class DeviceArray:  # an array type without .base (the CuPy stand-in's views have none)
        __cuda_array_interface__ = {}

    a = DeviceArray()
    assert _root(a) is a


def test_array_protocol_casts_when_asked():
    t32 = mg.tensor([1.5, 2.5])
    assert t32.__array__(np.float64).dtype == np.float64
    assert t32.__array__().dtype == np.float32


def test_comparisons_with_host_data_on_the_device(on_device):
    c = mg.tensor([1.0, 2.0]).cuda()
    out = c > np.array([1.5, 1.5])
    assert out.device == "cuda" and out.tolist() == [False, True]
    assert (c == [1.0, 3.0]).tolist() == [True, False]
    assert (c <= 1.0).tolist() == [True, False]


def test_implicit_backward_seed_is_on_the_device(on_device):
    x = mg.tensor([1.0, 2.0]).cuda().requires_grad_()
    s = (x * 3).sum()
    s.retain_grad()
    s.backward()
    assert s.grad.device == "cuda" and s.grad.item() == 1.0


# ============================================================================ minigrad/optim/


# torch 2.x's defaults of each optimizer (torch.optim.<Name>(params).defaults)
_TORCH_DEFAULTS = {
    "SGD": dict(lr=0.001, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False,
                foreach=None, differentiable=False, fused=None),
    "Adam": dict(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0, amsgrad=False, maximize=False,
                 foreach=None, capturable=False, differentiable=False, fused=None, decoupled_weight_decay=False),
    "AdamW": dict(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01, amsgrad=False, maximize=False,
                  foreach=None, capturable=False, differentiable=False, fused=None, decoupled_weight_decay=True),
    "Adagrad": dict(lr=0.01, lr_decay=0, eps=1e-10, weight_decay=0, initial_accumulator_value=0, foreach=None,
                    maximize=False, differentiable=False, fused=None),
    "Adadelta": dict(lr=1.0, rho=0.9, eps=1e-06, weight_decay=0, maximize=False, capturable=False,
                     foreach=None, differentiable=False),
    "Adamax": dict(lr=0.002, betas=(0.9, 0.999), eps=1e-08, weight_decay=0, foreach=None, maximize=False,
                   differentiable=False, capturable=False),
    "RMSprop": dict(lr=0.01, momentum=0, alpha=0.99, eps=1e-08, centered=False, weight_decay=0,
                    capturable=False, foreach=None, maximize=False, differentiable=False),
    "NAdam": dict(lr=0.002, betas=(0.9, 0.999), eps=1e-08, weight_decay=0, momentum_decay=0.004,
                  decoupled_weight_decay=False, maximize=False, foreach=None, capturable=False,
                  differentiable=False),
    "RAdam": dict(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0, maximize=False, foreach=None,
                  capturable=False, decoupled_weight_decay=False, differentiable=False),
    "LBFGS": dict(lr=1, max_iter=20, max_eval=25, tolerance_grad=1e-07, tolerance_change=1e-09,
                  history_size=100, line_search_fn=None),
}


@pytest.mark.parametrize("name", sorted(_TORCH_DEFAULTS))
def test_optimizer_defaults_are_torchs(name):
    opt = getattr(optim, name)([mg.tensor([1.0], requires_grad=True)])
    assert opt.defaults == _TORCH_DEFAULTS[name]
    group = {k: v for k, v in opt.param_groups[0].items() if k != "params"}
    assert group == _TORCH_DEFAULTS[name]


@pytest.mark.parametrize("name", ["Adam", "AdamW", "Adamax", "NAdam", "RAdam"])
def test_optimizer_keeps_the_betas_and_eps_it_is_given(name):
    opt = getattr(optim, name)([mg.tensor([1.0], requires_grad=True)], betas=(0.8, 0.95), eps=1e-5)
    assert opt.defaults["betas"] == (0.8, 0.95) and opt.defaults["eps"] == 1e-5


@pytest.mark.parametrize("name", ["Adadelta", "Adagrad", "Adamax", "Adam", "AdamW", "RMSprop", "NAdam",
                                  "RAdam", "SGD"])
def test_optimizer_steps_on_the_device(name, on_device):
    p = mg.tensor([1.0, -2.0], dtype=mg.float64).cuda().requires_grad_()
    ref = mg.tensor([1.0, -2.0], dtype=mg.float64, requires_grad=True)
    extra = {"SGD": dict(momentum=0.9), "RMSprop": dict(momentum=0.9, centered=True)}.get(name, {})
    for q in (p, ref):
        opt = getattr(optim, name)([q], lr=0.1, **extra)
        for _ in range(2):
            opt.zero_grad()
            (q * q).sum().backward()
            opt.step()
    assert p.device == "cuda"
    np.testing.assert_allclose(np.asarray(p), ref.numpy(), rtol=1e-12)


def test_optimizer_repr():
    opt = optim.SGD([mg.tensor([1.0], requires_grad=True)], lr=0.1)
    assert repr(opt) == ("SGD (\nParameter Group 0\n    dampening: 0\n    differentiable: False\n"
                         "    foreach: None\n    fused: None\n    lr: 0.1\n    maximize: False\n"
                         "    momentum: 0\n    nesterov: False\n    weight_decay: 0\n)")


def test_optimizer_load_state_dict_describes_what_it_got():
    opt = optim.SGD([mg.tensor([1.0], requires_grad=True)])
    with pytest.raises(ValueError, match=_exactly(
            "SGD.load_state_dict: expected a dict with 'state' and 'param_groups' (from "
            "optimizer.state_dict()), got dict with keys ['a', 'state']")):
        opt.load_state_dict({"state": {}, "a": 1})
    with pytest.raises(ValueError, match=r"got list$"):
        opt.load_state_dict([])


# ---------------------------------------------------------------------------- lr schedulers


def _opt(lr=1.0, groups=1):
    return optim.SGD([{"params": [mg.tensor([1.0], requires_grad=True)]} for _ in range(groups)], lr=lr)


def test_scheduler_state_dict_leaves_out_functions_and_sub_schedulers():
    lam = lr_scheduler.LambdaLR(_opt(), lambda e: 0.5 ** e)
    assert "lr_lambdas" not in lam.state_dict() and "optimizer" not in lam.state_dict()
    opt = _opt()
    seq = lr_scheduler.SequentialLR(opt, [lr_scheduler.LinearLR(opt, total_iters=2),
                                          lr_scheduler.CosineAnnealingLR(opt, T_max=4)], milestones=[2])
    state = seq.state_dict()
    assert "_schedulers" not in state and len(state["schedulers"]) == 2


def test_scheduler_load_state_dict_copies_base_lrs_into_a_list():
    sched = lr_scheduler.StepLR(_opt(), step_size=1)
    sched.load_state_dict({"base_lrs": (0.5,), "last_epoch": 3})
    assert sched.base_lrs == [0.5] and isinstance(sched.base_lrs, list)
    sched.load_state_dict({"last_epoch": 4})  # base_lrs not in the dict: kept
    assert sched.base_lrs == [0.5] and sched.last_epoch == 4


def test_sequential_lr_state_dict_round_trip():
    def build():
        opt = _opt(lr=0.1)
        return lr_scheduler.SequentialLR(opt, [lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=2),
                                               lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)],
                                         milestones=[2])

    a = build()
    for _ in range(3):
        a.step()
    b = build()
    b.load_state_dict(a.state_dict())
    assert b.last_epoch == a.last_epoch == 3
    assert [s.last_epoch for s in b._schedulers] == [s.last_epoch for s in a._schedulers]
    for _ in range(3):
        a.step()
        b.step()
        assert b.get_last_lr() == a.get_last_lr()


def test_schedulers_resume_from_last_epoch():
    for make in (lambda o, e: lr_scheduler.CosineAnnealingLR(o, T_max=10, last_epoch=e),
                 lambda o, e: lr_scheduler.LinearLR(o, total_iters=10, last_epoch=e),
                 lambda o, e: lr_scheduler.LambdaLR(o, lambda k: 1.0 / (k + 1), last_epoch=e),
                 lambda o, e: lr_scheduler.SequentialLR(
                     o, [lr_scheduler.StepLR(o, step_size=1, gamma=0.5)], milestones=[], last_epoch=e)):
        opt = _opt()
        make(opt, -1)  # leaves initial_lr in the group
        sched = make(opt, 3)
        assert sched.last_epoch == 4
        assert opt.param_groups[0]["lr"] == pytest.approx(sched.lr_at(1.0, 4))


def test_lr_at_reads_group_0_by_default():
    sched = lr_scheduler.LambdaLR(_opt(), lambda e: 0.5 ** e)
    assert sched.lr_at(2.0, 3) == 0.25
    cos = lr_scheduler.CosineAnnealingLR(_opt(), T_max=4)
    assert cos.lr_at(1.0, 2) == pytest.approx(0.5)


def test_lambda_lr_one_function_for_every_group():
    opt = _opt(groups=2)
    sched = lr_scheduler.LambdaLR(opt, lambda e: 0.5)
    assert sched.get_last_lr() == [0.5, 0.5]
    with pytest.raises(ValueError, match=_exactly("LambdaLR: expected 2 lr_lambdas, got 1")):
        lr_scheduler.LambdaLR(opt, [lambda e: 1.0])


def test_cosine_annealing_t_max_bounds():
    assert lr_scheduler.CosineAnnealingLR(_opt(), T_max=1).get_last_lr() == [1.0]
    with pytest.raises(ValueError, match=_exactly("CosineAnnealingLR: T_max must be >= 1, got 0")):
        lr_scheduler.CosineAnnealingLR(_opt(), T_max=0)


def test_linear_lr_factor_bounds_and_defaults():
    lr_scheduler.LinearLR(_opt(), start_factor=1.0, end_factor=0.0)  # both ends of the ranges are allowed
    for start, end in ((0.0, 1.0), (1.5, 1.0), (0.5, 1.5), (0.5, -0.1)):
        with pytest.raises(ValueError, match=_exactly(
                f"LinearLR: start_factor must be in (0, 1] and end_factor in [0, 1], got {start} and {end}")):
            lr_scheduler.LinearLR(_opt(), start_factor=start, end_factor=end)
    sched = lr_scheduler.LinearLR(_opt())  # 1/3 -> 1 over 5 epochs
    assert sched.lr_at(1.0, 4) < 1.0 and sched.lr_at(1.0, 5) == pytest.approx(1.0)
    flat = lr_scheduler.LinearLR(_opt(), start_factor=0.5, end_factor=0.25, total_iters=0)
    assert flat.get_last_lr() == [0.25]


def test_sequential_lr_switches_at_the_milestone():
    opt = _opt(lr=1.0)
    seq = lr_scheduler.SequentialLR(opt, [lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=2),
                                          lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)], milestones=[2])
    lrs = [seq.get_last_lr()[0]]
    for _ in range(4):
        seq.step()
        lrs.append(seq.get_last_lr()[0])
    assert lrs == pytest.approx([0.5, 0.75, 1.0, 0.5, 0.25])


def test_sequential_lr_messages():
    opt, other = _opt(), _opt()
    a, b = lr_scheduler.StepLR(opt, step_size=1), lr_scheduler.StepLR(other, step_size=1)
    with pytest.raises(ValueError, match=_exactly("SequentialLR: expected 1 milestones for 2 schedulers, got 2")):
        lr_scheduler.SequentialLR(opt, [a, a], milestones=[1, 2])
    with pytest.raises(ValueError, match=_exactly("SequentialLR: every scheduler must drive the same optimizer")):
        lr_scheduler.SequentialLR(opt, [a, b], milestones=[1])


# ---------------------------------------------------------------------------- L-BFGS line search


def test_cubic_minimum():
    # f = x^3 - 3x through x = 0 and x = 2: the cubic is f itself, its minimum x = 1
    assert _cubic_minimum(0.0, 0.0, -3.0, 2.0, 2.0, 9.0) == pytest.approx(1.0, abs=1e-15)
    assert _cubic_minimum(2.0, 2.0, 9.0, 0.0, 0.0, -3.0) == pytest.approx(1.0, abs=1e-15)
    assert _cubic_minimum(0.0, 0.0, -3.0, 2.0, 2.0, 9.0, bounds=(1.5, 3.0)) == 1.5
    assert _cubic_minimum(0.0, 0.0, -3.0, 2.0, 2.0, 9.0, bounds=(-1.0, 0.5)) == 0.5
    # f = (x - 0.25)^2 through 0 and 1 (a quadratic is a cubic too): minimum 0.25
    assert _cubic_minimum(0.0, 0.0625, -0.5, 1.0, 0.5625, 1.5) == pytest.approx(0.25, abs=1e-15)
    assert _cubic_minimum(1.0, 0.5625, 1.5, 0.0, 0.0625, -0.5) == pytest.approx(0.25, abs=1e-15)
    # no real minimum (d1 = 0, d1^2 - g1 g2 < 0): the middle of the interval, or of the bounds
    assert _cubic_minimum(0.0, 0.0, 1.5, 1.0, 1.0, 1.5) == 0.5
    assert _cubic_minimum(0.0, 0.0, 1.5, 1.0, 1.0, 1.5, bounds=(0.2, 2.0)) == 1.1


def _parabola(t):
    """phi(t) = (t - 1)^2 - 1 along d = [1]: phi(0) = 0, phi'(0) = -2, minimum at t = 1."""
    return (t - 1.0) ** 2 - 1.0, np.array([2.0 * (t - 1.0)])


def test_strong_wolfe_on_a_parabola_zooms_to_the_minimum():
    # t = 5 fails sufficient decrease: bracket [0, 5]; the cubic through the ends is phi, so the
    # first zoom trial is the exact minimum t = 1, where phi' = 0 meets the curvature condition
    f, g, t, evals = _strong_wolfe(_parabola, 5.0, np.array([1.0]), 0.0, np.array([-2.0]), -2.0)
    assert (t, f, g[0], evals) == (1.0, -1.0, 0.0, 2)


def test_strong_wolfe_on_a_parabola_extrapolates_a_short_step():
    # t = 0.05: sufficient decrease holds, |phi'| = 1.9 > 0.9 * 2: extrapolate to the cubic's minimum
    # (t = 1) clipped to [t + 0.01 t, 10 t] = [0.0505, 0.5]; at t = 0.5 |phi'| = 1 <= 1.8: accepted
    f, g, t, evals = _strong_wolfe(_parabola, 0.05, np.array([1.0]), 0.0, np.array([-2.0]), -2.0)
    assert (t, f, g[0], evals) == (0.5, -0.75, -1.0, 2)
    # t = 0.5 at once: accepted without a second evaluation
    assert _strong_wolfe(_parabola, 0.5, np.array([1.0]), 0.0, np.array([-2.0]), -2.0)[2:] == (0.5, 1)


# ---------------------------------------------------------------------------- L-BFGS: the step


def _lbfgs(p, loss_of, **kwargs):
    """An LBFGS over ``[p]`` and its closure for ``loss_of(p, call_number)``."""
    opt = optim.LBFGS([p], **kwargs)
    calls = []

    def closure():
        opt.zero_grad()
        loss = loss_of(p, len(calls))
        calls.append(1)
        loss.backward()
        return loss

    return opt, closure


def test_lbfgs_stops_when_the_direction_is_too_flat():
    # g = 1e-5 > tolerance_grad, but gtd = -1e-10 > -tolerance_change: stop before moving
    p = mg.tensor([5e-6], dtype=mg.float64, requires_grad=True)
    opt, closure = _lbfgs(p, lambda p, k: (p * p).sum())
    assert opt.step(closure).item() == pytest.approx(2.5e-11)
    assert p.item() == 5e-6
    state = opt.state[p]
    assert state["n_iter"] == 1 and state["func_evals"] == 1 and "d" in state


def test_lbfgs_first_step_is_at_most_lr():
    # t = min(1, 1 / |g|_1) lr = min(1, 2) = 1 for g = 0.5
    p = mg.tensor([0.25], dtype=mg.float64, requires_grad=True)
    opt, closure = _lbfgs(p, lambda p, k: (p * p).sum(), max_iter=1)
    opt.step(closure)
    assert p.item() == -0.25


def test_lbfgs_gradient_exactly_at_tolerance_grad_has_converged():
    p = mg.tensor([1.0], dtype=mg.float64, requires_grad=True)
    opt, closure = _lbfgs(p, lambda p, k: (p * 1e-7).sum())
    opt.step(closure)
    assert opt.state[p]["n_iter"] == 0 and p.item() == 1.0


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_stops_once_the_gradient_reaches_tolerance_grad(line_search_fn):
    # slope 1 at the first evaluation, exactly tolerance_grad (1e-7) at every later one
    p = mg.tensor([1.0], dtype=mg.float64, requires_grad=True)
    opt, closure = _lbfgs(p, lambda p, k: (p * (1.0 if k == 0 else 1e-7)).sum(), max_iter=5,
                          line_search_fn=line_search_fn)
    opt.step(closure)
    assert opt.state[p]["n_iter"] == 1 and p.item() == 0.0


def test_lbfgs_stops_when_the_step_is_too_small():
    # |d t| = lr = 1e-10 <= tolerance_change, while the loss still changes by 2e-4
    p = mg.tensor([1.0], dtype=mg.float64, requires_grad=True)
    opt, closure = _lbfgs(p, lambda p, k: (1e6 * p * p).sum(), lr=1e-10, max_iter=5)
    assert opt.step(closure).item() == 1e6
    assert opt.state[p]["n_iter"] == 1


def test_lbfgs_stops_when_the_loss_no_longer_changes_and_resumes_from_its_state():
    # a linear loss 5 + 1e-4 x: each iteration moves x by lr * 1e-4 = 1e-6 and the loss by 1e-10
    p = mg.tensor([0.0], dtype=mg.float64, requires_grad=True)
    opt, closure = _lbfgs(p, lambda p, k: (5.0 + 1e-4 * p).sum(), lr=0.01, max_iter=5)
    assert opt.step(closure).item() == 5.0
    state = opt.state[p]
    assert state["n_iter"] == 1 and state["H_diag"] == 1.0 and state["prev_loss"] == 5.0
    assert p.item() == pytest.approx(-1e-6, rel=1e-12)
    # the second step resumes: y = 0 keeps no pair, so d = -H_diag g with the saved H_diag = 1
    opt.step(closure)
    assert state["n_iter"] == 2
    assert p.item() == pytest.approx(-2e-6, rel=1e-12)


def test_lbfgs_stopping_tests_at_their_exact_thresholds():
    # loss = x / 2 from x = 0 with tolerance_change = 0.25: gᵀd = -0.25 is not > -0.25 (go on), the
    # step |d t| = 0.5 is not <= 0.25 and the loss change 0.25 is not < 0.25: all three iterations run
    p = mg.tensor([0.0], dtype=mg.float64, requires_grad=True)
    opt, closure = _lbfgs(p, lambda p, k: (0.5 * p).sum(), lr=1.0, max_iter=3, max_eval=10,
                          tolerance_change=0.25)
    opt.step(closure)
    assert opt.state[p]["n_iter"] == 3 and p.item() == -1.5
    # loss = x, lr = 0.25: the step |d t| = 0.25 <= 0.25 stops after one iteration
    p = mg.tensor([0.0], dtype=mg.float64, requires_grad=True)
    opt, closure = _lbfgs(p, lambda p, k: p.sum(), lr=0.25, max_iter=3, tolerance_change=0.25)
    opt.step(closure)
    assert opt.state[p]["n_iter"] == 1 and p.item() == -0.25


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_counts_every_write_in_the_version(line_search_fn):
    # a move is one in-place write; a line-search trial is a move and a restore
    p = mg.tensor([1.0, -2.0], dtype=mg.float64, requires_grad=True)
    opt, closure = _lbfgs(p, lambda p, k: ((p - 0.3) ** 4).sum(), max_iter=4, line_search_fn=line_search_fn)
    opt.step(closure)
    s = opt.state[p]
    assert s["n_iter"] == 4
    assert p._version == s["n_iter"] + 2 * (s["func_evals"] - 1 if line_search_fn else 0)


def test_lbfgs_parameter_without_gradient():
    p = mg.tensor([1.0, -2.0], dtype=mg.float64, requires_grad=True)
    unused = mg.tensor([3.0], dtype=mg.float64, requires_grad=True)
    opt = optim.LBFGS([p, unused], max_iter=3)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    opt.step(closure)
    assert unused.item() == 3.0 and unused.grad is None
    assert abs(p.numpy()).max() < 1.0


def test_lbfgs_on_the_device(on_device):
    p = mg.tensor([1.0, -2.0], dtype=mg.float64).cuda().requires_grad_()
    ref = mg.tensor([1.0, -2.0], dtype=mg.float64, requires_grad=True)
    for q in (p, ref):
        opt, closure = _lbfgs(q, lambda q, k: ((q - 0.3) ** 4).sum(), max_iter=4, line_search_fn="strong_wolfe")
        opt.step(closure)
    assert p.device == "cuda"
    np.testing.assert_allclose(np.asarray(p), ref.numpy(), rtol=1e-12)


def test_lbfgs_checks_its_options_and_messages():
    p = mg.tensor([1.0], requires_grad=True)
    optim.LBFGS([p], max_iter=1, max_eval=1, history_size=1)  # 1 is allowed
    for key, value in (("max_iter", 0), ("max_iter", True), ("history_size", 1.5)):
        with pytest.raises(ValueError, match=_exactly(
                f"LBFGS: {key} must be an integer >= 1, got {value!r} (param group 0)")):
            optim.LBFGS([p], **{key: value})
    with pytest.raises(ValueError, match=_exactly("LBFGS: lr must be >= 0, got -1 (param group 0)")):
        optim.LBFGS([p], lr=-1)
    opt = optim.LBFGS([p])
    with pytest.raises(ValueError, match=_exactly(
            "LBFGS doesn't support per-parameter options (parameter groups)")):
        opt.add_param_group({"params": [mg.tensor([2.0], requires_grad=True)]})
    with pytest.raises(ValueError, match=_exactly(
            "LBFGS.step needs a closure that re-evaluates the loss (it evaluates the loss several times per step)")):
        opt.step(None)


# Trial steps of _strong_wolfe, recorded from minigrad's implementation when these tests were
# written (not cross-checked with torch, which was not installed; each returned step meets the
# strong Wolfe conditions unless max_ls or tolerance_change stopped the search). They pin the
# algorithm: bracketing, the extrapolation bounds, zoom, the 10% safeguard and the stopping rules
# each change some trial (the cases were chosen so that every surviving mutant of the line search
# changes at least one). A deliberate change of the line search must re-derive them.
def _wolfe_quartic(t):
    z = 0.3 + t
    return z**4 - 3 * z**2 + z, np.array([4 * z**3 - 6 * z + 1])


def _wolfe_wave(t):
    return -np.sin(3 * t) + 0.1 * t * t, np.array([-3 * np.cos(3 * t) + 0.2 * t])


def _wolfe_flat(t):
    return (t - 1.0) ** 4 - 1.0, np.array([4 * (t - 1.0) ** 3])


def _wolfe_bumpy(t):
    return (-np.sin(3 * t) + 0.1 * t * t + 0.05 * np.sin(40 * t),
            np.array([-3 * np.cos(3 * t) + 0.2 * t + 2.0 * np.cos(40 * t)]))


def _wolfe_wide(t):
    return (t - 30.0) ** 2 / 900.0 - 1.0, np.array([2 * (t - 30.0) / 900.0])


_WOLFE_CASES = [
    ('quartic', 0.001, {}, [0.001, 0.01, 0.1, 1.0, 0.8155628818673009], 0.8155628818673009),
    ('quartic', 50.0, {}, [50.0, 16.485382004554133, 5.351406554477345, 1.7528041372575003, 0.8420086741086367], 0.8420086741086367),
    ('quartic', 50.0, {'max_ls': 2}, [50.0, 16.485382004554133, 5.351406554477345], 0.0),
    ('wave', 3.0, {'c2': 0.01}, [3.0, 1.4239228573209444, 0.38431423022616573, 0.48282207880454164, 0.5769321566561819, 0.5121646754157195], 0.5121646754157195),
    ('bumpy', 30.0, {'c2': 0.0001}, [30.0, 6.4065591547899885, 0.7569425061843278, 0.5871009558988293, 0.5554834867216232, 0.5813191959318603, 0.581046387504071, 0.5784900974258262, 0.5810301720808986], 0.5810301720808986),
    ('flat', 30.0, {'c2': 0.0001}, [30.0, 10.64509380927231, 4.156469253373574, 1.9052683075391177, 0.9527503902333283, 1.300257320144432, 1.0961415618688288, 1.0222896364682403], 1.0222896364682403),
    ('bumpy', 30.0, {'c2': 0.0001, 'tolerance_change': 0.05}, [30.0, 6.4065591547899885, 0.7569425061843278, 0.5871009558988293, 0.5554834867216232], 0.5871009558988293),
    ('wide', 0.001, {}, [0.001, 0.01, 0.1, 1.0, 10.0], 10.0),
    ('quartic', 1e-30, {}, [1e-30, 1.01e-30, 1.0101e-30], 1.01e-30),
    ('quartic', 1e-30, {'max_ls': 2}, [1e-30, 1.01e-30, 1.0101e-30], 0.0),
    ('quartic', 0.001, {'max_ls': 2}, [0.001, 0.01, 0.1], 0.1),
    ('quartic', 0.001, {'c2': 0.0001}, [0.001, 0.01, 0.1, 1.0, 0.8155628818673009, 0.8309867806582893, 0.8294443907791905, 0.8309011225933716], 0.8309011225933716),
    ('quartic', 0.001, {'c2': 0.01}, [0.001, 0.01, 0.1, 1.0, 0.8155628818673009, 0.8309867806582893], 0.8309867806582893),
    ('quartic', 0.05, {}, [0.05, 0.5, 0.9199066525067303, 0.829373859412848], 0.829373859412848),
    ('wave', 1e-30, {}, [1e-30, 1.0000000000000001e-29, 1.0000000000000001e-28, 1e-27, 1e-26, 1e-25, 1.0000000000000001e-24, 1.0000000000000001e-23, 1e-22, 5.5045e-22, 5.5045000000000004e-21, 5.504500000000001e-20, 5.5045e-19, 3.029952025e-18, 3.029952025e-17, 3.0299520249999997e-16, 1.66783709216125e-15, 1.66783709216125e-14, 9.1806092738016e-14, 9.1806092738016e-13, 5.053466374764091e-12, 2.781474208843942e-11, 1.530948878649852e-10, 1.530948878649852e-09, 8.42710810252811e-09, 8.42710810252811e-08], 8.42710810252811e-08),
    ('wave', 1.5708, {'c1': 0.3}, [1.5708, 0.3562957658703536], 0.3562957658703536),
    ('wave', 7.0, {'c1': 0.3}, [7.0, 2.5721709092117484, 0.954195069533516, 2.5481147546613325, 2.5608070777632306, 2.5619434609080822, 2.5609207160777157, 2.5608184415946793, 2.5608082141463755, 2.560807191401545, 2.560807089127062, 2.5608070834451464, 2.5608070806041887, 2.56080707918371, 2.56080707847347], 2.5608070777632306),
    ('flat', 0.001, {'c1': 0.3, 'c2': 0.5}, [0.001, 0.005505, 0.030300025, 0.16677411262500003, 0.9179399898756251, 0.7292963254702864, 0.8236181576729558, 0.8707790737742904, 0.8943595318249578, 0.9061497608502914, 0.9120448753629582, 0.9149924326192916, 0.9164662112474584, 0.9172031005615418, 0.9175715452185834, 0.9177557675471042, 0.9178478787113646, 0.9178939342934949, 0.91791696208456, 0.9179284759800925, 0.9179342329278588, 0.9179394141808485, 0.9179397020282367, 0.9179398459519309, 0.9179399179137779, 0.9179399826794403], 0.9179399898756251),
    ('flat', 1.2, {'c1': 0.3}, [1.2, 0.6870044360323416, 0.9459080676010345, 1.05965530085099, 1.0027750772377129, 0.9820560017043531, 0.9942469892122838, 0.9986473035543908, 1.0006474216453194, 0.9996801281819633, 1.0001495093382669, 0.9999221214679227, 1.000023083819483, 0.9999562166051501, 0.9999325246898649, 0.9999246648316134, 0.9999226797354938, 0.9999222404446554, 0.9999221466561101, 0.9999221267928498, 0.9999221225933033, 0.9999221217057477], 0.9999221214679227),
    ('wide', 0.3, {}, [0.3, 3.0], 3.0),
    ('bumpy', 50.0, {}, [50.0, 2.610752227585124, 7.349677004826612, 4.222725330435665, 2.7480986752237038, 2.6244868723489816], 2.6244868723489816),
    ('quartic', 0.001, {'c2': 0.0001, 'tolerance_change': 0.05, 'scale': 4.0}, [0.001, 0.01, 0.1, 0.24312104611709198, 0.20678433884747643, 0.20772922422163864], 0.20772922422163864),
]


@pytest.mark.parametrize("name, t0, options, trials, t_final", _WOLFE_CASES)
def test_strong_wolfe_trial_steps(name, t0, options, trials, t_final):
    fn = globals()["_wolfe_" + name]
    options = dict(options)
    k = options.pop("scale", 1.0)  # the direction d = [k]: phi(t) = fn(k t)
    seen = []

    def along(t):
        seen.append(float(t))
        return fn(k * t)

    f0, g0 = fn(0.0)
    with np.errstate(divide="ignore"):  # trials 1e-30 apart: the cubic's slope term is 0, clipped
        f, g, t, evals = _strong_wolfe(along, t0, np.array([k]), f0, g0, float(g0[0]) * k, **options)
    assert seen == pytest.approx(trials, rel=1e-12)
    assert evals == len(trials)
    assert t == pytest.approx(t_final, rel=1e-12, abs=1e-300)
    f_at, g_at = fn(k * t)
    assert f == f_at and g[0] == g_at[0]


# ---------------------------------------------------------------------------- Optimizer base class


def test_optimizer_messages():
    p = mg.tensor([1.0], requires_grad=True)
    cases = [
        (lambda: optim.SGD([p], lr="0.1"), ValueError, "SGD: lr must be >= 0, got '0.1' (param group 0)"),
        (lambda: optim.SGD([p], differentiable=True), NotImplementedError,
         "SGD: differentiable=True (autograd through the update) is not supported; the update is plain array math"),
        (lambda: optim.Adam([p], betas=(0.9,)), ValueError,
         "Adam: param group 0: betas must be a pair (beta1, beta2), got (0.9,)"),
        (lambda: optim.Adam([p], betas=(0.9, 1.0)), ValueError, "Adam: betas[1] must be in [0, 1), got 1.0 (param group 0)"),
        (lambda: optim.Adadelta([p], rho=1.5), ValueError, "Adadelta: rho must be in [0, 1], got 1.5 (param group 0)"),
        (lambda: optim.RMSprop([p], alpha=1.5), ValueError, "RMSprop: alpha must be in [0, 1], got 1.5 (param group 0)"),
        (lambda: optim.RMSprop([p], lr=-1), ValueError, "RMSprop: lr must be >= 0, got -1 (param group 0)"),
        (lambda: optim.SGD([p], lr=-1), ValueError, "SGD: lr must be >= 0, got -1 (param group 0)"),
        (lambda: optim.SGD(p), TypeError, "SGD: params must be an iterable of Tensors (e.g. model.parameters()), "
                                          "got a single Tensor; wrap it in a list"),
    ]
    for make, error, message in cases:
        with pytest.raises(error, match=_exactly(message)):
            make()
    # the ends of the ranges are allowed
    optim.Adadelta([p], rho=0.0)
    optim.Adadelta([p], rho=1.0)
    optim.Adam([p], betas=(0.0, 0.0))
    optim.RMSprop([p], alpha=1.0)


def test_add_param_group_messages():
    p = mg.tensor([1.0], requires_grad=True)
    opt = optim.SGD([p])
    cases = [
        ("x", TypeError, "SGD.add_param_group: expected a dict, got str"),
        ({"lr": 1}, ValueError, "SGD.add_param_group: the group has no 'params' entry"),
        ({"params": {p}}, TypeError,
         "SGD: parameters must be in an ordered collection (a list), not a set: state would be paired by position"),
        ({"params": [3]}, TypeError, "SGD: expected Tensors, got int"),
        ({"params": [p]}, ValueError, "SGD: a parameter of shape (1,) appears twice (in this group or in another one)"),
        ({"params": [mg.tensor([2.0], requires_grad=True)], "lr": -1}, ValueError,
         "SGD: lr must be >= 0, got -1 (param group 1)"),
    ]
    for group, error, message in cases:
        with pytest.raises(error, match=_exactly(message)):
            opt.add_param_group(group)
    assert len(opt.param_groups) == 1


def test_load_state_dict_messages():
    p = mg.tensor([1.0], requires_grad=True)
    opt = optim.SGD([p])
    groups = opt.state_dict()["param_groups"]
    cases = [
        ({"state": {}, "param_groups": [{"params": [0]}, {"params": [1]}]},
         "SGD.load_state_dict: the checkpoint has 2 parameter groups, this optimizer 1"),
        ({"state": {0: 3}, "param_groups": groups}, "SGD.load_state_dict: state[0] must be a dict, got int"),
        ({"state": {1: {}}, "param_groups": groups},
         "SGD.load_state_dict: state key 1 is out of range: this optimizer has 1 parameters (indices 0 to 0)"),
    ]
    for state_dict, message in cases:
        with pytest.raises(ValueError, match=_exactly(message)):
            opt.load_state_dict(state_dict)
    adam = optim.Adam([p])
    bad = {"state": {0: {"step": 1, "exp_avg": np.zeros(1), "exp_avg_sq": -np.ones(1)}},
           "param_groups": adam.state_dict()["param_groups"]}
    with pytest.raises(ValueError, match=_exactly(
            "Adam.load_state_dict: state[0]['exp_avg_sq'] has negative entries (min -1.0): it is a running "
            "average of squares or magnitudes, which is never negative")):
        adam.load_state_dict(bad)


def test_load_state_dict_restores_entries():
    p = mg.tensor([1.0, 2.0], requires_grad=True)  # float32
    adam = optim.Adam([p])
    keys = set(adam.param_groups[0])
    saved = adam.state_dict()
    saved["param_groups"][0]["betas"] = [0.8, 0.9]  # a list, as after a JSON round trip
    saved["state"] = {"0": {"step": np.array(3.0), "exp_avg": np.array([0.5, 0.25]),  # float64 arrays
                            "exp_avg_sq": np.zeros(2), "counts": np.array([1, 2])}}
    adam.load_state_dict(saved)
    assert set(adam.param_groups[0]) == keys and adam.param_groups[0]["betas"] == (0.8, 0.9)
    state = adam.state[p]
    assert state["step"] == 3 and isinstance(state["step"], int)
    assert state["exp_avg"].dtype == np.float32 and state["counts"].dtype == np.int64
    np.testing.assert_array_equal(state["exp_avg"], [0.5, 0.25])
    saved["state"] = {0: {"step": 0}}
    adam.load_state_dict(saved)
    assert adam.state[p]["step"] == 0


def test_load_state_dict_then_step_a_parameter_without_state():
    p, q = mg.tensor([1.0], requires_grad=True), mg.tensor([2.0], requires_grad=True)
    opt = optim.SGD([p, q], lr=0.5, momentum=0.9)
    opt.load_state_dict({"state": {}, "param_groups": opt.state_dict()["param_groups"]})
    (p * q).sum().backward()
    opt.step()
    assert p.item() == 0.0 and q.item() == 1.5


def test_optimizer_device_arrays_count_as_arrays():
    from minigrad.optim.optimizer import _is_array

    class DeviceArray:
        __cuda_array_interface__ = {}

    assert _is_array(DeviceArray()) and _is_array(np.float32(1.0)) and not _is_array([1.0])


def test_optimizer_step_and_zero_grad_details():
    a, b = mg.tensor([1.0], requires_grad=True), mg.tensor([2.0], requires_grad=True)
    opt = optim.SGD([a, b], lr=0.5)
    (b * 3).sum().backward()  # a gets no gradient
    assert opt.step() is None
    assert a.item() == 1.0 and b.item() == 0.5
    opt.zero_grad()
    assert b.grad is None


def test_a_custom_optimizer_without_maximize_descends():
    class Plain(optim.Optimizer):
        def __init__(self, params, lr=0.5):
            super().__init__(params, dict(lr=lr))

        def _update(self, param, grad, state, group):
            param -= group["lr"] * grad

    p = mg.tensor([1.0], requires_grad=True)
    opt = Plain([p])
    (p * 2).sum().backward()
    opt.step()
    assert p.item() == 0.0


# ---------------------------------------------------------------------------- RMSprop state


def _rmsprop_steps(n, switch=None, **kwargs):
    """n RMSprop steps on loss = 2 p from p = 1 (gradient 2); ``switch`` edits the group after step 1."""
    p = mg.tensor([1.0], dtype=mg.float64, requires_grad=True)
    opt = optim.RMSprop([p], lr=0.1, alpha=0.5, **kwargs)
    for i in range(n):
        opt.zero_grad()
        (2 * p).sum().backward()
        opt.step()
        if i == 0 and switch:
            opt.param_groups[0].update(switch)
    return p, opt.state[p]


def test_rmsprop_state_entries_are_torchs():
    assert set(_rmsprop_steps(1)[1]) == {"step", "square_avg"}
    assert set(_rmsprop_steps(1, momentum=0.9)[1]) == {"step", "square_avg", "momentum_buffer"}
    p, state = _rmsprop_steps(3, centered=True)
    assert set(state) == {"step", "square_avg", "grad_avg"} and state["step"] == 3
    # grad_avg is the running mean of the gradient: 2 (1 - 0.5^3)
    np.testing.assert_allclose(state["grad_avg"], [1.75], rtol=1e-15)


def test_rmsprop_centered_and_momentum_turned_on_later():
    g, a, lr = 2.0, 0.5, 0.1
    v1 = (1 - a) * g * g
    p1 = 1.0 - lr * g / (np.sqrt(v1) + 1e-8)
    v2 = a * v1 + (1 - a) * g * g
    m2 = (1 - a) * g  # grad_avg starts at zero when centered is turned on
    p, state = _rmsprop_steps(2, switch={"centered": True})
    assert "grad_avg" in state
    np.testing.assert_allclose(p.numpy(), [p1 - lr * g / (np.sqrt(v2 - m2 * m2) + 1e-8)], rtol=1e-14)
    p, state = _rmsprop_steps(2, switch={"momentum": 0.9})
    assert "momentum_buffer" in state
    np.testing.assert_allclose(p.numpy(), [p1 - lr * g / (np.sqrt(v2) + 1e-8)], rtol=1e-14)


@pytest.mark.parametrize("name, options", [("Adagrad", dict(fused=False)), ("Adam", dict(fused=False)),
                                           ("AdamW", dict(fused=False, capturable=True, maximize=True)),
                                           ("SGD", dict(fused=False))])
def test_optimizer_keeps_the_compatibility_flags_it_is_given(name, options):
    opt = getattr(optim, name)([mg.tensor([1.0], requires_grad=True)], **options)
    assert {k: opt.defaults[k] for k in options} == options


def test_load_state_dict_accepts_tensors_as_state_entries():
    p = mg.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([p], momentum=0.9)
    opt.load_state_dict({"state": {0: {"momentum_buffer": mg.tensor([0.5, 0.25])}},
                         "param_groups": opt.state_dict()["param_groups"]})
    buf = opt.state[p]["momentum_buffer"]
    assert isinstance(buf, np.ndarray)
    np.testing.assert_array_equal(buf, [0.5, 0.25])


def test_scheduler_messages_and_step_lr_defaults():
    opt = _opt()
    with pytest.raises(KeyError) as info:
        lr_scheduler.StepLR(opt, 1, last_epoch=3)
    assert info.value.args[0] == ("StepLR: last_epoch=3 needs 'initial_lr' in every param group (resume by "
                                  "loading the scheduler's state_dict instead)")
    with pytest.raises(ValueError, match=_exactly("StepLR: step_size must be >= 1, got 0")):
        lr_scheduler.StepLR(opt, 0)
    sched = lr_scheduler.StepLR(_opt(lr=1.0), step_size=2)  # gamma 0.1 by default
    lrs = [sched.get_last_lr()[0]]
    for _ in range(4):
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    assert lrs == pytest.approx([1.0, 1.0, 0.1, 0.1, 0.01])
    opt = _opt()
    lr_scheduler.StepLR(opt, step_size=2)
    resumed = lr_scheduler.StepLR(opt, step_size=2, last_epoch=3)
    assert resumed.last_epoch == 4 and resumed.get_last_lr() == pytest.approx([0.01])


def test_sequential_lr_drives_its_schedulers():
    opt = _opt(lr=1.0)
    keys = set(opt.param_groups[0]) | {"initial_lr"}
    warm = lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=4)
    decay = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    seq = lr_scheduler.SequentialLR(opt, [warm, decay], milestones=[2])
    assert set(opt.param_groups[0]) == keys
    lrs = [seq.get_last_lr()[0]]
    for _ in range(3):
        seq.step()
        lrs.append(seq.get_last_lr()[0])
    assert lrs == pytest.approx([0.5, 0.625, 1.0, 0.5])  # epoch 2 is the milestone: decay's epoch 0
    assert decay.last_epoch == 1 and decay.get_last_lr() == seq.get_last_lr()
    state = seq.state_dict()
    del state["schedulers"]  # an older checkpoint without the sub-schedulers
    seq.load_state_dict(state)
    assert seq.last_epoch == 3


def test_sequential_lr_passes_the_group_to_lambda_lr():
    opt = _opt(lr=1.0, groups=2)
    lam = lr_scheduler.LambdaLR(opt, [lambda e: 1.0, lambda e: 0.5])
    seq = lr_scheduler.SequentialLR(opt, [lam], milestones=[])
    assert seq.get_last_lr() == [1.0, 0.5]
    seq.step()
    assert seq.get_last_lr() == [1.0, 0.5]
    one = _opt(lr=1.0)
    seq1 = lr_scheduler.SequentialLR(one, [lr_scheduler.LambdaLR(one, lambda e: 0.5 ** e)], milestones=[])
    assert seq1.lr_at(1.0, 2) == 0.25


def test_cubic_minimum_of_a_cubic_with_a_double_stationary_point():
    # f = 3x^3 - 3x^2 + x through (0, 0) and (1, 1), slopes 1 and 4: f' = (3x - 1)^2, d2 = 0
    assert _cubic_minimum(0.0, 0.0, 1.0, 1.0, 1.0, 4.0) == pytest.approx(1.0 / 3.0, rel=1e-15)


def test_lbfgs_line_search_that_finds_nothing_keeps_the_gradient():
    # a huge first step on the quartic, and max_eval = 3 leaves the search max_ls = 2 trials beyond
    # its first: it returns t = 0, and with it the loss and gradient it started from
    p = mg.tensor([0.0], dtype=mg.float64, requires_grad=True)
    opt, closure = _lbfgs(p, lambda p, k: ((0.3 + p) ** 4 - 3 * (0.3 + p) ** 2 + (0.3 + p)).sum(),
                          lr=72.0, max_iter=1, max_eval=3, line_search_fn="strong_wolfe")
    opt.step(closure)
    assert p.item() == 0.0 and opt.state[p]["func_evals"] == 4  # 1 + the search's 3
