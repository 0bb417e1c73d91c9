"""The Open Inference Protocol v2 (KServe / Triton REST) request and response bodies, in JSON.

An inference request is

    {"id": "optional", "inputs": [{"name": "input", "shape": [2, 1, 28, 28],
                                   "datatype": "FP32", "data": [...]}],
     "outputs": [{"name": "logits"}]}            # optional: which outputs to return

where ``data`` holds the tensor's elements in row-major order, flat or nested as
the shape. `parse_request` checks it against the model's signature and
returns NumPy arrays; every problem raises `ProtocolError` with the HTTP
status and a message that names the field, the shape or the datatype at fault.
"""

from __future__ import annotations

import json
import math

import numpy as np

from minigrad.nn.registry import DATATYPES, TensorSpec

__all__ = ["ProtocolError", "parse_json", "parse_request", "encode_outputs", "dumps"]

MAX_RANK = 8  # deepest tensor accepted; also bounds the recursion over nested data


class ProtocolError(Exception):
    """A request the server refuses: ``status`` (400, 404, 413, 503...) and a message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def parse_json(body: bytes):
    """Decode a JSON body; 400 for invalid UTF-8 or JSON, NaN/Infinity, too deep or too big numbers."""
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except RecursionError:
        raise ProtocolError(400, "the body is not valid JSON: nested too deeply") from None
    except UnicodeDecodeError as error:
        raise ProtocolError(400, f"the body is not valid UTF-8 JSON: {error}") from None
    except ValueError as error:  # JSONDecodeError, NaN/Infinity, integers of > 4300 digits
        raise ProtocolError(400, f"the body is not valid JSON: {error}") from None


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _flatten(data, shape: tuple, field: str, out: list, depth: int = 0) -> None:
    """Append the elements of nested ``data`` to ``out``, checking it is nested as ``shape``."""
    if depth == len(shape):
        if isinstance(data, list):
            raise ProtocolError(400, f"{field}: 'data' is nested deeper than shape {list(shape)}")
        out.append(data)
        return
    if not isinstance(data, list):
        raise ProtocolError(400, f"{field}: 'data' is nested less deeply than shape {list(shape)}")
    if len(data) != shape[depth]:
        raise ProtocolError(400, f"{field}: 'data' has {len(data)} entries at depth {depth}, "
                                 f"shape {list(shape)} says {shape[depth]}")
    if depth == len(shape) - 1 and list not in set(map(type, data)):
        out.extend(data)
        return
    for item in data:
        _flatten(item, shape, field, out, depth + 1)


def _describe(value) -> str:
    """A short JSON rendering of one element, for error messages (never recursive)."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, str):
        return json.dumps(value[:20])
    return json.dumps(value)  # null, true, false, or a number


_ALLOWED = {"BOOL": ({bool}, "true or false"), "FP": ({int, float}, "a number"),
            "INT": ({int}, "an integer")}


def _to_array(values: list, spec: TensorSpec, shape: tuple, field: str, types=None) -> np.ndarray:
    """The flat JSON values as an array of ``spec``'s dtype, after checking each value's type.

    ``types`` is ``set(map(type, values))`` when the caller has it already.
    """
    kind = spec.datatype
    allowed, expected = _ALLOWED["BOOL" if kind == "BOOL" else "FP" if kind.startswith("FP") else "INT"]
    if types is None:
        types = set(map(type, values))  # one pass in C
    if not types <= allowed:  # type(True) is bool, not int: booleans are caught here
        bad = next(i for i, v in enumerate(values) if type(v) not in allowed)
        raise ProtocolError(400, f"{field}: element {bad} of 'data' is {_describe(values[bad])}, "
                                 f"expected {expected} ({kind})")
    dtype = spec.dtype
    try:
        with np.errstate(over="ignore"):  # 1e39 -> inf in FP32, reported below
            array = np.array(values, dtype=dtype)
    except OverflowError:
        if kind.startswith("FP"):
            raise ProtocolError(400, f"{field}: an element of 'data' is outside the range of "
                                     f"{kind}") from None
        info = np.iinfo(dtype)
        raise ProtocolError(400, f"{field}: an element of 'data' is outside {kind}'s range "
                                 f"{info.min}..{info.max}") from None
    return _check_values(array.reshape(shape), spec, field)


