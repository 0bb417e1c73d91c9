"""PyTorch's options on the 2-D/1-D convolution and pooling functions and layers (issue 10).

``F.conv2d``/``F.conv1d``/``nn.Conv2d``/``nn.Conv1d``: ``groups`` (depthwise included),
``padding="same"/"valid"``, ``padding_mode``; ``F.max_pool2d``/``nn.MaxPool2d``: ``ceil_mode``,
``dilation``, ``return_indices``; ``F.avg_pool2d``/``nn.AvgPool2d``: ``ceil_mode``,
``count_include_pad=False``, ``divisor_override``; ``F.adaptive_avg_pool2d`` for any size.
Each option is checked against a loop written from PyTorch's definition, against the
general N-d modules it is routed to, and with a float64 gradcheck; the default arguments
must still take the fast paths (`minigrad.ops.conv.Conv2d`, `minigrad.ops.pool`).
"""

import math

import numpy as np
import pytest

import minigrad
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.ops import conv as conv_ops
from minigrad.ops import pool as pool_ops
from minigrad.ops.conv3d import ConvNd, convnd
from minigrad.ops.padding import AxisMaps
from minigrad.ops.pool_more import MaxPoolNd, _avg_pool_nd, max_pool2d_with_indices, max_unpool2d

pytestmark = pytest.mark.cnn

NP_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def t64(array, requires_grad=True):
    return minigrad.tensor(np.ascontiguousarray(array, dtype=np.float64),
                           requires_grad=requires_grad)


@pytest.fixture
def rng():
    return np.random.default_rng(10)


# ----------------------------------------------------------------------------- loop references


def ref_conv2d(x, w, b=None, stride=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1), groups=1,
               mode="zeros"):
    """One output pixel and one group at a time; ``pads`` = ((top, bottom), (left, right))."""
    (sh, sw), (dh, dw) = stride, dilation
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(pads), mode=NP_MODES[mode])
    n, c = x.shape[:2]
    o, cg, kh, kw = w.shape
    og = o // groups
    oh = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, o, oh, ow))
    for g in range(groups):
        xs, ws = xp[:, g * cg : (g + 1) * cg], w[g * og : (g + 1) * og]
        for i in range(oh):
            for j in range(ow):
                patch = xs[:, :, i * sh : i * sh + dh * (kh - 1) + 1 : dh,
                           j * sw : j * sw + dw * (kw - 1) + 1 : dw]
                y[:, g * og : (g + 1) * og, i, j] = np.einsum("ncpq,ocpq->no", patch, ws)
    return y if b is None else y + b[None, :, None, None]


