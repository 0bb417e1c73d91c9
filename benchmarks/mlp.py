"""MLP training throughput: minigrad vs PyTorch on the CPU.

The workload of the MNIST example without its data pipeline: an MLP
784-128-10 (ReLU), cross-entropy loss, Adam (lr 1e-3), batch 128, float32.
One training step is forward + loss + zero_grad + backward + optimizer step;
batches are pre-cut from one random array, so only the step is timed.
Throughput is samples per second, the best of several timed rounds after a warm-up
(the best, not the mean, because other processes only ever make a round slower);
the two frameworks' rounds alternate so both see the same machine load.

When torch is importable (it is never a minigrad dependency; use a separate
venv) the same workload runs in PyTorch with ``torch.set_num_threads(2)`` and
the ratio minigrad / PyTorch is printed (target: >= 0.8).

    python benchmarks/mlp.py [--steps 200] [--rounds 5] [--threads 2]

With PyTorch from a separate venv (minigrad taken from the checkout):

    PYTHONPATH=. /tmp/torchvenv/bin/python benchmarks/mlp.py

On a machine shared with other jobs, 2 BLAS threads per process oversubscribe the
cores and both frameworks slow down erratically; compare with one thread each:

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. /tmp/torchvenv/bin/python benchmarks/mlp.py --threads 1
"""

from __future__ import annotations

import argparse
import os
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


def best_throughputs(runs: dict, steps: int, rounds: int) -> dict:
    """Samples/s of each framework's fastest round.

    The rounds alternate between the frameworks, so a burst of load from other
    processes hits both alike instead of whichever happened to run at the time.
    """
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(rounds):
        for name, (step, batches) in runs.items():
            best[name] = min(best[name], time_round(step, batches, steps))
    return {name: steps * BATCH / t for name, t in best.items()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="training steps per timed round")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (the best counts)")
    parser.add_argument("--threads", type=int, default=2, help="PyTorch intra-op threads")
    args = parser.parse_args(argv)

    x, y = make_batches(50)
    print(f"MLP {IN}-{HIDDEN}-{OUT}, batch {BATCH}, Adam, float32, CPU "
          f"({os.cpu_count()} cores), best of {args.rounds} x {args.steps} steps")
    runs = {"minigrad": prepare(minigrad_step_fn, x, y)}
    try:
        import torch
    except ImportError:
        torch = None
    else:
        runs["PyTorch"] = prepare(lambda: torch_step_fn(args.threads), x, y)
    result = best_throughputs(runs, args.steps, args.rounds)
    ours = result["minigrad"]
    print(f"minigrad: {ours:>10,.0f} samples/s  ({1e3 * BATCH / ours:.2f} ms/step)")
    if torch is None:
        print("PyTorch:  not installed here (run this script in a venv with torch for the ratio)")
        return
    theirs = result["PyTorch"]
    print(f"PyTorch:  {theirs:>10,.0f} samples/s  ({1e3 * BATCH / theirs:.2f} ms/step; "
          f"torch {torch.__version__}, {args.threads} threads)")
    print(f"ratio minigrad / PyTorch: {ours / theirs:.2f}x  (target >= 0.8x)")


if __name__ == "__main__":
    main()
