r"""Flash attention, forward and backward, in Triton.

The math
--------
For one (batch, head): queries $Q \in \mathbb{R}^{S_q\times d}$, keys and
values $K, V \in \mathbb{R}^{S_k\times d}$ and a scale $\tau$
(default $1/\sqrt d$)

$$S = \tau\, Q K^\top, \qquad P = \operatorname{softmax}_{\text{rows}}(S), \qquad O = P V .$$

With ``causal=True`` query $i$ only sees keys $j \le i$ ($S_{ij}
= -\infty$ above the diagonal).

Memory: O(S d) instead of O(S^2)
--------------------------------
The textbook implementation writes the $S_q \times S_k$ matrices ``S`` and
``P`` to HBM: at S = 16k that is 1 GiB per head in fp32, and reading/writing it
dominates the run time.  Flash attention never stores them.  A program owns a
block of ``BLOCK_M`` query rows, streams through the keys/values in blocks of
``BLOCK_N``, and keeps only the running output ``acc`` (``BLOCK_M x d``) and two
numbers per row in registers.  HBM traffic and memory are O(S d).

The online-softmax recurrence
-----------------------------
For a row, after seeing key blocks 1..j keep the running max $m$, the
running denominator $\ell = \sum e^{s - m}$ and the unnormalised output
$a = \sum e^{s - m} v$.  A new block with scores $s_B$ updates

$$
    m' = \max(m, \max s_B), \quad \alpha = e^{m - m'}, \quad
    \ell' = \alpha \ell + \textstyle\sum e^{s_B - m'}, \quad
    a' = \alpha a + e^{s_B - m'} V_B ,
$$

and at the end $O = a / \ell$.  Rescaling by $\alpha$ whenever the max
grows makes the result exactly the softmax, in one pass.  (We use ``exp2`` with
the scores pre-multiplied by $\log_2 e$; ``exp2`` is the native GPU
instruction.)  The kernel also saves the log-sum-exp
$L = m + \log \ell$ per row (natural log): the backward pass recomputes
$P = e^{S - L}$ from it without any max or sum.

Backward (FlashAttention-2 style)
---------------------------------
With $dO$ given,

$$
    dV = P^\top dO, \quad dP = dO\, V^\top, \quad
    dS = P \odot (dP - \Delta), \quad \Delta_i = \textstyle\sum_j P_{ij} dP_{ij}
    = \sum_c dO_{ic} O_{ic}, \quad dQ = \tau\, dS\, K, \quad dK = \tau\, dS^\top Q .
$$

$\Delta$ is the softmax-backward row sum (see ``softmax.py``); the identity
$\sum_j P_{ij} dP_{ij} = \langle dO_i, O_i \rangle$ lets a tiny *preprocess*
kernel compute it from ``O`` and ``dO`` alone.  Then two kernels recompute ``P``
block by block: ``attn_bwd_dkdv_kernel`` owns a block of keys and loops over
queries (accumulating dK, dV in registers), ``attn_bwd_dq_kernel`` owns a block of
queries and loops over keys.  No atomics are needed; the price is computing
$QK^\top$ twice.

FLOPs
-----
Forward: two matmuls ($QK^\top$ and $PV$) of $2 S_q S_k d$ flops
each: $4 B H S^2 d$ in total, half that with a causal mask (we skip key
blocks entirely above the diagonal).  Backward: five matmuls
($QK^\top$ recomputed, $dV$, $dP$, $dQ$, $dK$), i.e.
2.5x the forward; with our split into two kernels $QK^\top$ is computed
twice, six matmuls in practice.

Layout
------
Inputs are (batch, heads, seq, head_dim), made contiguous by the launchers, so
row ``i`` of head ``bh`` starts at ``(bh * S + i) * head_dim``.  head_dim may be
any value in 16..128; the register tiles are padded to the next power of two
(``BLOCK_D``) and masked.
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
    empty,
    interpret_mode,
    is_cupy,
    jit,
    launch,
    require_triton,
    rows,
    shape_bucket,
    tl,
)

SUPPORTED = ("float16", "bfloat16", "float32")
MIN_HEAD_DIM, MAX_HEAD_DIM = 16, 128
LOG2E = 1.4426950408889634  # log2(e): e^x == 2^(x * log2 e)


# --------------------------------------------------------------------------------------
# Forward
# --------------------------------------------------------------------------------------


# --8<-- [start:attn_fwd_kernel]
@jit
def attn_fwd_kernel(q_ptr, k_ptr, v_ptr, o_ptr, lse_ptr, S_Q, S_K, sm_scale,
                    HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr,
                    INPUT_PRECISION: tl.constexpr, UPCAST: tl.constexpr,
                    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    """One program: BLOCK_M query rows of one (batch, head); loops over key blocks."""
    start_m = tl.program_id(0) * BLOCK_M
    bh = tl.program_id(1).to(tl.int64)
    q_ptr += bh * S_Q * HEAD_DIM
    o_ptr += bh * S_Q * HEAD_DIM
    k_ptr += bh * S_K * HEAD_DIM
    v_ptr += bh * S_K * HEAD_DIM

    offs_m = start_m + tl.arange(0, BLOCK_M)  # query rows
    offs_n = tl.arange(0, BLOCK_N)  # key rows within a block
    offs_d = tl.arange(0, BLOCK_D)
    d_ok = offs_d < HEAD_DIM
    q = tl.load(q_ptr + offs_m[:, None] * HEAD_DIM + offs_d[None, :],
                mask=(offs_m[:, None] < S_Q) & d_ok[None, :], other=0.0)
    if UPCAST:
        q = q.to(tl.float32)

    m_i = tl.full([BLOCK_M], -float("inf"), tl.float32)  # running max (base-2 units)
    l_i = tl.zeros([BLOCK_M], tl.float32)  # running sum of 2^(s - m)
    acc = tl.zeros([BLOCK_M, BLOCK_D], tl.float32)  # running sum of 2^(s - m) v
    qk_scale = sm_scale * 1.4426950408889634  # fold log2(e) in: use exp2 below

    # causal: key blocks entirely right of this query block are all masked: skip them
    hi = tl.minimum(S_K, start_m + BLOCK_M) if CAUSAL else S_K
    for start_n in range(0, hi, BLOCK_N):
        cols = start_n + offs_n
        kv_mask = (cols[:, None] < S_K) & d_ok[None, :]
        k = tl.load(k_ptr + cols[:, None] * HEAD_DIM + offs_d[None, :], mask=kv_mask, other=0.0)
        v = tl.load(v_ptr + cols[:, None] * HEAD_DIM + offs_d[None, :], mask=kv_mask, other=0.0)
        if UPCAST:
            k = k.to(tl.float32)
            v = v.to(tl.float32)
        s = tl.dot(q, tl.trans(k), input_precision=INPUT_PRECISION) * qk_scale
        valid = cols[None, :] < S_K
        if CAUSAL:
            valid = valid & (offs_m[:, None] >= cols[None, :])
        s = tl.where(valid, s, -float("inf"))
        # the online-softmax update (see header)
        m_new = tl.maximum(m_i, tl.max(s, axis=1))
        alpha = tl.exp2(m_i - m_new)
        p = tl.exp2(s - m_new[:, None])
        l_i = l_i * alpha + tl.sum(p, axis=1)
        acc = acc * alpha[:, None]
        acc = tl.dot(p.to(v.dtype), v, acc, input_precision=INPUT_PRECISION)
        m_i = m_new

    # padded query rows (>= S_Q) saw real keys, so l_i > 0 everywhere: no 0/0
    acc = acc / l_i[:, None]
    row_ok = offs_m < S_Q
    lse = (m_i + tl.log2(l_i)) * 0.6931471805599453  # back to natural log: ln 2 = 1/log2(e)
    tl.store(lse_ptr + bh * S_Q + offs_m, lse, mask=row_ok)
    tl.store(o_ptr + offs_m[:, None] * HEAD_DIM + offs_d[None, :], acc.to(o_ptr.dtype.element_ty),
             mask=row_ok[:, None] & d_ok[None, :])
# --8<-- [end:attn_fwd_kernel]


# --------------------------------------------------------------------------------------
# Backward
# --------------------------------------------------------------------------------------


# --8<-- [start:attn_bwd_preprocess_kernel]
@jit
def attn_bwd_preprocess_kernel(o_ptr, do_ptr, delta_ptr, S_Q,
                               HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr,
                               BLOCK_D: tl.constexpr):
    """delta_i = sum_c dO[i, c] * O[i, c]  (= sum_j P_ij dP_ij)."""
    bh = tl.program_id(1).to(tl.int64)
    offs_m = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    mask = (offs_m[:, None] < S_Q) & (offs_d[None, :] < HEAD_DIM)
    offs = bh * S_Q * HEAD_DIM + offs_m[:, None] * HEAD_DIM + offs_d[None, :]
    o = tl.load(o_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    do = tl.load(do_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    tl.store(delta_ptr + bh * S_Q + offs_m, tl.sum(o * do, axis=1), mask=offs_m < S_Q)
# --8<-- [end:attn_bwd_preprocess_kernel]


# --8<-- [start:attn_bwd_dkdv_kernel]
@jit
def attn_bwd_dkdv_kernel(q_ptr, k_ptr, v_ptr, do_ptr, lse_ptr, delta_ptr, dk_ptr, dv_ptr,
                         S_Q, S_K, sm_scale,
                         HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr,
                         INPUT_PRECISION: tl.constexpr, UPCAST: tl.constexpr,
                         BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    """One program: BLOCK_N keys; loops over query blocks; writes dK and dV.

    Works with transposed tiles (keys along rows): P^T = 2^(K Q^T * scale*log2e - L*log2e).
    """
    start_n = tl.program_id(0) * BLOCK_N
    bh = tl.program_id(1).to(tl.int64)
    q_ptr += bh * S_Q * HEAD_DIM
    do_ptr += bh * S_Q * HEAD_DIM
    k_ptr += bh * S_K * HEAD_DIM
    v_ptr += bh * S_K * HEAD_DIM
    dk_ptr += bh * S_K * HEAD_DIM
    dv_ptr += bh * S_K * HEAD_DIM
    lse_ptr += bh * S_Q
    delta_ptr += bh * S_Q

    offs_n = start_n + tl.arange(0, BLOCK_N)  # key rows
    offs_m = tl.arange(0, BLOCK_M)  # query rows within a block
    offs_d = tl.arange(0, BLOCK_D)
    d_ok = offs_d < HEAD_DIM
    kv_mask = (offs_n[:, None] < S_K) & d_ok[None, :]
    k = tl.load(k_ptr + offs_n[:, None] * HEAD_DIM + offs_d[None, :], mask=kv_mask, other=0.0)
    v = tl.load(v_ptr + offs_n[:, None] * HEAD_DIM + offs_d[None, :], mask=kv_mask, other=0.0)
    if UPCAST:
        k = k.to(tl.float32)
        v = v.to(tl.float32)
    dk = tl.zeros([BLOCK_N, BLOCK_D], tl.float32)
    dv = tl.zeros([BLOCK_N, BLOCK_D], tl.float32)
    qk_scale = sm_scale * 1.4426950408889634

    # causal: query rows above this key block never see it: start at the diagonal
    lo = (start_n // BLOCK_M) * BLOCK_M if CAUSAL else 0
    for start_m in range(lo, S_Q, BLOCK_M):
        rows = start_m + offs_m
        q_mask = (rows[:, None] < S_Q) & d_ok[None, :]
        q = tl.load(q_ptr + rows[:, None] * HEAD_DIM + offs_d[None, :], mask=q_mask, other=0.0)
        do = tl.load(do_ptr + rows[:, None] * HEAD_DIM + offs_d[None, :], mask=q_mask, other=0.0)
        if UPCAST:
            q = q.to(tl.float32)
            do = do.to(tl.float32)
        lse = tl.load(lse_ptr + rows, mask=rows < S_Q, other=0.0) * 1.4426950408889634
        delta = tl.load(delta_ptr + rows, mask=rows < S_Q, other=0.0)
        # recompute P^T for this (key block, query block)
        s_t = tl.dot(k, tl.trans(q), input_precision=INPUT_PRECISION) * qk_scale
        valid = (rows[None, :] < S_Q) & (offs_n[:, None] < S_K)
        if CAUSAL:
            valid = valid & (rows[None, :] >= offs_n[:, None])
        p_t = tl.where(valid, tl.exp2(s_t - lse[None, :]), 0.0)
        # dV += P^T dO
        dv = tl.dot(p_t.to(do.dtype), do, dv, input_precision=INPUT_PRECISION)
        # dP^T = V dO^T ;  dS^T = P^T * (dP^T - delta)
        dp_t = tl.dot(v, tl.trans(do), input_precision=INPUT_PRECISION)
        ds_t = p_t * (dp_t - delta[None, :])
        # dK += dS^T Q   (the scale is applied once at the end)
        dk = tl.dot(ds_t.to(q.dtype), q, dk, input_precision=INPUT_PRECISION)

    dk = dk * sm_scale
    out = offs_n[:, None] * HEAD_DIM + offs_d[None, :]
    tl.store(dk_ptr + out, dk.to(dk_ptr.dtype.element_ty), mask=kv_mask)
    tl.store(dv_ptr + out, dv.to(dv_ptr.dtype.element_ty), mask=kv_mask)
# --8<-- [end:attn_bwd_dkdv_kernel]


# --8<-- [start:attn_bwd_dq_kernel]
@jit
def attn_bwd_dq_kernel(q_ptr, k_ptr, v_ptr, do_ptr, lse_ptr, delta_ptr, dq_ptr,
                       S_Q, S_K, sm_scale,
                       HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr,
                       INPUT_PRECISION: tl.constexpr, UPCAST: tl.constexpr,
                       BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    """One program: BLOCK_M queries; loops over key blocks; writes dQ."""
    start_m = tl.program_id(0) * BLOCK_M
    bh = tl.program_id(1).to(tl.int64)
    q_ptr += bh * S_Q * HEAD_DIM
    do_ptr += bh * S_Q * HEAD_DIM
    dq_ptr += bh * S_Q * HEAD_DIM
    k_ptr += bh * S_K * HEAD_DIM
    v_ptr += bh * S_K * HEAD_DIM
    lse_ptr += bh * S_Q
    delta_ptr += bh * S_Q

    offs_m = start_m + tl.arange(0, BLOCK_M)
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, BLOCK_D)
    d_ok = offs_d < HEAD_DIM
    q_mask = (offs_m[:, None] < S_Q) & d_ok[None, :]
    q = tl.load(q_ptr + offs_m[:, None] * HEAD_DIM + offs_d[None, :], mask=q_mask, other=0.0)
    do = tl.load(do_ptr + offs_m[:, None] * HEAD_DIM + offs_d[None, :], mask=q_mask, other=0.0)
    if UPCAST:
        q = q.to(tl.float32)
        do = do.to(tl.float32)
    lse = tl.load(lse_ptr + offs_m, mask=offs_m < S_Q, other=0.0) * 1.4426950408889634
    delta = tl.load(delta_ptr + offs_m, mask=offs_m < S_Q, other=0.0)
    dq = tl.zeros([BLOCK_M, BLOCK_D], tl.float32)
    qk_scale = sm_scale * 1.4426950408889634

    hi = tl.minimum(S_K, start_m + BLOCK_M) if CAUSAL else S_K
    for start_n in range(0, hi, BLOCK_N):
        cols = start_n + offs_n
        kv_mask = (cols[:, None] < S_K) & d_ok[None, :]
        k = tl.load(k_ptr + cols[:, None] * HEAD_DIM + offs_d[None, :], mask=kv_mask, other=0.0)
        v = tl.load(v_ptr + cols[:, None] * HEAD_DIM + offs_d[None, :], mask=kv_mask, other=0.0)
        if UPCAST:
            k = k.to(tl.float32)
            v = v.to(tl.float32)
        s = tl.dot(q, tl.trans(k), input_precision=INPUT_PRECISION) * qk_scale
        valid = (offs_m[:, None] < S_Q) & (cols[None, :] < S_K)
        if CAUSAL:
            valid = valid & (offs_m[:, None] >= cols[None, :])
        p = tl.where(valid, tl.exp2(s - lse[:, None]), 0.0)
        dp = tl.dot(do, tl.trans(v), input_precision=INPUT_PRECISION)
        ds = p * (dp - delta[:, None])
        dq = tl.dot(ds.to(k.dtype), k, dq, input_precision=INPUT_PRECISION)

    dq = dq * sm_scale
    tl.store(dq_ptr + offs_m[:, None] * HEAD_DIM + offs_d[None, :],
             dq.to(dq_ptr.dtype.element_ty), mask=q_mask)
# --8<-- [end:attn_bwd_dq_kernel]


# --------------------------------------------------------------------------------------
# Configs
# --------------------------------------------------------------------------------------

# First entry = default (CPU and compile.py); chosen so that `ptxas -v` reports no
# spills on sm_80 and sm_90 at head_dim 64 (see compile.py).  fp32 ("ieee") tiles are
# smaller: without tensor cores each fp32 value costs registers twice as fast as fp16.
# (128 x 64 fp16 with 4 warps, the other common choice, spills on sm_80.)
FWD_CONFIGS = {
    "half": [
        {"BLOCK_M": 128, "BLOCK_N": 64, "num_warps": 8, "num_stages": 3},
        {"BLOCK_M": 64, "BLOCK_N": 64, "num_warps": 4, "num_stages": 3},
        {"BLOCK_M": 128, "BLOCK_N": 128, "num_warps": 8, "num_stages": 3},
        {"BLOCK_M": 128, "BLOCK_N": 64, "num_warps": 4, "num_stages": 3},
    ],
    "fp32": [
        {"BLOCK_M": 64, "BLOCK_N": 32, "num_warps": 8, "num_stages": 2},
        {"BLOCK_M": 32, "BLOCK_N": 32, "num_warps": 4, "num_stages": 2},
    ],
    # fp32 with head_dim > 64: the Q and O tiles alone take 64 registers a thread at 64 x 128;
    # 64 x 32 spilled 1.3 KB on sm_90 (Triton 3.9), 64 x 16 with 8 warps spills nothing.
    "fp32_wide": [
        {"BLOCK_M": 64, "BLOCK_N": 16, "num_warps": 8, "num_stages": 2},
        {"BLOCK_M": 32, "BLOCK_N": 16, "num_warps": 4, "num_stages": 2},
    ],
}
# backward: dK/dV uses BLOCK_N keys x BLOCK_M queries; dQ swaps the two.
BWD_CONFIGS = {
    "half": [
        {"BLOCK_M": 64, "BLOCK_N": 64, "num_warps": 4, "num_stages": 2},
        {"BLOCK_M": 32, "BLOCK_N": 64, "num_warps": 4, "num_stages": 3},
        {"BLOCK_M": 64, "BLOCK_N": 128, "num_warps": 8, "num_stages": 2},
    ],
    "fp32": [
        {"BLOCK_M": 32, "BLOCK_N": 32, "num_warps": 8, "num_stages": 2},
        {"BLOCK_M": 16, "BLOCK_N": 32, "num_warps": 4, "num_stages": 2},
    ],
}
# head_dim > 64 (compiled with Triton 3.9, ptxas -v): the defaults above spill in dK/dV
# (fp16 on sm_80: 68 B, fp32 on sm_90: 336 B); these spill nothing on sm_80 and sm_90.
FWD_CONFIGS["half_wide"] = FWD_CONFIGS["half"]
BWD_CONFIGS["half_wide"] = [{"BLOCK_M": 64, "BLOCK_N": 64, "num_warps": 8, "num_stages": 2},
                            *BWD_CONFIGS["half"]]
BWD_CONFIGS["fp32_wide"] = [{"BLOCK_M": 16, "BLOCK_N": 32, "num_warps": 4, "num_stages": 2}]


def config_family(dtype: str, head_dim: int = 64) -> str:
    """Which config list: ``"half"`` (fp16/bf16) or ``"fp32"``, ``"_wide"`` for head_dim > 64."""
    family = "fp32" if dtype == "float32" else "half"
    return family + "_wide" if head_dim > 64 else family


# --------------------------------------------------------------------------------------
# Launchers
# --------------------------------------------------------------------------------------


def _next_pow2(n: int) -> int:
    return 1 << max(n - 1, 0).bit_length()


def _bh(x):
    """(batch, heads, ...) contiguous -> a (batch·heads, ...) view, to slice by (batch, head)."""
    shape = tuple(x.shape)
    return x.reshape(shape[0] * shape[1], *shape[2:])


def _contig(x):
    if isinstance(x, BFloat16Array):
        return BFloat16Array(array_module(x.bits).ascontiguousarray(x.bits))
    return array_module(x).ascontiguousarray(x)


def _check(name, q, k, v, causal, extra=()):
    for nm, t in (("q", q), ("k", k), ("v", v), *extra):
        if len(t.shape) != 4:
            raise ValueError(f"{name}: {nm} must be (batch, heads, seq, head_dim), "
                             f"got shape {tuple(t.shape)}")
    B, H, S_Q, D = q.shape
    S_K = k.shape[2]
    if tuple(k.shape) != (B, H, S_K, D) or tuple(v.shape) != tuple(k.shape):
        raise ValueError(f"{name}: shapes q {tuple(q.shape)}, k {tuple(k.shape)}, "
                         f"v {tuple(v.shape)} do not match")
    if not MIN_HEAD_DIM <= D <= MAX_HEAD_DIM:
        raise ValueError(f"{name}: head_dim {D} not supported ({MIN_HEAD_DIM}..{MAX_HEAD_DIM})")
    if causal and S_Q != S_K:
        raise ValueError(f"{name}: causal attention needs equal q/k lengths, got {S_Q} and {S_K}")
    dt = dtype_name(q)
    for nm, t in (("k", k), ("v", v), *extra):
        if dtype_name(t) != dt:
            raise TypeError(f"{name}: {nm} dtype {dtype_name(t)} != q dtype {dt}")
    if dt not in SUPPORTED:
        raise TypeError(f"{name}: dtype {dt} not supported ({', '.join(SUPPORTED)})")
    return B, H, S_Q, S_K, D, dt


def _common_constexprs(D, dt, causal):
    return {"HEAD_DIM": D, "BLOCK_D": _next_pow2(D), "CAUSAL": bool(causal),
            "INPUT_PRECISION": "ieee",
            # Triton 3.9's interpreter runs tl.dot on the raw uint16 bits of bf16
            # tiles; widen to fp32 first when interpreting (see matmul.py).
            "UPCAST": dt == "bfloat16" and interpret_mode()}


# --8<-- [start:attention]
def attention(q, k, v, causal=False, scale=None, return_lse=False):
    """``softmax(scale * q @ k^T [+ causal mask]) @ v`` without materialising S x S.

    ``q``: (batch, heads, S_q, d), ``k``, ``v``: (batch, heads, S_k, d); d in 16..128;
    float16, bfloat16 or float32.  ``scale`` defaults to ``1/sqrt(d)``.  With
    ``return_lse=True`` also returns the float32 log-sum-exp (batch, heads, S_q)
    that `attention_backward` needs.
    """
    require_triton("attention")
    B, H, S_Q, S_K, D, dt = _check("attention", q, k, v, causal)
    scale = 1.0 / math.sqrt(D) if scale is None else float(scale)
    q, k, v = _contig(q), _contig(k), _contig(v)
    o = empty((B, H, S_Q, D), dt, like=q)
    xp = array_module(q.bits if isinstance(q, BFloat16Array) else q)
    lse = xp.empty((B, H, S_Q), dtype=xp.float32)
    if B * H * S_Q and S_K:
        fixed = _common_constexprs(D, dt, causal)

        def run(cfg):
            for c0, c1 in batch_chunks(B * H):  # grid axis 1 <= 65,535 per launch
                launch(attn_fwd_kernel, (math.ceil(S_Q / cfg["BLOCK_M"]), c1 - c0),
                       [*(rows(_bh(t), c0, c1) for t in (q, k, v, o, lse)), S_Q, S_K, scale],
                       {**fixed, **cfg}, "attention_fwd")

        cfg = choose_config("attention_fwd", (shape_bucket(S_Q, S_K), D, dt, bool(causal)),
                            FWD_CONFIGS[config_family(dt, D)], run, on_gpu=is_cupy(q))
        run(cfg)
    return (o, lse) if return_lse else o
# --8<-- [end:attention]


def attention_backward(q, k, v, o, lse, do, causal=False, scale=None):
    """Gradients ``(dq, dk, dv)`` of attention given ``o``, ``lse`` from the forward.

    Three launches: the ``delta = rowsum(dO * O)`` preprocess, dK/dV (one program
    per key block) and dQ (one program per query block).
    """
    require_triton("attention_backward")
    B, H, S_Q, S_K, D, dt = _check("attention_backward", q, k, v, causal,
                                   extra=(("o", o), ("do", do)))
    if tuple(o.shape) != tuple(q.shape) or tuple(do.shape) != tuple(q.shape):
        raise ValueError(f"attention_backward: o {tuple(o.shape)} and do {tuple(do.shape)} "
                         f"must have q's shape {tuple(q.shape)}")
    if tuple(lse.shape) != (B, H, S_Q):
        raise ValueError(f"attention_backward: lse shape {tuple(lse.shape)} != {(B, H, S_Q)}")
    scale = 1.0 / math.sqrt(D) if scale is None else float(scale)
    q, k, v, o, do = (_contig(t) for t in (q, k, v, o, do))
    xp = array_module(q.bits if isinstance(q, BFloat16Array) else q)
    lse = xp.ascontiguousarray(lse, dtype=xp.float32)
    dq = empty((B, H, S_Q, D), dt, like=q)
    dk = empty((B, H, S_K, D), dt, like=q)
    dv = empty((B, H, S_K, D), dt, like=q)
    if not (B * H * S_Q and S_K):
        for t in (dk, dv):
            (t.bits if isinstance(t, BFloat16Array) else t)[...] = 0
        return dq, dk, dv
    delta = xp.empty((B, H, S_Q), dtype=xp.float32)
    block_d = _next_pow2(D)
    pre_m = 64
    chunks = batch_chunks(B * H)  # grid axis 1 <= 65,535 per launch

    def part(arrays, c0, c1):
        return [rows(_bh(t), c0, c1) for t in arrays]

    for c0, c1 in chunks:
        launch(attn_bwd_preprocess_kernel, (math.ceil(S_Q / pre_m), c1 - c0),
               [*part((o, do, delta), c0, c1), S_Q],
               {"HEAD_DIM": D, "BLOCK_M": pre_m, "BLOCK_D": block_d, "num_warps": 4},
               "attention_bwd_preprocess")
    fixed = _common_constexprs(D, dt, causal)

    def run(cfg):
        # dq: roles swap (queries are the outer block), so swap the block sizes too
        dq_cfg = {**cfg, "BLOCK_M": cfg["BLOCK_N"], "BLOCK_N": cfg["BLOCK_M"]}
        for c0, c1 in chunks:
            launch(attn_bwd_dkdv_kernel, (math.ceil(S_K / cfg["BLOCK_N"]), c1 - c0),
                   [*part((q, k, v, do, lse, delta, dk, dv), c0, c1), S_Q, S_K, scale],
                   {**fixed, **cfg}, "attention_bwd_dkdv")
            launch(attn_bwd_dq_kernel, (math.ceil(S_Q / dq_cfg["BLOCK_M"]), c1 - c0),
                   [*part((q, k, v, do, lse, delta, dq), c0, c1), S_Q, S_K, scale],
                   {**fixed, **dq_cfg}, "attention_bwd_dq")

    cfg = choose_config("attention_bwd", (shape_bucket(S_Q, S_K), D, dt, bool(causal)),
                        BWD_CONFIGS[config_family(dt, D)], run, on_gpu=is_cupy(q))
    run(cfg)
    return dq, dk, dv


# --------------------------------------------------------------------------------------
# NumPy references (float64; they materialise S x S, fine for test sizes)
# --------------------------------------------------------------------------------------


def _as_f64(x):
    return np.asarray(x.to_float32() if isinstance(x, BFloat16Array) else x, dtype=np.float64)


def _scores(q, k, causal, scale):
    s = scale * np.einsum("bhid,bhjd->bhij", q, k)
    if causal:
        S_q, S_k = s.shape[-2:]
        s = np.where(np.tril(np.ones((S_q, S_k), dtype=bool)), s, -np.inf)
    return s


def attention_reference(q, k, v, causal=False, scale=None, return_lse=False):
    """``P = softmax(scale * q k^T)``, ``O = P v`` in float64; optionally the log-sum-exp."""
    q, k, v = _as_f64(q), _as_f64(k), _as_f64(v)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = _scores(q, k, causal, scale)
    m = s.max(axis=-1, keepdims=True)
    e = np.exp(s - m)
    denom = e.sum(axis=-1, keepdims=True)
    o = np.einsum("bhij,bhjd->bhid", e / denom, v)
    if return_lse:
        return o, (m + np.log(denom))[..., 0]
    return o


def attention_backward_reference(q, k, v, do, causal=False, scale=None):
    """Textbook attention backward in float64:

    ``dV = P^T dO``, ``dP = dO V^T``, ``dS = P * (dP - rowsum(P * dP))``,
    ``dQ = scale * dS K``, ``dK = scale * dS^T Q``.
    """
    q, k, v, do = _as_f64(q), _as_f64(k), _as_f64(v), _as_f64(do)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = _scores(q, k, causal, scale)
    p = np.exp(s - s.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    dv = np.einsum("bhij,bhid->bhjd", p, do)
    dp = np.einsum("bhid,bhjd->bhij", do, v)
    ds = p * (dp - (p * dp).sum(axis=-1, keepdims=True))
    dq = scale * np.einsum("bhij,bhjd->bhid", ds, k)
    dk = scale * np.einsum("bhij,bhid->bhjd", ds, q)
    return dq, dk, dv
