"""minigrad.utils.data (and its old name minigrad.data): datasets, collate, random_split, DataLoader.

The expected values are PyTorch's behaviour, written down here (torch 2.x):
``default_collate`` turns tuples into lists, Python floats into float64 and ints into
int64; the DataLoader raises ValueError for the same argument combinations.
"""

import collections

import numpy as np
import pytest

import minigrad
from minigrad import backend
from minigrad.utils.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    TensorDataset,
    default_collate,
    default_convert,
    get_worker_info,
    random_split,
)

pytestmark = pytest.mark.mlp


def _toy(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64)
    return TensorDataset(x, y)


class SquaresDataset(Dataset):
    """A dataset without get_batch: exercises the per-sample path and default_collate."""

    def __len__(self):
        return 7

    def __getitem__(self, i):
        return np.array([i, 10 + i], dtype=np.float32), i * i  # asymmetric: order is checked


class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        yield from range(self.n)


class SizedStream(Stream):
    def __len__(self):
        return self.n


def _np(batch):
    return batch.numpy() if isinstance(batch, minigrad.Tensor) else batch


# ----------------------------------------------------------------------------- module paths


def test_old_module_path_is_the_same_package():
    import minigrad.data
    import minigrad.data.dataloader
    import minigrad.data.dataset
    import minigrad.utils
    import minigrad.utils.data as new

    assert minigrad.data.DataLoader is new.DataLoader is minigrad.utils.data.DataLoader
    assert minigrad.data.dataset.TensorDataset is new.TensorDataset
    assert minigrad.data.dataloader.default_collate is new.default_collate
    assert set(minigrad.data.__all__) == set(new.__all__)


# ----------------------------------------------------------------------------- datasets


def test_tensor_dataset_len_and_items():
    ds = _toy(5)
    assert len(ds) == 5
    x, y = ds[2]
    assert isinstance(x, minigrad.Tensor) and isinstance(y, minigrad.Tensor)
    np.testing.assert_array_equal(x.numpy(), [6, 7, 8])
    assert y.item() == 2
    assert [t.shape for t in ds.tensors] == [(5, 3), (5,)]


