"""In-place ops, version counters, ``.data`` and ``__setitem__``, with PyTorch's rules.

Each PyTorch behaviour a test follows is written down next to it (checked against
PyTorch 2.13 on the CPU), so the test says what it compares with.
"""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

pytestmark = pytest.mark.autograd


def f64(*values, requires_grad=False):
    return mg.tensor(np.array(values, dtype=np.float64), requires_grad=requires_grad)


# ----------------------------------------------------------------------------- the five divergences


def test_manual_update_under_no_grad_changes_the_parameter():
    # "What is torch.nn really?": `p -= p.grad * lr` inside no_grad() updates p in place.
    # Before: Python rebound `p` and the model never changed (loss flat, no error).
    model = nn.Linear(3, 1)
    x, y = mg.randn(8, 3), mg.randn(8, 1)
    losses = []
    for _ in range(5):
        loss = ((model(x) - y) ** 2).mean()
        losses.append(loss.item())
        loss.backward()
        with mg.no_grad():
            for p in model.parameters():
                p -= p.grad * 0.1
            model.zero_grad()
    assert losses[-1] < losses[0] * 0.9


def test_max_with_dim_returns_values_and_indices():
    # torch.max(out, 1) -> torch.return_types.max(values, indices); `_, pred = torch.max(out, 1)`
    # takes the indices even when the batch has 2 rows.
    out = mg.tensor([[0.1, 0.9], [0.8, 0.2]])
    _, pred = mg.max(out, 1)
    np.testing.assert_array_equal(pred.numpy(), [1, 0])
    result = out.max(dim=1)
    np.testing.assert_allclose(result.values.numpy(), [0.9, 0.8])
    np.testing.assert_array_equal(result.indices.numpy(), [1, 0])
    assert type(result).__name__ == "max"
    v, i = out.min(1, keepdim=True)
    assert v.shape == (2, 1) and i.shape == (2, 1)
    # torch.max(x) is a value; torch.max(a, b) is elementwise
    assert mg.max(out).item() == pytest.approx(0.9)
    np.testing.assert_allclose(mg.max(out, mg.full((2, 2), 0.5)).numpy(), [[0.5, 0.9], [0.8, 0.5]])
    np.testing.assert_allclose(mg.min(out, other=mg.full((2, 2), 0.5)).numpy(), [[0.1, 0.5], [0.5, 0.2]])


def test_format_of_a_0d_tensor_formats_the_number():
    # PyTorch: f"{t:.4f}" and f"{t}" of a 0-d tensor format t.item()
    t = mg.tensor(17.0)
    assert f"{t}" == "17.0"
    assert f"{t:.4f}" == "17.0000"
    assert f"{mg.tensor(3)}" == "3"
    with pytest.raises(TypeError):
        f"{mg.tensor([1.0, 2.0]):.2f}"


# ----------------------------------------------------------------------------- in-place values


@pytest.mark.parametrize(
    "method, args, expected",
    [
        ("add_", (2.0,), [3.0, 4.0]),
        ("sub_", (0.5,), [0.5, 1.5]),
        ("mul_", (3.0,), [3.0, 6.0]),
        ("div_", (2.0,), [0.5, 1.0]),
        ("pow_", (2,), [1.0, 4.0]),
        ("neg_", (), [-1.0, -2.0]),
        ("exp_", (), np.exp([1.0, 2.0])),
        ("log_", (), np.log([1.0, 2.0])),
        ("sqrt_", (), np.sqrt([1.0, 2.0])),
        ("tanh_", (), np.tanh([1.0, 2.0])),
        ("sigmoid_", (), 1 / (1 + np.exp(-np.array([1.0, 2.0])))),
        ("relu_", (), [1.0, 2.0]),
        ("clamp_", (1.5, None), [1.5, 2.0]),
        ("zero_", (), [0.0, 0.0]),
        ("fill_", (7.0,), [7.0, 7.0]),
        ("copy_", (mg.tensor([9.0]),), [9.0, 9.0]),
    ],
)
def test_inplace_methods_write_into_the_same_memory(method, args, expected):
    x = f64(1.0, 2.0)
    array = x._data
    out = getattr(x, method)(*args)
    assert out is x and x._data is array
    np.testing.assert_allclose(array, expected)
    assert x._version == 1


