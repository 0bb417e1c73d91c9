"""``scripts/gpu_check.sh --dry-run``: the GPU check's orchestration and report, rehearsed on the CPU.

The real run (on a GPU) is owed by whoever has one: ``scripts/gpu_check.sh``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import ON_GPU

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gpu_check.sh"

pytestmark = pytest.mark.skipif(ON_GPU or shutil.which("timeout") is None or os.name != "posix",
                                reason="dry run: on the CPU, with coreutils' timeout")


def _driver():
    spec = importlib.util.spec_from_file_location("gpu_check_driver", ROOT / "scripts" / "gpu_check.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _run(tmp_path, steps, **env):
    full = {**os.environ, "GPU_CHECK_PYTEST_ARGS": "tests/gpu/test_standin.py -k signatures", **env}
    full.pop("TRITON_INTERPRET", None)
    return subprocess.run(["bash", str(SCRIPT), "--dry-run", "--steps", steps, "--out", str(tmp_path)],
                          cwd=ROOT, env=full, capture_output=True, text=True, timeout=240)


def test_dry_run_runs_the_steps_kills_a_hung_one_and_still_reports(tmp_path):
    run = _run(tmp_path, "tests,verify,bench", GPU_CHECK_DRY_HANG="bench", GPU_CHECK_BUDGET_BENCH="6")
    assert run.returncode == 1, run.stdout + run.stderr  # one step did not pass
    steps = {s["step"]: s for s in map(json.loads, (tmp_path / "steps.jsonl").read_text().splitlines())}
    assert steps["tests"]["status"] == "ok" and steps["verify"]["status"] == "ok"
    assert steps["bench"]["status"].startswith("timeout") and steps["bench"]["seconds"] <= 12
    report = (tmp_path / "report.md").read_text()
    assert "mode: dry run (CPU, CuPy stand-in)" in report
    assert "| bench | timeout (killed at its budget) |" in report
    assert "1 passed, 0 failed" in report
    data = json.loads((tmp_path / "report.json").read_text())
    verify = data["verify"]
    assert {r["kernel"].split()[0] for r in verify} == {"matmul", "softmax", "attention"}
    assert all(r["status"] == "ok" for r in verify)


def test_wall_time_left_is_shared_out_and_the_rest_skipped(tmp_path):
    run = _run(tmp_path, "verify,mnist", GPU_CHECK_WALL="20", GPU_CHECK_DRY_HANG="verify")
    steps = [json.loads(line) for line in (tmp_path / "steps.jsonl").read_text().splitlines()]
    # 20 s of wall, 15 kept for the report: verify gets what is left (a few seconds at most)
    assert [s["step"] for s in steps] == ["verify", "mnist"], steps
    assert steps[0]["budget"] <= 5 and steps[0]["status"].startswith(("timeout", "skipped")), steps
    assert steps[1]["status"] == "skipped (wall time used up)", steps
    assert (tmp_path / "report.md").exists() and run.returncode == 1


def test_report_tables_with_torch_ratios(tmp_path):
    (tmp_path / "bench.json").write_text(json.dumps([
        {"bench": "matmul", "case": "float16 4096x4096x4096", "ms": 0.2, "tflops": 690.0,
         "ref_tflops": 720.0, "ratio": 0.958, "target": 0.9},
        {"bench": "softmax", "case": "float16 16384x8192", "ms": 0.1, "gbps": 3600.0, "copy_gbps": 4100.0,
         "ratio": 0.878, "torch_gbps": 3000.0},
        {"bench": "attention", "case": "fp16 B4 H16 S4096 d128 causal", "fwd_tflops": 400.0,
         "bwd_tflops": 250.0, "ref_fwd_tflops": 450.0, "ref_bwd_tflops": 300.0, "ratio": 0.889,
         "ratio_bwd": 0.833},
        {"bench": "skipped", "reason": "step budget used up"}]))
    (tmp_path / "mnist.json").write_text(json.dumps([
        {"model": "cnn", "device": "cuda", "status": "ok", "seconds": 9.0, "test_accuracy": 0.97}]))
    assert _driver().main(["report", "--out", str(tmp_path)]) == 0
    report = (tmp_path / "report.md").read_text()
    assert "| matmul | float16 4096x4096x4096 | 690.0 TFLOP/s | 720.0 TFLOP/s | 0.96 | ≥ 0.9 |" in report
    assert "copy 4100 GB/s, torch 3000 GB/s | 0.88 | ≥ 0.85 of copy |" in report
    assert "| attention fwd | fp16 B4 H16 S4096 d128 causal | 400.0 TFLOP/s | 450.0 TFLOP/s | 0.89 |" in report
    assert "| cnn | cuda | ok | 0.9700 | 9.00 |" in report
    assert "no result (see verify.log)" in report  # a missing step's file is said, not an error
    assert json.loads((tmp_path / "report.json").read_text())["bench"][0]["ratio"] == 0.958


@pytest.mark.slow
def test_full_dry_run(tmp_path):
    """Every step, default budgets (a minute or two on the CPU): ``pytest -m slow``."""
    run = _run(tmp_path, "tests,verify,bench,mnist")
    assert run.returncode == 0, (tmp_path / "steps.jsonl").read_text()
