# %% [markdown]
# # 13. Training on several processes
#
# **What you will build.** Data-parallel training, the way large models are trained:
# N processes each hold a copy of the model, each computes the gradient on its own
# shard of the batch, and an **all-reduce** averages the gradients so that every copy
# takes the same step. You will check *why* that equals training on the whole batch,
# see where it does not (BatchNorm), work out what an all-reduce costs with the **ring**
# algorithm, then run the real thing: `minigrad.distributed` on MPI and
# `nn.parallel.DistributedDataParallel` (PyTorch's names), launched with `mpiexec`.
#
# The collectives need `pip install 'minigrad-edu[distributed]'` (mpi4py and the
# `mpich` wheel, which brings `mpiexec`). The first half of the chapter needs nothing.

# %%
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
from _common import FAST, fast_or_full, plt, save_figure, seed

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn

rng = seed(0)
print("fast mode" if FAST else "full mode")

# %% [markdown]
# ## Why averaging shard gradients is the big-batch gradient
#
# With a mean loss over a batch of $NB$ samples split into $N$ shards of $B$ samples,
#
# $$\nabla_\theta \frac{1}{NB}\sum_{i=1}^{NB} \ell_i(\theta)
#   = \frac{1}{N}\sum_{r=1}^{N} \underbrace{\nabla_\theta \frac{1}{B}\sum_{i \in \text{shard } r} \ell_i(\theta)}_{g_r \text{, what rank } r \text{ computes}}.$$
#
# The gradient is linear in the per-sample losses, so the average of the shards'
# mean-loss gradients is exactly the full batch's. The optimizer then sees the same
# gradient on every rank; since every rank started from the same weights, they take
# the same step and stay identical, with no need to ever send the weights again.
# Let us check it with two copies of a model in this one process.


# %%
def make_model():
    mg.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 3)).double()


def gradients(model, x, y):
    model.zero_grad()
    F.cross_entropy(model(mg.tensor(x)), mg.tensor(y)).backward()
    return [p.grad.numpy().copy() for p in model.parameters()]


N, B = 4, 8
x = rng.standard_normal((N * B, 8))
y = rng.integers(0, 3, N * B)
full = gradients(make_model(), x, y)
shards = [gradients(make_model(), x[r * B:(r + 1) * B], y[r * B:(r + 1) * B]) for r in range(N)]
averaged = [sum(gs) / N for gs in zip(*shards)]
equal_shards_error = max(np.abs(a - f).max() for a, f in zip(averaged, full))
print(f"largest difference, average of {N} shard gradients vs the full batch: {equal_shards_error:.1e}")

# Unequal shards (say 24 and 8 samples): the plain average weighs each sample of the
# small shard three times as much, and the equality is gone.
uneven = [gradients(make_model(), x[:24], y[:24]), gradients(make_model(), x[24:], y[24:])]
uneven_error = max(np.abs(sum(gs) / 2 - f).max() for gs, f in zip(zip(*uneven), full))
print(f"with shards of 24 and 8 samples the plain average is off by {uneven_error:.1e}")

# %% [markdown]
# That is why a `DistributedSampler` gives every rank the same number of samples (it
# pads by repeating a few), and why the example drops the last few digits that do not
# divide evenly: a rank with one more batch than the others would also call the
# all-reduce once more, alone, and wait for ever.
#
# ## Where it breaks: BatchNorm
#
# BatchNorm normalises with the mean and variance *of the batch it sees*. Under data
# parallelism each rank sees only its shard, so the statistics, hence the outputs and
# the gradients, are those of $B$ samples, not $NB$: the equality above fails, and the
# running statistics differ from rank to rank (DDP copies rank 0's buffers to the others
# at each forward, `broadcast_buffers=True`, so at least they stay the same).


# %%
bn = nn.BatchNorm1d(8).double()
bn_full = bn(mg.tensor(x)).numpy()
bn_shards = np.concatenate([bn(mg.tensor(x[r * B:(r + 1) * B])).numpy() for r in range(N)])
batchnorm_gap = np.abs(bn_full - bn_shards).max()
print(f"BatchNorm on the full batch vs shard by shard: outputs differ by up to {batchnorm_gap:.2f}")

