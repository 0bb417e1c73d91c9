"""All-reduce bandwidth and data-parallel MLP throughput with minigrad.distributed on MPI.

    python benchmarks/distributed.py              # runs itself under mpiexec -n 1 and -n 2, plots
    mpiexec -n 2 python benchmarks/distributed.py --worker out.json   # one measurement

Two measurements, each on 1 and on 2 processes:

* **all-reduce** (``ReduceOp.SUM``, float32, in place) of 1 KB to 64 MB: the time of
  one call (the best of several after a warm-up), the *algorithm bandwidth* S/t and
  the *bus bandwidth* S/t · 2(N-1)/N, which is what each rank actually sends in a
  ring all-reduce and so compares across N (NCCL's tests report the same two figures);
* **training throughput** of the MNIST MLP (784-128-10, Adam, float32) wrapped in
  DistributedDataParallel: samples per second for a global batch of 128 split over
  the processes (strong scaling), and for 128 samples per process (weak scaling).

Every process uses one BLAS thread (``OPENBLAS_NUM_THREADS=1``) so that N processes
use N cores and the comparison measures the processes, not BLAS's threads. On a
2-core machine two processes can at best double the throughput, and any other load
on the machine comes straight out of the second process's share: timings here are
noisy. Figures and a ``results.json`` go to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SIZES = [1 << k for k in range(10, 27, 2)]  # 1 KB, 4 KB, ..., 64 MB


def _timed(fn, repeats: int) -> float:
    """The best seconds of ``fn()`` over ``repeats`` calls, after one warm-up, with every
    rank starting each call together (the best, not the mean: other load on the machine
    only ever makes a call slower)."""
    import minigrad.distributed as dist

    fn()
    times = []
    for _ in range(repeats):
        dist.barrier()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    # the slowest rank decides when a collective is over
    everyone = [None] * dist.get_world_size()
    dist.all_gather_object(everyone, times)
    return float(np.min(np.max(np.array(everyone), axis=0)))


def measure_all_reduce(max_bytes: int, budget_s: float = 1.0):
    import minigrad.distributed as dist

    n = dist.get_world_size()
    rows = []
    for size in [s for s in SIZES if s <= max_bytes]:
        buffer = np.ones(size // 4, dtype=np.float32)
        repeats = int(max(3, min(50, budget_s / max(1e-5, size / 2e8))))
        seconds = _timed(lambda b=buffer: dist.all_reduce(b), repeats)
        rows.append({"bytes": size, "seconds": seconds, "algbw_GBps": size / seconds / 1e9,
                     "busbw_GBps": size / seconds / 1e9 * 2 * (n - 1) / n})
    return rows


def measure_training(batch_per_rank: int, steps: int) -> float:
    """Samples per second (over all ranks) of the MNIST MLP under DDP."""
    import minigrad
    import minigrad.distributed as dist
    import minigrad.nn.functional as F
    from minigrad import nn, optim

    minigrad.manual_seed(0)
    model = nn.parallel.DistributedDataParallel(nn.Sequential(
        nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)))
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(dist.get_rank())
    x = minigrad.tensor(rng.standard_normal((batch_per_rank, 784)).astype(np.float32))
    y = minigrad.tensor(rng.integers(0, 10, batch_per_rank))

    def run_steps():
        for _ in range(steps):
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optimizer.step()

    seconds = min(_timed(run_steps, 1) for _ in range(3))
    return batch_per_rank * dist.get_world_size() * steps / seconds


def worker(out: Path, max_bytes: int, steps: int) -> None:
    import minigrad.distributed as dist

    dist.init_process_group("mpi")
    n = dist.get_world_size()
    strong = measure_training(128 // n, steps)
    result = {
        "processes": n,
        "all_reduce": measure_all_reduce(max_bytes),
        "strong_samples_per_s": strong,
        # with one process both are the same workload: measure it once
        "weak_samples_per_s": measure_training(128, steps) if n > 1 else strong,
    }
    if dist.get_rank() == 0:
        out.write_text(json.dumps(result, indent=2))
    dist.destroy_process_group()


# ----------------------------------------------------------------------------- driver


def mpiexec() -> str:
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else "mpiexec"


def launch(n: int, out: Path, max_bytes: int, steps: int, timeout: float = 600) -> dict:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    cmd = [mpiexec(), "-n", str(n), sys.executable, __file__, "--worker", str(out),
           "--max-bytes", str(max_bytes), "--steps", str(steps)]
    subprocess.run(cmd, env=env, check=True, timeout=timeout)
    return json.loads(out.read_text())


def plot(results: list, out_dir: Path) -> list:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from minigrad.io import save_figure

    fig, ax = plt.subplots(figsize=(6.4, 4))
    for r in results:
        if r["processes"] < 2:
            continue
        rows = r["all_reduce"]
        n = r["processes"]
        ax.loglog([x["bytes"] for x in rows], [x["busbw_GBps"] for x in rows], "o-",
                  label=f"{n} processes: bus bandwidth" + (" (= algorithm bw. at N=2)" if n == 2 else ""))
        if n > 2:
            ax.loglog([x["bytes"] for x in rows], [x["algbw_GBps"] for x in rows], "s--",
                      label=f"{n} processes: algorithm bandwidth")
    ax.set(xlabel="message size (bytes)", ylabel="GB/s", title="MPI all-reduce (float32, SUM)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    bandwidth = save_figure(fig, out_dir / "allreduce_bandwidth.png", dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.4, 4))
    labels = [f"{r['processes']} proc." for r in results]
    width = 0.38
    xs = np.arange(len(results))
    ax.bar(xs - width / 2, [r["strong_samples_per_s"] for r in results], width,
           label="global batch 128 (strong scaling)")
    ax.bar(xs + width / 2, [r["weak_samples_per_s"] for r in results], width,
           label="128 per process (weak scaling)")
    ax.set_xticks(xs, labels)
    ax.set(ylabel="samples / s", title="MLP 784-128-10 under DistributedDataParallel")
    ax.legend()
    throughput = save_figure(fig, out_dir / "ddp_throughput.png", dpi=120)
    plt.close(fig)
    return [bandwidth, throughput]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", type=Path, default=None,
                        help="measure in this MPI job and write the JSON there (used under mpiexec)")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--max-bytes", type=int, default=64 << 20)
    parser.add_argument("--steps", type=int, default=30, help="training steps per timed round")
    parser.add_argument("--out", type=Path, default=Path("runs/benchmarks/distributed"))
    args = parser.parse_args(argv)
    if args.worker is not None:
        worker(args.worker, args.max_bytes, args.steps)
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    results = [launch(n, args.out / f"n{n}.json", args.max_bytes, args.steps) for n in args.processes]
    for r in results:
        print(f"\n{r['processes']} process(es): MLP throughput {r['strong_samples_per_s']:,.0f} samples/s "
              f"(global batch 128), {r['weak_samples_per_s']:,.0f} samples/s (128 per process)")
        if r["processes"] == 1:
            print("(all-reduce on one process: nothing travels; the time is the call's own cost)")
        print(f"{'bytes':>10} {'time (ms)':>10} {'algbw GB/s':>11} {'busbw GB/s':>11}")
        for row in r["all_reduce"]:
            print(f"{row['bytes']:>10} {row['seconds'] * 1e3:>10.3f} {row['algbw_GBps']:>11.3f} "
                  f"{row['busbw_GBps']:>11.3f}")
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    for path in plot(results, args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
