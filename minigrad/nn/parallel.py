"""Data-parallel training: `DistributedDataParallel` (PyTorch's name and arguments).

Each of N processes holds a full copy of the model and computes the gradient of
the loss on its own shard of the batch. If the shards have equal size B and the
loss is a mean, the full-batch gradient is the average of the shard gradients:

$$\\nabla_\\theta \\frac{1}{NB}\\sum_{i=1}^{NB} \\ell_i
  = \\frac{1}{N}\\sum_{r=1}^{N} \\Big(\\nabla_\\theta \\frac{1}{B}\\sum_{i \\in r} \\ell_i\\Big),$$

so after one all-reduce (AVG) of the gradients every rank takes exactly the step
that one process would take on the whole batch, and the copies stay identical.

How the gradients are averaged, as PyTorch does it:

* parameters are grouped into **buckets** of about ``bucket_cap_mb`` megabytes
  (in reverse order of ``parameters()``, roughly the order backward produces
  them), each bucket one flat buffer, so one all-reduce carries many small
  tensors (a collective has a fixed latency cost, whatever its size);
* a bucket's all-reduce is **started non-blocking** (``Iallreduce``) as soon as the
  last of its gradients is computed, while backward goes on with earlier layers;
* buckets are always started in the same order on every rank (a bucket that is
  ready before its predecessors waits for them), because MPI and NCCL match
  collectives by the order in which they are called.

**How DDP knows that a gradient is ready.** During a forward pass with gradients
on, DDP runs the module with each parameter ``p`` replaced by ``gradient_hook(p, ...)``, an
identity op. The engine calls an op's backward only once the gradient of its output
is complete (every consumer has added its share), so the hook's backward is
exactly "the gradient of ``p`` is ready": it copies it into the bucket, and writes
the averaged result into ``p.grad`` when all buckets are done. (PyTorch registers a
hook on each parameter's gradient accumulator for the same purpose.)

Differences from PyTorch, on purpose:

* ``state_dict()`` has the wrapped module's keys, without PyTorch's ``module.``
  prefix, so a checkpoint saved from a DDP run loads into a plain model;
  ``load_state_dict`` accepts both forms.
* Under ``no_grad()`` the forward does not communicate at all (evaluation on
  rank 0 alone is safe).
"""

from __future__ import annotations

import contextlib
import functools
from collections import OrderedDict

from minigrad import backend
from minigrad import distributed as dist
from minigrad.nn.module import Module
from minigrad.ops.hook import gradient_hook
from minigrad.tensor import Tensor, is_grad_enabled

__all__ = ["DistributedDataParallel"]


class _Bucket:
    """Parameters whose gradients travel together in one flat buffer."""

    def __init__(self, indices, params):
        self.indices = indices                      # positions in the DDP's parameter list
        self.offsets, total = [], 0
        for i in indices:
            self.offsets.append(total)
            total += params[i].numel()
        first = params[indices[0]]
        xp = backend.get_array_module(first._data)
        self.buffer = xp.zeros(total, dtype=first.dtype)
        self.pending = len(indices)
        self.work = None

    def reset(self) -> None:
        self.pending = len(self.indices)
        self.work = None