# %% [markdown]
# PyTorch's `SyncBatchNorm` all-reduces the per-shard sums $\sum x$ and $\sum x^2$ (and
# counts) in the forward, so that every rank normalises with the full batch's statistics,
# and all-reduces the matching sums in the backward (exercise 2). With a batch of a few
# dozen per rank, plain BatchNorm is usually good enough; LayerNorm (chapter 8) has the
# problem not at all, since it normalises each sample alone.
#
# ## What an all-reduce costs: the ring
#
# The naive all-reduce sends every rank's $S$ bytes to one rank, which adds them up and
# sends the result back: that rank moves $2(N-1)S$ bytes and becomes the bottleneck. The
# **ring all-reduce** (used by NCCL, Horovod, and MPI for large messages) cuts each buffer
# into $N$ chunks and arranges the ranks in a ring:
#
# 1. **reduce-scatter**, $N-1$ steps: at each step every rank sends one chunk to its right
#    neighbour and adds the chunk arriving from its left; afterwards rank $r$ holds the
#    complete sum of one chunk;
# 2. **all-gather**, $N-1$ steps: the completed chunks travel round the ring, each rank
#    passing on what it received.
#
# Every rank sends $2(N-1)$ chunks of $S/N$ bytes, that is
#
# $$\text{sent per rank} = 2\,\frac{N-1}{N}\,S \;<\; 2S \text{ whatever } N,$$
#
# and all links are busy at once, so the time is about $2\frac{N-1}{N}\frac{S}{\beta} +
# 2(N-1)\alpha$ for link bandwidth $\beta$ and per-message latency $\alpha$: nearly
# independent of $N$ for large $S$. Here it is on simulated ranks, counting bytes.


# %%
def ring_all_reduce(buffers):
    """Sum ``buffers`` (one per simulated rank) with the ring algorithm; returns the
    results and the bytes each rank sent."""
    n = len(buffers)
    chunks = [np.array_split(b.astype(np.float64), n) for b in buffers]
    sent = [0] * n
    for step in range(n - 1):  # reduce-scatter: rank r sends chunk (r - step) to r + 1
        outgoing = [(r, (r - step) % n, chunks[r][(r - step) % n].copy()) for r in range(n)]
        for r, c, data in outgoing:
            chunks[(r + 1) % n][c] += data
            sent[r] += data.nbytes
    for step in range(n - 1):  # all-gather: rank r passes on the completed chunk (r + 1 - step)
        outgoing = [(r, (r + 1 - step) % n, chunks[r][(r + 1 - step) % n].copy()) for r in range(n)]
        for r, c, data in outgoing:
            chunks[(r + 1) % n][c] = data
            sent[r] += data.nbytes
    return [np.concatenate(c) for c in chunks], sent


S_ELEMENTS = 1200
ring_ok, ring_sent = True, {}
for n in (2, 3, 4, 8):
    buffers = [rng.standard_normal(S_ELEMENTS) for _ in range(n)]
    results, sent = ring_all_reduce(buffers)
    ring_ok &= all(np.allclose(res, sum(buffers)) for res in results)
    ring_sent[n] = sent
    model_bytes = 2 * (n - 1) / n * S_ELEMENTS * 8
    print(f"N={n}: each rank sent {sent[0]:,} bytes; the model 2(N-1)/N·S says {model_bytes:,.0f}")

ns = np.arange(2, 33)
fig, ax = plt.subplots(figsize=(6.4, 3.6))
ax.plot(ns, 2 * (ns - 1) / ns, "o-", ms=3, label="ring: 2(N-1)/N")
ax.plot(ns, 2 * (ns - 1), "--", label="one root gathers and sends back: 2(N-1)")
ax.set(xlabel="number of ranks N", ylabel="bytes sent by the busiest rank / S", yscale="log",
       title="All-reduce traffic of a buffer of S bytes")
ax.legend()
save_figure(fig, "13_ring_cost")

# %% [markdown]
# ## The real thing: `minigrad.distributed` and `DistributedDataParallel`
#
# A data-parallel script is an ordinary training script with four additions: join the
# process group, wrap the model, give each rank its shard, and let only rank 0 print and
# save. `mpiexec -n 2 python train.py` starts two copies of it; `get_rank()` tells each who
# it is. The script below trains the same small model two ways: in two processes with 16
# samples each per step, and (on rank 0, as a reference, with `ddp.module`'s twin) in one
# process with the 32 samples of the step, and checks that the weights agree.

