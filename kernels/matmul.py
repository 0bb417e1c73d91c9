r"""Tiled matrix multiplication ``C = act(A @ B + bias)`` in Triton.

The math
--------
$C_{mn} = \sum_k A_{mk} B_{kn}$ for ``A`` of shape (M, K) and ``B`` of shape
(K, N): ``2 M N K`` flops (one multiply and one add per term).

Tiling, and why
---------------
A GPU does far more arithmetic per second than it can fetch bytes from HBM
(an H100 SXM: ~990 TFLOP/s of dense fp16 tensor-core math vs ~3.35 TB/s, i.e. it
needs ~300 flops per byte loaded to stay busy).  The naive "one thread per
output, read a row of A and a column of B" kernel performs 2 flops per 4 bytes
loaded: hopelessly memory bound.

Each program here computes one ``BLOCK_M x BLOCK_N`` tile of C.  It walks the K
dimension in steps of ``BLOCK_K``, loading a ``BLOCK_M x BLOCK_K`` tile of A and a
``BLOCK_K x BLOCK_N`` tile of B into on-chip memory and accumulating their
product with ``tl.dot`` (tensor cores: ``mma.sync`` on sm_80, ``wgmma`` on sm_90).
Per K step it loads ``(BLOCK_M + BLOCK_N) * BLOCK_K`` elements and does
``2 * BLOCK_M * BLOCK_N * BLOCK_K`` flops, so the arithmetic intensity is

$$
    \frac{2\, B_M B_N B_K}{(B_M + B_N) B_K \cdot \text{bytes}}
    = \frac{B_M B_N}{(B_M + B_N)\,\text{bytes}}
    \;\; \overset{B_M=B_N=128,\ \text{fp16}}{=} \;\; 32 \text{ flop/byte}
$$

from HBM in the worst case, and much better in practice because neighbouring
programs re-read the same tiles from the L2 cache.

Grouped ordering (``GROUP_M``)
------------------------------
Programs are launched in order of ``pid``.  Row-major order (tile (0,0), (0,1),
(0,2), ...) makes consecutive programs share one row of A tiles but touch *every*
column of B: B falls out of L2 before it is reused.  Instead we number tiles in
column-major order inside groups of ``GROUP_M`` rows of tiles: the programs
running at the same time cover a roughly square ``GROUP_M x GROUP_M`` patch of C,
which needs ``GROUP_M`` rows of A and ``GROUP_M`` columns of B instead of 1 row and
all columns.  Same flops, fewer L2 misses (typically 10-20% faster for big C).

Tails (any M, N, K)
-------------------
Row and column indices of A and B tiles are taken *modulo* M and N: the wrapped
rows are valid memory (so the loads need no M/N mask and stay vectorised), they
just compute values we never store.  K is masked with zeros (a zero adds nothing
to the dot product).  The store is masked to the real ``M x N``.

Precision
---------
The accumulator is always float32.  float16/bfloat16 inputs use tensor cores
directly.  float32 inputs default to ``input_precision="ieee"`` (exact fp32 FMA,
like ``numpy.matmul`` and ``cupy.matmul``); ``"tf32"`` rounds the inputs to a
10-bit mantissa and runs on tensor cores, ~8x the throughput on A100/H100 with
relative error around 1e-3 (this is what torch's ``allow_tf32`` switches on).

Epilogue
--------
``bias`` (length N) and an activation are applied to the float32 accumulator
before the single store: fusing them saves a full read+write of C per op.
``gelu`` is the tanh approximation
$\tfrac12 x (1 + \tanh(\sqrt{2/\pi}(x + 0.044715 x^3)))$, computed as
``x * sigmoid(2u)`` since $\tfrac12(1+\tanh u) = \sigma(2u)$.

Batches
-------
A 2-D grid: axis 0 enumerates output tiles, axis 1 the batch index.  Each
operand has a batch stride; a 2-D operand gets batch stride 0, so it is shared
(broadcast) by every batch entry without a copy.  CUDA caps grid axis 1 at
65,535, so bigger batches are launched in chunks of views.

Large operands
--------------
Offsets are int32 (fast) unless an operand has 2**31 elements or more; then
``INDEX_64`` widens the row/column offsets before they are multiplied by strides.
"""

