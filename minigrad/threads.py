"""Threads inside one op on the CPU (PyTorch's intra-op parallelism): `set_num_threads`.

NumPy runs a matrix product on every core (OpenBLAS has its own threads) but an
elementwise ufunc on one. In a Transformer's training step the elementwise work (the
exact GELU, softmax, LayerNorm) and the small batched products of attention are about
half of the time, so on a 2-core machine one core idles for half the step while
PyTorch keeps both busy with one pool of threads for everything.

minigrad does the same with `blockwise`. A ufunc (and a BLAS call) releases Python's
GIL while it loops, so an op whose rows are independent can cut its arrays into ``n``
blocks of rows (views, no copy) and run its whole computation on each block in its own
thread. The ops that do: the exact GELU and LayerNorm (forward and backward, row
blocks), attention (blocks of the batch), the convolution's input gradient (blocks of
samples) and big matrix products (`split_product`: blocks of rows of the left factor).
Each op's code is its formula written for one block; on one thread, for a small input
or on a GPU, the block is the whole array. Elementwise chains give the same values bit
for bit on any number of threads; a product cut into blocks may differ in the last bits
(the BLAS sums in another order).

**One pool, so the BLAS runs on one thread.** When minigrad first runs an op on several
threads, it sets the BLAS library to one thread (through ``threadpoolctl``): with its
own threads as well, n x n threads would fight over n cores, and OpenBLAS's idle
threads spin for a while after each product, taking the core the next elementwise
block needs. This setting is process-wide: NumPy products in your own code then run on
one thread too (``threadpoolctl.threadpool_limits`` sets it back).

The default number of threads is ``OMP_NUM_THREADS`` if set, else the number of cores
this process may use, as PyTorch's.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["set_num_threads", "get_num_threads", "blockwise", "split_product"]

#: Below this many elements per thread, handing a block to another thread (~20-50 µs)
#: costs more than it saves: a ufunc pass over 64K float32 takes about 15 µs.
MIN_ELEMENTS_PER_THREAD = 1 << 16

#: Below this many multiply-adds per thread (about 200 µs of work) a matrix product stays
#: in one piece: the main job's (128, 784) @ (784, 128) does (measured: cut in two it took
#: 0.39 ms against 0.21 ms on OpenBLAS's threads), a Transformer layer's (2048, 128) @ (128, 128)
#: does not (0.51 ms against 0.62 ms).
MIN_PRODUCT_PER_THREAD = 1 << 23


def _default_threads() -> int:
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


_num_threads = _default_threads()
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_in_worker = threading.local()  # set in the pool's threads: a block never cuts itself again


def get_num_threads() -> int:
    """Returns the number of threads minigrad uses for one op on the CPU (``torch.get_num_threads``)."""
    return _num_threads


def set_num_threads(num_threads: int) -> None:
    """Sets the number of threads used for one op on the CPU (``torch.set_num_threads``).

    minigrad runs big ops in blocks on this many threads (`blockwise`) and sets the BLAS
    library to one thread (see the module docstring). ``set_num_threads(1)`` runs
    everything in the calling thread.

    Args:
        num_threads: a positive int.

    Raises:
        RuntimeError: if ``num_threads`` is not a positive int (PyTorch's error type).
    """
    global _num_threads, _pool
    if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
        raise RuntimeError(f"set_num_threads: expected a positive number of threads, got {num_threads!r}")
    with _pool_lock:
        _num_threads = num_threads
        if _pool is not None:
            _pool.shutdown(wait=True)
            _pool = None
    _blas_on_one_thread()


def _mark_worker():
    _in_worker.active = True


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _blas_on_one_thread()
            _pool = ThreadPoolExecutor(max_workers=_num_threads - 1, thread_name_prefix="minigrad",
                                       initializer=_mark_worker)
        return _pool


def _forget_pool_after_fork():
    """A forked child has none of the parent's threads: it starts its own pool when needed."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)

_blas_libraries = None  # threadpoolctl's controllers of the loaded BLAS libraries, found once


def _blas() -> list:
    global _blas_libraries
    if _blas_libraries is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # a dependency, but keep working without it: the BLAS keeps its threads
            _blas_libraries = []
        else:
            _blas_libraries = ThreadpoolController().select(user_api="blas").lib_controllers
    return _blas_libraries


def _blas_on_one_thread() -> None:
    for lib in _blas():
        lib.set_num_threads(1)


def _blocks(n: int, parts: int) -> list[slice]:
    bounds = [n * i // parts for i in range(parts + 1)]
    return [slice(bounds[i], bounds[i + 1]) for i in range(parts)]


def split_product(a, b) -> bool:
    """Should the product ``a @ b`` of two NumPy matrices run in row blocks of ``a`` on
    minigrad's threads? Yes with several threads and at least `MIN_PRODUCT_PER_THREAD`
    multiply-adds per thread."""
    return (_num_threads > 1 and type(a) is np.ndarray and type(b) is np.ndarray
            and a.ndim == 2 and b.ndim == 2 and a.shape[0] >= 16
            and a.shape[0] * a.shape[1] * b.shape[1] >= 2 * MIN_PRODUCT_PER_THREAD)


def blockwise(fn, *arrays, shared=(), min_elements: int = MIN_ELEMENTS_PER_THREAD) -> None:
    """Runs ``fn(*blocks, *shared)`` on row blocks of ``arrays``, on up to `get_num_threads` threads.

    Args:
        fn: computes on one block and writes its results into the output arrays among
            its arguments (it returns nothing); rows must be independent of each other.
        *arrays: NumPy arrays with the same length along axis 0, each cut into the same
            blocks of rows (views, no copy); None is passed as None. For an elementwise
            chain pass flat views (``a.reshape(-1)`` of C-contiguous arrays).
        shared: arguments passed whole to every call (masks, weights, scalars).
        min_elements: the fewest elements of ``arrays[0]`` worth a thread (0: the caller
            has decided, as a product does with `split_product`).

    One thread, a small input, another array type (CuPy) or a call from inside a block
    runs ``fn(*arrays, *shared)`` in the calling thread. An exception in any block is
    raised here, after every block has finished.
    """
    first = arrays[0]
    if _num_threads < 2 or first.size < 2 * min_elements:  # the common small case, first
        fn(*arrays, *shared)
        return
    rows = first.shape[0] if first.ndim else 0
    parts = min(_num_threads, rows, first.size // min_elements if min_elements else rows)
    if (parts < 2 or getattr(_in_worker, "active", False)
            or not all(a is None or (type(a) is np.ndarray and a.ndim and a.shape[0] == rows)
                       for a in arrays)):
        fn(*arrays, *shared)
        return
    blocks = _blocks(rows, parts)

    def cut(block):
        return (None if a is None else a[block] for a in arrays)

    pool = _executor()
    futures = [pool.submit(fn, *cut(b), *shared) for b in blocks[1:]]
    try:
        fn(*cut(blocks[0]), *shared)  # this thread takes the first block
    finally:
        for future in futures:
            future.result()
