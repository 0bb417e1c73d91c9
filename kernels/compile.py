"""Offline compilation: look at what Triton makes of our kernels, without a GPU.

Triton lowers a kernel in stages, each printable::

    Python AST -> TTIR (Triton IR, hardware independent)
               -> TTGIR (Triton GPU IR: layouts, shared memory, pipelining)
               -> LLVM IR -> PTX (NVIDIA virtual ISA) -> cubin (via ptxas)

``triton.compile`` runs that pipeline for any target we name, so on a laptop we
can compile for an A100 (``sm_80``: tensor cores via ``mma.sync``) and an H100
(``sm_90a``: warp-group ``wgmma``) and read the result.  The API (triton 3.9)::

    src = triton.compiler.ASTSource(jit_fn, signature, constexprs, attrs)
    ck = triton.compile(src, target=GPUTarget("cuda", 80, 32), options={...})
    ck.asm["ttir"], ck.asm["ttgir"], ck.asm["ptx"], ck.metadata.shared

``signature`` maps every argument name to a type string (``"*fp16"`` pointer,
``"i32"``, ``"fp32"``, or ``"constexpr"``); ``constexprs`` gives the constexpr
values; ``attrs`` marks arguments divisible by 16 (``tt.divisibility``), which
the runtime JIT also does for aligned pointers and sizes, and which lets the
compiler use 128-bit vector loads.  Like the runtime, we specialise
unit strides to the constant 1.

``ptxas -v`` (shipped in the triton wheel) then reports registers per thread
and spills: registers bound occupancy, and spills (registers evicted to slow
local memory) are usually a sign that the tiles are too big.

Run ``python -m minigrad.kernels.compile`` for a table over all kernels.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

from ._launch import require_triton, triton_imported_interpreting

# `from . import softmax` would give the *function* softmax re-exported by
# __init__.py, so fetch the submodules by their full names.
_mm = importlib.import_module(f"{__package__}.matmul")
_sm = importlib.import_module(f"{__package__}.softmax")
_attn = importlib.import_module(f"{__package__}.attention")

TRITON_TYPES = {"float16": "fp16", "bfloat16": "bf16", "float32": "fp32"}
CAPS = (80, 90)


# --------------------------------------------------------------------------------------
# What to compile: (kernel, signature, constexprs, divisible-by-16 args, options)
# --------------------------------------------------------------------------------------


@dataclass
class KernelSpec:
    kernel: object  # a kernels._launch.Kernel
    signature: dict  # arg name -> type string
    constexprs: dict  # arg name -> value
    divisible: tuple  # arg names hinted as multiples of 16
    options: dict = field(default_factory=dict)  # num_warps, num_stages


def _split(cfg):
    cfg = dict(cfg)
    opts = {k: cfg.pop(k) for k in ("num_warps", "num_stages") if k in cfg}
    return cfg, opts


def _spec(kernel, types: dict, constexprs: dict, cfg: dict) -> KernelSpec:
    meta, opts = _split(cfg)
    constexprs = {**constexprs, **meta}
    names = kernel.jit_function.arg_names
    signature = {n: ("constexpr" if n in constexprs else types[n]) for n in names}
    divisible = tuple(n for n in names if n not in constexprs and types[n] in ("i32",)
                      or types.get(n, "").startswith("*"))
    divisible = tuple(n for n in divisible if n not in constexprs)
    return KernelSpec(kernel, signature, constexprs, divisible, opts)


def _matmul_spec(dtype):
    t = "*" + TRITON_TYPES[dtype]
    precision = "ieee"  # the launcher's fp32 default; "tf32" is the fast opt-in
    cfg = _mm.CONFIGS[_mm.config_family(dtype, precision)][0]
    types = {"a_ptr": t, "b_ptr": t, "c_ptr": t, "bias_ptr": t,
             "M": "i32", "N": "i32", "K": "i32",
             "stride_ab": "i32", "stride_am": "i32", "stride_bb": "i32", "stride_bk": "i32",
             "stride_cb": "i32", "stride_cm": "i32"}
    const = {"stride_ak": 1, "stride_bn": 1, "stride_cn": 1,  # row-major: unit strides
             "HAS_BIAS": True, "ACTIVATION": "gelu",
             "INPUT_PRECISION": precision, "UPCAST": False, "INDEX_64": False}
    return _spec(_mm.matmul_kernel, types, const, cfg)


def _softmax_spec(kernel, n_cols, backward=False):
    def make(dtype):
        t = "*" + TRITON_TYPES[dtype]
        looped, cands = _sm._configs(n_cols)
        if backward:
            types = {"y_ptr": t, "dy_ptr": t, "dx_ptr": t, "n_cols": "i32", "row_stride": "i32"}
        else:
            types = {"x_ptr": t, "y_ptr": t, "n_cols": "i32",
                     "x_row_stride": "i32", "y_row_stride": "i32"}
        return _spec(kernel, types, {"LOG": False}, cands[0])
    return make


def _attn_common(dtype, head_dim):
    return {"HEAD_DIM": head_dim, "BLOCK_D": head_dim, "CAUSAL": True,
            "INPUT_PRECISION": "ieee", "UPCAST": False}


def _attn_fwd_spec(dtype, head_dim=64):
    t = "*" + TRITON_TYPES[dtype]
    types = {"q_ptr": t, "k_ptr": t, "v_ptr": t, "o_ptr": t, "lse_ptr": "*fp32",
             "S_Q": "i32", "S_K": "i32", "sm_scale": "fp32"}
    cfg = _attn.FWD_CONFIGS[_attn.config_family(dtype, head_dim)][0]
    return _spec(_attn.attn_fwd_kernel, types, _attn_common(dtype, head_dim), cfg)


def _attn_bwd_spec(kernel, which):
    def make(dtype, head_dim=64):
        t = "*" + TRITON_TYPES[dtype]
        types = {"q_ptr": t, "k_ptr": t, "v_ptr": t, "do_ptr": t, "lse_ptr": "*fp32",
                 "delta_ptr": "*fp32", "dq_ptr": t, "dk_ptr": t, "dv_ptr": t,
                 "S_Q": "i32", "S_K": "i32", "sm_scale": "fp32"}
        cfg = dict(_attn.BWD_CONFIGS[_attn.config_family(dtype, head_dim)][0])
        if which == "dq":  # the launcher swaps the block sizes for the dq kernel
            cfg["BLOCK_M"], cfg["BLOCK_N"] = cfg["BLOCK_N"], cfg["BLOCK_M"]
        return _spec(kernel, types, _attn_common(dtype, head_dim), cfg)
    return make


def _attn_pre_spec(dtype, head_dim=64):
    t = "*" + TRITON_TYPES[dtype]
    types = {"o_ptr": t, "do_ptr": t, "delta_ptr": "*fp32", "S_Q": "i32"}
    return _spec(_attn.attn_bwd_preprocess_kernel, types,
                 {"HEAD_DIM": head_dim, "BLOCK_D": head_dim, "BLOCK_M": 64}, {"num_warps": 4})


# name -> function(dtype) -> KernelSpec, in the default (first) config of each launcher
KERNELS = {
    "matmul": _matmul_spec,
    "softmax_fwd": _softmax_spec(_sm.softmax_fwd_kernel, 1024),
    "softmax_fwd_looped": _softmax_spec(_sm.softmax_fwd_looped_kernel, 8192),
    "softmax_bwd": _softmax_spec(_sm.softmax_bwd_kernel, 1024, backward=True),
    "softmax_bwd_looped": _softmax_spec(_sm.softmax_bwd_looped_kernel, 8192, backward=True),
    "attention_fwd": _attn_fwd_spec,
    "attention_bwd_preprocess": _attn_pre_spec,
    "attention_bwd_dkdv": _attn_bwd_spec(_attn.attn_bwd_dkdv_kernel, "dkdv"),
    "attention_bwd_dq": _attn_bwd_spec(_attn.attn_bwd_dq_kernel, "dq"),
    # head_dim 128: the largest supported, where register pressure peaks
    "attention_fwd_d128": lambda dtype: _attn_fwd_spec(dtype, 128),
    "attention_bwd_dkdv_d128": lambda dtype: _attn_bwd_spec(_attn.attn_bwd_dkdv_kernel, "dkdv")(
        dtype, 128),
}
#: kernels whose fp16 PTX must use tensor cores (mma.sync on sm_80, wgmma on sm_90)
TENSOR_CORE_KERNELS = ("matmul", "attention_fwd", "attention_bwd_dkdv", "attention_bwd_dq")


# --------------------------------------------------------------------------------------
# Compile + inspect
# --------------------------------------------------------------------------------------


@dataclass
class CompiledKernel:
    name: str
    dtype: str
    cap: int
    arch: str  # e.g. "sm_80", "sm_90a" (from the PTX .target line)
    ttir: str
    ttgir: str
    ptx: str
    shared: int  # bytes of shared memory per program
    num_warps: int
    constexprs: dict

    def mma_counts(self) -> dict:
        return mma_counts(self.ptx)

    def ptxas(self) -> dict:
        return ptxas_report(self.ptx, self.arch)


def compile_kernel(name: str, dtype: str = "float16", cap: int = 80) -> CompiledKernel:
    """Compile kernel ``name`` (a key of `KERNELS`) for ``sm_<cap>``."""
    return compile_many([(name, dtype, cap)])[0]


def compile_many(cases) -> list:
    """Compile several ``(name, dtype, cap)`` cases; returns CompiledKernel objects."""
    require_triton("compile_kernel")
    cases = [tuple(c) for c in cases]
    for name, dtype, _cap in cases:
        if name not in KERNELS:
            raise KeyError(f"compile_kernel: unknown kernel {name!r}; "
                           f"choose from {sorted(KERNELS)}")
        if dtype not in TRITON_TYPES:
            raise ValueError(f"compile_kernel: {name}: dtype {dtype} not in {tuple(TRITON_TYPES)}")
    # In a process where triton was imported with TRITON_INTERPRET=1, triton's own
    # library functions (tl.cdiv, tl.max, ...) are interpreter functions; the compiler
    # calling them patches triton.language with the interpreter's builder (3.9 never
    # undoes it), breaking this and later compilations.  Compile in a clean process.
    if triton_imported_interpreting():
        return _compile_in_subprocess(cases)
    return [_compile_here(*c) for c in cases]


_SUBPROCESS = """
import dataclasses, importlib.util, json, sys
root = sys.argv[1]
spec = importlib.util.spec_from_file_location("_mg_kernels", root + "/__init__.py",
                                              submodule_search_locations=[root])
