"""The fused explicit-memory recurrence: one tape operation (equations in ``reference``).

    states = memory_recurrence(a, W_ym, W_hm, W_mm, b_m, W_mh, W_hy, b_y, m0, h0, y0,
                               activations=(r, f, g), lengths, backend)

returns the three state sequences packed side by side, (B, T, M + H + O) = [m_t | h_t | y_t],
so that one op has one output: a model slices out y_t, and the last step is its final state.
Gradients reaching any of the three (the loss through y_t, a next chunk through the final
state) flow back through the hand-written BPTT. With ``y_only=True`` the op returns y_t alone
(B, T, O), for a model that needs no final state: its backward then starts from ∂L/∂y_t
instead of a packed gradient that is zero in all the other columns (on the cpu engine, the
BPTT kernel reads gy alone). Jordan, ExplicitMemory and closed-loop NARX all run on this op,
with structured weights built on the tape from their own parameters.
"""
from __future__ import annotations

import numpy as np

from ...autograd import Tensor
from ...autograd.arrays import contiguous
from . import cpu, reference
from ..activations import CODES
from ..fused import (StateTaps, fused_op, if_needed, inside_share, packed_gradients, sum_outer,
                    sum_outer_previous, sum_rows)
from .reference import unpack


def _with_gradients(packed, initial, run_backward, y_only, taps, weights, lengths):
    """The engine-independent part: run the engine's BPTT on the gradient of the output (the
    packed [gm | gh | gy], or gy alone), telling it whether dq is wanted (only the memory's own
    weights need it, and the states' gradients), and turn (dq, dz, do) into every weight's
    gradient with one matmul each."""
    m0, h0, y0 = initial
    M, H = m0.shape[1], h0.shape[1]
    ms, hs, ys = unpack(packed, M, H)
    output = contiguous(ys) if y_only else packed

    def backward(doutput, needs):  # (the states ask for their gradient after the forward)
        wanted = taps is not None and any(taps.wanted(part) for part in "mhy")
        dq, dz, do, dm0, dh0, dy0 = run_backward(doutput, any(needs[1:5]) or wanted)
        if wanted:
            _share_of_the_states(taps, packed_gradients(doutput, packed.shape[2]), dq, dz, do,
                                 weights, M, H, lengths)
        if all(needs[1:4]):  # Σ dq_t [m | h | y]_{t-1}^T, one product for the three
            G = sum_outer_previous(dq, np.concatenate(initial, axis=1), packed)
            recurrent = G[:, M + H:], G[:, M:M + H], G[:, :M]
        else:
            recurrent = [if_needed(need, lambda s0=s0, s=s: sum_outer_previous(dq, s0, s))
                         for need, s0, s in zip(needs[1:4], (y0, h0, m0), (ys, hs, ms),
                                                strict=True)]
        return (dz,                                                           # a
                *recurrent,                                                   # W_ym, W_hm, W_mm
                if_needed(needs[4], lambda: sum_rows(dq)),                    # b_m
                if_needed(needs[5], lambda: sum_outer(dz, ms)),               # W_mh
                sum_outer(do, hs),                                            # W_hy
                sum_rows(do),                                                 # b_y
                dm0, dh0, dy0)

    return output, backward


def _share_of_the_states(taps, direct, dq, dz, do, weights, M, H, lengths):
    """Each state's gradient from inside the op (``fused.StateTaps``), from the BPTT's dq, dz,
    do: m_t gets W_mm^T dq_{t+1} and, within its step, W_mh^T dz_t; h_t gets W_hm^T dq_{t+1}
    and W_hy^T do_t; y_t gets W_ym^T dq_{t+1}."""
    W_ym, W_hm, W_mm, W_mh, W_hy = weights
    gm, gh, gy = unpack(direct, M, H)
    for part, g, sent_back, within in (("m", gm, lambda: dq @ W_mm, lambda: dz @ W_mh),
                                       ("h", gh, lambda: dq @ W_hm, lambda: do @ W_hy),
                                       ("y", gy, lambda: dq @ W_ym, lambda: None)):
        if taps.wanted(part):
            taps.deliver(part, inside_share(g, sent_back(), lengths, within()))


def _host(kernels):
    """The numpy and cpu engines: the same calls, to the reference loops or to the compiled
    kernels (``reference`` or ``cpu``)."""
    def run(a, W_ym, W_hm, W_mm, b_m, W_mh, W_hy, b_y, m0, h0, y0, lengths, activations,
            y_only, taps):
        weights = (W_ym, W_hm, W_mm, W_mh, W_hy)
        packed = kernels.memory_forward(a, W_ym, W_hm, W_mm, b_m, W_mh, W_hy, b_y, m0, h0, y0,
                                        lengths, *activations)
        return _with_gradients(packed, (m0, h0, y0), lambda doutput, keep_dq:
                               kernels.memory_backward(doutput, packed, *weights, lengths,
                                                       *activations, keep_dq), y_only, taps,
                               weights, lengths)
    return run


def _cuda(a, W_ym, W_hm, W_mm, b_m, W_mh, W_hy, b_y, m0, h0, y0, lengths, activations, y_only,
          taps):
    from .cuda import DeviceMemory

    device = DeviceMemory(W_ym, W_hm, W_mm, W_mh, W_hy, lengths,
                          *(CODES[name] for name in activations))
    packed = np.concatenate(device.forward(a, b_m, b_y, m0, h0, y0), axis=2)
    return _with_gradients(packed, (m0, h0, y0), lambda doutput, _: device.backward(
        *unpack(packed_gradients(doutput, packed.shape[2]), b_m.size, h0.shape[1])), y_only,
        taps, (W_ym, W_hm, W_mm, W_mh, W_hy), lengths)


IMPLEMENTATIONS = {"numpy": _host(reference), "cpu": _host(cpu), "cuda": _cuda}


def memory_recurrence(a: Tensor, W_ym: Tensor, W_hm: Tensor, W_mm: Tensor, b_m: Tensor,
                      W_mh: Tensor, W_hy: Tensor, b_y: Tensor, m0: Tensor, h0: Tensor,
                      y0: Tensor, activations, lengths: np.ndarray, backend: str,
                      y_only: bool = False, taps: StateTaps | None = None) -> Tensor:
    """[m_t | h_t | y_t] (B, T, M + H + O) for every step, or y_t alone (B, T, O) with
    ``y_only``; see the module docstring. ``taps``: where the BPTT hands each state's share
    of its gradient from inside the op (parts "m", "h", "y") to the states a model
    returned."""
    return fused_op("memory_recurrence", backend, IMPLEMENTATIONS,
                    (a, W_ym, W_hm, W_mm, b_m, W_mh, W_hy, b_y, m0, h0, y0), lengths,
                    tuple(activations), y_only, taps)
