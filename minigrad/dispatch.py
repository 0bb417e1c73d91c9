"""Array path or Triton kernel? The one place the engine decides.

The ops call these functions instead of writing ``a @ b`` or a softmax
themselves. Each returns the same array either way; which code computes it
depends on ``minigrad.kernels.use(...)`` (see ``kernels/_mode.py``):

* ``"auto"`` (default): Triton for CuPy arrays on a GPU (float32 matmuls excepted:
  cuBLAS through CuPy is faster), NumPy/CuPy otherwise;
* ``"triton"``: Triton everywhere (on the CPU: its interpreter, slow, for learning);
* ``"reference"``: never Triton, to compare.

Shapes or dtypes a kernel does not handle (float64, mixed dtypes, 1-D matmul
operands, broadcast batch dims, softmax over an inner axis) always take the array
path. Device (CuPy) arrays never go to Triton's CPU interpreter: when kernels
cannot be compiled for the GPU (``TRITON_INTERPRET=1``, no torch with CUDA), the
``"auto"`` mode warns once and uses CuPy, the ``"triton"`` mode raises.
``MINIGRAD_DEBUG=kernels`` prints every kernel launch.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np

from minigrad import backend, threads

_KERNEL_DTYPES = (np.dtype(np.float16), np.dtype(np.float32))


def _kernels():
    import minigrad.kernels

    return minigrad.kernels


_WARNED: set = set()


def use_triton(*arrays, half_only: bool = False) -> bool:
    """Should this call go to a Triton kernel?

    ``half_only``: in ``"auto"`` mode on a GPU, float32 stays on the array path
    (CuPy's matmul calls cuBLAS, faster than an exact-fp32 Triton GEMM; the
    Triton kernel wins where it fuses work or for float16).
    """
    # Importing minigrad.kernels imports triton (slow, and it fixes the interpreter
    # mode for the process), so on the CPU we only look if the user imported it:
    # if nobody did, nobody called kernels.use() and the mode is "auto".
    on_gpu = backend.device_of(arrays[0]) == "cuda"
    kernels = sys.modules.get("minigrad.kernels") if not on_gpu else _kernels()
    mode = kernels.mode() if kernels is not None else "auto"
    if mode == "reference" or (mode == "auto" and not on_gpu):
        return False
    dtypes = {a.dtype for a in arrays}
    if len(dtypes) != 1 or next(iter(dtypes)) not in _KERNEL_DTYPES:
        return False  # float64, integers or mixed dtypes: the array path promotes as NumPy does
    if half_only and mode == "auto" and next(iter(dtypes)) == np.float32:
        return False
    if on_gpu:
        # Device arrays never take Triton's interpreter path (it reads host memory only).
        problem = kernels._launch.device_launch_problem()
        if problem is None:
            return True
        if mode == "triton":
            raise RuntimeError(f"kernels.use('triton') on a GPU: {problem}")
        if problem not in _WARNED:
            _WARNED.add(problem)
            warnings.warn(f"minigrad: Triton kernels are off on this GPU ({problem}); "
                          "using CuPy for matmul, softmax and attention", RuntimeWarning,
                          stacklevel=3)
        return False
    if not kernels.available():
        if mode == "auto":
            return False
        raise RuntimeError(
            "kernels.use('triton'): Triton cannot run here; install it "
            "(pip install 'minigrad-edu[kernels]') and, on a CPU, start Python with "
            "TRITON_INTERPRET=1 so that its interpreter runs the kernels"
        )
    return True


def matmul(a, b):
    """``a @ b``; by the tiled Triton GEMM when both are (batches of) matrices.

    On a GPU in ``"auto"`` mode float32 goes to cuBLAS (``cupy.matmul``), float16 to Triton.
    """
    fits = a.ndim >= 2 and b.ndim >= 2 and (a.ndim == 2 or b.ndim == 2 or a.shape[:-2] == b.shape[:-2])
    if fits and use_triton(a, b, half_only=True):
        return _kernels().matmul(a, b)
    if threads.split_product(a, b):  # fast path: row blocks on minigrad's threads
        out = np.empty((a.shape[0], b.shape[1]), np.result_type(a, b))
        threads.blockwise(_matmul_rows, a, out, shared=(b,), min_elements=0)
        return out
    return a @ b


def _matmul_rows(a, out, b):
    np.matmul(a, b, out=out)


def linear(x, weight, bias=None):
    """``x @ weight.T + bias`` for rows x (N, in); on the Triton path one GEMM, bias in its epilogue."""
    arrays = (x, weight) if bias is None else (x, weight, bias)
    if use_triton(*arrays, half_only=True):
        return _kernels().matmul(x, weight.T, bias=bias)
    if threads.split_product(x, weight.T):  # fast path: row blocks on minigrad's threads
        y = np.empty((x.shape[0], weight.shape[0]), np.result_type(x, weight))
        threads.blockwise(_linear_rows, x, y, shared=(weight, bias), min_elements=0)
        return y
    y = x @ weight.T
    if bias is not None:
        y += bias
    return y


def _linear_rows(x, y, weight, bias):
    np.matmul(x, weight.T, out=y)
    if bias is not None:
        y += bias


def flash_attention(q, k, v, causal: bool, scale: float):
    """``(O, lse)`` from the flash-attention kernel (O(S·d) memory), or None where it does not apply.

    The kernel takes (batch, heads, seq, head_dim) with 16 <= head_dim <= 128, no
    mask but the causal one, and equal query/key lengths when causal.
    """
    fits = (q.ndim == 4 and k.shape == v.shape and q.shape[:2] == k.shape[:2]
            and 16 <= q.shape[-1] <= 128 and (not causal or q.shape[2] == k.shape[2]))
    if fits and use_triton(q, k, v):
        return _kernels().attention(q, k, v, causal=causal, scale=scale, return_lse=True)
    return None


def flash_attention_backward(q, k, v, o, lse, g, causal: bool, scale: float):
    """(dQ, dK, dV) from the flash-attention backward kernels (recomputing P block by block)."""
    return _kernels().attention_backward(q, k, v, o, lse, g, causal=causal, scale=scale)


def softmax(x, axis: int, log: bool = False):
    """Softmax (or log-softmax) along ``axis``, stable: exp(x - max) / Σ exp(x - max)."""
    if axis == x.ndim - 1 and use_triton(x):
        k = _kernels()
        return k.log_softmax(x) if log else k.softmax(x)
    from minigrad.ops.stable import stable_softmax

    return stable_softmax(x, axis, log=log)


def softmax_backward(y, g, axis: int, log: bool = False):
    """Given the output y and dL/dy: softmax dx = y (g - Σ g y); log-softmax dx = g - e^y Σ g."""
    if axis == y.ndim - 1 and use_triton(y, g):
        k = _kernels()
        return k.log_softmax_backward(y, g) if log else k.softmax_backward(y, g)
    from minigrad.ops.stable import stable_softmax_backward

    return stable_softmax_backward(y, g, axis, log=log)
