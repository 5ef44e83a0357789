"""The fused layered recurrence: one tape operation (equations in ``reference``).

    states = layered_recurrence(a, b, U, V, Y, W_hy, b_y, S0, y0, offsets, activations,
                                lengths, backend)

returns [S_t | y_t] (B, T, N + O): every layer's state side by side, then the output. a
(B, T, A) is the input of the first A units (layer 0's W_xh x_t), b (N,) every unit's bias.
With ``y_only=True`` it returns y_t alone (B, T, O) and its BPTT starts from ∂L/∂y_t, as
``memory_recurrence``'s does.
"""
from __future__ import annotations

from itertools import pairwise

import numpy as np

from ...autograd import Tensor
from ...autograd.arrays import contiguous, zeros
from . import cpu, reference
from ..activations import CODES
from ..fused import (StateTaps, fused_op, if_needed, inside_share, packed_gradients, sum_outer,
                    sum_outer_previous, sum_rows)


def dense_reads(offsets):
    """What a layered recurrence may read when nothing more is known: layer l's rows of U over
    every layer below it, of V over every layer, and the output over every layer."""
    N = int(offsets[-1])
    u_cols = np.array([[0, lo] for lo in offsets[:-1]], dtype=np.int64)
    v_cols = np.array([[0, N]] * (len(offsets) - 1), dtype=np.int64)
    return u_cols, v_cols, np.array([0, N], dtype=np.int64)


def block_gradient(d, v, offsets, columns, initial=None) -> np.ndarray:
    """Σ_{b,t} d_t v_t^T on the blocks a layered weight reads, zeros elsewhere: layer l's rows
    (offsets[l] … offsets[l+1]) times its columns[l] = [first, end) of v. A stack's U and V
    are mostly zero blocks, and their gradients there go nowhere. With ``initial`` (the
    states before t = 0), Σ d_t v_{t-1}^T instead."""
    G = zeros((d.shape[-1], v.shape[-1]), d.dtype, d)
    for (lo, hi), (c0, c1) in zip(pairwise(offsets), columns, strict=True):
        if c1 > c0:
            G[lo:hi, c0:c1] = (sum_outer(d[..., lo:hi], v[..., c0:c1]) if initial is None else
                               sum_outer_previous(d[..., lo:hi], initial[:, c0:c1],
                                                  v[..., c0:c1]))
    return G


def _with_gradients(states, initial, A, offsets, reads, run_backward, y_only, taps, weights,
                    lengths):
    """The engine-independent part: the engine's BPTT on the gradient of the output (the
    packed [gS | gy], or gy alone), then every weight's gradient with one matmul per block it
    has, and the states' shares (``fused.StateTaps``: S_t gets V^T dz_{t+1} and, within its
    step, U^T dz_t from the layers above and W_hy^T do_t from the output; y_t gets Y^T
    dz_{t+1})."""
    S0, y0 = initial
    N = S0.shape[1]
    S_all, ys = states[:, :, :N], states[:, :, N:]
    output = contiguous(ys) if y_only else states
    u_cols, v_cols, (y_first, y_end) = reads

    def output_gradient(do):
        G = zeros((do.shape[-1], N), do.dtype, do)
        G[:, y_first:y_end] = sum_outer(do, S_all[..., y_first:y_end])
        return G

    def backward(doutput, needs):
        dz, do, dS0, dy0 = run_backward(doutput)
        if taps is not None and (taps.wanted("S") or taps.wanted("y")):
            U, V, Y, W_hy = weights
            direct = packed_gradients(doutput, states.shape[2])
            if taps.wanted("S"):
                taps.deliver("S", inside_share(direct[:, :, :N], dz @ V, lengths,
                                               within=do @ W_hy + dz @ U))
            if taps.wanted("y"):
                taps.deliver("y", inside_share(direct[:, :, N:], dz @ Y, lengths))
        return (dz[..., :A],                                                          # a
                if_needed(needs[1], lambda: sum_rows(dz)),                           # b
                if_needed(needs[2], lambda: block_gradient(dz, S_all, offsets, u_cols)),  # U
                if_needed(needs[3], lambda: block_gradient(                              # V
                    dz, S_all, offsets, v_cols, initial=S0)),
                if_needed(needs[4], lambda: sum_outer_previous(dz, y0, ys)),             # Y
                if_needed(needs[5], lambda: output_gradient(do)),                  # W_hy
                sum_rows(do),                                                        # b_y
                dS0, dy0)

    return output, backward


def _host(kernels):
    """The numpy and cpu engines: the same calls, to ``reference`` or ``cpu``."""
    def run(a, b, U, V, Y, W_hy, b_y, S0, y0, offsets, lengths, activations, reads, y_only,
            taps):
        states = kernels.layered_forward(a, b, U, V, Y, W_hy, b_y, S0, y0, offsets, reads,
                                         lengths, *activations)
        return _with_gradients(states, (S0, y0), a.shape[2], offsets, reads,
                               lambda doutput: kernels.layered_backward(
                                   doutput, states, U, V, Y, W_hy, offsets, reads, lengths,
                                   *activations), y_only, taps, (U, V, Y, W_hy), lengths)
    return run


def _cuda(a, b, U, V, Y, W_hy, b_y, S0, y0, offsets, lengths, activations, reads, y_only,
          taps):
    from .cuda import DeviceLayered

    device = DeviceLayered(U, V, Y, W_hy, offsets, lengths, *(CODES[n] for n in activations))
    states = np.concatenate(device.forward(a, b, b_y, S0, y0), axis=2)
    N = S0.shape[1]

    def run_backward(doutput):
        dstates = packed_gradients(doutput, states.shape[2])
        return device.backward(dstates[:, :, :N], dstates[:, :, N:])

    return _with_gradients(states, (S0, y0), a.shape[2], offsets, reads, run_backward, y_only,
                           taps, (U, V, Y, W_hy), lengths)


IMPLEMENTATIONS = {"numpy": _host(reference), "cpu": _host(cpu), "cuda": _cuda}


def layered_recurrence(a: Tensor, b: Tensor, U: Tensor, V: Tensor, Y: Tensor, W_hy: Tensor,
                       b_y: Tensor, S0: Tensor, y0: Tensor, offsets: np.ndarray, activations,
                       lengths, backend: str, reads=None, y_only: bool = False,
                       taps: StateTaps | None = None) -> Tensor:
    """[S_t | y_t] (B, T, N + O) for every step, or y_t alone (B, T, O) with ``y_only``; see
    ``reference``.

    ``reads`` = (u_cols, v_cols, y_cols): the columns [first, end) that layer l's rows of U and
    V read (L x 2 each) and that the output reads (2,), from the stack's connectivity (every
    other block is zero by construction); by default everything a stack may read
    (``dense_reads``). The cpu kernel and the weight gradients skip the rest. ``taps``: where
    the BPTT hands the states' shares of their gradients (parts "S" and "y") to the states a
    model returned."""
    offsets = np.asarray(offsets, dtype=np.int64)
    reads = dense_reads(offsets) if reads is None else reads
    return fused_op("layered_recurrence", backend, IMPLEMENTATIONS,
                    (a, b, U, V, Y, W_hy, b_y, S0, y0), offsets, lengths, tuple(activations),
                    reads, y_only, taps)
