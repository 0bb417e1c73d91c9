"""The steps of ``scripts/gpu_check.sh`` (see there): verify, bench, mnist, report.

Each step writes its JSON *as it goes* (after every case), so a step killed at its
budget still leaves what it measured. ``--dry-run`` runs every step on the CPU with
the CuPy stand-in of the test suite (``tests/_cupy_standin.py``) and Triton's
interpreter, on tiny sizes: it checks the orchestration and the report, and its
timings mean nothing.

    python scripts/gpu_check.py verify --out DIR [--dry-run] [--deadline EPOCH_S]
    python scripts/gpu_check.py bench  --out DIR ...
    python scripts/gpu_check.py mnist  --out DIR ...
    python scripts/gpu_check.py report --out DIR
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

# Targets on an H100/H200 (benchmark figures, never test assertions).
TARGETS = {"matmul": 0.9, "softmax": 0.85, "attention_fwd": 0.8}


# ----------------------------------------------------------------------------- plumbing


class Recorder:
    """A JSON list of result rows, rewritten atomically after every row."""

    def __init__(self, path: Path, deadline: float | None):
        self.path, self.deadline, self.rows = path, deadline, []
        self._write()

    def time_left(self) -> float:
        return math.inf if self.deadline is None else self.deadline - time.time()

    def add(self, **row):
        self.rows.append(row)
        self._write()
        print(json.dumps(row), flush=True)

    def _write(self):
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        with os.fdopen(fd, "w") as f:
            json.dump(self.rows, f, indent=1)
        os.replace(tmp, self.path)


def setup(dry_run: bool):
    """(cupy module, minigrad.kernels, torch or None) for the real GPU or the stand-in."""
    if dry_run:
        os.environ.setdefault("TRITON_INTERPRET", "1")
        sys.path.insert(0, str(ROOT / "tests"))
        import _cupy_standin

        _cupy_standin.install()
        kernels = importlib.import_module("minigrad.kernels")
        _cupy_standin.route_kernels_through_interpreter()
        return _cupy_standin, kernels, None
    import cupy

    kernels = importlib.import_module("minigrad.kernels")
    try:
        import torch

        torch = torch if torch.cuda.is_available() else None
    except ImportError:
        torch = None
    problem = kernels._launch.device_launch_problem()
    if problem:
        raise SystemExit(f"gpu_check: Triton kernels cannot launch here: {problem}")
    return cupy, kernels, torch


def timer(cp, fn, reps: int, warmup: int = 2) -> float:
    """Mean milliseconds of ``fn()`` over ``reps`` runs, by CUDA events (after ``warmup`` runs)."""
    for _ in range(warmup):
        fn()
    start, stop = cp.cuda.Event(), cp.cuda.Event()
    start.record()
    for _ in range(reps):
        fn()
    stop.record()
    stop.synchronize()
    return cp.cuda.get_elapsed_time(start, stop) / reps


def torch_timer(torch, fn, reps: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(reps):
        fn()
    stop.record()
    torch.cuda.synchronize()
    return start.elapsed_time(stop) / reps


def host(cp, x, K):
    if isinstance(x, K.BFloat16Array):
        x = x.to_float32()
    return np.asarray(cp.asnumpy(x), dtype=np.float64)


def make(cp, K, shape, dtype, seed):
    """(float64 host copy of the rounded values, device array)."""
    x = np.random.default_rng(seed).standard_normal(shape)
    if dtype == "bfloat16":
        bf = K.to_bfloat16(x)
        return np.asarray(bf.to_float32(), np.float64), K.BFloat16Array(cp.asarray(bf.bits))
    x = x.astype(dtype)
    return x.astype(np.float64), cp.asarray(x)


def max_rel_err(got, ref) -> float:
    return float(np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-30))


# ----------------------------------------------------------------------------- (b) verify


def verify(args):
    """Every kernel against float64 references on awkward shapes; every autotune candidate once."""
    cp, K, _ = setup(args.dry_run)
    rec = Recorder(Path(args.out) / "verify.json", args.deadline)
    mm = importlib.import_module("minigrad.kernels.matmul")
    sm = importlib.import_module("minigrad.kernels.softmax")
    at = importlib.import_module("minigrad.kernels.attention")
    tiny = args.dry_run
    tol = {"float32": 1e-4, "tf32": 5e-3, "float16": 1e-2, "bfloat16": 3e-2}

    def forced(module, cfg):
        """Run a launcher with its config choice forced to ``cfg``."""
        real = module.choose_config
        module.choose_config = lambda *a, **kw: cfg
        return real

    def case(name, fn):
        if rec.time_left() < 5:
            rec.add(kernel=name, status="skipped", reason="step budget used up")
            return
        t0 = time.time()
        try:
            err, limit = fn()
            rec.add(kernel=name, status="ok" if err <= limit else "FAIL", max_rel_err=err,
                    tolerance=limit, seconds=round(time.time() - t0, 2))
        except Exception as e:  # noqa: BLE001 - recorded, and the step fails at the end
            rec.add(kernel=name, status="ERROR", error=f"{type(e).__name__}: {e}"[:400])

    # the first shape runs with every candidate config, the others with the default one
    shapes = [(9, 11, 7)] if tiny else [(300, 200, 130), (1, 1, 1), (1027, 515, 259), (64, 4097, 33)]
    for family, configs in list(mm.CONFIGS.items())[:1] if tiny else mm.CONFIGS.items():
        dtypes = ["float16", "bfloat16"] if family == "half" else ["float32"]
        for dtype in dtypes[:1] if tiny else dtypes:
            for i, cfg in enumerate(configs[:1] if tiny else configs):
                for m, n, k in shapes[:1] if i else shapes:  # every shape once, every config once

                    def run(m=m, n=n, k=k, cfg=cfg, dtype=dtype, family=family):
                        a, ad = make(cp, K, (m, k), dtype, 1)
                        b, bd = make(cp, K, (k, n), dtype, 2)
                        real = forced(mm, cfg)
                        try:
                            out = K.matmul(ad, bd, input_precision="tf32" if family == "tf32" else None)
                        finally:
                            mm.choose_config = real
                        limit = tol["tf32" if family == "tf32" else dtype]
                        return max_rel_err(host(cp, out, K), a @ b), limit

                    case(f"matmul {family} {dtype} {m}x{n}x{k} cfg{i}", run)
    for cols in ([13] if tiny else [1, 1000, 4097, 70000]):
        for dtype in ["float16"] if tiny else ["float16", "bfloat16", "float32"]:
            def run(cols=cols, dtype=dtype):
                x, xd = make(cp, K, (1 if tiny else 33, cols), dtype, 3)
                y = host(cp, K.softmax(xd), K)
                dy, dyd = make(cp, K, x.shape, dtype, 4)
                dx = host(cp, K.softmax_backward(K.softmax(xd), dyd), K)
                ref = sm.softmax_reference(x)
                dref = sm.softmax_backward_reference(ref, dy)
                return max(max_rel_err(y, ref), max_rel_err(dx, dref)), tol[dtype] * 3

            case(f"softmax fwd+bwd {dtype} {1 if tiny else 33}x{cols}", run)
    attn = [(1, 1, 11, 16)] if tiny else [(2, 3, 1000, 64), (1, 2, 257, 128), (3, 1, 77, 48)]
    runs = []  # (shape, dtype, config index, causal): the default config everywhere first
    for dtype in ["float16"] if tiny else ["float16", "bfloat16", "float32"]:
        runs += [(shape, dtype, 0, causal) for shape in attn for causal in (False, True)[tiny:]]
    for dtype in [] if tiny else ["float16", "bfloat16", "float32"]:
        family = at.config_family(dtype, attn[0][3])
        n_cfg = max(len(at.FWD_CONFIGS[family]), len(at.BWD_CONFIGS[family]))
        runs += [(attn[0], dtype, i, True) for i in range(1, n_cfg)]
    for (B, H, S, D), dtype, i, causal in runs:
        family = at.config_family(dtype, D)
        fwd, bwd = at.FWD_CONFIGS[family], at.BWD_CONFIGS[family]
        fwd_i, bwd_i = fwd[min(i, len(fwd) - 1)], bwd[min(i, len(bwd) - 1)]

        def run(B=B, H=H, S=S, D=D, dtype=dtype, fwd_cfg=fwd_i, bwd_cfg=bwd_i, causal=causal):
            q, qd = make(cp, K, (B, H, S, D), dtype, 5)
            k, kd = make(cp, K, (B, H, S, D), dtype, 6)
            v, vd = make(cp, K, (B, H, S, D), dtype, 7)
            do, dod = make(cp, K, (B, H, S, D), dtype, 8)
            real = forced(at, fwd_cfg)
            try:
                o, lse = K.attention(qd, kd, vd, causal=causal, return_lse=True)
                at.choose_config = lambda *a, **kw: bwd_cfg
                grads = K.attention_backward(qd, kd, vd, o, lse, dod, causal=causal)
            finally:
                at.choose_config = real
            err = max_rel_err(host(cp, o, K), at.attention_reference(q, k, v, causal=causal))
            refs = at.attention_backward_reference(q, k, v, do, causal=causal)
            for g, r in zip(grads, refs):
                err = max(err, max_rel_err(host(cp, g, K), r))
            return err, tol[dtype] * 3

        case(f"attention fwd+bwd {dtype} {B}x{H}x{S}x{D} {'causal' if causal else 'full'} cfg{i}", run)
    bad = [r for r in rec.rows if r["status"] in ("FAIL", "ERROR")]
    return 1 if bad else 0


# ----------------------------------------------------------------------------- (c) bench


def bench(args):
    """Kernel speed against torch/cuBLAS; first-call compile times. Rows are written as measured."""
    cp, K, torch = setup(args.dry_run)
    rec = Recorder(Path(args.out) / "bench.json", args.deadline)
    tiny = args.dry_run
    reps = 2 if tiny else 10
    tdt = {} if torch is None else {"float16": torch.float16, "bfloat16": torch.bfloat16,
                                    "float32": torch.float32}

    def room(seconds):
        if rec.time_left() < seconds:
            rec.add(bench="skipped", reason="step budget used up")
            return False
        return True

    def t_rand(shape, dtype):
        return torch.randn(*shape, device="cuda", dtype=tdt[dtype])

    # first-call compile times (fresh TRITON_CACHE_DIR set by gpu_check.sh)
    n, d = (8, 16) if tiny else (256, 64)
    for name, fn in [
        ("matmul fp16", lambda: K.matmul(make(cp, K, (n, n), "float16", 1)[1],
                                         make(cp, K, (n, n), "float16", 2)[1])),
        ("softmax fp32", lambda: K.softmax(make(cp, K, (n, 4 * n), "float32", 3)[1])),
        (f"attention fp16 d{d}", lambda: K.attention(*(make(cp, K, (1, 1, n, d), "float16", s)[1]
                                                       for s in range(3)))),
    ]:
        if not room(20):
            return 0
        t0 = time.perf_counter()
        fn()
        cp.cuda.runtime.deviceSynchronize()
        rec.add(bench="first call (compile + autotune)", case=name,
                seconds=round(time.perf_counter() - t0, 3))

    sizes = [(8, 8, 8)] if tiny else [(4096, 4096, 4096), (8192, 8192, 8192), (4097, 4095, 4093),
                                          (1000, 3000, 700)]
    for dtype in ["float16"] if tiny else ["float16", "bfloat16"]:
        for m, n, k in sizes:
            if not room(30):
                return 0
            _, a = make(cp, K, (m, k), dtype, 1)
            _, b = make(cp, K, (k, n), dtype, 2)
            ms = timer(cp, lambda a=a, b=b: K.matmul(a, b), reps)
            row = {"bench": "matmul", "case": f"{dtype} {m}x{n}x{k}", "ms": ms,
                   "tflops": 2 * m * n * k / ms / 1e9}
            if torch is not None:
                ta, tb = t_rand((m, k), dtype), t_rand((k, n), dtype)
                tms = torch_timer(torch, lambda ta=ta, tb=tb: torch.matmul(ta, tb), reps)
                row.update(ref="torch.matmul (cuBLAS)", ref_tflops=2 * m * n * k / tms / 1e9,
                           ratio=tms / ms, target=TARGETS["matmul"])
            rec.add(**row)

    rows, cols = (4, 100) if tiny else (16384, 8192)
    for dtype in ["float32"] if tiny else ["float16", "float32"]:
        if not room(20):
            return 0
        _, x = make(cp, K, (rows, cols), dtype, 4)
        nbytes = 2 * x.nbytes  # one read, one write
        ms = timer(cp, lambda x=x: K.softmax(x), reps)
        y = cp.empty_like(x)
        copy_ms = timer(cp, lambda x=x, y=y: y.__setitem__(Ellipsis, x), reps)
        row = {"bench": "softmax", "case": f"{dtype} {rows}x{cols}", "ms": ms,
               "gbps": nbytes / ms / 1e6, "copy_gbps": nbytes / copy_ms / 1e6,
               "ratio": copy_ms / ms, "ref": "device-to-device copy", "target": TARGETS["softmax"]}
        if torch is not None:
            tx = t_rand((rows, cols), dtype)
            tms = torch_timer(torch, lambda tx=tx: torch.softmax(tx, dim=-1), reps)
            row.update(torch_gbps=nbytes / tms / 1e6, ratio_torch=tms / ms)
        rec.add(**row)

    B, H = (1, 1) if tiny else (4, 16)
    for D in [16] if tiny else [64, 128]:
        for S in [8] if tiny else [1024, 4096]:
            for causal in (True,) if tiny else (False, True):
                if not room(30):
                    return 0
                rec.add(**_bench_attention(cp, K, torch, B, H, S, D, causal, reps))
    return 0


def _bench_attention(cp, K, torch, B, H, S, D, causal, reps) -> dict:
    """Flash attention forward and backward TFLOP/s, fp16, vs torch's SDPA flash backend."""
    q, k, v, do = (make(cp, K, (B, H, S, D), "float16", s)[1] for s in range(4))
    flops = 4 * B * H * S * S * D * (0.5 if causal else 1.0)
    fwd_ms = timer(cp, lambda: K.attention(q, k, v, causal=causal), reps)
    o, lse = K.attention(q, k, v, causal=causal, return_lse=True)
    bwd_ms = timer(cp, lambda: K.attention_backward(q, k, v, o, lse, do, causal=causal), reps)
    row = {"bench": "attention", "case": f"fp16 B{B} H{H} S{S} d{D} {'causal' if causal else 'full'}",
           "fwd_tflops": flops / fwd_ms / 1e9, "bwd_tflops": 2.5 * flops / bwd_ms / 1e9}
    if torch is None:
        return row
    import contextlib

    import torch.nn.functional as tF

    tq, tk, tv = (torch.randn(B, H, S, D, device="cuda", dtype=torch.float16).requires_grad_()
                  for _ in range(3))
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel

        ctx = sdpa_kernel(SDPBackend.FLASH_ATTENTION)
    except ImportError:
        ctx = contextlib.nullcontext()
    with ctx:
        sdpa = tF.scaled_dot_product_attention
        t_fwd = torch_timer(torch, lambda: sdpa(tq, tk, tv, is_causal=causal), reps)
        out = sdpa(tq, tk, tv, is_causal=causal)
        g = torch.randn_like(out)
        t_bwd = torch_timer(torch, lambda: torch.autograd.grad(out, (tq, tk, tv), g, retain_graph=True),
                            reps)
    row.update(ref="torch SDPA flash", ref_fwd_tflops=flops / t_fwd / 1e9,
               ref_bwd_tflops=2.5 * flops / t_bwd / 1e9, ratio=t_fwd / fwd_ms, ratio_bwd=t_bwd / bwd_ms,
               target=TARGETS["attention_fwd"])
    return row


