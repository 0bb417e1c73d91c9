r"""Fused row softmax (and log-softmax), forward and backward, in Triton.

The math
--------
For one row $x \in \mathbb{R}^n$

$$
    y_i = \operatorname{softmax}(x)_i = \frac{e^{x_i - m}}{\sum_j e^{x_j - m}},
    \qquad m = \max_j x_j .
$$

Subtracting the row maximum $m$ changes nothing mathematically (it cancels)
but keeps every exponent $\le 0$, so $e^{x-m} \le 1$ never overflows,
not even in float16.  Log-softmax is $x_i - m - \log \sum_j e^{x_j - m}$.

Backward.  With upstream gradient $dy$, the Jacobian of softmax is
$\partial y_i / \partial x_k = y_i(\delta_{ik} - y_k)$, so

$$dx = y \odot \big(dy - \langle dy, y \rangle\big)$$

(one dot product per row, no $n \times n$ Jacobian).  For log-softmax
$\partial y_i/\partial x_k = \delta_{ik} - \operatorname{softmax}(x)_k$, so
$dx = dy - e^{y} \sum_j dy_j$.

Why fuse?
---------
Softmax does about 5 flops per element but must read and write every element:
it is *memory bound*.  Written with array ops (``max``, ``sub``, ``exp``, ``sum``,
``div``) it reads/writes the row ~5 times from HBM.  The fused kernel reads each
element once and writes it once: ``2 * n * bytes`` of traffic per row, the
minimum possible, so its speed is measured in GB/s against the HBM peak.

Two kernels per direction
-------------------------
* **One row per program** (``n <= MAX_BLOCK = 4096``): the whole row sits in
  registers as a block of ``BLOCK = next_power_of_2(n)`` lanes; out-of-range lanes
  are loaded as ``-inf`` (``e^{-inf} = 0``, so they drop out of the sum).
* **Looping** (``n > MAX_BLOCK``): the row does not fit, so the program walks it in
  chunks.  Pass 1 is an *online softmax*: it keeps a running max $m$ and a
  running sum $s$ and rescales the sum whenever the max grows,

  $$
      m' = \max(m, \max \text{chunk}), \quad
      s' = s\, e^{m - m'} + \textstyle\sum_{\text{chunk}} e^{x - m'} ,
  $$

  so the row is read once to get $(m, s)$ and once more to write
  $y$ (3 passes over memory instead of 2; still O(1) extra memory).  The
  same recurrence is the heart of flash attention (``attention.py``).  Each lane
  keeps its own $(m, s)$ and the lanes are combined once at the end, so the
  loop body has no cross-lane reductions.

All arithmetic is done in float32, whatever the storage dtype.
"""

from __future__ import annotations

import numpy as np

from ._launch import (
    BFloat16Array,
    array_module,
    choose_config,
    dtype_name,
    empty,
    is_cupy,
    jit,
    launch,
    require_triton,
    shape_bucket,
    tl,
)

MAX_BLOCK = 4096  # widest row held in registers by one program
LOOP_BLOCK = 1024  # chunk width of the looping kernels
SUPPORTED = ("float16", "bfloat16", "float32")


# --------------------------------------------------------------------------------------
# Kernels
# --------------------------------------------------------------------------------------


# --8<-- [start:softmax_fwd_kernel]
@jit
def softmax_fwd_kernel(x_ptr, y_ptr, n_cols, x_row_stride, y_row_stride,
                       BLOCK: tl.constexpr, LOG: tl.constexpr):
    """One program = one row; the whole row is one block of registers."""
    row = tl.program_id(0).to(tl.int64)  # int64: row * stride may exceed 2**31
    cols = tl.arange(0, BLOCK)
    mask = cols < n_cols
    x = tl.load(x_ptr + row * x_row_stride + cols, mask=mask, other=-float("inf"))
    x = x.to(tl.float32)
    z = x - tl.max(x, axis=0)
    num = tl.exp(z)
    den = tl.sum(num, axis=0)
    if LOG:
        y = z - tl.log(den)
    else:
        y = num / den
    tl.store(y_ptr + row * y_row_stride + cols, y.to(y_ptr.dtype.element_ty), mask=mask)
# --8<-- [end:softmax_fwd_kernel]


