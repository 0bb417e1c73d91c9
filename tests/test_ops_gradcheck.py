"""Float64 gradient checks for every differentiable op of the core (chapter 1).

Each case is (name, function of the inputs, input shapes). One helper,
``minigrad.gradcheck``, with its default tolerances, checks them all.
"""

import numpy as np
import pytest

import minigrad as mg

pytestmark = pytest.mark.autograd


def make(shape, rng, low=None, positive=False, distinct=False):
    """A float64 leaf tensor; ``positive`` for log/sqrt/div, ``distinct`` avoids kinks and ties."""
    if distinct:
        n = int(np.prod(shape)) if shape else 1
        values = rng.permutation(n) * 0.37 - n * 0.15 + 0.05
        data = values.reshape(shape)
    else:
        data = rng.standard_normal(shape)
    if positive:
        data = np.abs(data) + 0.5
    return mg.tensor(data, dtype=mg.float64, requires_grad=True)


UNARY = {
    "neg": lambda x: -x,
    "exp": mg.exp,
    "tanh": mg.tanh,
    "sigmoid": mg.sigmoid,
    "gelu": mg.gelu,
    "gelu_tanh": lambda x: mg.gelu(x, approximate="tanh"),
    "pow_scalar": lambda x: x**3,
    "square": lambda x: x * x,
    "rpow": lambda x: 2.0**x,
    "rsub": lambda x: 1.0 - x,
    "rdiv": lambda x: 1.0 / (x * x + 1),
}
POSITIVE_UNARY = {
    "log": mg.log,
    "sqrt": mg.sqrt,
    "pow_fractional": lambda x: x**0.5,
}
KINKED_UNARY = {  # kinks at 0 / at the bounds: evaluated on distinct points away from them
    "abs": mg.abs,
    "relu": mg.relu,
    "leaky_relu": lambda x: mg.leaky_relu(x, 0.1),
    "clip": lambda x: mg.clip(x, -0.5, 0.7),
    "clip_min_only": lambda x: x.clamp(min=0.2),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(name, rng):
    assert mg.gradcheck(UNARY[name], [make((3, 4), rng)])


@pytest.mark.parametrize("name", sorted(POSITIVE_UNARY))
def test_unary_positive_domain(name, rng):
    assert mg.gradcheck(POSITIVE_UNARY[name], [make((3, 4), rng, positive=True)])


@pytest.mark.parametrize("name", sorted(KINKED_UNARY))
def test_unary_with_kinks(name, rng):
    assert mg.gradcheck(KINKED_UNARY[name], [make((3, 4), rng, distinct=True)])


BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 0.5),
    "maximum": mg.maximum,
    "minimum": mg.minimum,
    "pow_tensor": lambda a, b: (a * a + 0.5) ** b,
}
SHAPE_PAIRS = [((3, 4), (3, 4)), ((3, 1, 4), (5, 4)), ((4,), (2, 3, 4)), ((2, 1), (1, 3)), ((), (3,))]


@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_broadcasting(name, shapes, rng):
    a = make(shapes[0], rng, distinct=name in ("maximum", "minimum"))
    b = make(shapes[1], rng, distinct=name in ("maximum", "minimum"))
    if name in ("maximum", "minimum"):
        b = mg.tensor(b.data + 0.011, requires_grad=True)  # no exact ties
    assert mg.gradcheck(BINARY[name], [a, b])


@pytest.mark.parametrize("op", [lambda x: x + 2.5, lambda x: 3 * x, lambda x: x / 4, lambda x: 5 - x])
def test_tensor_and_scalar(op, rng):
    assert mg.gradcheck(op, [make((2, 3), rng)])


def test_where(rng):
    cond = rng.random((3, 1, 4)) > 0.5
    assert mg.gradcheck(lambda a, b: mg.where(cond, a, b), [make((5, 4), rng), make((3, 5, 1), rng)])


# ----------------------------------------------------------------------------- reductions

REDUCTIONS = {
    "sum": mg.sum,
    "mean": mg.mean,
    "var": mg.var,
    "var_biased": lambda x, **kw: mg.var(x, correction=0, **kw),
    "std": mg.std,
    "amax": mg.amax,
    "amin": mg.amin,
    "logsumexp": mg.logsumexp,
}
DIMS = [None, 0, -1, (0, 2), (1,)]


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", DIMS, ids=str)
@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reductions(name, dim, keepdim, rng):
    x = make((2, 3, 4), rng, distinct=name in ("amax", "amin"))
    assert mg.gradcheck(lambda x: REDUCTIONS[name](x, dim=dim, keepdim=keepdim), [x])


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("largest", [True, False])
def test_max_min_along_dim_values_and_gradient(largest, dim, keepdim, rng):
    x = make((3, 4), rng, distinct=True)
    op = mg.max if largest else mg.min
    assert mg.gradcheck(lambda x: op(x, dim, keepdim=keepdim).values, [x])
    values, indices = op(x, dim, keepdim)
    ref = (np.max if largest else np.min)(x.numpy(), axis=dim, keepdims=keepdim)
    ref_idx = (np.argmax if largest else np.argmin)(x.numpy(), axis=dim)
    np.testing.assert_array_equal(values.numpy(), ref)
    np.testing.assert_array_equal(indices.numpy(), np.expand_dims(ref_idx, dim) if keepdim else ref_idx)
    assert indices.dtype == np.int64 and not indices.requires_grad


