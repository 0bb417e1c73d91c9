"""Tensor, Function and the backward pass.

A `Tensor` wraps an array (NumPy on the CPU, CuPy on a GPU). Every op is a
`Function` with a ``forward`` on arrays and a ``backward`` that maps the
gradient of the output to the gradients of the inputs (the chain rule, one link).
Applying a Function to tensors that require grad records it in the output's
``_ctx``, so the outputs remember how they were made: that is the graph.

``Tensor.backward()`` walks that graph from the output back to the leaves in
reverse topological order. The order comes from *generations*: a tensor's
generation is one more than its newest input's, so popping the highest
generation first from a heap guarantees that a tensor's gradient is complete
(every consumer has sent its share) before it is passed further back. This is
Chainer's rank-ordered heap; it is iterative, so a graph 100,000 ops deep (an
LSTM unrolled over thousands of steps) never hits Python's recursion limit.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import operator
import threading

import numpy as np

from minigrad import backend, tensor_methods
from minigrad.backend import get_array_module

__all__ = [
    "Tensor",
    "Function",
    "no_grad",
    "enable_grad",
    "inference_mode",
    "set_grad_enabled",
    "is_grad_enabled",
    "unbroadcast",
    "get_default_dtype",
    "set_default_dtype",
]

_DEFAULT_DTYPE = np.dtype(np.float32)


def get_default_dtype() -> np.dtype:
    """The dtype given to tensors built from Python floats (float32 unless changed)."""
    return _DEFAULT_DTYPE


def set_default_dtype(dtype) -> None:
    """Set the dtype of tensors built from Python floats: ``float32`` or ``float64``."""
    global _DEFAULT_DTYPE
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {dtype}")
    _DEFAULT_DTYPE = dtype


# ----------------------------------------------------------------------------- grad mode


class _GradMode(threading.local):
    """Whether ops record the graph; per thread, as in PyTorch (a server thread's
    ``no_grad()`` must not switch gradients off in another thread)."""

    enabled = True


_grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    """False inside ``with minigrad.no_grad():``."""
    return _grad_mode.enabled


class _GradModeContext(contextlib.ContextDecorator):
    """Sets grad mode on enter and restores the previous mode on exit; usable as a decorator."""

    mode = True

    def __enter__(self):
        self._previous = _grad_mode.enabled
        _grad_mode.enabled = self.mode

    def __exit__(self, *exc):
        _grad_mode.enabled = self._previous
        return False

    def _recreate_cm(self):  # a fresh instance per decorated call (thread and reentrancy safe)
        return type(self)() if type(self) is not set_grad_enabled else set_grad_enabled(self.mode)


class no_grad(_GradModeContext):  # noqa: N801 - PyTorch's name
    """Context manager and decorator that records no graph: for evaluation and updates.

    >>> with minigrad.no_grad():
    ...     y = model(x)          # y.requires_grad is False, nothing is kept for backward

    ``@minigrad.no_grad()`` and ``@minigrad.no_grad`` both decorate a function.
    """

    mode = False

    def __new__(cls, func=None):
        self = super().__new__(cls)
        if callable(func):  # used as @no_grad without parentheses
            return self(func)
        return self

    def __init__(self, func=None):
        pass


class enable_grad(no_grad):  # noqa: N801
    """Context manager (and decorator) that turns graph recording back on inside ``no_grad``."""

    mode = True


class inference_mode(no_grad):  # noqa: N801
    """As ``no_grad`` (minigrad has no separate inference mode); ``inference_mode(False)`` records."""

    def __new__(cls, mode=True):
        if callable(mode):
            return super().__new__(cls, mode)
        self = object.__new__(cls)
        self.mode = not mode
        return self

    def __init__(self, mode=True):
        pass

    def _recreate_cm(self):
        return inference_mode(not self.mode)


class set_grad_enabled(_GradModeContext):  # noqa: N801
    """``set_grad_enabled(False)``: as a call, a ``with`` block or a decorator (PyTorch's three uses)."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self._previous = _grad_mode.enabled
        _grad_mode.enabled = self.mode  # the plain call takes effect at once, as in PyTorch

    def __enter__(self):
        pass  # already set by __init__

    def __exit__(self, *exc):
        _grad_mode.enabled = self._previous
        return False

    def __call__(self, func):
        # as a decorator (@set_grad_enabled(False)) it must not change the mode where it is
        # written, only inside each call: undo __init__'s switch, as PyTorch does
        _grad_mode.enabled = self._previous
        return super().__call__(func)


def _set_grad_enabled(mode: bool):
    """The engine's own switch (a context manager)."""
    return enable_grad() if mode else no_grad()


# ----------------------------------------------------------------------------- broadcasting


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: the backward of NumPy broadcasting.

    If ``x`` of shape ``shape`` was broadcast to ``grad.shape`` in the forward
    pass, every element of ``x`` was used once per copy, so its gradient is the
    sum over the copies: over the leading axes that broadcasting added, and over
    the axes where ``x`` had size 1. (Chainer's ``sum_to``.)

    This is the only place in minigrad where broadcasting gradients are reduced.
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1
    )
    grad = grad.sum(axis=axes, keepdims=True) if axes else grad
    if lead:
        grad = grad.reshape(grad.shape[lead:])
    return grad


# ----------------------------------------------------------------------------- Function


class Function:
    """An op: ``forward`` on arrays, ``backward`` from the output's gradient to the inputs'.

    Subclasses keep what backward needs as attributes of ``self``::

        class Mul(Function):
            broadcasts = True
            def forward(self, a, b):        # arrays in, array out
                self.a, self.b = a, b
                return a * b
            def backward(self, g):          # dL/dy in, (dL/da, dL/db) out
                return g * self.b, g * self.a

    ``backward`` returns one gradient per input (or a single array when there is
    one input); ``None`` means "no gradient" (e.g. for a mask, or where
    ``self.needs_input_grad[i]`` is False because that input does not require grad). Ops whose inputs
    broadcast set ``broadcasts = True`` and return gradients of the broadcast
    shape: the engine reduces them with `unbroadcast`.
    """

    broadcasts = False
    _saved_versions = ()
    released = False  # set after backward frees the saved arrays (retain_graph=False)

    @classmethod
    def apply(cls, *inputs: Tensor, **params) -> Tensor:
        fn = cls()
        for t in inputs:
            if not isinstance(t, Tensor):
                raise TypeError(f"{fn.name}: expected Tensor inputs, got {type(t).__name__}; "
                                "wrap arrays with minigrad.tensor(...)")
        try:
            data = fn.forward(*[t._data for t in inputs], **params)
        except ValueError as e:  # NumPy's shape errors don't say which op failed
            shapes = " and ".join(str(t.shape) for t in inputs)
            raise ValueError(f"{fn.name}: cannot apply to shapes {shapes}: {e}") from None
        requires_grad = _grad_mode.enabled and any(t.requires_grad for t in inputs)
        out = Tensor._wrap(data, requires_grad)
        if _is_array(getattr(data, "base", None)):
            _share_version_if_view(out, inputs)
        if requires_grad:
            saved = _saved_versions(fn, inputs, out)  # before fn.inputs: only forward's own state
            if saved:
                fn._saved_versions = saved
            fn.inputs = inputs
            # lets backward skip work nobody needs, e.g. dL/dx for a data batch
            fn.needs_input_grad = tuple(t.requires_grad for t in inputs)
            out._ctx = fn
            out._gen = 1 + max(t._gen for t in inputs)
        return out

    @property
    def name(self) -> str:
        return type(self).__name__.lower()

    def forward(self, *arrays, **params):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad):  # pragma: no cover - abstract
        raise NotImplementedError

    def check_saved_versions(self) -> None:
        """Refuse to backward if an array this op saved was since modified in place.

        Each saved input (or output) was recorded with its tensor's version at
        forward time; an in-place op bumps the version, so a mismatch means the
        saved array no longer holds the values the gradient formula needs.
        """
        for counter, version, shape, dtype in self._saved_versions:
            if counter.value != version:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified by an "
                    f"inplace operation: [{dtype} {list(shape)}], which is output 0 of {self.name} or "
                    f"one of its inputs, is at version {counter.value}; expected version {version} "
                    f"instead. Hint: replace the in-place op (x += y, x[i] = v, x.add_(y)) by its "
                    f"out-of-place form (x = x + y)"
                )

    def release(self) -> None:
        """Drop saved arrays and inputs so their memory can be reused."""
        self.__dict__.clear()
        self.released = True


