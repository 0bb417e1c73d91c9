"""DistributedSampler: each process of a data-parallel job reads its own share of the dataset."""

from __future__ import annotations

import importlib
import math

import numpy as np

from minigrad.utils.data.sampler import Sampler

__all__ = ["DistributedSampler"]


def _process_group():
    """``minigrad.distributed``, checked to be usable (imported here, when first needed)."""
    try:
        dist = importlib.import_module("minigrad.distributed")
    except ImportError as err:
        raise RuntimeError(
            "DistributedSampler: num_replicas/rank not given and minigrad.distributed is not "
            "available; pass num_replicas= and rank=, or install minigrad's 'distributed' extra"
        ) from err
    is_initialized = getattr(dist, "is_initialized", None)
    if is_initialized is not None and not is_initialized():
        raise ValueError(
            "DistributedSampler: num_replicas/rank not given and the default process group "
            "has not been initialized; call minigrad.distributed.init_process_group() first, "
            "or pass num_replicas= and rank="
        )
    return dist


class DistributedSampler(Sampler):
    """The indices of rank ``rank`` out of ``num_replicas`` processes, as PyTorch deals them.

    Every epoch all ranks build the same list of indices: a permutation of
    ``range(N)`` drawn from a generator seeded with ``seed + epoch`` (or ``range(N)``
    with ``shuffle=False``). The list is made a multiple of ``num_replicas`` long,
    ``total_size = num_samples * num_replicas``:

    - ``drop_last=False``: $\\text{num\\_samples} = \\lceil N / R \\rceil$, and the list is
      padded by repeating its own beginning (a few samples are seen twice);
    - ``drop_last=True``: $\\text{num\\_samples} = \\lfloor N / R \\rfloor$, and the tail is cut.

    Rank $r$ then takes every $R$-th entry from position $r$: ``indices[r::R]``.
    So each sample is used once per epoch across all ranks (up to the padding),
    and every rank gets the same number of samples (so their steps stay in lockstep).

    >>> sampler = DistributedSampler(dataset, num_replicas=2, rank=0, seed=0)
    >>> loader = DataLoader(dataset, batch_size=64, sampler=sampler)
    >>> for epoch in range(epochs):
    ...     sampler.set_epoch(epoch)      # otherwise every epoch has the same order
    ...     for xb, yb in loader: ...

    Args:
        dataset: a map-style dataset (only its ``len`` is used).
        num_replicas: the number of processes; default
            ``minigrad.distributed.get_world_size()``.
        rank: this process's rank in ``[0, num_replicas - 1]``; default
            ``minigrad.distributed.get_rank()``.
        shuffle: a new order each epoch (same on every rank).
        seed: the shared seed; must be the same on every rank.
        drop_last: cut the tail instead of padding.
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None:
            num_replicas = _process_group().get_world_size()
        if rank is None:
            rank = _process_group().get_rank()
        if num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be positive, got {num_replicas}")
        if rank >= num_replicas or rank < 0:
            raise ValueError(
                f"DistributedSampler: invalid rank {rank}, rank should be in the interval "
                f"[0, {num_replicas - 1}]"
            )
        self.dataset = dataset
        self.num_replicas = int(num_replicas)
        self.rank = int(rank)
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % self.num_replicas != 0:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            indices = np.random.default_rng(self.seed + self.epoch).permutation(n).tolist()
        else:
            indices = list(range(n))
        if self.drop_last:
            indices = indices[: self.total_size]
        else:
            padding = self.total_size - len(indices)
            if padding <= len(indices):
                indices += indices[:padding]
            else:  # fewer samples than ranks: repeat the whole list as often as needed
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        return iter(indices[self.rank: self.total_size: self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use epoch ``epoch``'s order next (call it at the start of each epoch, on every rank)."""
        self.epoch = epoch
