"""The launch layer: one small adapter between arrays and Triton kernels.

Every kernel file in this package (``matmul.py``, ``softmax.py``, ``attention.py``)
does three things: checks shapes, allocates outputs, and launches a Triton kernel
on a grid.  The pieces those launchers share live here:

* **Lazy Triton.**  ``import minigrad.kernels`` must work without Triton installed
  (the NumPy references are useful on their own).  So this module imports Triton
  inside a ``try`` and kernel files decorate their kernels with `jit`
  instead of ``triton.jit``.  `jit` only *records* the Python function;
  the real ``triton.jit`` object is built at the first launch.

* **Interpreter or GPU: set TRITON_INTERPRET before Triton is imported.**
  Triton 3.9 reads ``TRITON_INTERPRET`` when a function is decorated with
  ``@triton.jit`` -- including Triton's *own* library functions (``tl.cdiv``,
  ``tl.max``, ``tl.sum``, ...), which are decorated when ``triton`` is first
  imported.  A process is therefore either an interpreter process or a compiler
  process, fixed at ``import triton``; mixing fails with obscure errors
  ("Cannot call @triton.jit'd outside of the scope of a kernel").  So force the
  interpreter *before anything imports triton*::

      TRITON_INTERPRET=1 python my_script.py          # from the shell, or
      import os; os.environ["TRITON_INTERPRET"] = "1" # first lines of the script,
      import minigrad.kernels                         # then import

  `jit` builds our kernels at their first launch and checks that the mode
  Triton was imported in matches ``TRITON_INTERPRET`` now, raising a clear error
  otherwise.  (``compile.py`` compiles in a clean subprocess when it finds itself
  in an interpreter process.)

* **Arrays in, arrays out.**  Triton kernels receive tensors as *pointers*.
  Triton converts any argument with a ``data_ptr()`` method and a ``dtype``
  attribute into a pointer.  CuPy arrays expose the device address as
  ``x.data.ptr``; NumPy arrays expose the host address as ``x.ctypes.data``.
  `DeviceArg` and `HostArg` wrap them.

  On the CPU the interpreter (``triton/runtime/interpreter.py``,
  ``GridExecutor``) was written for torch tensors.  Before running the grid it
  "copies every tensor to the host"; afterwards it "copies results back".  It does
  so by calling, on each argument::

      arg.untyped_storage().data_ptr()     # identify the underlying buffer
      storage.cpu()                        # host copy of the buffer
      arg.new_empty(0, device="cpu")       # an empty host tensor ...
      cpu_arg.set_(storage, arg.storage_offset(), arg.size(), arg.stride())
      cpu_arg.data_ptr()                   # ... whose pointer the kernel reads
      dev_storage.copy_(host_storage)      # write results back

  A NumPy array already lives in host memory, so `HostArg` answers all of
  those with *itself*: ``untyped_storage()`` and ``cpu()`` return ``self``,
  ``set_`` re-points the placeholder at the same array, and ``copy_`` is a no-op
  when source and destination are the same buffer.  The kernel then reads and
  writes the NumPy array in place.

* **bfloat16.**  NumPy has no bfloat16.  The interpreter itself stores bf16 values
  as ``uint16`` bit patterns and converts them in software, so we do the same:
  `BFloat16Array` holds the raw bits (a ``uint16`` NumPy or CuPy array) and
  tells Triton its dtype is ``"bfloat16"``.  Use `to_bfloat16` /
  ``BFloat16Array.to_float32()`` to convert.  (If the ``ml_dtypes`` package is
  installed, NumPy arrays of its ``bfloat16`` dtype are accepted too.)

* **Config choice.**  Triton's ``@triton.autotune`` and ``triton.testing.do_bench``
  need torch, which minigrad does not depend on.  `choose_config` is a small
  replacement: on a GPU it times every candidate config with CuPy events once per
  (kernel, shape bucket, dtype) and caches the fastest; on the CPU it returns the
  first (default) candidate, because interpreter timings say nothing about GPUs.

* **Teaching aid.**  ``MINIGRAD_DEBUG=kernels`` prints every launch: kernel name,
  grid, argument shapes and dtypes, config and (on a GPU) the measured time.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from dataclasses import dataclass

import numpy as np

INSTALL_HINT = "pip install 'minigrad-edu[kernels]'"

try:  # Triton is optional: the NumPy references work without it.
    import triton
    import triton.language as tl

    HAS_TRITON = True
except ImportError:  # pragma: no cover - exercised only without triton
    triton = None
    HAS_TRITON = False

    class _MissingLanguage:
        """Stand-in for ``triton.language`` so that kernel *definitions* still import.

        Kernel bodies are never executed without Triton; only annotations such as
        ``BLOCK: tl.constexpr`` are evaluated at import, and they just need to exist.
        """

        def __getattr__(self, name):
            return _MissingLanguage()

        def __call__(self, *args, **kwargs):
            return _MissingLanguage()

    tl = _MissingLanguage()


# --------------------------------------------------------------------------------------
# Environment queries
# --------------------------------------------------------------------------------------


def _env_true(name: str) -> bool:
    return os.environ.get(name, "0").strip().lower() in ("1", "true", "on", "yes")


def interpret_mode() -> bool:
    """True when kernels run in Triton's CPU interpreter (``TRITON_INTERPRET=1``)."""
    return _env_true("TRITON_INTERPRET")


