"""Engine overhead: microseconds per small op (forward + backward), and an MLP step.

    python benchmarks/ops.py

Prints figures, asserts nothing (timings on shared machines are noisy). The
target for the engine's bookkeeping is < 15 µs per small elementwise op,
forward + backward: on tiny arrays that is almost all Python overhead.
"""

from __future__ import annotations

import time

import numpy as np

import minigrad as mg


def best_of(fn, repeat=7, number=200) -> float:
    """Best mean time per call in seconds (the minimum is the least noisy estimate)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return min(times)


def op_overhead(chain=50) -> dict:
    """A chain of `chain` small ops then one backward: time / chain = cost of one op."""
    a = mg.randn(4, 4, requires_grad=True)
    b = mg.randn(4, 4)
    raw_a, raw_b = a.numpy(), b.numpy()

    def numpy_only():
        y = raw_a
        for _ in range(chain):
            y = y * raw_b
        return y

    def ops(op):
        def run():
            y = a
            for _ in range(chain):
                y = op(y)
            y.sum().backward()
            a.grad = None

        return run

    results = {"numpy multiply alone (forward)": best_of(numpy_only) / chain}
    for name, op in [
        ("mul (tensor * tensor)", lambda y: y * b),
        ("add (tensor + scalar)", lambda y: y + 1.0),
        ("tanh", mg.tanh),
        ("relu", mg.relu),
    ]:
        results[name] = best_of(ops(op), number=20) / chain
    return results


def mlp_step(batch=128) -> float:
    """One 784-128-10 MLP training step (forward, cross-entropy, backward, SGD update)."""
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((batch, 784)).astype(np.float32))
    y = rng.integers(0, 10, batch)
    w1 = mg.tensor(rng.standard_normal((784, 128)).astype(np.float32) * 0.05, requires_grad=True)
    b1 = mg.zeros(128, requires_grad=True)
    w2 = mg.tensor(rng.standard_normal((128, 10)).astype(np.float32) * 0.05, requires_grad=True)
    b2 = mg.zeros(10, requires_grad=True)
    params = [w1, b1, w2, b2]

    def step():
        logits = mg.relu(x @ w1 + b1) @ w2 + b2
        loss = -logits.log_softmax(-1)[np.arange(batch), y].mean()
        loss.backward()
        for p in params:
            p.data -= 0.01 * p.grad
            p.grad = None

    return best_of(step, repeat=5, number=20)


def main() -> None:
    print("minigrad engine overhead (best of several runs)")
    for name, seconds in op_overhead().items():
        what = "forward only" if name.startswith("numpy") else "forward + backward"
        print(f"  {name:32s} {seconds * 1e6:7.2f} µs per op, {what}")
    step = mlp_step()
    print(f"  MLP 784-128-10 step, batch 128   {step * 1e3:7.3f} ms  ({128 / step:,.0f} samples/s)")


if __name__ == "__main__":
    main()
