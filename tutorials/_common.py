"""The few helpers every tutorial chapter shares: fast mode, seeding, saving figures.

* ``FAST`` is True when ``MINIGRAD_FAST=1``: chapters shrink their data and
  epochs so that they run in seconds (the test suite and the docs build do this).
  ``fast_or_full(small, big)`` picks a size accordingly.
* ``seed(s)`` seeds minigrad's global generator and returns a NumPy generator
  for the chapter's own data, so every run draws the same numbers.
* ``save_figure(fig, "01_graph")`` writes ``<figures>/01_graph.png`` atomically;
  ``<figures>`` is ``$MINIGRAD_FIGURES`` (default ``runs/tutorials/``). Name figures
  with a literal string starting with the chapter number: the docs build finds
  them by that name and shows each below the cell that saved it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib
import numpy as np

import minigrad
import minigrad.io

FAST = os.environ.get("MINIGRAD_FAST", "0") not in ("", "0")
FIGURES = Path(os.environ.get("MINIGRAD_FIGURES", "runs/tutorials"))

# A plain `python tutorials/NN_x.py` (CI, no display) must not try to open windows;
# in Jupyter the inline backend is already chosen and is left alone.
if "ipykernel" not in sys.modules and not os.environ.get("MPLBACKEND"):
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)


def fast_or_full(fast, full):
    """``fast`` in fast mode (MINIGRAD_FAST=1), ``full`` otherwise."""
    return fast if FAST else full


def seed(s: int = 0) -> np.random.Generator:
    """Seed minigrad and return a NumPy generator for the chapter's data."""
    minigrad.manual_seed(s)
    return np.random.default_rng(s)


def save_figure(fig, name: str) -> None:
    """Save ``fig`` as ``<figures>/<name>.png``, atomically (``minigrad.io.save_figure``), and
    say where. Returns nothing, so a notebook cell ending with it shows the figure, not a path."""
    path = minigrad.io.save_figure(fig, FIGURES / f"{name}.png")
    print(f"figure saved: {path}")
    if "ipykernel" in sys.modules:
        plt.show()
    else:
        plt.close(fig)
