"""The engine under stress: 0-d tensors stay arrays, concurrent backward loses nothing,
std at zero variance, var without degrees of freedom (PyTorch's values written down)."""

import threading

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

pytestmark = pytest.mark.autograd


def test_0d_results_and_gradients_are_real_arrays():
    # NumPy reductions return scalars (np.float32), which cannot be written in place;
    # the engine keeps every tensor's array a real 0-d ndarray
    p = nn.Parameter(np.float32(2.0))
    assert isinstance(p._data, np.ndarray) and p.shape == ()
    loss = (p * p).sum()
    assert isinstance(loss._data, np.ndarray)
    loss.backward()
    assert isinstance(p.grad._data, np.ndarray) and p.grad.item() == 4.0
    p.grad.zero_()
    assert p.grad.item() == 0.0


def test_concurrent_backward_into_a_shared_parameter_loses_no_gradient():
    # 64 backward() calls from 8 threads into one 1M-element parameter: each adds 1 to every
    # element, so every element ends at 64 (PyTorch: 64). Before the lock: min 32-39.
    w = mg.zeros(1_000_000, requires_grad=True)
    barrier = threading.Barrier(8)

    def work():
        barrier.wait()
        for _ in range(8):
            w.sum().backward()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    g = w.grad.numpy()
    assert g.min() == 64 and g.max() == 64


def test_std_gradient_at_zero_variance_is_zero():
    # PyTorch 2.13: torch.tensor([2., 2., 2.], requires_grad=True).std().backward() -> grad 0
    x = mg.tensor(np.full(3, 2.0), requires_grad=True)
    s = x.std()
    s.backward()
    assert s.item() == 0.0
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0])
    y = mg.tensor(np.array([[1.0, 1.0], [1.0, 3.0]]), requires_grad=True)
    assert mg.gradcheck(lambda y: y.std(dim=1, correction=0) * 1.0, [mg.tensor(np.array([[1.0, 2.0], [1.0, 3.0]]),
                                                                            requires_grad=True)])
    y.std(dim=1).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [[0.0, 0.0], [-1 / np.sqrt(2), 1 / np.sqrt(2)]])


def test_var_without_degrees_of_freedom_is_nan_or_inf_like_pytorch():
    # PyTorch: torch.tensor([5.]).var() -> nan; torch.tensor([1., 3.]).var(correction=2) -> inf
    assert np.isnan(mg.tensor([5.0]).var().item())
    assert np.isinf(mg.tensor([1.0, 3.0]).var(correction=2).item())
    assert np.isnan(mg.tensor([5.0]).std().item())


def test_gradients_accumulate_into_the_same_grad_tensor():
    # PyTorch: g = p.grad; loss.backward() again; g is p.grad and holds the sum
    p = mg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (p * 3).sum().backward()
    g = p.grad
    (p * 3).sum().backward()
    assert p.grad is g
    np.testing.assert_array_equal(g.numpy(), [6.0, 6.0])
