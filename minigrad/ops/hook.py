"""A gradient hook as an op: identity forward, the gradient handed to a callback in backward.

``DistributedDataParallel`` wraps each parameter ``p`` in it for one forward: the
engine calls its backward exactly once, when ``p``'s gradient is complete (every
consumer has added its share), which is when the gradient can start travelling.
"""

from __future__ import annotations

from minigrad.tensor import Function, Tensor

__all__ = ["gradient_hook"]


class GradientHook(Function):
    r"""y = x (a view); backward calls ``callback(g)`` with $g = \partial L/\partial y$ and
    passes nothing further back (the callback takes over, e.g. writes ``x.grad`` itself)."""

    def forward(self, x, callback):
        self.callback = callback
        return x.view()  # a view: in-place writes to x stay visible (shared version counter)

    def backward(self, g):
        self.callback(g)
        return None


def gradient_hook(x: Tensor, callback) -> Tensor:
    """``x`` unchanged, with ``callback(gradient_array)`` called once when backward reaches it."""
    return GradientHook.apply(x, callback=callback)
