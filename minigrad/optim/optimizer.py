"""The Optimizer base class: parameter groups, state, ``zero_grad``, ``state_dict``.

An optimizer holds *parameter groups* (``opt.param_groups``, PyTorch's structure): a
list of dicts, each with ``"params"`` (a list of Tensors) and every hyperparameter
of the optimizer, the constructor's values filling in what a group leaves out::

    opt = optim.SGD([
        {"params": model.backbone.parameters(), "lr": 1e-3},
        {"params": model.head.parameters()},          # lr=1e-2 from the defaults below
    ], lr=1e-2, momentum=0.9)
    opt.param_groups[1]["lr"] *= 0.5                  # takes effect at the next step

``step()`` reads each group's hyperparameters afresh, so changing ``group["lr"]``
(what the schedulers do) takes effect at once. It updates every parameter that
has a gradient, in place on its array (``p._data``) with plain array math: no
graph is recorded, and the parameter's version counter goes up by one, as for
any in-place write. Per-parameter state (momentum buffers, Adam's moments) lives
in ``opt.state[p]``, a dict of arrays and numbers keyed by the parameter itself.

Writing in place matters: a model, a ``.data`` view or a checkpoint may hold the
very same array, so an update must never build a new array and rebind
``p._data``. The updates below therefore write with ``-=``, ``*=``, ``[...] =``
or ``out=`` into the parameter and the state arrays, and compute everything else
as temporaries. That also keeps 0-d parameters right: NumPy turns the result of
arithmetic on 0-d arrays into a scalar, which is fine for a temporary but could
not be updated in place.
"""

from __future__ import annotations

import copy
import math
from collections import defaultdict

import numpy as np

from minigrad import backend
from minigrad.tensor import Tensor, enable_grad

__all__ = ["Optimizer"]

# Hyperparameters that must be numbers >= 0, and those that must lie in [0, 1].
_NON_NEGATIVE = ("lr", "eps", "weight_decay", "momentum", "dampening", "lr_decay",
                 "initial_accumulator_value", "momentum_decay", "tolerance_grad",
                 "tolerance_change")
_UNIT_INTERVAL = ("rho",)
# State entries that are running averages of squares or maxima of magnitudes: never negative.
_NON_NEGATIVE_STATE = ("exp_avg_sq", "max_exp_avg_sq", "sum", "square_avg", "acc_delta", "exp_inf")


