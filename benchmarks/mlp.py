"""MLP training throughput: minigrad vs PyTorch on the CPU.

The workload of the MNIST example without its data pipeline: an MLP
784-128-10 (ReLU), cross-entropy loss, Adam (lr 1e-3), batch 128, float32.
One training step is forward + loss + zero_grad + backward + optimizer step;
batches are pre-cut from one random array, so only the step is timed.
Throughput is samples per second, the best of several timed rounds after a warm-up
(the best, not the mean, because other processes only ever make a round slower).

Each library runs in its own process, several times (median and range printed):
NumPy's OpenBLAS threads and PyTorch's OpenMP threads slow each other down by tens
of percent when they share a process (benchmarks/_own_process.py says more). PyTorch
is never a minigrad dependency; it is looked for in a separate venv
(``/tmp/torchvenv``, ``--torch-python`` or ``$MINIGRAD_TORCH_PYTHON``). Target: the
ratio minigrad / PyTorch >= 1.2.

    python benchmarks/mlp.py [--steps 200] [--rounds 5] [--repetitions 3] [--threads 2]
    python benchmarks/mlp.py --only minigrad          # one side in this process
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

BATCH, IN, HIDDEN, OUT = 128, 784, 128, 10


def make_batches(n_batches: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_batches, BATCH, IN)).astype(np.float32)
    y = rng.integers(0, OUT, (n_batches, BATCH)).astype(np.int64)
    return x, y


def time_round(step, batches, steps: int) -> float:
    start = time.perf_counter()
    for i in range(steps):
        step(*batches[i % len(batches)])
    return time.perf_counter() - start


def prepare(factory, x, y, warmup: int = 20):
    """A ready-to-time (step, batches) pair, warmed up (allocator, BLAS threads, caches)."""
    step, wrap = factory()
    batches = [wrap(xb, yb) for xb, yb in zip(x, y)]
    time_round(step, batches, warmup)
    return step, batches


def minigrad_step_fn():
    import minigrad
    from minigrad import nn, optim

    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(IN, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, OUT))
    opt = optim.Adam(model.parameters(), lr=1e-3)

    def step(x, y):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def wrap(x, y):
        return minigrad.tensor(x), minigrad.tensor(y)

    return step, wrap


def torch_step_fn(threads: int):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(IN, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, OUT)
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(x, y):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def wrap(x, y):
        return torch.from_numpy(x), torch.from_numpy(y)

    return step, wrap


def best_throughput(factory, steps: int, rounds: int) -> float:
    """Samples/s of the fastest of ``rounds`` timed rounds (other load only ever slows a round)."""
    x, y = make_batches(50)
    step, batches = prepare(factory, x, y)
    return steps * BATCH / min(time_round(step, batches, steps) for _ in range(rounds))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="training steps per timed round")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (the best counts)")
    parser.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP threads per process")
    parser.add_argument("--repetitions", type=int, default=3, help="processes per library")
    parser.add_argument("--torch-python", help="a Python with torch (default: found)")
    parser.add_argument("--only", choices=["minigrad", "torch"], help="measure one side here")
    parser.add_argument("workload", nargs="?", default="mlp", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import _own_process

    if args.only:
        factory = minigrad_step_fn if args.only == "minigrad" else lambda: torch_step_fn(args.threads)
        _own_process.report(args.only, "mlp", best_throughput(factory, args.steps, args.rounds))
        return
    print(f"MLP {IN}-{HIDDEN}-{OUT}, batch {BATCH}, Adam, float32, CPU "
          f"({os.cpu_count()} cores), best of {args.rounds} x {args.steps} steps per process")
    _own_process.compare(__file__, ["mlp"], args.repetitions, args.torch_python,
                         extra=["--steps", str(args.steps), "--rounds", str(args.rounds),
                                "--threads", str(args.threads)], threads=args.threads)


if __name__ == "__main__":
    main()
