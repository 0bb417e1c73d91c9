"""Tensor, Function and the backward pass.

A :class:`Tensor` wraps an array (NumPy on the CPU, CuPy on a GPU). Every op is a
:class:`Function` with a ``forward`` on arrays and a ``backward`` that maps the
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

from minigrad import backend
from minigrad.backend import get_array_module

__all__ = [
    "Tensor",
    "Function",
    "no_grad",
    "enable_grad",
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


@contextlib.contextmanager
def _set_grad_enabled(mode: bool):
    previous = _grad_mode.enabled
    _grad_mode.enabled = mode
    try:
        yield
    finally:
        _grad_mode.enabled = previous


def no_grad():
    """Context manager (and decorator) that records no graph: for evaluation and updates.

    >>> with minigrad.no_grad():
    ...     y = model(x)          # y.requires_grad is False, nothing is kept for backward
    """
    return _set_grad_enabled(False)


def enable_grad():
    """Context manager that turns graph recording back on inside ``no_grad``."""
    return _set_grad_enabled(True)


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
    shape: the engine reduces them with :func:`unbroadcast`.
    """

    broadcasts = False
    released = False  # set after backward frees the saved arrays (retain_graph=False)

    @classmethod
    def apply(cls, *inputs: Tensor, **params) -> Tensor:
        fn = cls()
        for t in inputs:
            if not isinstance(t, Tensor):
                raise TypeError(f"{fn.name}: expected Tensor inputs, got {type(t).__name__}; "
                                "wrap arrays with minigrad.tensor(...)")
        try:
            data = fn.forward(*[t.data for t in inputs], **params)
        except ValueError as e:  # NumPy's shape errors don't say which op failed
            shapes = " and ".join(str(t.shape) for t in inputs)
            raise ValueError(f"{fn.name}: cannot apply to shapes {shapes}: {e}") from None
        requires_grad = _grad_mode.enabled and any(t.requires_grad for t in inputs)
        out = Tensor._wrap(data, requires_grad)
        if requires_grad:
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

    def release(self) -> None:
        """Drop saved arrays and inputs so their memory can be reused."""
        self.__dict__.clear()
        self.released = True


# ----------------------------------------------------------------------------- Tensor


def _as_array(data, dtype=None, device=None):
    """Turn user data (list, scalar, NumPy/CuPy array, Tensor) into a backend array."""
    if isinstance(data, Tensor):
        data = data.data
    xp = get_array_module(data)
    if dtype is None and not hasattr(data, "dtype"):
        # Python floats become the default float dtype (float32), as in PyTorch.
        probe = np.asarray(data)
        dtype = _DEFAULT_DTYPE if probe.dtype.kind == "f" else probe.dtype
    array = xp.asarray(data, dtype=dtype)
    if device is not None:
        array = backend.to_device(array, device)
    return array