def test_add_with_alpha_and_augmented_assignment():
    x = f64(1.0, 2.0)
    x.add_(f64(1.0, 1.0), alpha=-0.5)
    np.testing.assert_allclose(x.numpy(), [0.5, 1.5])
    y = x
    y += 1
    y *= 2
    y -= 1
    y /= 2
    assert y is x
    np.testing.assert_allclose(x.numpy(), [1.0, 2.0])
    assert x._version == 5


def test_inplace_refuses_a_shape_change_and_a_narrowing_cast():
    x = mg.zeros(3)
    with pytest.raises(RuntimeError, match=r"doesn't match the broadcast shape \[2, 3\]"):
        x.add_(mg.ones(2, 3))
    i = mg.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        i.add_(0.5)  # PyTorch: result type Float can't be cast to the desired output type Long
    i.add_(1)
    np.testing.assert_array_equal(i.numpy(), [2, 3])


def test_normal_and_uniform_fill_with_a_generator():
    g = mg.Generator().manual_seed(3)
    a = mg.empty(1000).normal_(2.0, 0.5, generator=g)
    b = mg.empty(1000).normal_(2.0, 0.5, generator=mg.Generator().manual_seed(3))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert abs(a.numpy().mean() - 2.0) < 0.1 and abs(a.numpy().std() - 0.5) < 0.05
    u = mg.empty(1000).uniform_(-1, 1)
    assert -1 <= u.numpy().min() and u.numpy().max() < 1 and u.dtype == np.float32


# ----------------------------------------------------------------------------- autograd rules


def test_inplace_on_a_leaf_that_requires_grad_is_an_error():
    # PyTorch: "a leaf Variable that requires grad is being used in an in-place operation."
    w = f64(1.0, 2.0, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w.add_(1.0)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w[0] = 3.0
    with mg.no_grad():
        w.add_(1.0)  # allowed: that is how optimizers update
    np.testing.assert_allclose(w.numpy(), [2.0, 3.0])


def test_modifying_a_saved_tensor_fails_at_backward_with_versions():
    # PyTorch: "one of the variables needed for gradient computation has been modified by an
    # inplace operation: [torch.DoubleTensor [2]] ... is at version 1; expected version 0"
    a = f64(1.0, 2.0, requires_grad=True)
    b = a * 2
    c = b * b  # saves b
    b.add_(1)
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation.*\[2\].*version 1; "
                                           r"expected version 0"):
        c.sum().backward()


def test_modifying_a_saved_output_fails_at_backward():
    # exp saves its output: exp(x).add_(1) then backward through exp is wrong in PyTorch too
    x = f64(0.0, 1.0, requires_grad=True)
    y = x.exp()
    z = y * 1.0
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_modifying_a_tensor_nobody_saved_is_fine():
    # add saves nothing: PyTorch allows `y = x + 1; y.add_(1)` and gives dy/dx = 1
    x = f64(1.0, 2.0, requires_grad=True)
    y = x + 1
    y.add_(1)
    y.mul_(3)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])
    np.testing.assert_allclose(y.detach().numpy(), [9.0, 12.0])


def test_view_shares_the_version_counter():
    x = f64(1.0, 2.0, 3.0, 4.0)
    v = x.reshape(2, 2)
    row = x[1:]
    v.add_(1)
    assert x._version == v._version == row._version == 1
    np.testing.assert_allclose(row.numpy(), [3.0, 4.0, 5.0])


def test_inplace_into_a_view_of_a_graph_tensor_is_refused_with_a_hint():
    a = f64(1.0, 2.0, requires_grad=True)
    h = a * 1
    with pytest.raises(RuntimeError, match="view"):
        h[0:1].mul_(2)


