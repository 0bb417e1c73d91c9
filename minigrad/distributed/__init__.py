"""Collective communication between processes, with ``torch.distributed``'s names.

Data-parallel training runs the same script in N processes (*ranks* 0..N-1); each
computes gradients on its own share of the batch, and the ranks *all-reduce*
them (every rank ends with the sum, or the average) before the optimizer step.
This package gives those collectives:

    mpiexec -n 2 python train.py

    import minigrad.distributed as dist
    dist.init_process_group("mpi")            # rank and world size come from mpiexec
    x = minigrad.tensor([float(dist.get_rank())])
    dist.all_reduce(x, op=dist.ReduceOp.SUM)  # in place: x is now [1.] on both ranks
    dist.destroy_process_group()

Backends:

* ``"mpi"`` (CPUs): MPI through mpi4py, ``pip install 'minigrad-edu[distributed]'``
  (mpi4py and the ``mpich`` wheel, which brings ``mpiexec``). The tensor's NumPy
  array is handed to MPI through the buffer protocol: MPI writes the result into
  the tensor's own memory, nothing is copied.
* ``"nccl"`` (NVIDIA GPUs): NCCL through ``cupy.cuda.nccl``, on CuPy arrays and the
  current stream; still launched with ``mpiexec`` (MPI hands out NCCL's unique id).

Failure behaviour: after ``init_process_group`` an exception that nobody catches on
one rank prints its traceback and calls ``MPI.Abort``, which makes the launcher end
every rank, so a job never hangs waiting for a dead peer. A collective that does not
finish within ``timeout`` raises `CollectiveTimeout` (and so also aborts).

Collectives take Tensors (or raw NumPy/CuPy arrays), must be called by every rank
in the same order, and work in place on contiguous memory. With ``async_op=True``
they return a `Work` at once; ``work.wait()`` finishes them.
"""

from __future__ import annotations

import datetime
import enum
import sys
import traceback

import numpy as np

from minigrad.distributed._work import CollectiveTimeout, Work

__all__ = [
    "ReduceOp", "Work", "CollectiveTimeout",
    "is_available", "is_mpi_available", "is_nccl_available",
    "init_process_group", "is_initialized", "destroy_process_group", "get_backend",
    "get_rank", "get_world_size",
    "barrier", "all_reduce", "broadcast", "all_gather", "all_gather_into_tensor",
    "reduce_scatter", "reduce_scatter_tensor", "all_gather_object", "broadcast_object_list",
]


class ReduceOp(enum.Enum):
    """How `all_reduce` combines the ranks' values, element by element."""

    SUM = "sum"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    AVG = "avg"  # SUM / world_size; floating point tensors only

    def __repr__(self) -> str:
        return f"ReduceOp.{self.name}"


# --------------------------------------------------------------------------- the default group

_group = None            # the backend object of the default process group
_previous_excepthook = None
DEFAULT_TIMEOUT = {"mpi": datetime.timedelta(minutes=30), "nccl": datetime.timedelta(minutes=10)}


def is_available() -> bool:
    """True: this package exists (PyTorch's meaning). See `is_mpi_available`."""
    return True


