"""The fused Elman recurrence: ONE operation on the tape, whatever the engine.

    hs = elman_recurrence(a, W_hh, h0, activation, lengths, backend)

computes h_t = f(a_t + W_hh h_{t-1}) for every step (see ``elman_numpy`` for the equations and
the BPTT derivation) with the engine's forward kernel, and records one tape entry whose backward
runs the engine's BPTT kernel for ∂L/∂a and ∂L/∂h0 and one matmul for ∂L/∂W_hh, the way cuDNN's
RNN is one operation in PyTorch.

Engines: ``numpy`` (reference loops), ``cpu`` (Numba, parallel over the batch), ``cuda`` (Numba
CUDA; hs stays on the GPU for backward). The ``tape`` engine is not here: it is the model's own
equations unrolled with primitive ops, the oracle this op is tested against.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor, record
from . import elman_cpu, elman_cuda, elman_numpy
from .activations import CODES

KERNEL_BACKENDS = ("numpy", "cpu", "cuda")


def check_lengths(lengths, batch: int, steps: int) -> np.ndarray:
    """Sequence lengths as int64 (B,), each in [1, T]; None means every row has T steps."""
    if lengths is None:
        return np.full(batch, steps, dtype=np.int64)
    lengths = np.asarray(lengths)
    if lengths.shape != (batch,) or lengths.dtype.kind not in "iu":
        raise ValueError(f"lengths must be {batch} integers (one per batch row), "
                         f"got {lengths.dtype} array of shape {lengths.shape}")
    if lengths.min() < 1 or lengths.max() > steps:
        raise ValueError(f"lengths must lie in [1, {steps}], got [{lengths.min()}, {lengths.max()}]")
    return lengths.astype(np.int64)


def elman_recurrence(a: Tensor, W_hh: Tensor, h0: Tensor, activation: str, lengths: np.ndarray,
                     backend: str) -> Tensor:
    """All hidden states hs (B, T, H) from a (B, T, H), W_hh (H, H), h0 (B, H), lengths (B,)."""
    code = CODES[activation]
    A, W, H0 = a.data, W_hh.data, np.ascontiguousarray(h0.data)
    if backend == "numpy":
        hs = elman_numpy.elman_forward(A, W, H0, lengths, activation)
        run_backward = lambda g: elman_numpy.elman_backward(g, hs, W, lengths, activation)  # noqa: E731
    elif backend == "cpu":
        hs = elman_cpu.elman_forward(np.ascontiguousarray(A), W, H0, lengths, code)
        run_backward = lambda g: elman_cpu.elman_backward(g, hs, W, lengths, code)  # noqa: E731
    elif backend == "cuda":
        device = elman_cuda.DeviceElman(W, lengths, code)
        hs = device.forward(A, H0)
        run_backward = device.backward
    else:
        raise ValueError(f"unknown kernel backend {backend!r}; choose one of "
                         f"{', '.join(KERNEL_BACKENDS)}")

    def backward(dhs):
        dz, dh0 = run_backward(np.ascontiguousarray(dhs))
        # ∂L/∂W_hh = Σ_{b,t} dz_t h_{t-1}^T: one matmul over all (b, t) pairs
        h_prev = np.concatenate([H0[:, None], hs[:, :-1]], axis=1)
        dW = dz.reshape(-1, dz.shape[-1]).T @ h_prev.reshape(-1, h_prev.shape[-1])
        return dz, dW, dh0

    return record(f"elman_recurrence[{backend}]", hs, (a, W_hh, h0), backward)
