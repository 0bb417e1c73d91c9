#!/usr/bin/env bash
# Mutation testing of the core with mutmut 3: does the test suite notice when the code is wrong?
#
#   scripts/mutation.sh [module...]      # modules: gradcheck tensor optim ops
#                                        # (or paths: minigrad/tensor.py, minigrad/ops/, ...)
#   scripts/mutation.sh                  # all four, one after the other (hours)
#
# Needs mutmut in the README's venv:  .venv/bin/pip install "mutmut>=3.8,<4"
#
# For each module, in a fresh temporary copy of the working tree (under $TMPDIR or /tmp,
# never in the checkout, so mutmut's mutants/ folder and caches never land in the repo):
#   1. the [tool.mutmut] table built from scripts/mutation/modules.toml is appended to the
#      copy's pyproject.toml (what to mutate, and the fast test subset that must kill it);
#   2. `mutmut run` mutates every function of the module and runs, for each mutant, the
#      tests of the subset that call that function; a mutant is killed when one fails;
#   3. scripts/mutation/helper.py prints the score, killed / (mutants - known equivalent
#      ones listed in scripts/mutation/equivalent.txt), and the diffs of the survivors.
# Each copy is kept so the survivors can be inspected (cd into it, `mutmut show NAME`,
# `mutmut browse`); the script prints where, and MUTATION_CLEAN=1 deletes them at the end.
#
# Environment: PYTHON (default .venv/bin/python), MUTATION_CHILDREN (parallel mutants,
# default 1), MUTATION_WORKDIR (where the copies go; default a new folder under /tmp).
#
# Sampled mode, for modules too big for a full run (ops/ has ~17,000 mutants):
#   MUTATION_SAMPLE=600 MUTATION_SEED=0 scripts/mutation.sh ops
# generates every mutant, draws 600 of them (seeded, stratified by file: each file gets
# its share in proportion to its mutants), runs only those, and prints the estimated
# score with a 95% Wilson interval, for the module and per file.
# Rerun the mutants a sampled or full run did not kill, after adding tests, in the same copy:
#   MUTATION_WORKDIR=/tmp/minigrad-mutation.XXXX MUTATION_RERUN=1 scripts/mutation.sh ops
# (it copies the checkout's tests/test_mutation_kills*.py, or the files listed in
# MUTATION_RERUN_TESTS, and scripts/mutation/ into the copy, leaves minigrad/ as it was,
# and reruns the mutants listed as not killed in the copy's score.json).
# It runs under `nice -n 19` with one thread per BLAS library: it is meant for a quiet
# hour on a shared machine, not for CI. See docs/concepts/mutation-testing.md.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
PYTHON=${PYTHON:-$REPO/.venv/bin/python}
PYTHON=$(cd "$(dirname "$PYTHON")" && pwd)/$(basename "$PYTHON")
MUTMUT=$(dirname "$PYTHON")/mutmut
HELPER="$PYTHON $REPO/scripts/mutation/helper.py"
CHILDREN=${MUTATION_CHILDREN:-1}

if [[ ! -x "$MUTMUT" ]]; then
    echo "mutation.sh: mutmut is not installed next to $PYTHON; run: $(dirname "$PYTHON")/pip install \"mutmut>=3.8,<4\"" >&2
    exit 2
fi
MODULES=$($HELPER resolve "$@")
WORKROOT=${MUTATION_WORKDIR:-$(mktemp -d "${TMPDIR:-/tmp}/minigrad-mutation.XXXXXX")}
mkdir -p "$WORKROOT"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONDONTWRITEBYTECODE=1

