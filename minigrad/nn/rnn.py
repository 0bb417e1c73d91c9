"""Recurrent layers: ``LSTMCell``, ``LSTM`` and ``GRU``, with PyTorch's equations and names.

LSTM (Hochreiter & Schmidhuber, 1997; forget gate: Gers, Schmidhuber & Cummins, 2000),
for each time step t, exactly as PyTorch's documentation::

    i = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)      input gate
    f = σ(W_if x_t + b_if + W_hf h_{t-1} + b_hf)      forget gate
    g = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)   candidate cell
    o = σ(W_io x_t + b_io + W_ho h_{t-1} + b_ho)      output gate
    c_t = f ⊙ c_{t-1} + i ⊙ g
    h_t = o ⊙ tanh(c_t)

The four gates' weights are stacked in the order (i, f, g, o): ``weight_ih_l0`` is
(4H, input_size), ``weight_hh_l0`` (4H, H).

How the time loop is organised (the fast way on a CPU):

1. The input projections of *all* time steps, x W_ihᵀ + b_ih + b_hh, are one
   matrix product per layer and direction (a normal graph op).
2. The recurrence is one fused Function, `minigrad.ops.rnn.LSTMRecurrence`:
   a Python loop over time whose step is one matmul h W_hhᵀ plus the gate math of
   `lstm_gates` (all four nonlinearities and the cell update
   at once), and whose backward is the same loop run backwards (backpropagation
   through time) with the hand-derived gate gradients of
   `lstm_gates_backward`.

Why not one graph op per step: a Function has one output, so taking step t's
slice of the projections would be a ``getitem`` whose backward writes a
full-size (T, N, 4H) gradient at every step — T times the work. Inside one
Function the per-step gradient is written straight into its slot.

GRU (Cho et al., 2014), PyTorch's equations, gates stacked (r, z, n)::

    r = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    n = tanh(W_in x_t + b_in + r ⊙ (W_hn h_{t-1} + b_hn))
    h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}

Elman RNN (Elman, 1990), PyTorch's ``nn.RNN``, φ = tanh (default) or ReLU::

    h_t = φ(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)

Its time loop is `minigrad.ops.rnn.RNNRecurrence`, the GRU's
`minigrad.ops.rnn.GRURecurrence`. The cells
(``RNNCell``, ``GRUCell``) are one step, composed from the engine's ops
(``linear``, ``sigmoid``, ``tanh``, ...), so their gradients are those ops'.
"""

from __future__ import annotations

import math

from minigrad.backend import get_array_module
from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.layers import empty_parameter
from minigrad.nn.module import Module
from minigrad.ops import cat, relu, sigmoid, stack, tanh
from minigrad.ops.rnn import (  # the time loops and their gradients live in ops/
    GRURecurrence,
    LSTMCellStep,
    LSTMRecurrence,
    RNNRecurrence,
    lstm_gates,
    lstm_gates_backward,
)
from minigrad.tensor import Tensor

__all__ = ["RNNCell", "GRUCell", "LSTMCell", "RNN", "LSTM", "GRU", "lstm_gates",
           "lstm_gates_backward"]


# ============================================================================ modules


class _CellBase(Module):
    """Parameters of a one-step cell, PyTorch's names: ``weight_ih`` (G·H, input_size),
    ``weight_hh`` (G·H, H), ``bias_ih``, ``bias_hh`` (G·H), all U(-1/√H, 1/√H); G gates."""

    gate_count = 1
    kind = "RNNCell"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        rows = self.gate_count * hidden_size
        self.weight_ih = empty_parameter(rows, input_size)
        self.weight_hh = empty_parameter(rows, hidden_size)
        if bias:
            self.bias_ih = empty_parameter(rows)
            self.bias_hh = empty_parameter(rows)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        _init_uniform(self, hidden_size)
        _to(self, device, dtype)

    def _batched(self, input: Tensor):
        """(input as (N, input_size), unbatched?): a 1-D input is a batch of one."""
        unbatched = input.ndim == 1
        if unbatched:
            input = input.reshape(1, -1)
        if input.ndim != 2 or input.shape[1] != self.input_size:
            raise ValueError(f"{self.kind}: expected input (N, {self.input_size}) or "
                             f"({self.input_size},), got shape {input.shape}")
        return input, unbatched

    def _state(self, input: Tensor, h, unbatched: bool, name: str = "hx") -> Tensor:
        """The state h (N, H), zeros when None; reshaped to a batch of one if unbatched."""
        if h is None:
            return _zeros(input, (input.shape[0], self.hidden_size))
        if unbatched:
            h = h.reshape(1, -1)
        _check_state(self.kind, name, h, (input.shape[0], self.hidden_size))
        return h

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias}"


