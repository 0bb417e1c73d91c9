"""The Optimizer base class: parameter groups, zero_grad, state_dict.

An optimizer holds *parameter groups*: lists of parameters that share
hyperparameters (e.g. no weight decay on biases, a smaller lr for a pretrained
backbone)::

    opt = optim.SGD([
        {"params": model.backbone.parameters(), "lr": 1e-3},
        {"params": model.head.parameters()},          # uses the default lr below
    ], lr=1e-2, momentum=0.9)

``step()`` updates every parameter that has a gradient, in place on its array
(``p.data``), with plain array math: no graph is recorded. Per-parameter state
(momentum buffers, Adam's moments) lives in ``opt.state[p]`` as arrays.
"""

from __future__ import annotations

import copy

import numpy as np

from minigrad import backend
from minigrad.tensor import Tensor, enable_grad

__all__ = ["Optimizer"]


class Optimizer:
    """Base class: subclasses set ``defaults`` and implement ``_update(p, grad, state, group)``."""

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.state: dict = {}
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

    def add_param_group(self, group: dict) -> None:
        """Add a group of parameters, with hyperparameters overriding the defaults."""
        group = dict(group)
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{self.name}: expected Tensors, got {type(p).__name__}")
            if id(p) in seen:
                raise ValueError(f"{self.name}: a parameter of shape {p.shape} appears twice")
            seen.add(id(p))
        group["params"] = params
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._check_hyperparameters(group)
        self.param_groups.append(group)

    def _check_hyperparameters(self, group: dict) -> None:
        for key in ("lr", "weight_decay", "momentum", "eps"):
            if key in group and group[key] < 0:
                raise ValueError(f"{self.name}: {key} must be >= 0, got {group[key]}")

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: ``p.grad = None`` (or zeros in place if ``set_to_none=False``)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad.data[...] = 0

    def step(self, closure=None):
        """Update every parameter that has a gradient; ``closure`` re-computes the loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state.setdefault(p, {})
                self._update(p, p.grad.data, state, group)
        return loss

    def _update(self, p: Tensor, grad, state: dict, group: dict) -> None:  # pragma: no cover
        raise NotImplementedError

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        """``{"state": {index: {name: array or number}}, "param_groups": [...]}`` as PyTorch.

        Parameters are referred to by their index across all groups (in order), so
        the dict holds no Tensors and round-trips through ``minigrad.save``.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            saved = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            saved["params"] = []
            for p in group["params"]:
                index[id(p)] = len(index)
                saved["params"].append(index[id(p)])
            groups.append(saved)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state and self.state[p]:
                    state[index[id(p)]] = {
                        k: v.copy() if hasattr(v, "copy") else v for k, v in self.state[p].items()
                    }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters and state saved by :meth:`state_dict` (to resume training).

        The optimizer must have been built over the same parameters in the same order.
        """
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{self.name}.load_state_dict: the checkpoint has {len(saved_groups)} parameter "
                f"groups, this optimizer {len(self.param_groups)}"
            )
        sizes = [len(g["params"]) for g in self.param_groups]
        saved_sizes = [len(g["params"]) for g in saved_groups]
        if sizes != saved_sizes:
            raise ValueError(
                f"{self.name}.load_state_dict: group sizes differ: checkpoint {saved_sizes}, "
                f"this optimizer {sizes}"
            )
        params = [p for g in self.param_groups for p in g["params"]]
        new_state = {}
        for key, entries in state_dict["state"].items():
            p = params[int(key)]
            new_state[p] = {name: _restore(value, p, name) for name, value in entries.items()}
            for name, value in new_state[p].items():
                if hasattr(value, "shape") and value.ndim and value.shape != p.shape:
                    raise ValueError(
                        f"{self.name}.load_state_dict: state {name!r} of parameter {key} has "
                        f"shape {value.shape}, the parameter {p.shape}"
                    )
        for group, saved in zip(self.param_groups, saved_groups):
            for k, v in saved.items():
                if k != "params":
                    group[k] = tuple(v) if isinstance(v, list) else v
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{self.name} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(group):
                if k != "params":
                    lines.append(f"    {k}: {group[k]}")
        return "\n".join(lines) + "\n)"


def _restore(value, p: Tensor, name: str):
    """A saved state entry as an array on p's device (floats in p's dtype), or a number."""
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, (int, float)) or (np.ndim(value) == 0 and name == "step"):
        return int(value) if name == "step" else value
    array = backend.to_device(value, p.device)
    return array.astype(p.dtype) if array.dtype.kind == "f" else array.copy()