copy_tree() {  # copy the working tree as it is (tracked and untracked files, not the ignored ones)
    local dest=$1
    mkdir -p "$dest"
    if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git -C "$REPO" ls-files -z --cached --others --exclude-standard \
            | (cd "$REPO" && xargs -0 ls -d 2>/dev/null || true) \
            | tar -C "$REPO" -cf - -T - | tar -C "$dest" -xf -
    else
        tar -C "$REPO" --exclude=./.venv --exclude=./.git --exclude=./build --exclude=./site \
            --exclude='*/__pycache__' -cf - . | tar -C "$dest" -xf -
    fi
    # `kernels/` is installed as `minigrad.kernels`; mirror that layout, because mutmut puts
    # its copy of minigrad/ first on sys.path and the tests must import the kernels from it.
    cp -r "$dest/kernels" "$dest/minigrad/kernels"
}

SAMPLE=${MUTATION_SAMPLE:-}
SEED=${MUTATION_SEED:-0}
RERUN=${MUTATION_RERUN:-0}
if [[ "$RERUN" == 1 && -z "${MUTATION_WORKDIR:-}" ]]; then
    echo "mutation.sh: MUTATION_RERUN=1 needs MUTATION_WORKDIR, the folder of the earlier run" >&2
    exit 2
fi

for name in $MODULES; do
    dir="$WORKROOT/$name"
    names=()
    if [[ "$RERUN" == 1 ]]; then
        if [[ ! -f "$dir/score.json" ]]; then
            echo "mutation.sh: no earlier run in $dir (no score.json)" >&2
            exit 2
        fi
        # the kill tests only (tests/test_mutation_kills*.py, or MUTATION_RERUN_TESTS): other test
        # files may already expect code newer than the copy's minigrad/, which stays as it was
        rerun_tests=${MUTATION_RERUN_TESTS:-$(cd "$REPO" && ls tests/test_mutation_kills*.py)}
        # (with tests/conftest.py: the kill tests' on_device fixture lives there)
        (cd "$REPO" && tar --exclude=__pycache__ -cf - $rerun_tests tests/conftest.py scripts/mutation) \
            | tar -C "$dir" -xf -
        mapfile -t names < <("$PYTHON" -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["not_killed"]))' "$dir/score.json" | grep .)
        if [[ ${#names[@]} -eq 0 ]]; then
            echo "== $name: nothing to rerun"
            (cd "$dir" && $HELPER report "$name" "$dir")
            continue
        fi
        cp "$dir/mutmut.log" "$dir/mutmut.first.log" 2>/dev/null || true
        echo "== $name: rerunning ${#names[@]} mutants not killed in $dir (log: $dir/mutmut.log)"
    else
        rm -rf "$dir"
        copy_tree "$dir"
        $HELPER config "$name" >> "$dir/pyproject.toml"
        if [[ -n "$SAMPLE" ]]; then
            (cd "$dir" && nice -n 19 $HELPER sample "$dir" "$SAMPLE" "$SEED") > "$dir/generate.log" 2>&1 \
                || { echo "mutation.sh: generating mutants failed, see $dir/generate.log" >&2; exit 1; }
            grep -E '^   sample:' "$dir/generate.log" || true
            mapfile -t names < "$dir/sample.txt"
        fi
        echo "== $name: mutating in $dir (log: $dir/mutmut.log)"
    fi
    start=$(date +%s)
    status=0
    (cd "$dir" && nice -n 19 "$MUTMUT" run --max-children "$CHILDREN" "${names[@]}") > "$dir/mutmut.log" 2>&1 || status=$?
    elapsed=$(( $(date +%s) - start ))
    if [[ $status -ne 0 ]]; then
        echo "== $name: mutmut failed (exit $status) after ${elapsed}s; the end of $dir/mutmut.log:" >&2
        tr '\r' '\n' < "$dir/mutmut.log" | grep -v -E '^. (Generating mutants|Running)' | tail -n 30 >&2
        exit "$status"
    fi
    (cd "$dir" && $HELPER report "$name" "$dir")
    printf '   wall time: %dm%02ds\n' $((elapsed / 60)) $((elapsed % 60))
done

if [[ "${MUTATION_CLEAN:-0}" == 1 ]]; then
    rm -rf "$WORKROOT"
else
    echo "copies kept in $WORKROOT (delete it when done; MUTATION_CLEAN=1 does it for you)"
fi
