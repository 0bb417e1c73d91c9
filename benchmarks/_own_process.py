"""Run each library's benchmark in its own process, several times, and report median and range.

Why not both in one process: NumPy's OpenBLAS threads and PyTorch's OpenMP threads
each spin up a pool the size of the machine. In one process both pools compete for
the same 2 cores and both libraries slow down by tens of percent (PyTorch lost 35-50%
here), so the ratio says more about the thread pools than about the libraries.

A benchmark script that uses this module accepts ``--only minigrad|torch`` (measure one
side, print one JSON line ``{"side": ..., "workload": ..., "samples_per_s": ...}``) and
calls :func:`compare` in its driver mode. The minigrad side runs with this Python; the
PyTorch side with the first of ``--torch-python``, ``$MINIGRAD_TORCH_PYTHON``, this Python
(if it has torch) or ``/tmp/torchvenv/bin/python``, and the checkout on ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def find_torch_python(explicit: str | None = None) -> str | None:
    """A Python interpreter that can ``import torch``, or None."""
    candidates = [explicit, os.environ.get("MINIGRAD_TORCH_PYTHON"), sys.executable,
                  "/tmp/torchvenv/bin/python"]
    for python in candidates:
        if python and Path(python).exists():
            probe = subprocess.run([python, "-c", "import torch"], capture_output=True)
            if probe.returncode == 0:
                return python
    return None


def measure_once(script: Path, side: str, workload: str, python: str, extra: list[str],
                 threads: int | None = None) -> float:
    """Samples/s of one run of one side in a fresh process (``threads`` BLAS/OpenMP threads)."""
    env = dict(os.environ, PYTHONPATH=f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
                   MKL_NUM_THREADS=str(threads))
    if side == "torch":
        # the scripts import minigrad for their shared definitions; its allocator setting
        # (backend.keep_freed_memory) must not reach the PyTorch side, which runs as a
        # PyTorch user's process does
        env["MINIGRAD_KEEP_FREED_MEMORY"] = "0"
    cmd = [python, str(script), "--only", side, workload, *extra]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("{")][-1]
    return float(json.loads(line)["samples_per_s"])


def compare(script: str, workloads, repetitions: int = 3, torch_python: str | None = None,
            extra: list[str] | None = None, threads: int | None = None) -> list[dict]:
    """Run every workload ``repetitions`` times per side, sides alternating, each run in its
    own process; print and return median, min and max samples/s and the median ratio."""
    script = Path(script).resolve()
    torch_python = find_torch_python(torch_python)
    sides = {"minigrad": sys.executable}
    if torch_python:
        sides["torch"] = torch_python
    else:
        print("PyTorch: not found (pass --torch-python or set MINIGRAD_TORCH_PYTHON for the ratio)")
    print(f"each library in its own process, {repetitions} runs each, sides alternating; "
          "median [min-max] samples/s")
    results = []
    for workload in workloads:
        runs = {side: [] for side in sides}
        for _ in range(repetitions):
            for side, python in sides.items():
                runs[side].append(measure_once(script, side, workload, python, extra or [], threads))
        row = {"workload": workload}
        line = f"{workload:22s}"
        for side, values in runs.items():
            med = statistics.median(values)
            row[side] = {"median": med, "min": min(values), "max": max(values), "runs": values}
            line += f" | {side} {med:8.0f} [{min(values):.0f}-{max(values):.0f}]"
        if "torch" in runs:
            row["ratio"] = row["minigrad"]["median"] / row["torch"]["median"]
            line += f" | ratio {row['ratio']:.2f}x"
        print(line, flush=True)
        results.append(row)
    return results


def report(side: str, workload: str, samples_per_s: float, **extra) -> None:
    """The one JSON line a ``--only`` run prints for :func:`measure_once`."""
    print(json.dumps({"side": side, "workload": workload, "samples_per_s": samples_per_s, **extra}))
