"""minigrad.threads: ops run in blocks on several threads give the one-thread results."""

import os
import threading

import numpy as np
import pytest

import minigrad
import minigrad.nn.functional as F
from minigrad import dispatch, threads


@pytest.fixture
def num_threads():
    """Set minigrad's threads for one test (tests run with the default), restored after."""
    saved = threads.get_num_threads()
    yield threads.set_num_threads
    threads.set_num_threads(saved)


def _run(fn, n, set_threads):
    set_threads(n)
    minigrad.manual_seed(0)
    return fn()


def _same_on_one_and_two_threads(fn, set_threads, exact=True, atol=1e-5):
    one, two = _run(fn, 1, set_threads), _run(fn, 2, set_threads)
    assert len(one) == len(two)
    for a, b in zip(one, two):
        if exact:
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=atol)


def test_set_and_get_num_threads(num_threads):
    num_threads(3)
    assert minigrad.get_num_threads() == 3
    num_threads(1)
    assert minigrad.get_num_threads() == 1
    for bad in (0, -2, 1.5, True, "2"):
        with pytest.raises(RuntimeError, match="set_num_threads: expected a positive number"):
            minigrad.set_num_threads(bad)


def test_blockwise_cuts_rows_and_runs_blocks_on_other_threads(num_threads):
    num_threads(2)
    x = np.arange(4 * threads.MIN_ELEMENTS_PER_THREAD, dtype=np.float32)
    out = np.empty_like(x)
    seen = []

    def double(a, b):
        seen.append((threading.current_thread().name, a.shape))
        np.multiply(a, 2, out=b)

    threads.blockwise(double, x, out)
    np.testing.assert_array_equal(out, 2 * x)
    assert len(seen) == 2 and {s for _, s in seen} == {(x.size // 2,)}
    assert sum(name.startswith("minigrad") for name, _ in seen) == 1  # one block on the pool


def test_blockwise_small_one_thread_and_none(num_threads):
    calls = []
    small = np.ones(10)
    num_threads(2)
    threads.blockwise(lambda a, b, s: calls.append((a.shape, b, s)), small, None, shared=(7,))
    assert calls == [((10,), None, 7)]  # too small: one call on the whole array
    num_threads(1)
    big = np.ones(4 * threads.MIN_ELEMENTS_PER_THREAD)
    threads.blockwise(lambda a: calls.append(a.shape), big)
    assert calls[-1] == big.shape


def test_blockwise_raises_a_blocks_exception_after_all_blocks(num_threads):
    num_threads(2)
    x = np.zeros(4 * threads.MIN_ELEMENTS_PER_THREAD)
    done = []

    def fail_on_second_half(a):
        if a.base is not None and a.__array_interface__["data"][0] != x.__array_interface__["data"][0]:
            raise ValueError("block failed")
        done.append(a.size)

    with pytest.raises(ValueError, match="block failed"):
        threads.blockwise(fail_on_second_half, x)
    assert done == [x.size // 2]


def test_gelu_layer_norm_attention_same_bits_on_two_threads(num_threads):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 64, 128)).astype(np.float32)
    h = rng.standard_normal((32, 64, 512)).astype(np.float32)
    qkv = rng.standard_normal((3, 32, 4, 64, 32)).astype(np.float32)
    mask = np.tril(np.ones((64, 64), bool))

    def gelu(approximate="none"):
        t = minigrad.tensor(h, requires_grad=True)
        y = F.gelu(t, approximate=approximate)
        y.backward(minigrad.tensor(h))
        return y.numpy(), t.grad.numpy()

    def layer_norm():
        t = minigrad.tensor(x, requires_grad=True)
        w = minigrad.tensor(np.linspace(0.5, 1.5, 128, dtype=np.float32), requires_grad=True)
        b = minigrad.zeros(128, requires_grad=True)
        y = F.layer_norm(t, (128,), w, b)
        y.backward(minigrad.tensor(x))
        return y.numpy(), t.grad.numpy(), w.grad.numpy(), b.grad.numpy()

    def attention(**kwargs):
        q, k, v = (minigrad.tensor(a, requires_grad=True) for a in qkv)
        o = F.scaled_dot_product_attention(q, k, v, **kwargs)
        o.backward(minigrad.tensor(qkv[0]))
        return o.numpy(), q.grad.numpy(), k.grad.numpy(), v.grad.numpy()

    for fn in (gelu, lambda: gelu("tanh"), layer_norm, lambda: attention(is_causal=True),
               lambda: attention(attn_mask=minigrad.tensor(mask)), lambda: attention(dropout_p=0.25)):
        _same_on_one_and_two_threads(fn, num_threads)


def test_attention_float_mask_gradient_on_two_threads(num_threads):
    rng = np.random.default_rng(1)
    qkv = rng.standard_normal((3, 16, 2, 64, 64)).astype(np.float32)
    bias = rng.standard_normal((64, 64)).astype(np.float32)

    def run():
        q, k, v = (minigrad.tensor(a, requires_grad=True) for a in qkv)
        m = minigrad.tensor(bias, requires_grad=True)
        F.scaled_dot_product_attention(q, k, v, attn_mask=m).sum().backward()
        return q.grad.numpy(), m.grad.numpy()

    _same_on_one_and_two_threads(run, num_threads, exact=False)


def test_products_in_row_blocks_match_numpy(num_threads):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((2048, 128)).astype(np.float32)
    b = rng.standard_normal((128, 512)).astype(np.float32)
    w, bias = b.T.copy(), rng.standard_normal(512).astype(np.float32)
    num_threads(2)
    assert threads.split_product(a, b) and not threads.split_product(a[:8], b)
    np.testing.assert_allclose(dispatch.matmul(a, b), a @ b, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(dispatch.matmul(a.T.copy().T, b), a @ b, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(dispatch.linear(a, w, bias), a @ w.T + bias, rtol=1e-5, atol=1e-4)
    num_threads(1)
    assert not threads.split_product(a, b)


def test_conv_relu_max_pool_in_sample_blocks(num_threads):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 32, 13, 13)).astype(np.float32)
    w = rng.standard_normal((64, 32, 3, 3)).astype(np.float32)
    b = rng.standard_normal(64).astype(np.float32)
    g = rng.standard_normal((64, 64, 7, 7)).astype(np.float32)

    def run():
        t, k = minigrad.tensor(x, requires_grad=True), minigrad.tensor(w, requires_grad=True)
        y = F.max_pool2d(F.relu(F.conv2d(t, k, minigrad.tensor(b), padding=1)), 3, stride=2, padding=1)
        y.backward(minigrad.tensor(g))
        return y.numpy(), t.grad.numpy(), k.grad.numpy()

    _same_on_one_and_two_threads(run, num_threads, exact=False, atol=1e-3)  # sums of 10,816 rows


def test_blas_is_set_to_one_thread_when_minigrad_uses_threads(num_threads):
    from threadpoolctl import threadpool_info

    num_threads(2)
    assert all(lib["num_threads"] == 1 for lib in threadpool_info() if lib["user_api"] == "blas")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_a_forked_child_makes_its_own_pool(num_threads):
    num_threads(2)
    x = np.ones(4 * threads.MIN_ELEMENTS_PER_THREAD, np.float32)
    out = np.empty_like(x)
    threads.blockwise(lambda a, b: np.add(a, 1, out=b), x, out)  # the parent's pool exists
    pid = os.fork()
    if pid == 0:  # child: would hang on the parent's dead pool without the at-fork reset
        try:
            threads.blockwise(lambda a, b: np.add(a, 2, out=b), x, out)
            os._exit(0 if (out == 3).all() else 1)
        except BaseException:  # noqa: BLE001
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
