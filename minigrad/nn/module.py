"""Module, Parameter and the containers (Sequential, ModuleList, ModuleDict).

A `Module` is a function with state: its `Parameter` s (the
weights an optimizer trains), its *buffers* (state that is not trained, such as
BatchNorm's running statistics) and its sub-modules. Assigning one of these to
an attribute registers it, in definition order, exactly as in PyTorch::

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(784, 128)   # registered as "hidden"
            self.out = nn.Linear(128, 10)       # registered as "out"

        def forward(self, x):
            return self.out(self.hidden(x).relu())

    model.state_dict().keys()  # hidden.weight, hidden.bias, out.weight, out.bias

``state_dict()`` values are NumPy (or CuPy) **arrays**, copied from the
parameters. PyTorch returns tensors that share memory with the model, so
``best = model.state_dict()`` silently keeps changing while training goes on;
copying avoids that classic trap. ``load_state_dict`` accepts arrays, Tensors
or anything NumPy can convert (so ``{k: v.numpy() for k, v in torch_sd.items()}``
loads) and copies the values *into* the existing parameters, so an optimizer
that holds them keeps working.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict, namedtuple

import numpy as np

from minigrad import backend
from minigrad.tensor import Tensor, get_default_dtype

__all__ = ["Parameter", "Module", "Sequential", "ModuleList", "ModuleDict"]


class Parameter(Tensor):
    """A Tensor that is a trainable weight of a Module (``requires_grad=True`` by default).

    Assigning a Parameter to a Module attribute registers it, so it appears in
    ``parameters()`` and ``state_dict()``. Python floats become float32.
    """

    def __init__(self, data, requires_grad: bool = True, dtype=None, device=None):
        if isinstance(data, Tensor):
            data = data._data
        if hasattr(data, "copy"):
            data = data.copy()  # the optimizer updates it in place: never the caller's array
        if dtype is None and getattr(data, "dtype", np.dtype(float)).kind == "f":
            dtype = getattr(data, "dtype", get_default_dtype())
        super().__init__(data, requires_grad=requires_grad, dtype=dtype, device=device)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


_IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class of every layer and model: subclass it and write ``forward``.

    Calling the module (``model(x)``) calls ``forward(x)``. Parameters, buffers
    and sub-modules assigned as attributes are registered in definition order.
    """

    training: bool

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward() method")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------------ registration
    def _check_initialised(self, name):
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() is called: "
                f"add super().__init__() at the top of {type(self).__name__}.__init__"
            )

    def __setattr__(self, name, value):
        if isinstance(value, (Parameter, Module)):
            self._check_initialised(name)
            registry = self._parameters if isinstance(value, Parameter) else self._modules
            self._forget(name, keep=registry)
            registry[name] = value  # an existing name keeps its slot (dict order), as PyTorch
        elif name in self.__dict__.get("_parameters", {}):
            if value is not None:
                raise TypeError(
                    f"{type(self).__name__}.{name} is a Parameter; cannot replace it with a "
                    f"{type(value).__name__} (wrap it in nn.Parameter, or assign to ._data)"
                )
            self._parameters[name] = None
        elif name in self.__dict__.get("_buffers", {}):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"{type(self).__name__}.{name} is a buffer; assign a Tensor, "
                    f"got {type(value).__name__}"
                )
            self._buffers[name] = value
        elif name in self.__dict__.get("_modules", {}):
            if value is not None:
                raise TypeError(
                    f"{type(self).__name__}.{name} is a sub-module; cannot replace it with a "
                    f"{type(value).__name__}"
                )
            self._modules[name] = None
        else:
            _warn_if_plain_container_of_modules(self, name, value)
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        # only reached when normal lookup fails: look in the registries
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry in d and name in d[registry]:
                return d[registry][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        if not self._forget(name):
            object.__delattr__(self, name)

    def _forget(self, name, keep=None) -> bool:
        """Remove ``name`` from every registry but ``keep`` and from the instance dict.

        Returns True if it was somewhere. The registry ``keep`` (the one about to
        receive the new value) is left alone so that re-assigning
        ``model.decoder = nn.Linear(...)`` overwrites the entry in place: the new
        value keeps the old one's position in ``parameters()``, ``state_dict()``
        and ``named_modules()``, as in PyTorch (an optimizer that pairs state
        with parameters by position stays aligned).
        """
        found = False
        for registry in (self._parameters, self._buffers, self._modules):
            if registry is keep:
                found = found or name in registry
            elif name in registry:
                del registry[name]
                found = True
        self._non_persistent.discard(name)
        if name in self.__dict__:
            object.__delattr__(self, name)
            found = True
        return found

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or None: a declared but absent parameter, e.g. ``bias=False``)."""
        self._check_initialised(name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter: {name!r} must be an nn.Parameter or None, "
                f"got {type(param).__name__}"
            )
        self._forget(name, keep=self._parameters)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register state that is saved in ``state_dict`` but not trained.

        ``persistent=False`` keeps it out of ``state_dict`` (e.g. a cached mask).
        """
        self._check_initialised(name)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"register_buffer: {name!r} must be a Tensor or None, got {type(tensor).__name__}"
            )
        self._forget(name, keep=self._buffers)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register a sub-module under ``name`` (same as attribute assignment)."""
        self._check_initialised(name)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module, got {type(module).__name__}")
        self._forget(name, keep=self._modules)
        self._modules[name] = module

    register_module = add_module

    # ------------------------------------------------------------------ traversal
    def named_modules(self, prefix: str = "", memo=None):
        """Yield ``(name, module)`` for this module and every descendant, each once."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(_join(prefix, name), memo)

    def modules(self):
        """This module and every descendant."""
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        """``(name, module)`` for the direct sub-modules."""
        for name, child in self._modules.items():
            if child is not None:
                yield name, child

    def children(self):
        """The direct sub-modules."""
        for _, child in self.named_children():
            yield child

    def _named_members(self, registry: str, prefix: str, recurse: bool):
        seen = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))  # a shared (tied) weight is listed once
                yield _join(module_prefix, name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True):
        """Yield ``(name, parameter)`` with dotted names such as ``layers.0.weight``."""
        yield from self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True):
        """Every parameter of this module and its descendants (shared ones once)."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True):
        """Yield ``(name, buffer)`` with dotted names."""
        yield from self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True):
        """Every buffer of this module and its descendants."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def num_parameters(self, trainable_only: bool = False) -> int:
        """The number of scalar weights (only those with requires_grad if ``trainable_only``)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    # ------------------------------------------------------------------ modes
    def train(self, mode: bool = True) -> Module:
        """Training mode (Dropout drops, BatchNorm uses batch statistics); returns self."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Evaluation mode, ``train(False)``; returns self."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Turn gradients on or off for every parameter (to freeze layers); returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: ``p.grad = None`` (or zeros if ``set_to_none=False``)."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad._data[...] = 0

    def apply(self, fn) -> Module:
        """Call ``fn(m)`` on every sub-module, children first, then on self; returns self.

        >>> model.apply(lambda m: nn.init.zeros_(m.bias) if isinstance(m, nn.Linear) else None)
        """
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------ dtype and device
    def to(self, *args, device=None, dtype=None, non_blocking=False) -> Module:
        """Convert parameters and buffers in place and return self.

        PyTorch's forms: ``to("cuda")`` / ``to("cpu")`` moves them; ``to(minigrad.float64)``
        casts the floating point ones (integer buffers such as counters keep their dtype);
        ``to("cpu", float64)``, ``to(tensor)`` and ``to(device=..., dtype=...)`` do both.
        The Parameter objects stay the same, only their arrays change, but create
        the optimizer *after* converting: its state arrays are not converted.
        """
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif isinstance(a, str):
                device = a
            elif a is not None:
                dtype = a
        if device is not None:
            target = backend.normalize_device(str(device).split(":")[0])
            self._convert(lambda a: backend.to_device(a, target))
        if dtype is not None:
            dtype = np.dtype(dtype)
            if dtype.kind != "f":
                raise TypeError(f"Module.to: expected a floating dtype or a device, got {dtype!r}")
            self._convert(lambda a: a.astype(dtype) if a.dtype.kind == "f" else a)
        return self

    def _convert(self, convert) -> Module:
        for t in list(self.parameters()) + list(self.buffers()):
            t._data = convert(t._data)
            if t.grad is not None:
                t.grad = Tensor._wrap(convert(t.grad._data))
        return self

    def double(self) -> Module:
        """Cast floating point parameters and buffers to float64 (for gradcheck)."""
        return self.to(np.float64)

    def float(self) -> Module:
        """Cast floating point parameters and buffers to float32."""
        return self.to(np.float32)

    def cpu(self) -> Module:
        return self.to("cpu")

    def cuda(self) -> Module:
        return self.to("cuda")

    # ------------------------------------------------------------------ state
    def state_dict(self) -> OrderedDict:
        """Parameters and persistent buffers as ``name -> array`` (copies, on their device).

        Names follow PyTorch's (``features.0.weight``), so the keys of the same
        architecture match between the two libraries.
        """
        state = OrderedDict()
        for prefix, module in self.named_modules():
            for name, p in module._parameters.items():
                if p is not None:
                    state[_join(prefix, name)] = p._data.copy()
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent:
                    state[_join(prefix, name)] = b._data.copy()
        return state

    def _state_tensors(self) -> OrderedDict:
        """``name -> Tensor`` for everything ``state_dict`` would contain."""
        tensors = OrderedDict()
        for prefix, module in self.named_modules():
            for name, p in module._parameters.items():
                if p is not None:
                    tensors[_join(prefix, name)] = p
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent:
                    tensors[_join(prefix, name)] = b
        return tensors

    def load_state_dict(self, state_dict, strict: bool = True):
        """Copy ``state_dict`` values into the parameters and buffers (in place).

        Values may be arrays, Tensors or anything ``numpy.asarray`` accepts; they
        are cast to each parameter's dtype and moved to its device. Shapes must
        match. With ``strict=True`` missing and unexpected keys are errors too.
        Every problem is collected first and reported in ONE error, so nothing
        is loaded unless everything fits. Returns ``(missing_keys, unexpected_keys)``.
        """
        own = self._state_tensors()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        values = {}
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = _to_array(state_dict[key])
            if tuple(value.shape) != tuple(target.shape):
                problems.append(
                    f"  {key}: shape {tuple(value.shape)} in the checkpoint, "
                    f"{tuple(target.shape)} in the model"
                )
            else:
                values[key] = value
        if strict:
            problems += [f"  missing key: {k}" for k in missing]
            problems += [f"  unexpected key: {k}" for k in unexpected]
        if problems:
            raise RuntimeError(
                f"load_state_dict: cannot load into {type(self).__name__} "
                f"({len(problems)} problem{'s' if len(problems) > 1 else ''}):\n"
                + "\n".join(problems)
            )
        for key, value in values.items():
            target = own[key]
            target._data[...] = backend.to_device(value, target.device).astype(
                target.dtype, copy=False
            )
        return _IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ printing
    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's repr, e.g. ``in_features=3``."""
        return ""

    def _tree_repr(self) -> str:
        lines = [f"({name}): " + _indent(child._tree_repr()) for name, child in
                 self._modules.items() if child is not None]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"

    def __repr__(self) -> str:
        total = self.num_parameters()
        trainable = self.num_parameters(trainable_only=True)
        tree = self._tree_repr()
        if total == 0:
            return tree
        return f"{tree}\nparameters: {total:,} total, {trainable:,} trainable"

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _indent(text: str) -> str:
    return text.replace("\n", "\n  ")


