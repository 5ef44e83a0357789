"""``Tensor``: what a user computes with. The tape's tensor (``tape.py``: values, gradient,
``backward()``) with the operators, one line each; every op and its backward are written in
``ops.py``.

    x = Tensor(np.random.randn(4, 3), requires_grad=True)
    y = (x @ W).tanh().sum(); y.backward()          # x.grad
"""
from __future__ import annotations

from . import ops
from .tape import TapeTensor, register_tensor_class


@register_tensor_class
class Tensor(TapeTensor):
    """An n-dimensional float array that remembers how it was computed (``TapeTensor``: data,
    grad, requires_grad, ``backward()``), with NumPy's arithmetic, indexing and reductions as
    tape operations."""

    def astype(self, dtype) -> "Tensor":
        return ops.astype(self, dtype)

    # --- operators: one line each; each op and its backward are written in ops.py ------------
    def __add__(self, other):
        return ops.add(self, other)

    def __radd__(self, other):
        return ops.add(other, self)

    def __sub__(self, other):
        return ops.sub(self, other)

    def __rsub__(self, other):
        return ops.sub(other, self)

    def __mul__(self, other):
        return ops.mul(self, other)

    def __rmul__(self, other):
        return ops.mul(other, self)

    def __truediv__(self, other):
        return ops.div(self, other)

    def __rtruediv__(self, other):
        return ops.div(other, self)

    def __neg__(self):
        return ops.neg(self)

    def __pow__(self, exponent):
        return ops.power(self, exponent)

    def __matmul__(self, other):
        return ops.matmul(self, other)

    def __rmatmul__(self, other):
        return ops.matmul(other, self)

    def __getitem__(self, index):
        return ops.getitem(self, index)

    @property
    def T(self):
        return ops.transpose(self)

    def transpose(self, *axes):
        """``x.transpose()`` reverses the axes; ``x.transpose(1, 0, 2)`` or
        ``x.transpose((1, 0, 2))`` permutes them."""
        single = len(axes) == 1 and isinstance(axes[0], (tuple, list))
        return ops.transpose(self, axes[0] if single else (axes or None))

    def reshape(self, *shape):
        return ops.reshape(self, *shape)

    def sum(self, axis=None, keepdims: bool = False):
        return ops.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims: bool = False):
        return ops.mean(self, axis, keepdims)

    def exp(self):
        return ops.exp(self)

    def log(self):
        return ops.log(self)

    def abs(self):
        return ops.abs(self)

    def tanh(self):
        return ops.tanh(self)

    def sigmoid(self):
        return ops.sigmoid(self)

    def relu(self):
        return ops.relu(self)

    def softmax(self, axis: int = -1):
        return ops.softmax(self, axis)

    def log_softmax(self, axis: int = -1):
        return ops.log_softmax(self, axis)