def debug_enabled() -> bool:
    """True when ``MINIGRAD_DEBUG`` contains ``kernels`` (comma separated list)."""
    flags = os.environ.get("MINIGRAD_DEBUG", "")
    return "kernels" in [f.strip() for f in flags.split(",")]


def cupy_gpu_available() -> bool:
    """True if CuPy is installed and sees at least one CUDA device."""
    if importlib.util.find_spec("cupy") is None:
        return False
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # no driver, no device, broken install: all mean "no GPU"
        return False


def available() -> bool:
    """True if the Triton kernels can run here.

    That needs Triton, and either a CUDA GPU visible to CuPy or the CPU
    interpreter switched on with ``TRITON_INTERPRET=1``.
    """
    return HAS_TRITON and (interpret_mode() or cupy_gpu_available())


def triton_imported_interpreting() -> bool:
    """Was triton imported with TRITON_INTERPRET=1?  (see the module docstring)

    Then its library functions, e.g. ``tl.sigmoid``, are interpreter functions.
    """
    if not HAS_TRITON:
        return False
    import triton.language.standard as std
    from triton.runtime.interpreter import InterpretedFunction

    return isinstance(std.sigmoid, InterpretedFunction)


def interpreter_numpy_problem():
    """None, or why this Triton's interpreter cannot run with this NumPy.

    Triton 3.6's interpreter converts scalars with ``int(self.handle.data)`` on
    1-element arrays, which NumPy 2.4 turned into an error (later Triton
    releases use ``.item()``). We look at the interpreter's source rather than
    guess from version numbers.
    """
    if not HAS_TRITON:
        return None
    import inspect

    import triton.runtime.interpreter as interp

    try:
        source = inspect.getsource(interp._patch_lang_tensor)
    except (AttributeError, OSError, TypeError):
        return None
    numpy_version = tuple(int(p) for p in np.__version__.split(".")[:2] if p.isdigit())
    if "int(self.handle.data)" in source and numpy_version >= (2, 4):
        return (f"Triton {triton.__version__}'s interpreter does not work with NumPy "
                f"{np.__version__} (it calls int() on 1-element arrays, an error since NumPy "
                "2.4): upgrade Triton (3.9 works) or install 'numpy<2.4' to use TRITON_INTERPRET=1")
    return None


def require_triton(kernel: str) -> None:
    """Raise a clear ImportError if Triton is missing."""
    if not HAS_TRITON:
        raise ImportError(
            f"{kernel}: the Triton kernels need the 'triton' package; "
            f"install it with: {INSTALL_HINT}"
        )


# --------------------------------------------------------------------------------------
# Deferred @triton.jit
# --------------------------------------------------------------------------------------


# --8<-- [start:Kernel]
class Kernel:
    """A Triton kernel whose ``triton.jit`` object is built on first use.

    ``kernel[grid](*args)`` launches it exactly like a ``triton.jit`` function.
    Deferring the build lets this package import without Triton, and lets us
    check the ``TRITON_INTERPRET`` mode with a readable error message.
    ``jit_function`` always gives the compiler's ``JITFunction`` (for compile.py).
    """

    def __init__(self, fn):
        self.fn = fn
        self.__name__ = fn.__name__
        self.__doc__ = fn.__doc__
        self._built = {}

    def _build(self, interpret: bool):
        if interpret not in self._built:
            require_triton(self.fn.__name__)
            if interpret != triton_imported_interpreting():
                now, then = ("on", "off") if interpret else ("off", "on")
                raise RuntimeError(
                    f"{self.fn.__name__}: TRITON_INTERPRET is {now} now but was {then} when "
                    "triton was imported; triton 3.x fixes the mode at import. Set "
                    "TRITON_INTERPRET=1 (CPU interpreter) or unset it (GPU) before the first "
                    "`import triton` / `import minigrad.kernels`, e.g. in the shell.")
            if interpret:
                problem = interpreter_numpy_problem()
                if problem:
                    raise RuntimeError(f"{self.fn.__name__}: {problem}")
                from triton.runtime.interpreter import InterpretedFunction

                self._built[interpret] = InterpretedFunction(self.fn)
            else:
                from triton.runtime.jit import JITFunction

                self._built[interpret] = JITFunction(self.fn)
        return self._built[interpret]

    @property
    def jit_function(self):
        """The compiled-mode ``triton.runtime.jit.JITFunction`` (used by ``compile.py``)."""
        return self._build(False)

    def __getitem__(self, grid):
        return self._build(interpret_mode())[grid]

    def __repr__(self):
        return f"<minigrad kernel {self.fn.__name__}>"
