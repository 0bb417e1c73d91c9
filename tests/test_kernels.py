"""Chapter 9: the Triton kernels, checked on the CPU with Triton's interpreter.

``TRITON_INTERPRET=1`` makes Triton run each program instance with NumPy, so the
*same* kernel source is tested here as on a GPU.  The interpreter is slow, so the
shapes are small but awkward: sizes that are not multiples of the block sizes,
so every tail/mask path runs.  All comparisons are against float64 NumPy
references.  Tests needing a real GPU are marked ``gpu`` and skip here.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.kernels
ROOT = Path(__file__).resolve().parents[1]

# tests/conftest.py sets TRITON_INTERPRET=1 before triton is imported, except with
# MINIGRAD_TEST_DEVICE=cuda (kernels compiled for a GPU): then these CPU tests skip.
if os.environ.get("TRITON_INTERPRET", "0") in ("", "0"):
    pytest.skip("interpreter tests: TRITON_INTERPRET is off (MINIGRAD_TEST_DEVICE=cuda?)",
                allow_module_level=True)

pytest.importorskip("triton", reason="triton not installed: pip install 'minigrad-edu[kernels]'")


def _load_kernels():
    """``minigrad.kernels`` if installed, else the ``kernels/`` directory loaded directly."""
    try:
        return importlib.import_module("minigrad.kernels")
    except ImportError:
        name = "minigrad_kernels_src"
        if name in sys.modules:
            return sys.modules[name]
        spec = importlib.util.spec_from_file_location(
            name, ROOT / "kernels" / "__init__.py",
            submodule_search_locations=[str(ROOT / "kernels")])
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
        return mod


K = _load_kernels()
launch_mod = sys.modules[K.__name__ + "._launch"]


def rng(seed):
    return np.random.default_rng(seed)


def assert_close(actual, expected, rtol, atol, what=""):
    actual = np.asarray(actual.to_float32() if isinstance(actual, K.BFloat16Array) else actual,
                        dtype=np.float64)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


TOL = {"float32": (1e-5, 1e-5), "float16": (1e-2, 1e-2), "bfloat16": (3e-2, 3e-2)}


def make(shape, dtype, seed, scale=1.0):
    x = rng(seed).standard_normal(shape) * scale
    if dtype == "bfloat16":
        return K.to_bfloat16(x)
    return x.astype(dtype)


# ----------------------------------------------------------------------------- basics


def test_available_in_interpreter_mode():
    assert K.interpret_mode()
    assert K.available()


def test_import_without_triton_gives_clear_error():
    """Importing works without triton; launching names the pip extra."""
    code = f"""
import sys, importlib.util
sys.modules["triton"] = None          # make `import triton` fail
sys.modules["triton.language"] = None
root = {str(ROOT / "kernels")!r}
spec = importlib.util.spec_from_file_location("k", root + "/__init__.py",
                                              submodule_search_locations=[root])
k = importlib.util.module_from_spec(spec); sys.modules["k"] = k; spec.loader.exec_module(k)
import numpy as np
assert not k.available()
k.softmax_reference(np.zeros((2, 3)))
try:
    k.matmul(np.zeros((2, 2), np.float32), np.zeros((2, 2), np.float32))
except ImportError as e:
    print(e)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "pip install 'minigrad-edu[kernels]'" in out.stdout
    assert "matmul" in out.stdout


def test_mode_mismatch_is_explained(monkeypatch):
    """triton was imported interpreting; asking for the compiler now gets a clear error."""
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    fresh = launch_mod.jit(lambda x_ptr: None)
    with pytest.raises(RuntimeError, match="TRITON_INTERPRET is off now but was on"):
        fresh[(1,)]


def test_debug_env_prints_launches(monkeypatch, capsys):
    monkeypatch.setenv("MINIGRAD_DEBUG", "kernels")
    K.softmax(make((2, 5), "float32", 0))
    err = capsys.readouterr().err
    assert "softmax" in err and "grid=(2,)" in err and "(2, 5):float32" in err


