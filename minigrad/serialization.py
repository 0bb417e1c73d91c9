"""Checkpoints: ``minigrad.save(obj, path)`` and ``minigrad.load(path)``, as ``.npz`` or ``.safetensors``.

What can be saved: a dict (possibly nested: ``{"model": model.state_dict(),
"optimizer": opt.state_dict(), "epoch": 3}``) whose leaves are arrays, Tensors,
numbers, strings, booleans, None, or lists/tuples of those. Not modules,
not functions: nothing is pickled, and nothing is ever unpickled, so opening a
checkpoint from someone else cannot run their code.

Two formats, chosen by the file name's suffix when saving and by the content
when loading:

- **``.npz``** (NumPy's zip of ``.npy`` files; the default for any other suffix).
- **``.safetensors``** (Hugging Face's format, through the ``safetensors``
  package's NumPy API, an optional dependency: ``pip install "minigrad-edu[serve]"``).
  Weights saved from PyTorch with ``safetensors.torch.save_file(model.state_dict(),
  "model.safetensors")`` load into the same architecture built with minigrad:
  ``model.load_state_dict(minigrad.load("model.safetensors"))``.

Key scheme. Every array is stored under the path of keys that leads to it,
joined with ``/``: ``model.state_dict()`` saved directly gives entries named
``fc1.weight``, ``fc1.bias``, ... (so ``numpy.load`` or ``safetensors`` read it as a
plain dict), and the nested example above gives ``model/fc1.weight``,
``optimizer/state/0/exp_avg``. The structure itself (nesting, which keys are
integers, the non-array leaves, tuples) is stored as JSON: in one extra entry
``__minigrad_structure__`` of a ``.npz``, in the header metadata of a
``.safetensors``. ``load`` uses it to rebuild the original dict. A file written by
anything else (``numpy.savez(path, **arrays)``, ``safetensors.torch.save_file``)
loads as a flat dict of arrays.

Reading a file from someone else is safe by construction: the structure is
parsed first, only the entries it references are read, and every entry's
declared size is checked against ``max_bytes`` *before* anything is
decompressed or allocated. A file that is not a checkpoint (a PyTorch ``.pt``,
a lone ``.npy``, an empty, truncated or tampered file) raises one
`CheckpointError` (a ``ValueError``) saying what the file is and what
was expected.

The file is written atomically through `minigrad.io`: to a temporary
file in the same directory, then renamed over ``path``, so a crash mid-save
never leaves a half-written checkpoint where a good one was.
"""

from __future__ import annotations

import ast
import json
import math
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from minigrad import backend
from minigrad.io import atomic_write, write_bytes_atomic
from minigrad.tensor import Tensor

__all__ = ["save", "load", "CheckpointError", "DEFAULT_MAX_BYTES"]

_STRUCTURE_KEY = "__minigrad_structure__"
_SCALARS = (bool, int, float, str, type(None))

#: The smallest default ``max_bytes`` of `load` (1 GiB); the default is the
#: larger of this and 64 times the file's size.
DEFAULT_MAX_BYTES = 2**30
_DEFAULT_EXPANSION = 64
_MAX_STRUCTURE_BYTES = 64 * 2**20  # the JSON skeleton of a checkpoint is tiny
_MAX_NPY_HEADER = 65536
_MAX_SAFETENSORS_HEADER = 100_000_000  # the safetensors library's own limit
_MAX_DEPTH = 100  # nesting of the saved structure
_CHUNK = 16 * 2**20  # read entries in pieces: no second full-size copy
_SAFETENSORS_HINT = 'pip install "minigrad-edu[serve]" (or pip install safetensors)'


class CheckpointError(ValueError):
    """A file that `minigrad.load` cannot read as a checkpoint (says what it is instead)."""


# ----------------------------------------------------------------------------- save


def _is_array(value) -> bool:
    return isinstance(value, (Tensor, np.ndarray, np.generic)) or (
        backend.cupy is not None and isinstance(value, backend.cupy.ndarray)
    )


def _to_numpy(value) -> np.ndarray:
    data = value._data if isinstance(value, Tensor) else value
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


def _safetensors():
    """The ``safetensors`` package (optional), or an error saying how to install it."""
    try:
        import safetensors
        import safetensors.numpy
    except ImportError as e:
        raise ModuleNotFoundError(
            f".safetensors files need the safetensors package: {_SAFETENSORS_HINT}") from e
    return safetensors