class RNNCell(_CellBase):
    """One Elman RNN step, PyTorch's ``nn.RNNCell``: h' = φ(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh).

    ``RNNCell(input_size, hidden_size, bias=True, nonlinearity="tanh")``, φ = tanh
    or ReLU. ``forward(input, hx=None)``: input (N, input_size) or (input_size,),
    hx (N, H) (zeros if None); returns h' (N, H) (or (H,)). Parameters as
    `_CellBase`. Composed from the engine's ops (their gradients).
    """

    kind = "RNNCell"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None):
        _check_nonlinearity(nonlinearity)
        super().__init__(input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx=None) -> Tensor:
        x, unbatched = self._batched(input)
        h = self._state(x, hx, unbatched)
        pre = F.linear(x, self.weight_ih, self.bias_ih) + F.linear(h, self.weight_hh, self.bias_hh)
        h = tanh(pre) if self.nonlinearity == "tanh" else relu(pre)
        return h.reshape(-1) if unbatched else h

    def extra_repr(self) -> str:
        return super().extra_repr() + f", nonlinearity={self.nonlinearity!r}"


class GRUCell(_CellBase):
    """One GRU step, PyTorch's ``nn.GRUCell`` (equations in the module docstring): (x, h) -> h'.

    ``forward(input, hx=None)``: input (N, input_size) or (input_size,), hx (N, H)
    (zeros if None); returns h'. Parameters ``weight_ih`` (3H, input_size),
    ``weight_hh`` (3H, H), ``bias_ih``, ``bias_hh`` (3H), gates stacked (r, z, n),
    all U(-1/√H, 1/√H). Composed from the engine's ops (their gradients).
    """

    gate_count = 3
    kind = "GRUCell"

    def forward(self, input: Tensor, hx=None) -> Tensor:
        x, unbatched = self._batched(input)
        h = self._state(x, hx, unbatched)
        x_r, x_z, x_n = F.linear(x, self.weight_ih, self.bias_ih).chunk(3, dim=1)
        h_r, h_z, h_n = F.linear(h, self.weight_hh, self.bias_hh).chunk(3, dim=1)
        r = sigmoid(x_r + h_r)
        z = sigmoid(x_z + h_z)
        n = tanh(x_n + r * h_n)
        h = (1 - z) * n + z * h
        return h.reshape(-1) if unbatched else h


class LSTMCell(_CellBase):
    """One LSTM step (equations in the module docstring): (x, (h, c)) -> (h', c').

    x (N, input_size) or (input_size,); h, c (N, hidden_size), zeros if ``hx`` is None.
    Parameters as PyTorch: ``weight_ih`` (4H, input_size), ``weight_hh`` (4H, H),
    ``bias_ih``, ``bias_hh`` (4H), all initialised U(-1/√H, 1/√H).
    """

    gate_count = 4
    kind = "LSTMCell"

    def forward(self, input: Tensor, hx=None):
        x, unbatched = self._batched(input)
        h, c = (None, None) if hx is None else hx
        h = self._state(x, h, unbatched, "hx")
        c = self._state(x, c, unbatched, "cx")
        pre = F.linear(x, self.weight_ih, self.bias_ih) + F.linear(h, self.weight_hh, self.bias_hh)
        hc = LSTMCellStep.apply(pre, c)
        h, c = hc[0], hc[1]
        if unbatched:
            h, c = h.reshape(-1), c.reshape(-1)
        return h, c