pkg = importlib.util.module_from_spec(spec)
sys.modules["_mg_kernels"] = pkg
spec.loader.exec_module(pkg)
C = importlib.import_module("_mg_kernels.compile")
cases = json.loads(sys.stdin.read())
print(json.dumps([dataclasses.asdict(C._compile_here(*c)) for c in cases]))
"""


def _compile_in_subprocess(cases):
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    out = subprocess.run([sys.executable, "-c", _SUBPROCESS, os.path.dirname(__file__)],
                         input=json.dumps(cases), capture_output=True, text=True, env=env,
                         check=False)
    if out.returncode != 0:
        raise RuntimeError(f"compile_kernel: compilation subprocess failed:\n{out.stderr}")
    return [CompiledKernel(**d) for d in json.loads(out.stdout.strip().splitlines()[-1])]


def _compile_here(name: str, dtype: str, cap: int) -> CompiledKernel:
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    spec = KERNELS[name](dtype)
    fn = spec.kernel.jit_function
    attrs = {(fn.arg_names.index(n),): [["tt.divisibility", 16]] for n in spec.divisible}
    src = ASTSource(fn, spec.signature, spec.constexprs, attrs)
    # fp fusion (a*b+c -> fma) is Triton's long-standing default; saying so explicitly
    # also silences 3.9's warning about the default changing in 3.10.
    options = {"enable_fp_fusion": True, **spec.options}
    ck = triton.compile(src, target=GPUTarget("cuda", cap, 32), options=options)
    ptx = ck.asm["ptx"]
    match = re.search(r"^\.target\s+(\S+)", ptx, re.M)
    arch = match.group(1).rstrip(",") if match else f"sm_{cap}"
    return CompiledKernel(name=name, dtype=dtype, cap=cap, arch=arch, ttir=ck.asm["ttir"],
                          ttgir=ck.asm["ttgir"], ptx=ptx, shared=int(ck.metadata.shared),
                          num_warps=int(ck.metadata.num_warps), constexprs=spec.constexprs)


def mma_counts(ptx: str) -> dict:
    """Count tensor-core instructions in PTX text."""
    return {"mma.sync": len(re.findall(r"^\s*mma\.sync\b", ptx, re.M)),
            "wgmma": len(re.findall(r"^\s*wgmma\.mma_async\b", ptx, re.M))}


def ptxas_path(cap: int) -> str:
    """The ptxas binary shipped in the triton wheel, chosen the way Triton does.

    Triton 3.9 ships two: ``bin/ptxas`` (CUDA 12.9) for sm < 90 and
    ``bin/ptxas-blackwell`` (CUDA 13.x) for sm >= 90, whose PTX it emits with a
    newer ``.version`` than CUDA 12.9 accepts.
    """
    from triton.backends.nvidia.compiler import get_ptxas

    return get_ptxas(cap).path


def ptxas_report(ptx: str, arch: str) -> dict:
    """Assemble ``ptx`` for ``arch`` with ``ptxas -v``; parse registers, spills, smem."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "kernel.ptx")
        with open(src, "w") as f:
            f.write(ptx)
        cap = int(re.sub(r"\D", "", arch))  # "sm_90a" -> 90
        out = subprocess.run([ptxas_path(cap), "-v", f"--gpu-name={arch}", src,
                              "-o", os.path.join(tmp, "kernel.cubin")],
                             capture_output=True, text=True, check=False)
    text = out.stdout + out.stderr
    if out.returncode != 0:
        raise RuntimeError(f"ptxas failed for {arch}:\n{text}")

    def grab(pattern):
        m = re.search(pattern, text)
        return int(m.group(1)) if m else 0

    return {"registers": grab(r"Used (\d+) registers"),
            "spill_stores": grab(r"(\d+) bytes spill stores"),
            "spill_loads": grab(r"(\d+) bytes spill loads"),
            "smem_static": grab(r"(\d+) bytes smem"),
            "text": text}