def is_mpi_available() -> bool:
    """True when mpi4py can be imported (the ``mpi`` backend can start)."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def is_nccl_available() -> bool:
    """True when CuPy with NCCL can be imported (the ``nccl`` backend can start)."""
    try:
        from minigrad.distributed._nccl import import_nccl

        import_nccl()
    except ImportError:
        return False
    return True


def _default_group():
    if _group is None:
        raise ValueError("Default process group has not been initialized, please make sure to call "
                         "minigrad.distributed.init_process_group().")
    return _group


def init_process_group(backend: str | None = None, *, timeout: datetime.timedelta | None = None,
                       world_size: int = -1, rank: int = -1) -> None:
    """Join the default process group: every rank of the job must call this.

    Args:
        backend: ``"mpi"`` (the default) for CPU tensors, or ``"nccl"`` for CUDA tensors.
        timeout: how long a collective may wait for the other ranks before it
            raises (default: 30 minutes for MPI, 10 for NCCL, as in PyTorch).
        world_size: an optional check: the launcher (``mpiexec -n N``) decides it; a
            value that disagrees with it is an error.
        rank: likewise, an optional check of this process's rank.

    After it, an uncaught exception on any rank aborts the whole job (``MPI.Abort``).
    """
    global _group
    if _group is not None:
        raise ValueError("trying to initialize the default process group twice!")
    backend = "mpi" if backend is None else str(backend).lower()
    if backend not in DEFAULT_TIMEOUT:
        raise ValueError(f"init_process_group: unknown backend {backend!r}; use 'mpi' or 'nccl'")
    if timeout is None:
        timeout = DEFAULT_TIMEOUT[backend]
    seconds = timeout.total_seconds() if isinstance(timeout, datetime.timedelta) else float(timeout)
    if backend == "mpi":
        from minigrad.distributed._mpi import MPIBackend as Backend
    else:
        from minigrad.distributed._nccl import NCCLBackend as Backend
    group = Backend(seconds)
    for name, given, actual in (("world_size", world_size, group.size), ("rank", rank, group.rank)):
        if given not in (-1, None) and given != actual:
            group.close()
            raise ValueError(f"init_process_group: {name}={given} was given but the launcher "
                             f"started this process with {name} {actual}")
    _group = group
    _install_abort_on_uncaught_exception()


def is_initialized() -> bool:
    """True between `init_process_group` and `destroy_process_group`."""
    return _group is not None


def destroy_process_group() -> None:
    """Leave the default process group (MPI itself stays up until the interpreter exits)."""
    global _group
    group = _default_group()
    _group = None
    _restore_excepthook()
    group.close()


def get_backend() -> str:
    """``"mpi"`` or ``"nccl"``."""
    return _default_group().name


def get_rank() -> int:
    """This process's number, 0..world_size-1 (rank 0 usually prints and saves)."""
    return _default_group().rank


def get_world_size() -> int:
    """How many processes the job has."""
    return _default_group().size


# --------------------------------------------------------------------------- failure handling


def _install_abort_on_uncaught_exception() -> None:
    """An exception that ends this rank must end the others too, or they wait forever
    in their next collective: print the traceback, then ``MPI.Abort`` (the launcher then
    kills every rank and exits non-zero). mpi4py's ``python -m mpi4py`` does the same."""
    global _previous_excepthook
    _previous_excepthook = sys.excepthook

    def abort_job(exc_type, exc, tb):
        group = _group
        try:
            traceback.print_exception(exc_type, exc, tb)
            if group is not None:
                print(f"minigrad.distributed: rank {group.rank} of {group.size} stopped with "
                      f"{exc_type.__name__}: {exc}; aborting every rank (MPI.Abort)",
                      file=sys.stderr, flush=True)
        finally:
            sys.stderr.flush()
            if group is not None and group.size > 1:
                group.abort(1)

    sys.excepthook = abort_job


def _restore_excepthook() -> None:
    global _previous_excepthook
    if _previous_excepthook is not None:
        sys.excepthook = _previous_excepthook
        _previous_excepthook = None


def abort(code: int = 1) -> None:
    """End every rank of the job now (``MPI.Abort``); for a rank that found it cannot go on."""
    _default_group().abort(code)


# --------------------------------------------------------------------------- collectives


def _array(tensor, what: str):
    """The array a collective reads and writes: the Tensor's own memory, contiguous."""
    from minigrad.tensor import Tensor

    array = tensor._data if isinstance(tensor, Tensor) else tensor
    if not hasattr(array, "dtype") or not hasattr(array, "flags"):
        raise TypeError(f"{what}: expected a Tensor or an array, got {type(tensor).__name__}")
    if not array.flags.c_contiguous:
        raise ValueError(f"{what}: the tensor of shape {tuple(array.shape)} is not contiguous; "
                         "pass tensor.contiguous() (collectives work in place on its memory)")
    return array


def _written(tensor) -> None:
    """A collective wrote into the tensor's memory: bump its version, as an in-place op does."""
    counter = getattr(tensor, "_version_counter", None)
    if counter is not None:
        counter.value += 1


def _op_name(op, what: str, array) -> str:
    if not isinstance(op, ReduceOp):
        raise TypeError(f"{what}: op must be a minigrad.distributed.ReduceOp, got {op!r}")
    if op is ReduceOp.AVG and np.dtype(array.dtype).kind not in "fc":
        raise TypeError(f"{what}: ReduceOp.AVG needs a floating point tensor, got {array.dtype}; "
                        "use ReduceOp.SUM for integers")
    return op.value


