"""``minigrad.autograd``: PyTorch's autograd API on minigrad's engine.

* `Function` — a custom op written as PyTorch writes it (static
  ``forward(ctx, ...)`` / ``backward(ctx, ...)`` on Tensors, ``ctx.save_for_backward``),
  run by the engine's own ``Function`` of ``minigrad/tensor.py``.
* `grad` — gradients of outputs with respect to chosen inputs, returned
  instead of added into ``.grad``.
* `backward` — ``minigrad.autograd.backward(tensors, grad_tensors)``.

>>> class Square(minigrad.autograd.Function):
...     @staticmethod
...     def forward(ctx, x):
...         ctx.save_for_backward(x)
...         return x * x
...     @staticmethod
...     def backward(ctx, g):
...         (x,) = ctx.saved_tensors
...         return 2 * x * g
>>> y = Square.apply(minigrad.tensor([3.0], requires_grad=True))
"""

from __future__ import annotations

from minigrad.tensor import Function as _EngineFunction
from minigrad.tensor import Tensor, _run_backward, enable_grad, no_grad, set_grad_enabled

__all__ = ["Function", "FunctionCtx", "grad", "backward", "no_grad", "enable_grad", "set_grad_enabled"]


class FunctionCtx:
    """The ``ctx`` handed to a custom Function's ``forward`` and ``backward``."""

    def __init__(self):
        self.saved_tensors = ()
        self.needs_input_grad = ()
        self.non_differentiable = set()
        self.materialize_grads = True

    def save_for_backward(self, *tensors) -> None:
        """Keep tensors for ``backward`` (read them back as ``ctx.saved_tensors``)."""
        self.saved_tensors = tuple(tensors)

    def mark_non_differentiable(self, *tensors) -> None:
        """Outputs that carry no gradient (e.g. indices); they come out with requires_grad False."""
        self.non_differentiable.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors) -> None:
        """Accepted for compatibility; minigrad's custom Functions should not write inputs in place."""

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)


class _CustomNode(_EngineFunction):
    """The engine node standing for one call of a user's `Function`.

    Its ``forward`` has already run (the user's code, on Tensors, under ``no_grad``);
    ``backward`` calls the user's ``backward`` on Tensors and hands arrays back.
    """

    def forward(self, *arrays, output, user_fn, ctx):
        self.user_fn, self.ctx = user_fn, ctx
        return output

    @property
    def name(self) -> str:
        return f"{self.user_fn.__name__}Backward"

    def backward(self, g):
        with no_grad():
            grads = self.user_fn.backward(self.ctx, Tensor._wrap(g))
        if not isinstance(grads, tuple):
            grads = (grads,)
        n = len(self.inputs)
        if len(grads) < n:
            raise RuntimeError(
                f"{self.user_fn.__name__}.backward returned {len(grads)} gradient(s), expected "
                f"one per tensor input of forward ({n})"
            )
        return tuple(None if gx is None else gx._data if isinstance(gx, Tensor) else gx
                     for gx in grads[:n])


class Function:
    """Base class for custom differentiable ops in PyTorch's form.

    Subclass it with two static methods: ``forward(ctx, *args)`` computes the
    output from Tensors (no graph is recorded inside), ``backward(ctx, *grad_outputs)``
    returns one gradient per argument of ``forward`` (``None`` for non-tensors or
    inputs that need none). Call it with ``MyFunction.apply(*args)``.

    minigrad's engine ops have one output each, so a custom Function returns one
    Tensor (further outputs may be returned only if marked non-differentiable).
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grad_outputs):  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = FunctionCtx()
        tensor_args = [a for a in args if isinstance(a, Tensor)]
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with no_grad():
            result = cls.forward(ctx, *args, **kwargs)
        outputs = result if isinstance(result, tuple) else (result,)
        differentiable = [o for o in outputs if isinstance(o, Tensor) and id(o) not in ctx.non_differentiable]
        if len(differentiable) > 1:
            raise NotImplementedError(
                f"{cls.__name__}: minigrad's custom Functions have one differentiable output; "
                "mark the others with ctx.mark_non_differentiable(...)"
            )
        if not differentiable:
            return result
        out = differentiable[0]
        backward = cls._backward_in_arg_order(positions, len(args))
        node_out = _CustomNode.apply(
            *tensor_args, output=out._data, user_fn=backward, ctx=ctx
        )
        return tuple(node_out if o is out else o for o in outputs) if isinstance(result, tuple) else node_out

    @classmethod
    def _backward_in_arg_order(cls, positions, n_args):
        """The user's backward returns one gradient per forward argument; the engine node
        has only the tensor arguments as inputs, so keep the gradients at their positions."""

        class _Adapter:
            __name__ = cls.__name__

            @staticmethod
            def backward(ctx, g):
                grads = cls.backward(ctx, g)
                if not isinstance(grads, tuple):
                    grads = (grads,)
                if len(grads) != n_args:
                    raise RuntimeError(
                        f"{cls.__name__}.backward returned {len(grads)} gradient(s), expected {n_args} "
                        "(one per argument of forward, None for non-tensors)"
                    )
                return tuple(grads[i] for i in positions)

        return _Adapter


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=None, materialize_grads=False):
    """The gradients of ``outputs`` with respect to ``inputs``, returned as a tuple.

    Unlike ``backward()``, nothing is added into any ``.grad``. ``grad_outputs`` are
    $\\partial L/\\partial\\,\\text{outputs}$ (ones for one-element outputs when omitted).
    An input the outputs do not depend on raises, unless ``allow_unused=True`` (then
    its gradient is None, or zeros with ``materialize_grads=True``).
    """
    if create_graph:
        raise NotImplementedError("grad: create_graph=True (higher-order gradients) is not supported")
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    roots = []
    for out, g in zip(outputs, grad_outputs):
        if not out.requires_grad:
            raise RuntimeError("grad: element 0 of tensors does not require grad and does not have a grad_fn")
        roots.append((out, out._seed_gradient(g, "grad")))
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError(f"grad: an input of shape {t.shape} does not require grad")
    capture = {id(t): None for t in inputs}
    _run_backward(roots, bool(retain_graph), capture=capture)
    results = []
    for t in inputs:
        g = capture[id(t)]
        if g is None:
            if not (allow_unused or materialize_grads):
                raise RuntimeError(
                    f"grad: one of the differentiated tensors (shape {t.shape}) appears to not have "
                    "been used in the graph; set allow_unused=True if this is the desired behavior"
                )
            results.append(Tensor._wrap(t._data * 0) if materialize_grads else None)
        else:
            results.append(Tensor._wrap(g))
    return tuple(results)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None) -> None:
    """``backward()`` of several tensors at once, their gradients summed into the leaves."""
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is None:
        grad_tensors = [None] * len(tensors)
    elif isinstance(grad_tensors, Tensor):
        grad_tensors = [grad_tensors]
    if create_graph:
        raise NotImplementedError("backward: create_graph=True is not supported")
    roots = [(t, t._seed_gradient(g, "backward")) for t, g in zip(tensors, grad_tensors)]
    only = None if inputs is None else [inputs] if isinstance(inputs, Tensor) else list(inputs)
    _run_backward(roots, bool(retain_graph), accumulate_into=only)