def report(dtypes=("float16", "float32"), caps=CAPS, names=None, file=None):
    """Print one line per (kernel, arch, dtype); return the rows as dicts."""
    file = file or sys.stdout
    cases = [(n, d, c) for n in (names or KERNELS) for c in caps for d in dtypes]
    compiled = dict(zip(cases, compile_many(cases)))
    rows = []
    print(f"{'kernel':26s} {'arch':7s} {'dtype':8s} {'regs':>5s} {'spills':>7s} "
          f"{'smem(B)':>8s} {'mma.sync':>8s} {'wgmma':>6s}", file=file)
    for name in names or KERNELS:
        for cap in caps:
            for dtype in dtypes:
                ck = compiled[(name, dtype, cap)]
                ptxas = ck.ptxas()
                mma = ck.mma_counts()
                spills = ptxas["spill_stores"] + ptxas["spill_loads"]
                row = {"kernel": name, "arch": ck.arch, "dtype": dtype,
                       "registers": ptxas["registers"], "spills": spills, "shared": ck.shared,
                       **mma}
                rows.append(row)
                print(f"{name:26s} {ck.arch:7s} {dtype:8s} {row['registers']:5d} {spills:7d} "
                      f"{ck.shared:8d} {mma['mma.sync']:8d} {mma['wgmma']:6d}", file=file)
    return rows


if __name__ == "__main__":
    report()
