"""The Elman / state-space recurrence as Numba CUDA kernels.

Same function as ``reference`` (its docstring has the equations and the BPTT derivation).

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

import functools

import numpy as np

from ..cuda_support import Placement, launch_shape

ON_CHIP_BYTES = 48 * 1024  # the dynamic shared memory a block gets without an opt-in
WIDE_LAYERS = True  # W_hh too large for one block: split the units over blocks (see below)
WIDE_THREADS = 256


def weights_fit(H: int, itemsize: int) -> bool:
    """Whether one block's shared memory holds W_hh beside the two state vectors."""
    return (2 * H + H * H) * itemsize <= ON_CHIP_BYTES


def shared_bytes(H: int, itemsize: int) -> int:
    """Shared memory per block: two state vectors, plus W_hh when it fits."""
    return (2 * H + (H * H if weights_fit(H, itemsize) else 0)) * itemsize


@functools.lru_cache(maxsize=None)
def cooperative_fits(kernel, signature, blocks: int, shared: int) -> bool:
    """Whether the GPU holds ``blocks`` blocks of ``kernel`` (its ``signature`` compiled) at
    once, as a cooperative launch needs; asked of the driver once per kernel and shape."""
    try:
        limit = kernel.compile(signature).max_cooperative_grid_blocks(WIDE_THREADS, shared)
    except Exception:  # noqa: BLE001 - no way to check residency: say no
        return False
    return blocks <= limit


def wide_grid(H: int, itemsize: int, multiprocessors: int):
    """(blocks, shared bytes per block) of the wide kernels (``wide_cuda_kernels``): the
    H units spread over about one block per multiprocessor, each block's rows of W_hh (H + 1
    values each) in its shared memory; more, smaller blocks when they would not fit; none on
    chip when not even one row fits."""
    units = -(-H // max(1, multiprocessors))
    fit = ON_CHIP_BYTES // ((H + 1) * itemsize)
    units = min(units, fit) if fit >= 1 else units
    return -(-H // units), (units * (H + 1) * itemsize if fit >= 1 else 0)


class DeviceElman:
    """Forward on the GPU, keeping hs on the device for the backward pass; arrays come and go
    as ``Placement`` says (CuPy in and out when the model is device-resident).

    Two kernel designs: one block per batch row (``cuda_kernels``) while W_hh fits in a
    block's shared memory, and, for wider layers, the units split over blocks with a grid-wide
    barrier between steps (``wide_cuda_kernels``), when the GPU can hold that grid at
    once; ``kind`` says which ran."""

    def __init__(self, W_hh, lengths, code):
        self.place = place = Placement(W_hh)
        self.code = code
        self.d_W = place.input(W_hh)
        self.d_Wt = place.input(W_hh.T)
        self.d_lengths = place.input(lengths)
        self.d_hs = None
        self.kind = "rows"

    def _launch(self, kernel, B, H, dtype):
        blocks, threads = launch_shape(B, H)
        return kernel[blocks, threads, 0, shared_bytes(H, np.dtype(dtype).itemsize)]

    def _wide_launch(self, kernel, args, B, H, dtype):
        """The wide kernel launcher, or None when the per-row kernels should run: W_hh fits one
        block; or a block would have more (row, unit) pairs than threads (``B · units >
        WIDE_THREADS``), where each thread's serial dot products over H, read from the L2
        cache, cost more than the per-row kernel saves (measured both ways on an NVIDIA H200:
        BENCHMARKS.md); or the GPU cannot hold the whole cooperative grid at once."""
        itemsize = np.dtype(dtype).itemsize
        if not WIDE_LAYERS or weights_fit(H, itemsize):
            return None
        device = self.place.cuda.get_current_device()
        blocks, shared = wide_grid(H, itemsize, getattr(device, "MULTIPROCESSOR_COUNT", 1))
        if B * -(-H // blocks) > WIDE_THREADS:
            return None
        if blocks > 1:
            from numba import typeof

            if not cooperative_fits(kernel, tuple(typeof(a) for a in args), blocks, shared):
                return None
        self.kind = "wide"
        return kernel[blocks, WIDE_THREADS, 0, shared]

    def forward(self, a, h0):
        from . import cuda_kernels, wide_cuda_kernels
        place = self.place
        B, T, H = a.shape
        hs = place.empty((B, T, H), a.dtype)
        self.d_hs = place.arg(hs)
        d_a, d_h0 = place.input(a), place.input(h0)
        wide = wide_cuda_kernels.KERNELS[a.dtype.name][0]
        args = (d_a, self.d_W, d_h0, self.d_lengths, self.code, self.d_hs)
        launch = self._wide_launch(wide, args, B, H, a.dtype)
        if launch is not None:
            launch(*args)
        else:
            self._launch(cuda_kernels.KERNELS[a.dtype.name][0], B, H, a.dtype)(
                d_a, self.d_Wt, d_h0, self.d_lengths, self.code, self.d_hs)
        return place.result(hs)

    def backward(self, dhs):
        from . import cuda_kernels, wide_cuda_kernels
        place = self.place
        B, T, H = dhs.shape
        dz, dh0 = place.empty((B, T, H), dhs.dtype), place.empty((B, H), dhs.dtype)
        d_dhs = place.input(dhs)
        if self.kind == "wide":
            carry = place.empty((B, H), dhs.dtype)
            args = (d_dhs, self.d_hs, self.d_Wt, self.d_lengths, self.code, place.arg(dz),
                    place.arg(dh0), place.arg(carry))
            wide = wide_cuda_kernels.KERNELS[dhs.dtype.name][1]
            launch = self._wide_launch(wide, args, B, H, dhs.dtype)
            if launch is not None:
                launch(*args)
                return place.result(dz), place.result(dh0)
            self.kind = "rows"
        self._launch(cuda_kernels.KERNELS[dhs.dtype.name][1], B, H, dhs.dtype)(
            d_dhs, self.d_hs, self.d_W, self.d_lengths, self.code, place.arg(dz),
            place.arg(dh0))
        return place.result(dz), place.result(dh0)
