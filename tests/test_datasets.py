"""minigrad.datasets.mnist: IDX parsing, checksums, the cache, and the embedded fallback.

No test touches the network: every download goes through a fake ``fetch``.
"""

import gzip
import hashlib
import struct

import numpy as np
import pytest

from minigrad.datasets import mnist

pytestmark = pytest.mark.mlp


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file for ``array``, written independently of the parser under test."""
    codes = {np.dtype("uint8"): 0x08, np.dtype("int32"): 0x0C, np.dtype("float32"): 0x0D}
    header = bytes([0, 0, codes[array.dtype], array.ndim])
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def offline(url, **limits):
    raise OSError(f"no network in tests ({url})")


@pytest.fixture
def tiny_mnist(monkeypatch, rng):
    """Four tiny gzipped IDX files, registered as *the* MNIST files with their digests."""
    arrays = {
        "train_images": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, 6, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, 3, dtype=np.uint8),
    }
    blobs, files = {}, {}
    for key, array in arrays.items():
        name = mnist.FILES[key][0]
        blobs[name] = gzip.compress(idx_bytes(array))
        files[key] = (name, hashlib.sha256(blobs[name]).hexdigest())
    monkeypatch.setattr(mnist, "FILES", files)
    monkeypatch.setattr(mnist, "fetch", offline)  # the default fetcher must never run
    return arrays, blobs


def serve(blobs, log=None, bad_mirrors=()):
    """A fake fetch serving ``blobs`` by file name; listed mirrors fail."""
    def fake_fetch(url):
        if log is not None:
            log.append(url)
        if url.startswith(tuple(bad_mirrors)):
            raise OSError("mirror down")
        return blobs[url.rsplit("/", 1)[1]]
    return fake_fetch


@pytest.mark.parametrize("array", [
    np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
    np.array([1, -2, 70000], dtype=np.int32),
    np.array([[0.5, -1.25]], dtype=np.float32),
])
def test_parse_idx_round_trip(array):
    out = mnist.parse_idx(idx_bytes(array))
    assert out.dtype == array.dtype and out.dtype.isnative
    np.testing.assert_array_equal(out, array)
    np.testing.assert_array_equal(mnist.parse_idx(gzip.compress(idx_bytes(array))), array)


def test_parse_idx_reads_big_endian_dims():
    data = bytes([0, 0, 0x08, 1]) + (258).to_bytes(4, "big") + bytes(range(256)) + b"\x01\x02"
    assert mnist.parse_idx(data).shape == (258,)


@pytest.mark.parametrize("data, message", [
    (b"\x00\x01\x08\x01", "not an IDX file"),
    (b"\x00\x00\x42\x01", "not an IDX file"),
    (b"", "not an IDX file"),
    (bytes([0, 0, 8, 3, 0, 0]), "truncated header"),
])
def test_parse_idx_rejects_bad_headers(data, message):
    with pytest.raises(ValueError, match=message):
        mnist.parse_idx(data)


def test_parse_idx_rejects_truncated_data():
    data = idx_bytes(np.zeros((4, 5), np.uint8))
    with pytest.raises(ValueError, match=r"shape \(4, 5\).*32 bytes, file has 26"):
        mnist.parse_idx(data[:-6])


def test_download_verifies_and_caches(tmp_path, tiny_mnist, capsys):
    arrays, blobs = tiny_mnist
    log = []
    data = mnist.load_mnist(tmp_path, fetch=serve(blobs, log))
    assert data.source == "mnist"
    for got, key in zip(data[:4], mnist.FILES):
        np.testing.assert_array_equal(got, arrays[key])
    assert len(log) == 4 and log[0].startswith(mnist.MIRRORS[0])
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == sorted(blobs)
    assert "full MNIST (6 train / 3 test)" in capsys.readouterr().out

    again = mnist.load_mnist(tmp_path, fetch=offline)  # served from the cache
    assert again.source == "mnist"
    np.testing.assert_array_equal(again.y_test, arrays["test_labels"])


def test_next_mirror_is_tried_when_the_first_fails(tmp_path, tiny_mnist):
    _, blobs = tiny_mnist
    log = []
    data = mnist.load_mnist(tmp_path, fetch=serve(blobs, log, bad_mirrors=mnist.MIRRORS[:1]))
    assert data.source == "mnist"
    assert sum(url.startswith(mnist.MIRRORS[1]) for url in log) == 4


def test_checksum_mismatch_is_never_used(tmp_path, tiny_mnist, capsys):
    _, blobs = tiny_mnist
    tampered = dict(blobs)
    name = mnist.FILES["train_labels"][0]
    tampered[name] = gzip.compress(idx_bytes(np.zeros(6, np.uint8)))
    data = mnist.load_mnist(tmp_path, fetch=serve(tampered))
    assert data.source == "mnist_5k"
    assert not (tmp_path / "mnist" / name).exists()  # the bad file was not cached
    out = capsys.readouterr().out
    assert "SHA-256 mismatch" in out and "embedded 5,000-digit" in out


def test_truncated_cache_file_is_set_aside_and_fetched_again(tmp_path, tiny_mnist, capsys):
    arrays, blobs = tiny_mnist
    mnist.load_mnist(tmp_path, fetch=serve(blobs))
    name = mnist.FILES["test_images"][0]
    path = tmp_path / "mnist" / name
    path.write_bytes(blobs[name][:-10])
    capsys.readouterr()
    log = []
    data = mnist.load_mnist(tmp_path, fetch=serve(blobs, log))
    assert data.source == "mnist"
    assert [url.rsplit("/", 1)[1] for url in log] == [name]
    assert path.read_bytes() == blobs[name]
    np.testing.assert_array_equal(data.x_test, arrays["test_images"])
    aside = list(path.parent.glob(name + ".corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == blobs[name][:-10]  # moved, not deleted
    out = capsys.readouterr().out
    assert f"({len(blobs[name]) - 10:,} bytes) fails its SHA-256 check" in out
    assert f"moved it to {aside[0].name}" in out and "verified copy from" in out


def test_truncated_cache_without_download_falls_back(tmp_path, tiny_mnist, capsys):
    _, blobs = tiny_mnist
    mnist.load_mnist(tmp_path, fetch=serve(blobs))
    path = tmp_path / "mnist" / mnist.FILES["train_images"][0]
    path.write_bytes(path.read_bytes()[:100])
    assert mnist.load_mnist(tmp_path, download=False).source == "mnist_5k"
    assert path.stat().st_size == 100
    assert len(list(path.parent.iterdir())) == 4  # nothing moved, nothing deleted
    assert "left it untouched (download=False)" in capsys.readouterr().out


def test_offline_falls_back_with_one_clear_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(mnist, "fetch", offline)
    data = mnist.load_mnist(tmp_path)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert out[0].startswith("MNIST: download failed (")
    assert "using the embedded 5,000-digit MNIST subset (4,000 train / 1,000 test)" in out[0]
    assert data.source == "mnist_5k"
    assert not list(tmp_path.rglob("*.gz"))


def test_data_dir_defaults_to_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIGRAD_DATA", str(tmp_path))
    assert mnist.default_data_dir() == tmp_path
    monkeypatch.delenv("MINIGRAD_DATA")
    assert mnist.default_data_dir().parts[-2:] == (".cache", "minigrad")


def test_embedded_split_is_stratified_fixed_and_disjoint():
    a = mnist.load_embedded_mnist()
    b = mnist.load_embedded_mnist()
    assert a.x_train.shape == (4000, 28, 28) and a.x_test.shape == (1000, 28, 28)
    assert a.x_train.dtype == np.uint8 and a.y_train.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(a.y_train), [400] * 10)
    np.testing.assert_array_equal(np.bincount(a.y_test), [100] * 10)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert len(set(a.y_train[:50])) > 5  # shuffled, not sorted by class
    train = {img.tobytes() for img in a.x_train}
    assert not any(img.tobytes() in train for img in a.x_test)


def test_corrupted_embedded_file_is_refused(tmp_path, monkeypatch):
    # a copy of the embedded subset with one pixel changed is still a valid .npz (np.load reads
    # it without complaint), so only the SHA-256 check can refuse it
    with np.load(mnist.EMBEDDED) as f:
        images, labels = f["images"].copy(), f["labels"].copy()
    images[0, 14, 14] ^= 1
    corrupt = tmp_path / "mnist_5k.npz"
    np.savez_compressed(corrupt, images=images, labels=labels)
    with np.load(corrupt) as f:  # the plant is loadable: the check, not np.load, must refuse it
        assert f["images"].shape == images.shape
    monkeypatch.setattr(mnist, "EMBEDDED", corrupt)
    with pytest.raises(RuntimeError, match=r"embedded .*mnist_5k\.npz is corrupt \(SHA-256 mismatch\)"):
        mnist.load_embedded_mnist()
    # the offline path reaches the same check: no silently different digits
    with pytest.raises(RuntimeError, match="SHA-256 mismatch"):
        mnist.load_mnist(data_dir=tmp_path / "cache", download=False)
    # the file the package ships passes the same check
    monkeypatch.undo()
    assert hashlib.sha256(mnist.EMBEDDED.read_bytes()).hexdigest() == mnist.EMBEDDED_SHA256
