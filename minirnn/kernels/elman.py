"""The fused Elman recurrence: ONE operation on the tape, whatever the engine.

    hs = elman_recurrence(a, W_hh, h0, activation, lengths, backend)

computes h_t = f(a_t + W_hh h_{t-1}) for every step (see ``elman_numpy`` for the equations and
the BPTT derivation) with the engine's forward kernel; its backward runs the engine's BPTT
kernel for ∂L/∂a and ∂L/∂h0 and one matmul for ∂L/∂W_hh.

Engines: ``numpy`` (reference loops), ``cpu`` (Numba, parallel over the batch), ``cuda`` (Numba
CUDA; hs stays on the GPU for backward). The ``tape`` engine is not here: it is the model's own
equations unrolled with primitive ops, the oracle this op is tested against.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor
from . import elman_cpu, elman_cuda, elman_numpy
from .activations import CODES
from .fused import fused_op, previous_states, sum_outer


def _with_weight_gradient(hs, h0, run_backward):
    """The engine-independent part of the backward: ∂L/∂W_hh = Σ_{b,t} dz_t h_{t-1}^T."""
    def backward(dhs):
        dz, dh0 = run_backward(dhs)
        return dz, sum_outer(dz, previous_states(h0, hs)), dh0
    return hs, backward


def _host(kernels):
    """The numpy and cpu engines: the same calls, to ``elman_numpy`` or ``elman_cpu``."""
    def run(a, W, h0, lengths, activation):
        hs = kernels.elman_forward(a, W, h0, lengths, activation)
        return _with_weight_gradient(
            hs, h0, lambda g: kernels.elman_backward(g, hs, W, lengths, activation))
    return run


def _cuda(a, W, h0, lengths, activation):
    device = elman_cuda.DeviceElman(W, lengths, CODES[activation])
    hs = device.forward(a, h0)
    return _with_weight_gradient(hs, h0, device.backward)


IMPLEMENTATIONS = {"numpy": _host(elman_numpy), "cpu": _host(elman_cpu), "cuda": _cuda}


def elman_recurrence(a: Tensor, W_hh: Tensor, h0: Tensor, activation: str, lengths: np.ndarray,
                     backend: str) -> Tensor:
    """All hidden states hs (B, T, H) from a (B, T, H), W_hh (H, H), h0 (B, H), lengths (B,)."""
    return fused_op("elman_recurrence", backend, IMPLEMENTATIONS, (a, W_hh, h0), lengths,
                    activation)
