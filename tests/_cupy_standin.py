"""A CPU stand-in for CuPy, for the test suite only (never installed with the package).

It keeps every array in host memory (a NumPy array inside a wrapper) but enforces
CuPy's *boundary rules*, so code that would fail on a real GPU fails here too:

* no implicit conversion to NumPy: ``np.asarray(x)`` raises ``TypeError`` (CuPy's
  ``__array__`` does), ``x.get()`` / ``cupy.asnumpy(x)`` are the explicit ways;
* no mixing with NumPy arrays (or lists) in ufuncs, operators and functions:
  ``TypeError: Unsupported type <class 'numpy.ndarray'>``; Python and NumPy scalars are fine;
* CuPy's signatures where they differ from NumPy's: ``min/max`` without
  ``initial``/``where``, ``lib.stride_tricks.as_strided`` without ``writeable``;
* element access and reductions give 0-d arrays, not scalars;
* ``cuda.Device``, ``cuda.Stream``, ``cuda.Event`` (no-ops, events time with the host
  clock), ``cuda.runtime``, ``random.default_rng``/``seed``, ``get_default_memory_pool``.

Every device-to-host transfer (``get``, ``asnumpy``, ``float``/``int``/``bool``,
``item``, ``tolist``, iteration over a 0-d result is not one), host-to-device copy
(``asarray``/``array`` of host data, NumPy values assigned into a device array) and
explicit synchronisation is counted by *call site* (the first frame outside this
module and NumPy): see :func:`counting` and :data:`COUNTS`.

It does not replace a GPU: kernels, memory, streams and speed are not simulated.
Enable it with ``MINIGRAD_TEST_DEVICE=cupy-standin`` (the default for ``tests/gpu``);
``tests/gpu/conftest.py`` puts it in ``sys.modules["cupy"]`` and ``minigrad.backend.cupy``.
"""

from __future__ import annotations

import builtins
import collections
import contextlib
import numbers
import sys
import time
import types

import numpy as np

__version__ = "0.0-standin"
STANDIN = True

# (kind, "file:line") -> count; kind is "d2h", "h2d" or "sync".
COUNTS: collections.Counter = collections.Counter()

_THIS = __file__
_NUMPY_DIR = np.__file__.rsplit("/", 1)[0]


def _call_site() -> str:
    f = sys._getframe(2)
    while f is not None and (f.f_code.co_filename == _THIS
                             or f.f_code.co_filename.startswith(_NUMPY_DIR)):
        f = f.f_back
    if f is None:
        return "?"
    parts = f.f_code.co_filename.replace("\\", "/").split("/")
    return f"{'/'.join(parts[-2:])}:{f.f_lineno}"


def _count(kind: str) -> None:
    COUNTS[(kind, _call_site())] += 1


class Recorder:
    """What happened inside a :func:`counting` block."""

    def __init__(self):
        self.counts = collections.Counter()

    def total(self, kind: str | None = None) -> int:
        # builtins.sum: this module's globals hold the stand-in's own ``sum`` (cupy.sum)
        return builtins.sum(n for (k, _), n in self.counts.items() if kind is None or k == kind)

    def sites(self, kind: str | None = None) -> dict:
        return {site: n for (k, site), n in self.counts.items() if kind is None or k == kind}

    def __repr__(self):
        return f"Recorder({dict(self.counts)})"


@contextlib.contextmanager
def counting():
    """``with counting() as rec: ...`` then ``rec.total("d2h")``, ``rec.sites()``."""
    before = COUNTS.copy()
    rec = Recorder()
    try:
        yield rec
    finally:
        rec.counts = COUNTS - before


# ----------------------------------------------------------------------------- arrays


def _unsupported(x):
    return TypeError(f"Unsupported type {type(x)}")


def _unwrap(x):
    """Device array -> its host buffer; scalars pass; NumPy arrays and lists are refused."""
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, (np.ndarray, list)):
        raise _unsupported(x)
    return x


