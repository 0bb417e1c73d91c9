"""DataLoader: a dataset cut into (shuffled) mini-batches of Tensors (``torch.utils.data.DataLoader``)."""

from __future__ import annotations

import numbers
from itertools import islice

import numpy as np

from minigrad.utils.data.collate import default_collate, default_convert
from minigrad.utils.data.dataset import IterableDataset
from minigrad.utils.data.sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info"]


def get_worker_info():
    """``None``: minigrad loads every batch in the main process (PyTorch returns ``None`` there too)."""
    return None


class _InfiniteConstantSampler(Sampler):
    """The 'sampler' of an IterableDataset, as in PyTorch: ``None`` forever (the stream decides)."""

    def __iter__(self):
        while True:
            yield None


# Attributes PyTorch forbids changing once the loader exists (its samplers were built from them).
_FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers")


class DataLoader:
    """Iterate over ``dataset`` in mini-batches, with PyTorch's arguments and rules.

    >>> loader = DataLoader(TensorDataset(x, y), batch_size=128, shuffle=True)
    >>> for xb, yb in loader:      # one epoch; iterating again starts the next one
    ...     ...

    Each epoch the ``batch_sampler`` gives lists of indices (by default
    ``BatchSampler(sampler, batch_size, drop_last)`` over a `RandomSampler`
    when ``shuffle=True``, else a `SequentialSampler`); the samples at those
    indices are merged by ``collate_fn`` (default `default_collate`).
    ``len(loader)`` is the number of batches: $\\lceil N / B \\rceil$, or
    $\\lfloor N / B \\rfloor$ with ``drop_last=True``.

    Args:
        dataset: a map-style `Dataset` (``len`` and ``ds[i]``) or an
            `IterableDataset` (read in order, cut into batches).
        batch_size: samples per batch; ``None`` turns automatic batching off
            (each sample is yielded alone, through ``default_convert``).
        shuffle: a new random order every epoch (map-style datasets only).
        sampler: an iterable of indices with a ``len`` (a `Sampler`,
            e.g. `DistributedSampler`); excludes ``shuffle``.
        batch_sampler: an iterable of lists of indices; excludes ``batch_size``,
            ``shuffle``, ``sampler`` and ``drop_last``.
        num_workers: accepted for PyTorch programs, but **minigrad loads every
            batch in the main process** whatever its value (so ``worker_init_fn``
            is never called and `get_worker_info` returns ``None``); the
            batches and their order are those of ``num_workers=0``.
        collate_fn: merges a list of samples into a batch.
        pin_memory: accepted and ignored (NumPy memory needs no pinning; CuPy
            datasets are already on the GPU).
        drop_last: drop the last, smaller batch.
        timeout: accepted (must be non-negative); there are no workers to wait for.
        worker_init_fn: accepted and checked as PyTorch does; no effect here (as for
            ``multiprocessing_context``, ``prefetch_factor``, ``persistent_workers``,
            ``pin_memory_device`` and ``in_order``).
        generator: ``minigrad.Generator`` (or ``numpy.random.Generator``) for the
            shuffling order; default minigrad's global generator, so
            ``minigrad.manual_seed`` makes a run repeatable.
        seed: (minigrad only) shuffle epoch ``e`` with a generator seeded with
            ``(seed, e)``: every epoch differs, a run is repeatable, and
            `set_epoch` jumps to an epoch (e.g. when resuming).

    Raises:
        ValueError: PyTorch's exclusions (``sampler`` with ``shuffle``;
            ``batch_sampler`` with ``batch_size``/``shuffle``/``sampler``/``drop_last``;
            ``batch_size=None`` with ``drop_last``; ``shuffle``/``sampler``/
            ``batch_sampler`` with an IterableDataset), a non-positive
            ``batch_size``, negative ``num_workers``/``timeout``,
            ``prefetch_factor``/``persistent_workers``/``multiprocessing_context``
            without workers, and ``seed`` with ``generator``.

    Datasets with a ``get_batch(indices)`` method (`TensorDataset` and its
    `Subset` s) are gathered with one indexing call per batch when
    ``collate_fn`` is the default; the batch is the same as ``default_collate``'s.
    """

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler=None, batch_sampler=None, num_workers: int = 0, collate_fn=None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True, seed: int | None = None):
        self._initialized = False
        if num_workers < 0:
            raise ValueError("DataLoader: num_workers option should be non-negative; "
                             "use num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("DataLoader: timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("DataLoader: prefetch_factor option could only be specified in "
                             "multiprocessing. Let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
        if multiprocessing_context is not None and num_workers == 0:
            raise ValueError("DataLoader: multiprocessing_context can only be used with "
                             f"multi-process loading (num_workers > 0), but got num_workers={num_workers}")

        self._is_iterable = isinstance(dataset, IterableDataset)
        if self._is_iterable:
            for name, value, unset in (("shuffle", shuffle, shuffle in (None, False)),
                                       ("sampler", sampler, sampler is None),
                                       ("batch_sampler", batch_sampler, batch_sampler is None)):
                if not unset:
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                     f"{name} option, but got {name}={value!r}")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                                 "batch_size, shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None:
            if drop_last:
                raise ValueError("DataLoader: batch_size=None option disables auto-batching "
                                 "and is mutually exclusive with drop_last")
        elif (not isinstance(batch_size, numbers.Integral) or isinstance(batch_size, bool)
              or batch_size <= 0):
            raise ValueError("DataLoader: batch_size should be a positive integer value, "
                             f"but got batch_size={batch_size!r}")
        if seed is not None and generator is not None:
            raise ValueError("DataLoader: pass either generator= or seed= (minigrad's "
                             "per-epoch seeding), not both")

        self._seeded = False  # does __iter__ reseed the loader's own RandomSampler?
        if sampler is None:
            if self._is_iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
                self._seeded = seed is not None
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, int(batch_size), drop_last)

        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0
        self._initialized = True

    def __setattr__(self, name, value):
        if name in _FROZEN and getattr(self, "_initialized", False):
            raise ValueError(f"{name} attribute should not be set after "
                             f"{type(self).__name__} is initialized")
        super().__setattr__(name, value)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self) -> int:
        if self._is_iterable:
            length = len(self.dataset)  # TypeError when the stream has no len, as in PyTorch
            if self.batch_size is None:
                return length
            return length // self.batch_size if self.drop_last else -(-length // self.batch_size)
        return len(self._index_sampler)

    def set_epoch(self, epoch: int) -> None:
        """(minigrad only) Make the next iteration use epoch ``epoch``'s order (with ``seed=``)."""
        self.epoch = epoch

    def _fetch(self, indices):
        if self.collate_fn is default_collate and hasattr(self.dataset, "get_batch"):
            return self.dataset.get_batch(indices)
        getitems = getattr(self.dataset, "__getitems__", None)
        samples = getitems(indices) if getitems else [self.dataset[i] for i in indices]
        return self.collate_fn(samples)

    def __iter__(self):
        if self._is_iterable:
            yield from self._iter_stream()
            return
        if self._seeded:
            self.sampler.generator = np.random.default_rng((self.seed, self.epoch))
        self.epoch += 1
        if self._auto_collation:
            for indices in self.batch_sampler:
                yield self._fetch(indices)
        else:
            for index in self.sampler:
                yield self.collate_fn(self.dataset[index])

    def _iter_stream(self):
        stream = iter(self.dataset)
        if self.batch_size is None:
            for sample in stream:
                yield self.collate_fn(sample)
            return
        while True:
            batch = list(islice(stream, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield self.collate_fn(batch)

    def __repr__(self) -> str:
        try:
            size = f" of {len(self.dataset)}"
        except TypeError:
            size = ""
        return (f"DataLoader({type(self.dataset).__name__}{size}, batch_size={self.batch_size}, "
                f"sampler={type(self.sampler).__name__}, drop_last={self.drop_last})")
