"""Datasets and mini-batch loading, with PyTorch's names (``torch.utils.data``).

>>> from minigrad.data import TensorDataset, DataLoader, random_split
>>> train, val = random_split(TensorDataset(x, y), [0.9, 0.1], seed=0)
>>> for xb, yb in DataLoader(train, batch_size=64, shuffle=True, seed=0):
...     ...
"""

from minigrad.data.dataloader import DataLoader, default_collate
from minigrad.data.dataset import Dataset, Subset, TensorDataset, random_split

__all__ = ["Dataset", "TensorDataset", "Subset", "DataLoader", "default_collate", "random_split"]
