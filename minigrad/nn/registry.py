"""Named model builders: the only code a saved model file may ask for.

A *servable* file (`minigrad.save_model`) holds the weights plus the name of
a builder registered here and the keyword arguments to call it with. Loading
(`minigrad.load_model`) looks the name up in this registry, calls the
builder, and loads the weights into what it returns. A file can only *name* a
builder; it never holds an import path or pickled code, so opening a model file
from someone else cannot run their code.

The API follows torchvision's model registry (``torchvision.models``):

>>> from minigrad.nn import registry
>>> registry.list_models()
['lstm-classifier', 'mnist-cnn', 'mnist-mlp', 'transformer-lm']
>>> model = registry.get_model("mnist-mlp")          # a fresh, randomly initialised model
>>> registry.get_model_spec("mnist-mlp").inputs
(TensorSpec(name='input', datatype='FP32', shape=(-1, 1, 28, 28), low=None, high=None),)

Registering your own architecture:

    @minigrad.nn.register_model("my-net", inputs=[("x", "FP32", (-1, 16))],
                                outputs=[("y", "FP32", (-1, 2))])
    def my_net(hidden: int = 32):
        return nn.Sequential(nn.Linear(16, hidden), nn.ReLU(), nn.Linear(hidden, 2))

Beyond torchvision, each entry declares the model's *signature*: the name,
datatype (the Open Inference Protocol's names, ``"FP32"``, ``"INT64"``...) and
shape of each input and output, ``-1`` for a dimension of any size (the batch
first). ``python -m minigrad.serve`` publishes it as the model's metadata and
checks every request against it. ``inputs``/``outputs`` may be a function of the
builder's keyword arguments when the shapes depend on them.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from minigrad import nn
from minigrad.tensor import Tensor

__all__ = [
    "TensorSpec",
    "ModelSpec",
    "register_model",
    "get_model",
    "get_model_builder",
    "get_model_spec",
    "list_models",
    "model_config",
]

# Open Inference Protocol datatype names -> NumPy dtypes (the ones minigrad can hold).
DATATYPES = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype(np.uint8),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
}


@dataclass(frozen=True)
class TensorSpec:
    """One input or output of a model: name, datatype and shape (``-1`` = any size).

    ``low``/``high`` optionally bound an input's values (inclusive), e.g. token ids
    in ``0 .. vocab_size - 1``; the server rejects a request outside them.
    """

    name: str
    datatype: str
    shape: tuple
    low: float | None = None
    high: float | None = None

    def __post_init__(self):
        if self.datatype not in DATATYPES:
            raise ValueError(f"TensorSpec {self.name!r}: unknown datatype {self.datatype!r}; "
                             f"expected one of {sorted(DATATYPES)}")
        shape = tuple(int(d) for d in self.shape)
        if not shape or any(d < -1 or d == 0 for d in shape):
            raise ValueError(f"TensorSpec {self.name!r}: shape {self.shape} must be a non-empty "
                             "tuple of positive sizes or -1")
        object.__setattr__(self, "shape", shape)

    @property
    def dtype(self) -> np.dtype:
        return DATATYPES[self.datatype]

    def metadata(self) -> dict:
        """The Open Inference Protocol's tensor metadata: ``{"name", "datatype", "shape"}``."""
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}


@dataclass(frozen=True)
class ModelSpec:
    """A registered builder: ``builder(**config) -> Module`` and its signature."""

    name: str
    builder: Callable
    inputs_fn: Callable
    outputs_fn: Callable
    description: str = ""
    validate_fn: Callable | None = None

    def validate(self, arrays: dict, **config) -> None:
        """Checks across inputs beyond the signature (ValueError naming the problem), if any."""
        if self.validate_fn is not None:
            self.validate_fn(arrays, **config)

    def signature(self, **config) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
        """(inputs, outputs) for the model built with ``config``."""
        return _as_specs(self.inputs_fn(**config)), _as_specs(self.outputs_fn(**config))

    @property
    def inputs(self) -> tuple[TensorSpec, ...]:
        """The inputs with the builder's default arguments."""
        return self.signature()[0]

    @property
    def outputs(self) -> tuple[TensorSpec, ...]:
        return self.signature()[1]


_REGISTRY: dict[str, ModelSpec] = {}


def _as_specs(items) -> tuple[TensorSpec, ...]:
    specs = tuple(item if isinstance(item, TensorSpec) else TensorSpec(*item) for item in items)
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"tensor names must be unique, got {names}")
    return specs