# %%
WORKER = textwrap.dedent('''
    import json, sys, time
    import numpy as np
    import minigrad as mg
    import minigrad.distributed as dist
    import minigrad.nn.functional as F
    from minigrad import nn, optim
    from minigrad.nn.parallel import DistributedDataParallel

    dist.init_process_group("mpi")                 # rank and world size come from mpiexec
    rank, world = dist.get_rank(), dist.get_world_size()

    def make_model():
        mg.manual_seed(0)
        return nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 4)).double()

    model = DistributedDataParallel(make_model())  # rank 0's weights are copied to all
    reference = make_model()                       # one process, whole batch
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    ref_opt = optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(0)
    per_rank = 16
    for step in range(int(sys.argv[1])):
        x = rng.standard_normal((per_rank * world, 20)); y = rng.integers(0, 4, per_rank * world)
        mine = slice(rank * per_rank, (rank + 1) * per_rank)   # this rank's shard
        opt.zero_grad()
        F.cross_entropy(model(mg.tensor(x[mine])), mg.tensor(y[mine])).backward()  # averages
        opt.step()
        ref_opt.zero_grad()
        F.cross_entropy(reference(mg.tensor(x)), mg.tensor(y)).backward()
        ref_opt.step()

    gap = max(float(np.abs(a.numpy() - b.numpy()).max())
              for a, b in zip(model.parameters(), reference.parameters()))
    gaps = [None] * world
    dist.all_gather_object(gaps, gap)

    sizes = [int(s) for s in sys.argv[2].split(",")]    # all-reduce timings, bytes
    timings = {}
    for size in sizes:
        buf = np.ones(size // 8)
        dist.barrier(); dist.all_reduce(buf)             # warm-up
        times = []
        for _ in range(5):
            dist.barrier(); t0 = time.perf_counter()
            dist.all_reduce(buf)
            times.append(time.perf_counter() - t0)
        timings[size] = float(np.median(times))
    if rank == 0:                                     # rank 0 alone reports
        print(json.dumps({"world": world, "gaps": gaps, "timings": timings}))
    dist.destroy_process_group()
''')


def find_mpiexec():
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


mpiexec = find_mpiexec()
try:
    import mpi4py  # noqa: F401
except ImportError:
    mpiexec = None
sizes = [1 << k for k in range(10, fast_or_full(21, 27), 2)]  # 1 KB .. 1 MB (fast) or 64 MB
steps = fast_or_full(3, 20)
report = None
if mpiexec is None:
    print("mpi4py/mpiexec not installed: pip install 'minigrad-edu[distributed]' to run this part")
else:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "ddp_worker.py"
        script.write_text(WORKER)
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1",
                   PYTHONPATH=str(Path(mg.__file__).resolve().parent.parent) + os.pathsep
                   + os.environ.get("PYTHONPATH", ""))
        command = [mpiexec, "-n", "2", sys.executable, str(script), str(steps), ",".join(map(str, sizes))]
        print("$ mpiexec -n 2 python ddp_worker.py", steps, "...")
        run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        if run.returncode != 0:
            print(run.stdout[-2000:], run.stderr[-4000:])
        report = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"{report['world']} processes, {steps} SGD-momentum steps: largest weight difference "
          f"from the one-process run, per rank: {report['gaps']}")

# %% [markdown]
# The two processes end with the weights of the one-process run, to rounding (float64).
#
# **What DDP does under the hood** (read `minigrad/nn/parallel.py`, it is short):
#
# * at construction, it compares every rank's parameter names and shapes (a mismatch is
#   an error that names the parameter) and copies rank 0's parameters and buffers to all;
# * it groups the gradients into **buckets** of about `bucket_cap_mb` megabytes, one flat
#   buffer each, because every collective pays a fixed latency $\alpha$ whatever its size;
# * during backward, as soon as the last gradient of a bucket is computed, it **starts**
#   that bucket's all-reduce without waiting for it (`Iallreduce`), and backward carries
#   on with earlier layers while the bytes travel; buckets start in the same order on
#   every rank, because collectives are matched by call order;
# * `with model.no_sync():` skips the communication (gradient accumulation over several
#   micro-batches pays for one all-reduce, not one per micro-batch).
#
# ## Measured all-reduce time on this machine

