"""The Tensor, the backward pass and the errors students meet (chapter 1)."""

import numpy as np
import pytest

import minigrad as mg
from minigrad.tensor import Function

pytestmark = pytest.mark.autograd


# ----------------------------------------------------------------------------- construction


def test_default_dtypes():
    assert mg.tensor([1.0, 2.0]).dtype == np.float32
    assert mg.tensor([1, 2]).dtype == np.int64
    assert mg.tensor(np.zeros(2)).dtype == np.float64  # NumPy arrays keep their dtype
    assert mg.tensor([1.0], dtype=mg.float64).dtype == np.float64
    assert mg.zeros(2, 3).shape == (2, 3) and mg.zeros(2, 3).dtype == np.float32
    assert mg.ones((2, 3)).dtype == np.float32
    assert mg.full((2,), 7.0).tolist() == [7.0, 7.0]
    assert mg.arange(3).tolist() == [0, 1, 2] and mg.arange(3).dtype == np.int64
    assert mg.arange(0.0, 1.0, 0.5).dtype == np.float32
    assert mg.zeros_like(mg.ones(2, dtype=mg.float64)).dtype == np.float64
    assert mg.ones_like(mg.zeros(3)).tolist() == [1.0, 1.0, 1.0]


def test_manual_seed_repeats_random_tensors():
    mg.manual_seed(42)
    a, b = mg.randn(3), mg.rand(3)
    mg.manual_seed(42)
    np.testing.assert_array_equal(a.numpy(), mg.randn(3).numpy())
    np.testing.assert_array_equal(b.numpy(), mg.rand(3).numpy())
    assert 0 <= b.numpy().min() and b.numpy().max() < 1


def test_properties_and_conversions():
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert x.shape == (2, 2) and x.ndim == 2 and x.device == "cpu" and x.numel() == 4
    assert x.is_leaf and x.grad is None
    assert isinstance(x.numpy(), np.ndarray) and np.asarray(x).shape == (2, 2)
    assert mg.tensor([[5.0]]).item() == 5.0
    assert x.detach().requires_grad is False
    with pytest.raises(ValueError, match="one-element"):
        x.item()


def test_repr_is_readable():
    assert repr(mg.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert "requires_grad=True" in repr(mg.tensor([1.0], requires_grad=True))
    assert "grad_fn=<Mul>" in repr(mg.tensor([1.0], requires_grad=True) * 2)
    assert "dtype=float64" in repr(mg.tensor([1.0], dtype=mg.float64))


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="only floating point tensors can require gradients, got dtype int64"):
        mg.tensor([1, 2], requires_grad=True)


def test_dtype_promotion_follows_numpy():
    f32, f64 = mg.ones(2), mg.ones(2, dtype=mg.float64)
    assert (f32 + f64).dtype == np.float64
    assert (f32 * 2.0).dtype == np.float32  # a Python number never widens a tensor
    assert (mg.tensor([1, 2]) * 0.5).dtype == np.float32  # PyTorch's rule, not NumPy's float64
    assert (f32 * mg.tensor([1, 2])).dtype == np.float32  # an integer tensor never widens a float one
    assert (mg.tensor([True, False]) * f64).dtype == np.float64
    x = mg.ones(2, requires_grad=True)
    (x * f64).sum().backward()
    assert x.grad.dtype == np.float32  # the gradient has the input's dtype


def test_cast_is_differentiable():
    x = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    y = x.float()
    assert y.dtype == np.float32
    (y * 3).sum().backward()
    assert x.grad.dtype == np.float64 and x.grad.tolist() == [3.0, 3.0]


# ----------------------------------------------------------------------------- backward


def test_backward_chain_rule_by_hand():
    x = mg.tensor(3.0, requires_grad=True)
    y = x * x + 2 * x  # dy/dx = 2x + 2 = 8
    y.backward()
    assert x.grad.item() == 8.0


def test_gradients_accumulate_across_backward_calls():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 8.0])  # 2 * (2x)


def test_second_backward_on_freed_graph_is_a_clear_error():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_backward_of_non_scalar_needs_grad():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"scalar outputs, got shape \(2,\)"):
        (x * 2).backward()
    (x * 2).backward(gradient=np.array([1.0, 10.0], dtype=np.float32))
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 20.0])
    with pytest.raises(RuntimeError, match=r"gradient has shape \(3,\)"):  # PyTorch: RuntimeError
        (x * 2).backward(gradient=np.ones(3))