# ----------------------------------------------------------------------------- (d) mnist


def mnist(args):
    """The MNIST MLP and CNN trained on the GPU and on the CPU, same seed: accuracy and time."""
    setup(args.dry_run)
    from minigrad.examples import mnist as example

    rec = Recorder(Path(args.out) / "mnist.json", args.deadline)
    limit, epochs = ("128", "1") if args.dry_run else ("5000", "2")
    status = 0
    for model in ("mlp", "cnn"):
        for device in ("cuda", "cpu"):
            if rec.time_left() < 15:
                rec.add(model=model, device=device, status="skipped", reason="step budget used up")
                continue
            out = Path(args.out) / f"mnist-{model}-{device}"
            t0 = time.perf_counter()
            rc = example.main(["--model", model, "--device", device, "--limit", limit, "--epochs", epochs,
                               "--offline", "--no-plots", "--out", str(out)])
            row = {"model": model, "device": device, "status": "ok" if rc == 0 else f"exit {rc}",
                   "seconds": round(time.perf_counter() - t0, 2)}
            if rc == 0:
                record = json.loads((out / "metrics.json").read_text())
                row.update(test_accuracy=record["test_accuracy"], train_time_s=record.get("train_time_s"))
            status |= rc != 0
            rec.add(**row)
    return status