def _check_values(array: np.ndarray, spec: TensorSpec, field: str) -> np.ndarray:
    """Floats must be finite, and values within the spec's ``low``/``high``."""
    if array.dtype.kind == "f":
        finite = np.isfinite(array)
        if not finite.all():  # 1e39 becomes inf in FP32; JSON's 1e400 is already inf
            i = int(np.argmin(finite.ravel()))
            raise ProtocolError(400, f"{field}: element {i} of 'data' is not a finite {spec.datatype} "
                                     "number (NaN, infinity, or outside the type's range)")
    if spec.low is not None or spec.high is not None:
        low = -math.inf if spec.low is None else spec.low
        high = math.inf if spec.high is None else spec.high
        outside = np.flatnonzero((array < low) | (array > high))
        if outside.size:
            i = int(outside[0])
            raise ProtocolError(400, f"{field}: element {i} of 'data' is {array.flat[i]}, "
                                     f"outside {spec.low if spec.low is not None else '-inf'}.."
                                     f"{spec.high if spec.high is not None else 'inf'}")
    return array


def _from_binary(binary: bytes, offset: int, size, n: int, spec: TensorSpec, shape: tuple, field: str):
    """The tensor stored in ``binary[offset:offset + size]`` (binary data extension)."""
    dtype = spec.dtype.newbyteorder("<")
    if not _is_int(size) or size != n * dtype.itemsize:
        raise ProtocolError(400, f"{field}: binary_data_size {size!r} does not match shape "
                                 f"{list(shape)} of {spec.datatype} ({n * dtype.itemsize} bytes)")
    if offset + size > len(binary):
        raise ProtocolError(400, f"{field}: the binary tensor data ends after {len(binary)} bytes, "
                                 f"this input needs bytes {offset}..{offset + size}")
    array = np.frombuffer(binary, dtype=dtype, count=n, offset=offset).astype(spec.dtype)
    if spec.datatype == "BOOL" and not np.isin(np.frombuffer(binary, np.uint8, n, offset), (0, 1)).all():
        raise ProtocolError(400, f"{field}: BOOL elements must be bytes 0 or 1")
    return _check_values(array.reshape(shape), spec, field), offset + size


def _parse_shape(shape, spec: TensorSpec, field: str) -> tuple:
    if not isinstance(shape, list) or not all(_is_int(d) and d >= 0 for d in shape):
        raise ProtocolError(400, f"{field}: 'shape' must be a list of non-negative integers, "
                                 f"got {json.dumps(shape)[:80]}")
    if len(shape) != len(spec.shape):
        raise ProtocolError(400, f"{field}: shape {shape} has {len(shape)} dimensions, the model "
                                 f"expects {len(spec.shape)}: {list(spec.shape)}")
    for i, (got, want) in enumerate(zip(shape, spec.shape)):
        if want != -1 and got != want:
            raise ProtocolError(400, f"{field}: shape {shape} does not match the model's "
                                     f"{list(spec.shape)} (dimension {i} must be {want})")
    if shape[0] == 0 or 0 in shape:
        raise ProtocolError(400, f"{field}: shape {shape} has no elements")
    return tuple(shape)


