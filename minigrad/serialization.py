"""Checkpoints: ``minigrad.save(obj, path)`` and ``minigrad.load(path)``, in NumPy's ``.npz``.

What can be saved: a dict (possibly nested: ``{"model": model.state_dict(),
"optimizer": opt.state_dict(), "epoch": 3}``) whose leaves are arrays, Tensors,
numbers, strings, booleans, None, or lists/tuples of those. Not modules,
not functions: nothing is pickled, and ``load`` reads with ``allow_pickle=False``,
so opening a checkpoint from someone else cannot run their code.

Key scheme. Every array is stored under the path of keys that leads to it,
joined with ``/``: ``model.state_dict()`` saved directly gives entries named
``fc1.weight``, ``fc1.bias``, ... (so ``numpy.load`` reads it as a plain dict), and
the nested example above gives ``model/fc1.weight``, ``optimizer/state/0/exp_avg``.
The structure itself (nesting, which keys are integers, the non-array leaves,
tuples) is stored as JSON in one extra entry, ``__minigrad_structure__``, which
``load`` uses to rebuild the original dict. A ``.npz`` written by anything else
(e.g. ``numpy.savez(path, **{k: v.numpy() for k, v in torch_sd.items()})``) loads
as a flat dict of arrays.

The file is written atomically: to a temporary file in the same directory,
then renamed over ``path`` (``os.replace``), so a crash mid-save never leaves a
half-written checkpoint where a good one was.
"""

from __future__ import annotations

import json
import os

import numpy as np

from minigrad import backend
from minigrad.io import atomic_write
from minigrad.tensor import Tensor

__all__ = ["save", "load"]

_STRUCTURE_KEY = "__minigrad_structure__"
_SCALARS = (bool, int, float, str, type(None))


def _is_array(value) -> bool:
    return isinstance(value, (Tensor, np.ndarray, np.generic)) or (
        backend.cupy is not None and isinstance(value, backend.cupy.ndarray)
    )


def _to_numpy(value) -> np.ndarray:
    data = value.data if isinstance(value, Tensor) else value
    return np.asarray(backend.to_device(np.asarray(data) if isinstance(data, np.generic) else data,
                                        "cpu"))


def _encode(value, path: tuple, arrays: dict):
    """The JSON skeleton of ``value``; arrays go into ``arrays`` under their '/'-joined path."""
    where = "/".join(map(str, path)) or "<top level>"
    if _is_array(value):
        name = "/".join(map(str, path))
        arrays[name] = _to_numpy(value)
        if arrays[name].dtype.hasobject:
            raise TypeError(f"save: the array at {where} holds Python objects (it would need pickle)")
        return {"array": name}
    if isinstance(value, dict):
        items, names = [], set()
        for key, item in value.items():
            if str(key) in names:  # 0 and "0" would share one path in the file
                raise ValueError(f"save: keys {key!r} and {str(key)!r} at {where} collide; "
                                 "use keys that differ as strings")
            names.add(str(key))
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise TypeError(f"save: dict keys must be str or int, got {key!r} at {where}")
            if isinstance(key, str) and ("/" in key or key == _STRUCTURE_KEY):
                raise ValueError(f"save: key {key!r} at {where} may not contain '/'")
            items.append([key, _encode(item, path + (key,), arrays)])
        return {"dict": items}
    if isinstance(value, (list, tuple)):
        kind = "tuple" if isinstance(value, tuple) else "list"
        return {kind: [_encode(v, path + (i,), arrays) for i, v in enumerate(value)]}
    if isinstance(value, _SCALARS):
        return {"value": value}
    hint = " (save model.state_dict(), not the model)" if hasattr(value, "state_dict") else ""
    raise TypeError(f"save: cannot save a {type(value).__name__} at {where}{hint}")


def _decode(node, arrays):
    if "array" in node:
        return arrays[node["array"]]
    if "dict" in node:
        return {key: _decode(item, arrays) for key, item in node["dict"]}
    if "list" in node:
        return [_decode(v, arrays) for v in node["list"]]
    if "tuple" in node:
        return tuple(_decode(v, arrays) for v in node["tuple"])
    return node["value"]


def save(obj, path) -> None:
    """Write ``obj`` (a state dict, or a nested dict of them) to ``path`` as ``.npz``, atomically.

    The file name is used as given (no ``.npz`` is appended).
    """
    if not isinstance(obj, dict):
        raise TypeError(f"save: expected a dict (such as model.state_dict()), got {type(obj).__name__}")
    arrays: dict = {}
    structure = _encode(obj, (), arrays)
    payload = dict(arrays)
    payload[_STRUCTURE_KEY] = np.array(json.dumps(structure))
    with atomic_write(path) as f:
        np.savez(f, **payload)


def load(path) -> dict:
    """Read a file written by :func:`save` (or any ``.npz``) back into a dict of NumPy arrays.

    Load a model with ``model.load_state_dict(minigrad.load(path))``.
    """
    with np.load(os.fspath(path), allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    structure = arrays.pop(_STRUCTURE_KEY, None)
    if structure is None:
        return arrays
    return _decode(json.loads(str(structure)), arrays)