class _Reducer:
    """The gradient averaging of one forward/backward: buckets, readiness, write-back."""

    def __init__(self, names, params, bucket_cap_bytes: int, find_unused: bool):
        self.names, self.params, self.find_unused = names, params, find_unused
        self.buckets = _build_buckets(params, bucket_cap_bytes)
        self.where = {}  # parameter index -> (bucket, offset)
        for bucket in self.buckets:
            for i, offset in zip(bucket.indices, bucket.offsets):
                self.where[i] = (bucket, offset)
        self.active = False
        self.backward_started = False
        self.ready = [False] * len(params)
        self.used = [False] * len(params)

    # ------------------------------------------------------------------ one iteration
    def prepare(self) -> None:
        """A new forward with gradient sync: forget the previous iteration's state."""
        if self.active and self.backward_started:
            missing = [self.names[i] for i, r in enumerate(self.ready) if not r]
            self.active = False
            raise RuntimeError(
                "DistributedDataParallel: expected to have finished reduction in the prior iteration "
                "before starting a new one. This error indicates that your module has parameters "
                "that were not used in producing loss: "
                + ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
                + ". Pass find_unused_parameters=True to DistributedDataParallel, or make sure "
                "every forward output takes part in the loss."
            )
        for bucket in self.buckets:
            bucket.reset()
        self.ready = [False] * len(self.params)
        self.used = [False] * len(self.params)
        self.next_bucket = 0
        self.backward_started = False
        self.launched_at = []  # how many gradients were ready when each bucket started (overlap)
        self.active = True

    def mark_unused(self, reached: set) -> None:
        """After forward (find_unused_parameters): parameters the graph does not reach will
        never get a gradient here, so they are ready now (with what their .grad holds)."""
        for i in range(len(self.params)):
            if i not in reached:
                self._fill(i, None)

    def mark_ready(self, i: int, g) -> None:
        if not self.active:
            raise RuntimeError(
                "DistributedDataParallel: a backward went through the output of an earlier forward "
                "(or a second backward through the same one); call the DDP model once per backward"
            )
        if self.ready[i]:
            raise RuntimeError(f"DistributedDataParallel: parameter {self.names[i]} was marked "
                               "ready twice in one backward (retain_graph and a second backward?)")
        self.used[i] = True
        self.backward_started = True
        self._fill(i, g)

    def _fill(self, i: int, g) -> None:
        """Put the gradient of parameter i (plus what .grad already holds: accumulation
        under no_sync) into its bucket; start every bucket that can start."""
        p = self.params[i]
        bucket, offset = self.where[i]
        slot = bucket.buffer[offset:offset + p.numel()]
        if g is None:
            slot[...] = 0
        else:
            slot[...] = g.reshape(-1)
        if p.grad is not None:
            slot += p.grad._data.reshape(-1)
        self.ready[i] = True
        bucket.pending -= 1
        self._launch_ready_buckets()
        for b in self.buckets[:self.next_bucket]:
            if b.work is not None:
                b.work.is_completed()  # let MPI move data while backward goes on
        if self.next_bucket == len(self.buckets):
            self._finish()

    def _launch_ready_buckets(self) -> None:
        # in bucket order on every rank: collectives are matched by call order
        while self.next_bucket < len(self.buckets) and self.buckets[self.next_bucket].pending == 0:
            bucket = self.buckets[self.next_bucket]
            bucket.work = dist.all_reduce(bucket.buffer, op=dist.ReduceOp.AVG, async_op=True)
            self.launched_at.append(sum(self.ready))
            self.next_bucket += 1

    def _finish(self) -> None:
        """Wait for every bucket, then write the averaged gradients into ``p.grad``."""
        for bucket in self.buckets:
            bucket.work.wait()
        used = self.used
        if self.find_unused:
            # used on any rank? (a parameter no rank used keeps its .grad untouched, as in PyTorch)
            everyone = [None] * dist.get_world_size()
            dist.all_gather_object(everyone, used)
            used = [any(flags) for flags in zip(*everyone)]
        for bucket in self.buckets:
            for i, offset in zip(bucket.indices, bucket.offsets):
                if self.find_unused and not used[i]:
                    continue
                p = self.params[i]
                p.grad = Tensor._wrap(bucket.buffer[offset:offset + p.numel()].reshape(p.shape).copy())
        self.active = False


def _build_buckets(params, cap_bytes: int) -> list:
    """Consecutive parameters (in reverse order) up to ``cap_bytes`` per bucket; a bucket holds
    one dtype on one device, and a parameter larger than the cap gets a bucket of its own."""
    buckets, current, size, key = [], [], 0, None
    for i in reversed(range(len(params))):
        p = params[i]
        nbytes = p.numel() * p.dtype.itemsize
        p_key = (p.dtype, p.device)
        if current and (p_key != key or size + nbytes > cap_bytes):
            buckets.append(current)
            current, size = [], 0
        current.append(i)
        size += nbytes
        key = p_key
    if current:
        buckets.append(current)
    return [_Bucket(indices, params) for indices in buckets]


