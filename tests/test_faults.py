"""Faults an adversarial user can cause (issue 12, items 4-8): kills during a save, file modes and
symbolic links, hostile checkpoints, a hostile MNIST mirror, and the main job on unwritable paths.

Every case is bounded: subprocesses have timeouts, "bombs" are declared sizes or small real
ones, downloads go to local fake openers, and the main job runs on 100-200 digits for 1 epoch.
"""

import io
import json
import os
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import minigrad
from minigrad.datasets import mnist as mnist_data
from minigrad.examples import mnist as example
from minigrad.io import write_bytes_atomic
from minigrad.serialization import CheckpointError

POSIX = os.name == "posix"
_REAL_FETCH = mnist_data.fetch  # before any test replaces it


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# ============================================================================ 4. kills during a save

CHILD = textwrap.dedent("""
    import sys, time
    import numpy as np
    import minigrad

    path, mode = sys.argv[1], sys.argv[2]
    if mode == "stalled":          # deterministic: stop inside the write, half a zip on disk
        def stalled_savez(file, **arrays):
            file.write(b"PK\\x03\\x04 half of a zip")
            file.flush()
            print("WRITING", flush=True)
            time.sleep(60)
        np.savez = stalled_savez
        minigrad.save({"w": np.zeros(3)}, path)
    else:                          # real saves in a loop, killed at a random moment
        w = np.arange(2**19, dtype=np.float64)  # 4 MiB
        print("WRITING", flush=True)
        while True:
            minigrad.save({"w": w}, path)
""")


def _start_child(path: Path, mode: str) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), mode],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = child.stdout.readline()  # blocks until the child is writing (or died)
    assert line.strip() == "WRITING", child.communicate(timeout=10)
    return child


def _check_old_or_new(path: Path):
    w = minigrad.load(path)["w"]
    assert w.shape in ((5,), (2**19,))  # the parent's file, or one complete child save
    if w.shape == (5,):
        np.testing.assert_array_equal(w, np.arange(5.0))
    else:
        np.testing.assert_array_equal(w, np.arange(2**19, dtype=np.float64))


@pytest.mark.skipif(not POSIX, reason="POSIX signals")
@pytest.mark.parametrize("mode", ["stalled", "stalled", "loop", "loop"])
def test_sigterm_during_save_removes_the_temporary_and_keeps_the_old_file(tmp_path, mode):
    path = tmp_path / "ck.npz"
    minigrad.save({"w": np.arange(5.0)}, path)
    child = _start_child(path, mode)
    if mode == "loop":
        time.sleep(np.random.default_rng().uniform(0.05, 0.3))
    child.send_signal(signal.SIGTERM)
    child.communicate(timeout=20)
    assert child.returncode == -signal.SIGTERM  # still terminated by the signal, as asked
    assert temporaries(tmp_path) == []
    _check_old_or_new(path)


SIGNAL_WHILE_CREATING = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    import minigrad
    from minigrad import io

    real_create = io._create_temp

    def create_then_signal(target, mode, candidates):  # the signal lands right after the file exists
        fd, tmp = real_create(target, mode, candidates)
        os.kill(os.getpid(), getattr(signal, sys.argv[2]))
        return fd, tmp

    io._create_temp = create_then_signal
    try:
        minigrad.save({"w": np.zeros(3)}, sys.argv[1])
    except KeyboardInterrupt:
        sys.exit(3)
