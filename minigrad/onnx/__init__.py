"""Export minigrad models to ONNX: ``minigrad.onnx.export(model, example_input, "model.onnx")``.

ONNX is the exchange format of the inference ecosystem: onnxruntime, TensorRT,
OpenVINO, Triton and the browsers' runtimes all read it. The exporter walks the
model's modules (it does not trace Python code) and writes, for each layer it
knows, the equivalent ONNX operators with the weights as initializers:

| minigrad                                   | ONNX (opset 17)                                 |
|--------------------------------------------|-------------------------------------------------|
| ``Sequential``                             | the children, in order                          |
| ``Linear``                                 | ``MatMul`` (+ ``Add``)                          |
| ``Conv2d``, ``MaxPool2d``, ``AvgPool2d``   | ``Conv``, ``MaxPool``, ``AveragePool``          |
| ``AdaptiveAvgPool2d(1)``                   | ``GlobalAveragePool``                           |
| ``BatchNorm1d/2d`` (eval mode)             | ``BatchNormalization`` with the running stats   |
| ``LayerNorm``                              | ``LayerNormalization``                          |
| ``Embedding``                              | ``Gather``                                      |
| ``ReLU``, ``Sigmoid``, ``Tanh``, ``LeakyReLU``, ``Softmax``, ``LogSoftmax`` | the same names |
| ``GELU`` (exact or tanh)                   | its formula with ``Erf`` or ``Tanh``            |
| ``Dropout``, ``Identity``                  | ``Identity`` (inference)                        |
| ``Flatten()``                              | ``Flatten(axis=1)``                             |
| ``TransformerLM`` (and its blocks' ``MultiheadAttention``) | projections, causal ``Softmax`` attention |
| chapter 7's ``LSTMClassifier`` (two inputs)  | ``Gather``, ``LSTM`` with ``sequence_lens``, readout |

The batch dimension (0) of every input and output is dynamic by default, like
``torch.onnx.export(..., dynamic_axes=...)``; pass ``dynamic_axes`` to make more
dimensions dynamic (e.g. the sequence length of a language model). The result is
checked with ``onnx.checker`` (full check, with shape inference) before it is
written, atomically. Compare it with onnxruntime:

    import onnxruntime as ort
    session = ort.InferenceSession("model.onnx")
    session.run(None, {"input": x.numpy()})[0]       # ~ model(x).numpy()

An unsupported layer raises ``NotImplementedError`` naming it. Needs the ``onnx``
extra (``pip install 'minigrad-edu[onnx]'``).
"""

from __future__ import annotations

import math

import numpy as np

from minigrad import nn
from minigrad.io import atomic_write
from minigrad.nn.registry import LSTMClassifier
from minigrad.tensor import Tensor

__all__ = ["export", "SUPPORTED"]

DEFAULT_OPSET = 17


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("minigrad.onnx needs the onnx package: pip install 'minigrad-edu[onnx]'") from None
    return onnx


def _numpy(t) -> np.ndarray:
    return np.asarray(t.detach().numpy() if isinstance(t, Tensor) else t)


class _Graph:
    """Nodes and initializers under construction, with unique names."""

    def __init__(self, onnx):
        self.onnx, self.helper = onnx, onnx.helper
        self.nodes, self.initializers, self._count = [], [], 0

    def fresh(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, value, hint: str = "const", dtype=None) -> str:
        array = np.asarray(value, dtype=dtype)
        name = self.fresh(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, inputs: list, hint: str | None = None, outputs: int = 1, **attrs):
        names = [self.fresh(hint or op_type.lower()) for _ in range(outputs)]
        self.nodes.append(self.helper.make_node(op_type, list(inputs), names, **attrs))
        return names[0] if outputs == 1 else names


# ----------------------------------------------------------------------------- converters


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _linear(m, g, x, name):
    y = g.op("MatMul", [x, g.const(_numpy(m.weight).T, f"{name}.weight_t")], f"{name}.matmul")
    if m.bias is not None:
        y = g.op("Add", [y, g.const(_numpy(m.bias), f"{name}.bias")], name)
    return y


