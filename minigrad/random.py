"""Random numbers and tensor factories.

One global NumPy ``Generator`` drives every random op in minigrad (parameter
init, dropout, ``randn``, data shuffling defaults), so ``minigrad.manual_seed(s)``
makes a whole run repeatable. Random arrays are drawn on the CPU and then moved,
so the same seed gives the same numbers on every device.
"""

from __future__ import annotations

import numpy as np

from minigrad import backend
from minigrad.tensor import Tensor, get_default_dtype

_rng = np.random.default_rng(0)


def manual_seed(seed: int):
    """Seed minigrad's global random generator (returns it as a `Generator`)."""
    global _rng
    _rng = np.random.default_rng(seed)
    return Generator._of(_rng, seed)


def get_rng() -> np.random.Generator:
    """The global generator (for code that needs random numbers beyond these factories)."""
    return _rng


class Generator:
    """A random number generator of its own (``torch.Generator``), for ``generator=`` arguments.

    >>> g = minigrad.Generator().manual_seed(42)
    >>> minigrad.randn(3, generator=g)        # the same numbers for the same seed,
    ...                                       # whatever the global generator did

    It wraps a NumPy ``np.random.Generator`` (the attribute ``numpy``).
    """

    def __init__(self, device: str = "cpu"):
        self.device = device
        self._seed = int(np.random.SeedSequence().entropy % (2**63))
        self.numpy = np.random.default_rng(self._seed)

    @classmethod
    def _of(cls, rng: np.random.Generator, seed: int) -> Generator:
        g = cls.__new__(cls)
        g.device, g._seed, g.numpy = "cpu", seed, rng
        return g

    def manual_seed(self, seed: int) -> Generator:
        """Reseed; returns ``self`` (so ``Generator().manual_seed(0)`` reads as in PyTorch)."""
        self._seed = int(seed)
        self.numpy = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        """Reseed from fresh entropy and return the new seed."""
        self.manual_seed(int(np.random.SeedSequence().entropy % (2**63)))
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict:
        return self.numpy.bit_generator.state

    def set_state(self, state: dict) -> Generator:
        self.numpy.bit_generator.state = state
        return self


def _numpy_rng(generator=None) -> np.random.Generator:
    """The NumPy generator behind a ``generator=`` argument (the global one for None)."""
    if generator is None:
        return _rng
    if isinstance(generator, Generator):
        return generator.numpy
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"generator must be a minigrad.Generator, got {type(generator).__name__}")


def _shape(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def _make(array, dtype, requires_grad, device) -> Tensor:
    dtype = get_default_dtype() if dtype is None else dtype
    return Tensor(array.astype(dtype, copy=False), requires_grad=requires_grad, device=device)


def tensor(data, requires_grad: bool = False, dtype=None, device=None) -> Tensor:
    """A tensor from a list, number or array, always a copy (as ``torch.tensor``).

    Python floats become float32 (the default dtype), Python ints int64;
    NumPy arrays keep their dtype unless ``dtype`` is given. (``Tensor(array)``
    instead shares the array's memory, like ``torch.from_numpy``.)
    """
    if isinstance(data, Tensor):
        data = data._data
    if hasattr(data, "copy"):
        data = data.copy()  # an optimizer step must never write into the caller's array
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


def zeros(*shape, dtype=None, requires_grad=False, device=None) -> Tensor:
    """A tensor of zeros."""
    return _make(np.zeros(_shape(shape)), dtype, requires_grad, device)


def ones(*shape, dtype=None, requires_grad=False, device=None) -> Tensor:
    """A tensor of ones."""
    return _make(np.ones(_shape(shape)), dtype, requires_grad, device)


def full(size, fill_value, dtype=None, requires_grad=False, device=None) -> Tensor:
    """A tensor of shape ``size`` filled with ``fill_value`` (int64 for an int, bool for a bool,
    as PyTorch)."""
    array = np.full(_shape((size,)), fill_value)
    if dtype is None and array.dtype.kind in "biu":
        return Tensor(array, device=device)
    return _make(array, dtype, requires_grad, device)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None) -> Tensor:
    """``start, start + step, ...`` up to (not including) ``end``; int64 for integer arguments."""
    array = np.arange(start, end, step) if end is not None else np.arange(start)
    if dtype is None and array.dtype.kind == "f":
        dtype = get_default_dtype()
    return Tensor(array, requires_grad=requires_grad, dtype=dtype, device=device)


def empty(*shape, dtype=None, requires_grad=False, device=None) -> Tensor:
    """An uninitialised tensor (``torch.empty``); minigrad fills it with zeros."""
    return zeros(*shape, dtype=dtype, requires_grad=requires_grad, device=device)


def randn(*shape, generator=None, dtype=None, requires_grad=False, device=None) -> Tensor:
    r"""Samples from the standard normal distribution $\mathcal{N}(0, 1)$."""
    return _make(_numpy_rng(generator).standard_normal(_shape(shape)), dtype, requires_grad, device)


def rand(*shape, generator=None, dtype=None, requires_grad=False, device=None) -> Tensor:
    """Samples from the uniform distribution on $[0, 1)$."""
    return _make(_numpy_rng(generator).random(_shape(shape)), dtype, requires_grad, device)