class DistributedDataParallel(Module):
    """Wrap ``module`` so that ``backward()`` averages its gradients across all ranks.

    >>> dist.init_process_group("mpi")                  # under mpiexec -n N
    >>> model = DistributedDataParallel(build_model())  # every rank starts from rank 0's weights
    >>> optimizer = optim.SGD(model.parameters(), lr=0.1)
    >>> loss = F.cross_entropy(model(x_shard), y_shard)  # this rank's share of the batch
    >>> loss.backward()                                 # gradients averaged over the ranks
    >>> optimizer.step()                                # the same step on every rank

    Args:
        module: the model; every rank must build the same architecture.
        device_ids: accepted for PyTorch compatibility; each process uses its current
            device (set by the ``nccl`` backend).
        output_device: accepted for PyTorch compatibility, like ``device_ids``.
        broadcast_buffers: copy rank 0's buffers (BatchNorm running statistics) to every
            rank at each forward with gradients on, so the copies stay identical.
        bucket_cap_mb: the size of a gradient bucket in megabytes (default 25, PyTorch's).
        find_unused_parameters: walk the graph after each forward to find parameters that
            will get no gradient (a branch not taken), so the reduction does not wait for them.
            Without it, such a parameter makes the next forward raise (PyTorch's behaviour).

    Raises:
        ValueError: at construction, when the ranks' models differ (a parameter's
            name, shape or dtype), naming the parameter and the ranks.
    """

    def __init__(self, module: Module, device_ids=None, output_device=None,
                 broadcast_buffers: bool = True, bucket_cap_mb: float = 25,
                 find_unused_parameters: bool = False):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected an nn.Module, got {type(module).__name__}")
        if not dist.is_initialized():
            raise ValueError("DistributedDataParallel: the default process group has not been "
                             "initialized; call minigrad.distributed.init_process_group() first")
        if not bucket_cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be > 0, got {bucket_cap_mb}")
        self.module = module
        self.device_ids, self.output_device = device_ids, output_device
        self.broadcast_buffers = broadcast_buffers
        self.bucket_cap_mb = bucket_cap_mb
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True
        self.world_size = dist.get_world_size()
        _check_same_model_on_every_rank(module)
        self._sync_from_rank0([t for _, t in module._state_tensors().items()])
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        self._names = [n for n, _ in named]
        self._params = [p for _, p in named]
        self._reducer = (_Reducer(self._names, self._params, int(bucket_cap_mb * 1024 * 1024),
                                  find_unused_parameters) if self._params else None)

    # ------------------------------------------------------------------ forward
    def forward(self, *args, **kwargs):
        if not is_grad_enabled():
            return self.module(*args, **kwargs)  # evaluation: no communication
        if self.broadcast_buffers and self.world_size > 1:
            self._sync_from_rank0([b for _, b in self.module.named_buffers()])
        if not self.require_backward_grad_sync or self._reducer is None:
            return self.module(*args, **kwargs)  # no_sync(): gradients accumulate locally
        self._reducer.prepare()
        gates = {id(p): gradient_hook(p, functools.partial(self._reducer.mark_ready, i))
                 for i, p in enumerate(self._params)}
        with _parameters_replaced(self.module, gates):
            out = self.module(*args, **kwargs)
        if self.find_unused_parameters:
            self._reducer.mark_unused(_reached_gates(out, gates, self._params))
        return out

    @contextlib.contextmanager
    def no_sync(self):
        """Within this block, forward/backward accumulate gradients locally without any
        communication; the first synced backward after it averages the sum.

        >>> with model.no_sync():
        ...     loss_fn(model(x1), y1).backward()   # local accumulation
        >>> loss_fn(model(x2), y2).backward()       # averages (g1 + g2) over the ranks
        """
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    # ------------------------------------------------------------------ state, without a prefix
    def state_dict(self, *args, **kwargs) -> OrderedDict:
        """The wrapped module's ``state_dict()``: keys without PyTorch's ``module.`` prefix."""
        return self.module.state_dict(*args, **kwargs)

    def load_state_dict(self, state_dict, strict: bool = True):
        """Load into the wrapped module; keys may carry PyTorch's ``module.`` prefix or not."""
        keys = list(state_dict)
        if keys and all(k.startswith("module.") for k in keys):
            state_dict = OrderedDict((k[len("module."):], v) for k, v in state_dict.items())
        return self.module.load_state_dict(state_dict, strict=strict)

    def extra_repr(self) -> str:
        return (f"world_size={self.world_size}, bucket_cap_mb={self.bucket_cap_mb:g}, "
                f"find_unused_parameters={self.find_unused_parameters}")

    # ------------------------------------------------------------------ helpers
    def _sync_from_rank0(self, tensors) -> None:
        """Copy rank 0's values into ``tensors`` on every rank (in place, in order)."""
        if self.world_size == 1:
            return
        for t in tensors:
            if not t._data.flags.c_contiguous:
                t._data = t._data.copy()
            dist.broadcast(t._data, src=0)


