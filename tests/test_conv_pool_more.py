"""F.pad modes, F.interpolate, pixel shuffle, conv_transpose1d/2d, conv3d (and their nn modules):
forward values against loop references written from PyTorch's documented formulas, float64
gradchecks, and the errors PyTorch raises."""

import itertools
import math

import numpy as np
import pytest

import minigrad
import minigrad.nn.functional as F
from minigrad import nn

RNG = np.random.default_rng(0)


def t64(shape_or_array, requires_grad=True):
    a = shape_or_array
    if isinstance(a, tuple):
        a = RNG.standard_normal(a)
    return minigrad.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def gradcheck(fn, *inputs):
    assert minigrad.gradcheck(fn, list(inputs))


# ================================================================================== F.pad

NP_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape,widths", [((2, 5), (2, 3)), ((1, 2, 6), (3, 1)),
                                          ((2, 4, 5), (1, 2, 3, 0)),
                                          ((1, 2, 3, 4, 5), (1, 2, 0, 1, 2, 1))])
def test_pad_modes_match_numpy(mode, shape, widths):
    x = t64(shape)
    k = len(widths) // 2
    np_widths = [(0, 0)] * (len(shape) - k) + [(widths[2 * i], widths[2 * i + 1])
                                                for i in reversed(range(k))]
    ref = np.pad(x.numpy(), np_widths, mode=NP_MODE[mode])
    np.testing.assert_array_equal(F.pad(x, widths, mode=mode).numpy(), ref)


def test_reflect_pad_by_hand():
    x = minigrad.tensor([[0.0, 1.0, 2.0, 3.0]])
    assert F.pad(x, (2, 1), mode="reflect").tolist() == [[2.0, 1.0, 0.0, 1.0, 2.0, 3.0, 2.0]]
    assert F.pad(x, (2, 1), mode="replicate").tolist() == [[0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 3.0]]
    assert F.pad(x, (2, 1), mode="circular").tolist() == [[2.0, 3.0, 0.0, 1.0, 2.0, 3.0, 0.0]]


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_negative_padding_crops(mode):
    x = t64((1, 2, 5, 6))
    y = F.pad(x, (-1, 2, 1, -2), mode=mode)
    assert y.shape == (1, 2, 4, 7)
    full = F.pad(x, (0, 2, 1, 0), mode=mode).numpy()
    np.testing.assert_array_equal(y.numpy(), full[:, :, :4, 1:])
    gradcheck(lambda a: F.pad(a, (-1, 2, 1, -2), mode=mode), x)


def test_constant_pad_value_and_crop():
    x = minigrad.tensor([[1.0, 2.0, 3.0]])
    assert F.pad(x, (-1, 2), value=7.0).tolist() == [[2.0, 3.0, 7.0, 7.0]]
    assert F.pad(x, (1, 0)).tolist() == [[0.0, 1.0, 2.0, 3.0]]  # delegates to ops.shape.pad


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_gradcheck(mode):
    gradcheck(lambda a: F.pad(a, (2, 1, 1, 2), mode=mode), t64((2, 1, 3, 4)))


def test_reflect_pad_gradient_counts_the_copies():
    x = minigrad.zeros(4, requires_grad=True)
    F.pad(x.reshape(1, 4), (2, 2), mode="reflect").sum().backward()
    # [2 1 | 0 1 2 3 | 2 1]: 0 and 3 appear once, 1 and 2 three times
    assert x.grad.tolist() == [1.0, 3.0, 3.0, 1.0]


def test_pad_errors():
    x = t64((1, 2, 3))
    with pytest.raises(RuntimeError):
        F.pad(x, (3, 0), mode="reflect")  # must be < the size
    with pytest.raises(RuntimeError):
        F.pad(x, (4, 0), mode="circular")  # wraps twice
    with pytest.raises(NotImplementedError):
        F.pad(t64((3,)), (1, 1), mode="reflect")  # 1-D input
    with pytest.raises(ValueError):
        F.pad(x, (1, 1), mode="reflect", value=2.0)
    with pytest.raises(ValueError):
        F.pad(x, (1,))
    with pytest.raises(ValueError):
        F.pad(x, (1, 1), mode="mirror")


