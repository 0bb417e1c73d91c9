"""Chapter 9: offline compilation of every kernel for A100 (sm_80) and H100 (sm_90a).

No GPU needed: ``triton.compile`` targets a named architecture and the ptxas
shipped in the triton wheel assembles the PTX.  We check that the fp16 matmul and
attention kernels really use tensor cores (``mma.sync`` on sm_80, ``wgmma`` on
sm_90) and that the default configs neither spill registers nor exceed shared
memory.  Each (kernel, arch, dtype) is compiled once per session.

Which Triton these hold for: register allocation is the compiler's, so "no spills"
is a statement about one Triton release. It holds for Triton >= 3.9 (checked with
3.9.0). Triton 3.6 (what many GPU images ship) spills in two known cases on sm_90:
the fp32 attention forward at head_dim 64 (24 B) and the fp16 dK/dV kernel at
head_dim 128 (16 B); with an older Triton those cases are expected failures (xfail),
and every other case must still be spill-free.
"""

from __future__ import annotations

import importlib

import pytest

triton = pytest.importorskip("triton", reason="triton not installed: pip install 'minigrad-edu[kernels]'")

pytestmark = pytest.mark.kernels


C = importlib.import_module("minigrad.kernels.compile")

# usable shared memory per block (opt-in maximum): A100 163 KiB, H100 227 KiB
SMEM_LIMIT = {80: 163 * 1024, 90: 227 * 1024}

#: the Triton release the spill-free claims were checked with (see the module docstring)
SPILL_FREE_SINCE = (3, 9)
TRITON_VERSION = tuple(int(p) for p in triton.__version__.split(".")[:2])
#: (kernel, cap, dtype) known to spill with Triton older than SPILL_FREE_SINCE
KNOWN_OLD_TRITON_SPILLS = {("attention_fwd", 90, "float32"): 24,
                           ("attention_bwd_dkdv_d128", 90, "float16"): 16}
CASES = [(name, cap, dtype) for name in C.KERNELS for cap in C.CAPS
         for dtype in ("float16", "float32")]


@pytest.fixture(scope="module")
def all_compiled():
    """Compile every case once (in one batch: one subprocess if the interpreter is on)."""
    kernels = C.compile_many([(name, dtype, cap) for name, cap, dtype in CASES])
    return dict(zip(CASES, kernels))


@pytest.fixture(params=CASES, ids=lambda c: f"{c[0]}-sm{c[1]}-{c[2]}")
def case(request, all_compiled):
    name, cap, dtype = request.param
    ck = all_compiled[request.param]
    return name, cap, dtype, ck, _ptxas_for(ck)


_PTXAS = {}  # ptxas -v once per compiled kernel


def _ptxas_for(ck):
    key = (ck.name, ck.cap, ck.dtype)
    if key not in _PTXAS:
        _PTXAS[key] = ck.ptxas()
    return _PTXAS[key]


def test_compiles_with_all_stages(case):
    name, cap, dtype, ck, _ = case
    assert ck.arch == ("sm_90a" if cap == 90 else "sm_80")
    assert "tt.func" in ck.ttir and "ttg." in ck.ttgir
    assert ".entry" in ck.ptx


TENSOR_CORE_CASES = [(name, cap, "float16") for name in C.TENSOR_CORE_KERNELS for cap in C.CAPS]


@pytest.mark.parametrize("key", TENSOR_CORE_CASES, ids=lambda c: f"{c[0]}-sm{c[1]}")
def test_tensor_cores_in_fp16(key, all_compiled):
    name, cap, _ = key
    ck = all_compiled[key]
    counts = ck.mma_counts()
    if cap == 80:
        assert counts["mma.sync"] > 0, f"{name} sm_80 fp16: no mma.sync in PTX"
    else:
        assert counts["wgmma"] > 0, f"{name} sm_90 fp16: no wgmma in PTX"
    assert "tt.dot" in ck.ttir


def test_no_spills_and_smem_fits(case, record_property):
    name, cap, dtype, ck, ptxas = case
    record_property("registers", ptxas["registers"])
    record_property("shared_bytes", ck.shared)
    assert ptxas["registers"] <= 255
    spills = ptxas["spill_stores"] + ptxas["spill_loads"]
    if spills and TRITON_VERSION < SPILL_FREE_SINCE and (name, cap, dtype) in KNOWN_OLD_TRITON_SPILLS:
        pytest.xfail(f"Triton {triton.__version__} spills {spills} B here (known for releases "
                     f"before {'.'.join(map(str, SPILL_FREE_SINCE))}); spill-free with Triton >= 3.9")
    assert spills == 0, f"{name} {ck.arch} {dtype}: {spills} bytes of spills\n{ptxas['text']}"
    assert ck.shared <= SMEM_LIMIT[cap], f"{name} {ck.arch} {dtype}: {ck.shared} B shared memory"


def test_report_prints_a_table(capsys):
    rows = C.report(dtypes=("float16",), caps=(80,), names=["softmax_fwd"])
    out = capsys.readouterr().out
    assert "softmax_fwd" in out and "sm_80" in out
    assert rows[0]["spills"] == 0


def test_unknown_kernel_name():
    with pytest.raises(KeyError, match="unknown kernel 'conv'"):
        C.compile_kernel("conv", "float16", 80)