def test_tensor_dataset_accepts_tensors_and_lists():
    x = minigrad.randn(4, 2)
    ds = TensorDataset(x, minigrad.tensor([0, 1, 0, 1]))
    assert len(ds) == 4 and ds[3][1].item() == 1
    np.testing.assert_array_equal(ds[3][0].numpy(), x.numpy()[3])
    ds = TensorDataset([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(ds[1][0].numpy(), [3.0, 4.0])


def test_tensor_dataset_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match=r"TensorDataset.*\(4, 2\).*\(3,\)"):
        TensorDataset(np.zeros((4, 2)), np.zeros(3))


def test_tensor_dataset_index_with_a_list():
    x, y = _toy(6)[[5, 1]]
    np.testing.assert_array_equal(y.numpy(), [5, 1])
    np.testing.assert_array_equal(x.numpy()[:, 0], [15, 3])


def test_subset_indexing_and_batched_path():
    subset = Subset(_toy(10), [9, 2, 5])
    assert len(subset) == 3 and subset.indices == [9, 2, 5]
    assert subset[-1][1].item() == 5
    np.testing.assert_array_equal(subset[[0, 2]][1].numpy(), [9, 5])
    assert hasattr(subset, "get_batch")
    (xb, yb), = list(DataLoader(subset, batch_size=3))
    np.testing.assert_array_equal(yb.numpy(), [9, 2, 5])
    np.testing.assert_array_equal(xb.numpy()[:, 0], [27, 6, 15])
    assert not hasattr(Subset(SquaresDataset(), [1]), "get_batch")


def test_concat_dataset_indexes_across_parts():
    a, b = _toy(3), Subset(_toy(10), [7, 8])
    cat = ConcatDataset([a, b])
    assert len(cat) == 5 and cat.cumulative_sizes == [3, 5]
    assert [cat[i][1].item() for i in range(5)] == [0, 1, 2, 7, 8]
    assert cat[-1][1].item() == 8 and cat[-5][1].item() == 0
    assert len(a + b) == 5 and isinstance(a + b, ConcatDataset)
    with pytest.raises(ValueError, match="absolute value of index"):
        cat[-6]
    with pytest.raises(IndexError, match="ConcatDataset"):
        cat[5]
    with pytest.raises(ValueError, match="empty"):
        ConcatDataset([])
    with pytest.raises(TypeError, match="IterableDataset"):
        ConcatDataset([a, Stream(3)])


# ----------------------------------------------------------------------------- random_split


def _ids(subset):
    return [subset[i][1].item() for i in range(len(subset))]


def test_random_split_with_lengths_is_a_partition():
    parts = random_split(_toy(10), [7, 3], seed=0)
    assert [len(p) for p in parts] == [7, 3]
    assert sorted(_ids(parts[0]) + _ids(parts[1])) == list(range(10))
    assert isinstance(parts[0].indices, list)


@pytest.mark.parametrize("n, fractions, expected", [
    (11, [0.5, 0.3, 0.2], [6, 3, 2]),     # floors 5+3+2 = 10, the leftover to the first
    (10, [0.25, 0.25, 0.5], [3, 2, 5]),   # floors 2+2+5 = 9, the leftover to the first
    (8, [1 / 3, 1 / 3, 1 / 3], [3, 3, 2]),  # floors 2+2+2, two leftovers: round robin
    (4, [0.1, 0.1, 0.8], [1, 0, 3]),      # floors 0+0+3, leftover 1 -> first
])
def test_random_split_with_fractions_follows_pytorch(n, fractions, expected):
    with pytest.warns(UserWarning, match="index 1 is 0") if 0 in expected else _no_warning():
        parts = random_split(_toy(n), fractions, seed=0)
    assert [len(p) for p in parts] == expected
    assert sorted(sum((_ids(p) for p in parts), [])) == list(range(n))


class _no_warning:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_random_split_generator_and_seed_are_repeatable():
    a = random_split(_toy(10), [5, 5], seed=4)[0].indices
    assert a == random_split(_toy(10), [5, 5], seed=4)[0].indices
    assert a != random_split(_toy(10), [5, 5], seed=5)[0].indices
    g1, g2 = np.random.default_rng(3), np.random.default_rng(3)
    assert (random_split(_toy(10), [0.5, 0.5], generator=g1)[0].indices
            == random_split(_toy(10), [0.5, 0.5], generator=g2)[0].indices)
    minigrad.manual_seed(1)
    c = random_split(_toy(10), [5, 5])[0].indices
    minigrad.manual_seed(1)
    assert random_split(_toy(10), [5, 5])[0].indices == c


@pytest.mark.parametrize("lengths, message", [
    ([4, 4], "sum of input lengths"),
    ([0.5, 0.6], "sum of input lengths"),
    ([-0.5, 1.5], "fraction at index 0 is not between 0 and 1"),
])
def test_random_split_rejects_bad_lengths(lengths, message):
    with pytest.raises(ValueError, match=f"random_split: {message}"):
        random_split(_toy(10), lengths)


# ----------------------------------------------------------------------------- collate


def test_default_collate_nested_structures():
    Point = collections.namedtuple("Point", "x y")
    samples = [
        {"image": np.full((2, 2), i, np.float32), "label": i, "meta": (float(i) / 2, f"s{i}"),
         "point": Point(i, [i, -i])}
        for i in range(3)
    ]
    batch = default_collate(samples)
    assert set(batch) == {"image", "label", "meta", "point"}
    image = batch["image"]
    assert isinstance(image, minigrad.Tensor) and image.shape == (3, 2, 2) and image.dtype == np.float32
    np.testing.assert_array_equal(image.numpy()[:, 0, 0], [0, 1, 2])
    assert batch["label"].dtype == np.int64 and batch["label"].tolist() == [0, 1, 2]
    meta = batch["meta"]
    assert isinstance(meta, list) and len(meta) == 2       # a tuple field becomes a list
    assert meta[0].dtype == np.float64 and meta[0].tolist() == [0.0, 0.5, 1.0]
    assert meta[1] == ["s0", "s1", "s2"]                  # strings are kept as a list
    point = batch["point"]
    assert isinstance(point, Point)                       # namedtuples keep their type
    assert point.x.tolist() == [0, 1, 2]
    assert isinstance(point.y, list) and [t.tolist() for t in point.y] == [[0, 1, 2], [0, -1, -2]]


def test_default_collate_scalars_keep_pytorch_dtypes():
    assert default_collate([1.5, 2.0]).dtype == np.float64          # torch.float64
    assert default_collate([1, 2]).dtype == np.int64
    assert default_collate([True, False]).dtype == np.bool_
    out = default_collate([np.float32(1), np.float32(2)])
    assert out.dtype == np.float32 and out.tolist() == [1.0, 2.0]
    assert default_collate([np.int32(3), np.int32(4)]).dtype == np.int32
    assert default_collate([b"a", b"b"]) == [b"a", b"b"]


def test_default_collate_of_tensors_stacks_values():
    samples = [minigrad.tensor([[i, i + 1]], dtype=np.float64) for i in range(4)]
    out = default_collate(samples)
    assert out.shape == (4, 1, 2) and out.dtype == np.float64
    np.testing.assert_array_equal(out.numpy()[:, 0, 1], [1, 2, 3, 4])


def test_default_collate_of_tensors_requiring_grad_stays_in_the_graph():
    a = minigrad.tensor([1.0, 2.0], requires_grad=True)
    b = minigrad.tensor([3.0, 4.0], requires_grad=True)
    out = default_collate([a, b])
    assert out.requires_grad
    (out * minigrad.tensor([[1.0, 1.0], [2.0, 2.0]])).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [1, 1])
    np.testing.assert_array_equal(b.grad.numpy(), [2, 2])


