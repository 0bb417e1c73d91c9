"""The NCCL backend's bookkeeping on the CPU stand-in of CuPy. NOT a substitute for a GPU.

``mpiexec -n 2 python nccl_standin.py [old]`` installs ``tests/_cupy_standin.py`` as
``cupy`` and a fake ``cupy.cuda.nccl`` whose communicator carries out each call with
MPI on the host memory behind the pointers it is given. What this checks: that
``minigrad.distributed``'s NCCL backend passes the right pointers, element counts,
dtypes, ops and roots, does ``AVG`` natively (NCCL >= 2.10) or as SUM then a division
(``old``: NCCL 2.9), rejects CPU tensors, and drives DistributedDataParallel on device
arrays. What it cannot check: CUDA streams, kernels, device memory, speed, NVLink.
"""

import ctypes
import os
import sys
import types

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import _cupy_standin as standin  # noqa: E402
from mpi4py import MPI  # noqa: E402

OLD_NCCL = "old" in sys.argv[1:]
TYPES = {0: np.int8, 1: np.uint8, 2: np.int32, 3: np.uint32, 4: np.int64, 5: np.uint64,
         6: np.float16, 7: np.float32, 8: np.float64}
OPS = {0: MPI.SUM, 1: MPI.PROD, 2: MPI.MAX, 3: MPI.MIN}
calls = []


def host(ptr, count, datatype):
    """The host array of ``count`` elements at address ``ptr`` (the stand-in's memory)."""
    dtype = np.dtype(TYPES[datatype])
    raw = (ctypes.c_char * (count * dtype.itemsize)).from_address(ptr)
    return np.frombuffer(raw, dtype=dtype, count=count)


class FakeCommunicator:
    def __init__(self, ndev, unique_id, rank):
        assert len(unique_id) == 128 and ndev == MPI.COMM_WORLD.size and rank == MPI.COMM_WORLD.rank
        everyone = MPI.COMM_WORLD.allgather(unique_id)
        assert all(u == everyone[0] for u in everyone), "ranks got different unique ids"
        self.comm = MPI.COMM_WORLD.Dup()

    def allReduce(self, send, recv, count, datatype, op, stream):  # noqa: N802
        calls.append(("allReduce", count, datatype, op))
        assert op != 4 or not OLD_NCCL, "ncclAvg used on an NCCL without it"
        out = host(recv, count, datatype)
        src = MPI.IN_PLACE if send == recv else host(send, count, datatype)
        self.comm.Allreduce(src, out, op=OPS.get(op, MPI.SUM))
        if op == 4:
            out /= self.comm.size

    def broadcast(self, send, recv, count, datatype, root, stream):
        calls.append(("broadcast", count, datatype, root))
        assert send == recv
        self.comm.Bcast(host(recv, count, datatype), root=root)

    def allGather(self, send, recv, count, datatype, stream):  # noqa: N802
        calls.append(("allGather", count, datatype))
        self.comm.Allgather(host(send, count, datatype), host(recv, count * self.comm.size, datatype))

    def reduceScatter(self, send, recv, recvcount, datatype, op, stream):  # noqa: N802
        calls.append(("reduceScatter", recvcount, datatype, op))
        out = host(recv, recvcount, datatype)
        self.comm.Reduce_scatter_block(host(send, recvcount * self.comm.size, datatype), out,
                                       op=OPS.get(op, MPI.SUM))
        if op == 4:
            out /= self.comm.size

    def abort(self):
        pass

    def destroy(self):
        self.comm.Free()


nccl = types.ModuleType("cupy.cuda.nccl")
nccl.NcclCommunicator = FakeCommunicator
nccl.get_unique_id = lambda: tuple(range(128))
nccl.get_version = lambda: 20900 if OLD_NCCL else 21803
for name, value in dict(NCCL_SUM=0, NCCL_PROD=1, NCCL_MAX=2, NCCL_MIN=3, NCCL_AVG=4, NCCL_INT8=0,
                        NCCL_UINT8=1, NCCL_INT32=2, NCCL_UINT32=3, NCCL_INT64=4, NCCL_UINT64=5,
                        NCCL_FLOAT16=6, NCCL_FLOAT32=7, NCCL_FLOAT64=8).items():
    setattr(nccl, name, value)