@pytest.mark.parametrize("largest", [True, False])
def test_amax_amin_split_gradient_between_ties(largest):
    x = mg.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], dtype=mg.float64, requires_grad=True)
    y = x.amax(dim=1) if largest else x.amin(dim=1)
    y.sum().backward()
    expected = [[0, 0.5, 0.5], [1 / 3] * 3] if largest else [[1, 0, 0], [1 / 3] * 3]
    np.testing.assert_allclose(x.grad.numpy(), expected)


@pytest.mark.parametrize("largest", [True, False])
def test_max_along_dim_sends_gradient_to_the_index_like_pytorch(largest):
    # torch.max(x, 1) routes the gradient to the returned index (the first winner),
    # while the full reduction x.max() splits it between ties (PyTorch 2.x, both)
    x = mg.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], dtype=mg.float64, requires_grad=True)
    (x.max(dim=1) if largest else x.min(dim=1)).values.sum().backward()
    first = [[0, 1, 0], [1, 0, 0]] if largest else [[1, 0, 0], [1, 0, 0]]
    np.testing.assert_array_equal(x.grad.numpy(), first)
    x.grad = None
    (x[1].max() if largest else x[1].min()).backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0, 0], [1 / 3] * 3])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_family(name, dim, rng):
    fn = getattr(mg, name)
    assert mg.gradcheck(lambda x: fn(x, dim=dim), [make((3, 4, 5), rng)])


# ----------------------------------------------------------------------------- matmul

MATMUL_SHAPES = [
    ((3, 4), (4, 2)),
    ((4,), (4, 2)),
    ((3, 4), (4,)),
    ((4,), (4,)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (3, 4, 2)),
    ((5, 3, 4), (5, 4, 2)),
    ((4,), (2, 4, 3)),
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul(shapes, rng):
    assert mg.gradcheck(lambda a, b: a @ b, [make(shapes[0], rng), make(shapes[1], rng)])


# ----------------------------------------------------------------------------- shape ops

SHAPE_OPS = {
    "reshape": lambda x: x.reshape(4, 6),
    "reshape_infer": lambda x: x.reshape(-1, 3),
    "flatten": lambda x: x.flatten(),
    "flatten_1": lambda x: mg.flatten(x, start_dim=1),
    "transpose": lambda x: x.transpose(0, 2),
    "permute": lambda x: x.permute(2, 0, 1),
    "T": lambda x: x.T,
    "mT": lambda x: x.mT,
    "unsqueeze": lambda x: x.unsqueeze(1),
    "squeeze": lambda x: x.unsqueeze(0).squeeze(0),
    "broadcast_to": lambda x: x[:, :1].broadcast_to((5, 2, 3, 4)),
    "expand": lambda x: x[:1].expand(3, -1, -1),
    "slice": lambda x: x[1:, ::2, -1],
    "ellipsis_none": lambda x: x[..., None, 1],
    "int_array_repeated": lambda x: x[[0, 1, 0, 0]],
    "int_arrays_2d": lambda x: x[[0, 1, 1], [2, 0, 2]],
    "bool_mask": lambda x: x[x.data > 0],
    "tensor_index": lambda x: x[mg.tensor([1, 1, 0])],
    "pad": lambda x: mg.pad(x, (1, 2, 0, 1)),
    "pad_value": lambda x: mg.pad(x, (2, 0), value=-1.0),
    "split": lambda x: mg.split(x, 3, dim=2)[1] * 2 + mg.split(x, [1, 3], dim=2)[1][..., :1],
    "chunk": lambda x: mg.chunk(x, 2, dim=1)[0],
}


@pytest.mark.parametrize("name", sorted(SHAPE_OPS))
def test_shape_ops(name, rng):
    assert mg.gradcheck(SHAPE_OPS[name], [make((2, 3, 4), rng)])


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat(dim, rng):
    shapes = {0: [(1, 3, 2), (2, 3, 2)], 1: [(2, 1, 2), (2, 4, 2)], -1: [(2, 3, 1), (2, 3, 3)]}[dim]
    a, b = (make(s, rng) for s in shapes)
    assert mg.gradcheck(lambda a, b: mg.cat([a, b, a], dim=dim), [a, b])


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_stack(dim, rng):
    assert mg.gradcheck(lambda a, b: mg.stack([a, b, a], dim=dim), [make((2, 3), rng), make((2, 3), rng)])


def test_detach_blocks_the_gradient(rng):
    x = make((3,), rng)
    (x * x.detach()).sum().backward()  # d/dx (x * const) = const
    np.testing.assert_array_equal(x.grad.numpy(), x.numpy())


def test_composite_graph_reuses_inputs(rng):
    """A diamond-shaped graph: x feeds several branches that meet again."""

    def fn(x, w):
        h = mg.tanh(x @ w)
        return (h * mg.sigmoid(h) + h.softmax(-1)).logsumexp(0) + (x**2).mean()

    assert mg.gradcheck(fn, [make((4, 3), rng), make((3, 3), rng)])


# ----------------------------------------------------------------------------- kinks and ties
# gradchecks keep inputs away from kinks and ties by design, so the subgradient there is
# checked exactly, against the value PyTorch 2.13 returns (written next to each case).


def test_subgradients_at_kinks_match_pytorch():
    x = mg.tensor(np.array([-1.0, 0.0, 1.0]), requires_grad=True)
    x.abs().sum().backward()  # torch: sign(x) -> [-1, 0, 1]
    np.testing.assert_array_equal(x.grad.numpy(), [-1.0, 0.0, 1.0])
    x.grad = None
    x.relu().sum().backward()  # torch: (x > 0) -> [0, 0, 1]
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 1.0])
    x.grad = None
    x.clamp(min=0.0, max=1.0).sum().backward()  # torch: (x >= min) & (x <= max) -> [0, 1, 1]
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 1.0])
    x.grad = None
    x.clamp(min=-1.0, max=0.0).sum().backward()  # both bounds hit exactly -> [1, 1, 0]
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0, 0.0])


