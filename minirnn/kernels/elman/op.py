"""The fused Elman layer: ONE operation on the tape, whatever the engine.

    hs = elman_recurrence(x, W_xh, b_h, W_hh, h0, activation, lengths, backend)

computes h_t = f(W_xh x_t + b_h + W_hh h_{t-1}) for every step (see ``reference`` for the
equations and the BPTT derivation). The input projection a_t = W_xh x_t + b_h of every step is
one batched product before the time loop, and its gradients (∂L/∂W_xh = Σ dz_t x_t^T, ∂L/∂b_h
= Σ dz_t, ∂L/∂x_t = W_xh^T dz_t) are one product each after the BPTT loop; only the recurrence
is sequential.

Engines: ``numpy`` (reference loops), ``cpu`` (Numba, parallel over the batch: the projection,
the recurrence and every gradient in one compiled call each way), ``cuda`` (Numba CUDA for the
recurrence, hs staying on the GPU for backward; the products by cuBLAS when the model is on the
GPU). The ``tape`` engine is not here: it is the model's own equations unrolled with primitive
ops, the oracle this op is tested against.
"""
from __future__ import annotations

import numpy as np

from ...autograd import Tensor
from . import cpu, cuda, reference
from .. import blas
from ..activations import CODES
from ..fused import StateTaps, fused_op, if_needed, inside_share, sum_outer_previous


def _share_of_the_states(taps, dhs, dz, W_hh, lengths):
    """h_t's gradient from inside the op, W_hh^T dz_{t+1}, to the states that asked for it
    (``fused.StateTaps``)."""
    if taps is not None and taps.wanted("h"):
        taps.deliver("h", inside_share(dhs, dz @ W_hh, lengths))


def _with_projection(recurrence):
    """An engine whose kernels run the recurrence alone (``recurrence(a, W_hh, h0, lengths,
    activation) -> (hs, backward)``, backward giving (dz, dh0)), with the input projection and
    every weight gradient as products around them."""
    def layer(x, W_xh, b_h, W_hh, h0, lengths, activation, taps):
        rows = x.reshape(-1, x.shape[2])
        a = blas.matmul(rows, W_xh.T, b_h).reshape(x.shape[:2] + (W_xh.shape[0],))
        hs, run_backward = recurrence(a, W_hh, h0, lengths, activation)

        def backward(dhs, needs):
            dz, dh0 = run_backward(dhs)
            _share_of_the_states(taps, dhs, dz, W_hh, lengths)
            dz_rows = dz.reshape(-1, dz.shape[2])
            return (if_needed(needs[0], lambda: blas.matmul(dz_rows, W_xh).reshape(x.shape)),
                    if_needed(needs[1], lambda: blas.matmul(dz_rows.T, rows)),
                    if_needed(needs[2], lambda: blas.column_sums(dz_rows)),
                    if_needed(needs[3], lambda: sum_outer_previous(dz, h0, hs)),
                    dh0)
        return hs, backward
    return layer


def _numpy(a, W_hh, h0, lengths, activation):
    hs = reference.elman_forward(a, W_hh, h0, lengths, activation)
    return hs, lambda g: reference.elman_backward(g, hs, W_hh, lengths, activation)


def _cuda(a, W_hh, h0, lengths, activation):
    device = cuda.DeviceElman(W_hh, lengths, CODES[activation])
    return device.forward(a, h0), device.backward


def _cpu(x, W_xh, b_h, W_hh, h0, lengths, activation, taps):
    """The cpu kernels project, recur and sum every gradient themselves."""
    hs = cpu.elman_forward(x, W_xh, b_h, W_hh, h0, lengths, activation)

    def backward(g, needs):
        if taps is None or not taps.wanted("h"):
            return cpu.elman_backward(g, hs, x, W_xh, W_hh, h0, lengths, activation, needs[0])
        *grads, dz = cpu.elman_backward(g, hs, x, W_xh, W_hh, h0, lengths, activation,
                                        needs[0], keep_dz=True)
        _share_of_the_states(taps, g, dz, W_hh, lengths)
        return tuple(grads)

    return hs, backward


IMPLEMENTATIONS = {"numpy": _with_projection(_numpy), "cpu": _cpu,
                   "cuda": _with_projection(_cuda)}


def elman_recurrence(x: Tensor, W_xh: Tensor, b_h: Tensor, W_hh: Tensor, h0: Tensor,
                     activation: str, lengths: np.ndarray, backend: str,
                     taps: StateTaps | None = None) -> Tensor:
    """All hidden states hs (B, T, H) from x (B, T, I), W_xh (H, I), b_h (H,), W_hh (H, H),
    h0 (B, H), lengths (B,). ``taps``: where the BPTT hands the share of ∂L/∂h_t that flows
    through the later steps, W_hh^T dz_{t+1}, to the states a model returned (part "h")."""
    return fused_op("elman_recurrence", backend, IMPLEMENTATIONS, (x, W_xh, b_h, W_hh, h0),
                    lengths, activation, taps)
