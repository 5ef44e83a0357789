"""The fused LSTM layer: ONE operation on the tape, whatever the engine.

    states = lstm_recurrence(x, W_xh, b_xh, W_hh, b_hh, s0, lengths, backend)

computes, for every step, the state s_t = [h_t | c_t] (B, T, 2H) of PyTorch's LSTM (see
``reference`` for the equations and the BPTT derivation, gate by gate) from x (B, T, I),
W_xh (4H, I), b_xh (4H,), W_hh (4H, H), b_hh (4H,) and s0 = [h0 | c0] (B, 2H). The input
projection a_t = W_xh x_t + b_xh of every step is one batched product before the time loop,
and its gradients (∂L/∂W_xh = Σ dp_t x_t^T, ∂L/∂b_xh = Σ dp_t, ∂L/∂x_t = W_xh^T dp_t) are one
product each after the BPTT loop, as are ∂L/∂W_hh = Σ dp_t h_{t-1}^T and ∂L/∂b_hh = Σ dp_t;
only the recurrence is sequential.

Engines: ``numpy`` (the reference loops with the products around them), ``cpu`` (Numba,
parallel over blocks of batch rows: the projection, the recurrence and every gradient in one
compiled call each way), ``cuda`` (Numba CUDA for the recurrence, the products around it). The
``tape`` engine is the model's own equations unrolled with primitive ops
(``models.gated``), the oracle this op is tested against.
"""
from __future__ import annotations

import numpy as np

from ...autograd import Tensor
from ...autograd.arrays import array_module, to_host
from .. import blas
from ..fused import StateTaps, fused_op, if_needed, showing_states, sum_outer_previous
from . import cpu, reference


def _with_projection(recurrence):
    """An engine whose kernels run the recurrence alone (``recurrence(a, W_hh, b_hh, s0,
    lengths) -> (states, backward)``, backward giving (dp, ds0)), with the input projection
    and every weight gradient as products around them."""
    def layer(x, W_xh, b_xh, W_hh, b_hh, s0, lengths):
        H = W_hh.shape[1]
        rows = x.reshape(-1, x.shape[2])
        a = blas.matmul(rows, W_xh.T, b_xh).reshape(x.shape[:2] + (4 * H,))
        states, run_backward = recurrence(a, W_hh, b_hh, s0, lengths)

        def backward(dstates, needs):
            dp, ds0 = run_backward(dstates)
            dp_rows = dp.reshape(-1, 4 * H)
            db = if_needed(needs[2] or needs[4], lambda: blas.column_sums(dp_rows))
            return (if_needed(needs[0], lambda: blas.matmul(dp_rows, W_xh).reshape(x.shape)),
                    if_needed(needs[1], lambda: blas.matmul(dp_rows.T, rows)),
                    db if needs[2] else None,
                    if_needed(needs[3], lambda: sum_outer_previous(dp, s0[:, :H],
                                                                   states[:, :, :H])),
                    (db.copy() if needs[2] else db) if needs[4] else None,  # one sum, two biases
                    ds0)
        return states, backward
    return layer


def _numpy(a, W_hh, b_hh, s0, lengths):
    states, gates = reference.lstm_forward(a, W_hh, b_hh, s0, lengths)
    return states, lambda g: reference.lstm_backward(g, states, gates, s0, W_hh, lengths)


def _cpu(x, W_xh, b_xh, W_hh, b_hh, s0, lengths):
    """The cpu kernels project, recur and sum every gradient themselves; ∂L/∂b_xh and ∂L/∂b_hh
    are the same sum, so the second is a copy when both are wanted."""
    states, gates = cpu.lstm_forward(x, W_xh, b_xh, W_hh, b_hh, s0, lengths)

    def backward(g, needs):
        dx, dW_xh, db, dW_hh, _, ds0 = cpu.lstm_backward(g, states, gates, x, W_xh, W_hh, s0,
                                                         lengths, needs[0])
        return dx, dW_xh, db, dW_hh, db.copy() if needs[2] and needs[4] else db, ds0
    return states, backward


def _cuda(a, W_hh, b_hh, s0, lengths):
    from .cuda import DeviceLSTM

    device = DeviceLSTM(W_hh, b_hh, lengths)
    return device.forward(a, s0), device.backward


IMPLEMENTATIONS = {"numpy": _with_projection(_numpy), "cpu": _cpu,
                   "cuda": _with_projection(_cuda)}


def _share_of_the_states(taps, dstates, *arrays):
    """What the recurrence adds to each state's direct gradient (``reference``: keep_inside),
    for the states a model showed (``return_states``). It is asked for to look inside a network,
    not to train one, so it comes from the reference BPTT on the host whatever the engine (the
    engines are held equal to it), and goes to the taps in the engine's array library."""
    if not any(taps.wanted(part) for part in ("h", "c")):
        return
    xp = array_module(dstates)
    dstates, x, W_xh, b_xh, W_hh, b_hh, s0 = (to_host(v) for v in (dstates, *arrays[:-1]))
    lengths = arrays[-1]
    a = x @ W_xh.T + b_xh
    states, gates = reference.lstm_forward(a, W_hh, b_hh, s0, lengths)
    _, _, inside = reference.lstm_backward(dstates, states, gates, s0, W_hh, lengths,
                                           keep_inside=True)
    inside = xp.asarray(inside)
    H = W_hh.shape[1]
    taps.deliver("h", inside[..., :H])
    taps.deliver("c", inside[..., H:])


def lstm_recurrence(x: Tensor, W_xh: Tensor, b_xh: Tensor, W_hh: Tensor, b_hh: Tensor,
                    s0: Tensor, lengths: np.ndarray, backend: str,
                    taps: StateTaps | None = None) -> Tensor:
    """Every state s_t = [h_t | c_t] (B, T, 2H) from x (B, T, I), W_xh (4H, I), b_xh (4H,),
    W_hh (4H, H), b_hh (4H,), s0 = [h0 | c0] (B, 2H), lengths (B,)."""
    engines = IMPLEMENTATIONS if taps is None else \
        {name: showing_states(engine, taps, _share_of_the_states)
         for name, engine in IMPLEMENTATIONS.items()}
    return fused_op("lstm_recurrence", backend, engines, (x, W_xh, b_xh, W_hh, b_hh, s0),
                    lengths)
