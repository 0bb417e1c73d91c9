"""minigrad.data: datasets, random_split and the DataLoader."""

import numpy as np
import pytest

import minigrad
from minigrad.data import DataLoader, Dataset, Subset, TensorDataset, random_split

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
        return np.full(2, i, dtype=np.float32), i * i


def test_tensor_dataset_len_and_items():
    ds = _toy(5)
    assert len(ds) == 5
    x, y = ds[2]
    assert isinstance(x, minigrad.Tensor) and isinstance(y, minigrad.Tensor)
    np.testing.assert_array_equal(x.numpy(), [6, 7, 8])
    assert y.item() == 2


def test_tensor_dataset_accepts_tensors():
    ds = TensorDataset(minigrad.randn(4, 2), minigrad.tensor([0, 1, 0, 1]))
    assert len(ds) == 4 and ds[3][1].item() == 1


def test_tensor_dataset_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match=r"TensorDataset.*\(4, 2\).*\(3,\)"):
        TensorDataset(np.zeros((4, 2)), np.zeros(3))


def test_loader_without_shuffle_keeps_order_and_batches():
    loader = DataLoader(_toy(10), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 == len(batches)
    assert [b[1].shape for b in batches] == [(4,), (4,), (2,)]
    np.testing.assert_array_equal(np.concatenate([b[1].numpy() for b in batches]), np.arange(10))
    assert batches[0][0].shape == (4, 3) and batches[0][0].dtype == np.float32


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


def test_unseeded_shuffle_follows_manual_seed():
    loader = DataLoader(_toy(20), batch_size=20, shuffle=True)
    minigrad.manual_seed(7)
    first = _epoch_labels(loader)
    minigrad.manual_seed(7)
    np.testing.assert_array_equal(_epoch_labels(loader), first)
    minigrad.manual_seed(8)
    assert not np.array_equal(_epoch_labels(loader), first)


def test_per_sample_path_with_default_collate():
    loader = DataLoader(SquaresDataset(), batch_size=3)
    x, y = next(iter(loader))
    assert x.shape == (3, 2) and x.dtype == np.float32
    np.testing.assert_array_equal(y.numpy(), [0, 1, 4])
    assert len(list(loader)) == 3


def test_custom_collate_fn():
    loader = DataLoader(_toy(6), batch_size=4, collate_fn=lambda samples: len(samples))
    assert list(loader) == [4, 2]


def test_bad_batch_size():
    with pytest.raises(ValueError, match="DataLoader: batch_size"):
        DataLoader(_toy(), batch_size=0)


def test_random_split_with_lengths_is_a_partition():
    parts = random_split(_toy(10), [7, 3], seed=0)
    assert [len(p) for p in parts] == [7, 3]
    ids = np.concatenate([[p[i][1].item() for i in range(len(p))] for p in parts])
    assert sorted(ids) == list(range(10))


def test_random_split_with_fractions():
    parts = random_split(_toy(11), [0.5, 0.3, 0.2], seed=0)
    assert [len(p) for p in parts] == [6, 3, 2]  # 5+3+2 floors, the leftover to the first


def test_random_split_is_seeded():
    a = random_split(_toy(10), [5, 5], seed=4)[0].indices
    b = random_split(_toy(10), [5, 5], seed=4)[0].indices
    c = random_split(_toy(10), [5, 5], seed=5)[0].indices
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("lengths", [[4, 4], [0.5, 0.6], [-0.5, 1.5]])
def test_random_split_rejects_bad_lengths(lengths):
    with pytest.raises(ValueError, match="random_split"):
        random_split(_toy(10), lengths)


def test_loader_over_subset_uses_the_batched_path():
    subset = Subset(_toy(10), [9, 2, 5])
    assert hasattr(subset, "get_batch")
    (xb, yb), = list(DataLoader(subset, batch_size=3))
    np.testing.assert_array_equal(yb.numpy(), [9, 2, 5])
    np.testing.assert_array_equal(xb.numpy()[:, 0], [27, 6, 15])
    assert not hasattr(Subset(SquaresDataset(), [1]), "get_batch")
