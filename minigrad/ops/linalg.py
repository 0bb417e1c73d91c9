"""Matrix multiplication."""

from __future__ import annotations

from minigrad import dispatch
from minigrad.ops._util import lift_pair
from minigrad.tensor import Function, Tensor, unbroadcast


class MatMul(Function):
    """Y = A B (batched over leading dims, which broadcast).

    dA = G Bᵀ,  dB = Aᵀ G — each the product that has the right shape. A 1-D
    operand is treated as a row (left) or column (right) vector, as in NumPy,
    and the batch dims a broadcast added are summed away with ``unbroadcast``.
    """

    def forward(self, a, b):
        self.a, self.b = a, b
        return dispatch.matmul(a, b)  # a Triton GEMM on the GPU, BLAS on the CPU

    def backward(self, g):
        a, b = self.a, self.b
        # view vectors as matrices so one pair of formulas covers every case
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if b.ndim == 1:  # restore the dropped column axis, then the dropped row axis
            g = g[..., None]
        if a.ndim == 1:
            g = g[..., None, :]
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = unbroadcast(dispatch.matmul(g, b2.swapaxes(-1, -2)), a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            gb = unbroadcast(dispatch.matmul(a2.swapaxes(-1, -2), g), b2.shape).reshape(b.shape)
        return ga, gb


def matmul(a, b) -> Tensor:
    """Matrix product ``a @ b`` with NumPy's rules (1-D vectors, broadcast batch dims)."""
    a, b = lift_pair(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both operands need at least 1 dim, got shapes {a.shape} and {b.shape}")
    inner_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if a.shape[-1] != inner_b:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} are not aligned")
    return MatMul.apply(a, b)


__all__ = ["matmul"]