def _check_same_model_on_every_rank(module: Module) -> None:
    """Compare every rank's parameter/buffer names, shapes and dtypes with rank 0's; raise the
    same ValueError on every rank (so none is left waiting) naming the first difference."""
    mine = [(name, tuple(t.shape), str(t.dtype)) for name, t in module._state_tensors().items()]
    everyone = [None] * dist.get_world_size()
    dist.all_gather_object(everyone, mine)
    reference = everyone[0]
    for rank, theirs in enumerate(everyone[1:], start=1):
        for j in range(max(len(reference), len(theirs))):
            ref = reference[j] if j < len(reference) else None
            got = theirs[j] if j < len(theirs) else None
            if ref == got:
                continue
            if ref is None or got is None or ref[0] != got[0]:
                raise ValueError(
                    f"DistributedDataParallel: the ranks built different models: entry {j} of the "
                    f"state is {ref and ref[0]!r} on rank 0 but {got and got[0]!r} on rank {rank}")
            what = "shape" if ref[1] != got[1] else "dtype"
            raise ValueError(
                f"DistributedDataParallel: parameter {ref[0]!r} has {what} "
                f"{ref[1] if what == 'shape' else ref[2]} on rank 0 but "
                f"{got[1] if what == 'shape' else got[2]} on rank {rank}; every rank must build "
                "the same model")


@contextlib.contextmanager
def _parameters_replaced(module: Module, gates: dict):
    """Temporarily put ``gates[id(p)]`` where each parameter ``p`` is registered (tied weights
    share one gate), and put the parameters back afterwards, even if forward raised."""
    saved = []
    for m in module.modules():
        registry = m.__dict__["_parameters"]
        for name, p in registry.items():
            if p is not None and id(p) in gates:
                saved.append((registry, name, p))
                registry[name] = gates[id(p)]
    try:
        yield
    finally:
        for registry, name, p in saved:
            registry[name] = p


def _reached_gates(outputs, gates: dict, params) -> set:
    """Indices of the parameters whose gate the graph of ``outputs`` reaches."""
    index_of_gate = {id(gates[id(p)]): i for i, p in enumerate(params)}
    reached, seen = set(), set()
    stack = [t for t in _tensors_in(outputs)]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if id(t) in index_of_gate:
            reached.add(index_of_gate[id(t)])
            continue
        fn = t._ctx
        if fn is not None and not fn.released:
            stack.extend(x for x in fn.inputs if x.requires_grad)
    return reached


def _tensors_in(obj):
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            yield from _tensors_in(o)
    elif isinstance(obj, dict):
        for o in obj.values():
            yield from _tensors_in(o)
