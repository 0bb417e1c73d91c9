"""The compatibility programs of ``tests/compat/`` under minigrad and under PyTorch: same losses?

    python benchmarks/pytorch_parity.py                  # every case, float64 and float32
    python benchmarks/pytorch_parity.py --dtype float64  # one precision
    python benchmarks/pytorch_parity.py nanogpt word_lm  # some programs only
    python benchmarks/pytorch_parity.py --steps 20
    python benchmarks/pytorch_parity.py --tests          # tests/test_compat.py run on PyTorch

Each program in ``tests/compat/`` is a PyTorch program whose import lines say
``minigrad``. This script runs it twice, each library in its own process:

1. with this Python and minigrad, from the program's own random initial weights,
   which its ``init=`` hook writes to an ``.npz`` (``state_dict()``, or the dict of
   raw weight tensors for the tutorial's hand-written stages);
2. with a Python that has torch (``--torch-python``, ``$MINIGRAD_TORCH_PYTHON`` or
   ``/tmp/torchvenv/bin/python``), on the *same source* with ``minigrad`` replaced by
   ``torch`` in the import lines only, its ``init=`` hook loading that ``.npz``
   (``load_state_dict``, strict).

Every case switches off what draws random numbers after the initialisation
(dropout 0, no shuffling; nanoGPT's batch positions come from a NumPy generator),
so both runs see identical weights and batches, and the first ``--steps`` training
losses must agree (the evaluations a program logs, validation and test losses and
accuracies, are compared too and printed): the largest absolute difference is printed for float64 (target
1e-10) and the largest relative difference for float32 (target 1e-5), with the
default dtype set by ``torch.set_default_dtype`` in each process.

``--tests`` runs ``tests/test_compat.py`` itself on PyTorch instead
(``MINIGRAD_COMPAT_LIBRARY=torch``): every value those tests check on minigrad (the
NumPy transcription of the tutorial's loop, the entropy bounds, causality, exact
checkpoint resumption, greedy generation) holds for PyTorch too, so the tests
encode PyTorch's behaviour and not only minigrad's. That needs pytest in the
torch venv.

Install PyTorch in a separate venv (torch is never a dependency of minigrad):

    python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch numpy

Prints figures; exits 1 if a case fails to run or misses its target.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
PROGRAMS = REPO / "tests" / "compat"
TARGETS = {"float64": ("absolute", 1e-10), "float32": ("relative", 1e-5)}

# (name, program, keyword arguments of its main); nothing random after the initial weights
CASES = [
    ("nn_really/manual", "nn_really", {"stage": "manual"}),
    ("nn_really/functional", "nn_really", {"stage": "functional"}),
    ("nn_really/module", "nn_really", {"stage": "module"}),
    ("nn_really/linear", "nn_really", {"stage": "linear"}),
    ("nn_really/dataloader", "nn_really", {"stage": "dataloader", "shuffle": False}),
    # float32: <= 2e-7 for 33 steps, then a jump (a ReLU input within rounding of 0 on the
    # ln 10 plateau switching sides in one run) grows to ~5e-5 by step 50; float64: 1e-15
    ("nn_really/cnn", "nn_really", {"stage": "cnn", "shuffle": False}),
    ("mnist_cnn", "mnist_cnn", {"dropout": False, "shuffle": False}),
    # lr 5, not the example's 20: at 20 these tiny models train chaotically (the loss jumps
    # to 6-13), and rounding differences of 1e-16 grow to 1e-2 within 50 steps in float64
    ("word_lm/LSTM", "word_lm", {"model": "LSTM", "dropout": 0.0, "lr": 5.0}),
    ("word_lm/LSTM-tied", "word_lm", {"model": "LSTM", "dropout": 0.0, "tied": True, "lr": 5.0}),
    ("word_lm/GRU", "word_lm", {"model": "GRU", "dropout": 0.0, "lr": 5.0}),
    ("word_lm/RNN_TANH", "word_lm", {"model": "RNN_TANH", "dropout": 0.0, "lr": 5.0}),
    ("word_lm/Transformer", "word_lm", {"model": "Transformer", "dropout": 0.0, "lr": 5.0}),
    ("nanogpt", "nanogpt", {}),
    ("nanogpt/flash", "nanogpt", {"flash": True}),
]

_IMPORT = re.compile(r"^(\s*)(import|from) minigrad\b", re.M)


def program_source(name: str, library: str) -> str:
    """The program's source; for torch, with ``minigrad`` -> ``torch`` in its import lines."""
    source = (PROGRAMS / f"{name}.py").read_text()
    if library == "torch":
        source = _IMPORT.sub(r"\1\2 torch", source)
    return source


