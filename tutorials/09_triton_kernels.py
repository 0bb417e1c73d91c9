# %% [markdown]
# # 9. Writing GPU kernels with Triton
#
# **What you will build.** You will take apart the three Triton kernels that
# minigrad runs on a GPU: the tiled **matmul** (which tile each program computes,
# and why the programs are numbered in groups), the fused **softmax** (one row per
# program, and why fusing saves memory traffic) and **flash attention** (the
# *online softmax* recurrence, which you will first verify in NumPy on a toy
# example). You will run every kernel on your CPU through Triton's interpreter
# and check it against a NumPy reference, compile the kernels offline for an A100
# (`sm_80`) and an H100 (`sm_90`) to read the tensor-core instructions they become,
# and switch minigrad's autograd engine between the Triton kernels and plain
# NumPy on a tiny graph to see that the gradients agree. No GPU is needed; on a
# GPU the same cells run the compiled kernels and a benchmark.
#
# The kernels live in `kernels/` (installed as `minigrad.kernels`); keep
# `kernels/matmul.py`, `kernels/softmax.py` and `kernels/attention.py` open
# beside this chapter.

# %% [markdown]
# ## Setup: the interpreter must be chosen before Triton is imported
#
# Triton compiles a kernel for a GPU, or, with `TRITON_INTERPRET=1`, runs it on
# the CPU: every program instance is executed with NumPy, so the *same kernel
# source* runs (slowly) and you can `print` inside it or step through it in a
# debugger. Triton 3.x reads that variable when a function is decorated with
# `@triton.jit`, and its own library functions (`tl.max`, `tl.sum`, `tl.cdiv`...)
# are decorated when `triton` is first imported. So a process is either an
# interpreter process or a compiler process, fixed at `import triton`: the
# variable must be set *before* anything imports it, here before
# `import minigrad.kernels` (`kernels/_launch.py` explains the details and
# raises a clear error if the mode changes later). `setdefault` leaves a value
# you chose in the shell alone.

# %%
import contextlib
import importlib.util
import inspect
import io
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from _common import FAST, FIGURES, fast_or_full, plt, save_figure, seed

import minigrad as mg
from minigrad import backend

if importlib.util.find_spec("triton") is None:
    sys.exit("Chapter 9 needs Triton: pip install 'minigrad-edu[kernels]'")
if not backend.gpu_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")  # before the first `import triton`

import minigrad.kernels as K
from minigrad.kernels import compile as kernel_compiler

# the kernel modules (`K.matmul` is the launcher function, re-exported by the package)
matmul_module = importlib.import_module("minigrad.kernels.matmul")
softmax_module = importlib.import_module("minigrad.kernels.softmax")
attention_module = importlib.import_module("minigrad.kernels.attention")

ON_GPU = not K.interpret_mode()  # compiled kernels want CuPy arrays, the interpreter NumPy ones
rng = seed(0)
print("fast mode" if FAST else "full mode")
print("kernels run", "compiled on the GPU" if ON_GPU else "in Triton's CPU interpreter")


def to_device(x):
    """A NumPy array where the kernels can read it (the GPU, or left on the host)."""
    return backend.to_device(x, "cuda") if ON_GPU else x


def to_host(x):
    return backend.to_device(x, "cpu") if ON_GPU else np.asarray(x)


def relative_error(got, reference):
    """max |got - reference| / max |reference|: one number per comparison."""
    got = np.asarray(to_host(got), dtype=np.float64)
    return float(np.abs(got - reference).max() / np.abs(reference).max())


# %% [markdown]
# ## Triton's model in one paragraph
#
# A Triton kernel is a Python function decorated with `@triton.jit` (minigrad's
# kernels use `kernels._launch.jit`, which defers that decoration so the package
# imports without Triton). It is launched on a **grid**: `kernel[grid](args)`
# starts one **program** per grid point, and `tl.program_id(0)` tells a program
# which one it is. Inside, values are **blocks** (small arrays whose shape is a
# power of two known at compile time, `tl.constexpr`): `tl.arange(0, BLOCK)`
# makes offsets, `tl.load(ptr + offsets, mask=...)` reads a block from memory,
# `tl.store` writes one, `tl.dot` multiplies two blocks on the tensor cores. The
# compiler decides how the block is spread over the threads and registers; you
# think in tiles, not threads.
#
# ## 1. Matmul: tiles
#
# $C = AB$ with $A$ of shape $(M, K)$ and $B$ of shape $(K, N)$ costs $2MNK$ flops.
# The naive kernel, one thread per output reading a row of $A$ and a column of $B$,
# does 2 flops per 4 bytes it loads; an H100 needs about 300 flops per byte
# loaded from its memory (HBM) to keep its arithmetic units busy. So each program
# computes a whole $B_M \times B_N$ **tile** of $C$: it walks $K$ in steps of
# $B_K$, loading a $B_M \times B_K$ tile of $A$ and a $B_K \times B_N$ tile of $B$
# into on-chip memory and accumulating their product in float32 registers,
#
# $$C_{[m],[n]} = \sum_{k=0}^{\lceil K/B_K\rceil - 1} A_{[m],[k]}\, B_{[k],[n]},
# \qquad \text{intensity} = \frac{2 B_M B_N B_K}{(B_M + B_N) B_K \cdot \text{bytes}}
#   = \frac{B_M B_N}{(B_M + B_N)\,\text{bytes}} ,$$
#
# 32 flop/byte for $128 \times 128$ fp16 tiles even when nothing is found in the
# cache, and much more in practice. Here is the kernel's main loop, read from its
# source file (`kernels/matmul.py`):

