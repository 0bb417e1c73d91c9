"""DistributedDataParallel against one process on the whole batch, in float64.

Run as ``mpiexec -n N python ddp.py``; prints ``ddp ok`` on rank 0. Every rank can
build the single-process reference itself (it knows the whole batch), so each
rank checks its own parameters against it.
"""


import numpy as np

import minigrad
import minigrad.distributed as dist
import minigrad.nn.functional as F
from minigrad import nn, optim
from minigrad.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()
TOL = 1e-12
B = 4  # samples per rank per micro-batch


def build(seed):
    minigrad.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(),
                         nn.Linear(16, 3)).double()


def batch(step, n):
    rng = np.random.default_rng(1000 + step)
    return rng.standard_normal((n, 5)), rng.integers(0, 3, n)


def shard(array, r, parts):
    size = len(array) // parts
    return array[r * size:(r + 1) * size]


def close(model_a, model_b, what):
    for (name, a), b in zip(model_a.named_parameters(), model_b.parameters()):
        err = np.abs(a.numpy() - b.numpy()).max()
        assert err <= TOL, f"{what}: {name} differs from the big-batch step by {err:.3g}"


# ------------------------------------------------------------------ construction
ddp = DDP(build(seed=rank), bucket_cap_mb=0.001)  # every rank starts different; tiny buckets: several
reference = build(seed=0)                           # rank 0's initial weights
close(ddp.module, reference, "broadcast at construction")
assert len(ddp._reducer.buckets) > 1, "bucket_cap_mb did not split the gradients"
assert list(ddp.state_dict()) == list(reference.state_dict()), "state_dict keys carry a prefix"
prefixed = {"module." + k: v for k, v in reference.state_dict().items()}
ddp.load_state_dict(prefixed)  # PyTorch-style keys load too
assert [n for n, _ in ddp.named_parameters()][0] == "module.0.weight"
assert ddp.module is not None and isinstance(ddp.module, nn.Sequential)

# the first bucket's all-reduce starts during backward, before the last gradient is computed
F.cross_entropy(ddp(minigrad.tensor(np.ones((2, 5)))), minigrad.tensor(np.array([0, 1]))).backward()
launched_at = ddp._reducer.launched_at
assert len(launched_at) == len(ddp._reducer.buckets), launched_at
assert launched_at[0] < len(ddp._params) == launched_at[-1], launched_at

# ------------------------------------------------------------------ equivalence, SGD momentum and Adam
for name, make in [("SGD momentum", lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True)),
                   ("Adam", lambda ps: optim.Adam(ps, lr=0.01))]:
    ddp = DDP(build(seed=rank))
    reference = build(seed=0)
    opt, ref_opt = make(ddp.parameters()), make(reference.parameters())
    for step in range(3):
        x, y = batch(step, world * B)
        ref_opt.zero_grad()
        F.cross_entropy(reference(minigrad.tensor(x)), minigrad.tensor(y)).backward()
        ref_opt.step()
        opt.zero_grad()
        F.cross_entropy(ddp(minigrad.tensor(shard(x, rank, world))),
                        minigrad.tensor(shard(y, rank, world))).backward()
        opt.step()
        close(ddp.module, reference, f"{name} step {step}")

# ------------------------------------------------------------------ no_sync: 2 micro-batches per rank
ddp = DDP(build(seed=rank))
reference = build(seed=0)
opt, ref_opt = optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9), optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
for step in range(2):
    x, y = batch(10 + step, 2 * world * B)
    ref_opt.zero_grad()
    F.cross_entropy(reference(minigrad.tensor(x)), minigrad.tensor(y)).backward()
    ref_opt.step()
    xs, ys = shard(x, rank, world), shard(y, rank, world)
    opt.zero_grad()
    with ddp.no_sync():
        (F.cross_entropy(ddp(minigrad.tensor(xs[:B])), minigrad.tensor(ys[:B])) / 2).backward()
    local = [p.grad.numpy().copy() for p in ddp.parameters()]
    (F.cross_entropy(ddp(minigrad.tensor(xs[B:])), minigrad.tensor(ys[B:])) / 2).backward()
    opt.step()
    close(ddp.module, reference, f"no_sync accumulation step {step}")
    if world > 1:
        assert any(np.abs(g).sum() > 0 for g in local), "no_sync produced no local gradient"

