"""Turning a list of samples into one batch: ``default_collate`` and ``default_convert``.

These follow ``torch.utils.data.default_collate`` / ``default_convert``, field by
field, recursively:

| each sample is              | the batch is                                                   |
|-----------------------------|----------------------------------------------------------------|
| Tensor                      | the Tensors stacked along a new first dimension                |
| NumPy/CuPy array            | the arrays stacked into a Tensor (same dtype, same device)     |
| NumPy scalar (``np.int32``) | a 1-D Tensor of that dtype                                     |
| Python ``float``            | a float64 Tensor (as PyTorch: not the default dtype)           |
| Python ``int`` / ``bool``   | an int64 / bool Tensor                                         |
| ``str`` / ``bytes``         | the list of them, unchanged                                    |
| dict (Mapping)              | a dict of the batched values, key by key                       |
| namedtuple                  | the same namedtuple of batched fields                          |
| tuple                       | a **list** of batched fields (PyTorch's rule)                  |
| list (other sequences)      | the same type of batched fields                                |
"""

from __future__ import annotations

import collections.abc
import copy
import numbers

import numpy as np

from minigrad import backend
from minigrad.tensor import Tensor, get_default_dtype

__all__ = ["default_collate", "default_convert"]

_ERROR = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"
)


def _is_array(value) -> bool:
    return isinstance(value, np.ndarray) or (
        backend.cupy is not None and isinstance(value, backend.cupy.ndarray)
    )


def _is_string_dtype(array) -> bool:
    return array.dtype.kind in "OSUV"  # object, bytes, str, void: PyTorch cannot hold them


def _stack(arrays, what: str) -> Tensor:
    shapes = {tuple(a.shape) for a in arrays}
    if len(shapes) > 1:
        shown = ", ".join(f"{tuple(a.shape)} at entry {i}" for i, a in enumerate(arrays[:8]))
        raise RuntimeError(f"default_collate: stack expects each {what} to be equal size, but got {shown}")
    return Tensor._wrap(backend.get_array_module(*arrays).stack(arrays))


def _collate_numbers(batch) -> Tensor:
    if isinstance(batch[0], float):
        return Tensor._wrap(np.asarray(batch, dtype=np.float64))
    array = np.asarray(batch)  # ints (and bools); a later float makes PyTorch use the default dtype
    if array.dtype.kind in "iu":
        array = array.astype(np.int64, copy=False)
    elif array.dtype.kind == "f":
        array = array.astype(get_default_dtype(), copy=False)
    return Tensor._wrap(array)


def default_collate(batch):
    """Merge a list of samples into a batch, as ``torch.utils.data.default_collate``.

    >>> default_collate([(np.zeros(2, np.float32), 0), (np.ones(2, np.float32), 1)])
    [tensor([[0., 0.],
            [1., 1.]]), tensor([0, 1])]

    Tensors, arrays and numbers are stacked along a new first dimension;
    containers are batched field by field (see the table in this module's
    docstring). A sample whose Tensors require grad gives a batch in the graph
    (``minigrad.stack``), as ``torch.stack`` does.

    Raises:
        TypeError: a sample of a type it cannot batch (pass ``collate_fn=`` to the DataLoader).
        RuntimeError: samples whose arrays, or sequences, differ in size.
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        if any(t.requires_grad for t in batch):
            import minigrad

            return minigrad.stack(list(batch), 0)
        return _stack([t._data for t in batch], "tensor")
    if _is_array(elem):
        if _is_string_dtype(elem):
            raise TypeError(_ERROR.format(f"an array of dtype {elem.dtype}"))
        return _stack(list(batch), "array")
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, np.generic):
        if _is_string_dtype(np.asarray(elem)):
            raise TypeError(_ERROR.format(type(elem)))
        return Tensor._wrap(np.asarray(batch))
    if isinstance(elem, (float, int)):
        return _collate_numbers(batch)
    if isinstance(elem, numbers.Number):
        raise TypeError(_ERROR.format(type(elem)))
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        if isinstance(elem, collections.abc.MutableMapping):
            try:
                clone = copy.copy(elem)
                clone.update(collated)
                return clone
            except TypeError:
                return collated
        try:
            return type(elem)(collated)
        except TypeError:
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(field)) for field in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise RuntimeError("default_collate: each element in list of batch should be of equal size")
        fields = [default_collate(list(field)) for field in zip(*batch)]
        if isinstance(elem, tuple):
            return fields  # PyTorch returns a list for tuples (backwards compatibility)
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                clone = copy.copy(elem)
                for i, field in enumerate(fields):
                    clone[i] = field
                return clone
            return type(elem)(fields)
        except TypeError:
            return fields
    raise TypeError(_ERROR.format(type(elem)))


def default_convert(data):
    """Arrays (and NumPy scalars) to Tensors, inside any containers; everything else unchanged.

    The DataLoader applies it to each sample when automatic batching is off
    (``batch_size=None``), as ``torch.utils.data.default_convert``. Arrays are
    wrapped without a copy (``torch.as_tensor``); tuples become lists, as in PyTorch.
    """
    if isinstance(data, Tensor):
        return data
    if _is_array(data):
        return data if _is_string_dtype(data) else Tensor._wrap(data)
    if isinstance(data, np.generic):
        return data if _is_string_dtype(np.asarray(data)) else Tensor._wrap(np.asarray(data))
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        converted = {key: default_convert(value) for key, value in data.items()}
        try:
            return type(data)(converted)
        except TypeError:
            return converted
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence):
        converted = [default_convert(d) for d in data]
        try:
            return type(data)(converted)
        except TypeError:
            return converted
    return data