# %%
def source_between(fn, start: str, end: str) -> str:
    """The lines of a kernel's source from the comment `start` up to `end`."""
    lines = inspect.getsource(fn).splitlines()
    first = next(i for i, line in enumerate(lines) if start in line)
    last = next(i for i, line in enumerate(lines) if end in line and i > first)
    return "\n".join(lines[first:last])


print(source_between(matmul_module.matmul_kernel.fn, "which tile am I", "---- pointers"))
print(source_between(matmul_module.matmul_kernel.fn, "main loop", "---- epilogue"))

# %% [markdown]
# ### Which tile does program `pid` compute? Grouped ordering
#
# Programs start roughly in the order of `pid`, and those running at the same
# time share the L2 cache. Numbered row by row, consecutive programs share one
# row of $A$ tiles but touch every column of $B$, which falls out of the cache
# before it is reused. The kernel instead numbers tiles column by column inside
# groups of `GROUP_M` tile rows, so that programs running together cover a
# squarish patch of $C$. The mapping is a few integer operations; here it is in
# NumPy, vectorised over all program ids, with exactly the kernel's formulas:

# %%
def grouped_tile(pid, num_pid_m, num_pid_n, group_m):
    """(tile row, tile column) of program `pid`, as in matmul_kernel."""
    num_pid_in_group = group_m * num_pid_n
    group_id = pid // num_pid_in_group
    first_pid_m = group_id * group_m
    group_size_m = np.minimum(num_pid_m - first_pid_m, group_m)  # the last group may be short
    pid_m = first_pid_m + (pid % num_pid_in_group) % group_size_m
    pid_n = (pid % num_pid_in_group) // group_size_m
    return pid_m, pid_n


def tiles_loaded(pid_m, pid_n):
    """Distinct A tile-rows plus B tile-columns that a set of programs reads."""
    return len(set(pid_m.tolist())) + len(set(pid_n.tolist()))