def _host_staged(group, array, start):
    """Run ``start(host_array)`` on a NumPy copy of a CuPy array when the backend is MPI,
    then copy the result back (the ``mpich`` wheel cannot read GPU memory)."""
    if group.name != "mpi" or isinstance(array, np.ndarray):
        return start(array)
    from minigrad import backend

    host = np.ascontiguousarray(backend.to_device(array, "cpu"))
    start(host).wait()
    array[...] = backend.to_device(host, "cuda")
    return Work.completed("host-staged collective")


def _finish(work: Work, async_op: bool):
    if async_op:
        return work
    work.wait()
    return None


def all_reduce(tensor, op: ReduceOp = ReduceOp.SUM, group=None, async_op: bool = False):
    """Combine ``tensor`` across ranks, in place: afterwards every rank holds the result.

    ``op`` is SUM, PRODUCT, MIN, MAX or AVG (SUM divided by the world size). Returns
    None, or a `Work` with ``async_op=True``.
    """
    g = _check_group(group)
    array = _array(tensor, "all_reduce")
    name = _op_name(op, "all_reduce", array)
    work = _host_staged(g, array, lambda a: g.all_reduce(a, name))
    _written(tensor)
    return _finish(work, async_op)


def broadcast(tensor, src: int, group=None, async_op: bool = False):
    """Copy rank ``src``'s ``tensor`` into every other rank's ``tensor`` (in place)."""
    g = _check_group(group)
    _check_rank(src, g, "broadcast")
    array = _array(tensor, "broadcast")
    work = _host_staged(g, array, lambda a: g.broadcast(a, src))
    _written(tensor)
    return _finish(work, async_op)


def barrier(group=None, async_op: bool = False):
    """Wait until every rank has reached this call."""
    g = _check_group(group)
    return _finish(g.barrier(), async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op: bool = False):
    """Concatenate every rank's ``input_tensor`` along dim 0 into ``output_tensor``.

    ``output_tensor`` has ``world_size`` times the first dimension of the input (or
    shape ``(world_size, *input.shape)``); rank r's piece lands at position r. No copy:
    MPI writes straight into the output's memory.
    """
    g = _check_group(group)
    out = _array(output_tensor, "all_gather_into_tensor")
    array = _array(input_tensor, "all_gather_into_tensor")
    _check_sizes(out, array, g.size, "all_gather_into_tensor", "output", "input")
    if g.name == "mpi" and not isinstance(out, np.ndarray):
        work = _staged_pair(g, out, array, lambda o, a: g.all_gather_into(o, a))
    else:
        work = g.all_gather_into(out, array)
    _written(output_tensor)
    return _finish(work, async_op)


def all_gather(tensor_list: list, tensor, group=None, async_op: bool = False):
    """Fill ``tensor_list[r]`` with rank r's ``tensor``, on every rank.

    ``tensor_list`` holds ``world_size`` tensors of ``tensor``'s shape and dtype. MPI
    gathers into one contiguous buffer, which is then copied into the list's tensors
    (`all_gather_into_tensor` avoids that copy).
    """
    g = _check_group(group)
    array = _array(tensor, "all_gather")
    if len(tensor_list) != g.size:
        raise ValueError(f"all_gather: tensor_list has {len(tensor_list)} tensors; the world has "
                         f"{g.size} ranks")
    outs = [_array(t, "all_gather") for t in tensor_list]
    for r, o in enumerate(outs):
        if o.shape != array.shape or o.dtype != array.dtype:
            raise ValueError(f"all_gather: tensor_list[{r}] is {o.dtype} {tuple(o.shape)}; the input "
                             f"is {array.dtype} {tuple(array.shape)}")
    from minigrad import backend

    xp = backend.get_array_module(array)
    gathered = xp.empty((g.size,) + tuple(array.shape), dtype=array.dtype)
    work = all_gather_into_tensor(gathered, array, group, async_op=True)

    def copy_out():
        for r, (t, o) in enumerate(zip(tensor_list, outs)):
            o[...] = gathered[r]
            _written(t)

    return _finish(_chain(work, copy_out), async_op)


