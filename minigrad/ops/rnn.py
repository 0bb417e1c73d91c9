r"""The time loops of the recurrent layers as Functions, forward and backward side by side.

``RNNRecurrence`` (``nn.RNN``), ``LSTMRecurrence`` (``nn.LSTM``) and ``GRURecurrence``
(``nn.GRU``) each run one layer and direction over all T time steps; ``LSTMCellStep``
is one LSTM step (``nn.LSTMCell``). In every layer the input projections of all steps
are computed beforehand as one matrix product, $P_t = x_t W_{ih}^\top + b_{ih} (+ b_{hh})$,
so a step is one matmul $h_{t-1} W_{hh}^\top$ plus elementwise gate math.

**Elman RNN**, $\phi = \tanh$ or ReLU:

$$h_t = \phi(a_t), \qquad a_t = P_t + h_{t-1} W_{hh}^\top, \qquad \phi = \tanh \text{ or } \mathrm{ReLU}.$$

Backward (backpropagation through time), with $g_t = \partial L/\partial h_t$
coming from above and $\delta h$ carried from step $t+1$:

$$\delta a_t = (g_t + \delta h_{t+1}) \odot \phi'(a_t), \qquad
\delta h_t = \delta a_t W_{hh}, \qquad
\frac{\partial L}{\partial P_t} = \delta a_t, \qquad
\frac{\partial L}{\partial W_{hh}} = \sum_t \delta a_t^\top h_{t-1},$$

with $\tanh'(a) = 1 - h^2$ and $\mathrm{ReLU}'(a) = [h > 0]$, both read from the
saved output $h_t$. $\delta h$ left after step 0 is $\partial L/\partial h_0$.

**LSTM** (PyTorch's equations; gates stacked (i, f, g, o) along the 4H columns),
with $z_t = P_t + h_{t-1} W_{hh}^\top$ split into $z^i, z^f, z^g, z^o$:

$$i = \sigma(z^i),\; f = \sigma(z^f),\; g = \tanh(z^g),\; o = \sigma(z^o),\qquad
c_t = f \odot c_{t-1} + i \odot g,\qquad h_t = o \odot \tanh c_t.$$

Backward of one step, given $\delta h = g_t + \delta h_{t+1}$ and $\delta c$ from step $t+1$:

$$\delta c \mathrel{+}= \delta h \odot o \odot (1 - \tanh^2 c_t),\quad
\delta z^i = \delta c \odot g \odot \sigma'(z^i),\quad
\delta z^f = \delta c \odot c_{t-1} \odot \sigma'(z^f),$$
$$\delta z^g = \delta c \odot i \odot \tanh'(z^g),\quad
\delta z^o = \delta h \odot \tanh c_t \odot \sigma'(z^o),\quad
\delta c_{t-1} = \delta c \odot f,\quad \delta h_{t-1} = \delta z\, W_{hh},$$

with $\sigma' = \sigma(1 - \sigma)$, $\tanh' = 1 - \tanh^2$, and
$\partial L/\partial W_{hh} = \sum_t \delta z_t^\top h_{t-1}$.

**GRU**: equations in `GRURecurrence`.

Why one Function per time loop rather than a graph op per step: a Function has one
output, so a per-step graph would slice the projections with ``getitem``, whose
backward writes a full (T, N, ·) gradient at every step (T times the work). Here each
step's gradient goes straight into its slot. The cells ``nn.RNNCell`` and ``nn.GRUCell``
are one step and are composed from the engine's ops instead.

**Fast paths** (each named and commented where it is used):

- *The single-tanh gate trick* (`lstm_gates`): the four LSTM nonlinearities are one
  ``tanh`` over the whole (N, 4H) block, since $\sigma(x) = (1 + \tanh(x/2))/2$.
- *The single-exp gate trick* (`LSTMRecurrence`'s time loop): the same four
  nonlinearities as one ``exp`` over the block, $\sigma(x) = 1/(1 + e^{-x})$ and
  $\tanh x = 2\sigma(2x) - 1$, with the factors $-1$ and $-2$ folded into $W_{hh}$ and the
  projections before the loop. NumPy's float32 ``exp`` costs ~2 ns per element here,
  its ``tanh`` ~3 ns: the gate block is ~40% cheaper (the forward ~6%).
- *Recycled work arrays* (`LSTMRecurrence`): the gate values, $\tanh c_t$ and the cells
  (6 MB per layer in the benchmark) never leave the Function; once its backward is
  done they are kept for the next call instead of freed. A fresh multi-megabyte array is
  new memory from the operating system, whose every 4 KiB page costs a page fault on
  first write (~1,300 per layer and step, 6-9% of the training step's CPU time).
- *Blocks of batch rows on threads* (`LSTMRecurrence`, see
  `_LSTM_GATES_PER_THREAD`): the rows of a batch never meet in the recurrence, so each
  of `minigrad.set_num_threads` threads can run the whole time loop, forward and
  backward, for its block of rows (`threads.blockwise`). One hand-over per loop, but
  every array call of a step passes Python's GIL between the threads.
- *Work outside the loop* (`LSTMRecurrence`): everything in the backward step
  that does not depend on the recurrence (the nonlinearities' slopes, the gate values
  they multiply, $o \odot (1 - \tanh^2 c)$) is computed for blocks of 8 steps at once
  (small enough to stay in cache), so a step is 7 array calls; the forward step writes
  every result straight into its storage (``out=``), no copies.
"""