def _signature_fn(value, name: str, what: str) -> Callable:
    if value is None:
        raise TypeError(f"register_model({name!r}): {what}= is required (a list of "
                        "(name, datatype, shape) or a function of the builder's arguments)")
    if callable(value):
        return value
    fixed = _as_specs(value)  # validated now, at registration
    return lambda **config: fixed


def register_model(name: str, *, inputs=None, outputs=None, validate: Callable | None = None,
                   description: str = "", overwrite: bool = False) -> Callable:
    """Decorator: register ``builder(**config) -> Module`` under ``name``.

    Args:
        name: the name a model file refers to (e.g. ``"mnist-mlp"``).
        inputs: the model's inputs, a sequence of `TensorSpec` or
            ``(name, datatype, shape)`` tuples in the order of ``forward``'s arguments;
            or a function ``f(**config)`` returning one.
        outputs: the same for the tensors ``forward`` returns, in order.
        validate: optional ``validate(arrays, **config)`` run by the server on each request's
            NumPy inputs (a dict by input name); raises ValueError to reject it (HTTP 400).
        description: one line for listings.
        overwrite: replace an existing entry of that name (default: an error).
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"register_model: name must be a non-empty string, got {name!r}")
    inputs_fn = _signature_fn(inputs, name, "inputs")
    outputs_fn = _signature_fn(outputs, name, "outputs")

    def decorator(builder: Callable) -> Callable:
        if name in _REGISTRY and not overwrite:
            raise ValueError(f"register_model: a builder named {name!r} is already registered "
                             "(pass overwrite=True to replace it)")
        doc = description or (inspect.getdoc(builder) or "").split("\n")[0]
        _REGISTRY[name] = ModelSpec(name, builder, inputs_fn, outputs_fn, doc, validate)
        return builder

    return decorator


def _lookup(name: str) -> ModelSpec:
    if not isinstance(name, str) or name not in _REGISTRY:
        raise KeyError(f"no model builder registered under the name {name!r}; "
                       f"registered: {list_models()}")
    return _REGISTRY[name]


def list_models() -> list[str]:
    """The registered names, sorted."""
    return sorted(_REGISTRY)


def get_model_builder(name: str) -> Callable:
    """The builder function registered under ``name`` (KeyError if none)."""
    return _lookup(name).builder


def get_model_spec(name: str) -> ModelSpec:
    """The `ModelSpec` registered under ``name`` (KeyError if none)."""
    return _lookup(name)


def _check_config(name: str, config: dict) -> dict:
    """``config`` must be JSON (it is stored in the model file) and accepted by the builder."""
    try:
        text = json.dumps(config, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise TypeError(f"model {name!r}: the builder's arguments must be JSON values "
                        f"(numbers, strings, booleans, None, lists, dicts): {error}") from None
    params = inspect.signature(_lookup(name).builder).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(config) - set(params))
        if unknown:
            raise TypeError(f"model {name!r}: unexpected builder arguments {unknown}; "
                            f"it accepts {list(params)}")
    return json.loads(text)


def get_model(name: str, **config):
    """Build a fresh model: ``get_model_builder(name)(**config)``, remembering name and config.

    The name and arguments are kept on the module (see `model_config`) so that
    ``minigrad.save_model(model, path)`` needs no ``builder=``.
    """
    config = _check_config(name, config)
    model = _lookup(name).builder(**config)
    if not isinstance(model, nn.Module):
        raise TypeError(f"model builder {name!r} returned a {type(model).__name__}, "
                        "expected an nn.Module")
    object.__setattr__(model, "_minigrad_builder", (name, config))
    return model


def model_config(model) -> tuple[str, dict] | None:
    """``(builder name, config)`` of a model made by `get_model` or ``load_model``, else None."""
    return getattr(model, "_minigrad_builder", None)


# ----------------------------------------------------------------------------- built-in builders


@register_model("mnist-mlp", inputs=[("input", "FP32", (-1, 1, 28, 28))],
                outputs=[("logits", "FP32", (-1, 10))])
def mnist_mlp(hidden: int = 128, dropout: float = 0.2) -> nn.Module:
    """The MLP of ``python -m minigrad.examples.mnist``: 784-128-10, ReLU, dropout; normalised pixels."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, hidden), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(hidden, 10),
    )


@register_model("mnist-cnn", inputs=[("input", "FP32", (-1, 1, 28, 28))],
                outputs=[("logits", "FP32", (-1, 10))])
def mnist_cnn(channels: Sequence[int] = (32, 64), hidden: int = 128, dropout: float = 0.5) -> nn.Module:
    """The CNN of ``python -m minigrad.examples.mnist --model cnn``: two conv+ReLU+max-pool blocks."""
    c1, c2 = (int(c) for c in channels)
    return nn.Sequential(
        nn.Conv2d(1, c1, 3), nn.ReLU(), nn.MaxPool2d(2),    # 28 -> 26 -> 13
        nn.Conv2d(c1, c2, 3), nn.ReLU(), nn.MaxPool2d(2),   # 13 -> 11 -> 5
        nn.Flatten(),
        nn.Linear(c2 * 5 * 5, hidden), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(hidden, 10),
    )