def load_program(name: str, library: str) -> types.ModuleType:
    """Import ``tests/compat/<name>.py`` as a module, under ``library`` (minigrad or torch)."""
    module = types.ModuleType(f"compat_{name}")
    module.__file__ = str(PROGRAMS / f"{name}.py")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(program_source(name, library), module.__file__, "exec"), module.__dict__)
    return module


# ----------------------------------------------------------------------------- one side


def _weights_of(obj) -> dict:
    """name -> NumPy array, from a module's state_dict() or a dict of tensors."""
    items = obj.items() if isinstance(obj, dict) else obj.state_dict().items()
    out = {}
    for key, value in items:
        if hasattr(value, "detach"):
            value = value.detach().cpu().numpy() if hasattr(value, "cpu") else value.detach().numpy()
        out[key] = np.array(value)
    return out


def _export_hook(path: Path):
    def init(obj):
        np.savez(path, **_weights_of(obj))
    return init


def _import_hook(path: Path, torch):
    def init(obj):
        with np.load(path) as npz:
            arrays = {key: npz[key] for key in npz.files}
        if isinstance(obj, dict):
            with torch.no_grad():
                for key, tensor in obj.items():
                    tensor.copy_(torch.from_numpy(arrays[key]))
            return
        own = set(obj.state_dict())
        if own != set(arrays):
            raise KeyError(f"state_dict keys differ: only in minigrad {sorted(set(arrays) - own)}, "
                           f"only in torch {sorted(own - set(arrays))}")
        obj.load_state_dict({key: torch.from_numpy(value) for key, value in arrays.items()})
    return init


def run_side(library: str, dtype: str, steps: int, cases: list, workdir: Path) -> dict:
    """Run the cases with one library in this process; {case: losses or error text}."""
    torch = __import__(library)
    torch.set_default_dtype(getattr(torch, dtype))
    results = {}
    for case, program, kwargs in cases:
        weights = workdir / f"{case.replace('/', '_')}_{dtype}.npz"
        try:
            module = load_program(program, library)
            hook = _export_hook(weights) if library == "minigrad" else _import_hook(weights, torch)
            if program == "nanogpt":
                kwargs = dict(kwargs, eval_interval=10**9)  # no evaluation: just the loss curve
            start = time.perf_counter()
            log = []
            losses = module.main(steps, init=hook, log=log, **kwargs)
            results[case] = {"losses": [float(x) for x in losses],
                             "evaluations": [float(x) for x in np.ravel(np.array(log, dtype=float))],
                             "seconds": time.perf_counter() - start}
        except Exception as e:  # report it, run the other cases
            results[case] = {"error": f"{type(e).__name__}: {e}"}
    return results


# ----------------------------------------------------------------------------- driver


def find_torch_python(explicit: str | None) -> str | None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _own_process import find_torch_python as find

    return find(explicit)


def _side_in_subprocess(python: str, library: str, dtype: str, steps: int, cases: list,
                        workdir: Path) -> dict:
    out = workdir / f"{library}_{dtype}.json"
    env = dict(os.environ, PYTHONPATH=f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")  # small matrices: threads only contend (and the sums' order
        #                           then does not depend on the thread count)
    cmd = [python, str(Path(__file__).resolve()), "--side", library, "--dtype", dtype,
           "--steps", str(steps), "--workdir", str(workdir), "--out", str(out),
           *[case for case, _, _ in cases]]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"{library} ({dtype}) failed:\n{done.stderr[-3000:]}")
    return json.loads(out.read_text())