from __future__ import annotations

import functools
import threading

import numpy as np

from minigrad import dispatch, threads
from minigrad.backend import get_array_module
from minigrad.tensor import Function

__all__ = ["RNNRecurrence", "LSTMRecurrence", "LSTMCellStep", "GRURecurrence", "lstm_gates",
           "lstm_gates_backward"]


class RNNRecurrence(Function):
    """h_t = φ(P_t + h_{t-1} W_hhᵀ) for every t; equations in the module docstring.

    Inputs: ``proj`` (T, N, H), ``h0`` (N, H), ``w_hh`` (H, H). Params:
    ``nonlinearity`` ("tanh" or "relu") and ``reverse`` (run t = T-1 down to 0,
    the backward direction of a bidirectional RNN). Output (T, N, H): h_t in time order.
    """

    def forward(self, proj, h0, w_hh, nonlinearity, reverse):
        xp = get_array_module(proj)
        steps = proj.shape[0]
        self.order = range(steps - 1, -1, -1) if reverse else range(steps)
        self.relu = nonlinearity == "relu"
        out = xp.empty(proj.shape, dtype=proj.dtype)
        self.h_prev = xp.empty_like(out)
        w_hh_t = w_hh.T
        h = h0
        for t in self.order:
            self.h_prev[t] = h
            a = proj[t] + h @ w_hh_t
            h = xp.maximum(a, 0) if self.relu else xp.tanh(a)
            out[t] = h
        self.out, self.w_hh = out, w_hh
        return out

    def backward(self, g):
        xp = get_array_module(g)
        d_proj = xp.empty_like(g)
        dh_next = xp.zeros_like(g[0])
        for t in reversed(self.order):
            h = self.out[t]
            slope = (h > 0).astype(g.dtype) if self.relu else 1 - h * h
            d_proj[t] = (g[t] + dh_next) * slope
            dh_next = d_proj[t] @ self.w_hh
        hidden = g.shape[-1]
        dw_hh = d_proj.reshape(-1, hidden).T @ self.h_prev.reshape(-1, hidden)
        return d_proj, dh_next, dw_hh


# ============================================================================ LSTM


def lstm_gates(pre, c_prev):
    """One LSTM step from the gates' pre-activations z (N, 4H) and c_{t-1}: (act, c_t, tanh c_t, h_t).

    ``act`` holds [i, f, g, o] side by side, (N, 4H); the equations are in the module
    docstring. Fast path, *the single-tanh gate trick*: all four nonlinearities are one
    ``tanh`` over the whole block, because σ(x) = (1 + tanh(x/2)) / 2: with a = 1/2 for the
    σ gates and a = 1 for g, act = a · tanh(a · z) + b, b = 1/2 for σ and 0 for g (no
    overflow for any x).
    """
    xp = get_array_module(pre)
    a, b = _gate_affine(xp, c_prev.shape[-1], pre.dtype)
    act = xp.tanh(pre * a)
    act *= a
    act += b
    i, f, g, o = _split4(act)
    c = f * c_prev + i * g
    tanh_c = xp.tanh(c)
    return act, c, tanh_c, o * tanh_c


