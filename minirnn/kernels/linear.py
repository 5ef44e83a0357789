"""The linear layer of the models, y = x W^T + b, with the kernels' products.

The same op as ``minirnn.autograd.ops.linear`` (its docstring has the equations), computed by
``blas.matmul``: on the cpu engine cut over Numba's threads with one-threaded BLAS in each
(each thread adding the bias to its rows as they come out of the product: added afterwards by
NumPy, in one more pass over the output, it cost 40% of a (3200, 64) x (64, 64) product), on
the GPU through cuBLAS. A model's projections of a long sequence are its largest arrays, so
one output array instead of three (x W^T, the transpose, the sum) matters (BENCHMARKS.md).
"""
from __future__ import annotations

from ..autograd import Tensor, record
from ..autograd.ops import _pair, check_linear
from . import blas


def linear(x, W: Tensor, b: Tensor | None = None) -> Tensor:
    """y = x W^T + b over the last axis of x (..., I), W (O, I), b (O,), as ONE tape op.

    Backward: ∂L/∂x = g W, ∂L/∂W = Σ_rows g^T x, ∂L/∂b = Σ_rows g (one product each)."""
    x, W = _pair(x, W, "linear")
    check_linear(x, W, b)
    rows = x.data.reshape(-1, x.shape[-1])
    out = blas.matmul(rows, W.data.T, None if b is None else b.data)
    inputs = (x, W) if b is None else (x, W, b)

    def backward(g):
        g2 = g.reshape(-1, g.shape[-1])
        gx = blas.matmul(g2, W.data).reshape(x.shape) if x.requires_grad else None
        gW = blas.matmul(g2.T, rows) if W.requires_grad else None
        if b is None:
            return gx, gW
        return gx, gW, blas.column_sums(g2) if b.requires_grad else None

    return record("linear", out.reshape(x.shape[:-1] + (W.shape[0],)), inputs, backward)