def test_inplace_chain_gradcheck():
    # y = ((x * w) + b) in place ops, then relu_: gradients as the out-of-place chain
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    w = mg.tensor(rng.standard_normal((4,)), requires_grad=True)

    def inplace(x, w):
        h = x * 1.0
        h.mul_(w)
        h.add_(w, alpha=0.5)
        h.sub_(0.1)
        h.div_(w * w + 1)
        h.tanh_()
        h.pow_(2)
        return h

    def plain(x, w):
        return (((x * w + 0.5 * w - 0.1) / (w * w + 1)).tanh()) ** 2

    np.testing.assert_allclose(inplace(x, w).detach().numpy(), plain(x, w).detach().numpy())
    assert mg.gradcheck(inplace, [x, w])


def test_data_is_a_detached_tensor_sharing_memory():
    p = nn.Parameter(mg.tensor([1.0, 2.0]))
    d = p.data
    assert isinstance(d, mg.Tensor) and not d.requires_grad and d._data is p._data
    p.grad = mg.tensor([1.0, 1.0])
    p.data.add_(p.grad, alpha=-0.5)  # the word_language_model update
    np.testing.assert_allclose(p.numpy(), [0.5, 1.5])
    assert p._version == 0  # autograd does not see .data writes (PyTorch's documented rule)
    p.data = mg.tensor([5.0, 6.0, 7.0])  # replacing the data (shape may change)
    assert p.shape == (3,)


def test_detach_shares_the_version_counter():
    x = f64(1.0, 2.0)
    d = x.detach()
    d.zero_()
    assert x._version == 1 and x.numpy().sum() == 0


# ----------------------------------------------------------------------------- __setitem__


def test_setitem_values_like_numpy():
    x = mg.zeros(3, 4)
    x[0] = 1.0
    x[1, 2] = mg.tensor(5.0)
    x[:, 3] = mg.tensor([7.0, 8.0, 9.0])
    x[x > 6] = -1.0
    expected = np.zeros((3, 4))
    expected[0] = 1
    expected[1, 2] = 5
    expected[:, 3] = [7, 8, 9]
    expected[expected > 6] = -1
    np.testing.assert_allclose(x.numpy(), expected)


@pytest.mark.parametrize(
    "index",
    [0, (slice(None), 1), (slice(0, 2), slice(1, 3)), np.array([2, 0]), "mask"],
    ids=["int", "column", "block", "int-array", "bool-mask"],
)
def test_setitem_gradcheck_base_and_value(index):
    # PyTorch records x[i] = v (index_put_): d/dx is g with zeros at i, d/dv is g[i]
    rng = np.random.default_rng(1)
    x = mg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    mask = x.numpy() > 0
    idx = mask if isinstance(index, str) else index
    shape = x.numpy()[idx].shape
    v = mg.tensor(rng.standard_normal(shape), requires_grad=True)

    def f(x, v):
        h = x * 1.0
        h[idx] = v
        return h * h

    assert mg.gradcheck(f, [x, v])
    h = x * 1.0
    h[idx] = v
    h.sum().backward()
    expected = np.ones((3, 4))
    expected[idx] = 0
    np.testing.assert_allclose(x.grad.numpy(), expected)
    np.testing.assert_allclose(v.grad.numpy(), np.ones(shape))


def test_setitem_broadcast_value_gets_the_summed_gradient():
    x = mg.zeros(3, 4, dtype=mg.float64)
    v = f64(1.0, 2.0, 3.0, 4.0, requires_grad=True)
    h = x * 1.0
    h[1:] = v  # v broadcast over 2 rows
    (h * 2).sum().backward()
    np.testing.assert_allclose(v.grad.numpy(), [4.0, 4.0, 4.0, 4.0])


def test_setitem_bad_shape_names_the_shapes():
    x = mg.zeros(3)
    with pytest.raises(ValueError, match=r"setitem: cannot assign a value of shape \(2,\)"):
        x[:] = mg.tensor([1.0, 2.0])


