"""What the server serves: a model with a signature and a ``run(arrays) -> arrays`` method.

Two kinds: a minigrad model rebuilt from a servable file (`minigrad.load_model`),
and an ``.onnx`` file run by onnxruntime (when the ``onnx`` extra is installed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from minigrad.nn import registry
from minigrad.nn.registry import DATATYPES, TensorSpec

__all__ = ["ServedModel", "MinigradModel", "OnnxModel", "load_served_model"]


class ServedModel:
    """Base class: ``name``, ``platform``, ``inputs``/``outputs`` (`TensorSpec`), ``run``."""

    name: str
    platform: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    def validate(self, arrays: dict) -> None:
        """Checks beyond the signature; ValueError rejects the request (400)."""

    def run(self, arrays: dict) -> dict:
        """Inputs by name (batch first) -> outputs by name, as NumPy arrays."""
        raise NotImplementedError

    def metadata(self) -> dict:
        """The protocol's model metadata (``GET /v2/models/{name}``)."""
        return {"name": self.name, "versions": ["1"], "platform": self.platform,
                "inputs": [s.metadata() for s in self.inputs],
                "outputs": [s.metadata() for s in self.outputs]}


class MinigradModel(ServedModel):
    """A minigrad ``nn.Module`` built by a registered builder, run in eval mode under ``no_grad``."""

    platform = "minigrad"

    def __init__(self, name: str, module, builder: str, config: dict):
        self.name, self.module = name, module.eval()
        self.spec = registry.get_model_spec(builder)
        self.config = config
        self.inputs, self.outputs = self.spec.signature(**config)

    def validate(self, arrays: dict) -> None:
        self.spec.validate(arrays, **self.config)

    def run(self, arrays: dict) -> dict:
        import minigrad

        with minigrad.no_grad():  # grad mode is per thread: this worker's only
            result = self.module(*(minigrad.tensor(arrays[s.name]) for s in self.inputs))
        results = result if isinstance(result, (tuple, list)) else (result,)
        if len(results) != len(self.outputs):
            raise RuntimeError(f"model {self.name!r} returned {len(results)} tensors, its signature "
                               f"names {len(self.outputs)} outputs")
        return {spec.name: np.asarray(out.numpy() if hasattr(out, "numpy") else out, dtype=spec.dtype)
                for spec, out in zip(self.outputs, results)}


_ORT_TYPES = {"tensor(float)": "FP32", "tensor(double)": "FP64", "tensor(float16)": "FP16",
              "tensor(int64)": "INT64", "tensor(int32)": "INT32", "tensor(int16)": "INT16",
              "tensor(int8)": "INT8", "tensor(uint8)": "UINT8", "tensor(bool)": "BOOL"}


def _ort_spec(arg) -> TensorSpec:
    if arg.type not in _ORT_TYPES:
        raise ValueError(f"ONNX tensor {arg.name!r} has type {arg.type}, which the server does "
                         f"not map to a protocol datatype")
    shape = tuple(d if isinstance(d, int) and d > 0 else -1 for d in arg.shape)
    return TensorSpec(arg.name, _ORT_TYPES[arg.type], shape)


class OnnxModel(ServedModel):
    """An ``.onnx`` file run by onnxruntime on the CPU (one thread pool per model)."""

    platform = "onnxruntime_onnx"

    def __init__(self, name: str, path):
        try:
            import onnxruntime
        except ImportError:
            raise ImportError("serving .onnx files needs onnxruntime: pip install "
                              "'minigrad-edu[onnx]'") from None
        self.name = name
        self.session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        self.inputs = tuple(_ort_spec(a) for a in self.session.get_inputs())
        self.outputs = tuple(_ort_spec(a) for a in self.session.get_outputs())

    def run(self, arrays: dict) -> dict:
        names = [s.name for s in self.outputs]
        results = self.session.run(names, {s.name: arrays[s.name] for s in self.inputs})
        return dict(zip(names, results))


def load_served_model(name: str, path) -> ServedModel:
    """A servable file (``.npz``/``.safetensors`` from ``save_model``) or an ``.onnx`` file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model {name!r}: no file at {path}")
    if path.suffix.lower() == ".onnx":
        return OnnxModel(name, path)
    from minigrad.models import load_model

    module = load_model(path)
    builder, config = registry.model_config(module)
    return MinigradModel(name, module, builder, config)


assert set(_ORT_TYPES.values()) <= set(DATATYPES)