class Tensor:
    """An n-dimensional array that remembers how it was computed.

    ``requires_grad=True`` marks a leaf whose gradient ``backward()`` should fill
    in ``.grad``. Only floating point tensors can require grad.

    Dtype promotion: two float tensors follow NumPy (``float32 op float64 -> float64``);
    a float tensor with an integer or bool tensor keeps the float dtype, and a Python
    number never changes a tensor's dtype (``float32 * 2.0`` stays float32), as in PyTorch.
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_gen", "_retain_grad", "__weakref__")
    __array_priority__ = 1000  # so ndarray + Tensor calls Tensor.__radd__

    def __init__(self, data, requires_grad: bool = False, dtype=None, device=None):
        self.data = _as_array(data, dtype, device)
        self.grad = None
        self._ctx = None
        self._gen = 0
        self._retain_grad = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, data, requires_grad=False) -> Tensor:
        """Fast constructor for op outputs: no conversion, no checks."""
        t = cls.__new__(cls)
        t.data = data
        t.grad = None
        t.requires_grad = requires_grad
        t._ctx = None
        t._gen = 0
        t._retain_grad = False
        return t

    # ------------------------------------------------------------------ properties
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def device(self) -> str:
        return backend.device_of(self.data)

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
        return int(self.data.size)

    def dim(self) -> int:
        return self.data.ndim

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    # ------------------------------------------------------------------ conversion
    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (shares memory on the CPU; no graph)."""
        if self.device != "cpu":
            raise TypeError("numpy(): the tensor is on 'cuda'; call .cpu() first")
        return self.data

    def __array__(self, dtype=None, copy=None):
        array = backend.to_device(self.data, "cpu")
        return array if dtype is None else array.astype(dtype, copy=False)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item(): only one-element tensors, got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return backend.to_device(self.data, "cpu").tolist()

    def detach(self) -> Tensor:
        """The same data, cut from the graph (shares memory)."""
        return Tensor._wrap(self.data)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self.data.dtype.kind not in "fc":
            raise TypeError(
                f"only floating point tensors can require gradients, got dtype {self.dtype}"
            )
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward (for inspection)."""
        self._retain_grad = True

    def to(self, target) -> Tensor:
        """``to("cuda")`` / ``to("cpu")`` moves the data; ``to(float64)`` casts (differentiably)."""
        if isinstance(target, str):
            return _ops.to_device(self, target)
        return _ops.cast(self, target)

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self) -> Tensor:
        return self.to("cuda")

    def float(self) -> Tensor:
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)

    def long(self) -> Tensor:
        return Tensor._wrap(self.data.astype(np.int64))

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
    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Compute the gradient of this tensor with respect to every leaf that requires grad.

        Gradients are *added* to each leaf's ``.grad`` (as in PyTorch): calling
        backward twice without zeroing doubles them; optimizers' ``zero_grad()``
        resets them. The graph is freed afterwards unless ``retain_graph=True``;
        a second backward through a freed graph is an error.

        ``grad`` is dL/d(self); it may be omitted only for a one-element tensor
        (it is then 1).
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad (no input had requires_grad=True,"
                " or it was computed under no_grad())"
            )
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward: grad can be implicitly created only for one-element outputs, "
                    f"got shape {self.shape}; pass grad= (or call .sum() first)"
                )
            grad = get_array_module(self.data).ones_like(self.data)
        else:
            grad = _as_array(grad, dtype=self.dtype)
            if grad.shape != self.shape:
                raise ValueError(
                    f"backward: grad has shape {grad.shape} but the tensor has shape {self.shape}"
                )
        _run_backward(self, grad, retain_graph)

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
        other = other.data if isinstance(other, Tensor) else other
        return Tensor._wrap(op(self.data, other))

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
        if self.data.size != 1:
            raise RuntimeError(
                f"the truth value of a tensor with shape {self.shape} is ambiguous;"
                " use .any() or .all()"
            )
        return bool(self.data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def any(self) -> bool:
        return bool(self.data.any())

    def all(self) -> bool:
        return bool(self.data.all())

    @property
    def T(self) -> Tensor:
        """The transpose: all dimensions reversed."""
        return _ops.permute(self, tuple(reversed(range(self.ndim))))

    @property
    def mT(self) -> Tensor:
        """Transpose of the last two dimensions (batched matrices)."""
        return _ops.transpose(self, -2, -1)


# ----------------------------------------------------------------------------- the engine


def _run_backward(root: Tensor, grad, retain_graph: bool) -> None:
    """Propagate ``grad`` from ``root`` to the leaves, highest generation first."""
    grads = {id(root): grad}  # gradient waiting to be passed back, per tensor
    tie = itertools.count()  # heap tie-breaker: tensors are not comparable
    heap = [(-root._gen, next(tie), root)]
    while heap:
        _, _, t = heapq.heappop(heap)
        g = grads.pop(id(t))
        fn = t._ctx
        if fn is None or t._retain_grad:
            _accumulate(t, g)
        if fn is None:
            continue
        if fn.released:
            raise RuntimeError(
                "backward: trying to backward through the graph a second time (its saved "
                "arrays were freed by the first backward); call backward(retain_graph=True) "
                "the first time if you need to backward twice"
            )
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


def _accumulate(t: Tensor, g) -> None:
    if t.grad is None:
        t.grad = Tensor._wrap(g.copy() if t._ctx is None else g)
    else:
        t.grad = Tensor._wrap(t.grad.data + g)


# Tensor methods call the ops; imported last because the ops import Tensor and Function.
from minigrad import ops as _ops  # noqa: E402
