"""Conv2d/Conv1d and pooling: forward against naive loops, float64 gradchecks, errors."""

import math

import numpy as np
import pytest

import minigrad
import minigrad.nn.functional as F
from minigrad import nn

pytestmark = pytest.mark.cnn

F64 = minigrad.float64


def t64(array, requires_grad=True):
    return minigrad.tensor(np.ascontiguousarray(array, dtype=np.float64),
                           requires_grad=requires_grad)


# ----------------------------------------------------------------------------- references


def naive_conv2d(x, w, b, stride, padding, dilation):
    """Loop over output pixels, straight from the definition."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, o, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * sh : i * sh + dh * (kh - 1) + 1 : dh,
                       j * sw : j * sw + dw * (kw - 1) + 1 : dw]
            y[:, :, i, j] = np.einsum("ncpq,ocpq->no", patch, w)
    return y if b is None else y + b[None, :, None, None]


def naive_pool(x, kernel, stride, padding, reduce, fill):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    oh = (x.shape[2] + 2 * ph - kh) // sh + 1
    ow = (x.shape[3] + 2 * pw - kw) // sw + 1
    y = np.zeros(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            y[:, :, i, j] = reduce(xp[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw],
                                   axis=(2, 3))
    return y


CONV_CASES = [  # kernel, stride, padding, dilation, input (H, W)
    ((3, 3), (1, 1), (0, 0), (1, 1), (6, 6)),
    ((2, 3), (2, 1), (1, 2), (1, 1), (7, 6)),  # non-square kernel, stride doesn't tile evenly
    ((3, 2), (2, 3), (1, 0), (2, 1), (8, 7)),  # dilation
    ((1, 1), (2, 2), (0, 0), (1, 1), (5, 5)),
    ((3, 3), (3, 3), (2, 1), (1, 2), (5, 7)),  # stride larger than... windows skip pixels
]


# ----------------------------------------------------------------------------- conv2d


@pytest.mark.parametrize("kernel,stride,padding,dilation,hw", CONV_CASES)
def test_conv2d_matches_naive_loop(rng, kernel, stride, padding, dilation, hw):
    x = rng.standard_normal((3, 4) + hw)
    w = rng.standard_normal((5, 4) + kernel)
    b = rng.standard_normal(5)
    y = F.conv2d(t64(x, False), t64(w, False), t64(b, False), stride, padding, dilation)
    np.testing.assert_allclose(y.numpy(), naive_conv2d(x, w, b, stride, padding, dilation),
                               atol=1e-12)


@pytest.mark.parametrize("kernel,stride,padding,dilation,hw", CONV_CASES)
def test_conv2d_gradcheck(rng, kernel, stride, padding, dilation, hw):
    x = t64(rng.standard_normal((2, 2) + hw))
    w = t64(rng.standard_normal((3, 2) + kernel))
    b = t64(rng.standard_normal(3))
    assert minigrad.gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation),
                              [x, w, b])


def test_conv2d_without_bias_gradcheck(rng):
    x, w = t64(rng.standard_normal((2, 3, 5, 5))), t64(rng.standard_normal((2, 3, 3, 3)))
    assert minigrad.gradcheck(lambda x, w: F.conv2d(x, w, padding=1), [x, w])


def test_conv2d_float32_matches_float64(rng):
    x, w = rng.standard_normal((2, 3, 9, 9)), rng.standard_normal((4, 3, 3, 3))
    y32 = F.conv2d(minigrad.tensor(x.astype(np.float32)), minigrad.tensor(w.astype(np.float32)))
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32.numpy(), naive_conv2d(x, w, None, (1, 1), (0, 0), (1, 1)),
                               atol=1e-4)


def test_conv1d_matches_naive_and_gradcheck(rng):
    x, w, b = rng.standard_normal((2, 3, 9)), rng.standard_normal((4, 3, 3)), rng.standard_normal(4)
    y = F.conv1d(t64(x, False), t64(w, False), t64(b, False), stride=2, padding=1, dilation=2)
    ref = naive_conv2d(x[:, :, None], w[:, :, None], b, (1, 2), (0, 1), (1, 2))[:, :, 0]
    np.testing.assert_allclose(y.numpy(), ref, atol=1e-12)
    xs, ws, bs = t64(x[:1]), t64(w[:2]), t64(b[:2])
    assert minigrad.gradcheck(lambda x, w, b: F.conv1d(x, w, b, 2, 1, 2), [xs, ws, bs])


def test_conv2d_layer_shapes_names_and_init(rng):
    conv = nn.Conv2d(3, 8, (3, 5), stride=2, padding=1)
    assert list(conv.state_dict()) == ["weight", "bias"]
    assert conv.weight.shape == (8, 3, 3, 5) and conv.bias.shape == (8,)
    bound = 1 / math.sqrt(3 * 3 * 5)  # PyTorch's kaiming_uniform_(a=√5) bound
    assert np.abs(conv.weight.numpy()).max() <= bound
    assert np.abs(conv.weight.numpy()).max() > 0.8 * bound
    y = conv(minigrad.randn(2, 3, 11, 12))
    assert y.shape == (2, 8, 6, 5)
    assert nn.Conv2d(3, 8, 3, bias=False).bias is None


def test_conv2d_layer_gradcheck_parameters(rng):
    conv = nn.Conv2d(2, 3, 2, stride=(1, 2), dilation=(2, 1)).double()
    x = t64(rng.standard_normal((2, 2, 5, 6)))
    assert minigrad.gradcheck(lambda x, w, b: conv(x), [x, conv.weight, conv.bias])


def test_conv1d_layer(rng):
    conv = nn.Conv1d(3, 4, 5, padding=2)
    assert conv.weight.shape == (4, 3, 5)
    assert conv(minigrad.randn(2, 3, 10)).shape == (2, 4, 10)


def test_conv2d_errors_name_layer_and_shapes():
    conv = nn.Conv2d(3, 4, 3)
    with pytest.raises(ValueError, match=r"Conv2d: expected input .*3 channels, got shape \(2, 4, 8, 8\)"):
        conv(minigrad.randn(2, 4, 8, 8))
    with pytest.raises(ValueError, match=r"conv2d: .*smaller than the kernel"):
        F.conv2d(minigrad.randn(1, 3, 2, 2), minigrad.randn(4, 3, 3, 3))
    with pytest.raises(ValueError, match=r"conv2d: weight of shape \(4, 2, 3, 3\) expects 2"):
        F.conv2d(minigrad.randn(1, 3, 5, 5), minigrad.randn(4, 2, 3, 3))
    with pytest.raises(ValueError, match="stride"):
        F.conv2d(minigrad.randn(1, 3, 5, 5), minigrad.randn(4, 3, 3, 3), stride=0)
    with pytest.raises(ValueError, match=r"Conv1d: expected input"):
        nn.Conv1d(3, 4, 3)(minigrad.randn(2, 5, 9))


# ----------------------------------------------------------------------------- pooling


POOL_CASES = [  # kernel, stride, padding, input (H, W)
    ((2, 2), None, (0, 0), (6, 8)),
    ((2, 2), None, (0, 0), (7, 5)),  # window doesn't tile evenly: last row/column dropped
    ((3, 2), (2, 1), (1, 1), (7, 6)),  # overlapping windows, non-square
    ((3, 3), (1, 1), (1, 0), (5, 6)),
]


@pytest.mark.parametrize("kernel,stride,padding,hw", POOL_CASES)
def test_max_pool_matches_naive_and_gradcheck(rng, kernel, stride, padding, hw):
    x = rng.standard_normal((2, 3) + hw)
    y = F.max_pool2d(t64(x, False), kernel, stride, padding)
    ref = naive_pool(x, kernel, stride or kernel, padding, np.max, -np.inf)
    np.testing.assert_array_equal(y.numpy(), ref)
    xs = t64(x[:1, :2])
    assert minigrad.gradcheck(lambda x: F.max_pool2d(x, kernel, stride, padding), [xs])


@pytest.mark.parametrize("kernel,stride,padding,hw", POOL_CASES)
def test_avg_pool_matches_naive_and_gradcheck(rng, kernel, stride, padding, hw):
    x = rng.standard_normal((2, 3) + hw)
    y = F.avg_pool2d(t64(x, False), kernel, stride, padding)
    ref = naive_pool(x, kernel, stride or kernel, padding, np.mean, 0.0)  # count_include_pad
    np.testing.assert_allclose(y.numpy(), ref, atol=1e-12)
    xs = t64(x[:1, :2])
    assert minigrad.gradcheck(lambda x: F.avg_pool2d(x, kernel, stride, padding), [xs])


def test_max_pool_overlapping_windows_accumulate_gradient():
    # the centre element is the max of all four overlapping 2x2 windows (stride 1)
    x = minigrad.tensor(np.array([[[[0.0, 0.1, 0.0], [0.2, 9.0, 0.3], [0.0, 0.4, 0.0]]]]),
                        requires_grad=True)
    F.max_pool2d(x, 2, stride=1).sum().backward()
    expected = np.zeros((3, 3))
    expected[1, 1] = 4
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], expected)


def test_adaptive_avg_pool(rng):
    x = rng.standard_normal((2, 3, 6, 4))
    y = nn.AdaptiveAvgPool2d(1)(t64(x, False))
    np.testing.assert_allclose(y.numpy(), x.mean(axis=(2, 3), keepdims=True), atol=1e-12)
    y = nn.AdaptiveAvgPool2d((3, 2))(t64(x, False))
    np.testing.assert_allclose(y.numpy(), naive_pool(x, (2, 2), (2, 2), (0, 0), np.mean, 0.0),
                               atol=1e-12)
    xs = t64(x[:1])
    assert minigrad.gradcheck(lambda x: F.adaptive_avg_pool2d(x, (2, 1)), [xs])
    # sizes that do not divide the input use PyTorch's start/end windows (ops/pool_more.py)
    assert F.adaptive_avg_pool2d(t64(x, False), 4).shape == (2, 3, 4, 4)


def test_pool_layers_and_errors():
    x = minigrad.randn(2, 3, 8, 8)
    assert nn.MaxPool2d(2)(x).shape == (2, 3, 4, 4)
    assert nn.AvgPool2d(3, stride=2, padding=1)(x).shape == (2, 3, 4, 4)
    with pytest.raises(ValueError, match=r"max_pool2d: expected a 4-D input .* got shape \(3, 8, 8\)"):
        nn.MaxPool2d(2)(minigrad.randn(3, 8, 8))
    with pytest.raises(ValueError, match="padding .* at most half"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match="smaller than the kernel"):
        F.avg_pool2d(minigrad.randn(1, 1, 2, 2), 3)


def test_small_cnn_trains_end_to_end():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 4 * 4, 2))
    x = minigrad.randn(16, 1, 8, 8)
    y = (x.numpy()[:, 0, :4].sum(axis=(1, 2)) > 0).astype(np.int64)
    opt = minigrad.optim.Adam(model.parameters(), lr=0.02)
    first = None
    for _ in range(30):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    assert loss.item() < 0.5 * first


# ----------------------------------------------------------------------------- fast paths


@pytest.mark.parametrize("kernel,stride,padding,dilation,hw", CONV_CASES)
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_conv_input_grad_per_offset_equals_dcol_then_col2im(rng, kernel, stride, padding,
                                                              dilation, hw, dtype, tol):
    # the fast path (one GEMM per kernel offset) against the reference, col2im(g W)
    from minigrad.ops.conv import col2im, conv_output_size, input_grad

    n, c, o = 2, 3, 4
    oh, ow = (conv_output_size(hw[a], kernel[a], stride[a], padding[a], dilation[a])
              for a in range(2))
    x_pad_shape = (n, hw[0] + 2 * padding[0], hw[1] + 2 * padding[1], c)
    g_mat = rng.standard_normal((n * oh * ow, o)).astype(dtype)
    w_mat = rng.standard_normal((o, kernel[0] * kernel[1] * c)).astype(dtype)
    geometry = (kernel, stride, dilation, (oh, ow))
    reference = col2im((g_mat @ w_mat).reshape(n, oh, ow, *kernel, c), x_pad_shape, *geometry)
    fast = input_grad(g_mat, w_mat, x_pad_shape, *geometry)
    assert fast.dtype == dtype and fast.shape == x_pad_shape
    np.testing.assert_allclose(fast, reference, rtol=tol, atol=tol)


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("hw", [(4, 6), (5, 7)])  # windows tile the input exactly / not
def test_max_pool_tiled_backward_first_maximum_with_relu_ties(rng, channels_last, hw):
    # after a ReLU many windows are all zeros: PyTorch sends each window's gradient to its
    # first maximum (row-major), and every other pixel must get exactly 0 (dx is not zero-
    # filled first when 2x2 windows with stride 2 tile the input)
    x = np.maximum(rng.standard_normal((2, 3) + hw), 0)
    x[0, 0, :2, :2] = 7.0  # a window of four equal maxima
    if channels_last:
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    xt = minigrad.tensor(x, requires_grad=True)
    y = F.max_pool2d(xt, 2)
    g = rng.standard_normal(y.shape)
    y.backward(minigrad.tensor(g))
    expected = np.zeros(x.shape)
    for i in range(y.shape[2]):
        for j in range(y.shape[3]):
            window = x[:, :, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].reshape(2, 3, 4)
            first = window.argmax(axis=-1)  # numpy's argmax: the first maximum
            for n in range(2):
                for c in range(3):
                    p, q = divmod(int(first[n, c]), 2)
                    expected[n, c, 2 * i + p, 2 * j + q] = g[n, c, i, j]
    np.testing.assert_array_equal(xt.grad.numpy(), expected)


# ----------------------------------------------------------------------------- layers against loops


def test_conv1d_layer_matches_a_loop_with_bias(rng):
    # nn.Conv1d itself (not only F.conv1d): y[n, o, i] = b[o] + Σ_{c,k} w[o, c, k] x_pad[n, c, i·s + k·d]
    for kwargs in ({"padding": 2}, {"stride": 2, "padding": 1, "dilation": 2}):
        conv = nn.Conv1d(3, 4, 3, **kwargs).double()
        conv.bias._data[:] = rng.standard_normal(4)  # far from 0, so a dropped bias shows
        s, p, d = kwargs.get("stride", 1), kwargs.get("padding", 0), kwargs.get("dilation", 1)
        x = rng.standard_normal((2, 3, 9))
        xp = np.pad(x, ((0, 0), (0, 0), (p, p)))
        w, b = conv.weight.numpy(), conv.bias.numpy()
        length = (9 + 2 * p - d * 2 - 1) // s + 1
        expected = np.zeros((2, 4, length))
        for n in range(2):
            for o in range(4):
                for i in range(length):
                    expected[n, o, i] = b[o] + sum(w[o, c, k] * xp[n, c, i * s + k * d]
                                                   for c in range(3) for k in range(3))
        np.testing.assert_allclose(conv(t64(x, False)).numpy(), expected, atol=1e-12,
                                   err_msg=str(kwargs))
    xs = t64(x[:1])
    assert minigrad.gradcheck(lambda x, w, b: conv(x), [xs, conv.weight, conv.bias])
    no_bias = nn.Conv1d(3, 4, 3, bias=False).double()
    assert no_bias.bias is None
    np.testing.assert_allclose(
        no_bias(t64(x, False)).numpy(),
        naive_conv2d(x[:, :, None], no_bias.weight.numpy()[:, :, None], None, (1, 1), (0, 0),
                     (1, 1))[:, :, 0], atol=1e-12)


def test_pool_layers_match_naive_loops(rng):
    # the layers' values (stride defaults to the kernel, as PyTorch), not only their shapes
    x = rng.standard_normal((2, 3, 7, 8))
    cases = [(nn.MaxPool2d(2), (2, 2), (2, 2), (0, 0), np.max, -np.inf),
             (nn.MaxPool2d(3, stride=2, padding=1), (3, 3), (2, 2), (1, 1), np.max, -np.inf),
             (nn.MaxPool2d((2, 3), stride=(1, 2)), (2, 3), (1, 2), (0, 0), np.max, -np.inf),
             (nn.AvgPool2d(2), (2, 2), (2, 2), (0, 0), np.mean, 0.0),
             (nn.AvgPool2d(3, stride=2, padding=1), (3, 3), (2, 2), (1, 1), np.mean, 0.0)]
    for layer, kernel, stride, padding, reduce, fill in cases:
        np.testing.assert_allclose(layer(t64(x, False)).numpy(),
                                   naive_pool(x, kernel, stride, padding, reduce, fill),
                                   atol=1e-12, err_msg=repr(layer))
    pooled = nn.AdaptiveAvgPool2d((1, 2))(t64(x[:, :, :, :8], False)).numpy()
    np.testing.assert_allclose(pooled, naive_pool(x, (7, 4), (7, 4), (0, 0), np.mean, 0.0),
                               atol=1e-12)


def test_small_cnn_forward_and_gradients_match_references(rng):
    # the value check paired with test_small_cnn_trains_end_to_end: the same architecture in
    # float64, its output against numpy loops, its loss gradient for every parameter against
    # finite differences (a wrong gradient can still lower the loss; it cannot pass this)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 4 * 4, 2)).double()
    x = rng.standard_normal((3, 1, 8, 8))
    y = np.array([0, 1, 1])
    conv, linear = model[0], model[4]
    h = naive_conv2d(x, conv.weight.numpy(), conv.bias.numpy(), (1, 1), (1, 1), (1, 1))
    h = naive_pool(np.maximum(h, 0), (2, 2), (2, 2), (0, 0), np.max, -np.inf)
    logits = h.reshape(3, -1) @ linear.weight.numpy().T + linear.bias.numpy()
    np.testing.assert_allclose(model(t64(x, False)).numpy(), logits, atol=1e-12)
    # the last layer's gradient in closed form: (softmax - onehot)ᵀ features / N
    z = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    loss = F.cross_entropy(model(t64(x, False)), y)
    loss.backward()
    delta = (probs - np.eye(2)[y]) / 3
    np.testing.assert_allclose(linear.weight.grad.numpy(), delta.T @ h.reshape(3, -1), atol=1e-12)
    np.testing.assert_allclose(linear.bias.grad.numpy(), delta.sum(axis=0), atol=1e-12)
    params = list(model.parameters())
    assert minigrad.gradcheck(lambda *ps: F.cross_entropy(model(t64(x, False)), y), params)
