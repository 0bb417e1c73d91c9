"""Datasets: anything with ``len(ds)`` and ``ds[i]``, as in PyTorch's ``torch.utils.data``."""

from __future__ import annotations

import numbers

import numpy as np

from minigrad import random as _random
from minigrad.tensor import Tensor

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split"]


class Dataset:
    """A map-style dataset: subclasses define ``__len__`` and ``__getitem__(i)``.

    ``ds[i]`` returns one sample (often a tuple ``(x, y)``). A dataset that can
    fetch many samples at once may also define ``get_batch(indices)`` returning
    the already-collated batch: the :class:`~minigrad.data.DataLoader` then uses
    it instead of a Python loop over the samples.
    """

    def __len__(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def __getitem__(self, index):  # pragma: no cover - abstract
        raise NotImplementedError


def _as_data_array(t):
    """The array behind a Tensor or an array-like (a dataset's storage is never in a graph)."""
    return t.data if isinstance(t, Tensor) else np.asarray(t)


class TensorDataset(Dataset):
    """Samples are rows of equally long tensors: ``ds[i] == (t1[i], t2[i], ...)``.

    >>> ds = TensorDataset(images, labels)      # images (N, 28, 28), labels (N,)
    >>> x, y = ds[0]

    Accepts Tensors or NumPy/CuPy arrays; every one must have the same first
    dimension. Indexing with an array of indices returns whole batches at once,
    which is the DataLoader's fast path.
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor")
        self.arrays = [_as_data_array(t) for t in tensors]
        lengths = {a.shape[0] if a.ndim else None for a in self.arrays}
        if len(lengths) != 1 or None in lengths:
            shapes = ", ".join(str(tuple(a.shape)) for a in self.arrays)
            raise ValueError(
                f"TensorDataset: every tensor needs the same first dimension, got shapes {shapes}"
            )

    @property
    def tensors(self) -> tuple:
        """The stored data as Tensors (sharing memory)."""
        return tuple(Tensor._wrap(a) for a in self.arrays)

    def __len__(self) -> int:
        return self.arrays[0].shape[0]

    def __getitem__(self, index):
        return tuple(Tensor._wrap(a[index]) for a in self.arrays)

    def get_batch(self, indices) -> tuple:
        """Rows ``indices`` of every tensor, gathered with one fancy-indexing call each."""
        return self[np.asarray(indices)]


class Subset(Dataset):
    """The samples of ``dataset`` at positions ``indices`` (in that order)."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index):
        if isinstance(index, numbers.Integral):
            return self.dataset[int(self.indices[index])]
        return self.dataset[self.indices[index]]

    def __getattr__(self, name):
        # Offer the fast batch path exactly when the wrapped dataset has one.
        if name == "get_batch" and hasattr(self.dataset, "get_batch"):
            return lambda indices: self.dataset.get_batch(self.indices[np.asarray(indices)])
        raise AttributeError(name)


def _split_lengths(lengths, n: int) -> list[int]:
    """Integer lengths from integers or from fractions that sum to 1."""
    lengths = list(lengths)
    if all(isinstance(x, numbers.Integral) for x in lengths):
        if sum(lengths) != n:
            raise ValueError(
                f"random_split: lengths {lengths} sum to {sum(lengths)}, "
                f"but the dataset has {n} samples"
            )
        return [int(x) for x in lengths]
    if any(x < 0 for x in lengths) or not np.isclose(sum(lengths), 1.0):
        raise ValueError(
            f"random_split: fractions {lengths} must be non-negative and sum to 1"
        )
    counts = [int(np.floor(n * f)) for f in lengths]
    # The samples lost to flooring go one each to the first splits, as in PyTorch.
    for i in range(n - sum(counts)):
        counts[i % len(counts)] += 1
    return counts


def random_split(dataset, lengths, seed: int | None = None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random :class:`Subset` s.

    ``lengths`` are sample counts summing to ``len(dataset)``, or fractions
    summing to 1 (``[0.8, 0.2]``; leftover samples go to the first splits).
    The permutation comes from ``seed`` when given, else from minigrad's global
    generator (so ``minigrad.manual_seed`` makes it repeatable).
    """
    n = len(dataset)
    counts = _split_lengths(lengths, n)
    rng = np.random.default_rng(seed) if seed is not None else _random.get_rng()
    order = rng.permutation(n)
    bounds = np.cumsum([0] + counts)
    return [Subset(dataset, order[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