""")


@pytest.mark.skipif(not POSIX, reason="POSIX signals")
@pytest.mark.parametrize("name, code", [("SIGTERM", -signal.SIGTERM), ("SIGINT", 3)])
def test_a_signal_just_after_the_temporary_is_created_leaves_nothing(tmp_path, name, code):
    path = tmp_path / "ck.npz"
    child = subprocess.run([sys.executable, "-c", SIGNAL_WHILE_CREATING, str(path), name],
                           capture_output=True, text=True, timeout=60)
    assert child.returncode == code, child.stderr
    assert temporaries(tmp_path) == [] and not path.exists()


@pytest.mark.skipif(not POSIX, reason="POSIX signals")
@pytest.mark.parametrize("mode", ["stalled", "stalled", "loop"])
def test_sigkill_leftovers_are_removed_by_the_next_save(tmp_path, mode):
    path = tmp_path / "ck.npz"
    minigrad.save({"w": np.arange(5.0)}, path)
    child = _start_child(path, mode)
    if mode == "loop":
        time.sleep(np.random.default_rng().uniform(0.05, 0.3))
    child.kill()
    child.communicate(timeout=20)
    assert child.returncode == -signal.SIGKILL
    left = temporaries(tmp_path)
    if mode == "stalled":
        assert len(left) == 1 and left[0].startswith(f".ck.npz.{child.pid}-")  # SIGKILL: no cleanup
    _check_old_or_new(path)
    minigrad.save({"w": np.arange(5.0)}, path)  # the next write of the same target
    assert temporaries(tmp_path) == []


# ============================================================================ 5. modes and links


@pytest.mark.skipif(not POSIX, reason="POSIX modes")
@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_new_files_follow_the_umask_as_open_does(tmp_path, umask, expected):
    old = os.umask(umask)
    try:
        minigrad.save({"w": np.zeros(2)}, tmp_path / "ck.npz")
        write_bytes_atomic(tmp_path / "metrics.json", b"{}")
        with open(tmp_path / "by_open.txt", "w"):
            pass
    finally:
        os.umask(old)
    for name in ("ck.npz", "metrics.json", "by_open.txt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == expected, name


@pytest.mark.skipif(not POSIX, reason="POSIX modes")
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o664])
def test_replacing_a_file_keeps_its_mode(tmp_path, mode):
    path = tmp_path / "ck.npz"
    minigrad.save({"w": np.zeros(2)}, path)
    path.chmod(mode)
    minigrad.save({"w": np.ones(2)}, path)
    assert stat.S_IMODE(path.stat().st_mode) == mode
    np.testing.assert_array_equal(minigrad.load(path)["w"], np.ones(2))


@pytest.mark.skipif(not POSIX, reason="symbolic links")
def test_writing_through_a_symlink_updates_its_target_and_keeps_the_link(tmp_path):
    real = tmp_path / "store" / "real.npz"
    real.parent.mkdir()
    minigrad.save({"w": np.zeros(2)}, real)
    link = tmp_path / "latest.npz"
    link.symlink_to(Path("store") / "real.npz")  # relative, as people make them
    minigrad.save({"w": np.ones(2)}, link)
    assert link.is_symlink() and os.readlink(link) == str(Path("store") / "real.npz")
    np.testing.assert_array_equal(minigrad.load(real)["w"], np.ones(2))
    assert temporaries(tmp_path) == [] and temporaries(real.parent) == []


@pytest.mark.skipif(not POSIX, reason="symbolic links")
def test_a_dangling_symlink_creates_its_target_or_says_why_not(tmp_path):
    link = tmp_path / "ck.npz"
    link.symlink_to(tmp_path / "new.npz")
    minigrad.save({"w": np.ones(1)}, link)
    assert link.is_symlink() and (tmp_path / "new.npz").is_file()
    broken = tmp_path / "broken.npz"
    broken.symlink_to(tmp_path / "missing-folder" / "x.npz")
    with pytest.raises(FileNotFoundError, match="symbolic link to .*missing-folder"):
        minigrad.save({"w": np.ones(1)}, broken)


@pytest.mark.skipif(not POSIX, reason="fsync of a directory")
def test_the_file_and_its_directory_are_fsynced(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def recording_fsync(fd):
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    minigrad.save({"w": np.zeros(2)}, tmp_path / "ck.npz")
    assert synced == [False, True]  # the file, then the folder after the rename


# ============================================================================ 6. hostile checkpoints


def _npy_header(shape, descr="<f8") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def _patch_declared_size(data: bytes, entry: str, size: int) -> bytes:
    """Make the zip claim ``size`` uncompressed bytes for ``entry`` (central and local headers)."""
    out = bytearray(data)
    name = entry.encode()
    for signature, field in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
        at = 0
        while (at := out.find(signature, at)) != -1:
            name_at = at + (46 if signature == b"PK\x01\x02" else 30)
            if out[name_at:name_at + len(name)] == name:
                out[at + field:at + field + 4] = struct.pack("<I", size)
            at += 4
    return bytes(out)


def test_a_declared_bomb_is_refused_before_decompressing(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("w.npy", _npy_header((4,)) + np.zeros(4).tobytes())
    path = tmp_path / "bomb.npz"
    path.write_bytes(_patch_declared_size(buf.getvalue(), "w.npy", 2**31))  # "2 GiB"
    with pytest.raises(CheckpointError,
                       match=r"entry 'w' declares 2,147,483,648 bytes \(\d+ bytes in the file\)"
                             r".*over the limit of 1,073,741,824 bytes \(the default max_bytes"):
        minigrad.load(path)


def test_a_real_deflate_bomb_is_refused_at_max_bytes_without_allocating_it(tmp_path):
    path = tmp_path / "bomb.npz"
    n = 2**24  # 128 MiB of zeros, about 130 KiB deflated
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        with z.open("w.npy", "w", force_zip64=True) as f:
            f.write(_npy_header((n,)))
            chunk = bytes(2**22)
            for _ in range(n * 8 // len(chunk)):
                f.write(chunk)
    assert path.stat().st_size < 2**20
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=r"entry 'w' declares 134,217,856 bytes.*max_bytes"):
            minigrad.load(path, max_bytes=2**26)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**22  # nothing near 128 MiB was allocated
    assert minigrad.load(path, max_bytes=2**28)["w"].shape == (n,)  # trusted: loads


def test_entries_the_structure_does_not_reference_are_never_read(tmp_path):
    path = tmp_path / "ck.npz"
    minigrad.save({"w": np.arange(3.0)}, path)
    with zipfile.ZipFile(path, "a") as z:  # a corrupt "bomb" entry nothing refers to
        z.writestr("junk.npy", _npy_header((2**28,)) + b"\0" * 64)
    assert set(minigrad.load(path)) == {"w"}


def test_the_shape_in_an_npy_header_is_checked_against_the_entry_size(tmp_path):
    path = tmp_path / "lie.npz"
    with zipfile.ZipFile(path, "w") as z:  # declares 2**40 float64 in 80 bytes
        z.writestr("w.npy", _npy_header((2**40,)) + np.zeros(10).tobytes())
    with pytest.raises(CheckpointError, match=r"entry 'w' declares shape \(1099511627776,\)"):
        minigrad.load(path, max_bytes=2**62)


def _torch_like_pt(path: Path):
    """The layout of a torch.save file (no torch needed): a zip holding a pickle."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02}q\x00X\x06\x00\x00\x00weightq\x01.")
        z.writestr("archive/data/0", np.zeros(4, np.float32).tobytes())
        z.writestr("archive/version", b"3\n")