tiles_m, tiles_n, group, running = 8, 8, 4, 16
pid = np.arange(tiles_m * tiles_n)
row_major = (pid // tiles_n, pid % tiles_n)
grouped = grouped_tile(pid, tiles_m, tiles_n, group)
# every tile exactly once, also when the tile rows do not divide into groups (7 rows, groups of 4)
for m_tiles in (8, 7):
    pm, pn = grouped_tile(np.arange(m_tiles * tiles_n), m_tiles, tiles_n, group)
    assert len(set(zip(pm.tolist(), pn.tolist()))) == m_tiles * tiles_n
loads_row_major = tiles_loaded(row_major[0][:running], row_major[1][:running])
loads_grouped = tiles_loaded(grouped[0][:running], grouped[1][:running])
print(f"the first {running} programs read {loads_row_major} tile rows/columns in row-major order, "
      f"{loads_grouped} in grouped order (GROUP_M={group})")

# %%
def draw_order(ax, pid_m, pid_n, title):
    order = np.zeros((tiles_m, tiles_n), dtype=int)
    order[pid_m, pid_n] = pid
    ax.imshow(order < running, cmap="Blues", vmin=0, vmax=1.6)
    for (i, j), value in np.ndenumerate(order):
        ax.text(j, i, value, ha="center", va="center", fontsize=7)
    ax.set(title=title, xticks=[], yticks=[])


def draw_tiling(ax, bm=2, bn=2, bk=2, size=8):
    """C = A B with one output tile, its row panel of A and its column panel of B."""
    ax.set(xlim=(-size - 1, size + 0.5), ylim=(size + 0.5, -size - 1), aspect="equal")
    ax.axis("off")
    grids = {"A": (-size - 0.5, 0), "B": (0, -size - 0.5), "C": (0, 0)}
    for name, (x0, y0) in grids.items():
        for t in range(0, size + 1, 2):
            ax.plot([x0, x0 + size], [y0 + t, y0 + t], color="0.8", lw=0.6)
            ax.plot([x0 + t, x0 + t], [y0, y0 + size], color="0.8", lw=0.6)
        ax.text(x0 + size / 2, y0 + size / 2, name, fontsize=20, color="0.6", ha="center", va="center")
    tm, tn = 2, 1  # the tile this program owns (tile row 2, tile column 1)
    ax.add_patch(plt.Rectangle((tn * bn, tm * bm), bn, bm, color="tab:red", alpha=0.8))
    for k in range(0, size, bk):
        shade = 0.25 + 0.5 * k / size
        ax.add_patch(plt.Rectangle((-size - 0.5 + k, tm * bm), bk, bm, color="tab:blue", alpha=shade))
        ax.add_patch(plt.Rectangle((tn * bn, -size - 0.5 + k), bn, bk, color="tab:green", alpha=shade))
    ax.set_title("one program: C tile += A tile @ B tile, K step by step", fontsize=9)


fig, axes = plt.subplots(1, 3, figsize=(13, 4.4))
draw_tiling(axes[0])
draw_order(axes[1], *row_major, f"row-major: first {running} programs\nread {loads_row_major} tile rows/cols")
draw_order(axes[2], *grouped, f"grouped (GROUP_M={group}): first {running}\nread {loads_grouped} tile rows/cols")
save_figure(fig, "09_matmul_tiles")

# %% [markdown]
# The same walk in NumPy, program by program in grouped order, with the kernel's
# tricks for sizes that are not multiples of the tile: row and column indices
# wrap around (*modulo* $M$ and $N$, so loads need no mask; the wrapped rows are
# computed and never stored), and the last $K$ step is padded with zeros, which
# add nothing to a dot product. It agrees with `a @ b`; then the real kernel runs
# (interpreted on the CPU) and is compared with `K.matmul_reference`, the float64
# NumPy reference, with a fused bias and GELU epilogue too.

# %%
def tiled_matmul(a, b, bm=32, bn=32, bk=16, group_m=2):
    """C = a @ b computed tile by tile, in the kernel's program order."""
    (M, Kdim), N = a.shape, b.shape[1]
    num_pid_m, num_pid_n = -(-M // bm), -(-N // bn)
    c = np.zeros((M, N))
    for p in range(num_pid_m * num_pid_n):  # one iteration = one program
        pid_m, pid_n = grouped_tile(p, num_pid_m, num_pid_n, group_m)
        rows = (pid_m * bm + np.arange(bm)) % M  # wrapped: always valid memory
        cols = (pid_n * bn + np.arange(bn)) % N
        acc = np.zeros((bm, bn))
        for k in range(0, Kdim, bk):
            ks = k + np.arange(bk)
            a_tile = np.where(ks < Kdim, a[rows][:, np.minimum(ks, Kdim - 1)], 0.0)  # K tail: zeros
            b_tile = np.where(ks[:, None] < Kdim, b[np.minimum(ks, Kdim - 1)][:, cols], 0.0)
            acc += a_tile @ b_tile
        keep_r, keep_c = pid_m * bm + np.arange(bm) < M, pid_n * bn + np.arange(bn) < N  # masked store
        c[np.ix_(rows[keep_r], cols[keep_c])] = acc[np.ix_(keep_r, keep_c)]
    return c


a = rng.standard_normal((100, 70))
b = rng.standard_normal((70, 50))
tiled_error = np.abs(tiled_matmul(a, b) - a @ b).max()
print(f"tiled NumPy walk vs a @ b: {tiled_error:.1e}")

matmul_shapes = fast_or_full([(100, 70, 50)], [(100, 70, 50), (1, 33, 7), (129, 257, 65), (256, 256, 256)])
matmul_errors = {}
for M, Kd, N in matmul_shapes:
    a = rng.standard_normal((M, Kd)).astype(np.float32)
    b = rng.standard_normal((Kd, N)).astype(np.float32)
    bias = rng.standard_normal(N).astype(np.float32)
    matmul_errors[(M, Kd, N, "float32")] = relative_error(K.matmul(to_device(a), to_device(b)),
                                                          K.matmul_reference(a, b))
    got = K.matmul(to_device(a), to_device(b), to_device(bias), activation="gelu")
    matmul_errors[(M, Kd, N, "float32+bias+gelu")] = relative_error(got, K.matmul_reference(a, b, bias, "gelu"))
    a16, b16 = a.astype(np.float16), b.astype(np.float16)  # the reference sees the same rounded inputs
    matmul_errors[(M, Kd, N, "float16")] = relative_error(K.matmul(to_device(a16), to_device(b16)),
                                                          K.matmul_reference(a16, b16))
for key, err in matmul_errors.items():
    print(f"Triton matmul {key}: relative error {err:.1e}")

# %% [markdown]
# float32 agrees to rounding (the kernel uses exact fp32 arithmetic,
# `input_precision="ieee"`); float16 to about $10^{-3}$, the precision of the
# float16 *result* (the products are accumulated in float32).
#
# ## 2. Fused softmax: one row per program
#
# [Softmax](../math/activations.md#softmax) of a row $x \in \mathbb{R}^n$ is
#
# $$y_i = \frac{e^{x_i - m}}{\sum_j e^{x_j - m}}, \quad m = \max_j x_j, \qquad
#   dx = y \odot \big(dy - \langle dy, y\rangle\big)$$
#
# for the backward. It does about 5 flops per element, far too few to keep a GPU
# busy: its speed is set by memory traffic. Written as array operations
# (`max`, `x - m`, `exp`, `sum`, `/`) every step reads its input from memory and
# writes its output back: 5 reads and 3 writes of the row. The fused kernel gives
# the whole row to one program, keeps it in registers, and reads and writes it
# once, the minimum possible (in minigrad the op around this kernel is `Softmax` in
# `minigrad/ops/reduce.py`, whose `Softmax.backward` is the formula above):

# %%
print(inspect.getsource(softmax_module.softmax_fwd_kernel.fn))

rows, cols, bytes_per = 4096, 4096, 2  # an fp16 batch of rows
unfused = (5 + 3) * rows * cols * bytes_per
fused = 2 * rows * cols * bytes_per
print(f"{rows}x{cols} fp16: unfused {unfused / 2**20:.0f} MiB of traffic, fused {fused / 2**20:.0f} MiB "
      f"({unfused / fused:.0f}x less)")

# %% [markdown]
# `BLOCK` is the row length rounded up to a power of two; the lanes past the end
# load $-\infty$, and $e^{-\infty} = 0$ drops them from the sum. Rows longer than
# 4096 do not fit one block: `softmax_fwd_looped_kernel` walks them in chunks
# with the online softmax of the next section. Both are checked against
# `K.softmax_reference` (float64), on huge inputs too (subtracting the maximum
# keeps every exponent $\le 0$), and the backward kernel against its reference:

# %%
softmax_errors = {}
for n in fast_or_full((1000, 5000), (7, 1000, 4096, 5000, 20000)):
    x = (rng.standard_normal((8, n)) * 4).astype(np.float32)
    y = K.softmax(to_device(x))
    softmax_errors[f"softmax n={n}"] = relative_error(y, K.softmax_reference(x))
    dy = rng.standard_normal((8, n)).astype(np.float32)
    dx = K.softmax_backward(y, to_device(dy))
    softmax_errors[f"softmax backward n={n}"] = relative_error(dx, K.softmax_backward_reference(to_host(y), dy))
huge = np.array([[1000.0, 999.0, -1000.0]], dtype=np.float32)
softmax_errors["softmax of +-1000"] = relative_error(K.softmax(to_device(huge)), K.softmax_reference(huge))
x16 = rng.standard_normal((4, 300)).astype(np.float16)
softmax_errors["log_softmax fp16"] = relative_error(K.log_softmax(to_device(x16)), K.log_softmax_reference(x16))
for name, err in softmax_errors.items():
    print(f"{name:28s} relative error {err:.1e}")

# %% [markdown]
# ## 3. Flash attention: the online softmax
#
# [Attention](../math/attention.md#scaled-dot-product-attention) computes, per
# query row, $o = \sum_j p_j v_j$ with $p = \operatorname{softmax}(\tau\, q K^\top)$
# over all $S$ keys. Written plainly it stores the $S \times S$ score matrix in
# memory: at $S = 16\,384$ that is 1 GiB per head in float32, and moving it
# dominates the run time. Flash attention (Dao et al., 2022) never stores it: a
# program streams through the keys in blocks and keeps, per query row, only a
# running maximum $m$, a running denominator $\ell$ and an unnormalised output
# $a$. A block with scores $s_B$ and values $V_B$ updates them as
#
# $$m' = \max\big(m, \max s_B\big), \quad \alpha = e^{m - m'}, \quad
#   \ell' = \alpha\,\ell + \sum e^{s_B - m'}, \quad
#   a' = \alpha\, a + e^{s_B - m'}\, V_B ,$$
#
# and at the end $o = a/\ell$. When the maximum grows, $\alpha < 1$ rescales what
# was summed with the old maximum, so that every term is always
# $e^{s_j - m}$ with the *current* $m$; after each block, $a/\ell$ is exactly the
# attention output over the keys seen so far. (Milakov and Gimelshein, 2018,
# for the softmax alone.) Before trusting the kernel, verify that in NumPy on
# one query and 64 keys whose scores drift upwards, so that the maximum keeps
# changing, and watch what happens if the rescaling is forgotten:

# %%
def online_softmax_attention(scores, values, block, rescale=True):
    """One query row: stream (score, value) blocks; return the history of (m, l, a/l)."""
    m, l, a = -np.inf, 0.0, np.zeros(values.shape[1])
    history = []
    for start in range(0, len(scores), block):
        s_b, v_b = scores[start:start + block], values[start:start + block]
        m_new = max(m, s_b.max())
        alpha = np.exp(m - m_new) if rescale else 1.0
        p = np.exp(s_b - m_new)
        l = alpha * l + p.sum()
        a = alpha * a + p @ v_b
        m = m_new
        history.append((m, l, a / l))
    return history


def exact_attention(scores, values):
    p = np.exp(scores - scores.max())
    return p / p.sum() @ values


n_keys, block = 64, 8
toy_scores = np.linspace(0, 6, n_keys) + rng.standard_normal(n_keys)  # the max keeps growing
toy_values = rng.standard_normal((n_keys, 4))
history = online_softmax_attention(toy_scores, toy_values, block)
forgot = online_softmax_attention(toy_scores, toy_values, block, rescale=False)
seen = np.arange(block, n_keys + 1, block)
prefix_error = [np.abs(out - exact_attention(toy_scores[:k], toy_values[:k])).max()
                for k, (_, _, out) in zip(seen, history)]
forgot_prefix_error = [np.abs(out - exact_attention(toy_scores[:k], toy_values[:k])).max()
                       for k, (_, _, out) in zip(seen, forgot)]
final = exact_attention(toy_scores, toy_values)
online_error = np.abs(history[-1][2] - final).max()
forgot_error = np.abs(forgot[-1][2] - final).max()
print(f"after every block, a/l == attention over the keys seen: max error {max(prefix_error):.1e}")
print(f"final output vs exact: {online_error:.1e}; without the rescaling: {forgot_error:.1e}")

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
left.plot(np.arange(n_keys), toy_scores, ".", color="0.5", label="scores $s_j$")
left.step(seen - 1, [m for m, _, _ in history], where="post", label="running max $m$")
left.set(xlabel="key j", title="the running maximum grows, so $\\alpha < 1$")
left.legend()
right.semilogy(seen, np.maximum(prefix_error, 1e-17), "o-", label="online: a/l vs attention over keys seen")
right.semilogy(seen, forgot_prefix_error, "s--", label="without rescaling by $\\alpha$")
right.semilogy(seen, [np.abs(out - final).max() for _, _, out in history], "k:", lw=1,
               label="online: a/l vs the final output o")
right.set(xlabel="keys seen", ylabel="max abs error", title="after each block: exact, if rescaled")
right.legend(fontsize=8)
save_figure(fig, "09_online_softmax")

# %% [markdown]
# The kernel runs the same recurrence for `BLOCK_M` query rows at once, with
# `tl.dot` for $QK^\top$ and for $pV$, and `exp2` instead of `exp` (the scores are
# premultiplied by $\log_2 e$: `exp2` is the GPU's native instruction). It also
# stores the log-sum-exp $L = m + \log \ell$ per row, from which the backward
# recomputes $P = e^{S - L}$ block by block, again without an $S \times S$ matrix
# (in minigrad the op that calls both kernels is `ScaledDotProductAttention`, whose
# array-path backward is `ScaledDotProductAttention.backward` in
# `minigrad/ops/attention.py`). The loop body:

# %%
print(source_between(attention_module.attn_fwd_kernel.fn, "for start_n in range", "# padded query"))

# %% [markdown]
# The kernel against `K.attention_reference` (which does store the score matrix,
# fine at this size), forward and backward, with and without the causal mask:

# %%
attention_errors = {}
seq = fast_or_full(48, 130)
shape = (1, 2, seq, 32)
q, k, v, do = (rng.standard_normal(shape).astype(np.float32) for _ in range(4))
for causal in (False, True):
    o, lse = K.attention(to_device(q), to_device(k), to_device(v), causal=causal, return_lse=True)
    attention_errors[f"forward causal={causal}"] = relative_error(
        o, K.attention_reference(q, k, v, causal=causal))
    grads = K.attention_backward(to_device(q), to_device(k), to_device(v), o, lse, to_device(do), causal=causal)
    for name, got, ref in zip("qkv", grads, K.attention_backward_reference(q, k, v, do, causal=causal)):
        attention_errors[f"d{name} causal={causal}"] = relative_error(got, ref)
for name, err in attention_errors.items():
    print(f"attention {name:18s} relative error {err:.1e}")

# %% [markdown]
# ## 4. What the kernels compile to (no GPU needed)
#
# Triton lowers a kernel in stages: Python → **TTIR** (Triton IR, hardware
# independent) → **TTGIR** (the same with GPU layouts, shared memory and
# software pipelining) → LLVM IR → **PTX** (NVIDIA's virtual assembly) → machine
# code. `minigrad.kernels.compile` runs that pipeline offline for a target you
# name, and `ptxas -v` (shipped with Triton) reports the registers per thread and
# any spills to slow local memory. (In this interpreter process Triton's own
# functions are interpreter functions, so `compile_many` compiles in a clean
# subprocess; two of them run in parallel here, one per architecture.)

# %%
report_kernels = fast_or_full(("matmul", "softmax_fwd", "attention_fwd"), tuple(kernel_compiler.KERNELS))
t0 = time.perf_counter()
with ThreadPoolExecutor(max_workers=2) as pool:
    per_arch = pool.map(lambda cap: kernel_compiler.compile_many([(n, "float16", cap) for n in report_kernels]),
                        kernel_compiler.CAPS)
    compiled = {(ck.name, ck.cap): ck for batch in per_arch for ck in batch}
    ptxas = dict(zip(compiled, pool.map(lambda ck: ck.ptxas(), compiled.values())))
print(f"compiled and assembled {len(compiled)} kernels in {time.perf_counter() - t0:.1f} s\n")
print(f"{'kernel (fp16)':26s} {'arch':7s} {'regs':>5s} {'spills':>6s} {'smem KiB':>8s} {'mma.sync':>8s} {'wgmma':>5s}")
for (name, cap), ck in compiled.items():
    mma = ck.mma_counts()
    spills = ptxas[name, cap]["spill_stores"] + ptxas[name, cap]["spill_loads"]
    print(f"{name:26s} {ck.arch:7s} {ptxas[name, cap]['registers']:5d} {spills:6d} {ck.shared / 1024:8.1f} "
          f"{mma['mma.sync']:8d} {mma['wgmma']:5d}")

# %% [markdown]
# In the Triton IR the matmul's inner product is one `tt.dot` on whole tiles;
# in the PTX for an A100 it becomes `mma.sync` tensor-core instructions, each
# multiplying a $16 \times 8 \times 16$ piece within one warp (32 threads), fed
# from shared memory by `ldmatrix` after asynchronous copies (`cp.async`) from
# global memory. For an H100 it becomes `wgmma`, a *warp-group* (4 warps)
# instruction of up to $64 \times 256 \times 16$ that reads its operands straight from
# shared memory:

# %%
def excerpt(text: str, pattern: str, count: int = 2, width: int = 110) -> str:
    """The first `count` lines matching `pattern`, shortened to `width` characters."""
    hits = [line.strip() for line in text.splitlines() if re.search(pattern, line)][:count]
    return "\n".join(h if len(h) <= width else h[:width] + " ..." for h in hits)


def instruction_counts(ptx: str, names=("mma.sync", "wgmma.mma_async", "ldmatrix", "cp.async.cg", "bar.sync")):
    # an instruction may be predicated: "@%p1 ld.global.v4.b32 ..."
    return {n: len(re.findall(rf"^\s*(?:@!?%\w+\s+)?{re.escape(n)}\b", ptx, re.M)) for n in names}


mm80, mm90 = compiled["matmul", 80], compiled["matmul", 90]
print("TTIR:\n" + excerpt(mm80.ttir, r"tt\.dot", 1))
print("\nPTX sm_80:\n" + excerpt(mm80.ptx, r"^\s*mma\.sync"))
print(instruction_counts(mm80.ptx))
print("\nPTX sm_90a:\n" + excerpt(mm90.ptx, r"^\s*wgmma\.mma_async"))
print(instruction_counts(mm90.ptx))

# %% [markdown]
# The counts follow from the tile sizes. Per $B_K$ step, a $B_M \times B_N$ tile
# needs $B_M B_N B_K / (16 \cdot 8 \cdot 16)$ `mma.sync` instructions shared by the
# program's warps, and $B_M B_N B_K / (64 \cdot 128 \cdot 16)$ `wgmma` (shape
# `m64n128k16`, as in the PTX above) per warp group; the loop body appears once
# in the PTX. The default fp16 config is $128 \times 128 \times 32$ with 4 warps:

# %%
bm, bn, bk = (mm80.constexprs[key] for key in ("BLOCK_M", "BLOCK_N", "BLOCK_K"))
warps = mm80.num_warps
expected_mma_sync = bm * bn * bk // (16 * 8 * 16) // warps
expected_wgmma = bm * bn * bk // (64 * 128 * 16) // (warps // 4)
print(f"config {bm}x{bn}x{bk}, {warps} warps: expect {expected_mma_sync} mma.sync per thread on sm_80, "
      f"{expected_wgmma} wgmma on sm_90; found {mm80.mma_counts()['mma.sync']} and {mm90.mma_counts()['wgmma']}")
print(f"shared memory: {mm80.shared // 1024} KiB on sm_80 = (BM + BN) * BK * 2 bytes * "
      f"{mm80.shared // ((bm + bn) * bk * 2)} pipeline stages buffered")

# %% [markdown]
# The softmax kernel has no `tl.dot`, so no tensor-core instruction: its PTX is
# loads, `ex2.approx` (the hardware $2^x$), and warp shuffles (`shfl.sync`) for
# the row max and sum. It needs few registers; the matmul and attention kernels
# use many (each thread holds part of a $128 \times 128$ float32 accumulator),
# which limits how many programs fit on a multiprocessor at once. No kernel
# spills:

# %%
print(instruction_counts(compiled["softmax_fwd", 80].ptx, ("ld.global", "ex2.approx", "shfl.sync", "st.global")))

fig, (regs_ax, smem_ax) = plt.subplots(1, 2, figsize=(12, 0.45 * len(report_kernels) + 2.2))
y = np.arange(len(report_kernels))
for offset, cap in ((-0.2, 80), (0.2, 90)):
    arch = compiled[report_kernels[0], cap].arch
    regs_ax.barh(y + offset, [ptxas[n, cap]["registers"] for n in report_kernels], 0.4, label=arch)
    smem_ax.barh(y + offset, [compiled[n, cap].shared / 1024 for n in report_kernels], 0.4, label=arch)
regs_ax.axvline(255, color="k", lw=0.8, ls="--", label="max 255 / thread")
regs_ax.set(yticks=y, yticklabels=report_kernels, xlabel="registers per thread", title="registers (ptxas -v, fp16)")
smem_ax.set(yticks=y, yticklabels=[], xlabel="KiB per program", title="shared memory (fp16)")
regs_ax.invert_yaxis()
smem_ax.invert_yaxis()
regs_ax.legend(fontsize=8)
smem_ax.legend(fontsize=8)
save_figure(fig, "09_compile_report")

# %% [markdown]
# ## 5. The engine's choice: `kernels.use`
#
# minigrad's ops never call a kernel directly: matmul and softmax (forward and
# backward) go through `minigrad/dispatch.py`, which reads the mode set with
# `minigrad.kernels.use(...)`: `"auto"` (Triton on a GPU, NumPy on the CPU),
# `"triton"` (always the kernels, here through the interpreter) or `"reference"`
# (never). A tiny graph, $L = \sum T \odot \operatorname{softmax}(XW)$, computed
# both ways: with `MINIGRAD_DEBUG=kernels` every launch prints a line, which we
# capture to count them.

# %%
X = rng.standard_normal((6, 5)).astype(np.float32)
W = rng.standard_normal((5, 7)).astype(np.float32)
T = rng.standard_normal((6, 7)).astype(np.float32)
device = "cuda" if ON_GPU else "cpu"


def loss_and_grads(mode):
    """Loss, dL/dX, dL/dW and the kernel launches, with the engine in `mode`."""
    log = io.StringIO()
    os.environ["MINIGRAD_DEBUG"] = "kernels"
    try:
        with K.use(mode), contextlib.redirect_stderr(log):
            x = mg.tensor(X, requires_grad=True, device=device)
            w = mg.tensor(W, requires_grad=True, device=device)
            loss = ((x @ w).softmax(dim=-1) * mg.tensor(T, device=device)).sum()
            loss.backward()
    finally:
        del os.environ["MINIGRAD_DEBUG"]
    launches = [line.split()[1] for line in log.getvalue().splitlines() if line.startswith("[minigrad.kernels]")]
    return loss.item(), x.grad.numpy(), w.grad.numpy(), launches


triton_run = loss_and_grads("triton")
reference_run = loss_and_grads("reference")
print("triton launches:   ", triton_run[3])
print("reference launches:", reference_run[3])
dispatch_errors = [abs(triton_run[0] - reference_run[0])] + [
    float(np.abs(t - r).max()) for t, r in zip(triton_run[1:3], reference_run[1:3])]
print(f"loss {triton_run[0]:.6f} vs {reference_run[0]:.6f}; max |difference| of loss, dX, dW: "
      + ", ".join(f"{e:.1e}" for e in dispatch_errors))

# %% [markdown]
# Five launches for one forward and backward: the matmul, the softmax, the
# softmax backward, and the two matmuls of the matmul backward
# ($dX = G W^\top$, $dW = X^\top G$: `MatMul.backward` in `minigrad/ops/linalg.py`;
# the softmax's is `Softmax.backward` in `minigrad/ops/reduce.py`). `F.scaled_dot_product_attention` is
# dispatched too: with no mask but the causal one and no dropout, the Triton path
# runs the flash attention forward and backward kernels of section 3
# (`ScaledDotProductAttention` in `minigrad/ops/attention.py`); with any other mask
# it stays on the array path.
#
# ## 6. On a GPU: the benchmark
#
# `benchmarks/kernels.py` measures matmul TFLOP/s against `cupy.matmul`, softmax
# GB/s against the memory bandwidth, and flash attention TFLOP/s. On a CPU it
# runs the interpreter sanity checks and the compile report instead; timing the
# interpreter would measure NumPy, not a GPU.

# %%
benchmark = Path(mg.__file__).resolve().parents[1] / "benchmarks" / "kernels.py"
if ON_GPU and benchmark.exists():
    subprocess.run([sys.executable, str(benchmark), "--quick", "--out", str(FIGURES / "09_benchmark.png")],
                   check=True)
else:
    print("No GPU here: skipping the benchmark. On a machine with an NVIDIA GPU and CuPy run\n"
          "    python benchmarks/kernels.py          # or --quick")

# %% [markdown]
# ## Exercises
#
# **Exercise 1.** With 8 × 8 tiles and 16 programs running at once, which
# `GROUP_M` minimises the tile rows and columns they read? Use `grouped_tile` and
# `tiles_loaded` for `GROUP_M` in 1, 2, 4, 8.
#
# <details markdown="1"><summary>Hint</summary>
#
# 16 programs in groups of $g$ tile rows cover a $g \times 16/g$ patch (at most
# 8 columns wide): they read $g + 16/g$ rows and columns. $g = 1$ is row-major
# ($2 + 8 = 10$), $g = 4$ the minimum ($4 + 4 = 8$), $g = 8$ is $8 + 2 = 10$ again.
#
# </details>
#
# **Exercise 2.** Add a `print` inside `softmax_fwd_kernel` (`print("row", row, tl.max(x, axis=0))`),
# run `K.softmax` on a $3 \times 5$ array in the interpreter, and check the maxima.
# Why can't you do this on a GPU in the same way?
#
# <details markdown="1"><summary>Hint</summary>
#
# The interpreter runs each program as Python, so `print` just works. Compiled
# kernels need `tl.device_print` (and print from every thread).
#
# </details>
#
# **Exercise 3.** Extend `online_softmax_attention` to merge two *partial* results
# $(m_1, \ell_1, a_1)$ and $(m_2, \ell_2, a_2)$ computed on two halves of the keys
# (this is how "split-K" flash decoding parallelises a long sequence), and check it
# against `exact_attention`.
#
# <details markdown="1"><summary>Hint</summary>
#
# $m = \max(m_1, m_2)$, $\ell = e^{m_1 - m}\ell_1 + e^{m_2 - m}\ell_2$,
# $a = e^{m_1 - m} a_1 + e^{m_2 - m} a_2$, output $a/\ell$: the same rescaling, twice.
#
# </details>
#
# **Exercise 4.** Compile the matmul for float32 (`kernel_compiler.compile_kernel("matmul", "float32", 80)`).
# Where did the `mma.sync` instructions go, and what changes with `input_precision="tf32"`?
#
# <details markdown="1"><summary>Hint</summary>
#
# Exact fp32 (`"ieee"`) has no tensor-core instruction on these GPUs: the PTX is
# `fma.rn.f32`. TF32 rounds the inputs to a 10-bit mantissa and uses
# `mma.sync ... tf32` at about 8x the throughput, with relative errors near $10^{-3}$.
#
# </details>

# %% [markdown]
# ## What this chapter showed (checked when it runs)

# %%
assert loads_grouped < loads_row_major, "grouped ordering reads fewer tiles"
assert tiled_error < 1e-10, "the NumPy tile walk is a matmul"
for (M, Kd, N, kind), err in matmul_errors.items():
    assert err < (2e-3 if kind == "float16" else 1e-5), (M, Kd, N, kind, err)
assert all(err < 1e-5 for name, err in softmax_errors.items() if "fp16" not in name), softmax_errors
assert softmax_errors["log_softmax fp16"] < 2e-3
assert max(prefix_error) < 1e-12 and online_error < 1e-12 and forgot_error > 1e-2
assert all(err < 1e-5 for err in attention_errors.values()), attention_errors
assert mm80.mma_counts()["mma.sync"] == expected_mma_sync and mm90.mma_counts()["wgmma"] == expected_wgmma
assert all(r["spill_stores"] + r["spill_loads"] == 0 for r in ptxas.values()), "no kernel spills"
assert len(triton_run[3]) == 5 and reference_run[3] == []
assert max(dispatch_errors) < 1e-5
print("chapter 9: all checks passed")