# --8<-- [start:softmax_fwd_looped_kernel]
@jit
def softmax_fwd_looped_kernel(x_ptr, y_ptr, n_cols, x_row_stride, y_row_stride,
                              BLOCK: tl.constexpr, LOG: tl.constexpr):
    """One program = one long row, walked in chunks of BLOCK (online softmax)."""
    row = tl.program_id(0).to(tl.int64)
    x_row = x_ptr + row * x_row_stride
    y_row = y_ptr + row * y_row_stride
    cols = tl.arange(0, BLOCK)
    # pass 1: per-lane running max m and running sum s of exp(x - m)
    m = tl.full([BLOCK], -float("inf"), tl.float32)
    s = tl.zeros([BLOCK], tl.float32)
    for start in range(0, n_cols, BLOCK):
        x = tl.load(x_row + start + cols, mask=start + cols < n_cols, other=-float("inf"))
        x = x.to(tl.float32)
        m_new = tl.maximum(m, x)
        # lanes that have only seen -inf keep m_new = -inf; guard the 0 * inf case
        m_safe = tl.where(m_new == -float("inf"), 0.0, m_new)
        s = s * tl.exp(m - m_safe) + tl.exp(x - m_safe)
        m = m_new
    # combine the lanes: rescale every lane's sum to the global max
    row_max = tl.max(m, axis=0)
    den = tl.sum(s * tl.exp(m - row_max), axis=0)
    log_den = tl.log(den)
    # pass 2: normalise and write
    for start in range(0, n_cols, BLOCK):
        mask = start + cols < n_cols
        x = tl.load(x_row + start + cols, mask=mask, other=0.0).to(tl.float32)
        if LOG:
            y = x - row_max - log_den
        else:
            y = tl.exp(x - row_max) / den
        tl.store(y_row + start + cols, y.to(y_ptr.dtype.element_ty), mask=mask)
# --8<-- [end:softmax_fwd_looped_kernel]


