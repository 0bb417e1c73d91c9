"""Benchmark the Triton kernels of ``minigrad.kernels``.

On a CUDA GPU (CuPy installed):

* matmul TFLOP/s (``2 M N K / t``) vs ``cupy.matmul``, square 1024..8192, fp16 and fp32;
* softmax GB/s (``2 * bytes(x) / t``: read once, write once) vs the HBM peak
  (default 3.35 TB/s, H100 SXM; override with ``--hbm-tbs``) and vs a CuPy
  expression (``exp(x - max) / sum``);
* attention forward/backward TFLOP/s: forward ``4 B H S^2 D`` flops (halved when
  causal), backward 2.5x that; batch 4, 32 heads, head_dim 64/128, seq 1k..16k.

Plots go to ``benchmarks/kernels.png`` (Agg backend; written to a temp file then
``os.replace``-d, so a reader never sees half a PNG).

Without a GPU it says so, runs small interpreter sanity checks
(``TRITON_INTERPRET=1``) and prints the offline compile report instead.

    python benchmarks/kernels.py [--quick] [--out benchmarks/kernels.png]
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
import time
from pathlib import Path

import numpy as np

from minigrad.io import save_figure

ROOT = Path(__file__).resolve().parents[1]


def _have_gpu() -> bool:
    """CuPy + a CUDA device, checked *before* triton is imported (see below)."""
    if importlib.util.find_spec("cupy") is None:
        return False
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def load_kernels():
    try:
        return importlib.import_module("minigrad.kernels")
    except ImportError:  # not installed: load the kernels/ directory directly
        spec = importlib.util.spec_from_file_location(
            "minigrad_kernels_src", ROOT / "kernels" / "__init__.py",
            submodule_search_locations=[str(ROOT / "kernels")])
        mod = importlib.util.module_from_spec(spec)
        sys.modules["minigrad_kernels_src"] = mod
        spec.loader.exec_module(mod)
        return mod


# --------------------------------------------------------------------------------------
# GPU timing
# --------------------------------------------------------------------------------------


def gpu_time_ms(fn, warmup=3, reps=10):
    """Median time of ``fn()`` in ms, measured with CUDA events."""
    import cupy

    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        start, stop = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, stop))
    return float(np.median(times))


def bench_matmul(K, sizes):
    import cupy

    rows = []
    for dtype in ("float16", "float32"):
        for n in sizes:
            a = cupy.random.standard_normal((n, n), dtype=cupy.float32).astype(dtype)
            b = cupy.random.standard_normal((n, n), dtype=cupy.float32).astype(dtype)
            flops = 2 * n**3
            t_tr = gpu_time_ms(lambda a=a, b=b: K.matmul(a, b))
            t_cp = gpu_time_ms(lambda a=a, b=b: cupy.matmul(a, b))
            row = {"dtype": dtype, "n": n, "triton": flops / t_tr / 1e9, "cupy": flops / t_cp / 1e9}
            if dtype == "float32":
                t_tf = gpu_time_ms(lambda a=a, b=b: K.matmul(a, b, input_precision="tf32"))
                row["triton_tf32"] = flops / t_tf / 1e9
            rows.append(row)
            print(f"matmul {dtype} {n:5d}: " + "  ".join(
                f"{k}={v:7.1f} TFLOP/s" for k, v in row.items() if k not in ("dtype", "n")))
    return rows


def bench_softmax(K, hbm_tbs, n_rows=4096, cols=(256, 1024, 4096, 8192, 16384, 32768)):
    import cupy

    def cupy_softmax(x):
        e = cupy.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    rows = []
    for n in cols:
        x = cupy.random.standard_normal((n_rows, n), dtype=cupy.float32).astype(cupy.float16)
        moved = 2 * x.nbytes  # read x once, write y once
        t_tr = gpu_time_ms(lambda x=x: K.softmax(x))
        t_cp = gpu_time_ms(lambda x=x: cupy_softmax(x))
        row = {"n": n, "triton": moved / t_tr / 1e6, "cupy": moved / t_cp / 1e6}
        rows.append(row)
        print(f"softmax fp16 {n_rows}x{n:6d}: triton {row['triton']:7.0f} GB/s "
              f"({100 * row['triton'] / (hbm_tbs * 1e3):4.1f}% of {hbm_tbs} TB/s), "
              f"cupy {row['cupy']:7.0f} GB/s")
    return rows


def bench_attention(K, seqs, head_dims=(64, 128), batch=4, heads=32):
    import cupy

    rows = []
    for d in head_dims:
        for causal in (False, True):
            for s in seqs:
                shape = (batch, heads, s, d)
                q, k, v, do = (cupy.random.standard_normal(shape, dtype=cupy.float32)
                               .astype(cupy.float16) for _ in range(4))
                fwd_flops = 4 * batch * heads * s * s * d * (0.5 if causal else 1.0)
                o, lse = K.attention(q, k, v, causal=causal, return_lse=True)
                t_f = gpu_time_ms(lambda q=q, k=k, v=v, c=causal: K.attention(q, k, v, causal=c),
                                  reps=5)
                t_b = gpu_time_ms(lambda q=q, k=k, v=v, o=o, lse=lse, do=do, c=causal:
                                  K.attention_backward(q, k, v, o, lse, do, causal=c), reps=5)
                row = {"d": d, "causal": causal, "s": s,
                       "fwd": fwd_flops / t_f / 1e9, "bwd": 2.5 * fwd_flops / t_b / 1e9}
                rows.append(row)
                print(f"attention fp16 d={d} causal={causal!s:5} S={s:6d}: "
                      f"fwd {row['fwd']:6.1f} TFLOP/s, bwd {row['bwd']:6.1f} TFLOP/s")
                del q, k, v, do, o, lse
                cupy.get_default_memory_pool().free_all_blocks()
    return rows


def plot(results, out, hbm_tbs):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    ax = axes[0]
    for dtype in ("float16", "float32"):
        rs = [r for r in results["matmul"] if r["dtype"] == dtype]
        ns = [r["n"] for r in rs]
        ax.plot(ns, [r["triton"] for r in rs], "o-", label=f"triton {dtype}")
        ax.plot(ns, [r["cupy"] for r in rs], "s--", label=f"cupy {dtype}")
    ax.set(title="matmul", xlabel="M = N = K", ylabel="TFLOP/s", xscale="log", xticks=[])
    ax.legend()
    ax = axes[1]
    rs = results["softmax"]
    ax.plot([r["n"] for r in rs], [r["triton"] for r in rs], "o-", label="triton")
    ax.plot([r["n"] for r in rs], [r["cupy"] for r in rs], "s--", label="cupy")
    ax.axhline(hbm_tbs * 1e3, color="k", lw=0.8, label=f"HBM peak {hbm_tbs} TB/s")
    ax.set(title="softmax fp16 (4096 rows)", xlabel="columns", ylabel="GB/s", xscale="log")
    ax.legend()
    ax = axes[2]
    for r_d in sorted({r["d"] for r in results["attention"]}):
        for causal in (False, True):
            rs = [r for r in results["attention"] if r["d"] == r_d and r["causal"] == causal]
            tag = f"d={r_d}{' causal' if causal else ''}"
            ax.plot([r["s"] for r in rs], [r["fwd"] for r in rs], "o-", label=f"fwd {tag}")
            ax.plot([r["s"] for r in rs], [r["bwd"] for r in rs], "s--", label=f"bwd {tag}")
    ax.set(title="flash attention fp16 (B=4, H=32)", xlabel="sequence length",
           ylabel="TFLOP/s", xscale="log")
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, out, dpi=120)  # temp file + rename: never half a PNG
    plt.close(fig)
    print(f"plot written to {out}")


# --------------------------------------------------------------------------------------
# CPU fallback
# --------------------------------------------------------------------------------------


def cpu_sanity(K):
    """Tiny interpreter runs against the NumPy references (seconds, not a benchmark)."""
    rng = np.random.default_rng(0)
    checks = []
    a, b = rng.standard_normal((33, 70)), rng.standard_normal((70, 19))
    bias = rng.standard_normal(19)
    a, b, bias = (t.astype(np.float32) for t in (a, b, bias))
    checks.append(("matmul+bias+gelu fp32", K.matmul(a, b, bias, "gelu"),
                   K.matmul_reference(a, b, bias, "gelu")))
    x = rng.standard_normal((3, 5000)).astype(np.float32)
    checks.append(("softmax (looped, 5000 cols)", K.softmax(x), K.softmax_reference(x)))
    q, k, v, do = (rng.standard_normal((1, 2, 70, 32)).astype(np.float32) for _ in range(4))
    o, lse = K.attention(q, k, v, causal=True, return_lse=True)
    checks.append(("attention fwd causal", o, K.attention_reference(q, k, v, causal=True)))
    dq, _, _ = K.attention_backward(q, k, v, o, lse, do, causal=True)
    checks.append(("attention bwd dq", dq,
                   K.attention_backward_reference(q, k, v, do, causal=True)[0]))
    ok = True
    for name, got, ref in checks:
        err = float(np.abs(np.asarray(got, np.float64) - ref).max())
        good = err < 1e-3
        ok &= good
        print(f"  {name:30s} max abs err {err:.2e}  {'ok' if good else 'FAIL'}")
    return ok


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer sizes")
    p.add_argument("--hbm-tbs", type=float, default=3.35, help="HBM peak in TB/s (H100: 3.35)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "kernels.png"))
    args = p.parse_args(argv)

    # Triton fixes interpreter-vs-compiler mode when it is imported: decide first.
    gpu = _have_gpu()
    if gpu:
        os.environ.pop("TRITON_INTERPRET", None)
    else:
        os.environ["TRITON_INTERPRET"] = "1"
    K = load_kernels()
    launch = sys.modules[K.__name__ + "._launch"]
    if not launch.HAS_TRITON:
        print(f"triton is not installed ({launch.INSTALL_HINT}); nothing to benchmark.")
        return 0
    if not gpu:
        print("No CUDA GPU (or no CuPy): skipping the GPU benchmarks.")
        print("\nInterpreter sanity checks (TRITON_INTERPRET=1, NumPy arrays):")
        t0 = time.perf_counter()
        ok = cpu_sanity(K)
        print(f"  ({time.perf_counter() - t0:.1f} s)")
        print("\nOffline compile report (what the kernels become on A100 / H100):")
        compile_mod = importlib.import_module(K.__name__ + ".compile")
        compile_mod.report()
        return 0 if ok else 1

    sizes = (1024, 4096) if args.quick else (1024, 2048, 4096, 8192)
    seqs = (1024, 4096) if args.quick else (1024, 2048, 4096, 8192, 16384)
    results = {"matmul": bench_matmul(K, sizes), "softmax": bench_softmax(K, args.hbm_tbs),
               "attention": bench_attention(K, seqs)}
    plot(results, args.out, args.hbm_tbs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
