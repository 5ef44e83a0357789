"""The explicit-memory recurrence on the GPU: host side of ``memory_cuda_kernels``.

The saved states (ms, hs, ys) stay on the device between forward and backward.
"""
from __future__ import annotations

import numpy as np

from .cuda_support import cuda_module, launch_shape


class DeviceMemory:
    def __init__(self, W_ym, W_hm, W_mm, W_mh, W_hy, lengths, r, f, g):
        cuda = cuda_module()
        c = np.ascontiguousarray
        weights = (W_ym, W_hm, W_mm, W_mh, W_hy)
        self.weights = [cuda.to_device(c(w)) for w in weights]  # the backward's W[j, i]
        self.transposed = [cuda.to_device(c(w.T)) for w in weights]  # the forward's W^T[j, i]
        self.d_lengths = cuda.to_device(lengths)
        self.codes = (r, f, g)
        self.saved = None

    def forward(self, a, b_m, b_y, m0, h0, y0):
        cuda = cuda_module()
        from .memory_cuda_kernels import memory_forward_kernel

        B, T, H = a.shape
        M, O = b_m.size, y0.shape[1]
        self.saved = [cuda.device_array((B, T, n), dtype=a.dtype) for n in (M, H, O)]
        d_a, d_b_m, d_b_y, *d_init = [cuda.to_device(np.ascontiguousarray(v))
                                      for v in (a, b_m, b_y, m0, h0, y0)]
        W_ymT, W_hmT, W_mmT, W_mhT, W_hyT = self.transposed
        blocks, threads = launch_shape(B, max(M, H, O))
        memory_forward_kernel[blocks, threads](d_a, W_ymT, W_hmT, W_mmT, d_b_m, W_mhT, W_hyT,
                                               d_b_y, *d_init, self.d_lengths, *self.codes,
                                               *self.saved)
        return tuple(s.copy_to_host() for s in self.saved)

    def backward(self, gm, gh, gy):
        cuda = cuda_module()
        from .memory_cuda_kernels import memory_backward_kernel

        B, T, H = gh.shape
        d_grads = [cuda.to_device(np.ascontiguousarray(v)) for v in (gm, gh, gy)]
        outs = [cuda.device_array_like(s) for s in self.saved]  # dq, dz, do
        carries = [cuda.to_device(np.zeros((B, s.shape[2]), dtype=gh.dtype)) for s in self.saved]
        blocks, threads = launch_shape(B, max(s.shape[2] for s in self.saved))
        memory_backward_kernel[blocks, threads](*d_grads, *self.saved, *self.weights,
                                                self.d_lengths, *self.codes, *outs, *carries)
        return tuple(v.copy_to_host() for v in outs + carries)
