"""Writing files so that nothing half-written is ever left on disk.

Every file minigrad writes (checkpoints, the MNIST cache, plots, reports) goes
through :func:`atomic_write`: the bytes go to a temporary file in the same
directory, which is renamed over the target only once it is complete.
``os.replace`` is atomic within one file system, so an interrupted run leaves
either the old file or the new one, never a truncated one.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "write_bytes_atomic", "save_figure"]


@contextlib.contextmanager
def atomic_write(path):
    """Open a temporary file beside ``path`` for binary writing; rename it over ``path`` on success.

    >>> with atomic_write("model.npz") as f:
    ...     np.savez(f, weight=w)

    On any error the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes_atomic(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    with atomic_write(path) as f:
        f.write(data)
    return Path(path)


def save_figure(fig, path, dpi: int = 110) -> Path:
    """Render a matplotlib figure to PNG in memory, then write it atomically."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return write_bytes_atomic(path, buffer.getvalue())