def test_bfloat16_roundtrip():
    x = np.array([1.0, -2.5, 3.140625, 1e-3, 65504.0, np.inf, -np.inf], dtype=np.float32)
    b = K.to_bfloat16(x)
    assert b.bits.dtype == np.uint16
    np.testing.assert_allclose(b.to_float32(), x, rtol=2**-8)
    assert np.isnan(K.to_bfloat16(np.array([np.nan], np.float32)).to_float32()[0])


# ----------------------------------------------------------------------------- softmax

SOFTMAX_SHAPES = [(1, 1), (3, 17), (4, 100), (2, 257), (2, 4096), (2, 4097), (1, 5000)]


@pytest.mark.parametrize("shape", SOFTMAX_SHAPES, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_softmax_forward_backward(shape, dtype):
    x = make(shape, dtype, 1, scale=4.0)
    dy = make(shape, dtype, 2)
    rtol, atol = TOL[dtype]
    y = K.softmax(x)
    assert y.dtype == x.dtype and y.shape == x.shape
    assert_close(y, K.softmax_reference(x), rtol, atol, "softmax")
    assert_close(K.softmax_backward(y, dy), K.softmax_backward_reference(y, dy), rtol, atol,
                 "softmax_backward")
    ly = K.log_softmax(x)
    assert_close(ly, K.log_softmax_reference(x), rtol, 4 * atol, "log_softmax")
    assert_close(K.log_softmax_backward(ly, dy), K.log_softmax_backward_reference(ly, dy),
                 rtol, 4 * atol, "log_softmax_backward")


def test_softmax_backward_matches_finite_differences():
    """The reference itself: dx = y * (dy - <dy, y>) is the true gradient of <dy, softmax(x)>."""
    x = rng(3).standard_normal((2, 7))
    dy = rng(4).standard_normal((2, 7))
    dx = K.softmax_backward_reference(K.softmax_reference(x), dy)
    eps = 1e-6
    num = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = eps
        num[idx] = ((K.softmax_reference(x + e) - K.softmax_reference(x - e)) * dy).sum() / (2 * eps)
    np.testing.assert_allclose(dx, num, rtol=1e-6, atol=1e-8)


def test_softmax_nd_bf16_and_extremes():
    x = make((2, 3, 33), "float32", 5)
    assert_close(K.softmax(x), K.softmax_reference(x), 1e-5, 1e-6)
    xb = make((3, 40), "bfloat16", 6)
    assert_close(K.softmax(xb), K.softmax_reference(xb), *TOL["bfloat16"])
    big = np.array([[1e4, 0.0, -1e4], [-np.inf, 0.0, 1.0]], dtype=np.float32)  # no overflow
    assert_close(K.softmax(big), K.softmax_reference(big), 1e-6, 1e-7)
    looped = np.full((1, 4500), -np.inf, np.float32)  # lanes that only ever see -inf
    looped[0, 4400] = 3.0
    assert_close(K.softmax(looped), K.softmax_reference(looped), 1e-6, 1e-7)


def test_softmax_errors():
    with pytest.raises(TypeError, match="softmax: dtype float64 not supported"):
        K.softmax(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"softmax_backward: y shape \(2, 3\) != dy shape"):
        K.softmax_backward(np.zeros((2, 3), np.float32), np.zeros((3, 2), np.float32))


# ----------------------------------------------------------------------------- matmul

MATMUL_SHAPES = [(1, 1, 1), (17, 100, 257), (257, 17, 100), (100, 257, 17), (1, 257, 33),
                 (64, 64, 64)]


@pytest.mark.parametrize("mnk", MATMUL_SHAPES, ids=str)
def test_matmul_fp32(mnk):
    M, N, K_ = mnk
    a, b = make((M, K_), "float32", 10), make((K_, N), "float32", 11)
    c = K.matmul(a, b)
    assert c.shape == (M, N) and c.dtype == np.float32
    assert_close(c, K.matmul_reference(a, b), 1e-5, 1e-4)


@pytest.mark.parametrize("mnk", [(17, 100, 257), (100, 17, 33)], ids=str)
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_matmul_half(mnk, dtype):
    M, N, K_ = mnk
    a, b = make((M, K_), dtype, 12), make((K_, N), dtype, 13)
    c = K.matmul(a, b)
    ref = K.matmul_reference(a, b)
    # output rounding dominates: relative to the magnitude of the result
    scale = np.abs(ref).max()
    assert_close(c, ref, 0, TOL[dtype][0] * scale)


@pytest.mark.parametrize("activation", [None, "relu", "gelu"])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_matmul_bias_activation_epilogue(activation, dtype):
    a, b = make((33, 70), dtype, 14), make((70, 19), dtype, 15)
    bias = make((19,), dtype, 16)
    c = K.matmul(a, b, bias=bias, activation=activation)
    ref = K.matmul_reference(a, b, bias, activation)
    rtol, atol = (1e-5, 1e-4) if dtype == "float32" else (1e-2, 5e-2)
    assert_close(c, ref, rtol, atol)


def test_matmul_batched_broadcast_transposed_tf32():
    a = make((2, 3, 17, 33), "float32", 20)
    b2 = make((33, 9), "float32", 21)
    b4 = make((2, 3, 33, 9), "float32", 22)
    assert_close(K.matmul(a, b2), K.matmul_reference(a, b2), 1e-5, 1e-4, "broadcast b")
    assert_close(K.matmul(a, b4), K.matmul_reference(a, b4), 1e-5, 1e-4, "batched")
    at = make((33, 17), "float32", 23).T  # a strided (transposed) view, no copy
    assert_close(K.matmul(at, b2), K.matmul_reference(at, b2), 1e-5, 1e-4, "transposed")
    # tf32 on a GPU rounds inputs to 10 mantissa bits; the interpreter computes in fp32
    assert_close(K.matmul(at, b2, input_precision="tf32"), K.matmul_reference(at, b2),
                 1e-2, 1e-2, "tf32")


def test_matmul_errors():
    f32 = np.float32
    with pytest.raises(ValueError, match=r"matmul: shapes \(3, 4\) and \(5, 2\) are not aligned"):
        K.matmul(np.zeros((3, 4), f32), np.zeros((5, 2), f32))
    with pytest.raises(TypeError, match="matmul: dtypes differ"):
        K.matmul(np.zeros((3, 4), f32), np.zeros((4, 2), np.float16))
    with pytest.raises(ValueError, match="activation 'tanh' not supported"):
        K.matmul(np.zeros((3, 4), f32), np.zeros((4, 2), f32), activation="tanh")
    with pytest.raises(ValueError, match=r"bias shape \(3,\) != \(2,\)"):
        K.matmul(np.zeros((3, 4), f32), np.zeros((4, 2), f32), bias=np.zeros(3, f32))


# ----------------------------------------------------------------------------- attention

ATTN_CASES = [
    # (batch, heads, seq_q, seq_k, head_dim, dtype)
    (1, 2, 100, 100, 32, "float32"),
    (2, 1, 70, 70, 48, "float16"),
    (1, 1, 65, 65, 128, "float16"),
    (1, 1, 129, 129, 16, "float32"),
    (1, 2, 37, 90, 64, "float32"),  # cross-attention: S_q != S_k (non-causal only)
]


def _attn_inputs(case, seed):
    B, H, S_Q, S_K, D, dtype = case
    q = make((B, H, S_Q, D), dtype, seed)
    k = make((B, H, S_K, D), dtype, seed + 1)
    v = make((B, H, S_K, D), dtype, seed + 2)
    do = make((B, H, S_Q, D), dtype, seed + 3)
    return q, k, v, do


# causal attention needs S_q == S_k (tested as an error below), so those pairs are not generated
ATTN_RUNS = [pytest.param(case, causal, id="x".join(map(str, case)) + ("-causal" if causal else "-full"))
             for case in ATTN_CASES for causal in (False, True) if not causal or case[2] == case[3]]


@pytest.mark.parametrize("case, causal", ATTN_RUNS)
def test_attention_forward_backward(case, causal):
    q, k, v, do = _attn_inputs(case, 30)
    dtype = case[-1]
    rtol, atol = (1e-4, 1e-4) if dtype == "float32" else (1e-2, 1e-2)
    o, lse = K.attention(q, k, v, causal=causal, return_lse=True)
    ref_o, ref_lse = K.attention_reference(q, k, v, causal=causal, return_lse=True)
    assert o.dtype == q.dtype and lse.dtype == np.float32
    assert_close(o, ref_o, rtol, atol, "o")
    assert_close(lse, ref_lse, 1e-4, 1e-4, "lse")
    grads = K.attention_backward(q, k, v, o, lse, do, causal=causal)
    refs = K.attention_backward_reference(q, k, v, do, causal=causal)
    for name, g, r in zip(("dq", "dk", "dv"), grads, refs):
        assert g.shape == r.shape
        assert_close(g, r, rtol, 2 * atol, name)


def test_attention_custom_scale_and_bf16():
    q, k, v, _ = _attn_inputs((1, 1, 40, 40, 16, "bfloat16"), 40)
    o = K.attention(q, k, v, causal=True, scale=0.3)
    assert isinstance(o, K.BFloat16Array)
    assert_close(o, K.attention_reference(q, k, v, causal=True, scale=0.3), *TOL["bfloat16"])


def test_attention_backward_reference_matches_finite_differences():
    """The float64 reference gradients against central differences of <dO, O>."""
    q, k, v, do = (rng(s).standard_normal((1, 1, 5, 4)) for s in (50, 51, 52, 53))
    dq, dk, dv = K.attention_backward_reference(q, k, v, do, causal=True, scale=0.7)
    eps = 1e-6

    def loss(q_, k_, v_):
        return (K.attention_reference(q_, k_, v_, causal=True, scale=0.7) * do).sum()

    for which, grad in ((0, dq), (1, dk), (2, dv)):
        num = np.zeros_like(grad)
        for idx in np.ndindex(grad.shape):
            plus, minus = [q.copy(), k.copy(), v.copy()], [q.copy(), k.copy(), v.copy()]
            plus[which][idx] += eps
            minus[which][idx] -= eps
            num[idx] = (loss(*plus) - loss(*minus)) / (2 * eps)
        np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-8)


