"""Samplers: which dataset indices a DataLoader visits, and in which order (``torch.utils.data.sampler``).

A sampler is an iterable of indices (ints) with a ``len``; a batch sampler is an
iterable of lists of indices. Random samplers draw from a ``generator``
(``minigrad.Generator`` or ``numpy.random.Generator``; default minigrad's global
generator, which ``minigrad.manual_seed`` seeds). The generator advances with
every epoch, so each epoch has a new order and a seeded run repeats them all.
"""

from __future__ import annotations

import numbers
from itertools import islice

import numpy as np

from minigrad.backend import get_array_module
from minigrad.tensor import Tensor
from minigrad.utils.data._rng import _numpy_rng

__all__ = [
    "Sampler",
    "SequentialSampler",
    "RandomSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
    "BatchSampler",
]


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class Sampler:
    """Base class: subclasses define ``__iter__`` (yielding indices) and usually ``__len__``."""

    def __init__(self, data_source=None) -> None:
        pass

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__}: subclasses of Sampler must define __iter__")


class SequentialSampler(Sampler):
    """Indices ``0, 1, ..., len(data_source) - 1`` in order."""

    def __init__(self, data_source) -> None:
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """Indices in a random order.

    Without replacement each epoch is a permutation of ``range(N)`` (when
    ``num_samples > N``, whole permutations follow one another and the last one is
    cut); with ``replacement=True`` it draws ``num_samples`` indices uniformly
    and independently.

    Args:
        data_source: the dataset (only its ``len`` is used).
        replacement: draw with replacement.
        num_samples: how many indices per epoch (default ``len(data_source)``).
        generator: ``minigrad.Generator`` / ``numpy.random.Generator``; default the global one.
    """

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None,
                 generator=None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError(
                "RandomSampler: replacement should be a boolean value, "
                f"but got replacement={self.replacement}"
            )
        if not _is_int(self.num_samples) or self.num_samples <= 0:
            raise ValueError(
                f"RandomSampler: num_samples should be a positive integer value, "
                f"but got num_samples={self.num_samples}"
            )

    @property
    def num_samples(self) -> int:
        """Indices per epoch: ``num_samples`` if given, else ``len(data_source)`` (read each time)."""
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n = len(self.data_source)
        rng = _numpy_rng(self.generator)
        if self.replacement:
            yield from rng.integers(0, n, size=self.num_samples).tolist()
            return
        for _ in range(self.num_samples // n):
            yield from rng.permutation(n).tolist()
        rest = self.num_samples % n
        if rest:
            yield from rng.permutation(n)[:rest].tolist()

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order (a new one every epoch), without replacement."""

    def __init__(self, indices, generator=None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self):
        for i in _numpy_rng(self.generator).permutation(len(self.indices)).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """Indices ``0..len(weights)-1`` drawn with probabilities proportional to ``weights``.

    Index $i$ is drawn with probability $w_i / \\sum_j w_j$ (the weights need not
    sum to 1). Without replacement, each draw renormalizes over the indices not
    yet drawn, so ``num_samples`` may not exceed the number of non-zero weights.

    Args:
        weights: a 1-D sequence, array or Tensor of non-negative weights.
        num_samples: how many indices per epoch.
        replacement: draw with replacement (default ``True``, as PyTorch).
        generator: ``minigrad.Generator`` / ``numpy.random.Generator``; default the global one.
    """

    def __init__(self, weights, num_samples: int, replacement: bool = True, generator=None) -> None:
        if not _is_int(num_samples) or num_samples <= 0:
            raise ValueError(
                f"WeightedRandomSampler: num_samples should be a positive integer value, "
                f"but got num_samples={num_samples}"
            )
        if not isinstance(replacement, bool):
            raise ValueError(
                f"WeightedRandomSampler: replacement should be a boolean value, "
                f"but got replacement={replacement}"
            )
        array = weights._data if isinstance(weights, Tensor) else weights
        xp = get_array_module(array)
        array = xp.asarray(array, dtype=np.float64)
        if xp is not np:  # a few numbers: draw on the CPU
            array = array.get()
        if array.ndim != 1:
            raise ValueError(
                f"WeightedRandomSampler: weights should be a 1d sequence but given weights "
                f"have shape {tuple(array.shape)}"
            )
        if (array < 0).any() or not np.isfinite(array).all() or array.sum() <= 0:
            raise RuntimeError(
                "WeightedRandomSampler: weights must be finite, non-negative and not all zero"
            )
        self.weights = Tensor._wrap(array)
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = generator

    def __iter__(self):
        w = self.weights._data
        if not self.replacement and self.num_samples > int(np.count_nonzero(w)):
            raise RuntimeError(
                f"WeightedRandomSampler: cannot draw {self.num_samples} samples without "
                f"replacement from {int(np.count_nonzero(w))} non-zero weights"
            )
        rng = _numpy_rng(self.generator)
        drawn = rng.choice(len(w), size=self.num_samples, replace=self.replacement, p=w / w.sum())
        yield from drawn.tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Group the indices of ``sampler`` into lists of ``batch_size``.

    ```python
    >>> list(BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=False))
    [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    >>> list(BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=True))
    [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    ```

    ``len`` is ``ceil(len(sampler) / batch_size)``, or the floor with ``drop_last``.
    """

    def __init__(self, sampler, batch_size: int, drop_last: bool) -> None:
        if not _is_int(batch_size) or batch_size <= 0:
            raise ValueError(
                "BatchSampler: batch_size should be a positive integer value, "
                f"but got batch_size={batch_size}"
            )
        if not isinstance(drop_last, bool):
            raise ValueError(
                f"BatchSampler: drop_last should be a boolean value, but got drop_last={drop_last}"
            )
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self):
        it = iter(self.sampler)
        while True:
            batch = list(islice(it, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
