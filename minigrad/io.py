"""Writing files so that nothing half-written is ever left on disk.

Every file minigrad writes (checkpoints, the MNIST cache, plots, reports) goes
through `atomic_write`: the bytes go to a temporary file in the same
directory, which is renamed over the target only once it is complete.
``os.replace`` is atomic within one file system, so an interrupted run leaves
either the old file or the new one, never a truncated one.

What else it guarantees, and why:

- **Durable.** The temporary file is ``fsync``-ed before the rename and the
  directory after it, so a power loss cannot leave a renamed-but-empty file.
- **No litter.** An exception, Ctrl-C (``KeyboardInterrupt``) or ``SIGTERM``
  removes the temporary file. ``SIGTERM`` is handled like ``SIGINT`` while a
  write is in flight (only when nobody else installed a handler, and only in
  the main thread): the temporary file is removed, then the signal is delivered
  again, so the process still ends as the sender asked. ``SIGKILL`` cannot be
  caught; the temporary files it leaves (``.NAME.<pid>-<random>.tmp``) are removed
  by the next write of the same target, if they are older than that write's start
  and their process is gone. Only files matching that pattern are ever removed.
- **Permissions as ``open()`` gives them.** A new file gets ``0o666`` minus the
  umask (the kernel applies it); a replaced file keeps its mode.
- **Symbolic links are written through**, as ``open(path, "w")`` does: the link
  stays a link and its target gets the new content.

Renaming gives the file a new inode: hard links to the old file keep the old
content, and the owner is the writer's (as for any new file).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
import signal
import stat
import string
import threading
import time
from pathlib import Path

__all__ = ["atomic_write", "write_bytes_atomic", "save_figure", "clean_stale_temporaries"]

_TOKEN_ALPHABET = string.ascii_lowercase + string.digits + "_"


def _temp_pattern(name: str) -> re.Pattern:
    """Our temporary files for target ``name``: ``.NAME.<pid>-<8 chars>.tmp``.

    The pid is optional so that files left by earlier versions (``tempfile.mkstemp``'s
    ``.NAME.<8 chars>.tmp``) are recognised too.
    """
    return re.compile(rf"\.{re.escape(name)}\.(?:(\d+)-)?[a-z0-9_]{{8}}\.tmp")


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # another thread of this process may be writing it now
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's), or we cannot tell: keep the file
    return True


def clean_stale_temporaries(target, older_than: float) -> list[Path]:
    """Remove the temporary files a killed writer left beside ``target``; returns them.

    Only files named like ours for this very target (``.NAME.<pid>-<random>.tmp``),
    last modified before ``older_than`` (a ``time.time()`` value), whose writing
    process no longer exists, are removed. Anything else is left alone.
    """
    target = Path(target)
    pattern = _temp_pattern(target.name)
    removed = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match is None:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode) or info.st_mtime >= older_than:
                continue
            if match.group(1) is not None and _process_alive(int(match.group(1))):
                continue
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            continue  # gone already, or not ours to remove
    return removed


def _resolve_target(path: Path) -> Path:
    """The file to replace: ``path``, or the final target of a symbolic link."""
    if not path.is_symlink():
        return path
    target = Path(os.path.realpath(path))
    if not target.parent.is_dir():
        raise FileNotFoundError(
            f"atomic_write: {path} is a symbolic link to {target}, whose folder does not exist")
    return target


def _create_temp(target: Path, mode: int | None, candidates: list) -> tuple[int, Path]:
    """Create ``.NAME.<pid>-<random>.tmp`` beside ``target``, exclusively, with ``open()``'s mode.

    The name is appended to ``candidates`` before the file is created (and taken off again
    if it exists already), so the caller can remove it whenever an exception arrives.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(
        os, "O_CLOEXEC", 0)
    for _ in range(100):
        token = "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(8))
        tmp = target.with_name(f".{target.name}.{os.getpid()}-{token}.tmp")
        candidates.append(tmp)
        try:
            # 0o666: the kernel subtracts the umask, exactly as for open(path, "w")
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            candidates.pop()  # someone else's file: never ours to remove
            continue
        if mode is not None and hasattr(os, "fchmod"):
            try:
                os.fchmod(fd, mode)  # before any byte is written: keep the old file's mode
            except OSError:
                pass
        return fd, tmp
    raise FileExistsError(f"atomic_write: no free temporary name beside {target}")


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX; a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class _Terminated(BaseException):
    """Raised by our SIGTERM handler inside a write, so that the temporary file is removed."""


class _SigtermGuard:
    """While active (main thread, default SIGTERM disposition): SIGTERM raises `_Terminated`.

    On exit the previous disposition is restored and, if SIGTERM arrived, it is
    delivered again, so the process terminates as the sender asked.
    """

    def __init__(self):
        self.installed = False
        self.received = False

    def _handler(self, signum, frame):
        if not self.received:
            self.received = True
            raise _Terminated()

    def __enter__(self):
        sigterm = getattr(signal, "SIGTERM", None)
        if sigterm is not None and threading.current_thread() is threading.main_thread():
            try:
                if signal.getsignal(sigterm) is signal.SIG_DFL:
                    signal.signal(sigterm, self._handler)
                    self.installed = True
            except (ValueError, OSError):  # not the main interpreter, or no signals here
                pass
        return self

    def __exit__(self, *exc):
        if self.installed:
            if signal.getsignal(signal.SIGTERM) == self._handler:  # not replaced meanwhile
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
            if self.received:
                os.kill(os.getpid(), signal.SIGTERM)  # default action: terminate
        return False


@contextlib.contextmanager
def atomic_write(path):
    """Open a temporary file beside ``path`` for binary writing; rename it over ``path`` on success.

    >>> with atomic_write("model.npz") as f:
    ...     np.savez(f, weight=w)

    On any error (or Ctrl-C, or SIGTERM) the temporary file is removed and
    ``path`` is left untouched. The parent folder is created if missing.
    A new file's mode follows the umask, a replaced file keeps its mode, and a
    symbolic link is written through to its target.
    """
    started = time.time()
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"atomic_write: {path} is a directory, not a file")
    target = _resolve_target(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(target, older_than=started)
    mode = None
    try:
        info = target.stat()
        if stat.S_ISREG(info.st_mode):
            mode = stat.S_IMODE(info.st_mode)
    except FileNotFoundError:
        pass
    with _SigtermGuard():
        # each candidate name is noted *before* the file is created: a signal's exception
        # (Ctrl-C, SIGTERM) right after the creation still finds the file to remove
        candidates: list[Path] = []
        try:
            fd, tmp = _create_temp(target, mode, candidates)
            with os.fdopen(fd, "wb") as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            for name in candidates:
                with contextlib.suppress(OSError):
                    os.unlink(name)
            raise
        _fsync_directory(target.parent)


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
