"""Atomic writes: a file is either the old one or the complete new one, never half of one."""

import os
import signal
import subprocess
import sys
import threading
import time

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from minigrad.io import (  # noqa: E402
    atomic_write,
    clean_stale_temporaries,
    save_figure,
    write_bytes_atomic,
)


def test_write_replaces_and_leaves_no_temp_files(tmp_path):
    target = tmp_path / "sub" / "file.bin"
    write_bytes_atomic(target, b"abc")
    write_bytes_atomic(target, b"defg")
    assert target.read_bytes() == b"defg"
    assert [p.name for p in target.parent.iterdir()] == ["file.bin"]


def test_an_error_mid_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "model.npz"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_write(target) as f:
            f.write(b"half of the new")
            raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_save_figure_writes_a_png(tmp_path):
    fig = Figure()
    fig.subplots().plot([0, 1], [1, 0])
    path = save_figure(fig, tmp_path / "plot.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ----------------------------------------------------------------------------- stale temporaries


def _age(path, seconds=60):
    old = time.time() - seconds
    os.utime(path, (old, old))


def test_only_our_stale_temporaries_of_this_target_are_removed(tmp_path):
    target = tmp_path / "model.npz"
    dead = _dead_pid()
    ours_old = tmp_path / f".model.npz.{dead}-abcdefgh.tmp"      # killed writer: removed
    legacy = tmp_path / ".model.npz.x1y2z3_q.tmp"                # mkstemp name of old versions
    fresh = tmp_path / f".model.npz.{dead}-freshxyz.tmp"         # newer than the write: kept
    live = tmp_path / f".model.npz.{os.getppid()}-livexxxx.tmp"  # its process runs: kept
    other = tmp_path / f".other.npz.{dead}-abcdefgh.tmp"         # another target's: kept
    users = [tmp_path / ".model.npz.notes.tmp", tmp_path / "model.npz.tmp",
             tmp_path / f".model.npz.{dead}-abcdefgh.tmp.bak"]   # not our pattern: kept
    for p in [ours_old, legacy, fresh, live, other, *users]:
        p.write_bytes(b"x")
        if p is not fresh:
            _age(p)
    start = time.time()
    _age(fresh, -5)  # modified after the writer started
    removed = clean_stale_temporaries(target, older_than=start)
    assert sorted(removed) == sorted([ours_old, legacy])
    write_bytes_atomic(target, b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in [target, fresh, live, other, *users])


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_folder_in_the_way_is_a_clear_error(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a directory, not a file"):
        write_bytes_atomic(tmp_path, b"x")


def test_concurrent_writers_of_one_target_leave_one_complete_version(tmp_path):
    target = tmp_path / "shared.bin"
    payloads = [bytes([i]) * 200_000 for i in range(8)]
    errors = []

    def writer(data):
        try:
            for _ in range(5):
                write_bytes_atomic(target, data)
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert target.read_bytes() in payloads
    assert [p.name for p in tmp_path.iterdir()] == ["shared.bin"]


def test_sigterm_handler_is_restored_after_a_write(tmp_path):
    before = signal.getsignal(signal.SIGTERM)
    write_bytes_atomic(tmp_path / "a.bin", b"x")
    assert signal.getsignal(signal.SIGTERM) is before


def test_the_temporary_file_lives_in_the_target_directory(tmp_path, monkeypatch):
    # os.replace is atomic only within one file system: the temporary file must be created
    # beside the target (not in the system temp dir), and the rename must stay in that folder
    import minigrad.io as mio

    renames = []
    real_replace = os.replace

    def spy(src, dst, *args, **kwargs):
        renames.append((os.path.abspath(src), os.path.abspath(dst)))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(mio.os, "replace", spy)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.setenv("TMPDIR", str(elsewhere))  # a wrong implementation would write here
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(elsewhere))
    folder = tmp_path / "out"
    folder.mkdir()
    link_folder = tmp_path / "links"
    link_folder.mkdir()
    (link_folder / "link.bin").symlink_to(folder / "real.bin")
    for path, target in ((folder / "model.npz", folder / "model.npz"),
                         (link_folder / "link.bin", folder / "real.bin")):
        renames.clear()
        with atomic_write(path) as f:
            f.write(b"payload")
            f.flush()
            temps = [p for p in folder.iterdir() if p.name.endswith(".tmp")]
            assert [p.name.startswith(f".{target.name}.{os.getpid()}-") for p in temps] == [True]
            assert temps[0].read_bytes() == b"payload"  # the bytes go to that very file
            assert list(elsewhere.iterdir()) == []
        assert renames == [(str(temps[0]), str(target))]
        assert target.read_bytes() == b"payload"
        assert not temps[0].exists()
