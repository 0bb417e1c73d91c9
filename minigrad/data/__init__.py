"""The older name of `minigrad.utils.data` (PyTorch's ``torch.utils.data``).

``from minigrad.data import DataLoader, TensorDataset`` keeps working and gives the
very same classes; new code should import from ``minigrad.utils.data``.
"""

from minigrad.utils.data import *  # noqa: F403
from minigrad.utils.data import __all__  # noqa: F401