def reduce_scatter_tensor(output, input, op: ReduceOp = ReduceOp.SUM, group=None,
                          async_op: bool = False):
    """Reduce ``input`` across ranks and give rank r the r-th of ``world_size`` equal pieces
    (along dim 0) in ``output``: the first half of a ring all-reduce."""
    g = _check_group(group)
    out = _array(output, "reduce_scatter_tensor")
    array = _array(input, "reduce_scatter_tensor")
    _check_sizes(array, out, g.size, "reduce_scatter_tensor", "input", "output")
    name = _op_name(op, "reduce_scatter_tensor", array)
    if g.name == "mpi" and not isinstance(out, np.ndarray):
        work = _staged_pair(g, out, array, lambda o, a: g.reduce_scatter_into(o, a, name))
    else:
        work = g.reduce_scatter_into(out, array, name)
    _written(output)
    return _finish(work, async_op)


def reduce_scatter(output, input_list: list, op: ReduceOp = ReduceOp.SUM, group=None,
                   async_op: bool = False):
    """Reduce ``input_list[r]`` across ranks into rank r's ``output``.

    The list is concatenated into one buffer first (a copy);
    `reduce_scatter_tensor` avoids it.
    """
    g = _check_group(group)
    out = _array(output, "reduce_scatter")
    if len(input_list) != g.size:
        raise ValueError(f"reduce_scatter: input_list has {len(input_list)} tensors; the world has "
                         f"{g.size} ranks")
    arrays = [_array(t, "reduce_scatter") for t in input_list]
    for r, a in enumerate(arrays):
        if a.shape != out.shape or a.dtype != out.dtype:
            raise ValueError(f"reduce_scatter: input_list[{r}] is {a.dtype} {tuple(a.shape)}; the "
                             f"output is {out.dtype} {tuple(out.shape)}")
    from minigrad import backend

    xp = backend.get_array_module(out)
    stacked = xp.stack(arrays) if arrays else xp.empty((0,), dtype=out.dtype)
    return reduce_scatter_tensor(output, stacked, op, group, async_op)


def all_gather_object(object_list: list, obj, group=None) -> None:
    """Fill ``object_list`` (of ``world_size`` entries) with every rank's picklable ``obj``."""
    g = _check_group(group)
    if len(object_list) != g.size:
        raise ValueError(f"all_gather_object: object_list has {len(object_list)} entries; the world "
                         f"has {g.size} ranks")
    object_list[:] = g.all_gather_object(obj)


def broadcast_object_list(object_list: list, src: int = 0, group=None) -> None:
    """Replace ``object_list``'s entries by rank ``src``'s (picklable objects), in place."""
    g = _check_group(group)
    _check_rank(src, g, "broadcast_object_list")
    object_list[:] = g.broadcast_object(list(object_list), src)


# --------------------------------------------------------------------------- small helpers


def _check_group(group):
    if group is not None:
        raise NotImplementedError("minigrad.distributed: only the default group (group=None) exists")
    return _default_group()


def _check_rank(src: int, g, what: str) -> None:
    if not 0 <= int(src) < g.size:
        raise ValueError(f"{what}: src={src} is not a rank of this world of {g.size}")


def _check_sizes(big, small, n: int, what: str, big_name: str, small_name: str) -> None:
    if big.dtype != small.dtype:
        raise TypeError(f"{what}: {big_name} is {big.dtype} but {small_name} is {small.dtype}")
    if big.size != n * small.size:
        raise ValueError(f"{what}: {big_name} has shape {tuple(big.shape)}, which is not world_size "
                         f"({n}) times {small_name}'s {tuple(small.shape)}")


def _staged_pair(g, out, array, start) -> Work:
    """Two-buffer collectives (gather, reduce-scatter) on CuPy arrays over MPI: via host copies."""
    from minigrad import backend

    host_out = np.empty(out.shape, dtype=out.dtype)
    start(host_out, np.ascontiguousarray(backend.to_device(array, "cpu"))).wait()
    out[...] = backend.to_device(host_out, "cuda")
    return Work.completed("host-staged collective")


def _chain(work: Work, then) -> Work:
    """A Work that finishes ``work`` and then runs ``then``."""
    return Work(work.name, work.is_completed, then, work._timeout)
