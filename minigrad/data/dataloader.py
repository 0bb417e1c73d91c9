"""DataLoader: a dataset cut into (shuffled) mini-batches of Tensors."""

from __future__ import annotations

import numbers

import numpy as np

from minigrad import random as _random
from minigrad.backend import get_array_module
from minigrad.tensor import Tensor

__all__ = ["DataLoader", "default_collate"]


def default_collate(samples: list):
    """Stack a list of samples into one batch, field by field.

    Tuples/lists of fields become a tuple of batched fields, dicts a dict;
    Tensors, arrays and numbers are stacked along a new first axis into a
    Tensor (Python floats become the default float dtype, as ``minigrad.tensor`` does).
    """
    first = samples[0]
    if isinstance(first, (tuple, list)):
        return tuple(default_collate(list(field)) for field in zip(*samples))
    if isinstance(first, dict):
        return {key: default_collate([s[key] for s in samples]) for key in first}
    if isinstance(first, Tensor):
        arrays = [s.data for s in samples]
        return Tensor._wrap(get_array_module(*arrays).stack(arrays))
    if isinstance(first, numbers.Number):
        return Tensor(list(samples))
    if isinstance(first, (np.ndarray, np.generic)):
        return Tensor(np.stack(samples))
    raise TypeError(
        f"default_collate: cannot batch samples of type {type(first).__name__}; "
        "pass collate_fn= to DataLoader"
    )


class DataLoader:
    """Iterate over ``dataset`` in mini-batches of Tensors.

    >>> loader = DataLoader(TensorDataset(x, y), batch_size=128, shuffle=True, seed=0)
    >>> for xb, yb in loader:      # one epoch; iterating again starts the next epoch
    ...     ...

    Shuffling is reproducible: with ``seed`` given, epoch ``e`` uses the
    permutation of a generator seeded with ``(seed, e)``, so every epoch is
    different and a run is repeatable (``set_epoch`` jumps to an epoch, e.g. when
    resuming). With ``seed=None`` the permutation is drawn from minigrad's
    global generator, which ``minigrad.manual_seed`` controls.

    Datasets with a ``get_batch(indices)`` method (:class:`TensorDataset` and
    its :class:`Subset` s) are gathered with one indexing call per batch; others
    are read sample by sample and joined with ``collate_fn`` (default:
    :func:`default_collate`).

    ``len(loader)`` is the number of batches: ``ceil(N / batch_size)``, or
    ``floor(N / batch_size)`` with ``drop_last=True`` (which drops the last,
    smaller batch).
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False,
                 seed: int | None = None, drop_last: bool = False, collate_fn=None):
        if not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise ValueError(
                f"DataLoader: batch_size must be a positive integer, got {batch_size!r}"
            )
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.collate_fn = collate_fn
        self.epoch = 0

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration use epoch ``epoch``'s permutation."""
        self.epoch = epoch

    def _order(self) -> np.ndarray:
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        if self.seed is None:
            return _random.get_rng().permutation(n)
        return np.random.default_rng((self.seed, self.epoch)).permutation(n)

    def _fetch(self, indices: np.ndarray):
        if self.collate_fn is None and hasattr(self.dataset, "get_batch"):
            return self.dataset.get_batch(indices)
        collate = self.collate_fn or default_collate
        return collate([self.dataset[int(i)] for i in indices])

    def __iter__(self):
        order = self._order()
        self.epoch += 1
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            yield self._fetch(order[start:start + self.batch_size])

    def __repr__(self) -> str:
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, seed={self.seed})")
