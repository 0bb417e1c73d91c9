"""Which NumPy generator a ``generator=`` argument stands for (shared by samplers and splits)."""

from __future__ import annotations

import numpy as np

from minigrad import random as _random

__all__ = ["_numpy_rng"]


def _numpy_rng(generator) -> np.random.Generator:
    """The NumPy ``Generator`` to draw from for ``generator=...``.

    - ``None``: minigrad's global generator (``minigrad.random.get_rng()``, looked up
      at each call since ``minigrad.manual_seed`` replaces it), as PyTorch falls
      back to its default generator;
    - a ``minigrad.Generator``: the NumPy generator it wraps (its ``numpy`` attribute);
    - a plain ``numpy.random.Generator``, used as it is.

    The generator advances with every draw, so two epochs drawn from one
    generator differ, and re-seeding it repeats them.
    """
    if generator is None:
        return _random.get_rng()
    if isinstance(generator, np.random.Generator):
        return generator
    wrapped = getattr(generator, "numpy", None)
    if isinstance(wrapped, np.random.Generator):
        return wrapped
    raise TypeError(
        f"generator: expected a minigrad.Generator or a numpy.random.Generator, "
        f"got {type(generator).__name__}"
    )