def _conv2d(m, g, x, name):
    inputs = [x, g.const(_numpy(m.weight), f"{name}.weight")]
    if m.bias is not None:
        inputs.append(g.const(_numpy(m.bias), f"{name}.bias"))
    if isinstance(m.padding, str) or getattr(m, "padding_mode", "zeros") != "zeros":
        raise NotImplementedError(f"{name}: Conv2d with padding={m.padding!r} or padding_mode="
                                  f"{getattr(m, 'padding_mode', 'zeros')!r} is not exported; use numeric "
                                  "zero padding")
    ph, pw = _pair(m.padding)
    return g.op("Conv", inputs, name, kernel_shape=list(_pair(m.kernel_size)),
                strides=list(_pair(m.stride)), pads=[ph, pw, ph, pw], dilations=list(_pair(m.dilation)),
                group=getattr(m, "groups", 1))


def _pool(op_type, **extra):
    def convert(m, g, x, name):
        if getattr(m, "return_indices", False) or getattr(m, "divisor_override", None):
            raise NotImplementedError(f"{name}: {type(m).__name__} with return_indices or "
                                      "divisor_override is not exported")
        k = _pair(m.kernel_size)
        s = _pair(m.stride if m.stride is not None else m.kernel_size)
        ph, pw = _pair(m.padding)
        options = dict(extra, ceil_mode=int(bool(getattr(m, "ceil_mode", False))))
        if op_type == "MaxPool":
            options["dilations"] = list(_pair(getattr(m, "dilation", 1)))
        else:
            options["count_include_pad"] = int(bool(getattr(m, "count_include_pad", True)))
        return g.op(op_type, [x], name, kernel_shape=list(k), strides=list(s), pads=[ph, pw, ph, pw],
                    **options)
    return convert


def _adaptive_avg_pool(m, g, x, name):
    if _pair(m.output_size) != (1, 1):
        raise NotImplementedError(f"{name}: AdaptiveAvgPool2d({m.output_size}) is exported only "
                                  "for output size 1 (GlobalAveragePool)")
    return g.op("GlobalAveragePool", [x], name)


def _batch_norm(m, g, x, name):
    if m.training:
        raise ValueError(f"{name}: BatchNorm is in training mode; call model.eval() before export")
    if m.running_mean is None:
        raise NotImplementedError(f"{name}: BatchNorm without running statistics "
                                  "(track_running_stats=False) uses batch statistics; not exported")
    c = m.num_features
    scale = _numpy(m.weight) if m.weight is not None else np.ones(c, np.float32)
    bias = _numpy(m.bias) if m.bias is not None else np.zeros(c, np.float32)
    inputs = [x] + [g.const(a, f"{name}.{k}") for a, k in
                    ((scale, "weight"), (bias, "bias"), (_numpy(m.running_mean), "running_mean"),
                     (_numpy(m.running_var), "running_var"))]
    return g.op("BatchNormalization", inputs, name, epsilon=float(m.eps))


def _layer_norm(m, g, x, name):
    shape = m.normalized_shape
    weight = _numpy(m.weight) if m.weight is not None else np.ones(shape, np.float32)
    bias = _numpy(m.bias) if m.bias is not None else np.zeros(shape, np.float32)
    return g.op("LayerNormalization", [x, g.const(weight, f"{name}.weight"), g.const(bias, f"{name}.bias")],
                name, axis=-len(shape), epsilon=float(m.eps))


def _embedding(m, g, x, name):
    return g.op("Gather", [g.const(_numpy(m.weight), f"{name}.weight"), x], name, axis=0)


def _gelu(g, x, name, approximate: str):
    half = g.op("Mul", [x, g.const(np.float32(0.5))], f"{name}.half")
    if approximate == "tanh":  # x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = g.op("Mul", [g.op("Mul", [x, x]), x])
        inner = g.op("Add", [x, g.op("Mul", [cube, g.const(np.float32(0.044715))])])
        t = g.op("Tanh", [g.op("Mul", [inner, g.const(np.float32(math.sqrt(2 / math.pi)))])])
    else:  # x/2 (1 + erf(x / sqrt 2))
        t = g.op("Erf", [g.op("Mul", [x, g.const(np.float32(1 / math.sqrt(2)))])])
    return g.op("Mul", [half, g.op("Add", [t, g.const(np.float32(1.0))])], name)


def _flatten(m, g, x, name):
    if (m.start_dim, m.end_dim) != (1, -1):
        raise NotImplementedError(f"{name}: only Flatten(start_dim=1, end_dim=-1) is exported")
    return g.op("Flatten", [x], name, axis=1)


