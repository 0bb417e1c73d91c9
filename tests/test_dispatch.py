"""The engine's choice between the array path and the Triton kernels (chapter 9).

Runs on the CPU: the conftest sets TRITON_INTERPRET=1, so ``kernels.use("triton")``
sends matmul and softmax through Triton's interpreter.
"""

import numpy as np
import pytest

import minigrad as mg

pytest.importorskip("triton")
kernels = pytest.importorskip("minigrad.kernels")

pytestmark = pytest.mark.kernels


def loss_and_grads(mode, x, w, v, target):
    with kernels.use(mode):
        for t in (w, v):
            t.grad = None
        h = (x @ w).softmax(-1)                # matmul + softmax
        logits = h @ v                          # batched matmul with a shared 2-D weight
        loss = -logits.log_softmax(-1)[..., target].mean()
        loss.backward()
        return loss.item(), w.grad.numpy().copy(), v.grad.numpy().copy()


def test_triton_path_gives_the_same_loss_and_gradients(rng):
    x = mg.tensor(rng.standard_normal((2, 5, 7)).astype(np.float32))
    w = mg.tensor(rng.standard_normal((7, 19)).astype(np.float32), requires_grad=True)
    v = mg.tensor(rng.standard_normal((19, 3)).astype(np.float32), requires_grad=True)
    reference = loss_and_grads("reference", x, w, v, 1)
    triton = loss_and_grads("triton", x, w, v, 1)
    assert triton[0] == pytest.approx(reference[0], rel=1e-5)
    np.testing.assert_allclose(triton[1], reference[1], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(triton[2], reference[2], rtol=1e-4, atol=1e-6)


def test_triton_mode_really_launches_kernels(monkeypatch):
    calls = []
    real = kernels.matmul
    monkeypatch.setattr(kernels, "matmul", lambda a, b: calls.append(a.shape) or real(a, b))
    a, b = mg.randn(3, 4), mg.randn(4, 2)
    with kernels.use("triton"):
        a @ b
    assert calls == [(3, 4)]


@pytest.mark.parametrize("mode", ["auto", "reference"])
def test_cpu_auto_and_reference_modes_never_launch(mode, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a Triton kernel was launched")

    for name in ("matmul", "softmax", "softmax_backward", "log_softmax", "log_softmax_backward"):
        monkeypatch.setattr(kernels, name, refuse)
    x = mg.randn(3, 4, requires_grad=True)
    with kernels.use(mode):
        (x @ x.T).softmax(-1).log_softmax(-1).sum().backward()


def test_unsupported_dtypes_and_shapes_fall_back(monkeypatch):
    monkeypatch.setattr(kernels, "matmul", lambda *a: pytest.fail("kernel used for float64 or 1-D"))
    with kernels.use("triton"):
        mg.randn(3, 4, dtype=mg.float64) @ mg.randn(4, 2, dtype=mg.float64)
        mg.randn(4) @ mg.randn(4, 2)
        mg.randn(2, 1, 3, 4) @ mg.randn(3, 4, 2)   # broadcast batch dims


def test_use_restores_the_previous_mode_and_rejects_unknown_modes():
    assert kernels.mode() == "auto"
    with kernels.use("reference"):
        assert kernels.mode() == "reference"
    assert kernels.mode() == "auto"
    with pytest.raises(ValueError, match="mode must be one of"):
        kernels.use("cuda")


def test_linear_uses_one_gemm_with_fused_bias(rng, monkeypatch):
    import minigrad.nn.functional as F

    calls = []
    real = kernels.matmul
    monkeypatch.setattr(kernels, "matmul",
                        lambda a, b, bias=None: calls.append(bias is not None) or real(a, b, bias=bias))
    x = mg.tensor(rng.standard_normal((2, 3, 5)).astype(np.float32), requires_grad=True)
    w = mg.tensor(rng.standard_normal((4, 5)).astype(np.float32), requires_grad=True)
    b = mg.tensor(rng.standard_normal(4).astype(np.float32), requires_grad=True)
    expected = F.linear(x, w, b)
    expected.sum().backward()
    grads = [t.grad.numpy().copy() for t in (x, w, b)]
    for t in (x, w, b):
        t.grad = None
    with kernels.use("triton"):
        out = F.linear(x, w, b)
        out.sum().backward()
    assert calls[0] is True  # the forward: bias fused into the GEMM
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
    for t, g in zip((x, w, b), grads):
        np.testing.assert_allclose(t.grad.numpy(), g, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("causal", [False, True])
def test_attention_goes_through_the_flash_kernels(causal, rng, monkeypatch):
    import minigrad.nn.functional as F

    launched = []
    for name in ("attention", "attention_backward"):
        real = getattr(kernels, name)
        monkeypatch.setattr(kernels, name,
                            lambda *a, _real=real, _name=name, **kw: launched.append(_name) or _real(*a, **kw))
    q, k, v = (mg.tensor(rng.standard_normal((1, 2, 19, 16)).astype(np.float32), requires_grad=True)
               for _ in range(3))
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    expected.sum().backward()
    grads = [t.grad.numpy().copy() for t in (q, k, v)]
    for t in (q, k, v):
        t.grad = None
    with kernels.use("triton"):
        out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        out.sum().backward()
    assert launched == ["attention", "attention_backward"]
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-4, atol=1e-5)
    for t, g in zip((q, k, v), grads):
        np.testing.assert_allclose(t.grad.numpy(), g, rtol=1e-4, atol=1e-4)


def test_masked_attention_keeps_the_array_path(monkeypatch):
    import minigrad.nn.functional as F

    monkeypatch.setattr(kernels, "attention", lambda *a, **k: pytest.fail("flash kernel with a mask"))
    q = mg.randn(1, 1, 4, 16)
    mask = np.tril(np.ones((4, 4), dtype=bool))
    with kernels.use("triton"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=mask)
