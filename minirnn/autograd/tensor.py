"""``Tensor``: what a user computes with. The tape's tensor (``tape.py``: values, gradient,
``backward()``) with the operators, one line each; every op and its backward are written in
``ops.py``.

    x = Tensor(np.random.randn(4, 3), requires_grad=True)
    y = (x @ W).tanh().sum(); y.backward()          # x.grad
"""
from __future__ import annotations

import numpy as np

from . import ops
from .tape import TapeTensor, register_tensor_class

#: NumPy's arithmetic ufuncs as tape ops: ``ndarray + Tensor`` reaches ``__array_ufunc__`` as
#: ``np.add(ndarray, Tensor)``, and must give the Tensor that ``Tensor.__radd__`` would
_ARITHMETIC = {np.add: ops.add, np.subtract: ops.sub, np.multiply: ops.mul,
               np.true_divide: ops.div, np.matmul: ops.matmul}

#: what to write instead of a NumPy function on a Tensor, where the name alone does not say it
_INSTEAD = {"absolute": "t.abs()", "sum": "t.sum(axis)", "mean": "t.mean(axis)",
            "transpose": "t.transpose(*axes) or t.T", "reshape": "t.reshape(*shape)",
            "concatenate": "minirnn.autograd.ops.concatenate([a, b], axis)",
            "stack": "minirnn.autograd.ops.stack([a, b], axis)",
            "where": "minirnn.autograd.ops.where(condition, a, b)",
            "maximum": "minirnn.autograd.ops.maximum(a, b)",
            "minimum": "minirnn.autograd.ops.minimum(a, b)",
            "broadcast_to": "minirnn.autograd.ops.broadcast_to(t, shape)",
            "sqrt": "t ** 0.5", "square": "t * t", "negative": "-t", "power": "t ** p",
            "dot": "a @ b", "matmul": "a @ b"}
_METHODS = {"exp", "log", "tanh", "abs", "sigmoid", "relu", "softmax", "log_softmax", "astype"}


def _refusal(name: str) -> TypeError:
    """The one-line error for a NumPy function called on a Tensor."""
    instead = _INSTEAD.get(name, f"t.{name}()" if name in _METHODS else
                           "an op of minirnn.autograd.ops")
    return TypeError(f"np.{name}() was given a minirnn Tensor: NumPy functions do not record "
                     f"on the tape (the gradient would be lost); use {instead}, or "
                     f"NumPy on t.numpy() for the values alone")


@register_tensor_class
class Tensor(TapeTensor):
    """An n-dimensional float array that remembers how it was computed (``TapeTensor``: data,
    grad, requires_grad, ``backward()``), with NumPy's arithmetic, indexing and reductions as
    tape operations."""

    def astype(self, dtype) -> "Tensor":
        """The values in another dtype; the gradient comes back cast to this one's."""
        return ops.astype(self, dtype)

    # --- NumPy's functions: refused, except the arithmetic an ndarray operand sends here -----
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """``ndarray + Tensor`` (and -, *, /, @) is ``np.add(ndarray, Tensor)`` to NumPy, which
        hands it here: the tape op, operands in order. Any other ufunc (``np.tanh(t)``,
        ``np.exp(t)``) would otherwise make an object array of Tensors and silently leave the
        tape: a TypeError says what to call instead."""
        op = _ARITHMETIC.get(ufunc)
        if op is not None and method == "__call__" and not kwargs and len(inputs) == 2:
            return op(*inputs)
        name = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
        raise _refusal(name)

    def __array_function__(self, func, types, args, kwargs):
        """``np.sum(t)``, ``np.concatenate([t, u])``, ``np.where(c, t, u)``…: refused, one line
        saying what records on the tape instead."""
        raise _refusal(func.__name__)

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
        """The transpose (axes reversed); its backward transposes the gradient back."""
        return ops.transpose(self)

    def transpose(self, *axes):
        """``x.transpose()`` reverses the axes; ``x.transpose(1, 0, 2)`` or
        ``x.transpose((1, 0, 2))`` permutes them."""
        single = len(axes) == 1 and isinstance(axes[0], (tuple, list))
        return ops.transpose(self, axes[0] if single else (axes or None))

    def reshape(self, *shape):
        """The values in another shape (``x.reshape(2, 3)`` or ``x.reshape((2, 3))``); the
        gradient is reshaped back."""
        return ops.reshape(self, *shape)

    def sum(self, axis=None, keepdims: bool = False):
        """Σ over ``axis`` (all axes by default); backward: every summed element gets the
        gradient of the sum, broadcast back."""
        return ops.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims: bool = False):
        """The mean over ``axis`` (all by default); backward: the gradient / n to each of the
        n elements averaged."""
        return ops.mean(self, axis, keepdims)

    def exp(self):
        """y = eˣ elementwise; ∂y/∂x = y."""
        return ops.exp(self)

    def log(self):
        """y = ln x elementwise; ∂y/∂x = 1/x."""
        return ops.log(self)

    def abs(self):
        """y = |x| elementwise; ∂y/∂x = sign(x) (0 at 0)."""
        return ops.abs(self)

    def tanh(self):
        """y = tanh x elementwise; ∂y/∂x = 1 - y²."""
        return ops.tanh(self)

    def sigmoid(self):
        """y = σ(x) = 1 / (1 + e⁻ˣ) elementwise; ∂y/∂x = y (1 - y)."""
        return ops.sigmoid(self)

    def relu(self):
        """y = max(x, 0) elementwise; ∂y/∂x = 1 where x > 0, else 0."""
        return ops.relu(self)

    def softmax(self, axis: int = -1):
        """y_i = e^{x_i} / Σ_j e^{x_j} along ``axis``; backward: dx = y ⊙ (dy - Σ_j dy_j y_j)."""
        return ops.softmax(self, axis)

    def log_softmax(self, axis: int = -1):
        """y_i = x_i - log Σ_j e^{x_j} along ``axis`` (computed stably); backward:
        dx = dy - softmax(x) Σ_j dy_j."""
        return ops.log_softmax(self, axis)