standin.install()
standin.cuda.nccl = nccl
sys.modules["cupy.cuda"] = standin.cuda
sys.modules["cupy.cuda.nccl"] = nccl

import minigrad  # noqa: E402
import minigrad.distributed as dist  # noqa: E402
import minigrad.nn.functional as F  # noqa: E402
from minigrad import nn, optim  # noqa: E402
from minigrad.nn.parallel import DistributedDataParallel  # noqa: E402

dist.init_process_group("nccl")
rank, world = dist.get_rank(), dist.get_world_size()
assert dist.get_backend() == "nccl"


def dev(a):
    return minigrad.tensor(a, device="cuda")


for dtype in (np.float32, np.float64, np.int64):
    for shape in ((), (3,), (4, 5)):
        mine = (np.arange(int(np.prod(shape))) + 10 * rank).reshape(shape).astype(dtype)
        every = np.stack([(np.arange(int(np.prod(shape))) + 10 * r).reshape(shape).astype(dtype)
                          for r in range(world)])
        ops = [(dist.ReduceOp.SUM, every.sum(0)), (dist.ReduceOp.MAX, every.max(0)),
               (dist.ReduceOp.MIN, every.min(0))]
        if np.dtype(dtype).kind == "f":
            ops.append((dist.ReduceOp.AVG, every.mean(0)))
        for op, expected in ops:
            t = dev(mine)
            dist.all_reduce(t, op=op)
            assert t.device == "cuda"
            np.testing.assert_allclose(t._data.get(), expected, err_msg=f"{op} {dtype} {shape}")
        t = dev(mine)
        dist.broadcast(t, src=world - 1)
        np.testing.assert_array_equal(t._data.get(), every[-1])
        outs = [dev(np.zeros(shape, dtype)) for _ in range(world)]
        dist.all_gather(outs, dev(mine))
        for r in range(world):
            np.testing.assert_array_equal(outs[r]._data.get(), every[r])

out = dev(np.zeros(3))
dist.reduce_scatter_tensor(out, dev(np.arange(3.0 * world) + rank), op=dist.ReduceOp.AVG)
np.testing.assert_allclose(out._data.get(), np.arange(3.0 * world)[3 * rank:3 * rank + 3] + (world - 1) / 2)
assert dist.all_reduce(dev(np.ones(2)), async_op=True).wait()
dist.barrier()

avg_calls = [c for c in calls if c[0] == "allReduce" and c[3] == 4]
assert (len(avg_calls) == 0) == OLD_NCCL, f"ncclAvg calls: {len(avg_calls)}"
assert ("allReduce", 20, 8, 0) in calls, "a (4, 5) float64 SUM must be 20 elements of NCCL_FLOAT64"

try:
    dist.all_reduce(minigrad.tensor(np.ones(2)))
except TypeError as e:
    assert "takes CUDA tensors" in str(e), e
else:
    raise AssertionError("a CPU tensor was accepted by the nccl backend")

# DDP on device arrays: one SGD step of 2 ranks equals one process on the whole batch
minigrad.manual_seed(rank)
model = DistributedDataParallel(nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double().to("cuda"))
reference = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
reference.load_state_dict({k: v.get() for k, v in model.state_dict().items()})
x = np.random.default_rng(0).standard_normal((2 * world, 3))
y = np.arange(2 * world) % 2
opt, ref_opt = optim.SGD(model.parameters(), lr=0.5), optim.SGD(reference.parameters(), lr=0.5)
F.cross_entropy(model(dev(x[2 * rank:2 * rank + 2])), dev(y[2 * rank:2 * rank + 2])).backward()
opt.step()
F.cross_entropy(reference(minigrad.tensor(x)), minigrad.tensor(y)).backward()
ref_opt.step()
for p, q in zip(model.parameters(), reference.parameters()):
    np.testing.assert_allclose(p._data.get(), q.numpy(), rtol=0, atol=1e-12)

dist.destroy_process_group()
if rank == 0:
    print(f"nccl stand-in ok on {world} ranks ({'NCCL 2.9: AVG as SUM + division' if OLD_NCCL else 'ncclAvg'})")
