"""Chapter 9: offline compilation of every kernel for A100 (sm_80) and H100 (sm_90a).

No GPU needed: ``triton.compile`` targets a named architecture and the ptxas
shipped in the triton wheel assembles the PTX.  We check that the fp16 matmul and
attention kernels really use tensor cores (``mma.sync`` on sm_80, ``wgmma`` on
sm_90) and that the default configs neither spill registers nor exceed shared
memory.  Each (kernel, arch, dtype) is compiled once per session.
"""

from __future__ import annotations

import importlib

import pytest

pytestmark = pytest.mark.kernels

pytest.importorskip("triton", reason="triton not installed: pip install 'minigrad-edu[kernels]'")


C = importlib.import_module("minigrad.kernels.compile")

# usable shared memory per block (opt-in maximum): A100 163 KiB, H100 227 KiB
SMEM_LIMIT = {80: 163 * 1024, 90: 227 * 1024}
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
