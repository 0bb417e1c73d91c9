"""Dynamic batching: coalesce concurrent requests for one model into one forward pass.

Each served model has one worker thread and a bounded queue. A request puts
``(arrays, future)`` on the queue and waits on the future. The worker takes the
first waiting request, then keeps taking requests until the batch holds
``max_batch_size`` rows or ``batch_delay`` seconds have passed since it took the
first one; it concatenates the inputs along the batch dimension (requests whose
other dimensions differ, e.g. sequence lengths, run as separate groups), runs
the model once, and splits the outputs back by row count. Under load requests
pile up while a batch runs, so the next batch fills without any waiting even
with ``batch_delay = 0``.

Why it pays: the cost of a forward pass of a small model is dominated by fixed
per-call overhead (Python, dispatch, one matrix product per layer), so one pass
over 32 rows costs far less than 32 passes over one row.

A batch that fails is retried request by request, so one bad request cannot
fail the others that happened to share its batch.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

import numpy as np

__all__ = ["DynamicBatcher", "QueueFull"]

log = logging.getLogger("minigrad.serve")
_STOP = object()


class QueueFull(Exception):
    """The model's request queue is full (HTTP 503)."""


class _Item:
    __slots__ = ("arrays", "rows", "future", "key")

    def __init__(self, arrays: dict):
        self.arrays = arrays
        self.rows = next(iter(arrays.values())).shape[0]
        self.future: Future = Future()
        # requests can share a forward only if all their non-batch dimensions agree
        self.key = tuple((name, a.shape[1:], a.dtype.str) for name, a in sorted(arrays.items()))


class DynamicBatcher:
    """One worker thread running ``run(arrays) -> dict of arrays`` over coalesced requests.

    Args:
        run: the model: a dict of input arrays (batch first) to a dict of output arrays.
        max_batch_size: most rows per forward (1 turns batching off).
        batch_delay: seconds the worker waits for more requests after the first one.
        max_queue: most requests waiting; `submit` raises `QueueFull` beyond.
        on_batch: called with the number of rows of each forward (for metrics).
        name: the thread's name.
    """

    def __init__(self, run: Callable, max_batch_size: int = 32, batch_delay: float = 0.002,
                 max_queue: int = 256, on_batch: Callable | None = None, name: str = "model"):
        if max_batch_size < 1 or max_queue < 1 or batch_delay < 0:
            raise ValueError("DynamicBatcher: max_batch_size and max_queue must be >= 1, "
                             "batch_delay >= 0")
        self.run, self.max_batch_size, self.batch_delay = run, max_batch_size, batch_delay
        self.on_batch = on_batch
        self._queue: queue.Queue = queue.Queue(maxsize=max_queue)
        self._carry: _Item | None = None  # taken from the queue but did not fit the last batch
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name=f"minigrad-serve-{name}",
                                        daemon=True)
        self._thread.start()

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize()

    def submit(self, arrays: dict) -> Future:
        """Queue one request; the future gets its dict of output arrays (or its exception)."""
        item = _Item(arrays)
        with self._lock:
            if self._closed:
                raise QueueFull("the server is shutting down")
            try:
                self._queue.put_nowait(item)
            except queue.Full:
                raise QueueFull(f"the request queue is full ({self._queue.maxsize} waiting)") from None
        return item.future

    def close(self, timeout: float | None = None) -> None:
        """Finish every queued request, then stop the worker thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._queue.put(_STOP)  # blocks only while the queue is full, which the worker drains
        self._thread.join(timeout)

    # ------------------------------------------------------------------ the worker thread

    def _next_batch(self) -> list | None:
        first = self._carry if self._carry is not None else self._queue.get()
        self._carry = None
        if first is _STOP:
            return None
        batch, rows = [first], first.rows
        deadline = time.monotonic() + self.batch_delay
        while rows < self.max_batch_size:
            try:
                wait = deadline - time.monotonic()
                item = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP or rows + item.rows > self.max_batch_size:
                self._carry = item
                break
            batch.append(item)
            rows += item.rows
        return batch

    def _loop(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            groups: dict = {}
            for item in batch:
                groups.setdefault(item.key, []).append(item)
            for items in groups.values():
                self._run_group(items)

    def _run_group(self, items: list) -> None:
        if len(items) == 1:
            self._run_alone(items[0])
            return
        names = list(items[0].arrays)
        stacked = {n: np.concatenate([it.arrays[n] for it in items]) for n in names}
        try:
            outputs = self.run(stacked)
        except Exception:
            log.warning("a batch of %d requests failed; running them one by one", len(items))
            for item in items:
                self._run_alone(item)
            return
        if self.on_batch is not None:
            self.on_batch(sum(it.rows for it in items))
        start = 0
        for item in items:
            stop = start + item.rows
            item.future.set_result({k: v[start:stop] for k, v in outputs.items()})
            start = stop

    def _run_alone(self, item: _Item) -> None:
        try:
            result = self.run(item.arrays)
        except BaseException as error:  # noqa: B036 - the waiting request must hear of it
            item.future.set_exception(error)
            return
        if self.on_batch is not None:
            self.on_batch(item.rows)
        item.future.set_result(result)