# %%
if report is not None:
    measured = {int(k): v for k, v in report["timings"].items()}
    xs = np.array(sorted(measured))
    ts = np.array([measured[s] for s in xs])
    busbw = xs * 2 * (2 - 1) / 2 / ts / 1e9
    for s, t, bw in zip(xs, ts, busbw):
        print(f"{s:>10,} bytes: {t * 1e3:8.3f} ms, bus bandwidth {bw:6.2f} GB/s")
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.loglog(xs, ts * 1e3, "o-")
    ax.set(xlabel="buffer size (bytes)", ylabel="time of one all-reduce (ms)",
           title="MPI all-reduce, 2 processes on this machine")
    ax.grid(True, which="both", alpha=0.3)
    save_figure(fig, "13_allreduce_time")

# %% [markdown]
# Small buffers cost a roughly constant few tens of microseconds (the latency $\alpha$:
# bucketing exists because of it); large ones cost time proportional to their size, with
# a jump where the buffers stop fitting in the processor's caches (a few megabytes). On
# one machine, "the network" is shared memory, so the bandwidth is that of copying memory,
# and on the 2-core machine these notes were written on, two processes also share the only
# two cores with everything else: measured on it (noisy), the MLP of chapter 4 trained at
# about the same number of samples per second with 1 or 2 processes
# (`python benchmarks/distributed.py` measures yours). Data parallelism pays when each
# process has its own cores or GPU, and the computation per step dwarfs the all-reduce.
#
# ## On several machines
#
# Nothing in the script changes; only the launch does.
#
# * **MPI on CPUs.** List the machines in a host file and let `mpiexec` start the
#   processes over ssh (MPICH's Hydra launcher):
#
#   ```
#   $ cat hosts
#   node1:16
#   node2:16
#   $ mpiexec -f hosts -n 32 -ppn 16 python -m minigrad.examples.mnist --distributed
#   ```
#
#   Every machine needs the same Python environment and the script at the same path,
#   and password-less ssh between them. MPI picks the fastest network it finds
#   (InfiniBand, else TCP).
# * **NCCL on GPU clusters.** `init_process_group("nccl")` runs one process per GPU:
#   `mpiexec -f hosts -n 16 -ppn 8 python train.py --device cuda` on two machines of 8
#   GPUs. MPI only hands out NCCL's unique id; the gradients then travel over NVLink inside
#   a machine and InfiniBand or TCP between machines, by NCCL's own rings and trees
#   (`NCCL_DEBUG=INFO` shows which; `NCCL_SOCKET_IFNAME` picks the network interface).
#   PyTorch users write the same program and launch it with `torchrun`.
#
# ## Exercises
#
# **Exercise 1.** Train with 2 processes and `--batch-size 32`, then with 1 process and
# `--batch-size 64`, same seed (`mpiexec -n 2 python -m minigrad.examples.mnist
# --distributed ...`). Are the accuracies the same? Why not exactly (think of the
# order in which samples are drawn, and of dropout)?
#
# **Exercise 2.** Write `SyncBatchNorm`: in the forward, all-reduce `[sum x, sum x², count]`
# per channel and normalise with the global mean and variance; in the backward, all-reduce
# the two sums the gradient of BatchNorm needs ($\sum \partial L/\partial y$ and
# $\sum \partial L/\partial y \cdot \hat x$). Check it against BatchNorm on the full batch,
# as this chapter did for the gradients. (The single-process backward is
# `BatchNorm.backward` in `minigrad/ops/norm.py`.)
#
# <details markdown="1"><summary>Hint</summary>
#
# Two all-reduces per layer and step, of 2C+1 and 2C numbers for C channels: latency,
# not bandwidth, is their cost.
#
# </details>
#
# **Exercise 3.** Compute the time model $2(N-1)(\alpha + \frac{S}{N\beta})$ with the
# $\alpha$ and $\beta$ you read off the measurement above. From what buffer size does
# bucketing stop helping?

# %% [markdown]
# ## What this chapter showed (checked when it runs)

# %%
assert equal_shards_error < 1e-12, "averaging equal-shard gradients gives the full-batch gradient"
assert uneven_error > 1e-6, "a plain average of unequal shards does not"
assert batchnorm_gap > 0.01, "BatchNorm's per-shard statistics change its outputs"
assert ring_ok, "the simulated ring all-reduce sums correctly"
for n, sent in ring_sent.items():
    assert all(s == 2 * (n - 1) / n * S_ELEMENTS * 8 for s in sent), (n, sent)
if report is not None:
    assert report["world"] == 2
    assert max(report["gaps"]) < 1e-12, report["gaps"]
    assert all(t > 0 for t in report["timings"].values())
print("chapter 13: all checks passed")