def _sequential(m, g, x, name):
    for child_name, child in m.named_children():
        x = _convert(child, g, x, f"{name}.{child_name}" if name else child_name)
    return x


def _attention(m, g, x, name, causal: bool):
    """Self-attention of ``MultiheadAttention(batch_first=True)`` on x (N, L, E)."""
    if not m.batch_first or m.in_proj_weight is None:
        raise NotImplementedError(f"{name}: MultiheadAttention is exported for batch_first=True "
                                  "self-attention with kdim = vdim = embed_dim")
    e, h, d = m.embed_dim, m.num_heads, m.head_dim
    qkv = g.op("MatMul", [x, g.const(_numpy(m.in_proj_weight).T, f"{name}.in_proj_weight_t")])
    if m.in_proj_bias is not None:
        qkv = g.op("Add", [qkv, g.const(_numpy(m.in_proj_bias), f"{name}.in_proj_bias")])
    q, k, v = g.op("Split", [qkv, g.const(np.array([e, e, e], np.int64))], f"{name}.split",
                   outputs=3, axis=2)
    heads_shape = g.const(np.array([0, 0, h, d], np.int64))  # 0: keep that dimension
    q, k, v = (g.op("Reshape", [t, heads_shape]) for t in (q, k, v))
    q = g.op("Transpose", [q], perm=[0, 2, 1, 3])   # (N, H, L, d)
    kt = g.op("Transpose", [k], perm=[0, 2, 3, 1])  # (N, H, d, L)
    v = g.op("Transpose", [v], perm=[0, 2, 1, 3])
    scores = g.op("Mul", [g.op("MatMul", [q, kt]), g.const(np.float32(1 / math.sqrt(d)))], f"{name}.scores")
    if causal:  # True above the diagonal: key j > query i is hidden
        length = g.op("Gather", [g.op("Shape", [x]), g.const(np.array([1], np.int64))])
        ones = g.op("ConstantOfShape", [g.op("Concat", [length, length], axis=0)],
                    value=g.onnx.numpy_helper.from_array(np.ones(1, np.float32)))
        above = g.op("Cast", [g.op("Trilu", [ones, g.const(np.array(1, np.int64))], upper=1)],
                     to=g.onnx.TensorProto.BOOL)
        scores = g.op("Where", [above, g.const(np.float32(-np.inf)), scores], f"{name}.masked")
    weights = g.op("Softmax", [scores], f"{name}.weights", axis=-1)
    out = g.op("Transpose", [g.op("MatMul", [weights, v])], perm=[0, 2, 1, 3])
    out = g.op("Reshape", [out, g.const(np.array([0, 0, e], np.int64))])
    return _linear(m.out_proj, g, out, f"{name}.out_proj")


def _transformer_block(m, g, x, name):
    a = _attention(m.attn, g, _layer_norm(m.ln1, g, x, f"{name}.ln1"), f"{name}.attn", m.causal)
    x = g.op("Add", [x, a], f"{name}.residual1")
    hidden = _gelu(g, _linear(m.fc1, g, _layer_norm(m.ln2, g, x, f"{name}.ln2"), f"{name}.fc1"),
                   f"{name}.gelu", "tanh")
    return g.op("Add", [x, _linear(m.fc2, g, hidden, f"{name}.fc2")], f"{name}.residual2")


def _transformer_lm(m, g, idx, name):
    p = f"{name}." if name else ""
    h = _embedding(m.tok_emb, g, idx, f"{p}tok_emb")
    length = g.op("Gather", [g.op("Shape", [idx]), g.const(np.array([1], np.int64))])
    positions = g.op("Slice", [g.const(_numpy(m.pos_emb.weight), f"{p}pos_emb.weight"),
                               g.const(np.array([0], np.int64)), length, g.const(np.array([0], np.int64))])
    h = g.op("Add", [h, positions], f"{p}embed")
    for i, block in enumerate(m.blocks):
        h = _transformer_block(block, g, h, f"{p}blocks.{i}")
    return _linear(m.head, g, _layer_norm(m.ln_f, g, h, f"{p}ln_f"), f"{p}head")