def test_backward_without_grad_requirement_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        mg.tensor([1.0]).sum().backward()


def test_shared_subexpression_gets_all_its_gradient():
    x = mg.tensor(2.0, requires_grad=True)
    h = x * 3
    y = h * h + h  # dy/dx = (2h + 1) * 3 = 39
    y.backward()
    assert x.grad.item() == 39.0


def test_deep_graph_does_not_recurse():
    """An LSTM unrolled over thousands of steps makes a very deep graph."""
    x = mg.tensor(1.0, dtype=mg.float64, requires_grad=True)
    h = x
    for _ in range(5000):
        h = h * 1.0001 + 0.0
    h.backward()
    np.testing.assert_allclose(x.grad.item(), 1.0001**5000)


def test_no_grad_records_nothing():
    x = mg.tensor([1.0], requires_grad=True)
    with mg.no_grad():
        y = x * 2
        with mg.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and mg.is_grad_enabled()


def test_no_grad_is_per_thread():
    """A server thread's no_grad() must not switch gradients off in other threads."""
    import threading

    inside = threading.Event()
    leave = threading.Event()

    def worker():
        with mg.no_grad():
            inside.set()
            leave.wait(5)

    thread = threading.Thread(target=worker)
    thread.start()
    inside.wait(5)
    try:
        assert mg.is_grad_enabled()
        assert (mg.ones(1, requires_grad=True) * 2).requires_grad
    finally:
        leave.set()
        thread.join()


def test_graph_is_freed_after_backward():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * 2).sum()
    fn = y.grad_fn
    y.backward()
    assert fn.released and not hasattr(fn, "inputs")


def test_retain_grad_keeps_intermediate_gradient():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    h.sum().backward()
    np.testing.assert_array_equal(h.grad.numpy(), [1.0, 1.0])


def test_a_broken_backward_is_caught_where_it_happens():
    class BadSquare(Function):
        def forward(self, x):
            return x * x

        def backward(self, g):
            return g.sum()  # wrong: a scalar for a (3,) input

    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"badsquare.backward returned a gradient of shape \(\) "
                                           r"for input 0 of shape \(3,\)"):
        BadSquare.apply(x).sum().backward()


# ----------------------------------------------------------------------------- errors name op and shapes


def test_matmul_shape_error():
    with pytest.raises(ValueError, match=r"matmul: shapes \(3, 4\) and \(5, 2\) are not aligned"):
        mg.ones(3, 4) @ mg.ones(5, 2)


def test_broadcast_error_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"add: cannot apply to shapes \(3, 4\) and \(5,\)"):
        mg.ones(3, 4) + mg.ones(5)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: mg.ones(2, 3).reshape(4, 2), r"reshape: cannot reshape a tensor of shape \(2, 3\)"),
        (lambda: mg.ones(2, 3).sum(dim=2), "sum: dim 2 is out of range"),
        (lambda: mg.cat([mg.ones(2, 3), mg.ones(3, 2)], dim=0), "cat: shapes must match except in dim 0"),
        (lambda: mg.stack([mg.ones(2), mg.ones(3)]), "stack: shapes must match"),
        (lambda: mg.ones(2, 3).permute(0, 0), "permute"),
        (lambda: mg.ones(3)[5], r"getitem: .* shape \(3,\)"),
        (lambda: mg.split(mg.ones(5), [2, 2]), r"split: sizes \[2, 2\] do not add up to 5"),
        (lambda: mg.ones(2).broadcast_to((3,)), r"broadcast_to: cannot broadcast shape \(2,\) to \(3,\)"),
        (lambda: mg.ones(3).sum(dim=0, axis=0), "either dim= or axis="),
        (lambda: mg.ones(2, 2).mean(dim=(0, 1)).backward(), "does not require grad"),
        (lambda: mg.gelu(mg.ones(1), approximate="fast"), "approximate must be"),
    ],
)
def test_errors_name_the_op(call, message):
    with pytest.raises((ValueError, IndexError, RuntimeError, TypeError), match=message):
        call()


# ----------------------------------------------------------------------------- forward values