# --8<-- [end:Kernel]


def jit(fn):
    """Decorator used instead of ``@triton.jit``; see `Kernel`."""
    return Kernel(fn)


# --------------------------------------------------------------------------------------
# Arrays: NumPy / CuPy / bfloat16 bits
# --------------------------------------------------------------------------------------


@dataclass
class BFloat16Array:
    """bfloat16 data stored as its raw 16-bit patterns in a ``uint16`` array.

    bfloat16 is the top half of a float32: 1 sign bit, 8 exponent bits, 7 mantissa
    bits.  Neither NumPy nor CuPy has the dtype, so we carry the bits and tell
    Triton what they mean.
    """

    bits: object  # numpy.ndarray or cupy.ndarray of dtype uint16

    @property
    def shape(self):
        return self.bits.shape

    @property
    def ndim(self):
        return self.bits.ndim

    @property
    def dtype(self):
        return "bfloat16"

    @property
    def strides(self):
        return self.bits.strides

    def reshape(self, *shape):
        return BFloat16Array(self.bits.reshape(*shape))

    def to_float32(self):
        """Exact widening: put the 16 bits in the high half of a float32."""
        xp = array_module(self.bits)
        return (self.bits.astype(xp.uint32) << 16).view(xp.float32)


def to_bfloat16(x) -> BFloat16Array:
    """Round a float array to bfloat16 (round to nearest, ties to even)."""
    xp = array_module(x)
    u = xp.ascontiguousarray(x, dtype=xp.float32).view(xp.uint32)
    # add 0x7FFF plus the lowest kept bit, then truncate: round-half-to-even.
    rounded = u + xp.uint32(0x7FFF) + ((u >> 16) & xp.uint32(1))
    bits = (rounded >> 16).astype(xp.uint16)
    bits = xp.where(xp.isnan(x), xp.uint16(0x7FC0), bits)  # keep NaNs NaN
    return BFloat16Array(bits.astype(xp.uint16))


def _unwrap(x):
    """(raw array, dtype name Triton should see)."""
    if isinstance(x, BFloat16Array):
        return x.bits, "bfloat16"
    if getattr(x, "dtype", None) is not None and str(x.dtype) == "bfloat16":  # ml_dtypes
        return x.view(np.uint16), "bfloat16"
    return x, x.dtype


def is_cupy(x) -> bool:
    raw = x.bits if isinstance(x, BFloat16Array) else x
    return type(raw).__module__.startswith("cupy")


def array_module(x):
    """``numpy`` or ``cupy``, matching the array ``x``."""
    if is_cupy(x):
        import cupy

        return cupy
    return np


def dtype_name(x) -> str:
    return "bfloat16" if _unwrap(x)[1] == "bfloat16" else np.dtype(x.dtype).name


def empty(shape, dtype, like):
    """Allocate an uninitialised output on the same device as ``like``.

    ``dtype == "bfloat16"`` allocates a `BFloat16Array`.
    """
    xp = array_module(like)
    if dtype == "bfloat16":
        return BFloat16Array(xp.empty(shape, dtype=xp.uint16))
    return xp.empty(shape, dtype=dtype)