# ----------------------------------------------------------------------------- (e) report


def _load(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _junit(path: Path) -> dict | None:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    suites = [root] if root.tag == "testsuite" else list(root)
    keys = ("tests", "failures", "errors", "skipped")
    totals = {k: sum(int(s.get(k, 0)) for s in suites) for k in keys}
    totals["passed"] = totals["tests"] - totals["failures"] - totals["errors"] - totals["skipped"]
    return totals


def _fmt(x, digits=2):
    return "—" if x is None else (f"{x:.{digits}f}" if isinstance(x, float) else str(x))


def report(args):
    """One summary (Markdown + JSON) from the steps' files; works with any of them missing."""
    out = Path(args.out)
    steps = []
    if (out / "steps.jsonl").exists():
        steps = [json.loads(line) for line in (out / "steps.jsonl").read_text().splitlines() if line.strip()]
    data = {"steps": steps, "tests": _junit(out / "tests.xml"), "verify": _load(out / "verify.json"),
            "bench": _load(out / "bench.json"), "mnist": _load(out / "mnist.json"),
            "meta": _load(out / "meta.json") or {}}
    lines = ["# GPU check", ""]
    meta = data["meta"]
    if meta:
        lines += [f"- {k}: {v}" for k, v in meta.items()] + [""]
    lines += ["## Steps", "", "| step | status | seconds | budget |", "| --- | --- | --- | --- |"]
    lines += [f"| {s['step']} | {s['status']} | {s['seconds']} | {s['budget']} |" for s in steps]
    t = data["tests"]
    lines += ["", "## (a) Test suite with the device tests on", ""]
    lines += [f"{t['passed']} passed, {t['failures']} failed, {t['errors']} errors, {t['skipped']} skipped"
              if t else "no result (see tests.log)"]
    v = data["verify"] or []
    lines += ["", "## (b) Kernels against references", ""]
    if v:
        bad = [r for r in v if r["status"] in ("FAIL", "ERROR")]
        lines += [f"{sum(r['status'] == 'ok' for r in v)} ok, {len(bad)} failed, "
                  f"{sum(r['status'] == 'skipped' for r in v)} skipped", ""]
        lines += [f"- {r['kernel']}: {r['status']} {r.get('max_rel_err', r.get('error', ''))}" for r in bad]
    else:
        lines.append("no result (see verify.log)")
    b = [r for r in (data["bench"] or []) if r.get("bench") != "skipped"]
    lines += ["", "## (c) Benchmarks", "", "| benchmark | case | minigrad | reference | ratio | target |",
              "| --- | --- | --- | --- | --- | --- |"]
    for r in b:
        if r["bench"] == "matmul":
            lines.append(f"| matmul | {r['case']} | {_fmt(r['tflops'], 1)} TFLOP/s | "
                         f"{_fmt(r.get('ref_tflops'), 1)} TFLOP/s | {_fmt(r.get('ratio'))} | "
                         f"≥ {TARGETS['matmul']} |")
        elif r["bench"] == "softmax":
            lines.append(f"| softmax | {r['case']} | {_fmt(r['gbps'], 0)} GB/s | "
                         f"copy {_fmt(r['copy_gbps'], 0)} GB/s, torch {_fmt(r.get('torch_gbps'), 0)} GB/s | "
                         f"{_fmt(r.get('ratio'))} | "
                         f"≥ {TARGETS['softmax']} of copy |")
        elif r["bench"] == "attention":
            lines.append(f"| attention fwd | {r['case']} | {_fmt(r['fwd_tflops'], 1)} TFLOP/s | "
                         f"{_fmt(r.get('ref_fwd_tflops'), 1)} TFLOP/s | {_fmt(r.get('ratio'))} | "
                         f"≥ {TARGETS['attention_fwd']} |")
            lines.append(f"| attention bwd | {r['case']} | {_fmt(r['bwd_tflops'], 1)} TFLOP/s | "
                         f"{_fmt(r.get('ref_bwd_tflops'), 1)} TFLOP/s | {_fmt(r.get('ratio_bwd'))} | — |")
        else:
            lines.append(f"| {r['bench']} | {r['case']} | {_fmt(r.get('seconds'), 2)} s | — | — | — |")
    m = data["mnist"] or []
    lines += ["", "## (d) MNIST on the GPU vs the CPU", "",
              "| model | device | status | test accuracy | seconds |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {r['model']} | {r['device']} | {r['status']} | {_fmt(r.get('test_accuracy'), 4)} | "
              f"{_fmt(r.get('seconds'))} |" for r in m]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    (out / "report.json").write_text(json.dumps(data, indent=1) + "\n")
    print("\n".join(lines))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("verify", "bench", "mnist", "report"))
    parser.add_argument("--out", required=True)
    parser.add_argument("--dry-run", action="store_true",
                        help="CPU rehearsal: the CuPy stand-in and Triton's interpreter, tiny sizes")
    parser.add_argument("--deadline", type=float, default=None,
                        help="Unix time by which the step should stop starting new cases")
    args = parser.parse_args(argv)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    if args.dry_run and os.environ.get("GPU_CHECK_DRY_HANG") == args.step:
        time.sleep(3600)  # rehearses a hung step: gpu_check.sh must kill it at its budget
    return {"verify": verify, "bench": bench, "mnist": mnist, "report": report}[args.step](args)


if __name__ == "__main__":
    sys.exit(main())