@pytest.mark.parametrize(
    "mg_fn, np_fn",
    [
        (mg.exp, np.exp),
        (lambda x: mg.log(mg.abs(x) + 1), lambda x: np.log(np.abs(x) + 1)),
        (lambda x: mg.sqrt(mg.abs(x) + 1), lambda x: np.sqrt(np.abs(x) + 1)),
        (mg.abs, np.abs),
        (mg.tanh, np.tanh),
        (mg.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
        (mg.relu, lambda x: np.maximum(x, 0)),
        (lambda x: mg.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
        (lambda x: mg.clip(x, -0.3, 0.4), lambda x: np.clip(x, -0.3, 0.4)),
        (lambda x: x.sum(dim=(0, 2)), lambda x: x.sum(axis=(0, 2))),
        (lambda x: x.mean(axis=1, keepdims=True), lambda x: x.mean(axis=1, keepdims=True)),
        (lambda x: x.var(dim=1), lambda x: x.var(axis=1, ddof=1)),
        (lambda x: x.var(dim=1, unbiased=False), lambda x: x.var(axis=1)),
        (lambda x: x.std(), lambda x: x.std(ddof=1)),
        (lambda x: x.max(dim=-1).values, lambda x: x.max(axis=-1)),
        (lambda x: x.amax(dim=(0, 1)), lambda x: x.max(axis=(0, 1))),
        (lambda x: x.min(), lambda x: x.min()),
        (lambda x: x.argmax(dim=1), lambda x: x.argmax(axis=1)),
        (lambda x: x.logsumexp(dim=1), lambda x: np.log(np.exp(x).sum(axis=1))),
        (lambda x: x.softmax(dim=1), lambda x: np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)),
        (lambda x: x.log_softmax(dim=-1), lambda x: x - np.log(np.exp(x).sum(-1, keepdims=True))),
        (lambda x: x.permute(2, 0, 1), lambda x: x.transpose(2, 0, 1)),
        (lambda x: x[:, [0, 0, 2]], lambda x: x[:, [0, 0, 2]]),
        (lambda x: mg.pad(x, (1, 2)), lambda x: np.pad(x, ((0, 0), (0, 0), (1, 2)))),
        (lambda x: mg.stack([x, x], dim=1), lambda x: np.stack([x, x], axis=1)),
        (lambda x: mg.concatenate([x, x], axis=2), lambda x: np.concatenate([x, x], axis=2)),
        (lambda x: x @ x.mT, lambda x: x @ x.swapaxes(-1, -2)),
        (lambda x: x ** 2 / (x + 3), lambda x: x**2 / (x + 3)),
        (lambda x: mg.maximum(x, 0.1), lambda x: np.maximum(x, 0.1)),
        (lambda x: mg.where(x > 0, x, -x), np.abs),
    ],
)
def test_forward_matches_numpy(mg_fn, np_fn, rng):
    x = rng.standard_normal((2, 3, 4))
    np.testing.assert_allclose(mg_fn(mg.tensor(x)).numpy(), np_fn(x), rtol=1e-12, atol=1e-12)


def test_gelu_matches_erf_definition(rng):
    import math

    x = rng.standard_normal(50) * 3
    exact = np.array([v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x])
    np.testing.assert_allclose(mg.gelu(mg.tensor(x)).numpy(), exact, atol=2e-7)


def test_split_and_chunk_pieces():
    x = mg.arange(10)
    assert [p.tolist() for p in mg.split(x, 4)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [p.shape for p in mg.chunk(mg.ones(2, 6), 3, dim=1)] == [(2, 2)] * 3
    assert isinstance(mg.split(x, 4), tuple) and isinstance(x.chunk(2), tuple)  # as torch's


# ----------------------------------------------------------------------------- stability


@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_softmax_family_is_stable_for_huge_inputs(scale):
    x = mg.tensor([[0.0, 1.0, 2.0]], dtype=mg.float64) * scale
    np.testing.assert_allclose(x.softmax(-1).numpy(), [[0, 0, 1]] if scale > 0 else [[1, 0, 0]])
    lse = x.logsumexp(dim=-1).item()
    assert lse == pytest.approx(max(0.0, 2 * scale))
    log_p = x.log_softmax(-1).numpy()
    assert np.isfinite(log_p).all() and log_p.max() == 0.0


@pytest.mark.parametrize("value, expected", [(1e4, 1.0), (-1e4, 0.0), (0.0, 0.5)])
def test_sigmoid_is_stable(value, expected):
    x = mg.tensor([value], requires_grad=True)
    with np.errstate(over="raise", invalid="raise"):  # never overflows or makes NaN
        y = mg.sigmoid(x)
        y.sum().backward()
    assert y.item() == expected and np.isfinite(x.grad.numpy()).all()


@pytest.mark.filterwarnings("ignore:divide by zero")
def test_logsumexp_of_all_minus_infinity_rows_is_minus_infinity():
    x = mg.tensor([[-np.inf, -np.inf], [0.0, 0.0]])
    out = x.logsumexp(dim=1).numpy()
    assert out[0] == -np.inf and out[1] == pytest.approx(np.log(2))


# ----------------------------------------------------------------------------- regressions (bug hunt)


def test_numpy_scalars_do_not_widen_float32():
    x = mg.ones(2, requires_grad=True)
    for y in (x / np.sqrt(2.0), x * np.int64(3), x ** np.float64(2), mg.maximum(x, np.float64(0))):
        assert y.dtype == np.float32


def test_integer_tensors_give_float32_in_float_ops():
    i = mg.tensor([1, 2, 4])
    for y in (i / i, i / 2, mg.exp(i), mg.sqrt(i), mg.log(i), i.softmax(0), mg.sigmoid(i), i ** 0.5):
        assert y.dtype == np.float32
    assert (i * 2).dtype == np.int64 and (i ** 2).dtype == np.int64  # integer results stay integers


def test_arrays_passed_to_ops_get_a_clear_error():
    with pytest.raises(TypeError, match="exp: expected Tensor inputs, got ndarray"):
        mg.ops.elementwise.Exp.apply(np.ones(3))


def test_tensor_copies_its_input_like_torch_tensor():
    source = np.ones(3, dtype=np.float32)
    t = mg.tensor(source, requires_grad=True)
    t.data -= 1
    assert source.tolist() == [1.0, 1.0, 1.0]
    shared = mg.Tensor(source)  # Tensor(array) shares memory, like torch.from_numpy
    shared.data += 1
    assert source.tolist() == [2.0, 2.0, 2.0]


def test_softmax_accepts_numpy_axis_alias():
    x = mg.tensor([[1.0, 2.0], [3.0, 5.0]])
    np.testing.assert_allclose(x.softmax(axis=0).numpy(), x.softmax(dim=0).numpy())


def test_zero_dim_tensors_accept_dim_0_and_minus_1():
    x = mg.tensor(3.0, requires_grad=True)
    assert x.sum(dim=0).item() == 3.0 and x.logsumexp(dim=-1).item() == 3.0


def test_pow_zero_has_zero_gradient_at_zero():
    x = mg.tensor([0.0, 2.0], requires_grad=True)
    (x**0).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]


def test_full_with_an_int_is_int64_and_expand_rejects_minus_one_for_new_dims():
    assert mg.full((2,), 3).dtype == np.int64 and mg.full((2,), 3.0).dtype == np.float32
    with pytest.raises(ValueError, match="expand: -1 is not allowed for the new leading dims"):
        mg.ones(3).expand(-1, 3)


def test_every_declared_method_exists_and_matches_its_op_signature():
    # minigrad/tensor_methods.py writes out x.op(...) for each op named in minigrad.ops
    # (_METHODS, _INPLACE_METHODS); each method's parameters are the op's minus the tensor
    import inspect

    from minigrad import ops

    for name in ops._METHODS:
        method = getattr(mg.Tensor, name)
        op = next(f for f in (getattr(mg, name, None), getattr(ops, name, None)) if callable(f))
        if name in ("max", "min", "where", "clone", "to"):
            continue  # written by hand in tensor.py with PyTorch's method-specific forms
        want = list(inspect.signature(op).parameters)[1:]
        got = list(inspect.signature(method).parameters)[1:]
        assert got == want, f"Tensor.{name}{got} vs minigrad.{name}{want}"
    for name in ops._INPLACE_METHODS:
        assert callable(getattr(mg.Tensor, name + "_")), f"Tensor.{name}_ is missing"
    x = mg.tensor([[3.0, 1.0], [2.0, 5.0]])
    assert x.sum(dim=1).numpy().tolist() == [4.0, 7.0]
    assert x.clone().tril_().numpy().tolist() == [[3.0, 0.0], [2.0, 5.0]]
    assert (x.long() % 2).numpy().tolist() == [[1, 1], [0, 1]] and x.any().item() is True