def same_pads(kernel, dilation):
    """PyTorch's "same": total d·(k-1) per axis, total // 2 before and the rest after."""
    totals = [d * (k - 1) for d, k in zip(dilation, kernel)]
    return tuple((t // 2, t - t // 2) for t in totals)


def pool_size(n, k, s, p, d, ceil_mode):
    """PyTorch's pooling output size, written out again from its documentation."""
    span = n + 2 * p - d * (k - 1) - 1
    out = (math.ceil(span / s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= n + p:  # the last window may not start in the right pad
        out -= 1
    return out


def ref_max_pool2d(x, kernel, stride, padding, dilation, ceil_mode):
    """Values and flat (into H·W) indices of each window's first maximum, one window at a time."""
    n, c, h, w = x.shape
    oh, ow = (pool_size(x.shape[2 + a], kernel[a], stride[a], padding[a], dilation[a], ceil_mode)
              for a in range(2))
    vals, idx = np.zeros((n, c, oh, ow)), np.zeros((n, c, oh, ow), dtype=np.int64)
    for b in range(n):
        for ch in range(c):
            for i in range(oh):
                for j in range(ow):
                    best, arg = -np.inf, -1
                    for p in range(kernel[0]):
                        for q in range(kernel[1]):
                            r = i * stride[0] + p * dilation[0] - padding[0]
                            s = j * stride[1] + q * dilation[1] - padding[1]
                            if 0 <= r < h and 0 <= s < w and x[b, ch, r, s] > best:
                                best, arg = x[b, ch, r, s], r * w + s
                    vals[b, ch, i, j], idx[b, ch, i, j] = best, arg
    return vals, idx


def ref_avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    """PyTorch's average-pool loop: the window clipped to input + padding, then to the input."""
    n, c, h, w = x.shape
    oh, ow = (pool_size(x.shape[2 + a], kernel[a], stride[a], padding[a], 1, ceil_mode)
              for a in range(2))
    y = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            h0, w0 = i * stride[0] - padding[0], j * stride[1] - padding[1]
            h1, w1 = min(h0 + kernel[0], h + padding[0]), min(w0 + kernel[1], w + padding[1])
            size = (h1 - h0) * (w1 - w0)
            h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, h), min(w1, w)
            total = x[:, :, h0:h1, w0:w1].sum(axis=(2, 3))
            divisor = divisor_override or (size if count_include_pad else (h1 - h0) * (w1 - w0))
            y[:, :, i, j] = total / divisor
    return y


def ref_adaptive_avg_pool2d(x, out):
    h, w = x.shape[-2:]
    y = np.zeros(x.shape[:-2] + tuple(out))
    for i in range(out[0]):
        for j in range(out[1]):
            r0, r1 = (i * h) // out[0], -((-(i + 1) * h) // out[0])
            c0, c1 = (j * w) // out[1], -((-(j + 1) * w) // out[1])
            y[..., i, j] = x[..., r0:r1, c0:c1].mean(axis=(-2, -1))
    return y


# ----------------------------------------------------------------------------- fast paths


def functions(y):
    """The Function classes of the graph that produced ``y``."""
    seen, stack = set(), [y.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is not None and type(fn) not in seen:
            seen.add(type(fn))
            stack.extend(t.grad_fn for t in fn.inputs)
    return seen


def test_default_arguments_take_the_fast_paths(rng):
    x = t64(rng.standard_normal((2, 4, 8, 8)))
    w = t64(rng.standard_normal((6, 4, 3, 3)))
    for y in (F.conv2d(x, w), F.conv2d(x, w, padding=1, stride=2, dilation=2),
              F.conv2d(x, w, padding="same"), F.conv2d(x, w, padding="valid"),
              F.conv2d(x, w, groups=1)):
        assert type(y.grad_fn) is conv_ops.Conv2d
    y1 = F.conv1d(t64(rng.standard_normal((2, 4, 9))), t64(rng.standard_normal((6, 4, 3))),
                  padding="same")
    assert type(y1.grad_fn.inputs[0].grad_fn) is conv_ops.Conv2d  # conv1d reshapes conv2d's output
    assert type(nn.Conv2d(4, 6, 3, padding=1)(x).grad_fn) is conv_ops.Conv2d
    xo = t64(rng.standard_normal((1, 2, 7, 7)))  # ceil_mode adds a partial window
    for y in (F.max_pool2d(x, 2), F.max_pool2d(x, 3, 2, 1, dilation=1),
              F.max_pool2d(x, 2, ceil_mode=True), F.max_pool2d(xo, 2, ceil_mode=True),
              F.max_pool2d(x, 2, dilation=2), nn.MaxPool2d(3, 2, 1, 2, ceil_mode=True)(xo)):
        assert type(y.grad_fn) is pool_ops.MaxPool2d
    for y in (F.avg_pool2d(x, 2), F.avg_pool2d(x, 3, 2, 1), F.avg_pool2d(x, 2, divisor_override=3),
              F.avg_pool2d(x, 2, count_include_pad=False),  # no padding: same divisors
              F.avg_pool2d(x, 2, ceil_mode=True), F.adaptive_avg_pool2d(x, 4),
              nn.AvgPool2d(2)(x), F.avg_pool2d(xo, 3, 2, 1, ceil_mode=True),  # unequal divisors
              F.avg_pool2d(xo, 3, 2, 1, count_include_pad=False)):
        assert type(y.grad_fn) is pool_ops.AvgPool2d


def test_options_take_the_general_paths(rng):
    x = t64(rng.standard_normal((1, 4, 7, 7)))
    fns = functions(F.conv2d(x, t64(rng.standard_normal((4, 1, 3, 3))), groups=4))
    assert ConvNd in fns and conv_ops.Conv2d not in fns
    fns = functions(F.conv2d(x, t64(rng.standard_normal((2, 4, 2, 2))), padding="same"))
    assert ConvNd in fns and conv_ops.Conv2d not in fns
    for y in (F.max_pool2d(x, 2, return_indices=True)[0],
              nn.MaxPool2d(3, 2, ceil_mode=True, return_indices=True)(x)[0]):
        fns = functions(y)
        assert MaxPoolNd in fns and pool_ops.MaxPool2d not in fns
    for y in (F.adaptive_avg_pool2d(x, 3), F.adaptive_avg_pool2d(x[0], 7)):  # 7 / 3; unbatched
        fns = functions(y)
        assert AxisMaps in fns and pool_ops.AvgPool2d not in fns


# ----------------------------------------------------------------------------- convolution


GROUP_CASES = [  # C_in, C_out, groups, kernel, stride, padding, dilation
    (4, 6, 2, (3, 3), (1, 1), (1, 1), (1, 1)),
    (4, 4, 4, (3, 3), (1, 1), (1, 1), (1, 1)),  # depthwise
    (3, 6, 3, (2, 3), (2, 1), (0, 2), (1, 2)),  # depthwise multiplier 2, strided, dilated
    (6, 4, 2, (1, 1), (1, 1), (0, 0), (1, 1)),
]


@pytest.mark.parametrize("cin,cout,groups,kernel,stride,padding,dilation", GROUP_CASES)
def test_conv2d_groups_matches_loop_and_convnd(rng, cin, cout, groups, kernel, stride, padding,
                                               dilation):
    x = rng.standard_normal((2, cin, 7, 8))
    w = rng.standard_normal((cout, cin // groups) + kernel)
    b = rng.standard_normal(cout)
    y = F.conv2d(t64(x, False), t64(w, False), t64(b, False), stride, padding, dilation, groups)
    ref = ref_conv2d(x, w, b, stride, tuple((p, p) for p in padding), dilation, groups)
    np.testing.assert_allclose(y.numpy(), ref, atol=1e-12)
    general = convnd(t64(x, False), t64(w, False), t64(b, False), stride, padding, dilation, groups)
    np.testing.assert_allclose(y.numpy(), general.numpy(), atol=1e-12)


def test_conv2d_groups_one_equals_sum_of_split_convolutions(rng):
    # groups=2 is two independent convolutions, side by side
    x, w = rng.standard_normal((2, 4, 6, 6)), rng.standard_normal((6, 2, 3, 3))
    y = F.conv2d(t64(x, False), t64(w, False), groups=2).numpy()
    for g in range(2):
        part = F.conv2d(t64(x[:, 2 * g : 2 * g + 2], False), t64(w[3 * g : 3 * g + 3], False))
        np.testing.assert_allclose(y[:, 3 * g : 3 * g + 3], part.numpy(), atol=1e-12)


@pytest.mark.parametrize("kernel,dilation", [((3, 3), (1, 1)), ((2, 4), (1, 1)),
                                             ((3, 2), (2, 3)), ((4, 5), (1, 2))])
@pytest.mark.parametrize("groups", [1, 2])
def test_conv2d_padding_same_and_valid(rng, kernel, dilation, groups):
    x = rng.standard_normal((2, 4, 7, 10))
    w = rng.standard_normal((4, 4 // groups) + kernel)
    y = F.conv2d(t64(x, False), t64(w, False), padding="same", dilation=dilation, groups=groups)
    assert y.shape == (2, 4, 7, 10)
    ref = ref_conv2d(x, w, None, (1, 1), same_pads(kernel, dilation), dilation, groups)
    np.testing.assert_allclose(y.numpy(), ref, atol=1e-12)
    valid = F.conv2d(t64(x, False), t64(w, False), padding="valid", dilation=dilation,
                     groups=groups)
    np.testing.assert_allclose(valid.numpy(), ref_conv2d(x, w, None, (1, 1), ((0, 0), (0, 0)),
                                                         dilation, groups), atol=1e-12)


def test_conv1d_groups_and_same(rng):
    x, w, b = rng.standard_normal((2, 6, 11)), rng.standard_normal((4, 3, 4)), rng.standard_normal(4)
    y = F.conv1d(t64(x, False), t64(w, False), t64(b, False), padding="same", dilation=2, groups=2)
    ref = ref_conv2d(x[:, :, None], w[:, :, None], b, (1, 1), ((0, 0), (3, 3)), (1, 2), 2)[:, :, 0]
    np.testing.assert_allclose(y.numpy(), ref, atol=1e-12)
    y = F.conv1d(t64(x, False), t64(w, False), stride=2, padding=1, groups=2)
    ref = ref_conv2d(x[:, :, None], w[:, :, None], None, (1, 2), ((0, 0), (1, 1)), (1, 1), 2)
    np.testing.assert_allclose(y.numpy(), ref[:, :, 0], atol=1e-12)


def test_conv_option_errors(rng):
    x = minigrad.randn(1, 4, 6, 6)
    with pytest.raises(ValueError, match="conv2d: groups=3 must divide"):
        F.conv2d(x, minigrad.randn(3, 1, 3, 3), groups=3)
    with pytest.raises(ValueError, match=r"conv2d: weight of shape \(4, 1, 3, 3\) with groups=2"):
        F.conv2d(x, minigrad.randn(4, 1, 3, 3), groups=2)
    with pytest.raises(ValueError, match="conv2d: padding='same' is not supported for strided"):
        F.conv2d(x, minigrad.randn(4, 4, 3, 3), stride=2, padding="same")
    with pytest.raises(ValueError, match="conv2d: invalid padding string 'full'"):
        F.conv2d(x, minigrad.randn(4, 4, 3, 3), padding="full")
    with pytest.raises(ValueError, match="Conv2d: in_channels=4 must be divisible by groups=3"):
        nn.Conv2d(4, 6, 3, groups=3)
    with pytest.raises(ValueError, match="Conv1d: out_channels=5 must be divisible by groups=2"):
        nn.Conv1d(4, 5, 3, groups=2)
    with pytest.raises(ValueError, match="Conv2d: padding_mode must be one of"):
        nn.Conv2d(4, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="Conv2d: padding='same' is not supported for strided"):
        nn.Conv2d(4, 4, 3, stride=2, padding="same")


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv_layers_padding_mode(rng, mode):
    conv = nn.Conv2d(4, 6, (3, 2), padding=(2, 1), dilation=(1, 2), groups=2, padding_mode=mode)
    x = rng.standard_normal((2, 4, 6, 7))
    y = conv(t64(x, False).float())
    w, b = conv.weight.numpy().astype(np.float64), conv.bias.numpy().astype(np.float64)
    ref = ref_conv2d(x, w, b, (1, 1), ((2, 2), (1, 1)), (1, 2), 2, mode)
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-4, atol=1e-4)
    conv1 = nn.Conv1d(2, 3, 4, padding="same", padding_mode=mode, bias=False)
    x1 = rng.standard_normal((2, 2, 9))
    y1 = conv1(t64(x1, False).float())
    w1 = conv1.weight.numpy().astype(np.float64)[:, :, None]
    ref1 = ref_conv2d(x1[:, :, None], w1, None, (1, 1), ((0, 0), (1, 2)), (1, 1), 1, mode)
    np.testing.assert_allclose(y1.numpy(), ref1[:, :, 0], rtol=1e-4, atol=1e-4)


def layer_repr(module):
    """PyTorch's one-line repr (minigrad's own repr adds a parameter count line)."""
    return f"{type(module).__name__}({module.extra_repr()})"


def test_conv_layers_parameters_and_layer_repr():
    conv = nn.Conv2d(4, 8, 3, padding=1, groups=2, bias=False, padding_mode="reflect")
    assert conv.weight.shape == (8, 2, 3, 3) and conv.bias is None
    assert layer_repr(conv) == ("Conv2d(4, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), "
                          "groups=2, bias=False, padding_mode=reflect)")
    depthwise = nn.Conv2d(3, 3, 5, padding="same", groups=3)
    bound = 1 / math.sqrt(1 * 25)  # fan_in = C_in/groups · KH·KW
    assert np.abs(depthwise.weight.numpy()).max() <= bound
    assert layer_repr(depthwise) == ("Conv2d(3, 3, kernel_size=(5, 5), stride=(1, 1), padding=same, "
                               "groups=3)")
    assert layer_repr(nn.Conv1d(3, 4, 5, padding=2)) == \
        "Conv1d(3, 4, kernel_size=(5,), stride=(1,), padding=(2,))"
    assert layer_repr(nn.Conv2d(1, 2, 3)) == "Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1))"
    assert nn.Conv2d(2, 2, 3, padding="valid")(minigrad.randn(1, 2, 5, 5)).shape == (1, 2, 3, 3)


def test_conv_routed_paths_gradcheck(rng):
    x = t64(rng.standard_normal((1, 4, 5, 5)))
    w = t64(rng.standard_normal((4, 2, 3, 2)))
    b = t64(rng.standard_normal(4))
    assert minigrad.gradcheck(lambda x, w, b: F.conv2d(x, w, b, 2, (1, 0), 1, 2), [x, w, b])
    wd = t64(rng.standard_normal((4, 1, 3, 3)))  # depthwise, dilated
    assert minigrad.gradcheck(lambda x, w: F.conv2d(x, w, padding=2, dilation=2, groups=4),
                              [x, wd])
    we = t64(rng.standard_normal((3, 4, 2, 2)))  # uneven "same": general path
    assert minigrad.gradcheck(lambda x, w: F.conv2d(x, w, padding="same"), [x, we])
    x1, w1 = t64(rng.standard_normal((2, 4, 6))), t64(rng.standard_normal((2, 2, 3)))
    assert minigrad.gradcheck(lambda x, w: F.conv1d(x, w, padding="same", groups=2), [x1, w1])
    conv = nn.Conv2d(4, 2, 3, padding=1, padding_mode="reflect").double()
    assert minigrad.gradcheck(lambda x: conv(x), [x])
    conv.weight.grad = None
    conv(x).sum().backward()
    assert conv.weight.grad is not None and conv.weight.grad.shape == (2, 4, 3, 3)


# ----------------------------------------------------------------------------- max pooling


MAX_CASES = [  # kernel, stride, padding, dilation, ceil_mode, input (H, W)
    ((2, 2), (2, 2), (0, 0), (1, 1), True, (7, 5)),
    ((3, 3), (2, 2), (1, 1), (1, 1), True, (6, 8)),  # the last window would start in the pad
    ((2, 3), (1, 2), (0, 1), (2, 1), False, (7, 7)),
    ((3, 2), (2, 3), (1, 0), (2, 2), True, (9, 8)),
    ((2, 2), (3, 3), (0, 1), (2, 2), True, (8, 9)),  # dilated windows that do not overlap
    ((3, 3), (3, 3), (1, 1), (1, 1), True, (8, 7)),
]


@pytest.mark.parametrize("kernel,stride,padding,dilation,ceil_mode,hw", MAX_CASES)
def test_max_pool2d_options_match_loop(rng, kernel, stride, padding, dilation, ceil_mode, hw):
    x = rng.standard_normal((2, 3) + hw)
    x[0, 0, 1, :2] = 5.0  # a tie: the first maximum wins
    vals, idx = ref_max_pool2d(x, kernel, stride, padding, dilation, ceil_mode)
    y = F.max_pool2d(t64(x, False), kernel, stride, padding, dilation, ceil_mode)
    np.testing.assert_array_equal(y.numpy(), vals)
    y2, i2 = F.max_pool2d(t64(x, False), kernel, stride, padding, dilation, ceil_mode,
                          return_indices=True)
    np.testing.assert_array_equal(y2.numpy(), vals)
    np.testing.assert_array_equal(i2.numpy(), idx)
    assert i2.dtype == minigrad.int64
    general = max_pool2d_with_indices(t64(x, False), kernel, stride, padding, dilation, ceil_mode)
    np.testing.assert_array_equal(general[1].numpy(), idx)
    layer = nn.MaxPool2d(kernel, stride, padding, dilation, return_indices=True,
                         ceil_mode=ceil_mode)
    np.testing.assert_array_equal(layer(t64(x, False))[1].numpy(), idx)


def test_max_pool2d_options_gradcheck(rng):
    x = t64(rng.standard_normal((1, 2, 7, 6)))
    assert minigrad.gradcheck(lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), [x])
    assert minigrad.gradcheck(lambda x: F.max_pool2d(x, 2, 1, dilation=2), [x])
    assert minigrad.gradcheck(lambda x: F.max_pool2d(x, 2, 3, 1, dilation=2, ceil_mode=True), [x])
    assert minigrad.gradcheck(lambda x: F.max_pool2d(x, 2, return_indices=True)[0], [x])
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    assert minigrad.gradcheck(lambda y: max_unpool2d(y, idx, 2, output_size=(7, 6)), [y.detach()
                                                                                     .requires_grad_()])


def test_max_pool2d_indices_unpool_round_trip(rng):
    x = t64(rng.standard_normal((2, 3, 6, 8)), False)
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    up = F.max_unpool2d(y, idx, 2)
    assert up.shape == x.shape
    # each 2x2 window keeps its maximum in place, zeros elsewhere
    mask = up.numpy() != 0
    np.testing.assert_array_equal(up.numpy()[mask], x.numpy()[mask])
    np.testing.assert_array_equal(mask.reshape(2, 3, 3, 2, 4, 2).sum(axis=(3, 5)), 1)


def test_max_pool2d_int_tensor_with_padding():
    # regression (issue 10): -inf padding on an int tensor overflowed
    x = minigrad.tensor(np.arange(-8, 8, dtype=np.int64).reshape(1, 1, 4, 4))
    y = F.max_pool2d(x, 3, 2, padding=1)
    np.testing.assert_array_equal(y.numpy(), [[[[-3, -1], [5, 7]]]])


# ----------------------------------------------------------------------------- average pooling


AVG_CASES = [  # kernel, stride, padding, ceil_mode, count_include_pad, divisor_override, (H, W)
    ((2, 2), (2, 2), (0, 0), True, True, None, (7, 5)),
    ((3, 3), (2, 2), (1, 1), False, False, None, (6, 7)),
    ((3, 2), (2, 1), (1, 1), True, False, None, (8, 5)),
    ((3, 3), (2, 2), (1, 1), True, True, None, (6, 6)),  # ceil: the last window's size is clipped
    ((2, 3), (1, 2), (1, 0), False, True, 5, (5, 7)),
    ((3, 3), (2, 2), (1, 1), True, False, 2, (7, 6)),
]


@pytest.mark.parametrize("kernel,stride,padding,ceil_mode,count_include_pad,divisor,hw",
                         AVG_CASES)
def test_avg_pool2d_options_match_loop(rng, kernel, stride, padding, ceil_mode,
                                       count_include_pad, divisor, hw):
    x = rng.standard_normal((2, 3) + hw)
    ref = ref_avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor)
    y = F.avg_pool2d(t64(x, False), kernel, stride, padding, ceil_mode, count_include_pad, divisor)
    np.testing.assert_allclose(y.numpy(), ref, atol=1e-12)
    layer = nn.AvgPool2d(kernel, stride, padding, ceil_mode, count_include_pad, divisor)
    np.testing.assert_allclose(layer(t64(x, False)).numpy(), ref, atol=1e-12)
    general = _avg_pool_nd(t64(x, False), 2, kernel, stride, padding, ceil_mode,
                           count_include_pad, divisor, "avg_pool2d")
    np.testing.assert_allclose(general.numpy(), ref, atol=1e-12)


def test_avg_pool2d_options_gradcheck(rng):
    x = t64(rng.standard_normal((1, 2, 7, 6)))
    assert minigrad.gradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True), [x])
    assert minigrad.gradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False), [x])
    assert minigrad.gradcheck(lambda x: F.avg_pool2d(x, 2, 1, 1, divisor_override=3), [x])
    assert minigrad.gradcheck(lambda x: F.avg_pool2d(x, 2, 2, 1, True, False, 3), [x])
    with pytest.raises(ValueError, match="avg_pool2d: divisor_override must be a positive int"):
        F.avg_pool2d(x, 2, divisor_override=0)


def test_adaptive_avg_pool2d_any_size(rng):
    x = rng.standard_normal((2, 3, 7, 10))
    for out in [(3, 4), (5, 3), (7, 10), (1, 6), (4, 4)]:
        y = F.adaptive_avg_pool2d(t64(x, False), out)
        np.testing.assert_allclose(y.numpy(), ref_adaptive_avg_pool2d(x, out), atol=1e-12)
        np.testing.assert_allclose(nn.AdaptiveAvgPool2d(out)(t64(x, False)).numpy(), y.numpy())
    np.testing.assert_allclose(F.adaptive_avg_pool2d(t64(x, False), (None, 3)).numpy(),
                               ref_adaptive_avg_pool2d(x, (7, 3)), atol=1e-12)
    np.testing.assert_allclose(F.adaptive_avg_pool2d(t64(x[0], False), 3).numpy(),  # unbatched
                               ref_adaptive_avg_pool2d(x[0], (3, 3)), atol=1e-12)
    assert minigrad.gradcheck(lambda x: F.adaptive_avg_pool2d(x, (3, 4)), [t64(x[:1, :2])])


def test_pool_layers_repr_follow_pytorch():
    assert repr(nn.MaxPool2d(2)) == \
        "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert repr(nn.MaxPool2d(3, 1, 1, 2, ceil_mode=True)) == \
        "MaxPool2d(kernel_size=3, stride=1, padding=1, dilation=2, ceil_mode=True)"
    assert repr(nn.AvgPool2d(3, padding=1, count_include_pad=False)) == \
        "AvgPool2d(kernel_size=3, stride=3, padding=1)"
    assert repr(nn.AdaptiveAvgPool2d((3, None))) == "AdaptiveAvgPool2d(output_size=(3, None))"


DEVICE_CASES = {  # name: (function of the tensors, input shapes)
    "conv2d groups": (lambda x, w: F.conv2d(x, w, padding="same", groups=2),
                      [(2, 4, 5, 6), (4, 2, 2, 3)]),
    "max_pool2d ceil dilation": (lambda x: F.max_pool2d(x, 2, 3, 1, 2, ceil_mode=True),
                                 [(2, 3, 8, 9)]),
    "avg_pool2d per-window divisors": (
        lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
        [(2, 3, 7, 6)]),
    "adaptive_avg_pool2d": (lambda x: F.adaptive_avg_pool2d(x, (3, 4)), [(2, 3, 7, 10)]),
}


@pytest.mark.parametrize("name", sorted(DEVICE_CASES))
def test_options_on_device_arrays_match_the_cpu(rng, name):
    """On the CuPy stand-in (it refuses implicit host/device mixing) as on NumPy."""
    import warnings

    standin = pytest.importorskip("_cupy_standin")
    fn, shapes = DEVICE_CASES[name]
    arrays = [rng.standard_normal(s) for s in shapes]
    undo = standin.install()
    try:
        outs = []
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="minigrad: Triton kernels are off")
            for device in ("cpu", "cuda"):
                ts = [minigrad.tensor(a, device=device, requires_grad=True) for a in arrays]
                y = fn(*ts)
                (y * y).sum().backward()
                outs.append([y.cpu().numpy()] + [t.grad.cpu().numpy() for t in ts])
    finally:
        undo()
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_float32_stays_float32(rng):
    x = minigrad.tensor(rng.standard_normal((1, 2, 7, 7)).astype(np.float32))
    for y in (F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
              F.max_pool2d(x, 3, 2, ceil_mode=True, dilation=2),
              F.adaptive_avg_pool2d(x, 3), F.conv2d(x, minigrad.randn(2, 1, 3, 3), groups=2)):
        assert y.dtype == minigrad.float32
