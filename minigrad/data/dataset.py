"""The older path of `minigrad.utils.data.dataset` (kept so old imports work)."""

from minigrad.utils.data.dataset import *  # noqa: F403
from minigrad.utils.data.dataset import (  # noqa: F401
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
