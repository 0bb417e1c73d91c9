"""The Triton kernels on device arrays, against float64 NumPy references.

On a GPU (``MINIGRAD_TEST_DEVICE=cuda``) they are compiled, on awkward shapes, and every
autotune candidate runs once; on the CuPy stand-in the same launchers run through Triton's
interpreter on small shapes (checking the device plumbing, not the GPU).
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from minigrad import backend

from .conftest import ON_GPU

TOL = {"float32": (1e-4, 1e-4), "float16": (2e-2, 2e-2), "bfloat16": (5e-2, 5e-2)}
MATMUL = [(300, 200, 130), (1, 77, 129)] if ON_GPU else [(19, 23, 17)]
ATTN = [(2, 4, 300, 300, 64), (1, 2, 129, 129, 128)] if ON_GPU else [(1, 2, 19, 19, 16)]
# the interpreter is slow: on the stand-in one half dtype and the causal attention suffice
# (tests/test_kernels.py covers every dtype and mask on NumPy arrays)
DTYPES = ["float16", "bfloat16", "float32"] if ON_GPU else ["float16"]
SOFTMAX_DTYPES = ["float16", "float32"] if ON_GPU else ["float32"]
CAUSAL = [False, True] if ON_GPU else [True]


def _make(shape, dtype, seed, K):
    x = np.random.default_rng(seed).standard_normal(shape)
    host = K.to_bfloat16(x) if dtype == "bfloat16" else x.astype(dtype)
    if dtype == "bfloat16":
        return host, K.BFloat16Array(backend.to_device(host.bits, "cuda"))
    return host, backend.to_device(host, "cuda")


def _host(x, K):
    if isinstance(x, K.BFloat16Array):
        x = x.to_float32()
    assert backend.device_of(x) == "cuda"
    return np.asarray(backend.to_device(x, "cpu"), dtype=np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mnk", MATMUL, ids=lambda s: "x".join(map(str, s)))
def test_matmul_on_device(mnk, dtype, kernels_on_device):
    K = kernels_on_device
    m, n, k = mnk
    a, ad = _make((m, k), dtype, 1, K)
    b, bd = _make((k, n), dtype, 2, K)
    bias, biasd = _make((n,), "float32" if dtype == "float32" else dtype, 3, K)
    if dtype == "bfloat16":
        bias, biasd = None, None
    out = K.matmul(ad, bd, bias=biasd, activation="relu")
    ref = K.matmul_reference(a, b, bias=bias, activation="relu")
    rtol, atol = TOL[dtype]
    np.testing.assert_allclose(_host(out, K), ref, rtol=rtol, atol=atol * max(1.0, np.abs(ref).max()))


@pytest.mark.parametrize("dtype", SOFTMAX_DTYPES)
def test_softmax_on_device(dtype, kernels_on_device):
    K = kernels_on_device
    x, xd = _make((7, 5000 if ON_GPU else 37), dtype, 4, K)
    rtol, atol = TOL[dtype]
    np.testing.assert_allclose(_host(K.softmax(xd), K), K.softmax_reference(x), rtol=rtol, atol=atol)
    y = K.log_softmax(xd)
    np.testing.assert_allclose(_host(y, K), K.log_softmax_reference(x), rtol=rtol, atol=atol)


@pytest.mark.parametrize("causal", CAUSAL)
@pytest.mark.parametrize("case", ATTN, ids=lambda s: "x".join(map(str, s)))
def test_attention_forward_backward_on_device(case, causal, kernels_on_device):
    K = kernels_on_device
    B, H, S, _, D = case
    (q, qd), (k, kd), (v, vd), (do, dod) = (_make((B, H, S, D), "float16", s, K) for s in range(4))
    o, lse = K.attention(qd, kd, vd, causal=causal, return_lse=True)
    np.testing.assert_allclose(_host(o, K), K.attention_reference(q, k, v, causal=causal),
                               rtol=2e-2, atol=2e-2)
    grads = K.attention_backward(qd, kd, vd, o, lse, dod, causal=causal)
    for g, r in zip(grads, K.attention_backward_reference(q, k, v, do, causal=causal)):
        np.testing.assert_allclose(_host(g, K), r, rtol=3e-2, atol=3e-2)


@pytest.mark.skipif(not ON_GPU, reason="compiles every autotune candidate: GPU only")
def test_every_matmul_autotune_candidate_runs_once(kernels_on_device, monkeypatch):
    K = kernels_on_device
    matmul = importlib.import_module("minigrad.kernels.matmul")
    for family, configs in matmul.CONFIGS.items():
        dtype = "float16" if family == "half" else "float32"
        a, ad = _make((257, 129), dtype, 5, K)
        b, bd = _make((129, 191), dtype, 6, K)
        for cfg in configs:
            monkeypatch.setattr(matmul, "choose_config", lambda *args, cfg=cfg, **kw: cfg)
            out = K.matmul(ad, bd, input_precision="tf32" if family == "tf32" else None)
            tol = 1e-4 if family == "ieee" else 2e-2
            np.testing.assert_allclose(_host(out, K), K.matmul_reference(a, b), rtol=tol,
                                       atol=tol * 20, err_msg=f"{family} {cfg}")