from __future__ import annotations

import math

import numpy as np

from ._launch import (
    BFloat16Array,
    array_module,
    batch_chunks,
    choose_config,
    dtype_name,
    elem_strides,
    empty,
    interpret_mode,
    is_cupy,
    jit,
    launch,
    needs_int64,
    require_triton,
    rows,
    shape_bucket,
    tl,
)

ACTIVATIONS = (None, "relu", "gelu")
SUPPORTED = ("float16", "bfloat16", "float32")


# --8<-- [start:matmul_kernel]
@jit
def matmul_kernel(
    a_ptr, b_ptr, c_ptr, bias_ptr,
    M, N, K,
    stride_ab, stride_am, stride_ak,
    stride_bb, stride_bk, stride_bn,
    stride_cb, stride_cm, stride_cn,
    HAS_BIAS: tl.constexpr, ACTIVATION: tl.constexpr,
    INPUT_PRECISION: tl.constexpr, UPCAST: tl.constexpr, INDEX_64: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
    GROUP_M: tl.constexpr,
):
    """One program computes one BLOCK_M x BLOCK_N tile of C[batch]."""
    # ---- which tile am I?  grouped ordering (see header) -------------------------
    pid = tl.program_id(0)
    batch = tl.program_id(1).to(tl.int64)
    num_pid_m = tl.cdiv(M, BLOCK_M)
    num_pid_n = tl.cdiv(N, BLOCK_N)
    num_pid_in_group = GROUP_M * num_pid_n
    group_id = pid // num_pid_in_group
    first_pid_m = group_id * GROUP_M
    group_size_m = min(num_pid_m - first_pid_m, GROUP_M)  # the last group may be short
    pid_m = first_pid_m + ((pid % num_pid_in_group) % group_size_m)
    pid_n = (pid % num_pid_in_group) // group_size_m

    # ---- pointers to the first K tile of A and B ---------------------------------
    offs_m = (pid_m * BLOCK_M + tl.arange(0, BLOCK_M)) % M  # wrapped: no load mask
    offs_n = (pid_n * BLOCK_N + tl.arange(0, BLOCK_N)) % N
    offs_k = tl.arange(0, BLOCK_K)
    if INDEX_64:  # an operand has >= 2**31 elements: int32 offsets * strides would overflow
        offs_m, offs_n, offs_k = offs_m.to(tl.int64), offs_n.to(tl.int64), offs_k.to(tl.int64)
    a_ptrs = a_ptr + batch * stride_ab + offs_m[:, None] * stride_am + offs_k[None, :] * stride_ak
    b_ptrs = b_ptr + batch * stride_bb + offs_k[:, None] * stride_bk + offs_n[None, :] * stride_bn

    # ---- main loop: acc += A[:, k:k+BK] @ B[k:k+BK, :] ----------------------------
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k in range(0, tl.cdiv(K, BLOCK_K)):
        k_left = K - k * BLOCK_K  # columns of A / rows of B still valid
        a = tl.load(a_ptrs, mask=offs_k[None, :] < k_left, other=0.0)
        b = tl.load(b_ptrs, mask=offs_k[:, None] < k_left, other=0.0)
        if UPCAST:  # interpreter work-around for bf16, see _launch_matmul
            a = a.to(tl.float32)
            b = b.to(tl.float32)
        acc = tl.dot(a, b, acc, input_precision=INPUT_PRECISION)
        a_ptrs += BLOCK_K * stride_ak
        b_ptrs += BLOCK_K * stride_bk

    # ---- epilogue on the fp32 accumulator: bias, activation, one store ------------
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)  # un-wrapped, for the store mask
    cols = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    if INDEX_64:
        rows, cols = rows.to(tl.int64), cols.to(tl.int64)
    if HAS_BIAS:
        bias = tl.load(bias_ptr + cols, mask=cols < N, other=0.0).to(tl.float32)
        acc += bias[None, :]
    if ACTIVATION == "relu":
        acc = tl.maximum(acc, 0.0)
    elif ACTIVATION == "gelu":
        u = 0.7978845608028654 * (acc + 0.044715 * acc * acc * acc)  # sqrt(2/pi) * (...)
        # x * sigmoid(2u) == 0.5 x (1 + tanh u); clamp so exp cannot overflow to inf
        acc = acc / (1.0 + tl.exp(tl.minimum(-2.0 * u, 80.0)))
    c_ptrs = c_ptr + batch * stride_cb + rows[:, None] * stride_cm + cols[None, :] * stride_cn
    tl.store(c_ptrs, acc.to(c_ptr.dtype.element_ty), mask=(rows[:, None] < M) & (cols[None, :] < N))