def _is_safetensors_path(path) -> bool:
    return os.fspath(path).lower().endswith(".safetensors")


def save(obj, f) -> None:
    """Write ``obj`` (a state dict, or a nested dict of them) to the file ``f``, atomically.

    ``f`` is a path (PyTorch's parameter name; a file object is not accepted: the write
    goes to a temporary file beside the target, then is renamed over it).

    The format follows the suffix: ``.safetensors`` writes a safetensors file
    (needs the ``safetensors`` package), anything else an ``.npz`` (the name is
    used as given: no ``.npz`` is appended).

    Unlike ``torch.save``, a whole module cannot be saved (that would need
    pickle): save ``model.state_dict()``, and rebuild the model in code before
    ``model.load_state_dict(minigrad.load(path))``.
    """
    if not isinstance(obj, dict):
        if hasattr(obj, "state_dict") and hasattr(obj, "parameters"):
            raise TypeError(
                f"save: got a whole {type(obj).__name__} module; minigrad never pickles objects, "
                "so save its weights instead: minigrad.save(model.state_dict(), path), then "
                "build the model in code and call model.load_state_dict(minigrad.load(path))")
        raise TypeError(f"save: expected a dict (such as model.state_dict()), got {type(obj).__name__}")
    path = f
    arrays: dict = {}
    structure = _encode(obj, (), arrays)
    if _is_safetensors_path(path):
        st = _safetensors().numpy
        # copy(order="C"), not ascontiguousarray, which turns 0-d arrays into 1-d ones
        contiguous = {name: a if a.flags.c_contiguous else a.copy(order="C")
                      for name, a in arrays.items()}
        try:
            data = st.save(contiguous, metadata={_STRUCTURE_KEY: json.dumps(structure)})
        except Exception as e:  # safetensors' own error type: say which entry and dtype
            kinds = ", ".join(sorted({f"{k} ({a.dtype})" for k, a in contiguous.items()
                                      if a.dtype.kind in "USVOM m"}))
            raise TypeError(f"save: safetensors cannot store {kinds or 'these arrays'}: {e}") from e
        write_bytes_atomic(path, data)
        return
    payload = dict(arrays)
    payload[_STRUCTURE_KEY] = np.array(json.dumps(structure))
    with atomic_write(path) as f:
        np.savez(f, **payload)


# ----------------------------------------------------------------------------- load: what is this file?


def _describe_start(head: bytes) -> str:
    shown = head[:8]
    return f"starts with bytes {shown.hex(' ')}" if shown else "is empty"


_EXPECTED = ("expected a checkpoint written by minigrad.save: an .npz (numpy.savez) "
             "or a .safetensors file")


def _fail(path, what: str, expected: str = _EXPECTED) -> CheckpointError:
    return CheckpointError(f"load: {path}: {what}; {expected}")


def _sniff(path, head: bytes, size: int) -> str:
    """'npz' or 'safetensors'; anything else is a `CheckpointError`."""
    if size == 0:
        raise _fail(path, "the file is empty (0 bytes)")
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(b"\x93NUMPY"):
        raise _fail(path, "this is a single NumPy array (.npy, numpy.save), not a dict of arrays",
                    "read it with numpy.load(path), or save a dict: "
                    "minigrad.save({'name': array}, 'file.npz')")
    if len(head) >= 9 and head[8:9] == b"{":
        header_len = int.from_bytes(head[:8], "little")
        if header_len > _MAX_SAFETENSORS_HEADER:
            raise _fail(path, f"a safetensors header of {header_len:,} bytes is declared (the "
                              f"format allows at most {_MAX_SAFETENSORS_HEADER:,}; tampered?)")
        if header_len <= size - 8:
            return "safetensors"
        raise _fail(path, f"a safetensors header of {header_len:,} bytes is declared but the file "
                          f"has {size:,} bytes (truncated?)")
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        raise _fail(path, "this is a Python pickle (e.g. an old torch.save file, or pickle.dump); "
                          "minigrad never unpickles, since that can run code from the file",
                    "in PyTorch, save the weights with safetensors.torch.save_file("
                    "model.state_dict(), 'model.safetensors') and load that file")
    if head.startswith(b"\x1f\x8b"):
        raise _fail(path, "this is a gzip-compressed file")
    if _is_safetensors_path(path):
        raise _fail(path, f"not a safetensors file ({size:,} bytes; it {_describe_start(head)})")
    raise _fail(path, f"not a checkpoint ({size:,} bytes; it {_describe_start(head)})")