class _RNNBase(Module):
    """Shared code of LSTM and GRU: parameters, layers, directions, batch_first."""

    gate_count = 4
    kind = "LSTM"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None):
        super().__init__()
        if not 0 <= dropout <= 1:
            raise ValueError(f"{self.kind}: dropout must be in [0, 1], got {dropout}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, dropout
        self.bidirectional = bidirectional
        self.num_directions = 2 if bidirectional else 1
        rows = self.gate_count * hidden_size
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * self.num_directions
            for suffix in self._suffixes(layer):
                setattr(self, "weight_ih" + suffix, empty_parameter(rows, layer_input))
                setattr(self, "weight_hh" + suffix, empty_parameter(rows, hidden_size))
                if bias:
                    setattr(self, "bias_ih" + suffix, empty_parameter(rows))
                    setattr(self, "bias_hh" + suffix, empty_parameter(rows))
        _init_uniform(self, hidden_size)
        _to(self, device, dtype)

    def _suffixes(self, layer):
        return [f"_l{layer}"] + ([f"_l{layer}_reverse"] if self.bidirectional else [])

    def _prepare(self, input, hx):
        """Input as (T, N, features) and initial states as (layers·directions, N, H) Tensors."""
        if input.ndim not in (2, 3) or input.shape[-1] != self.input_size:
            raise ValueError(f"{self.kind}: expected input (seq, batch, {self.input_size}) "
                             f"(batch first if batch_first=True) or unbatched "
                             f"(seq, {self.input_size}), got shape {input.shape}")
        unbatched = input.ndim == 2
        if unbatched:
            input = input.reshape(input.shape[0], 1, input.shape[1])
        elif self.batch_first:
            input = input.transpose(0, 1)
        state_shape = (self.num_layers * self.num_directions, input.shape[1], self.hidden_size)
        states = []
        for k, h in enumerate(hx):
            name = ("h_0", "c_0")[k]
            if h is None:
                h = _zeros(input, state_shape)
            elif unbatched:
                h = h.reshape(h.shape[0], 1, h.shape[-1])
            _check_state(self.kind, name, h, state_shape)
            states.append(h)
        return input, unbatched, states

    def _finish(self, output, finals, unbatched):
        finals = [stack(f, dim=0) for f in finals]
        if unbatched:
            return output[:, 0], [f[:, 0] for f in finals]
        if self.batch_first:
            output = output.transpose(0, 1)
        return output, finals

    def _layers(self, x, run_direction):
        """Run every layer and direction; ``run_direction`` returns (outputs, final states)."""
        finals = None
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0:
                x = F.dropout(x, self.dropout, self.training)
            outs = []
            for d, suffix in enumerate(self._suffixes(layer)):
                out, states = run_direction(x, suffix, layer * self.num_directions + d, d == 1)
                outs.append(out)
                finals = [[] for _ in states] if finals is None else finals
                for acc, s in zip(finals, states):
                    acc.append(s)
            x = outs[0] if len(outs) == 1 else cat(outs, dim=-1)
        return x, finals

    def _projection(self, x, suffix, extra_bias: bool):
        """x W_ihᵀ + b_ih (+ b_hh, when it can be folded in) for all time steps: one matmul."""
        weight = getattr(self, "weight_ih" + suffix)
        bias = getattr(self, "bias_ih" + suffix) if self.bias else None
        if self.bias and extra_bias:
            bias = bias + getattr(self, "bias_hh" + suffix)
        return F.linear(x, weight, bias)  # (T, N, in) as T·N rows: one GEMM

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
                f"bias={self.bias}, batch_first={self.batch_first}, dropout={self.dropout}, "
                f"bidirectional={self.bidirectional}")


class RNN(_RNNBase):
    """Multi-layer Elman RNN, PyTorch's ``nn.RNN``: h_t = φ(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh).

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
    batch_first=False, dropout=0.0, bidirectional=False)`` (PyTorch's positional
    order), φ = tanh or ReLU. ``forward(input, hx=None)`` with input (T, N,
    input_size) ((N, T, input_size) if ``batch_first``, or unbatched (T, input_size))
    and h_0 (num_layers·D, N, H) (zeros if None; D = 2 if bidirectional) returns
    ``output, h_n``: output (T, N, D·H) is the last layer's h_t for every t, h_n
    the final state of every layer and direction. Dropout acts between layers, in
    training. Parameters ``weight_ih_l{k}`` (H, in), ``weight_hh_l{k}`` (H, H),
    ``bias_ih_l{k}``, ``bias_hh_l{k}`` (H) (plus ``_reverse``), all U(-1/√H, 1/√H).
    The time loop with its backward is `minigrad.ops.rnn.RNNRecurrence`.
    """

    gate_count = 1
    kind = "RNN"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None, dtype=None):
        _check_nonlinearity(nonlinearity)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx=None):
        x, unbatched, (h0,) = self._prepare(input, (hx,))

        def run_direction(x, suffix, index, reverse):
            proj = self._projection(x, suffix, extra_bias=True)
            w_hh = getattr(self, "weight_hh" + suffix)
            y = RNNRecurrence.apply(proj, h0[index], w_hh, nonlinearity=self.nonlinearity,
                                    reverse=reverse)
            return y, (y[0] if reverse else y[y.shape[0] - 1],)

        output, (h_n,) = self._layers(x, run_direction)
        output, (h_n,) = self._finish(output, (h_n,), unbatched)
        return output, h_n

    def extra_repr(self) -> str:
        return super().extra_repr() + f", nonlinearity={self.nonlinearity!r}"