def randint(*args, low=0, high=None, size=None, generator=None, dtype=None, device=None,
            requires_grad=False) -> Tensor:
    r"""Random integers in $[\text{low}, \text{high})$, int64 by default.

    PyTorch's signatures: ``randint(high, size)`` and ``randint(low, high, size)``, each
    argument positionally or by keyword (``low`` defaults to 0).
    """
    args = list(args)
    if size is None:
        if not args:
            raise TypeError("randint: missing the size (a tuple)")
        size = args.pop()
    if len(args) > 2 or (len(args) == 2 and high is not None):
        raise TypeError("randint: expected randint(high, size) or randint(low, high, size)")
    if len(args) == 2:
        low, high = args
    elif len(args) == 1:
        if high is None:
            high = args[0]
        else:
            low = args[0]
    if high is None:
        raise TypeError("randint: missing high (randint(high, size) or randint(low, high, size))")
    size = (size,) if isinstance(size, int) else tuple(size)
    array = _numpy_rng(generator).integers(low, high, size=size)
    return Tensor(array, dtype=dtype or np.int64, device=device, requires_grad=requires_grad)


def randperm(n: int, *, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A random permutation of ``0 .. n-1`` (int64)."""
    return Tensor(_numpy_rng(generator).permutation(n), dtype=dtype or np.int64, device=device,
                  requires_grad=requires_grad)


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, device=None) -> Tensor:
    r"""Samples from $\mathcal{N}(\text{mean}, \text{std}^2)$ (float means/stds and a ``size``)."""
    mean = mean._data if isinstance(mean, Tensor) else mean
    std = std._data if isinstance(std, Tensor) else std
    return _make(_numpy_rng(generator).normal(mean, std, size=size), dtype, False, device)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *, generator=None) -> Tensor:
    """Draw ``num_samples`` indices per row with probabilities proportional to ``input``'s rows.

    Works on a 1-D tensor or each row of a 2-D one (as ``torch.multinomial``); int64 out.
    """
    rng = _numpy_rng(generator)
    probs = backend.to_device(input._data, "cpu").astype(np.float64)
    rows = probs[None] if probs.ndim == 1 else probs
    if (rows < 0).any() or not np.isfinite(rows).all():
        raise RuntimeError("multinomial: probability tensor contains inf, nan or an element < 0")
    out = []
    for p in rows:
        total = p.sum()
        if total <= 0:
            raise RuntimeError("multinomial: invalid distribution (sum of probabilities <= 0)")
        if not replacement and num_samples > (p > 0).sum():
            raise RuntimeError("multinomial: cannot sample n_sample > prob_dist.size(-1) samples "
                               "without replacement")
        out.append(rng.choice(p.size, size=num_samples, replace=replacement, p=p / total))
    result = np.stack(out).astype(np.int64)
    return Tensor(result[0] if probs.ndim == 1 else result, device=input.device)


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing ``ndarray``'s memory (``torch.from_numpy``): writes show in both."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(ndarray).__name__}")
    return Tensor(ndarray)


def _like(input: Tensor, array, requires_grad, device) -> Tensor:
    """``array`` (made like ``input``) as a leaf tensor, moved to ``device`` if one is given."""
    return Tensor(array if device is None else backend.to_device(array, device), requires_grad=requires_grad)


def zeros_like(input: Tensor, dtype=None, requires_grad=False, device=None) -> Tensor:
    """Zeros with the shape, dtype and device of ``input`` (unless ``dtype``/``device`` are given)."""
    xp = backend.get_array_module(input._data)
    return _like(input, xp.zeros(input.shape, dtype=dtype or input.dtype), requires_grad, device)


def ones_like(input: Tensor, dtype=None, requires_grad=False, device=None) -> Tensor:
    """Ones with the shape, dtype and device of ``input`` (unless ``dtype``/``device`` are given)."""
    xp = backend.get_array_module(input._data)
    return _like(input, xp.ones(input.shape, dtype=dtype or input.dtype), requires_grad, device)


def randn_like(input: Tensor, dtype=None, requires_grad=False, device=None) -> Tensor:
    """N(0, 1) samples with the shape and device of ``input``."""
    return randn(*input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad,
                 device=input.device if device is None else device)


def full_like(input: Tensor, fill_value, dtype=None, requires_grad=False, device=None) -> Tensor:
    """``fill_value`` with the shape, dtype and device of ``input``."""
    xp = backend.get_array_module(input._data)
    return _like(input, xp.full(input.shape, fill_value, dtype=dtype or input.dtype), requires_grad, device)


def empty_like(input: Tensor, dtype=None, requires_grad=False, device=None) -> Tensor:
    """An uninitialised tensor like ``input`` (minigrad fills it with zeros)."""
    return zeros_like(input, dtype=dtype, requires_grad=requires_grad, device=device)


def rand_like(input: Tensor, dtype=None, requires_grad=False, device=None) -> Tensor:
    """Uniform $[0, 1)$ samples with the shape and device of ``input``."""
    return rand(*input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad,
                device=input.device if device is None else device)