def _limit(max_bytes, size: int) -> int:
    if max_bytes is None:
        return max(DEFAULT_MAX_BYTES, _DEFAULT_EXPANSION * size)
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
        raise ValueError(f"load: max_bytes must be a non-negative int, got {max_bytes!r}")
    return max_bytes


def _too_big(path, entry: str, declared: int, stored: int | None, total: int, limit: int,
             explicit: bool) -> CheckpointError:
    stored_text = f" ({stored:,} bytes in the file)" if stored is not None else ""
    rule = ("max_bytes" if explicit else
            f"the default max_bytes: {DEFAULT_MAX_BYTES:,} or {_DEFAULT_EXPANSION} times the "
            "file size, whichever is larger")
    return CheckpointError(
        f"load: {path}: entry {entry!r} declares {declared:,} bytes{stored_text}, which would "
        f"bring the total to {total:,} bytes, over the limit of {limit:,} bytes ({rule}); "
        "if you trust this file, pass a larger max_bytes= to minigrad.load")


# ----------------------------------------------------------------------------- load: the structure


def _referenced(structure, path) -> list[str]:
    """Validate the JSON skeleton (shape of every node) and list the array names it uses."""
    names: list[str] = []
    stack = [(structure, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > _MAX_DEPTH:
            raise _fail(path, f"the stored structure is nested deeper than {_MAX_DEPTH} levels "
                              "(tampered file?)")
        if not isinstance(node, dict) or len(node) != 1:
            raise _fail(path, f"the stored structure has an invalid node {str(node)[:80]!r} "
                              "(tampered file?)")
        (kind, body), = node.items()
        if kind == "array" and isinstance(body, str):
            names.append(body)
        elif kind == "value" and isinstance(body, _SCALARS):
            pass
        elif kind in ("list", "tuple") and isinstance(body, list):
            stack.extend((child, depth + 1) for child in reversed(body))
        elif kind == "dict" and isinstance(body, list):
            for item in reversed(body):  # reversed: popped (and read) in file order
                if (not isinstance(item, list) or len(item) != 2 or isinstance(item[0], bool)
                        or not isinstance(item[0], (str, int))):
                    raise _fail(path, f"the stored structure has an invalid dict item "
                                      f"{str(item)[:80]!r} (tampered file?)")
                stack.append((item[1], depth + 1))
        else:
            raise _fail(path, f"the stored structure has an invalid node {str(node)[:80]!r} "
                              "(tampered file?)")
    return names


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


def _parse_structure(text: str, path):
    try:
        return json.loads(text)
    except RecursionError:
        raise _fail(path, "the stored structure is nested too deeply (tampered file?)") from None
    except ValueError as e:
        raise _fail(path, f"the stored structure is not valid JSON ({e}) (tampered file?)") from None


# ----------------------------------------------------------------------------- load: .npz


def _npy_header(f, path, entry: str):
    """Parse a ``.npy`` header from ``f``: (dtype, shape, fortran_order, header bytes)."""
    magic = f.read(8)
    if len(magic) < 8 or not magic.startswith(b"\x93NUMPY"):
        raise _fail(path, f"entry {entry!r} is not a .npy array (it {_describe_start(magic)})")
    major = magic[6]
    if major == 1:
        size_bytes, encoding = 2, "latin1"
    elif major in (2, 3):
        size_bytes, encoding = 4, "latin1" if major == 2 else "utf8"
    else:
        raise _fail(path, f"entry {entry!r} has an unknown .npy version {major}.{magic[7]}")
    header_len = int.from_bytes(f.read(size_bytes), "little")
    if header_len > _MAX_NPY_HEADER:
        raise _fail(path, f"entry {entry!r} declares a .npy header of {header_len:,} bytes "
                          f"(at most {_MAX_NPY_HEADER:,} expected; tampered file?)")
    raw = f.read(header_len)
    try:
        header = ast.literal_eval(raw.decode(encoding))
        if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
            raise ValueError("keys")
        dtype = np.lib.format.descr_to_dtype(header["descr"])
        shape = header["shape"]
        if not (isinstance(shape, tuple) and all(
                isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)):
            raise ValueError("shape")
        fortran = header["fortran_order"]
        if not isinstance(fortran, bool):
            raise ValueError("fortran_order")
    except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError,
            UnicodeDecodeError):
        raise _fail(path, f"entry {entry!r} has a malformed .npy header {raw[:80]!r} "
                          "(truncated or tampered file?)") from None
    if dtype.hasobject:
        raise _fail(path, f"entry {entry!r} holds Python objects (dtype {dtype}), which would need "
                          "pickle; minigrad never unpickles (numpy's allow_pickle=False)")
    return dtype, shape, fortran, len(magic) + size_bytes + header_len


def _read_npy(z: zipfile.ZipFile, info: zipfile.ZipInfo, path, entry: str) -> np.ndarray:
    """One ``.npy`` entry, with its declared shape checked against the entry's size first."""
    with z.open(info) as f:
        dtype, shape, fortran, header_bytes = _npy_header(f, path, entry)
        nbytes = math.prod(shape) * dtype.itemsize
        if header_bytes + nbytes != info.file_size:
            raise _fail(path, f"entry {entry!r} declares shape {shape} of {dtype} "
                              f"({nbytes:,} bytes of data) but holds "
                              f"{info.file_size - header_bytes:,} (truncated or tampered file?)")
        buffer = bytearray(nbytes)
        view, filled = memoryview(buffer), 0
        while filled < nbytes:
            n = f.readinto(view[filled:filled + _CHUNK])
            if not n:
                raise _fail(path, f"entry {entry!r} ends after {filled:,} of {nbytes:,} bytes "
                                  "(truncated file?)")
            filled += n
        f.read(1)  # reach the end, so that zipfile checks the CRC
    array = np.frombuffer(buffer, dtype=dtype)
    return array.reshape(shape, order="F" if fortran else "C")


def _load_zip(path, size: int, limit: int, explicit: bool):
    try:
        z = zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:
        raise _fail(path, f"it starts like a zip archive (.npz) but is not a complete one "
                          f"({size:,} bytes; {e}): truncated or corrupt?") from None
    with z:
        infos = z.infolist()
        pickles = [i.filename for i in infos if i.filename.endswith("data.pkl")]
        if pickles:
            raise _fail(path, f"this is a PyTorch checkpoint (torch.save: a zip holding the pickle "
                              f"{pickles[0]!r}); minigrad never unpickles, since that can run code "
                              "from the file",
                        "in PyTorch, save the weights with safetensors.torch.save_file("
                        "model.state_dict(), 'model.safetensors') (or numpy.savez(path, **{k: "
                        "v.numpy() for k, v in sd.items()})) and minigrad.load that file")
        entries: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            if info.filename.endswith(".npy"):
                key = info.filename[:-4]
                if key in entries:
                    raise _fail(path, f"entry {key!r} appears twice in the archive (tampered file?)")
                entries[key] = info
        if not entries:
            listed = ", ".join(repr(i.filename) for i in infos[:3]) or "nothing"
            raise _fail(path, f"a zip archive without .npy entries (it holds {listed})")
        total = 0

        def read(entry: str) -> np.ndarray:
            nonlocal total
            info = entries.get(entry)
            if info is None:
                raise _fail(path, f"the stored structure refers to entry {entry!r}, which the "
                                  "archive does not have (truncated or tampered file?)")
            total += info.file_size
            if total > limit:
                raise _too_big(path, entry, info.file_size, info.compress_size, total, limit,
                               explicit)
            try:
                return _read_npy(z, info, path, entry)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as e:
                raise _fail(path, f"entry {entry!r} cannot be read ({e}): corrupt or truncated "
                                  "file?") from None

        if _STRUCTURE_KEY not in entries:
            return {name: read(name) for name in entries}
        if entries[_STRUCTURE_KEY].file_size > _MAX_STRUCTURE_BYTES:
            raise _fail(path, f"entry {_STRUCTURE_KEY!r} declares "
                              f"{entries[_STRUCTURE_KEY].file_size:,} bytes; a structure "
                              f"is at most {_MAX_STRUCTURE_BYTES:,} (tampered file?)")
        text = read(_STRUCTURE_KEY)
        if text.shape != () or text.dtype.kind != "U":
            raise _fail(path, f"entry {_STRUCTURE_KEY!r} is not a JSON string (tampered file?)")
        structure = _parse_structure(str(text), path)
        names = _referenced(structure, path)
        arrays = {name: read(name) for name in dict.fromkeys(names)}  # unreferenced: never read
    return _decode(structure, arrays)


# ----------------------------------------------------------------------------- load: .safetensors


def _load_safetensors(path, size: int, limit: int, explicit: bool):
    with open(path, "rb") as f:
        header_len = int.from_bytes(f.read(8), "little")
        raw = f.read(header_len)
    try:
        header = json.loads(raw)
        if not isinstance(header, dict):
            raise ValueError("not a JSON object")
    except (ValueError, RecursionError) as e:
        raise _fail(path, f"a safetensors file whose header is not valid ({e}): truncated or "
                          "tampered?") from None
    metadata = header.pop("__metadata__", None) or {}
    st = _safetensors()
    try:
        with st.safe_open(os.fspath(path), framework="np") as f:
            keys = set(f.keys())

            def offset(name):
                spec = header.get(name)
                try:
                    return int(spec["data_offsets"][0])
                except (TypeError, KeyError, IndexError, ValueError):
                    return 0

            structure = None
            if isinstance(metadata, dict) and _STRUCTURE_KEY in metadata:
                structure = _parse_structure(metadata[_STRUCTURE_KEY], path)
                names = list(dict.fromkeys(_referenced(structure, path)))
            else:
                names = sorted(keys, key=offset)
            total, arrays = 0, {}
            for name in names:
                if name not in keys:
                    raise _fail(path, f"the stored structure refers to tensor {name!r}, which "
                                      "the file does not have (tampered file?)")
                spec = header.get(name) or {}
                start, end = (spec.get("data_offsets") or [0, 0])[:2]
                declared = int(end) - int(start)
                total += declared
                if total > limit:
                    raise _too_big(path, name, declared, None, total, limit, explicit)
                arrays[name] = f.get_tensor(name)
    except st.SafetensorError as e:
        raise _fail(path, f"a safetensors file that cannot be read ({e}): truncated or "
                          "tampered?") from None
    except TypeError as e:  # e.g. bfloat16, which NumPy has no dtype for
        raise _fail(path, f"a safetensors file with a tensor NumPy cannot hold ({e})") from None
    return arrays if structure is None else _decode(structure, arrays)


def load(f, map_location=None, weights_only=None, *, max_bytes: int | None = None) -> dict:
    """Read a checkpoint (``.npz`` or ``.safetensors``) back into a dict of NumPy arrays.

    Load a model with ``model.load_state_dict(minigrad.load(path))``.

    Args:
        f: the file's path (PyTorch's parameter name); its format is recognised from its content.
        map_location: accepted for PyTorch compatibility and not needed: arrays
            always come back as NumPy arrays on the CPU, and ``load_state_dict``
            moves them to the model's device.
        weights_only: accepted for PyTorch compatibility; minigrad always loads
            weights only (nothing is ever unpickled, whatever the value).
        max_bytes: the most bytes of array data this call may allocate, checked
            against every entry's declared size before it is read. Default: 1 GiB
            or 64 times the file's size, whichever is larger (``.npz`` files from
            `save` and ``.safetensors`` files are never larger in memory than
            on disk, so only compressed archives can reach it).

    Raises:
        CheckpointError: (a ``ValueError``) the file is not a readable checkpoint:
            what it is (a PyTorch ``.pt``, a lone ``.npy``, empty, truncated,
            tampered, over ``max_bytes``) and what was expected.
        FileNotFoundError: there is no such file.
    """
    del map_location, weights_only  # see the docstring: nothing to do for either
    path = os.fspath(f) if not isinstance(f, str) else f
    if os.path.isdir(path):
        raise IsADirectoryError(f"load: {path} is a directory, not a checkpoint file")
    size = os.path.getsize(path)
    explicit = max_bytes is not None
    limit = _limit(max_bytes, size)
    with open(path, "rb") as f:
        head = f.read(16)
    kind = _sniff(Path(path), head, size)
    if kind == "safetensors":
        return _load_safetensors(path, size, limit, explicit)
    return _load_zip(path, size, limit, explicit)