def test_attention_errors():
    f32 = np.float32
    q = np.zeros((1, 1, 8, 200), f32)
    with pytest.raises(ValueError, match=r"attention: head_dim 200 not supported \(16..128\)"):
        K.attention(q, q, q)
    q = np.zeros((1, 1, 8, 16), f32)
    with pytest.raises(ValueError, match="must be \\(batch, heads, seq, head_dim\\)"):
        K.attention(q[0], q[0], q[0])
    with pytest.raises(ValueError, match="causal attention needs equal q/k lengths"):
        K.attention(q, np.zeros((1, 1, 9, 16), f32), np.zeros((1, 1, 9, 16), f32), causal=True)
    with pytest.raises(TypeError, match="attention: k dtype float16 != q dtype float32"):
        K.attention(q, q.astype(np.float16), q)


# ----------------------------------------------------------------------------- limits (issue 11, item 11)


def test_batches_beyond_the_grid_limit_are_launched_in_chunks(monkeypatch):
    """CUDA caps grid axis 1 at 65,535: matmul batches and attention batch·heads are chunked."""
    monkeypatch.setattr(launch_mod, "MAX_GRID_Y", 2)
    grids = []
    real_launch = launch_mod.launch

    def spy(kernel, grid, args, config, label=None):
        grids.append((label, tuple(grid)))
        return real_launch(kernel, grid, args, config, label)

    for name in ("matmul", "attention"):
        monkeypatch.setattr(sys.modules[f"{K.__name__}.{name}"], "launch", spy)
    a, b = make((5, 9, 7), "float32", 80), make((5, 7, 6), "float32", 81)
    assert_close(K.matmul(a, b), K.matmul_reference(a, b), 1e-5, 1e-5)
    assert [g[1][1] for g in grids if g[0] == "matmul"] == [2, 2, 1]
    shared = make((7, 6), "float32", 82)  # a 2-D operand is shared by every chunk
    assert_close(K.matmul(a, shared), K.matmul_reference(a, shared), 1e-5, 1e-5)
    q, k, v, do = _attn_inputs((1, 5, 17, 17, 16, "float32"), 83)
    o, lse = K.attention(q, k, v, causal=True, return_lse=True)
    assert_close(o, K.attention_reference(q, k, v, causal=True), 1e-4, 1e-4)
    grads = K.attention_backward(q, k, v, o, lse, do, causal=True)
    for g, r in zip(grads, K.attention_backward_reference(q, k, v, do, causal=True)):
        assert_close(g, r, 1e-4, 1e-4)
    assert {g[1][1] for g in grids if g[0].startswith("attention")} == {2, 1}