# --8<-- [end:matmul_kernel]


# --------------------------------------------------------------------------------------
# Configs
# --------------------------------------------------------------------------------------


def _cfg(bm, bn, bk, warps, stages, group_m=8):
    return {"BLOCK_M": bm, "BLOCK_N": bn, "BLOCK_K": bk, "GROUP_M": group_m,
            "num_warps": warps, "num_stages": stages}


# The first entry of each list is the default (used on the CPU and by compile.py).
# Shared memory per stage is (BM + BN) * BK * bytes; e.g. 128x128x32 fp16 is 16 KiB,
# times 4 stages = 64 KiB: fits sm_80 (164 KiB) and sm_90 (227 KiB).
CONFIGS = {
    "half": [_cfg(128, 128, 32, 4, 4), _cfg(128, 256, 64, 8, 3), _cfg(64, 256, 32, 4, 4),
             _cfg(128, 64, 32, 4, 4), _cfg(64, 128, 32, 4, 4), _cfg(64, 64, 64, 4, 4)],
    "tf32": [_cfg(128, 128, 32, 8, 3), _cfg(128, 64, 32, 4, 4), _cfg(64, 128, 32, 4, 4),
             _cfg(64, 64, 32, 4, 4)],
    "ieee": [_cfg(64, 64, 32, 4, 3), _cfg(128, 64, 32, 8, 3), _cfg(32, 64, 32, 4, 4)],
}


def config_family(dtype: str, input_precision: str) -> str:
    if dtype in ("float16", "bfloat16"):
        return "half"
    return input_precision


# --------------------------------------------------------------------------------------
# Launcher
# --------------------------------------------------------------------------------------


def _batch_view(x):
    """(B, rows, cols) view of a 2-D or >=3-D operand and its batch stride."""
    shape = tuple(x.shape)
    if len(shape) == 2:
        return x, 1, 0  # broadcast over the batch with stride 0
    raw = x.bits if isinstance(x, BFloat16Array) else x
    if len(shape) > 3:  # fold leading dims into one batch dim (copy only if needed)
        xp = array_module(raw)
        raw = xp.ascontiguousarray(raw).reshape(-1, shape[-2], shape[-1])
    x3 = BFloat16Array(raw) if isinstance(x, BFloat16Array) else raw
    return x3, x3.shape[0], elem_strides(x3)[0]


