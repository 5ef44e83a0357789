"""The Elman / state-space recurrence as Numba CUDA kernels.

Same function as ``elman_numpy`` (its docstring has the equations and the BPTT derivation).

Design, persistent-RNN style: one thread block per batch row (a grid-stride loop over rows, so
any grid size is correct), the block's threads striding over the H hidden units, and the whole
sequence in ONE launch: each block walks through time on its own, and ``cuda.syncthreads()``
between steps makes step t's state, written by all of the block's threads, visible before step
t+1 reads it. Rows never exchange data, so no grid-wide synchronisation is needed (which
Numba's simulator could not check anyway).

What stays on chip, in the block's shared memory: the running state (h_{t-1} and h_t, swapped
each step; the carry and dz_t backward), and the recurrent weight W_hh itself when it fits
(``shared_bytes``: H·H + 2·H values within 48 KiB, so H <= 109 in float32 and H <= 77 in
float64). Then W_hh is read from device memory once per launch instead of once per step, and
every step's product reads only shared memory, laid out so that neighbouring threads read
neighbouring words. A larger W_hh is read from device memory (in practice the L2 cache) each
step; keeping it on chip would need it spread over several blocks and a grid-wide barrier each
step.

The saved activations stay on the device between forward and backward (``DeviceElman``); when
the model is device-resident, everything else does too (``cuda_support.Placement``).
"""
from __future__ import annotations

import numpy as np

from .cuda_support import Placement, launch_shape

ON_CHIP_BYTES = 48 * 1024  # the dynamic shared memory a block gets without an opt-in


def shared_bytes(H: int, itemsize: int) -> int:
    """Shared memory per block: two state vectors, plus W_hh when it fits."""
    with_weights = (2 * H + H * H) * itemsize
    return with_weights if with_weights <= ON_CHIP_BYTES else 2 * H * itemsize


class DeviceElman:
    """Forward on the GPU, keeping hs on the device for the backward pass; arrays come and go
    as ``Placement`` says (CuPy in and out when the model is device-resident)."""

    def __init__(self, W_hh, lengths, code):
        self.place = place = Placement(W_hh)
        self.code = code
        self.d_W = place.input(W_hh)
        self.d_Wt = place.input(W_hh.T)
        self.d_lengths = place.input(lengths)
        self.d_hs = None

    def _launch(self, kernel, B, H, dtype):
        blocks, threads = launch_shape(B, H)
        return kernel[blocks, threads, 0, shared_bytes(H, np.dtype(dtype).itemsize)]

    def forward(self, a, h0):
        from .elman_cuda_kernels import KERNELS
        place = self.place
        B, T, H = a.shape
        hs = place.empty((B, T, H), a.dtype)
        self.d_hs = place.arg(hs)
        self._launch(KERNELS[a.dtype.name][0], B, H, a.dtype)(
            place.input(a), self.d_Wt, place.input(h0), self.d_lengths, self.code, self.d_hs)
        return place.result(hs)

    def backward(self, dhs):
        from .elman_cuda_kernels import KERNELS
        place = self.place
        B, T, H = dhs.shape
        dz, dh0 = place.empty((B, T, H), dhs.dtype), place.empty((B, H), dhs.dtype)
        self._launch(KERNELS[dhs.dtype.name][1], B, H, dhs.dtype)(
            place.input(dhs), self.d_hs, self.d_W, self.d_lengths, self.code, place.arg(dz),
            place.arg(dh0))
        return place.result(dz), place.result(dh0)