class Optimizer:
    """Base class of the optimizers, with PyTorch's ``torch.optim.Optimizer`` interface.

    A subclass passes its hyperparameters as ``defaults`` and implements
    ``_update(param, grad, state, group)``: update the array ``param`` in place
    from the gradient array ``grad`` (already negated when ``maximize=True``),
    the parameter's ``state`` dict and its ``group``.

    Args:
        params: an iterable of Tensors (``model.parameters()``), or of dicts that
            each define a parameter group (``{"params": ..., "lr": ...}``).
        defaults: the hyperparameters every group gets unless it sets its own.

    Attributes:
        param_groups: list of dicts, one per group: ``"params"`` and every hyperparameter.
        defaults: the constructor's hyperparameters.
        state: ``{parameter: {name: array or number}}``, filled in by the first step.
    """

    # State entries with the parameter's shape (checked by load_state_dict).
    _elementwise_state: tuple = ()

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        if isinstance(params, Tensor):
            raise TypeError(
                f"{self.name}: params must be an iterable of Tensors (e.g. model.parameters()), "
                "got a single Tensor; wrap it in a list"
            )
        groups = list(params)
        if not groups:
            raise ValueError(f"{self.name}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    @property
    def name(self) -> str:
        return type(self).__name__

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters, e.g. layers unfrozen during fine-tuning.

        Args:
            param_group: ``{"params": tensors, **hyperparameters}``; hyperparameters
                it leaves out are taken from ``defaults``.

        Raises:
            TypeError: not a dict, or params that are not Tensors (or a set, whose
                order is not defined).
            ValueError: a parameter already in a group, or a bad hyperparameter.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"{self.name}.add_param_group: expected a dict, got "
                            f"{type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{self.name}.add_param_group: the group has no 'params' entry")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{self.name}: parameters must be in an ordered collection "
                            "(a list), not a set: state would be paired by position")
        else:
            params = list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{self.name}: expected Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{self.name}: can't optimize a non-leaf Tensor (shape "
                                 f"{p.shape}); optimize the leaf it was computed from")
            if id(p) in seen:
                raise ValueError(f"{self.name}: a parameter of shape {p.shape} appears twice "
                                 "(in this group or in another one)")
            seen.add(id(p))
        group["params"] = params
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._validate_group(group, f"param group {len(self.param_groups)}")
        self.param_groups.append(group)

    def _validate_group(self, group: dict, where: str) -> None:
        """Raise ValueError naming the field if a hyperparameter is out of its range."""
        for key in _NON_NEGATIVE:
            if key in group:
                _check_range(self.name, where, key, group[key], lambda v: v >= 0, ">= 0")
        for key in _UNIT_INTERVAL:
            if key in group:
                _check_range(self.name, where, key, group[key], lambda v: 0 <= v <= 1, "in [0, 1]")
        if "betas" in group:
            betas = group["betas"]
            if not isinstance(betas, (tuple, list)) or len(betas) != 2:
                raise ValueError(f"{self.name}: {where}: betas must be a pair (beta1, beta2), "
                                 f"got {betas!r}")
            for i, beta in enumerate(betas):
                _check_range(self.name, where, f"betas[{i}]", beta, lambda v: 0 <= v < 1, "in [0, 1)")
        if group.get("differentiable"):
            raise NotImplementedError(
                f"{self.name}: differentiable=True (autograd through the update) is not supported; "
                "the update is plain array math"
            )

    # ------------------------------------------------------------------ the step
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: ``p.grad = None``, or zeros written in place if
        ``set_to_none=False``."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad._data[...] = 0

    def step(self, closure=None):
        """Update every parameter that has a gradient (frozen ones have none).

        Args:
            closure: optional function that clears the gradients, recomputes the
                loss, calls ``backward()`` and returns the loss (run with grad enabled).

        Returns:
            The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad._data
                if group.get("maximize", False):
                    grad = -grad  # gradient ascent: a temporary, p.grad is left alone
                self._update(p._data, grad, self.state[p], group)
                p._version_counter.value += 1  # an in-place write, as PyTorch counts it
        return loss

    def _update(self, param, grad, state: dict, group: dict) -> None:  # pragma: no cover
        raise NotImplementedError

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        """The optimizer as plain data, in PyTorch's layout (a copy: later steps leave it alone).

        Returns:
            ``{"state": {index: {name: array or number}}, "param_groups": [group, ...]}``
            where each group holds its hyperparameters and ``"params"``, the list of
            its parameters' indices. Parameters are numbered across all groups in
            order, so the dict holds no Tensors and round-trips through ``minigrad.save``.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        params = [p for g in self.param_groups for p in g["params"]]
        state = {i: copy.deepcopy(self.state[p]) for i, p in enumerate(params)
                 if p in self.state and self.state[p]}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters and state saved by `state_dict` (to resume training).

        The optimizer must have been built over the same parameters, in the same
        groups and order. Everything is checked before anything is changed.

        Raises:
            ValueError: a different number of groups or of parameters per group, a
                hyperparameter out of range (lr NaN or negative, betas outside [0, 1)...),
                a state key that is not a parameter index, a state array of the wrong
                shape, or a negative running average of squares; the message names the field.
        """
        where = f"{self.name}.load_state_dict"
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            raise ValueError(f"{where}: expected a dict with 'state' and 'param_groups' "
                             f"(from optimizer.state_dict()), got {_describe(state_dict)}")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{where}: the checkpoint has {len(saved_groups)} parameter groups, "
                             f"this optimizer {len(self.param_groups)}")
        sizes = [len(g["params"]) for g in self.param_groups]
        saved_sizes = [len(g.get("params", ())) for g in saved_groups]
        if sizes != saved_sizes:
            raise ValueError(f"{where}: group sizes differ: checkpoint {saved_sizes}, "
                             f"this optimizer {sizes}")
        new_groups = []
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            new = dict(group)  # keys the checkpoint lacks (saved by an older version) stay
            new.update({k: tuple(v) if isinstance(v, list) else v
                        for k, v in saved.items() if k != "params"})
            new["params"] = group["params"]
            self._validate_group(new, f"param_groups[{i}]")
            new_groups.append(new)

        params = [p for g in self.param_groups for p in g["params"]]
        new_state: defaultdict = defaultdict(dict)
        for key, entries in state_dict["state"].items():
            i = _state_index(key, len(params), where)
            if not isinstance(entries, dict):
                raise ValueError(f"{where}: state[{key!r}] must be a dict, got {_describe(entries)}")
            p = params[i]
            new_state[p] = {name: self._restore(value, p, f"{where}: state[{i}][{name!r}]", name)
                            for name, value in entries.items()}
        self.param_groups[:] = new_groups
        self.state = new_state

    def _restore(self, value, p: Tensor, field: str, name: str):
        """A saved state entry on p's device (float arrays in p's dtype), checked."""
        if isinstance(value, Tensor):
            value = value._data
        if name == "step":
            step = float(np.asarray(backend.to_device(value, "cpu")) if _is_array(value) else value)
            if not (step >= 0 and step == int(step)):
                raise ValueError(f"{field} must be a whole number >= 0, got {value!r}")
            return int(step)
        if isinstance(value, (list, tuple)):
            return type(value)(self._restore(v, p, f"{field}[{j}]", "") for j, v in enumerate(value))
        if not _is_array(value):
            return value  # a number, None or a string
        array = backend.to_device(value, p.device)
        array = array.astype(p.dtype) if array.dtype.kind == "f" else array.copy()
        if name in self._elementwise_state and array.shape != p.shape:
            raise ValueError(f"{field} has shape {array.shape}, the parameter {p.shape}")
        if name in _NON_NEGATIVE_STATE and array.size and float(array.min()) < 0:
            raise ValueError(f"{field} has negative entries (min {float(array.min())}): it is a "
                             "running average of squares or magnitudes, which is never negative")
        return array

    def __repr__(self) -> str:
        lines = [f"{self.name} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(group):
                if k != "params":
                    lines.append(f"    {k}: {group[k]}")
        return "\n".join(lines) + "\n)"


# ----------------------------------------------------------------------------- helpers


def _check_range(name: str, where: str, key: str, value, ok, wanted: str) -> None:
    try:
        good = bool(ok(value)) and not (isinstance(value, float) and math.isnan(value))
    except TypeError:
        good = False
    if not good:
        raise ValueError(f"{name}: {key} must be {wanted}, got {value!r} ({where})")


def _state_index(key, n: int, where: str) -> int:
    """A state key as a parameter index in [0, n), or ValueError."""
    if isinstance(key, str) and key.isdigit():
        key = int(key)
    if isinstance(key, (bool, np.bool_)) or not isinstance(key, (int, np.integer)):
        raise ValueError(f"{where}: state key {key!r} is not a parameter index")
    if not 0 <= key < n:
        raise ValueError(f"{where}: state key {int(key)} is out of range: this optimizer has "
                         f"{n} parameters (indices 0 to {n - 1})")
    return int(key)


def _is_array(value) -> bool:
    return isinstance(value, (np.ndarray, np.generic)) or hasattr(value, "__cuda_array_interface__")


def _describe(value) -> str:
    return f"{type(value).__name__} with keys {sorted(map(str, value))}" if isinstance(value, dict) \
        else type(value).__name__


def new_state_array(value, like):
    """A fresh array holding ``value`` (an array or a NumPy scalar), shaped and typed as ``like``.

    For state that starts as a copy of the gradient: ``array.copy()`` of a NumPy
    scalar is a scalar again, which could not be updated in place.
    """
    xp = backend.get_array_module(like)
    return xp.array(value, dtype=like.dtype).reshape(like.shape)
