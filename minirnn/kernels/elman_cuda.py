"""The Elman / state-space recurrence as Numba CUDA kernels.

Same function as ``elman_numpy`` (its docstring has the equations and the BPTT derivation).

Design: one thread block per batch row (a grid-stride loop over rows, so any grid size is
correct), the block's threads striding over the H hidden units. The whole sequence runs in ONE
launch: each block walks through time on its own, and ``cuda.syncthreads()`` between steps makes
step t's state, written by all of the block's threads, visible before step t+1 reads it. Rows
never exchange data, so no grid-wide synchronisation is needed (which Numba's simulator could not
check anyway). The state is read back from the output array ``hs`` that the block itself wrote;
keeping W_hh on chip is the performance work that comes next.

The saved activations stay on the device between forward and backward (``DeviceElman``).
"""
from __future__ import annotations

import numpy as np

from .cuda_support import cuda_module, launch_shape


class DeviceElman:
    """Forward on the GPU, keeping hs on the device for the backward pass."""

    def __init__(self, W_hh, lengths, code):
        cuda = cuda_module()
        self.code = code
        self.d_W = cuda.to_device(np.ascontiguousarray(W_hh))
        self.d_Wt = cuda.to_device(np.ascontiguousarray(W_hh.T))
        self.d_lengths = cuda.to_device(lengths)
        self.d_hs = None

    def forward(self, a, h0):
        cuda = cuda_module()
        from .elman_cuda_kernels import elman_forward_kernel as forward_kernel
        B, T, H = a.shape
        d_a = cuda.to_device(np.ascontiguousarray(a))
        self.d_hs = cuda.device_array((B, T, H), dtype=a.dtype)
        blocks, threads = launch_shape(B, H)
        forward_kernel[blocks, threads](d_a, self.d_Wt, cuda.to_device(np.ascontiguousarray(h0)),
                                        self.d_lengths, self.code, self.d_hs)
        return self.d_hs.copy_to_host()

    def backward(self, dhs):
        cuda = cuda_module()
        from .elman_cuda_kernels import elman_backward_kernel as backward_kernel
        B, T, H = dhs.shape
        d_dz = cuda.device_array((B, T, H), dtype=dhs.dtype)
        d_carry = cuda.to_device(np.zeros((B, H), dtype=dhs.dtype))
        blocks, threads = launch_shape(B, H)
        backward_kernel[blocks, threads](cuda.to_device(np.ascontiguousarray(dhs)), self.d_hs,
                                         self.d_W, self.d_lengths, self.code, d_dz, d_carry)
        return d_dz.copy_to_host(), d_carry.copy_to_host()
