"""Tensor's method form of every op: ``x.sum(dim=1)`` is ``minigrad.ops.reduce.sum(x, dim=1)``.

Each method is one line that names the function it calls, so "go to definition" on
``x.sum`` lands here and one more jump lands on the op, its Function, its forward and
its backward. `Tensor` inherits these methods; the engine
itself (graph, backward pass, in-place rules) stays in ``minigrad/tensor.py``.

The signatures are the ops' own (``tests/test_tensor.py`` checks that each method
matches its function's signature and that every op with a method form has one).
"""

from __future__ import annotations

import importlib


class _OpFamilies:
    """``_ops.reduce`` is the module ``minigrad.ops.reduce``, imported on first use (the ops
    import Tensor, so they cannot be imported before it; and the package attribute
    ``minigrad.ops.sort`` is the function ``sort``, not its module)."""

    def __getattr__(self, family: str):
        module = importlib.import_module(f"minigrad.ops.{family}")
        setattr(self, family, module)
        return module


_ops = _OpFamilies()


class TensorMethods:
    """The method form of the ops (a base class of ``Tensor``)."""

    __slots__ = ()


    # ---- elementwise math, comparison and logic (minigrad/ops/elementwise.py)
    def exp(self):
        return _ops.elementwise.exp(self)
    def log(self):
        return _ops.elementwise.log(self)
    def sqrt(self):
        return _ops.elementwise.sqrt(self)
    def abs(self):
        return _ops.elementwise.abs(self)
    def tanh(self):
        return _ops.elementwise.tanh(self)
    def sigmoid(self):
        return _ops.elementwise.sigmoid(self)
    def relu(self, inplace=False):
        return _ops.elementwise.relu(self, inplace)
    def clip(self, min=None, max=None):
        return _ops.elementwise.clip(self, min, max)
    def clamp(self, min=None, max=None):
        return _ops.elementwise.clip(self, min, max)
    def maximum(self, other):
        return _ops.elementwise.maximum(self, other)
    def minimum(self, other):
        return _ops.elementwise.minimum(self, other)
    def pow(self, exponent):
        return _ops.elementwise.pow(self, exponent)
    def add(self, other, *, alpha=1):
        return _ops.elementwise.add(self, other, alpha=alpha)
    def sub(self, other, *, alpha=1):
        return _ops.elementwise.sub(self, other, alpha=alpha)
    def mul(self, other):
        return _ops.elementwise.mul(self, other)
    def div(self, other, *, rounding_mode=None):
        return _ops.elementwise.div(self, other, rounding_mode=rounding_mode)
    def neg(self):
        return _ops.elementwise.neg(self)
    def sin(self):
        return _ops.elementwise.sin(self)
    def cos(self):
        return _ops.elementwise.cos(self)
    def tan(self):
        return _ops.elementwise.tan(self)
    def asin(self):
        return _ops.elementwise.asin(self)
    def acos(self):
        return _ops.elementwise.acos(self)
    def atan(self):
        return _ops.elementwise.atan(self)
    def arcsin(self):
        return _ops.elementwise.asin(self)
    def arccos(self):
        return _ops.elementwise.acos(self)
    def arctan(self):
        return _ops.elementwise.atan(self)
    def sinh(self):
        return _ops.elementwise.sinh(self)
    def cosh(self):
        return _ops.elementwise.cosh(self)
    def asinh(self):
        return _ops.elementwise.asinh(self)
    def acosh(self):
        return _ops.elementwise.acosh(self)
    def atanh(self):
        return _ops.elementwise.atanh(self)
    def arcsinh(self):
        return _ops.elementwise.asinh(self)
    def arccosh(self):
        return _ops.elementwise.acosh(self)
    def arctanh(self):
        return _ops.elementwise.atanh(self)
    def log2(self):
        return _ops.elementwise.log2(self)
    def log10(self):
        return _ops.elementwise.log10(self)
    def log1p(self):
        return _ops.elementwise.log1p(self)
    def exp2(self):
        return _ops.elementwise.exp2(self)
    def expm1(self):
        return _ops.elementwise.expm1(self)
    def rsqrt(self):
        return _ops.elementwise.rsqrt(self)
    def reciprocal(self):
        return _ops.elementwise.reciprocal(self)
    def square(self):
        return _ops.elementwise.square(self)
    def erf(self):
        return _ops.elementwise.erf(self)
    def erfc(self):
        return _ops.elementwise.erfc(self)
    def erfinv(self):
        return _ops.elementwise.erfinv(self)
    def atan2(self, other):
        return _ops.elementwise.atan2(self, other)
    def arctan2(self, other):
        return _ops.elementwise.atan2(self, other)
    def logaddexp(self, other):
        return _ops.elementwise.logaddexp(self, other)
    def logaddexp2(self, other):
        return _ops.elementwise.logaddexp2(self, other)
    def hypot(self, other):
        return _ops.elementwise.hypot(self, other)
    def lerp(self, end, weight):
        return _ops.elementwise.lerp(self, end, weight)
    def remainder(self, other):
        return _ops.elementwise.remainder(self, other)
    def fmod(self, other):
        return _ops.elementwise.fmod(self, other)
    def floor_divide(self, other):
        return _ops.elementwise.floor_divide(self, other)
    def floor(self):
        return _ops.elementwise.floor(self)
    def ceil(self):
        return _ops.elementwise.ceil(self)
    def round(self, *, decimals=0):
        return _ops.elementwise.round(self, decimals=decimals)
    def trunc(self):
        return _ops.elementwise.trunc(self)
    def fix(self):
        return _ops.elementwise.trunc(self)
    def sign(self):
        return _ops.elementwise.sign(self)
    def sgn(self):
        return _ops.elementwise.sign(self)
    def frac(self):
        return _ops.elementwise.frac(self)
    def positive(self):
        return _ops.elementwise.positive(self)
    def fmax(self, other):
        return _ops.elementwise.fmax(self, other)
    def fmin(self, other):
        return _ops.elementwise.fmin(self, other)
    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        return _ops.elementwise.nan_to_num(self, nan, posinf, neginf)
    def isnan(self):
        return _ops.elementwise.isnan(self)
    def isinf(self):
        return _ops.elementwise.isinf(self)
    def isposinf(self):
        return _ops.elementwise.isposinf(self)
    def isneginf(self):
        return _ops.elementwise.isneginf(self)
    def isfinite(self):
        return _ops.elementwise.isfinite(self)
    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return _ops.elementwise.isclose(self, other, rtol, atol, equal_nan)
    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return _ops.elementwise.allclose(self, other, rtol, atol, equal_nan)
    def equal(self, other):
        return _ops.elementwise.equal(self, other)
    def any(self, dim=None, keepdim=False):
        return _ops.elementwise.any(self, dim, keepdim)
    def all(self, dim=None, keepdim=False):
        return _ops.elementwise.all(self, dim, keepdim)
    def logical_and(self, other):
        return _ops.elementwise.logical_and(self, other)
    def logical_or(self, other):
        return _ops.elementwise.logical_or(self, other)
    def logical_xor(self, other):
        return _ops.elementwise.logical_xor(self, other)
    def logical_not(self):
        return _ops.elementwise.logical_not(self)
    def bitwise_and(self, other):
        return _ops.elementwise.bitwise_and(self, other)
    def bitwise_or(self, other):
        return _ops.elementwise.bitwise_or(self, other)
    def bitwise_xor(self, other):
        return _ops.elementwise.bitwise_xor(self, other)
    def bitwise_not(self):
        return _ops.elementwise.bitwise_not(self)
    def bitwise_left_shift(self, other):
        return _ops.elementwise.bitwise_left_shift(self, other)
    def bitwise_right_shift(self, other):
        return _ops.elementwise.bitwise_right_shift(self, other)

    # ---- reductions and the softmax family (minigrad/ops/reduce.py)
    def sum(self, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=False):
        return _ops.reduce.sum(self, dim, keepdim, dtype=dtype, axis=axis, keepdims=keepdims)
    def mean(self, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=False):
        return _ops.reduce.mean(self, dim, keepdim, dtype=dtype, axis=axis, keepdims=keepdims)
    def var(self, dim=None, keepdim=False, *, unbiased=None, correction=None, axis=None, keepdims=False):
        return _ops.reduce.var(self, dim, keepdim, unbiased=unbiased, correction=correction, axis=axis,
            keepdims=keepdims)
    def std(self, dim=None, keepdim=False, *, unbiased=None, correction=None, axis=None, keepdims=False):
        return _ops.reduce.std(self, dim, keepdim, unbiased=unbiased, correction=correction, axis=axis,
            keepdims=keepdims)
    def max(self, dim=None, keepdim=False, *, other=None):
        return _ops.reduce.max(self, dim, keepdim, other=other)
    def min(self, dim=None, keepdim=False, *, other=None):
        return _ops.reduce.min(self, dim, keepdim, other=other)
    def amax(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        return _ops.reduce.amax(self, dim, keepdim, axis=axis, keepdims=keepdims)
    def amin(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        return _ops.reduce.amin(self, dim, keepdim, axis=axis, keepdims=keepdims)
    def argmax(self, dim=None, keepdim=False):
        return _ops.reduce.argmax(self, dim, keepdim)
    def argmin(self, dim=None, keepdim=False):
        return _ops.reduce.argmin(self, dim, keepdim)
    def logsumexp(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        return _ops.reduce.logsumexp(self, dim, keepdim, axis=axis, keepdims=keepdims)
    def softmax(self, dim=None, *, dtype=None, axis=None):
        return _ops.reduce.softmax(self, dim, dtype=dtype, axis=axis)
    def log_softmax(self, dim=None, *, dtype=None, axis=None):
        return _ops.reduce.log_softmax(self, dim, dtype=dtype, axis=axis)

    # ---- shape ops (minigrad/ops/shape.py)
    def reshape(self, *shape):
        return _ops.shape.reshape(self, *shape)
    def view(self, *shape):
        return _ops.shape.reshape(self, *shape)
    def flatten(self, start_dim=0, end_dim=-1):
        return _ops.shape.flatten(self, start_dim, end_dim)
    def permute(self, *dims):
        return _ops.shape.permute(self, *dims)
    def transpose(self, dim0=-2, dim1=-1):
        return _ops.shape.transpose(self, dim0, dim1)
    def unsqueeze(self, dim):
        return _ops.shape.unsqueeze(self, dim)
    def squeeze(self, dim=None):
        return _ops.shape.squeeze(self, dim)
    def broadcast_to(self, *shape):
        return _ops.shape.broadcast_to(self, *shape)
    def expand(self, *sizes):
        return _ops.shape.expand(self, *sizes)
    def split(self, split_size_or_sections, dim=0):
        return _ops.shape.split(self, split_size_or_sections, dim)
    def chunk(self, chunks, dim=0):
        return _ops.shape.chunk(self, chunks, dim)
    def flip(self, *dims):
        return _ops.shape.flip(self, *dims)
    def fliplr(self):
        return _ops.shape.fliplr(self)
    def flipud(self):
        return _ops.shape.flipud(self)
    def roll(self, shifts, dims=None):
        return _ops.shape.roll(self, shifts, dims)
    def rot90(self, k=1, dims=(0, 1)):
        return _ops.shape.rot90(self, k, dims)
    def movedim(self, source, destination):
        return _ops.shape.movedim(self, source, destination)
    def moveaxis(self, source, destination):
        return _ops.shape.movedim(self, source, destination)
    def swapaxes(self, axis0, axis1):
        return _ops.shape.swapaxes(self, axis0, axis1)
    def swapdims(self, axis0, axis1):
        return _ops.shape.swapaxes(self, axis0, axis1)
    def unflatten(self, dim, sizes):
        return _ops.shape.unflatten(self, dim, sizes)
    def repeat(self, *sizes):
        return _ops.shape.repeat(self, *sizes)
    def tile(self, *dims):
        return _ops.shape.tile(self, *dims)
    def repeat_interleave(self, repeats=None, dim=None, *, output_size=None):
        return _ops.shape.repeat_interleave(self, repeats, dim, output_size=output_size)
    def tril(self, diagonal=0):
        return _ops.shape.tril(self, diagonal)
    def triu(self, diagonal=0):
        return _ops.shape.triu(self, diagonal)
    def diagonal(self, offset=0, dim1=0, dim2=1):
        return _ops.shape.diagonal(self, offset, dim1, dim2)
    def diag_embed(self, offset=0, dim1=-2, dim2=-1):
        return _ops.shape.diag_embed(self, offset, dim1, dim2)
    def diag(self, diagonal=0):
        return _ops.shape.diag(self, diagonal)
    def trace(self):
        return _ops.shape.trace(self)
    def unfold(self, dimension, size, step):
        return _ops.shape.unfold(self, dimension, size, step)

    # ---- linear algebra (minigrad/ops/linalg.py)
    def matmul(self, other):
        return _ops.linalg.matmul(self, other)
    def dot(self, tensor):
        return _ops.linalg.dot(self, tensor)
    def vdot(self, tensor):
        return _ops.linalg.dot(self, tensor)
    def inner(self, other):
        return _ops.linalg.inner(self, other)
    def outer(self, vec2):
        return _ops.linalg.outer(self, vec2)
    def ger(self, vec2):
        return _ops.linalg.outer(self, vec2)
    def mv(self, vec):
        return _ops.linalg.mv(self, vec)
    def kron(self, other):
        return _ops.linalg.kron(self, other)
    def cross(self, other, dim=None):
        return _ops.linalg.cross(self, other, dim)
    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        return _ops.linalg.addmm(self, mat1, mat2, beta=beta, alpha=alpha)
    def addmv(self, mat, vec, *, beta=1, alpha=1):
        return _ops.linalg.addmv(self, mat, vec, beta=beta, alpha=alpha)
    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return _ops.linalg.baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)
    def addbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return _ops.linalg.addbmm(self, batch1, batch2, beta=beta, alpha=alpha)
    def norm(self, p='fro', dim=None, keepdim=False, dtype=None):
        return _ops.linalg.norm(self, p, dim, keepdim, dtype)

    # ---- writing values (minigrad/ops/assign.py)
    def masked_fill(self, mask, value):
        return _ops.assign.masked_fill(self, mask, value)

    # ---- gather, scatter and index ops (minigrad/ops/index.py)
    def gather(self, dim, index, *, sparse_grad=False):
        return _ops.index.gather(self, dim, index, sparse_grad=sparse_grad)
    def scatter(self, dim, index, src=None, *, value=None, reduce=None):
        return _ops.index.scatter(self, dim, index, src, value=value, reduce=reduce)
    def scatter_add(self, dim, index, src):
        return _ops.index.scatter_add(self, dim, index, src)
    def scatter_reduce(self, dim, index, src, reduce, *, include_self=True):
        return _ops.index.scatter_reduce(self, dim, index, src, reduce, include_self=include_self)
    def take(self, index):
        return _ops.index.take(self, index)
    def take_along_dim(self, indices, dim=None):
        return _ops.index.take_along_dim(self, indices, dim)
    def index_select(self, dim, index):
        return _ops.index.index_select(self, dim, index)
    def index_add(self, dim, index, source, *, alpha=1):
        return _ops.index.index_add(self, dim, index, source, alpha=alpha)
    def index_copy(self, dim, index, source):
        return _ops.index.index_copy(self, dim, index, source)
    def index_fill(self, dim, index, value):
        return _ops.index.index_fill(self, dim, index, value)
    def masked_select(self, mask):
        return _ops.index.masked_select(self, mask)
    def masked_scatter(self, mask, source):
        return _ops.index.masked_scatter(self, mask, source)
    def nonzero(self, *, as_tuple=False):
        return _ops.index.nonzero(self, as_tuple=as_tuple)
    def argwhere(self):
        return _ops.index.argwhere(self)
    def count_nonzero(self, dim=None):
        return _ops.index.count_nonzero(self, dim)

    # ---- scans and products (minigrad/ops/scan.py)
    def cumsum(self, dim=None, *, dtype=None):
        return _ops.scan.cumsum(self, dim, dtype=dtype)
    def cumprod(self, dim=None, *, dtype=None):
        return _ops.scan.cumprod(self, dim, dtype=dtype)
    def cummax(self, dim):
        return _ops.scan.cummax(self, dim)
    def cummin(self, dim):
        return _ops.scan.cummin(self, dim)
    def logcumsumexp(self, dim):
        return _ops.scan.logcumsumexp(self, dim)
    def prod(self, dim=None, keepdim=False, *, dtype=None):
        return _ops.scan.prod(self, dim, keepdim, dtype=dtype)
    def nansum(self, dim=None, keepdim=False, *, dtype=None):
        return _ops.scan.nansum(self, dim, keepdim, dtype=dtype)
    def nanmean(self, dim=None, keepdim=False, *, dtype=None):
        return _ops.scan.nanmean(self, dim, keepdim, dtype=dtype)

    # ---- sorting and order statistics (minigrad/ops/sort.py)
    def sort(self, dim=-1, descending=False, *, stable=False):
        return _ops.sort.sort(self, dim, descending, stable=stable)
    def argsort(self, dim=-1, descending=False, *, stable=False):
        return _ops.sort.argsort(self, dim, descending, stable=stable)
    def msort(self):
        return _ops.sort.msort(self)
    def topk(self, k, dim=-1, largest=True, sorted=True):
        return _ops.sort.topk(self, k, dim, largest, sorted)
    def kthvalue(self, k, dim=-1, keepdim=False):
        return _ops.sort.kthvalue(self, k, dim, keepdim)
    def median(self, dim=None, keepdim=False):
        return _ops.sort.median(self, dim, keepdim)
    def nanmedian(self, dim=None, keepdim=False):
        return _ops.sort.nanmedian(self, dim, keepdim)
    def mode(self, dim=-1, keepdim=False):
        return _ops.sort.mode(self, dim, keepdim)
    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        return _ops.sort.unique(self, sorted, return_inverse, return_counts, dim)

    # ---- activations (minigrad/ops/activation.py)
    def prelu(self, weight):
        return _ops.activation.prelu(self, weight)
    def hardshrink(self, lambd=0.5):
        return _ops.activation.hardshrink(self, lambd)

    # ---- in place, through Tensor._inplace
    def sin_(self):
        return self._inplace(_ops.elementwise.sin)
    def cos_(self):
        return self._inplace(_ops.elementwise.cos)
    def tan_(self):
        return self._inplace(_ops.elementwise.tan)
    def asin_(self):
        return self._inplace(_ops.elementwise.asin)
    def acos_(self):
        return self._inplace(_ops.elementwise.acos)
    def atan_(self):
        return self._inplace(_ops.elementwise.atan)
    def sinh_(self):
        return self._inplace(_ops.elementwise.sinh)
    def cosh_(self):
        return self._inplace(_ops.elementwise.cosh)
    def asinh_(self):
        return self._inplace(_ops.elementwise.asinh)
    def acosh_(self):
        return self._inplace(_ops.elementwise.acosh)
    def atanh_(self):
        return self._inplace(_ops.elementwise.atanh)
    def log2_(self):
        return self._inplace(_ops.elementwise.log2)
    def log10_(self):
        return self._inplace(_ops.elementwise.log10)
    def log1p_(self):
        return self._inplace(_ops.elementwise.log1p)
    def exp2_(self):
        return self._inplace(_ops.elementwise.exp2)
    def expm1_(self):
        return self._inplace(_ops.elementwise.expm1)
    def rsqrt_(self):
        return self._inplace(_ops.elementwise.rsqrt)
    def reciprocal_(self):
        return self._inplace(_ops.elementwise.reciprocal)
    def square_(self):
        return self._inplace(_ops.elementwise.square)
    def erf_(self):
        return self._inplace(_ops.elementwise.erf)
    def erfc_(self):
        return self._inplace(_ops.elementwise.erfc)
    def erfinv_(self):
        return self._inplace(_ops.elementwise.erfinv)
    def atan2_(self, other):
        return self._inplace(_ops.elementwise.atan2, other)
    def lerp_(self, end, weight):
        return self._inplace(_ops.elementwise.lerp, end, weight)
    def remainder_(self, other):
        return self._inplace(_ops.elementwise.remainder, other)
    def fmod_(self, other):
        return self._inplace(_ops.elementwise.fmod, other)
    def floor_divide_(self, other):
        return self._inplace(_ops.elementwise.floor_divide, other)
    def floor_(self):
        return self._inplace(_ops.elementwise.floor)
    def ceil_(self):
        return self._inplace(_ops.elementwise.ceil)
    def round_(self, *, decimals=0):
        return self._inplace(_ops.elementwise.round, decimals=decimals)
    def trunc_(self):
        return self._inplace(_ops.elementwise.trunc)
    def sign_(self):
        return self._inplace(_ops.elementwise.sign)
    def frac_(self):
        return self._inplace(_ops.elementwise.frac)
    def hypot_(self, other):
        return self._inplace(_ops.elementwise.hypot, other)
    def nan_to_num_(self, nan=0.0, posinf=None, neginf=None):
        return self._inplace(_ops.elementwise.nan_to_num, nan, posinf, neginf)
    def logical_not_(self):
        return self._inplace(_ops.elementwise.logical_not)
    def bitwise_not_(self):
        return self._inplace(_ops.elementwise.bitwise_not)
    def bitwise_and_(self, other):
        return self._inplace(_ops.elementwise.bitwise_and, other)
    def bitwise_or_(self, other):
        return self._inplace(_ops.elementwise.bitwise_or, other)
    def bitwise_xor_(self, other):
        return self._inplace(_ops.elementwise.bitwise_xor, other)
    def gather_(self, dim, index, *, sparse_grad=False):
        return self._inplace(_ops.index.gather, dim, index, sparse_grad=sparse_grad)
    def scatter_(self, dim, index, src=None, *, value=None, reduce=None):
        return self._inplace(_ops.index.scatter, dim, index, src, value=value, reduce=reduce)
    def scatter_add_(self, dim, index, src):
        return self._inplace(_ops.index.scatter_add, dim, index, src)
    def scatter_reduce_(self, dim, index, src, reduce, *, include_self=True):
        return self._inplace(_ops.index.scatter_reduce, dim, index, src, reduce, include_self=include_self)
    def index_add_(self, dim, index, source, *, alpha=1):
        return self._inplace(_ops.index.index_add, dim, index, source, alpha=alpha)
    def index_copy_(self, dim, index, source):
        return self._inplace(_ops.index.index_copy, dim, index, source)
    def index_fill_(self, dim, index, value):
        return self._inplace(_ops.index.index_fill, dim, index, value)
    def masked_scatter_(self, mask, source):
        return self._inplace(_ops.index.masked_scatter, mask, source)
    def tril_(self, diagonal=0):
        return self._inplace(_ops.shape.tril, diagonal)
    def triu_(self, diagonal=0):
        return self._inplace(_ops.shape.triu, diagonal)
    def cumsum_(self, dim=None, *, dtype=None):
        return self._inplace(_ops.scan.cumsum, dim, dtype=dtype)
    def cumprod_(self, dim=None, *, dtype=None):
        return self._inplace(_ops.scan.cumprod, dim, dtype=dtype)
    def silu_(self, inplace=False):
        return self._inplace(_ops.activation.silu, inplace)
    def elu_(self, alpha=1.0, inplace=False):
        return self._inplace(_ops.activation.elu, alpha, inplace)
    def selu_(self, inplace=False):
        return self._inplace(_ops.activation.selu, inplace)
    def celu_(self, alpha=1.0, inplace=False):
        return self._inplace(_ops.activation.celu, alpha, inplace)
    def hardtanh_(self, min_val=-1.0, max_val=1.0, inplace=False):
        return self._inplace(_ops.activation.hardtanh, min_val, max_val, inplace)
    def relu6_(self, inplace=False):
        return self._inplace(_ops.activation.relu6, inplace)
    def hardsigmoid_(self, inplace=False):
        return self._inplace(_ops.activation.hardsigmoid, inplace)
    def hardswish_(self, inplace=False):
        return self._inplace(_ops.activation.hardswish, inplace)
    def mish_(self, inplace=False):
        return self._inplace(_ops.activation.mish, inplace)

    # ---- Python's integer and bitwise operators
    def __mod__(self, other):
        return _ops.elementwise.remainder(self, other)

    def __rmod__(self, other):
        return _ops.elementwise.remainder(other, self)

    def __imod__(self, other):
        return self._inplace(_ops.elementwise.remainder, other)

    def __floordiv__(self, other):
        return _ops.elementwise.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return _ops.elementwise.floor_divide(other, self)

    def __ifloordiv__(self, other):
        return self._inplace(_ops.elementwise.floor_divide, other)

    def __and__(self, other):
        return _ops.elementwise.bitwise_and(self, other)

    def __rand__(self, other):
        return _ops.elementwise.bitwise_and(other, self)

    def __iand__(self, other):
        return self._inplace(_ops.elementwise.bitwise_and, other)

    def __or__(self, other):
        return _ops.elementwise.bitwise_or(self, other)

    def __ror__(self, other):
        return _ops.elementwise.bitwise_or(other, self)

    def __ior__(self, other):
        return self._inplace(_ops.elementwise.bitwise_or, other)

    def __xor__(self, other):
        return _ops.elementwise.bitwise_xor(self, other)

    def __rxor__(self, other):
        return _ops.elementwise.bitwise_xor(other, self)

    def __ixor__(self, other):
        return self._inplace(_ops.elementwise.bitwise_xor, other)

    def __lshift__(self, other):
        return _ops.elementwise.bitwise_left_shift(self, other)

    def __rlshift__(self, other):
        return _ops.elementwise.bitwise_left_shift(other, self)

    def __ilshift__(self, other):
        return self._inplace(_ops.elementwise.bitwise_left_shift, other)

    def __rshift__(self, other):
        return _ops.elementwise.bitwise_right_shift(self, other)

    def __rrshift__(self, other):
        return _ops.elementwise.bitwise_right_shift(other, self)

    def __irshift__(self, other):
        return self._inplace(_ops.elementwise.bitwise_right_shift, other)

    def __invert__(self):
        return _ops.elementwise.bitwise_not(self)

    def __abs__(self):
        return _ops.elementwise.abs(self)

    def __pos__(self):
        return _ops.elementwise.positive(self)