def test_padding_modules():
    x = t64((1, 1, 3, 3))
    assert nn.ReflectionPad2d(1)(x).shape == (1, 1, 5, 5)
    np.testing.assert_array_equal(nn.ReplicationPad2d((1, 0, 0, 2))(x).numpy(),
                                  np.pad(x.numpy(), ((0, 0), (0, 0), (0, 2), (1, 0)), "edge"))
    assert nn.CircularPad1d(2)(t64((1, 2, 3))).shape == (1, 2, 7)
    assert nn.ConstantPad1d(1, 5.0)(t64((1, 2))).numpy()[0, 0] == 5.0
    assert nn.ZeroPad2d((1, 1, 0, 0))(x).numpy()[0, 0, 0, 0] == 0.0


# ============================================================================== interpolate


def ref_source(i, n_in, n_out, scale, align_corners, cubic=False):
    if align_corners:
        return i * (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    src = scale * (i + 0.5) - 0.5
    return src if cubic else max(src, 0.0)


def ref_bilinear(x, out, align_corners):
    """Loop over output pixels: four neighbours weighted by the fractional distances."""
    n, c, h, w = x.shape
    y = np.zeros((n, c) + out)
    for i, j in itertools.product(range(out[0]), range(out[1])):
        sh = ref_source(i, h, out[0], h / out[0], align_corners)
        sw = ref_source(j, w, out[1], w / out[1], align_corners)
        h0, w0 = int(sh), int(sw)
        h1, w1 = min(h0 + 1, h - 1), min(w0 + 1, w - 1)
        lh, lw = sh - h0, sw - w0
        y[:, :, i, j] = ((1 - lh) * ((1 - lw) * x[:, :, h0, w0] + lw * x[:, :, h0, w1])
                         + lh * ((1 - lw) * x[:, :, h1, w0] + lw * x[:, :, h1, w1]))
    return y


def keys(d, a=-0.75):
    d = abs(d)
    if d <= 1:
        return (a + 2) * d**3 - (a + 3) * d**2 + 1
    if d < 2:
        return a * d**3 - 5 * a * d**2 + 8 * a * d - 4 * a
    return 0.0


def ref_bicubic(x, out, align_corners):
    """Loop over output pixels: 4x4 neighbours (clamped to the border), Keys' kernel weights."""
    n, c, h, w = x.shape
    y = np.zeros((n, c) + out)
    for i, j in itertools.product(range(out[0]), range(out[1])):
        sh = ref_source(i, h, out[0], h / out[0], align_corners, cubic=True)
        sw = ref_source(j, w, out[1], w / out[1], align_corners, cubic=True)
        fh, fw = math.floor(sh), math.floor(sw)
        for p, q in itertools.product(range(fh - 1, fh + 3), range(fw - 1, fw + 3)):
            weight = keys(sh - p) * keys(sw - q)
            y[:, :, i, j] += weight * x[:, :, min(max(p, 0), h - 1), min(max(q, 0), w - 1)]
    return y


def test_linear_by_hand():
    # PyTorch: F.interpolate(torch.arange(4.).view(1, 1, 4), scale_factor=2, mode="linear")
    x = minigrad.arange(4.0).reshape(1, 1, 4)
    y = F.interpolate(x, scale_factor=2, mode="linear")
    np.testing.assert_allclose(y.numpy()[0, 0], [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.0])
    y = F.interpolate(x, size=7, mode="linear", align_corners=True)
    np.testing.assert_allclose(y.numpy()[0, 0], [0, 0.5, 1, 1.5, 2, 2.5, 3])
    assert F.interpolate(x, scale_factor=2).numpy()[0, 0].tolist() == [0, 0, 1, 1, 2, 2, 3, 3]


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("out", [(7, 5), (2, 3), (4, 9)])
def test_bilinear_and_bicubic_match_loops(align_corners, out):
    x = t64((2, 2, 4, 5))
    np.testing.assert_allclose(
        F.interpolate(x, size=out, mode="bilinear", align_corners=align_corners).numpy(),
        ref_bilinear(x.numpy(), out, align_corners), atol=1e-12)
    np.testing.assert_allclose(
        F.interpolate(x, size=out, mode="bicubic", align_corners=align_corners).numpy(),
        ref_bicubic(x.numpy(), out, align_corners), atol=1e-12)


def test_nearest_matches_index_formula():
    x = t64((1, 2, 5, 3))
    y = F.interpolate(x, size=(7, 2), mode="nearest").numpy()
    for i, j in itertools.product(range(7), range(2)):
        np.testing.assert_array_equal(y[:, :, i, j], x.numpy()[:, :, min(i * 5 // 7, 4),
                                                               min(int(j * 1.5), 2)])
    z = F.interpolate(t64((1, 1, 2, 2, 2)), scale_factor=2, mode="nearest")
    assert z.shape == (1, 1, 4, 4, 4)
    e = F.interpolate(minigrad.arange(3.0).reshape(1, 1, 3), size=5, mode="nearest-exact")
    assert e.numpy()[0, 0].tolist() == [0, 0, 1, 2, 2]  # floor((i + 0.5) * 3/5)


def test_scale_factor_uses_its_reciprocal_unless_recomputed():
    x = t64((1, 1, 5))
    # out = floor(5 * 1.5) = 7; scale 1/1.5 vs recomputed 5/7 differ
    a = F.interpolate(x, scale_factor=1.5, mode="linear").numpy()
    b = F.interpolate(x, scale_factor=1.5, mode="linear", recompute_scale_factor=True).numpy()
    c = F.interpolate(x, size=7, mode="linear").numpy()
    np.testing.assert_allclose(b, c)
    assert not np.allclose(a, b)


@pytest.mark.parametrize("mode,shape,ac", [
    ("nearest", (1, 2, 3, 4), None), ("bilinear", (1, 2, 3, 4), False),
    ("bilinear", (1, 2, 3, 4), True), ("bicubic", (1, 2, 3, 4), False),
    ("bicubic", (1, 1, 3, 4), True), ("linear", (2, 2, 5), False),
    ("trilinear", (1, 1, 2, 3, 2), False), ("area", (1, 2, 5, 4), None)])
def test_interpolate_gradcheck(mode, shape, ac):
    size = {3: 7, 4: (5, 3), 5: (3, 4, 3)}[len(shape)]
    gradcheck(lambda a: F.interpolate(a, size=size, mode=mode, align_corners=ac), t64(shape))


def test_interpolate_errors():
    with pytest.raises(NotImplementedError):
        F.interpolate(t64((1, 1, 4)), scale_factor=2, mode="bilinear")
    with pytest.raises(ValueError):
        F.interpolate(t64((1, 1, 4)), size=3, scale_factor=2)
    with pytest.raises(ValueError):
        F.interpolate(t64((1, 1, 4)))
    with pytest.raises(ValueError):
        F.interpolate(t64((1, 1, 4)), size=3, align_corners=True)  # nearest


def test_upsample_modules():
    x = t64((1, 1, 2, 3))
    assert nn.Upsample(scale_factor=2, mode="bilinear")(x).shape == (1, 1, 4, 6)
    np.testing.assert_allclose(nn.UpsamplingBilinear2d(size=(3, 5))(x).numpy(),
                               ref_bilinear(x.numpy(), (3, 5), True), atol=1e-12)
    np.testing.assert_array_equal(nn.UpsamplingNearest2d(scale_factor=2)(x).numpy(),
                                  x.numpy().repeat(2, axis=2).repeat(2, axis=3))


def test_pixel_shuffle_matches_definition_and_inverts():
    r = 2
    x = t64((2, 3, 8, 2, 3))  # extra leading dim, as PyTorch allows
    y = F.pixel_shuffle(x, r).numpy()
    assert y.shape == (2, 3, 2, 4, 6)
    for c, h, w, i, j in itertools.product(range(2), range(2), range(3), range(r), range(r)):
        np.testing.assert_array_equal(y[..., c, h * r + i, w * r + j],
                                      x.numpy()[..., c * r * r + i * r + j, h, w])
    np.testing.assert_array_equal(F.pixel_unshuffle(F.pixel_shuffle(x, r), r).numpy(), x.numpy())
    gradcheck(lambda a: F.pixel_shuffle(a, 2), t64((1, 8, 2, 3)))
    gradcheck(lambda a: F.pixel_unshuffle(a, 2), t64((1, 2, 4, 6)))
    assert nn.PixelShuffle(2)(t64((1, 4, 1, 1))).shape == (1, 1, 2, 2)
    assert nn.PixelUnshuffle(2)(t64((1, 1, 2, 2))).shape == (1, 4, 1, 1)
    with pytest.raises(RuntimeError):
        F.pixel_shuffle(t64((1, 3, 2, 2)), 2)


# ================================================================= transposed convolution


def ref_conv_transpose(x, w, b, stride, padding, output_padding, groups, dilation):
    """Loop over input positions and kernel offsets: scatter x·w, then crop the padding."""
    n, cin = x.shape[:2]
    k = x.ndim - 2
    og = w.shape[1]
    full = [(x.shape[2 + a] - 1) * stride[a] + dilation[a] * (w.shape[2 + a] - 1) + 1
            + output_padding[a] for a in range(k)]
    y = np.zeros((n, og * groups, *full))
    for c in range(cin):
        g = c // (cin // groups)
        for i in itertools.product(*(range(s) for s in x.shape[2:])):
            for kk in itertools.product(*(range(s) for s in w.shape[2:])):
                pos = tuple(i[a] * stride[a] + kk[a] * dilation[a] for a in range(k))
                for o in range(og):
                    y[(slice(None), g * og + o) + pos] += x[(slice(None), c) + i] * w[(c, o) + kk]
    y = y[(slice(None), slice(None)) + tuple(slice(p, f - p) for p, f in zip(padding, full))]
    return y if b is None else y + b.reshape((-1,) + (1,) * k)


@pytest.mark.parametrize("stride,padding,output_padding,groups,dilation", [
    ((1, 1), (0, 0), (0, 0), 1, (1, 1)), ((2, 3), (1, 0), (1, 2), 1, (1, 1)),
    ((2, 1), (0, 1), (0, 0), 2, (2, 1)), ((3, 2), (2, 1), (1, 0), 2, (1, 2))])
def test_conv_transpose2d_matches_loops_and_gradchecks(stride, padding, output_padding, groups,
                                                       dilation):
    x, w, b = t64((2, 4, 3, 2)), t64((4, 3, 2, 3)), t64((3 * groups,))
    y = F.conv_transpose2d(x, w, b, stride, padding, output_padding, groups, dilation)
    ref = ref_conv_transpose(x.numpy(), w.numpy(), b.numpy(), stride, padding, output_padding,
                             groups, dilation)
    np.testing.assert_allclose(y.numpy(), ref, atol=1e-12)
    gradcheck(lambda *a: F.conv_transpose2d(*a, stride, padding, output_padding, groups,
                                            dilation), x, w, b)


def test_conv_transpose1d_matches_loops_and_gradchecks():
    x, w = t64((2, 2, 5)), t64((2, 3, 3))
    y = F.conv_transpose1d(x, w, None, stride=2, padding=1, output_padding=1, dilation=2)
    ref = ref_conv_transpose(x.numpy(), w.numpy(), None, (2,), (1,), (1,), 1, (2,))
    np.testing.assert_allclose(y.numpy(), ref, atol=1e-12)
    gradcheck(lambda a, b: F.conv_transpose1d(a, b, stride=2, padding=1, output_padding=1,
                                              dilation=2), x, w)


def test_conv_transpose3d_matches_loops_and_gradchecks():
    x, w, b = t64((1, 2, 2, 3, 2)), t64((2, 2, 2, 1, 2)), t64((4,))
    args = ((2, 1, 1), (0, 0, 1), (1, 0, 0), 2, (1, 2, 1))
    y = F.conv_transpose3d(x, w, b, *args)
    ref = ref_conv_transpose(x.numpy(), w.numpy(), b.numpy(), *args[:3], args[3], args[4])
    np.testing.assert_allclose(y.numpy(), ref, atol=1e-12)
    gradcheck(lambda *a: F.conv_transpose3d(*a, *args), x, w, b)


def test_conv_transpose2d_is_the_gradient_of_conv2d():
    """conv_transpose2d(g, w) = d<conv2d(x, w), g>/dx: the adjoint, with the same weight."""
    x, w = t64((2, 3, 7, 8)), t64((5, 3, 3, 3), requires_grad=False)
    y = F.conv2d(x, w, stride=2, padding=1)
    g = RNG.standard_normal(y.shape)
    y.backward(minigrad.tensor(g))
    # 7 and 8 both give 4 outputs at stride 2: output_padding picks 8 for W
    ct = F.conv_transpose2d(minigrad.tensor(g), w, stride=2, padding=1, output_padding=(0, 1))
    np.testing.assert_allclose(ct.numpy(), x.grad.numpy(), atol=1e-12)


def test_conv_transpose_modules():
    m = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)
    assert m.weight.shape == (4, 3, 3, 3) and m.bias.shape == (6,)
    bound = 1 / math.sqrt(3 * 9)
    assert np.abs(m.weight.numpy()).max() <= bound
    x = t64((1, 4, 5, 5))
    assert m(x).shape == (1, 6, 10, 10)
    assert m(x, output_size=(9, 9)).shape == (1, 6, 9, 9)
    with pytest.raises(ValueError):
        m(x, output_size=(12, 12))
    m1 = nn.ConvTranspose1d(2, 3, 4, stride=2, bias=False)
    assert m1.bias is None and m1(t64((1, 2, 5))).shape == (1, 3, 12)


def test_conv_transpose_errors():
    with pytest.raises(ValueError):  # output_padding must be < stride or dilation
        F.conv_transpose2d(t64((1, 2, 3, 3)), t64((2, 1, 2, 2)), stride=2, output_padding=2)
    with pytest.raises(ValueError):  # weight's first dim is C_in
        F.conv_transpose2d(t64((1, 3, 3, 3)), t64((2, 1, 2, 2)))


# ==================================================================================== conv3d


def ref_conv3d(x, w, b, stride, padding, dilation, groups):
    """Loop over output positions: the grouped cross-correlation of the definition."""
    n, c = x.shape[:2]
    o, cg = w.shape[:2]
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple((p, p) for p in padding))
    out = [(x.shape[2 + a] + 2 * padding[a] - dilation[a] * (w.shape[2 + a] - 1) - 1)
           // stride[a] + 1 for a in range(3)]
    y = np.zeros((n, o, *out))
    for oc in range(o):
        g = oc // (o // groups)
        for i in itertools.product(*(range(s) for s in out)):
            patch = xp[(slice(None), slice(g * cg, (g + 1) * cg)) + tuple(
                slice(i[a] * stride[a], i[a] * stride[a] + dilation[a] * (w.shape[2 + a] - 1) + 1,
                      dilation[a]) for a in range(3))]
            y[(slice(None), oc) + i] = np.einsum("ncdhw,cdhw->n", patch, w[oc])
    return y if b is None else y + b.reshape(-1, 1, 1, 1)


@pytest.mark.parametrize("stride,padding,dilation,groups", [
    ((1, 1, 1), (0, 0, 0), (1, 1, 1), 1), ((2, 1, 2), (1, 0, 1), (1, 2, 1), 2)])
def test_conv3d_matches_loops_and_gradchecks(stride, padding, dilation, groups):
    x, w, b = t64((2, 4, 4, 5, 4)), t64((4, 4 // groups, 2, 2, 3)), t64((4,))
    y = F.conv3d(x, w, b, stride, padding, dilation, groups)
    np.testing.assert_allclose(y.numpy(), ref_conv3d(x.numpy(), w.numpy(), b.numpy(), stride,
                                                     padding, dilation, groups), atol=1e-12)
    gradcheck(lambda *a: F.conv3d(*a, stride, padding, dilation, groups), x, w, b)


def test_conv3d_same_padding_and_module():
    x, w = t64((1, 2, 4, 5, 3)), t64((3, 2, 2, 3, 1))
    y = F.conv3d(x, w, padding="same")
    assert y.shape == (1, 3, 4, 5, 3)
    # PyTorch: an odd total padding t puts t // 2 before, the rest after
    xp = np.pad(x.numpy(), ((0, 0), (0, 0), (0, 1), (1, 1), (0, 0)))
    np.testing.assert_allclose(y.numpy(), ref_conv3d(xp, w.numpy(), None, (1,) * 3, (0,) * 3,
                                                     (1,) * 3, 1), atol=1e-12)
    m = nn.Conv3d(4, 6, (1, 2, 3), groups=2, padding=1, padding_mode="circular")
    assert m.weight.shape == (6, 2, 1, 2, 3)
    assert m(t64((1, 4, 3, 3, 3))).shape == (1, 6, 5, 4, 3)
    with pytest.raises(ValueError):
        F.conv3d(t64((1, 3, 2, 2, 2)), t64((2, 2, 1, 1, 1)))  # channels


# =================================================================================== pooling


def window_positions(i, n, k, s, p, d):
    """PyTorch's window: positions i·s + j·d - p, j < k, inside [0, n)."""
    return [i * s + j * d - p for j in range(k) if 0 <= i * s + j * d - p < n]


def ref_out(n, k, s, p, d, ceil):
    span = n + 2 * p - d * (k - 1) - 1
    out = (math.ceil(span / s) if ceil else span // s) + 1
    return out - 1 if ceil and (out - 1) * s >= n + p else out


def ref_max_pool(x, k, s, p, d, ceil):
    """Loop over output positions; returns values and flat indices into each (n, c) plane."""
    sp = x.shape[2:]
    out = [ref_out(sp[a], k[a], s[a], p[a], d[a], ceil) for a in range(len(sp))]
    y, idx = np.zeros(x.shape[:2] + tuple(out)), np.zeros(x.shape[:2] + tuple(out), dtype=int)
    for n, c in itertools.product(range(x.shape[0]), range(x.shape[1])):
        for o in itertools.product(*(range(m) for m in out)):
            cands = itertools.product(*(window_positions(o[a], sp[a], k[a], s[a], p[a], d[a])
                                        for a in range(len(sp))))
            best = max(cands, key=lambda pos: x[(n, c) + pos])  # max keeps the first on ties
            y[(n, c) + o] = x[(n, c) + best]
            idx[(n, c) + o] = np.ravel_multi_index(best, sp)
    return y, idx


@pytest.mark.parametrize("k,s,p,d,ceil", [(2, None, 0, 1, False), (3, 2, 1, 1, True),
                                          (2, 1, 1, 2, False), (3, 2, 0, 1, True)])
def test_max_pool1d_matches_loops(k, s, p, d, ceil):
    x = t64((2, 3, 8))
    y, i = F.max_pool1d(x, k, s, p, d, ceil, return_indices=True)
    ry, ri = ref_max_pool(x.numpy(), (k,), (s or k,), (p,), (d,), ceil)
    np.testing.assert_array_equal(y.numpy(), ry)
    np.testing.assert_array_equal(i.numpy(), ri)
    assert i.dtype == np.int64
    gradcheck(lambda a: F.max_pool1d(a, k, s, p, d, ceil), x)


def test_max_pool3d_and_2d_with_indices_match_loops():
    x = t64((1, 2, 4, 5, 5))
    args = ((2, 2, 3), (1, 2, 2), (1, 0, 1), (1, 1, 1), True)
    y, i = F.max_pool3d(x, *args[:4], ceil_mode=True, return_indices=True)
    ry, ri = ref_max_pool(x.numpy(), *args)
    np.testing.assert_array_equal(y.numpy(), ry)
    np.testing.assert_array_equal(i.numpy(), ri)
    gradcheck(lambda a: F.max_pool3d(a, *args[:4], ceil_mode=True), x)
    x2 = t64((2, 2, 5, 6))
    y, i = F.max_pool2d_with_indices(x2, 3, 2, 1, dilation=1)
    ry, ri = ref_max_pool(x2.numpy(), (3, 3), (2, 2), (1, 1), (1, 1), False)
    np.testing.assert_array_equal(i.numpy(), ri)
    np.testing.assert_array_equal(y.numpy(), F.max_pool2d(x2, 3, 2, 1).numpy())
    gradcheck(lambda t: F.max_pool2d_with_indices(t, 3, 2, 1, dilation=(1, 2))[0], x2)
    assert F.max_pool1d(t64((3, 6)), 2).shape == (3, 3)  # unbatched (C, L)


def test_max_pool_gradient_goes_to_the_first_maximum():
    x = minigrad.tensor([[[1.0, 3.0, 3.0, 2.0]]], requires_grad=True)
    F.max_pool1d(x, 3, 1).sum().backward()
    assert x.grad.tolist() == [[[0.0, 2.0, 0.0, 0.0]]]


def ref_avg_pool(x, k, s, p, ceil, count_include_pad, divisor=None):
    """Loop over output positions with PyTorch's divisor rule."""
    sp = x.shape[2:]
    out = [ref_out(sp[a], k[a], s[a], p[a], 1, ceil) for a in range(len(sp))]
    y = np.zeros(x.shape[:2] + tuple(out))
    for o in itertools.product(*(range(m) for m in out)):
        starts = [o[a] * s[a] - p[a] for a in range(len(sp))]
        ends = [min(st + k[a], sp[a] + p[a]) for a, st in enumerate(starts)]
        inside = tuple(slice(max(st, 0), min(e, sp[a])) for a, (st, e) in
                       enumerate(zip(starts, ends)))
        total = x[(slice(None), slice(None)) + inside].sum(axis=tuple(range(2, x.ndim)))
        if divisor:
            count = divisor
        elif count_include_pad:
            count = math.prod(e - st for st, e in zip(starts, ends))
        else:
            count = math.prod(sl.stop - sl.start for sl in inside)
        y[(slice(None), slice(None)) + o] = total / count
    return y


@pytest.mark.parametrize("k,s,p,ceil,cip", [(3, None, 0, False, True), (3, 2, 1, True, True),
                                            (3, 2, 1, True, False), (2, 3, 1, True, False)])
def test_avg_pool1d_matches_loops(k, s, p, ceil, cip):
    x = t64((2, 2, 8))
    y = F.avg_pool1d(x, k, s, p, ceil, cip)
    np.testing.assert_allclose(y.numpy(), ref_avg_pool(x.numpy(), (k,), (s or k,), (p,), ceil,
                                                       cip), atol=1e-12)
    gradcheck(lambda a: F.avg_pool1d(a, k, s, p, ceil, cip), x)


def test_avg_pool3d_matches_loops():
    x = t64((1, 2, 4, 5, 3))
    for kw in [dict(), dict(count_include_pad=False), dict(divisor_override=5)]:
        y = F.avg_pool3d(x, (2, 3, 2), (2, 2, 1), (1, 1, 0), True, **kw)
        ref = ref_avg_pool(x.numpy(), (2, 3, 2), (2, 2, 1), (1, 1, 0), True,
                           kw.get("count_include_pad", True), kw.get("divisor_override"))
        np.testing.assert_allclose(y.numpy(), ref, atol=1e-12)
    gradcheck(lambda a: F.avg_pool3d(a, 2, 1, 1, count_include_pad=False), x)


def adaptive_windows(n, m):
    return [(i * n // m, -(-(i + 1) * n // m)) for i in range(m)]


def test_adaptive_pools_match_the_start_end_formula():
    x = t64((2, 3, 7, 5))
    out = (3, 4)
    ya = F.adaptive_max_pool2d(x, out).numpy()
    for (i, (h0, h1)), (j, (w0, w1)) in itertools.product(enumerate(adaptive_windows(7, 3)),
                                                         enumerate(adaptive_windows(5, 4))):
        np.testing.assert_array_equal(ya[:, :, i, j], x.numpy()[:, :, h0:h1, w0:w1].max((2, 3)))
    x1 = minigrad.arange(5.0).reshape(1, 1, 5)
    np.testing.assert_allclose(F.adaptive_avg_pool1d(x1, 3).numpy()[0, 0], [0.5, 2.0, 3.5])
    v, i = F.adaptive_max_pool1d(x1, 3, return_indices=True)
    assert v.tolist() == [[[1.0, 3.0, 4.0]]] and i.tolist() == [[[1, 3, 4]]]
    gradcheck(lambda a: F.adaptive_max_pool2d(a, out), x)
    gradcheck(lambda a: F.adaptive_avg_pool1d(a, 4), t64((2, 2, 7)))
    gradcheck(lambda a: F.adaptive_max_pool1d(a, 4), t64((2, 2, 7)))
    from minigrad.ops.pool_more import adaptive_avg_pool2d

    ref = np.array([[x.numpy()[:, :, h0:h1, w0:w1].mean((2, 3)) for (w0, w1) in
                     adaptive_windows(5, 4)] for (h0, h1) in adaptive_windows(7, 3)])
    np.testing.assert_allclose(adaptive_avg_pool2d(x, out).numpy(), ref.transpose(2, 3, 0, 1))
    gradcheck(lambda t: adaptive_avg_pool2d(t, out), x)


def test_lp_pool_matches_loops():
    x = minigrad.tensor(RNG.uniform(0.5, 2.0, (1, 2, 5, 4)), requires_grad=True)
    y = F.lp_pool2d(x, 3, (2, 2), stride=(2, 1))
    ref = np.zeros((1, 2, 2, 3))
    for i, j in itertools.product(range(2), range(3)):
        ref[:, :, i, j] = (x.numpy()[:, :, 2 * i:2 * i + 2, j:j + 2] ** 3).sum((2, 3)) ** (1 / 3)
    np.testing.assert_allclose(y.numpy(), ref, atol=1e-12)
    gradcheck(lambda a: F.lp_pool2d(a, 3, 2), x)
    gradcheck(lambda a: F.lp_pool1d(a, 2, 3, 2), minigrad.tensor(RNG.uniform(0.5, 2, (1, 2, 7)),
                                                                requires_grad=True))


def test_max_unpool2d_puts_each_maximum_back():
    x = t64((2, 3, 4, 6))
    v, i = F.max_pool2d_with_indices(x, 2)
    u = F.max_unpool2d(v, i, 2)
    assert u.shape == x.shape
    ref = np.zeros((2, 3, 24))
    np.put_along_axis(ref, i.numpy().reshape(2, 3, -1), v.numpy().reshape(2, 3, -1), axis=-1)
    np.testing.assert_array_equal(u.numpy(), ref.reshape(x.shape))
    gradcheck(lambda a: F.max_unpool2d(a, i, 2), t64(v.numpy()))
    # overlapping windows can pick one element twice: one copy is kept and gets the gradient
    v, i = F.max_pool2d_with_indices(x, 3, 1)
    gradcheck(lambda a: F.max_unpool2d(a, i, 3, 1), t64(v.numpy()))
    assert F.max_unpool2d(v, i, 3, 1, output_size=(1, 1, 5, 7)).shape == (2, 3, 5, 7)
    with pytest.raises(RuntimeError):
        F.max_unpool2d(v, i, 3, 1, output_size=(2, 2))


def test_pooling_modules_and_errors():
    x = t64((1, 2, 6))
    assert nn.MaxPool1d(2)(x).shape == (1, 2, 3)
    assert nn.AvgPool1d(3, 2, 1, ceil_mode=True)(x).shape == (1, 2, 4)
    assert nn.AdaptiveAvgPool1d(4)(x).shape == (1, 2, 4)
    v, i = nn.AdaptiveMaxPool1d(4, return_indices=True)(x)
    assert v.shape == i.shape == (1, 2, 4)
    assert nn.LPPool1d(2, 3)(x).shape == (1, 2, 2)
    x3 = t64((1, 1, 4, 4, 4))
    assert nn.MaxPool3d(2)(x3).shape == nn.AvgPool3d(2)(x3).shape == (1, 1, 2, 2, 2)
    assert nn.AdaptiveMaxPool2d((None, 2))(t64((1, 3, 5))).shape == (1, 3, 2)
    pool, unpool = nn.MaxPool1d(2, return_indices=True), nn.MaxUnpool1d(2)
    v, i = pool(x)
    assert unpool(v, i).shape == (1, 2, 6)
    u2 = nn.MaxUnpool2d(2)
    v, i = F.max_pool2d_with_indices(t64((1, 1, 4, 4)), 2)
    assert u2(v, i).shape == (1, 1, 4, 4)
    assert nn.LPPool2d(2, 2)(t64((1, 1, 4, 4))).shape == (1, 1, 2, 2)
    with pytest.raises(ValueError):
        F.max_pool1d(x, 2, padding=2)  # more than half the kernel
    with pytest.raises(ValueError):
        F.avg_pool1d(t64((2, 3, 4, 5)), 2)  # 4-D for a 1-D pool


# ============================================================== device arrays (CuPy stand-in)


def _unpool(a):
    v, i = F.max_pool2d_with_indices(a, 2)
    return F.max_unpool2d(v, i, 2)


DEVICE_CASES = {
    "pad_reflect_crop": (lambda a: F.pad(a, (1, 2, -1, 1), mode="reflect"), [(2, 4, 5, 6)]),
    "pad_constant_crop": (lambda a: F.pad(a, (1, 2, -1, 1), value=2.0), [(2, 4, 5, 6)]),
    "bicubic": (lambda a: F.interpolate(a, scale_factor=2, mode="bicubic"), [(1, 2, 3, 4)]),
    "pixel_shuffle": (lambda a: F.pixel_shuffle(a, 2), [(1, 4, 2, 3)]),
    "conv_transpose2d": (lambda a, w: F.conv_transpose2d(a, w, stride=2, groups=2),
                         [(1, 4, 3, 3), (4, 3, 3, 3)]),
    "conv3d_same": (lambda a, w: F.conv3d(a, w, padding="same"), [(1, 2, 3, 4, 5), (3, 2, 2, 2, 2)]),
    "max_pool3d": (lambda a: F.max_pool3d(a, 2, ceil_mode=True), [(1, 2, 3, 4, 5)]),
    "adaptive_max_pool2d": (lambda a: F.adaptive_max_pool2d(a, (3, 4)), [(2, 2, 5, 6)]),
    "avg_pool1d": (lambda a: F.avg_pool1d(a, 3, 2, 1, count_include_pad=False), [(2, 3, 7)]),
    "max_unpool2d": (_unpool, [(2, 2, 4, 6)]),
}


@pytest.mark.parametrize("name", sorted(DEVICE_CASES))
def test_forward_and_backward_on_device_arrays_match_the_cpu(name):
    """On the CuPy stand-in (which refuses implicit host/device mixing) as on NumPy."""
    import warnings

    _cupy_standin = pytest.importorskip("_cupy_standin")
    fn, shapes = DEVICE_CASES[name]
    arrays = [RNG.standard_normal(s) for s in shapes]
    undo = _cupy_standin.install()
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