def _to_array(value):
    if isinstance(value, Tensor):
        return value._data
    if backend.get_array_module(value) is not np:  # a CuPy array stays on its device
        return value
    return np.asarray(value)


def _warn_if_plain_container_of_modules(owner, name, value):
    """A Python list of layers is invisible to parameters(): say so instead of failing silently."""
    items = value.values() if isinstance(value, dict) else value
    if isinstance(value, (list, tuple, dict)) and any(isinstance(v, Module) for v in items):
        kind = "ModuleDict" if isinstance(value, dict) else "ModuleList"
        warnings.warn(
            f"{type(owner).__name__}.{name} is a plain {type(value).__name__} of Modules: their "
            f"parameters are NOT registered (the optimizer will not see them); use nn.{kind}",
            stacklevel=3,
        )


# ============================================================================ containers


class Sequential(Module):
    """Modules applied one after another: ``Sequential(Linear(4, 8), ReLU(), Linear(8, 1))``.

    Sub-modules are named ``0, 1, 2, ...`` (or by the keys of an OrderedDict).
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, index):
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        return items[index][1]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self)), module)
        return self


class ModuleList(Module):
    """A list of modules whose parameters are registered (a plain list's are not).

    Named ``0, 1, 2, ...``; it has no forward: iterate over it in yours.
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _items(self):
        return list(self._modules.values())

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ModuleList(self._items()[index])
        return self._items()[index]

    def __setitem__(self, index: int, module: Module) -> None:
        self.add_module(list(self._modules)[index], module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._items())

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules) -> ModuleList:
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        items = self._items()
        items.insert(index, module)
        self._modules.clear()
        self.extend(items)


class ModuleDict(Module):
    """A dict of modules whose parameters are registered, in insertion order."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key) -> bool:
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def update(self, modules) -> None:
        items = modules.items() if hasattr(modules, "items") else modules
        for key, m in items:
            self.add_module(key, m)
