"""Samplers of minigrad.utils.data, DistributedSampler included: each one's contract.

PyTorch's rules written down here: a RandomSampler without replacement is a
permutation per epoch, ``BatchSampler`` lengths are ceil/floor, and
``DistributedSampler`` pads by repeating the start of the (shuffled) list so that
every rank gets ``ceil(N / R)`` indices (``drop_last`` trims to ``floor(N / R)``),
rank ``r`` taking ``indices[r::R]`` of a permutation seeded with ``seed + epoch``.
"""

import math
import sys
import types
from collections import Counter

import numpy as np
import pytest

import minigrad
from minigrad.utils.data import (
    BatchSampler,
    DataLoader,
    DistributedSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
)
from minigrad.utils.data._rng import _numpy_rng

pytestmark = pytest.mark.mlp


def _ds(n):
    return TensorDataset(np.arange(n))


# ----------------------------------------------------------------------------- generators


def test_numpy_rng_adapter():
    g = np.random.default_rng(0)
    assert _numpy_rng(g) is g
    assert _numpy_rng(None) is minigrad.random.get_rng()
    minigrad.manual_seed(3)  # replaces the global generator: the adapter follows
    assert _numpy_rng(None) is minigrad.random.get_rng()
    mg = minigrad.Generator().manual_seed(1)
    assert _numpy_rng(mg) is mg.numpy
    with pytest.raises(TypeError, match="generator"):
        _numpy_rng(42)


def test_minigrad_generator_drives_every_random_sampler():
    def orders(seed):
        g = minigrad.Generator().manual_seed(seed)
        return (list(RandomSampler(range(10), generator=g)), list(RandomSampler(range(10), generator=g)),
                list(SubsetRandomSampler(list(range(10)), generator=g)),
                list(WeightedRandomSampler([1.0] * 10, 5, generator=g)))

    a, b = orders(3), orders(3)
    assert a == b
    assert a[0] != a[1]  # the generator advances: a new order each epoch
    assert orders(4) != a
    g1, g2 = minigrad.Generator().manual_seed(9), minigrad.Generator().manual_seed(9)
    loader1 = DataLoader(_ds(12), batch_size=5, shuffle=True, generator=g1)
    loader2 = DataLoader(_ds(12), batch_size=5, shuffle=True, generator=g2)
    assert [b.tolist() for b, in loader1] == [b.tolist() for b, in loader2]


# ----------------------------------------------------------------------------- simple samplers


def test_base_sampler_needs_iter():
    with pytest.raises(NotImplementedError):
        iter(Sampler())


def test_sequential_sampler():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    assert len(SequentialSampler(range(4))) == 4


def test_random_sampler_is_a_permutation_with_a_new_order_per_epoch():
    sampler = RandomSampler(range(20), generator=np.random.default_rng(0))
    e0, e1 = list(sampler), list(sampler)
    assert sorted(e0) == sorted(e1) == list(range(20)) and len(sampler) == 20
    assert e0 != e1
    again = RandomSampler(range(20), generator=np.random.default_rng(0))
    assert list(again) == e0 and list(again) == e1  # same seed, same sequence of epochs
    assert all(type(i) is int for i in e0)


def test_random_sampler_default_generator_follows_manual_seed():
    minigrad.manual_seed(5)
    a = list(RandomSampler(range(30)))
    minigrad.manual_seed(5)
    assert list(RandomSampler(range(30))) == a


def test_random_sampler_num_samples_and_replacement():
    more = list(RandomSampler(range(5), num_samples=12, generator=np.random.default_rng(1)))
    assert len(more) == 12
    assert sorted(more[:5]) == sorted(more[5:10]) == list(range(5))   # whole permutations first
    assert len(set(more[10:])) == 2                                 # then a cut one
    drawn = list(RandomSampler(range(3), replacement=True, num_samples=300,
                               generator=np.random.default_rng(2)))
    assert len(drawn) == 300 and set(drawn) == {0, 1, 2}
    assert max(Counter(drawn).values()) > 1


@pytest.mark.parametrize("kwargs, error", [
    (dict(replacement=1), TypeError), (dict(num_samples=0), ValueError),
    (dict(num_samples=2.0), ValueError),
])
def test_random_sampler_errors(kwargs, error):
    with pytest.raises(error, match="RandomSampler"):
        RandomSampler(range(5), **kwargs)


def test_subset_random_sampler():
    indices = list(range(10, 110, 10))
    sampler = SubsetRandomSampler(indices, generator=np.random.default_rng(0))
    e0, e1 = list(sampler), list(sampler)
    assert sorted(e0) == sorted(e1) == indices and len(sampler) == 10
    assert e0 != e1


def test_weighted_random_sampler_follows_the_weights():
    sampler = WeightedRandomSampler([0.0, 1.0, 3.0], num_samples=4000,
                                    generator=np.random.default_rng(0))
    counts = Counter(sampler)
    assert len(sampler) == 4000 and counts[0] == 0
    assert abs(counts[2] / 4000 - 0.75) < 0.03
    no_repeat = list(WeightedRandomSampler(minigrad.tensor([1.0, 1.0, 5.0, 0.0]), 3,
                                           replacement=False, generator=np.random.default_rng(1)))
    assert sorted(no_repeat) == [0, 1, 2]
    with pytest.raises(RuntimeError, match="without replacement"):
        list(WeightedRandomSampler([1.0, 0.0], 2, replacement=False))
    with pytest.raises(ValueError, match="1d sequence"):
        WeightedRandomSampler([[1.0, 2.0]], 2)
    with pytest.raises(ValueError, match="num_samples"):
        WeightedRandomSampler([1.0], 0)
    with pytest.raises(ValueError, match="replacement"):
        WeightedRandomSampler([1.0], 1, replacement="yes")