# --8<-- [start:softmax_bwd_kernel]
@jit
def softmax_bwd_kernel(y_ptr, dy_ptr, dx_ptr, n_cols, row_stride,
                       BLOCK: tl.constexpr, LOG: tl.constexpr):
    """dx = y * (dy - <dy, y>)   or, for log-softmax,   dx = dy - exp(y) * sum(dy)."""
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK)
    mask = cols < n_cols
    offs = row * row_stride + cols
    y = tl.load(y_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    dy = tl.load(dy_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    if LOG:
        dx = dy - tl.exp(y) * tl.sum(dy, axis=0)
    else:
        dx = y * (dy - tl.sum(dy * y, axis=0))
    tl.store(dx_ptr + offs, dx.to(dx_ptr.dtype.element_ty), mask=mask)
# --8<-- [end:softmax_bwd_kernel]


@jit
def softmax_bwd_looped_kernel(y_ptr, dy_ptr, dx_ptr, n_cols, row_stride,
                              BLOCK: tl.constexpr, LOG: tl.constexpr):
    """Two passes over a long row: first the row reduction, then dx."""
    row = tl.program_id(0).to(tl.int64)
    base = row * row_stride
    cols = tl.arange(0, BLOCK)
    acc = tl.zeros([BLOCK], tl.float32)
    for start in range(0, n_cols, BLOCK):
        mask = start + cols < n_cols
        dy = tl.load(dy_ptr + base + start + cols, mask=mask, other=0.0).to(tl.float32)
        if LOG:
            acc += dy
        else:
            y = tl.load(y_ptr + base + start + cols, mask=mask, other=0.0).to(tl.float32)
            acc += dy * y
    total = tl.sum(acc, axis=0)
    for start in range(0, n_cols, BLOCK):
        mask = start + cols < n_cols
        y = tl.load(y_ptr + base + start + cols, mask=mask, other=0.0).to(tl.float32)
        dy = tl.load(dy_ptr + base + start + cols, mask=mask, other=0.0).to(tl.float32)
        if LOG:
            dx = dy - tl.exp(y) * total
        else:
            dx = y * (dy - total)
        tl.store(dx_ptr + base + start + cols, dx.to(dx_ptr.dtype.element_ty), mask=mask)


# --------------------------------------------------------------------------------------
# Launchers
# --------------------------------------------------------------------------------------


def _next_pow2(n: int) -> int:
    return 1 << max(n - 1, 0).bit_length()


def _rows(x, name):
    """View ``x`` as a contiguous (rows, n) matrix; returns (matrix, original shape)."""
    if not hasattr(x, "shape") or len(x.shape) == 0:
        raise ValueError(f"{name}: expected an array with at least 1 dimension")
    dt = dtype_name(x)
    if dt not in SUPPORTED:
        raise TypeError(f"{name}: dtype {dt} not supported ({', '.join(SUPPORTED)})")
    shape = tuple(x.shape)
    n = shape[-1]
    if isinstance(x, BFloat16Array):
        xp = array_module(x.bits)
        return BFloat16Array(xp.ascontiguousarray(x.bits).reshape(-1, n)), shape
    xp = array_module(x)
    return xp.ascontiguousarray(x).reshape(-1, n), shape


def _warps_for(block: int) -> int:
    # more lanes -> more warps, so each thread holds a handful of elements
    return 4 if block <= 1024 else 8 if block <= 4096 else 16


def _configs(n_cols: int):
    """Candidate configs; the first is the default used on the CPU."""
    if n_cols <= MAX_BLOCK:
        block = _next_pow2(n_cols)
        w = _warps_for(block)
        return False, [{"BLOCK": block, "num_warps": w}] + [
            {"BLOCK": block, "num_warps": alt} for alt in (2, 4, 8, 16) if alt != w
        ]
    return True, [{"BLOCK": LOOP_BLOCK, "num_warps": 4},
                  {"BLOCK": 2048, "num_warps": 8},
                  {"BLOCK": 4096, "num_warps": 16}]


# --8<-- [start:forward]
def _forward(x, log: bool):
    name = "log_softmax" if log else "softmax"
    require_triton(name)
    x2, shape = _rows(x, name)
    n_rows, n_cols = x2.shape
    y2 = empty((n_rows, n_cols), dtype_name(x2), like=x2)
    if n_rows == 0 or n_cols == 0:
        return y2.reshape(*shape)
    looped, candidates = _configs(n_cols)
    kernel = softmax_fwd_looped_kernel if looped else softmax_fwd_kernel

    def run(cfg):
        launch(kernel, (n_rows,), [x2, y2, n_cols, n_cols, n_cols], {**cfg, "LOG": log}, name)

    cfg = choose_config(kernel.__name__, (shape_bucket(n_rows, n_cols), dtype_name(x2)),
                        candidates, run, on_gpu=is_cupy(x2))
    run(cfg)
    return y2.reshape(*shape)
# --8<-- [end:forward]


def _backward(y, dy, log: bool):
    name = "log_softmax_backward" if log else "softmax_backward"
    require_triton(name)
    if tuple(y.shape) != tuple(dy.shape):
        raise ValueError(f"{name}: y shape {tuple(y.shape)} != dy shape {tuple(dy.shape)}")
    if dtype_name(y) != dtype_name(dy):
        raise TypeError(f"{name}: y dtype {dtype_name(y)} != dy dtype {dtype_name(dy)}")
    y2, shape = _rows(y, name)
    dy2, _ = _rows(dy, name)
    n_rows, n_cols = y2.shape
    dx2 = empty((n_rows, n_cols), dtype_name(y2), like=y2)
    if n_rows == 0 or n_cols == 0:
        return dx2.reshape(*shape)
    looped, candidates = _configs(n_cols)
    kernel = softmax_bwd_looped_kernel if looped else softmax_bwd_kernel

    def run(cfg):
        launch(kernel, (n_rows,), [y2, dy2, dx2, n_cols, n_cols], {**cfg, "LOG": log}, name)

    cfg = choose_config(kernel.__name__, (shape_bucket(n_rows, n_cols), dtype_name(y2)),
                        candidates, run, on_gpu=is_cupy(y2))
    run(cfg)
    return dx2.reshape(*shape)


def softmax(x):
    """Softmax over the last axis.  ``x``: float16 / bfloat16 / float32 array
    (NumPy under ``TRITON_INTERPRET=1``, CuPy on a GPU).  Returns the same dtype."""
    return _forward(x, log=False)


def log_softmax(x):
    """Log-softmax over the last axis: ``x - max - log(sum(exp(x - max)))``."""
    return _forward(x, log=True)


def softmax_backward(y, dy):
    """Gradient of softmax given its output ``y``: ``dx = y * (dy - sum(dy * y, -1))``."""
    return _backward(y, dy, log=False)


def log_softmax_backward(y, dy):
    """Gradient of log-softmax given its output ``y``: ``dx = dy - exp(y) * sum(dy, -1)``."""
    return _backward(y, dy, log=True)


# --------------------------------------------------------------------------------------
# NumPy references (float64 arithmetic; the ground truth for the tests)
# --------------------------------------------------------------------------------------


def _as_f64(x):
    return np.asarray(x.to_float32() if isinstance(x, BFloat16Array) else x, dtype=np.float64)


def softmax_reference(x):
    """``exp(x - max) / sum(exp(x - max))`` over the last axis, in float64."""
    x = _as_f64(x)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax_reference(x):
    x = _as_f64(x)
    z = x - x.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def softmax_backward_reference(y, dy):
    """``dx = y * (dy - sum(dy * y))``: the softmax Jacobian-vector product."""
    y, dy = _as_f64(y), _as_f64(dy)
    return y * (dy - (dy * y).sum(axis=-1, keepdims=True))


def log_softmax_backward_reference(y, dy):
    y, dy = _as_f64(y), _as_f64(dy)
    return dy - np.exp(y) * dy.sum(axis=-1, keepdims=True)
