#!/usr/bin/env bash
# Fill the git-ignored folder .whl/ with the wheels scripts/gpu_check.sh installs on a GPU
# machine that has no internet (run this one on a machine that has).
#
#   scripts/gpu_wheels.sh                    # the default list below
#   scripts/gpu_wheels.sh NAME==VERSION ...  # other packages
#
# Wheels for CPython 3.12 on x86-64 Linux (manylinux), without their dependencies
# (--no-deps): name every package that is missing there. The default list holds the
# pure-Python packages minigrad's tests need beyond numpy/matplotlib (which a GPU image
# has, built against its CuPy and PyTorch: never carry numpy over them). gpu_check.sh
# installs .whl/*.whl into a private folder ahead of the image's own packages, so keep
# one version of each. The folder travels with the working tree: keep it small (the
# device machines take 64 MiB in all; a Triton or PyTorch wheel is far bigger).
set -euo pipefail
cd "$(dirname "$0")/.."

DEFAULT=(
    tqdm==4.70.1
    hypothesis==6.170.17 attrs==26.1.0 sortedcontainers==2.4.0
)
PACKAGES=("$@")
if [ ${#PACKAGES[@]} -eq 0 ]; then PACKAGES=("${DEFAULT[@]}"); fi

mkdir -p .whl
grep -qx '.whl/' .gitignore 2> /dev/null || echo "note: add '.whl/' to .gitignore" >&2

PLATFORMS=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 \
         manylinux1_x86_64 manylinux_2_24_x86_64 manylinux_2_31_x86_64 manylinux_2_34_x86_64; do
    PLATFORMS+=(--platform "$p")
done
PYTHON=${PYTHON:-python3}
"$PYTHON" -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    "${PLATFORMS[@]}" -d .whl "${PACKAGES[@]}"

# one version of each package: two would stop the whole install there
dupes=$(ls .whl/*.whl | sed -E 's#.*/([^-]+)-.*#\1#' | tr 'A-Z-' 'a-z_' | sort | uniq -d)
if [ -n "$dupes" ]; then
    echo "gpu_wheels: several versions of: $dupes; remove all but one from .whl/" >&2
    exit 1
fi
size=$(du -sm .whl | cut -f1)
echo "gpu_wheels: $(ls .whl/*.whl | wc -l) wheels, ${size} MiB in .whl/"
if [ "$size" -gt 48 ]; then
    echo "gpu_wheels: .whl/ is over 48 MiB; with the working tree it may not fit in 64 MiB" >&2
fi
