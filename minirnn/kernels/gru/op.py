"""The fused GRU layer: ONE operation on the tape, whatever the engine.

    hs = gru_recurrence(x, W_xh, b_xh, W_hh, b_hh, h0, lengths, backend)

computes every state h_t (B, T, H) of PyTorch's GRU (see ``reference`` for the equations and
the BPTT derivation, gate by gate) from x (B, T, I), W_xh (3H, I), b_xh (3H,), W_hh (3H, H),
b_hh (3H,) and h0 (B, H). The input projection a_t = W_xh x_t + b_xh of every step is one
batched product before the time loop; the BPTT gives the gradients of a_t and of the recurrent
parts u_t = W_hh h_{t-1} + b_hh (``da``, ``du``), and the weights' are one product each after
it: ∂L/∂W_xh = Σ da_t x_t^T, ∂L/∂b_xh = Σ da_t, ∂L/∂x_t = W_xh^T da_t, ∂L/∂W_hh = Σ du_t
h_{t-1}^T, ∂L/∂b_hh = Σ du_t.

Engines as for the LSTM (``kernels.lstm.op``): ``numpy``, ``cpu`` (one compiled call each
way), ``cuda``; the ``tape`` engine is the model's equations unrolled (``models.gated``).
"""
from __future__ import annotations

import numpy as np

from ...autograd import Tensor
from ...autograd.arrays import array_module, to_host
from .. import blas
from ..fused import StateTaps, fused_op, if_needed, showing_states, sum_outer_previous
from . import cpu, reference


def _with_projection(recurrence):
    """An engine whose kernels run the recurrence alone (``recurrence(a, W_hh, b_hh, h0,
    lengths) -> (hs, backward)``, backward giving (da, du, dh0)), with the input projection
    and every weight gradient as products around them."""
    def layer(x, W_xh, b_xh, W_hh, b_hh, h0, lengths):
        H = W_hh.shape[1]
        rows = x.reshape(-1, x.shape[2])
        a = blas.matmul(rows, W_xh.T, b_xh).reshape(x.shape[:2] + (3 * H,))
        hs, run_backward = recurrence(a, W_hh, b_hh, h0, lengths)

        def backward(dhs, needs):
            da, du, dh0 = run_backward(dhs)
            da_rows = da.reshape(-1, 3 * H)
            return (if_needed(needs[0], lambda: blas.matmul(da_rows, W_xh).reshape(x.shape)),
                    if_needed(needs[1], lambda: blas.matmul(da_rows.T, rows)),
                    if_needed(needs[2], lambda: blas.column_sums(da_rows)),
                    if_needed(needs[3], lambda: sum_outer_previous(du, h0, hs)),
                    if_needed(needs[4], lambda: blas.column_sums(du.reshape(-1, 3 * H))),
                    dh0)
        return hs, backward
    return layer


def _numpy(a, W_hh, b_hh, h0, lengths):
    hs, saved = reference.gru_forward(a, W_hh, b_hh, h0, lengths)
    return hs, lambda g: reference.gru_backward(g, hs, saved, h0, W_hh, lengths)


def _cpu(x, W_xh, b_xh, W_hh, b_hh, h0, lengths):
    """The cpu kernels project, recur and sum every gradient themselves."""
    hs, saved = cpu.gru_forward(x, W_xh, b_xh, W_hh, b_hh, h0, lengths)
    return hs, lambda g, needs: cpu.gru_backward(g, hs, saved, x, W_xh, W_hh, h0, lengths,
                                                 needs[0])


def _cuda(a, W_hh, b_hh, h0, lengths):
    from .cuda import DeviceGRU

    device = DeviceGRU(W_hh, b_hh, lengths)
    return device.forward(a, h0), device.backward


IMPLEMENTATIONS = {"numpy": _with_projection(_numpy), "cpu": _cpu,
                   "cuda": _with_projection(_cuda)}


def _share_of_the_states(taps, dstates, *arrays):
    """What the recurrence adds to each state's direct gradient (``reference``: keep_inside),
    for the states a model showed (``return_states``). It is asked for to look inside a network,
    not to train one, so it comes from the reference BPTT on the host whatever the engine (the
    engines are held equal to it), and goes to the taps in the engine's array library."""
    if not any(taps.wanted(part) for part in ("h",)):
        return
    xp = array_module(dstates)
    dstates, x, W_xh, b_xh, W_hh, b_hh, h0 = (to_host(v) for v in (dstates, *arrays[:-1]))
    lengths = arrays[-1]
    a = x @ W_xh.T + b_xh
    hs, saved = reference.gru_forward(a, W_hh, b_hh, h0, lengths)
    *_, inside = reference.gru_backward(dstates, hs, saved, h0, W_hh, lengths, keep_inside=True)
    inside = xp.asarray(inside)
    taps.deliver("h", inside)


def gru_recurrence(x: Tensor, W_xh: Tensor, b_xh: Tensor, W_hh: Tensor, b_hh: Tensor,
                   h0: Tensor, lengths: np.ndarray, backend: str,
                   taps: StateTaps | None = None) -> Tensor:
    """Every state h_t (B, T, H) from x (B, T, I), W_xh (3H, I), b_xh (3H,), W_hh (3H, H),
    b_hh (3H,), h0 (B, H), lengths (B,)."""
    engines = IMPLEMENTATIONS if taps is None else \
        {name: showing_states(engine, taps, _share_of_the_states)
         for name, engine in IMPLEMENTATIONS.items()}
    return fused_op("gru_recurrence", backend, engines, (x, W_xh, b_xh, W_hh, b_hh, h0),
                    lengths)
