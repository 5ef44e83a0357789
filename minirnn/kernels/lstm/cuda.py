"""The LSTM recurrence as Numba CUDA kernels.

Same function as ``reference`` (its docstring has the equations and the BPTT derivation, gate
by gate); the op (``op.py``) does the input projection a_t = W_xh x_t + b_xh before, and the
weight gradients after, as one product each.

Design, as the Elman kernels' (``elman.cuda``): one thread block per batch row (a grid-stride
loop over rows, so any grid size is correct), the block's threads striding over the H units,
and the whole sequence in ONE launch each way, ``cuda.syncthreads()`` between steps. A thread
computes all four gates of its unit (rows i, H+i, 2H+i, 3H+i of W_hh), so the cell c_t[i], the
cell's carry f_{t+1} ⊙ dc_{t+1} and the gates never leave it; only h_t (forward) and dp_t
(backward, for W_hh^T dp_t) are read across the block.

What stays on chip, in the block's shared memory: the state (h_{t-1} and h_t, swapped each
step, and c_t; backward the two carries and dp_t), and W_hh itself when it fits
(``forward_shared_bytes`` / ``backward_shared_bytes``: 3H + 4H·H values forward, 6H + 4H·H
backward, within 48 KiB: H <= 55 forward and 54 backward in float32, H <= 38 in float64).
A larger W_hh is read from device memory (in practice the L2 cache) each step. The state alone
needs 6H values backward, so H is at most 2048 (float32) or 1024 (float64).

The forward saves the gates [i | f | g | o] (B, T, 4H) on the device, where the backward reads
them (``DeviceLSTM``); when the model is device-resident, everything else stays there too
(``cuda_support.Placement``).
"""
from __future__ import annotations

import numpy as np

from ..cuda_support import Placement, launch_shape

ON_CHIP_BYTES = 48 * 1024  # the dynamic shared memory a block gets without an opt-in


def _shared_bytes(state: int, H: int, itemsize: int) -> int:
    """``state`` values of state, plus W_hh (4H·H) when both fit in ON_CHIP_BYTES."""
    weights = 4 * H * H
    fits = (state + weights) * itemsize <= ON_CHIP_BYTES
    return (state + (weights if fits else 0)) * itemsize


def forward_shared_bytes(H: int, itemsize: int) -> int:
    """Shared memory per block of the forward: h_{t-1}, h_t, c_t, and W_hh when it fits."""
    return _shared_bytes(3 * H, H, itemsize)


def backward_shared_bytes(H: int, itemsize: int) -> int:
    """Shared memory per block of the backward: the two carries, dp_t, and W_hh if it fits."""
    return _shared_bytes(6 * H, H, itemsize)


def check_width(H: int, dtype) -> None:
    """The kernels keep the state on chip: refuse a layer whose state alone does not fit."""
    itemsize = np.dtype(dtype).itemsize
    if 6 * H * itemsize > ON_CHIP_BYTES:
        raise ValueError(f"the cuda engine's LSTM keeps its state in a block's shared memory: "
                         f"hidden_size must be at most {ON_CHIP_BYTES // (6 * itemsize)} in "
                         f"{np.dtype(dtype).name}, got {H}")


class DeviceLSTM:
    """Forward on the GPU, keeping the gates (and the states, s0) on the device for the
    backward pass; arrays come and go as ``Placement`` says (CuPy in and out when the model is
    device-resident)."""

    def __init__(self, W_hh, b_hh, lengths):
        self.place = place = Placement(W_hh)
        self.d_W = place.input(W_hh)      # the backward's W[m, j]: thread j reads column j
        self.d_Wt = place.input(W_hh.T)   # the forward's W^T[j, m]: thread i reads column i
        self.d_b = place.input(b_hh)
        self.d_lengths = place.input(lengths)
        self.d_states = self.d_gates = self.d_s0 = None

    def _launch(self, kernel, B, H, shared):
        blocks, threads = launch_shape(B, H)
        return kernel[blocks, threads, 0, shared]

    def forward(self, a, s0):
        """states (B, T, 2H) = [h_t | c_t] from a (B, T, 4H) and s0 (B, 2H)."""
        from . import cuda_kernels
        place = self.place
        B, T, G = a.shape
        H = G // 4
        check_width(H, a.dtype)
        states, gates = place.empty((B, T, 2 * H), a.dtype), place.empty((B, T, G), a.dtype)
        self.d_states, self.d_gates = place.arg(states), place.arg(gates)
        self.d_s0 = place.input(s0)
        kernel = cuda_kernels.KERNELS[a.dtype.name][0]
        self._launch(kernel, B, H, forward_shared_bytes(H, a.dtype.itemsize))(
            place.input(a), self.d_Wt, self.d_b, self.d_s0, self.d_lengths, self.d_states,
            self.d_gates)
        return place.result(states)

    def backward(self, dstates):
        """(dp (B, T, 4H), ds0 (B, 2H)) from dstates = ∂L/∂states (B, T, 2H)."""
        from . import cuda_kernels
        place = self.place
        B, T, H2 = dstates.shape
        H = H2 // 2
        dp, ds0 = place.empty((B, T, 4 * H), dstates.dtype), place.empty((B, H2), dstates.dtype)
        kernel = cuda_kernels.KERNELS[dstates.dtype.name][1]
        self._launch(kernel, B, H, backward_shared_bytes(H, dstates.dtype.itemsize))(
            place.input(dstates), self.d_states, self.d_gates, self.d_s0, self.d_W,
            self.d_lengths, place.arg(dp), place.arg(ds0))
        return place.result(dp), place.result(ds0)
