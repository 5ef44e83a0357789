"""The fused Elman recurrence: ONE operation on the tape, whatever the engine.

    hs = elman_recurrence(a, W_hh, h0, activation, lengths, backend)

computes h_t = f(a_t + W_hh h_{t-1}) for every step (see ``reference`` for the equations and
the BPTT derivation) with the engine's forward kernel; its backward runs the engine's BPTT
kernel for ∂L/∂a and ∂L/∂h0, and ∂L/∂W_hh as one matmul (the cpu kernel sums it itself).

Engines: ``numpy`` (reference loops), ``cpu`` (Numba, parallel over the batch), ``cuda`` (Numba
CUDA; hs stays on the GPU for backward). The ``tape`` engine is not here: it is the model's own
equations unrolled with primitive ops, the oracle this op is tested against.
"""
from __future__ import annotations

import numpy as np

from ...autograd import Tensor
from . import cpu, cuda, reference
from ..activations import CODES
from ..fused import fused_op, if_needed, sum_outer_previous


def _with_weight_gradient(hs, h0, run_backward):
    """∂L/∂W_hh = Σ_{b,t} dz_t h_{t-1}^T as one matmul, for engines whose BPTT kernel returns
    only (dz, dh0)."""
    def backward(dhs, needs):
        dz, dh0 = run_backward(dhs)
        return dz, if_needed(needs[1], lambda: sum_outer_previous(dz, h0, hs)), dh0
    return hs, backward


def _numpy(a, W, h0, lengths, activation):
    hs = reference.elman_forward(a, W, h0, lengths, activation)
    return _with_weight_gradient(
        hs, h0, lambda g: reference.elman_backward(g, hs, W, lengths, activation))


def _cpu(a, W, h0, lengths, activation):
    """The cpu BPTT kernel sums ∂L/∂W_hh itself: it returns (dz, dW_hh, dh0)."""
    hs = cpu.elman_forward(a, W, h0, lengths, activation)
    return hs, lambda g, needs: cpu.elman_backward(g, hs, W, h0, lengths, activation)


def _cuda(a, W, h0, lengths, activation):
    device = cuda.DeviceElman(W, lengths, CODES[activation])
    hs = device.forward(a, h0)
    return _with_weight_gradient(hs, h0, device.backward)


IMPLEMENTATIONS = {"numpy": _numpy, "cpu": _cpu, "cuda": _cuda}


def elman_recurrence(a: Tensor, W_hh: Tensor, h0: Tensor, activation: str, lengths: np.ndarray,
                     backend: str) -> Tensor:
    """All hidden states hs (B, T, H) from a (B, T, H), W_hh (H, H), h0 (B, H), lengths (B,)."""
    return fused_op("elman_recurrence", backend, IMPLEMENTATIONS, (a, W_hh, h0), lengths,
                    activation)
