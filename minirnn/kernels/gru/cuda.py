"""The GRU recurrence as Numba CUDA kernels.

Same function as ``reference`` (its docstring has the equations and the BPTT derivation, gate
by gate); the op (``op.py``) does the input projection a_t = W_xh x_t + b_xh before, and the
weight gradients after (from da and du), as one product each.

Design, as the Elman kernels' (``elman.cuda``): one thread block per batch row (a grid-stride
loop over rows, so any grid size is correct), the block's threads striding over the H units,
and the whole sequence in ONE launch each way, ``cuda.syncthreads()`` between steps. A thread
computes all three gates of its unit (rows i, H+i, 2H+i of W_hh), so the gates and the direct
carry z_{t+1} ⊙ dh_{t+1} never leave it; only h_t (forward) and du_t (backward, for
W_hh^T du_t) are read across the block.

What stays on chip, in the block's shared memory: the state (h_{t-1} and h_t, swapped each
step; backward the carry and du_t), and W_hh itself when it fits (``forward_shared_bytes`` /
``backward_shared_bytes``: 2H + 3H·H values forward, 4H + 3H·H backward, within 48 KiB:
H <= 63 in float32, H <= 44 in float64). A larger W_hh is read from device memory (in practice
the L2 cache) each step. The state alone needs 4H values backward, so H is at most 3072
(float32) or 1536 (float64).

The forward saves [r | z | n | u^n] (B, T, 4H) on the device, where the backward reads them
(``DeviceGRU``); when the model is device-resident, everything else stays there too
(``cuda_support.Placement``).
"""
from __future__ import annotations

import numpy as np

from ..cuda_support import Placement, launch_shape

ON_CHIP_BYTES = 48 * 1024  # the dynamic shared memory a block gets without an opt-in


def _shared_bytes(state: int, H: int, itemsize: int) -> int:
    """``state`` values of state, plus W_hh (3H·H) when both fit in ON_CHIP_BYTES."""
    weights = 3 * H * H
    fits = (state + weights) * itemsize <= ON_CHIP_BYTES
    return (state + (weights if fits else 0)) * itemsize


def forward_shared_bytes(H: int, itemsize: int) -> int:
    """Shared memory per block of the forward: h_{t-1}, h_t, and W_hh when it fits."""
    return _shared_bytes(2 * H, H, itemsize)


def backward_shared_bytes(H: int, itemsize: int) -> int:
    """Shared memory per block of the backward: the carry, du_t, and W_hh when it fits."""
    return _shared_bytes(4 * H, H, itemsize)


def check_width(H: int, dtype) -> None:
    """The kernels keep the state on chip: refuse a layer whose state alone does not fit."""
    itemsize = np.dtype(dtype).itemsize
    if 4 * H * itemsize > ON_CHIP_BYTES:
        raise ValueError(f"the cuda engine's GRU keeps its state in a block's shared memory: "
                         f"hidden_size must be at most {ON_CHIP_BYTES // (4 * itemsize)} in "
                         f"{np.dtype(dtype).name}, got {H}")


class DeviceGRU:
    """Forward on the GPU, keeping hs, the saved gates and h0 on the device for the backward
    pass; arrays come and go as ``Placement`` says (CuPy in and out when the model is
    device-resident)."""

    def __init__(self, W_hh, b_hh, lengths):
        self.place = place = Placement(W_hh)
        self.d_W = place.input(W_hh)      # the backward's W[m, j]: thread j reads column j
        self.d_Wt = place.input(W_hh.T)   # the forward's W^T[j, m]: thread i reads column i
        self.d_b = place.input(b_hh)
        self.d_lengths = place.input(lengths)
        self.d_hs = self.d_saved = self.d_h0 = None

    def _launch(self, kernel, B, H, shared):
        blocks, threads = launch_shape(B, H)
        return kernel[blocks, threads, 0, shared]

    def forward(self, a, h0):
        """hs (B, T, H) from a (B, T, 3H) and h0 (B, H)."""
        from . import cuda_kernels
        place = self.place
        B, T, G = a.shape
        H = G // 3
        check_width(H, a.dtype)
        hs, saved = place.empty((B, T, H), a.dtype), place.empty((B, T, 4 * H), a.dtype)
        self.d_hs, self.d_saved = place.arg(hs), place.arg(saved)
        self.d_h0 = place.input(h0)
        kernel = cuda_kernels.KERNELS[a.dtype.name][0]
        self._launch(kernel, B, H, forward_shared_bytes(H, a.dtype.itemsize))(
            place.input(a), self.d_Wt, self.d_b, self.d_h0, self.d_lengths, self.d_hs,
            self.d_saved)
        return place.result(hs)

    def backward(self, dhs):
        """(da (B, T, 3H), du (B, T, 3H), dh0 (B, H)) from dhs = ∂L/∂hs (B, T, H)."""
        from . import cuda_kernels
        place = self.place
        B, T, H = dhs.shape
        da, du = (place.empty((B, T, 3 * H), dhs.dtype) for _ in range(2))
        dh0 = place.empty((B, H), dhs.dtype)
        kernel = cuda_kernels.KERNELS[dhs.dtype.name][1]
        self._launch(kernel, B, H, backward_shared_bytes(H, dhs.dtype.itemsize))(
            place.input(dhs), self.d_hs, self.d_saved, self.d_h0, self.d_W, self.d_lengths,
            place.arg(da), place.arg(du), place.arg(dh0))
        return place.result(da), place.result(du), place.result(dh0)