def _onnx_gates(w: np.ndarray) -> np.ndarray:
    """PyTorch stacks the LSTM gates as (i, f, g, o); ONNX as (i, o, f, c)."""
    i, f, gate, o = np.split(w, 4, axis=0)
    return np.concatenate([i, o, f, gate], axis=0)


def _lstm_classifier(m, g, inputs, name):
    """Chapter 7's classifier: Embedding -> LSTM (with the true lengths) -> readout -> Linear."""
    if len(inputs) != 2:
        raise NotImplementedError(f"{name}: LSTMClassifier is exported with two inputs, tokens and lengths")
    tokens, lengths = inputs
    lstm = m.lstm
    if lstm.num_layers != 1 or lstm.bidirectional or not lstm.batch_first:
        raise NotImplementedError(f"{name}: LSTM exported for one layer, one direction, batch_first")
    p = f"{name}." if name else ""
    x = g.op("Transpose", [_embedding(m.embed, g, tokens, f"{p}embed")], perm=[1, 0, 2])  # (T, N, D)
    w = g.const(_onnx_gates(_numpy(lstm.weight_ih_l0))[None], f"{p}lstm.W")
    r = g.const(_onnx_gates(_numpy(lstm.weight_hh_l0))[None], f"{p}lstm.R")
    inputs = [x, w, r]
    if getattr(lstm, "bias_ih_l0", None) is not None:
        inputs.append(g.const(np.concatenate([_onnx_gates(_numpy(lstm.bias_ih_l0)),
                                              _onnx_gates(_numpy(lstm.bias_hh_l0))])[None], f"{p}lstm.B"))
    else:
        inputs.append("")
    # with sequence_lens each row stops at its true length: Y_h is its state there and Y is
    # 0 after it, which are the classifier's two readouts
    inputs.append(g.op("Cast", [lengths], to=g.onnx.TensorProto.INT32))
    y, y_h = g.op("LSTM", inputs, f"{p}lstm", outputs=2, hidden_size=lstm.hidden_size)
    if m.readout == "last step":
        features = g.op("Squeeze", [y_h, g.const(np.array([0], np.int64))])
    else:
        total = g.op("ReduceSum", [y, g.const(np.array([0, 1], np.int64))], keepdims=0)  # (N, H)
        count = g.op("Unsqueeze", [g.op("Cast", [lengths], to=g.onnx.TensorProto.FLOAT),
                                   g.const(np.array([1], np.int64))])
        features = g.op("Div", [total, count])
    return _linear(m.head, g, features, f"{p}head")


def _simple(op_type, **attrs_of):
    def convert(m, g, x, name):
        return g.op(op_type, [x], name, **{k: f(m) for k, f in attrs_of.items()})
    return convert


SUPPORTED = {
    nn.Sequential: _sequential,
    nn.Linear: _linear,
    nn.Conv2d: _conv2d,
    nn.MaxPool2d: _pool("MaxPool"),
    nn.AvgPool2d: _pool("AveragePool", count_include_pad=1),
    nn.AdaptiveAvgPool2d: _adaptive_avg_pool,
    nn.BatchNorm1d: _batch_norm,
    nn.BatchNorm2d: _batch_norm,
    nn.LayerNorm: _layer_norm,
    nn.Embedding: _embedding,
    nn.ReLU: _simple("Relu"),
    nn.Sigmoid: _simple("Sigmoid"),
    nn.Tanh: _simple("Tanh"),
    nn.LeakyReLU: _simple("LeakyRelu", alpha=lambda m: float(m.negative_slope)),
    nn.Softmax: _simple("Softmax", axis=lambda m: int(m.dim)),
    nn.LogSoftmax: _simple("LogSoftmax", axis=lambda m: int(m.dim)),
    nn.GELU: lambda m, g, x, name: _gelu(g, x, name, m.approximate),
    nn.Dropout: _simple("Identity"),
    nn.Identity: _simple("Identity"),
    nn.Flatten: _flatten,
    nn.TransformerBlock: _transformer_block,
    nn.TransformerLM: _transformer_lm,
}


# Models with several inputs: converter(module, graph, input names, name)
MULTI_INPUT = {LSTMClassifier: _lstm_classifier}


def _convert(module, g, x, name):
    convert = SUPPORTED.get(type(module))
    if convert is None:
        raise NotImplementedError(
            f"minigrad.onnx.export: no ONNX conversion for {type(module).__name__}"
            f"{f' (at {name!r})' if name else ''}; supported: "
            f"{sorted(t.__name__ for t in SUPPORTED)}")
    return convert(module, g, x, name or type(module).__name__.lower())