# --8<-- [start:matmul]
def matmul(a, b, bias=None, activation=None, input_precision=None):
    """``act(a @ b + bias)`` with a tiled Triton kernel.

    ``a``: (..., M, K), ``b``: (..., K, N); batch dims must match, or one operand
    is 2-D and shared by the whole batch.  float16, bfloat16 or float32 (both the
    same); the result has that dtype, accumulated in float32.  ``bias``: (N,).
    ``activation``: None, ``"relu"`` or ``"gelu"`` (tanh approximation).
    ``input_precision`` (float32 only): ``"ieee"`` (default, exact) or ``"tf32"``.
    """
    require_triton("matmul")
    if len(a.shape) < 2 or len(b.shape) < 2:
        raise ValueError(f"matmul: need arrays with >= 2 dims, got shapes "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} are not aligned")
    dt = dtype_name(a)
    if dt != dtype_name(b):
        raise TypeError(f"matmul: dtypes differ ({dt} and {dtype_name(b)})")
    if dt not in SUPPORTED:
        raise TypeError(f"matmul: dtype {dt} not supported ({', '.join(SUPPORTED)})")
    if activation not in ACTIVATIONS:
        raise ValueError(f"matmul: activation {activation!r} not supported {ACTIVATIONS}")
    if input_precision is None:
        input_precision = "ieee"
    if input_precision not in ("ieee", "tf32"):
        raise ValueError(f"matmul: input_precision {input_precision!r} not in ('ieee', 'tf32')")
    M, K = a.shape[-2:]
    N = b.shape[-1]
    if bias is not None and tuple(bias.shape) != (N,):
        raise ValueError(f"matmul: bias shape {tuple(bias.shape)} != ({N},) for output "
                         f"columns of {tuple(a.shape)} @ {tuple(b.shape)}")
    batch_a, batch_b = tuple(a.shape[:-2]), tuple(b.shape[:-2])
    if batch_a and batch_b and batch_a != batch_b:
        raise ValueError(f"matmul: batch dims of {tuple(a.shape)} and {tuple(b.shape)} differ")
    batch_shape = batch_a or batch_b

    a3, n_a, sab = _batch_view(a)
    b3, n_b, sbb = _batch_view(b)
    n_batch = max(n_a, n_b)
    c = empty((n_batch, M, N), dt, like=a)
    out_shape = (*batch_shape, M, N)
    if M == 0 or N == 0 or n_batch == 0:
        return c.reshape(*out_shape)
    sam, sak = elem_strides(a3)[-2:]
    sbk, sbn = elem_strides(b3)[-2:]
    scb, scm, scn = elem_strides(c)

    # Triton 3.9's interpreter implements tl.dot with np.matmul on the raw storage,
    # which for bf16 is uint16 bit patterns; widen bf16 tiles to fp32 first there.
    upcast = dt == "bfloat16" and interpret_mode()
    fixed = {"HAS_BIAS": bias is not None, "ACTIVATION": activation,
             "INPUT_PRECISION": input_precision if dt == "float32" else "ieee",
             "UPCAST": upcast, "INDEX_64": needs_int64(a3, b3, c)}
    bias_arg = bias if bias is not None else c  # any pointer: never read without HAS_BIAS

    def run(cfg):
        tiles = math.ceil(M / cfg["BLOCK_M"]) * math.ceil(N / cfg["BLOCK_N"])
        for start, stop in batch_chunks(n_batch):  # grid axis 1 <= 65,535 per launch
            a_part = rows(a3, start, stop) if n_a > 1 else a3
            b_part = rows(b3, start, stop) if n_b > 1 else b3
            launch(matmul_kernel, (tiles, stop - start),
                   [a_part, b_part, rows(c, start, stop), bias_arg, M, N, K,
                    sab, sam, sak, sbb, sbk, sbn, scb, scm, scn],
                   {**fixed, **cfg}, "matmul")

    candidates = CONFIGS[config_family(dt, input_precision)]
    cfg = choose_config("matmul", (shape_bucket(M, N, K), dt, input_precision, activation),
                        candidates, run, on_gpu=is_cupy(a))
    run(cfg)
    return c.reshape(*out_shape)
# --8<-- [end:matmul]


# --------------------------------------------------------------------------------------
# NumPy reference
# --------------------------------------------------------------------------------------


def _as_f64(x):
    if x is None:
        return None
    return np.asarray(x.to_float32() if isinstance(x, BFloat16Array) else x, dtype=np.float64)


def gelu_tanh_reference(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x**3)))


def matmul_reference(a, b, bias=None, activation=None):
    """``act(a @ b + bias)`` in float64 NumPy."""
    out = _as_f64(a) @ _as_f64(b)
    if bias is not None:
        out = out + _as_f64(bias)
    if activation == "relu":
        out = np.maximum(out, 0.0)
    elif activation == "gelu":
        out = gelu_tanh_reference(out)
    return out
