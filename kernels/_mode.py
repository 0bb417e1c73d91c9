"""Which path the autograd engine takes for matmul, softmax and attention.

This module only *stores* the choice (kernels never import the engine); the
engine reads it in ``minigrad/dispatch.py``.

* ``"auto"`` (default): Triton kernels for CuPy arrays on a GPU, the plain
  array code (NumPy/CuPy) otherwise.
* ``"triton"``: always the Triton kernels. On the CPU that means Triton's
  interpreter, which must be chosen before ``triton`` is imported::

      TRITON_INTERPRET=1 python my_script.py     # then, in the script:
      minigrad.kernels.use("triton")

  Very slow (NumPy per program instance) but the *same kernel source* runs, so
  students can step through a kernel in a debugger.
* ``"reference"``: never the Triton kernels, so you can compare the two.

``use`` works as a call or as a ``with`` block that restores the previous mode.
"""

from __future__ import annotations

MODES = ("auto", "triton", "reference")
_mode = "auto"


def mode() -> str:
    """The current dispatch mode: ``"auto"``, ``"triton"`` or ``"reference"``."""
    return _mode


class use:  # noqa: N801 - reads as a function: ``minigrad.kernels.use("triton")``
    """Set the dispatch mode; as a context manager, restore the previous one on exit."""

    def __init__(self, new_mode: str):
        global _mode
        if new_mode not in MODES:
            raise ValueError(f"kernels.use: mode must be one of {MODES}, got {new_mode!r}")
        self.previous, _mode = _mode, new_mode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        global _mode
        _mode = self.previous
        return False
