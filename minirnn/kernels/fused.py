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
from ..autograd import Tensor, is_grad_enabled, record
from ..autograd.ops import same_place
from ..autograd.arrays import array_module, contiguous, zeros

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


class StateTaps:
    """The per-step states a model hands its user (``forward(..., return_states=True)``), and
    where the recurrence that made them adds the share of their gradient that it keeps inside.

    A state h_t has two kinds of consumers. Those on the tape (the output layer, the next
    layer of a stack, a loss term on the states) send their share, the *direct* gradient g_t,
    to the tensor the model returned, the ordinary way. The recurrence itself is the other:
    h_t feeds step t+1 (and, within step t, whatever the cell computes from it, such as y_t
    from h_t in a memory model), and in a fused op that happens inside ONE tape entry, whose
    BPTT computes that share, ``inside_t``, on its way to the weights' gradients. The op hands
    it here, and it is added to the ``.grad`` of the tensors that asked (``retain_grad()``), so
    that, after ``backward()``,

        states["h"].grad[:, t] = g_t + inside_t = ∂L/∂h_t,

    the total derivative BPTT calls dh_t, for every t. (A loss at the last step alone gives
    g_t = 0 for t < T-1: what remains is the gradient carried back through time, the one that
    vanishes or explodes.) The tape engine's unrolled equations feed the same object from
    hooks on the states they carry to the next step (``carry``), so every engine gives the
    same numbers.

    ``part`` names a state of the op ("h"; "m", "h", "y" for the memory op; "S", "y" for the
    layered op) and ``columns`` a tensor's place among the part's columns (one layer of S).
    """

    def __init__(self):
        self._parts = {}  # part -> [(tensor, (first, end) or None)]

    def expose(self, part: str, tensor: Tensor, columns=None) -> Tensor:
        """``tensor`` (B, T, n), the values of ``part`` (its ``columns``), as a state the op
        adds its share to; returns it."""
        self._parts.setdefault(part, []).append((tensor, columns))
        return tensor

    def wanted(self, part: str) -> bool:
        """Whether any tensor of ``part`` asked for its gradient (else the share is not even
        computed)."""
        return any(t.retains_grad for t, _ in self._parts.get(part, ()))

    def deliver(self, part: str, share, step: int | None = None, columns=None):
        """Add ``share`` to the gradients of the tensors of ``part`` that retain theirs: every
        step's (B, T, n), or one step's (B, n) with ``step``; ``columns`` = (first, end): the
        columns of the part that ``share`` covers (all by default)."""
        c0 = 0 if columns is None else columns[0]
        c1 = c0 + share.shape[-1]
        for tensor, place in self._parts.get(part, ()):
            if not tensor.retains_grad:
                continue
            lo, hi = (0, tensor.shape[-1]) if place is None else place
            first, end = max(lo, c0), min(hi, c1)
            if first >= end:
                continue
            piece = share[..., first - c0:end - c0]
            if tensor.grad is None:
                tensor.grad = zeros(tensor.shape, tensor.dtype, tensor.data)
            target = tensor.grad if step is None else tensor.grad[:, step]
            target[..., first - lo:end - lo] += piece

    def carry(self, part: str, state: Tensor, step: int, columns=None) -> Tensor:
        """For the tape engine's unrolled equations: ``state`` (B, n) at ``step``, as the
        tensor the cell's other uses read (the next step, the same step's later equations), so
        that the gradient those uses send it, its inside share, reaches this object."""
        if state.requires_grad:
            tap = record("state_tap", state.data, (state,), lambda g: (g,))
        elif is_grad_enabled():  # a state made of constants alone (Jordan's m_0 with a fixed
            tap = Tensor(state.data, requires_grad=True)  # μ): what it feeds still has one
        else:
            return state
        tap.register_hook(lambda g: self.deliver(part, g, step, columns))
        return tap


def showing_states(engine, taps: StateTaps, share):
    """``engine`` whose backward first calls ``share(taps, doutput, *arrays)``: the states'
    protocol for an op whose inside shares are computed apart from its kernels (the gated ops
    take them from their reference BPTT)."""
    def run(*arrays):
        output, backward = engine(*arrays)

        def backward_showing(doutput, needs):
            share(taps, doutput, *arrays)
            return backward(doutput, needs)
        return output, backward_showing
    return run


def inside_share(direct, sent_back, lengths, within=None):
    """A state's inside share from its op's BPTT, for every step (B, T, n):

        inside_t = within_t + sent_back_{t+1}            (sent_back_T = 0)

    where ``sent_back`` (B, T, n) is what step t's pre-activation gradients send to the state
    before it (W^T dz_t), and ``within`` what the same step's later equations send it. A
    padded step (t >= the row's length) keeps the state, so from the row's last step on its
    gradient is passed back whole: inside_t = Σ_{s>t} direct_s there (``direct``: the states'
    gradients from the tape, ``sent_back`` and ``within`` being 0 at padded steps)."""
    xp = array_module(direct)
    share = xp.zeros_like(direct) if within is None else xp.array(within, copy=True)
    share[:, :-1] += sent_back[:, 1:]
    T = direct.shape[1]
    if lengths.min() < T:  # Σ_{s>t} g_s on each row's tail, t >= length - 1
        later = xp.zeros_like(direct)
        later[:, :-1] = xp.flip(xp.cumsum(xp.flip(direct[:, 1:], axis=1), axis=1), axis=1)
        tail = xp.asarray(np.arange(T)[None, :] >= (lengths - 1)[:, None])
        share += xp.where(tail[:, :, None], later, 0)
    return share