def test_int64_offsets_for_operands_of_2_31_elements(monkeypatch):
    class Shape:  # stands for an operand too big to allocate here
        shape = (65536, 32768)

    assert launch_mod.needs_int64(Shape()) and not launch_mod.needs_int64(np.zeros((4, 4)))
    configs = []
    real_launch = launch_mod.launch
    matmul_mod = sys.modules[f"{K.__name__}.matmul"]
    monkeypatch.setattr(matmul_mod, "launch",
                        lambda kernel, grid, args, config, label=None:
                        configs.append(config) or real_launch(kernel, grid, args, config, label))
    monkeypatch.setattr(matmul_mod, "needs_int64", lambda *arrays: True)
    a, b = make((33, 20), "float16", 84), make((20, 17), "float16", 85)
    assert_close(K.matmul(a, b), K.matmul_reference(a, b), *TOL["float16"])
    assert configs[-1]["INDEX_64"] is True


def test_autotuner_skips_configs_that_do_not_fit_but_not_real_errors(monkeypatch):
    import triton.runtime.errors as errors

    class Events:  # CuPy's events, enough for choose_config's timing
        class cuda:
            class Event:
                def record(self):
                    pass

                def synchronize(self):
                    pass

            @staticmethod
            def get_elapsed_time(start, stop):
                return 1.0

    monkeypatch.setitem(sys.modules, "cupy", Events)
    launch_mod._CONFIG_CACHE.clear()

    def run(cfg):
        if cfg["n"] == 0:
            raise errors.OutOfResources(300000, 232448, "shared memory")
        if cfg["n"] == 2:
            raise RuntimeError("CUDA error: an illegal memory access was encountered")

    assert launch_mod.choose_config("t", (1,), [{"n": 0}, {"n": 1}], run, on_gpu=True) == {"n": 1}
    with pytest.raises(RuntimeError, match="illegal memory access"):
        launch_mod.choose_config("t", (2,), [{"n": 1}, {"n": 2}], run, on_gpu=True)


# ----------------------------------------------------------------------------- Triton vs NumPy (item 12)


def test_old_interpreter_with_new_numpy_is_explained(monkeypatch):
    import triton.runtime.interpreter as interp

    def _patch_lang_tensor(tensor):  # the line of Triton 3.6's interpreter that NumPy 2.4 breaks
        tensor.__index__ = lambda self: int(self.handle.data)

    monkeypatch.setattr(interp, "_patch_lang_tensor", _patch_lang_tensor)
    monkeypatch.setattr(np, "__version__", "2.4.0")
    assert "install 'numpy<2.4'" in launch_mod.interpreter_numpy_problem()
    fresh = launch_mod.jit(lambda x_ptr: None)
    with pytest.raises(RuntimeError, match="interpreter does not work with NumPy 2.4.0"):
        fresh[(1,)]
    monkeypatch.setattr(np, "__version__", "2.3.5")
    assert launch_mod.interpreter_numpy_problem() is None


def test_installed_interpreter_works_with_installed_numpy():
    assert launch_mod.interpreter_numpy_problem() is None