def elem_strides(x):
    """Strides in elements (NumPy/CuPy report bytes; kernels index elements)."""
    raw, _ = _unwrap(x)
    return tuple(s // raw.itemsize for s in raw.strides)


# --8<-- [start:HostArg]
class HostArg:
    """A NumPy array dressed as the torch-like tensor the interpreter expects."""

    def __init__(self, array=None, dtype=None):
        self.array = array
        self.dtype = dtype if dtype is not None else (None if array is None else array.dtype)

    # what `tl.load(ptr + offset)` needs: the address of element 0
    def data_ptr(self):
        return self.array.ctypes.data

    # the storage protocol used by the interpreter's host <-> device copies
    def untyped_storage(self):
        return self  # a host array is its own storage

    def cpu(self):
        return self  # already on the host

    def new_empty(self, *args, **kwargs):
        return HostArg(None, self.dtype)  # placeholder; `set_` fills it in

    def set_(self, storage, offset, size, stride):
        assert offset == 0, "HostArg views always start at their own data pointer"
        self.array = storage.array
        return self

    def storage_offset(self):
        return 0

    def size(self):
        return self.array.shape

    def stride(self):
        return elem_strides(self.array)

    def copy_(self, other):
        if other.data_ptr() != self.data_ptr():  # same buffer: nothing to do
            np.copyto(self.array, other.array)
        return self
# --8<-- [end:HostArg]


class DeviceArg:
    """A CuPy array seen by Triton: its device pointer and its dtype."""

    def __init__(self, array, dtype):
        self.array = array
        self.dtype = dtype

    def data_ptr(self):
        return self.array.data.ptr


# What a GPU user installs (also in the README's GPU section).
GPU_INSTALL_HINT = (
    "on a GPU, minigrad's Triton kernels need CuPy, Triton *and* PyTorch with CUDA (Triton takes "
    "the device and the stream from torch): for CUDA 12 pip install cupy-cuda12x triton torch; "
    "for CUDA 13 pip install cupy-cuda13x triton, then a CUDA 13 torch build, e.g. pip install "
    "torch --index-url https://download.pytorch.org/whl/cu130; check with "
    "python -c 'import torch; print(torch.cuda.is_available())'"
)


def _torch_cuda_problem():
    """Why Triton's NVIDIA driver is not active here, or None (checked once per process)."""
    global _TORCH_PROBLEM
    if _TORCH_PROBLEM is _UNSET:
        try:
            import torch
        except ImportError:
            _TORCH_PROBLEM = "PyTorch is not installed"
        else:
            _TORCH_PROBLEM = (None if torch.cuda.is_available()
                              else f"torch {torch.__version__} sees no CUDA device "
                                   "(a CPU-only torch build?)")
    return _TORCH_PROBLEM


_UNSET = object()
_TORCH_PROBLEM = _UNSET


def device_launch_problem():
    """None if Triton kernels can be launched on CuPy arrays here, else why not (one sentence)."""
    if not HAS_TRITON:
        return f"Triton is not installed ({INSTALL_HINT})"
    if interpret_mode() or triton_imported_interpreting():
        return ("Triton runs in its CPU interpreter (TRITON_INTERPRET=1 when triton was imported), "
                "which cannot read GPU memory; unset TRITON_INTERPRET to compile kernels for the GPU")
    problem = _torch_cuda_problem()
    if problem:
        return f"{problem}; {GPU_INSTALL_HINT}"
    return None


def as_kernel_arg(x):
    """Turn an array argument into what a Triton launch accepts; pass others through.

    CuPy arrays become device pointers, and only when kernels can be compiled for
    the GPU (`device_launch_problem`): the interpreter must never see them.
    """
    if isinstance(x, BFloat16Array) or hasattr(x, "__array_interface__") or is_cupy(x):
        if not hasattr(x, "shape"):
            return x
        raw, dt = _unwrap(x)
        if is_cupy(raw):
            problem = device_launch_problem()
            if problem:
                raise RuntimeError(f"Triton kernel on a CuPy array: {problem}")
            return DeviceArg(raw, dt)
        if not interpret_mode():
            raise RuntimeError(
                "NumPy arrays can only be used by the Triton kernels in interpreter mode: "
                "set TRITON_INTERPRET=1 (or pass CuPy arrays on a GPU)"
            )
        return HostArg(raw, dt)
    return x


# --------------------------------------------------------------------------------------
# Launch + config choice
# --------------------------------------------------------------------------------------


def _describe(x):
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return f"{tuple(x.shape)}:{dtype_name(x)}"
    return repr(x)


# --8<-- [start:launch]
def launch(kernel: Kernel, grid, args, config: dict, label: str | None = None):
    """Launch ``kernel[grid](*args, **config)``, converting arrays to pointers.

    ``config`` holds the constexpr meta-parameters plus ``num_warps`` /
    ``num_stages`` (the interpreter ignores those two).
    """
    kargs = [as_kernel_arg(a) for a in args]
    if not debug_enabled():
        kernel[grid](*kargs, **config)
        return
    timing = ""
    on_gpu = any(isinstance(a, DeviceArg) for a in kargs)
    if on_gpu:
        import cupy

        start, stop = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        kernel[grid](*kargs, **config)
        stop.record()
        stop.synchronize()
        timing = f" time={cupy.cuda.get_elapsed_time(start, stop):.3f}ms"
    else:
        t0 = time.perf_counter()
        kernel[grid](*kargs, **config)
        timing = f" interpreter={1e3 * (time.perf_counter() - t0):.1f}ms"
    arrays = ", ".join(_describe(a) for a in args if hasattr(a, "shape"))
    print(
        f"[minigrad.kernels] {label or kernel.__name__} grid={tuple(grid)} args=[{arrays}] "
        f"config={config}{timing}",
        file=sys.stderr,
    )
# --8<-- [end:launch]


def shape_bucket(*dims) -> tuple:
    """Round sizes up to powers of two so nearby shapes share a tuning result."""
    return tuple(1 << max(int(d) - 1, 0).bit_length() for d in dims)


_CONFIG_CACHE: dict = {}


def _resource_errors() -> tuple:
    """The exceptions that mean "this config does not fit this GPU" (skip it while tuning).

    Triton raises ``OutOfResources`` (shared memory, registers) when it compiles or
    loads a kernel; ``PTXASError``/``CompileTimeAssertionFailure`` when ptxas rejects
    it. Everything else is a real error.
    """
    errors = []
    if HAS_TRITON:
        import triton.runtime.errors as rt_errors

        for name in ("OutOfResources", "PTXASError"):
            if hasattr(rt_errors, name):
                errors.append(getattr(rt_errors, name))
        compiler_errors = sys.modules.get("triton.compiler.errors")
        if compiler_errors is not None and hasattr(compiler_errors, "CompileTimeAssertionFailure"):
            errors.append(compiler_errors.CompileTimeAssertionFailure)
    return tuple(errors) or (MemoryError,)


# CUDA's limit on grid dimensions y and z; x may go to 2**31 - 1.
MAX_GRID_Y = 65535


def batch_chunks(n: int):
    """``(start, stop)`` ranges of at most ``MAX_GRID_Y`` batch entries: one launch each."""
    step = MAX_GRID_Y
    return [(i, min(i + step, n)) for i in range(0, n, step)] or [(0, 0)]


def rows(x, start: int, stop: int):
    """``x[start:stop]`` along the leading (batch) axis; a view, bfloat16 bits included."""
    if isinstance(x, BFloat16Array):
        return BFloat16Array(x.bits[start:stop])
    return x[start:stop]


def needs_int64(*arrays) -> bool:
    """True when some array has 2**31 elements or more: int32 offsets would overflow."""
    return any(int(np.prod(a.shape, dtype=np.int64)) >= 2**31 for a in arrays
               if hasattr(a, "shape"))


def choose_config(name: str, key: tuple, candidates: list, run, on_gpu: bool) -> dict:
    """Pick a launch config for kernel ``name``.

    ``candidates`` is a list of dicts (meta-parameters and ``num_warps`` /
    ``num_stages``); the first one is the default.  ``run(config)`` launches the
    kernel once with that config.

    On the CPU (interpreter) the default is returned: timing the interpreter
    would measure NumPy, not a GPU.  On a GPU each candidate is run once to
    compile it, then timed over a few launches with CUDA events; the fastest is
    cached under ``(name, key)`` (``key`` is typically a shape bucket and dtype),
    so tuning happens once per bucket per process.
    """
    if not on_gpu or len(candidates) == 1:
        return candidates[0]
    cache_key = (name, key)
    if cache_key in _CONFIG_CACHE:
        return _CONFIG_CACHE[cache_key]
    import cupy

    best, best_ms = candidates[0], float("inf")
    timings = []
    for cfg in candidates:
        try:
            run(cfg)  # compile + warm up
        except _resource_errors() as err:  # too much shared memory/registers for this GPU
            timings.append((cfg, f"failed: {type(err).__name__}"))
            continue
        # anything else (a launch failure, an illegal address: CUDA errors are sticky and
        # poison every later call) propagates instead of being taken for a bad config
        start, stop = cupy.cuda.Event(), cupy.cuda.Event()
        reps = 5
        start.record()
        for _ in range(reps):
            run(cfg)
        stop.record()
        stop.synchronize()
        ms = cupy.cuda.get_elapsed_time(start, stop) / reps
        timings.append((cfg, f"{ms:.3f}ms"))
        if ms < best_ms:
            best, best_ms = cfg, ms
    _CONFIG_CACHE[cache_key] = best
    if debug_enabled():
        for cfg, t in timings:
            print(f"[minigrad.kernels] tune {name} {key}: {cfg} -> {t}", file=sys.stderr)
    return best