# ----------------------------------------------------------------------------- Tensor names


def test_pytorch_tensor_method_names():
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.type() == "minigrad.FloatTensor" and x.long().type() == "minigrad.LongTensor"
    assert x.type(mg.float64).dtype == np.float64
    assert x.nelement() == 4 and x.element_size() == 4
    assert x.is_contiguous() and not x.T.is_contiguous() and x.T.contiguous().is_contiguous()
    np.testing.assert_allclose(x.t().numpy(), x.numpy().T)
    np.testing.assert_allclose(x.mm(x).numpy(), x.numpy() @ x.numpy())
    b = mg.randn(2, 3, 4)
    assert b.bmm(mg.randn(2, 4, 5)).shape == (2, 3, 5)
    with pytest.raises(RuntimeError, match="bmm"):
        x.bmm(x)
    assert x.view_as(mg.zeros(4)).shape == (4,) and x.reshape_as(mg.zeros(1, 4)).shape == (1, 4)
    assert mg.ones(1, 2).expand_as(x).shape == (2, 2)
    np.testing.assert_allclose(x.narrow(1, 1, 1).numpy(), [[2.0], [4.0]])
    assert x.new_zeros(3).dtype == np.float32 and x.new_ones((2, 2)).numpy().sum() == 4
    assert x.new_full((2,), 7).numpy().tolist() == [7.0, 7.0]
    assert x.new_tensor([1, 2]).dtype == np.float32 and x.new_empty(2, 3).shape == (2, 3)
    assert x.eq(x).all() and not x.ne(x).any() and x.lt(5).all() and x.le(4).all()
    assert x.gt(0).all() and x.ge(1).all()
    assert x.is_floating_point() and not x.long().is_floating_point()
    c = x.clone()
    c.zero_()
    assert x.numpy().sum() == 10
    assert x.to("cpu", mg.float64).dtype == np.float64 and x.to(mg.zeros(1, dtype=mg.float64)).dtype == np.float64
    assert x.to(dtype=mg.float32) is x


def test_dtype_aliases():
    assert mg.float is mg.float32 and mg.double is mg.float64 and mg.half is mg.float16
    assert mg.long is mg.int64 and mg.int is mg.int32 and mg.bool is mg.bool_
    assert mg.zeros(2, dtype=mg.long).dtype == np.int64


def test_random_factories_follow_pytorch_signatures():
    assert mg.randint(10, (3,)).shape == (3,) and mg.randint(10, (3,)).dtype == np.int64
    r = mg.randint(5, 8, (100,))
    assert r.numpy().min() >= 5 and r.numpy().max() < 8
    assert mg.randint(0, 2, size=(2, 2)).shape == (2, 2)
    assert sorted(mg.randperm(6).numpy().tolist()) == list(range(6))
    g1, g2 = mg.Generator().manual_seed(7), mg.Generator().manual_seed(7)
    np.testing.assert_array_equal(mg.rand(5, generator=g1).numpy(), mg.rand(5, generator=g2).numpy())
    np.testing.assert_array_equal(mg.randperm(9, generator=g1).numpy(), mg.randperm(9, generator=g2).numpy())
    assert g1.initial_seed() == 7
    arr = np.zeros(3)
    t = mg.from_numpy(arr)
    t.add_(1)
    assert arr.tolist() == [1, 1, 1]  # shares memory, as torch.from_numpy
    counts = np.bincount(mg.multinomial(mg.tensor([0.0, 1.0, 3.0]), 400, replacement=True).numpy(), minlength=3)
    assert counts[0] == 0 and counts[2] > counts[1]


def test_grad_mode_context_managers_and_decorators():
    x = mg.ones(2, requires_grad=True)

    @mg.no_grad
    def bare():
        return (x * 2).requires_grad

    @mg.no_grad()
    def called():
        return (x * 2).requires_grad

    assert not bare() and not called() and (x * 2).requires_grad
    with mg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    mg.set_grad_enabled(False)
    assert not mg.is_grad_enabled()
    mg.set_grad_enabled(True)
    with mg.inference_mode():
        assert not (x * 2).requires_grad
    with mg.no_grad(), mg.enable_grad():
        assert (x * 2).requires_grad