# ------------------------------------------------------------------ evaluation does not communicate
with minigrad.no_grad():
    if rank == 0:  # rank 0 alone: would hang if forward communicated
        ddp(minigrad.tensor(np.ones((2, 5))))
dist.barrier()


# ------------------------------------------------------------------ unused parameters
class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Linear(4, 4)
        self.left = nn.Linear(4, 2)    # used by rank 0 only
        self.never = nn.Linear(4, 2)   # used by no rank

    def forward(self, x, use_left):
        h = self.trunk(x).tanh()
        return self.left(h).sum() + h.sum() if use_left else h.sum()


minigrad.manual_seed(0)
model = Branchy().double()
ddp = DDP(model, find_unused_parameters=True)
x = minigrad.tensor(np.random.default_rng(rank).standard_normal((3, 4)))
ddp(x, use_left=(rank == 0)).backward()
assert model.never.weight.grad is None, "a parameter no rank used got a gradient"
grads = [None] * world
dist.all_gather_object(grads, [p.grad.numpy() for p in (model.trunk.weight, model.left.weight)])
for g in grads[1:]:
    for a, b in zip(grads[0], g):
        np.testing.assert_array_equal(a, b)  # every rank holds the same average
# left.weight's gradient is rank 0's divided by the world size
single = Branchy().double()
single.load_state_dict(model.state_dict())
xs = [minigrad.tensor(np.random.default_rng(r).standard_normal((3, 4))) for r in range(world)]
single(xs[0], use_left=True).backward()
np.testing.assert_allclose(model.left.weight.grad.numpy(), single.left.weight.grad.numpy() / world, rtol=0, atol=TOL)

# without find_unused_parameters, a parameter no rank used makes the next forward raise, naming it
ddp = DDP(Branchy().double())
ddp(x, use_left=True).sum().backward()
try:
    ddp(x, use_left=True)
except RuntimeError as e:
    assert "never.weight" in str(e) and "find_unused_parameters=True" in str(e), str(e)
else:
    raise AssertionError("no error for a parameter without gradient")



# ------------------------------------------------------------------ tied weights, buffers
class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 4)
        self.b = nn.Linear(4, 4)
        self.b.weight = self.a.weight  # one Parameter in two places: its gradient is the sum
        self.norm = nn.BatchNorm1d(4)

    def forward(self, x):
        return self.b(self.norm(self.a(x)).tanh())


minigrad.manual_seed(rank)  # every rank starts different; DDP must copy rank 0's
tied = Tied().double()
tied.norm.running_mean._data[...] = rank + 1.0
ddp = DDP(tied)
assert np.all(tied.norm.running_mean.numpy() == 1.0), "buffers not copied from rank 0 at construction"
minigrad.manual_seed(0)
twin = Tied().double()
twin.load_state_dict(ddp.state_dict())
xs = [np.random.default_rng(50 + r).standard_normal((4, 4)) for r in range(world)]
ddp(minigrad.tensor(xs[rank])).sum().backward()
expected = {n: np.zeros(p.shape) for n, p in twin.named_parameters()}
for r in range(world):
    twin.zero_grad()
    twin(minigrad.tensor(xs[r])).sum().backward()
    for n, p in twin.named_parameters():
        expected[n] += p.grad.numpy() / world
for n, p in tied.named_parameters():
    np.testing.assert_allclose(p.grad.numpy(), expected[n], rtol=0, atol=TOL, err_msg=n)

dist.destroy_process_group()
if rank == 0:
    print(f"ddp ok on {world} ranks")
