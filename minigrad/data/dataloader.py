"""The older path of `minigrad.utils.data.dataloader` (kept so old imports work)."""

from minigrad.utils.data.collate import default_collate, default_convert  # noqa: F401
from minigrad.utils.data.dataloader import *  # noqa: F403
from minigrad.utils.data.dataloader import DataLoader, get_worker_info  # noqa: F401
