"""The MPI backend: collectives on NumPy buffers through mpi4py.

Every collective hands MPI the NumPy array itself (the buffer protocol: MPI
reads and writes the tensor's memory, no copy) and is started non-blocking
(``Iallreduce``, ``Ibcast``...). A blocking call is the same call followed by
``Work.wait()``, which polls against the group's timeout, so a collective whose
peers died or never came ends with an error instead of hanging forever.

CuPy arrays are staged through host memory (the ``mpich`` wheel is not
CUDA-aware); on GPUs use the ``nccl`` backend instead.
"""

from __future__ import annotations

import numpy as np

from minigrad.distributed._work import Work

INSTALL_HINT = "pip install 'minigrad-edu[distributed]'  (mpi4py and the mpich wheel)"


def import_mpi():
    """``mpi4py.MPI``, or an ImportError that says how to install it."""
    try:
        from mpi4py import MPI
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"minigrad.distributed: backend 'mpi' needs mpi4py and an MPI library: {INSTALL_HINT}"
            f" ({e})"
        ) from e
    return MPI


class MPIBackend:
    """One process group on a duplicate of ``MPI.COMM_WORLD`` (our messages never meet
    the user's own mpi4py traffic)."""

    name = "mpi"

    def __init__(self, timeout: float | None):
        self.MPI = MPI = import_mpi()
        self.comm = MPI.COMM_WORLD.Dup()
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        self.timeout = timeout
        self._types = {
            np.dtype(np.float32): MPI.FLOAT, np.dtype(np.float64): MPI.DOUBLE,
            np.dtype(np.int8): MPI.INT8_T, np.dtype(np.uint8): MPI.UINT8_T,
            np.dtype(np.int32): MPI.INT32_T, np.dtype(np.int64): MPI.INT64_T,
            np.dtype(np.uint32): MPI.UINT32_T, np.dtype(np.uint64): MPI.UINT64_T,
            np.dtype(np.bool_): MPI.C_BOOL,
            np.dtype(np.complex64): MPI.C_FLOAT_COMPLEX,
            np.dtype(np.complex128): MPI.C_DOUBLE_COMPLEX,
        }
        self._ops = {"sum": MPI.SUM, "product": MPI.PROD, "max": MPI.MAX, "min": MPI.MIN}

    # ------------------------------------------------------------------ helpers
    def _buffer(self, array, what: str):
        """``[array, MPI type]``: MPI reads/writes the array's own memory."""
        mpi_type = self._types.get(array.dtype)
        if mpi_type is None:
            raise TypeError(f"{what}: backend 'mpi' has no MPI type for dtype {array.dtype}; "
                            f"supported: {', '.join(str(d) for d in self._types)}")
        return [array, mpi_type]

    def _work(self, name, request, finish=None, result=None) -> Work:
        return Work(name, request.Test, finish, self.timeout, result)

    # ------------------------------------------------------------------ collectives
    def all_reduce(self, array, op: str) -> Work:
        name = f"all_reduce({op}) of {array.dtype} {tuple(array.shape)}"
        request = self.comm.Iallreduce(self.MPI.IN_PLACE, self._buffer(array, "all_reduce"),
                                       self._ops["sum" if op == "avg" else op])

        def finish():
            if op == "avg":
                array[...] /= self.size

        return self._work(name, request, finish)

    def broadcast(self, array, src: int) -> Work:
        name = f"broadcast(src={src}) of {array.dtype} {tuple(array.shape)}"
        return self._work(name, self.comm.Ibcast(self._buffer(array, "broadcast"), root=src))

    def all_gather_into(self, out, array) -> Work:
        name = f"all_gather of {array.dtype} {tuple(array.shape)}"
        request = self.comm.Iallgather(self._buffer(array, "all_gather"),
                                       self._buffer(out, "all_gather"))
        return self._work(name, request)

    def reduce_scatter_into(self, out, array, op: str) -> Work:
        name = f"reduce_scatter({op}) of {array.dtype} {tuple(array.shape)}"
        request = self.comm.Ireduce_scatter_block(
            self._buffer(array, "reduce_scatter"), self._buffer(out, "reduce_scatter"),
            self._ops["sum" if op == "avg" else op])

        def finish():
            if op == "avg":
                out[...] /= self.size

        return self._work(name, request, finish)

    def barrier(self) -> Work:
        return self._work("barrier", self.comm.Ibarrier())

    # ------------------------------------------------------------------ Python objects (pickled)
    def all_gather_object(self, obj) -> list:
        return self.comm.allgather(obj)

    def broadcast_object(self, obj, src: int):
        return self.comm.bcast(obj, root=src)

    # ------------------------------------------------------------------ life cycle
    def abort(self, code: int = 1) -> None:
        """End every process of the job now (MPI_Abort: the launcher kills them all)."""
        self.MPI.COMM_WORLD.Abort(code)

    def close(self) -> None:
        if self.comm != self.MPI.COMM_NULL:
            self.comm.Free()