def _saved(tmp_path) -> bytes:
    minigrad.save({"model": {"w": np.arange(6.0).reshape(2, 3)}, "epoch": 2}, tmp_path / "g.npz")
    return (tmp_path / "g.npz").read_bytes()


def _with_structure(tmp_path, text: str) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, w=np.ones(2), __minigrad_structure__=np.array(text))
    return buf.getvalue()


@pytest.mark.parametrize("case, message", [
    ("torch_pt", r"PyTorch checkpoint \(torch.save.*'archive/data.pkl'.*safetensors.torch.save_file"),
    ("pickle", r"a Python pickle.*never unpickles"),
    ("npy", r"a single NumPy array \(.npy.*numpy.load"),
    ("empty", r"the file is empty \(0 bytes\); expected a checkpoint written by minigrad.save"),
    ("truncated_half", r"starts like a zip archive \(.npz\) but is not a complete one"),
    ("truncated_tail", r"starts like a zip archive \(.npz\) but is not a complete one"),
    ("text", r"not a checkpoint \(\d+ bytes; it starts with bytes 68 65 6c"),
    ("bad_json", r"the stored structure is not valid JSON"),
    ("deep_json", r"nested too deeply|nested deeper than 100 levels"),
    ("bad_node", r"the stored structure has an invalid node"),
    ("missing_entry", r"refers to entry 'nope', which the archive does not have"),
    ("duplicate", r"entry 'w' appears twice"),
    ("object_dtype", r"holds Python objects .*allow_pickle=False"),
    ("bad_header", r"entry 'w' has a malformed .npy header"),
    ("zip_no_npy", r"a zip archive without .npy entries"),
])
def test_files_that_are_not_checkpoints_give_one_clear_error(tmp_path, case, message):
    path = tmp_path / "file.npz"
    if case == "torch_pt":
        path = tmp_path / "model.pt"
        _torch_like_pt(path)
    else:
        good = _saved(tmp_path)
        buf = io.BytesIO()
        data = {
            "pickle": lambda: b"\x80\x04\x95" + b"\0" * 20,
            "npy": lambda: (np.save(buf, np.zeros(3)), buf.getvalue())[1],
            "empty": lambda: b"",
            "truncated_half": lambda: good[: len(good) // 2],
            "truncated_tail": lambda: good[:-1],
            "text": lambda: b"hello, this is not a checkpoint\n",
            "bad_json": lambda: _with_structure(tmp_path, "{not json"),
            "deep_json": lambda: _with_structure(tmp_path, "[" * 100_000 + "]" * 100_000),
            "bad_node": lambda: _with_structure(tmp_path, '{"dict": [["w", {"eval": "x"}]]}'),
            "missing_entry": lambda: _with_structure(tmp_path, '{"dict": [["w", {"array": "nope"}]]}'),
            "duplicate": lambda: _duplicate_entry(),
            "object_dtype": lambda: (np.savez(buf, w=np.array([{}], dtype=object)), buf.getvalue())[1],
            "bad_header": lambda: _zip_of({"w.npy": b"\x93NUMPY\x01\x00\x10\x00{'descr': __import__}"}),
            "zip_no_npy": lambda: _zip_of({"readme.txt": b"hi"}),
        }[case]()
        path.write_bytes(data)
    with pytest.raises(CheckpointError, match=message) as info:
        minigrad.load(path)
    assert isinstance(info.value, ValueError)
    assert str(path) in str(info.value)


def _zip_of(members: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _duplicate_entry() -> bytes:
    buf = io.BytesIO()
    one = io.BytesIO()
    np.save(one, np.ones(2))
    with zipfile.ZipFile(buf, "w") as z, pytest.warns(UserWarning, match="Duplicate name"):
        z.writestr("w.npy", one.getvalue())
        z.writestr("w.npy", one.getvalue())
    return buf.getvalue()


def test_random_byte_flips_load_or_give_a_checkpoint_error(tmp_path):
    """30 seeded corruptions of a real checkpoint: never a stray exception type, never a hang."""
    good = bytearray(_saved(tmp_path))
    rng = np.random.default_rng(12)
    outcomes = {"loaded": 0, "refused": 0}
    for trial in range(30):
        bad = bytearray(good)
        for at in rng.integers(0, len(bad), size=rng.integers(1, 4)):
            bad[at] = int(rng.integers(0, 256))
        path = tmp_path / f"flip{trial}.npz"
        path.write_bytes(bytes(bad))
        try:
            minigrad.load(path)
            outcomes["loaded"] += 1
        except CheckpointError:
            outcomes["refused"] += 1
    assert outcomes["refused"] > 0


def test_load_accepts_pytorch_arguments_and_refuses_a_whole_module(tmp_path):
    path = tmp_path / "ck.npz"
    model = minigrad.nn.Linear(2, 3)
    minigrad.save(model.state_dict(), path)
    for kwargs in ({"map_location": "cpu"}, {"map_location": "cuda:0", "weights_only": True},
                   {"weights_only": False}, {"map_location": lambda storage, loc: storage}):
        state = minigrad.load(path, **kwargs)
        np.testing.assert_array_equal(state["weight"], model.weight.numpy())
    with pytest.raises(TypeError, match=r"whole Linear module; minigrad never pickles.*"
                                        r"minigrad.save\(model.state_dict\(\), path\)"):
        minigrad.save(model, tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


# ============================================================================ 7. the MNIST cache


@pytest.fixture
def one_mnist_file(monkeypatch):
    """A tiny one-file 'MNIST' (the train labels), with its digest and published size."""
    labels = np.arange(10, dtype=np.uint8)
    blob = mnist_data.gzip.compress(bytes([0, 0, 8, 1]) + struct.pack(">I", 10) + labels.tobytes())
    name = mnist_data.FILES["train_labels"][0]
    digest = mnist_data._sha256(blob)
    monkeypatch.setattr(mnist_data, "FILES", {"train_labels": (name, digest)})
    monkeypatch.setattr(mnist_data, "SIZES", {name: len(blob)}, raising=False)
    return name, blob


def test_a_users_file_with_an_mnist_name_is_never_deleted(tmp_path, one_mnist_file, capsys):
    name, blob = one_mnist_file
    folder = tmp_path / "mnist"
    folder.mkdir()
    mine = folder / name
    mine.write_bytes(b"my own notes, not MNIST")

    digest = mnist_data.FILES["train_labels"][1]

    def verified(download, fetcher):
        return mnist_data._verified_file(folder, name, digest, download, fetcher, custom=False,
                                         deadline=time.monotonic() + 10)

    def down(url, **limits):
        raise OSError("no network")

    # download=False: untouched, and said so
    with pytest.raises(mnist_data.MNISTUnavailable, match=r"left it untouched \(download=False\)"):
        verified(False, down)
    # the download fails: untouched, and said so
    with pytest.raises(mnist_data.MNISTUnavailable, match="left it untouched, since no verified copy"):
        verified(True, down)
    assert mine.read_bytes() == b"my own notes, not MNIST" and len(list(folder.iterdir())) == 1
    # a verified download replaces it: the user's file is moved aside, not deleted
    assert verified(True, lambda url, **limits: blob) == blob
    aside = list(folder.glob(f"{name}.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == b"my own notes, not MNIST"
    assert mine.read_bytes() == blob
    out = capsys.readouterr().out
    assert f"{mine} (23 bytes) fails its SHA-256 check; moved it to {aside[0].name}" in out


class FakeResponse:
    """What urlopen returns: ``read1`` pieces from a generator, optional Content-Length."""

    def __init__(self, pieces, length=None):
        self.pieces, self.reads = iter(pieces), 0
        self.headers = {} if length is None else {"Content-Length": str(length)}

    def read1(self, n):
        self.reads += 1
        return next(self.pieces, b"")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_a_hostile_mirror_is_cut_off_at_the_published_size(one_mnist_file):
    name, blob = one_mnist_file
    endless = FakeResponse(bytes(65536) for _ in range(400 * 16))  # "400 MiB"
    with pytest.raises(ValueError, match=f"more than the {len(blob):,} bytes expected"):
        mnist_data.fetch("https://mirror/" + name, max_bytes=len(blob),
                         opener=lambda request, timeout: endless)
    assert endless.reads == 1  # stopped at the first piece over the cap
    declared = FakeResponse([bytes(10)], length=400 * 2**20)
    with pytest.raises(ValueError, match="declares 419,430,400 bytes"):
        mnist_data.fetch("https://mirror/" + name, max_bytes=len(blob),
                         opener=lambda request, timeout: declared)
    assert declared.reads == 0  # refused before reading anything


def test_a_dripping_mirror_is_cut_off_at_the_deadline(tmp_path, one_mnist_file, monkeypatch,
                                                      capsys):
    def drip():
        while True:
            time.sleep(0.05)
            yield b"\x1f"

    opened = []

    def opener(request, timeout):
        opened.append(request.full_url)
        return FakeResponse(drip())

    monkeypatch.setattr(mnist_data, "DOWNLOAD_DEADLINE", 0.3)
    monkeypatch.setattr(mnist_data, "fetch",
                        lambda url, **limits: _REAL_FETCH(url, opener=opener, **limits))
    start = time.monotonic()
    data = mnist_data.load_mnist(tmp_path)
    assert time.monotonic() - start < 3
    assert data.source == "mnist_5k" and len(opened) == 1  # no second mirror after the deadline
    assert "download deadline passed" in capsys.readouterr().out
    assert not list((tmp_path / "mnist").glob("*.gz"))


# ============================================================================ 8. the main job


@pytest.fixture
def offline(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist_data, "fetch", lambda url, **limits: (_ for _ in ()).throw(
        OSError("tests never use the network")))
    monkeypatch.setenv("MINIGRAD_DATA", str(tmp_path / "cache"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()


TINY = ["--limit", "100", "--epochs", "1"]


@pytest.mark.parametrize("flag", ["--out", "--save"])
def test_unwritable_paths_are_reported_before_training(tmp_path, offline, capsys, flag):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    argv = TINY + ["--out", str(tmp_path / "out")] + [flag, str(blocker / "sub" / "x.npz")]
    start = time.monotonic()
    assert example.main(argv) == 2
    captured = capsys.readouterr()
    assert f"error: {flag}: cannot write in {blocker / 'sub'}" in captured.err
    assert "epoch 1/1" not in captured.out + captured.err  # no training happened
    assert time.monotonic() - start < 2


def test_save_to_a_folder_is_a_usage_error(tmp_path, offline, capsys):
    assert example.main(TINY + ["--out", str(tmp_path / "out"), "--save", str(tmp_path)]) == 2
    assert "is a folder; give a file name" in capsys.readouterr().err


def test_a_write_failing_at_the_end_saves_to_a_fallback_and_says_where(tmp_path, offline,
                                                                         monkeypatch, capsys):
    target = tmp_path / "ck.npz"
    real_save_model = minigrad.save_model

    def failing_save_model(model, path, **kwargs):
        if Path(path) == target:
            raise PermissionError(13, "Permission denied", str(path))
        return real_save_model(model, path, **kwargs)

    monkeypatch.setattr(example.minigrad, "save_model", failing_save_model)
    assert example.main(TINY + ["--no-plots", "--out", str(tmp_path / "out"),
                                "--save", str(target)]) == 1
    err = capsys.readouterr().err
    assert f"could not write {target} (Permission denied)" in err
    rescue = Path(err.split("saved the trained model and metrics to ")[1].split(" and ")[0])
    assert rescue.parent.parent == tmp_path / "tmp"
    model = minigrad.load_model(rescue)
    assert sum(p.numel() for p in model.parameters()) == 101_770
    assert json.loads((rescue.parent / "metrics.json").read_text())["train_samples"] == 100
    assert (tmp_path / "out" / "metrics.json").exists()  # what could be written, was


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid:RuntimeWarning")
def test_a_non_finite_loss_stops_with_a_message_and_overwrites_nothing(tmp_path, offline, capsys):
    ckpt = tmp_path / "good.npz"
    minigrad.save({"w": np.ones(1)}, ckpt)
    before = ckpt.read_bytes()
    status = example.main(TINY + ["--optimizer", "sgd", "--lr", "1e30", "--no-plots",
                                  "--out", str(tmp_path / "out"), "--save", str(ckpt)])
    assert status == 1
    err = capsys.readouterr().err
    assert "the training loss became non-finite at epoch 1/1, batch" in err
    assert "nothing was saved" in err and "smaller --lr" in err
    assert ckpt.read_bytes() == before


def test_default_out_is_a_new_folder_per_run(tmp_path, offline, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        assert example.main(TINY + ["--no-plots"]) == 0
    runs = sorted((tmp_path / "runs" / "mnist").iterdir())
    assert len(runs) == 2 and all(r.name.split("-")[-1] in ("mlp", "2") for r in runs)
    assert all((r / "metrics.json").exists() for r in runs)


def test_no_plots_moves_stale_plots_aside(tmp_path, offline, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "curves.png").write_bytes(b"an old run's curves")
    assert example.main(TINY + ["--no-plots", "--out", str(out)]) == 0
    assert not (out / "curves.png").exists()
    aside = list(out.glob("stale-plots-*/curves.png"))
    assert len(aside) == 1 and aside[0].read_bytes() == b"an old run's curves"
    assert json.loads((out / "metrics.json").read_text())["plots"] == []
    text = capsys.readouterr().out
    assert "moved the plots of an earlier run" in text
    assert "the epoch lines' train accuracy had dropout on" in text