@pytest.mark.parametrize("n, size, drop_last, expected", [
    (10, 3, False, [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]),
    (10, 3, True, [[0, 1, 2], [3, 4, 5], [6, 7, 8]]),
    (6, 3, True, [[0, 1, 2], [3, 4, 5]]),
    (2, 5, True, []),
])
def test_batch_sampler(n, size, drop_last, expected):
    sampler = BatchSampler(SequentialSampler(range(n)), size, drop_last)
    assert list(sampler) == expected and len(sampler) == len(expected)


@pytest.mark.parametrize("args", [(0, False), (-1, False), (True, False), (2, 1)])
def test_batch_sampler_errors(args):
    with pytest.raises(ValueError, match="BatchSampler: (batch_size|drop_last) should be"):
        BatchSampler(range(4), *args)


# ----------------------------------------------------------------------------- DistributedSampler


def _shards(n, replicas, epoch=0, **kwargs):
    shards = []
    for rank in range(replicas):
        s = DistributedSampler(_ds(n), num_replicas=replicas, rank=rank, **kwargs)
        s.set_epoch(epoch)
        shards.append(list(s))
        assert len(s) == len(shards[-1])
    return shards


@pytest.mark.parametrize("n, replicas", [(10, 2), (10, 3), (11, 4), (3, 5), (1, 3), (12, 4)])
@pytest.mark.parametrize("shuffle", [True, False])
def test_distributed_sampler_covers_each_sample_once_with_pytorchs_padding(n, replicas, shuffle):
    shards = _shards(n, replicas, shuffle=shuffle, seed=7)
    per_rank = math.ceil(n / replicas)
    assert [len(s) for s in shards] == [per_rank] * replicas          # everyone the same count
    dealt = [shards[r][k] for k in range(per_rank) for r in range(replicas)]  # undo indices[r::R]
    order = np.random.default_rng(7).permutation(n).tolist() if shuffle else list(range(n))
    assert dealt[:n] == order                                         # every sample exactly once...
    padding = per_rank * replicas - n
    assert dealt[n:] == (order * math.ceil(padding / n + 1))[:padding]  # ...then the start again


@pytest.mark.parametrize("n, replicas", [(10, 3), (11, 4), (12, 4), (3, 5)])
def test_distributed_sampler_drop_last_trims(n, replicas):
    shards = _shards(n, replicas, drop_last=True, seed=1)
    per_rank = n // replicas
    assert [len(s) for s in shards] == [per_rank] * replicas
    used = sum(shards, [])
    assert len(used) == len(set(used)) == per_rank * replicas        # no sample twice
    dealt = [shards[r][k] for k in range(per_rank) for r in range(replicas)]
    assert dealt == np.random.default_rng(1).permutation(n).tolist()[: per_rank * replicas]


def test_distributed_sampler_order_depends_on_seed_and_epoch():
    e0, e1 = _shards(20, 2, epoch=0), _shards(20, 2, epoch=1)
    assert e0 != e1 and sorted(sum(e1, [])) == list(range(20))
    assert _shards(20, 2, epoch=1) == e1                              # same seed, same epoch
    assert _shards(20, 2, epoch=0, seed=1) != e0
    sampler = DistributedSampler(_ds(20), num_replicas=2, rank=0)
    assert list(sampler) == list(sampler)                             # no set_epoch, same order
    assert sampler.shuffle is True and sampler.seed == 0 and sampler.drop_last is False


def test_distributed_sampler_in_a_loader():
    sampler = DistributedSampler(_ds(10), num_replicas=2, rank=1, shuffle=False)
    loader = DataLoader(_ds(10), batch_size=2, sampler=sampler)
    assert len(loader) == 3
    assert [b.tolist() for b, in loader] == [[1, 3], [5, 7], [9]]


@pytest.mark.parametrize("rank", [-1, 2])
def test_distributed_sampler_rejects_bad_rank(rank):
    with pytest.raises(ValueError, match=r"invalid rank .*\[0, 1\]"):
        DistributedSampler(_ds(4), num_replicas=2, rank=rank)


def _fake_dist(monkeypatch, initialized, world=3, rank=2):
    fake = types.ModuleType("minigrad.distributed")
    fake.is_initialized = lambda: initialized
    fake.get_world_size = lambda: world
    fake.get_rank = lambda: rank
    monkeypatch.setitem(sys.modules, "minigrad.distributed", fake)


def test_distributed_sampler_takes_rank_and_world_from_the_process_group(monkeypatch):
    _fake_dist(monkeypatch, initialized=True)
    sampler = DistributedSampler(_ds(9), shuffle=False)
    assert (sampler.num_replicas, sampler.rank) == (3, 2)
    assert list(sampler) == [2, 5, 8]


def test_distributed_sampler_without_a_process_group(monkeypatch):
    _fake_dist(monkeypatch, initialized=False)
    with pytest.raises(ValueError, match="init_process_group"):
        DistributedSampler(_ds(9))
    monkeypatch.setitem(sys.modules, "minigrad.distributed", None)  # import fails
    with pytest.raises(RuntimeError, match="minigrad.distributed is not available"):
        DistributedSampler(_ds(9), num_replicas=2)