class LSTMClassifier(nn.Module):
    """Chapter 7's document classifier: Embedding -> LSTM -> readout -> Linear to class logits.

    ``forward(tokens, lengths)``: ``tokens`` (N, T) token ids padded with ``padding_idx``
    on the right, ``lengths`` (N,) the true lengths (all ``T`` when omitted). The
    readout is the state at each sequence's true last token (``"last step"``) or
    the mean over its valid steps (``"masked mean"``). The sub-module names
    (``embed``, ``lstm``, ``dropout``, ``head``) are chapter 7's, so its weights load.
    """

    READOUTS = ("last step", "masked mean")

    def __init__(self, vocab_size: int, embed_dim: int, hidden_size: int, num_classes: int,
                 readout: str = "last step", dropout: float = 0.3, padding_idx: int = 0):
        super().__init__()
        if readout not in self.READOUTS:
            raise ValueError(f"LSTMClassifier: readout must be one of {self.READOUTS}, got {readout!r}")
        self.readout = readout
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
        self.lstm = nn.LSTM(embed_dim, hidden_size, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, tokens, lengths=None):
        h, _ = self.lstm(self.dropout(self.embed(tokens)))
        n, steps = h.shape[0], h.shape[1]
        if lengths is None:
            lengths = np.full(n, steps, dtype=np.int64)
        lengths = np.asarray(lengths._data if isinstance(lengths, Tensor) else lengths).astype(np.int64)
        if self.readout == "last step":
            features = h[np.arange(n), lengths - 1]
        else:
            mask = (np.arange(steps)[None, :] < lengths[:, None]).astype(h.dtype)
            total = (h * Tensor(mask[:, :, None], device=h.device)).sum(dim=1)
            features = total / Tensor(lengths[:, None].astype(h.dtype), device=h.device)
        return self.head(self.dropout(features))

    def extra_repr(self) -> str:
        return f"readout={self.readout!r}"


def _check_lengths(arrays: dict, **config) -> None:
    steps = arrays["tokens"].shape[1]
    lengths = arrays["lengths"]
    if lengths.shape[0] != arrays["tokens"].shape[0]:
        raise ValueError(f"'lengths' has {lengths.shape[0]} rows but 'tokens' has "
                         f"{arrays['tokens'].shape[0]}")
    if lengths.size and (lengths.min() < 1 or lengths.max() > steps):
        raise ValueError(f"'lengths' must lie in 1..{steps} (the length of 'tokens'), got "
                         f"values from {lengths.min()} to {lengths.max()}")


@register_model(
    "lstm-classifier",
    inputs=lambda vocab_size, **_: [TensorSpec("tokens", "INT64", (-1, -1), 0, vocab_size - 1),
                                    TensorSpec("lengths", "INT64", (-1,), 1, None)],
    outputs=lambda num_classes, **_: [("logits", "FP32", (-1, num_classes))],
    validate=_check_lengths,
)
def lstm_classifier(vocab_size: int, num_classes: int, embed_dim: int = 64, hidden_size: int = 128,
                    readout: str = "last step", dropout: float = 0.3, padding_idx: int = 0):
    """Chapter 7's LSTM document classifier (`LSTMClassifier`)."""
    return LSTMClassifier(vocab_size, embed_dim, hidden_size, num_classes, readout, dropout,
                          padding_idx)


def _check_max_len(arrays: dict, max_len: int = 256, **config) -> None:
    if arrays["input_ids"].shape[1] > max_len:
        raise ValueError(f"'input_ids' has {arrays['input_ids'].shape[1]} positions, more than "
                         f"the model's max_len {max_len}")


@register_model(
    "transformer-lm",
    inputs=lambda vocab_size, **_: [TensorSpec("input_ids", "INT64", (-1, -1), 0, vocab_size - 1)],
    outputs=lambda vocab_size, **_: [("logits", "FP32", (-1, -1, vocab_size))],
    validate=_check_max_len,
)
def transformer_lm(vocab_size: int, d_model: int = 128, n_heads: int = 4, n_layers: int = 2,
                   d_ff: int = 512, max_len: int = 256, dropout: float = 0.0):
    """The decoder-only `TransformerLM` of chapter 8."""
    return nn.TransformerLM(vocab_size, d_model, n_heads, n_layers, d_ff, max_len, dropout)