# ----------------------------------------------------------------------------- minigrad.autograd


class Cube(mg.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x * x * x * scale

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x * x * ctx.scale * g, None


def test_custom_function_in_pytorch_form():
    x = mg.tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)
    y = Cube.apply(x, 2.0)
    np.testing.assert_allclose(y.detach().numpy(), 2 * x.numpy() ** 3)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.numpy() ** 2)
    assert mg.gradcheck(lambda x: Cube.apply(x, 0.5), [x])


def test_custom_function_needs_input_grad_and_non_differentiable_outputs():
    seen = {}

    class SortValues(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            seen["needs"] = ctx.needs_input_grad
            order = mg.tensor(np.argsort(x.numpy()))
            ctx.mark_non_differentiable(order)
            ctx.save_for_backward(order)
            return x[order] + y, order

        @staticmethod
        def backward(ctx, g):
            (order,) = ctx.saved_tensors
            gx = mg.zeros_like(g)
            gx[order] = g
            return gx, g

    x = mg.tensor(np.array([3.0, 1.0, 2.0]), requires_grad=True)
    y = mg.tensor(np.array([0.0, 0.0, 0.0]))
    values, order = SortValues.apply(x, y)
    assert seen["needs"] == (True, False) and not order.requires_grad
    (values * mg.tensor(np.array([1.0, 2.0, 3.0]))).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 1.0, 2.0])


def test_autograd_grad_returns_gradients_and_leaves_dot_grad_alone():
    x = mg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    w = mg.tensor(np.array([3.0, 4.0]), requires_grad=True)
    h = x * w
    y = (h * h).sum()
    gx, gh = mg.autograd.grad(y, [x, h], retain_graph=True)
    np.testing.assert_allclose(gx.numpy(), 2 * x.numpy() * w.numpy() ** 2)
    np.testing.assert_allclose(gh.numpy(), 2 * h.detach().numpy())
    assert x.grad is None and w.grad is None
    unused = mg.tensor(np.array([1.0]), requires_grad=True)
    with pytest.raises(RuntimeError, match="not have been used"):
        mg.autograd.grad(y, [unused], retain_graph=True)
    (g,) = mg.autograd.grad(y, [unused], allow_unused=True, retain_graph=True)
    assert g is None
    (g,) = mg.autograd.grad([h], [w], grad_outputs=[mg.tensor(np.array([1.0, 1.0]))])
    np.testing.assert_allclose(g.numpy(), x.numpy())


def test_backward_inputs_limits_accumulation():
    x = mg.tensor(np.array([1.0]), requires_grad=True)
    w = mg.tensor(np.array([2.0]), requires_grad=True)
    (x * w).sum().backward(inputs=[w])
    assert x.grad is None and w.grad.item() == 1.0
    with pytest.raises(NotImplementedError, match="create_graph"):
        (x * w).sum().backward(create_graph=True)


def test_setitem_mixing_an_integer_and_an_index_array_follows_pytorch_order():
    # torch: x[0, :, idx] has shape (n, len(idx)) (the integer selects first); assigning a
    # value of that shape writes those positions (NumPy's order would want (len(idx), n))
    x = mg.zeros(2, 3, 4, dtype=mg.float64)
    idx = mg.tensor([1, 3])
    value = mg.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    h = x * 1.0
    h[0, :, idx] = value
    np.testing.assert_array_equal(h[0, :, idx].detach().numpy(), value.detach().numpy())
    expected = np.zeros((2, 3, 4))
    expected[0][:, [1, 3]] = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(h.detach().numpy(), expected)
    (h * h).sum().backward()
    np.testing.assert_array_equal(value.grad.numpy(), 2 * np.arange(6.0).reshape(3, 2))
