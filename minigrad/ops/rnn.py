r"""The time loop of the Elman RNN (``nn.RNN``) as one Function, forward and backward side by side.

For one layer and direction, with the input projections of every step computed
beforehand as one matrix product, $P_t = x_t W_{ih}^\top + b_{ih} + b_{hh}$:

$$h_t = \phi(a_t), \qquad a_t = P_t + h_{t-1} W_{hh}^\top, \qquad \phi = \tanh \text{ or } \mathrm{ReLU}.$$

Backward (backpropagation through time), with $g_t = \partial L/\partial h_t$
coming from above and $\delta h$ carried from step $t+1$:

$$\delta a_t = (g_t + \delta h_{t+1}) \odot \phi'(a_t), \qquad
\delta h_t = \delta a_t W_{hh}, \qquad
\frac{\partial L}{\partial P_t} = \delta a_t, \qquad
\frac{\partial L}{\partial W_{hh}} = \sum_t \delta a_t^\top h_{t-1},$$

with $\tanh'(a) = 1 - h^2$ and $\mathrm{ReLU}'(a) = [h > 0]$, both read from the
saved output $h_t$. $\delta h$ left after step 0 is $\partial L/\partial h_0$.

Why one Function rather than a graph op per step: a Function has one output, so
a per-step graph would slice the projections with ``getitem``, whose backward
writes a full (T, N, H) gradient at every step (T times the work). Here each
step's gradient goes straight into its slot. The cells (``nn.RNNCell``,
``nn.GRUCell``) are one step and are composed from the engine's ops instead.
"""

from __future__ import annotations

from minigrad.backend import get_array_module
from minigrad.tensor import Function

__all__ = ["RNNRecurrence"]


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
