"""The NCCL backend: collectives on CuPy arrays through ``cupy.cuda.nccl``.

NCCL needs every rank to agree on a *unique id* before it can build its
communicator; here MPI carries it (rank 0 draws it, ``bcast`` hands it out), so
the launcher is still ``mpiexec`` and the same failure handling (``MPI.Abort``)
applies. Each process uses GPU ``local_rank % device_count``, where the local
rank counts the processes on the same machine.

Collectives are queued on the *current CuPy stream* and return at once, as
PyTorch's NCCL collectives do: later work on the same stream sees the result.
``async_op=True`` returns a `Work` whose ``wait()`` blocks the host until
the collective has run (it polls a CUDA event against the group's timeout).

Written against ``cupy.cuda.nccl``'s documented API; it cannot run on a machine
without an NVIDIA GPU, and the test suite does not pretend otherwise.
"""

from __future__ import annotations

import numpy as np

from minigrad import backend
from minigrad.distributed._mpi import MPIBackend
from minigrad.distributed._work import Work

GPU_HINT = "pip install 'minigrad-edu[gpu,distributed]' on a machine with NVIDIA GPUs"


def import_nccl():
    """``(cupy, cupy.cuda.nccl)``, or an ImportError that says what is missing."""
    try:
        import cupy
        from cupy.cuda import nccl
    except ImportError as e:
        raise ImportError(
            f"minigrad.distributed: backend 'nccl' needs CuPy built with NCCL ({e}); {GPU_HINT}, "
            "or use backend='mpi' on CPUs"
        ) from e
    if not getattr(nccl, "available", True):
        raise ImportError(f"minigrad.distributed: this CuPy has no NCCL; {GPU_HINT}")
    return cupy, nccl


class NCCLBackend:
    """One NCCL communicator per process, bootstrapped over MPI."""

    name = "nccl"

    def __init__(self, timeout: float | None):
        self.cupy, self.nccl = cupy, nccl = import_nccl()
        self.boot = MPIBackend(timeout)  # ranks, the unique id, object collectives, abort
        self.rank, self.size, self.timeout = self.boot.rank, self.boot.size, timeout
        n_devices = cupy.cuda.runtime.getDeviceCount()
        if n_devices == 0:
            raise RuntimeError("minigrad.distributed: backend 'nccl' found no GPU; use backend='mpi'")
        MPI = self.boot.MPI
        local = self.boot.comm.Split_type(MPI.COMM_TYPE_SHARED)
        self.device = local.Get_rank() % n_devices
        local.Free()
        cupy.cuda.Device(self.device).use()
        unique_id = nccl.get_unique_id() if self.rank == 0 else None
        unique_id = self.boot.broadcast_object(unique_id, 0)
        self.comm = nccl.NcclCommunicator(self.size, unique_id, self.rank)
        self._types = {
            np.dtype(np.int8): nccl.NCCL_INT8, np.dtype(np.uint8): nccl.NCCL_UINT8,
            np.dtype(np.int32): nccl.NCCL_INT32, np.dtype(np.uint32): nccl.NCCL_UINT32,
            np.dtype(np.int64): nccl.NCCL_INT64, np.dtype(np.uint64): nccl.NCCL_UINT64,
            np.dtype(np.float16): nccl.NCCL_FLOAT16, np.dtype(np.float32): nccl.NCCL_FLOAT32,
            np.dtype(np.float64): nccl.NCCL_FLOAT64,
        }
        self._ops = {"sum": nccl.NCCL_SUM, "product": nccl.NCCL_PROD, "max": nccl.NCCL_MAX,
                     "min": nccl.NCCL_MIN}
        # ncclAvg exists from NCCL 2.10 on; before that AVG is a SUM and a division
        self._has_avg = nccl.get_version() >= 21000

    # ------------------------------------------------------------------ helpers
    def _check(self, array, what: str):
        if backend.device_of(array) != "cuda":
            raise TypeError(f"{what}: backend 'nccl' takes CUDA tensors, got a "
                            f"{type(array).__module__}.{type(array).__name__}; move it with .to('cuda')")
        nccl_type = self._types.get(np.dtype(array.dtype))
        if nccl_type is None:
            raise TypeError(f"{what}: backend 'nccl' has no type for dtype {array.dtype}")
        if array.device.id != self.device:
            raise ValueError(f"{what}: tensor is on cuda:{array.device.id} but this rank uses "
                             f"cuda:{self.device}")
        return nccl_type

    def _stream(self) -> int:
        return self.cupy.cuda.get_current_stream().ptr

    def _work(self, name, finish=None, result=None) -> Work:
        event = self.cupy.cuda.Event(disable_timing=True)
        event.record()
        return Work(name, lambda: event.done, finish, self.timeout, result)

    # ------------------------------------------------------------------ collectives
    def all_reduce(self, array, op: str) -> Work:
        nccl_type = self._check(array, "all_reduce")
        native = op != "avg" or (self._has_avg and array.dtype.kind == "f")
        nccl_op = self.nccl.NCCL_AVG if (op == "avg" and native) else self._ops.get(op, self.nccl.NCCL_SUM)
        self.comm.allReduce(array.data.ptr, array.data.ptr, array.size, nccl_type, nccl_op,
                            self._stream())
        if not native:
            array /= self.size  # queued on the same stream, after the sum
        return self._work(f"all_reduce({op}) of {array.dtype} {tuple(array.shape)}")

    def broadcast(self, array, src: int) -> Work:
        nccl_type = self._check(array, "broadcast")
        self.comm.broadcast(array.data.ptr, array.data.ptr, array.size, nccl_type, src,
                            self._stream())
        return self._work(f"broadcast(src={src}) of {array.dtype} {tuple(array.shape)}")

    def all_gather_into(self, out, array) -> Work:
        nccl_type = self._check(array, "all_gather")
        self._check(out, "all_gather")
        self.comm.allGather(array.data.ptr, out.data.ptr, array.size, nccl_type, self._stream())
        return self._work(f"all_gather of {array.dtype} {tuple(array.shape)}")

    def reduce_scatter_into(self, out, array, op: str) -> Work:
        nccl_type = self._check(array, "reduce_scatter")
        self._check(out, "reduce_scatter")
        native = op != "avg" or (self._has_avg and array.dtype.kind == "f")
        nccl_op = self.nccl.NCCL_AVG if (op == "avg" and native) else self._ops.get(op, self.nccl.NCCL_SUM)
        self.comm.reduceScatter(array.data.ptr, out.data.ptr, out.size, nccl_type, nccl_op,
                                self._stream())
        if not native:
            out /= self.size
        return self._work(f"reduce_scatter({op}) of {array.dtype} {tuple(array.shape)}")

    def barrier(self) -> Work:
        """An all-reduce of one number, then the host waits for it (what PyTorch's NCCL barrier does)."""
        token = self.cupy.zeros(1, dtype=np.float32)
        self.all_reduce(token, "sum")
        self.cupy.cuda.get_current_stream().synchronize()
        return self.boot.barrier()

    # ------------------------------------------------------------------ Python objects, life cycle
    def all_gather_object(self, obj) -> list:
        return self.boot.all_gather_object(obj)

    def broadcast_object(self, obj, src: int):
        return self.boot.broadcast_object(obj, src)

    def abort(self, code: int = 1) -> None:
        try:
            self.comm.abort()  # frees NCCL's resources without waiting for the peers
        finally:
            self.boot.abort(code)

    def close(self) -> None:
        self.cupy.cuda.get_current_stream().synchronize()
        self.comm.destroy()
        self.boot.close()
