#!/usr/bin/env bash
# One command that verifies minigrad on a real NVIDIA GPU in at most 8 minutes of wall time.
#
#   scripts/gpu_check.sh [--dry-run] [--out DIR] [--steps tests,verify,bench,mnist]
#
# Needs: an NVIDIA GPU, CuPy, Triton and PyTorch with CUDA (Triton takes the device and
# the stream from torch), numpy/matplotlib/tqdm/pytest. No internet: wheels for anything
# missing are carried in the git-ignored folder .whl/, filled beforehand on a machine with
# internet by scripts/gpu_wheels.sh, and installed here into a private folder.
#
# Steps, each under its own time budget (seconds; a step that hangs is killed at its
# budget and the others still run, so a report always comes out):
#   tests   (a) the test suite with the device tests on (MINIGRAD_TEST_DEVICE=cuda)
#   verify  (b) every kernel against float64 references on awkward shapes, fp16/bf16/fp32,
#               every autotune candidate once
#   bench   (c) matmul / softmax / flash attention against torch and cuBLAS, compile times
#   mnist   (d) the MNIST MLP and CNN trained on the GPU against the CPU result
#   report  (e) report.md and report.json in the output folder
#
# --dry-run rehearses all of it on a CPU: the CuPy stand-in of the test suite
# (tests/_cupy_standin.py) plays the GPU, Triton's interpreter runs the kernels, sizes
# are tiny and timings mean nothing. The test suite runs it (tests/gpu/test_gpu_check.py).
#
# Environment: PYTHON (default python3, or .venv/bin/python when present), GPU_CHECK_WALL
# (total seconds, default 480), GPU_CHECK_BUDGET_<STEP> (per step), GPU_CHECK_PYTEST_ARGS
# (what step (a) runs; default: the whole suite, parallel with pytest-xdist when present).
set -u

cd "$(dirname "$0")/.."
ROOT=$(pwd)
DRY_RUN=0
OUT=""
STEPS="tests,verify,bench,mnist"
while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) DRY_RUN=1 ;;
        --out) OUT="$2"; shift ;;
        --steps) STEPS="$2"; shift ;;
        -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
        *) echo "gpu_check: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

START=$(date +%s)
WALL=${GPU_CHECK_WALL:-480}
DEADLINE=$((START + WALL))
OUT=${OUT:-runs/gpu_check-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
: > "$OUT/steps.jsonl"

if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ] && [ "$DRY_RUN" = 1 ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi

# ---------------------------------------------------------------- carried wheels
if [ "$DRY_RUN" = 0 ] && compgen -G ".whl/*.whl" > /dev/null; then
    SITE=/tmp/gpu_check_site
    if "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target "$SITE" .whl/*.whl; then
        export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
    else
        echo "gpu_check: installing the wheels of .whl/ failed; going on without them" >&2
    fi
fi

# ---------------------------------------------------------------- minigrad importable as installed
# minigrad.kernels lives in kernels/ (pyproject maps it); without an install, stage a copy.
# PYTHONSAFEPATH (Python >= 3.11) keeps `python -m pytest` from putting ./minigrad (which has
# no kernels/ inside) ahead of the staged copy.
if [ -n "${GPU_CHECK_FORCE_STAGE:-}" ] || ! "$PYTHON" -c "import minigrad.kernels" 2> /dev/null; then
    STAGE=$(mktemp -d /tmp/gpu_check_stage.XXXXXX)
    cp -r minigrad "$STAGE/minigrad"
    cp -r kernels "$STAGE/minigrad/kernels"
    export PYTHONPATH="$STAGE${PYTHONPATH:+:$PYTHONPATH}" PYTHONSAFEPATH=1
    echo "gpu_check: minigrad is not installed here; using a staged copy in $STAGE"
fi

# a fresh Triton cache, so that the first-call times include compilation
export TRITON_CACHE_DIR=${TRITON_CACHE_DIR:-$(mktemp -d /tmp/gpu_check_triton.XXXXXX)}
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg MINIGRAD_DATA="$OUT/data"
if [ "$DRY_RUN" = 1 ]; then
    export MINIGRAD_TEST_DEVICE=cupy-standin TRITON_INTERPRET=1
    MODE=(--dry-run)
else
    export MINIGRAD_TEST_DEVICE=cuda
    unset TRITON_INTERPRET
    MODE=()
fi

"$PYTHON" - "$OUT/meta.json" "$DRY_RUN" << 'EOF' || true
import json, platform, sys
meta = {"mode": "dry run (CPU, CuPy stand-in)" if sys.argv[2] == "1" else "GPU",
        "python": platform.python_version()}
import minigrad.kernels
meta["minigrad"] = minigrad.kernels.__file__.rsplit("/", 2)[0]
for name in ("numpy", "cupy", "triton", "torch"):
    try:
        meta[name] = __import__(name).__version__
    except Exception as e:  # noqa: BLE001
        meta[name] = f"missing ({type(e).__name__})"
try:
    import torch
    if torch.cuda.is_available():
        meta["gpu"] = torch.cuda.get_device_name(0)
except Exception:  # noqa: BLE001
    pass
json.dump(meta, open(sys.argv[1], "w"), indent=1)
EOF

budget_of() {  # per-step default budgets (seconds), sum 450 of the 480 wall
    local var="GPU_CHECK_BUDGET_$(echo "$1" | tr '[:lower:]' '[:upper:]')"
    local default
    case "$1" in
        tests) default=150 ;; verify) default=100 ;; bench) default=140 ;; mnist) default=60 ;;
        *) default=60 ;;
    esac
    echo "${!var:-$default}"
}