def test_default_collate_errors():
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="default_collate"):
        default_collate([np.array(["a"]), np.array(["b"])])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [1]])
    with pytest.raises(RuntimeError, match=r"default_collate: stack.*\(2,\) at entry 0.*\(3,\) at entry 1"):
        default_collate([np.zeros(2), np.zeros(3)])


def test_default_convert():
    out = default_convert({"x": np.arange(3), "t": (np.float32(2), "s")})
    assert isinstance(out["x"], minigrad.Tensor) and out["x"].tolist() == [0, 1, 2]
    assert isinstance(out["t"], list) and out["t"][0].dtype == np.float32 and out["t"][1] == "s"
    assert default_convert(3) == 3


# ----------------------------------------------------------------------------- DataLoader


def test_loader_without_shuffle_keeps_order_and_batches():
    loader = DataLoader(_toy(10), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 == len(batches)
    assert [b[1].shape for b in batches] == [(4,), (4,), (2,)]
    np.testing.assert_array_equal(np.concatenate([b[1].numpy() for b in batches]), np.arange(10))
    assert batches[0][0].shape == (4, 3) and batches[0][0].dtype == np.float32
    assert isinstance(batches[0], list)  # as PyTorch: default_collate of tuples gives a list


def test_loader_defaults_are_pytorchs():
    loader = DataLoader(_toy(10))
    assert loader.batch_size == 1 and loader.drop_last is False and loader.num_workers == 0
    assert isinstance(loader.sampler, SequentialSampler)
    assert isinstance(loader.batch_sampler, BatchSampler) and loader.collate_fn is default_collate
    assert len(loader) == 10
    assert isinstance(DataLoader(_toy(10), shuffle=True).sampler, RandomSampler)


def test_drop_last():
    loader = DataLoader(_toy(10), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [b[1].shape[0] for b in loader] == [4, 4]


def test_shuffle_covers_every_sample_once_and_rows_stay_aligned():
    loader = DataLoader(_toy(10), batch_size=3, shuffle=True, seed=1)
    xs, ys = zip(*loader)
    y = np.concatenate([b.numpy() for b in ys])
    x = np.concatenate([b.numpy() for b in xs])
    assert sorted(y) == list(range(10))
    assert not np.array_equal(y, np.arange(10))
    np.testing.assert_array_equal(x[:, 0], y * 3)  # features still belong to their label


def _epoch_labels(loader):
    return np.concatenate([yb.numpy() for _, yb in loader])


def test_seeded_shuffle_is_repeatable_and_differs_per_epoch():
    a = DataLoader(_toy(20), batch_size=5, shuffle=True, seed=3)
    b = DataLoader(_toy(20), batch_size=5, shuffle=True, seed=3)
    a0, a1 = _epoch_labels(a), _epoch_labels(a)
    b0, b1 = _epoch_labels(b), _epoch_labels(b)
    np.testing.assert_array_equal(a0, b0)
    np.testing.assert_array_equal(a1, b1)
    assert not np.array_equal(a0, a1)
    b.set_epoch(0)
    np.testing.assert_array_equal(_epoch_labels(b), a0)
    # the order is the one minigrad.data has always used: a generator seeded with (seed, epoch)
    np.testing.assert_array_equal(a0, np.random.default_rng((3, 0)).permutation(20))


def test_unseeded_shuffle_follows_manual_seed():
    loader = DataLoader(_toy(20), batch_size=20, shuffle=True)
    minigrad.manual_seed(7)
    first = _epoch_labels(loader)
    minigrad.manual_seed(7)
    np.testing.assert_array_equal(_epoch_labels(loader), first)
    minigrad.manual_seed(8)
    assert not np.array_equal(_epoch_labels(loader), first)


def test_generator_argument_drives_the_order():
    def epochs(gen):
        loader = DataLoader(_toy(20), batch_size=7, shuffle=True, generator=gen)
        return _epoch_labels(loader), _epoch_labels(loader)

    a0, a1 = epochs(np.random.default_rng(5))
    b0, b1 = epochs(np.random.default_rng(5))
    np.testing.assert_array_equal(a0, b0)
    np.testing.assert_array_equal(a1, b1)
    assert not np.array_equal(a0, a1)


def test_per_sample_path_with_default_collate_checks_values():
    loader = DataLoader(SquaresDataset(), batch_size=3)
    batches = list(loader)
    assert len(loader) == 3 == len(batches)
    x, y = batches[1]
    assert x.shape == (3, 2) and x.dtype == np.float32
    np.testing.assert_array_equal(x.numpy(), [[3, 13], [4, 14], [5, 15]])
    assert y.dtype == np.int64 and y.tolist() == [9, 16, 25]
    np.testing.assert_array_equal(batches[2][0].numpy(), [[6, 16]])
    # every batch is the samples stacked in order, exactly
    ds = SquaresDataset()
    for b, (xb, yb) in enumerate(batches):
        indices = range(3 * b, min(3 * b + 3, 7))
        np.testing.assert_array_equal(xb.numpy(), np.stack([ds[i][0] for i in indices]))
        assert yb.tolist() == [ds[i][1] for i in indices]


def test_fast_path_equals_per_sample_path():
    ds = _toy(9)
    fast = list(DataLoader(ds, batch_size=4, shuffle=True, seed=2))
    slow = list(DataLoader(ds, batch_size=4, shuffle=True, seed=2,
                           collate_fn=lambda samples: default_collate(samples)))
    for f, s in zip(fast, slow, strict=True):
        assert type(f) is type(s) is list
        for a, b in zip(f, s, strict=True):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_getitems_protocol_is_used():
    class Batched(SquaresDataset):
        calls = 0

        def __getitems__(self, indices):
            Batched.calls += 1
            return [self[i] for i in indices]

    assert len(list(DataLoader(Batched(), batch_size=4))) == 2 and Batched.calls == 2


def test_custom_collate_fn():
    loader = DataLoader(_toy(6), batch_size=4, collate_fn=lambda samples: len(samples))
    assert list(loader) == [4, 2]


def test_user_sampler_and_batch_sampler():
    loader = DataLoader(_toy(6), batch_size=2, sampler=[5, 4, 3, 2, 1, 0])
    assert [yb.tolist() for _, yb in loader] == [[5, 4], [3, 2], [1, 0]]
    loader = DataLoader(_toy(6), batch_sampler=[[0, 5], [1], [2, 3, 4]])
    assert loader.batch_size is None and len(loader) == 3
    assert [yb.tolist() for _, yb in loader] == [[0, 5], [1], [2, 3, 4]]


def test_batch_size_none_yields_converted_samples():
    loader = DataLoader(SquaresDataset(), batch_size=None)
    assert len(loader) == 7
    x, y = list(loader)[3]
    assert isinstance(x, minigrad.Tensor) and x.tolist() == [3.0, 13.0] and y == 9


def test_iterable_dataset():
    assert [b.tolist() for b in DataLoader(Stream(5), batch_size=2)] == [[0, 1], [2, 3], [4]]
    assert [b.tolist() for b in DataLoader(Stream(5), batch_size=2, drop_last=True)] == [[0, 1], [2, 3]]
    assert list(DataLoader(Stream(3), batch_size=None)) == [0, 1, 2]
    assert len(DataLoader(SizedStream(5), batch_size=2)) == 3
    chain = Stream(2) + SizedStream(3)
    assert isinstance(chain, ChainDataset) and list(chain) == [0, 1, 0, 1, 2]
    assert [b.tolist() for b in DataLoader(chain, batch_size=4)] == [[0, 1, 0, 1], [2]]
    with pytest.raises(TypeError, match="ChainDataset only supports IterableDataset"):
        list(ChainDataset([_toy(2)]))
    with pytest.raises(TypeError):
        len(DataLoader(Stream(5), batch_size=2))


def test_workers_and_pinning_are_accepted_and_change_nothing():
    loader = DataLoader(_toy(10), batch_size=4, num_workers=2, pin_memory=True,
                        worker_init_fn=lambda i: 1 / 0, persistent_workers=True, prefetch_factor=4)
    assert loader.prefetch_factor == 4
    assert [yb.tolist() for _, yb in loader] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert DataLoader(_toy(2), num_workers=3).prefetch_factor == 2
    assert get_worker_info() is None


@pytest.mark.parametrize("kwargs, message", [
    (dict(sampler=[0, 1], shuffle=True), "sampler option is mutually exclusive with shuffle"),
    (dict(batch_sampler=[[0]], batch_size=2), "batch_sampler option is mutually exclusive"),
    (dict(batch_sampler=[[0]], shuffle=True), "batch_sampler option is mutually exclusive"),
    (dict(batch_sampler=[[0]], sampler=[0]), "batch_sampler option is mutually exclusive"),
    (dict(batch_sampler=[[0]], drop_last=True), "batch_sampler option is mutually exclusive"),
    (dict(batch_size=None, drop_last=True), "batch_size=None option disables auto-batching"),
    (dict(batch_size=0), "batch_size should be a positive integer value"),
    (dict(batch_size=2.5), "batch_size should be a positive integer value"),
    (dict(num_workers=-1), "num_workers option should be non-negative"),
    (dict(timeout=-1), "timeout option should be non-negative"),
    (dict(prefetch_factor=2), "prefetch_factor option could only be specified"),
    (dict(persistent_workers=True), "persistent_workers option needs num_workers > 0"),
    (dict(multiprocessing_context="spawn"), "multiprocessing_context can only be used"),
    (dict(shuffle=True, seed=0, generator=np.random.default_rng(0)), "either generator= or seed="),
])
def test_loader_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DataLoader(_toy(4), **kwargs)


@pytest.mark.parametrize("kwargs, name", [
    (dict(shuffle=True), "shuffle"), (dict(sampler=[0]), "sampler"),
    (dict(batch_sampler=[[0]], batch_size=1), "batch_sampler"),
])
def test_iterable_dataset_rejects_ordering_options(kwargs, name):
    with pytest.raises(ValueError, match=f"DataLoader with IterableDataset: expected unspecified {name}"):
        DataLoader(Stream(3), **kwargs)


def test_shuffle_false_is_fine_with_a_sampler_and_an_iterable_dataset():
    assert len(DataLoader(_toy(4), sampler=[0, 1], shuffle=False)) == 2
    assert len(list(DataLoader(Stream(3), shuffle=False))) == 3


def test_frozen_attributes():
    loader = DataLoader(_toy(4))
    with pytest.raises(ValueError, match="batch_size attribute should not be set after DataLoader"):
        loader.batch_size = 3
    loader.num_workers = 1  # not frozen in PyTorch either


@pytest.mark.gpu
@pytest.mark.skipif(not backend.gpu_available(), reason="needs an NVIDIA GPU with CuPy")
def test_cupy_dataset_stays_on_the_gpu():
    cp = backend.cupy
    x = cp.arange(12, dtype=cp.float32).reshape(6, 2)
    y = cp.arange(6)
    ds = TensorDataset(x, y)
    assert isinstance(ds.arrays[0], cp.ndarray)
    (xb, yb), = list(DataLoader(ds, batch_size=6, sampler=[5, 0, 1, 2, 3, 4]))
    assert xb.device == "cuda" and cp.asnumpy(yb._data).tolist() == [5, 0, 1, 2, 3, 4]
    assert cp.asnumpy(ds[[1, 0]][0]._data).tolist() == [[2, 3], [0, 1]]

    class Raw(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return x[i], int(i)

    xb, yb = next(iter(DataLoader(Raw(), batch_size=4)))
    assert xb.device == "cuda" and xb.shape == (4, 2) and yb.tolist() == [0, 1, 2, 3]
    np.testing.assert_array_equal(cp.asnumpy(xb._data), cp.asnumpy(x[:4]))
    assert Subset(ds, [3, 1]).get_batch([1])[1].device == "cuda"


def test_per_sample_collate_of_2d_samples_keeps_every_value_in_place(rng):
    # a dataset without get_batch returning (H, W) images, a tuple (vector, label) and a dict:
    # each collated field must equal np.stack of the samples (any reversal, transposition or
    # reordering inside a sample or across the batch is a mismatch)
    images = rng.standard_normal((5, 2, 3)).astype(np.float32)
    vectors = rng.standard_normal((5, 4))

    class Images(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"image": images[i], "pair": (vectors[i], i)}

    seen = []
    for batch in DataLoader(Images(), batch_size=2, shuffle=True, seed=3):
        labels = batch["pair"][1].tolist()
        seen += labels
        np.testing.assert_array_equal(batch["image"].numpy(), images[labels])
        assert batch["image"].dtype == np.float32 and batch["pair"][0].dtype == np.float64
        np.testing.assert_array_equal(batch["pair"][0].numpy(), vectors[labels])
    assert sorted(seen) == [0, 1, 2, 3, 4] and seen != [0, 1, 2, 3, 4]  # shuffled, all seen
