"""Every collective on every dtype and size, checked against what NumPy computes locally.

Run as ``mpiexec -n N python collectives.py``; prints ``collectives ok`` on rank 0.
Each rank's data is a function of its rank, so every rank can compute the expected
result of a collective by itself.
"""

import numpy as np

import minigrad
import minigrad.distributed as dist

dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()
assert dist.is_initialized() and dist.get_backend() == "mpi"

SHAPES = [(), (1,), (3, 4), (2, 3, 5), (1 << 18,)]   # 0-d .. 2 MiB of float64
DTYPES = [np.float32, np.float64, np.int64]


def value(r, shape, dtype):
    """Rank r's tensor: distinct per rank and element, exact in every dtype."""
    n = int(np.prod(shape))
    return ((np.arange(n) % 7 + 1) * (r + 1) - 3 * r).reshape(shape).astype(dtype)


all_ranks = lambda shape, dtype: np.stack([value(r, shape, dtype) for r in range(world)])  # noqa: E731

for dtype in DTYPES:
    for shape in SHAPES:
        every = all_ranks(shape, dtype)
        ops = [(dist.ReduceOp.SUM, every.sum(0)), (dist.ReduceOp.MAX, every.max(0)),
               (dist.ReduceOp.MIN, every.min(0)), (dist.ReduceOp.PRODUCT, every.prod(0))]
        if np.dtype(dtype).kind == "f":
            ops.append((dist.ReduceOp.AVG, every.sum(0) / world))
        for op, expected in ops:
            t = minigrad.tensor(value(rank, shape, dtype))
            memory = t._data  # the collective must write into this very array
            version = t._version
            dist.all_reduce(t, op=op)
            assert t._data is memory, "all_reduce replaced the array instead of writing in place"
            assert t._version == version + 1, "all_reduce did not bump the version counter"
            assert t.dtype == dtype and t.shape == shape, (t.dtype, t.shape)
            np.testing.assert_allclose(t.numpy(), expected.astype(dtype), rtol=1e-6,
                                       err_msg=f"all_reduce {op} {dtype} {shape}")

        # broadcast from the last rank
        t = minigrad.tensor(value(rank, shape, dtype))
        dist.broadcast(t, src=world - 1)
        np.testing.assert_array_equal(t.numpy(), value(world - 1, shape, dtype))

        # all_gather into a list, and into one tensor
        outs = [minigrad.zeros(*shape, dtype=dtype) if shape else minigrad.tensor(np.zeros((), dtype))
                for _ in range(world)]
        dist.all_gather(outs, minigrad.tensor(value(rank, shape, dtype)))
        for r in range(world):
            np.testing.assert_array_equal(outs[r].numpy(), value(r, shape, dtype))
        big = minigrad.tensor(np.zeros((world,) + shape, dtype))
        dist.all_gather_into_tensor(big, minigrad.tensor(value(rank, shape, dtype)))
        np.testing.assert_array_equal(big.numpy(), every)

# reduce_scatter: rank r gets the sum over ranks of piece r
pieces = [minigrad.tensor(np.full((2, 3), 10.0 * r + rank)) for r in range(world)]
out = minigrad.tensor(np.zeros((2, 3)))
dist.reduce_scatter(out, pieces, op=dist.ReduceOp.SUM)
np.testing.assert_array_equal(out.numpy(), np.full((2, 3), sum(10.0 * rank + s for s in range(world))))
out = minigrad.tensor(np.zeros(4))
dist.reduce_scatter_tensor(out, minigrad.tensor(np.arange(4.0 * world) * (rank + 1)), op=dist.ReduceOp.AVG)
expected = np.arange(4.0 * world)[4 * rank:4 * rank + 4] * sum(s + 1 for s in range(world)) / world
np.testing.assert_allclose(out.numpy(), expected)

# async: start, then wait; AVG's division happens at wait()
t = minigrad.tensor(np.full(1000, float(rank)))
work = dist.all_reduce(t, op=dist.ReduceOp.AVG, async_op=True)
assert work.wait() is True and work.is_completed()
np.testing.assert_allclose(t.numpy(), np.full(1000, (world - 1) / 2))

# raw NumPy arrays work too (no Tensor needed), and errors are clear
a = np.ones(3)
dist.all_reduce(a)
assert (a == world).all()
for bad, exc, words in [
    (lambda: dist.all_reduce(minigrad.tensor(np.ones((4, 4)))[:, 1]), (ValueError, TypeError), ""),
    (lambda: dist.all_reduce(np.ones((4, 4))[:, 1]), ValueError, "not contiguous"),
    (lambda: dist.all_reduce(minigrad.tensor(np.ones(2, np.int64)), op=dist.ReduceOp.AVG), TypeError, "AVG"),
    (lambda: dist.all_reduce(np.ones(2), op="sum"), TypeError, "ReduceOp"),
    (lambda: dist.broadcast(np.ones(2), src=world), ValueError, "src"),
    (lambda: dist.all_gather([np.ones(2)], np.ones(2)) if world > 1 else (_ for _ in ()).throw(ValueError("ranks")), ValueError, "ranks"),
    (lambda: dist.init_process_group("mpi"), ValueError, "twice"),
]:
    try:
        bad()
    except exc as e:
        assert words in str(e), (words, str(e))
    else:
        raise AssertionError(f"no error for case expecting {words!r}")

objs = [None] * world
dist.all_gather_object(objs, {"rank": rank})
assert objs == [{"rank": r} for r in range(world)]
box = [f"from {rank}"]
dist.broadcast_object_list(box, src=0)
assert box == ["from 0"]

dist.barrier()
dist.destroy_process_group()
assert not dist.is_initialized()
if rank == 0:
    print(f"collectives ok on {world} ranks")