def parse_request(payload, inputs: tuple[TensorSpec, ...], outputs: tuple[TensorSpec, ...],
                  binary: bytes = b""):
    """Check an inference request against the model's signature.

    ``binary`` is what follows the JSON header in a request of the binary tensor
    data extension (Triton's, used by default by ``tritonclient``): an input whose
    ``parameters`` hold ``binary_data_size`` takes that many bytes of it, in order,
    as the tensor's little-endian elements instead of a ``data`` list.

    Returns ``(arrays, request_id, output_names)``: the inputs as NumPy arrays by
    name, the request's ``id`` (or None), and the output names to return.
    """
    if not isinstance(payload, dict):
        raise ProtocolError(400, f"the body must be a JSON object with an 'inputs' list, "
                                 f"got a JSON {type(payload).__name__}")
    request_id = payload.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise ProtocolError(400, "'id' must be a string")
    given = payload.get("inputs")
    if not isinstance(given, list) or not given:
        raise ProtocolError(400, "'inputs' must be a non-empty list of tensors "
                                 "({\"name\", \"shape\", \"datatype\", \"data\"})")
    specs = {spec.name: spec for spec in inputs}
    arrays: dict[str, np.ndarray] = {}
    offset = 0  # into ``binary``
    for k, tensor in enumerate(given):
        if not isinstance(tensor, dict):
            raise ProtocolError(400, f"inputs[{k}] must be a JSON object")
        name = tensor.get("name")
        field = f"inputs[{k}] ({name!r})" if isinstance(name, str) else f"inputs[{k}]"
        parameters = tensor.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise ProtocolError(400, f"{field}: 'parameters' must be a JSON object")
        size = parameters.get("binary_data_size")
        required = ("name", "shape", "datatype") + (() if size is not None else ("data",))
        missing = [key for key in required if key not in tensor]
        if missing:
            raise ProtocolError(400, f"{field}: missing {missing}")
        if not isinstance(name, str) or not isinstance(tensor["datatype"], str):
            raise ProtocolError(400, f"{field}: 'name' and 'datatype' must be strings")
        if name not in specs:
            raise ProtocolError(400, f"{field}: the model has no input named {name!r}; its "
                                     f"inputs are {list(specs)}")
        if name in arrays:
            raise ProtocolError(400, f"{field}: input {name!r} is given twice")
        spec = specs[name]
        if tensor["datatype"] != spec.datatype:
            hint = "" if tensor["datatype"] in DATATYPES else f" (known: {sorted(DATATYPES)})"
            raise ProtocolError(400, f"{field}: datatype {tensor['datatype']!r} does not match "
                                     f"the model's {spec.datatype!r}{hint}")
        shape = _parse_shape(tensor["shape"], spec, field)
        if len(shape) > MAX_RANK:
            raise ProtocolError(400, f"{field}: more than {MAX_RANK} dimensions")
        n = math.prod(shape)
        if size is not None:
            arrays[name], offset = _from_binary(binary, offset, size, n, spec, shape, field)
            continue
        data = tensor["data"]
        if not isinstance(data, list):
            raise ProtocolError(400, f"{field}: 'data' must be a list")
        types = set(map(type, data))  # one pass in C
        if list not in types:
            values = data  # flat, row-major: the common case
        else:
            values, types = [], None
            _flatten(data, shape, field, values)
        if len(values) != n:
            raise ProtocolError(400, f"{field}: 'data' has {len(values)} elements, shape "
                                     f"{list(shape)} needs {n}")
        arrays[name] = _to_array(values, spec, shape, field, types)
    if offset != len(binary):
        raise ProtocolError(400, f"the request carries {len(binary)} bytes of binary tensor data, "
                                 f"its inputs' binary_data_size add up to {offset}")
    missing = [name for name in specs if name not in arrays]
    if missing:
        raise ProtocolError(400, f"missing inputs {missing}; the model's inputs are {list(specs)}")
    batch = {a.shape[0] for a in arrays.values()}
    if len(batch) > 1:
        raise ProtocolError(400, f"the inputs disagree on the batch size (first dimension): "
                                 f"{ {k: a.shape[0] for k, a in arrays.items()} }")
    names = [spec.name for spec in outputs]
    wanted = payload.get("outputs")
    if wanted is not None:
        if not isinstance(wanted, list) or not all(isinstance(o, dict) for o in wanted):
            raise ProtocolError(400, "'outputs' must be a list of {\"name\": ...} objects")
        requested = [o.get("name") for o in wanted]
        unknown = [n for n in requested if n not in names]
        if unknown:
            raise ProtocolError(400, f"'outputs' asks for {unknown}; the model's outputs are {names}")
        names = requested
    return arrays, request_id, names


def encode_outputs(results: dict, names: list, specs: tuple[TensorSpec, ...], model: str) -> list:
    """Output tensors in the protocol's JSON form; 500 if any holds NaN or infinity."""
    datatype = {spec.name: spec.datatype for spec in specs}
    tensors = []
    for name in names:
        array = np.asarray(results[name])
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
            raise ProtocolError(500, f"model {model!r} produced {bad} non-finite value(s) (NaN or "
                                     f"infinity) in output {name!r}; the weights or the input "
                                     "are broken")
        tensors.append({"name": name, "datatype": datatype[name], "shape": list(array.shape),
                        "data": array.ravel().tolist()})
    return tensors


def dumps(obj) -> bytes:
    """Strict JSON (never NaN or Infinity), compact."""
    return json.dumps(obj, allow_nan=False, separators=(",", ":")).encode()
