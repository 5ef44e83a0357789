"""The one way a kernel becomes a tape operation.

A model family provides, per engine, a function ``forward(*arrays, *static) -> (output,
backward)`` where ``backward(dL/d output, needs) -> tuple of gradients``: one per array input,
None where none; ``needs[i]`` says whether input i wants one, so that the gradient of a
constant (NARX's delay-line matrices, say) is not computed only to be thrown away.
:func:`fused_op` runs the chosen engine's forward and records ONE tape entry whose backward
is that engine's hand-written backward, the way cuDNN's RNN is one operation in PyTorch.
"""
from __future__ import annotations

import numpy as np

from . import blas
from ..autograd import Tensor, record
from ..autograd.ops import same_place
from ..autograd.arrays import contiguous, zeros

def fused_op(name: str, backend: str, implementations: dict, inputs, *static) -> Tensor:
    if backend not in implementations:
        raise ValueError(f"{name}: unknown kernel backend {backend!r}; choose one of "
                         f"{', '.join(implementations)}")
    inputs = same_place(inputs)  # a host constant meeting a model on the GPU goes there
    needs = tuple(t.requires_grad for t in inputs)
    output, backward = implementations[backend](*(t.data for t in inputs), *static)
    return record(f"{name}[{backend}]", output,
                  inputs, lambda g: backward(contiguous(g), needs))


def if_needed(need: bool, gradient):
    """``gradient()`` if it is needed, else None (without computing it)."""
    return gradient() if need else None


def packed_gradients(grads, size):
    """The packed direct gradients (B, T, size) from either themselves or their last columns
    alone (gy; the others are then zero)."""
    if grads.shape[2] == size:
        return grads
    B, T, n = grads.shape
    return np.concatenate([zeros((B, T, size - n), grads.dtype, grads), grads], axis=2)


def sum_outer_previous(d: np.ndarray, initial: np.ndarray, states: np.ndarray) -> np.ndarray:
    """Σ_{b,t} d[b,t] s[b,t-1]^T with s[b,-1] = initial[b]: a recurrent weight's gradient,
    without building the shifted copy of the states (B, T, n) it would otherwise need.

    With the (b, t) rows laid end to end, row r of d pairs with row r-1 of the states, which
    is s[b,t-1] except at t = 0, where it is the previous batch row's last state (or nothing,
    for the very first row): so the t = 0 rows of d are zeroed for one product over the
    shifted rows (and put back after), and paired with ``initial`` in a second. Adding their
    wrong pairs and taking them away after, as this once did, left rounding noise where the
    true gradient is 0 (every t = 0 row's pair, when T = 1), which Adam's normalised step
    turned into real updates."""
    B, T = d.shape[:2]
    first = d[:, 0].copy()
    d_rows = d.reshape(B * T, d.shape[2])  # a view of d when d is contiguous, else a copy
    s_rows = states.reshape(B * T, states.shape[2])
    d_rows[::T] = 0
    G = blas.matmul(d_rows[1:].T, s_rows[:-1])
    d_rows[::T] = first
    G += first.T @ initial
    return G


def sum_rows(d: np.ndarray) -> np.ndarray:
    """Σ_{b,t} d[b,t]: a bias gradient over every (b, t) pair."""
    return blas.column_sums(d.reshape(-1, d.shape[-1]))


def sum_outer(d: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Σ_{b,t} d[b,t] v[b,t]^T: a weight gradient over every (b, t) pair, as one matmul."""
    return blas.matmul(d.reshape(-1, d.shape[-1]).T, v.reshape(-1, v.shape[-1]))
