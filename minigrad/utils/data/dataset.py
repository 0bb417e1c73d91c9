"""Datasets: anything with ``len(ds)`` and ``ds[i]``, as in PyTorch's ``torch.utils.data.dataset``."""

from __future__ import annotations

import bisect
import math
import numbers
import warnings

import numpy as np

from minigrad.backend import get_array_module
from minigrad.tensor import Tensor
from minigrad.utils.data._rng import _numpy_rng

__all__ = [
    "Dataset",
    "IterableDataset",
    "TensorDataset",
    "Subset",
    "ConcatDataset",
    "ChainDataset",
    "random_split",
]


class Dataset:
    """A map-style dataset: subclasses define ``__getitem__(i)`` (and usually ``__len__``).

    ``ds[i]`` returns one sample (often a tuple ``(x, y)``); ``ds1 + ds2`` is a
    `ConcatDataset`. As in PyTorch, a dataset may define
    ``__getitems__(indices)`` returning the list of samples at ``indices`` in one
    call. minigrad adds a faster path: ``get_batch(indices)`` returning the
    already-collated batch, which the `DataLoader`
    uses (when ``collate_fn`` is the default) instead of a Python loop over the
    samples.
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__}: subclasses of Dataset must define __getitem__")

    def __add__(self, other) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset that is a stream: subclasses define ``__iter__`` yielding samples.

    ```python
    >>> class Count(IterableDataset):
    ...     def __iter__(self):
    ...         yield from range(5)
    >>> [b.tolist() for b in DataLoader(Count(), batch_size=2)]
    [[0, 1], [2, 3], [4]]
    ```

    The DataLoader reads it in order and cuts it into batches; it accepts no
    ``shuffle``/``sampler``/``batch_sampler`` (the stream decides the order).
    """

    def __iter__(self):
        raise NotImplementedError(
            f"{type(self).__name__}: subclasses of IterableDataset must define __iter__"
        )

    def __add__(self, other) -> ChainDataset:
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Several iterable datasets read one after the other (``stream1 + stream2``)."""

    def __init__(self, datasets) -> None:
        self.datasets = list(datasets)

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


def _as_data_array(t):
    """The array behind a Tensor, or an array-like as a NumPy/CuPy array (never copied to the CPU)."""
    if isinstance(t, Tensor):
        return t._data
    return get_array_module(t).asarray(t)


def _index_for(array, index):
    """An index usable on ``array``: integer positions on the array's own device."""
    if isinstance(index, numbers.Integral):
        return int(index)
    if isinstance(index, (list, tuple, np.ndarray)):
        return get_array_module(array).asarray(index, dtype=np.int64)
    return index


class TensorDataset(Dataset):
    """Samples are rows of equally long tensors: ``ds[i] == (t1[i], t2[i], ...)``.

    >>> ds = TensorDataset(images, labels)      # images (N, 28, 28), labels (N,)
    >>> x, y = ds[0]

    Accepts Tensors or NumPy/CuPy arrays (CuPy arrays stay on the GPU); every one
    must have the same first dimension. ``get_batch(indices)`` gathers whole
    batches with one indexing call per tensor, the DataLoader's fast path.
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

    def __getitem__(self, index) -> tuple:
        return tuple(Tensor._wrap(a[_index_for(a, index)]) for a in self.arrays)

    def get_batch(self, indices) -> list:
        """Rows ``indices`` of every tensor, as ``default_collate`` would batch them (a list)."""
        return list(self[np.asarray(indices, dtype=np.int64)])


class Subset(Dataset):
    """The samples of ``dataset`` at positions ``indices`` (in that order).

    ``subset.indices`` is the sequence given (a list for `random_split`).
    """

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices
        self._index_array = np.asarray(indices, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index):
        if isinstance(index, list):
            return self.dataset[[int(self._index_array[i]) for i in index]]
        if isinstance(index, numbers.Integral):
            return self.dataset[int(self._index_array[index])]
        return self.dataset[self._index_array[index]]

    def __getattr__(self, name):
        # Offer the fast batch path exactly when the wrapped dataset has one.
        dataset = self.__dict__.get("dataset")  # absent while copy/pickle rebuild the object
        if name == "get_batch" and hasattr(dataset, "get_batch"):
            index_array = self._index_array
            return lambda indices: dataset.get_batch(index_array[np.asarray(indices, dtype=np.int64)])
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")


class ConcatDataset(Dataset):
    """Several map-style datasets one after the other: ``len`` is the sum of the lengths.

    ``cumulative_sizes[k]`` is the number of samples in datasets ``0..k``; index
    ``i`` is looked up in the first dataset whose cumulative size exceeds ``i``.
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = self.cumsum(self.datasets)

    @staticmethod
    def cumsum(sequence) -> list[int]:
        """Running totals of the lengths of ``sequence``'s datasets."""
        totals, running = [], 0
        for d in sequence:
            running += len(d)
            totals.append(running)
        return totals

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        n = len(self)
        if idx < 0:
            if -idx > n:
                raise ValueError("ConcatDataset: absolute value of index should not exceed dataset length")
            idx = n + idx
        if idx >= n:
            raise IndexError(f"ConcatDataset: index {idx} is out of range for {n} samples")
        k = bisect.bisect_right(self.cumulative_sizes, idx)
        return self.datasets[k][idx - (self.cumulative_sizes[k - 1] if k else 0)]


def _split_lengths(lengths, n: int) -> list[int]:
    """PyTorch's rule: fractions summing to 1 become counts (floors, then the leftovers
    one each to the first splits, round robin); integer counts must sum to ``n``."""
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= n:
        counts = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1")
            counts.append(int(math.floor(n * frac)))
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, count in enumerate(counts):
            if count == 0:
                warnings.warn(f"random_split: length of split at index {i} is 0. "
                              "This might result in an empty dataset.", stacklevel=3)
        lengths = counts
    if sum(lengths) != n or any(int(x) != x or x < 0 for x in lengths):
        raise ValueError(
            f"random_split: sum of input lengths {lengths} does not equal the length "
            f"of the input dataset ({n})!"
        )
    return [int(x) for x in lengths]


def random_split(dataset, lengths, generator=None, *, seed: int | None = None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random `Subset` s.

    Args:
        dataset: a map-style dataset.
        lengths: sample counts summing to ``len(dataset)``, or fractions summing
            to 1 (``[0.8, 0.2]``: each split gets ``floor(N * f)`` samples, and the
            samples left over go one each to the first splits, as in PyTorch).
        generator: a ``minigrad.Generator`` (or ``numpy.random.Generator``) to draw
            the permutation from; default minigrad's global generator, so
            ``minigrad.manual_seed`` makes the split repeatable.
        seed: (minigrad only) draw from a fresh generator seeded with ``seed``.

    Returns:
        A list of `Subset`, whose ``indices`` are lists of ints.
    """
    n = len(dataset)
    counts = _split_lengths(lengths, n)
    if seed is not None and generator is not None:
        raise ValueError("random_split: pass either generator= or seed=, not both")
    rng = np.random.default_rng(seed) if seed is not None else _numpy_rng(generator)
    order = rng.permutation(n).tolist()
    bounds = np.cumsum([0] + counts).tolist()
    return [Subset(dataset, order[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