class LSTM(_RNNBase):
    """Multi-layer LSTM over a sequence, as PyTorch's ``nn.LSTM`` (equations in the module docstring).

    ``forward(input, hx=None)`` with input (T, N, input_size) ((N, T, input_size) if
    ``batch_first``) and optional ``hx = (h_0, c_0)``, each (num_layers·D, N, H)
    (zeros when omitted; D = 2 if bidirectional). Returns
    ``output, (h_n, c_n)``: output (T, N, D·H) is the last layer's h_t for every t
    (both directions concatenated), h_n and c_n the final states of every layer and
    direction. Layer l > 0 reads the previous layer's output, with dropout between
    layers in training. Parameters: ``weight_ih_l{k}``, ``weight_hh_l{k}``,
    ``bias_ih_l{k}``, ``bias_hh_l{k}`` (plus ``_reverse``), all U(-1/√H, 1/√H).
    """

    def forward(self, input: Tensor, hx=None):
        x, unbatched, (h0, c0) = self._prepare(input, (None, None) if hx is None else hx)
        steps = x.shape[0]

        def run_direction(x, suffix, index, reverse):
            proj = self._projection(x, suffix, extra_bias=True)
            w_hh = getattr(self, "weight_hh" + suffix)
            y = LSTMRecurrence.apply(proj, h0[index], c0[index], w_hh, reverse=reverse)
            h_last = y[0] if reverse else y[steps - 1]
            return y[:steps], (h_last, y[steps])

        output, (h_n, c_n) = self._layers(x, run_direction)
        output, (h_n, c_n) = self._finish(output, (h_n, c_n), unbatched)
        return output, (h_n, c_n)


class GRU(_RNNBase):
    """Multi-layer GRU (Cho et al., 2014), as PyTorch's ``nn.GRU`` (equations in the module docstring).

    ``forward(input, hx=None)`` -> ``output, h_n``, shapes as `LSTM` without
    the cell state. Parameters ``weight_ih_l{k}`` (3H, in), ``weight_hh_l{k}`` (3H, H),
    ``bias_ih_l{k}``, ``bias_hh_l{k}``, gates stacked (r, z, n), all U(-1/√H, 1/√H).
    """

    gate_count = 3
    kind = "GRU"

    def forward(self, input: Tensor, hx=None):
        x, unbatched, (h0,) = self._prepare(input, (hx,))
        hidden = self.hidden_size

        def run_direction(x, suffix, index, reverse):
            proj = self._projection(x, suffix, extra_bias=False)
            w_hh = getattr(self, "weight_hh" + suffix)
            b_hh = getattr(self, "bias_hh" + suffix) if self.bias else _zero_bias(x, 3 * hidden)
            y = GRURecurrence.apply(proj, h0[index], w_hh, b_hh, reverse=reverse)
            return y, (y[0] if reverse else y[y.shape[0] - 1],)

        output, (h_n,) = self._layers(x, run_direction)
        output, (h_n,) = self._finish(output, (h_n,), unbatched)
        return output, h_n


# ============================================================================ helpers


def _init_uniform(module: Module, hidden_size: int) -> None:
    """PyTorch's RNN init: every weight and bias from U(-1/√H, 1/√H)."""
    bound = 1 / math.sqrt(hidden_size)
    for p in module.parameters():
        init.uniform_(p, -bound, bound)


def _check_nonlinearity(nonlinearity: str) -> None:
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")


def _to(module: Module, device, dtype) -> None:
    """PyTorch's ``device=`` / ``dtype=`` factory arguments, applied after construction."""
    if dtype is not None:
        module.to(dtype)
    if device is not None:
        module.to(device)


def _check_state(layer: str, name: str, state: Tensor, shape) -> None:
    if state.shape != shape:
        raise ValueError(f"{layer}: expected {name} of shape {shape}, got {state.shape}")


def _zeros(like: Tensor, shape) -> Tensor:
    """A constant zero tensor (no gradient) with ``like``'s dtype and device."""
    xp = get_array_module(like._data)
    return Tensor._wrap(xp.zeros(shape, dtype=like.dtype))


def _zero_bias(like: Tensor, size: int) -> Tensor:
    return _zeros(like, (size,))