@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_elementwise_maximum_minimum_split_ties_half_half(op):
    # torch.maximum/minimum: on a tie each side gets g / 2
    a = mg.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    b = mg.tensor(np.array([1.0, 5.0, 0.0]), requires_grad=True)
    getattr(mg, op)(a, b).sum().backward()
    a_wins = [0.5, 0.0, 1.0] if op == "maximum" else [0.5, 1.0, 0.0]
    np.testing.assert_array_equal(a.grad.numpy(), a_wins)
    np.testing.assert_array_equal(b.grad.numpy(), 1 - np.array(a_wins))


@pytest.mark.parametrize("stride", [1, 2])
def test_max_pool_ties_send_the_gradient_to_the_first_maximum(stride):
    # torch.nn.functional.max_pool2d(x, 2, stride) on a window of equal values routes each
    # window's gradient to its first element in row-major order (summed where windows overlap)
    x = mg.tensor(np.ones((1, 1, 3, 3)), requires_grad=True)
    mg.nn.functional.max_pool2d(x, 2, stride).sum().backward()
    expected = {
        1: [[1, 1, 0], [1, 1, 0], [0, 0, 0]],  # windows at (0,0),(0,1),(1,0),(1,1): their first cells
        2: [[1, 0, 0], [0, 0, 0], [0, 0, 0]],  # one window (3x3 input, floor mode)
    }[stride]
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], expected)


# ----------------------------------------------------------------------------- attention dropout


def test_attention_dropout_rescales_kept_weights():
    # uniform weights 1/S over S keys, value 1: without dropout every output is 1; with
    # inverted dropout the expectation stays 1 (kept weights scaled by 1/(1-p)); a missing
    # rescale gives 1 - p
    mg.manual_seed(0)
    q = mg.zeros(1, 4000, 8, dtype=mg.float64)
    k = mg.zeros(1, 10, 8, dtype=mg.float64)
    v = mg.ones(1, 10, 1, dtype=mg.float64)
    out = mg.nn.functional.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy()
    assert abs(out.mean() - 1.0) < 0.02
    kept = out * 10 * (1 - 0.5)  # each row: (number of kept keys / 10) / (1 - p), undone
    np.testing.assert_allclose(kept, np.round(kept), atol=1e-9)
    assert kept.min() >= 0 and kept.max() <= 10


def test_attention_with_dropout_gradcheck_with_a_fixed_mask():
    # the same seed before each call draws the same mask, so the function is deterministic and
    # gradcheck checks that backward applies the mask (and its 1/(1-p)) to the weights
    rng = np.random.default_rng(0)
    q, k, v = (mg.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True) for _ in range(3))

    def attend(q, k, v):
        mg.manual_seed(5)
        return mg.nn.functional.scaled_dot_product_attention(q, k, v, dropout_p=0.3)

    assert mg.gradcheck(attend, [q, k, v])
    with mg.no_grad():
        mg.manual_seed(5)
        dropped = attend(q, k, v).numpy()
        plain = mg.nn.functional.scaled_dot_product_attention(q, k, v).numpy()
    assert not np.allclose(dropped, plain)


def test_softmax_of_a_0d_tensor_is_one_with_zero_gradient():
    # torch.softmax(torch.tensor(3.), 0) -> 1.; log_softmax -> 0.; gradient 0
    x = mg.tensor(np.float64(3.0), requires_grad=True)
    y = mg.softmax(x, dim=0)
    assert y.shape == () and y.item() == 1.0
    y.backward()
    assert x.grad.item() == 0.0
    assert mg.log_softmax(x, dim=0).item() == 0.0