def differences(a: list, b: list, kind: str) -> np.ndarray:
    """Per-step absolute or relative differences of two loss curves (inf if lengths differ)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return np.array([math.inf])
    diff = np.abs(a - b)
    if kind == "relative":
        diff = diff / np.maximum(np.abs(b), 1e-30)
    return diff


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cases", nargs="*", help="case names or program names (default: all)")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--dtype", choices=sorted(TARGETS), action="append")
    parser.add_argument("--torch-python", default=None)
    parser.add_argument("--tests", action="store_true",
                        help="run tests/test_compat.py on PyTorch instead (needs pytest there)")
    parser.add_argument("--side", choices=["minigrad", "torch"], help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    cases = [c for c in CASES if not args.cases or c[0] in args.cases or c[1] in args.cases]
    if not cases:
        parser.error(f"no such case; cases: {', '.join(c[0] for c in CASES)}")
    dtypes = args.dtype or ["float64", "float32"]

    if args.side:  # one library, in this process (called by the driver below)
        results = run_side(args.side, dtypes[0], args.steps, cases, Path(args.workdir))
        Path(args.out).write_text(json.dumps(results))
        return 0

    torch_python = find_torch_python(args.torch_python)
    if torch_python is None:
        print("PyTorch not found: pass --torch-python, set MINIGRAD_TORCH_PYTHON, or "
              "python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch numpy")
        return 1
    version = subprocess.run([torch_python, "-c", "import torch; print(torch.__version__)"],
                             capture_output=True, text=True).stdout.strip()
    if args.tests:
        print(f"tests/test_compat.py on torch {version} ({torch_python})", flush=True)
        env = dict(os.environ, MINIGRAD_COMPAT_LIBRARY="torch",
                   PYTHONPATH=f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
        env.setdefault("OMP_NUM_THREADS", "1")
        return subprocess.run([torch_python, "-m", "pytest", "tests/test_compat.py", "-q",
                               "-p", "no:cacheprovider"], cwd=REPO, env=env).returncode
    print(f"minigrad (this Python) vs torch {version} ({torch_python}); first {args.steps} "
          "training losses from identical weights and batches, each library in its own process")
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for dtype in dtypes:
            kind, target = TARGETS[dtype]
            mine = _side_in_subprocess(sys.executable, "minigrad", dtype, args.steps, cases, workdir)
            theirs = _side_in_subprocess(torch_python, "torch", dtype, args.steps, cases, workdir)
            print(f"\n{dtype}: largest {kind} loss difference (target <= {target:g})")
            print(f"  {'case':24s} {'difference':>11s} {'step 0':>9s} {'over at':>7s} {'evals':>9s}"
                  f"  {'first loss':>10s} {'last loss':>10s}  {'minigrad s':>10s} {'torch s':>8s}")
            for case, _, _ in cases:
                a, b = mine[case], theirs[case]
                if "error" in a or "error" in b:
                    failed = True
                    print(f"  {case:24s} FAILED  minigrad: {a.get('error', 'ok')}  "
                          f"torch: {b.get('error', 'ok')}")
                    continue
                diff = differences(a["losses"], b["losses"], kind)
                worst = float(diff.max()) if diff.size else 0.0
                over = np.flatnonzero(diff > target)
                evals = differences(a["evaluations"], b["evaluations"], kind)
                evals = f"{evals.max():9.1e}" if evals.size else f"{'-':>9s}"
                verdict = "ok" if worst <= target else "MISSED"
                failed |= worst > target
                print(f"  {case:24s} {worst:11.2e} {diff[0]:9.1e} {over[0] if over.size else '-':>7}"
                      f" {evals}"
                      f"  {a['losses'][0]:10.6f} {a['losses'][-1]:10.6f}"
                      f"  {a['seconds']:10.2f} {b['seconds']:8.2f}  {verdict}")
    print("\n(difference: over the training losses; step 0: of the first loss, before any "
          "update; over at: the first step over the target; evals: the largest difference of "
          "the evaluation results the program logs (validation/test losses, accuracy), not "
          "part of the verdict; timings: one run on a shared machine, noisy)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