# ----------------------------------------------------------------------------- export

_ELEM = {np.dtype(np.float32): "FLOAT", np.dtype(np.float64): "DOUBLE", np.dtype(np.int64): "INT64",
         np.dtype(np.int32): "INT32", np.dtype(np.float16): "FLOAT16", np.dtype(np.bool_): "BOOL"}


def _value_info(onnx, name: str, array: np.ndarray, dynamic: dict):
    if array.dtype not in _ELEM:
        raise TypeError(f"minigrad.onnx.export: {name!r} has dtype {array.dtype}, not exportable")
    shape = [dynamic.get(i, size) for i, size in enumerate(array.shape)]
    return onnx.helper.make_tensor_value_info(name, getattr(onnx.TensorProto, _ELEM[array.dtype]), shape)


def export(model, args, f, *, input_names=None, output_names=None, opset_version: int = DEFAULT_OPSET,
           dynamic_axes: dict | None = None, opset: int | None = None):
    """Write ``model`` as an ONNX file ``f`` (a path); return the ``onnx.ModelProto``.

    Args:
        model: a module built from the layers in `SUPPORTED` (in eval mode: BatchNorm
            uses its running statistics, Dropout is the identity).
        args: an example input (Tensor or array), or a tuple of them for a model with
            several inputs (chapter 7's ``LSTMClassifier``: tokens and lengths); used for
            the dtypes, the fixed dimensions, and the output's shape.
        f: the file to write (atomically).
        input_names: the graph inputs' names (default ``["input"]``, or ``input0``, ``input1``...).
        output_names: the graph output's name, in a list (default ``["output"]``).
        opset_version: the ONNX opset (at least 17, for ``LayerNormalization``); ``opset`` is an alias.
        dynamic_axes: ``{name: {axis: "symbol"}}`` as in ``torch.onnx.export``; by
            default axis 0 of every input and output is ``"batch"``.
    """
    onnx = _onnx()
    opset_version = opset if opset is not None else opset_version
    if opset_version < 17:
        raise ValueError(f"minigrad.onnx.export: opset {opset_version} is too old; use 17 or later")
    examples = [_numpy(a) for a in (args if isinstance(args, (tuple, list)) else (args,))]
    multi = MULTI_INPUT.get(type(model))
    if len(examples) != 1 and multi is None:
        raise NotImplementedError(f"minigrad.onnx.export: {type(model).__name__} is exported with "
                                  "one input")
    default_names = ["input"] if len(examples) == 1 else [f"input{i}" for i in range(len(examples))]
    input_names = list(input_names or default_names)
    output_names = list(output_names or ["output"])
    if len(input_names) != len(examples) or len(output_names) != 1:
        raise ValueError(f"minigrad.onnx.export: {len(examples)} example inputs need as many "
                         f"input_names (got {input_names}) and one output name (got {output_names})")
    was_training = model.training
    model.eval()
    try:
        import minigrad

        with minigrad.no_grad():
            expected = _numpy(model(*(Tensor(e) for e in examples)))
        g = _Graph(onnx)
        out = multi(model, g, input_names, "") if multi else _convert(model, g, input_names[0], "")
    finally:
        model.train(was_training)
    g.nodes.append(onnx.helper.make_node("Identity", [out], [output_names[0]]))
    if dynamic_axes is None:
        dynamic_axes = {name: {0: "batch"} for name in input_names + output_names}
    graph = onnx.helper.make_graph(
        g.nodes, type(model).__name__,
        [_value_info(onnx, n, e, dynamic_axes.get(n, {})) for n, e in zip(input_names, examples)],
        [_value_info(onnx, output_names[0], expected, dynamic_axes.get(output_names[0], {}))],
        initializer=g.initializers)
    proto = onnx.helper.make_model(graph, producer_name="minigrad",
                                   opset_imports=[onnx.helper.make_opsetid("", opset_version)])
    proto.ir_version = min(proto.ir_version, 8)  # readable by onnxruntime releases of the last years
    onnx.checker.check_model(proto, full_check=True)
    with atomic_write(f) as file:
        file.write(proto.SerializeToString())
    return proto
