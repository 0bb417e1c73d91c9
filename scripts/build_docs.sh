#!/usr/bin/env bash
# Build the documentation site into site/ from a clean state:
#   1. forget the cached tutorial runs, so every chapter runs again in fast mode
#      (MINIGRAD_FAST=1) and draws its figures into docs/tutorials/figures/ (git-ignored);
#   2. mkdocs build --strict: any warning (a broken link, a cross-reference to a name
#      that does not exist, a failing chapter) fails the build.
# Needs the docs and tutorials extras: .venv/bin/pip install -e ".[docs,tutorials]"
# Nothing is downloaded: MathJax is copied into the site from the django-static-mathjax
# wheel (docs_hooks/mathjax.py), so the pages render their formulas offline too.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}

rm -rf .cache/tutorials
find docs/tutorials/figures -name '*.png' -delete 2>/dev/null || true
export NO_MKDOCS_2_WARNING=1 MPLBACKEND=Agg
time "$PYTHON" -m mkdocs build --strict "$@"
# the site must work opened from disk: file links, offline search, no leaked reST markup
"$PYTHON" scripts/check_site.py site
# nothing wide clipped at 1,400 px (runs where Playwright and a Chromium are installed)
"$PYTHON" scripts/check_site_layout.py site
echo "docs: built into site/ (open site/index.html in a browser, or preview with: $PYTHON -m mkdocs serve)"
