"""Utilities with PyTorch's module paths (``torch.utils``).

``minigrad.utils.data`` holds datasets, samplers and the ``DataLoader``::

    from minigrad.utils.data import DataLoader, TensorDataset
"""

from minigrad.utils import data

__all__ = ["data"]
