"""Issue 11: each defect of the CuPy audit, reproduced on the stand-in (or a GPU) and fixed.

The numbers in the test names are the issue's items.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad import backend, dispatch

from .helpers import assert_same, host, on_device

# ----------------------------------------------------------------------------- 1: test device switch


def test_1_test_device_switch_sets_the_triton_mode_or_refuses(standin, monkeypatch):
    import conftest as root_conftest

    from . import conftest as gpu_conftest

    env = {}
    assert root_conftest.configure_test_device(env) == "default" and env["TRITON_INTERPRET"] == "1"
    env = {"MINIGRAD_TEST_DEVICE": "cuda"}
    assert root_conftest.configure_test_device(env) == "cuda" and "TRITON_INTERPRET" not in env
    with pytest.raises(RuntimeError, match="needs TRITON_INTERPRET unset"):
        root_conftest.configure_test_device({"MINIGRAD_TEST_DEVICE": "cuda", "TRITON_INTERPRET": "1"})
    with pytest.raises(RuntimeError, match="expected 'cupy-standin' or 'cuda'"):
        root_conftest.configure_test_device({"MINIGRAD_TEST_DEVICE": "gpu"})
    monkeypatch.setattr(backend, "cupy", None)
    with pytest.raises(pytest.UsageError, match="CuPy sees no GPU"):
        gpu_conftest.check_gpu_requested(True)
    gpu_conftest.check_gpu_requested(False)


# ----------------------------------------------------------------------------- 2: no interpreter for device arrays


def test_2_device_arrays_never_reach_the_interpreter(standin, recwarn):
    kernels = pytest.importorskip("minigrad.kernels")
    a = standin.asarray(np.ones((4, 4), np.float16))
    with pytest.raises(RuntimeError, match="cannot read GPU memory; unset TRITON_INTERPRET"):
        kernels.matmul(a, a)
    # the engine's auto mode keeps device arrays on CuPy (one warning), the triton mode says why
    dispatch._WARNED.clear()
    out = dispatch.matmul(a, a)
    assert isinstance(out, standin.ndarray) and float(out[0, 0]) == 4.0
    assert any("Triton kernels are off on this GPU" in str(w.message) for w in recwarn.list)
    with kernels.use("triton"), pytest.raises(RuntimeError, match="kernels.use\\('triton'\\) on a GPU"):
        dispatch.matmul(a, a)


# ----------------------------------------------------------------------------- 3: convolutions


@pytest.mark.parametrize("dim", [1, 2])
def test_3_conv_on_the_device_matches_the_cpu(dim, xp):
    minigrad.manual_seed(3)
    layer = nn.Conv1d(2, 3, 3, padding=1) if dim == 1 else nn.Conv2d(2, 3, 3, padding=1, stride=2)
    shape = (2, 2, 9) if dim == 1 else (2, 2, 7, 6)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    xc = minigrad.tensor(x, requires_grad=True)
    layer(xc).square().sum().backward()
    cpu_grads = [host(p.grad) for p in layer.parameters()]
    layer.zero_grad()
    layer.to("cuda")
    xd = minigrad.tensor(x, device="cuda", requires_grad=True)
    yd = on_device(layer(xd))
    yd.square().sum().backward()
    assert_same(xd.grad, xc.grad, rtol=1e-4, atol=1e-5)
    for p, g in zip(layer.parameters(), cpu_grads):
        assert_same(on_device(p.grad), g, rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------- 4: binary cross-entropy


def test_4_binary_cross_entropy_on_the_device(xp, monkeypatch):
    p = np.array([0.1, 0.8, 1.0, 0.0], np.float32)
    y = np.array([0.0, 1.0, 1.0, 0.0], np.float32)
    pc = minigrad.tensor(p, requires_grad=True)
    F.binary_cross_entropy(pc, minigrad.tensor(y)).backward()
    pd = minigrad.tensor(p, device="cuda", requires_grad=True)
    loss = F.binary_cross_entropy(pd, minigrad.tensor(y, device="cuda"))
    loss.backward()
    assert_same(on_device(loss), F.binary_cross_entropy(minigrad.tensor(p), minigrad.tensor(y)))
    assert_same(on_device(pd.grad), pc.grad)
    bad = minigrad.tensor([0.5, 1.5], device="cuda")
    monkeypatch.setenv("MINIGRAD_CHECK_VALUES", "1")
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\], got values in \[0.5, 1.5\]"):
        F.binary_cross_entropy(bad, minigrad.tensor([0.0, 1.0], device="cuda"))


# ----------------------------------------------------------------------------- 5: NumPy gradients, gradcheck


def test_5_numpy_gradient_is_moved_to_the_device(xp):
    x = minigrad.randn(3, device="cuda", requires_grad=True)
    (x * 2).backward(np.ones(3, np.float32))
    assert_same(on_device(x.grad), np.full(3, 2.0))


def test_5_gradcheck_on_the_device_passes_and_catches_a_wrong_gradient(xp):
    x = minigrad.randn(2, 3, dtype=minigrad.float64, device="cuda", requires_grad=True)
    w = minigrad.randn(3, 2, dtype=minigrad.float64, device="cuda", requires_grad=True)
    assert minigrad.gradcheck(lambda a, b: (a @ b).tanh().sum(), (x, w))

    class WrongSquare(minigrad.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return g * a  # should be 2 a g

    with pytest.raises(sys.modules["minigrad.gradcheck"].GradcheckError, match="mismatch"):
        minigrad.gradcheck(lambda a: WrongSquare.apply(a).sum(), (x,))


def test_5_comparing_a_device_tensor_with_a_numpy_array(xp):
    x = minigrad.tensor([1.0, 2.0], device="cuda")
    assert host(x == np.array([1.0, 3.0], np.float32)).tolist() == [True, False]


# ----------------------------------------------------------------------------- 6: list weights


def test_6_list_weight_and_pos_weight_follow_the_input_device(xp):
    x = np.array([[0.3, -1.0], [2.0, 0.5]], np.float32)
    y = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    kw = {"weight": [1.0, 2.0], "pos_weight": [3.0, 0.5]}
    expect = F.binary_cross_entropy_with_logits(minigrad.tensor(x), minigrad.tensor(y), **kw)
    got = F.binary_cross_entropy_with_logits(minigrad.tensor(x, device="cuda"),
                                             minigrad.tensor(y, device="cuda"), **kw)
    assert_same(on_device(got), expect)
    p = minigrad.tensor([[0.2, 0.7]], device="cuda")
    got = F.binary_cross_entropy(p, minigrad.tensor([[0.0, 1.0]], device="cuda"), weight=[2.0, 1.0])
    expect = F.binary_cross_entropy(minigrad.tensor([[0.2, 0.7]]), minigrad.tensor([[0.0, 1.0]]),
                                    weight=[2.0, 1.0])
    assert_same(on_device(got), expect)


# ----------------------------------------------------------------------------- 7: no np.asarray on device arrays


def test_7_generate_from_a_device_prompt(xp):
    model = nn.TransformerLM(11, d_model=16, n_heads=2, n_layers=1, d_ff=32, max_len=8).to("cuda")
    out = model.generate(minigrad.tensor([[1, 2, 3]], device="cuda"), 4, temperature=0)
    assert out.shape == (1, 7) and out.device == "cuda"


def test_7_tensor_dataset_of_device_arrays(xp):
    from minigrad.utils.data import DataLoader, TensorDataset

    x = backend.to_device(np.arange(12, dtype=np.float32).reshape(6, 2), "cuda")
    y = backend.to_device(np.arange(6), "cuda")
    (xb, yb), = list(DataLoader(TensorDataset(x, y), batch_size=6, shuffle=False))
    on_device(xb)
    assert host(yb).tolist() == [0, 1, 2, 3, 4, 5]


# ----------------------------------------------------------------------------- 8: mixed dtypes


def test_8_mixed_dtypes_take_the_promoting_array_path(kernels_on_device, xp):
    x = backend.to_device(np.ones((3, 4), np.float32), "cuda")
    w = backend.to_device(np.full((5, 4), 0.5, np.float16), "cuda")
    assert not dispatch.use_triton(x, w)
    y = dispatch.linear(x, w)
    assert y.dtype == np.float32 and np.allclose(host(y), 2.0)
    layer = nn.Linear(4, 5).to("cuda")
    layer.weight._data = layer.weight._data.astype(np.float16)
    out = layer(minigrad.ones(3, 4, device="cuda"))
    assert out.dtype == np.float32


# ----------------------------------------------------------------------------- 9: what a GPU user installs


def test_9_missing_torch_is_explained_at_the_first_launch(standin, monkeypatch):
    kernels = pytest.importorskip("minigrad.kernels")
    launch = kernels._launch
    monkeypatch.setattr(launch, "interpret_mode", lambda: False)
    monkeypatch.setattr(launch, "triton_imported_interpreting", lambda: False)
    monkeypatch.setattr(launch, "_TORCH_PROBLEM", "PyTorch is not installed")
    problem = launch.device_launch_problem()
    assert "PyTorch is not installed" in problem
    assert "cupy-cuda12x" in problem and "cupy-cuda13x" in problem and "torch" in problem
    with pytest.raises(RuntimeError, match="Triton kernel on a CuPy array: PyTorch is not installed"):
        launch.as_kernel_arg(standin.asarray(np.ones(3, np.float32)))