run_step() {  # run_step NAME COMMAND...: under the smaller of its budget and the wall left
    local name=$1; shift
    local budget left t0 rc status
    budget=$(budget_of "$name")
    left=$((DEADLINE - $(date +%s) - 15))  # 15 s kept for the report
    if [ "$left" -lt "$budget" ]; then budget=$left; fi
    if [ "$budget" -le 5 ]; then
        printf '{"step": "%s", "status": "skipped (wall time used up)", "seconds": 0, "budget": %s}\n' \
            "$name" "$budget" >> "$OUT/steps.jsonl"
        return
    fi
    echo "== gpu_check: $name (budget ${budget}s)"
    t0=$(date +%s)
    STEP_DEADLINE=$((t0 + budget - 5)) timeout --kill-after=5 "$budget" "$@" > "$OUT/$name.log" 2>&1
    rc=$?
    case $rc in
        0) status=ok ;; 124|137) status="timeout (killed at its budget)" ;; *) status="failed (exit $rc)" ;;
    esac
    printf '{"step": "%s", "status": "%s", "seconds": %s, "budget": %s}\n' \
        "$name" "$status" "$(($(date +%s) - t0))" "$budget" >> "$OUT/steps.jsonl"
    echo "   $status; log: $OUT/$name.log"
}

has_step() { case ",$STEPS," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

if has_step tests; then
    if [ -z "${GPU_CHECK_PYTEST_ARGS:-}" ]; then
        if [ "$DRY_RUN" = 1 ]; then
            GPU_CHECK_PYTEST_ARGS="tests/gpu/test_standin.py"
        elif "$PYTHON" -c "import xdist" 2> /dev/null; then
            GPU_CHECK_PYTEST_ARGS="tests -n 8"
        else
            GPU_CHECK_PYTEST_ARGS="tests"
        fi
    fi
    # shellcheck disable=SC2086  # word splitting of the pytest arguments is intended
    run_step tests "$PYTHON" -m pytest -q -p no:cacheprovider --junitxml="$OUT/tests.xml" \
        $GPU_CHECK_PYTEST_ARGS
fi
for step in verify bench mnist; do
    if has_step "$step"; then
        run_step "$step" bash -c '"$0" scripts/gpu_check.py "$1" --out "$2" --deadline "$STEP_DEADLINE" "${@:3}"' \
            "$PYTHON" "$step" "$OUT" "${MODE[@]}"
    fi
done

"$PYTHON" scripts/gpu_check.py report --out "$OUT" > "$OUT/report.log" 2>&1 \
    || echo "gpu_check: the report failed, see $OUT/report.log" >&2
echo "== gpu_check: $(($(date +%s) - START)) s; report: $OUT/report.md, $OUT/report.json"
grep -q '"status": "ok"' "$OUT/steps.jsonl" && ! grep -qv '"status": "ok"' "$OUT/steps.jsonl"