# ----------------------------------------------------------------------------- version counters


class _Version:
    """How many times a tensor's memory was written in place (shared by its views)."""

    __slots__ = ("value",)

    def __init__(self):
        self.value = 0


def _root(array):
    """The array that owns the memory ``array`` looks into (itself if it owns it)."""
    while _is_array(getattr(array, "base", None)):
        array = array.base
    return array


def _is_array(value) -> bool:
    """A NumPy or CuPy array (not a scalar, dtype or anything else with a ``.base``)."""
    return isinstance(value, np.ndarray) or (
        value is not None and hasattr(value, "__cuda_array_interface__"))


def _share_version_if_view(out: Tensor, inputs) -> None:
    """An op whose output is a view of an input (reshape, slicing, transpose) shares that
    input's version counter, so writing through either one is seen by both (PyTorch's rule)."""
    root = _root(out._data)
    for t in inputs:
        if _root(t._data) is root:
            out._version_counter = t._version_counter
            out._base = t
            return


def _saved_versions(fn: Function, inputs, out: Tensor) -> tuple:
    """(counter, version, shape, dtype) of every input or output whose memory ``fn`` saved.

    Found by looking at what forward stored on ``fn`` (arrays, or arrays in a tuple):
    only those can be corrupted by a later in-place write, so an op like ``add``,
    which saves nothing, never complains (as in PyTorch). Called before ``fn.inputs``
    is set, so only what forward itself stored is looked at.
    """
    owners = {id(t._data): t for t in inputs}  # the common case: forward kept an input itself
    owners[id(out._data)] = out
    found = {}
    for value in fn.__dict__.values():
        for v in (value if type(value) in (tuple, list) else (value,)):
            t = owners.get(id(v))
            if t is None and _is_array(getattr(v, "base", None)):  # a view of something: whose?
                root = _root(v)
                t = next((u for u in (*inputs, out) if _root(u._data) is root), None)
            if t is not None:
                found[id(t)] = t
    if not found:
        return ()
    return tuple((t._version_counter, t._version_counter.value, t._data.shape, t._data.dtype)
                 for t in found.values())