def lstm_gates_backward(act, c_prev, tanh_c, dh, dc):
    """Gradients of the pre-activations (N, 4H) and of c_{t-1}, given dL/dh_t and dL/dc_t.

    dc_t gets h_t's share through tanh:  dc += dh ⊙ o ⊙ (1 - tanh² c_t); then
    di = dc ⊙ g,  df = dc ⊙ c_{t-1},  dg = dc ⊙ i,  do = dh ⊙ tanh c_t,
    each times its nonlinearity's derivative, σ' = σ(1 - σ) and tanh' = 1 - tanh²,
    both equal to a² - (act - b)² with the a, b of `lstm_gates`;
    and dc_{t-1} = dc ⊙ f.
    """
    xp = get_array_module(act)
    i, f, g, o = _split4(act)
    dc = dc + dh * o * (1 - tanh_c * tanh_c)
    d_pre = xp.empty_like(act)
    di, df, dg, do = _split4(d_pre)
    xp.multiply(dc, g, out=di)
    xp.multiply(dc, c_prev, out=df)
    xp.multiply(dc, i, out=dg)
    xp.multiply(dh, tanh_c, out=do)
    d_pre *= _gate_slopes(xp, act)
    return d_pre, dc * f


def _gate_slopes(xp, act):
    """σ' = σ(1 - σ) for the σ gates and tanh' = 1 - g² for g, from the activations: a² - (act - b)²."""
    a, b = _gate_affine(xp, act.shape[-1] // 4, act.dtype)
    slopes = act - b
    slopes *= slopes
    return xp.subtract(a * a, slopes, out=slopes)


@functools.lru_cache(maxsize=32)
def _gate_affine(xp, hidden: int, dtype):
    """(a, b) per gate column, [i, f, g, o] = [σ, σ, tanh, σ]: a = 1/2, 1/2, 1, 1/2; b = 1/2, 1/2, 0, 1/2."""
    a = xp.full(4 * hidden, 0.5, dtype=dtype)
    a[2 * hidden : 3 * hidden] = 1
    b = xp.full(4 * hidden, 0.5, dtype=dtype)
    b[2 * hidden : 3 * hidden] = 0
    return a, b


def _split4(a):
    """The four gate blocks [i, f, g, o] of a (..., 4H) array, as views."""
    hidden = a.shape[-1] // 4
    return tuple(a[..., k * hidden : (k + 1) * hidden] for k in range(4))


class LSTMCellStep(Function):
    """One LSTM step (``nn.LSTMCell``) from pre-activations z (N, 4H) and c_{t-1};
    returns [h_t, c_t] stacked (2, N, H). Forward `lstm_gates`, backward
    `lstm_gates_backward` (the per-step reference of `LSTMRecurrence`)."""

    def forward(self, pre, c_prev):
        xp = get_array_module(pre)
        self.act, c, self.tanh_c, h = lstm_gates(pre, c_prev)
        self.c_prev = c_prev
        return xp.stack([h, c])

    def backward(self, g):
        return lstm_gates_backward(self.act, self.c_prev, self.tanh_c, g[0], g[1])


_LSTM_BLOCK = 8  # time steps whose loop-invariant backward terms are computed together


@functools.lru_cache(maxsize=32)
def _exp_gate_scale(xp, hidden: int, dtype):
    """Per gate column, [i, f, g, o]: -1 for the σ gates, -2 for g (see `LSTMRecurrence.forward`)."""
    scale = xp.full(4 * hidden, -1, dtype=dtype)
    scale[2 * hidden : 3 * hidden] = -2
    return scale


class _Recycler:
    """Fast path, *recycled work arrays*: big arrays that a time loop keeps to itself,
    handed out again after its backward instead of being freed.

    Why: NumPy gets a multi-megabyte array from the operating system as fresh memory,
    and the first write to each of its 4 KiB pages traps into the kernel (a page
    fault, which also zero-fills the page). In the LSTM benchmark that was ~1,300
    faults per layer and training step, 6-9% of the step's CPU time.

    Only arrays that never left the Function may be given back (`LSTMRecurrence.release`):
    nothing else can still be reading them. At most ``max_bytes`` are kept; NumPy only
    (CuPy has its own memory pool).
    """

    def __init__(self, max_bytes: int = 64 << 20):
        self.free, self.max_bytes = [], max_bytes
        self.lock = threading.Lock()  # several threads may run forward/backward at once

    def empty(self, xp, shape, dtype):
        """An uninitialised array: a recycled one of this shape and dtype if there is one."""
        if xp is np:
            with self.lock:
                for k, array in enumerate(self.free):
                    if array.shape == shape and array.dtype == dtype:
                        return self.free.pop(k)
        return xp.empty(shape, dtype=dtype)

    def give_back(self, *arrays) -> None:
        with self.lock:
            self.free.extend(a for a in arrays if isinstance(a, np.ndarray) and a.base is None)
            while sum(a.nbytes for a in self.free) > self.max_bytes:
                self.free.pop(0)  # the oldest first


_RECYCLED = _Recycler()


class LSTMRecurrence(Function):
    """The whole time loop of one LSTM layer and direction, with backpropagation through time.

    Inputs: ``proj`` (T, N, 4H) = x W_ihᵀ + b_ih + b_hh for every step, h_0, c_0 (N, H),
    W_hh (4H, H). Output (T + 1, N, H): h_t for t = 0..T-1 in time order, then the
    final cell state. ``reverse=True`` runs from t = T-1 down to 0 (the backward
    direction of a bidirectional LSTM). Equations in the module docstring; each step
    computes what `lstm_gates` and `lstm_gates_backward` compute (the tests
    check the two agree), with the loop-invariant work hoisted out of the loop.
    """

    def forward(self, proj, h0, c0, w_hh, reverse):
        xp = get_array_module(proj)
        steps, n, hidden = proj.shape[0], h0.shape[0], h0.shape[1]
        dtype = proj.dtype
        # the single-exp gate trick: with s = -1 for the σ gates and -2 for g, every column
        # of s ⊙ z goes through 1 / (1 + e^x), which is σ(z) for i, f, o and σ(2z) for g,
        # and tanh z = 2σ(2z) - 1. s is folded into W_hh here and into P_t before the loop.
        scale = _exp_gate_scale(xp, hidden, dtype)
        w_hh_t = xp.ascontiguousarray(w_hh.T * scale)  # a contiguous right operand: faster GEMMs
        act = _RECYCLED.empty(xp, proj.shape, dtype)  # [i, f, g, o] of every step, in time order
        tanh_c = _RECYCLED.empty(xp, (steps, n, hidden), dtype)
        # c_{t-1} of step t sits next to c_t: forward, cells[t] -> cells[t + 1];
        # reverse (c_{t+1} feeds step t), cells[t + 1] -> cells[t]
        cells = _RECYCLED.empty(xp, (steps + 1, n, hidden), dtype)
        out = xp.empty((steps + 1, n, hidden), dtype=dtype)  # h_0..h_{T-1}, then c_T
        _on_row_blocks(_lstm_forward_rows, *_batch_major(proj, act, tanh_c, cells, out),
                       h0.astype(dtype, copy=False), c0, shared=(w_hh_t, scale, reverse),
                       gates_per_step=n * 4 * hidden)
        self.act, self.tanh_c, self.cells = act, tanh_c, cells  # private: see release()
        self.w_hh, self.h0, self.out = w_hh, h0, out
        self.c_prev = cells[1:] if reverse else cells[:steps]  # c_{t-1} of every step t
        self.reverse = reverse
        return out

    def release(self) -> None:
        """After the (last) backward: the private arrays go back to `_Recycler` for the next call."""
        private = (self.act, self.tanh_c, self.cells) if "act" in self.__dict__ else ()
        super().release()
        _RECYCLED.give_back(*private)

    def backward(self, grad):
        xp = get_array_module(grad)
        act, tanh_c = self.act, self.tanh_c
        grad = grad.astype(act.dtype, copy=False)  # float32 end to end
        steps, n, hidden = tanh_c.shape
        d_proj = xp.empty_like(act)
        dh0, dc0 = xp.empty((n, hidden), act.dtype), xp.empty((n, hidden), act.dtype)
        _on_row_blocks(_lstm_backward_rows,
                       *_batch_major(grad, d_proj, act, tanh_c, self.c_prev), dh0, dc0,
                       shared=(self.w_hh, self.reverse), gates_per_step=n * 4 * hidden)
        # dW_hh = Σ_t dz_tᵀ h_{t-1}: h_0 feeds the first step, h_t the others (one GEMM)
        first = steps - 1 if self.reverse else 0
        dw_hh = d_proj[first].T @ self.h0.astype(act.dtype, copy=False)
        if steps > 1:
            rest = d_proj[: steps - 1] if self.reverse else d_proj[1:]
            h_rest = self.out[1:steps] if self.reverse else self.out[: steps - 1]
            dw_hh += dispatch.matmul(rest.reshape(-1, 4 * hidden).T, h_rest.reshape(-1, hidden))
        return d_proj, dh0, dc0, dw_hh


#: Blocks of batch rows on threads: the fewest gate values per time step worth a thread
#: (4096: the benchmark's (32, 512) gates make 2 blocks), or None: never.
#: A step's ~20 array calls are short (2-40 µs) and each one passes Python's GIL to the
#: other thread and back, yet on two free cores the LSTM benchmark's step went from
#: 61-67 ms (one block) to 53-55 ms (two; quiet machine, 3 runs each, medians of 4 rounds).
#: On a machine whose other core is busy it loses (85 against 76 ms, CPU time).
_LSTM_GATES_PER_THREAD: int | None = 4096


def _on_row_blocks(fn, *arrays, shared, gates_per_step: int):
    """``fn(*arrays, *shared)`` here, or on blocks of batch rows on minigrad's threads
    (`threads.blockwise`; rows = axis 0 of the `_batch_major` arrays) when
    `_LSTM_GATES_PER_THREAD` is set: as many blocks as it fits in ``gates_per_step`` (N·4H)."""
    if _LSTM_GATES_PER_THREAD is None:
        fn(*arrays, *shared)
        return
    # blockwise makes size // min_elements blocks at most: gates_per_step // _LSTM_GATES_PER_THREAD
    min_elements = max(1, arrays[0].size * _LSTM_GATES_PER_THREAD // gates_per_step)
    threads.blockwise(fn, *arrays, shared=shared, min_elements=min_elements)


def _batch_major(*arrays):
    """(T, N, ...) arrays as (N, T, ...) views, so that `threads.blockwise` cuts the batch."""
    return [a.swapaxes(0, 1) for a in arrays]


def _lstm_forward_rows(proj, act, tanh_c, cells, out, h0, c0, w_hh_t, scale, reverse):
    """The forward time loop of `LSTMRecurrence` for some rows of the batch (arrays as
    `_batch_major` views, swapped back here); writes act, tanh_c, cells and out."""
    xp = get_array_module(proj)
    proj, act, tanh_c, cells, out = (a.swapaxes(0, 1) for a in (proj, act, tanh_c, cells, out))
    steps, n, hidden = tanh_c.shape
    gate_i, gate_f, gate_g, gate_o = _split4(act)
    i_times_g = xp.empty((n, hidden), dtype=act.dtype)
    h_w = xp.empty((n, 4 * hidden), dtype=act.dtype)
    xp.multiply(proj, scale, out=act)  # s ⊙ P_t for every step; the loop adds s ⊙ h_{t-1} W_hhᵀ
    h, c_prev = h0, cells[steps if reverse else 0]
    c_prev[...] = c0
    with np.errstate(over="ignore"):  # e^x = inf for a large x gives 1 / (1 + inf) = 0: right
        for t in range(steps - 1, -1, -1) if reverse else range(steps):
            z = act[t]  # every result is written in place, straight into its storage
            xp.matmul(h, w_hh_t, out=h_w)
            z += h_w  # s ⊙ (P_t + h_{t-1} W_hhᵀ)
            xp.exp(z, out=z)
            z += 1
            xp.divide(1, z, out=z)  # [i, f, σ(2 z_g), o]
            g = gate_g[t]
            g *= 2
            g -= 1  # g = tanh z_g = 2σ(2 z_g) - 1
            c = cells[t if reverse else t + 1]
            xp.multiply(gate_f[t], c_prev, out=c)  # c_t = f c_{t-1} + i g
            xp.multiply(gate_i[t], g, out=i_times_g)
            c += i_times_g
            xp.tanh(c, out=tanh_c[t])
            h = xp.multiply(gate_o[t], tanh_c[t], out=out[t])  # h_t = o tanh c_t
            c_prev = c
    out[steps] = c_prev


def _loop_invariants(xp, act, tanh_c, c_prev):
    """Fast path: the backward terms that do not depend on the recurrence, for a block of
    steps at once (small enough to stay in cache).

    Per step the gradients of the pre-activations are [dc, dc, dc, dh] ⊙ scale, with
    scale = [g, c_{t-1}, i, tanh c_t] ⊙ the nonlinearities' slopes (σ', σ', tanh', σ'),
    and dc_t = dc_{t+1} + dh ⊙ through_c with through_c = o ⊙ (1 - tanh² c_t).
    """
    gate_i, _, gate_g, gate_o = _split4(act)
    scale = _gate_slopes(xp, act)
    scale_i, scale_f, scale_g, scale_o = _split4(scale)
    scale_i *= gate_g
    scale_f *= c_prev
    scale_g *= gate_i
    scale_o *= tanh_c
    through_c = tanh_c * tanh_c
    xp.subtract(1, through_c, out=through_c)
    through_c *= gate_o
    return scale, through_c


def _lstm_backward_rows(grad, d_proj, act, tanh_c, c_prev, dh0, dc0, w_hh, reverse):
    """The backward time loop of `LSTMRecurrence` for some rows of the batch (arrays as
    `_batch_major` views); writes d_proj and dL/dh_0, dL/dc_0 into dh0, dc0."""
    xp = get_array_module(grad)
    grad, d_proj, act, tanh_c, c_prev = (a.swapaxes(0, 1)
                                         for a in (grad, d_proj, act, tanh_c, c_prev))
    steps, n, hidden = tanh_c.shape
    d_proj4 = d_proj.reshape(steps, n, 4, hidden)
    dh, dc = xp.empty((n, hidden), act.dtype), xp.empty((n, hidden), act.dtype)
    dh_next = xp.zeros((n, hidden), act.dtype)
    dc_next, dc_spare = grad[steps].copy(), xp.empty((n, hidden), act.dtype)
    order = list(range(steps) if reverse else range(steps - 1, -1, -1))
    for start in range(0, steps, _LSTM_BLOCK):
        times = order[start : start + _LSTM_BLOCK]
        first, last = min(times), max(times) + 1
        scale, through_c = _loop_invariants(xp, act[first:last], tanh_c[first:last],
                                            c_prev[first:last])
        scale4 = scale.reshape(last - first, n, 4, hidden)
        for t in times:  # 7 array calls per step
            k = t - first
            xp.add(grad[t], dh_next, out=dh)
            xp.multiply(dh, through_c[k], out=dc)
            dc += dc_next
            xp.multiply(dc[:, None, :], scale4[k, :, :3], out=d_proj4[t, :, :3])  # i, f, g
            xp.multiply(dh, scale4[k, :, 3], out=d_proj4[t, :, 3])  # o
            dc_f = xp.multiply(dc, act[t, :, hidden : 2 * hidden], out=dc_spare)
            dc_next, dc_spare = dc_f, dc_next  # dc_{t-1} = dc ⊙ f
            xp.matmul(d_proj[t], w_hh, out=dh_next)  # dh_{t-1}
    dh0[...] = dh_next
    dc0[...] = dc_next


# ============================================================================ GRU


def _sigmoid(x):
    """σ(x) = (1 + tanh(x/2)) / 2: one transcendental call and no overflow for any x."""
    return 0.5 * (1 + get_array_module(x).tanh(0.5 * x))


class GRURecurrence(Function):
    """The time loop of one GRU layer and direction, PyTorch's equations, gates stacked (r, z, n):

        r = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
        z = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        n = tanh(W_in x_t + b_in + r ⊙ (W_hn h_{t-1} + b_hn))
        h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}

    Inputs: ``proj`` (T, N, 3H) = x W_ihᵀ + b_ih, h_0 (N, H), W_hh (3H, H), b_hh (3H).
    Output (T, N, H): h_t in time order. b_hh is inside because r multiplies W_hn h + b_hn.

    Backward of one step, with dh = dL/dh_t (and a_* the pre-activations):
    dn = dh ⊙ (1 - z),  dz = dh ⊙ (h_{t-1} - n),  da_n = dn ⊙ (1 - n²),
    da_r = da_n ⊙ (W_hn h + b_hn) ⊙ r(1 - r),  da_z = dz ⊙ z(1 - z);
    the hidden side gets [da_r, da_z, da_n ⊙ r], and
    dh_{t-1} = dh ⊙ z + [da_r, da_z, da_n ⊙ r] W_hh.
    """

    def forward(self, proj, h0, w_hh, b_hh, reverse):
        xp = get_array_module(proj)
        steps, hidden = proj.shape[0], h0.shape[1]
        self.order = range(steps - 1, -1, -1) if reverse else range(steps)
        self.h_prev = xp.empty(proj.shape[:2] + (hidden,), dtype=proj.dtype)
        self.rz = xp.empty(proj.shape[:2] + (2 * hidden,), dtype=proj.dtype)
        self.n = xp.empty_like(self.h_prev)
        self.hn = xp.empty_like(self.h_prev)  # W_hn h + b_hn
        out = xp.empty_like(self.h_prev)
        w_hh_t = w_hh.T
        h = h0
        for t in self.order:
            self.h_prev[t] = h
            hh = h @ w_hh_t + b_hh
            self.rz[t] = _sigmoid(proj[t, :, : 2 * hidden] + hh[:, : 2 * hidden])
            r, z = self.rz[t, :, :hidden], self.rz[t, :, hidden:]
            self.hn[t] = hh[:, 2 * hidden :]
            self.n[t] = xp.tanh(proj[t, :, 2 * hidden :] + r * self.hn[t])
            h = (1 - z) * self.n[t] + z * h
            out[t] = h
        self.w_hh = w_hh
        return out

    def backward(self, g):
        xp = get_array_module(g)
        hidden = g.shape[-1]
        d_proj = xp.empty(g.shape[:2] + (3 * hidden,), dtype=g.dtype)
        d_hh = xp.empty_like(d_proj)
        dh_next = xp.zeros_like(g[0])
        for t in reversed(self.order):
            r, z, n = self.rz[t, :, :hidden], self.rz[t, :, hidden:], self.n[t]
            dh = g[t] + dh_next
            da_n = dh * (1 - z) * (1 - n * n)
            d_proj[t, :, :hidden] = da_n * self.hn[t] * r * (1 - r)
            d_proj[t, :, hidden : 2 * hidden] = dh * (self.h_prev[t] - n) * z * (1 - z)
            d_proj[t, :, 2 * hidden :] = da_n
            d_hh[t, :, : 2 * hidden] = d_proj[t, :, : 2 * hidden]
            d_hh[t, :, 2 * hidden :] = da_n * r
            dh_next = dh * z + d_hh[t] @ self.w_hh
        d_hh2 = d_hh.reshape(-1, 3 * hidden)
        dw_hh = d_hh2.T @ self.h_prev.reshape(-1, hidden)
        return d_proj, dh_next, dw_hh, d_hh2.sum(axis=0)