def _unwrap_index(key):
    if isinstance(key, tuple):
        return tuple(_unwrap_index(k) for k in key)
    if isinstance(key, ndarray):
        return key._a
    if isinstance(key, (np.ndarray, list)):  # CuPy copies host index arrays to the device
        _count("h2d")
        return np.asarray(key)
    return key


def _wrap(x):
    if isinstance(x, np.ndarray):
        return ndarray._of(x)
    if isinstance(x, np.generic):  # CuPy reductions and element access give 0-d arrays
        return ndarray._of(np.asarray(x))
    if isinstance(x, tuple):
        return tuple(_wrap(v) for v in x)
    if isinstance(x, list):
        return [_wrap(v) for v in x]
    return x


def _unwrap_tree(x):
    if isinstance(x, (tuple, list)):
        return type(x)(_unwrap_tree(v) for v in x)
    return _unwrap(x)


class _MemoryPointer:
    def __init__(self, a):
        self.ptr = a.ctypes.data


class ndarray:  # noqa: N801 - CuPy's name
    """A "device" array: a host NumPy array behind CuPy's boundary rules."""

    __slots__ = ("_a", "__weakref__")
    __array_priority__ = 100

    def __init__(self, shape, dtype=float):
        self._a = np.empty(shape, dtype=dtype)

    @classmethod
    def _of(cls, a):
        out = object.__new__(cls)
        out._a = a
        return out

    # -- refusing implicit host conversion
    def __array__(self, *args, **kwargs):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        args = [_unwrap(x) for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(_unwrap(o) for o in kwargs["out"])
        return _wrap(getattr(ufunc, method)(*args, **kwargs))

    def __array_function__(self, func, types_, args, kwargs):
        return _wrap(func(*_unwrap_tree(args), **{k: _unwrap_tree(v) for k, v in kwargs.items()}))

    # -- attributes
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    strides = property(lambda self: self._a.strides)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    flags = property(lambda self: self._a.flags)
    data = property(lambda self: _MemoryPointer(self._a))
    T = property(lambda self: _wrap(self._a.T))
    real = property(lambda self: _wrap(self._a.real))
    imag = property(lambda self: _wrap(self._a.imag))
    device = property(lambda self: cuda.Device(0))

    @shape.setter
    def shape(self, value):
        self._a.shape = value

    # -- explicit transfers (counted)
    def get(self, stream=None, order="C", out=None, blocking=True):
        _count("d2h")
        host = np.array(self._a, order=order)
        if out is not None:
            out[...] = host
            return out
        return host

    def item(self):
        _count("d2h")
        return self._a.item()

    def tolist(self):
        _count("d2h")
        return self._a.tolist()

    def __float__(self):
        _count("d2h")
        return float(self._a)

    def __int__(self):
        _count("d2h")
        return int(self._a)

    def __index__(self):
        _count("d2h")
        return self._a.__index__()

    def __bool__(self):
        _count("d2h")
        return bool(self._a)

    def __complex__(self):
        _count("d2h")
        return complex(self._a)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (_wrap(self._a[i]) for i in range(len(self._a)))

    def __repr__(self):
        return repr(self._a).replace("array(", "array(", 1) + "  # cupy stand-in"

    def __str__(self):
        return str(self._a)

    def __format__(self, spec):
        _count("d2h")
        return format(self._a.item() if self._a.ndim == 0 else self._a, spec)

    def __reduce__(self):
        raise TypeError("cupy stand-in arrays are not pickled implicitly; use .get()")

    # -- indexing
    def __getitem__(self, key):
        return _wrap(self._a[_unwrap_index(key)])

    def __setitem__(self, key, value):
        if isinstance(value, np.ndarray):  # CuPy copies a host value to the device
            _count("h2d")
        elif isinstance(value, ndarray):
            value = value._a
        elif isinstance(value, list):
            raise _unsupported(value)
        self._a[_unwrap_index(key)] = value

    # -- methods with CuPy's signatures
    def max(self, axis=None, out=None, keepdims=False):
        return _wrap(self._a.max(axis=axis, out=_unwrap(out), keepdims=keepdims))

    def min(self, axis=None, out=None, keepdims=False):
        return _wrap(self._a.min(axis=axis, out=_unwrap(out), keepdims=keepdims))

    def sum(self, axis=None, dtype=None, out=None, keepdims=False):
        return _wrap(self._a.sum(axis=axis, dtype=dtype, out=_unwrap(out), keepdims=keepdims))

    def prod(self, axis=None, dtype=None, out=None, keepdims=False):
        return _wrap(self._a.prod(axis=axis, dtype=dtype, out=_unwrap(out), keepdims=keepdims))

    def mean(self, axis=None, dtype=None, out=None, keepdims=False):
        return _wrap(self._a.mean(axis=axis, dtype=dtype, out=_unwrap(out), keepdims=keepdims))

    def var(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
        return _wrap(self._a.var(axis=axis, dtype=dtype, out=_unwrap(out), ddof=ddof,
                                 keepdims=keepdims))

    def std(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
        return _wrap(self._a.std(axis=axis, dtype=dtype, out=_unwrap(out), ddof=ddof,
                                 keepdims=keepdims))

    def all(self, axis=None, out=None, keepdims=False):
        return _wrap(self._a.all(axis=axis, out=_unwrap(out), keepdims=keepdims))

    def any(self, axis=None, out=None, keepdims=False):
        return _wrap(self._a.any(axis=axis, out=_unwrap(out), keepdims=keepdims))

    def argmax(self, axis=None, out=None, dtype=None, keepdims=False):
        return _wrap(self._a.argmax(axis=axis, out=_unwrap(out), keepdims=keepdims))

    def argmin(self, axis=None, out=None, dtype=None, keepdims=False):
        return _wrap(self._a.argmin(axis=axis, out=_unwrap(out), keepdims=keepdims))

    def cumsum(self, axis=None, dtype=None, out=None):
        return _wrap(self._a.cumsum(axis=axis, dtype=dtype, out=_unwrap(out)))

    def clip(self, min=None, max=None, out=None):  # noqa: A002 - CuPy's names
        return _wrap(self._a.clip(_unwrap(min), _unwrap(max), out=_unwrap(out)))

    def astype(self, dtype, order="K", casting=None, subok=None, copy=True):
        return _wrap(self._a.astype(dtype, order=order, copy=copy))

    def reshape(self, *shape, order="C"):
        return _wrap(self._a.reshape(*shape, order=order))

    def transpose(self, *axes):
        return _wrap(self._a.transpose(*axes))

    def swapaxes(self, a, b):
        return _wrap(self._a.swapaxes(a, b))

    def squeeze(self, axis=None):
        return _wrap(self._a.squeeze(axis))

    def ravel(self, order="C"):
        return _wrap(self._a.ravel(order))

    def flatten(self, order="C"):
        return _wrap(self._a.flatten(order))

    def copy(self, order="C"):
        return _wrap(self._a.copy(order))

    def view(self, dtype=None):
        return _wrap(self._a.view() if dtype is None else self._a.view(dtype))

    def fill(self, value):
        self._a.fill(_unwrap(value))

    def repeat(self, repeats, axis=None):
        return _wrap(self._a.repeat(_unwrap(repeats), axis))

    def take(self, indices, axis=None, out=None):
        return _wrap(self._a.take(_unwrap(indices), axis=axis, out=_unwrap(out)))

    def nonzero(self):
        return _wrap(self._a.nonzero())

    def dot(self, b, out=None):
        return _wrap(self._a.dot(_unwrap(b), out=_unwrap(out)))

    def conj(self):
        return _wrap(self._a.conj())

    def sort(self, axis=-1):
        self._a.sort(axis=axis)

    def argsort(self, axis=-1):
        return _wrap(self._a.argsort(axis=axis))

    def round(self, decimals=0, out=None):
        return _wrap(self._a.round(decimals, out=_unwrap(out)))

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()


def _binary(name):
    ufunc_op = getattr(np.ndarray, name)

    def op(self, other):
        return _wrap(ufunc_op(self._a, _unwrap(other)))

    op.__name__ = name
    return op


def _inplace(name):
    ufunc_op = getattr(np.ndarray, name)

    def op(self, other):
        ufunc_op(self._a, _unwrap(other))
        return self

    op.__name__ = name
    return op


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or",
              "xor", "lshift", "rshift"):
    setattr(ndarray, f"__{_name}__", _binary(f"__{_name}__"))
    setattr(ndarray, f"__r{_name}__", _binary(f"__r{_name}__"))
    setattr(ndarray, f"__i{_name}__", _inplace(f"__i{_name}__"))
for _name in ("lt", "le", "gt", "ge", "eq", "ne", "divmod"):
    setattr(ndarray, f"__{_name}__", _binary(f"__{_name}__"))
for _name in ("neg", "pos", "abs", "invert"):
    setattr(ndarray, f"__{_name}__",
            (lambda n: lambda self: _wrap(getattr(np.ndarray, f"__{n}__")(self._a)))(_name))
ndarray.__hash__ = None
ndarray.__module__ = "cupy"


# ----------------------------------------------------------------------------- module functions


def _host_data(obj):
    return isinstance(obj, (np.ndarray, np.generic, list, tuple, numbers.Number))


def asarray(a, dtype=None, order=None, *, blocking=False):
    """Device array from device or host data (host data is one counted copy)."""
    if isinstance(a, ndarray):
        return a if dtype is None or np.dtype(dtype) == a.dtype else a.astype(dtype)
    if hasattr(a, "__cuda_array_interface__"):
        raise TypeError("stand-in: foreign device arrays are not simulated")
    _count("h2d")
    return _wrap(np.array(a, dtype=dtype, order=order or "K", copy=True))


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    if isinstance(obj, ndarray):
        out = np.array(obj._a, dtype=dtype, copy=copy, order=order, ndmin=ndmin)
        return _wrap(out)
    _count("h2d")
    return _wrap(np.array(obj, dtype=dtype, copy=True, order=order, ndmin=ndmin))


def ascontiguousarray(a, dtype=None):
    if not isinstance(a, ndarray):
        raise _unsupported(a)
    return _wrap(np.ascontiguousarray(a._a, dtype=dtype))


def asnumpy(a, stream=None, order="C", out=None, *, blocking=True):
    if isinstance(a, ndarray):
        return a.get(order=order, out=out)
    return np.asarray(a, order=order)


def get_array_module(*args):
    return sys.modules[__name__] if any(isinstance(a, ndarray) for a in args) else np


_CREATION = {"empty", "zeros", "ones", "full", "arange", "eye", "identity", "linspace",
             "empty_like", "zeros_like", "ones_like", "full_like", "tri", "indices", "logspace"}
_PASS_THROUGH = {"dtype", "finfo", "iinfo", "result_type", "promote_types", "can_cast",
                 "broadcast_shapes", "errstate", "isscalar", "ndim", "shape"}


def _function(name, fn):
    def wrapper(*args, **kwargs):
        if name in _CREATION:
            for v in (*args, *kwargs.values()):
                if isinstance(v, (np.ndarray, list)) and name.endswith("_like"):
                    raise _unsupported(v)
        args = _unwrap_tree(args)
        kwargs = {k: _unwrap_tree(v) for k, v in kwargs.items()}
        return _wrap(fn(*args, **kwargs))

    wrapper.__name__ = name
    wrapper.__doc__ = f"stand-in for cupy.{name} (numpy.{name} behind CuPy's boundary rules)"
    return wrapper


class _Namespace(types.ModuleType):
    def __init__(self, name, source):
        super().__init__(name)
        self._source = source

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        value = getattr(self._source, name)
        if callable(value) and not isinstance(value, type) and name not in _PASS_THROUGH:
            value = _function(name, value)
        setattr(self, name, value)
        return value


linalg = _Namespace("cupy.linalg", np.linalg)
fft = _Namespace("cupy.fft", np.fft)


def _as_strided(x, shape=None, strides=None):
    """CuPy's signature: no ``subok``, no ``writeable``."""
    if not isinstance(x, ndarray):
        raise _unsupported(x)
    return _wrap(np.lib.stride_tricks.as_strided(x._a, shape=shape, strides=strides))


lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(as_strided=_as_strided))


class _Ufunc:
    """A ufunc (``cupy.add``...) with its ``at``/``reduce``/``outer`` methods, no NumPy arrays."""

    def __init__(self, uf):
        self._uf = uf
        self.__name__ = uf.__name__
        self.nin, self.nout = uf.nin, uf.nout

    def __call__(self, *args, **kwargs):
        for x in args:  # ufunc operands: device arrays and scalars only
            if isinstance(x, (list, tuple)):
                raise _unsupported(x)
        return _function(self.__name__, self._uf)(*args, **kwargs)

    def __getattr__(self, method):
        return _function(f"{self.__name__}.{method}", getattr(self._uf, method))


def __getattr__(name):  # module-level fallback: numpy's functions, wrapped
    if name.startswith("__"):
        raise AttributeError(name)
    value = getattr(np, name)
    if isinstance(value, np.ufunc):
        value = _Ufunc(value)
    elif callable(value) and not isinstance(value, type) and name not in _PASS_THROUGH:
        value = _function(name, value)
    globals()[name] = value
    return value


# ----------------------------------------------------------------------------- cuda


class _Event:
    def __init__(self, block=False, disable_timing=False, interprocess=False):
        self._t = None

    def record(self, stream=None):
        self._t = time.perf_counter()

    def synchronize(self):
        _count("sync")

    @property
    def done(self):
        return True


class _Stream:
    null = None

    def __init__(self, null=False, non_blocking=False, ptr=0):
        self.ptr = ptr

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def use(self):
        return self

    def synchronize(self):
        _count("sync")

    def record(self, event=None):
        event = event or _Event()
        event.record()
        return event

    def wait_event(self, event):
        pass


_Stream.null = _Stream(null=True)


class _Device:
    def __init__(self, device=None):
        self.id = 0 if device is None else int(device)
        if self.id != 0:
            raise RuntimeError(f"cudaErrorInvalidDevice: stand-in has one device, got {self.id}")

    compute_capability = "90"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def use(self):
        return self

    def synchronize(self):
        _count("sync")

    def __repr__(self):
        return f"<CUDA Device {self.id} (stand-in)>"


def _get_elapsed_time(start, stop):
    return 1e3 * ((stop._t or 0.0) - (start._t or 0.0))


class _Runtime:
    @staticmethod
    def getDeviceCount():  # noqa: N802 - CuPy's name
        return 1

    @staticmethod
    def deviceSynchronize():  # noqa: N802
        _count("sync")

    @staticmethod
    def getDeviceProperties(device):  # noqa: N802
        return {"name": b"CuPy stand-in (host memory)", "major": 9, "minor": 0,
                "totalGlobalMem": 1 << 30}

    @staticmethod
    def runtimeGetVersion():  # noqa: N802
        return 12080


cuda = types.SimpleNamespace(
    Device=_Device, Stream=_Stream, Event=_Event, get_elapsed_time=_get_elapsed_time,
    runtime=_Runtime(), get_current_stream=lambda: _Stream.null, is_available=lambda: True,
    MemoryPointer=_MemoryPointer,
)


class _MemoryPool:
    def used_bytes(self):
        return 0

    def total_bytes(self):
        return 0

    def free_all_blocks(self):
        pass


_POOL = _MemoryPool()


def get_default_memory_pool():
    return _POOL


def get_default_pinned_memory_pool():
    return _POOL


# ----------------------------------------------------------------------------- random


class Generator:
    """``cupy.random.Generator``: draws stay on the "device" (no copy is counted)."""

    def __init__(self, seed=None):
        self._rng = np.random.default_rng(seed)

    def random(self, size=None, dtype=np.float64, out=None):
        if np.dtype(dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise TypeError(f"random: dtype must be float32 or float64, got {dtype}")
        return _wrap(np.asarray(self._rng.random(size, dtype=dtype)))

    def standard_normal(self, size=None, dtype=np.float64, out=None):
        return _wrap(np.asarray(self._rng.standard_normal(size, dtype=dtype)))

    def uniform(self, low=0.0, high=1.0, size=None, dtype=np.float64):
        return _wrap(np.asarray(self._rng.uniform(low, high, size).astype(dtype)))

    def integers(self, low, high=None, size=None, dtype=np.int64, endpoint=False):
        return _wrap(np.asarray(self._rng.integers(low, high, size, dtype=dtype,
                                                   endpoint=endpoint)))


_GLOBAL_RNG = Generator(0)


def _seed(seed=None):
    global _GLOBAL_RNG
    _GLOBAL_RNG = Generator(seed)


random = types.SimpleNamespace(
    default_rng=lambda seed=None: Generator(seed), Generator=Generator, seed=_seed,
    random=lambda size=None, dtype=np.float64: _GLOBAL_RNG.random(size, dtype),
    rand=lambda *shape: _GLOBAL_RNG.random(shape or None),
    randn=lambda *shape: _GLOBAL_RNG.standard_normal(shape or None),
    standard_normal=lambda size=None, dtype=np.float64: _GLOBAL_RNG.standard_normal(size, dtype),
)

# dtypes and constants as in CuPy (NumPy's objects)
for _name in ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
              "uint16", "uint32", "uint64", "bool_", "complex64", "complex128", "inf", "nan",
              "pi", "e", "newaxis", "integer", "floating", "number", "generic", "intp"):
    globals()[_name] = getattr(np, _name)
bool_ = np.bool_


def is_available():
    return True


# ----------------------------------------------------------------------------- installing


def install():
    """Make ``import cupy`` and ``minigrad.backend`` see this module; returns an undo function."""
    import minigrad.backend as backend

    module = sys.modules[__name__]
    saved_module, saved_backend = sys.modules.get("cupy"), backend.cupy
    sys.modules["cupy"] = module
    backend.cupy = module

    def undo():
        if saved_module is None:
            sys.modules.pop("cupy", None)
        else:
            sys.modules["cupy"] = saved_module
        backend.cupy = saved_backend

    return undo


def host_view(x):
    """The host buffer behind a stand-in array (for routing kernels to Triton's interpreter)."""
    return x._a


def route_kernels_through_interpreter():
    """Let Triton's interpreter run kernels on stand-in arrays (their host buffers); returns undo.

    The real launch layer refuses device arrays in interpreter mode (a real GPU
    array cannot be read from the host); the stand-in's *are* host memory, so here
    they are handed to the interpreter as NumPy arrays, and the engine is told that
    kernels can launch on the "device".
    """
    launch = sys.modules.get("minigrad.kernels._launch")
    if launch is None:
        import minigrad.kernels._launch as launch
    real_arg, real_problem = launch.as_kernel_arg, launch.device_launch_problem

    def as_kernel_arg(x):
        if isinstance(x, ndarray):
            return launch.HostArg(x._a)
        if isinstance(x, launch.BFloat16Array) and isinstance(x.bits, ndarray):
            return launch.HostArg(x.bits._a, "bfloat16")
        return real_arg(x)

    launch.as_kernel_arg = as_kernel_arg
    launch.device_launch_problem = lambda: None

    def undo():
        launch.as_kernel_arg, launch.device_launch_problem = real_arg, real_problem

    return undo