# ----------------------------------------------------------------------------- Tensor


def _as_array(data, dtype=None, device=None):
    """Turn user data (list, scalar, NumPy/CuPy array, Tensor) into a backend array."""
    if isinstance(data, Tensor):
        data = data._data
    xp = get_array_module(data)
    if dtype is None and not hasattr(data, "dtype"):
        # Python floats become the default float dtype (float32), as in PyTorch.
        probe = np.asarray(data)
        dtype = _DEFAULT_DTYPE if probe.dtype.kind == "f" else probe.dtype
    array = xp.asarray(data, dtype=dtype)
    if device is not None:
        array = backend.to_device(array, device)
    return array


class Tensor(tensor_methods.TensorMethods):
    """An n-dimensional array that remembers how it was computed.

    ``requires_grad=True`` marks a leaf whose gradient ``backward()`` should fill
    in ``.grad``. Only floating point tensors can require grad.

    Dtype promotion: two float tensors follow NumPy (``float32 op float64 -> float64``);
    a float tensor with an integer or bool tensor keeps the float dtype, and a Python
    number never changes a tensor's dtype (``float32 * 2.0`` stays float32), as in PyTorch.
    """

    # ``_data`` is the raw array (NumPy or CuPy): the engine's own name for it. The public
    # ``.data`` is PyTorch's: a Tensor sharing that memory, cut from the graph.
    __slots__ = ("_data", "grad", "requires_grad", "_ctx", "_gen", "_retain_grad",
                 "_version_counter", "_base", "__weakref__")
    __array_priority__ = 1000  # so ndarray + Tensor calls Tensor.__radd__

    def __init__(self, data, requires_grad: bool = False, dtype=None, device=None):
        self._data = _as_array(data, dtype, device)
        self.grad = None
        self._ctx = None
        self._gen = 0
        self._retain_grad = False
        self._version_counter = _Version()
        self._base = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, data, requires_grad=False) -> Tensor:
        """Fast constructor for op outputs: no conversion, no checks."""
        if isinstance(data, np.generic):  # NumPy reductions return scalars; keep real 0-d arrays
            data = np.asarray(data)
        t = cls.__new__(cls)
        t._data = data
        t.grad = None
        t.requires_grad = requires_grad
        t._ctx = None
        t._gen = 0
        t._retain_grad = False
        t._version_counter = _Version()
        t._base = None
        return t

    # ------------------------------------------------------------------ .data and versions
    @property
    def data(self) -> Tensor:
        """The same memory as a Tensor cut from the graph (PyTorch's ``.data``).

        ``p.data.add_(p.grad, alpha=-lr)`` updates ``p`` in place without autograd
        seeing it (the version counter of ``p`` is not bumped). Prefer
        ``with no_grad():`` in new code; ``.numpy()`` gives the array itself.
        """
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value) -> None:
        self._data = value._data if isinstance(value, Tensor) else _as_array(value)

    @property
    def _version(self) -> int:
        """How many in-place writes this tensor's memory has seen (PyTorch's ``_version``)."""
        return self._version_counter.value

    # ------------------------------------------------------------------ properties
    @property
    def shape(self) -> tuple:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def device(self) -> backend.device:
        """``device('cpu')`` or ``device('cuda')``: a ``str`` too, so ``x.device == "cpu"``."""
        return backend.device(backend.device_of(self._data))

    @property
    def is_cuda(self) -> bool:
        return backend.device_of(self._data) == "cuda"

    def pin_memory(self) -> Tensor:
        """Accepted for PyTorch compatibility: returns ``self`` (NumPy memory needs no pinning)."""
        return self

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def grad_fn(self):
        """The Function that produced this tensor (None for leaves)."""
        return self._ctx

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def numel(self) -> int:
        return int(self._data.size)

    def dim(self) -> int:
        return self._data.ndim

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    # ------------------------------------------------------------------ conversion
    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The data as a NumPy array (shares memory on the CPU; no graph).

        ``force=True`` (PyTorch's) copies a device tensor to the host instead of raising.
        """
        if self.device != "cpu":
            if force:
                return backend.to_device(self._data, "cpu")
            raise TypeError("numpy(): the tensor is on 'cuda'; call .cpu() first")
        return self._data

    def __array__(self, dtype=None, copy=None):
        array = backend.to_device(self._data, "cpu")
        return array if dtype is None else array.astype(dtype, copy=False)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ValueError(f"item(): only one-element tensors, got shape {self.shape}")
        return self._data.item()

    def tolist(self):
        return backend.to_device(self._data, "cpu").tolist()

    def detach(self) -> Tensor:
        """The same data, cut from the graph (shares memory and the version counter)."""
        t = Tensor._wrap(self._data)
        t._version_counter = self._version_counter
        return t

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self._data.dtype.kind not in "fc":
            raise TypeError(
                f"only floating point tensors can require gradients, got dtype {self.dtype}"
            )
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward (for inspection)."""
        self._retain_grad = True

    def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False) -> Tensor:
        """Move and/or cast, as ``torch.Tensor.to``: ``to("cuda")``, ``to(float64)``,
        ``to("cpu", float64)``, ``to(other_tensor)``, ``to(device=..., dtype=...)``.
        Casting is differentiable; returns ``self`` when nothing changes (and not ``copy``)."""
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif isinstance(a, str) or a is None:
                device = a
            else:
                dtype = a
        out = self
        if device is not None and str(device).split(":")[0] != self.device:
            out = _ops.to_device(out, str(device).split(":")[0])
        if dtype is not None and np.dtype(dtype) != out.dtype:
            out = _ops.cast(out, dtype)
        if copy and out is self:
            out = _ops.clone(self)
        return out

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self) -> Tensor:
        return self.to("cuda")

    def float(self) -> Tensor:
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)

    def half(self) -> Tensor:
        return self.to(np.float16)

    def long(self) -> Tensor:
        return self.to(np.int64)

    def int(self) -> Tensor:
        return self.to(np.int32)

    def bool(self) -> Tensor:
        return self.to(np.bool_)

    def type(self, dtype=None):
        """Without an argument, the type's name (``'minigrad.FloatTensor'``); with a dtype, a cast."""
        if dtype is None:
            return "minigrad." + _TYPE_NAMES.get(self.dtype, str(self.dtype)) + "Tensor"
        return self.to(dtype)

    def is_floating_point(self) -> bool:
        return self.dtype.kind == "f"

    def is_contiguous(self) -> bool:
        return bool(self._data.flags.c_contiguous)

    def contiguous(self) -> Tensor:
        """``self`` if its memory is in row-major order, else a row-major copy (in the graph)."""
        return self if self.is_contiguous() else _ops.clone(self)

    def clone(self) -> Tensor:
        return _ops.clone(self)

    def nelement(self) -> int:
        return self.numel()

    def element_size(self) -> int:
        """Bytes per element."""
        return self.dtype.itemsize

    # ------------------------------------------------------------------ new_* factories
    def new_tensor(self, data, dtype=None, device=None, requires_grad=False) -> Tensor:
        """A copy of ``data`` with this tensor's dtype and device (unless ``dtype``/``device`` are given)."""
        array = data._data.copy() if isinstance(data, Tensor) else data
        return Tensor(array, dtype=dtype or self.dtype, device=device or self.device,
                      requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
        """A tensor of shape ``size`` filled with ``fill_value``, this tensor's dtype and device
        (unless ``dtype``/``device`` are given)."""
        xp = get_array_module(self._data)
        size = (size,) if isinstance(size, int) else tuple(size)
        array = xp.full(size, fill_value, dtype=dtype or self.dtype)
        if device is not None:
            array = backend.to_device(array, device)
        return Tensor(array, requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
        return self.new_full(_size_arg(size), 0, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
        return self.new_full(_size_arg(size), 1, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
        return self.new_zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)

    # ------------------------------------------------------------------ PyTorch's other names
    def view_as(self, other: Tensor) -> Tensor:
        return _ops.view(self, other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return _ops.reshape(self, other.shape)

    def expand_as(self, other: Tensor) -> Tensor:
        return _ops.expand(self, *other.shape)

    def mm(self, mat2: Tensor) -> Tensor:
        """Matrix product of two 2-D tensors."""
        if self.ndim != 2 or mat2.ndim != 2:
            raise RuntimeError(f"mm: expected 2-D tensors, got shapes {self.shape} and {mat2.shape}")
        return _ops.matmul(self, mat2)

    def bmm(self, mat2: Tensor) -> Tensor:
        """Batched matrix product of two 3-D tensors (b, n, m) @ (b, m, p)."""
        if self.ndim != 3 or mat2.ndim != 3:
            raise RuntimeError(f"bmm: expected 3-D tensors, got shapes {self.shape} and {mat2.shape}")
        return _ops.matmul(self, mat2)

    def t(self) -> Tensor:
        """Transpose of a tensor with at most 2 dims."""
        if self.ndim > 2:
            raise RuntimeError(f"t: expects a tensor with <= 2 dims, got shape {self.shape}")
        return self if self.ndim < 2 else _ops.transpose(self, 0, 1)

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        """The slice ``start : start + length`` along ``dim`` (a view)."""
        dim = dim % max(self.ndim, 1)
        if start < 0:
            start += self.shape[dim]
        if not 0 <= start <= start + length <= self.shape[dim]:
            raise IndexError(f"narrow: start {start} + length {length} exceeds dim {dim} of size "
                             f"{self.shape[dim]}")
        return self[(slice(None),) * dim + (slice(start, start + length),)]

    def where(self, condition, other) -> Tensor:
        """``self`` where ``condition`` holds, else ``other`` (``torch.where(condition, self, other)``)."""
        return _ops.where(condition, self, other)

    def eq(self, other) -> Tensor:
        return self == other

    def ne(self, other) -> Tensor:
        return self != other

    def lt(self, other) -> Tensor:
        return self < other

    def le(self, other) -> Tensor:
        return self <= other

    def gt(self, other) -> Tensor:
        return self > other

    def ge(self, other) -> Tensor:
        return self >= other

    def __format__(self, spec: str) -> str:
        # f"{loss:.4f}" formats the number of a 0-d tensor, as PyTorch does
        if self.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __repr__(self) -> str:
        body = np.array2string(
            np.asarray(self), precision=4, separator=", ", prefix="tensor(", threshold=200
        )
        extras = []
        if self.dtype != _DEFAULT_DTYPE and self.dtype.kind == "f":
            extras.append(f"dtype={self.dtype}")
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self._ctx is not None:
            extras.append(f"grad_fn=<{type(self._ctx).__name__}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"

    # ------------------------------------------------------------------ backward
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
        """Compute the gradient of this tensor with respect to every leaf that requires grad.

        Gradients are *added* to each leaf's ``.grad`` (as in PyTorch): calling
        backward twice without zeroing doubles them; optimizers' ``zero_grad()``
        resets them. The graph is freed afterwards unless ``retain_graph=True``;
        a second backward through a freed graph is an error.

        Args:
            gradient: dL/d(self); may be omitted only for a one-element tensor (it is then 1).
            retain_graph: keep the graph to backward through it again.
            create_graph: not supported (minigrad's gradients are arrays, not graphs).
            inputs: accumulate only into these tensors' ``.grad``.
        """
        if create_graph:
            raise NotImplementedError(
                "backward: create_graph=True (higher-order gradients) is not supported by minigrad"
            )
        if not self.requires_grad:
            raise RuntimeError(
                "backward: element 0 of tensors does not require grad and does not have a grad_fn "
                "(no input had requires_grad=True, or it was computed under no_grad())"
            )
        seed = self._seed_gradient(gradient, "backward")
        only = None if inputs is None else [inputs] if isinstance(inputs, Tensor) else list(inputs)
        _run_backward([(self, seed)], bool(retain_graph), accumulate_into=only)

    def _seed_gradient(self, gradient, op: str):
        """dL/d(self) to start backward from: ones for a one-element tensor, else checked."""
        if gradient is None:
            if self._data.size != 1:
                raise RuntimeError(
                    f"{op}: grad can be implicitly created only for scalar outputs, got shape "
                    f"{self.shape}; pass a gradient (or call .sum() first)"
                )
            return get_array_module(self._data).ones_like(self._data)
        grad = _as_array(gradient, dtype=self.dtype, device=self.device)
        if grad.shape != self.shape:
            raise RuntimeError(
                f"{op}: gradient has shape {grad.shape} but the tensor has shape {self.shape}"
            )
        return grad

    # ------------------------------------------------------------------ in-place ops
    def _inplace(self, op, *args, **kwargs) -> Tensor:
        """Run ``op(self, *args)`` and write the result into ``self``'s memory.

        The one mechanism behind every in-place method (``add_``, ``x[i] = v``,
        ``+=``, ``zero_``, ...), with PyTorch's autograd rules:

        * Under ``no_grad()`` (optimizer steps, initialisation) it is a plain write.
        * A leaf that requires grad may not be written while recording: its
          ``.grad`` would no longer be the gradient of anything.
        * Otherwise the op is recorded: the value *before* the write is kept as a
          copy that stands in the graph where ``self`` stood, and ``self`` becomes
          the op's output. Ops that saved ``self``'s memory earlier see its version
          change and refuse to backward (``Function.check_saved_versions``).
        """
        recording = _grad_mode.enabled and (
            self.requires_grad or any(isinstance(a, Tensor) and a.requires_grad for a in args)
        )
        name = getattr(op, "__name__", "op").strip("_") + "_"
        if recording and self.requires_grad and self._ctx is None:
            raise RuntimeError(
                f"{name}: a leaf Variable that requires grad (shape {self.shape}) is being used in "
                "an in-place operation; wrap the update in `with minigrad.no_grad():`"
            )
        if recording and self._base is not None and self._base.requires_grad:
            raise RuntimeError(
                f"{name}: in-place write into a view (shape {self.shape}) of a tensor that requires "
                "grad is not supported by minigrad (PyTorch rewrites the base's graph); write into "
                "the base with an index instead (base[index] = value) or use the out-of-place op"
            )
        if recording:
            before = Tensor._wrap(self._data.copy(), self.requires_grad)
            before._ctx, before._gen = self._ctx, self._gen
            out = op(before, *args, **kwargs)
        else:
            with _set_grad_enabled(False):
                out = op(self, *args, **kwargs)
        self._write(out._data, name)
        if recording:
            self._ctx, self._gen, self.requires_grad = out._ctx, out._gen, out.requires_grad
        return self

    def _write(self, array, name: str) -> None:
        """Copy ``array`` into this tensor's memory and bump its version."""
        if array.shape != self.shape:
            raise RuntimeError(
                f"{name}: output with shape {list(self.shape)} doesn't match the broadcast shape "
                f"{list(array.shape)}"
            )
        if array.dtype != self.dtype and not np.can_cast(array.dtype, self.dtype, casting="same_kind"):
            raise RuntimeError(
                f"{name}: result type {array.dtype} can't be cast to the desired output type {self.dtype}"
            )
        self._data[...] = array
        self._version_counter.value += 1

    def add_(self, other, *, alpha=1) -> Tensor:
        """In place: self += alpha * other."""
        return self._inplace(_ops.add, other, alpha=alpha)

    def sub_(self, other, *, alpha=1) -> Tensor:
        """In place: self -= alpha * other."""
        return self._inplace(_ops.sub, other, alpha=alpha)

    def mul_(self, other) -> Tensor:
        return self._inplace(_ops.mul, other)

    def div_(self, other, *, rounding_mode=None) -> Tensor:
        return self._inplace(_ops.div, other, rounding_mode=rounding_mode)

    def pow_(self, exponent) -> Tensor:
        return self._inplace(_ops.pow, exponent)

    def neg_(self) -> Tensor:
        return self._inplace(_ops.neg)

    def exp_(self) -> Tensor:
        return self._inplace(_ops.exp)

    def log_(self) -> Tensor:
        return self._inplace(_ops.log)

    def sqrt_(self) -> Tensor:
        return self._inplace(_ops.sqrt)

    def abs_(self) -> Tensor:
        return self._inplace(_ops.abs)

    def tanh_(self) -> Tensor:
        return self._inplace(_ops.tanh)

    def sigmoid_(self) -> Tensor:
        return self._inplace(_ops.sigmoid)

    def relu_(self) -> Tensor:
        return self._inplace(_ops.relu)

    def clamp_(self, min=None, max=None) -> Tensor:  # noqa: A002 - PyTorch's names
        return self._inplace(_ops.clamp, min, max)

    clip_ = clamp_

    def masked_fill_(self, mask, value) -> Tensor:
        return self._inplace(_ops.masked_fill, mask, value)

    def fill_(self, value) -> Tensor:
        """In place: every element becomes ``value``."""
        return self._inplace(_ops.fill, value)

    def zero_(self) -> Tensor:
        """In place: every element becomes 0."""
        return self._inplace(_ops.fill, 0)

    def copy_(self, other, non_blocking: bool = False) -> Tensor:
        """In place: copy ``other`` (broadcast, cast to this dtype, moved to this device) into self.

        (PyTorch's docs call it ``src``; its schema, which keyword calls follow, ``other``.)
        """
        return self._inplace(_ops.copy_from, other)

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
        r"""In place: samples from $\mathcal{N}(\text{mean}, \text{std}^2)$."""
        from minigrad.random import _numpy_rng

        values = _numpy_rng(generator).normal(mean, std, size=self.shape)
        return self._inplace(_ops.copy_from, values.astype(self.dtype))

    def uniform_(self, from_: float = 0.0, to: float = 1.0, *, generator=None) -> Tensor:
        r"""In place: samples from the uniform distribution on $[\text{from}, \text{to})$."""
        from minigrad.random import _numpy_rng

        values = _numpy_rng(generator).uniform(from_, to, size=self.shape)
        return self._inplace(_ops.copy_from, values.astype(self.dtype))

    def __setitem__(self, index, value) -> None:
        """``x[index] = value``: a recorded, differentiable write (PyTorch's ``index_put_``)."""
        self._inplace(_ops.setitem, index, value)

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def __ipow__(self, other):
        return self.pow_(other)

    # ------------------------------------------------------------------ operators
    def __add__(self, other):
        return _ops.add(self, other)

    def __radd__(self, other):
        return _ops.add(other, self)

    def __sub__(self, other):
        return _ops.sub(self, other)

    def __rsub__(self, other):
        return _ops.sub(other, self)

    def __mul__(self, other):
        return _ops.mul(self, other)

    def __rmul__(self, other):
        return _ops.mul(other, self)

    def __truediv__(self, other):
        return _ops.div(self, other)

    def __rtruediv__(self, other):
        return _ops.div(other, self)

    def __pow__(self, other):
        return _ops.pow(self, other)

    def __rpow__(self, other):
        return _ops.pow(other, self)

    def __neg__(self):
        return _ops.neg(self)

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __getitem__(self, index):
        return _ops.getitem(self, index)

    # comparisons return boolean tensors and carry no gradient
    def _compare(self, other, op):
        if isinstance(other, Tensor):
            other = other._data
        elif isinstance(other, (np.ndarray, list)) and self.device != "cpu":
            other = backend.to_device(np.asarray(other), self.device)  # CuPy never mixes with NumPy
        return Tensor._wrap(op(self._data, other))

    def __lt__(self, other):
        return self._compare(other, operator.lt)

    def __le__(self, other):
        return self._compare(other, operator.le)

    def __gt__(self, other):
        return self._compare(other, operator.gt)

    def __ge__(self, other):
        return self._compare(other, operator.ge)

    def __eq__(self, other):
        return self._compare(other, operator.eq)

    def __ne__(self, other):
        return self._compare(other, operator.ne)

    __hash__ = object.__hash__

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(
                f"the truth value of a tensor with shape {self.shape} is ambiguous;"
                " use .any() or .all()"
            )
        return bool(self._data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    @property
    def T(self) -> Tensor:
        """The transpose: all dimensions reversed."""
        return _ops.permute(self, tuple(reversed(range(self.ndim))))

    @property
    def mT(self) -> Tensor:
        """Transpose of the last two dimensions (batched matrices)."""
        return _ops.transpose(self, -2, -1)


_TYPE_NAMES = {
    np.dtype(np.float32): "Float", np.dtype(np.float64): "Double", np.dtype(np.float16): "Half",
    np.dtype(np.int64): "Long", np.dtype(np.int32): "Int", np.dtype(np.int16): "Short",
    np.dtype(np.int8): "Char", np.dtype(np.uint8): "Byte", np.dtype(np.bool_): "Bool",
}


def _size_arg(size):
    """``f(2, 3)`` and ``f((2, 3))`` both mean the shape (2, 3), as in PyTorch."""
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)


# ----------------------------------------------------------------------------- the engine


def _run_backward(roots, retain_graph: bool, accumulate_into=None, capture=None) -> None:
    """Propagate gradients from ``roots`` (pairs of tensor and dL/dtensor) to the leaves,
    highest generation first.

    By default each leaf that requires grad (and each tensor with ``retain_grad()``)
    gets its gradient added to ``.grad``. ``accumulate_into`` limits that to some
    tensors; ``capture`` (a dict from ``id(tensor)``) instead collects the gradients
    of the tensors it names and touches no ``.grad`` (``minigrad.autograd.grad``).
    """
    grads = {}  # gradient waiting to be passed back, per tensor
    tie = itertools.count()  # heap tie-breaker: tensors are not comparable
    heap = []
    for root, grad in roots:
        if id(root) in grads:
            grads[id(root)] = grads[id(root)] + grad
        else:
            grads[id(root)] = grad
            heapq.heappush(heap, (-root._gen, next(tie), root))
    wanted = None if accumulate_into is None else {id(t) for t in accumulate_into}
    while heap:
        _, _, t = heapq.heappop(heap)
        g = grads.pop(id(t))
        fn = t._ctx
        if capture is not None:
            if id(t) in capture:
                capture[id(t)] = g
        elif (fn is None or t._retain_grad) and (wanted is None or id(t) in wanted):
            _accumulate(t, g)
        if fn is None:
            continue
        if fn.released:
            raise RuntimeError(
                "backward: trying to backward through the graph a second time (its saved "
                "arrays were freed by the first backward); call backward(retain_graph=True) "
                "the first time if you need to backward twice"
            )
        if fn._saved_versions:
            fn.check_saved_versions()
        in_grads = fn.backward(g)
        if not isinstance(in_grads, tuple):
            in_grads = (in_grads,)
        for i, (x, gx) in enumerate(zip(fn.inputs, in_grads)):
            if gx is None or not x.requires_grad:
                continue
            gx = _checked_grad(fn, i, x, gx)
            key = id(x)
            if key in grads:
                grads[key] = grads[key] + gx  # several consumers: their shares add up
            else:
                grads[key] = gx
                heapq.heappush(heap, (-x._gen, next(tie), x))
        if not retain_graph:
            fn.release()


def _checked_grad(fn: Function, i: int, x: Tensor, gx):
    """Reduce a broadcast gradient, match the input's dtype, and refuse a wrong shape."""
    if fn.broadcasts:
        gx = unbroadcast(gx, x.shape)
    if gx.shape != x.shape:
        raise RuntimeError(
            f"{fn.name}.backward returned a gradient of shape {gx.shape} for input {i} "
            f"of shape {x.shape}"
        )
    if gx.dtype != x.dtype:
        gx = gx.astype(x.dtype)  # e.g. float32 input of a float64 op
    return gx


# Several threads may backward into the same parameters at once (a server, a data-parallel
# worker pool): adding into ``.grad`` is a read-modify-write, so it holds this lock.
_accumulate_lock = threading.Lock()


def _accumulate(t: Tensor, g) -> None:
    """Add ``g`` into ``t.grad``, atomically: a copy the first time, then in place (so a
    reference to ``p.grad`` stays the gradient, as in PyTorch)."""
    with _accumulate_lock:
        if t.grad is None:
            t.grad = Tensor._wrap(g.copy())  # g may be a read-only broadcast view
        elif t.grad.shape == g.shape and t.grad._data.flags.writeable:
            t.grad._data += g
        else:
            t.grad = Tensor._wrap(t.grad._data + g)


# Tensor methods call the ops; imported last because the ops import Tensor and Function.
from minigrad import ops as _ops  # noqa: E402
